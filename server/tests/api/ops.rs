use poem::http::StatusCode;
use serde_json::json;

use crate::helpers::{TestApp, json_of};

on_every_backend!(probes, swagger_ui_is_served);

async fn probes(app: TestApp) {
    let resp = app.client.get("/healthz").send().await;
    resp.assert_status_is_ok();
    assert_eq!(
        json_of(resp).await,
        json!({ "status": "ok", "activityDropped": 0 })
    );
    let resp = app.client.get("/readyz").send().await;
    resp.assert_status_is_ok();
    assert_eq!(
        json_of(resp).await,
        json!({ "status": "ok", "activityDropped": 0 })
    );
}

/// SQLite only: closing a PostgreSQL pool waits for the invalidation listener's connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_fails_without_the_database() {
    let app = TestApp::sqlite().await;
    app.state.db.reads().clone().close().await.unwrap();
    let resp = app.client.get("/readyz").send().await;
    resp.assert_status(StatusCode::SERVICE_UNAVAILABLE);
    let body = json_of(resp).await;
    assert_eq!(body["status"], "unavailable");
    assert!(
        body["reason"].as_str().is_some_and(|r| !r.is_empty()),
        "{body}"
    );
    app.client
        .get("/healthz")
        .send()
        .await
        .assert_status_is_ok();
}

async fn swagger_ui_is_served(app: TestApp) {
    let resp = app.client.get("/docs").send().await;
    resp.assert_status_is_ok();
    let html = resp.0.into_body().into_string().await.unwrap();
    assert!(html.contains("swagger"), "{html}");
}
