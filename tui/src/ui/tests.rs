//! Every screen and state drawn into `TestBackend` at 80×24 and 160×48, snapshot-tested.

use crossterm::event::KeyCode;
use ratatui::{Terminal, backend::TestBackend};

use super::view;
use crate::{
    api::{ActivityDetail, ChangeEvent, CredentialStatus, IssuedToken, Role, Secret},
    app::{
        App, Connection, KeySource, Loadable, Modal, Msg, Problem, Screen,
        log::{Detail, StreamState, tests::entry},
        tests::{ch, detail, in_tenant, key, ready, token},
    },
    client::Error,
};

const SIZES: [(u16, u16); 2] = [(80, 24), (160, 48)];

fn render(app: &App, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|frame| view(app, frame)).unwrap();
    terminal.backend().to_string()
}

/// Snapshots `app` at both sizes, named `<name>_80x24` and `<name>_160x48`.
fn snapshot(name: &str, app: &App) {
    for (width, height) in SIZES {
        insta::assert_snapshot!(
            format!("{name}_{width}x{height}"),
            render(app, width, height)
        );
    }
}

fn log_app() -> App {
    let mut app = in_tenant();
    app.screen = Screen::Log;
    let generation = app.log.generation;
    let mut entries = vec![
        entry(1, 201, "create", "created user ada@acme.test"),
        entry(2, 409, "create", "userName ada@acme.test is taken"),
        entry(3, 200, "patch", "Admins: added 3 members"),
        entry(4, 500, "patch", "storage unavailable"),
        entry(5, 401, "auth_failed", "bad token"),
    ];
    entries[2].quirks = vec!["capitalized_op".into()];
    app.update(Msg::LogArrived {
        generation,
        entries,
        unreadable: 0,
    });
    app.update(Msg::LogStream {
        generation,
        state: StreamState::Live,
    });
    app
}

#[test]
fn connecting() {
    let app = App::new("http://127.0.0.1:8080".into(), KeySource::Env);
    snapshot("connecting", &app);
}

#[test]
fn no_key() {
    let mut app = App::new(
        "http://127.0.0.1:8080".into(),
        KeySource::Missing("data/operator.key".into()),
    );
    app.start();
    app.update(Msg::KeyMissing);
    snapshot("no_key", &app);
}

#[test]
fn server_unreachable() {
    let mut app = App::new("http://127.0.0.1:8080".into(), KeySource::Env);
    app.update(Msg::Connected(Err(Error::Unreachable(
        "Connection refused (os error 111)".into(),
    ))));
    snapshot("server_unreachable", &app);
}

#[test]
fn key_refused() {
    let mut app = App::new(
        "http://127.0.0.1:8080".into(),
        KeySource::File("data/operator.key".into()),
    );
    app.connection = Connection::Failed(Problem::of(
        &Error::Api {
            status: 401,
            code: "unauthorized".into(),
            message: "unauthorized".into(),
        },
        "http://127.0.0.1:8080",
        &app.key_source,
    ));
    snapshot("key_refused", &app);
}

#[test]
fn tenants() {
    let app = ready(Role::Operator);
    snapshot("tenants", &app);
}

#[test]
fn tenants_empty_loading_and_failed() {
    let mut app = ready(Role::Operator);
    app.tenants = Loadable::Loaded(Vec::new());
    snapshot("tenants_empty", &app);
    app.tenants = Loadable::Loading;
    snapshot("tenants_loading", &app);
    app.update(Msg::Tenants(Err(Error::Unreachable(
        "Connection refused".into(),
    ))));
    snapshot("tenants_disconnected", &app);
}

#[test]
fn untrusted_names_are_shown_escaped() {
    let mut app = ready(Role::Operator);
    if let Loadable::Loaded(rows) = &mut app.tenants {
        rows[0].tenant.name = "Evil\u{1b}[2J\u{202E}Corp 名前".into();
    }
    let screen = render(&app, 160, 48);
    assert!(!screen.contains('\u{1b}'), "{screen}");
    assert!(
        screen.contains("Evil\\u{1b}[2J\\u{202e}Corp 名前"),
        "{screen}"
    );
}

#[test]
fn wide_characters_keep_the_columns_aligned() {
    let mut app = ready(Role::Operator);
    if let Loadable::Loaded(rows) = &mut app.tenants {
        rows[0].tenant.name = "株式会社テスト".into();
    }
    let screen = render(&app, 80, 24);
    let column = |needle: &str| {
        screen
            .lines()
            .find(|line| line.contains(needle))
            .and_then(|line| {
                let before = &line[..line.find("124")?];
                Some(unicode_width::UnicodeWidthStr::width(before))
            })
    };
    assert_eq!(column("株式会社"), column("Globex"), "{screen}");
}

