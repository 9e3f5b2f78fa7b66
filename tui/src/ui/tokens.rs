//! The open tenant's SCIM tokens, newest first: rotate, revoke.

use ratatui::{
    Frame,
    layout::{Constraint, Rect},
    style::{Color, Style, Stylize},
    widgets::{Block, Cell, Paragraph, Row, Table, TableState},
};

use super::{overview::status_word, placeholder, text};
use crate::{
    api::{Credential, CredentialStatus},
    app::App,
};

pub fn draw(app: &App, frame: &mut Frame, area: Rect) {
    if placeholder(app, &app.detail, frame, area) {
        return;
    }
    let tokens = app.detail.loaded().map_or(&[][..], |d| d.tokens.as_slice());
    if tokens.is_empty() {
        frame.render_widget(
            Paragraph::new("No SCIM token yet. Press R to issue the first.")
                .block(Block::bordered().title(" SCIM tokens ")),
            area,
        );
        return;
    }
    let table = Table::new(
        tokens.iter().map(row),
        [
            Constraint::Length(8),
            Constraint::Length(8),
            Constraint::Length(19),
            Constraint::Length(19),
            Constraint::Min(19),
        ],
    )
    .header(Row::new(["Id", "Status", "Created", "Last used", "Ends"]).bold())
    .row_highlight_style(Style::new().reversed())
    .block(Block::bordered().title(" SCIM tokens (newest first) "));
    let mut state = TableState::default().with_selected(Some(app.token_cursor));
    frame.render_stateful_widget(table, area, &mut state);
}

fn row(token: &Credential) -> Row<'_> {
    let colour = match token.status {
        CredentialStatus::Active => Color::Green,
        CredentialStatus::Rotating => Color::Yellow,
        CredentialStatus::Revoked | CredentialStatus::Expired => Color::DarkGray,
    };
    let ends = match (&token.ends_on_first_use, token.revoked_at, token.expires_at) {
        (Some(old), _, _) => format!("ends {} on first use", text::short_id(old)),
        (None, Some(at), _) => text::when(at),
        (None, None, Some(at)) => format!("expires {}", text::when(at)),
        (None, None, None) => "never".to_owned(),
    };
    Row::new([
        Cell::from(text::short_id(&token.id).to_owned()),
        Cell::from(status_word(token.status)).style(Style::new().fg(colour)),
        Cell::from(text::when(token.created_at)),
        Cell::from(text::when_or_never(token.last_used_at)),
        Cell::from(ends),
    ])
}
