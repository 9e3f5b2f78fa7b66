//! Admin keys: operator keys (no tenant) and tenant-admin keys (one tenant). Unlike SCIM
//! tokens they do not rotate: a tenant may hold several, each revoked on its own.

use chrono::{DateTime, Utc};
use entity::admin_key;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseBackend, EntityTrait,
    IntoActiveModel, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
    sea_query::SimpleExpr,
};

use serde_json::json;

use super::{
    Storage,
    audit::{self, Actor},
    credentials,
    pages::{self, Order},
    tenants,
    unique::SelectUnique,
};
use crate::error::Error;

pub struct NewKey {
    pub id: String,
    pub secret_hash: String,
    /// `None` makes an operator key.
    pub tenant_id: Option<String>,
    pub name: Option<String>,
    pub expires_at: Option<DateTime<Utc>>,
}

pub async fn create(db: &Storage, key: NewKey, actor: &Actor) -> Result<admin_key::Model, Error> {
    let actor = actor.clone();
    db.write(move |txn| {
        Box::pin(async move {
            let created = create_in(txn, key, actor.at).await?;
            let change = audit::Change {
                tenant_id: created.tenant_id.as_deref(),
                action: "admin_key.created",
                target: format!("admin_key:{}", created.id),
                before: None,
                after: Some(json!({ "name": created.name, "expiresAt": created.expires_at })),
            };
            audit::record(txn, &actor, change).await?;
            Ok(created)
        })
    })
    .await
}

async fn create_in(
    txn: &impl ConnectionTrait,
    key: NewKey,
    now: DateTime<Utc>,
) -> Result<admin_key::Model, Error> {
    if let Some(tenant_id) = &key.tenant_id {
        tenants::lock(txn, tenant_id).await?;
    }
    let created = admin_key::ActiveModel {
        id: Set(key.id),
        tenant_id: Set(key.tenant_id),
        name: Set(key.name),
        secret_hash: Set(key.secret_hash),
        created_at: Set(now),
        expires_at: Set(key.expires_at),
        revoked_at: Set(None),
        last_used_at: Set(None),
    }
    .insert(txn)
    .await?;
    Ok(created)
}

/// The tenant's keys, newest first.
pub async fn list(
    db: &impl ConnectionTrait,
    tenant_id: &str,
    cursor: Option<&str>,
    limit: u64,
) -> Result<(Vec<admin_key::Model>, Option<String>), Error> {
    tenants::get(db, tenant_id).await?;
    page(db, admin_key::Column::TenantId.eq(tenant_id), cursor, limit).await
}

/// The operator keys, newest first.
pub async fn list_operator_keys(
    db: &impl ConnectionTrait,
    cursor: Option<&str>,
    limit: u64,
) -> Result<(Vec<admin_key::Model>, Option<String>), Error> {
    page(db, admin_key::Column::TenantId.is_null(), cursor, limit).await
}

/// A page of the keys `owner` selects, newest first.
async fn page(
    db: &impl ConnectionTrait,
    owner: SimpleExpr,
    cursor: Option<&str>,
    limit: u64,
) -> Result<(Vec<admin_key::Model>, Option<String>), Error> {
    let query = admin_key::Entity::find().filter(owner);
    pages::page(
        db,
        query,
        admin_key::Column::Id,
        Order::NewestFirst,
        cursor,
        limit,
    )
    .await
}

/// Ends the tenant's key now; revoking an ended key changes nothing.
pub async fn revoke(
    db: &Storage,
    tenant_id: &str,
    key_id: &str,
    actor: &Actor,
) -> Result<admin_key::Model, Error> {
    revoke_owned(db, Some(tenant_id.to_owned()), key_id, actor).await
}

/// Ends an operator key now, but never the last one that works: the admin API would then
/// answer nobody until one is made on the server's machine (`keys create-operator`, or a
/// restart). Revoking an ended key changes nothing.
pub async fn revoke_operator_key(
    db: &Storage,
    key_id: &str,
    actor: &Actor,
) -> Result<admin_key::Model, Error> {
    revoke_owned(db, None, key_id, actor).await
}

/// Ends key `key_id` of `tenant_id`, or an operator key when that is `None`.
async fn revoke_owned(
    db: &Storage,
    tenant_id: Option<String>,
    key_id: &str,
    actor: &Actor,
) -> Result<admin_key::Model, Error> {
    let key_id = key_id.to_owned();
    let actor = actor.clone();
    db.write_then(
        move |txn| {
            Box::pin(async move {
                if tenant_id.is_none() {
                    lock_operator_keys(txn).await?;
                }
                let (key, ended_now) =
                    revoke_in(txn, tenant_id.as_deref(), &key_id, actor.at).await?;
                if !ended_now {
                    return Ok(key);
                }
                if tenant_id.is_none() && count_live_operator_keys(txn, actor.at).await? == 0 {
                    return Err(Error::Conflict(
                        "this is the last operator key that works: issue another first".to_owned(),
                    ));
                }
                let change = audit::Change {
                    tenant_id: tenant_id.as_deref(),
                    action: "admin_key.revoked",
                    target: format!("admin_key:{}", key.id),
                    before: None,
                    after: Some(json!({ "revokedAt": key.revoked_at })),
                };
                audit::record(txn, &actor, change).await?;
                Ok(key)
            })
        },
        credentials::ending(db, |key: &admin_key::Model| vec![key.id.clone()]),
    )
    .await
}

/// Holds every operator key until the transaction ends, so that two revocations at once
/// on PostgreSQL (each counting the other's key as working) cannot end the last two
/// together. (The embedded database has one writer.)
async fn lock_operator_keys(txn: &impl ConnectionTrait) -> Result<(), Error> {
    if txn.get_database_backend() == DatabaseBackend::Postgres {
        admin_key::Entity::find()
            .filter(admin_key::Column::TenantId.is_null())
            .order_by_asc(admin_key::Column::Id)
            .lock_exclusive()
            .all(txn)
            .await?;
    }
    Ok(())
}

/// The key, and whether it ended now (`false`: it had ended before).
async fn revoke_in(
    txn: &impl ConnectionTrait,
    tenant_id: Option<&str>,
    key_id: &str,
    now: DateTime<Utc>,
) -> Result<(admin_key::Model, bool), Error> {
    let owner = match tenant_id {
        Some(tenant_id) => admin_key::Column::TenantId.eq(tenant_id),
        None => admin_key::Column::TenantId.is_null(),
    };
    let key = admin_key::Entity::find_by_id(key_id.to_owned())
        .filter(owner)
        .unique(txn)
        .await?
        .ok_or_else(|| Error::not_found("admin key", key_id))?;
    if key.revoked_at.is_some_and(|at| at <= now) {
        return Ok((key, false));
    }
    let mut key = key.into_active_model();
    key.revoked_at = Set(Some(now));
    let key = key.update(txn).await?;
    credentials::announce(txn, std::slice::from_ref(&key.id)).await?;
    Ok((key, true))
}

/// Operator keys that still work, for the first-start bootstrap.
pub async fn count_live_operator_keys(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
) -> Result<u64, Error> {
    Ok(admin_key::Entity::find()
        .filter(admin_key::Column::TenantId.is_null())
        .filter(
            Condition::any()
                .add(admin_key::Column::RevokedAt.is_null())
                .add(admin_key::Column::RevokedAt.gt(now)),
        )
        .filter(
            Condition::any()
                .add(admin_key::Column::ExpiresAt.is_null())
                .add(admin_key::Column::ExpiresAt.gt(now)),
        )
        .count(db)
        .await?)
}
