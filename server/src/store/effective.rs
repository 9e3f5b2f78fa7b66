//! Effective permissions (ConfigCat's rules), computed from the database on every read, so
//! every change (membership over SCIM, deactivation, mappings, priorities) counts at the
//! next read on every replica (what is kept in memory is checked against the database at
//! each read, see `grant_lookups.rs`). A user is an organization admin if any of its mapped groups
//! is, a billing manager likewise; for each product it gets the permission group of its
//! highest-priority group that names one; an organization admin holds every permission of
//! every product; an inactive user, or one in no mapped group, holds nothing.

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::Arc,
};

use chrono::{DateTime, Utc};

use entity::{
    group_mapping, group_mapping_permission_group, group_member, permission_group, scim_group,
    scim_user, tenant,
};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseConnection, DbErr, EntityTrait,
    FromQueryResult, JoinType, QueryFilter, QueryOrder, QuerySelect, RelationDef, Select,
    TransactionTrait,
    sea_query::{Expr, ExprTrait, Query, SelectStatement},
};

use super::{
    Storage, db,
    grant_lookups::{Lookups, TenantProducts},
    products::{self, AccessType},
};
use crate::error::Error;

/// How the host product names the user.
#[derive(Debug, Clone)]
pub enum UserKey<'a> {
    Id(&'a str),
    UserName(&'a str),
    ExternalId(&'a str),
}

/// A mapped group the user is in, and its place in the priority order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Via {
    pub group_id: String,
    pub display_name: String,
    pub priority: u64,
    /// Since when the user is a member (unknown for memberships older than the record).
    pub member_since: Option<DateTime<Utc>>,
}

/// A product's grant: the winning permission group and why it won.
#[derive(Debug, Clone)]
pub struct ProductGrant {
    pub product_id: String,
    pub product_name: String,
    /// Absent for an organization admin whose groups name none for this product.
    pub permission_group_id: Option<String>,
    pub permission_group_name: Option<String>,
    pub permissions: Vec<String>,
    /// The group that gave it (for an organization admin without a permission group here,
    /// the highest-priority admin group).
    pub granted_by: Via,
    /// Lower-priority groups that named another permission group for this product.
    pub outranked: Vec<(Via, String)>,
}

/// Why a user holds nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nothing {
    Inactive,
    NoMappedGroups,
}

#[derive(Debug, Clone)]
pub struct Effective {
    pub user: SignedUser,
    pub organization_admin_via: Vec<Via>,
    pub billing_manager_via: Vec<Via>,
    pub products: Vec<ProductGrant>,
    pub nothing: Option<Nothing>,
}

/// The joins these reads take, each from the table on its left.
fn member_mapping() -> RelationDef {
    group_member::Entity::belongs_to(group_mapping::Entity)
        .from(group_member::Column::GroupId)
        .to(group_mapping::Column::GroupId)
        .into()
}

fn member_group() -> RelationDef {
    group_member::Entity::belongs_to(scim_group::Entity)
        .from(group_member::Column::GroupId)
        .to(scim_group::Column::Id)
        .into()
}

fn member_named() -> RelationDef {
    group_member::Entity::belongs_to(group_mapping_permission_group::Entity)
        .from(group_member::Column::GroupId)
        .to(group_mapping_permission_group::Column::GroupId)
        .into()
}

fn member_user() -> RelationDef {
    group_member::Entity::belongs_to(scim_user::Entity)
        .from(group_member::Column::UserId)
        .to(scim_user::Column::Id)
        .into()
}

fn named_permission_group() -> RelationDef {
    group_mapping_permission_group::Entity::belongs_to(permission_group::Entity)
        .from(group_mapping_permission_group::Column::PermissionGroupId)
        .to(permission_group::Column::Id)
        .into()
}

/// A permission group one of the user's groups names for a product; `at` is that group's
/// index in the user's groups by priority.
#[derive(Debug)]
struct Contender {
    at: usize,
    id: String,
    name: String,
    access_type: AccessType,
}

/// One of a user's mapped groups, and one permission group it names (if any).
#[derive(Debug, FromQueryResult)]
struct GrantRow {
    user_id: String,
    group_id: String,
    display_name: String,
    priority: i64,
    is_organization_admin: bool,
    is_billing_manager: bool,
    added_at: Option<DateTime<Utc>>,
    permission_group_id: Option<String>,
}

