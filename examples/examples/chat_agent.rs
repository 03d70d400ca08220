//! A Chat Completions agent loop with the code-interpreter tool.
//!
//! With `OPENAI_API_KEY` (or `AZURE_OPENAI_ENDPOINT` + `AZURE_OPENAI_API_KEY` +
//! `AZURE_OPENAI_DEPLOYMENT`) in the environment it talks to the real model; otherwise it replays
//! recorded model turns from `examples/recorded/`, running the code for real either way.
//!
//! Run: `cargo run --example chat_agent`

use std::process::ExitCode;

use dynamic_sessions::tools::{CodeInterpreterTool, ToolOptions};
use examples::model::{Api, TurnSource};
use examples::{Needs, Pool, Result, exit_code, one_line};
use serde_json::{Value, json};

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
    let mut model = TurnSource::from_env("chat_agent", &RECORDED)?;
    let pool = Pool::from_env_or_local(Needs::Python).await?;
    // The tool owns a fresh session and answers every call, even to unknown tool names.
    let options = ToolOptions {
        answer_unknown_tools: true,
        ..ToolOptions::default()
    };
    let tool = CodeInterpreterTool::with_new_session(&pool.client).with_options(options);
    println!("session: {}", tool.session().identifier());

    let result = agent_loop(&mut model, &tool).await;
    tool.close().await?;
    pool.shutdown().await;
    result
}

async fn agent_loop(model: &mut TurnSource, tool: &CodeInterpreterTool) -> Result<()> {
    tool.prepare().await?;
    let tools = vec![tool.definition_chat()];
    let mut messages = vec![json!({ "role": "user", "content": TASK })];
    println!("user: {TASK}");
    for _ in 0..MAX_TURNS {
        let response = model
            .next(Api::Chat, json!({ "messages": messages, "tools": tools }))
            .await?;
        let message = response["choices"][0]["message"].clone();
        if message.is_null() {
            return Err(format!(
                "unexpected model answer: {}",
                one_line(&response.to_string(), 300)
            )
            .into());
        }
        messages.push(message.clone());
        let calls = message["tool_calls"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if calls.is_empty() {
            println!(
                "assistant: {}",
                message["content"].as_str().unwrap_or("(no text)")
            );
            return Ok(());
        }
        for call in &calls {
            let args: Value = call["function"]["arguments"]
                .as_str()
                .and_then(|a| serde_json::from_str(a).ok())
                .unwrap_or_default();
            println!(
                "assistant → {}: {}",
                call["function"]["name"].as_str().unwrap_or("?"),
                one_line(args["python_code"].as_str().unwrap_or("?"), 100)
            );
        }
        let out = tool.handle_chat(&response).await?;
        for m in &out.messages {
            println!(
                "tool ({}): {}",
                m["tool_call_id"].as_str().unwrap_or("?"),
                one_line(m["content"].as_str().unwrap_or_default(), 100)
            );
        }
        messages.extend(out.messages.iter().cloned());
        messages.extend(out.image_message());
    }
    Err(format!("no final answer after {MAX_TURNS} turns").into())
}
