# Sessions emulator kernel: one persistent interpreter per session.
#
# Protocol: the parent writes one JSON request per line on our original stdin and
# reads one JSON response per line from our original stdout. Both are moved to
# private, non-inheritable fds at start-up; fd 0 becomes /dev/null and fds 1/2
# become memory files that capture everything user code (and its subprocesses)
# write, so nothing the code does can corrupt the protocol.
#
# Keep start-up lean: only cheap stdlib modules are imported here; anything
# heavier is imported lazily on the path that needs it.
import ast
import io
import json
import os
import sys
import time

_KERNEL_FILE = sys._getframe().f_code.co_filename
_DATA = os.environ.get("SESSIONS_KERNEL_DATA", "/mnt/data")
# Most characters of stdout, stderr and a result's text sent back (the server's memory cap);
# past it the text is cut and _CUT_MARK says how much was left out.
_TEXT_CAP = int(os.environ.get("SESSIONS_KERNEL_TEXT_CAP") or 1048576)
_CUT_MARK = "\n[output truncated by the local pool: %d more characters]"
_IMAGE_CAP = 16 * 1024 * 1024  # base64 characters of all the figures of one run
_INT64 = (-(1 << 63), (1 << 64) - 1)  # the integers that travel as JSON numbers
_CELLS = {}  # filename -> source, for tracebacks of code defined in earlier runs
_cell_count = 0
_CPU_SECONDS = int(os.environ.get("SESSIONS_KERNEL_CPU_SECONDS") or 0)


def _memfile(name):
    try:
        return os.memfd_create(name, os.MFD_CLOEXEC)
    except (AttributeError, OSError):
        import tempfile

        return os.dup(tempfile.TemporaryFile().fileno())


def _setup_fds():
    os.closerange(3, 1 << 20)  # inherited from whoever started the pool: not the session's
    proto_in = os.dup(0)  # os.dup makes non-inheritable copies
    proto_out = os.dup(1)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    keep_out = _memfile("stdout")
    keep_err = _memfile("stderr")
    os.dup2(keep_out, 1)
    os.dup2(keep_err, 2)
    return proto_in, proto_out, keep_out, keep_err


def _text_stream(fd):
    raw = io.FileIO(fd, "w", closefd=False)
    return io.TextIOWrapper(
        raw, encoding="utf-8", errors="backslashreplace", write_through=True
    )


_PIN, _POUT, _OUT, _ERR = _setup_fds()
sys.stdout = sys.__stdout__ = _text_stream(1)
sys.stderr = sys.__stderr__ = _text_stream(2)
sys.stdin = sys.__stdin__ = open(0, "r", closefd=False)
_proto_in = open(_PIN, "rb")
# User code runs in a fresh __main__ module (so pickle/multiprocessing find its classes);
# the kernel's own functions keep their original globals.
_main = type(sys)("__main__")
_main.__builtins__ = __builtins__
sys.modules["__main__"] = _main
_globals = _main.__dict__


def _reset_capture():
    for keep, fd in ((_OUT, 1), (_ERR, 2)):
        os.ftruncate(keep, 0)
        os.lseek(keep, 0, os.SEEK_SET)
        os.dup2(keep, fd)  # user code may have closed or replaced fd 1/2


def _cut(text):
    """At most _TEXT_CAP characters, with a marker where the text was cut."""
    if len(text) > _TEXT_CAP:
        return text[:_TEXT_CAP] + _CUT_MARK % (len(text) - _TEXT_CAP)
    return text


def _read_capture(keep, max_chars):
    size = os.fstat(keep).st_size
    chars = _TEXT_CAP if max_chars is None else min(_TEXT_CAP, max_chars)
    data = os.pread(keep, min(size, 4 * chars + 4), 0) if size else b""
    text = data.decode("utf-8", "replace")
    if max_chars is not None and max_chars <= _TEXT_CAP:
        return text[:max_chars]
    if len(text) > _TEXT_CAP or size > len(data):
        # Characters past what was read are counted as bytes: a close, cheap estimate.
        left = max(len(text) - _TEXT_CAP, 0) + (size - len(data))
        return text[:_TEXT_CAP] + _CUT_MARK % left
    return text


def _flush():
    for s in (sys.stdout, sys.stderr):
        try:
            s.flush()
        except Exception:
            pass


