//! `dynsess`: a command-line client for Azure Container Apps dynamic sessions.

mod cli;
mod commands;
mod context;
mod error;
mod progress;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // Usage errors (and --help / --version) exit here, with code 2 for errors.
    let cli = cli::Cli::parse();
    init_tracing();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            return error::report(&error::Error::msg(format!(
                "could not start the async runtime: {e}"
            )));
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(code) => code,
        Err(e) => error::report(&e),
    }
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
