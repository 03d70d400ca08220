//! The typed results of every operation, one shape for both API families.

use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

/// The state of an execution, from either family (`Success`/`Failure` map to
/// `Succeeded`/`Failed`). Shell pools report the exit code instead; see [`Execution::exit_code`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum ExecutionStatus {
    /// Not started yet (asynchronous executions).
    NotStarted,
    /// Still running (asynchronous executions).
    Running,
    /// Finished without error (legacy `Success`).
    Succeeded,
    /// Finished with an error, a timeout, or out of memory (legacy `Failure`). HTTP was still 200.
    Failed,
    /// Canceled.
    Canceled,
    /// Any other value, e.g. a shell exit code such as `"0"` or `"127"`.
    Other(String),
}

impl ExecutionStatus {
    /// A status name the service uses, in any case; `None` for any other text. Compared without
    /// a lowercased copy: this runs on every execution.
    fn known(s: &str) -> Option<Self> {
        let is = |name: &str| s.eq_ignore_ascii_case(name);
        Some(if is("succeeded") || is("success") {
            ExecutionStatus::Succeeded
        } else if is("failed") || is("failure") {
            ExecutionStatus::Failed
        } else if is("running") {
            ExecutionStatus::Running
        } else if is("notstarted") {
            ExecutionStatus::NotStarted
        } else if is("canceled") || is("cancelled") {
            ExecutionStatus::Canceled
        } else {
            return None;
        })
    }

    /// Whether the execution is over (anything but `NotStarted` and `Running`).
    pub fn is_terminal(&self) -> bool {
        !matches!(self, ExecutionStatus::NotStarted | ExecutionStatus::Running)
    }

    /// The wire-style name (`Succeeded`, `Failed`, …, or the raw `Other` value).
    pub fn as_str(&self) -> &str {
        match self {
            ExecutionStatus::NotStarted => "NotStarted",
            ExecutionStatus::Running => "Running",
            ExecutionStatus::Succeeded => "Succeeded",
            ExecutionStatus::Failed => "Failed",
            ExecutionStatus::Canceled => "Canceled",
            ExecutionStatus::Other(s) => s,
        }
    }
}

impl From<String> for ExecutionStatus {
    fn from(s: String) -> Self {
        ExecutionStatus::known(&s).unwrap_or(ExecutionStatus::Other(s))
    }
}

impl From<&str> for ExecutionStatus {
    fn from(s: &str) -> Self {
        ExecutionStatus::known(s).unwrap_or_else(|| ExecutionStatus::Other(s.to_owned()))
    }
}

impl From<ExecutionStatus> for String {
    fn from(s: ExecutionStatus) -> Self {
        s.as_str().to_owned()
    }
}

impl std::fmt::Display for ExecutionStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An image the code produced (legacy `{"type":"image","format","base64_data"}` results).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Image {
    /// The format, e.g. `png`.
    pub format: String,
    /// The image bytes, base64-encoded, exactly as the service sent them.
    pub base64_data: String,
}

impl Image {
    /// The image's bytes (the base64 data decoded; whitespace and line breaks in it are ignored).
    ///
    /// ```
    /// let image = sessions_core::Image { format: "png".into(), base64_data: "iVBORw0K".into() };
    /// assert_eq!(&image.bytes()?[1..4], b"PNG");
    /// # Ok::<(), sessions_core::Error>(())
    /// ```
    pub fn bytes(&self) -> Result<Vec<u8>, crate::Error> {
        use base64::Engine as _;
        let compact: String = self
            .base64_data
            .chars()
            .filter(|c| !c.is_ascii_whitespace())
            .collect();
        base64::engine::general_purpose::STANDARD
            .decode(compact.as_bytes())
            .map_err(|e| {
                crate::Error::decode(
                    format!(
                        "the {} image's base64 data is not valid base64 ({e})",
                        self.format
                    ),
                    self.base64_data.as_bytes(),
                    None,
                )
            })
    }

