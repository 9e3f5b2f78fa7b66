//! SCIM groups of a tenant and their membership rows. Adding or removing members touches
//! only the named rows, so the cost does not grow with the group.

use std::collections::{BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Utc};
use entity::{group_member, scim_group, scim_user};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseBackend, DbErr, EntityTrait,
    IntoActiveModel, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set, Statement,
    UpdateMany,
    sea_query::{Expr, ExprTrait, OnConflict},
};
use serde_json::{Map, Value};

use super::{
    Storage,
    events::{self, Change},
    limits,
    member_changes::MemberChange,
    one_trip, permission_changes,
    resources::{Page, Sort, check_version, text},
    unique::SelectUnique,
    user_cache::UserCache,
    users,
};
use crate::{activity::cause, error::Error};

/// Rows per membership statement; keeps every backend under its bound-parameter limit.
const CHUNK: usize = 1000;

/// The group's writable attributes as a SCIM document.
pub fn attributes(row: &scim_group::Model) -> Map<String, Value> {
    let mut attrs = Map::new();
    attrs.insert(
        "displayName".to_owned(),
        Value::String(row.display_name.clone()),
    );
    if let Some(external_id) = &row.external_id {
        attrs.insert("externalId".to_owned(), Value::String(external_id.clone()));
    }
    attrs
}

fn taken(name: &str) -> String {
    format!("a group with displayName {name:?} already exists")
}

fn fill(row: &mut scim_group::ActiveModel, attrs: &Map<String, Value>) -> Result<String, Error> {
    let name = text(attrs, "displayName")
        .ok_or_else(|| Error::Invalid("displayName is required".to_owned()))?;
    row.display_name_lc = Set(name.to_lowercase());
    row.display_name = Set(name.clone());
    row.external_id = Set(text(attrs, "externalId"));
    Ok(name)
}

/// The distinct ids, after checking each is a user of this tenant.
pub async fn existing_users(
    txn: &impl ConnectionTrait,
    known: Option<&UserCache>,
    tenant_id: &str,
    ids: &[String],
) -> Result<Vec<String>, Error> {
    let wanted: BTreeSet<&String> = ids.iter().collect();
    if known.is_some_and(|known| known.all_exist(tenant_id, wanted.iter().copied())) {
        return Ok(wanted.into_iter().cloned().collect());
    }
    let found: BTreeSet<String> = users_with_tenants(txn, wanted.iter().copied())
        .await?
        .into_iter()
        .filter(|(_, tenant)| tenant == tenant_id)
        .map(|(id, _)| id)
        .collect();
    if let Some(missing) = wanted.iter().find(|id| !found.contains(id.as_str())) {
        return Err(Error::Invalid(format!(
            "member {missing:?} is not a user of this tenant"
        )));
    }
    Ok(found.into_iter().collect())
}

/// `(id, tenant id)` of each of `ids` that is a user. Looked up by primary key alone, the
/// caller comparing tenants: with `tenant_id = ? AND id IN (5 or more)`, SQLite's planner
/// (without statistics) walks the tenant's whole index instead, which made a 10-member
/// PATCH cost as much as the tenant has users.
pub async fn users_with_tenants<'a>(
    txn: &impl ConnectionTrait,
    ids: impl IntoIterator<Item = &'a String>,
) -> Result<Vec<(String, String)>, Error> {
    let ids: Vec<&String> = ids.into_iter().collect();
    let mut found = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(CHUNK) {
        let rows: Vec<(String, String)> = scim_user::Entity::find()
            .select_only()
            .column(scim_user::Column::Id)
            .column(scim_user::Column::TenantId)
            .filter(scim_user::Column::Id.is_in(chunk.iter().map(|id| id.as_str())))
            .into_tuple()
            .all(txn)
            .await?;
        found.extend(rows);
    }
    Ok(found)
}

