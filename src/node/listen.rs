//! TCP connections -> DICOM associations -> stored objects and checks (a Storage SCP).
//!
//! Each connection gets a thread. The association is negotiated by `dicom-ul`: only calling
//! AE titles on the allow-list (and the node's own called AE title) are accepted, others
//! are rejected and logged ([`AllowList`]); the presentation contexts accepted are
//! Verification and the storage classes of [`super::RT_STORAGE`] and
//! [`super::IMAGE_STORAGE`], in the transfer syntaxes of [`TRANSFER_SYNTAXES`]; any other
//! abstract syntax is refused there. Then PDUs are read one at a time, each no longer than
//! the negotiated maximum (a longer declared length ends the association): C-ECHO is
//! answered; a C-STORE data set is streamed into a temporary file and answered with
//! success only once the object is in `incoming/` ([`super::store`]). A C-STORE of a class
//! that was not negotiated is answered `0122H` (SOP class not supported), a failure to
//! store `A700H` (out of resources). Whatever ends an association (release, abort, a
//! dropped connection, a malformed PDU) discards the object in flight, keeps the ones
//! before it, is logged, and wakes the [`Checker`] thread, which checks the plan sets
//! that are now complete.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use dicom_core::{dicom_value, DataElement, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use dicom_transfer_syntax_registry::entries::IMPLICIT_VR_LITTLE_ENDIAN;
use dicom_ul::association::server::AccessControl;
use dicom_ul::association::{Association, ServerAssociationOptions};
use dicom_ul::pdu::{
    AssociationRJServiceUserReason, PDataValue, PDataValueType, PresentationContextResultReason,
    UserIdentity,
};
use dicom_ul::Pdu;

use super::checker::{Arrival, Checker};
use super::log::EventLog;
use super::store::{Partial, Store, Stored};
use super::{class_name, is_checked_class, signal, time, NodeOptions};
use super::{IMAGE_STORAGE, RT_STORAGE};
use crate::error::{Error, Result};

/// Verification SOP class (C-ECHO).
pub const VERIFICATION: &str = "1.2.840.10008.1.1";

/// Transfer syntaxes accepted: Implicit and Explicit VR Little Endian, Deflated Explicit
/// VR Little Endian, and for images the usual compressed ones (stored, never decoded).
pub const TRANSFER_SYNTAXES: [&str; 9] = [
    "1.2.840.10008.1.2.1",
    "1.2.840.10008.1.2",
    "1.2.840.10008.1.2.1.99",
    "1.2.840.10008.1.2.4.50",
    "1.2.840.10008.1.2.4.57",
    "1.2.840.10008.1.2.4.70",
    "1.2.840.10008.1.2.4.80",
    "1.2.840.10008.1.2.4.90",
    "1.2.840.10008.1.2.5",
];

/// The largest PDU the node accepts (and announces), bytes: a bigger declared length ends
/// the association before anything is buffered.
pub const MAX_PDU_BYTES: u32 = 128 << 10;

/// The largest command set accepted, bytes (a C-STORE-RQ is about 200).
const MAX_COMMAND_BYTES: usize = 64 << 10;

/// DIMSE status codes (PS3.7 Annex C).
mod status {
    pub const SUCCESS: u16 = 0x0000;
    pub const SOP_CLASS_NOT_SUPPORTED: u16 = 0x0122;
    pub const OUT_OF_RESOURCES: u16 = 0xA700;
    pub const CANNOT_UNDERSTAND: u16 = 0xC000;
}

/// How the node listens.
#[derive(Debug, Clone)]
pub struct ListenOptions {
    /// The node's AE title (the called AE title a sender must use).
    pub ae_title: String,
    /// Calling AE titles accepted.
    pub allowed: Vec<String>,
    /// At most this many associations at once; more are closed at once and logged.
    pub max_associations: usize,
    /// A connection silent this long is ended (a sender that vanished).
    pub idle_timeout: Duration,
}

