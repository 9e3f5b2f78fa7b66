//! Per-tenant request limits on the SCIM API: at most `requests` authenticated requests per
//! tenant in each fixed window of `window` (windows start at multiples of its length since
//! the epoch, so every replica agrees on them). A request past the limit is answered 429
//! with `Retry-After`; every counted answer carries `X-Rate-Limit-Limit`, `-Remaining` and
//! `-Reset` (seconds until the window ends).
//!
//! Counting is in memory, so it costs no database work on the request path. On PostgreSQL
//! each replica reports what it counted every `sync_interval` and learns the tenant's total
//! over all replicas in the same statement (`store::rate_limits`): replicas together can
//! let through at most what they count between two reports beyond the limit.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicI64, Ordering},
    },
    time::Duration,
};

use chrono::{DateTime, Utc};

use crate::{
    error::Error,
    store::{self, Storage},
};

#[derive(Debug, Clone, Copy)]
pub struct RateLimitSettings {
    /// Requests per tenant per window; 0 means no limit.
    pub requests: u64,
    pub window: Duration,
    /// How often counts are reported to the other replicas (PostgreSQL).
    pub sync_interval: Duration,
}

impl Default for RateLimitSettings {
    fn default() -> Self {
        Self {
            requests: 2_000,
            window: Duration::from_secs(10),
            sync_interval: Duration::from_millis(500),
        }
    }
}

/// Where a tenant stands in the current window, as the headers tell it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    pub admitted: bool,
    pub limit: u64,
    pub remaining: u64,
    /// Seconds until the window ends (at least 1).
    pub reset_secs: u64,
}

#[derive(Debug, Clone, Copy, Default)]
struct Count {
    window: i64,
    /// The total over every replica at the last report (ours included).
    reported_total: u64,
    /// Counted here since the last report.
    unreported: u64,
    /// Counted here and being reported now: still ours until the total that holds it is back.
    reporting: u64,
}

pub struct RateLimiter {
    settings: RateLimitSettings,
    counts: Mutex<HashMap<String, Count>>,
    /// The oldest window whose shared rows may still exist.
    forgotten_before: AtomicI64,
}

impl RateLimiter {
    pub fn new(settings: RateLimitSettings) -> Self {
        Self {
            settings,
            counts: Mutex::new(HashMap::new()),
            forgotten_before: AtomicI64::new(i64::MIN),
        }
    }

    pub fn enabled(&self) -> bool {
        self.settings.requests > 0 && !self.settings.window.is_zero()
    }

    /// Counts one request of `tenant` at `now` if the tenant's window has room; `None` when
    /// there is no limit.
    pub fn admit(&self, tenant: &str, now: DateTime<Utc>) -> Option<Quota> {
        if !self.enabled() {
            return None;
        }
        let (window, reset_secs) = self.window_at(now);
        let limit = self.settings.requests;
        let mut counts = self.lock();
        let count = match counts.get_mut(tenant) {
            Some(count) => count,
            None => counts.entry(tenant.to_owned()).or_default(),
        };
        if count.window != window {
            *count = Count {
                window,
                ..Count::default()
            };
        }
        let used = count.reported_total + count.reporting + count.unreported;
        let admitted = used < limit;
        if admitted {
            count.unreported += 1;
        }
        Some(Quota {
            admitted,
            limit,
            remaining: limit.saturating_sub(used + 1),
            reset_secs,
        })
    }

