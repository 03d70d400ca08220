//! A small agent loop, one per provider format: it sends the tools, answers every call of every
//! tool (the code interpreter and your own [`FunctionTool`]s), rebuilds the history the
//! provider wants replayed (assistant messages, Responses reasoning items, thinking blocks,
//! thought signatures), and stops when the model answers without calls or at a turn limit.
//! The model is called through your own function (reqwest, async-openai, anything).
//!
//! ```
//! use llm_tools::agent::{Agent, FunctionTool, StopReason};
//! use llm_tools::Format;
//! use serde_json::json;
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let weather = FunctionTool::new("get_weather", "The weather in a city.",
//!     json!({"type": "object", "properties": {"city": {"type": "string"}}}),
//!     |args| async move { Ok(json!(format!("sunny in {}", args["city"].as_str().unwrap_or("?")))) });
//! let agent = Agent::new(Format::Anthropic).tool(weather);
//! // A scripted model: one call, then a final answer.
//! let mut turns = vec![
//!     json!({"type": "message", "role": "assistant", "stop_reason": "end_turn", "content": [{"type": "text", "text": "Sunny."}]}),
//!     json!({"type": "message", "role": "assistant", "stop_reason": "tool_use", "content": [
//!         {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Oslo"}}]}),
//! ];
//! let history = vec![json!({"role": "user", "content": "Weather in Oslo?"})];
//! let run = agent.run(history, |request| {
//!     assert_eq!(request.tools[0]["name"], "get_weather");
//!     let turn = turns.pop().unwrap();
//!     async move { Ok::<_, std::convert::Infallible>(turn) }
//! }).await.unwrap();
//! assert_eq!(run.stop, StopReason::Finished);
//! assert_eq!(run.text, "Sunny.");
//! assert_eq!(run.history[2]["content"][0]["content"], "sunny in Oslo");
//! # });
//! ```

mod executor;
mod history;

use std::future::Future;

use futures_util::future::BoxFuture;
use serde_json::{Value, json};

pub use executor::{FunctionTool, ToolExecutor, ToolResult};

use crate::call::ToolCall;
use crate::providers::{Format, ShapeError};

/// The default turn limit.
pub const DEFAULT_MAX_TURNS: usize = 10;

/// What the model function receives each turn.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelRequest {
    /// The turn number, from 0.
    pub turn: usize,
    /// The conversation so far: Chat and Anthropic `messages`, Responses `input`, Gemini
    /// `contents`.
    pub history: Vec<Value>,
    /// The tools, as the format's `tools` field wants them.
    pub tools: Vec<Value>,
}

/// Asked before each run of code: run it or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Approval {
    /// Run it.
    Approve,
    /// Do not run it; the model reads the reason.
    Deny {
        /// Why.
        reason: String,
    },
}

/// A run of code waiting for approval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalRequest {
    /// The tool name.
    pub tool: String,
    /// The call id.
    pub call_id: String,
    /// The code, exactly as it would run.
    pub code: String,
}

/// A call, for the start and end hooks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CallInfo<'a> {
    /// The turn number, from 0.
    pub turn: usize,
    /// The tool name the model called.
    pub tool: &'a str,
    /// The call id (may be empty for Gemini).
    pub call_id: &'a str,
    /// The call, arguments as sent.
    pub call: &'a ToolCall<'a>,
}

/// Why the loop stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// The model answered without calling a tool.
    Finished,
    /// The turn limit was reached with calls still being made.
    TurnLimit,
}

/// A finished loop.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentRun {
    /// Why it stopped.
    pub stop: StopReason,
    /// The whole conversation, ready for the next user message.
    pub history: Vec<Value>,
    /// The last model turn as received.
    pub last_turn: Value,
    /// Its text.
    pub text: String,
    /// Model turns taken.
    pub turns: usize,
}

/// Why the loop failed, with the conversation up to the failure (nothing is lost).
#[derive(Debug)]
pub struct AgentError<E> {
    /// What went wrong.
    pub failure: AgentFailure<E>,
    /// The conversation so far.
    pub history: Vec<Value>,
}

