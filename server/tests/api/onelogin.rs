//! What OneLogin's SCIM v2 connectors send (`docs/onelogin-dialect.md`, "Requests a test
//! suite must cover"): bodies rendered from an admin-editable template (so loosely typed),
//! updates by PUT, deletion by DELETE, and groups read then patched.

use poem::http::StatusCode;
use serde_json::{Value, json};

use crate::{
    helpers::{
        ENTERPRISE_SCHEMA, GROUP_SCHEMA, Scim, TestApp, USER_SCHEMA, assert_scim_error, json_of,
        ops,
    },
    scim_users::urlencode,
};

on_every_backend!(
    onelogin_lists_and_existence_checks,
    onelogin_template_bodies,
    onelogin_updates_suspends_and_deletes,
    onelogin_groups,
);

/// The connector's default core template, rendered.
fn core_template(user_name: &str, given_name: &str) -> Value {
    json!({
        "schemas": [USER_SCHEMA],
        "userName": user_name,
        "name": { "givenName": given_name, "familyName": "Lovelace", "formatted": "Ada Lovelace" },
        "emails": [{ "value": user_name, "type": "work", "primary": true }]
    })
}

/// A customised Enterprise template as vendors publish them, with OneLogin's blanks.
fn enterprise_template(user_name: &str) -> Value {
    json!({
        "schemas": [USER_SCHEMA, ENTERPRISE_SCHEMA],
        "id": null,
        "meta": { "resourceType": "User" },
        "userName": user_name,
        "active": "true",
        "name": { "givenName": "Ada", "familyName": "Lovelace", "formatted": "Ada Lovelace" },
        "title": "",
        "emails": [{ "value": user_name, "type": "work", "primary": true }],
        "addresses": [{ "locality": "", "region": "", "country": "GB" }],
        ENTERPRISE_SCHEMA: {
            "department": "Research",
            "manager": { "managerId": "", "displayName": " " }
        }
    })
}

async fn total(scim: &Scim<'_>, path: &str) -> Value {
    let resp = scim.get(path).await;
    resp.assert_status_is_ok();
    json_of(resp).await["totalResults"].clone()
}

