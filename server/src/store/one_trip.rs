//! Statements that do not need each other's results, sent to SQLite's thread together.
//! Every statement otherwise costs a round trip to that thread (two thread wake-ups, the
//! dominant cost of a small write there); sqlx runs a text of several statements in one
//! trip, binding the parameters in order across them. Parameters must be bare `?` (as
//! sea-query writes them for SQLite): a numbered one counts from the start of the text.
//!
//! Two ways to use it: a `OneTrip` runs its statements inside a savepoint of its own, so
//! they stand or fall together; a `CarriedSavepoint` spans several trips but costs none of
//! its own, opened in the text of its first statement and released in that of its last.

use sea_orm::{
    ConnectionTrait, DatabaseBackend, DatabaseTransaction, QueryResult, Statement, Value,
};

use crate::error::Error;

const SAVEPOINT: &str = "one_trip";

/// Statements as one text.
#[derive(Default)]
struct Text {
    sql: String,
    values: Vec<Value>,
}

impl Text {
    fn sql(mut self, sql: &str) -> Self {
        self.sql.push_str(sql);
        self.sql.push_str(";\n");
        self
    }

    fn push(&mut self, statement: Statement) {
        debug_assert_eq!(statement.db_backend, DatabaseBackend::Sqlite);
        self.sql.push_str(&statement.sql);
        self.sql.push_str(";\n");
        if let Some(values) = statement.values {
            self.values.extend(values.0);
        }
    }

    fn statement(self) -> Statement {
        Statement::from_sql_and_values(DatabaseBackend::Sqlite, self.sql, self.values)
    }
}

/// Rolls back to `savepoint` and ends it, after a failure inside it. `Err` when that
/// cannot be done: SQLite rolled the whole transaction back on its own (as it does on a
/// full disk), and nothing more may be written in it.
async fn undo(
    txn: &DatabaseTransaction,
    savepoint: &str,
    failed: &(dyn std::fmt::Display + Sync),
) -> Result<(), Error> {
    match txn
        .execute_unprepared(&format!("ROLLBACK TO {savepoint}; RELEASE {savepoint}"))
        .await
    {
        Ok(_) => Ok(()),
        Err(lost) => {
            tracing::error!(error = %failed, rollback = %lost, "a failed write could not be rolled back to its savepoint; its transaction is taken as gone");
            Err(Error::commit_failed())
        }
    }
}

/// `statements` as one text, to run in one trip (no savepoint of its own).
pub fn together(statements: impl IntoIterator<Item = Statement>) -> Statement {
    let mut text = Text::default();
    statements
        .into_iter()
        .for_each(|statement| text.push(statement));
    text.statement()
}

/// The strings of a JSON array in `column` of the first row: what a trip's one `SELECT
/// json_group_array(…)` answered, where rows of `RETURNING` would each wake the writer.
pub fn json_list(rows: &[QueryResult], column: &str) -> Result<Vec<String>, Error> {
    let Some(row) = rows.first() else {
        return Err(Error::Internal(anyhow::anyhow!("no answer in {column}")));
    };
    let list: String = row.try_get("", column)?;
    serde_json::from_str(&list).map_err(|err| Error::Internal(err.into()))
}

pub struct OneTrip(Text);

impl Default for OneTrip {
    fn default() -> Self {
        Self(Text::default().sql(&format!("SAVEPOINT {SAVEPOINT}")))
    }
}

impl OneTrip {
    /// Adds a statement built for SQLite (its parameters are `?`, bound in order).
    pub fn push(&mut self, statement: Statement) {
        self.0.push(statement);
    }

    /// Runs every statement pushed, all or none: `Ok(Err(_))` when one failed and the
    /// others were undone, so the transaction goes on as before the trip. `Err(_)` when
    /// they could not be undone (SQLite rolled the whole transaction back on its own, as it
    /// does on a full disk): nothing more may be written in this transaction.
    pub async fn run(mut self, txn: &DatabaseTransaction) -> Result<Result<(), Error>, Error> {
        self.0.sql.push_str(&format!("RELEASE {SAVEPOINT}"));
        let Err(failed) = txn.execute_raw(self.0.statement()).await else {
            return Ok(Ok(()));
        };
        // The statements after the failed one never ran; the savepoint is still open.
        undo(txn, SAVEPOINT, &failed).await?;
        Ok(Err(failed.into()))
    }
}

/// A savepoint over several trips that costs none of its own: the first statement `run`
/// in it opens it in the same text, and `release` sends it with the last statements.
/// After a failure in between, `undo`.
pub struct CarriedSavepoint {
    name: &'static str,
    opened: bool,
}

impl CarriedSavepoint {
    pub fn new(name: &'static str) -> Self {
        Self {
            name,
            opened: false,
        }
    }

    /// Runs `statement` in the savepoint, in one trip (opening the savepoint with the
    /// first); the rows it returns.
    pub async fn run(
        &mut self,
        txn: &DatabaseTransaction,
        statement: Statement,
    ) -> Result<Vec<QueryResult>, Error> {
        if std::mem::replace(&mut self.opened, true) {
            return Ok(txn.query_all_raw(statement).await?);
        }
        let mut text = Text::default().sql(&format!("SAVEPOINT {}", self.name));
        text.push(statement);
        Ok(txn.query_all_raw(text.statement()).await?)
    }

    /// Runs `last` and releases the savepoint, in one trip.
    pub async fn release(
        &self,
        txn: &DatabaseTransaction,
        last: impl IntoIterator<Item = Statement>,
    ) -> Result<(), Error> {
        let mut text = Text::default();
        last.into_iter().for_each(|statement| text.push(statement));
        if self.opened {
            text.sql.push_str(&format!("RELEASE {}", self.name));
        }
        if text.sql.is_empty() {
            return Ok(());
        }
        txn.execute_raw(text.statement()).await?;
        Ok(())
    }

    /// Takes back what ran inside the savepoint, after `failed`; as `OneTrip::run`'s outer
    /// error, `Err` when the transaction is gone.
    pub async fn undo(
        self,
        txn: &DatabaseTransaction,
        failed: &(dyn std::fmt::Display + Sync),
    ) -> Result<(), Error> {
        if !self.opened {
            return Ok(());
        }
        undo(txn, self.name, failed).await
    }
}
