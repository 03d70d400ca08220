//! `tool-definition` and `handle`: the LLM side.

use std::io::Read;
use std::process::ExitCode;

use dynamic_sessions::tools::providers::detect::is_sse;
use dynamic_sessions::tools::{
    Budget, CodeInterpreterTool, DescriptionFacts, Format, ToolError, ToolName, ToolOptions,
    ToolSpec, TurnOutcome,
};
use serde_json::Value;

use super::print_json;
use crate::cli::{DefinitionFormat, HandleArgs, HandleFormat, ToolDefinitionArgs};
use crate::context::Context;
use crate::error::{Error, ErrorCode, Result};

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

/// `handle --format F [--stream]`: read a model response on stdin, run its calls, print what
/// to send back.
///
/// * chat: the `tool` messages (plus a `user` message with images, when the code made some) to
///   append after the assistant message;
/// * responses: the `function_call_output` items;
/// * anthropic: the `user` message with the `tool_result` blocks;
/// * gemini: the `user` content with the `functionResponse` parts.
///
/// With `--stream`, stdin is the streamed response (SSE) and the output is
/// `{"turn": <the assembled turn>, "answer": <as above>}`.
///
/// Exit codes: 0 every call answered; 3 the turn has no tool calls (nothing printed: there is
/// nothing to send back); 4 the answer is incomplete (calls for other tools, calls without an
/// id: the provider would refuse it), printed wrapped as `{"incomplete": true, …}`; 5 the input
/// is not the named format; 6 the stream ended early.
pub async fn handle(ctx: &Context, args: HandleArgs) -> Result<ExitCode> {
    let format = match args.format {
        HandleFormat::Chat => Format::Chat,
        HandleFormat::Responses => Format::Responses,
        HandleFormat::Anthropic => Format::Anthropic,
        HandleFormat::Gemini => Format::Gemini,
    };
    let name = tool_name(args.name.as_deref())?;
    let mut options = ToolOptions {
        answer_unknown_tools: args.answer_other_tools,
        ..ToolOptions::default()
    };
    if let Some(n) = args.budget_tokens {
        options.output_budget = Budget::Tokens(n);
    }
    if let Some(n) = args.budget_chars {
        options.output_budget = Budget::Chars(n);
    }
    let tool = CodeInterpreterTool::new(ctx.session()?)
        .with_name(name.as_str())
        .map_err(|e| Error::new(ErrorCode::InvalidInput, e.to_string()))?
        .with_options(options);

    let (answer, printed) = if args.stream {
        let stdin = tokio::io::BufReader::new(tokio::io::stdin());
        let streamed = tool
            .handle_stream(format, stdin)
            .await
            .map_err(tool_error)?;
        let printed = |answer: Value| serde_json::json!({"turn": streamed.turn, "answer": answer});
        let out = match streamed.answer.outcome() {
            TurnOutcome::Incomplete { .. } => printed(streamed.answer.incomplete_json()),
            _ => printed(streamed.answer.to_json()),
        };
        (streamed.answer, out)
    } else {
        let mut input = String::new();
        std::io::stdin()
            .read_to_string(&mut input)
            .map_err(|e| Error::io("reading the model response from stdin", e))?;
        if is_sse(&input) {
            return Err(Error::new(
                ErrorCode::WrongFormat,
                "stdin holds a streamed response (server-sent events): pass --stream",
            ));
        }
        let response: Value = serde_json::from_str(&input).map_err(|e| {
            Error::new(
                ErrorCode::WrongFormat,
                format!("the model response on stdin is not JSON: {e}"),
            )
        })?;
        let answer = tool
            .handle_turn(format, &response)
            .await
            .map_err(tool_error)?;
        let out = match answer.outcome() {
            TurnOutcome::Incomplete { .. } => answer.incomplete_json(),
            _ => answer.to_json(),
        };
        (answer, out)
    };

    let outcome = answer.outcome();
    match outcome {
        TurnOutcome::Answered => {
            print_json(&printed)?;
            Ok(ExitCode::SUCCESS)
        }
        TurnOutcome::NoCalls => {
            if args.stream {
                // The assembled turn is still worth having: it is the model's text answer.
                print_json(&printed)?;
            }
            note(ctx, "no_calls", &outcome.to_string());
            Ok(ExitCode::from(3))
        }
        TurnOutcome::Incomplete { .. } => {
            print_json(&printed)?;
            let mut message = outcome.to_string();
            if !answer.unhandled().is_empty() && !args.answer_other_tools {
                message.push_str(
                    "; answer the calls in \"unanswered\" yourself, or pass --answer-other-tools",
                );
            }
            note(ctx, "incomplete", &message);
            Ok(ExitCode::from(4))
        }
    }
}

/// A line on stderr saying what became of the turn (JSON under `--json`).
fn note(ctx: &Context, outcome: &str, message: &str) {
    if ctx.json() {
        eprintln!(
            "{}",
            serde_json::json!({"outcome": outcome, "message": message})
        );
    } else {
        eprintln!("dynsess: {message}");
    }
}

fn tool_error(e: ToolError) -> Error {
    match e {
        ToolError::Service(e) => Error::from(e),
        e @ (ToolError::Shape(_) | ToolError::Stream(_)) => {
            Error::new(ErrorCode::WrongFormat, e.to_string())
        }
        e @ ToolError::UnfinishedStream { .. } => {
            Error::new(ErrorCode::UnfinishedStream, e.to_string())
        }
        e => Error::msg(e.to_string()),
    }
}
