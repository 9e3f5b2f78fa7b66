use poem::http::StatusCode;
use serde_json::json;

use crate::helpers::{PUBLIC_URL, TestApp, assert_admin_error, json_of};

on_every_backend!(
    create_get_list_delete,
    names_are_validated_and_unique,
    unknown_tenants_are_404_for_operators,
    missing_or_wrong_keys_are_401,
    tenant_admin_keys_see_only_their_tenant,
    deleting_a_tenant_ends_its_credentials,
    tenant_lists_page_by_cursor,
);

async fn create_get_list_delete(app: TestApp) {
    let resp = app
        .admin_post(
            &app.operator_key,
            "/admin/v1/tenants",
            json!({ "name": "  Acme Corp " }),
        )
        .await;
    resp.assert_status(StatusCode::CREATED);
    let location = resp
        .0
        .headers()
        .get("Location")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let created = json_of(resp).await;
    let id = created["id"].as_str().unwrap();
    assert_eq!(created["name"], "Acme Corp", "names are trimmed");
    assert_eq!(created["scimUrl"], format!("{PUBLIC_URL}/scim/{id}/v2"));
    assert!(created["createdAt"].as_str().is_some());
    assert_eq!(
        location,
        format!("{PUBLIC_URL}/admin/v1/tenants/{id}"),
        "absolute, as SCIM's Location"
    );
    let location = location.strip_prefix(PUBLIC_URL).unwrap();

    let got = json_of(app.admin_get(&app.operator_key, location).await).await;
    assert_eq!(got, created);

    app.create_tenant("Globex").await;
    let list = json_of(app.admin_get(&app.operator_key, "/admin/v1/tenants").await).await;
    let names: Vec<_> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].clone())
        .collect();
    assert_eq!(names, vec![json!("Acme Corp"), json!("Globex")]);

    app.admin_delete(&app.operator_key, location)
        .await
        .assert_status(StatusCode::NO_CONTENT);
    assert_admin_error(
        app.admin_get(&app.operator_key, location).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_admin_error(
        app.admin_delete(&app.operator_key, location).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let list = json_of(app.admin_get(&app.operator_key, "/admin/v1/tenants").await).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
}

async fn names_are_validated_and_unique(app: TestApp) {
    let key = app.operator_key.clone();
    app.create_tenant("Acme").await;
    for name in [
        json!(""),
        json!("   "),
        json!("x".repeat(201)),
        json!("tab\there"),
    ] {
        let resp = app
            .admin_post(&key, "/admin/v1/tenants", json!({ "name": name }))
            .await;
        assert_admin_error(resp, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    }
    let resp = app
        .admin_post(&key, "/admin/v1/tenants", json!({ "name": "ACME" }))
        .await;
    assert_admin_error(resp, StatusCode::CONFLICT, "conflict").await;
    for body in [
        json!({}),
        json!({ "name": null }),
        json!([1]),
        json!("Acme"),
    ] {
        let resp = app.admin_post(&key, "/admin/v1/tenants", body).await;
        assert_admin_error(resp, StatusCode::BAD_REQUEST, "bad_request").await;
    }
    let resp = app
        .client
        .post("/admin/v1/tenants")
        .header("Authorization", format!("Bearer {key}"))
        .content_type("application/json")
        .body("{\"name\": ")
        .send()
        .await;
    assert_admin_error(resp, StatusCode::BAD_REQUEST, "bad_request").await;
    let resp = app
        .client
        .post("/admin/v1/tenants")
        .header("Authorization", format!("Bearer {key}"))
        .content_type("text/plain")
        .body("name=Acme")
        .send()
        .await;
    assert_admin_error(
        resp,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    )
    .await;
    let list = json_of(app.admin_get(&key, "/admin/v1/tenants").await).await;
    assert_eq!(
        list["items"].as_array().unwrap().len(),
        1,
        "nothing was stored by failed requests"
    );
}

async fn unknown_tenants_are_404_for_operators(app: TestApp) {
    let key = app.operator_key.clone();
    for path in [
        "/admin/v1/tenants/00000000-0000-0000-0000-000000000000",
        "/admin/v1/tenants/not-a-uuid",
        "/admin/v1/tenants/00000000-0000-0000-0000-000000000000/scim-tokens",
        "/admin/v1/tenants/00000000-0000-0000-0000-000000000000/admin-keys",
    ] {
        assert_admin_error(
            app.admin_get(&key, path).await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
    }
    let resp = app
        .admin_post(&key, "/admin/v1/tenants/nope/scim-tokens", json!({}))
        .await;
    assert_admin_error(resp, StatusCode::NOT_FOUND, "not_found").await;
    let resp = app
        .admin_post(&key, "/admin/v1/tenants/nope/admin-keys", json!({}))
        .await;
    assert_admin_error(resp, StatusCode::NOT_FOUND, "not_found").await;
    let resp = app.admin_get(&key, "/admin/v1/no-such-route").await;
    assert_admin_error(resp, StatusCode::NOT_FOUND, "not_found").await;
    let resp = app
        .client
        .put("/admin/v1/tenants")
        .header("Authorization", format!("Bearer {key}"))
        .send()
        .await;
    assert_eq!(resp.0.headers()["Allow"], "GET, POST");
    assert_admin_error(resp, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed").await;
}

async fn missing_or_wrong_keys_are_401(app: TestApp) {
    let tenant = app.tenant_id("Acme").await;
    let scim_token = app.token(&tenant).await;
    let mut forged = app.operator_key.clone();
    forged.pop();
    forged.push(if app.operator_key.ends_with('a') {
        'b'
    } else {
        'a'
    });
    let unknown_id = format!("sadm_{}_{}", "0".repeat(32), "A".repeat(40));
    for key in [
        None,
        Some("garbage"),
        Some(forged.as_str()),
        Some(unknown_id.as_str()),
        Some(scim_token.as_str()),
    ] {
        let mut req = app.client.get("/admin/v1/tenants");
        if let Some(key) = key {
            req = req.header("Authorization", format!("Bearer {key}"));
        }
        let resp = req.send().await;
        resp.assert_header("WWW-Authenticate", "Bearer");
        assert_admin_error(resp, StatusCode::UNAUTHORIZED, "unauthorized").await;
    }
    let resp = app
        .client
        .get("/admin/v1/tenants")
        .header("Authorization", format!("Basic {}", app.operator_key))
        .send()
        .await;
    assert_admin_error(resp, StatusCode::UNAUTHORIZED, "unauthorized").await;
}

async fn tenant_admin_keys_see_only_their_tenant(app: TestApp) {
    let own = app.tenant_id("Acme").await;
    let other = app.tenant_id("Globex").await;
    let key = app.tenant_admin_key(&own).await;

    let list = json_of(app.admin_get(&key, "/admin/v1/tenants").await).await;
    let ids: Vec<_> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].clone())
        .collect();
    assert_eq!(ids, vec![json!(own)]);
    app.admin_get(&key, &format!("/admin/v1/tenants/{own}"))
        .await
        .assert_status_is_ok();

    // Another tenant and a tenant that does not exist look the same: 403.
    for tenant in [other.as_str(), "00000000-0000-0000-0000-000000000000"] {
        for path in [
            format!("/admin/v1/tenants/{tenant}"),
            format!("/admin/v1/tenants/{tenant}/scim-tokens"),
        ] {
            assert_admin_error(
                app.admin_get(&key, &path).await,
                StatusCode::FORBIDDEN,
                "forbidden",
            )
            .await;
        }
        let resp = app
            .admin_post(
                &key,
                &format!("/admin/v1/tenants/{tenant}/scim-tokens"),
                json!({}),
            )
            .await;
        assert_admin_error(resp, StatusCode::FORBIDDEN, "forbidden").await;
    }

    // Operator-only operations, even on its own tenant.
    let resp = app
        .admin_post(&key, "/admin/v1/tenants", json!({ "name": "Mine" }))
        .await;
    assert_admin_error(resp, StatusCode::FORBIDDEN, "forbidden").await;
    let resp = app
        .admin_delete(&key, &format!("/admin/v1/tenants/{own}"))
        .await;
    assert_admin_error(resp, StatusCode::FORBIDDEN, "forbidden").await;
    let resp = app
        .admin_get(&key, &format!("/admin/v1/tenants/{own}/admin-keys"))
        .await;
    assert_admin_error(resp, StatusCode::FORBIDDEN, "forbidden").await;
    let resp = app
        .admin_post(
            &key,
            &format!("/admin/v1/tenants/{own}/admin-keys"),
            json!({}),
        )
        .await;
    assert_admin_error(resp, StatusCode::FORBIDDEN, "forbidden").await;

    // What it may do: manage its tenant's SCIM tokens.
    let resp = app
        .admin_post(
            &key,
            &format!("/admin/v1/tenants/{own}/scim-tokens"),
            json!({}),
        )
        .await;
    resp.assert_status(StatusCode::CREATED);
    let token = json_of(resp).await;
    assert_eq!(
        app.spc_status(&own, token["token"].as_str().unwrap()).await,
        StatusCode::OK
    );
    let path = format!(
        "/admin/v1/tenants/{own}/scim-tokens/{}",
        token["id"].as_str().unwrap()
    );
    app.admin_delete(&key, &path)
        .await
        .assert_status(StatusCode::NO_CONTENT);
}

async fn deleting_a_tenant_ends_its_credentials(app: TestApp) {
    let tenant = app.tenant_id("Acme").await;
    let keep = app.tenant_id("Globex").await;
    let token = app.token(&tenant).await;
    let kept_token = app.token(&keep).await;
    let admin_key = app.tenant_admin_key(&tenant).await;
    assert_eq!(app.spc_status(&tenant, &token).await, StatusCode::OK);
    app.admin_get(&admin_key, "/admin/v1/tenants")
        .await
        .assert_status_is_ok();

    app.admin_delete(&app.operator_key, &format!("/admin/v1/tenants/{tenant}"))
        .await
        .assert_status(StatusCode::NO_CONTENT);

    assert_eq!(
        app.spc_status(&tenant, &token).await,
        StatusCode::UNAUTHORIZED
    );
    assert_admin_error(
        app.admin_get(&admin_key, "/admin/v1/tenants").await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    )
    .await;
    assert_eq!(
        app.spc_status(&keep, &kept_token).await,
        StatusCode::OK,
        "other tenants are untouched"
    );
}

on_every_backend!(oversized_bodies_are_refused);

async fn oversized_bodies_are_refused(app: TestApp) {
    let huge = "x".repeat(3 * 1024 * 1024);
    let resp = app
        .admin_post(
            &app.operator_key,
            "/admin/v1/tenants",
            json!({ "name": huge }),
        )
        .await;
    assert_admin_error(resp, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;

    // Without a Content-Length the body is cut off as it streams past the cap.
    let chunks = futures_util::stream::iter(
        (0..64).map(|_| Ok::<_, std::io::Error>(bytes::Bytes::from(vec![b' '; 64 * 1024]))),
    );
    let resp = app
        .client
        .post("/admin/v1/tenants")
        .header("Authorization", format!("Bearer {}", app.operator_key))
        .content_type("application/json")
        .body(poem::Body::from_bytes_stream(chunks))
        .send()
        .await;
    assert_admin_error(resp, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
    let list = json_of(app.admin_get(&app.operator_key, "/admin/v1/tenants").await).await;
    assert!(list["items"].as_array().unwrap().is_empty());
}

/// `limit` and the opaque `nextCursor` walk every tenant once, oldest first; a tenant-admin
/// key's list is its own tenant alone.
async fn tenant_lists_page_by_cursor(app: TestApp) {
    let mut created = Vec::new();
    for n in 0..5 {
        created.push(app.tenant_id(&format!("Tenant {n}")).await);
    }
    let mut seen = Vec::new();
    let mut path = "/admin/v1/tenants?limit=2".to_owned();
    let mut pages = 0;
    loop {
        let resp = app.admin_get(&app.operator_key, &path).await;
        resp.assert_status_is_ok();
        let page = json_of(resp).await;
        pages += 1;
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 2, "{page}");
        seen.extend(items.iter().map(|t| t["id"].as_str().unwrap().to_owned()));
        match page["nextCursor"].as_str() {
            Some(cursor) => path = format!("/admin/v1/tenants?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen, created, "each tenant once, oldest first");
    assert_eq!(pages, 3);
    for bad in ["0", "1001", "x"] {
        let resp = app
            .admin_get(&app.operator_key, &format!("/admin/v1/tenants?limit={bad}"))
            .await;
        assert!(resp.0.status().is_client_error(), "limit={bad}");
    }
    let key = app.tenant_admin_key(&created[2]).await;
    let own = json_of(app.admin_get(&key, "/admin/v1/tenants?limit=1").await).await;
    assert_eq!(own["items"][0]["id"], created[2].as_str());
    assert_eq!(own["items"].as_array().unwrap().len(), 1);
    assert!(own.get("nextCursor").is_none());
}

on_every_backend!(writes_racing_the_tenants_deletion_get_404);

/// A request authenticated just before its tenant is deleted writes after the tenant is
/// gone: the tenant row is removed under a token still in the cache (no notice goes out
/// for a raw delete), as the deletion racing a request does. Its writes are 404s, never
/// 5xx, and nothing of them is stored.
async fn writes_racing_the_tenants_deletion_get_404(app: TestApp) {
    use sea_orm::{ConnectionTrait, Statement};
    let scim = app.scim("Acme").await;
    let ada = scim
        .create_user(json!({ "userName": "ada@acme.test" }))
        .await;
    let group = json_of(
        scim.post("/Groups", &json!({ "displayName": "Staff" }))
            .await,
    )
    .await;
    let raw = app.raw_connection().await;
    let backend = raw.get_database_backend();
    let placeholder = if app.is_postgres() { "$1" } else { "?" };
    raw.execute_raw(Statement::from_sql_and_values(
        backend,
        format!("DELETE FROM tenant WHERE id = {placeholder}"),
        [scim.tenant.clone().into()],
    ))
    .await
    .unwrap();
    let patch = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{ "op": "add", "path": "members", "value": [{ "value": ada["id"] }] }]
    });
    for resp in [
        scim.post("/Users", &json!({ "userName": "bob@acme.test" }))
            .await,
        scim.post("/Groups", &json!({ "displayName": "Sales" }))
            .await,
        scim.send(
            "PATCH",
            &format!("/Groups/{}", group["id"].as_str().unwrap()),
            &patch,
        )
        .await,
    ] {
        crate::helpers::assert_scim_error(resp, StatusCode::NOT_FOUND).await;
    }
    let count = raw
        .query_one_raw(Statement::from_string(
            backend,
            "SELECT COUNT(*) AS n FROM scim_user",
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get::<i64>("", "n")
        .unwrap();
    assert_eq!(count, 0);
}
