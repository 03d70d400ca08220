//! The execution runtime: one sandboxed, persistent interpreter process per session.
//!
//! CONTRACT (shared by the HTTP layer and the runtime; change only by agreement):
//! the HTTP layer only uses the items in this file. Everything else in `runtime/`
//! is private to the runtime.
//!
//! What is enforced (see `IsolationReport::detail` at run time):
//! * namespaces (when permitted): user (uid 0 inside = an unprivileged host uid: the
//!   emulator's own when it is not root, else a dedicated id per worker; all capabilities
//!   dropped), mount (pivoted minimal root: read-only /usr, /etc, lib dirs and the python
//!   prefixes; private /tmp, /dev/shm; `/mnt/data` = the session's workdir; /proc/sys and
//!   friends read-only, /proc/kcore, /proc/keys, /etc/shadow masked), pid (the whole tree
//!   dies with the session), net (only an up loopback unless `network`), uts, ipc, cgroup;
//! * memory: RLIMIT_AS per process (`MemoryError` → `OutOfMemory`; a SIGKILLed interpreter
//!   is reported the same way and replaced);
//! * processes/threads: a per-worker `pids` cgroup when one is writable (RLIMIT_NPROC is
//!   also set but does not bind uid 0);
//! * CPU: RLIMIT_CPU re-armed before each run when `cpu_seconds_per_execution` is set.
//!
//! Degraded mode (no namespaces) keeps the limits, runs in the workdir and maps
//! `/mnt/data` paths to it inside Python (not inside shell commands).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

mod cgroup;
mod protocol;
mod sandbox;
mod seccomp;
mod session;
mod setup;
mod sys;
mod template;
mod warm_pool;
mod watch;
mod worker;

#[cfg(feature = "test-internals")]
pub use setup::FORCE_DEGRADED_ENV;
#[cfg(feature = "test-internals")]
pub use template::FORCE_NO_TEMPLATE_ENV;

/// Which modules a pool's template interpreter imports before sessions are forked from it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Preload {
    /// numpy, pandas and matplotlib (with `matplotlib.pyplot` on the Agg backend), those
    /// of them that are installed; nothing for shell pools.
    #[default]
    Default,
    /// No module: sessions are still forked from the template, which starts them fast.
    None,
    /// These modules (`matplotlib` means `matplotlib.pyplot` on Agg); one that cannot be
    /// imported is named in the isolation warnings.
    Modules(Vec<String>),
}

impl Preload {
    /// Parse `--preload`: `none`, `default`, or a comma-separated list of module names.
    pub fn parse(text: &str) -> Result<Preload, String> {
        match text.trim() {
            "none" => return Ok(Preload::None),
            "default" => return Ok(Preload::Default),
            _ => {}
        }
        let names: Vec<String> = text
            .split(',')
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(String::from)
            .collect();
        let valid = |n: &str| {
            n.split('.').all(|part| {
                part.chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                    && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            })
        };
        match names.iter().find(|n| !valid(n)) {
            Some(bad) => Err(format!(
                "{bad:?} is not a module name: give `none`, `default` or names like numpy,pandas"
            )),
            None if names.is_empty() => Err(
                "no module named: give `none`, `default` or names like numpy,pandas".to_string(),
            ),
            None => Ok(Preload::Modules(names)),
        }
    }

    /// The module names for a pool of `pool_type`.
    pub(crate) fn modules(&self, pool_type: PoolType) -> Vec<String> {
        match (self, pool_type) {
            (Preload::Default, PoolType::Python) => {
                ["numpy", "pandas", "matplotlib"].map(String::from).to_vec()
            }
            (Preload::Default | Preload::None, _) => Vec::new(),
            (Preload::Modules(m), _) => m.clone(),
        }
    }
}

/// What kind of pool this emulator serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PoolType {
    /// A Python code-interpreter pool (`PythonLTS`).
    #[default]
    Python,
    /// A shell pool: `shellCommand` runs in bash.
    Shell,
}

/// How strongly sessions are isolated from each other and from the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IsolationMode {
    /// Use Linux namespaces when the kernel permits, else fall back to `Degraded` with a warning.
    #[default]
    Auto,
    /// Require namespaces; `Runtime::new` fails when they are not available.
    Namespaces,
    /// No namespaces: only resource limits and a per-session working directory.
    Degraded,
}

