//! Group PATCHes that only add or remove members, merged (see `coalesce.rs`; on
//! PostgreSQL those of one tenant). Entra fills a group with many concurrent PATCHes of a
//! few members each; run one by one, each costs a version bump and a membership statement. Merged, the
//! PATCHes waiting for one group cost one version bump (by their number, each answered
//! with its own version, in arrival order) and one statement per kind of membership change,
//! the net effect of all of them in arrival order (the last PATCH naming a user decides).
//!
//! A PATCH naming a member that is not a user of the tenant, or whose group is gone, is
//! answered as if it had run alone, and changes nothing. If a merged statement fails for
//! any other reason, each PATCH runs alone in its own savepoint, in arrival order.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Utc};
use entity::{group_mapping, scim_group};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseTransaction, EntityTrait,
    FromQueryResult, Iterable, QueryFilter, QueryOrder, QueryResult, QuerySelect, QueryTrait,
    Statement,
    sea_query::{Expr, ExprTrait, LockType, Query},
};

use super::{
    Storage,
    coalesce::{Coalesced, Results, savepoint, settle},
    events::{self, Change, NewEvent},
    groups::{self, GroupChange, MEMBER_ADDED, MEMBER_REMOVED, Patched, Target},
    one_trip::{self, CarriedSavepoint},
    permission_changes,
    user_cache::UserCache,
    users,
};
use crate::{activity::cause, error::Error};

pub struct MemberChange {
    pub tenant_id: String,
    pub group_id: String,
    pub add: Vec<String>,
    pub remove: Vec<String>,
    pub now: DateTime<Utc>,
    /// The PATCH request, for the membership events it causes.
    pub request_id: Option<String>,
}

/// The patched group (with the version this PATCH made) and the users it touched.
pub type Changed = (Patched, Vec<String>);

pub type MemberChanges = Coalesced<MemberChange, Changed>;

pub fn member_changes() -> MemberChanges {
    Coalesced::new(run, forget_touched)
}

/// The users a PATCH touched now belong to other groups. What a failed one would have
/// touched is not known here.
fn forget_touched(db: &Storage, outcome: &Result<Changed, Error>) {
    match outcome {
        Ok((_, touched)) => users::forget(db, touched),
        Err(_) => users::forget_all(db),
    }
}

fn run<'t>(
    txn: &'t DatabaseTransaction,
    storage: &'t Storage,
    changes: Vec<MemberChange>,
) -> Results<'t, Changed> {
    Box::pin(async move {
        if txn.get_database_backend() == DatabaseBackend::Postgres {
            lock_groups(txn, &changes).await?;
        }
        apply(txn, storage.user_cache(), changes).await
    })
}

/// PostgreSQL: locks the job's groups first, in one order everywhere. Its merged part bumps
/// them in that order, but a change that then runs alone bumps its group again: two jobs of
/// one tenant (on two replicas) could each wait for a group the other holds.
async fn lock_groups(txn: &DatabaseTransaction, changes: &[MemberChange]) -> Result<(), Error> {
    let mut groups: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for change in changes {
        groups
            .entry(&change.tenant_id)
            .or_default()
            .insert(&change.group_id);
    }
    for (tenant_id, ids) in groups {
        let _: Vec<String> = scim_group::Entity::find()
            .select_only()
            .column(scim_group::Column::Id)
            .filter(scim_group::Column::TenantId.eq(tenant_id))
            .filter(scim_group::Column::Id.is_in(ids))
            .order_by_asc(scim_group::Column::Id)
            .lock(LockType::NoKeyUpdate)
            .into_tuple()
            .all(txn)
            .await?;
    }
    Ok(())
}

async fn apply(
    txn: &DatabaseTransaction,
    known: Option<&UserCache>,
    changes: Vec<MemberChange>,
) -> Result<Vec<Result<Changed, Error>>, Error> {
    let mut results: Vec<Option<Result<Changed, Error>>> = changes.iter().map(|_| None).collect();
    let together = match valid_changes(txn, known, &changes).await {
        Ok(valid) => valid,
        Err(err) => {
            tracing::debug!(error = %err, "checking members failed; patching one by one");
            Vec::new()
        }
    };
    if !together.is_empty() {
        match apply_together(txn, &changes, &together).await? {
            Ok(changed) => {
                for (index, result) in changed {
                    results[index] = Some(result);
                }
            }
            Err(err) => {
                tracing::debug!(error = %err, "merged member changes failed; patching one by one");
            }
        }
    }
    let mut out = Vec::with_capacity(changes.len());
    for (change, result) in changes.iter().zip(results) {
        out.push(match result {
            Some(result) => result,
            None => apply_alone(txn, known, change).await?,
        });
    }
    Ok(out)
}

