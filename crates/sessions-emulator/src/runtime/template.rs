//! The template interpreter (issue 13): one per pool, started in a sandbox like a worker but
//! keeping its capabilities there and never running user code. It imports the preloaded
//! modules once; every session is a fork of it that builds its own sandbox (`template.py`
//! says how), so a session starts in milliseconds with pandas already imported and shares
//! the template's pages until it writes to them.

use std::io::{IoSlice, Read, Write};
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustix::net::{
    AddressFamily, RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, SendAncillaryBuffer,
    SendAncillaryMessage, SendFlags, SocketFlags, SocketType, recvmsg, sendmsg, socketpair,
    sockopt,
};
use serde::Deserialize;

use super::protocol::KERNEL_SOURCE;
use super::sandbox::{HIDDEN_IN_SESSIONS, HostIds, SandboxTemplate, TEMPLATE_SLOTS};
use super::worker::{Tree, TreeTop, worker_env};
use super::{RuntimeInner, sys};

/// The template's source, embedded like the kernel's.
const TEMPLATE_SOURCE: &str = include_str!("template.py");
/// How long the template may take to import its preload (pandas on a cold disk is slow).
const START_TIMEOUT: Duration = Duration::from_secs(120);
/// How long one fork may take before the session starts the slow way instead.
const FORK_TIMEOUT: Duration = Duration::from_secs(10);

/// Set to a non-empty value other than `0` to make the template fail to start (tests of the
/// fallback to fresh interpreters).
pub const FORCE_NO_TEMPLATE_ENV: &str = "SESSIONS_EMULATOR_FORCE_NO_TEMPLATE";

/// What the template said once its preload was imported.
#[derive(Debug, Deserialize)]
struct Ready {
    loaded: Vec<String>,
    missing: Vec<String>,
    threads: u32,
    open_files: Vec<String>,
    vm_kib: u64,
}

/// A running template.
#[derive(Debug)]
pub(crate) struct Template {
    /// The control socket (SOCK_SEQPACKET); one fork at a time.
    control: Mutex<std::fs::File>,
    /// Host ids of the template's uid 0: a session's ids are offsets from them.
    base: HostIds,
    /// The host directory bound at `/.slots`: sessions' workdirs must be directly below it.
    slots: PathBuf,
    /// Numbers fork requests, so that a late reply is never taken for another's.
    next_id: std::sync::atomic::AtomicU64,
    /// Modules imported in the template.
    pub(crate) loaded: Vec<String>,
    /// Requested modules that could not be imported, with the reason.
    pub(crate) missing: Vec<String>,
    tree: Arc<Tree>,
    /// The template's own (empty) `/mnt/data`, which sessions bind their slot over.
    workdir: PathBuf,
    _child: tokio::process::Child,
}

impl Drop for Template {
    fn drop(&mut self) {
        // The template's pid namespace holds every forked session: ending its init ends them.
        self.tree.kill();
        let _ = std::fs::remove_dir(&self.workdir);
    }
}

