//! Metrics: operator keys read them on the main port; `--metrics-bind` serves them to
//! anyone on an address of its own, and nothing else there. The series move with what the
//! server does.

use poem::http::StatusCode;
use server::{config::Settings, rate_limit::RateLimitSettings};

use crate::{
    helpers::{TestApp, assert_admin_error, test_settings},
    process::{ServerProcess, free_port, operator_key},
};

/// The sum of the series that start with `prefix` (name and labels, in the order the
/// encoder writes them: sorted by name); `None` when there is none. Other tests share the
/// process, so the same route can appear under several tenant buckets.
fn value(text: &str, prefix: &str) -> Option<f64> {
    text.lines()
        .filter(|line| line.starts_with(prefix))
        .map(|line| line.rsplit(' ').next().unwrap().parse::<f64>().unwrap())
        .reduce(|a, b| a + b)
}

async fn scrape(app: &TestApp) -> String {
    let resp = app.admin_get(&app.operator_key, "/admin/v1/metrics").await;
    resp.assert_status_is_ok();
    resp.assert_header("content-type", "text/plain");
    resp.0.into_body().into_string().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite() {
    series_follow_the_traffic(TestApp::sqlite_with(one_request_a_window()).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres() {
    if let Some(app) = TestApp::postgres_with(one_request_a_window()).await {
        series_follow_the_traffic(app).await;
    }
}

fn one_request_a_window() -> Settings {
    Settings {
        rate_limit: RateLimitSettings {
            requests: 1,
            window: std::time::Duration::from_secs(3600),
            ..RateLimitSettings::default()
        },
        ..test_settings()
    }
}

async fn series_follow_the_traffic(app: TestApp) {
    let scim = app.scim("Acme").await;
    // Series are process-wide and tests share the process: compare before and after.
    let before = scrape(&app).await;
    let users =
        r#"scim_http_requests_total{method="GET",route="/scim/{tenantId}/v2/Users",status="200""#;
    let limited = "scim_rate_limited_total ";
    let scim_ok = r#"scim_authentications_total{kind="scim",outcome="ok"} "#;
    let commits = "scim_write_commit_seconds_count ";

    // Writes (a tenant and its token), to see the SQLite writer's commits timed.
    app.scim("Beta").await;
    scim.get("/Users").await.assert_status_is_ok();
    scim.get("/Users")
        .await
        .assert_status(StatusCode::TOO_MANY_REQUESTS);

    let after = scrape(&app).await;
    let grew = |prefix: &str| {
        value(&after, prefix).unwrap_or_default() - value(&before, prefix).unwrap_or_default()
    };
    assert!(grew(users) >= 1.0, "{after}");
    assert!(grew(limited) >= 1.0, "{after}");
    assert!(grew(scim_ok) >= 2.0, "{after}");
    if !app.is_postgres() {
        assert!(grew(commits) >= 1.0, "{after}");
        assert!(grew("scim_write_busy_seconds_total ") > 0.0, "{after}");
    }
    for series in [
        "scim_http_request_duration_seconds_bucket{",
        "scim_token_cache_lookups_total{result=\"hit\"} ",
        "scim_argon2_runs_total ",
        "scim_activity_dropped_total ",
        "scim_write_queue_depth ",
        "scim_db_pool_connections{state=\"idle\"} ",
        "scim_connections_open ",
        "process_resident_memory_bytes ",
    ] {
        assert!(
            value(&after, series).is_some(),
            "{series} missing from\n{after}"
        );
    }
    // No tenant id, user name or credential appears in a label.
    assert!(!after.contains(&scim.tenant), "{after}");

    let admin = app.tenant_admin_key(&scim.tenant).await;
    assert_admin_error(
        app.admin_get(&admin, "/admin/v1/metrics").await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    app.client
        .get("/admin/v1/metrics")
        .send()
        .await
        .assert_status(StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_metrics_address_serves_metrics_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let bind = format!("127.0.0.1:{port}");
    let server = ServerProcess::start_with(dir.path(), None, &["--metrics-bind", &bind]).await;
    let http = reqwest::Client::new();

    let metrics = http
        .get(format!("http://{bind}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(metrics.status(), 200);
    let text = metrics.text().await.unwrap();
    assert!(
        text.contains("# TYPE scim_http_requests_total counter"),
        "{text}"
    );

    for path in ["/healthz", "/admin/v1/tenants", "/openapi.json"] {
        let other = http
            .get(format!("http://{bind}{path}"))
            .send()
            .await
            .unwrap();
        assert_eq!(other.status(), 404, "{path}");
    }
    // The main port keeps them behind an operator key.
    let main = http
        .get(format!("{}/metrics", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(main.status(), 404);
    let with_key = http
        .get(format!("{}/admin/v1/metrics", server.base))
        .bearer_auth(operator_key(dir.path()))
        .send()
        .await
        .unwrap();
    assert_eq!(with_key.status(), 200);
    server.stop();
}
