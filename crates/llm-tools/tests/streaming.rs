//! Streaming: recorded streams of every provider, written from the documented event formats
//! (see /work/shared/reference/llm-tool-formats.md §1.6, §2.4, §4.4, §5), assembled into calls
//! that complete as soon as their arguments do, and into the turn the non-streaming parsers read.

mod common;

use common::{Pool, parse_text};
use llm_tools::providers::{anthropic, chat, gemini, responses};
use llm_tools::stream::{StreamAssembler, StreamError};
use llm_tools::{CodeInterpreterTool, Format, FoundCalls, ToolError, TurnOutcome};
use serde_json::Value;

const CHAT: &str = include_str!("streams/chat_parallel.sse");
const RESPONSES: &str = include_str!("streams/responses_function_call.sse");
const ANTHROPIC: &str = include_str!("streams/anthropic_tool_use.sse");
const GEMINI: &str = include_str!("streams/gemini_function_call.sse");

fn cases() -> [(Format, &'static str); 4] {
    [
        (Format::Chat, CHAT),
        (Format::Responses, RESPONSES),
        (Format::Anthropic, ANTHROPIC),
        (Format::Gemini, GEMINI),
    ]
}

fn found(format: Format, turn: &Value) -> FoundCalls<'_> {
    match format {
        Format::Chat => chat::find_calls(turn),
        Format::Responses => responses::find_calls(turn),
        Format::Anthropic => anthropic::find_calls(turn),
        _ => gemini::find_calls(turn),
    }
    .unwrap()
}

/// The events of a recorded stream, one SSE block each.
fn blocks(sse: &str) -> Vec<String> {
    sse.split("\n\n")
        .filter(|b| !b.trim().is_empty())
        .map(|b| format!("{b}\n\n"))
        .collect()
}

#[test]
fn each_call_is_complete_before_the_stream_ends() {
    // (format, the block after which each code-interpreter call is complete)
    let expected: [(Format, &[(&str, usize)]); 4] = [
        // call_abc ends when index 1 starts; call_def (another tool) when index 2 starts.
        (
            Format::Chat,
            &[("call_abc", 2), ("call_def", 5), ("call_ghi", 6)],
        ),
        (Format::Responses, &[("call_pCE6", 7), ("call_q7", 11)]),
        (Format::Anthropic, &[("toolu_01A", 14), ("toolu_01B", 17)]),
        (Format::Gemini, &[("fc_a", 1), ("fc_b", 2)]),
    ];
    for ((format, sse), (_, want)) in cases().into_iter().zip(expected) {
        let events = blocks(sse);
        let mut stream = StreamAssembler::new(format);
        let mut seen = Vec::new();
        for (i, block) in events.iter().enumerate() {
            for call in stream.feed_sse(block).unwrap() {
                seen.push((call.call.id.to_string(), i));
            }
        }
        let want: Vec<(String, usize)> = want.iter().map(|(id, i)| (id.to_string(), *i)).collect();
        assert_eq!(seen, want, "{format}");
        assert!(
            seen[0].1 < events.len() - 1,
            "{format}: the first call is ready before the stream ends"
        );
        stream.finish().unwrap();
    }
}

#[test]
fn any_chunking_gives_the_same_calls_and_the_turn_the_parsers_read() {
    for (format, sse) in cases() {
        let whole = {
            let mut stream = StreamAssembler::new(format);
            stream.feed_sse(sse).unwrap();
            stream.finish().unwrap()
        };
        for size in [1, 3, 7, 64] {
            let mut stream = StreamAssembler::new(format);
            let bytes = sse.as_bytes();
            let mut calls = Vec::new();
            for chunk in bytes.chunks(size) {
                calls.extend(
                    stream
                        .feed_sse(std::str::from_utf8(chunk).unwrap())
                        .unwrap(),
                );
            }
            let assembled = stream.finish().unwrap();
            assert_eq!(assembled, whole, "{format} in chunks of {size}");
        }
        // The assembled turn reads like the non-streaming one, call for call.
        let parsed = found(format, &whole.turn);
        let from_turn: Vec<_> = parsed.calls.iter().map(|c| c.call.clone()).collect();
        let streamed: Vec<_> = whole.calls.iter().map(|c| c.call.clone()).collect();
        assert_eq!(from_turn.len(), streamed.len(), "{format}");
        for (a, b) in from_turn.iter().zip(&streamed) {
            assert_eq!((&a.id, &a.name), (&b.id, &b.name), "{format}");
            let opts = llm_tools::ParseOptions::default();
            if a.name == "code_interpreter" {
                assert_eq!(
                    a.parse("code_interpreter", &opts).unwrap().code,
                    b.parse("code_interpreter", &opts).unwrap().code,
                    "{format}"
                );
            }
        }
    }
    // The pieces a replay needs are kept: Anthropic thinking and its signature, Gemini's
    // thought signature, Responses' reasoning item.
    let mut stream = StreamAssembler::new(Format::Anthropic);
    stream.feed_sse(ANTHROPIC).unwrap();
    let turn = stream.finish().unwrap().turn;
    assert_eq!(turn["content"][0]["signature"], "EqQBCgIYAh");
    assert_eq!(turn["content"][1]["text"], "Let me compute that.");
    assert_eq!(turn["stop_reason"], "tool_use");
    let mut stream = StreamAssembler::new(Format::Gemini);
    stream.feed_sse(GEMINI).unwrap();
    let turn = stream.finish().unwrap().turn;
    assert_eq!(
        turn["candidates"][0]["content"]["parts"][1]["thoughtSignature"],
        "CiQB"
    );
    let mut stream = StreamAssembler::new(Format::Responses);
    stream.feed_sse(RESPONSES).unwrap();
    let turn = stream.finish().unwrap().turn;
    assert_eq!(turn["output"][0]["type"], "reasoning");
}

