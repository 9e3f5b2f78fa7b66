//! `scim-tui`: the operators' terminal dashboard. This first version opens, shows where it
//! would connect and with which key source, and quits on `q`; screens arrive with the API
//! they drive.

mod app;
mod ui;

use std::time::Duration;

use crossterm::event::{self, Event, KeyEventKind};

use crate::app::{App, Msg};

fn main() -> anyhow::Result<()> {
    let app = App::from_env();
    let mut terminal = ratatui::init();
    let outcome = run(&mut terminal, app);
    ratatui::restore();
    outcome
}

fn run(terminal: &mut ratatui::DefaultTerminal, mut app: App) -> anyhow::Result<()> {
    while !app.quitting {
        terminal.draw(|frame| ui::view(&app, frame))?;
        if event::poll(Duration::from_millis(250))?
            && let Event::Key(key) = event::read()?
            && key.kind == KeyEventKind::Press
        {
            app.update(Msg::Key(key.code));
        }
    }
    Ok(())
}
