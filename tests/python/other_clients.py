"""Drive the local pool with other projects' published clients, unmodified.

Usage: other_clients.py <python|shell|llamaindex|autogen|semantic-kernel> <endpoint>
Only the endpoint and the token are changed from how the clients are used against Azure (and,
for https, the CA the environment tells the client to trust: SSL_CERT_FILE). Every client is
driven through run, state kept between runs, upload, list, download and a failure that must
reach the caller. Prints one JSON line with what was checked; exits non-zero on the first
mismatch.
"""
import asyncio
import io
import json
import os
import sys
import tempfile
import uuid
import warnings

warnings.filterwarnings("ignore")

TOKEN = "local-token"
# Every byte value, so a download that decodes or re-encodes anything shows.
BINARY = bytes(range(256))
WRITE_BINARY = "open('/mnt/data/out.bin','wb').write(bytes(range(256)))"


def check(cond, what):
    if not cond:
        print(json.dumps({"failed": what}))
        sys.exit(1)


def raises(call, exc_type, what):
    """Run `call`, which must raise `exc_type`; return the exception."""
    try:
        call()
    except exc_type as e:
        return e
    check(False, f"{what}: no {exc_type.__name__} raised")


def langchain_python(endpoint):
    from langchain_azure_dynamic_sessions import SessionsPythonREPLTool

    tool = SessionsPythonREPLTool(pool_management_endpoint=endpoint, access_token_provider=lambda: TOKEN)
    r = tool.execute("1+1")
    check(r["status"] == "Success" and r["result"] == 2, f"langchain execute 1+1: {r}")
    tool.execute("x = 41")
    r = tool.execute("x + 1")
    check(r["result"] == 42, f"langchain state persists: {r}")
    r = tool.execute("print('hi')\n1/0")
    check(r["status"] == "Failure" and "ZeroDivisionError" in r["stderr"] and r["stdout"] == "hi\n", f"langchain failure: {r}")
    meta = tool.upload_file(data=io.BytesIO(b"a,b\n1,2\n"), remote_file_path="data.csv")
    check(meta.filename == "data.csv" and meta.size_in_bytes == 8, f"langchain upload: {meta}")
    r = tool.execute("open('/mnt/data/data.csv').read()")
    check(r["result"] == "a,b\n1,2\n", f"langchain code sees upload: {r}")
    names = [f.filename for f in tool.list_files()]
    check("data.csv" in names, f"langchain list: {names}")
    tool.execute(WRITE_BINARY)
    data = tool.download_file(remote_file_path="out.bin").read()
    check(data == BINARY, "langchain binary download is byte-exact")
    content, _ = tool._run("1+2")
    check(json.loads(content)["result"] == 3, f"langchain tool run: {content}")
    tool.delete_session()
    return "langchain SessionsPythonREPLTool"


def adsci(endpoint):
    import requests
    from azure_dynamic_sessions_code_interpreter import CodeInterpreterTool

    tool = CodeInterpreterTool(pool_management_endpoint=endpoint, session_id=str(uuid.uuid4()))
    tool.access_token_provider = lambda: TOKEN
    r = tool.execute("sum(range(10))")
    check(r["status"] == "Success" and r["result"] == 45, f"adsci execute: {r}")
    tool.execute("x = 41")
    r = tool.execute("x + 1")
    check(r["result"] == 42, f"adsci state persists: {r}")
    r = tool.execute("1/0")
    check(r["status"] == "Failure" and "ZeroDivisionError" in r["stderr"], f"adsci failure: {r}")
    meta = tool.upload_file(data=io.BytesIO(b"hello"), remote_file_path="hello.txt")
    check(meta.filename == "hello.txt", f"adsci upload: {meta}")
    check(tool.download_file(remote_file_path="hello.txt").read() == b"hello", "adsci download")
    check(any(f.filename == "hello.txt" for f in tool.list_files()), "adsci list")
    e = raises(lambda: tool.download_file(remote_file_path="missing.txt"), requests.HTTPError, "adsci missing file")
    check(e.response.status_code == 404, f"adsci missing file status: {e}")
    return "azure-dynamic-sessions-code-interpreter"


def langchain_bash(endpoint):
    from langchain_azure_dynamic_sessions import SessionsBashTool

    tool = SessionsBashTool(pool_management_endpoint=endpoint, access_token_provider=lambda: TOKEN)
    # execute() returns the service's response as-is: the exit code is the top-level status,
    # the streams are under `result`.
    r = tool.execute("echo hi; exit 3")
    check(r["result"]["stdout"] == "hi\n" and int(r["status"]) == 3, f"langchain bash exit code: {r}")
    content, _ = tool._run("echo out; echo err >&2; exit 2")
    out = json.loads(content)
    check(out == {"stdout": "out\n", "stderr": "err\n", "exitCode": 2}, f"langchain bash tool run: {content}")
    meta = tool.upload_file(data=io.BytesIO(b"x"), remote_file_path="f.txt")
    check(meta.filename == "f.txt" and meta.size_in_bytes == 1, f"langchain bash upload: {meta}")
    r = tool.execute("cat /mnt/data/f.txt")
    check(r["result"]["stdout"] == "x", f"langchain bash sees upload: {r}")
    tool.execute("printf 'made' > /mnt/data/made.txt")
    check("made.txt" in [f.filename for f in tool.list_files()], "langchain bash list")
    check(tool.download_file(remote_file_path="made.txt").read() == b"made", "langchain bash download")
    tool.delete_session()
    return "langchain SessionsBashTool"


