//! Snapshots of formatted results for every provider, built from `Execution` values (no server).

use std::time::Duration;

use llm_tools::providers::{anthropic, chat, gemini, mcp, responses};
use llm_tools::{CallError, ChangedFile, FileChange, OutputLimits, ToolOutput};
use serde_json::{Value, json};
use sessions_core::{Execution, ExecutionResult, ExecutionStatus, ExecutionTimings, Image};

fn execution(
    status: ExecutionStatus,
    stdout: &str,
    stderr: &str,
    result: ExecutionResult,
) -> Execution {
    Execution {
        id: "exec-1".into(),
        identifier: "session-1".into(),
        status,
        stdout: stdout.into(),
        stderr: stderr.into(),
        result,
        execution_time: Some(Duration::from_millis(37)),
        timings: ExecutionTimings::default(),
        images: Vec::new(),
    }
}

fn success() -> ToolOutput {
    let files = vec![ChangedFile {
        name: "out/summary.csv".into(),
        size: Some(120),
        change: FileChange::Created,
        renamed_from: None,
    }];
    ToolOutput::from_execution(
        execution(
            ExecutionStatus::Succeeded,
            "total: 42\n",
            "",
            ExecutionResult::Value(json!(42)),
        ),
        Some(files),
        &OutputLimits::default(),
    )
}

fn failure() -> ToolOutput {
    let traceback = "Traceback (most recent call last):\n  File \"<stdin>\", line 1, in <module>\nZeroDivisionError: division by zero\n";
    ToolOutput::from_execution(
        execution(
            ExecutionStatus::Failed,
            "",
            traceback,
            ExecutionResult::Value(Value::Null),
        ),
        Some(vec![]),
        &OutputLimits::default(),
    )
}

fn image() -> ToolOutput {
    let image = Image { format: "png".into(), base64_data: "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGBgAAAABQABh6FO1AAAAABJRU5ErkJggg==".into() };
    ToolOutput::from_execution(
        execution(
            ExecutionStatus::Succeeded,
            "",
            "",
            ExecutionResult::Image(image),
        ),
        None,
        &OutputLimits::default(),
    )
}

fn truncated() -> ToolOutput {
    let stdout: String = (0..400).map(|i| format!("row {i}\n")).collect();
    ToolOutput::from_execution(
        execution(
            ExecutionStatus::Succeeded,
            &stdout,
            "",
            ExecutionResult::Value(json!("")),
        ),
        None,
        &OutputLimits {
            // 80 characters of output once the 200 of keys and status are set aside.
            budget: llm_tools::Budget::Chars(280),
            ..OutputLimits::default()
        },
    )
}

fn invalid() -> ToolOutput {
    ToolOutput::invalid_call(&CallError::MissingCode {
        keys: vec!["code".into()],
    })
}

fn service_error() -> ToolOutput {
    ToolOutput::service_error(&sessions_core::Error::Timeout {
        kind: sessions_core::TimeoutKind::Overall,
        after: None,
    })
}

fn cases() -> Vec<(&'static str, ToolOutput)> {
    vec![
        ("success", success()),
        ("failure", failure()),
        ("image", image()),
        ("truncated", truncated()),
        ("invalid", invalid()),
        ("service_error", service_error()),
    ]
}

#[test]
fn chat_tool_messages() {
    for (name, output) in cases() {
        insta::assert_json_snapshot!(
            format!("chat_{name}"),
            chat::tool_message("call_1", &output)
        );
    }
    insta::assert_json_snapshot!("chat_image_message", chat::image_message(&image().images));
}

#[test]
fn responses_function_call_outputs() {
    for (name, output) in cases() {
        insta::assert_json_snapshot!(
            format!("responses_{name}"),
            responses::function_call_output("call_1", &output)
        );
    }
}

#[test]
fn anthropic_tool_results() {
    for (name, output) in cases() {
        insta::assert_json_snapshot!(
            format!("anthropic_{name}"),
            anthropic::tool_result("toolu_1", &output)
        );
    }
}

#[test]
fn gemini_function_responses() {
    for (name, output) in cases() {
        insta::assert_json_snapshot!(
            format!("gemini_{name}"),
            gemini::function_response("fc-1", "code_interpreter", &output)
        );
    }
}

#[test]
fn mcp_call_tool_results() {
    for (name, output) in cases() {
        insta::assert_json_snapshot!(format!("mcp_{name}"), mcp::call_tool_result(&output));
    }
}

#[test]
fn base64_never_lands_in_the_text() {
    let output = image();
    let data = &output.images[0].base64_data;
    for text in [
        chat::tool_message("c", &output)["content"]
            .as_str()
            .unwrap()
            .to_owned(),
        responses::function_call_output("c", &output)["output"][0]["text"]
            .as_str()
            .unwrap()
            .to_owned(),
        anthropic::tool_result("c", &output)["content"][0]["text"]
            .as_str()
            .unwrap()
            .to_owned(),
        gemini::function_response("c", "n", &output)["functionResponse"]["response"].to_string(),
        mcp::call_tool_result(&output)["content"][0]["text"]
            .as_str()
            .unwrap()
            .to_owned(),
    ] {
        assert!(!text.contains(data.as_str()), "{text}");
    }
}