/// A grant row of many users' read, with the user's name.
#[derive(Debug, FromQueryResult)]
struct NamedGrantRow {
    user_name: String,
    #[sea_orm(nested)]
    row: GrantRow,
}

/// Memberships in mapped groups, with each permission group the group names: one query,
/// whatever the number of users it covers. What a permission group is comes from
/// `TenantProducts`, read once rather than once per row.
fn grant_rows() -> Select<group_member::Entity> {
    group_member::Entity::find()
        .select_only()
        .join(JoinType::InnerJoin, member_mapping())
        .join(JoinType::InnerJoin, member_group())
        .join(JoinType::LeftJoin, member_named())
        .column(group_member::Column::UserId)
        .column(group_member::Column::GroupId)
        .column(scim_group::Column::DisplayName)
        .column(group_mapping::Column::Priority)
        .column(group_mapping::Column::IsOrganizationAdmin)
        .column(group_mapping::Column::IsBillingManager)
        .column(group_member::Column::AddedAt)
        .column(group_mapping_permission_group::Column::PermissionGroupId)
}

/// One user's mapped groups in priority order, and per product the permission groups they
/// name, highest priority first.
#[derive(Debug, Default)]
struct Ranked {
    groups: Vec<Via>,
    organization_admin_via: Vec<Via>,
    billing_manager_via: Vec<Via>,
    by_product: BTreeMap<String, Vec<Contender>>,
}

impl Ranked {
    /// `rows`: one user's, in any order.
    fn of(mut rows: Vec<GrantRow>, products: &TenantProducts) -> Self {
        rows.sort_by(|a, b| (a.priority, &a.group_id).cmp(&(b.priority, &b.group_id)));
        let mut ranked = Self::default();
        for row in rows {
            if ranked
                .groups
                .last()
                .is_none_or(|last| last.group_id != row.group_id)
            {
                let via = Via {
                    group_id: row.group_id,
                    display_name: row.display_name,
                    priority: u64::try_from(row.priority).unwrap_or(0),
                    member_since: row.added_at,
                };
                if row.is_organization_admin {
                    ranked.organization_admin_via.push(via.clone());
                }
                if row.is_billing_manager {
                    ranked.billing_manager_via.push(via.clone());
                }
                ranked.groups.push(via);
            }
            let Some(id) = row.permission_group_id else {
                continue;
            };
            // Read in the same transaction, so a named permission group is always there.
            if let Some(group) = products.permission_groups.get(&id) {
                let at = ranked.groups.len() - 1;
                ranked
                    .by_product
                    .entry(group.product_id.clone())
                    .or_default()
                    .push(Contender {
                        at,
                        name: group.name.clone(),
                        access_type: group.access_type,
                        id,
                    });
            }
        }
        ranked
    }

    fn is_organization_admin(&self) -> bool {
        !self.organization_admin_via.is_empty()
    }
}

/// The product grants of `ranked`, by product name.
fn grants(ranked: &Ranked, lookups: &Lookups) -> Vec<ProductGrant> {
    let admin = ranked.organization_admin_via.first();
    let everything = || -> Vec<String> { lookups.catalog.iter().map(|p| p.name.clone()).collect() };
    let mut products: BTreeMap<&str, &[Contender]> = ranked
        .by_product
        .iter()
        .map(|(id, contenders)| (id.as_str(), contenders.as_slice()))
        .collect();
    if admin.is_some() {
        for id in lookups.products.names.keys() {
            products.entry(id).or_insert(&[]);
        }
    }
    let mut granted = Vec::with_capacity(products.len());
    for (product_id, contenders) in products {
        let (granted_by, winner, permissions) = match (contenders.first(), admin) {
            (Some(winner), Some(_)) => (&ranked.groups[winner.at], Some(winner), everything()),
            (Some(winner), None) => {
                let listed = lookups.listed.get(&winner.id).cloned().unwrap_or_default();
                (
                    &ranked.groups[winner.at],
                    Some(winner),
                    products::grants(winner.access_type, &lookups.catalog, listed),
                )
            }
            (None, Some(admin)) => (admin, None, everything()),
            (None, None) => continue,
        };
        granted.push(ProductGrant {
            product_id: product_id.to_owned(),
            product_name: lookups
                .products
                .names
                .get(product_id)
                .cloned()
                .unwrap_or_default(),
            permission_group_id: winner.map(|w| w.id.clone()),
            permission_group_name: winner.map(|w| w.name.clone()),
            permissions,
            granted_by: granted_by.clone(),
            outranked: contenders
                .iter()
                .skip(1)
                .map(|c| (ranked.groups[c.at].clone(), c.id.clone()))
                .collect(),
        });
    }
    granted.sort_by(|a, b| {
        a.product_name
            .to_lowercase()
            .cmp(&b.product_name.to_lowercase())
    });
    granted
}

