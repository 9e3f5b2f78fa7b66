//! Effective permissions (ConfigCat's rules) through the admin API, with users and groups
//! synced over SCIM; every change counts at the next read.

use poem::http::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Scim, TestApp, assert_admin_error, json_of, ops};

on_every_backend!(
    configcat_worked_example,
    lookups_and_errors,
    product_members_follow_the_priority_rule,
    dry_runs_preview_and_write_nothing,
    member_since_survives_repeated_syncs,
    changes_to_products_and_the_catalog_count_at_the_next_read,
);

struct Org<'a> {
    app: &'a TestApp,
    scim: Scim<'a>,
    users: std::collections::HashMap<&'static str, String>,
    groups: std::collections::HashMap<&'static str, String>,
    permission_groups: std::collections::HashMap<&'static str, String>,
}

impl Org<'_> {
    fn tenant(&self) -> &str {
        &self.scim.tenant
    }

    async fn permissions(&self, user: &str) -> Value {
        let resp = self
            .app
            .admin_get(
                &self.app.operator_key,
                &format!(
                    "/admin/v1/tenants/{}/users/{}/permissions",
                    self.tenant(),
                    self.users[user]
                ),
            )
            .await;
        resp.assert_status_is_ok();
        json_of(resp).await
    }

    async fn map(&self, group: &str, body: Value) {
        self.app
            .admin_put(
                &self.app.operator_key,
                &format!(
                    "/admin/v1/tenants/{}/groups/{}/mapping",
                    self.tenant(),
                    self.groups[group]
                ),
                body,
            )
            .await
            .assert_status_is_ok();
    }
}

/// ConfigCat's example: Owners (organization admins), Billing Managers, Product owners
/// (full on Main), Developers (custom on Main), Readers (read-only on Main and Docs), in
/// that priority order, with overlapping members.
async fn organization(app: &TestApp) -> Org<'_> {
    let scim = app.scim("Acme").await;
    let tenant = scim.tenant.clone();
    let mut users = std::collections::HashMap::new();
    for name in ["alice", "bob", "carol", "dave", "erin", "frank"] {
        let user = scim
            .create_user(json!({ "userName": format!("{name}@acme.test"), "externalId": format!("ext-{name}"), "active": true }))
            .await;
        users.insert(name, user["id"].as_str().unwrap().to_owned());
    }
    let members = |names: &[&str]| -> Value {
        Value::Array(names.iter().map(|n| json!({ "value": users[n] })).collect())
    };
    let mut groups = std::collections::HashMap::new();
    for (name, who) in [
        ("Owners", &["alice"][..]),
        ("Billing Managers", &["bob"][..]),
        ("Product owners", &["dave"][..]),
        ("Developers", &["carol"][..]),
        ("Readers", &["carol", "dave", "erin"][..]),
        ("Unmapped", &["frank"][..]),
    ] {
        let id = scim
            .create_group(json!({ "displayName": name, "members": members(who) }))
            .await;
        groups.insert(name, id);
    }
    let mut permission_groups = std::collections::HashMap::new();
    let mut products = std::collections::HashMap::new();
    for product in ["Main", "Docs"] {
        products.insert(product, app.create_product(&tenant, product).await);
    }
    for (key, product, body) in [
        (
            "Main/Administrators",
            "Main",
            json!({ "name": "Administrators", "accessType": "full" }),
        ),
        (
            "Main/Developers",
            "Main",
            json!({ "name": "Developers", "accessType": "custom", "permissions": ["canCreateOrUpdateConfig", "canCreateOrUpdateSetting"] }),
        ),
        (
            "Main/Readers",
            "Main",
            json!({ "name": "Readers", "accessType": "readOnly" }),
        ),
        (
            "Docs/Readers",
            "Docs",
            json!({ "name": "Readers", "accessType": "readOnly" }),
        ),
    ] {
        let id = app
            .create_permission_group(&tenant, &products[product], body)
            .await;
        permission_groups.insert(key, id);
    }
    let org = Org {
        app,
        scim,
        users,
        groups,
        permission_groups,
    };
    org.map("Owners", json!({ "isOrganizationAdmin": true }))
        .await;
    org.map("Billing Managers", json!({ "isBillingManager": true }))
        .await;
    org.map(
        "Product owners",
        json!({ "permissionGroupIds": [org.permission_groups["Main/Administrators"]] }),
    )
    .await;
    org.map(
        "Developers",
        json!({ "permissionGroupIds": [org.permission_groups["Main/Developers"]] }),
    )
    .await;
    org.map(
        "Readers",
        json!({ "permissionGroupIds": [org.permission_groups["Main/Readers"], org.permission_groups["Docs/Readers"]] }),
    )
    .await;
    org
}

