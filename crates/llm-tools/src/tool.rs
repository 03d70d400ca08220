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
use crate::providers::{self, FoundCall, FoundCalls, ShapeError};
use crate::turn::{RejectedCall, TurnOutcome};

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
}

/// An image produced by a call, handed to the caller (Chat tool messages cannot carry it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolImage {
    /// The call that produced it.
    pub call_id: String,
    /// The image.
    pub image: Image,
}

/// The answer to an OpenAI Chat turn.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChatTurnOutput {
    /// One `tool` message per handled call, in order. Append them after the assistant message.
    pub messages: Vec<Value>,
    /// Images the code produced (described, not included, in the messages).
    pub images: Vec<ToolImage>,
    /// Calls for other tools, untouched: answer them yourself before the next user message.
    pub unhandled: Vec<Value>,
    /// Calls that were not run because they cannot be answered as sent (no id).
    pub rejected: Vec<RejectedCall>,
}

impl ChatTurnOutput {
    /// Whether every call was answered, there were none, or the answer is incomplete.
    pub fn outcome(&self) -> TurnOutcome {
        TurnOutcome::of(
            self.messages.len(),
            self.unhandled.len(),
            self.rejected.len(),
        )
    }
}

impl ChatTurnOutput {
    /// A user message showing the images, to send after all tool messages; `None` without images.
    pub fn image_message(&self) -> Option<Value> {
        (!self.images.is_empty())
            .then(|| providers::chat::image_message(self.images.iter().map(|i| &i.image)))
    }
}

/// The answer to an OpenAI Responses turn.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResponsesTurnOutput {
    /// One `function_call_output` item per handled call (images included as `input_image`).
    pub items: Vec<Value>,
    /// Calls for other tools, untouched.
    pub unhandled: Vec<Value>,
    /// Calls that were not run because they cannot be answered as sent (no id).
    pub rejected: Vec<RejectedCall>,
}

impl ResponsesTurnOutput {
    /// Whether every call was answered, there were none, or the answer is incomplete.
    pub fn outcome(&self) -> TurnOutcome {
        TurnOutcome::of(self.items.len(), self.unhandled.len(), self.rejected.len())
    }
}

/// The answer to an Anthropic turn.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AnthropicTurnOutput {
    /// One `tool_result` block per handled call (images included as `image` blocks).
    pub blocks: Vec<Value>,
    /// `tool_use` blocks for other tools, untouched.
    pub unhandled: Vec<Value>,
    /// Calls that were not run because they cannot be answered as sent (no id).
    pub rejected: Vec<RejectedCall>,
}

impl AnthropicTurnOutput {
    /// Whether every call was answered, there were none, or the answer is incomplete.
    pub fn outcome(&self) -> TurnOutcome {
        TurnOutcome::of(self.blocks.len(), self.unhandled.len(), self.rejected.len())
    }
}

impl AnthropicTurnOutput {
    /// The user message with all results (add results for `unhandled` calls to it first).
    pub fn user_message(&self) -> Value {
        providers::anthropic::user_message(self.blocks.clone())
    }
}

/// The answer to a Gemini turn.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GeminiTurnOutput {
    /// One `functionResponse` part per handled call (images as `inlineData`).
    pub parts: Vec<Value>,
    /// `functionCall` parts for other tools, untouched.
    pub unhandled: Vec<Value>,
    /// Calls that were not run because they cannot be answered as sent (no id).
    pub rejected: Vec<RejectedCall>,
}

impl GeminiTurnOutput {
    /// Whether every call was answered, there were none, or the answer is incomplete.
    pub fn outcome(&self) -> TurnOutcome {
        TurnOutcome::of(self.parts.len(), self.unhandled.len(), self.rejected.len())
    }
}

impl GeminiTurnOutput {
    /// The `user` content with all responses.
    pub fn user_content(&self) -> Value {
        providers::gemini::user_content(self.parts.clone())
    }
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

    /// Answer one call: ours runs, others are answered with an error or handed back (`None`).
    #[cfg(feature = "async-openai")]
    pub(crate) async fn answer(&self, call: &ToolCall<'_>) -> Option<ToolOutput> {
        if self.answers(call) {
            Some(self.execute_call(call).await)
        } else {
            None
        }
    }

    /// Whether this tool answers a call: ours, or any with `answer_unknown_tools`.
    pub(crate) fn answers(&self, call: &ToolCall<'_>) -> bool {
        call.name == self.name.as_str() || self.options.answer_unknown_tools
    }

