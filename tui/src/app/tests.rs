//! `update` for every key path and message, with fixtures the drawing tests share.

use chrono::{TimeZone, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::{log::tests::entry, *};
use crate::api::{
    ActivityDetail, CredentialStatus, RequestCounts, Role, Secret, UserCounts, Verdict,
};

pub fn at(hour: u32, minute: u32) -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 2, hour, minute, 0)
        .single()
        .unwrap_or_default()
}

pub fn caller(role: Role) -> Caller {
    Caller {
        key_id: "k1".into(),
        tenant_id: (role == Role::TenantAdmin).then(|| "t1".to_owned()),
        role,
        api_version: "1.0.0".into(),
    }
}

pub fn tenant(id: &str, name: &str) -> Tenant {
    Tenant {
        id: id.into(),
        name: name.into(),
        scim_url: format!("https://scim.example.com/scim/{id}/v2"),
        created_at: at(8, 0),
    }
}

pub fn health(id: &str, name: &str, verdict: Verdict) -> SyncHealth {
    SyncHealth {
        tenant_id: id.into(),
        tenant_name: name.into(),
        verdict,
        reasons: match verdict {
            Verdict::Healthy => Vec::new(),
            Verdict::Warning => vec!["3 of 40 requests failed in the last hour".into()],
            Verdict::Failing => vec!["no SCIM token is live".into()],
        },
        last_request_at: Some(at(9, 30)),
        last_successful_write_at: Some(at(9, 29)),
        last_hour: RequestCounts {
            requests: 40,
            failures: u64::from(verdict != Verdict::Healthy) * 3,
        },
        last_day: RequestCounts {
            requests: 900,
            failures: 3,
        },
        identity_provider: Some("entra".into()),
        users: UserCounts {
            active: 120,
            inactive: 4,
        },
        groups: 12,
        live_tokens: 1,
    }
}

pub fn token(id: &str, status: CredentialStatus) -> Credential {
    Credential {
        id: id.into(),
        name: None,
        status,
        created_at: at(8, 5),
        expires_at: None,
        revoked_at: (status != CredentialStatus::Active).then(|| at(10, 0)),
        last_used_at: Some(at(9, 30)),
        ends_on_first_use: None,
    }
}

