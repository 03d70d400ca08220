//! Anthropic: `content_block_start`, `content_block_delta` (`text_delta`, `input_json_delta`,
//! `thinking_delta`, `signature_delta`), `content_block_stop`, `message_delta`, `message_stop`.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::{Completed, error_message, index_at};
use crate::call::{Arguments, ToolCall};

#[derive(Debug, Default)]
pub(super) struct AnthropicStream {
    message: Option<Value>,
    blocks: BTreeMap<u64, Block>,
    stop_reason: Option<Value>,
    ended: bool,
}

#[derive(Debug)]
struct Block {
    value: Value,
    partial_json: String,
    stopped: bool,
}

impl AnthropicStream {
    pub(super) fn event(&mut self, event: &Value) -> Completed {
        let kind = event.get("type").and_then(Value::as_str).unwrap_or("");
        let index = index_at(event, "index");
        match kind {
            "message_start" => self.message = event.get("message").cloned(),
            "content_block_start" => {
                let value = event.get("content_block").cloned().unwrap_or(Value::Null);
                self.blocks.insert(
                    index,
                    Block {
                        value,
                        partial_json: String::new(),
                        stopped: false,
                    },
                );
            }
            "content_block_delta" => {
                let (Some(block), Some(delta)) = (self.blocks.get_mut(&index), event.get("delta"))
                else {
                    return Ok(Vec::new());
                };
                let text = |key| delta.get(key).and_then(Value::as_str).unwrap_or("");
                match text("type") {
                    "input_json_delta" => block.partial_json.push_str(text("partial_json")),
                    "text_delta" => append(&mut block.value, "text", text("text")),
                    "thinking_delta" => append(&mut block.value, "thinking", text("thinking")),
                    "signature_delta" => {
                        block.value["signature"] = Value::String(text("signature").to_owned())
                    }
                    _ => {}
                }
            }
            "content_block_stop" => {
                if let Some(block) = self.blocks.get_mut(&index) {
                    return Ok(stop(block).into_iter().collect());
                }
            }
            "message_delta" => {
                if let Some(reason) = event.get("delta").and_then(|d| d.get("stop_reason")) {
                    self.stop_reason = Some(reason.clone());
                }
            }
            "message_stop" => self.ended = true,
            "error" => return Err(error_message(event.get("error").unwrap_or(event))),
            _ => {}
        }
        Ok(Vec::new())
    }

    pub(super) fn finish(mut self) -> Option<(Value, Vec<(ToolCall<'static>, Value)>)> {
        if !self.ended {
            return None;
        }
        let last = self.blocks.values_mut().filter_map(stop).collect();
        let mut message = self
            .message
            .unwrap_or_else(|| json!({"type": "message", "role": "assistant"}));
        message["content"] = self.blocks.into_values().map(|b| b.value).collect();
        if let Some(reason) = self.stop_reason {
            message["stop_reason"] = reason;
        }
        Some((message, last))
    }
}

fn append(block: &mut Value, key: &str, text: &str) {
    let mut current = block
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    current.push_str(text);
    block[key] = Value::String(current);
}

/// Close a block: a tool use gets its parsed input, and its call is returned (once).
fn stop(block: &mut Block) -> Option<(ToolCall<'static>, Value)> {
    if block.stopped {
        return None;
    }
    block.stopped = true;
    let kind = block
        .value
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    if kind != "tool_use" && kind != "server_tool_use" {
        return None;
    }
    let json = block.partial_json.trim();
    let arguments = if json.is_empty() {
        Arguments::Value(std::borrow::Cow::Owned(
            block
                .value
                .get("input")
                .cloned()
                .unwrap_or_else(|| json!({})),
        ))
    } else {
        match serde_json::from_str::<Value>(json) {
            Ok(input) => {
                block.value["input"] = input.clone();
                Arguments::Value(std::borrow::Cow::Owned(input))
            }
            // Kept as text so the model is told its arguments were not JSON.
            Err(_) => Arguments::Json(std::borrow::Cow::Owned(json.to_owned())),
        }
    };
    if kind == "server_tool_use" {
        return None;
    }
    let text = |key| {
        block
            .value
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned()
    };
    let call = ToolCall {
        id: text("id").into(),
        name: text("name").into(),
        arguments,
    };
    Some((call, block.value.clone()))
}
