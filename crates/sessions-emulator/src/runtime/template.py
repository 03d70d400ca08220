# Sessions emulator template: one interpreter per pool that imports the preloaded modules
# once; every session is a fork of it that builds its own sandbox before running the kernel.
#
# The template itself runs in a sandbox set up by the server (namespaces and a pivoted
# root, whose user namespace maps a range of host ids) but keeps its capabilities there:
# it never runs user code. Its fd 0 is a SOCK_SEQPACKET control socket to the server:
#   server -> template: one JSON config message (kernel source, seccomp program, mount plan);
#   template -> server: {"ready": ...} once the preload is imported (or {"error": ...});
#   server -> template: {"slot", "uid", "gid"} with two descriptors (SCM_RIGHTS): the
#     session's protocol socket and its status socket;
#   template -> server: {"pid": <pid of the child in the template's pid namespace>}.
# The child enters its own user, mount, pid, uts, ipc, net and cgroup namespaces, and the
# template maps its root to a distinct host uid (only a process outside may map ids other
# than its own) before it answers. The child then waits for one byte on its protocol socket
# (the server has moved it into the session's pids cgroup by then: nothing is forked
# before), and builds, in order:
# a fresh /tmp and /dev/shm, the slot on /mnt/data, a procfs of its own with the masks,
# the template's private paths hidden; rlimits, no capabilities, Landlock, seccomp; every
# other descriptor closed; random state reseeded. Then the kernel runs as in a fresh worker.
import ctypes
import fcntl
import gc
import json
import os
import random
import resource
import signal
import socket
import struct
import sys
import threading

_libc = ctypes.CDLL(None, use_errno=True)
# fork(2) without Python's fork hooks, holding the GIL: every process here is single-threaded
# (the template checks before each fork), and the hooks (random's reseed, logging's and
# threading's re-initialisation) would copy about 0.8 MiB of every fork's pages for nothing.
# The interpreter reseeds what needs it itself (_reseed).
_fork = ctypes.PyDLL(None, use_errno=True).fork
_libc.syscall.restype = ctypes.c_long
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
ST_FLAGS = ((1, MS_NOSUID), (2, MS_NODEV), (8, MS_NOEXEC), (1024, 1024), (2048, 2048), (4096, 1 << 21))
PR_SET_PDEATHSIG, PR_SET_SECCOMP, PR_CAPBSET_DROP = 1, 22, 24
PR_SET_NO_NEW_PRIVS, PR_CAP_AMBIENT = 38, 47


class Step(Exception):
    """A sandbox step failed: the session must not start."""


def _check(ret, what):
    if ret < 0:
        err = ctypes.get_errno()
        raise Step("%s: %s" % (what, os.strerror(err)))
    return ret


def _mount(src, dst, fstype, flags, data=None, what=None):
    enc = lambda s: None if s is None else os.fsencode(s)
    ret = _libc.mount(enc(src), enc(dst), enc(fstype), flags, enc(data))
    _check(ret, what or "mount %s" % dst)


def _remount_ro(path):
    st = os.statvfs(path)
    flags = MS_BIND | MS_REMOUNT | MS_RDONLY
    for st_flag, ms_flag in ST_FLAGS:
        if st.f_flag & st_flag:
            flags |= ms_flag
    _mount(None, path, None, flags, what="remount %s read-only" % path)


def _bind(src, dst, read_only):
    _mount(src, dst, None, MS_BIND | MS_REC, what="bind %s" % dst)
    if read_only:
        _remount_ro(dst)


def _makedirs(path):
    os.makedirs(path, mode=0o755, exist_ok=True)


def _write(path, data):
    fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def _exit_code(status):
    if os.WIFEXITED(status):
        return os.WEXITSTATUS(status)
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return 1


def _wait(pid):
    while True:
        try:
            return os.waitpid(pid, 0)[1]
        except InterruptedError:
            continue


def _close_fds_except(keep):
    top = 0
    for fd in sorted(keep):
        if fd > top:
            os.closerange(top, fd)
        top = fd + 1
    os.closerange(top, 1 << 20)


