//! One row that readiness checks rewrite: after a failed write (a full disk, say), it tells
//! whether writes reach the disk again even when no client is writing.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum StorageProbe {
    Table,
    Id,
    WrittenAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(StorageProbe::Table)
                    .col(integer(StorageProbe::Id).primary_key())
                    .col(timestamp_with_time_zone(StorageProbe::WrittenAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(StorageProbe::Table).to_owned())
            .await
    }
}
