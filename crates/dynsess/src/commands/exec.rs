//! `exec` and `shell`.

use std::io::{IsTerminal, Read};
use std::process::ExitCode;
use std::time::Duration;

use dynamic_sessions::{ExecuteRequest, Execution, ExecutionResult, ExecutionStatus, ShellRequest};

use super::{eprint_raw, print_json, print_raw};
use crate::cli::{ExecArgs, ShellArgs};
use crate::context::Context;
use crate::error::{Error, Result};

/// `exec [CODE] [--file F] [--timeout SECS]`.
pub async fn exec(ctx: &Context, args: ExecArgs) -> Result<ExitCode> {
    let code = match (args.code, args.file) {
        (Some(code), _) if code != "-" => code,
        (_, Some(path)) => std::fs::read_to_string(&path)
            .map_err(|e| Error::io(format_args!("reading {}", path.display()), e))?,
        _ => read_stdin()?,
    };
    let session = ctx.session()?;
    let mut request = ExecuteRequest::new(code);
    if let Some(secs) = args.timeout {
        request = request.timeout(Duration::from_secs(secs));
    }
    let execution = session.execute_with(request).await?;
    report(ctx, &execution)?;
    Ok(match execution.status {
        ExecutionStatus::Failed | ExecutionStatus::Canceled => ExitCode::from(1),
        _ => ExitCode::SUCCESS,
    })
}

/// `shell CMD [--stdin TEXT]`: exits with the command's exit code.
pub async fn shell(ctx: &Context, args: ShellArgs) -> Result<ExitCode> {
    let session = ctx.session()?;
    let mut request = ShellRequest::new(args.command);
    if let Some(stdin) = args.stdin {
        request = request.stdin(stdin);
    }
    let execution = session.shell_with(request).await?;
    report(ctx, &execution)?;
    Ok(match execution.exit_code() {
        Some(0) => ExitCode::SUCCESS,
        Some(code) => ExitCode::from(u8::try_from(code).ok().filter(|c| *c != 0).unwrap_or(1)),
        None if execution.succeeded() => ExitCode::SUCCESS,
        None => ExitCode::from(1),
    })
}

/// Print an execution: the whole of it as JSON, or its output streams as they are.
fn report(ctx: &Context, execution: &Execution) -> Result<()> {
    if ctx.json() {
        return print_json(execution);
    }
    print_raw(&execution.stdout)?;
    match &execution.result {
        ExecutionResult::Value(serde_json::Value::Null) => {}
        ExecutionResult::Value(serde_json::Value::String(s)) if s.is_empty() => {}
        ExecutionResult::Value(serde_json::Value::String(s)) => print_raw(&with_newline(s))?,
        ExecutionResult::Value(v) => print_raw(&with_newline(&v.to_string()))?,
        ExecutionResult::Image(image) => eprint_raw(&format!(
            "[{} image result; use --json to get its base64 data]\n",
            image.media_type()
        ))?,
    }
    eprint_raw(&execution.stderr)
}

fn with_newline(s: &str) -> String {
    if s.ends_with('\n') {
        s.to_owned()
    } else {
        format!("{s}\n")
    }
}

fn read_stdin() -> Result<String> {
    if std::io::stdin().is_terminal() {
        eprintln!("dynsess: reading code from stdin; end it with Ctrl-D");
    }
    let mut code = String::new();
    std::io::stdin()
        .read_to_string(&mut code)
        .map_err(|e| Error::io("reading the code from stdin", e))?;
    Ok(code)
}
