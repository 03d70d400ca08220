//! Data-plane API versions and the two families they belong to.

use std::fmt;
use std::str::FromStr;

/// The request/response family of an API version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ApiFamily {
    /// `2024-02-02-preview`, `2024-08-02-preview`: `code/execute` with a `properties` envelope.
    Legacy,
    /// `2024-10-02-preview` and later: flat `executions` and `files` routes.
    Current,
}

/// A data-plane `api-version`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum ApiVersion {
    /// `2024-02-02-preview` (legacy family).
    V2024_02_02Preview,
    /// `2024-08-02-preview` (legacy family).
    V2024_08_02Preview,
    /// `2024-10-02-preview` (first current-family version).
    V2024_10_02Preview,
    /// `2025-02-02-preview`: adds session management, `listSessions` and `metadata`.
    V2025_02_02Preview,
    /// `2025-10-02-preview`: the newest; adds shell fields, output limits, recursive listing.
    #[default]
    V2025_10_02Preview,
}

impl ApiVersion {
    /// Every supported version, oldest first.
    pub const ALL: [ApiVersion; 5] = [
        ApiVersion::V2024_02_02Preview,
        ApiVersion::V2024_08_02Preview,
        ApiVersion::V2024_10_02Preview,
        ApiVersion::V2025_02_02Preview,
        ApiVersion::V2025_10_02Preview,
    ];

    /// The wire string.
    pub const fn as_str(self) -> &'static str {
        match self {
            ApiVersion::V2024_02_02Preview => "2024-02-02-preview",
            ApiVersion::V2024_08_02Preview => "2024-08-02-preview",
            ApiVersion::V2024_10_02Preview => "2024-10-02-preview",
            ApiVersion::V2025_02_02Preview => "2025-02-02-preview",
            ApiVersion::V2025_10_02Preview => "2025-10-02-preview",
        }
    }

    /// The family this version belongs to.
    pub const fn family(self) -> ApiFamily {
        match self {
            ApiVersion::V2024_02_02Preview | ApiVersion::V2024_08_02Preview => ApiFamily::Legacy,
            _ => ApiFamily::Current,
        }
    }

    /// Whether `GET files` takes `recursive=true` at this version (2025-10-02-preview).
    pub const fn has_recursive_listing(self) -> bool {
        matches!(self, ApiVersion::V2025_10_02Preview)
    }

    /// Whether session management (`session`, `listSessions`, `metadata`) exists at this version.
    pub const fn has_session_management(self) -> bool {
        matches!(
            self,
            ApiVersion::V2025_02_02Preview | ApiVersion::V2025_10_02Preview
        )
    }
}

impl fmt::Display for ApiVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ApiVersion {
    type Err = crate::Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ApiVersion::ALL
            .into_iter()
            .find(|v| v.as_str() == s.trim())
            .ok_or_else(|| {
                let known: Vec<_> = ApiVersion::ALL.iter().map(|v| v.as_str()).collect();
                crate::Error::invalid(format!(
                    "unknown api-version {s:?}; supported versions are {}",
                    known.join(", ")
                ))
            })
    }
}
