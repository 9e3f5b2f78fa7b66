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
use uuid::Uuid;

use super::user_names::UserNames;

/// Names known per cached user at most (`UserNames`): a name costs about a fiftieth of a
/// cached user.
const NAMES_PER_ENTRY: usize = 10;

/// A user and the groups it is a direct member of: `(group id, displayName)`.
#[derive(Debug, Clone)]
pub struct CachedUser {
    pub row: scim_user::Model,
    pub groups: Vec<(String, String)>,
}

/// A user or tenant id as the maps hold it. Ids are keys of their own rather than strings:
/// the maps then hold no text beside the users themselves (strings as keys took about a
/// quarter of the cache's memory, 3 MiB of 13 at 10,000 users). Only an id in the form this
/// server writes (a lower-case hyphenated UUID) has one; any other spelling of the same
/// UUID is another id to the database, so it must miss here too, and an id without a key
/// is simply never cached.
pub(super) type Key = u128;

pub(super) fn key(id: &str) -> Option<Key> {
    let uuid = Uuid::try_parse(id).ok()?;
    let mut canonical = [0; uuid::fmt::Hyphenated::LENGTH];
    (uuid.hyphenated().encode_lower(&mut canonical) == id).then(|| uuid.as_u128())
}

pub struct UserCache {
    capacity: usize,
    generation: AtomicU64,
    entries: Mutex<Entries>,
    /// User to tenant.
    known: Mutex<HashMap<Key, Key>>,
    names: UserNames,
}

#[derive(Default)]
struct Entries {
    by_id: HashMap<Key, Arc<CachedUser>>,
    /// Per tenant, lower-cased `userName` to user, for every user in `by_id`.
    by_name: HashMap<Key, HashMap<Box<str>, Key>>,
}

impl Entries {
    fn remove(&mut self, id: Key) {
        let Some(user) = self.by_id.remove(&id) else {
            return;
        };
        let Some(tenant) = key(&user.row.tenant_id) else {
            return;
        };
        if let Some(names) = self.by_name.get_mut(&tenant) {
            names.remove(user.row.user_name_lc.as_str());
            if names.is_empty() {
                self.by_name.remove(&tenant);
            }
        }
    }

    #[cfg(test)]
    fn names(&self) -> usize {
        self.by_name.values().map(HashMap::len).sum()
    }
}

