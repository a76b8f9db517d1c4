//! Health, readiness, the OpenAPI document and the docs page.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use serde_json::{Value, json};

use super::S;
use crate::problem::{Problem, ProblemKind};

pub(crate) async fn healthz(State(app): State<S>) -> Json<Value> {
    Json(json!({"status": "ok", "version": app.version}))
}

/// Ready when the database answers and its schema is the one this binary knows.
pub(crate) async fn readyz(State(app): State<S>) -> Response {
    match app.store.schema_status().await {
        Ok(s) if s.is_current() => Json(json!({"status": "ready", "schema_version": s.current})).into_response(),
        Ok(s) => Problem::of(
            ProblemKind::Unavailable,
            format!("database schema is at version {}, expected {}", s.current, s.latest_known),
        )
        .into_response(),
        Err(e) => Problem::of(ProblemKind::Unavailable, e.to_string()).into_response(),
    }
}

pub(crate) async fn openapi(State(app): State<S>) -> Response {
    ([(header::CACHE_CONTROL, "no-cache")], Json(crate::openapi::document(app.version))).into_response()
}

pub(crate) async fn docs() -> Html<&'static str> {
    Html(include_str!("../docs.html"))
}

pub(crate) async fn metrics(State(app): State<S>) -> Response {
    let (throttle_evictions, (rate_evictions, tracked)) = {
        let t = app.throttle().evictions();
        let r = app.rate();
        (t, (r.evictions(), r.tracked_clients()))
    };
    let mut text = app.metrics.render(throttle_evictions, rate_evictions, tracked);
    text.push_str(&app.streams.render());
    if let Some(social) = &app.social {
        text.push_str(&social.render_metrics());
    }
    if let Some(center) = &app.center {
        match center.snapshot().await {
            Ok(snap) => {
                let (queues, agents) = crate::metrics::feed_snapshots(&snap);
                let counters = app.tally.lock().unwrap_or_else(std::sync::PoisonError::into_inner).counters().clone();
                text.push_str(&feeds::prometheus::render(&queues, &agents, &counters));
            }
            Err(e) => tracing::warn!(error = %e, "live figures left out of /api/metrics: the center did not answer"),
        }
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}
