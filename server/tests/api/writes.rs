//! The write path: requests committed together keep their own outcomes, a failed commit
//! stores nothing and acknowledges nothing, the queue is bounded, and closing drains it.

use std::sync::Arc;

use entity::tenant;
use poem::http::StatusCode;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, Set,
    TransactionTrait,
};
use serde_json::{Value, json};
use server::{config::Settings, error::Error, store::Storage};
use tokio::sync::Barrier;

use crate::helpers::{TestApp, hold_the_writer, json_of, test_settings};

on_every_backend!(
    a_failed_commit_stores_and_acknowledges_nothing,
    acknowledged_writes_are_readable_at_once,
    merged_member_changes_keep_order_and_each_outcome
);

fn new_tenant(name: &str) -> tenant::ActiveModel {
    tenant::ActiveModel {
        id: Set(uuid::Uuid::now_v7().to_string()),
        name: Set(name.to_owned()),
        name_lc: Set(name.to_lowercase()),
        permissions_version: Set(0),
        user_count: Set(0),
        created_at: Set(chrono::Utc::now()),
    }
}

/// Inserts a tenant named `name` and returns its id.
async fn insert_tenant(db: &Storage, name: &str) -> Result<String, Error> {
    let row = new_tenant(name);
    db.write(move |txn| Box::pin(async move { Ok(row.insert(txn).await?.id) }))
        .await
}

async fn tenant_names(db: &Storage) -> Vec<String> {
    let mut names: Vec<String> = tenant::Entity::find()
        .all(db.reads())
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name)
        .collect();
    names.sort();
    names
}