def _json_value(v, depth=0):
    """Return (ok, value): the value as JSON types, NaN/inf as None."""
    if v is None or v is True or v is False:
        return True, v
    if isinstance(v, int):
        v = int(v)
        # Beyond 64 bits a JSON number loses digits in most decoders: send the exact
        # decimal digits as a string instead.
        return True, (v if _INT64[0] <= v <= _INT64[1] else _int_text(v))
    if isinstance(v, str):
        v = str(v)
        if not v.isascii():  # lone surrogates cannot travel as JSON text
            v = v.encode("utf-8", "replace").decode("utf-8")
        return True, v
    if isinstance(v, float):
        v = float(v)
        return True, (v if v - v == 0.0 else None)  # NaN/inf -> null
    if depth > 50:
        return False, None
    if isinstance(v, list):
        out = []
        for x in v:
            ok, y = _json_value(x, depth + 1)
            if not ok:
                return False, None
            out.append(y)
        return True, out
    if isinstance(v, dict):
        out = {}
        for k, x in v.items():
            if not isinstance(k, str):
                return False, None
            k = _json_value(k)[1]
            ok, y = _json_value(x, depth + 1)
            if not ok:
                return False, None
            out[k] = y
        return True, out
    if type(v).__module__ == "numpy" and getattr(v, "shape", None) == ():
        try:  # numpy scalars (np.int64(3), np.bool_(True)) are numbers to the user
            item = v.item()
        except Exception:
            return False, None
        if type(item) in (bool, int, float, str):
            return _json_value(item, depth + 1)
    return False, None


def _int_text(v):
    try:
        return str(v)
    except ValueError:  # more digits than sys.get_int_max_str_digits() allows
        return hex(v)


def _result(value, jupyter):
    out = _result_value(value, jupyter)
    if isinstance(out, str):
        return _cut(out)
    if out is not None and not isinstance(out, (bool, int, float)):
        if len(json.dumps(out)) > _TEXT_CAP:
            return _cut(_safe_repr(value))
    return out


def _safe_repr(value):
    try:
        return repr(value)
    except Exception as e:  # a broken __repr__ must not break the kernel
        return "<unrepresentable object: %s>" % type(e).__name__


def _result_value(value, jupyter):
    if value is None:
        return None
    if not jupyter:
        ok, out = _json_value(value)
        if ok:
            return out
    return _safe_repr(value)


def _format_exception(e):
    import linecache
    import traceback

    for name, src in _CELLS.items():
        linecache.cache[name] = (len(src), None, src.splitlines(True), name)
    tb = e.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename == _KERNEL_FILE:
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(e), e, tb))


def _render_figures():
    """Every open figure as base64 PNG, in figure-number order; all are closed after."""
    plt = sys.modules.get("matplotlib.pyplot")
    if plt is None or not plt.get_fignums():
        return []
    import base64

    images = []
    try:
        for num in plt.get_fignums():
            buf = io.BytesIO()
            plt.figure(num).savefig(buf, format="png")
            images.append(base64.b64encode(buf.getvalue()).decode("ascii"))
    finally:
        plt.close("all")
    return images


def _run_python(req):
    global _cell_count
    code = req["code"]
    _cell_count += 1
    name = "<cell %d>" % _cell_count
    _CELLS[name] = code
    if len(_CELLS) > 1000:  # keep recent sources only
        del _CELLS[next(iter(_CELLS))]
    status, stderr_extra, value, has_value = "ok", "", None, False
    start = time.perf_counter()
    try:
        tree = compile(code, name, "exec", ast.PyCF_ONLY_AST)
        last = None
        if tree.body and isinstance(tree.body[-1], ast.Expr):
            last = ast.Expression(tree.body.pop().value)
        if tree.body:
            exec(compile(tree, name, "exec"), _globals)
        if last is not None:
            value = eval(compile(last, name, "eval"), _globals)
            # A call returning None (print(...), plt.show()) counts as "no result", like
            # the service; a None the user asked for (`None`, a variable) is null.
            has_value = value is not None or not isinstance(last.body, ast.Call)
    except MemoryError:
        status = "oom"
    except BaseException as e:  # SystemExit/KeyboardInterrupt are user errors too
        status = "error"
        _flush()
        try:
            stderr_extra = _format_exception(e)
        except MemoryError:
            status = "oom"
    duration = time.perf_counter() - start
    images = []
    if status == "ok":
        try:
            images = _render_figures()
        except Exception as e:
            stderr_extra = "could not render the open figures: %r\n" % (e,)
        kept, size = [], 0
        for image in images:
            size += len(image)
            if size > _IMAGE_CAP:
                stderr_extra = (
                    "the open figures were larger than the local pool's limit of %d MiB; "
                    "%d of %d were dropped\n" % (_IMAGE_CAP >> 20, len(images) - len(kept), len(images))
                )
                break
            kept.append(image)
        images = kept
    _flush()
    if stderr_extra:
        os.write(2, stderr_extra.encode("utf-8", "replace"))
    result = ""
    if has_value and status == "ok":
        try:
            result = _result(value, req.get("jupyter", False))
        except MemoryError:
            status, result = "oom", ""
    value = None
    return {"status": status, "result": result, "images": images, "duration": duration}


