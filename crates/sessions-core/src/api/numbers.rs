//! JSON numbers serde_json cannot hold exactly, made safe before parsing.
//!
//! serde_json (without `arbitrary_precision`) rounds an integer beyond 64 bits to the nearest
//! `f64` and refuses a number beyond `f64`'s range (`1e400`) with an error, which would fail the
//! whole execution. Both are legal JSON and code does print them (`2**70`, `Decimal('1e400')`).
//! Such a number is rewritten as a JSON string of its exact literal text; every other number is
//! left alone (integers that fit `i64`/`u64` stay exact, decimals become the nearest `f64`).

use std::borrow::Cow;

/// `body` with every number that serde_json would round or refuse turned into a string of its
/// literal text; borrowed (no copy) when there is none, which is the usual case.
pub(crate) fn exact_numbers(body: &[u8]) -> Cow<'_, [u8]> {
    if !may_need_rewrite(body) {
        return Cow::Borrowed(body);
    }
    let mut out: Option<Vec<u8>> = None;
    let mut copied = 0;
    let mut i = 0;
    while i < body.len() {
        match body[i] {
            b'"' => i = skip_string(body, i + 1),
            b'-' | b'0'..=b'9' => {
                let end = number_end(body, i);
                if !fits(&body[i..end]) {
                    let buf = out.get_or_insert_with(|| Vec::with_capacity(body.len() + 8));
                    buf.extend_from_slice(&body[copied..i]);
                    buf.push(b'"');
                    buf.extend_from_slice(&body[i..end]);
                    buf.push(b'"');
                    copied = end;
                }
                i = end;
            }
            _ => i += 1,
        }
    }
    match out {
        None => Cow::Borrowed(body),
        Some(mut buf) => {
            buf.extend_from_slice(&body[copied..]);
            Cow::Owned(buf)
        }
    }
}

/// Whether the body may hold a number serde_json would round or refuse: a run of number
/// characters that starts like a number (a digit or `-`), holds a digit, and is long enough (16
/// or more: every shorter integer fits 64 bits) or has an exponent. A cheap pass that ignores
/// strings, so text in them can only send a body down the exact path, never skip it.
///
/// It runs over every JSON body the typed API reads, so it skips eight bytes at a time while
/// they hold no digit (a number that needs the exact path has one), and looks at the bytes
/// around a digit only.
fn may_need_rewrite(body: &[u8]) -> bool {
    let mut i = 0;
    while i < body.len() {
        if let Some(chunk) = body[i..].first_chunk::<8>()
            && !has_digit(*chunk)
        {
            i += 8;
            continue;
        }
        let Some(at) = body[i..].iter().take(8).position(u8::is_ascii_digit) else {
            // Fewer than eight bytes were left, with no digit.
            if body.len() - i < 8 {
                return false;
            }
            i += 8;
            continue;
        };
        let digit = i + at;
        // The run this digit is in: back to its start (a `-`, `.` or `e` may sit in bytes
        // already skipped), then on to its end.
        let mut start = digit;
        while start > 0 && is_number_byte(body[start - 1]) {
            start -= 1;
        }
        let end = number_end(body, digit);
        let run = &body[start..end];
        let numeric = matches!(run[0], b'0'..=b'9' | b'-');
        if numeric && (run.len() >= 16 || run.iter().any(|b| matches!(b, b'e' | b'E'))) {
            return true;
        }
        i = end;
    }
    false
}

