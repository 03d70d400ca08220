//! The tool's name, description and JSON Schema, and its definition in each provider's format.
//!
//! Everything here is pure: no I/O, no session. The same schema is used for every provider; it
//! already satisfies OpenAI strict mode (one required property, `additionalProperties: false`).

use std::fmt;

use serde_json::{Value, json};

/// The default tool name.
pub const DEFAULT_TOOL_NAME: &str = "code_interpreter";

/// The single parameter of the tool.
pub const CODE_PARAMETER: &str = "python_code";

/// The directory where session files live.
pub const DATA_DIR: &str = "/mnt/data";

/// A tool name every provider accepts.
///
/// The rule is the intersection of OpenAI, Anthropic, Gemini and MCP:
/// `^[a-zA-Z_][a-zA-Z0-9_-]{0,63}$` (Anthropic rejects dots, Gemini rejects a leading digit or
/// dash, OpenAI caps the length at 64).
///
/// ```
/// use llm_tools::ToolName;
/// assert!(ToolName::new("run_python").is_ok());
/// assert!(ToolName::new("run.python").is_err());
/// assert!(ToolName::new("1st").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ToolName(String);

/// Why a tool name was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid tool name {name:?}: {reason}; use 1-64 characters from [a-zA-Z0-9_-], not starting with a digit or '-'"
)]
pub struct InvalidToolName {
    /// The rejected name.
    pub name: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl ToolName {
    /// Validate a name against every provider's rules.
    pub fn new(name: impl Into<String>) -> Result<Self, InvalidToolName> {
        let name = name.into();
        let reason = match name.as_bytes() {
            [] => Some("it is empty"),
            b if b.len() > 64 => Some("it is longer than 64 characters"),
            [first, ..] if !(first.is_ascii_alphabetic() || *first == b'_') => {
                Some("it must start with a letter or '_'")
            }
            b if !b
                .iter()
                .all(|c| c.is_ascii_alphanumeric() || *c == b'_' || *c == b'-') =>
            {
                Some("it contains a character outside [a-zA-Z0-9_-]")
            }
            _ => None,
        };
        match reason {
            Some(reason) => Err(InvalidToolName { name, reason }),
            None => Ok(ToolName(name)),
        }
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for ToolName {
    fn default() -> Self {
        ToolName(DEFAULT_TOOL_NAME.to_owned())
    }
}

impl fmt::Display for ToolName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for ToolName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// A file the model can use, as listed in the tool description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AvailableFile {
    /// The path relative to `/mnt/data`.
    pub name: String,
    /// The size in bytes, when known.
    pub size: Option<u64>,
}

/// Everything the description tells the model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescriptionFacts {
    /// Files already in `/mnt/data`.
    pub files: Vec<AvailableFile>,
    /// The characters of one call's output the model reads, all parts together (the tool's
    /// [`Budget`](crate::Budget) in characters).
    pub max_output_chars: usize,
    /// Whether images the code displays are shown to the model.
    pub images_shown: bool,
}

impl Default for DescriptionFacts {
    fn default() -> Self {
        DescriptionFacts {
            files: Vec::new(),
            // What a tool with default options says, so a definition built without a session
            // is the one a tool sends.
            max_output_chars: crate::Budget::default().chars(),
            images_shown: true,
        }
    }
}

/// The tool's name and description: everything a definition needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolSpec {
    /// The validated name.
    pub name: ToolName,
    /// The description sent to the model.
    pub description: String,
}

impl ToolSpec {
    /// A spec with the standard description for the given facts.
    pub fn new(name: ToolName, facts: &DescriptionFacts) -> Self {
        ToolSpec {
            name,
            description: describe(facts),
        }
    }

    /// The parameter schema (the same for every provider).
    pub fn parameters() -> Value {
        json!({
            "type": "object",
            "properties": {
                CODE_PARAMETER: {
                    "type": "string",
                    "description": "Python source to execute. Print what you need to see; the value of the last expression is returned as `result`."
                }
            },
            "required": [CODE_PARAMETER],
            "additionalProperties": false
        })
    }

