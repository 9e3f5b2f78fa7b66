//! Sync health per tenant, read from the provisioning log with a controllable clock; the
//! log's and the feed's retention; the dropped-entries counter on the health probes.

use std::time::Duration;

use futures_util::StreamExt;
use poem::{http::StatusCode, test::TestResponse};
use sea_orm::{ActiveModelTrait, EntityTrait, Set};
use serde_json::{Value, json};

use crate::helpers::{TestApp, json_of, user};

on_every_backend!(
    verdicts_follow_the_log,
    retention_deletes_what_is_old,
    a_cursor_that_retention_passed_is_refused,
    a_cursor_beyond_the_newest_event_is_refused,
    a_superseded_token_is_live_until_its_end
);

/// The tenant's sync health once its log counts `requests` in the last day.
async fn health_after(app: &TestApp, tenant: &str, requests: u64) -> Value {
    for _ in 0..100 {
        let resp = app
            .admin_get(
                &app.operator_key,
                &format!("/admin/v1/tenants/{tenant}/sync"),
            )
            .await;
        resp.assert_status_is_ok();
        let health = json_of(resp).await;
        if health["lastDay"]["requests"].as_u64() == Some(requests) {
            return health;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the log never counted {requests} requests");
}

/// A token a rotation superseded works until its end, and counts as live until then: with
/// the new token revoked, the old one is still live and the tenant does not fail for want
/// of a token.
async fn a_superseded_token_is_live_until_its_end(app: TestApp) {
    let scim = app.scim("Acme").await;
    let tokens = format!("/admin/v1/tenants/{}/scim-tokens", scim.tenant);
    let issued = app
        .admin_post(
            &app.operator_key,
            &tokens,
            json!({ "overlapSeconds": 3600 }),
        )
        .await;
    issued.assert_status(StatusCode::CREATED);
    let newer = json_of(issued).await["id"].as_str().unwrap().to_owned();
    assert_eq!(health_after(&app, &scim.tenant, 0).await["liveTokens"], 2);
    app.admin_delete(&app.operator_key, &format!("{tokens}/{newer}"))
        .await
        .assert_status(StatusCode::NO_CONTENT);
    scim.get("/Users").await.assert_status_is_ok();
    let health = health_after(&app, &scim.tenant, 1).await;
    assert_eq!(health["liveTokens"], 1, "{health}");
    let reasons = health["reasons"].to_string();
    assert!(!reasons.contains("no live SCIM token"), "{health}");
}

async fn verdicts_follow_the_log(app: TestApp) {
    let scim = app.scim("Acme").await;
    let fresh = health_after(&app, &scim.tenant, 0).await;
    assert_eq!(fresh["verdict"], "warning");
    assert_eq!(
        fresh["reasons"],
        json!(["no request from an identity provider yet"])
    );
    assert_eq!(fresh["liveTokens"], 1);
    assert_eq!(fresh["tenantName"], "Acme");

    // Entra creates two users and a group: healthy. A lookup that finds nothing is no
    // failure.
    for name in ["ada@acme.test", "bob@acme.test"] {
        let resp = app
            .client
            .post(scim.url("/Users"))
            .header("Authorization", format!("Bearer {}", scim.token))
            .header("User-Agent", "Microsoft Azure AD SCIM Client")
            .header("Content-Type", "application/scim+json")
            .body(user(name).to_string())
            .send()
            .await;
        resp.assert_status(StatusCode::CREATED);
    }
    scim.group_id("Sales").await;
    scim.get("/Users/nobody")
        .await
        .assert_status(StatusCode::NOT_FOUND);
    let healthy = health_after(&app, &scim.tenant, 4).await;
    assert_eq!(healthy["verdict"], "healthy", "{healthy}");
    assert_eq!(healthy["reasons"], json!([]));
    assert_eq!(healthy["lastHour"], json!({ "requests": 4, "failures": 0 }));
    assert_eq!(healthy["users"], json!({ "active": 2, "inactive": 0 }));
    assert_eq!(healthy["groups"], 1);
    assert_eq!(
        healthy["identityProvider"], "other",
        "the group came last, no agent"
    );
    assert!(healthy["lastSuccessfulWriteAt"].is_string());

    // One conflict: a warning. Then a wrong token, again and again: failing.
    scim.post("/Users", &user("ada@acme.test"))
        .await
        .assert_status(StatusCode::CONFLICT);
    let warned = health_after(&app, &scim.tenant, 5).await;
    assert_eq!(warned["verdict"], "warning");
    assert_eq!(
        warned["reasons"],
        json!(["1 of 5 requests in the last hour failed"])
    );
    for _ in 0..6 {
        app.client
            .get(scim.url("/Users"))
            .header("Authorization", "Bearer scim_0000_wrong-token-wrong-token")
            .send()
            .await
            .assert_status(StatusCode::UNAUTHORIZED);
    }
    let failing = health_after(&app, &scim.tenant, 11).await;
    assert_eq!(failing["verdict"], "failing", "{failing}");
    assert_eq!(failing["lastHour"]["failures"], 7);

    // Entra's dialect, counted by kind.
    let ada = json_of(
        scim.get("/Users?filter=userName%20eq%20%22ada@acme.test%22")
            .await,
    )
    .await["Resources"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let deactivate = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{ "op": "Replace", "path": "active", "value": "False" }]
    });
    scim.send("PATCH", &format!("/Users/{ada}"), &deactivate)
        .await
        .assert_status_is_ok();
    let quirky = health_after(&app, &scim.tenant, 13).await;
    assert_eq!(
        quirky["quirks"],
        json!([
            { "kind": "capitalized_op", "requests": 1 },
            { "kind": "string_boolean", "requests": 1 }
        ])
    );
    assert_eq!(quirky["users"], json!({ "active": 1, "inactive": 1 }));

    // Three hours later the hour is quiet, the day is not, and the silence shows.
    app.advance(3 * 3600);
    let silent = health_after(&app, &scim.tenant, 13).await;
    assert_eq!(silent["verdict"], "warning");
    assert_eq!(silent["lastHour"], json!({ "requests": 0, "failures": 0 }));
    let reasons = silent["reasons"].as_array().unwrap();
    assert!(
        reasons[0]
            .as_str()
            .unwrap()
            .starts_with("silent: no request for 180 minutes"),
        "{reasons:?}"
    );

    // Operators see every tenant; a tenant admin only its own.
    let other = app.scim("Globex").await;
    let all = json_of(app.admin_get(&app.operator_key, "/admin/v1/sync").await).await;
    let names: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|health| health["tenantName"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 2);
    assert!(names.contains(&"Acme") && names.contains(&"Globex"));
    let key = app.tenant_admin_key(&other.tenant).await;
    app.admin_get(&key, "/admin/v1/sync")
        .await
        .assert_status(StatusCode::FORBIDDEN);
    app.admin_get(&key, &format!("/admin/v1/tenants/{}/sync", scim.tenant))
        .await
        .assert_status(StatusCode::FORBIDDEN);
    app.admin_get(&app.operator_key, "/admin/v1/tenants/nope/sync")
        .await
        .assert_status(StatusCode::NOT_FOUND);
}

