//! The open tenant at a glance: where its identity provider sends requests, with which
//! tokens, and how provisioning goes.

use ratatui::{
    Frame,
    layout::Rect,
    style::Stylize,
    text::{Line, Span},
    widgets::{Block, Paragraph, Wrap},
};

use super::{placeholder, text, verdict_label, verdict_style};
use crate::{api::CredentialStatus, app::App};

pub fn draw(app: &App, frame: &mut Frame, area: Rect) {
    if placeholder(app, &app.detail, frame, area) {
        return;
    }
    let Some(detail) = app.detail.loaded() else {
        return;
    };
    let (tenant, health) = (&detail.tenant, &detail.health);
    let live: Vec<_> = detail
        .tokens
        .iter()
        .filter(|t| {
            matches!(
                t.status,
                CredentialStatus::Active | CredentialStatus::Rotating
            )
        })
        .collect();
    let mut lines = vec![
        Line::from(vec![
            Span::raw("Tenant      ").dim(),
            Span::raw(text::clean(&tenant.name).into_owned()).bold(),
            Span::raw(format!("  ({})", tenant.id)).dim(),
        ]),
        Line::from(vec![
            Span::raw("SCIM URL    ").dim(),
            Span::raw(text::clean(&tenant.scim_url).into_owned()).cyan(),
        ]),
        Line::from(vec![
            Span::raw("Health      ").dim(),
            Span::styled(verdict_label(health.verdict), verdict_style(health.verdict)),
        ]),
    ];
    lines.extend(
        health
            .reasons
            .iter()
            .map(|reason| Line::from(format!("            • {}", text::clean(reason)))),
    );
    lines.extend([
        Line::from(vec![
            Span::raw("Calling IdP ").dim(),
            Span::raw(
                health
                    .identity_provider
                    .clone()
                    .unwrap_or_else(|| "none yet".to_owned()),
            ),
        ]),
        Line::from(vec![
            Span::raw("Synced      ").dim(),
            Span::raw(format!(
                "{} users ({} inactive), {} groups",
                health.users.active + health.users.inactive,
                health.users.inactive,
                health.groups
            )),
        ]),
        Line::from(vec![
            Span::raw("Requests    ").dim(),
            Span::raw(format!(
                "last hour {} ({} failed) · last day {} ({} failed)",
                health.last_hour.requests,
                health.last_hour.failures,
                health.last_day.requests,
                health.last_day.failures
            )),
        ]),
        Line::from(vec![
            Span::raw("Last sync   ").dim(),
            Span::raw(format!(
                "request {} · successful write {}",
                text::when_or_never(health.last_request_at),
                text::when_or_never(health.last_successful_write_at)
            )),
        ]),
        Line::from(vec![
            Span::raw("Tokens      ").dim(),
            Span::raw(format!("{} live", live.len())),
        ]),
    ]);
    for token in live {
        let end = match token.revoked_at {
            Some(at) => format!("ends {}", text::when(at)),
            None => token.expires_at.map_or_else(
                || "no expiry".to_owned(),
                |at| format!("expires {}", text::when(at)),
            ),
        };
        lines.push(Line::from(format!(
            "            {} {} · {end} · last used {}",
            text::short_id(&token.id),
            status_word(token.status),
            text::when_or_never(token.last_used_at),
        )));
        if let Some(old) = &token.ends_on_first_use {
            lines.push(
                Line::from(format!(
                    "                     ends {} when first used",
                    text::short_id(old)
                ))
                .yellow(),
            );
        }
    }
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(Block::bordered().title(" Overview ")),
        area,
    );
}

pub fn status_word(status: CredentialStatus) -> &'static str {
    match status {
        CredentialStatus::Active => "active",
        CredentialStatus::Rotating => "rotating",
        CredentialStatus::Revoked => "revoked",
        CredentialStatus::Expired => "expired",
    }
}
