//! [`ToolOutput`]: what one call produced, and the JSON text the model reads.
//!
//! Built from an [`Execution`] by a pure function, so every provider's formatting can be tested
//! without a server. Images are kept apart from the text: base64 never lands in it.

use serde::Serialize;
use serde_json::Value;
use sessions_core::{Execution, ExecutionResult, ExecutionStatus, Image};

use crate::budget::{Budget, share};
use crate::call::CallError;
use crate::truncate::{Truncated, truncate_middle, truncate_stream};

/// The default number of changed files listed by name (the rest are counted).
pub const DEFAULT_MAX_FILES_LISTED: usize = 50;

/// Limits applied to what the model reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputLimits {
    /// One budget for stdout, stderr, the result and the file list together.
    pub budget: Budget,
    /// Changed files listed by name at most; the others are summarized by kind.
    pub max_files_listed: usize,
}

impl Default for OutputLimits {
    fn default() -> Self {
        OutputLimits {
            budget: Budget::default(),
            max_files_listed: DEFAULT_MAX_FILES_LISTED,
        }
    }
}

/// Characters of the text that are not output (keys, status, timing).
const TEXT_OVERHEAD_CHARS: usize = 200;

/// What the pool's stderr says when a run hit the execution timeout.
const SERVICE_TIMEOUT_TEXT: &str = "timed out waiting for code execution";

/// The note for a run that lost the session's state.
pub const SESSION_RESET_NOTE: &str = "The run was stopped (execution timeout or memory limit) and the session's Python process was restarted: variables, imports and objects from earlier calls are gone; files in /mnt/data remain. Re-create what you need before using it. Output printed before the stop is shown when the service returned it.";

/// What happened to a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToolStatus {
    /// The code ran; the service's status is kept as sent (`Succeeded`, `Failed`, …).
    Executed(ExecutionStatus),
    /// The call itself was wrong (bad JSON, missing code, unknown tool); nothing ran.
    InvalidCall,
    /// The service could not run the code (timeout, connection, HTTP error).
    ServiceError,
}

impl ToolStatus {
    /// The name the model sees.
    pub fn as_str(&self) -> &str {
        match self {
            ToolStatus::Executed(status) => status.as_str(),
            ToolStatus::InvalidCall => "InvalidCall",
            ToolStatus::ServiceError => "ServiceError",
        }
    }
}

/// How a file in `/mnt/data` changed during a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FileChange {
    /// It did not exist before.
    Created,
    /// Its size or modification time changed.
    Modified,
    /// It was removed.
    Deleted,
    /// It was moved here from `renamed_from` (same size and modification time).
    Renamed,
}

/// A file created or changed during a call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChangedFile {
    /// The path relative to `/mnt/data`.
    pub name: String,
    /// The size in bytes, when reported.
    pub size: Option<u64>,
    /// Created, modified, deleted or renamed.
    pub change: FileChange,
    /// The old path of a renamed file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub renamed_from: Option<String>,
}

/// How a list was shortened.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ListCut {
    /// Entries shown.
    pub listed: usize,
    /// Entries in all.
    pub total: usize,
}

/// Which parts of the output were shortened.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Truncation {
    /// stdout, when cut.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stdout: Option<Truncated>,
    /// stderr, when cut.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stderr: Option<Truncated>,
    /// The result value, when cut.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<Truncated>,
    /// The changed-file list, when only part of it is listed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub files_changed: Option<ListCut>,
}

impl Truncation {
    /// Whether anything was cut.
    pub fn any(&self) -> bool {
        self.stdout.is_some()
            || self.stderr.is_some()
            || self.result.is_some()
            || self.files_changed.is_some()
    }
}