/// The user as the sign-in read sees it.
#[derive(Debug, Clone)]
pub struct SignedUser {
    pub id: String,
    pub user_name: String,
    pub external_id: Option<String>,
    pub active: bool,
}

/// The sign-in read's one row: the user, its tenant's permissions version and, for an
/// active user, its grant rows as one JSON array of `GrantTuple`s (absent on PostgreSQL
/// when there are none). One row rather than one per group: each row costs the SQLite
/// driver a hand-over between threads and a copy of every value.
#[derive(Debug, FromQueryResult)]
struct SignInRow {
    user_id: String,
    user_name: String,
    external_id: Option<String>,
    active: bool,
    permissions_version: i64,
    grants: Option<String>,
}

/// A grant row as the aggregate spells it: group id, display name, priority, organization
/// admin and billing manager (0 or 1), member since (RFC 3339) and the permission group
/// the group names, if any.
#[derive(Debug, serde::Deserialize)]
struct GrantTuple(String, String, i64, u8, u8, Option<String>, Option<String>);

/// A membership's start as the aggregate spells it: RFC 3339 as sqlx writes it on SQLite
/// and PostgreSQL writes it in JSON, or SQLite's own `YYYY-MM-DD HH:MM:SS` (UTC), which a
/// row written by hand may hold.
fn member_since(text: &str) -> Result<DateTime<Utc>, DbErr> {
    DateTime::parse_from_rfc3339(text)
        .map(|at| at.with_timezone(&Utc))
        .or_else(|_| {
            chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f")
                .map(|at| at.and_utc())
        })
        .map_err(|err| DbErr::Type(format!("member since {text:?}: {err}")))
}

/// Everything in one statement, hence from one snapshot of the database without a
/// transaction around it.
fn sign_in_statement(
    backend: DatabaseBackend,
    tenant_id: &str,
    key: &UserKey<'_>,
) -> SelectStatement {
    const GRANT: &str = r#""group_member"."group_id", "scim_group"."display_name", "group_mapping"."priority", CASE WHEN "group_mapping"."is_organization_admin" THEN 1 ELSE 0 END, CASE WHEN "group_mapping"."is_billing_manager" THEN 1 ELSE 0 END, "group_member"."added_at", "group_mapping_permission_group"."permission_group_id""#;
    let aggregate = match backend {
        DatabaseBackend::Postgres => format!("CAST(json_agg(json_build_array({GRANT})) AS text)"),
        _ => format!("json_group_array(json_array({GRANT}))"),
    };
    let mut grants = Query::select();
    grants
        .expr(Expr::cust(aggregate))
        .from(group_member::Entity)
        .inner_join(
            group_mapping::Entity,
            group_mapping::Column::GroupId
                .into_expr()
                .equals(group_member::Column::GroupId.as_column_ref()),
        )
        .inner_join(
            scim_group::Entity,
            scim_group::Column::Id
                .into_expr()
                .equals(group_member::Column::GroupId.as_column_ref()),
        )
        .left_join(
            group_mapping_permission_group::Entity,
            group_mapping_permission_group::Column::GroupId
                .into_expr()
                .equals(group_member::Column::GroupId.as_column_ref()),
        )
        .and_where(
            group_member::Column::UserId
                .into_expr()
                .equals(scim_user::Column::Id.as_column_ref()),
        )
        .and_where(scim_user::Column::Active.eq(true));
    let user_is = match key {
        UserKey::Id(id) => scim_user::Column::Id.eq(*id),
        UserKey::UserName(name) => scim_user::Column::UserNameLc.eq(name.to_lowercase()),
        UserKey::ExternalId(id) => scim_user::Column::ExternalId.eq(*id),
    };
    Query::select()
        .expr_as(scim_user::Column::Id.into_expr(), "user_id")
        .expr_as(scim_user::Column::UserName.into_expr(), "user_name")
        .expr_as(scim_user::Column::ExternalId.into_expr(), "external_id")
        .expr_as(scim_user::Column::Active.into_expr(), "active")
        .expr_as(
            tenant::Column::PermissionsVersion.into_expr(),
            "permissions_version",
        )
        .expr_as(Expr::SubQuery(None, Box::new(grants.into())), "grants")
        .from(scim_user::Entity)
        .inner_join(
            tenant::Entity,
            tenant::Column::Id
                .into_expr()
                .equals(scim_user::Column::TenantId.as_column_ref()),
        )
        .and_where(scim_user::Column::TenantId.eq(tenant_id))
        .and_where(user_is)
        .to_owned()
}

