//! A test app over a temporary data dir, and request builders with a SigV4-looking header.

use axum::body::Body;
use axum::http::{Request, Response};
use cleanrooms_emulator::config::Config;
use serde_json::Value;
use tower::ServiceExt;

/// An app over its own temporary data dir.
pub struct TestApp {
    pub router: axum::Router,
    _dir: tempfile::TempDir,
}

impl TestApp {
    pub async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let state =
            cleanrooms_emulator::server::open_state(Config::default(), dir.path().to_path_buf())
                .await
                .unwrap();
        Self {
            router: cleanrooms_emulator::app(state),
            _dir: dir,
        }
    }

    pub async fn send(&self, req: Request<Body>) -> Response<Body> {
        self.router.clone().oneshot(req).await.unwrap()
    }
}

/// An `Authorization` header value for `account` and `service`.
pub fn auth(account: &str, service: &str) -> String {
    format!(
        "AWS4-HMAC-SHA256 Credential={account}/20260101/us-east-1/{service}/aws4_request, SignedHeaders=host, Signature=0"
    )
}

/// A signed Clean Rooms request.
pub fn cleanrooms(method: &str, uri: &str, account: &str, body: &str) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(uri)
        .header("authorization", auth(account, "cleanrooms"))
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap()
}

/// A request signed for `service` (its SigV4 signing name).
pub fn signed_for(
    service: &str,
    method: &str,
    uri: &str,
    account: &str,
    body: &str,
) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(uri)
        .header("authorization", auth(account, service))
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap()
}

/// The body as JSON (`Null` when empty).
pub async fn json(resp: Response<Body>) -> Value {
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap()
    }
}
