//! SCIM users of a tenant: the row, its indexed columns and its `scim_user_value` rows are
//! always written together, in one transaction.

use std::{collections::HashMap, sync::Arc};

use chrono::{DateTime, Utc};
use entity::{group_member, scim_group, scim_user, scim_user_value};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseTransaction,
    EntityTrait, IntoActiveModel, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait,
    Set, Statement, sea_query::Expr,
};
use serde_json::{Map, Value};

use super::resources::{Page, Sort, VALUE_TABLE_ATTRIBUTES, check_version, text};
use super::{
    Storage,
    events::{self, Change},
    limits, permission_changes, tenants,
    unique::SelectUnique,
    user_cache::{CachedUser, UserCache},
    user_creates::NewUser,
    user_names::Read,
};
use crate::{activity::cause, error::Error};

pub fn user_attributes(row: &scim_user::Model) -> Result<Map<String, Value>, Error> {
    match serde_json::from_str(&row.data) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(Error::Internal(anyhow::anyhow!(
            "user {} has unreadable data",
            row.id
        ))),
    }
}

/// The row's columns from the normalised attributes.
fn fill(row: &mut scim_user::ActiveModel, attrs: &Map<String, Value>) -> Result<(), Error> {
    let user_name =
        text(attrs, "userName").ok_or_else(|| Error::Invalid("userName is required".to_owned()))?;
    let display_name = text(attrs, "displayName");
    row.user_name_lc = Set(user_name.to_lowercase());
    row.user_name = Set(user_name);
    row.external_id = Set(text(attrs, "externalId"));
    row.display_name_lc = Set(display_name.as_ref().map(|d| d.to_lowercase()));
    row.display_name = Set(display_name);
    row.active = Set(attrs.get("active").and_then(Value::as_bool).unwrap_or(true));
    row.data = Set(serde_json::to_string(attrs).map_err(|err| Error::Internal(err.into()))?);
    Ok(())
}

/// The user's indexed values as rows of `scim_user_value`.
pub(super) fn value_rows(
    tenant_id: &str,
    user_id: &str,
    attrs: &Map<String, Value>,
) -> Vec<scim_user_value::ActiveModel> {
    let mut rows = Vec::new();
    for attribute in VALUE_TABLE_ATTRIBUTES {
        let Some(Value::Array(items)) = attrs.get(*attribute) else {
            continue;
        };
        for item in items {
            let value = item.get("value").and_then(Value::as_str);
            rows.push(scim_user_value::ActiveModel {
                tenant_id: Set(tenant_id.to_owned()),
                user_id: Set(user_id.to_owned()),
                attribute: Set((*attribute).to_owned()),
                value: Set(value.map(str::to_owned)),
                value_lc: Set(value.map(str::to_lowercase)),
                display: Set(item
                    .get("display")
                    .and_then(Value::as_str)
                    .map(str::to_owned)),
                type_lc: Set(item
                    .get("type")
                    .and_then(Value::as_str)
                    .map(str::to_lowercase)),
                is_primary: Set(item
                    .get("primary")
                    .and_then(Value::as_bool)
                    .unwrap_or(false)),
                ..Default::default()
            });
        }
    }
    rows
}

/// Inserts value rows, in statements that stay under every backend's parameter limit.
pub(super) async fn insert_values(
    txn: &impl ConnectionTrait,
    rows: Vec<scim_user_value::ActiveModel>,
) -> Result<(), Error> {
    for statement in value_inserts(txn.get_database_backend(), rows) {
        txn.execute_raw(statement).await?;
    }
    Ok(())
}

/// The statements `insert_values` runs.
pub(super) fn value_inserts(
    backend: DatabaseBackend,
    rows: Vec<scim_user_value::ActiveModel>,
) -> impl Iterator<Item = Statement> {
    super::chunks::chunks(rows, VALUE_ROWS_PER_STATEMENT)
        .map(move |chunk| scim_user_value::Entity::insert_many(chunk).build(backend))
}

/// 8 parameters a row: far below SQLite's 32,766 and PostgreSQL's 65,535.
const VALUE_ROWS_PER_STATEMENT: usize = 1024;

