//! # llm-tools
//!
//! A Python code-interpreter tool for LLMs, backed by an Azure Container Apps dynamic-sessions
//! pool (or the local emulator).
//!
//! - [`CodeInterpreterTool`] emits the tool definition for OpenAI Chat Completions, OpenAI
//!   Responses, Anthropic Messages, Gemini and MCP; finds the model's calls in the JSON those APIs
//!   send; runs the code in its session; and formats the results for the next turn.
//! - Mistakes become results the model can act on (bad JSON, missing code, failed runs, service
//!   errors), never panics; `try_*` methods return typed errors instead.
//! - [`HostedCodeInterpreterTool`] describes files for an interpreter: staged into a session for
//!   [`CodeInterpreterTool`], or rendered for provider-hosted interpreters (OpenAI, Anthropic).
//!
//! The format code ([`definition`], [`providers`], [`call`], [`output`], [`sanitize`],
//! [`truncate`]) is pure and usable on its own.
#![deny(missing_docs)]

pub mod agent;
pub mod budget;
pub mod call;
pub mod definition;
pub mod output;
pub mod providers;
pub mod sanitize;
pub mod stream;
pub mod truncate;

pub use budget::Budget;
pub use call::{Arguments, CallError, ParseOptions, ParsedCall, ToolCall};
pub use definition::{AvailableFile, DescriptionFacts, InvalidToolName, ToolName, ToolSpec};
pub use output::{
    ChangedFile, FileChange, ImageNote, ListCut, OutputLimits, ToolOutput, ToolStatus, Truncation,
};
pub use providers::{FoundCall, FoundCalls, ShapeError};
mod file_changes;
pub mod hosted;
pub mod images;
#[cfg(feature = "async-openai")]
pub mod openai;
mod tool;
pub mod turn;

pub use hosted::{FileInput, HostedCodeInterpreterTool};
pub use providers::Format;
pub use tool::{
    AnthropicTurnOutput, ChatTurnOutput, CodeInterpreterTool, GeminiTurnOutput,
    ResponsesTurnOutput, StreamedTurn, ToolError, ToolImage, ToolOptions, TurnAnswer,
};
pub use turn::{RejectedCall, TurnOutcome};

/// The README's examples, compiled as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
