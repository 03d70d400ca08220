//! `instructions_ratio`: instructions per execute call at 64 concurrent callers, ours / bare,
//! counted by `valgrind --tool=callgrind` (deterministic, so it holds on a noisy machine).
//!
//! Each stack runs alone in a child process (`xtask bench-profile`) twice, with two call
//! counts; the difference of the two totals divided by the difference of the counts is the
//! cost of one call, with start-up, TLS set-up and connection opening cancelled out. The count
//! is the whole process: client and canned server (the server's share is the same for both).

use std::path::Path;
use std::process::Command;

use crate::bench::Params;
use crate::report::{Section, Target};

pub const INSTRUCTIONS_TARGET: f64 = 1.25;

/// The valgrind binary, installing it with apt-get when it is missing and we may.
fn find_valgrind(notes: &mut Vec<String>) -> Result<String, String> {
    let works = || {
        Command::new("valgrind")
            .arg("--version")
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    if let Some(v) = works() {
        notes.push(format!("valgrind found: {v}"));
        return Ok("valgrind".into());
    }
    eprintln!("   valgrind not found; trying `apt-get install -y valgrind`");
    let installed = Command::new("apt-get")
        .args(["install", "-y", "-q", "valgrind"])
        .output()
        .is_ok_and(|o| o.status.success());
    match works() {
        Some(v) if installed => {
            notes.push(format!("valgrind installed with apt-get: {v}"));
            Ok("valgrind".into())
        }
        _ => Err(
            "valgrind is not installed and `apt-get install -y valgrind` did not work \
                  (install valgrind to get this figure)"
                .into(),
        ),
    }
}

/// Total instructions (`summary:` of the callgrind output) of one profiled run.
fn instructions(valgrind: &str, out_dir: &Path, stack: &str, calls: usize) -> Result<u64, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find the xtask binary: {e}"))?;
    let out_file = out_dir.join(format!("callgrind.{stack}.{calls}.out"));
    let output = Command::new(valgrind)
        .arg("--tool=callgrind")
        .arg(format!("--callgrind-out-file={}", out_file.display()))
        .arg(&exe)
        .args(["bench-profile", "--stack", stack])
        .args(["--calls", &calls.to_string(), "--concurrency", "64"])
        .output()
        .map_err(|e| format!("cannot run valgrind: {e}"))?;
    if !output.status.success() {
        let err = String::from_utf8_lossy(&output.stderr);
        return Err(format!(
            "callgrind run of {stack} failed ({}): {}",
            output.status,
            err.lines().last().unwrap_or("")
        ));
    }
    let text = std::fs::read_to_string(&out_file)
        .map_err(|e| format!("cannot read {}: {e}", out_file.display()))?;
    let _ = std::fs::remove_file(&out_file);
    text.lines()
        .find_map(|l| {
            l.strip_prefix("summary:")
                .or_else(|| l.strip_prefix("totals:"))
        })
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .ok_or_else(|| format!("no instruction total in {}", out_file.display()))
}

/// Instructions of one call: the slope between two runs of `small` and `large` calls.
fn per_call(
    valgrind: &str,
    out_dir: &Path,
    stack: &str,
    small: usize,
    large: usize,
) -> Result<f64, String> {
    let a = instructions(valgrind, out_dir, stack, small)?;
    let b = instructions(valgrind, out_dir, stack, large)?;
    if b <= a {
        return Err(format!(
            "{stack}: {large} calls counted no more than {small} ({b} ≤ {a})"
        ));
    }
    Ok((b - a) as f64 / (large - small) as f64)
}

pub fn run(params: &Params, out_dir: &Path) -> Section {
    let mut section =
        Section::new("instructions", "1b. Instructions per call (callgrind)").expect(&[(
            "instructions_ratio",
            "",
            Some(Target::AtMost(INSTRUCTIONS_TARGET)),
        )]);
    let mut notes = Vec::new();
    let valgrind = match find_valgrind(&mut notes) {
        Ok(v) => v,
        Err(e) => return section.failed(format!("skipped: {e}")),
    };
    section.notes.extend(notes);
    // Multiples of the 64 callers; the quick mode counts fewer calls.
    let (small, large) = if params.seq_calls < 1000 {
        (640, 1920)
    } else {
        (640, 3840)
    };
    let mut counts = Vec::new();
    for stack in ["bare", "full"] {
        eprintln!("   callgrind: {stack} ({small} and {large} calls)");
        match per_call(&valgrind, out_dir, stack, small, large) {
            Ok(n) => counts.push(n),
            Err(e) => return section.failed(e),
        }
    }
    let (bare, ours) = (counts[0], counts[1]);
    section.set(
        "instructions_ratio",
        Some(ours / bare),
        format!(
            "per call at 64 callers, whole process: ours {:.1} k / bare {:.1} k instructions",
            ours / 1e3,
            bare / 1e3
        ),
    );
    section.detail("instructions_per_call_ours", ours);
    section.detail("instructions_per_call_bare", bare);
    section.detail("calls_counted", [small, large]);
    section
}
