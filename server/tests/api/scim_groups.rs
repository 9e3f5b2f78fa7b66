use poem::http::StatusCode;
use serde_json::json;

use crate::{
    helpers::{TestApp, assert_scim_error, json_of, ops},
    scim_users::urlencode,
};

on_every_backend!(
    entra_group_cycle,
    group_names_are_unique_regardless_of_case,
    members_must_be_users_of_the_tenant,
    membership_probe_and_projection,
    deleting_ends_memberships,
    parallel_member_adds_all_land,
    replace_group_members,
    tenants_see_only_their_own_groups,
    okta_renames_with_the_group_own_id,
);

async fn entra_group_cycle(app: TestApp) {
    let scim = app.scim("Acme").await;
    let alice = scim.user_id("alice").await;
    let bob = scim.user_id("bob").await;

    let lookup = "/Groups?excludedAttributes=members&filter=displayName+eq+%22Sales+Team%22";
    assert_eq!(json_of(scim.get(lookup).await).await["totalResults"], 0);

    let resp = scim
        .post(
            "/Groups",
            &json!({
                "schemas": [
                    "urn:ietf:params:scim:schemas:core:2.0:Group",
                    "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"
                ],
                "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
                "displayName": "Sales Team",
                "meta": { "resourceType": "Group" }
            }),
        )
        .await;
    resp.assert_status(StatusCode::CREATED);
    resp.assert_content_type("application/scim+json");
    let group = json_of(resp).await;
    let id = group["id"].as_str().unwrap().to_owned();
    assert_eq!(group["displayName"], "Sales Team");
    assert_eq!(group["externalId"], "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159");
    assert!(group.get("members").is_none());
    assert_eq!(group["meta"]["resourceType"], "Group");

    let found = json_of(scim.get(lookup).await).await;
    assert_eq!(found["totalResults"], 1);
    assert!(found["Resources"][0].get("members").is_none());

    let path = format!("/Groups/{id}");
    let add = ops(
        json!([{ "op": "Add", "path": "members", "value": [{ "$ref": null, "value": alice }, { "$ref": null, "value": bob }] }]),
    );
    let resp = scim.send("PATCH", &path, &add).await;
    resp.assert_status(StatusCode::NO_CONTENT);
    assert_eq!(scim.member_ids(&id).await, sorted([&alice, &bob]));
    scim.send("PATCH", &path, &add)
        .await
        .assert_status(StatusCode::NO_CONTENT);
    assert_eq!(
        scim.member_ids(&id).await,
        sorted([&alice, &bob]),
        "re-adding does not duplicate"
    );

    let group = json_of(scim.get(&path).await).await;
    let alice_entry = group["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["value"] == json!(alice))
        .unwrap()
        .clone();
    assert!(
        alice_entry.get("display").is_none(),
        "members carry no display: no join with users"
    );
    assert_eq!(alice_entry["type"], "User");
    assert!(
        alice_entry["$ref"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/Users/{alice}"))
    );

    let remove = ops(json!([{ "op": "Remove", "path": "members", "value": [{ "value": alice }] }]));
    scim.send("PATCH", &path, &remove)
        .await
        .assert_status(StatusCode::NO_CONTENT);
    assert_eq!(
        scim.member_ids(&id).await,
        vec![bob.clone()],
        "only the listed member is removed"
    );
    scim.send("PATCH", &path, &remove)
        .await
        .assert_status(StatusCode::NO_CONTENT);

    let remove = ops(json!([{ "op": "remove", "path": format!("members[value eq \"{bob}\"]") }]));
    scim.send("PATCH", &path, &remove)
        .await
        .assert_status(StatusCode::NO_CONTENT);
    assert!(scim.member_ids(&id).await.is_empty());

    let rename = ops(json!([{ "op": "Replace", "path": "displayName", "value": "Sales EMEA" }]));
    let resp = scim
        .send("PATCH", &format!("{path}?attributes=displayName"), &rename)
        .await;
    resp.assert_status_is_ok();
    assert_eq!(json_of(resp).await["displayName"], "Sales EMEA");

    scim.delete(&path)
        .await
        .assert_status(StatusCode::NO_CONTENT);
    assert_scim_error(scim.get(&path).await, StatusCode::NOT_FOUND).await;
    assert_scim_error(scim.delete(&path).await, StatusCode::NOT_FOUND).await;
}

fn sorted<const N: usize>(ids: [&String; N]) -> Vec<String> {
    let mut ids: Vec<String> = ids.iter().map(|s| (*s).clone()).collect();
    ids.sort();
    ids
}

async fn group_names_are_unique_regardless_of_case(app: TestApp) {
    let scim = app.scim("Acme").await;
    scim.post("/Groups", &json!({ "displayName": "Sales" }))
        .await
        .assert_status(StatusCode::CREATED);
    let body = assert_scim_error(
        scim.post("/Groups", &json!({ "displayName": "SALES" }))
            .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(body["scimType"], "uniqueness");
    let other = app.scim("Globex").await;
    other
        .post("/Groups", &json!({ "displayName": "Sales" }))
        .await
        .assert_status(StatusCode::CREATED);
    let body = assert_scim_error(
        scim.post("/Groups", &json!({ "members": [] })).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(body["scimType"], "invalidValue");
    let long = json!({ "displayName": "g".repeat(2500) });
    let body = assert_scim_error(scim.post("/Groups", &long).await, StatusCode::BAD_REQUEST).await;
    assert_eq!(body["scimType"], "invalidValue");
}

async fn members_must_be_users_of_the_tenant(app: TestApp) {
    let scim = app.scim("Acme").await;
    let other = app.scim("Globex").await;
    let alice = scim.user_id("alice").await;
    let stranger = other.user_id("mallory").await;
    let resp = scim
        .post("/Groups", &json!({ "displayName": "Ops", "members": [{ "value": alice }, { "value": stranger }] }))
        .await;
    let body = assert_scim_error(resp, StatusCode::BAD_REQUEST).await;
    assert_eq!(body["scimType"], "invalidValue");
    assert_eq!(
        json_of(scim.get("/Groups").await).await["totalResults"],
        0,
        "nothing was created"
    );

    let group = json_of(
        scim.post(
            "/Groups",
            &json!({ "displayName": "Ops", "members": [{ "value": alice }] }),
        )
        .await,
    )
    .await;
    let path = format!("/Groups/{}", group["id"].as_str().unwrap());
    let resp = scim
        .send(
            "PATCH",
            &path,
            &ops(json!([
                { "op": "remove", "path": "members", "value": [{ "value": alice }] },
                { "op": "add", "path": "members", "value": [{ "value": "no-such-user" }] }
            ])),
        )
        .await;
    let body = assert_scim_error(resp, StatusCode::BAD_REQUEST).await;
    assert_eq!(body["scimType"], "invalidValue");
    assert_eq!(
        scim.member_ids(group["id"].as_str().unwrap()).await,
        vec![alice],
        "the whole PATCH was refused"
    );
    assert_eq!(
        json_of(scim.get(&path).await).await["meta"]["version"],
        group["meta"]["version"]
    );
}

async fn membership_probe_and_projection(app: TestApp) {
    let scim = app.scim("Acme").await;
    let alice = scim.user_id("alice").await;
    let bob = scim.user_id("bob").await;
    let group = json_of(
        scim.post(
            "/Groups",
            &json!({ "displayName": "Ops", "members": [{ "value": alice }] }),
        )
        .await,
    )
    .await;
    let gid = group["id"].as_str().unwrap();
    let probe = |member: &str| {
        format!(
            "/Groups?filter={}&attributes=id",
            urlencode(&format!("id eq \"{gid}\" and members eq \"{member}\""))
        )
    };
    let hit = json_of(scim.get(&probe(&alice)).await).await;
    assert_eq!(hit["totalResults"], 1);
    assert_eq!(
        hit["Resources"][0],
        json!({ "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "id": gid })
    );
    assert_eq!(
        json_of(scim.get(&probe(&bob)).await).await["totalResults"],
        0
    );
    assert_eq!(
        scim.ids(&format!(
            "/Groups?filter={}",
            urlencode(&format!("members.value eq \"{alice}\""))
        ))
        .await,
        vec![gid]
    );

    let without = json_of(
        scim.get(&format!("/Groups/{gid}?excludedAttributes=members"))
            .await,
    )
    .await;
    assert!(without.get("members").is_none());
    assert_eq!(without["displayName"], "Ops");

    let alice_doc = json_of(scim.get(&format!("/Users/{alice}")).await).await;
    assert_eq!(alice_doc["groups"][0]["value"], json!(gid));
    assert_eq!(alice_doc["groups"][0]["display"], "Ops");
    assert_eq!(
        scim.ids(&format!(
            "/Users?filter={}",
            urlencode(&format!("groups.value eq \"{gid}\""))
        ))
        .await,
        vec![alice.clone()]
    );
    assert_eq!(
        scim.ids(&format!(
            "/Users?filter={}",
            urlencode("groups[display eq \"ops\"]")
        ))
        .await,
        vec![alice]
    );
    let bob_doc = json_of(scim.get(&format!("/Users/{bob}")).await).await;
    assert!(bob_doc.get("groups").is_none());
}

async fn deleting_ends_memberships(app: TestApp) {
    let scim = app.scim("Acme").await;
    let alice = scim.user_id("alice").await;
    let bob = scim.user_id("bob").await;
    let group = json_of(
        scim.post(
            "/Groups",
            &json!({ "displayName": "Ops", "members": [{ "value": alice }, { "value": bob }] }),
        )
        .await,
    )
    .await;
    let gid = group["id"].as_str().unwrap();
    scim.delete(&format!("/Users/{alice}"))
        .await
        .assert_status(StatusCode::NO_CONTENT);
    assert_eq!(scim.member_ids(gid).await, vec![bob.clone()]);
    scim.delete(&format!("/Groups/{gid}"))
        .await
        .assert_status(StatusCode::NO_CONTENT);
    let bob_doc = json_of(scim.get(&format!("/Users/{bob}")).await).await;
    assert!(bob_doc.get("groups").is_none());
}

async fn parallel_member_adds_all_land(app: TestApp) {
    let scim = app.scim("Acme").await;
    let group = json_of(
        scim.post("/Groups", &json!({ "displayName": "Everyone" }))
            .await,
    )
    .await;
    let path = format!("/Groups/{}", group["id"].as_str().unwrap());
    let mut users = Vec::new();
    for i in 0..12 {
        users.push(scim.user_id(&format!("user{i}")).await);
    }
    let statuses = futures_util::future::join_all(users.iter().map(|id| {
        let body = ops(json!([{ "op": "Add", "path": "members", "value": [{ "value": id }] }]));
        let scim = &scim;
        let path = &path;
        async move { scim.send("PATCH", path, &body).await.0.status() }
    }))
    .await;
    assert!(
        statuses.iter().all(|s| *s == StatusCode::NO_CONTENT),
        "{statuses:?}"
    );
    users.sort();
    assert_eq!(scim.member_ids(group["id"].as_str().unwrap()).await, users);
}

async fn replace_group_members(app: TestApp) {
    let scim = app.scim("Acme").await;
    let alice = scim.user_id("alice").await;
    let bob = scim.user_id("bob").await;
    let group = json_of(
        scim.post(
            "/Groups",
            &json!({ "displayName": "Ops", "members": [{ "value": alice }] }),
        )
        .await,
    )
    .await;
    let gid = group["id"].as_str().unwrap();
    let resp = scim
        .send(
            "PUT",
            &format!("/Groups/{gid}"),
            &json!({ "displayName": "Ops", "members": [{ "value": bob }] }),
        )
        .await;
    resp.assert_status_is_ok();
    assert_eq!(scim.member_ids(gid).await, vec![bob]);
    let stale = scim
        .app
        .client
        .patch(scim.url(&format!("/Groups/{gid}")))
        .header("Authorization", format!("Bearer {}", scim.token))
        .header("If-Match", group["meta"]["version"].as_str().unwrap())
        .content_type("application/scim+json")
        .body(ops(json!([{ "op": "remove", "path": "members" }])).to_string())
        .send()
        .await;
    assert_scim_error(stale, StatusCode::PRECONDITION_FAILED).await;
}

/// `excludedAttributes=members` (Entra's group read) never reads membership rows, and a
/// user's `groups` is read only when returned.
async fn membership_is_read_only_when_returned(postgres: bool) {
    let Some((app, statements)) = TestApp::recording(postgres).await else {
        return;
    };
    let scim = app.scim("Acme").await;
    let alice = scim.user_id("alice").await;
    scim.post(
        "/Groups",
        &json!({ "displayName": "Ops", "members": [{ "value": alice }] }),
    )
    .await
    .assert_status(StatusCode::CREATED);
    let group = json_of(scim.get("/Groups").await).await["Resources"][0].clone();
    let gid = group["id"].as_str().unwrap();

    for path in [
        "/Groups?excludedAttributes=members".to_owned(),
        "/Groups?filter=displayName+eq+%22Ops%22&excludedAttributes=members".to_owned(),
        format!("/Groups/{gid}?excludedAttributes=members"),
        format!("/Groups/{gid}?attributes=displayName"),
        format!("/Users/{alice}?excludedAttributes=groups"),
        "/Users?attributes=userName".to_owned(),
    ] {
        statements.clear();
        scim.get(&path).await.assert_status_is_ok();
        assert!(
            !statements.any_mentions("group_member"),
            "{path} read membership rows"
        );
    }
    statements.clear();
    scim.get(&format!("/Groups/{gid}"))
        .await
        .assert_status_is_ok();
    assert!(
        statements.any_mentions("group_member"),
        "members are read when returned"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn membership_is_read_only_when_returned_sqlite() {
    membership_is_read_only_when_returned(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn membership_is_read_only_when_returned_postgres() {
    membership_is_read_only_when_returned(true).await;
}

async fn tenants_see_only_their_own_groups(app: TestApp) {
    let acme = app.scim("Acme").await;
    let globex = app.scim("Globex").await;
    let alice = acme.user_id("alice").await;
    let mallory = globex.user_id("mallory").await;
    let group = json_of(
        acme.post(
            "/Groups",
            &json!({ "displayName": "Ops", "members": [{ "value": alice }] }),
        )
        .await,
    )
    .await;
    let gid = group["id"].as_str().unwrap();
    let path = format!("/Groups/{gid}");
    assert_scim_error(globex.get(&path).await, StatusCode::NOT_FOUND).await;
    let add = ops(json!([{ "op": "add", "path": "members", "value": [{ "value": mallory }] }]));
    assert_scim_error(
        globex.send("PATCH", &path, &add).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert_scim_error(
        globex
            .send("PUT", &path, &json!({ "displayName": "Mine" }))
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert_scim_error(globex.delete(&path).await, StatusCode::NOT_FOUND).await;
    assert_eq!(
        json_of(globex.get("/Groups").await).await["totalResults"],
        0
    );
    let probe = format!(
        "/Groups?filter={}",
        urlencode(&format!("members eq \"{alice}\""))
    );
    assert!(globex.ids(&probe).await.is_empty());
    // Acme cannot pull Globex's user into its group either.
    let resp = acme.send("PATCH", &path, &add).await;
    assert_eq!(
        assert_scim_error(resp, StatusCode::BAD_REQUEST).await["scimType"],
        "invalidValue"
    );
    assert_eq!(acme.member_ids(gid).await, vec![alice]);
}

/// Okta's group push renames with a path-less replace that repeats the group's own `id`
/// (and sends it again after membership updates); another group's `id` is refused.
async fn okta_renames_with_the_group_own_id(app: TestApp) {
    let scim = app.scim("Acme").await;
    let alice = scim.user_id("alice").await;
    let gid = scim.group_id("Engineering").await;
    let other = scim.group_id("Sales").await;
    let add = ops(json!([{ "op": "add", "path": "members", "value": [{ "value": alice }] }]));
    let resp = scim.send("PATCH", &format!("/Groups/{gid}"), &add).await;
    resp.assert_status(StatusCode::NO_CONTENT);
    let rename = |id: &str, name: &str| {
        ops(json!([{ "op": "replace", "value": { "id": id, "displayName": name } }]))
    };
    let resp = scim
        .send(
            "PATCH",
            &format!("/Groups/{gid}"),
            &rename(&gid, "Engineering EU"),
        )
        .await;
    resp.assert_status(StatusCode::NO_CONTENT);
    let group = json_of(scim.get(&format!("/Groups/{gid}")).await).await;
    assert_eq!(group["displayName"], "Engineering EU");
    assert_eq!(group["id"], gid.as_str());
    assert_eq!(scim.member_ids(&gid).await, vec![alice]);
    let resp = scim
        .send(
            "PATCH",
            &format!("/Groups/{gid}"),
            &rename(&other, "Hijacked"),
        )
        .await;
    let error = assert_scim_error(resp, StatusCode::BAD_REQUEST).await;
    assert_eq!(error["scimType"], "mutability");
    let path_form = ops(json!([{ "op": "replace", "path": "id", "value": gid }]));
    let resp = scim
        .send("PATCH", &format!("/Groups/{gid}"), &path_form)
        .await;
    resp.assert_status(StatusCode::NO_CONTENT);
    let group = json_of(scim.get(&format!("/Groups/{gid}")).await).await;
    assert_eq!(group["displayName"], "Engineering EU");
}
