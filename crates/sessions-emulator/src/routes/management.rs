//! `.management/getSession`, `.management/listSessions`, `.management/stopSession`.
//! The docs show POST; GET is accepted too. Any known api-version is accepted.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, Method, StatusCode, header};

use super::current::session_page;
use super::links::PoolUrl;
use super::{Params, Shared};
use crate::api_version::Family;
use crate::error::{ApiError, codes};
use crate::sessions::Session;
use crate::shapes::{SessionView, SessionViewList};

fn method_ok(method: &Method, route: &str) -> Result<(), ApiError> {
    if method == Method::POST || method == Method::GET {
        Ok(())
    } else {
        Err(ApiError::not_supported(format!(
            "The method {method} is not supported on '.management/{route}'; use POST."
        )))
    }
}

fn not_found(identifier: &str) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        codes::SESSION_NOT_FOUND,
        format!("No session with identifier '{identifier}' exists in this session pool."),
    )
}

/// `.management/getSession`: never allocates; unknown → 400 `SessionWithIdentifierNotFound`.
pub async fn get_session(
    State(st): State<Shared>,
    method: Method,
    params: Params,
) -> Result<Json<SessionView>, ApiError> {
    method_ok(&method, "getSession")?;
    params.version(Family::Management, ".management/getSession")?;
    let identifier = params.identifier()?;
    let session = st
        .sessions
        .get(&identifier)
        .ok_or_else(|| not_found(&identifier))?;
    Ok(Json(session.view(st.sessions.cooldown())))
}

/// `.management/listSessions`: `{"value":[...],"count":total,"nextLink":url|null}`, pages of 300
/// unless configured.
pub async fn list_sessions(
    State(st): State<Shared>,
    method: Method,
    params: Params,
    pool_url: PoolUrl,
) -> Result<Json<SessionViewList>, ApiError> {
    method_ok(&method, "listSessions")?;
    let version = params.version(Family::Management, ".management/listSessions")?;
    let (value, count, next_link) = session_page(
        &st,
        &params,
        &pool_url,
        ".management/listSessions",
        version,
        Session::view,
    )?;
    Ok(Json(SessionViewList {
        value,
        count,
        next_link,
    }))
}

/// `.management/stopSession`: 200 `text/plain` `"Session <id> in session pool <pool> stopped."`.
pub async fn stop_session(
    State(st): State<Shared>,
    method: Method,
    params: Params,
) -> Result<Response, ApiError> {
    method_ok(&method, "stopSession")?;
    params.version(Family::Management, ".management/stopSession")?;
    let identifier = params.identifier()?;
    if !st.sessions.remove(&identifier).await {
        return Err(not_found(&identifier));
    }
    let body = format!(
        "Session {identifier} in session pool {} stopped.",
        st.config.pool_name
    );
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        )],
        body,
    )
        .into_response())
}
