//! The provisioning log: every request under `/scim/…` recorded, rejected ones too, with
//! secrets replaced; read back newest first with filters and cursor paging.

use std::time::Duration;

use poem::http::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, json_of, ops};

on_every_backend!(
    requests_are_recorded_without_secrets,
    filters_and_pages,
    queued_entries_are_written_at_shutdown,
    group_patches_are_summarised_by_what_they_changed
);

/// The tenant's log once it holds at least `count` entries (recording is asynchronous).
async fn log_of(app: &TestApp, tenant: &str, query: &str, count: usize) -> Vec<Value> {
    for _ in 0..100 {
        let resp = app
            .admin_get(
                &app.operator_key,
                &format!("/admin/v1/tenants/{tenant}/activity?limit=1000{query}"),
            )
            .await;
        resp.assert_status_is_ok();
        let items = json_of(resp).await["items"].as_array().unwrap().clone();
        if items.len() >= count {
            return items;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the log never held {count} entries");
}

fn find<'v>(items: &'v [Value], operation: &str, status: u16, kind: Option<&str>) -> &'v Value {
    items
        .iter()
        .find(|item| {
            item["operation"] == operation
                && item["status"] == status
                && kind.is_none_or(|kind| item["resourceType"] == kind)
        })
        .unwrap_or_else(|| panic!("no {operation} {status} in {items:?}"))
}

/// A group PATCH's summary says what it changed, not what it named: a member added again
/// or a non-member removed is no change (Entra's incremental cycles send both), whichever
/// way the PATCH ran (merged with others, alone, or with other attributes).
async fn group_patches_are_summarised_by_what_they_changed(app: TestApp) {
    let scim = app.scim("Acme").await;
    let group = scim.group_id("Sales").await;
    let ada = scim.user_id("ada@acme.test").await;
    let alan = scim.user_id("alan@acme.test").await;
    let grace = scim.user_id("grace@acme.test").await;
    let members = |op: &str, users: &[&String]| {
        let value: Vec<Value> = users.iter().map(|id| json!({ "value": id })).collect();
        ops(json!([{ "op": op, "path": "members", "value": value }]))
    };
    let path = format!("/Groups/{group}");
    let mut expected = Vec::new();
    for (body, summary) in [
        (
            members("Add", &[&ada, &alan]),
            "added 2 members to group Sales",
        ),
        (
            members("Add", &[&ada, &grace]),
            "added 1 member to group Sales",
        ),
        (members("Add", &[&ada]), "updated group Sales"),
        (
            members("Remove", &[&alan, &alan]),
            "removed 1 member from group Sales",
        ),
        (members("Remove", &[&alan]), "updated group Sales"),
        (
            ops(json!([
                { "op": "Replace", "path": "displayName", "value": "Sales EMEA" },
                { "op": "Add", "path": "members", "value": [{ "value": ada }] }
            ])),
            "updated group Sales EMEA",
        ),
        (
            ops(json!([
                { "op": "Remove", "path": format!("members[value eq \"{grace}\"]") },
                { "op": "Add", "path": "members", "value": [{ "value": alan }] }
            ])),
            "added 1 member and removed 1 member in group Sales EMEA",
        ),
    ] {
        scim.send("PATCH", &path, &body)
            .await
            .assert_status(StatusCode::NO_CONTENT);
        expected.push(summary.to_owned());
    }
    let patches = |items: &[Value]| -> Vec<String> {
        items
            .iter()
            .rev()
            .filter(|item| item["operation"] == "patch")
            .map(|item| item["summary"].as_str().unwrap().to_owned())
            .collect()
    };
    let log = log_of(&app, &scim.tenant, "", 4 + expected.len()).await;
    assert_eq!(patches(&log), expected);

    // Eight PATCHes at once, each adding grace: however they were merged, one made her a
    // member and the others changed nothing.
    let body = members("Add", &[&grace]);
    let at_once = (0..8).map(|_| scim.send("PATCH", &path, &body));
    for resp in futures_util::future::join_all(at_once).await {
        resp.assert_status(StatusCode::NO_CONTENT);
    }
    let log = log_of(&app, &scim.tenant, "", 4 + expected.len() + 8).await;
    let mut last = patches(&log).split_off(expected.len());
    last.sort_unstable();
    let mut once = vec!["updated group Sales EMEA".to_owned(); 7];
    once.insert(0, "added 1 member to group Sales EMEA".to_owned());
    assert_eq!(last, once);
}