pub fn key(code: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

pub fn ch(c: char) -> Msg {
    key(KeyCode::Char(c))
}

pub fn typed(app: &mut App, text: &str) -> Vec<Cmd> {
    text.chars().flat_map(|c| app.update(ch(c))).collect()
}

/// Connected as `role`, with two tenants listed.
pub fn ready(role: Role) -> App {
    let mut app = App::new("http://127.0.0.1:8080".into(), KeySource::Env);
    app.update(Msg::Connected(Ok(caller(role))));
    app.update(Msg::Tenants(Ok(vec![
        TenantRow {
            tenant: tenant("t1", "Acme"),
            health: Some(health("t1", "Acme", Verdict::Healthy)),
        },
        TenantRow {
            tenant: tenant("t2", "Globex"),
            health: Some(health("t2", "Globex", Verdict::Failing)),
        },
    ])));
    app
}

pub fn detail() -> TenantDetail {
    TenantDetail {
        tenant: tenant("t1", "Acme"),
        health: health("t1", "Acme", Verdict::Warning),
        tokens: vec![
            token("a1b2c3d4e5f60718", CredentialStatus::Active),
            token("0f9e8d7c6b5a4321", CredentialStatus::Revoked),
        ],
    }
}

/// A token just issued for Acme.
pub fn issued() -> IssuedToken {
    IssuedToken {
        id: "n1".into(),
        token: Secret::new("scim_n1_secretsecret"),
        scim_url: "https://scim.example.com/scim/t1/v2".into(),
    }
}

/// An operator with Acme open and its detail loaded.
pub fn in_tenant() -> App {
    let mut app = ready(Role::Operator);
    app.update(key(KeyCode::Enter));
    app.update(Msg::Detail {
        tenant: "t1".into(),
        result: Ok(detail()),
    });
    app
}

fn unreachable() -> Error {
    Error::Unreachable("Connection refused".into())
}

fn api(status: u16) -> Error {
    Error::Api {
        status,
        code: "x".into(),
        message: "no".into(),
    }
}

#[test]
fn without_a_key_it_says_so_and_looks_again() {
    let mut app = App::new(
        "http://x".into(),
        KeySource::Missing("data/operator.key".into()),
    );
    assert_eq!(app.start(), vec![Cmd::Connect], "the runtime reads the key");
    assert_eq!(app.update(Msg::KeyMissing), vec![Cmd::RetryLater(1)]);
    assert!(matches!(&app.connection, Connection::Failed(p) if p.title == "No admin key"));
    assert_eq!(app.update(Msg::Retry(1)), vec![Cmd::Connect]);
    app.update(Msg::KeyMissing);
    assert_eq!(app.update(ch('r')), vec![Cmd::Connect], "r looks at once");
    app.update(Msg::Connected(Ok(caller(Role::Operator))));
    assert!(matches!(app.connection, Connection::Ready(_)));
    app.update(ch('q'));
    assert!(app.quitting);
}

#[test]
fn an_operator_lands_on_the_tenants_and_follows_every_tenant_s_log() {
    let mut app = App::new("http://x".into(), KeySource::Env);
    assert_eq!(app.start(), vec![Cmd::Connect]);
    let cmds = app.update(Msg::Connected(Ok(caller(Role::Operator))));
    assert_eq!(
        cmds,
        vec![
            Cmd::LoadTenants,
            Cmd::FollowLog {
                tenant: None,
                generation: 1
            }
        ]
    );
    assert_eq!(app.screen, Screen::Tenants);
    assert_eq!(app.screens(), vec![Screen::Tenants, Screen::Log]);
}

#[test]
fn a_tenant_admin_lands_on_its_tenant() {
    let mut app = App::new("http://x".into(), KeySource::Env);
    let cmds = app.update(Msg::Connected(Ok(caller(Role::TenantAdmin))));
    assert!(cmds.contains(&Cmd::LoadDetail("t1".into())));
    assert!(cmds.contains(&Cmd::FollowLog {
        tenant: Some("t1".into()),
        generation: 1
    }));
    assert_eq!(app.screen, Screen::Overview);
    assert_eq!(
        app.screens(),
        vec![
            Screen::Overview,
            Screen::Tokens,
            Screen::Log,
            Screen::Groups,
            Screen::Users,
            Screen::Products
        ]
    );
    assert!(
        app.update(key(KeyCode::Esc)).is_empty(),
        "nowhere to go back to"
    );
    assert_eq!(app.screen, Screen::Overview);
    app.update(key(KeyCode::Tab));
    app.update(key(KeyCode::Tab));
    app.update(ch('x'));
    assert_eq!(app.screen, Screen::Log);
    app.screen = Screen::Tenants;
    assert!(app.update(ch('n')).is_empty());
    assert!(app.modal.is_none(), "a tenant admin cannot create tenants");
}

#[test]
fn an_unreachable_server_is_retried_by_itself() {
    let mut app = App::new("http://x".into(), KeySource::Env);
    app.start();
    assert_eq!(
        app.update(Msg::Connected(Err(unreachable()))),
        vec![Cmd::RetryLater(1)]
    );
    assert!(matches!(&app.connection, Connection::Failed(p) if p.retrying));
    assert_eq!(app.update(Msg::Retry(1)), vec![Cmd::Connect]);
    assert_eq!(app.connection, Connection::Connecting);
}

#[test]
fn pressing_r_while_a_retry_waits_starts_no_second_chain() {
    let mut app = App::new("http://x".into(), KeySource::Env);
    app.start();
    assert_eq!(
        app.update(Msg::Connected(Err(unreachable()))),
        vec![Cmd::RetryLater(1)]
    );
    assert_eq!(app.update(ch('r')), vec![Cmd::Connect]);
    assert_eq!(
        app.update(Msg::Connected(Err(unreachable()))),
        vec![Cmd::RetryLater(2)]
    );
    assert!(
        app.update(Msg::Retry(1)).is_empty(),
        "the timer of the attempt r replaced is ignored"
    );
    assert_eq!(app.update(Msg::Retry(2)), vec![Cmd::Connect]);
}

#[test]
fn a_refused_key_waits_for_the_operator() {
    let mut app = App::new("http://x".into(), KeySource::Env);
    app.start();
    assert!(app.update(Msg::Connected(Err(api(401)))).is_empty());
    assert!(app.update(Msg::Retry(1)).is_empty());
    assert_eq!(app.update(ch('r')), vec![Cmd::Connect]);
    assert_eq!(app.connection, Connection::Connecting);
    app.update(Msg::Connected(Err(api(404))));
    assert!(matches!(&app.connection, Connection::Failed(p) if p.title.contains("too old")));
}

#[test]
fn a_server_of_another_major_version_is_refused() {
    let mut app = App::new("http://x".into(), KeySource::Env);
    let mut newer = caller(Role::Operator);
    newer.api_version = "2.0.0".into();
    assert!(app.update(Msg::Connected(Ok(newer))).is_empty());
    assert!(matches!(app.connection, Connection::Failed(_)));
}

#[test]
fn the_tenant_list_moves_within_bounds() {
    let mut app = ready(Role::Operator);
    app.update(ch('k'));
    assert_eq!(app.tenant_cursor, 0);
    app.update(ch('j'));
    app.update(key(KeyCode::Down));
    assert_eq!(app.tenant_cursor, 1);
    app.update(ch('g'));
    assert_eq!(app.tenant_cursor, 0);
    app.update(ch('G'));
    assert_eq!(app.tenant_cursor, 1);
    app.update(key(KeyCode::PageUp));
    assert_eq!(app.tenant_cursor, 0);
    assert_eq!(app.update(ch('r')), vec![Cmd::LoadTenants]);
}

#[test]
fn the_tenant_list_filters_by_name_as_you_type() {
    let mut app = ready(Role::Operator);
    app.update(ch('j'));
    app.update(ch('/'));
    typed(&mut app, "GLO");
    assert_eq!(app.visible_tenants().len(), 1);
    assert_eq!(app.tenant_cursor, 0, "the cursor stays on what is shown");
    app.update(key(KeyCode::Enter));
    assert_eq!(
        app.selected_tenant().map(|r| r.tenant.name.as_str()),
        Some("Globex")
    );
    let cmds = app.update(key(KeyCode::Enter));
    assert_eq!(
        cmds[0],
        Cmd::LoadDetail("t2".into()),
        "Enter opens the one shown"
    );
    app.update(key(KeyCode::Esc));
    app.update(ch('/'));
    app.update(key(KeyCode::Esc));
    assert_eq!(app.visible_tenants().len(), 2, "Esc clears the filter");
}

#[test]
fn opening_and_leaving_a_tenant_switches_the_log() {
    let mut app = ready(Role::Operator);
    app.update(ch('j'));
    let cmds = app.update(key(KeyCode::Enter));
    assert_eq!(
        cmds,
        vec![
            Cmd::LoadDetail("t2".into()),
            Cmd::FollowLog {
                tenant: Some("t2".into()),
                generation: 2
            }
        ]
    );
    assert_eq!(app.screen, Screen::Overview);
    assert_eq!(app.detail, Loadable::Loading);
    let cmds = app.update(key(KeyCode::Esc));
    assert_eq!(
        cmds,
        vec![
            Cmd::LoadTenants,
            Cmd::FollowLog {
                tenant: None,
                generation: 3
            }
        ]
    );
    assert_eq!(app.screen, Screen::Tenants);
    assert!(app.tenant.is_none());
}

#[test]
fn tab_cycles_the_screens_both_ways() {
    let mut app = ready(Role::Operator);
    app.update(key(KeyCode::Tab));
    assert_eq!(app.screen, Screen::Log);
    app.update(key(KeyCode::Tab));
    assert_eq!(app.screen, Screen::Tenants);
    let mut app = in_tenant();
    app.update(key(KeyCode::BackTab));
    assert_eq!(app.screen, Screen::Tenants);
    app.update(key(KeyCode::BackTab));
    assert_eq!(app.screen, Screen::Products, "wraps around");
    app.update(key(KeyCode::Tab));
    assert_eq!(app.screen, Screen::Tenants);
    app.update(key(KeyCode::Tab));
    app.update(key(KeyCode::Tab));
    assert_eq!(app.screen, Screen::Tokens);
    assert_eq!(
        app.update(key(KeyCode::Tab)),
        vec![],
        "the log needs no load"
    );
    assert_eq!(app.screen, Screen::Log);
    assert_eq!(
        app.update(key(KeyCode::BackTab)),
        vec![Cmd::LoadDetail("t1".into())]
    );
}

#[test]
fn a_detail_for_another_tenant_is_ignored() {
    let mut app = in_tenant();
    let mut other = detail();
    other.tenant = tenant("t2", "Globex");
    app.update(Msg::Detail {
        tenant: "t2".into(),
        result: Ok(other),
    });
    assert_eq!(app.tenant.as_ref().map(|t| t.name.as_str()), Some("Acme"));
}

#[test]
fn creating_a_tenant_asks_for_a_name() {
    let mut app = ready(Role::Operator);
    app.update(ch('n'));
    assert!(app.update(key(KeyCode::Enter)).is_empty(), "no name yet");
    assert!(matches!(app.modal, Some(Modal::CreateTenant { .. })));
    typed(&mut app, "Initech!");
    app.update(key(KeyCode::Backspace));
    app.update(Msg::Key(KeyEvent::new(
        KeyCode::Char('u'),
        KeyModifiers::CONTROL,
    )));
    assert_eq!(
        app.update(key(KeyCode::Enter)),
        vec![Cmd::CreateTenant("Initech".into())]
    );
    assert!(app.modal.is_none());
    assert!(app.pending.is_some());
    assert_eq!(
        app.update(Msg::TenantCreated(Ok(tenant("t3", "Initech")))),
        vec![Cmd::LoadTenants]
    );
    assert!(app.pending.is_none());
    assert_eq!(app.notice.as_ref().map(|n| n.error), Some(false));

    app.update(ch('n'));
    typed(&mut app, "Acme");
    app.update(key(KeyCode::Enter));
    assert!(app.update(Msg::TenantCreated(Err(api(409)))).is_empty());
    assert_eq!(app.notice.as_ref().map(|n| n.error), Some(true));
    app.update(ch('n'));
    typed(&mut app, "x");
    app.update(key(KeyCode::Esc));
    assert!(app.modal.is_none());
}

#[test]
fn deleting_a_tenant_needs_its_name_typed() {
    let mut app = ready(Role::Operator);
    app.update(ch('d'));
    typed(&mut app, "acme");
    assert!(app.update(key(KeyCode::Enter)).is_empty());
    assert!(matches!(app.modal, Some(Modal::DeleteTenant { .. })));
    assert_eq!(app.notice.as_ref().map(|n| n.error), Some(true));
    for _ in 0..4 {
        app.update(key(KeyCode::Backspace));
    }
    typed(&mut app, "Acme");
    assert_eq!(
        app.update(key(KeyCode::Enter)),
        vec![Cmd::DeleteTenant {
            id: "t1".into(),
            name: "Acme".into()
        }]
    );
    assert_eq!(
        app.update(Msg::TenantDeleted(Ok(("t1".into(), "Acme".into())))),
        vec![Cmd::LoadTenants]
    );
}

#[test]
fn deleting_the_open_tenant_closes_it() {
    let mut app = in_tenant();
    let generation = app.log.generation;
    let cmds = app.update(Msg::TenantDeleted(Ok(("t1".into(), "Acme".into()))));
    assert!(app.tenant.is_none());
    assert_eq!(app.screen, Screen::Tenants);
    assert_eq!(
        cmds,
        vec![
            Cmd::LoadTenants,
            Cmd::FollowLog {
                tenant: None,
                generation: generation + 1
            }
        ]
    );
}

#[test]
fn a_name_with_invisible_characters_is_deleted_by_typing_what_is_shown() {
    let mut app = ready(Role::Operator);
    app.update(Msg::Tenants(Ok(vec![TenantRow {
        tenant: Tenant {
            name: "Ev\u{202e}il".into(),
            ..tenant("t9", "x")
        },
        health: None,
    }])));
    app.update(ch('d'));
    typed(&mut app, "Ev\\u{202e}il");
    assert_eq!(
        app.update(key(KeyCode::Enter)),
        vec![Cmd::DeleteTenant {
            id: "t9".into(),
            name: "Ev\u{202e}il".into()
        }]
    );
}

#[test]
fn rotation_goes_through_the_form_and_a_confirmation() {
    let mut app = in_tenant();
    app.update(key(KeyCode::Tab));
    assert_eq!(app.screen, Screen::Tokens);
    app.update(ch('R'));
    assert_eq!(
        app.modal,
        Some(Modal::Rotate(RotateForm {
            mode: RotateMode::OnFirstUse,
            overlap: 3
        }))
    );
    app.update(ch('j'));
    app.update(key(KeyCode::Left));
    app.update(key(KeyCode::Enter));
    assert!(matches!(app.modal, Some(Modal::ConfirmRotate(_))));
    app.update(ch('n'));
    assert!(
        matches!(app.modal, Some(Modal::Rotate(_))),
        "back to the form"
    );
    app.update(key(KeyCode::Enter));
    assert!(
        app.update(key(KeyCode::Enter)).is_empty(),
        "Enter does not confirm: one press too many must not rotate"
    );
    assert!(matches!(app.modal, Some(Modal::ConfirmRotate(_))));
    let cmds = app.update(ch('y'));
    assert_eq!(
        cmds,
        vec![Cmd::IssueToken {
            tenant: "t1".into(),
            body: IssueToken {
                name: None,
                overlap_seconds: 86_400,
                cut_over: CutOver::AfterOverlap
            }
        }]
    );
    assert!(app.pending.is_some());
}

#[test]
fn the_rotation_modes_send_what_they_say() {
    let on_first_use = RotateForm {
        mode: RotateMode::OnFirstUse,
        overlap: 3,
    };
    assert_eq!(on_first_use.body().cut_over, CutOver::OnFirstUse);
    assert_eq!(on_first_use.body().overlap_seconds, 604_800);
    let now = RotateForm {
        mode: RotateMode::Immediately,
        overlap: 3,
    };
    assert_eq!(now.body().overlap_seconds, 0);
    let mut app = in_tenant();
    app.update(ch('R'));
    for _ in 0..5 {
        app.update(key(KeyCode::Down));
        app.update(key(KeyCode::Right));
    }
    assert_eq!(
        app.modal,
        Some(Modal::Rotate(RotateForm {
            mode: RotateMode::Immediately,
            overlap: 3
        }))
    );
    app.update(key(KeyCode::Up));
    app.update(key(KeyCode::Esc));
    assert!(app.modal.is_none());
}

#[test]
fn the_new_token_is_shown_once_then_forgotten() {
    let mut app = in_tenant();
    let issued = issued();
    let cmds = app.update(Msg::TokenIssued {
        tenant: "t1".into(),
        result: Ok(issued),
    });
    assert_eq!(cmds, vec![Cmd::LoadDetail("t1".into())]);
    app.update(ch('q'));
    assert!(!app.quitting, "the dialog takes the keys");
    assert!(
        !format!("{app:?}").contains("secretsecret"),
        "Debug never shows it"
    );
    let copied = app.update(ch('c'));
    assert_eq!(copied, vec![Cmd::Copy(Secret::new("scim_n1_secretsecret"))]);
    assert!(!format!("{copied:?}").contains("secretsecret"));
    assert!(matches!(
        app.modal,
        Some(Modal::TokenShown { copied: true, .. })
    ));
    app.update(key(KeyCode::Enter));
    assert!(app.modal.is_none());
}

#[test]
fn closing_an_uncopied_token_asks_again() {
    let mut app = in_tenant();
    app.update(Msg::TokenIssued {
        tenant: "t1".into(),
        result: Ok(issued()),
    });
    app.update(key(KeyCode::Enter));
    assert!(
        matches!(app.modal, Some(Modal::TokenShown { warned: true, .. })),
        "the first Enter only warns"
    );
    app.update(key(KeyCode::Esc));
    assert!(app.modal.is_none(), "the second one closes");
}

#[test]
fn while_a_change_is_on_its_way_no_other_starts() {
    let mut app = in_tenant();
    app.update(key(KeyCode::Tab));
    app.update(ch('R'));
    app.update(key(KeyCode::Enter));
    assert_eq!(app.update(ch('y')).len(), 1);
    assert!(app.pending.is_some());
    assert!(app.update(ch('x')).is_empty(), "no revoke meanwhile");
    assert!(app.update(ch('R')).is_empty(), "no second rotation");
    assert!(app.modal.is_none());
    assert!(app.notice.as_ref().is_some_and(|n| n.text.contains("wait")));
    app.update(ch('j'));
    assert_eq!(app.token_cursor, 1, "moving around still works");
    assert!(app.update(key(KeyCode::Esc)).is_empty());
    assert!(app.tenant.is_some(), "the tenant is not left meanwhile");
    app.update(key(KeyCode::Tab));
    app.update(key(KeyCode::Tab));
    assert_eq!(app.screen, Screen::Groups);
    app.update(ch('/'));
    assert!(
        matches!(app.modal, Some(Modal::Search { .. })),
        "a search changes nothing: allowed"
    );
}

#[test]
fn reloads_of_one_kind_are_counted_until_each_answers() {
    let mut app = in_tenant();
    app.update(ch('r'));
    app.update(ch('r'));
    app.update(Msg::Detail {
        tenant: "t1".into(),
        result: Ok(detail()),
    });
    let mut cmds = Vec::new();
    for _ in 0..REFRESH_TICKS {
        cmds.extend(app.update(Msg::Tick));
    }
    assert!(cmds.is_empty(), "one is still on its way: {cmds:?}");
    app.update(Msg::Detail {
        tenant: "t1".into(),
        result: Ok(detail()),
    });
    for _ in 0..REFRESH_TICKS {
        cmds.extend(app.update(Msg::Tick));
    }
    assert_eq!(cmds, vec![Cmd::LoadDetail("t1".into())]);
}

#[test]
fn signing_in_with_another_key_forgets_the_last_session() {
    let mut app = in_tenant();
    app.update(Msg::Detail {
        tenant: "t1".into(),
        result: Err(api(401)),
    });
    assert!(matches!(app.connection, Connection::Failed(_)));
    app.update(ch('r'));
    let mut other = caller(Role::Operator);
    other.key_id = "another-key".into();
    app.update(Msg::Connected(Ok(other)));
    assert!(app.tenant.is_none(), "Acme was the other key's");
    assert_eq!(app.detail, Loadable::Loading);
    assert_eq!(app.screen, Screen::Tenants);
    let mut same = in_tenant();
    same.update(Msg::Detail {
        tenant: "t1".into(),
        result: Err(api(401)),
    });
    same.update(ch('r'));
    same.update(Msg::Connected(Ok(caller(Role::Operator))));
    assert!(
        same.tenant.is_some(),
        "the same key carries on where it was"
    );
}

#[test]
fn a_refused_key_waits_while_a_new_token_is_shown() {
    let mut app = in_tenant();
    app.update(Msg::TokenIssued {
        tenant: "t1".into(),
        result: Ok(issued()),
    });
    app.update(Msg::Detail {
        tenant: "t1".into(),
        result: Err(api(401)),
    });
    assert!(matches!(app.connection, Connection::Ready(_)));
    assert!(matches!(app.modal, Some(Modal::TokenShown { .. })));
}

#[test]
fn revoking_asks_first_and_only_for_live_tokens() {
    let mut app = in_tenant();
    app.update(key(KeyCode::Tab));
    app.update(ch('x'));
    assert_eq!(
        app.modal,
        Some(Modal::ConfirmRevoke {
            token_id: "a1b2c3d4e5f60718".into()
        })
    );
    app.update(ch('z'));
    assert!(app.modal.is_some(), "other keys leave the question open");
    assert_eq!(
        app.update(ch('y')),
        vec![Cmd::RevokeToken {
            tenant: "t1".into(),
            token: "a1b2c3d4e5f60718".into()
        }]
    );
    assert_eq!(
        app.update(Msg::TokenRevoked {
            tenant: "t1".into(),
            result: Ok("a1b2c3d4e5f60718".into())
        }),
        vec![Cmd::LoadDetail("t1".into())]
    );
    app.update(ch('j'));
    app.update(ch('x'));
    assert!(
        app.modal.is_none(),
        "a revoked token cannot be revoked again"
    );
    assert!(app.notice.is_some());
}

#[test]
fn the_overview_copies_or_prints_the_scim_url() {
    let mut app = in_tenant();
    let url = "https://scim.example.com/scim/t1/v2".to_owned();
    assert_eq!(
        app.update(ch('c')),
        vec![Cmd::Copy(Secret::new(url.clone()))]
    );
    app.update(ch('p'));
    assert_eq!(app.print_on_exit, Some(url));
    assert_eq!(app.update(ch('r')), vec![Cmd::LoadDetail("t1".into())]);
    app.update(ch('R'));
    assert!(matches!(app.modal, Some(Modal::Rotate(_))));
}

#[test]
fn log_messages_of_an_old_stream_are_dropped() {
    let mut app = in_tenant();
    let generation = app.log.generation;
    app.update(Msg::LogArrived {
        generation: generation - 1,
        entries: vec![entry(1, 201, "create", "old")],
        unreadable: 0,
    });
    assert!(app.log.entries.is_empty());
    app.update(Msg::LogStream {
        generation,
        state: StreamState::Live,
    });
    app.update(Msg::LogArrived {
        generation,
        entries: vec![entry(2, 201, "create", "new")],
        unreadable: 0,
    });
    assert_eq!(app.log.entries.len(), 1);
    assert_eq!(app.log.stream, StreamState::Live);
}

#[test]
fn the_log_keys_pause_filter_and_open_entries() {
    let mut app = in_tenant();
    app.screen = Screen::Log;
    let generation = app.log.generation;
    app.update(Msg::LogArrived {
        generation,
        entries: vec![
            entry(1, 201, "create", "created ada"),
            entry(2, 500, "patch", "storage failed"),
        ],
        unreadable: 0,
    });
    app.update(ch(' '));
    assert!(app.log.paused);
    app.update(ch(' '));
    app.update(ch('s'));
    assert_eq!(app.log.visible_len(), 1);
    app.update(ch('x'));
    app.update(ch('o'));
    app.update(ch('i'));
    assert_eq!(app.log.filter.idp, Some("entra"));
    app.update(ch('x'));
    app.update(ch('/'));
    typed(&mut app, "ADA");
    assert_eq!(app.log.visible_len(), 1);
    app.update(key(KeyCode::Esc));
    assert_eq!(app.log.visible_len(), 2, "Esc clears the text filter");

    app.update(ch('k'));
    let cmds = app.update(key(KeyCode::Enter));
    assert_eq!(
        cmds,
        vec![Cmd::LoadEntry {
            tenant: "t1".into(),
            id: 1
        }]
    );
    let loaded = ActivityDetail {
        entry: entry(1, 201, "create", "created ada"),
        request_body: Some(r#"{"a":1,"b":2}"#.into()),
        response_body: None,
        change_events: Vec::new(),
    };
    app.update(Msg::Entry {
        id: 2,
        result: Ok(loaded.clone()),
    });
    assert_eq!(
        app.log.detail,
        Some(Detail::Loading(1)),
        "the answer for another entry is not taken"
    );
    app.update(Msg::Entry {
        id: 1,
        result: Ok(loaded),
    });
    assert!(matches!(app.log.detail, Some(Detail::Loaded(_))));
    app.update(ch('j'));
    assert_eq!(app.log.detail_scroll, 1, "arrows scroll the open detail");
    // As the view found it at its last frame.
    app.log.detail_max_scroll.set(6);
    for _ in 0..100 {
        app.update(ch('j'));
    }
    assert_eq!(app.log.detail_scroll, 6, "scrolling stops at the end");
    app.update(ch('k'));
    assert_eq!(app.log.detail_scroll, 5);
    app.update(key(KeyCode::Esc));
    assert!(app.log.detail.is_none());
    assert_eq!(
        app.screen,
        Screen::Log,
        "the first Esc only closes the pane"
    );
    app.update(key(KeyCode::Enter));
    app.update(Msg::Entry {
        id: 1,
        result: Err(api(404)),
    });
    assert!(matches!(app.log.detail, Some(Detail::Failed(1, _))));
}

#[test]
fn ctrl_c_quits_from_anywhere() {
    let mut app = in_tenant();
    app.update(ch('R'));
    app.update(Msg::Key(KeyEvent::new(
        KeyCode::Char('c'),
        KeyModifiers::CONTROL,
    )));
    assert!(app.quitting);
    let mut app = App::new("http://x".into(), KeySource::Env);
    app.update(Msg::Key(KeyEvent::new(
        KeyCode::Char('c'),
        KeyModifiers::CONTROL,
    )));
    assert!(app.quitting, "also while connecting");
}

#[test]
fn help_opens_and_q_closes_it_before_quitting() {
    let mut app = ready(Role::Operator);
    app.update(ch('?'));
    assert!(app.show_help);
    app.update(ch('j'));
    assert_eq!(app.tenant_cursor, 0, "help takes the keys");
    app.update(ch('q'));
    assert!(!app.show_help);
    assert!(!app.quitting);
    app.update(ch('q'));
    assert!(app.quitting);
}

#[test]
fn ticks_refresh_the_screen_every_five_seconds() {
    let mut app = ready(Role::Operator);
    let cmds: Vec<_> = (0..REFRESH_TICKS)
        .flat_map(|_| app.update(Msg::Tick))
        .collect();
    assert_eq!(cmds, vec![Cmd::LoadTenants]);
    let mut app = App::new("http://x".into(), KeySource::Env);
    let cmds: Vec<_> = (0..REFRESH_TICKS)
        .flat_map(|_| app.update(Msg::Tick))
        .collect();
    assert!(cmds.is_empty(), "nothing to refresh before connecting");
}

#[test]
fn an_unreachable_server_marks_the_dashboard_disconnected_until_it_answers() {
    let mut app = ready(Role::Operator);
    app.update(Msg::Tenants(Err(unreachable())));
    assert!(app.disconnected);
    assert!(
        matches!(&app.tenants, Loadable::Loaded(rows) if rows.len() == 2),
        "a failed refresh keeps the last list"
    );
    app.update(Msg::Tenants(Ok(Vec::new())));
    assert!(!app.disconnected);
    assert_eq!(app.tenants, Loadable::Loaded(Vec::new()));
    let mut fresh = App::new("http://x".into(), KeySource::Env);
    fresh.update(Msg::Connected(Ok(caller(Role::Operator))));
    fresh.update(Msg::Tenants(Err(unreachable())));
    assert!(
        matches!(fresh.tenants, Loadable::Failed(_)),
        "with nothing shown yet, the failure is"
    );
}

#[test]
fn the_periodic_refresh_waits_for_the_one_on_its_way() {
    let mut app = ready(Role::Operator);
    let refresh = |app: &mut App| {
        let mut cmds = Vec::new();
        for _ in 0..REFRESH_TICKS {
            cmds.extend(app.update(Msg::Tick));
        }
        cmds
    };
    assert_eq!(refresh(&mut app), vec![Cmd::LoadTenants]);
    assert!(refresh(&mut app).is_empty(), "the first has not answered");
    app.update(Msg::Tenants(Ok(Vec::new())));
    assert_eq!(refresh(&mut app), vec![Cmd::LoadTenants]);
}

#[test]
fn a_revoked_key_ends_the_session_with_the_connection_screen() {
    let mut app = in_tenant();
    app.update(Msg::Detail {
        tenant: "t1".into(),
        result: Err(api(401)),
    });
    assert!(
        matches!(&app.connection, Connection::Failed(p) if !p.retrying && p.title.contains("refused"))
    );
    let mut app = in_tenant();
    let generation = app.log.generation;
    app.update(Msg::LogStream {
        generation,
        state: StreamState::Stopped(api(401)),
    });
    assert!(matches!(&app.connection, Connection::Failed(_)));
    let mut app = in_tenant();
    app.update(Msg::LogStream {
        generation,
        state: StreamState::Stopped(api(404)),
    });
    assert!(
        matches!(&app.connection, Connection::Ready(_)),
        "a tenant gone ends only its log"
    );
}

pub mod permission_screens {
    use super::*;
    use crate::api::{
        AccessType, GrantSource, GroupMapping, Permission, PermissionGroup, PermissionPreview,
        Product, ProductPermissions, SyncedGroup, SyncedUser,
    };
    use crate::app::permissions::{Change, Model};

    pub fn model() -> Model {
        let group = |id: &str, name: &str, access| PermissionGroup {
            id: id.into(),
            product_id: "p1".into(),
            name: name.into(),
            access_type: access,
            permissions: Vec::new(),
        };
        Model {
            products: vec![(
                Product {
                    id: "p1".into(),
                    name: "Main".into(),
                },
                vec![
                    group("pg1", "Readers", AccessType::ReadOnly),
                    group("pg2", "Editors", AccessType::Full),
                ],
            )],
            catalog: vec![
                Permission {
                    name: "canDeleteConfig".into(),
                    description: "d".into(),
                },
                Permission {
                    name: "canManageMembers".into(),
                    description: "m".into(),
                },
            ],
        }
    }

    pub fn group(id: &str, name: &str, mapped: Option<u32>) -> SyncedGroup {
        SyncedGroup {
            id: id.into(),
            display_name: name.into(),
            member_count: 3,
            mapping: mapped.map(|priority| GroupMapping {
                group_id: id.into(),
                is_organization_admin: false,
                is_billing_manager: false,
                permission_group_ids: vec!["pg1".into()],
                priority,
            }),
        }
    }

    pub fn user(id: &str, name: &str) -> SyncedUser {
        SyncedUser {
            id: id.into(),
            user_name: name.into(),
            display_name: None,
            active: true,
            group_count: 1,
        }
    }

    fn page<T>(items: Vec<T>, next: Option<&str>) -> Page<T> {
        Page {
            items,
            next_cursor: next.map(str::to_owned),
        }
    }

    /// Acme open on the groups screen, its model and first page loaded.
    pub fn on_groups() -> App {
        let mut app = in_tenant();
        app.screen = Screen::Groups;
        let cmds = app.refresh();
        assert!(cmds.contains(&Cmd::LoadModel("t1".into())));
        app.update(Msg::Model {
            tenant: "t1".into(),
            result: Ok(model()),
        });
        app.update(Msg::Groups {
            request: app.groups.request,
            result: Ok(page(
                vec![group("g1", "Admins", Some(1)), group("g2", "Staff", None)],
                None,
            )),
        });
        app
    }

    /// The groups screen with a first page of 30 and more to come (cursor `c1`); the
    /// commands that page's arrival gave.
    fn on_thirty_groups_of_more() -> (App, Vec<Cmd>) {
        let mut app = in_tenant();
        app.screen = Screen::Groups;
        app.refresh();
        let many: Vec<_> = (0..30)
            .map(|n| group(&format!("g{n}"), "G", None))
            .collect();
        let cmds = app.update(Msg::Groups {
            request: app.groups.request,
            result: Ok(page(many, Some("c1"))),
        });
        (app, cmds)
    }

    fn preview() -> PermissionPreview {
        PermissionPreview {
            users_considered: 3,
            changes: Vec::new(),
        }
    }

    #[test]
    fn tab_reaches_the_permission_screens() {
        let mut app = in_tenant();
        let mut seen = Vec::new();
        for _ in 0..6 {
            app.update(key(KeyCode::Tab));
            seen.push(app.screen);
        }
        assert_eq!(
            seen,
            vec![
                Screen::Tokens,
                Screen::Log,
                Screen::Groups,
                Screen::Users,
                Screen::Products,
                Screen::Tenants
            ]
        );
    }

    #[test]
    fn groups_page_in_as_the_cursor_nears_the_end() {
        let (mut app, cmds) = on_thirty_groups_of_more();
        assert!(cmds.is_empty(), "the cursor is far from the end");
        let mut asked = Vec::new();
        for _ in 0..12 {
            asked.extend(app.update(ch('j')));
        }
        assert_eq!(
            asked,
            vec![Cmd::LoadGroups {
                tenant: "t1".into(),
                search: String::new(),
                cursor: Some("c1".into()),
                request: 2,
            }],
            "asked once, not again while loading"
        );
        app.update(Msg::Groups {
            request: app.groups.request,
            result: Ok(page(vec![group("g30", "Last", None)], None)),
        });
        assert_eq!(app.groups.items.len(), 31);
        assert!(app.update(ch('G')).is_empty(), "no next page");
        assert_eq!(app.groups.cursor, 30);
    }

    #[test]
    fn a_search_starts_the_list_over_and_stale_pages_are_dropped() {
        let mut app = on_groups();
        let old = app.groups.request;
        app.update(ch('/'));
        typed(&mut app, "adm");
        let cmds = app.update(key(KeyCode::Enter));
        assert_eq!(
            cmds,
            vec![Cmd::LoadGroups {
                tenant: "t1".into(),
                search: "adm".into(),
                cursor: None,
                request: old + 1,
            }]
        );
        assert!(app.groups.items.is_empty());
        app.update(Msg::Groups {
            request: old,
            result: Ok(page(vec![group("g2", "Staff", None)], None)),
        });
        assert!(app.groups.items.is_empty(), "an answer to the old search");
    }

    #[test]
    fn a_first_page_answered_twice_is_taken_once() {
        let mut app = on_groups();
        // `r` twice: the first reload's answer arrives after the second was asked.
        app.update(ch('r'));
        let first = app.groups.request;
        app.update(ch('r'));
        let second = app.groups.request;
        let rows = || Ok(page(vec![group("g1", "Admins", Some(1))], None));
        app.update(Msg::Groups {
            request: first,
            result: rows(),
        });
        app.update(Msg::Groups {
            request: second,
            result: rows(),
        });
        app.update(Msg::Groups {
            request: second,
            result: rows(),
        });
        assert_eq!(app.groups.items.len(), 1, "no row twice");
    }

    #[test]
    fn a_preview_for_a_tenant_no_longer_open_is_dropped() {
        let mut app = on_groups();
        app.update(ch('u'));
        app.tenant = Some(tenant("t2", "Other"));
        app.update(Msg::Previewed {
            tenant: "t1".into(),
            change: Change::Unmap { group: "g1".into() },
            result: Ok(preview()),
        });
        assert!(app.modal.is_none());
        assert!(app.pending.is_none());
    }

    #[test]
    fn a_preview_never_replaces_an_open_dialog() {
        let mut app = on_groups();
        app.update(ch('u'));
        app.modal = Some(Modal::TokenShown {
            issued: issued(),
            copied: false,
            warned: false,
        });
        app.update(Msg::Previewed {
            tenant: "t1".into(),
            change: Change::Unmap { group: "g1".into() },
            result: Ok(preview()),
        });
        assert!(matches!(app.modal, Some(Modal::TokenShown { .. })));
    }

    #[test]
    fn a_failed_page_is_not_asked_again_until_r() {
        let (mut app, _) = on_thirty_groups_of_more();
        let asked = app.update(ch('G'));
        assert_eq!(asked.len(), 1);
        let again = app.update(Msg::Groups {
            request: app.groups.request,
            result: Err(Error::Unreachable("refused".into())),
        });
        assert!(again.is_empty(), "not at once: {again:?}");
        assert!(app.update(ch('k')).is_empty());
        assert!(app.update(ch('j')).is_empty(), "nor on the next move");
        let cmds = app.update(ch('r'));
        assert!(
            cmds.iter()
                .any(|c| matches!(c, Cmd::LoadGroups { cursor: None, .. })),
            "r starts over: {cmds:?}"
        );
    }

    #[test]
    fn a_declined_or_failed_preview_goes_back_to_the_edits() {
        let mut app = on_groups();
        app.update(key(KeyCode::Enter));
        app.update(ch(' '));
        let edited = app.modal.clone();
        let change = match app.update(key(KeyCode::Enter)).pop() {
            Some(Cmd::Preview { change, .. }) => change,
            other => panic!("a preview: {other:?}"),
        };
        app.update(Msg::Previewed {
            tenant: "t1".into(),
            change: change.clone(),
            result: Err(Error::Unreachable("down".into())),
        });
        assert_eq!(app.modal, edited, "the editor back, the edit kept");
        app.update(key(KeyCode::Enter));
        app.update(Msg::Previewed {
            tenant: "t1".into(),
            change: change.clone(),
            result: Ok(preview()),
        });
        app.update(ch('n'));
        assert_eq!(app.modal, edited, "n goes back to the editor");
        app.update(key(KeyCode::Enter));
        app.update(Msg::Previewed {
            tenant: "t1".into(),
            change,
            result: Ok(preview()),
        });
        app.update(ch('y'));
        app.update(Msg::Saved(Err(Error::Api {
            status: 409,
            code: "conflict".into(),
            message: "changed meanwhile".into(),
        })));
        assert_eq!(app.modal, edited, "a failed save too");
        app.update(key(KeyCode::Esc));
        app.update(ch('y'));
        assert!(app.modal.is_none());
        assert!(app.reopen.is_none());
    }

    #[test]
    fn an_edited_mapping_asks_before_it_is_thrown_away() {
        let mut app = on_groups();
        app.update(key(KeyCode::Enter));
        app.update(key(KeyCode::Esc));
        assert!(app.modal.is_none(), "nothing changed: Esc closes");
        app.update(key(KeyCode::Enter));
        app.update(ch(' '));
        app.update(key(KeyCode::Esc));
        assert!(matches!(
            app.modal,
            Some(Modal::Discard { quit: false, .. })
        ));
        app.update(ch('n'));
        assert!(
            matches!(&app.modal, Some(Modal::Mapping(e)) if e.is_changed()),
            "back to the editor, the change kept"
        );
        app.update(ch('q'));
        assert!(matches!(app.modal, Some(Modal::Discard { quit: true, .. })));
        assert!(!app.quitting);
        app.update(ch('y'));
        assert!(app.quitting, "q then y quits without saving");
    }

    #[test]
    fn mapping_is_edited_previewed_then_saved() {
        let mut app = on_groups();
        app.update(ch('j'));
        app.update(key(KeyCode::Enter));
        let Some(Modal::Mapping(editor)) = &app.modal else {
            panic!("the editor opens");
        };
        assert_eq!(editor.choices, vec![("p1".to_owned(), None)]);
        app.update(ch(' '));
        app.update(ch('j'));
        app.update(ch('j'));
        app.update(key(KeyCode::Right));
        app.update(key(KeyCode::Right));
        let cmds = app.update(key(KeyCode::Enter));
        let change = Change::Map {
            group: "g2".into(),
            input: crate::api::MappingInput {
                is_organization_admin: true,
                is_billing_manager: false,
                permission_group_ids: vec!["pg2".into()],
            },
        };
        assert_eq!(
            cmds,
            vec![Cmd::Preview {
                tenant: "t1".into(),
                change: change.clone()
            }]
        );
        app.update(Msg::Previewed {
            tenant: "t1".into(),
            change: change.clone(),
            result: Ok(preview()),
        });
        assert!(matches!(app.modal, Some(Modal::Preview(_))));
        assert_eq!(
            app.update(ch('y')),
            vec![Cmd::Apply {
                tenant: "t1".into(),
                change
            }]
        );
        let cmds = app.update(Msg::Saved(Ok("Saved the mapping".into())));
        assert!(cmds.contains(&Cmd::LoadModel("t1".into())), "{cmds:?}");
    }

    #[test]
    fn a_product_choice_cycles_through_none_and_its_groups() {
        let mut app = on_groups();
        app.update(key(KeyCode::Enter));
        for _ in 0..2 {
            app.update(ch('j'));
        }
        let choice = |app: &App| match &app.modal {
            Some(Modal::Mapping(editor)) => editor.choices[0].1.clone(),
            _ => panic!("the editor is open"),
        };
        assert_eq!(choice(&app), Some("pg1".into()), "the mapping's own choice");
        app.update(key(KeyCode::Right));
        assert_eq!(choice(&app), Some("pg2".into()));
        app.update(key(KeyCode::Right));
        assert_eq!(choice(&app), None);
        app.update(key(KeyCode::Left));
        assert_eq!(choice(&app), Some("pg2".into()));
    }

    #[test]
    fn unmapping_and_priority_moves_are_previewed_and_need_a_mapped_group() {
        let mut app = on_groups();
        assert_eq!(
            app.update(ch('K')),
            vec![Cmd::Preview {
                tenant: "t1".into(),
                change: Change::Move {
                    group: "g1".into(),
                    by: -1
                }
            }]
        );
        app.pending = None;
        assert_eq!(
            app.update(ch('u')),
            vec![Cmd::Preview {
                tenant: "t1".into(),
                change: Change::Unmap { group: "g1".into() }
            }]
        );
        app.update(Msg::Previewed {
            tenant: "t1".into(),
            change: Change::Unmap { group: "g1".into() },
            result: Err(Error::Unreachable("down".into())),
        });
        assert!(app.modal.is_none());
        assert_eq!(app.notice.as_ref().map(|n| n.error), Some(true));
        app.update(ch('j'));
        assert!(
            app.update(ch('J')).is_empty(),
            "an unmapped group has no priority"
        );
        assert!(app.update(ch('u')).is_empty());
        app.update(ch('e'));
        assert!(matches!(app.modal, Some(Modal::Mapping(_))));
        app.update(ch('j'));
        app.update(key(KeyCode::Enter));
        app.update(Msg::Previewed {
            tenant: "t1".into(),
            change: Change::Priority {
                order: vec!["g1".into()],
            },
            result: Ok(preview()),
        });
        app.update(ch('n'));
        assert!(
            matches!(app.modal, Some(Modal::Mapping(_))),
            "n goes back to the editor"
        );
        app.update(key(KeyCode::Esc));
        assert!(app.modal.is_none(), "nothing saved");
    }

    #[test]
    fn a_user_s_grants_lead_to_the_request_that_added_them() {
        let mut app = in_tenant();
        app.screen = Screen::Users;
        app.refresh();
        app.update(Msg::Users {
            request: app.users.request,
            result: Ok(page(vec![user("u1", "ada@acme.test")], None)),
        });
        assert_eq!(
            app.update(key(KeyCode::Enter)),
            vec![Cmd::LoadUserPermissions {
                tenant: "t1".into(),
                user: "u1".into()
            }]
        );
        let source = |request: Option<&str>| GrantSource {
            group_id: "g1".into(),
            display_name: "Admins".into(),
            priority: 1,
            added_by_request_id: request.map(str::to_owned),
        };
        app.update(Msg::UserPermissions {
            user: "u1".into(),
            result: Ok(EffectivePermissions {
                user_id: "u1".into(),
                user_name: "ada@acme.test".into(),
                active: true,
                is_organization_admin: true,
                is_billing_manager: false,
                organization_admin_via: vec![source(None)],
                billing_manager_via: Vec::new(),
                products: vec![ProductPermissions {
                    product_name: "Main".into(),
                    permission_group_name: Some("Readers".into()),
                    permissions: vec!["canViewSdkKey".into()],
                    granted_by: source(Some("req-9")),
                    outranked: Vec::new(),
                }],
                reason: None,
            }),
        });
        let cmds = app.update(ch('l'));
        assert_eq!(
            cmds,
            vec![Cmd::FindRequest {
                tenant: "t1".into(),
                request_id: "req-9".into()
            }]
        );
        assert_eq!(app.screen, Screen::Log);
        let mut found = crate::api::ActivityDetail {
            entry: entry(9, 204, "patch", "added 1 member"),
            request_body: None,
            response_body: None,
            change_events: Vec::new(),
        };
        found.entry.request_id = Some("req-9".into());
        app.update(Msg::RequestEntry {
            request_id: "req-9".into(),
            result: Ok(Some(found)),
        });
        assert!(matches!(app.log.detail, Some(Detail::Loaded(_))));
        app.update(key(KeyCode::Esc));
        app.log.detail = Some(Detail::Finding("req-1".into()));
        app.update(Msg::RequestEntry {
            request_id: "req-1".into(),
            result: Ok(None),
        });
        assert_eq!(app.log.detail, Some(Detail::Missing("req-1".into())));
    }

    #[test]
    fn products_and_permission_groups_are_created_edited_and_deleted() {
        let mut app = in_tenant();
        app.screen = Screen::Products;
        assert_eq!(app.refresh(), vec![Cmd::LoadModel("t1".into())]);
        app.update(Msg::Model {
            tenant: "t1".into(),
            result: Ok(model()),
        });
        app.update(ch('n'));
        typed(&mut app, "Billing");
        assert_eq!(
            app.update(key(KeyCode::Enter)),
            vec![Cmd::CreateProduct {
                tenant: "t1".into(),
                name: "Billing".into()
            }]
        );
        app.update(Msg::Saved(Ok("Created product Billing".into())));
        app.update(ch('a'));
        typed(&mut app, "Ops");
        app.update(key(KeyCode::Down));
        app.update(key(KeyCode::Right));
        app.update(key(KeyCode::Right));
        app.update(key(KeyCode::Down));
        app.update(key(KeyCode::Down));
        app.update(ch(' '));
        let cmds = app.update(key(KeyCode::Enter));
        assert_eq!(
            cmds,
            vec![Cmd::SavePermissionGroup {
                tenant: "t1".into(),
                product: "p1".into(),
                id: None,
                input: crate::api::PermissionGroupInput {
                    name: "Ops".into(),
                    access_type: AccessType::Custom,
                    permissions: vec!["canManageMembers".into()],
                }
            }]
        );
        app.update(Msg::Saved(Ok("Saved permission group Ops".into())));
        app.update(ch('j'));
        app.update(ch('e'));
        let Some(Modal::PermissionGroup(editor)) = &app.modal else {
            panic!("the editor opens on a permission group");
        };
        assert_eq!(editor.id.as_deref(), Some("pg1"));
        app.update(key(KeyCode::Esc));
        app.update(ch('d'));
        assert_eq!(
            app.update(ch('y')),
            vec![Cmd::Delete {
                tenant: "t1".into(),
                what: Deletion::PermissionGroup {
                    product: "p1".into(),
                    id: "pg1".into(),
                    name: "Readers".into()
                }
            }]
        );
        app.update(Msg::Saved(Err(Error::Api {
            status: 409,
            code: "conflict".into(),
            message: "used by Admins".into(),
        })));
        assert_eq!(app.notice.as_ref().map(|n| n.error), Some(true));
    }
}
