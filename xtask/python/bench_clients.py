"""Per-call latency of the Python dynamic-sessions clients against the canned loopback server.

Run by `cargo xtask bench` inside target/bench/pyclients-venv. Prints one JSON object on stdout:
{"clients": {"<name>": {"version", "n", "median_us", "p90_us", "min_us", "mean_us"} | {"error": "..."}}}

No Azure call is made: both clients get a custom access-token provider instead of
azure-identity's DefaultAzureCredential.
"""

import argparse
import json
import statistics
import sys
import time
from importlib import metadata


def summarize(samples_s):
    us = sorted(s * 1e6 for s in samples_s)
    n = len(us)
    return {
        "n": n,
        "median_us": statistics.median(us),
        "p90_us": us[min(n - 1, round(0.9 * (n - 1)))],
        "min_us": us[0],
        "mean_us": sum(us) / n,
    }


def measure(execute, warmup, iterations):
    for _ in range(warmup):
        execute("1+1")
    samples = []
    perf = time.perf_counter
    cpu0 = time.process_time()
    for _ in range(iterations):
        t0 = perf()
        out = execute("1+1")
        samples.append(perf() - t0)
    cpu = time.process_time() - cpu0
    if out.get("stdout") != "2\n" or out.get("status") != "Success":
        raise RuntimeError(f"unexpected response: {out!r}")
    return samples, cpu


def adsci(endpoint):
    from azure_dynamic_sessions_code_interpreter import CodeInterpreterTool

    tool = CodeInterpreterTool(pool_management_endpoint=endpoint, session_id="s")
    # The constructor builds a DefaultAzureCredential-backed provider lazily (no Azure call
    # until it is invoked); the attribute is the documented override point.
    tool.access_token_provider = lambda: "bench-token"
    return tool.execute


def langchain(endpoint):
    from langchain_azure_dynamic_sessions import SessionsPythonREPLTool

    tool = SessionsPythonREPLTool(
        pool_management_endpoint=endpoint,
        session_id="s",
        access_token_provider=lambda: "bench-token",
    )
    return tool.execute


CLIENTS = {
    "azure-dynamic-sessions-code-interpreter": adsci,
    "langchain-azure-dynamic-sessions": langchain,
}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--endpoint", required=True)
    p.add_argument("--warmup", type=int, default=50)
    p.add_argument("--iterations", type=int, default=500)
    p.add_argument("--rounds", type=int, default=2, help="alternate the clients this many times")
    args = p.parse_args()

    executes, results, samples, cpu_s = {}, {}, {}, {}
    for name, make in CLIENTS.items():
        try:
            executes[name] = make(args.endpoint)
            samples[name] = []
        except Exception as e:  # an import or constructor failure skips only that client
            results[name] = {"error": f"{type(e).__name__}: {e}"}
    # Alternate the clients in rounds (A/B/A/B) so drift on a shared machine hits both.
    per_round = max(1, args.iterations // max(1, args.rounds))
    for r in range(max(1, args.rounds)):
        for name, execute in list(executes.items()):
            try:
                got, cpu = measure(execute, args.warmup if r == 0 else 5, per_round)
                samples[name] += got
                cpu_s[name] = cpu_s.get(name, 0.0) + cpu
            except Exception as e:
                results[name] = {"error": f"{type(e).__name__}: {e}"}
                del executes[name]
    for name in executes:
        results[name] = summarize(samples[name])
        # Client CPU time (user + sys of this process, which runs only the client) per call.
        results[name]["cpu_us_per_call"] = cpu_s[name] * 1e6 / len(samples[name])
    for name in results:
        try:
            results[name]["version"] = metadata.version(name)
        except metadata.PackageNotFoundError:
            results[name]["version"] = None
    results_out = {"python": sys.version.split()[0], "clients": results}
    print(json.dumps(results_out))


if __name__ == "__main__":
    main()
