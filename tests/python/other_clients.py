"""Drive the local pool with other projects' published clients, unmodified.

Usage: other_clients.py <python|shell> <endpoint>
Only the endpoint and the token provider are changed from how the clients are used against
Azure. Prints one JSON line with what was checked; exits non-zero on the first mismatch.
"""
import io
import json
import sys
import uuid
import warnings

warnings.filterwarnings("ignore")


def check(cond, what):
    if not cond:
        print(json.dumps({"failed": what}))
        sys.exit(1)


def langchain_python(endpoint):
    from langchain_azure_dynamic_sessions import SessionsPythonREPLTool

    tool = SessionsPythonREPLTool(pool_management_endpoint=endpoint, access_token_provider=lambda: "local-token")
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
    tool.execute("open('/mnt/data/out.bin','wb').write(bytes(range(256)))")
    data = tool.download_file(remote_file_path="out.bin").read()
    check(data == bytes(range(256)), "langchain binary download is byte-exact")
    content, _ = tool._run("1+2")
    check(json.loads(content)["result"] == 3, f"langchain tool run: {content}")
    tool.delete_session()
    return "langchain SessionsPythonREPLTool"


def adsci(endpoint):
    from azure_dynamic_sessions_code_interpreter import CodeInterpreterTool

    tool = CodeInterpreterTool(pool_management_endpoint=endpoint, session_id=str(uuid.uuid4()))
    tool.access_token_provider = lambda: "local-token"
    r = tool.execute("sum(range(10))")
    check(r["status"] == "Success" and r["result"] == 45, f"adsci execute: {r}")
    meta = tool.upload_file(data=io.BytesIO(b"hello"), remote_file_path="hello.txt")
    check(meta.filename == "hello.txt", f"adsci upload: {meta}")
    check(tool.download_file(remote_file_path="hello.txt").read() == b"hello", "adsci download")
    check(any(f.filename == "hello.txt" for f in tool.list_files()), "adsci list")
    return "azure-dynamic-sessions-code-interpreter"


def langchain_bash(endpoint):
    from langchain_azure_dynamic_sessions import SessionsBashTool

    tool = SessionsBashTool(pool_management_endpoint=endpoint, access_token_provider=lambda: "local-token")
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


if __name__ == "__main__":
    kind, endpoint = sys.argv[1], sys.argv[2]
    done = [langchain_python(endpoint), adsci(endpoint)] if kind == "python" else [langchain_bash(endpoint)]
    print(json.dumps({"ok": done}))
