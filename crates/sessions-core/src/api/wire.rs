//! Serde structs for the service's response bodies, both families.
//!
//! Deliberately tolerant: unknown fields (`$id`, `rawResult`, `sessionId`, …) are ignored, every
//! field is optional, and scalars are accepted as strings or numbers, because the service, its
//! samples and the BYOC container all disagree in small ways. Turning these into the model types
//! (and deciding what is required) happens in each operation's decoder (`api/ops/`).

use std::marker::PhantomData;

use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::model::ExecutionStatus;

/// A string, number or bool as a string; null, absent, or any other shape as `None`.
///
/// A visitor rather than a `Value` round trip: this runs for every string field of every
/// response, so it takes strings straight from the parser.
pub(crate) fn lenient_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    d.deserialize_any(Lenient(PhantomData))
}

/// An execution's `status`, read as [`lenient_string`] reads text but matched on the parser's
/// own string: a known status costs no copy.
pub(crate) fn lenient_status<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<ExecutionStatus>, D::Error> {
    d.deserialize_any(Lenient(PhantomData))
}

/// The visitor of the lenient text fields, building `T` from the text.
struct Lenient<T>(PhantomData<T>);

impl<'de, T: for<'a> From<&'a str> + From<String>> serde::de::Visitor<'de> for Lenient<T> {
    type Value = Option<T>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a string, number, bool or null")
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Some(T::from(v)))
    }

    fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Some(T::from(v)))
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Some(T::from(v.to_string())))
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Some(T::from(v.to_string())))
    }

    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Self::Value, E> {
        // Same text as serde_json's Number display (e.g. "1.5", "3.0").
        Ok(serde_json::Number::from_f64(v).map(|n| T::from(n.to_string())))
    }

    fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Some(T::from(v.to_string())))
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
        Ok(None)
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map
            .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
            .is_some()
        {}
        Ok(None)
    }
}

/// A non-negative integer given as a number (integral float accepted) or a numeric string.
pub(crate) fn lenient_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Number(n) => n.as_u64().or_else(|| {
            n.as_f64()
                .filter(|f| f.is_finite() && *f >= 0.0 && f.fract() == 0.0)
                .map(|f| f as u64)
        }),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    })
}

/// A finite number given as a number or a numeric string.
pub(crate) fn lenient_f64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .filter(|f| f.is_finite()))
}

/// Keep JSON `null` as `Some(Value::Null)`, so "null" and "absent" stay distinguishable.
pub(crate) fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

/// The current-family execution resource.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CurrentExecution {
    #[serde(default, deserialize_with = "lenient_string")]
    pub id: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub identifier: Option<String>,
    #[serde(default, deserialize_with = "lenient_status")]
    pub status: Option<ExecutionStatus>,
    #[serde(default)]
    pub result: Option<CurrentResult>,
    /// An `ErrorResponse` (`{"error":{"code","message"}}`) per the definitions, or the flat
    /// `{"code","message"}` some pools send: [`ErrorBody`] reads both.
    #[serde(default)]
    pub error: Option<ErrorBody>,
}

/// `result` of a current-family execution.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CurrentResult {
    #[serde(default, deserialize_with = "lenient_string")]
    pub stdout: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub stderr: Option<String>,
    #[serde(default, deserialize_with = "present")]
    pub execution_result: Option<Value>,
    /// Some containers name it `result` inside `result`; read it only as a fallback.
    #[serde(default, deserialize_with = "present")]
    pub result: Option<Value>,
    #[serde(default, deserialize_with = "lenient_f64")]
    pub execution_time_in_milliseconds: Option<f64>,
}

/// The legacy execution payload (`properties` of `{"$id","properties":{...}}`, or the flat
/// pre-versioned shape).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct LegacyExecution {
    #[serde(default, deserialize_with = "lenient_status")]
    pub status: Option<ExecutionStatus>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub stdout: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub stderr: Option<String>,
    #[serde(default, deserialize_with = "present")]
    pub result: Option<Value>,
    /// The Node pool tutorial shows `executionResult` at this version.
    #[serde(default, deserialize_with = "present")]
    pub execution_result: Option<Value>,
    #[serde(default, deserialize_with = "lenient_f64")]
    pub execution_time_in_milliseconds: Option<f64>,
}

