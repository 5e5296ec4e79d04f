//! Startup recoveries: what a service finishes or rolls back when the emulator starts, after a
//! stopped process left work unfinished. Each service declares its own [`Recovery`] (a name for
//! error messages, its place in the order, and the procedure over the state);
//! `services::recoveries` is the one list of them, which the server runs in order, to
//! completion, before the listener exists, naming no service itself.

use std::future::Future;
use std::pin::Pin;

use crate::state::AppState;

/// The future of one recovery: `Err` carries the message the server reports.
pub type RecoveryFuture<'a> = Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>>;

/// One startup recovery.
#[derive(Clone, Copy)]
pub struct Recovery {
    /// What it recovers, as the server's error names it ("S3 write journal").
    pub name: &'static str,
    /// Its place: lower runs first (distinct across the list).
    pub order: u8,
    /// The procedure.
    pub run: for<'a> fn(&'a AppState) -> RecoveryFuture<'a>,
}

impl std::fmt::Debug for Recovery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recovery")
            .field("name", &self.name)
            .field("order", &self.order)
            .finish_non_exhaustive()
    }
}