/// Settings for the runtime.
#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    /// The python3 interpreter to run (also used by shell pools for `python3`).
    pub python: PathBuf,
    /// Python or shell pool.
    pub pool_type: PoolType,
    /// Memory cap per session, in bytes: for all of its processes together, `/tmp` and
    /// shared memory included (measured every 250 ms during a run and every 2 s between
    /// runs; past it the run answers `OutOfMemory`), and RLIMIT_AS per process (a
    /// `MemoryError` inside).
    pub memory_limit_bytes: u64,
    /// Maximum number of processes/threads per session.
    pub max_processes: u64,
    /// CPU time cap per execution, in seconds (a backstop; wall-clock timeouts are separate).
    pub cpu_seconds_per_execution: Option<u64>,
    /// Allow network access from session code (off by default, as on the service).
    pub network: bool,
    /// Isolation requested.
    pub isolation: IsolationMode,
    /// Most characters of stdout, stderr and a result's text kept per run (the server's
    /// memory cap, whatever `outputStreamsMaxLength` asks); longer text is cut and ends
    /// with a marker saying how much was left out. Default 1 Mi characters.
    pub max_output_chars: usize,
    /// Soft disk quota of a session's `/mnt/data` in bytes (default 4 GiB; `None`: none).
    /// Checked every 2 s during a run and every 8 s between runs while the session's
    /// processes live: a session still writing past it is stopped and its run answers
    /// `Failed`. The files API checks it on upload.
    pub disk_quota_bytes: Option<u64>,
    /// Largest protocol message accepted from an interpreter, in bytes (default 64 MiB).
    /// Past it the interpreter is stopped and the run answers `Failed`, saying why.
    pub max_message_bytes: usize,
    /// The directory whose subdirectories are sessions' workdirs. With namespaces, workers
    /// for these are forked from a template interpreter (`None`: every worker starts fresh).
    pub slots: Option<PathBuf>,
    /// What the template imports.
    pub preload: Preload,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        Self {
            python: PathBuf::from("python3"),
            pool_type: PoolType::Python,
            memory_limit_bytes: 2 * 1024 * 1024 * 1024,
            max_processes: 256,
            cpu_seconds_per_execution: None,
            network: false,
            isolation: IsolationMode::Auto,
            max_output_chars: 1 << 20,
            max_message_bytes: 64 << 20,
            disk_quota_bytes: Some(4 << 30),
            slots: None,
            preload: Preload::Default,
        }
    }
}

/// What isolation is actually in force, for `metadata` and the start-up warning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IsolationReport {
    /// True when user, mount, network and pid namespaces are all in use.
    pub namespaces: bool,
    /// A one-line human description, e.g. "namespaces (user, mount, net, pid, uts, ipc,
    /// cgroup); …" or the reason for degrading.
    pub detail: String,
    /// Each protection layer in force, one line each (namespaces, identity, seccomp,
    /// Landlock, memory, processes, disk).
    pub layers: Vec<String>,
    /// Layers this kernel or configuration lacks: each is a gap, said at start-up too.
    pub warnings: Vec<String>,
}

/// Errors from the runtime itself (not from user code, which yields a `RunOutcome`).
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// The interpreter could not be started.
    #[error("could not start the interpreter: {0}")]
    Spawn(String),
    /// The worker process died or broke its protocol and could not be replaced.
    #[error("the session's interpreter failed: {0}")]
    Worker(String),
    /// Namespaces were required but are not available.
    #[error("isolation unavailable: {0}")]
    Isolation(String),
}

/// A request to run Python code.
#[derive(Debug, Clone)]
pub struct PythonRun {
    /// The source code.
    pub code: String,
    /// Wall-clock limit (already capped at 220 s by the caller).
    pub timeout: Duration,
    /// Truncate stdout and stderr to this many characters each, when set.
    pub max_output: Option<usize>,
    /// Return the Jupyter text/plain repr as the result instead of a JSON value.
    pub jupyter_format: bool,
}

