//! Probes for orchestrators: `/healthz` says the process serves requests, `/readyz` that
//! it can also reach its database.

use poem::web::Data;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi, payload::Json};

use crate::{AppState, api_tags::ApiTag};

/// Whether the probe passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "lowercase")]
pub enum HealthStatus {
    Ok,
    Unavailable,
}

/// Probe result.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct Health {
    // Whether the probe passed.
    pub status: HealthStatus,
    /// Why the server is not ready (a database that does not answer, writes failing).
    #[oai(skip_serializing_if_is_none)]
    pub reason: Option<String>,
    /// Provisioning log entries this process dropped since it started: its queue was full
    /// or their write failed. SCIM requests are never slowed or failed for the log.
    pub activity_dropped: u64,
}

#[derive(ApiResponse)]
pub enum HealthResponse {
    /// The process is up.
    #[oai(status = 200)]
    Ok(Json<Health>),
}

#[derive(ApiResponse)]
pub enum ReadyResponse {
    /// The database answers; the server can take traffic.
    #[oai(status = 200)]
    Ready(Json<Health>),
    /// The database does not answer.
    #[oai(status = 503)]
    NotReady(Json<Health>),
}

fn health(state: &AppState, status: HealthStatus, reason: Option<String>) -> Json<Health> {
    Json(Health {
        status,
        reason,
        activity_dropped: state.activity.dropped(),
    })
}

const READY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

pub struct OpsApi;

#[OpenApi(tag = "ApiTag::Operations")]
impl OpsApi {
    /// Liveness probe
    #[oai(path = "/healthz", method = "get", operation_id = "healthz")]
    async fn healthz(&self, state: Data<&AppState>) -> HealthResponse {
        HealthResponse::Ok(health(&state, HealthStatus::Ok, None))
    }

    /// Readiness probe
    #[oai(path = "/readyz", method = "get", operation_id = "readyz")]
    async fn readyz(&self, state: Data<&AppState>) -> ReadyResponse {
        // A database that hangs is as unready as one that refuses.
        match tokio::time::timeout(READY_TIMEOUT, state.db.check()).await {
            Ok(Ok(())) => ReadyResponse::Ready(health(&state, HealthStatus::Ok, None)),
            Ok(Err(err)) => {
                tracing::warn!(error = %err, "readiness check failed");
                let reason = state.db.write_problem().unwrap_or_else(|| err.to_string());
                ReadyResponse::NotReady(health(&state, HealthStatus::Unavailable, Some(reason)))
            }
            Err(_) => {
                tracing::warn!("readiness check timed out");
                ReadyResponse::NotReady(health(
                    &state,
                    HealthStatus::Unavailable,
                    Some("the database did not answer in time".to_owned()),
                ))
            }
        }
    }
}
