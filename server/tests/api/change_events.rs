//! Change events: every SCIM write kind yields its events exactly once, in commit order,
//! each naming the request that caused it; rejected and rolled-back requests yield none;
//! the feed pages by cursor and streams live.

use std::time::Duration;

use futures_util::StreamExt;
use poem::{http::StatusCode, web::sse::Event};
use serde_json::{Value, json};

use crate::helpers::{GROUP_SCHEMA, Scim, TestApp, hold_the_writer, json_of, ops, user};

on_every_backend!(
    every_write_yields_its_events_once,
    a_permission_names_the_request_that_granted_it,
    each_membership_traces_to_the_request_that_began_it,
    a_member_named_twice_or_not_a_member_is_removed_once_or_not_at_all,
    permission_changes_are_events,
    mapping_changes_are_permission_events,
    concurrent_member_patches_each_name_their_request,
    the_feed_streams_in_commit_order,
    a_write_wakes_the_streams_of_its_tenant_only,
    a_revoked_key_s_streams_end,
    edits_of_what_mapped_groups_grant_are_permission_events,
    a_new_product_is_the_organization_admins_at_once
);

/// The tenant's events after `after`, read page by page.
async fn feed(app: &TestApp, tenant: &str, after: i64) -> Vec<Value> {
    let mut events = Vec::new();
    let mut cursor = after;
    loop {
        let resp = app
            .admin_get(
                &app.operator_key,
                &format!("/admin/v1/tenants/{tenant}/events?after={cursor}&limit=7"),
            )
            .await;
        resp.assert_status_is_ok();
        let page = json_of(resp).await;
        let items = page["items"].as_array().unwrap().clone();
        cursor = page["nextCursor"].as_i64().unwrap();
        if items.is_empty() {
            return events;
        }
        events.extend(items);
    }
}

