//! Turning kernel exchanges into `RunOutcome`s, and replacing interpreters that timed out,
//! ran out of memory or died.

use std::time::{Duration, Instant};

use serde_json::Value;

use super::protocol::{KernelStatus, Request, Response};
use super::worker::{Exchange, Proc};
use super::{ImageOutput, RunOutcome, RunStatus, RuntimeError, Worker};

/// The service's stderr for a run that hit the wall-clock limit.
pub(crate) const TIMEOUT_MESSAGE: &str = "Request timed out waiting for code execution to complete";
/// The service's stderr for a run that exhausted memory.
pub(crate) const OOM_MESSAGE: &str = "Execution aborted";

const SIGXCPU_EXIT: i32 = 128 + libc::SIGXCPU;

impl Worker {
    /// Run one request, replacing the interpreter when the run broke it.
    pub(crate) async fn run_request(
        &mut self,
        req: Request<'_>,
        timeout: Duration,
        max_output: Option<usize>,
    ) -> Result<RunOutcome, RuntimeError> {
        let shell = matches!(req, Request::Sh { .. });
        if self.proc.as_ref().is_some_and(Proc::is_busy) {
            // A previous caller gave up mid-run: the interpreter is still busy with it.
            self.replace().await;
        }
        if self.stop.is_stopped() {
            return Err(RuntimeError::Worker("the session was stopped".into()));
        }
        if self.proc.is_none() {
            let proc = Proc::spawn(&self.rt, &self.workdir, self.ids).await?;
            self.stop.track(&proc);
            self.proc = Some(proc);
        }
        let Some(proc) = self.proc.as_mut() else {
            return Err(RuntimeError::Worker("no interpreter".into()));
        };
        let start = Instant::now();
        let exchange = proc
            .exchange(&req, timeout, self.rt.config.max_message_bytes)
            .await;
        let reset_notice = self.reset_notice.take();
        let aborted = |status, stderr: String| RunOutcome {
            status,
            stdout: String::new(),
            stderr: truncate(stderr, max_output),
            result: if shell {
                Value::Null
            } else {
                Value::String(String::new())
            },
            images: Vec::new(),
            duration: start.elapsed(),
        };
        let (mut out, notice) = match exchange {
            Exchange::Reply(resp) => (outcome(resp, shell, max_output), None),
            Exchange::TimedOut => (
                aborted(RunStatus::TimedOut, TIMEOUT_MESSAGE.to_string()),
                Some("timed out"),
            ),
            Exchange::Broken(why) => (
                aborted(
                    RunStatus::Failed,
                    format!("{why}; the interpreter was stopped and its variables were lost.\n"),
                ),
                Some("broke the protocol"),
            ),
            Exchange::Died(_) if self.stop.is_stopped() => (
                aborted(
                    RunStatus::Failed,
                    "The session was stopped while the code ran.\n".to_string(),
                ),
                None,
            ),
            Exchange::Died(_) if self.proc.as_ref().is_some_and(Proc::over_disk) => (
                aborted(
                    RunStatus::Failed,
                    format!(
                        "The session wrote past its disk quota of {} bytes in /mnt/data; the interpreter was stopped and variables were lost. Delete files to make room.\n",
                        self.rt.config.disk_quota_bytes.unwrap_or(0)
                    ),
                ),
                Some("wrote past the disk quota"),
            ),
            Exchange::Died(code) => {
                let memory = self.proc.as_ref().is_some_and(Proc::over_memory);
                let why = if memory {
                    "ran out of memory"
                } else {
                    "crashed"
                };
                (died(code, memory, aborted), Some(why))
            }
        };
        if let Some(why) = notice {
            self.replace().await;
            self.reset_notice = Some(why);
        }
        if let Some(why) = reset_notice {
            out.stderr = format!(
                "[local pool] The previous run {why}: the interpreter was restarted and variables from earlier runs were lost.\n{}",
                out.stderr
            );
        }
        Ok(out)
    }

