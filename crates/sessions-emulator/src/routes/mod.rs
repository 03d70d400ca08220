//! The HTTP surface: one router serving the current, legacy and `.management` families.

pub mod current;
pub mod files;
pub mod legacy;
pub mod links;
pub mod management;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

use axum::Router;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, FromRequestParts, Request};
use axum::routing::{any, get, post};
use bytes::Bytes;
use http::request::Parts;
use tokio::sync::OnceCell;

use crate::api_version::{ApiVersion, Family};
use crate::auth;
use crate::config::EmulatorConfig;
use crate::error::{ApiError, codes};
use crate::runtime::IsolationReport;
use crate::sessions::{Allocation, SessionManager};

/// State shared by all handlers.
#[derive(Debug)]
pub struct AppState {
    /// Settings.
    pub config: EmulatorConfig,
    /// Sessions.
    pub sessions: Arc<SessionManager>,
    /// Isolation in force.
    pub isolation: IsolationReport,
    /// When the emulator started (pool `createdAt`).
    pub started_at: SystemTime,
    /// Where uploads are staged before they are moved into a session.
    pub staging: PathBuf,
    /// Lazily computed runtime facts for `metadata`.
    pub metadata: OnceCell<serde_json::Value>,
    /// The bound address (the authority of links when a request names none).
    pub local_addr: SocketAddr,
    /// Whether the pool serves https.
    pub tls: bool,
}

/// Handler state.
pub type Shared = Arc<AppState>;

/// The query string as a map (last value wins).
#[derive(Debug, Clone, Default)]
pub struct Params(pub HashMap<String, String>);

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let q = parts.uri.query().unwrap_or("");
        serde_urlencoded_map(q)
            .map(Params)
            .map_err(|e| ApiError::validation(format!("The query string is malformed: {e}")))
    }
}

fn serde_urlencoded_map(q: &str) -> Result<HashMap<String, String>, String> {
    let mut map = HashMap::new();
    for pair in q.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let dec = |s: &str| {
            percent_encoding::percent_decode_str(&s.replace('+', " "))
                .decode_utf8()
                .map(|c| c.into_owned())
                .map_err(|_| format!("'{s}' is not valid UTF-8 after decoding"))
        };
        map.insert(dec(k)?, dec(v)?);
    }
    Ok(map)
}

impl Params {
    /// A raw query value.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    /// The api-version, required to serve `family`.
    pub fn version(&self, family: Family, route: &str) -> Result<ApiVersion, ApiError> {
        ApiVersion::require(self.get("api-version"), family, route)
    }

    /// The validated `identifier` query parameter.
    pub fn identifier(&self) -> Result<String, ApiError> {
        validate_identifier(self.get("identifier"))
    }

    /// A boolean query value (`true`/`false`, any case).
    pub fn flag(&self, key: &str) -> Result<bool, ApiError> {
        match self.get(key) {
            None | Some("") => Ok(false),
            Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
            Some(v) if v.eq_ignore_ascii_case("false") => Ok(false),
            Some(v) => Err(ApiError::validation(format!(
                "The query parameter '{key}' must be true or false, not '{v}'."
            ))),
        }
    }

    /// A non-negative integer query value.
    pub fn uint(&self, key: &str) -> Result<Option<usize>, ApiError> {
        match self.get(key) {
            None | Some("") => Ok(None),
            Some(v) => v.trim().parse().map(Some).map_err(|_| {
                ApiError::validation(format!(
                    "The query parameter '{key}' must be a non-negative integer, not '{v}'."
                ))
            }),
        }
    }
}

/// Characters allowed in an identifier besides ASCII letters and digits: the pattern of the
/// definitions' `#/parameters/SessionIdentifier` (2025-10-02-preview),
/// ``^[a-zA-Z0-9_|}{\[\]:"";'<>?/.,@#$%^&*()_\-+=!~`]{4,128}$``. Identifiers never reach a
/// host path: sessions live in slot directories the pool names itself.
pub const IDENTIFIER_PUNCTUATION: &str = "_|}{[]:\";'<>?/.,@#$%^&*()-+=!~`";

