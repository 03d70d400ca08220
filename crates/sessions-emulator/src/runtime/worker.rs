//! One interpreter process: spawning it (sandboxed or not), talking to it, killing its tree.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::process::Command;

use super::cgroup::PidsGroup;
use super::protocol::{KERNEL_SOURCE, KernelStatus, Request, Response};
use super::sandbox::HostIds;
use super::template::Template;
use super::watch::Watch;
use super::{RuntimeError, RuntimeInner, sys};

/// How long an interpreter may take to start (generous: loaded CI machines).
const SPAWN_TIMEOUT: Duration = Duration::from_secs(60);
/// How long to wait for a killed tree to be reaped before giving up on it.
const REAP_TIMEOUT: Duration = Duration::from_secs(5);

/// The process we wait on: our own child (a fresh interpreter, or its sandbox's relay), or
/// the relay of a session forked from the template, which writes its exit code on `status`.
#[derive(Debug)]
enum Child {
    Spawned(tokio::process::Child),
    Forked {
        status: tokio::net::UnixStream,
        /// What the relay wrote, once read: why its sandbox failed, then its exit code.
        report: Option<(String, Option<i32>)>,
    },
}

impl Child {
    /// Wait for the process to end; its exit code (128+signal) when known.
    async fn wait(&mut self) -> Option<i32> {
        match self {
            Child::Spawned(child) => child.wait().await.ok().and_then(exit_code),
            Child::Forked { status, report } => {
                if report.is_none() {
                    let mut text = Vec::new();
                    let _ = (&mut *status).take(4096).read_to_end(&mut text).await;
                    let text = String::from_utf8_lossy(&text);
                    let code = text.lines().last().and_then(|l| l.trim().parse().ok());
                    let errors = text
                        .lines()
                        .filter_map(|l| l.strip_prefix("error: "))
                        .collect::<Vec<_>>()
                        .join("; ");
                    *report = Some((errors, code));
                }
                report.as_ref().and_then(|r| r.1)
            }
        }
    }

    /// Why a forked session's sandbox could not be built, once the relay has exited.
    fn failure(&self) -> Option<&str> {
        match self {
            Child::Forked {
                report: Some((errors, _)),
                ..
            } if !errors.is_empty() => Some(errors),
            _ => None,
        }
    }

    /// True once the process has ended.
    fn has_exited(&mut self, tree: &Tree) -> bool {
        match self {
            Child::Spawned(child) => !matches!(child.try_wait(), Ok(None)),
            Child::Forked { .. } => !tree.alive(),
        }
    }

    /// SIGKILL the process itself.
    fn start_kill(&mut self, tree: &Tree) {
        match self {
            Child::Spawned(child) => {
                let _ = child.start_kill();
            }
            Child::Forked { .. } => {
                if let Some(fd) = &tree.pidfd {
                    sys::pidfd_signal(fd, libc::SIGKILL);
                }
            }
        }
    }
}

type Reader = BufReader<Box<dyn AsyncRead + Send + Sync + Unpin>>;
type Writer = Box<dyn AsyncWrite + Send + Sync + Unpin>;

/// A live interpreter process.
pub(crate) struct Proc {
    child: Child,
    stdin: Writer,
    stdout: Reader,
    /// The process tree (shared with the stop handle and the memory watch).
    tree: Arc<Tree>,
    /// A request was sent whose response was not read (the caller's future was dropped).
    busy: bool,
    /// Set by the watch when the session's processes together passed the memory cap.
    memory_exceeded: Arc<AtomicBool>,
    /// Set by the watch when the session wrote past its disk quota.
    disk_exceeded: Arc<AtomicBool>,
    /// Set while a request is in progress (the watch measures more often then).
    running: Arc<AtomicBool>,
    /// Wakes the watch when a request starts.
    started: Arc<tokio::sync::Notify>,
    /// The worker's pids cgroup; removed when the process is gone (dropped last).
    pids: Option<PidsGroup>,
}