    /// The file extension for [`format`](Self::format): `png`, `jpg` for `jpeg`, `svg`, ….
    pub fn extension(&self) -> String {
        match self.format.to_ascii_lowercase().as_str() {
            "jpeg" => "jpg".into(),
            "svg+xml" => "svg".into(),
            other => other.to_owned(),
        }
    }

    /// Write the image's bytes to `path` (created or replaced), e.g. `plot.png`. Blocking: it is
    /// one small write (wrap it in `spawn_blocking` for very large images).
    ///
    /// ```no_run
    /// # fn demo(run: sessions_core::Execution) -> sessions_core::Result<()> {
    /// for (i, image) in run.images.iter().enumerate() {
    ///     image.save(format!("figure-{i}.{}", image.extension()))?;
    /// }
    /// # Ok(()) }
    /// ```
    pub fn save(&self, path: impl AsRef<std::path::Path>) -> Result<(), crate::Error> {
        let path = path.as_ref();
        let bytes = self.bytes()?;
        std::fs::write(path, bytes).map_err(|source| crate::Error::Io {
            context: format!("writing the image to {}", path.display()),
            source,
        })
    }

    /// The media type, e.g. `image/png`.
    pub fn media_type(&self) -> String {
        match self.format.to_ascii_lowercase().as_str() {
            "jpg" | "jpeg" => "image/jpeg".into(),
            "svg" => "image/svg+xml".into(),
            other => format!("image/{other}"),
        }
    }
}

/// The value of the last expression.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ExecutionResult {
    /// An image result.
    Image(Image),
    /// Any JSON value: numbers stay numbers, null stays null, `""` when there was no expression.
    ///
    /// Every legal JSON number decodes: integers that fit 64 bits exactly, other decimals as the
    /// nearest `f64`; an integer beyond 64 bits (`2**70`) or a number beyond `f64`'s range
    /// (`1e400`) is kept exactly, as a string of its literal text (`"1180591620717411303424"`).
    Value(serde_json::Value),
}

impl ExecutionResult {
    /// The JSON value, unless this is an image.
    pub fn as_value(&self) -> Option<&serde_json::Value> {
        match self {
            ExecutionResult::Value(v) => Some(v),
            ExecutionResult::Image(_) => None,
        }
    }

    /// The image, if this is one.
    pub fn as_image(&self) -> Option<&Image> {
        match self {
            ExecutionResult::Image(i) => Some(i),
            ExecutionResult::Value(_) => None,
        }
    }
}

impl Default for ExecutionResult {
    fn default() -> Self {
        ExecutionResult::Value(serde_json::Value::Null)
    }
}

/// The `x-ms-*` timing headers the service sends on code-execution responses. All optional: the
/// values are kept as sent, because their formats differ (milliseconds, Go durations).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ExecutionTimings {
    /// `x-ms-session-guid`: the underlying container (pod) of the session.
    pub session_guid: Option<String>,
    /// `x-ms-execution-request-time`.
    pub execution_request_time: Option<String>,
    /// `x-ms-execution-read-response-time`.
    pub execution_read_response_time: Option<String>,
    /// `x-ms-total-execution-service-time`.
    pub total_execution_service_time: Option<String>,
    /// `x-ms-container-execution-duration`.
    pub container_execution_duration: Option<String>,
    /// `x-ms-preparation-time`.
    pub preparation_time: Option<String>,
    /// `x-ms-overall-execution-time`.
    pub overall_execution_time: Option<String>,
    /// `x-ms-allocation-time`.
    pub allocation_time: Option<String>,
    /// `x-ms-allocation-retries`.
    pub allocation_retries: Option<String>,
    /// `x-ms-new-allocation`.
    pub new_allocation: Option<String>,
}

/// One execution: the answer to running code or a shell command, in either family.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Execution {
    /// The execution id (`id`, or the `operation-id` header). Empty when the service sent none.
    pub id: String,
    /// The session identifier.
    pub identifier: String,
    /// The status.
    pub status: ExecutionStatus,
    /// Standard output.
    pub stdout: String,
    /// Standard error (the traceback on failure).
    pub stderr: String,
    /// The value of the last expression, or an image.
    pub result: ExecutionResult,
    /// The service's execution time (`executionTimeInMilliseconds`), when reported.
    #[serde(with = "opt_millis")]
    pub execution_time: Option<Duration>,
    /// The timing headers of the response.
    pub timings: ExecutionTimings,
    /// Every image of the run, in the order the service sent them (an image `result`, or each
    /// image of a `result` that is a list of images). Empty when there was none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<Image>,
}

