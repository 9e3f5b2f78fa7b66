//! Input no identity provider sends but a hostile or broken client might: control
//! characters (NUL, which PostgreSQL cannot store and SQLite would) and multi-valued
//! attributes by the thousand (past what one SQL statement binds). Both backends answer
//! 400 before any SQL, and nothing stored changes.

use poem::http::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Scim, TestApp, assert_scim_error, json_of};

/// Sends `body` with `method` to `path` and expects a 400 SCIM error.
async fn refused(scim: &Scim<'_>, method: &str, path: &str, body: &Value) -> Value {
    assert_scim_error(scim.send(method, path, body).await, StatusCode::BAD_REQUEST).await
}

/// A PATCH document with one operation.
fn patch_op(op: &str, path: &str, value: Value) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{ "op": op, "path": path, "value": value }]
    })
}

on_every_backend!(
    control_characters_are_refused_everywhere,
    thousands_of_values_are_refused_and_change_nothing,
    filters_too_costly_to_plan_are_refused,
    members_named_twice_are_refused,
    admin_strings_must_be_strings,
);

async fn control_characters_are_refused_everywhere(app: TestApp) {
    let scim = app.scim("Acme").await;
    let ada = scim
        .create_user(json!({ "userName": "ada@acme.test" }))
        .await;
    let id = ada["id"].as_str().unwrap();
    for body in [
        json!({ "userName": "nul\u{0}@acme.test" }),
        json!({ "userName": "b@acme.test", "externalId": "x\u{0}" }),
        json!({ "userName": "b@acme.test", "displayName": "B\u{0}" }),
        json!({ "userName": "b@acme.test", "emails": [{ "value": "b\u{0}@acme.test" }] }),
    ] {
        let body_text = body.to_string();
        let error =
            assert_scim_error(scim.post("/Users", &body).await, StatusCode::BAD_REQUEST).await;
        assert_eq!(error["scimType"], "invalidValue", "{body_text}");
    }
    let group = json!({ "displayName": "G\u{0}" });
    let error =
        assert_scim_error(scim.post("/Groups", &group).await, StatusCode::BAD_REQUEST).await;
    assert_eq!(error["scimType"], "invalidValue");
    for path in [
        "/Users/%00".to_owned(),
        "/Users?filter=userName%20eq%20%22a%00%22".to_owned(),
        format!("/Users/{id}%00"),
    ] {
        assert_scim_error(scim.get(&path).await, StatusCode::BAD_REQUEST).await;
    }
    let patch = patch_op("replace", "displayName", json!("A\u{0}"));
    refused(&scim, "PATCH", &format!("/Users/{id}"), &patch).await;
    let stored = json_of(scim.get(&format!("/Users/{id}")).await).await;
    assert_eq!(stored, ada, "nothing changed");
    let admin = app
        .admin_get(
            &app.operator_key,
            &format!("/admin/v1/tenants/{}/users?name=%00", scim.tenant),
        )
        .await;
    admin.assert_status(StatusCode::BAD_REQUEST);
}

async fn thousands_of_values_are_refused_and_change_nothing(app: TestApp) {
    let scim = app.scim("Acme").await;
    let emails = |n: usize| -> Vec<Value> {
        (0..n)
            .map(|k| json!({ "value": format!("a{k}@acme.test"), "type": "work" }))
            .collect()
    };
    let body = json!({ "userName": "many@acme.test", "emails": emails(4_096) });
    let error = refused(&scim, "POST", "/Users", &body).await;
    assert_eq!(error["scimType"], "invalidValue");
    assert!(
        error["detail"].as_str().unwrap().contains("at most 100"),
        "{error}"
    );

    let ada = scim
        .create_user(json!({ "userName": "ada@acme.test", "emails": emails(3) }))
        .await;
    let id = ada["id"].as_str().unwrap();
    let put = json!({ "userName": "ada@acme.test", "phoneNumbers": (0..5_000).map(|k| json!({ "value": format!("+1555{k:07}") })).collect::<Vec<_>>() });
    let path = format!("/Users/{id}");
    refused(&scim, "PUT", &path, &put).await;
    let many = patch_op("add", "emails", json!(emails(5_000)));
    refused(&scim, "PATCH", &path, &many).await;
    // 98 more on top of 3 pass the limit only together.
    let more = patch_op("add", "emails", json!(emails(101).split_off(3)));
    refused(&scim, "PATCH", &path, &more).await;
    let stored = json_of(scim.get(&format!("/Users/{id}")).await).await;
    assert_eq!(stored, ada, "nothing changed");
}

