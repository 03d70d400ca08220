//! The agent loop: every call of every tool answered, the history each provider replays, the
//! approval and tracing hooks, the turn limit. Tools are scripted executors (no pool) except in
//! the last test, which runs the code interpreter on the local pool.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use futures_util::future::BoxFuture;
use llm_tools::agent::{
    Agent, AgentFailure, Approval, FunctionTool, StopReason, ToolExecutor, ToolResult,
};
use llm_tools::{CodeInterpreterTool, Format, ToolCall};
use serde_json::{Value, json};

/// A code tool that records what it was asked to run and answers with a fixed text.
#[derive(Default)]
struct ScriptedCode {
    ran: Mutex<Vec<String>>,
}

impl ToolExecutor for ScriptedCode {
    fn name(&self) -> &str {
        "code_interpreter"
    }
    fn definition(&self, _format: Format) -> Value {
        json!({"name": "code_interpreter"})
    }
    fn code_of(&self, call: &ToolCall<'_>) -> Option<String> {
        call.parse("code_interpreter", &Default::default())
            .ok()
            .map(|p| p.code.into_owned())
    }
    fn execute<'a>(&'a self, call: &'a ToolCall<'a>) -> BoxFuture<'a, ToolResult> {
        Box::pin(async move {
            let code = self.code_of(call).unwrap_or_default();
            self.ran.lock().unwrap().push(code.clone());
            ToolResult::Text {
                text: format!("ran {code}"),
                is_error: false,
            }
        })
    }
}

fn weather() -> FunctionTool {
    FunctionTool::new(
        "get_weather",
        "The weather in a city.",
        json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}),
        |args| async move {
            match args["city"].as_str() {
                Some(city) => Ok(json!({"city": city, "sky": "clear"})),
                None => Err("city is required".to_owned()),
            }
        },
    )
}

/// A model that plays back `turns` and records each request.
fn scripted(
    turns: Vec<Value>,
    requests: Arc<Mutex<Vec<llm_tools::agent::ModelRequest>>>,
) -> impl FnMut(llm_tools::agent::ModelRequest) -> futures_util::future::Ready<Result<Value, String>>
{
    let mut turns = turns.into_iter();
    move |request| {
        requests.lock().unwrap().push(request);
        futures_util::future::ready(turns.next().ok_or_else(|| "no more turns".to_owned()))
    }
}