    /// Reports what was counted since the last report and learns each tenant's total over
    /// every replica (PostgreSQL); forgets the counts of past windows (both backends).
    pub async fn sync(&self, db: &Storage, now: DateTime<Utc>) -> Result<(), Error> {
        let (window, _) = self.window_at(now);
        if db.backend() == sea_orm::DatabaseBackend::Postgres {
            let forgotten = self.forgotten_before.swap(window - 1, Ordering::Relaxed);
            if forgotten < window - 1
                && let Err(err) = store::rate_limits::forget_before(db, window - 1).await
            {
                self.forgotten_before.store(forgotten, Ordering::Relaxed);
                return Err(err);
            }
        }
        let counted: Vec<(String, i64)> = {
            let mut counts = self.lock();
            counts.retain(|_, count| count.window == window);
            if db.backend() != sea_orm::DatabaseBackend::Postgres {
                return Ok(());
            }
            counts
                .iter_mut()
                .filter(|(_, count)| count.unreported > 0)
                .map(|(tenant, count)| {
                    count.reporting = std::mem::take(&mut count.unreported);
                    (
                        tenant.clone(),
                        i64::try_from(count.reporting).unwrap_or(i64::MAX),
                    )
                })
                .collect()
        };
        let added = store::rate_limits::add(db, window, counted).await;
        let mut counts = self.lock();
        let totals = match &added {
            Ok(totals) => totals.as_slice(),
            Err(_) => &[],
        };
        for count in counts.values_mut().filter(|count| count.window == window) {
            if added.is_err() {
                // Kept for the next report, so the other replicas still hear of them.
                count.unreported += count.reporting;
            }
            count.reporting = 0;
        }
        for (tenant, total) in totals {
            if let Some(count) = counts.get_mut(tenant).filter(|c| c.window == window) {
                count.reported_total = count
                    .reported_total
                    .max(u64::try_from(*total).unwrap_or_default());
            }
        }
        added.map(drop)
    }

    /// Reports every `sync_interval` for as long as `limiter` is alive.
    pub fn start_syncing(limiter: &Arc<Self>, db: Storage, clock: Arc<crate::clock::Clock>) {
        if !limiter.enabled() {
            return;
        }
        let interval = limiter.settings.sync_interval;
        let limiter = Arc::downgrade(limiter);
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(interval);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                let Some(limiter) = limiter.upgrade() else {
                    break;
                };
                if let Err(err) = limiter.sync(&db, clock.now()).await {
                    tracing::warn!(error = %err, "could not share request counts with the other replicas");
                }
            }
        });
    }

    /// The window `now` falls in and the whole seconds left in it (at least 1).
    fn window_at(&self, now: DateTime<Utc>) -> (i64, u64) {
        let length = i64::try_from(self.settings.window.as_millis())
            .unwrap_or(i64::MAX)
            .max(1);
        let at = now.timestamp_millis();
        let window = at.div_euclid(length);
        let left_ms = (window + 1) * length - at;
        let reset_secs = u64::try_from(left_ms).unwrap_or(1).div_ceil(1000).max(1);
        (window, reset_secs)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Count>> {
        self.counts.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn limiter(requests: u64) -> RateLimiter {
        RateLimiter::new(RateLimitSettings {
            requests,
            window: Duration::from_secs(10),
            sync_interval: Duration::from_millis(100),
        })
    }

    fn at(secs: i64, ms: u32) -> DateTime<Utc> {
        Utc.timestamp_opt(secs, ms * 1_000_000).unwrap()
    }

    #[test]
    fn counts_down_then_refuses_until_the_window_ends() {
        let limiter = limiter(3);
        let quotas: Vec<_> = (0..4)
            .map(|_| limiter.admit("a", at(1_000_002, 500)).unwrap())
            .collect();
        assert_eq!(
            quotas
                .iter()
                .map(|q| (q.admitted, q.remaining))
                .collect::<Vec<_>>(),
            [(true, 2), (true, 1), (true, 0), (false, 0)]
        );
        // 1,000,002.5 s is 7.5 s before the window that starts at 1,000,010 s.
        assert!(quotas.iter().all(|q| q.limit == 3 && q.reset_secs == 8));
        let next = limiter.admit("a", at(1_000_010, 0)).unwrap();
        assert!(next.admitted);
        assert_eq!((next.remaining, next.reset_secs), (2, 10));
    }

    #[test]
    fn tenants_have_their_own_counts() {
        let limiter = limiter(1);
        assert!(limiter.admit("a", at(50, 0)).unwrap().admitted);
        assert!(!limiter.admit("a", at(50, 0)).unwrap().admitted);
        assert!(limiter.admit("b", at(50, 0)).unwrap().admitted);
    }

    #[test]
    fn zero_means_no_limit() {
        assert_eq!(limiter(0).admit("a", at(50, 0)), None);
    }

    #[test]
    fn the_reset_is_never_zero() {
        let limiter = limiter(5);
        assert_eq!(limiter.admit("a", at(59, 999)).unwrap().reset_secs, 1);
        assert_eq!(limiter.admit("a", at(-1, 0)).unwrap().reset_secs, 1);
    }
}
