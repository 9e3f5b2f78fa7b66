//! SCIM users and groups of a tenant. A user's whole resource is kept as JSON in `data`;
//! what filters and uniqueness need is also kept in indexed columns (`user_name_lc`,
//! `external_id`, `display_name_lc`) and, for multi-valued string attributes such as
//! `emails`, one row per value in `scim_user_value`. Membership is one row per
//! (group, user) in `group_member`, never an array.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Tenant {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum ScimUser {
    Table,
    Id,
    TenantId,
    UserName,
    UserNameLc,
    ExternalId,
    DisplayName,
    DisplayNameLc,
    Active,
    Data,
    Version,
    CreatedAt,
    LastModified,
}

#[derive(DeriveIden)]
enum ScimUserValue {
    Table,
    Id,
    TenantId,
    UserId,
    Attribute,
    Value,
    ValueLc,
    Display,
    TypeLc,
    IsPrimary,
}

#[derive(DeriveIden)]
enum ScimGroup {
    Table,
    Id,
    TenantId,
    DisplayName,
    DisplayNameLc,
    ExternalId,
    Version,
    CreatedAt,
    LastModified,
}

#[derive(DeriveIden)]
enum GroupMember {
    Table,
    GroupId,
    UserId,
    TenantId,
}

fn index(
    name: &str,
    table: impl IntoIden + 'static,
    columns: &[&'static str],
) -> IndexCreateStatement {
    let mut index = Index::create();
    index.name(name).table(table);
    for column in columns {
        index.col(Alias::new(*column));
    }
    index.to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ScimUser::Table)
                    .col(string(ScimUser::Id).primary_key())
                    .col(string(ScimUser::TenantId))
                    .col(string(ScimUser::UserName))
                    .col(string(ScimUser::UserNameLc))
                    .col(string_null(ScimUser::ExternalId))
                    .col(string_null(ScimUser::DisplayName))
                    .col(string_null(ScimUser::DisplayNameLc))
                    .col(boolean(ScimUser::Active))
                    .col(text(ScimUser::Data))
                    .col(big_integer(ScimUser::Version))
                    .col(timestamp_with_time_zone(ScimUser::CreatedAt))
                    .col(timestamp_with_time_zone(ScimUser::LastModified))
                    .foreign_key(
                        ForeignKey::create()
                            .from(ScimUser::Table, ScimUser::TenantId)
                            .to(Tenant::Table, Tenant::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        let mut unique = index(
            "ux_scim_user_name",
            ScimUser::Table,
            &["tenant_id", "user_name_lc"],
        );
        manager.create_index(unique.unique().to_owned()).await?;
        manager
            .create_index(index(
                "ix_scim_user_external_id",
                ScimUser::Table,
                &["tenant_id", "external_id"],
            ))
            .await?;
        manager
            .create_index(index(
                "ix_scim_user_display_name",
                ScimUser::Table,
                &["tenant_id", "display_name_lc"],
            ))
            .await?;
        manager
            .create_index(index(
                "ix_scim_user_created",
                ScimUser::Table,
                &["tenant_id", "created_at"],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ScimUserValue::Table)
                    .col(big_pk_auto(ScimUserValue::Id))
                    .col(string(ScimUserValue::TenantId))
                    .col(string(ScimUserValue::UserId))
                    .col(string(ScimUserValue::Attribute))
                    .col(string_null(ScimUserValue::Value))
                    .col(string_null(ScimUserValue::ValueLc))
                    .col(string_null(ScimUserValue::Display))
                    .col(string_null(ScimUserValue::TypeLc))
                    .col(boolean(ScimUserValue::IsPrimary))
                    .foreign_key(
                        ForeignKey::create()
                            .from(ScimUserValue::Table, ScimUserValue::UserId)
                            .to(ScimUser::Table, ScimUser::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_scim_user_value_lookup",
                ScimUserValue::Table,
                &["tenant_id", "attribute", "value_lc"],
            ))
            .await?;
        manager
            .create_index(index(
                "ix_scim_user_value_user",
                ScimUserValue::Table,
                &["user_id"],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ScimGroup::Table)
                    .col(string(ScimGroup::Id).primary_key())
                    .col(string(ScimGroup::TenantId))
                    .col(string(ScimGroup::DisplayName))
                    .col(string(ScimGroup::DisplayNameLc))
                    .col(string_null(ScimGroup::ExternalId))
                    .col(big_integer(ScimGroup::Version))
                    .col(timestamp_with_time_zone(ScimGroup::CreatedAt))
                    .col(timestamp_with_time_zone(ScimGroup::LastModified))
                    .foreign_key(
                        ForeignKey::create()
                            .from(ScimGroup::Table, ScimGroup::TenantId)
                            .to(Tenant::Table, Tenant::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        let mut unique = index(
            "ux_scim_group_name",
            ScimGroup::Table,
            &["tenant_id", "display_name_lc"],
        );
        manager.create_index(unique.unique().to_owned()).await?;
        manager
            .create_index(index(
                "ix_scim_group_external_id",
                ScimGroup::Table,
                &["tenant_id", "external_id"],
            ))
            .await?;
        manager
            .create_index(index(
                "ix_scim_group_created",
                ScimGroup::Table,
                &["tenant_id", "created_at"],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(GroupMember::Table)
                    .col(string(GroupMember::GroupId))
                    .col(string(GroupMember::UserId))
                    .col(string(GroupMember::TenantId))
                    .primary_key(
                        Index::create()
                            .col(GroupMember::GroupId)
                            .col(GroupMember::UserId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(GroupMember::Table, GroupMember::GroupId)
                            .to(ScimGroup::Table, ScimGroup::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(GroupMember::Table, GroupMember::UserId)
                            .to(ScimUser::Table, ScimUser::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_group_member_user",
                GroupMember::Table,
                &["user_id"],
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["group_member", "scim_group", "scim_user_value", "scim_user"] {
            manager
                .drop_table(Table::drop().table(Alias::new(table)).to_owned())
                .await?;
        }
        Ok(())
    }
}
