//! Answering whole model turns, one provider format each: which calls run, which are handed back
//! or rejected, and the messages that carry the results.

use serde_json::Value;
use sessions_core::Image;

use super::CodeInterpreterTool;
use crate::ToolError;
use crate::call::{CallError, ToolCall};
use crate::output::ToolOutput;
use crate::providers::{self, FoundCall, FoundCalls};
use crate::turn::{RejectedCall, TurnOutcome};

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

impl CodeInterpreterTool {
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
        done: &mut Precomputed,
    ) -> TurnAnswers<'f, 'a> {
        let mut answers = TurnAnswers {
            answered: Vec::with_capacity(found.calls.len()),
            unhandled: others(found),
            rejected: Vec::new(),
        };
        for (ordinal, found_call) in found.calls.iter().enumerate() {
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
                let output = match done.remove(&call_key(call, ordinal)) {
                    Some(output) => output,
                    None => self.execute_call(call).await,
                };
                answers.answered.push((found_call, output));
            }
        }
        answers
    }

    /// Handle an OpenAI Chat turn: a completion, an assistant message or a `tool_calls` array.
    /// Check [`ChatTurnOutput::outcome`] before sending the messages.
    pub async fn handle_chat(&self, turn: &Value) -> Result<ChatTurnOutput, ToolError> {
        self.answer_chat(turn, &mut Precomputed::new()).await
    }

    pub(super) async fn answer_chat(
        &self,
        turn: &Value,
        done: &mut Precomputed,
    ) -> Result<ChatTurnOutput, ToolError> {
        let found = providers::chat::find_calls(turn)?;
        let answers = self.answer_turn(&found, Some("id"), done).await;
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
        self.answer_responses(turn, &mut Precomputed::new()).await
    }

    pub(super) async fn answer_responses(
        &self,
        turn: &Value,
        done: &mut Precomputed,
    ) -> Result<ResponsesTurnOutput, ToolError> {
        let found = providers::responses::find_calls(turn)?;
        let answers = self.answer_turn(&found, Some("call_id"), done).await;
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
        self.answer_anthropic(turn, &mut Precomputed::new()).await
    }

    pub(super) async fn answer_anthropic(
        &self,
        turn: &Value,
        done: &mut Precomputed,
    ) -> Result<AnthropicTurnOutput, ToolError> {
        let found = providers::anthropic::find_calls(turn)?;
        let answers = self.answer_turn(&found, Some("id"), done).await;
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
        self.answer_gemini(turn, &mut Precomputed::new()).await
    }

    pub(super) async fn answer_gemini(
        &self,
        turn: &Value,
        done: &mut Precomputed,
    ) -> Result<GeminiTurnOutput, ToolError> {
        let found = providers::gemini::find_calls(turn)?;
        let answers = self.answer_turn(&found, None, done).await;
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
}

/// Outputs of calls already run (while the turn streamed), by [`call_key`].
pub(super) type Precomputed = std::collections::HashMap<String, ToolOutput>;

/// A call's key: its id, or its position when it has none (Gemini).
pub(super) fn call_key(call: &ToolCall<'_>, ordinal: usize) -> String {
    if call.id.is_empty() {
        format!("#{ordinal}")
    } else {
        call.id.to_string()
    }
}

/// The calls of one turn, sorted by what became of them.
struct TurnAnswers<'f, 'a> {
    answered: Vec<(&'f FoundCall<'a>, ToolOutput)>,
    unhandled: Vec<Value>,
    rejected: Vec<RejectedCall>,
}

fn others(found: &FoundCalls<'_>) -> Vec<Value> {
    found.other.iter().map(|v| (*v).clone()).collect()
}
