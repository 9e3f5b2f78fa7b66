//! A tenant's products and their permission groups. A permission group is `readOnly` (the
//! catalog's `read` permissions), `full` (every catalog permission) or `custom` (the ones it
//! lists); the first two follow the catalog as it changes.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use entity::{
    group_mapping_permission_group, permission, permission_group, permission_group_permission,
    product, scim_group,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, JoinType,
    QueryFilter, QueryOrder, QuerySelect, RelationDef, Set, sea_query::IntoCondition,
};
use serde_json::{Value, json};

use super::{
    Storage,
    audit::{self, Actor, Change},
    catalog::{self, Access},
    grant_lookups,
    pages::{self, Order},
    permission_changes, tenants,
    unique::SelectUnique,
};
use crate::error::Error;

/// What a permission group grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, poem_openapi::Enum)]
#[oai(rename = "AccessType", rename_all = "camelCase")]
pub enum AccessType {
    /// The catalog's `read` permissions.
    ReadOnly,
    /// Every catalog permission.
    Full,
    /// The permissions the group lists.
    Custom,
}

impl AccessType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ReadOnly => "readOnly",
            Self::Full => "full",
            Self::Custom => "custom",
        }
    }

    /// The stored spelling read back; anything unknown grants only what it lists.
    pub fn of(stored: &str) -> Self {
        match stored {
            "readOnly" => Self::ReadOnly,
            "full" => Self::Full,
            _ => Self::Custom,
        }
    }
}

/// A permission group with the permissions it grants now.
#[derive(Debug, Clone)]
pub struct PermissionGroup {
    pub row: permission_group::Model,
    pub permissions: Vec<String>,
}

/// What a permission group is to be: its name, access type and (for `custom`) permissions.
#[derive(Debug, Clone)]
pub struct GroupSpec {
    pub name: String,
    pub access_type: AccessType,
    pub permissions: BTreeSet<String>,
}

fn taken(name: &str) -> String {
    format!("a product named {name:?} already exists in this tenant")
}

fn group_taken(name: &str) -> String {
    format!("a permission group named {name:?} already exists in this product")
}

fn product_json(row: &product::Model) -> Value {
    json!({ "name": row.name })
}

fn group_json(group: &PermissionGroup) -> Value {
    json!({
        "productId": group.row.product_id,
        "name": group.row.name,
        "accessType": group.row.access_type,
        "permissions": group.permissions,
    })
}

pub async fn create(
    db: &Storage,
    actor: Actor,
    tenant_id: &str,
    name: String,
) -> Result<product::Model, Error> {
    let tenant_id = tenant_id.to_owned();
    db.write(move |txn| {
        Box::pin(async move {
            grant_lookups::changed(txn, &tenant_id).await?;
            tenants::get(txn, &tenant_id).await?;
            // Organization admins hold every product: a new one is theirs at once.
            let created = async {
                product::ActiveModel {
                    id: Set(uuid::Uuid::now_v7().to_string()),
                    tenant_id: Set(tenant_id.clone()),
                    name_lc: Set(name.to_lowercase()),
                    name: Set(name.clone()),
                    created_at: Set(actor.at),
                }
                .insert(txn)
                .await
                .map_err(|err| Error::conflict_on_unique(err, taken(&name)))
            };
            let row = permission_changes::around_grants(txn, &tenant_id, actor.at, created).await?;
            let change = Change {
                tenant_id: Some(&tenant_id),
                action: "product.created",
                target: format!("product:{}", row.id),
                before: None,
                after: Some(product_json(&row)),
            };
            audit::record(txn, &actor, change).await?;
            Ok(row)
        })
    })
    .await
}

/// A page of the tenant's products, oldest first.
pub async fn list(
    db: &impl ConnectionTrait,
    tenant_id: &str,
    cursor: Option<&str>,
    limit: u64,
) -> Result<(Vec<product::Model>, Option<String>), Error> {
    tenants::get(db, tenant_id).await?;
    let query = product::Entity::find().filter(product::Column::TenantId.eq(tenant_id));
    pages::page(
        db,
        query,
        product::Column::Id,
        Order::OldestFirst,
        cursor,
        limit,
    )
    .await
}

