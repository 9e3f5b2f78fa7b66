//! Recently read users with their group memberships, so that the reads an identity
//! provider repeats (a user by id, the `userName eq` existence check) cost no database
//! round trip. Only on the embedded database: there every write goes through this
//! process, so evicting what a write touched, after it commits and before it is
//! acknowledged, keeps the cache exact. (With PostgreSQL other replicas write too; the
//! cache is off there.)
//!
//! A read that started before an eviction must not put back what the eviction removed: a
//! generation counter, bumped by every eviction, is read before the database read and
//! checked when inserting.
//!
//! Beside it, the ids of users known to exist (and their tenant), so that adding members
//! need not look them up: an id enters only after the create that made it committed, and
//! leaves inside the transaction that deletes it, before that commits. Being absent only
//! costs a lookup, so the set may forget anything at any time.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicU64, Ordering},
    },
};

use entity::scim_user;

/// A user and the groups it is a direct member of: `(group id, displayName)`.
#[derive(Debug, Clone)]
pub struct CachedUser {
    pub row: scim_user::Model,
    pub groups: Vec<(String, String)>,
}

pub struct UserCache {
    capacity: usize,
    generation: AtomicU64,
    entries: Mutex<Entries>,
    /// User id to tenant id.
    known: Mutex<HashMap<String, String>>,
}

#[derive(Default)]
struct Entries {
    by_id: HashMap<String, Arc<CachedUser>>,
    /// `(tenant id, lower-cased userName)` to user id, for every user in `by_id`.
    by_name: HashMap<(String, String), String>,
}

impl Entries {
    fn remove(&mut self, id: &str) {
        if let Some(user) = self.by_id.remove(id) {
            self.by_name
                .remove(&(user.row.tenant_id.clone(), user.row.user_name_lc.clone()));
        }
    }
}

