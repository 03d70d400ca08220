//! `cargo xtask bench`: runs every section in one go, prints the table, writes the summary.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Instant, SystemTime};

use crate::report::{self, Report, Section};

#[derive(clap::Args, Debug, Clone)]
pub struct BenchArgs {
    /// A shorter run (under 3 minutes): fewer iterations, 256 MiB streams.
    #[arg(long)]
    pub quick: bool,
    /// Exit with status 1 when a target is missed (by default the exit status is 0 regardless).
    #[arg(long)]
    pub check: bool,
    /// Where summary.json, report.md and the scratch files go (default: `<workspace>/target/bench`).
    #[arg(long)]
    pub out_dir: Option<PathBuf>,
    /// Run only these sections (comma-separated: overhead,instructions,python,token,stream,emulator,tool,mcp,scale).
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<String>,
    /// Skip these sections (same names as --only).
    #[arg(long, value_delimiter = ',')]
    pub skip: Vec<String>,
    /// Override the streamed size in MiB (default: 1024, or 256 with --quick).
    #[arg(long)]
    pub stream_mib: Option<u64>,
    /// Also replace the results block of docs/benchmarks.md with this run's tables.
    #[arg(long)]
    pub update_docs: bool,
}

/// Iteration counts for one mode.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Params {
    pub warmup: usize,
    /// Sequential latency: rounds × calls per round, alternating ours/bare (ABBA).
    pub seq_rounds: usize,
    pub seq_calls: usize,
    /// Throughput: 64 concurrent callers, rounds × calls per caller.
    pub conc_callers: usize,
    pub conc_rounds: usize,
    pub conc_calls_per_caller: usize,
    pub py_warmup: usize,
    pub py_iterations: usize,
    pub token_calls: usize,
    pub stream_bytes: u64,
    pub stream_rounds: usize,
    pub emu_exec_calls: usize,
    pub emu_alloc_samples: usize,
    pub emu_parallel_sessions: usize,
    pub emu_parallel_calls_per_session: usize,
    pub emu_idle_sessions: usize,
    pub tool_iterations: usize,
}

impl Params {
    pub fn for_mode(quick: bool, stream_mib: Option<u64>) -> Params {
        const MIB: u64 = 1024 * 1024;
        if quick {
            Params {
                warmup: 300,
                seq_rounds: 6,
                seq_calls: 500,
                conc_callers: 64,
                conc_rounds: 6,
                conc_calls_per_caller: 40,
                py_warmup: 30,
                py_iterations: 300,
                token_calls: 1000,
                stream_bytes: stream_mib.unwrap_or(256) * MIB,
                stream_rounds: 2,
                emu_exec_calls: 100,
                emu_alloc_samples: 4,
                emu_parallel_sessions: 8,
                emu_parallel_calls_per_session: 20,
                emu_idle_sessions: 4,
                tool_iterations: 20_000,
            }
        } else {
            Params {
                warmup: 1000,
                seq_rounds: 10,
                seq_calls: 2000,
                conc_callers: 64,
                conc_rounds: 10,
                conc_calls_per_caller: 100,
                py_warmup: 100,
                py_iterations: 1000,
                token_calls: 1000,
                stream_bytes: stream_mib.unwrap_or(1024) * MIB,
                stream_rounds: 3,
                emu_exec_calls: 300,
                emu_alloc_samples: 10,
                emu_parallel_sessions: 8,
                emu_parallel_calls_per_session: 50,
                emu_idle_sessions: 8,
                tool_iterations: 100_000,
            }
        }
    }
}

/// The workspace root (the parent of xtask/).
pub fn workspace_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(PathBuf::from).unwrap_or(manifest)
}

/// A current-thread runtime for the client side (both clients use this flavour).
pub fn client_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("client runtime")
}

pub fn run(args: BenchArgs) -> ExitCode {
    let started = Instant::now();
    let started_unix = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let out_dir = args
        .out_dir
        .clone()
        .unwrap_or_else(|| workspace_root().join("target").join("bench"));
    if let Err(e) = std::fs::create_dir_all(&out_dir) {
        eprintln!("cannot create {}: {e}", out_dir.display());
        return ExitCode::FAILURE;
    }
    let params = Params::for_mode(args.quick, args.stream_mib);
    let mode = if args.quick { "quick" } else { "full" };
    let wanted = |name: &str| {
        (args.only.is_empty() || args.only.iter().any(|s| s == name))
            && !args.skip.iter().any(|s| s == name)
    };
    eprintln!("xtask bench: {mode} mode, writing to {}", out_dir.display());

    // Before any section runs: the load average read after the scale section would count its
    // thousand sessions.
    let machine = report::Machine::describe();
    let mut sections: Vec<Section> = Vec::new();
    let mut step = |name: &str, f: &mut dyn FnMut() -> Section| {
        if !wanted(name) {
            return;
        }
        let t = Instant::now();
        eprintln!("== {name} ...");
        let s = f();
        eprintln!("== {name} done in {:.1} s", t.elapsed().as_secs_f64());
        sections.push(s);
    };

    step("overhead", &mut || crate::overhead::run(&params));
    step("instructions", &mut || {
        crate::callgrind::run(&params, &out_dir)
    });
    step("python", &mut || {
        crate::python_clients::run(&params, &out_dir)
    });
    step("token", &mut || crate::token::run(&params));
    step("stream", &mut || crate::stream::run(&params, &out_dir));
    step("emulator", &mut || crate::emulator::run(&params));
    step("tool", &mut || crate::tool_path::run(&params));
    step("mcp", &mut crate::mcp::run);
    step("scale", &mut || crate::scale::run(&params));

    let mut report = Report {
        mode,
        machine,
        started_unix,
        elapsed_s: started.elapsed().as_secs_f64(),
        sections,
    };
    // Record the iteration counts with the results.
    if let Some(first) = report.sections.first_mut() {
        first.detail("params", &params);
    }
    println!("{}", report.table());
    if let Err(e) = report.write(&out_dir) {
        eprintln!("cannot write the summary: {e}");
        return ExitCode::FAILURE;
    }
    println!(
        "wrote {} and {}",
        out_dir.join("summary.json").display(),
        out_dir.join("report.md").display()
    );
    if args.update_docs {
        let docs = workspace_root().join("docs").join("benchmarks.md");
        match report::update_docs(&docs, &report.markdown()) {
            Ok(true) => println!("updated {}", docs.display()),
            Ok(false) => eprintln!("{} has no results markers; not updated", docs.display()),
            Err(e) => eprintln!("cannot update {}: {e}", docs.display()),
        }
    }
    let pass = report.all_pass();
    println!(
        "targets: {}",
        if pass {
            "all PASS (or skipped)"
        } else {
            "some FAIL"
        }
    );
    if args.check && !pass {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