/// One sign-in read: the user, its tenant's permissions version and its grant rows.
struct SignIn {
    user: SignedUser,
    permissions_version: i64,
    rows: Vec<GrantRow>,
}

impl SignIn {
    async fn read(
        db: &impl ConnectionTrait,
        tenant_id: &str,
        key: &UserKey<'_>,
    ) -> Result<Self, Error> {
        let backend = db.get_database_backend();
        let statement = backend.build(&sign_in_statement(backend, tenant_id, key));
        let row = SignInRow::find_by_statement(statement)
            .one(db)
            .await?
            .ok_or_else(|| {
                let shown = match key {
                    UserKey::Id(shown) | UserKey::UserName(shown) | UserKey::ExternalId(shown) => {
                        *shown
                    }
                };
                Error::not_found("user", shown)
            })?;
        let tuples: Vec<GrantTuple> = match row.grants.as_deref() {
            Some(json) => serde_json::from_str(json).map_err(|err| {
                DbErr::Type(format!(
                    "the grants of user {} read back as {err}",
                    row.user_id
                ))
            })?,
            None => Vec::new(),
        };
        let mut rows = Vec::with_capacity(tuples.len());
        for GrantTuple(group_id, display_name, priority, admin, billing, since, named) in tuples {
            let added_at = since.as_deref().map(member_since).transpose()?;
            rows.push(GrantRow {
                user_id: row.user_id.clone(),
                group_id,
                display_name,
                priority,
                is_organization_admin: admin != 0,
                is_billing_manager: billing != 0,
                added_at,
                permission_group_id: named,
            });
        }
        Ok(Self {
            user: SignedUser {
                id: row.user_id,
                user_name: row.user_name,
                external_id: row.external_id,
                active: row.active,
            },
            permissions_version: row.permissions_version,
            rows,
        })
    }

    fn nothing(&self) -> Option<Nothing> {
        if !self.user.active {
            Some(Nothing::Inactive)
        } else if self.rows.is_empty() {
            Some(Nothing::NoMappedGroups)
        } else {
            None
        }
    }

    fn resolve(self, lookups: &Lookups) -> Effective {
        let mut effective = Effective {
            nothing: self.nothing(),
            user: self.user,
            organization_admin_via: Vec::new(),
            billing_manager_via: Vec::new(),
            products: Vec::new(),
        };
        if effective.nothing.is_none() {
            let ranked = Ranked::of(self.rows, &lookups.products);
            effective.products = grants(&ranked, lookups);
            effective.organization_admin_via = ranked.organization_admin_via;
            effective.billing_manager_via = ranked.billing_manager_via;
        }
        effective
    }
}

/// The user's effective permissions, from one consistent state of the database: usually
/// one statement, resolved against this process's copy of the tenant's lookups when the
/// version read with the user says it is current.
pub async fn of_user(
    storage: &Storage,
    tenant_id: &str,
    key: UserKey<'_>,
) -> Result<Effective, Error> {
    let sign_in = SignIn::read(storage.reads(), tenant_id, &key).await?;
    if sign_in.nothing().is_some() {
        return Ok(sign_in.resolve(&Lookups::default()));
    }
    let cache = storage.grant_lookups();
    if let Some(lookups) = cache.get(tenant_id, sign_in.permissions_version) {
        return Ok(sign_in.resolve(&lookups));
    }
    // Not kept, or kept at another version: read both again in one snapshot and keep
    // the lookups for the next reads.
    let txn = db::begin_snapshot(storage.reads()).await?;
    let read = async {
        let sign_in = SignIn::read(&txn, tenant_id, &key).await?;
        let lookups = Lookups::read(&txn, tenant_id).await?;
        Ok::<_, Error>((sign_in, lookups))
    }
    .await;
    txn.commit().await?;
    let (sign_in, lookups) = read?;
    let lookups = Arc::new(lookups);
    cache.keep(tenant_id, sign_in.permissions_version, Arc::clone(&lookups));
    Ok(sign_in.resolve(&lookups))
}