async fn retention_deletes_what_is_old(app: TestApp) {
    let scim = app.scim("Acme").await;
    scim.user_id("old@acme.test").await;
    health_after(&app, &scim.tenant, 1).await;
    let [old] = event_ids(&app, &scim.tenant).await[..] else {
        panic!("one event")
    };
    app.advance(31 * 24 * 3600);
    scim.user_id("new@acme.test").await;
    health_after(&app, &scim.tenant, 1).await;

    let trimmed = server::activity::retention::run_once(&app.state)
        .await
        .unwrap();
    assert_eq!((trimmed.entries, trimmed.events), (1, 1));
    assert_eq!(
        log_summaries(&app, &scim.tenant).await,
        ["created user new@acme.test"]
    );
    let events = json_of(events_page(&app, &scim.tenant, old).await).await;
    assert_eq!(events["items"].as_array().unwrap().len(), 1);
    assert_eq!(events["items"][0]["data"]["userName"], "new@acme.test");
    let again = server::activity::retention::run_once(&app.state)
        .await
        .unwrap();
    assert_eq!((again.entries, again.events), (0, 0));
}

/// A consumer whose cursor retention passed (it deleted events of the tenant after it)
/// gets 410 `cursor_expired` with where to go on from, from the page and from the stream,
/// and a replay that retention passes while it runs ends, rather than a feed that silently
/// skips what it missed; so does cursor 0 once the feed no longer holds the tenant's whole
/// history. A cursor at the newest deleted event, another tenant's deletions, and any
/// cursor of a tenant retention never touched are answered as before; a tenant none of
/// whose events is kept is followed from its mark. A later run moves a tenant's mark on,
/// never back.
async fn a_cursor_that_retention_passed_is_refused(app: TestApp) {
    let app = &app;
    let scim = app.scim("Acme").await;
    scim.user_id("ada@acme.test").await;
    scim.user_id("grace@acme.test").await;
    let quiet = app.scim("Globex").await;
    quiet.user_id("alan@globex.test").await;
    let [ada, grace] = event_ids(app, &scim.tenant).await[..] else {
        panic!("two events")
    };
    let [alan] = event_ids(app, &quiet.tenant).await[..] else {
        panic!("one event")
    };
    assert!(ada < grace && grace < alan, "{ada} {grace} {alan}");
    app.advance(31 * 24 * 3600);
    scim.user_id("edsger@acme.test").await;
    let [.., edsger] = event_ids(app, &scim.tenant).await[..] else {
        panic!("edsger's event")
    };
    let replay = event_stream(app, &scim.tenant, ada).await;
    replay.assert_status_is_ok();
    let mut replay = replay.sse_stream();
    let trimmed = server::activity::retention::run_once(&app.state)
        .await
        .unwrap();
    assert_eq!(trimmed.events, 3);
    let ended = tokio::time::timeout(Duration::from_secs(5), replay.next())
        .await
        .expect("the replay ends at once");
    assert!(ended.is_none(), "not edsger's event after a gap: {ended:?}");

    for (tenant, passed, resume) in [
        (&scim.tenant, ada, edsger),
        (&scim.tenant, 0, edsger),
        (&quiet.tenant, 0, alan),
    ] {
        event_stream(app, tenant, passed)
            .await
            .assert_status(StatusCode::GONE);
        let refused = json_of(events_page(app, tenant, passed).await).await;
        assert_eq!(refused["code"], "cursor_expired", "{refused}");
        assert_eq!(refused["resumeAfter"], resume, "{refused}");
    }
    let untouched = app.scim("Initech").await;
    untouched.user_id("peter@initech.test").await;
    for cursor in [-1, 0] {
        events_page(app, &untouched.tenant, cursor)
            .await
            .assert_status_is_ok();
    }
    for (tenant, after, expected) in [(&scim.tenant, grace, 1), (&quiet.tenant, alan, 0)] {
        let resp = events_page(app, tenant, after).await;
        resp.assert_status_is_ok();
        let items = json_of(resp).await["items"].as_array().unwrap().len();
        assert_eq!(items, expected, "after {after}");
        event_stream(app, tenant, after).await.assert_status_is_ok();
    }

    // A tenant none of whose events is kept is followed from its mark.
    let live = event_stream(app, &quiet.tenant, None).await;
    live.assert_status_is_ok();
    let mut live = live.sse_stream();
    quiet.user_id("linus@globex.test").await;
    let next = tokio::time::timeout(Duration::from_secs(5), live.next())
        .await
        .expect("the stream goes on")
        .expect("an event");
    assert!(
        format!("{next:?}").contains("linus@globex.test"),
        "{next:?}"
    );

    let far_ahead = alan + 1_000_000;
    let globex = quiet.tenant.clone();
    app.state
        .db
        .write(move |txn| {
            Box::pin(async move {
                entity::change_event_trim::ActiveModel {
                    tenant_id: Set(globex),
                    trimmed_through: Set(far_ahead),
                }
                .update(txn)
                .await?;
                Ok(())
            })
        })
        .await
        .unwrap();
    quiet.user_id("ken@globex.test").await;
    app.advance(31 * 24 * 3600);
    let trimmed = server::activity::retention::run_once(&app.state)
        .await
        .unwrap();
    assert_eq!(trimmed.events, 4, "edsger's, peter's, linus's and ken's");
    events_page(app, &scim.tenant, grace)
        .await
        .assert_status(StatusCode::GONE);
    let marks: Vec<(String, i64)> = entity::change_event_trim::Entity::find()
        .all(app.state.db.reads())
        .await
        .unwrap()
        .into_iter()
        .map(|mark| (mark.tenant_id, mark.trimmed_through))
        .collect();
    assert!(marks.contains(&(scim.tenant.clone(), edsger)), "{marks:?}");
    assert!(
        marks.contains(&(quiet.tenant.clone(), far_ahead)),
        "{marks:?}"
    );
}

