//! State and its transitions (the Elm architecture): `update` is pure, `ui::view` draws.

use std::path::PathBuf;

use crossterm::event::KeyCode;

/// Where the admin key comes from; the key itself is never shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    Env,
    File(PathBuf),
    Missing,
}

#[derive(Debug, Clone)]
pub struct App {
    pub server_url: String,
    pub key_source: KeySource,
    pub show_help: bool,
    pub quitting: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Msg {
    Key(KeyCode),
}

impl App {
    pub fn new(server_url: String, key_source: KeySource) -> Self {
        Self {
            server_url,
            key_source,
            show_help: false,
            quitting: false,
        }
    }

    /// `SCIM_SERVER_URL` (default `http://127.0.0.1:8080`); the key from `SCIM_ADMIN_KEY` or
    /// the file `SCIM_ADMIN_KEY_FILE` (default `./data/operator.key`, where a fresh server
    /// writes its first operator key). Never from arguments, which `ps` shows.
    pub fn from_env() -> Self {
        let server_url =
            std::env::var("SCIM_SERVER_URL").unwrap_or_else(|_| "http://127.0.0.1:8080".to_owned());
        let key_file = std::env::var_os("SCIM_ADMIN_KEY_FILE")
            .map_or_else(|| PathBuf::from("data/operator.key"), PathBuf::from);
        let key_source = if std::env::var_os("SCIM_ADMIN_KEY").is_some() {
            KeySource::Env
        } else if key_file.is_file() {
            KeySource::File(key_file)
        } else {
            KeySource::Missing
        };
        Self::new(server_url, key_source)
    }

    pub fn update(&mut self, msg: Msg) {
        match msg {
            Msg::Key(KeyCode::Char('q')) | Msg::Key(KeyCode::Esc) if !self.show_help => {
                self.quitting = true
            }
            Msg::Key(KeyCode::Char('?')) => self.show_help = !self.show_help,
            Msg::Key(KeyCode::Esc | KeyCode::Char('q')) => self.show_help = false,
            Msg::Key(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app() -> App {
        App::new("http://localhost:8080".into(), KeySource::Missing)
    }

    #[test]
    fn q_quits() {
        let mut app = app();
        app.update(Msg::Key(KeyCode::Char('x')));
        assert!(!app.quitting);
        app.update(Msg::Key(KeyCode::Char('q')));
        assert!(app.quitting);
    }

    #[test]
    fn help_toggles_and_q_closes_it_first() {
        let mut app = app();
        app.update(Msg::Key(KeyCode::Char('?')));
        assert!(app.show_help);
        app.update(Msg::Key(KeyCode::Char('q')));
        assert!(!app.show_help);
        assert!(!app.quitting);
    }
}
