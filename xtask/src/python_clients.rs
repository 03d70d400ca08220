//! Section 2: the Python clients from PyPI against the same canned server and workload.
//!
//! A virtual environment in `<out>/pyclients-venv` gets `azure-dynamic-sessions-code-interpreter`
//! and `langchain-azure-dynamic-sessions`; `xtask/python/bench_clients.py` times `execute("1+1")`
//! with `time.perf_counter` inside Python. Our median is measured right after, on the same server.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use crate::bench::{Params, client_runtime, workspace_root};
use crate::canned_server::CannedServer;
use crate::ours::{Auth, Ours};
use crate::overhead::{self, Caller};
use crate::procfs;
use crate::report::{Section, Target};

/// Client CPU time per call, faster Python client / ours.
pub const CPU_RATIO_TARGET: f64 = 20.0;
pub const SPEEDUP_TARGET: f64 = 10.0;
pub const PACKAGES: [&str; 2] = [
    "azure-dynamic-sessions-code-interpreter",
    "langchain-azure-dynamic-sessions",
];

/// Create the venv and install the packages unless they are importable already.
fn ensure_venv(dir: &Path) -> Result<PathBuf, String> {
    let python = dir.join("bin").join("python");
    let check = |python: &Path| {
        Command::new(python)
            .args([
                "-c",
                "import azure_dynamic_sessions_code_interpreter, langchain_azure_dynamic_sessions",
            ])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    };
    if python.exists() && check(&python) {
        return Ok(python);
    }
    let host = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    if !python.exists() {
        eprintln!("   creating {} ...", dir.display());
        run_cmd(
            Command::new(&host).args(["-m", "venv"]).arg(dir),
            "python3 -m venv",
        )?;
    }
    eprintln!("   pip install {} ...", PACKAGES.join(" "));
    run_cmd(
        Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
            ])
            .args(PACKAGES),
        "pip install",
    )?;
    if check(&python) {
        Ok(python)
    } else {
        Err("the packages installed but do not import".into())
    }
}

fn run_cmd(cmd: &mut Command, what: &str) -> Result<(), String> {
    let out = cmd.output().map_err(|e| format!("{what}: {e}"))?;
    if out.status.success() {
        return Ok(());
    }
    let err = String::from_utf8_lossy(&out.stderr);
    let tail: Vec<&str> = err.lines().rev().take(4).collect();
    Err(format!(
        "{what} failed ({}): {}",
        out.status,
        tail.join(" | ")
    ))
}

