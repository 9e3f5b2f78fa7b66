//! SCIM tokens of a tenant. Creating one is a rotation: the previous live token keeps
//! working for the overlap window, every older one stops at once, so at most two are live.

use chrono::{DateTime, Duration, Utc};
use entity::scim_token;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder, Set,
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

pub struct NewToken {
    pub id: String,
    pub secret_hash: String,
    pub name: Option<String>,
    pub expires_at: Option<DateTime<Utc>>,
    /// How long the previous token keeps working; zero ends it at once.
    pub overlap: Duration,
}

/// Inserts the token and schedules the end of the older ones (announced to every replica).
pub async fn create(
    db: &Storage,
    tenant_id: &str,
    token: NewToken,
    actor: &Actor,
) -> Result<scim_token::Model, Error> {
    let tenant_id = tenant_id.to_owned();
    let actor = actor.clone();
    let (created, changed) = db
        .write(move |txn| {
            Box::pin(async move {
                let overlap = token.overlap.num_seconds();
                let (created, changed) = create_in(txn, &tenant_id, token, actor.at).await?;
                let change = audit::Change {
                    tenant_id: Some(&tenant_id),
                    action: "scim_token.issued",
                    target: format!("scim_token:{}", created.id),
                    before: None,
                    after: Some(json!({
                        "name": created.name,
                        "expiresAt": created.expires_at,
                        "overlapSeconds": overlap,
                        "ending": changed,
                    })),
                };
                audit::record(txn, &actor, change).await?;
                Ok((created, changed))
            })
        })
        .await?;
    credentials::ended(db, &changed);
    Ok(created)
}

async fn create_in(
    txn: &impl ConnectionTrait,
    tenant_id: &str,
    token: NewToken,
    now: DateTime<Utc>,
) -> Result<(scim_token::Model, Vec<String>), Error> {
    tenants::lock(txn, tenant_id).await?;
    let live = scim_token::Entity::find()
        .filter(scim_token::Column::TenantId.eq(tenant_id))
        .filter(
            Condition::any()
                .add(scim_token::Column::RevokedAt.is_null())
                .add(scim_token::Column::RevokedAt.gt(now)),
        )
        .filter(
            Condition::any()
                .add(scim_token::Column::ExpiresAt.is_null())
                .add(scim_token::Column::ExpiresAt.gt(now)),
        )
        .order_by_desc(scim_token::Column::CreatedAt)
        .order_by_desc(scim_token::Column::Id)
        .all(txn)
        .await?;
    let mut changed = Vec::new();
    for (index, old) in live.into_iter().enumerate() {
        let end = if index == 0 { now + token.overlap } else { now };
        if old.revoked_at.is_some_and(|current| current <= end) {
            continue;
        }
        changed.push(old.id.clone());
        let mut old = old.into_active_model();
        old.revoked_at = Set(Some(end));
        old.update(txn).await?;
    }
    let created = scim_token::ActiveModel {
        id: Set(token.id),
        tenant_id: Set(tenant_id.to_owned()),
        name: Set(token.name),
        secret_hash: Set(token.secret_hash),
        created_at: Set(now),
        expires_at: Set(token.expires_at),
        revoked_at: Set(None),
        last_used_at: Set(None),
    }
    .insert(txn)
    .await?;
    credentials::announce(txn, &changed).await?;
    Ok((created, changed))
}

/// Newest first.
pub async fn list(
    db: &impl ConnectionTrait,
    tenant_id: &str,
    cursor: Option<&str>,
    limit: u64,
) -> Result<(Vec<scim_token::Model>, Option<String>), Error> {
    tenants::get(db, tenant_id).await?;
    let query = scim_token::Entity::find().filter(scim_token::Column::TenantId.eq(tenant_id));
    pages::page(
        db,
        query,
        scim_token::Column::Id,
        Order::NewestFirst,
        cursor,
        limit,
    )
    .await
}

/// Ends the token now. Revoking a token that already ended changes nothing.
pub async fn revoke(
    db: &Storage,
    tenant_id: &str,
    token_id: &str,
    actor: &Actor,
) -> Result<scim_token::Model, Error> {
    let (tenant_id, token_id) = (tenant_id.to_owned(), token_id.to_owned());
    let actor = actor.clone();
    let token = db
        .write(move |txn| {
            Box::pin(async move {
                let token = revoke_in(txn, &tenant_id, &token_id, actor.at).await?;
                let change = audit::Change {
                    tenant_id: Some(&tenant_id),
                    action: "scim_token.revoked",
                    target: format!("scim_token:{}", token.id),
                    before: None,
                    after: Some(json!({ "revokedAt": token.revoked_at })),
                };
                audit::record(txn, &actor, change).await?;
                Ok(token)
            })
        })
        .await?;
    credentials::ended(db, std::slice::from_ref(&token.id));
    Ok(token)
}

async fn revoke_in(
    txn: &impl ConnectionTrait,
    tenant_id: &str,
    token_id: &str,
    now: DateTime<Utc>,
) -> Result<scim_token::Model, Error> {
    let token = scim_token::Entity::find_by_id(token_id.to_owned())
        .filter(scim_token::Column::TenantId.eq(tenant_id))
        .unique(txn)
        .await?
        .ok_or_else(|| Error::not_found("SCIM token", token_id))?;
    if token.revoked_at.is_some_and(|at| at <= now) {
        return Ok(token);
    }
    let mut token = token.into_active_model();
    token.revoked_at = Set(Some(now));
    let token = token.update(txn).await?;
    credentials::announce(txn, std::slice::from_ref(&token.id)).await?;
    Ok(token)
}
