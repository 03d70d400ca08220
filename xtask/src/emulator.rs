//! Section 5: the local pool (sessions-emulator), plus [`EmulatorHost`], which runs an emulator
//! on its own multi-thread runtime for this section and the streaming one.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sessions_emulator::{Emulator, EmulatorBuilder, EmulatorHandle};

use crate::bare::{Bare, BoxError, Prepared};
use crate::bench::{Params, client_runtime};
use crate::ours::{Auth, Ours};
use crate::procfs;
use crate::report::Section;
use crate::stats;

/// An emulator served by its own runtime (two worker threads), shut down on drop.
pub struct EmulatorHost {
    rt: tokio::runtime::Runtime,
    handle: Option<EmulatorHandle>,
    pub python: PathBuf,
}

impl EmulatorHost {
    pub fn start(
        configure: impl FnOnce(EmulatorBuilder) -> EmulatorBuilder,
    ) -> Result<Self, String> {
        let python = python()?;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("emulator")
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        let builder = configure(Emulator::builder().python(&python));
        let handle = rt.block_on(builder.start()).map_err(|e| e.to_string())?;
        Ok(EmulatorHost {
            rt,
            handle: Some(handle),
            python,
        })
    }

    pub fn endpoint(&self) -> String {
        self.handle
            .as_ref()
            .map(|h| h.endpoint().to_owned())
            .unwrap_or_default()
    }
}

impl Drop for EmulatorHost {
    fn drop(&mut self) {
        if let Some(h) = self.handle.take() {
            self.rt.block_on(h.shutdown());
        }
    }
}

/// The interpreter for the pool: `$SESSIONS_EMULATOR_PYTHON`, else the workspace `.venv`
/// (created with numpy/pandas/matplotlib when missing).
fn python() -> Result<PathBuf, String> {
    sessions_emulator::python_env::resolve_python(
        sessions_emulator::python_env::Provision::CreateVenv,
    )
    .map_err(|e| e.to_string())
}

/// Sends code through our client or the bare one.
#[derive(Clone)]
pub(crate) enum Driver {
    Ours(Ours),
    Bare(Box<Bare>, Arc<String>),
}

impl Driver {
    fn name(&self) -> &'static str {
        match self {
            Driver::Ours(_) => "sessions-core",
            Driver::Bare(..) => "bare hyper-util",
        }
    }

    /// Run `code`; the `x-ms-allocation-time` header in milliseconds, when sent.
    pub(crate) async fn exec(&self, identifier: &str, code: &str) -> Result<Option<f64>, BoxError> {
        match self {
            Driver::Ours(o) => o.execute_info(identifier, code).await,
            Driver::Bare(b, endpoint) => {
                let p = Prepared::execute_fallback(endpoint, code).retarget(endpoint, identifier);
                let (headers, v) = b.send_json(&p).await?;
                if v.get("status").and_then(|s| s.as_str()) != Some("Succeeded") {
                    return Err(format!("execution did not succeed: {v}").into());
                }
                Ok(headers
                    .get("x-ms-allocation-time")
                    .and_then(|h| h.to_str().ok())
                    .and_then(|s| s.trim().parse().ok()))
            }
        }
    }

    async fn timed(
        &self,
        identifier: &str,
        code: &str,
    ) -> Result<(Duration, Option<f64>), BoxError> {
        let t = Instant::now();
        let alloc = self.exec(identifier, code).await?;
        Ok((t.elapsed(), alloc))
    }
}

