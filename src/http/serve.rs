//! The listener of `herald run`: accepts connections up to a limit and
//! serves each over HTTP/1.1 with hyper, with a timeout on reading a
//! request's headers that also closes idle keep-alive connections. The
//! whole-request timeout (which bounds reading a body) is a layer of the
//! router (`app`), so router tests see it too. It knows nothing of routes.
//!
//! Only HTTP/1.1 is spoken: Herald runs behind a reverse proxy or is called
//! by a site's backend, and hyper's header timeout is an HTTP/1 setting.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tower::Service;

use crate::config::HttpConfig;

/// The listener's limits (`http.header_timeout`, `http.max_connections`).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// From a connection's first byte, or from the end of its previous
    /// response, to the end of the next request's headers; then the
    /// connection is closed.
    pub header_timeout: Duration,
    /// Connections served at once; more wait in the kernel's backlog.
    pub max_connections: usize,
    /// How long open requests may finish once shutdown begins.
    pub shutdown_grace: Duration,
}

impl Limits {
    pub fn from_config(http: &HttpConfig) -> Limits {
        Limits {
            header_timeout: http.header_timeout,
            max_connections: http.max_connections,
            shutdown_grace: http.request_timeout,
        }
    }
}

/// Serves `app` on `listener` until `shutdown`, then lets open requests
/// finish for at most `limits.shutdown_grace`. Each request carries its
/// peer's address as `ConnectInfo<SocketAddr>`.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    loop {
        let permit = tokio::select! {
            p = slots.clone().acquire_owned() => p.expect("the semaphore is never closed"),
            () = shutdown.cancelled() => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors, mostly: wait rather than spin.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
            },
            () = shutdown.cancelled() => break,
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
            let mut app = app.clone();
            let mut req = req.map(axum::body::Body::new);
            req.extensions_mut().insert(ConnectInfo(peer));
            async move { Ok::<_, Infallible>(app.call(req).await.unwrap_or_else(|e| match e {})) }
        });
        let conn = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_timeout)
            .serve_connection(TokioIo::new(stream), service);
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    if tokio::time::timeout(limits.shutdown_grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("open HTTP requests did not finish in time; dropped");
    }
    Ok(())
}