async fn onelogin_lists_and_existence_checks(app: TestApp) {
    let scim = app.scim("Acme").await;
    assert_eq!(total(&scim, "/Users").await, 0);
    assert_eq!(total(&scim, "/Groups").await, 0);
    let resp = scim
        .app
        .client
        .get(scim.url("/Users"))
        .header("Authorization", "Bearer wrong")
        .send()
        .await;
    assert_scim_error(resp, StatusCode::UNAUTHORIZED).await;
    let resp = scim
        .app
        .client
        .get(scim.url("/Users"))
        .header("Authorization", format!("Bearer {}", scim.token))
        .header("X-Custom-Header", "set by the admin")
        .send()
        .await;
    resp.assert_status_is_ok();

    let filter = |name: &str| format!(r#"userName eq "{name}""#);
    let plus_encoded = |name: &str| urlencode(&filter(name)).replace("%20", "+");
    for path in [
        format!("/Users?filter={}", urlencode(&filter("ada@example.org"))),
        format!("/Users?filter={}", plus_encoded("ada@example.org")),
    ] {
        assert_eq!(total(&scim, &path).await, 0, "{path}");
    }
    scim.create_user(core_template("ada@example.org", "Ada"))
        .await;
    for path in [
        format!("/Users?filter={}", urlencode(&filter("ada@example.org"))),
        format!("/Users?filter={}", plus_encoded("ADA@example.org")),
    ] {
        assert_eq!(total(&scim, &path).await, 1, "{path}");
    }
}

async fn onelogin_template_bodies(app: TestApp) {
    let scim = app.scim("Acme").await;
    let plain = scim
        .app
        .client
        .post(scim.url("/Users"))
        .header("Authorization", format!("Bearer {}", scim.token))
        .content_type("application/json")
        .body(core_template("ada@example.org", "Ada").to_string())
        .send()
        .await;
    plain.assert_status(StatusCode::CREATED);

    let resp = scim
        .post("/Users", &enterprise_template("grace@example.org"))
        .await;
    resp.assert_status(StatusCode::CREATED);
    let user = json_of(resp).await;
    assert!(user["id"].is_string(), "{user}");
    assert_eq!(user["active"], true);
    assert!(user.get("title").is_none(), "a blank is no value: {user}");
    assert_eq!(user["addresses"], json!([{ "country": "GB" }]));
    assert_eq!(user[ENTERPRISE_SCHEMA]["department"], "Research");

    let single = json!({
        "schemas": [USER_SCHEMA], "userName": "linus@example.org",
        "emails": { "value": "linus@example.org", "type": "work", "primary": true }
    });
    let resp = scim.post("/Users", &single).await;
    resp.assert_status(StatusCode::CREATED);
    assert_eq!(
        json_of(resp).await["emails"],
        json!([{ "value": "linus@example.org", "type": "work", "primary": true }])
    );
    let legacy = json!({ "schemas": ["urn:scim:schemas:core:1.0"], "userName": "old@example.org" });
    scim.post("/Users", &legacy)
        .await
        .assert_status(StatusCode::CREATED);

    let odd = json!({ "schemas": [USER_SCHEMA], "userName": "odd@example.org", "active": "1" });
    let error = assert_scim_error(scim.post("/Users", &odd).await, StatusCode::BAD_REQUEST).await;
    assert!(
        error["detail"].as_str().unwrap().contains("active"),
        "{error}"
    );
    let filter = urlencode(r#"userName eq "odd@example.org""#);
    assert_eq!(total(&scim, &format!("/Users?filter={filter}")).await, 0);
    let dup = scim
        .post("/Users", &core_template("Ada@Example.org", "Ada"))
        .await;
    let error = assert_scim_error(dup, StatusCode::CONFLICT).await;
    assert_eq!(error["scimType"], "uniqueness");
}

async fn onelogin_updates_suspends_and_deletes(app: TestApp) {
    let scim = app.scim("Acme").await;
    let user = scim
        .create_user(enterprise_template("ada@example.org"))
        .await;
    let id = user["id"].as_str().unwrap().to_owned();
    let path = format!("/Users/{id}");
    let resp = scim.get(&path).await;
    resp.assert_status_is_ok();
    assert!(
        json_of(resp).await["meta"]["location"]
            .as_str()
            .unwrap()
            .ends_with(&path)
    );
    assert_scim_error(
        scim.get("/Users/00000000-0000-0000-0000-000000000000")
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;

    let resp = scim
        .send("PUT", &path, &core_template("ada@example.org", "Augusta"))
        .await;
    resp.assert_status_is_ok();
    assert_eq!(json_of(resp).await["name"]["givenName"], "Augusta");

    // Suspension: by PUT with a boolean or a quoted one; a later PUT without `active`
    // (templates that leave it out) does not reactivate.
    for suspended in [json!(false), json!("false")] {
        let mut body = enterprise_template("ada@example.org");
        body["active"] = suspended.clone();
        let resp = scim.send("PUT", &path, &body).await;
        resp.assert_status_is_ok();
        assert_eq!(json_of(resp).await["active"], false, "{suspended}");
        let resp = scim
            .send("PUT", &path, &core_template("ada@example.org", "Ada"))
            .await;
        resp.assert_status_is_ok();
        assert_eq!(json_of(resp).await["active"], false, "stays suspended");
        let reactivate = ops(json!([{ "op": "replace", "path": "active", "value": true }]));
        scim.send("PATCH", &path, &reactivate)
            .await
            .assert_status_is_ok();
    }
    let single = json!({
        "schemas": [USER_SCHEMA], "userName": "ada@example.org",
        "emails": { "value": "ada@research.example.org", "type": "work" }
    });
    let resp = scim.send("PUT", &path, &single).await;
    resp.assert_status_is_ok();
    assert_eq!(
        json_of(resp).await["emails"][0]["value"],
        "ada@research.example.org"
    );
    for body in [
        ops(json!([{ "op": "replace", "path": "active", "value": false }])),
        ops(json!([{ "op": "replace", "value": { "active": false } }])),
    ] {
        let resp = scim.send("PATCH", &path, &body).await;
        resp.assert_status_is_ok();
        assert_eq!(json_of(resp).await["active"], false);
    }

    let gid = scim.group_id("Research").await;
    let add = ops(json!([{ "op": "add", "path": "members", "value": [{ "value": id }] }]));
    scim.send("PATCH", &format!("/Groups/{gid}"), &add)
        .await
        .assert_status(StatusCode::NO_CONTENT);
    scim.delete(&path)
        .await
        .assert_status(StatusCode::NO_CONTENT);
    assert_scim_error(scim.delete(&path).await, StatusCode::NOT_FOUND).await;
    assert_eq!(total(&scim, "/Users").await, 0);
    assert!(scim.member_ids(&gid).await.is_empty());
    let again = scim
        .create_user(core_template("ada@example.org", "Ada"))
        .await;
    assert_ne!(again["id"], id.as_str());
}

async fn onelogin_groups(app: TestApp) {
    let scim = app.scim("Acme").await;
    for n in 0..120 {
        scim.group_id(&format!("Team {n:03}")).await;
    }
    let resp = scim.get("/Groups").await;
    resp.assert_status_is_ok();
    let page = json_of(resp).await;
    assert_eq!(page["totalResults"], 120);
    let first = page["Resources"].as_array().unwrap().len();
    let resp = scim.get(&format!("/Groups?startIndex={}", first + 1)).await;
    let rest = json_of(resp).await["Resources"].as_array().unwrap().len();
    assert_eq!(first + rest, 120, "every group reachable");

    let contractors =
        json!({ "schemas": [GROUP_SCHEMA], "displayName": "Contractors", "members": [] });
    let gid = scim.create_group(contractors.clone()).await;
    let dup = contractors;
    assert_scim_error(scim.post("/Groups", &dup).await, StatusCode::CONFLICT).await;

    let ada = scim.user_id("ada@example.org").await;
    let grace = scim.user_id("grace@example.org").await;
    let group_path = format!("/Groups/{gid}");
    let members =
        |ids: &[&String]| -> Vec<Value> { ids.iter().map(|id| json!({ "value": id })).collect() };
    for _ in 0..2 {
        let add =
            ops(json!([{ "op": "add", "path": "members", "value": members(&[&ada, &grace]) }]));
        scim.send("PATCH", &group_path, &add)
            .await
            .assert_status(StatusCode::NO_CONTENT);
    }
    let mut both = vec![ada.clone(), grace.clone()];
    both.sort();
    assert_eq!(scim.member_ids(&gid).await, both);
    let remove = ops(json!([{ "op": "remove", "path": "members", "value": members(&[&ada]) }]));
    scim.send("PATCH", &group_path, &remove)
        .await
        .assert_status(StatusCode::NO_CONTENT);
    assert_eq!(scim.member_ids(&gid).await, vec![grace.clone()]);
    let remove = ops(json!([{ "op": "remove", "path": format!("members[value eq \"{grace}\"]") }]));
    scim.send("PATCH", &group_path, &remove)
        .await
        .assert_status(StatusCode::NO_CONTENT);
    assert!(scim.member_ids(&gid).await.is_empty());

    let unknown = ops(json!([{ "op": "add", "path": "members",
        "value": [{ "value": ada }, { "value": "00000000-0000-0000-0000-000000000000" }] }]));
    assert_scim_error(
        scim.send("PATCH", &group_path, &unknown).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(scim.member_ids(&gid).await.is_empty());
    // The SCIM 1.1 connector's body: not served, and it changes nothing.
    let legacy = json!({ "schemas": ["urn:scim:schemas:core:1.0"],
        "members": [{ "value": ada, "operation": "delete" }] });
    let error = assert_scim_error(
        scim.send("PATCH", &group_path, &legacy).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(error["scimType"], "invalidSyntax");
    assert!(scim.member_ids(&gid).await.is_empty());
    let add = ops(json!([{ "op": "add", "path": "members", "value": members(&[&ada]) }]));
    assert_scim_error(
        scim.send(
            "PATCH",
            "/Groups/00000000-0000-0000-0000-000000000000",
            &add,
        )
        .await,
        StatusCode::NOT_FOUND,
    )
    .await;
}
