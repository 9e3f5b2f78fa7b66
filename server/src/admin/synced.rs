//! `/admin/v1/tenants/{tenantId}/groups` and `…/users`: what the identity provider synced,
//! as an admin browses it when mapping groups and answering "why can't Ada do this?".

use poem::web::Data;
use poem_openapi::{
    ApiResponse, Object, OpenApi,
    param::{Path, Query},
    payload::Json,
};

use super::{
    auth::AdminAuth,
    error::{AdminErrors, Listing},
    mappings::{self, GroupMapping},
    validate,
};
use crate::{
    AppState,
    api_tags::ApiTag,
    store::{
        self,
        synced::{GroupFilter, UserFilter},
    },
};

/// A group synced over SCIM.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct SyncedGroup {
    /// Its SCIM id.
    pub id: String,
    /// Its display name.
    pub display_name: String,
    /// The identity provider's id for it, if it sent one.
    #[oai(skip_serializing_if_is_none)]
    pub external_id: Option<String>,
    /// How many users are in it.
    pub member_count: u64,
    // What it gives its members; absent when it is not mapped.
    #[oai(skip_serializing_if_is_none)]
    pub mapping: Option<GroupMapping>,
}

/// A page of synced groups.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct SyncedGroupList {
    /// Oldest first.
    pub items: Vec<SyncedGroup>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[oai(skip_serializing_if_is_none)]
    pub next_cursor: Option<String>,
}

/// A user synced over SCIM.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct SyncedUser {
    /// Its SCIM id.
    pub id: String,
    /// Its sign-in name.
    pub user_name: String,
    /// Its display name, if it has one.
    #[oai(skip_serializing_if_is_none)]
    pub display_name: Option<String>,
    /// The identity provider's id for it, if it sent one.
    #[oai(skip_serializing_if_is_none)]
    pub external_id: Option<String>,
    /// Whether the identity provider has it active.
    pub active: bool,
    /// How many groups it is in.
    pub group_count: u64,
}

/// A page of synced users.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct SyncedUserList {
    /// Oldest first.
    pub items: Vec<SyncedUser>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[oai(skip_serializing_if_is_none)]
    pub next_cursor: Option<String>,
}

#[derive(ApiResponse)]
pub enum SyncedGroupsResponse {
    /// The groups.
    #[oai(status = 200)]
    Ok(Json<SyncedGroupList>),
}

#[derive(ApiResponse)]
pub enum SyncedUsersResponse {
    /// The users.
    #[oai(status = 200)]
    Ok(Json<SyncedUserList>),
}

pub struct SyncedApi;

#[OpenApi(prefix_path = "/admin/v1/tenants", tag = "ApiTag::Permissions")]
impl SyncedApi {
    /// List synced groups
    ///
    /// With member counts and mappings.
    #[oai(
        path = "/:tenantId/groups",
        method = "get",
        operation_id = "admin_list_synced_groups"
    )]
    #[expect(clippy::too_many_arguments, reason = "one per filter")]
    async fn list_synced_groups(
        &self,
        state: Data<&AppState>,
        auth: AdminAuth,
        /// The tenant's id.
        #[oai(name = "tenantId")]
        tenant_id: Path<String>,
        /// Only groups whose display name contains this, regardless of case.
        name: Query<Option<String>>,
        /// Only mapped groups.
        mapped: Query<Option<bool>>,
        /// Most groups in the page (1 to 1000, default 100).
        #[oai(validator(minimum(value = "1"), maximum(value = "1000")))]
        limit: Query<Option<u32>>,
        /// `nextCursor` of the previous page; opaque.
        cursor: Query<Option<String>>,
    ) -> Result<SyncedGroupsResponse, AdminErrors<Listing>> {
        auth.0.require_tenant(&tenant_id)?;
        let limit = validate::page_limit(limit.0)?;
        let filter = GroupFilter {
            name: name.0,
            mapped_only: mapped.0.unwrap_or(false),
        };
        let (groups, next_cursor) = store::synced::groups(
            state.db.reads(),
            &tenant_id,
            &filter,
            cursor.as_deref(),
            limit,
        )
        .await?;
        let items = groups
            .into_iter()
            .map(|group| SyncedGroup {
                id: group.row.id,
                display_name: group.row.display_name,
                external_id: group.row.external_id,
                member_count: group.member_count,
                mapping: group.mapping.map(mappings::to_api),
            })
            .collect();
        Ok(SyncedGroupsResponse::Ok(Json(SyncedGroupList {
            items,
            next_cursor,
        })))
    }

    /// List synced users
    ///
    /// With group counts.
    #[oai(
        path = "/:tenantId/users",
        method = "get",
        operation_id = "admin_list_synced_users"
    )]
    #[expect(clippy::too_many_arguments, reason = "one per filter")]
    async fn list_synced_users(
        &self,
        state: Data<&AppState>,
        auth: AdminAuth,
        /// The tenant's id.
        #[oai(name = "tenantId")]
        tenant_id: Path<String>,
        /// Only users whose userName or display name contains this, regardless of case.
        name: Query<Option<String>>,
        /// Only active (`true`) or inactive (`false`) users.
        active: Query<Option<bool>>,
        /// Only members of this synced group.
        #[oai(name = "groupId")]
        group_id: Query<Option<String>>,
        /// Most users in the page (1 to 1000, default 100).
        #[oai(validator(minimum(value = "1"), maximum(value = "1000")))]
        limit: Query<Option<u32>>,
        /// `nextCursor` of the previous page; opaque.
        cursor: Query<Option<String>>,
    ) -> Result<SyncedUsersResponse, AdminErrors<Listing>> {
        auth.0.require_tenant(&tenant_id)?;
        let limit = validate::page_limit(limit.0)?;
        let filter = UserFilter {
            name: name.0,
            active: active.0,
            group_id: group_id.0,
        };
        let (users, next_cursor) = store::synced::users(
            state.db.reads(),
            &tenant_id,
            &filter,
            cursor.as_deref(),
            limit,
        )
        .await?;
        let items = users
            .into_iter()
            .map(|user| SyncedUser {
                id: user.row.id,
                user_name: user.row.user_name,
                display_name: user.row.display_name,
                external_id: user.row.external_id,
                active: user.row.active,
                group_count: user.group_count,
            })
            .collect();
        Ok(SyncedUsersResponse::Ok(Json(SyncedUserList {
            items,
            next_cursor,
        })))
    }
}
