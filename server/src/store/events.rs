//! Change events: what each SCIM write changed, written in the write's own transaction (so
//! none is lost or invented), read by the host product in commit order.

use std::{
    cell::RefCell,
    collections::{BTreeMap, BTreeSet},
    future::Future,
    sync::{Arc, Mutex, PoisonError},
};

use chrono::{DateTime, Utc};
use entity::{change_event, change_event_trim, scim_group, scim_user};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait, Set, Statement,
    sea_query::{Expr, OnConflict},
};
use serde_json::{Map, Value, json};

use super::notify;
use crate::{activity::cause, error::Error};

/// One change, before it is stored.
#[derive(Debug, Clone)]
pub struct Change {
    pub kind: &'static str,
    pub resource_type: &'static str,
    pub resource_id: String,
    /// The user of a membership event.
    pub subject_id: Option<String>,
    pub data: Value,
}

impl Change {
    pub fn user(kind: &'static str, id: &str, data: Value) -> Self {
        Self {
            kind,
            resource_type: "User",
            resource_id: id.to_owned(),
            subject_id: None,
            data,
        }
    }

    pub fn group(kind: &'static str, id: &str, data: Value) -> Self {
        Self {
            kind,
            resource_type: "Group",
            resource_id: id.to_owned(),
            subject_id: None,
            data,
        }
    }

    /// `group.member_added` / `group.member_removed` of one user.
    pub fn member(kind: &'static str, group_id: &str, user_id: &str) -> Self {
        Self {
            subject_id: Some(user_id.to_owned()),
            ..Self::group(kind, group_id, json!({ "userId": user_id }))
        }
    }

    /// `member` for each of `user_ids`.
    pub fn members(kind: &'static str, group_id: &str, user_ids: &[String]) -> Vec<Self> {
        user_ids
            .iter()
            .map(|user_id| Self::member(kind, group_id, user_id))
            .collect()
    }
}

/// What events say of a user.
pub fn user_data(row: &scim_user::Model) -> Value {
    json!({
        "userName": row.user_name,
        "externalId": row.external_id,
        "displayName": row.display_name,
        "active": row.active,
    })
}

/// What events say of a group.
pub fn group_data(row: &scim_group::Model) -> Value {
    json!({ "displayName": row.display_name, "externalId": row.external_id })
}

/// The events of a user rewritten from `before` to `after` (attributes as stored, and the
/// row written): `user.updated` when anything but `active` changed, and
/// `user.deactivated`/`user.reactivated` when `active` did. None for a rewrite that
/// changed nothing (identity providers resend what they sent).
pub fn user_changes(
    before: &Map<String, Value>,
    was_active: bool,
    after: &Map<String, Value>,
    row: &scim_user::Model,
) -> Vec<Change> {
    let without_active = |attrs: &Map<String, Value>| {
        let mut attrs = attrs.clone();
        attrs.remove("active");
        attrs
    };
    let mut changes = Vec::new();
    if without_active(before) != without_active(after) {
        changes.push(Change::user("user.updated", &row.id, user_data(row)));
    }
    match (was_active, row.active) {
        (true, false) => changes.push(Change::user("user.deactivated", &row.id, user_data(row))),
        (false, true) => changes.push(Change::user("user.reactivated", &row.id, user_data(row))),
        _ => {}
    }
    changes
}

/// A change ready to store: whose, when, and which request caused it.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub tenant_id: String,
    pub at: DateTime<Utc>,
    pub change: Change,
    pub request_id: Option<String>,
}

/// Stores `changes` of the tenant, caused by the current request (see `activity::cause`).
/// Call it last in a write (see `insert`).
pub async fn record(
    txn: &impl ConnectionTrait,
    tenant_id: &str,
    changes: Vec<Change>,
    at: DateTime<Utc>,
) -> Result<(), Error> {
    let request_id = cause::current();
    let events = changes
        .into_iter()
        .map(|change| NewEvent {
            tenant_id: tenant_id.to_owned(),
            at,
            change,
            request_id: request_id.clone(),
        })
        .collect();
    insert(txn, events).await
}

