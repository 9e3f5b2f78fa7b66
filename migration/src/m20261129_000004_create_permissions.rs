//! Permissions for synced groups (ConfigCat's model): the deployment's permission catalog,
//! each tenant's products and their permission groups, the mappings that give synced groups
//! permission groups (with a priority order), and the audit trail of changes to all of it.
//! The catalog is seeded with ConfigCat's product permissions.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Tenant {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum ScimGroup {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Permission {
    Table,
    Name,
    Access,
    Description,
}

#[derive(DeriveIden)]
enum Product {
    Table,
    Id,
    TenantId,
    Name,
    NameLc,
    CreatedAt,
}

#[derive(DeriveIden)]
enum PermissionGroup {
    Table,
    Id,
    TenantId,
    ProductId,
    Name,
    NameLc,
    AccessType,
    CreatedAt,
}

#[derive(DeriveIden)]
enum PermissionGroupPermission {
    Table,
    PermissionGroupId,
    Permission,
}

#[derive(DeriveIden)]
enum GroupMapping {
    Table,
    GroupId,
    TenantId,
    IsOrganizationAdmin,
    IsBillingManager,
    Priority,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum GroupMappingPermissionGroup {
    Table,
    GroupId,
    ProductId,
    PermissionGroupId,
    TenantId,
}

#[derive(DeriveIden)]
enum AuditEvent {
    Table,
    Id,
    TenantId,
    ActorKeyId,
    Action,
    Target,
    Before,
    After,
    At,
}

/// ConfigCat's product permissions; `read` ones are what a `readOnly` group holds.
const CATALOG: &[(&str, &str, &str)] = &[
    (
        "canManageMembers",
        "write",
        "Manage the members of the product",
    ),
    (
        "canCreateOrUpdateConfig",
        "write",
        "Create and update configs",
    ),
    ("canDeleteConfig", "write", "Delete configs"),
    (
        "canCreateOrUpdateEnvironment",
        "write",
        "Create and update environments",
    ),
    ("canDeleteEnvironment", "write", "Delete environments"),
    (
        "canCreateOrUpdateSetting",
        "write",
        "Create and update feature flags and settings",
    ),
    ("canTagSetting", "write", "Tag feature flags and settings"),
    (
        "canDeleteSetting",
        "write",
        "Delete feature flags and settings",
    ),
    ("canCreateOrUpdateTag", "write", "Create and update tags"),
    ("canDeleteTag", "write", "Delete tags"),
    ("canManageWebhook", "write", "Manage webhooks"),
    (
        "canUseExportImport",
        "write",
        "Export and import the product's data",
    ),
    (
        "canManageProductPreferences",
        "write",
        "Change the product's preferences",
    ),
    (
        "canManageIntegrations",
        "write",
        "Connect and configure integrations",
    ),
    ("canViewSdkKey", "read", "See the SDK keys"),
    ("canRotateSdkKey", "write", "Rotate the SDK keys"),
    (
        "canCreateOrUpdateSegments",
        "write",
        "Create and update segments",
    ),
    ("canDeleteSegments", "write", "Delete segments"),
    (
        "canViewProductAuditLog",
        "read",
        "Read the product's audit log",
    ),
    (
        "canViewProductStatistics",
        "read",
        "Read the product's usage statistics",
    ),
];

fn cascade_from(
    from: (impl IntoIden, impl IntoIden),
    to: (impl IntoIden, impl IntoIden),
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(from.0, from.1)
        .to(to.0, to.1)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Permission::Table)
                    .col(string(Permission::Name).primary_key())
                    .col(string(Permission::Access))
                    .col(string(Permission::Description))
                    .to_owned(),
            )
            .await?;
        let mut seed = Query::insert();
        seed.into_table(Permission::Table).columns([
            Permission::Name,
            Permission::Access,
            Permission::Description,
        ]);
        for (name, access, description) in CATALOG {
            seed.values_panic([(*name).into(), (*access).into(), (*description).into()]);
        }
        manager.get_connection().execute(&seed).await?;

        manager
            .create_table(
                Table::create()
                    .table(Product::Table)
                    .col(string(Product::Id).primary_key())
                    .col(string(Product::TenantId))
                    .col(string(Product::Name))
                    .col(string(Product::NameLc))
                    .col(timestamp_with_time_zone(Product::CreatedAt))
                    .foreign_key(&mut cascade_from(
                        (Product::Table, Product::TenantId),
                        (Tenant::Table, Tenant::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_product_tenant_name")
                    .table(Product::Table)
                    .col(Product::TenantId)
                    .col(Product::NameLc)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(PermissionGroup::Table)
                    .col(string(PermissionGroup::Id).primary_key())
                    .col(string(PermissionGroup::TenantId))
                    .col(string(PermissionGroup::ProductId))
                    .col(string(PermissionGroup::Name))
                    .col(string(PermissionGroup::NameLc))
                    .col(string(PermissionGroup::AccessType))
                    .col(timestamp_with_time_zone(PermissionGroup::CreatedAt))
                    .foreign_key(&mut cascade_from(
                        (PermissionGroup::Table, PermissionGroup::ProductId),
                        (Product::Table, Product::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_permission_group_product_name")
                    .table(PermissionGroup::Table)
                    .col(PermissionGroup::ProductId)
                    .col(PermissionGroup::NameLc)
                    .unique()
                    .to_owned(),
            )
            .await?;

        // A custom group's permissions. The catalog side has no cascade: a permission in
        // use cannot be removed from the catalog.
        manager
            .create_table(
                Table::create()
                    .table(PermissionGroupPermission::Table)
                    .col(string(PermissionGroupPermission::PermissionGroupId))
                    .col(string(PermissionGroupPermission::Permission))
                    .primary_key(
                        Index::create()
                            .col(PermissionGroupPermission::PermissionGroupId)
                            .col(PermissionGroupPermission::Permission),
                    )
                    .foreign_key(&mut cascade_from(
                        (
                            PermissionGroupPermission::Table,
                            PermissionGroupPermission::PermissionGroupId,
                        ),
                        (PermissionGroup::Table, PermissionGroup::Id),
                    ))
                    .foreign_key(
                        ForeignKey::create()
                            .from(
                                PermissionGroupPermission::Table,
                                PermissionGroupPermission::Permission,
                            )
                            .to(Permission::Table, Permission::Name),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_permission_group_permission_permission")
                    .table(PermissionGroupPermission::Table)
                    .col(PermissionGroupPermission::Permission)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(GroupMapping::Table)
                    .col(string(GroupMapping::GroupId).primary_key())
                    .col(string(GroupMapping::TenantId))
                    .col(boolean(GroupMapping::IsOrganizationAdmin))
                    .col(boolean(GroupMapping::IsBillingManager))
                    .col(big_integer(GroupMapping::Priority))
                    .col(timestamp_with_time_zone(GroupMapping::CreatedAt))
                    .col(timestamp_with_time_zone(GroupMapping::UpdatedAt))
                    .foreign_key(&mut cascade_from(
                        (GroupMapping::Table, GroupMapping::GroupId),
                        (ScimGroup::Table, ScimGroup::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_group_mapping_tenant_priority")
                    .table(GroupMapping::Table)
                    .col(GroupMapping::TenantId)
                    .col(GroupMapping::Priority)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(GroupMappingPermissionGroup::Table)
                    .col(string(GroupMappingPermissionGroup::GroupId))
                    .col(string(GroupMappingPermissionGroup::ProductId))
                    .col(string(GroupMappingPermissionGroup::PermissionGroupId))
                    .col(string(GroupMappingPermissionGroup::TenantId))
                    // At most one permission group per product and mapped group.
                    .primary_key(
                        Index::create()
                            .col(GroupMappingPermissionGroup::GroupId)
                            .col(GroupMappingPermissionGroup::ProductId),
                    )
                    .foreign_key(&mut cascade_from(
                        (
                            GroupMappingPermissionGroup::Table,
                            GroupMappingPermissionGroup::GroupId,
                        ),
                        (GroupMapping::Table, GroupMapping::GroupId),
                    ))
                    .foreign_key(&mut cascade_from(
                        (
                            GroupMappingPermissionGroup::Table,
                            GroupMappingPermissionGroup::PermissionGroupId,
                        ),
                        (PermissionGroup::Table, PermissionGroup::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_group_mapping_permission_group_permission_group")
                    .table(GroupMappingPermissionGroup::Table)
                    .col(GroupMappingPermissionGroup::PermissionGroupId)
                    .to_owned(),
            )
            .await?;

        // Audit events outlive what they describe (a deleted tenant's included): no keys.
        manager
            .create_table(
                Table::create()
                    .table(AuditEvent::Table)
                    .col(big_pk_auto(AuditEvent::Id))
                    .col(string_null(AuditEvent::TenantId))
                    .col(string(AuditEvent::ActorKeyId))
                    .col(string(AuditEvent::Action))
                    .col(string(AuditEvent::Target))
                    .col(text_null(AuditEvent::Before))
                    .col(text_null(AuditEvent::After))
                    .col(timestamp_with_time_zone(AuditEvent::At))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_audit_event_tenant")
                    .table(AuditEvent::Table)
                    .col(AuditEvent::TenantId)
                    .col(AuditEvent::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "audit_event",
            "group_mapping_permission_group",
            "group_mapping",
            "permission_group_permission",
            "permission_group",
            "product",
            "permission",
        ] {
            manager
                .drop_table(Table::drop().table(Alias::new(table)).to_owned())
                .await?;
        }
        Ok(())
    }
}
