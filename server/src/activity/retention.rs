//! Deletes provisioning log entries and change events older than their retention, and those
//! beyond the newest `--activity-max-entries` log entries (but those sync health reads) and
//! `--events-max-entries` change events, in the background, oldest first, a small batch per
//! write so SCIM writes never wait long behind it. Rows are taken in id order, which follows
//! time closely enough that no index on the time is needed: a run stops at the first batch
//! holding a row still kept.

use std::{
    collections::{BTreeMap, HashSet},
    sync::Arc,
    time::Duration,
};

use chrono::{DateTime, Utc};
use entity::{activity_entry, change_event, tenant};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::{
    error::Error,
    state::AppState,
    store::{Storage, events, sync::Lasts},
};

/// Rows deleted per write.
const BATCH: u64 = 1000;

/// What one run deleted.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Trimmed {
    pub entries: u64,
    pub events: u64,
}

/// Deletes everything past its retention at the state's clock, and what lies beyond the
/// bounds on entries and events (`ActivitySettings::max_entries`, `events_max_entries`).
pub async fn run_once(state: &AppState) -> Result<Trimmed, Error> {
    let now = state.clock.now();
    let settings = &state.settings.activity;
    let mut entries = trim::<activity_entry::Entity>(
        &state.db,
        Columns {
            id: activity_entry::Column::Id,
            at: activity_entry::Column::At,
            tenant: activity_entry::Column::TenantId,
        },
        Old::before(now, settings.retention),
        Marks::None,
    )
    .await?;
    let entry_id = activity_entry::Column::Id;
    if let Some(last) =
        last_beyond_newest::<activity_entry::Entity>(&state.db, entry_id, settings.max_entries)
            .await?
    {
        let kept = read_by_sync_health(&state.db).await?;
        entries += trim_up_to(&state.db, last, kept).await?;
    }
    let event_id = change_event::Column::Id;
    let beyond = last_beyond_newest::<change_event::Entity>(
        &state.db,
        event_id,
        settings.events_max_entries,
    )
    .await?;
    Ok(Trimmed {
        entries,
        events: trim::<change_event::Entity>(
            &state.db,
            Columns {
                id: event_id,
                at: change_event::Column::At,
                tenant: change_event::Column::TenantId,
            },
            Old {
                through: beyond,
                ..Old::before(now, settings.events_retention)
            },
            Marks::EventCursors,
        )
        .await?,
    })
}

/// The entries the bound on entries never takes: those each tenant's sync health reads
/// (`store::sync::Lasts`), however long ago they were, so that a busy tenant cannot make
/// a quiet one look as if its identity provider never called. Looked up per tenant on a
/// read connection.
async fn read_by_sync_health(db: &Storage) -> Result<HashSet<i64>, Error> {
    let tenants: Vec<String> = tenant::Entity::find()
        .select_only()
        .column(tenant::Column::Id)
        .into_tuple()
        .all(db.reads())
        .await?;
    let mut kept = HashSet::new();
    for tenant_id in tenants {
        kept.extend(Lasts::of(db.reads(), &tenant_id).await?.ids());
    }
    Ok(kept)
}

/// Deletes the log's entries up to id `last`, oldest first, a batch per write, except
/// those in `kept`.
async fn trim_up_to(db: &Storage, last: i64, kept: HashSet<i64>) -> Result<u64, Error> {
    use activity_entry::Column;
    let kept = Arc::new(kept);
    let (mut after, mut deleted) = (0, 0);
    loop {
        let kept = Arc::clone(&kept);
        let (count, reached) = db
            .write(move |txn| {
                Box::pin(async move {
                    let ids: Vec<i64> = activity_entry::Entity::find()
                        .select_only()
                        .column(Column::Id)
                        .filter(Column::Id.gt(after))
                        .filter(Column::Id.lte(last))
                        .order_by_asc(Column::Id)
                        .limit(BATCH)
                        .into_tuple()
                        .all(txn)
                        .await?;
                    let Some(&reached) = ids.last() else {
                        return Ok((0, None));
                    };
                    let gone: Vec<i64> = ids.into_iter().filter(|id| !kept.contains(id)).collect();
                    if gone.is_empty() {
                        return Ok((0, Some(reached)));
                    }
                    let result = activity_entry::Entity::delete_many()
                        .filter(Column::Id.is_in(gone))
                        .exec(txn)
                        .await?;
                    Ok((result.rows_affected, Some(reached)))
                })
            })
            .await?;
        deleted += count;
        match reached {
            Some(reached) => after = reached,
            None => return Ok(deleted),
        }
        tokio::task::yield_now().await;
    }
}

