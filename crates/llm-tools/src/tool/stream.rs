//! One call per turn for any format, whole or streamed: [`CodeInterpreterTool::handle_turn`] and
//! [`CodeInterpreterTool::handle_stream`] (which starts each call's code as soon as its arguments
//! are complete, while the model still streams).

use futures_util::StreamExt as _;
use futures_util::stream::FuturesOrdered;
use serde_json::Value;
use tokio::io::{AsyncBufRead, AsyncBufReadExt as _};

use super::CodeInterpreterTool;
use super::handle::{Precomputed, call_key};
use super::{AnthropicTurnOutput, ChatTurnOutput, GeminiTurnOutput, ResponsesTurnOutput};
use crate::ToolError;
use crate::providers::Format;
use crate::stream::{StreamAssembler, StreamError, StreamedCall};
use crate::turn::{RejectedCall, TurnOutcome};

/// The answer to one turn, in its provider's format.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum TurnAnswer {
    /// OpenAI Chat.
    Chat(ChatTurnOutput),
    /// OpenAI Responses.
    Responses(ResponsesTurnOutput),
    /// Anthropic.
    Anthropic(AnthropicTurnOutput),
    /// Gemini.
    Gemini(GeminiTurnOutput),
}

impl TurnAnswer {
    /// Whether every call was answered, there were none, or the answer is incomplete.
    pub fn outcome(&self) -> TurnOutcome {
        match self {
            TurnAnswer::Chat(out) => out.outcome(),
            TurnAnswer::Responses(out) => out.outcome(),
            TurnAnswer::Anthropic(out) => out.outcome(),
            TurnAnswer::Gemini(out) => out.outcome(),
        }
    }

    /// What to send back: Chat, an array of the `tool` messages followed by a user message with
    /// the images (when any); Responses, the array of `function_call_output` items; Anthropic,
    /// the user message; Gemini, the `user` content. Check [`outcome`](Self::outcome) first.
    pub fn to_json(&self) -> Value {
        match self {
            TurnAnswer::Chat(out) => {
                let mut messages = out.messages.clone();
                messages.extend(out.image_message());
                Value::Array(messages)
            }
            TurnAnswer::Responses(out) => Value::Array(out.items.clone()),
            TurnAnswer::Anthropic(out) => out.user_message(),
            TurnAnswer::Gemini(out) => out.user_content(),
        }
    }

    /// The answer wrapped so that it cannot be sent by mistake, for an [`TurnOutcome::Incomplete`]
    /// turn: `{"incomplete": true, "reason": "…", "answer": <to_json>, "unanswered": [calls],
    /// "rejected": [{"call": …, "error": "…"}]}` (what a CLI prints before a non-zero exit).
    pub fn incomplete_json(&self) -> Value {
        let rejected: Vec<Value> = self
            .rejected()
            .iter()
            .map(|r| serde_json::json!({"call": r.raw, "error": r.error.to_string()}))
            .collect();
        serde_json::json!({
            "incomplete": true,
            "reason": self.outcome().to_string(),
            "answer": self.to_json(),
            "unanswered": self.unhandled(),
            "rejected": rejected,
        })
    }

    /// Calls left to the caller (other tools), untouched.
    pub fn unhandled(&self) -> &[Value] {
        match self {
            TurnAnswer::Chat(out) => &out.unhandled,
            TurnAnswer::Responses(out) => &out.unhandled,
            TurnAnswer::Anthropic(out) => &out.unhandled,
            TurnAnswer::Gemini(out) => &out.unhandled,
        }
    }

    /// Calls not run because they cannot be answered (no id).
    pub fn rejected(&self) -> &[RejectedCall] {
        match self {
            TurnAnswer::Chat(out) => &out.rejected,
            TurnAnswer::Responses(out) => &out.rejected,
            TurnAnswer::Anthropic(out) => &out.rejected,
            TurnAnswer::Gemini(out) => &out.rejected,
        }
    }
}

/// A streamed turn and its answer.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamedTurn {
    /// The turn as the non-streaming API returns it (append it to the history as the assistant
    /// message / output items / model content).
    pub turn: Value,
    /// The answer.
    pub answer: TurnAnswer,
}

