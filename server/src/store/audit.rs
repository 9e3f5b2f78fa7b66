//! The audit trail of admin changes, written in the transaction of the change it records,
//! so there is never a change without its event nor an event without its change.

use chrono::{DateTime, Utc};
use entity::audit_event;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use serde_json::Value;

use super::pages::{self, Order};
use crate::error::Error;

/// Who made a change and when.
#[derive(Debug, Clone)]
pub struct Actor {
    pub key_id: String,
    pub at: DateTime<Utc>,
}

/// One change: `action` on `target` (`product:<id>`, ...), with the state before and after.
pub struct Change<'a> {
    pub tenant_id: Option<&'a str>,
    pub action: &'static str,
    pub target: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

pub async fn record(
    txn: &impl ConnectionTrait,
    actor: &Actor,
    change: Change<'_>,
) -> Result<(), Error> {
    audit_event::ActiveModel {
        tenant_id: Set(change.tenant_id.map(str::to_owned)),
        actor_key_id: Set(actor.key_id.clone()),
        action: Set(change.action.to_owned()),
        target: Set(change.target),
        before: Set(change.before.map(|v| v.to_string())),
        after: Set(change.after.map(|v| v.to_string())),
        at: Set(actor.at),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    Ok(())
}

/// A page of the audit trail, newest first: a tenant's, or (`None`) every change.
pub async fn list(
    db: &impl ConnectionTrait,
    tenant_id: Option<&str>,
    action: Option<&str>,
    cursor: Option<i64>,
    limit: u64,
) -> Result<(Vec<audit_event::Model>, Option<String>), Error> {
    let mut query = audit_event::Entity::find();
    if let Some(tenant_id) = tenant_id {
        query = query.filter(audit_event::Column::TenantId.eq(tenant_id));
    }
    if let Some(action) = action {
        query = query.filter(audit_event::Column::Action.eq(action));
    }
    pages::page(
        db,
        query,
        audit_event::Column::Id,
        Order::NewestFirst,
        cursor,
        limit,
    )
    .await
}
