use poem::http::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{PUBLIC_URL, TestApp, abandon, assert_admin_error};

on_every_backend!(
    issued_token_is_shown_once_and_listed_without_secret,
    rotation_with_overlap,
    rotation_without_overlap_ends_the_old_token_at_once,
    at_most_two_tokens_are_live,
    expiry,
    revocation_while_cached,
    revoking_is_scoped_to_the_tenant,
    token_input_is_validated,
    last_used_is_recorded,
    token_lists_page_by_cursor,
    cut_over_on_first_use,
    cut_over_on_first_use_still_ends_at_the_maximum,
    a_new_rotation_makes_a_pending_cut_over_moot,
);

fn status_of(tokens: &[Value], id: &Value) -> Value {
    tokens.iter().find(|t| &t["id"] == id).unwrap()["status"].clone()
}

async fn issued_token_is_shown_once_and_listed_without_secret(app: TestApp) {
    let tenant = app.tenant_id("Acme").await;
    let issued = app
        .issue_token(&tenant, json!({ "name": "Entra ID", "expiresInDays": 365 }))
        .await;
    let plain = issued["token"].as_str().unwrap();
    assert!(plain.starts_with("scim_"));
    assert_eq!(issued["name"], "Entra ID");
    assert_eq!(issued["scimUrl"], format!("{PUBLIC_URL}/scim/{tenant}/v2"));
    assert!(issued["expiresAt"].as_str().is_some());

    let resp = app
        .admin_get(
            &app.operator_key,
            &format!("/admin/v1/tenants/{tenant}/scim-tokens"),
        )
        .await;
    resp.assert_status_is_ok();
    let text = resp.0.into_body().into_string().await.unwrap();
    assert!(
        !text.contains(plain),
        "the plain token is never shown again"
    );
    assert!(!text.contains(&plain[38..]), "nor its secret part");
    let list: Value = serde_json::from_str(&text).unwrap();
    let item = &list["items"][0];
    assert_eq!(item["id"], issued["id"]);
    assert_eq!(item["status"], "active");
    assert_eq!(item["name"], "Entra ID");
    assert_eq!(item["createdAt"], issued["createdAt"]);
    assert_eq!(item["expiresAt"], issued["expiresAt"]);
    assert!(item.get("token").is_none());
    assert_eq!(app.spc_status(&tenant, plain).await, StatusCode::OK);
}

async fn rotation_with_overlap(app: TestApp) {
    let tenant = app.tenant_id("Acme").await;
    let first = app.issue_token(&tenant, json!({})).await;
    let first_token = first["token"].as_str().unwrap();
    assert_eq!(app.spc_status(&tenant, first_token).await, StatusCode::OK);

    let second = app
        .issue_token(&tenant, json!({ "overlapSeconds": 120 }))
        .await;
    let second_token = second["token"].as_str().unwrap();
    assert_eq!(
        app.spc_status(&tenant, first_token).await,
        StatusCode::OK,
        "old token works during the overlap"
    );
    assert_eq!(app.spc_status(&tenant, second_token).await, StatusCode::OK);
    let tokens = app.tokens(&tenant).await;
    assert_eq!(status_of(&tokens, &first["id"]), "rotating");
    assert_eq!(status_of(&tokens, &second["id"]), "active");
    let revoked_at = tokens.iter().find(|t| t["id"] == first["id"]).unwrap()["revokedAt"].clone();
    assert!(revoked_at.as_str().is_some());

    app.advance(119);
    assert_eq!(app.spc_status(&tenant, first_token).await, StatusCode::OK);
    app.advance(2);
    assert_eq!(
        app.spc_status(&tenant, first_token).await,
        StatusCode::UNAUTHORIZED,
        "cut over"
    );
    assert_eq!(app.spc_status(&tenant, second_token).await, StatusCode::OK);
    let tokens = app.tokens(&tenant).await;
    assert_eq!(status_of(&tokens, &first["id"]), "revoked");
    assert_eq!(tokens[0]["id"], second["id"], "newest first");
}

async fn rotation_without_overlap_ends_the_old_token_at_once(app: TestApp) {
    let tenant = app.tenant_id("Acme").await;
    let first = app.token(&tenant).await;
    assert_eq!(
        app.spc_status(&tenant, &first).await,
        StatusCode::OK,
        "now cached"
    );
    let second = app
        .issue_token(&tenant, json!({ "overlapSeconds": 0 }))
        .await;
    assert_eq!(
        app.spc_status(&tenant, &first).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.spc_status(&tenant, second["token"].as_str().unwrap())
            .await,
        StatusCode::OK
    );
}