/// Everything one call produced.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolOutput {
    /// What happened.
    pub status: ToolStatus,
    /// Standard output (possibly cut, see `truncation`).
    pub stdout: String,
    /// Standard error, the traceback on failure (possibly cut).
    pub stderr: String,
    /// The last expression's value; `None` when it was an image or nothing ran.
    pub result: Option<Value>,
    /// The service's execution time.
    pub execution_time_ms: Option<u64>,
    /// Files created or changed in `/mnt/data`; `None` when not tracked or the listing failed.
    pub files_changed: Option<Vec<ChangedFile>>,
    /// Images the code produced.
    pub images: Vec<Image>,
    /// What was cut.
    pub truncation: Truncation,
    /// Why the call failed before or around execution (invalid call, service error).
    pub error: Option<String>,
    /// Whether trying the same call again may succeed (transient service errors).
    pub retryable: bool,
    /// Facts the model must know (state reset, images scaled or not shown), in order.
    pub notes: Vec<String>,
}

impl ToolOutput {
    /// Build the output of an execution: share the budget among stdout, stderr, the result and
    /// the file list (cutting the middle of what is too long), move an image result aside, and
    /// note a run that lost the session's state.
    ///
    /// ```
    /// use llm_tools::{OutputLimits, ToolOutput};
    /// use sessions_core::{Execution, ExecutionResult, ExecutionStatus, ExecutionTimings};
    /// let execution = Execution {
    ///     id: String::new(),
    ///     identifier: "s1".into(),
    ///     status: ExecutionStatus::Succeeded,
    ///     stdout: "4\n".into(),
    ///     stderr: String::new(),
    ///     result: ExecutionResult::Value(serde_json::json!(4)),
    ///     execution_time: Some(std::time::Duration::from_millis(12)),
    ///     timings: ExecutionTimings::default(),
    ///     images: Vec::new(),
    /// };
    /// let output = ToolOutput::from_execution(execution, None, &OutputLimits::default());
    /// assert!(!output.is_error());
    /// assert_eq!(output.text_for_model(llm_tools::ImageNote::Attached), r#"{"status":"Succeeded","stdout":"4\n","stderr":"","result":4,"execution_time_ms":12}"#);
    /// ```
    pub fn from_execution(
        execution: Execution,
        files_changed: Option<Vec<ChangedFile>>,
        limits: &OutputLimits,
    ) -> Self {
        let Execution {
            status,
            mut stdout,
            mut stderr,
            result,
            execution_time,
            images: all_images,
            ..
        } = execution;
        let total = limits.budget.chars();
        let (files_cut, files_cost) = files_changed.as_deref().map_or((None, 0), |files| {
            list_within(files, limits.max_files_listed, total / 4)
        });
        let result_need = match &result {
            ExecutionResult::Value(Value::String(s)) => s.len(),
            ExecutionResult::Value(v @ (Value::Array(_) | Value::Object(_))) => {
                serde_json::to_string(v).map_or(0, |s| s.len())
            }
            _ => 0,
        };
        let available = total.saturating_sub(files_cost + TEXT_OVERHEAD_CHARS);
        let grant = share(available, [stdout.len(), stderr.len(), result_need]);
        let mut notes = Vec::new();
        if status == ExecutionStatus::Failed
            && (stderr.contains(SERVICE_TIMEOUT_TEXT) || stderr.starts_with("Execution aborted"))
        {
            notes.push(SESSION_RESET_NOTE.to_owned());
        }
        let mut truncation = Truncation {
            stdout: truncate_stream(&mut stdout, grant[0]),
            stderr: truncate_stream(&mut stderr, grant[1]),
            result: None,
            files_changed: files_cut,
        };
        // `images` holds every image of the run (the image result among them); a run whose
        // result is a value can still have shown figures.
        let (result, images) = match result {
            ExecutionResult::Image(image) if all_images.is_empty() => (None, vec![image]),
            ExecutionResult::Image(_) => (None, all_images),
            ExecutionResult::Value(value) => {
                let (value, cut) = limit_value(value, grant[2]);
                truncation.result = cut;
                (Some(value), all_images)
            }
        };
        ToolOutput {
            status: ToolStatus::Executed(status),
            stdout,
            stderr,
            result,
            execution_time_ms: execution_time
                .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
            files_changed,
            images,
            truncation,
            error: None,
            retryable: false,
            notes,
        }
    }

    /// The output for a call the model got wrong.
    pub fn invalid_call(error: &CallError) -> Self {
        Self::failure(ToolStatus::InvalidCall, error.to_string(), false)
    }

