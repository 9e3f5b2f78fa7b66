//! `lastUsedAt` without a database write per request: successful authentications are noted
//! in memory and written back in one batch periodically, before listings, and at shutdown.

use std::{
    collections::HashMap,
    sync::{Mutex, PoisonError},
};

use chrono::{DateTime, Utc};

use super::token::CredentialKind;
use crate::{
    error::Error,
    store::{self, Storage},
};

#[derive(Default)]
pub struct UsageRecorder {
    pending: Mutex<HashMap<(CredentialKind, String), DateTime<Utc>>>,
}

impl UsageRecorder {
    pub fn note(&self, kind: CredentialKind, id: &str, at: DateTime<Utc>) {
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        let slot = pending.entry((kind, id.to_owned())).or_insert(at);
        if *slot < at {
            *slot = at;
        }
    }

    /// Writes every pending value; on failure they are kept for the next attempt.
    pub async fn flush(&self, db: &Storage) -> Result<(), Error> {
        let batch =
            std::mem::take(&mut *self.pending.lock().unwrap_or_else(PoisonError::into_inner));
        if batch.is_empty() {
            return Ok(());
        }
        let rows: Vec<_> = batch
            .iter()
            .map(|((kind, id), at)| (*kind, id.clone(), *at))
            .collect();
        if let Err(err) = store::credentials::record_last_used(db, rows).await {
            let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
            for (key, at) in batch {
                let slot = pending.entry(key).or_insert(at);
                if *slot < at {
                    *slot = at;
                }
            }
            return Err(err);
        }
        Ok(())
    }
}
