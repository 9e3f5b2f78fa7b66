//! The number of users each tenant holds, kept by the database itself: the per-tenant
//! user limit is checked on every create, and counting the rows each time cost a scan of
//! the tenant's users (the larger the tenant, the slower every create). Triggers keep the
//! count exact whatever path inserts or deletes a user, including cascades.

use sea_orm_migration::{prelude::*, schema::*, sea_orm::DatabaseBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Tenant {
    Table,
    UserCount,
}

const BACKFILL: &str = "UPDATE tenant SET user_count = \
     (SELECT COUNT(*) FROM scim_user WHERE scim_user.tenant_id = tenant.id)";

const SQLITE_TRIGGERS: [&str; 2] = [
    "CREATE TRIGGER scim_user_counted_in AFTER INSERT ON scim_user BEGIN \
     UPDATE tenant SET user_count = user_count + 1 WHERE id = NEW.tenant_id; END",
    "CREATE TRIGGER scim_user_counted_out AFTER DELETE ON scim_user BEGIN \
     UPDATE tenant SET user_count = user_count - 1 WHERE id = OLD.tenant_id; END",
];

const POSTGRES_TRIGGERS: [&str; 2] = [
    "CREATE FUNCTION scim_user_counted() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
     IF TG_OP = 'INSERT' THEN \
     UPDATE tenant SET user_count = user_count + 1 WHERE id = NEW.tenant_id; \
     ELSE \
     UPDATE tenant SET user_count = user_count - 1 WHERE id = OLD.tenant_id; \
     END IF; RETURN NULL; END $$",
    "CREATE TRIGGER scim_user_counted AFTER INSERT OR DELETE ON scim_user \
     FOR EACH ROW EXECUTE FUNCTION scim_user_counted()",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Tenant::Table)
                    .add_column(big_integer(Tenant::UserCount).default(0))
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        db.execute_unprepared(BACKFILL).await?;
        let triggers = match manager.get_database_backend() {
            DatabaseBackend::Postgres => POSTGRES_TRIGGERS,
            _ => SQLITE_TRIGGERS,
        };
        for trigger in triggers {
            db.execute_unprepared(trigger).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let drops: &[&str] = match manager.get_database_backend() {
            DatabaseBackend::Postgres => &[
                "DROP TRIGGER scim_user_counted ON scim_user",
                "DROP FUNCTION scim_user_counted()",
            ],
            _ => &[
                "DROP TRIGGER scim_user_counted_in",
                "DROP TRIGGER scim_user_counted_out",
            ],
        };
        for drop in drops {
            db.execute_unprepared(drop).await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(Tenant::Table)
                    .drop_column(Tenant::UserCount)
                    .to_owned(),
            )
            .await
    }
}
