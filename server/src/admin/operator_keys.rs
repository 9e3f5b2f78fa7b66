//! `/admin/v1/operator-keys`: the keys that act on every tenant. Operator only. A leaked
//! operator key is revoked here, after issuing its replacement: the last one that works is
//! never revoked, or the admin API would answer nobody.

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::{
    ApiResponse, Object, OpenApi,
    param::{Path, Query},
    payload::Json,
};

use super::{
    admin_keys::{CreateAdminKey, RevokeAdminKeyResponse},
    auth::AdminAuth,
    credentials::{self, CredentialList},
    error::{AdminErrors, Issuing, Listing, Removal},
    json_body::AdminJson,
    validate,
};
use crate::{
    AppState,
    api_tags::ApiTag,
    auth::{issue_credential, token::CredentialKind},
    store,
};

/// A newly issued operator key. `key` is shown this one time and cannot be retrieved again.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct IssuedOperatorKey {
    /// Server-assigned id, the `<id>` part of the key.
    pub id: String,
    /// The secret bearer key for the admin API.
    pub key: String,
    /// The label given at creation.
    #[oai(skip_serializing_if_is_none)]
    pub name: Option<String>,
    /// When it was issued.
    pub created_at: DateTime<Utc>,
    /// When it expires, if it does.
    #[oai(skip_serializing_if_is_none)]
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(ApiResponse)]
pub enum CreateOperatorKeyResponse {
    /// The key was issued.
    #[oai(status = 201)]
    Created(Json<IssuedOperatorKey>),
}

#[derive(ApiResponse)]
pub enum ListOperatorKeysResponse {
    /// The operator keys.
    #[oai(status = 200)]
    Ok(Json<CredentialList>),
}

pub struct OperatorKeysApi;

#[OpenApi(prefix_path = "/admin/v1/operator-keys", tag = "ApiTag::AdminKeys")]
impl OperatorKeysApi {
    /// Issue an operator key
    ///
    /// Operator only. The key acts on every tenant, as the caller's does.
    #[oai(
        path = "/",
        method = "post",
        operation_id = "admin_create_operator_key"
    )]
    async fn create_operator_key(
        &self,
        state: Data<&AppState>,
        auth: AdminAuth,
        body: AdminJson<CreateAdminKey>,
    ) -> Result<CreateOperatorKeyResponse, AdminErrors<Issuing>> {
        auth.0.require_operator()?;
        let now = state.clock.now();
        let name = validate::optional_name("name", body.name.as_deref())?;
        let expires_at = validate::expiry(now, body.expires_in_days)?;
        let (issued, secret_hash) =
            issue_credential(state.auth.hasher(), CredentialKind::AdminKey).await?;
        let new = store::admin_keys::NewKey {
            id: issued.id,
            secret_hash,
            tenant_id: None,
            name,
            expires_at,
        };
        let row = store::admin_keys::create(&state.db, new, &auth.0.actor(now)).await?;
        tracing::info!(key = %row.id, "operator key issued");
        Ok(CreateOperatorKeyResponse::Created(Json(
            IssuedOperatorKey {
                id: row.id,
                key: issued.plain,
                name: row.name,
                created_at: row.created_at,
                expires_at: row.expires_at,
            },
        )))
    }

    /// List operator keys
    ///
    /// Operator only. Secrets are never returned.
    #[oai(path = "/", method = "get", operation_id = "admin_list_operator_keys")]
    async fn list_operator_keys(
        &self,
        state: Data<&AppState>,
        auth: AdminAuth,
        /// Most items in the page (1 to 1000, default 100).
        #[oai(validator(minimum(value = "1"), maximum(value = "1000")))]
        limit: Query<Option<u32>>,
        /// `nextCursor` of the previous page; opaque.
        cursor: Query<Option<String>>,
    ) -> Result<ListOperatorKeysResponse, AdminErrors<Listing>> {
        auth.0.require_operator()?;
        credentials::record_usage(&state).await;
        let now = state.clock.now();
        let limit = validate::page_limit(limit.0)?;
        let page =
            store::admin_keys::list_operator_keys(state.db.reads(), cursor.as_deref(), limit)
                .await?;
        Ok(ListOperatorKeysResponse::Ok(Json(
            CredentialList::of_admin_keys(now, page),
        )))
    }

    /// Revoke an operator key
    ///
    /// Operator only. The key stops working at once, on every replica, and the streams it
    /// opened end. 409 for the last operator key that works: issue another first.
    #[oai(
        path = "/:keyId",
        method = "delete",
        operation_id = "admin_revoke_operator_key"
    )]
    async fn revoke_operator_key(
        &self,
        state: Data<&AppState>,
        auth: AdminAuth,
        /// The key's id.
        #[oai(name = "keyId")]
        key_id: Path<String>,
    ) -> Result<RevokeAdminKeyResponse, AdminErrors<Removal>> {
        auth.0.require_operator()?;
        let row = store::admin_keys::revoke_operator_key(
            &state.db,
            &key_id,
            &auth.0.actor(state.clock.now()),
        )
        .await?;
        tracing::info!(key = %row.id, "operator key revoked");
        Ok(RevokeAdminKeyResponse::Revoked)
    }
}
