//! `user.permissions_changed`: a SCIM write that can change what users may do (a member
//! added to or removed from a mapped group, a mapped group deleted, a user deactivated,
//! reactivated or deleted) reads the users' holdings before and after itself, in its own
//! transaction, and records an event for each user whose holding differs, with both. A
//! tenant that maps no group, or a group that is not mapped, costs one indexed read.

use std::{
    collections::{BTreeMap, BTreeSet},
    future::Future,
};

use chrono::{DateTime, Utc};
use entity::group_mapping;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use serde_json::{Value, json};

use super::{
    effective::{self, Holding, Scope},
    events::{self, Change},
    tenants,
};
use crate::error::Error;

/// Users' holdings taken before a change.
pub struct Watch {
    tenant_id: String,
    watched: Watched,
    before: BTreeMap<String, Holding>,
}

/// Whose holdings a change can alter.
pub enum Watched {
    /// These users (a SCIM write).
    Users(Vec<String>),
    /// The members of a group (its mapping changes).
    MembersOf(String),
    /// Everyone in a mapped group (the priority order changes).
    Tenant,
}

impl Watched {
    fn scope(&self) -> Scope<'_> {
        match self {
            Self::Users(users) => Scope::Users(users),
            Self::MembersOf(group_id) => Scope::MembersOf(group_id),
            Self::Tenant => Scope::Tenant,
        }
    }
}

/// Whether the tenant maps any group.
async fn maps_any(txn: &impl ConnectionTrait, tenant_id: &str) -> Result<bool, Error> {
    let mapped: Option<String> = group_mapping::Entity::find()
        .select_only()
        .column(group_mapping::Column::GroupId)
        .filter(group_mapping::Column::TenantId.eq(tenant_id))
        .into_tuple()
        .one(txn)
        .await?;
    Ok(mapped.is_some())
}

/// Whether the group is mapped.
pub async fn is_mapped(txn: &impl ConnectionTrait, group_id: &str) -> Result<bool, Error> {
    Ok(group_mapping::Entity::find_by_id(group_id.to_owned())
        .one(txn)
        .await?
        .is_some())
}

/// Takes the holdings of `users` before a change; `None` when the tenant maps no group
/// (nothing a SCIM write does can then change a permission).
pub async fn watch(
    txn: &impl ConnectionTrait,
    tenant_id: &str,
    users: Vec<String>,
) -> Result<Option<Watch>, Error> {
    if users.is_empty() || !maps_any(txn, tenant_id).await? {
        return Ok(None);
    }
    watch_all(txn, tenant_id, Watched::Users(users))
        .await
        .map(Some)
}

/// Takes the holdings of everyone `watched` names before a change (an admin's change to
/// mappings, which the caller has locked the tenant for).
pub async fn watch_all(
    txn: &impl ConnectionTrait,
    tenant_id: &str,
    watched: Watched,
) -> Result<Watch, Error> {
    let before = effective::holding_rows(txn, tenant_id, watched.scope())
        .await?
        .resolve();
    Ok(Watch {
        tenant_id: tenant_id.to_owned(),
        watched,
        before,
    })
}

/// Runs `change`, an admin's edit of what mapped groups grant (a product or permission group
/// changed or deleted), in the tenant's lock, and records a `user.permissions_changed` for
/// each of its users whose holding the edit changed, as a mapping change does.
pub async fn around_grants<T>(
    txn: &impl ConnectionTrait,
    tenant_id: &str,
    at: DateTime<Utc>,
    change: impl Future<Output = Result<T, Error>>,
) -> Result<T, Error> {
    tenants::lock(txn, tenant_id).await?;
    let watch = watch_all(txn, tenant_id, Watched::Tenant).await?;
    let done = change.await?;
    events::record(txn, tenant_id, watch.changes(txn).await?, at).await?;
    Ok(done)
}

/// `around_grants` for an edit of the catalog, which every tenant's `full` and `readOnly`
/// permission groups and its organization admins follow: the tenants that map a group are
/// watched (their rows already locked, with every tenant's, by
/// `grant_lookups::catalog_changed`). Every tenant's changes are read before any is stored,
/// so that each tenant's event lock is taken last and held only to the commit.
pub async fn around_catalog<T>(
    txn: &impl ConnectionTrait,
    at: DateTime<Utc>,
    change: impl Future<Output = Result<T, Error>>,
) -> Result<T, Error> {
    let tenants: BTreeSet<String> = group_mapping::Entity::find()
        .select_only()
        .column(group_mapping::Column::TenantId)
        .distinct()
        .into_tuple()
        .all(txn)
        .await?
        .into_iter()
        .collect();
    let mut watches = Vec::with_capacity(tenants.len());
    for tenant_id in &tenants {
        watches.push(watch_all(txn, tenant_id, Watched::Tenant).await?);
    }
    let done = change.await?;
    let mut changed = Vec::with_capacity(watches.len());
    for watch in watches {
        let tenant_id = watch.tenant_id.clone();
        changed.push((tenant_id, watch.changes(txn).await?));
    }
    for (tenant_id, changes) in changed {
        events::record(txn, &tenant_id, changes, at).await?;
    }
    Ok(done)
}

/// `watch`, for a change to the members of `group_id`: only a mapped group's members can
/// gain or lose anything.
pub async fn watch_members(
    txn: &impl ConnectionTrait,
    tenant_id: &str,
    group_id: &str,
    users: Vec<String>,
) -> Result<Option<Watch>, Error> {
    if users.is_empty() || !is_mapped(txn, group_id).await? {
        return Ok(None);
    }
    watch(txn, tenant_id, users).await
}

impl Watch {
    /// A `user.permissions_changed` for each watched user whose holding differs now.
    pub async fn changes(self, txn: &impl ConnectionTrait) -> Result<Vec<Change>, Error> {
        let mut after = effective::holding_rows(txn, &self.tenant_id, self.watched.scope())
            .await?
            .resolve();
        let mut before = self.before;
        // Users holding nothing on either side hold the same: only those in a map count.
        let users: BTreeSet<String> = before.keys().chain(after.keys()).cloned().collect();
        Ok(users
            .into_iter()
            .filter_map(|user_id| {
                let was = before.remove(&user_id).unwrap_or_default();
                let is = after.remove(&user_id).unwrap_or_default();
                (permissions(&was) != permissions(&is)).then(|| {
                    let data = json!({ "before": permissions(&was), "after": permissions(&is) });
                    Change::user("user.permissions_changed", &user_id, data)
                })
            })
            .collect())
    }
}

/// What a holding grants, as events show it: the roles, and per product id its name, the
/// permission group and the permissions.
fn permissions(holding: &Holding) -> Value {
    let products: serde_json::Map<String, Value> = holding
        .products
        .iter()
        .map(|(id, held)| {
            let product = json!({
                "productName": held.product_name,
                "permissionGroupId": held.permission_group_id,
                "permissions": held.permissions,
            });
            (id.clone(), product)
        })
        .collect();
    json!({
        "isOrganizationAdmin": holding.organization_admin,
        "isBillingManager": holding.billing_manager,
        "products": products,
    })
}
