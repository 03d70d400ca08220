//! OpenAI Chat: `choices[0].delta.tool_calls[]` fragments keyed by `index`.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::{Completed, Event, error_message, index_at};
use crate::call::ToolCall;

#[derive(Debug, Default)]
pub(super) struct ChatStream {
    content: Option<String>,
    calls: BTreeMap<u64, Pending>,
    finish_reason: Option<String>,
    done: bool,
    meta: serde_json::Map<String, Value>,
}

#[derive(Debug, Default)]
struct Pending {
    id: String,
    kind: String,
    name: String,
    arguments: String,
    yielded: bool,
}

impl Pending {
    fn raw(&self) -> Value {
        json!({"id": self.id, "type": if self.kind.is_empty() { "function" } else { &self.kind },
            "function": {"name": self.name, "arguments": self.arguments}})
    }

    fn take(&mut self) -> Option<(ToolCall<'static>, Value)> {
        if self.yielded {
            return None;
        }
        self.yielded = true;
        Some((
            ToolCall::from_json(self.id.clone(), self.name.clone(), self.arguments.clone()),
            self.raw(),
        ))
    }

    /// A JSON object is complete only at its closing brace: no proper prefix parses.
    fn arguments_complete(&self) -> bool {
        self.arguments.trim_end().ends_with('}')
            && serde_json::from_str::<serde::de::IgnoredAny>(&self.arguments).is_ok()
    }
}

impl ChatStream {
    pub(super) fn event(&mut self, event: Event<'_>) -> Completed {
        let chunk = match event {
            Event::Done => {
                self.done = true;
                return Ok(self.take_all());
            }
            Event::Data(chunk) => chunk,
        };
        if let Some(error) = chunk.get("error") {
            return Err(error_message(error));
        }
        for key in ["id", "model", "created"] {
            if let Some(v) = chunk.get(key) {
                self.meta.insert(key.to_owned(), v.clone());
            }
        }
        let mut completed = Vec::new();
        let choices = chunk.get("choices").and_then(Value::as_array);
        for choice in choices.into_iter().flatten() {
            // With n > 1 the other choices are alternatives; the turn is choice 0.
            if index_at(choice, "index") != 0 {
                continue;
            }
            let delta = choice.get("delta").unwrap_or(&Value::Null);
            if let Some(text) = delta.get("content").and_then(Value::as_str) {
                self.content.get_or_insert_with(String::new).push_str(text);
            }
            for fragment in delta
                .get("tool_calls")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let index = index_at(fragment, "index");
                if !self.calls.contains_key(&index) {
                    // Calls stream one after another: a new index ends the ones before it.
                    completed.extend(self.calls.values_mut().filter_map(Pending::take));
                }
                let pending = self.calls.entry(index).or_default();
                let set = |field: &mut String, value: Option<&str>| {
                    if let Some(v) = value.filter(|v| !v.is_empty()) {
                        *field = v.to_owned();
                    }
                };
                set(&mut pending.id, fragment.get("id").and_then(Value::as_str));
                set(
                    &mut pending.kind,
                    fragment.get("type").and_then(Value::as_str),
                );
                let function = fragment.get("function").unwrap_or(&Value::Null);
                set(
                    &mut pending.name,
                    function.get("name").and_then(Value::as_str),
                );
                if let Some(part) = function.get("arguments").and_then(Value::as_str) {
                    pending.arguments.push_str(part);
                }
                if !pending.yielded && pending.arguments_complete() {
                    completed.extend(pending.take());
                }
            }
            if let Some(reason) = choice.get("finish_reason").and_then(Value::as_str) {
                self.finish_reason = Some(reason.to_owned());
                completed.extend(self.take_all());
            }
        }
        Ok(completed)
    }

    fn take_all(&mut self) -> Vec<(ToolCall<'static>, Value)> {
        self.calls.values_mut().filter_map(Pending::take).collect()
    }

    pub(super) fn finish(mut self) -> Option<(Value, Vec<(ToolCall<'static>, Value)>)> {
        if !self.done && self.finish_reason.is_none() {
            return None;
        }
        let last = self.take_all();
        let mut message = json!({"role": "assistant", "content": self.content});
        if !self.calls.is_empty() {
            message["tool_calls"] = self.calls.values().map(Pending::raw).collect();
        }
        let mut turn = Value::Object(self.meta);
        turn["object"] = json!("chat.completion");
        turn["choices"] =
            json!([{"index": 0, "message": message, "finish_reason": self.finish_reason}]);
        Some((turn, last))
    }
}
