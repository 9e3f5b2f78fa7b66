//! Admin keys: operator keys (no tenant) and tenant-admin keys (one tenant). Unlike SCIM
//! tokens they do not rotate: a tenant may hold several, each revoked on its own.

use chrono::{DateTime, Utc};
use entity::admin_key;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, DatabaseConnection, EntityTrait, IntoActiveModel,
    PaginatorTrait, QueryFilter, QueryOrder, Set,
};

use super::{credentials, db::begin_write, tenants};
use crate::error::Error;

pub struct NewKey {
    pub id: String,
    pub secret_hash: String,
    /// `None` makes an operator key.
    pub tenant_id: Option<String>,
    pub name: Option<String>,
    pub expires_at: Option<DateTime<Utc>>,
}

pub async fn create(
    db: &DatabaseConnection,
    key: NewKey,
    now: DateTime<Utc>,
) -> Result<admin_key::Model, Error> {
    let txn = begin_write(db).await?;
    if let Some(tenant_id) = &key.tenant_id {
        tenants::lock(&txn, tenant_id).await?;
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
    .insert(&txn)
    .await?;
    txn.commit().await?;
    Ok(created)
}

/// The tenant's keys, newest first.
pub async fn list(
    db: &DatabaseConnection,
    tenant_id: &str,
) -> Result<Vec<admin_key::Model>, Error> {
    tenants::get(db, tenant_id).await?;
    Ok(admin_key::Entity::find()
        .filter(admin_key::Column::TenantId.eq(tenant_id))
        .order_by_desc(admin_key::Column::CreatedAt)
        .order_by_desc(admin_key::Column::Id)
        .all(db)
        .await?)
}

/// Ends the tenant's key now; revoking an ended key changes nothing.
pub async fn revoke(
    db: &DatabaseConnection,
    tenant_id: &str,
    key_id: &str,
    now: DateTime<Utc>,
) -> Result<admin_key::Model, Error> {
    let txn = begin_write(db).await?;
    let key = admin_key::Entity::find_by_id(key_id.to_owned())
        .filter(admin_key::Column::TenantId.eq(tenant_id))
        .one(&txn)
        .await?
        .ok_or_else(|| Error::not_found("admin key", key_id))?;
    if key.revoked_at.is_some_and(|at| at <= now) {
        return Ok(key);
    }
    let mut key = key.into_active_model();
    key.revoked_at = Set(Some(now));
    let key = key.update(&txn).await?;
    credentials::announce(&txn, std::slice::from_ref(&key.id)).await?;
    txn.commit().await?;
    Ok(key)
}

/// Operator keys that still work, for the first-start bootstrap.
pub async fn count_live_operator_keys(
    db: &DatabaseConnection,
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
