//! Serde types for every response body, plus the timestamp format the service uses.

use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;
use serde_json::Value;

/// Format a time as RFC 3339 UTC with `digits` fractional digits (3 for the current API,
/// 7 for the legacy .NET-style `lastModifiedTime`).
pub fn rfc3339(t: SystemTime, digits: u32) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, day) = civil_from_days(days);
    let (hh, mm, ss) = (rem / 3600, (rem % 3600) / 60, rem % 60);
    let digits = digits.min(9);
    if digits == 0 {
        return format!("{y:04}-{m:02}-{day:02}T{hh:02}:{mm:02}:{ss:02}Z");
    }
    let frac = d.subsec_nanos() / 10u32.pow(9 - digits);
    format!(
        "{y:04}-{m:02}-{day:02}T{hh:02}:{mm:02}:{ss:02}.{frac:0width$}Z",
        width = digits as usize
    )
}

/// Days since 1970-01-01 to (year, month, day), after Howard Hinnant's algorithm.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// The current-family execution resource (`POST executions`, `GET executions/{id}`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Execution {
    /// Execution id (the `operation-id`).
    pub id: String,
    /// Session identifier.
    pub identifier: String,
    /// `Synchronous` or `Asynchronous`.
    pub execution_type: &'static str,
    /// `Running`, `Succeeded`, `Failed`, or a shell exit code as a string.
    pub status: String,
    /// Present once the run finished.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<ExecutionResult>,
}

/// `result` of a current-family execution.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionResult {
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
    /// Last-expression value (absent on shell pools).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub execution_result: Option<Value>,
    /// Run time in milliseconds.
    pub execution_time_in_milliseconds: u64,
}

/// Legacy execution response: `{"$id":"1","properties":{...}}`.
#[derive(Debug, Clone, Serialize)]
pub struct LegacyExecution {
    /// Always "1".
    #[serde(rename = "$id")]
    pub id: &'static str,
    /// The payload.
    pub properties: LegacyExecutionProperties,
}

/// `properties` of a legacy execution response.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LegacyExecutionProperties {
    /// Always "2".
    #[serde(rename = "$id")]
    pub id: &'static str,
    /// `Success` or `Failure`.
    pub status: &'static str,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
    /// Last-expression value, or an image object.
    pub result: Value,
    /// Run time in milliseconds.
    pub execution_time_in_milliseconds: u64,
}

/// The current-family file object.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FileInfo {
    /// Base name.
    pub name: String,
    /// `file` or `directory`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Guessed MIME type.
    pub content_type: String,
    /// Size in bytes (4096 for directories).
    pub size_in_bytes: u64,
    /// Modification time.
    pub last_modified_at: String,
    /// Parent directory relative to `/mnt/data` (2025-10-02-preview only, omitted at the root).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub directory: Option<String>,
}

/// `{"value":[...],"nextLink":...}` file list of the current family.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FileList {
    /// The entries of this page.
    pub value: Vec<FileInfo>,
    /// Absolute URL of the next page, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_link: Option<String>,
}

/// Legacy file list: `{"$id":"1","value":[{"$id":"2","properties":{"$id":"3",...}}]}`.
#[derive(Debug, Clone, Serialize)]
pub struct LegacyFileList {
    /// Always "1".
    #[serde(rename = "$id")]
    pub id: String,
    /// The entries.
    pub value: Vec<LegacyFileItem>,
}

/// One legacy file entry.
#[derive(Debug, Clone, Serialize)]
pub struct LegacyFileItem {
    /// Reference id.
    #[serde(rename = "$id")]
    pub id: String,
    /// The payload.
    pub properties: LegacyFileProperties,
}

/// `properties` of a legacy file entry.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LegacyFileProperties {
    /// Reference id.
    #[serde(rename = "$id")]
    pub id: String,
    /// Path relative to `/mnt/data`.
    pub filename: String,
    /// Size in bytes.
    pub size: u64,
    /// Modification time (7 fractional digits).
    pub last_modified_time: String,
}

impl LegacyFileList {
    /// Number `$id`s the .NET way: the list is 1, then each item and its properties.
    pub fn new(items: Vec<(String, u64, SystemTime)>) -> Self {
        let value = items
            .into_iter()
            .enumerate()
            .map(|(i, (filename, size, mtime))| LegacyFileItem {
                id: (2 * i + 2).to_string(),
                properties: LegacyFileProperties {
                    id: (2 * i + 3).to_string(),
                    filename,
                    size,
                    last_modified_time: rfc3339(mtime, 7),
                },
            })
            .collect();
        LegacyFileList {
            id: "1".to_string(),
            value,
        }
    }
}

/// `GET session` body (and items of `listSessions`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionInfo {
    /// Session identifier.
    pub identifier: String,
    /// Allocation time.
    pub created_at: String,
    /// Last request time.
    pub last_accessed_at: String,
    /// When the session will be reclaimed if idle.
    pub expire_at: String,
    /// A UUID per allocation.
    pub etag: String,
}

/// `GET listSessions` body.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionList {
    /// The page.
    pub sessions: Vec<SessionInfo>,
    /// Absolute URL of the next page, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_link: Option<String>,
}

/// `.management/getSession` body (note `expiresAt`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionView {
    /// Session identifier.
    pub identifier: String,
    /// A UUID per allocation.
    pub etag: String,
    /// When the session will be reclaimed if idle.
    pub expires_at: String,
    /// Allocation time.
    pub created_at: String,
    /// Last request time.
    pub last_accessed_at: String,
}

/// `.management/listSessions` body.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionViewList {
    /// The page.
    pub value: Vec<SessionView>,
    /// Total number of sessions.
    pub count: usize,
    /// Absolute URL of the next page, or null.
    pub next_link: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn formats_rfc3339() {
        let t = UNIX_EPOCH + Duration::from_millis(1_716_949_045_902);
        assert_eq!(rfc3339(t, 3), "2024-05-29T02:17:25.902Z");
        assert_eq!(rfc3339(UNIX_EPOCH, 7), "1970-01-01T00:00:00.0000000Z");
        let t = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(rfc3339(t, 0), "2000-02-29T00:00:00Z");
    }
}
