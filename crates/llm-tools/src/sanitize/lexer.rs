//! Just enough of Python's tokenizer to tell code from string literals and comments.
//!
//! Backticks are not Python 3 syntax anywhere outside a string or a comment, so a backtick seen
//! in code proves the text is not Python as it stands (a fence, inline markdown, prose).

/// Where the scanner is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Code,
    /// In a `'…'` or `"…"` literal (the quote byte).
    Short(u8),
    /// In a `'''…'''` or `"""…"""` literal (the quote byte).
    Long(u8),
}

/// A line-by-line scan of Python source.
#[derive(Debug, Clone)]
pub(super) struct Lexer {
    state: State,
    /// A backtick was seen outside strings and comments.
    pub(super) backtick_in_code: bool,
    /// A short string ran into the end of its line, or a literal was still open at the end.
    pub(super) unterminated: bool,
}

impl Lexer {
    pub(super) fn new() -> Self {
        Lexer {
            state: State::Code,
            backtick_in_code: false,
            unterminated: false,
        }
    }

    /// Whether the scanner is outside any string literal (a line starting here starts as code).
    pub(super) fn in_code(&self) -> bool {
        self.state == State::Code
    }

    /// Scan one line, its `\n` included when present.
    pub(super) fn feed(&mut self, line: &str) {
        let bytes = line.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            let byte = bytes[i];
            match self.state {
                State::Code => match byte {
                    b'#' => return,
                    b'`' => self.backtick_in_code = true,
                    b'\'' | b'"' => {
                        if bytes[i..].starts_with(&[byte, byte, byte]) {
                            self.state = State::Long(byte);
                            i += 2;
                        } else {
                            self.state = State::Short(byte);
                        }
                    }
                    _ => {}
                },
                // A backslash escapes the next byte in every literal, raw ones included (for
                // tokenizing, `r"\""` is one string); a backslash-newline continues a short one.
                State::Short(quote) => match byte {
                    b'\\' => i += 1,
                    b'\n' => {
                        self.unterminated = true;
                        self.state = State::Code;
                    }
                    _ if byte == quote => self.state = State::Code,
                    _ => {}
                },
                State::Long(quote) => match byte {
                    b'\\' => i += 1,
                    _ if bytes[i..].starts_with(&[quote, quote, quote]) => {
                        self.state = State::Code;
                        i += 2;
                    }
                    _ => {}
                },
            }
            i += 1;
        }
    }

    /// End of the text: a literal still open is unterminated.
    pub(super) fn finish(&mut self) {
        if self.state != State::Code {
            self.unterminated = true;
            self.state = State::Code;
        }
    }
}

/// Whether `text` reads as Python as it stands: no backtick outside strings and comments, every
/// literal closed, and the first statement at column 0 (an indented start is an
/// `IndentationError`). Necessary conditions for valid Python, and what the clean-up can break.
pub(super) fn is_plain_python(text: &str) -> bool {
    let mut lexer = Lexer::new();
    let mut first_statement_seen = false;
    for line in text.split_inclusive('\n') {
        if !first_statement_seen && lexer.in_code() {
            let content = line.trim_start_matches([' ', '\t', '\x0c']);
            let blank = content.trim().is_empty() || content.starts_with('#');
            if !blank {
                if content.len() != line.len() {
                    return false;
                }
                first_statement_seen = true;
            }
        }
        lexer.feed(line);
        if lexer.backtick_in_code {
            return false;
        }
    }
    lexer.finish();
    !lexer.unterminated
}

#[cfg(test)]
mod tests {
    use super::is_plain_python;

    #[test]
    fn strings_and_comments_may_hold_backticks() {
        assert!(is_plain_python(
            "s = '''Here is md:\n```python\nprint(1)\n```\n'''\nprint(repr(s))"
        ));
        assert!(is_plain_python(
            "def f():\n    \"\"\"\n    ```\n    \"\"\"\n"
        ));
        assert!(is_plain_python("x = '`'  # a `tick`\nprint(x)"));
        assert!(is_plain_python("s = r\"\\\"`\"\nt = \"a\\\nb`\"\n"));
    }

    #[test]
    fn fences_prose_and_indented_starts_are_not() {
        assert!(!is_plain_python("```python\nprint(1)\n```"));
        assert!(!is_plain_python("`print(1)`"));
        assert!(!is_plain_python("    x = 1\n    print(x)"));
        assert!(!is_plain_python("print('open)\n"));
        assert!(!is_plain_python("s = '''never closed\n"));
    }
}
