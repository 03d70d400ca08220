//! Property: valid Python without fences passes the clean-up unchanged.

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
        "[^\\n`\"\\\\]{0,20}".prop_map(|s| format!("# {s}")),
        "[a-zé中 ]{0,12}".prop_map(|s| format!("text = 'python {s}'")),
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
                let body: Vec<String> = body
                    .iter()
                    .map(|s| {
                        if s.is_empty() {
                            "pass".to_owned()
                        } else {
                            format!("{indent}{s}")
                        }
                    })
                    .collect();
                let body: Vec<String> = body
                    .into_iter()
                    .map(|s| {
                        if s == "pass" {
                            format!("{indent}pass")
                        } else {
                            s
                        }
                    })
                    .collect();
                format!("for {n} in range(3):\n{}", body.join("\n"))
            }),
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

proptest! {
    #[test]
    fn valid_python_without_fences_is_unchanged(code in program()) {
        let cleaned = sanitize_code(&code);
        prop_assert_eq!(cleaned.as_ref(), code.as_str());
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
        let indented: String = code.split_inclusive('\n').map(|l| if l.trim().is_empty() { l.to_owned() } else { format!("    {l}") }).collect();
        let cleaned = sanitize_code(&indented);
        prop_assert_eq!(cleaned.as_ref(), code.as_str());
    }

    #[test]
    fn never_panics(input in "\\PC{0,200}") {
        let _ = sanitize_code(&input);
    }
}
