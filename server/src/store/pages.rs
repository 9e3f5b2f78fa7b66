//! Keyset pages of the admin lists: rows in id order after an opaque cursor (the last id of
//! the previous page). Ids are UUIDv7 or sequence numbers, so id order is creation order;
//! unlike offsets, rows added or removed meanwhile never make a page skip or repeat one.

use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, ModelTrait, QueryFilter, QueryOrder, QuerySelect,
    Select,
};

use crate::error::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    OldestFirst,
    NewestFirst,
}

/// Up to `limit` rows of `query` after `cursor` in `id` order, and the cursor of the next
/// page if there is one.
pub async fn page<E: EntityTrait, C: Into<sea_orm::Value>>(
    db: &impl ConnectionTrait,
    query: Select<E>,
    id: E::Column,
    order: Order,
    cursor: Option<C>,
    limit: u64,
) -> Result<(Vec<E::Model>, Option<String>), Error> {
    let mut query = match order {
        Order::OldestFirst => query.order_by_asc(id),
        Order::NewestFirst => query.order_by_desc(id),
    };
    if let Some(cursor) = cursor {
        query = query.filter(match order {
            Order::OldestFirst => id.gt(cursor),
            Order::NewestFirst => id.lt(cursor),
        });
    }
    let mut rows = query.limit(limit.saturating_add(1)).all(db).await?;
    if u64::try_from(rows.len()).unwrap_or(u64::MAX) <= limit {
        return Ok((rows, None));
    }
    rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    let next = rows.last().and_then(|row| match row.get(id) {
        sea_orm::Value::String(Some(id)) => Some(id.to_string()),
        sea_orm::Value::BigInt(Some(id)) => Some(id.to_string()),
        _ => None,
    });
    Ok((rows, next))
}
