//! When each membership began, so a user's permissions can say since when it holds them.
//! Memberships stored before this column existed keep it empty: their start is unknown.
//! The index of a user's memberships now covers what the permissions read takes from
//! them (group and start), so that read never visits the table itself.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum GroupMember {
    Table,
    UserId,
    GroupId,
    AddedAt,
}

const BY_USER: &str = "ix_group_member_user";
const BY_USER_COVERING: &str = "ix_group_member_user_groups";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(GroupMember::Table)
                    .add_column(timestamp_with_time_zone_null(GroupMember::AddedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(BY_USER_COVERING)
                    .table(GroupMember::Table)
                    .col(GroupMember::UserId)
                    .col(GroupMember::GroupId)
                    .col(GroupMember::AddedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name(BY_USER)
                    .table(GroupMember::Table)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name(BY_USER)
                    .table(GroupMember::Table)
                    .col(GroupMember::UserId)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name(BY_USER_COVERING)
                    .table(GroupMember::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(GroupMember::Table)
                    .drop_column(GroupMember::AddedAt)
                    .to_owned(),
            )
            .await
    }
}
