//! Effective permissions, the read a host product makes on every sign-in: a user in 50
//! groups, in a tenant with 10,000 users, 1,000 groups and 500 mapped groups (5 products,
//! 3 permission groups each). On SQLite, and on PostgreSQL too when
//! `SCIM_BENCH_POSTGRES_URL` is set (it uses, and first empties, the schema
//! `bench_permissions`). Run: `cargo bench -p server --bench permissions`.

#![expect(clippy::unwrap_used, reason = "a benchmark fails loudly")]

mod common;

use std::{sync::Arc, time::Duration};

use common::{seed_group, seed_users};
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};
use server::config::{Argon2Params, Settings};

const CONCURRENCY: usize = 8;
const RUN_FOR: Duration = Duration::from_secs(4);
const USERS: usize = 10_000;
const GROUPS: usize = 1_000;
const MAPPED: usize = 500;
const MEASURED: usize = 100;
const GROUPS_PER_MEASURED_USER: usize = 50;

async fn bench(label: &str, database_url: Option<String>) {
    let settings = Settings {
        argon2: Argon2Params {
            m_cost: 1024,
            t_cost: 1,
            p_cost: 1,
        },
        ..Settings::default()
    };
    let server = common::start_on(database_url, settings).await;
    let db = server.state.db.clone();
    let (http, base, operator) = (
        server.http.clone(),
        server.base.clone(),
        server.operator.clone(),
    );
    let (tenant, _, _) = server.tenant("Org").await;

    let users = seed_users(&db, &tenant, "user", USERS).await;
    let mut members: Vec<Vec<String>> = vec![Vec::new(); GROUPS];
    for (u, user) in users.iter().enumerate().take(MEASURED) {
        for k in 0..GROUPS_PER_MEASURED_USER {
            members[(u * 7 + k * 19) % GROUPS].push(user.clone());
        }
    }
    for (g, list) in members.iter_mut().enumerate() {
        list.extend(
            (0..10).map(|k| users[MEASURED + (g * 31 + k * 97) % (USERS - MEASURED)].clone()),
        );
        list.sort();
        list.dedup();
    }
    let mut groups = Vec::with_capacity(GROUPS);
    for (g, list) in members.iter().enumerate() {
        groups.push(seed_group(&db, &tenant, &format!("Group {g}"), list).await);
    }

    let admin = |path: String| format!("{base}/admin/v1/tenants/{tenant}{path}");
    let mut permission_groups = Vec::new();
    for p in 0..5 {
        let product: Value = http
            .post(admin("/products".into()))
            .bearer_auth(&operator)
            .json(&json!({ "name": format!("Product {p}") }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let id = product["id"].as_str().unwrap().to_owned();
        let mut of_product = Vec::new();
        for body in [
            json!({ "name": "Admins", "accessType": "full" }),
            json!({ "name": "Readers", "accessType": "readOnly" }),
            json!({ "name": "Developers", "accessType": "custom", "permissions": ["canCreateOrUpdateConfig", "canDeleteConfig", "canCreateOrUpdateSetting"] }),
        ] {
            let group: Value = http
                .post(admin(format!("/products/{id}/permission-groups")))
                .bearer_auth(&operator)
                .json(&body)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            of_product.push(group["id"].as_str().unwrap().to_owned());
        }
        permission_groups.push(of_product);
    }
    for (g, group) in groups.iter().enumerate().take(MAPPED) {
        let ids: Vec<&String> = (0..5)
            .filter(|p| (g + p) % 3 == 0)
            .map(|p| &permission_groups[p][(g / 3) % 3])
            .collect();
        let resp = http
            .put(admin(format!("/groups/{group}/mapping")))
            .bearer_auth(&operator)
            .json(&json!({ "isOrganizationAdmin": g % 250 == 7, "isBillingManager": g % 100 == 3, "permissionGroupIds": ids }))
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_success());
    }

    let measured = Arc::new(users[..MEASURED].to_vec());
    let (url, key) = (Arc::new(admin(String::new())), Arc::new(operator));
    {
        // The floor: an authenticated admin read of one row.
        let (http, url, key) = (http.clone(), Arc::clone(&url), Arc::clone(&key));
        common::load(
            &format!("{label}: GET /admin/v1/tenants/{{id}} (baseline)"),
            CONCURRENCY,
            RUN_FOR,
            move |_, _| {
                let (http, url, key) = (http.clone(), url.to_string(), Arc::clone(&key));
                async move {
                    http.get(url)
                        .bearer_auth(key.as_str())
                        .send()
                        .await
                        .unwrap()
                }
            },
        )
        .await;
    }
    {
        let (http, url, key, measured) = (
            http.clone(),
            Arc::clone(&url),
            Arc::clone(&key),
            Arc::clone(&measured),
        );
        common::load(
            &format!("{label}: GET …/users/{{id}}/permissions (50 groups)"),
            CONCURRENCY,
            RUN_FOR,
            move |w, i| {
                let user = &measured[(w * 31 + i) % measured.len()];
                let (http, url, key) = (
                    http.clone(),
                    format!("{url}/users/{user}/permissions"),
                    Arc::clone(&key),
                );
                async move {
                    http.get(url)
                        .bearer_auth(key.as_str())
                        .send()
                        .await
                        .unwrap()
                }
            },
        )
        .await;
    }
    {
        let (http, url, key) = (http.clone(), Arc::clone(&url), Arc::clone(&key));
        common::load(
            &format!("{label}: GET …/user-permissions?userName=…"),
            CONCURRENCY,
            RUN_FOR,
            move |w, i| {
                let n = (w * 31 + i) % MEASURED;
                let (http, url, key) = (
                    http.clone(),
                    format!("{url}/user-permissions?userName=user{n}@example.com"),
                    Arc::clone(&key),
                );
                async move {
                    http.get(url)
                        .bearer_auth(key.as_str())
                        .send()
                        .await
                        .unwrap()
                }
            },
        )
        .await;
    }
    let path = format!("/admin/v1/tenants/{tenant}");
    common::wrk(
        &format!("{label}: GET /admin/v1/tenants/{{id}} (baseline)"),
        &base,
        vec![path.clone()],
        &key,
    )
    .await;
    common::wrk(
        &format!("{label}: GET …/users/{{id}}/permissions (50 groups)"),
        &base,
        measured
            .iter()
            .map(|user| format!("{path}/users/{user}/permissions"))
            .collect(),
        &key,
    )
    .await;
    {
        // A dryRun priority change over the whole tenant: the mapped order reversed.
        let priority = admin("/group-priority".into());
        let mut order: Vec<&String> = groups.iter().take(MAPPED).collect();
        order.reverse();
        let mut took = Vec::new();
        let mut changed = 0;
        for _ in 0..5 {
            let started = std::time::Instant::now();
            let resp = http
                .put(format!("{priority}?dryRun=true"))
                .bearer_auth(key.as_str())
                .json(&json!({ "groupIds": order }))
                .send()
                .await
                .unwrap();
            assert!(resp.status().is_success());
            let preview: Value = resp.json().await.unwrap();
            took.push(started.elapsed());
            changed = preview["changes"].as_array().unwrap().len();
        }
        took.sort();
        println!(
            "{label}: PUT …/group-priority?dryRun=true (500 mapped groups reversed): median {:.1} ms, max {:.1} ms, {changed} users would change",
            took[took.len() / 2].as_secs_f64() * 1000.0,
            took[took.len() - 1].as_secs_f64() * 1000.0,
        );
    }
}

#[tokio::main]
async fn main() {
    bench("SQLite", None).await;
    if let Ok(url) = std::env::var("SCIM_BENCH_POSTGRES_URL") {
        let admin = sea_orm::Database::connect(&url).await.unwrap();
        admin
            .execute_unprepared(
                "DROP SCHEMA IF EXISTS bench_permissions CASCADE; CREATE SCHEMA bench_permissions",
            )
            .await
            .unwrap();
        admin.close().await.unwrap();
        let separator = if url.contains('?') { '&' } else { '?' };
        let url = format!("{url}{separator}options=-c%20search_path%3Dbench_permissions");
        bench("PostgreSQL", Some(url)).await;
    }
}
