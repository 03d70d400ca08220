//! Plans the sandbox root: which host paths are bound read-only, which are fresh tmpfs,
//! and where the session's workdir appears (`/mnt/data`). The plan is built with ordinary
//! (allocating) code here; `sys` only executes it in the child.

use std::collections::HashSet;
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::sys::{Limits, MountOp, NsSetup};

/// System directories exposed read-only (or recreated as symlinks on merged-/usr systems).
const SYSTEM_DIRS: &[&str] = &[
    "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc",
];
/// Device nodes bound from the host.
const DEVICES: &[&str] = &["null", "zero", "full", "random", "urandom"];
/// Kernel settings and interfaces under `/proc` made read-only, as runc does by default.
const PROC_READ_ONLY: &[&str] = &["sys", "sysrq-trigger", "irq", "bus", "fs"];
/// Files under `/proc` (and host secrets under `/etc`) hidden behind `/dev/null`.
const MASKED_FILES: &[&str] = &[
    "/proc/kcore",
    "/proc/keys",
    "/proc/timer_list",
    "/proc/sched_debug",
    "/proc/latency_stats",
    "/etc/shadow",
    "/etc/shadow-",
    "/etc/gshadow",
    "/etc/gshadow-",
];
/// Directories under `/proc` hidden behind an empty read-only tmpfs.
const MASKED_DIRS: &[&str] = &["/proc/acpi", "/proc/scsi"];

/// First host uid/gid of the range sandboxes run as when the emulator is root; each worker
/// gets its own id, so no two sessions (and never host root) share an identity.
const SANDBOX_ID_BASE: u32 = 0x5e55_0000;
/// Size of that range.
const SANDBOX_ID_COUNT: u32 = 0x1_0000;
/// Where a template's root has the host's slot directory (sessions bind theirs from there).
pub(crate) const TEMPLATE_SLOTS: &str = "/.slots";
/// Where a template's root has an unmasked procfs, which lets a session mount its own.
const TEMPLATE_PROC: &str = "/.proc0";
/// Paths of a template's root that its forked sessions must not see (`template.py` hides
/// them).
pub(crate) const HIDDEN_IN_SESSIONS: &[&str] = &[TEMPLATE_PROC, TEMPLATE_SLOTS];

/// What a session forked from a template mounts for itself (see `template.py`).
#[derive(Debug)]
pub(crate) struct SessionPlan {
    pub(crate) tmp_size: u64,
    /// Read-only binds of the root that lie under `/tmp` or `/dev/shm` and must be bound
    /// again on the session's fresh tmpfs.
    pub(crate) tmp_binds: Vec<PathBuf>,
    pub(crate) proc_read_only: Vec<String>,
    pub(crate) masked_files: Vec<String>,
    pub(crate) masked_dirs: Vec<String>,
}

/// The host uid and gid that a sandbox's root is mapped to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct HostIds {
    pub(crate) uid: u32,
    pub(crate) gid: u32,
}

impl HostIds {
    /// Ids for a new worker: the emulator's own when it is not root, else a fresh id from
    /// the dedicated range (never host root).
    pub(crate) fn for_new_worker((uid, gid): (u32, u32)) -> HostIds {
        use std::sync::atomic::{AtomicU32, Ordering};
        static NEXT: AtomicU32 = AtomicU32::new(0);
        if uid != 0 {
            return HostIds { uid, gid };
        }
        // Start where this process's pid points, so concurrent emulators rarely overlap.
        // Offset 0 is the template's own root, never a session's.
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let id = SANDBOX_ID_BASE
            + 1
            + (std::process::id().wrapping_mul(64).wrapping_add(n)) % (SANDBOX_ID_COUNT - 1);
        HostIds { uid: id, gid: id }
    }

    /// Ids of a template's root: the start of the range (root) or the emulator's own. Its
    /// user namespace maps the whole range, so each forked session still gets its own id.
    pub(crate) fn for_template((uid, gid): (u32, u32)) -> HostIds {
        if uid != 0 {
            return HostIds { uid, gid };
        }
        HostIds {
            uid: SANDBOX_ID_BASE,
            gid: SANDBOX_ID_BASE,
        }
    }
}

