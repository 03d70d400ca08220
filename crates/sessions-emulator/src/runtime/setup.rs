//! `Runtime::new`: find the interpreter's installation, then probe namespaces by starting
//! one real sandboxed kernel, degrading (or failing) when that does not work.

use std::path::PathBuf;
use std::time::Duration;

use super::sandbox::{HostIds, SandboxTemplate};
use super::sys::Limits;
use super::worker::Proc;
use super::{IsolationMode, IsolationReport, RuntimeConfig, RuntimeError, RuntimeInner};

/// Set to a non-empty value other than `0` to make the namespace probe fail (tests, CI).
pub const FORCE_DEGRADED_ENV: &str = "SESSIONS_EMULATOR_FORCE_NO_NAMESPACES";

const PROBE_TIMEOUT: Duration = Duration::from_secs(60);

/// Where the interpreter lives.
struct PythonInfo {
    executable: PathBuf,
    prefixes: Vec<PathBuf>,
}

async fn probe_python(python: &std::path::Path) -> Result<PythonInfo, RuntimeError> {
    let script = "import sys, json; print(json.dumps([sys.executable, sys.prefix, sys.base_prefix, \
                  sys.exec_prefix, sys.base_exec_prefix]))";
    let run = tokio::process::Command::new(python)
        .args(["-c", script])
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(PROBE_TIMEOUT, run)
        .await
        .map_err(|_| RuntimeError::Spawn(format!("{} did not answer", python.display())))?
        .map_err(|e| RuntimeError::Spawn(format!("{}: {e}", python.display())))?;
    let paths: Vec<String> = serde_json::from_slice(&out.stdout).map_err(|_| {
        RuntimeError::Spawn(format!("{} is not a working python3", python.display()))
    })?;
    let executable = paths
        .first()
        .filter(|p| !p.is_empty())
        .map_or_else(|| python.to_path_buf(), PathBuf::from);
    let mut prefixes: Vec<PathBuf> = Vec::new();
    for p in paths.iter().skip(1).map(PathBuf::from) {
        if !prefixes.contains(&p) {
            prefixes.push(p);
        }
    }
    // The executable may live outside the prefixes (unusual installs): expose its directory.
    let exe_dir = std::fs::canonicalize(&executable)
        .ok()
        .and_then(|e| e.parent().map(PathBuf::from));
    if let Some(dir) = exe_dir.filter(|d| !prefixes.iter().any(|p| d.starts_with(p))) {
        prefixes.push(dir);
    }
    Ok(PythonInfo {
        executable,
        prefixes,
    })
}

/// Build the runtime, probing isolation; `forced_failure` simulates an unavailable kernel.
pub(crate) async fn build(
    config: RuntimeConfig,
    forced_failure: Option<String>,
) -> Result<RuntimeInner, RuntimeError> {
    let info = probe_python(&config.python).await?;
    let limits = Limits {
        address_space: config.memory_limit_bytes,
        processes: config.max_processes,
    };
    let mut inner = RuntimeInner {
        python_exe: info.executable.clone(),
        sandbox: None,
        limits,
        pids: super::cgroup::PidsController::detect(),
        report: IsolationReport {
            namespaces: false,
            detail: String::new(),
            layers: Vec::new(),
            warnings: Vec::new(),
        },
        mpl_config_dir: None,
        template: None,
        config,
    };
    if inner.config.isolation == IsolationMode::Degraded {
        degrade(
            &mut inner,
            "degraded: namespaces disabled by configuration (isolation = degraded)".into(),
        );
        append_limits(&mut inner);
        return Ok(inner);
    }
    let forced = forced_failure.or_else(|| {
        std::env::var(FORCE_DEGRADED_ENV)
            .ok()
            .filter(|v| !v.is_empty() && v != "0")
            .map(|_| format!("namespace probe forced to fail by {FORCE_DEGRADED_ENV}"))
    });
    let probe = match forced {
        Some(reason) => Err(reason),
        None => probe_namespaces(&mut inner, &info).await,
    };
    match probe {
        Ok(()) => {
            start_template(&mut inner).await;
            append_limits(&mut inner);
            Ok(inner)
        }
        Err(reason) if inner.config.isolation == IsolationMode::Namespaces => {
            Err(RuntimeError::Isolation(reason))
        }
        Err(reason) => {
            let line = format!(
                "sessions-emulator: WARNING: Linux namespaces unavailable ({reason}); sessions are NOT isolated \
                 from each other or the host (only rlimits and a per-session working directory)"
            );
            tracing::warn!("{line}");
            eprintln!("{line}");
            degrade(&mut inner, format!("degraded: {reason}"));
            append_limits(&mut inner);
            Ok(inner)
        }
    }
}

/// Start the template sessions are forked from; when it cannot start, say why (sessions
/// then start fresh, each paying its own interpreter start-up and imports).
async fn start_template(inner: &mut RuntimeInner) {
    let (Some(slots), Some(sandbox)) = (inner.config.slots.clone(), inner.sandbox.as_ref()) else {
        return;
    };
    let preload = inner.config.preload.modules(inner.config.pool_type);
    match super::template::start(inner, sandbox, &slots, &preload).await {
        Ok(template) => {
            let what = match template.loaded.as_slice() {
                [] => "nothing preloaded".to_string(),
                loaded => format!("{} preloaded", loaded.join(", ")),
            };
            inner.report.layers.push(format!(
                "start-up: sessions forked from a template interpreter ({what}), each sandboxed like a fresh one"
            ));
            for m in &template.missing {
                inner
                    .report
                    .warnings
                    .push(format!("preload: could not import {m}"));
            }
            inner.template = Some(std::sync::Arc::new(template));
        }
        Err(why) => {
            let line = format!(
                "template: sessions start fresh interpreters ({why}); each pays its own start-up and imports"
            );
            tracing::warn!("sessions-emulator: {line}");
            inner.report.warnings.push(line);
        }
    }
}