fn product<'v>(permissions: &'v Value, name: &str) -> &'v Value {
    permissions["products"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["productName"] == name)
        .unwrap_or_else(|| panic!("no {name} in {permissions}"))
}

async fn configcat_worked_example(app: TestApp) {
    let org = organization(&app).await;
    let catalog_size = 20;

    // alice: organization admin, so everything everywhere.
    let alice = org.permissions("alice").await;
    assert_eq!(alice["isOrganizationAdmin"], true);
    assert_eq!(alice["organizationAdminVia"][0]["displayName"], "Owners");
    assert_eq!(alice["organizationAdminVia"][0]["priority"], 1);
    assert_eq!(alice["products"].as_array().unwrap().len(), 2);
    for name in ["Main", "Docs"] {
        let grant = product(&alice, name);
        assert_eq!(grant["permissions"].as_array().unwrap().len(), catalog_size);
        assert_eq!(grant["grantedBy"]["displayName"], "Owners");
        assert!(grant.get("permissionGroupId").is_none());
    }
    assert!(alice.get("reason").is_none());

    // bob: billing manager, no product.
    let bob = org.permissions("bob").await;
    assert_eq!(bob["isBillingManager"], true);
    assert_eq!(bob["isOrganizationAdmin"], false);
    assert_eq!(bob["products"], json!([]));
    assert!(bob.get("reason").is_none(), "he is in a mapped group");

    // carol: Developers (priority 4) beats Readers (5) on Main; Docs only from Readers.
    let carol = org.permissions("carol").await;
    let main = product(&carol, "Main");
    assert_eq!(main["permissionGroupName"], "Developers");
    assert_eq!(
        main["permissions"],
        json!(["canCreateOrUpdateConfig", "canCreateOrUpdateSetting"])
    );
    assert_eq!(main["grantedBy"]["displayName"], "Developers");
    assert_eq!(main["grantedBy"]["priority"], 4);
    assert_eq!(main["outranked"][0]["displayName"], "Readers");
    assert_eq!(
        main["outranked"][0]["permissionGroupId"],
        json!(org.permission_groups["Main/Readers"])
    );
    let docs = product(&carol, "Docs");
    assert_eq!(
        docs["permissions"],
        json!([
            "canViewProductAuditLog",
            "canViewProductStatistics",
            "canViewSdkKey"
        ])
    );

    // dave: Product owners (3) beats Readers (5).
    let dave = org.permissions("dave").await;
    let main = product(&dave, "Main");
    assert_eq!(main["permissionGroupName"], "Administrators");
    assert_eq!(main["permissions"].as_array().unwrap().len(), catalog_size);

    // erin deactivated holds nothing, and says why; frank is in no mapped group.
    let erin_path = format!("/Users/{}", org.users["erin"]);
    org.scim
        .send(
            "PATCH",
            &erin_path,
            &ops(json!([{ "op": "replace", "path": "active", "value": false }])),
        )
        .await
        .assert_status_is_ok();
    let erin = org.permissions("erin").await;
    assert_eq!(erin["reason"], "inactive");
    assert_eq!(erin["products"], json!([]));
    assert_eq!(erin["active"], false);
    let frank = org.permissions("frank").await;
    assert_eq!(frank["reason"], "noMappedGroups");

    // Every change counts at the next read: reactivation, ...
    org.scim
        .send(
            "PATCH",
            &erin_path,
            &ops(json!([{ "op": "replace", "path": "active", "value": true }])),
        )
        .await
        .assert_status_is_ok();
    let erin = org.permissions("erin").await;
    assert_eq!(product(&erin, "Main")["permissionGroupName"], "Readers");
    // ... a member removed over SCIM, ...
    org.scim
        .send(
            "PATCH",
            &format!("/Groups/{}", org.groups["Developers"]),
            &ops(json!([{ "op": "remove", "path": format!("members[value eq \"{}\"]", org.users["carol"]) }])),
        )
        .await
        .assert_status(StatusCode::NO_CONTENT);
    let carol = org.permissions("carol").await;
    assert_eq!(product(&carol, "Main")["permissionGroupName"], "Readers");
    // ... the priority order, ...
    let order: Vec<&String> = [
        "Owners",
        "Billing Managers",
        "Readers",
        "Product owners",
        "Developers",
    ]
    .iter()
    .map(|g| &org.groups[g])
    .collect();
    app.admin_put(
        &app.operator_key,
        &format!("/admin/v1/tenants/{}/group-priority", org.tenant()),
        json!({ "groupIds": order }),
    )
    .await
    .assert_status_is_ok();
    let dave = org.permissions("dave").await;
    let main = product(&dave, "Main");
    assert_eq!(main["permissionGroupName"], "Readers");
    assert_eq!(main["outranked"][0]["displayName"], "Product owners");
    // ... a group deleted over SCIM, and a user deleted.
    org.scim
        .delete(&format!("/Groups/{}", org.groups["Owners"]))
        .await
        .assert_status(StatusCode::NO_CONTENT);
    let alice = org.permissions("alice").await;
    assert_eq!(alice["isOrganizationAdmin"], false);
    assert_eq!(alice["reason"], "noMappedGroups");
    org.scim
        .delete(&format!("/Users/{}", org.users["dave"]))
        .await
        .assert_status(StatusCode::NO_CONTENT);
    let resp = app
        .admin_get(
            &app.operator_key,
            &format!(
                "/admin/v1/tenants/{}/users/{}/permissions",
                org.tenant(),
                org.users["dave"]
            ),
        )
        .await;
    assert_admin_error(resp, StatusCode::NOT_FOUND, "not_found").await;
}