/// The parts of the sandbox that are the same for every worker.
#[derive(Debug)]
pub(crate) struct SandboxTemplate {
    new_root: PathBuf,
    /// (source, path inside) pairs bound read-only.
    ro_binds: Vec<(PathBuf, PathBuf)>,
    /// (target, link) symlinks recreated inside.
    symlinks: Vec<(PathBuf, PathBuf)>,
    /// Host mount points below read-only binds, remounted read-only too.
    submounts: Vec<PathBuf>,
    tmp_size: u64,
    network: bool,
    limits: Limits,
    /// The seccomp program (None: that layer is off).
    pub(crate) seccomp: Option<Vec<libc::sock_filter>>,
    /// The Landlock ABI writes are restricted with (0: the kernel has none).
    pub(crate) landlock_abi: u32,
}

impl SandboxTemplate {
    /// Plan a root exposing the system directories and the interpreter's `prefixes`.
    pub(crate) fn new(
        new_root: PathBuf,
        prefixes: &[PathBuf],
        network: bool,
        limits: Limits,
        tmp_size: u64,
    ) -> SandboxTemplate {
        let mut ro_binds: Vec<(PathBuf, PathBuf)> = Vec::new();
        let mut symlinks = Vec::new();
        for dir in SYSTEM_DIRS.iter().map(PathBuf::from) {
            match std::fs::symlink_metadata(&dir) {
                Ok(m) if m.file_type().is_symlink() => {
                    if let Ok(target) = std::fs::read_link(&dir) {
                        symlinks.push((target, dir));
                    }
                }
                Ok(m) if m.is_dir() => ro_binds.push((dir.clone(), dir)),
                _ => {}
            }
        }
        let covered = |p: &Path, binds: &[(PathBuf, PathBuf)]| {
            binds.iter().any(|(_, inside)| p.starts_with(inside))
        };
        for prefix in prefixes {
            // Bind both the path as the interpreter reports it and its resolved form, so
            // symlinked executables (venvs, pyenv) resolve inside the sandbox too.
            let canonical = std::fs::canonicalize(prefix).unwrap_or_else(|_| prefix.clone());
            for inside in [prefix.clone(), canonical.clone()] {
                if inside.is_absolute() && !covered(&inside, &ro_binds) && canonical.is_dir() {
                    ro_binds.push((canonical.clone(), inside));
                }
            }
        }
        let submounts = host_mount_points()
            .into_iter()
            .filter(|m| {
                ro_binds
                    .iter()
                    .any(|(src, _)| m.starts_with(src) && m != src)
            })
            .collect();
        SandboxTemplate {
            new_root,
            ro_binds,
            symlinks,
            submounts,
            tmp_size,
            network,
            limits,
            seccomp: super::seccomp::program(),
            landlock_abi: super::sys::landlock_abi(),
        }
    }

