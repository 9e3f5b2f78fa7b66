//! Whether the last write reached the disk. A full disk or an I/O error makes every write
//! fail until the cause goes away; `/readyz` reports it meanwhile, and the first write that
//! commits again clears it.

use std::sync::{
    Mutex, PoisonError,
    atomic::{AtomicBool, Ordering},
};

#[derive(Default)]
pub struct StorageHealth {
    degraded: AtomicBool,
    reason: Mutex<Option<String>>,
}

impl StorageHealth {
    pub fn failed(&self, reason: &str) {
        *self.reason.lock().unwrap_or_else(PoisonError::into_inner) = Some(reason.to_owned());
        self.degraded.store(true, Ordering::Release);
    }

    pub fn succeeded(&self) {
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