/// Lets queued writes reach the writer's queue before it is released.
async fn settle() {
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_write_in_a_batch_keeps_its_own_outcome() {
    let app = TestApp::sqlite().await;
    let db = app.state.db.clone();
    let (release, holder) = hold_the_writer(&db).await;
    let mut writes = Vec::new();
    for n in 0..6 {
        let db = db.clone();
        writes.push(tokio::spawn(async move {
            match n % 3 {
                // Fails after writing: its savepoint is rolled back, its row never lands.
                1 => {
                    let row = new_tenant(&format!("failing {n}"));
                    db.write(move |txn| {
                        Box::pin(async move {
                            row.insert(txn).await?;
                            Err::<(), _>(Error::Invalid("refused".to_owned()))
                        })
                    })
                    .await
                    .map(|()| String::new())
                }
                // Panics after writing: answered as an internal error, nothing kept.
                2 => {
                    let row = new_tenant(&format!("panicking {n}"));
                    db.write(move |txn| {
                        Box::pin(async move {
                            row.insert(txn).await?;
                            panic!("a bug in one request");
                        })
                    })
                    .await
                }
                _ => insert_tenant(&db, &format!("kept {n}")).await,
            }
        }));
    }
    settle().await;
    release.send(()).unwrap();
    holder.await.unwrap();
    let outcomes: Vec<_> = futures_util::future::join_all(writes)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    for (n, outcome) in outcomes.iter().enumerate() {
        match n % 3 {
            1 => assert!(matches!(outcome, Err(Error::Invalid(_))), "{outcome:?}"),
            2 => assert!(matches!(outcome, Err(Error::Internal(_))), "{outcome:?}"),
            _ => assert!(outcome.is_ok(), "{outcome:?}"),
        }
    }
    assert_eq!(tenant_names(&db).await, ["kept 0", "kept 3"]);
    // The writer goes on after all that.
    insert_tenant(&db, "after").await.unwrap();
}

/// A commit that fails (here: a deferred constraint checked at COMMIT, the same path as a
/// full disk or an I/O error at commit) answers 503 for every write of the batch, stores
/// none of them, and leaves no transaction open: the next write is really committed,
/// which a fresh process reading the file proves.
async fn a_failed_commit_stores_and_acknowledges_nothing(app: TestApp) {
    let db = app.state.db.clone();
    let postgres = app.is_postgres();
    if postgres {
        // PostgreSQL checks deferred constraints at COMMIT: one that always fails there.
        app.raw_connection()
            .await
            .execute_unprepared(
                "CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS \
                 $$ BEGIN RAISE EXCEPTION 'poisoned commit'; END $$; \
                 CREATE CONSTRAINT TRIGGER poison AFTER INSERT ON tenant \
                 DEFERRABLE INITIALLY DEFERRED FOR EACH ROW \
                 WHEN (NEW.name = 'poison') EXECUTE FUNCTION refuse_poison();",
            )
            .await
            .unwrap();
    }
    let poisoned = db.write(move |txn| {
        Box::pin(async move {
            if postgres {
                new_tenant("poison").insert(txn).await?;
            } else {
                txn.execute_unprepared("PRAGMA defer_foreign_keys = ON")
                    .await?;
                // A membership of a group that does not exist: legal until COMMIT.
                txn.execute_unprepared(
                    "INSERT INTO group_member (group_id, user_id, tenant_id) \
                     VALUES ('no-group', 'no-user', 'no-tenant')",
                )
                .await?;
            }
            Ok(())
        })
    });
    let poisoned = poisoned.await;
    assert!(
        matches!(poisoned, Err(Error::Unavailable { retry_after, .. }) if retry_after > 0),
        "{poisoned:?}"
    );
    assert!(db.write_problem().is_some(), "the failure is reported");
    insert_tenant(&db, "after the failure").await.unwrap();
    assert!(db.write_problem().is_none(), "a committed write clears it");
    assert_eq!(tenant_names(&db).await, ["after the failure"]);
    db.close().await;
    // Another process's view: the file or server holds what was acknowledged.
    let members = entity::group_member::Entity::find()
        .count(&app.raw_connection().await)
        .await
        .unwrap();
    assert_eq!(members, 0);
    let names: Vec<String> = tenant::Entity::find()
        .all(&app.raw_connection().await)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name)
        .collect();
    assert!(names.contains(&"after the failure".to_owned()), "{names:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_commit_fails_the_whole_batch_and_only_it() {
    let app = TestApp::sqlite().await;
    let db = app.state.db.clone();
    let (release, holder) = hold_the_writer(&db).await;
    let good = {
        let db = db.clone();
        tokio::spawn(async move { insert_tenant(&db, "same batch").await })
    };
    settle().await;
    let poisoned = {
        let db = db.clone();
        tokio::spawn(async move {
            db.write(|txn| {
                Box::pin(async move {
                    txn.execute_unprepared("PRAGMA defer_foreign_keys = ON")
                        .await?;
                    txn.execute_unprepared(
                        "INSERT INTO group_member (group_id, user_id, tenant_id) \
                         VALUES ('no-group', 'no-user', 'no-tenant')",
                    )
                    .await?;
                    Ok(())
                })
            })
            .await
        })
    };
    settle().await;
    release.send(()).unwrap();
    holder.await.unwrap();
    let good = good.await.unwrap();
    let poisoned = poisoned.await.unwrap();
    assert!(matches!(good, Err(Error::Unavailable { .. })), "{good:?}");
    assert!(
        matches!(poisoned, Err(Error::Unavailable { .. })),
        "{poisoned:?}"
    );
    insert_tenant(&db, "next batch").await.unwrap();
    assert_eq!(tenant_names(&db).await, ["next batch"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_answers_503_with_retry_after() {
    let mut settings: Settings = test_settings();
    settings.storage.write_queue_capacity = 1;
    settings.storage.max_write_batch = 1;
    let app = TestApp::sqlite_with(settings).await;
    let tenant = app.tenant_id("Acme").await;
    let token = app.token(&tenant).await;
    let db = app.state.db.clone();
    let (release, holder) = hold_the_writer(&db).await;
    let queued = {
        let db = db.clone();
        tokio::spawn(async move { insert_tenant(&db, "queued").await })
    };
    settle().await;
    let resp = app
        .client
        .post(format!("/scim/{tenant}/v2/Users"))
        .header("Authorization", format!("Bearer {token}"))
        .content_type("application/scim+json")
        .body(json!({ "userName": "ada@example.com" }).to_string())
        .send()
        .await;
    resp.assert_status(StatusCode::SERVICE_UNAVAILABLE);
    resp.assert_header("Retry-After", "1");
    resp.assert_content_type("application/scim+json");
    let body = json_of(resp).await;
    assert_eq!(body["status"], "503");
    assert_eq!(
        body["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:Error"])
    );
    release.send(()).unwrap();
    holder.await.unwrap();
    queued.await.unwrap().unwrap();
    // Nothing of the refused request was stored; once there is room, it goes through.
    let resp = app
        .client
        .get(format!("/scim/{tenant}/v2/Users"))
        .header("Authorization", format!("Bearer {token}"))
        .send()
        .await;
    assert_eq!(json_of(resp).await["totalResults"], 0);
    app.client
        .post(format!("/scim/{tenant}/v2/Users"))
        .header("Authorization", format!("Bearer {token}"))
        .content_type("application/scim+json")
        .body(json!({ "userName": "ada@example.com" }).to_string())
        .send()
        .await
        .assert_status(StatusCode::CREATED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closing_commits_everything_queued_then_refuses() {
    let app = TestApp::sqlite().await;
    let db = app.state.db.clone();
    let (release, holder) = hold_the_writer(&db).await;
    let queued: Vec<_> = (0..20)
        .map(|n| {
            let db = db.clone();
            tokio::spawn(async move { insert_tenant(&db, &format!("queued {n:02}")).await })
        })
        .collect();
    settle().await;
    let closing = {
        let db = db.clone();
        tokio::spawn(async move { db.close().await })
    };
    settle().await;
    assert!(
        matches!(
            insert_tenant(&db, "too late").await,
            Err(Error::Unavailable { .. })
        ),
        "no new writes once closing"
    );
    release.send(()).unwrap();
    holder.await.unwrap();
    closing.await.unwrap();
    for write in queued {
        write.await.unwrap().unwrap();
    }
    assert_eq!(tenant_names(&db).await.len(), 20);
}

async fn acknowledged_writes_are_readable_at_once(app: TestApp) {
    let app = Arc::new(app);
    let tenant = app.tenant_id("Acme").await;
    let token = app.token(&tenant).await;
    let start = Arc::new(Barrier::new(16));
    let clients: Vec<_> = (0..16)
        .map(|n| {
            let (app, tenant, token, start) = (
                Arc::clone(&app),
                tenant.clone(),
                token.clone(),
                Arc::clone(&start),
            );
            tokio::spawn(async move {
                start.wait().await;
                for i in 0..5 {
                    let resp = app
                        .client
                        .post(format!("/scim/{tenant}/v2/Users"))
                        .header("Authorization", format!("Bearer {token}"))
                        .content_type("application/scim+json")
                        .body(json!({ "userName": format!("u{n}-{i}@example.com") }).to_string())
                        .send()
                        .await;
                    resp.assert_status(StatusCode::CREATED);
                    let id = json_of(resp).await["id"].as_str().unwrap().to_owned();
                    app.client
                        .get(format!("/scim/{tenant}/v2/Users/{id}"))
                        .header("Authorization", format!("Bearer {token}"))
                        .send()
                        .await
                        .assert_status_is_ok();
                }
            })
        })
        .collect();
    for client in clients {
        client.await.unwrap();
    }
}

/// A user named `name` with that work email.
fn email_user(name: &str) -> serde_json::Map<String, Value> {
    json!({ "userName": name, "emails": [{ "value": name, "type": "work" }] })
        .as_object()
        .unwrap()
        .clone()
}

async fn store_user(db: &Storage, tenant: &str, name: &str) {
    server::store::users::create(db, tenant, &email_user(name), chrono::Utc::now())
        .await
        .unwrap();
}

/// `users` users are stored, each with one indexed value and one `user.created` event.
async fn assert_each_user_stored_once(reads: &sea_orm::DatabaseConnection, users: u64) {
    let count = |table: &str, n: u64| assert_eq!(n, users, "{table}");
    count(
        "users",
        entity::scim_user::Entity::find()
            .count(reads)
            .await
            .unwrap(),
    );
    count(
        "values",
        entity::scim_user_value::Entity::find()
            .count(reads)
            .await
            .unwrap(),
    );
    count(
        "user.created events",
        entity::change_event::Entity::find()
            .filter(entity::change_event::Column::Kind.eq("user.created"))
            .count(reads)
            .await
            .unwrap(),
    );
}

/// Runs `(tenant id, attributes)` creates in one batch, arriving in no set order; their
/// outcomes in the order given.
async fn creates_together(
    db: &Storage,
    creates: impl IntoIterator<Item = (String, serde_json::Map<String, Value>)>,
) -> Vec<Result<entity::scim_user::Model, Error>> {
    let now = chrono::Utc::now();
    let creates = creates.into_iter().map(|(tenant, attrs)| {
        let db = db.clone();
        async move { server::store::users::create(&db, &tenant, &attrs, now).await }
    });
    in_one_batch(db, creates, std::time::Duration::ZERO).await
}

/// Runs `writes` while the writer is held, so that they wait and are committed in one
/// batch; their outcomes in the order given. With a `gap` they arrive that far apart in
/// that order; with none, spawned at once, in whatever order they reach the queue.
async fn in_one_batch<T: Send + 'static>(
    db: &Storage,
    writes: impl IntoIterator<Item = impl Future<Output = T> + Send + 'static>,
    gap: std::time::Duration,
) -> Vec<T> {
    while_held(Held::writer(db).await, writes, gap).await
}

/// What holds writes back until released.
enum Held {
    /// The embedded database's writer.
    Writer(
        tokio::sync::oneshot::Sender<()>,
        tokio::task::JoinHandle<()>,
    ),
    /// PostgreSQL: rows locked by a transaction of the test's.
    Rows(sea_orm::DatabaseTransaction),
}

impl Held {
    async fn writer(db: &Storage) -> Self {
        let (release, holder) = hold_the_writer(db).await;
        Self::Writer(release, holder)
    }

    /// The rows `select` locks (`… FOR UPDATE`).
    async fn rows(db: &Storage, select: &str) -> Self {
        let holder = db.reads().begin().await.unwrap();
        holder.execute_unprepared(select).await.unwrap();
        Self::Rows(holder)
    }

    async fn release(self) {
        match self {
            Self::Writer(release, holder) => {
                release.send(()).unwrap();
                holder.await.unwrap();
            }
            Self::Rows(holder) => holder.rollback().await.unwrap(),
        }
    }
}

/// Runs `writes`, `gap` apart in the order given, while `held`; their outcomes in that order.
async fn while_held<T: Send + 'static>(
    held: Held,
    writes: impl IntoIterator<Item = impl Future<Output = T> + Send + 'static>,
    gap: std::time::Duration,
) -> Vec<T> {
    let mut tasks = Vec::new();
    for write in writes {
        tasks.push(tokio::spawn(write));
        tokio::time::sleep(gap).await;
    }
    settle().await;
    held.release().await;
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.unwrap());
    }
    outcomes
}

/// SQLite may roll a whole transaction back on its own (on a full disk, an I/O error; here
/// an `INSERT OR ROLLBACK` that repeats a key, whose error the write ignores): what the
/// batch wrote before is gone, and a write after it would run outside any transaction. The
/// batch fails as a whole: none of its writes is acknowledged, none is stored, and the
/// writer goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_the_database_rolled_back_fails_its_batch() {
    use sea_orm::{DatabaseBackend, Statement};
    type Write = std::pin::Pin<Box<dyn Future<Output = Result<String, Error>> + Send>>;
    let app = TestApp::sqlite().await;
    let db = app.state.db.clone();
    let taken = insert_tenant(&db, "taken").await.unwrap();
    let before: Write = {
        let db = db.clone();
        Box::pin(async move { insert_tenant(&db, "before").await })
    };
    let rolling_back: Write = {
        let db = db.clone();
        Box::pin(async move {
            db.write(move |txn| {
                Box::pin(async move {
                    let twin = Statement::from_sql_and_values(
                        DatabaseBackend::Sqlite,
                        "INSERT OR ROLLBACK INTO tenant \
                         (id, name, name_lc, permissions_version, user_count, created_at) \
                         VALUES (?, 'twin', 'twin', 0, 0, ?)",
                        [taken.into(), chrono::Utc::now().into()],
                    );
                    let refused = txn.execute_raw(twin).await;
                    assert!(refused.is_err(), "the twin repeats a key");
                    Ok(String::new())
                })
            })
            .await
        })
    };
    let after: Write = {
        let db = db.clone();
        Box::pin(async move { insert_tenant(&db, "after").await })
    };
    let outcomes = in_one_batch(
        &db,
        [before, rolling_back, after],
        std::time::Duration::from_millis(20),
    )
    .await;
    for outcome in &outcomes {
        assert!(
            matches!(outcome, Err(Error::Unavailable { .. })),
            "{outcomes:?}"
        );
    }
    assert_eq!(tenant_names(&db).await, ["taken"]);
    insert_tenant(&db, "later").await.unwrap();
    assert_eq!(tenant_names(&db).await, ["later", "taken"]);
}

