//! `serve`: the local session pool, in the foreground.

use std::process::ExitCode;

use crate::cli::ServeArgs;
use crate::error::{Error, ErrorCode, Result};

/// Serve until Ctrl-C or SIGTERM; the endpoint URL is the first line on stdout.
pub async fn serve(args: ServeArgs) -> Result<ExitCode> {
    // A public --host without --allow-non-loopback is refused before anything says it serves.
    args.check()
        .map_err(|e| Error::new(ErrorCode::InvalidInput, e.to_string()))?;
    eprintln!(
        "dynsess: serving a local {} session pool; stop it with Ctrl-C",
        match args.pool_type {
            dynamic_sessions::emulator::cli::PoolTypeArg::Python => "Python",
            dynamic_sessions::emulator::cli::PoolTypeArg::Shell => "shell",
        }
    );
    dynamic_sessions::emulator::run_cli(args)
        .await
        .map_err(|e| Error::new(ErrorCode::Io, e.to_string()))?;
    Ok(ExitCode::SUCCESS)
}
