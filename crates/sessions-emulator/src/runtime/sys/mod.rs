//! Every unsafe call of the runtime lives here (with its submodules `idmap`, `mounts`,
//! `confine`, `signal`): the code that runs in the forked child
//! before `exec` (namespaces, mounts, rlimits, capabilities) and a few signal helpers.
//!
//! Code in `pre_exec` runs after `fork` in a multi-threaded parent, so it must only make
//! raw system calls on data prepared before the fork: no allocation, no locks, no panics.
#![allow(unsafe_code)]

use std::ffi::{CStr, CString};
use std::io;
use std::ptr;

/// Resource limits applied to the interpreter process just before `exec`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// RLIMIT_AS in bytes.
    pub(crate) address_space: u64,
    /// RLIMIT_NPROC (only effective for non-root uids).
    pub(crate) processes: u64,
}

/// One step of building the sandbox root; paths are absolute host paths inside the new root.
#[derive(Debug)]
pub(crate) enum MountOp {
    /// mkdir (existing is fine).
    Dir(CString),
    /// An empty file to bind a device node onto.
    File(CString),
    /// A symlink `link -> target`.
    Symlink { target: CString, link: CString },
    /// A fresh tmpfs with these mount options.
    Tmpfs { dst: CString, opts: CString },
    /// A recursive bind mount, optionally remounted read-only.
    Bind {
        src: CString,
        dst: CString,
        read_only: bool,
    },
    /// Remount an existing (sub)mount read-only.
    RemountRo(CString),
    /// Bind a path of the new root onto itself read-only.
    ReadOnly(CString),
    /// A fresh procfs for the new pid namespace.
    Proc(CString),
}

/// Everything the child needs to enter its namespaces and pivot into its root.
#[derive(Debug)]
pub(crate) struct NsSetup {
    /// Empty host directory the new root tmpfs is mounted on.
    pub(crate) new_root: CString,
    /// Steps to populate the new root, in order.
    pub(crate) ops: Vec<MountOp>,
    /// Keep the host network namespace.
    pub(crate) network: bool,
    /// Contents for the sandbox's uid_map and gid_map (`0 <host id> 1`): its root is an
    /// unprivileged host uid, never host root.
    pub(crate) uid_map: Vec<u8>,
    pub(crate) gid_map: Vec<u8>,
    /// Drop the supplementary groups first (the emulator runs as root: group 0 must not
    /// follow the session into its namespace).
    pub(crate) drop_groups: bool,
    pub(crate) limits: Limits,
    /// A `cgroup.procs` file to join first (the pids cap), when available.
    pub(crate) cgroup_procs: Option<CString>,
    /// The seccomp program installed just before exec, when the layer is on.
    pub(crate) seccomp: Option<Vec<libc::sock_filter>>,
    /// The Landlock ABI to restrict writes with (0: the kernel has none).
    pub(crate) landlock_abi: u32,
    /// Drop capabilities, set no_new_privs and apply Landlock and seccomp (false only for a
    /// template interpreter, whose forks build their own sandbox).
    pub(crate) confine: bool,
    /// One slot per op: an `O_PATH` descriptor of a bind's host source, opened while we
    /// still have the emulator's file-system uid (filled in the child; -1 when unused).
    pub(crate) src_fds: Vec<libc::c_int>,
}

// Failing steps are reported through the exec-error pipe as `step * 1000 + errno`.
const STEP_UNSHARE: i32 = 1;
const STEP_SETGROUPS: i32 = 2;
const STEP_UID_MAP: i32 = 3;
const STEP_GID_MAP: i32 = 4;
const STEP_LOOPBACK: i32 = 5;
const STEP_FORK: i32 = 6;
const STEP_PRIVATE: i32 = 7;
const STEP_ROOT_TMPFS: i32 = 8;
const STEP_PIVOT: i32 = 9;
const STEP_CHDIR: i32 = 10;
const STEP_RLIMIT: i32 = 11;
const STEP_CAPS: i32 = 12;
const STEP_CGROUP: i32 = 13;
const STEP_SETID: i32 = 14;
const STEP_HOSTNAME: i32 = 15;
const STEP_LANDLOCK: i32 = 16;
const STEP_SECCOMP: i32 = 17;
/// Mount operation `i` fails as step `STEP_OPS + i`.
const STEP_OPS: i32 = 100;