/// Statements sent in one trip stand or fall together: when the last fails, what the first
/// wrote is rolled back, and the write goes on in the same transaction.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trip_stands_or_falls_whole() {
    use sea_orm::{DatabaseBackend, QueryTrait};
    use server::store::one_trip::OneTrip;
    let app = TestApp::sqlite().await;
    let db = app.state.db.clone();
    let kept = insert_tenant(&db, "kept").await.unwrap();
    let outcome = db
        .write(move |txn| {
            Box::pin(async move {
                let mut trip = OneTrip::default();
                trip.push(
                    tenant::Entity::insert(new_tenant("rolled back"))
                        .build(DatabaseBackend::Sqlite),
                );
                let mut twin = new_tenant("twin");
                twin.id = Set(kept);
                trip.push(tenant::Entity::insert(twin).build(DatabaseBackend::Sqlite));
                let failed = trip.run(txn).await?;
                new_tenant("after the trip").insert(txn).await?;
                Ok(failed)
            })
        })
        .await
        .unwrap();
    assert!(outcome.is_err(), "the second insert repeats a key");
    assert_eq!(tenant_names(&db).await, ["after the trip", "kept"]);
}

/// A few creates waiting together go to SQLite's thread in one trip: users, values and
/// events in one text. A taken `userName` fails that trip as a whole, and the creates are
/// then checked name by name: exactly those with a free name are stored, each with its
/// indexed value and its one event, and nothing of the others is left behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_few_merged_creates_go_in_one_trip() {
    let (app, statements) = TestApp::recording(false).await.unwrap();
    let tenant = app.tenant_id("Acme").await;
    let db = app.state.db.clone();
    store_user(&db, &tenant, "taken@example.com").await;
    statements.clear();
    let free = ["ada@example.com", "grace@example.com", "linus@example.com"];
    let outcomes = creates_together(&db, free.map(|name| (tenant.clone(), email_user(name)))).await;
    assert!(outcomes.iter().all(Result::is_ok), "{outcomes:?}");
    let sent: Vec<String> = statements.0.lock().unwrap().clone();
    // However the three were batched, each table was written by trips only.
    for table in ["\"scim_user\"", "\"scim_user_value\"", "\"change_event\""] {
        let inserts: Vec<&String> = sent
            .iter()
            .filter(|sql| sql.contains(&format!("INSERT INTO {table}")))
            .collect();
        assert!(!inserts.is_empty(), "{table}: {sent:#?}");
        assert!(
            inserts.iter().all(|sql| sql.contains("SAVEPOINT one_trip")),
            "{table} is written by trips alone: {sent:#?}"
        );
    }
    // The parameters of each statement of a trip went to that statement: every user's
    // value row and event are its own.
    let reads = db.reads();
    for user in outcomes.iter().map(|outcome| outcome.as_ref().unwrap()) {
        let values = entity::scim_user_value::Entity::find()
            .filter(entity::scim_user_value::Column::UserId.eq(&user.id))
            .all(reads)
            .await
            .unwrap();
        assert_eq!(values.len(), 1, "{user:?}");
        assert_eq!(values[0].value.as_deref(), Some(user.user_name.as_str()));
        assert_eq!(values[0].tenant_id, tenant);
        let events = entity::change_event::Entity::find()
            .filter(entity::change_event::Column::ResourceId.eq(&user.id))
            .all(reads)
            .await
            .unwrap();
        assert_eq!(events.len(), 1, "{user:?}");
        assert_eq!(events[0].kind, "user.created");
        assert!(events[0].data.contains(&user.user_name), "{:?}", events[0]);
    }

    let racing = [
        "bob@example.com",
        "BOB@example.com",
        "carol@example.com",
        "Taken@example.com",
    ];
    let outcomes =
        creates_together(&db, racing.map(|name| (tenant.clone(), email_user(name)))).await;
    let created: Vec<&str> = outcomes
        .iter()
        .filter_map(|o| o.as_ref().ok().map(|u| u.user_name.as_str()))
        .collect();
    assert_eq!(created.len(), 2, "{outcomes:?}");
    assert!(created.contains(&"carol@example.com"), "{outcomes:?}");
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| matches!(o, Err(Error::Conflict(_))))
            .count(),
        2,
        "the second Bob and the taken name: {outcomes:?}"
    );

    // 1 + 3 + 2 users, each with one value row and one `user.created` event.
    assert_each_user_stored_once(reads, 6).await;
    let user_count = entity::tenant::Entity::find_by_id(tenant.clone())
        .one(reads)
        .await
        .unwrap()
        .unwrap()
        .user_count;
    assert_eq!(
        user_count, 6,
        "the tenant's count moved only with stored users"
    );
}