/// A cursor beyond the tenant's newest event, which no answer gave (a database restored
/// from an older backup), is refused like a passed one, from the page and from the stream:
/// going on from it would skip every new event until the ids grew past it. The newest
/// event's id itself, and a cursor beyond what another tenant has, are not refused, nor
/// is a tenant's own last cursor once another tenant's events have gone past it.
async fn a_cursor_beyond_the_newest_event_is_refused(app: TestApp) {
    let app = &app;
    let scim = app.scim("Acme").await;
    let other = app.scim("Globex").await;
    for (tenant, cursor) in [(&scim.tenant, 0), (&other.tenant, 0), (&other.tenant, 1)] {
        let page = events_page(app, tenant, cursor).await;
        let expected = if cursor == 0 {
            StatusCode::OK
        } else {
            StatusCode::GONE
        };
        page.assert_status(expected);
    }
    scim.user_id("ada@acme.test").await;
    other.user_id("alan@globex.test").await;
    let [ada] = event_ids(app, &scim.tenant).await[..] else {
        panic!("ada's event")
    };
    let [alan] = event_ids(app, &other.tenant).await[..] else {
        panic!("alan's event")
    };
    assert!(ada < alan);
    let page = json_of(events_page(app, &scim.tenant, ada).await).await;
    assert_eq!(page["nextCursor"], ada, "{page}");
    event_stream(app, &scim.tenant, ada)
        .await
        .assert_status_is_ok();

    for ahead in [ada + 1, alan, alan + 1_000_000] {
        let refused = events_page(app, &scim.tenant, ahead).await;
        refused.assert_status(StatusCode::GONE);
        let refused = json_of(refused).await;
        assert_eq!(refused["code"], "cursor_expired", "{refused}");
        assert_eq!(refused["resumeAfter"], ada, "{refused}");
        event_stream(app, &scim.tenant, ahead)
            .await
            .assert_status(StatusCode::GONE);
    }
}

