//! End to end: recorded model turns of every provider, run for real in the local emulator.

mod common;

use common::{Pool, parse_text};
use llm_tools::CodeInterpreterTool;
use serde_json::json;

#[tokio::test(flavor = "multi_thread")]
async fn chat_turn_runs_parallel_calls_in_order_and_hands_back_other_tools() {
    let pool = Pool::start().await;
    let tool = CodeInterpreterTool::owning(pool.client.new_session());
    // A recorded Chat completion: two calls to us (the second needs the first's state, and comes
    // fenced), one to another tool.
    let completion = json!({
        "id": "chatcmpl-1", "object": "chat.completion",
        "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
            "role": "assistant", "content": null,
            "tool_calls": [
                {"id": "call_a", "type": "function", "function": {"name": "code_interpreter",
                    "arguments": "{\"python_code\":\"x = 6 * 7\\nprint(x)\"}"}},
                {"id": "call_b", "type": "function", "function": {"name": "code_interpreter",
                    "arguments": "{\"python_code\":\"```python\\nwith open('/mnt/data/answer.txt', 'w') as f:\\n    f.write(str(x))\\nx + 1\\n```\"}"}},
                {"id": "call_c", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}
            ]}}]
    });
    let out = tool.handle_chat(&completion).await.expect("handled");
    assert_eq!(out.messages.len(), 2);
    assert_eq!(out.messages[0]["role"], "tool");
    assert_eq!(out.messages[0]["tool_call_id"], "call_a");
    let first = parse_text(&out.messages[0]["content"]);
    assert_eq!(first["status"], "Succeeded");
    assert_eq!(first["stdout"], "42\n");
    let second = parse_text(&out.messages[1]["content"]);
    assert_eq!(second["status"], "Succeeded", "{second}");
    assert_eq!(second["result"], 43);
    assert_eq!(
        second["files_changed"],
        json!([{"name": "answer.txt", "size": 2, "change": "created"}])
    );
    assert_eq!(
        out.unhandled,
        vec![completion["choices"][0]["message"]["tool_calls"][2].clone()]
    );
    tool.close().await.expect("session deleted");
    pool.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn responses_turn_attaches_a_matplotlib_image_as_input_image() {
    let pool = Pool::start().await;
    let tool = CodeInterpreterTool::owning(pool.client.new_session());
    let response = json!({"id": "resp_1", "status": "completed", "output": [
        {"type": "reasoning", "id": "rs_1", "summary": []},
        {"type": "function_call", "id": "fc_1", "call_id": "call_plot", "name": "code_interpreter", "status": "completed",
         "arguments": "{\"python_code\":\"import matplotlib\\nmatplotlib.use('Agg')\\nimport matplotlib.pyplot as plt\\nplt.plot([1, 2, 3], [1, 4, 9])\\nplt.show()\"}"}
    ]});
    let out = tool.handle_responses(&response).await.expect("handled");
    assert_eq!(out.items.len(), 1);
    let item = &out.items[0];
    assert_eq!(item["type"], "function_call_output");
    assert_eq!(item["call_id"], "call_plot");
    let parts = item["output"]
        .as_array()
        .expect("output has parts when there is an image");
    assert_eq!(parts[0]["type"], "input_text");
    let text = parts[0]["text"].as_str().unwrap();
    assert!(
        !text.contains("base64") && text.len() < 2000,
        "no base64 in the text: {text}"
    );
    assert_eq!(parts[1]["type"], "input_image");
    assert!(
        parts[1]["image_url"]
            .as_str()
            .unwrap()
            .starts_with("data:image/png;base64,iVBOR")
    );
    tool.close().await.expect("session deleted");
    pool.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn anthropic_turn_marks_a_failed_run_as_error_and_keeps_the_status() {
    let pool = Pool::start().await;
    let tool = CodeInterpreterTool::owning(pool.client.new_session());
    let message = json!({"id": "msg_1", "role": "assistant", "stop_reason": "tool_use", "content": [
        {"type": "text", "text": "Let me divide."},
        {"type": "tool_use", "id": "toolu_ok", "name": "code_interpreter", "input": {"python_code": "print('hi')"}},
        {"type": "tool_use", "id": "toolu_bad", "name": "code_interpreter", "input": {"python_code": "1/0"}},
        {"type": "tool_use", "id": "toolu_empty", "name": "code_interpreter", "input": {"python_code": "  "}}
    ]});
    let out = tool.handle_anthropic(&message).await.expect("handled");
    assert_eq!(out.blocks.len(), 3);
    assert_eq!(out.blocks[0]["is_error"], false);
    let bad = &out.blocks[1];
    assert_eq!(bad["tool_use_id"], "toolu_bad");
    assert_eq!(bad["is_error"], true);
    let bad_text = parse_text(&bad["content"]);
    assert_eq!(bad_text["status"], "Failed");
    assert!(
        bad_text["stderr"]
            .as_str()
            .unwrap()
            .contains("ZeroDivisionError"),
        "{bad_text}"
    );
    let empty = parse_text(&out.blocks[2]["content"]);
    assert_eq!(empty["status"], "InvalidCall");
    assert_eq!(out.user_message()["role"], "user");
    tool.close().await.expect("session deleted");
    pool.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn gemini_turn_answers_with_function_responses() {
    let pool = Pool::start().await;
    let tool = CodeInterpreterTool::owning(pool.client.new_session())
        .with_name("run_python")
        .unwrap();
    let response = json!({"candidates": [{"content": {"role": "model", "parts": [
        {"functionCall": {"id": "fc-1", "name": "run_python", "args": {"python_code": "import pandas as pd\nint(pd.DataFrame({'a': [1, 2]})['a'].sum())"}},
         "thoughtSignature": "CiQB"},
        {"functionCall": {"name": "run_python", "args": {"python_code": "raise ValueError('nope')"}}}
    ]}, "finishReason": "STOP"}]});
    let out = tool.handle_gemini(&response).await.expect("handled");
    assert_eq!(out.parts.len(), 2);
    let ok = &out.parts[0]["functionResponse"];
    assert_eq!(ok["id"], "fc-1");
    assert_eq!(ok["name"], "run_python");
    assert_eq!(ok["response"]["output"]["status"], "Succeeded");
    assert_eq!(ok["response"]["output"]["result"], 3);
    let failed = &out.parts[1]["functionResponse"];
    assert!(failed.get("id").is_none(), "no id is invented");
    assert_eq!(failed["response"]["error"]["status"], "Failed");
    assert_eq!(out.user_content()["role"], "user");
    tool.close().await.expect("session deleted");
    pool.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn mcp_call_returns_a_call_tool_result_and_rejects_unknown_tools() {
    let pool = Pool::start().await;
    let tool = CodeInterpreterTool::owning(pool.client.new_session());
    let request = json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call",
        "params": {"name": "code_interpreter", "arguments": {"python_code": "print(sum(range(10)))"}}});
    let result = tool.handle_mcp(&request).await.expect("handled");
    assert_eq!(result["isError"], false);
    assert_eq!(result["structuredContent"]["stdout"], "45\n");
    assert_eq!(
        parse_text(&result["content"][0]["text"]),
        result["structuredContent"]
    );
    let unknown = json!({"name": "other", "arguments": {}});
    assert!(matches!(
        tool.handle_mcp(&unknown).await,
        Err(llm_tools::ToolError::Call(_))
    ));
    tool.close().await.expect("session deleted");
    pool.stop().await;
}

#[cfg(feature = "async-openai")]
#[tokio::test(flavor = "multi_thread")]
async fn async_openai_types_in_and_out() {
    use async_openai::types::chat::{
        ChatCompletionRequestMessage, ChatCompletionResponseMessage, ChatCompletionTools,
    };
    use async_openai::types::responses::{InputItem, Item, OutputItem, Tool};

    let pool = Pool::start().await;
    let tool = CodeInterpreterTool::owning(pool.client.new_session());
    match tool.definition_chat_openai() {
        ChatCompletionTools::Function(def) => assert_eq!(def.function.strict, Some(true)),
        other => panic!("{other:?}"),
    }
    match tool.definition_responses_openai() {
        Tool::Function(def) => assert_eq!(def.strict, Some(true)),
        other => panic!("{other:?}"),
    }
    let message: ChatCompletionResponseMessage = serde_json::from_value(json!({"role": "assistant", "content": null,
        "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "code_interpreter", "arguments": "{\"python_code\":\"print(2+2)\"}"}}]}))
    .unwrap();
    let turn = tool.handle_chat_openai(&message).await;
    let ChatCompletionRequestMessage::Tool(reply) = &turn.messages[0] else {
        panic!("{turn:?}")
    };
    assert_eq!(reply.tool_call_id, "call_1");

    let output: Vec<OutputItem> = serde_json::from_value(json!([{"type": "function_call", "id": "fc_1", "call_id": "call_2",
        "name": "code_interpreter", "arguments": "{\"python_code\":\"print(3)\"}", "status": "completed"}]))
    .unwrap();
    let turn = tool.handle_responses_openai(&output).await;
    let InputItem::Item(Item::FunctionCallOutput(item)) = &turn.items[0] else {
        panic!("{turn:?}")
    };
    assert_eq!(item.call_id.as_deref(), Some("call_2"));
    tool.close().await.unwrap();
    pool.stop().await;
}
