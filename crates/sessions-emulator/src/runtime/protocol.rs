//! The line-delimited JSON protocol spoken with `kernel.py` over the worker's pipes.

use serde::{Deserialize, Serialize};

/// The kernel script, embedded so the emulator is a single binary.
pub(crate) const KERNEL_SOURCE: &str = include_str!("kernel.py");

/// One request; serialised as a single JSON line.
#[derive(Debug, Serialize)]
#[serde(tag = "op", rename_all = "lowercase")]
pub(crate) enum Request<'a> {
    /// Run Python code in the persistent globals.
    Py {
        code: &'a str,
        jupyter: bool,
        max_output: Option<usize>,
    },
    /// Run `bash -c command` in the session's data directory.
    Sh {
        command: &'a str,
        stdin: Option<&'a str>,
        max_output: Option<usize>,
    },
}

impl Request<'_> {
    /// The request as one protocol line (JSON plus `\n`).
    pub(crate) fn to_line(&self) -> Vec<u8> {
        // Serialising these plain structs cannot fail; fall back to an invalid op just in case,
        // which the kernel answers with an internal error instead of hanging.
        let mut line = serde_json::to_vec(self).unwrap_or_else(|_| b"{\"op\":\"?\"}".to_vec());
        line.push(b'\n');
        line
    }
}

/// How the kernel says a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum KernelStatus {
    /// Start-up handshake.
    Ready,
    /// Python code completed.
    Ok,
    /// Python code raised.
    Error,
    /// A MemoryError was raised.
    Oom,
    /// A shell command exited (see `exit_code`).
    Exit,
}

/// One response line from the kernel.
#[derive(Debug, Deserialize)]
pub(crate) struct Response {
    pub(crate) status: KernelStatus,
    #[serde(default)]
    pub(crate) stdout: String,
    #[serde(default)]
    pub(crate) stderr: String,
    #[serde(default)]
    pub(crate) result: serde_json::Value,
    /// Every open figure at the end of the run, base64 PNG, in figure-number order.
    #[serde(default)]
    pub(crate) images: Vec<String>,
    #[serde(default)]
    pub(crate) exit_code: i32,
    /// Seconds spent running the code, measured inside the kernel.
    #[serde(default)]
    pub(crate) duration: f64,
}

impl Response {
    /// Parse one line; `None` when it is not a valid response.
    pub(crate) fn parse(line: &[u8]) -> Option<Response> {
        serde_json::from_slice(line).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_lines_are_single_json_lines() {
        let line = Request::Py {
            code: "print('a\\nb')\n1",
            jupyter: false,
            max_output: Some(3),
        }
        .to_line();
        assert_eq!(line.iter().filter(|b| **b == b'\n').count(), 1);
        let v: serde_json::Value = serde_json::from_slice(&line).unwrap();
        assert_eq!(v["op"], "py");
        assert_eq!(v["max_output"], 3);
    }

    #[test]
    fn responses_parse_with_defaults() {
        let r = Response::parse(br#"{"status":"exit","exit_code":3}"#).unwrap();
        assert_eq!(r.status, KernelStatus::Exit);
        assert_eq!(r.exit_code, 3);
        assert!(Response::parse(b"garbage").is_none());
    }
}
