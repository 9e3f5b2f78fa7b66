//! Two server processes over one PostgreSQL database: a revocation made through one is
//! honoured by the other's cache at once (LISTEN/NOTIFY), with no TTL wait.

use std::time::Duration;

use poem::http::StatusCode;
use serde_json::json;

use crate::helpers::TestApp;

/// Polls until `replica` answers `expected`, for at most five seconds (notifications are
/// asynchronous; the cache TTL is a minute, so passing proves the notification worked).
async fn eventually(replica: &TestApp, tenant: &str, token: &str, expected: StatusCode) {
    for _ in 0..100 {
        if replica.spc_status(tenant, token).await == expected {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the replica never answered {expected}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revocation_and_rotation_reach_every_replica() {
    let Some(app) = TestApp::postgres().await else {
        return;
    };
    let replica = app.replica().await;
    let tenant = app.tenant_id("Acme").await;
    let issued = app.issue_token(&tenant, json!({})).await;
    let token = issued["token"].as_str().unwrap();
    assert_eq!(
        replica.spc_status(&tenant, token).await,
        StatusCode::OK,
        "cached on the replica"
    );

    let path = format!(
        "/admin/v1/tenants/{tenant}/scim-tokens/{}",
        issued["id"].as_str().unwrap()
    );
    app.admin_delete(&app.operator_key, &path)
        .await
        .assert_status(StatusCode::NO_CONTENT);
    eventually(&replica, &tenant, token, StatusCode::UNAUTHORIZED).await;

    let second = app.token(&tenant).await;
    assert_eq!(replica.spc_status(&tenant, &second).await, StatusCode::OK);
    app.issue_token(&tenant, json!({ "overlapSeconds": 0 }))
        .await;
    eventually(&replica, &tenant, &second, StatusCode::UNAUTHORIZED).await;

    let third = app.token(&tenant).await;
    assert_eq!(replica.spc_status(&tenant, &third).await, StatusCode::OK);
    app.admin_delete(&app.operator_key, &format!("/admin/v1/tenants/{tenant}"))
        .await
        .assert_status(StatusCode::NO_CONTENT);
    eventually(&replica, &tenant, &third, StatusCode::UNAUTHORIZED).await;
}

/// A rotation "on first use": the new token's first request, served by one replica, ends
/// the old token on the other too, where it was cached.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_over_on_one_replica_reaches_the_other() {
    let Some(app) = TestApp::postgres().await else {
        return;
    };
    let replica = app.replica().await;
    let tenant = app.tenant_id("Acme").await;
    let old = app.token(&tenant).await;
    assert_eq!(app.spc_status(&tenant, &old).await, StatusCode::OK);
    let new = app
        .issue_token(&tenant, json!({ "cutOver": "onFirstUse" }))
        .await;
    assert_eq!(app.spc_status(&tenant, &old).await, StatusCode::OK);
    assert_eq!(
        replica
            .spc_status(&tenant, new["token"].as_str().unwrap())
            .await,
        StatusCode::OK
    );
    assert_eq!(
        replica.spc_status(&tenant, &old).await,
        StatusCode::UNAUTHORIZED,
        "ended before the new token's first answer"
    );
    eventually(&app, &tenant, &old, StatusCode::UNAUTHORIZED).await;
}

/// Effective permissions read through a second server follow changes made through the
/// first, at the very next read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permission_changes_are_seen_by_every_replica() {
    let Some(app) = TestApp::postgres().await else {
        return;
    };
    let replica = app.replica().await;
    let scim = app.scim("Acme").await;
    let tenant = scim.tenant.clone();
    let user = scim
        .create_user(json!({ "userName": "ada@acme.test", "active": true }))
        .await;
    let user_id = user["id"].as_str().unwrap().to_owned();
    let group = scim
        .create_group(json!({ "displayName": "Admins", "members": [{ "value": user_id }] }))
        .await;
    let permissions = format!("/admin/v1/tenants/{tenant}/users/{user_id}/permissions");
    let read = || async {
        let resp = replica.admin_get(&app.operator_key, &permissions).await;
        resp.assert_status_is_ok();
        crate::helpers::json_of(resp).await
    };
    assert_eq!(read().await["reason"], "noMappedGroups");

    app.admin_put(
        &app.operator_key,
        &format!("/admin/v1/tenants/{tenant}/groups/{group}/mapping"),
        json!({ "isOrganizationAdmin": true }),
    )
    .await
    .assert_status_is_ok();
    assert_eq!(read().await["isOrganizationAdmin"], true);

    scim.send(
        "PATCH",
        &format!("/Users/{user_id}"),
        &crate::helpers::ops(json!([{ "op": "replace", "path": "active", "value": false }])),
    )
    .await
    .assert_status_is_ok();
    assert_eq!(read().await["reason"], "inactive");
}

/// What a replica keeps of a tenant's products and catalog in memory is checked against
/// the database at each read: a change made through another server counts at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn product_changes_are_seen_by_every_replica() {
    let Some(app) = TestApp::postgres().await else {
        return;
    };
    let replica = app.replica().await;
    let scim = app.scim("Acme").await;
    let tenant = scim.tenant.clone();
    let user = scim
        .create_user(json!({ "userName": "ada@acme.test", "active": true }))
        .await;
    let user_id = user["id"].as_str().unwrap().to_owned();
    let group = scim
        .create_group(json!({ "displayName": "Devs", "members": [{ "value": user_id }] }))
        .await;
    let product = app.create_product(&tenant, "Main").await;
    let developers = app
        .create_permission_group(
            &tenant,
            &product,
            json!({ "name": "Developers", "accessType": "custom", "permissions": ["canViewSdkKey"] }),
        )
        .await;
    app.admin_put(
        &app.operator_key,
        &format!("/admin/v1/tenants/{tenant}/groups/{group}/mapping"),
        json!({ "permissionGroupIds": [developers] }),
    )
    .await
    .assert_status_is_ok();
    let permissions = format!("/admin/v1/tenants/{tenant}/users/{user_id}/permissions");
    let held = || async {
        let resp = replica.admin_get(&app.operator_key, &permissions).await;
        resp.assert_status_is_ok();
        crate::helpers::json_of(resp).await["products"][0]["permissions"].clone()
    };
    assert_eq!(held().await, json!(["canViewSdkKey"]));

    app.admin_put(
        &app.operator_key,
        &format!("/admin/v1/tenants/{tenant}/products/{product}/permission-groups/{developers}"),
        json!({ "name": "Developers", "accessType": "custom", "permissions": ["canRotateSdkKey", "canViewSdkKey"] }),
    )
    .await
    .assert_status_is_ok();
    assert_eq!(held().await, json!(["canRotateSdkKey", "canViewSdkKey"]));

    app.admin_put(
        &app.operator_key,
        &format!("/admin/v1/tenants/{tenant}/products/{product}/permission-groups/{developers}"),
        json!({ "name": "Developers", "accessType": "full" }),
    )
    .await
    .assert_status_is_ok();
    let full = held().await.as_array().unwrap().len();
    app.admin_post(
        &app.operator_key,
        "/admin/v1/permission-catalog",
        json!({ "name": "canDeployRockets", "access": "write", "description": "Launch." }),
    )
    .await
    .assert_status(StatusCode::CREATED);
    assert_eq!(held().await.as_array().unwrap().len(), full + 1);
}
