//! For each tenant, the newest of its change events that retention deleted: a consumer whose
//! cursor is older than it has missed events and must read the current state again, which
//! the feed tells it (410) instead of silently going on after the gap. No foreign key: a
//! deleted tenant's change events stay too.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ChangeEventTrim {
    Table,
    TenantId,
    TrimmedThrough,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ChangeEventTrim::Table)
                    .if_not_exists()
                    .col(string(ChangeEventTrim::TenantId).primary_key())
                    .col(big_integer(ChangeEventTrim::TrimmedThrough))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ChangeEventTrim::Table).to_owned())
            .await
    }
}
