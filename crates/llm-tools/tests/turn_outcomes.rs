//! Issue 14, "messages the API will refuse": the exact turns named there. A call without its id
//! is not run; a turn with no calls, or with calls to other tools, says so; both Gemini casings
//! are read; a turn in the wrong format is an error naming the format it looks like.

mod common;

use common::{Pool, parse_text};
use llm_tools::providers::{anthropic, chat, detect, gemini, responses};
use llm_tools::{CallError, CodeInterpreterTool, Format, ToolOptions, TurnOutcome};
use serde_json::{Value, json};

fn chat_completion(tool_calls: Value) -> Value {
    json!({"object": "chat.completion", "choices": [{"index": 0, "finish_reason": "tool_calls",
        "message": {"role": "assistant", "content": null, "tool_calls": tool_calls}}]})
}

#[tokio::test(flavor = "multi_thread")]
async fn outcomes_of_every_provider_on_the_pool() {
    let pool = Pool::start().await;
    let tool = CodeInterpreterTool::owning(pool.client.new_session());

    // A Responses function_call with no call_id: rejected, never run.
    let response = json!({"object": "response", "output": [
        {"type": "function_call", "id": "fc_1", "name": "code_interpreter",
         "arguments": "{\"python_code\":\"open('/mnt/data/ran.txt', 'w').write('x')\"}"}]});
    let out = tool.handle_responses(&response).await.unwrap();
    assert!(out.items.is_empty(), "no answer with \"call_id\": \"\"");
    assert_eq!(out.rejected.len(), 1);
    assert!(matches!(
        out.rejected[0].error,
        CallError::MissingId {
            field: "call_id",
            ..
        }
    ));
    assert!(matches!(
        out.outcome(),
        TurnOutcome::Incomplete { rejected: 1, .. }
    ));
    let probe = tool
        .run("import os\nprint(os.path.exists('/mnt/data/ran.txt'))")
        .await;
    assert_eq!(
        probe.stdout, "False\n",
        "the call without an id did not run"
    );

    // Turns with no tool calls, in every format.
    let text_only = [
        (
            Format::Chat,
            json!({"object": "chat.completion", "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "Done."}}]}),
        ),
        (
            Format::Responses,
            json!({"object": "response", "output": [{"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Done."}]}]}),
        ),
        (
            Format::Anthropic,
            json!({"type": "message", "role": "assistant", "stop_reason": "end_turn", "content": [{"type": "text", "text": "Done."}]}),
        ),
        (
            Format::Gemini,
            json!({"candidates": [{"content": {"role": "model", "parts": [{"text": "Done."}]}, "finishReason": "STOP"}]}),
        ),
    ];
    for (format, turn) in &text_only {
        let outcome = match format {
            Format::Chat => tool.handle_chat(turn).await.unwrap().outcome(),
            Format::Responses => tool.handle_responses(turn).await.unwrap().outcome(),
            Format::Anthropic => tool.handle_anthropic(turn).await.unwrap().outcome(),
            _ => tool.handle_gemini(turn).await.unwrap().outcome(),
        };
        assert_eq!(outcome, TurnOutcome::NoCalls, "{format}");
    }

    // A turn that also calls another tool: incomplete, unless other tools are answered too.
    let mixed = json!({"type": "message", "role": "assistant", "stop_reason": "tool_use", "content": [
        {"type": "tool_use", "id": "toolu_1", "name": "code_interpreter", "input": {"python_code": "print(1)"}},
        {"type": "tool_use", "id": "toolu_2", "name": "get_weather", "input": {"city": "Oslo"}}]});
    let out = tool.handle_anthropic(&mixed).await.unwrap();
    assert_eq!(
        out.outcome(),
        TurnOutcome::Incomplete {
            answered: 1,
            unhandled: 1,
            rejected: 0
        }
    );
    assert!(out.outcome().to_string().starts_with("INCOMPLETE"));
    let answering = CodeInterpreterTool::new(tool.session().clone()).with_options(ToolOptions {
        answer_unknown_tools: true,
        ..ToolOptions::default()
    });
    let out = answering.handle_anthropic(&mixed).await.unwrap();
    assert_eq!(out.outcome(), TurnOutcome::Answered);
    assert_eq!(out.blocks[1]["tool_use_id"], "toolu_2");
    assert_eq!(out.blocks[1]["is_error"], true);

    // Gemini's snake_case, as python-genai's model_dump() writes it.
    let dumped = json!({"candidates": [{"content": {"role": "model", "parts": [
        {"function_call": {"id": null, "name": "code_interpreter", "args": {"python_code": "print(6 * 7)"}},
         "thought_signature": null, "text": null}]}, "finish_reason": "STOP"}]});
    let out = tool.handle_gemini(&dumped).await.unwrap();
    assert_eq!(out.outcome(), TurnOutcome::Answered);
    assert_eq!(
        out.parts[0]["functionResponse"]["response"]["output"]["stdout"],
        "42\n"
    );

    // Chat: a call without its id is rejected too.
    let completion = chat_completion(
        json!([{"type": "function", "function": {"name": "code_interpreter", "arguments": "{\"python_code\":\"print(1)\"}"}}]),
    );
    let out = tool.handle_chat(&completion).await.unwrap();
    assert!(out.messages.is_empty());
    assert!(matches!(
        out.outcome(),
        TurnOutcome::Incomplete { rejected: 1, .. }
    ));
    let ok = tool
        .handle_chat(&chat_completion(json!([{"id": "call_1", "type": "function", "function": {"name": "code_interpreter", "arguments": "{\"python_code\":\"print(2)\"}"}}])))
        .await
        .unwrap();
    assert_eq!(parse_text(&ok.messages[0]["content"])["stdout"], "2\n");
    tool.close().await.unwrap();
    pool.stop().await;
}

