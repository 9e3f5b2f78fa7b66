//! Whether the last write reached the disk. A full disk or an I/O error makes every write
//! fail until the cause goes away; `/readyz` reports it meanwhile, and the first write that
//! commits again clears it. A database that refuses every write (a read-only file) fails
//! each write on its own, not a commit, so while no write has committed lately the
//! readiness check writes one of its own to find out.

use std::{
    sync::{
        Mutex, PoisonError,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

#[derive(Default)]
pub struct StorageHealth {
    degraded: AtomicBool,
    reason: Mutex<Option<String>>,
    last_write: Mutex<Option<Instant>>,
}

impl StorageHealth {
    /// Whether no write has committed within `quiet` (or ever).
    pub fn quiet_for(&self, quiet: Duration) -> bool {
        self.last_write
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_none_or(|at| at.elapsed() >= quiet)
    }

    pub fn failed(&self, reason: &str) {
        *self.reason.lock().unwrap_or_else(PoisonError::into_inner) = Some(reason.to_owned());
        self.degraded.store(true, Ordering::Release);
    }

    /// A write committed (one that stored something, not a batch of failed writes).
    pub fn succeeded(&self) {
        *self
            .last_write
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(Instant::now());
        if self.degraded.swap(false, Ordering::AcqRel) {
            tracing::info!("writes reach the database again");
            self.reason
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take();
        }
    }

    /// Why the last write failed, while no write has succeeded since.
    pub fn problem(&self) -> Option<String> {
        if !self.degraded.load(Ordering::Acquire) {
            return None;
        }
        self.reason
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}
