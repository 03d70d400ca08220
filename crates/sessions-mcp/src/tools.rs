//! The tools' definitions (names and arguments are fixed) and their argument parsing.

use rmcp::model::{JsonObject, Tool};
use serde_json::{Value, json};

/// The tool names.
pub mod names {
    /// Run Python (Python pools).
    pub const CODE_INTERPRETER: &str = "code_interpreter";
    /// Run a shell command (shell pools).
    pub const RUN_SHELL: &str = "run_shell";
    /// Upload a file.
    pub const UPLOAD_FILE: &str = "upload_file";
    /// List files.
    pub const LIST_FILES: &str = "list_files";
    /// Download a file.
    pub const DOWNLOAD_FILE: &str = "download_file";
    /// Delete a file.
    pub const DELETE_FILE: &str = "delete_file";
    /// Start over with a new, empty session.
    pub const RESET_SESSION: &str = "reset_session";
}

/// A bad argument: the text of the tool error, naming the argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgError(pub String);

/// The arguments of one call.
pub struct Args<'a>(Option<&'a JsonObject>);

impl<'a> Args<'a> {
    /// Wrap a call's arguments.
    pub fn new(arguments: Option<&'a JsonObject>) -> Self {
        Args(arguments)
    }

    fn get(&self, name: &str) -> Option<&'a Value> {
        self.0.and_then(|m| m.get(name)).filter(|v| !v.is_null())
    }

    /// A required string.
    pub fn string(&self, name: &str) -> Result<&'a str, ArgError> {
        self.opt_string(name)?.ok_or_else(|| {
            ArgError(format!(
                "missing argument `{name}`: pass it as a string, e.g. {{\"{name}\": \"...\"}}"
            ))
        })
    }

    /// An optional string.
    pub fn opt_string(&self, name: &str) -> Result<Option<&'a str>, ArgError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(ArgError(format!(
                "argument `{name}` must be a string, not {}",
                kind(other)
            ))),
        }
    }

    /// An optional boolean.
    pub fn opt_bool(&self, name: &str) -> Result<Option<bool>, ArgError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(other) => Err(ArgError(format!(
                "argument `{name}` must be true or false, not {}",
                kind(other)
            ))),
        }
    }

    /// Refuse arguments the tool does not take (a typo would otherwise be silently ignored).
    pub fn only(&self, allowed: &[&str]) -> Result<(), ArgError> {
        let Some(map) = self.0 else { return Ok(()) };
        match map.keys().find(|k| !allowed.contains(&k.as_str())) {
            None => Ok(()),
            Some(k) if allowed.is_empty() => Err(ArgError(format!(
                "unknown argument `{k}`: this tool takes no arguments"
            ))),
            Some(k) => Err(ArgError(format!(
                "unknown argument `{k}`: this tool takes {}",
                allowed
                    .iter()
                    .map(|a| format!("`{a}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Which kind of pool the server fronts: it decides between `code_interpreter` and `run_shell`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PoolKind {
    /// A Python code-interpreter pool.
    #[default]
    Python,
    /// A shell pool.
    Shell,
}

/// The tools for a pool kind, in the order `tools/list` shows them.
pub fn definitions(kind: PoolKind) -> Vec<Tool> {
    let first = match kind {
        PoolKind::Python => code_interpreter(),
        PoolKind::Shell => tool(
            names::RUN_SHELL,
            "Run a shell command",
            "Runs a shell command in a sandboxed, stateful session; files in /mnt/data persist \
             between calls. Returns stdout, stderr and the exit code.",
            json!({
                "command": {"type": "string", "description": "The command line."},
                "stdin": {"type": "string", "description": "Text fed to the command's standard input."}
            }),
            &["command"],
            false,
        ),
    };
    let path = json!({"type": "string", "description": "A directory under /mnt/data (default: /mnt/data itself)."});
    vec![
        first,
        tool(
            names::UPLOAD_FILE,
            "Upload a file",
            "Writes a file into the session's /mnt/data. Give exactly one of `content` (text) or \
             `content_base64` (bytes).",
            json!({
                "name": {"type": "string", "description": "The file name."},
                "content": {"type": "string", "description": "The file's text."},
                "content_base64": {"type": "string", "description": "The file's bytes, base64-encoded."},
                "path": path
            }),
            &["name"],
            false,
        ),
        tool(
            names::LIST_FILES,
            "List files",
            "Lists the files in the session's /mnt/data.",
            json!({
                "path": path,
                "recursive": {"type": "boolean", "description": "Include subdirectories."}
            }),
            &[],
            true,
        ),
        tool(
            names::DOWNLOAD_FILE,
            "Download a file",
            "Reads a file from the session's /mnt/data: text as text, images as images, other \
             bytes as an embedded resource.",
            json!({"name": {"type": "string", "description": "The file name (may include a directory)."}, "path": path}),
            &["name"],
            true,
        ),
        tool(
            names::DELETE_FILE,
            "Delete a file",
            "Deletes a file from the session's /mnt/data.",
            json!({"name": {"type": "string", "description": "The file name."}, "path": path}),
            &["name"],
            false,
        ),
        tool(
            names::RESET_SESSION,
            "Reset the session",
            "Deletes the session (variables, imports and files) and starts over with an empty one.",
            json!({}),
            &[],
            false,
        ),
    ]
}

/// `code_interpreter`: exactly what `dynsess tool-definition --format mcp` prints.
fn code_interpreter() -> Tool {
    let spec = llm_tools::ToolSpec::new(
        llm_tools::ToolName::default(),
        &llm_tools::DescriptionFacts::default(),
    );
    serde_json::from_value(spec.mcp()).expect("llm-tools' MCP definition is a valid Tool")
}

fn tool(
    name: &str,
    title: &str,
    description: &str,
    properties: Value,
    required: &[&str],
    read_only: bool,
) -> Tool {
    serde_json::from_value(json!({
        "name": name,
        "title": title,
        "description": description,
        "inputSchema": {
            "type": "object",
            "properties": properties,
            "required": required,
            "additionalProperties": false
        },
        "annotations": {
            "readOnlyHint": read_only,
            "destructiveHint": !read_only,
            "idempotentHint": read_only,
            "openWorldHint": false
        }
    }))
    .expect("a static tool definition is a valid Tool")
}

/// Join a directory under /mnt/data and a file name, as the pool's file routes take it.
pub fn join_path(path: Option<&str>, name: &str) -> String {
    match path.map(|p| p.trim_matches('/')).filter(|p| !p.is_empty()) {
        Some(dir) => format!("{dir}/{name}"),
        None => name.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(v: Value) -> JsonObject {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn errors_name_the_argument() {
        let m = obj(json!({"name": 3, "recursive": "yes"}));
        let a = Args::new(Some(&m));
        assert!(a.string("name").unwrap_err().0.contains("`name`"));
        assert!(
            a.string("other")
                .unwrap_err()
                .0
                .contains("missing argument `other`")
        );
        assert!(
            a.opt_bool("recursive")
                .unwrap_err()
                .0
                .contains("`recursive`")
        );
        assert!(a.only(&["name"]).unwrap_err().0.contains("`recursive`"));
        assert!(Args::new(None).string("python_code").is_err());
    }

    #[test]
    fn the_code_interpreter_is_the_llm_tools_definition() {
        let tools = definitions(PoolKind::Python);
        let spec = llm_tools::ToolSpec::new(
            llm_tools::ToolName::default(),
            &llm_tools::DescriptionFacts::default(),
        );
        assert_eq!(serde_json::to_value(&tools[0]).unwrap(), spec.mcp());
        let names: Vec<_> = tools.iter().map(|t| t.name.to_string()).collect();
        assert_eq!(
            names,
            [
                "code_interpreter",
                "upload_file",
                "list_files",
                "download_file",
                "delete_file",
                "reset_session"
            ]
        );
        assert_eq!(definitions(PoolKind::Shell)[0].name, "run_shell");
    }

    #[test]
    fn paths_join_under_mnt_data() {
        assert_eq!(join_path(None, "a.txt"), "a.txt");
        assert_eq!(join_path(Some("/out/"), "a.txt"), "out/a.txt");
        assert_eq!(join_path(Some(""), "a.txt"), "a.txt");
    }
}