async fn at_most_two_tokens_are_live(app: TestApp) {
    let tenant = app.tenant_id("Acme").await;
    let first = app.token(&tenant).await;
    let second = app.token(&tenant).await;
    assert_eq!(app.spc_status(&tenant, &first).await, StatusCode::OK);
    assert_eq!(app.spc_status(&tenant, &second).await, StatusCode::OK);
    let third = app.token(&tenant).await;
    assert_eq!(
        app.spc_status(&tenant, &first).await,
        StatusCode::UNAUTHORIZED,
        "the oldest ends at once"
    );
    assert_eq!(app.spc_status(&tenant, &second).await, StatusCode::OK);
    assert_eq!(app.spc_status(&tenant, &third).await, StatusCode::OK);
    let statuses: Vec<_> = app
        .tokens(&tenant)
        .await
        .iter()
        .map(|t| t["status"].clone())
        .collect();
    assert_eq!(
        statuses,
        vec![json!("active"), json!("rotating"), json!("revoked")]
    );
}

async fn expiry(app: TestApp) {
    let tenant = app.tenant_id("Acme").await;
    let issued = app
        .issue_token(&tenant, json!({ "expiresInDays": 1 }))
        .await;
    let token = issued["token"].as_str().unwrap();
    assert_eq!(app.spc_status(&tenant, token).await, StatusCode::OK);
    app.advance(24 * 3600 - 5);
    assert_eq!(app.spc_status(&tenant, token).await, StatusCode::OK);
    app.advance(10);
    assert_eq!(
        app.spc_status(&tenant, token).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        status_of(&app.tokens(&tenant).await, &issued["id"]),
        "expired"
    );
}

async fn revocation_while_cached(app: TestApp) {
    let tenant = app.tenant_id("Acme").await;
    let issued = app.issue_token(&tenant, json!({})).await;
    let token = issued["token"].as_str().unwrap();
    for _ in 0..3 {
        assert_eq!(app.spc_status(&tenant, token).await, StatusCode::OK);
    }
    let path = format!(
        "/admin/v1/tenants/{tenant}/scim-tokens/{}",
        issued["id"].as_str().unwrap()
    );
    app.admin_delete(&app.operator_key, &path)
        .await
        .assert_status(StatusCode::NO_CONTENT);
    assert_eq!(
        app.spc_status(&tenant, token).await,
        StatusCode::UNAUTHORIZED
    );
    let tokens = app.tokens(&tenant).await;
    assert_eq!(status_of(&tokens, &issued["id"]), "revoked");
    let revoked_at = tokens[0]["revokedAt"].clone();

    app.advance(5);
    app.admin_delete(&app.operator_key, &path)
        .await
        .assert_status(StatusCode::NO_CONTENT);
    assert_eq!(
        app.tokens(&tenant).await[0]["revokedAt"],
        revoked_at,
        "revoking again changes nothing"
    );
}

