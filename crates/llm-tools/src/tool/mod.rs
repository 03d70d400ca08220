//! [`CodeInterpreterTool`]: a function tool bound to one session.
//!
//! It emits definitions, runs the model's calls in its session (in order, one at a time) and
//! formats the results for each provider. Provider formats live in [`crate::providers`]; this
//! file adds the I/O.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use serde_json::Value;
use sessions_core::api::{ExecuteRequest, Session};
use sessions_core::{FileKind, Image};

use crate::budget::Budget;
use crate::call::{CallError, ParseOptions, ToolCall};
use crate::definition::{AvailableFile, DescriptionFacts, InvalidToolName, ToolName, ToolSpec};
use crate::file_changes::{FileSnapshot, diff_files, snapshot_of};
use crate::hosted::{HostedCodeInterpreterTool, StageError, StagingReport};
use crate::output::{ChangedFile, FileChange, OutputLimits, ToolOutput};
use crate::providers::ShapeError;

mod handle;
mod stream;
pub use handle::{
    AnthropicTurnOutput, ChatTurnOutput, GeminiTurnOutput, ResponsesTurnOutput, ToolImage,
};
pub use stream::{StreamedTurn, TurnAnswer};

/// How the tool behaves. Every field has a sensible default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolOptions {
    /// Clean up fences, prose and indentation in the code (on).
    pub sanitize: bool,
    /// Largest code accepted in one call, in bytes (1 MiB).
    pub max_code_bytes: usize,
    /// What the model reads of one call: stdout, stderr, the result and the file list together
    /// ([`Budget::default`]: 4,000 tokens).
    pub output_budget: Budget,
    /// Changed files listed by name at most; the rest are counted (50).
    pub max_files_listed: usize,
    /// Show images the code saved in `/mnt/data` (png, jpeg, gif, webp up to 20 MB; at most 4
    /// per call) along with the result (on).
    pub attach_saved_images: bool,
    /// List `/mnt/data` before and after each call to report changed files (on).
    pub track_files: bool,
    /// Send `strict: true` in OpenAI definitions (on).
    pub strict: bool,
    /// The service-side timeout of each execution (the client's default when `None`).
    pub execution_timeout: Option<Duration>,
    /// Answer calls for other tool names with an error result instead of handing them back
    /// (off). Turn it on when this is the only tool, so every call gets an answer.
    pub answer_unknown_tools: bool,
}

impl Default for ToolOptions {
    fn default() -> Self {
        ToolOptions {
            sanitize: true,
            max_code_bytes: crate::call::DEFAULT_MAX_CODE_BYTES,
            output_budget: Budget::default(),
            max_files_listed: crate::output::DEFAULT_MAX_FILES_LISTED,
            attach_saved_images: true,
            track_files: true,
            strict: true,
            execution_timeout: None,
            answer_unknown_tools: false,
        }
    }
}

