//! The live provisioning log: the newest entries at the bottom, coloured by status class;
//! the detail pane with the summary, the change events and the redacted bodies.

use ratatui::{
    Frame,
    layout::{Constraint, Layout, Rect},
    style::{Color, Style, Stylize},
    text::{Line, Span},
    widgets::{Block, Cell, Paragraph, Row, Table, TableState, Wrap},
};

use super::{stream_label, text};
use crate::{
    api::{ActivityDetail, ActivityEntry},
    app::{
        App,
        log::{Detail, StatusClass},
    },
};

pub fn draw(app: &App, frame: &mut Frame, area: Rect) {
    let log = &app.log;
    let (list, detail) = match &log.detail {
        Some(_) if area.width >= 140 => {
            let [list, detail] =
                Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)])
                    .areas(area);
            (list, Some(detail))
        }
        Some(_) => {
            let [list, detail] =
                Layout::vertical([Constraint::Length(7), Constraint::Min(5)]).areas(area);
            (list, Some(detail))
        }
        None => (area, None),
    };
    draw_list(app, frame, list);
    if let (Some(area), Some(detail)) = (detail, &log.detail) {
        draw_detail(app, detail, frame, area);
    }
}

fn draw_list(app: &App, frame: &mut Frame, area: Rect) {
    let log = &app.log;
    let all_tenants = log.tenant.is_none();
    let mut title = format!(" Log: {} entries", log.visible_len());
    if !log.filter.is_empty() {
        title.push_str(" (filtered:");
        if let Some(class) = log.filter.status {
            title.push_str(&format!(" {}", class.label()));
        }
        if let Some(op) = log.filter.operation {
            title.push_str(&format!(" {op}"));
        }
        if let Some(idp) = log.filter.idp {
            title.push_str(&format!(" {idp}"));
        }
        if !log.filter.text.is_empty() {
            title.push_str(&format!(" \"{}\"", text::clean(&log.filter.text)));
        }
        title.push(')');
    }
    if log.paused {
        title.push_str(&format!(" · PAUSED, {} new", log.arrived_while_paused));
    }
    title.push(' ');
    let block = Block::bordered().title(title);
    if log.visible_len() == 0 {
        let hint = if log.entries.is_empty() {
            "No requests yet. They appear here as the identity provider sends them."
        } else {
            "No entry matches the filters (x clears them)."
        };
        frame.render_widget(Paragraph::new(hint).block(block), area);
        return;
    }
    // Only the rows that can show are built: the buffer may hold thousands.
    let height = usize::from(area.height.saturating_sub(3)).max(1);
    let cursor = log.cursor().unwrap_or_default();
    let first = (cursor + 1).saturating_sub(height);
    let rows: Vec<Row> = log
        .visible()
        .skip(first)
        .take(height)
        .map(|entry| row(entry, all_tenants.then_some(app)))
        .collect();
    let mut widths = vec![
        Constraint::Length(8),
        Constraint::Length(3),
        Constraint::Length(11),
    ];
    let mut header = vec!["Time", "St", "Operation"];
    if all_tenants {
        widths.push(Constraint::Length(10));
        header.push("Tenant");
    }
    widths.push(Constraint::Min(10));
    header.push("Summary");
    let table = Table::new(rows, widths)
        .header(Row::new(header).bold())
        .row_highlight_style(Style::new().reversed())
        .block(block);
    let mut state = TableState::default().with_selected(Some(cursor - first));
    frame.render_stateful_widget(table, area, &mut state);
}

fn status_colour(status: u16) -> Color {
    match StatusClass::of(status) {
        StatusClass::Success => Color::Green,
        StatusClass::ClientError => Color::Yellow,
        StatusClass::ServerError => Color::Red,
    }
}

/// `app` is given when the log shows every tenant, to name each entry's tenant.
fn row<'a>(entry: &'a ActivityEntry, app: Option<&App>) -> Row<'a> {
    let mut cells = vec![
        Cell::from(entry.at.format("%H:%M:%S").to_string()),
        Cell::from(entry.status.to_string()).style(Style::new().fg(status_colour(entry.status))),
        Cell::from(entry.operation.clone()),
    ];
    if let Some(app) = app {
        cells.push(Cell::from(tenant_name(app, entry.tenant_id.as_deref())));
    }
    cells.push(Cell::from(text::clean(&entry.summary).into_owned()));
    Row::new(cells)
}