/// Explain a spawn error produced by the sandbox child; `ops` describes the mount steps.
pub(crate) fn describe_spawn_error(err: &io::Error, ops: &[String]) -> String {
    let Some(code) = err.raw_os_error().filter(|c| *c >= 1000) else {
        return err.to_string();
    };
    let (step, errno) = (code / 1000, code % 1000);
    let what = match step {
        STEP_UNSHARE => "unshare(user, mount, pid, net, uts, ipc, cgroup)".to_string(),
        STEP_SETGROUPS => "write /proc/self/setgroups".to_string(),
        STEP_UID_MAP => "write /proc/self/uid_map".to_string(),
        STEP_GID_MAP => "write /proc/self/gid_map".to_string(),
        STEP_LOOPBACK => "bring up loopback".to_string(),
        STEP_FORK => "fork the namespace init".to_string(),
        STEP_PRIVATE => "make mounts private".to_string(),
        STEP_ROOT_TMPFS => "mount the root tmpfs".to_string(),
        STEP_PIVOT => "pivot_root".to_string(),
        STEP_CHDIR => "chdir /mnt/data".to_string(),
        STEP_RLIMIT => "setrlimit".to_string(),
        STEP_CAPS => "drop capabilities".to_string(),
        STEP_CGROUP => "join the pids cgroup".to_string(),
        STEP_SETID => "become root of the user namespace (setresuid/setgroups)".to_string(),
        STEP_HOSTNAME => "set the sandbox hostname".to_string(),
        STEP_LANDLOCK => "restrict writes with Landlock".to_string(),
        STEP_SECCOMP => "install the seccomp filter".to_string(),
        s if s >= STEP_OPS => ops
            .get((s - STEP_OPS) as usize)
            .cloned()
            .unwrap_or_else(|| format!("mount step {}", s - STEP_OPS)),
        s => format!("step {s}"),
    };
    format!("{what}: {}", io::Error::from_raw_os_error(errno))
}

fn fail(step: i32) -> io::Error {
    let errno = io::Error::last_os_error().raw_os_error().unwrap_or(0);
    io::Error::from_raw_os_error(step * 1000 + errno.clamp(0, 999))
}

fn check(ret: libc::c_int, step: i32) -> io::Result<()> {
    if ret < 0 { Err(fail(step)) } else { Ok(()) }
}

fn errno() -> i32 {
    io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

/// Run the worker in fresh user, mount, pid, uts, ipc, cgroup (and net) namespaces with a
/// pivoted root, its root mapped to `setup.uid_map`'s unprivileged host uid.
///
/// Process layout: the spawned child (host side) only relays the exit status of the
/// namespace init; the init (pid 1) reaps orphans; its child execs the interpreter.
pub(crate) fn install_namespaces(cmd: &mut tokio::process::Command, setup: NsSetup) {
    // SAFETY: the closure runs in the forked child before exec and only performs raw
    // system calls on `setup`, which was fully built before the fork.
    unsafe {
        let mut setup = setup;
        cmd.pre_exec(move || enter_sandbox(&mut setup));
    }
}

/// Degraded mode: only join the pids cgroup and apply resource limits before exec.
pub(crate) fn install_limits(
    cmd: &mut tokio::process::Command,
    limits: Limits,
    cgroup_procs: Option<CString>,
) {
    // SAFETY: only open/write/setrlimit system calls on data prepared before the fork.
    unsafe {
        cmd.pre_exec(move || {
            join_cgroup(cgroup_procs.as_deref())?;
            apply_limits(&limits)
        });
    }
}

/// Move this process into a cgroup by writing its pid (formatted without allocating).
fn join_cgroup(procs: Option<&CStr>) -> io::Result<()> {
    let Some(procs) = procs else { return Ok(()) };
    let mut buf = [0u8; 12];
    // SAFETY: getpid cannot fail.
    let pid = decimal(&mut buf, unsafe { libc::getpid() } as u32);
    write_file(procs, pid, STEP_CGROUP)
}

/// The concatenation of `parts` as a C string in `buf` (cut to fit), without allocating.
fn join_cstr<'a>(buf: &'a mut [u8; 64], parts: &[&[u8]]) -> &'a CStr {
    let mut len = 0;
    for part in parts {
        let end = (len + part.len()).min(buf.len() - 1);
        buf[len..end].copy_from_slice(&part[..end - len]);
        len = end;
    }
    buf[len] = 0;
    CStr::from_bytes_until_nul(&buf[..=len]).unwrap_or(c"")
}

