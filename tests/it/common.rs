//! Test support: run the binary; write variants of phantom cases (a changed case, or a
//! changed DICOM data set) to a temporary folder.

use std::path::{Path, PathBuf};
use std::process::Command;

use dicom_object::InMemDicomObject;
use sbrt_verify::phantom::{cases, write};

/// Runs sbrt-verify; returns (exit code, stdout, stderr).
pub fn run(args: &[&std::ffi::OsStr]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_sbrt-verify"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs `sbrt-verify check DIR --format json [extra]`; returns (exit code, JSON, stderr).
pub fn check_json(dir: &Path, extra: &[&str]) -> (i32, serde_json::Value, String) {
    let mut args: Vec<&std::ffi::OsStr> = vec!["check".as_ref(), dir.as_os_str()];
    args.extend(
        ["--format", "json"]
            .iter()
            .chain(extra)
            .map(|s| std::ffi::OsStr::new(*s)),
    );
    let (code, out, err) = run(&args);
    let json = serde_json::from_str(&out).unwrap_or(serde_json::Value::Null);
    (code, json, err)
}

pub fn fixture(case: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(case)
}

/// Edits applied to the data sets before they are written.
#[derive(Default)]
pub struct Edits<'a> {
    pub dose: Option<&'a dyn Fn(&mut InMemDicomObject)>,
    pub structures: Option<&'a dyn Fn(&mut InMemDicomObject)>,
    pub plan: Option<&'a dyn Fn(&mut InMemDicomObject)>,
}

/// Writes phantom `name`, changed by `change` and `edits`, as RD/RS/RP into `dir`.
pub fn write_variant(
    dir: &Path,
    name: &str,
    change: impl FnOnce(&mut cases::Case),
    edits: Edits<'_>,
) -> PathBuf {
    let mut case = cases::case(name).unwrap();
    change(&mut case);
    let out = dir.join(name);
    std::fs::create_dir_all(&out).unwrap();
    let rd = out.join("RD.dcm");
    let dose = write::quantize(&case.grid, &case.field, case.bits, &rd).unwrap();
    let mut objects = [
        ("RD.dcm", write::rt_dose(&case, &dose), edits.dose),
        ("RS.dcm", write::rt_struct(&case), edits.structures),
        ("RP.dcm", write::rt_plan(&case), edits.plan),
    ];
    for (file, obj, edit) in objects.iter_mut() {
        if let Some(edit) = edit {
            edit(obj);
        }
        let path = out.join(*file);
        let bytes = write::part10_bytes(obj.clone(), &path).unwrap();
        std::fs::write(&path, bytes).unwrap();
    }
    out
}

/// Sets a top-level string attribute.
pub fn put_str(obj: &mut InMemDicomObject, tag: dicom_core::Tag, vr: dicom_core::VR, v: &str) {
    obj.put(dicom_core::DataElement::new(
        tag,
        vr,
        dicom_core::PrimitiveValue::from(v),
    ));
}

/// The numbers of a top-level DS/IS attribute (padding trimmed).
pub fn numbers(obj: &InMemDicomObject, tag: dicom_core::Tag) -> Vec<f64> {
    obj.element(tag)
        .unwrap()
        .to_str()
        .unwrap()
        .split('\\')
        .map(|s| s.trim().trim_end_matches('\0').parse::<f64>().unwrap())
        .collect()
}

/// Copies a fixture case into `dir/name`; returns the new folder.
pub fn copy_case(dir: &Path, case: &str, name: &str) -> PathBuf {
    let out = dir.join(name);
    std::fs::create_dir_all(&out).unwrap();
    for f in ["RD.dcm", "RS.dcm", "RP.dcm"] {
        std::fs::copy(fixture(case).join(f), out.join(f)).unwrap();
    }
    out
}

/// Reads a Part-10 file of a fixture case, applies `edit` to its data set and writes it to
/// `dir/file` (File Meta rebuilt as Explicit VR Little Endian).
pub fn rewrite(dir: &Path, file: &str, edit: impl FnOnce(&mut InMemDicomObject)) {
    let path = dir.join(file);
    let obj = dicom_object::open_file(&path).unwrap();
    let mut data = obj.into_inner();
    edit(&mut data);
    let bytes = write::part10_bytes(data, &path).unwrap();
    std::fs::write(&path, bytes).unwrap();
}

/// Changes the items of a top-level sequence.
pub fn edit_items(
    obj: &mut InMemDicomObject,
    seq: dicom_core::Tag,
    edit: impl FnOnce(&mut Vec<InMemDicomObject>),
) {
    let el = obj.take_element(seq).unwrap();
    let header_vr = el.vr();
    let mut items: Vec<InMemDicomObject> = el.into_value().into_items().unwrap().into_vec();
    edit(&mut items);
    obj.put(dicom_core::DataElement::new(
        seq,
        header_vr,
        dicom_core::value::DataSetSequence::new(items, dicom_core::Length::UNDEFINED),
    ));
}

/// A check JSON's errors, as one text to search.
pub fn errors(json: &serde_json::Value) -> String {
    json["errors"].to_string()
}

/// The check JSON's result for protocol structure `structure`.
pub fn result<'a>(json: &'a serde_json::Value, structure: &str) -> &'a serde_json::Value {
    json["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["structure"] == structure)
        .unwrap_or_else(|| panic!("no result for {structure}: {json}"))
}
