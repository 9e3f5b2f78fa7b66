//! `…/sync`: each tenant's sync health, the verdict an admin (or the operator TUI's tenant
//! list) reads first: is its identity provider provisioning, and if not, why.

use chrono::{DateTime, Duration, Utc};
use entity::tenant;
use poem::web::Data;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi, param::Path, payload::Json};

use super::{
    activity::IdentityProvider,
    auth::AdminAuth,
    error::{AdminErrors, Listing, Single},
};
use crate::{
    AppState,
    api_tags::ApiTag,
    error::Error,
    store::{
        db,
        sync::{self, Verdict},
        tenants,
    },
};

/// How a tenant's provisioning goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "lowercase")]
pub enum SyncVerdict {
    Healthy,
    /// Something needs a look: a few failures, silence, a token about to expire or unused
    /// since rotation.
    Warning,
    /// Provisioning is not working: most requests fail, or no token is live.
    Failing,
}

/// Requests received in a window, and how many failed (any 5xx, and any 4xx but a 404 on
/// a lookup).
#[derive(Debug, Clone, Object)]
pub struct RequestCounts {
    /// Requests received.
    pub requests: u64,
    /// Requests that failed.
    pub failures: u64,
}

/// A tenant's synced users.
#[derive(Debug, Clone, Object)]
pub struct UserCounts {
    /// Users with `active` true.
    pub active: u64,
    /// Users with `active` false.
    pub inactive: u64,
}

/// Requests that used one quirk of an identity provider's dialect, which the server
/// normalised.
#[derive(Debug, Clone, Object)]
pub struct QuirkCount {
    /// `capitalized_op`, `string_boolean`, `attribute_paths_as_keys`,
    /// `remove_members_by_value`, `explicit_nulls` or `microsoft_group_schema`.
    pub kind: String,
    /// Requests of the last 24 hours that used it.
    pub requests: u64,
}

/// A tenant's sync health.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct SyncHealth {
    /// The tenant's id.
    pub tenant_id: String,
    /// The tenant's name.
    pub tenant_name: String,
    // How its provisioning goes.
    pub verdict: SyncVerdict,
    /// Why, worst first; empty when healthy.
    pub reasons: Vec<String>,
    /// When its identity provider last sent a request (any request, rejected ones too).
    #[oai(skip_serializing_if_is_none)]
    pub last_request_at: Option<DateTime<Utc>>,
    /// When a create, replace, patch or delete last succeeded.
    #[oai(skip_serializing_if_is_none)]
    pub last_successful_write_at: Option<DateTime<Utc>>,
    // Requests in the last hour.
    pub last_hour: RequestCounts,
    // Requests in the last 24 hours.
    pub last_day: RequestCounts,
    // The identity provider of the newest authenticated request.
    #[oai(skip_serializing_if_is_none)]
    pub identity_provider: Option<IdentityProvider>,
    // Its users.
    pub users: UserCounts,
    /// Its groups.
    pub groups: u64,
    /// SCIM tokens that work now: neither revoked nor expired (a token a rotation
    /// superseded counts until its end).
    pub live_tokens: u64,
    /// The dialect quirks its identity provider used in the last 24 hours, normalised by
    /// the server, by kind.
    pub quirks: Vec<QuirkCount>,
}

#[derive(ApiResponse)]
pub enum SyncHealthResponse {
    /// The tenant's sync health.
    #[oai(status = 200)]
    Ok(Json<SyncHealth>),
}

#[derive(ApiResponse)]
pub enum SyncHealthListResponse {
    /// Every tenant's sync health, oldest tenant first.
    #[oai(status = 200)]
    Ok(Json<Vec<SyncHealth>>),
}

fn counts(window: sync::Window) -> RequestCounts {
    RequestCounts {
        requests: window.requests,
        failures: window.failures,
    }
}

async fn health(state: &AppState, tenant: tenant::Model) -> Result<SyncHealth, Error> {
    let now = state.clock.now();
    // One snapshot, so the windows and counts agree while the log is being written.
    let snapshot = db::begin_snapshot(state.db.reads()).await?;
    let facts = sync::facts(&snapshot, &tenant.id, now).await?;
    snapshot.rollback().await?;
    let silence = Duration::from_std(state.settings.activity.silence).unwrap_or(Duration::MAX);
    let (verdict, reasons) = sync::verdict(&facts, now, silence);
    Ok(SyncHealth {
        tenant_id: tenant.id,
        tenant_name: tenant.name,
        verdict: match verdict {
            Verdict::Healthy => SyncVerdict::Healthy,
            Verdict::Warning => SyncVerdict::Warning,
            Verdict::Failing => SyncVerdict::Failing,
        },
        reasons,
        last_request_at: facts.last_request_at,
        last_successful_write_at: facts.last_write_at,
        last_hour: counts(facts.last_hour),
        last_day: counts(facts.last_day),
        identity_provider: facts.idp.as_deref().map(IdentityProvider::of),
        users: UserCounts {
            active: facts.active_users,
            inactive: facts.inactive_users,
        },
        groups: facts.groups,
        live_tokens: facts.live_tokens.len() as u64,
        quirks: facts
            .quirks
            .into_iter()
            .map(|(kind, requests)| QuirkCount { kind, requests })
            .collect(),
    })
}

/// Tenants read per page when listing every tenant's health.
const TENANT_PAGE: u64 = 500;

pub struct SyncApi;

#[OpenApi(prefix_path = "/admin/v1", tag = "ApiTag::Activity")]
impl SyncApi {
    /// Get a tenant's sync health
    ///
    /// From its provisioning log, its resources and its SCIM tokens: the last request and
    /// the last successful write, requests and failures in the last hour and day, the
    /// identity provider calling, users and groups, and a verdict with its reasons.
    #[oai(
        path = "/tenants/:tenantId/sync",
        method = "get",
        operation_id = "admin_get_sync_health"
    )]
    async fn get_sync_health(
        &self,
        state: Data<&AppState>,
        auth: AdminAuth,
        /// The tenant's id.
        #[oai(name = "tenantId")]
        tenant_id: Path<String>,
    ) -> Result<SyncHealthResponse, AdminErrors<Single>> {
        auth.0.require_tenant(&tenant_id)?;
        let tenant = tenants::get(state.db.reads(), &tenant_id).await?;
        Ok(SyncHealthResponse::Ok(Json(health(&state, tenant).await?)))
    }

    /// List every tenant's sync health
    ///
    /// For operators: the health of each tenant, oldest tenant first.
    #[oai(
        path = "/sync",
        method = "get",
        operation_id = "admin_list_sync_health"
    )]
    async fn list_sync_health(
        &self,
        state: Data<&AppState>,
        auth: AdminAuth,
    ) -> Result<SyncHealthListResponse, AdminErrors<Listing>> {
        auth.0.require_operator()?;
        let mut all = Vec::new();
        let mut cursor = None;
        loop {
            let (page, next) =
                tenants::list(state.db.reads(), cursor.as_deref(), TENANT_PAGE).await?;
            for tenant in page {
                all.push(health(&state, tenant).await?);
            }
            match next {
                Some(next) => cursor = Some(next),
                None => return Ok(SyncHealthListResponse::Ok(Json(all))),
            }
        }
    }
}
