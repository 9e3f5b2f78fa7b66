//! Group mappings and their priority order through the admin API, with groups synced over
//! SCIM.

use poem::http::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_admin_error, json_of};

on_every_backend!(
    mapping_synced_groups,
    bad_mappings_change_nothing,
    priority_lists_are_whole_permutations,
    deleting_groups_and_permission_groups_updates_mappings,
);

struct Setup {
    tenant: String,
    groups: Vec<String>,
    /// Two permission groups of product A, one of product B.
    a1: String,
    a2: String,
    b1: String,
}

async fn setup(app: &TestApp) -> (Setup, crate::helpers::Scim<'_>) {
    let scim = app.scim("Acme").await;
    let tenant = scim.tenant.clone();
    let mut groups = Vec::new();
    for name in ["Owners", "Developers", "Readers"] {
        groups.push(
            scim.create_group(json!({ "displayName": name, "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"] }))
                .await,
        );
    }
    let full = || json!({ "name": "Admins", "accessType": "full" });
    let (product_a, product_b) = (
        app.create_product(&tenant, "A").await,
        app.create_product(&tenant, "B").await,
    );
    let a1 = app
        .create_permission_group(&tenant, &product_a, full())
        .await;
    let a2 = app
        .create_permission_group(
            &tenant,
            &product_a,
            json!({ "name": "Viewers", "accessType": "full" }),
        )
        .await;
    let b1 = app
        .create_permission_group(&tenant, &product_b, full())
        .await;
    let setup = Setup {
        tenant,
        groups,
        a1,
        a2,
        b1,
    };
    (setup, scim)
}

fn mapping_path(s: &Setup, group: &str) -> String {
    format!("/admin/v1/tenants/{}/groups/{group}/mapping", s.tenant)
}

async fn order(app: &TestApp, s: &Setup) -> Value {
    let resp = app
        .admin_get(
            &app.operator_key,
            &format!("/admin/v1/tenants/{}/group-priority", s.tenant),
        )
        .await;
    resp.assert_status_is_ok();
    json_of(resp).await["groupIds"].clone()
}

async fn map(app: &TestApp, s: &Setup, group: &str, body: Value) -> Value {
    let resp = app
        .admin_put(&app.operator_key, &mapping_path(s, group), body)
        .await;
    resp.assert_status_is_ok();
    json_of(resp).await
}

async fn mapping_synced_groups(app: TestApp) {
    let (s, _) = setup(&app).await;
    let (owners, developers) = (&s.groups[0], &s.groups[1]);
    let mapped = map(
        &app,
        &s,
        owners,
        json!({ "isOrganizationAdmin": true, "permissionGroupIds": [s.a1, s.b1] }),
    )
    .await;
    let mut expected_ids = vec![s.a1.clone(), s.b1.clone()];
    expected_ids.sort();
    assert_eq!(
        mapped,
        json!({
            "groupId": owners, "displayName": "Owners", "isOrganizationAdmin": true,
            "isBillingManager": false, "permissionGroupIds": expected_ids, "priority": 1
        })
    );
    let second = map(
        &app,
        &s,
        developers,
        json!({ "permissionGroupIds": [s.a2] }),
    )
    .await;
    assert_eq!(second["priority"], 2, "new mappings go last");
    assert_eq!(order(&app, &s).await, json!([owners, developers]));

    // Replacing keeps the place in the order.
    let replaced = map(&app, &s, owners, json!({ "isBillingManager": true })).await;
    assert_eq!(replaced["priority"], 1);
    assert_eq!(replaced["isOrganizationAdmin"], false);
    assert_eq!(replaced["permissionGroupIds"], json!([]));
    let got = json_of(
        app.admin_get(&app.operator_key, &mapping_path(&s, owners))
            .await,
    )
    .await;
    assert_eq!(got, replaced);

    // Unmapping moves the rest up.
    app.admin_delete(&app.operator_key, &mapping_path(&s, owners))
        .await
        .assert_status(StatusCode::NO_CONTENT);
    assert_eq!(order(&app, &s).await, json!([developers]));
    let got = json_of(
        app.admin_get(&app.operator_key, &mapping_path(&s, developers))
            .await,
    )
    .await;
    assert_eq!(got["priority"], 1);
    let resp = app
        .admin_get(&app.operator_key, &mapping_path(&s, owners))
        .await;
    assert_admin_error(resp, StatusCode::NOT_FOUND, "not_found").await;
}

