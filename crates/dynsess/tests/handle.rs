//! `dynsess handle`: every outcome of a model turn has its own exit code, and `--stream` answers
//! a streamed response read from stdin. Runs against an in-process local pool.

mod support;

use serde_json::Value;
use sessions_emulator::PoolType;
use support::*;

/// A recorded Chat stream: two code-interpreter calls (`x = 6 * 7; print(x)`, then
/// `print(x + 1)`) around a call to another tool, `get_weather`.
const CHAT_STREAM: &str = include_str!("../../llm-tools/tests/streams/chat_parallel.sse");

fn tool_messages(answer: &Value) -> Vec<&Value> {
    answer
        .as_array()
        .expect("a list of messages")
        .iter()
        .filter(|m| m["role"] == "tool")
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_streamed_turn_runs_and_says_when_it_is_incomplete() {
    let pool = pool(PoolType::Python).await;
    let ep = pool.endpoint();

    // Another tool's call is left unanswered: exit 4, the answer wrapped so it cannot be sent.
    let o = run(
        ep,
        "handle-stream-1",
        &["handle", "--format", "chat", "--stream"],
        Some(CHAT_STREAM.as_bytes()),
    )
    .await;
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    let out = json(&o);
    // The turn as the non-streaming API returns it.
    let message = &out["turn"]["choices"][0]["message"];
    assert_eq!(message["role"], "assistant", "{out}");
    assert_eq!(message["tool_calls"].as_array().map(Vec::len), Some(3));
    assert_eq!(out["answer"]["incomplete"], true, "{out}");
    assert_eq!(out["answer"]["unanswered"][0]["id"], "call_def");
    let answered = tool_messages(&out["answer"]["answer"]);
    assert_eq!(answered.len(), 2);
    assert!(answered[0]["content"].as_str().unwrap().contains("42"));
    assert!(answered[1]["content"].as_str().unwrap().contains("43"));
    assert!(stderr(&o).contains("INCOMPLETE"), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("--answer-other-tools"),
        "{}",
        stderr(&o)
    );

    // Answering other tools makes the answer complete: exit 0, one tool message per call.
    let o = run(
        ep,
        "handle-stream-2",
        &[
            "handle",
            "--format",
            "chat",
            "--stream",
            "--answer-other-tools",
        ],
        Some(CHAT_STREAM.as_bytes()),
    )
    .await;
    ok(&o);
    let out = json(&o);
    let ids: Vec<&str> = tool_messages(&out["answer"])
        .iter()
        .map(|m| m["tool_call_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["call_abc", "call_def", "call_ghi"]);

    // A stream that stops before its end: exit 6, not an answer that looks whole.
    let cut: String = CHAT_STREAM
        .split_inclusive("\n\n")
        .take(3)
        .collect::<Vec<_>>()
        .concat();
    let o = run(
        ep,
        "handle-stream-3",
        &["handle", "--format", "chat", "--stream"],
        Some(cut.as_bytes()),
    )
    .await;
    assert_eq!(o.status.code(), Some(6), "{}", stderr(&o));
    assert!(stdout(&o).is_empty());
    pool.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn turns_that_cannot_be_answered_have_their_own_exit_codes() {
    let pool = pool(PoolType::Python).await;
    let ep = pool.endpoint();

    // SSE without --stream: exit 5, and the error says what to pass.
    let o = run(
        ep,
        "handle-codes-1",
        &["handle", "--format", "chat"],
        Some(CHAT_STREAM.as_bytes()),
    )
    .await;
    assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
    assert!(stderr(&o).contains("--stream"), "{}", stderr(&o));

    // A turn without tool calls: exit 3 and nothing on stdout (an empty message is refused).
    let text_turn = r#"{"id":"chatcmpl-9","object":"chat.completion","choices":[{"index":0,
        "message":{"role":"assistant","content":"The answer is 42."},"finish_reason":"stop"}]}"#;
    let o = run(
        ep,
        "handle-codes-2",
        &["handle", "--format", "chat", "--json"],
        Some(text_turn.as_bytes()),
    )
    .await;
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(stdout(&o).is_empty(), "{}", stdout(&o));
    let note: Value = serde_json::from_str(stderr(&o).trim()).expect("a JSON note under --json");
    assert_eq!(note["outcome"], "no_calls");

    // An Anthropic message given as Chat: exit 5, naming what it looks like.
    let anthropic = include_str!("fixtures/anthropic.json");
    let o = run(
        ep,
        "handle-codes-3",
        &["handle", "--format", "chat"],
        Some(anthropic.as_bytes()),
    )
    .await;
    assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
    assert!(stderr(&o).contains("Anthropic"), "{}", stderr(&o));
    pool.shutdown().await;
}