impl std::fmt::Debug for Proc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Proc")
            .field("child", &self.child)
            .field("tree", &self.tree)
            .field("busy", &self.busy)
            .finish_non_exhaustive()
    }
}

/// What came back from one exchange with the kernel.
pub(crate) enum Exchange {
    /// A well-formed response.
    Reply(Response),
    /// The wall-clock limit expired.
    TimedOut,
    /// The process died; its exit code (128+signal for signals) when known.
    Died(Option<i32>),
    /// The process broke the protocol (an oversized or malformed message): it must go.
    Broken(String),
}

impl Proc {
    /// Start an interpreter for `workdir` and wait for its ready handshake: a fork of the
    /// template when there is one for this workdir, else a fresh interpreter.
    pub(crate) async fn spawn(
        rt: &RuntimeInner,
        workdir: &Path,
        ids: HostIds,
    ) -> Result<Proc, RuntimeError> {
        if let Some(template) = rt.template.as_ref().filter(|t| t.alive())
            && let Some(slot) = template.slot_of(workdir)
        {
            match Proc::fork(rt, template, slot, workdir, ids).await {
                Ok(proc) => return Ok(proc),
                Err(e) => {
                    tracing::warn!(error = %e, "a session could not be forked from the template; starting a fresh interpreter")
                }
            }
        }
        Proc::spawn_fresh(rt, workdir, ids).await
    }

    /// A session forked from the template (see `template.rs`).
    async fn fork(
        rt: &RuntimeInner,
        template: &Arc<Template>,
        slot: &str,
        workdir: &Path,
        ids: HostIds,
    ) -> Result<Proc, RuntimeError> {
        let failed = |e: std::io::Error| RuntimeError::Spawn(format!("session sockets: {e}"));
        give_workdir_to(workdir, ids)?;
        let pids = rt
            .pids
            .as_ref()
            .and_then(|c| c.create(rt.config.max_processes, 2));
        let (ours, theirs) = std::os::unix::net::UnixStream::pair().map_err(failed)?;
        let (status, status_theirs) = std::os::unix::net::UnixStream::pair().map_err(failed)?;
        // Only our end of the protocol socket is read blocking (until the init's byte).
        status.set_nonblocking(true).map_err(failed)?;
        let status = tokio::net::UnixStream::from_std(status).map_err(failed)?;
        let relay = match template
            .fork(slot, ids, (theirs.into(), &ours), status_theirs.into())
            .await
        {
            Ok(pid) => Tree::new(pid, sys::pidfd_open(pid), TreeTop::Relay),
            Err(e) => return Err(not_started(status, e).await),
        };
        // Every process of the session must be counted: the relay forks nothing before "g".
        if let Some(group) = &pids
            && let Err(e) = std::fs::write(group.procs_path(), relay.pid.to_string())
        {
            relay.kill_top();
            return Err(RuntimeError::Spawn(format!("join the pids cgroup: {e}")));
        }
        // The relay forks the namespace init and exits; the init is the session's top.
        let init = match ours.try_clone() {
            Ok(probe) => tokio::task::spawn_blocking(move || {
                std::io::Write::write_all(&mut &probe, b"g")
                    .map_err(|e| format!("the forked session is gone: {e}"))?;
                super::template::sender_pid(&probe, b'i')
            })
            .await
            .unwrap_or_else(|e| Err(format!("the fork thread failed: {e}"))),
            Err(e) => Err(format!("session socket: {e}")),
        };
        let init = match init {
            Ok(pid) => pid,
            Err(e) => {
                relay.kill_top();
                return Err(not_started(status, e).await);
            }
        };
        let tree = Arc::new(Tree::new(init, sys::pidfd_open(init), TreeTop::Init));
        let proto = ours
            .set_nonblocking(true)
            .and_then(|()| tokio::net::UnixStream::from_std(ours));
        let proto = match proto {
            Ok(s) => s,
            Err(e) => {
                tree.kill();
                return Err(failed(e));
            }
        };
        let (read, write) = proto.into_split();
        let child = Child::Forked {
            status,
            report: None,
        };
        Proc::ready(
            rt,
            workdir,
            child,
            Box::new(read),
            Box::new(write),
            tree,
            pids,
        )
        .await
    }