/// What went wrong in the loop.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AgentFailure<E> {
    /// The model function failed.
    #[error("the model call failed: {0}")]
    Model(E),
    /// The model's answer is not the format's JSON.
    #[error(transparent)]
    Shape(ShapeError),
    /// A call has no id, so the provider would refuse any answer to it.
    #[error("a call to {0:?} has no id; it cannot be answered")]
    MissingId(String),
    /// Calls of kinds the loop cannot answer (custom tools, computer use, …).
    #[error("{} call(s) of a kind the loop cannot answer (custom or built-in client tools)", .0.len())]
    Unanswerable(Vec<Value>),
}

impl<E: std::fmt::Display> std::fmt::Display for AgentError<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.failure.fmt(f)
    }
}

impl<E: std::fmt::Debug + std::fmt::Display> std::error::Error for AgentError<E> {}

type ApprovalHook<'t> = dyn Fn(ApprovalRequest) -> BoxFuture<'static, Approval> + Send + Sync + 't;
type StartHook<'t> = dyn Fn(&CallInfo<'_>) + Send + Sync + 't;
type EndHook<'t> = dyn Fn(&CallInfo<'_>, &ToolResult) + Send + Sync + 't;

/// The agent loop for one provider format.
pub struct Agent<'t> {
    format: Format,
    tools: Vec<Box<dyn ToolExecutor + 't>>,
    max_turns: usize,
    approval: Option<Box<ApprovalHook<'t>>>,
    on_start: Option<Box<StartHook<'t>>>,
    on_end: Option<Box<EndHook<'t>>>,
}

impl std::fmt::Debug for Agent<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let tools: Vec<&str> = self.tools.iter().map(|t| t.name()).collect();
        f.debug_struct("Agent")
            .field("format", &self.format)
            .field("tools", &tools)
            .field("max_turns", &self.max_turns)
            .finish_non_exhaustive()
    }
}

impl<'t> Agent<'t> {
    /// A loop for `format` (Chat, Responses, Anthropic or Gemini) with no tools yet.
    pub fn new(format: Format) -> Self {
        Agent {
            format,
            tools: Vec::new(),
            max_turns: DEFAULT_MAX_TURNS,
            approval: None,
            on_start: None,
            on_end: None,
        }
    }

    /// Add a tool: `&CodeInterpreterTool` (keep it to close it), a [`FunctionTool`], or any
    /// [`ToolExecutor`].
    pub fn tool(mut self, tool: impl ToolExecutor + 't) -> Self {
        self.tools.push(Box::new(tool));
        self
    }

    /// Stop after this many model turns ([`DEFAULT_MAX_TURNS`]).
    pub fn max_turns(mut self, turns: usize) -> Self {
        self.max_turns = turns;
        self
    }

    /// Ask before each run of code; a denial is answered to the model with its reason.
    pub fn approve<F, Fut>(mut self, hook: F) -> Self
    where
        F: Fn(ApprovalRequest) -> Fut + Send + Sync + 't,
        Fut: Future<Output = Approval> + Send + 'static,
    {
        self.approval = Some(Box::new(move |request| Box::pin(hook(request))));
        self
    }

