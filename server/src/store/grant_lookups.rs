//! What grants are resolved against: a tenant's products and permission groups, what its
//! `custom` groups list, and the deployment's catalog. Every sign-in read needs it and it
//! changes rarely, so each process keeps a copy per tenant, tagged with the tenant's
//! `permissions_version`. Every change to any of it bumps that version in its own
//! transaction; a read that finds the version it read with the user's groups (one
//! snapshot) equal to its copy's knows the copy is exactly what that snapshot holds, on
//! every replica. Anything else is read afresh.

use std::{
    collections::{BTreeMap, HashMap},
    sync::{Arc, Mutex, PoisonError},
};

use entity::{permission, permission_group, product, tenant};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, JoinType, QueryFilter, QuerySelect, RelationDef,
    sea_query::{Expr, ExprTrait},
};

use super::{
    catalog,
    products::{self, AccessType},
};
use crate::error::Error;

/// Tenants whose lookups a process keeps; past that it forgets them all (a miss costs one
/// read of a few small tables).
const TENANTS_KEPT: usize = 4_096;

/// A permission group as grants need it.
#[derive(Debug)]
pub(super) struct PermissionGroupRef {
    pub name: String,
    pub access_type: AccessType,
    pub product_id: String,
}

/// A product, and one of its permission groups (id, name, access type) if it has any.
type ProductRow = (
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// The tenant's products and their permission groups.
#[derive(Debug, Default)]
pub(super) struct TenantProducts {
    /// Product id to name.
    pub names: BTreeMap<String, String>,
    pub permission_groups: HashMap<String, PermissionGroupRef>,
}

impl TenantProducts {
    async fn read(db: &impl ConnectionTrait, tenant_id: &str) -> Result<Self, Error> {
        let rows: Vec<ProductRow> = product::Entity::find()
            .select_only()
            .join(JoinType::LeftJoin, product_permission_group())
            .column(product::Column::Id)
            .column(product::Column::Name)
            .column_as(permission_group::Column::Id, "permission_group_id")
            .column_as(permission_group::Column::Name, "permission_group_name")
            .column(permission_group::Column::AccessType)
            .filter(product::Column::TenantId.eq(tenant_id))
            .into_tuple()
            .all(db)
            .await?;
        let mut products = Self::default();
        for (product_id, product_name, id, name, access) in rows {
            if let (Some(id), Some(name), Some(access)) = (id, name, access) {
                let group = PermissionGroupRef {
                    name,
                    access_type: AccessType::of(&access),
                    product_id: product_id.clone(),
                };
                products.permission_groups.insert(id, group);
            }
            products.names.insert(product_id, product_name);
        }
        Ok(products)
    }
}

fn product_permission_group() -> RelationDef {
    product::Entity::belongs_to(permission_group::Entity)
        .from(product::Column::Id)
        .to(permission_group::Column::ProductId)
        .into()
}

/// Everything any grant of a tenant can need.
#[derive(Debug, Default)]
pub(super) struct Lookups {
    pub products: TenantProducts,
    pub catalog: Vec<permission::Model>,
    /// What each `custom` permission group lists, by permission group id.
    pub listed: HashMap<String, Vec<String>>,
}

impl Lookups {
    /// Read in the caller's transaction, so it agrees with whatever else that reads.
    pub async fn read(db: &impl ConnectionTrait, tenant_id: &str) -> Result<Self, Error> {
        let products = TenantProducts::read(db, tenant_id).await?;
        let custom: Vec<String> = products
            .permission_groups
            .iter()
            .filter(|(_, group)| group.access_type == AccessType::Custom)
            .map(|(id, _)| id.clone())
            .collect();
        Ok(Self {
            catalog: catalog::all(db).await?,
            listed: products::listed_permissions(db, &custom).await?,
            products,
        })
    }
}

/// Call in the transaction of every change to a tenant's products, permission groups or
/// what they list.
pub(super) async fn changed(txn: &impl ConnectionTrait, tenant_id: &str) -> Result<(), Error> {
    bump()
        .filter(tenant::Column::Id.eq(tenant_id))
        .exec(txn)
        .await?;
    Ok(())
}

/// Call in the transaction of every change to the catalog, which every tenant's grants
/// draw on.
pub(super) async fn catalog_changed(txn: &impl ConnectionTrait) -> Result<(), Error> {
    bump().exec(txn).await?;
    Ok(())
}

fn bump() -> sea_orm::UpdateMany<tenant::Entity> {
    tenant::Entity::update_many().col_expr(
        tenant::Column::PermissionsVersion,
        Expr::col(tenant::Column::PermissionsVersion).add(1),
    )
}

/// The copies this process keeps, by tenant id.
#[derive(Default)]
pub struct LookupsCache {
    entries: Mutex<HashMap<String, (i64, Arc<Lookups>)>>,
}

impl LookupsCache {
    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<String, (i64, Arc<Lookups>)>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The tenant's copy, if it was read at `version`.
    pub(super) fn get(&self, tenant_id: &str, version: i64) -> Option<Arc<Lookups>> {
        self.entries()
            .get(tenant_id)
            .filter(|(kept, _)| *kept == version)
            .map(|(_, lookups)| Arc::clone(lookups))
    }

    /// Keeps what was read at `version`, unless a later version is kept already (a slower
    /// read must not replace a newer copy).
    pub(super) fn keep(&self, tenant_id: &str, version: i64, lookups: Arc<Lookups>) {
        let mut entries = self.entries();
        if entries
            .get(tenant_id)
            .is_some_and(|(kept, _)| *kept > version)
        {
            return;
        }
        if entries.len() >= TENANTS_KEPT && !entries.contains_key(tenant_id) {
            entries.clear();
        }
        entries.insert(tenant_id.to_owned(), (version, lookups));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_only_the_newest_version() {
        let cache = LookupsCache::default();
        cache.keep("t", 2, Arc::default());
        assert!(cache.get("t", 2).is_some());
        cache.keep("t", 1, Arc::default());
        assert!(
            cache.get("t", 1).is_none(),
            "an older read replaced a newer copy"
        );
        assert!(cache.get("t", 2).is_some());
        cache.keep("t", 3, Arc::default());
        assert!(cache.get("t", 2).is_none());
        assert!(cache.get("t", 3).is_some());
        assert!(cache.get("u", 3).is_none());
    }

    #[test]
    fn forgets_everything_rather_than_growing() {
        let cache = LookupsCache::default();
        for n in 0..TENANTS_KEPT {
            cache.keep(&n.to_string(), 0, Arc::default());
        }
        cache.keep("one more", 0, Arc::default());
        assert_eq!(cache.entries().len(), 1);
        assert!(cache.get("one more", 0).is_some());
    }
}
