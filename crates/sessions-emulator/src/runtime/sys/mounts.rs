//! Building the sandbox root: mount steps, bind sources opened by descriptor, pivot_root.

use std::ffi::CStr;
use std::io;
use std::ptr;

use super::*;

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
pub(super) fn open_sources(s: &mut NsSetup) -> io::Result<()> {
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

pub(super) fn build_root(s: &NsSetup) -> io::Result<()> {
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