def _unshare(cfg, told):
    """Our own namespaces; `told` tells the template, which maps our ids (only a process
    outside the new user namespace may map ids other than its own)."""
    flags = cfg["unshare_flags"]
    ret = _libc.unshare(flags)
    if ret != 0 and ctypes.get_errno() == 22:  # EINVAL: no cgroup namespaces
        ret = _libc.unshare(flags & ~0x02000000)
    err = ctypes.get_errno()
    os.write(told, b"1" if ret == 0 else b"0")
    os.close(told)
    if ret != 0:
        raise Step("unshare(user, mount, pid, net, uts, ipc, cgroup): %s" % os.strerror(err))


def _map_ids(pid, uid, gid, unshared):
    """Map the root of `pid`'s new user namespace to `uid`/`gid` of ours, once it says it
    has unshared. False when it could not."""
    try:
        if os.read(unshared, 1) != b"1":
            return False
        _write("/proc/%d/setgroups" % pid, b"deny")
        _write("/proc/%d/uid_map" % pid, b"0 %d 1\n" % uid)
        _write("/proc/%d/gid_map" % pid, b"0 %d 1\n" % gid)
        return True
    except OSError:
        return False
    finally:
        os.close(unshared)


def _loopback_up():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        req = struct.pack("16sH22x", b"lo", 0)
        flags = struct.unpack("16sH22x", fcntl.ioctl(s.fileno(), 0x8913, req))[1]
        fcntl.ioctl(s.fileno(), 0x8914, struct.pack("16sH22x", b"lo", flags | 1))
    finally:
        s.close()


def _build_mounts(cfg, slot):
    """The session's view: the template's read-only root with fresh /tmp and /dev/shm, the
    slot on /mnt/data, a procfs of its own (masked as runc does), private paths hidden."""
    _mount(None, "/", None, MS_REC | MS_PRIVATE, what="make mounts private")
    # Read-only binds that live under /tmp (a venv in a checkout there) must survive the
    # fresh tmpfs: keep a handle on each, then bind it back.
    kept = [(os.open(p, os.O_PATH | os.O_CLOEXEC), p) for p in cfg["tmp_binds"]]
    _mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777,size=64m")
    _mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777,size=%d" % cfg["tmp_size"])
    for fd, path in kept:
        _makedirs(path)
        _bind("/proc/self/fd/%d" % fd, path, True)
        os.close(fd)
    src = os.path.join(cfg["slots"], slot)
    try:
        os.stat(src)
    except OSError as e:
        raise Step("the session's directory %s: %s (uid %d)" % (src, e.strerror, os.getuid()))
    _bind(src, "/mnt/data", False)
    _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, what="mount /proc")
    for path in cfg["proc_read_only"]:
        if os.path.exists(path):
            _bind(path, path, True)
    for path in cfg["masked_files"]:  # those under /proc (session_plan)
        if os.path.exists(path):
            _bind("/dev/null", path, True)
    for path in cfg["masked_dirs"] + cfg["hidden"]:
        if os.path.isdir(path):
            _mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, "size=4k,mode=0555")
            _remount_ro(path)
    os.chdir("/mnt/data")


def _drop_capabilities():
    for cap in range(64):
        if _libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 and ctypes.get_errno() != 22:
            _check(-1, "drop capabilities")
    _libc.prctl(PR_CAP_AMBIENT, 4, 0, 0, 0)  # PR_CAP_AMBIENT_CLEAR_ALL
    header = struct.pack("Ii", 0x20080522, 0)
    data = bytes(24)
    hbuf, dbuf = ctypes.create_string_buffer(header), ctypes.create_string_buffer(data)
    _check(_libc.syscall(ctypes.c_long(cfg_sys["capset"]), hbuf, dbuf), "drop capabilities")
    _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "set no_new_privs")