    /// The full setup for a worker whose `/mnt/data` is `workdir`, plus a description of
    /// each mount step for error messages.
    pub(crate) fn setup_for(
        &self,
        workdir: &Path,
        ids: HostIds,
        cgroup_procs: Option<CString>,
    ) -> Result<(NsSetup, Vec<String>), String> {
        let workdir = std::fs::canonicalize(workdir)
            .map_err(|e| format!("workdir {}: {e}", workdir.display()))?;
        let mut plan = Plan {
            root: &self.new_root,
            ops: Vec::new(),
            what: Vec::new(),
            dirs: HashSet::new(),
        };
        for (target, link) in &self.symlinks {
            plan.push(
                MountOp::Symlink {
                    target: cstr(target)?,
                    link: plan.inside(link)?,
                },
                format!("symlink {}", link.display()),
            );
        }
        // The private /tmp and /dev/shm come before the read-only binds: an interpreter that
        // lives under /tmp on the host (a venv in a checkout there, as on CI) is then bound on
        // top of the fresh tmpfs instead of being hidden by it.
        plan.tmpfs(Path::new("/dev/shm"), "mode=1777,size=64m".to_string())?;
        plan.tmpfs(
            Path::new("/tmp"),
            format!("mode=1777,size={}", self.tmp_size),
        )?;
        for (src, inside) in &self.ro_binds {
            plan.dirs(inside)?;
            let op = MountOp::Bind {
                src: cstr(src)?,
                dst: plan.inside(inside)?,
                read_only: true,
            };
            plan.push(op, format!("bind {} read-only", src.display()));
        }
        for m in &self.submounts {
            for (src, inside) in &self.ro_binds {
                if let Ok(rest) = m.strip_prefix(src) {
                    let dst = plan.inside(&inside.join(rest))?;
                    plan.push(
                        MountOp::RemountRo(dst),
                        format!("remount {} read-only", m.display()),
                    );
                }
            }
        }
        plan.dirs(Path::new("/dev"))?;
        for dev in DEVICES {
            let host = Path::new("/dev").join(dev);
            if host.exists() {
                plan.push(
                    MountOp::File(plan.inside(&host)?),
                    format!("create {}", host.display()),
                );
                let op = MountOp::Bind {
                    src: cstr(&host)?,
                    dst: plan.inside(&host)?,
                    read_only: false,
                };
                plan.push(op, format!("bind {}", host.display()));
            }
        }
        for (target, link) in [
            ("/proc/self/fd", "fd"),
            ("/proc/self/fd/0", "stdin"),
            ("/proc/self/fd/1", "stdout"),
            ("/proc/self/fd/2", "stderr"),
        ] {
            let op = MountOp::Symlink {
                target: cstr(Path::new(target))?,
                link: plan.inside(&Path::new("/dev").join(link))?,
            };
            plan.push(op, format!("symlink /dev/{link}"));
        }
        plan.dirs(Path::new("/proc"))?;
        plan.push(
            MountOp::Proc(plan.inside(Path::new("/proc"))?),
            "mount /proc".to_string(),
        );
        plan.proc_masks()?;
        for file in MASKED_FILES.iter().map(Path::new) {
            if file.starts_with("/etc")
                && std::fs::symlink_metadata(file).is_ok_and(|m| m.is_file())
            {
                plan.mask_file(file)?;
            }
        }
        plan.dirs(Path::new("/mnt/data"))?;
        let op = MountOp::Bind {
            src: cstr(&workdir)?,
            dst: plan.inside(Path::new("/mnt/data"))?,
            read_only: false,
        };
        plan.push(op, format!("bind {} at /mnt/data", workdir.display()));
        let setup = NsSetup {
            new_root: cstr(&self.new_root)?,
            src_fds: vec![-1; plan.ops.len()],
            ops: plan.ops,
            network: self.network,
            uid_map: format!("0 {} 1\n", ids.uid).into_bytes(),
            gid_map: format!("0 {} 1\n", ids.gid).into_bytes(),
            drop_groups: super::sys::effective_ids().0 == 0,
            limits: self.limits,
            cgroup_procs,
            seccomp: self.seccomp.clone(),
            landlock_abi: self.landlock_abi,
            confine: true,
        };
        Ok((setup, plan.what))
    }

    /// The setup of a template interpreter: a worker's root plus the host's slot directory
    /// at `/.slots` and an unmasked procfs at `/.proc0` (the kernel lets a session mount a
    /// procfs of its own only where a fully visible one exists), a user namespace mapping
    /// the whole id range, and no confinement: the template never runs user code, and its
    /// forks need their capabilities to build their own sandboxes.
    pub(crate) fn setup_for_template(
        &self,
        workdir: &Path,
        base: HostIds,
        slots: &Path,
    ) -> Result<(NsSetup, Vec<String>), String> {
        let (mut setup, mut what) = self.setup_for(workdir, base, None)?;
        let mut plan = Plan {
            root: &self.new_root,
            ops: Vec::new(),
            what: Vec::new(),
            dirs: HashSet::new(),
        };
        let (slots_inside, proc0) = (Path::new(TEMPLATE_SLOTS), Path::new(TEMPLATE_PROC));
        plan.dirs(slots_inside)?;
        let bind = MountOp::Bind {
            src: cstr(slots)?,
            dst: plan.inside(slots_inside)?,
            read_only: false,
        };
        plan.push(
            bind,
            format!("bind {} at {TEMPLATE_SLOTS}", slots.display()),
        );
        plan.dirs(proc0)?;
        plan.push(
            MountOp::Proc(plan.inside(proc0)?),
            format!("mount {TEMPLATE_PROC}"),
        );
        setup.src_fds.extend(plan.ops.iter().map(|_| -1));
        setup.ops.extend(plan.ops);
        what.extend(plan.what);
        let count = if base.uid == SANDBOX_ID_BASE {
            SANDBOX_ID_COUNT
        } else {
            1
        };
        setup.uid_map = format!("0 {} {count}\n", base.uid).into_bytes();
        setup.gid_map = format!("0 {} {count}\n", base.gid).into_bytes();
        setup.seccomp = None;
        setup.landlock_abi = 0;
        setup.confine = false;
        Ok((setup, what))
    }