#[test]
fn overview() {
    let mut app = in_tenant();
    if let Loadable::Loaded(detail) = &mut app.detail {
        let mut waiting = token("9c8b7a6f5e4d3c2b", CredentialStatus::Active);
        waiting.revoked_at = None;
        waiting.ends_on_first_use = Some("a1b2c3d4e5f60718".into());
        detail.tokens[0].status = CredentialStatus::Rotating;
        detail.tokens.insert(0, waiting);
    }
    snapshot("overview", &app);
}

#[test]
fn tokens() {
    let mut app = in_tenant();
    app.update(key(KeyCode::Tab));
    snapshot("tokens", &app);
    app.detail = Loadable::Loaded(crate::app::TenantDetail {
        tokens: Vec::new(),
        ..detail()
    });
    snapshot("tokens_empty", &app);
}

#[test]
fn rotation_dialogs() {
    let mut app = in_tenant();
    app.update(key(KeyCode::Tab));
    app.update(ch('R'));
    snapshot("rotate_form", &app);
    app.update(key(KeyCode::Enter));
    snapshot("rotate_confirm", &app);
    app.update(ch('y'));
    snapshot("rotate_pending", &app);
}

#[test]
fn token_shown_once() {
    let mut app = in_tenant();
    app.modal = Some(Modal::TokenShown {
        issued: IssuedToken {
            id: "0123456789abcdef0123456789abcdef".into(),
            // The real shape: scim_, 32 hex digits, _, 40 alphanumerics (78 characters).
            token: Secret::new(
                "scim_0123456789abcdef0123456789abcdef_SECRETSECRETSECRETSECRETSECRETSECRET1234",
            ),
            scim_url: "https://scim.example.com/scim/t1/v2".into(),
        },
        copied: false,
        warned: false,
    });
    snapshot("token_shown_once", &app);
    app.update(key(KeyCode::Esc));
    snapshot("token_shown_close_warning", &app);
}

#[test]
fn a_dialog_whose_lines_wrap_still_shows_its_keys() {
    let mut app = in_tenant();
    app.modal = Some(Modal::TokenShown {
        issued: IssuedToken {
            id: "0123456789abcdef0123456789abcdef".into(),
            token: Secret::new("scim_0123"),
            // A real tenant URL: with its label, longer than a line at 80 columns.
            scim_url: "http://127.0.0.1:18080/scim/01a23afd-a6cf-7234-8e5b-c16bf086c34b/v2".into(),
        },
        copied: false,
        warned: false,
    });
    let screen = render(&app, 80, 24);
    assert!(screen.contains("c copy · Enter close"), "{screen}");
    app.modal = None;
    app.update(ch('R'));
    app.update(key(KeyCode::Enter));
    let screen = render(&app, 80, 24);
    assert!(screen.contains("y issue · n back"), "{screen}");
}

#[test]
fn the_token_is_one_unbroken_line_at_80_columns() {
    let token = "scim_0123456789abcdef0123456789abcdef_SECRETSECRETSECRETSECRETSECRETSECRET1234";
    assert_eq!(token.len(), 78);
    let mut app = in_tenant();
    app.modal = Some(Modal::TokenShown {
        issued: IssuedToken {
            id: "0123456789abcdef0123456789abcdef".into(),
            token: Secret::new(token),
            scim_url: "https://scim.example.com/scim/t1/v2".into(),
        },
        copied: false,
        warned: false,
    });
    let screen = render(&app, 80, 24);
    assert!(
        screen.lines().any(|line| line.contains(token)),
        "the whole token on one line:\n{screen}"
    );
}

#[test]
fn revoke_and_delete_confirmations() {
    let mut app = in_tenant();
    app.update(key(KeyCode::Tab));
    app.update(ch('x'));
    snapshot("revoke_confirm", &app);
    let mut app = ready(Role::Operator);
    app.update(ch('d'));
    for c in "Acm".chars() {
        app.update(ch(c));
    }
    snapshot("delete_tenant", &app);
}

#[test]
fn live_log() {
    let app = log_app();
    snapshot("log", &app);
}

