//! The userNames each tenant may hold, so that looking up one it does not hold (the
//! existence check an identity provider sends before every create: Entra's initial cycle is
//! one per user) needs no database read. Exact in one direction only: a name missing from
//! the set is surely free; one in it may be taken (deleted and renamed users leave theirs
//! behind, and two names may share a hash), which the database then answers.
//!
//! A tenant's names are read whole by a job of the writer (`Load`), and every write that
//! gives a user a name adds it once committed, in the writer's task (`named`). The writer
//! runs one job after another and answers them in that order, so no name can fall between
//! the read and the first write that adds one. Only on the embedded database, as the user
//! cache: there every write goes through this process.

use std::{
    collections::{HashMap, HashSet, hash_map::Entry},
    hash::{BuildHasher, RandomState},
    sync::{Mutex, MutexGuard, PoisonError},
};

use super::user_cache::{Key, key};

pub struct UserNames {
    /// Names held at most, over every tenant.
    capacity: usize,
    /// Keyed anew in every process, so that nobody can choose names that share a hash (which
    /// would only cost reads, but still).
    hasher: RandomState,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    held: usize,
    tickets: u64,
    tenants: HashMap<Key, Known>,
}

enum Known {
    /// Being read by the writer, by the `Load` of this ticket.
    Loading(u64),
    Names(HashSet<u64>),
    /// More than there was room for: the database answers for this tenant.
    TooMany,
}

/// A tenant's names being read, from `UserNames::load`: the caller runs the read as a
/// write job and hands its outcome to `settle` in the writer's task.
pub struct Load {
    tenant: Key,
    ticket: u64,
    /// Rows the read may take: one more than there is room for says there are too many.
    pub limit: u64,
}

impl UserNames {
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            hasher: RandomState::new(),
            state: Mutex::default(),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn hash(&self, user_name_lc: &str) -> u64 {
        self.hasher.hash_one(user_name_lc)
    }

    /// Whether no user of the tenant is named `user_name_lc` (lower-cased).
    pub fn surely_free(&self, tenant_id: &str, user_name_lc: &str) -> bool {
        let Some(tenant) = key(tenant_id) else {
            return false;
        };
        let hash = self.hash(user_name_lc);
        matches!(self.state().tenants.get(&tenant), Some(Known::Names(names)) if !names.contains(&hash))
    }

    /// The read of the tenant's names, when they are neither known nor being read.
    pub fn load(&self, tenant_id: &str) -> Option<Load> {
        let tenant = key(tenant_id)?;
        let mut state = self.state();
        let room = self.capacity.saturating_sub(state.held);
        if room == 0 {
            return None;
        }
        state.tickets += 1;
        let ticket = state.tickets;
        match state.tenants.entry(tenant) {
            Entry::Occupied(_) => None,
            Entry::Vacant(vacant) => {
                vacant.insert(Known::Loading(ticket));
                Some(Load {
                    tenant,
                    ticket,
                    limit: u64::try_from(room).unwrap_or(u64::MAX).saturating_add(1),
                })
            }
        }
    }

    /// Ends `load` with what its read found (`None`: the read failed, or never ran).
    pub fn settle(&self, load: &Load, names: Option<&[String]>) {
        let mut state = self.state();
        if !matches!(state.tenants.get(&load.tenant), Some(Known::Loading(ticket)) if *ticket == load.ticket)
        {
            return;
        }
        let Some(names) = names else {
            state.tenants.remove(&load.tenant);
            return;
        };
        let known = if state.held + names.len() > self.capacity {
            Known::TooMany
        } else {
            state.held += names.len();
            Known::Names(names.iter().map(|name| self.hash(name)).collect())
        };
        state.tenants.insert(load.tenant, known);
    }

