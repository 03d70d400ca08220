//! A tool call as the model sent it, and its validation into code to run.
//!
//! [`ToolCall`] borrows from the provider JSON where it can, so parsing a turn copies nothing but
//! the code itself. Every way a model can get the call wrong is a [`CallError`] whose message tells
//! the model what to send instead.

use std::borrow::Cow;

use serde_json::Value;

use crate::definition::CODE_PARAMETER;
use crate::sanitize::sanitize_code;

/// The default limit on the size of the code in one call.
pub const DEFAULT_MAX_CODE_BYTES: usize = 1024 * 1024;

/// One call of a function tool, in any provider's format.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolCall<'a> {
    /// The id to answer with (`tool_call_id`, `call_id`, `tool_use_id`; may be empty for Gemini).
    pub id: Cow<'a, str>,
    /// The name of the tool the model called.
    pub name: Cow<'a, str>,
    /// The arguments, exactly as sent.
    pub arguments: Arguments<'a>,
}

/// The arguments of a call, exactly as the provider sent them.
#[derive(Debug, Clone, PartialEq)]
pub enum Arguments<'a> {
    /// A JSON document in a string (OpenAI Chat and Responses).
    Json(Cow<'a, str>),
    /// A JSON value (Anthropic `input`, Gemini `args`, MCP `arguments`).
    Value(Cow<'a, Value>),
    /// No arguments at all.
    Missing,
}

impl<'a> ToolCall<'a> {
    /// A call with arguments as a JSON string.
    pub fn from_json(
        id: impl Into<Cow<'a, str>>,
        name: impl Into<Cow<'a, str>>,
        json: impl Into<Cow<'a, str>>,
    ) -> Self {
        ToolCall {
            id: id.into(),
            name: name.into(),
            arguments: Arguments::Json(json.into()),
        }
    }

    /// A call with arguments as a JSON value.
    pub fn from_value(
        id: impl Into<Cow<'a, str>>,
        name: impl Into<Cow<'a, str>>,
        value: Value,
    ) -> Self {
        ToolCall {
            id: id.into(),
            name: name.into(),
            arguments: Arguments::Value(Cow::Owned(value)),
        }
    }

    /// A copy that owns all its data.
    pub fn into_owned(self) -> ToolCall<'static> {
        ToolCall {
            id: Cow::Owned(self.id.into_owned()),
            name: Cow::Owned(self.name.into_owned()),
            arguments: match self.arguments {
                Arguments::Json(s) => Arguments::Json(Cow::Owned(s.into_owned())),
                Arguments::Value(v) => Arguments::Value(Cow::Owned(v.into_owned())),
                Arguments::Missing => Arguments::Missing,
            },
        }
    }

    /// Validate the call for the tool `expected_name` and extract the code.
    ///
    /// ```
    /// use llm_tools::{CallError, ParseOptions, ToolCall};
    /// let call = ToolCall::from_json("call_1", "code_interpreter", r#"{"python_code":"```py\nprint(1)\n```"}"#);
    /// let parsed = call.parse("code_interpreter", &ParseOptions::default()).unwrap();
    /// assert_eq!(parsed.code, "print(1)\n");
    ///
    /// let broken = ToolCall::from_json("call_2", "code_interpreter", r#"{"python_code": "print(1)"#);
    /// assert!(matches!(broken.parse("code_interpreter", &ParseOptions::default()), Err(CallError::InvalidJson { .. })));
    /// ```
    pub fn parse(
        &self,
        expected_name: &str,
        options: &ParseOptions,
    ) -> Result<ParsedCall<'_>, CallError> {
        if self.name != expected_name {
            return Err(CallError::UnknownTool {
                name: self.name.to_string(),
                expected: expected_name.to_owned(),
            });
        }
        let code = extract_code(&self.arguments)?;
        let code = if options.sanitize {
            match code {
                Cow::Borrowed(s) => sanitize_code(s),
                Cow::Owned(s) => match sanitize_code(&s) {
                    Cow::Borrowed(b) if b.len() == s.len() => Cow::Owned(s),
                    other => Cow::Owned(other.into_owned()),
                },
            }
        } else {
            code
        };
        if code.trim().is_empty() {
            return Err(CallError::EmptyCode);
        }
        if code.len() > options.max_code_bytes {
            return Err(CallError::CodeTooLarge {
                bytes: code.len(),
                limit: options.max_code_bytes,
            });
        }
        Ok(ParsedCall { id: &self.id, code })
    }
}

/// How calls are validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseOptions {
    /// Clean up fences, prose and indentation (see [`crate::sanitize`]). On by default.
    pub sanitize: bool,
    /// Reject code larger than this many bytes.
    pub max_code_bytes: usize,
}