async fn lookups_and_errors(app: TestApp) {
    let org = organization(&app).await;
    let base = format!("/admin/v1/tenants/{}/user-permissions", org.tenant());
    let by_id = org.permissions("carol").await;
    for query in ["userName=CAROL@acme.test", "externalId=ext-carol"] {
        let resp = app
            .admin_get(&app.operator_key, &format!("{base}?{query}"))
            .await;
        resp.assert_status_is_ok();
        assert_eq!(json_of(resp).await, by_id, "{query}");
    }
    for query in ["", "?userName=a&externalId=b"] {
        let resp = app
            .admin_get(&app.operator_key, &format!("{base}{query}"))
            .await;
        assert_admin_error(resp, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    }
    let resp = app
        .admin_get(&app.operator_key, &format!("{base}?userName=nobody"))
        .await;
    assert_admin_error(resp, StatusCode::NOT_FOUND, "not_found").await;
    // Another tenant's admin sees nothing of this one.
    let other = app.tenant_id("Globex").await;
    let key = app.tenant_admin_key(&other).await;
    let resp = app
        .admin_get(&key, &format!("{base}?userName=carol@acme.test"))
        .await;
    assert_admin_error(resp, StatusCode::FORBIDDEN, "forbidden").await;
    let resp = app
        .admin_get(
            &app.operator_key,
            &format!(
                "/admin/v1/tenants/{other}/users/{}/permissions",
                org.users["carol"]
            ),
        )
        .await;
    assert_admin_error(resp, StatusCode::NOT_FOUND, "not_found").await;
}

async fn product_members_follow_the_priority_rule(app: TestApp) {
    let org = organization(&app).await;
    let products = json_of(
        app.admin_get(
            &app.operator_key,
            &format!("/admin/v1/tenants/{}/products", org.tenant()),
        )
        .await,
    )
    .await;
    let main = products["items"][0]["id"].as_str().unwrap().to_owned();
    let path = format!("/admin/v1/tenants/{}/products/{main}/members", org.tenant());
    let page = json_of(app.admin_get(&app.operator_key, &path).await).await;
    let mut holders: Vec<(String, String, String)> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["userName"].as_str().unwrap().to_owned(),
                m["permissionGroupName"].as_str().unwrap().to_owned(),
                m["grantedBy"]["displayName"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    holders.sort();
    let expected: Vec<(String, String, String)> = [
        ("carol", "Developers", "Developers"),
        ("dave", "Administrators", "Product owners"),
        ("erin", "Readers", "Readers"),
    ]
    .iter()
    .map(|(u, g, via)| (format!("{u}@acme.test"), (*g).to_owned(), (*via).to_owned()))
    .collect();
    assert_eq!(
        holders, expected,
        "alice (admin) and bob hold no permission group of Main"
    );

    // Paged by user; a deactivated user drops out.
    let first = json_of(
        app.admin_get(&app.operator_key, &format!("{path}?limit=2"))
            .await,
    )
    .await;
    assert_eq!(first["items"].as_array().unwrap().len(), 2);
    let cursor = first["nextCursor"].as_str().unwrap();
    let second = json_of(
        app.admin_get(
            &app.operator_key,
            &format!("{path}?limit=2&cursor={cursor}"),
        )
        .await,
    )
    .await;
    assert_eq!(second["items"].as_array().unwrap().len(), 1);
    assert!(second.get("nextCursor").is_none());
    org.scim
        .send(
            "PATCH",
            &format!("/Users/{}", org.users["erin"]),
            &ops(json!([{ "op": "replace", "path": "active", "value": false }])),
        )
        .await
        .assert_status_is_ok();
    let page = json_of(app.admin_get(&app.operator_key, &path).await).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 2);

    let resp = app
        .admin_get(
            &app.operator_key,
            &format!("/admin/v1/tenants/{}/products/nope/members", org.tenant()),
        )
        .await;
    assert_admin_error(resp, StatusCode::NOT_FOUND, "not_found").await;
}

fn change_of<'v>(preview: &'v Value, user_id: &str) -> &'v Value {
    preview["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["userId"] == user_id)
        .unwrap_or_else(|| panic!("no change for {user_id} in {preview}"))
}

