//! One tenant's share of the server: at most `limit` of its SCIM requests are served at once
//! (by default three quarters of the PostgreSQL pool, so a tenant whose requests are slow,
//! costly filters say, always leaves connections to the others). A request past it waits
//! for a turn, for `wait` at most, then gets 429 with `Retry-After`. The rate limit bounds
//! how many requests a tenant makes; this bounds how many hold the server at once.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Tenants' entries kept before idle ones are forgotten.
const REMEMBERED: usize = 1024;

pub struct TenantShare {
    limit: usize,
    wait: Duration,
    turns: Mutex<HashMap<String, Arc<Semaphore>>>,
}

/// A request's turn; the next waiting request of its tenant goes when it is dropped.
pub type Turn = OwnedSemaphorePermit;

impl TenantShare {
    pub fn new(limit: usize, wait: Duration) -> Self {
        Self {
            limit: limit.max(1),
            wait,
            turns: Mutex::new(HashMap::new()),
        }
    }

    pub fn limit(&self) -> usize {
        self.limit
    }

    /// A turn for a request of `tenant`, or `None` when none came free within the wait.
    pub async fn turn(&self, tenant: &str) -> Option<Turn> {
        let turns = {
            let mut all = self.turns.lock().unwrap_or_else(PoisonError::into_inner);
            match all.get(tenant) {
                Some(turns) => Arc::clone(turns),
                None => {
                    if all.len() >= REMEMBERED {
                        let limit = self.limit;
                        all.retain(|_, turns| {
                            Arc::strong_count(turns) > 1 || turns.available_permits() < limit
                        });
                    }
                    let turns = Arc::new(Semaphore::new(self.limit));
                    all.insert(tenant.to_owned(), Arc::clone(&turns));
                    turns
                }
            }
        };
        tokio::time::timeout(self.wait, turns.acquire_owned())
            .await
            .ok()?
            .ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_tenant_waits_for_its_own_turns_only() {
        let share = TenantShare::new(2, Duration::from_millis(50));
        let first = share.turn("a").await.unwrap();
        let _second = share.turn("a").await.unwrap();
        assert!(
            share.turn("a").await.is_none(),
            "a third request of a waits in vain"
        );
        assert!(share.turn("b").await.is_some(), "b is served meanwhile");
        drop(first);
        assert!(share.turn("a").await.is_some(), "a freed turn is taken");
    }

    #[tokio::test]
    async fn idle_tenants_are_forgotten() {
        let share = TenantShare::new(1, Duration::from_millis(10));
        for n in 0..REMEMBERED + 10 {
            drop(share.turn(&n.to_string()).await);
        }
        assert!(share.turns.lock().unwrap().len() <= REMEMBERED);
    }
}
