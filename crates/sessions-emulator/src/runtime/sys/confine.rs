//! Confinement applied in the interpreter just before exec: resource limits, capabilities,
//! Landlock and the seccomp filter.

use std::ffi::CStr;
use std::io;
use std::ptr;

use super::*;

/// Install a seccomp filter (no_new_privs is already set); the last step before exec.
pub(crate) fn install_seccomp(program: &[libc::sock_filter]) -> io::Result<()> {
    let prog = libc::sock_fprog {
        len: program.len() as libc::c_ushort,
        filter: program.as_ptr().cast_mut(),
    };
    // SAFETY: prctl reads `prog`, which points at `program`, alive for the call.
    check(
        unsafe {
            libc::prctl(
                libc::PR_SET_SECCOMP,
                libc::SECCOMP_MODE_FILTER,
                &prog as *const libc::sock_fprog,
            )
        },
        STEP_SECCOMP,
    )
}

/// The kernel's Landlock ABI version, 0 when it has none (or it is disabled).
pub(crate) fn landlock_abi() -> u32 {
    const LANDLOCK_CREATE_RULESET_VERSION: u32 = 1;
    // SAFETY: a NULL attribute with the VERSION flag only queries the ABI.
    let v = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            ptr::null::<u64>(),
            0usize,
            LANDLOCK_CREATE_RULESET_VERSION,
        )
    };
    u32::try_from(v).unwrap_or(0)
}

/// Landlock: writes (creating, removing, renaming, truncating) only under `/mnt/data`,
/// `/tmp`, `/dev/shm`, and writing (not creating) device files under `/dev`.
pub(super) fn restrict_writes(abi: u32) -> io::Result<()> {
    const WRITE_FILE: u64 = 1 << 1;
    // REMOVE_DIR .. MAKE_SYM.
    const CREATE_REMOVE: u64 = 0b1_1111_1111 << 4;
    const REFER: u64 = 1 << 13;
    const TRUNCATE: u64 = 1 << 14;
    const RULE_PATH_BENEATH: libc::c_int = 1;
    #[repr(C, packed)]
    struct PathBeneath {
        allowed_access: u64,
        parent_fd: i32,
    }
    let mut handled = WRITE_FILE | CREATE_REMOVE;
    if abi >= 2 {
        handled |= REFER;
    }
    if abi >= 3 {
        handled |= TRUNCATE;
    }
    let devices = handled & (WRITE_FILE | TRUNCATE);
    let rules: [(&CStr, u64); 4] = [
        (c"/mnt/data", handled),
        (c"/tmp", handled),
        (c"/dev/shm", handled),
        (c"/dev", devices),
    ];
    // SAFETY: Landlock system calls on structs and descriptors of this function.
    unsafe {
        let ruleset = libc::syscall(
            libc::SYS_landlock_create_ruleset,
            &handled as *const u64,
            std::mem::size_of::<u64>(),
            0u32,
        ) as libc::c_int;
        check(ruleset, STEP_LANDLOCK)?;
        for (path, access) in rules {
            let fd = libc::open(path.as_ptr(), libc::O_PATH | libc::O_CLOEXEC);
            check(fd, STEP_LANDLOCK)?;
            let rule = PathBeneath {
                allowed_access: access,
                parent_fd: fd,
            };
            let r = libc::syscall(
                libc::SYS_landlock_add_rule,
                ruleset,
                RULE_PATH_BENEATH,
                &rule as *const PathBeneath,
                0u32,
            ) as libc::c_int;
            libc::close(fd);
            check(r, STEP_LANDLOCK)?;
        }
        let r = libc::syscall(libc::SYS_landlock_restrict_self, ruleset, 0u32) as libc::c_int;
        libc::close(ruleset);
        check(r, STEP_LANDLOCK)
    }
}

pub(super) fn apply_limits(limits: &Limits) -> io::Result<()> {
    let set = |resource, value: u64| {
        let lim = libc::rlimit {
            rlim_cur: value,
            rlim_max: value,
        };
        // SAFETY: setrlimit with a valid struct pointer.
        check(unsafe { libc::setrlimit(resource, &lim) }, STEP_RLIMIT)
    };
    set(libc::RLIMIT_AS, limits.address_space)?;
    set(libc::RLIMIT_NPROC, limits.processes)?;
    set(libc::RLIMIT_CORE, 0)
}

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: libc::c_int,
}

#[repr(C)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// The interpreter runs as uid 0 of its user namespace (mapped to the emulator's uid):
/// drop every capability so it cannot remount, unmount or otherwise undo the sandbox.
pub(super) fn drop_capabilities() -> io::Result<()> {
    // SAFETY: prctl/capset with integer arguments and valid struct pointers.
    unsafe {
        for cap in 0..64 {
            if libc::prctl(libc::PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno() != libc::EINVAL {
                return Err(fail(STEP_CAPS));
            }
        }
        libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_CLEAR_ALL,
            0,
            0,
            0,
        );
        let header = CapHeader {
            version: 0x2008_0522,
            pid: 0,
        };
        let data = [
            CapData {
                effective: 0,
                permitted: 0,
                inheritable: 0,
            },
            CapData {
                effective: 0,
                permitted: 0,
                inheritable: 0,
            },
        ];
        check(
            libc::syscall(libc::SYS_capset, &header, data.as_ptr()) as libc::c_int,
            STEP_CAPS,
        )?;
        check(
            libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0),
            STEP_CAPS,
        )
    }
}