fn draw_detail(app: &App, detail: &Detail, frame: &mut Frame, area: Rect) {
    let block = Block::bordered().title(" Entry (Esc closes, ↑↓ scroll) ");
    let inner = block.inner(area);
    let text = Paragraph::new(detail_text(detail)).wrap(Wrap { trim: false });
    // How far the pane scrolls at this size, for `update` to stop there.
    let rows = text.line_count(inner.width);
    let max = u16::try_from(rows.saturating_sub(usize::from(inner.height))).unwrap_or(u16::MAX);
    app.log.detail_max_scroll.set(max);
    frame.render_widget(
        text.scroll((app.log.detail_scroll.min(max), 0))
            .block(block),
        area,
    );
}

fn detail_text(detail: &Detail) -> Vec<Line<'static>> {
    match detail {
        Detail::Loading(id) => vec![Line::from(format!("Loading entry {id} …"))],
        Detail::Finding(request) => vec![Line::from(format!(
            "Looking up request {} …",
            text::clean(request)
        ))],
        Detail::Missing(request) => vec![
            Line::from(format!("No log entry for request {}", text::clean(request))).yellow(),
            Line::from("It may be older than the log's retention."),
        ],
        Detail::FindFailed(request, err) => vec![
            Line::from(format!(
                "Could not look up request {}",
                text::clean(request)
            ))
            .red(),
            Line::from(text::clean(err).into_owned()),
        ],
        Detail::Failed(id, err) => vec![
            Line::from(format!("Could not load entry {id}")).red(),
            Line::from(text::clean(err).into_owned()),
        ],
        Detail::Loaded(detail) => detail_lines(detail),
    }
}

fn detail_lines(detail: &ActivityDetail) -> Vec<Line<'static>> {
    let entry = &detail.entry;
    let label = |name: &'static str| Span::raw(name).dim();
    let mut lines = vec![
        Line::from(vec![
            Span::styled(
                format!("{} ", entry.status),
                Style::new().fg(status_colour(entry.status)).bold(),
            ),
            Span::raw(text::clean(&entry.summary).into_owned()),
        ]),
        Line::from(vec![
            label("request  "),
            Span::raw(format!(
                "{} {} · {} · {:.1} ms · {}",
                entry.method,
                text::clean(&entry.path),
                entry.idp,
                entry.latency_us as f64 / 1000.0,
                text::when(entry.at)
            )),
        ]),
        Line::from(vec![
            label("id       "),
            Span::raw(
                entry
                    .request_id
                    .as_deref()
                    .map(|id| text::clean(id).into_owned())
                    .unwrap_or_default(),
            ),
        ]),
    ];
    if !entry.quirks.is_empty() {
        lines.push(Line::from(vec![
            label("quirks   "),
            Span::raw(entry.quirks.join(", ")),
        ]));
    }
    lines.push(Line::default());
    if detail.change_events.is_empty() {
        lines.push(Line::from("Changed nothing.").dim());
    } else {
        lines.push(Line::from("Changes").bold());
        lines.extend(detail.change_events.iter().map(|event| {
            Line::from(format!(
                "  {} {} {}",
                event.kind,
                event.resource_type,
                text::clean(&event.resource_id)
            ))
        }));
    }
    for (title, body) in [
        ("Request body", &detail.request_body),
        ("Response body", &detail.response_body),
    ] {
        lines.push(Line::default());
        lines.push(Line::from(title).bold());
        match body {
            Some(body) => lines.extend(
                pretty(body)
                    .lines()
                    .map(|line| Line::from(text::clean(line).into_owned())),
            ),
            None => lines.push(Line::from("(none)").dim()),
        }
    }
    lines
}

/// JSON indented for reading; anything else (a truncated body) as it came.
fn pretty(body: &str) -> String {
    serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|value| serde_json::to_string_pretty(&value).ok())
        .unwrap_or_else(|| body.to_owned())
}

/// The tenant's name if the list has it, else the end of its id.
fn tenant_name(app: &App, tenant: Option<&str>) -> String {
    let Some(tenant) = tenant else {
        return "-".to_owned();
    };
    app.tenants
        .loaded()
        .and_then(|rows| rows.iter().find(|row| row.tenant.id == tenant))
        .map_or_else(
            || text::clean(text::short_id(tenant)).into_owned(),
            |row| text::clean(&row.tenant.name).into_owned(),
        )
}

/// The stream's state and the pause, for the footer.
pub fn stream_badge(app: &App) -> Vec<Span<'static>> {
    let (label, style) = stream_label(&app.log.stream);
    let mut spans = vec![Span::styled(label, style)];
    if app.log.unreadable > 0 {
        spans.push(Span::styled(
            format!(" · {} unreadable skipped", app.log.unreadable),
            Style::new().yellow(),
        ));
    }
    if app.log.paused {
        spans.push(Span::styled(
            format!(" · paused (+{})", app.log.arrived_while_paused),
            Style::new().yellow().bold(),
        ));
    }
    spans
}