    /// Called before each call runs (tracing, logs).
    pub fn on_call_start(mut self, hook: impl Fn(&CallInfo<'_>) + Send + Sync + 't) -> Self {
        self.on_start = Some(Box::new(hook));
        self
    }

    /// Called after each call with its result.
    pub fn on_call_end(
        mut self,
        hook: impl Fn(&CallInfo<'_>, &ToolResult) + Send + Sync + 't,
    ) -> Self {
        self.on_end = Some(Box::new(hook));
        self
    }

    /// The `tools` field for the format (Gemini: one `{"functionDeclarations": [..]}`).
    pub fn tools_json(&self) -> Vec<Value> {
        let definitions: Vec<Value> = self
            .tools
            .iter()
            .map(|t| t.definition(self.format))
            .collect();
        match self.format {
            Format::Gemini => vec![json!({ "functionDeclarations": definitions })],
            _ => definitions,
        }
    }

    /// Run the loop from `history` (e.g. one user message). `model` gets the history and the
    /// tools each turn and returns the provider's response JSON.
    pub async fn run<F, Fut, E>(
        &self,
        mut history: Vec<Value>,
        mut model: F,
    ) -> Result<AgentRun, AgentError<E>>
    where
        F: FnMut(ModelRequest) -> Fut,
        Fut: Future<Output = Result<Value, E>>,
    {
        let tools = self.tools_json();
        let mut last_turn = Value::Null;
        for turn in 0..self.max_turns {
            let request = ModelRequest {
                turn,
                history: history.clone(),
                tools: tools.clone(),
            };
            let response = match model(request).await {
                Ok(response) => response,
                Err(error) => return Err(fail(AgentFailure::Model(error), history)),
            };
            let found = match history::calls_of(self.format, &response) {
                Ok(found) => found,
                Err(error) => return Err(fail(AgentFailure::Shape(error), history)),
            };
            if !found.other.is_empty() {
                let other = found.other.iter().map(|v| (*v).clone()).collect();
                return Err(fail(AgentFailure::Unanswerable(other), history));
            }
            let calls: Vec<ToolCall<'static>> = found
                .calls
                .iter()
                .map(|c| c.call.clone().into_owned())
                .collect();
            history::push_turn(self.format, &mut history, &response);
            if calls.is_empty() {
                return Ok(AgentRun {
                    stop: StopReason::Finished,
                    text: history::final_text(self.format, &response),
                    history,
                    last_turn: response,
                    turns: turn + 1,
                });
            }
            if let Some(call) = calls
                .iter()
                .find(|c| self.format != Format::Gemini && c.id.trim().is_empty())
            {
                return Err(fail(
                    AgentFailure::MissingId(call.name.to_string()),
                    history,
                ));
            }
            let mut answers = Vec::with_capacity(calls.len());
            let mut chat_images = Vec::new();
            for call in &calls {
                let info = CallInfo {
                    turn,
                    tool: &call.name,
                    call_id: &call.id,
                    call,
                };
                if let Some(hook) = &self.on_start {
                    hook(&info);
                }
                let result = self.answer(call).await;
                if let Some(hook) = &self.on_end {
                    hook(&info, &result);
                }
                answers.push(history::answer(
                    self.format,
                    &call.id,
                    &call.name,
                    &result,
                    &mut chat_images,
                ));
            }
            history::push_answers(self.format, &mut history, answers, &chat_images);
            last_turn = response;
        }
        Ok(AgentRun {
            stop: StopReason::TurnLimit,
            text: history::final_text(self.format, &last_turn),
            history,
            last_turn,
            turns: self.max_turns,
        })
    }

    /// Answer one call: its tool (after approval, for code), or an error naming the tools.
    async fn answer(&self, call: &ToolCall<'_>) -> ToolResult {
        let Some(tool) = self.tools.iter().find(|t| t.name() == call.name) else {
            let names: Vec<&str> = self.tools.iter().map(|t| t.name()).collect();
            return ToolResult::error(format!(
                "there is no tool named {:?}; the tools are {names:?}",
                call.name
            ));
        };
        if let (Some(hook), Some(code)) = (&self.approval, tool.code_of(call)) {
            let request = ApprovalRequest {
                tool: call.name.to_string(),
                call_id: call.id.to_string(),
                code,
            };
            if let Approval::Deny { reason } = hook(request).await {
                return ToolResult::error(format!(
                    "the user did not allow this code to run: {reason}"
                ));
            }
        }
        tool.execute(call).await
    }
}

fn fail<E>(failure: AgentFailure<E>, history: Vec<Value>) -> AgentError<E> {
    AgentError { failure, history }
}

impl<T: ToolExecutor + ?Sized> ToolExecutor for &T {
    fn name(&self) -> &str {
        (**self).name()
    }

    fn definition(&self, format: Format) -> Value {
        (**self).definition(format)
    }

    fn code_of(&self, call: &ToolCall<'_>) -> Option<String> {
        (**self).code_of(call)
    }

    fn execute<'a>(&'a self, call: &'a ToolCall<'a>) -> BoxFuture<'a, ToolResult> {
        (**self).execute(call)
    }
}
