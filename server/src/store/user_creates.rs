//! User creates merged (see `coalesce.rs`): creates that arrive while others are being
//! written are inserted together.
//!
//! On the embedded database they go to SQLite's thread in trips of up to 32
//! (`one_trip.rs`: the users, their indexed values and their events, all or none per trip),
//! without counting the tenant's users first: the write connection refuses a user past the
//! limit by itself (`limits::guard_users`). A trip that fails (a limit reached, a
//! `userName` taken, a tenant gone) is undone, and its creates go by `insert_within_limit`.
//!
//! On PostgreSQL a tenant's creates wait for each other's commit (its row lock holds the
//! user count), about a millisecond each when they come one transaction apiece: merged,
//! they share one lock, one count, a few multi-row inserts and one commit. They go by
//! `insert_within_limit` at once.
//!
//! `insert_within_limit` counts the creates against their tenant's limit and inserts them
//! by one multi-row `INSERT … ON CONFLICT DO NOTHING RETURNING` for the users, one for their
//! indexed values: a create the insert skipped lost a `userName` race (409), exactly as if
//! it had run alone. If the merged statement fails for any other reason, each create is
//! retried alone in its own savepoint, so one bad create never fails its neighbours.

use std::collections::{BTreeSet, HashMap, HashSet, hash_map::Entry};

use chrono::{DateTime, Utc};
use entity::{scim_user, scim_user_value};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DatabaseBackend, DatabaseTransaction, DbErr, EntityTrait,
    QueryTrait, TryIntoModel,
};

use super::{
    Storage,
    coalesce::{Coalesced, Results, savepoint, settle},
    events::{self, Change, NewEvent},
    limits::{self, Held},
    one_trip::OneTrip,
    users::{insert_values, taken, value_inserts},
};
use crate::error::Error;

/// Most creates in one trip. Creates go in trips of power-of-two counts (19 as 16, 2 and
/// 1), because each count of users (and of their value rows) makes a text of its own for
/// the connection to prepare and keep: a text for every count up to 32 took the server's
/// peak memory in `bench.sh` from 58 to 62 MiB. (A trip's users fit one statement: 12
/// parameters a row, far below SQLite's limit of 32,766.)
const USERS_IN_ONE_TRIP: usize = 32;

pub struct NewUser {
    pub row: scim_user::ActiveModel,
    pub values: Vec<scim_user_value::ActiveModel>,
    pub user_name: String,
    /// The request creating it, for its `user.created` event.
    pub request_id: Option<String>,
    pub now: DateTime<Utc>,
}

impl NewUser {
    fn created(&self, user: &scim_user::Model) -> NewEvent {
        NewEvent {
            tenant_id: user.tenant_id.clone(),
            at: self.now,
            change: Change::user("user.created", &user.id, events::user_data(user)),
            request_id: self.request_id.clone(),
        }
    }
}

pub type UserCreates = Coalesced<NewUser, scim_user::Model>;

pub fn user_creates() -> UserCreates {
    Coalesced::new(run, super::users::created)
}

fn run<'t>(
    txn: &'t DatabaseTransaction,
    storage: &'t Storage,
    creates: Vec<NewUser>,
) -> Results<'t, scim_user::Model> {
    let limit = storage.limits().users;
    match txn.get_database_backend() {
        DatabaseBackend::Postgres => Box::pin(insert_locked(txn, creates, limit)),
        _ => Box::pin(insert(txn, creates, limit)),
    }
}

/// PostgreSQL: takes the lock of each tenant the creates are for (one: a job carries one
/// tenant's creates there; in one order everywhere otherwise, as `events::insert` takes
/// their event locks after them), which holds that tenant's other creates until this
/// transaction ends, and its user count; then inserts the creates by
/// `insert_within_limit`. Creates for a tenant that is gone fail as `Error::Gone`, as
/// the foreign key fails them on the embedded database.
async fn insert_locked(
    txn: &DatabaseTransaction,
    creates: Vec<NewUser>,
    limit: u64,
) -> Result<Vec<Result<scim_user::Model, Error>>, Error> {
    let tenants: BTreeSet<&str> = creates
        .iter()
        .map(|pending| pending.row.tenant_id.as_ref().as_str())
        .collect();
    let mut rooms = Rooms::new();
    for tenant_id in tenants {
        let room = match limits::lock_users_left(txn, tenant_id, limit).await {
            Ok(left) => Room::Left(left),
            Err(Error::NotFound { .. }) => Room::Gone,
            Err(failed) => return Err(failed),
        };
        rooms.insert(tenant_id.to_owned(), room);
    }
    insert_within_limit(txn, creates, limit, rooms).await
}

