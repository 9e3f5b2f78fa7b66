//! What a synced user may do, and why: the read the host product makes on every sign-in.
//! Computed from the database on each call (see `store::effective`), so nothing is stale.

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::{
    ApiResponse, Enum, Object, OpenApi,
    param::{Path, Query},
    payload::Json,
};
use serde::Serialize;

use super::{
    auth::AdminAuth,
    direct_json::{self, DirectJson},
    error::{AdminError, AdminErrors, Finding, Listing, Single},
    validate,
};
use crate::{
    AppState,
    api_tags::ApiTag,
    error::Error,
    store::{
        effective::{self, Nothing, UserKey, Via},
        groups,
    },
};

/// A mapped group a grant comes from.
#[derive(Debug, Clone, Object, Serialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct GrantSource {
    /// The synced group's id.
    pub group_id: String,
    /// The synced group's display name.
    pub display_name: String,
    /// Its place in the tenant's priority order, 1 first.
    pub priority: u64,
    /// Since when the user is a member of it; absent for memberships recorded before this
    /// was kept.
    #[oai(skip_serializing_if_is_none)]
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "direct_json::rfc3339::option"
    )]
    pub member_since: Option<DateTime<Utc>>,
    /// The request that added the user to the group: the `requestId` of its provisioning
    /// log entry and of its `group.member_added` event. Only with `trace=true`, and only
    /// where that request is known.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub added_by_request_id: Option<String>,
}

/// A lower-priority group that named another permission group for the product.
#[derive(Debug, Clone, Object, Serialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct OutrankedGrant {
    /// The synced group's id.
    pub group_id: String,
    /// The synced group's display name.
    pub display_name: String,
    /// Its place in the tenant's priority order, 1 first.
    pub priority: u64,
    /// Since when the user is a member of it (absent if unknown).
    #[oai(skip_serializing_if_is_none)]
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "direct_json::rfc3339::option"
    )]
    pub member_since: Option<DateTime<Utc>>,
    /// The request that added the user to the group: the `requestId` of its provisioning
    /// log entry and of its `group.member_added` event. Only with `trace=true`, and only
    /// where that request is known.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub added_by_request_id: Option<String>,
    /// The permission group it names for the product.
    pub permission_group_id: String,
}

/// What the user may do in one product.
#[derive(Debug, Clone, Object, Serialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct ProductPermissions {
    /// The product's id.
    pub product_id: String,
    /// The product's name.
    pub product_name: String,
    /// The permission group the user gets here; absent for an organization admin whose
    /// groups name none for this product.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permission_group_id: Option<String>,
    /// That permission group's name.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permission_group_name: Option<String>,
    /// The permissions the user holds here, in name order (every catalog permission for an
    /// organization admin).
    pub permissions: Vec<String>,
    // The group that gave them (a `$ref`: a description would wrap it in `allOf`).
    pub granted_by: GrantSource,
    /// Lower-priority groups that named a permission group for this product too.
    pub outranked: Vec<OutrankedGrant>,
}

/// Why a user holds no permission at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, Serialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub enum NoPermissionReason {
    /// The identity provider deactivated the user (`active: false`).
    Inactive,
    /// The user is in no mapped group.
    NoMappedGroups,
}

/// A user's effective permissions, with where each comes from.
#[derive(Debug, Clone, Object, Serialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct EffectivePermissions {
    /// The user's SCIM id.
    pub user_id: String,
    /// The user's sign-in name.
    pub user_name: String,
    /// The identity provider's id for the user, if it sent one.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// Whether the identity provider has the user active.
    pub active: bool,
    /// Organization admin: every permission of every product.
    pub is_organization_admin: bool,
    /// Billing manager.
    pub is_billing_manager: bool,
    /// The user's mapped groups that make it an organization admin, by priority.
    pub organization_admin_via: Vec<GrantSource>,
    /// The user's mapped groups that make it a billing manager, by priority.
    pub billing_manager_via: Vec<GrantSource>,
    /// The products the user holds permissions in, by name.
    pub products: Vec<ProductPermissions>,
    // Present when the user holds nothing at all (a `$ref`, see above).
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<NoPermissionReason>,
}