/// Stores `events`, each caused by the request it names (writes merged from several
/// requests). Call it last in a write: on PostgreSQL it takes each tenant's event lock
/// until commit, so a tenant's events commit in the order of their ids and a reader that
/// has seen an id never finds a smaller one later.
pub async fn insert(txn: &impl ConnectionTrait, mut events: Vec<NewEvent>) -> Result<(), Error> {
    if events.is_empty()
        || HELD
            .try_with(|held| held.borrow_mut().append(&mut events))
            .is_ok()
    {
        return Ok(());
    }
    let tenants: BTreeSet<String> = events.iter().map(|event| event.tenant_id.clone()).collect();
    if txn.get_database_backend() == DatabaseBackend::Postgres {
        // In one order everywhere, so two writes never wait for each other's tenants. The
        // other replicas' notice (`notify::send`) goes with the lock: PostgreSQL delivers
        // it at commit wherever the transaction sent it, and each statement from here on
        // is a round trip that the tenant's other writes wait through.
        for tenant_id in &tenants {
            txn.execute_raw(Statement::from_sql_and_values(
                DatabaseBackend::Postgres,
                "SELECT pg_advisory_xact_lock($1, hashtext($2)), pg_notify($3, $2)",
                [
                    EVENTS_LOCK.into(),
                    tenant_id.as_str().into(),
                    notify::EVENTS.into(),
                ],
            ))
            .await?;
        }
    }
    for statement in inserts(txn.get_database_backend(), events) {
        txn.execute_raw(statement).await?;
    }
    Ok(())
}

tokio::task_local! {
    /// The events of the writes `held_to_the_end` runs.
    static HELD: RefCell<Vec<NewEvent>>;
}

/// Runs `work`, the writes of a merged job on PostgreSQL (`coalesce.rs`), holding back the
/// events each stores (`insert`, the last step of each write), then stores them all: the
/// tenant's event lock is taken once, by the job's last statement. Taken by the first of
/// its writes, a later one would wait for rows (a group's, a `userName`'s) while holding
/// it, and whoever holds those rows waits for the event lock at its own end: a deadlock.
/// If `work` fails, nothing of it is kept, its events neither.
pub async fn held_to_the_end<T>(
    txn: &impl ConnectionTrait,
    work: impl Future<Output = Result<T, Error>>,
) -> Result<T, Error> {
    let (done, held) = HELD
        .scope(RefCell::default(), async {
            let done = work.await;
            (done, HELD.with(RefCell::take))
        })
        .await;
    let done = done?;
    insert(txn, held).await?;
    Ok(done)
}

tokio::task_local! {
    /// Where the write `Touched::noting` runs notes the tenants it stores events of.
    static TOUCHED: Touched;
}

/// The tenants a write stored change events of, so that once it commits only their event
/// streams are woken (`Storage::waking`). A write that stored some and then rolled them
/// back (a savepoint) only wakes a stream for nothing, which then reads nothing new.
#[derive(Clone, Default)]
pub struct Touched(Arc<Mutex<BTreeSet<String>>>);

impl Touched {
    /// Runs `work`, noting the tenants of the events it stores here.
    pub async fn noting<F: Future>(&self, work: F) -> F::Output {
        TOUCHED.scope(self.clone(), work).await
    }

