//! Service discovery (RFC 7644 §4, RFC 7643 §5): what this server supports, stated truthfully.

use poem::web::Data;
use poem_openapi::{ApiResponse, Object, OpenApi, param::Path, payload::Json};

use serde_json::{Map, Value, json};

use super::{
    docs::{self, Documented},
    error::ScimErrorResponse,
    listing,
    payload::ScimJson,
    schema::{self, AttrDef, AttrType, SchemaDef},
};
use crate::error::Error;
use crate::{AppState, api_tags::ApiTag, scim::auth::ScimAuth};

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
    // PATCH support (RFC 7644 §3.5.2).
    pub patch: Supported,
    // Bulk support (RFC 7644 §3.7).
    pub bulk: BulkSupport,
    // Filter support (RFC 7644 §3.4.2.2).
    pub filter: FilterSupport,
    // Password change support.
    pub change_password: Supported,
    // Sort support (RFC 7644 §3.4.2.3).
    pub sort: Supported,
    // ETag support (RFC 7644 §3.14).
    pub etag: Supported,
    /// Accepted ways to authenticate.
    pub authentication_schemes: Vec<AuthenticationScheme>,
    // Resource metadata.
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

#[derive(ApiResponse)]
pub enum DiscoveryListResponse {
    /// A `ListResponse` of discovery documents.
    #[oai(status = 200)]
    Ok(ScimJson<Documented<docs::DiscoveryList>>),
}

#[derive(ApiResponse)]
pub enum DiscoveryDocumentResponse {
    /// The document (RFC 7643 §6 or §7).
    #[oai(status = 200)]
    Ok(ScimJson<Documented<Value>>),
}

pub const RESOURCE_TYPE_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
pub const SCHEMA_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";

fn attribute_json(def: &AttrDef) -> Value {
    let mut out = Map::new();
    out.insert("name".to_owned(), json!(def.name));
    out.insert("type".to_owned(), json!(def.ty.as_str()));
    out.insert("multiValued".to_owned(), json!(def.multi_valued));
    out.insert("description".to_owned(), json!(def.description));
    out.insert("required".to_owned(), json!(def.required));
    if def.ty != AttrType::Complex && def.ty != AttrType::Boolean {
        out.insert("caseExact".to_owned(), json!(def.case_exact));
    }
    if !def.canonical_values.is_empty() {
        out.insert("canonicalValues".to_owned(), json!(def.canonical_values));
    }
    if def.ty == AttrType::Reference {
        out.insert(
            "referenceTypes".to_owned(),
            json!(if def.reference_types.is_empty() {
                &["external"][..]
            } else {
                def.reference_types
            }),
        );
    }
    out.insert("mutability".to_owned(), json!(def.mutability.as_str()));
    out.insert("returned".to_owned(), json!(def.returned.as_str()));
    out.insert("uniqueness".to_owned(), json!(def.uniqueness.as_str()));
    if def.ty == AttrType::Complex {
        let subs: Vec<Value> = def.sub_attributes.iter().map(attribute_json).collect();
        out.insert("subAttributes".to_owned(), Value::Array(subs));
    }
    Value::Object(out)
}

/// The `/Schemas/{id}` document of `schema`.
pub fn schema_json(state: &AppState, tenant_id: &str, schema: &SchemaDef) -> Value {
    json!({
        "schemas": [SCHEMA_SCHEMA],
        "id": schema.id,
        "name": schema.name,
        "description": schema.description,
        "attributes": schema.attributes.iter().map(attribute_json).collect::<Vec<_>>(),
        "meta": {
            "resourceType": "Schema",
            "location": format!("{}/Schemas/{}", state.scim_url(tenant_id), schema.id),
        },
    })
}