/// Many creates waiting together go in trips of power-of-two counts (19 as 16, 2 and 1),
/// so that the connection prepares a text for few counts, not for each. A taken
/// `userName` fails only its own trip, whose creates are then checked name by name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_merged_creates_go_in_trips_of_power_of_two_counts() {
    let (app, statements) = TestApp::recording(false).await.unwrap();
    let tenant = app.tenant_id("Acme").await;
    let db = app.state.db.clone();
    store_user(&db, &tenant, "taken@example.com").await;
    statements.clear();
    let mut names: Vec<String> = (0..18).map(|n| format!("user{n}@example.com")).collect();
    names.insert(9, "Taken@example.com".to_owned());
    let outcomes = creates_together(
        &db,
        names.iter().map(|name| (tenant.clone(), email_user(name))),
    )
    .await;
    for (name, outcome) in names.iter().zip(&outcomes) {
        match outcome {
            Ok(user) => assert_eq!(&user.user_name, name),
            Err(Error::Conflict(_)) => assert_eq!(name, "Taken@example.com"),
            Err(err) => panic!("{name}: {err:?}"),
        }
    }
    assert_eq!(outcomes.iter().filter(|o| o.is_ok()).count(), 18);

    let sent: Vec<String> = statements.0.lock().unwrap().clone();
    let mut trips: Vec<usize> = sent
        .iter()
        .filter(|sql| sql.starts_with("SAVEPOINT one_trip"))
        .filter_map(|sql| {
            sql.split(";\n")
                .find(|statement| statement.starts_with("INSERT INTO \"scim_user\" "))
                .map(|users| users.matches("), (").count() + 1)
        })
        .collect();
    trips.sort_unstable();
    assert_eq!(trips, [1, 2, 16], "users per trip: {sent:#?}");
    let checked = sent
        .iter()
        .filter(|sql| sql.starts_with("INSERT INTO \"scim_user\" ") && sql.contains("ON CONFLICT"))
        .count();
    assert_eq!(
        checked, 1,
        "only the trip with the taken name is checked: {sent:#?}"
    );

    let reads = db.reads();
    assert_each_user_stored_once(reads, 19).await;
}

/// Creates `names` in `tenant` in one batch, arriving in that order, once a trigger makes
/// SQLite roll the transaction back at `lose@example.com`'s insert; asserts that every
/// create is told nothing was stored.
async fn creates_losing_the_transaction(app: &TestApp, tenant: &str, names: [&'static str; 4]) {
    app.raw_connection()
        .await
        .execute_unprepared(
            "CREATE TRIGGER lose BEFORE INSERT ON scim_user \
             WHEN NEW.user_name = 'lose@example.com' \
             BEGIN SELECT RAISE(ROLLBACK, 'the transaction is gone'); END",
        )
        .await
        .unwrap();
    let db = &app.state.db;
    let now = chrono::Utc::now();
    let creates = names.map(|name| {
        let (db, tenant) = (db.clone(), tenant.to_owned());
        async move { server::store::users::create(&db, &tenant, &email_user(name), now).await }
    });
    let outcomes = in_one_batch(db, creates, std::time::Duration::from_millis(20)).await;
    for outcome in &outcomes {
        assert!(
            matches!(outcome, Err(Error::Unavailable { .. })),
            "{outcomes:?}"
        );
    }
}

/// When SQLite rolls the batch's transaction back on its own during a trip (as on a full
/// disk; here a trigger), nothing more is written in that batch: neither the trips after
/// it nor a create refused at the tenant's limit, which the failed creates' places would
/// otherwise let in (outside any transaction, so stored for good). Every create of the
/// batch is told that nothing was stored, and nothing is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trip_that_loses_the_transaction_ends_the_batch() {
    let mut settings = test_settings();
    settings.storage.limits.users = 3;
    let app = TestApp::sqlite_with(settings).await;
    let tenant = app.tenant_id("Acme").await;
    // The first three take the tenant's places, the last waits.
    let names = [
        "ada@example.com",
        "lose@example.com",
        "grace@example.com",
        "linus@example.com",
    ];
    creates_losing_the_transaction(&app, &tenant, names).await;
    let db = &app.state.db;
    assert_each_user_stored_once(db.reads(), 0).await;

    let later = email_user("later@example.com");
    let later = server::store::users::create(db, &tenant, &later, chrono::Utc::now())
        .await
        .expect("the writer goes on");
    assert_eq!(later.user_name, "later@example.com");

    // The write connection the writer opened again after the lost batch guards the limit
    // too: creates inserted without counting first are refused past it.
    app.raw_connection()
        .await
        .execute_unprepared("DROP TRIGGER lose")
        .await
        .unwrap();
    let names = ["a@example.com", "b@example.com", "c@example.com"];
    let outcomes = creates_together(
        db,
        names.iter().map(|name| (tenant.clone(), email_user(name))),
    )
    .await;
    let refused = outcomes
        .iter()
        .filter(|outcome| matches!(outcome, Err(Error::LimitReached(_))))
        .count();
    assert_eq!(refused, 1, "{outcomes:?}");
    assert_each_user_stored_once(db.reads(), 3).await;
}

/// Creates that fit their tenant's limit go without counting its users first (a round
/// trip to SQLite's thread saved per batch): the write connection refuses a user past the
/// limit by itself, and only a trip that fails counts. The limit holds exactly, in
/// arrival order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creates_count_only_when_a_trip_fails() {
    let (app, statements) = TestApp::recording(false).await.unwrap();
    let tenant = app.tenant_id("Acme").await;
    let db = app.state.db.clone();
    let counts = |sent: &[String]| {
        sent.iter()
            .filter(|sql| sql.contains("\"user_count\""))
            .count()
    };

    statements.clear();
    let names: Vec<String> = (0..5).map(|n| format!("user{n}@example.com")).collect();
    let outcomes = creates_together(
        &db,
        names.iter().map(|name| (tenant.clone(), email_user(name))),
    )
    .await;
    assert!(outcomes.iter().all(Result::is_ok), "{outcomes:?}");
    let sent: Vec<String> = statements.0.lock().unwrap().clone();
    assert_eq!(counts(&sent), 0, "nothing was counted: {sent:#?}");

    statements.clear();
    store_user(&db, &tenant, "taken@example.com").await;
    let outcome = creates_together(&db, [(tenant.clone(), email_user("Taken@example.com"))])
        .await
        .pop()
        .unwrap();
    assert!(matches!(outcome, Err(Error::Conflict(_))), "{outcome:?}");
    let sent: Vec<String> = statements.0.lock().unwrap().clone();
    assert_eq!(counts(&sent), 1, "the failed trip counted: {sent:#?}");
}

