//! The deployment's permission catalog: the permission names permission groups may hold.
//! A name some permission group holds cannot be removed.

use entity::{permission, permission_group, permission_group_permission, product};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, JoinType, QueryFilter, QueryOrder,
    QuerySelect, RelationDef, Set,
};
use serde_json::json;

use super::{
    Storage,
    audit::{self, Actor, Change},
    grant_lookups,
    pages::{self, Order},
    permission_changes,
    unique::SelectUnique,
};
use crate::error::Error;

/// Whether a permission only lets its holder look (`read`: a `readOnly` permission group
/// holds it) or change things (`write`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, poem_openapi::Enum)]
#[oai(rename = "PermissionAccess", rename_all = "lowercase")]
pub enum Access {
    Read,
    Write,
}

impl Access {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
        }
    }

    /// The stored spelling read back; anything unknown counts as `write`, the safer side.
    pub fn of(stored: &str) -> Self {
        if stored == "read" {
            Self::Read
        } else {
            Self::Write
        }
    }
}

/// A page of the catalog, in name order.
pub async fn list(
    db: &impl ConnectionTrait,
    cursor: Option<&str>,
    limit: u64,
) -> Result<(Vec<permission::Model>, Option<String>), Error> {
    pages::page(
        db,
        permission::Entity::find(),
        permission::Column::Name,
        Order::OldestFirst,
        cursor,
        limit,
    )
    .await
}

/// Every catalog entry, in name order.
pub async fn all(db: &impl ConnectionTrait) -> Result<Vec<permission::Model>, Error> {
    Ok(permission::Entity::find()
        .order_by_asc(permission::Column::Name)
        .all(db)
        .await?)
}

pub async fn create(
    db: &Storage,
    actor: Actor,
    name: String,
    access: Access,
    description: String,
) -> Result<permission::Model, Error> {
    db.write(move |txn| {
        Box::pin(async move {
            grant_lookups::catalog_changed(txn).await?;
            let inserted = async {
                permission::ActiveModel {
                    name: Set(name.clone()),
                    access: Set(access.as_str().to_owned()),
                    description: Set(description),
                }
                .insert(txn)
                .await
                .map_err(|err| {
                    Error::conflict_on_unique(err, format!("the catalog already has {name:?}"))
                })
            };
            let row = permission_changes::around_catalog(txn, actor.at, inserted).await?;
            let change = Change {
                tenant_id: None,
                action: "permission.created",
                target: format!("permission:{}", row.name),
                before: None,
                after: Some(json!({ "access": row.access, "description": row.description })),
            };
            audit::record(txn, &actor, change).await?;
            Ok(row)
        })
    })
    .await
}

/// Removes `name` from the catalog; 409 naming the permission groups that hold it.
pub async fn delete(db: &Storage, actor: Actor, name: String) -> Result<(), Error> {
    db.write(move |txn| {
        Box::pin(async move {
            grant_lookups::catalog_changed(txn).await?;
            let row = permission::Entity::find_by_id(name.clone())
                .unique(txn)
                .await?
                .ok_or_else(|| Error::not_found("permission", &name))?;
            let holders = holders(txn, &name).await?;
            if !holders.is_empty() {
                return Err(Error::Conflict(format!(
                    "{name} is held by permission groups {}; take it out of them first",
                    holders.join(", ")
                )));
            }
            let deleted = async {
                permission::Entity::delete_by_id(name.clone())
                    .exec(txn)
                    .await?;
                Ok(())
            };
            permission_changes::around_catalog(txn, actor.at, deleted).await?;
            let change = Change {
                tenant_id: None,
                action: "permission.deleted",
                target: format!("permission:{name}"),
                before: Some(json!({ "access": row.access, "description": row.description })),
                after: None,
            };
            audit::record(txn, &actor, change).await
        })
    })
    .await
}

/// `"<group>" of product "<product>"` for each permission group holding `name`.
async fn holders(txn: &impl ConnectionTrait, name: &str) -> Result<Vec<String>, Error> {
    let to_group: RelationDef =
        permission_group_permission::Entity::belongs_to(permission_group::Entity)
            .from(permission_group_permission::Column::PermissionGroupId)
            .to(permission_group::Column::Id)
            .into();
    let to_product: RelationDef = permission_group::Entity::belongs_to(product::Entity)
        .from(permission_group::Column::ProductId)
        .to(product::Column::Id)
        .into();
    let rows: Vec<(String, String)> = permission_group_permission::Entity::find()
        .select_only()
        .join(JoinType::InnerJoin, to_group)
        .join(JoinType::InnerJoin, to_product)
        .column(permission_group::Column::Name)
        .column(product::Column::Name)
        .filter(permission_group_permission::Column::Permission.eq(name))
        .order_by_asc(product::Column::Name)
        .order_by_asc(permission_group::Column::Name)
        .into_tuple()
        .all(txn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(group, product)| format!("{group:?} of product {product:?}"))
        .collect())
}
