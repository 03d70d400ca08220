//! The conversation each provider wants replayed: the model's turn as sent (reasoning items,
//! thinking blocks and thought signatures included), then one answer per call.

use serde_json::{Value, json};
use sessions_core::Image;

use super::ToolResult;
use crate::providers::{self, Format, FoundCalls, ShapeError};

/// The calls of a model turn.
pub(super) fn calls_of(format: Format, turn: &Value) -> Result<FoundCalls<'_>, ShapeError> {
    match format {
        Format::Chat => providers::chat::find_calls(turn),
        Format::Responses => providers::responses::find_calls(turn),
        Format::Anthropic => providers::anthropic::find_calls(turn),
        _ => providers::gemini::find_calls(turn),
    }
}

/// Append the model's turn to the history, unchanged.
pub(super) fn push_turn(format: Format, history: &mut Vec<Value>, turn: &Value) {
    match format {
        Format::Chat => {
            let message = turn
                .get("choices")
                .and_then(|c| c.get(0))
                .and_then(|c| c.get("message"))
                .unwrap_or(turn);
            history.push(message.clone());
        }
        Format::Responses => {
            let output = turn.get("output").unwrap_or(turn);
            history.extend(output.as_array().into_iter().flatten().cloned());
        }
        Format::Anthropic => history.push(json!({"role": "assistant",
            "content": turn.get("content").cloned().unwrap_or_else(|| json!([]))})),
        _ => {
            let content = turn
                .get("candidates")
                .and_then(|c| c.get(0))
                .and_then(|c| c.get("content"))
                .unwrap_or(turn);
            history.push(content.clone());
        }
    }
}

/// The answer to one call, and the images a Chat answer must send separately.
pub(super) fn answer(
    format: Format,
    id: &str,
    name: &str,
    result: &ToolResult,
    chat_images: &mut Vec<Image>,
) -> Value {
    match result {
        ToolResult::Code(output) => match format {
            Format::Chat => {
                chat_images.extend(output.images.iter().cloned());
                providers::chat::tool_message(id, output)
            }
            Format::Responses => providers::responses::function_call_output(id, output),
            Format::Anthropic => providers::anthropic::tool_result(id, output),
            _ => providers::gemini::function_response(id, name, output),
        },
        ToolResult::Text { text, is_error } => match format {
            Format::Chat => json!({"role": "tool", "tool_call_id": id, "content": text}),
            Format::Responses => {
                json!({"type": "function_call_output", "call_id": id, "output": text})
            }
            Format::Anthropic => json!({"type": "tool_result", "tool_use_id": id,
                "content": text, "is_error": is_error}),
            _ => {
                let key = if *is_error { "error" } else { "output" };
                let mut response = json!({"name": name, "response": {key: text}});
                if !id.is_empty() {
                    response["id"] = json!(id);
                }
                json!({"functionResponse": response})
            }
        },
    }
}

/// Append the answers of one turn.
pub(super) fn push_answers(
    format: Format,
    history: &mut Vec<Value>,
    answers: Vec<Value>,
    chat_images: &[Image],
) {
    match format {
        Format::Chat => {
            history.extend(answers);
            if !chat_images.is_empty() {
                history.push(providers::chat::image_message(chat_images));
            }
        }
        Format::Responses => history.extend(answers),
        Format::Anthropic => history.push(providers::anthropic::user_message(answers)),
        _ => history.push(providers::gemini::user_content(answers)),
    }
}

/// The text of a final turn.
pub(super) fn final_text(format: Format, turn: &Value) -> String {
    let texts: Vec<&str> = match format {
        Format::Chat => turn
            .pointer("/choices/0/message/content")
            .and_then(Value::as_str)
            .into_iter()
            .collect(),
        Format::Responses => turn
            .get("output")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|item| item.get("content").and_then(Value::as_array))
            .flatten()
            .filter(|part| part.get("type").and_then(Value::as_str) == Some("output_text"))
            .filter_map(|part| part.get("text").and_then(Value::as_str))
            .collect(),
        Format::Anthropic => turn
            .get("content")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|b| b.get("type").and_then(Value::as_str) == Some("text"))
            .filter_map(|b| b.get("text").and_then(Value::as_str))
            .collect(),
        _ => turn
            .pointer("/candidates/0/content/parts")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|p| p.get("thought").and_then(Value::as_bool) != Some(true))
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect(),
    };
    texts.join("")
}
