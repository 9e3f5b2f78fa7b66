//! `/admin/v1/tenants/{tenantId}/scim-tokens`: issue (rotate), list and revoke the tokens
//! the identity provider uses.

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::{
    ApiResponse, Enum, Object, OpenApi,
    param::{Path, Query},
    payload::Json,
};

use super::{
    auth::AdminAuth,
    credentials::{self, CredentialInfo, CredentialList},
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

/// Body of `POST …/scim-tokens`. Every field is optional.
#[derive(Debug, Clone, Default, Object)]
#[oai(rename_all = "camelCase")]
pub struct CreateScimToken {
    /// A label, 1 to 200 characters.
    pub name: Option<Text<Name>>,
    /// Lifetime in days (1 to 3650); without it the token does not expire.
    #[oai(validator(minimum(value = "1"), maximum(value = "3650")))]
    pub expires_in_days: Option<u32>,
    /// How long the previously newest token keeps working, in seconds (0 to 604800).
    /// With `cutOver: afterOverlap` it works exactly this long (default 3600); with
    /// `onFirstUse` at most this long (default 604800). `0` ends it at once. Any older
    /// tokens end at once regardless.
    #[oai(validator(minimum(value = "0"), maximum(value = "604800")))]
    pub overlap_seconds: Option<u32>,
    // When the previously newest token stops working (default `afterOverlap`).
    pub cut_over: Option<CutOver>,
}

/// When the previous token stops working after a rotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "camelCase")]
pub enum CutOver {
    /// When `overlapSeconds` have passed.
    AfterOverlap,
    /// As soon as the new token authenticates a request (the identity provider has picked
    /// it up), or when `overlapSeconds` have passed, whichever comes first. The token that
    /// is waiting shows the one it will end in `endsOnFirstUse`; the cut-over is an audit
    /// event, `scim_token.cut_over`.
    OnFirstUse,
}

impl From<CutOver> for store::scim_tokens::CutOver {
    fn from(mode: CutOver) -> Self {
        match mode {
            CutOver::AfterOverlap => Self::AfterOverlap,
            CutOver::OnFirstUse => Self::OnFirstUse,
        }
    }
}

/// A newly issued SCIM token. `token` is shown this one time and cannot be retrieved again.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct IssuedScimToken {
    /// Server-assigned id, the `<id>` part of the token.
    pub id: String,
    /// The secret bearer token to configure as "Secret Token" in the identity provider.
    pub token: String,
    /// The label given at creation.
    #[oai(skip_serializing_if_is_none)]
    pub name: Option<String>,
    /// The tenant's SCIM URL, to configure beside the token.
    pub scim_url: String,
    /// When it was issued.
    pub created_at: DateTime<Utc>,
    /// When it expires, if it does.
    #[oai(skip_serializing_if_is_none)]
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(ApiResponse)]
pub enum CreateScimTokenResponse {
    /// The token was issued; older tokens are scheduled to stop.
    #[oai(status = 201)]
    Created(Json<IssuedScimToken>),
}

#[derive(ApiResponse)]
pub enum ListScimTokensResponse {
    /// The tenant's tokens.
    #[oai(status = 200)]
    Ok(Json<CredentialList>),
}

#[derive(ApiResponse)]
pub enum RevokeScimTokenResponse {
    /// The token no longer works (revoking an ended token changes nothing).
    #[oai(status = 204)]
    Revoked,
}

pub struct ScimTokensApi;

#[OpenApi(prefix_path = "/admin/v1/tenants", tag = "ApiTag::ScimTokens")]
impl ScimTokensApi {
    /// Issue (rotate) a SCIM token
    ///
    /// The new token works at once. The previously newest token keeps working for
    /// `overlapSeconds`, or with `cutOver: onFirstUse` until the new token is first used,
    /// so the identity provider can be switched over; at most two tokens are ever live.
    #[oai(
        path = "/:tenantId/scim-tokens",
        method = "post",
        operation_id = "admin_create_scim_token"
    )]
    async fn create_scim_token(
        &self,
        state: Data<&AppState>,
        auth: AdminAuth,
        /// The tenant's id.
        #[oai(name = "tenantId")]
        tenant_id: Path<String>,
        body: AdminJson<CreateScimToken>,
    ) -> Result<CreateScimTokenResponse, AdminErrors<Issuing>> {
        auth.0.require_tenant(&tenant_id)?;
        let now = state.clock.now();
        let name = validate::optional_name("name", body.name.as_deref())?;
        let expires_at = validate::expiry(now, body.expires_in_days)?;
        let cut_over = body.cut_over.unwrap_or(CutOver::AfterOverlap);
        let default_overlap = match cut_over {
            CutOver::AfterOverlap => 3600,
            CutOver::OnFirstUse => validate::MAX_OVERLAP_SECONDS,
        };
        let overlap = validate::overlap(body.overlap_seconds, default_overlap)?;
        let (issued, secret_hash) =
            issue_credential(state.auth.hasher(), CredentialKind::ScimToken).await?;
        let new = store::scim_tokens::NewToken {
            id: issued.id,
            secret_hash,
            name,
            expires_at,
            overlap,
            cut_over: cut_over.into(),
        };
        let row =
            store::scim_tokens::create(&state.db, &tenant_id, new, &auth.0.actor(now)).await?;
        tracing::info!(tenant = %row.tenant_id, token = %row.id, "SCIM token issued");
        Ok(CreateScimTokenResponse::Created(Json(IssuedScimToken {
            scim_url: state.scim_url(&row.tenant_id),
            id: row.id,
            token: issued.plain,
            name: row.name,
            created_at: row.created_at,
            expires_at: row.expires_at,
        })))
    }

    /// List SCIM tokens
    ///
    /// Secrets are never returned.
    #[oai(
        path = "/:tenantId/scim-tokens",
        method = "get",
        operation_id = "admin_list_scim_tokens"
    )]
    async fn list_scim_tokens(
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
    ) -> Result<ListScimTokensResponse, AdminErrors<Listing>> {
        auth.0.require_tenant(&tenant_id)?;
        credentials::record_usage(&state).await;
        let now = state.clock.now();
        let limit = validate::page_limit(limit.0)?;
        let (rows, next_cursor) =
            store::scim_tokens::list(state.db.reads(), &tenant_id, cursor.as_deref(), limit)
                .await?;
        let items = rows
            .into_iter()
            .map(|row| CredentialInfo::of_scim_token(now, row))
            .collect();
        Ok(ListScimTokensResponse::Ok(Json(CredentialList {
            items,
            next_cursor,
        })))
    }

    /// Revoke a SCIM token
    ///
    /// The token stops working at once, on every replica.
    #[oai(
        path = "/:tenantId/scim-tokens/:tokenId",
        method = "delete",
        operation_id = "admin_revoke_scim_token"
    )]
    async fn revoke_scim_token(
        &self,
        state: Data<&AppState>,
        auth: AdminAuth,
        /// The tenant's id.
        #[oai(name = "tenantId")]
        tenant_id: Path<String>,
        /// The token's id.
        #[oai(name = "tokenId")]
        token_id: Path<String>,
    ) -> Result<RevokeScimTokenResponse, AdminErrors<Single>> {
        auth.0.require_tenant(&tenant_id)?;
        let row = store::scim_tokens::revoke(
            &state.db,
            &tenant_id,
            &token_id,
            &auth.0.actor(state.clock.now()),
        )
        .await?;
        tracing::info!(tenant = %row.tenant_id, token = %row.id, "SCIM token revoked");
        Ok(RevokeScimTokenResponse::Revoked)
    }
}