/// The association access policy: the called AE title must be the node's, the calling
/// AE title one of the allowed; a refusal is logged with the peer's address.
struct AllowList<'a> {
    allowed: &'a [String],
    peer: String,
    log: &'a EventLog,
}

impl AccessControl for AllowList<'_> {
    fn check_access(
        &self,
        this_ae_title: &str,
        calling_ae_title: &str,
        called_ae_title: &str,
        _user_identity: Option<&UserIdentity>,
    ) -> std::result::Result<(), AssociationRJServiceUserReason> {
        if called_ae_title != this_ae_title {
            self.log.event(&format!(
                "rejected association from {calling_ae_title} ({}): called AE title \
                 {called_ae_title} is not {this_ae_title}",
                self.peer
            ));
            return Err(AssociationRJServiceUserReason::CalledAETitleNotRecognized);
        }
        if !self.allowed.iter().any(|a| a == calling_ae_title) {
            self.log.event(&format!(
                "rejected association from {calling_ae_title} ({}): calling AE title not \
                 allowed",
                self.peer
            ));
            return Err(AssociationRJServiceUserReason::CallingAETitleNotRecognized);
        }
        Ok(())
    }
}

/// A bound listening socket, before [`serve`].
#[derive(Debug)]
pub struct Listener {
    tcp: TcpListener,
}

impl Listener {
    /// Binds `addr` (port 0: a free port).
    pub fn bind(addr: SocketAddr) -> Result<Listener> {
        let tcp = TcpListener::bind(addr).map_err(|e| Error::Io {
            path: format!("{addr}").into(),
            source: e,
        })?;
        Ok(Listener { tcp })
    }

    /// The address listened on (with the port picked for port 0).
    pub fn local_addr(&self) -> Result<SocketAddr> {
        self.tcp
            .local_addr()
            .map_err(|e| Error::io(Path::new("listen socket"), e))
    }
}

/// What every association thread shares.
struct Shared {
    listen: ListenOptions,
    store: Store,
    checker: Checker,
    log: Arc<EventLog>,
    active: AtomicUsize,
}

