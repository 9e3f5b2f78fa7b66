//! `scim-tui`, the operators' terminal dashboard, as a library: the typed admin API
//! client ([`client`], reusable on its own), the state and its transitions ([`app`]), the
//! drawing ([`ui`]) and the loop that joins them ([`runtime`]).

pub mod api;
pub mod app;
pub mod client;
pub mod runtime;
pub mod ui;
