//! The emulator's clock: wall-clock time plus an offset that `POST /_emulator/clock` moves
//! forward. Every time the emulator returns or reasons about comes from here, so tests can make
//! retention, budget refreshes and expiries happen without waiting.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// A source of "now" in epoch seconds.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// Current time in epoch seconds (fractional).
    fn now(&self) -> f64;
}

/// System time shifted by an adjustable offset.
#[derive(Debug, Default)]
pub struct EmulatorClock {
    offset_millis: AtomicI64,
}

impl EmulatorClock {
    /// A clock with the given offset in seconds.
    pub fn with_offset(offset_seconds: f64) -> Self {
        Self {
            offset_millis: AtomicI64::new((offset_seconds * 1000.0) as i64),
        }
    }

    /// The current offset from wall-clock time, in seconds.
    pub fn offset_seconds(&self) -> f64 {
        self.offset_millis.load(Ordering::SeqCst) as f64 / 1000.0
    }

    /// Moves the clock forward by `seconds` and returns the new offset.
    pub fn advance(&self, seconds: f64) -> f64 {
        let delta = (seconds * 1000.0) as i64;
        (self.offset_millis.fetch_add(delta, Ordering::SeqCst) + delta) as f64 / 1000.0
    }

    /// Sets the offset back to zero.
    pub fn reset(&self) {
        self.offset_millis.store(0, Ordering::SeqCst);
    }
}

impl Clock for EmulatorClock {
    fn now(&self) -> f64 {
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        // Millisecond precision, like the timestamps AWS returns.
        ((wall + self.offset_seconds()) * 1000.0).round() / 1000.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advancing_moves_now() {
        let c = EmulatorClock::default();
        let before = c.now();
        assert_eq!(c.advance(3600.0), 3600.0);
        let after = c.now();
        assert!((after - before - 3600.0).abs() < 5.0);
        c.reset();
        assert_eq!(c.offset_seconds(), 0.0);
    }
}
