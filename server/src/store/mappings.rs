//! Group mappings: what a synced group gives its members (organization admin, billing
//! manager, at most one permission group per product), and the tenant's priority order of
//! mapped groups. New mappings go last; the order is a dense list, 1 first, kept dense on
//! every change, so a stored priority is the group's place.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use entity::{group_mapping, group_mapping_permission_group, permission_group, scim_group};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder, QuerySelect, Set,
    sea_query::{Expr, ExprTrait},
};
use serde_json::{Value, json};

use super::{
    Storage,
    audit::{self, Actor, Change},
    events, groups,
    limits::{self, Held},
    permission_changes::{self, Watched},
    tenants,
    unique::SelectUnique,
};
use crate::error::Error;

/// What a mapping gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappingSpec {
    pub is_organization_admin: bool,
    pub is_billing_manager: bool,
    pub permission_group_ids: BTreeSet<String>,
}

/// A mapping as it is stored, with its place in the priority order (1 first).
#[derive(Debug, Clone)]
pub struct Mapping {
    pub group: scim_group::Model,
    pub spec: MappingSpec,
    pub priority: u64,
}

fn mapping_json(spec: &MappingSpec) -> Value {
    json!({
        "isOrganizationAdmin": spec.is_organization_admin,
        "isBillingManager": spec.is_billing_manager,
        "permissionGroupIds": spec.permission_group_ids,
    })
}

/// The tenant's mapped groups, highest priority first.
pub async fn order(db: &impl ConnectionTrait, tenant_id: &str) -> Result<Vec<String>, Error> {
    Ok(group_mapping::Entity::find()
        .select_only()
        .column(group_mapping::Column::GroupId)
        .filter(group_mapping::Column::TenantId.eq(tenant_id))
        .order_by_asc(group_mapping::Column::Priority)
        .order_by_asc(group_mapping::Column::GroupId)
        .into_tuple()
        .all(db)
        .await?)
}

/// The mappings of those of `groups` that are mapped, by group id.
pub async fn of_groups(
    db: &impl ConnectionTrait,
    groups: &[scim_group::Model],
) -> Result<HashMap<String, Mapping>, Error> {
    let ids: Vec<String> = groups.iter().map(|g| g.id.clone()).collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = group_mapping::Entity::find()
        .filter(group_mapping::Column::GroupId.is_in(ids.clone()))
        .all(db)
        .await?;
    let mut named: HashMap<String, BTreeSet<String>> = HashMap::new();
    let pairs: Vec<(String, String)> = group_mapping_permission_group::Entity::find()
        .select_only()
        .column(group_mapping_permission_group::Column::GroupId)
        .column(group_mapping_permission_group::Column::PermissionGroupId)
        .filter(group_mapping_permission_group::Column::GroupId.is_in(ids))
        .into_tuple()
        .all(db)
        .await?;
    for (group, permission_group) in pairs {
        named.entry(group).or_default().insert(permission_group);
    }
    let by_id: HashMap<&str, &scim_group::Model> =
        groups.iter().map(|g| (g.id.as_str(), g)).collect();
    Ok(rows
        .into_iter()
        .filter_map(|row| {
            let group = (*by_id.get(row.group_id.as_str())?).clone();
            let mapping = Mapping {
                spec: MappingSpec {
                    is_organization_admin: row.is_organization_admin,
                    is_billing_manager: row.is_billing_manager,
                    permission_group_ids: named.remove(&row.group_id).unwrap_or_default(),
                },
                priority: u64::try_from(row.priority).unwrap_or(0),
                group,
            };
            Some((row.group_id, mapping))
        })
        .collect())
}

/// The mapping of `group_id`; 404 if the group is unknown or not mapped.
pub async fn get(
    db: &impl ConnectionTrait,
    tenant_id: &str,
    group_id: &str,
) -> Result<Mapping, Error> {
    let group = groups::get(db, tenant_id, group_id).await?;
    of_groups(db, std::slice::from_ref(&group))
        .await?
        .remove(group_id)
        .ok_or_else(|| Error::not_found("group mapping", group_id))
}

