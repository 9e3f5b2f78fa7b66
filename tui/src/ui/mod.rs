//! Drawing: a pure function of `App`. Each screen has its own module; this one lays out
//! the frame (header, tabs, body, footer) and the overlays.

mod groups;
mod help;
mod log;
mod modal;
mod overview;
mod products;
mod tenants;
pub mod text;
mod tokens;
mod users;

use ratatui::{
    Frame,
    layout::{Constraint, Flex, Layout, Rect},
    style::{Color, Modifier, Style, Stylize},
    text::{Line, Span},
    widgets::{Block, Clear, Paragraph, Tabs, Wrap},
};

use crate::{
    api::{Role, Verdict},
    app::{App, Connection, Loadable, Problem, Screen, log::StreamState},
};

const SPINNER: [&str; 4] = ["⠋", "⠙", "⠸", "⠴"];

pub fn view(app: &App, frame: &mut Frame) {
    let [header, tabs, body, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    draw_header(app, frame, header);
    match &app.connection {
        Connection::Connecting => {
            let text = format!(
                "{} Connecting to {} …",
                spinner(app),
                text::clean(&app.server_url)
            );
            frame.render_widget(
                Paragraph::new(text).block(Block::bordered().title(" scim-tui ")),
                body,
            );
            frame.render_widget(Line::from(" q quit").dim(), footer);
        }
        Connection::Failed(problem) => {
            draw_problem(app, problem, frame, body);
            let keys = if problem.retrying {
                " q quit · r retry now"
            } else {
                " q quit · r try again"
            };
            frame.render_widget(Line::from(keys).dim(), footer);
        }
        Connection::Ready(_) => {
            draw_tabs(app, frame, tabs);
            match app.screen {
                Screen::Tenants => tenants::draw(app, frame, body),
                Screen::Overview => overview::draw(app, frame, body),
                Screen::Tokens => tokens::draw(app, frame, body),
                Screen::Log => log::draw(app, frame, body),
                Screen::Groups => groups::draw(app, frame, body),
                Screen::Users => users::draw(app, frame, body),
                Screen::Products => products::draw(app, frame, body),
            }
            draw_footer(app, frame, footer);
            if let Some(modal) = &app.modal {
                modal::draw(modal, app, frame, body);
            }
            if app.show_help {
                help::draw(app, frame, body);
            }
        }
    }
}

fn spinner(app: &App) -> &'static str {
    SPINNER[(app.ticks % SPINNER.len() as u64) as usize]
}

fn draw_header(app: &App, frame: &mut Frame, area: Rect) {
    let who = match app.caller() {
        Some(caller) if caller.role == Role::Operator => "operator".to_owned(),
        Some(_) => "tenant admin".to_owned(),
        None => String::new(),
    };
    let mut spans = vec![
        Span::styled(" SCIM provisioning ", Style::new().bold().reversed()),
        Span::raw(" "),
        Span::raw(text::clean(&app.server_url).into_owned()),
    ];
    if !who.is_empty() {
        spans.push(Span::raw(format!(" · {who}")));
    }
    if app.disconnected {
        spans.push(Span::styled(" · disconnected", Style::new().red().bold()));
    }
    frame.render_widget(Line::from(spans), area);
}

fn draw_tabs(app: &App, frame: &mut Frame, area: Rect) {
    let screens = app.screens();
    let titles: Vec<Line> = screens
        .iter()
        .map(|screen| match (screen, &app.tenant) {
            (Screen::Overview, Some(tenant)) => Line::from(format!(
                "{} ({})",
                screen.title(),
                text::clean(&tenant.name)
            )),
            (Screen::Log, None) => Line::from("Live log (all tenants)"),
            _ => Line::from(screen.title()),
        })
        .collect();
    let selected = screens.iter().position(|s| *s == app.screen);
    frame.render_widget(
        Tabs::new(titles)
            .select(selected)
            .highlight_style(Style::new().bold().fg(Color::Cyan).underlined()),
        area,
    );
}

/// Help and quit, always at the footer's right end whatever else it says.
const HELP_AND_QUIT: &str = " ? help · q quit ";

fn draw_footer(app: &App, frame: &mut Frame, area: Rect) {
    let [left, right] = Layout::horizontal([
        Constraint::Min(0),
        Constraint::Length(HELP_AND_QUIT.chars().count() as u16),
    ])
    .areas(area);
    frame.render_widget(Line::from(HELP_AND_QUIT).dim(), right);
    let line = if let Some(pending) = app.pending {
        // A key refused meanwhile says why next to the spinner.
        let refused = app
            .notice
            .as_ref()
            .map(|notice| format!(" · {}", text::clean(&notice.text)))
            .unwrap_or_default();
        Line::from(format!(" {} {pending} …{refused}", spinner(app))).yellow()
    } else if let Some(notice) = &app.notice {
        let style = if notice.error {
            Style::new().red().bold()
        } else {
            Style::new().green()
        };
        Line::from(format!(" {}", text::clean(&notice.text))).style(style)
    } else {
        screen_keys(app, usize::from(left.width)).dim()
    };
    frame.render_widget(line, left);
}