    /// The output for a call the service could not run. The text is short and holds no secrets.
    pub fn service_error(error: &sessions_core::Error) -> Self {
        let (text, retryable) = describe_service_error(error);
        Self::failure(ToolStatus::ServiceError, text, retryable)
    }

    fn failure(status: ToolStatus, error: String, retryable: bool) -> Self {
        ToolOutput {
            status,
            stdout: String::new(),
            stderr: String::new(),
            result: None,
            execution_time_ms: None,
            files_changed: None,
            images: Vec::new(),
            truncation: Truncation::default(),
            error: Some(error),
            retryable,
            notes: Vec::new(),
        }
    }

    /// Whether the model should see this as a failure (anything but a successful run).
    pub fn is_error(&self) -> bool {
        match &self.status {
            ToolStatus::Executed(ExecutionStatus::Succeeded) => false,
            // Shell pools report an exit code as the status.
            ToolStatus::Executed(ExecutionStatus::Other(code)) => {
                code.trim().parse::<i32>().ok() != Some(0)
            }
            _ => true,
        }
    }

    /// The JSON text the model reads. `note` says where images went.
    pub fn text_for_model(&self, note: ImageNote) -> String {
        let mut out = Vec::with_capacity(128 + self.stdout.len() + self.stderr.len());
        // Serializing borrowed views of plain strings and values cannot fail.
        let _ = serde_json::to_writer(&mut out, &self.view(note));
        String::from_utf8(out).unwrap_or_default()
    }

    /// The same content as a JSON value (Gemini `response`, MCP `structuredContent`).
    pub fn value_for_model(&self, note: ImageNote) -> Value {
        serde_json::to_value(self.view(note)).unwrap_or(Value::Null)
    }

    fn view(&self, note: ImageNote) -> ModelView<'_> {
        if let Some(error) = &self.error {
            return ModelView::Failure {
                status: self.status.as_str(),
                error,
                retryable: self.retryable,
                notes: &self.notes,
            };
        }
        let listed = self.files_changed.as_deref().map(|files| {
            let shown = self
                .truncation
                .files_changed
                .map_or(files.len(), |c| c.listed);
            &files[..shown.min(files.len())]
        });
        let files_summary = self
            .truncation
            .files_changed
            .and_then(|_| self.files_changed.as_deref().map(summarize));
        let images = (!self.images.is_empty()).then(|| {
            self.images
                .iter()
                .map(|i| describe_image(i, note))
                .collect()
        });
        ModelView::Executed {
            status: self.status.as_str(),
            stdout: &self.stdout,
            stderr: &self.stderr,
            result: self.result.as_ref(),
            execution_time_ms: self.execution_time_ms,
            files_changed: listed,
            files_summary,
            images,
            truncated: self.truncation.any().then_some(&self.truncation),
            notes: &self.notes,
        }
    }
}

/// Where the images of a result went, so the text can say so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageNote {
    /// The images follow the text in the same result (Responses, Anthropic, Gemini, MCP).
    Attached,
    /// The images could not be included (Chat tool messages are text only); the caller has them.
    Withheld,
}

#[derive(Serialize)]
#[serde(untagged)]
enum ModelView<'a> {
    Failure {
        status: &'a str,
        error: &'a str,
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        retryable: bool,
        #[serde(skip_serializing_if = "<[String]>::is_empty")]
        notes: &'a [String],
    },
    Executed {
        status: &'a str,
        stdout: &'a str,
        stderr: &'a str,
        result: Option<&'a Value>,
        execution_time_ms: Option<u64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        files_changed: Option<&'a [ChangedFile]>,
        #[serde(skip_serializing_if = "Option::is_none")]
        files_summary: Option<FilesSummary>,
        #[serde(skip_serializing_if = "Option::is_none")]
        images: Option<Vec<String>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        truncated: Option<&'a Truncation>,
        #[serde(skip_serializing_if = "<[String]>::is_empty")]
        notes: &'a [String],
    },
}

/// Counts of every changed file, when only some are listed.
#[derive(Serialize)]
struct FilesSummary {
    total: usize,
    created: usize,
    modified: usize,
    deleted: usize,
    renamed: usize,
    total_bytes: u64,
    note: &'static str,
}