/// Whether any of eight bytes is an ASCII digit (a word-at-a-time test: after the XOR a digit
/// is a byte below 10, and the subtraction borrows into the top bit of such a byte).
fn has_digit(chunk: [u8; 8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    let x = u64::from_le_bytes(chunk) ^ (ONES * u64::from(b'0'));
    x.wrapping_sub(ONES * 10) & !x & (ONES * 0x80) != 0
}

fn is_number_byte(b: u8) -> bool {
    matches!(b, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E')
}

/// The index after the closing quote of a string whose content starts at `i`.
fn skip_string(body: &[u8], mut i: usize) -> usize {
    while i < body.len() {
        match body[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    body.len()
}

fn number_end(body: &[u8], mut i: usize) -> usize {
    while i < body.len() && is_number_byte(body[i]) {
        i += 1;
    }
    i
}

/// Whether serde_json reads this number token exactly (or as the nearest `f64` for decimals).
/// Tokens that are not numbers at all are left for serde_json to reject.
fn fits(token: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(token) else {
        return true;
    };
    let is_integer = !token.iter().any(|b| matches!(b, b'.' | b'e' | b'E'));
    if is_integer {
        let digits = text.strip_prefix('-').unwrap_or(text);
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return true;
        }
        return if text.starts_with('-') {
            text.parse::<i64>().is_ok()
        } else {
            text.parse::<u64>().is_ok()
        };
    }
    // Not a valid float literal: serde_json will report it.
    text.parse::<f64>().map_or(true, f64::is_finite)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    #[test]
    fn the_quick_pass_only_skips_bodies_with_short_exponent_free_numbers() {
        assert!(!may_need_rewrite(br#"{"status":"Succeeded","result":{"executionResult":2,"executionTimeInMilliseconds":1.25}}"#));
        assert!(may_need_rewrite(br#"{"r":1180591620717411303424}"#));
        assert!(may_need_rewrite(br#"{"r":1e400}"#));
        assert!(may_need_rewrite(br#"{"r":-1234567890123456}"#));
    }

    #[test]
    fn the_quick_pass_finds_a_number_wherever_the_eight_byte_steps_fall() {
        // Every offset of the number against the word boundaries, and the run's start (`-`,
        // `.`) in a word that has no digit itself.
        for pad in 0..17 {
            let spaces = " ".repeat(pad);
            for number in [
                "1e5",
                "-1E+400",
                "12345678901234567",
                "-.5e3",
                "1.0000000000000001",
            ] {
                let body = format!("[{spaces}{number}]");
                assert!(may_need_rewrite(body.as_bytes()), "{body}");
            }
            for fine in [
                "123456789012345",
                "-1.5",
                "2",
                "e1",
                "-",
                "eeeeeeeeeeeeeeeeeeee1",
            ] {
                let body = format!("[{spaces}\"{fine}\"]");
                assert!(!may_need_rewrite(body.as_bytes()), "{body}");
            }
        }
        // Any two bytes of a word, at the ends and in the middle (a borrow runs upwards).
        for (p, q) in [(0, 7), (3, 4), (6, 1)] {
            for a in 0..=255u8 {
                for b in 0..=255u8 {
                    let mut chunk = *b"{\"ab\":x}";
                    chunk[p] = a;
                    chunk[q] = b;
                    assert_eq!(has_digit(chunk), chunk.iter().any(u8::is_ascii_digit));
                }
            }
        }
    }

    /// The rule of [`may_need_rewrite`], written plainly: split into runs of number bytes.
    fn plain_rule(body: &[u8]) -> bool {
        body.split(|b| !is_number_byte(*b)).any(|run| {
            matches!(run.first(), Some(b'0'..=b'9' | b'-'))
                && run.iter().any(u8::is_ascii_digit)
                && (run.len() >= 16 || run.iter().any(|b| matches!(b, b'e' | b'E')))
        })
    }

    proptest::proptest! {
        #[test]
        fn the_quick_pass_follows_the_plain_rule(
            body in proptest::collection::vec(proptest::sample::select(b"0123456789-+.eE \"a{}:,".to_vec()), 0..80)
        ) {
            proptest::prop_assert_eq!(may_need_rewrite(&body), plain_rule(&body));
        }
    }

    fn parse(text: &str) -> Value {
        serde_json::from_slice(&exact_numbers(text.as_bytes())).unwrap()
    }

    #[test]
    fn numbers_that_fit_are_untouched_and_not_copied() {
        let text =
            br#"{"a":1,"b":-9223372036854775808,"c":18446744073709551615,"d":1.5e300,"s":"1e400"}"#;
        assert!(matches!(exact_numbers(text), Cow::Borrowed(_)));
    }

    #[test]
    fn big_integers_and_out_of_range_numbers_keep_their_exact_text() {
        let v = parse(
            r#"{"big":1180591620717411303425,"neg":-99999999999999999999,"huge":1e400,"tiny":-1E+400,"ok":2}"#,
        );
        assert_eq!(
            v,
            json!({"big":"1180591620717411303425","neg":"-99999999999999999999","huge":"1e400","tiny":"-1E+400","ok":2})
        );
    }

    #[test]
    fn strings_with_quotes_and_digits_are_skipped() {
        let v = parse(r#"["a\"1e400\\", 1e400, "x"]"#);
        assert_eq!(v, json!(["a\"1e400\\", "1e400", "x"]));
    }

    #[test]
    fn underflow_is_a_number_and_malformed_text_is_left_to_serde() {
        assert_eq!(parse("1e-400"), json!(0.0));
        assert!(serde_json::from_slice::<Value>(&exact_numbers(b"[1.2.3]")).is_err());
    }
}