#[test]
fn a_cut_stream_or_the_wrong_format_is_an_error() {
    for (format, sse) in cases() {
        let events = blocks(sse);
        let mut stream = StreamAssembler::new(format);
        // Chat ends with finish_reason, usage and [DONE]: any of the first is an end.
        let dropped = if format == Format::Chat { 3 } else { 2 };
        for block in &events[..events.len() - dropped] {
            stream.feed_sse(block).unwrap();
        }
        if format != Format::Gemini {
            assert!(
                matches!(stream.finish(), Err(StreamError::Unfinished { .. })),
                "{format}"
            );
        }
    }
    let mut stream = StreamAssembler::new(Format::Chat);
    let error = stream.feed_sse(ANTHROPIC).unwrap_err();
    assert!(
        matches!(&error, StreamError::WrongFormat { looks_like, .. } if looks_like.format == Format::Anthropic),
        "{error}"
    );
    let mut stream = StreamAssembler::new(Format::Anthropic);
    let error = stream
        .feed_sse("data: {\"object\":\"chat.completion\",\"choices\":[]}\n\n")
        .unwrap_err();
    assert!(error.to_string().contains("OpenAI Chat turn"), "{error}");
    let mut stream = StreamAssembler::new(Format::Anthropic);
    let error = stream
        .feed_sse("event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n")
        .unwrap_err();
    assert!(error.to_string().contains("Overloaded"), "{error}");
}

#[tokio::test(flavor = "multi_thread")]
async fn streamed_turns_run_on_the_pool() {
    let pool = Pool::start().await;
    let tool = CodeInterpreterTool::owning(pool.client.new_session());
    // Chat: two calls share state; the call to another tool is left to the caller.
    let streamed = tool.handle_sse(Format::Chat, CHAT).await.unwrap();
    let messages = streamed.answer.to_json();
    assert_eq!(parse_text(&messages[0]["content"])["stdout"], "42\n");
    assert_eq!(parse_text(&messages[1]["content"])["stdout"], "43\n");
    assert_eq!(
        streamed.answer.outcome(),
        TurnOutcome::Incomplete {
            answered: 2,
            unhandled: 1,
            rejected: 0
        }
    );
    assert_eq!(
        streamed.turn["choices"][0]["message"]["tool_calls"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    let wrapped = streamed.answer.incomplete_json();
    assert_eq!(wrapped["incomplete"], true);
    assert_eq!(wrapped["unanswered"][0]["id"], "call_def");
    assert!(
        wrapped["reason"]
            .as_str()
            .unwrap()
            .starts_with("INCOMPLETE")
    );
    for (format, sse) in [
        (Format::Responses, RESPONSES),
        (Format::Anthropic, ANTHROPIC),
        (Format::Gemini, GEMINI),
    ] {
        let streamed = tool.handle_stream(format, sse.as_bytes()).await.unwrap();
        assert_eq!(streamed.answer.outcome(), TurnOutcome::Answered, "{format}");
    }
    // A stream cut short: the calls that ran come back with their outputs.
    let cut = &ANTHROPIC[..ANTHROPIC
        .find("event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":3")
        .unwrap()];
    match tool.handle_sse(Format::Anthropic, cut).await {
        Err(ToolError::UnfinishedStream { ran, .. }) => {
            assert_eq!(ran.len(), 1);
            assert_eq!(ran[0].1.stdout, "42\n");
        }
        other => panic!("expected an unfinished stream, got {other:?}"),
    }
    tool.close().await.unwrap();
    pool.stop().await;
}
