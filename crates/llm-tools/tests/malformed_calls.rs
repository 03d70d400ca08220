//! Table tests of malformed model output: every case is a result the model can read, never a panic.

use llm_tools::providers::{anthropic, chat, gemini, responses};
use llm_tools::{CallError, ParseOptions, ToolCall};
use serde_json::json;

fn parse_chat_arguments(arguments: &str) -> Result<String, CallError> {
    let call = ToolCall::from_json("call_1", "code_interpreter", arguments);
    call.parse("code_interpreter", &ParseOptions::default())
        .map(|p| p.code.into_owned())
}

#[test]
fn json_string_arguments() {
    let huge = format!("{{\"python_code\": \"{}\"}}", "x = 1\\n".repeat(200_000));
    let cases: Vec<(&str, &str, Result<&str, &str>)> = vec![
        ("valid", r#"{"python_code":"print(1)"}"#, Ok("print(1)")),
        (
            "extra fields are ignored",
            r#"{"python_code":"print(1)","explanation":"x"}"#,
            Ok("print(1)"),
        ),
        (
            "escaped unicode",
            r#"{"python_code":"print(\"caf\u00e9 \ud83d\ude00\")"}"#,
            Ok("print(\"café 😀\")"),
        ),
        (
            "double-encoded object",
            r#""{\"python_code\":\"print(2)\"}""#,
            Ok("print(2)"),
        ),
        (
            "fenced code",
            r#"{"python_code":"```python\nprint(3)\n```"}"#,
            Ok("print(3)\n"),
        ),
        (
            "truncated JSON",
            r#"{"python_code": "print(1)"#,
            Err("InvalidJson"),
        ),
        (
            "trailing garbage",
            r#"{"python_code":"print(1)"} extra"#,
            Err("InvalidJson"),
        ),
        (
            "single quotes",
            r#"{'python_code': 'print(1)'}"#,
            Err("InvalidJson"),
        ),
        (
            "lone surrogate",
            r#"{"python_code":"\ud800"}"#,
            Err("InvalidJson"),
        ),
        ("raw code instead of JSON", "print(1)", Err("InvalidJson")),
        ("array", r#"["print(1)"]"#, Err("NotAnObject")),
        ("plain string", r#""print(1)""#, Err("NotAnObject")),
        ("number", "42", Err("NotAnObject")),
        ("empty arguments", "", Err("MissingCode")),
        ("empty object", "{}", Err("MissingCode")),
        ("wrong key", r#"{"code":"print(1)"}"#, Err("MissingCode")),
        ("number code", r#"{"python_code": 5}"#, Err("WrongType")),
        ("null code", r#"{"python_code": null}"#, Err("WrongType")),
        (
            "list code",
            r#"{"python_code": ["print(1)"]}"#,
            Err("WrongType"),
        ),
        ("empty code", r#"{"python_code": ""}"#, Err("EmptyCode")),
        (
            "whitespace code",
            r#"{"python_code": "  \n\t"}"#,
            Err("EmptyCode"),
        ),
        (
            "only a fence",
            r#"{"python_code": "```python\n```"}"#,
            Err("EmptyCode"),
        ),
        ("huge code", huge.as_str(), Err("CodeTooLarge")),
    ];
    for (name, arguments, expected) in cases {
        let got = parse_chat_arguments(arguments);
        match (expected, &got) {
            (Ok(code), Ok(parsed)) => assert_eq!(parsed, code, "{name}"),
            (Err(kind), Err(error)) => {
                assert!(format!("{error:?}").starts_with(kind), "{name}: {error:?}");
                assert!(!error.to_string().is_empty());
            }
            _ => panic!("{name}: expected {expected:?}, got {got:?}"),
        }
    }
}

#[test]
fn value_arguments() {
    let parse = |input: serde_json::Value| {
        let call = ToolCall::from_value("toolu_1", "code_interpreter", input);
        call.parse("code_interpreter", &ParseOptions::default())
            .map(|p| p.code.into_owned())
    };
    assert_eq!(
        parse(json!({"python_code": "print(1)"})).unwrap(),
        "print(1)"
    );
    assert!(matches!(
        parse(json!("not an object")),
        Err(CallError::NotAnObject { .. })
    ));
    assert!(matches!(
        parse(json!({"python_code": true})),
        Err(CallError::WrongType { found: "a boolean" })
    ));
    assert!(matches!(
        parse(json!({})),
        Err(CallError::MissingCode { .. })
    ));
}

#[test]
fn unknown_tool_names_are_reported() {
    let call = ToolCall::from_json("c", "Code_Interpreter", r#"{"python_code":"1"}"#);
    let err = call
        .parse("code_interpreter", &ParseOptions::default())
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "there is no tool named \"Code_Interpreter\"; to run Python call \"code_interpreter\""
    );
}

#[test]
fn sanitizing_can_be_turned_off() {
    let call = ToolCall::from_json("c", "t", r#"{"python_code":"```python\nprint(1)\n```"}"#);
    let options = ParseOptions {
        sanitize: false,
        ..ParseOptions::default()
    };
    assert_eq!(
        call.parse("t", &options).unwrap().code,
        "```python\nprint(1)\n```"
    );
}

#[test]
fn provider_shapes_that_are_odd_but_legal() {
    // Chat: custom tool calls and calls without a type are handled; a completion without calls is empty.
    let message = json!({"role": "assistant", "tool_calls": [
        {"id": "a", "type": "custom", "custom": {"name": "grammar", "input": "x"}},
        {"id": "b", "function": {"name": "code_interpreter", "arguments": "{\"python_code\":\"1\"}"}},
        {"id": "c", "type": "function", "function": {"name": "code_interpreter"}}
    ]});
    let found = chat::find_calls(&message).unwrap();
    assert_eq!(found.other.len(), 1);
    assert_eq!(found.calls.len(), 2);
    assert!(matches!(
        found.calls[1].call.arguments,
        llm_tools::Arguments::Missing
    ));
    assert!(
        chat::find_calls(&json!({"choices": []}))
            .unwrap()
            .calls
            .is_empty()
    );
    assert!(
        chat::find_calls(
            &json!({"choices": [{"message": {"role": "assistant", "content": "hi"}}]})
        )
        .unwrap()
        .calls
        .is_empty()
    );

    // Responses: output may be null; hosted calls are skipped; custom tool calls are handed back.
    assert!(
        responses::find_calls(&json!({"output": null}))
            .unwrap()
            .calls
            .is_empty()
    );
    let items = json!([{"type": "code_interpreter_call", "id": "ci"}, {"type": "custom_tool_call", "call_id": "x", "name": "n", "input": "i"}]);
    let found = responses::find_calls(&items).unwrap();
    assert_eq!((found.calls.len(), found.other.len()), (0, 1));

    // Anthropic: a string content has no calls; server tool use needs no answer.
    assert!(
        anthropic::find_calls(&json!({"role": "assistant", "content": "hello"}))
            .unwrap()
            .calls
            .is_empty()
    );
    assert!(
        anthropic::find_calls(
            &json!([{"type": "server_tool_use", "id": "s", "name": "code_execution", "input": {}}])
        )
        .unwrap()
        .calls
        .is_empty()
    );

    // Gemini: a call without args is a missing-code call, not a crash.
    let content = json!({"parts": [{"functionCall": {"name": "code_interpreter"}}]});
    let found = gemini::find_calls(&content).unwrap();
    let err = found.calls[0]
        .call
        .parse("code_interpreter", &ParseOptions::default())
        .unwrap_err();
    assert!(matches!(err, CallError::MissingCode { .. }));
}

#[test]
fn unrecognised_shapes_are_typed_errors() {
    for value in [json!(null), json!(3), json!({"foo": 1})] {
        assert!(chat::find_calls(&value).is_err());
        assert!(responses::find_calls(&value).is_err());
        assert!(anthropic::find_calls(&value).is_err());
        assert!(gemini::find_calls(&value).is_err());
    }
}
