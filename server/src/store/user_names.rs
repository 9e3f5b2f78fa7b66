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
    collections::{HashMap, HashSet},
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
    /// One read at a time: each holds the writer, and its names until they are hashed.
    loading: bool,
    tenants: HashMap<Key, Known>,
}

enum Known {
    /// Being read by the writer, by the `Load` of this ticket.
    Loading(u64),
    Names(HashSet<u64>),
    /// The tenant held this many users when there was not room for them: the database
    /// answers for it until there is.
    TooMany(u64),
}

/// A tenant's names to be read, from `UserNames::load`: the caller runs the read as a write
/// job and hands its outcome to `loaded` in the writer's task.
pub struct Load {
    tenant: Key,
    ticket: u64,
    /// Names there is room for: a tenant with more users is not read.
    pub room: u64,
}

/// What the read of a tenant's names found.
pub enum Read {
    Names(Vec<String>),
    /// The tenant holds this many users, more than the `room` of the `Load`.
    TooMany(u64),
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

    /// The read of the tenant's names, when they are neither known nor being read, no other
    /// tenant's are being read, and there may be room for them.
    pub fn load(&self, tenant_id: &str) -> Option<Load> {
        let tenant = key(tenant_id)?;
        let mut state = self.state();
        let room = self.capacity.saturating_sub(state.held);
        let room = u64::try_from(room).unwrap_or(u64::MAX);
        if state.loading || room == 0 {
            return None;
        }
        match state.tenants.get(&tenant) {
            None => {}
            Some(Known::TooMany(users)) if *users < room => {}
            Some(_) => return None,
        }
        state.tickets += 1;
        let ticket = state.tickets;
        state.loading = true;
        state.tenants.insert(tenant, Known::Loading(ticket));
        Some(Load {
            tenant,
            ticket,
            room,
        })
    }

    /// Ends `load` with what its read found (`None`: the read failed, or never ran). Call
    /// it in the writer's task, once the read's batch has ended.
    pub fn loaded(&self, load: &Load, read: Option<&Read>) {
        // Hashed before taking the lock every lookup takes.
        let known = match read {
            None => None,
            Some(Read::TooMany(users)) => Some(Known::TooMany(*users)),
            Some(Read::Names(names)) => Some(Known::Names(
                names.iter().map(|name| self.hash(name)).collect(),
            )),
        };
        let mut state = self.state();
        let State {
            held,
            loading,
            tenants,
            ..
        } = &mut *state;
        if !matches!(tenants.get(&load.tenant), Some(Known::Loading(ticket)) if *ticket == load.ticket)
        {
            return;
        }
        *loading = false;
        match known {
            None => {
                tenants.remove(&load.tenant);
            }
            Some(Known::Names(names)) if *held + names.len() > self.capacity => {
                // Others took the room while this was read.
                let users = u64::try_from(names.len()).unwrap_or(u64::MAX);
                tenants.insert(load.tenant, Known::TooMany(users));
            }
            Some(known) => {
                if let Known::Names(names) = &known {
                    *held += names.len();
                }
                tenants.insert(load.tenant, known);
            }
        }
    }

    /// Call in the writer's task once a write that names a user of the tenant
    /// `user_name_lc` has committed: anywhere else, a name added while the tenant's names
    /// are being read could be lost.
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
                let users = u64::try_from(names.len()).unwrap_or(u64::MAX);
                *known = Known::TooMany(users);
            }
            Known::Names(names) => {
                names.insert(hash);
                *held += 1;
            }
            Known::Loading(_) | Known::TooMany(_) => {}
        }
    }

    /// Forgets the tenant's names (it was deleted).
    pub fn forget_tenant(&self, tenant_id: &str) {
        if let Some(tenant) = key(tenant_id) {
            let mut state = self.state();
            if let Some(known) = state.tenants.remove(&tenant) {
                state.forgotten(known);
            }
        }
    }

    /// Forgets every tenant's names: a write may have stored a name without saying so (its
    /// commit failed in a way that does not tell). Each is read again when needed.
    pub fn clear(&self) {
        let mut state = self.state();
        for (_, known) in std::mem::take(&mut state.tenants) {
            state.forgotten(known);
        }
    }
}

