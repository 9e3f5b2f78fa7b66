//! Credentials that passed argon2 recently, keyed by credential id. An entry holds a SHA-256
//! digest of the exact value that was verified, so a hit costs a hash and a constant-time
//! compare instead of an argon2 run. Entries are dropped on TTL, on the credential's own
//! expiry or cut-over, and on invalidation (revocation, rotation) from any replica. An entry
//! in use past half its TTL is due for a refresh: the stored row is read again and, if it
//! still holds the hash that was verified, the entry starts a new TTL without argon2.

use std::{
    collections::HashMap,
    sync::{
        Mutex, PoisonError,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::Principal;

pub type ValueDigest = [u8; 32];

pub fn digest(presented: &str) -> ValueDigest {
    Sha256::digest(presented.as_bytes()).into()
}

#[derive(Clone)]
struct Entry {
    digest: ValueDigest,
    /// Digest of the stored PHC string the value was verified against.
    stored_hash: ValueDigest,
    principal: Principal,
    cached_at: DateTime<Utc>,
    /// When the credential itself stops working (expiry or scheduled revocation).
    ends_at: Option<DateTime<Utc>>,
}

/// What a refresh needs to renew an entry: the state it was cached in.
pub struct Refresh {
    generation: u64,
    digest: ValueDigest,
    pub stored_hash: ValueDigest,
    principal: Principal,
}

pub struct VerifiedCache {
    ttl: Duration,
    max_entries: usize,
    entries: Mutex<HashMap<String, Entry>>,
    /// Bumped on every invalidation: a verification that started before an invalidation must
    /// not re-insert what the invalidation removed.
    generation: AtomicU64,
}

/// Outcome of a cache lookup.
pub enum Lookup {
    Hit {
        principal: Principal,
        /// Past half its TTL: refresh it (in the background) so it never expires in use.
        refresh: Option<Refresh>,
    },
    /// This id was verified with a different value: the presented one is wrong.
    Mismatch,
    Miss,
}

impl VerifiedCache {
    pub fn new(ttl: Duration, max_entries: usize) -> Self {
        Self {
            ttl,
            max_entries: max_entries.max(1),
            entries: Mutex::default(),
            generation: AtomicU64::new(0),
        }
    }

    pub fn entries(&self) -> usize {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    pub fn lookup(&self, id: &str, presented: &ValueDigest, now: DateTime<Utc>) -> Lookup {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(entry) = entries.get(id) else {
            return Lookup::Miss;
        };
        let fresh = chrono::Duration::from_std(self.ttl)
            .is_ok_and(|ttl| now < entry.cached_at + ttl)
            && entry.ends_at.is_none_or(|end| now < end);
        if !fresh {
            entries.remove(id);
            return Lookup::Miss;
        }
        if bool::from(entry.digest.ct_eq(presented)) {
            let due = chrono::Duration::from_std(self.ttl / 2)
                .is_ok_and(|half| now >= entry.cached_at + half);
            Lookup::Hit {
                principal: entry.principal.clone(),
                refresh: due.then(|| Refresh {
                    generation: self.generation(),
                    digest: entry.digest,
                    stored_hash: entry.stored_hash,
                    principal: entry.principal.clone(),
                }),
            }
        } else {
            Lookup::Mismatch
        }
    }

    /// Remembers a verification made while the cache was at `generation`.
    #[expect(clippy::too_many_arguments, reason = "one entry's fields")]
    pub fn insert(
        &self,
        generation: u64,
        id: &str,
        digest: ValueDigest,
        stored_hash: ValueDigest,
        principal: Principal,
        now: DateTime<Utc>,
        ends_at: Option<DateTime<Utc>>,
    ) {
        if self.ttl.is_zero() {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        // Checked under the lock: invalidations bump the generation under it too.
        if self.generation() != generation {
            return;
        }
        if entries.len() >= self.max_entries && !entries.contains_key(id) {
            // Full: make room by dropping the entry verified longest ago; it costs its
            // credential one argon2 run if it comes back.
            if let Some(oldest) = entries
                .iter()
                .min_by_key(|(_, entry)| entry.cached_at)
                .map(|(id, _)| id.clone())
            {
                entries.remove(&oldest);
            }
        }
        entries.insert(
            id.to_owned(),
            Entry {
                digest,
                stored_hash,
                principal,
                cached_at: now,
                ends_at,
            },
        );
    }

    /// Starts a new TTL for a refreshed entry, unless an invalidation came in since the
    /// refresh began (then the entry is already gone and stays gone).
    pub fn renew(
        &self,
        id: &str,
        refresh: Refresh,
        now: DateTime<Utc>,
        ends_at: Option<DateTime<Utc>>,
    ) {
        self.insert(
            refresh.generation,
            id,
            refresh.digest,
            refresh.stored_hash,
            refresh.principal,
            now,
            ends_at,
        );
    }

    pub fn evict(&self, id: &str) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        self.generation.fetch_add(1, Ordering::SeqCst);
        entries.remove(id);
    }

    /// Forgets everything, used when invalidations may have been missed.
    pub fn clear(&self) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        self.generation.fetch_add(1, Ordering::SeqCst);
        entries.clear();
    }
}

/// Credentials that ended (revoked, rotated out, deleted with their tenant), here or on
/// another replica.
impl crate::store::notify::Subscriber for VerifiedCache {
    fn notified(&self, payload: &str) {
        for id in payload.split(',') {
            self.evict(id);
        }
    }

    fn missed(&self) {
        self.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal() -> Principal {
        Principal::Operator { key_id: "k".into() }
    }

    #[test]
    fn hit_mismatch_and_ttl() {
        let cache = VerifiedCache::new(Duration::from_secs(10), 100);
        let now = Utc::now();
        cache.insert(
            cache.generation(),
            "id",
            digest("right"),
            digest("phc"),
            principal(),
            now,
            None,
        );
        assert!(matches!(
            cache.lookup("id", &digest("right"), now),
            Lookup::Hit { .. }
        ));
        assert!(matches!(
            cache.lookup("id", &digest("wrong"), now),
            Lookup::Mismatch
        ));
        let later = now + chrono::Duration::seconds(11);
        assert!(matches!(
            cache.lookup("id", &digest("right"), later),
            Lookup::Miss
        ));
    }

    #[test]
    fn credential_end_bounds_the_entry() {
        let cache = VerifiedCache::new(Duration::from_secs(600), 100);
        let now = Utc::now();
        let end = now + chrono::Duration::seconds(5);
        cache.insert(
            cache.generation(),
            "id",
            digest("v"),
            digest("phc"),
            principal(),
            now,
            Some(end),
        );
        assert!(matches!(
            cache.lookup("id", &digest("v"), now),
            Lookup::Hit { .. }
        ));
        assert!(matches!(
            cache.lookup("id", &digest("v"), end),
            Lookup::Miss
        ));
    }

    #[test]
    fn stale_generation_does_not_reinsert() {
        let cache = VerifiedCache::new(Duration::from_secs(10), 100);
        let now = Utc::now();
        let before = cache.generation();
        cache.evict("id");
        cache.insert(
            before,
            "id",
            digest("v"),
            digest("phc"),
            principal(),
            now,
            None,
        );
        assert!(matches!(
            cache.lookup("id", &digest("v"), now),
            Lookup::Miss
        ));
    }

    #[test]
    fn refresh_is_due_after_half_the_ttl_and_renews() {
        let cache = VerifiedCache::new(Duration::from_secs(10), 100);
        let now = Utc::now();
        cache.insert(
            cache.generation(),
            "id",
            digest("v"),
            digest("phc"),
            principal(),
            now,
            None,
        );
        let Lookup::Hit { refresh: None, .. } = cache.lookup("id", &digest("v"), now) else {
            panic!("a fresh entry needs no refresh");
        };
        let later = now + chrono::Duration::seconds(6);
        let Lookup::Hit {
            refresh: Some(refresh),
            ..
        } = cache.lookup("id", &digest("v"), later)
        else {
            panic!("an entry past half its TTL is due");
        };
        cache.renew("id", refresh, later, None);
        let much_later = now + chrono::Duration::seconds(12);
        assert!(matches!(
            cache.lookup("id", &digest("v"), much_later),
            Lookup::Hit { .. }
        ));
    }

    #[test]
    fn an_invalidation_during_a_refresh_wins() {
        let cache = VerifiedCache::new(Duration::from_secs(10), 100);
        let now = Utc::now();
        cache.insert(
            cache.generation(),
            "id",
            digest("v"),
            digest("phc"),
            principal(),
            now,
            None,
        );
        let later = now + chrono::Duration::seconds(6);
        let Lookup::Hit {
            refresh: Some(refresh),
            ..
        } = cache.lookup("id", &digest("v"), later)
        else {
            panic!("due");
        };
        cache.evict("id");
        cache.renew("id", refresh, later, None);
        assert!(matches!(
            cache.lookup("id", &digest("v"), later),
            Lookup::Miss
        ));
    }

    #[test]
    fn bounded_by_dropping_the_oldest() {
        let cache = VerifiedCache::new(Duration::from_secs(60), 2);
        let now = Utc::now();
        for (i, id) in ["a", "b", "c"].into_iter().enumerate() {
            let at = now + chrono::Duration::seconds(i as i64);
            cache.insert(
                cache.generation(),
                id,
                digest(id),
                digest("phc"),
                principal(),
                at,
                None,
            );
        }
        let later = now + chrono::Duration::seconds(3);
        assert!(matches!(
            cache.lookup("a", &digest("a"), later),
            Lookup::Miss
        ));
        assert!(matches!(
            cache.lookup("b", &digest("b"), later),
            Lookup::Hit { .. }
        ));
        assert!(matches!(
            cache.lookup("c", &digest("c"), later),
            Lookup::Hit { .. }
        ));
    }

    #[test]
    fn zero_ttl_disables() {
        let cache = VerifiedCache::new(Duration::ZERO, 100);
        let now = Utc::now();
        cache.insert(
            cache.generation(),
            "id",
            digest("v"),
            digest("phc"),
            principal(),
            now,
            None,
        );
        assert!(matches!(
            cache.lookup("id", &digest("v"), now),
            Lookup::Miss
        ));
    }
}
