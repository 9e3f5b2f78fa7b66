use std::net::IpAddr;

use poem::http::StatusCode;

use crate::process::ServerProcess;

use crate::helpers::{TestApp, assert_admin_error, assert_scim_error, test_settings};

fn strict() -> server::config::Settings {
    server::config::Settings {
        auth_failure_limit: 3,
        auth_failure_window: std::time::Duration::from_secs(60),
        ..test_settings()
    }
}

/// A client whose connections come from `127.0.0.<last>`.
fn client_from(last: u8) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(IpAddr::from([127, 0, 0, last]))
        .build()
        .unwrap()
}

/// The id part of `scim_<id>_<secret>`.
fn token_id(token: &str) -> &str {
    let (id, _) = token
        .strip_prefix("scim_")
        .unwrap()
        .split_once('_')
        .unwrap();
    id
}

/// Every in-process request comes from one address, as every client does behind a load
/// balancer.
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
    let resp = app.admin_get("sadm_nope", "/admin/v1/tenants").await;
    assert!(resp.0.headers().contains_key("Retry-After"));
    assert_admin_error(resp, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;

    // Valid credentials from the throttled address still work: the token (checked with
    // argon2 even though the address is throttled, as it is not in the cache yet), a token
    // issued now, and the operator key.
    assert_eq!(app.spc_status(&tenant, &token).await, StatusCode::OK);
    let other = app.tenant_id("Globex").await;
    let other_token = app.token(&other).await;
    assert_eq!(app.spc_status(&other, &other_token).await, StatusCode::OK);
    let resp = app.admin_get(&app.operator_key, "/admin/v1/tenants").await;
    assert_eq!(resp.0.status(), StatusCode::OK);

    app.advance(61);
    assert_eq!(
        app.spc_status(&tenant, &wrong).await,
        StatusCode::UNAUTHORIZED,
        "a new window starts empty"
    );
}

/// Failures are counted per address and per credential id, separately: the real server,
/// with clients on three loopback addresses.
#[tokio::test]
async fn guesses_at_a_credential_are_throttled_for_that_id_and_that_address_only() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start_with(dir.path(), None, &["--auth-failure-limit", "3"]).await;
    let (tenant, token) = server.tenant(dir.path(), "Acme").await;
    let (guesser, holder, bystander) = (client_from(2), client_from(3), client_from(4));
    let spc = server.scim_url(&tenant, "/ServiceProviderConfig");
    let status = |client: &reqwest::Client, credential: &str| {
        let request = client.get(&spc).bearer_auth(credential).send();
        async move { request.await.unwrap().status() }
    };
    let id = token_id(&token);
    let guess = format!("scim_{id}_{}", "A".repeat(40));
    for _ in 0..3 {
        assert_eq!(status(&guesser, &guess).await, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(
        status(&guesser, &guess).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    // Another address guessing at the same id is throttled: the id is.
    assert_eq!(
        status(&bystander, &guess).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    // That address is not: its own wrong token is an ordinary 401.
    let unknown = format!("scim_{}_{}", "0".repeat(32), "A".repeat(40));
    assert_eq!(status(&bystander, &unknown).await, StatusCode::UNAUTHORIZED);
    // The token's holder, and the guesser's address with the right secret, are served.
    assert_eq!(status(&holder, &token).await, StatusCode::OK);
    assert_eq!(status(&guesser, &token).await, StatusCode::OK);
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

/// A wrong secret on a cached id is found out without argon2, an unknown id needs it: both
/// are answered no sooner than a verification takes, so the answer's time does not tell a
/// live id from a made-up one.
async fn failures_take_as_long_as_a_verification(app: TestApp) {
    let tenant = app.tenant_id("Acme").await;
    let token = app.token(&tenant).await;
    assert_eq!(app.spc_status(&tenant, &token).await, StatusCode::OK);
    let id = token_id(&token);
    let wrong_secret = format!("scim_{id}_{}", "B".repeat(40));
    let unknown = format!("scim_{}_{}", "0".repeat(32), "A".repeat(40));
    for credential in [&wrong_secret, &unknown] {
        let started = std::time::Instant::now();
        assert_eq!(
            app.spc_status(&tenant, credential).await,
            StatusCode::UNAUTHORIZED
        );
        let took = started.elapsed();
        // Read after the answer: the unknown id's own run is the latest, and under a loaded
        // machine it may be shorter than the one before it.
        let floor = app.state.auth.hasher().typical_run();
        assert!(!floor.is_zero());
        assert!(
            took >= floor,
            "answered in {took:?}, a verification takes {floor:?}"
        );
    }
}

on_every_backend!(failures_take_as_long_as_a_verification);

/// Behind a trusted proxy each client is counted by the address the proxy forwards for;
/// anyone else's `X-Forwarded-For` is ignored.
#[tokio::test]
async fn forwarded_addresses_count_only_through_a_trusted_proxy() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start_with(
        dir.path(),
        None,
        &[
            "--auth-failure-limit",
            "3",
            "--trusted-proxies",
            "127.0.0.2",
        ],
    )
    .await;
    let (tenant, _) = server.tenant(dir.path(), "Acme").await;
    let (proxy, stranger) = (client_from(2), client_from(3));
    let spc = server.scim_url(&tenant, "/ServiceProviderConfig");
    let unknown = format!("scim_{}_{}", "0".repeat(32), "A".repeat(40));
    let status = |client: &reqwest::Client, forwarded_for: &str| {
        let request = client
            .get(&spc)
            .bearer_auth(&unknown)
            .header("X-Forwarded-For", forwarded_for)
            .send();
        async move { request.await.unwrap().status() }
    };
    for _ in 0..3 {
        assert_eq!(
            status(&proxy, "203.0.113.7").await,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        status(&proxy, "203.0.113.7").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    // Another client behind the same proxy is not throttled.
    assert_eq!(
        status(&proxy, "203.0.113.8").await,
        StatusCode::UNAUTHORIZED
    );
    // A client that is not a trusted proxy cannot claim the throttled address (nor escape
    // its own count by naming new ones).
    for forwarded_for in ["203.0.113.7", "203.0.113.9", "203.0.113.10"] {
        assert_eq!(
            status(&stranger, forwarded_for).await,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        status(&stranger, "203.0.113.11").await,
        StatusCode::TOO_MANY_REQUESTS
    );
}
