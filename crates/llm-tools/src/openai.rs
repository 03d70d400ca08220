//! Interop with `async-openai` (feature `async-openai`): its Chat and Responses types in and out.
//!
//! Where its types disagree with the API (reference §10) this module does not rely on them:
//! `FunctionTool.strict` / `FunctionObject.strict` are always `Some` (unset means server-side
//! strict coercion in Responses), and custom tool calls (whose field async-openai names
//! `custom_tool` instead of `custom`) are handed back as typed values, never re-serialized.

use async_openai::types::chat::{
    ChatCompletionMessageToolCalls, ChatCompletionRequestMessage, ChatCompletionRequestToolMessage,
    ChatCompletionRequestToolMessageContent, ChatCompletionResponseMessage, ChatCompletionTool,
    ChatCompletionTools, FunctionObject,
};
use async_openai::types::responses::{
    FunctionCallOutput, FunctionCallOutputItemParam, FunctionTool, InputItem, Item, OutputItem,
    Tool,
};

use crate::call::{CallError, ToolCall};
use crate::definition::ToolSpec;
use crate::output::ImageNote;
use crate::providers;
use crate::tool::{CodeInterpreterTool, ToolImage};
use crate::turn::{RejectedCall, TurnOutcome};

/// The answer to a Chat turn, in async-openai types.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OpenAiChatTurn {
    /// One tool message per handled call.
    pub messages: Vec<ChatCompletionRequestMessage>,
    /// Images produced (tool messages are text only).
    pub images: Vec<ToolImage>,
    /// Calls for other tools (including custom tools), untouched.
    pub unhandled: Vec<ChatCompletionMessageToolCalls>,
    /// Calls not run because they cannot be answered (no id).
    pub rejected: Vec<RejectedCall>,
}

impl OpenAiChatTurn {
    /// Whether every call was answered, there were none, or the answer is incomplete.
    pub fn outcome(&self) -> TurnOutcome {
        TurnOutcome::of(
            self.messages.len(),
            self.unhandled.len(),
            self.rejected.len(),
        )
    }
}

/// The answer to a Responses turn, in async-openai types.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OpenAiResponsesTurn {
    /// One `function_call_output` input item per handled call.
    pub items: Vec<InputItem>,
    /// Output items that are calls for other tools, untouched.
    pub unhandled: Vec<OutputItem>,
    /// Calls not run because they cannot be answered (no `call_id`).
    pub rejected: Vec<RejectedCall>,
}

impl OpenAiResponsesTurn {
    /// Whether every call was answered, there were none, or the answer is incomplete.
    pub fn outcome(&self) -> TurnOutcome {
        TurnOutcome::of(self.items.len(), self.unhandled.len(), self.rejected.len())
    }
}

/// A call without its id, as a rejected call.
fn reject(call: &ToolCall<'_>, raw: impl serde::Serialize, field: &'static str) -> RejectedCall {
    RejectedCall {
        raw: serde_json::to_value(raw).unwrap_or_default(),
        error: CallError::MissingId {
            name: call.name.to_string(),
            field,
        },
    }
}

impl CodeInterpreterTool {
    /// The Chat definition as async-openai's type, with `strict` set explicitly.
    pub fn definition_chat_openai(&self) -> ChatCompletionTools {
        let spec = self.spec();
        ChatCompletionTools::Function(ChatCompletionTool {
            function: FunctionObject {
                name: spec.name.to_string(),
                description: Some(spec.description),
                parameters: Some(ToolSpec::parameters()),
                strict: Some(self.options().strict),
            },
        })
    }

    /// The Responses definition as async-openai's type, with `strict` set explicitly.
    pub fn definition_responses_openai(&self) -> Tool {
        let spec = self.spec();
        Tool::Function(FunctionTool {
            name: spec.name.to_string(),
            description: Some(spec.description),
            parameters: Some(ToolSpec::parameters()),
            strict: Some(self.options().strict),
            ..FunctionTool::default()
        })
    }

    /// Handle a Chat assistant message given as async-openai's type.
    pub async fn handle_chat_openai(
        &self,
        message: &ChatCompletionResponseMessage,
    ) -> OpenAiChatTurn {
        let mut out = OpenAiChatTurn::default();
        for call in message.tool_calls.iter().flatten() {
            let ChatCompletionMessageToolCalls::Function(function) = call else {
                out.unhandled.push(call.clone());
                continue;
            };
            let tool_call = ToolCall::from_json(
                &function.id,
                &function.function.name,
                &function.function.arguments,
            );
            if self.answers(&tool_call) && function.id.trim().is_empty() {
                out.rejected.push(reject(&tool_call, call, "id"));
                continue;
            }
            match self.answer(&tool_call).await {
                Some(output) => {
                    out.messages.push(ChatCompletionRequestMessage::Tool(
                        ChatCompletionRequestToolMessage {
                            content: ChatCompletionRequestToolMessageContent::Text(
                                output.text_for_model(ImageNote::Withheld),
                            ),
                            tool_call_id: function.id.clone(),
                        },
                    ));
                    out.images
                        .extend(output.images.into_iter().map(|image| ToolImage {
                            call_id: function.id.clone(),
                            image,
                        }));
                }
                None => out.unhandled.push(call.clone()),
            }
        }
        out
    }

    /// Handle a Responses output given as async-openai's items.
    pub async fn handle_responses_openai(&self, output: &[OutputItem]) -> OpenAiResponsesTurn {
        let mut out = OpenAiResponsesTurn::default();
        for item in output {
            let call = match item {
                OutputItem::FunctionCall(call) => call,
                OutputItem::CustomToolCall(_)
                | OutputItem::ComputerCall(_)
                | OutputItem::LocalShellCall(_)
                | OutputItem::ShellCall(_) => {
                    out.unhandled.push(item.clone());
                    continue;
                }
                _ => continue,
            };
            let tool_call = ToolCall::from_json(&call.call_id, &call.name, &call.arguments);
            if self.answers(&tool_call) && call.call_id.trim().is_empty() {
                out.rejected.push(reject(&tool_call, item, "call_id"));
                continue;
            }
            match self.answer(&tool_call).await {
                Some(result) => {
                    let value = providers::responses::function_call_output(&call.call_id, &result);
                    let output =
                        match serde_json::from_value::<FunctionCallOutput>(value["output"].clone())
                        {
                            Ok(parsed) => parsed,
                            Err(_) => {
                                FunctionCallOutput::Text(result.text_for_model(ImageNote::Withheld))
                            }
                        };
                    out.items.push(InputItem::Item(Item::FunctionCallOutput(
                        FunctionCallOutputItemParam {
                            call_id: Some(call.call_id.clone()),
                            output,
                            id: None,
                            status: None,
                            name: None,
                            namespace: None,
                            caller: None,
                        },
                    )));
                }
                None => out.unhandled.push(item.clone()),
            }
        }
        out
    }
}
