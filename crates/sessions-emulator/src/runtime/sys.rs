//! Every unsafe call of the runtime lives here: the code that runs in the forked child
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
    let mut flags = libc::CLONE_NEWUSER
        | libc::CLONE_NEWNS
        | libc::CLONE_NEWPID
        | libc::CLONE_NEWUTS
        | libc::CLONE_NEWIPC
        | libc::CLONE_NEWCGROUP;
    if !s.network {
        flags |= libc::CLONE_NEWNET;
    }
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
fn restrict_writes(abi: u32) -> io::Result<()> {
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

/// The pipe between the sandbox's first process and the helper that writes its id maps.
struct MapperPipe {
    read: libc::c_int,
    write: libc::c_int,
}

impl MapperPipe {
    fn new() -> io::Result<MapperPipe> {
        let mut fds = [0; 2];
        // SAFETY: pipe2 fills a two-element array.
        check(
            unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) },
            STEP_UID_MAP,
        )?;
        Ok(MapperPipe {
            read: fds[0],
            write: fds[1],
        })
    }

    /// The helper: wait until `target` has unshared, write its maps, exit 0 or the step
    /// code that failed.
    fn run_helper(&self, target: libc::pid_t, s: &NsSetup) -> ! {
        let mut byte = 0u8;
        // SAFETY: raw read/close on our own descriptors.
        let n = unsafe {
            libc::close(self.write);
            libc::read(self.read, (&mut byte as *mut u8).cast(), 1)
        };
        let mut code = 0;
        if n == 1 {
            let mut buf = [0u8; 64];
            let files: [(&[u8], &[u8]); 3] = [
                (b"setgroups", b"deny"),
                (b"uid_map", &s.uid_map),
                (b"gid_map", &s.gid_map),
            ];
            for (i, (file, data)) in files.into_iter().enumerate() {
                let path = proc_path(&mut buf, target, file);
                if let Err(e) = write_file(path, data, 0) {
                    // Exit code: which file (1..=3) in the high bits, errno in the low six.
                    code = ((i as i32 + 1) << 6) | e.raw_os_error().unwrap_or(0).clamp(0, 63);
                    break;
                }
            }
        } else {
            code = (2 << 6) | libc::EPIPE;
        }
        // SAFETY: _exit is async-signal-safe.
        unsafe { libc::_exit(code) }
    }

    /// Tell the helper we unshared and wait for it to finish our maps.
    fn wait_mapped(self, helper: libc::pid_t) -> io::Result<()> {
        let byte = 1u8;
        // SAFETY: raw write/close on our own descriptors.
        unsafe {
            libc::close(self.read);
            libc::write(self.write, (&byte as *const u8).cast(), 1);
            libc::close(self.write);
        }
        let status = wait_child(helper);
        let steps = [STEP_SETGROUPS, STEP_UID_MAP, STEP_GID_MAP];
        match status.map(exit_code) {
            Some(0) => Ok(()),
            Some(code) if (1..=3).contains(&(code >> 6)) => Err(io::Error::from_raw_os_error(
                steps[(code >> 6) as usize - 1] * 1000 + (code & 63),
            )),
            _ => Err(io::Error::from_raw_os_error(
                STEP_UID_MAP * 1000 + libc::ECHILD,
            )),
        }
    }

    /// Unsharing failed: let the helper exit without writing anything.
    fn abandon(self, helper: libc::pid_t) {
        // SAFETY: closing our descriptors makes the helper's read return 0.
        unsafe {
            libc::close(self.read);
            libc::close(self.write);
        }
        wait_child(helper);
    }
}

/// `/proc/<pid>/<file>` as a C string in `buf`, formatted without allocating.
fn proc_path<'a>(buf: &'a mut [u8; 64], pid: libc::pid_t, file: &[u8]) -> &'a CStr {
    let mut digits = [0u8; 12];
    let pid = decimal(&mut digits, pid.max(0) as u32);
    join_cstr(buf, &[b"/proc/", pid, b"/", file])
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

