//! Tenants and their credentials: SCIM tokens and admin keys (operator keys have no tenant).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Tenant {
    Table,
    Id,
    Name,
    NameLc,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ScimToken {
    Table,
    Id,
    TenantId,
    Name,
    SecretHash,
    CreatedAt,
    ExpiresAt,
    RevokedAt,
    LastUsedAt,
}

#[derive(DeriveIden)]
enum AdminKey {
    Table,
    Id,
    TenantId,
    Name,
    SecretHash,
    CreatedAt,
    ExpiresAt,
    RevokedAt,
    LastUsedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Tenant::Table)
                    .col(string(Tenant::Id).primary_key())
                    .col(string(Tenant::Name))
                    .col(string_uniq(Tenant::NameLc))
                    .col(timestamp_with_time_zone(Tenant::CreatedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ScimToken::Table)
                    .col(string(ScimToken::Id).primary_key())
                    .col(string(ScimToken::TenantId))
                    .col(string_null(ScimToken::Name))
                    .col(string(ScimToken::SecretHash))
                    .col(timestamp_with_time_zone(ScimToken::CreatedAt))
                    .col(timestamp_with_time_zone_null(ScimToken::ExpiresAt))
                    .col(timestamp_with_time_zone_null(ScimToken::RevokedAt))
                    .col(timestamp_with_time_zone_null(ScimToken::LastUsedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(ScimToken::Table, ScimToken::TenantId)
                            .to(Tenant::Table, Tenant::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_scim_token_tenant")
                    .table(ScimToken::Table)
                    .col(ScimToken::TenantId)
                    .col(ScimToken::CreatedAt)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(AdminKey::Table)
                    .col(string(AdminKey::Id).primary_key())
                    .col(string_null(AdminKey::TenantId))
                    .col(string_null(AdminKey::Name))
                    .col(string(AdminKey::SecretHash))
                    .col(timestamp_with_time_zone(AdminKey::CreatedAt))
                    .col(timestamp_with_time_zone_null(AdminKey::ExpiresAt))
                    .col(timestamp_with_time_zone_null(AdminKey::RevokedAt))
                    .col(timestamp_with_time_zone_null(AdminKey::LastUsedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(AdminKey::Table, AdminKey::TenantId)
                            .to(Tenant::Table, Tenant::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_admin_key_tenant")
                    .table(AdminKey::Table)
                    .col(AdminKey::TenantId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(AdminKey::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(ScimToken::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Tenant::Table).to_owned())
            .await
    }
}
