//! Tenants: creation with a case-insensitively unique name, lookup, and deletion of the
//! tenant with everything it owns.

use entity::{
    admin_key, group_mapping, group_mapping_permission_group, group_member, permission_group,
    product, scim_group, scim_token, scim_user, scim_user_value, tenant,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, Set,
    sea_query::LockType,
};

use serde_json::json;

use super::{
    Storage,
    audit::{self, Actor},
    credentials,
    pages::{self, Order},
    unique::SelectUnique,
};
use crate::error::Error;

pub async fn create(db: &Storage, name: &str, actor: &Actor) -> Result<tenant::Model, Error> {
    let row = tenant::ActiveModel {
        id: Set(uuid::Uuid::now_v7().to_string()),
        name: Set(name.to_owned()),
        name_lc: Set(name.to_lowercase()),
        created_at: Set(actor.at),
        permissions_version: Set(0),
        user_count: Set(0),
    };
    let name = name.to_owned();
    let actor = actor.clone();
    db.write(move |txn| {
        Box::pin(async move {
            let row = row.insert(txn).await.map_err(|err| {
                Error::conflict_on_unique(err, format!("a tenant named {name:?} already exists"))
            })?;
            let change = audit::Change {
                tenant_id: Some(&row.id),
                action: "tenant.created",
                target: format!("tenant:{}", row.id),
                before: None,
                after: Some(json!({ "name": row.name })),
            };
            audit::record(txn, &actor, change).await?;
            Ok(row)
        })
    })
    .await
}

/// A page of tenants, oldest first (see `pages.rs`).
pub async fn list(
    db: &impl ConnectionTrait,
    cursor: Option<&str>,
    limit: u64,
) -> Result<(Vec<tenant::Model>, Option<String>), Error> {
    let query = tenant::Entity::find();
    pages::page(
        db,
        query,
        tenant::Column::Id,
        Order::OldestFirst,
        cursor,
        limit,
    )
    .await
}

pub async fn get(db: &impl ConnectionTrait, id: &str) -> Result<tenant::Model, Error> {
    tenant::Entity::find_by_id(id.to_owned())
        .unique(db)
        .await?
        .ok_or_else(|| Error::not_found("tenant", id))
}

/// Reads the tenant and, on PostgreSQL, locks its row until the transaction ends, so
/// concurrent changes to what the tenant owns (token rotation, mappings, creates counted
/// against its limits) happen one at a time. `FOR NO KEY UPDATE`: lockers exclude each
/// other, while inserts that merely reference the tenant (their foreign-key check takes
/// `KEY SHARE`) are not held up.
pub async fn lock(db: &impl ConnectionTrait, id: &str) -> Result<tenant::Model, Error> {
    tenant::Entity::find_by_id(id.to_owned())
        .lock(LockType::NoKeyUpdate)
        .unique(db)
        .await?
        .ok_or_else(|| Error::not_found("tenant", id))
}

/// Deletes the tenant and everything it owns; the credentials that die with it stop
/// working at once, here and on every replica.
pub async fn delete(db: &Storage, id: &str, actor: &Actor) -> Result<(), Error> {
    let id = id.to_owned();
    let actor = actor.clone();
    let credentials_ended = credentials::ending(db, Vec::clone);
    let users_gone = super::users::forgetting_all(db);
    let names_gone = {
        let (db, id) = (db.clone(), id.clone());
        move || {
            if let Some(cache) = db.user_cache() {
                cache.names().forget_tenant(&id);
            }
        }
    };
    db.write_then(
        move |txn| {
            Box::pin(async move {
                let tenant = get(txn, &id).await?;
                let ended = delete_in(txn, &id).await?;
                let change = audit::Change {
                    tenant_id: Some(&id),
                    action: "tenant.deleted",
                    target: format!("tenant:{id}"),
                    before: Some(json!({ "name": tenant.name })),
                    after: None,
                };
                audit::record(txn, &actor, change).await?;
                Ok(ended)
            })
        },
        move |outcome| {
            credentials_ended(outcome);
            users_gone(outcome);
            names_gone();
        },
    )
    .await?;
    Ok(())
}

async fn delete_in(txn: &impl ConnectionTrait, id: &str) -> Result<Vec<String>, Error> {
    lock(txn, id).await?;
    let mut ended: Vec<String> = scim_token::Entity::find()
        .select_only()
        .column(scim_token::Column::Id)
        .filter(scim_token::Column::TenantId.eq(id))
        .into_tuple()
        .all(txn)
        .await?;
    let keys: Vec<String> = admin_key::Entity::find()
        .select_only()
        .column(admin_key::Column::Id)
        .filter(admin_key::Column::TenantId.eq(id))
        .into_tuple()
        .all(txn)
        .await?;
    ended.extend(keys);
    // Children before parents, so the order never depends on foreign-key cascades.
    group_mapping_permission_group::Entity::delete_many()
        .filter(group_mapping_permission_group::Column::TenantId.eq(id))
        .exec(txn)
        .await?;
    group_mapping::Entity::delete_many()
        .filter(group_mapping::Column::TenantId.eq(id))
        .exec(txn)
        .await?;
    super::products::delete_permission_groups(txn, permission_group::Column::TenantId.eq(id))
        .await?;
    product::Entity::delete_many()
        .filter(product::Column::TenantId.eq(id))
        .exec(txn)
        .await?;
    group_member::Entity::delete_many()
        .filter(group_member::Column::TenantId.eq(id))
        .exec(txn)
        .await?;
    scim_user_value::Entity::delete_many()
        .filter(scim_user_value::Column::TenantId.eq(id))
        .exec(txn)
        .await?;
    scim_group::Entity::delete_many()
        .filter(scim_group::Column::TenantId.eq(id))
        .exec(txn)
        .await?;
    scim_user::Entity::delete_many()
        .filter(scim_user::Column::TenantId.eq(id))
        .exec(txn)
        .await?;
    scim_token::Entity::delete_many()
        .filter(scim_token::Column::TenantId.eq(id))
        .exec(txn)
        .await?;
    admin_key::Entity::delete_many()
        .filter(admin_key::Column::TenantId.eq(id))
        .exec(txn)
        .await?;
    tenant::Entity::delete_by_id(id.to_owned())
        .exec(txn)
        .await?;
    credentials::announce(txn, &ended).await?;
    Ok(ended)
}
