//! The permission catalog, products and their permission groups through the admin API:
//! what synced groups can be given.

use poem::http::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{PUBLIC_URL, TestApp, assert_admin_error, json_of};

on_every_backend!(
    the_catalog_is_seeded_and_operators_edit_it,
    products_are_unique_per_tenant,
    permission_groups_grant_by_access_type,
    bad_permission_groups_change_nothing,
    permissions_in_use_stay_in_the_catalog,
    deleting_a_product_takes_its_groups,
    tenant_admins_manage_only_their_tenant,
    changes_are_audited,
);

const READ_PERMISSIONS: [&str; 3] = [
    "canViewProductAuditLog",
    "canViewProductStatistics",
    "canViewSdkKey",
];

async fn catalog(app: &TestApp) -> Vec<Value> {
    let page = json_of(
        app.admin_get(&app.operator_key, "/admin/v1/permission-catalog?limit=1000")
            .await,
    )
    .await;
    page["items"].as_array().unwrap().clone()
}

async fn create_product(app: &TestApp, tenant_id: &str, name: &str) -> Value {
    let resp = app
        .admin_post(
            &app.operator_key,
            &format!("/admin/v1/tenants/{tenant_id}/products"),
            json!({ "name": name }),
        )
        .await;
    resp.assert_status(StatusCode::CREATED);
    json_of(resp).await
}

fn groups_path(tenant_id: &str, product: &Value) -> String {
    format!(
        "/admin/v1/tenants/{tenant_id}/products/{}/permission-groups",
        product["id"].as_str().unwrap()
    )
}

async fn create_group(app: &TestApp, path: &str, body: Value) -> Value {
    let resp = app.admin_post(&app.operator_key, path, body).await;
    resp.assert_status(StatusCode::CREATED);
    json_of(resp).await
}