#[tokio::test]
async fn chat_every_call_is_answered_and_code_waits_for_approval() {
    let code = ScriptedCode::default();
    let starts = AtomicUsize::new(0);
    let ends = Mutex::new(Vec::new());
    let agent = Agent::new(Format::Chat)
        .tool(&code)
        .tool(weather())
        .approve(|request| async move {
            if request.code.contains("rmtree") {
                Approval::Deny {
                    reason: "no deleting".into(),
                }
            } else {
                Approval::Approve
            }
        })
        .on_call_start(|_| {
            starts.fetch_add(1, Ordering::SeqCst);
        })
        .on_call_end(|info, result| {
            ends.lock()
                .unwrap()
                .push((info.call_id.to_owned(), result.is_error()))
        });
    let call = |id: &str, name: &str, args: Value| json!({"id": id, "type": "function", "function": {"name": name, "arguments": args.to_string()}});
    let first = json!({"object": "chat.completion", "choices": [{"index": 0, "finish_reason": "tool_calls",
    "message": {"role": "assistant", "content": null, "tool_calls": [
        call("call_1", "code_interpreter", json!({"python_code": "print(1)"})),
        call("call_2", "get_weather", json!({"city": "Oslo"})),
        call("call_3", "code_interpreter", json!({"python_code": "import shutil; shutil.rmtree('/mnt/data')"})),
        call("call_4", "send_email", json!({})),
    ]}}]});
    let last = json!({"object": "chat.completion", "choices": [{"index": 0, "finish_reason": "stop",
        "message": {"role": "assistant", "content": "Done: 1, clear."}}]});
    let requests = Arc::new(Mutex::new(Vec::new()));
    let history = vec![json!({"role": "user", "content": "go"})];
    let run = agent
        .run(
            history,
            scripted(vec![first.clone(), last], requests.clone()),
        )
        .await
        .unwrap();
    assert_eq!(run.stop, StopReason::Finished);
    assert_eq!(run.text, "Done: 1, clear.");
    assert_eq!(run.turns, 2);
    assert_eq!(
        *code.ran.lock().unwrap(),
        vec!["print(1)".to_owned()],
        "the denied code never ran"
    );
    let h = &run.history;
    assert_eq!(
        h[1], first["choices"][0]["message"],
        "the assistant message is replayed verbatim"
    );
    let ids: Vec<&str> = h[2..6]
        .iter()
        .map(|m| m["tool_call_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        ["call_1", "call_2", "call_3", "call_4"],
        "every call answered, in order"
    );
    assert_eq!(h[2]["content"], "ran print(1)");
    assert_eq!(h[3]["content"], r#"{"city":"Oslo","sky":"clear"}"#);
    assert!(h[4]["content"].as_str().unwrap().contains("no deleting"));
    assert!(
        h[5]["content"]
            .as_str()
            .unwrap()
            .contains("no tool named \"send_email\"")
    );
    assert_eq!(h[6]["role"], "assistant");
    assert_eq!(starts.load(Ordering::SeqCst), 4);
    assert_eq!(
        *ends.lock().unwrap(),
        vec![
            ("call_1".to_owned(), false),
            ("call_2".to_owned(), false),
            ("call_3".to_owned(), true),
            ("call_4".to_owned(), true)
        ]
    );
    let requests = requests.lock().unwrap();
    assert_eq!(requests[0].tools.len(), 2);
    assert_eq!(
        requests[1].history.len(),
        6,
        "the second request carries the answers"
    );
    #[cfg(feature = "async-openai")]
    {
        // The history is what async-openai's request types accept.
        let _: Vec<async_openai::types::chat::ChatCompletionRequestMessage> =
            serde_json::from_value(json!(run.history)).expect("valid Chat messages");
    }
}

#[tokio::test]
async fn responses_history_keeps_reasoning_before_the_outputs_and_the_turn_limit_stops() {
    let code = ScriptedCode::default();
    let agent = Agent::new(Format::Responses).tool(&code).max_turns(2);
    let turn = json!({"object": "response", "output": [
        {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": "gAAAA"},
        {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "code_interpreter",
         "arguments": "{\"python_code\":\"x = 1\"}"}]});
    let requests = Arc::new(Mutex::new(Vec::new()));
    let run = agent
        .run(
            vec![json!({"role": "user", "content": "go"})],
            scripted(vec![turn.clone(), turn], requests),
        )
        .await
        .unwrap();
    assert_eq!(run.stop, StopReason::TurnLimit);
    let kinds: Vec<&str> = run.history[1..]
        .iter()
        .map(|i| i["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "reasoning",
            "function_call",
            "function_call_output",
            "reasoning",
            "function_call",
            "function_call_output"
        ]
    );
    assert_eq!(run.history[3]["call_id"], "call_1");
    #[cfg(feature = "async-openai")]
    {
        let _: Vec<async_openai::types::responses::InputItem> =
            serde_json::from_value(json!(run.history)).expect("valid Responses input");
    }
}

#[tokio::test]
async fn a_call_without_its_id_stops_the_loop_with_the_history() {
    let agent = Agent::new(Format::Responses).tool(weather());
    let turn = json!({"object": "response", "output": [
        {"type": "function_call", "id": "fc_1", "name": "get_weather", "arguments": "{\"city\":\"Oslo\"}"}]});
    let error = agent
        .run(vec![], scripted(vec![turn], Arc::default()))
        .await
        .unwrap_err();
    assert!(matches!(error.failure, AgentFailure::MissingId(ref name) if name == "get_weather"));
    assert_eq!(error.history.len(), 1, "the turn is kept");
}

#[tokio::test(flavor = "multi_thread")]
async fn anthropic_and_gemini_loops_run_code_on_the_pool() {
    let pool = common::Pool::start().await;
    let tool = CodeInterpreterTool::owning(pool.client.new_session());
    let anthropic = Agent::new(Format::Anthropic).tool(&tool);
    let turns = vec![
        json!({"type": "message", "role": "assistant", "stop_reason": "tool_use", "content": [
            {"type": "thinking", "thinking": "compute", "signature": "sig"},
            {"type": "tool_use", "id": "toolu_1", "name": "code_interpreter", "input": {"python_code": "x = 6 * 7"}}]}),
        json!({"type": "message", "role": "assistant", "stop_reason": "tool_use", "content": [
            {"type": "tool_use", "id": "toolu_2", "name": "code_interpreter", "input": {"python_code": "print(x)"}}]}),
        json!({"type": "message", "role": "assistant", "stop_reason": "end_turn", "content": [{"type": "text", "text": "42"}]}),
    ];
    let run = anthropic
        .run(
            vec![json!({"role": "user", "content": "go"})],
            scripted(turns, Arc::default()),
        )
        .await
        .unwrap();
    assert_eq!(run.text, "42");
    assert_eq!(
        run.history[1]["content"][0]["signature"], "sig",
        "thinking replayed"
    );
    let second = &run.history[4]["content"][0];
    assert_eq!(second["tool_use_id"], "toolu_2");
    assert_eq!(
        common::parse_text(&second["content"])["stdout"],
        "42\n",
        "state is kept"
    );

    let gemini = Agent::new(Format::Gemini).tool(&tool);
    assert!(gemini.tools_json()[0]["functionDeclarations"][0]["parametersJsonSchema"].is_object());
    let turns = vec![
        json!({"candidates": [{"content": {"role": "model", "parts": [
            {"functionCall": {"name": "code_interpreter", "args": {"python_code": "print(x + 1)"}}, "thoughtSignature": "CiQB"}]}}]}),
        json!({"candidates": [{"content": {"role": "model", "parts": [{"text": "43"}]}, "finishReason": "STOP"}]}),
    ];
    let run = gemini
        .run(
            vec![json!({"role": "user", "parts": [{"text": "go"}]})],
            scripted(turns, Arc::default()),
        )
        .await
        .unwrap();
    assert_eq!(run.text, "43");
    assert_eq!(run.history[1]["parts"][0]["thoughtSignature"], "CiQB");
    assert_eq!(
        run.history[2]["parts"][0]["functionResponse"]["response"]["output"]["stdout"],
        "43\n"
    );
    // The agents borrow the tool: end them before closing it.
    drop((anthropic, gemini));
    tool.close().await.unwrap();
    pool.stop().await;
}
