//! Time as a parameter: the [`Clock`] trait, the wall clock used in production and a settable
//! clock for tests, so expiry, leeway and cache lifetimes are testable without sleeping.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Source of "now" for every time check in this crate.
pub trait Clock: Send + Sync {
    /// Seconds since the Unix epoch.
    fn now_unix(&self) -> i64;

    /// True only for the real wall clock. When true, the `jsonwebtoken` library's own
    /// `exp`/`nbf` checks (which read the system time) are switched on as a second layer;
    /// with any other clock they would disagree with the injected time, so they stay off.
    fn is_wall_clock(&self) -> bool {
        false
    }
}

/// The operating system's wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_unix(&self) -> i64 {
        match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(elapsed) => i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX),
            // A clock before 1970 is broken; 0 makes every token look expired (fail closed).
            Err(_) => 0,
        }
    }

    fn is_wall_clock(&self) -> bool {
        true
    }
}

/// A clock that only moves when told to. For tests.
#[derive(Debug)]
pub struct ManualClock {
    now: AtomicI64,
}

impl ManualClock {
    pub fn new(now_unix: i64) -> Self {
        ManualClock { now: AtomicI64::new(now_unix) }
    }

    pub fn set(&self, now_unix: i64) {
        self.now.store(now_unix, Ordering::SeqCst);
    }

    pub fn advance(&self, seconds: i64) {
        self.now.fetch_add(seconds, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_unix(&self) -> i64 {
        self.now.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let clock = ManualClock::new(1_000);
        assert_eq!(clock.now_unix(), 1_000);
        clock.advance(5);
        assert_eq!(clock.now_unix(), 1_005);
        clock.set(7);
        assert_eq!(clock.now_unix(), 7);
        assert!(!clock.is_wall_clock());
    }

    #[test]
    fn system_clock_is_after_2020_and_is_the_wall_clock() {
        assert!(SystemClock.now_unix() > 1_577_836_800);
        assert!(SystemClock.is_wall_clock());
    }
}