/// Past the limit, the guard fails the trip and the count refuses exactly the creates
/// that came last.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_limit_refuses_the_creates_that_came_last() {
    let mut settings = test_settings();
    settings.storage.limits.users = 4;
    let app = TestApp::sqlite_with(settings).await;
    let tenant = app.tenant_id("Acme").await;
    let db = &app.state.db;
    store_user(db, &tenant, "first@example.com").await;
    let names: Vec<String> = (0..5).map(|n| format!("user{n}@example.com")).collect();
    let now = chrono::Utc::now();
    let creates = names.iter().map(|name| {
        let (db, tenant, attrs) = (db.clone(), tenant.clone(), email_user(name));
        async move { server::store::users::create(&db, &tenant, &attrs, now).await }
    });
    let outcomes = in_one_batch(db, creates, std::time::Duration::from_millis(20)).await;
    let stored: Vec<bool> = outcomes.iter().map(Result::is_ok).collect();
    assert_eq!(stored, [true, true, true, false, false], "{outcomes:?}");
    for outcome in &outcomes[3..] {
        assert!(
            matches!(outcome, Err(Error::LimitReached(_))),
            "{outcome:?}"
        );
    }
    assert_each_user_stored_once(db.reads(), 4).await;
}

/// A trip that fails on a taken `userName` has its creates checked name by name; when
/// SQLite rolls the transaction back on its own there (here a trigger), the creates left
/// must not be written one by one outside it: the batch fails whole and nothing of it is
/// stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checked_create_that_loses_the_transaction_stores_nothing() {
    let app = TestApp::sqlite().await;
    let tenant = app.tenant_id("Acme").await;
    store_user(&app.state.db, &tenant, "taken@example.com").await;
    // The taken name fails the trip before the trigger fires; the checked insert skips it
    // and reaches the trigger.
    let names = [
        "Taken@example.com",
        "lose@example.com",
        "ada@example.com",
        "grace@example.com",
    ];
    creates_losing_the_transaction(&app, &tenant, names).await;
    assert_each_user_stored_once(app.state.db.reads(), 1).await;
}

/// Creates that wait together are inserted together: a userName race inside the batch or
/// against a stored user gives exactly one 201 per name, and a create that cannot be
/// stored for another reason (here: a tenant that does not exist) fails alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merged_creates_keep_each_outcome() {
    let app = TestApp::sqlite().await;
    let tenant = app.tenant_id("Acme").await;
    let db = app.state.db.clone();
    store_user(&db, &tenant, "taken@example.com").await;
    let names = [
        ("Acme", "ada@example.com"),
        ("Acme", "ADA@example.com"),
        ("Acme", "grace@example.com"),
        ("Acme", "Taken@example.com"),
        ("nowhere", "orphan@example.com"),
        ("Acme", "ada@EXAMPLE.com"),
        ("Acme", "linus@example.com"),
    ];
    let outcomes = creates_together(
        &db,
        names.iter().map(|(which, name)| {
            let tenant = if *which == "Acme" {
                tenant.clone()
            } else {
                "no-such-tenant".to_owned()
            };
            (tenant, email_user(name))
        }),
    )
    .await;
    let created: Vec<&str> = outcomes
        .iter()
        .filter_map(|o| o.as_ref().ok().map(|u| u.user_name.as_str()))
        .collect();
    let conflicts = outcomes
        .iter()
        .filter(|o| matches!(o, Err(Error::Conflict(_))))
        .count();
    assert_eq!(created.len(), 3, "{outcomes:?}");
    assert!(created.contains(&"grace@example.com") && created.contains(&"linus@example.com"));
    assert_eq!(
        conflicts, 3,
        "two more Adas and the taken name: {outcomes:?}"
    );
    assert!(
        matches!(outcomes[4], Err(Error::Gone)),
        "the orphan fails alone, as gone: {:?}",
        outcomes[4]
    );
    // Each created user came with its indexed email.
    let scim_token = app.token(&tenant).await;
    for name in created {
        let resp = app
            .client
            .get(format!(
                "/scim/{tenant}/v2/Users?filter=emails.value%20eq%20%22{name}%22"
            ))
            .header("Authorization", format!("Bearer {scim_token}"))
            .send()
            .await;
        assert_eq!(json_of(resp).await["totalResults"], 1, "{name}");
    }
}

/// What the statement taking a tenant's event lock on PostgreSQL says (the provisioning
/// log takes an advisory lock of its own).
const EVENT_LOCK: &str = "pg_advisory_xact_lock($1, hashtext($2))";

