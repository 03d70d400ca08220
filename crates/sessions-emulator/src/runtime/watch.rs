//! The memory and disk watch: one cap for all of a session's processes together, `/tmp` and
//! shared memory included, and a soft disk quota on `/mnt/data`, for kernels where the pool
//! has no cgroup memory controller of its own. Every `TICK` it sums what the session's
//! processes hold and ends the tree when the sum passes the cap.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use super::worker::Tree;

/// How often memory is measured.
const TICK: Duration = Duration::from_millis(250);
/// While no run is in progress, memory is measured every this many ticks (2 s).
const IDLE_EVERY: u32 = 8;
/// Disk usage is measured every this many ticks (walking the directory costs more).
const DISK_EVERY: u32 = 8;
/// Most directory entries one disk measurement visits.
const DISK_ENTRIES: usize = 200_000;

/// What a watch enforces and where it reports.
#[derive(Debug, Clone)]
pub(crate) struct Watch {
    pub(crate) memory_limit: u64,
    pub(crate) workdir: PathBuf,
    pub(crate) disk_quota: Option<u64>,
    /// Set when the watch ended the tree for memory.
    pub(crate) memory_exceeded: Arc<AtomicBool>,
    /// Set when the watch ended the tree for disk.
    pub(crate) disk_exceeded: Arc<AtomicBool>,
    /// Set while a run is in progress.
    pub(crate) running: Arc<AtomicBool>,
}

/// Watch `tree` until it is gone.
pub(crate) fn spawn(tree: Weak<Tree>, watch: Watch) {
    let Ok(handle) = tokio::runtime::Handle::try_current() else {
        return;
    };
    handle.spawn(async move {
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut n: u32 = 0;
        let mut last_disk = 0u64;
        loop {
            tick.tick().await;
            let Some(tree) = tree.upgrade() else { break };
            if !tree.alive() {
                break;
            }
            n = n.wrapping_add(1);
            // An idle session is measured every IDLE_EVERY ticks: with a thousand of them the
            // pool's idle CPU stays low, and what runs between requests is still caught.
            if !watch.running.load(Ordering::Relaxed) && !n.is_multiple_of(IDLE_EVERY) {
                continue;
            }
            let used = memory_of(&tree);
            if used > watch.memory_limit {
                watch.memory_exceeded.store(true, Ordering::Relaxed);
                tree.kill();
                break;
            }
            if let Some(quota) = watch.disk_quota.filter(|_| n.is_multiple_of(DISK_EVERY)) {
                let dir = watch.workdir.clone();
                let disk = tokio::task::spawn_blocking(move || disk_usage(&dir))
                    .await
                    .unwrap_or(0);
                // Only a session that is still writing past its quota is stopped, so code
                // that deletes files to get under it can still run.
                if disk > quota && disk > last_disk {
                    watch.disk_exceeded.store(true, Ordering::Relaxed);
                    tree.kill();
                    break;
                }
                last_disk = disk;
            }
        }
    });
}

/// Bytes the tree holds: anonymous and shared memory of every process, plus the private
/// `/tmp` and `/dev/shm` (tmpfs lives in RAM).
pub(crate) fn memory_of(tree: &Tree) -> u64 {
    let pids = tree.pids();
    let mut total: u64 = pids.iter().map(|p| private_memory(*p)).sum();
    if tree.sandboxed
        && let Some(init) = pids.get(1)
    {
        for dir in ["tmp", "dev/shm"] {
            total = total.saturating_add(tmpfs_used(&format!("/proc/{init}/root/{dir}")));
        }
    }
    total
}

/// Proportional anonymous + shared-memory pages of one process, in bytes.
fn private_memory(pid: i32) -> u64 {
    let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")) else {
        return 0;
    };
    text.lines()
        .filter(|l| l.starts_with("Pss_Anon:") || l.starts_with("Pss_Shmem:"))
        .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        .sum::<u64>()
        * 1024
}

fn tmpfs_used(path: &str) -> u64 {
    match rustix::fs::statvfs(path) {
        Ok(st) => st.f_blocks.saturating_sub(st.f_bfree) * st.f_frsize,
        Err(_) => 0,
    }
}

/// Bytes of the files under `dir` (allocated blocks), links not followed, bounded.
pub(crate) fn disk_usage(dir: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let mut total = 0u64;
    let mut seen = 0usize;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            seen += 1;
            if seen > DISK_ENTRIES {
                return total;
            }
            let Ok(md) = e.metadata() else { continue };
            total = total.saturating_add(md.blocks() * 512);
            if md.is_dir() {
                stack.push(e.path());
            }
        }
    }
    total
}