/// The id of the newest row beyond the newest `kept` ones: it and every older row go. None
/// when `kept` is 0 (no bound) or the table is not that long. Ids count rows: they are given
/// in order and only the oldest are ever deleted (a PostgreSQL insert that failed can leave
/// a gap, which then counts as kept). Counting back from the newest row instead would read
/// the whole table.
async fn last_beyond_newest<E>(db: &Storage, id: E::Column, kept: u64) -> Result<Option<i64>, Error>
where
    E: EntityTrait,
    E::Column: ColumnTrait,
{
    let Ok(kept) = i64::try_from(kept) else {
        return Ok(None);
    };
    if kept == 0 {
        return Ok(None);
    }
    let newest: Option<i64> = E::find()
        .select_only()
        .column_as(id.max(), "newest")
        .into_tuple()
        .one(db.reads())
        .await?
        .flatten();
    Ok(newest
        .map(|newest| newest.saturating_sub(kept))
        .filter(|last| *last > 0))
}

/// Which rows a run deletes: those written before `before`, and those up to id `through`.
#[derive(Clone, Copy)]
struct Old {
    before: DateTime<Utc>,
    through: Option<i64>,
}

impl Old {
    fn before(now: DateTime<Utc>, kept: Duration) -> Self {
        Self {
            before: now - chrono::Duration::from_std(kept).unwrap_or(chrono::Duration::MAX),
            through: None,
        }
    }

    fn covers(&self, id: i64, at: DateTime<Utc>) -> bool {
        at < self.before || self.through.is_some_and(|through| id <= through)
    }
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

/// The columns `trim` reads.
#[derive(Clone, Copy)]
struct Columns<C> {
    id: C,
    at: C,
    tenant: C,
}

/// What `trim` remembers of what it deleted.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Marks {
    None,
    /// Each tenant's newest deleted change event, so that the feed can tell a consumer
    /// whose cursor is older that it missed events (`events::trimmed_through`).
    EventCursors,
}

/// Deletes the rows that are `old`, oldest first, until a batch holds one it keeps.
async fn trim<E>(
    db: &Storage,
    columns: Columns<E::Column>,
    old_rows: Old,
    marks: Marks,
) -> Result<u64, Error>
where
    E: EntityTrait,
    E::Column: ColumnTrait + Copy + Send + Sync + 'static,
{
    let Columns { id, at, tenant } = columns;
    let mut deleted = 0;
    loop {
        let (count, done) = db
            .write(move |txn| {
                Box::pin(async move {
                    let oldest: Vec<(i64, DateTime<Utc>, Option<String>)> = E::find()
                        .select_only()
                        .column(id)
                        .column(at)
                        .column(tenant)
                        .order_by_asc(id)
                        .limit(BATCH)
                        .into_tuple()
                        .all(txn)
                        .await?;
                    let mut newest_deleted = BTreeMap::new();
                    let mut old = Vec::new();
                    for (row, when, tenant_id) in &oldest {
                        if old_rows.covers(*row, *when) {
                            old.push(*row);
                            if let Some(tenant_id) = tenant_id {
                                newest_deleted
                                    .entry(tenant_id.clone())
                                    .and_modify(|newest: &mut i64| *newest = (*newest).max(*row))
                                    .or_insert(*row);
                            }
                        }
                    }
                    let done = old.len() < oldest.len() || (oldest.len() as u64) < BATCH;
                    if old.is_empty() {
                        return Ok((0, true));
                    }
                    if marks == Marks::EventCursors {
                        events::remember_trimmed(txn, &newest_deleted).await?;
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
