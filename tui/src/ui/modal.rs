//! Dialogs: prompts, confirmations, the rotation form and the token shown once.

use ratatui::{
    Frame,
    layout::Rect,
    style::{Style, Stylize},
    text::Line,
    widgets::{Block, Paragraph, Wrap},
};

use super::{centered, products::access_label, text};
use crate::{
    api::AccessType,
    app::{
        App, Deletion, Modal, OVERLAPS, RotateMode,
        permissions::{Change, GroupEditor, MappingEditor, Pending},
    },
};

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
        Modal::TokenShown {
            issued,
            copied,
            warned,
        } => {
            let mut lines = vec![
                Line::from("Copy this token now: it will not be shown again.")
                    .yellow()
                    .bold(),
                Line::default(),
                Line::from(text::clean(issued.token.expose()).into_owned()).bold(),
                Line::default(),
                Line::from(format!("Tenant URL: {}", text::clean(&issued.scim_url))),
                Line::from("In Entra ID: Provisioning → Admin Credentials → Secret Token."),
                Line::default(),
            ];
            lines.push(if *copied {
                Line::from("Copied (OSC 52). Enter closes; the token is then gone.").green()
            } else if *warned {
                Line::from("Not copied: Enter again closes and the token is gone for good.")
                    .red()
                    .bold()
            } else {
                Line::from("c copy · Enter close (the token is then gone)").dim()
            });
            (" New SCIM token ", lines)
        }
        Modal::Discard { editor, quit } => {
            let what = match editor.as_ref() {
                Modal::Mapping(editor) => {
                    format!("the mapping of {}", text::clean(&editor.group_name))
                }
                Modal::PermissionGroup(editor) if editor.id.is_none() => {
                    "the new permission group".to_owned()
                }
                _ => "the permission group".to_owned(),
            };
            let yes = if *quit {
                "y discard and quit"
            } else {
                "y discard"
            };
            (
                " Unsaved changes ",
                vec![
                    Line::from(format!("Your changes to {what} are not saved.")).yellow(),
                    Line::default(),
                    Line::from(format!("{yes} · n back to the editor")).dim(),
                ],
            )
        }
        Modal::Search { text: typed, .. } => (
            " Search ",
            vec![
                Line::from("Names containing:"),
                Line::from(format!("> {}█", text::clean(typed))).bold(),
                Line::default(),
                Line::from("Enter search · Esc cancel").dim(),
            ],
        ),
        Modal::CreateProduct { name } => (
            " New product ",
            vec![
                Line::from("Name of the product:"),
                Line::from(format!("> {}█", text::clean(name))).bold(),
                Line::default(),
                Line::from("Enter create · Esc cancel").dim(),
            ],
        ),
        Modal::Mapping(editor) => (" Map the group ", mapping_lines(editor, app)),
        Modal::Preview(pending) => (" Preview: nothing is saved yet ", preview_lines(pending)),
        Modal::PermissionGroup(editor) => (" Permission group ", group_lines(editor, app)),
        Modal::ConfirmDelete(what) => {
            let (kind, name) = match what {
                Deletion::Product { name, .. } => ("product", name),
                Deletion::PermissionGroup { name, .. } => ("permission group", name),
            };
            (
                " Delete ",
                vec![
                    Line::from(format!("Delete the {kind} {}?", text::clean(name))).red(),
                    Line::from(match what {
                        Deletion::Product { .. } => {
                            "Its permission groups go too, and every mapping's use of them."
                        }
                        Deletion::PermissionGroup { .. } => {
                            "Refused while a mapped group uses it (unmap or change that first)."
                        }
                    }),
                    Line::default(),
                    Line::from("y delete · n cancel").dim(),
                ],
            )
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
    // The token is one unbroken word of 78 characters: it gets the full width, so that at
    // 80 columns it fits on one line and can be selected with the mouse.
    let width = match modal {
        Modal::TokenShown { .. } => area.width.max(20),
        _ => area.width.saturating_sub(2).clamp(20, 90),
    };
    let dialog = Paragraph::new(lines).wrap(Wrap { trim: false }).block(
        Block::bordered()
            .title(title)
            .border_style(Style::new().bold()),
    );
    // As tall as the wrapped text (inside the borders; `line_count` adds their height), so
    // that the last line, the keys, is never cut off.
    let inner_width = width.min(area.width).saturating_sub(2);
    let height = u16::try_from(dialog.line_count(inner_width)).unwrap_or(u16::MAX);
    let area = centered(frame, area, width, height.max(5));
    frame.render_widget(dialog, area);
}