    /// Call once a write that names a user of the tenant `user_name_lc` has committed.
    pub fn named(&self, tenant_id: &str, user_name_lc: &str) {
        let Some(tenant) = key(tenant_id) else {
            return;
        };
        let hash = self.hash(user_name_lc);
        let mut state = self.state();
        let full = state.held >= self.capacity;
        let State { held, tenants, .. } = &mut *state;
        let Some(known) = tenants.get_mut(&tenant) else {
            return;
        };
        match known {
            Known::Names(names) if names.contains(&hash) => {}
            Known::Names(names) if full => {
                *held -= names.len();
                *known = Known::TooMany;
            }
            Known::Names(names) => {
                names.insert(hash);
                *held += 1;
            }
            Known::Loading(_) | Known::TooMany => {}
        }
    }

    /// Call once the tenant is deleted.
    pub fn forget_tenant(&self, tenant_id: &str) {
        let Some(tenant) = key(tenant_id) else {
            return;
        };
        let mut state = self.state();
        if let Some(Known::Names(names)) = state.tenants.remove(&tenant) {
            state.held -= names.len();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ACME: &str = "0190c2a4-0000-7000-8000-000000000001";
    const GLOBEX: &str = "0190c2a4-0000-7000-8000-000000000002";

    fn names(of: &[&str]) -> Vec<String> {
        of.iter().map(|name| (*name).to_owned()).collect()
    }

    fn loaded(capacity: usize, tenant: &str, of: &[&str]) -> UserNames {
        let known = UserNames::new(capacity);
        let load = known.load(tenant).expect("not known yet");
        known.settle(&load, Some(&names(of)));
        known
    }

    #[test]
    fn nothing_is_free_before_the_names_are_read() {
        let known = UserNames::new(10);
        assert!(!known.surely_free(ACME, "ada"));
        let load = known.load(ACME).expect("not known yet");
        assert!(known.load(ACME).is_none(), "one read at a time");
        assert!(!known.surely_free(ACME, "ada"), "still being read");
        known.settle(&load, None);
        assert!(!known.surely_free(ACME, "ada"), "the read failed");
        assert!(known.load(ACME).is_some(), "read again later");
    }

    #[test]
    fn names_read_or_added_are_taken_and_others_free() {
        let known = loaded(10, ACME, &["ada", "bob"]);
        assert!(!known.surely_free(ACME, "ada"));
        assert!(known.surely_free(ACME, "carol"));
        known.named(ACME, "carol");
        assert!(!known.surely_free(ACME, "carol"));
        assert!(
            !known.surely_free(GLOBEX, "dave"),
            "another tenant is not known"
        );
        known.named(GLOBEX, "dave");
        assert!(
            !known.surely_free(GLOBEX, "erin"),
            "naming does not make it known"
        );
    }

    #[test]
    fn a_tenant_with_more_names_than_room_is_left_to_the_database() {
        let known = UserNames::new(3);
        let load = known.load(ACME).expect("not known yet");
        assert_eq!(load.limit, 4);
        known.settle(&load, Some(&names(&["a", "b", "c", "d"])));
        assert!(!known.surely_free(ACME, "e"));
        assert!(known.load(ACME).is_none(), "not read again");

        let known = loaded(3, ACME, &["a", "b"]);
        known.named(ACME, "c");
        assert!(known.surely_free(ACME, "d"));
        known.named(ACME, "d");
        assert!(
            !known.surely_free(ACME, "e"),
            "past the room, nothing is free"
        );
        assert!(known.load(GLOBEX).is_some(), "its room is given back");
    }

    #[test]
    fn a_deleted_tenant_gives_its_room_back() {
        let known = loaded(2, ACME, &["a", "b"]);
        assert!(known.load(GLOBEX).is_none(), "no room");
        known.forget_tenant(ACME);
        assert!(!known.surely_free(ACME, "c"));
        assert!(known.load(GLOBEX).is_some());
    }

    #[test]
    fn the_settling_of_a_load_no_longer_waited_for_changes_nothing() {
        let known = UserNames::new(10);
        let load = known.load(ACME).expect("not known yet");
        known.forget_tenant(ACME);
        known.settle(&load, Some(&names(&["ada"])));
        assert!(!known.surely_free(ACME, "bob"));

        let again = known.load(ACME).expect("read again");
        known.settle(&load, None);
        known.settle(&again, Some(&names(&["ada"])));
        assert!(
            known.surely_free(ACME, "bob"),
            "the older load ended nothing"
        );
    }
}
