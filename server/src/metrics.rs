//! Prometheus metrics. What the request path counts lives in process-wide series (one
//! registry, as Prometheus clients do); what the state already knows (argon2 runs, dropped
//! log entries, queue depth, pool use) is read when scraped. Served to operator keys at
//! `GET /admin/v1/metrics`, and to anyone at `/metrics` on `--metrics-bind`, an address
//! of its own meant for the monitoring network only.

use std::{
    hash::{Hash, Hasher},
    sync::{Arc, LazyLock},
    time::Instant,
};

use poem::{Endpoint, IntoResponse, PathPattern, Request, Response};
use prometheus::{
    Counter, Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry, TextEncoder,
};

use crate::AppState;

/// Tenants are hashed into this many buckets: enough to see that one tenant is hot without
/// a series per tenant.
const TENANT_BUCKETS: u64 = 8;

// Names, help texts and labels below are constants: a failure to build one is a programming
// error that every test run would show at once.
#[expect(clippy::expect_used, reason = "constant metric definitions")]
fn registered<M: prometheus::core::Collector + Clone + 'static>(metric: M) -> M {
    REGISTRY
        .register(Box::new(metric.clone()))
        .expect("metric names are unique");
    metric
}

static REGISTRY: LazyLock<Registry> = LazyLock::new(Registry::new);

#[expect(clippy::expect_used, reason = "constant metric definitions")]
static REQUESTS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    registered(
        IntCounterVec::new(
            Opts::new(
                "scim_http_requests_total",
                "HTTP requests answered, by route, method, status and tenant bucket",
            ),
            &["route", "method", "status", "tenant_bucket"],
        )
        .expect("valid metric"),
    )
});

#[expect(clippy::expect_used, reason = "constant metric definitions")]
static DURATION: LazyLock<HistogramVec> = LazyLock::new(|| {
    registered(
        HistogramVec::new(
            HistogramOpts::new(
                "scim_http_request_duration_seconds",
                "Time from the request head to the answer's head, by route and method",
            )
            .buckets(vec![
                0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                10.0,
            ]),
            &["route", "method"],
        )
        .expect("valid metric"),
    )
});

#[expect(clippy::expect_used, reason = "constant metric definitions")]
static AUTHENTICATIONS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    registered(
        IntCounterVec::new(
            Opts::new(
                "scim_authentications_total",
                "Credentials checked, by kind (scim, admin) and outcome (ok, failed, \
                 throttled, unavailable: the database could not be read)",
            ),
            &["kind", "outcome"],
        )
        .expect("valid metric"),
    )
});

#[expect(clippy::expect_used, reason = "constant metric definitions")]
static CACHE_LOOKUPS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    registered(
        IntCounterVec::new(
            Opts::new(
                "scim_token_cache_lookups_total",
                "Verification cache lookups for presented credentials, by result (hit, miss)",
            ),
            &["result"],
        )
        .expect("valid metric"),
    )
});

#[expect(clippy::expect_used, reason = "constant metric definitions")]
static RATE_LIMITED: LazyLock<IntCounter> = LazyLock::new(|| {
    registered(
        IntCounter::new(
            "scim_rate_limited_total",
            "SCIM requests refused because their tenant's rate limit was spent or its share of \
             requests in progress was taken",
        )
        .expect("valid metric"),
    )
});

#[expect(clippy::expect_used, reason = "constant metric definitions")]
static READS_ABANDONED: LazyLock<IntCounter> = LazyLock::new(|| {
    registered(
        IntCounter::new(
            "scim_reads_abandoned_total",
            "Searches whose client went away before the answer; their statements are stopped",
        )
        .expect("valid metric"),
    )
});

#[expect(clippy::expect_used, reason = "constant metric definitions")]
static WRITE_BATCHES: LazyLock<Histogram> = LazyLock::new(|| {
    registered(
        Histogram::with_opts(
            HistogramOpts::new(
                "scim_write_batch_size",
                "Writes committed together by the SQLite writer",
            )
            .buckets(vec![
                1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0,
            ]),
        )
        .expect("valid metric"),
    )
});

#[expect(clippy::expect_used, reason = "constant metric definitions")]
static WRITE_COMMITS: LazyLock<Histogram> = LazyLock::new(|| {
    registered(
        Histogram::with_opts(
            HistogramOpts::new(
                "scim_write_commit_seconds",
                "Time the SQLite writer's COMMIT of a batch took (writing and syncing the WAL)",
            )
            .buckets(vec![
                0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0,
                10.0,
            ]),
        )
        .expect("valid metric"),
    )
});

#[expect(clippy::expect_used, reason = "constant metric definitions")]
static WRITER_BUSY: LazyLock<Counter> = LazyLock::new(|| {
    registered(
        Counter::new(
            "scim_write_busy_seconds_total",
            "Time the SQLite writer spent on batches (running, committing and answering \
             them); its rate is the share of time the one writer is busy, near 1 when writes \
             wait for it",
        )
        .expect("valid metric"),
    )
});

#[expect(clippy::expect_used, reason = "constant metric definitions")]
static CONNECTIONS: LazyLock<IntGauge> = LazyLock::new(|| {
    registered(
        IntGauge::new("scim_connections_open", "Client connections being served")
            .expect("valid metric"),
    )
});

/// How a credential check ended, for `scim_authentications_total`.
pub fn authenticated(kind: &'static str, outcome: &'static str) {
    AUTHENTICATIONS.with_label_values(&[kind, outcome]).inc();
}

pub fn token_cache_lookup(hit: bool) {
    CACHE_LOOKUPS
        .with_label_values(&[if hit { "hit" } else { "miss" }])
        .inc();
}

pub fn rate_limited() {
    RATE_LIMITED.inc();
}

pub fn read_abandoned() {
    READS_ABANDONED.inc();
}

