//! Change events: what each SCIM write changed, for the host product to follow, written in
//! the write's own transaction. Each names the request that caused it, which the
//! provisioning log now records too (with the dialect quirks each request used); a membership event also names its user, so the request
//! that added a membership can be found (the causal trace of a permission). No foreign key to the tenant, like the log: retention
//! removes what a deleted tenant leaves.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ChangeEvent {
    Table,
    Id,
    TenantId,
    At,
    Kind,
    ResourceType,
    ResourceId,
    SubjectId,
    RequestId,
    Data,
}

#[derive(DeriveIden)]
enum ActivityEntry {
    Table,
    RequestId,
    Quirks,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ChangeEvent::Table)
                    .col(big_pk_auto(ChangeEvent::Id))
                    .col(string(ChangeEvent::TenantId))
                    .col(timestamp_with_time_zone(ChangeEvent::At))
                    .col(string(ChangeEvent::Kind))
                    .col(string(ChangeEvent::ResourceType))
                    .col(string(ChangeEvent::ResourceId))
                    .col(string_null(ChangeEvent::SubjectId))
                    .col(string_null(ChangeEvent::RequestId))
                    .col(text(ChangeEvent::Data))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_change_event_tenant")
                    .table(ChangeEvent::Table)
                    .col(ChangeEvent::TenantId)
                    .col(ChangeEvent::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_change_event_subject")
                    .table(ChangeEvent::Table)
                    .col(ChangeEvent::TenantId)
                    .col(ChangeEvent::SubjectId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_change_event_request")
                    .table(ChangeEvent::Table)
                    .col(ChangeEvent::RequestId)
                    .to_owned(),
            )
            .await?;
        // One column per statement: SQLite adds one at a time.
        for column in [ActivityEntry::RequestId, ActivityEntry::Quirks] {
            manager
                .alter_table(
                    Table::alter()
                        .table(ActivityEntry::Table)
                        .add_column(string_null(column))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [ActivityEntry::RequestId, ActivityEntry::Quirks] {
            manager
                .alter_table(
                    Table::alter()
                        .table(ActivityEntry::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .drop_table(Table::drop().table(ChangeEvent::Table).to_owned())
            .await
    }
}
