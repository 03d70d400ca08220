//! Files for a code interpreter, in all four `FileInput` kinds: a URL (served here by a tiny
//! loopback HTTP server, so loopback fetching is allowed explicitly), a file already in the
//! session (`Hosted`), bytes (`Data`) and text (`Text`).
//!
//! The same inputs are staged into a session for our `CodeInterpreterTool`, and rendered for a
//! provider-hosted interpreter (OpenAI Responses), where only hosted ids fit.
//!
//! Run: `cargo run --example hosted_files`

use std::process::ExitCode;

use dynamic_sessions::Upload;
use dynamic_sessions::tools::hosted::FetchPolicy;
use dynamic_sessions::tools::{CodeInterpreterTool, FileInput, HostedCodeInterpreterTool};
use examples::{Needs, Pool, Result, exit_code, one_line};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const RATES_CSV: &str = "currency,rate\nEUR,1.00\nUSD,1.08\nJPY,162.5\n";

#[tokio::main]
async fn main() -> ExitCode {
    exit_code(run().await)
}

/// Serve `RATES_CSV` at `/rates.csv` on a free loopback port; returns the URL.
async fn serve_rates() -> Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let n = socket.read(&mut buf).await.unwrap_or(0);
                let request = String::from_utf8_lossy(&buf[..n]);
                let response = if request.starts_with("GET /rates.csv ") {
                    format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: text/csv\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{RATES_CSV}",
                        RATES_CSV.len()
                    )
                } else {
                    "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                        .to_owned()
                };
                let _ = socket.write_all(response.as_bytes()).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    Ok(format!("http://{addr}/rates.csv"))
}

async fn run() -> Result<()> {
    println!("hosted_files: four kinds of file input");
    let pool = Pool::from_env_or_local(Needs::Python).await?;
    let url = serve_rates().await?;
    println!("serving {url}");

    let session = pool.client.new_session();
    println!("session: {}", session.identifier());
    // A file that is already in the session: referenced by its path as a `Hosted` input.
    session
        .files()
        .upload(Upload::text(
            "notes/earlier.txt",
            "uploaded before the tool existed\n",
        ))
        .await?;

    let inputs = HostedCodeInterpreterTool::new(vec![
        FileInput::url(&url)?,
        FileInput::hosted("notes/earlier.txt"),
        FileInput::data(
            br#"{"base":"EUR","amount":250}"#.to_vec(),
            "application/json",
        )
        .named("request.json"),
        FileInput::text("Convert the amount in request.json with rates.csv.\n").named("task.txt"),
    ])
    // The URL is on loopback: fetching it must be allowed explicitly (off by default, to keep
    // model- or user-supplied URLs away from internal services).
    .with_fetch_policy(FetchPolicy {
        allow_private_addresses: true,
        ..FetchPolicy::default()
    });

    for input in &inputs.inputs {
        println!("  input: {}", input.describe());
    }

    // 1. Staged into the session, for our code-interpreter tool.
    let tool = CodeInterpreterTool::new(session.clone()).with_files(inputs.clone());
    let report = tool.prepare().await?;
    println!("\n[1] staged into the session:");
    for f in &report.files {
        println!(
            "  {:<6} → {} ({} bytes)",
            f.kind,
            f.path,
            f.size.map(|s| s.to_string()).unwrap_or_else(|| "?".into())
        );
    }
    let description = tool.definition_chat()["function"]["description"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let listed: Vec<&str> = description
        .lines()
        .filter(|l| l.starts_with("- /mnt/data/"))
        .collect();
    println!("  the tool description now lists: {}", listed.join(" | "));
    let output = tool
        .run(
            "import csv, json\n\
             rates = {r['currency']: float(r['rate']) for r in csv.DictReader(open('/mnt/data/rates.csv'))}\n\
             req = json.load(open('/mnt/data/request.json'))\n\
             print(open('/mnt/data/task.txt').read().strip())\n\
             print({c: round(req['amount'] * r, 2) for c, r in rates.items()})\n\
             print(open('/mnt/data/notes/earlier.txt').read().strip())",
        )
        .await;
    println!(
        "  run: {}",
        one_line(
            &output.text_for_model(dynamic_sessions::tools::ImageNote::Withheld),
            160
        )
    );

    // 2. Rendered for a provider-hosted interpreter: only hosted ids fit there. Strict rendering
    //    refuses the rest; lossy rendering drops it and says so.
    println!("\n[2] rendered for OpenAI's hosted code_interpreter:");
    match inputs.openai_responses() {
        Ok(r) => println!("  tool: {}", r.tool),
        Err(e) => println!("  strict: {e}"),
    }
    let lossy = inputs.clone().lossy(true).openai_responses()?;
    println!("  lossy tool: {}", lossy.tool);
    for d in &lossy.dropped {
        println!("  dropped input {}: {}", d.index, d.description);
    }

    session.delete().await?;
    pool.shutdown().await;
    Ok(())
}
