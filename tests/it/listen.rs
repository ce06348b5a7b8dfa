//! `sbrt-verify listen` and `watch` on the loopback address: a real DICOM client (dcmtk's
//! `storescu` / `echoscu`, when installed; required when `SBRT_REQUIRE_DCMTK` is set, as
//! CI sets it), and a small client written with `dicom-ul` for the burst and fault cases.
//! Every wait is bounded ([`WAIT`]).

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use dicom_core::{dicom_value, DataElement, VR};
use dicom_dictionary_std::tags;
use dicom_object::meta::FileMetaTable;
use dicom_object::InMemDicomObject;
use dicom_transfer_syntax_registry::entries::IMPLICIT_VR_LITTLE_ENDIAN;
use dicom_ul::association::client::ClientAssociation;
use dicom_ul::association::ClientAssociationOptions;
use dicom_ul::pdu::{PDataValue, PDataValueType, PresentationContextResultReason};
use dicom_ul::Pdu;

/// The longest any step may take before the test fails.
const WAIT: Duration = Duration::from_secs(60);

const VERIFICATION: &str = "1.2.840.10008.1.1";
const EXPLICIT_LE: &str = "1.2.840.10008.1.2.1";
const IMPLICIT_LE: &str = "1.2.840.10008.1.2";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

fn fixture_files(name: &str) -> Vec<PathBuf> {
    ["RD.dcm", "RP.dcm", "RS.dcm"]
        .iter()
        .map(|f| fixture(name).join(f))
        .collect()
}

/// A running node (`listen` or `watch`), killed if the test ends without stopping it.
struct Node {
    child: Child,
    out: PathBuf,
    port: u16,
}

