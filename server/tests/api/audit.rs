//! The audit trail read through the admin API: who created the tenant, issued, rotated
//! and revoked its tokens and keys, newest first; no secret in it.

use poem::http::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, json_of};

on_every_backend!(admin_changes_are_audited);

async fn actions(app: &TestApp, key: &str, path: &str) -> Vec<Value> {
    let resp = app.admin_get(key, path).await;
    resp.assert_status_is_ok();
    json_of(resp).await["items"].as_array().unwrap().clone()
}

async fn admin_changes_are_audited(app: TestApp) {
    let tenant = app.tenant_id("Acme").await;
    let first = app.issue_token(&tenant, json!({ "name": "entra" })).await;
    let second = app
        .issue_token(&tenant, json!({ "name": "entra-2", "overlapSeconds": 0 }))
        .await;
    let key = app.tenant_admin_key(&tenant).await;
    let second_id = second["id"].as_str().unwrap();
    // Revoking what already ended changes nothing, and records nothing more.
    for _ in 0..2 {
        app.admin_delete(
            &app.operator_key,
            &format!("/admin/v1/tenants/{tenant}/scim-tokens/{second_id}"),
        )
        .await
        .assert_status(StatusCode::NO_CONTENT);
    }

    let path = format!("/admin/v1/tenants/{tenant}/audit");
    let items = actions(&app, &app.operator_key, &path).await;
    let names: Vec<&str> = items
        .iter()
        .map(|item| item["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "scim_token.revoked",
            "admin_key.created",
            "scim_token.issued",
            "scim_token.issued",
            "tenant.created"
        ]
    );
    let rotated = &items[2];
    assert_eq!(rotated["target"], format!("scim_token:{second_id}"));
    assert_eq!(rotated["after"]["ending"], json!([first["id"]]));
    assert_eq!(items[4]["after"], json!({ "name": "Acme" }));
    let operator_key_id = items[4]["actorKeyId"].as_str().unwrap();
    assert!(
        app.operator_key.contains(operator_key_id),
        "the actor is the key's id"
    );
    let text = Value::Array(items.clone()).to_string();
    for secret in [&first["token"], &second["token"], &json!(key)] {
        assert!(
            !text.contains(secret.as_str().unwrap()),
            "a secret in the audit"
        );
    }

    // Filters and pages; operators read across tenants, a tenant admin only its own.
    let issued = actions(
        &app,
        &key,
        &format!("{path}?action=scim_token.issued&limit=1"),
    )
    .await;
    assert_eq!(issued.len(), 1);
    let other = app.tenant_id("Globex").await;
    app.admin_get(&key, &format!("/admin/v1/tenants/{other}/audit"))
        .await
        .assert_status(StatusCode::FORBIDDEN);
    app.admin_get(&key, "/admin/v1/audit")
        .await
        .assert_status(StatusCode::FORBIDDEN);
    let all = actions(
        &app,
        &app.operator_key,
        "/admin/v1/audit?action=tenant.created",
    )
    .await;
    assert_eq!(all.len(), 2);
    assert_eq!(all[0]["tenantId"], json!(other));
}
