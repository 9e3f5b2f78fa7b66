//! Dialogs: prompts, confirmations, the rotation form and the token shown once.

use ratatui::{
    Frame,
    layout::Rect,
    style::{Style, Stylize},
    text::Line,
    widgets::{Block, Paragraph, Wrap},
};

use super::{centered, text};
use crate::app::{App, Modal, OVERLAPS, RotateMode};

pub fn draw(modal: &Modal, app: &App, frame: &mut Frame, area: Rect) {
    let (title, lines): (&str, Vec<Line>) = match modal {
        Modal::CreateTenant { name } => (
            " New tenant ",
            vec![
                Line::from("Name of the customer organization:"),
                Line::from(format!("> {}█", text::clean(name))).bold(),
                Line::default(),
                Line::from("Enter create · Esc cancel").dim(),
            ],
        ),
        Modal::DeleteTenant { name, typed, .. } => (
            " Delete tenant ",
            vec![
                Line::from(format!(
                    "This deletes {} with every user, group, token and log entry.",
                    text::clean(name)
                ))
                .red(),
                Line::from("Type its name to confirm:"),
                Line::from(format!("> {}█", text::clean(typed))).bold(),
                Line::default(),
                Line::from("Enter delete · Esc cancel").dim(),
            ],
        ),
        Modal::Rotate(form) => {
            let mut lines = vec![Line::from("When should the current token stop working?")];
            for (mode, label) in [
                (
                    RotateMode::OnFirstUse,
                    "when the new token is first used (at most the overlap)",
                ),
                (RotateMode::AfterOverlap, "when the overlap is over"),
                (RotateMode::Immediately, "now"),
            ] {
                let marker = if form.mode == mode { "(•)" } else { "( )" };
                let line = Line::from(format!(" {marker} {label}"));
                lines.push(if form.mode == mode { line.bold() } else { line });
            }
            let (_, overlap) = OVERLAPS[form.overlap.min(OVERLAPS.len() - 1)];
            let overlap_line = if form.mode == RotateMode::Immediately {
                Line::from("Overlap: none").dim()
            } else {
                Line::from(format!("Overlap: ◀ {overlap} ▶"))
            };
            lines.extend([
                overlap_line,
                Line::default(),
                Line::from("↑↓ choose · ←→ overlap · Enter continue · Esc cancel").dim(),
            ]);
            (" Rotate the SCIM token ", lines)
        }
        Modal::ConfirmRotate(form) => {
            let tenant = app
                .tenant
                .as_ref()
                .map(|t| text::clean(&t.name).into_owned())
                .unwrap_or_default();
            let (_, overlap) = OVERLAPS[form.overlap.min(OVERLAPS.len() - 1)];
            let consequence = match form.mode {
                RotateMode::OnFirstUse => format!(
                    "The current token keeps working until the identity provider uses the new \
                     one, {overlap} at most."
                ),
                RotateMode::AfterOverlap => {
                    format!("The current token keeps working for {overlap}.")
                }
                RotateMode::Immediately => {
                    "The current token stops working now: provisioning fails until the \
                     identity provider has the new one."
                        .to_owned()
                }
            };
            (
                " Confirm rotation ",
                vec![
                    Line::from(format!("Issue a new SCIM token for {tenant}?")).bold(),
                    Line::from(consequence),
                    Line::default(),
                    Line::from("y issue · n back").dim(),
                ],
            )
        }
        Modal::ConfirmRevoke { token_id } => (
            " Revoke token ",
            vec![
                Line::from(format!(
                    "Revoke token {}? It stops working at once, on every server.",
                    text::short_id(token_id)
                ))
                .red(),
                Line::default(),
                Line::from("y revoke · n cancel").dim(),
            ],
        ),
        Modal::TokenShown { issued, copied } => {
            let mut lines = vec![
                Line::from("Copy this token now: it will not be shown again.")
                    .yellow()
                    .bold(),
                Line::default(),
                Line::from(issued.token.clone()).bold(),
                Line::default(),
                Line::from(format!("Tenant URL: {}", text::clean(&issued.scim_url))),
                Line::from("In Entra ID: Provisioning → Admin Credentials → Secret Token."),
                Line::default(),
            ];
            lines.push(if *copied {
                Line::from("Copied (OSC 52). Enter closes; the token is then gone.").green()
            } else {
                Line::from("c copy · Enter close (the token is then gone)").dim()
            });
            (" New SCIM token ", lines)
        }
        Modal::LogText { text: typed } => (
            " Filter the log ",
            vec![
                Line::from("Text in the summary, path or request id:"),
                Line::from(format!("> {}█", text::clean(typed))).bold(),
                Line::default(),
                Line::from("Enter keep · Esc clear").dim(),
            ],
        ),
    };
    let height = u16::try_from(lines.len())
        .unwrap_or(u16::MAX)
        .saturating_add(2);
    let width = area.width.saturating_sub(2).clamp(20, 90);
    let area = centered(frame, area, width, height.max(5));
    frame.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: false }).block(
            Block::bordered()
                .title(title)
                .border_style(Style::new().bold()),
        ),
        area,
    );
}
