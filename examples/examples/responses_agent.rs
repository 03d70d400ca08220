//! A Responses API agent loop with the code-interpreter tool (chained with
//! `previous_response_id`).
//!
//! With `OPENAI_API_KEY` (or `AZURE_OPENAI_ENDPOINT` + `AZURE_OPENAI_API_KEY` +
//! `AZURE_OPENAI_DEPLOYMENT`) in the environment it talks to the real model; otherwise it replays
//! recorded model turns from `examples/recorded/`, running the code for real either way.
//!
//! Run: `cargo run --example responses_agent`

use std::process::ExitCode;

use dynamic_sessions::tools::{CodeInterpreterTool, ToolOptions};
use examples::model::{Api, TurnSource};
use examples::{Needs, Pool, Result, exit_code, one_line};
use serde_json::{Value, json};

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
    let mut model = TurnSource::from_env("responses_agent", &RECORDED)?;
    let pool = Pool::from_env_or_local(Needs::Python).await?;
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
    let tools = json!([tool.definition_responses()]);
    println!("user: {TASK}");
    let mut body = json!({ "input": TASK, "tools": tools });
    for _ in 0..MAX_TURNS {
        let response = model.next(Api::Responses, body).await?;
        let output = response["output"].as_array().cloned().unwrap_or_default();
        let calls: Vec<&Value> = output
            .iter()
            .filter(|i| i["type"] == "function_call")
            .collect();
        if calls.is_empty() {
            println!(
                "assistant: {}",
                final_text(&output).unwrap_or_else(|| "(no text)".into())
            );
            return Ok(());
        }
        for call in &calls {
            let args: Value = call["arguments"]
                .as_str()
                .and_then(|a| serde_json::from_str(a).ok())
                .unwrap_or_default();
            println!(
                "assistant → {}: {}",
                call["name"].as_str().unwrap_or("?"),
                one_line(args["python_code"].as_str().unwrap_or("?"), 100)
            );
        }
        let out = tool.handle_responses(&response).await?;
        for item in &out.items {
            let text = item["output"]
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| item["output"].to_string());
            println!(
                "tool ({}): {}",
                item["call_id"].as_str().unwrap_or("?"),
                one_line(&text, 100)
            );
        }
        body = json!({
            "previous_response_id": response["id"],
            "input": out.items,
            "tools": tools,
        });
    }
    Err(format!("no final answer after {MAX_TURNS} turns").into())
}

/// The text of the `message` items.
fn final_text(output: &[Value]) -> Option<String> {
    let texts: Vec<&str> = output
        .iter()
        .filter(|i| i["type"] == "message")
        .flat_map(|m| m["content"].as_array().into_iter().flatten())
        .filter(|c| c["type"] == "output_text")
        .filter_map(|c| c["text"].as_str())
        .collect();
    (!texts.is_empty()).then(|| texts.join("\n"))
}
