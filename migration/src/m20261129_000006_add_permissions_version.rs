//! A counter per tenant that every change to what grants are resolved against (its
//! products, their permission groups and what they list, and the deployment's catalog)
//! bumps in the same transaction. Read together with a user's groups, it tells a replica
//! whether what it keeps in memory of that tenant is still exact.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Tenant {
    Table,
    PermissionsVersion,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Tenant::Table)
                    .add_column(big_integer(Tenant::PermissionsVersion).default(0))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Tenant::Table)
                    .drop_column(Tenant::PermissionsVersion)
                    .to_owned(),
            )
            .await
    }
}