pub fn run(params: &Params, out_dir: &Path) -> Section {
    let mut section = Section::new("python", "2. Against the Python clients (canned server)")
        .expect(&[
            ("python_speedup", "×", Some(Target::AtLeast(SPEEDUP_TARGET))),
            (
                "python_cpu_ratio",
                "×",
                Some(Target::AtLeast(CPU_RATIO_TARGET)),
            ),
        ]);
    let python = match ensure_venv(&out_dir.join("pyclients-venv")) {
        Ok(p) => p,
        Err(e) => {
            return section.failed(format!(
                "skipped: cannot set up the Python clients' virtual environment: {e}"
            ));
        }
    };
    let server = match CannedServer::start() {
        Ok(s) => s,
        Err(e) => return section.failed(format!("cannot start the canned server: {e}")),
    };
    let script = workspace_root()
        .join("xtask")
        .join("python")
        .join("bench_clients.py");
    let out = Command::new(&python)
        .arg(&script)
        .args(["--endpoint", &server.endpoint()])
        .args(["--warmup", &params.py_warmup.to_string()])
        .args(["--iterations", &params.py_iterations.to_string()])
        .args(["--rounds", "2"])
        .output();
    let parsed: serde_json::Value = match out {
        Ok(o) if o.status.success() => match serde_json::from_slice(&o.stdout) {
            Ok(v) => v,
            Err(e) => return section.failed(format!("bench_clients.py printed no JSON: {e}")),
        },
        Ok(o) => {
            return section.failed(format!(
                "bench_clients.py failed ({}): {}",
                o.status,
                String::from_utf8_lossy(&o.stderr)
                    .lines()
                    .last()
                    .unwrap_or("")
            ));
        }
        Err(e) => return section.failed(format!("cannot run bench_clients.py: {e}")),
    };
    section.detail("python_results", &parsed);
    section.detail("requests_served", server.requests());
    section.detail("requests_to_unknown_routes", server.not_found());

    // Our median per call, same server, same workload, measured now.
    let rt = client_runtime();
    let ours = rt.block_on(async {
        let ours = Ours::new(&server.endpoint(), Auth::Static("bench-token".into()))?;
        let (prepared, _) = overhead::bare_request_like_ours(&server, Some(&ours)).await;
        let (o, b) = (
            Caller::Ours(ours),
            Caller::Bare(Box::default(), Arc::new(prepared)),
        );
        overhead::sequential(&o, params.warmup)
            .await
            .map_err(|e| e.to_string())?;
        let seq = overhead::interleaved_sequential(&o, &b, 2, params.py_iterations)
            .await
            .map_err(|e| e.to_string())?;
        // Our client's CPU time per call: the client runs alone on this thread (current-thread
        // runtime; the canned server has its own thread).
        let cpu0 = procfs::thread_cpu_ns();
        overhead::sequential(&o, params.py_iterations)
            .await
            .map_err(|e| e.to_string())?;
        let cpu = match (cpu0, procfs::thread_cpu_ns()) {
            (Some(a), Some(b)) => Some((b - a) as f64 / 1e3 / params.py_iterations as f64),
            _ => None,
        };
        Ok::<_, String>((seq, cpu))
    });
    let (ours, ours_cpu_us) = match ours {
        Ok((s, cpu)) => (s.ours, cpu),
        Err(e) => return section.failed(format!("our client is not available: {e}")),
    };
    section.detail("ours_median_us", ours.median_us);
    section.detail("ours_p90_us", ours.p90_us);

    let mut speedups = Vec::new();
    let mut notes = Vec::new();
    if let Some(clients) = parsed.get("clients").and_then(|c| c.as_object()) {
        for (name, r) in clients {
            match r.get("median_us").and_then(|m| m.as_f64()) {
                Some(m) => {
                    let s = m / ours.median_us;
                    speedups.push((name.clone(), s));
                    notes.push(format!(
                        "{name} {} {:.0} µs (p90 {:.0})",
                        r.get("version").and_then(|v| v.as_str()).unwrap_or("?"),
                        m,
                        r.get("p90_us").and_then(|v| v.as_f64()).unwrap_or(f64::NAN)
                    ));
                }
                None => section.notes.push(format!(
                    "{name}: skipped: {}",
                    r.get("error")
                        .and_then(|e| e.as_str())
                        .unwrap_or("no result")
                )),
            }
        }
    }
    section.detail("speedups", &speedups);
    section.detail("ours_cpu_us_per_call", ours_cpu_us);
    // CPU time per call, against the Python client that spends less of it.
    let python_cpu = parsed
        .get("clients")
        .and_then(|c| c.as_object())
        .into_iter()
        .flat_map(|c| c.iter())
        .filter_map(|(name, r)| Some((name.clone(), r.get("cpu_us_per_call")?.as_f64()?)))
        .min_by(|a, b| a.1.total_cmp(&b.1));
    match (python_cpu, ours_cpu_us) {
        (Some((name, py)), Some(ours_cpu)) if ours_cpu > 0.0 => section.set(
            "python_cpu_ratio",
            Some(py / ours_cpu),
            format!("client CPU (user + sys) per call: {name} {py:.0} µs / ours {ours_cpu:.1} µs"),
        ),
        _ => section.set(
            "python_cpu_ratio",
            None,
            "no CPU time from the Python clients or from /proc/thread-self/schedstat",
        ),
    }
    // The headline is the conservative one: against the faster Python client.
    let worst = speedups.iter().map(|(_, s)| *s).reduce(f64::min);
    section.set(
        "python_speedup",
        worst,
        format!(
            "vs the faster Python client; ours {:.0} µs; {}",
            ours.median_us,
            notes.join("; ")
        ),
    );
    section.notes.push(
        "Both Python clients call requests.post/requests.request without a Session, so every call \
         opens a new TCP connection; ours reuses a pooled keep-alive connection. That is each \
         client's real behaviour, not a setting of the benchmark."
            .into(),
    );
    section
}