    /// Kill the current interpreter (if any) and start a fresh one for the same workdir.
    /// A failed restart is retried by the next run.
    pub(crate) async fn replace(&mut self) {
        if let Some(old) = self.proc.take() {
            old.kill().await;
        }
        if self.stop.is_stopped() {
            return;
        }
        match Proc::spawn(&self.rt, &self.workdir, self.ids).await {
            Ok(p) => {
                self.stop.track(&p);
                self.proc = Some(p);
            }
            Err(e) => tracing::warn!(error = %e, "could not restart a session interpreter"),
        }
    }
}

/// The outcome of a run whose interpreter died with `code`; `memory` when the pool's
/// memory accounting ended it.
fn died(
    code: Option<i32>,
    memory: bool,
    aborted: impl Fn(RunStatus, String) -> RunOutcome,
) -> RunOutcome {
    match code {
        _ if memory => aborted(
            RunStatus::OutOfMemory,
            format!(
                "{OOM_MESSAGE}\nThe session's processes together exceeded its memory limit; the interpreter was stopped and variables were lost.\n"
            ),
        ),
        Some(SIGXCPU_EXIT) => aborted(RunStatus::TimedOut, TIMEOUT_MESSAGE.to_string()),
        Some(c) if c > 128 => aborted(
            RunStatus::Failed,
            format!(
                "The interpreter was killed by signal {} ({}); variables were lost.\n",
                c - 128,
                signal_name(c - 128)
            ),
        ),
        other => {
            let code = other.map_or_else(|| "unknown".to_string(), |c| c.to_string());
            aborted(
                RunStatus::Failed,
                format!(
                    "The interpreter exited unexpectedly (exit code {code}); variables were lost.\n"
                ),
            )
        }
    }
}

fn signal_name(sig: i32) -> &'static str {
    match sig {
        libc::SIGKILL => "SIGKILL",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGABRT => "SIGABRT",
        libc::SIGTERM => "SIGTERM",
        libc::SIGBUS => "SIGBUS",
        libc::SIGSYS => "SIGSYS, a system call the sandbox refuses",
        _ => "a signal",
    }
}

fn outcome(resp: Response, shell: bool, max_output: Option<usize>) -> RunOutcome {
    let duration = Duration::try_from_secs_f64(resp.duration).unwrap_or_default();
    let mut stderr = resp.stderr;
    let status = match resp.status {
        KernelStatus::Ok | KernelStatus::Ready => RunStatus::Succeeded,
        KernelStatus::Error => RunStatus::Failed,
        KernelStatus::Exit => RunStatus::Exited(resp.exit_code),
        KernelStatus::Oom => {
            stderr =
                format!("{OOM_MESSAGE}\nMemoryError: the session's memory limit was exceeded.\n");
            RunStatus::OutOfMemory
        }
    };
    let result = match (shell, &status) {
        (true, _) => Value::Null,
        (false, RunStatus::Succeeded) => resp.result,
        (false, _) => Value::String(String::new()),
    };
    RunOutcome {
        status,
        stdout: truncate(resp.stdout, max_output),
        stderr: truncate(stderr, max_output),
        result,
        images: resp
            .images
            .into_iter()
            .map(|data| ImageOutput {
                format: "png".to_string(),
                base64_data: data,
            })
            .collect(),
        duration,
    }
}

/// Keep at most `max` characters.
fn truncate(s: String, max: Option<usize>) -> String {
    match max {
        Some(n) => match s.char_indices().nth(n) {
            Some((i, _)) => s[..i].to_string(),
            None => s,
        },
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncate_counts_characters() {
        assert_eq!(truncate("héllo".to_string(), Some(2)), "hé");
        assert_eq!(truncate("abc".to_string(), Some(5)), "abc");
        assert_eq!(truncate("abc".to_string(), None), "abc");
    }

    #[test]
    fn oom_responses_use_the_service_text() {
        let r = Response::parse(br#"{"status":"oom","stdout":"x"}"#).unwrap();
        let o = outcome(r, false, None);
        assert_eq!(o.status, RunStatus::OutOfMemory);
        assert!(o.stderr.starts_with(OOM_MESSAGE));
    }
}