/// Typed errors, for callers who prefer them to results.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ToolError {
    /// The model's call was invalid.
    #[error(transparent)]
    Call(#[from] CallError),
    /// The service failed.
    #[error(transparent)]
    Service(#[from] sessions_core::Error),
    /// The JSON handed in is not what the provider sends.
    #[error(transparent)]
    Shape(#[from] ShapeError),
    /// Input files could not be staged into the session.
    #[error(transparent)]
    Staging(#[from] StageError),
    /// A streamed turn could not be assembled.
    #[error(transparent)]
    Stream(#[from] crate::stream::StreamError),
    /// The stream stopped before its end: the turn cannot be answered as complete. The calls
    /// that already ran are here with their outputs.
    #[error("{error} ({} call(s) had already run)", .ran.len())]
    UnfinishedStream {
        /// Why the stream is incomplete.
        error: crate::stream::StreamError,
        /// The calls that ran, with their outputs.
        ran: Vec<(crate::stream::StreamedCall, ToolOutput)>,
    },
}

/// A Python code-interpreter tool bound to a session.
///
/// A tool either borrows its session ([`new`](Self::new): the caller deletes it) or owns it
/// ([`owning`](Self::owning), [`with_new_session`](Self::with_new_session)): then
/// [`close`](Self::close) deletes it, and dropping the tool without closing logs a warning and
/// makes a best-effort delete in the background.
pub struct CodeInterpreterTool {
    session: Session,
    owns_session: bool,
    closed: AtomicBool,
    name: ToolName,
    options: ToolOptions,
    files: Option<HostedCodeInterpreterTool>,
    staged: tokio::sync::OnceCell<Arc<StagingReport>>,
    known_files: RwLock<Vec<AvailableFile>>,
    // Calls on one session run in order, also across concurrent turns.
    run_lock: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for CodeInterpreterTool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CodeInterpreterTool")
            .field("session", &self.session.identifier())
            .field("owns_session", &self.owns_session)
            .field("name", &self.name)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl CodeInterpreterTool {
    /// A tool on a session the caller manages (it is not deleted by [`close`](Self::close)).
    pub fn new(session: Session) -> Self {
        Self::build(session, false)
    }

    /// A tool that owns `session`: [`close`](Self::close) deletes it.
    pub fn owning(session: Session) -> Self {
        Self::build(session, true)
    }

    fn build(session: Session, owns_session: bool) -> Self {
        CodeInterpreterTool {
            session,
            owns_session,
            closed: AtomicBool::new(false),
            name: ToolName::default(),
            options: ToolOptions::default(),
            files: None,
            staged: tokio::sync::OnceCell::new(),
            known_files: RwLock::new(Vec::new()),
            run_lock: tokio::sync::Mutex::new(()),
        }
    }

    /// A tool on a fresh session of `client`, owned by the tool.
    pub fn with_new_session(client: &sessions_core::Client) -> Self {
        Self::owning(client.new_session())
    }

    /// Use another tool name (validated against every provider's rules).
    pub fn with_name(mut self, name: &str) -> Result<Self, InvalidToolName> {
        self.name = ToolName::new(name)?;
        Ok(self)
    }

    /// Replace the options.
    pub fn with_options(mut self, options: ToolOptions) -> Self {
        self.options = options;
        self
    }

    /// Files to stage into the session before the first call (see [`prepare`](Self::prepare)).
    pub fn with_files(mut self, files: HostedCodeInterpreterTool) -> Self {
        self.files = Some(files);
        self
    }

    /// The session.
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// The tool name.
    pub fn name(&self) -> &ToolName {
        &self.name
    }

    /// The options.
    pub fn options(&self) -> &ToolOptions {
        &self.options
    }

    /// The name and description, with the files known so far (see [`prepare`](Self::prepare)).
    pub fn spec(&self) -> ToolSpec {
        let files = self
            .known_files
            .read()
            .map(|f| f.clone())
            .unwrap_or_default();
        let facts = DescriptionFacts {
            files,
            max_output_chars: self.options.output_budget.chars(),
            images_shown: true,
        };
        ToolSpec::new(self.name.clone(), &facts)
    }

    /// The OpenAI Chat Completions definition.
    pub fn definition_chat(&self) -> Value {
        self.spec().chat(self.options.strict)
    }

    /// The OpenAI Responses definition (`strict` always sent).
    pub fn definition_responses(&self) -> Value {
        self.spec().responses(self.options.strict)
    }

    /// The Anthropic Messages definition.
    pub fn definition_anthropic(&self) -> Value {
        self.spec().anthropic()
    }

    /// The Gemini `Tool` (`{"functionDeclarations": [..]}`).
    pub fn definition_gemini(&self) -> Value {
        self.spec().gemini_tool()
    }

    /// The MCP `Tool`.
    pub fn definition_mcp(&self) -> Value {
        self.spec().mcp()
    }

    /// Stage the input files (once; later calls return the same report) and learn which files
    /// the session holds, so definitions can list them. Calls run this implicitly.
    pub async fn prepare(&self) -> Result<Arc<StagingReport>, ToolError> {
        let report = self
            .staged
            .get_or_try_init(|| async {
                let report = match &self.files {
                    Some(files) => files.stage(&self.session).await?,
                    None => StagingReport::default(),
                };
                self.refresh_files().await?;
                Ok::<_, ToolError>(Arc::new(report))
            })
            .await?;
        Ok(report.clone())
    }

    /// List `/mnt/data` again so the description shows the current files.
    pub async fn refresh_files(&self) -> Result<(), ToolError> {
        let listing = self.session.files().list_all().await?;
        let files = listing
            .iter()
            .filter(|f| f.kind == FileKind::File)
            .map(|f| AvailableFile {
                name: f.relative_path(),
                size: f.size,
            })
            .collect();
        if let Ok(mut known) = self.known_files.write() {
            *known = files;
        }
        Ok(())
    }

    /// Run code (cleaned up like a call) and describe the outcome; errors become outputs.
    pub async fn run(&self, code: &str) -> ToolOutput {
        let call = ToolCall::from_value(
            "",
            self.name.as_str(),
            serde_json::json!({ crate::definition::CODE_PARAMETER: code }),
        );
        self.execute_call(&call).await
    }

    /// Run a call; every failure becomes an output the model can read.
    pub async fn execute_call(&self, call: &ToolCall<'_>) -> ToolOutput {
        match self.try_execute_call(call).await {
            Ok(output) => output,
            Err(ToolError::Call(error)) => ToolOutput::invalid_call(&error),
            Err(ToolError::Service(error)) => {
                tracing::warn!(session = self.session.identifier(), error = %error, "code interpreter call failed");
                ToolOutput::service_error(&error)
            }
            Err(error) => {
                tracing::warn!(session = self.session.identifier(), error = %error, "code interpreter call failed");
                ToolOutput::service_error(&sessions_core::Error::invalid(error.to_string()))
            }
        }
    }

    /// Run a call, with typed errors. A run whose code failed is still `Ok` (status `Failed`).
    pub async fn try_execute_call(&self, call: &ToolCall<'_>) -> Result<ToolOutput, ToolError> {
        let parse_options = ParseOptions {
            sanitize: self.options.sanitize,
            max_code_bytes: self.options.max_code_bytes,
        };
        let parsed = call.parse(self.name.as_str(), &parse_options)?;
        self.prepare().await?;
        let _turn = self.run_lock.lock().await;
        let before = self.snapshot().await;
        let mut request = ExecuteRequest::new(parsed.code.into_owned());
        if let Some(timeout) = self.options.execution_timeout {
            request = request.timeout(timeout);
        }
        if self.session.client().api_version() == sessions_core::ApiVersion::V2025_10_02Preview {
            // The definitions' default is 4096 characters a stream: ask for more, so the
            // budget cuts (head and tail kept) and a cut by the service is recognised.
            request =
                request.output_streams_max_length(crate::truncate::REQUESTED_STREAM_CHARS as u32);
        }
        let execution = self.session.execute_with(request).await?;
        let files_changed = match before {
            Some(before) => self
                .snapshot()
                .await
                .map(|after| diff_files(&before, &after)),
            None => None,
        };
        let limits = OutputLimits {
            budget: self.options.output_budget,
            max_files_listed: self.options.max_files_listed,
        };
        let saved_images = match &files_changed {
            Some(files) if self.options.attach_saved_images => self.saved_images(files).await,
            _ => Vec::new(),
        };
        let mut output = ToolOutput::from_execution(execution, files_changed, &limits);
        output.images.extend(saved_images);
        Ok(output)
    }

    /// Images the run created or changed in `/mnt/data`, downloaded (bounded in count and size).
    async fn saved_images(&self, files: &[ChangedFile]) -> Vec<Image> {
        const MAX_IMAGES: usize = 4;
        const MAX_BYTES: u64 = 20 * 1024 * 1024;
        let mut images = Vec::new();
        let candidates = files.iter().filter(|f| {
            matches!(
                f.change,
                FileChange::Created | FileChange::Modified | FileChange::Renamed
            ) && f.size.is_some_and(|s| s > 0 && s <= MAX_BYTES)
        });
        for file in candidates {
            let Some(format) = image_format(&file.name) else {
                continue;
            };
            if images.len() == MAX_IMAGES {
                break;
            }
            match self.session.files().download_bytes(&file.name).await {
                Ok(bytes) => images.push(Image {
                    format: format.to_owned(),
                    base64_data: base64::Engine::encode(
                        &base64::engine::general_purpose::STANDARD,
                        &bytes,
                    ),
                }),
                Err(error) => {
                    tracing::warn!(session = self.session.identifier(), file = %file.name, error = %error, "could not download a saved image");
                }
            }
        }
        images
    }

    async fn snapshot(&self) -> Option<FileSnapshot> {
        if !self.options.track_files {
            return None;
        }
        match self.session.files().list_all().await {
            Ok(files) => Some(snapshot_of(&files)),
            Err(error) => {
                tracing::warn!(session = self.session.identifier(), error = %error, "could not list /mnt/data; changed files not reported");
                None
            }
        }
    }

    /// Delete the session on the service, whoever owns it.
    pub async fn delete_session(&self) -> Result<(), sessions_core::Error> {
        self.closed.store(true, Ordering::SeqCst);
        self.session.delete().await
    }

    /// End the tool: an owned session is deleted; a borrowed one is left to its owner.
    pub async fn close(self) -> Result<(), sessions_core::Error> {
        if self.owns_session {
            self.delete_session().await
        } else {
            Ok(())
        }
    }
}

impl Drop for CodeInterpreterTool {
    fn drop(&mut self) {
        if !self.owns_session || self.closed.load(Ordering::SeqCst) {
            return;
        }
        let identifier = self.session.identifier().to_owned();
        tracing::warn!(
            session = %identifier,
            "CodeInterpreterTool dropped without close(): its session stays allocated until it expires; call close().await"
        );
        // Best effort: free the pool slot when a runtime is still around to do it.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let session = self.session.clone();
            runtime.spawn(async move {
                if let Err(error) = session.delete().await {
                    tracing::warn!(session = %identifier, error = %error, "background delete of a dropped tool's session failed");
                }
            });
        }
    }
}

/// The image format of a file name, for the raster formats providers show.
fn image_format(name: &str) -> Option<&'static str> {
    let extension = name.rsplit_once('.')?.1.to_ascii_lowercase();
    match extension.as_str() {
        "png" => Some("png"),
        "jpg" | "jpeg" => Some("jpeg"),
        "gif" => Some("gif"),
        "webp" => Some("webp"),
        _ => None,
    }
}