/// Inserts adding `user_ids` to the group, skipping those already members; `added_by`
/// names the request adding each.
pub fn member_inserts<'a>(
    tenant_id: &'a str,
    group_id: &'a str,
    user_ids: &'a [String],
    since: DateTime<Utc>,
    added_by: impl Fn(&String) -> Option<String> + 'a,
) -> impl Iterator<Item = sea_orm::InsertMany<group_member::ActiveModel>> + 'a {
    super::chunks::slices(user_ids, CHUNK).map(move |chunk| {
        let rows = chunk.iter().map(|user_id| group_member::ActiveModel {
            group_id: Set(group_id.to_owned()),
            user_id: Set(user_id.clone()),
            tenant_id: Set(tenant_id.to_owned()),
            added_at: Set(Some(since)),
            added_by: Set(added_by(user_id)),
        });
        group_member::Entity::insert_many(rows).on_conflict(
            OnConflict::columns([group_member::Column::GroupId, group_member::Column::UserId])
                .do_nothing()
                .to_owned(),
        )
    })
}

/// Adds members on behalf of the current request; one already in the group keeps the
/// time it joined and the request that added it. Returns the users that were not members
/// before.
pub async fn insert_members(
    txn: &impl ConnectionTrait,
    tenant_id: &str,
    group_id: &str,
    user_ids: &[String],
    since: DateTime<Utc>,
) -> Result<Vec<String>, Error> {
    let request = cause::current();
    let by_this_request = move |_: &String| request.clone();
    insert_members_by(txn, tenant_id, group_id, user_ids, since, by_this_request).await
}

/// `insert_members`, `added_by` naming the request adding each.
pub async fn insert_members_by(
    txn: &impl ConnectionTrait,
    tenant_id: &str,
    group_id: &str,
    user_ids: &[String],
    since: DateTime<Utc>,
    added_by: impl Fn(&String) -> Option<String>,
) -> Result<Vec<String>, Error> {
    let mut joined = Vec::new();
    for insert in member_inserts(tenant_id, group_id, user_ids, since, added_by) {
        match insert.exec_with_returning_keys(txn).await {
            Ok(keys) => joined.extend(keys.into_iter().map(|(_, user_id)| user_id)),
            Err(DbErr::RecordNotInserted) => {}
            Err(err) => return Err(err.into()),
        }
    }
    Ok(joined)
}

/// For each of `group_ids` the user is a member of, the request that added it, where
/// known: the causal trace of a permission.
pub async fn added_by(
    db: &impl ConnectionTrait,
    tenant_id: &str,
    user_id: &str,
    group_ids: &[&str],
) -> Result<HashMap<String, String>, Error> {
    if group_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(String, Option<String>)> = group_member::Entity::find()
        .select_only()
        .column(group_member::Column::GroupId)
        .column(group_member::Column::AddedBy)
        .filter(group_member::Column::TenantId.eq(tenant_id))
        .filter(group_member::Column::UserId.eq(user_id))
        .filter(group_member::Column::GroupId.is_in(group_ids.iter().copied()))
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(group, request)| Some((group, request?)))
        .collect())
}

pub async fn create(
    db: &Storage,
    tenant_id: &str,
    attrs: &Map<String, Value>,
    members: Vec<String>,
    now: DateTime<Utc>,
) -> Result<scim_group::Model, Error> {
    let mut row = scim_group::ActiveModel {
        id: Set(uuid::Uuid::now_v7().to_string()),
        tenant_id: Set(tenant_id.to_owned()),
        version: Set(1),
        created_at: Set(now),
        last_modified: Set(now),
        ..Default::default()
    };
    let name = fill(&mut row, attrs)?;
    let tenant_id = tenant_id.to_owned();
    let forget_after = users::forgetting(db, members.clone());
    let storage = db.clone();
    db.write_then(
        move |txn| {
            Box::pin(async move {
                limits::make_room(
                    txn,
                    &tenant_id,
                    limits::Held::Groups,
                    storage.limits().groups,
                )
                .await?;
                let members =
                    existing_users(txn, storage.user_cache(), &tenant_id, &members).await?;
                let row = row
                    .insert(txn)
                    .await
                    .map_err(|err| Error::conflict_on_unique(err, taken(&name)))?;
                let joined = insert_members(txn, &tenant_id, &row.id, &members, now).await?;
                let mut changes = vec![Change::group(
                    "group.created",
                    &row.id,
                    events::group_data(&row),
                )];
                changes.extend(Change::members(MEMBER_ADDED, &row.id, &joined));
                events::record(txn, &tenant_id, changes, now).await?;
                Ok(row)
            })
        },
        forget_after,
    )
    .await
}