/// Validate an identifier: 4–128 characters, ASCII letters and digits plus
/// [`IDENTIFIER_PUNCTUATION`].
pub fn validate_identifier(value: Option<&str>) -> Result<String, ApiError> {
    let Some(id) = value.filter(|v| !v.is_empty()) else {
        return Err(ApiError::validation(
            "The identifier query parameter is required.",
        ));
    };
    let n = id.chars().count();
    if !(4..=128).contains(&n) {
        return Err(ApiError::validation(format!(
            "The identifier must be 4 to 128 characters long; it has {n}."
        )));
    }
    if let Some(bad) = id
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || IDENTIFIER_PUNCTUATION.contains(*c)))
    {
        return Err(ApiError::validation(format!(
            "The identifier contains the character {bad:?}; allowed are ASCII letters, digits and {IDENTIFIER_PUNCTUATION} (percent-escape them in the query)."
        )));
    }
    Ok(id.to_string())
}

impl AppState {
    /// `https` behind TLS, else `http`.
    pub fn scheme(&self) -> &'static str {
        if self.tls { "https" } else { "http" }
    }

    /// Allocate (or find) the session of a session-scoped call.
    pub async fn session(&self, identifier: &str) -> Result<Allocation, ApiError> {
        self.sessions.get_or_allocate(identifier).await
    }
}

/// Answer for routes and methods the emulator does not serve.
pub async fn unsupported(req: Request) -> ApiError {
    ApiError::not_supported(format!(
        "The request '{} {}' is not supported.",
        req.method(),
        req.uri().path()
    ))
}

/// The buffered JSON body of an execution request, or a clear 413 past `limit` bytes.
pub fn json_body(body: Result<Bytes, BytesRejection>, limit: usize) -> Result<Bytes, ApiError> {
    body.map_err(|e| {
        if e.status() == http::StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                e.status(),
                codes::TOO_LARGE,
                format!(
                    "The request body is larger than the limit of {limit} bytes; send large inputs as files instead."
                ),
            )
        } else {
            ApiError::validation(format!("The request body could not be read: {}", e.body_text()))
        }
    })
}

/// Build the router (without path normalisation; see [`normalize_path`]).
pub fn router(state: Shared) -> Router {
    let auth_mode = state.config.auth;
    // Uploads stream with their own limit; JSON bodies are buffered, so they get one here.
    let json_limit = DefaultBodyLimit::max(state.config.max_json_body_bytes);
    Router::new()
        .route(
            "/executions",
            post(current::execute)
                .layer(json_limit)
                .fallback(unsupported),
        )
        .route(
            "/executions/{id}",
            get(current::get_execution).fallback(unsupported),
        )
        .route(
            "/session",
            get(current::get_session)
                .delete(current::delete_session)
                .fallback(unsupported),
        )
        .route(
            "/listSessions",
            get(current::list_sessions).fallback(unsupported),
        )
        .route("/metadata", get(current::metadata).fallback(unsupported))
        .route(
            "/code/execute",
            post(legacy::execute)
                .layer(json_limit)
                .fallback(unsupported),
        )
        .route("/files", any(files::files_root))
        .route("/files/{*rest}", any(files::files_rest))
        .route("/.management/getSession", any(management::get_session))
        .route("/.management/listSessions", any(management::list_sessions))
        .route("/.management/stopSession", any(management::stop_session))
        .fallback(unsupported)
        .layer(DefaultBodyLimit::disable())
        .layer(axum::middleware::from_fn_with_state(
            auth_mode,
            auth::authenticate,
        ))
        .with_state(state)
}

/// Rewrite the request path before routing: collapse `//`, drop a trailing `/`, and strip an
/// Azure-style `/subscriptions/{s}/resourceGroups/{g}/sessionPools/{p}` prefix, kept as the
/// [`links::BasePath`] of the links the pool answers with.
pub fn normalize_path(mut req: Request) -> Request {
    let uri = req.uri().clone();
    let path = uri.path();
    let mut segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let mut base = "/".to_string();
    if segs.len() >= 6
        && segs[0].eq_ignore_ascii_case("subscriptions")
        && segs[2].eq_ignore_ascii_case("resourceGroups")
        && segs[4].eq_ignore_ascii_case("sessionPools")
    {
        base = format!("/{}/", segs[..6].join("/"));
        segs.drain(..6);
    }
    req.extensions_mut().insert(links::BasePath(base));
    let new_path = format!("/{}", segs.join("/"));
    if new_path != path {
        let pq = match uri.query() {
            Some(q) => format!("{new_path}?{q}"),
            None => new_path,
        };
        let mut parts = uri.clone().into_parts();
        if let Ok(pq) = pq.parse() {
            parts.path_and_query = Some(pq);
            if let Ok(u) = http::Uri::from_parts(parts) {
                *req.uri_mut() = u;
            }
        }
    }
    req
}