impl Node {
    fn listen(out: &Path, extra: &[&str]) -> Node {
        let mut child = Command::new(env!("CARGO_BIN_EXE_sbrt-verify"))
            .args([
                "listen",
                "--port",
                "0",
                "--bind",
                "127.0.0.1",
                "--ae-title",
                "SBRTQA",
            ])
            .args(["--allow-ae", "TPS1", "--allow-ae", "TPS2", "--settle", "1"])
            .arg("--out")
            .arg(out)
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .trim()
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("no port in {line:?}"));
        Node {
            child,
            out: out.to_path_buf(),
            port,
        }
    }

    fn addr(&self) -> String {
        format!("SBRTQA@127.0.0.1:{}", self.port)
    }

    /// SIGTERM, then the exit code (bounded wait).
    fn stop(&mut self) -> i32 {
        let pid = self.child.id().to_string();
        assert!(Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success());
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code().unwrap_or(-1);
            }
            assert!(start.elapsed() < WAIT, "node did not stop after SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn checks(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(self.out.join("checks.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// Waits until `checks.jsonl` has `n` lines.
    fn wait_checks(&self, n: usize) -> Vec<serde_json::Value> {
        let start = Instant::now();
        loop {
            let lines = self.checks();
            if lines.len() >= n {
                return lines;
            }
            assert!(start.elapsed() < WAIT, "{} of {n} check lines", lines.len());
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn incoming(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.out.join("incoming"))
            .map(|d| {
                d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.out.join("node.log")).unwrap_or_default()
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A Part-10 file as the client sends it: SOP class and instance UIDs, transfer syntax and
/// the data set bytes.
struct Object {
    class: String,
    instance: String,
    syntax: String,
    data: Vec<u8>,
}

fn object(path: &Path) -> Object {
    let bytes = std::fs::read(path).unwrap();
    let meta = FileMetaTable::from_reader(&bytes[128..]).unwrap();
    // Preamble, DICM, the group length element (12 bytes) and the group it counts.
    let start = 132 + 12 + meta.information_group_length as usize;
    let clean = |s: &str| s.trim_end_matches(['\0', ' ']).to_string();
    Object {
        class: clean(meta.media_storage_sop_class_uid()),
        instance: clean(meta.media_storage_sop_instance_uid()),
        syntax: clean(meta.transfer_syntax()),
        data: bytes[start..].to_vec(),
    }
}

fn client(node: &Node, calling: &str, classes: &[&str]) -> ClientAssociation<std::net::TcpStream> {
    let mut opts = ClientAssociationOptions::new()
        .calling_ae_title(calling.to_string())
        .read_timeout(WAIT)
        .write_timeout(WAIT);
    for c in classes {
        opts = opts.with_presentation_context(*c, vec![EXPLICIT_LE, IMPLICIT_LE]);
    }
    opts.establish_with(&node.addr()).unwrap()
}

fn context_of(assoc: &ClientAssociation<std::net::TcpStream>, class: &str) -> u8 {
    assoc
        .presentation_contexts()
        .iter()
        .find(|pc| {
            pc.abstract_syntax == class && pc.reason == PresentationContextResultReason::Acceptance
        })
        .unwrap_or_else(|| panic!("no accepted context for {class}"))
        .id
}

fn command_bytes(elements: Vec<DataElement<InMemDicomObject>>) -> Vec<u8> {
    let cmd = InMemDicomObject::command_from_element_iter(elements);
    let mut out = Vec::new();
    cmd.write_dataset_with_ts(&mut out, &IMPLICIT_VR_LITTLE_ENDIAN.erased())
        .unwrap();
    out
}

fn store_command(class: &str, instance: &str, message_id: u16) -> Vec<u8> {
    command_bytes(vec![
        DataElement::new(
            tags::AFFECTED_SOP_CLASS_UID,
            VR::UI,
            dicom_value!(Str, class),
        ),
        DataElement::new(tags::COMMAND_FIELD, VR::US, dicom_value!(U16, [0x0001])),
        DataElement::new(tags::MESSAGE_ID, VR::US, dicom_value!(U16, [message_id])),
        DataElement::new(tags::PRIORITY, VR::US, dicom_value!(U16, [0])),
        DataElement::new(
            tags::COMMAND_DATA_SET_TYPE,
            VR::US,
            dicom_value!(U16, [0x0000]),
        ),
        DataElement::new(
            tags::AFFECTED_SOP_INSTANCE_UID,
            VR::UI,
            dicom_value!(Str, instance),
        ),
    ])
}

fn send_command(assoc: &mut ClientAssociation<std::net::TcpStream>, pc: u8, data: Vec<u8>) {
    assoc
        .send(&Pdu::PData {
            data: vec![PDataValue {
                presentation_context_id: pc,
                value_type: PDataValueType::Command,
                is_last: true,
                data,
            }],
        })
        .unwrap();
}

/// The Status of the next response.
fn response_status(assoc: &mut ClientAssociation<std::net::TcpStream>) -> u16 {
    match assoc.receive().unwrap() {
        Pdu::PData { data } => {
            let obj = InMemDicomObject::read_dataset_with_ts(
                data[0].data.as_slice(),
                &IMPLICIT_VR_LITTLE_ENDIAN.erased(),
            )
            .unwrap();
            obj.element(tags::STATUS).unwrap().uint16().unwrap()
        }
        other => panic!("expected a response, got {}", other.short_description()),
    }
}

/// C-STORE of one object; the response status.
fn c_store(assoc: &mut ClientAssociation<std::net::TcpStream>, o: &Object, message_id: u16) -> u16 {
    let pc = context_of(assoc, &o.class);
    // The data set goes as stored: the context must have the file's transfer syntax.
    let negotiated = assoc
        .presentation_contexts()
        .iter()
        .find(|c| c.id == pc)
        .unwrap();
    assert_eq!(negotiated.transfer_syntax.trim_end_matches('\0'), o.syntax);
    send_command(assoc, pc, store_command(&o.class, &o.instance, message_id));
    let mut w = assoc.send_pdata(pc);
    w.write_all(&o.data).unwrap();
    w.finish().unwrap();
    response_status(assoc)
}

fn echo(node: &Node) -> u16 {
    let mut a = client(node, "TPS1", &[VERIFICATION]);
    let pc = context_of(&a, VERIFICATION);
    send_command(
        &mut a,
        pc,
        command_bytes(vec![
            DataElement::new(
                tags::AFFECTED_SOP_CLASS_UID,
                VR::UI,
                dicom_value!(Str, VERIFICATION),
            ),
            DataElement::new(tags::COMMAND_FIELD, VR::US, dicom_value!(U16, [0x0030])),
            DataElement::new(tags::MESSAGE_ID, VR::US, dicom_value!(U16, [1])),
            DataElement::new(
                tags::COMMAND_DATA_SET_TYPE,
                VR::US,
                dicom_value!(U16, [0x0101]),
            ),
        ]),
    );
    let status = response_status(&mut a);
    a.release().unwrap();
    status
}

const RT_CLASSES: [&str; 3] = [
    "1.2.840.10008.5.1.4.1.1.481.2",
    "1.2.840.10008.5.1.4.1.1.481.3",
    "1.2.840.10008.5.1.4.1.1.481.5",
];

/// Sends the three objects of `fixture_name` in one association; their statuses.
fn send_set(node: &Node, calling: &str, fixture_name: &str) -> Vec<u16> {
    let mut a = client(node, calling, &RT_CLASSES);
    let statuses = fixture_files(fixture_name)
        .iter()
        .enumerate()
        .map(|(i, f)| c_store(&mut a, &object(f), i as u16 + 1))
        .collect();
    a.release().unwrap();
    statuses
}

fn dcmtk_available() -> bool {
    let have = Command::new("storescu")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !have && std::env::var_os("SBRT_REQUIRE_DCMTK").is_some() {
        panic!("SBRT_REQUIRE_DCMTK is set and dcmtk's storescu is not installed");
    }
    if !have {
        eprintln!("dcmtk not installed: the storescu/echoscu test did nothing");
    }
    have
}

#[test]
fn dcmtk_storescu_pass_fail_and_an_intruder_rejected() {
    if !dcmtk_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("node");
    let mut node = Node::listen(&out, &["--site", "spine"]);
    let port = node.port.to_string();
    let scu = |tool: &str, calling: &str, files: &[PathBuf]| {
        Command::new(tool)
            .args([
                "-aet",
                calling,
                "-aec",
                "SBRTQA",
                "-to",
                "30",
                "127.0.0.1",
                &port,
            ])
            .args(files)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap()
    };
    assert!(scu("echoscu", "TPS1", &[]).success());
    assert!(scu("storescu", "TPS1", &fixture_files("trial_pass")).success());
    let lines = node.wait_checks(1);
    assert_eq!(lines[0]["verdict"], "PASS", "{}", lines[0]);
    assert_eq!(lines[0]["calling_ae"], "TPS1");
    assert_eq!(lines[0]["patient"]["id"], "***");
    assert!(scu("storescu", "TPS1", &fixture_files("trial_cord_overdose")).success());
    let lines = node.wait_checks(2);
    assert_eq!(lines[1]["verdict"], "FAIL", "{}", lines[1]);
    assert_eq!(lines[1]["exit_code"], 1);
    assert!(lines[1]["failing"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["structure"] == "SpinalCord"));
    for l in &lines {
        let report = out.join(l["report_dir"].as_str().unwrap());
        for f in ["report.html", "result.json", "dvh.csv"] {
            assert!(report.join(f).is_file(), "{}", report.join(f).display());
        }
    }
    // An intruder is rejected at association: storescu fails, nothing is stored.
    assert!(!scu("storescu", "INTRUDER", &fixture_files("trial_underdosed")).success());
    assert_eq!(node.incoming().len(), 6, "{:?}", node.incoming());
    assert!(node.log().contains("rejected association from INTRUDER"));
    assert_eq!(node.stop(), 0);
    assert_eq!(node.checks().len(), 2);
}

#[test]
fn burst_of_twenty_associations_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::listen(&dir.path().join("node"), &[]);
    let sets = [
        "trial_pass",
        "trial_cord_overdose",
        "trial_underdosed",
        "trial_outside_grid",
    ];
    let statuses: Vec<Vec<u16>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..20)
            .map(|i| {
                let node = &node;
                s.spawn(move || {
                    send_set(node, if i % 2 == 0 { "TPS1" } else { "TPS2" }, sets[i % 4])
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(statuses.iter().flatten().all(|s| *s == 0), "{statuses:?}");
    // Each distinct object once (the repeats are identical: idempotent), each set checked
    // once.
    assert_eq!(node.incoming().len(), 12, "{:?}", node.incoming());
    let lines = node.wait_checks(4);
    let mut verdicts: Vec<String> = lines
        .iter()
        .map(|l| l["verdict"].as_str().unwrap().to_string())
        .collect();
    verdicts.sort();
    assert_eq!(verdicts, ["ERROR", "FAIL", "FAIL", "PASS"], "{lines:?}");
    assert_eq!(echo(&node), 0);
    assert!(!node.log().contains("cannot store"));
}

#[test]
fn dropped_client_keeps_the_finished_object_and_discards_the_partial_one() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::listen(&dir.path().join("node"), &[]);
    let files = fixture_files("trial_pass");
    let plan = object(&files[1]);
    let dose = object(&files[0]);
    {
        let mut a = client(&node, "TPS1", &RT_CLASSES);
        assert_eq!(c_store(&mut a, &plan, 1), 0);
        let pc = context_of(&a, &dose.class);
        send_command(&mut a, pc, store_command(&dose.class, &dose.instance, 2));
        a.send(&Pdu::PData {
            data: vec![PDataValue {
                presentation_context_id: pc,
                value_type: PDataValueType::Data,
                is_last: false,
                // Part of the data set, in one PDU within the node's maximum length.
                data: dose.data[..60_000].to_vec(),
            }],
        })
        .unwrap();
        a.inner_stream().shutdown(std::net::Shutdown::Both).unwrap();
    }
    let start = Instant::now();
    while !node.log().contains("objects stored") {
        assert!(start.elapsed() < WAIT);
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(node.incoming(), [format!("{}.dcm", plan.instance)]);
    assert_eq!(
        std::fs::read_dir(node.out.join(".partial"))
            .unwrap()
            .count(),
        0
    );
    assert!(
        node.log()
            .contains(&format!("object {} discarded", dose.instance)),
        "{}",
        node.log()
    );
    assert_eq!(echo(&node), 0);
}

/// Sends raw bytes on an established association and waits for the node to end it.
fn send_raw_and_expect_end(node: &Node, bytes: &[u8]) {
    let mut a = client(node, "TPS1", &[VERIFICATION]);
    let stream = a.inner_stream();
    stream.write_all(bytes).unwrap();
    stream.set_read_timeout(Some(WAIT)).unwrap();
    // The node answers A-ABORT (type 07H) and closes, or just closes.
    let mut buf = [0u8; 64];
    let n = stream.read(&mut buf).unwrap_or(0);
    assert!(
        n == 0 || buf[0] == 0x07,
        "unexpected answer {:?}",
        &buf[..n]
    );
}

#[test]
fn a_set_sent_in_two_associations_waits_then_is_checked() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::listen(&dir.path().join("node"), &[]);
    let files = fixture_files("trial_pass");
    let mut a = client(&node, "TPS1", &RT_CLASSES);
    assert_eq!(c_store(&mut a, &object(&files[0]), 1), 0);
    a.release().unwrap();
    // The dose alone: listed as waiting after the settle time (1 s), not checked.
    let start = Instant::now();
    while !node.log().contains("waits for: RT Plan, RT Structure Set") {
        assert!(start.elapsed() < WAIT, "{}", node.log());
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(node.checks().is_empty());
    let mut b = client(&node, "TPS2", &RT_CLASSES);
    assert_eq!(c_store(&mut b, &object(&files[1]), 1), 0);
    assert_eq!(c_store(&mut b, &object(&files[2]), 2), 0);
    b.release().unwrap();
    let lines = node.wait_checks(1);
    assert_eq!(lines[0]["verdict"], "PASS");
    assert_eq!(lines[0]["calling_ae"], "TPS1,TPS2");
}

#[test]
fn a_plan_received_again_with_other_contents_flags_its_set() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::listen(&dir.path().join("node"), &[]);
    assert_eq!(send_set(&node, "TPS1", "trial_pass"), [0, 0, 0]);
    assert_eq!(node.wait_checks(1)[0]["verdict"], "PASS");
    // The same plan UID, one byte of its label changed.
    let mut plan = object(&fixture_files("trial_pass")[1]);
    let at = plan.data.windows(7).position(|w| w == b"PHANTOM").unwrap();
    plan.data[at + 6] = b'X';
    let mut a = client(&node, "TPS1", &RT_CLASSES);
    assert_eq!(c_store(&mut a, &plan, 1), 0);
    a.release().unwrap();
    let lines = node.wait_checks(2);
    assert_eq!(lines[1]["verdict"], "ERROR", "{}", lines[1]);
    let errors = lines[1]["errors"].to_string();
    assert!(
        errors.contains("with different contents") || errors.contains("several different files"),
        "{errors}"
    );
    assert_eq!(node.incoming().len(), 4);
}

#[test]
fn malformed_and_huge_pdus_end_only_their_association() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::listen(&dir.path().join("node"), &[]);
    // A P-DATA-TF PDU whose PDV item length runs past the PDU.
    send_raw_and_expect_end(&node, &[0x04, 0, 0, 0, 0, 8, 0, 0, 0x10, 0, 1, 3, 0, 0]);
    // An unknown PDU type.
    send_raw_and_expect_end(&node, &[0x55, 0, 0, 0, 0, 2, 0, 0]);
    // A P-DATA-TF PDU declaring about 4 GB: refused before anything is buffered.
    let start = Instant::now();
    send_raw_and_expect_end(&node, &[0x04, 0, 0xFF, 0xFF, 0xFF, 0xF0, 0, 0, 0, 0]);
    assert!(start.elapsed() < Duration::from_secs(20));
    assert_eq!(echo(&node), 0);
    assert_eq!(send_set(&node, "TPS1", "trial_pass"), [0, 0, 0]);
    assert_eq!(node.wait_checks(1)[0]["verdict"], "PASS");
    assert!(node.log().matches("aborted").count() >= 3, "{}", node.log());
}

#[test]
fn unknown_sop_class_is_refused_with_the_right_status() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::listen(&dir.path().join("node"), &[]);
    let unknown = "1.2.840.10008.5.1.4.1.1.66.4";
    let mut a = client(&node, "TPS1", &[VERIFICATION, unknown, RT_CLASSES[0]]);
    // Refused at negotiation (abstract syntax not supported).
    assert!(a
        .presentation_contexts()
        .iter()
        .all(|pc| pc.abstract_syntax != unknown
            || pc.reason != PresentationContextResultReason::Acceptance));
    // A C-STORE claiming another class on an accepted context: 0122H, and nothing stored.
    let pc = context_of(&a, RT_CLASSES[0]);
    send_command(&mut a, pc, store_command(unknown, "1.2.3.4", 1));
    let mut w = a.send_pdata(pc);
    w.write_all(&[0u8; 64]).unwrap();
    w.finish().unwrap();
    assert_eq!(response_status(&mut a), 0x0122);
    a.release().unwrap();
    assert!(node.incoming().is_empty());
    assert_eq!(echo(&node), 0);
}

#[test]
fn an_unlisted_calling_ae_is_rejected_at_association() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::listen(&dir.path().join("node"), &[]);
    let refused = ClientAssociationOptions::new()
        .calling_ae_title("INTRUDER")
        .with_presentation_context(VERIFICATION, vec![IMPLICIT_LE])
        .establish_with(&node.addr());
    assert!(refused.is_err());
    assert!(node.log().contains("rejected association from INTRUDER"));
    assert_eq!(echo(&node), 0);
}

#[test]
fn sigterm_finishes_the_association_in_flight() {
    let dir = tempfile::tempdir().unwrap();
    let mut node = Node::listen(&dir.path().join("node"), &[]);
    let files = fixture_files("trial_pass");
    let mut a = client(&node, "TPS1", &RT_CLASSES);
    assert_eq!(c_store(&mut a, &object(&files[0]), 1), 0);
    let pid = node.child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(c_store(&mut a, &object(&files[1]), 2), 0);
    assert_eq!(c_store(&mut a, &object(&files[2]), 3), 0);
    a.release().unwrap();
    assert_eq!(node.stop(), 0);
    assert_eq!(node.incoming().len(), 3);
    // The set completed by the last association is checked before the node exits.
    assert_eq!(node.checks()[0]["verdict"], "PASS");
}

#[test]
fn watch_copies_settled_files_and_never_touches_the_folder() {
    let dir = tempfile::tempdir().unwrap();
    let export = dir.path().join("export");
    std::fs::create_dir_all(&export).unwrap();
    let mut before = Vec::new();
    for f in fixture_files("trial_cord_overdose") {
        let to = export.join(f.file_name().unwrap());
        std::fs::copy(&f, &to).unwrap();
        before.push((to.clone(), std::fs::read(&to).unwrap()));
    }
    std::fs::write(export.join("notes.txt"), b"not DICOM").unwrap();
    let out = dir.path().join("node");
    let child = Command::new(env!("CARGO_BIN_EXE_sbrt-verify"))
        .arg("watch")
        .arg(&export)
        .args(["--settle", "0.3", "--interval", "0.1", "--out"])
        .arg(&out)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut node = Node {
        child,
        out: out.clone(),
        port: 0,
    };
    let lines = node.wait_checks(1);
    assert_eq!(lines[0]["verdict"], "FAIL");
    assert_eq!(lines[0]["calling_ae"], "folder");
    assert_eq!(node.stop(), 0);
    assert_eq!(node.incoming().len(), 3);
    for (path, bytes) in before {
        assert_eq!(std::fs::read(&path).unwrap(), bytes, "{}", path.display());
    }
    assert_eq!(std::fs::read_dir(&export).unwrap().count(), 4);
}
