//! MCP: `tools/call` params in, `CallToolResult` out (`isError`, text + image content, and the
//! same JSON as `structuredContent`).

use std::borrow::Cow;

use serde_json::{Value, json};

use super::{Format, FoundCall, ShapeError, str_at};
use crate::call::{Arguments, ToolCall};
use crate::output::{ImageNote, ToolOutput};

/// Read a `tools/call` request (the whole JSON-RPC message or its `params`). The call id is the
/// JSON-RPC id as text, or empty.
///
/// ```
/// let request = serde_json::json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
///     "params": {"name": "code_interpreter", "arguments": {"python_code": "print(1)"}}});
/// let found = llm_tools::providers::mcp::find_call(&request).unwrap();
/// assert_eq!(found.call.id, "2");
/// ```
pub fn find_call(value: &Value) -> Result<FoundCall<'_>, ShapeError> {
    ShapeError::check_format(
        Format::Mcp,
        "a tools/call request or its params {name, arguments}",
        value,
    )?;
    let (id, params) = match value.get("params") {
        Some(params) => {
            let id = match value.get("id") {
                Some(Value::String(s)) => Cow::Borrowed(s.as_str()),
                Some(Value::Number(n)) => Cow::Owned(n.to_string()),
                _ => Cow::Borrowed(""),
            };
            (id, params)
        }
        None => (Cow::Borrowed(""), value),
    };
    if params.get("name").is_none() {
        return Err(ShapeError::new(
            "MCP",
            "a tools/call request or its params {name, arguments}",
            value,
        ));
    }
    let arguments = match params.get("arguments") {
        None | Some(Value::Null) => Arguments::Missing,
        Some(arguments) => Arguments::Value(Cow::Borrowed(arguments)),
    };
    Ok(FoundCall {
        call: ToolCall {
            id,
            name: str_at(params, "name").into(),
            arguments,
        },
        raw: value,
    })
}

/// The `CallToolResult` for an output.
pub fn call_tool_result(output: &ToolOutput) -> Value {
    let structured = output.value_for_model(ImageNote::Attached);
    let mut content = Vec::with_capacity(1 + output.images.len());
    content.push(json!({"type": "text", "text": structured.to_string()}));
    content.extend(output.images.iter().map(
        |image| json!({"type": "image", "data": image.base64_data, "mimeType": image.media_type()}),
    ));
    json!({"content": content, "structuredContent": structured, "isError": output.is_error()})
}
