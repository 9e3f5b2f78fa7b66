//! Rotation that ends the previous token when the new one is first used: the new token
//! names the token it will end, until it has done so.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ScimToken {
    Table,
    EndsOnFirstUse,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(ScimToken::Table)
                    .add_column(string_null(ScimToken::EndsOnFirstUse))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(ScimToken::Table)
                    .drop_column(ScimToken::EndsOnFirstUse)
                    .to_owned(),
            )
            .await
    }
}