async fn the_catalog_is_seeded_and_operators_edit_it(app: TestApp) {
    let items = catalog(&app).await;
    assert_eq!(items.len(), 20, "ConfigCat's product permissions");
    let names: Vec<&str> = items.iter().map(|p| p["name"].as_str().unwrap()).collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    assert_eq!(names, sorted, "in name order");
    assert!(names.contains(&"canManageMembers"));
    let reads: Vec<&str> = items
        .iter()
        .filter(|p| p["access"] == "read")
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(reads, READ_PERMISSIONS);

    // Paged by cursor like every admin list.
    let first = json_of(
        app.admin_get(&app.operator_key, "/admin/v1/permission-catalog?limit=15")
            .await,
    )
    .await;
    let cursor = first["nextCursor"].as_str().unwrap();
    let second = json_of(
        app.admin_get(
            &app.operator_key,
            &format!("/admin/v1/permission-catalog?limit=15&cursor={cursor}"),
        )
        .await,
    )
    .await;
    assert_eq!(second["items"].as_array().unwrap().len(), 5);
    assert!(second.get("nextCursor").is_none());

    let resp = app
        .admin_post(
            &app.operator_key,
            "/admin/v1/permission-catalog",
            json!({ "name": "canExportReports", "access": "write", "description": "Export reports" }),
        )
        .await;
    resp.assert_status(StatusCode::CREATED);
    assert_eq!(
        json_of(resp).await,
        json!({ "name": "canExportReports", "access": "write", "description": "Export reports" })
    );
    let resp = app
        .admin_post(
            &app.operator_key,
            "/admin/v1/permission-catalog",
            json!({ "name": "canExportReports", "access": "read", "description": "again" }),
        )
        .await;
    assert_admin_error(resp, StatusCode::CONFLICT, "conflict").await;
    for bad in ["", "can export", "9lives", "can-export"] {
        let resp = app
            .admin_post(
                &app.operator_key,
                "/admin/v1/permission-catalog",
                json!({ "name": bad, "access": "read", "description": "x" }),
            )
            .await;
        assert_admin_error(resp, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    }
    app.admin_delete(
        &app.operator_key,
        "/admin/v1/permission-catalog/canExportReports",
    )
    .await
    .assert_status(StatusCode::NO_CONTENT);
    assert_eq!(catalog(&app).await.len(), 20);
    let resp = app
        .admin_delete(
            &app.operator_key,
            "/admin/v1/permission-catalog/canExportReports",
        )
        .await;
    assert_admin_error(resp, StatusCode::NOT_FOUND, "not_found").await;
}

async fn products_are_unique_per_tenant(app: TestApp) {
    let acme = app.tenant_id("Acme").await;
    let globex = app.tenant_id("Globex").await;
    let resp = app
        .admin_post(
            &app.operator_key,
            &format!("/admin/v1/tenants/{acme}/products"),
            json!({ "name": " Main product " }),
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
    let product = json_of(resp).await;
    let id = product["id"].as_str().unwrap();
    assert_eq!(product["name"], "Main product");
    assert_eq!(
        location,
        format!("{PUBLIC_URL}/admin/v1/tenants/{acme}/products/{id}")
    );
    let path = location.strip_prefix(PUBLIC_URL).unwrap();
    assert_eq!(
        json_of(app.admin_get(&app.operator_key, path).await).await,
        product
    );

    let resp = app
        .admin_post(
            &app.operator_key,
            &format!("/admin/v1/tenants/{acme}/products"),
            json!({ "name": "MAIN PRODUCT" }),
        )
        .await;
    assert_admin_error(resp, StatusCode::CONFLICT, "conflict").await;
    create_product(&app, &globex, "Main product").await;
    let other = create_product(&app, &acme, "Other").await;
    let resp = app
        .admin_put(
            &app.operator_key,
            &format!(
                "/admin/v1/tenants/{acme}/products/{}",
                other["id"].as_str().unwrap()
            ),
            json!({ "name": "main product" }),
        )
        .await;
    assert_admin_error(resp, StatusCode::CONFLICT, "conflict").await;
    let resp = app
        .admin_put(&app.operator_key, path, json!({ "name": "Renamed" }))
        .await;
    resp.assert_status_is_ok();
    assert_eq!(json_of(resp).await["name"], "Renamed");

    let list = json_of(
        app.admin_get(
            &app.operator_key,
            &format!("/admin/v1/tenants/{acme}/products"),
        )
        .await,
    )
    .await;
    let names: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Renamed", "Other"], "oldest first");

    // Another tenant's product is not found under this tenant.
    let resp = app
        .admin_get(
            &app.operator_key,
            &format!("/admin/v1/tenants/{globex}/products/{id}"),
        )
        .await;
    assert_admin_error(resp, StatusCode::NOT_FOUND, "not_found").await;
    let resp = app
        .admin_get(&app.operator_key, "/admin/v1/tenants/nope/products")
        .await;
    assert_admin_error(resp, StatusCode::NOT_FOUND, "not_found").await;
}

async fn permission_groups_grant_by_access_type(app: TestApp) {
    let acme = app.tenant_id("Acme").await;
    let product = create_product(&app, &acme, "Main").await;
    let path = groups_path(&acme, &product);
    let all: Vec<String> = catalog(&app)
        .await
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_owned())
        .collect();

    let full = create_group(
        &app,
        &path,
        json!({ "name": "Administrators", "accessType": "full" }),
    )
    .await;
    assert_eq!(full["accessType"], "full");
    assert_eq!(full["productId"], product["id"]);
    assert_eq!(full["permissions"], json!(all));
    let read_only = create_group(
        &app,
        &path,
        json!({ "name": "Readers", "accessType": "readOnly" }),
    )
    .await;
    assert_eq!(read_only["permissions"], json!(READ_PERMISSIONS));
    let custom = create_group(
        &app,
        &path,
        json!({
            "name": "Developers", "accessType": "custom",
            "permissions": ["canDeleteConfig", "canCreateOrUpdateConfig", "canDeleteConfig"]
        }),
    )
    .await;
    assert_eq!(
        custom["permissions"],
        json!(["canCreateOrUpdateConfig", "canDeleteConfig"]),
        "sorted, without duplicates"
    );

    // Full groups follow the catalog as it grows.
    app.admin_post(
        &app.operator_key,
        "/admin/v1/permission-catalog",
        json!({ "name": "canAuditEverything", "access": "read", "description": "x" }),
    )
    .await
    .assert_status(StatusCode::CREATED);
    let full_path = format!("{path}/{}", full["id"].as_str().unwrap());
    let again = json_of(app.admin_get(&app.operator_key, &full_path).await).await;
    assert_eq!(
        again["permissions"].as_array().unwrap().len(),
        all.len() + 1
    );

    // Replace: a custom group becomes read-only, and its list goes.
    let custom_path = format!("{path}/{}", custom["id"].as_str().unwrap());
    let resp = app
        .admin_put(
            &app.operator_key,
            &custom_path,
            json!({ "name": "Developers (read)", "accessType": "readOnly" }),
        )
        .await;
    resp.assert_status_is_ok();
    let replaced = json_of(resp).await;
    assert_eq!(replaced["name"], "Developers (read)");
    assert_eq!(
        replaced["permissions"],
        json!([
            "canAuditEverything",
            "canViewProductAuditLog",
            "canViewProductStatistics",
            "canViewSdkKey"
        ])
    );

    let list = json_of(app.admin_get(&app.operator_key, &path).await).await;
    let names: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Administrators", "Readers", "Developers (read)"]);

    app.admin_delete(&app.operator_key, &custom_path)
        .await
        .assert_status(StatusCode::NO_CONTENT);
    let resp = app.admin_get(&app.operator_key, &custom_path).await;
    assert_admin_error(resp, StatusCode::NOT_FOUND, "not_found").await;
}

async fn bad_permission_groups_change_nothing(app: TestApp) {
    let acme = app.tenant_id("Acme").await;
    let product = create_product(&app, &acme, "Main").await;
    let path = groups_path(&acme, &product);
    let existing = create_group(
        &app,
        &path,
        json!({ "name": "Developers", "accessType": "custom", "permissions": ["canDeleteTag"] }),
    )
    .await;

    let resp = app
        .admin_post(
            &app.operator_key,
            &path,
            json!({ "name": "X", "accessType": "custom", "permissions": ["canDeleteTag", "canFly", "canSwim"] }),
        )
        .await;
    resp.assert_status(StatusCode::BAD_REQUEST);
    let error = json_of(resp).await;
    assert_eq!(error["code"], "invalid_reference");
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("canFly") && message.contains("canSwim"),
        "{message}"
    );
    assert!(!message.contains("canDeleteTag"), "{message}");

    let resp = app
        .admin_post(
            &app.operator_key,
            &path,
            json!({ "name": "X", "accessType": "full", "permissions": ["canDeleteTag"] }),
        )
        .await;
    assert_admin_error(resp, StatusCode::BAD_REQUEST, "invalid_reference").await;
    let resp = app
        .admin_post(
            &app.operator_key,
            &path,
            json!({ "name": "X", "accessType": "everything" }),
        )
        .await;
    assert_admin_error(resp, StatusCode::BAD_REQUEST, "bad_request").await;
    let resp = app
        .admin_post(
            &app.operator_key,
            &path,
            json!({ "name": "  ", "accessType": "full" }),
        )
        .await;
    assert_admin_error(resp, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    let resp = app
        .admin_post(
            &app.operator_key,
            &path,
            json!({ "name": "developers", "accessType": "full" }),
        )
        .await;
    assert_admin_error(resp, StatusCode::CONFLICT, "conflict").await;

    // A failed replace leaves the group as it was.
    let existing_path = format!("{path}/{}", existing["id"].as_str().unwrap());
    let resp = app
        .admin_put(
            &app.operator_key,
            &existing_path,
            json!({ "name": "Renamed", "accessType": "custom", "permissions": ["canFly"] }),
        )
        .await;
    assert_admin_error(resp, StatusCode::BAD_REQUEST, "invalid_reference").await;
    assert_eq!(
        json_of(app.admin_get(&app.operator_key, &existing_path).await).await,
        existing
    );
    let list = json_of(app.admin_get(&app.operator_key, &path).await).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);

    // Another product's group is not found under this product.
    let other = create_product(&app, &acme, "Other").await;
    let resp = app
        .admin_get(
            &app.operator_key,
            &format!(
                "{}/{}",
                groups_path(&acme, &other),
                existing["id"].as_str().unwrap()
            ),
        )
        .await;
    assert_admin_error(resp, StatusCode::NOT_FOUND, "not_found").await;
}

