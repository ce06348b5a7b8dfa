//! Patient name and ID never appear in any output (stdout or stderr, table or JSON, every
//! command) unless `--show-phi` is given. The phantoms are `PHANTOM^<CASE>` / `PH-<case>`.

use std::ffi::OsStr;
use std::path::Path;

use crate::common::{copy_case, fixture, put_str, rewrite, run};
use dicom_core::VR;
use dicom_dictionary_std::tags;

const NAME: &str = "PHANTOM^TRIAL_PASS";
const ID: &str = "PH-trial_pass";

fn all_output(args: &[&OsStr]) -> String {
    let (_, out, err) = run(args);
    format!("{out}\n{err}")
}

fn commands(dir: &Path) -> Vec<Vec<&OsStr>> {
    let d = dir.as_os_str();
    let s = |x: &'static str| OsStr::new(x);
    vec![
        vec![s("inspect"), d],
        vec![s("inspect"), d, s("--format"), s("json")],
        vec![s("check"), d],
        vec![s("check"), d, s("--format"), s("json")],
        vec![s("dvh"), d],
        vec![s("dvh"), d, s("--format"), s("json")],
        vec![s("dvh"), d, s("--format"), s("csv")],
    ]
}

fn assert_no_phi(dir: &Path, name: &str, id: &str) {
    for args in commands(dir) {
        let text = all_output(&args);
        assert!(
            !text.contains(name),
            "{args:?} shows the patient name:\n{text}"
        );
        assert!(!text.contains(id), "{args:?} shows the patient ID:\n{text}");
        // The name's parts alone are not printed either.
        assert!(!text.contains("TRIAL_PASS"), "{args:?}:\n{text}");
    }
}

#[test]
fn patient_name_and_id_appear_only_with_show_phi() {
    let dir = fixture("trial_pass");
    assert_no_phi(&dir, NAME, ID);
    for command in ["inspect", "check"] {
        for format in ["table", "json"] {
            let text = all_output(&[
                command.as_ref(),
                dir.as_os_str(),
                "--format".as_ref(),
                format.as_ref(),
                "--show-phi".as_ref(),
            ]);
            assert!(
                text.contains(NAME),
                "{command} {format} --show-phi:\n{text}"
            );
            assert!(text.contains(ID), "{command} {format} --show-phi:\n{text}");
        }
    }
}

#[test]
fn problems_and_errors_do_not_name_the_patient() {
    // Different patient IDs in one plan set: the problem says so without the IDs.
    let tmp = tempfile::tempdir().unwrap();
    let dir = copy_case(tmp.path(), "trial_pass", "ids");
    rewrite(&dir, "RD.dcm", |o| {
        put_str(o, tags::PATIENT_ID, VR::LO, "PH-other-patient");
        put_str(o, tags::PATIENT_NAME, VR::PN, "OTHER^PATIENT");
    });
    let text = all_output(&["inspect".as_ref(), dir.as_os_str()]);
    assert!(text.contains("different patient IDs"), "{text}");
    assert_no_phi(&dir, NAME, ID);
    assert_no_phi(&dir, "OTHER^PATIENT", "PH-other-patient");
    // A file that cannot be read: the error names the file, not the patient.
    let dir = copy_case(tmp.path(), "trial_pass", "cut");
    let bytes = std::fs::read(dir.join("RS.dcm")).unwrap();
    std::fs::write(dir.join("RS.dcm"), &bytes[..bytes.len() / 2]).unwrap();
    assert_no_phi(&dir, NAME, ID);
}
