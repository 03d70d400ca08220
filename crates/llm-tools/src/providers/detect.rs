//! Which provider's JSON a value looks like, from strong signals only, so a turn handed to the
//! wrong parser is a clear error instead of "no calls".

use serde_json::Value;

/// A provider wire format, as a turn or as one event of its stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Format {
    /// OpenAI Chat Completions.
    Chat,
    /// OpenAI Responses.
    Responses,
    /// Anthropic Messages.
    Anthropic,
    /// Gemini `generateContent`.
    Gemini,
    /// MCP `tools/call`.
    Mcp,
}

impl Format {
    /// The name users pass (`chat`, `responses`, `anthropic`, `gemini`, `mcp`).
    pub fn name(self) -> &'static str {
        match self {
            Format::Chat => "chat",
            Format::Responses => "responses",
            Format::Anthropic => "anthropic",
            Format::Gemini => "gemini",
            Format::Mcp => "mcp",
        }
    }

    /// The format with this [`name`](Self::name).
    pub fn from_name(name: &str) -> Option<Format> {
        [
            Format::Chat,
            Format::Responses,
            Format::Anthropic,
            Format::Gemini,
            Format::Mcp,
        ]
        .into_iter()
        .find(|f| f.name().eq_ignore_ascii_case(name))
    }

    /// The provider's name, for messages.
    pub fn provider(self) -> &'static str {
        match self {
            Format::Chat => "OpenAI Chat",
            Format::Responses => "OpenAI Responses",
            Format::Anthropic => "Anthropic",
            Format::Gemini => "Gemini",
            Format::Mcp => "MCP",
        }
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What a value looks like: a format, and whether it is one event of a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Detected {
    /// The format.
    pub format: Format,
    /// It is a streamed event (a chunk), not a whole turn.
    pub stream_event: bool,
}

impl Detected {
    fn turn(format: Format) -> Option<Self> {
        Some(Detected {
            format,
            stream_event: false,
        })
    }

    fn event(format: Format) -> Option<Self> {
        Some(Detected {
            format,
            stream_event: true,
        })
    }

    /// A description for messages, e.g. "an Anthropic message" or "a Chat stream event".
    pub fn describe(&self) -> String {
        if self.stream_event {
            format!(
                "{} streamed event (assemble the stream first)",
                article(self.format.provider())
            )
        } else {
            format!("{} turn", article(self.format.provider()))
        }
    }
}

fn article(provider: &str) -> String {
    let vowel = provider.starts_with(['A', 'E', 'I', 'O', 'U']);
    format!("{} {provider}", if vowel { "an" } else { "a" })
}

const ANTHROPIC_EVENTS: &[&str] = &[
    "message_start",
    "content_block_start",
    "content_block_delta",
    "content_block_stop",
    "message_delta",
    "message_stop",
    "ping",
];

const ANTHROPIC_BLOCKS: &[&str] = &[
    "tool_use",
    "server_tool_use",
    "thinking",
    "redacted_thinking",
];

const RESPONSES_ITEMS: &[&str] = &[
    "function_call",
    "function_call_output",
    "reasoning",
    "custom_tool_call",
    "computer_call",
    "code_interpreter_call",
    "web_search_call",
    "file_search_call",
    "mcp_call",
    "mcp_list_tools",
    "image_generation_call",
];

/// What `value` looks like, or `None` when nothing in it is specific to one format.
///
/// ```
/// use llm_tools::providers::detect::{detect, Format};
/// let message = serde_json::json!({"type": "message", "role": "assistant", "stop_reason": "tool_use", "content": []});
/// assert_eq!(detect(&message).unwrap().format, Format::Anthropic);
/// ```
pub fn detect(value: &Value) -> Option<Detected> {
    match value {
        Value::Array(items) => items.iter().take(16).find_map(detect),
        Value::Object(map) => {
            let kind = map.get("type").and_then(Value::as_str).unwrap_or("");
            let object = map.get("object").and_then(Value::as_str).unwrap_or("");
            if object == "chat.completion.chunk"
                || first_choice(value).is_some_and(|c| c.get("delta").is_some())
            {
                return Detected::event(Format::Chat);
            }
            if object == "chat.completion" || map.contains_key("choices") {
                return Detected::turn(Format::Chat);
            }
            if kind.starts_with("response.") {
                return Detected::event(Format::Responses);
            }
            if ANTHROPIC_EVENTS.contains(&kind) {
                return Detected::event(Format::Anthropic);
            }
            if object == "response" || map.get("output").is_some_and(Value::is_array) {
                return Detected::turn(Format::Responses);
            }
            if map.contains_key("candidates") && !map.contains_key("choices") {
                // A streamed Gemini chunk has the same shape as a whole response.
                return Detected::turn(Format::Gemini);
            }
            if [
                "functionCall",
                "function_call",
                "functionResponse",
                "function_response",
            ]
            .iter()
            .any(|k| map.contains_key(*k))
                || map.get("parts").is_some_and(Value::is_array)
            {
                return Detected::turn(Format::Gemini);
            }
            if map.contains_key("jsonrpc") || kind.is_empty() && map.contains_key("method") {
                return Detected::turn(Format::Mcp);
            }
            if map.contains_key("stop_reason")
                || ANTHROPIC_BLOCKS.contains(&kind)
                || kind == "message" && has_anthropic_blocks(map.get("content"), true)
            {
                return Detected::turn(Format::Anthropic);
            }
            if RESPONSES_ITEMS.contains(&kind) || map.contains_key("call_id") {
                return Detected::turn(Format::Responses);
            }
            if map.contains_key("tool_calls")
                || kind == "function" && map.get("function").is_some_and(Value::is_object)
            {
                return Detected::turn(Format::Chat);
            }
            if map.contains_key("role") && has_anthropic_blocks(map.get("content"), false) {
                return Detected::turn(Format::Anthropic);
            }
            None
        }
        _ => None,
    }
}