pub async fn get(
    db: &impl ConnectionTrait,
    tenant_id: &str,
    product_id: &str,
) -> Result<product::Model, Error> {
    product::Entity::find_by_id(product_id.to_owned())
        .filter(product::Column::TenantId.eq(tenant_id))
        .unique(db)
        .await?
        .ok_or_else(|| Error::not_found("product", product_id))
}

pub async fn rename(
    db: &Storage,
    actor: Actor,
    tenant_id: &str,
    product_id: &str,
    name: String,
) -> Result<product::Model, Error> {
    let (tenant_id, product_id) = (tenant_id.to_owned(), product_id.to_owned());
    db.write(move |txn| {
        Box::pin(async move {
            grant_lookups::changed(txn, &tenant_id).await?;
            let before = get(txn, &tenant_id, &product_id).await?;
            let mut row = before.clone().into_active_model();
            row.name_lc = Set(name.to_lowercase());
            row.name = Set(name.clone());
            // Events name each product a user holds: its holders' next event says the new
            // name, so that a consumer keeping the latest holding keeps the latest name.
            let renamed = async {
                row.update(txn)
                    .await
                    .map_err(|err| Error::conflict_on_unique(err, taken(&name)))
            };
            let after =
                permission_changes::around_grants(txn, &tenant_id, actor.at, renamed).await?;
            let change = Change {
                tenant_id: Some(&tenant_id),
                action: "product.updated",
                target: format!("product:{product_id}"),
                before: Some(product_json(&before)),
                after: Some(product_json(&after)),
            };
            audit::record(txn, &actor, change).await?;
            Ok(after)
        })
    })
    .await
}

/// Deletes the product with its permission groups and every mapping's use of them.
pub async fn delete(
    db: &Storage,
    actor: Actor,
    tenant_id: &str,
    product_id: &str,
) -> Result<(), Error> {
    let (tenant_id, product_id) = (tenant_id.to_owned(), product_id.to_owned());
    db.write(move |txn| {
        Box::pin(async move {
            grant_lookups::changed(txn, &tenant_id).await?;
            let before = get(txn, &tenant_id, &product_id).await?;
            let deleted = delete_in(txn, &product_id);
            permission_changes::around_grants(txn, &tenant_id, actor.at, deleted).await?;
            let change = Change {
                tenant_id: Some(&tenant_id),
                action: "product.deleted",
                target: format!("product:{product_id}"),
                before: Some(product_json(&before)),
                after: None,
            };
            audit::record(txn, &actor, change).await
        })
    })
    .await
}

/// Deletes products and what hangs off them, children first, without relying on cascades.
async fn delete_in(txn: &impl ConnectionTrait, product_id: &str) -> Result<(), Error> {
    group_mapping_permission_group::Entity::delete_many()
        .filter(group_mapping_permission_group::Column::ProductId.eq(product_id))
        .exec(txn)
        .await?;
    delete_permission_groups(txn, permission_group::Column::ProductId.eq(product_id)).await?;
    product::Entity::delete_by_id(product_id.to_owned())
        .exec(txn)
        .await?;
    Ok(())
}

/// Deletes the permission groups matching `condition` with the permissions they list.
pub(super) async fn delete_permission_groups(
    txn: &impl ConnectionTrait,
    condition: impl IntoCondition,
) -> Result<(), Error> {
    let condition = condition.into_condition();
    let groups: Vec<String> = permission_group::Entity::find()
        .select_only()
        .column(permission_group::Column::Id)
        .filter(condition.clone())
        .into_tuple()
        .all(txn)
        .await?;
    for chunk in super::chunks::slices(&groups, 512) {
        permission_group_permission::Entity::delete_many()
            .filter(permission_group_permission::Column::PermissionGroupId.is_in(chunk.to_vec()))
            .exec(txn)
            .await?;
    }
    permission_group::Entity::delete_many()
        .filter(condition)
        .exec(txn)
        .await?;
    Ok(())
}