def _restrict_writes(abi):
    """Landlock: the same ruleset as a fresh worker's (runtime/sys/confine.rs)."""
    write_file, create_remove, refer, truncate = 1 << 1, 0b111111111 << 4, 1 << 13, 1 << 14
    handled = write_file | create_remove
    if abi >= 2:
        handled |= refer
    if abi >= 3:
        handled |= truncate
    devices = handled & (write_file | truncate)
    attr = ctypes.create_string_buffer(struct.pack("Q", handled))
    ruleset = _check(_libc.syscall(ctypes.c_long(cfg_sys["landlock_create_ruleset"]), attr, 8, 0), "Landlock")
    try:
        for path, access in (("/mnt/data", handled), ("/tmp", handled), ("/dev/shm", handled), ("/dev", devices)):
            fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            rule = ctypes.create_string_buffer(struct.pack("=Qi", access, fd))
            ret = _libc.syscall(ctypes.c_long(cfg_sys["landlock_add_rule"]), ruleset, 1, rule, 0)
            os.close(fd)
            _check(ret, "Landlock rule for %s" % path)
        _check(_libc.syscall(ctypes.c_long(cfg_sys["landlock_restrict_self"]), ruleset, 0), "Landlock")
    finally:
        os.close(ruleset)


def _install_seccomp(program):
    class Prog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    buf = ctypes.create_string_buffer(program)
    prog = Prog(len(program) // 8, ctypes.cast(buf, ctypes.c_void_p))
    _check(_libc.prctl(PR_SET_SECCOMP, 2, ctypes.byref(prog), 0, 0), "install the seccomp filter")


def _confine(cfg):
    for res, value in ((resource.RLIMIT_AS, cfg["address_space"]), (resource.RLIMIT_NPROC, cfg["processes"]), (resource.RLIMIT_CORE, 0)):
        resource.setrlimit(res, (value, value))
    _drop_capabilities()
    if cfg["landlock_abi"]:
        _restrict_writes(cfg["landlock_abi"])
    if cfg["seccomp"]:
        _install_seccomp(bytes.fromhex(cfg["seccomp"]))


def _reseed():
    random.seed()  # raw forks skip random's own fork hook
    np_random = sys.modules.get("numpy.random")
    if np_random is not None:
        np_random.seed()


def _session(cfg, slot, proto, status, told):
    """The forked child: the session's relay, which enters the namespaces, forks the
    namespace init and exits; the init builds the mounts, forks the interpreter and reports
    its exit code. Never returns."""
    code = 1
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        _close_fds_except({proto, status, told})
        os.write(proto, b"p")  # the server learns our pid from this byte's credentials
        _unshare(cfg, told)
        # The server has joined us to the session's pids cgroup once it says "g": nothing
        # may be forked before that.
        if os.read(proto, 1) != b"g":
            os._exit(1)
        os.setresgid(0, 0, 0)
        os.setresuid(0, 0, 0)
        _check(_libc.sethostname(b"session", 7), "set the sandbox hostname")
        if not cfg["network"]:
            _loopback_up()
        if _check(_fork(), "fork the namespace init") > 0:
            os._exit(0)  # the init is the session's top process from here on
        # The init: the server learns its pid from this byte, and it ends the whole session
        # by killing it. (No parent-death signal: its parent, the relay, has just exited.)
        os.write(proto, b"i")
        _build_mounts(cfg, slot)
        interp = _check(_fork(), "fork the interpreter")
        if interp > 0:
            os.close(proto)
            while True:  # pid 1: reap orphans until the interpreter exits
                try:
                    pid, st = os.wait()
                except InterruptedError:
                    continue
                except ChildProcessError:
                    os._exit(1)
                if pid == interp:
                    os.write(status, b"%d\n" % _exit_code(st))
                    os._exit(_exit_code(st))
        _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        _confine(cfg)
        _reseed()
        os.dup2(proto, 0)
        os.dup2(proto, 1)
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 2)
        _close_fds_except({0, 1, 2})
        scope = {"__name__": "__main__", "__builtins__": __builtins__}
        exec(cfg["kernel_code"], scope)
        code = 0
    except BaseException as e:  # say why on the status socket (while we still hold it)
        what = str(e) if isinstance(e, Step) else "%s: %s" % (type(e).__name__, e)
        try:
            os.write(status, ("error: %s\n" % what).encode("utf-8", "replace"))
        except OSError:
            pass
    os._exit(code)


def _warm_numpy():
    import numpy as np

    np.arange(4.0).reshape(2, 2).sum(axis=0).tolist()


def _warm_pandas():
    import io
    import pandas as pd

    df = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    df.a.sum(), df.describe(), df.groupby("b").a.sum()
    pd.read_csv(io.StringIO(df.to_csv(index=False)))


