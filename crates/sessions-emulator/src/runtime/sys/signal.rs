//! Identity and signals for the host side: effective ids, kill, pidfds.

use std::ptr;

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
