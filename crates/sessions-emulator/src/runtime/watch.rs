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
/// While no run is in progress, memory is looked at every this many ticks (2 s).
const IDLE_EVERY: u32 = 8;
/// Every this many ticks (128 s) every process is measured again even if nothing seems changed.
const FULL_EVERY: u32 = 512;
/// Disk usage is measured every this many ticks during a run (2 s; walking the directory
/// costs more), and every DISK_IDLE_EVERY ticks (8 s) between runs.
const DISK_EVERY: u32 = 8;
const DISK_IDLE_EVERY: u32 = 32;
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
    /// Notified when a run starts.
    pub(crate) started: Arc<tokio::sync::Notify>,
}

/// Watch `tree` until it is gone.
pub(crate) fn spawn(tree: Weak<Tree>, watch: Watch) {
    let Ok(handle) = tokio::runtime::Handle::try_current() else {
        return;
    };
    handle.spawn(async move {
        let mut last_disk = 0u64;
        let mut cache = Cache::new();
        let mut since_full: u32 = 0;
        let mut since_disk: u32 = 0;
        loop {
            // Between runs a session is measured every IDLE_EVERY ticks, and only in full when
            // something changed: with a thousand idle sessions the pool's CPU stays low, and
            // what runs between requests is still caught. A run wakes the watch at once.
            let running = watch.running.load(Ordering::Relaxed);
            let period = if running { TICK } else { TICK * IDLE_EVERY };
            tokio::select! {
                () = tokio::time::sleep(period) => {}
                () = watch.started.notified() => {}
            }
            let Some(tree) = tree.upgrade() else { break };
            if !tree.alive() {
                break;
            }
            let ticks = if running { 1 } else { IDLE_EVERY };
            since_full += ticks;
            since_disk += ticks;
            let full = since_full >= FULL_EVERY;
            if full {
                since_full = 0;
            }
            let used = measure(&tree, &mut cache, full);
            if used > watch.memory_limit {
                watch.memory_exceeded.store(true, Ordering::Relaxed);
                tree.kill();
                break;
            }
            let disk_due = since_disk >= if running { DISK_EVERY } else { DISK_IDLE_EVERY };
            if let Some(quota) = watch.disk_quota.filter(|_| disk_due) {
                since_disk = 0;
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

/// What the last measurement saw of each process: its resident pages (`statm`, cheap to
/// read) and what it held (`smaps_rollup`, costly for a big process).
type Cache = Vec<(i32, u64, u64)>;

/// The tree's memory as `memory_of` counts it. A process whose resident size did not change
/// since the last look is not read again, unless `full`: its proportional share can also move
/// when others sharing its pages end, so `full` comes every FULL_EVERY ticks.
fn measure(tree: &Tree, cache: &mut Cache, full: bool) -> u64 {
    let pids = tree.pids();
    let mut next = Vec::with_capacity(pids.len());
    let mut total = tmpfs_of(tree, &pids);
    for pid in pids {
        let resident = resident_pages(pid);
        let held = match cache.iter().find(|(p, r, _)| *p == pid && *r == resident) {
            Some((_, _, held)) if !full => *held,
            _ => private_memory(pid),
        };
        next.push((pid, resident, held));
        total = total.saturating_add(held);
    }
    *cache = next;
    total
}

/// Resident pages of a process (the second field of `/proc/<pid>/statm`), 0 when gone.
fn resident_pages(pid: i32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/statm"))
        .ok()
        .and_then(|t| t.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0)
}

/// Bytes the tree holds: anonymous and shared memory of every process, plus the private
/// `/tmp` and `/dev/shm` (tmpfs lives in RAM).
#[cfg(feature = "test-internals")]
pub(crate) fn memory_of(tree: &Tree) -> u64 {
    measure(tree, &mut Cache::new(), true)
}

/// Bytes used in the session's private `/tmp` and `/dev/shm` (seen through its init's root).
fn tmpfs_of(tree: &Tree, pids: &[i32]) -> u64 {
    let mut total = 0u64;
    if let Some(init) = tree.init_in(pids) {
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
