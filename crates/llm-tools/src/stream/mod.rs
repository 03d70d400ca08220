//! Streaming: assemble a provider's streamed events into complete tool calls, each yielded as
//! soon as its arguments are complete (so its code can start while the model still streams),
//! and into the whole turn the non-streaming parsers read.
//!
//! ```
//! use llm_tools::{Format, stream::StreamAssembler};
//! let mut stream = StreamAssembler::new(Format::Anthropic);
//! let calls = stream.feed_sse(concat!(
//!     "event: content_block_start\n",
//!     "data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":\"code_interpreter\",\"input\":{}}}\n\n",
//!     "event: content_block_delta\n",
//!     "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"python_code\\\": \\\"print(1)\\\"}\"}}\n\n",
//!     "event: content_block_stop\n",
//!     "data: {\"type\":\"content_block_stop\",\"index\":0}\n\n",
//! )).unwrap();
//! assert_eq!(calls[0].call.id, "toolu_1");
//! stream.feed_sse("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n").unwrap();
//! let turn = stream.finish().unwrap();
//! assert_eq!(turn.turn["content"][0]["input"]["python_code"], "print(1)");
//! ```

mod anthropic;
mod chat;
mod gemini;
mod responses;
pub mod sse;

use serde_json::Value;

use crate::call::ToolCall;
use crate::providers::Format;
use crate::providers::detect::{Detected, detect};
use sse::SseParser;

/// A tool call whose arguments are complete.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamedCall {
    /// Its position among the turn's function calls (0, 1, …).
    pub ordinal: usize,
    /// The call.
    pub call: ToolCall<'static>,
    /// The call as the non-streaming API would have sent it (a tool call, an output item, a
    /// `tool_use` block, a part).
    pub raw: Value,
}

/// The whole streamed turn.
#[derive(Debug, Clone, PartialEq)]
pub struct AssembledTurn {
    /// The turn as the non-streaming API returns it (a chat completion, a response, a message,
    /// a `generateContent` response): hand it to the same `handle_*` / `find_calls`.
    pub turn: Value,
    /// Every function call, in order.
    pub calls: Vec<StreamedCall>,
}

/// A stream that cannot be assembled.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum StreamError {
    /// A `data:` line is not JSON.
    #[error("a {format} stream event is not JSON ({error}): {snippet}")]
    InvalidEvent {
        /// The format read.
        format: Format,
        /// The parser's message.
        error: String,
        /// The start of the line.
        snippet: String,
    },
    /// The events are of another format, or a whole turn was given instead of a stream.
    #[error("expected a {expected} stream, but an event looks like {}", .looks_like.describe())]
    WrongFormat {
        /// The format read.
        expected: Format,
        /// What the event looks like.
        looks_like: Detected,
    },
    /// The provider reported an error in the stream.
    #[error("the {format} stream reported an error: {message}")]
    Provider {
        /// The format read.
        format: Format,
        /// The error as sent.
        message: String,
    },
    /// The stream ended before its last event: the turn (and maybe a call) is cut short.
    #[error("the {format} stream ended before its end event ({missing}); the turn is incomplete")]
    Unfinished {
        /// The format read.
        format: Format,
        /// The end event that never came.
        missing: &'static str,
    },
    /// MCP has no model turns (streamed or not).
    #[error("{0} has no model turns; use the MCP handler")]
    Unsupported(Format),
    /// Reading the stream failed.
    #[error("reading the stream failed: {0}")]
    Read(String),
}

/// Assembles one streamed turn. Feed it SSE text in chunks of any size ([`feed_sse`](Self::feed_sse))
/// or events already parsed ([`feed_event`](Self::feed_event)); each returns the calls completed
/// so far; [`finish`](Self::finish) returns the whole turn.
#[derive(Debug)]
pub struct StreamAssembler {
    format: Format,
    sse: SseParser,
    state: State,
    calls: Vec<StreamedCall>,
}

#[derive(Debug)]
enum State {
    Chat(chat::ChatStream),
    Responses(responses::ResponsesStream),
    Anthropic(anthropic::AnthropicStream),
    Gemini(gemini::GeminiStream),
    Unsupported,
}

impl StreamAssembler {
    /// An assembler for `format`'s streamed events.
    pub fn new(format: Format) -> Self {
        let state = match format {
            Format::Chat => State::Chat(Default::default()),
            Format::Responses => State::Responses(Default::default()),
            Format::Anthropic => State::Anthropic(Default::default()),
            Format::Gemini => State::Gemini(Default::default()),
            _ => State::Unsupported,
        };
        StreamAssembler {
            format,
            sse: SseParser::new(),
            state,
            calls: Vec::new(),
        }
    }

