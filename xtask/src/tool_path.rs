//! Section 6: the LLM tool path without I/O.
//!
//! One call = parse a model turn from its JSON text, find the code-interpreter call, validate its
//! arguments, turn an [`Execution`] into the tool output and format the provider's reply message
//! as JSON text. Done for an OpenAI Chat completion and for a Responses response; the figure is
//! the mean of the two medians (per call, in µs).

use std::hint::black_box;
use std::time::{Duration, Instant};

use llm_tools::providers::{chat, responses};
use llm_tools::{OutputLimits, ParseOptions, ToolOutput};
use sessions_core::{Execution, ExecutionResult, ExecutionStatus, ExecutionTimings};

use crate::bench::Params;
use crate::report::Section;
use crate::stats;

const CHAT_TURN: &str = r#"{"id":"chatcmpl-1","object":"chat.completion","created":1735000000,"model":"gpt-4o","choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[{"id":"call_abc123","type":"function","function":{"name":"code_interpreter","arguments":"{\"python_code\":\"import math\\nprint(math.sqrt(2))\\n1+1\"}"}}],"refusal":null},"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":120,"completion_tokens":30,"total_tokens":150}}"#;

const RESPONSES_TURN: &str = r#"{"id":"resp_1","object":"response","created_at":1735000000,"status":"completed","model":"gpt-4o","output":[{"type":"reasoning","id":"rs_1","summary":[]},{"type":"function_call","id":"fc_1","call_id":"call_abc123","name":"code_interpreter","arguments":"{\"python_code\":\"import math\\nprint(math.sqrt(2))\\n1+1\"}","status":"completed"}],"usage":{"input_tokens":120,"output_tokens":30,"total_tokens":150}}"#;

fn execution() -> Execution {
    Execution {
        id: "e1".into(),
        identifier: "bench-session".into(),
        status: ExecutionStatus::Succeeded,
        stdout: "1.4142135623730951\n".into(),
        stderr: String::new(),
        result: ExecutionResult::Value(serde_json::json!(2)),
        execution_time: Some(Duration::from_millis(12)),
        timings: ExecutionTimings::default(),
        images: Vec::new(),
    }
}

fn chat_once(exec: &Execution, limits: &OutputLimits, opts: &ParseOptions) -> usize {
    let turn: serde_json::Value = serde_json::from_str(CHAT_TURN).expect("chat turn");
    let found = chat::find_calls(&turn).expect("chat shape");
    let mut out = 0;
    for c in &found.calls {
        let parsed = c.call.parse("code_interpreter", opts).expect("chat call");
        black_box(&parsed.code);
        let output = ToolOutput::from_execution(exec.clone(), None, limits);
        let msg = chat::tool_message(&c.call.id, &output);
        out += serde_json::to_string(&msg).expect("serialize").len();
    }
    out
}

fn responses_once(exec: &Execution, limits: &OutputLimits, opts: &ParseOptions) -> usize {
    let turn: serde_json::Value = serde_json::from_str(RESPONSES_TURN).expect("responses turn");
    let found = responses::find_calls(&turn).expect("responses shape");
    let mut out = 0;
    for c in &found.calls {
        let parsed = c
            .call
            .parse("code_interpreter", opts)
            .expect("responses call");
        black_box(&parsed.code);
        let output = ToolOutput::from_execution(exec.clone(), None, limits);
        let item = responses::function_call_output(&c.call.id, &output);
        out += serde_json::to_string(&item).expect("serialize").len();
    }
    out
}

/// Per-call microseconds of `f`, one value per batch of `batch` calls.
fn batches(rounds: usize, batch: usize, f: &dyn Fn() -> usize) -> Vec<f64> {
    (0..rounds)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..batch {
                black_box(f());
            }
            t.elapsed().as_secs_f64() * 1e6 / batch as f64
        })
        .collect()
}

pub fn run(params: &Params) -> Section {
    let mut section = Section::new(
        "tool",
        "6. Tool path (parse a model turn, format the result)",
    )
    .expect(&[("tool_format_us", "µs", None)]);
    let (exec, limits, opts) = (
        execution(),
        OutputLimits::default(),
        ParseOptions::default(),
    );
    // Sanity: both turns yield exactly one call and a non-empty reply.
    if chat_once(&exec, &limits, &opts) == 0 || responses_once(&exec, &limits, &opts) == 0 {
        return section.failed("the sample turns produced no tool call".into());
    }
    let batch = 1000;
    let rounds = (params.tool_iterations / batch).max(4);
    let chat_fn = || chat_once(&exec, &limits, &opts);
    let resp_fn = || responses_once(&exec, &limits, &opts);
    batches(2, batch, &chat_fn);
    batches(2, batch, &resp_fn);
    let (mut c, mut r) = (Vec::new(), Vec::new());
    // Alternate the two kinds batch by batch.
    for _ in 0..rounds / 2 {
        c.extend(batches(1, batch, &chat_fn));
        r.extend(batches(1, batch, &resp_fn));
    }
    let (cm, rm) = (stats::median(&c), stats::median(&r));
    section.set(
        "tool_format_us",
        Some((cm + rm) / 2.0),
        format!(
            "mean of Chat {cm:.2} µs and Responses {rm:.2} µs (median of {} batches of {batch})",
            c.len()
        ),
    );
    section.detail("chat_us", cm);
    section.detail("responses_us", rm);
    section.detail("batch_size", batch);
    section.detail("batches_per_kind", c.len());
    section
}
