//! The plain value of a token or key is never stored: not in any column, not in the
//! SQLite file or its write-ahead log.

use sea_orm::{ConnectionTrait, Statement};
use serde_json::json;

use crate::helpers::{Backing, TestApp, json_of};

on_every_backend!(plain_credentials_appear_nowhere_in_the_database);

async fn plain_credentials_appear_nowhere_in_the_database(app: TestApp) {
    let tenant = app.tenant_id("Acme").await;
    let token = app.issue_token(&tenant, json!({ "name": "entra" })).await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let resp = app
        .admin_post(
            &app.operator_key,
            &format!("/admin/v1/tenants/{tenant}/admin-keys"),
            json!({}),
        )
        .await;
    let key = json_of(resp).await["key"].as_str().unwrap().to_owned();
    let resp = app
        .admin_post(&app.operator_key, "/admin/v1/operator-keys", json!({}))
        .await;
    let operator_key = json_of(resp).await["key"].as_str().unwrap().to_owned();
    // Use them, so usage bookkeeping has run too.
    app.spc(&tenant, &token).await.assert_status_is_ok();
    for used in [&key, &operator_key] {
        app.admin_get(used, "/admin/v1/tenants")
            .await
            .assert_status_is_ok();
    }
    app.state.auth.flush_usage().await.unwrap();

    let secrets: Vec<String> = [&token, &key, &operator_key, &app.operator_key]
        .iter()
        .flat_map(|plain| [plain.to_string(), plain[38..].to_owned()])
        .collect();

    let backend = app.state.db.backend();
    let credential_columns = [
        "id",
        "tenant_id",
        "name",
        "secret_hash",
        "created_at",
        "expires_at",
        "revoked_at",
        "last_used_at",
    ];
    let tables: [(&str, &[&str]); 3] = [
        ("tenant", &["id", "name", "name_lc", "created_at"]),
        ("scim_token", &credential_columns),
        ("admin_key", &credential_columns),
    ];
    let mut dump = String::new();
    for (table, columns) in tables {
        let row_text = columns
            .iter()
            .map(|c| format!("COALESCE(CAST({c} AS TEXT), '')"))
            .collect::<Vec<_>>()
            .join(" || '|' || ");
        let rows = app
            .state
            .db
            .reads()
            .query_all_raw(Statement::from_string(
                backend,
                format!("SELECT {row_text} FROM {table}"),
            ))
            .await
            .unwrap();
        assert!(!rows.is_empty(), "{table} has rows");
        for row in rows {
            dump.push_str(&row.try_get_by_index::<String>(0).unwrap());
            dump.push('\n');
        }
    }
    assert!(
        dump.contains("$argon2id$"),
        "secrets are stored as argon2id PHC strings"
    );
    for secret in &secrets {
        assert!(
            !dump.contains(secret.as_str()),
            "found a plain credential in the database"
        );
    }

    if let Backing::Sqlite(dir) = &app.database {
        for entry in std::fs::read_dir(dir.path()).unwrap() {
            let bytes = std::fs::read(entry.unwrap().path()).unwrap();
            let text = String::from_utf8_lossy(&bytes);
            for secret in &secrets {
                assert!(
                    !text.contains(secret.as_str()),
                    "found a plain credential in a database file"
                );
            }
        }
    }
}