/// What a change to mappings can alter for a user: its roles, and per product the
/// permission group and the permissions it holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Holding {
    pub user_name: String,
    pub organization_admin: bool,
    pub billing_manager: bool,
    /// By product id.
    pub products: BTreeMap<String, HeldProduct>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeldProduct {
    pub product_name: String,
    pub permission_group_id: Option<String>,
    pub permissions: BTreeSet<String>,
}

/// The users a change can affect.
#[derive(Debug, Clone, Copy)]
pub enum Scope<'a> {
    /// The members of one group (a change to its mapping).
    MembersOf(&'a str),
    /// Every user of the tenant (a change to the priority order).
    Tenant,
    /// These users (a SCIM write that touches them).
    Users(&'a [String]),
}

/// Everything needed to resolve the holdings of many users, read in the caller's
/// transaction; resolving is left to `resolve`, off the database's time.
#[derive(Debug)]
pub struct HoldingRows {
    rows: Vec<NamedGrantRow>,
    lookups: Lookups,
}

/// Reads the grant rows of every active user in `scope`.
pub async fn holding_rows(
    db: &impl ConnectionTrait,
    tenant_id: &str,
    scope: Scope<'_>,
) -> Result<HoldingRows, Error> {
    let mut query = grant_rows()
        .join(JoinType::InnerJoin, member_user())
        .column(scim_user::Column::UserName)
        .filter(group_member::Column::TenantId.eq(tenant_id))
        .filter(scim_user::Column::Active.eq(true));
    match scope {
        Scope::MembersOf(group_id) => {
            query = query.filter(
                group_member::Column::UserId.in_subquery(
                    Query::select()
                        .column(group_member::Column::UserId)
                        .from(group_member::Entity)
                        .and_where(group_member::Column::GroupId.eq(group_id))
                        .to_owned(),
                ),
            );
        }
        Scope::Users(user_ids) => {
            query = query
                .filter(group_member::Column::UserId.is_in(user_ids.iter().map(String::as_str)));
        }
        Scope::Tenant => {}
    }
    Ok(HoldingRows {
        rows: query.into_model().all(db).await?,
        lookups: Lookups::read(db, tenant_id).await?,
    })
}

impl HoldingRows {
    /// The holdings of every user that holds anything, by user id.
    pub fn resolve(self) -> BTreeMap<String, Holding> {
        let mut by_user: BTreeMap<String, (String, Vec<GrantRow>)> = BTreeMap::new();
        for NamedGrantRow { user_name, row } in self.rows {
            by_user
                .entry(row.user_id.clone())
                .or_insert_with(|| (user_name, Vec::new()))
                .1
                .push(row);
        }
        by_user
            .into_iter()
            .map(|(user_id, (user_name, rows))| {
                let ranked = Ranked::of(rows, &self.lookups.products);
                let products = grants(&ranked, &self.lookups)
                    .into_iter()
                    .map(|grant| {
                        let held = HeldProduct {
                            product_name: grant.product_name,
                            permission_group_id: grant.permission_group_id,
                            permissions: grant.permissions.into_iter().collect(),
                        };
                        (grant.product_id, held)
                    })
                    .collect();
                let holding = Holding {
                    user_name,
                    organization_admin: ranked.is_organization_admin(),
                    billing_manager: !ranked.billing_manager_via.is_empty(),
                    products,
                };
                (user_id, holding)
            })
            .collect()
    }
}

/// A user holding a permission group of a product, and the group that gives it.
#[derive(Debug, Clone)]
pub struct ProductMember {
    pub user_id: String,
    pub user_name: String,
    pub permission_group_id: String,
    pub permission_group_name: String,
    pub granted_by: Via,
}

/// A page of the active users that hold a permission group of `product_id`, by user id,
/// each with the one the priority rule gives it (organization admins are not listed unless
/// a group of theirs names one).
pub async fn product_members(
    db: &DatabaseConnection,
    tenant_id: &str,
    product_id: &str,
    cursor: Option<&str>,
    limit: u64,
) -> Result<(Vec<ProductMember>, Option<String>), Error> {
    let txn = db.begin().await?;
    let page = product_members_in(&txn, tenant_id, product_id, cursor, limit).await;
    txn.commit().await?;
    page
}

async fn product_members_in(
    db: &impl ConnectionTrait,
    tenant_id: &str,
    product_id: &str,
    cursor: Option<&str>,
    limit: u64,
) -> Result<(Vec<ProductMember>, Option<String>), Error> {
    products::get(db, tenant_id, product_id).await?;
    let mut users = group_member::Entity::find()
        .select_only()
        .distinct()
        .column(group_member::Column::UserId)
        .join(JoinType::InnerJoin, member_named())
        .join(JoinType::InnerJoin, member_user())
        .filter(group_mapping_permission_group::Column::ProductId.eq(product_id))
        .filter(scim_user::Column::Active.eq(true))
        .order_by_asc(group_member::Column::UserId)
        .limit(limit.saturating_add(1));
    if let Some(cursor) = cursor {
        users = users.filter(group_member::Column::UserId.gt(cursor));
    }
    let mut user_ids: Vec<String> = users.into_tuple().all(db).await?;
    let next = if u64::try_from(user_ids.len()).unwrap_or(u64::MAX) > limit {
        user_ids.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        user_ids.last().cloned()
    } else {
        None
    };
    if user_ids.is_empty() {
        return Ok((Vec::new(), None));
    }
    #[expect(clippy::type_complexity, reason = "one row of a select of columns")]
    let mut rows: Vec<(
        String,
        String,
        String,
        i64,
        Option<DateTime<Utc>>,
        String,
        String,
        String,
    )> = group_member::Entity::find()
        .select_only()
        .join(JoinType::InnerJoin, member_named())
        .join(JoinType::InnerJoin, member_mapping())
        .join(JoinType::InnerJoin, member_group())
        .join(JoinType::InnerJoin, named_permission_group())
        .join(JoinType::InnerJoin, member_user())
        .column(group_member::Column::UserId)
        .column(scim_user::Column::UserName)
        .column(group_member::Column::GroupId)
        .column(group_mapping::Column::Priority)
        .column(group_member::Column::AddedAt)
        .column(scim_group::Column::DisplayName)
        .column(permission_group::Column::Id)
        .column(permission_group::Column::Name)
        .filter(group_mapping_permission_group::Column::ProductId.eq(product_id))
        .filter(group_member::Column::UserId.is_in(user_ids))
        .into_tuple()
        .all(db)
        .await?;
    rows.sort_by(|a, b| (&a.0, a.3, &a.2).cmp(&(&b.0, b.3, &b.2)));
    let mut members: Vec<ProductMember> = Vec::new();
    for (user_id, user_name, group_id, priority, member_since, display_name, pg_id, pg_name) in rows
    {
        if members.last().is_some_and(|m| m.user_id == user_id) {
            continue;
        }
        members.push(ProductMember {
            user_id,
            user_name,
            permission_group_id: pg_id,
            permission_group_name: pg_name,
            granted_by: Via {
                group_id,
                display_name,
                priority: u64::try_from(priority).unwrap_or(0),
                member_since,
            },
        });
    }
    Ok((members, next))
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn member_since_reads_every_spelling() {
        let at = Utc.with_ymd_and_hms(2026, 11, 29, 8, 30, 5).unwrap();
        for text in [
            "2026-11-29T08:30:05+00:00",
            "2026-11-29T09:30:05+01:00",
            "2026-11-29T08:30:05Z",
            "2026-11-29 08:30:05",
        ] {
            assert_eq!(member_since(text).unwrap(), at, "{text}");
        }
        assert_eq!(
            member_since("2026-11-29T08:30:05.250+00:00").unwrap(),
            at + chrono::Duration::milliseconds(250)
        );
        assert!(member_since("yesterday").is_err());
    }
}
