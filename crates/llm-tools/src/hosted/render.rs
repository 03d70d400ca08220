//! Rendering for provider-hosted interpreters. Only hosted file ids map; any other input is an
//! explicit error, or, in lossy mode, dropped with a warning and reported. Never silent.

use serde_json::{Value, json};

use super::input::FileInput;

/// An input a provider cannot take, dropped in lossy mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DroppedInput {
    /// The input's position.
    pub index: usize,
    /// The input, described without secrets.
    pub description: String,
}

/// An input the target cannot take (strict mode).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{target} takes only hosted file ids, but input {index} is {description}; upload it to the provider first and pass FileInput::hosted(id), or enable lossy mode to drop it"
)]
pub struct RenderError {
    /// The provider format.
    pub target: &'static str,
    /// The input's position.
    pub index: usize,
    /// The input, described without secrets.
    pub description: String,
}

/// OpenAI Responses: the `code_interpreter` tool.
#[derive(Debug, Clone, PartialEq)]
pub struct ResponsesRendering {
    /// `{"type":"code_interpreter","container":{"type":"auto","file_ids":[…]}}`.
    pub tool: Value,
    /// Inputs dropped in lossy mode.
    pub dropped: Vec<DroppedInput>,
}

/// OpenAI Assistants (legacy): `tools` plus `tool_resources`.
#[derive(Debug, Clone, PartialEq)]
pub struct AssistantsRendering {
    /// `[{"type":"code_interpreter"}]`.
    pub tools: Value,
    /// `{"code_interpreter":{"file_ids":[…]}}`.
    pub tool_resources: Value,
    /// Inputs dropped in lossy mode.
    pub dropped: Vec<DroppedInput>,
}

/// Anthropic: the code-execution tool plus `container_upload` blocks for the user message.
#[derive(Debug, Clone, PartialEq)]
pub struct AnthropicRendering {
    /// `{"type":"code_execution_20250825","name":"code_execution"}`.
    pub tool: Value,
    /// One `{"type":"container_upload","file_id":…}` per file; put them in the user message.
    pub content_blocks: Vec<Value>,
    /// Inputs dropped in lossy mode.
    pub dropped: Vec<DroppedInput>,
}

/// Split inputs into hosted ids and the rest (an error unless `lossy`).
pub(crate) fn hosted_ids<'a>(
    inputs: &'a [FileInput],
    target: &'static str,
    lossy: bool,
) -> Result<(Vec<&'a str>, Vec<DroppedInput>), RenderError> {
    let mut ids = Vec::with_capacity(inputs.len());
    let mut dropped = Vec::new();
    for (index, input) in inputs.iter().enumerate() {
        match input {
            FileInput::Hosted { id } => ids.push(id.as_str()),
            other if lossy => {
                let description = other.describe();
                tracing::warn!(target_format = target, index, input = %description, "dropping an input the hosted interpreter cannot take");
                dropped.push(DroppedInput { index, description });
            }
            other => {
                return Err(RenderError {
                    target,
                    index,
                    description: other.describe(),
                });
            }
        }
    }
    Ok((ids, dropped))
}

pub(crate) fn responses(
    inputs: &[FileInput],
    lossy: bool,
) -> Result<ResponsesRendering, RenderError> {
    let (ids, dropped) = hosted_ids(inputs, "OpenAI Responses code_interpreter", lossy)?;
    let container = if ids.is_empty() {
        json!({"type": "auto"})
    } else {
        json!({"type": "auto", "file_ids": ids})
    };
    Ok(ResponsesRendering {
        tool: json!({"type": "code_interpreter", "container": container}),
        dropped,
    })
}

pub(crate) fn assistants(
    inputs: &[FileInput],
    lossy: bool,
) -> Result<AssistantsRendering, RenderError> {
    let (ids, dropped) = hosted_ids(inputs, "OpenAI Assistants code_interpreter", lossy)?;
    Ok(AssistantsRendering {
        tools: json!([{"type": "code_interpreter"}]),
        tool_resources: json!({"code_interpreter": {"file_ids": ids}}),
        dropped,
    })
}

pub(crate) fn anthropic(
    inputs: &[FileInput],
    lossy: bool,
) -> Result<AnthropicRendering, RenderError> {
    let (ids, dropped) = hosted_ids(inputs, "Anthropic code_execution", lossy)?;
    Ok(AnthropicRendering {
        tool: json!({"type": "code_execution_20250825", "name": "code_execution"}),
        content_blocks: ids
            .into_iter()
            .map(|id| json!({"type": "container_upload", "file_id": id}))
            .collect(),
        dropped,
    })
}