/// A request to run a shell command (shell pools).
#[derive(Debug, Clone)]
pub struct ShellRun {
    /// The command line, run with `bash -c`.
    pub command: String,
    /// Text fed to the command's standard input.
    pub stdin: Option<String>,
    /// Wall-clock limit.
    pub timeout: Duration,
    /// Truncate stdout and stderr to this many characters each, when set.
    pub max_output: Option<usize>,
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunStatus {
    /// Python code ran to completion.
    Succeeded,
    /// Python code raised; the traceback is in stderr.
    Failed,
    /// The wall-clock limit was hit; the interpreter was killed and replaced.
    TimedOut,
    /// The memory cap was hit; the interpreter was replaced if it died.
    OutOfMemory,
    /// A shell command exited with this code.
    Exited(i32),
}

/// An image the code left behind (an open matplotlib figure).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageOutput {
    /// Image format, e.g. "png".
    pub format: String,
    /// Base64 of the image bytes.
    pub base64_data: String,
}

/// The result of one run.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    /// How it ended.
    pub status: RunStatus,
    /// Captured standard output (possibly truncated).
    pub stdout: String,
    /// Captured standard error (possibly truncated); for TimedOut/OutOfMemory the service's text.
    pub stderr: String,
    /// Value of the last expression: JSON types stay JSON, NaN becomes null, others are repr text;
    /// `Value::String("")` when there is none. Null for shell runs.
    pub result: serde_json::Value,
    /// Every matplotlib figure open at the end of the run, in figure-number order (empty
    /// without matplotlib). All are closed after the run.
    pub images: Vec<ImageOutput>,
    /// Time spent running the code.
    pub duration: Duration,
}

/// Starts sandboxed workers. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Runtime {
    inner: Arc<RuntimeInner>,
}

/// Everything a worker needs to (re)start its interpreter.
#[derive(Debug)]
pub(crate) struct RuntimeInner {
    config: RuntimeConfig,
    /// The interpreter actually executed (`sys.executable` of `config.python`).
    python_exe: PathBuf,
    /// The namespace sandbox plan; `None` in degraded mode.
    sandbox: Option<sandbox::SandboxTemplate>,
    limits: sys::Limits,
    /// Per-worker pids cgroups (the process cap), when a controller is writable.
    pids: Option<cgroup::PidsController>,
    report: IsolationReport,
    /// MPLCONFIGDIR for unsandboxed workers.
    mpl_config_dir: Option<String>,
    /// The template sessions are forked from, when it started.
    template: Option<Arc<template::Template>>,
}

impl Runtime {
    /// Probe the kernel's isolation features and prepare to start workers.
    /// In `Auto` mode, prints one clear warning (via `tracing::warn!` and stderr) when degrading.
    ///
    /// Setting the environment variable [`FORCE_DEGRADED_ENV`] makes the namespace probe fail.
    pub async fn new(config: RuntimeConfig) -> Result<Runtime, RuntimeError> {
        let inner = setup::build(config, None).await?;
        Ok(Runtime {
            inner: Arc::new(inner),
        })
    }

    /// Like [`Runtime::new`], but the namespace probe fails with `reason` (for tests of the
    /// `Auto` fallback and of `Namespaces` refusing to start).
    #[cfg(feature = "test-internals")]
    pub async fn new_with_failed_probe(
        config: RuntimeConfig,
        reason: &str,
    ) -> Result<Runtime, RuntimeError> {
        let inner = setup::build(config, Some(reason.to_string())).await?;
        Ok(Runtime {
            inner: Arc::new(inner),
        })
    }

    /// The isolation actually in force.
    pub fn isolation(&self) -> IsolationReport {
        self.inner.report.clone()
    }

    /// The pool type.
    #[cfg(feature = "test-internals")]
    pub fn pool_type(&self) -> PoolType {
        self.inner.config.pool_type
    }

    /// Start a ready worker whose `/mnt/data` (and working directory) is `workdir` on the host.
    pub async fn spawn(&self, workdir: &Path) -> Result<Worker, RuntimeError> {
        let ids = sandbox::HostIds::for_new_worker(sys::effective_ids());
        let proc = worker::Proc::spawn(&self.inner, workdir, ids).await?;
        Ok(Worker {
            rt: Arc::clone(&self.inner),
            workdir: workdir.to_path_buf(),
            ids,
            stop: StopHandle::new(&proc),
            reset_notice: None,
            proc: Some(proc),
        })
    }
}