def llamaindex(endpoint, scratch):
    import requests
    from llama_index.tools.azure_code_interpreter import AzureCodeInterpreterToolSpec

    saved = os.path.join(scratch, "images")
    os.mkdir(saved)
    spec = AzureCodeInterpreterToolSpec(pool_management_endpoint=endpoint, local_save_path=saved)
    # The spec's token provider is a public attribute (DefaultAzureCredential otherwise).
    spec.access_token_provider = lambda: TOKEN
    r = spec.code_interpreter("1+1")["properties"]
    check(r["status"] == "Success" and r["result"] == 2, f"llamaindex execute 1+1: {r}")
    # The functions a model calls, as llama-index builds them.
    tools = {t.metadata.name: t for t in spec.to_tool_list()}
    check(set(tools) == {"code_interpreter", "list_files"}, f"llamaindex tools: {sorted(tools)}")
    tools["code_interpreter"](python_code="x = 41")
    r = tools["code_interpreter"](python_code="x + 1").raw_output["properties"]
    check(r["result"] == 42, f"llamaindex state persists through the tool: {r}")
    r = spec.code_interpreter("print('hi')\n1/0")["properties"]
    check(r["status"] == "Failure" and "ZeroDivisionError" in r["stderr"] and r["stdout"] == "hi\n", f"llamaindex failure: {r}")
    # Its `data=` upload path is broken upstream (an unbound name); a local file works.
    local = os.path.join(scratch, "data.csv")
    with open(local, "wb") as f:
        f.write(b"a,b\n1,2\n")
    metas = spec.upload_file(local_file_path=local)
    check([(m.filename, m.size_in_bytes) for m in metas] == [("data.csv", 8)], f"llamaindex upload: {metas}")
    r = spec.code_interpreter("open('/mnt/data/data.csv').read()")["properties"]
    check(r["result"] == "a,b\n1,2\n", f"llamaindex code sees upload: {r}")
    names = [m.filename for m in tools["list_files"]().raw_output]
    check("data.csv" in names, f"llamaindex list through the tool: {names}")
    spec.code_interpreter(WRITE_BINARY)
    data = spec.download_file_to_local(remote_file_path="/mnt/data/out.bin").read()
    check(data == BINARY, "llamaindex binary download is byte-exact")
    # An image result is saved where the spec was told, its base64 replaced by a flag.
    r = spec.code_interpreter(
        "import matplotlib\nmatplotlib.use('Agg')\nimport matplotlib.pyplot as plt\nplt.plot([1, 2])\nplt.show()"
    )["properties"]
    check(r["result"].get("saved_to_local_path") is True, f"llamaindex image result: {r}")
    pngs = os.listdir(saved)
    check(len(pngs) == 1 and open(os.path.join(saved, pngs[0]), "rb").read(8) == b"\x89PNG\r\n\x1a\n", f"llamaindex saved image: {pngs}")
    e = raises(lambda: spec.download_file_to_local(remote_file_path="missing.txt"), requests.HTTPError, "llamaindex missing file")
    check(e.response.status_code == 404, f"llamaindex missing file status: {e}")
    return "llama-index AzureCodeInterpreterToolSpec"


class LocalCredential:
    """A TokenCredential whose token the local pool accepts (AutoGen asks for `get_token`)."""

    def get_token(self, *scopes, **kwargs):
        from azure.core.credentials import AccessToken

        check(scopes == ("https://dynamicsessions.io/.default",), f"autogen token scopes: {scopes}")
        return AccessToken(TOKEN, 2**31 - 1)


