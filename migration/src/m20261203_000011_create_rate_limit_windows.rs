//! Requests each tenant made in each rate-limit window, summed over every replica: each
//! replica adds what it counted since its last report and reads the total back. Rows of
//! past windows are deleted by the replicas; no foreign key, so a deleted tenant's rows
//! simply age out.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum RateLimitWindow {
    Table,
    TenantId,
    /// Seconds since the epoch divided by the window length.
    WindowIndex,
    Used,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(RateLimitWindow::Table)
                    .if_not_exists()
                    .col(string(RateLimitWindow::TenantId))
                    .col(big_integer(RateLimitWindow::WindowIndex))
                    .col(big_integer(RateLimitWindow::Used))
                    .primary_key(
                        Index::create()
                            .col(RateLimitWindow::TenantId)
                            .col(RateLimitWindow::WindowIndex),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(RateLimitWindow::Table).to_owned())
            .await
    }
}
