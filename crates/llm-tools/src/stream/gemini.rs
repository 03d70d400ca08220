//! Gemini: every streamed chunk is a `generateContent` response; a `functionCall` part always
//! arrives whole, so it is complete on arrival.

use serde_json::{Value, json};

use super::{Completed, error_message};
use crate::call::ToolCall;

#[derive(Debug, Default)]
pub(super) struct GeminiStream {
    parts: Vec<Value>,
    finish_reason: Option<Value>,
}

impl GeminiStream {
    pub(super) fn event(&mut self, chunk: &Value) -> Completed {
        if let Some(error) = chunk.get("error") {
            return Err(error_message(error));
        }
        let Some(candidate) = chunk.get("candidates").and_then(|c| c.get(0)) else {
            return Ok(Vec::new());
        };
        let reason = candidate
            .get("finishReason")
            .or_else(|| candidate.get("finish_reason"));
        if let Some(reason) = reason.filter(|r| !r.is_null()) {
            self.finish_reason = Some(reason.clone());
        }
        let parts = candidate
            .get("content")
            .and_then(|c| c.get("parts"))
            .and_then(Value::as_array);
        let mut completed = Vec::new();
        for part in parts.into_iter().flatten() {
            self.parts.push(part.clone());
            // Read through the non-streaming parser: both casings, one rule.
            if let Ok(found) = crate::providers::gemini::find_calls(part) {
                completed.extend(
                    found
                        .calls
                        .into_iter()
                        .map(|c| (c.call.into_owned(), part.clone())),
                );
            }
        }
        Ok(completed)
    }

    pub(super) fn finish(self) -> Option<(Value, Vec<(ToolCall<'static>, Value)>)> {
        let reason = self.finish_reason?;
        let turn = json!({"candidates": [{"content": {"role": "model", "parts": self.parts},
            "finishReason": reason}]});
        Some((turn, Vec::new()))
    }
}
