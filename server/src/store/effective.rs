//! Effective permissions (ConfigCat's rules), computed from the database on every read, so
//! every change (membership over SCIM, deactivation, mappings, priorities) counts at the
//! next read on every replica. A user is an organization admin if any of its mapped groups
//! is, a billing manager likewise; for each product it gets the permission group of its
//! highest-priority group that names one; an organization admin holds every permission of
//! every product; an inactive user, or one in no mapped group, holds nothing.

use std::collections::{BTreeMap, HashMap};

use entity::{
    group_mapping, group_mapping_permission_group, group_member, permission_group, product,
    scim_group, scim_user,
};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, JoinType, QueryFilter, QueryOrder, QuerySelect,
    RelationDef,
};

use super::{catalog, products};
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

/// The user's mapped groups, highest priority first, with what each gives.
async fn mapped_groups(
    db: &impl ConnectionTrait,
    user_id: &str,
) -> Result<Vec<(Via, bool, bool)>, Error> {
    let to_mapping: RelationDef = group_member::Entity::belongs_to(group_mapping::Entity)
        .from(group_member::Column::GroupId)
        .to(group_mapping::Column::GroupId)
        .into();
    let to_group: RelationDef = group_member::Entity::belongs_to(scim_group::Entity)
        .from(group_member::Column::GroupId)
        .to(scim_group::Column::Id)
        .into();
    let rows: Vec<(String, String, i64, bool, bool)> = group_member::Entity::find()
        .select_only()
        .join(JoinType::InnerJoin, to_mapping)
        .join(JoinType::InnerJoin, to_group)
        .column(group_member::Column::GroupId)
        .column(scim_group::Column::DisplayName)
        .column(group_mapping::Column::Priority)
        .column(group_mapping::Column::IsOrganizationAdmin)
        .column(group_mapping::Column::IsBillingManager)
        .filter(group_member::Column::UserId.eq(user_id))
        .order_by_asc(group_mapping::Column::Priority)
        .order_by_asc(group_member::Column::GroupId)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(group_id, display_name, priority, admin, billing)| {
            let via = Via {
                group_id,
                display_name,
                priority: u64::try_from(priority).unwrap_or(0),
            };
            (via, admin, billing)
        })
        .collect())
}

pub async fn of_user(
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
    let groups = mapped_groups(db, &effective.user.id).await?;
    if groups.is_empty() {
        effective.nothing = Some(Nothing::NoMappedGroups);
        return Ok(effective);
    }
    for (via, admin, billing) in &groups {
        if *admin {
            effective.organization_admin_via.push(via.clone());
        }
        if *billing {
            effective.billing_manager_via.push(via.clone());
        }
    }

    // Each product's permission groups named by the user's groups, in priority order.
    let group_ids: Vec<&str> = groups
        .iter()
        .map(|(via, ..)| via.group_id.as_str())
        .collect();
    let named: Vec<(String, String, String)> = group_mapping_permission_group::Entity::find()
        .select_only()
        .column(group_mapping_permission_group::Column::GroupId)
        .column(group_mapping_permission_group::Column::ProductId)
        .column(group_mapping_permission_group::Column::PermissionGroupId)
        .filter(group_mapping_permission_group::Column::GroupId.is_in(group_ids))
        .into_tuple()
        .all(db)
        .await?;
    let rank: HashMap<&str, usize> = groups
        .iter()
        .enumerate()
        .map(|(at, (via, ..))| (via.group_id.as_str(), at))
        .collect();
    let mut by_product: BTreeMap<String, Vec<(usize, String)>> = BTreeMap::new();
    for (group_id, product_id, permission_group_id) in named {
        if let Some(at) = rank.get(group_id.as_str()) {
            by_product
                .entry(product_id)
                .or_default()
                .push((*at, permission_group_id));
        }
    }
    for contenders in by_product.values_mut() {
        contenders.sort();
    }

    let admin = effective.organization_admin_via.first().cloned();
    let product_rows: Vec<product::Model> = match admin {
        Some(_) => {
            product::Entity::find()
                .filter(product::Column::TenantId.eq(tenant_id))
                .all(db)
                .await?
        }
        None => {
            product::Entity::find()
                .filter(product::Column::Id.is_in(by_product.keys().cloned()))
                .all(db)
                .await?
        }
    };
    let winners: Vec<String> = by_product
        .values()
        .filter_map(|contenders| contenders.first().map(|(_, id)| id.clone()))
        .collect();
    let winner_rows = permission_group::Entity::find()
        .filter(permission_group::Column::Id.is_in(winners))
        .all(db)
        .await?;
    let mut winners: HashMap<String, products::PermissionGroup> =
        products::with_grants(db, winner_rows)
            .await?
            .into_iter()
            .map(|group| (group.row.id.clone(), group))
            .collect();
    let everything: Vec<String> = match admin {
        Some(_) => catalog::all(db)
            .await?
            .into_iter()
            .map(|p| p.name)
            .collect(),
        None => Vec::new(),
    };

    for product in product_rows {
        let contenders = by_product.remove(&product.id).unwrap_or_default();
        let winner = contenders
            .first()
            .and_then(|(at, id)| winners.remove(id).map(|group| (*at, group)));
        let (granted_by, permission_group, permissions) = match (winner, &admin) {
            (Some((at, group)), _) => {
                let permissions = if admin.is_some() {
                    everything.clone()
                } else {
                    group.permissions.clone()
                };
                (groups[at].0.clone(), Some(group.row), permissions)
            }
            (None, Some(admin)) => (admin.clone(), None, everything.clone()),
            (None, None) => continue,
        };
        let outranked = contenders
            .iter()
            .skip(1)
            .map(|(at, id)| (groups[*at].0.clone(), id.clone()))
            .collect();
        effective.products.push(ProductGrant {
            product_id: product.id,
            product_name: product.name,
            permission_group_id: permission_group.as_ref().map(|g| g.id.clone()),
            permission_group_name: permission_group.map(|g| g.name),
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