/// Wait (at most `max`) until process `root` has `n` worker trees (sessions plus pre-warmed
/// interpreters).
pub(crate) fn wait_for_trees(root: u32, n: usize, max: Duration) {
    let t = Instant::now();
    while procfs::session_trees(root).sessions.len() < n && t.elapsed() < max {
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub fn run(params: &Params) -> Section {
    let mut section = Section::new("emulator", "5. Local pool (sessions-emulator)").expect(&[
        ("emulator_exec_p50_ms", "ms", None),
        ("emulator_alloc_p50_ms", "ms", None),
        ("emulator_parallel_exec_per_s", "calls/s", None),
        ("emulator_idle_session_rss_mib", "MiB", None),
    ]);
    let prewarm = 2;
    let host = match EmulatorHost::start(|b| b.prewarm(prewarm).max_sessions(64)) {
        Ok(h) => h,
        Err(e) => return section.failed(format!("cannot start the emulator: {e}")),
    };
    section.detail("python", host.python.display().to_string());
    let endpoint = host.endpoint();
    let rt = client_runtime();
    let bare = Driver::Bare(Box::default(), Arc::new(endpoint.clone()));
    let ours = Ours::new(&endpoint, Auth::Static("bench-token".into())).map(Driver::Ours);
    if let Err(e) = &ours {
        section.notes.push(format!(
            "our client is not available ({e}); measured with bare hyper-util"
        ));
    }
    let main = ours.clone().unwrap_or_else(|_| bare.clone());
    let err = |e: BoxError| e.to_string();

    // Warm `1+1` round trips on one session: both clients, alternated.
    let exec = rt.block_on(async {
        let mut lat: Vec<(&'static str, Vec<Duration>)> = Vec::new();
        let mut drivers = vec![main.clone()];
        if ours.is_ok() {
            drivers.push(bare.clone());
        }
        for d in &drivers {
            for _ in 0..5 {
                d.exec("bench-exec", "1+1").await.map_err(err)?;
            }
            lat.push((d.name(), Vec::new()));
        }
        for round in 0..2 {
            let mut order: Vec<usize> = (0..drivers.len()).collect();
            if round % 2 == 1 {
                order.reverse();
            }
            for i in order {
                let d = &drivers[i];
                for _ in 0..params.emu_exec_calls / 2 {
                    let (t, _) = d.timed("bench-exec", "1+1").await.map_err(err)?;
                    lat[i].1.push(t);
                }
            }
        }
        Ok::<_, String>(lat)
    });
    match exec {
        Ok(lat) => {
            let s = stats::summarize(&lat[0].1);
            let other = lat.get(1).map(|(n, l)| {
                let o = stats::summarize(l);
                section.detail("exec_bare", o);
                format!("; {n}: {:.2} ms", o.median_ms())
            });
            section.set(
                "emulator_exec_p50_ms",
                Some(s.median_ms()),
                format!(
                    "warm `1+1` via {} (p90 {:.2} ms){}",
                    lat[0].0,
                    s.p90_us / 1e3,
                    other.unwrap_or_default()
                ),
            );
            section.detail("emulator_exec_client", lat[0].0);
            section.detail("exec", s);
        }
        Err(e) => section.notes.push(format!("exec: {e}")),
    }

    // Allocation from the pre-warmed pool.
    let alloc = rt.block_on(async {
        let (mut first_minus_warm, mut header) = (Vec::new(), Vec::new());
        for k in 0..params.emu_alloc_samples {
            // Sessions so far: bench-exec + k allocation sessions; the pool refills to `prewarm`.
            wait_for_trees(std::process::id(), 1 + k + prewarm, Duration::from_secs(20));
            tokio::time::sleep(Duration::from_millis(300)).await;
            let id = format!("bench-alloc-{k}");
            let (first, h) = main.timed(&id, "1+1").await.map_err(err)?;
            let (warm, _) = main.timed(&id, "1+1").await.map_err(err)?;
            first_minus_warm.push((first.as_secs_f64() - warm.as_secs_f64()) * 1e3);
            if let Some(h) = h {
                header.push(h);
            }
        }
        Ok::<_, String>((first_minus_warm, header))
    });
    match alloc {
        Ok((diff, header)) => {
            let d = stats::median(&diff);
            let (value, how) = if header.is_empty() {
                (
                    d,
                    "first call on a new identifier minus a warm call".to_owned(),
                )
            } else {
                (
                    stats::median(&header),
                    format!("x-ms-allocation-time header; first-minus-warm gives {d:.2} ms"),
                )
            };
            section.set(
                "emulator_alloc_p50_ms",
                Some(value),
                format!(
                    "{how}; {} samples, pool pre-warmed with {prewarm}",
                    diff.len()
                ),
            );
            section.detail("alloc_first_minus_warm_ms", &diff);
            section.detail("alloc_header_ms", &header);
        }
        Err(e) => section.notes.push(format!("alloc: {e}")),
    }

    // Parallel: 8 sessions, `1+1` in each at once.
    let parallel = rt.block_on(async {
        let n = params.emu_parallel_sessions;
        let ids: Vec<String> = (0..n).map(|i| format!("bench-par-{i}")).collect();
        for id in &ids {
            main.exec(id, "1+1").await.map_err(err)?;
        }
        let t = Instant::now();
        let tasks: Vec<_> = ids
            .iter()
            .map(|id| {
                let (d, id) = (main.clone(), id.clone());
                let m = params.emu_parallel_calls_per_session;
                tokio::spawn(async move {
                    for _ in 0..m {
                        d.exec(&id, "1+1").await.map_err(|e| e.to_string())?;
                    }
                    Ok::<_, String>(())
                })
            })
            .collect();
        for task in tasks {
            task.await.map_err(|e| e.to_string())??;
        }
        Ok::<_, String>(
            (n * params.emu_parallel_calls_per_session) as f64 / t.elapsed().as_secs_f64(),
        )
    });
    match parallel {
        Ok(cps) => section.set(
            "emulator_parallel_exec_per_s",
            Some(cps),
            format!(
                "{} sessions × {} calls via {}",
                params.emu_parallel_sessions,
                params.emu_parallel_calls_per_session,
                main.name()
            ),
        ),
        Err(e) => section.notes.push(format!("parallel: {e}")),
    }
    drop(rt);
    drop(host);

    // Idle sessions' RSS: a fresh pool with nothing pre-warmed, so every worker tree under this
    // process belongs to an allocated, idle session.
    match idle_rss(params.emu_idle_sessions) {
        Ok(TreeMemory {
            rss_per_session_mib,
            details,
            ..
        }) => {
            section.set(
                "emulator_idle_session_rss_mib",
                Some(rss_per_session_mib),
                format!(
                    "sum of VmRSS over each idle session's process tree / {} (a forked session's \
                     RSS counts the pages it shares with the template in full: the scale \
                     section's emulator_idle_pss_mib is what it costs)",
                    params.emu_idle_sessions
                ),
            );
            section.detail("idle", details);
        }
        Err(e) => section.notes.push(format!("idle RSS: {e}")),
    }
    section
}

#[derive(clap::Args, Debug, Clone)]
pub struct ServeArgs {
    #[arg(long, default_value_t = 0)]
    pub prewarm: usize,
    #[arg(long, default_value_t = 16)]
    pub max_sessions: usize,
}

/// A stand-alone emulator process, so that its worker trees are measured apart from the
/// benchmark's own process (whose memory the forked relay processes would otherwise share).
pub fn serve_main(args: ServeArgs) -> std::process::ExitCode {
    let host =
        match EmulatorHost::start(|b| b.prewarm(args.prewarm).max_sessions(args.max_sessions)) {
            Ok(h) => h,
            Err(e) => {
                eprintln!("cannot start the emulator: {e}");
                return std::process::ExitCode::FAILURE;
            }
        };
    println!("{}", host.endpoint());
    let _ = std::io::Write::flush(&mut std::io::stdout());
    // Serve until the parent closes our stdin.
    let _ = std::io::Read::read_to_end(&mut std::io::stdin(), &mut Vec::new());
    drop(host);
    std::process::ExitCode::SUCCESS
}

/// A stand-alone pool process (`bench-emulator-serve`), so that its worker trees are measured
/// apart from the benchmark's own process; stopped on drop (its stdin closed, then by pid).
pub(crate) struct ServeProcess {
    child: std::process::Child,
    endpoint: Arc<String>,
}

impl ServeProcess {
    pub(crate) fn start(prewarm: usize, max_sessions: usize) -> Result<ServeProcess, String> {
        use std::io::BufRead as _;
        use std::process::{Command, Stdio};
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        let mut child = Command::new(exe)
            .args(["bench-emulator-serve", "--prewarm"])
            .arg(prewarm.to_string())
            .arg("--max-sessions")
            .arg(max_sessions.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start the emulator process: {e}"))?;
        let mut line = String::new();
        if let Some(out) = child.stdout.take() {
            let _ = std::io::BufReader::new(out).read_line(&mut line);
        }
        let pool = ServeProcess {
            child,
            endpoint: Arc::new(line.trim().to_owned()),
        };
        if pool.endpoint.starts_with("http") {
            Ok(pool)
        } else {
            Err("the emulator process printed no endpoint".to_owned())
        }
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// A bare hyper-util driver for this pool.
    pub(crate) fn bare(&self) -> Driver {
        Driver::Bare(Box::default(), Arc::clone(&self.endpoint))
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let t = Instant::now();
        while t.elapsed() < Duration::from_secs(30) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The idle sessions' memory: a stand-alone pool with nothing pre-warmed, `n` sessions each run
/// `1+1` once, then idle for a second; every worker tree under the emulator process is a session.
fn idle_rss(n: usize) -> Result<TreeMemory, String> {
    let pool = ServeProcess::start(0, n + 4)?;
    let d = pool.bare();
    client_runtime().block_on(async {
        for i in 0..n {
            d.exec(&format!("bench-idle-{i}"), "1+1")
                .await
                .map_err(|e| e.to_string())?;
        }
        Ok::<_, String>(())
    })?;
    std::thread::sleep(Duration::from_secs(1));
    measure_trees(pool.pid(), n)
}

/// Memory of the `n` session trees under a pool process.
pub(crate) struct TreeMemory {
    /// `VmRSS` summed over each tree, per session, in MiB.
    pub(crate) rss_per_session_mib: f64,
    /// PSS summed over each tree, per session, in MiB.
    pub(crate) pss_per_session_mib: f64,
    pub(crate) details: serde_json::Value,
}

/// Measure the worker trees under `emulator_pid`, which must be exactly `n` sessions.
pub(crate) fn measure_trees(emulator_pid: u32, n: usize) -> Result<TreeMemory, String> {
    let found = procfs::session_trees(emulator_pid);
    let trees = found.sessions;
    let template_pss_kib: u64 = found
        .template
        .iter()
        .map(|p| procfs::pss_kib(*p).unwrap_or(0))
        .sum();
    let mut total_kib = 0u64;
    let mut pss_kib = 0u64;
    let mut private_kib = 0u64;
    let mut procs = Vec::new();
    for (_, tree) in &trees {
        for pid in tree {
            let rss = procfs::status_kib(&pid.to_string(), "VmRSS").unwrap_or(0);
            total_kib += rss;
            pss_kib += procfs::pss_kib(*pid).unwrap_or(0);
            private_kib += procfs::private_kib(*pid).unwrap_or(0);
            procs.push(serde_json::json!({
                "pid": pid,
                "rss_kib": rss,
                "cmd": procfs::cmdline(*pid).chars().take(80).collect::<String>(),
            }));
        }
    }
    if trees.len() != n {
        return Err(format!(
            "expected {n} worker trees under the emulator process, found {}",
            trees.len()
        ));
    }
    let pss_per_session_mib = pss_kib as f64 / 1024.0 / n as f64;
    Ok(TreeMemory {
        rss_per_session_mib: total_kib as f64 / 1024.0 / n as f64,
        pss_per_session_mib,
        details: serde_json::json!({
            "sessions": n,
            "worker_trees": trees.len(),
            "emulator_rss_mib": procfs::status_kib(&emulator_pid.to_string(), "VmRSS")
                .map(|k| k as f64 / 1024.0),
            "total_rss_mib": total_kib as f64 / 1024.0,
            "per_session_pss_mib": pss_per_session_mib,
            // What each session holds alone (its share of the template's pages aside).
            "per_session_private_mib": private_kib as f64 / 1024.0 / n as f64,
            // The template's share of the pages it shares with its sessions: paid once per pool.
            "template_pss_mib": template_pss_kib as f64 / 1024.0,
            "processes": procs,
        }),
    })
}