/// The product of each of `ids`; 400 naming those that are not permission groups of the
/// tenant, or two that share a product.
async fn products_of(
    txn: &impl ConnectionTrait,
    tenant_id: &str,
    ids: &BTreeSet<String>,
) -> Result<Vec<(String, String)>, Error> {
    let found: HashMap<String, String> = permission_group::Entity::find()
        .select_only()
        .column(permission_group::Column::Id)
        .column(permission_group::Column::ProductId)
        .filter(permission_group::Column::TenantId.eq(tenant_id))
        .filter(permission_group::Column::Id.is_in(ids.iter().cloned()))
        .into_tuple::<(String, String)>()
        .all(txn)
        .await?
        .into_iter()
        .collect();
    let unknown: Vec<&str> = ids
        .iter()
        .filter(|id| !found.contains_key(*id))
        .map(String::as_str)
        .collect();
    if !unknown.is_empty() {
        return Err(Error::BadReference(format!(
            "not permission groups of this tenant: {}",
            unknown.join(", ")
        )));
    }
    let mut by_product: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (id, product) in &found {
        by_product.entry(product).or_default().push(id);
    }
    if let Some((product, ids)) = by_product.iter().find(|(_, ids)| ids.len() > 1) {
        let mut ids = ids.clone();
        ids.sort_unstable();
        return Err(Error::BadReference(format!(
            "a mapping gives at most one permission group per product; {} are all of product {product}",
            ids.join(", ")
        )));
    }
    Ok(found.into_iter().collect())
}

/// Creates or replaces the mapping of `group_id`. A new mapping goes last in the order.
pub async fn put(
    db: &Storage,
    actor: Actor,
    tenant_id: &str,
    group_id: &str,
    spec: MappingSpec,
) -> Result<Mapping, Error> {
    let (tenant_id, group_id) = (tenant_id.to_owned(), group_id.to_owned());
    let limit = db.limits().mapped_groups;
    db.write(move |txn| {
        Box::pin(async move {
            tenants::lock(txn, &tenant_id).await?;
            let watched = Watched::MembersOf(group_id.clone());
            let watch = permission_changes::watch_all(txn, &tenant_id, watched).await?;
            let mapping = put_in(txn, &actor, &tenant_id, &group_id, spec, limit).await?;
            events::record(txn, &tenant_id, watch.changes(txn).await?, actor.at).await?;
            Ok(mapping)
        })
    })
    .await
}

/// `put` inside `txn`; a new mapping fails past `max_mapped` mapped groups.
pub async fn put_in(
    txn: &impl ConnectionTrait,
    actor: &Actor,
    tenant_id: &str,
    group_id: &str,
    spec: MappingSpec,
    max_mapped: u64,
) -> Result<Mapping, Error> {
    // One mapping change per tenant at a time, so priorities stay distinct.
    tenants::lock(txn, tenant_id).await?;
    let group = groups::get(txn, tenant_id, group_id).await?;
    let products = products_of(txn, tenant_id, &spec.permission_group_ids).await?;
    let existing = group_mapping::Entity::find_by_id(group_id.to_owned())
        .unique(txn)
        .await?;
    let before = of_groups(txn, std::slice::from_ref(&group))
        .await?
        .remove(group_id)
        .map(|mapping| mapping.spec);
    let priority = match existing {
        Some(row) => {
            let mut row = row.into_active_model();
            row.is_organization_admin = Set(spec.is_organization_admin);
            row.is_billing_manager = Set(spec.is_billing_manager);
            row.updated_at = Set(actor.at);
            row.update(txn).await?.priority
        }
        None => {
            // The tenant is locked above.
            limits::ensure_room(txn, tenant_id, Held::MappedGroups, max_mapped).await?;
            let last: Option<i64> = group_mapping::Entity::find()
                .select_only()
                .column_as(group_mapping::Column::Priority.max(), "max")
                .filter(group_mapping::Column::TenantId.eq(tenant_id))
                .into_tuple::<Option<i64>>()
                .one(txn)
                .await?
                .flatten();
            group_mapping::ActiveModel {
                group_id: Set(group_id.to_owned()),
                tenant_id: Set(tenant_id.to_owned()),
                is_organization_admin: Set(spec.is_organization_admin),
                is_billing_manager: Set(spec.is_billing_manager),
                priority: Set(last.map_or(1, |p| p + 1)),
                created_at: Set(actor.at),
                updated_at: Set(actor.at),
            }
            .insert(txn)
            .await?
            .priority
        }
    };
    group_mapping_permission_group::Entity::delete_many()
        .filter(group_mapping_permission_group::Column::GroupId.eq(group_id))
        .exec(txn)
        .await?;
    if !products.is_empty() {
        let rows = products.iter().map(|(permission_group_id, product_id)| {
            group_mapping_permission_group::ActiveModel {
                group_id: Set(group_id.to_owned()),
                product_id: Set(product_id.clone()),
                permission_group_id: Set(permission_group_id.clone()),
                tenant_id: Set(tenant_id.to_owned()),
            }
        });
        group_mapping_permission_group::Entity::insert_many(rows)
            .exec_without_returning(txn)
            .await?;
    }
    let change = Change {
        tenant_id: Some(tenant_id),
        action: if before.is_some() {
            "mapping.updated"
        } else {
            "mapping.created"
        },
        target: format!("group:{group_id}"),
        before: before.as_ref().map(mapping_json),
        after: Some(mapping_json(&spec)),
    };
    audit::record(txn, actor, change).await?;
    Ok(Mapping {
        group,
        spec,
        priority: u64::try_from(priority).unwrap_or(0),
    })
}

