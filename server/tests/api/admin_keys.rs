use poem::http::StatusCode;
use serde_json::json;

use crate::helpers::{TestApp, assert_admin_error, json_of};

on_every_backend!(
    issue_list_revoke,
    admin_key_input_is_validated,
    what_is_unset_is_absent_not_null,
    whoami_tells_the_role_of_a_key,
    operator_keys_are_issued_listed_and_revoked_but_never_the_last,
);

async fn issue_list_revoke(app: TestApp) {
    let tenant = app.tenant_id("Acme").await;
    let path = format!("/admin/v1/tenants/{tenant}/admin-keys");
    let resp = app
        .admin_post(
            &app.operator_key,
            &path,
            json!({ "name": "Acme admins", "expiresInDays": 30 }),
        )
        .await;
    resp.assert_status(StatusCode::CREATED);
    let issued = json_of(resp).await;
    let key = issued["key"].as_str().unwrap();
    assert!(key.starts_with("sadm_"));
    assert_eq!(issued["tenantId"], json!(tenant));
    assert_eq!(issued["name"], "Acme admins");
    app.admin_get(key, &format!("/admin/v1/tenants/{tenant}"))
        .await
        .assert_status_is_ok();

    let resp = app.admin_get(&app.operator_key, &path).await;
    resp.assert_status_is_ok();
    let text = resp.0.into_body().into_string().await.unwrap();
    assert!(!text.contains(key));
    let list: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(list["items"][0]["id"], issued["id"]);
    assert_eq!(list["items"][0]["status"], "active");
    assert!(
        list["items"][0]["lastUsedAt"].as_str().is_some(),
        "it was used above"
    );
    assert!(list["items"][0].get("key").is_none());

    let key_path = format!("{path}/{}", issued["id"].as_str().unwrap());
    app.admin_delete(&app.operator_key, &key_path)
        .await
        .assert_status(StatusCode::NO_CONTENT);
    assert_admin_error(
        app.admin_get(key, &format!("/admin/v1/tenants/{tenant}"))
            .await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    )
    .await;
    let list = json_of(app.admin_get(&app.operator_key, &path).await).await;
    assert_eq!(list["items"][0]["status"], "revoked");

    let other = app.tenant_id("Globex").await;
    let wrong_tenant = format!(
        "/admin/v1/tenants/{other}/admin-keys/{}",
        issued["id"].as_str().unwrap()
    );
    assert_admin_error(
        app.admin_delete(&app.operator_key, &wrong_tenant).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;

    // An expiring key stops at its expiry.
    let resp = app
        .admin_post(&app.operator_key, &path, json!({ "expiresInDays": 1 }))
        .await;
    let expiring = json_of(resp).await["key"].as_str().unwrap().to_owned();
    app.admin_get(&expiring, "/admin/v1/tenants")
        .await
        .assert_status_is_ok();
    app.advance(24 * 3600 + 1);
    assert_admin_error(
        app.admin_get(&expiring, "/admin/v1/tenants").await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    )
    .await;
}

async fn admin_key_input_is_validated(app: TestApp) {
    let tenant = app.tenant_id("Acme").await;
    let path = format!("/admin/v1/tenants/{tenant}/admin-keys");
    let resp = app
        .admin_post(&app.operator_key, &path, json!({ "name": "" }))
        .await;
    assert_admin_error(resp, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    for body in [json!({ "expiresInDays": 0 }), json!({ "name": ["x"] })] {
        let resp = app.admin_post(&app.operator_key, &path, body).await;
        assert_admin_error(resp, StatusCode::BAD_REQUEST, "bad_request").await;
    }
    let list = json_of(app.admin_get(&app.operator_key, &path).await).await;
    assert!(list["items"].as_array().unwrap().is_empty());
}

/// The paths of every `null` in `value` (the schemas allow none: what is unset is absent).
fn nulls(value: &serde_json::Value, at: &str) -> Vec<String> {
    match value {
        serde_json::Value::Null => vec![at.to_owned()],
        serde_json::Value::Object(map) => map
            .iter()
            .flat_map(|(key, child)| nulls(child, &format!("{at}.{key}")))
            .collect(),
        serde_json::Value::Array(items) => items
            .iter()
            .enumerate()
            .flat_map(|(n, child)| nulls(child, &format!("{at}[{n}]")))
            .collect(),
        _ => Vec::new(),
    }
}

/// Credentials issued with `{}` (as the README shows) have no name, expiry, revocation or
/// use: generated clients that type those as optional strings must not meet a `null`.
async fn what_is_unset_is_absent_not_null(app: TestApp) {
    let tenant = app.tenant_id("Acme").await;
    let issued = app.issue_token(&tenant, json!({})).await;
    let keys = format!("/admin/v1/tenants/{tenant}/admin-keys");
    let resp = app.admin_post(&app.operator_key, &keys, json!({})).await;
    resp.assert_status(StatusCode::CREATED);
    let key = json_of(resp).await;
    let tokens = json_of(
        app.admin_get(
            &app.operator_key,
            &format!("/admin/v1/tenants/{tenant}/scim-tokens"),
        )
        .await,
    )
    .await;
    let key_list = json_of(app.admin_get(&app.operator_key, &keys).await).await;
    assert!(issued.get("expiresAt").is_none() && tokens["items"][0].get("lastUsedAt").is_none());
    for (what, body) in [
        ("issued token", &issued),
        ("issued key", &key),
        ("token list", &tokens),
        ("key list", &key_list),
    ] {
        assert_eq!(nulls(body, what), Vec::<String>::new(), "{body}");
    }
}

async fn whoami_tells_the_role_of_a_key(app: TestApp) {
    let resp = app.admin_get(&app.operator_key, "/admin/v1/whoami").await;
    resp.assert_status_is_ok();
    let operator = json_of(resp).await;
    assert_eq!(operator["role"], "operator");
    assert!(operator.get("tenantId").is_none(), "{operator}");
    assert_eq!(operator["apiVersion"], server::API_VERSION);
    assert!(
        app.operator_key
            .contains(operator["keyId"].as_str().unwrap())
    );

    let tenant = app.tenant_id("Acme").await;
    let key = app.tenant_admin_key(&tenant).await;
    let resp = app.admin_get(&key, "/admin/v1/whoami").await;
    resp.assert_status_is_ok();
    let admin = json_of(resp).await;
    assert_eq!(admin["role"], "tenantAdmin");
    assert_eq!(admin["tenantId"], tenant);
    assert!(!admin.to_string().contains(&key), "never the secret");

    let resp = app.admin_get("sadm_nope", "/admin/v1/whoami").await;
    assert_admin_error(resp, StatusCode::UNAUTHORIZED, "unauthorized").await;
}

/// Operator keys have their own endpoints: a leaked one is revoked (here and on every
/// replica) once its replacement is issued; the last one that works never is, or the admin
/// API would answer nobody. Tenant-admin keys neither see nor touch them.
async fn operator_keys_are_issued_listed_and_revoked_but_never_the_last(app: TestApp) {
    let path = "/admin/v1/operator-keys";
    let first = &app.operator_key;
    let first_id = first.split('_').nth(1).unwrap().to_owned();
    let resp = app
        .admin_post(first, path, json!({ "name": "Second operator" }))
        .await;
    resp.assert_status(StatusCode::CREATED);
    let issued = json_of(resp).await;
    let second = issued["key"].as_str().unwrap().to_owned();
    let second_id = issued["id"].as_str().unwrap().to_owned();
    assert!(issued.get("tenantId").is_none(), "{issued}");
    let role = json_of(app.admin_get(&second, "/admin/v1/whoami").await).await;
    assert_eq!(role["role"], "operator", "{role}");

    let resp = app.admin_get(first, path).await;
    resp.assert_status_is_ok();
    let text = resp.0.into_body().into_string().await.unwrap();
    assert!(!text.contains(&second) && !text.contains(first.as_str()));
    let list: serde_json::Value = serde_json::from_str(&text).unwrap();
    let ids: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [second_id.as_str(), first_id.as_str()], "newest first");

    let tenant = app.tenant_id("Acme").await;
    let tenant_key = app.tenant_admin_key(&tenant).await;
    let tenant_key_id = tenant_key.split('_').nth(1).unwrap();
    app.admin_get(&tenant_key, path)
        .await
        .assert_status(StatusCode::FORBIDDEN);
    app.admin_post(&tenant_key, path, json!({}))
        .await
        .assert_status(StatusCode::FORBIDDEN);
    app.admin_delete(&tenant_key, &format!("{path}/{second_id}"))
        .await
        .assert_status(StatusCode::FORBIDDEN);
    app.admin_delete(&second, &format!("{path}/{tenant_key_id}"))
        .await
        .assert_status(StatusCode::NOT_FOUND);

    // Revoking an ended key again changes nothing and records nothing more.
    for _ in 0..2 {
        app.admin_delete(&second, &format!("{path}/{first_id}"))
            .await
            .assert_status(StatusCode::NO_CONTENT);
    }
    let audit = json_of(
        app.admin_get(&second, "/admin/v1/audit?action=admin_key.revoked")
            .await,
    )
    .await;
    let targets: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["target"].as_str().unwrap())
        .collect();
    assert_eq!(targets, [format!("admin_key:{first_id}")], "{audit}");
    assert_admin_error(
        app.admin_get(first, "/admin/v1/whoami").await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    )
    .await;
    assert_admin_error(
        app.admin_delete(&second, &format!("{path}/{second_id}"))
            .await,
        StatusCode::CONFLICT,
        "conflict",
    )
    .await;
    app.admin_get(&second, "/admin/v1/whoami")
        .await
        .assert_status_is_ok();
    let list = json_of(app.admin_get(&second, path).await).await;
    assert_eq!(list["items"][0]["status"], "active");
    assert_eq!(list["items"][1]["status"], "revoked");
}
