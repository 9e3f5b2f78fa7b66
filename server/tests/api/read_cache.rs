//! Reads served from the user cache (embedded database) are never stale: each kind of
//! change is read back right after it is acknowledged, having been read (and cached)
//! just before, and also once it has committed after its client went away.

use poem::http::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Scim, TestApp, abandon, hold_the_writer, json_of, ops, user};

on_every_backend!(
    reads_follow_every_change,
    deleted_and_foreign_users_never_become_members,
    free_names_stay_free_only_until_taken
);

async fn by_name(scim: &Scim<'_>, name: &str) -> Vec<Value> {
    let resp = scim
        .get(&format!("/Users?filter=userName%20eq%20%22{name}%22"))
        .await;
    resp.assert_status_is_ok();
    json_of(resp).await["Resources"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

async fn read(scim: &Scim<'_>, id: &str) -> Value {
    let resp = scim.get(&format!("/Users/{id}")).await;
    resp.assert_status_is_ok();
    json_of(resp).await
}

fn group_names(user: &Value) -> Vec<String> {
    user["groups"]
        .as_array()
        .map(|groups| {
            groups
                .iter()
                .map(|g| g["display"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

async fn patch(scim: &Scim<'_>, path: &str, operations: Value) {
    let resp = scim
        .send(
            "PATCH",
            path,
            &json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": operations,
            }),
        )
        .await;
    assert!(resp.0.status().is_success(), "{}", resp.0.status());
}

async fn reads_follow_every_change(app: TestApp) {
    let scim = app.scim("Acme").await;
    let ada = scim.create_user(user("ada@example.com")).await;
    let id = ada["id"].as_str().unwrap().to_owned();
    assert_eq!(by_name(&scim, "ADA@example.com").await.len(), 1);
    assert!(group_names(&read(&scim, &id).await).is_empty());

    // Membership added to a group: the user's `groups` shows it.
    let resp = scim
        .post(
            "/Groups",
            &json!({ "displayName": "Sales", "members": [{ "value": id }] }),
        )
        .await;
    resp.assert_status(StatusCode::CREATED);
    let sales = json_of(resp).await["id"].as_str().unwrap().to_owned();
    assert_eq!(group_names(&read(&scim, &id).await), ["Sales"]);
    let resp = scim.post("/Groups", &json!({ "displayName": "Ops" })).await;
    let ops = json_of(resp).await["id"].as_str().unwrap().to_owned();
    assert_eq!(
        group_names(&by_name(&scim, "ada@example.com").await[0]),
        ["Sales"]
    );
    patch(
        &scim,
        &format!("/Groups/{ops}"),
        json!([{ "op": "Add", "path": "members", "value": [{ "value": id }] }]),
    )
    .await;
    assert_eq!(group_names(&read(&scim, &id).await), ["Ops", "Sales"]);
    assert_eq!(
        group_names(&by_name(&scim, "ada@example.com").await[0]),
        ["Ops", "Sales"]
    );

    // Renamed, emptied, replaced and deleted groups.
    patch(
        &scim,
        &format!("/Groups/{sales}"),
        json!([{ "op": "Replace", "path": "displayName", "value": "Sales EMEA" }]),
    )
    .await;
    assert_eq!(group_names(&read(&scim, &id).await), ["Ops", "Sales EMEA"]);
    patch(
        &scim,
        &format!("/Groups/{ops}"),
        json!([{ "op": "Remove", "path": "members", "value": [{ "value": id }] }]),
    )
    .await;
    assert_eq!(group_names(&read(&scim, &id).await), ["Sales EMEA"]);
    scim.send(
        "PUT",
        &format!("/Groups/{sales}"),
        &json!({ "displayName": "Sales EMEA", "members": [] }),
    )
    .await
    .assert_status_is_ok();
    assert!(group_names(&read(&scim, &id).await).is_empty());
    patch(
        &scim,
        &format!("/Groups/{ops}"),
        json!([{ "op": "Add", "path": "members", "value": [{ "value": id }] }]),
    )
    .await;
    assert_eq!(group_names(&read(&scim, &id).await), ["Ops"]);
    scim.delete(&format!("/Groups/{ops}"))
        .await
        .assert_status(StatusCode::NO_CONTENT);
    assert!(group_names(&by_name(&scim, "ada@example.com").await[0]).is_empty());

    // The user itself: patched, renamed, replaced, deactivated, deleted.
    patch(
        &scim,
        &format!("/Users/{id}"),
        json!([{ "op": "Replace", "path": "displayName", "value": "Ada L." }]),
    )
    .await;
    assert_eq!(read(&scim, &id).await["displayName"], "Ada L.");
    patch(
        &scim,
        &format!("/Users/{id}"),
        json!([{ "op": "Replace", "path": "userName", "value": "ada@lovelace.example" }]),
    )
    .await;
    assert!(by_name(&scim, "ada@example.com").await.is_empty());
    assert_eq!(
        by_name(&scim, "ada@lovelace.example").await[0]["id"],
        id.as_str()
    );
    scim.send(
        "PUT",
        &format!("/Users/{id}"),
        &json!({ "userName": "ada@lovelace.example", "active": false }),
    )
    .await
    .assert_status_is_ok();
    let after = read(&scim, &id).await;
    assert_eq!(after["active"], false);
    assert!(
        after.get("displayName").is_none(),
        "PUT cleared it: {after}"
    );
    scim.delete(&format!("/Users/{id}"))
        .await
        .assert_status(StatusCode::NO_CONTENT);
    scim.get(&format!("/Users/{id}"))
        .await
        .assert_status(StatusCode::NOT_FOUND);
    assert!(by_name(&scim, "ada@lovelace.example").await.is_empty());

    // Another tenant never sees it, cached or not.
    let other = app.scim("Globex").await;
    let grace = scim.create_user(user("grace@example.com")).await;
    let grace_id = grace["id"].as_str().unwrap();
    read(&scim, grace_id).await;
    other
        .get(&format!("/Users/{grace_id}"))
        .await
        .assert_status(StatusCode::NOT_FOUND);
    assert!(by_name(&other, "grace@example.com").await.is_empty());

    // Deleting the tenant forgets its users.
    app.admin_delete(
        &app.operator_key,
        &format!("/admin/v1/tenants/{}", scim.tenant),
    )
    .await
    .assert_status(StatusCode::NO_CONTENT);
    scim.get(&format!("/Users/{grace_id}"))
        .await
        .assert_status(StatusCode::UNAUTHORIZED);
}

/// Members are checked against users known to exist without a lookup where possible: a
/// deleted user, or one of another tenant, is still refused.
async fn deleted_and_foreign_users_never_become_members(app: TestApp) {
    let scim = app.scim("Acme").await;
    let other = app.scim("Globex").await;
    let gone = scim.create_user(user("gone@example.com")).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let stays = scim.create_user(user("stays@example.com")).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let foreign = other.create_user(user("foreign@example.com")).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let resp = scim
        .post("/Groups", &json!({ "displayName": "Team" }))
        .await;
    let group = json_of(resp).await["id"].as_str().unwrap().to_owned();
    scim.delete(&format!("/Users/{gone}"))
        .await
        .assert_status(StatusCode::NO_CONTENT);
    for refused in [&gone, &foreign] {
        let resp = scim
            .send(
                "PATCH",
                &format!("/Groups/{group}"),
                &json!({
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                    "Operations": [{ "op": "Add", "path": "members",
                                     "value": [{ "value": stays }, { "value": refused }] }],
                }),
            )
            .await;
        crate::helpers::assert_scim_error(resp, StatusCode::BAD_REQUEST).await;
    }
    let resp = scim.get(&format!("/Groups/{group}")).await;
    assert!(
        json_of(resp)
            .await
            .get("members")
            .is_none_or(|m| m.as_array().is_some_and(Vec::is_empty)),
        "nothing was added"
    );
}

/// A change that waited for the writer while its client went away is still committed; the
/// cached copies it makes stale must go with it, not with the answer nobody waits for.
/// (Embedded database only: there alone writes queue for one writer, and users are cached.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_follow_changes_whose_clients_went_away() {
    let app = TestApp::sqlite_quiet().await;
    let scim = app.scim("Acme").await;
    let ada = scim.user_id("ada@example.com").await;
    let bob = scim.user_id("bob@example.com").await;
    let team = scim.group_id("Team").await;
    assert_eq!(read(&scim, &ada).await["userName"], "ada@example.com");
    assert_eq!(by_name(&scim, "bob@example.com").await.len(), 1);
    assert!(by_name(&scim, "lovelace@example.com").await.is_empty());
    names_known(&app, &scim.tenant).await;

    let rename =
        ops(json!([{ "op": "replace", "path": "userName", "value": "lovelace@example.com" }]));
    abandon(&app, scim.send("PATCH", &format!("/Users/{ada}"), &rename)).await;
    assert_eq!(read(&scim, &ada).await["userName"], "lovelace@example.com");
    assert!(by_name(&scim, "ada@example.com").await.is_empty());
    assert_eq!(by_name(&scim, "lovelace@example.com").await.len(), 1);

    let join = ops(json!([{ "op": "add", "path": "members", "value": [{ "value": ada }] }]));
    abandon(&app, scim.send("PATCH", &format!("/Groups/{team}"), &join)).await;
    assert_eq!(group_names(&read(&scim, &ada).await), ["Team"]);

    abandon(&app, scim.delete(&format!("/Groups/{team}"))).await;
    assert!(group_names(&read(&scim, &ada).await).is_empty());

    abandon(&app, scim.delete(&format!("/Users/{bob}"))).await;
    scim.get(&format!("/Users/{bob}"))
        .await
        .assert_status(StatusCode::NOT_FOUND);
    assert!(by_name(&scim, "bob@example.com").await.is_empty());
}

/// Once the names of the tenant are known (the embedded database reads them after the first
/// lookup of a free name), the lookup of a free name needs no read.
async fn names_known(app: &TestApp, tenant: &str) {
    let Some(cache) = app.state.db.user_cache() else {
        return;
    };
    for _ in 0..1000 {
        if cache.names().surely_free(tenant, "nobody-is-named-this") {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    panic!("the tenant's names were never read");
}

/// A free name is answered as free (with the names known, without a read), and every way a
/// name gets taken makes it found at once: a create, a merged create, a rename, a create
/// whose client went away, and any case of it.
async fn free_names_stay_free_only_until_taken(app: TestApp) {
    let scim = app.scim("Acme").await;
    scim.user_id("ada@example.com").await;
    assert!(by_name(&scim, "grace@example.com").await.is_empty());
    names_known(&app, &scim.tenant).await;
    assert!(by_name(&scim, "grace@example.com").await.is_empty());
    assert_eq!(
        by_name(&scim, "ADA@example.com").await.len(),
        1,
        "read before"
    );

    scim.user_id("Grace@Example.com").await;
    assert_eq!(by_name(&scim, "grace@EXAMPLE.com").await.len(), 1);

    let rename =
        ops(json!([{ "op": "replace", "path": "userName", "value": "hopper@example.com" }]));
    let grace = by_name(&scim, "grace@example.com").await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let resp = scim
        .send("PATCH", &format!("/Users/{grace}"), &rename)
        .await;
    assert!(resp.0.status().is_success(), "{}", resp.0.status());
    assert_eq!(by_name(&scim, "hopper@example.com").await.len(), 1);
    assert!(by_name(&scim, "grace@example.com").await.is_empty());

    // Creates sent together (on the embedded database, merged into one write job when they
    // meet in the writer's queue).
    let names: Vec<String> = (0..4).map(|n| format!("merged{n}@example.com")).collect();
    let bodies: Vec<Value> = names.iter().map(|name| user(name)).collect();
    let creates = bodies.iter().map(|body| scim.post("/Users", body));
    for resp in futures_util::future::join_all(creates).await {
        resp.assert_status(StatusCode::CREATED);
    }
    for name in &names {
        assert_eq!(by_name(&scim, name).await.len(), 1, "{name}");
    }
}

/// A create whose client went away still takes its name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_name_taken_by_a_create_whose_client_went_away_is_taken() {
    let app = TestApp::sqlite_quiet().await;
    let scim = app.scim("Acme").await;
    assert!(by_name(&scim, "left@example.com").await.is_empty());
    names_known(&app, &scim.tenant).await;
    abandon(&app, scim.post("/Users", &user("left@example.com"))).await;
    assert_eq!(by_name(&scim, "left@example.com").await.len(), 1);
}

/// Whichever comes first in the writer's queue, the read of a tenant's names or a create,
/// the name created is taken once both are done.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_read_while_a_create_waits_include_it() {
    for create_first in [true, false] {
        let app = TestApp::sqlite_quiet().await;
        let scim = app.scim("Acme").await;
        let db = &app.state.db;
        let (release, holder) = hold_the_writer(db).await;
        let body = user("new@example.com");
        let mut create = std::pin::pin!(scim.post("/Users", &body));
        let queued = |writes: usize| async move {
            while db.stats().queued_writes < writes {
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
        };
        if create_first {
            tokio::select! {
                _ = &mut create => panic!("answered while the writer was held"),
                () = queued(1) => {}
            }
            // Free in the database, as the create has not run: the read of names is queued.
            assert!(by_name(&scim, "other@example.com").await.is_empty());
            queued(2).await;
        } else {
            assert!(by_name(&scim, "other@example.com").await.is_empty());
            queued(1).await;
            tokio::select! {
                _ = &mut create => panic!("answered while the writer was held"),
                () = queued(2) => {}
            }
        }
        release.send(()).unwrap();
        holder.await.unwrap();
        create.await.assert_status(StatusCode::CREATED);
        names_known(&app, &scim.tenant).await;
        assert_eq!(
            by_name(&scim, "new@example.com").await.len(),
            1,
            "create first: {create_first}"
        );
    }
}

/// With the tenant's names known, looking up a free name reads nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_free_name_is_answered_without_a_read() {
    let (app, statements) = TestApp::recording(false).await.unwrap();
    let scim = app.scim("Acme").await;
    scim.user_id("ada@example.com").await;
    assert!(by_name(&scim, "grace@example.com").await.is_empty());
    names_known(&app, &scim.tenant).await;
    statements.clear();
    assert!(by_name(&scim, "grace@example.com").await.is_empty());
    assert!(
        !statements.any_mentions("scim_user"),
        "{:#?}",
        statements.0.lock().unwrap()
    );
}