pub fn write_batch(size: usize) {
    WRITE_BATCHES.observe(size as f64);
}

pub fn write_commit(took: std::time::Duration) {
    WRITE_COMMITS.observe(took.as_secs_f64());
}

pub fn writer_busy(took: std::time::Duration) {
    WRITER_BUSY.inc_by(took.as_secs_f64());
}

/// Counts a client connection for as long as the guard lives.
pub struct OpenConnection(());

impl OpenConnection {
    pub fn open() -> Self {
        CONNECTIONS.inc();
        Self(())
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        CONNECTIONS.dec();
    }
}

/// Counts and times every request by the route it matched (`/scim/:tenantId/v2/Users/:id`,
/// never the raw path, so the series stay few).
pub async fn record<E: Endpoint>(ep: Arc<E>, req: Request) -> poem::Result<Response> {
    let started = Instant::now();
    let method = req.method().clone();
    let bucket = tenant_bucket(req.uri().path());
    let resp = match ep.call(req).await {
        Ok(resp) => resp.into_response(),
        Err(err) => err.into_response(),
    };
    let route = resp
        .data::<PathPattern>()
        .map_or("unmatched", |pattern| crate::routes::label_of(&pattern.0));
    let status = resp.status();
    REQUESTS
        .with_label_values(&[route, method.as_str(), status.as_str(), bucket])
        .inc();
    DURATION
        .with_label_values(&[route, method.as_str()])
        .observe(started.elapsed().as_secs_f64());
    Ok(resp)
}

/// The labels of the tenant buckets, so that labelling a request allocates nothing.
const BUCKETS: [&str; TENANT_BUCKETS as usize] = ["0", "1", "2", "3", "4", "5", "6", "7"];

/// The bucket of the tenant a path names, or `none`.
fn tenant_bucket(path: &str) -> &'static str {
    let tenant = path
        .strip_prefix("/scim/")
        .or_else(|| path.strip_prefix("/admin/v1/tenants/"))
        .and_then(|rest| rest.split('/').next())
        .filter(|tenant| !tenant.is_empty());
    let Some(tenant) = tenant else {
        return "none";
    };
    let mut hasher = std::hash::DefaultHasher::new();
    tenant.hash(&mut hasher);
    BUCKETS[(hasher.finish() % TENANT_BUCKETS) as usize]
}

/// Every metric in the Prometheus text format.
pub fn render(state: &AppState) -> String {
    let now = Registry::new();
    let snapshot = |name: &str, help: &str, value: u64| -> prometheus::Result<()> {
        let counter = IntCounter::new(name, help)?;
        counter.inc_by(value);
        now.register(Box::new(counter))
    };
    let gauge = |name: &str, help: &str, value: i64| -> prometheus::Result<()> {
        let gauge = IntGauge::new(name, help)?;
        gauge.set(value);
        now.register(Box::new(gauge))
    };
    let stats = state.db.stats();
    let filled = (|| -> prometheus::Result<()> {
        snapshot(
            "scim_argon2_runs_total",
            "argon2 verifications and hashes run",
            state.auth.hasher().runs(),
        )?;
        gauge(
            "scim_token_cache_entries",
            "Credentials held verified in memory",
            i64::try_from(state.auth.cached_credentials()).unwrap_or(i64::MAX),
        )?;
        snapshot(
            "scim_activity_dropped_total",
            "Provisioning log entries dropped (queue full or write failed)",
            state.activity.dropped(),
        )?;
        snapshot(
            "scim_log_lines_dropped_total",
            "Server log lines dropped because standard error did not keep up",
            crate::logging::dropped_lines(),
        )?;
        gauge(
            "scim_write_queue_depth",
            "Writes waiting for the SQLite writer",
            i64::try_from(stats.queued_writes).unwrap_or(i64::MAX),
        )?;
        let pool = IntGaugeVec::new(
            Opts::new(
                "scim_db_pool_connections",
                "Connections of the request pool, by state (busy, idle)",
            ),
            &["state"],
        )?;
        pool.with_label_values(&["busy"])
            .set(i64::from(stats.pool_size.saturating_sub(stats.pool_idle)));
        pool.with_label_values(&["idle"])
            .set(i64::from(stats.pool_idle));
        now.register(Box::new(pool))?;
        now.register(Box::new(
            prometheus::process_collector::ProcessCollector::for_self(),
        ))
    })();
    if let Err(err) = filled {
        tracing::error!(error = %err, "a metric could not be read");
    }
    // The process-wide series are created on first use; these exist from the start.
    LazyLock::force(&REQUESTS);
    LazyLock::force(&DURATION);
    LazyLock::force(&AUTHENTICATIONS);
    LazyLock::force(&CACHE_LOOKUPS);
    LazyLock::force(&RATE_LIMITED);
    LazyLock::force(&READS_ABANDONED);
    LazyLock::force(&WRITE_BATCHES);
    LazyLock::force(&CONNECTIONS);
    let mut families = REGISTRY.gather();
    families.extend(now.gather());
    let mut text = Vec::new();
    if let Err(err) = TextEncoder::new().encode(&families, &mut text) {
        tracing::error!(error = %err, "metrics could not be encoded");
    }
    String::from_utf8(text).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenants_fall_into_few_buckets() {
        let bucket = tenant_bucket("/scim/0193-abc/v2/Users");
        assert_eq!(bucket, tenant_bucket("/admin/v1/tenants/0193-abc/users"));
        assert!(bucket.parse::<u64>().unwrap() < TENANT_BUCKETS);
        assert_eq!(tenant_bucket("/admin/v1/tenants"), "none");
        assert_eq!(tenant_bucket("/healthz"), "none");
        assert_eq!(tenant_bucket("/scim//v2"), "none");
    }
}