/// Rewrites the user's indexed values.
async fn replace_values(
    txn: &impl ConnectionTrait,
    tenant_id: &str,
    user_id: &str,
    attrs: &Map<String, Value>,
) -> Result<(), Error> {
    scim_user_value::Entity::delete_many()
        .filter(scim_user_value::Column::UserId.eq(user_id))
        .exec(txn)
        .await?;
    insert_values(txn, value_rows(tenant_id, user_id, attrs)).await
}

pub(super) fn taken(user_name: &str) -> String {
    format!("a user with userName {user_name:?} already exists")
}

pub async fn create(
    db: &Storage,
    tenant_id: &str,
    attrs: &Map<String, Value>,
    now: DateTime<Utc>,
) -> Result<scim_user::Model, Error> {
    let id = uuid::Uuid::now_v7().to_string();
    let mut row = scim_user::ActiveModel {
        id: Set(id.clone()),
        tenant_id: Set(tenant_id.to_owned()),
        version: Set(1),
        created_at: Set(now),
        last_modified: Set(now),
        ..Default::default()
    };
    fill(&mut row, attrs)?;
    let user_name = text(attrs, "userName").unwrap_or_default();
    let values = value_rows(tenant_id, &id, attrs);
    let user = NewUser {
        row,
        values,
        user_name,
        request_id: cause::current(),
        now,
    };
    db.user_creates().submit(db, tenant_id, user).await
}

pub async fn get(
    db: &impl ConnectionTrait,
    tenant_id: &str,
    id: &str,
) -> Result<scim_user::Model, Error> {
    scim_user::Entity::find_by_id(id.to_owned())
        .filter(scim_user::Column::TenantId.eq(tenant_id))
        .unique(db)
        .await?
        .ok_or_else(|| Error::not_found("User", id))
}

/// The user, from the cache when it holds it (embedded database only), with its groups
/// when `with_groups` (without it, membership rows are not read, and `groups` is empty
/// unless the cache had them).
pub async fn fetch(
    db: &Storage,
    tenant_id: &str,
    id: &str,
    with_groups: bool,
) -> Result<Arc<CachedUser>, Error> {
    if let Some(user) = db.user_cache().and_then(|cache| cache.get(tenant_id, id)) {
        return Ok(user);
    }
    let generation = db.user_cache().map(UserCache::generation);
    let row = get(db.reads(), tenant_id, id).await?;
    remember(db, generation, row, with_groups).await
}

/// The user whose `userName` is `user_name` (compared without case); its groups as for
/// `fetch`.
pub async fn find_by_user_name(
    db: &Storage,
    tenant_id: &str,
    user_name: &str,
    with_groups: bool,
) -> Result<Option<Arc<CachedUser>>, Error> {
    let user_name_lc = user_name.to_lowercase();
    if let Some(cache) = db.user_cache() {
        if let Some(user) = cache.by_user_name(tenant_id, &user_name_lc) {
            return Ok(Some(user));
        }
        if cache.names().surely_free(tenant_id, &user_name_lc) {
            return Ok(None);
        }
    }
    let generation = db.user_cache().map(UserCache::generation);
    let Some(row) = scim_user::Entity::find()
        .filter(scim_user::Column::TenantId.eq(tenant_id))
        .filter(scim_user::Column::UserNameLc.eq(user_name_lc))
        .unique(db.reads())
        .await?
    else {
        learn_names(db, tenant_id);
        return Ok(None);
    };
    remember(db, generation, row, with_groups).await.map(Some)
}

/// Asks the writer to read the tenant's userNames, unless they are known or being read, so
/// that later lookups of free names need no read (`user_names.rs`). Does not wait for it.
fn learn_names(db: &Storage, tenant_id: &str) {
    let Some(load) = db
        .user_cache()
        .and_then(|cache| cache.names().load(tenant_id))
    else {
        return;
    };
    let load = Arc::new(load);
    let (db, tenant_id) = (db.clone(), tenant_id.to_owned());
    let loaded = {
        let (db, load) = (db.clone(), Arc::clone(&load));
        move |read: Option<&Read>| {
            if let Some(cache) = db.user_cache() {
                cache.names().loaded(&load, read);
            }
        }
    };
    tokio::spawn(async move {
        let room = load.room;
        let settled = loaded.clone();
        let read = db
            .read_then(
                move |txn| Box::pin(read_names(txn, tenant_id, room)),
                move |read: &Result<Read, Error>| settled(read.as_ref().ok()),
            )
            .await;
        if read.is_err() {
            // Also when it was refused before it ran (a full queue), and `settled` never ran.
            loaded(None);
        }
    });
}

