//! Section 1: client overhead against the canned loopback server.
//!
//! Sequential latency: `seq_rounds` rounds of `seq_calls` calls, alternating which client goes
//! first (A/B then B/A) so that drift on a shared machine hits both. Throughput: 64 concurrent
//! callers (tokio tasks), rounds alternated the same way; calls per second per round, median.
//! Both clients run on the same current-thread runtime; the server runs on its own thread.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::bare::{Bare, BoxError, Prepared};
use crate::bench::{Params, client_runtime};
use crate::canned_server::{CannedServer, IDENT};
use crate::ours::{Auth, Ours, Variant};
use crate::report::{Section, Target};
use crate::stats::{self, Summary};

pub const OVERHEAD_TARGET: f64 = 1.10;
pub const THROUGHPUT_TARGET: f64 = 0.90;

/// One of the two clients, ready to send the benchmark's execute call.
#[derive(Clone)]
pub enum Caller {
    Ours(Ours),
    Bare(Box<Bare>, Arc<Prepared>),
}

impl Caller {
    pub async fn call(&self) -> Result<(), BoxError> {
        match self {
            Caller::Ours(o) => o.execute_check(IDENT, "1+1").await,
            Caller::Bare(b, p) => {
                let (_, v) = b.send_json(p).await?;
                if v.get("status").and_then(|s| s.as_str()) == Some("Succeeded") {
                    Ok(())
                } else {
                    Err(format!("unexpected body {v}").into())
                }
            }
        }
    }
}

/// Capture the request our client sends and turn it into the bare client's request.
pub async fn bare_request_like_ours(
    server: &CannedServer,
    ours: Option<&Ours>,
) -> (Prepared, &'static str) {
    let endpoint = server.endpoint();
    if let Some(o) = ours {
        server.capture_next();
        if o.execute_check(IDENT, "1+1").await.is_ok()
            && let Some(c) = server.take_captured()
        {
            let uri = format!("{}{}", endpoint.trim_end_matches('/'), c.path_and_query);
            // `Host` is left for hyper-util to write, as for any of its users: captured, it would
            // spare bare the work that ours does (once per authority) and bare hyper-util does
            // for every request to a non-default port.
            let mut headers = c.headers;
            headers.remove(http::header::HOST);
            if let Ok(uri) = uri.parse() {
                return (
                    Prepared {
                        method: c.method,
                        uri,
                        headers,
                        body: c.body,
                    },
                    "captured from our client",
                );
            }
        }
    }
    (
        Prepared::execute_fallback(&endpoint, "1+1"),
        "hand-written (our client unavailable)",
    )
}

/// `n` sequential calls; the latency of each.
pub async fn sequential(c: &Caller, n: usize) -> Result<Vec<Duration>, BoxError> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        c.call().await?;
        out.push(t.elapsed());
    }
    Ok(out)
}

/// `callers` tasks each making `per_caller` calls; calls per second over the whole run.
pub async fn concurrent(c: &Caller, callers: usize, per_caller: usize) -> Result<f64, BoxError> {
    let t = Instant::now();
    let tasks: Vec<_> = (0..callers)
        .map(|_| {
            let c = c.clone();
            tokio::spawn(async move {
                for _ in 0..per_caller {
                    c.call().await?;
                }
                Ok::<_, BoxError>(())
            })
        })
        .collect();
    for t in tasks {
        t.await
            .map_err(|e| -> BoxError { e.to_string().into() })??;
    }
    Ok((callers * per_caller) as f64 / t.elapsed().as_secs_f64())
}

pub struct SeqResult {
    pub ours: Summary,
    pub bare: Summary,
    pub round_ratios: Vec<f64>,
}