pub async fn get(
    db: &impl ConnectionTrait,
    tenant_id: &str,
    id: &str,
) -> Result<scim_group::Model, Error> {
    scim_group::Entity::find_by_id(id.to_owned())
        .filter(scim_group::Column::TenantId.eq(tenant_id))
        .unique(db)
        .await?
        .ok_or_else(|| Error::not_found("Group", id))
}

/// Replaces the group's attributes and its whole member list (PUT).
pub async fn replace(
    db: &Storage,
    tenant_id: &str,
    id: &str,
    attrs: Map<String, Value>,
    members: Vec<String>,
    if_match: Option<&str>,
    now: DateTime<Utc>,
) -> Result<scim_group::Model, Error> {
    let (tenant_id, id) = (tenant_id.to_owned(), id.to_owned());
    let if_match = if_match.map(str::to_owned);
    let storage = db.clone();
    db.write_then(
        move |txn| {
            Box::pin(async move {
                let current = get(txn, &tenant_id, &id).await?;
                check_version(if_match.as_deref(), current.version)?;
                let members =
                    existing_users(txn, storage.user_cache(), &tenant_id, &members).await?;
                let mut touched = members_of_group(txn, &tenant_id, &id).await?;
                touched.extend(members.iter().cloned());
                let watch =
                    permission_changes::watch_members(txn, &tenant_id, &id, touched).await?;
                let version = current.version + 1;
                let before = events::group_data(&current);
                let mut row = current.into_active_model();
                let name = fill(&mut row, &attrs)?;
                row.version = Set(version);
                row.last_modified = Set(now);
                let row = row
                    .update(txn)
                    .await
                    .map_err(|err| Error::conflict_on_unique(err, taken(&name)))?;
                let (joined, left) = set_members(txn, &tenant_id, &id, &members, now).await?;
                let mut changes = group_changes(&before, &row, &joined, &left);
                if let Some(watch) = watch {
                    changes.extend(watch.changes(txn).await?);
                }
                events::record(txn, &tenant_id, changes, now).await?;
                Ok(row)
            })
        },
        users::forgetting_all(db),
    )
    .await
}

/// A change a PATCH makes to a group, applied in one transaction.
#[derive(Debug, Default)]
pub struct GroupChange {
    /// New `displayName` / `externalId` when the PATCH touched them.
    pub attributes: Option<Map<String, Value>>,
    pub remove_all_members: bool,
    pub add: Vec<String>,
    pub remove: Vec<String>,
}

impl GroupChange {
    /// Adds and removes these members, and changes nothing else.
    pub fn members(add: Vec<String>, remove: Vec<String>) -> Self {
        Self {
            add,
            remove,
            ..Self::default()
        }
    }
}

/// A patched group, with how many members the PATCH made join and leave: a member added
/// again, or a user removed that was not one, counts for nothing. Merged with others (see
/// `member_changes.rs`), a PATCH counts its share of their net effect, as their events do.
#[derive(Debug, Clone)]
pub struct Patched {
    pub group: scim_group::Model,
    pub joined: usize,
    pub left: usize,
}

/// Applies what `plan` makes of the group's current attributes (PATCH), holding the group
/// row for the whole transaction.
pub async fn apply(
    db: &Storage,
    tenant_id: &str,
    id: &str,
    if_match: Option<&str>,
    now: DateTime<Utc>,
    plan: impl FnOnce(&Map<String, Value>) -> Result<GroupChange, Error> + Send + 'static,
) -> Result<Patched, Error> {
    let (tenant_id, id) = (tenant_id.to_owned(), id.to_owned());
    let if_match = if_match.map(str::to_owned);
    let storage = db.clone();
    let forget_touched = {
        let db = db.clone();
        move |outcome: &Result<(Patched, Option<Vec<String>>), Error>| match outcome {
            Ok((_, Some(touched))) => users::forget(&db, touched),
            // A rename or a wholesale removal touches every member; a failed write touched
            // nothing, but what it would have touched is not known here.
            _ => users::forget_all(&db),
        }
    };
    let outcome = db
        .write_then(
            move |txn| {
                Box::pin(async move {
                    let target = Target {
                        tenant_id: &tenant_id,
                        id: &id,
                        if_match: if_match.as_deref(),
                        now,
                    };
                    apply_in(txn, storage.user_cache(), target, plan).await
                })
            },
            forget_touched,
        )
        .await;
    outcome.map(|(row, _)| row)
}