    /// A fresh interpreter, sandboxed before `exec` (or only limited, in degraded mode).
    async fn spawn_fresh(
        rt: &RuntimeInner,
        workdir: &Path,
        ids: HostIds,
    ) -> Result<Proc, RuntimeError> {
        let mut cmd = Command::new(&rt.python_exe);
        cmd.arg("-c")
            .arg(KERNEL_SOURCE)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true);
        let mut steps = Vec::new();
        // The sandbox adds two tasks of ours: the relay and the pid-1 reaper.
        let overhead = if rt.sandbox.is_some() { 2 } else { 0 };
        let pids = rt
            .pids
            .as_ref()
            .and_then(|c| c.create(rt.config.max_processes, overhead));
        let procs_file = pids.as_ref().and_then(PidsGroup::procs_file);
        let sandboxed = match &rt.sandbox {
            Some(template) => {
                give_workdir_to(workdir, ids)?;
                let (setup, what) = template
                    .setup_for(workdir, ids, procs_file)
                    .map_err(RuntimeError::Spawn)?;
                steps = what;
                cmd.env_clear().current_dir("/");
                for (k, v) in worker_env(rt, "/tmp") {
                    cmd.env(k, v);
                }
                cmd.env("SESSIONS_KERNEL_DATA", "/mnt/data");
                sys::install_namespaces(&mut cmd, setup);
                true
            }
            None => {
                let dir = std::fs::canonicalize(workdir).map_err(|e| {
                    RuntimeError::Spawn(format!("workdir {}: {e}", workdir.display()))
                })?;
                for (k, v) in worker_env(rt, &std::env::temp_dir().to_string_lossy()) {
                    if k != "PATH" && k != "HOME" {
                        cmd.env(k, v);
                    }
                }
                cmd.env("SESSIONS_KERNEL_DATA", &dir)
                    .env("SESSIONS_KERNEL_REWRITE", &dir);
                cmd.current_dir(&dir).process_group(0);
                sys::install_limits(&mut cmd, rt.limits, procs_file);
                false
            }
        };
        // `spawn` returns only once the interpreter has exec'd, after the whole sandbox set-up
        // in the child: keep that fork-and-wait off the async worker threads.
        let spawned = tokio::task::spawn_blocking(move || cmd.spawn())
            .await
            .map_err(|e| RuntimeError::Spawn(format!("the spawning thread failed: {e}")))?;
        let mut child =
            spawned.map_err(|e| RuntimeError::Spawn(sys::describe_spawn_error(&e, &steps)))?;
        let pid = child.id().and_then(|p| i32::try_from(p).ok()).unwrap_or(0);
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err(RuntimeError::Spawn("interpreter pipes missing".into()));
        };
        let top = if sandboxed {
            TreeTop::Relay
        } else {
            TreeTop::Interpreter
        };
        let tree = Arc::new(Tree::new(pid, sys::pidfd_open(pid), top));
        let child = Child::Spawned(child);
        Proc::ready(
            rt,
            workdir,
            child,
            Box::new(stdout),
            Box::new(stdin),
            tree,
            pids,
        )
        .await
    }

    /// Watch a started interpreter and wait for its ready handshake.
    async fn ready(
        rt: &RuntimeInner,
        workdir: &Path,
        child: Child,
        stdout: Box<dyn AsyncRead + Send + Sync + Unpin>,
        stdin: Writer,
        tree: Arc<Tree>,
        pids: Option<PidsGroup>,
    ) -> Result<Proc, RuntimeError> {
        let watch = Watch {
            memory_limit: rt.config.memory_limit_bytes,
            workdir: workdir.to_path_buf(),
            disk_quota: rt.config.disk_quota_bytes,
            memory_exceeded: Arc::new(AtomicBool::new(false)),
            disk_exceeded: Arc::new(AtomicBool::new(false)),
            running: Arc::new(AtomicBool::new(false)),
            started: Arc::new(tokio::sync::Notify::new()),
        };
        let mut proc = Proc {
            child,
            stdin,
            stdout: BufReader::new(stdout),
            tree: Arc::clone(&tree),
            busy: false,
            memory_exceeded: Arc::clone(&watch.memory_exceeded),
            disk_exceeded: Arc::clone(&watch.disk_exceeded),
            running: Arc::clone(&watch.running),
            started: Arc::clone(&watch.started),
            pids,
        };
        super::watch::spawn(Arc::downgrade(&tree), watch);
        let max = rt.config.max_message_bytes;
        match tokio::time::timeout(SPAWN_TIMEOUT, proc.read_response(max)).await {
            Ok(Ok(r)) if r.status == KernelStatus::Ready => Ok(proc),
            other => {
                let why = match other {
                    Err(_) => "timed out waiting for the interpreter to start".to_string(),
                    _ => "the interpreter exited during start-up".to_string(),
                };
                let mut proc = proc;
                let code = proc.kill_in_place().await;
                let why = match proc.child.failure() {
                    Some(failure) => format!("{why}: {failure}"),
                    None => why,
                };
                Err(RuntimeError::Spawn(format!("{why} (exit code {code:?})")))
            }
        }
    }

    /// Read one response line of at most `max` bytes.
    async fn read_response(&mut self, max: usize) -> Result<Response, ReadError> {
        let mut line = Vec::new();
        loop {
            let chunk = match self.stdout.fill_buf().await {
                Ok([]) | Err(_) => return Err(ReadError::Eof),
                Ok(chunk) => chunk,
            };
            let (take, done) = match chunk.iter().position(|b| *b == b'\n') {
                Some(i) => (i + 1, true),
                None => (chunk.len(), false),
            };
            if line.len() + take > max {
                return Err(ReadError::Broken(format!(
                    "the interpreter sent a protocol message larger than the limit of {max} bytes"
                )));
            }
            line.extend_from_slice(&chunk[..take]);
            self.stdout.consume(take);
            if done {
                return Response::parse(&line).ok_or_else(|| {
                    ReadError::Broken("the interpreter sent a malformed protocol message".into())
                });
            }
        }
    }

    /// True when the watch ended this interpreter for memory.
    pub(crate) fn over_memory(&self) -> bool {
        self.memory_exceeded.load(Ordering::Relaxed)
    }

    /// True when the watch ended this interpreter for writing past the disk quota.
    pub(crate) fn over_disk(&self) -> bool {
        self.disk_exceeded.load(Ordering::Relaxed)
    }

    /// The process tree, for a stop handle.
    pub(crate) fn tree(&self) -> Arc<Tree> {
        Arc::clone(&self.tree)
    }

    /// True when a previous exchange was abandoned mid-way (the protocol is out of step).
    pub(crate) fn is_busy(&self) -> bool {
        self.busy
    }

    /// Send one request and wait up to `timeout` for its response.
    pub(crate) async fn exchange(
        &mut self,
        req: &Request<'_>,
        timeout: Duration,
        max_message: usize,
    ) -> Exchange {
        self.busy = true;
        self.running.store(true, Ordering::Relaxed);
        self.started.notify_one();
        let line = req.to_line();
        let io = async {
            if self.stdin.write_all(&line).await.is_err() || self.stdin.flush().await.is_err() {
                return Err(ReadError::Eof);
            }
            self.read_response(max_message).await
        };
        let outcome = tokio::time::timeout(timeout, io).await;
        self.running.store(false, Ordering::Relaxed);
        match outcome {
            Ok(Ok(resp)) => {
                self.busy = false;
                Exchange::Reply(resp)
            }
            Err(_) => Exchange::TimedOut,
            Ok(Err(ReadError::Broken(why))) => Exchange::Broken(why),
            Ok(Err(ReadError::Eof)) => {
                // EOF: the process is exiting; collect its status.
                let code = tokio::time::timeout(REAP_TIMEOUT, self.child.wait())
                    .await
                    .ok()
                    .flatten();
                Exchange::Died(code)
            }
        }
    }

    /// SIGKILL the whole tree (without reaping it).
    fn signal_tree(&self) {
        self.tree.kill();
    }

    /// Kill the whole process tree and reap our child; returns its exit code when known.
    pub(crate) async fn kill(mut self) -> Option<i32> {
        self.kill_in_place().await
    }

    async fn kill_in_place(&mut self) -> Option<i32> {
        if self.child.has_exited(&self.tree) {
            let code = tokio::time::timeout(REAP_TIMEOUT, self.child.wait()).await;
            self.wait_group_empty().await;
            return code.ok().flatten();
        }
        self.signal_tree();
        if let Ok(code) = tokio::time::timeout(REAP_TIMEOUT, self.child.wait()).await {
            self.wait_group_empty().await;
            return code;
        }
        self.child.start_kill(&self.tree);
        let code = tokio::time::timeout(REAP_TIMEOUT, self.child.wait())
            .await
            .ok()
            .flatten();
        self.wait_group_empty().await;
        code
    }

    /// Let the rest of the tree finish dying so the pids cgroup can be removed.
    async fn wait_group_empty(&self) {
        if let Some(group) = &self.pids {
            for _ in 0..200 {
                if group.is_empty() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }

    /// Memory of the process tree as the watch counts it, in bytes.
    #[cfg(feature = "test-internals")]
    pub(crate) fn rss_bytes(&self) -> Option<u64> {
        self.tree
            .alive()
            .then(|| super::watch::memory_of(&self.tree))
    }
}

/// One interpreter's process tree, signalled through a pidfd of our direct child so that
/// a stop never reaches a process that reused its pid.
#[derive(Debug)]
pub(crate) struct Tree {
    /// Host pid of the tree's top process (see `TreeTop`).
    pid: i32,
    pidfd: Option<std::os::fd::OwnedFd>,
    pub(crate) top: TreeTop,
}

/// What a tree's top process is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TreeTop {
    /// The interpreter itself, leading its process group (degraded mode).
    Interpreter,
    /// Our child that relays the exit of the namespace init below it (a fresh sandbox).
    Relay,
    /// The namespace init itself (a session forked from the template).
    Init,
}

