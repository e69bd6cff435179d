//! For operators, not subscribers. On the public listener: `/healthz` (200
//! when the store answers and, in the daemon, the last scheduler tick ran
//! on time; else 503 saying which) and `/readyz` (200 while the daemon takes
//! traffic: up, not shutting down, store answering; for load balancers). On
//! the metrics listener (`metrics.listen`, loopback by default), built by
//! [`metrics_app`]: `/metrics` in the OpenMetrics text format, and
//! `/healthz` again. `/metrics` is never on the public router. Plain text,
//! no pages.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::AppState;
use crate::metrics::{Metrics, TickHealth};
use crate::store::Store;

pub(super) async fn healthz(State(state): State<AppState>) -> Response {
    health(&state.store, &state.metrics).await
}

pub(super) async fn readyz(State(state): State<AppState>) -> Response {
    if !state.metrics.is_ready() {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: starting or shutting down\n",
        )
            .into_response()
    } else if !state.store.ping().await {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready: store unreachable\n").into_response()
    } else {
        (StatusCode::OK, "ready\n").into_response()
    }
}

/// The router of the metrics listener.
pub fn metrics_app(store: Store, metrics: Arc<Metrics>) -> Router {
    Router::new()
        .route("/metrics", get(metrics_text))
        .route("/healthz", get(ops_healthz))
        .with_state(Ops { store, metrics })
}

#[derive(Clone)]
struct Ops {
    store: Store,
    metrics: Arc<Metrics>,
}

async fn ops_healthz(State(ops): State<Ops>) -> Response {
    health(&ops.store, &ops.metrics).await
}

async fn metrics_text(State(ops): State<Ops>) -> Response {
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        ops.metrics.encode(),
    )
        .into_response()
}

async fn health(store: &Store, metrics: &Metrics) -> Response {
    if !store.ping().await {
        return (StatusCode::SERVICE_UNAVAILABLE, "store unreachable\n").into_response();
    }
    let stamp = |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    match metrics.tick_health(chrono::Utc::now()) {
        TickHealth::NoScheduler => (StatusCode::OK, "ok\n").into_response(),
        TickHealth::OnTime { last } => (
            StatusCode::OK,
            match last {
                Some(t) => format!("ok: last tick {}\n", stamp(t)),
                None => "ok: no tick yet\n".to_owned(),
            },
        )
            .into_response(),
        TickHealth::Overdue { last, due } => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "tick overdue: one was due at {}, last tick {}\n",
                stamp(due),
                last.map_or_else(|| "none since start".to_owned(), stamp)
            ),
        )
            .into_response(),
    }
}
