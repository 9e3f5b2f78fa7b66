//! Migrations go up, down and up again, and every entity reads every column of the tables
//! they create (a cheap drift check between `entity` and `migration`).

use migration::{Migrator, MigratorTrait};
use sea_orm::EntityTrait;

use crate::helpers::TestApp;

on_every_backend!(migrations_round_trip_and_match_the_entities);

async fn migrations_round_trip_and_match_the_entities(app: TestApp) {
    let db = &app.state.db;
    app.tenant_id("Acme").await;
    let tenant = app.tenant_id("Globex").await;
    app.token(&tenant).await;
    app.tenant_admin_key(&tenant).await;
    assert!(
        entity::tenant::Entity::find()
            .one(db)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        entity::scim_token::Entity::find()
            .one(db)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        entity::admin_key::Entity::find()
            .one(db)
            .await
            .unwrap()
            .is_some()
    );

    Migrator::down(db, None).await.unwrap();
    assert!(
        entity::tenant::Entity::find().one(db).await.is_err(),
        "tables are gone"
    );
    Migrator::up(db, None).await.unwrap();
    assert!(
        Migrator::get_pending_migrations(db)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        entity::tenant::Entity::find()
            .one(db)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        entity::scim_token::Entity::find()
            .one(db)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        entity::admin_key::Entity::find()
            .one(db)
            .await
            .unwrap()
            .is_none()
    );
}
