//! Section "scale" (issue 13): what a new session costs with the data packages — time to the
//! first pandas answer, memory per idle session, and how many sessions one machine holds.
//!
//! Every pool here is a stand-alone emulator process (`bench-emulator-serve`), so that its
//! worker trees are measured apart from this process. The "held" figure is bounded in time and
//! in memory (it stops while a quarter of the machine's memory is still available), so that the
//! bench never pushes the machine into the OOM killer.

use std::io::BufRead as _;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::bare::{Bare, Prepared};
use crate::bench::{Params, client_runtime};
use crate::procfs;
use crate::report::{Section, Target};
use crate::stats;

/// The probe: import pandas and use it.
const PANDAS: &str = "import pandas as pd; pd.DataFrame({'a': [1, 2]}).a.sum()";
/// Sessions the "held" figure aims for.
const HELD_GOAL: usize = 1000;
/// Pre-warmed interpreters in the pools that measure first answers.
const PREWARM: usize = 2;

/// A stand-alone pool process, stopped (by closing its stdin, then by pid) on drop.
struct Pool {
    child: Child,
    endpoint: Arc<String>,
}

impl Pool {
    fn start(prewarm: usize, max_sessions: usize) -> Result<Pool, String> {
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
        let pool = Pool {
            child,
            endpoint: Arc::new(line.trim().to_owned()),
        };
        if pool.endpoint.starts_with("http") {
            Ok(pool)
        } else {
            Err("the emulator process printed no endpoint".to_owned())
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Wait (at most `max`) until the pool process has `n` worker trees.
    fn wait_for_trees(&self, n: usize, max: Duration) {
        let t = Instant::now();
        while procfs::descendant_trees(self.pid()).len() < n && t.elapsed() < max {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Pool {
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

/// Run `code` in session `id`; an error unless it succeeded.
async fn exec(bare: &Bare, endpoint: &str, id: &str, code: &str) -> Result<(), String> {
    let p = Prepared::execute_fallback(endpoint, code).retarget(endpoint, id);
    let (_, v) = bare.send_json(&p).await.map_err(|e| e.to_string())?;
    if v.get("status").and_then(|s| s.as_str()) == Some("Succeeded") {
        Ok(())
    } else {
        Err(format!("the execution did not succeed: {v}"))
    }
}

/// `MemTotal` and `MemAvailable` of the machine, in KiB.
fn meminfo() -> Option<(u64, u64)> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let field = |name: &str| {
        text.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
    };
    Some((field("MemTotal:")?, field("MemAvailable:")?))
}

pub fn run(params: &Params) -> Section {
    let mut section = Section::new("scale", "5b. Sessions at scale (issue 13)").expect(&[
        ("emulator_cold_pandas_ms", "ms", Some(Target::AtMost(50.0))),
        ("emulator_idle_pss_mib", "MiB", Some(Target::AtMost(8.0))),
        (
            "emulator_sessions_held",
            "sessions",
            Some(Target::AtLeast(HELD_GOAL as f64)),
        ),
    ]);
    let quick = params.emu_idle_sessions < 8;
    let rt = client_runtime();
    let bare = Bare::default();

    // First answers: a new identifier each time, after the pool has refilled its warm workers.
    let samples = if quick { 3 } else { 5 };
    let cold = (|| {
        let pool = Pool::start(PREWARM, samples + 4)?;
        let mut times = Vec::new();
        for k in 0..samples {
            pool.wait_for_trees(k + PREWARM, Duration::from_secs(60));
            std::thread::sleep(Duration::from_millis(300));
            let t = Instant::now();
            rt.block_on(exec(&bare, &pool.endpoint, &format!("cold-{k}"), PANDAS))?;
            times.push(t.elapsed());
        }
        Ok::<_, String>(times)
    })();
    match cold {
        Ok(times) => {
            let s = stats::summarize(&times);
            section.set(
                "emulator_cold_pandas_ms",
                Some(s.median_ms()),
                format!(
                    "new identifier → answer of `{PANDAS}`; {samples} samples, {PREWARM} pre-warmed"
                ),
            );
            section.detail("cold_pandas", s);
        }
        Err(e) => section.notes.push(format!("cold pandas: {e}")),
    }

    // Idle memory after that call: nothing pre-warmed, so every tree is a session.
    let n = params.emu_idle_sessions;
    let idle = (|| {
        let pool = Pool::start(0, n + 4)?;
        rt.block_on(async {
            for i in 0..n {
                exec(&bare, &pool.endpoint, &format!("idle-{i}"), PANDAS).await?;
            }
            Ok::<_, String>(())
        })?;
        std::thread::sleep(Duration::from_secs(1));
        let trees = procfs::descendant_trees(pool.pid());
        if trees.len() != n {
            return Err(format!("expected {n} session trees, found {}", trees.len()));
        }
        let (mut pss, mut rss) = (0u64, 0u64);
        for (_, tree) in &trees {
            for pid in tree {
                pss += procfs::pss_kib(*pid).unwrap_or(0);
                rss += procfs::status_kib(&pid.to_string(), "VmRSS").unwrap_or(0);
            }
        }
        Ok((
            pss as f64 / 1024.0 / n as f64,
            rss as f64 / 1024.0 / n as f64,
        ))
    })();
    match idle {
        Ok((pss, rss)) => {
            section.set(
                "emulator_idle_pss_mib",
                Some(pss),
                format!("PSS summed over each idle session's tree after one pandas call / {n}"),
            );
            section.detail("idle_rss_mib_per_session", rss);
        }
        Err(e) => section.notes.push(format!("idle PSS: {e}")),
    }

    // Held: create sessions until the goal, the time budget or the memory floor, then ask each
    // for a second pandas answer.
    let budget = Duration::from_secs(if quick { 60 } else { 300 });
    let held = (|| {
        let (total_kib, start_avail) = meminfo().ok_or("no /proc/meminfo")?;
        let floor = total_kib / 4;
        let pool = Pool::start(PREWARM, HELD_GOAL)?;
        let t = Instant::now();
        let (mut created, mut stop_reason, mut peak_used_kib) = (0usize, "goal", 0u64);
        rt.block_on(async {
            while created < HELD_GOAL {
                if t.elapsed() > budget {
                    stop_reason = "time budget";
                    break;
                }
                let avail = meminfo().map(|m| m.1).unwrap_or(0);
                peak_used_kib = peak_used_kib.max(start_avail.saturating_sub(avail));
                if avail < floor {
                    stop_reason = "memory floor (a quarter of MemTotal)";
                    break;
                }
                // Two at a time: the machine has two cores.
                let (ida, idb) = (format!("held-{created}"), format!("held-{}", created + 1));
                let a = exec(&bare, &pool.endpoint, &ida, PANDAS);
                let b = exec(&bare, &pool.endpoint, &idb, PANDAS);
                let (ra, rb) = tokio::join!(a, b);
                ra?;
                rb?;
                created += 2;
            }
            Ok::<_, String>(())
        })?;
        let create_s = t.elapsed().as_secs_f64();
        let answered = rt.block_on(async {
            let mut ok = 0usize;
            for i in 0..created {
                if exec(&bare, &pool.endpoint, &format!("held-{i}"), PANDAS)
                    .await
                    .is_ok()
                {
                    ok += 1;
                }
            }
            ok
        });
        let avail = meminfo().map(|m| m.1).unwrap_or(0);
        peak_used_kib = peak_used_kib.max(start_avail.saturating_sub(avail));
        Ok::<_, String>((answered, created, create_s, peak_used_kib, stop_reason))
    })();
    match held {
        Ok((answered, created, create_s, peak_kib, why)) => {
            section.set(
                "emulator_sessions_held",
                Some(answered as f64),
                format!(
                    "sessions answering a second pandas call; {created} created in {create_s:.1} s \
                     (stopped by: {why}); pool's peak memory {:.0} MiB (MemAvailable drop)",
                    peak_kib as f64 / 1024.0
                ),
            );
            section.detail("held_created", created);
            section.detail("held_create_s", create_s);
            section.detail("held_peak_mib", peak_kib as f64 / 1024.0);
            section.detail("held_stopped_by", why);
        }
        Err(e) => section.notes.push(format!("held: {e}")),
    }
    section
}