/// Start the template for `rt`, whose sessions live directly under `slots`.
pub(crate) async fn start(
    rt: &RuntimeInner,
    sandbox: &SandboxTemplate,
    slots: &Path,
    preload: &[String],
) -> Result<Template, String> {
    if std::env::var(FORCE_NO_TEMPLATE_ENV).is_ok_and(|v| !v.is_empty() && v != "0") {
        return Err(format!("forced off by {FORCE_NO_TEMPLATE_ENV}"));
    }
    let slots = std::fs::canonicalize(slots).map_err(|e| format!("{}: {e}", slots.display()))?;
    let workdir = slots
        .parent()
        .unwrap_or(&slots)
        .join(format!("template-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&workdir).map_err(|e| format!("{}: {e}", workdir.display()))?;
    let base = HostIds::for_template(sys::effective_ids());
    super::worker::give_workdir_to(&workdir, base).map_err(|e| e.to_string())?;
    let (setup, steps) = sandbox.setup_for_template(&workdir, base, &slots)?;
    let (ours, theirs) = socketpair(
        AddressFamily::UNIX,
        SocketType::SEQPACKET,
        SocketFlags::CLOEXEC,
        None,
    )
    .map_err(|e| format!("control socket: {e}"))?;
    let mut cmd = tokio::process::Command::new(&rt.python_exe);
    cmd.arg("-c")
        .arg(TEMPLATE_SOURCE)
        .stdin(Stdio::from(theirs))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .env_clear()
        .current_dir("/");
    for (k, v) in worker_env(rt, "/tmp") {
        cmd.env(k, v);
    }
    cmd.env("SESSIONS_KERNEL_DATA", "/mnt/data");
    sys::install_namespaces(&mut cmd, setup);
    let child = tokio::task::spawn_blocking(move || cmd.spawn())
        .await
        .map_err(|e| format!("the spawning thread failed: {e}"))?
        .map_err(|e| sys::describe_spawn_error(&e, &steps))?;
    let relay = child.id().and_then(|p| i32::try_from(p).ok()).unwrap_or(0);
    let tree = Arc::new(Tree::new(relay, sys::pidfd_open(relay), TreeTop::Relay));
    let control = std::fs::File::from(ours);
    let config = config(rt, sandbox, preload);
    let handshake = move || -> Result<(std::fs::File, Ready), String> {
        let mut control = control;
        control
            .write_all(&config)
            .map_err(|e| format!("sending the template its configuration: {e}"))?;
        let reply = read_message(&mut control)?;
        let ready: Ready = serde_json::from_slice(&reply).map_err(|_| {
            format!(
                "the template did not start: {}",
                String::from_utf8_lossy(&reply)
            )
        })?;
        Ok((control, ready))
    };
    let (control, ready) =
        tokio::time::timeout(START_TIMEOUT, tokio::task::spawn_blocking(handshake))
            .await
            .map_err(|_| "timed out importing the preloaded modules".to_string())?
            .map_err(|e| format!("the template thread failed: {e}"))??;
    if ready.threads != 1 {
        tree.kill();
        return Err(format!(
            "the template has {} threads after its preload (a fork would copy them half-way)",
            ready.threads
        ));
    }
    if !ready.open_files.is_empty() {
        tree.kill();
        return Err(format!(
            "the preload left files open ({}): a fork would share them",
            ready.open_files.join(", ")
        ));
    }
    let headroom = 64 << 20;
    if (ready.vm_kib << 10) + headroom > rt.config.memory_limit_bytes {
        tree.kill();
        return Err(format!(
            "the preload maps {} MiB, too close to the {} MiB memory cap of a session",
            ready.vm_kib >> 10,
            rt.config.memory_limit_bytes >> 20
        ));
    }
    Ok(Template {
        control: Mutex::new(control),
        next_id: std::sync::atomic::AtomicU64::new(0),
        base,
        slots,
        loaded: ready.loaded,
        missing: ready.missing,
        tree,
        workdir,
        _child: child,
    })
}

impl Template {
    /// The slot name of `workdir` when it is one this template can bind.
    pub(crate) fn slot_of<'a>(&self, workdir: &'a Path) -> Option<&'a str> {
        let parent = workdir.parent()?;
        let same =
            parent == self.slots || std::fs::canonicalize(parent).is_ok_and(|p| p == self.slots);
        same.then(|| workdir.file_name()?.to_str())?
            .filter(|s| !s.is_empty() && !s.starts_with('.'))
    }

    /// True while the template is alive.
    pub(crate) fn alive(&self) -> bool {
        self.tree.alive()
    }

    /// Fork a session for `slot` with host ids `ids`; it speaks the kernel protocol on
    /// `proto` (whose other end is `ours`) and writes its exit code on `status`. Returns the
    /// relay's host pid; the relay waits for one byte on `proto` before it forks anything.
    pub(crate) async fn fork(
        self: &Arc<Self>,
        slot: &str,
        ids: HostIds,
        (proto, ours): (OwnedFd, &std::os::unix::net::UnixStream),
        status: OwnedFd,
    ) -> Result<i32, String> {
        let (Some(uid), Some(gid)) = (
            ids.uid.checked_sub(self.base.uid),
            ids.gid.checked_sub(self.base.gid),
        ) else {
            return Err(format!("ids {ids:?} are outside the template's range"));
        };
        let id = self
            .next_id
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let request =
            serde_json::json!({ "id": id, "slot": slot, "uid": uid, "gid": gid }).to_string();
        // The relay's first byte carries its pid as the kernel sees it from here.
        let ours = ours
            .try_clone()
            .map_err(|e| format!("session socket: {e}"))?;
        sockopt::set_socket_passcred(&ours, true).map_err(|e| format!("SO_PASSCRED: {e}"))?;
        ours.set_read_timeout(Some(FORK_TIMEOUT))
            .map_err(|e| format!("session socket: {e}"))?;
        let this = Arc::clone(self);
        let exchange = move || -> Result<i32, String> {
            let mut control = this.control.lock().unwrap_or_else(|e| e.into_inner());
            let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(2))];
            let mut fds = SendAncillaryBuffer::new(&mut space);
            let passed = [proto.as_fd(), status.as_fd()];
            fds.push(SendAncillaryMessage::ScmRights(&passed));
            sendmsg(
                control.as_fd(),
                &[IoSlice::new(request.as_bytes())],
                &mut fds,
                SendFlags::NOSIGNAL,
            )
            .map_err(|e| format!("the template is gone: {e}"))?;
            drop((proto, status));
            #[derive(Deserialize)]
            struct Forked {
                id: Option<u64>,
                pid: Option<i32>,
                error: Option<String>,
            }
            // Replies to forks that timed out earlier are skipped (bounded).
            let forked = (0..64)
                .find_map(|_| {
                    let reply = read_message(&mut control);
                    match reply.map(|r| serde_json::from_slice::<Forked>(&r)) {
                        Ok(Ok(f)) if f.id != Some(id) => None,
                        Ok(Ok(f)) => Some(Ok(f)),
                        Ok(Err(_)) => Some(Err("the template sent a malformed reply".to_string())),
                        Err(e) => Some(Err(e)),
                    }
                })
                .unwrap_or_else(|| Err("the template's replies are out of step".into()))?;
            drop(control);
            if forked.pid.is_none() {
                return Err(forked.error.unwrap_or_else(|| "the fork failed".into()));
            }
            sender_pid(&ours, b'p')
        };
        tokio::time::timeout(FORK_TIMEOUT, tokio::task::spawn_blocking(exchange))
            .await
            .map_err(|_| "the template did not answer".to_string())?
            .map_err(|e| format!("the fork thread failed: {e}"))?
    }
}