async fn permissions_in_use_stay_in_the_catalog(app: TestApp) {
    let acme = app.tenant_id("Acme").await;
    let product = create_product(&app, &acme, "Main").await;
    let path = groups_path(&acme, &product);
    create_group(
        &app,
        &path,
        json!({ "name": "Taggers", "accessType": "custom", "permissions": ["canTagSetting"] }),
    )
    .await;
    let resp = app
        .admin_delete(
            &app.operator_key,
            "/admin/v1/permission-catalog/canTagSetting",
        )
        .await;
    resp.assert_status(StatusCode::CONFLICT);
    let message = json_of(resp).await["message"].as_str().unwrap().to_owned();
    assert!(
        message.contains("Taggers") && message.contains("Main"),
        "{message}"
    );
    assert_eq!(catalog(&app).await.len(), 20);
}

async fn deleting_a_product_takes_its_groups(app: TestApp) {
    let acme = app.tenant_id("Acme").await;
    let product = create_product(&app, &acme, "Main").await;
    let path = groups_path(&acme, &product);
    create_group(
        &app,
        &path,
        json!({ "name": "Taggers", "accessType": "custom", "permissions": ["canTagSetting"] }),
    )
    .await;
    let product_path = format!(
        "/admin/v1/tenants/{acme}/products/{}",
        product["id"].as_str().unwrap()
    );
    app.admin_delete(&app.operator_key, &product_path)
        .await
        .assert_status(StatusCode::NO_CONTENT);
    let resp = app.admin_get(&app.operator_key, &path).await;
    assert_admin_error(resp, StatusCode::NOT_FOUND, "not_found").await;
    // Its custom group no longer holds the permission.
    app.admin_delete(
        &app.operator_key,
        "/admin/v1/permission-catalog/canTagSetting",
    )
    .await
    .assert_status(StatusCode::NO_CONTENT);

    // Deleting the tenant takes its products along.
    let product = create_product(&app, &acme, "Second").await;
    create_group(
        &app,
        &groups_path(&acme, &product),
        json!({ "name": "Deleters", "accessType": "custom", "permissions": ["canDeleteTag"] }),
    )
    .await;
    app.admin_delete(&app.operator_key, &format!("/admin/v1/tenants/{acme}"))
        .await
        .assert_status(StatusCode::NO_CONTENT);
    app.admin_delete(
        &app.operator_key,
        "/admin/v1/permission-catalog/canDeleteTag",
    )
    .await
    .assert_status(StatusCode::NO_CONTENT);
}