async fn dry_runs_preview_and_write_nothing(app: TestApp) {
    let org = organization(&app).await;
    let tenant = org.tenant().to_owned();
    let priority_path = format!("/admin/v1/tenants/{tenant}/group-priority");
    let stored_order = json_of(app.admin_get(&app.operator_key, &priority_path).await).await;
    let dave_before = org.permissions("dave").await;

    // Readers first: dave and carol would fall back to read-only on Main.
    let readers_first: Vec<&String> = [
        "Readers",
        "Owners",
        "Billing Managers",
        "Product owners",
        "Developers",
    ]
    .iter()
    .map(|g| &org.groups[g])
    .collect();
    let resp = app
        .admin_put(
            &app.operator_key,
            &format!("{priority_path}?dryRun=true"),
            json!({ "groupIds": readers_first }),
        )
        .await;
    resp.assert_status_is_ok();
    let preview = json_of(resp).await;
    assert_eq!(preview["dryRun"], true);
    assert_eq!(preview["usersConsidered"], 5, "{preview}");
    assert_eq!(preview["changes"].as_array().unwrap().len(), 2, "{preview}");
    let dave = change_of(&preview, &org.users["dave"]);
    assert_eq!(dave["userName"], "dave@acme.test");
    let main = &dave["products"][0];
    assert_eq!(main["productName"], "Main");
    assert_eq!(
        main["permissionGroupBefore"],
        json!(org.permission_groups["Main/Administrators"])
    );
    assert_eq!(
        main["permissionGroupAfter"],
        json!(org.permission_groups["Main/Readers"])
    );
    assert_eq!(main["gained"], json!([]));
    assert_eq!(main["lost"].as_array().unwrap().len(), 17, "{main}");
    let carol = change_of(&preview, &org.users["carol"]);
    assert_eq!(
        carol["products"][0]["gained"],
        json!([
            "canViewProductAuditLog",
            "canViewProductStatistics",
            "canViewSdkKey"
        ])
    );
    assert_eq!(
        carol["products"][0]["lost"],
        json!(["canCreateOrUpdateConfig", "canCreateOrUpdateSetting"])
    );
    // Nothing was written.
    assert_eq!(
        json_of(app.admin_get(&app.operator_key, &priority_path).await).await,
        stored_order
    );
    assert_eq!(org.permissions("dave").await, dave_before);

    // Mapping a group previews its members only.
    let unmapped = format!(
        "/admin/v1/tenants/{tenant}/groups/{}/mapping",
        org.groups["Unmapped"]
    );
    let resp = app
        .admin_put(
            &app.operator_key,
            &format!("{unmapped}?dryRun=true"),
            json!({ "isBillingManager": true, "permissionGroupIds": [org.permission_groups["Docs/Readers"]] }),
        )
        .await;
    resp.assert_status_is_ok();
    let preview = json_of(resp).await;
    assert_eq!(preview["usersConsidered"], 1, "{preview}");
    let frank = change_of(&preview, &org.users["frank"]);
    assert_eq!(frank["rolesGained"], json!(["billingManager"]));
    assert_eq!(frank["products"][0]["productName"], "Docs");
    assert_eq!(frank["products"][0]["lost"], json!([]));
    assert!(frank["products"][0].get("permissionGroupBefore").is_none());
    assert_admin_error(
        app.admin_get(&app.operator_key, &unmapped).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_eq!(org.permissions("frank").await["reason"], "noMappedGroups");

    // A mapping that gives nothing changes nobody's permissions.
    let resp = app
        .admin_put(
            &app.operator_key,
            &format!("{unmapped}?dryRun=true"),
            json!({}),
        )
        .await;
    resp.assert_status_is_ok();
    let preview = json_of(resp).await;
    assert_eq!(preview["changes"], json!([]), "{preview}");

    // Unmapping Owners: alice would lose everything.
    let owners = format!(
        "/admin/v1/tenants/{tenant}/groups/{}/mapping",
        org.groups["Owners"]
    );
    let resp = app
        .admin_delete(&app.operator_key, &format!("{owners}?dryRun=true"))
        .await;
    resp.assert_status_is_ok();
    let preview = json_of(resp).await;
    let alice = change_of(&preview, &org.users["alice"]);
    assert_eq!(alice["rolesLost"], json!(["organizationAdmin"]));
    assert_eq!(alice["products"].as_array().unwrap().len(), 2);
    assert_eq!(alice["products"][0]["lost"].as_array().unwrap().len(), 20);
    app.admin_get(&app.operator_key, &owners)
        .await
        .assert_status_is_ok();
    assert_eq!(org.permissions("alice").await["isOrganizationAdmin"], true);

    // A change with no effect previews no change; a bad one fails as the change would.
    let resp = app
        .admin_put(
            &app.operator_key,
            &format!("{priority_path}?dryRun=true"),
            stored_order.clone(),
        )
        .await;
    resp.assert_status_is_ok();
    assert_eq!(json_of(resp).await["changes"], json!([]));
    let resp = app
        .admin_put(
            &app.operator_key,
            &format!("{priority_path}?dryRun=true"),
            json!({ "groupIds": [org.groups["Owners"]] }),
        )
        .await;
    assert_admin_error(resp, StatusCode::BAD_REQUEST, "invalid_reference").await;
    // Without dryRun the same change is made, and matches its preview.
    app.admin_put(
        &app.operator_key,
        &priority_path,
        json!({ "groupIds": readers_first }),
    )
    .await
    .assert_status_is_ok();
    let dave = org.permissions("dave").await;
    assert_eq!(
        product(&dave, "Main")["permissionGroupId"],
        json!(org.permission_groups["Main/Readers"])
    );
}

async fn member_since_survives_repeated_syncs(app: TestApp) {
    let org = organization(&app).await;
    let since = |permissions: &Value| {
        product(permissions, "Docs")["grantedBy"]["memberSince"]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| panic!("no memberSince in {permissions}"))
    };
    let joined = since(&org.permissions("erin").await);
    let joined_at = chrono::DateTime::parse_from_rfc3339(&joined).unwrap();
    let age = chrono::Utc::now().signed_duration_since(joined_at);
    assert!(
        age.num_seconds() < 600 && age.num_seconds() >= 0,
        "{joined}"
    );

    // Entra adding a member again, and Okta putting the same member list: no newcomer.
    let readers = format!("/Groups/{}", org.groups["Readers"]);
    org.scim
        .send(
            "PATCH",
            &readers,
            &ops(json!([{ "op": "add", "path": "members", "value": [{ "value": org.users["erin"] }] }])),
        )
        .await
        .assert_status(StatusCode::NO_CONTENT);
    assert_eq!(since(&org.permissions("erin").await), joined);
    let same_members: Vec<Value> = ["carol", "dave", "erin"]
        .iter()
        .map(|n| json!({ "value": org.users[n] }))
        .collect();
    org.scim
        .send(
            "PUT",
            &readers,
            &json!({ "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Readers", "members": same_members }),
        )
        .await
        .assert_status_is_ok();
    assert_eq!(since(&org.permissions("erin").await), joined);

    // Leaving and joining again starts anew.
    app.advance(60);
    org.scim
        .send(
            "PATCH",
            &readers,
            &ops(json!([{ "op": "remove", "path": format!("members[value eq \"{}\"]", org.users["erin"]) }])),
        )
        .await
        .assert_status(StatusCode::NO_CONTENT);
    org.scim
        .send(
            "PATCH",
            &readers,
            &ops(json!([{ "op": "add", "path": "members", "value": [{ "value": org.users["erin"] }] }])),
        )
        .await
        .assert_status(StatusCode::NO_CONTENT);
    let rejoined = since(&org.permissions("erin").await);
    assert!(
        chrono::DateTime::parse_from_rfc3339(&rejoined).unwrap() > joined_at,
        "{rejoined} after {joined}"
    );
}