async def autogen(endpoint, scratch):
    from autogen_core import CancellationToken
    from autogen_core.code_executor import CodeBlock
    from autogen_ext.code_executors.azure import ACADynamicSessionsCodeExecutor

    def block(code):
        return [CodeBlock(code=code, language="python")]

    cancel = CancellationToken()
    executor = ACADynamicSessionsCodeExecutor(pool_management_endpoint=endpoint, credential=LocalCredential(), work_dir=scratch)
    await executor.start()
    # The first run also lists the session's packages and moves it into /mnt/data.
    r = await executor.execute_code_blocks(block("print(1 + 1)"), cancel)
    check(r.exit_code == 0 and r.output.startswith("2\n"), f"autogen execute: {r}")
    await executor.execute_code_blocks(block("x = 41"), cancel)
    r = await executor.execute_code_blocks(block("print(x + 1)"), cancel)
    check(r.exit_code == 0 and r.output.startswith("42\n"), f"autogen state persists: {r}")
    r = await executor.execute_code_blocks(block("print('hi')\n1/0"), cancel)
    check(r.exit_code == 1 and "ZeroDivisionError" in r.output and "hi" in r.output, f"autogen failure: {r}")
    with open(os.path.join(scratch, "data.csv"), "wb") as f:
        f.write(b"a,b\n1,2\n")
    await executor.upload_files(["data.csv"], cancel)
    r = await executor.execute_code_blocks(block("print(open('data.csv').read(), end='')"), cancel)
    check(r.exit_code == 0 and r.output.startswith("a,b\n1,2\n"), f"autogen code sees upload in its cwd: {r}")
    names = await executor.get_file_list(cancel)
    check("data.csv" in names, f"autogen list: {names}")
    await executor.execute_code_blocks(block(WRITE_BINARY), cancel)
    os.remove(os.path.join(scratch, "data.csv"))
    paths = await executor.download_files(["out.bin"], cancel)
    check(len(paths) == 1 and open(paths[0], "rb").read() == BINARY, f"autogen binary download is byte-exact: {paths}")
    # restart() moves to a new session: the old state must be gone.
    await executor.restart()
    r = await executor.execute_code_blocks(block("print(x)"), cancel)
    check(r.exit_code == 1 and "NameError" in r.output, f"autogen restart is a new session: {r}")
    await executor.stop()
    return "autogen-ext ACADynamicSessionsCodeExecutor"


async def semantic_kernel(endpoint, scratch):
    import httpx
    from semantic_kernel import Kernel
    from semantic_kernel.core_plugins.sessions_python_tool import SessionsPythonTool
    from semantic_kernel.exceptions.function_exceptions import FunctionExecutionException

    # Uploads are off unless enabled for named directories: configuration, not code.
    tool = SessionsPythonTool(
        auth_callback=lambda: TOKEN,
        pool_management_endpoint=endpoint,
        enable_dangerous_file_uploads=True,
        allowed_upload_directories=[scratch],
    )
    local = os.path.join(scratch, "data.csv")
    with open(local, "wb") as f:
        f.write(b"a,b\n1,2\n")
    # Upload first: execute_code sets `Content-Type: application/json` on the tool's shared
    # httpx client, and every later upload then labels its multipart body as JSON (below).
    meta = await tool.upload_file(local_file_path=local)
    check((meta.full_path, meta.size_in_bytes) == ("/mnt/data/data.csv", 8), f"semantic kernel upload: {meta}")
    out = await tool.execute_code("open('/mnt/data/data.csv').read()")
    check(out.startswith("Status:\nSuccess\nResult:\na,b\n1,2\n"), f"semantic kernel code sees upload: {out!r}")
    # The kernel function a model calls, through a Kernel; state is kept between runs.
    kernel = Kernel()
    kernel.add_plugin(tool, "python")
    await kernel.invoke(plugin_name="python", function_name="execute_code", code="x = 41")
    out = str(await kernel.invoke(plugin_name="python", function_name="execute_code", code="x + 1"))
    check(out.startswith("Status:\nSuccess\nResult:\n42\n"), f"semantic kernel state persists through the kernel: {out!r}")
    out = await tool.execute_code("print('hi')\n1/0")
    check(out.startswith("Status:\nFailure\n") and "Stdout:\nhi\n" in out and "ZeroDivisionError" in out, f"semantic kernel failure: {out!r}")
    names = [m.filename for m in await tool.list_files()]
    check("data.csv" in names, f"semantic kernel list: {names}")
    await tool.execute_code(WRITE_BINARY)
    data = (await tool.download_file(remote_file_name="out.bin")).read()
    check(data == BINARY, "semantic kernel binary download is byte-exact")
    try:
        await tool.download_file(remote_file_name="missing.txt")
        check(False, "semantic kernel missing file: no error")
    except FunctionExecutionException as e:
        check("status code 404" in str(e), f"semantic kernel missing file: {e}")
    # SK 1.45.0's upload after an execution: the pool refuses the mislabelled body, saying why.
    # It answers before reading the body, so the connection may close under the client first.
    try:
        await tool.upload_file(local_file_path=local)
        check(False, "semantic kernel upload after execute: no error")
    except FunctionExecutionException as e:
        check("status code 400" in str(e) and "multipart/form-data" in str(e), f"semantic kernel upload after execute: {e}")
    except httpx.TransportError:
        pass
    await tool.http_client.aclose()
    return "semantic-kernel SessionsPythonTool"


def run(kind, endpoint):
    if kind == "python":
        return [langchain_python(endpoint), adsci(endpoint)]
    if kind == "shell":
        return [langchain_bash(endpoint)]
    with tempfile.TemporaryDirectory() as scratch:
        if kind == "llamaindex":
            return [llamaindex(endpoint, scratch)]
        if kind == "autogen":
            return [asyncio.run(autogen(endpoint, scratch))]
        if kind == "semantic-kernel":
            return [asyncio.run(semantic_kernel(endpoint, scratch))]
    check(False, f"unknown client kind {kind!r}")


if __name__ == "__main__":
    print(json.dumps({"ok": run(sys.argv[1], sys.argv[2])}))
