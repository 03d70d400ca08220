//! The `api-version` query parameter: which versions exist and which routes each serves.

use crate::error::ApiError;

/// A data-plane api-version the emulator knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ApiVersion {
    /// `2024-02-02-preview` (legacy `properties` family).
    V2024_02_02,
    /// `2024-08-02-preview` (legacy `properties` family).
    V2024_08_02,
    /// `2024-10-02-preview` (current family: executions and files).
    V2024_10_02,
    /// `2025-02-02-preview` (adds session, listSessions, metadata).
    V2025_02_02,
    /// `2025-10-02-preview` (adds shell fields, output limits, recursive listing, `directory`).
    V2025_10_02,
}

/// Which family of routes a request belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// `code/execute`, `files/upload`, `files`, `files/content/{name}`.
    Legacy,
    /// `executions`, `files`, `files/{name}`, `files/{name}/content`.
    Current,
    /// `session`, `listSessions`, `metadata` (2025-02-02-preview and later).
    SessionManagement,
    /// `.management/*` (any known version).
    Management,
}

impl ApiVersion {
    /// All versions, oldest first.
    pub const ALL: [ApiVersion; 5] = [
        ApiVersion::V2024_02_02,
        ApiVersion::V2024_08_02,
        ApiVersion::V2024_10_02,
        ApiVersion::V2025_02_02,
        ApiVersion::V2025_10_02,
    ];

    /// The wire string.
    pub fn as_str(self) -> &'static str {
        match self {
            ApiVersion::V2024_02_02 => "2024-02-02-preview",
            ApiVersion::V2024_08_02 => "2024-08-02-preview",
            ApiVersion::V2024_10_02 => "2024-10-02-preview",
            ApiVersion::V2025_02_02 => "2025-02-02-preview",
            ApiVersion::V2025_10_02 => "2025-10-02-preview",
        }
    }

    /// Parse the query value; missing or unknown gives 400 `SessionRequestValidationFailed`.
    pub fn parse(value: Option<&str>) -> Result<ApiVersion, ApiError> {
        let Some(value) = value else {
            return Err(ApiError::validation(
                "The api-version query parameter is required.",
            ));
        };
        let trimmed = value.trim();
        ApiVersion::ALL
            .into_iter()
            .find(|v| v.as_str().eq_ignore_ascii_case(trimmed))
            .ok_or_else(|| {
                let known: Vec<&str> = ApiVersion::ALL.iter().map(|v| v.as_str()).collect();
                ApiError::validation(format!(
                    "The api-version '{value}' is not valid. Supported versions: {}.",
                    known.join(", ")
                ))
            })
    }

    /// True for the legacy `properties` family.
    pub fn is_legacy(self) -> bool {
        self <= ApiVersion::V2024_08_02
    }

    /// Whether this version serves a family of routes.
    pub fn supports(self, family: Family) -> bool {
        match family {
            Family::Legacy => self.is_legacy(),
            Family::Current => !self.is_legacy(),
            Family::SessionManagement => self >= ApiVersion::V2025_02_02,
            Family::Management => true,
        }
    }

    /// Parse and require support for `family`: 400 `SessionRequestNotSupported` otherwise.
    pub fn require(
        value: Option<&str>,
        family: Family,
        route: &str,
    ) -> Result<ApiVersion, ApiError> {
        let v = ApiVersion::parse(value)?;
        if v.supports(family) {
            Ok(v)
        } else {
            Err(ApiError::not_supported(format!(
                "The route '{route}' is not supported in api-version {}.",
                v.as_str()
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_families() {
        assert!(ApiVersion::parse(None).is_err());
        assert!(ApiVersion::parse(Some("2023-08-01-preview")).is_err());
        let v = ApiVersion::parse(Some("2024-02-02-preview")).unwrap();
        assert!(v.supports(Family::Legacy) && !v.supports(Family::Current));
        let v = ApiVersion::parse(Some("2024-10-02-preview")).unwrap();
        assert!(v.supports(Family::Current) && !v.supports(Family::SessionManagement));
        let v = ApiVersion::parse(Some("2025-10-02-preview")).unwrap();
        assert!(v.supports(Family::SessionManagement) && v.supports(Family::Management));
    }
}