/// A user holding a permission group of a product.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct ProductMember {
    /// The user's SCIM id.
    pub user_id: String,
    /// The user's sign-in name.
    pub user_name: String,
    /// The permission group it holds here.
    pub permission_group_id: String,
    /// That permission group's name.
    pub permission_group_name: String,
    // The group that gives it (a `$ref`, see above).
    pub granted_by: GrantSource,
}

/// A page of a product's members.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct ProductMemberList {
    /// In user id order.
    pub items: Vec<ProductMember>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[oai(skip_serializing_if_is_none)]
    pub next_cursor: Option<String>,
}

#[derive(ApiResponse)]
pub enum ProductMembersResponse {
    /// Who holds which permission group of the product.
    #[oai(status = 200)]
    Ok(Json<ProductMemberList>),
}

#[derive(ApiResponse)]
pub enum EffectivePermissionsResponse {
    /// The user's effective permissions.
    #[oai(status = 200)]
    Ok(DirectJson<EffectivePermissions>),
}

fn source(via: Via) -> GrantSource {
    GrantSource {
        group_id: via.group_id,
        display_name: via.display_name,
        priority: via.priority,
        member_since: via.member_since,
        added_by_request_id: None,
    }
}

fn to_api(effective: effective::Effective) -> EffectivePermissions {
    EffectivePermissions {
        is_organization_admin: !effective.organization_admin_via.is_empty(),
        is_billing_manager: !effective.billing_manager_via.is_empty(),
        organization_admin_via: effective
            .organization_admin_via
            .into_iter()
            .map(source)
            .collect(),
        billing_manager_via: effective
            .billing_manager_via
            .into_iter()
            .map(source)
            .collect(),
        products: effective
            .products
            .into_iter()
            .map(|grant| ProductPermissions {
                product_id: grant.product_id,
                product_name: grant.product_name,
                permission_group_id: grant.permission_group_id,
                permission_group_name: grant.permission_group_name,
                permissions: grant.permissions,
                granted_by: source(grant.granted_by),
                outranked: grant
                    .outranked
                    .into_iter()
                    .map(|(via, permission_group_id)| OutrankedGrant {
                        group_id: via.group_id,
                        display_name: via.display_name,
                        priority: via.priority,
                        member_since: via.member_since,
                        added_by_request_id: None,
                        permission_group_id,
                    })
                    .collect(),
            })
            .collect(),
        reason: effective.nothing.map(|nothing| match nothing {
            Nothing::Inactive => NoPermissionReason::Inactive,
            Nothing::NoMappedGroups => NoPermissionReason::NoMappedGroups,
        }),
        user_id: effective.user.id,
        user_name: effective.user.user_name,
        external_id: effective.user.external_id,
        active: effective.user.active,
    }
}

/// Names, on each grant of `explained`, the request that added the membership it rests on.
async fn trace(
    state: &AppState,
    tenant_id: &str,
    explained: &mut EffectivePermissions,
) -> Result<(), Error> {
    let mut group_ids: Vec<&str> = Vec::new();
    group_ids.extend(
        explained
            .organization_admin_via
            .iter()
            .map(|via| via.group_id.as_str()),
    );
    group_ids.extend(
        explained
            .billing_manager_via
            .iter()
            .map(|via| via.group_id.as_str()),
    );
    for product in &explained.products {
        group_ids.push(&product.granted_by.group_id);
        group_ids.extend(product.outranked.iter().map(|via| via.group_id.as_str()));
    }
    group_ids.sort_unstable();
    group_ids.dedup();
    let causes =
        groups::added_by(state.db.reads(), tenant_id, &explained.user_id, &group_ids).await?;
    let cause = |group: &str| causes.get(group).cloned();
    for via in explained
        .organization_admin_via
        .iter_mut()
        .chain(explained.billing_manager_via.iter_mut())
    {
        via.added_by_request_id = cause(&via.group_id);
    }
    for product in &mut explained.products {
        product.granted_by.added_by_request_id = cause(&product.granted_by.group_id);
        for via in &mut product.outranked {
            via.added_by_request_id = cause(&via.group_id);
        }
    }
    Ok(())
}

