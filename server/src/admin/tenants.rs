//! `/admin/v1/tenants`: create, list, read and delete customer organizations.

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::{
    ApiResponse, Object, OpenApi,
    param::{Path, Query},
    payload::Json,
};

use super::{
    auth::{AdminAuth, AdminScope},
    error::{AdminErrors, Creation, Listing, Single},
    json_body::AdminJson,
    validate,
};
use crate::text::{Name, Text};
use crate::{AppState, api_tags::ApiTag, store};

/// A customer organization.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct Tenant {
    /// Server-assigned id; part of the tenant's SCIM URL.
    pub id: String,
    /// Display name, unique among tenants regardless of case.
    pub name: String,
    /// The URL to configure as "Tenant URL" in the identity provider.
    pub scim_url: String,
    /// When the tenant was created.
    pub created_at: DateTime<Utc>,
}

/// A page of tenants.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct TenantList {
    /// Oldest first.
    pub items: Vec<Tenant>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[oai(skip_serializing_if_is_none)]
    pub next_cursor: Option<String>,
}

/// Body of `POST /admin/v1/tenants`.
#[derive(Debug, Clone, Object)]
pub struct CreateTenant {
    /// 1 to 200 characters after trimming, unique regardless of case.
    pub name: Text<Name>,
}

#[derive(ApiResponse)]
pub enum CreateTenantResponse {
    /// The tenant was created.
    #[oai(status = 201)]
    Created(
        Json<Tenant>,
        /// Absolute URL of the new tenant in this API.
        #[oai(header = "Location")]
        String,
    ),
}

#[derive(ApiResponse)]
pub enum ListTenantsResponse {
    /// The tenants this key may see.
    #[oai(status = 200)]
    Ok(Json<TenantList>),
}

#[derive(ApiResponse)]
pub enum GetTenantResponse {
    /// The tenant.
    #[oai(status = 200)]
    Ok(Json<Tenant>),
}

#[derive(ApiResponse)]
pub enum DeleteTenantResponse {
    /// The tenant and everything it owned are gone; its tokens and keys stopped working.
    #[oai(status = 204)]
    Deleted,
}

pub(crate) fn to_api(state: &AppState, row: entity::tenant::Model) -> Tenant {
    Tenant {
        scim_url: state.scim_url(&row.id),
        id: row.id,
        name: row.name,
        created_at: row.created_at,
    }
}

pub struct TenantsApi;

#[OpenApi(prefix_path = "/admin/v1", tag = "ApiTag::Tenants")]
impl TenantsApi {
    /// Create a tenant
    ///
    /// Operator only. Create a SCIM token for it next, and give its admins a tenant-admin key.
    #[oai(
        path = "/tenants",
        method = "post",
        operation_id = "admin_create_tenant"
    )]
    async fn create_tenant(
        &self,
        state: Data<&AppState>,
        auth: AdminAuth,
        body: AdminJson<CreateTenant>,
    ) -> Result<CreateTenantResponse, AdminErrors<Creation>> {
        auth.0.require_operator()?;
        let name = validate::name("name", &body.name)?;
        let row =
            store::tenants::create(&state.db, &name, &auth.0.actor(state.clock.now())).await?;
        let location = format!("{}/admin/v1/tenants/{}", state.settings.public_url, row.id);
        Ok(CreateTenantResponse::Created(
            Json(to_api(&state, row)),
            location,
        ))
    }

    /// List tenants
    ///
    /// Every tenant for an operator key; only its own for a tenant-admin key.
    #[oai(path = "/tenants", method = "get", operation_id = "admin_list_tenants")]
    async fn list_tenants(
        &self,
        state: Data<&AppState>,
        auth: AdminAuth,
        /// Most tenants in the page (1 to 1000, default 100).
        #[oai(validator(minimum(value = "1"), maximum(value = "1000")))]
        limit: Query<Option<u32>>,
        /// `nextCursor` of the previous page; opaque.
        cursor: Query<Option<String>>,
    ) -> Result<ListTenantsResponse, AdminErrors<Listing>> {
        let limit = validate::page_limit(limit.0)?;
        let (rows, next_cursor) = match &auth.0.scope {
            AdminScope::Operator => {
                store::tenants::list(state.db.reads(), cursor.as_deref(), limit).await?
            }
            AdminScope::Tenant(own) => {
                let own = store::tenants::get(state.db.reads(), own).await?;
                let past = cursor
                    .as_deref()
                    .is_some_and(|after| own.id.as_str() <= after);
                (if past { Vec::new() } else { vec![own] }, None)
            }
        };
        let items = rows.into_iter().map(|row| to_api(&state, row)).collect();
        Ok(ListTenantsResponse::Ok(Json(TenantList {
            items,
            next_cursor,
        })))
    }

    /// Get a tenant
    #[oai(
        path = "/tenants/:tenantId",
        method = "get",
        operation_id = "admin_get_tenant"
    )]
    async fn get_tenant(
        &self,
        state: Data<&AppState>,
        auth: AdminAuth,
        /// The tenant's id.
        #[oai(name = "tenantId")]
        tenant_id: Path<String>,
    ) -> Result<GetTenantResponse, AdminErrors<Single>> {
        auth.0.require_tenant(&tenant_id)?;
        let row = store::tenants::get(state.db.reads(), &tenant_id).await?;
        Ok(GetTenantResponse::Ok(Json(to_api(&state, row))))
    }

    /// Delete a tenant
    ///
    /// Operator only. Removes the tenant and everything it owns; its SCIM tokens and admin
    /// keys stop working at once, on every replica.
    #[oai(
        path = "/tenants/:tenantId",
        method = "delete",
        operation_id = "admin_delete_tenant"
    )]
    async fn delete_tenant(
        &self,
        state: Data<&AppState>,
        auth: AdminAuth,
        /// The tenant's id.
        #[oai(name = "tenantId")]
        tenant_id: Path<String>,
    ) -> Result<DeleteTenantResponse, AdminErrors<Single>> {
        auth.0.require_operator()?;
        store::tenants::delete(&state.db, &tenant_id, &auth.0.actor(state.clock.now())).await?;
        tracing::info!(tenant = %tenant_id.0, "tenant deleted");
        Ok(DeleteTenantResponse::Deleted)
    }
}
