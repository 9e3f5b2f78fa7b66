//! Drawing: a pure function of `App`.

use ratatui::{
    Frame,
    layout::{Constraint, Layout},
    style::{Style, Stylize},
    text::Line,
    widgets::{Block, Clear, Paragraph},
};

use crate::app::{App, KeySource};

pub fn view(app: &App, frame: &mut Frame) {
    let [body, footer] =
        Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(frame.area());
    let key = match &app.key_source {
        KeySource::Env => "admin key: from SCIM_ADMIN_KEY".to_owned(),
        KeySource::File(path) => format!("admin key: from {}", path.display()),
        KeySource::Missing => {
            "admin key: none found (set SCIM_ADMIN_KEY or SCIM_ADMIN_KEY_FILE)".to_owned()
        }
    };
    let lines = vec![
        Line::from(format!("server: {}", app.server_url)),
        Line::from(key),
    ];
    frame.render_widget(
        Paragraph::new(lines).block(Block::bordered().title(" SCIM provisioning ")),
        body,
    );
    frame.render_widget(
        Line::from("q quit · ? help").style(Style::new().dim()),
        footer,
    );
    if app.show_help {
        let area = body.inner(ratatui::layout::Margin::new(4, 2));
        frame.render_widget(Clear, area);
        frame.render_widget(
            Paragraph::new(vec![
                Line::from("q / Esc  quit"),
                Line::from("?        toggle this help"),
            ])
            .block(Block::bordered().title(" Help ").bold()),
            area,
        );
    }
}

#[cfg(test)]
mod tests {
    use ratatui::{Terminal, backend::TestBackend};

    use super::*;

    fn render(app: &App) -> String {
        let mut terminal = Terminal::new(TestBackend::new(70, 12)).unwrap();
        terminal.draw(|frame| view(app, frame)).unwrap();
        let buffer = terminal.backend().buffer();
        (0..buffer.area.height)
            .map(|y| {
                (0..buffer.area.width)
                    .map(|x| buffer[(x, y)].symbol())
                    .collect::<String>()
                    .trim_end()
                    .to_owned()
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn shows_server_and_key_source_but_never_a_key() {
        let app = App::new(
            "http://scim.test".into(),
            KeySource::File("data/operator.key".into()),
        );
        let screen = render(&app);
        assert!(screen.contains("server: http://scim.test"), "{screen}");
        assert!(
            screen.contains("admin key: from data/operator.key"),
            "{screen}"
        );
        assert!(screen.contains("q quit"), "{screen}");
        assert!(!screen.contains("sadm_"));
    }

    #[test]
    fn help_overlay() {
        let mut app = App::new("http://scim.test".into(), KeySource::Missing);
        app.show_help = true;
        let screen = render(&app);
        assert!(screen.contains("Help"), "{screen}");
        assert!(screen.contains("toggle this help"), "{screen}");
    }
}
