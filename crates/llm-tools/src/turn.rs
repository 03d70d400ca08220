//! What became of a model turn: every call answered, no calls at all, or an answer that is
//! incomplete (calls for other tools, calls without an id). Sending an incomplete answer makes
//! the provider refuse the next request, so callers must look at [`TurnOutcome`].

use serde_json::Value;

use crate::call::CallError;

/// The outcome of handling one model turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TurnOutcome {
    /// The turn had no tool calls: the model answered in text (or stopped). There is nothing to
    /// send back; an empty user message would be refused by Anthropic and Gemini.
    NoCalls,
    /// Every call was answered: send the answer as it is.
    Answered,
    /// Some calls have no answer yet: `unhandled` calls for other tools (answer them yourself,
    /// or turn on `answer_unknown_tools`) and `rejected` calls that cannot be answered (no id).
    /// Sending the answer as it is makes the provider refuse the request.
    Incomplete {
        /// Calls answered.
        answered: usize,
        /// Calls left to the caller (other tools, custom tools, …).
        unhandled: usize,
        /// Calls that cannot be answered as sent.
        rejected: usize,
    },
}

impl TurnOutcome {
    pub(crate) fn of(answered: usize, unhandled: usize, rejected: usize) -> Self {
        match (answered, unhandled, rejected) {
            (0, 0, 0) => TurnOutcome::NoCalls,
            (_, 0, 0) => TurnOutcome::Answered,
            _ => TurnOutcome::Incomplete {
                answered,
                unhandled,
                rejected,
            },
        }
    }

    /// Whether the answer can be sent as it is.
    pub fn is_complete(&self) -> bool {
        matches!(self, TurnOutcome::Answered)
    }
}

impl std::fmt::Display for TurnOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TurnOutcome::NoCalls => f.write_str("the turn has no tool calls; nothing to answer"),
            TurnOutcome::Answered => f.write_str("every call answered"),
            TurnOutcome::Incomplete {
                answered,
                unhandled,
                rejected,
            } => write!(
                f,
                "INCOMPLETE answer: {answered} call(s) answered, {unhandled} call(s) to other tools left unanswered, {rejected} call(s) rejected; the provider refuses an answer that misses a call"
            ),
        }
    }
}

/// A call that was not run because it cannot be answered as sent.
#[derive(Debug, Clone, PartialEq)]
pub struct RejectedCall {
    /// The call's JSON, untouched.
    pub raw: Value,
    /// Why.
    pub error: CallError,
}