impl State {
    fn forgotten(&mut self, known: Known) {
        match known {
            Known::Names(names) => self.held -= names.len(),
            Known::Loading(_) => self.loading = false,
            Known::TooMany(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ACME: &str = "0190c2a4-0000-7000-8000-000000000001";
    const GLOBEX: &str = "0190c2a4-0000-7000-8000-000000000002";

    fn read(of: &[&str]) -> Option<Read> {
        Some(Read::Names(
            of.iter().map(|name| (*name).to_owned()).collect(),
        ))
    }

    fn loaded(capacity: usize, tenant: &str, of: &[&str]) -> UserNames {
        let known = UserNames::new(capacity);
        let load = known.load(tenant).expect("not known yet");
        known.loaded(&load, read(of).as_ref());
        known
    }

    #[test]
    fn nothing_is_free_before_the_names_are_read() {
        let known = UserNames::new(10);
        assert!(!known.surely_free(ACME, "ada"));
        let load = known.load(ACME).expect("not known yet");
        assert!(known.load(ACME).is_none(), "one read at a time");
        assert!(
            known.load(GLOBEX).is_none(),
            "one read at a time, of any tenant"
        );
        assert!(!known.surely_free(ACME, "ada"), "still being read");
        known.loaded(&load, None);
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
    fn a_tenant_with_more_users_than_room_is_left_to_the_database_until_there_is_room() {
        let known = loaded(3, GLOBEX, &["a"]);
        let load = known.load(ACME).expect("not known yet");
        assert_eq!(load.room, 2);
        known.loaded(&load, Some(&Read::TooMany(2)));
        assert!(!known.surely_free(ACME, "e"));
        assert!(
            known.load(ACME).is_none(),
            "not read again while there is no room"
        );
        known.forget_tenant(GLOBEX);
        let load = known.load(ACME).expect("room now");
        known.loaded(&load, read(&["a", "b"]).as_ref());
        assert!(known.surely_free(ACME, "e"));

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
    fn forgetting_gives_the_room_back() {
        let known = loaded(2, ACME, &["a", "b"]);
        assert!(known.load(GLOBEX).is_none(), "no room");
        known.forget_tenant(ACME);
        assert!(!known.surely_free(ACME, "c"));
        assert!(known.load(GLOBEX).is_some());

        let known = loaded(2, ACME, &["a", "b"]);
        known.clear();
        assert!(!known.surely_free(ACME, "c"));
        let load = known.load(GLOBEX).expect("room again");
        known.clear();
        assert!(
            known.load(ACME).is_some(),
            "a read forgotten no longer holds the turn"
        );
        known.loaded(&load, read(&["x"]).as_ref());
        assert!(
            !known.surely_free(GLOBEX, "y"),
            "the forgotten read changes nothing"
        );
    }

    #[test]
    fn the_end_of_a_read_no_longer_waited_for_changes_nothing() {
        let known = UserNames::new(10);
        let load = known.load(ACME).expect("not known yet");
        known.forget_tenant(ACME);
        known.loaded(&load, read(&["ada"]).as_ref());
        assert!(!known.surely_free(ACME, "bob"));

        let again = known.load(ACME).expect("read again");
        known.loaded(&load, None);
        known.loaded(&again, read(&["ada"]).as_ref());
        assert!(
            known.surely_free(ACME, "bob"),
            "the older read ended nothing"
        );
    }

    #[test]
    fn names_that_no_longer_fit_once_read_leave_the_tenant_to_the_database() {
        let known = UserNames::new(3);
        let load = known.load(ACME).expect("not known yet");
        known.loaded(&load, read(&["a", "b", "c", "d"]).as_ref());
        assert!(!known.surely_free(ACME, "e"));
    }
}