/// The permissions a group of `access_type` grants, given the catalog and its own list
/// (used for `custom` only).
pub(super) fn grants(
    access_type: AccessType,
    catalog: &[permission::Model],
    listed: Vec<String>,
) -> Vec<String> {
    match access_type {
        AccessType::Full => catalog.iter().map(|p| p.name.clone()).collect(),
        AccessType::ReadOnly => catalog
            .iter()
            .filter(|p| Access::of(&p.access) == Access::Read)
            .map(|p| p.name.clone())
            .collect(),
        AccessType::Custom => listed,
    }
}

/// The permissions each of `group_ids` lists, in name order.
pub(super) async fn listed_permissions(
    db: &impl ConnectionTrait,
    group_ids: &[String],
) -> Result<HashMap<String, Vec<String>>, Error> {
    let mut listed: HashMap<String, Vec<String>> = HashMap::new();
    for chunk in super::chunks::slices(group_ids, 512) {
        let pairs: Vec<(String, String)> = permission_group_permission::Entity::find()
            .select_only()
            .column(permission_group_permission::Column::PermissionGroupId)
            .column(permission_group_permission::Column::Permission)
            .filter(permission_group_permission::Column::PermissionGroupId.is_in(chunk.to_vec()))
            .order_by_asc(permission_group_permission::Column::Permission)
            .into_tuple()
            .all(db)
            .await?;
        for (group, permission) in pairs {
            listed.entry(group).or_default().push(permission);
        }
    }
    Ok(listed)
}

/// `rows` with the permissions each grants.
async fn with_grants(
    db: &impl ConnectionTrait,
    rows: Vec<permission_group::Model>,
) -> Result<Vec<PermissionGroup>, Error> {
    let catalog = catalog::all(db).await?;
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let mut listed = listed_permissions(db, &ids).await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let own = listed.remove(&row.id).unwrap_or_default();
            PermissionGroup {
                permissions: grants(AccessType::of(&row.access_type), &catalog, own),
                row,
            }
        })
        .collect())
}

/// Checks `spec` against the catalog: names it does not know are a 400 naming them, and
/// only `custom` groups list permissions.
async fn check(txn: &impl ConnectionTrait, spec: &GroupSpec) -> Result<(), Error> {
    if spec.access_type != AccessType::Custom && !spec.permissions.is_empty() {
        return Err(Error::BadReference(format!(
            "only custom permission groups list permissions; {} grants {} by itself",
            spec.access_type.as_str(),
            if spec.access_type == AccessType::Full {
                "every catalog permission"
            } else {
                "the catalog's read permissions"
            }
        )));
    }
    let known: BTreeSet<String> = catalog::all(txn)
        .await?
        .into_iter()
        .map(|p| p.name)
        .collect();
    let unknown: Vec<&str> = spec
        .permissions
        .iter()
        .filter(|p| !known.contains(*p))
        .map(String::as_str)
        .collect();
    if unknown.is_empty() {
        Ok(())
    } else {
        Err(Error::BadReference(format!(
            "not in the permission catalog: {}",
            unknown.join(", ")
        )))
    }
}

async fn set_permissions(
    txn: &impl ConnectionTrait,
    group_id: &str,
    permissions: &BTreeSet<String>,
) -> Result<(), Error> {
    permission_group_permission::Entity::delete_many()
        .filter(permission_group_permission::Column::PermissionGroupId.eq(group_id))
        .exec(txn)
        .await?;
    if permissions.is_empty() {
        return Ok(());
    }
    let rows = permissions
        .iter()
        .map(|permission| permission_group_permission::ActiveModel {
            permission_group_id: Set(group_id.to_owned()),
            permission: Set(permission.clone()),
        });
    permission_group_permission::Entity::insert_many(rows)
        .exec_without_returning(txn)
        .await?;
    Ok(())
}

