//! [`HostedCodeInterpreterTool`]: files for a code interpreter, either staged into a session
//! (for [`crate::CodeInterpreterTool`]) or rendered for a provider-hosted interpreter.
//!
//! Unlike peers that drop what a provider cannot take, every input is accounted for: staged, or
//! mapped, or an explicit error (or, opt-in, dropped with a warning and reported).

pub mod fetch;
pub mod input;
pub mod render;
pub mod stage;

pub use fetch::{FetchError, FetchPolicy, Fetched};
pub use input::{FileInput, InvalidInput};
pub use render::{
    AnthropicRendering, AssistantsRendering, DroppedInput, RenderError, ResponsesRendering,
};
pub use stage::{StageError, StagedFile, StagingReport};

use sessions_core::api::Session;

/// Files for a code interpreter.
///
/// ```
/// use llm_tools::hosted::{FileInput, HostedCodeInterpreterTool};
/// let tool = HostedCodeInterpreterTool::new(vec![FileInput::hosted("file-abc")]);
/// let rendered = tool.openai_responses().unwrap();
/// assert_eq!(rendered.tool["container"]["file_ids"][0], "file-abc");
///
/// let strict = HostedCodeInterpreterTool::new(vec![FileInput::text("1,2")]);
/// assert!(strict.openai_responses().is_err());
/// let lossy = HostedCodeInterpreterTool::new(vec![FileInput::text("1,2")]).lossy(true);
/// assert_eq!(lossy.openai_responses().unwrap().dropped.len(), 1);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostedCodeInterpreterTool {
    /// The files.
    pub inputs: Vec<FileInput>,
    /// Drop inputs a provider cannot take (with a warning, reported in the rendering) instead of
    /// failing. Off by default.
    pub lossy: bool,
    /// Limits for fetching URL inputs when staging.
    pub fetch_policy: FetchPolicy,
}

impl HostedCodeInterpreterTool {
    /// A tool with these inputs.
    pub fn new(inputs: Vec<FileInput>) -> Self {
        HostedCodeInterpreterTool {
            inputs,
            ..Default::default()
        }
    }

    /// Turn lossy rendering on or off.
    pub fn lossy(mut self, lossy: bool) -> Self {
        self.lossy = lossy;
        self
    }

    /// Replace the fetch limits.
    pub fn with_fetch_policy(mut self, policy: FetchPolicy) -> Self {
        self.fetch_policy = policy;
        self
    }

    /// Stage every input into `session`'s `/mnt/data`, concurrently: data and text are uploaded,
    /// URLs fetched by this client and uploaded, hosted ids checked to exist. Names are decided
    /// up front, so staging again writes the same files.
    pub async fn stage(&self, session: &Session) -> Result<StagingReport, StageError> {
        stage::stage(session, &self.inputs, &self.fetch_policy).await
    }

    /// The OpenAI Responses `code_interpreter` tool.
    pub fn openai_responses(&self) -> Result<ResponsesRendering, RenderError> {
        render::responses(&self.inputs, self.lossy)
    }

    /// The OpenAI Assistants (legacy) `tools` and `tool_resources`.
    pub fn openai_assistants(&self) -> Result<AssistantsRendering, RenderError> {
        render::assistants(&self.inputs, self.lossy)
    }

    /// Anthropic's code-execution tool and `container_upload` blocks.
    pub fn anthropic(&self) -> Result<AnthropicRendering, RenderError> {
        render::anthropic(&self.inputs, self.lossy)
    }
}
