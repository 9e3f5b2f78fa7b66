//! What Okta's SCIM 2.0 client sends (`docs/okta-dialect.md`, "Requests a test suite must
//! cover"): connection and existence checks, the user lifecycle of both integration kinds
//! (PATCH for OIN apps, PUT for wizard-made ones), group push, paging, media types and
//! errors.

use poem::http::StatusCode;
use serde_json::{Value, json};

use crate::{
    helpers::{GROUP_SCHEMA, Scim, TestApp, USER_SCHEMA, assert_scim_error, json_of, ops},
    scim_users::urlencode,
};

on_every_backend!(
    okta_connection_and_existence_checks,
    okta_user_lifecycle,
    okta_group_push,
    okta_pages_by_hundred,
    okta_media_types_and_errors,
);

/// Okta's create body, as its reference prints it.
fn okta_user(user_name: &str, external_id: Option<&str>) -> Value {
    let mut body = json!({
        "schemas": [USER_SCHEMA],
        "userName": user_name,
        "name": { "givenName": "Ada", "familyName": "Lovelace" },
        "emails": [{ "primary": true, "value": user_name, "type": "work" }],
        "displayName": "Ada Lovelace",
        "locale": "en-US",
        "groups": [],
        "password": "q7Zr2kLm-placeholder",
        "active": true
    });
    if let Some(external_id) = external_id {
        body["externalId"] = json!(external_id);
    }
    body
}

async fn existence_check(scim: &Scim<'_>, resource: &str, filter: &str) -> Value {
    let path = format!(
        "/{resource}?filter={}&startIndex=1&count=100",
        urlencode(filter)
    );
    let resp = scim.get(&path).await;
    resp.assert_status_is_ok();
    json_of(resp).await
}