/// The tenant's userNames, unless it has more users than `room`: then only their count is
/// read, the writer held no longer than for that.
async fn read_names(
    txn: &DatabaseTransaction,
    tenant_id: String,
    room: u64,
) -> Result<Read, Error> {
    let users = limits::users_held(txn, &tenant_id).await?;
    if users > room {
        return Ok(Read::TooMany(users));
    }
    let names: Vec<String> = scim_user::Entity::find()
        .select_only()
        .column(scim_user::Column::UserNameLc)
        .filter(scim_user::Column::TenantId.eq(tenant_id))
        .limit(room.saturating_add(1))
        .into_tuple()
        .all(txn)
        .await?;
    Ok(match u64::try_from(names.len()) {
        Ok(read) if read <= room => Read::Names(names),
        _ => Read::TooMany(users),
    })
}

/// What follows a user's create or rename, in the writer's task on the embedded database
/// (`Storage::write_then`, `Coalesced`): the names known of its tenant take its name, and a
/// created user is known to exist. Run there rather than once the caller resumes: by then
/// another client could have deleted the user, and its delete (`may_be_gone`) would come
/// before this. A write that failed without saying whether it stored anything (its commit
/// failed, storage was lost) may have stored a name, so every known name is forgotten.
pub(super) fn named(db: &Storage, outcome: &Result<scim_user::Model, Error>) {
    let Some(cache) = db.user_cache() else {
        return;
    };
    match outcome {
        Ok(row) => cache.names().named(&row.tenant_id, &row.user_name_lc),
        Err(Error::Unavailable { .. } | Error::Db(_) | Error::Internal(_)) => {
            cache.names().clear();
        }
        Err(_) => {}
    }
}

/// `named`, for a create: the user is also known to exist.
pub(super) fn created(db: &Storage, outcome: &Result<scim_user::Model, Error>) {
    named(db, outcome);
    if let (Ok(row), Some(cache)) = (outcome, db.user_cache()) {
        cache.exists(&row.tenant_id, &row.id);
    }
}

/// With `with_groups`, reads the user's groups and caches the pair if nothing was
/// evicted since `generation`; without, reads no membership row and caches nothing.
async fn remember(
    db: &Storage,
    generation: Option<u64>,
    row: scim_user::Model,
    with_groups: bool,
) -> Result<Arc<CachedUser>, Error> {
    if !with_groups {
        return Ok(Arc::new(CachedUser {
            row,
            groups: Vec::new(),
        }));
    }
    let groups = groups_of(db.reads(), &row.tenant_id, std::slice::from_ref(&row.id))
        .await?
        .remove(&row.id)
        .unwrap_or_default();
    let user = CachedUser { row, groups };
    Ok(match (db.user_cache(), generation) {
        (Some(cache), Some(generation)) => cache.insert(generation, user),
        _ => Arc::new(user),
    })
}

/// Forgets cached copies of these users; call it once the write that changed them is over
/// (committed or not), before answering.
pub fn forget<'a>(db: &Storage, ids: impl IntoIterator<Item = &'a String>) {
    if let Some(cache) = db.user_cache() {
        cache.evict(ids);
    }
}

/// What forgets the cached copies of `user_ids` once a write that changed them has ended
/// (`Storage::write_then`).
pub(super) fn forgetting<T>(
    db: &Storage,
    user_ids: Vec<String>,
) -> impl FnOnce(&Result<T, Error>) + Send + 'static {
    let db = db.clone();
    move |_| forget(&db, &user_ids)
}

/// What forgets every cached user once a write has ended (`Storage::write_then`).
pub(super) fn forgetting_all<T>(db: &Storage) -> impl FnOnce(&Result<T, Error>) + Send + 'static {
    let db = db.clone();
    move |_| forget_all(&db)
}

