//! Statements that do not need each other's results, sent to SQLite's thread together.
//! Every statement otherwise costs a round trip to that thread (two thread wake-ups, the
//! dominant cost of a small write there); sqlx runs a text of several statements in one
//! trip, binding the parameters in order across them. The statements run inside a
//! savepoint of their own, so they stand or fall together: if one fails, what those before
//! it did is rolled back and the caller gets the error. Parameters must be bare `?` (as
//! sea-query writes them for SQLite): a numbered one counts from the start of the text.

use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseTransaction, Statement, Value};

use crate::error::Error;

const SAVEPOINT: &str = "one_trip";

pub struct OneTrip {
    sql: String,
    values: Vec<Value>,
}

impl Default for OneTrip {
    fn default() -> Self {
        Self {
            sql: format!("SAVEPOINT {SAVEPOINT};\n"),
            values: Vec::new(),
        }
    }
}

impl OneTrip {
    /// Adds a statement built for SQLite (its parameters are `?`, bound in order).
    pub fn push(&mut self, statement: Statement) {
        debug_assert_eq!(statement.db_backend, DatabaseBackend::Sqlite);
        self.sql.push_str(&statement.sql);
        self.sql.push_str(";\n");
        if let Some(values) = statement.values {
            self.values.extend(values.0);
        }
    }

    /// Runs every statement pushed, all or none: `Ok(Err(_))` when one failed and the
    /// others were undone, so the transaction goes on as before the trip. `Err(_)` when
    /// they could not be undone (SQLite rolled the whole transaction back on its own, as it
    /// does on a full disk): nothing more may be written in this transaction.
    pub async fn run(mut self, txn: &DatabaseTransaction) -> Result<Result<(), Error>, Error> {
        self.sql.push_str(&format!("RELEASE {SAVEPOINT}"));
        let statement =
            Statement::from_sql_and_values(DatabaseBackend::Sqlite, self.sql, self.values);
        let Err(failed) = txn.execute_raw(statement).await else {
            return Ok(Ok(()));
        };
        // The statements after the failed one never ran; the savepoint is still open.
        match txn
            .execute_unprepared(&format!("ROLLBACK TO {SAVEPOINT}; RELEASE {SAVEPOINT}"))
            .await
        {
            Ok(_) => Ok(Err(failed.into())),
            Err(lost) => {
                tracing::error!(error = %failed, rollback = %lost, "a write could not be undone; its transaction is gone");
                Err(Error::commit_failed())
            }
        }
    }
}