impl UserCache {
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            generation: AtomicU64::new(0),
            entries: Mutex::default(),
            known: Mutex::default(),
            names: UserNames::new(capacity.saturating_mul(NAMES_PER_ENTRY)),
        }
    }

    /// The userNames each tenant may hold.
    pub fn names(&self) -> &UserNames {
        &self.names
    }

    fn known(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Key>> {
        self.known.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Call once the user's create committed.
    pub fn exists(&self, tenant_id: &str, id: &str) {
        let (Some(tenant), Some(id)) = (key(tenant_id), key(id)) else {
            return;
        };
        let mut known = self.known();
        if known.len() >= self.capacity {
            // Forgetting is always safe: it costs one lookup.
            known.clear();
        }
        known.insert(id, tenant);
    }

    /// Call inside the transaction that deletes the user, before it commits.
    pub fn may_be_gone(&self, id: &str) {
        if let Some(id) = key(id) {
            self.known().remove(&id);
        }
    }

    /// Whether every one of `ids` is a user of `tenant_id` known to exist.
    pub fn all_exist<'a>(
        &self,
        tenant_id: &str,
        ids: impl IntoIterator<Item = &'a String>,
    ) -> bool {
        let Some(tenant) = key(tenant_id) else {
            return false;
        };
        let known = self.known();
        ids.into_iter().all(|id| {
            key(id)
                .and_then(|id| known.get(&id))
                .is_some_and(|&of| of == tenant)
        })
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Read this before reading the database, and hand it to `insert`.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    pub fn get(&self, tenant_id: &str, id: &str) -> Option<Arc<CachedUser>> {
        let id = key(id)?;
        self.entries()
            .by_id
            .get(&id)
            .filter(|user| user.row.tenant_id == tenant_id)
            .cloned()
    }

    pub fn by_user_name(&self, tenant_id: &str, user_name_lc: &str) -> Option<Arc<CachedUser>> {
        let tenant = key(tenant_id)?;
        let entries = self.entries();
        let id = entries.by_name.get(&tenant)?.get(user_name_lc)?;
        entries.by_id.get(id).cloned()
    }

    /// Remembers a user read while the cache was at `generation`; does nothing if anything
    /// was evicted since.
    pub fn insert(&self, generation: u64, user: CachedUser) -> Arc<CachedUser> {
        let user = Arc::new(user);
        let (Some(id), Some(tenant)) = (key(&user.row.id), key(&user.row.tenant_id)) else {
            return user;
        };
        let mut entries = self.entries();
        // Checked under the lock: evictions bump the generation under it too.
        if self.generation() != generation {
            return user;
        }
        if entries.by_id.len() >= self.capacity && !entries.by_id.contains_key(&id) {
            // Full: drop any one entry (the map's order is arbitrary); a dropped user
            // costs one database read when it is asked for again.
            if let Some(&victim) = entries.by_id.keys().next() {
                entries.remove(victim);
            }
        }
        entries.remove(id);
        entries
            .by_name
            .entry(tenant)
            .or_default()
            .insert(user.row.user_name_lc.as_str().into(), id);
        entries.by_id.insert(id, Arc::clone(&user));
        user
    }

    /// Forgets these users; call it after the write that changed them committed.
    pub fn evict<'a>(&self, ids: impl IntoIterator<Item = &'a String>) {
        let mut entries = self.entries();
        self.generation.fetch_add(1, Ordering::SeqCst);
        for id in ids.into_iter().filter_map(|id| key(id)) {
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

    /// The id this server would give the `n`th user or tenant.
    fn id(n: u128) -> String {
        Uuid::from_u128(n).to_string()
    }

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
        let (u1, t1, t2) = (id(1), id(101), id(102));
        cache.insert(cache.generation(), user(&u1, &t1, "Ada"));
        assert!(cache.get(&t1, &u1).is_some());
        assert!(cache.get(&t2, &u1).is_none());
        assert!(cache.by_user_name(&t1, "ada").is_some());
        assert!(cache.by_user_name(&t2, "ada").is_none());
    }

    #[test]
    fn only_the_spelling_the_database_holds_finds_a_user() {
        let cache = UserCache::new(10);
        let (u1, t1) = (id(0xabc), id(0xdef));
        cache.insert(cache.generation(), user(&u1, &t1, "Ada"));
        for other in [
            u1.to_uppercase(),
            u1.replace('-', ""),
            format!("urn:uuid:{u1}"),
            format!("{{{u1}}}"),
        ] {
            assert!(cache.get(&t1, &other).is_none(), "{other}");
        }
        assert!(cache.get(&t1.to_uppercase(), &u1).is_none());
        assert!(cache.by_user_name(&t1.to_uppercase(), "ada").is_none());
    }

    #[test]
    fn ids_of_another_form_are_not_cached() {
        let cache = UserCache::new(10);
        let t1 = id(101);
        cache.insert(cache.generation(), user("u1", &t1, "Ada"));
        assert!(cache.get(&t1, "u1").is_none());
        assert!(cache.by_user_name(&t1, "ada").is_none());
        cache.exists(&t1, "u1");
        assert!(!cache.all_exist(&t1, [&"u1".to_owned()]));
    }

    #[test]
    fn a_read_older_than_an_eviction_is_not_cached() {
        let cache = UserCache::new(10);
        let (u1, t1) = (id(1), id(101));
        let before = cache.generation();
        cache.evict([&u1]);
        cache.insert(before, user(&u1, &t1, "Ada"));
        assert!(cache.get(&t1, &u1).is_none());
        assert!(cache.by_user_name(&t1, "ada").is_none());
    }

    #[test]
    fn eviction_removes_the_name_too_and_renames_do_not_leave_the_old_name() {
        let cache = UserCache::new(10);
        let (u1, t1) = (id(1), id(101));
        cache.insert(cache.generation(), user(&u1, &t1, "Ada"));
        cache.evict([&u1]);
        assert!(cache.by_user_name(&t1, "ada").is_none());
        cache.insert(cache.generation(), user(&u1, &t1, "Ada"));
        cache.insert(cache.generation(), user(&u1, &t1, "Grace"));
        assert!(cache.by_user_name(&t1, "ada").is_none());
        assert_eq!(cache.by_user_name(&t1, "grace").unwrap().row.id, u1);
    }

    #[test]
    fn known_users_are_per_tenant_and_forgotten_on_delete() {
        let cache = UserCache::new(10);
        let (a, b, t1, t2) = (id(1), id(2), id(101), id(102));
        cache.exists(&t1, &a);
        cache.exists(&t1, &b);
        assert!(cache.all_exist(&t1, [&a, &b]));
        assert!(!cache.all_exist(&t2, [&a]));
        assert!(!cache.all_exist(&t1, [&a, &id(3)]));
        cache.may_be_gone(&b);
        assert!(!cache.all_exist(&t1, [&a, &b]));
        cache.clear();
        assert!(!cache.all_exist(&t1, [&a]));
    }

    #[test]
    fn bounded() {
        let cache = UserCache::new(3);
        let (t1, t2) = (id(101), id(102));
        for n in 0..10 {
            let tenant = if n % 2 == 0 { &t1 } else { &t2 };
            cache.insert(cache.generation(), user(&id(n), tenant, &format!("n{n}")));
            cache.exists(tenant, &id(n));
        }
        let entries = cache.entries();
        assert_eq!(entries.by_id.len(), 3);
        assert_eq!(entries.names(), 3);
        for user in entries.by_id.values() {
            let tenant = key(&user.row.tenant_id).unwrap();
            assert_eq!(
                entries.by_name[&tenant][user.row.user_name_lc.as_str()],
                key(&user.row.id).unwrap()
            );
        }
        assert!(cache.known().len() <= 3);
    }
}