/// `(type, resourceId, userId)` of each event after `after`, oldest first.
async fn kinds(app: &TestApp, tenant: &str, after: i64) -> Vec<(String, String, String)> {
    feed(app, tenant, after)
        .await
        .iter()
        .map(|event| {
            (
                event["type"].as_str().unwrap().to_owned(),
                event["resourceId"].as_str().unwrap().to_owned(),
                event["data"]["userId"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

/// The id of the newest event (0 when none).
async fn newest(app: &TestApp, tenant: &str) -> i64 {
    feed(app, tenant, 0)
        .await
        .last()
        .map_or(0, |event| event["id"].as_i64().unwrap())
}

fn event(kind: &str, id: &str, user: &str) -> (String, String, String) {
    (kind.to_owned(), id.to_owned(), user.to_owned())
}

/// A new group "Owners" mapped to organization admins; its id.
async fn organization_admins(app: &TestApp, scim: &Scim<'_>) -> String {
    let owners = scim.group_id("Owners").await;
    app.admin_put(
        &app.operator_key,
        &format!("/admin/v1/tenants/{}/groups/{owners}/mapping", scim.tenant),
        json!({ "isOrganizationAdmin": true }),
    )
    .await
    .assert_status_is_ok();
    owners
}

async fn patch(scim: &Scim<'_>, path: &str, operations: Value) -> StatusCode {
    scim.send("PATCH", path, &ops(operations)).await.0.status()
}

async fn every_write_yields_its_events_once(app: TestApp) {
    let scim = app.scim("Acme").await;
    let ada = scim.user_id("ada@acme.test").await;
    let bob = scim.user_id("bob@acme.test").await;
    let mut expected = vec![
        event("user.created", &ada, ""),
        event("user.created", &bob, ""),
    ];
    assert_eq!(kinds(&app, &scim.tenant, 0).await, expected);
    let first = feed(&app, &scim.tenant, 0).await;
    assert_eq!(first[0]["data"]["userName"], "ada@acme.test");
    assert_eq!(first[0]["data"]["active"], true);
    assert_eq!(first[0]["resourceType"], "User");

    // Users: Entra's string booleans, a change, and a rewrite that changes nothing.
    let mark = newest(&app, &scim.tenant).await;
    let user_path = format!("/Users/{ada}");
    let deactivate = json!([{ "op": "Replace", "path": "active", "value": "False" }]);
    assert_eq!(patch(&scim, &user_path, deactivate).await, StatusCode::OK);
    let reactivate = json!([{ "op": "replace", "value": { "active": true } }]);
    assert_eq!(patch(&scim, &user_path, reactivate).await, StatusCode::OK);
    let rename = json!([{ "op": "replace", "path": "displayName", "value": "Ada L." }]);
    assert_eq!(
        patch(&scim, &user_path, rename.clone()).await,
        StatusCode::OK
    );
    assert_eq!(patch(&scim, &user_path, rename).await, StatusCode::OK);
    let mut put = user("ada@acme.test");
    put["displayName"] = json!("Ada Lovelace");
    scim.send("PUT", &user_path, &put)
        .await
        .assert_status_is_ok();
    let users = vec![
        event("user.deactivated", &ada, ""),
        event("user.reactivated", &ada, ""),
        event("user.updated", &ada, ""),
        event("user.updated", &ada, ""),
    ];
    assert_eq!(kinds(&app, &scim.tenant, mark).await, users);
    expected.extend(users);

    // Groups and memberships; adding a member twice changes nothing the second time.
    let mark = newest(&app, &scim.tenant).await;
    let group = scim
        .create_group(json!({ "schemas": [GROUP_SCHEMA], "displayName": "Sales", "members": [{ "value": ada }] }))
        .await;
    let group_path = format!("/Groups/{group}");
    let add_bob = json!([{ "op": "Add", "path": "members", "value": [{ "value": bob }] }]);
    assert_eq!(
        patch(&scim, &group_path, add_bob.clone()).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        patch(&scim, &group_path, add_bob).await,
        StatusCode::NO_CONTENT
    );
    let remove_ada = json!([{ "op": "Remove", "path": format!("members[value eq \"{ada}\"]") }]);
    assert_eq!(
        patch(&scim, &group_path, remove_ada).await,
        StatusCode::NO_CONTENT
    );
    let rename = json!([{ "op": "Replace", "path": "displayName", "value": "Sales EU" }]);
    assert_eq!(
        patch(&scim, &group_path, rename).await,
        StatusCode::NO_CONTENT
    );
    let put = json!({ "schemas": [GROUP_SCHEMA], "displayName": "Sales EU", "members": [{ "value": ada }] });
    scim.send("PUT", &group_path, &put)
        .await
        .assert_status_is_ok();
    let groups = vec![
        event("group.created", &group, ""),
        event("group.member_added", &group, &ada),
        event("group.member_added", &group, &bob),
        event("group.member_removed", &group, &ada),
        event("group.updated", &group, ""),
        event("group.member_removed", &group, &bob),
        event("group.member_added", &group, &ada),
    ];
    assert_eq!(kinds(&app, &scim.tenant, mark).await, groups);
    expected.extend(groups);

    // Rejected and rolled-back requests: none.
    let mark = newest(&app, &scim.tenant).await;
    scim.post("/Users", &user("ada@acme.test"))
        .await
        .assert_status(StatusCode::CONFLICT);
    let half_bad = json!([
        { "op": "Add", "path": "members", "value": [{ "value": bob }] },
        { "op": "Add", "path": "members", "value": [{ "value": "no-such-user" }] }
    ]);
    assert_ne!(
        patch(&scim, &group_path, half_bad).await,
        StatusCode::NO_CONTENT
    );
    let half_bad_user = json!([
        { "op": "Replace", "path": "displayName", "value": "Ada X" },
        { "op": "Bogus", "path": "title", "value": "x" }
    ]);
    assert_eq!(
        patch(&scim, &user_path, half_bad_user).await,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(kinds(&app, &scim.tenant, mark).await, []);

    // Deletions.
    scim.delete(&format!("/Users/{bob}"))
        .await
        .assert_status(StatusCode::NO_CONTENT);
    scim.delete(&group_path)
        .await
        .assert_status(StatusCode::NO_CONTENT);
    expected.push(event("user.deleted", &bob, ""));
    expected.push(event("group.deleted", &group, ""));
    assert_eq!(kinds(&app, &scim.tenant, 0).await, expected);
    let all = feed(&app, &scim.tenant, 0).await;
    assert_eq!(all.last().unwrap()["data"]["displayName"], "Sales EU");
    let ids: Vec<i64> = all.iter().map(|e| e["id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "commit order: {ids:?}");

    // Each event names its request; the log's entry lists the events it caused.
    let created = &all[0];
    let request = created["requestId"].as_str().unwrap();
    let log = json_of(
        app.admin_get(
            &app.operator_key,
            &format!(
                "/admin/v1/tenants/{}/activity?operation=create&limit=1000",
                scim.tenant
            ),
        )
        .await,
    )
    .await;
    let entry = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|item| item["requestId"] == request)
        .expect("the create's log entry");
    let detail = json_of(
        app.admin_get(
            &app.operator_key,
            &format!("/admin/v1/tenants/{}/activity/{}", scim.tenant, entry["id"]),
        )
        .await,
    )
    .await;
    assert_eq!(detail["changeEvents"], json!([created]));

    // Another tenant's feed is its own; a tenant admin reads only its tenant's.
    let other = app.scim("Globex").await;
    assert_eq!(feed(&app, &other.tenant, 0).await, Vec::<Value>::new());
    let key = app.tenant_admin_key(&other.tenant).await;
    app.admin_get(&key, &format!("/admin/v1/tenants/{}/events", scim.tenant))
        .await
        .assert_status(StatusCode::FORBIDDEN);
}

/// Concurrent PATCHes of one group (merged into one write on the embedded database):
/// each added member has one event, naming the PATCH that added it.
async fn concurrent_member_patches_each_name_their_request(app: TestApp) {
    let scim = app.scim("Acme").await;
    let group = scim.group_id("Sales").await;
    let mut users = Vec::new();
    for n in 0..16 {
        users.push(scim.user_id(&format!("u{n}@acme.test")).await);
    }
    let mark = newest(&app, &scim.tenant).await;
    let patches = users.iter().map(|user| {
        let body = ops(json!([{ "op": "Add", "path": "members", "value": [{ "value": user }] }]));
        let path = format!("/Groups/{group}");
        let scim = &scim;
        async move { scim.send("PATCH", &path, &body).await.0.status() }
    });
    for status in futures_util::future::join_all(patches).await {
        assert_eq!(status, StatusCode::NO_CONTENT);
    }
    let added = feed(&app, &scim.tenant, mark).await;
    assert_eq!(added.len(), users.len());
    let mut requests: Vec<&str> = added
        .iter()
        .map(|event| event["requestId"].as_str().unwrap())
        .collect();
    requests.sort_unstable();
    requests.dedup();
    assert_eq!(requests.len(), users.len(), "one request each");

    // The log entry of each PATCH lists exactly the member its body added.
    let mut checked = 0;
    for _ in 0..100 {
        let log = json_of(
            app.admin_get(
                &app.operator_key,
                &format!(
                    "/admin/v1/tenants/{}/activity?operation=patch&limit=1000",
                    scim.tenant
                ),
            )
            .await,
        )
        .await;
        if log["items"].as_array().unwrap().len() == users.len() {
            for item in log["items"].as_array().unwrap() {
                let detail = json_of(
                    app.admin_get(
                        &app.operator_key,
                        &format!("/admin/v1/tenants/{}/activity/{}", scim.tenant, item["id"]),
                    )
                    .await,
                )
                .await;
                let caused = detail["changeEvents"].as_array().unwrap();
                assert_eq!(caused.len(), 1, "{detail}");
                let member = caused[0]["data"]["userId"].as_str().unwrap();
                assert!(detail["requestBody"].as_str().unwrap().contains(member));
                checked += 1;
            }
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(checked, users.len());
}

async fn the_feed_streams_in_commit_order(app: TestApp) {
    let scim = app.scim("Acme").await;
    let ada = scim.user_id("ada@acme.test").await;
    let path = format!("/admin/v1/tenants/{}/events/stream", scim.tenant);
    let resp = app
        .client
        .get(format!("{path}?lastEventId=0"))
        .header("Authorization", format!("Bearer {}", app.operator_key))
        .send()
        .await;
    resp.assert_status_is_ok();
    let mut stream = resp.sse_stream();
    let group = scim.group_id("Sales").await;
    let add = json!([{ "op": "add", "path": "members", "value": [{ "value": ada }] }]);
    assert_eq!(
        patch(&scim, &format!("/Groups/{group}"), add).await,
        StatusCode::NO_CONTENT
    );
    let mut got = Vec::new();
    while got.len() < 3 {
        let next = tokio::time::timeout(Duration::from_secs(5), stream.next())
            .await
            .expect("an event within 5 s")
            .expect("the stream goes on");
        if let Event::Message { id, event, data } = next {
            assert_eq!(event, "change");
            let change: Value = serde_json::from_str(&data).unwrap();
            assert_eq!(change["id"].to_string(), id);
            got.push(change["type"].as_str().unwrap().to_owned());
        }
    }
    assert_eq!(got, ["user.created", "group.created", "group.member_added"]);
}

/// A committed write wakes the event streams of the tenants it stored events of, and no
/// others: a host product follows every tenant with a stream each, and a write must cost a
/// read per stream of its tenant, not one per stream of every tenant. Merged writes (creates,
/// member changes) and writes alone (a replace) both tell; waits for the wake, since on
/// PostgreSQL it can come just after the answer (from another task, or the listener).
async fn a_write_wakes_the_streams_of_its_tenant_only(app: TestApp) {
    let acme = app.scim("Acme").await;
    let globex = app.scim("Globex").await;
    let mut streams = Vec::new();
    for tenant in [&acme.tenant, &globex.tenant] {
        let resp = app
            .client
            .get(format!("/admin/v1/tenants/{tenant}/events/stream"))
            .header("Authorization", format!("Bearer {}", app.operator_key))
            .send()
            .await;
        resp.assert_status_is_ok();
        streams.push(resp.sse_stream());
    }
    let wakes = &app.state.feeds.events;
    let tenant = acme.tenant.as_str();
    let woken_after = |before: u64| async move {
        for _ in 0..100 {
            if wakes.generation_of(tenant) > before {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("acme's stream was not woken after {before} wakes");
    };
    let before = wakes.generation_of(&acme.tenant);
    let ada = acme.user_id("ada@acme.test").await;
    woken_after(before).await;
    let before = wakes.generation_of(&acme.tenant);
    let replace = json!([{ "op": "replace", "path": "displayName", "value": "Ada L." }]);
    assert_eq!(
        patch(&acme, &format!("/Users/{ada}"), replace).await,
        StatusCode::OK
    );
    woken_after(before).await;
    let group = acme.group_id("Sales").await;
    let before = wakes.generation_of(&acme.tenant);
    let add = json!([{ "op": "add", "path": "members", "value": [{ "value": ada }] }]);
    assert_eq!(
        patch(&acme, &format!("/Groups/{group}"), add).await,
        StatusCode::NO_CONTENT
    );
    woken_after(before).await;
    // Within the 2 s a stream waits for a wake before it reads again by itself.
    let got = tokio::time::timeout(Duration::from_secs(1), streams[0].next())
        .await
        .expect("an event within 1 s");
    assert!(format!("{got:?}").contains("user.created"), "{got:?}");
    assert_eq!(
        wakes.generation_of(&globex.tenant),
        0,
        "globex wrote nothing"
    );
}

/// A stream opened with an admin key ends once the key is revoked, the change events' and
/// the provisioning log's alike, rather than delivering what comes next to whoever holds
/// it; a reconnect with the key gets 401.
async fn a_revoked_key_s_streams_end(app: TestApp) {
    let acme = app.scim("Acme").await;
    let key = app.tenant_admin_key(&acme.tenant).await;
    let key_id = key.split('_').nth(1).unwrap().to_owned();
    let mut streams = Vec::new();
    for path in ["events/stream", "activity/stream"] {
        let resp = app
            .client
            .get(format!("/admin/v1/tenants/{}/{path}", acme.tenant))
            .header("Authorization", format!("Bearer {key}"))
            .send()
            .await;
        resp.assert_status_is_ok();
        streams.push(resp.sse_stream());
    }
    acme.user_id("ada@acme.test").await;
    for stream in &mut streams {
        let got = tokio::time::timeout(Duration::from_secs(5), stream.next())
            .await
            .expect("an event within 5 s");
        assert!(format!("{got:?}").contains("ada@acme.test"), "{got:?}");
    }
    app.admin_delete(
        &app.operator_key,
        &format!("/admin/v1/tenants/{}/admin-keys/{key_id}", acme.tenant),
    )
    .await
    .assert_status(StatusCode::NO_CONTENT);
    acme.user_id("grace@acme.test").await;
    for stream in &mut streams {
        let ended = tokio::time::timeout(Duration::from_secs(5), stream.next())
            .await
            .expect("the stream ends");
        assert!(ended.is_none(), "nothing after the revocation: {ended:?}");
    }
    app.client
        .get(format!("/admin/v1/tenants/{}/events/stream", acme.tenant))
        .header("Authorization", format!("Bearer {key}"))
        .send()
        .await
        .assert_status(StatusCode::UNAUTHORIZED);
}

/// What a mapped group grants can change without its mapping: its permission group's type
/// or permissions replaced, the catalog (which `full` and `readOnly` groups follow) grown or
/// shrunk, a permission group or a product deleted. Each change of a user's permissions is
/// a `user.permissions_changed`, as for mappings; an edit that changes nothing is none. A
/// product renamed is one too: events name the products a user holds.
async fn edits_of_what_mapped_groups_grant_are_permission_events(app: TestApp) {
    let op = &app.operator_key;
    let scim = app.scim("Acme").await;
    let ada = scim.user_id("ada@acme.test").await;
    let devs = scim
        .create_group(json!({ "schemas": [GROUP_SCHEMA], "displayName": "Devs", "members": [{ "value": ada }] }))
        .await;
    let tenant = &scim.tenant;
    let dashboards = app.create_product(tenant, "Dashboards").await;
    let admins = app
        .create_permission_group(
            tenant,
            &dashboards,
            json!({ "name": "Admins", "accessType": "full" }),
        )
        .await;
    let reports = app.create_product(tenant, "Reports").await;
    let viewers = app
        .create_permission_group(
            tenant,
            &reports,
            json!({ "name": "Viewers", "accessType": "readOnly" }),
        )
        .await;
    app.admin_put(
        op,
        &format!("/admin/v1/tenants/{tenant}/groups/{devs}/mapping"),
        json!({ "permissionGroupIds": [admins, viewers] }),
    )
    .await
    .assert_status_is_ok();
    let mark = newest(&app, tenant).await;

    let admins_path =
        format!("/admin/v1/tenants/{tenant}/products/{dashboards}/permission-groups/{admins}");
    for access_type in ["readOnly", "readOnly"] {
        app.admin_put(
            op,
            &admins_path,
            json!({ "name": "Admins", "accessType": access_type }),
        )
        .await
        .assert_status_is_ok();
    }
    app.admin_put(
        op,
        &format!("/admin/v1/tenants/{tenant}/products/{reports}"),
        json!({ "name": "Reporting" }),
    )
    .await
    .assert_status_is_ok();
    app.admin_post(
        op,
        "/admin/v1/permission-catalog",
        json!({ "name": "canExportReports", "access": "read", "description": "Export reports" }),
    )
    .await
    .assert_status(StatusCode::CREATED);
    app.admin_delete(op, "/admin/v1/permission-catalog/canExportReports")
        .await
        .assert_status(StatusCode::NO_CONTENT);
    app.admin_delete(
        op,
        &format!(
            "/admin/v1/tenants/{tenant}/products/{reports}/permission-groups/{viewers}?force=true"
        ),
    )
    .await
    .assert_status(StatusCode::NO_CONTENT);
    app.admin_delete(
        op,
        &format!("/admin/v1/tenants/{tenant}/products/{dashboards}"),
    )
    .await
    .assert_status(StatusCode::NO_CONTENT);

    let changed = event("user.permissions_changed", &ada, "");
    assert_eq!(
        kinds(&app, tenant, mark).await,
        vec![changed; 6],
        "type, product renamed, catalog added, catalog removed, permission group, product; \
         not the same type again"
    );
    let mut events = feed(&app, tenant, mark).await;
    let renamed = events.remove(1);
    let name = |side: &str| renamed["data"][side]["products"][&reports]["productName"].clone();
    assert_eq!(
        (name("before"), name("after")),
        (json!("Reports"), json!("Reporting"))
    );
    let export = |event: &Value, side: &str| {
        event["data"][side]["products"][&reports]["permissions"]
            .as_array()
            .is_some_and(|held| held.iter().any(|name| name == "canExportReports"))
    };
    assert!(
        !export(&events[1], "before") && export(&events[1], "after"),
        "{}",
        events[1]
    );
    assert!(
        export(&events[2], "before") && !export(&events[2], "after"),
        "{}",
        events[2]
    );
    assert_eq!(
        events[4]["data"]["after"]["products"],
        json!({}),
        "{}",
        events[4]
    );
}

/// Organization admins hold every product of the tenant: a new product changes what they
/// may do, and is an event for each of them (and for nobody else).
async fn a_new_product_is_the_organization_admins_at_once(app: TestApp) {
    let scim = app.scim("Acme").await;
    let ada = scim.user_id("ada@acme.test").await;
    scim.user_id("bob@acme.test").await;
    let owners = organization_admins(&app, &scim).await;
    let add = json!([{ "op": "add", "path": "members", "value": [{ "value": ada }] }]);
    assert_eq!(
        patch(&scim, &format!("/Groups/{owners}"), add).await,
        StatusCode::NO_CONTENT
    );
    let mark = newest(&app, &scim.tenant).await;
    let product = app.create_product(&scim.tenant, "Dashboards").await;
    assert_eq!(
        kinds(&app, &scim.tenant, mark).await,
        [event("user.permissions_changed", &ada, "")]
    );
    let events = feed(&app, &scim.tenant, mark).await;
    assert!(
        events[0]["data"]["before"]["products"]
            .get(&product)
            .is_none()
            && events[0]["data"]["after"]["products"]
                .get(&product)
                .is_some(),
        "{}",
        events[0]
    );
}

/// The causal trace: each grant names the SCIM request that added the membership it rests
/// on, and the log finds that request's entry.
async fn a_permission_names_the_request_that_granted_it(app: TestApp) {
    let scim = app.scim("Acme").await;
    let ada = scim.user_id("ada@acme.test").await;
    let owners = organization_admins(&app, &scim).await;
    let add = json!([{ "op": "Add", "path": "members", "value": [{ "value": ada }] }]);
    assert_eq!(
        patch(&scim, &format!("/Groups/{owners}"), add).await,
        StatusCode::NO_CONTENT
    );
    let path = format!("/admin/v1/tenants/{}/users/{ada}/permissions", scim.tenant);
    let plain = json_of(app.admin_get(&app.operator_key, &path).await).await;
    assert!(
        plain["organizationAdminVia"][0]
            .get("addedByRequestId")
            .is_none()
    );
    let traced = json_of(
        app.admin_get(&app.operator_key, &format!("{path}?trace=true"))
            .await,
    )
    .await;
    let request = traced["organizationAdminVia"][0]["addedByRequestId"]
        .as_str()
        .expect("traced")
        .to_owned();
    let added = feed(&app, &scim.tenant, 0).await;
    let member_added = added
        .iter()
        .find(|event| event["type"] == "group.member_added")
        .unwrap();
    assert_eq!(member_added["requestId"], json!(request));
    for _ in 0..100 {
        let log = json_of(
            app.admin_get(
                &app.operator_key,
                &format!(
                    "/admin/v1/tenants/{}/activity?requestId={request}",
                    scim.tenant
                ),
            )
            .await,
        )
        .await;
        if let [entry] = log["items"].as_array().unwrap().as_slice() {
            assert_eq!(entry["operation"], "patch");
            assert_eq!(entry["resourceId"], json!(owners));
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the request's log entry was never found");
}

/// Entra's `Remove` with a `value` list naming a member twice and a user who is not a
/// member: one `group.member_removed`, for the member, and the others stay.
async fn a_member_named_twice_or_not_a_member_is_removed_once_or_not_at_all(app: TestApp) {
    let scim = app.scim("Acme").await;
    let (ada, bob, eve) = (
        scim.user_id("ada@acme.test").await,
        scim.user_id("bob@acme.test").await,
        scim.user_id("eve@acme.test").await,
    );
    let group = scim.group_id("Sales").await;
    let path = format!("/Groups/{group}");
    let add =
        json!([{ "op": "Add", "path": "members", "value": [{ "value": ada }, { "value": bob }] }]);
    assert_eq!(patch(&scim, &path, add).await, StatusCode::NO_CONTENT);
    let mark = newest(&app, &scim.tenant).await;
    let remove = json!([{
        "op": "Remove",
        "path": "members",
        "value": [{ "value": bob }, { "value": eve }, { "value": bob }],
    }]);
    assert_eq!(patch(&scim, &path, remove).await, StatusCode::NO_CONTENT);
    assert_eq!(
        kinds(&app, &scim.tenant, mark).await,
        [event("group.member_removed", &group, &bob)]
    );
    assert_eq!(scim.member_ids(&group).await, [ada]);
}

/// The request of the `group.member_added` event of `user`, the last one.
fn adder_in(events: &[Value], user: &str) -> Option<String> {
    events
        .iter()
        .rev()
        .find(|event| event["type"] == "group.member_added" && event["data"]["userId"] == user)
        .map(|event| event["requestId"].as_str().unwrap().to_owned())
}

/// PATCHes of one group sent while the writer is busy (merged into one write) and answered
/// together: each `(adds, removes)` in the order given.
async fn merged_patches(
    app: &TestApp,
    scim: &Scim<'_>,
    group: &str,
    patches: &[(&[&str], &[&str])],
) {
    let db = &app.state.db;
    let (release, holder) = hold_the_writer(db).await;
    let mut sent = futures_util::stream::FuturesUnordered::new();
    for (adds, removes) in patches {
        let operations: Vec<Value> = [("Remove", removes), ("Add", adds)]
            .into_iter()
            .filter(|(_, ids)| !ids.is_empty())
            .map(|(op, ids)| {
                let value: Vec<Value> = ids.iter().map(|id| json!({ "value": id })).collect();
                json!({ "op": op, "path": "members", "value": value })
            })
            .collect();
        let path = format!("/Groups/{group}");
        sent.push(async move { patch(scim, &path, Value::Array(operations)).await });
        // Whether a PATCH joins the first one's write or runs after it, one by one, the
        // outcome must be the same; the pause lets each arrive before the next.
        let arrived = async {
            while db.stats().queued_writes == 0 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        tokio::select! {
            _ = sent.next() => panic!("answered while the writer was held"),
            () = arrived => {}
        }
    }
    release.send(()).unwrap();
    holder.await.unwrap();
    while let Some(status) = sent.next().await {
        assert_eq!(status, StatusCode::NO_CONTENT);
    }
}

/// Merged PATCHes name the request that made each change as if they had run one by one:
/// a user added twice joined with the first PATCH adding it, and one removed then added
/// twice joined again with the first add after the removal; its trace says the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merged_patches_name_the_request_each_change_came_from() {
    let app = TestApp::sqlite_quiet().await;
    let scim = app.scim("Acme").await;
    let owners = organization_admins(&app, &scim).await;
    let mut ids = Vec::new();
    for name in ["u", "a", "v", "c", "d"] {
        ids.push(scim.user_id(&format!("{name}@acme.test")).await);
    }
    let [u, a, v, c, d] = [&ids[0], &ids[1], &ids[2], &ids[3], &ids[4]].map(String::as_str);

    merged_patches(&app, &scim, &owners, &[(&[u, a], &[]), (&[u, v], &[])]).await;
    let events = feed(&app, &scim.tenant, 0).await;
    let first = adder_in(&events, a).expect("a joined");
    assert_ne!(Some(&first), adder_in(&events, v).as_ref());
    assert_eq!(
        adder_in(&events, u),
        Some(first.clone()),
        "u joined with the first"
    );
    assert_eq!(traced_cause(&app, &scim.tenant, u).await, Some(first));

    merged_patches(
        &app,
        &scim,
        &owners,
        &[(&[], &[u]), (&[u, c], &[]), (&[u, d], &[])],
    )
    .await;
    let events = feed(&app, &scim.tenant, 0).await;
    let again = adder_in(&events, c).expect("c joined");
    assert_ne!(Some(&again), adder_in(&events, d).as_ref());
    assert_eq!(
        adder_in(&events, u),
        Some(again.clone()),
        "u joined again with the second"
    );
    assert_eq!(traced_cause(&app, &scim.tenant, u).await, Some(again));
}

/// The trace of `user`'s organization-admin grant: the request that added it to the group.
async fn traced_cause(app: &TestApp, tenant: &str, user: &str) -> Option<String> {
    let path = format!("/admin/v1/tenants/{tenant}/users/{user}/permissions?trace=true");
    let traced = json_of(app.admin_get(&app.operator_key, &path).await).await;
    traced["organizationAdminVia"][0]["addedByRequestId"]
        .as_str()
        .map(str::to_owned)
}

/// Concurrent PATCHes (merged into one write on the embedded database) and a PUT that
/// keeps one member and adds another: each membership's trace names the request of its own
/// `group.member_added` event, and a member the PUT kept still names the PATCH that added it.
async fn each_membership_traces_to_the_request_that_began_it(app: TestApp) {
    let scim = app.scim("Acme").await;
    let owners = organization_admins(&app, &scim).await;
    let mut users = Vec::new();
    for n in 0..8 {
        users.push(scim.user_id(&format!("u{n}@acme.test")).await);
    }
    let patches = users.iter().map(|user| {
        let add = json!([{ "op": "Add", "path": "members", "value": [{ "value": user }] }]);
        let path = format!("/Groups/{owners}");
        let scim = &scim;
        async move { patch(scim, &path, add).await }
    });
    for status in futures_util::future::join_all(patches).await {
        assert_eq!(status, StatusCode::NO_CONTENT);
    }
    let adder_of = |events: &[Value], user: &str| {
        events
            .iter()
            .find(|event| event["type"] == "group.member_added" && event["data"]["userId"] == user)
            .map(|event| event["requestId"].as_str().unwrap().to_owned())
    };
    let events = feed(&app, &scim.tenant, 0).await;
    let mut causes = Vec::new();
    for user in &users {
        let cause = traced_cause(&app, &scim.tenant, user).await;
        assert_eq!(cause, adder_of(&events, user), "{user}");
        causes.push(cause.expect("traced"));
    }
    causes.sort_unstable();
    causes.dedup();
    assert_eq!(causes.len(), users.len(), "one request each");

    let (kept, newcomer) = (&users[0], scim.user_id("new@acme.test").await);
    let before = traced_cause(&app, &scim.tenant, kept).await;
    let put = json!({
        "schemas": [GROUP_SCHEMA],
        "displayName": "Owners",
        "members": [{ "value": kept }, { "value": newcomer }],
    });
    scim.send("PUT", &format!("/Groups/{owners}"), &put)
        .await
        .assert_status_is_ok();
    let events = feed(&app, &scim.tenant, 0).await;
    let cause = traced_cause(&app, &scim.tenant, &newcomer).await;
    assert!(cause.is_some());
    assert_eq!(cause, adder_of(&events, &newcomer));
    assert_eq!(traced_cause(&app, &scim.tenant, kept).await, before);
    assert_eq!(
        traced_cause(&app, &scim.tenant, &users[1]).await,
        None,
        "left"
    );
}

/// `user.permissions_changed` for exactly the writes that change what a user may do.
async fn permission_changes_are_events(app: TestApp) {
    let scim = app.scim("Acme").await;
    let ada = scim.user_id("ada@acme.test").await;
    let bob = scim.user_id("bob@acme.test").await;
    let owners = organization_admins(&app, &scim).await;
    let plain = scim.group_id("Plain").await;
    let mark = newest(&app, &scim.tenant).await;
    let add =
        |user: &str| json!([{ "op": "Add", "path": "members", "value": [{ "value": user }] }]);
    let owners_path = format!("/Groups/{owners}");
    assert_eq!(
        patch(&scim, &format!("/Groups/{plain}"), add(&ada)).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        patch(&scim, &owners_path, add(&ada)).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        patch(&scim, &owners_path, add(&ada)).await,
        StatusCode::NO_CONTENT
    );
    let user_path = format!("/Users/{ada}");
    let active = |on: &str| json!([{ "op": "Replace", "path": "active", "value": on }]);
    assert_eq!(
        patch(&scim, &user_path, active("False")).await,
        StatusCode::OK
    );
    assert_eq!(
        patch(&scim, &user_path, active("True")).await,
        StatusCode::OK
    );
    assert_eq!(
        patch(&scim, &owners_path, add(&bob)).await,
        StatusCode::NO_CONTENT
    );
    scim.delete(&owners_path)
        .await
        .assert_status(StatusCode::NO_CONTENT);
    scim.delete(&user_path)
        .await
        .assert_status(StatusCode::NO_CONTENT);
    let changed = "user.permissions_changed";
    assert_eq!(
        kinds(&app, &scim.tenant, mark).await,
        [
            event("group.member_added", &plain, &ada),
            event("group.member_added", &owners, &ada),
            event(changed, &ada, ""),
            event("user.deactivated", &ada, ""),
            event(changed, &ada, ""),
            event("user.reactivated", &ada, ""),
            event(changed, &ada, ""),
            event("group.member_added", &owners, &bob),
            event(changed, &bob, ""),
            event("group.deleted", &owners, ""),
            event(changed, &ada, ""),
            event(changed, &bob, ""),
            event("user.deleted", &ada, ""),
        ]
    );
    let events = feed(&app, &scim.tenant, mark).await;
    let granted = &events[2]["data"];
    assert_eq!(granted["before"]["isOrganizationAdmin"], false);
    assert_eq!(granted["after"]["isOrganizationAdmin"], true);
    let deactivated = &events[4]["data"];
    assert_eq!(deactivated["after"]["isOrganizationAdmin"], false);
    assert_eq!(
        events[2]["requestId"], events[1]["requestId"],
        "the PATCH that added ada"
    );
}

/// An admin mapping or unmapping a group changes its members' permissions: one event each.
async fn mapping_changes_are_permission_events(app: TestApp) {
    let scim = app.scim("Acme").await;
    let ada = scim.user_id("ada@acme.test").await;
    let bob = scim.user_id("bob@acme.test").await;
    let group = scim
        .create_group(json!({ "schemas": [GROUP_SCHEMA], "displayName": "Billing", "members": [{ "value": ada }, { "value": bob }] }))
        .await;
    let mark = newest(&app, &scim.tenant).await;
    let mapping = format!("/admin/v1/tenants/{}/groups/{group}/mapping", scim.tenant);
    app.admin_put(
        &app.operator_key,
        &mapping,
        json!({ "isBillingManager": true }),
    )
    .await
    .assert_status_is_ok();
    app.admin_put(
        &app.operator_key,
        &mapping,
        json!({ "isBillingManager": true }),
    )
    .await
    .assert_status_is_ok();
    app.admin_delete(&app.operator_key, &mapping)
        .await
        .assert_status(StatusCode::NO_CONTENT);
    let changed = "user.permissions_changed";
    assert_eq!(
        kinds(&app, &scim.tenant, mark).await,
        [
            event(changed, &ada, ""),
            event(changed, &bob, ""),
            event(changed, &ada, ""),
            event(changed, &bob, ""),
        ],
        "the same mapping again changes nothing"
    );
    let events = feed(&app, &scim.tenant, mark).await;
    assert_eq!(events[0]["data"]["after"]["isBillingManager"], true);
    assert_eq!(events[3]["data"]["after"]["isBillingManager"], false);
}

/// Hears the change-event notices that name one tenant.
struct Heard {
    tenant: String,
    heard: std::sync::atomic::AtomicBool,
}

impl server::store::notify::Subscriber for Heard {
    fn notified(&self, payload: &str) {
        if payload == self.tenant {
            self.heard.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    }

    fn missed(&self) {}
}

/// On PostgreSQL a change-event stream on one replica receives what another writes, and
/// the replica hears the writer's notice for that tenant (sent with the tenant's event
/// lock), rather than finding the change at the stream's slow safety poll. (The notice is
/// told apart by its tenant: tests share the database, and so its notices.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_on_one_replica_receives_the_changes_another_makes() {
    let Some(app) = TestApp::postgres().await else {
        return;
    };
    let replica = app.replica().await;
    let scim = app.scim("Acme").await;
    let heard = std::sync::Arc::new(Heard {
        tenant: scim.tenant.clone(),
        heard: std::sync::atomic::AtomicBool::new(false),
    });
    replica.state.db.notifications().subscribe(
        server::store::notify::EVENTS,
        std::sync::Arc::clone(&heard) as _,
    );
    let resp = replica
        .client
        .get(format!(
            "/admin/v1/tenants/{}/events/stream?lastEventId=0",
            scim.tenant
        ))
        .header("Authorization", format!("Bearer {}", replica.operator_key))
        .send()
        .await;
    resp.assert_status_is_ok();
    let mut stream = resp.sse_stream();
    scim.post("/Users", &user("ada@acme.test"))
        .await
        .assert_status(StatusCode::CREATED);
    loop {
        let next = tokio::time::timeout(Duration::from_secs(5), stream.next())
            .await
            .expect("an event within 5 s")
            .expect("the stream goes on");
        if let Event::Message { data, .. } = next {
            let change: Value = serde_json::from_str(&data).unwrap();
            if change["type"] == "user.created" {
                break;
            }
        }
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !heard.heard.load(std::sync::atomic::Ordering::SeqCst) {
        assert!(
            std::time::Instant::now() < deadline,
            "the replica heard no notice for the tenant"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
