//! Finding (or creating) the Python interpreter the local pool runs.
//!
//! The real PythonLTS pools ship numpy, pandas and matplotlib. So that examples and tests behave
//! the same on a fresh machine with only `python3`, [`resolve_python`] can create a virtual
//! environment with those packages in the workspace's `.venv` the first time it is needed.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, PoisonError};

/// The environment variable that names the interpreter explicitly.
pub const PYTHON_ENV_VAR: &str = "SESSIONS_EMULATOR_PYTHON";

/// The packages a data-science session expects.
pub const DATA_PACKAGES: &[&str] = &["numpy", "pandas", "matplotlib"];

/// How [`resolve_python`] may obtain an interpreter (each is resolved once per process).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provision {
    /// Use `$SESSIONS_EMULATOR_PYTHON`, else an existing `.venv`, else `python3`.
    Find,
    /// Like `Find`, but create `.venv` with [`DATA_PACKAGES`] when none exists.
    CreateVenv,
}

/// Errors from provisioning Python.
#[derive(Debug, thiserror::Error)]
pub enum PythonEnvError {
    /// A command failed.
    #[error(
        "{what} failed: {detail}; install python3 (with the venv module) or set {PYTHON_ENV_VAR} to an interpreter that has numpy, pandas and matplotlib"
    )]
    Command {
        /// What was being run.
        what: String,
        /// Its error output or exit status.
        detail: String,
    },
}

/// Find the interpreter for the local pool.
///
/// Order: `$SESSIONS_EMULATOR_PYTHON`; `<workspace>/.venv/bin/python3` (the workspace is found by
/// walking up from the current directory to a `Cargo.toml` with `[workspace]`, else the current
/// directory); then either `python3` ([`Provision::Find`]) or a newly created `.venv`
/// ([`Provision::CreateVenv`], one-time, guarded by a lock so parallel tests create it once).
pub fn resolve_python(provision: Provision) -> Result<PathBuf, PythonEnvError> {
    if let Some(p) = std::env::var_os(PYTHON_ENV_VAR).filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(p));
    }
    // Checking the venv spawns Python to import the packages (most of a second), and every
    // `Emulator::builder()` and test helper asks: resolve once per process and provision.
    // Holding the lock while resolving makes concurrent callers wait for that one check.
    static RESOLVED: Mutex<[Option<PathBuf>; 2]> = Mutex::new([None, None]);
    let mut resolved = RESOLVED.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(p) = &resolved[provision as usize] {
        return Ok(p.clone());
    }
    let python = resolve_uncached(provision)?;
    if provision == Provision::CreateVenv {
        // The venv now exists with the packages, so `Find` would answer the same.
        resolved[Provision::Find as usize] = Some(python.clone());
    }
    resolved[provision as usize] = Some(python.clone());
    Ok(python)
}

fn resolve_uncached(provision: Provision) -> Result<PathBuf, PythonEnvError> {
    let root = workspace_root();
    let venv_python = root.join(".venv").join("bin").join("python3");
    if venv_python.exists() && has_packages(&venv_python) {
        return Ok(venv_python);
    }
    match provision {
        Provision::Find if venv_python.exists() => Ok(venv_python),
        Provision::Find => Ok(PathBuf::from("python3")),
        Provision::CreateVenv => create_venv(&root),
    }
}

/// The packages of [`DATA_PACKAGES`] that `python` cannot find, without importing them (a
/// few tens of milliseconds). Empty when all are there, and when `python` does not run at all
/// (starting the pool then reports that).
pub fn missing_packages(python: &Path) -> Vec<String> {
    let script = format!(
        "import importlib.util as u\nfor m in {DATA_PACKAGES:?}:\n    if u.find_spec(m) is None: print(m)"
    );
    match Command::new(python).args(["-c", &script]).output() {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout)
            .split_whitespace()
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

/// Whether `python` can import every package in [`DATA_PACKAGES`].
pub fn has_packages(python: &Path) -> bool {
    let script = format!("import {}", DATA_PACKAGES.join(", "));
    Command::new(python)
        .args(["-c", &script])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

fn workspace_root() -> PathBuf {
    let start = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let mut dir: Option<&Path> = Some(&start);
    while let Some(d) = dir {
        let manifest = d.join("Cargo.toml");
        if std::fs::read_to_string(&manifest).is_ok_and(|s| s.contains("[workspace]")) {
            return d.to_path_buf();
        }
        dir = d.parent();
    }
    start
}

fn create_venv(root: &Path) -> Result<PathBuf, PythonEnvError> {
    let venv = root.join(".venv");
    let python = venv.join("bin").join("python3");
    // An exclusive lock file: parallel test binaries wait here instead of racing pip.
    let lock_path = root.join(".venv.lock");
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| cmd_err("creating .venv.lock", e.to_string()))?;
    let _guard = FileLock::acquire(&lock)?;
    if python.exists() && has_packages(&python) {
        return Ok(python);
    }
    eprintln!(
        "sessions-emulator: creating {} with {} (one-time; set {PYTHON_ENV_VAR} to use another interpreter)",
        venv.display(),
        DATA_PACKAGES.join(", ")
    );
    if !python.exists() {
        run(
            Command::new("python3").args(["-m", "venv"]).arg(&venv),
            "python3 -m venv",
        )?;
    }
    run(
        Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
            ])
            .args(DATA_PACKAGES),
        "pip install numpy pandas matplotlib",
    )?;
    Ok(python)
}

fn run(cmd: &mut Command, what: &str) -> Result<(), PythonEnvError> {
    let out = cmd.output().map_err(|e| cmd_err(what, e.to_string()))?;
    if out.status.success() {
        Ok(())
    } else {
        let tail: String = String::from_utf8_lossy(&out.stderr)
            .lines()
            .rev()
            .take(5)
            .collect::<Vec<_>>()
            .join(" | ");
        Err(cmd_err(what, format!("{} ({tail})", out.status)))
    }
}

fn cmd_err(what: &str, detail: String) -> PythonEnvError {
    PythonEnvError::Command {
        what: what.to_owned(),
        detail,
    }
}

/// A blocking exclusive `flock` held until drop.
struct FileLock<'a>(&'a std::fs::File);

impl<'a> FileLock<'a> {
    fn acquire(file: &'a std::fs::File) -> Result<Self, PythonEnvError> {
        use std::os::fd::AsRawFd;
        // SAFETY: flock on a valid, open file descriptor owned by `file`, which outlives the guard.
        #[allow(unsafe_code)]
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) };
        if rc == 0 {
            Ok(FileLock(file))
        } else {
            Err(cmd_err(
                "locking .venv.lock",
                std::io::Error::last_os_error().to_string(),
            ))
        }
    }
}

impl Drop for FileLock<'_> {
    fn drop(&mut self) {
        use std::os::fd::AsRawFd;
        // SAFETY: as above; unlocking a descriptor we locked.
        #[allow(unsafe_code)]
        unsafe {
            libc::flock(self.0.as_raw_fd(), libc::LOCK_UN);
        }
    }
}