/// Applies a PATCH that only adds and removes members, so needs neither the group's
/// attributes nor its version: merged with the others waiting (see `member_changes.rs`).
pub async fn change_members(
    db: &Storage,
    tenant_id: &str,
    id: &str,
    add: Vec<String>,
    remove: Vec<String>,
    now: DateTime<Utc>,
) -> Result<Patched, Error> {
    let change = MemberChange {
        tenant_id: tenant_id.to_owned(),
        group_id: id.to_owned(),
        add,
        remove,
        now,
        request_id: crate::activity::cause::current(),
    };
    db.member_changes()
        .submit(db, tenant_id, change)
        .await
        .map(|(row, _)| row)
}

/// The group a PATCH is for.
pub struct Target<'a> {
    pub tenant_id: &'a str,
    pub id: &'a str,
    pub if_match: Option<&'a str>,
    pub now: DateTime<Utc>,
}

/// `apply` inside `txn`: the patched group, and the users whose memberships it changed
/// (`None` when that is every member).
pub async fn apply_in(
    txn: &impl ConnectionTrait,
    known: Option<&UserCache>,
    target: Target<'_>,
    plan: impl FnOnce(&Map<String, Value>) -> Result<GroupChange, Error>,
) -> Result<(Patched, Option<Vec<String>>), Error> {
    let Target {
        tenant_id,
        id,
        if_match,
        now,
    } = target;
    // Bumps the version first: one statement that also locks the row on PostgreSQL
    // (concurrent PATCHes of one group queue here) and returns what it held. If the
    // PATCH then fails, its savepoint or transaction takes the bump back.
    let current = bump_versions(txn, tenant_id, id, 1, now)
        .await?
        .ok_or_else(|| Error::not_found("Group", id))?;
    check_version(if_match, current.version - 1)?;
    let change = plan(&attributes(&current))?;
    let add = existing_users(txn, known, tenant_id, &change.add).await?;
    let mut touched = if change.remove_all_members {
        members_of_group(txn, tenant_id, id).await?
    } else {
        change.remove.clone()
    };
    touched.extend(add.iter().cloned());
    let watch = permission_changes::watch_members(txn, tenant_id, id, touched).await?;
    let before = events::group_data(&current);
    let mut current = current;
    if let Some(attrs) = &change.attributes {
        let mut row = current.clone().into_active_model();
        let name = fill(&mut row, attrs)?;
        current = row
            .update(txn)
            .await
            .map_err(|err| Error::conflict_on_unique(err, taken(&name)))?;
    }
    let (joined, left) = if change.remove_all_members {
        set_members(txn, tenant_id, id, &add, now).await?
    } else {
        let left = remove_members(txn, id, &change.remove).await?;
        (insert_members(txn, tenant_id, id, &add, now).await?, left)
    };
    let mut changes = group_changes(&before, &current, &joined, &left);
    if let Some(watch) = watch {
        changes.extend(watch.changes(txn).await?);
    }
    events::record(txn, tenant_id, changes, now).await?;
    let touched = if change.attributes.is_some() || change.remove_all_members {
        None
    } else {
        Some([add, change.remove].concat())
    };
    let patched = Patched {
        group: current,
        joined: joined.len(),
        left: left.len(),
    };
    Ok((patched, touched))
}

/// Adds `by` to the group's version and stamps `now` on it; the row as it is then, or
/// `None` if the tenant has no such group.
pub async fn bump_versions(
    txn: &impl ConnectionTrait,
    tenant_id: &str,
    id: &str,
    by: i64,
    now: DateTime<Utc>,
) -> Result<Option<scim_group::Model>, Error> {
    Ok(version_bump(tenant_id, id, by, now)
        .exec_with_returning(txn)
        .await?
        .pop())
}