async fn tenant_admins_manage_only_their_tenant(app: TestApp) {
    let acme = app.tenant_id("Acme").await;
    let globex = app.tenant_id("Globex").await;
    let key = app.tenant_admin_key(&acme).await;
    let resp = app
        .admin_post(
            &key,
            &format!("/admin/v1/tenants/{acme}/products"),
            json!({ "name": "Main" }),
        )
        .await;
    resp.assert_status(StatusCode::CREATED);
    let product = json_of(resp).await;
    let resp = app
        .admin_post(
            &key,
            &groups_path(&acme, &product),
            json!({ "name": "Readers", "accessType": "readOnly" }),
        )
        .await;
    resp.assert_status(StatusCode::CREATED);
    let resp = app
        .admin_post(
            &key,
            &format!("/admin/v1/tenants/{globex}/products"),
            json!({ "name": "Main" }),
        )
        .await;
    assert_admin_error(resp, StatusCode::FORBIDDEN, "forbidden").await;
    // The catalog is read by everyone and written by operators only.
    app.admin_get(&key, "/admin/v1/permission-catalog")
        .await
        .assert_status_is_ok();
    let resp = app
        .admin_post(
            &key,
            "/admin/v1/permission-catalog",
            json!({ "name": "canX", "access": "read", "description": "x" }),
        )
        .await;
    assert_admin_error(resp, StatusCode::FORBIDDEN, "forbidden").await;
    let resp = app
        .admin_delete(&key, "/admin/v1/permission-catalog/canManageMembers")
        .await;
    assert_admin_error(resp, StatusCode::FORBIDDEN, "forbidden").await;
}

async fn changes_are_audited(app: TestApp) {
    use sea_orm::{EntityTrait, QueryOrder};

    let acme = app.tenant_id("Acme").await;
    let product = create_product(&app, &acme, "Main").await;
    let group = create_group(
        &app,
        &groups_path(&acme, &product),
        json!({ "name": "Taggers", "accessType": "custom", "permissions": ["canTagSetting"] }),
    )
    .await;
    // A refused change leaves no event.
    let resp = app
        .admin_post(
            &app.operator_key,
            &groups_path(&acme, &product),
            json!({ "name": "X", "accessType": "custom", "permissions": ["canFly"] }),
        )
        .await;
    resp.assert_status(StatusCode::BAD_REQUEST);

    let db = app.raw_connection().await;
    let events = entity::audit_event::Entity::find()
        .order_by_asc(entity::audit_event::Column::Id)
        .all(&db)
        .await
        .unwrap();
    let actions: Vec<&str> = events.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "admin_key.created",
            "tenant.created",
            "product.created",
            "permission_group.created"
        ],
        "the bootstrap key, the tenant, then these"
    );
    let created = &events[3];
    assert_eq!(created.tenant_id.as_deref(), Some(acme.as_str()));
    assert_eq!(
        created.target,
        format!("permission_group:{}", group["id"].as_str().unwrap())
    );
    assert!(created.before.is_none());
    let after: Value = serde_json::from_str(created.after.as_deref().unwrap()).unwrap();
    assert_eq!(after["permissions"], json!(["canTagSetting"]));
    assert!(
        !created.actor_key_id.is_empty() && !created.actor_key_id.contains('_'),
        "the key's id, never the key"
    );
}