fn summarize(files: &[ChangedFile]) -> FilesSummary {
    let count = |kind: FileChange| files.iter().filter(|f| f.change == kind).count();
    FilesSummary {
        total: files.len(),
        created: count(FileChange::Created),
        modified: count(FileChange::Modified),
        deleted: count(FileChange::Deleted),
        renamed: count(FileChange::Renamed),
        total_bytes: files
            .iter()
            .filter(|f| f.change != FileChange::Deleted)
            .filter_map(|f| f.size)
            .sum(),
        note: "only the first files are listed; list /mnt/data in code to see the others",
    }
}

/// How many files to list within `max_count` and `max_chars`, and the characters they take.
fn list_within(
    files: &[ChangedFile],
    max_count: usize,
    max_chars: usize,
) -> (Option<ListCut>, usize) {
    // An entry is about its name plus 50 characters of JSON.
    let mut cost = 0;
    let mut listed = 0;
    for file in files.iter().take(max_count) {
        let entry = file.name.len() + file.renamed_from.as_ref().map_or(0, String::len) + 50;
        if cost + entry > max_chars {
            break;
        }
        cost += entry;
        listed += 1;
    }
    let cut = (listed < files.len()).then_some(ListCut {
        listed,
        total: files.len(),
    });
    // The summary takes about 200 characters.
    (cut, cost + if cut.is_some() { 200 } else { 0 })
}

fn describe_image(image: &Image, note: ImageNote) -> String {
    let size = crate::definition::human_size(image.base64_data.len() as u64 / 4 * 3);
    let media_type = image.media_type();
    match note {
        ImageNote::Attached => format!("{media_type} image ({size}), attached after this text"),
        ImageNote::Withheld => format!("{media_type} image ({size}), produced but not shown here"),
    }
}

/// Cut a long string result; turn a huge array or object into a cut string.
fn limit_value(value: Value, max_chars: usize) -> (Value, Option<Truncated>) {
    match value {
        Value::String(mut s) => {
            let cut = truncate_middle(&mut s, max_chars);
            (Value::String(s), cut)
        }
        Value::Array(_) | Value::Object(_) => {
            let mut text = value.to_string();
            match truncate_middle(&mut text, max_chars) {
                Some(cut) => (Value::String(text), Some(cut)),
                None => (value, None),
            }
        }
        other => (other, None),
    }
}

/// A short, secret-free description of a service error for the model, and whether to retry.
fn describe_service_error(error: &sessions_core::Error) -> (String, bool) {
    use sessions_core::Error;
    const NOT_YOUR_CODE: &str = "this is not a problem with your code";
    match error {
        Error::Timeout { .. } => (
            format!(
                "the execution did not finish in time ({NOT_YOUR_CODE} unless it runs very long); make the code faster or split the work into smaller calls. If the service stopped the run, the session's Python process was restarted: variables and imports from earlier calls are gone (files in /mnt/data remain)"
            ),
            true,
        ),
        Error::Connect { .. } => (
            format!("the code interpreter service could not be reached; {NOT_YOUR_CODE}"),
            true,
        ),
        Error::Auth { .. } => (
            format!("the code interpreter service rejected our credentials; {NOT_YOUR_CODE}"),
            false,
        ),
        Error::Api(api) => {
            let status = api.status.as_u16();
            let code = api
                .code
                .as_deref()
                .map(|c| format!(" ({c})"))
                .unwrap_or_default();
            let retryable = status == 429 || status >= 500;
            (
                format!(
                    "the code interpreter service answered HTTP {status}{code}; {NOT_YOUR_CODE}"
                ),
                retryable,
            )
        }
        Error::InvalidInput(message) => (
            format!(
                "the request was rejected before sending: {}",
                shorten(message, 200)
            ),
            false,
        ),
        _ => (
            format!("the code interpreter service failed; {NOT_YOUR_CODE}"),
            true,
        ),
    }
}

fn shorten(text: &str, max_chars: usize) -> String {
    let mut s = text.to_owned();
    truncate_middle(&mut s, max_chars);
    s
}
