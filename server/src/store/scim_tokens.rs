//! SCIM tokens of a tenant. Creating one is a rotation: the previous live token keeps
//! working for the overlap window, every older one stops at once, so at most two are live.
//! With [`CutOver::OnFirstUse`] the overlap is only a maximum: the previous token ends as
//! soon as the new one authenticates a request, so nobody has to guess when the identity
//! provider picked up the new secret.

use chrono::{DateTime, Duration, Utc};
use entity::scim_token;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder, Set, sea_query::Expr,
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
    /// How long the previous token keeps working (at most, with `OnFirstUse`); zero ends
    /// it at once.
    pub overlap: Duration,
    pub cut_over: CutOver,
}

/// When the previous token stops working.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CutOver {
    /// When the overlap ends.
    AfterOverlap,
    /// When the new token first authenticates a request, or the overlap ends, whichever
    /// comes first.
    OnFirstUse,
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
    let (created, _) = db
        .write_then(
            move |txn| {
                Box::pin(async move {
                    let overlap = token.overlap.num_seconds();
                    let cut_over = token.cut_over;
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
                            "cutOver": match cut_over {
                                CutOver::AfterOverlap => "afterOverlap",
                                CutOver::OnFirstUse => "onFirstUse",
                            },
                            "ending": changed,
                        })),
                    };
                    audit::record(txn, &actor, change).await?;
                    Ok((created, changed))
                })
            },
            credentials::ending(db, |(_, changed): &(scim_token::Model, Vec<String>)| {
                changed.clone()
            }),
        )
        .await?;
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
    // A cut-over still pending from an earlier rotation is moot: its token is now the
    // previous one, and the one it would end ends now.
    scim_token::Entity::update_many()
        .col_expr(
            scim_token::Column::EndsOnFirstUse,
            Expr::value(Option::<String>::None),
        )
        .filter(scim_token::Column::TenantId.eq(tenant_id))
        .filter(scim_token::Column::EndsOnFirstUse.is_not_null())
        .exec(txn)
        .await?;
    let mut changed = Vec::new();
    let mut ends_on_first_use = None;
    for (index, old) in live.into_iter().enumerate() {
        let end = if index == 0 { now + token.overlap } else { now };
        if index == 0 && end > now && token.cut_over == CutOver::OnFirstUse {
            ends_on_first_use = Some(old.id.clone());
        }
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
        ends_on_first_use: Set(ends_on_first_use),
    }
    .insert(txn)
    .await?;
    credentials::announce(txn, &changed).await?;
    Ok((created, changed))
}

/// The first request `token_id` authenticated: ends the token it replaces, if its rotation
/// asked for that and nobody (another request, another replica) did it already. Returns
/// whether this call did it.
pub async fn cut_over(db: &Storage, token_id: &str, now: DateTime<Utc>) -> Result<bool, Error> {
    let token_id = token_id.to_owned();
    let ended = db
        .write_then(
            move |txn| {
                Box::pin(async move {
                    let Some(token) = scim_token::Entity::find_by_id(token_id.clone())
                        .unique(txn)
                        .await?
                    else {
                        return Ok(None);
                    };
                    let Some(previous) = token.ends_on_first_use else {
                        return Ok(None);
                    };
                    // Whoever clears the mark does the cut-over, once.
                    let claimed = scim_token::Entity::update_many()
                        .col_expr(
                            scim_token::Column::EndsOnFirstUse,
                            Expr::value(Option::<String>::None),
                        )
                        .filter(scim_token::Column::Id.eq(&token_id))
                        .filter(scim_token::Column::EndsOnFirstUse.eq(&previous))
                        .exec(txn)
                        .await?;
                    if claimed.rows_affected == 0 {
                        return Ok(None);
                    }
                    let Some(old) = scim_token::Entity::find_by_id(previous.clone())
                        .unique(txn)
                        .await?
                        .filter(|old| old.revoked_at.is_none_or(|end| end > now))
                    else {
                        return Ok(None);
                    };
                    let scheduled = old.revoked_at;
                    let mut old = old.into_active_model();
                    old.revoked_at = Set(Some(now));
                    old.update(txn).await?;
                    credentials::announce(txn, std::slice::from_ref(&previous)).await?;
                    let actor = Actor {
                        key_id: token_id.clone(),
                        at: now,
                    };
                    let change = audit::Change {
                        tenant_id: Some(&token.tenant_id),
                        action: "scim_token.cut_over",
                        target: format!("scim_token:{previous}"),
                        before: Some(json!({ "revokedAt": scheduled })),
                        after: Some(json!({ "revokedAt": now, "replacedBy": token_id })),
                    };
                    audit::record(txn, &actor, change).await?;
                    Ok(Some(previous))
                })
            },
            credentials::ending(db, |ended: &Option<String>| ended.iter().cloned().collect()),
        )
        .await?;
    Ok(ended.is_some())
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
    db.write_then(
        move |txn| {
            Box::pin(async move {
                let (token, ended_now) = revoke_in(txn, &tenant_id, &token_id, actor.at).await?;
                if !ended_now {
                    return Ok(token);
                }
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
        },
        credentials::ending(db, |token: &scim_token::Model| vec![token.id.clone()]),
    )
    .await
}

/// The token, and whether it ended now (`false`: it had ended before).
async fn revoke_in(
    txn: &impl ConnectionTrait,
    tenant_id: &str,
    token_id: &str,
    now: DateTime<Utc>,
) -> Result<(scim_token::Model, bool), Error> {
    let token = scim_token::Entity::find_by_id(token_id.to_owned())
        .filter(scim_token::Column::TenantId.eq(tenant_id))
        .unique(txn)
        .await?
        .ok_or_else(|| Error::not_found("SCIM token", token_id))?;
    if token.revoked_at.is_some_and(|at| at <= now) {
        return Ok((token, false));
    }
    let mut token = token.into_active_model();
    token.revoked_at = Set(Some(now));
    let token = token.update(txn).await?;
    credentials::announce(txn, std::slice::from_ref(&token.id)).await?;
    Ok((token, true))
}