impl UserCache {
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            generation: AtomicU64::new(0),
            entries: Mutex::default(),
            known: Mutex::default(),
        }
    }

    fn known(&self) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
        self.known.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Call once the user's create committed.
    pub fn exists(&self, tenant_id: &str, id: &str) {
        let mut known = self.known();
        if known.len() >= self.capacity {
            // Forgetting is always safe: it costs one lookup.
            known.clear();
        }
        known.insert(id.to_owned(), tenant_id.to_owned());
    }

    /// Call inside the transaction that deletes the user, before it commits.
    pub fn may_be_gone(&self, id: &str) {
        self.known().remove(id);
    }

    /// Whether every one of `ids` is a user of `tenant_id` known to exist.
    pub fn all_exist<'a>(
        &self,
        tenant_id: &str,
        ids: impl IntoIterator<Item = &'a String>,
    ) -> bool {
        let known = self.known();
        ids.into_iter()
            .all(|id| known.get(id).is_some_and(|tenant| tenant == tenant_id))
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Read this before reading the database, and hand it to `insert`.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    pub fn get(&self, tenant_id: &str, id: &str) -> Option<Arc<CachedUser>> {
        self.entries()
            .by_id
            .get(id)
            .filter(|user| user.row.tenant_id == tenant_id)
            .cloned()
    }

    pub fn by_user_name(&self, tenant_id: &str, user_name_lc: &str) -> Option<Arc<CachedUser>> {
        let entries = self.entries();
        let id = entries
            .by_name
            .get(&(tenant_id.to_owned(), user_name_lc.to_owned()))?;
        entries.by_id.get(id).cloned()
    }

    /// Remembers a user read while the cache was at `generation`; does nothing if anything
    /// was evicted since.
    pub fn insert(&self, generation: u64, user: CachedUser) -> Arc<CachedUser> {
        let user = Arc::new(user);
        let mut entries = self.entries();
        // Checked under the lock: evictions bump the generation under it too.
        if self.generation() != generation {
            return user;
        }
        if entries.by_id.len() >= self.capacity && !entries.by_id.contains_key(&user.row.id) {
            // Full: drop any one entry (the map's order is arbitrary); a dropped user
            // costs one database read when it is asked for again.
            if let Some(victim) = entries.by_id.keys().next().cloned() {
                entries.remove(&victim);
            }
        }
        entries.remove(&user.row.id);
        entries.by_name.insert(
            (user.row.tenant_id.clone(), user.row.user_name_lc.clone()),
            user.row.id.clone(),
        );
        entries.by_id.insert(user.row.id.clone(), Arc::clone(&user));
        user
    }

    /// Forgets these users; call it after the write that changed them committed.
    pub fn evict<'a>(&self, ids: impl IntoIterator<Item = &'a String>) {
        let mut entries = self.entries();
        self.generation.fetch_add(1, Ordering::SeqCst);
        for id in ids {
            entries.remove(id);
        }
    }

    /// Forgets everyone (a group renamed or deleted changes many users' `groups`).
    pub fn clear(&self) {
        let mut entries = self.entries();
        self.generation.fetch_add(1, Ordering::SeqCst);
        entries.by_id.clear();
        entries.by_name.clear();
        self.known().clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: &str, tenant: &str, name: &str) -> CachedUser {
        let now = chrono::Utc::now();
        CachedUser {
            row: scim_user::Model {
                id: id.to_owned(),
                tenant_id: tenant.to_owned(),
                user_name: name.to_owned(),
                user_name_lc: name.to_lowercase(),
                external_id: None,
                display_name: None,
                display_name_lc: None,
                active: true,
                data: "{}".to_owned(),
                version: 1,
                created_at: now,
                last_modified: now,
            },
            groups: Vec::new(),
        }
    }

    #[test]
    fn lookups_are_per_tenant() {
        let cache = UserCache::new(10);
        cache.insert(cache.generation(), user("u1", "t1", "Ada"));
        assert!(cache.get("t1", "u1").is_some());
        assert!(cache.get("t2", "u1").is_none());
        assert!(cache.by_user_name("t1", "ada").is_some());
        assert!(cache.by_user_name("t2", "ada").is_none());
    }

    #[test]
    fn a_read_older_than_an_eviction_is_not_cached() {
        let cache = UserCache::new(10);
        let before = cache.generation();
        cache.evict([&"u1".to_owned()]);
        cache.insert(before, user("u1", "t1", "Ada"));
        assert!(cache.get("t1", "u1").is_none());
        assert!(cache.by_user_name("t1", "ada").is_none());
    }

    #[test]
    fn eviction_removes_the_name_too_and_renames_do_not_leave_the_old_name() {
        let cache = UserCache::new(10);
        cache.insert(cache.generation(), user("u1", "t1", "Ada"));
        cache.evict([&"u1".to_owned()]);
        assert!(cache.by_user_name("t1", "ada").is_none());
        cache.insert(cache.generation(), user("u1", "t1", "Ada"));
        cache.insert(cache.generation(), user("u1", "t1", "Grace"));
        assert!(cache.by_user_name("t1", "ada").is_none());
        assert_eq!(cache.by_user_name("t1", "grace").unwrap().row.id, "u1");
    }

    #[test]
    fn known_users_are_per_tenant_and_forgotten_on_delete() {
        let cache = UserCache::new(10);
        let (a, b) = ("a".to_owned(), "b".to_owned());
        cache.exists("t1", &a);
        cache.exists("t1", &b);
        assert!(cache.all_exist("t1", [&a, &b]));
        assert!(!cache.all_exist("t2", [&a]));
        cache.may_be_gone(&b);
        assert!(!cache.all_exist("t1", [&a, &b]));
        cache.clear();
        assert!(!cache.all_exist("t1", [&a]));
    }

    #[test]
    fn bounded() {
        let cache = UserCache::new(3);
        for n in 0..10 {
            cache.insert(
                cache.generation(),
                user(&format!("u{n}"), "t", &format!("n{n}")),
            );
        }
        let entries = cache.entries();
        assert_eq!(entries.by_id.len(), 3);
        assert_eq!(entries.by_name.len(), 3);
    }
}
