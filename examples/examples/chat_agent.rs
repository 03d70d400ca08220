//! A Chat Completions agent with the code-interpreter tool, on `llm_tools::agent::Agent`.
//!
//! With `OPENAI_API_KEY` (or `AZURE_OPENAI_ENDPOINT` + `AZURE_OPENAI_API_KEY` +
//! `AZURE_OPENAI_DEPLOYMENT`) in the environment it talks to the real model; otherwise it replays
//! recorded model turns from `examples/recorded/`, running the code for real either way.
//!
//! Run: `cargo run --example chat_agent`

use std::process::ExitCode;

use dynamic_sessions::tools::{CodeInterpreterTool, ToolOptions};
use examples::model::{Api, TurnSource};
use examples::{Needs, Pool, Result, exit_code, run_code_agent};

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

    let result = run_code_agent(Api::Chat, model, &tool, TASK, MAX_TURNS).await;
    tool.close().await?;
    pool.shutdown().await;
    result
}