/// PostgreSQL: a tenant's creates that arrive while its job waits for the tenant's lock go
/// together in the next job (one transaction: one lock, one event lock) and keep their own
/// outcomes; creates for another tenant, or for one that is gone, do not wait for that lock.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_merges_a_tenants_waiting_creates_and_only_its_own() {
    let Some((app, statements)) = TestApp::recording(true).await else {
        return;
    };
    let db = app.state.db.clone();
    let acme = app.tenant_id("Acme").await;
    let other = app.tenant_id("Other").await;
    store_user(&db, &acme, "taken@example.com").await;
    let holder = db.reads().begin().await.unwrap();
    holder
        .execute_unprepared(&format!(
            "SELECT 1 FROM tenant WHERE id = '{acme}' FOR UPDATE"
        ))
        .await
        .unwrap();
    statements.clear();
    let now = chrono::Utc::now();
    let create = |tenant: &str, name: &str| {
        let (db, tenant, attrs) = (db.clone(), tenant.to_owned(), email_user(name));
        tokio::spawn(async move { server::store::users::create(&db, &tenant, &attrs, now).await })
    };
    // Statements are recorded once they have run: the first job's lock shows at the end.
    const LOCK: &str = "FOR NO KEY UPDATE";
    let holder_pid: i32 = holder
        .query_one_raw(sea_orm::Statement::from_string(
            sea_orm::DatabaseBackend::Postgres,
            "SELECT pg_backend_pid() AS pid",
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get("", "pid")
        .unwrap();
    let first = create(&acme, "first@example.com");
    let mut waits = 0;
    for _ in 0..1000 {
        let blocked = db
            .reads()
            .query_one_raw(sea_orm::Statement::from_sql_and_values(
                sea_orm::DatabaseBackend::Postgres,
                "SELECT count(*) AS n FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))",
                [holder_pid.into()],
            ))
            .await
            .unwrap()
            .unwrap();
        waits = blocked.try_get::<i64>("", "n").unwrap();
        if waits > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(waits, 1, "the first job waits for the lock");
    // Apart, so that only the lane (not their arriving together) can merge them.
    let mut waiting = Vec::new();
    for name in [
        "ada@example.com",
        "ADA@example.com",
        "grace@example.com",
        "Taken@example.com",
    ] {
        waiting.push(create(&acme, name));
        settle().await;
    }

    let elsewhere = create(&other, "ada@example.com").await.unwrap();
    assert!(
        elsewhere.is_ok(),
        "another tenant's create went on: {elsewhere:?}"
    );
    let orphan = create("no-such-tenant", "orphan@example.com")
        .await
        .unwrap();
    assert!(matches!(orphan, Err(Error::Gone)), "{orphan:?}");
    assert_eq!(
        statements.mentioning(LOCK),
        2,
        "the other two tenants' jobs ran; Acme's waiting creates have no job yet"
    );

    holder.rollback().await.unwrap();
    assert!(first.await.unwrap().is_ok());
    let mut outcomes = Vec::new();
    for create in waiting {
        outcomes.push(create.await.unwrap());
    }
    assert!(outcomes[0].is_ok(), "{outcomes:?}");
    assert!(
        matches!(outcomes[1], Err(Error::Conflict(_))),
        "{outcomes:?}"
    );
    assert!(outcomes[2].is_ok(), "{outcomes:?}");
    assert!(
        matches!(outcomes[3], Err(Error::Conflict(_))),
        "{outcomes:?}"
    );
    // Run one by one, the seven creates would take seven locks; a create that came late
    // on a busy machine may go in a job of its own.
    let locks = statements.mentioning(LOCK);
    assert!(
        locks < 7,
        "the four waiting creates went in one job: {locks} locks"
    );
    assert_eq!(
        statements.mentioning(EVENT_LOCK),
        locks - 1,
        "one event lock for each job that stored something"
    );
    // ada@, grace@, first@, taken@ (Acme) and ada@ (Other): each with its value and event.
    assert_each_user_stored_once(db.reads(), 5).await;
}

/// Runs `(group id, members to add, members to remove)` PATCHes of `tenant`, arriving 20 ms
/// apart in the order given, while they are held back: on SQLite by holding the writer (they
/// go in one batch), on PostgreSQL by a transaction locking the tenant's groups (the first
/// PATCH's job waits for it, the others for that job, and go together in the next). Their
/// outcomes in that order.
async fn member_changes_together(
    db: &Storage,
    tenant: &str,
    changes: impl IntoIterator<Item = (String, Vec<String>, Vec<String>)>,
) -> Vec<Result<server::store::groups::Patched, Error>> {
    let patches = changes.into_iter().map(|(group_id, add, remove)| {
        let (db, tenant) = (db.clone(), tenant.to_owned());
        async move {
            let now = chrono::Utc::now();
            server::store::groups::change_members(&db, &tenant, &group_id, add, remove, now).await
        }
    });
    let held = if db.backend() == sea_orm::DatabaseBackend::Postgres {
        let groups = format!("SELECT 1 FROM scim_group WHERE tenant_id = '{tenant}' FOR UPDATE");
        Held::rows(db, &groups).await
    } else {
        Held::writer(db).await
    };
    while_held(held, patches, std::time::Duration::from_millis(20)).await
}

/// PostgreSQL: a tenant's member PATCHes that arrive while its job waits for a group's lock
/// go together in the next job: one version bump for their group, one event lock.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_merges_a_tenants_waiting_member_changes() {
    let Some((app, statements)) = TestApp::recording(true).await else {
        return;
    };
    let acme = app.scim("Acme").await;
    let mut users = Vec::new();
    for name in ["u1", "u2", "u3", "u4"] {
        users.push(acme.user_id(name).await);
    }
    let group = acme.group_id("G").await;
    statements.clear();
    let changes = users
        .iter()
        .map(|user| (group.clone(), vec![user.clone()], vec![]));
    let outcomes = member_changes_together(&app.state.db, &acme.tenant, changes).await;
    let versions: Vec<i64> = outcomes
        .iter()
        .map(|outcome| outcome.as_ref().expect("patched").group.version)
        .collect();
    assert_eq!(versions, [2, 3, 4, 5]);
    // The first PATCH's job, then one for those that waited for it (on a busy machine the
    // first job may start late enough to take some of them, or one may come too late).
    let bumps = statements.mentioning("UPDATE \"scim_group\"");
    assert!(bumps < 4, "{bumps} version bumps for 4 PATCHes");
    assert_eq!(
        statements.mentioning(EVENT_LOCK),
        bumps,
        "one event lock a job"
    );
    let mut expected = users.clone();
    expected.sort();
    assert_eq!(acme.member_ids(&group).await, expected);
}

/// PostgreSQL: a job takes the tenant's event lock with its last statement, after every
/// group it touches, also those of changes that run alone (here one naming another tenant's
/// user). Taken before, the job would wait for a group while holding it, and a write
/// holding that group would wait for the event lock: a deadlock.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_jobs_take_the_event_lock_last() {
    let Some((app, statements)) = TestApp::recording(true).await else {
        return;
    };
    let acme = app.scim("Acme").await;
    let other = app.scim("Other").await;
    let (u1, u2) = (acme.user_id("u1").await, acme.user_id("u2").await);
    let foreign = other.user_id("x").await;
    let (g1, g2) = (acme.group_id("G1").await, acme.group_id("G2").await);
    statements.clear();
    let changes = [
        (g1.clone(), vec![u1], vec![]),
        (g1.clone(), vec![u2], vec![]),
        (g2.clone(), vec![foreign], vec![]),
    ];
    let outcomes = member_changes_together(&app.state.db, &acme.tenant, changes).await;
    assert!(outcomes[0].is_ok() && outcomes[1].is_ok(), "{outcomes:?}");
    assert!(
        matches!(outcomes[2], Err(Error::Invalid(_))),
        "{outcomes:?}"
    );
    let run = statements.0.lock().unwrap().clone();
    let last = |text: &str| run.iter().rposition(|sql| sql.contains(text));
    let (bump, event_lock) = (last("UPDATE \"scim_group\""), last(EVENT_LOCK));
    assert!(
        bump.is_some() && bump < event_lock,
        "the last group bump ({bump:?}) comes before the event lock ({event_lock:?})"
    );
}

