//! [`ToolExecutor`]: what the agent loop calls to answer one tool call. The code interpreter
//! implements it over its session; [`FunctionTool`] wraps a closure; tests implement it with
//! scripted results, without a pool.

use std::future::Future;

use futures_util::future::BoxFuture;
use serde_json::{Value, json};

use crate::call::{Arguments, ToolCall};
use crate::output::ToolOutput;
use crate::providers::Format;
use crate::tool::CodeInterpreterTool;

/// The result of one tool call.
#[derive(Debug, Clone, PartialEq)]
pub enum ToolResult {
    /// A code run, formatted like the code interpreter's results (images included).
    Code(Box<ToolOutput>),
    /// A function's answer as text (JSON or prose), or an error the model should read.
    Text {
        /// The text.
        text: String,
        /// Whether it reports a failure.
        is_error: bool,
    },
}

impl ToolResult {
    /// An error result with this text.
    pub fn error(text: impl Into<String>) -> Self {
        ToolResult::Text {
            text: text.into(),
            is_error: true,
        }
    }

    /// Whether it reports a failure.
    pub fn is_error(&self) -> bool {
        match self {
            ToolResult::Code(output) => output.is_error(),
            ToolResult::Text { is_error, .. } => *is_error,
        }
    }
}

/// A tool the agent loop can call.
pub trait ToolExecutor: Send + Sync {
    /// The tool name the model calls.
    fn name(&self) -> &str;

    /// The tool's definition in `format` (for Gemini, one function declaration).
    fn definition(&self, format: Format) -> Value;

    /// The code a call would run, when this tool runs code (the approval hook sees it). `None`
    /// for tools that run no code, and for calls whose code cannot be read (they fail unrun).
    fn code_of(&self, _call: &ToolCall<'_>) -> Option<String> {
        None
    }

    /// Answer one call. Failures are results the model reads, never panics.
    fn execute<'a>(&'a self, call: &'a ToolCall<'a>) -> BoxFuture<'a, ToolResult>;
}

impl ToolExecutor for CodeInterpreterTool {
    fn name(&self) -> &str {
        CodeInterpreterTool::name(self).as_str()
    }

    fn definition(&self, format: Format) -> Value {
        match format {
            Format::Chat => self.definition_chat(),
            Format::Responses => self.definition_responses(),
            Format::Anthropic => self.definition_anthropic(),
            Format::Gemini => self.spec().gemini(),
            _ => self.definition_mcp(),
        }
    }

    fn code_of(&self, call: &ToolCall<'_>) -> Option<String> {
        let options = crate::call::ParseOptions {
            sanitize: self.options().sanitize,
            max_code_bytes: self.options().max_code_bytes,
        };
        call.parse(self.name().as_str(), &options)
            .ok()
            .map(|p| p.code.into_owned())
    }

    fn execute<'a>(&'a self, call: &'a ToolCall<'a>) -> BoxFuture<'a, ToolResult> {
        Box::pin(async move { ToolResult::Code(Box::new(self.execute_call(call).await)) })
    }
}

type Handler = dyn Fn(Value) -> BoxFuture<'static, Result<Value, String>> + Send + Sync;

/// A function tool backed by a closure: it gets the arguments as JSON and answers with a JSON
/// value (a string is sent as is) or an error text.
///
/// ```
/// use llm_tools::agent::FunctionTool;
/// let weather = FunctionTool::new(
///     "get_weather",
///     "The weather in a city.",
///     serde_json::json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}),
///     |args| async move { Ok(serde_json::json!({"city": args["city"], "sky": "clear"})) },
/// );
/// ```
pub struct FunctionTool {
    name: String,
    description: String,
    parameters: Value,
    handler: Box<Handler>,
}

impl std::fmt::Debug for FunctionTool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FunctionTool")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl FunctionTool {
    /// A tool named `name` whose arguments follow the JSON schema `parameters`.
    pub fn new<F, Fut>(
        name: impl Into<String>,
        description: impl Into<String>,
        parameters: Value,
        handler: F,
    ) -> Self
    where
        F: Fn(Value) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Value, String>> + Send + 'static,
    {
        FunctionTool {
            name: name.into(),
            description: description.into(),
            parameters,
            handler: Box::new(move |args| Box::pin(handler(args))),
        }
    }
}

impl ToolExecutor for FunctionTool {
    fn name(&self) -> &str {
        &self.name
    }

    fn definition(&self, format: Format) -> Value {
        let (name, description, parameters) = (&self.name, &self.description, &self.parameters);
        match format {
            Format::Chat => json!({"type": "function", "function":
                {"name": name, "description": description, "parameters": parameters}}),
            Format::Responses => json!({"type": "function", "name": name,
                "description": description, "parameters": parameters, "strict": false}),
            Format::Anthropic => {
                json!({"name": name, "description": description, "input_schema": parameters})
            }
            Format::Gemini => json!({"name": name, "description": description,
                "parametersJsonSchema": parameters}),
            _ => json!({"name": name, "description": description, "inputSchema": parameters}),
        }
    }

    fn execute<'a>(&'a self, call: &'a ToolCall<'a>) -> BoxFuture<'a, ToolResult> {
        Box::pin(async move {
            let args = match &call.arguments {
                Arguments::Missing => json!({}),
                Arguments::Value(v) => v.clone().into_owned(),
                Arguments::Json(text) if text.trim().is_empty() => json!({}),
                Arguments::Json(text) => match serde_json::from_str(text) {
                    Ok(v) => v,
                    Err(e) => {
                        return ToolResult::error(format!(
                            "the arguments are not valid JSON ({e}); send a JSON object"
                        ));
                    }
                },
            };
            match (self.handler)(args).await {
                Ok(Value::String(text)) => ToolResult::Text {
                    text,
                    is_error: false,
                },
                Ok(value) => ToolResult::Text {
                    text: value.to_string(),
                    is_error: false,
                },
                Err(text) => ToolResult::error(text),
            }
        })
    }
}