/// Azure.Core's `error` object.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ErrorDetail {
    #[serde(default, deserialize_with = "lenient_string")]
    pub code: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub message: Option<String>,
}

/// `{"error": {...}}`, plus a top-level `message`/`code` some gateways send instead.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ErrorBody {
    #[serde(default)]
    pub error: Option<ErrorDetail>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub code: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub message: Option<String>,
}

/// A current-family file object.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CurrentFile {
    #[serde(default, deserialize_with = "lenient_string")]
    pub name: Option<String>,
    #[serde(default, rename = "type", deserialize_with = "lenient_string")]
    pub kind: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub content_type: Option<String>,
    #[serde(default, deserialize_with = "lenient_u64")]
    pub size_in_bytes: Option<u64>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub last_modified_at: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub directory: Option<String>,
}

/// One legacy file entry: `{"$id", "properties": {...}}`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct LegacyFileItem {
    #[serde(default)]
    pub properties: Option<LegacyFile>,
}

/// `properties` of a legacy file entry.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct LegacyFile {
    #[serde(default, deserialize_with = "lenient_string")]
    pub filename: Option<String>,
    #[serde(default, deserialize_with = "lenient_u64")]
    pub size: Option<u64>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub last_modified_time: Option<String>,
    /// langchainjs and LlamaIndex TS type it in snake case.
    #[serde(
        default,
        rename = "last_modified_time",
        deserialize_with = "lenient_string"
    )]
    pub last_modified_time_snake: Option<String>,
}

/// `{"value": [...], "nextLink": ...}`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", bound(deserialize = "T: Deserialize<'de>"))]
pub(crate) struct Page<T> {
    #[serde(default = "Vec::new", deserialize_with = "nullable_vec")]
    pub value: Vec<T>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub next_link: Option<String>,
}

/// `listSessions`: `{"sessions": [...]}` per the spec, `{"value": [...]}` per `.management`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SessionPage {
    #[serde(default = "Vec::new", deserialize_with = "nullable_vec")]
    pub sessions: Vec<SessionWire>,
    #[serde(default = "Vec::new", deserialize_with = "nullable_vec")]
    pub value: Vec<SessionWire>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub next_link: Option<String>,
    /// The total number of sessions (`.management/listSessions`), when sent.
    #[serde(default, deserialize_with = "lenient_f64")]
    pub count: Option<f64>,
}

/// A session (`GET session`, `listSessions` items, `.management/getSession`).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SessionWire {
    #[serde(default, deserialize_with = "lenient_string")]
    pub identifier: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub created_at: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub last_accessed_at: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub expire_at: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub expires_at: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub etag: Option<String>,
}

/// A `{name, version}` pair in pool metadata.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct NameVersionWire {
    #[serde(default, deserialize_with = "lenient_string")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub version: Option<String>,
}

/// `GET metadata`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct MetadataWire {
    #[serde(default = "Vec::new", deserialize_with = "nullable_vec")]
    pub runtimes: Vec<NameVersionWire>,
    #[serde(default = "Vec::new", deserialize_with = "nullable_vec")]
    pub pre_installed_packages: Vec<NameVersionWire>,
    #[serde(default)]
    pub jupyter_kernel: Option<Value>,
}

/// A list that may be `null`.
fn nullable_vec<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

/// The current-family `POST executions` body (field order as in the spec's examples).
#[derive(Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CurrentExecuteBody<'a> {
    pub code_input_type: &'a str,
    pub execution_type: &'a str,
    pub code: &'a str,
    pub timeout_in_seconds: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_streams_max_length: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub use_empty_kernel: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub return_jupyter_format_execution_result: Option<bool>,
}