    /// The format read.
    pub fn format(&self) -> Format {
        self.format
    }

    /// Feed SSE text; returns the calls completed by it.
    pub fn feed_sse(&mut self, text: &str) -> Result<Vec<StreamedCall>, StreamError> {
        let events = self.sse.feed(text);
        self.feed_sse_events(events)
    }

    fn feed_sse_events(
        &mut self,
        events: Vec<sse::SseEvent>,
    ) -> Result<Vec<StreamedCall>, StreamError> {
        let mut completed = Vec::new();
        for event in events {
            let data = event.data.trim();
            if data == "[DONE]" {
                completed.extend(self.push(Event::Done)?);
                continue;
            }
            if data.is_empty() {
                continue;
            }
            let value: Value =
                serde_json::from_str(data).map_err(|e| StreamError::InvalidEvent {
                    format: self.format,
                    error: e.to_string(),
                    snippet: data.chars().take(80).collect(),
                })?;
            completed.extend(self.feed_event(&value)?);
        }
        Ok(completed)
    }

    /// Feed one event (the JSON of a `data:` line, or one element of Gemini's JSON-array stream).
    pub fn feed_event(&mut self, event: &Value) -> Result<Vec<StreamedCall>, StreamError> {
        if let Some(looks_like) = detect(event) {
            let whole_turn = !looks_like.stream_event && self.format != Format::Gemini;
            if looks_like.format != self.format || whole_turn {
                return Err(StreamError::WrongFormat {
                    expected: self.format,
                    looks_like,
                });
            }
        }
        self.push(Event::Data(event))
    }

    fn push(&mut self, event: Event<'_>) -> Result<Vec<StreamedCall>, StreamError> {
        let format = self.format;
        let done: Vec<(ToolCall<'static>, Value)> = match (&mut self.state, event) {
            (State::Chat(s), e) => s.event(e),
            (State::Responses(s), Event::Data(v)) => s.event(v),
            (State::Anthropic(s), Event::Data(v)) => s.event(v),
            (State::Gemini(s), Event::Data(v)) => s.event(v),
            (State::Unsupported, _) => return Err(StreamError::Unsupported(format)),
            (_, Event::Done) => Ok(Vec::new()),
        }
        .map_err(|message| StreamError::Provider { format, message })?;
        let start = self.calls.len();
        self.calls.extend(
            done.into_iter()
                .enumerate()
                .map(|(i, (call, raw))| StreamedCall {
                    ordinal: start + i,
                    call,
                    raw,
                }),
        );
        Ok(self.calls[start..].to_vec())
    }

    /// End of the stream: the whole turn, or [`StreamError::Unfinished`] when its end event never
    /// came (calls already returned may have started; the turn must not be answered as complete).
    pub fn finish(mut self) -> Result<AssembledTurn, StreamError> {
        let events = self.sse.finish();
        self.feed_sse_events(events)?;
        let format = self.format;
        let unfinished = |missing| StreamError::Unfinished { format, missing };
        let (turn, last) = match self.state {
            State::Chat(s) => s
                .finish()
                .ok_or_else(|| unfinished("finish_reason or [DONE]"))?,
            State::Responses(s) => s.finish().ok_or_else(|| unfinished("response.completed"))?,
            State::Anthropic(s) => s.finish().ok_or_else(|| unfinished("message_stop"))?,
            State::Gemini(s) => s.finish().ok_or_else(|| unfinished("a finishReason"))?,
            State::Unsupported => return Err(StreamError::Unsupported(format)),
        };
        let start = self.calls.len();
        self.calls.extend(
            last.into_iter()
                .enumerate()
                .map(|(i, (call, raw))| StreamedCall {
                    ordinal: start + i,
                    call,
                    raw,
                }),
        );
        Ok(AssembledTurn {
            turn,
            calls: self.calls,
        })
    }
}

/// One input to a provider's state machine.
#[derive(Debug, Clone, Copy)]
enum Event<'a> {
    Data(&'a Value),
    /// Chat's `data: [DONE]`.
    Done,
}

/// What a provider state machine returns: completed calls, or the provider's error message.
type Completed = Result<Vec<(ToolCall<'static>, Value)>, String>;

/// The provider's error message of an `error` object, or its JSON.
fn error_message(error: &Value) -> String {
    error
        .get("message")
        .and_then(Value::as_str)
        .map_or_else(|| error.to_string(), str::to_owned)
}

/// The `u64` at `key`, or 0.
fn index_at(value: &Value, key: &str) -> u64 {
    value.get(key).and_then(Value::as_u64).unwrap_or(0)
}
