//! Per-tenant request counts shared by the replicas of one PostgreSQL deployment: each
//! replica adds what it counted since its last report to the window's row and reads back
//! the total of every replica (`rate_limit_window`).

use sea_orm::{ConnectionTrait, DatabaseBackend, Statement, Value};

use super::{Storage, chunks::chunks};
use crate::error::Error;

/// Adds each `(tenant, requests)` to `window`'s totals and returns the new totals.
pub async fn add(
    db: &Storage,
    window: i64,
    counts: Vec<(String, i64)>,
) -> Result<Vec<(String, i64)>, Error> {
    if counts.is_empty() {
        return Ok(Vec::new());
    }
    db.write(move |txn| {
        Box::pin(async move {
            let mut totals = Vec::with_capacity(counts.len());
            for chunk in chunks(counts, ROWS_PER_STATEMENT) {
                totals.extend(add_chunk(txn, window, chunk).await?);
            }
            Ok(totals)
        })
    })
    .await
}

/// Tenants per statement: few distinct statement texts, far under PostgreSQL's 65,535
/// parameters.
const ROWS_PER_STATEMENT: usize = 256;

async fn add_chunk(
    txn: &impl ConnectionTrait,
    window: i64,
    counts: Vec<(String, i64)>,
) -> Result<Vec<(String, i64)>, Error> {
    let mut rows = Vec::with_capacity(counts.len());
    let mut values: Vec<Value> = Vec::with_capacity(counts.len() * 3);
    for (at, (tenant, used)) in counts.into_iter().enumerate() {
        let first = at * 3 + 1;
        rows.push(format!("(${first}, ${}, ${})", first + 1, first + 2));
        values.extend([tenant.into(), window.into(), used.into()]);
    }
    let sql = format!(
        "INSERT INTO rate_limit_window (tenant_id, window_index, used) VALUES {} \
         ON CONFLICT (tenant_id, window_index) \
         DO UPDATE SET used = rate_limit_window.used + EXCLUDED.used \
         RETURNING tenant_id, used",
        rows.join(", ")
    );
    let totals = txn
        .query_all_raw(Statement::from_sql_and_values(
            DatabaseBackend::Postgres,
            sql,
            values,
        ))
        .await?;
    let read = totals
        .iter()
        .map(|row| Ok((row.try_get("", "tenant_id")?, row.try_get("", "used")?)))
        .collect::<Result<Vec<_>, sea_orm::DbErr>>()?;
    Ok(read)
}

/// Deletes the rows of windows before `window`.
pub async fn forget_before(db: &Storage, window: i64) -> Result<(), Error> {
    db.write(move |txn| {
        Box::pin(async move {
            txn.execute_raw(Statement::from_sql_and_values(
                DatabaseBackend::Postgres,
                "DELETE FROM rate_limit_window WHERE window_index < $1",
                [window.into()],
            ))
            .await?;
            Ok(())
        })
    })
    .await
}
