//! Service discovery (RFC 7644 §4, RFC 7643 §5): what this server supports, stated truthfully.

use poem::web::Data;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi, param::Path, payload::Json};

use super::{
    error::{Discovery, DiscoveryLookup, ScimErrors},
    listing,
    schema::{self, AttrDef, AttrType, Mutability, Returned, SchemaDef, Uniqueness},
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
pub enum ResourceTypeListResponse {
    /// A `ListResponse` of resource types.
    #[oai(status = 200, content_type = "application/scim+json")]
    Ok(Json<ResourceTypeList>),
}

#[derive(ApiResponse)]
pub enum ResourceTypeResponse {
    /// The resource type (RFC 7643 §6).
    #[oai(status = 200, content_type = "application/scim+json")]
    Ok(Json<ResourceType>),
}

#[derive(ApiResponse)]
pub enum SchemaListResponse {
    /// A `ListResponse` of schemas.
    #[oai(status = 200, content_type = "application/scim+json")]
    Ok(Json<SchemaList>),
}

#[derive(ApiResponse)]
pub enum SchemaResponse {
    /// The schema (RFC 7643 §7).
    #[oai(status = 200, content_type = "application/scim+json")]
    Ok(Json<Schema>),
}

pub const RESOURCE_TYPE_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
pub const SCHEMA_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";

/// Declares the `ListResponse` of one kind of discovery document; never paged.
macro_rules! discovery_list {
    ($(#[doc = $doc:literal])* $list:ident, $name:literal, $item:ident) => {
        $(#[doc = $doc])*
        #[derive(Debug, Clone, Object)]
        #[oai(rename = $name, rename_all = "camelCase")]
        pub struct $list {
            /// `["urn:ietf:params:scim:api:messages:2.0:ListResponse"]`.
            pub schemas: Vec<String>,
            /// How many documents there are.
            pub total_results: u64,
            /// Always 1.
            pub start_index: u64,
            /// How many documents there are: the list is never paged.
            pub items_per_page: u64,
            /// The documents.
            #[oai(rename = "Resources")]
            pub resources: Vec<$item>,
        }

        impl From<Vec<$item>> for $list {
            fn from(resources: Vec<$item>) -> Self {
                let count = resources.len() as u64;
                Self {
                    schemas: vec![listing::LIST_RESPONSE_SCHEMA.to_owned()],
                    total_results: count,
                    start_index: 1,
                    items_per_page: count,
                    resources,
                }
            }
        }
    };
}

discovery_list!(
    /// A `ListResponse` of resource types.
    ResourceTypeList,
    "ScimResourceTypeList",
    ResourceType
);
discovery_list!(
    /// A `ListResponse` of schemas.
    SchemaList,
    "ScimSchemaList",
    Schema
);

/// A schema extension a resource type may carry.
#[derive(Debug, Clone, Object)]
#[oai(rename = "ScimSchemaExtension")]
pub struct SchemaExtension {
    /// The extension's schema URI.
    pub schema: String,
    /// Whether every resource must carry it.
    pub required: bool,
}

/// A resource type (RFC 7643 §6).
#[derive(Debug, Clone, Object)]
#[oai(rename = "ScimResourceType", rename_all = "camelCase")]
pub struct ResourceType {
    /// `["urn:ietf:params:scim:schemas:core:2.0:ResourceType"]`.
    pub schemas: Vec<String>,
    /// `User` or `Group`.
    pub id: String,
    /// The resource type's name.
    pub name: String,
    /// Its endpoint, relative to the tenant's SCIM URL.
    pub endpoint: String,
    /// What it is.
    pub description: String,
    /// The URI of its core schema.
    pub schema: String,
    /// Extensions it may carry.
    pub schema_extensions: Vec<SchemaExtension>,
    // Resource metadata.
    pub meta: DiscoveryMeta,
}

/// An attribute's data type (RFC 7643 §2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename = "ScimAttributeType", rename_all = "camelCase")]
pub enum AttributeType {
    String,
    Boolean,
    Decimal,
    Integer,
    DateTime,
    Binary,
    Reference,
    Complex,
}

/// Whether and how an attribute can be written (RFC 7643 §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename = "ScimMutability", rename_all = "camelCase")]
pub enum AttributeMutability {
    ReadOnly,
    ReadWrite,
    Immutable,
    WriteOnly,
}

/// When an attribute is returned (RFC 7643 §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename = "ScimReturned", rename_all = "lowercase")]
pub enum AttributeReturned {
    Always,
    Never,
    Default,
    Request,
}

/// How unique an attribute's value is (RFC 7643 §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename = "ScimUniqueness", rename_all = "lowercase")]
pub enum AttributeUniqueness {
    None,
    Server,
    Global,
}

/// One attribute of a schema and its characteristics (RFC 7643 §7).
#[derive(Debug, Clone, Object)]
#[oai(rename = "ScimSchemaAttribute", rename_all = "camelCase")]
pub struct SchemaAttribute {
    /// The attribute's name.
    pub name: String,
    // The attribute's data type.
    #[oai(rename = "type")]
    pub kind: AttributeType,
    /// Whether it holds a list of values.
    pub multi_valued: bool,
    /// What it means.
    pub description: String,
    /// Whether it must be present.
    pub required: bool,
    /// Whether string comparisons respect case (absent for booleans and complex attributes).
    #[oai(skip_serializing_if_is_none)]
    pub case_exact: Option<bool>,
    /// The values suggested for it (absent when any value goes).
    #[oai(skip_serializing_if_is_none)]
    pub canonical_values: Option<Vec<String>>,
    /// What a reference may point to (reference attributes only).
    #[oai(skip_serializing_if_is_none)]
    pub reference_types: Option<Vec<String>>,
    // Whether and how it can be written.
    pub mutability: AttributeMutability,
    // When it is returned.
    pub returned: AttributeReturned,
    // How unique its values are.
    pub uniqueness: AttributeUniqueness,
    /// The sub-attributes of a complex attribute.
    #[oai(skip_serializing_if_is_none)]
    pub sub_attributes: Option<Vec<SchemaAttribute>>,
}

/// A schema (RFC 7643 §7).
#[derive(Debug, Clone, Object)]
#[oai(rename = "ScimSchema", rename_all = "camelCase")]
pub struct Schema {
    /// `["urn:ietf:params:scim:schemas:core:2.0:Schema"]`.
    pub schemas: Vec<String>,
    /// The schema's URI.
    pub id: String,
    /// Its name.
    pub name: String,
    /// What it describes.
    pub description: String,
    /// Its attributes.
    pub attributes: Vec<SchemaAttribute>,
    // Resource metadata.
    pub meta: DiscoveryMeta,
}

impl From<AttrType> for AttributeType {
    fn from(ty: AttrType) -> Self {
        match ty {
            AttrType::String => Self::String,
            AttrType::Boolean => Self::Boolean,
            AttrType::DateTime => Self::DateTime,
            AttrType::Reference => Self::Reference,
            AttrType::Complex => Self::Complex,
        }
    }
}

impl From<Mutability> for AttributeMutability {
    fn from(mutability: Mutability) -> Self {
        match mutability {
            Mutability::ReadOnly => Self::ReadOnly,
            Mutability::ReadWrite => Self::ReadWrite,
            Mutability::Immutable => Self::Immutable,
        }
    }
}

impl From<Returned> for AttributeReturned {
    fn from(returned: Returned) -> Self {
        match returned {
            Returned::Default => Self::Default,
        }
    }
}

impl From<Uniqueness> for AttributeUniqueness {
    fn from(uniqueness: Uniqueness) -> Self {
        match uniqueness {
            Uniqueness::None => Self::None,
            Uniqueness::Server => Self::Server,
        }
    }
}

fn strings(values: &[&str]) -> Vec<String> {
    values.iter().map(|v| (*v).to_owned()).collect()
}

fn attribute(def: &AttrDef) -> SchemaAttribute {
    let complex = def.ty == AttrType::Complex;
    SchemaAttribute {
        name: def.name.to_owned(),
        kind: def.ty.into(),
        multi_valued: def.multi_valued,
        description: def.description.to_owned(),
        required: def.required,
        case_exact: (!complex && def.ty != AttrType::Boolean).then_some(def.case_exact),
        canonical_values: (!def.canonical_values.is_empty()).then(|| strings(def.canonical_values)),
        reference_types: (def.ty == AttrType::Reference).then(|| {
            if def.reference_types.is_empty() {
                strings(&["external"])
            } else {
                strings(def.reference_types)
            }
        }),
        mutability: def.mutability.into(),
        returned: def.returned.into(),
        uniqueness: def.uniqueness.into(),
        sub_attributes: complex.then(|| def.sub_attributes.iter().map(attribute).collect()),
    }
}

/// The `/Schemas/{id}` document of `schema`.
pub fn schema_document(state: &AppState, tenant_id: &str, schema: &SchemaDef) -> Schema {
    Schema {
        schemas: vec![SCHEMA_SCHEMA.to_owned()],
        id: schema.id.to_owned(),
        name: schema.name.to_owned(),
        description: schema.description.to_owned(),
        attributes: schema.attributes.iter().map(attribute).collect(),
        meta: DiscoveryMeta {
            resource_type: "Schema".to_owned(),
            location: format!("{}/Schemas/{}", state.scim_url(tenant_id), schema.id),
        },
    }
}

/// The `/ResourceTypes` documents.
pub fn resource_types(state: &AppState, tenant_id: &str) -> Vec<ResourceType> {
    let base = state.scim_url(tenant_id);
    let resource_type =
        |id: &str, endpoint: &str, description: &str, schema: &str, extensions| ResourceType {
            schemas: vec![RESOURCE_TYPE_SCHEMA.to_owned()],
            id: id.to_owned(),
            name: id.to_owned(),
            endpoint: endpoint.to_owned(),
            description: description.to_owned(),
            schema: schema.to_owned(),
            schema_extensions: extensions,
            meta: DiscoveryMeta {
                resource_type: "ResourceType".to_owned(),
                location: format!("{base}/ResourceTypes/{id}"),
            },
        };
    vec![
        resource_type(
            "User",
            "/Users",
            "User Account",
            schema::USER_SCHEMA,
            vec![SchemaExtension {
                schema: schema::ENTERPRISE_USER_SCHEMA.to_owned(),
                required: false,
            }],
        ),
        resource_type("Group", "/Groups", "Group", schema::GROUP_SCHEMA, vec![]),
    ]
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
    ) -> Result<ServiceProviderConfigResponse, ScimErrors<Discovery>> {
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
    ) -> Result<ResourceTypeListResponse, ScimErrors<Discovery>> {
        let types = resource_types(&state, &auth.0.tenant_id);
        Ok(ResourceTypeListResponse::Ok(Json(types.into())))
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
    ) -> Result<ResourceTypeResponse, ScimErrors<DiscoveryLookup>> {
        resource_types(&state, &auth.0.tenant_id)
            .into_iter()
            .find(|doc| doc.id.eq_ignore_ascii_case(&id))
            .map(|doc| ResourceTypeResponse::Ok(Json(doc)))
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
    ) -> Result<SchemaListResponse, ScimErrors<Discovery>> {
        let docs: Vec<_> = schema::ALL
            .iter()
            .map(|s| schema_document(&state, &auth.0.tenant_id, s))
            .collect();
        Ok(SchemaListResponse::Ok(Json(docs.into())))
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
    ) -> Result<SchemaResponse, ScimErrors<DiscoveryLookup>> {
        schema::ALL
            .iter()
            .find(|s| s.id.eq_ignore_ascii_case(&id))
            .map(|s| SchemaResponse::Ok(Json(schema_document(&state, &auth.0.tenant_id, s))))
            .ok_or_else(|| Error::not_found("Schema", id.0).into())
    }
}
