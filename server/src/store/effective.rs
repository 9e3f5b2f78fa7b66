//! Effective permissions (ConfigCat's rules), computed from the database on every read, so
//! every change (membership over SCIM, deactivation, mappings, priorities) counts at the
//! next read on every replica. A user is an organization admin if any of its mapped groups
//! is, a billing manager likewise; for each product it gets the permission group of its
//! highest-priority group that names one; an organization admin holds every permission of
//! every product; an inactive user, or one in no mapped group, holds nothing.

use std::collections::BTreeMap;

use entity::{
    group_mapping, group_mapping_permission_group, group_member, permission_group, product,
    scim_group, scim_user,
};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, JoinType, QueryFilter,
    QueryOrder, QuerySelect, RelationDef, TransactionTrait,
};

use super::{
    catalog,
    products::{self, AccessType},
};
use crate::error::Error;

/// How the host product names the user.
#[derive(Debug, Clone)]
pub enum UserKey<'a> {
    Id(&'a str),
    UserName(&'a str),
    ExternalId(&'a str),
}

/// A mapped group the user is in, and its place in the priority order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Via {
    pub group_id: String,
    pub display_name: String,
    pub priority: u64,
}

/// A product's grant: the winning permission group and why it won.
#[derive(Debug, Clone)]
pub struct ProductGrant {
    pub product_id: String,
    pub product_name: String,
    /// Absent for an organization admin whose groups name none for this product.
    pub permission_group_id: Option<String>,
    pub permission_group_name: Option<String>,
    pub permissions: Vec<String>,
    /// The group that gave it (for an organization admin without a permission group here,
    /// the highest-priority admin group).
    pub granted_by: Via,
    /// Lower-priority groups that named another permission group for this product.
    pub outranked: Vec<(Via, String)>,
}

/// Why a user holds nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nothing {
    Inactive,
    NoMappedGroups,
}

#[derive(Debug, Clone)]
pub struct Effective {
    pub user: scim_user::Model,
    pub organization_admin_via: Vec<Via>,
    pub billing_manager_via: Vec<Via>,
    pub products: Vec<ProductGrant>,
    pub nothing: Option<Nothing>,
}

async fn find_user(
    db: &impl ConnectionTrait,
    tenant_id: &str,
    key: &UserKey<'_>,
) -> Result<scim_user::Model, Error> {
    let query = scim_user::Entity::find().filter(scim_user::Column::TenantId.eq(tenant_id));
    let (query, shown) = match key {
        UserKey::Id(id) => (query.filter(scim_user::Column::Id.eq(*id)), *id),
        UserKey::UserName(name) => (
            query.filter(scim_user::Column::UserNameLc.eq(name.to_lowercase())),
            *name,
        ),
        UserKey::ExternalId(id) => (query.filter(scim_user::Column::ExternalId.eq(*id)), *id),
    };
    query
        .one(db)
        .await?
        .ok_or_else(|| Error::not_found("user", shown))
}

/// The joins these reads take, each from the table on its left.
fn member_mapping() -> RelationDef {
    group_member::Entity::belongs_to(group_mapping::Entity)
        .from(group_member::Column::GroupId)
        .to(group_mapping::Column::GroupId)
        .into()
}

fn member_group() -> RelationDef {
    group_member::Entity::belongs_to(scim_group::Entity)
        .from(group_member::Column::GroupId)
        .to(scim_group::Column::Id)
        .into()
}

fn member_named() -> RelationDef {
    group_member::Entity::belongs_to(group_mapping_permission_group::Entity)
        .from(group_member::Column::GroupId)
        .to(group_mapping_permission_group::Column::GroupId)
        .into()
}

fn member_user() -> RelationDef {
    group_member::Entity::belongs_to(scim_user::Entity)
        .from(group_member::Column::UserId)
        .to(scim_user::Column::Id)
        .into()
}

fn named_permission_group() -> RelationDef {
    group_mapping_permission_group::Entity::belongs_to(permission_group::Entity)
        .from(group_mapping_permission_group::Column::PermissionGroupId)
        .to(permission_group::Column::Id)
        .into()
}

fn named_product() -> RelationDef {
    group_mapping_permission_group::Entity::belongs_to(product::Entity)
        .from(group_mapping_permission_group::Column::ProductId)
        .to(product::Column::Id)
        .into()
}

/// A permission group one of the user's groups names for a product; `at` is that group's
/// index in the user's groups by priority.
struct Contender {
    at: usize,
    id: String,
    name: String,
    access_type: AccessType,
}