def _run_shell(req):
    import subprocess

    stdin = req.get("stdin")
    start = time.perf_counter()
    proc = subprocess.run(
        ["bash", "-c", req["command"]],
        input=None if stdin is None else stdin.encode("utf-8"),
        stdin=subprocess.DEVNULL if stdin is None else None,
        cwd=_DATA,
    )
    duration = time.perf_counter() - start
    code = proc.returncode
    if code < 0:
        code = 128 - code  # killed by a signal: report like bash does
    return {"status": "exit", "exit_code": code, "result": None, "duration": duration}


def _cpu_budget():
    """Allow this run _CPU_SECONDS more CPU time (RLIMIT_CPU is cumulative per process)."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    soft = int(usage.ru_utime + usage.ru_stime) + _CPU_SECONDS + 1
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


def _handle(req):
    _reset_capture()
    if _CPU_SECONDS:
        _cpu_budget()
    try:
        if req.get("op") == "sh":
            resp = _run_shell(req)
        else:
            resp = _run_python(req)
    except MemoryError:
        resp = {"status": "oom", "result": None, "duration": 0.0}
    max_chars = req.get("max_output")
    resp["stdout"] = _read_capture(_OUT, max_chars)
    resp["stderr"] = _read_capture(_ERR, max_chars)
    return resp


def _send(obj):
    data = (json.dumps(obj) + "\n").encode("ascii")
    view = memoryview(data)
    while view:
        n = os.write(_POUT, view)
        view = view[n:]


def _install_path_rewrite(root):
    """Degraded mode: map /mnt/data to the session's working directory."""
    import builtins

    prefix, bprefix = "/mnt/data", b"/mnt/data"
    broot = os.fsencode(root)

    def fix(p):
        if isinstance(p, int):
            return p
        try:
            s = os.fspath(p)
        except TypeError:
            return p
        if isinstance(s, str):
            if s == prefix or s.startswith(prefix + "/"):
                return root + s[len(prefix) :]
        elif s == bprefix or s.startswith(bprefix + b"/"):
            return broot + s[len(bprefix) :]
        return p

    def wrap(f, nargs):
        def g(*a, **k):
            if a:
                a = tuple(fix(x) for x in a[:nargs]) + a[nargs:]
            for key in ("path", "file", "src", "dst"):
                if key in k:
                    k[key] = fix(k[key])
            return f(*a, **k)

        g.__name__, g.__doc__, g.__wrapped__ = f.__name__, f.__doc__, f
        return g

    builtins.open = io.open = wrap(io.open, 1)
    one = "stat lstat listdir scandir mkdir rmdir remove unlink chdir open access chmod utime truncate readlink"
    for n in one.split():
        if hasattr(os, n):
            setattr(os, n, wrap(getattr(os, n), 1))
    for n in ("rename", "replace", "link", "symlink"):
        setattr(os, n, wrap(getattr(os, n), 2))


def main():
    rewrite = os.environ.get("SESSIONS_KERNEL_REWRITE")
    if rewrite:
        _install_path_rewrite(rewrite)
    if _CPU_SECONDS:
        import resource  # noqa: F401  (imported once here, used per run)
    if os.environ.get("SESSIONS_KERNEL_MODE") == "shell":
        import subprocess  # noqa: F401  (paid once at spawn, not per command)
    _send({"status": "ready", "pid": os.getpid()})
    while True:
        line = _proto_in.readline()
        if not line:
            os._exit(0)  # parent went away
        try:
            resp = _handle(json.loads(line))
        except MemoryError:
            resp = {"status": "oom", "result": None, "duration": 0.0, "stdout": "", "stderr": ""}
        except BaseException as e:
            msg = "internal kernel error: %r\n" % (e,)
            resp = {"status": "error", "result": "", "duration": 0.0, "stdout": "", "stderr": msg}
        _send(resp)


main()
