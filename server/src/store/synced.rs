//! The synced users and groups as the admin API lists them: by cursor, filtered by name (a
//! case-insensitive substring), by state, and by membership or mapping, with the counts and
//! mappings an admin looks for.

use std::collections::HashMap;

use entity::{group_mapping, group_member, scim_group, scim_user};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect,
    sea_query::{Expr, ExprTrait, LikeExpr, Query},
};

use super::{
    mappings::{self, Mapping},
    pages::{self, Order},
    tenants,
};
use crate::{error::Error, scim::query::escape_like};

pub struct SyncedGroup {
    pub row: scim_group::Model,
    pub member_count: u64,
    pub mapping: Option<Mapping>,
}

pub struct SyncedUser {
    pub row: scim_user::Model,
    pub group_count: u64,
}

#[derive(Debug, Default, Clone)]
pub struct GroupFilter {
    pub name: Option<String>,
    pub mapped_only: bool,
}

#[derive(Debug, Default, Clone)]
pub struct UserFilter {
    pub name: Option<String>,
    pub active: Option<bool>,
    pub group_id: Option<String>,
}

fn contains(name: &str) -> LikeExpr {
    LikeExpr::new(format!("%{}%", escape_like(&name.to_lowercase()))).escape('\\')
}

/// How many rows of `group_member` each of `ids` has in `column`.
async fn counts(
    db: &impl ConnectionTrait,
    column: group_member::Column,
    ids: Vec<String>,
) -> Result<HashMap<String, u64>, Error> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(String, i64)> = group_member::Entity::find()
        .select_only()
        .column(column)
        .column_as(Expr::col(column).count(), "count")
        .filter(column.is_in(ids))
        .group_by(column)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, count)| (id, u64::try_from(count).unwrap_or(0)))
        .collect())
}

/// A page of the tenant's synced groups, oldest first.
pub async fn groups(
    db: &impl ConnectionTrait,
    tenant_id: &str,
    filter: &GroupFilter,
    cursor: Option<&str>,
    limit: u64,
) -> Result<(Vec<SyncedGroup>, Option<String>), Error> {
    tenants::get(db, tenant_id).await?;
    let mut query = scim_group::Entity::find().filter(scim_group::Column::TenantId.eq(tenant_id));
    if let Some(name) = filter.name.as_deref() {
        query = query.filter(scim_group::Column::DisplayNameLc.like(contains(name)));
    }
    if filter.mapped_only {
        query = query.filter(
            scim_group::Column::Id.in_subquery(
                Query::select()
                    .column(group_mapping::Column::GroupId)
                    .from(group_mapping::Entity)
                    .and_where(group_mapping::Column::TenantId.eq(tenant_id))
                    .to_owned(),
            ),
        );
    }
    let (rows, next) = pages::page(
        db,
        query,
        scim_group::Column::Id,
        Order::OldestFirst,
        cursor,
        limit,
    )
    .await?;
    let ids: Vec<String> = rows.iter().map(|row| row.id.clone()).collect();
    let mut member_counts = counts(db, group_member::Column::GroupId, ids).await?;
    let mut mapped = mappings::of_groups(db, &rows).await?;
    let groups = rows
        .into_iter()
        .map(|row| SyncedGroup {
            member_count: member_counts.remove(&row.id).unwrap_or(0),
            mapping: mapped.remove(&row.id),
            row,
        })
        .collect();
    Ok((groups, next))
}

/// A page of the tenant's synced users, oldest first.
pub async fn users(
    db: &impl ConnectionTrait,
    tenant_id: &str,
    filter: &UserFilter,
    cursor: Option<&str>,
    limit: u64,
) -> Result<(Vec<SyncedUser>, Option<String>), Error> {
    tenants::get(db, tenant_id).await?;
    let mut query = scim_user::Entity::find().filter(scim_user::Column::TenantId.eq(tenant_id));
    if let Some(name) = filter.name.as_deref() {
        query = query.filter(
            scim_user::Column::UserNameLc
                .like(contains(name))
                .or(scim_user::Column::DisplayNameLc.like(contains(name))),
        );
    }
    if let Some(active) = filter.active {
        query = query.filter(scim_user::Column::Active.eq(active));
    }
    if let Some(group_id) = filter.group_id.as_deref() {
        query = query.filter(
            scim_user::Column::Id.in_subquery(
                Query::select()
                    .column(group_member::Column::UserId)
                    .from(group_member::Entity)
                    .and_where(group_member::Column::GroupId.eq(group_id))
                    .and_where(group_member::Column::TenantId.eq(tenant_id))
                    .to_owned(),
            ),
        );
    }
    let (rows, next) = pages::page(
        db,
        query,
        scim_user::Column::Id,
        Order::OldestFirst,
        cursor,
        limit,
    )
    .await?;
    let ids: Vec<String> = rows.iter().map(|row| row.id.clone()).collect();
    let mut group_counts = counts(db, group_member::Column::UserId, ids).await?;
    let users = rows
        .into_iter()
        .map(|row| SyncedUser {
            group_count: group_counts.remove(&row.id).unwrap_or(0),
            row,
        })
        .collect();
    Ok((users, next))
}