#[test]
fn live_log_paused_filtered_and_reconnecting() {
    let mut app = log_app();
    app.update(ch('s'));
    app.update(ch('s'));
    app.update(ch(' '));
    let generation = app.log.generation;
    app.update(Msg::LogArrived {
        generation,
        entries: vec![entry(6, 201, "create", "later")],
        unreadable: 0,
    });
    app.update(Msg::LogStream {
        generation,
        state: StreamState::Reconnecting("Connection refused".into()),
    });
    snapshot("log_paused_filtered_reconnecting", &app);
}

#[test]
fn live_log_empty_and_all_tenants() {
    let mut app = ready(Role::Operator);
    app.update(key(KeyCode::Tab));
    snapshot("log_empty_all_tenants", &app);
    let generation = app.log.generation;
    app.update(Msg::LogArrived {
        generation,
        entries: vec![entry(1, 201, "create", "created user ada@acme.test")],
        unreadable: 0,
    });
    snapshot("log_all_tenants", &app);
}

#[test]
fn live_log_detail() {
    let mut app = log_app();
    app.update(ch('k'));
    app.update(ch('k'));
    app.update(key(KeyCode::Enter));
    let mut shown = entry(3, 200, "patch", "Admins: added 3 members");
    shown.quirks = vec!["capitalized_op".into()];
    app.update(Msg::Entry {
        id: shown.id,
        result: Ok(ActivityDetail {
        entry: shown,
        request_body: Some(
            r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Add","path":"members","value":[{"value":"u1"}]}]}"#
                .into(),
        ),
        response_body: None,
        change_events: vec![ChangeEvent {
            id: 7,
            kind: "group.member_added".into(),
            resource_type: "Group".into(),
            resource_id: "g1".into(),
        }],
    }),
    });
    snapshot("log_detail", &app);
    app.log.detail = Some(Detail::Loading(3));
    snapshot("log_detail_loading", &app);
}

#[test]
fn help_overlay() {
    let mut app = log_app();
    app.update(ch('?'));
    snapshot("help_log", &app);
}

#[test]
fn the_detail_scrolls_to_the_end_of_a_long_wrapped_body_and_no_further() {
    let mut app = log_app();
    app.update(key(KeyCode::Enter));
    let Some(Detail::Loading(id)) = app.log.detail.clone() else {
        panic!("the detail opens");
    };
    let mut shown = entry(id, 400, "create", "truncated body");
    shown.summary = "truncated".into();
    // A truncated body is not JSON: one long line that wraps over many rows.
    let body = format!("{{\"userName\": \"{}…", "abc def ".repeat(400));
    app.update(Msg::Entry {
        id,
        result: Ok(ActivityDetail {
            entry: shown,
            request_body: Some(body),
            response_body: None,
            change_events: Vec::new(),
        }),
    });
    render(&app, 80, 24);
    let max = app.log.detail_max_scroll.get();
    assert!(max > 30, "the wrapped rows count, not the lines ({max})");
    app.update(ch('G'));
    assert_eq!(app.log.detail_scroll, max);
    let screen = render(&app, 80, 24);
    assert!(
        screen.contains("Response body"),
        "the end is reachable:\n{screen}"
    );
    app.update(ch('j'));
    assert_eq!(app.log.detail_scroll, max, "and no further");
}

#[test]
fn a_thousand_entries_draw_only_what_fits() {
    let mut app = log_app();
    let generation = app.log.generation;
    app.update(Msg::LogArrived {
        generation,
        entries: (10..2_010)
            .map(|id| entry(id, 201, "create", &format!("entry {id}")))
            .collect(),
        unreadable: 0,
    });
    let screen = render(&app, 80, 24);
    assert!(screen.contains("entry 2009"), "{screen}");
    assert!(!screen.contains("entry 10 "), "{screen}");
}

mod permission_screens {
    use super::*;
    use crate::{
        api::{
            EffectivePermissions, GrantSource, OutrankedGrant, PermissionPreview,
            ProductPermissionChange, ProductPermissions, UserPermissionChange,
        },
        app::{
            Loadable,
            permissions::{Change, Pending, UserDetail},
            tests::permission_screens::{group, model, on_groups, user},
        },
    };

    #[test]
    fn groups() {
        let app = on_groups();
        snapshot("groups", &app);
        let mut empty = on_groups();
        empty.groups.items.clear();
        snapshot("groups_empty", &empty);
    }

