//! Credentials that passed argon2 recently, keyed by credential id. An entry holds a SHA-256
//! digest of the exact value that was verified, so a hit costs a hash and a constant-time
//! compare instead of an argon2 run. Entries are dropped on TTL, on the credential's own
//! expiry or cut-over, and on invalidation (revocation, rotation) from any replica.

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
    principal: Principal,
    cached_at: DateTime<Utc>,
    /// When the credential itself stops working (expiry or scheduled revocation).
    ends_at: Option<DateTime<Utc>>,
}

pub struct VerifiedCache {
    ttl: Duration,
    entries: Mutex<HashMap<String, Entry>>,
    /// Bumped on every invalidation: a verification that started before an invalidation must
    /// not re-insert what the invalidation removed.
    generation: AtomicU64,
}

/// Outcome of a cache lookup.
pub enum Lookup {
    Hit(Principal),
    /// This id was verified with a different value: the presented one is wrong.
    Mismatch,
    Miss,
}

impl VerifiedCache {
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: Mutex::default(),
            generation: AtomicU64::new(0),
        }
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
            Lookup::Hit(entry.principal.clone())
        } else {
            Lookup::Mismatch
        }
    }

    /// Remembers a verification made while the cache was at `generation`.
    pub fn insert(
        &self,
        generation: u64,
        id: &str,
        digest: ValueDigest,
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
        entries.insert(
            id.to_owned(),
            Entry {
                digest,
                principal,
                cached_at: now,
                ends_at,
            },
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

#[cfg(test)]
mod tests {
    use super::*;

    fn principal() -> Principal {
        Principal::Operator { key_id: "k".into() }
    }

    #[test]
    fn hit_mismatch_and_ttl() {
        let cache = VerifiedCache::new(Duration::from_secs(10));
        let now = Utc::now();
        cache.insert(
            cache.generation(),
            "id",
            digest("right"),
            principal(),
            now,
            None,
        );
        assert!(matches!(
            cache.lookup("id", &digest("right"), now),
            Lookup::Hit(_)
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
        let cache = VerifiedCache::new(Duration::from_secs(600));
        let now = Utc::now();
        let end = now + chrono::Duration::seconds(5);
        cache.insert(
            cache.generation(),
            "id",
            digest("v"),
            principal(),
            now,
            Some(end),
        );
        assert!(matches!(
            cache.lookup("id", &digest("v"), now),
            Lookup::Hit(_)
        ));
        assert!(matches!(
            cache.lookup("id", &digest("v"), end),
            Lookup::Miss
        ));
    }

    #[test]
    fn stale_generation_does_not_reinsert() {
        let cache = VerifiedCache::new(Duration::from_secs(10));
        let now = Utc::now();
        let before = cache.generation();
        cache.evict("id");
        cache.insert(before, "id", digest("v"), principal(), now, None);
        assert!(matches!(
            cache.lookup("id", &digest("v"), now),
            Lookup::Miss
        ));
    }

    #[test]
    fn zero_ttl_disables() {
        let cache = VerifiedCache::new(Duration::ZERO);
        let now = Utc::now();
        cache.insert(
            cache.generation(),
            "id",
            digest("v"),
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