async fn okta_connection_and_existence_checks(app: TestApp) {
    let scim = app.scim("Acme").await;
    for path in [
        "/Users?startIndex=1&count=2",
        "/Groups?startIndex=1&count=100",
    ] {
        let resp = scim.get(path).await;
        resp.assert_status_is_ok();
        let body = json_of(resp).await;
        assert_eq!(body["totalResults"], 0, "{path}");
        assert_eq!(body["startIndex"], 1, "{path}");
        assert!(body["itemsPerPage"].is_number(), "{path}: {body}");
    }
    let absent = existence_check(&scim, "Users", r#"userName eq "ada@example.org""#).await;
    assert_eq!(absent["totalResults"], 0);
    assert_eq!(absent["Resources"], json!([]));

    let ada = scim
        .create_user(okta_user("ada@example.org", Some("00u1")))
        .await;
    for filter in [
        r#"userName eq "ada@example.org""#,
        r#"userName eq "ADA@EXAMPLE.ORG""#,
    ] {
        let found = existence_check(&scim, "Users", filter).await;
        assert_eq!(found["totalResults"], 1, "{filter}");
        assert_eq!(found["Resources"][0]["id"], ada["id"], "{filter}");
    }
    let id = ada["id"].as_str().unwrap();
    let deactivate = ops(json!([{ "op": "replace", "value": { "active": false } }]));
    scim.send("PATCH", &format!("/Users/{id}"), &deactivate)
        .await
        .assert_status_is_ok();
    let inactive = existence_check(&scim, "Users", r#"userName eq "ada@example.org""#).await;
    assert_eq!(inactive["totalResults"], 1, "inactive users are found too");
    assert_eq!(inactive["Resources"][0]["active"], false);

    // The spec test's forms: parameters in another order, or none besides the filter.
    for path in [
        "/Users?count=1&startIndex=1".to_owned(),
        format!(
            "/Users?filter={}",
            urlencode(r#"userName eq "ada@example.org""#)
        ),
        "/Groups".to_owned(),
    ] {
        scim.get(&path).await.assert_status_is_ok();
    }
}

async fn okta_user_lifecycle(app: TestApp) {
    let scim = app.scim("Acme").await;
    let resp = scim
        .post("/Users", &okta_user("ada@example.org", Some("00u1")))
        .await;
    resp.assert_status(StatusCode::CREATED);
    let created = json_of(resp).await;
    let id = created["id"].as_str().unwrap().to_owned();
    assert!(created.get("password").is_none(), "{created}");
    assert_eq!(created["externalId"], "00u1");
    assert!(
        app.raw_dump_contains("ada@example.org").await,
        "the probe sees stored data"
    );
    assert!(
        !app.raw_dump_contains("q7Zr2kLm-placeholder").await,
        "the placeholder password is stored nowhere"
    );
    scim.create_user(okta_user("grace@example.org", None)).await;
    for taken in ["ada@example.org", "Ada@Example.org"] {
        let resp = scim.post("/Users", &okta_user(taken, Some("00u9"))).await;
        let error = assert_scim_error(resp, StatusCode::CONFLICT).await;
        assert_eq!(error["scimType"], "uniqueness");
    }

    let resp = scim.get(&format!("/Users/{id}")).await;
    resp.assert_status_is_ok();
    let mut user = json_of(resp).await;
    assert_eq!(user["userName"], "ada@example.org");
    assert_eq!(user["name"]["givenName"], "Ada");
    assert_eq!(user["name"]["familyName"], "Lovelace");
    assert_eq!(user["emails"][0]["value"], "ada@example.org");
    assert_eq!(user["active"], true);
    let missing = scim
        .get("/Users/00000000-0000-0000-0000-000000000000")
        .await;
    let error = assert_scim_error(missing, StatusCode::NOT_FOUND).await;
    assert!(!error["detail"].as_str().unwrap().is_empty());

    // Profile update: our own GET echoed back, edited (id, meta and groups included).
    user["name"]["middleName"] = json!("King");
    user["name"]["honorificPrefix"] = json!("");
    user["emails"][0]["display"] = json!("ada@example.org");
    let resp = scim.send("PUT", &format!("/Users/{id}"), &user).await;
    resp.assert_status_is_ok();
    let updated = json_of(resp).await;
    assert_eq!(updated["name"]["middleName"], "King");
    assert_eq!(updated["externalId"], "00u1");
    assert_eq!(updated["id"], id.as_str());

    // OIN apps deactivate and reactivate by PATCH ...
    for active in [false, true] {
        let body = ops(json!([{ "op": "replace", "value": { "active": active } }]));
        let resp = scim.send("PATCH", &format!("/Users/{id}"), &body).await;
        resp.assert_status_is_ok();
        assert_eq!(json_of(resp).await["active"], active);
    }
    // ... wizard-made ones by PUT.
    let mut body = json_of(scim.get(&format!("/Users/{id}")).await).await;
    body["active"] = json!(false);
    let resp = scim.send("PUT", &format!("/Users/{id}"), &body).await;
    resp.assert_status_is_ok();
    assert_eq!(json_of(resp).await["active"], false);

    // Password sync: accepted, nothing stored or returned.
    let body = ops(json!([{ "op": "replace", "value": { "password": "n3w-Secret!" } }]));
    let resp = scim.send("PATCH", &format!("/Users/{id}"), &body).await;
    resp.assert_status_is_ok();
    assert!(json_of(resp).await.get("password").is_none());
    assert!(!app.raw_dump_contains("n3w-Secret!").await);
}

async fn okta_group_push(app: TestApp) {
    let scim = app.scim("Acme").await;
    let ada = scim.user_id("ada@example.org").await;
    let grace = scim.user_id("grace@example.org").await;
    let linus = scim.user_id("linus@example.org").await;
    let lookup = r#"displayName eq "Engineering""#;
    assert_eq!(
        existence_check(&scim, "Groups", lookup).await["totalResults"],
        0
    );
    let gid = scim
        .create_group(
            json!({ "schemas": [GROUP_SCHEMA], "displayName": "Engineering", "members": [] }),
        )
        .await;
    assert_eq!(
        existence_check(&scim, "Groups", lookup).await["Resources"][0]["id"],
        gid.as_str()
    );
    let members = json!([
        { "value": ada, "display": "ada@example.org" },
        { "value": grace, "display": "grace@example.org" }
    ]);
    let sales = scim
        .create_group(
            json!({ "schemas": [GROUP_SCHEMA], "displayName": "Sales", "members": members }),
        )
        .await;
    assert_eq!(scim.member_ids(&sales).await, sorted(&[&ada, &grace]));
    let resp = scim
        .post(
            "/Groups",
            &json!({ "schemas": [GROUP_SCHEMA], "displayName": "engineering" }),
        )
        .await;
    assert_scim_error(resp, StatusCode::CONFLICT).await;

    let group_path = format!("/Groups/{gid}");
    let send = |body: Value| {
        let scim = &scim;
        let group_path = group_path.clone();
        async move { scim.send("PATCH", &group_path, &ops(body)).await }
    };
    let rename = |id: &str, name: &str| json!([{ "op": "replace", "value": { "id": id, "displayName": name } }]);
    // Sent after every membership push, with the same name: changes nothing.
    send(rename(&gid, "Engineering"))
        .await
        .assert_status(StatusCode::NO_CONTENT);
    send(rename(&gid, "Engineering EU"))
        .await
        .assert_status(StatusCode::NO_CONTENT);
    let group = json_of(scim.get(&group_path).await).await;
    assert_eq!(group["displayName"], "Engineering EU");
    assert_scim_error(send(rename(&gid, "Sales")).await, StatusCode::CONFLICT).await;
    let error = assert_scim_error(
        send(rename(&sales, "Engineering")).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(error["scimType"], "mutability");

    let add = |ids: &[&String]| {
        let values: Vec<Value> = ids.iter().map(|id| json!({ "value": id })).collect();
        json!([{ "op": "add", "path": "members", "value": values }])
    };
    send(add(&[&ada]))
        .await
        .assert_status(StatusCode::NO_CONTENT);
    send(add(&[&ada, &grace]))
        .await
        .assert_status(StatusCode::NO_CONTENT);
    assert_eq!(scim.member_ids(&gid).await, sorted(&[&ada, &grace]));
    let remove_ada = json!([{ "op": "remove", "path": format!("members[value eq \"{ada}\"]") }]);
    for _ in 0..2 {
        send(remove_ada.clone())
            .await
            .assert_status(StatusCode::NO_CONTENT);
        assert_eq!(scim.member_ids(&gid).await, sorted(&[&grace]));
    }
    let swap = json!([
        { "op": "remove", "path": format!("members[value eq \"{grace}\"]") },
        { "op": "add", "path": "members", "value": [{ "value": linus }] }
    ]);
    send(swap).await.assert_status(StatusCode::NO_CONTENT);
    assert_eq!(scim.member_ids(&gid).await, sorted(&[&linus]));
    let replace = json!([{ "op": "replace", "path": "members", "value": [{ "value": ada }, { "value": grace }] }]);
    send(replace).await.assert_status(StatusCode::NO_CONTENT);
    assert_eq!(scim.member_ids(&gid).await, sorted(&[&ada, &grace]));
    send(json!([{ "op": "replace", "path": "members", "value": [] }]))
        .await
        .assert_status(StatusCode::NO_CONTENT);
    assert!(scim.member_ids(&gid).await.is_empty());
    send(json!([{ "op": "replace", "value": { "members": [{ "value": linus }] } }]))
        .await
        .assert_status(StatusCode::NO_CONTENT);
    assert_eq!(scim.member_ids(&gid).await, sorted(&[&linus]));
    let unknown = add(&[&ada, &"00000000-0000-0000-0000-000000000000".to_owned()]);
    assert_scim_error(send(unknown).await, StatusCode::BAD_REQUEST).await;
    assert_eq!(
        scim.member_ids(&gid).await,
        sorted(&[&linus]),
        "a refused PATCH changes nothing"
    );

    // Wizard-made apps push groups by PUT.
    let body = json!({
        "schemas": [GROUP_SCHEMA], "id": gid, "displayName": "Platform",
        "members": [{ "value": ada, "display": "ada@example.org" }, { "value": grace }]
    });
    let resp = scim.send("PUT", &group_path, &body).await;
    resp.assert_status_is_ok();
    assert_eq!(json_of(resp).await["displayName"], "Platform");
    assert_eq!(scim.member_ids(&gid).await, sorted(&[&ada, &grace]));
    let body =
        json!({ "schemas": [GROUP_SCHEMA], "id": gid, "displayName": "Platform", "members": [] });
    scim.send("PUT", &group_path, &body)
        .await
        .assert_status_is_ok();
    assert!(scim.member_ids(&gid).await.is_empty());

    scim.get(&group_path).await.assert_status_is_ok();
    assert_scim_error(
        scim.get("/Groups/00000000-0000-0000-0000-000000000000")
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    let resp = scim.delete(&group_path).await;
    resp.assert_status(StatusCode::NO_CONTENT);
    assert!(resp.0.into_body().into_bytes().await.unwrap().is_empty());
    assert_scim_error(scim.get(&group_path).await, StatusCode::NOT_FOUND).await;
}

fn sorted(ids: &[&String]) -> Vec<String> {
    let mut ids: Vec<String> = ids.iter().map(|id| (*id).clone()).collect();
    ids.sort();
    ids
}

/// Okta imports in pages of 100, advancing `startIndex` by 100.
async fn okta_pages_by_hundred(app: TestApp) {
    let scim = app.scim("Acme").await;
    for n in 0..250 {
        scim.user_id(&format!("user{n:03}@example.org")).await;
    }
    let mut seen = std::collections::BTreeSet::new();
    for (start, expected) in [(1, 100), (101, 100), (201, 50)] {
        let resp = scim
            .get(&format!("/Users?startIndex={start}&count=100"))
            .await;
        resp.assert_status_is_ok();
        let page = json_of(resp).await;
        assert_eq!(page["totalResults"], 250);
        assert_eq!(page["startIndex"], start);
        assert_eq!(page["itemsPerPage"], expected);
        let resources = page["Resources"].as_array().unwrap();
        assert_eq!(resources.len(), expected);
        for user in resources {
            assert!(
                seen.insert(user["id"].as_str().unwrap().to_owned()),
                "no user twice"
            );
        }
    }
    assert_eq!(seen.len(), 250);
}

async fn okta_media_types_and_errors(app: TestApp) {
    let scim = app.scim("Acme").await;
    let resp = scim
        .app
        .client
        .post(scim.url("/Users"))
        .header("Authorization", format!("Bearer {}", scim.token))
        .header("Accept", "application/scim+json")
        .header("Accept-Charset", "utf-8")
        .header("User-Agent", "Okta SCIM Client 1.0.0")
        .content_type("application/json")
        .body(okta_user("plain@example.org", None).to_string())
        .send()
        .await;
    resp.assert_status(StatusCode::CREATED);
    for authorization in [
        "Bearer not-a-token".to_owned(),
        format!("Basic {}", "b2t0YTpzZWNyZXQ="),
    ] {
        let resp = scim
            .app
            .client
            .get(scim.url("/Users?startIndex=1&count=2"))
            .header("Authorization", authorization)
            .send()
            .await;
        assert_scim_error(resp, StatusCode::UNAUTHORIZED).await;
    }
    let bad_filter = scim.get("/Users?filter=userName%20eq").await;
    assert_scim_error(bad_filter, StatusCode::BAD_REQUEST).await;
    let id = scim.user_id("bad@example.org").await;
    let bad_patch = scim
        .send(
            "PATCH",
            &format!("/Users/{id}"),
            &json!({ "Operations": "x" }),
        )
        .await;
    assert_scim_error(bad_patch, StatusCode::BAD_REQUEST).await;
}
