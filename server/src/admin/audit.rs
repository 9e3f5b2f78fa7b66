//! `…/audit`: the admin changes of a tenant (tenant, SCIM tokens, admin keys, products,
//! permission groups, mappings, priorities), and of the whole deployment for operators;
//! each written in the transaction of its change, newest first by cursor.

use chrono::{DateTime, Utc};
use entity::audit_event;
use poem::web::Data;
use poem_openapi::{
    ApiResponse, Object, OpenApi,
    param::{Path, Query},
    payload::Json,
};

use super::{
    auth::AdminAuth,
    error::{AdminErrors, Listing},
    validate,
};
use crate::{AppState, api_tags::ApiTag, store::audit};

/// One admin change.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct AuditEntry {
    /// Increases with every change; pass as `cursor` to read older ones.
    pub id: i64,
    /// When the change was made.
    pub at: DateTime<Utc>,
    /// The tenant changed; absent for deployment-wide changes (the permission catalog,
    /// operator keys).
    #[oai(skip_serializing_if_is_none)]
    pub tenant_id: Option<String>,
    /// The admin key that made it (`bootstrap` for the server's first operator key).
    pub actor_key_id: String,
    /// What was done: `tenant.created`, `scim_token.issued`, `scim_token.revoked`,
    /// `admin_key.created`, `mapping.deleted`, `priority.changed`, `product.updated`, ….
    pub action: String,
    /// What it was done to: `kind:id`.
    pub target: String,
    /// The state before, where there was one.
    #[oai(skip_serializing_if_is_none)]
    pub before: Option<serde_json::Value>,
    /// The state after, where there is one.
    #[oai(skip_serializing_if_is_none)]
    pub after: Option<serde_json::Value>,
}

/// A page of the audit trail, newest first.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct AuditPage {
    /// Newest first.
    pub items: Vec<AuditEntry>,
    /// Pass as `cursor` for older entries; absent on the last page.
    #[oai(skip_serializing_if_is_none)]
    pub next_cursor: Option<String>,
}

#[derive(ApiResponse)]
pub enum AuditPageResponse {
    /// Changes, newest first.
    #[oai(status = 200)]
    Ok(Json<AuditPage>),
}

fn parsed(text: Option<String>) -> Option<serde_json::Value> {
    text.and_then(|text| serde_json::from_str(&text).ok())
}

fn entry(row: audit_event::Model) -> AuditEntry {
    AuditEntry {
        id: row.id,
        at: row.at,
        tenant_id: row.tenant_id,
        actor_key_id: row.actor_key_id,
        action: row.action,
        target: row.target,
        before: parsed(row.before),
        after: parsed(row.after),
    }
}

async fn page(
    state: &AppState,
    tenant_id: Option<&str>,
    action: Option<&str>,
    cursor: Option<&str>,
    limit: Option<u32>,
) -> Result<AuditPageResponse, AdminErrors<Listing>> {
    let limit = validate::page_limit(limit)?;
    let cursor = validate::id_cursor(cursor)?;
    let (rows, next_cursor) =
        audit::list(state.db.reads(), tenant_id, action, cursor, limit).await?;
    Ok(AuditPageResponse::Ok(Json(AuditPage {
        items: rows.into_iter().map(entry).collect(),
        next_cursor,
    })))
}

pub struct AuditApi;

#[OpenApi(prefix_path = "/admin/v1", tag = "ApiTag::Activity")]
impl AuditApi {
    /// List a tenant's admin changes
    ///
    /// Who changed what in the tenant, with the state before and after, newest first.
    #[oai(
        path = "/tenants/:tenantId/audit",
        method = "get",
        operation_id = "admin_list_tenant_audit"
    )]
    async fn list_tenant_audit(
        &self,
        state: Data<&AppState>,
        auth: AdminAuth,
        /// The tenant's id.
        #[oai(name = "tenantId")]
        tenant_id: Path<String>,
        /// Only this action.
        action: Query<Option<String>>,
        /// Most entries in the page (1 to 1000, default 100).
        #[oai(validator(minimum(value = "1"), maximum(value = "1000")))]
        limit: Query<Option<u32>>,
        /// `nextCursor` of the previous page; opaque.
        cursor: Query<Option<String>>,
    ) -> Result<AuditPageResponse, AdminErrors<Listing>> {
        auth.0.require_tenant(&tenant_id)?;
        page(
            &state,
            Some(&tenant_id),
            action.as_deref(),
            cursor.as_deref(),
            limit.0,
        )
        .await
    }

    /// List every admin change
    ///
    /// For operators: the changes of every tenant and of the deployment, newest first.
    #[oai(path = "/audit", method = "get", operation_id = "admin_list_audit")]
    async fn list_audit(
        &self,
        state: Data<&AppState>,
        auth: AdminAuth,
        /// Only this action.
        action: Query<Option<String>>,
        /// Most entries in the page (1 to 1000, default 100).
        #[oai(validator(minimum(value = "1"), maximum(value = "1000")))]
        limit: Query<Option<u32>>,
        /// `nextCursor` of the previous page; opaque.
        cursor: Query<Option<String>>,
    ) -> Result<AuditPageResponse, AdminErrors<Listing>> {
        auth.0.require_operator()?;
        page(&state, None, action.as_deref(), cursor.as_deref(), limit.0).await
    }
}