#[test]
fn a_turn_in_the_wrong_format_names_the_format_it_looks_like() {
    let anthropic_message = json!({"id": "msg_1", "type": "message", "role": "assistant", "stop_reason": "tool_use",
        "content": [{"type": "tool_use", "id": "toolu_1", "name": "code_interpreter", "input": {"python_code": "1"}}]});
    let error = chat::find_calls(&anthropic_message).unwrap_err();
    assert_eq!(error.looks_like.unwrap().format, Format::Anthropic);
    assert!(
        error.to_string().contains("looks like an Anthropic turn"),
        "{error}"
    );

    let chat_turn = chat_completion(json!([]));
    for (name, error) in [
        ("responses", responses::find_calls(&chat_turn).unwrap_err()),
        ("anthropic", anthropic::find_calls(&chat_turn).unwrap_err()),
        ("gemini", gemini::find_calls(&chat_turn).unwrap_err()),
    ] {
        assert_eq!(error.looks_like.unwrap().format, Format::Chat, "{name}");
    }

    // Streamed events handed in as a turn.
    let chunk = json!({"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"tool_calls": []}}]});
    let error = chat::find_calls(&chunk).unwrap_err();
    assert!(error.looks_like.unwrap().stream_event);
    assert!(error.to_string().contains("assemble the stream"), "{error}");
    let event = json!({"type": "response.function_call_arguments.delta", "delta": "{"});
    assert!(
        responses::find_calls(&event)
            .unwrap_err()
            .looks_like
            .unwrap()
            .stream_event
    );
    assert!(detect::is_sse(
        "event: response.created\ndata: {\"type\":\"response.created\"}\n\n"
    ));
    assert!(detect::is_sse("data: {\"choices\":[]}\n\ndata: [DONE]\n"));

    // Chat with the calls in choices[1] only.
    let two = json!({"object": "chat.completion", "choices": [
        {"index": 0, "message": {"role": "assistant", "content": "Hi"}},
        {"index": 1, "message": {"role": "assistant", "content": null, "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "code_interpreter", "arguments": "{}"}}]}}]});
    let error = chat::find_calls(&two).unwrap_err();
    assert!(error.to_string().contains("choices[1]"), "{error}");
}