/// Inserts `creates` a trip at a time. A trip that fails (a limit reached, a `userName`
/// taken) is undone and its creates go again by `insert_within_limit`. One answer per
/// create. A trip that cannot be undone (SQLite rolled the transaction back on its own,
/// or the rollback to its savepoint failed) fails them all: what it left in the
/// transaction must not be committed (see `coalesce::Results`).
async fn insert(
    txn: &DatabaseTransaction,
    creates: Vec<NewUser>,
    limit: u64,
) -> Result<Vec<Result<scim_user::Model, Error>>, Error> {
    let mut results = Vec::with_capacity(creates.len());
    for trip in super::chunks::chunks(creates, USERS_IN_ONE_TRIP) {
        match insert_in_one_trip(txn, &trip).await? {
            Ok(users) => results.extend(users.into_iter().map(Ok)),
            Err(err) => {
                tracing::debug!(error = %err, "creates in one trip failed; counting and checking them");
                results.extend(insert_within_limit(txn, trip, limit, Rooms::new()).await?);
            }
        }
    }
    Ok(results)
}

/// How many more users a tenant may take in this transaction, or why it takes none.
enum Room {
    Left(u64),
    /// Counting its users failed.
    Uncounted(String),
    Gone,
}

/// Each tenant's `Room`, as far as counted.
type Rooms = HashMap<String, Room>;

/// Refuses the creates past their tenant's user limit (in arrival order), counting each
/// tenant not in `rooms` once, and inserts the others by `insert_checked`. A create that
/// fails anyway (a `userName` taken) gives its place back to the next one refused.
async fn insert_within_limit(
    txn: &DatabaseTransaction,
    creates: Vec<NewUser>,
    limit: u64,
    mut rooms: Rooms,
) -> Result<Vec<Result<scim_user::Model, Error>>, Error> {
    let mut answers: Vec<Option<Result<scim_user::Model, Error>>> =
        creates.iter().map(|_| None).collect();
    let mut waiting: Vec<(usize, NewUser)> = creates.into_iter().enumerate().collect();
    loop {
        let (mut admitted, mut places, mut refused) = (Vec::new(), Vec::new(), Vec::new());
        for (at, pending) in waiting {
            let tenant_id = pending.row.tenant_id.as_ref().clone();
            let room = match rooms.entry(tenant_id.clone()) {
                Entry::Occupied(entry) => entry.into_mut(),
                Entry::Vacant(entry) => {
                    let counted = limits::users_left(txn, entry.key(), limit).await;
                    entry.insert(
                        counted.map_or_else(|err| Room::Uncounted(err.to_string()), Room::Left),
                    )
                }
            };
            match room {
                Room::Left(0) => refused.push((at, pending)),
                Room::Left(n) => {
                    *n -= 1;
                    places.push((at, tenant_id));
                    admitted.push(pending);
                }
                Room::Uncounted(err) => {
                    answers[at] = Some(Err(Error::unavailable(
                        format!("counting the tenant's users failed: {err}"),
                        crate::error::DATABASE_RETRY_SECS,
                    )));
                }
                Room::Gone => answers[at] = Some(Err(Error::Gone)),
            }
        }
        waiting = refused;
        if admitted.is_empty() {
            break;
        }
        let mut given_back = false;
        let inserted = insert_checked(txn, admitted).await?;
        for ((at, tenant_id), result) in places.into_iter().zip(inserted) {
            if result.is_err()
                && let Some(Room::Left(n)) = rooms.get_mut(&tenant_id)
            {
                *n += 1;
                given_back = true;
            }
            answers[at] = Some(result);
        }
        if !given_back || waiting.is_empty() {
            break;
        }
    }
    for (at, _) in waiting {
        answers[at] = Some(Err(limits::reached(Held::Users, limit)));
    }
    Ok(answers
        .into_iter()
        .map(|answer| {
            answer
                .unwrap_or_else(|| Err(Error::Internal(anyhow::anyhow!("a create got no answer"))))
        })
        .collect())
}

