//! `sessions-emulator`: a local Azure Container Apps dynamic-sessions pool.
//! Prints the endpoint URL as the first line on stdout; logs go to stderr.

use clap::Parser;
use sessions_emulator::ServeArgs;

/// A faithful local Azure Container Apps dynamic-sessions pool.
#[derive(Debug, Parser)]
#[command(name = "sessions-emulator", version, about)]
struct Cli {
    #[command(flatten)]
    serve: ServeArgs,
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("sessions-emulator: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match rt.block_on(sessions_emulator::run_cli(cli.serve)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sessions-emulator: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
