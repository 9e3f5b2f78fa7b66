//! The dashboard against a real server: what the operator does with keys has the effect
//! the API shows.

use crossterm::event::KeyCode;
use tui::{
    api::CredentialStatus,
    app::{Loadable, Modal, Screen, log::StreamState},
};

use crate::harness::{Dashboard, Server};

/// Opens the first tenant's token screen.
async fn tokens_screen(dashboard: &mut Dashboard) {
    dashboard
        .until("the tenants are listed", |app| {
            app.tenants.loaded().is_some_and(|rows| !rows.is_empty())
        })
        .await;
    dashboard.press(KeyCode::Enter);
    dashboard.press(KeyCode::Tab);
    dashboard
        .until("the tokens are listed", |app| {
            app.screen == Screen::Tokens && app.detail.loaded().is_some()
        })
        .await;
}

/// Rotates with the form's mode `downs` presses below the first, confirms, and returns the
/// token the dialog showed (copied with `c`, then closed).
async fn rotate(dashboard: &mut Dashboard, downs: usize) -> String {
    dashboard.press(KeyCode::Char('R'));
    for _ in 0..downs {
        dashboard.press(KeyCode::Down);
    }
    dashboard.press(KeyCode::Enter);
    dashboard.press(KeyCode::Char('y'));
    dashboard
        .until("the new token is shown", |app| {
            matches!(app.modal, Some(Modal::TokenShown { .. }))
        })
        .await;
    let screen = dashboard.screen();
    assert!(screen.contains("will not be shown again"), "{screen}");
    dashboard.press(KeyCode::Char('c'));
    let token = dashboard.copied.lock().unwrap().last().cloned().unwrap();
    assert!(
        screen.contains(&token),
        "the dialog shows the token it copies"
    );
    dashboard.press(KeyCode::Enter);
    assert!(!dashboard.screen().contains(&token), "shown once");
    token
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_in_each_mode_takes_effect_as_chosen() {
    let server = Server::start().await;
    let (tenant, first) = server.tenant_with_token("Acme").await;
    let mut dashboard = Dashboard::connect(&server);
    tokens_screen(&mut dashboard).await;

    // When first used: the old token works until the new one has been used.
    let second = rotate(&mut dashboard, 0).await;
    assert_eq!(server.scim_status(&tenant, &first).await, 200);
    assert_eq!(server.scim_status(&tenant, &second).await, 200);
    assert_eq!(
        server.scim_status(&tenant, &first).await,
        401,
        "the new token's first use ended the old one"
    );

    // After the overlap: both work now; the old one is scheduled to end.
    let third = rotate(&mut dashboard, 1).await;
    assert_eq!(server.scim_status(&tenant, &second).await, 200);
    assert_eq!(server.scim_status(&tenant, &third).await, 200);
    assert_eq!(server.scim_status(&tenant, &second).await, 200);
    dashboard
        .until("the previous token shows as rotating", |app| {
            app.detail.loaded().is_some_and(|detail| {
                detail
                    .tokens
                    .iter()
                    .any(|t| t.status == CredentialStatus::Rotating && t.revoked_at.is_some())
            })
        })
        .await;

    // Now: the old token stops at once.
    let fourth = rotate(&mut dashboard, 2).await;
    assert_eq!(server.scim_status(&tenant, &third).await, 401);
    assert_eq!(server.scim_status(&tenant, &fourth).await, 200);

    // Revoking from the list: the selected (newest) token stops working.
    dashboard
        .until("the newest token is listed first", |app| {
            app.detail.loaded().is_some_and(|detail| {
                detail
                    .tokens
                    .first()
                    .is_some_and(|t| fourth.contains(&t.id))
            })
        })
        .await;
    dashboard.press(KeyCode::Char('g'));
    dashboard.press(KeyCode::Char('x'));
    dashboard.press(KeyCode::Char('y'));
    dashboard
        .until("the revocation is confirmed", |app| {
            app.pending.is_none()
                && app
                    .notice
                    .as_ref()
                    .is_some_and(|n| n.text.starts_with("Revoked"))
        })
        .await;
    assert_eq!(server.scim_status(&tenant, &fourth).await, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenants_are_created_and_deleted_from_the_list() {
    let server = Server::start().await;
    let mut dashboard = Dashboard::connect(&server);
    dashboard
        .until("the empty list", |app| {
            app.tenants.loaded().is_some_and(Vec::is_empty)
        })
        .await;
    assert!(dashboard.screen().contains("No tenants yet"));
    dashboard.press(KeyCode::Char('n'));
    dashboard.typed("Initech");
    dashboard.press(KeyCode::Enter);
    dashboard
        .until("the new tenant is listed", |app| {
            app.tenants
                .loaded()
                .is_some_and(|rows| rows.iter().any(|r| r.tenant.name == "Initech"))
        })
        .await;
    assert_eq!(server.client().tenants().await.unwrap().len(), 1);
    dashboard.press(KeyCode::Char('d'));
    dashboard.typed("Initech");
    dashboard.press(KeyCode::Enter);
    dashboard
        .until("the tenant is gone", |app| {
            app.tenants.loaded().is_some_and(Vec::is_empty)
        })
        .await;
    assert!(server.client().tenants().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scim_requests_appear_in_the_live_log_and_survive_a_restart_without_gaps() {
    let mut server = Server::start().await;
    let (tenant, token) = server.tenant_with_token("Acme").await;
    assert_eq!(
        server
            .create_user(&tenant, &token, "before@acme.test")
            .await,
        201
    );
    let mut dashboard = Dashboard::connect(&server);
    dashboard
        .until("the tenants are listed", |app| {
            app.tenants.loaded().is_some()
        })
        .await;
    dashboard.press(KeyCode::Enter);
    dashboard.press(KeyCode::Tab);
    dashboard.press(KeyCode::Tab);
    assert_eq!(dashboard.app().screen, Screen::Log);
    dashboard
        .until("the log is live with the earlier request", |app| {
            app.log.stream == StreamState::Live
                && app
                    .log
                    .entries
                    .iter()
                    .any(|e| e.summary.contains("before@acme.test"))
        })
        .await;

    assert_eq!(
        server
            .create_user(&tenant, &token, "during@acme.test")
            .await,
        201
    );
    dashboard
        .until("the new request is in the log", |app| {
            app.log
                .entries
                .iter()
                .any(|e| e.summary.contains("during@acme.test"))
        })
        .await;
    let screen = dashboard.screen();
    assert!(screen.contains("during@acme.test"), "{screen}");

    server.restart().await;
    // Requests the dashboard cannot have seen live: it was disconnected or reconnecting.
    for n in 0..5 {
        assert_eq!(
            server
                .create_user(&tenant, &token, &format!("after{n}@acme.test"))
                .await,
            201
        );
    }
    dashboard
        .until(
            "every request made across the restart is in the log",
            |app| {
                (0..5).all(|n| {
                    app.log
                        .entries
                        .iter()
                        .any(|e| e.summary.contains(&format!("after{n}@acme.test")))
                })
            },
        )
        .await;
    let ids: Vec<i64> = dashboard.app().log.entries.iter().map(|e| e.id).collect();
    let stored = server.client().activity(Some(&tenant), 1000).await.unwrap();
    let mut stored: Vec<i64> = stored.iter().filter_map(|e| e.id()).collect();
    stored.reverse();
    assert_eq!(ids, stored, "no gap, no duplicate, in order");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_goes_away_is_reported_and_found_again() {
    let mut server = Server::start().await;
    server.tenant_with_token("Acme").await;
    let mut dashboard = Dashboard::connect(&server);
    dashboard
        .until("the tenants are listed", |app| {
            app.tenants.loaded().is_some()
        })
        .await;
    server.stop_now().await;
    dashboard
        .until("the list says it is disconnected", |app| app.disconnected)
        .await;
    assert!(dashboard.screen().contains("disconnected"));
    server.restart().await;
    dashboard
        .until("connected again", |app| {
            !app.disconnected && matches!(app.tenants, Loadable::Loaded(_))
        })
        .await;
}

/// Maps a synced group to a permission group after its preview, checks the user's
/// permissions through the API, then follows the user's grant to the SCIM request that
/// added the membership.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_is_given_a_permission_group_after_its_preview() {
    use reqwest::Method;
    use serde_json::json;
    use tui::app::log::Detail;

    let server = Server::start().await;
    let (tenant, token) = server.tenant_with_token("Acme").await;
    let user = server
        .scim(
            &tenant,
            &token,
            Method::POST,
            "/Users",
            json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": "ada@acme.test",
                "active": true
            }),
        )
        .await;
    let user_id = user["id"].as_str().unwrap().to_owned();
    let group = server
        .scim(
            &tenant,
            &token,
            Method::POST,
            "/Groups",
            json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                "displayName": "Engineers"
            }),
        )
        .await;
    let group_id = group["id"].as_str().unwrap().to_owned();
    server
        .scim(
            &tenant,
            &token,
            Method::PATCH,
            &format!("/Groups/{group_id}"),
            json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{ "op": "Add", "path": "members", "value": [{ "value": user_id }] }]
            }),
        )
        .await;
    let product = server
        .admin(
            Method::POST,
            &format!("/admin/v1/tenants/{tenant}/products"),
            json!({ "name": "Main" }),
        )
        .await;
    let product_id = product["id"].as_str().unwrap();
    let editors = server
        .admin(
            Method::POST,
            &format!("/admin/v1/tenants/{tenant}/products/{product_id}/permission-groups"),
            json!({ "name": "Editors", "accessType": "full" }),
        )
        .await;

    let mut dashboard = Dashboard::connect(&server);
    dashboard
        .until("the tenants are listed", |app| {
            app.tenants.loaded().is_some_and(|rows| !rows.is_empty())
        })
        .await;
    dashboard.press(KeyCode::Enter);
    for _ in 0..3 {
        dashboard.press(KeyCode::Tab);
    }
    assert_eq!(dashboard.app().screen, Screen::Groups);
    dashboard
        .until("the groups and products are loaded", |app| {
            !app.groups.items.is_empty() && app.model.loaded().is_some()
        })
        .await;
    dashboard.press(KeyCode::Enter);
    dashboard.press(KeyCode::Down);
    dashboard.press(KeyCode::Down);
    dashboard.press(KeyCode::Right);
    dashboard.press(KeyCode::Enter);
    dashboard
        .until("the preview", |app| {
            matches!(app.modal, Some(Modal::Preview(_)))
        })
        .await;
    let screen = dashboard.screen();
    assert!(
        screen.contains("ada@acme.test"),
        "the preview names who gains:\n{screen}"
    );
    let before = server
        .client()
        .user_permissions(&tenant, &user_id)
        .await
        .unwrap();
    assert!(before.products.is_empty(), "nothing is saved by a preview");
    dashboard.press(KeyCode::Char('y'));
    dashboard
        .until("the mapping is saved and the list shows it", |app| {
            app.groups
                .items
                .first()
                .is_some_and(|g| g.mapping.is_some())
        })
        .await;
    let after = server
        .client()
        .user_permissions(&tenant, &user_id)
        .await
        .unwrap();
    assert_eq!(after.products.len(), 1, "{after:?}");
    assert_eq!(
        after.products[0].permission_group_name.as_deref(),
        editors["name"].as_str()
    );

    dashboard.press(KeyCode::Tab);
    assert_eq!(dashboard.app().screen, Screen::Users);
    dashboard
        .until("the users are loaded", |app| !app.users.items.is_empty())
        .await;
    dashboard.press(KeyCode::Enter);
    dashboard
        .until("the user's permissions are shown", |app| {
            matches!(app.user_detail, Some(Loadable::Loaded(_)))
        })
        .await;
    assert!(dashboard.screen().contains("Main: Editors"));
    dashboard.press(KeyCode::Char('l'));
    dashboard
        .until(
            "the request that added the membership is open in the log",
            |app| {
                matches!(&app.log.detail, Some(Detail::Loaded(detail))
                if detail.entry.method == "PATCH" && detail.entry.path.contains(&group_id))
            },
        )
        .await;
    assert_eq!(dashboard.app().screen, Screen::Log);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_admin_key_sees_only_its_tenant() {
    use reqwest::Method;
    use serde_json::json;

    let server = Server::start().await;
    let (acme, _) = server.tenant_with_token("Acme").await;
    server.tenant_with_token("Globex").await;
    let issued = server
        .admin(
            Method::POST,
            &format!("/admin/v1/tenants/{acme}/admin-keys"),
            json!({ "name": "Acme admins" }),
        )
        .await;
    let key = issued["key"].as_str().unwrap();
    let mut dashboard =
        Dashboard::connect_with(server.url(), key, &server.dir.path().join("acme.key"));
    dashboard
        .until("the tenant's overview", |app| {
            app.screen == Screen::Overview && app.detail.loaded().is_some()
        })
        .await;
    let screen = dashboard.screen();
    assert!(screen.contains("tenant admin"), "{screen}");
    assert!(screen.contains("Acme"), "{screen}");
    assert!(
        !screen.contains("Tenants"),
        "no tenant list to go to:\n{screen}"
    );
    dashboard
        .until("the tenant list holds only its tenant", |app| {
            app.tenants
                .loaded()
                .is_some_and(|rows| rows.len() == 1 && rows[0].tenant.id == acme)
        })
        .await;
    dashboard.press(KeyCode::Esc);
    assert_eq!(
        dashboard.app().screen,
        Screen::Overview,
        "nowhere to go back to"
    );
}