/// The `/ResourceTypes` documents.
pub fn resource_types(state: &AppState, tenant_id: &str) -> Vec<Value> {
    let base = state.scim_url(tenant_id);
    vec![
        json!({
            "schemas": [RESOURCE_TYPE_SCHEMA],
            "id": "User",
            "name": "User",
            "endpoint": "/Users",
            "description": "User Account",
            "schema": schema::USER_SCHEMA,
            "schemaExtensions": [{ "schema": schema::ENTERPRISE_USER_SCHEMA, "required": false }],
            "meta": { "resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/User") },
        }),
        json!({
            "schemas": [RESOURCE_TYPE_SCHEMA],
            "id": "Group",
            "name": "Group",
            "endpoint": "/Groups",
            "description": "Group",
            "schema": schema::GROUP_SCHEMA,
            "schemaExtensions": [],
            "meta": { "resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/Group") },
        }),
    ]
}

fn list(resources: Vec<Value>) -> Value {
    json!({
        "schemas": [listing::LIST_RESPONSE_SCHEMA],
        "totalResults": resources.len(),
        "startIndex": 1,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
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

    /// Resource types
    ///
    /// The resource types served: User (with the enterprise extension) and Group.
    #[oai(
        path = "/:tenantId/v2/ResourceTypes",
        method = "get",
        operation_id = "scim_list_resource_types"
    )]
    async fn resource_types(
        &self,
        state: Data<&AppState>,
        auth: ScimAuth,
        /// The tenant's id, as in its SCIM URL.
        #[oai(name = "tenantId")]
        _tenant_id: Path<String>,
    ) -> Result<DiscoveryListResponse, ScimErrorResponse> {
        let types = resource_types(&state, &auth.0.tenant_id);
        Ok(DiscoveryListResponse::Ok(ScimJson(Documented::new(list(
            types,
        )))))
    }

    /// One resource type
    #[oai(
        path = "/:tenantId/v2/ResourceTypes/:id",
        method = "get",
        operation_id = "scim_get_resource_type"
    )]
    async fn resource_type(
        &self,
        state: Data<&AppState>,
        auth: ScimAuth,
        /// The tenant's id, as in its SCIM URL.
        #[oai(name = "tenantId")]
        _tenant_id: Path<String>,
        /// `User` or `Group`.
        id: Path<String>,
    ) -> Result<DiscoveryDocumentResponse, ScimErrorResponse> {
        resource_types(&state, &auth.0.tenant_id)
            .into_iter()
            .find(|doc| {
                doc["id"]
                    .as_str()
                    .is_some_and(|rt| rt.eq_ignore_ascii_case(&id))
            })
            .map(|doc| DiscoveryDocumentResponse::Ok(ScimJson(Documented::new(doc))))
            .ok_or_else(|| Error::not_found("ResourceType", id.0).into())
    }

    /// Schemas
    ///
    /// The User, Group and enterprise User schemas with every attribute's characteristics.
    #[oai(
        path = "/:tenantId/v2/Schemas",
        method = "get",
        operation_id = "scim_list_schemas"
    )]
    async fn schemas(
        &self,
        state: Data<&AppState>,
        auth: ScimAuth,
        /// The tenant's id, as in its SCIM URL.
        #[oai(name = "tenantId")]
        _tenant_id: Path<String>,
    ) -> Result<DiscoveryListResponse, ScimErrorResponse> {
        let docs = schema::ALL
            .iter()
            .map(|s| schema_json(&state, &auth.0.tenant_id, s))
            .collect();
        Ok(DiscoveryListResponse::Ok(ScimJson(Documented::new(list(
            docs,
        )))))
    }

    /// One schema
    #[oai(
        path = "/:tenantId/v2/Schemas/:id",
        method = "get",
        operation_id = "scim_get_schema"
    )]
    async fn schema(
        &self,
        state: Data<&AppState>,
        auth: ScimAuth,
        /// The tenant's id, as in its SCIM URL.
        #[oai(name = "tenantId")]
        _tenant_id: Path<String>,
        /// The schema URI.
        id: Path<String>,
    ) -> Result<DiscoveryDocumentResponse, ScimErrorResponse> {
        schema::ALL
            .iter()
            .find(|s| s.id.eq_ignore_ascii_case(&id))
            .map(|s| {
                DiscoveryDocumentResponse::Ok(ScimJson(Documented::new(schema_json(
                    &state,
                    &auth.0.tenant_id,
                    s,
                ))))
            })
            .ok_or_else(|| Error::not_found("Schema", id.0).into())
    }
}
