//! Deletes provisioning log entries and change events older than their retention, in the
//! background, oldest first, a small batch per write so SCIM writes never wait long behind
//! it. Rows are taken in id order, which follows time closely enough that no index on the
//! time is needed: a run stops at the first batch holding a row still kept.

use std::time::Duration;

use chrono::{DateTime, Utc};
use entity::{activity_entry, change_event};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::{error::Error, state::AppState, store::Storage};

/// Rows deleted per write.
const BATCH: u64 = 1000;

/// What one run deleted.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Trimmed {
    pub entries: u64,
    pub events: u64,
}

/// Deletes everything past its retention at the state's clock.
pub async fn run_once(state: &AppState) -> Result<Trimmed, Error> {
    let now = state.clock.now();
    let settings = &state.settings.activity;
    Ok(Trimmed {
        entries: trim::<activity_entry::Entity>(
            &state.db,
            activity_entry::Column::Id,
            activity_entry::Column::At,
            before(now, settings.retention),
        )
        .await?,
        events: trim::<change_event::Entity>(
            &state.db,
            change_event::Column::Id,
            change_event::Column::At,
            before(now, settings.events_retention),
        )
        .await?,
    })
}

fn before(now: DateTime<Utc>, kept: Duration) -> DateTime<Utc> {
    now - chrono::Duration::from_std(kept).unwrap_or(chrono::Duration::MAX)
}

/// Runs `run_once` every `interval` until the server shuts down.
pub fn start(state: &AppState, interval: Duration) {
    let state = state.clone();
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
        loop {
            ticks.tick().await;
            if state.activity.is_closed() {
                break;
            }
            match run_once(&state).await {
                Ok(trimmed) if trimmed != Trimmed::default() => {
                    tracing::info!(
                        entries = trimmed.entries,
                        events = trimmed.events,
                        "old provisioning log entries and change events deleted"
                    );
                }
                Ok(_) => {}
                Err(err) => {
                    tracing::warn!(error = %err, "could not delete old log entries; will retry")
                }
            }
        }
    });
}

async fn trim<E>(
    db: &Storage,
    id: E::Column,
    at: E::Column,
    cutoff: DateTime<Utc>,
) -> Result<u64, Error>
where
    E: EntityTrait,
    E::Column: ColumnTrait + Copy + Send + Sync + 'static,
{
    let mut deleted = 0;
    loop {
        let (count, done) = db
            .write(move |txn| {
                Box::pin(async move {
                    let oldest: Vec<(i64, DateTime<Utc>)> = E::find()
                        .select_only()
                        .column(id)
                        .column(at)
                        .order_by_asc(id)
                        .limit(BATCH)
                        .into_tuple()
                        .all(txn)
                        .await?;
                    let old: Vec<i64> = oldest
                        .iter()
                        .filter(|(_, when)| *when < cutoff)
                        .map(|(row, _)| *row)
                        .collect();
                    let done = old.len() < oldest.len() || (oldest.len() as u64) < BATCH;
                    if old.is_empty() {
                        return Ok((0, true));
                    }
                    let result = E::delete_many().filter(id.is_in(old)).exec(txn).await?;
                    Ok((result.rows_affected, done))
                })
            })
            .await?;
        deleted += count;
        if done {
            return Ok(deleted);
        }
        tokio::task::yield_now().await;
    }
}
