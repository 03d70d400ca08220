//! The seccomp filter: a classic-BPF program, built before the fork, that refuses the system
//! calls a code interpreter never needs and Docker's default profile refuses (keyrings, BPF,
//! perf, userfaultfd, kexec and modules, mounts, new namespaces, ptrace and cross-process
//! memory access, handles, swap, reboot, clock setting, io_uring). They fail with EPERM;
//! `clone3` fails with ENOSYS so the C library falls back to `clone`, whose flags are checked.

/// Refused system calls (this target's numbers, from libc).
const REFUSED: &[libc::c_long] = &[
    libc::SYS_keyctl,
    libc::SYS_add_key,
    libc::SYS_request_key,
    libc::SYS_bpf,
    libc::SYS_perf_event_open,
    libc::SYS_userfaultfd,
    libc::SYS_kexec_load,
    libc::SYS_kexec_file_load,
    libc::SYS_init_module,
    libc::SYS_finit_module,
    libc::SYS_delete_module,
    libc::SYS_mount,
    libc::SYS_umount2,
    libc::SYS_pivot_root,
    libc::SYS_chroot,
    libc::SYS_fsopen,
    libc::SYS_fsconfig,
    libc::SYS_fsmount,
    libc::SYS_fspick,
    libc::SYS_move_mount,
    libc::SYS_open_tree,
    libc::SYS_mount_setattr,
    libc::SYS_unshare,
    libc::SYS_setns,
    libc::SYS_ptrace,
    libc::SYS_process_vm_readv,
    libc::SYS_process_vm_writev,
    libc::SYS_open_by_handle_at,
    libc::SYS_name_to_handle_at,
    libc::SYS_swapon,
    libc::SYS_swapoff,
    libc::SYS_reboot,
    libc::SYS_settimeofday,
    libc::SYS_clock_settime,
    libc::SYS_clock_adjtime,
    libc::SYS_adjtimex,
    libc::SYS_acct,
    libc::SYS_quotactl,
    libc::SYS_syslog,
    libc::SYS_vhangup,
    libc::SYS_sethostname,
    libc::SYS_setdomainname,
    libc::SYS_io_uring_setup,
    libc::SYS_io_uring_enter,
    libc::SYS_io_uring_register,
    #[cfg(target_arch = "x86_64")]
    libc::SYS_iopl,
    #[cfg(target_arch = "x86_64")]
    libc::SYS_ioperm,
];

/// `clone` flags that would create namespaces.
const NAMESPACE_FLAGS: u32 = (libc::CLONE_NEWNS
    | libc::CLONE_NEWUTS
    | libc::CLONE_NEWIPC
    | libc::CLONE_NEWUSER
    | libc::CLONE_NEWPID
    | libc::CLONE_NEWNET
    | libc::CLONE_NEWCGROUP) as u32;

#[cfg(target_arch = "x86_64")]
const AUDIT_ARCH: u32 = 0xC000_003E;
#[cfg(target_arch = "aarch64")]
const AUDIT_ARCH: u32 = 0xC000_00B7;

const SECCOMP_RET_ALLOW: u32 = 0x7fff_0000;
const SECCOMP_RET_ERRNO: u32 = 0x0005_0000;
const SECCOMP_RET_KILL_PROCESS: u32 = 0x8000_0000;
/// Offsets in `struct seccomp_data`.
const NR: u32 = 0;
const ARCH: u32 = 4;
const ARG0: u32 = 16;

fn stmt(code: u32, k: u32) -> libc::sock_filter {
    libc::sock_filter {
        code: code as u16,
        jt: 0,
        jf: 0,
        k,
    }
}

fn jump(code: u32, k: u32, jt: u8, jf: u8) -> libc::sock_filter {
    libc::sock_filter {
        code: code as u16,
        jt,
        jf,
        k,
    }
}

/// How many system calls the filter refuses outright (for the isolation report).
pub(crate) fn refused_count() -> usize {
    REFUSED.len() + 1
}

/// The filter program, or `None` on an architecture without a known audit arch.
pub(crate) fn program() -> Option<Vec<libc::sock_filter>> {
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    return None;
    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    {
        let ld = libc::BPF_LD | libc::BPF_W | libc::BPF_ABS;
        let jeq = libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K;
        let ret = libc::BPF_RET | libc::BPF_K;
        let eperm = SECCOMP_RET_ERRNO | libc::EPERM as u32;
        let mut p = vec![
            stmt(ld, ARCH),
            // Another ABI (32-bit calls on x86_64) could reach the kernel with other numbers.
            jump(jeq, AUDIT_ARCH, 1, 0),
            stmt(ret, SECCOMP_RET_KILL_PROCESS),
            stmt(ld, NR),
        ];
        #[cfg(target_arch = "x86_64")]
        {
            // x32 system calls carry this bit.
            p.push(jump(
                libc::BPF_JMP | libc::BPF_JGE | libc::BPF_K,
                0x4000_0000,
                0,
                1,
            ));
            p.push(stmt(ret, eperm));
        }
        for nr in REFUSED {
            p.push(jump(jeq, *nr as u32, 0, 1));
            p.push(stmt(ret, eperm));
        }
        p.push(jump(jeq, libc::SYS_clone3 as u32, 0, 1));
        p.push(stmt(ret, SECCOMP_RET_ERRNO | libc::ENOSYS as u32));
        p.push(jump(jeq, libc::SYS_clone as u32, 0, 3));
        p.push(stmt(ld, ARG0));
        p.push(jump(
            libc::BPF_JMP | libc::BPF_JSET | libc::BPF_K,
            NAMESPACE_FLAGS,
            0,
            1,
        ));
        p.push(stmt(ret, eperm));
        p.push(stmt(ret, SECCOMP_RET_ALLOW));
        Some(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_jump_lands_inside_the_program() {
        let p = program().unwrap();
        assert!(p.len() < 256, "classic BPF jumps are 8-bit");
        for (i, ins) in p.iter().enumerate() {
            if ins.code as u32 & 0x07 == libc::BPF_JMP {
                assert!(
                    i + 1 + (ins.jt.max(ins.jf) as usize) < p.len(),
                    "jump at {i}"
                );
            }
        }
        assert_eq!(p.last().unwrap().k, SECCOMP_RET_ALLOW);
    }
}