/// `n` in decimal, formatted into `buf` without allocating.
fn decimal(buf: &mut [u8; 12], mut n: u32) -> &[u8] {
    let mut start = buf.len();
    loop {
        start -= 1;
        buf[start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 || start == 0 {
            break;
        }
    }
    &buf[start..]
}

fn enter_sandbox(s: &mut NsSetup) -> io::Result<()> {
    // Join the pids cgroup before forking anything, so every descendant is counted.
    join_cgroup(s.cgroup_procs.as_deref())?;
    if s.drop_groups {
        // SAFETY: setgroups with an empty list.
        check(unsafe { libc::setgroups(0, ptr::null()) }, STEP_SETID)?;
    }
    // Only a process left in the host's user namespace may map the sandbox's root to an
    // arbitrary host uid: fork a helper that stays outside and writes our maps.
    let mapper = MapperPipe::new()?;
    // SAFETY: getpid cannot fail.
    let me = unsafe { libc::getpid() };
    // SAFETY: fork in a single-threaded child; the helper only makes raw calls and _exits.
    let helper = unsafe { libc::fork() };
    if helper < 0 {
        return Err(fail(STEP_FORK));
    }
    if helper == 0 {
        mapper.run_helper(me, s);
    }
    let flags = namespace_flags(s.network);
    // SAFETY: plain system call; the child is single-threaded as unshare(NEWUSER) requires.
    let mut ret = unsafe { libc::unshare(flags) };
    if ret != 0 && errno() == libc::EINVAL {
        // Kernels without cgroup namespaces.
        // SAFETY: as above.
        ret = unsafe { libc::unshare(flags & !libc::CLONE_NEWCGROUP) };
    }
    if ret != 0 {
        let err = fail(STEP_UNSHARE);
        mapper.abandon(helper);
        return Err(err);
    }
    mapper.wait_mapped(helper)?;
    let name = b"session";
    // SAFETY: sethostname with a valid buffer; the UTS namespace is our own.
    check(
        unsafe { libc::sethostname(name.as_ptr().cast(), name.len()) },
        STEP_HOSTNAME,
    )?;
    if !s.network {
        loopback_up()?;
    }
    // A new pid namespace applies to children only: fork its init.
    // SAFETY: fork in a single-threaded child; the parent branch never returns.
    let init = unsafe { libc::fork() };
    if init < 0 {
        return Err(fail(STEP_FORK));
    }
    if init > 0 {
        relay_exit(init);
    }
    set_parent_death_signal();
    // Open bind sources while our file-system uid is still the emulator's: host directories
    // only it may enter (a 0700 checkout, a temporary directory) can then be bound.
    open_sources(s)?;
    // From here on we are the namespace's root, which is the sandbox's host uid (files we
    // create must belong to a uid mapped in the namespace).
    // SAFETY: setresgid/setresuid to ids mapped in our own user namespace.
    unsafe {
        check(libc::setresgid(0, 0, 0), STEP_SETID)?;
        check(libc::setresuid(0, 0, 0), STEP_SETID)?;
    }
    // A change of credentials clears the parent-death signal.
    set_parent_death_signal();
    build_root(s)?;
    // SAFETY: as above; pid 1 stays behind as a reaper.
    let interp = unsafe { libc::fork() };
    if interp < 0 {
        return Err(fail(STEP_FORK));
    }
    if interp > 0 {
        reap_until(interp);
    }
    set_parent_death_signal();
    if !s.confine {
        // A template keeps the emulator's limits: its forks set their own.
        return Ok(());
    }
    apply_limits(&s.limits)?;
    drop_capabilities()?;
    if s.landlock_abi > 0 {
        restrict_writes(s.landlock_abi)?;
    }
    match &s.seccomp {
        Some(program) => install_seccomp(program),
        None => Ok(()),
    }
}

/// The namespaces a session gets: user, mount, pid, UTS, IPC, cgroup, and net unless
/// `network` (a fresh worker's `enter_sandbox` and a forked session's `template.py`).
pub(crate) fn namespace_flags(network: bool) -> libc::c_int {
    let flags = libc::CLONE_NEWUSER
        | libc::CLONE_NEWNS
        | libc::CLONE_NEWPID
        | libc::CLONE_NEWUTS
        | libc::CLONE_NEWIPC
        | libc::CLONE_NEWCGROUP;
    if network {
        flags
    } else {
        flags | libc::CLONE_NEWNET
    }
}

fn set_parent_death_signal() {
    // SAFETY: prctl with integer arguments only.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
    }
}