async fn requests_are_recorded_without_secrets(app: TestApp) {
    let scim = app.scim("Acme").await;
    let user = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "ada@acme.test",
        "password": "hunter2-Secret",
        "active": true
    });
    scim.post("/Users", &user)
        .await
        .assert_status(StatusCode::CREATED);
    scim.post("/Users", &user)
        .await
        .assert_status(StatusCode::CONFLICT);
    let group = scim.create_group(json!({ "displayName": "Sales" })).await;
    let listed = json_of(scim.get("/Users").await).await;
    let user_id = listed["Resources"][0]["id"].as_str().unwrap().to_owned();
    scim.send(
        "PATCH",
        &format!("/Groups/{group}"),
        &ops(json!([{ "op": "Add", "path": "members", "value": [{ "value": user_id }] }])),
    )
    .await
    .assert_status(StatusCode::NO_CONTENT);
    let wrong = app
        .client
        .get(scim.url("/Users"))
        .header("Authorization", "Bearer scim_0000_not-a-real-token-at-all")
        .header("User-Agent", "Okta SCIM Client 1.0")
        .send()
        .await;
    wrong.assert_status(StatusCode::UNAUTHORIZED);

    let items = log_of(&app, &scim.tenant, "", 6).await;
    let ids: Vec<i64> = items.iter().map(|i| i["id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first: {ids:?}");

    let created = find(&items, "create", 201, Some("User"));
    assert_eq!(created["resourceType"], "User");
    assert_eq!(created["summary"], "created user ada@acme.test");
    assert_eq!(created["tenantId"], json!(scim.tenant));
    assert!(created["tokenId"].as_str().is_some_and(|id| !id.is_empty()));
    assert_eq!(
        created["quirks"],
        json!([]),
        "the spec makes quirks required: present also when empty"
    );

    let refused = find(&items, "create", 409, None);
    assert_eq!(refused["scimType"], "uniqueness");
    assert!(
        refused["summary"]
            .as_str()
            .unwrap()
            .starts_with("rejected: ")
    );

    // A 204 names no group: the handler tells its name.
    let patched = find(&items, "patch", 204, None);
    assert_eq!(patched["resourceId"], json!(group));
    assert_eq!(patched["summary"], "added 1 member to group Sales");
    assert_eq!(patched["idp"], "entra", "capitalised ops are Entra's");

    let denied = find(&items, "auth_failed", 401, None);
    assert_eq!(denied["idp"], "okta");
    assert!(denied.get("tokenId").is_none());

    // The bodies, with the password replaced; no secret anywhere in the log.
    let detail = app
        .admin_get(
            &app.operator_key,
            &format!(
                "/admin/v1/tenants/{}/activity/{}",
                scim.tenant,
                created["id"].as_i64().unwrap()
            ),
        )
        .await;
    detail.assert_status_is_ok();
    let detail = json_of(detail).await;
    let sent = detail["requestBody"].as_str().unwrap();
    assert!(sent.contains(r#""password":"[redacted]""#), "{sent}");
    assert!(
        detail["responseBody"]
            .as_str()
            .unwrap()
            .contains("ada@acme.test")
    );
    let mut everything = String::new();
    for item in &items {
        let id = item["id"].as_i64().unwrap();
        let resp = app
            .admin_get(
                &app.operator_key,
                &format!("/admin/v1/tenants/{}/activity/{id}", scim.tenant),
            )
            .await;
        everything.push_str(&json_of(resp).await.to_string());
    }
    assert!(!everything.contains("hunter2"), "a password was kept");
    if let Some(file) = app.sqlite_file() {
        for path in [file.clone(), file.with_extension("db-wal")] {
            let bytes = std::fs::read(&path).unwrap_or_default();
            let stored = |needle: &str| bytes.windows(needle.len()).any(|w| w == needle.as_bytes());
            assert!(!stored("hunter2"), "a password in {}", path.display());
            assert!(!stored(&scim.token), "a token in {}", path.display());
        }
    }
    assert!(!everything.contains(&scim.token), "a token was kept");

    // Another tenant's log is not this one's, and its entries are not found here.
    let other = app.scim("Globex").await;
    other.get("/Users").await.assert_status_is_ok();
    let theirs = log_of(&app, &other.tenant, "", 1).await;
    let foreign = theirs[0]["id"].as_i64().unwrap();
    app.admin_get(
        &app.operator_key,
        &format!("/admin/v1/tenants/{}/activity/{foreign}", scim.tenant),
    )
    .await
    .assert_status(StatusCode::NOT_FOUND);

    // An id that is not a number is named as the document names it.
    let error = crate::helpers::assert_admin_error(
        app.admin_get(
            &app.operator_key,
            &format!("/admin/v1/tenants/{}/activity/abc", scim.tenant),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "bad_request",
    )
    .await;
    let message = error["message"].as_str().unwrap();
    assert!(message.contains("`entryId`"), "{message}");
    assert!(!message.contains("param1"), "{message}");
}

async fn filters_and_pages(app: TestApp) {
    let scim = app.scim("Acme").await;
    for n in 0..5 {
        scim.post(
            "/Users",
            &json!({ "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": format!("u{n}@acme.test") }),
        )
        .await
        .assert_status(StatusCode::CREATED);
    }
    scim.get("/Users/nobody")
        .await
        .assert_status(StatusCode::NOT_FOUND);
    let all = log_of(&app, &scim.tenant, "", 6).await;

    let errors = log_of(&app, &scim.tenant, "&statusClass=4xx", 1).await;
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0]["operation"], "get");
    let creates = log_of(&app, &scim.tenant, "&operation=create", 5).await;
    assert_eq!(creates.len(), 5);
    let found = log_of(&app, &scim.tenant, "&text=U3%40ACME", 1).await;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["summary"], "created user u3@acme.test");

    // Pages of two, newest first, together the whole log once.
    let mut seen = Vec::new();
    let mut cursor = String::new();
    loop {
        let resp = app
            .admin_get(
                &app.operator_key,
                &format!("/admin/v1/tenants/{}/activity?limit=2{cursor}", scim.tenant),
            )
            .await;
        resp.assert_status_is_ok();
        let page = json_of(resp).await;
        seen.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["id"].clone()),
        );
        match page["nextCursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => break,
        }
    }
    let expected: Vec<Value> = all.iter().map(|i| i["id"].clone()).collect();
    assert_eq!(seen, expected);

    app.admin_get(
        &app.operator_key,
        &format!("/admin/v1/tenants/{}/activity?cursor=nope", scim.tenant),
    )
    .await
    .assert_status(StatusCode::UNPROCESSABLE_ENTITY);

    // Operators read across tenants; a tenant filter narrows it.
    let resp = app
        .admin_get(
            &app.operator_key,
            &format!(
                "/admin/v1/activity?tenantId={}&operation=create",
                scim.tenant
            ),
        )
        .await;
    resp.assert_status_is_ok();
    assert_eq!(json_of(resp).await["items"].as_array().unwrap().len(), 5);
}

