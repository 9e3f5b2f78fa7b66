//! `?`: the keys of the current screen.

use ratatui::{
    Frame,
    layout::Rect,
    style::Stylize,
    text::Line,
    widgets::{Block, Paragraph},
};

use super::centered;
use crate::app::{App, Screen};

const GLOBAL: [(&str, &str); 6] = [
    ("Tab / Shift-Tab", "next / previous screen"),
    ("↑↓ or j k", "move"),
    ("Esc", "back (close a pane, leave a tenant)"),
    ("?", "this help"),
    ("q", "quit (asks first if an edit is unsaved)"),
    ("Ctrl-C", "quit at once"),
];

pub fn keys(screen: Screen) -> &'static [(&'static str, &'static str)] {
    match screen {
        Screen::Tenants => &[
            ("Enter", "open the tenant"),
            ("n", "new tenant"),
            ("d", "delete the tenant (type its name)"),
            ("/", "filter by name (Esc clears)"),
            ("PgUp PgDn g G", "page, first, last"),
            ("r", "refresh"),
        ],
        Screen::Overview => &[
            ("c", "copy the SCIM URL (OSC 52)"),
            ("p", "print the SCIM URL when quitting"),
            ("R", "rotate the SCIM token"),
            ("r", "refresh"),
        ],
        Screen::Tokens => &[
            ("R", "rotate: issue a new token"),
            ("x", "revoke the selected token"),
            ("r", "refresh"),
        ],
        Screen::Log => &[
            ("Space", "pause / resume"),
            ("s", "status filter: 2xx, 4xx, 5xx"),
            ("o", "operation filter"),
            ("i", "identity provider filter"),
            ("/", "text filter"),
            ("x", "clear the filters"),
            ("Enter", "entry detail (↑↓ PgUp PgDn scroll)"),
            ("g / G", "oldest / follow the newest"),
        ],
        Screen::Groups => &[
            ("Enter / e", "map: roles and a permission group per product"),
            ("u", "unmap"),
            ("K / J", "raise / lower the priority"),
            ("/", "search by name"),
            ("r", "reload"),
            ("", "every change is previewed first: y saves"),
        ],
        Screen::Users => &[
            ("Enter", "effective permissions and where they come from"),
            ("↑↓", "(in the pane) choose a grant"),
            ("l", "open the SCIM request that added it"),
            ("/", "search by name"),
            ("r", "reload"),
        ],
        Screen::Products => &[
            ("n", "new product"),
            ("a", "new permission group in the product"),
            ("Enter / e", "edit the permission group"),
            ("d", "delete the product or permission group"),
            ("r", "reload"),
        ],
    }
}

pub fn draw(app: &App, frame: &mut Frame, area: Rect) {
    let mut lines = vec![Line::from(format!("{} keys", app.screen.title())).bold()];
    lines.extend(
        keys(app.screen)
            .iter()
            .chain(GLOBAL.iter())
            .map(|(key, what)| Line::from(format!("{key:>15}  {what}"))),
    );
    let height = u16::try_from(lines.len()).unwrap_or(u16::MAX) + 2;
    let area = centered(frame, area, 60, height);
    frame.render_widget(
        Paragraph::new(lines).block(Block::bordered().title(" Help (? or Esc closes) ")),
        area,
    );
}