/// One session's interpreter. Not shared: the session manager serialises calls.
#[derive(Debug)]
pub struct Worker {
    rt: Arc<RuntimeInner>,
    workdir: PathBuf,
    /// The host ids its sandbox runs as (kept across restarts: they own the workdir).
    ids: sandbox::HostIds,
    /// Ends the current tree from outside (and keeps the worker from restarting).
    stop: StopHandle,
    /// Why the interpreter was last restarted, said once in the next run's stderr.
    reset_notice: Option<&'static str>,
    /// `None` after a failed restart; the next run tries again.
    proc: Option<worker::Proc>,
}

impl Worker {
    /// Run Python code. A timeout kills and replaces the interpreter (files in workdir remain).
    pub async fn run_python(&mut self, run: PythonRun) -> Result<RunOutcome, RuntimeError> {
        let req = protocol::Request::Py {
            code: &run.code,
            jupyter: run.jupyter_format,
            max_output: run.max_output,
        };
        self.run_request(req, run.timeout, run.max_output).await
    }

    /// Run a shell command.
    pub async fn run_shell(&mut self, run: ShellRun) -> Result<RunOutcome, RuntimeError> {
        let req = protocol::Request::Sh {
            command: &run.command,
            stdin: run.stdin.as_deref(),
            max_output: run.max_output,
        };
        self.run_request(req, run.timeout, run.max_output).await
    }

    /// Memory of the worker's processes as the session's cap counts it (proportional
    /// anonymous and shared memory, plus its /tmp and /dev/shm), in bytes, when known.
    #[cfg(feature = "test-internals")]
    pub fn memory_rss_bytes(&self) -> Option<u64> {
        self.proc.as_ref()?.rss_bytes()
    }

    /// A handle that ends this worker's whole process tree from outside its lock.
    pub fn stop_handle(&self) -> StopHandle {
        self.stop.clone()
    }

    /// Stop the worker and its processes.
    pub async fn shutdown(mut self) {
        if let Some(proc) = self.proc.take() {
            proc.kill().await;
        }
    }
}

/// Ends a worker's whole process tree at once, even while a run holds the worker: for
/// delete, stopSession and shutdown. After `stop` the worker never starts another
/// interpreter; its run in progress answers `Failed`.
#[derive(Debug, Clone)]
pub struct StopHandle {
    inner: Arc<StopState>,
}

#[derive(Debug)]
struct StopState {
    stopped: std::sync::atomic::AtomicBool,
    tree: std::sync::Mutex<Option<Arc<worker::Tree>>>,
}

impl StopHandle {
    fn new(proc: &worker::Proc) -> StopHandle {
        StopHandle {
            inner: Arc::new(StopState {
                stopped: std::sync::atomic::AtomicBool::new(false),
                tree: std::sync::Mutex::new(Some(proc.tree())),
            }),
        }
    }

    /// SIGKILL the worker's current process tree and keep it from restarting.
    pub fn stop(&self) {
        self.inner
            .stopped
            .store(true, std::sync::atomic::Ordering::SeqCst);
        if let Some(tree) = self.tree().as_ref() {
            tree.kill();
        }
    }

    /// True once `stop` was called.
    pub fn is_stopped(&self) -> bool {
        self.inner.stopped.load(std::sync::atomic::Ordering::SeqCst)
    }

    fn tree(&self) -> std::sync::MutexGuard<'_, Option<Arc<worker::Tree>>> {
        self.inner.tree.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Follow the worker's new interpreter (after a restart).
    fn track(&self, proc: &worker::Proc) {
        *self.tree() = Some(proc.tree());
        if self.is_stopped() {
            proc.tree().kill();
        }
    }
}

/// A pool of pre-started workers, each with its own fresh slot directory under a data root,
/// so that allocating a session costs no interpreter start-up. Refills in the background.
#[derive(Debug, Clone)]
pub struct WarmPool {
    inner: Arc<warm_pool::PoolInner>,
}

impl WarmPool {
    /// Create a pool that keeps `size` ready workers with slot directories under `data_root`.
    pub fn new(runtime: Runtime, data_root: PathBuf, size: usize) -> WarmPool {
        WarmPool {
            inner: warm_pool::PoolInner::new(runtime, data_root, size),
        }
    }

    /// Take a ready worker and its slot directory (starting one on demand when the pool is empty).
    pub async fn acquire(&self) -> Result<(Worker, crate::files::SessionDir), RuntimeError> {
        warm_pool::acquire(&self.inner).await
    }

    /// Stop all idle workers (on shutdown).
    pub async fn shutdown(&self) {
        warm_pool::shutdown(&self.inner).await
    }
}
