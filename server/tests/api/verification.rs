//! Token verification under load: concurrent first requests share one argon2 run, a busy
//! credential is refreshed before its cache entry expires, and a revocation that lands
//! during a refresh still takes effect at once.

use std::sync::Arc;

use poem::http::StatusCode;
use serde_json::json;
use tokio::sync::Barrier;

use crate::helpers::TestApp;

on_every_backend!(
    concurrent_first_requests_run_argon2_once,
    a_busy_credential_is_refreshed_without_argon2,
    revocation_during_a_refresh_wins
);

async fn concurrent_first_requests_run_argon2_once(app: TestApp) {
    let app = Arc::new(app);
    let tenant = app.tenant_id("Acme").await;
    let token = app.token(&tenant).await;
    let runs_before = app.state.auth.hasher().runs();
    let start = Arc::new(Barrier::new(24));
    let requests: Vec<_> = (0..24)
        .map(|_| {
            let (app, tenant, token, start) = (
                Arc::clone(&app),
                tenant.clone(),
                token.clone(),
                Arc::clone(&start),
            );
            tokio::spawn(async move {
                start.wait().await;
                app.spc_status(&tenant, &token).await
            })
        })
        .collect();
    for request in requests {
        assert_eq!(request.await.unwrap(), StatusCode::OK);
    }
    assert_eq!(
        app.state.auth.hasher().runs() - runs_before,
        1,
        "one verification served all 24 requests"
    );
    // A wrong secret for the same id is refused without another argon2 run.
    let last = if token.ends_with('x') { 'y' } else { 'x' };
    let wrong = format!("{}{last}", &token[..token.len() - 1]);
    assert_eq!(
        app.spc_status(&tenant, &wrong).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(app.state.auth.hasher().runs() - runs_before, 1);
}

/// Waits until the background refresh has run (it is spawned by the request that found
/// the entry due).
async fn settle() {
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
}

async fn a_busy_credential_is_refreshed_without_argon2(app: TestApp) {
    let tenant = app.tenant_id("Acme").await;
    let token = app.token(&tenant).await;
    assert_eq!(app.spc_status(&tenant, &token).await, StatusCode::OK);
    let runs = app.state.auth.hasher().runs();
    // Used every 40 s for five minutes with a 60 s TTL: each use past half the TTL renews
    // the entry from the stored row, so argon2 never runs again.
    for _ in 0..8 {
        app.advance(40);
        assert_eq!(app.spc_status(&tenant, &token).await, StatusCode::OK);
        settle().await;
    }
    assert_eq!(app.state.auth.hasher().runs(), runs);
    // Left alone longer than the TTL, the entry expires and the next use verifies again.
    app.advance(61);
    assert_eq!(app.spc_status(&tenant, &token).await, StatusCode::OK);
    assert_eq!(app.state.auth.hasher().runs(), runs + 1);
}

async fn revocation_during_a_refresh_wins(app: TestApp) {
    let tenant = app.tenant_id("Acme").await;
    let issued = app.issue_token(&tenant, json!({})).await;
    let token = issued["token"].as_str().unwrap().to_owned();
    let id = issued["id"].as_str().unwrap().to_owned();
    assert_eq!(app.spc_status(&tenant, &token).await, StatusCode::OK);
    app.advance(40);
    // This request finds the entry due and starts a refresh; the revocation races it.
    let path = format!("/admin/v1/tenants/{tenant}/scim-tokens/{id}");
    let (status, revoked) = tokio::join!(
        app.spc_status(&tenant, &token),
        app.admin_delete(&app.operator_key, &path)
    );
    assert_eq!(status, StatusCode::OK, "it was valid when it was checked");
    revoked.assert_status(StatusCode::NO_CONTENT);
    settle().await;
    for _ in 0..3 {
        assert_eq!(
            app.spc_status(&tenant, &token).await,
            StatusCode::UNAUTHORIZED
        );
    }
}