    /// Run the calls of a turn this tool answers, in order. `id_field` names the id the provider
    /// requires (a call without it is rejected, not run); `None` when ids are optional (Gemini).
    async fn answer_turn<'f, 'a>(
        &self,
        found: &'f FoundCalls<'a>,
        id_field: Option<&'static str>,
    ) -> TurnAnswers<'f, 'a> {
        let mut answers = TurnAnswers {
            answered: Vec::with_capacity(found.calls.len()),
            unhandled: others(found),
            rejected: Vec::new(),
        };
        for found_call in &found.calls {
            let call = &found_call.call;
            if !self.answers(call) {
                answers.unhandled.push(found_call.raw.clone());
            } else if let Some(field) = id_field.filter(|_| call.id.trim().is_empty()) {
                let error = CallError::MissingId {
                    name: call.name.to_string(),
                    field,
                };
                tracing::warn!(error = %error, "tool call rejected");
                answers.rejected.push(RejectedCall {
                    raw: found_call.raw.clone(),
                    error,
                });
            } else {
                answers
                    .answered
                    .push((found_call, self.execute_call(call).await));
            }
        }
        answers
    }

    /// Handle an OpenAI Chat turn: a completion, an assistant message or a `tool_calls` array.
    /// Check [`ChatTurnOutput::outcome`] before sending the messages.
    pub async fn handle_chat(&self, turn: &Value) -> Result<ChatTurnOutput, ToolError> {
        let found = providers::chat::find_calls(turn)?;
        let answers = self.answer_turn(&found, Some("id")).await;
        let mut out = ChatTurnOutput {
            unhandled: answers.unhandled,
            rejected: answers.rejected,
            ..Default::default()
        };
        for (call, output) in answers.answered {
            let id = &call.call.id;
            out.messages
                .push(providers::chat::tool_message(id, &output));
            out.images
                .extend(output.images.into_iter().map(|image| ToolImage {
                    call_id: id.to_string(),
                    image,
                }));
        }
        Ok(out)
    }

    /// Handle an OpenAI Responses turn: a response, its `output` array, or one item.
    /// Check [`ResponsesTurnOutput::outcome`] before sending the items.
    pub async fn handle_responses(&self, turn: &Value) -> Result<ResponsesTurnOutput, ToolError> {
        let found = providers::responses::find_calls(turn)?;
        let answers = self.answer_turn(&found, Some("call_id")).await;
        Ok(ResponsesTurnOutput {
            items: answers
                .answered
                .iter()
                .map(|(call, output)| {
                    providers::responses::function_call_output(&call.call.id, output)
                })
                .collect(),
            unhandled: answers.unhandled,
            rejected: answers.rejected,
        })
    }

    /// Handle an Anthropic turn: a message, its `content` array, or one block.
    /// Check [`AnthropicTurnOutput::outcome`] before sending the user message.
    pub async fn handle_anthropic(&self, turn: &Value) -> Result<AnthropicTurnOutput, ToolError> {
        let found = providers::anthropic::find_calls(turn)?;
        let answers = self.answer_turn(&found, Some("id")).await;
        Ok(AnthropicTurnOutput {
            blocks: answers
                .answered
                .iter()
                .map(|(call, output)| providers::anthropic::tool_result(&call.call.id, output))
                .collect(),
            unhandled: answers.unhandled,
            rejected: answers.rejected,
        })
    }

    /// Handle a Gemini turn: a `generateContent` response, a content, or parts (either casing).
    /// Check [`GeminiTurnOutput::outcome`] before sending the user content.
    pub async fn handle_gemini(&self, turn: &Value) -> Result<GeminiTurnOutput, ToolError> {
        let found = providers::gemini::find_calls(turn)?;
        let answers = self.answer_turn(&found, None).await;
        Ok(GeminiTurnOutput {
            parts: answers
                .answered
                .iter()
                .map(|(call, output)| {
                    providers::gemini::function_response(&call.call.id, &call.call.name, output)
                })
                .collect(),
            unhandled: answers.unhandled,
            rejected: answers.rejected,
        })
    }

    /// Handle an MCP `tools/call` (request or params) and return the `CallToolResult`. An unknown
    /// tool name is an `Err` (MCP answers it with a JSON-RPC error, not a result).
    pub async fn handle_mcp(&self, request: &Value) -> Result<Value, ToolError> {
        let found = providers::mcp::find_call(request)?;
        if found.call.name != self.name.as_str() {
            return Err(CallError::UnknownTool {
                name: found.call.name.to_string(),
                expected: self.name.to_string(),
            }
            .into());
        }
        let output = self.execute_call(&found.call).await;
        Ok(providers::mcp::call_tool_result(&output))
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

/// The calls of one turn, sorted by what became of them.
struct TurnAnswers<'f, 'a> {
    answered: Vec<(&'f FoundCall<'a>, ToolOutput)>,
    unhandled: Vec<Value>,
    rejected: Vec<RejectedCall>,
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

fn others(found: &FoundCalls<'_>) -> Vec<Value> {
    found.other.iter().map(|v| (*v).clone()).collect()
}