/// The pid (in our namespace) of the process that sent the next byte on `socket`, which must
/// be `expected` (`p` from the relay, `i` from the namespace init). `SO_PASSCRED` is on
/// until the init's byte has come.
pub(crate) fn sender_pid(
    socket: &std::os::unix::net::UnixStream,
    expected: u8,
) -> Result<i32, String> {
    let mut byte = [0u8; 1];
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmCredentials(1))];
    let mut control = RecvAncillaryBuffer::new(&mut space);
    let got = recvmsg(
        socket,
        &mut [std::io::IoSliceMut::new(&mut byte)],
        &mut control,
        RecvFlags::CMSG_CLOEXEC,
    )
    .map_err(|e| format!("the forked session did not answer: {e}"))?;
    if got.bytes != 1 || byte[0] != expected {
        return Err("the forked session stopped before its sandbox was built".into());
    }
    if expected == b'i' {
        let _ = sockopt::set_socket_passcred(socket, false);
        let _ = socket.set_read_timeout(None);
    }
    control
        .drain()
        .find_map(|m| match m {
            RecvAncillaryMessage::ScmCredentials(cred) => Some(cred.pid.as_raw_nonzero().get()),
            _ => None,
        })
        .ok_or_else(|| "the forked session's pid did not come with it".to_string())
}

/// One message from the control socket (a seqpacket read returns exactly one).
fn read_message(control: &mut std::fs::File) -> Result<Vec<u8>, String> {
    let mut buf = vec![0u8; 1 << 16];
    let n = control
        .read(&mut buf)
        .map_err(|e| format!("reading from the template: {e}"))?;
    if n == 0 {
        return Err("the template exited".into());
    }
    buf.truncate(n);
    Ok(buf)
}

/// The template's configuration: the kernel, the confinement of a fresh worker and the
/// session's mount plan.
fn config(rt: &RuntimeInner, sandbox: &SandboxTemplate, preload: &[String]) -> Vec<u8> {
    let seccomp: String = sandbox
        .seccomp
        .iter()
        .flatten()
        .flat_map(|f| {
            let mut b = [0u8; 8];
            b[..2].copy_from_slice(&f.code.to_ne_bytes());
            b[2] = f.jt;
            b[3] = f.jf;
            b[4..].copy_from_slice(&f.k.to_ne_bytes());
            b
        })
        .map(|b| format!("{b:02x}"))
        .collect();
    let flags = sys::namespace_flags(rt.config.network);
    let plan = sandbox.session_plan();
    let path = |p: &PathBuf| String::from_utf8_lossy(p.as_os_str().as_bytes()).into_owned();
    serde_json::json!({
        "kernel": KERNEL_SOURCE,
        "preload": preload,
        "unshare_flags": flags,
        "network": rt.config.network,
        "slots": TEMPLATE_SLOTS,
        "tmp_size": plan.tmp_size,
        "tmp_binds": plan.tmp_binds.iter().map(path).collect::<Vec<_>>(),
        "proc_read_only": plan.proc_read_only,
        "masked_files": plan.masked_files,
        "masked_dirs": plan.masked_dirs,
        "hidden": HIDDEN_IN_SESSIONS,
        "address_space": rt.limits.address_space,
        "processes": rt.limits.processes,
        "landlock_abi": sandbox.landlock_abi,
        "seccomp": seccomp,
        "sys": {
            "capset": libc::SYS_capset,
            "landlock_create_ruleset": libc::SYS_landlock_create_ruleset,
            "landlock_add_rule": libc::SYS_landlock_add_rule,
            "landlock_restrict_self": libc::SYS_landlock_restrict_self,
        },
    })
    .to_string()
    .into_bytes()
}