    /// What a session forked from a template mounts for itself.
    pub(crate) fn session_plan(&self) -> SessionPlan {
        let existing = |paths: &mut dyn Iterator<Item = PathBuf>| -> Vec<String> {
            paths
                .filter(|p| p.exists())
                .map(|p| p.to_string_lossy().into_owned())
                .collect()
        };
        SessionPlan {
            tmp_size: self.tmp_size,
            tmp_binds: self
                .ro_binds
                .iter()
                .map(|(_, inside)| inside.clone())
                .filter(|p| p.starts_with("/tmp") || p.starts_with("/dev/shm"))
                .collect(),
            proc_read_only: existing(
                &mut PROC_READ_ONLY.iter().map(|n| Path::new("/proc").join(n)),
            ),
            masked_files: existing(
                &mut MASKED_FILES
                    .iter()
                    .map(PathBuf::from)
                    .filter(|p| p.starts_with("/proc")),
            ),
            masked_dirs: existing(&mut MASKED_DIRS.iter().map(PathBuf::from)),
        }
    }
}

struct Plan<'a> {
    root: &'a Path,
    ops: Vec<MountOp>,
    what: Vec<String>,
    dirs: HashSet<PathBuf>,
}

impl Plan<'_> {
    fn inside(&self, p: &Path) -> Result<CString, String> {
        let rel = p.strip_prefix("/").unwrap_or(p);
        cstr(&self.root.join(rel))
    }

    fn push(&mut self, op: MountOp, what: String) {
        self.ops.push(op);
        self.what.push(what);
    }

    /// mkdir every component of `p` inside the new root.
    fn dirs(&mut self, p: &Path) -> Result<(), String> {
        let mut ancestors: Vec<&Path> = p.ancestors().filter(|a| a.parent().is_some()).collect();
        ancestors.reverse();
        for a in ancestors {
            if self.dirs.insert(a.to_path_buf()) {
                let op = MountOp::Dir(self.inside(a)?);
                self.push(op, format!("mkdir {}", a.display()));
            }
        }
        Ok(())
    }

    /// Read-only kernel interfaces and masked files of the fresh `/proc` (those this kernel has).
    fn proc_masks(&mut self) -> Result<(), String> {
        for name in PROC_READ_ONLY {
            let p = Path::new("/proc").join(name);
            if p.exists() {
                let op = MountOp::ReadOnly(self.inside(&p)?);
                self.push(op, format!("make {} read-only", p.display()));
            }
        }
        for file in MASKED_FILES.iter().map(Path::new) {
            if file.starts_with("/proc") && file.exists() {
                self.mask_file(file)?;
            }
        }
        for dir in MASKED_DIRS.iter().map(Path::new) {
            if dir.is_dir() {
                let dst = self.inside(dir)?;
                let opts = c"size=4k,mode=0555".to_owned();
                self.push(
                    MountOp::Tmpfs {
                        dst: dst.clone(),
                        opts,
                    },
                    format!("mask {}", dir.display()),
                );
                self.push(
                    MountOp::RemountRo(dst),
                    format!("mask {} read-only", dir.display()),
                );
            }
        }
        Ok(())
    }

    /// Hide a file behind `/dev/null`.
    fn mask_file(&mut self, file: &Path) -> Result<(), String> {
        let op = MountOp::Bind {
            src: c"/dev/null".to_owned(),
            dst: self.inside(file)?,
            read_only: true,
        };
        self.push(op, format!("mask {}", file.display()));
        Ok(())
    }

    fn tmpfs(&mut self, p: &Path, opts: String) -> Result<(), String> {
        self.dirs(p)?;
        let opts = CString::new(opts).map_err(|e| e.to_string())?;
        self.push(
            MountOp::Tmpfs {
                dst: self.inside(p)?,
                opts,
            },
            format!("mount tmpfs at {}", p.display()),
        );
        Ok(())
    }
}

