//! A tenant's sync health: facts read from its provisioning log, its resources and its
//! SCIM tokens, and the verdict they add up to. Counts over a time window read only the
//! window's rows: the window's first id is found by time (an index), then the tenant's
//! rows from that id on (another).

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use entity::{activity_entry, scim_group, scim_token, scim_user};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use crate::error::Error;

/// Requests and failures in a window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Window {
    pub requests: u64,
    pub failures: u64,
}

/// What a verdict is made of.
#[derive(Debug, Clone, Default)]
pub struct SyncFacts {
    pub last_request_at: Option<DateTime<Utc>>,
    pub last_write_at: Option<DateTime<Utc>>,
    pub last_hour: Window,
    pub last_day: Window,
    /// The identity provider of the newest authenticated request.
    pub idp: Option<String>,
    pub active_users: u64,
    pub inactive_users: u64,
    pub groups: u64,
    /// The tenant's SCIM tokens that are neither revoked nor expired, newest first.
    pub live_tokens: Vec<scim_token::Model>,
    /// Requests of the last day that used each dialect quirk, by kind.
    pub quirks: BTreeMap<String, u64>,
}

const WRITES: [&str; 4] = ["create", "replace", "patch", "delete"];

/// A failure: any 5xx, and any 4xx but the 404 an identity provider gets when it looks up
/// a resource that is not there (Entra and Okta do before creating).
fn failed() -> Condition {
    use activity_entry::Column;
    Condition::any().add(Column::Status.gte(500)).add(
        Condition::all()
            .add(Column::Status.gte(400))
            .add(Column::Status.lt(500))
            .add(
                Condition::any()
                    .add(Column::Status.ne(404))
                    .add(Column::Operation.ne("get")),
            ),
    )
}

/// The id of the first entry (of any tenant) at or after `since`.
async fn first_since(
    db: &impl ConnectionTrait,
    since: DateTime<Utc>,
) -> Result<Option<i64>, Error> {
    use activity_entry::Column;
    Ok(activity_entry::Entity::find()
        .select_only()
        .column(Column::Id)
        .filter(Column::At.gte(since))
        .order_by_asc(Column::At)
        .into_tuple()
        .one(db)
        .await?)
}

/// Requests and failures of the tenant from entry `first` on.
async fn window(
    db: &impl ConnectionTrait,
    tenant_id: &str,
    first: Option<i64>,
) -> Result<Window, Error> {
    use activity_entry::Column;
    let Some(first) = first else {
        return Ok(Window::default());
    };
    let in_window = activity_entry::Entity::find()
        .filter(Column::TenantId.eq(tenant_id))
        .filter(Column::Id.gte(first));
    Ok(Window {
        requests: in_window.clone().count(db).await?,
        failures: in_window.filter(failed()).count(db).await?,
    })
}

/// How many of the tenant's requests from entry `first` on used each quirk.
async fn quirks(
    db: &impl ConnectionTrait,
    tenant_id: &str,
    first: Option<i64>,
) -> Result<BTreeMap<String, u64>, Error> {
    use activity_entry::Column;
    let mut counts = BTreeMap::new();
    let Some(first) = first else {
        return Ok(counts);
    };
    let used: Vec<Option<String>> = activity_entry::Entity::find()
        .select_only()
        .column(Column::Quirks)
        .filter(Column::TenantId.eq(tenant_id))
        .filter(Column::Id.gte(first))
        .filter(Column::Quirks.is_not_null())
        .into_tuple()
        .all(db)
        .await?;
    for kind in used.iter().flatten().flat_map(|kinds| kinds.split(',')) {
        *counts.entry(kind.to_owned()).or_insert(0) += 1;
    }
    Ok(counts)
}

/// The newest of the tenant's entries matching `condition`.
async fn newest(
    db: &impl ConnectionTrait,
    tenant_id: &str,
    condition: Condition,
) -> Result<Option<activity_entry::Model>, Error> {
    Ok(activity_entry::Entity::find()
        .filter(activity_entry::Column::TenantId.eq(tenant_id))
        .filter(condition)
        .order_by_desc(activity_entry::Column::Id)
        .one(db)
        .await?)
}

/// The tenant's entries sync health reads however old they are: its newest, its newest
/// successful write, its newest authenticated request. The log's bound on entries keeps
/// them (`activity::retention`).
pub struct Lasts {
    pub request: Option<activity_entry::Model>,
    pub write: Option<activity_entry::Model>,
    pub authenticated: Option<activity_entry::Model>,
}