fn names(grant: &Value) -> Vec<&str> {
    grant["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect()
}

/// Each read below follows one that kept the tenant's products and the catalog in memory:
/// every kind of change to them must reach the very next read.
async fn changes_to_products_and_the_catalog_count_at_the_next_read(app: TestApp) {
    let org = organization(&app).await;
    let tenant = org.tenant().to_owned();
    let key = &app.operator_key;
    let carol = org.permissions("carol").await;
    let main_id = product(&carol, "Main")["productId"]
        .as_str()
        .unwrap()
        .to_owned();
    let docs_id = product(&carol, "Docs")["productId"]
        .as_str()
        .unwrap()
        .to_owned();
    let developers = format!(
        "/admin/v1/tenants/{tenant}/products/{main_id}/permission-groups/{}",
        org.permission_groups["Main/Developers"]
    );

    app.admin_put(
        key,
        &developers,
        json!({ "name": "Developers", "accessType": "custom", "permissions": ["canDeleteConfig"] }),
    )
    .await
    .assert_status_is_ok();
    let carol = org.permissions("carol").await;
    assert_eq!(names(product(&carol, "Main")), ["canDeleteConfig"]);

    app.admin_put(
        key,
        &format!("/admin/v1/tenants/{tenant}/products/{main_id}"),
        json!({ "name": "Main app" }),
    )
    .await
    .assert_status_is_ok();
    let carol = org.permissions("carol").await;
    assert_eq!(product(&carol, "Main app")["productId"], json!(main_id));

    // The catalog is the deployment's: a new permission reaches full groups and admins.
    let alice = org.permissions("alice").await;
    assert!(!names(product(&alice, "Docs")).contains(&"canDeployRockets"));
    app.admin_post(
        key,
        "/admin/v1/permission-catalog",
        json!({ "name": "canDeployRockets", "access": "write", "description": "Launch." }),
    )
    .await
    .assert_status(StatusCode::CREATED);
    let alice = org.permissions("alice").await;
    assert!(names(product(&alice, "Docs")).contains(&"canDeployRockets"));
    let dave = org.permissions("dave").await;
    assert!(names(product(&dave, "Main app")).contains(&"canDeployRockets"));
    app.admin_delete(key, "/admin/v1/permission-catalog/canDeployRockets")
        .await
        .assert_status(StatusCode::NO_CONTENT);
    let dave = org.permissions("dave").await;
    assert!(!names(product(&dave, "Main app")).contains(&"canDeployRockets"));

    // Organization admins hold every product, new ones too.
    app.create_product(&tenant, "Extra").await;
    let alice = org.permissions("alice").await;
    assert_eq!(
        product(&alice, "Extra")["grantedBy"]["displayName"],
        "Owners"
    );

    // Without its permission group, Developers names nothing: Readers wins Main for carol.
    app.admin_delete(key, &format!("{developers}?force=true"))
        .await
        .assert_status(StatusCode::NO_CONTENT);
    let carol = org.permissions("carol").await;
    assert_eq!(
        product(&carol, "Main app")["permissionGroupName"],
        "Readers"
    );

    app.admin_delete(
        key,
        &format!("/admin/v1/tenants/{tenant}/products/{docs_id}"),
    )
    .await
    .assert_status(StatusCode::NO_CONTENT);
    let carol = org.permissions("carol").await;
    let held: Vec<&Value> = carol["products"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| &p["productName"])
        .collect();
    assert_eq!(held, [&json!("Main app")]);
}
