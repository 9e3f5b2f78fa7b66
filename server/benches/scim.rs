//! SCIM throughput over loopback HTTP on the embedded database: reads, filters, creates,
//! member adds to a small and a 100,000-member group, and group lists without members.
//! Run: `cargo bench -p server --bench scim`.

#![expect(clippy::unwrap_used, reason = "a benchmark fails loudly")]

mod common;

use std::{sync::Arc, time::Duration};

use common::{seed_group, seed_users};
use serde_json::json;
use server::config::{Argon2Params, Settings};

const CONCURRENCY: usize = 8;
const RUN_FOR: Duration = Duration::from_secs(4);

#[tokio::main]
async fn main() {
    let mut settings = Settings {
        // Argon2 runs once per token here; keep seeding quick.
        argon2: Argon2Params {
            m_cost: 1024,
            t_cost: 1,
            p_cost: 1,
        },
        ..Settings::default()
    };
    // The seeds pass the default limit of users per tenant (which the write connection
    // enforces even on seeds written directly), and the creates measured must not be 403s.
    settings.storage.limits.users = u64::MAX;
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
