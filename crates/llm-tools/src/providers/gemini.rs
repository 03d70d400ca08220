//! Gemini: `functionCall` parts in, `functionResponse` parts out (`{"output": …}` or
//! `{"error": …}`), images as `inlineData` parts of the response.

use std::borrow::Cow;

use serde_json::{Map, Value, json};

use super::{Format, FoundCall, FoundCalls, ShapeError, str_at};
use crate::call::{Arguments, ToolCall};
use crate::output::{ImageNote, ToolOutput};

/// Find the `functionCall` parts in a `generateContent` response (first candidate), a content,
/// a parts array, or one part. Both casings are read: the REST API's camelCase
/// (`functionCall`) and the snake_case of the python-genai SDK's `model_dump()` (`function_call`).
///
/// The caller must replay the model's content unchanged (thought signatures live on its parts).
///
/// ```
/// let response = serde_json::json!({"candidates": [{"content": {"role": "model", "parts": [
///     {"functionCall": {"id": "fc1", "name": "code_interpreter", "args": {"python_code": "print(1)"}},
///      "thoughtSignature": "CiQB"}]}}]});
/// let found = llm_tools::providers::gemini::find_calls(&response).unwrap();
/// assert_eq!(found.calls[0].call.name, "code_interpreter");
/// ```
pub fn find_calls(value: &Value) -> Result<FoundCalls<'_>, ShapeError> {
    const EXPECTED: &str = "a generateContent response, a content, a parts array or a part";
    ShapeError::check_format(Format::Gemini, EXPECTED, value)?;
    let parts: &[Value] = match value {
        Value::Array(parts) => parts,
        Value::Object(map) => {
            if let Some(candidates) = map.get("candidates") {
                match candidates
                    .get(0)
                    .and_then(|c| c.get("content"))
                    .and_then(|c| c.get("parts"))
                {
                    Some(Value::Array(parts)) => parts,
                    _ => &[],
                }
            } else if let Some(parts) = map.get("parts") {
                parts.as_array().map_or(&[], Vec::as_slice)
            } else if function_call(value).is_some() || map.contains_key("text") {
                std::slice::from_ref(value)
            } else {
                return Err(ShapeError::new(Format::Gemini.provider(), EXPECTED, value));
            }
        }
        other => return Err(ShapeError::new(Format::Gemini.provider(), EXPECTED, other)),
    };
    let mut found = FoundCalls::default();
    for part in parts {
        if let Some(call) = function_call(part) {
            let arguments = match call.get("args") {
                None | Some(Value::Null) => Arguments::Missing,
                Some(args) => Arguments::Value(Cow::Borrowed(args)),
            };
            found.calls.push(FoundCall {
                call: ToolCall {
                    id: str_at(call, "id").into(),
                    name: str_at(call, "name").into(),
                    arguments,
                },
                raw: part,
            });
        }
    }
    Ok(found)
}

/// A part's function call, in either casing.
fn function_call(part: &Value) -> Option<&Value> {
    part.get("functionCall")
        .or_else(|| part.get("function_call"))
        .filter(|c| c.is_object())
}

/// The `functionResponse` part answering a call (`id` is echoed when the model sent one).
/// Images are fitted to Gemini's limits first ([`crate::images::fit_output`]).
pub fn function_response(call_id: &str, name: &str, output: &ToolOutput) -> Value {
    let output = &*crate::images::fit_output(output, &crate::images::ImageLimits::GEMINI);
    let key = if output.is_error() { "error" } else { "output" };
    let mut response = Map::with_capacity(4);
    if !call_id.is_empty() {
        response.insert("id".into(), Value::String(call_id.to_owned()));
    }
    response.insert("name".into(), Value::String(name.to_owned()));
    response.insert(
        "response".into(),
        json!({ key: output.value_for_model(ImageNote::Attached) }),
    );
    if !output.images.is_empty() {
        let parts = output
            .images
            .iter()
            .map(|image| json!({"inlineData": {"mimeType": image.media_type(), "data": image.base64_data}}))
            .collect();
        response.insert("parts".into(), Value::Array(parts));
    }
    json!({ "functionResponse": response })
}

/// The `user` content carrying the responses of one turn.
pub fn user_content(parts: Vec<Value>) -> Value {
    json!({"role": "user", "parts": parts})
}
