//! The helper that stays in the host's user namespace to write the sandbox's id maps.

use std::ffi::CStr;
use std::io;

use super::*;

/// The pipe between the sandbox's first process and the helper that writes its id maps.
pub(super) struct MapperPipe {
    read: libc::c_int,
    write: libc::c_int,
}

impl MapperPipe {
    pub(super) fn new() -> io::Result<MapperPipe> {
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
    pub(super) fn run_helper(&self, target: libc::pid_t, s: &NsSetup) -> ! {
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
    pub(super) fn wait_mapped(self, helper: libc::pid_t) -> io::Result<()> {
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
    pub(super) fn abandon(self, helper: libc::pid_t) {
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