    pub fn take(&self) -> BTreeSet<String> {
        std::mem::take(&mut self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

/// Notes `tenants` for the write this runs in (`Touched`); outside one, there is nobody
/// to wake.
fn touch(tenants: impl Iterator<Item = String>) {
    let _outside_a_write = TOUCHED.try_with(|touched| {
        touched
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend(tenants);
    });
}

/// The statements storing `events`; `insert` runs them with what the backend needs around
/// them (PostgreSQL's tenant locks and notices). Notes their tenants for the write they are
/// part of (`Touched`).
pub fn inserts(backend: DatabaseBackend, events: Vec<NewEvent>) -> impl Iterator<Item = Statement> {
    touch(events.iter().map(|event| event.tenant_id.clone()));
    let rows: Vec<_> = events
        .into_iter()
        .map(|event| change_event::ActiveModel {
            tenant_id: Set(event.tenant_id),
            at: Set(event.at),
            kind: Set(event.change.kind.to_owned()),
            resource_type: Set(event.change.resource_type.to_owned()),
            resource_id: Set(event.change.resource_id),
            subject_id: Set(event.change.subject_id),
            request_id: Set(event.request_id),
            data: Set(event.change.data.to_string()),
            ..Default::default()
        })
        .collect();
    super::chunks::chunks(rows, INSERT_CHUNK)
        .map(move |chunk| change_event::Entity::insert_many(chunk).build(backend))
}

/// The first key of the tenants' event locks (the second is the tenant's hash).
const EVENTS_LOCK: i32 = 0x0e7e;

/// Most rows per insert statement (8 columns each, under SQLite's variable limit).
const INSERT_CHUNK: usize = 1024;

/// The tenant's events after `cursor`, oldest first.
pub async fn after(
    db: &impl ConnectionTrait,
    tenant_id: &str,
    cursor: i64,
    limit: u64,
) -> Result<Vec<change_event::Model>, Error> {
    Ok(change_event::Entity::find()
        .filter(change_event::Column::TenantId.eq(tenant_id))
        .filter(change_event::Column::Id.gt(cursor))
        .order_by_asc(change_event::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}

/// The newest of the tenant's events that retention deleted (0 when none was): events
/// after an older cursor may be gone.
pub async fn trimmed_through(db: &impl ConnectionTrait, tenant_id: &str) -> Result<i64, Error> {
    Ok(change_event_trim::Entity::find_by_id(tenant_id.to_owned())
        .one(db)
        .await?
        .map_or(0, |trim| trim.trimmed_through))
}

/// Whether retention deleted events of the tenant after `cursor`: going on from it would
/// skip them. Also cursor 0 (the start), once any was deleted: the feed no longer holds
/// the tenant's whole history, and a consumer that stored 0 from an empty first page must
/// not take what is left for all of it.
pub async fn passed_by_retention(
    db: &impl ConnectionTrait,
    tenant_id: &str,
    cursor: i64,
) -> Result<bool, Error> {
    let trimmed = trimmed_through(db, tenant_id).await?;
    Ok(trimmed > 0 && cursor < trimmed)
}

/// Where following the tenant's feed from now on starts: its newest event, or the newest
/// that retention deleted if none is kept (never a cursor retention has passed).
pub async fn now_cursor(db: &impl ConnectionTrait, tenant_id: &str) -> Result<i64, Error> {
    // The newest event first, then the mark: retention deletes events and moves the mark
    // in one transaction, so one committing between the two reads only raises the mark.
    // The other way round, it could hide both, and a consumer's cursor at the newest event
    // would seem beyond the feed (`not_ahead_of_the_feed`).
    let newest = newest_id(db, tenant_id).await?;
    Ok(newest.max(trimmed_through(db, tenant_id).await?))
}

/// Remembers, per tenant, the newest of its events just deleted (`trimmed_through`), in
/// the transaction that deletes them. Never moves a tenant's mark back: a later run can
/// delete an event older than one an earlier run deleted. Rows in tenant order, as every
/// replica's retention writes them: two runs side by side on PostgreSQL lock them in the
/// same order, never each waiting for the other.
pub async fn remember_trimmed(
    txn: &impl ConnectionTrait,
    newest_deleted: &BTreeMap<String, i64>,
) -> Result<(), Error> {
    if newest_deleted.is_empty() {
        return Ok(());
    }
    // Their streams read again once this commits: a replay retention passed ends at once.
    touch(newest_deleted.keys().cloned());
    let larger = match txn.get_database_backend() {
        DatabaseBackend::Postgres => "GREATEST",
        _ => "max",
    };
    let marks = newest_deleted
        .iter()
        .map(|(tenant_id, id)| change_event_trim::ActiveModel {
            tenant_id: Set(tenant_id.clone()),
            trimmed_through: Set(*id),
        });
    change_event_trim::Entity::insert_many(marks)
        .on_conflict(
            OnConflict::column(change_event_trim::Column::TenantId)
                .value(
                    change_event_trim::Column::TrimmedThrough,
                    Expr::cust(format!(
                        "{larger}(change_event_trim.trimmed_through, excluded.trimmed_through)"
                    )),
                )
                .to_owned(),
        )
        .exec(txn)
        .await?;
    Ok(())
}

/// The tenant's newest event id (0 when none).
pub async fn newest_id(db: &impl ConnectionTrait, tenant_id: &str) -> Result<i64, Error> {
    let newest: Option<Option<i64>> = change_event::Entity::find()
        .select_only()
        .column_as(change_event::Column::Id.max(), "newest")
        .filter(change_event::Column::TenantId.eq(tenant_id))
        .into_tuple()
        .one(db)
        .await?;
    Ok(newest.flatten().unwrap_or(0))
}

/// The events a request caused, in order.
pub async fn caused_by(
    db: &impl ConnectionTrait,
    tenant_id: &str,
    request_id: &str,
) -> Result<Vec<change_event::Model>, Error> {
    Ok(change_event::Entity::find()
        .filter(change_event::Column::TenantId.eq(tenant_id))
        .filter(change_event::Column::RequestId.eq(request_id))
        .order_by_asc(change_event::Column::Id)
        .limit(MAX_CAUSED)
        .all(db)
        .await?)
}

/// Most events listed under one log entry (a group PUT can change thousands of members).
const MAX_CAUSED: u64 = 1000;
