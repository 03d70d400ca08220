//! One module per group of commands; [`run`] dispatches.

mod exec;
mod files;
mod images;
mod mcp;
mod serve;
mod session;
mod tool;

use std::io::Write;
use std::process::ExitCode;

use crate::cli::{Cli, Command};
use crate::context::Context;
use crate::error::{Error, Result};

/// Run the parsed command line.
pub async fn run(cli: Cli) -> Result<ExitCode> {
    let ctx = Context::new(cli.global);
    match cli.command {
        Command::Exec(args) => exec::exec(&ctx, args).await,
        Command::Shell(args) => exec::shell(&ctx, args).await,
        Command::Upload(args) => files::upload(&ctx, args).await,
        Command::Download(args) => files::download(&ctx, args).await,
        Command::Ls(args) => files::list(&ctx, args).await,
        Command::Rm(args) => files::remove(&ctx, args).await,
        Command::Session(cmd) => session::session(&ctx, cmd).await,
        Command::Sessions => session::sessions(&ctx).await,
        Command::Metadata => session::metadata(&ctx).await,
        Command::Serve(args) => serve::serve(args).await,
        Command::ToolDefinition(args) => tool::definition(&ctx, args),
        Command::Handle(args) => tool::handle(&ctx, args).await,
        Command::Mcp(args) => mcp::mcp(&ctx, args).await,
    }
}

/// Print a value as pretty JSON on stdout.
pub(crate) fn print_json<T: serde::Serialize + ?Sized>(value: &T) -> Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out).map_err(|e| Error::io("writing to stdout", e))?;
    out.flush().map_err(|e| Error::io("writing to stdout", e))
}

/// Write text to stdout as is.
pub(crate) fn print_raw(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|_| out.flush())
        .map_err(|e| Error::io("writing to stdout", e))
}

/// Write text to stderr as is.
pub(crate) fn eprint_raw(text: &str) -> Result<()> {
    let mut err = std::io::stderr().lock();
    err.write_all(text.as_bytes())
        .and_then(|_| err.flush())
        .map_err(|e| Error::io("writing to stderr", e))
}
