//! In-process integration tests of the wire layer: the whole `app()` router driven with
//! `tower::ServiceExt::oneshot`, no socket. Behaviour through boto3 lives in `tests/boto3/`.

mod engine;
mod support;
mod wire;