pub struct UserPermissionsApi;

#[OpenApi(prefix_path = "/admin/v1/tenants", tag = "ApiTag::Permissions")]
impl UserPermissionsApi {
    /// Get a user's effective permissions
    ///
    /// Computed at each call from the user's groups, their mappings and the priority order:
    /// every change made over SCIM or here counts at once, on every replica.
    #[oai(
        path = "/:tenantId/users/:userId/permissions",
        method = "get",
        operation_id = "admin_get_user_permissions"
    )]
    async fn get_user_permissions(
        &self,
        state: Data<&AppState>,
        auth: AdminAuth,
        /// The tenant's id.
        #[oai(name = "tenantId")]
        tenant_id: Path<String>,
        /// The user's SCIM id.
        #[oai(name = "userId")]
        user_id: Path<String>,
        /// Also name, on each grant, the SCIM request that added the membership it rests
        /// on (`addedByRequestId`): the causal trace, one more read.
        trace: Query<Option<bool>>,
    ) -> Result<EffectivePermissionsResponse, AdminErrors<Single>> {
        auth.0.require_tenant(&tenant_id)?;
        let effective = effective::of_user(&state.db, &tenant_id, UserKey::Id(&user_id)).await?;
        let mut explained = to_api(effective);
        if trace.0 == Some(true) {
            self::trace(&state, &tenant_id, &mut explained).await?;
        }
        Ok(EffectivePermissionsResponse::Ok(DirectJson(explained)))
    }

    /// Find a user's effective permissions
    ///
    /// The same as by id, for a user the host product knows by sign-in name (`userName`,
    /// compared without case) or by the identity provider's id (`externalId`): give exactly
    /// one.
    #[oai(
        path = "/:tenantId/user-permissions",
        method = "get",
        operation_id = "admin_find_user_permissions"
    )]
    async fn find_user_permissions(
        &self,
        state: Data<&AppState>,
        auth: AdminAuth,
        /// The tenant's id.
        #[oai(name = "tenantId")]
        tenant_id: Path<String>,
        /// The user's `userName`.
        #[oai(name = "userName")]
        user_name: Query<Option<String>>,
        /// The user's `externalId`.
        #[oai(name = "externalId")]
        external_id: Query<Option<String>>,
    ) -> Result<EffectivePermissionsResponse, AdminErrors<Finding>> {
        auth.0.require_tenant(&tenant_id)?;
        let key = match (user_name.as_deref(), external_id.as_deref()) {
            (Some(name), None) => UserKey::UserName(name),
            (None, Some(id)) => UserKey::ExternalId(id),
            _ => {
                return Err(
                    AdminError::invalid("give exactly one of userName and externalId").into(),
                );
            }
        };
        let effective = effective::of_user(&state.db, &tenant_id, key).await?;
        Ok(EffectivePermissionsResponse::Ok(DirectJson(to_api(
            effective,
        ))))
    }

    /// List a product's members
    ///
    /// The active users that hold one of the product's permission groups, each with the one
    /// the priority rule gives it and the group it comes through. Organization admins hold
    /// every product without being listed here, unless a group of theirs names a permission
    /// group of it.
    #[oai(
        path = "/:tenantId/products/:productId/members",
        method = "get",
        operation_id = "admin_list_product_members"
    )]
    async fn list_product_members(
        &self,
        state: Data<&AppState>,
        auth: AdminAuth,
        /// The tenant's id.
        #[oai(name = "tenantId")]
        tenant_id: Path<String>,
        /// The product's id.
        #[oai(name = "productId")]
        product_id: Path<String>,
        /// Most members in the page (1 to 1000, default 100).
        #[oai(validator(minimum(value = "1"), maximum(value = "1000")))]
        limit: Query<Option<u32>>,
        /// `nextCursor` of the previous page; opaque.
        cursor: Query<Option<String>>,
    ) -> Result<ProductMembersResponse, AdminErrors<Listing>> {
        auth.0.require_tenant(&tenant_id)?;
        let limit = validate::page_limit(limit.0)?;
        let (members, next_cursor) = effective::product_members(
            state.db.reads(),
            &tenant_id,
            &product_id,
            cursor.as_deref(),
            limit,
        )
        .await?;
        let items = members
            .into_iter()
            .map(|member| ProductMember {
                user_id: member.user_id,
                user_name: member.user_name,
                permission_group_id: member.permission_group_id,
                permission_group_name: member.permission_group_name,
                granted_by: source(member.granted_by),
            })
            .collect();
        Ok(ProductMembersResponse::Ok(Json(ProductMemberList {
            items,
            next_cursor,
        })))
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use poem_openapi::types::ToJSON;

    use super::*;

    fn source(group: &str, member_since: Option<DateTime<Utc>>) -> GrantSource {
        GrantSource {
            group_id: format!("{group}-id"),
            display_name: group.to_owned(),
            priority: 3,
            member_since,
            added_by_request_id: member_since.map(|_| "r1".to_owned()),
        }
    }

    /// `DirectJson` writes these with serde; the schema and clients follow poem-openapi's
    /// writing: both must give the same JSON, with every optional field present and absent.
    #[test]
    fn same_as_poem_openapi() {
        let since = Utc.with_ymd_and_hms(2026, 11, 29, 8, 30, 5).unwrap()
            + chrono::Duration::microseconds(123_456);
        let full = EffectivePermissions {
            user_id: "u1".to_owned(),
            user_name: "ada@example.org".to_owned(),
            external_id: Some("ext \"1\" é".to_owned()),
            active: true,
            is_organization_admin: true,
            is_billing_manager: false,
            organization_admin_via: vec![source("Owners", Some(since)), source("Old", None)],
            billing_manager_via: Vec::new(),
            products: vec![
                ProductPermissions {
                    product_id: "p1".to_owned(),
                    product_name: "Main".to_owned(),
                    permission_group_id: Some("pg1".to_owned()),
                    permission_group_name: Some("Developers".to_owned()),
                    permissions: vec!["canViewSdkKey".to_owned()],
                    granted_by: source("Developers", Some(since)),
                    outranked: vec![
                        OutrankedGrant {
                            group_id: "g2".to_owned(),
                            display_name: "Readers".to_owned(),
                            priority: 7,
                            member_since: Some(since),
                            added_by_request_id: Some("r2".to_owned()),
                            permission_group_id: "pg2".to_owned(),
                        },
                        OutrankedGrant {
                            group_id: "g3".to_owned(),
                            display_name: "Others".to_owned(),
                            priority: 9,
                            member_since: None,
                            added_by_request_id: None,
                            permission_group_id: "pg3".to_owned(),
                        },
                    ],
                },
                ProductPermissions {
                    product_id: "p2".to_owned(),
                    product_name: "Docs".to_owned(),
                    permission_group_id: None,
                    permission_group_name: None,
                    permissions: Vec::new(),
                    granted_by: source("Owners", None),
                    outranked: Vec::new(),
                },
            ],
            reason: None,
        };
        let nothing = EffectivePermissions {
            external_id: None,
            active: false,
            is_organization_admin: false,
            organization_admin_via: Vec::new(),
            products: Vec::new(),
            reason: Some(NoPermissionReason::Inactive),
            ..full.clone()
        };
        let no_groups = EffectivePermissions {
            reason: Some(NoPermissionReason::NoMappedGroups),
            ..nothing.clone()
        };
        for answer in [full, nothing, no_groups] {
            assert_eq!(
                serde_json::to_value(&answer).unwrap(),
                answer.to_json().unwrap()
            );
        }
    }
}
