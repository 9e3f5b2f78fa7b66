//! What a mapping or priority change would do to users' permissions (`?dryRun=true`).

use poem_openapi::{Enum, Object};

use crate::store::preview::{Preview, Role};

/// A role a change gives or takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "camelCase")]
pub enum PermissionRole {
    /// Every permission of every product.
    OrganizationAdmin,
    /// Billing manager.
    BillingManager,
}

/// How a user's grant in one product would change.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct ProductPermissionChange {
    /// The product's id.
    pub product_id: String,
    /// The product's name.
    pub product_name: String,
    /// The permission group the user holds there now, if any.
    #[oai(skip_serializing_if_is_none)]
    pub permission_group_before: Option<String>,
    /// The permission group the user would hold there, if any.
    #[oai(skip_serializing_if_is_none)]
    pub permission_group_after: Option<String>,
    /// Permissions the user would gain there, in name order.
    pub gained: Vec<String>,
    /// Permissions the user would lose there, in name order.
    pub lost: Vec<String>,
}

/// How one user's permissions would change.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct UserPermissionChange {
    /// The user's SCIM id.
    pub user_id: String,
    /// The user's sign-in name.
    pub user_name: String,
    /// Roles the user would gain.
    pub roles_gained: Vec<PermissionRole>,
    /// Roles the user would lose.
    pub roles_lost: Vec<PermissionRole>,
    /// The products whose grant would change, by name.
    pub products: Vec<ProductPermissionChange>,
}

/// The answer to `?dryRun=true`: what the change would do. Nothing was written.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct PermissionPreview {
    /// Always `true`: this is a preview and nothing changed.
    pub dry_run: bool,
    /// Active users the change could touch: the group's members, or for a priority change
    /// every member of a mapped group.
    pub users_considered: u64,
    /// The users whose permissions would change, by user name; empty if none would.
    pub changes: Vec<UserPermissionChange>,
}

fn role(role: Role) -> PermissionRole {
    match role {
        Role::OrganizationAdmin => PermissionRole::OrganizationAdmin,
        Role::BillingManager => PermissionRole::BillingManager,
    }
}

pub fn to_api(preview: Preview) -> PermissionPreview {
    PermissionPreview {
        dry_run: true,
        users_considered: u64::try_from(preview.users_considered).unwrap_or(u64::MAX),
        changes: preview
            .shifts
            .into_iter()
            .map(|shift| UserPermissionChange {
                user_id: shift.user_id,
                user_name: shift.user_name,
                roles_gained: shift.roles_gained.into_iter().map(role).collect(),
                roles_lost: shift.roles_lost.into_iter().map(role).collect(),
                products: shift
                    .products
                    .into_iter()
                    .map(|product| ProductPermissionChange {
                        product_id: product.product_id,
                        product_name: product.product_name,
                        permission_group_before: product.permission_group_before,
                        permission_group_after: product.permission_group_after,
                        gained: product.gained,
                        lost: product.lost,
                    })
                    .collect(),
            })
            .collect(),
    }
}
