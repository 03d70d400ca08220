//! `tool-definition` and `handle`: the LLM side.

use std::io::Read;
use std::process::ExitCode;

use dynamic_sessions::tools::{
    CodeInterpreterTool, DescriptionFacts, ToolError, ToolName, ToolSpec,
};
use serde_json::Value;

use super::print_json;
use crate::cli::{DefinitionFormat, HandleArgs, HandleFormat, ToolDefinitionArgs};
use crate::context::Context;
use crate::error::{Error, Result};

fn tool_name(name: Option<&str>) -> Result<ToolName> {
    match name {
        Some(n) => ToolName::new(n).map_err(|e| Error::msg(e.to_string())),
        None => Ok(ToolName::default()),
    }
}

/// `tool-definition FORMAT [--name N]` (or `--format FORMAT`): pure, needs no endpoint.
pub fn definition(_ctx: &Context, args: ToolDefinitionArgs) -> Result<ExitCode> {
    let spec = ToolSpec::new(
        tool_name(args.name.as_deref())?,
        &DescriptionFacts::default(),
    );
    let definition = match args.format() {
        DefinitionFormat::Chat => spec.chat(true),
        DefinitionFormat::Responses => spec.responses(true),
        DefinitionFormat::Anthropic => spec.anthropic(),
        DefinitionFormat::Gemini => spec.gemini_tool(),
        DefinitionFormat::Mcp => spec.mcp(),
    };
    print_json(&definition)?;
    Ok(ExitCode::SUCCESS)
}

/// `handle --format F`: read a model response on stdin, run its calls, print what to send back.
///
/// * chat: the `tool` messages (plus a `user` message with images, when the code made some) to
///   append after the assistant message;
/// * responses: the `function_call_output` items;
/// * anthropic: the `user` message with the `tool_result` blocks;
/// * gemini: the `user` content with the `functionResponse` parts.
pub async fn handle(ctx: &Context, args: HandleArgs) -> Result<ExitCode> {
    let mut input = String::new();
    std::io::stdin()
        .read_to_string(&mut input)
        .map_err(|e| Error::io("reading the model response from stdin", e))?;
    let response: Value = serde_json::from_str(&input)
        .map_err(|e| Error::msg(format!("the model response on stdin is not JSON: {e}")))?;
    let name = tool_name(args.name.as_deref())?;
    let tool = CodeInterpreterTool::new(ctx.session()?)
        .with_name(name.as_str())
        .map_err(|e| Error::msg(e.to_string()))?;
    let (answer, unhandled) = match args.format {
        HandleFormat::Chat => {
            let out = tool.handle_chat(&response).await.map_err(tool_error)?;
            let mut messages = out.messages.clone();
            messages.extend(out.image_message());
            (Value::Array(messages), out.unhandled.len())
        }
        HandleFormat::Responses => {
            let out = tool.handle_responses(&response).await.map_err(tool_error)?;
            (Value::Array(out.items), out.unhandled.len())
        }
        HandleFormat::Anthropic => {
            let out = tool.handle_anthropic(&response).await.map_err(tool_error)?;
            (out.user_message(), out.unhandled.len())
        }
        HandleFormat::Gemini => {
            let out = tool.handle_gemini(&response).await.map_err(tool_error)?;
            (out.user_content(), out.unhandled.len())
        }
    };
    if unhandled > 0 {
        eprintln!(
            "dynsess: {unhandled} call(s) to other tools were left unanswered (this tool is {:?})",
            name.as_str()
        );
    }
    print_json(&answer)?;
    Ok(ExitCode::SUCCESS)
}

fn tool_error(e: ToolError) -> Error {
    Error::msg(e.to_string())
}
