//! `dynsess`: a command-line client for Azure Container Apps dynamic sessions.

mod cli;
mod commands;
mod context;
mod error;
mod progress;

use std::process::ExitCode;

use clap::Parser;

use crate::error::{ErrorCode, report};

fn main() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        // Help and version print and exit 0; usage errors exit 2, as JSON under --json.
        Err(e) if e.use_stderr() && wants_json() => return report(&error::usage(e), true),
        Err(e) => e.exit(),
    };
    let json = cli.global.json;
    init_tracing();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let message = format!("could not start the async runtime: {e}");
            return report(&error::Error::new(ErrorCode::Io, message), json);
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(code) => code,
        Err(e) => report(&e, json),
    }
}

/// Whether `--json` is on the command line (before parsing succeeded, to format usage errors).
fn wants_json() -> bool {
    std::env::args_os()
        .skip(1)
        .take_while(|a| a != "--")
        .any(|a| a == "--json")
}

/// Logs go to stderr, off unless `RUST_LOG` asks for them.
fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("off"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