/// Indexes of the changes whose added members are all users of their tenant.
async fn valid_changes(
    txn: &DatabaseTransaction,
    known: Option<&UserCache>,
    changes: &[MemberChange],
) -> Result<Vec<usize>, Error> {
    let known: Vec<bool> = changes
        .iter()
        .map(|change| known.is_some_and(|known| known.all_exist(&change.tenant_id, &change.add)))
        .collect();
    let unknown: BTreeSet<&String> = changes
        .iter()
        .zip(&known)
        .filter(|(_, known)| !**known)
        .flat_map(|(change, _)| &change.add)
        .collect();
    let rows = if unknown.is_empty() {
        Vec::new()
    } else {
        groups::users_with_tenants(txn, unknown).await?
    };
    let found: HashSet<(&str, &str)> = rows
        .iter()
        .map(|(id, tenant)| (id.as_str(), tenant.as_str()))
        .collect();
    Ok(changes
        .iter()
        .zip(&known)
        .enumerate()
        .filter(|(_, (change, known))| {
            **known
                || change
                    .add
                    .iter()
                    .all(|id| found.contains(&(id.as_str(), change.tenant_id.as_str())))
        })
        .map(|(index, _)| index)
        .collect())
}

/// Applies the changes at `indexes`, group by group, in one savepoint; the result of each
/// by its index. A group that is gone answers each of its changes 404. `Ok(Err(_))` when
/// they failed and were undone; `Err(_)` as `OneTrip::run`'s (the transaction is gone).
///
/// On SQLite the savepoint costs no trip to SQLite's thread of its own (see
/// `one_trip.rs`): it opens with the first group's version bump, which also says whether
/// the group is mapped, and is released with the events of every group. An unmapped group
/// whose members only join costs two trips (bump, members), the events one more: three for
/// the usual Entra job, where it was six.
async fn apply_together(
    txn: &DatabaseTransaction,
    changes: &[MemberChange],
    indexes: &[usize],
) -> Result<Result<Vec<(usize, Result<Changed, Error>)>, Error>, Error> {
    let mut caused = Vec::new();
    if txn.get_database_backend() == DatabaseBackend::Postgres {
        let nested = savepoint(txn).await?;
        let outcome = async {
            let out =
                by_group(&nested, &mut Opening::Opened, changes, indexes, &mut caused).await?;
            events::insert(&nested, caused).await?;
            Ok(out)
        }
        .await;
        return settle(nested, outcome).await;
    }
    let mut carried = CarriedSavepoint::new("member_changes");
    let outcome = by_group(
        txn,
        &mut Opening::Carried(&mut carried),
        changes,
        indexes,
        &mut caused,
    )
    .await;
    let ended = match outcome {
        Ok(out) => {
            let events = events::inserts(DatabaseBackend::Sqlite, caused);
            carried.release(txn, events).await.map(|()| out)
        }
        Err(err) => Err(err),
    };
    match ended {
        Ok(out) => Ok(Ok(out)),
        Err(failed) => {
            carried.undo(txn, &failed).await?;
            Ok(Err(failed))
        }
    }
}

/// How the statement opening each group's change runs: carrying the savepoint's opening
/// (SQLite, see `apply_together`), or inside a savepoint already open (PostgreSQL).
enum Opening<'s> {
    Carried(&'s mut CarriedSavepoint),
    Opened,
}

impl Opening<'_> {
    async fn run(
        &mut self,
        txn: &DatabaseTransaction,
        statement: Statement,
    ) -> Result<Vec<QueryResult>, Error> {
        match self {
            Self::Carried(savepoint) => savepoint.run(txn, statement).await,
            Self::Opened => Ok(txn.query_all_raw(statement).await?),
        }
    }
}