async fn bad_mappings_change_nothing(app: TestApp) {
    let (s, _) = setup(&app).await;
    let owners = &s.groups[0];
    let resp = app
        .admin_put(
            &app.operator_key,
            &mapping_path(&s, owners),
            json!({ "permissionGroupIds": [s.a1, "no-such-group"] }),
        )
        .await;
    resp.assert_status(StatusCode::BAD_REQUEST);
    let error = json_of(resp).await;
    assert_eq!(error["code"], "invalid_reference");
    assert!(error["message"].as_str().unwrap().contains("no-such-group"));
    let resp = app
        .admin_put(
            &app.operator_key,
            &mapping_path(&s, owners),
            json!({ "permissionGroupIds": [s.a1, s.a2] }),
        )
        .await;
    resp.assert_status(StatusCode::BAD_REQUEST);
    let message = json_of(resp).await["message"].as_str().unwrap().to_owned();
    assert!(
        message.contains("one permission group per product"),
        "{message}"
    );
    let resp = app
        .admin_get(&app.operator_key, &mapping_path(&s, owners))
        .await;
    assert_admin_error(resp, StatusCode::NOT_FOUND, "not_found").await;

    // Another tenant's groups and permission groups are unknown here.
    let other = app.scim("Globex").await;
    let foreign_group = other.create_group(json!({ "displayName": "Owners" })).await;
    let resp = app
        .admin_put(
            &app.operator_key,
            &mapping_path(&s, &foreign_group),
            json!({}),
        )
        .await;
    assert_admin_error(resp, StatusCode::NOT_FOUND, "not_found").await;
    let globex = other.tenant.clone();
    let resp = app
        .admin_put(
            &app.operator_key,
            &format!("/admin/v1/tenants/{globex}/groups/{foreign_group}/mapping"),
            json!({ "permissionGroupIds": [s.a1] }),
        )
        .await;
    assert_admin_error(resp, StatusCode::BAD_REQUEST, "invalid_reference").await;
    assert_eq!(order(&app, &s).await, json!([]));
}

async fn priority_lists_are_whole_permutations(app: TestApp) {
    let (s, _) = setup(&app).await;
    for group in &s.groups {
        map(&app, &s, group, json!({})).await;
    }
    let path = format!("/admin/v1/tenants/{}/group-priority", s.tenant);
    let [a, b, c] = [&s.groups[0], &s.groups[1], &s.groups[2]];
    let resp = app
        .admin_put(&app.operator_key, &path, json!({ "groupIds": [c, a, b] }))
        .await;
    resp.assert_status_is_ok();
    assert_eq!(json_of(resp).await["groupIds"], json!([c, a, b]));
    assert_eq!(order(&app, &s).await, json!([c, a, b]));
    let got = json_of(app.admin_get(&app.operator_key, &mapping_path(&s, a)).await).await;
    assert_eq!(got["priority"], 2);

    for (body, says) in [
        (json!({ "groupIds": [a, b] }), "missing"),
        (json!({ "groupIds": [a, b, c, a] }), "more than once"),
        (json!({ "groupIds": [a, b, c, "stranger"] }), "stranger"),
        (json!({ "groupIds": [] }), "missing"),
    ] {
        let resp = app.admin_put(&app.operator_key, &path, body).await;
        resp.assert_status(StatusCode::BAD_REQUEST);
        let message = json_of(resp).await["message"].as_str().unwrap().to_owned();
        assert!(message.contains(says), "{message}");
        assert_eq!(order(&app, &s).await, json!([c, a, b]), "unchanged");
    }
}

async fn deleting_groups_and_permission_groups_updates_mappings(app: TestApp) {
    let (s, scim) = setup(&app).await;
    let (owners, developers) = (&s.groups[0], &s.groups[1]);
    map(&app, &s, owners, json!({ "permissionGroupIds": [s.a1] })).await;
    map(
        &app,
        &s,
        developers,
        json!({ "permissionGroupIds": [s.a1, s.b1] }),
    )
    .await;

    // A permission group in use: 409 naming the groups, unless forced.
    let products = json_of(
        app.admin_get(
            &app.operator_key,
            &format!("/admin/v1/tenants/{}/products", s.tenant),
        )
        .await,
    )
    .await;
    let product_a = products["items"][0]["id"].as_str().unwrap().to_owned();
    let a1_path = format!(
        "/admin/v1/tenants/{}/products/{product_a}/permission-groups/{}",
        s.tenant, s.a1
    );
    let resp = app.admin_delete(&app.operator_key, &a1_path).await;
    resp.assert_status(StatusCode::CONFLICT);
    let message = json_of(resp).await["message"].as_str().unwrap().to_owned();
    assert!(
        message.contains("Owners") && message.contains("Developers"),
        "{message}"
    );
    app.admin_delete(&app.operator_key, &format!("{a1_path}?force=true"))
        .await
        .assert_status(StatusCode::NO_CONTENT);
    let got = json_of(
        app.admin_get(&app.operator_key, &mapping_path(&s, developers))
            .await,
    )
    .await;
    assert_eq!(got["permissionGroupIds"], json!([s.b1]));

    // A group deleted over SCIM takes its mapping along.
    scim.delete(&format!("/Groups/{owners}"))
        .await
        .assert_status(StatusCode::NO_CONTENT);
    assert_eq!(order(&app, &s).await, json!([developers]));
    let got = json_of(
        app.admin_get(&app.operator_key, &mapping_path(&s, developers))
            .await,
    )
    .await;
    assert_eq!(got["priority"], 1);
}