impl Default for ParseOptions {
    fn default() -> Self {
        ParseOptions {
            sanitize: true,
            max_code_bytes: DEFAULT_MAX_CODE_BYTES,
        }
    }
}

/// A validated call: the id to answer and the code to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedCall<'a> {
    /// The call id.
    pub id: &'a str,
    /// The code, cleaned up when sanitizing is on.
    pub code: Cow<'a, str>,
}

/// Everything a model can get wrong in a call. The messages are written for the model.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CallError {
    /// The arguments string is not valid JSON.
    #[error(
        "the arguments are not valid JSON ({error}); send a JSON object like {{\"python_code\": \"print(1)\"}} with newlines and quotes escaped"
    )]
    InvalidJson {
        /// The parser's message, with line and column.
        error: String,
    },
    /// The arguments are valid JSON but not an object.
    #[error(
        "the arguments must be a JSON object like {{\"python_code\": \"print(1)\"}}, not {found}"
    )]
    NotAnObject {
        /// The JSON type that was sent.
        found: &'static str,
    },
    /// The object has no `python_code`.
    #[error("the required string parameter \"python_code\" is missing (got {})", describe_keys(.keys))]
    MissingCode {
        /// The keys that were sent instead.
        keys: Vec<String>,
    },
    /// `python_code` is not a string.
    #[error("\"python_code\" must be a string containing Python source, not {found}")]
    WrongType {
        /// The JSON type that was sent.
        found: &'static str,
    },
    /// `python_code` is empty or only whitespace (after clean-up).
    #[error("\"python_code\" is empty; send the Python source to run")]
    EmptyCode,
    /// The code is larger than the configured limit.
    #[error(
        "the code is {bytes} bytes, over the limit of {limit}; write data to a file in /mnt/data in smaller steps instead of embedding it in code"
    )]
    CodeTooLarge {
        /// The size sent.
        bytes: usize,
        /// The limit.
        limit: usize,
    },
    /// The call has no id, so no answer can refer to it (the provider would refuse it).
    #[error(
        "the call to {name:?} has no {field}; it was not run, because no answer could refer to it"
    )]
    MissingId {
        /// The tool named.
        name: String,
        /// The id field the provider requires (`call_id`, `id`).
        field: &'static str,
    },
    /// The call names another tool.
    #[error("there is no tool named {name:?}; to run Python call {expected:?}")]
    UnknownTool {
        /// The name the model used.
        name: String,
        /// This tool's name.
        expected: String,
    },
}

fn describe_keys(keys: &[String]) -> String {
    if keys.is_empty() {
        "an empty object".to_owned()
    } else {
        format!("keys {keys:?}")
    }
}

/// The JSON type of a value, for messages.
pub(crate) fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn extract_code<'s>(arguments: &'s Arguments<'_>) -> Result<Cow<'s, str>, CallError> {
    match arguments {
        Arguments::Missing => Err(CallError::MissingCode { keys: Vec::new() }),
        Arguments::Value(value) => code_from_value(value),
        Arguments::Json(text) => {
            let value: Value = if text.trim().is_empty() {
                Value::Object(Default::default())
            } else {
                serde_json::from_str(text).map_err(|e| CallError::InvalidJson {
                    error: e.to_string(),
                })?
            };
            code_from_owned(value).map(Cow::Owned)
        }
    }
}

fn code_from_value(value: &Value) -> Result<Cow<'_, str>, CallError> {
    match value {
        Value::Object(map) => match map.get(CODE_PARAMETER) {
            Some(Value::String(code)) => Ok(Cow::Borrowed(code)),
            Some(other) => Err(CallError::WrongType {
                found: json_type(other),
            }),
            None => Err(CallError::MissingCode {
                keys: map.keys().cloned().collect(),
            }),
        },
        // Some servers encode the arguments object once more as a string.
        Value::String(inner) => match serde_json::from_str::<Value>(inner) {
            Ok(inner @ Value::Object(_)) => code_from_owned(inner).map(Cow::Owned),
            _ => Err(CallError::NotAnObject { found: "a string" }),
        },
        other => Err(CallError::NotAnObject {
            found: json_type(other),
        }),
    }
}

fn code_from_owned(value: Value) -> Result<String, CallError> {
    match value {
        Value::Object(mut map) => match map.remove(CODE_PARAMETER) {
            Some(Value::String(code)) => Ok(code),
            Some(other) => Err(CallError::WrongType {
                found: json_type(&other),
            }),
            None => Err(CallError::MissingCode {
                keys: map.into_iter().map(|(k, _)| k).collect(),
            }),
        },
        Value::String(inner) => match serde_json::from_str::<Value>(&inner) {
            Ok(inner @ Value::Object(_)) => code_from_owned(inner),
            _ => Err(CallError::NotAnObject { found: "a string" }),
        },
        other => Err(CallError::NotAnObject {
            found: json_type(&other),
        }),
    }
}
