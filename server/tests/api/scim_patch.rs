use poem::http::StatusCode;
use serde_json::json;

use crate::helpers::{TestApp, assert_scim_error, json_of, ops};

on_every_backend!(
    entra_user_patches,
    failing_patch_changes_nothing,
    multi_valued_updates,
    plain_json_is_accepted
);

async fn entra_user_patches(app: TestApp) {
    let scim = app.scim("Acme").await;
    let created = scim
        .create_user(
            json!({ "userName": "Test_User_1", "active": true, "name": { "givenName": "T" } }),
        )
        .await;
    let path = format!("/Users/{}", created["id"].as_str().unwrap());

    // Microsoft's tutorial: disable a user.
    let resp = scim
        .send(
            "PATCH",
            &path,
            &ops(json!([{ "op": "Replace", "path": "active", "value": "False" }])),
        )
        .await;
    resp.assert_status_is_ok();
    let patched = json_of(resp).await;
    assert_eq!(patched["active"], false);
    assert_ne!(patched["meta"]["version"], created["meta"]["version"]);

    // Microsoft's tutorial: update a single-valued attribute; and the aadOptscim062020 shape.
    let resp = scim
        .send(
            "PATCH",
            &path,
            &ops(json!([
                { "op": "Replace", "path": "userName", "value": "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com" },
                { "op": "replace", "value": {
                    "name.familyName": "Family",
                    "emails[type eq \"work\"].value": "work@example.com",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "Sales",
                    "active": "True"
                } }
            ])),
        )
        .await;
    resp.assert_status_is_ok();
    let patched = json_of(resp).await;
    assert_eq!(
        patched["userName"],
        "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com"
    );
    assert_eq!(
        patched["name"],
        json!({ "givenName": "T", "familyName": "Family" })
    );
    assert_eq!(
        patched["emails"],
        json!([{ "type": "work", "value": "work@example.com" }])
    );
    assert_eq!(
        patched["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["department"],
        "Sales"
    );
    assert_eq!(patched["active"], true);
    assert_eq!(
        patched["schemas"],
        json!([
            "urn:ietf:params:scim:schemas:core:2.0:User",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
        ])
    );
    // The new email is filterable at once.
    let found = scim
        .ids("/Users?filter=emails.value%20eq%20%22WORK@example.com%22")
        .await;
    assert_eq!(found, vec![created["id"].as_str().unwrap().to_owned()]);
    assert_scim_error(
        scim.send(
            "PATCH",
            "/Users/nope",
            &ops(json!([{ "op": "add", "path": "title", "value": "x" }])),
        )
        .await,
        StatusCode::NOT_FOUND,
    )
    .await;
}

async fn failing_patch_changes_nothing(app: TestApp) {
    let scim = app.scim("Acme").await;
    let created = scim
        .create_user(json!({ "userName": "alice", "title": "Engineer" }))
        .await;
    scim.create_user(json!({ "userName": "bob" })).await;
    let path = format!("/Users/{}", created["id"].as_str().unwrap());
    for (operations, scim_type, status) in [
        (
            json!([{ "op": "replace", "path": "title", "value": "CEO" }, { "op": "replace", "path": "active", "value": "maybe" }]),
            "invalidValue",
            400,
        ),
        (
            json!([{ "op": "replace", "path": "title", "value": "CEO" }, { "op": "remove", "path": "emails[type eq \"work\"]" }]),
            "noTarget",
            400,
        ),
        (
            json!([{ "op": "replace", "path": "title", "value": "CEO" }, { "op": "replace", "path": "userName", "value": "BOB" }]),
            "uniqueness",
            409,
        ),
        (
            json!([{ "op": "fly", "path": "title", "value": "CEO" }]),
            "invalidSyntax",
            400,
        ),
        (
            json!([{ "op": "replace", "path": "emails[type eq", "value": "x" }]),
            "invalidPath",
            400,
        ),
    ] {
        let resp = scim.send("PATCH", &path, &ops(operations.clone())).await;
        let body = assert_scim_error(resp, StatusCode::from_u16(status).unwrap()).await;
        assert_eq!(body["scimType"], scim_type, "{operations}");
    }
    let after = json_of(scim.get(&path).await).await;
    assert_eq!(after, created, "nothing changed, not even the version");
}

/// Microsoft's tutorial "Update User [Multi-valued properties]" and RFC 7644 §3.5.2 shapes.
async fn multi_valued_updates(app: TestApp) {
    let scim = app.scim("Acme").await;
    let created = scim
        .create_user(json!({
            "userName": "bjensen",
            "emails": [{ "value": "old@work.com", "type": "work", "primary": true }],
            "phoneNumbers": [{ "value": "555-0100", "type": "work" }]
        }))
        .await;
    let path = format!("/Users/{}", created["id"].as_str().unwrap());
    let resp = scim
        .send(
            "PATCH",
            &path,
            &ops(json!([
                { "op": "Replace", "path": "emails[type eq \"work\"].value", "value": "updatedEmail@microsoft.com" },
                { "op": "Replace", "path": "name.familyName", "value": "updatedFamilyName" },
                { "op": "Add", "path": "phoneNumbers", "value": [{ "value": "555-0199", "type": "mobile" }] },
                { "op": "remove", "path": "phoneNumbers[type eq \"work\"]" }
            ])),
        )
        .await;
    resp.assert_status_is_ok();
    let user = json_of(resp).await;
    assert_eq!(
        user["emails"],
        json!([{ "value": "updatedEmail@microsoft.com", "type": "work", "primary": true }])
    );
    assert_eq!(user["name"]["familyName"], "updatedFamilyName");
    assert_eq!(
        user["phoneNumbers"],
        json!([{ "value": "555-0199", "type": "mobile" }])
    );
    assert!(
        scim.ids("/Users?filter=phoneNumbers.value%20eq%20%22555-0100%22")
            .await
            .is_empty()
    );
    assert_eq!(
        scim.ids("/Users?filter=phoneNumbers%5Btype%20eq%20%22mobile%22%5D")
            .await
            .len(),
        1
    );
}

async fn plain_json_is_accepted(app: TestApp) {
    let scim = app.scim("Acme").await;
    for content_type in [
        "application/json",
        "application/json; charset=utf-8",
        "application/scim+json",
        "APPLICATION/SCIM+JSON; charset=UTF-8",
    ] {
        let resp = scim
            .app
            .client
            .post(scim.url("/Users"))
            .header("Authorization", format!("Bearer {}", scim.token))
            .content_type(content_type)
            .body(json!({ "userName": content_type }).to_string())
            .send()
            .await;
        resp.assert_status(StatusCode::CREATED);
        resp.assert_content_type("application/scim+json");
    }
}