impl CurrentExecuteBody<'_> {
    /// The bytes serde_json writes for this struct (same fields, same order), written straight
    /// into one buffer sized for the code: this runs on every execution, and serde's map
    /// machinery would escape each constant key again.
    pub(crate) fn to_json(&self) -> serde_json::Result<Vec<u8>> {
        let mut out = Vec::with_capacity(self.code.len() + 192);
        out.extend_from_slice(b"{\"codeInputType\":");
        serde_json::to_writer(&mut out, self.code_input_type)?;
        out.extend_from_slice(b",\"executionType\":");
        serde_json::to_writer(&mut out, self.execution_type)?;
        out.extend_from_slice(b",\"code\":");
        serde_json::to_writer(&mut out, self.code)?;
        out.extend_from_slice(b",\"timeoutInSeconds\":");
        serde_json::to_writer(&mut out, &self.timeout_in_seconds)?;
        if let Some(max) = self.output_streams_max_length {
            out.extend_from_slice(b",\"outputStreamsMaxLength\":");
            serde_json::to_writer(&mut out, &max)?;
        }
        if let Some(empty) = self.use_empty_kernel {
            out.extend_from_slice(b",\"useEmptyKernel\":");
            serde_json::to_writer(&mut out, &empty)?;
        }
        if let Some(jupyter) = self.return_jupyter_format_execution_result {
            out.extend_from_slice(b",\"returnJupyterFormatExecutionResult\":");
            serde_json::to_writer(&mut out, &jupyter)?;
        }
        out.push(b'}');
        Ok(out)
    }
}

/// The legacy `POST code/execute` body: `{"properties": {...}}`.
#[derive(Debug, serde::Serialize)]
pub(crate) struct LegacyExecuteBody<'a> {
    pub properties: LegacyExecuteProperties<'a>,
}

/// `properties` of the legacy execute body.
#[derive(Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct LegacyExecuteProperties<'a> {
    pub code_input_type: &'a str,
    pub execution_type: &'a str,
    pub code: &'a str,
    pub timeout_in_seconds: u32,
}

/// The shell body. Before 2025-10-02-preview only `shellCommand` and `stdin` (more fields were
/// rejected with 400 at 2025-02-02-preview); from it, the definitions' fields.
#[derive(Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ShellBody<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shell_command: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exec_command_and_args: Option<&'a [String]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stdin: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_in_seconds: Option<u32>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct T {
        #[serde(default, deserialize_with = "lenient_string")]
        v: Option<String>,
    }

    fn v(json: &str) -> Option<String> {
        serde_json::from_str::<T>(json).unwrap().v
    }

    #[test]
    fn lenient_string_takes_any_scalar_and_ignores_the_rest() {
        assert_eq!(v(r#"{"v":"a\nb"}"#).as_deref(), Some("a\nb"));
        assert_eq!(v(r#"{"v":0}"#).as_deref(), Some("0"));
        assert_eq!(v(r#"{"v":-3}"#).as_deref(), Some("-3"));
        assert_eq!(v(r#"{"v":1.5}"#).as_deref(), Some("1.5"));
        assert_eq!(v(r#"{"v":true}"#).as_deref(), Some("true"));
        assert_eq!(v(r#"{"v":null}"#), None);
        assert_eq!(v(r#"{}"#), None);
        assert_eq!(v(r#"{"v":{"x":[1,{"y":2}]}}"#), None);
        assert_eq!(v(r#"{"v":[1,"a"]}"#), None);
    }

    #[test]
    fn the_execute_body_is_written_as_serde_writes_it() {
        let codes = ["print(7*9)", "", "a\"b\\c\n\t\u{1}é😀</script>"];
        for code in codes {
            for (max, empty, jupyter) in [
                (None, None, None),
                (Some(0), Some(true), Some(false)),
                (Some(u32::MAX), None, Some(true)),
                (None, Some(false), None),
            ] {
                let body = CurrentExecuteBody {
                    code_input_type: "InlineBase64",
                    execution_type: "Asynchronous",
                    code,
                    timeout_in_seconds: 220,
                    output_streams_max_length: max,
                    use_empty_kernel: empty,
                    return_jupyter_format_execution_result: jupyter,
                };
                assert_eq!(
                    String::from_utf8(body.to_json().unwrap()).unwrap(),
                    serde_json::to_string(&body).unwrap()
                );
            }
        }
    }
}