/// The update adding `by` to the group's version.
pub fn version_bump(
    tenant_id: &str,
    id: &str,
    by: i64,
    now: DateTime<Utc>,
) -> UpdateMany<scim_group::Entity> {
    scim_group::Entity::update_many()
        .col_expr(
            scim_group::Column::Version,
            Expr::col(scim_group::Column::Version).add(by),
        )
        .col_expr(scim_group::Column::LastModified, Expr::value(now))
        .filter(scim_group::Column::Id.eq(id))
        .filter(scim_group::Column::TenantId.eq(tenant_id))
}

/// The ids of one group's members.
async fn members_of_group(
    txn: &impl ConnectionTrait,
    tenant_id: &str,
    group_id: &str,
) -> Result<Vec<String>, Error> {
    let group = group_id.to_owned();
    Ok(members_of(txn, tenant_id, std::slice::from_ref(&group))
        .await?
        .remove(group_id)
        .unwrap_or_default())
}

/// Makes `user_ids` the group's whole member list; members who stay keep the time they
/// joined (a PUT that repeats the list must not make everyone a newcomer). Returns the
/// users who joined and those who left.
async fn set_members(
    txn: &impl ConnectionTrait,
    tenant_id: &str,
    group_id: &str,
    user_ids: &[String],
    since: DateTime<Utc>,
) -> Result<(Vec<String>, Vec<String>), Error> {
    let current = members_of_group(txn, tenant_id, group_id).await?;
    let staying: HashSet<&String> = user_ids.iter().collect();
    let leaving: Vec<String> = current
        .into_iter()
        .filter(|user_id| !staying.contains(user_id))
        .collect();
    let left = remove_members(txn, group_id, &leaving).await?;
    let joined = insert_members(txn, tenant_id, group_id, user_ids, since).await?;
    Ok((joined, left))
}

pub const MEMBER_ADDED: &str = "group.member_added";
pub const MEMBER_REMOVED: &str = "group.member_removed";

/// The events of a group changed from `before` (its `group_data`) to `after`, with these
/// members joining and leaving.
pub fn group_changes(
    before: &Value,
    after: &scim_group::Model,
    joined: &[String],
    left: &[String],
) -> Vec<Change> {
    let data = events::group_data(after);
    let mut changes = Vec::new();
    if *before != data {
        changes.push(Change::group("group.updated", &after.id, data));
    }
    changes.extend(Change::members(MEMBER_REMOVED, &after.id, left));
    changes.extend(Change::members(MEMBER_ADDED, &after.id, joined));
    changes
}

/// Removes members; returns the users that were members. On SQLite in one trip that
/// answers with one row: a `RETURNING` row per member removed woke the writer once each
/// (see `member_changes::join`).
pub async fn remove_members(
    txn: &impl ConnectionTrait,
    group_id: &str,
    user_ids: &[String],
) -> Result<Vec<String>, Error> {
    if user_ids.is_empty() {
        return Ok(Vec::new());
    }
    if txn.get_database_backend() == DatabaseBackend::Sqlite {
        let backend = DatabaseBackend::Sqlite;
        let listed = serde_json::to_string(user_ids).map_err(|err| Error::Internal(err.into()))?;
        let members = Statement::from_sql_and_values(
            backend,
            "SELECT json_group_array(listed.value ORDER BY listed.at) AS members \
             FROM (SELECT value, MIN(key) AS at FROM json_each(?) GROUP BY value) AS listed \
             WHERE EXISTS (SELECT 1 FROM group_member \
             WHERE group_member.group_id = ? AND group_member.user_id = listed.value)",
            [listed.clone().into(), group_id.into()],
        );
        let delete = Statement::from_sql_and_values(
            backend,
            "DELETE FROM group_member \
             WHERE group_id = ? AND user_id IN (SELECT value FROM json_each(?))",
            [group_id.into(), listed.into()],
        );
        let rows = txn
            .query_all_raw(one_trip::together([members, delete]))
            .await?;
        return one_trip::json_list(&rows, "members");
    }
    let mut left = Vec::new();
    for chunk in user_ids.chunks(CHUNK) {
        let removed = group_member::Entity::delete_many()
            .filter(group_member::Column::GroupId.eq(group_id))
            .filter(group_member::Column::UserId.is_in(chunk.iter().map(String::as_str)))
            .exec_with_returning(txn)
            .await?;
        left.extend(removed.into_iter().map(|member| member.user_id));
    }
    Ok(left)
}

