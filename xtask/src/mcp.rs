//! Section 7: the MCP server (`sessions-mcp`). The measuring code lives beside the server, in
//! `crates/sessions-mcp/examples/bench.rs` (it needs rmcp's client); this runs it in release mode
//! and reads the one JSON object it prints.

use std::process::Command;

use serde_json::Value;

use crate::bench::workspace_root;
use crate::report::{Section, Target};

pub fn run() -> Section {
    let mut section = Section::new(
        "mcp",
        "7. MCP server (code_interpreter over the stdio framing; leases)",
    )
    .expect(&[
        ("mcp_exec_p50_ms", "ms", None),
        ("mcp_exec_overhead_ms", "ms", Some(Target::AtMost(2.0))),
        ("lease_errors", "", Some(Target::Exactly(0.0))),
        ("leaked_sessions", "", Some(Target::Exactly(0.0))),
    ]);
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let out = Command::new(cargo)
        .current_dir(workspace_root())
        .args([
            "run",
            "--quiet",
            "--release",
            "-p",
            "sessions-mcp",
            "--example",
            "bench",
        ])
        .output();
    let out = match out {
        Ok(out) if out.status.success() => out,
        Ok(out) => {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let tail: Vec<&str> = stderr.lines().rev().take(5).collect();
            return section.failed(format!(
                "the sessions-mcp bench failed ({}): {}",
                out.status,
                tail.into_iter().rev().collect::<Vec<_>>().join(" / ")
            ));
        }
        Err(e) => {
            return section.failed(format!("cannot run cargo for the sessions-mcp bench: {e}"));
        }
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    let Some(figures) = stdout
        .lines()
        .rev()
        .find_map(|line| serde_json::from_str::<Value>(line).ok())
    else {
        return section.failed("the sessions-mcp bench printed no JSON".to_owned());
    };
    let num = |key: &str| figures.get(key).and_then(Value::as_f64);
    let direct = num("emulator_exec_p50_ms");
    section.set(
        "mcp_exec_p50_ms",
        num("mcp_exec_p50_ms"),
        format!(
            "`1 + 1` as a code_interpreter call from rmcp's client; a direct execute: {} ms",
            direct.map_or("?".to_owned(), |d| format!("{d:.3}"))
        ),
    );
    section.set(
        "mcp_exec_overhead_ms",
        num("mcp_exec_overhead_ms"),
        "p50 over MCP minus the direct p50, both on one embedded local pool",
    );
    let users = format!(
        "{} users x {} calls on a pool capped at {} ({:.1} s)",
        num("lease_users").unwrap_or(0.0),
        num("lease_calls_per_user").unwrap_or(0.0),
        num("lease_capacity").unwrap_or(0.0),
        num("lease_run_s").unwrap_or(0.0)
    );
    section.set("lease_errors", num("lease_errors"), users);
    section.set(
        "leaked_sessions",
        num("leaked_sessions"),
        "listSessions after every lease is released",
    );
    section.detail("raw", &figures);
    section
}
