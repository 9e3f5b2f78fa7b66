use std::os::unix::fs::PermissionsExt;

use crate::helpers::{TestApp, assert_admin_error};

on_every_backend!(first_start_writes_a_private_operator_key_once);

async fn first_start_writes_a_private_operator_key_once(app: TestApp) {
    let dir = tempfile::tempdir().unwrap();
    let state = &app.state;
    // The test app already made an operator key; revoke-free "first start" means none exists,
    // so use a fresh database for the real check.
    let created = server::bootstrap::ensure_operator_key(
        &state.db,
        state.auth.hasher(),
        dir.path(),
        state.clock.now(),
    )
    .await
    .unwrap();
    assert!(
        created.is_none(),
        "an operator key exists, so nothing is created"
    );

    let fresh = if app.is_postgres() {
        TestApp::postgres().await.unwrap()
    } else {
        TestApp::sqlite().await
    };
    // Remove the fixture's key so the database has none.
    use sea_orm::EntityTrait;
    fresh
        .state
        .db
        .write(|txn| {
            Box::pin(async move {
                entity::admin_key::Entity::delete_many().exec(txn).await?;
                Ok(())
            })
        })
        .await
        .unwrap();
    let path = server::bootstrap::ensure_operator_key(
        &fresh.state.db,
        fresh.state.auth.hasher(),
        dir.path(),
        fresh.state.clock.now(),
    )
    .await
    .unwrap()
    .expect("a key is created when none exists");
    assert_eq!(path, dir.path().join("operator.key"));
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let key = std::fs::read_to_string(&path).unwrap().trim().to_owned();
    fresh
        .admin_get(&key, "/admin/v1/tenants")
        .await
        .assert_status_is_ok();

    let again = server::bootstrap::ensure_operator_key(
        &fresh.state.db,
        fresh.state.auth.hasher(),
        dir.path(),
        fresh.state.clock.now(),
    )
    .await
    .unwrap();
    assert!(again.is_none(), "a second start creates nothing");
    assert_eq!(
        std::fs::read_to_string(&path).unwrap().trim(),
        key,
        "the file is kept"
    );
    assert_admin_error(
        fresh.admin_get("sadm_x", "/admin/v1/tenants").await,
        poem::http::StatusCode::UNAUTHORIZED,
        "unauthorized",
    )
    .await;
}
