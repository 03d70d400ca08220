//! Clean-up of the code a model sends: markdown fences, prose around them, a stray `python` line,
//! and uniform indentation.
//!
//! Text that is Python as it stands runs exactly as sent: clean-up starts only when the text
//! cannot be Python (a backtick outside strings and comments, an indented first statement, an
//! unclosed literal). Fences inside string literals and docstrings are code, not markdown. Peers strip a `python` *prefix* (turning `python_var` into `_var`) and
//! the first line's indentation; this module does neither.

mod lexer;

use std::borrow::Cow;

use lexer::Lexer;

/// Clean up model-written code. Returns the input borrowed when nothing changed.
///
/// - A leading byte-order mark is dropped (Python rejects U+FEFF in source text).
/// - Text that is Python as it stands is returned unchanged; only otherwise:
/// - A fenced block (```` ```python ````, ```` ```py ````, ```` ```python3 ````, or a bare fence) is
///   extracted, dropping prose before and after it; several Python blocks are joined in order.
///   Blocks in another language (```` ```bash ````) are ignored.
/// - A stray closing fence at the end is dropped.
/// - A first line that is exactly `python` (a leftover fence language) is dropped.
/// - Code wrapped in single backticks on one line is unwrapped.
/// - A uniformly indented block is dedented; indentation is never stripped otherwise.
///
/// ```
/// use llm_tools::sanitize::sanitize_code;
/// assert_eq!(sanitize_code("Here you go:\n```python\nprint(1)\n```\nDone."), "print(1)\n");
/// assert_eq!(sanitize_code("python_var = 1"), "python_var = 1");
/// assert_eq!(sanitize_code("    x = 1\n    print(x)"), "x = 1\nprint(x)");
/// // Fences inside a string are the program's own text.
/// let program = "s = '''md:\n```python\nprint(1)\n```\n'''\nprint(repr(s))";
/// assert_eq!(sanitize_code(program), program);
/// ```
pub fn sanitize_code(code: &str) -> Cow<'_, str> {
    let code = code.strip_prefix('\u{feff}').unwrap_or(code);
    if lexer::is_plain_python(code) {
        return Cow::Borrowed(code);
    }
    // Uniformly indented Python (strings holding fence lines included) only needs its margin.
    if let Cow::Owned(dedented) = dedent(code)
        && lexer::is_plain_python(&dedented)
    {
        return Cow::Owned(dedented);
    }
    let code = extract_fenced(code);
    let code = then(code, strip_python_line);
    let code = then(code, unwrap_inline_backticks);
    then(code, dedent)
}

/// Apply a step to a `Cow`, keeping it borrowed from the original input when possible.
fn then<'a>(current: Cow<'a, str>, step: impl for<'b> Fn(&'b str) -> Cow<'b, str>) -> Cow<'a, str> {
    match current {
        Cow::Borrowed(s) => step(s),
        Cow::Owned(s) => match step(&s) {
            Cow::Borrowed(b) if b.len() == s.len() => Cow::Owned(s),
            Cow::Borrowed(b) => Cow::Owned(b.to_owned()),
            Cow::Owned(o) => Cow::Owned(o),
        },
    }
}

fn is_python_language(info: &str) -> bool {
    let lang = info.split_whitespace().next().unwrap_or("");
    ["", "python", "py", "python3", "py3", "ipython", "ipython3"]
        .iter()
        .any(|l| lang.eq_ignore_ascii_case(l))
}

fn is_closing_fence(trimmed: &str) -> bool {
    trimmed.len() >= 3 && trimmed.bytes().all(|b| b == b'`')
}

/// Extract fenced Python blocks; see [`sanitize_code`].
fn extract_fenced(text: &str) -> Cow<'_, str> {
    if !text.contains("```") {
        return Cow::Borrowed(text);
    }
    let mut blocks: Vec<&str> = Vec::new();
    // (content start, is a Python block, everything before the opener is blank, its strings)
    let mut open: Option<(usize, bool, bool, Lexer)> = None;
    let mut pos = 0;
    for line in text.split_inclusive('\n') {
        let start = pos;
        pos += line.len();
        let trimmed = line.trim();
        match open {
            None => {
                if let Some(rest) = trimmed.strip_prefix("```") {
                    let info = rest.trim_start_matches('`');
                    let at_start = text[..start].trim().is_empty();
                    open = Some((pos, is_python_language(info), at_start, Lexer::new()));
                }
            }
            Some((content_start, wanted, _, ref mut lexer)) => {
                // A fence line inside a Python string literal (a docstring) is code.
                if lexer.in_code() && is_closing_fence(trimmed) {
                    if wanted {
                        blocks.push(&text[content_start..start]);
                    }
                    open = None;
                } else if wanted {
                    lexer.feed(line);
                }
            }
        }
    }
    // An unclosed fence counts only when it opened the text (a truncated answer); otherwise it is
    // more likely a stray closing fence after plain code.
    if let Some((content_start, true, true, _)) = open {
        blocks.push(&text[content_start..]);
    }
    match blocks.as_slice() {
        [] => strip_trailing_fence(text),
        [one] => Cow::Borrowed(one),
        many => {
            let mut joined = String::with_capacity(many.iter().map(|b| b.len() + 1).sum());
            for block in many {
                joined.push_str(block);
                if !block.ends_with('\n') {
                    joined.push('\n');
                }
            }
            Cow::Owned(joined)
        }
    }
}

/// Drop a lone closing fence on the last non-blank line.
fn strip_trailing_fence(text: &str) -> Cow<'_, str> {
    let body = text.trim_end();
    match body.rfind('\n') {
        Some(i) if is_closing_fence(body[i + 1..].trim()) => Cow::Borrowed(&text[..i + 1]),
        None if is_closing_fence(body.trim()) => Cow::Borrowed(""),
        _ => Cow::Borrowed(text),
    }
}

