//! The synced users, and one user's effective permissions with where each comes from.

use ratatui::{
    Frame,
    layout::{Constraint, Layout, Rect},
    style::{Style, Stylize},
    text::{Line, Span},
    widgets::{Block, Paragraph, Row, Table, TableState, Wrap},
};

use super::{paged_title, text, visible_window};
use crate::{
    api::GrantSource,
    app::{App, Loadable, permissions::UserDetail},
};

pub fn draw(app: &App, frame: &mut Frame, area: Rect) {
    let (list_area, detail_area) = match &app.user_detail {
        Some(_) if area.width >= 140 => {
            let [a, b] =
                Layout::horizontal([Constraint::Percentage(45), Constraint::Percentage(55)])
                    .areas(area);
            (a, Some(b))
        }
        Some(_) => {
            let [a, b] = Layout::vertical([Constraint::Length(6), Constraint::Min(6)]).areas(area);
            (a, Some(b))
        }
        None => (area, None),
    };
    draw_list(app, frame, list_area);
    if let (Some(area), Some(detail)) = (detail_area, &app.user_detail) {
        let block = Block::bordered().title(" Effective permissions (l: the request, Esc) ");
        let lines = match detail {
            Loadable::Loading => vec![Line::from("Loading …")],
            Loadable::Failed(err) => vec![Line::from(text::clean(err).into_owned()).red()],
            Loadable::Loaded(detail) => detail_lines(detail),
        };
        frame.render_widget(
            Paragraph::new(lines)
                .wrap(Wrap { trim: false })
                .block(block),
            area,
        );
    }
}

fn draw_list(app: &App, frame: &mut Frame, area: Rect) {
    let list = &app.users;
    let block = Block::bordered().title(paged_title("Synced users", list));
    if list.items.is_empty() {
        let text = match (&list.error, list.loading) {
            (Some(err), _) => format!("Could not load: {}  (r to retry)", text::clean(err)),
            (None, true) => "Loading …".to_owned(),
            (None, false) if !list.search.is_empty() => "No user matches.".to_owned(),
            (None, false) => "No users yet: the identity provider has synced none.".to_owned(),
        };
        frame.render_widget(Paragraph::new(text).block(block), area);
        return;
    }
    let (first, rows) = visible_window(list.cursor, list.items.len(), area.height);
    let table = Table::new(
        list.items[first..first + rows].iter().map(|user| {
            let row = Row::new([
                text::clean(&user.user_name).into_owned(),
                user.display_name
                    .as_deref()
                    .map(|name| text::clean(name).into_owned())
                    .unwrap_or_default(),
                if user.active { "active" } else { "inactive" }.to_owned(),
                user.group_count.to_string(),
            ]);
            if user.active { row } else { row.dim() }
        }),
        [
            Constraint::Min(20),
            Constraint::Min(12),
            Constraint::Length(8),
            Constraint::Length(6),
        ],
    )
    .header(Row::new(["userName", "Name", "State", "Groups"]).bold())
    .row_highlight_style(Style::new().reversed())
    .block(block);
    let mut state = TableState::default().with_selected(Some(list.cursor - first));
    frame.render_stateful_widget(table, area, &mut state);
}

fn detail_lines(detail: &UserDetail) -> Vec<Line<'static>> {
    let p = &detail.permissions;
    let requests = detail.requests();
    let chosen = requests.get(detail.grant).copied();
    let mut lines = vec![Line::from(vec![
        Span::raw(text::clean(&p.user_name).into_owned()).bold(),
        Span::raw(if p.active { "" } else { "  (inactive)" }),
    ])];
    match p.reason.as_deref() {
        Some("inactive") => lines.push(Line::from("Inactive: no permissions.").yellow()),
        Some("noMappedGroups") => {
            lines.push(Line::from("In no mapped group: no permissions.").yellow());
        }
        _ => {}
    }
    let source = |label: &str, via: &GrantSource| {
        let request = via.added_by_request_id.as_deref();
        let marker = if request.is_some() && request == chosen {
            "▶ "
        } else {
            "  "
        };
        let mut line = format!(
            "{marker}{label} via {} (priority {})",
            text::clean(&via.display_name),
            via.priority
        );
        if let Some(request) = request {
            line.push_str(&format!(" · request {}", text::short_id(request)));
        }
        Line::from(line)
    };
    if p.is_organization_admin {
        lines.push(Line::from("Organization admin").bold());
        lines.extend(p.organization_admin_via.iter().map(|v| source("", v)));
    }
    if p.is_billing_manager {
        lines.push(Line::from("Billing manager").bold());
        lines.extend(p.billing_manager_via.iter().map(|v| source("", v)));
    }
    for product in &p.products {
        lines.push(Line::default());
        lines.push(
            Line::from(format!(
                "{}: {}",
                text::clean(&product.product_name),
                product.permission_group_name.as_deref().map_or_else(
                    || "every permission".to_owned(),
                    |n| text::clean(n).into_owned()
                )
            ))
            .bold(),
        );
        lines.push(source("granted", &product.granted_by));
        for lost in &product.outranked {
            lines.push(
                Line::from(format!(
                    "  outranked: {} (priority {})",
                    text::clean(&lost.display_name),
                    lost.priority
                ))
                .dim(),
            );
        }
        lines.push(Line::from(format!("  {}", product.permissions.join(", "))).dim());
    }
    lines
}
