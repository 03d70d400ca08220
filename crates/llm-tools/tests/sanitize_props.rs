//! Properties: any valid Python program runs unchanged, fenced or not, including programs whose
//! strings, docstrings and comments hold markdown fences and backticks.

use llm_tools::sanitize::sanitize_code;
use proptest::prelude::*;

fn identifier() -> impl Strategy<Value = String> {
    "[a-z_][a-z0-9_]{0,8}".prop_filter("not a keyword", |s| {
        ![
            "if", "in", "is", "or", "as", "def", "for", "and", "not", "try", "del", "pass",
        ]
        .contains(&s.as_str())
    })
}

fn simple_statement() -> impl Strategy<Value = String> {
    prop_oneof![
        (identifier(), any::<i32>()).prop_map(|(n, v)| format!("{n} = {v}")),
        identifier().prop_map(|n| format!("print({n})")),
        "[ -~&&[^\"\\\\`]]{0,20}".prop_map(|s| format!("print(\"{s}\")")),
        "[^\\x00-\\x1f]{0,20}".prop_map(|s| format!("# {s}")),
        "[a-zé中 ]{0,12}".prop_map(|s| format!("text = 'python {s}'")),
        "[a-z `#]{0,12}".prop_map(|s| format!("md = '`{s}`'  # `{s}`")),
        "[a-z `#\n]{0,30}".prop_map(|s| format!("doc = '''Here is md:\n```python\n{s}\n```\n'''")),
        "[a-z ]{0,10}".prop_map(|s| format!("raw = r\"```\\\"{s}\"")),
        Just("python_var = 1".to_owned()),
        Just("pythonic = python_var".to_owned()),
        Just(String::new()),
    ]
}

/// A statement at column 0, possibly a block with an indented body.
fn top_level() -> impl Strategy<Value = String> {
    prop_oneof![
        simple_statement(),
        (
            identifier(),
            prop::collection::vec(simple_statement(), 1..4),
            prop_oneof![Just("    "), Just("\t"), Just("  ")]
        )
            .prop_map(|(n, body, indent)| {
                // Comments and blank lines are not statements: end every body with one.
                let body: Vec<String> = body
                    .iter()
                    .filter(|s| !s.is_empty())
                    .map(|s| format!("{indent}{s}"))
                    .chain([format!("{indent}pass")])
                    .collect();
                format!("for {n} in range(3):\n{}", body.join("\n"))
            }),
        (identifier(), "[a-z `\n]{0,30}").prop_map(|(n, doc)| format!(
            "def {n}():\n    \"\"\"Usage:\n\n    ```\n    {doc}\n    ```\n    \"\"\"\n    return 1"
        )),
    ]
}

fn program() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(top_level(), 1..8),
        identifier(),
        prop_oneof![Just(""), Just("\n"), Just("\r\n"), Just("\n\n")],
    )
        .prop_map(|(lines, first, end)| format!("{first} = 0\n{}{end}", lines.join("\n")))
}

/// The generator writes valid Python: checked by compiling a sample with a real interpreter, so
/// the properties below are about valid programs and nothing else.
#[test]
fn the_generated_programs_are_valid_python() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let programs: Vec<String> = (0..200)
        .map(|_| program().new_tree(&mut runner).unwrap().current())
        .collect();
    let python = std::env::var("SESSIONS_EMULATOR_PYTHON").unwrap_or_else(|_| "python3".into());
    let checker = "import json, sys\nfor i, p in enumerate(json.load(sys.stdin)):\n    compile(p, f'<program {i}>', 'exec')\nprint('ok')";
    let mut child = std::process::Command::new(&python)
        .args(["-c", checker])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("run {python} (set SESSIONS_EMULATOR_PYTHON): {e}"));
    let input = serde_json::to_vec(&programs).unwrap();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), &input).unwrap();
    drop(child.stdin.take());
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "a generated program is not valid Python: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

proptest! {
    #[test]
    fn valid_python_without_fences_is_unchanged(code in program()) {
        let cleaned = sanitize_code(&code);
        prop_assert_eq!(cleaned.as_ref(), code.as_str());
    }

    #[test]
    fn valid_python_after_a_byte_order_mark_is_unchanged(code in program()) {
        let with_bom = format!("\u{feff}{code}");
        let cleaned = sanitize_code(&with_bom);
        prop_assert_eq!(cleaned.as_ref(), code.as_str());
    }

    #[test]
    fn a_single_fenced_block_around_valid_python_is_its_program(code in program(), lang in prop_oneof![Just("python"), Just("py"), Just("")]) {
        let body = if code.ends_with('\n') { code.clone() } else { format!("{code}\n") };
        let fenced = format!("```{lang}\n{body}```");
        let cleaned = sanitize_code(&fenced);
        prop_assert_eq!(cleaned.as_ref(), body.as_str());
    }

    #[test]
    fn fenced_python_is_recovered(code in program(), lang in prop_oneof![Just("python"), Just("py"), Just("python3"), Just("")]) {
        let body = if code.ends_with('\n') { code.clone() } else { format!("{code}\n") };
        let fenced = format!("Here is the code:\n```{lang}\n{body}```\nThat's it.");
        let cleaned = sanitize_code(&fenced);
        prop_assert_eq!(cleaned.as_ref(), body.as_str());
    }

    #[test]
    fn indented_python_is_dedented(code in program()) {
        // Dedenting cannot restore whitespace-only lines (inside strings) that were not indented.
        prop_assume!(!code.lines().any(|l| !l.is_empty() && l.trim().is_empty()));
        let indented: String = code.split_inclusive('\n').map(|l| if l.trim().is_empty() { l.to_owned() } else { format!("    {l}") }).collect();
        let cleaned = sanitize_code(&indented);
        prop_assert_eq!(cleaned.as_ref(), code.as_str());
    }

    #[test]
    fn never_panics(input in "\\PC{0,200}") {
        let _ = sanitize_code(&input);
    }
}
