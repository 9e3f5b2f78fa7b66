//! Migrations go up, down and up again, and every entity reads every column of the tables
//! they create (a cheap drift check between `entity` and `migration`).

use migration::{Migrator, MigratorTrait};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::json;

use crate::helpers::{TestApp, ops};

on_every_backend!(
    migrations_round_trip_and_match_the_entities,
    memberships_stored_before_take_the_request_of_their_event
);

async fn migrations_round_trip_and_match_the_entities(app: TestApp) {
    app.tenant_id("Acme").await;
    let tenant = app.tenant_id("Globex").await;
    app.token(&tenant).await;
    app.tenant_admin_key(&tenant).await;
    app.state.db.close().await;
    let db = &app.raw_connection().await;
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

/// The migration that records who began each membership fills it in for memberships
/// stored before, from their latest `group.member_added` event still kept (one removed and
/// added again began with the second add); a membership whose event is gone gets none.
async fn memberships_stored_before_take_the_request_of_their_event(app: TestApp) {
    let scim = app.scim("Acme").await;
    let ada = scim.user_id("ada@acme.test").await;
    let bob = scim.user_id("bob@acme.test").await;
    let group = scim.group_id("Sales").await;
    let path = format!("/Groups/{group}");
    for (op, user) in [
        ("Add", &ada),
        ("Remove", &ada),
        ("Add", &ada),
        ("Add", &bob),
    ] {
        let change = ops(json!([{ "op": op, "path": "members", "value": [{ "value": user }] }]));
        scim.send("PATCH", &path, &change)
            .await
            .assert_status(poem::http::StatusCode::NO_CONTENT);
    }
    app.state.db.close().await;
    let db = &app.raw_connection().await;
    let added = |user: &str| {
        entity::change_event::Entity::find()
            .filter(entity::change_event::Column::Kind.eq("group.member_added"))
            .filter(entity::change_event::Column::SubjectId.eq(user))
            .order_by_desc(entity::change_event::Column::Id)
            .one(db)
    };
    let latest = added(&ada).await.unwrap().expect("ada's event");
    assert!(latest.request_id.is_some());
    entity::change_event::Entity::delete_many()
        .filter(entity::change_event::Column::SubjectId.eq(&bob))
        .exec(db)
        .await
        .unwrap();

    let migrations = Migrator::migrations();
    let since_added_by = migrations.len()
        - migrations
            .iter()
            .position(|migration| migration.name() == "m20261207_000012_member_added_by")
            .expect("the migration that records who began each membership");
    Migrator::down(db, Some(u32::try_from(since_added_by).unwrap()))
        .await
        .unwrap();
    Migrator::up(db, None).await.unwrap();
    let added_by = |user: &str| {
        entity::group_member::Entity::find()
            .filter(entity::group_member::Column::UserId.eq(user))
            .one(db)
    };
    let member = added_by(&ada).await.unwrap().expect("ada's membership");
    assert_eq!(member.added_by, latest.request_id, "the second add");
    let member = added_by(&bob).await.unwrap().expect("bob's membership");
    assert_eq!(member.added_by, None, "its event is gone");
}

/// The embedded database is configured for concurrent use: WAL, `synchronous=FULL`,
/// foreign keys, a busy timeout, and more than one pooled connection for reads, none of
/// which can write (writes go through the one writer).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_pragmas_and_pool() {
    use sea_orm::{ConnectionTrait, Statement};

    let app = TestApp::sqlite().await;
    let db = app.state.db.reads();
    let pool = db.get_sqlite_connection_pool();
    assert!(pool.options().get_max_connections() > 1);
    for (pragma, expected) in [
        ("journal_mode", "wal"),
        ("synchronous", "2"),
        ("foreign_keys", "1"),
        ("busy_timeout", "5000"),
    ] {
        let row = db
            .query_one_raw(Statement::from_string(
                db.get_database_backend(),
                format!("PRAGMA {pragma}"),
            ))
            .await
            .unwrap()
            .unwrap();
        let value = row
            .try_get_by_index::<String>(0)
            .or_else(|_| row.try_get_by_index::<i64>(0).map(|v| v.to_string()))
            .unwrap();
        assert_eq!(value, expected, "PRAGMA {pragma}");
    }
    let write = db
        .execute_unprepared("DELETE FROM tenant")
        .await
        .expect_err("the read pool cannot write");
    assert!(write.to_string().contains("readonly"), "{write}");
}
