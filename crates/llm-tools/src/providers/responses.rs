//! OpenAI Responses: `function_call` items in, `function_call_output` items out (keyed by
//! `call_id`, never the item `id`). Images travel as `input_image` parts of the output.

use serde_json::{Value, json};

use super::{Format, FoundCall, FoundCalls, ShapeError, arguments_at, data_uri, str_at};
use crate::call::ToolCall;
use crate::output::{ImageNote, ToolOutput};

/// Output item types that are calls the client must answer (besides `function_call`).
const CLIENT_CALL_TYPES: &[&str] = &[
    "custom_tool_call",
    "computer_call",
    "local_shell_call",
    "shell_call",
    "apply_patch_call",
    "mcp_approval_request",
];

/// Find the function calls in a response, its `output` array, or one item. Server-side items
/// (reasoning, messages, hosted tool calls) are skipped; other client calls are in `other`.
///
/// ```
/// let response = serde_json::json!({"output": [
///     {"type": "reasoning", "id": "rs_1", "summary": []},
///     {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "code_interpreter",
///      "arguments": "{\"python_code\":\"print(1)\"}"}]});
/// let found = llm_tools::providers::responses::find_calls(&response).unwrap();
/// assert_eq!(found.calls[0].call.id, "call_1");
/// ```
pub fn find_calls(value: &Value) -> Result<FoundCalls<'_>, ShapeError> {
    const EXPECTED: &str = "a response, an output array or an output item";
    ShapeError::check_format(Format::Responses, EXPECTED, value)?;
    let items: &[Value] = match value {
        Value::Array(items) => items,
        Value::Object(map) => match map.get("output") {
            Some(Value::Array(items)) => items,
            Some(Value::Null) => &[],
            _ if map.contains_key("type") => std::slice::from_ref(value),
            _ => {
                return Err(ShapeError::new(
                    Format::Responses.provider(),
                    EXPECTED,
                    value,
                ));
            }
        },
        other => {
            return Err(ShapeError::new(
                Format::Responses.provider(),
                EXPECTED,
                other,
            ));
        }
    };
    let mut found = FoundCalls::default();
    for item in items {
        match item.get("type").and_then(Value::as_str) {
            Some("function_call") => found.calls.push(FoundCall {
                call: ToolCall {
                    id: str_at(item, "call_id").into(),
                    name: str_at(item, "name").into(),
                    arguments: arguments_at(item, "arguments"),
                },
                raw: item,
            }),
            Some(kind) if CLIENT_CALL_TYPES.contains(&kind) => found.other.push(item),
            _ => {}
        }
    }
    Ok(found)
}

/// The `function_call_output` item answering `call_id`: a string, or `input_text` followed by
/// one `input_image` per image.
///
/// Images are fitted to OpenAI's limits first ([`crate::images::fit_output`]).
pub fn function_call_output(call_id: &str, output: &ToolOutput) -> Value {
    let output = &*crate::images::fit_output(output, &crate::images::ImageLimits::OPENAI);
    let text = output.text_for_model(ImageNote::Attached);
    let output_value = if output.images.is_empty() {
        Value::String(text)
    } else {
        let mut parts = Vec::with_capacity(1 + output.images.len());
        parts.push(json!({"type": "input_text", "text": text}));
        parts.extend(output.images.iter().map(
            |image| json!({"type": "input_image", "image_url": data_uri(image), "detail": "auto"}),
        ));
        Value::Array(parts)
    };
    json!({"type": "function_call_output", "call_id": call_id, "output": output_value})
}