/// The interleaved sequential measurement (also used by the Python section for our median).
pub async fn interleaved_sequential(
    ours: &Caller,
    bare: &Caller,
    rounds: usize,
    calls: usize,
) -> Result<SeqResult, BoxError> {
    let (mut all_ours, mut all_bare, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for r in 0..rounds {
        let order = if r % 2 == 0 {
            [ours, bare]
        } else {
            [bare, ours]
        };
        let mut med = [0.0; 2];
        for c in order {
            let lat = sequential(c, calls).await?;
            let m = stats::summarize(&lat).median_us;
            if matches!(c, Caller::Ours(_)) {
                med[0] = m;
                all_ours.extend(lat);
            } else {
                med[1] = m;
                all_bare.extend(lat);
            }
        }
        ratios.push(med[0] / med[1]);
    }
    Ok(SeqResult {
        ours: stats::summarize(&all_ours),
        bare: stats::summarize(&all_bare),
        round_ratios: ratios,
    })
}

pub fn run(params: &Params) -> Section {
    let mut section = Section::new("overhead", "1. Client overhead (canned loopback server)")
        .expect(&[
            ("overhead_ratio", "", Some(Target::AtMost(OVERHEAD_TARGET))),
            (
                "throughput_ratio",
                "",
                Some(Target::AtLeast(THROUGHPUT_TARGET)),
            ),
        ]);
    let server = match CannedServer::start() {
        Ok(s) => s,
        Err(e) => return section.failed(format!("cannot start the canned server: {e}")),
    };
    let rt = client_runtime();
    let result = rt.block_on(async {
        let ours = Ours::new(&server.endpoint(), Auth::Static("bench-token".into()))
            .map_err(|e| format!("our client is not available: {e}"))?;
        let (prepared, how) = bare_request_like_ours(&server, Some(&ours)).await;
        let ours = Caller::Ours(ours);
        let bare = Caller::Bare(Box::default(), Arc::new(prepared.clone()));
        let err = |e: BoxError| e.to_string();
        for c in [&ours, &bare] {
            sequential(c, params.warmup).await.map_err(err)?;
        }
        let seq = interleaved_sequential(&ours, &bare, params.seq_rounds, params.seq_calls)
            .await
            .map_err(err)?;
        // Throughput, alternating again.
        let (mut cps_ours, mut cps_bare) = (Vec::new(), Vec::new());
        for c in [&ours, &bare] {
            concurrent(c, params.conc_callers, params.conc_calls_per_caller / 4 + 1)
                .await
                .map_err(err)?;
        }
        for r in 0..params.conc_rounds {
            let order = if r % 2 == 0 {
                [&ours, &bare]
            } else {
                [&bare, &ours]
            };
            for c in order {
                let cps = concurrent(c, params.conc_callers, params.conc_calls_per_caller)
                    .await
                    .map_err(err)?;
                match c {
                    Caller::Ours(_) => cps_ours.push(cps),
                    Caller::Bare(..) => cps_bare.push(cps),
                }
            }
        }
        let breakdown = breakdown(&server, &bare, params).await.map_err(err)?;
        Ok::<_, String>((seq, cps_ours, cps_bare, prepared, how, breakdown))
    });
    match result {
        Err(e) => section.failed(e),
        Ok((seq, cps_ours, cps_bare, prepared, how, breakdown)) => {
            let ratio = seq.ours.median_us / seq.bare.median_us;
            let (tp_ours, tp_bare) = (stats::median(&cps_ours), stats::median(&cps_bare));
            section.set(
                "overhead_ratio",
                Some(ratio),
                format!(
                    "median ours {:.1} µs (p90 {:.1}) / bare {:.1} µs (p90 {:.1})",
                    seq.ours.median_us, seq.ours.p90_us, seq.bare.median_us, seq.bare.p90_us
                ),
            );
            section.set(
                "throughput_ratio",
                Some(tp_ours / tp_bare),
                format!(
                    "{} callers: ours {:.0} calls/s / bare {:.0} calls/s",
                    params.conc_callers, tp_ours, tp_bare
                ),
            );
            section.detail("sequential_ours", seq.ours);
            section.detail("sequential_bare", seq.bare);
            section.detail("sequential_round_ratios", &seq.round_ratios);
            section.detail(
                "sequential_round_ratio_median",
                stats::median(&seq.round_ratios),
            );
            section.detail("throughput_ours_calls_per_s", tp_ours);
            section.detail("throughput_bare_calls_per_s", tp_bare);
            section.detail("throughput_rounds_ours", &cps_ours);
            section.detail("throughput_rounds_bare", &cps_bare);
            section.notes.push(breakdown_note(&breakdown));
            section.detail("breakdown", &breakdown);
            section.detail("requests_served", server.requests());
            section.detail("requests_to_unknown_routes", server.not_found());
            section.detail("bare_request", describe(&prepared, how));
            section
        }
    }
}

fn describe(p: &Prepared, how: &str) -> serde_json::Value {
    let headers: Vec<String> = p
        .headers
        .iter()
        .map(|(k, v)| {
            if k == http::header::AUTHORIZATION {
                format!("{k}: <redacted>")
            } else {
                format!("{k}: {}", v.to_str().unwrap_or("<binary>"))
            }
        })
        .collect();
    serde_json::json!({
        "source": how,
        "method": p.method.as_str(),
        "uri": p.uri.to_string(),
        "headers": headers,
        "body": String::from_utf8_lossy(&p.body),
    })
}

/// Where the time goes: reduced stacks measured the same way (interleaved, rotating order).
#[derive(Debug, serde::Serialize)]
pub struct BreakdownRow {
    pub stack: &'static str,
    pub median_us: f64,
    pub p90_us: f64,
    pub calls_per_s: f64,
}

async fn breakdown(
    server: &CannedServer,
    bare: &Caller,
    params: &Params,
) -> Result<Vec<BreakdownRow>, BoxError> {
    let mut callers: Vec<(&'static str, Caller)> = vec![("bare hyper-util", bare.clone())];
    // The floor of the runs before round 5: bare replaying the `Host` header ours sends, so
    // that hyper-util never builds one (kept for comparison with the older figures).
    if let Caller::Bare(b, p) = bare
        && let Some(authority) = p.uri.authority()
        && let Ok(host) = http::HeaderValue::from_str(authority.as_str())
    {
        let mut replayed = Prepared::clone(p);
        replayed.headers.insert(http::header::HOST, host);
        callers.push((
            "bare hyper-util, Host replayed",
            Caller::Bare(b.clone(), Arc::new(replayed)),
        ));
    }
    for v in Variant::DIAGNOSTIC {
        let o = Ours::variant(&server.endpoint(), v)?;
        callers.push((v.name(), Caller::Ours(o)));
    }
    let rounds = params.seq_rounds.clamp(2, 4);
    let calls = params.seq_calls / 2;
    let mut lat: Vec<Vec<Duration>> = vec![Vec::new(); callers.len()];
    let mut cps: Vec<Vec<f64>> = vec![Vec::new(); callers.len()];
    for (_, c) in &callers {
        sequential(c, params.warmup / 2).await?;
    }
    for r in 0..rounds {
        for k in 0..callers.len() {
            let i = (k + r) % callers.len();
            lat[i].extend(sequential(&callers[i].1, calls).await?);
            cps[i].push(
                concurrent(
                    &callers[i].1,
                    params.conc_callers,
                    params.conc_calls_per_caller / 2,
                )
                .await?,
            );
        }
    }
    Ok(callers
        .iter()
        .enumerate()
        .map(|(i, (name, _))| {
            let s = stats::summarize(&lat[i]);
            BreakdownRow {
                stack: name,
                median_us: s.median_us,
                p90_us: s.p90_us,
                calls_per_s: stats::median(&cps[i]),
            }
        })
        .collect())
}

fn breakdown_note(rows: &[BreakdownRow]) -> String {
    let parts: Vec<String> = rows
        .iter()
        .map(|r| {
            format!(
                "{} {:.1} µs, {:.0} calls/s",
                r.stack, r.median_us, r.calls_per_s
            )
        })
        .collect();
    format!(
        "Breakdown (median sequential latency, 64-caller throughput): {}.",
        parts.join("; ")
    )
}

#[derive(clap::Args, Debug, Clone)]
pub struct ProfileArgs {
    /// bare, api, transport, full or full-unlimited-idle.
    #[arg(long, default_value = "full")]
    pub stack: String,
    #[arg(long, default_value_t = 200_000)]
    pub calls: usize,
    /// Concurrent callers (1 = sequential).
    #[arg(long, default_value_t = 1)]
    pub concurrency: usize,
}

pub fn profile_main(args: ProfileArgs) -> std::process::ExitCode {
    let server = CannedServer::start().expect("canned server");
    let rt = client_runtime();
    let result = rt.block_on(async {
        let ours = Ours::new(&server.endpoint(), Auth::Static("bench-token".into()))?;
        let (prepared, _) = bare_request_like_ours(&server, Some(&ours)).await;
        let variant = match args.stack.as_str() {
            "bare" => None,
            "api" => Some(Variant::ApiOnly),
            "transport" => Some(Variant::TransportOnly),
            "full" => Some(Variant::Full),
            "full-unlimited-idle" => Some(Variant::FullUnlimitedIdle),
            other => return Err(format!("unknown stack {other}")),
        };
        let caller = match variant {
            None => Caller::Bare(Box::default(), Arc::new(prepared)),
            Some(v) => Caller::Ours(Ours::variant(&server.endpoint(), v)?),
        };
        let t = Instant::now();
        if args.concurrency <= 1 {
            sequential(&caller, args.calls)
                .await
                .map_err(|e| e.to_string())?;
        } else {
            concurrent(&caller, args.concurrency, args.calls / args.concurrency)
                .await
                .map_err(|e| e.to_string())?;
        }
        Ok(t.elapsed())
    });
    match result {
        Ok(d) => {
            println!(
                "{}: {} calls in {:.2} s = {:.2} µs/call",
                args.stack,
                args.calls,
                d.as_secs_f64(),
                d.as_secs_f64() * 1e6 / args.calls as f64
            );
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            std::process::ExitCode::FAILURE
        }
    }
}