impl Tree {
    pub(crate) fn new(pid: i32, pidfd: Option<std::os::fd::OwnedFd>, top: TreeTop) -> Tree {
        Tree { pid, pidfd, top }
    }

    /// The host pid of the sandbox's namespace init, when the tree has one: its root is the
    /// session's (for `/tmp` and `/dev/shm`). `pids` is `self.pids()`.
    pub(crate) fn init_in(&self, pids: &[i32]) -> Option<i32> {
        match self.top {
            TreeTop::Interpreter => None,
            TreeTop::Relay => pids.get(1).copied(),
            TreeTop::Init => pids.first().copied(),
        }
    }

    /// SIGKILL the top process only.
    pub(crate) fn kill_top(&self) {
        if let Some(fd) = &self.pidfd {
            sys::pidfd_signal(fd, libc::SIGKILL);
        }
    }

    /// True while our direct child has not been reaped.
    pub(crate) fn alive(&self) -> bool {
        self.pidfd
            .as_ref()
            .is_some_and(|fd| sys::pidfd_signal(fd, 0))
    }

    /// SIGKILL everything: in a sandbox the namespace init (the kernel then kills the whole
    /// pid namespace; a relay above it reaps it and exits), or the relay itself before it
    /// forked one (the init has a parent-death signal); otherwise the group.
    pub(crate) fn kill(&self) {
        if !self.alive() {
            return;
        }
        match self.top {
            TreeTop::Relay => {
                let inits = child_pids(self.pid);
                for pid in &inits {
                    sys::signal(*pid, libc::SIGKILL);
                }
                if inits.is_empty() {
                    self.kill_top();
                }
            }
            TreeTop::Init => self.kill_top(),
            TreeTop::Interpreter => sys::kill_group(self.pid),
        }
    }

