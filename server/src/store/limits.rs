//! Enforcing what one tenant may hold (`TenantLimits`). Counts are taken inside the
//! creating transaction: on SQLite the single writer makes them exact, on PostgreSQL the
//! tenant's row lock does (creates of one tenant wait for each other's commit there).
//! Users, created far more often than the rest, are counted by the database as they come
//! and go (`tenant.user_count`), so checking costs one row whatever the tenant's size. On
//! SQLite the write connection also refuses a user past the limit by itself
//! (`guard_users`), so merged creates need not count before they insert.

use entity::{group_mapping, scim_group, tenant};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QuerySelect, sqlx,
};

use super::tenants;
use crate::error::Error;

/// What a tenant is over its limit of.
#[derive(Debug, Clone, Copy)]
pub enum Held {
    Users,
    Groups,
    MappedGroups,
}

impl Held {
    fn name(self) -> &'static str {
        match self {
            Self::Users => "users",
            Self::Groups => "groups",
            Self::MappedGroups => "mapped groups",
        }
    }
}

pub fn reached(held: Held, limit: u64) -> Error {
    Error::LimitReached(format!(
        "tenant limit reached: at most {limit} {} per tenant; nothing was created (delete some, or ask the operator to raise the limit)",
        held.name()
    ))
}

/// Makes SQLite's write connection refuse, with an error, to insert a user past its
/// tenant's `limit`. Merged creates then go in without counting first, which saves a round
/// trip to SQLite's thread in every batch; only a trip that fails counts
/// (`user_creates.rs`). A temporary trigger lives and dies with its connection, so it
/// always holds the running server's limit. Before the migrations made the tables it does
/// nothing: `Storage` calls it again once they ran.
pub async fn guard_users(
    connection: &mut sqlx::sqlite::SqliteConnection,
    limit: u64,
) -> Result<(), sqlx::Error> {
    let tables: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM main.sqlite_master \
         WHERE type = 'table' AND name IN ('tenant', 'scim_user')",
    )
    .fetch_one(&mut *connection)
    .await?;
    if tables < 2 {
        return Ok(());
    }
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let guard = format!(
        "CREATE TEMP TRIGGER IF NOT EXISTS users_within_limit \
         BEFORE INSERT ON main.scim_user \
         WHEN (SELECT user_count FROM main.tenant WHERE id = NEW.tenant_id) >= {limit} \
         BEGIN SELECT RAISE(ABORT, 'tenant user limit reached'); END"
    );
    sqlx::query(sqlx::AssertSqlSafe(guard))
        .execute(&mut *connection)
        .await?;
    Ok(())
}

/// How many more users the tenant may hold.
pub async fn users_left(
    txn: &impl ConnectionTrait,
    tenant_id: &str,
    limit: u64,
) -> Result<u64, Error> {
    Ok(limit.saturating_sub(users_held(txn, tenant_id).await?))
}

/// The tenant's user count (0 for a tenant that is gone: its creates fail on their own).
pub(super) async fn users_held(txn: &impl ConnectionTrait, tenant_id: &str) -> Result<u64, Error> {
    let counts: Vec<i64> = tenant::Entity::find_by_id(tenant_id.to_owned())
        .select_only()
        .column(tenant::Column::UserCount)
        .into_tuple()
        .all(txn)
        .await?;
    Ok(counts
        .first()
        .map_or(0, |count| u64::try_from(*count).unwrap_or(0)))
}

/// Takes the tenant's lock (PostgreSQL) and fails if it may hold no more of `held`.
pub async fn make_room(
    txn: &impl ConnectionTrait,
    tenant_id: &str,
    held: Held,
    limit: u64,
) -> Result<(), Error> {
    tenants::lock(txn, tenant_id).await?;
    ensure_room(txn, tenant_id, held, limit).await
}

/// Takes the tenant's lock (PostgreSQL) and says how many more users it may hold. The
/// locked row carries the user count: every create of the tenant waits for this lock until
/// the holder commits, so each statement fewer under it is one round trip fewer for all of
/// them.
pub async fn lock_users_left(
    txn: &impl ConnectionTrait,
    tenant_id: &str,
    limit: u64,
) -> Result<u64, Error> {
    let tenant = tenants::lock(txn, tenant_id).await?;
    Ok(limit.saturating_sub(u64::try_from(tenant.user_count).unwrap_or(0)))
}

/// Fails if the tenant may hold no more of `held`; the caller holds the tenant's lock.
pub async fn ensure_room(
    txn: &impl ConnectionTrait,
    tenant_id: &str,
    held: Held,
    limit: u64,
) -> Result<(), Error> {
    within(held, count(txn, tenant_id, held).await?, limit)
}

async fn count(txn: &impl ConnectionTrait, tenant_id: &str, held: Held) -> Result<u64, Error> {
    Ok(match held {
        Held::Users => users_held(txn, tenant_id).await?,
        Held::Groups => {
            scim_group::Entity::find()
                .filter(scim_group::Column::TenantId.eq(tenant_id))
                .count(txn)
                .await?
        }
        Held::MappedGroups => {
            group_mapping::Entity::find()
                .filter(group_mapping::Column::TenantId.eq(tenant_id))
                .count(txn)
                .await?
        }
    })
}

fn within(held: Held, count: u64, limit: u64) -> Result<(), Error> {
    if count >= limit {
        return Err(reached(held, limit));
    }
    Ok(())
}
