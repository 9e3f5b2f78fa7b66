//! The synced users and groups lists of the admin API: filters, counts, mappings, paging.

use poem::http::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_admin_error, json_of};

on_every_backend!(groups_and_users_are_listed_and_filtered);

fn names(page: &Value, field: &str) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item[field].as_str().unwrap().to_owned())
        .collect()
}

async fn groups_and_users_are_listed_and_filtered(app: TestApp) {
    let scim = app.scim("Acme").await;
    let tenant = scim.tenant.clone();
    let mut ids = std::collections::HashMap::new();
    for (name, display, active) in [
        ("alice@acme.test", "Alice Smith", true),
        ("bob@acme.test", "Bob Jones", false),
        ("carol@acme.test", "Carol King", true),
    ] {
        let user = scim
            .create_user(json!({ "userName": name, "displayName": display, "active": active }))
            .await;
        ids.insert(name, user["id"].as_str().unwrap().to_owned());
    }
    let sales = scim
        .create_group(json!({ "displayName": "Sales", "members": [{ "value": ids["alice@acme.test"] }, { "value": ids["bob@acme.test"] }] }))
        .await;
    scim.create_group(
        json!({ "displayName": "Support", "members": [{ "value": ids["carol@acme.test"] }] }),
    )
    .await;
    scim.create_group(json!({ "displayName": "50% off" })).await;
    app.admin_put(
        &app.operator_key,
        &format!("/admin/v1/tenants/{tenant}/groups/{sales}/mapping"),
        json!({ "isBillingManager": true }),
    )
    .await
    .assert_status_is_ok();

    let get = |query: &str| {
        let path = format!("/admin/v1/tenants/{tenant}/{query}");
        let app = &app;
        async move {
            let resp = app.admin_get(&app.operator_key, &path).await;
            resp.assert_status_is_ok();
            json_of(resp).await
        }
    };
    let all = get("groups").await;
    assert_eq!(names(&all, "displayName"), ["Sales", "Support", "50% off"]);
    let first = &all["items"][0];
    assert_eq!(first["memberCount"], 2);
    assert_eq!(first["mapping"]["isBillingManager"], true);
    assert_eq!(first["mapping"]["priority"], 1);
    assert!(all["items"][1].get("mapping").is_none());
    assert_eq!(all["items"][2]["memberCount"], 0);
    assert_eq!(
        names(&get("groups?name=sal").await, "displayName"),
        ["Sales"]
    );
    assert_eq!(
        names(&get("groups?name=SUP").await, "displayName"),
        ["Support"]
    );
    assert_eq!(
        names(&get("groups?name=%25").await, "displayName"),
        ["50% off"],
        "% is a character, not a wildcard"
    );
    assert_eq!(
        names(&get("groups?mapped=true").await, "displayName"),
        ["Sales"]
    );

    let users = get("users").await;
    assert_eq!(
        names(&users, "userName"),
        ["alice@acme.test", "bob@acme.test", "carol@acme.test"]
    );
    assert_eq!(users["items"][0]["groupCount"], 1);
    assert_eq!(users["items"][0]["displayName"], "Alice Smith");
    assert_eq!(
        names(&get("users?active=false").await, "userName"),
        ["bob@acme.test"]
    );
    assert_eq!(
        names(&get(&format!("users?groupId={sales}")).await, "userName"),
        ["alice@acme.test", "bob@acme.test"]
    );
    assert_eq!(
        names(&get("users?name=KING").await, "userName"),
        ["carol@acme.test"]
    );

    let page = get("users?limit=2").await;
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    let cursor = page["nextCursor"].as_str().unwrap().to_owned();
    let rest = get(&format!("users?limit=2&cursor={cursor}")).await;
    assert_eq!(names(&rest, "userName"), ["carol@acme.test"]);
    assert!(rest.get("nextCursor").is_none());

    let resp = app
        .admin_get(&app.operator_key, "/admin/v1/tenants/nope/users")
        .await;
    assert_admin_error(resp, StatusCode::NOT_FOUND, "not_found").await;
    let other = app.tenant_id("Globex").await;
    let key = app.tenant_admin_key(&other).await;
    let resp = app
        .admin_get(&key, &format!("/admin/v1/tenants/{tenant}/groups"))
        .await;
    assert_admin_error(resp, StatusCode::FORBIDDEN, "forbidden").await;
}
