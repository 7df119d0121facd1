//! The JSON API: every page's model as it is (`/api/v1/...`), and `/metrics` for Prometheus.
//! Errors are `{"error": "..."}` with the status code.

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

use super::pages::{self, RunsQuery, SourceQuery};
use super::source_page::{self, DaysQuery, RestoreQuery};
use super::{AppState, Error};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/overview", get(overview))
        .route("/api/v1/sources/{name}", get(source))
        .route("/api/v1/sources/{name}/restore-plan", get(restore_plan))
        .route("/api/v1/runs", get(runs))
        .route("/api/v1/runs/{id}", get(run))
        .route("/api/v1/drills", get(drills))
        .route("/api/v1/config", get(config))
        .route("/metrics", get(metrics))
}

fn json<T: Serialize>(r: Result<T, Error>) -> Response {
    match r {
        Ok(v) => Json(v).into_response(),
        Err(e) => e.json(),
    }
}

async fn overview(State(st): State<AppState>) -> Response {
    json(pages::overview_model(&st).await)
}

async fn source(
    State(st): State<AppState>,
    Path(name): Path<String>,
    Query(q): Query<DaysQuery>,
) -> Response {
    json(source_page::source_model(&st, name, &q).await)
}

async fn restore_plan(
    State(st): State<AppState>,
    Path(name): Path<String>,
    Query(q): Query<RestoreQuery>,
) -> Response {
    json(source_page::restore_model(&st, name, q).await)
}

async fn runs(State(st): State<AppState>, Query(q): Query<RunsQuery>) -> Response {
    json(pages::runs_model(&st, q).await)
}

async fn run(State(st): State<AppState>, Path(id): Path<i64>) -> Response {
    json(pages::run_model(&st, id).await)
}

async fn drills(State(st): State<AppState>, Query(q): Query<SourceQuery>) -> Response {
    json(
        pages::drills_model(&st, q.source)
            .await
            .map(|d| serde_json::json!({ "drills": d })),
    )
}

async fn config(State(st): State<AppState>) -> Response {
    Json(serde_json::json!({ "text": crate::config::stored_text(&st.site().config) }))
        .into_response()
}

/// Prometheus text from the catalog (`crate::metrics`, which never opens a repository).
async fn metrics(State(st): State<AppState>) -> Response {
    match st
        .blocking(|site, _| Ok(crate::metrics::render(site, jiff::Timestamp::now())?))
        .await
    {
        Ok(text) => (
            StatusCode::OK,
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        Err(e) => e.into_response(),
    }
}