/// `apply_together`'s work inside its savepoint; the events it causes go to `caused`.
async fn by_group(
    txn: &DatabaseTransaction,
    opening: &mut Opening<'_>,
    changes: &[MemberChange],
    indexes: &[usize],
    caused: &mut Vec<NewEvent>,
) -> Result<Vec<(usize, Result<Changed, Error>)>, Error> {
    let mut groups_changed: BTreeMap<(&str, &str), Vec<usize>> = BTreeMap::new();
    for &index in indexes {
        let change = &changes[index];
        groups_changed
            .entry((change.tenant_id.as_str(), change.group_id.as_str()))
            .or_default()
            .push(index);
    }
    let mut out = Vec::with_capacity(indexes.len());
    for ((tenant_id, group_id), members) in groups_changed {
        let count = i64::try_from(members.len()).unwrap_or(i64::MAX);
        let now = members
            .iter()
            .map(|&index| changes[index].now)
            .max()
            .unwrap_or_else(Utc::now);
        let bump = bump_telling_mapped(txn.get_database_backend(), tenant_id, group_id, count, now);
        let Some((row, mapped)) = bumped(opening.run(txn, bump).await?)? else {
            out.extend(
                members
                    .into_iter()
                    .map(|index| (index, Err(Error::not_found("Group", group_id)))),
            );
            continue;
        };
        // Arrival order: the last change naming a user decides whether it is a member.
        // One removed and added again left the group in between: removing it first
        // makes its membership start anew, as the PATCHes run one by one would.
        let mut member: BTreeMap<&String, bool> = BTreeMap::new();
        let mut removed: BTreeSet<&String> = BTreeSet::new();
        for &index in &members {
            let change = &changes[index];
            member.extend(change.remove.iter().map(|id| (id, false)));
            removed.extend(change.remove.iter());
            member.extend(change.add.iter().map(|id| (id, true)));
        }
        let (mut add, mut remove) = (Vec::new(), Vec::new());
        for (id, is_member) in member {
            if !is_member || removed.contains(id) {
                remove.push(id.clone());
            }
            if is_member {
                add.push(id.clone());
            }
        }
        let touched: Vec<String> = remove.iter().chain(&add).cloned().collect();
        let watch = if mapped && !touched.is_empty() {
            let watched = permission_changes::Watched::Users(touched);
            Some(permission_changes::watch_all(txn, tenant_id, watched).await?)
        } else {
            None
        };
        // Each membership change is the doing of the PATCH that made it when they run
        // one by one: a member leaves with the first PATCH removing it, and its
        // membership begins with the first PATCH adding it after the last removal (a
        // later add finds it a member already).
        let (mut remover, mut adder) = (HashMap::new(), HashMap::new());
        for &index in &members {
            for id in &changes[index].remove {
                remover.entry(id).or_insert(index);
                adder.remove(id);
            }
            for id in &changes[index].add {
                adder.entry(id).or_insert(index);
            }
        }
        let adder_of = |user_id: &String| {
            adder
                .get(user_id)
                .and_then(|&index| changes[index].request_id.clone())
        };
        let left = groups::remove_members(txn, group_id, &remove).await?;
        let joined = join(txn, tenant_id, group_id, &add, now, adder_of).await?;
        let event = |kind, user_id: &String, by: &HashMap<&String, usize>| NewEvent {
            tenant_id: tenant_id.to_owned(),
            at: now,
            change: Change::member(kind, group_id, user_id),
            request_id: by
                .get(user_id)
                .and_then(|&index| changes[index].request_id.clone()),
        };
        caused.extend(
            left.iter()
                .map(|id| event(MEMBER_REMOVED, id, &remover))
                .chain(joined.iter().map(|id| event(MEMBER_ADDED, id, &adder))),
        );
        if let Some(watch) = watch {
            // A user's permissions moved with the last PATCH that named it.
            let mut namer = HashMap::new();
            for &index in &members {
                let change = &changes[index];
                namer.extend(
                    change
                        .remove
                        .iter()
                        .chain(&change.add)
                        .map(|id| (id, index)),
                );
            }
            for shifted in watch.changes(txn).await? {
                let request_id = namer
                    .get(&shifted.resource_id)
                    .and_then(|&index| changes[index].request_id.clone());
                caused.push(NewEvent {
                    tenant_id: tenant_id.to_owned(),
                    at: now,
                    change: shifted,
                    request_id,
                });
            }
        }
        let first_version = row.version - count + 1;
        // (joined, left) by the index of the PATCH that made them.
        let mut made: HashMap<usize, (usize, usize)> = HashMap::new();
        for index in joined.iter().filter_map(|id| adder.get(id)) {
            made.entry(*index).or_default().0 += 1;
        }
        for index in left.iter().filter_map(|id| remover.get(id)) {
            made.entry(*index).or_default().1 += 1;
        }
        for (offset, index) in (0_i64..).zip(members) {
            let change = &changes[index];
            let patched = Patched {
                group: scim_group::Model {
                    version: first_version + offset,
                    ..row.clone()
                },
                joined: made.get(&index).map_or(0, |made| made.0),
                left: made.get(&index).map_or(0, |made| made.1),
            };
            let touched = [change.add.clone(), change.remove.clone()].concat();
            out.push((index, Ok((patched, touched))));
        }
    }
    Ok(out)
}