def _warm_matplotlib():
    import io
    import matplotlib.pyplot as plt  # pyplot is the slow part; MPLBACKEND picks Agg

    fig = plt.figure()
    plt.plot([1, 2], [3, 4])
    fig.savefig(io.BytesIO(), format="png")  # loads the fonts and the Agg renderer
    plt.close("all")
    # The cached font objects keep their files open: a fork must not share descriptors (the
    # session closes them, and the number would then read another file). The font list stays.
    import matplotlib.font_manager as fm

    getattr(fm._get_font, "cache_clear", lambda: None)()
    gc.collect()


# What a first use of these loads lazily (submodules, fonts): done once here, so that it is
# shared by every session instead of paid, in time and private memory, by each.
_WARM = {"numpy": _warm_numpy, "pandas": _warm_pandas, "matplotlib": _warm_matplotlib}


def _preload(names):
    loaded, missing = [], []
    for name in names:
        try:
            __import__(name)
            if name in _WARM:
                _WARM[name]()
            loaded.append(name)
        except Exception as e:
            missing.append("%s (%s)" % (name, type(e).__name__))
    return loaded, missing


def _open_files():
    """Descriptors other than the control socket and stdout/stderr (/dev/null)."""
    out = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            if int(fd) > 2:
                out.append(os.readlink("/proc/self/fd/" + fd))
        except (OSError, ValueError):
            pass  # the directory listing's own descriptor is gone by now
    return out


def _threads():
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return threading.active_count()


def main():
    global cfg_sys
    os.closerange(3, 1 << 20)  # inherited from whoever started the pool: not ours to pass on
    ctl = socket.socket(fileno=0)
    cfg = json.loads(ctl.recv(1 << 22))
    cfg_sys = cfg["sys"]
    # Compiled once here: compiling it in every session would dirty megabytes of its memory.
    cfg["kernel_code"] = compile(cfg.pop("kernel"), "<string>", "exec")
    for name in ("ast", "base64", "linecache", "traceback"):  # what the kernel imports
        __import__(name)
    loaded, missing = _preload(cfg["preload"])
    gc.collect()
    gc.freeze()  # keep the collector from touching (and so copying) the shared objects
    threads = _threads()
    with open("/proc/self/status") as f:
        vm = [l.split()[1] for l in f if l.startswith("VmSize:")]
    ctl.send(json.dumps({"ready": True, "loaded": loaded, "missing": missing, "threads": threads,
                         "open_files": _open_files(), "vm_kib": int(vm[0]) if vm else 0}).encode())
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel
    while True:
        try:
            msg, fds, _flags, _addr = socket.recv_fds(ctl, 1 << 16, 2)
        except InterruptedError:
            continue
        if not msg:
            os._exit(0)  # the server went away
        req = None
        try:
            req = json.loads(msg)
            rid, slot, uid, gid = req["id"], req["slot"], int(req["uid"]), int(req["gid"])
            if len(fds) != 2 or "/" in slot or slot in ("", ".", ".."):
                raise ValueError("bad fork request")
            if _threads() != 1:  # a thread would be copied half-way through its work
                raise ValueError("the template has %d threads" % _threads())
        except Exception as e:
            for fd in fds:
                os.close(fd)
            ctl.send(json.dumps({"id": req.get("id") if isinstance(req, dict) else None, "error": str(e)}).encode())
            continue
        unshared, told = os.pipe()
        pid = _fork()
        if pid < 0:
            os.close(unshared)
            os.close(told)
            for fd in fds:
                os.close(fd)
            ctl.send(json.dumps({"id": rid, "error": "fork: %s" % os.strerror(ctypes.get_errno())}).encode())
            continue
        if pid == 0:
            _session(cfg, slot, fds[0], fds[1], told)
        os.close(told)
        for fd in fds:
            os.close(fd)
        if _map_ids(pid, uid, gid, unshared):
            ctl.send(json.dumps({"id": rid, "pid": pid}).encode())
        else:
            os.kill(pid, signal.SIGKILL)
            ctl.send(json.dumps({"id": rid, "error": "the session could not enter its namespaces"}).encode())


cfg_sys = {}
main()
