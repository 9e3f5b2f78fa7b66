//! Reading the provisioning log: newest first, by cursor, with filters. Written by
//! `activity::recorder`.

use chrono::{DateTime, Utc};
use entity::activity_entry;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Select,
    sea_query::{Expr, ExprTrait, Func, LikeExpr},
};

use super::{
    pages::{self, Order},
    unique::SelectUnique,
};
use crate::error::Error;

/// Which entries a read wants; every part is optional.
#[derive(Debug, Clone, Default)]
pub struct ActivityFilter {
    pub tenant_id: Option<String>,
    pub operation: Option<String>,
    /// 2, 4 or 5 for `2xx`, `4xx`, `5xx`.
    pub status_class: Option<u16>,
    pub resource_type: Option<String>,
    pub resource_id: Option<String>,
    pub idp: Option<String>,
    /// Found in the summary, without case.
    pub text: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    /// The entry of one request (its `requestId`).
    pub request_id: Option<String>,
}

/// `text` as a `LIKE` pattern matching it anywhere, its own `%`, `_` and `\` taken literally.
fn contains(text: &str) -> LikeExpr {
    let mut pattern = String::from("%");
    for c in text.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    LikeExpr::new(pattern).escape('\\')
}

/// The entries `filter` wants.
fn select(filter: &ActivityFilter) -> Select<activity_entry::Entity> {
    use activity_entry::Column;
    let mut query = activity_entry::Entity::find();
    if let Some(tenant_id) = &filter.tenant_id {
        query = query.filter(Column::TenantId.eq(tenant_id));
    }
    if let Some(operation) = &filter.operation {
        query = query.filter(Column::Operation.eq(operation));
    }
    if let Some(class) = filter.status_class {
        let from = i32::from(class) * 100;
        query = query
            .filter(Column::Status.gte(from))
            .filter(Column::Status.lt(from + 100));
    }
    if let Some(kind) = &filter.resource_type {
        query = query.filter(Column::ResourceType.eq(kind));
    }
    if let Some(id) = &filter.resource_id {
        query = query.filter(Column::ResourceId.eq(id));
    }
    if let Some(idp) = &filter.idp {
        query = query.filter(Column::Idp.eq(idp));
    }
    if let Some(text) = &filter.text {
        query =
            query.filter(Expr::expr(Func::lower(Column::Summary.into_expr())).like(contains(text)));
    }
    if let Some(since) = filter.since {
        query = query.filter(Column::At.gte(since));
    }
    if let Some(until) = filter.until {
        query = query.filter(Column::At.lt(until));
    }
    if let Some(request_id) = &filter.request_id {
        query = query.filter(Column::RequestId.eq(request_id));
    }
    query
}

/// A page of entries, newest first.
pub async fn list(
    db: &impl ConnectionTrait,
    filter: &ActivityFilter,
    cursor: Option<i64>,
    limit: u64,
) -> Result<(Vec<activity_entry::Model>, Option<String>), Error> {
    let query = select(filter);
    pages::page(
        db,
        query,
        activity_entry::Column::Id,
        Order::NewestFirst,
        cursor,
        limit,
    )
    .await
}

/// Entries after `cursor`, oldest first: what a live stream sends next.
pub async fn after(
    db: &impl ConnectionTrait,
    filter: &ActivityFilter,
    cursor: i64,
    limit: u64,
) -> Result<Vec<activity_entry::Model>, Error> {
    use activity_entry::Column;
    Ok(select(filter)
        .filter(Column::Id.gt(cursor))
        .order_by_asc(Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}

/// The id of the newest entry (0 when there is none): where a live stream with nothing to
/// replay starts.
pub async fn newest_id(db: &impl ConnectionTrait) -> Result<i64, Error> {
    let newest: Option<Option<i64>> = activity_entry::Entity::find()
        .select_only()
        .column_as(activity_entry::Column::Id.max(), "newest")
        .into_tuple()
        .one(db)
        .await?;
    Ok(newest.flatten().unwrap_or(0))
}

/// One entry; within a tenant when `tenant_id` is given.
pub async fn get(
    db: &impl ConnectionTrait,
    tenant_id: Option<&str>,
    id: i64,
) -> Result<activity_entry::Model, Error> {
    let mut query = activity_entry::Entity::find_by_id(id);
    if let Some(tenant_id) = tenant_id {
        query = query.filter(activity_entry::Column::TenantId.eq(tenant_id));
    }
    query
        .unique(db)
        .await?
        .ok_or_else(|| Error::not_found("activity entry", id.to_string()))
}
