//! Head-and-tail truncation of long output, with an explicit marker.
//!
//! Both ends matter: the beginning shows what the code started doing, the end holds the
//! traceback or the final answer. The marker says how much was cut so the model never mistakes a
//! cut for the real output.

use std::fmt::Write as _;

/// The default limit, in characters, for stdout and for stderr.
pub const DEFAULT_MAX_CHARS: usize = 8_000;

/// How a text was shortened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Truncated {
    /// The original length in characters.
    pub original_chars: usize,
    /// How many characters were removed from the middle.
    pub omitted_chars: usize,
    /// The service had already cut the stream at its capture cap ([`SERVICE_STREAM_CAP_BYTES`],
    /// or the [`REQUESTED_STREAM_CHARS`] the tool asked for): the real output was longer and its
    /// end never arrived.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub service_cut: bool,
}

/// What the pool reads back of each stream (8 MiB); a stream this long was cut by the service.
pub const SERVICE_STREAM_CAP_BYTES: usize = 8 * 1024 * 1024;

/// What the tool asks the service to send back of each stream (`outputStreamsMaxLength`, at
/// 2025-10-02-preview, where the definitions' default is only 4096 characters): 1 Mi
/// characters, so the tool's own budget does the cutting, keeping the head and the tail. A
/// stream this long was cut by the service.
pub const REQUESTED_STREAM_CHARS: usize = 1 << 20;

/// Whether the service had cut `text` at one of its caps.
fn cut_by_service(text: &str) -> bool {
    // A few bytes of slack: the capture may end inside a multi-byte character. Characters are
    // counted only for text that can hold that many (never more than its bytes).
    text.len() + 4 >= SERVICE_STREAM_CAP_BYTES
        || (text.len() >= REQUESTED_STREAM_CHARS && text.chars().count() >= REQUESTED_STREAM_CHARS)
}

/// [`truncate_middle`] for a captured stream, telling the truth when the service had already cut
/// it at [`SERVICE_STREAM_CAP_BYTES`]: the marker then says "at least" and that the end is lost.
///
/// ```
/// let mut s = "x".repeat(llm_tools::truncate::SERVICE_STREAM_CAP_BYTES);
/// let cut = llm_tools::truncate::truncate_stream(&mut s, 100).unwrap();
/// assert!(cut.service_cut);
/// assert!(s.contains("of at least 8388608") && s.contains("never received"));
/// ```
pub fn truncate_stream(text: &mut String, max_chars: usize) -> Option<Truncated> {
    let service_cut = cut_by_service(text);
    if !service_cut {
        return truncate_middle(text, max_chars);
    }
    match cut_middle(text, max_chars, true) {
        Some(cut) => Some(cut),
        None => {
            let original_chars = text.chars().count();
            text.push_str(SERVICE_CUT_NOTE);
            Some(Truncated {
                original_chars,
                omitted_chars: 0,
                service_cut: true,
            })
        }
    }
}

const SERVICE_CUT_NOTE: &str = "\n[... the service cut this output at its length limit; the rest of it was never received ...]\n";

/// Shorten `text` in place to at most about `max_chars` characters (plus the marker), keeping the
/// head and the tail. Returns `None` when the text already fits.
///
/// ```
/// let mut s = "a".repeat(50) + &"b".repeat(50);
/// let cut = llm_tools::truncate::truncate_middle(&mut s, 20).unwrap();
/// assert_eq!(cut.original_chars, 100);
/// assert!(s.starts_with("aaaaaaaaaa") && s.ends_with("bbbbbbbbbb"));
/// assert!(s.contains("80 characters omitted"));
/// ```
pub fn truncate_middle(text: &mut String, max_chars: usize) -> Option<Truncated> {
    cut_middle(text, max_chars, false)
}

fn cut_middle(text: &mut String, max_chars: usize, service_cut: bool) -> Option<Truncated> {
    // Byte length bounds the character count from above: most output takes this exit.
    if text.len() <= max_chars {
        return None;
    }
    let original_chars = text.chars().count();
    if original_chars <= max_chars {
        return None;
    }
    let head_chars = max_chars / 2;
    let tail_chars = max_chars - head_chars;
    let head_end = text
        .char_indices()
        .nth(head_chars)
        .map_or(text.len(), |(i, _)| i);
    let tail_start = if tail_chars == 0 {
        text.len()
    } else {
        text.char_indices()
            .rev()
            .nth(tail_chars - 1)
            .map_or(0, |(i, _)| i)
    };
    let omitted_chars = original_chars - head_chars - tail_chars;
    let mut marker = String::with_capacity(96);
    if service_cut {
        let _ = write!(
            marker,
            "\n[... {omitted_chars} characters omitted of at least {original_chars}; showing the first {head_chars} and the last {tail_chars} received; the service cut this output at 8 MiB, so its real end was never received ...]\n"
        );
    } else {
        let _ = write!(
            marker,
            "\n[... {omitted_chars} characters omitted of {original_chars}; showing the first {head_chars} and the last {tail_chars} ...]\n"
        );
    }
    text.replace_range(head_end..tail_start, &marker);
    Some(Truncated {
        original_chars,
        omitted_chars,
        service_cut,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_stream_as_long_as_what_was_asked_for_was_cut_by_the_service() {
        // Counted in characters: 1 Mi two-byte characters are 2 MiB, under the byte cap.
        let mut s = "é".repeat(super::REQUESTED_STREAM_CHARS);
        assert!(super::truncate_stream(&mut s, 100).unwrap().service_cut);
        let mut s = "é".repeat(super::REQUESTED_STREAM_CHARS - 1);
        assert!(!super::truncate_stream(&mut s, 100).unwrap().service_cut);
    }

    use super::*;

    #[test]
    fn short_text_is_untouched() {
        let mut s = "hello".to_owned();
        assert_eq!(truncate_middle(&mut s, 5), None);
        assert_eq!(s, "hello");
    }

    #[test]
    fn multibyte_text_within_the_limit_is_untouched() {
        let mut s = "é".repeat(10); // 20 bytes, 10 chars
        assert_eq!(truncate_middle(&mut s, 10), None);
    }

    #[test]
    fn cuts_on_char_boundaries() {
        let mut s = "é".repeat(30) + &"ü".repeat(30);
        let cut = truncate_middle(&mut s, 10).unwrap();
        assert_eq!(
            cut,
            Truncated {
                original_chars: 60,
                omitted_chars: 50,
                service_cut: false,
            }
        );
        assert!(s.starts_with("ééééé\n[... 50 characters omitted of 60"));
        assert!(s.ends_with("...]\nüüüüü"));
    }

    #[test]
    fn zero_limit_keeps_only_the_marker() {
        let mut s = "abc".to_owned();
        let cut = truncate_middle(&mut s, 0).unwrap();
        assert_eq!(cut.omitted_chars, 3);
        assert!(s.starts_with("\n[... 3 characters omitted"));
    }
}