    /// Pids of the tree, our child first (bounded).
    pub(crate) fn pids(&self) -> Vec<i32> {
        let mut out = vec![self.pid];
        let mut i = 0;
        while i < out.len() && out.len() < 4096 {
            let children = child_pids(out[i]);
            out.extend(children);
            i += 1;
        }
        out
    }
}

impl Drop for Proc {
    /// Backstop for workers dropped without `shutdown`: `kill_on_drop` only signals our
    /// direct child, so take the rest of the tree down too (tokio reaps the child).
    fn drop(&mut self) {
        if !self.child.has_exited(&self.tree) {
            self.signal_tree();
        }
    }
}

/// The sandbox's root owns its `/mnt/data`, and no other sandbox may enter it.
pub(crate) fn give_workdir_to(workdir: &Path, ids: HostIds) -> Result<(), RuntimeError> {
    use std::os::unix::fs::PermissionsExt;
    let failed =
        |e: std::io::Error| RuntimeError::Spawn(format!("workdir {}: {e}", workdir.display()));
    if sys::effective_ids().0 == 0 {
        std::os::unix::fs::chown(workdir, Some(ids.uid), Some(ids.gid)).map_err(failed)?;
        std::fs::set_permissions(workdir, std::fs::Permissions::from_mode(0o700))
            .map_err(failed)?;
    }
    Ok(())
}

