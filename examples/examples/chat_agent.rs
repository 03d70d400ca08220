//! A Chat Completions agent with the code-interpreter tool, on `llm_tools::agent::Agent`.
//!
//! With `OPENAI_API_KEY` (or `AZURE_OPENAI_ENDPOINT` + `AZURE_OPENAI_API_KEY` +
//! `AZURE_OPENAI_DEPLOYMENT`) in the environment it talks to the real model; otherwise it replays
//! recorded model turns from `examples/recorded/`, running the code for real either way.
//!
//! Run: `cargo run --example chat_agent`

use std::process::ExitCode;

use std::sync::Arc;

use dynamic_sessions::tools::agent::{Agent, StopReason, ToolResult};
use dynamic_sessions::tools::{CodeInterpreterTool, Format, ImageNote, ToolOptions};
use examples::model::{Api, TurnSource};
use examples::{Needs, Pool, Result, exit_code, one_line};
use serde_json::json;
use tokio::sync::Mutex;

const TASK: &str = "What is the 30th Fibonacci number, and how many primes are there below 10,000? \
                    Use the code interpreter, then answer in one sentence.";
const RECORDED: [&str; 2] = [
    include_str!("../recorded/chat_agent_1.json"),
    include_str!("../recorded/chat_agent_2.json"),
];
const MAX_TURNS: usize = 6;

#[tokio::main]
async fn main() -> ExitCode {
    exit_code(run().await)
}

async fn run() -> Result<()> {
    let model = TurnSource::from_env("chat_agent", &RECORDED)?;
    let pool = Pool::from_env_or_local(Needs::Python).await?;
    // The tool owns a fresh session and answers every call, even to unknown tool names.
    let options = ToolOptions {
        answer_unknown_tools: true,
        ..ToolOptions::default()
    };
    let tool = CodeInterpreterTool::with_new_session(&pool.client).with_options(options);
    println!("session: {}", tool.session().identifier());

    let result = agent_loop(model, &tool).await;
    tool.close().await?;
    pool.shutdown().await;
    result
}

async fn agent_loop(model: TurnSource, tool: &CodeInterpreterTool) -> Result<()> {
    tool.prepare().await?;
    println!("user: {TASK}");
    // The loop answers every call, replays the history and stops at the turn limit; the hooks
    // only print.
    let agent = Agent::new(Format::Chat)
        .tool(tool)
        .max_turns(MAX_TURNS)
        .on_call_start(|info| {
            let code = info.call.parse(info.tool, &Default::default()).ok();
            let code = code.as_ref().map_or("?", |c| c.code.as_ref());
            println!("assistant → {}: {}", info.tool, one_line(code, 100));
        })
        .on_call_end(|info, result| println!("tool ({}): {}", info.call_id, summary(result)));
    let model = Arc::new(Mutex::new(model));
    let history = vec![json!({ "role": "user", "content": TASK })];
    let run = agent
        .run(history, |request| {
            let model = model.clone();
            async move {
                let body = json!({ "messages": request.history, "tools": request.tools });
                model.lock().await.next(Api::Chat, body).await
            }
        })
        .await?;
    match run.stop {
        StopReason::Finished => {
            println!("assistant: {}", run.text);
            Ok(())
        }
        StopReason::TurnLimit => Err(format!("no final answer after {MAX_TURNS} turns").into()),
    }
}

/// One line of a call's result.
fn summary(result: &ToolResult) -> String {
    match result {
        ToolResult::Code(output) => one_line(&output.text_for_model(ImageNote::Withheld), 100),
        ToolResult::Text { text, .. } => one_line(text, 100),
    }
}
