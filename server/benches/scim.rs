//! SCIM throughput over loopback HTTP on the embedded database: reads, filters, creates,
//! member adds to a small and a 100,000-member group, and group lists without members.
//! Run: `cargo bench -p server --bench scim`.

#![expect(clippy::unwrap_used, reason = "a benchmark fails loudly")]

mod common;

use std::{sync::Arc, time::Duration};

use chrono::Utc;
use entity::{group_member, scim_group, scim_user};
use sea_orm::{EntityTrait, Set};
use serde_json::json;
use server::config::{Argon2Params, Settings};

const CONCURRENCY: usize = 8;
const RUN_FOR: Duration = Duration::from_secs(4);
const CHUNK: usize = 1000;

/// Inserts `count` users named `<prefix><n>` straight into the store; returns their ids.
async fn seed_users(
    db: &server::store::Storage,
    tenant: &str,
    prefix: &str,
    count: usize,
) -> Vec<String> {
    let now = Utc::now();
    let mut ids = Vec::with_capacity(count);
    for start in (0..count).step_by(CHUNK) {
        let rows: Vec<_> = (start..(start + CHUNK).min(count))
            .map(|n| {
                let id = uuid::Uuid::now_v7().to_string();
                ids.push(id.clone());
                let name = format!("{prefix}{n}@example.com");
                scim_user::ActiveModel {
                    id: Set(id),
                    tenant_id: Set(tenant.to_owned()),
                    user_name_lc: Set(name.clone()),
                    data: Set(json!({ "userName": name, "active": true }).to_string()),
                    user_name: Set(name),
                    external_id: Set(None),
                    display_name: Set(None),
                    display_name_lc: Set(None),
                    active: Set(true),
                    version: Set(1),
                    created_at: Set(now),
                    last_modified: Set(now),
                }
            })
            .collect();
        db.write(move |txn| {
            Box::pin(async move {
                scim_user::Entity::insert_many(rows).exec(txn).await?;
                Ok(())
            })
        })
        .await
        .unwrap();
    }
    ids
}

async fn seed_group(
    db: &server::store::Storage,
    tenant: &str,
    name: &str,
    members: &[String],
) -> String {
    let now = Utc::now();
    let id = uuid::Uuid::now_v7().to_string();
    let group = scim_group::ActiveModel {
        id: Set(id.clone()),
        tenant_id: Set(tenant.to_owned()),
        display_name: Set(name.to_owned()),
        display_name_lc: Set(name.to_lowercase()),
        external_id: Set(None),
        version: Set(1),
        created_at: Set(now),
        last_modified: Set(now),
    };
    let rows: Vec<_> = members
        .iter()
        .map(|user| group_member::ActiveModel {
            group_id: Set(id.clone()),
            user_id: Set(user.clone()),
            tenant_id: Set(tenant.to_owned()),
        })
        .collect();
    db.write(move |txn| {
        Box::pin(async move {
            scim_group::Entity::insert(group).exec(txn).await?;
            for chunk in rows.chunks(CHUNK) {
                group_member::Entity::insert_many(chunk.to_vec())
                    .exec(txn)
                    .await?;
            }
            Ok(())
        })
    })
    .await
    .unwrap();
    id
}

