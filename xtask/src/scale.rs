//! Section "scale" (issue 13): what a new session costs with the data packages — time to the
//! first pandas answer, memory per idle session, and how many sessions one machine holds.
//!
//! Every pool here is a stand-alone emulator process (`bench-emulator-serve`), so that its
//! worker trees are measured apart from this process. The "held" figure is bounded in time and
//! in memory (it stops while a quarter of the machine's memory is still available), so that the
//! bench never pushes the machine into the OOM killer.

use std::time::{Duration, Instant};

use crate::bench::{Params, client_runtime};
use crate::emulator::{Driver, ServeProcess, TreeMemory, measure_trees, wait_for_trees};
use crate::report::{Section, Target};
use crate::stats;

/// The probe: import pandas and use it.
const PANDAS: &str = "import pandas as pd; pd.DataFrame({'a': [1, 2]}).a.sum()";
/// Sessions the "held" figure aims for.
const HELD_GOAL: usize = 1000;
/// Sessions of the idle-memory figure (a quarter of it in a quick run).
const IDLE_SESSIONS: usize = 64;
/// Pre-warmed interpreters in the pools that measure first answers.
const PREWARM: usize = 2;

/// Run `code` in session `id`; an error unless it succeeded.
async fn exec(pool: &Driver, id: &str, code: &str) -> Result<(), String> {
    pool.exec(id, code)
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
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

/// User + system CPU of the emulator process itself, in clock ticks (100 per second).
fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace().skip(11);
    Some(fields.next()?.parse::<u64>().ok()? + fields.next()?.parse::<u64>().ok()?)
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

    // First answers: a new identifier each time, after the pool has refilled its warm workers.
    let samples = if quick { 3 } else { 5 };
    let cold = (|| {
        let pool = ServeProcess::start(PREWARM, samples + 4)?;
        let d = pool.bare();
        let mut times = Vec::new();
        for k in 0..samples {
            wait_for_trees(pool.pid(), k + PREWARM, Duration::from_secs(60));
            std::thread::sleep(Duration::from_millis(300));
            let t = Instant::now();
            rt.block_on(exec(&d, &format!("cold-{k}"), PANDAS))?;
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

    // Idle memory after that call: nothing pre-warmed, so every tree is a session. PSS counts
    // each session's share of the pages it shares with the template and the other sessions,
    // so it depends on how many there are: measured with IDLE_SESSIONS of them.
    let n = if quick {
        IDLE_SESSIONS / 4
    } else {
        IDLE_SESSIONS
    };
    let idle = (|| {
        let pool = ServeProcess::start(0, n + 4)?;
        let d = pool.bare();
        rt.block_on(async {
            for i in 0..n {
                exec(&d, &format!("idle-{i}"), PANDAS).await?;
            }
            Ok::<_, String>(())
        })?;
        std::thread::sleep(Duration::from_secs(1));
        measure_trees(pool.pid(), n)
    })();
    match idle {
        Ok(TreeMemory {
            rss_per_session_mib,
            pss_per_session_mib,
            details,
        }) => {
            section.set(
                "emulator_idle_pss_mib",
                Some(pss_per_session_mib),
                format!(
                    "PSS summed over each idle session's tree after one pandas call / {n} sessions \
                     (the template's own share is paid once per pool: idle_template_pss_mib)"
                ),
            );
            section.detail("idle_sessions", n);
            section.detail(
                "idle_private_mib_per_session",
                &details["per_session_private_mib"],
            );
            section.detail("idle_rss_mib_per_session", rss_per_session_mib);
            section.detail("idle_template_pss_mib", &details["template_pss_mib"]);
        }
        Err(e) => section.notes.push(format!("idle PSS: {e}")),
    }

    // Held: create sessions until the goal, the time budget or the memory floor, then ask each
    // for a second pandas answer.
    let budget = Duration::from_secs(if quick { 60 } else { 300 });
    let held = (|| {
        let (total_kib, start_avail) = meminfo().ok_or("no /proc/meminfo")?;
        let floor = total_kib / 4;
        let pool = ServeProcess::start(PREWARM, HELD_GOAL)?;
        let d = pool.bare();
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
                let a = exec(&d, &ida, PANDAS);
                let b = exec(&d, &idb, PANDAS);
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
                if exec(&d, &format!("held-{i}"), PANDAS).await.is_ok() {
                    ok += 1;
                }
            }
            ok
        });
        let avail = meminfo().map(|m| m.1).unwrap_or(0);
        peak_used_kib = peak_used_kib.max(start_avail.saturating_sub(avail));
        // The pool's own CPU while every session is idle: the memory watches and the reaper.
        let window = Duration::from_secs(if quick { 5 } else { 10 });
        let before = cpu_ticks(pool.pid());
        std::thread::sleep(window);
        let idle_cpu_pct = match (before, cpu_ticks(pool.pid())) {
            (Some(a), Some(b)) => Some((b - a) as f64 / 100.0 / window.as_secs_f64() * 100.0),
            _ => None,
        };
        let server_rss_mib =
            crate::procfs::status_kib(&pool.pid().to_string(), "VmRSS").map(|k| k as f64 / 1024.0);
        section.detail("held_idle_pool_cpu_pct", idle_cpu_pct);
        section.detail("held_server_rss_mib", server_rss_mib);
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