async fn revoking_is_scoped_to_the_tenant(app: TestApp) {
    let acme = app.tenant_id("Acme").await;
    let globex = app.tenant_id("Globex").await;
    let issued = app.issue_token(&acme, json!({})).await;
    let id = issued["id"].as_str().unwrap();
    for path in [
        format!("/admin/v1/tenants/{globex}/scim-tokens/{id}"),
        format!("/admin/v1/tenants/{acme}/scim-tokens/{}", "0".repeat(32)),
    ] {
        assert_admin_error(
            app.admin_delete(&app.operator_key, &path).await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
    }
    assert_eq!(
        app.spc_status(&acme, issued["token"].as_str().unwrap())
            .await,
        StatusCode::OK
    );
}

async fn token_input_is_validated(app: TestApp) {
    let tenant = app.tenant_id("Acme").await;
    let path = format!("/admin/v1/tenants/{tenant}/scim-tokens");
    let resp = app
        .admin_post(&app.operator_key, &path, json!({ "name": " " }))
        .await;
    assert_admin_error(resp, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    // Bounds the spec states are checked as the body is read.
    for body in [
        json!({ "expiresInDays": 0 }),
        json!({ "expiresInDays": 3651 }),
        json!({ "overlapSeconds": 604801 }),
        json!({ "overlapSeconds": -1 }),
        json!({ "expiresInDays": "soon" }),
        json!({ "cutOver": "whenever" }),
    ] {
        let resp = app.admin_post(&app.operator_key, &path, body).await;
        assert_admin_error(resp, StatusCode::BAD_REQUEST, "bad_request").await;
    }
    // No declared member is nullable: `null` for "not set" is refused, saying which.
    for (body, at) in [
        (json!({ "cutOver": null }), "cutOver"),
        (
            json!({ "name": "Entra", "expiresInDays": null }),
            "expiresInDays",
        ),
    ] {
        let resp = app.admin_post(&app.operator_key, &path, body).await;
        let error = assert_admin_error(resp, StatusCode::BAD_REQUEST, "bad_request").await;
        assert!(error["message"].as_str().unwrap().contains(at), "{error}");
    }
    assert!(app.tokens(&tenant).await.is_empty(), "no token was created");
}

async fn last_used_is_recorded(app: TestApp) {
    let tenant = app.tenant_id("Acme").await;
    let token = app.token(&tenant).await;
    assert!(app.tokens(&tenant).await[0]["lastUsedAt"].is_null());
    assert_eq!(app.spc_status(&tenant, &token).await, StatusCode::OK);
    let first = app.tokens(&tenant).await[0]["lastUsedAt"].clone();
    assert!(first.as_str().is_some(), "{first}");
    app.advance(30);
    assert_eq!(
        app.spc_status(&tenant, &token).await,
        StatusCode::OK,
        "served from the cache"
    );
    let second = app.tokens(&tenant).await[0]["lastUsedAt"].clone();
    let parse = |v: &Value| chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap()).unwrap();
    assert!(parse(&second) > parse(&first));
}

/// A verified token is served from the cache: later requests neither read the token row
/// nor write `lastUsedAt`; the buffered use reaches the database on the next flush.
async fn authenticated_requests_touch_no_credential_rows(postgres: bool) {
    let Some((app, statements)) = TestApp::recording(postgres).await else {
        return;
    };
    let tenant = app.tenant_id("Acme").await;
    let token = app.token(&tenant).await;
    assert_eq!(app.spc_status(&tenant, &token).await, StatusCode::OK);
    statements.clear();
    for _ in 0..20 {
        assert_eq!(app.spc_status(&tenant, &token).await, StatusCode::OK);
    }
    assert!(
        !statements.any_mentions("scim_token"),
        "cached verifications read no credential row"
    );
    app.state.auth.flush_usage().await.unwrap();
    assert!(
        statements.any_mentions("UPDATE \"scim_token\""),
        "the flush writes lastUsedAt"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authenticated_requests_touch_no_credential_rows_sqlite() {
    authenticated_requests_touch_no_credential_rows(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authenticated_requests_touch_no_credential_rows_postgres() {
    authenticated_requests_touch_no_credential_rows(true).await;
}

/// Newest first, `limit` at a time, every token (ended ones too) exactly once.
async fn token_lists_page_by_cursor(app: TestApp) {
    let tenant = app.tenant_id("Acme").await;
    let mut issued = Vec::new();
    for _ in 0..5 {
        issued.push(app.issue_token(&tenant, json!({})).await["id"].clone());
    }
    issued.reverse();
    let base = format!("/admin/v1/tenants/{tenant}/scim-tokens?limit=2");
    let mut path = base.clone();
    let mut seen = Vec::new();
    loop {
        let resp = app.admin_get(&app.operator_key, &path).await;
        resp.assert_status_is_ok();
        let page = crate::helpers::json_of(resp).await;
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 2, "{page}");
        seen.extend(items.iter().map(|t| t["id"].clone()));
        match page["nextCursor"].as_str() {
            Some(cursor) => path = format!("{base}&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen, issued);
    let resp = app
        .admin_get(
            &app.operator_key,
            &format!("/admin/v1/tenants/{tenant}/scim-tokens?limit=0"),
        )
        .await;
    assert_admin_error(resp, StatusCode::BAD_REQUEST, "bad_request").await;
}

/// The old token works until the new one is first used, then stops at once, by itself,
/// and the audit says so.
async fn cut_over_on_first_use(app: TestApp) {
    let tenant = app.tenant_id("Acme").await;
    let first = app.issue_token(&tenant, json!({})).await;
    let first_token = first["token"].as_str().unwrap();
    assert_eq!(app.spc_status(&tenant, first_token).await, StatusCode::OK);
    let second = app
        .issue_token(&tenant, json!({ "cutOver": "onFirstUse" }))
        .await;
    let second_token = second["token"].as_str().unwrap();

    app.advance(6 * 24 * 3600);
    assert_eq!(
        app.spc_status(&tenant, first_token).await,
        StatusCode::OK,
        "the old token works until the new one is used (default maximum: 7 days)"
    );
    let tokens = app.tokens(&tenant).await;
    assert_eq!(status_of(&tokens, &first["id"]), "rotating");
    let waiting = tokens.iter().find(|t| t["id"] == second["id"]).unwrap();
    assert_eq!(waiting["endsOnFirstUse"], first["id"]);

    assert_eq!(app.spc_status(&tenant, second_token).await, StatusCode::OK);
    assert_eq!(
        app.spc_status(&tenant, first_token).await,
        StatusCode::UNAUTHORIZED,
        "ended by the new token's first request"
    );
    assert_eq!(app.spc_status(&tenant, second_token).await, StatusCode::OK);
    let tokens = app.tokens(&tenant).await;
    assert_eq!(status_of(&tokens, &first["id"]), "revoked");
    let used = tokens.iter().find(|t| t["id"] == second["id"]).unwrap();
    assert!(used.get("endsOnFirstUse").is_none(), "{used}");

    let resp = app
        .admin_get(
            &app.operator_key,
            &format!("/admin/v1/tenants/{tenant}/audit"),
        )
        .await;
    resp.assert_status_is_ok();
    let audit = crate::helpers::json_of(resp).await;
    let cut_overs: Vec<_> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "scim_token.cut_over")
        .collect();
    assert_eq!(cut_overs.len(), 1, "{audit}");
    assert_eq!(
        cut_overs[0]["target"],
        format!("scim_token:{}", first["id"].as_str().unwrap())
    );
    assert_eq!(cut_overs[0]["actorKeyId"], second["id"]);
}

async fn cut_over_on_first_use_still_ends_at_the_maximum(app: TestApp) {
    let tenant = app.tenant_id("Acme").await;
    let first = app.issue_token(&tenant, json!({})).await;
    let first_token = first["token"].as_str().unwrap();
    let second = app
        .issue_token(
            &tenant,
            json!({ "cutOver": "onFirstUse", "overlapSeconds": 60 }),
        )
        .await;
    app.advance(59);
    assert_eq!(app.spc_status(&tenant, first_token).await, StatusCode::OK);
    app.advance(2);
    assert_eq!(
        app.spc_status(&tenant, first_token).await,
        StatusCode::UNAUTHORIZED,
        "the maximum overlap ends it although the new token was never used"
    );
    assert_eq!(
        app.spc_status(&tenant, second["token"].as_str().unwrap())
            .await,
        StatusCode::OK
    );
}

async fn a_new_rotation_makes_a_pending_cut_over_moot(app: TestApp) {
    let tenant = app.tenant_id("Acme").await;
    let first = app.issue_token(&tenant, json!({})).await;
    let second = app
        .issue_token(&tenant, json!({ "cutOver": "onFirstUse" }))
        .await;
    let third = app
        .issue_token(&tenant, json!({ "overlapSeconds": 600 }))
        .await;
    let (first, second, third) = (
        first["token"].as_str().unwrap(),
        second["token"].as_str().unwrap(),
        third["token"].as_str().unwrap(),
    );
    assert_eq!(
        app.spc_status(&tenant, first).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.spc_status(&tenant, second).await,
        StatusCode::OK,
        "the second token is now the previous one, in its own overlap"
    );
    assert_eq!(app.spc_status(&tenant, third).await, StatusCode::OK);
    assert_eq!(app.spc_status(&tenant, second).await, StatusCode::OK);
    let tokens = app.tokens(&tenant).await;
    assert!(tokens.iter().all(|t| t.get("endsOnFirstUse").is_none()));
}

/// A revocation committed after the operator's client went away (it waited for the
/// writer) still ends the token at once, as does deleting its tenant. (Embedded database
/// only: there alone writes queue for one writer.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_end_at_once_when_the_client_ending_them_went_away() {
    let app = TestApp::sqlite_quiet().await;
    let tenant = app.tenant_id("Acme").await;
    let issued = app.issue_token(&tenant, json!({})).await;
    let (revoked, kept) = (issued["token"].as_str().unwrap(), app.token(&tenant).await);
    for token in [revoked, kept.as_str()] {
        assert_eq!(app.spc_status(&tenant, token).await, StatusCode::OK);
    }
    let path = format!(
        "/admin/v1/tenants/{tenant}/scim-tokens/{}",
        issued["id"].as_str().unwrap()
    );
    abandon(&app, app.admin_delete(&app.operator_key, &path)).await;
    assert_eq!(
        app.spc_status(&tenant, revoked).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(app.spc_status(&tenant, &kept).await, StatusCode::OK);

    let path = format!("/admin/v1/tenants/{tenant}");
    abandon(&app, app.admin_delete(&app.operator_key, &path)).await;
    assert_eq!(
        app.spc_status(&tenant, &kept).await,
        StatusCode::UNAUTHORIZED
    );
}