/// Serves associations until [`signal::stop_requested`]; then lets the associations in
/// flight finish, runs the last checks and returns.
pub fn serve(listener: Listener, listen: ListenOptions, node: NodeOptions) -> Result<()> {
    std::fs::create_dir_all(&node.out).map_err(|e| Error::io(&node.out, e))?;
    let log = Arc::new(EventLog::open(&node.out.join("node.log"))?);
    let store = Store::open(&node.out)?;
    let checker = Checker::new(node.clone(), store.incoming(), Arc::clone(&log));
    let addr = listener.local_addr()?;
    log.event(&format!(
        "listening on {addr} as {} (allowed: {}); objects to {}",
        listen.ae_title,
        listen.allowed.join(", "),
        store.incoming().display()
    ));
    let shared = Arc::new(Shared {
        listen,
        store,
        checker,
        log: Arc::clone(&log),
        active: AtomicUsize::new(0),
    });
    let (wake, rounds) = mpsc::channel::<()>();
    let checker_thread = {
        let shared = Arc::clone(&shared);
        let settle = node.settle;
        std::thread::spawn(move || check_loop(&shared, &rounds, settle))
    };
    listener
        .tcp
        .set_nonblocking(true)
        .map_err(|e| Error::io(Path::new("listen socket"), e))?;
    let mut threads: Vec<JoinHandle<()>> = Vec::new();
    while !signal::stop_requested() {
        match listener.tcp.accept() {
            Ok((stream, peer)) => {
                threads.retain(|t| !t.is_finished());
                if shared.active.load(Ordering::SeqCst) >= shared.listen.max_associations {
                    log.event(&format!(
                        "connection from {peer} closed: {} associations already open",
                        shared.listen.max_associations
                    ));
                    continue;
                }
                shared.active.fetch_add(1, Ordering::SeqCst);
                let shared = Arc::clone(&shared);
                let wake = wake.clone();
                threads.push(std::thread::spawn(move || {
                    association(stream, peer, &shared, &wake);
                    shared.active.fetch_sub(1, Ordering::SeqCst);
                }));
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(e) => {
                log.event(&format!("accept failed: {e}"));
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
    log.event(&format!(
        "stopping: waiting for {} open associations",
        shared.active.load(Ordering::SeqCst)
    ));
    drop(listener);
    for t in threads {
        let _ = t.join();
    }
    drop(wake);
    let _ = checker_thread.join();
    log.event("stopped");
    Ok(())
}

/// The checker thread: a round after each association (several that ended meanwhile make
/// one round), the waiting list between them, a last round when the node stops.
fn check_loop(shared: &Shared, rounds: &mpsc::Receiver<()>, settle: Duration) {
    let tick = (settle / 2).clamp(Duration::from_millis(100), Duration::from_secs(5));
    loop {
        match rounds.recv_timeout(tick) {
            Ok(()) => {
                while rounds.try_recv().is_ok() {}
                round(shared);
            }
            Err(RecvTimeoutError::Timeout) => shared.checker.list_waiting(),
            Err(RecvTimeoutError::Disconnected) => {
                round(shared);
                return;
            }
        }
    }
}

fn round(shared: &Shared) {
    if let Err(e) = shared.checker.run_round() {
        shared.log.event(&format!("check failed: {e}"));
    }
}

/// A C-STORE being received.
struct Incoming {
    context_id: u8,
    message_id: u16,
    sop_class_uid: String,
    sop_instance_uid: String,
    /// The temporary file; `None` when the object is refused (its data is read and
    /// dropped, then the refusal is answered).
    partial: Option<Partial>,
    /// The status to answer when the data set has been read (for a refused object).
    refusal: u16,
}

/// One connection, from negotiation to its end.
fn association(stream: TcpStream, peer: SocketAddr, shared: &Shared, wake: &Sender<()>) {
    let _ = stream.set_nonblocking(false);
    let listen = &shared.listen;
    let access = AllowList {
        allowed: &listen.allowed,
        peer: peer.to_string(),
        log: &shared.log,
    };
    let mut options = ServerAssociationOptions::new()
        .ae_access_control(access)
        .ae_title(listen.ae_title.as_str())
        .strict(true)
        .max_pdu_length(MAX_PDU_BYTES)
        .read_timeout(listen.idle_timeout)
        .write_timeout(listen.idle_timeout)
        .with_abstract_syntax(VERIFICATION);
    for class in RT_STORAGE.iter().chain(IMAGE_STORAGE.iter()) {
        options = options.with_abstract_syntax(*class);
    }
    for ts in TRANSFER_SYNTAXES {
        options = options.with_transfer_syntax(ts);
    }
    let mut assoc = match options.establish(stream) {
        Ok(a) => a,
        Err(dicom_ul::association::Error::Rejected { .. }) => return,
        Err(e) => {
            shared
                .log
                .event(&format!("association from {peer} not established: {e}"));
            return;
        }
    };
    let calling = assoc.peer_ae_title().to_string();
    let refused = assoc
        .presentation_contexts()
        .iter()
        .filter(|pc| pc.reason != PresentationContextResultReason::Acceptance)
        .count();
    shared.log.event(&format!(
        "association from {calling} ({peer}) accepted ({refused} presentation contexts \
         refused: SOP class or transfer syntax not supported)"
    ));
    let mut stored = 0usize;
    let end = receive_loop(&mut assoc, shared, &calling, &mut stored);
    let how = match end {
        Ok(End::Released) => "released".to_string(),
        Ok(End::AbortedByPeer) => "aborted by the sender".to_string(),
        Err(reason) => {
            let _ = assoc.abort();
            format!("aborted: {reason}")
        }
    };
    shared.log.event(&format!(
        "association from {calling} ({peer}) {how}; {stored} objects stored"
    ));
    let _ = wake.send(());
}

enum End {
    Released,
    AbortedByPeer,
}

/// Reads PDUs until the association ends. `Err` says why it must be aborted.
fn receive_loop<S>(
    assoc: &mut dicom_ul::ServerAssociation<S>,
    shared: &Shared,
    calling: &str,
    stored: &mut usize,
) -> std::result::Result<End, String>
where
    S: std::io::Read + std::io::Write + dicom_ul::association::CloseSocket,
{
    let mut command: Vec<u8> = Vec::new();
    let mut incoming: Option<Incoming> = None;
    loop {
        let pdu = assoc.receive().map_err(|e| {
            let what = match &incoming {
                Some(i) => format!(" (object {} discarded)", i.sop_instance_uid),
                None => String::new(),
            };
            format!("{e}{what}")
        })?;
        match pdu {
            Pdu::PData { data } => {
                for pdv in data {
                    match pdv.value_type {
                        PDataValueType::Command => {
                            if command.len() + pdv.data.len() > MAX_COMMAND_BYTES {
                                return Err("command set longer than 64 KiB".to_string());
                            }
                            command.extend_from_slice(&pdv.data);
                            if pdv.is_last {
                                let cmd = std::mem::take(&mut command);
                                if let Some(i) = on_command(
                                    assoc,
                                    shared,
                                    &cmd,
                                    pdv.presentation_context_id,
                                    calling,
                                )? {
                                    incoming = Some(i);
                                }
                            }
                        }
                        PDataValueType::Data => {
                            on_data(assoc, shared, &mut incoming, &pdv, calling, stored)?;
                        }
                    }
                }
            }
            Pdu::ReleaseRQ => {
                if let Some(i) = &incoming {
                    shared.log.event(&format!(
                        "release with object {} incomplete: discarded",
                        i.sop_instance_uid
                    ));
                }
                let _ = assoc.send(&Pdu::ReleaseRP);
                return Ok(End::Released);
            }
            Pdu::AbortRQ { .. } => return Ok(End::AbortedByPeer),
            other => return Err(format!("unexpected PDU: {}", other.short_description())),
        }
    }
}

/// A data PDV -> written to the object being received (a write error turns it into a
/// refusal); the last one finishes the C-STORE (`stored` counts the objects stored).
fn on_data<S>(
    assoc: &mut dicom_ul::ServerAssociation<S>,
    shared: &Shared,
    incoming: &mut Option<Incoming>,
    pdv: &PDataValue,
    calling: &str,
    stored: &mut usize,
) -> std::result::Result<(), String>
where
    S: std::io::Read + std::io::Write + dicom_ul::association::CloseSocket,
{
    let Some(i) = incoming.as_mut() else {
        return Err("data set without a C-STORE command".to_string());
    };
    if pdv.presentation_context_id != i.context_id {
        return Err(format!(
            "data set on presentation context {}, command on {}",
            pdv.presentation_context_id, i.context_id
        ));
    }
    if let Some(p) = i.partial.as_mut() {
        if let Err(e) = p.write(&pdv.data) {
            shared.log.event(&format!("cannot store: {e}"));
            i.partial = None;
            i.refusal = status::OUT_OF_RESOURCES;
        }
    }
    if pdv.is_last {
        let done = incoming.take().expect("checked above");
        if finish_store(assoc, shared, done, calling)? {
            *stored += 1;
        }
    }
    Ok(())
}

fn text(obj: &InMemDicomObject, tag: dicom_core::Tag) -> Option<String> {
    obj.element(tag)
        .ok()?
        .to_str()
        .ok()
        .map(|s| s.trim_end_matches(['\0', ' ']).to_string())
}

/// Handles a complete command set: answers C-ECHO, starts a C-STORE.
fn on_command<S>(
    assoc: &mut dicom_ul::ServerAssociation<S>,
    shared: &Shared,
    bytes: &[u8],
    context_id: u8,
    calling: &str,
) -> std::result::Result<Option<Incoming>, String>
where
    S: std::io::Read + std::io::Write + dicom_ul::association::CloseSocket,
{
    let ts = IMPLICIT_VR_LITTLE_ENDIAN.erased();
    let cmd = InMemDicomObject::read_dataset_with_ts(bytes, &ts)
        .map_err(|e| format!("unreadable command set: {e}"))?;
    let field = cmd
        .element(tags::COMMAND_FIELD)
        .ok()
        .and_then(|e| e.uint16().ok())
        .ok_or("command set without Command Field")?;
    let message_id = cmd
        .element(tags::MESSAGE_ID)
        .ok()
        .and_then(|e| e.uint16().ok())
        .unwrap_or(0);
    match field {
        0x0030 => {
            send_command(assoc, context_id, &echo_response(message_id))?;
            shared.log.event(&format!("C-ECHO from {calling}"));
            Ok(None)
        }
        0x0001 => begin_store(assoc, shared, &cmd, context_id, message_id, calling).map(Some),
        other => Err(format!("DIMSE command {other:04X}H is not supported")),
    }
}

/// The message ID of a C-ECHO request -> its successful C-ECHO response command set.
fn echo_response(message_id: u16) -> InMemDicomObject {
    InMemDicomObject::command_from_element_iter([
        DataElement::new(
            tags::AFFECTED_SOP_CLASS_UID,
            VR::UI,
            dicom_value!(Str, VERIFICATION),
        ),
        DataElement::new(tags::COMMAND_FIELD, VR::US, dicom_value!(U16, [0x8030])),
        DataElement::new(
            tags::MESSAGE_ID_BEING_RESPONDED_TO,
            VR::US,
            dicom_value!(U16, [message_id]),
        ),
        DataElement::new(
            tags::COMMAND_DATA_SET_TYPE,
            VR::US,
            dicom_value!(U16, [0x0101]),
        ),
        DataElement::new(tags::STATUS, VR::US, dicom_value!(U16, [status::SUCCESS])),
    ])
}

/// A C-STORE command set -> the object to receive: into a temporary file, or refused (a
/// SOP class not supported or not that of the presentation context, no SOP Instance UID,
/// no room to store), the refusal logged. A presentation context not accepted is an error.
fn begin_store<S>(
    assoc: &dicom_ul::ServerAssociation<S>,
    shared: &Shared,
    cmd: &InMemDicomObject,
    context_id: u8,
    message_id: u16,
    calling: &str,
) -> std::result::Result<Incoming, String>
where
    S: std::io::Read + std::io::Write + dicom_ul::association::CloseSocket,
{
    let sop_class_uid = text(cmd, tags::AFFECTED_SOP_CLASS_UID).unwrap_or_default();
    let sop_instance_uid = text(cmd, tags::AFFECTED_SOP_INSTANCE_UID).unwrap_or_default();
    let context = assoc
        .presentation_contexts()
        .iter()
        .find(|pc| pc.id == context_id && pc.reason == PresentationContextResultReason::Acceptance)
        .cloned();
    let mut i = Incoming {
        context_id,
        message_id,
        sop_class_uid: sop_class_uid.clone(),
        sop_instance_uid: sop_instance_uid.clone(),
        partial: None,
        refusal: status::SUCCESS,
    };
    let Some(context) = context else {
        return Err(format!(
            "C-STORE on presentation context {context_id}, which was not accepted"
        ));
    };
    if class_name(&sop_class_uid).is_none() || context.abstract_syntax != sop_class_uid {
        shared.log.event(&format!(
            "C-STORE of SOP class {sop_class_uid} from {calling} refused (0122H: SOP class not supported)"
        ));
        i.refusal = status::SOP_CLASS_NOT_SUPPORTED;
    } else if sop_instance_uid.is_empty() {
        shared.log.event(&format!(
            "C-STORE without SOP Instance UID from {calling} refused"
        ));
        i.refusal = status::CANNOT_UNDERSTAND;
    } else {
        match shared.store.begin_part10(
            &sop_class_uid,
            &sop_instance_uid,
            context.transfer_syntax.trim_end_matches(['\0', ' ']),
            calling,
        ) {
            Ok(p) => i.partial = Some(p),
            Err(e) => {
                shared.log.event(&format!("cannot store: {e}"));
                i.refusal = status::OUT_OF_RESOURCES;
            }
        }
    }
    Ok(i)
}

/// The data set of a C-STORE is complete: store it, then answer. True when stored.
fn finish_store<S>(
    assoc: &mut dicom_ul::ServerAssociation<S>,
    shared: &Shared,
    mut i: Incoming,
    calling: &str,
) -> std::result::Result<bool, String>
where
    S: std::io::Read + std::io::Write + dicom_ul::association::CloseSocket,
{
    let mut code = i.refusal;
    let mut ok = false;
    if let Some(p) = i.partial.take() {
        let bytes = p.bytes();
        match shared.store.finish(p, &i.sop_instance_uid) {
            Ok(stored) => {
                let kind = class_name(&i.sop_class_uid).unwrap_or("object");
                let what = match &stored {
                    Stored::New(_) => "stored",
                    Stored::Duplicate(_) => "already stored (identical)",
                    Stored::Conflict(_) => {
                        "stored beside an object with the same UID and other contents"
                    }
                };
                shared.log.event(&format!(
                    "{kind} {} from {calling} {what}: {} ({bytes} bytes)",
                    i.sop_instance_uid,
                    stored.path().display()
                ));
                if stored.is_new() && is_checked_class(&i.sop_class_uid) {
                    shared.checker.add(
                        stored.path().to_path_buf(),
                        Arrival {
                            received_at: time::now_rfc3339(),
                            calling_ae: calling.to_string(),
                        },
                    );
                }
                ok = true;
            }
            Err(e) => {
                shared.log.event(&format!("cannot store: {e}"));
                code = status::OUT_OF_RESOURCES;
            }
        }
    }
    let rsp = InMemDicomObject::command_from_element_iter([
        DataElement::new(
            tags::AFFECTED_SOP_CLASS_UID,
            VR::UI,
            dicom_value!(Str, i.sop_class_uid.as_str()),
        ),
        DataElement::new(tags::COMMAND_FIELD, VR::US, dicom_value!(U16, [0x8001])),
        DataElement::new(
            tags::MESSAGE_ID_BEING_RESPONDED_TO,
            VR::US,
            dicom_value!(U16, [i.message_id]),
        ),
        DataElement::new(
            tags::COMMAND_DATA_SET_TYPE,
            VR::US,
            dicom_value!(U16, [0x0101]),
        ),
        DataElement::new(tags::STATUS, VR::US, dicom_value!(U16, [code])),
        DataElement::new(
            tags::AFFECTED_SOP_INSTANCE_UID,
            VR::UI,
            dicom_value!(Str, i.sop_instance_uid.as_str()),
        ),
    ]);
    send_command(assoc, i.context_id, &rsp)?;
    Ok(ok)
}

fn send_command<S>(
    assoc: &mut dicom_ul::ServerAssociation<S>,
    context_id: u8,
    cmd: &InMemDicomObject,
) -> std::result::Result<(), String>
where
    S: std::io::Read + std::io::Write + dicom_ul::association::CloseSocket,
{
    let mut data = Vec::new();
    cmd.write_dataset_with_ts(&mut data, &IMPLICIT_VR_LITTLE_ENDIAN.erased())
        .map_err(|e| format!("cannot encode a response: {e}"))?;
    assoc
        .send(&Pdu::PData {
            data: vec![PDataValue {
                presentation_context_id: context_id,
                value_type: PDataValueType::Command,
                is_last: true,
                data,
            }],
        })
        .map_err(|e| format!("cannot send a response: {e}"))
}