/// Drop a first non-blank line that is exactly `python` or `python3` (any case).
fn strip_python_line(text: &str) -> Cow<'_, str> {
    let mut pos = 0;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim();
        pos += line.len();
        if trimmed.is_empty() {
            continue;
        }
        if trimmed.eq_ignore_ascii_case("python") || trimmed.eq_ignore_ascii_case("python3") {
            return Cow::Borrowed(&text[pos..]);
        }
        break;
    }
    Cow::Borrowed(text)
}

/// `` `print(1)` `` on a single line becomes `print(1)`. Python never starts with a backtick.
fn unwrap_inline_backticks(text: &str) -> Cow<'_, str> {
    let trimmed = text.trim();
    match trimmed.strip_prefix('`').and_then(|t| t.strip_suffix('`')) {
        Some(inner) if !inner.contains('`') && !inner.contains('\n') => Cow::Borrowed(inner),
        _ => Cow::Borrowed(text),
    }
}

/// Remove the indentation common to every code line (comment and blank lines do not count).
fn dedent(text: &str) -> Cow<'_, str> {
    let mut margin: Option<&str> = None;
    for line in text.lines() {
        let content = line.trim_start_matches([' ', '\t']);
        if content.trim().is_empty() || content.starts_with('#') {
            continue;
        }
        let indent = &line[..line.len() - content.len()];
        let next = match margin {
            None => indent,
            Some(m) => &m[..common_prefix_len(m, indent)],
        };
        if next.is_empty() {
            return Cow::Borrowed(text);
        }
        margin = Some(next);
    }
    let Some(margin) = margin else {
        return Cow::Borrowed(text);
    };
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let cut = common_prefix_len(margin, line);
        out.push_str(&line[cut..]);
    }
    Cow::Owned(out)
}

fn common_prefix_len(a: &str, b: &str) -> usize {
    // Indentation is ASCII (space and tab), so byte positions are char boundaries.
    a.bytes()
        .zip(b.bytes())
        .take_while(|(x, y)| x == y && (*x == b' ' || *x == b'\t'))
        .count()
}

#[cfg(test)]
mod tests {
    use super::sanitize_code;

    fn check(input: &str, expected: &str) {
        assert_eq!(sanitize_code(input), expected, "input: {input:?}");
    }

    #[test]
    fn fences_of_every_flavour_are_removed() {
        check("```python\nprint(1)\n```", "print(1)\n");
        check("```py\nprint(1)\n```", "print(1)\n");
        check("```python3\nprint(1)\n```", "print(1)\n");
        check("```Python\nprint(1)\n```", "print(1)\n");
        check("```\nprint(1)\n```", "print(1)\n");
        check("  ```python\n  print(1)\n  ```  \n", "print(1)\n");
        check("````python\nprint(1)\n````", "print(1)\n");
    }

    #[test]
    fn prose_around_a_block_is_dropped() {
        check(
            "Sure! Here is the code:\n\n```python\nx = 2\nprint(x)\n```\n\nIt prints 2.",
            "x = 2\nprint(x)\n",
        );
    }

    #[test]
    fn other_languages_are_skipped_and_python_blocks_joined() {
        check(
            "Install:\n```bash\npip install x\n```\nThen:\n```python\na = 1\n```\nand\n```py\nprint(a)\n```",
            "a = 1\nprint(a)\n",
        );
    }

    #[test]
    fn unclosed_leading_fence_keeps_the_rest() {
        check("```python\nprint(1)\n", "print(1)\n");
    }

    #[test]
    fn stray_trailing_fence_is_dropped() {
        check("print(1)\n```", "print(1)\n");
        check("print(1)\n```\n", "print(1)\n");
    }

    #[test]
    fn python_word_only_on_its_own_line() {
        check("python\nprint(1)\n```", "print(1)\n");
        // Valid as it stands (a NameError at most): run as sent.
        check("python\nprint(1)", "python\nprint(1)");
        check("python_var = 1", "python_var = 1");
        check("pythonic = 2", "pythonic = 2");
        check("python = 3\nprint(python)", "python = 3\nprint(python)");
    }

    #[test]
    fn uniform_indentation_is_dedented_not_stripped() {
        check(
            "    x = 1\n    if x:\n        print(x)\n",
            "x = 1\nif x:\n    print(x)\n",
        );
        check(
            "for i in range(2):\n    print(i)",
            "for i in range(2):\n    print(i)",
        );
        check("\t\ta = 1\n\n\t\tb = 2", "a = 1\n\nb = 2");
        check("    # note\n  x = 1\n  y = 2", "  # note\nx = 1\ny = 2");
    }

    #[test]
    fn valid_python_holding_fences_runs_as_sent() {
        let program = "s = '''Here is md:\n```python\nprint(1)\n```\n'''\nprint(repr(s))";
        check(program, program);
        let docstring =
            "def f():\n    \"\"\"Usage:\n    ```\n    f()\n    ```\n    \"\"\"\n    return 1\n";
        check(docstring, docstring);
        // Fenced, the docstring's own fence does not close the block.
        check(&format!("```python\n{docstring}```\n"), docstring);
    }

    #[test]
    fn a_byte_order_mark_is_dropped() {
        check("\u{feff}print(1)\n", "print(1)\n");
        check("\u{feff}```python\nprint(1)\n```", "print(1)\n");
    }

    #[test]
    fn inline_backticks_are_unwrapped() {
        check("`print(1)`", "print(1)");
        check("x = '`'", "x = '`'");
    }

    #[test]
    fn unchanged_input_is_borrowed() {
        assert!(matches!(
            sanitize_code("print(1)\n"),
            std::borrow::Cow::Borrowed(_)
        ));
    }
}