    #[test]
    fn mapping_editor_and_preview() {
        let mut app = on_groups();
        app.update(key(KeyCode::Enter));
        snapshot("mapping_editor", &app);
        app.modal = Some(Modal::Preview(Pending {
            change: Change::Unmap { group: "g1".into() },
            preview: PermissionPreview {
                users_considered: 3,
                changes: vec![UserPermissionChange {
                    user_name: "ada@acme.test".into(),
                    roles_gained: Vec::new(),
                    roles_lost: vec!["organizationAdmin".into()],
                    products: vec![ProductPermissionChange {
                        product_name: "Main".into(),
                        permission_group_before: Some("pg1".into()),
                        permission_group_after: None,
                        gained: Vec::new(),
                        lost: vec!["canViewSdkKey".into(), "canTagSetting".into()],
                    }],
                }],
            },
        }));
        snapshot("mapping_preview", &app);
    }

    #[test]
    fn users_and_effective_permissions() {
        let mut app = in_tenant();
        app.screen = Screen::Users;
        app.users.items = vec![user("u1", "ada@acme.test"), user("u2", "grace@acme.test")];
        app.users.loading = false;
        app.users.next = Some("more".into());
        snapshot("users", &app);
        let source = |name: &str, priority, request: Option<&str>| GrantSource {
            group_id: "g".into(),
            display_name: name.into(),
            priority,
            added_by_request_id: request.map(str::to_owned),
        };
        app.user_detail = Some(Loadable::Loaded(UserDetail {
            permissions: EffectivePermissions {
                user_id: "u1".into(),
                user_name: "ada@acme.test".into(),
                active: true,
                is_organization_admin: false,
                is_billing_manager: true,
                organization_admin_via: Vec::new(),
                billing_manager_via: vec![source("Finance", 2, None)],
                products: vec![ProductPermissions {
                    product_name: "Main".into(),
                    permission_group_name: Some("Editors".into()),
                    permissions: vec!["canCreateOrUpdateConfig".into(), "canViewSdkKey".into()],
                    granted_by: source("Admins", 1, Some("01a2385e-0a10-7097-9d69-ed3683cb1c2c")),
                    outranked: vec![OutrankedGrant {
                        display_name: "Staff".into(),
                        priority: 3,
                    }],
                }],
                reason: None,
            },
            grant: 0,
        }));
        snapshot("user_permissions", &app);
    }

    #[test]
    fn products_and_the_permission_group_editor() {
        let mut app = in_tenant();
        app.screen = Screen::Products;
        app.model = Loadable::Loaded(model());
        snapshot("products", &app);
        app.update(ch('j'));
        app.update(ch('e'));
        app.update(key(KeyCode::Down));
        app.update(key(KeyCode::Right));
        app.update(key(KeyCode::Right));
        snapshot("permission_group_editor", &app);
        app.model = Loadable::Loaded(crate::app::permissions::Model::default());
        app.modal = None;
        snapshot("products_empty", &app);
    }

    #[test]
    fn a_hundred_thousand_groups_draw_only_what_fits() {
        let mut app = on_groups();
        app.groups.items = (0..100_000)
            .map(|n| group(&format!("g{n}"), &format!("Group {n}"), None))
            .collect();
        app.groups.cursor = 99_999;
        let screen = render(&app, 80, 24);
        assert!(screen.contains("Group 99999"), "{screen}");
        assert!(!screen.contains("Group 0 "), "{screen}");
    }
}

/// Every tenant screen while its data loads, after it failed to load, and with the last
/// good data kept while the server cannot be reached.
mod states {
    use super::*;
    use crate::app::{
        permissions::Paged,
        tests::permission_screens::{group, model, user},
    };

    fn unreachable() -> Error {
        Error::Unreachable("Connection refused".into())
    }

    /// Acme open on `screen` with its data loaded.
    fn on(screen: Screen) -> App {
        let mut app = in_tenant();
        app.screen = screen;
        app.model = Loadable::Loaded(model());
        app.groups = Paged {
            items: vec![group("g1", "Admins", Some(1)), group("g2", "Staff", None)],
            loading: false,
            request: 1,
            ..Paged::default()
        };
        app.users = Paged {
            items: vec![user("u1", "ada@acme.test"), user("u2", "bob@acme.test")],
            loading: false,
            request: 2,
            ..Paged::default()
        };
        app
    }

    fn loading(app: &mut App) {
        app.detail = Loadable::Loading;
        app.model = Loadable::Loading;
        app.groups = Paged::default();
        app.users = Paged::default();
    }

    fn failed(app: &mut App) {
        let err = unreachable().to_string();
        app.detail = Loadable::Failed(err.clone());
        app.model = Loadable::Failed(err.clone());
        for error in [&mut app.groups.error, &mut app.users.error] {
            *error = Some(err.clone());
        }
        app.groups.items.clear();
        app.users.items.clear();
        app.disconnected = true;
    }

