//! What the dashboard benches share: an operator's dashboard with a tenant open, and the
//! cost of drawing one frame of it.

use std::time::{Duration, Instant};

use chrono::Utc;
use ratatui::{Terminal, backend::TestBackend};
use tui::{
    api::{Caller, Role, Tenant},
    app::{App, KeySource, Msg, Screen},
    ui,
};

/// An operator connected, with the tenant Acme open on `screen`.
pub fn operator_in_acme(screen: Screen) -> App {
    let mut app = App::new("http://127.0.0.1:8080".into(), KeySource::Env);
    app.update(Msg::Connected(Ok(Caller {
        key_id: "k".into(),
        role: Role::Operator,
        tenant_id: None,
        api_version: "1.0.0".into(),
    })));
    app.tenant = Some(Tenant {
        id: "t1".into(),
        name: "Acme".into(),
        scim_url: "http://x/scim/t1/v2".into(),
        created_at: Utc::now(),
    });
    app.screen = screen;
    app
}

/// The mean time `view` takes to draw `app` on a `width`×`height` terminal.
pub fn frame_time(app: &App, width: u16, height: u16) -> Duration {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap_or_else(|e| {
        eprintln!("no terminal: {e}");
        std::process::exit(1)
    });
    let frames = 300;
    let started = Instant::now();
    for _ in 0..frames {
        let _ = terminal.draw(|frame| ui::view(app, frame));
    }
    started.elapsed() / frames
}