/// Forgets every cached user (a change to a group can touch any number of them).
pub fn forget_all(db: &Storage) {
    if let Some(cache) = db.user_cache() {
        cache.clear();
    }
}

/// Replaces the user's attributes with `attrs` (PUT). Leaving `active` out keeps the user's
/// state: RFC 7644 §3.5.1 leaves an omitted attribute to the service provider, and an
/// identity provider whose template does not carry it (OneLogin's are admin-edited) must
/// not reactivate a suspended user with a profile update.
pub async fn replace(
    db: &Storage,
    tenant_id: &str,
    id: &str,
    mut attrs: Map<String, Value>,
    if_match: Option<&str>,
    now: DateTime<Utc>,
) -> Result<scim_user::Model, Error> {
    modify(db, tenant_id, id, if_match, now, move |current| {
        if let (None, Some(active)) = (attrs.get("active"), current.get("active")) {
            attrs.insert("active".to_owned(), active.clone());
        }
        Ok(attrs)
    })
    .await
}

/// Rewrites the user with what `change` makes of its current attributes (PATCH), inside
/// one transaction that holds the row, so concurrent changes are applied one after another.
pub async fn modify(
    db: &Storage,
    tenant_id: &str,
    id: &str,
    if_match: Option<&str>,
    now: DateTime<Utc>,
    change: impl FnOnce(&Map<String, Value>) -> Result<Map<String, Value>, Error> + Send + 'static,
) -> Result<scim_user::Model, Error> {
    let (tenant_id, id) = (tenant_id.to_owned(), id.to_owned());
    let if_match = if_match.map(str::to_owned);
    let forget_after = forgetting(db, vec![id.clone()]);
    let settled = {
        let db = db.clone();
        move |outcome: &Result<scim_user::Model, Error>| {
            forget_after(outcome);
            named(&db, outcome);
        }
    };
    db.write_then(
        move |txn| {
            Box::pin(async move {
                let current = scim_user::Entity::find_by_id(id.clone())
                    .filter(scim_user::Column::TenantId.eq(&tenant_id))
                    .lock_exclusive()
                    .unique(txn)
                    .await?
                    .ok_or_else(|| Error::not_found("User", &id))?;
                check_version(if_match.as_deref(), current.version)?;
                let before = user_attributes(&current)?;
                let was_active = current.active;
                let attrs = change(&before)?;
                // Read as `fill` reads it: an inactive user holds no permission.
                let will_be_active = attrs.get("active").and_then(Value::as_bool).unwrap_or(true);
                let watch = if will_be_active == was_active {
                    None
                } else {
                    permission_changes::watch(txn, &tenant_id, vec![id.clone()]).await?
                };
                let version = current.version + 1;
                let mut row = current.into_active_model();
                fill(&mut row, &attrs)?;
                row.version = Set(version);
                row.last_modified = Set(now);
                let user_name = text(&attrs, "userName").unwrap_or_default();
                let row = row
                    .update(txn)
                    .await
                    .map_err(|err| Error::conflict_on_unique(err, taken(&user_name)))?;
                replace_values(txn, &tenant_id, &id, &attrs).await?;
                let mut changes = events::user_changes(&before, was_active, &attrs, &row);
                if let Some(watch) = watch {
                    changes.extend(watch.changes(txn).await?);
                }
                events::record(txn, &tenant_id, changes, now).await?;
                Ok(row)
            })
        },
        settled,
    )
    .await
}

