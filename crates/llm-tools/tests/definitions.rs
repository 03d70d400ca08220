//! Snapshots of every tool definition and hosted-tool rendering.

use llm_tools::hosted::{FileInput, HostedCodeInterpreterTool};
use llm_tools::{AvailableFile, DescriptionFacts, ToolName, ToolSpec};

fn spec() -> ToolSpec {
    let facts = DescriptionFacts {
        files: vec![
            AvailableFile {
                name: "sales.csv".into(),
                size: Some(48_213),
            },
            AvailableFile {
                name: "notes/readme.txt".into(),
                size: Some(812),
            },
        ],
        ..DescriptionFacts::default()
    };
    ToolSpec::new(ToolName::default(), &facts)
}

#[test]
fn openai_chat() {
    insta::assert_json_snapshot!(spec().chat(true));
}

#[test]
fn openai_responses_sends_strict_even_when_false() {
    let def = spec().responses(false);
    assert_eq!(def["strict"], false);
    insta::assert_json_snapshot!(spec().responses(true));
}

#[test]
fn anthropic() {
    insta::assert_json_snapshot!(spec().anthropic());
}

#[test]
fn gemini() {
    insta::assert_json_snapshot!(spec().gemini_tool());
}

#[test]
fn mcp() {
    insta::assert_json_snapshot!(spec().mcp());
}

#[test]
fn description_without_files() {
    insta::assert_snapshot!(
        ToolSpec::new(ToolName::default(), &DescriptionFacts::default()).description
    );
}

#[test]
fn every_definition_uses_the_same_strict_schema() {
    let spec = spec();
    let schema = ToolSpec::parameters();
    assert_eq!(spec.chat(true)["function"]["parameters"], schema);
    assert_eq!(spec.responses(true)["parameters"], schema);
    assert_eq!(spec.anthropic()["input_schema"], schema);
    assert_eq!(spec.gemini()["parametersJsonSchema"], schema);
    assert_eq!(spec.mcp()["inputSchema"], schema);
    assert_eq!(schema["additionalProperties"], false);
    assert_eq!(schema["required"], serde_json::json!(["python_code"]));
}

fn hosted() -> HostedCodeInterpreterTool {
    HostedCodeInterpreterTool::new(vec![
        FileInput::hosted("file-abc"),
        FileInput::hosted("file-def"),
    ])
}

#[test]
fn hosted_openai_responses() {
    insta::assert_json_snapshot!(hosted().openai_responses().unwrap().tool);
    let empty = HostedCodeInterpreterTool::default()
        .openai_responses()
        .unwrap();
    assert_eq!(
        empty.tool,
        serde_json::json!({"type": "code_interpreter", "container": {"type": "auto"}})
    );
}

#[test]
fn hosted_openai_assistants() {
    let rendered = hosted().openai_assistants().unwrap();
    insta::assert_json_snapshot!(
        serde_json::json!({"tools": rendered.tools, "tool_resources": rendered.tool_resources})
    );
}

#[test]
fn hosted_anthropic() {
    let rendered = hosted().anthropic().unwrap();
    insta::assert_json_snapshot!(
        serde_json::json!({"tool": rendered.tool, "content": rendered.content_blocks})
    );
}

#[test]
fn hosted_inputs_that_do_not_map_are_errors_or_reported_drops() {
    let inputs = vec![
        FileInput::hosted("file-abc"),
        FileInput::url("https://example.com/data.csv?sig=secret").unwrap(),
        FileInput::data(&b"1,2"[..], "text/csv").named("d.csv"),
    ];
    let strict = HostedCodeInterpreterTool::new(inputs.clone());
    let err = strict.openai_responses().unwrap_err();
    assert_eq!(err.index, 1);
    assert!(!err.to_string().contains("secret"), "{err}");
    insta::assert_snapshot!(err.to_string());
    assert!(strict.anthropic().is_err() && strict.openai_assistants().is_err());

    let lossy = HostedCodeInterpreterTool::new(inputs)
        .lossy(true)
        .anthropic()
        .unwrap();
    assert_eq!(lossy.content_blocks.len(), 1);
    let dropped: Vec<_> = lossy
        .dropped
        .iter()
        .map(|d| (d.index, d.description.as_str()))
        .collect();
    assert_eq!(
        dropped,
        [
            (1, "url https://example.com/data.csv"),
            (2, "data d.csv (text/csv, 3 bytes)")
        ]
    );
}