async fn queued_entries_are_written_at_shutdown(app: TestApp) {
    let scim = app.scim("Acme").await;
    for _ in 0..20 {
        scim.get("/ServiceProviderConfig")
            .await
            .assert_status_is_ok();
    }
    app.state.activity.close().await;
    let items = log_of(&app, &scim.tenant, "&operation=discovery", 20).await;
    assert_eq!(items.len(), 20);
    assert_eq!(app.state.activity.dropped(), 0);
}

/// Off (the server's default for now), nothing is recorded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_recorded_when_off() {
    let mut settings = crate::helpers::test_settings();
    settings.activity.enabled = false;
    let app = TestApp::sqlite_with(settings).await;
    let scim = app.scim("Acme").await;
    scim.get("/Users").await.assert_status_is_ok();
    app.state.activity.close().await;
    let resp = app
        .admin_get(
            &app.operator_key,
            &format!("/admin/v1/tenants/{}/activity", scim.tenant),
        )
        .await;
    resp.assert_status_is_ok();
    assert_eq!(json_of(resp).await["items"], json!([]));
}

/// Requests refused before any handler (body too large, too many failed logins) are
/// recorded as `rejected`, with the status the client got.
async fn refusals_are_recorded(app: TestApp) {
    let scim = app.scim("Acme").await;
    let huge = json!({ "userName": "x".repeat(4096) });
    scim.post("/Users", &huge)
        .await
        .assert_status(StatusCode::PAYLOAD_TOO_LARGE);
    let mut throttled = false;
    for _ in 0..5 {
        let resp = app
            .client
            .get(scim.url("/Users"))
            .header("Authorization", "Bearer scim_0000_not-a-real-token-at-all")
            .send()
            .await;
        throttled |= resp.0.status() == StatusCode::TOO_MANY_REQUESTS;
    }
    assert!(throttled, "the failure limit was reached");
    // The throttle holds back every credential from this address for now (issue 11).
    app.advance(3600);
    let items = log_of(&app, &scim.tenant, "&operation=rejected", 2).await;
    let statuses: Vec<u64> = items
        .iter()
        .map(|item| item["status"].as_u64().unwrap())
        .collect();
    assert!(statuses.contains(&413), "{statuses:?}");
    assert!(statuses.contains(&429), "{statuses:?}");
    let too_large = find(&items, "rejected", 413, None);
    assert_eq!(too_large["resourceType"], "User");
}

fn refusing() -> server::config::Settings {
    let mut settings = crate::helpers::test_settings();
    settings.max_body_bytes = 1024;
    settings.auth_failure_limit = 2;
    settings
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_are_recorded_on_sqlite() {
    refusals_are_recorded(TestApp::sqlite_with(refusing()).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_are_recorded_on_postgres() {
    if let Some(app) = TestApp::postgres_with(refusing()).await {
        refusals_are_recorded(app).await;
    }
}