fn first_choice(value: &Value) -> Option<&Value> {
    value.get("choices")?.as_array()?.first()
}

/// A content array with Anthropic blocks. `text` blocks count only with `text_counts` (in a
/// `type: "message"`: a Responses message has `output_text`; a Chat message may have `text`).
fn has_anthropic_blocks(content: Option<&Value>, text_counts: bool) -> bool {
    content.and_then(Value::as_array).is_some_and(|blocks| {
        blocks.iter().any(|b| {
            let kind = b.get("type").and_then(Value::as_str).unwrap_or("");
            ANTHROPIC_BLOCKS.contains(&kind) || text_counts && kind == "text"
        })
    })
}

/// Whether text is a server-sent-event stream (`data:` / `event:` lines) rather than JSON.
///
/// ```
/// assert!(llm_tools::providers::detect::is_sse("event: message_start\ndata: {}\n\n"));
/// assert!(!llm_tools::providers::detect::is_sse("{\"choices\": []}"));
/// ```
pub fn is_sse(text: &str) -> bool {
    text.lines()
        .map(str::trim_start)
        .find(|l| !l.is_empty() && !l.starts_with(':'))
        .is_some_and(|l| l.starts_with("data:") || l.starts_with("event:"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn format_of(value: Value) -> Option<(Format, bool)> {
        detect(&value).map(|d| (d.format, d.stream_event))
    }

    #[test]
    fn each_provider_is_recognized() {
        assert_eq!(
            format_of(json!({"choices": [{"message": {"role": "assistant"}}]})),
            Some((Format::Chat, false))
        );
        assert_eq!(
            format_of(json!({"choices": [{"index": 0, "delta": {}}]})),
            Some((Format::Chat, true))
        );
        assert_eq!(
            format_of(json!({"object": "response", "output": []})),
            Some((Format::Responses, false))
        );
        assert_eq!(
            format_of(json!({"type": "response.output_item.added"})),
            Some((Format::Responses, true))
        );
        assert_eq!(
            format_of(
                json!({"id": "msg_1", "type": "message", "role": "assistant",
                "content": [{"type": "text", "text": "hi"}], "stop_reason": "end_turn"})
            ),
            Some((Format::Anthropic, false))
        );
        assert_eq!(
            format_of(json!({"type": "content_block_delta", "index": 0})),
            Some((Format::Anthropic, true))
        );
        assert_eq!(
            format_of(json!({"candidates": [{"content": {"parts": []}}]})),
            Some((Format::Gemini, false))
        );
        assert_eq!(
            format_of(json!([{"function_call": {"name": "f", "args": {}}}])),
            Some((Format::Gemini, false))
        );
        assert_eq!(
            format_of(json!({"jsonrpc": "2.0", "method": "tools/call"})),
            Some((Format::Mcp, false))
        );
        assert_eq!(
            format_of(json!([{"type": "function_call", "call_id": "c"}])),
            Some((Format::Responses, false))
        );
        // A Responses message item is not an Anthropic message.
        assert_eq!(
            format_of(json!({"type": "message", "role": "assistant",
                "content": [{"type": "output_text", "text": "hi"}]})),
            None
        );
        assert_eq!(
            format_of(json!({"role": "assistant", "content": "hi"})),
            None
        );
        // A Chat message with text parts is not an Anthropic message.
        assert_eq!(
            format_of(json!({"role": "assistant", "content": [{"type": "text", "text": "hi"}]})),
            None
        );
    }
}
