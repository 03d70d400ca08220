//! The command-line interface: clap types only, no behaviour.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
pub use dynamic_sessions::emulator::ServeArgs;

/// Run code and move files in Azure Container Apps dynamic sessions, or in a local pool.
#[derive(Debug, Parser)]
#[command(
    name = "dynsess",
    version,
    about,
    long_about = None,
    propagate_version = true,
    after_help = "The endpoint comes from --endpoint or POOL_MANAGEMENT_ENDPOINT, the session from \
                  --session or DYNSESS_SESSION (else a new UUID), the token from --token, \
                  DYNSESS_TOKEN or the default Azure credential chain (a loopback endpoint needs \
                  none). Errors print one line on stderr and exit 1; usage errors exit 2. Under \
                  --json, an error is one JSON object on stderr: \
                  {\"error\":{\"code\",\"message\",...}}."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

/// Options shared by every command.
#[derive(Debug, Args)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// The session pool's management endpoint (`poolManagementEndpoint`).
    #[arg(
        long,
        global = true,
        env = "POOL_MANAGEMENT_ENDPOINT",
        value_name = "URL"
    )]
    pub endpoint: Option<String>,

    /// The session identifier; a new UUID (printed on stderr) when absent.
    #[arg(long, global = true, env = "DYNSESS_SESSION", value_name = "ID")]
    pub session: Option<String>,

    /// The data-plane api-version, e.g. 2025-10-02-preview (the default) or 2024-02-02-preview.
    #[arg(long = "api-version", global = true, value_name = "V")]
    pub api_version: Option<String>,

    /// A bearer token; otherwise the default Azure credential chain (none for loopback endpoints).
    #[arg(
        long,
        global = true,
        env = "DYNSESS_TOKEN",
        value_name = "T",
        hide_env_values = true
    )]
    pub token: Option<String>,

    /// Print machine-readable JSON instead of text (errors too, on stderr).
    #[arg(long, global = true)]
    pub json: bool,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run code in the session: prints its stdout, the value of the last expression, and its
    /// stderr (exit 1 when the run fails).
    Exec(ExecArgs),
    /// Run a shell command in a shell pool's session (exits with the command's exit code).
    Shell(ShellArgs),
    /// Upload a local file into the session's /mnt/data.
    Upload(UploadArgs),
    /// Download a file from the session's /mnt/data.
    Download(DownloadArgs),
    /// List the files in the session's /mnt/data.
    Ls(LsArgs),
    /// Delete a file from the session's /mnt/data.
    Rm(RmArgs),
    /// Show the session (also `session show`), or delete it (`session delete`).
    Session(SessionArgs),
    /// List the pool's sessions.
    Sessions,
    /// Show the pool's metadata (runtimes, pre-installed packages).
    Metadata,
    /// Serve a local session pool on loopback (prints its endpoint URL first).
    Serve(ServeArgs),
    /// Print the code-interpreter tool definition for an LLM API.
    ToolDefinition(ToolDefinitionArgs),
    /// Read a model response (JSON) on stdin, run its code-interpreter calls in the session, and
    /// print the messages or items to send back (JSON).
    Handle(HandleArgs),
    /// Serve the pool to MCP hosts (Claude Desktop, VS Code, ...) over stdio, or streamable HTTP
    /// with --http: a code_interpreter and file tools, one new session per MCP client, deleted
    /// when the client disconnects.
    Mcp(McpArgs),
}

/// `exec`.
#[derive(Debug, Args)]
pub struct ExecArgs {
    /// The code to run; "-" or nothing reads it from stdin.
    #[arg(value_name = "CODE", conflicts_with = "file")]
    pub code: Option<String>,

    /// Read the code from a file.
    #[arg(long, short = 'f', value_name = "F")]
    pub file: Option<PathBuf>,

    /// The server-side execution timeout in seconds (the service caps it at about 220).
    #[arg(long, value_name = "SECS")]
    pub timeout: Option<u64>,

    /// Save every image the run returns into DIR (created if needed) as image-N.png, ...
    #[arg(long, value_name = "DIR")]
    pub save_images: Option<PathBuf>,
}

/// `shell`.
#[derive(Debug, Args)]
pub struct ShellArgs {
    /// The command line, run by the pool's shell.
    #[arg(value_name = "CMD")]
    pub command: String,

    /// Text to feed to the command's standard input.
    #[arg(long, value_name = "TEXT")]
    pub stdin: Option<String>,
}

/// `upload`.
#[derive(Debug, Args)]
pub struct UploadArgs {
    /// The local file.
    #[arg(value_name = "LOCAL")]
    pub local: PathBuf,

    /// The name to store it under (default: the local file name).
    #[arg(long = "as", value_name = "NAME")]
    pub name: Option<String>,

    /// The directory under /mnt/data to upload into.
    #[arg(long, value_name = "DIR")]
    pub path: Option<String>,
}

/// `download`.
#[derive(Debug, Args)]
pub struct DownloadArgs {
    /// The file name in the session (may include a directory, e.g. `out/plot.png`).
    #[arg(value_name = "NAME")]
    pub name: String,

    /// Where to write it (default: the file's name in the current directory; "-" for stdout).
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<String>,
}

/// `ls`.
#[derive(Debug, Args)]
pub struct LsArgs {
    /// The directory under /mnt/data to list.
    #[arg(long, value_name = "DIR")]
    pub path: Option<String>,

    /// Include subdirectories (api-version 2025-10-02-preview).
    #[arg(long, short = 'r')]
    pub recursive: bool,
}