/// Removes the group, its mapping and its memberships. Its `group.deleted` event stands
/// for the memberships too: no `group.member_removed` is sent for them.
pub async fn delete(
    db: &Storage,
    tenant_id: &str,
    id: &str,
    if_match: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    let (tenant_id, id) = (tenant_id.to_owned(), id.to_owned());
    let if_match = if_match.map(str::to_owned);
    db.write_then(
        move |txn| {
            Box::pin(async move {
                let current = get(txn, &tenant_id, &id).await?;
                check_version(if_match.as_deref(), current.version)?;
                let members = members_of_group(txn, &tenant_id, &id).await?;
                let watch =
                    permission_changes::watch_members(txn, &tenant_id, &id, members).await?;
                super::mappings::forget(txn, &tenant_id, &id).await?;
                group_member::Entity::delete_many()
                    .filter(group_member::Column::GroupId.eq(&id))
                    .exec(txn)
                    .await?;
                scim_group::Entity::delete_by_id(id.clone())
                    .exec(txn)
                    .await?;
                let mut changes = vec![Change::group(
                    "group.deleted",
                    &id,
                    events::group_data(&current),
                )];
                if let Some(watch) = watch {
                    changes.extend(watch.changes(txn).await?);
                }
                events::record(txn, &tenant_id, changes, now).await?;
                Ok(())
            })
        },
        users::forgetting_all(db),
    )
    .await
}

pub async fn list(
    db: &impl ConnectionTrait,
    tenant_id: &str,
    condition: Option<Expr>,
    page: &Page,
) -> Result<(u64, Vec<scim_group::Model>), Error> {
    let mut query = scim_group::Entity::find().filter(scim_group::Column::TenantId.eq(tenant_id));
    if let Some(condition) = condition {
        query = query.filter(condition);
    }
    let total = query.clone().count(db).await?;
    if page.count == 0 || total < page.start_index {
        return Ok((total, Vec::new()));
    }
    let column = match page.sort.map(|(sort, _)| sort) {
        Some(Sort::Id) => scim_group::Column::Id,
        Some(Sort::ExternalId) => scim_group::Column::ExternalId,
        Some(Sort::Name | Sort::DisplayName) => scim_group::Column::DisplayNameLc,
        Some(Sort::LastModified) => scim_group::Column::LastModified,
        Some(Sort::Created) | None => scim_group::Column::CreatedAt,
    };
    let descending = page.sort.is_some_and(|(_, descending)| descending);
    query = if descending {
        query
            .order_by_desc(column)
            .order_by_desc(scim_group::Column::Id)
    } else {
        query
            .order_by_asc(column)
            .order_by_asc(scim_group::Column::Id)
    };
    let rows = query
        .offset(page.start_index - 1)
        .limit(page.count)
        .all(db)
        .await?;
    Ok((total, rows))
}

/// For each of `group_ids`, its member user ids. Reads only membership rows.
pub async fn members_of(
    db: &impl ConnectionTrait,
    tenant_id: &str,
    group_ids: &[String],
) -> Result<HashMap<String, Vec<String>>, Error> {
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    if group_ids.is_empty() {
        return Ok(out);
    }
    let rows: Vec<(String, String)> = group_member::Entity::find()
        .select_only()
        .column(group_member::Column::GroupId)
        .column(group_member::Column::UserId)
        .filter(group_member::Column::TenantId.eq(tenant_id))
        .filter(group_member::Column::GroupId.is_in(group_ids.iter().map(String::as_str)))
        .order_by_asc(group_member::Column::UserId)
        .into_tuple()
        .all(db)
        .await?;
    for (group_id, user_id) in rows {
        out.entry(group_id).or_default().push(user_id);
    }
    Ok(out)
}
