//! A Responses API agent with the code-interpreter tool, on `llm_tools::agent::Agent` (stateless:
//! the whole history, reasoning items included, is sent as `input` each turn).
//!
//! With `OPENAI_API_KEY` (or `AZURE_OPENAI_ENDPOINT` + `AZURE_OPENAI_API_KEY` +
//! `AZURE_OPENAI_DEPLOYMENT`) in the environment it talks to the real model; otherwise it replays
//! recorded model turns from `examples/recorded/`, running the code for real either way.
//!
//! Run: `cargo run --example responses_agent`

use std::process::ExitCode;

use dynamic_sessions::tools::{CodeInterpreterTool, ToolOptions};
use examples::model::{Api, TurnSource};
use examples::{Needs, Pool, Result, exit_code, run_code_agent};

const TASK: &str = "Compute the mean and the standard deviation of sin(i/10) for i in 0..999 \
                    with the code interpreter, then answer in one sentence.";
const RECORDED: [&str; 2] = [
    include_str!("../recorded/responses_agent_1.json"),
    include_str!("../recorded/responses_agent_2.json"),
];
const MAX_TURNS: usize = 6;

#[tokio::main]
async fn main() -> ExitCode {
    exit_code(run().await)
}

async fn run() -> Result<()> {
    let model = TurnSource::from_env("responses_agent", &RECORDED)?;
    let pool = Pool::from_env_or_local(Needs::Python).await?;
    let options = ToolOptions {
        answer_unknown_tools: true,
        ..ToolOptions::default()
    };
    let tool = CodeInterpreterTool::with_new_session(&pool.client).with_options(options);
    println!("session: {}", tool.session().identifier());

    let result = run_code_agent(Api::Responses, model, &tool, TASK, MAX_TURNS).await;
    tool.close().await?;
    pool.shutdown().await;
    result
}