    /// The screens of an open tenant, with their snapshot names.
    const TENANT_SCREENS: [(&str, Screen); 5] = [
        ("overview", Screen::Overview),
        ("tokens", Screen::Tokens),
        ("groups", Screen::Groups),
        ("users", Screen::Users),
        ("products", Screen::Products),
    ];

    #[test]
    fn each_tenant_screen_loading_failed_and_disconnected() {
        for (name, screen) in TENANT_SCREENS {
            let mut app = on(screen);
            loading(&mut app);
            snapshot(&format!("state_{name}_loading"), &app);
            let mut app = on(screen);
            failed(&mut app);
            snapshot(&format!("state_{name}_failed"), &app);
            // A refresh that fails keeps what was shown and says so.
            let mut app = on(screen);
            app.update(Msg::Detail {
                tenant: "t1".into(),
                result: Err(unreachable()),
            });
            assert!(app.disconnected);
            assert!(app.detail.loaded().is_some(), "the last good detail stays");
            snapshot(&format!("state_{name}_disconnected"), &app);
        }
    }

    #[test]
    fn the_users_screen_empty() {
        let mut app = on(Screen::Users);
        app.users.items.clear();
        snapshot("state_users_empty", &app);
    }

    #[test]
    fn a_help_overlay_for_every_screen() {
        for (name, screen) in [("tenants", Screen::Tenants)]
            .into_iter()
            .chain(TENANT_SCREENS)
        {
            let mut app = on(screen);
            app.update(ch('?'));
            snapshot(&format!("help_{name}"), &app);
        }
    }

    #[test]
    fn a_log_stream_stopped_for_good() {
        let mut app = log_app();
        let generation = app.log.generation;
        app.update(Msg::LogStream {
            generation,
            state: StreamState::Stopped(Error::Api {
                status: 404,
                code: "not_found".into(),
                message: "no such tenant".into(),
            }),
        });
        snapshot("log_stopped", &app);
    }

    #[test]
    fn a_key_without_rights_and_a_server_of_another_version() {
        let mut app = App::new("http://127.0.0.1:8080".into(), KeySource::Env);
        app.start();
        app.update(Msg::Connected(Err(Error::Api {
            status: 403,
            code: "forbidden".into(),
            message: "not allowed".into(),
        })));
        snapshot("key_without_rights", &app);
        let mut app = App::new("http://127.0.0.1:8080".into(), KeySource::Env);
        app.start();
        let mut caller = crate::app::tests::caller(Role::Operator);
        caller.api_version = "2.0.0".into();
        app.update(Msg::Connected(Ok(caller)));
        snapshot("server_of_another_version", &app);
    }

    #[test]
    fn prompts_and_confirmations() {
        let mut app = ready(Role::Operator);
        app.update(ch('n'));
        snapshot("create_tenant_prompt", &app);
        let mut app = on(Screen::Products);
        app.update(ch('n'));
        snapshot("create_product_prompt", &app);
        let mut app = on(Screen::Products);
        app.update(ch('d'));
        snapshot("delete_product_confirm", &app);
        let mut app = on(Screen::Groups);
        app.update(key(KeyCode::Enter));
        app.update(ch(' '));
        app.update(key(KeyCode::Esc));
        snapshot("discard_changes", &app);
    }

    #[test]
    fn colours_carry_the_verdict_and_the_status_class() {
        let app = ready(Role::Operator);
        let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
        terminal.draw(|frame| view(&app, frame)).unwrap();
        let colour_of = |terminal: &Terminal<TestBackend>, word: &str| {
            let buffer = terminal.backend().buffer();
            let area = buffer.area;
            (0..area.height).find_map(|y| {
                let row: String = (0..area.width).map(|x| buffer[(x, y)].symbol()).collect();
                row.find(word).map(|at| {
                    let x = row[..at].chars().count() as u16;
                    buffer[(x, y)].fg
                })
            })
        };
        assert_eq!(
            colour_of(&terminal, "healthy"),
            Some(ratatui::style::Color::Green)
        );
        assert_eq!(
            colour_of(&terminal, "failing"),
            Some(ratatui::style::Color::Red)
        );
        let app = log_app();
        terminal.draw(|frame| view(&app, frame)).unwrap();
        assert_eq!(
            colour_of(&terminal, "500 patch"),
            Some(ratatui::style::Color::Red)
        );
        assert_eq!(
            colour_of(&terminal, "201 create"),
            Some(ratatui::style::Color::Green)
        );
    }
}
