//! Service discovery (RFC 7644 §4, RFC 7643 §5): what this server supports, stated truthfully.

use poem::web::Data;
use poem_openapi::{ApiResponse, Object, OpenApi, param::Path, payload::Json};

use super::error::ScimErrorResponse;
use crate::{AppState, api_tags::ApiTag, auth::schemes::ScimAuth};

pub const SERVICE_PROVIDER_CONFIG_SCHEMA: &str =
    "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";

/// A feature with only an on/off switch.
#[derive(Debug, Clone, Object)]
pub struct Supported {
    /// Whether the feature is available.
    pub supported: bool,
}

/// Bulk support (RFC 7643 §5).
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct BulkSupport {
    /// Whether `/Bulk` is served.
    pub supported: bool,
    /// Most operations in one bulk request.
    pub max_operations: u32,
    /// Largest bulk request, in bytes.
    pub max_payload_size: u32,
}

/// Filter support (RFC 7643 §5).
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct FilterSupport {
    /// Whether the `filter` query parameter is honoured.
    pub supported: bool,
    /// Most resources a single query returns.
    pub max_results: u32,
}

/// An accepted authentication scheme.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct AuthenticationScheme {
    /// `oauthbearertoken`.
    #[oai(rename = "type")]
    pub kind: String,
    /// Human-readable name of the scheme.
    pub name: String,
    /// How to authenticate.
    pub description: String,
    /// The specification of the scheme (RFC 6750).
    pub spec_uri: String,
    /// Whether this is the preferred scheme.
    pub primary: bool,
}

/// Resource metadata of a discovery document.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct DiscoveryMeta {
    /// The kind of document.
    pub resource_type: String,
    /// Canonical URL of the document.
    pub location: String,
}

/// `ServiceProviderConfig` (RFC 7643 §5).
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct ServiceProviderConfig {
    /// `["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"]`.
    pub schemas: Vec<String>,
    /// PATCH support (RFC 7644 §3.5.2).
    pub patch: Supported,
    /// Bulk support (RFC 7644 §3.7).
    pub bulk: BulkSupport,
    /// Filter support (RFC 7644 §3.4.2.2).
    pub filter: FilterSupport,
    /// Password change support.
    pub change_password: Supported,
    /// Sort support (RFC 7644 §3.4.2.3).
    pub sort: Supported,
    /// ETag support (RFC 7644 §3.14).
    pub etag: Supported,
    /// Accepted ways to authenticate.
    pub authentication_schemes: Vec<AuthenticationScheme>,
    /// Resource metadata.
    pub meta: DiscoveryMeta,
}

#[derive(ApiResponse)]
pub enum ServiceProviderConfigResponse {
    /// What this server supports.
    #[oai(status = 200, content_type = "application/scim+json")]
    Ok(Json<ServiceProviderConfig>),
}

/// The document for `tenant_id`; only `meta.location` depends on the tenant.
pub fn service_provider_config(state: &AppState, tenant_id: &str) -> ServiceProviderConfig {
    let off = || Supported { supported: false };
    ServiceProviderConfig {
        schemas: vec![SERVICE_PROVIDER_CONFIG_SCHEMA.to_owned()],
        patch: Supported { supported: true },
        bulk: BulkSupport {
            supported: false,
            max_operations: 0,
            max_payload_size: 0,
        },
        filter: FilterSupport {
            supported: true,
            max_results: u32::try_from(state.settings.max_page_size).unwrap_or(u32::MAX),
        },
        change_password: off(),
        sort: Supported { supported: true },
        etag: Supported { supported: true },
        authentication_schemes: vec![AuthenticationScheme {
            kind: "oauthbearertoken".to_owned(),
            name: "OAuth Bearer Token".to_owned(),
            description: "Authentication with the tenant's SCIM token in the Authorization header."
                .to_owned(),
            spec_uri: "https://www.rfc-editor.org/info/rfc6750".to_owned(),
            primary: true,
        }],
        meta: DiscoveryMeta {
            resource_type: "ServiceProviderConfig".to_owned(),
            location: format!("{}/ServiceProviderConfig", state.scim_url(tenant_id)),
        },
    }
}

pub struct DiscoveryApi;

#[OpenApi(prefix_path = "/scim", tag = "ApiTag::ScimDiscovery")]
impl DiscoveryApi {
    /// Service provider configuration
    ///
    /// The SCIM features this server supports (RFC 7644 §4).
    #[oai(
        path = "/:tenantId/v2/ServiceProviderConfig",
        method = "get",
        operation_id = "scim_get_service_provider_config"
    )]
    async fn service_provider_config(
        &self,
        state: Data<&AppState>,
        auth: ScimAuth,
        /// The tenant's id, as in its SCIM URL.
        #[oai(name = "tenantId")]
        _tenant_id: Path<String>,
    ) -> Result<ServiceProviderConfigResponse, ScimErrorResponse> {
        Ok(ServiceProviderConfigResponse::Ok(Json(
            service_provider_config(&state, &auth.0.tenant_id),
        )))
    }
}
