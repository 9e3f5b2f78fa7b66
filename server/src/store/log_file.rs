//! The provisioning log's own file on embedded SQLite (see `migration::ActivityLogMigrator`
//! for why it has one): where it is, and moving the entries an earlier version kept in the
//! main file into it. The main file's table is left empty, not dropped: the schema's
//! migrations are shared with PostgreSQL, which keeps the log beside the resources.

use sea_orm::{ConnectionTrait, DatabaseBackend, Statement, TransactionTrait};

use super::db;
use crate::{config::StorageSettings, error::Error};

/// Entries moved per transaction: a long log moves in steps, each a short write.
const MOVED_AT_ONCE: i64 = 10_000;

/// The log's file beside the main file `url` names (`scim.db` keeps its log in
/// `scim-activity.db`), with the same options; none for an in-memory database, whose log
/// stays with the rest.
pub fn url(url: &str) -> Option<String> {
    let file = db::sqlite_file(url)?;
    let stem = file.file_stem()?.to_string_lossy();
    let name = match file.extension() {
        Some(extension) => format!("{stem}-activity.{}", extension.to_string_lossy()),
        None => format!("{stem}-activity"),
    };
    let log = file.with_file_name(name);
    Some(match url.split_once('?') {
        Some((_, options)) => format!("sqlite://{}?{options}", log.display()),
        None => db::sqlite_url(&log),
    })
}

/// Moves every entry of the main file's log into the log's own file, oldest first, keeping
/// their ids. Each step copies entries and deletes them from the main file; the two files
/// commit apart, so a step cut short by a crash may leave entries in both, which the next
/// start copies again without duplicating (`OR IGNORE`) and deletes.
pub async fn move_entries(
    main_url: &str,
    log_url: &str,
    settings: &StorageSettings,
) -> Result<u64, Error> {
    let main = db::connect_sqlite(main_url, settings, db::SqliteRole::Writer).await?;
    let moved = move_with(&main, log_url).await;
    main.close().await?;
    moved
}

async fn move_with(main: &sea_orm::DatabaseConnection, log_url: &str) -> Result<u64, Error> {
    let any = main
        .query_one_raw(Statement::from_string(
            DatabaseBackend::Sqlite,
            "SELECT 1 FROM activity_entry LIMIT 1",
        ))
        .await?;
    if any.is_none() {
        return Ok(0);
    }
    let Some(log_file) = db::sqlite_file(log_url) else {
        return Ok(0);
    };
    main.execute_raw(Statement::from_sql_and_values(
        DatabaseBackend::Sqlite,
        "ATTACH DATABASE ? AS activity_log",
        [log_file.to_string_lossy().into_owned().into()],
    ))
    .await?;
    let columns = "id, at, tenant_id, token_id, client_address, user_agent, method, path, \
                   query, resource_type, resource_id, operation, status, scim_type, latency_us, \
                   idp, summary, request_body, response_body, request_id, quirks";
    let mut moved = 0;
    loop {
        let step = main.begin().await?;
        let last = step
            .query_one_raw(Statement::from_sql_and_values(
                DatabaseBackend::Sqlite,
                "SELECT max(id) FROM (SELECT id FROM main.activity_entry ORDER BY id LIMIT ?)",
                [MOVED_AT_ONCE.into()],
            ))
            .await?
            .and_then(|row| row.try_get_by_index::<Option<i64>>(0).ok().flatten());
        let Some(last) = last else {
            step.commit().await?;
            break;
        };
        step.execute_raw(Statement::from_sql_and_values(
            DatabaseBackend::Sqlite,
            format!(
                "INSERT OR IGNORE INTO activity_log.activity_entry ({columns}) \
                 SELECT {columns} FROM main.activity_entry WHERE id <= ?"
            ),
            [last.into()],
        ))
        .await?;
        let deleted = step
            .execute_raw(Statement::from_sql_and_values(
                DatabaseBackend::Sqlite,
                "DELETE FROM main.activity_entry WHERE id <= ?",
                [last.into()],
            ))
            .await?;
        step.commit().await?;
        moved += deleted.rows_affected();
    }
    main.execute_unprepared("DETACH DATABASE activity_log")
        .await?;
    Ok(moved)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Storage;

    async fn ids_in(db: &sea_orm::DatabaseConnection) -> Vec<i64> {
        db.query_all_raw(Statement::from_string(
            DatabaseBackend::Sqlite,
            "SELECT id FROM activity_entry ORDER BY id",
        ))
        .await
        .expect("reads")
        .iter()
        .map(|row| row.try_get_by_index::<i64>(0).expect("an id"))
        .collect()
    }

    async fn insert_entries(url: &str, ids: &[i64]) {
        let db = db::connect_sqlite(url, &StorageSettings::default(), db::SqliteRole::Writer)
            .await
            .expect("opens");
        for id in ids {
            db.execute_raw(Statement::from_sql_and_values(
                DatabaseBackend::Sqlite,
                "INSERT INTO activity_entry (id, at, client_address, method, path, operation, \
                 status, latency_us, idp, summary, request_id) \
                 VALUES (?, '2026-12-01T00:00:00Z', '127.0.0.1', 'GET', '/scim/t/v2/Users', \
                 'list', 200, 1, 'other', 'listed', 'r')",
                [(*id).into()],
            ))
            .await
            .expect("inserts");
        }
        db.close().await.expect("closes");
    }

    /// An earlier version kept the log in the main file; a move cut short by a crash left
    /// one entry in both files.
    #[tokio::test]
    async fn entries_kept_in_the_main_file_move_once_and_keep_their_ids() {
        let dir = tempfile::tempdir().expect("a directory");
        let main_url = db::sqlite_url(&dir.path().join("scim.db"));
        let log_url = url(&main_url).expect("a file");
        let settings = StorageSettings::default();
        Storage::open(&main_url, &settings)
            .await
            .expect("opens")
            .close()
            .await;
        insert_entries(&main_url, &[5, 6, 7]).await;
        insert_entries(&log_url, &[6]).await;

        let storage = Storage::open(&main_url, &settings).await.expect("reopens");
        let log = storage.activity_log().reads();
        assert_eq!(ids_in(log).await, [5, 6, 7]);
        assert_eq!(ids_in(storage.reads()).await, Vec::<i64>::new());
        // New entries come after the moved ones.
        storage
            .activity_log()
            .write(|txn| {
                Box::pin(async move {
                    txn.execute_unprepared(
                        "INSERT INTO activity_entry (at, client_address, method, path, \
                         operation, status, latency_us, idp, summary) VALUES \
                         ('2026-12-02T00:00:00Z', '127.0.0.1', 'GET', '/scim', 'get', 200, 1, \
                         'other', 'new')",
                    )
                    .await?;
                    Ok(())
                })
            })
            .await
            .expect("written");
        assert_eq!(ids_in(log).await, [5, 6, 7, 8]);
        storage.close().await;
    }

    #[test]
    fn the_log_lives_beside_the_main_file() {
        assert_eq!(
            url("sqlite:///var/lib/scim/scim.db?mode=rwc").as_deref(),
            Some("sqlite:///var/lib/scim/scim-activity.db?mode=rwc")
        );
        assert_eq!(
            url("sqlite:data/store").as_deref(),
            Some("sqlite://data/store-activity?mode=rwc")
        );
        assert_eq!(url("sqlite::memory:"), None);
        assert_eq!(url("sqlite://file:x?mode=memory&cache=shared"), None);
    }
}
