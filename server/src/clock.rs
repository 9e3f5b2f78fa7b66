//! The server's notion of "now". Production reads the system clock; tests move it
//! forward to cross token expiry and rotation cut-overs without sleeping.

use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, Duration, SubsecRound, Utc};

#[derive(Debug, Default)]
pub struct Clock {
    offset_ms: AtomicI64,
}

impl Clock {
    /// Truncated to microseconds, the precision both databases keep, so a value read back
    /// equals the value written.
    pub fn now(&self) -> DateTime<Utc> {
        let now = Utc::now() + Duration::milliseconds(self.offset_ms.load(Ordering::Relaxed));
        now.trunc_subsecs(6)
    }

    /// Moves this clock forward (tests only use it; production never calls it).
    pub fn advance(&self, by: Duration) {
        self.offset_ms
            .fetch_add(by.num_milliseconds(), Ordering::Relaxed);
    }
}