impl CodeInterpreterTool {
    /// Handle a whole turn of any format (MCP is not a turn: use
    /// [`handle_mcp`](Self::handle_mcp)).
    ///
    /// ```no_run
    /// # async fn demo(tool: llm_tools::CodeInterpreterTool, turn: serde_json::Value) -> Result<(), llm_tools::ToolError> {
    /// use llm_tools::{Format, TurnOutcome};
    /// let answer = tool.handle_turn(Format::Anthropic, &turn).await?;
    /// match answer.outcome() {
    ///     TurnOutcome::NoCalls => println!("the model is done"),
    ///     TurnOutcome::Answered => println!("{}", answer.to_json()),
    ///     incomplete => eprintln!("{incomplete}"),
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn handle_turn(&self, format: Format, turn: &Value) -> Result<TurnAnswer, ToolError> {
        self.answer_in(format, turn, &mut Precomputed::new()).await
    }

    async fn answer_in(
        &self,
        format: Format,
        turn: &Value,
        done: &mut Precomputed,
    ) -> Result<TurnAnswer, ToolError> {
        Ok(match format {
            Format::Chat => TurnAnswer::Chat(self.answer_chat(turn, done).await?),
            Format::Responses => TurnAnswer::Responses(self.answer_responses(turn, done).await?),
            Format::Anthropic => TurnAnswer::Anthropic(self.answer_anthropic(turn, done).await?),
            Format::Gemini => TurnAnswer::Gemini(self.answer_gemini(turn, done).await?),
            other => return Err(StreamError::Unsupported(other).into()),
        })
    }

    /// Handle a streamed turn: read SSE from `reader`, run each call of this tool as soon as its
    /// arguments are complete (while the rest still streams), and answer the whole turn.
    ///
    /// When the stream stops before its end event the result is
    /// [`ToolError::UnfinishedStream`], which hands back the outputs of the calls that already
    /// ran (they are never run again by this library).
    pub async fn handle_stream<R: AsyncBufRead + Unpin>(
        &self,
        format: Format,
        mut reader: R,
    ) -> Result<StreamedTurn, ToolError> {
        let mut assembler = StreamAssembler::new(format);
        let mut running = FuturesOrdered::new();
        let mut started: Vec<StreamedCall> = Vec::new();
        let mut done = Precomputed::new();
        let mut line = String::new();
        loop {
            tokio::select! {
                // Finished runs are collected while reading goes on.
                Some((key, output)) = running.next(), if !running.is_empty() => {
                    done.insert(key, output);
                }
                read = reader.read_line(&mut line) => {
                    let read = read.map_err(|e| StreamError::Read(e.to_string()))?;
                    let calls = if read == 0 {
                        Vec::new()
                    } else {
                        assembler.feed_sse(&line)?
                    };
                    line.clear();
                    for call in calls {
                        if self.starts_early(format, &call) {
                            let key = call_key(&call.call, call.ordinal);
                            let owned = call.call.clone();
                            running.push_back(async move { (key, self.execute_call(&owned).await) });
                            started.push(call);
                        }
                    }
                    if read == 0 {
                        break;
                    }
                }
            }
        }
        while let Some((key, output)) = running.next().await {
            done.insert(key, output);
        }
        let assembled = match assembler.finish() {
            Ok(assembled) => assembled,
            Err(error) => {
                let ran = started
                    .into_iter()
                    .filter_map(|c| {
                        let output = done.remove(&call_key(&c.call, c.ordinal))?;
                        Some((c, output))
                    })
                    .collect();
                return Err(ToolError::UnfinishedStream { error, ran });
            }
        };
        let answer = self.answer_in(format, &assembled.turn, &mut done).await?;
        Ok(StreamedTurn {
            turn: assembled.turn,
            answer,
        })
    }

    /// [`handle_stream`](Self::handle_stream) over SSE text already read.
    pub async fn handle_sse(&self, format: Format, sse: &str) -> Result<StreamedTurn, ToolError> {
        self.handle_stream(format, sse.as_bytes()).await
    }

    /// Whether a streamed call runs before the turn ends: ours (or any, when answering other
    /// tools), with the id its answer needs.
    fn starts_early(&self, format: Format, call: &StreamedCall) -> bool {
        self.answers(&call.call) && (format == Format::Gemini || !call.call.id.trim().is_empty())
    }
}