/// `rm`.
#[derive(Debug, Args)]
pub struct RmArgs {
    /// The file name in the session.
    #[arg(value_name = "NAME")]
    pub name: String,
}

/// `session [show | delete]`.
#[derive(Debug, Args)]
pub struct SessionArgs {
    /// What to do with the session (default: show it).
    #[command(subcommand)]
    pub command: Option<SessionCommand>,
}

/// `session show | delete`.
#[derive(Debug, Subcommand)]
pub enum SessionCommand {
    /// Show the session (creation, last access, expiry).
    Show,
    /// Delete the session and everything in it.
    Delete,
}

/// `tool-definition`.
#[derive(Debug, Args)]
pub struct ToolDefinitionArgs {
    /// The LLM API to format the definition for (or give it with --format).
    #[arg(
        value_enum,
        value_name = "FORMAT",
        required_unless_present = "format",
        conflicts_with = "format"
    )]
    pub format_arg: Option<DefinitionFormat>,

    /// The same, as an option: `--format responses`.
    #[arg(long, value_enum, value_name = "FORMAT", hide_possible_values = true)]
    pub format: Option<DefinitionFormat>,

    /// The tool name the model sees.
    #[arg(long, value_name = "N")]
    pub name: Option<String>,
}

impl ToolDefinitionArgs {
    /// The format, from the argument or `--format` (clap requires exactly one).
    pub fn format(&self) -> DefinitionFormat {
        self.format_arg
            .or(self.format)
            .unwrap_or(DefinitionFormat::Chat)
    }
}

/// `handle`.
#[derive(Debug, Args)]
pub struct HandleArgs {
    /// The LLM API the response on stdin comes from.
    #[arg(long, value_enum)]
    pub format: HandleFormat,

    /// The tool name to answer (calls to other tools are left alone).
    #[arg(long, value_name = "N")]
    pub name: Option<String>,

    /// stdin is the streamed response (server-sent events): each call runs as soon as its
    /// arguments are complete; prints `{"turn": …, "answer": …}`.
    #[arg(long)]
    pub stream: bool,

    /// Answer calls for other tools with an error result, so the answer is complete.
    #[arg(long)]
    pub answer_other_tools: bool,

    /// What the model reads of one call (stdout, stderr, result, file list), in tokens.
    #[arg(long, value_name = "N", conflicts_with = "budget_chars")]
    pub budget_tokens: Option<usize>,

    /// The same budget in characters.
    #[arg(long, value_name = "N")]
    pub budget_chars: Option<usize>,
}

/// `mcp`.
#[derive(Debug, Args)]
pub struct McpArgs {
    /// Run an embedded local pool in this process instead of using --endpoint.
    #[arg(long)]
    pub local: bool,

    /// The pool's kind: python (the code_interpreter tool) or shell (run_shell).
    #[arg(long, value_enum, default_value_t = McpPoolType::Python)]
    pub pool_type: McpPoolType,

    /// Serve streamable HTTP instead of stdio; the first line on stdout is the MCP URL.
    #[arg(long)]
    pub http: bool,

    /// The address to bind with --http (loopback unless --allow-non-loopback).
    #[arg(long, default_value = "127.0.0.1", value_name = "ADDR")]
    pub host: String,

    /// The port to bind with --http (0: a free one).
    #[arg(long, default_value_t = 0, value_name = "PORT")]
    pub port: u16,

    /// The bearer token HTTP clients must send; without it (or DYNSESS_MCP_TOKEN) a random one
    /// is printed once on stderr.
    #[arg(
        long = "mcp-token",
        env = "DYNSESS_MCP_TOKEN",
        value_name = "T",
        hide_env_values = true
    )]
    pub mcp_token: Option<String>,

    /// Allow --host to be an address other than loopback.
    #[arg(long)]
    pub allow_non_loopback: bool,

    /// The most client sessions at once (default: the pool's maximum when its metadata says,
    /// else 10; 100 with --local).
    #[arg(long, value_name = "N")]
    pub max_sessions: Option<usize>,

    /// When all sessions are taken, fail the tool call at once instead of waiting in order.
    #[arg(long)]
    pub fail_fast: bool,

    /// Delete a client's session after this many seconds unused (0: never).
    #[arg(long, default_value_t = 900, value_name = "SECS")]
    pub idle_timeout: u64,

    /// The largest file download_file returns, in bytes.
    #[arg(long, default_value_t = 10 * 1024 * 1024, value_name = "BYTES")]
    pub max_download_bytes: u64,
}

/// Pool kinds `mcp` serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum McpPoolType {
    /// Python code-interpreter pool.
    Python,
    /// Shell pool.
    Shell,
}

/// Formats of a tool definition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DefinitionFormat {
    /// OpenAI / Azure OpenAI Chat Completions.
    Chat,
    /// OpenAI / Azure OpenAI Responses.
    Responses,
    /// Anthropic Messages.
    Anthropic,
    /// Google Gemini.
    Gemini,
    /// Model Context Protocol (`tools/list` entry).
    Mcp,
}

/// Formats of a model response that `handle` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum HandleFormat {
    /// OpenAI / Azure OpenAI Chat Completions.
    Chat,
    /// OpenAI / Azure OpenAI Responses.
    Responses,
    /// Anthropic Messages.
    Anthropic,
    /// Google Gemini.
    Gemini,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_cli_is_well_formed() {
        Cli::command().debug_assert();
    }
}