/// 200 value-path terms under the length cap took PostgreSQL 37 s to plan; past the bound a
/// filter is refused before any SQL, and a filter within it still answers.
async fn filters_too_costly_to_plan_are_refused(app: TestApp) {
    let scim = app.scim("Acme").await;
    scim.create_user(json!({ "userName": "ada@acme.test", "emails": [{ "value": "ada@acme.test", "type": "work" }] }))
        .await;
    let terms = |n: usize| {
        let filter = vec![r#"emails[value co "ada" and type eq "work"]"#; n].join(" and ");
        format!(
            "/Users?filter={}",
            filter.replace(' ', "%20").replace('"', "%22")
        )
    };
    let found = json_of(scim.get(&terms(10)).await).await;
    assert_eq!(found["totalResults"], 1);
    for n in [11, 200] {
        let error = assert_scim_error(scim.get(&terms(n)).await, StatusCode::BAD_REQUEST).await;
        assert_eq!(error["scimType"], "invalidFilter");
    }
}

/// The backstop behind every bound: on PostgreSQL no statement of a request runs past the
/// statement timeout, so none holds a pooled connection the other tenants need.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_statements_are_cancelled_after_the_timeout() {
    let mut settings = crate::helpers::test_settings();
    settings.storage.statement_timeout = std::time::Duration::from_millis(300);
    let Some(app) = TestApp::postgres_with(settings).await else {
        return;
    };
    use sea_orm::ConnectionTrait;
    let slow = app
        .state
        .db
        .reads()
        .execute_unprepared("SELECT pg_sleep(5)")
        .await
        .unwrap_err();
    assert!(slow.to_string().contains("statement timeout"), "{slow}");
    // The pool is fine afterwards, and requests are served.
    let scim = app.scim("Acme").await;
    scim.create_user(json!({ "userName": "ada@acme.test" }))
        .await;
}

/// On SQLite, which has no statement timeout, a read that runs past the limit is
/// interrupted; the connection serves the next read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_reads_are_interrupted_after_the_timeout() {
    use sea_orm::ConnectionTrait;
    use std::time::Duration;

    let mut settings = crate::helpers::test_settings();
    settings.storage.statement_timeout = Duration::from_secs(1);
    // One read connection: the reads after the interrupted one run on it, with a new
    // allowance each.
    settings.storage.sqlite_read_connections = 1;
    let app = TestApp::sqlite_with(settings).await;
    let endless = tokio::time::timeout(
        Duration::from_secs(30),
        app.state.db.reads().execute_unprepared(
            "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n) \
             SELECT count(*) FROM n",
        ),
    )
    .await
    .expect("the endless read was interrupted")
    .unwrap_err();
    assert!(endless.to_string().contains("interrupted"), "{endless}");
    let scim = app.scim("Acme").await;
    scim.create_user(json!({ "userName": "ada@acme.test" }))
        .await;
    for _ in 0..3 {
        let users = json_of(scim.get("/Users").await).await;
        assert_eq!(users["totalResults"], 1);
    }
}

