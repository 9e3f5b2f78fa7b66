//! How many log entries a second the dashboard absorbs, and what a frame costs with a full
//! buffer: `update` taking the stream's batches, and `view` drawing the live log (plain,
//! filtered, with the detail pane) at 80×24 and 160×48. Prints figures; asserts nothing.

mod common;

use std::time::{Duration, Instant};

use chrono::Utc;
use tui::{
    api::ActivityEntry,
    app::{App, Msg, Screen, log::CAPACITY},
};

const BATCH: usize = 512;

fn entry(id: i64) -> ActivityEntry {
    let status = match id % 50 {
        0 => 500,
        1..=4 => 409,
        _ => 201,
    };
    ActivityEntry {
        id,
        at: Utc::now(),
        tenant_id: Some("t1".into()),
        method: "POST".into(),
        path: "/scim/t1/v2/Users".into(),
        operation: if id % 3 == 0 { "patch" } else { "create" }.into(),
        status,
        latency_us: 900,
        idp: "entra".into(),
        summary: format!("created user user{id}@acme.test"),
        request_id: Some(format!("01a2385e-0a10-7097-9d69-{id:012}")),
        quirks: Vec::new(),
    }
}

fn main() {
    let mut app = common::operator_in_acme(Screen::Log);
    let generation = app.log.generation;
    let total = 200_000;
    let started = Instant::now();
    let mut next = 1;
    while next <= total {
        let entries = (next..next + BATCH as i64).map(entry).collect();
        next += BATCH as i64;
        app.update(Msg::LogArrived {
            generation,
            entries,
            unreadable: 0,
        });
    }
    let took = started.elapsed();
    println!(
        "update: {} entries in batches of {BATCH}: {:.0} entries/s ({:.2} µs each); buffer {} (capacity {CAPACITY})",
        total,
        total as f64 / took.as_secs_f64(),
        took.as_secs_f64() * 1e6 / total as f64,
        app.log.entries.len()
    );

    for (width, height) in [(80, 24), (160, 48)] {
        for (name, setup) in [
            ("following", (|_: &mut App| {}) as fn(&mut App)),
            ("filtered 5xx", |app: &mut App| {
                app.log.filter.cycle_status();
                app.log.filter.cycle_status();
                app.log.filter.cycle_status();
            }),
            ("scrolled to the top", |app: &mut App| app.log.top()),
        ] {
            let mut app = app.clone();
            setup(&mut app);
            let per_frame = common::frame_time(&app, width, height);
            println!(
                "view {width}x{height} {name:<20}: {:>7.3} ms a frame ({:.0} frames/s possible; drawn at most every {} ms)",
                per_frame.as_secs_f64() * 1000.0,
                1.0 / per_frame.as_secs_f64().max(f64::EPSILON),
                Duration::from_millis(33).as_millis()
            );
        }
    }
}
