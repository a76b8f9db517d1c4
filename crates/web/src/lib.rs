//! Hotline's HTTP surface, the only crate that uses axum.
//!
//! Today: `/healthz` (the process is up) and `/readyz` (the database is reachable and migrated),
//! with errors in one format, RFC 9457 problem+json. The REST and WebSocket API, the agent
//! desktop and the wallboard join this crate with the web issue.
//!
//! Thin shell: no business rules here; what a handler needs comes in through [`AppState`].

mod problem;

use std::future::Future;
use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use tokio::net::TcpListener;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::trace::TraceLayer;

pub use problem::Problem;

/// What `/readyz` asks: is the database reachable, and at which schema version.
pub trait Readiness: Send + Sync + 'static {
    /// `Ok(schema_version)` when ready; `Err(reason)` (one line, no secrets) when not.
    fn check(&self) -> impl Future<Output = Result<u32, String>> + Send;
}

/// Everything the handlers share.
pub struct AppState<R> {
    pub readiness: R,
    pub version: &'static str,
}

/// Settings of the HTTP server itself.
#[derive(Debug, Clone, Copy)]
pub struct HttpLimits {
    pub max_body_bytes: usize,
}

/// The router with every route Hotline serves.
pub fn router<R: Readiness>(state: Arc<AppState<R>>, limits: HttpLimits) -> Router {
    Router::new()
        .route("/healthz", get(healthz::<R>))
        .route("/readyz", get(readyz::<R>))
        .fallback(not_found)
        .layer(RequestBodyLimitLayer::new(limits.max_body_bytes))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Serves until `shutdown` completes, then lets in-flight requests finish.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router).with_graceful_shutdown(shutdown).await
}

#[derive(Serialize)]
struct Health {
    status: &'static str,
    version: &'static str,
}

async fn healthz<R: Readiness>(State(state): State<Arc<AppState<R>>>) -> Json<Health> {
    Json(Health { status: "ok", version: state.version })
}

#[derive(Serialize)]
struct Ready {
    status: &'static str,
    schema_version: u32,
}

async fn readyz<R: Readiness>(State(state): State<Arc<AppState<R>>>) -> Response {
    match state.readiness.check().await {
        Ok(schema_version) => Json(Ready { status: "ready", schema_version }).into_response(),
        Err(reason) => Problem::new(StatusCode::SERVICE_UNAVAILABLE, "Not ready", reason).into_response(),
    }
}

async fn not_found() -> Problem {
    Problem::new(StatusCode::NOT_FOUND, "Not found", "no such resource")
}