/// Wait for a child, retrying on EINTR; its raw status.
fn wait_child(pid: libc::pid_t) -> Option<libc::c_int> {
    let mut status = 0;
    loop {
        // SAFETY: waitpid on our own child with a valid status pointer.
        let r = unsafe { libc::waitpid(pid, &mut status, 0) };
        if r == pid {
            return Some(status);
        }
        if r < 0 && errno() != libc::EINTR {
            return None;
        }
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

fn mount(
    src: Option<&CStr>,
    dst: &CStr,
    fstype: Option<&CStr>,
    flags: libc::c_ulong,
    data: Option<&CStr>,
) -> libc::c_int {
    let p = |s: Option<&CStr>| s.map_or(ptr::null(), CStr::as_ptr);
    // SAFETY: all pointers are NUL-terminated strings or null, as mount(2) accepts.
    unsafe { libc::mount(p(src), dst.as_ptr(), p(fstype), flags, p(data).cast()) }
}

/// Remount `dst` read-only, keeping the flags the kernel locks for user namespaces.
fn remount_ro(dst: &CStr) -> libc::c_int {
    // SAFETY: statvfs fills a plain struct.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(dst.as_ptr(), &mut st) } != 0 {
        return -1;
    }
    let keep = [
        (libc::ST_NOSUID, libc::MS_NOSUID),
        (libc::ST_NODEV, libc::MS_NODEV),
        (libc::ST_NOEXEC, libc::MS_NOEXEC),
        (libc::ST_NOATIME, libc::MS_NOATIME),
        (libc::ST_NODIRATIME, libc::MS_NODIRATIME),
        (libc::ST_RELATIME, libc::MS_RELATIME),
    ];
    let mut flags = libc::MS_BIND | libc::MS_REMOUNT | libc::MS_RDONLY;
    for (st_flag, ms_flag) in keep {
        if st.f_flag & st_flag != 0 {
            flags |= ms_flag;
        }
    }
    mount(None, dst, None, flags, None)
}

/// Apply one step; `src_fd` is the bind source opened by `open_sources` (-1 otherwise).
fn apply_op(op: &MountOp, src_fd: libc::c_int) -> libc::c_int {
    // SAFETY (for the raw calls below): NUL-terminated paths prepared before the fork.
    match op {
        MountOp::Dir(p) => {
            let r = unsafe { libc::mkdir(p.as_ptr(), 0o755) };
            if r != 0 && errno() == libc::EEXIST {
                0
            } else {
                r
            }
        }
        MountOp::File(p) => {
            let fd = unsafe {
                libc::open(
                    p.as_ptr(),
                    libc::O_CREAT | libc::O_WRONLY | libc::O_CLOEXEC,
                    0o644,
                )
            };
            if fd < 0 {
                return -1;
            }
            unsafe { libc::close(fd) }
        }
        MountOp::Symlink { target, link } => {
            let r = unsafe { libc::symlink(target.as_ptr(), link.as_ptr()) };
            if r != 0 && errno() == libc::EEXIST {
                0
            } else {
                r
            }
        }
        MountOp::Tmpfs { dst, opts } => mount(
            Some(c"tmpfs"),
            dst,
            Some(c"tmpfs"),
            libc::MS_NOSUID | libc::MS_NODEV,
            Some(opts),
        ),
        MountOp::Bind {
            src,
            dst,
            read_only,
        } => {
            let mut buf = [0u8; 64];
            let mut digits = [0u8; 12];
            let by_fd = join_cstr(
                &mut buf,
                &[
                    b"/proc/self/fd/",
                    decimal(&mut digits, src_fd.max(0) as u32),
                ],
            );
            let src = if src_fd >= 0 { by_fd } else { src.as_c_str() };
            let r = mount(Some(src), dst, None, libc::MS_BIND | libc::MS_REC, None);
            if r != 0 || !read_only {
                r
            } else {
                remount_ro(dst)
            }
        }
        MountOp::ReadOnly(path) => {
            let r = mount(Some(path), path, None, libc::MS_BIND | libc::MS_REC, None);
            if r != 0 { r } else { remount_ro(path) }
        }
        MountOp::RemountRo(dst) => remount_ro(dst),
        MountOp::Proc(dst) => mount(
            Some(c"proc"),
            dst,
            Some(c"proc"),
            libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
            None,
        ),
    }
}

/// Open an `O_PATH` descriptor for every bind's host source.
fn open_sources(s: &mut NsSetup) -> io::Result<()> {
    for (i, op) in s.ops.iter().enumerate() {
        if let MountOp::Bind { src, .. } = op {
            // SAFETY: open with a NUL-terminated path prepared before the fork.
            let fd = unsafe { libc::open(src.as_ptr(), libc::O_PATH | libc::O_CLOEXEC) };
            check(fd, STEP_OPS + i as i32)?;
            if let Some(slot) = s.src_fds.get_mut(i) {
                *slot = fd;
            }
        }
    }
    Ok(())
}

fn build_root(s: &NsSetup) -> io::Result<()> {
    // Nothing we mount may propagate back to the host.
    check(
        mount(None, c"/", None, libc::MS_REC | libc::MS_PRIVATE, None),
        STEP_PRIVATE,
    )?;
    check(
        mount(
            Some(c"tmpfs"),
            &s.new_root,
            Some(c"tmpfs"),
            libc::MS_NOSUID | libc::MS_NODEV,
            Some(c"mode=0755,size=16m"),
        ),
        STEP_ROOT_TMPFS,
    )?;
    for (i, op) in s.ops.iter().enumerate() {
        let fd = s.src_fds.get(i).copied().unwrap_or(-1);
        check(apply_op(op, fd), STEP_OPS + i as i32)?;
        if fd >= 0 {
            // SAFETY: closing a descriptor opened by `open_sources`.
            unsafe { libc::close(fd) };
        }
    }
    // SAFETY: chdir/pivot_root/umount2 with valid paths. pivot_root(".", ".") stacks the old
    // root on top of the new one; detaching it leaves only the new root visible.
    unsafe {
        check(libc::chdir(s.new_root.as_ptr()), STEP_PIVOT)?;
        check(
            libc::syscall(libc::SYS_pivot_root, c".".as_ptr(), c".".as_ptr()) as libc::c_int,
            STEP_PIVOT,
        )?;
        check(libc::umount2(c".".as_ptr(), libc::MNT_DETACH), STEP_PIVOT)?;
        check(libc::chdir(c"/".as_ptr()), STEP_PIVOT)?;
    }
    let ro_root =
        libc::MS_BIND | libc::MS_REMOUNT | libc::MS_RDONLY | libc::MS_NOSUID | libc::MS_NODEV;
    check(mount(None, c"/", None, ro_root, None), STEP_PIVOT)?;
    // SAFETY: chdir with a constant path.
    check(unsafe { libc::chdir(c"/mnt/data".as_ptr()) }, STEP_CHDIR)
}

fn apply_limits(limits: &Limits) -> io::Result<()> {
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
fn drop_capabilities() -> io::Result<()> {
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

/// The effective uid and gid of the emulator.
pub(crate) fn effective_ids() -> (u32, u32) {
    // SAFETY: geteuid/getegid cannot fail.
    unsafe { (libc::geteuid(), libc::getegid()) }
}

/// Send `signal` to a process; false when it does not exist.
pub(crate) fn signal(pid: i32, signal: libc::c_int) -> bool {
    // SAFETY: kill(2) with a positive pid only targets that process.
    pid > 0 && unsafe { libc::kill(pid, signal) } == 0
}

/// SIGKILL a whole process group (degraded mode: the interpreter leads its own group).
pub(crate) fn kill_group(pgid: i32) {
    if pgid > 0 {
        // SAFETY: a negative pid targets exactly that process group.
        unsafe {
            libc::kill(-pgid, libc::SIGKILL);
        }
    }
}

/// A pidfd for our own (not yet reaped) child: signals through it can never reach a
/// process that reused the pid.
pub(crate) fn pidfd_open(pid: i32) -> Option<std::os::fd::OwnedFd> {
    use std::os::fd::FromRawFd;
    // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    // SAFETY: a non-negative result is a descriptor we own.
    (fd >= 0).then(|| unsafe { std::os::fd::OwnedFd::from_raw_fd(fd as libc::c_int) })
}

/// Send `signal` through a pidfd; false once the process is gone (or was reaped).
pub(crate) fn pidfd_signal(fd: &std::os::fd::OwnedFd, signal: libc::c_int) -> bool {
    use std::os::fd::AsRawFd;
    // SAFETY: pidfd_send_signal with a valid descriptor and a null siginfo.
    unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            fd.as_raw_fd(),
            signal,
            ptr::null::<libc::siginfo_t>(),
            0,
        ) == 0
    }
}
