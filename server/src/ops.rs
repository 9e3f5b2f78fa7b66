//! Probes for orchestrators: `/healthz` says the process serves requests, `/readyz` that
//! it can also reach its database.

use poem::web::Data;
use poem_openapi::{ApiResponse, Object, OpenApi, payload::Json};

use crate::{AppState, api_tags::ApiTag, store};

/// Probe result.
#[derive(Debug, Clone, Object)]
pub struct Health {
    /// `ok` or `unavailable`.
    pub status: String,
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

fn health(status: &str) -> Json<Health> {
    Json(Health {
        status: status.to_owned(),
    })
}

pub struct OpsApi;

#[OpenApi(tag = "ApiTag::Operations")]
impl OpsApi {
    /// Liveness probe
    #[oai(path = "/healthz", method = "get", operation_id = "healthz")]
    async fn healthz(&self) -> HealthResponse {
        HealthResponse::Ok(health("ok"))
    }

    /// Readiness probe
    #[oai(path = "/readyz", method = "get", operation_id = "readyz")]
    async fn readyz(&self, state: Data<&AppState>) -> ReadyResponse {
        match store::db::ping(&state.db).await {
            Ok(()) => ReadyResponse::Ready(health("ok")),
            Err(err) => {
                tracing::warn!(error = %err, "readiness check failed");
                ReadyResponse::NotReady(health("unavailable"))
            }
        }
    }
}
