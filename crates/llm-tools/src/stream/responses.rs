//! OpenAI Responses: `response.output_item.added`, `response.function_call_arguments.delta` and
//! `.done`, `response.output_item.done`, `response.completed`.

use std::collections::{BTreeMap, HashSet};

use serde_json::{Value, json};

use super::{Completed, error_message, index_at};
use crate::call::ToolCall;

#[derive(Debug, Default)]
pub(super) struct ResponsesStream {
    items: BTreeMap<u64, Value>,
    yielded: HashSet<u64>,
    response: Option<Value>,
    ended: bool,
}

impl ResponsesStream {
    pub(super) fn event(&mut self, event: &Value) -> Completed {
        let kind = event.get("type").and_then(Value::as_str).unwrap_or("");
        let index = index_at(event, "output_index");
        match kind {
            "response.output_item.added" => {
                if let Some(item) = event.get("item") {
                    self.items.insert(index, item.clone());
                }
            }
            "response.function_call_arguments.delta" => {
                if let (Some(item), Some(delta)) = (
                    self.items.get_mut(&index),
                    event.get("delta").and_then(Value::as_str),
                ) {
                    let mut arguments = item
                        .get("arguments")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_owned();
                    arguments.push_str(delta);
                    item["arguments"] = Value::String(arguments);
                }
            }
            "response.function_call_arguments.done" => {
                if let (Some(item), Some(arguments)) =
                    (self.items.get_mut(&index), event.get("arguments"))
                {
                    item["arguments"] = arguments.clone();
                }
                return Ok(self.take(index).into_iter().collect());
            }
            "response.output_item.done" => {
                if let Some(item) = event.get("item") {
                    self.items.insert(index, item.clone());
                }
                return Ok(self.take(index).into_iter().collect());
            }
            "response.completed" | "response.incomplete" => {
                self.ended = true;
                self.response = event.get("response").cloned();
            }
            "response.failed" => {
                let error = event
                    .get("response")
                    .and_then(|r| r.get("error"))
                    .unwrap_or(event);
                return Err(error_message(error));
            }
            "error" => return Err(error_message(event)),
            _ => {}
        }
        Ok(Vec::new())
    }

    /// The call of a finished `function_call` item, once.
    fn take(&mut self, index: u64) -> Option<(ToolCall<'static>, Value)> {
        let item = self.items.get(&index)?;
        if item.get("type").and_then(Value::as_str) != Some("function_call")
            || !self.yielded.insert(index)
        {
            return None;
        }
        Some((call_of(item), item.clone()))
    }

    pub(super) fn finish(mut self) -> Option<(Value, Vec<(ToolCall<'static>, Value)>)> {
        if !self.ended {
            return None;
        }
        let indices: Vec<u64> = self.items.keys().copied().collect();
        let last = indices.into_iter().filter_map(|i| self.take(i)).collect();
        let mut response = self.response.unwrap_or_else(|| json!({}));
        // The final event usually repeats the output; fill it from the items when it does not.
        if response
            .get("output")
            .and_then(Value::as_array)
            .is_none_or(Vec::is_empty)
        {
            response["output"] = self.items.into_values().collect();
        }
        response["object"] = json!("response");
        Some((response, last))
    }
}

fn call_of(item: &Value) -> ToolCall<'static> {
    let text = |key| {
        item.get(key)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned()
    };
    ToolCall::from_json(text("call_id"), text("name"), text("arguments"))
}
