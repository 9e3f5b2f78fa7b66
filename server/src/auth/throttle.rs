//! Counts failed authentications per key (a client address, a credential id): after
//! `limit` failures inside one window the key is throttled until the window ends. Per
//! process, so with N replicas a key gets at most N times the allowance. At most
//! `MAX_KEYS` keys are tracked; past that, new keys are not counted until old windows end.

use std::{
    collections::HashMap,
    sync::{Mutex, PoisonError},
    time::Duration,
};

use chrono::{DateTime, Utc};

/// Beyond this many tracked keys, finished windows are swept out on the next failure.
const SWEEP_ABOVE: usize = 10_000;
/// The table's bound, whatever the window.
const MAX_KEYS: usize = 100_000;

pub struct FailureThrottle {
    limit: u32,
    window: chrono::Duration,
    clients: Mutex<HashMap<String, Window>>,
}

struct Window {
    started: DateTime<Utc>,
    failures: u32,
}

impl FailureThrottle {
    pub fn new(limit: u32, window: Duration) -> Self {
        Self {
            limit,
            window: chrono::Duration::from_std(window).unwrap_or(chrono::Duration::MAX),
            clients: Mutex::default(),
        }
    }

    /// Seconds the client must wait, if it is currently blocked.
    pub fn retry_after(&self, client: &str, now: DateTime<Utc>) -> Option<u64> {
        let clients = self.clients.lock().unwrap_or_else(PoisonError::into_inner);
        let window = clients.get(client)?;
        let ends = window.started + self.window;
        (window.failures >= self.limit && now < ends)
            .then(|| u64::try_from((ends - now).num_seconds()).unwrap_or(0) + 1)
    }

    pub fn record_failure(&self, client: &str, now: DateTime<Utc>) {
        let mut clients = self.clients.lock().unwrap_or_else(PoisonError::into_inner);
        if clients.len() > SWEEP_ABOVE {
            let window = self.window;
            clients.retain(|_, w| now < w.started + window);
        }
        if clients.len() >= MAX_KEYS && !clients.contains_key(client) {
            return;
        }
        let window = clients.entry(client.to_owned()).or_insert(Window {
            started: now,
            failures: 0,
        });
        if now >= window.started + self.window {
            *window = Window {
                started: now,
                failures: 0,
            };
        }
        window.failures = window.failures.saturating_add(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_after_limit_until_window_ends() {
        let throttle = FailureThrottle::new(3, Duration::from_secs(60));
        let now = Utc::now();
        for _ in 0..3 {
            assert_eq!(throttle.retry_after("a", now), None);
            throttle.record_failure("a", now);
        }
        let wait = throttle.retry_after("a", now).unwrap();
        assert!((60..=61).contains(&wait), "{wait}");
        assert_eq!(
            throttle.retry_after("b", now),
            None,
            "other clients are not affected"
        );
        let later = now + chrono::Duration::seconds(61);
        assert_eq!(throttle.retry_after("a", later), None);
        throttle.record_failure("a", later);
        assert_eq!(
            throttle.retry_after("a", later),
            None,
            "a new window starts empty"
        );
    }
}