fn cstr(p: &Path) -> Result<CString, String> {
    CString::new(p.as_os_str().as_bytes())
        .map_err(|_| format!("path contains NUL: {}", p.display()))
}

/// Mount points of the host (field 5 of /proc/self/mountinfo, octal escapes decoded).
fn host_mount_points() -> Vec<PathBuf> {
    let Ok(info) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return Vec::new();
    };
    info.lines()
        .filter_map(|line| line.split(' ').nth(4))
        .map(|m| PathBuf::from(std::ffi::OsStr::from_bytes(&unescape_mount_path(m))))
        .collect()
}

fn unescape_mount_path(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let octal = b
            .get(i + 1..i + 4)
            .filter(|d| b[i] == b'\\' && d.iter().all(|c| (b'0'..=b'7').contains(c)));
        if let Some(d) = octal {
            out.push(
                d.iter()
                    .fold(0u8, |acc, c| acc.wrapping_mul(8).wrapping_add(c - b'0')),
            );
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_root_is_never_host_root() {
        // As a normal user: that user. As root: a dedicated id, a new one per worker.
        assert_eq!(
            HostIds::for_new_worker((1000, 1001)),
            HostIds {
                uid: 1000,
                gid: 1001
            }
        );
        let a = HostIds::for_new_worker((0, 0));
        let b = HostIds::for_new_worker((0, 0));
        for ids in [a, b] {
            assert!(
                ids.uid >= SANDBOX_ID_BASE && ids.gid >= SANDBOX_ID_BASE,
                "{ids:?}"
            );
        }
        assert_ne!(a, b);
    }

    #[test]
    fn mountinfo_escapes_are_decoded() {
        assert_eq!(unescape_mount_path("/a\\040b"), b"/a b");
        assert_eq!(unescape_mount_path("/plain"), b"/plain");
    }

    #[test]
    fn a_prefix_under_tmp_is_bound_after_the_private_tmp() {
        // Regression: CI clones under /tmp, so the venv lived under /tmp and the private tmpfs
        // mounted later hid it (the interpreter failed to start and isolation degraded).
        let limits = Limits {
            address_space: 1 << 30,
            processes: 64,
        };
        let venv = std::env::temp_dir().join(format!("venv-plan-{}", std::process::id()));
        std::fs::create_dir_all(&venv).unwrap();
        let t = SandboxTemplate::new(
            PathBuf::from("/nonexistent-root"),
            std::slice::from_ref(&venv),
            false,
            limits,
            1 << 20,
        );
        let (_, what) = t
            .setup_for(&venv, HostIds::for_new_worker((0, 0)), None)
            .unwrap();
        let tmpfs = what
            .iter()
            .position(|w| w == "mount tmpfs at /tmp")
            .unwrap();
        let bind = what
            .iter()
            .position(|w| w == &format!("bind {} read-only", venv.display()))
            .unwrap();
        std::fs::remove_dir_all(&venv).unwrap();
        assert!(tmpfs < bind, "{what:#?}");
    }

    #[test]
    fn plan_binds_workdir_and_prefixes() {
        let limits = Limits {
            address_space: 1 << 30,
            processes: 64,
        };
        let dir = std::env::temp_dir();
        let t = SandboxTemplate::new(
            PathBuf::from("/nonexistent-root"),
            std::slice::from_ref(&dir),
            false,
            limits,
            1 << 20,
        );
        let (setup, what) = t
            .setup_for(&dir, HostIds::for_new_worker((0, 0)), None)
            .unwrap();
        assert_eq!(setup.ops.len(), what.len());
        assert!(what.iter().any(|w| w.ends_with("at /mnt/data")));
        assert!(what.iter().any(|w| w == "mount /proc"));
    }
}
