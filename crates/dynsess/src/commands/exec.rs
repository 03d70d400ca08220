//! `exec` and `shell`.

use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use dynamic_sessions::{ExecuteRequest, Execution, ExecutionResult, ExecutionStatus, ShellRequest};

use super::{eprint_raw, images, print_json, print_raw};
use crate::cli::{ExecArgs, ShellArgs};
use crate::context::Context;
use crate::error::{Error, Result};

/// `exec [CODE] [--file F] [--timeout SECS] [--save-images DIR]`.
pub async fn exec(ctx: &Context, args: ExecArgs) -> Result<ExitCode> {
    let code = match (args.code, args.file) {
        (Some(code), _) if code != "-" => code,
        (_, Some(path)) => std::fs::read_to_string(&path)
            .map_err(|e| Error::io(format_args!("reading {}", path.display()), e))?,
        _ => read_stdin()?,
    };
    if let Some(dir) = &args.save_images {
        // Refuse before running the code, not after: its images would have nowhere to go.
        if dir.exists() && !dir.is_dir() {
            return Err(Error::msg(format!(
                "--save-images {}: not a directory",
                dir.display()
            )));
        }
    }
    let session = ctx.session()?;
    let mut request = ExecuteRequest::new(code);
    if let Some(secs) = args.timeout {
        request = request.timeout(Duration::from_secs(secs));
    }
    let execution = session.execute_with(request).await?;
    // Print the run even when saving its images fails: nothing it said is lost.
    let saved = args
        .save_images
        .as_deref()
        .map(|dir| images::save_all(dir, &images::of(&execution)))
        .transpose();
    // Only what was written is listed; a failure is reported after the run's output.
    let written = saved.as_ref().ok().and_then(Option::as_deref);
    report(ctx, &execution, written)?;
    saved?;
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
    report(ctx, &execution, None)?;
    Ok(match execution.exit_code() {
        Some(0) => ExitCode::SUCCESS,
        Some(code) => ExitCode::from(u8::try_from(code).ok().filter(|c| *c != 0).unwrap_or(1)),
        None if execution.succeeded() => ExitCode::SUCCESS,
        None => ExitCode::from(1),
    })
}

/// Print an execution: the whole of it as JSON, or its output streams as they are. `saved` is
/// where `--save-images` wrote its images, when it was given.
fn report(ctx: &Context, execution: &Execution, saved: Option<&[PathBuf]>) -> Result<()> {
    if ctx.json() {
        return match saved {
            None => print_json(execution),
            Some(paths) => {
                let mut value = serde_json::to_value(execution)?;
                value["saved_images"] = paths.iter().map(|p| p.display().to_string()).collect();
                print_json(&value)
            }
        };
    }
    print_raw(&execution.stdout)?;
    match &execution.result {
        ExecutionResult::Value(serde_json::Value::Null) => {}
        ExecutionResult::Value(serde_json::Value::String(s)) if s.is_empty() => {}
        ExecutionResult::Value(serde_json::Value::String(s)) => print_raw(&with_newline(s))?,
        ExecutionResult::Value(v) => print_raw(&with_newline(&v.to_string()))?,
        ExecutionResult::Image(image) if saved.is_none() => eprint_raw(&format!(
            "[{} image result; save it with --save-images DIR, or see it with --json]\n",
            image.media_type()
        ))?,
        ExecutionResult::Image(_) => {}
    }
    eprint_raw(&execution.stderr)?;
    match saved {
        Some([]) => eprint_raw("dynsess: the run returned no image to save\n"),
        Some(paths) => {
            let lines: String = paths
                .iter()
                .map(|p| format!("saved {}\n", p.display()))
                .collect();
            eprint_raw(&lines)
        }
        None => Ok(()),
    }
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