impl Execution {
    /// True when the code ran without error (`Succeeded`, or exit code 0 on shell pools).
    pub fn succeeded(&self) -> bool {
        match &self.status {
            ExecutionStatus::Succeeded => true,
            ExecutionStatus::Other(_) => self.exit_code() == Some(0),
            _ => false,
        }
    }

    /// The exit code of a shell command (shell pools send it as the status).
    pub fn exit_code(&self) -> Option<i32> {
        match &self.status {
            ExecutionStatus::Other(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    /// The image result, if the code produced one (the last image; all of them are in
    /// [`images`](Self::images)).
    pub fn image(&self) -> Option<&Image> {
        self.result.as_image().or(self.images.last())
    }
}

/// Whether a file entry is a file or a directory.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileKind {
    /// A regular file.
    File,
    /// A directory.
    Directory,
}

/// A file (or directory) in the session's `/mnt/data`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileInfo {
    /// The file name (without the directory).
    pub name: String,
    /// The directory relative to `/mnt/data` (`""` or `None` for the root), as the service reports
    /// it or, before 2025-10-02-preview, as the request named it.
    pub directory: Option<String>,
    /// File or directory.
    pub kind: FileKind,
    /// Size in bytes, when reported.
    pub size: Option<u64>,
    /// The content type, when reported.
    pub content_type: Option<String>,
    /// Last modification time, when reported and parseable.
    #[serde(with = "opt_system_time")]
    pub last_modified: Option<SystemTime>,
}

impl FileInfo {
    /// The path relative to `/mnt/data`, e.g. `sub/report.csv`.
    pub fn relative_path(&self) -> String {
        match self.directory.as_deref().map(|d| d.trim_matches('/')) {
            Some(d) if !d.is_empty() => format!("{d}/{}", self.name),
            _ => self.name.clone(),
        }
    }
}

/// A session as reported by `GET session`, `listSessions` or `.management/getSession`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SessionInfo {
    /// The session identifier.
    pub identifier: String,
    /// Creation time (RFC 3339 as sent).
    pub created_at: Option<String>,
    /// Last access time (RFC 3339 as sent).
    pub last_accessed_at: Option<String>,
    /// When the session expires unless used again (`expireAt` / `expiresAt`).
    pub expires_at: Option<String>,
    /// The etag (the underlying container id).
    pub etag: Option<String>,
}

/// A name and version pair in pool metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct NameVersion {
    /// Name.
    pub name: String,
    /// Version.
    pub version: Option<String>,
}

/// Pool metadata (`GET metadata`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PoolMetadata {
    /// Runtimes, e.g. Python 3.12.
    pub runtimes: Vec<NameVersion>,
    /// Pre-installed packages.
    pub pre_installed_packages: Vec<NameVersion>,
    /// The Jupyter kernel, when reported.
    pub jupyter_kernel: Option<serde_json::Value>,
    /// The whole body as received, including fields this crate does not model.
    pub raw: serde_json::Value,
}

mod opt_millis {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        d.map(|d| d.as_millis() as u64).serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        Ok(Option::<f64>::deserialize(d)?
            .and_then(|ms| Duration::try_from_secs_f64(ms / 1000.0).ok()))
    }
}

mod opt_system_time {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use std::time::{SystemTime, UNIX_EPOCH};

    pub fn serialize<S: Serializer>(t: &Option<SystemTime>, s: S) -> Result<S::Ok, S::Error> {
        t.and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map(|d| d.as_millis() as u64)
            .serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<SystemTime>, D::Error> {
        Ok(Option::<u64>::deserialize(d)?
            .and_then(|ms| UNIX_EPOCH.checked_add(std::time::Duration::from_millis(ms))))
    }
}
