//! `/admin/v1/tenants/{tenantId}/admin-keys`: keys for a tenant's own admins. Operator only.

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::{
    ApiResponse, Object, OpenApi,
    param::{Path, Query},
    payload::Json,
};

use super::{
    auth::AdminAuth,
    credentials::{self, CredentialList},
    error::{AdminErrors, Issuing, Listing, Single},
    json_body::AdminJson,
    validate,
};
use crate::text::{Name, Text};
use crate::{
    AppState,
    api_tags::ApiTag,
    auth::{issue_credential, token::CredentialKind},
    store,
};

/// Body of `POST …/admin-keys`. Every field is optional.
#[derive(Debug, Clone, Default, Object)]
#[oai(rename_all = "camelCase")]
pub struct CreateAdminKey {
    /// A label, 1 to 200 characters.
    pub name: Option<Text<Name>>,
    /// Lifetime in days (1 to 3650); without it the key does not expire.
    #[oai(validator(minimum(value = "1"), maximum(value = "3650")))]
    pub expires_in_days: Option<u32>,
}

/// A newly issued tenant-admin key. `key` is shown this one time and cannot be retrieved again.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct IssuedAdminKey {
    /// Server-assigned id, the `<id>` part of the key.
    pub id: String,
    /// The secret bearer key for the admin API.
    pub key: String,
    /// The label given at creation.
    #[oai(skip_serializing_if_is_none)]
    pub name: Option<String>,
    /// The one tenant this key may act on.
    pub tenant_id: String,
    /// When it was issued.
    pub created_at: DateTime<Utc>,
    /// When it expires, if it does.
    #[oai(skip_serializing_if_is_none)]
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(ApiResponse)]
pub enum CreateAdminKeyResponse {
    /// The key was issued.
    #[oai(status = 201)]
    Created(Json<IssuedAdminKey>),
}

#[derive(ApiResponse)]
pub enum ListAdminKeysResponse {
    /// The tenant's admin keys.
    #[oai(status = 200)]
    Ok(Json<CredentialList>),
}

#[derive(ApiResponse)]
pub enum RevokeAdminKeyResponse {
    /// The key no longer works (revoking an ended key changes nothing).
    #[oai(status = 204)]
    Revoked,
}

pub struct AdminKeysApi;

#[OpenApi(prefix_path = "/admin/v1/tenants", tag = "ApiTag::AdminKeys")]
impl AdminKeysApi {
    /// Issue a tenant-admin key
    ///
    /// Operator only. The key may manage this tenant (its SCIM tokens, and what later
    /// versions add) and nothing else.
    #[oai(
        path = "/:tenantId/admin-keys",
        method = "post",
        operation_id = "admin_create_admin_key"
    )]
    async fn create_admin_key(
        &self,
        state: Data<&AppState>,
        auth: AdminAuth,
        /// The tenant's id.
        #[oai(name = "tenantId")]
        tenant_id: Path<String>,
        body: AdminJson<CreateAdminKey>,
    ) -> Result<CreateAdminKeyResponse, AdminErrors<Issuing>> {
        auth.0.require_operator()?;
        let now = state.clock.now();
        let name = validate::optional_name("name", body.name.as_deref())?;
        let expires_at = validate::expiry(now, body.expires_in_days)?;
        let (issued, secret_hash) =
            issue_credential(state.auth.hasher(), CredentialKind::AdminKey).await?;
        let new = store::admin_keys::NewKey {
            id: issued.id,
            secret_hash,
            tenant_id: Some(tenant_id.0.clone()),
            name,
            expires_at,
        };
        let row = store::admin_keys::create(&state.db, new, &auth.0.actor(now)).await?;
        tracing::info!(tenant = %tenant_id.0, key = %row.id, "tenant-admin key issued");
        Ok(CreateAdminKeyResponse::Created(Json(IssuedAdminKey {
            id: row.id,
            key: issued.plain,
            name: row.name,
            tenant_id: tenant_id.0,
            created_at: row.created_at,
            expires_at: row.expires_at,
        })))
    }

    /// List tenant-admin keys
    ///
    /// Operator only. Secrets are never returned.
    #[oai(
        path = "/:tenantId/admin-keys",
        method = "get",
        operation_id = "admin_list_admin_keys"
    )]
    async fn list_admin_keys(
        &self,
        state: Data<&AppState>,
        auth: AdminAuth,
        /// The tenant's id.
        #[oai(name = "tenantId")]
        tenant_id: Path<String>,
        /// Most items in the page (1 to 1000, default 100).
        #[oai(validator(minimum(value = "1"), maximum(value = "1000")))]
        limit: Query<Option<u32>>,
        /// `nextCursor` of the previous page; opaque.
        cursor: Query<Option<String>>,
    ) -> Result<ListAdminKeysResponse, AdminErrors<Listing>> {
        auth.0.require_operator()?;
        credentials::record_usage(&state).await;
        let now = state.clock.now();
        let limit = validate::page_limit(limit.0)?;
        let page =
            store::admin_keys::list(state.db.reads(), &tenant_id, cursor.as_deref(), limit).await?;
        Ok(ListAdminKeysResponse::Ok(Json(
            CredentialList::of_admin_keys(now, page),
        )))
    }

    /// Revoke a tenant-admin key
    ///
    /// Operator only. The key stops working at once, on every replica.
    #[oai(
        path = "/:tenantId/admin-keys/:keyId",
        method = "delete",
        operation_id = "admin_revoke_admin_key"
    )]
    async fn revoke_admin_key(
        &self,
        state: Data<&AppState>,
        auth: AdminAuth,
        /// The tenant's id.
        #[oai(name = "tenantId")]
        tenant_id: Path<String>,
        /// The key's id.
        #[oai(name = "keyId")]
        key_id: Path<String>,
    ) -> Result<RevokeAdminKeyResponse, AdminErrors<Single>> {
        auth.0.require_operator()?;
        let row = store::admin_keys::revoke(
            &state.db,
            &tenant_id,
            &key_id,
            &auth.0.actor(state.clock.now()),
        )
        .await?;
        tracing::info!(tenant = %tenant_id.0, key = %row.id, "tenant-admin key revoked");
        Ok(RevokeAdminKeyResponse::Revoked)
    }
}