/// One of the user's mapped groups, and one permission group it names (if any).
type GrantRow = (
    String,
    String,
    i64,
    bool,
    bool,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// Every mapped group the user is in, with each permission group it names and that
/// group's product, in one query that starts from the user's memberships.
async fn grant_rows(db: &impl ConnectionTrait, user_id: &str) -> Result<Vec<GrantRow>, Error> {
    Ok(group_member::Entity::find()
        .select_only()
        .join(JoinType::InnerJoin, member_mapping())
        .join(JoinType::InnerJoin, member_group())
        .join(JoinType::LeftJoin, member_named())
        .join(JoinType::LeftJoin, named_permission_group())
        .join(JoinType::LeftJoin, named_product())
        .column(group_member::Column::GroupId)
        .column(scim_group::Column::DisplayName)
        .column(group_mapping::Column::Priority)
        .column(group_mapping::Column::IsOrganizationAdmin)
        .column(group_mapping::Column::IsBillingManager)
        .column(group_mapping_permission_group::Column::ProductId)
        .column(product::Column::Name)
        .column(permission_group::Column::Id)
        .column(permission_group::Column::Name)
        .column(permission_group::Column::AccessType)
        .filter(group_member::Column::UserId.eq(user_id))
        .into_tuple()
        .all(db)
        .await?)
}

/// The user's effective permissions, read in one transaction so they come from one
/// consistent state of the database.
pub async fn of_user(
    db: &DatabaseConnection,
    tenant_id: &str,
    key: UserKey<'_>,
) -> Result<Effective, Error> {
    let txn = db.begin().await?;
    let effective = compute(&txn, tenant_id, key).await;
    txn.commit().await?;
    effective
}

async fn compute(
    db: &impl ConnectionTrait,
    tenant_id: &str,
    key: UserKey<'_>,
) -> Result<Effective, Error> {
    let user = find_user(db, tenant_id, &key).await?;
    let mut effective = Effective {
        user,
        organization_admin_via: Vec::new(),
        billing_manager_via: Vec::new(),
        products: Vec::new(),
        nothing: None,
    };
    if !effective.user.active {
        effective.nothing = Some(Nothing::Inactive);
        return Ok(effective);
    }
    let mut rows = grant_rows(db, &effective.user.id).await?;
    if rows.is_empty() {
        effective.nothing = Some(Nothing::NoMappedGroups);
        return Ok(effective);
    }
    rows.sort_by(|a, b| (a.2, &a.0).cmp(&(b.2, &b.0)));

    // The mapped groups in priority order, and per product its contenders in that order.
    let mut groups: Vec<Via> = Vec::new();
    let mut by_product: BTreeMap<String, (String, Vec<Contender>)> = BTreeMap::new();
    for (
        group_id,
        display_name,
        priority,
        admin,
        billing,
        product_id,
        product_name,
        pg_id,
        pg_name,
        pg_access,
    ) in rows
    {
        if groups.last().is_none_or(|last| last.group_id != group_id) {
            let via = Via {
                group_id,
                display_name,
                priority: u64::try_from(priority).unwrap_or(0),
            };
            if admin {
                effective.organization_admin_via.push(via.clone());
            }
            if billing {
                effective.billing_manager_via.push(via.clone());
            }
            groups.push(via);
        }
        if let (Some(product_id), Some(product_name), Some(pg_id), Some(pg_name), Some(pg_access)) =
            (product_id, product_name, pg_id, pg_name, pg_access)
        {
            by_product
                .entry(product_id)
                .or_insert_with(|| (product_name, Vec::new()))
                .1
                .push(Contender {
                    at: groups.len() - 1,
                    id: pg_id,
                    name: pg_name,
                    access_type: AccessType::of(&pg_access),
                });
        }
    }

    let admin = effective.organization_admin_via.first().cloned();
    let needs_catalog = admin.is_some()
        || by_product.values().any(|(_, contenders)| {
            contenders
                .first()
                .is_some_and(|c| c.access_type != AccessType::Custom)
        });
    let catalog = if needs_catalog {
        catalog::all(db).await?
    } else {
        Vec::new()
    };
    let custom_winners: Vec<String> = by_product
        .values()
        .filter_map(|(_, contenders)| contenders.first())
        .filter(|c| c.access_type == AccessType::Custom)
        .map(|c| c.id.clone())
        .collect();
    let mut listed = products::listed_permissions(db, &custom_winners).await?;
    let everything: Vec<String> = catalog.iter().map(|p| p.name.clone()).collect();

    // An organization admin holds every product, named by its groups or not.
    if admin.is_some() {
        let all_products = product::Entity::find()
            .filter(product::Column::TenantId.eq(tenant_id))
            .all(db)
            .await?;
        for row in all_products {
            by_product
                .entry(row.id)
                .or_insert_with(|| (row.name, Vec::new()));
        }
    }

    for (product_id, (product_name, contenders)) in by_product {
        let (granted_by, permission_group, permissions) = match (contenders.first(), &admin) {
            (Some(winner), _) => {
                let permissions = if admin.is_some() {
                    everything.clone()
                } else {
                    let own = listed.remove(&winner.id).unwrap_or_default();
                    products::grants(winner.access_type, &catalog, own)
                };
                (
                    groups[winner.at].clone(),
                    Some((winner.id.clone(), winner.name.clone())),
                    permissions,
                )
            }
            (None, Some(admin)) => (admin.clone(), None, everything.clone()),
            (None, None) => continue,
        };
        let outranked = contenders
            .iter()
            .skip(1)
            .map(|c| (groups[c.at].clone(), c.id.clone()))
            .collect();
        effective.products.push(ProductGrant {
            product_id,
            product_name,
            permission_group_id: permission_group.as_ref().map(|g| g.0.clone()),
            permission_group_name: permission_group.map(|g| g.1),
            permissions,
            granted_by,
            outranked,
        });
    }
    effective.products.sort_by(|a, b| {
        a.product_name
            .to_lowercase()
            .cmp(&b.product_name.to_lowercase())
    });
    Ok(effective)
}

/// A user holding a permission group of a product, and the group that gives it.
#[derive(Debug, Clone)]
pub struct ProductMember {
    pub user_id: String,
    pub user_name: String,
    pub permission_group_id: String,
    pub permission_group_name: String,
    pub granted_by: Via,
}

/// A page of the active users that hold a permission group of `product_id`, by user id,
/// each with the one the priority rule gives it (organization admins are not listed unless
/// a group of theirs names one).
pub async fn product_members(
    db: &DatabaseConnection,
    tenant_id: &str,
    product_id: &str,
    cursor: Option<&str>,
    limit: u64,
) -> Result<(Vec<ProductMember>, Option<String>), Error> {
    let txn = db.begin().await?;
    let page = product_members_in(&txn, tenant_id, product_id, cursor, limit).await;
    txn.commit().await?;
    page
}

async fn product_members_in(
    db: &impl ConnectionTrait,
    tenant_id: &str,
    product_id: &str,
    cursor: Option<&str>,
    limit: u64,
) -> Result<(Vec<ProductMember>, Option<String>), Error> {
    products::get(db, tenant_id, product_id).await?;
    let mut users = group_member::Entity::find()
        .select_only()
        .distinct()
        .column(group_member::Column::UserId)
        .join(JoinType::InnerJoin, member_named())
        .join(JoinType::InnerJoin, member_user())
        .filter(group_mapping_permission_group::Column::ProductId.eq(product_id))
        .filter(scim_user::Column::Active.eq(true))
        .order_by_asc(group_member::Column::UserId)
        .limit(limit.saturating_add(1));
    if let Some(cursor) = cursor {
        users = users.filter(group_member::Column::UserId.gt(cursor));
    }
    let mut user_ids: Vec<String> = users.into_tuple().all(db).await?;
    let next = if u64::try_from(user_ids.len()).unwrap_or(u64::MAX) > limit {
        user_ids.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        user_ids.last().cloned()
    } else {
        None
    };
    if user_ids.is_empty() {
        return Ok((Vec::new(), None));
    }
    let mut rows: Vec<(String, String, String, i64, String, String, String)> =
        group_member::Entity::find()
            .select_only()
            .join(JoinType::InnerJoin, member_named())
            .join(JoinType::InnerJoin, member_mapping())
            .join(JoinType::InnerJoin, member_group())
            .join(JoinType::InnerJoin, named_permission_group())
            .join(JoinType::InnerJoin, member_user())
            .column(group_member::Column::UserId)
            .column(scim_user::Column::UserName)
            .column(group_member::Column::GroupId)
            .column(group_mapping::Column::Priority)
            .column(scim_group::Column::DisplayName)
            .column(permission_group::Column::Id)
            .column(permission_group::Column::Name)
            .filter(group_mapping_permission_group::Column::ProductId.eq(product_id))
            .filter(group_member::Column::UserId.is_in(user_ids))
            .into_tuple()
            .all(db)
            .await?;
    rows.sort_by(|a, b| (&a.0, a.3, &a.2).cmp(&(&b.0, b.3, &b.2)));
    let mut members: Vec<ProductMember> = Vec::new();
    for (user_id, user_name, group_id, priority, display_name, pg_id, pg_name) in rows {
        if members.last().is_some_and(|m| m.user_id == user_id) {
            continue;
        }
        members.push(ProductMember {
            user_id,
            user_name,
            permission_group_id: pg_id,
            permission_group_name: pg_name,
            granted_by: Via {
                group_id,
                display_name,
                priority: u64::try_from(priority).unwrap_or(0),
            },
        });
    }
    Ok((members, next))
}
