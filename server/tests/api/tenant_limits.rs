//! Per-tenant limits: past them SCIM creates get 403 naming the limit and store nothing,
//! and mapping one group too many is a 409; other tenants are not affected.

use poem::http::StatusCode;
use serde_json::{Value, json};
use server::config::{Settings, TenantLimits};

use crate::helpers::{TestApp, assert_admin_error, assert_scim_error, json_of, test_settings};

fn small() -> Settings {
    let mut settings = test_settings();
    settings.storage.limits = TenantLimits {
        users: 3,
        groups: 2,
        mapped_groups: 1,
    };
    settings
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite() {
    limits_hold(TestApp::sqlite_with(small()).await).await;
    a_failed_create_takes_no_place(TestApp::sqlite_with(small()).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres() {
    if let Some(app) = TestApp::postgres_with(small()).await {
        limits_hold(app).await;
    }
    if let Some(app) = TestApp::postgres_with(small()).await {
        a_failed_create_takes_no_place(app).await;
    }
}

/// Two places left and three creates at once, one of them a taken `userName`: the other
/// two are stored, whatever the order (a create that fails must not hold a place another
/// could use).
async fn a_failed_create_takes_no_place(app: TestApp) {
    let scim = app.scim("Acme").await;
    scim.post("/Users", &user("taken@acme.test"))
        .await
        .assert_status(StatusCode::CREATED);
    let bodies = [
        user("taken@acme.test"),
        user("a@acme.test"),
        user("b@acme.test"),
    ];
    let statuses: Vec<StatusCode> =
        futures_util::future::join_all(bodies.iter().map(|body| scim.post("/Users", body)))
            .await
            .iter()
            .map(|resp| resp.0.status())
            .collect();
    // The taken name is refused either way: 409 if it ran before the others filled the
    // tenant, 403 if after.
    assert!(
        matches!(statuses[0], StatusCode::CONFLICT | StatusCode::FORBIDDEN),
        "{statuses:?}"
    );
    assert_eq!(statuses[1..], [StatusCode::CREATED, StatusCode::CREATED]);
    assert_eq!(total(&scim, "/Users").await, 3);
    assert_eq!(
        user_count(&app, &scim.tenant).await,
        3,
        "a conflict is not counted"
    );
    let listed = json_of(scim.get("/Users").await).await;
    for resource in listed["Resources"].as_array().unwrap() {
        scim.delete(&format!("/Users/{}", resource["id"].as_str().unwrap()))
            .await
            .assert_status(StatusCode::NO_CONTENT);
    }
    assert_eq!(user_count(&app, &scim.tenant).await, 0);
}

/// The count the database keeps for the limit check.
async fn user_count(app: &TestApp, tenant_id: &str) -> i64 {
    use sea_orm::EntityTrait;
    entity::tenant::Entity::find_by_id(tenant_id.to_owned())
        .one(app.state.db.reads())
        .await
        .unwrap()
        .unwrap()
        .user_count
}

fn user(name: &str) -> Value {
    json!({ "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name })
}

fn group(name: &str) -> Value {
    json!({ "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": name })
}

async fn total(scim: &crate::helpers::Scim<'_>, path: &str) -> u64 {
    let resp = scim.get(path).await;
    resp.assert_status_is_ok();
    json_of(resp).await["totalResults"].as_u64().unwrap()
}

async fn limits_hold(app: TestApp) {
    let scim = app.scim("Acme").await;

    // Five creates at once against a limit of three: exactly three are stored.
    let bodies: Vec<Value> = (0..5).map(|n| user(&format!("u{n}@acme.test"))).collect();
    let creates = bodies.iter().map(|body| scim.post("/Users", body));
    let mut created = 0;
    for resp in futures_util::future::join_all(creates).await {
        if resp.0.status() == StatusCode::CREATED {
            created += 1;
        } else {
            let error = assert_scim_error(resp, StatusCode::FORBIDDEN).await;
            let detail = error["detail"].as_str().unwrap();
            assert!(detail.contains("at most 3 users"), "{detail}");
        }
    }
    assert_eq!(created, 3);
    assert_eq!(total(&scim, "/Users").await, 3);

    // Another tenant has its own allowance; a deletion makes room again.
    let other = app.scim("Globex").await;
    other
        .post("/Users", &user("x@globex.test"))
        .await
        .assert_status(StatusCode::CREATED);
    let listed = json_of(scim.get("/Users").await).await;
    let first = listed["Resources"][0]["id"].as_str().unwrap().to_owned();
    scim.delete(&format!("/Users/{first}"))
        .await
        .assert_status(StatusCode::NO_CONTENT);
    scim.post("/Users", &user("late@acme.test"))
        .await
        .assert_status(StatusCode::CREATED);

    // Groups: two, then a 403 that stores nothing.
    let owners = scim.create_group(group("Owners")).await;
    let readers = scim.create_group(group("Readers")).await;
    let resp = scim.post("/Groups", &group("Extra")).await;
    let error = assert_scim_error(resp, StatusCode::FORBIDDEN).await;
    assert!(
        error["detail"]
            .as_str()
            .unwrap()
            .contains("at most 2 groups"),
        "{error}"
    );
    assert_eq!(total(&scim, "/Groups").await, 2);

    // Mapped groups: one; replacing it is fine, a second is a 409 that maps nothing.
    let tenant = scim.tenant.clone();
    let mapping = |group: &str| format!("/admin/v1/tenants/{tenant}/groups/{group}/mapping");
    for _ in 0..2 {
        app.admin_put(
            &app.operator_key,
            &mapping(&owners),
            json!({ "isOrganizationAdmin": true }),
        )
        .await
        .assert_status_is_ok();
    }
    let resp = app
        .admin_put(
            &app.operator_key,
            &mapping(&readers),
            json!({ "isBillingManager": true }),
        )
        .await;
    assert_admin_error(resp, StatusCode::CONFLICT, "limit_reached").await;
    assert_admin_error(
        app.admin_get(&app.operator_key, &mapping(&readers)).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}
