//! Accepting and serving connections: HTTP/1.1 (keep-alive) and HTTP/2 (prior knowledge) on
//! one listener, a bound on how long a client may take to send a request's headers, and a
//! graceful stop.
//!
//! `axum::serve` serves connections without a timer, so a client that opens a connection and
//! never finishes its request headers (a slow or stalled client, or a slowloris attack) holds
//! the connection and its task forever. Here every connection is served by hyper with a timer:
//!
//! - before the protocol is known, the first bytes must arrive within the header-read timeout
//!   (a connection that sends nothing, or stalls inside the HTTP/2 preface, is closed);
//! - over HTTP/1.1 each request's headers must be complete within the timeout, counted from
//!   when the connection starts waiting for the request; a keep-alive connection idle for that
//!   long is closed too (clients open a new one).
//!
//! On the shutdown signal the listener stops accepting, every connection finishes the request
//! it is serving and closes, and [`serve`] returns once all have closed — as `axum::serve`'s
//! graceful shutdown did.

use std::future::Future;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

/// The bytes every HTTP/2 prior-knowledge connection starts with.
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// How long to pause between two looks at a connection that has sent part of the HTTP/2
/// preface and nothing more (a rare case; peeking does not wait for new bytes).
const PREFACE_POLL: Duration = Duration::from_millis(10);

/// Serves `app` on `listener` until `signal` completes, then stops accepting, lets every open
/// connection finish its in-flight request, and returns when all have closed.
///
/// `header_read_timeout` bounds how long a connection may take to deliver a request's headers
/// (and how long a keep-alive connection may stay idle).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    header_read_timeout: Duration,
    signal: impl Future<Output = ()>,
) {
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout);
    // As axum::serve: the CONNECT protocol for HTTP/2 (websockets over HTTP/2).
    builder
        .http2()
        .timer(TokioTimer::new())
        .enable_connect_protocol();
    // Cancelled on the signal: every connection then finishes its request and closes.
    let stopping = CancellationToken::new();
    // Every connection task holds a receiver; once all are dropped, every connection closed.
    let (open_tx, open_rx) = tokio::sync::watch::channel(());
    let mut signal = std::pin::pin!(signal);
    loop {
        let tcp = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((tcp, _)) => tcp,
                Err(e) => {
                    accept_error(&e).await;
                    continue;
                }
            },
            () = &mut signal => break,
        };
        // TCP_NODELAY: streamed bodies (S3 GetObject) go out in several writes; without it
        // Nagle's algorithm and delayed ACKs add ~40 ms to every such response.
        let _ = tcp.set_nodelay(true);
        let service = TowerToHyperService::new(app.clone());
        let builder = builder.clone();
        let stopping = stopping.clone();
        let open = open_rx.clone();
        tokio::spawn(async move {
            let _open = open;
            // The protocol is chosen from the first bytes, before hyper's own timer runs.
            tokio::select! {
                first = tokio::time::timeout(header_read_timeout, first_bytes(&tcp)) => {
                    if first.is_err() {
                        tracing::debug!("closing a connection that sent no request in time");
                        return;
                    }
                }
                () = stopping.cancelled() => return,
            }
            let connection = builder.serve_connection_with_upgrades(TokioIo::new(tcp), service);
            let mut connection = std::pin::pin!(connection);
            let result = tokio::select! {
                result = connection.as_mut() => result,
                () = stopping.cancelled() => {
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            if let Err(e) = result {
                tracing::debug!("connection ended: {e}");
            }
        });
    }
    drop(listener);
    stopping.cancel();
    drop(open_rx);
    open_tx.closed().await;
}

/// Waits until `tcp` has delivered enough bytes to tell HTTP/1 from the HTTP/2 preface (or has
/// reached its end), without consuming them.
async fn first_bytes(tcp: &TcpStream) {
    let mut buf = [0u8; H2_PREFACE.len()];
    loop {
        match tcp.peek(&mut buf).await {
            Ok(n) if n > 0 && n < buf.len() && buf[..n] == H2_PREFACE[..n] => {
                tokio::time::sleep(PREFACE_POLL).await;
            }
            // HTTP/1, the whole preface, end of stream or an error: hyper takes it from here.
            _ => return,
        }
    }
}

/// Handles a failed `accept`: a connection reset before it was accepted is skipped; anything
/// else (e.g. out of file descriptors) is logged and retried after a pause rather than spun on.
async fn accept_error(e: &std::io::Error) {
    use std::io::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::ConnectionRefused | ErrorKind::ConnectionAborted | ErrorKind::ConnectionReset
    ) {
        return;
    }
    tracing::error!("accepting a connection failed: {e}");
    tokio::time::sleep(Duration::from_secs(1)).await;
}
