use poem::http::StatusCode;

use crate::helpers::{TestApp, assert_admin_error, assert_scim_error, test_settings};

fn strict() -> server::config::Settings {
    server::config::Settings {
        auth_failure_limit: 3,
        auth_failure_window: std::time::Duration::from_secs(60),
        ..test_settings()
    }
}

async fn repeated_failures_are_slowed_down(app: TestApp) {
    let tenant = app.tenant_id("Acme").await;
    let token = app.token(&tenant).await;
    let wrong = format!("scim_{}_{}", "0".repeat(32), "A".repeat(40));
    for _ in 0..3 {
        assert_eq!(
            app.spc_status(&tenant, &wrong).await,
            StatusCode::UNAUTHORIZED
        );
    }
    let resp = app.spc(&tenant, &wrong).await;
    let retry_after: u64 = resp.0.headers()["Retry-After"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=61).contains(&retry_after), "{retry_after}");
    assert_scim_error(resp, StatusCode::TOO_MANY_REQUESTS).await;
    assert_eq!(
        app.spc_status(&tenant, &token).await,
        StatusCode::TOO_MANY_REQUESTS,
        "a blocked client is blocked whatever it presents"
    );
    let resp = app.admin_get("sadm_nope", "/admin/v1/tenants").await;
    assert!(resp.0.headers().contains_key("Retry-After"));
    assert_admin_error(resp, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;

    app.advance(61);
    assert_eq!(app.spc_status(&tenant, &token).await, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite() {
    repeated_failures_are_slowed_down(TestApp::sqlite_with(strict()).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres() {
    if let Some(app) = TestApp::postgres_with(strict()).await {
        repeated_failures_are_slowed_down(app).await;
    }
}
