//! `GET /admin/v1/whoami`: what the presented admin key may do, and which server answers.
//! A client (the operator TUI) asks once at start to choose its screens, and learns from a
//! 404 here that the server predates the API it was built for.

use poem_openapi::{ApiResponse, Enum, Object, OpenApi, payload::Json};

use super::{
    auth::{AdminAuth, AdminScope},
    error::{AdminErrors, Own},
};
use crate::{API_VERSION, api_tags::ApiTag};

/// What an admin key may act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "camelCase")]
pub enum AdminRole {
    /// Every tenant, and the deployment's permission catalog.
    Operator,
    /// One tenant, named by `tenantId`.
    TenantAdmin,
}

/// The caller's admin key and the server answering.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct Caller {
    /// The key's id (never its secret).
    pub key_id: String,
    // What the key may act on.
    pub role: AdminRole,
    /// The one tenant a tenant-admin key acts on; absent for operators.
    #[oai(skip_serializing_if_is_none)]
    pub tenant_id: Option<String>,
    /// The version of the API document the server implements (`info.version`).
    pub api_version: String,
}

#[derive(ApiResponse)]
pub enum WhoamiResponse {
    /// The key is valid.
    #[oai(status = 200)]
    Ok(Json<Caller>),
}

pub struct WhoamiApi;

#[OpenApi(prefix_path = "/admin/v1", tag = "ApiTag::Tenants")]
impl WhoamiApi {
    /// Describe the caller's key
    ///
    /// Its role and, for a tenant-admin key, its tenant; and the API version the server
    /// implements. Any valid admin key may ask.
    #[oai(path = "/whoami", method = "get", operation_id = "admin_whoami")]
    async fn whoami(&self, auth: AdminAuth) -> Result<WhoamiResponse, AdminErrors<Own>> {
        let (role, tenant_id) = match auth.0.scope {
            AdminScope::Operator => (AdminRole::Operator, None),
            AdminScope::Tenant(tenant_id) => (AdminRole::TenantAdmin, Some(tenant_id)),
        };
        Ok(WhoamiResponse::Ok(Json(Caller {
            key_id: auth.0.key_id,
            role,
            tenant_id,
            api_version: API_VERSION.to_owned(),
        })))
    }
}
