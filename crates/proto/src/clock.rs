//! Time as a parameter: the one [`Clock`] trait of the project, the system clock used in
//! production and a settable clock for tests, so expiry, leeway, cooldowns and refresh are
//! testable without sleeping.
//!
//! This module is the only place that reads the wall clock or the monotonic clock directly;
//! `clippy.toml` forbids those calls everywhere else (`disallowed-methods`).
#![allow(clippy::disallowed_methods)]

use std::fmt;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use time::OffsetDateTime;

/// Where "now" comes from.
pub trait Clock: Send + Sync + fmt::Debug {
    /// Wall-clock time, UTC.
    fn now(&self) -> OffsetDateTime;

    /// Seconds since the Unix epoch.
    fn now_unix(&self) -> i64 {
        self.now().unix_timestamp()
    }

    /// A monotonic instant, for durations, cooldowns and deadlines.
    fn instant(&self) -> Instant;
}

/// The operating system's clocks.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }

    /// Without the calendar date and time of day that [`Clock::now`] works out: every request a
    /// connection's remembered token answers reads this once.
    fn now_unix(&self) -> i64 {
        match std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
            Ok(since) => i64::try_from(since.as_secs()).unwrap_or(i64::MAX),
            // Before 1970 (a badly set clock): the same floor as `now()` gives.
            Err(_) => self.now().unix_timestamp(),
        }
    }

    fn instant(&self) -> Instant {
        Instant::now()
    }
}

/// The system clock, shared.
pub fn system() -> Arc<dyn Clock> {
    Arc::new(SystemClock)
}

/// A clock that only moves when told to. For tests. Its wall clock ([`ManualClock::set`],
/// [`ManualClock::advance`]) and its monotonic clock ([`ManualClock::advance_monotonic`]) move
/// separately, as on a real machine where the wall clock can jump and the monotonic one cannot.
#[derive(Debug, Clone)]
pub struct ManualClock {
    inner: Arc<ManualInner>,
}

#[derive(Debug)]
struct ManualInner {
    now_unix: AtomicI64,
    /// Seconds the monotonic clock has moved since `origin`.
    elapsed: AtomicI64,
    origin: Instant,
}

impl ManualClock {
    /// A clock reading `now_unix` seconds since the epoch.
    pub fn at(now_unix: i64) -> Self {
        ManualClock {
            inner: Arc::new(ManualInner {
                now_unix: AtomicI64::new(now_unix),
                elapsed: AtomicI64::new(0),
                origin: Instant::now(),
            }),
        }
    }

    /// Same as [`ManualClock::at`].
    pub fn new(now_unix: i64) -> Self {
        Self::at(now_unix)
    }

    /// Set the wall clock (the monotonic clock does not move).
    pub fn set(&self, now_unix: i64) {
        self.inner.now_unix.store(now_unix, Ordering::SeqCst);
    }

    /// Move the wall clock by `seconds`, forwards or back (the monotonic clock does not move).
    pub fn advance(&self, seconds: i64) {
        self.inner.now_unix.fetch_add(seconds, Ordering::SeqCst);
    }

    /// Let `seconds` of monotonic time pass (the wall clock does not move).
    pub fn advance_monotonic(&self, seconds: u32) {
        self.inner.elapsed.fetch_add(i64::from(seconds), Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(self.now_unix()).unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }

    fn now_unix(&self) -> i64 {
        self.inner.now_unix.load(Ordering::SeqCst)
    }

    fn instant(&self) -> Instant {
        let elapsed = u64::try_from(self.inner.elapsed.load(Ordering::SeqCst)).unwrap_or(0);
        self.inner.origin + Duration::from_secs(elapsed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let clock = ManualClock::new(1_000);
        let start = clock.instant();
        assert_eq!(clock.now_unix(), 1_000);
        clock.advance(5);
        assert_eq!(clock.now_unix(), 1_005);
        clock.set(7);
        assert_eq!(clock.now_unix(), 7);
        assert_eq!(clock.now().unix_timestamp(), 7);
        assert_eq!(clock.instant(), start, "wall-clock jumps leave monotonic time alone");
        clock.advance_monotonic(30);
        assert_eq!(clock.instant() - start, Duration::from_secs(30));
        assert_eq!(clock.now_unix(), 7);
    }

    #[test]
    fn system_clock_is_after_2020() {
        assert!(SystemClock.now_unix() > 1_577_836_800);
        let first = SystemClock.instant();
        assert!(SystemClock.instant() >= first);
    }

    #[test]
    fn system_clock_unix_seconds_agree_with_its_date() {
        // Read between two reads of the date: within their second or the next.
        let before = SystemClock.now().unix_timestamp();
        let unix = SystemClock.now_unix();
        let after = SystemClock.now().unix_timestamp();
        assert!(before <= unix && unix <= after, "{before} <= {unix} <= {after}");
    }
}