impl Lasts {
    pub async fn of(db: &impl ConnectionTrait, tenant_id: &str) -> Result<Self, Error> {
        use activity_entry::Column;
        Ok(Self {
            request: newest(db, tenant_id, Condition::all()).await?,
            write: newest(
                db,
                tenant_id,
                Condition::all()
                    .add(Column::Operation.is_in(WRITES))
                    .add(Column::Status.lt(300)),
            )
            .await?,
            authenticated: newest(
                db,
                tenant_id,
                Condition::all().add(Column::Operation.ne("auth_failed")),
            )
            .await?,
        })
    }

    pub fn ids(&self) -> impl Iterator<Item = i64> + '_ {
        [&self.request, &self.write, &self.authenticated]
            .into_iter()
            .flatten()
            .map(|entry| entry.id)
    }
}

pub async fn facts(
    db: &impl ConnectionTrait,
    tenant_id: &str,
    now: DateTime<Utc>,
) -> Result<SyncFacts, Error> {
    let Lasts {
        request: last,
        write: last_write,
        authenticated,
    } = Lasts::of(db, tenant_id).await?;
    let users: Vec<(bool, i64)> = scim_user::Entity::find()
        .select_only()
        .column(scim_user::Column::Active)
        .column_as(scim_user::Column::Id.count(), "n")
        .filter(scim_user::Column::TenantId.eq(tenant_id))
        .group_by(scim_user::Column::Active)
        .into_tuple()
        .all(db)
        .await?;
    let count_of = |active: bool| {
        users
            .iter()
            .find(|(is, _)| *is == active)
            .map_or(0, |(_, n)| u64::try_from(*n).unwrap_or(0))
    };
    let hour = first_since(db, now - Duration::hours(1)).await?;
    let day = first_since(db, now - Duration::days(1)).await?;
    let live_tokens = scim_token::Entity::find()
        .filter(scim_token::Column::TenantId.eq(tenant_id))
        // A token a rotation superseded works until its end: it is live until then.
        .filter(
            Condition::any()
                .add(scim_token::Column::RevokedAt.is_null())
                .add(scim_token::Column::RevokedAt.gt(now)),
        )
        .filter(
            Condition::any()
                .add(scim_token::Column::ExpiresAt.is_null())
                .add(scim_token::Column::ExpiresAt.gt(now)),
        )
        .order_by_desc(scim_token::Column::CreatedAt)
        .all(db)
        .await?;
    Ok(SyncFacts {
        last_request_at: last.map(|entry| entry.at),
        last_write_at: last_write.map(|entry| entry.at),
        last_hour: window(db, tenant_id, hour).await?,
        last_day: window(db, tenant_id, day).await?,
        idp: authenticated.map(|entry| entry.idp),
        active_users: count_of(true),
        inactive_users: count_of(false),
        groups: scim_group::Entity::find()
            .filter(scim_group::Column::TenantId.eq(tenant_id))
            .count(db)
            .await?,
        live_tokens,
        quirks: quirks(db, tenant_id, day).await?,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verdict {
    Healthy,
    Warning,
    Failing,
}

/// Failures in the last hour that make a tenant failing, when they are also at least
/// half of its requests.
const FAILING_AT: u64 = 5;

/// A token expiring sooner than this makes a tenant warn.
const EXPIRY_WARNING_DAYS: i64 = 7;

/// How long a new token may go unused, while an older one is still live, before the
/// tenant warns that its identity provider may not have been given it.
const UNUSED_AFTER_ROTATION_HOURS: i64 = 1;

/// The verdict and its reasons, worst first.
pub fn verdict(facts: &SyncFacts, now: DateTime<Utc>, silence: Duration) -> (Verdict, Vec<String>) {
    let mut reasons: Vec<(Verdict, String)> = Vec::new();
    let hour = facts.last_hour;
    if hour.failures >= FAILING_AT && hour.failures * 2 >= hour.requests {
        reasons.push((
            Verdict::Failing,
            format!(
                "{} of {} requests in the last hour failed",
                hour.failures, hour.requests
            ),
        ));
    } else if hour.failures > 0 {
        reasons.push((
            Verdict::Warning,
            format!(
                "{} of {} requests in the last hour failed",
                hour.failures, hour.requests
            ),
        ));
    }
    if facts.live_tokens.is_empty() {
        reasons.push((
            Verdict::Failing,
            "no live SCIM token: the identity provider cannot authenticate".to_owned(),
        ));
    }
    match facts.last_request_at {
        None => reasons.push((
            Verdict::Warning,
            "no request from an identity provider yet".to_owned(),
        )),
        Some(at) if now - at > silence => reasons.push((
            Verdict::Warning,
            format!(
                "silent: no request for {} minutes (more than {})",
                (now - at).num_minutes(),
                silence.num_minutes()
            ),
        )),
        Some(_) => {}
    }
    // The identity provider loses its access when the last of the live tokens ends: a token
    // a rotation superseded ends by design while its successor goes on.
    let ends =
        |token: &scim_token::Model| super::credentials::ends_at(token.expires_at, token.revoked_at);
    let lasting = facts
        .live_tokens
        .iter()
        .max_by_key(|token| ends(token).map_or((1, None), |end| (0, Some(end))));
    if let Some(token) = lasting
        && let Some(end) = ends(token)
        && end - now < Duration::days(EXPIRY_WARNING_DAYS)
    {
        let how = if token.expires_at == Some(end) {
            "expires"
        } else {
            "stops working (a rotation superseded it)"
        };
        reasons.push((
            Verdict::Warning,
            format!(
                "SCIM token {} {how} at {}, and no live token outlasts it",
                token.id,
                end.to_rfc3339()
            ),
        ));
    }
    if let [newest, _, ..] = facts.live_tokens.as_slice()
        && newest.last_used_at.is_none()
        && now - newest.created_at > Duration::hours(UNUSED_AFTER_ROTATION_HOURS)
    {
        reasons.push((
            Verdict::Warning,
            format!(
                "SCIM token {} is unused since it was issued while an older one is live: was the identity provider given it?",
                newest.id
            ),
        ));
    }
    reasons.sort_by_key(|(verdict, _)| std::cmp::Reverse(*verdict));
    let worst = reasons
        .first()
        .map_or(Verdict::Healthy, |(verdict, _)| *verdict);
    (
        worst,
        reasons.into_iter().map(|(_, reason)| reason).collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(
        id: &str,
        created: DateTime<Utc>,
        used: bool,
        expires: Option<DateTime<Utc>>,
    ) -> scim_token::Model {
        scim_token::Model {
            id: id.to_owned(),
            tenant_id: "t".to_owned(),
            name: None,
            secret_hash: String::new(),
            created_at: created,
            expires_at: expires,
            revoked_at: None,
            last_used_at: used.then_some(created),
            ends_on_first_use: None,
        }
    }

    #[test]
    fn verdicts_follow_failures_silence_and_tokens() {
        let now = DateTime::parse_from_rfc3339("2026-12-02T12:00:00Z")
            .unwrap()
            .to_utc();
        let silence = Duration::minutes(120);
        let mut facts = SyncFacts {
            last_request_at: Some(now - Duration::minutes(5)),
            last_hour: Window {
                requests: 100,
                failures: 0,
            },
            live_tokens: vec![token("a", now - Duration::days(30), true, None)],
            ..SyncFacts::default()
        };
        assert_eq!(verdict(&facts, now, silence), (Verdict::Healthy, vec![]));

        facts.last_hour.failures = 3;
        assert_eq!(verdict(&facts, now, silence).0, Verdict::Warning);
        facts.last_hour = Window {
            requests: 8,
            failures: 6,
        };
        let (worst, reasons) = verdict(&facts, now, silence);
        assert_eq!(worst, Verdict::Failing);
        assert_eq!(reasons, ["6 of 8 requests in the last hour failed"]);

        facts.last_hour = Window::default();
        facts.last_request_at = Some(now - Duration::minutes(121));
        let (worst, reasons) = verdict(&facts, now, silence);
        assert_eq!(worst, Verdict::Warning);
        assert!(
            reasons[0].starts_with("silent: no request for 121 minutes"),
            "{reasons:?}"
        );

        facts.last_request_at = Some(now);
        facts.live_tokens = vec![
            token(
                "new",
                now - Duration::hours(2),
                false,
                Some(now + Duration::days(3)),
            ),
            scim_token::Model {
                revoked_at: Some(now + Duration::hours(1)),
                ..token("old", now - Duration::days(30), true, None)
            },
        ];
        let (worst, reasons) = verdict(&facts, now, silence);
        assert_eq!(worst, Verdict::Warning);
        assert_eq!(reasons.len(), 2, "{reasons:?}");
        assert!(reasons[0].contains("new expires"), "{reasons:?}");
        assert!(reasons[1].contains("unused since it was issued"));

        // A token that outlasts the others: the rotated one ending soon is no warning.
        facts.live_tokens[0].expires_at = None;
        let (_, reasons) = verdict(&facts, now, silence);
        assert_eq!(reasons.len(), 1, "{reasons:?}");
        // Its successor revoked, the superseded token is the last, and ends within the hour.
        facts.live_tokens.remove(0);
        let (worst, reasons) = verdict(&facts, now, silence);
        assert_eq!(worst, Verdict::Warning);
        assert!(reasons[0].contains("old stops working"), "{reasons:?}");

        facts.live_tokens.clear();
        assert_eq!(verdict(&facts, now, silence).0, Verdict::Failing);
    }
}