async fn get_group_in(
    txn: &impl ConnectionTrait,
    tenant_id: &str,
    product_id: &str,
    group_id: &str,
) -> Result<PermissionGroup, Error> {
    let row = permission_group::Entity::find_by_id(group_id.to_owned())
        .filter(permission_group::Column::TenantId.eq(tenant_id))
        .filter(permission_group::Column::ProductId.eq(product_id))
        .unique(txn)
        .await?
        .ok_or_else(|| Error::not_found("permission group", group_id))?;
    Ok(with_grants(txn, vec![row]).await?.remove(0))
}

pub async fn create_group(
    db: &Storage,
    actor: Actor,
    tenant_id: &str,
    product_id: &str,
    spec: GroupSpec,
) -> Result<PermissionGroup, Error> {
    let (tenant_id, product_id) = (tenant_id.to_owned(), product_id.to_owned());
    db.write(move |txn| {
        Box::pin(async move {
            grant_lookups::changed(txn, &tenant_id).await?;
            get(txn, &tenant_id, &product_id).await?;
            check(txn, &spec).await?;
            let row = permission_group::ActiveModel {
                id: Set(uuid::Uuid::now_v7().to_string()),
                tenant_id: Set(tenant_id.clone()),
                product_id: Set(product_id.clone()),
                name_lc: Set(spec.name.to_lowercase()),
                name: Set(spec.name.clone()),
                access_type: Set(spec.access_type.as_str().to_owned()),
                created_at: Set(actor.at),
            }
            .insert(txn)
            .await
            .map_err(|err| Error::conflict_on_unique(err, group_taken(&spec.name)))?;
            set_permissions(txn, &row.id, &spec.permissions).await?;
            let group = with_grants(txn, vec![row]).await?.remove(0);
            let change = Change {
                tenant_id: Some(&tenant_id),
                action: "permission_group.created",
                target: format!("permission_group:{}", group.row.id),
                before: None,
                after: Some(group_json(&group)),
            };
            audit::record(txn, &actor, change).await?;
            Ok(group)
        })
    })
    .await
}

/// A page of the product's permission groups, oldest first.
pub async fn list_groups(
    db: &impl ConnectionTrait,
    tenant_id: &str,
    product_id: &str,
    cursor: Option<&str>,
    limit: u64,
) -> Result<(Vec<PermissionGroup>, Option<String>), Error> {
    get(db, tenant_id, product_id).await?;
    let query =
        permission_group::Entity::find().filter(permission_group::Column::ProductId.eq(product_id));
    let (rows, next) = pages::page(
        db,
        query,
        permission_group::Column::Id,
        Order::OldestFirst,
        cursor,
        limit,
    )
    .await?;
    Ok((with_grants(db, rows).await?, next))
}

pub async fn get_group(
    db: &impl ConnectionTrait,
    tenant_id: &str,
    product_id: &str,
    group_id: &str,
) -> Result<PermissionGroup, Error> {
    get_group_in(db, tenant_id, product_id, group_id).await
}

pub async fn replace_group(
    db: &Storage,
    actor: Actor,
    tenant_id: &str,
    product_id: &str,
    group_id: &str,
    spec: GroupSpec,
) -> Result<PermissionGroup, Error> {
    let (tenant_id, product_id, group_id) = (
        tenant_id.to_owned(),
        product_id.to_owned(),
        group_id.to_owned(),
    );
    db.write(move |txn| {
        Box::pin(async move {
            grant_lookups::changed(txn, &tenant_id).await?;
            let before = get_group_in(txn, &tenant_id, &product_id, &group_id).await?;
            check(txn, &spec).await?;
            let mut row = before.row.clone().into_active_model();
            row.name_lc = Set(spec.name.to_lowercase());
            row.name = Set(spec.name.clone());
            row.access_type = Set(spec.access_type.as_str().to_owned());
            let replaced = async {
                let row = row
                    .update(txn)
                    .await
                    .map_err(|err| Error::conflict_on_unique(err, group_taken(&spec.name)))?;
                set_permissions(txn, &group_id, &spec.permissions).await?;
                Ok(row)
            };
            let row = around_group(txn, &tenant_id, &group_id, actor.at, replaced).await?;
            let after = with_grants(txn, vec![row]).await?.remove(0);
            let change = Change {
                tenant_id: Some(&tenant_id),
                action: "permission_group.updated",
                target: format!("permission_group:{group_id}"),
                before: Some(group_json(&before)),
                after: Some(group_json(&after)),
            };
            audit::record(txn, &actor, change).await?;
            Ok(after)
        })
    })
    .await
}

