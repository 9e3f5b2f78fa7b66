//! For random users, memberships, mappings and priorities, the effective permissions the API
//! answers equal those of a small reference implementation of ConfigCat's rules.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use proptest::{
    prelude::*,
    test_runner::{Config, TestCaseError, TestRunner},
};
use serde_json::{Value, json};

use crate::helpers::{TestApp, json_of};

on_every_backend!(effective_permissions_match_the_reference);

const USERS: usize = 4;
const GROUPS: usize = 4;

/// A permission group: name, access type, listed permissions.
type Definition = (&'static str, &'static str, &'static [&'static str]);

/// Each product with its two permission groups.
const PRODUCTS: [(&str, [Definition; 2]); 2] = [
    (
        "Main",
        [
            ("Everything", "full", &[]),
            ("Taggers", "custom", &["canDeleteTag", "canTagSetting"]),
        ],
    ),
    (
        "Docs",
        [
            ("Lookers", "readOnly", &[]),
            ("Editors", "custom", &["canCreateOrUpdateConfig"]),
        ],
    ),
];

#[derive(Debug, Clone)]
struct Mapping {
    admin: bool,
    billing: bool,
    /// Per product: the index of the permission group named, if any.
    names: [Option<usize>; 2],
}

#[derive(Debug, Clone)]
struct Scenario {
    active: Vec<bool>,
    /// `member[g][u]`: user `u` is in group `g`.
    member: Vec<Vec<bool>>,
    mappings: Vec<Option<Mapping>>,
    /// The groups in priority order (unmapped ones are skipped).
    order: Vec<usize>,
}

fn scenario() -> impl Strategy<Value = Scenario> {
    let mapping = (
        any::<bool>(),
        any::<bool>(),
        proptest::option::of(0..2usize),
        proptest::option::of(0..2usize),
    )
        .prop_map(|(admin, billing, a, b)| Mapping {
            // Admins are rarer, so most cases exercise the per-product rule.
            admin: admin && billing,
            billing,
            names: [a, b],
        });
    (
        proptest::collection::vec(prop::bool::weighted(0.8), USERS),
        proptest::collection::vec(proptest::collection::vec(any::<bool>(), USERS), GROUPS),
        proptest::collection::vec(proptest::option::weighted(0.75, mapping), GROUPS),
        Just((0..GROUPS).collect::<Vec<_>>()).prop_shuffle(),
    )
        .prop_map(|(active, member, mappings, order)| Scenario {
            active,
            member,
            mappings,
            order,
        })
}

/// What the reference says a user holds: admin, billing, reason, and per product
/// (permission group name, permissions, granting group).
type Expected = (
    bool,
    bool,
    Option<&'static str>,
    BTreeMap<String, (Option<String>, Vec<String>, String)>,
);

fn reference(s: &Scenario, user: usize, catalog: &[(String, String)]) -> Expected {
    let everything: Vec<String> = catalog.iter().map(|(name, _)| name.clone()).collect();
    let reads: Vec<String> = catalog
        .iter()
        .filter(|(_, access)| access == "read")
        .map(|(name, _)| name.clone())
        .collect();
    if !s.active[user] {
        return (false, false, Some("inactive"), BTreeMap::new());
    }
    let groups: Vec<usize> = s
        .order
        .iter()
        .copied()
        .filter(|g| s.member[*g][user] && s.mappings[*g].is_some())
        .collect();
    if groups.is_empty() {
        return (false, false, Some("noMappedGroups"), BTreeMap::new());
    }
    let mapping = |g: usize| s.mappings[g].as_ref().unwrap();
    let admin = groups.iter().any(|g| mapping(*g).admin);
    let billing = groups.iter().any(|g| mapping(*g).billing);
    let first_admin = groups.iter().find(|g| mapping(**g).admin);
    let mut products = BTreeMap::new();
    for (p, (product, permission_groups)) in PRODUCTS.iter().enumerate() {
        let winner = groups
            .iter()
            .find_map(|g| mapping(*g).names[p].map(|pg| (*g, pg)));
        let entry = match (winner, first_admin) {
            (Some((g, pg)), _) => {
                let (name, access, listed) = permission_groups[pg];
                let permissions = if admin {
                    everything.clone()
                } else {
                    match access {
                        "full" => everything.clone(),
                        "readOnly" => reads.clone(),
                        _ => {
                            let mut listed: Vec<String> =
                                listed.iter().map(|p| (*p).to_owned()).collect();
                            listed.sort();
                            listed
                        }
                    }
                };
                (Some(name.to_owned()), permissions, format!("G{g}"))
            }
            (None, Some(g)) => (None, everything.clone(), format!("G{g}")),
            (None, None) => continue,
        };
        products.insert((*product).to_owned(), entry);
    }
    (admin, billing, None, products)
}