/// Say which limits are enforced, e.g. "; limits: RLIMIT_AS 2048 MiB, pids.max 256 (cgroup v1)".
fn append_limits(inner: &mut RuntimeInner) {
    let mib = inner.config.memory_limit_bytes / (1024 * 1024);
    let pids = match &inner.pids {
        Some(c) => format!("pids.max {} ({})", inner.config.max_processes, c.kind),
        None => "process cap not enforced (no writable pids cgroup)".to_string(),
    };
    inner.report.detail = format!(
        "{}; limits: {mib} MiB for all of a session's processes with /tmp and /dev/shm, RLIMIT_AS per process, {pids}",
        inner.report.detail
    );
    inner.report.layers.push(format!(
        "memory: {mib} MiB for all of a session's processes together, /tmp and /dev/shm included (measured every 250 ms during a run, every 2 s between runs)"
    ));
    match &inner.pids {
        Some(_) => inner.report.layers.push(pids),
        None => inner.report.warnings.push(pids),
    }
    if let Some(q) = inner.config.disk_quota_bytes {
        inner
            .report
            .layers
            .push(format!("disk: soft quota of {} MiB on /mnt/data", q >> 20));
    }
}

fn degrade(inner: &mut RuntimeInner, detail: String) {
    inner.sandbox = None;
    let mut warnings = vec![detail.clone()];
    if inner.config.slots.is_some() {
        warnings.push(
            "template: sessions start fresh interpreters (without namespaces a forked session \
             could not be sandboxed); each pays its own start-up and imports"
                .to_string(),
        );
    }
    inner.report = IsolationReport {
        namespaces: false,
        warnings,
        detail,
        layers: Vec::new(),
    };
    // Share one matplotlib cache between unsandboxed workers (font cache builds are slow).
    let dir = std::env::temp_dir().join("sessions-emulator-matplotlib");
    if std::fs::create_dir_all(&dir).is_ok() {
        inner.mpl_config_dir = Some(dir.to_string_lossy().into_owned());
    }
}

/// Start one sandboxed kernel end to end; on success keep the template.
async fn probe_namespaces(inner: &mut RuntimeInner, info: &PythonInfo) -> Result<(), String> {
    let new_root = std::env::temp_dir().join("sessions-emulator-root");
    std::fs::create_dir_all(&new_root).map_err(|e| format!("{}: {e}", new_root.display()))?;
    let tmp_size = inner.config.memory_limit_bytes.clamp(16 << 20, 1 << 30);
    let template = SandboxTemplate::new(
        new_root,
        &info.prefixes,
        inner.config.network,
        inner.limits,
        tmp_size,
    );
    inner.sandbox = Some(template);
    let probe_dir =
        std::env::temp_dir().join(format!("sessions-emulator-probe-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&probe_dir).map_err(|e| format!("{}: {e}", probe_dir.display()))?;
    let result = Proc::spawn(
        inner,
        &probe_dir,
        HostIds::for_new_worker(super::sys::effective_ids()),
    )
    .await;
    let _ = std::fs::remove_dir_all(&probe_dir);
    match result {
        Ok(proc) => {
            proc.kill().await;
            let what = if inner.config.network {
                "user, mount, pid, uts, ipc, cgroup; network allowed"
            } else {
                "user, mount, net, pid, uts, ipc, cgroup"
            };
            let ids = match super::sys::effective_ids().0 {
                0 => "session root = a dedicated unprivileged host uid per session".to_string(),
                uid => format!("session root = host uid {uid}"),
            };
            let mut layers = vec![
                format!("namespaces: {what}"),
                format!("identity: {ids}, no capabilities, no_new_privs"),
                "filesystem: read-only root, /proc/sys read-only, /proc/kcore, /proc/keys and /etc/shadow masked".to_string(),
            ];
            let mut warnings = Vec::new();
            let sandbox = inner.sandbox.as_ref();
            match sandbox.and_then(|t| t.seccomp.as_ref()) {
                Some(_) => layers.push(format!(
                    "seccomp: {} system calls refused (keyrings, bpf, perf, mount, namespaces, ptrace, kexec, modules, …)",
                    super::seccomp::refused_count()
                )),
                None => warnings.push("seccomp: no filter for this architecture".to_string()),
            }
            match sandbox.map_or(0, |t| t.landlock_abi) {
                0 => warnings.push(
                    "landlock: not supported by this kernel; writes are limited by the read-only mounts only"
                        .to_string(),
                ),
                abi => layers.push(format!(
                    "landlock (ABI {abi}): writes only under /mnt/data, /tmp and /dev/shm"
                )),
            }
            for w in &warnings {
                let line = format!("sessions-emulator: WARNING: sandbox layer missing: {w}");
                tracing::warn!("{line}");
                eprintln!("{line}");
            }
            inner.report = IsolationReport {
                namespaces: true,
                layers,
                warnings,
                detail: format!(
                    "namespaces ({what}); {ids}; /proc/sys read-only, /proc/kcore and /proc/keys masked"
                ),
            };
            Ok(())
        }
        Err(e) => {
            inner.sandbox = None;
            Err(e.to_string())
        }
    }
}