/// Member-only PATCHes waiting together are applied together: each keeps its own outcome
/// and version, in arrival order, and a later PATCH naming a user wins over an earlier one.
async fn merged_member_changes_keep_order_and_each_outcome(app: TestApp) {
    let acme = app.scim("Acme").await;
    let other = app.scim("Other").await;
    let mut users = Vec::new();
    for name in ["u1", "u2", "u3", "u4"] {
        users.push(acme.user_id(name).await);
    }
    let foreign = other.user_id("x").await;
    let g1 = acme.group_id("G1").await;
    let g2 = acme.group_id("G2").await;
    for id in &users {
        // Cached reads of each user's groups, which the PATCHes must invalidate.
        acme.get(&format!("/Users/{id}"))
            .await
            .assert_status_is_ok();
    }
    let [u1, u2, u3, u4] = [0, 1, 2, 3].map(|i| users[i].clone());
    let changes = [
        (g1.clone(), vec![u1.clone(), u2.clone()], vec![]),
        (g1.clone(), vec![], vec![u1.clone()]),
        (g1.clone(), vec![foreign.clone()], vec![]),
        ("no-such-group".to_owned(), vec![u3.clone()], vec![]),
        (g2.clone(), vec![u1.clone(), u3.clone()], vec![]),
        (g1.clone(), vec![u3.clone()], vec![]),
        (g1.clone(), vec![u4.clone()], vec![u2.clone()]),
    ];
    let outcomes = member_changes_together(&app.state.db, &acme.tenant, changes).await;
    let versions: Vec<Option<i64>> = outcomes
        .iter()
        .map(|o| o.as_ref().ok().map(|g| g.group.version))
        .collect();
    assert_eq!(
        versions,
        [Some(2), Some(3), None, None, Some(2), Some(4), Some(5)],
        "{outcomes:?}"
    );
    // Who joined and left, each counted for the PATCH that made it, of its job's net
    // effect. On SQLite all went in one job, within which u1 and u2 joined and left again.
    // On PostgreSQL the first job may take one PATCH or more, so only what holds for any
    // grouping is checked: G1 went from no member to two.
    let changed: Vec<Option<(usize, usize)>> = outcomes
        .iter()
        .map(|o| o.as_ref().ok().map(|g| (g.joined, g.left)))
        .collect();
    if app.state.db.backend() == sea_orm::DatabaseBackend::Postgres {
        assert_eq!(changed[4..6], [Some((2, 0)), Some((1, 0))], "{outcomes:?}");
        let (joined, left) = [0, 1, 5, 6]
            .map(|index| changed[index].expect("patched"))
            .iter()
            .fold((0, 0), |(j, l), (joined, left)| (j + joined, l + left));
        assert_eq!(joined - left, 2, "{outcomes:?}");
    } else {
        assert_eq!(
            changed,
            [
                Some((0, 0)),
                Some((0, 0)),
                None,
                None,
                Some((2, 0)),
                Some((1, 0)),
                Some((1, 0))
            ],
            "{outcomes:?}"
        );
    }
    assert!(
        matches!(&outcomes[2], Err(Error::Invalid(m)) if m.contains(&foreign)),
        "{outcomes:?}"
    );
    assert!(
        matches!(outcomes[3], Err(Error::NotFound { .. })),
        "{outcomes:?}"
    );
    let sorted = |mut ids: Vec<String>| {
        ids.sort();
        ids
    };
    let resp = acme.get(&format!("/Groups/{g1}")).await;
    assert_eq!(resp.0.headers()["etag"], "W/\"5\"");
    assert_eq!(
        acme.member_ids(&g1).await,
        sorted(vec![u3.clone(), u4.clone()])
    );
    assert_eq!(
        acme.member_ids(&g2).await,
        sorted(vec![u1.clone(), u3.clone()])
    );
    let groups_of = |body: Value| -> Vec<String> {
        let mut names: Vec<String> = body["groups"]
            .as_array()
            .map(|g| {
                g.iter()
                    .map(|g| g["display"].as_str().unwrap().to_owned())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    };
    for (id, expected) in [
        (&u1, vec!["G2"]),
        (&u2, vec![]),
        (&u3, vec!["G1", "G2"]),
        (&u4, vec!["G1"]),
    ] {
        let body = json_of(acme.get(&format!("/Users/{id}")).await).await;
        assert_eq!(groups_of(body), expected, "groups of {id}");
    }
}

/// The merged job's savepoint opens with the first group's version bump; when that group
/// is gone (its id sorts first here), the savepoint is still released with the events and
/// the other group's change stands.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merged_member_job_whose_first_group_is_gone_keeps_the_others() {
    let app = TestApp::sqlite().await;
    let acme = app.scim("Acme").await;
    let (ada, bob) = (acme.user_id("ada").await, acme.user_id("bob").await);
    let group = acme.group_id("G").await;
    let gone = "0-gone".to_owned();
    assert!(gone < group, "the gone group is the first of the job");
    let changes = [
        (gone, vec![ada.clone()], vec![]),
        (group.clone(), vec![bob.clone()], vec![]),
    ];
    let outcomes = member_changes_together(&app.state.db, &acme.tenant, changes).await;
    assert!(
        matches!(outcomes[0], Err(Error::NotFound { .. })),
        "{outcomes:?}"
    );
    assert_eq!(outcomes[1].as_ref().map(|g| g.group.version).ok(), Some(2));
    assert_eq!(acme.member_ids(&group).await, [bob]);
    let later = member_changes_together(
        &app.state.db,
        &acme.tenant,
        [(group.clone(), vec![ada.clone()], vec![])],
    )
    .await;
    assert_eq!(later[0].as_ref().map(|g| g.group.version).ok(), Some(3));
}

/// A merged member job sends SQLite's thread one trip per group for the version bump
/// (which also says whether the group is mapped), one for the members, and one for all
/// the events; its savepoint opens with the first bump and is released with the events.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merged_member_job_costs_two_trips_a_group_and_one_for_its_events() {
    let (app, statements) = TestApp::recording(false).await.unwrap();
    let acme = app.scim("Acme").await;
    let mut users = Vec::new();
    for n in 0..4 {
        users.push(acme.user_id(&format!("u{n}")).await);
    }
    let groups = [acme.group_id("G1").await, acme.group_id("G2").await];
    for user in &users {
        // Every user known to the cache, as after its create: the job reads no user.
        acme.get(&format!("/Users/{user}"))
            .await
            .assert_status_is_ok();
    }
    statements.clear();
    let changes = users.chunks(2).zip(&groups).flat_map(|(pair, group)| {
        pair.iter()
            .map(|user| (group.clone(), vec![user.clone()], vec![]))
    });
    let outcomes = member_changes_together(&app.state.db, &acme.tenant, changes).await;
    assert!(outcomes.iter().all(Result::is_ok), "{outcomes:?}");

    let sent: Vec<String> = statements
        .0
        .lock()
        .unwrap()
        .iter()
        .filter(|sql| !sql.contains("activity_entry"))
        .cloned()
        .collect();
    fn kind(sql: &str) -> &str {
        let sql = sql.trim_start_matches("SAVEPOINT member_changes;\n");
        if sql.contains("INSERT INTO \"group_member\"") {
            return "INSERT INTO \"group_member\"";
        }
        ["UPDATE \"scim_group\"", "INSERT INTO \"change_event\""]
            .into_iter()
            .find(|start| sql.starts_with(start))
            .unwrap_or(sql)
    }
    let kinds: Vec<&str> = sent.iter().map(|sql| kind(sql)).collect();
    assert_eq!(
        kinds,
        [
            "UPDATE \"scim_group\"",
            "INSERT INTO \"group_member\"",
            "UPDATE \"scim_group\"",
            "INSERT INTO \"group_member\"",
            "INSERT INTO \"change_event\"",
        ],
        "{sent:#?}"
    );
    assert!(
        sent[0].starts_with("SAVEPOINT member_changes;\n"),
        "{sent:#?}"
    );
    assert!(sent[4].ends_with("RELEASE member_changes"), "{sent:#?}");
    // Who joined comes back as one row, not as a row per member (each a thread wake-up).
    for members in [&sent[1], &sent[3]] {
        assert!(
            members.contains("json_group_array") && !members.contains("RETURNING"),
            "{members}"
        );
    }
    for group in &groups {
        assert_eq!(acme.member_ids(group).await.len(), 2);
    }
}