/// The current screen's keys, whole, as many as fit in `room` columns (after the log's
/// stream state, which is cut if it alone is too long).
fn screen_keys(app: &App, room: usize) -> Line<'static> {
    let keys = match app.screen {
        Screen::Tenants => "Enter open · n new · d delete · / filter · r refresh",
        Screen::Overview => "c copy SCIM URL · p print it on exit · R rotate token · Esc back",
        Screen::Tokens => "↑↓ move · R rotate · x revoke · r refresh · Esc back",
        Screen::Log => "Space pause · s/o/i filter · / text · Enter detail",
        Screen::Groups => "Enter map · u unmap · K/J priority · / search",
        Screen::Users => "Enter permissions · l the request · / search",
        Screen::Products => "n product · a permission group · e edit · d delete",
    };
    let mut spans = Vec::new();
    if app.screen == Screen::Log {
        spans.push(Span::raw(" "));
        spans.extend(log::stream_badge(app));
    }
    let mut used: usize = spans.iter().map(Span::width).sum();
    for item in keys.split(" · ").chain(["Tab screens"]) {
        let text = if spans.is_empty() {
            format!(" {item}")
        } else {
            format!(" · {item}")
        };
        let width = Span::raw(text.as_str()).width();
        if used + width > room {
            break;
        }
        used += width;
        spans.push(Span::raw(text));
    }
    Line::from(spans)
}

fn draw_problem(app: &App, problem: &Problem, frame: &mut Frame, area: Rect) {
    let mut lines = vec![
        Line::from(text::clean(&problem.title).into_owned())
            .red()
            .bold(),
        Line::default(),
    ];
    lines.extend(
        problem
            .advice
            .iter()
            .map(|line| Line::from(text::clean(line).into_owned())),
    );
    if problem.retrying {
        lines.push(Line::default());
        lines.push(Line::from(format!("{} Trying again by itself …", spinner(app))).dim());
    }
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(Block::bordered().title(" scim-tui ")),
        area,
    );
}

pub fn verdict_style(verdict: Verdict) -> Style {
    match verdict {
        Verdict::Healthy => Style::new().fg(Color::Green),
        Verdict::Warning => Style::new().fg(Color::Yellow),
        Verdict::Failing => Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
    }
}

pub fn verdict_label(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Healthy => "healthy",
        Verdict::Warning => "warning",
        Verdict::Failing => "failing",
    }
}

/// What a screen shows while its data is not there.
fn placeholder<T>(app: &App, data: &Loadable<T>, frame: &mut Frame, area: Rect) -> bool {
    let text = match data {
        Loadable::Loaded(_) => return false,
        Loadable::Loading => format!("{} Loading …", spinner(app)),
        Loadable::Failed(err) => format!("Could not load: {}  (r to retry)", text::clean(err)),
    };
    frame.render_widget(Paragraph::new(text).block(Block::bordered()), area);
    true
}

/// A box of `width`×`height` centred in `area` (clamped to it), cleared.
fn centered(frame: &mut Frame, area: Rect, width: u16, height: u16) -> Rect {
    let [area] = Layout::horizontal([Constraint::Length(width.min(area.width))])
        .flex(Flex::Center)
        .areas(area);
    let [area] = Layout::vertical([Constraint::Length(height.min(area.height))])
        .flex(Flex::Center)
        .areas(area);
    frame.render_widget(Clear, area);
    area
}

/// A paged list's title: how many are loaded, whether more are coming, the search.
fn paged_title<T>(name: &str, list: &crate::app::permissions::Paged<T>) -> String {
    let more = if list.next.is_some() { "+" } else { "" };
    let mut title = format!(" {name} ({}{more})", list.items.len());
    if !list.search.is_empty() {
        title.push_str(&format!(" matching \"{}\"", text::clean(&list.search)));
    }
    if list.loading && !list.items.is_empty() {
        title.push_str(" · loading more");
    }
    title.push(' ');
    title
}

/// The rows of a list of `len` that fit in `height` with the cursor visible: the first
/// row's index and how many. Only those are built, however long the list.
fn visible_window(cursor: usize, len: usize, height: u16) -> (usize, usize) {
    let fits = usize::from(height.saturating_sub(3)).max(1);
    let first = (cursor + 1).saturating_sub(fits);
    (first, fits.min(len - first))
}

/// The log's connection, for the footer.
fn stream_label(state: &StreamState) -> (String, Style) {
    match state {
        StreamState::Off => ("○ off".to_owned(), Style::new().dim()),
        StreamState::Connecting => ("◌ connecting".to_owned(), Style::new().yellow()),
        StreamState::Live => ("● live".to_owned(), Style::new().green()),
        StreamState::Reconnecting(reason) => (
            format!("◌ reconnecting ({})", text::clean(reason)),
            Style::new().red(),
        ),
        StreamState::Stopped(err) => (
            format!("✕ stopped ({})", text::clean(&err.to_string())),
            Style::new().red().bold(),
        ),
    }
}

#[cfg(test)]
pub mod tests;
