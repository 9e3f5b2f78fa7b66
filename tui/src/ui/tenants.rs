//! The tenant list: each tenant's users, groups, last request, failures in the last hour
//! and health verdict; the selected tenant's health reasons below.

use ratatui::{
    Frame,
    layout::{Constraint, Layout, Rect},
    style::{Style, Stylize},
    text::Line,
    widgets::{Block, Cell, Paragraph, Row, Table, TableState, Wrap},
};

use super::{placeholder, text, verdict_label, verdict_style};
use crate::app::{App, TenantRow};

pub fn draw(app: &App, frame: &mut Frame, area: Rect) {
    if placeholder(app, &app.tenants, frame, area) {
        return;
    }
    let rows = app.visible_tenants();
    let [list, reasons] = Layout::vertical([Constraint::Min(3), Constraint::Length(4)]).areas(area);
    if rows.is_empty() {
        let hint = if !app.tenant_filter.is_empty() {
            "No tenant matches the filter (/ then Esc clears it)."
        } else if app.is_operator() {
            "No tenants yet. Press n to create the first."
        } else {
            "No tenant."
        };
        frame.render_widget(
            Paragraph::new(hint).block(Block::bordered().title(" Tenants ")),
            area,
        );
        return;
    }
    let table = Table::new(
        rows.iter().map(|r| row(r)),
        [
            Constraint::Min(14),
            Constraint::Length(7),
            Constraint::Length(7),
            Constraint::Length(19),
            Constraint::Length(8),
            Constraint::Length(8),
        ],
    )
    .header(Row::new(["Name", "Users", "Groups", "Last sync", "Fail/1h", "Health"]).bold())
    .row_highlight_style(Style::new().reversed())
    .block(Block::bordered().title(if app.tenant_filter.is_empty() {
        format!(" Tenants ({}) ", rows.len())
    } else {
        format!(
            " Tenants ({} matching \"{}\") ",
            rows.len(),
            text::clean(&app.tenant_filter)
        )
    }));
    let mut state = TableState::default().with_selected(Some(app.tenant_cursor));
    frame.render_stateful_widget(table, list, &mut state);

    let reasons_text = match app.selected_tenant().and_then(|r| r.health.as_ref()) {
        Some(health) if health.reasons.is_empty() => vec![Line::from("Nothing to report.")],
        Some(health) => health
            .reasons
            .iter()
            .map(|reason| Line::from(format!("• {}", text::clean(reason))))
            .collect(),
        None => vec![Line::from("No health figures for this tenant.")],
    };
    frame.render_widget(
        Paragraph::new(reasons_text)
            .wrap(Wrap { trim: true })
            .block(Block::bordered().title(" Health ")),
        reasons,
    );
}

fn row(row: &TenantRow) -> Row<'_> {
    let name = Cell::from(text::clean(&row.tenant.name).into_owned());
    let Some(health) = &row.health else {
        return Row::new([name, "".into(), "".into(), "".into(), "".into(), "?".into()]);
    };
    let users = health.users.active.saturating_add(health.users.inactive);
    let failures = Cell::from(health.last_hour.failures.to_string());
    let failures = if health.last_hour.failures > 0 {
        failures.red()
    } else {
        failures
    };
    Row::new([
        name,
        Cell::from(users.to_string()),
        Cell::from(health.groups.to_string()),
        Cell::from(text::when_or_never(health.last_request_at)),
        failures,
        Cell::from(verdict_label(health.verdict)).style(verdict_style(health.verdict)),
    ])
}