/// Inserts a trip's creates by merged statements that skip a taken `userName` (409 for
/// its create), or one by one if those fail; the outer error as `settle`'s.
async fn insert_checked(
    txn: &DatabaseTransaction,
    creates: Vec<NewUser>,
) -> Result<Vec<Result<scim_user::Model, Error>>, Error> {
    Ok(match insert_together(txn, &creates).await? {
        Ok(mut inserted) => creates
            .iter()
            .map(|pending| {
                inserted
                    .remove(pending.row.id.as_ref())
                    .ok_or_else(|| Error::Conflict(taken(&pending.user_name)))
            })
            .collect(),
        Err(err) => {
            tracing::debug!(error = %err, "merged user creates failed; creating one by one");
            let mut results = Vec::with_capacity(creates.len());
            for pending in &creates {
                results.push(insert_alone(txn, pending).await?);
            }
            results
        }
    })
}

/// The inserted users by id; creates missing from it lost a `userName` race. Only the ids
/// come back from the database: the rest of each row is what was sent.
async fn insert_together(
    txn: &DatabaseTransaction,
    chunk: &[NewUser],
) -> Result<Result<HashMap<String, scim_user::Model>, Error>, Error> {
    let savepoint = savepoint(txn).await?;
    let outcome = async {
        let rows = chunk.iter().map(|pending| pending.row.clone());
        let ids: HashSet<String> = match scim_user::Entity::insert_many(rows)
            .on_conflict(OnConflict::new().do_nothing().to_owned())
            .exec_with_returning_keys(&savepoint)
            .await
        {
            Ok(ids) => ids.into_iter().collect(),
            Err(DbErr::RecordNotInserted) => HashSet::new(),
            Err(err) => return Err(err.into()),
        };
        let inserted: Vec<&NewUser> = chunk
            .iter()
            .filter(|pending| ids.contains(pending.row.id.as_ref()))
            .collect();
        let values: Vec<_> = inserted
            .iter()
            .flat_map(|pending| pending.values.iter().cloned())
            .collect();
        insert_values(&savepoint, values).await?;
        let users = inserted
            .into_iter()
            .map(|pending| Ok((pending, pending.row.clone().try_into_model()?)))
            .collect::<Result<Vec<(&NewUser, scim_user::Model)>, Error>>()?;
        let created = users
            .iter()
            .map(|(pending, user)| pending.created(user))
            .collect();
        events::insert(&savepoint, created).await?;
        Ok(users
            .into_iter()
            .map(|(_, user)| (user.id.clone(), user))
            .collect())
    }
    .await;
    settle(savepoint, outcome).await
}

/// Every create of `creates`, in their order, or none (a `userName` taken fails them all);
/// the outer error as `OneTrip::run`'s.
async fn insert_in_one_trip(
    txn: &DatabaseTransaction,
    creates: &[NewUser],
) -> Result<Result<Vec<scim_user::Model>, Error>, Error> {
    let backend = DatabaseBackend::Sqlite;
    let users = match creates
        .iter()
        .map(|pending| Ok(pending.row.clone().try_into_model()?))
        .collect::<Result<Vec<scim_user::Model>, Error>>()
    {
        Ok(users) => users,
        Err(err) => return Ok(Err(err)),
    };
    let mut trip = OneTrip::default();
    let rows = creates.iter().map(|pending| pending.row.clone());
    trip.push(scim_user::Entity::insert_many(rows).build(backend));
    let values = creates
        .iter()
        .flat_map(|pending| pending.values.iter().cloned())
        .collect();
    value_inserts(backend, values).for_each(|statement| trip.push(statement));
    let created = creates
        .iter()
        .zip(&users)
        .map(|(pending, user)| pending.created(user))
        .collect();
    events::inserts(backend, created).for_each(|statement| trip.push(statement));
    Ok(trip.run(txn).await?.map(|()| users))
}

async fn insert_alone(
    txn: &DatabaseTransaction,
    pending: &NewUser,
) -> Result<Result<scim_user::Model, Error>, Error> {
    let savepoint = savepoint(txn).await?;
    let outcome = async {
        let row = pending
            .row
            .clone()
            .insert(&savepoint)
            .await
            .map_err(|err| Error::conflict_on_unique(err, taken(&pending.user_name)))?;
        insert_values(&savepoint, pending.values.clone()).await?;
        events::insert(&savepoint, vec![pending.created(&row)]).await?;
        Ok::<_, Error>(row)
    }
    .await;
    settle(savepoint, outcome).await
}