/// Deletes a permission group. If mappings use it, 409 naming their groups, unless `force`,
/// which takes it out of those mappings in the same transaction.
pub async fn delete_group(
    db: &Storage,
    actor: Actor,
    tenant_id: &str,
    product_id: &str,
    group_id: &str,
    force: bool,
) -> Result<(), Error> {
    let (tenant_id, product_id, group_id) = (
        tenant_id.to_owned(),
        product_id.to_owned(),
        group_id.to_owned(),
    );
    db.write(move |txn| {
        Box::pin(async move {
            grant_lookups::changed(txn, &tenant_id).await?;
            let before = get_group_in(txn, &tenant_id, &product_id, &group_id).await?;
            let users = mapped_groups(txn, &group_id).await?;
            if !users.is_empty() && !force {
                return Err(Error::Conflict(format!(
                    "the mappings of groups {} use this permission group; change them, or \
                     delete with force=true to take it out of them",
                    users.join(", ")
                )));
            }
            let deleted = async {
                group_mapping_permission_group::Entity::delete_many()
                    .filter(group_mapping_permission_group::Column::PermissionGroupId.eq(&group_id))
                    .exec(txn)
                    .await?;
                permission_group_permission::Entity::delete_many()
                    .filter(permission_group_permission::Column::PermissionGroupId.eq(&group_id))
                    .exec(txn)
                    .await?;
                permission_group::Entity::delete_by_id(group_id.clone())
                    .exec(txn)
                    .await?;
                Ok(())
            };
            around_group(txn, &tenant_id, &group_id, actor.at, deleted).await?;
            let change = Change {
                tenant_id: Some(&tenant_id),
                action: "permission_group.deleted",
                target: format!("permission_group:{group_id}"),
                before: Some(json!({ "group": group_json(&before), "removedFrom": users })),
                after: None,
            };
            audit::record(txn, &actor, change).await
        })
    })
    .await
}

/// The display names of the synced groups whose mappings use `group_id`.
/// `change` to permission group `group_id` with the events of what it changes
/// (`permission_changes::around_grants`); none to look for when no mapping names the group:
/// nobody holds it (organization admins hold every product whatever its groups).
async fn around_group<T>(
    txn: &impl ConnectionTrait,
    tenant_id: &str,
    group_id: &str,
    at: DateTime<Utc>,
    change: impl std::future::Future<Output = Result<T, Error>>,
) -> Result<T, Error> {
    if mapped_groups(txn, group_id).await?.is_empty() {
        return change.await;
    }
    permission_changes::around_grants(txn, tenant_id, at, change).await
}

async fn mapped_groups(txn: &impl ConnectionTrait, group_id: &str) -> Result<Vec<String>, Error> {
    let to_group: RelationDef =
        group_mapping_permission_group::Entity::belongs_to(scim_group::Entity)
            .from(group_mapping_permission_group::Column::GroupId)
            .to(scim_group::Column::Id)
            .into();
    Ok(group_mapping_permission_group::Entity::find()
        .select_only()
        .join(JoinType::InnerJoin, to_group)
        .column(scim_group::Column::DisplayName)
        .filter(group_mapping_permission_group::Column::PermissionGroupId.eq(group_id))
        .order_by_asc(scim_group::Column::DisplayName)
        .into_tuple()
        .all(txn)
        .await?)
}
