//! Each membership names the request that began it, so a permission's causal trace reads
//! the membership itself rather than the change events. The trace then lasts as long as
//! the membership, not only as long as its event is kept, and the events lose the index
//! of their users: every member added touched a leaf of it at a random place, about a
//! tenth of the writer's time in an Entra initial cycle.
//!
//! Memberships stored before take the request of their latest `group.member_added` event
//! still kept, read through that index before it goes.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum GroupMember {
    Table,
    AddedBy,
}

#[derive(DeriveIden)]
enum ChangeEvent {
    Table,
    TenantId,
    SubjectId,
}

const BY_SUBJECT: &str = "ix_change_event_subject";

const BACKFILL: &str = "UPDATE group_member SET added_by = (\
     SELECT change_event.request_id FROM change_event \
     WHERE change_event.tenant_id = group_member.tenant_id \
     AND change_event.subject_id = group_member.user_id \
     AND change_event.resource_id = group_member.group_id \
     AND change_event.kind = 'group.member_added' \
     ORDER BY change_event.id DESC LIMIT 1)";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(GroupMember::Table)
                    .add_column(string_null(GroupMember::AddedBy))
                    .to_owned(),
            )
            .await?;
        manager
            .get_connection()
            .execute_unprepared(BACKFILL)
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name(BY_SUBJECT)
                    .table(ChangeEvent::Table)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name(BY_SUBJECT)
                    .table(ChangeEvent::Table)
                    .col(ChangeEvent::TenantId)
                    .col(ChangeEvent::SubjectId)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(GroupMember::Table)
                    .drop_column(GroupMember::AddedBy)
                    .to_owned(),
            )
            .await
    }
}