async fn events_page(app: &TestApp, tenant: &str, after: i64) -> TestResponse {
    app.admin_get(
        &app.operator_key,
        &format!("/admin/v1/tenants/{tenant}/events?after={after}"),
    )
    .await
}

/// The tenant's change-event stream, after `after` (from now on without).
async fn event_stream(app: &TestApp, tenant: &str, after: impl Into<Option<i64>>) -> TestResponse {
    let resume = after
        .into()
        .map(|after| format!("?lastEventId={after}"))
        .unwrap_or_default();
    app.client
        .get(format!("/admin/v1/tenants/{tenant}/events/stream{resume}"))
        .header("Authorization", format!("Bearer {}", app.operator_key))
        .send()
        .await
}

/// The ids of the tenant's events still kept.
async fn event_ids(app: &TestApp, tenant: &str) -> Vec<i64> {
    json_of(events_page(app, tenant, 0).await).await["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["id"].as_i64().unwrap())
        .collect()
}

/// The summaries of the tenant's log, newest first.
async fn log_summaries(app: &TestApp, tenant: &str) -> Vec<String> {
    let log = json_of(
        app.admin_get(
            &app.operator_key,
            &format!("/admin/v1/tenants/{tenant}/activity"),
        )
        .await,
    )
    .await;
    log["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["summary"].as_str().unwrap().to_owned())
        .collect()
}

/// `--activity-max-entries`: a run keeps the newest entries, of every tenant, and deletes
/// the others however young they are; but never those a tenant's sync health reads (its
/// last request, last write).
async fn retention_keeps_only_the_newest_entries(app: TestApp) {
    let quiet = app.scim("Initech").await;
    quiet.user_id("peter@initech.test").await;
    quiet.get("/Users").await.assert_status_is_ok();
    health_after(&app, &quiet.tenant, 2).await;
    let scim = app.scim("Acme").await;
    for name in ["ada", "grace", "edsger"] {
        scim.user_id(&format!("{name}@acme.test")).await;
    }
    let other = app.scim("Globex").await;
    other.user_id("alan@globex.test").await;
    health_after(&app, &other.tenant, 1).await;
    health_after(&app, &scim.tenant, 3).await;

    let trimmed = server::activity::retention::run_once(&app.state)
        .await
        .unwrap();
    assert_eq!((trimmed.entries, trimmed.events), (2, 0));
    assert_eq!(
        log_summaries(&app, &scim.tenant).await,
        ["created user edsger@acme.test"]
    );
    assert_eq!(
        log_summaries(&app, &other.tenant).await,
        ["created user alan@globex.test"]
    );
    let kept = log_summaries(&app, &quiet.tenant).await;
    assert_eq!(kept.len(), 2, "{kept:?}");
    assert_eq!(kept[1], "created user peter@initech.test");
    let health = health_after(&app, &quiet.tenant, 2).await;
    assert!(health["lastSuccessfulWriteAt"].is_string(), "{health}");
    assert_ne!(
        health["reasons"],
        json!(["no request from an identity provider yet"]),
        "{health}"
    );
    let again = server::activity::retention::run_once(&app.state)
        .await
        .unwrap();
    assert_eq!(again, server::activity::retention::Trimmed::default());
}

fn keeping_two_entries() -> server::config::Settings {
    let mut settings = crate::helpers::test_settings();
    settings.activity.max_entries = 2;
    settings
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_keeps_only_the_newest_entries_sqlite() {
    retention_keeps_only_the_newest_entries(TestApp::sqlite_with(keeping_two_entries()).await)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_keeps_only_the_newest_entries_postgres() {
    if let Some(app) = TestApp::postgres_with(keeping_two_entries()).await {
        retention_keeps_only_the_newest_entries(app).await;
    }
}

/// `--events-max-entries`: a run keeps the newest change events, of every tenant, and
/// deletes the others however young they are, remembering each tenant's newest deleted one,
/// so that its consumers behind it are told (410) as when events grow old; a tenant whose
/// events are all kept is answered as before.
async fn retention_keeps_only_the_newest_events(app: TestApp) {
    let app = &app;
    let scim = app.scim("Acme").await;
    scim.user_id("ada@acme.test").await;
    scim.user_id("grace@acme.test").await;
    let other = app.scim("Globex").await;
    other.user_id("alan@globex.test").await;
    scim.user_id("edsger@acme.test").await;
    let [ada, grace, edsger] = event_ids(app, &scim.tenant).await[..] else {
        panic!("three events")
    };
    let [alan] = event_ids(app, &other.tenant).await[..] else {
        panic!("one event")
    };
    assert!(ada < grace && grace < alan && alan < edsger);

    let trimmed = server::activity::retention::run_once(&app.state)
        .await
        .unwrap();
    assert_eq!((trimmed.entries, trimmed.events), (0, 2));
    assert_eq!(event_ids(app, &other.tenant).await, [alan]);
    for passed in [0, ada] {
        let refused = json_of(events_page(app, &scim.tenant, passed).await).await;
        assert_eq!(refused["code"], "cursor_expired", "{refused}");
        assert_eq!(refused["resumeAfter"], edsger, "{refused}");
        event_stream(app, &scim.tenant, passed)
            .await
            .assert_status(StatusCode::GONE);
    }
    let kept = json_of(events_page(app, &scim.tenant, grace).await).await;
    assert_eq!(kept["items"].as_array().unwrap().len(), 1, "{kept}");
    assert_eq!(kept["items"][0]["id"], edsger, "{kept}");
    let again = server::activity::retention::run_once(&app.state)
        .await
        .unwrap();
    assert_eq!(again, server::activity::retention::Trimmed::default());
}

fn keeping_two_events() -> server::config::Settings {
    let mut settings = crate::helpers::test_settings();
    settings.activity.events_max_entries = 2;
    settings
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_keeps_only_the_newest_events_sqlite() {
    retention_keeps_only_the_newest_events(TestApp::sqlite_with(keeping_two_events()).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_keeps_only_the_newest_events_postgres() {
    if let Some(app) = TestApp::postgres_with(keeping_two_events()).await {
        retention_keeps_only_the_newest_events(app).await;
    }
}

/// The health probes count the log's dropped entries: a queue of one, flooded faster
/// than its writer can take entries.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probes_count_dropped_entries() {
    let mut settings = crate::helpers::test_settings();
    settings.activity.queue_capacity = 1;
    let app = TestApp::sqlite_with(settings).await;
    let body = json_of(app.client.get("/healthz").send().await).await;
    assert_eq!(body["activityDropped"], 0);
    let entry = entity::activity_entry::ActiveModel {
        at: Set(app.state.clock.now()),
        client_address: Set("127.0.0.1".to_owned()),
        method: Set("GET".to_owned()),
        path: Set("/scim/x/v2/Users".to_owned()),
        operation: Set("list".to_owned()),
        status: Set(200),
        latency_us: Set(1),
        idp: Set("other".to_owned()),
        summary: Set("listed users: 0 found".to_owned()),
        ..Default::default()
    };
    for _ in 0..200 {
        app.state.activity.record(entry.clone());
    }
    app.state.activity.close().await;
    let dropped = json_of(app.client.get("/readyz").send().await).await["activityDropped"]
        .as_u64()
        .unwrap();
    assert!(dropped > 0 && dropped < 200, "{dropped} dropped");
}
