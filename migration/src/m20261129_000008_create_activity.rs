//! The provisioning log: one row per request under `/scim/…`. No foreign key to the
//! tenant: a request may name a tenant that does not exist, and the log of a deleted
//! tenant is kept until retention removes it.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ActivityEntry {
    Table,
    Id,
    At,
    TenantId,
    TokenId,
    ClientAddress,
    UserAgent,
    Method,
    Path,
    Query,
    ResourceType,
    ResourceId,
    Operation,
    Status,
    ScimType,
    LatencyUs,
    Idp,
    Summary,
    RequestBody,
    ResponseBody,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ActivityEntry::Table)
                    .col(big_pk_auto(ActivityEntry::Id))
                    .col(timestamp_with_time_zone(ActivityEntry::At))
                    .col(string_null(ActivityEntry::TenantId))
                    .col(string_null(ActivityEntry::TokenId))
                    .col(string(ActivityEntry::ClientAddress))
                    .col(string_null(ActivityEntry::UserAgent))
                    .col(string(ActivityEntry::Method))
                    .col(string(ActivityEntry::Path))
                    .col(string_null(ActivityEntry::Query))
                    .col(string_null(ActivityEntry::ResourceType))
                    .col(string_null(ActivityEntry::ResourceId))
                    .col(string(ActivityEntry::Operation))
                    .col(integer(ActivityEntry::Status))
                    .col(string_null(ActivityEntry::ScimType))
                    .col(big_integer(ActivityEntry::LatencyUs))
                    .col(string(ActivityEntry::Idp))
                    .col(string(ActivityEntry::Summary))
                    .col(text_null(ActivityEntry::RequestBody))
                    .col(text_null(ActivityEntry::ResponseBody))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_activity_entry_tenant")
                    .table(ActivityEntry::Table)
                    .col(ActivityEntry::TenantId)
                    .col(ActivityEntry::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_activity_entry_at")
                    .table(ActivityEntry::Table)
                    .col(ActivityEntry::At)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ActivityEntry::Table).to_owned())
            .await
    }
}
