//! The stop signals [`serve`](super::serve) shuts down gracefully on.

/// Completes on Ctrl-C (SIGINT) or, on Unix, SIGTERM: the signal `docker stop`, Kubernetes
/// and systemd send to stop a process, which would otherwise kill it without a graceful
/// shutdown (open `subscriptions/listen` streams would not get their cancellation and
/// closing result). [`serve`](super::serve) waits for it; give it to
/// [`serve_with_options`](super::serve_with_options) or
/// [`serve_with_shutdown`](super::serve_with_shutdown) for the same behaviour.
///
/// A signal that cannot be listened for is logged and never completes, so the server then
/// runs until killed. Listening starts when the future is first polled, and replaces the
/// signal's default action (ending the process) for the rest of the process's life.
///
/// ```no_run
/// # #[tokio::main] async fn main() -> std::io::Result<()> {
/// use std::time::Duration;
///
/// use mcp_tower::serve::{ServeOptions, serve_with_options, shutdown_signal};
///
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
/// let service = mcp_tower::McpServer::builder(mcp_core::Router::builder().build())
///     .into_http_service();
/// let options = ServeOptions::default().idle_timeout(Duration::from_secs(10));
/// serve_with_options(listener, service, shutdown_signal(), options).await
/// # }
/// ```
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        () = ctrl_c => tracing::info!("Ctrl-C received, shutting down"),
        () = terminate() => tracing::info!("SIGTERM received, shutting down"),
    }
}

#[cfg(unix)]
async fn terminate() {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut terminate) => {
            terminate.recv().await;
        }
        Err(error) => {
            tracing::error!(%error, "cannot listen for SIGTERM");
            std::future::pending::<()>().await;
        }
    }
}

/// No SIGTERM off Unix.
#[cfg(not(unix))]
async fn terminate() {
    std::future::pending::<()>().await;
}
