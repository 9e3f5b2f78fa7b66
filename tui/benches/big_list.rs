//! What a tenant of 100,000 synced users costs the dashboard once all are paged in: a
//! frame of the users screen (at the top, in the middle, at the end) and a key that moves
//! the cursor. Prints figures; asserts nothing.

mod common;

use std::time::Instant;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use tui::{
    api::{Page, SyncedUser},
    app::{App, Msg, Screen},
};

const USERS: usize = 100_000;

/// The users screen with all `USERS` paged in, as scrolling to the end would.
fn app() -> App {
    let mut app = common::operator_in_acme(Screen::Users);
    let _ = app.refresh();
    // The pages as the API gives them (200 a page), the last without a next cursor.
    let pages = USERS / 200;
    for page in 0..pages {
        let items = (page * 200..(page + 1) * 200)
            .map(|n| SyncedUser {
                id: format!("01a2385e-0a10-7097-9d69-{n:012}"),
                user_name: format!("user{n}@acme.test"),
                display_name: Some(format!("User {n}")),
                active: n % 10 != 0,
                group_count: (n % 7) as u64,
            })
            .collect();
        let next = (page + 1 < pages).then(|| format!("c{page}"));
        app.update(Msg::Users {
            request: app.users.request,
            result: Ok(Page {
                items,
                next_cursor: next,
            }),
        });
        // The cursor runs ahead so that the next page is asked for.
        app.users.cursor = app.users.items.len().saturating_sub(1);
        let _ = app.update(Msg::Key(KeyEvent::new(KeyCode::Down, KeyModifiers::NONE)));
    }
    app
}

fn main() {
    let started = Instant::now();
    let loaded = app();
    println!(
        "{} users paged in through update in {:.1} ms",
        loaded.users.items.len(),
        started.elapsed().as_secs_f64() * 1000.0
    );
    for (width, height) in [(80, 24), (160, 48)] {
        for (name, cursor) in [
            ("top", 0),
            ("middle", USERS / 2),
            ("end", USERS.saturating_sub(1)),
        ] {
            let mut app = loaded.clone();
            app.users.cursor = cursor;
            let per_frame = common::frame_time(&app, width, height);
            println!(
                "users screen {width}x{height} at the {name:<6}: {:>6.3} ms a frame",
                per_frame.as_secs_f64() * 1000.0
            );
        }
    }
    let mut app = loaded;
    app.users.cursor = USERS / 2;
    let keys = 100_000;
    let started = Instant::now();
    for n in 0..keys {
        let code = if n % 2 == 0 {
            KeyCode::Down
        } else {
            KeyCode::Up
        };
        let _ = app.update(Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)));
    }
    println!(
        "a cursor key on the 100,000-row list: {:.2} µs in update",
        started.elapsed().as_secs_f64() * 1e6 / f64::from(keys)
    );
}