/// A read whose caller is dropped (its client went away) stops in the database at once,
/// rather than at the statement timeout (ten minutes here): on SQLite the one read
/// connection serves the next read, on PostgreSQL the backend no longer sleeps.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_abandoned_read_stops_sqlite() {
    use sea_orm::ConnectionTrait;
    use std::time::Duration;

    let mut settings = crate::helpers::test_settings();
    settings.storage.statement_timeout = Duration::from_secs(600);
    settings.storage.sqlite_read_connections = 1;
    let app = TestApp::sqlite_with(settings).await;
    let db = app.state.db.clone();
    let endless = tokio::spawn(async move {
        server::store::abandoned::read(&db, async |txn| {
            txn.execute_unprepared(
                "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n) \
                 SELECT count(*) FROM n",
            )
            .await?;
            Ok(())
        })
        .await
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!endless.is_finished());
    // The read holds the only read connection: its statement is running.
    assert_eq!(app.state.db.stats().pool_idle, 0);
    endless.abort();
    let scim = app.scim("Acme").await;
    scim.create_user(json!({ "userName": "ada@acme.test" }))
        .await;
    let users = tokio::time::timeout(
        Duration::from_secs(20),
        scim.get("/Users?filter=userName%20sw%20%22ada%22"),
    )
    .await
    .expect("the read connection was given back");
    assert_eq!(json_of(users).await["totalResults"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_abandoned_read_stops_postgres() {
    use sea_orm::ConnectionTrait;
    use std::time::{Duration, Instant};

    let mut settings = crate::helpers::test_settings();
    settings.storage.statement_timeout = Duration::from_secs(600);
    let Some(app) = TestApp::postgres_with(settings).await else {
        return;
    };
    let marker = format!("abandoned {}", uuid::Uuid::new_v4());
    let sleeping = {
        let observer = app.raw_connection().await;
        let query = format!(
            "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%{marker}%' \
             AND pid <> pg_backend_pid()"
        );
        move || {
            let (observer, query) = (observer.clone(), query.clone());
            async move {
                let row = observer
                    .query_one_raw(sea_orm::Statement::from_string(
                        observer.get_database_backend(),
                        query,
                    ))
                    .await
                    .unwrap()
                    .unwrap();
                row.try_get_by_index::<i64>(0).unwrap()
            }
        }
    };
    let db = app.state.db.clone();
    let sql = format!("SELECT pg_sleep(600) /* {marker} */");
    let endless = tokio::spawn(async move {
        server::store::abandoned::read(&db, async |txn| {
            txn.execute_unprepared(&sql).await?;
            Ok(())
        })
        .await
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    while sleeping().await == 0 {
        assert!(Instant::now() < deadline, "the read never started");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    endless.abort();
    while sleeping().await > 0 {
        assert!(
            Instant::now() < deadline,
            "the backend still sleeps for a caller that is gone"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The pool serves searches afterwards (sqlx replaces the cancelled connection).
    let scim = app.scim("Acme").await;
    scim.create_user(json!({ "userName": "ada@acme.test" }))
        .await;
    for _ in 0..20 {
        let users = json_of(scim.get("/Users?filter=userName%20sw%20%22ada%22").await).await;
        assert_eq!(users["totalResults"], 1);
    }
}

/// `{"userName": "a", "userName": "b"}` was stored as "b"; a proxy or a log may have read
/// "a". Refused, also when the names differ only in case (or the media type's).
async fn members_named_twice_are_refused(app: TestApp) {
    let scim = app.scim("Acme").await;
    for raw in [
        r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"a@acme.test","userName":"b@acme.test"}"#,
        r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"a@acme.test","username":"b@acme.test"}"#,
        r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"a@acme.test","emails":[{"value":"a@acme.test","value":"b@acme.test"}]}"#,
    ] {
        let resp = app
            .client
            .post(scim.url("/Users"))
            .header("Authorization", format!("Bearer {}", scim.token))
            .content_type("Application/SCIM+JSON")
            .body(raw)
            .send()
            .await;
        let error = assert_scim_error(resp, StatusCode::BAD_REQUEST).await;
        assert_eq!(error["scimType"], "invalidSyntax", "{raw}");
        assert!(
            error["detail"].as_str().unwrap().contains("twice"),
            "{error}"
        );
    }
    let users = json_of(scim.get("/Users").await).await;
    assert_eq!(users["totalResults"], 0, "nothing was created");

    // The admin API too (names compare exactly there: `Name` is not `name`).
    let tenant = scim.tenant.clone();
    for (path, raw) in [
        (
            "/admin/v1/tenants".to_owned(),
            r#"{"name":"Evil","name":"Good"}"#,
        ),
        (
            format!("/admin/v1/tenants/{tenant}/products"),
            r#"{"name":"A","description":"x","name":"B"}"#,
        ),
    ] {
        let resp = app
            .client
            .post(&path)
            .header("Authorization", format!("Bearer {}", app.operator_key))
            .content_type("application/json")
            .body(raw)
            .send()
            .await;
        resp.assert_status(StatusCode::BAD_REQUEST);
        let error = json_of(resp).await;
        assert!(
            error["message"].as_str().unwrap().contains("twice"),
            "{error}"
        );
    }
    let tenants = json_of(app.admin_get(&app.operator_key, "/admin/v1/tenants").await).await;
    assert_eq!(tenants["items"].as_array().unwrap().len(), 1, "{tenants}");
}

/// `false`, `12` or `[1]` where the admin API expects text is a client bug: 400, and
/// nothing is created (poem-openapi alone would have taken them as "false", "12", ["1"]).
async fn admin_strings_must_be_strings(app: TestApp) {
    let key = app.operator_key.clone();
    let tenant = app.tenant_id("Acme").await;
    let product = app.create_product(&tenant, "Dashboard").await;
    let admin = |path: String, body: Value| {
        let app = &app;
        let key = key.clone();
        async move { app.admin_post(&key, &path, body).await }
    };
    let cases = [
        ("/admin/v1/tenants".to_owned(), json!({ "name": false })),
        ("/admin/v1/tenants".to_owned(), json!({ "name": 12 })),
        (
            "/admin/v1/permission-catalog".to_owned(),
            json!({ "name": "canExport", "access": "read", "description": true }),
        ),
        (
            format!("/admin/v1/tenants/{tenant}/products"),
            json!({ "name": 3.5 }),
        ),
        (
            format!("/admin/v1/tenants/{tenant}/products/{product}/permission-groups"),
            json!({ "name": "Viewers", "accessType": "custom", "permissions": [1] }),
        ),
        (
            format!("/admin/v1/tenants/{tenant}/scim-tokens"),
            json!({ "name": false }),
        ),
        (
            format!("/admin/v1/tenants/{tenant}/admin-keys"),
            json!({ "name": 7 }),
        ),
        ("/admin/v1/operator-keys".to_owned(), json!({ "name": 7 })),
    ];
    for (path, body) in cases {
        let resp = admin(path.clone(), body.clone()).await;
        crate::helpers::assert_admin_error(resp, StatusCode::BAD_REQUEST, "bad_request").await;
    }
    let tenants = json_of(app.admin_get(&key, "/admin/v1/tenants").await).await;
    assert_eq!(tenants["items"].as_array().unwrap().len(), 1, "{tenants}");
    let products = json_of(
        app.admin_get(&key, &format!("/admin/v1/tenants/{tenant}/products"))
            .await,
    )
    .await;
    assert_eq!(products["items"].as_array().unwrap().len(), 1, "{products}");
    assert!(app.tokens(&tenant).await.is_empty());
}
