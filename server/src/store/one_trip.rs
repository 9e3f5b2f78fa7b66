//! Statements that do not need each other's results, sent to SQLite's thread together.
//! Every statement otherwise costs a round trip to that thread (two thread wake-ups, the
//! dominant cost of a small write there); sqlx runs a text of several statements in one
//! trip, binding the parameters in order across them. The statements run inside a
//! savepoint of their own, so they stand or fall together: if one fails, what those before
//! it did is rolled back and the caller gets the error.

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

    /// Runs every statement pushed, all or none.
    pub async fn run(mut self, txn: &DatabaseTransaction) -> Result<(), Error> {
        self.sql.push_str(&format!("RELEASE {SAVEPOINT}"));
        let statement =
            Statement::from_sql_and_values(DatabaseBackend::Sqlite, self.sql, self.values);
        match txn.execute_raw(statement).await {
            Ok(_) => Ok(()),
            Err(err) => {
                // The statements after the failed one never ran; the savepoint is still open.
                txn.execute_unprepared(&format!("ROLLBACK TO {SAVEPOINT}; RELEASE {SAVEPOINT}"))
                    .await?;
                Err(err.into())
            }
        }
    }
}
