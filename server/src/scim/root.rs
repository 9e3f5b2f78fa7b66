//! Requests addressed to the service root rather than to one resource type.

use poem_openapi::{ApiResponse, OpenApi, param::Path, payload::Json};
use serde_json::Value;

use super::{
    error::{ScimError, ScimErrors, Search, body},
    payload::ScimJson,
};
use crate::{api_tags::ApiTag, scim::auth::ScimAuth};

#[derive(ApiResponse)]
pub enum SearchAllResponse {
    /// Searching several resource types at once is not supported.
    #[oai(status = 501, content_type = "application/scim+json")]
    NotImplemented(Json<ScimError>),
}

pub struct RootApi;

#[OpenApi(prefix_path = "/scim", tag = "ApiTag::ScimDiscovery")]
impl RootApi {
    /// Search all resource types
    ///
    /// Not supported: search `/Users/.search` or `/Groups/.search` instead. Always 501
    /// (RFC 7644 §3.4.3 lets a service provider decline searches across resource types).
    #[oai(
        path = "/:tenantId/v2/.search",
        method = "post",
        operation_id = "scim_search_all"
    )]
    async fn search_all(
        &self,
        _auth: ScimAuth,
        /// The tenant's id, as in its SCIM URL.
        #[oai(name = "tenantId")]
        _tenant_id: Path<String>,
        _body: ScimJson<Value>,
    ) -> Result<SearchAllResponse, ScimErrors<Search>> {
        Ok(SearchAllResponse::NotImplemented(body(
            poem::http::StatusCode::NOT_IMPLEMENTED,
            None,
            "searching several resource types at once is not supported; use /Users/.search or /Groups/.search",
        )))
    }
}