/// Removes the mapping of `group_id`; the groups after it move up.
pub async fn delete(
    db: &Storage,
    actor: Actor,
    tenant_id: &str,
    group_id: &str,
) -> Result<(), Error> {
    let (tenant_id, group_id) = (tenant_id.to_owned(), group_id.to_owned());
    db.write(move |txn| {
        Box::pin(async move {
            tenants::lock(txn, &tenant_id).await?;
            let watched = Watched::MembersOf(group_id.clone());
            let watch = permission_changes::watch_all(txn, &tenant_id, watched).await?;
            delete_in(txn, &actor, &tenant_id, &group_id).await?;
            events::record(txn, &tenant_id, watch.changes(txn).await?, actor.at).await
        })
    })
    .await
}

/// `delete` inside `txn`.
pub async fn delete_in(
    txn: &impl ConnectionTrait,
    actor: &Actor,
    tenant_id: &str,
    group_id: &str,
) -> Result<(), Error> {
    tenants::lock(txn, tenant_id).await?;
    let before = get(txn, tenant_id, group_id).await?;
    remove(txn, tenant_id, group_id, before.priority).await?;
    let change = Change {
        tenant_id: Some(tenant_id),
        action: "mapping.deleted",
        target: format!("group:{group_id}"),
        before: Some(mapping_json(&before.spec)),
        after: None,
    };
    audit::record(txn, actor, change).await
}

/// Removes a mapping and moves the groups after it up one place.
async fn remove(
    txn: &impl ConnectionTrait,
    tenant_id: &str,
    group_id: &str,
    priority: u64,
) -> Result<(), Error> {
    group_mapping_permission_group::Entity::delete_many()
        .filter(group_mapping_permission_group::Column::GroupId.eq(group_id))
        .exec(txn)
        .await?;
    group_mapping::Entity::delete_by_id(group_id.to_owned())
        .exec(txn)
        .await?;
    group_mapping::Entity::update_many()
        .col_expr(
            group_mapping::Column::Priority,
            Expr::col(group_mapping::Column::Priority).sub(1),
        )
        .filter(group_mapping::Column::TenantId.eq(tenant_id))
        .filter(group_mapping::Column::Priority.gt(i64::try_from(priority).unwrap_or(i64::MAX)))
        .exec(txn)
        .await?;
    Ok(())
}