#[tokio::main]
async fn main() {
    let settings = Settings {
        // Argon2 runs once per token here; keep seeding quick.
        argon2: Argon2Params {
            m_cost: 1024,
            t_cost: 1,
            p_cost: 1,
        },
        ..Settings::default()
    };
    let server = common::start(settings).await;
    let db = server.state.db.clone();
    let http = server.http.clone();

    // 10,000 users: reads, filters, creates.
    let (people, scim, token) = server.tenant("People").await;
    let users = Arc::new(seed_users(&db, &people, "user", 10_000).await);
    let base = Arc::new(scim);
    {
        let (http, base, token, users) = (
            http.clone(),
            Arc::clone(&base),
            token.clone(),
            Arc::clone(&users),
        );
        common::load(
            "GET /Users/{id} (10,000 users)",
            CONCURRENCY,
            RUN_FOR,
            move |w, i| {
                let id = users[(w * 7919 + i * 104_729) % users.len()].clone();
                let (http, url, token) =
                    (http.clone(), format!("{base}/Users/{id}"), token.clone());
                async move { http.get(url).bearer_auth(token).send().await.unwrap() }
            },
        )
        .await;
    }
    {
        let (http, base, token) = (http.clone(), Arc::clone(&base), token.clone());
        common::load(
            "GET /Users?filter=userName eq \"…\" (10,000 users)",
            CONCURRENCY,
            RUN_FOR,
            move |w, i| {
                let n = (w * 7919 + i * 104_729) % 10_000;
                let url = format!("{base}/Users?filter=userName+eq+%22USER{n}@example.com%22");
                let (http, token) = (http.clone(), token.clone());
                async move { http.get(url).bearer_auth(token).send().await.unwrap() }
            },
        )
        .await;
    }
    {
        let (http, base, token) = (http.clone(), Arc::clone(&base), token.clone());
        common::load("POST /Users", CONCURRENCY, RUN_FOR, move |w, i| {
            let body = json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": format!("new-{w}-{i}@example.com"),
                "displayName": "New User",
                "emails": [{ "value": format!("new-{w}-{i}@example.com"), "type": "work", "primary": true }],
                "active": true
            });
            let (http, url, token) = (http.clone(), format!("{base}/Users"), token.clone());
            async move { http.post(url).bearer_auth(token).json(&body).send().await.unwrap() }
        })
        .await;
    }

    // Member adds: a group of 10 and a group of 100,000, each PATCH adding a new member.
    let (crowd, scim, token) = server.tenant("Crowd").await;
    let everyone = seed_users(&db, &crowd, "member", 130_000).await;
    let (members, spare) = everyone.split_at(100_000);
    let small = seed_group(&db, &crowd, "Small", &spare[..10]).await;
    let big = seed_group(&db, &crowd, "Big", members).await;
    let base = Arc::new(scim);
    for (label, group, pool) in [
        (
            "PATCH add member, group of 10",
            small,
            Arc::new(spare[10..15_000].to_vec()),
        ),
        (
            "PATCH add member, group of 100,000",
            big,
            Arc::new(spare[15_000..].to_vec()),
        ),
    ] {
        let (http, base, token) = (http.clone(), Arc::clone(&base), token.clone());
        common::load(label, CONCURRENCY, RUN_FOR, move |w, i| {
            let user = pool[(i * CONCURRENCY + w) % pool.len()].clone();
            let body = json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{ "op": "Add", "path": "members", "value": [{ "value": user }] }]
            });
            let (http, url, token) = (
                http.clone(),
                format!("{base}/Groups/{group}"),
                token.clone(),
            );
            async move {
                http.patch(url)
                    .bearer_auth(token)
                    .json(&body)
                    .send()
                    .await
                    .unwrap()
            }
        })
        .await;
    }

    // 1,000 groups, listed the way Entra reads them.
    let (teams, scim, token) = server.tenant("Teams").await;
    let team_members = seed_users(&db, &teams, "team", 50).await;
    for n in 0..1000 {
        seed_group(&db, &teams, &format!("Team {n}"), &team_members[..(n % 50)]).await;
    }
    {
        let url = Arc::new(format!(
            "{scim}/Groups?excludedAttributes=members&count=1000"
        ));
        let (http, token) = (http.clone(), token.clone());
        common::load(
            "GET /Groups?excludedAttributes=members (1,000 groups)",
            CONCURRENCY,
            RUN_FOR,
            move |_, _| {
                let (http, url, token) = (http.clone(), Arc::clone(&url), token.clone());
                async move {
                    http.get(url.as_str())
                        .bearer_auth(token)
                        .send()
                        .await
                        .unwrap()
                }
            },
        )
        .await;
    }
}