/// Removes the user, its values and its memberships. Its `user.deleted` event stands for
/// the memberships too: no `group.member_removed` is sent for them.
pub async fn delete(
    db: &Storage,
    tenant_id: &str,
    id: &str,
    if_match: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    let (tenant_id, id) = (tenant_id.to_owned(), id.to_owned());
    let if_match = if_match.map(str::to_owned);
    let forget_after = forgetting(db, vec![id.clone()]);
    let storage = db.clone();
    db.write_then(
        move |txn| {
            Box::pin(async move {
                // The delete updates the tenant's user count: taking the tenant's lock
                // first keeps the order creates take (PostgreSQL would otherwise find a
                // deadlock with a group create naming this user as a member).
                tenants::lock(txn, &tenant_id).await?;
                let current = get(txn, &tenant_id, &id).await?;
                check_version(if_match.as_deref(), current.version)?;
                let watch = permission_changes::watch(txn, &tenant_id, vec![id.clone()]).await?;
                group_member::Entity::delete_many()
                    .filter(group_member::Column::UserId.eq(&id))
                    .filter(group_member::Column::TenantId.eq(&tenant_id))
                    .exec(txn)
                    .await?;
                scim_user_value::Entity::delete_many()
                    .filter(scim_user_value::Column::UserId.eq(&id))
                    .exec(txn)
                    .await?;
                if let Some(cache) = storage.user_cache() {
                    cache.may_be_gone(&id);
                }
                scim_user::Entity::delete_by_id(id.clone())
                    .exec(txn)
                    .await?;
                let mut changes = match watch {
                    Some(watch) => watch.changes(txn).await?,
                    None => Vec::new(),
                };
                changes.push(Change::user(
                    "user.deleted",
                    &id,
                    events::user_data(&current),
                ));
                events::record(txn, &tenant_id, changes, now).await?;
                Ok(())
            })
        },
        forget_after,
    )
    .await
}

/// One page of the tenant's users matching `condition`, and how many match in all.
pub async fn list(
    db: &impl ConnectionTrait,
    tenant_id: &str,
    condition: Option<Expr>,
    page: &Page,
) -> Result<(u64, Vec<scim_user::Model>), Error> {
    let mut query = scim_user::Entity::find().filter(scim_user::Column::TenantId.eq(tenant_id));
    if let Some(condition) = condition {
        query = query.filter(condition);
    }
    let total = query.clone().count(db).await?;
    if page.count == 0 || total < page.start_index {
        return Ok((total, Vec::new()));
    }
    let column = match page.sort.map(|(sort, _)| sort) {
        Some(Sort::Id) => scim_user::Column::Id,
        Some(Sort::ExternalId) => scim_user::Column::ExternalId,
        Some(Sort::Name) => scim_user::Column::UserNameLc,
        Some(Sort::DisplayName) => scim_user::Column::DisplayNameLc,
        Some(Sort::LastModified) => scim_user::Column::LastModified,
        Some(Sort::Created) | None => scim_user::Column::CreatedAt,
    };
    let descending = page.sort.is_some_and(|(_, descending)| descending);
    query = if descending {
        query
            .order_by_desc(column)
            .order_by_desc(scim_user::Column::Id)
    } else {
        query
            .order_by_asc(column)
            .order_by_asc(scim_user::Column::Id)
    };
    let rows = query
        .offset(page.start_index - 1)
        .limit(page.count)
        .all(db)
        .await?;
    Ok((total, rows))
}

/// For each of `user_ids`, the groups it is a direct member of: `(group id, displayName)`.
pub async fn groups_of(
    db: &impl ConnectionTrait,
    tenant_id: &str,
    user_ids: &[String],
) -> Result<HashMap<String, Vec<(String, String)>>, Error> {
    let mut out: HashMap<String, Vec<(String, String)>> = HashMap::new();
    if user_ids.is_empty() {
        return Ok(out);
    }
    let rows: Vec<(String, String, String)> = group_member::Entity::find()
        .select_only()
        .column(group_member::Column::UserId)
        .column(group_member::Column::GroupId)
        .column_as(scim_group::Column::DisplayName, "display_name")
        .join(
            sea_orm::JoinType::InnerJoin,
            group_member::Entity::belongs_to(scim_group::Entity)
                .from(group_member::Column::GroupId)
                .to(scim_group::Column::Id)
                .into(),
        )
        .filter(group_member::Column::TenantId.eq(tenant_id))
        .filter(group_member::Column::UserId.is_in(user_ids.iter().cloned()))
        .order_by_asc(scim_group::Column::DisplayNameLc)
        .into_tuple()
        .all(db)
        .await?;
    for (user_id, group_id, display) in rows {
        out.entry(user_id).or_default().push((group_id, display));
    }
    Ok(out)
}