/// A forked session that did not start: why its sandbox failed, as its relay or init wrote
/// on the status socket, else `fallback`.
async fn not_started(status: tokio::net::UnixStream, fallback: String) -> RuntimeError {
    let mut child = Child::Forked {
        status,
        report: None,
    };
    let _ = tokio::time::timeout(REAP_TIMEOUT, child.wait()).await;
    let why = child.failure().map_or(fallback, String::from);
    RuntimeError::Spawn(format!("the forked session did not start: {why}"))
}

/// Why no response could be read.
enum ReadError {
    /// The pipe closed (the process is exiting).
    Eof,
    /// The message was oversized or malformed.
    Broken(String),
}

fn exit_code(status: std::process::ExitStatus) -> Option<i32> {
    use std::os::unix::process::ExitStatusExt;
    status.code().or_else(|| status.signal().map(|s| 128 + s))
}

/// Direct children of `pid`, over all its threads.
pub(crate) fn child_pids(pid: i32) -> Vec<i32> {
    let mut out = Vec::new();
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return out;
    };
    for task in tasks.flatten() {
        if let Ok(text) = std::fs::read_to_string(task.path().join("children")) {
            out.extend(
                text.split_whitespace()
                    .filter_map(|p| p.parse::<i32>().ok()),
            );
        }
    }
    out
}

/// Environment of the interpreter (the sandbox gets exactly this; degraded mode adds it).
pub(crate) fn worker_env(rt: &RuntimeInner, home: &str) -> Vec<(&'static str, String)> {
    let python_bin = rt
        .python_exe
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("/usr/bin"));
    let mut env = vec![
        (
            "PATH",
            format!(
                "{}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                python_bin.display()
            ),
        ),
        ("HOME", home.to_string()),
        ("LANG", "C.UTF-8".to_string()),
        ("PYTHONDONTWRITEBYTECODE", "1".to_string()),
        ("MPLBACKEND", "Agg".to_string()),
        ("OPENBLAS_NUM_THREADS", "1".to_string()),
        ("OMP_NUM_THREADS", "1".to_string()),
        ("MKL_NUM_THREADS", "1".to_string()),
    ];
    if let Some(dir) = &rt.mpl_config_dir {
        env.push(("MPLCONFIGDIR", dir.clone()));
    }
    if let Some(seconds) = rt.config.cpu_seconds_per_execution {
        env.push(("SESSIONS_KERNEL_CPU_SECONDS", seconds.max(1).to_string()));
    }
    env.push((
        "SESSIONS_KERNEL_TEXT_CAP",
        rt.config.max_output_chars.max(1).to_string(),
    ));
    if rt.config.pool_type == super::PoolType::Shell {
        env.push(("SESSIONS_KERNEL_MODE", "shell".to_string()));
    }
    env
}