fn write_file(path: &CStr, data: &[u8], step: i32) -> io::Result<()> {
    // SAFETY: valid NUL-terminated path and buffer; the fd is closed before returning.
    unsafe {
        let fd = libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
        if fd < 0 {
            return Err(fail(step));
        }
        let n = libc::write(fd, data.as_ptr().cast(), data.len());
        let err = fail(step);
        libc::close(fd);
        if n != data.len() as isize {
            Err(err)
        } else {
            Ok(())
        }
    }
}

/// A new network namespace has only a down loopback; bring it up so 127.0.0.1 works.
fn loopback_up() -> io::Result<()> {
    // SAFETY: ifreq is plain data (zeroed is valid); ioctls get a pointer to it.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
        if fd < 0 {
            return Err(fail(STEP_LOOPBACK));
        }
        let mut req: libc::ifreq = std::mem::zeroed();
        req.ifr_name[0] = b'l' as libc::c_char;
        req.ifr_name[1] = b'o' as libc::c_char;
        let mut ok = libc::ioctl(fd, libc::SIOCGIFFLAGS as libc::Ioctl, &mut req) == 0;
        if ok {
            req.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
            ok = libc::ioctl(fd, libc::SIOCSIFFLAGS as libc::Ioctl, &req) == 0;
        }
        let err = fail(STEP_LOOPBACK);
        libc::close(fd);
        if ok { Ok(()) } else { Err(err) }
    }
}

fn close_all_fds() {
    // SAFETY: closing descriptors this process owns; falls back to a loop on old kernels.
    unsafe {
        if libc::syscall(libc::SYS_close_range, 0u32, u32::MAX, 0u32) != 0 {
            for fd in 0..4096 {
                libc::close(fd);
            }
        }
    }
}

fn exit_code(status: libc::c_int) -> libc::c_int {
    if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else if libc::WIFSIGNALED(status) {
        128 + libc::WTERMSIG(status)
    } else {
        1
    }
}

/// The host-side child: wait for the namespace init and exit with its status.
fn relay_exit(child: libc::pid_t) -> ! {
    // Close our copies of the pipes (and of std's exec-error pipe, or spawn would hang).
    close_all_fds();
    let mut status = 0;
    loop {
        // SAFETY: waitpid on our own child with a valid status pointer.
        let r = unsafe { libc::waitpid(child, &mut status, 0) };
        if r == child || (r < 0 && errno() != libc::EINTR) {
            // SAFETY: _exit is async-signal-safe and skips atexit handlers.
            unsafe { libc::_exit(if r == child { exit_code(status) } else { 1 }) }
        }
    }
}

/// Pid 1 of the sandbox: reap every orphan until the interpreter exits.
fn reap_until(interp: libc::pid_t) -> ! {
    close_all_fds();
    let mut status = 0;
    loop {
        // SAFETY: waitpid(-1) reaps any child; valid status pointer.
        let r = unsafe { libc::waitpid(-1, &mut status, 0) };
        if r == interp || (r < 0 && errno() != libc::EINTR) {
            // SAFETY: as above. Exiting tears down the whole pid namespace.
            unsafe { libc::_exit(if r == interp { exit_code(status) } else { 1 }) }
        }
    }
}

mod confine;
mod idmap;
mod mounts;
mod signal;

pub(crate) use confine::landlock_abi;
use confine::{apply_limits, drop_capabilities, install_seccomp, restrict_writes};
use idmap::MapperPipe;
use mounts::{build_root, open_sources};
pub(crate) use signal::{effective_ids, kill_group, pidfd_open, pidfd_signal, signal};
