//! Reading JSON the way the service writes it: straight into the target type, with Python's
//! bare `NaN`/`Infinity` tokens read as `null`. Pure.

use serde::de::DeserializeOwned;

use crate::error::{Error, Result};

/// Parse JSON, retrying once with bare `NaN`/`Infinity` tokens replaced by `null` (Python's
/// `json.dumps` writes them; the service maps NaN to null).
pub(crate) fn parse_json<T: DeserializeOwned>(body: &[u8], what: &str) -> Result<T> {
    // Straight into the target type: no intermediate `Value` (this is the hot path of every call).
    let first = match serde_json::from_slice(body) {
        Ok(v) => return Ok(v),
        Err(e) => e,
    };
    if first.classify() == serde_json::error::Category::Data {
        return Err(Error::decode(
            format!("{what} has an unexpected shape"),
            body,
            Some(first),
        ));
    }
    // Python's json emits bare NaN/Infinity; read them as null rather than failing.
    match replace_non_finite(body).map(|b| serde_json::from_slice(&b)) {
        Some(Ok(v)) => Ok(v),
        Some(Err(e)) if e.classify() == serde_json::error::Category::Data => Err(Error::decode(
            format!("{what} has an unexpected shape"),
            body,
            Some(e),
        )),
        _ => Err(Error::decode(
            format!("{what} is not valid JSON"),
            body,
            Some(first),
        )),
    }
}

/// Replace `NaN`, `Infinity` and `-Infinity` outside strings with `null`; `None` if there were none.
fn replace_non_finite(body: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(body.len());
    let (mut in_string, mut escaped, mut changed) = (false, false, false);
    let mut i = 0;
    while i < body.len() {
        let b = body[i];
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
        } else if b == b'"' {
            in_string = true;
        } else {
            let token = [&b"-Infinity"[..], b"Infinity", b"NaN"]
                .into_iter()
                .find(|t| body[i..].starts_with(t));
            if let Some(t) = token {
                out.extend_from_slice(b"null");
                i += t.len();
                changed = true;
                continue;
            }
        }
        out.push(b);
        i += 1;
    }
    changed.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_finite_tokens_become_null_outside_strings() {
        let out =
            replace_non_finite(br#"{"a":NaN,"b":"NaN \" Infinity","c":[-Infinity,Infinity]}"#)
                .unwrap();
        assert_eq!(
            std::str::from_utf8(&out).unwrap(),
            r#"{"a":null,"b":"NaN \" Infinity","c":[null,null]}"#
        );
        assert!(replace_non_finite(br#"{"a":"NaN"}"#).is_none());
    }
}
