//! `GET /admin/v1/metrics`: the Prometheus metrics for operator keys, on the server's own
//! port. A scraper without a key reads them at `/metrics` on `--metrics-bind`.

use poem::web::Data;
use poem_openapi::{ApiResponse, OpenApi, payload::PlainText};

use super::{
    auth::AdminAuth,
    error::{AdminErrors, Own},
};
use crate::{AppState, api_tags::ApiTag};

#[derive(ApiResponse)]
pub enum MetricsResponse {
    /// The metrics in the Prometheus text exposition format, version 0.0.4.
    #[oai(status = 200, content_type = "text/plain")]
    Ok(PlainText<String>),
}

pub struct MetricsApi;

#[OpenApi(prefix_path = "/admin/v1", tag = "ApiTag::Operations")]
impl MetricsApi {
    /// Read the server's metrics
    ///
    /// Requests by route, status and tenant bucket with their latencies, authentications and
    /// token-cache lookups, argon2 runs, rate-limit refusals, the SQLite writer's queue and
    /// batches, dropped provisioning log entries, database pool use and the process's
    /// memory, CPU and file descriptors. Operator keys only.
    #[oai(path = "/metrics", method = "get", operation_id = "admin_metrics")]
    async fn metrics(
        &self,
        state: Data<&AppState>,
        auth: AdminAuth,
    ) -> Result<MetricsResponse, AdminErrors<Own>> {
        auth.0.require_operator()?;
        Ok(MetricsResponse::Ok(PlainText(crate::metrics::render(
            &state,
        ))))
    }
}
