//! Per-tenant request limits on the SCIM API: counted answers say where the tenant stands
//! (`X-Rate-Limit-*`), the request past the limit gets a SCIM 429 with `Retry-After`, other
//! tenants and failed authentications are not counted, a new window starts afresh, and on
//! PostgreSQL replicas share one count.

use std::time::Duration;

use poem::{http::StatusCode, test::TestResponse};
use server::{config::Settings, rate_limit::RateLimitSettings};

use crate::helpers::{TestApp, assert_scim_error, json_of, test_settings};

const WINDOW_SECS: u64 = 3600;

/// Moves the apps' clocks to the start of a window, so that no test crosses one by chance.
fn to_a_window_start(apps: &[&TestApp]) {
    let now = apps[0].state.clock.now().timestamp();
    let window = i64::try_from(WINDOW_SECS).unwrap();
    for app in apps {
        app.advance(window - now.rem_euclid(window));
    }
}

fn limited(requests: u64) -> Settings {
    Settings {
        rate_limit: RateLimitSettings {
            requests,
            window: Duration::from_secs(WINDOW_SECS),
            sync_interval: Duration::from_millis(50),
        },
        ..test_settings()
    }
}

fn header(resp: &TestResponse, name: &str) -> Option<u64> {
    resp.0
        .headers()
        .get(name)
        .map(|value| value.to_str().unwrap().parse().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite() {
    limits_each_tenant(TestApp::sqlite_with(limited(3)).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres() {
    if let Some(app) = TestApp::postgres_with(limited(3)).await {
        limits_each_tenant(app).await;
    }
}

async fn limits_each_tenant(app: TestApp) {
    to_a_window_start(&[&app]);
    let acme = app.scim("Acme").await;
    let globex = app.scim("Globex").await;

    let mut remaining = Vec::new();
    for _ in 0..3 {
        let resp = acme.get("/Users").await;
        resp.assert_status_is_ok();
        assert_eq!(header(&resp, "X-Rate-Limit-Limit"), Some(3));
        let reset = header(&resp, "X-Rate-Limit-Reset").unwrap();
        assert!((3000..=WINDOW_SECS).contains(&reset), "reset in {reset} s");
        remaining.push(header(&resp, "X-Rate-Limit-Remaining").unwrap());
    }
    assert_eq!(remaining, [2, 1, 0]);

    // Failed authentications are the failure throttle's business: not counted, no headers.
    let stranger = app
        .client
        .get(acme.url("/Users"))
        .header("Authorization", "Bearer scim_nope_nope")
        .send()
        .await;
    stranger.assert_status(StatusCode::UNAUTHORIZED);
    assert_eq!(header(&stranger, "X-Rate-Limit-Remaining"), None);

    let refused = acme.get("/Users").await;
    let retry_after = header(&refused, "Retry-After").unwrap();
    assert_eq!(header(&refused, "X-Rate-Limit-Remaining"), Some(0));
    assert_eq!(header(&refused, "X-Rate-Limit-Reset"), Some(retry_after));
    let body = assert_scim_error(refused, StatusCode::TOO_MANY_REQUESTS).await;
    assert!(body["detail"].as_str().unwrap().contains("Retry-After"));
    // Refused requests do nothing, writes included.
    acme.post("/Users", &crate::helpers::user("late"))
        .await
        .assert_status(StatusCode::TOO_MANY_REQUESTS);

    let other = globex.get("/Users").await;
    other.assert_status_is_ok();
    assert_eq!(header(&other, "X-Rate-Limit-Remaining"), Some(2));

    app.advance(i64::try_from(WINDOW_SECS).unwrap());
    let next_window = acme.get("/Users?filter=userName%20eq%20%22late%22").await;
    next_window.assert_status_is_ok();
    assert_eq!(header(&next_window, "X-Rate-Limit-Remaining"), Some(2));
    assert_eq!(json_of(next_window).await["totalResults"], 0);
}

/// One replica spends most of the tenant's window; the other is refused once it has heard
/// of that, instead of granting a whole window of its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_share_the_count() {
    let Some(first) = TestApp::postgres_with(limited(10)).await else {
        return;
    };
    let second = first.replica().await;
    to_a_window_start(&[&first, &second]);
    let scim = first.scim("Acme").await;
    for _ in 0..8 {
        scim.get("/ServiceProviderConfig")
            .await
            .assert_status_is_ok();
    }
    let on_second = |path: &'static str| {
        second
            .client
            .get(scim.url(path))
            .header("Authorization", format!("Bearer {}", scim.token))
            .send()
    };
    let mut admitted_by_second = 0;
    for _ in 0..10 {
        let resp = on_second("/ServiceProviderConfig").await;
        if resp.0.status() == StatusCode::TOO_MANY_REQUESTS {
            break;
        }
        resp.assert_status_is_ok();
        admitted_by_second += 1;
        // Both replicas report every 50 ms.
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        (1..=3).contains(&admitted_by_second),
        "the second replica let {admitted_by_second} requests through after the first spent 8 of 10"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_share() {
    one_tenant_cannot_hold_every_turn(TestApp::sqlite_with(one_at_a_time()).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_share() {
    if let Some(app) = TestApp::postgres_with(one_at_a_time()).await {
        one_tenant_cannot_hold_every_turn(app).await;
    }
}

fn one_at_a_time() -> Settings {
    Settings {
        tenant_concurrency: Some(1),
        tenant_wait: Duration::from_millis(200),
        ..test_settings()
    }
}

/// A create whose body is still arriving holds Acme's only turn: Acme's next request waits,
/// then gets 429; Globex is served meanwhile; once the body is in, Acme is served again.
async fn one_tenant_cannot_hold_every_turn(app: TestApp) {
    use futures_util::StreamExt;

    let acme = app.scim("Acme").await;
    let globex = app.scim("Globex").await;
    let (reading, server_reads) = tokio::sync::oneshot::channel::<()>();
    let (release, released) = tokio::sync::oneshot::channel::<()>();
    let head =
        r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"slow@acme.test""#;
    let body = futures_util::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from(head))])
        .chain(futures_util::stream::once(async move {
            // Asked for the rest: the server has authenticated the request and reads its body.
            let _ = reading.send(());
            let _ = released.await;
            Ok(bytes::Bytes::from("}"))
        }));
    let slow = app
        .client
        .post(acme.url("/Users"))
        .header("Authorization", format!("Bearer {}", acme.token))
        .content_type("application/scim+json")
        .body(poem::Body::from_bytes_stream(body))
        .send();
    let meanwhile = async {
        server_reads.await.unwrap();
        let waited = acme.get("/Users").await;
        let other = globex.get("/Users").await;
        release.send(()).unwrap();
        (waited, other)
    };
    let (created, (waited, other)) = tokio::join!(slow, meanwhile);

    assert_eq!(header(&waited, "Retry-After"), Some(1));
    let body = assert_scim_error(waited, StatusCode::TOO_MANY_REQUESTS).await;
    assert!(
        body["detail"].as_str().unwrap().contains("in progress"),
        "{body}"
    );
    other.assert_status_is_ok();
    created.assert_status(StatusCode::CREATED);
    let after = acme.get("/Users").await;
    after.assert_status_is_ok();
    assert_eq!(json_of(after).await["totalResults"], 1);
}