/// `groups::insert_members_by`; on SQLite in one trip to SQLite's thread that answers with
/// one row: the users of `add` not yet members (those that join, in `add`'s order), then
/// the inserts.
/// SQLite's thread sends a row of `RETURNING` back on its own, waking the writer for each:
/// ten wake-ups for a PATCH of Entra's, and most of a merged batch's time went to them.
async fn join(
    txn: &DatabaseTransaction,
    tenant_id: &str,
    group_id: &str,
    add: &[String],
    since: DateTime<Utc>,
    added_by: impl Fn(&String) -> Option<String>,
) -> Result<Vec<String>, Error> {
    if add.is_empty() {
        return Ok(Vec::new());
    }
    if txn.get_database_backend() == DatabaseBackend::Postgres {
        return groups::insert_members_by(txn, tenant_id, group_id, add, since, added_by).await;
    }
    let backend = DatabaseBackend::Sqlite;
    let wanted = serde_json::to_string(add).map_err(|err| Error::Internal(err.into()))?;
    let newcomers = Statement::from_sql_and_values(
        backend,
        "SELECT json_group_array(wanted.value ORDER BY wanted.key) AS joined \
         FROM json_each(?) AS wanted \
         WHERE NOT EXISTS (SELECT 1 FROM group_member \
         WHERE group_member.group_id = ? AND group_member.user_id = wanted.value)",
        [wanted.into(), group_id.into()],
    );
    let inserts = groups::member_inserts(tenant_id, group_id, add, since, added_by)
        .map(|insert| insert.build(backend));
    let rows = txn
        .query_all_raw(one_trip::together(
            std::iter::once(newcomers).chain(inserts),
        ))
        .await?;
    one_trip::json_list(&rows, "joined")
}

/// The group's version bump, returning the group and whether it is mapped (only a mapped
/// group's members can gain or lose a permission).
fn bump_telling_mapped(
    backend: DatabaseBackend,
    tenant_id: &str,
    group_id: &str,
    by: i64,
    now: DateTime<Utc>,
) -> Statement {
    let mapped = Query::select()
        .expr(Expr::val(1))
        .from(group_mapping::Entity)
        .and_where(
            Expr::col((group_mapping::Entity, group_mapping::Column::GroupId))
                .equals((scim_group::Entity, scim_group::Column::Id)),
        )
        .to_owned();
    let mut update = groups::version_bump(tenant_id, group_id, by, now).into_query();
    update.returning(
        Query::returning().exprs(
            scim_group::Column::iter()
                .map(|column| Expr::col((scim_group::Entity, column)))
                .chain([Expr::exists(mapped)]),
        ),
    );
    backend.build(&update)
}

/// The group `bump_telling_mapped` bumped and whether it is mapped; `None` if it is gone.
fn bumped(rows: Vec<QueryResult>) -> Result<Option<(scim_group::Model, bool)>, Error> {
    let Some(row) = rows.into_iter().next() else {
        return Ok(None);
    };
    let group = scim_group::Model::from_query_result(&row, "")?;
    let mapped: bool = row.try_get_by_index(scim_group::Column::iter().count())?;
    Ok(Some((group, mapped)))
}

/// One change in a savepoint of its own, exactly as an unmerged PATCH runs; the outer error
/// as `settle`'s.
async fn apply_alone(
    txn: &DatabaseTransaction,
    known: Option<&UserCache>,
    change: &MemberChange,
) -> Result<Result<Changed, Error>, Error> {
    let savepoint = savepoint(txn).await?;
    let target = Target {
        tenant_id: &change.tenant_id,
        id: &change.group_id,
        if_match: None,
        now: change.now,
    };
    let plan = GroupChange::members(change.add.clone(), change.remove.clone());
    let outcome = cause::within(
        change.request_id.clone(),
        groups::apply_in(&savepoint, known, target, move |_| Ok(plan)),
    )
    .await;
    let settled = settle(savepoint, outcome).await?;
    Ok(settled.map(|(row, touched)| (row, touched.unwrap_or_default())))
}
