//! End-to-end: a real server on a loopback port, the dashboard's runtime driven by key
//! presses against it, and the real binary in a pseudo-terminal.

#![expect(clippy::unwrap_used, clippy::panic, reason = "tests fail loudly")]

mod dashboard;
mod harness;
mod pty;