    /// OpenAI Chat Completions: `{"type":"function","function":{name, description, parameters, strict}}`.
    ///
    /// ```
    /// use llm_tools::{DescriptionFacts, ToolName, ToolSpec};
    /// let spec = ToolSpec::new(ToolName::default(), &DescriptionFacts::default());
    /// let def = spec.chat(true);
    /// assert_eq!(def["function"]["strict"], true);
    /// ```
    pub fn chat(&self, strict: bool) -> Value {
        json!({
            "type": "function",
            "function": {
                "name": self.name.as_str(),
                "description": self.description,
                "parameters": Self::parameters(),
                "strict": strict
            }
        })
    }

    /// OpenAI Responses: the flat function tool, with `strict` always sent (omitting it makes the
    /// service coerce the schema to strict form).
    pub fn responses(&self, strict: bool) -> Value {
        json!({
            "type": "function",
            "name": self.name.as_str(),
            "description": self.description,
            "parameters": Self::parameters(),
            "strict": strict
        })
    }

    /// Anthropic Messages: `{name, description, input_schema}`.
    pub fn anthropic(&self) -> Value {
        json!({
            "name": self.name.as_str(),
            "description": self.description,
            "input_schema": Self::parameters()
        })
    }

    /// Gemini: one function declaration using `parametersJsonSchema` (plain JSON Schema). Put it
    /// in `tools: [{"functionDeclarations": [..]}]`.
    pub fn gemini(&self) -> Value {
        json!({
            "name": self.name.as_str(),
            "description": self.description,
            "parametersJsonSchema": Self::parameters()
        })
    }

    /// Gemini: the whole `Tool` object, `{"functionDeclarations": [..]}`.
    pub fn gemini_tool(&self) -> Value {
        json!({ "functionDeclarations": [self.gemini()] })
    }

    /// MCP: a `Tool` for `tools/list`, with hints (it runs arbitrary code, so not read-only).
    pub fn mcp(&self) -> Value {
        json!({
            "name": self.name.as_str(),
            "title": "Python code interpreter",
            "description": self.description,
            "inputSchema": Self::parameters(),
            "annotations": {
                "readOnlyHint": false,
                "destructiveHint": true,
                "idempotentHint": false,
                "openWorldHint": true
            }
        })
    }
}

/// The standard description: what the tool does and the facts the model needs to use it well.
pub fn describe(facts: &DescriptionFacts) -> String {
    use fmt::Write as _;
    let mut out = String::with_capacity(512);
    out.push_str(
        "Runs Python 3 code in a sandboxed, stateful Jupyter-style session: variables, imports and \
         files persist between calls. Common data packages (numpy, pandas, matplotlib) are usually \
         installed; internet access may be unavailable.\n",
    );
    let _ = writeln!(
        out,
        "Files live in {DATA_DIR}: read inputs from there and save every file you create there."
    );
    if facts.files.is_empty() {
        out.push_str("No files are available yet.\n");
    } else {
        out.push_str("Available files:\n");
        for file in &facts.files {
            let _ = write!(out, "- {DATA_DIR}/{}", file.name);
            if let Some(size) = file.size {
                let _ = write!(out, " ({})", human_size(size));
            }
            out.push('\n');
        }
    }
    let _ = writeln!(
        out,
        "The result is JSON with status, stdout, stderr, result (the last expression's value), \
         execution_time_ms and files_changed. Together they are cut to about {} characters \
         (beginning and end kept), so print summaries rather than whole data sets.",
        facts.max_output_chars
    );
    if facts.images_shown {
        out.push_str(
            "If the last expression is an image or a matplotlib figure, or the code saves an image \
             in /mnt/data, the image is shown to you.",
        );
    } else {
        out.push_str(
            "Images cannot be shown to you: describe plots with numbers, and save them as files.",
        );
    }
    out
}

/// A size for people: `812 B`, `1.5 KiB`, `3.2 MiB`.
pub(crate) fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_intersection_of_provider_rules() {
        for ok in [
            "a",
            "_",
            "run_python",
            "code-interpreter",
            "A1",
            &"x".repeat(64),
        ] {
            assert!(ToolName::new(ok).is_ok(), "{ok}");
        }
        for bad in ["", "1x", "-x", "a.b", "a/b", "a b", "é", &"x".repeat(65)] {
            assert!(ToolName::new(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn sizes_read_well() {
        assert_eq!(human_size(812), "812 B");
        assert_eq!(human_size(1536), "1.5 KiB");
        assert_eq!(human_size(3 * 1024 * 1024), "3.0 MiB");
    }
}
