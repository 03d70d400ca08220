//! Per-worker `pids` cgroups: the process/thread cap. RLIMIT_NPROC does not bind root (and
//! the sandbox's uid 0 maps to the emulator's uid), so when a pids controller is writable
//! each worker gets its own group with `pids.max`. Without one the cap is not enforced.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where per-worker groups are created.
#[derive(Debug, Clone)]
pub(crate) struct PidsController {
    base: PathBuf,
    /// "cgroup v1" or "cgroup v2", for the isolation report.
    pub(crate) kind: &'static str,
}

impl PidsController {
    /// Find a writable pids hierarchy and check that groups can be created in it.
    pub(crate) fn detect() -> Option<PidsController> {
        let v2 = PathBuf::from("/sys/fs/cgroup");
        let v2_has_pids = std::fs::read_to_string(v2.join("cgroup.subtree_control"))
            .is_ok_and(|c| c.contains("pids"));
        let candidates = [
            (PathBuf::from("/sys/fs/cgroup/pids"), "cgroup v1"),
            (v2, if v2_has_pids { "cgroup v2" } else { "" }),
        ];
        for (root, kind) in candidates {
            if kind.is_empty() || !root.join("cgroup.procs").exists() {
                continue;
            }
            let base = root.join("sessions-emulator");
            let probe = base.join(format!("probe-{}", uuid::Uuid::new_v4()));
            let works = std::fs::create_dir_all(&probe).is_ok()
                && std::fs::write(probe.join("pids.max"), "8").is_ok();
            let _ = std::fs::remove_dir(&probe);
            if works {
                remove_stale_groups(&base);
                return Some(PidsController { base, kind });
            }
        }
        None
    }

    /// Create a group for one worker allowing `max_processes` user tasks plus `overhead`
    /// tasks of our own (the sandbox's relay and pid-1 reaper).
    pub(crate) fn create(&self, max_processes: u64, overhead: u64) -> Option<PidsGroup> {
        let dir = self.base.join(uuid::Uuid::new_v4().to_string());
        std::fs::create_dir(&dir).ok()?;
        let group = PidsGroup { dir };
        let max = max_processes.saturating_add(overhead);
        std::fs::write(group.dir.join("pids.max"), max.to_string()).ok()?;
        Some(group)
    }
}

/// One worker's group; removed on drop (once its processes are gone).
#[derive(Debug)]
pub(crate) struct PidsGroup {
    dir: PathBuf,
}

impl PidsGroup {
    /// The `cgroup.procs` file the child writes its pid into before exec.
    pub(crate) fn procs_file(&self) -> Option<CString> {
        CString::new(self.dir.join("cgroup.procs").as_os_str().as_bytes()).ok()
    }
}

impl PidsGroup {
    /// The `cgroup.procs` file, for moving a forked session's relay in from outside.
    pub(crate) fn procs_path(&self) -> PathBuf {
        self.dir.join("cgroup.procs")
    }

    /// True when no task is left in the group (or it cannot be read).
    pub(crate) fn is_empty(&self) -> bool {
        std::fs::read_to_string(self.dir.join("pids.current")).map_or(true, |n| n.trim() == "0")
    }
}

impl Drop for PidsGroup {
    fn drop(&mut self) {
        if std::fs::remove_dir(&self.dir).is_ok() {
            return;
        }
        // Tasks are still exiting (a worker dropped without `shutdown`): retry in the
        // background for a few seconds rather than leak the group.
        let dir = std::mem::take(&mut self.dir);
        let _ = std::thread::Builder::new()
            .name("pids-cgroup-cleanup".into())
            .spawn(move || {
                for _ in 0..250 {
                    std::thread::sleep(Duration::from_millis(20));
                    if std::fs::remove_dir(&dir).is_ok() || !dir.exists() {
                        return;
                    }
                }
            });
    }
}

/// Remove empty groups left behind by emulators that crashed (older than a minute, so a
/// group another emulator is just setting up is never touched).
fn remove_stale_groups(base: &Path) {
    let Ok(entries) = std::fs::read_dir(base) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|t| t.elapsed().is_ok_and(|age| age > Duration::from_secs(60)));
        let empty =
            std::fs::read_to_string(path.join("pids.current")).is_ok_and(|n| n.trim() == "0");
        if entry.file_type().is_ok_and(|t| t.is_dir()) && old && empty {
            let _ = std::fs::remove_dir(&path);
        }
    }
}
