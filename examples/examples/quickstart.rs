//! Quickstart: upload a CSV, analyse it with pandas, download a file the code wrote, and answer
//! one recorded OpenAI Chat turn and one recorded Responses turn with the code-interpreter tool.
//!
//! Run: `cargo run --example quickstart`
//!
//! It starts an embedded local pool unless `POOL_MANAGEMENT_ENDPOINT` names a real one (then the
//! default Azure credential is used). The local pool needs python3 with pandas: it uses
//! `SESSIONS_EMULATOR_PYTHON`, else `.venv/bin/python3` in the workspace root, else `python3`.

use std::process::ExitCode;

use dynamic_sessions::tools::CodeInterpreterTool;
use dynamic_sessions::{Session, Upload};
use examples::{Needs, Pool, Result, exit_code, one_line};
use serde_json::Value;

const SALES_CSV: &str = "\
month,region,amount
2026-01,north,1200
2026-01,south,950
2026-01,west,400
2026-02,north,1310
2026-02,south,1020
2026-02,west,515
2026-03,north,990
2026-03,south,1480
2026-03,west,630
";

const ANALYSIS: &str = r#"
import pandas as pd
df = pd.read_csv('/mnt/data/sales.csv')
summary = df.pivot_table(index='region', columns='month', values='amount', aggfunc='sum')
summary['total'] = summary.sum(axis=1)
summary = summary.sort_values('total', ascending=False)
summary.to_csv('/mnt/data/summary.csv')
print(summary.to_string())
f"{len(df)} rows, grand total {int(df['amount'].sum())}"
"#;

/// A recorded Chat Completions turn: the model asks to run code on sales.csv.
const CHAT_TURN: &str = include_str!("../recorded/quickstart_chat.json");
/// A recorded Responses turn: the same, as a `function_call` output item.
const RESPONSES_TURN: &str = include_str!("../recorded/quickstart_responses.json");

#[tokio::main]
async fn main() -> ExitCode {
    exit_code(run().await)
}

async fn run() -> Result<()> {
    println!("== dynamic-sessions quickstart ==");
    let pool = Pool::from_env_or_local(Needs::DataPackages).await?;
    let session = pool.client.new_session();
    println!("session: {}", session.identifier());

    let result = steps(&session).await;
    // Free the session's slot in the pool, whatever happened.
    if let Err(e) = session.delete().await {
        eprintln!("warning: could not delete the session: {e}");
    }
    pool.shutdown().await;
    result
}

async fn steps(session: &Session) -> Result<()> {
    // 1. Upload the data.
    let info = session
        .files()
        .upload(Upload::text("sales.csv", SALES_CSV))
        .await?;
    println!(
        "\n[1] uploaded {} ({} bytes)",
        info.relative_path(),
        info.size.unwrap_or_default()
    );

    // 2. Analyse it with pandas; the code also writes summary.csv.
    println!("\n[2] running pandas analysis:");
    let run = session.execute(ANALYSIS).await?;
    if !run.succeeded() {
        return Err(format!("the analysis failed: {}", run.stderr.trim_end()).into());
    }
    for line in run.stdout.lines() {
        println!("    {line}");
    }
    if let Some(value) = run.result.as_value() {
        println!(
            "    result: {}",
            value
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| value.to_string())
        );
    }

    // 3. Download what the code wrote.
    let dir = tempfile::tempdir()?;
    let local = dir.path().join("summary.csv");
    let bytes = session.files().download_to("summary.csv", &local).await?;
    let first = std::fs::read_to_string(&local)?
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned();
    println!("\n[3] downloaded summary.csv ({bytes} bytes); header: {first}");

    // 4. The code-interpreter tool, on the same session (state and files are shared).
    let tool = CodeInterpreterTool::new(session.clone());

    let chat_turn: Value = serde_json::from_str(CHAT_TURN)?;
    let call = &chat_turn["choices"][0]["message"]["tool_calls"][0];
    println!("\n[4] Chat Completions round trip (recorded model turn)");
    println!(
        "    model called {} with: {}",
        text(&call["function"]["name"]),
        code_of(&call["function"]["arguments"])
    );
    let chat = tool.handle_chat(&chat_turn).await?;
    for message in &chat.messages {
        println!(
            "    send back: role=tool tool_call_id={} content={}",
            text(&message["tool_call_id"]),
            one_line(&text(&message["content"]), 110)
        );
    }

    let responses_turn: Value = serde_json::from_str(RESPONSES_TURN)?;
    println!("\n[5] Responses round trip (recorded model turn)");
    if let Some(item) = responses_turn["output"]
        .as_array()
        .and_then(|o| o.iter().find(|i| i["type"] == "function_call"))
    {
        println!(
            "    model called {} with: {}",
            text(&item["name"]),
            code_of(&item["arguments"])
        );
    }
    let responses = tool.handle_responses(&responses_turn).await?;
    for item in &responses.items {
        println!(
            "    send back: type=function_call_output call_id={} output={}",
            text(&item["call_id"]),
            one_line(&text(&item["output"]), 100)
        );
    }

    println!("\ndone: the tool results above go into the next model request.");
    Ok(())
}

/// A JSON string as text, anything else as JSON.
fn text(value: &Value) -> String {
    value
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| value.to_string())
}

/// The `python_code` inside an arguments string, on one line.
fn code_of(arguments: &Value) -> String {
    let parsed: Value = arguments
        .as_str()
        .and_then(|s| serde_json::from_str(s).ok())
        .unwrap_or(Value::Null);
    one_line(parsed["python_code"].as_str().unwrap_or("?"), 90)
}
