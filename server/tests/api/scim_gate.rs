use poem::http::StatusCode;
use serde_json::json;

use crate::helpers::{PUBLIC_URL, TestApp, assert_scim_error, json_of};

on_every_backend!(
    service_provider_config_is_served_to_the_tenant_token,
    bad_tokens_get_the_same_401_whether_or_not_the_tenant_exists,
    unknown_paths_and_methods_get_scim_errors,
);

async fn service_provider_config_is_served_to_the_tenant_token(app: TestApp) {
    let tenant = app.tenant_id("Acme").await;
    let token = app.token(&tenant).await;
    let resp = app.spc(&tenant, &token).await;
    resp.assert_status_is_ok();
    resp.assert_content_type("application/scim+json");
    let doc = json_of(resp).await;
    assert_eq!(
        doc["schemas"],
        json!(["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"])
    );
    for feature in ["changePassword", "bulk"] {
        assert_eq!(
            doc[feature]["supported"],
            json!(false),
            "{feature} is not served"
        );
    }
    for feature in ["patch", "sort", "etag", "filter"] {
        assert_eq!(
            doc[feature]["supported"],
            json!(true),
            "{feature} is served"
        );
    }
    assert_eq!(doc["filter"]["maxResults"], json!(1000));
    assert_eq!(doc["authenticationSchemes"][0]["type"], "oauthbearertoken");
    assert_eq!(doc["authenticationSchemes"][0]["primary"], true);
    assert_eq!(doc["meta"]["resourceType"], "ServiceProviderConfig");
    assert_eq!(
        doc["meta"]["location"],
        format!("{PUBLIC_URL}/scim/{tenant}/v2/ServiceProviderConfig")
    );
    let text = doc.to_string();
    assert!(!text.contains("null"), "no nulls: {text}");
}

async fn bad_tokens_get_the_same_401_whether_or_not_the_tenant_exists(app: TestApp) {
    let acme = app.tenant_id("Acme").await;
    let globex = app.tenant_id("Globex").await;
    let acme_token = app.token(&acme).await;
    let admin_key = app.tenant_admin_key(&acme).await;
    let revoked = app.issue_token(&acme, json!({})).await;
    let revoke_path = format!(
        "/admin/v1/tenants/{acme}/scim-tokens/{}",
        revoked["id"].as_str().unwrap()
    );
    app.admin_delete(&app.operator_key, &revoke_path)
        .await
        .assert_status(StatusCode::NO_CONTENT);
    let revoked = revoked["token"].as_str().unwrap().to_owned();
    let last = if acme_token.ends_with('z') { "y" } else { "z" };
    let wrong_secret = format!("{}{last}", &acme_token[..acme_token.len() - 1]);
    let unknown_id = format!("scim_{}_{}", "0".repeat(32), "A".repeat(40));
    let missing_tenant = "00000000-0000-0000-0000-000000000000";

    let cases = [
        (globex.as_str(), Some(acme_token.as_str())),
        (missing_tenant, Some(acme_token.as_str())),
        ("not-even-a-uuid", Some(acme_token.as_str())),
        (acme.as_str(), None),
        (acme.as_str(), Some("")),
        (acme.as_str(), Some("scim_short")),
        (acme.as_str(), Some(wrong_secret.as_str())),
        (acme.as_str(), Some(unknown_id.as_str())),
        (acme.as_str(), Some(revoked.as_str())),
        (acme.as_str(), Some(admin_key.as_str())),
        (missing_tenant, None),
    ];
    let mut bodies = Vec::new();
    for (tenant, token) in cases {
        let mut req = app
            .client
            .get(format!("/scim/{tenant}/v2/ServiceProviderConfig"));
        if let Some(token) = token {
            req = req.header("Authorization", format!("Bearer {token}"));
        }
        let resp = req.send().await;
        resp.assert_header("WWW-Authenticate", "Bearer");
        bodies.push(assert_scim_error(resp, StatusCode::UNAUTHORIZED).await);
    }
    assert!(
        bodies.windows(2).all(|pair| pair[0] == pair[1]),
        "{bodies:?}"
    );
    assert!(bodies[0].get("scimType").is_none());
    // Checked last, so the failures above were all counted and the valid token still works.
    assert_eq!(app.spc_status(&acme, &acme_token).await, StatusCode::OK);
}

async fn unknown_paths_and_methods_get_scim_errors(app: TestApp) {
    let tenant = app.tenant_id("Acme").await;
    let token = app.token(&tenant).await;
    for path in [
        format!("/scim/{tenant}/v2/NoSuchThing"),
        format!("/scim/{tenant}/v1/ServiceProviderConfig"),
        "/scim".to_owned(),
        "/scim/".to_owned(),
    ] {
        let resp = app
            .client
            .get(&path)
            .header("Authorization", format!("Bearer {token}"))
            .send()
            .await;
        assert_scim_error(resp, StatusCode::NOT_FOUND).await;
    }
    for method in ["POST", "PUT", "PATCH", "DELETE"] {
        let resp = app
            .client
            .request(
                method.parse().unwrap(),
                format!("/scim/{tenant}/v2/ServiceProviderConfig"),
            )
            .header("Authorization", format!("Bearer {token}"))
            .content_type("application/scim+json")
            .body("{}")
            .send()
            .await;
        assert_scim_error(resp, StatusCode::METHOD_NOT_ALLOWED).await;
    }
}
