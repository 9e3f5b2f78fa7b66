//! The provisioning log's own database. On embedded SQLite the log is kept in a file of its
//! own, written by a writer of its own: a log insert in the resources' file held up every
//! SCIM write queued behind it, since SQLite lets one connection write to a file at a time.
//! The log's table there has the same shape as in the main schema (where PostgreSQL keeps
//! it); a later change to it comes as a migration in both lists.

use sea_orm_migration::prelude::*;

use crate::{m20261129_000008_create_activity, m20261202_000009_create_change_events};

pub struct ActivityLogMigrator;

#[async_trait::async_trait]
impl MigratorTrait for ActivityLogMigrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![Box::new(CreateActivityLog)]
    }
}

/// The log's table as the main schema's migrations have left it.
struct CreateActivityLog;

impl MigrationName for CreateActivityLog {
    fn name(&self) -> &str {
        "m20261206_000001_create_activity_log"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateActivityLog {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        m20261129_000008_create_activity::Migration
            .up(manager)
            .await?;
        m20261202_000009_create_change_events::add_log_columns(manager).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        m20261129_000008_create_activity::Migration
            .down(manager)
            .await
    }
}