fn selected(line: Line<'static>, on: bool) -> Line<'static> {
    if on { line.reversed() } else { line }
}

fn mapping_lines(editor: &MappingEditor, app: &App) -> Vec<Line<'static>> {
    let check = |on: bool| if on { "[x]" } else { "[ ]" };
    let mut lines = vec![
        Line::from(format!("Group {}", text::clean(&editor.group_name))).bold(),
        selected(
            Line::from(format!(
                "{} organization admin",
                check(editor.organization_admin)
            )),
            editor.row == 0,
        ),
        selected(
            Line::from(format!("{} billing manager", check(editor.billing_manager))),
            editor.row == 1,
        ),
    ];
    let model = app.model.loaded();
    for (at, (product_id, choice)) in editor.choices.iter().enumerate() {
        let product = model
            .and_then(|m| m.products.iter().find(|(p, _)| &p.id == product_id))
            .map_or_else(
                || text::short_id(product_id).to_owned(),
                |(p, _)| p.name.clone(),
            );
        let chosen = choice
            .as_deref()
            .and_then(|id| model.and_then(|m| m.permission_group(id)))
            .map_or_else(|| "none".to_owned(), |(_, g)| g.name.clone());
        lines.push(selected(
            Line::from(format!(
                "{}: ◀ {} ▶",
                text::clean(&product),
                text::clean(&chosen)
            )),
            editor.row == at + 2,
        ));
    }
    if editor.choices.is_empty() {
        lines.push(Line::from("(no products yet: create them on the Products screen)").dim());
    }
    lines.extend([
        Line::default(),
        Line::from("↑↓ choose · Space ←→ change · Enter preview · Esc cancel").dim(),
    ]);
    lines
}

/// Who would gain and lose what; the list is cut to what a dialog can show.
fn preview_lines(pending: &Pending) -> Vec<Line<'static>> {
    const SHOWN: usize = 12;
    let what = match &pending.change {
        Change::Map { .. } => "Saving this mapping",
        Change::Unmap { .. } => "Unmapping this group",
        Change::Priority { .. } | Change::Move { .. } => "This priority order",
    };
    let preview = &pending.preview;
    let mut lines = vec![
        Line::from(format!(
            "{what} changes the permissions of {} of {} users.",
            preview.changes.len(),
            preview.users_considered
        ))
        .bold(),
    ];
    for change in preview.changes.iter().take(SHOWN) {
        let mut parts = Vec::new();
        parts.extend(change.roles_gained.iter().map(|r| format!("+{r}")));
        parts.extend(change.roles_lost.iter().map(|r| format!("-{r}")));
        for product in &change.products {
            let gained = if product.gained.is_empty() {
                String::new()
            } else {
                format!(" +{}", product.gained.len())
            };
            let lost = if product.lost.is_empty() {
                String::new()
            } else {
                format!(" -{}", product.lost.len())
            };
            parts.push(format!(
                "{}{gained}{lost}",
                text::clean(&product.product_name)
            ));
        }
        lines.push(Line::from(format!(
            "  {}: {}",
            text::clean(&change.user_name),
            parts.join(", ")
        )));
    }
    if preview.changes.len() > SHOWN {
        lines.push(Line::from(format!("  … and {} more", preview.changes.len() - SHOWN)).dim());
    }
    lines.extend([Line::default(), Line::from("y save · n cancel").dim()]);
    lines
}

fn group_lines(editor: &GroupEditor, app: &App) -> Vec<Line<'static>> {
    let mut lines = vec![
        selected(
            Line::from(format!("Name: {}█", text::clean(&editor.name))),
            editor.row == 0,
        ),
        selected(
            Line::from(format!("Access: ◀ {} ▶", access_label(editor.access))),
            editor.row == 1,
        ),
    ];
    if editor.access == AccessType::Custom {
        let catalog = app.model.loaded().map_or(&[][..], |m| m.catalog.as_slice());
        // The rows around the cursor, so a long catalog scrolls.
        let first = editor.row.saturating_sub(2).saturating_sub(8);
        for (at, permission) in catalog.iter().enumerate().skip(first).take(12) {
            let on = editor.permissions.contains(&permission.name);
            lines.push(selected(
                Line::from(format!(
                    "{} {}",
                    if on { "[x]" } else { "[ ]" },
                    permission.name
                )),
                editor.row == at + 2,
            ));
        }
    }
    lines.extend([
        Line::default(),
        Line::from("↑↓ field · type the name · ←→ access · Space pick · Enter save · Esc").dim(),
    ]);
    lines
}
