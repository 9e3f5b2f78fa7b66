//! `/admin/v1/tenants/{tenantId}/groups/{groupId}/mapping` and `…/group-priority`: what each
//! synced group gives its members, and which mapped group wins for a product.

use poem::web::Data;
use poem_openapi::{
    ApiResponse, Object, OpenApi, Union,
    param::{Path, Query},
    payload::Json,
};

use super::{
    auth::AdminAuth,
    error::{AdminErrors, Mapping, Replacing, Single},
    json_body::AdminJson,
    previews::{self, PermissionPreview},
};
use crate::text::Text;
use crate::{
    AppState,
    api_tags::ApiTag,
    store::{
        self,
        mappings::MappingSpec,
        preview::{self, Proposal},
    },
};

/// What a synced group gives its members.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct GroupMapping {
    /// The synced group's id (its SCIM id).
    pub group_id: String,
    /// The synced group's display name.
    pub display_name: String,
    /// Members are organization admins (every permission of every product).
    pub is_organization_admin: bool,
    /// Members are billing managers.
    pub is_billing_manager: bool,
    /// The permission groups it gives, at most one per product, in id order.
    pub permission_group_ids: Vec<String>,
    /// Its place in the tenant's priority order, 1 first: for each product, a user gets the
    /// permission group of its highest-priority group that names one.
    pub priority: u64,
}

/// Body of `PUT …/groups/{groupId}/mapping`.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct GroupMappingInput {
    /// Members are organization admins; default `false`.
    pub is_organization_admin: Option<bool>,
    /// Members are billing managers; default `false`.
    pub is_billing_manager: Option<bool>,
    /// Permission groups of this tenant, at most one per product; default none.
    pub permission_group_ids: Option<Vec<Text>>,
}

/// The tenant's mapped groups in priority order.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct GroupPriority {
    /// Every mapped group's id exactly once, highest priority first.
    pub group_ids: Vec<Text>,
}

impl GroupPriority {
    fn of(group_ids: Vec<String>) -> Self {
        Self {
            group_ids: group_ids.into_iter().map(Text::new).collect(),
        }
    }
}

#[derive(ApiResponse)]
pub enum GroupMappingResponse {
    /// The mapping.
    #[oai(status = 200)]
    Ok(Json<GroupMapping>),
}

/// The stored mapping, or with `dryRun=true` what storing it would change.
#[derive(Debug, Clone, Union)]
#[oai(one_of)]
pub enum GroupMappingOutcome {
    Mapping(GroupMapping),
    Preview(PermissionPreview),
}

#[derive(ApiResponse)]
pub enum PutGroupMappingResponse {
    /// The mapping as stored; with `dryRun=true`, the preview instead.
    #[oai(status = 200)]
    Ok(Json<GroupMappingOutcome>),
}

#[derive(ApiResponse)]
pub enum DeleteGroupMappingResponse {
    /// With `dryRun=true`: what unmapping the group would change. Nothing was written.
    #[oai(status = 200)]
    Preview(Json<PermissionPreview>),
    /// The group gives nothing any more; the groups after it moved up.
    #[oai(status = 204)]
    Deleted,
}

#[derive(ApiResponse)]
pub enum GroupPriorityResponse {
    /// The priority order.
    #[oai(status = 200)]
    Ok(Json<GroupPriority>),
}

/// The stored order, or with `dryRun=true` what storing it would change.
#[derive(Debug, Clone, Union)]
#[oai(one_of)]
pub enum GroupPriorityOutcome {
    Order(GroupPriority),
    Preview(PermissionPreview),
}

#[derive(ApiResponse)]
pub enum PutGroupPriorityResponse {
    /// The priority order as stored; with `dryRun=true`, the preview instead.
    #[oai(status = 200)]
    Ok(Json<GroupPriorityOutcome>),
}

pub(super) fn to_api(mapping: store::mappings::Mapping) -> GroupMapping {
    GroupMapping {
        group_id: mapping.group.id,
        display_name: mapping.group.display_name,
        is_organization_admin: mapping.spec.is_organization_admin,
        is_billing_manager: mapping.spec.is_billing_manager,
        permission_group_ids: mapping.spec.permission_group_ids.into_iter().collect(),
        priority: mapping.priority,
    }
}

pub struct MappingsApi;