/// Drops the mapping of a group that is being deleted over SCIM, if it has one, keeping the
/// order dense. Runs inside the deletion's transaction.
pub async fn forget(
    txn: &impl ConnectionTrait,
    tenant_id: &str,
    group_id: &str,
) -> Result<(), Error> {
    // Locked before reading the priority, so a concurrent reorder cannot move it.
    tenants::lock(txn, tenant_id).await?;
    let Some(row) = group_mapping::Entity::find_by_id(group_id.to_owned())
        .unique(txn)
        .await?
    else {
        return Ok(());
    };
    remove(
        txn,
        tenant_id,
        group_id,
        u64::try_from(row.priority).unwrap_or(0),
    )
    .await
}

/// Sets the priority order to `group_ids`, which must name every mapped group exactly once;
/// anything else is a 400 that says what is wrong.
pub async fn reorder(
    db: &Storage,
    actor: Actor,
    tenant_id: &str,
    group_ids: Vec<String>,
) -> Result<Vec<String>, Error> {
    let tenant_id = tenant_id.to_owned();
    db.write(move |txn| {
        Box::pin(async move {
            tenants::lock(txn, &tenant_id).await?;
            let watch = permission_changes::watch_all(txn, &tenant_id, Watched::Tenant).await?;
            let order = reorder_in(txn, &actor, &tenant_id, group_ids).await?;
            events::record(txn, &tenant_id, watch.changes(txn).await?, actor.at).await?;
            Ok(order)
        })
    })
    .await
}

/// `reorder` inside `txn`.
pub async fn reorder_in(
    txn: &impl ConnectionTrait,
    actor: &Actor,
    tenant_id: &str,
    group_ids: Vec<String>,
) -> Result<Vec<String>, Error> {
    tenants::lock(txn, tenant_id).await?;
    let before = order(txn, tenant_id).await?;
    check_order(&before, &group_ids)?;
    for (at, group_id) in group_ids.iter().enumerate() {
        group_mapping::Entity::update_many()
            .col_expr(group_mapping::Column::Priority, Expr::value(at as i64 + 1))
            .filter(group_mapping::Column::GroupId.eq(group_id))
            .exec(txn)
            .await?;
    }
    let change = Change {
        tenant_id: Some(tenant_id),
        action: "priority.changed",
        target: format!("tenant:{tenant_id}"),
        before: Some(json!(before)),
        after: Some(json!(group_ids)),
    };
    audit::record(txn, actor, change).await?;
    Ok(group_ids)
}

fn check_order(mapped: &[String], proposed: &[String]) -> Result<(), Error> {
    let mapped_set: BTreeSet<&str> = mapped.iter().map(String::as_str).collect();
    let mut seen = BTreeSet::new();
    let duplicates: BTreeSet<&str> = proposed
        .iter()
        .map(String::as_str)
        .filter(|id| !seen.insert(*id))
        .collect();
    let foreign: Vec<&str> = proposed
        .iter()
        .map(String::as_str)
        .filter(|id| !mapped_set.contains(id))
        .collect();
    let missing: Vec<&str> = mapped
        .iter()
        .map(String::as_str)
        .filter(|id| !seen.contains(id))
        .collect();
    let mut problems = Vec::new();
    if !duplicates.is_empty() {
        problems.push(format!(
            "listed more than once: {}",
            duplicates.into_iter().collect::<Vec<_>>().join(", ")
        ));
    }
    if !foreign.is_empty() {
        problems.push(format!(
            "not mapped groups of this tenant: {}",
            foreign.join(", ")
        ));
    }
    if !missing.is_empty() {
        problems.push(format!("mapped groups missing: {}", missing.join(", ")));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Error::BadReference(format!(
            "the priority list must name every mapped group exactly once; {}",
            problems.join("; ")
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn orders_must_be_permutations() {
        let mapped = ids(&["a", "b", "c"]);
        assert!(check_order(&mapped, &ids(&["c", "a", "b"])).is_ok());
        let err = check_order(&mapped, &ids(&["a", "a", "x"]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("more than once: a"), "{err}");
        assert!(err.contains("not mapped groups of this tenant: x"), "{err}");
        assert!(err.contains("missing: b, c"), "{err}");
        assert!(check_order(&[], &[]).is_ok());
    }
}
