//! Reads of the one row a unique key names, without `LIMIT`.
//!
//! `Select::one` appends `LIMIT ?`. SQLite (3.51) plans a statement with the value bound to
//! its LIMIT, so it marks such a statement to be prepared anew each time its parameters are
//! bound again, that is on every execution: parsing and planning cost more than a read by
//! key itself (measured: a sixth of the SQLite thread's time in the permissions read). A
//! unique key needs no LIMIT, and a statement without one stays prepared in the cache.

use std::future::Future;

use sea_orm::{ConnectionTrait, DbErr, EntityTrait, Select};

pub trait SelectUnique<E: EntityTrait> {
    /// The row, if any; for a filter on a unique key (or one where any match will do, the
    /// first in the database's order).
    fn unique<'db, C: ConnectionTrait>(
        self,
        db: &'db C,
    ) -> impl Future<Output = Result<Option<E::Model>, DbErr>> + Send + 'db
    where
        Self: 'db;
}

impl<E: EntityTrait> SelectUnique<E> for Select<E> {
    async fn unique<'db, C: ConnectionTrait>(self, db: &'db C) -> Result<Option<E::Model>, DbErr>
    where
        Self: 'db,
    {
        Ok(self.all(db).await?.into_iter().next())
    }
}