#[OpenApi(prefix_path = "/admin/v1/tenants", tag = "ApiTag::Permissions")]
impl MappingsApi {
    /// Get a group's mapping
    ///
    /// 404 when the group is unknown or not mapped.
    #[oai(
        path = "/:tenantId/groups/:groupId/mapping",
        method = "get",
        operation_id = "admin_get_group_mapping"
    )]
    async fn get_group_mapping(
        &self,
        state: Data<&AppState>,
        auth: AdminAuth,
        /// The tenant's id.
        #[oai(name = "tenantId")]
        tenant_id: Path<String>,
        /// The synced group's id.
        #[oai(name = "groupId")]
        group_id: Path<String>,
    ) -> Result<GroupMappingResponse, AdminErrors<Single>> {
        auth.0.require_tenant(&tenant_id)?;
        let mapping = store::mappings::get(state.db.reads(), &tenant_id, &group_id).await?;
        Ok(GroupMappingResponse::Ok(Json(to_api(mapping))))
    }

    /// Map a group
    ///
    /// Creates or replaces what the synced group gives its members. A newly mapped group
    /// goes last in the priority order. Unknown permission groups, or two of one product,
    /// are a 400 naming them; mapping more groups than the tenant may map is a 409
    /// (`limit_reached`). With `dryRun=true` nothing is written: the answer is a
    /// `PermissionPreview` of every member whose permissions would change.
    #[oai(
        path = "/:tenantId/groups/:groupId/mapping",
        method = "put",
        operation_id = "admin_put_group_mapping"
    )]
    async fn put_group_mapping(
        &self,
        state: Data<&AppState>,
        auth: AdminAuth,
        /// The tenant's id.
        #[oai(name = "tenantId")]
        tenant_id: Path<String>,
        /// The synced group's id.
        #[oai(name = "groupId")]
        group_id: Path<String>,
        /// Only preview what the change would do to users' permissions; write nothing.
        #[oai(name = "dryRun")]
        dry_run: Query<Option<bool>>,
        body: AdminJson<GroupMappingInput>,
    ) -> Result<PutGroupMappingResponse, AdminErrors<Mapping>> {
        auth.0.require_tenant(&tenant_id)?;
        let spec = MappingSpec {
            is_organization_admin: body.is_organization_admin.unwrap_or(false),
            is_billing_manager: body.is_billing_manager.unwrap_or(false),
            permission_group_ids: body
                .permission_group_ids
                .iter()
                .flatten()
                .map(|id| id.0.clone())
                .collect(),
        };
        let actor = auth.0.actor(state.clock.now());
        let outcome = if dry_run.unwrap_or(false) {
            let proposal = Proposal::Map {
                group_id: group_id.0,
                spec,
            };
            let preview = preview::preview(&state.db, actor, &tenant_id, proposal).await?;
            GroupMappingOutcome::Preview(previews::to_api(preview))
        } else {
            let mapping =
                store::mappings::put(&state.db, actor, &tenant_id, &group_id, spec).await?;
            GroupMappingOutcome::Mapping(to_api(mapping))
        };
        Ok(PutGroupMappingResponse::Ok(Json(outcome)))
    }

    /// Unmap a group
    ///
    /// With `dryRun=true` nothing is written: the answer (200) previews every member whose
    /// permissions would change.
    #[oai(
        path = "/:tenantId/groups/:groupId/mapping",
        method = "delete",
        operation_id = "admin_delete_group_mapping"
    )]
    async fn delete_group_mapping(
        &self,
        state: Data<&AppState>,
        auth: AdminAuth,
        /// The tenant's id.
        #[oai(name = "tenantId")]
        tenant_id: Path<String>,
        /// The synced group's id.
        #[oai(name = "groupId")]
        group_id: Path<String>,
        /// Only preview what the change would do to users' permissions; write nothing.
        #[oai(name = "dryRun")]
        dry_run: Query<Option<bool>>,
    ) -> Result<DeleteGroupMappingResponse, AdminErrors<Single>> {
        auth.0.require_tenant(&tenant_id)?;
        let actor = auth.0.actor(state.clock.now());
        if dry_run.unwrap_or(false) {
            let proposal = Proposal::Unmap {
                group_id: group_id.0,
            };
            let preview = preview::preview(&state.db, actor, &tenant_id, proposal).await?;
            return Ok(DeleteGroupMappingResponse::Preview(Json(previews::to_api(
                preview,
            ))));
        }
        store::mappings::delete(&state.db, actor, &tenant_id, &group_id).await?;
        Ok(DeleteGroupMappingResponse::Deleted)
    }

    /// Get the priority order
    #[oai(
        path = "/:tenantId/group-priority",
        method = "get",
        operation_id = "admin_get_group_priority"
    )]
    async fn get_group_priority(
        &self,
        state: Data<&AppState>,
        auth: AdminAuth,
        /// The tenant's id.
        #[oai(name = "tenantId")]
        tenant_id: Path<String>,
    ) -> Result<GroupPriorityResponse, AdminErrors<Single>> {
        auth.0.require_tenant(&tenant_id)?;
        store::tenants::get(state.db.reads(), &tenant_id).await?;
        let group_ids = store::mappings::order(state.db.reads(), &tenant_id).await?;
        Ok(GroupPriorityResponse::Ok(Json(GroupPriority::of(
            group_ids,
        ))))
    }

    /// Set the priority order
    ///
    /// The body lists every mapped group exactly once, highest priority first; a missing,
    /// duplicate or unknown id is a 400 that says which. With `dryRun=true` nothing is
    /// written: the answer is a `PermissionPreview` of every user whose permissions would
    /// change.
    #[oai(
        path = "/:tenantId/group-priority",
        method = "put",
        operation_id = "admin_put_group_priority"
    )]
    async fn put_group_priority(
        &self,
        state: Data<&AppState>,
        auth: AdminAuth,
        /// The tenant's id.
        #[oai(name = "tenantId")]
        tenant_id: Path<String>,
        /// Only preview what the change would do to users' permissions; write nothing.
        #[oai(name = "dryRun")]
        dry_run: Query<Option<bool>>,
        body: AdminJson<GroupPriority>,
    ) -> Result<PutGroupPriorityResponse, AdminErrors<Replacing>> {
        auth.0.require_tenant(&tenant_id)?;
        let actor = auth.0.actor(state.clock.now());
        let group_ids: Vec<String> = body.0.group_ids.into_iter().map(String::from).collect();
        let outcome = if dry_run.unwrap_or(false) {
            let proposal = Proposal::Reorder { group_ids };
            let preview = preview::preview(&state.db, actor, &tenant_id, proposal).await?;
            GroupPriorityOutcome::Preview(previews::to_api(preview))
        } else {
            let group_ids =
                store::mappings::reorder(&state.db, actor, &tenant_id, group_ids).await?;
            GroupPriorityOutcome::Order(GroupPriority::of(group_ids))
        };
        Ok(PutGroupPriorityResponse::Ok(Json(outcome)))
    }
}