/// A merged member job naming a user already in the group leaves it as it was: only the
/// newcomer joins, once, and only its joining is an event.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merged_member_job_tells_only_of_those_who_joined() {
    use sea_orm::{DatabaseBackend, Statement};

    let (app, statements) = TestApp::recording(false).await.unwrap();
    let acme = app.scim("Acme").await;
    let (member, newcomer) = (acme.user_id("member").await, acme.user_id("newcomer").await);
    let group = acme.group_id("G").await;
    let first = member_changes_together(
        &app.state.db,
        &acme.tenant,
        [(group.clone(), vec![member.clone()], vec![])],
    )
    .await;
    assert!(first[0].is_ok(), "{first:?}");
    statements.clear();
    let outcomes = member_changes_together(
        &app.state.db,
        &acme.tenant,
        [
            (
                group.clone(),
                vec![member.clone(), newcomer.clone()],
                vec![],
            ),
            (group.clone(), vec![newcomer.clone()], vec![]),
        ],
    )
    .await;
    assert!(outcomes.iter().all(Result::is_ok), "{outcomes:?}");
    let sent = statements.0.lock().unwrap().clone();
    let members_sent: Vec<&String> = sent
        .iter()
        .filter(|sql| sql.contains("INSERT INTO \"group_member\""))
        .collect();
    assert!(
        members_sent.len() == 1
            && members_sent[0].contains("json_group_array")
            && !members_sent[0].contains("RETURNING"),
        "merged, not one by one: {sent:#?}"
    );

    let mut members = acme.member_ids(&group).await;
    members.sort();
    let mut both = vec![member.clone(), newcomer.clone()];
    both.sort();
    assert_eq!(members, both);
    let rows = app
        .raw_connection()
        .await
        .query_all_raw(Statement::from_string(
            DatabaseBackend::Sqlite,
            "SELECT subject_id FROM change_event WHERE kind = 'group.member_added' ORDER BY id",
        ))
        .await
        .unwrap();
    let joined: Vec<String> = rows
        .iter()
        .map(|row| row.try_get("", "subject_id").unwrap())
        .collect();
    assert_eq!(joined, [member, newcomer]);
}

/// Three users (the middle one's membership insert `raise`s, by a trigger) each added to
/// group G by a PATCH of its own, the three merged; the outcomes, the members then, and the
/// three user ids.
async fn three_members_the_second_raising(
    raise: &str,
) -> (
    Vec<Result<server::store::groups::Patched, Error>>,
    Vec<String>,
    Vec<String>,
    String,
) {
    let app = TestApp::sqlite().await;
    let acme = app.scim("Acme").await;
    let mut users = Vec::new();
    for name in ["u1", "raising", "u2"] {
        users.push(acme.user_id(name).await);
    }
    let group = acme.group_id("G").await;
    app.raw_connection()
        .await
        .execute_unprepared(&format!(
            "CREATE TRIGGER raising BEFORE INSERT ON group_member \
             WHEN NEW.user_id = '{}' BEGIN SELECT RAISE({raise}, 'injected failure'); END",
            users[1]
        ))
        .await
        .unwrap();
    let changes = users
        .iter()
        .map(|id| (group.clone(), vec![id.clone()], vec![]));
    let outcomes = member_changes_together(&app.state.db, &acme.tenant, changes).await;
    let members = acme.member_ids(&group).await;
    let etag = acme.get(&format!("/Groups/{group}")).await.0.headers()["etag"]
        .to_str()
        .unwrap()
        .to_owned();
    (outcomes, members, users, etag)
}

/// When the merged membership statement fails, each PATCH runs alone: only the one that
/// cannot be stored fails, the others keep their versions in arrival order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_merged_member_change_fails_alone() {
    let (outcomes, members, users, etag) = three_members_the_second_raising("ABORT").await;
    let versions: Vec<_> = outcomes
        .iter()
        .map(|o| o.as_ref().map(|g| g.group.version))
        .collect();
    assert!(
        matches!(versions[..], [Ok(2), Err(_), Ok(3)]),
        "{versions:?}"
    );
    let mut expected = vec![users[0].clone(), users[2].clone()];
    expected.sort();
    assert_eq!(members, expected);
    assert_eq!(etag, "W/\"3\"");
}

/// When SQLite rolls the transaction back on its own during the merged membership
/// statement (here a trigger), the PATCHes are not run one by one outside it: the batch
/// fails whole, no member is added and the group keeps its version.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merged_member_change_that_loses_the_transaction_stores_nothing() {
    let (outcomes, members, _, etag) = three_members_the_second_raising("ROLLBACK").await;
    for outcome in &outcomes {
        assert!(
            matches!(outcome, Err(Error::Unavailable { .. })),
            "{outcomes:?}"
        );
    }
    assert_eq!(members, Vec::<String>::new());
    assert_eq!(etag, "W/\"1\"");
}

/// Committed pages are copied from the WAL into the database file by the checkpointer,
/// not by the commit that happens to cross SQLite's threshold.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn committed_writes_are_checkpointed_into_the_database_file() {
    let app = TestApp::sqlite().await;
    let file = app.sqlite_file().unwrap();
    insert_tenant(&app.state.db, "checkpointed").await.unwrap();
    let copy = tempfile::tempdir().unwrap();
    let mut names = Vec::new();
    for _ in 0..100 {
        // Only the main file, as if the WAL were lost: it holds what was checkpointed.
        std::fs::copy(&file, copy.path().join("scim.db")).unwrap();
        let db =
            sea_orm::Database::connect(server::store::db::sqlite_url(&copy.path().join("scim.db")))
                .await
                .unwrap();
        // Before the first checkpoint the file may not even hold the tables.
        names = tenant::Entity::find()
            .all(&db)
            .await
            .unwrap_or_default()
            .into_iter()
            .map(|t| t.name)
            .collect();
        db.close().await.unwrap();
        let _ = std::fs::remove_file(copy.path().join("scim.db-wal"));
        if !names.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(names, ["checkpointed"]);
}