fn answered(body: &Value) -> Expected {
    let reason = match body["reason"].as_str() {
        Some("inactive") => Some("inactive"),
        Some("noMappedGroups") => Some("noMappedGroups"),
        _ => None,
    };
    let products = body["products"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let permissions = p["permissions"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap().to_owned())
                .collect();
            (
                p["productName"].as_str().unwrap().to_owned(),
                (
                    p["permissionGroupName"].as_str().map(str::to_owned),
                    permissions,
                    p["grantedBy"]["displayName"].as_str().unwrap().to_owned(),
                ),
            )
        })
        .collect();
    (
        body["isOrganizationAdmin"].as_bool().unwrap(),
        body["isBillingManager"].as_bool().unwrap(),
        reason,
        products,
    )
}

static TENANTS: AtomicUsize = AtomicUsize::new(0);

async fn check(
    app: &TestApp,
    s: &Scenario,
    catalog: &[(String, String)],
) -> Result<(), TestCaseError> {
    let scim = app
        .scim(&format!("Prop {}", TENANTS.fetch_add(1, Ordering::Relaxed)))
        .await;
    let tenant = scim.tenant.clone();
    let key = &app.operator_key;
    let mut users = Vec::new();
    for (u, active) in s.active.iter().enumerate() {
        let user = scim
            .create_user(json!({ "userName": format!("u{u}@prop.test"), "active": active }))
            .await;
        users.push(user["id"].as_str().unwrap().to_owned());
    }
    let mut groups = Vec::new();
    for (g, members) in s.member.iter().enumerate() {
        let members: Vec<Value> = members
            .iter()
            .enumerate()
            .filter(|(_, is)| **is)
            .map(|(u, _)| json!({ "value": users[u] }))
            .collect();
        groups.push(
            scim.create_group(json!({ "displayName": format!("G{g}"), "members": members }))
                .await,
        );
    }
    let mut permission_groups = Vec::new();
    for (product, definitions) in PRODUCTS {
        let product_id = app.create_product(&tenant, product).await;
        let mut ids = Vec::new();
        for (name, access, listed) in definitions {
            let mut body = json!({ "name": name, "accessType": access });
            if access == "custom" {
                body["permissions"] = json!(listed);
            }
            ids.push(
                app.create_permission_group(&tenant, &product_id, body)
                    .await,
            );
        }
        permission_groups.push(ids);
    }
    // Map in a fixed order, then set the priority order to the scenario's.
    for (g, mapping) in s.mappings.iter().enumerate() {
        let Some(mapping) = mapping else { continue };
        let ids: Vec<&String> = mapping
            .names
            .iter()
            .enumerate()
            .filter_map(|(p, pg)| pg.map(|pg| &permission_groups[p][pg]))
            .collect();
        let resp = app
            .admin_put(
                key,
                &format!("/admin/v1/tenants/{tenant}/groups/{}/mapping", groups[g]),
                json!({ "isOrganizationAdmin": mapping.admin, "isBillingManager": mapping.billing, "permissionGroupIds": ids }),
            )
            .await;
        prop_assert!(resp.0.status().is_success());
    }
    let order: Vec<&String> = s
        .order
        .iter()
        .filter(|g| s.mappings[**g].is_some())
        .map(|g| &groups[*g])
        .collect();
    let resp = app
        .admin_put(
            key,
            &format!("/admin/v1/tenants/{tenant}/group-priority"),
            json!({ "groupIds": order }),
        )
        .await;
    prop_assert!(resp.0.status().is_success());

    for (u, user) in users.iter().enumerate() {
        let resp = app
            .admin_get(
                key,
                &format!("/admin/v1/tenants/{tenant}/users/{user}/permissions"),
            )
            .await;
        let body = json_of(resp).await;
        prop_assert_eq!(
            answered(&body),
            reference(s, u, catalog),
            "user {} in {:?}: {}",
            u,
            s,
            body
        );
    }
    Ok(())
}

async fn effective_permissions_match_the_reference(app: TestApp) {
    let catalog: Vec<(String, String)> = json_of(
        app.admin_get(&app.operator_key, "/admin/v1/permission-catalog?limit=1000")
            .await,
    )
    .await["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_owned(),
                p["access"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let handle = tokio::runtime::Handle::current();
    let mut runner = TestRunner::new(Config {
        cases: 24,
        max_shrink_iters: 64,
        ..Config::default()
    });
    let outcome = tokio::task::block_in_place(|| {
        runner.run(&scenario(), |s| handle.block_on(check(&app, &s, &catalog)))
    });
    if let Err(failure) = outcome {
        panic!("{failure}");
    }
}
