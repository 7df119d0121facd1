//! What a request that failed answers: safe text for the client (a page, or `{"error": ...}`
//! under `/api/`), the cause of an internal error in the daemon's log only.

use axum::http::{header, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use maud::html;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Unavailable(String),
    #[error("internal error; the daemon's log says more")]
    Internal(#[source] anyhow::Error),
}

impl Error {
    pub fn status(&self) -> StatusCode {
        match self {
            Error::NotFound(_) => StatusCode::NOT_FOUND,
            Error::BadRequest(_) => StatusCode::BAD_REQUEST,
            Error::Conflict(_) => StatusCode::CONFLICT,
            Error::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// An error of the job layer whose text is meant for the user (an unknown source, a
    /// path in no snapshot, a target that cannot be parsed).
    pub fn bad(e: anyhow::Error) -> Self {
        Error::BadRequest(format!("{e:#}"))
    }

    /// Logged (with its cause) when internal; the client gets the safe text.
    fn logged(&self) -> String {
        if let Error::Internal(e) = self {
            tracing::error!("dashboard request failed: {e:#}");
        }
        self.to_string()
    }

    /// As JSON, for the API.
    pub fn json(self) -> Response {
        let status = self.status();
        let message = self.logged();
        (status, axum::Json(serde_json::json!({ "error": message }))).into_response()
    }
}

impl From<anyhow::Error> for Error {
    fn from(e: anyhow::Error) -> Self {
        Error::Internal(e)
    }
}

impl From<crate::catalog::CatalogError> for Error {
    fn from(e: crate::catalog::CatalogError) -> Self {
        Error::Internal(e.into())
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = self.status();
        let message = self.logged();
        let page = html! {
            (maud::DOCTYPE)
            html { head { meta charset="utf-8"; title { "dxbackup: " (status.as_u16()) }
                link rel="stylesheet" href="/assets/style.css"; }
            body { main { h1 { (status.as_u16()) " " (status.canonical_reason().unwrap_or("")) }
                p.error { (message) } p { a href="/" { "Overview" } } } } }
        };
        (
            status,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            page.into_string(),
        )
            .into_response()
    }
}

pub async fn not_found(uri: Uri) -> Response {
    let e = Error::NotFound(format!("no page {}", uri.path()));
    if uri.path().starts_with("/api/") {
        e.json()
    } else {
        e.into_response()
    }
}
