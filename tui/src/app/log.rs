//! The live provisioning log: a bounded buffer fed by the stream, a pause that holds new
//! entries back (and counts them), filters applied to what is buffered, a selection that
//! follows the newest entry until the operator moves it.

use std::collections::VecDeque;

use crate::{
    api::{ActivityDetail, ActivityEntry},
    client::Error,
};

/// Entries kept in memory; older ones fall off the top.
pub const CAPACITY: usize = 5_000;

/// The stream's connection, as the footer shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamState {
    Off,
    Connecting,
    Live,
    /// Lost; trying again (the reason, for the operator).
    Reconnecting(String),
    /// Refused for good (the key, or the tenant, is gone); not retried.
    Stopped(Error),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusClass {
    Success,
    ClientError,
    ServerError,
}

impl StatusClass {
    pub fn of(status: u16) -> Self {
        match status {
            500.. => Self::ServerError,
            400.. => Self::ClientError,
            _ => Self::Success,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Success => "2xx",
            Self::ClientError => "4xx",
            Self::ServerError => "5xx",
        }
    }
}

pub const OPERATIONS: [&str; 10] = [
    "create",
    "replace",
    "patch",
    "delete",
    "get",
    "list",
    "search",
    "discovery",
    "auth_failed",
    "rejected",
];
pub const IDPS: [&str; 4] = ["entra", "okta", "onelogin", "other"];

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub status: Option<StatusClass>,
    pub operation: Option<&'static str>,
    pub idp: Option<&'static str>,
    /// Case-insensitive, in the summary, path and request id.
    pub text: String,
}

impl Filter {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    pub fn admits(&self, entry: &ActivityEntry) -> bool {
        self.status
            .is_none_or(|class| StatusClass::of(entry.status) == class)
            && self.operation.is_none_or(|op| entry.operation == op)
            && self.idp.is_none_or(|idp| entry.idp == idp)
            && (self.text.is_empty() || {
                let needle = self.text.to_lowercase();
                [
                    entry.summary.as_str(),
                    entry.path.as_str(),
                    entry.request_id.as_deref().unwrap_or_default(),
                ]
                .iter()
                .any(|hay| hay.to_lowercase().contains(&needle))
            })
    }

    pub fn cycle_status(&mut self) {
        self.status = match self.status {
            None => Some(StatusClass::Success),
            Some(StatusClass::Success) => Some(StatusClass::ClientError),
            Some(StatusClass::ClientError) => Some(StatusClass::ServerError),
            Some(StatusClass::ServerError) => None,
        };
    }

    pub fn cycle_operation(&mut self) {
        self.operation = cycle(&OPERATIONS, self.operation);
    }

    pub fn cycle_idp(&mut self) {
        self.idp = cycle(&IDPS, self.idp);
    }
}

/// The next of `values` after `current`; after the last, none (no filter).
fn cycle(values: &[&'static str], current: Option<&'static str>) -> Option<&'static str> {
    match current {
        None => values.first().copied(),
        Some(current) => values
            .iter()
            .position(|v| *v == current)
            .and_then(|at| values.get(at + 1))
            .copied(),
    }
}

/// An entry opened in the detail pane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Detail {
    Loading(i64),
    /// Looking up the entry of a request by its id.
    Finding(String),
    Loaded(Box<ActivityDetail>),
    Failed(i64, String),
    FindFailed(String, String),
    /// No entry has that request id (it may be past the log's retention).
    Missing(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogView {
    /// The tenant followed, or every tenant (operators).
    pub tenant: Option<String>,
    /// Which stream the entries come from; entries of an earlier one are dropped.
    pub generation: u64,
    pub entries: VecDeque<ActivityEntry>,
    pub paused: bool,
    /// Entries that arrived while paused, shown on resume.
    pub held: VecDeque<ActivityEntry>,
    /// How many arrived while paused (more than `held` keeps, under a flood).
    pub arrived_while_paused: usize,
    pub filter: Filter,
    /// The id of the highlighted entry; `None` follows the newest.
    pub selected: Option<i64>,
    pub detail: Option<Detail>,
    pub detail_scroll: u16,
    /// How far the detail pane scrolls, as the view last drew it (wrapped, at the
    /// terminal's size); the view writes it, `update` stops scrolling there.
    pub detail_max_scroll: std::cell::Cell<u16>,
    pub stream: StreamState,
    /// An entry to select once it is in the buffer (a jump from another screen).
    pub wanted_request: Option<String>,
    /// Entries the stream sent that could not be read, skipped.
    pub unreadable: usize,
}

impl LogView {
    pub fn new() -> Self {
        Self {
            tenant: None,
            generation: 0,
            entries: VecDeque::new(),
            paused: false,
            held: VecDeque::new(),
            arrived_while_paused: 0,
            filter: Filter::default(),
            selected: None,
            detail: None,
            detail_scroll: 0,
            detail_max_scroll: std::cell::Cell::new(u16::MAX),
            stream: StreamState::Off,
            wanted_request: None,
            unreadable: 0,
        }
    }

    /// Starts over for a new scope; returns the generation the new stream must carry.
    pub fn restart(&mut self, tenant: Option<String>) -> u64 {
        let generation = self.generation + 1;
        *self = Self {
            generation,
            tenant,
            filter: std::mem::take(&mut self.filter),
            stream: StreamState::Connecting,
            ..Self::new()
        };
        generation
    }

    pub fn arrive(&mut self, entries: Vec<ActivityEntry>) {
        let newest = self.entries.back().map(|e| e.id);
        let fresh = entries
            .into_iter()
            .filter(|entry| newest.is_none_or(|newest| entry.id > newest));
        if self.paused {
            for entry in fresh {
                if self.held.back().is_some_and(|held| held.id >= entry.id) {
                    continue;
                }
                self.arrived_while_paused += 1;
                push_bounded(&mut self.held, entry);
            }
            return;
        }
        for entry in fresh {
            push_bounded(&mut self.entries, entry);
        }
        self.select_wanted();
    }

    /// Highlights the wanted request's entry if it is in the buffer.
    pub fn select_wanted(&mut self) {
        let Some(wanted) = &self.wanted_request else {
            return;
        };
        let found = self
            .visible()
            .find(|entry| entry.request_id.as_deref() == Some(wanted))
            .map(|entry| entry.id);
        if let Some(id) = found {
            self.selected = Some(id);
            self.wanted_request = None;
        }
    }

    pub fn toggle_pause(&mut self) {
        self.paused = !self.paused;
        if !self.paused {
            let held = std::mem::take(&mut self.held);
            self.arrived_while_paused = 0;
            self.arrive(held.into());
        }
    }

    pub fn visible(&self) -> impl Iterator<Item = &ActivityEntry> {
        self.entries
            .iter()
            .filter(|entry| self.filter.admits(entry))
    }

    pub fn visible_len(&self) -> usize {
        self.visible().count()
    }

    /// The index of the highlighted entry among the visible ones. An entry that fell off
    /// the buffer leaves the highlight on the oldest one kept.
    pub fn cursor(&self) -> Option<usize> {
        let len = self.visible_len();
        if len == 0 {
            return None;
        }
        Some(match self.selected {
            None => len - 1,
            Some(id) => self
                .visible()
                .position(|entry| entry.id >= id)
                .unwrap_or(len - 1),
        })
    }

    pub fn selected_entry(&self) -> Option<&ActivityEntry> {
        self.cursor().and_then(|at| self.visible().nth(at))
    }

    /// Moves the highlight by `delta`; reaching the newest entry follows again.
    pub fn move_by(&mut self, delta: isize) {
        let len = self.visible_len();
        let Some(cursor) = self.cursor() else {
            return;
        };
        let target = cursor.saturating_add_signed(delta).min(len - 1);
        self.select_at(target, len);
    }

    pub fn follow(&mut self) {
        self.selected = None;
    }

    pub fn top(&mut self) {
        let len = self.visible_len();
        if len > 1 {
            self.select_at(0, len);
        }
    }

    /// Highlights the visible entry at `at` (of `len`); the newest means following.
    fn select_at(&mut self, at: usize, len: usize) {
        self.selected = if at + 1 < len {
            self.visible().nth(at).map(|entry| entry.id)
        } else {
            None
        };
    }

    /// After a filter change the old index means nothing: follow the newest.
    pub fn filter_changed(&mut self) {
        self.selected = None;
    }
}

impl Default for LogView {
    fn default() -> Self {
        Self::new()
    }
}

/// Appends, dropping the oldest past `CAPACITY`.
fn push_bounded(queue: &mut VecDeque<ActivityEntry>, entry: ActivityEntry) {
    queue.push_back(entry);
    if queue.len() > CAPACITY {
        queue.pop_front();
    }
}

#[cfg(test)]
pub mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;

    pub fn entry(id: i64, status: u16, operation: &str, summary: &str) -> ActivityEntry {
        ActivityEntry {
            id,
            at: Utc
                .with_ymd_and_hms(2026, 12, 2, 9, 0, 0)
                .single()
                .unwrap_or_default()
                + chrono::Duration::seconds(id),
            tenant_id: Some("t1".into()),
            method: "POST".into(),
            path: "/scim/t1/v2/Users".into(),
            operation: operation.into(),
            status,
            latency_us: 1200,
            idp: "entra".into(),
            summary: summary.into(),
            request_id: Some(format!("req-{id}")),
            quirks: Vec::new(),
        }
    }

    fn ids(log: &LogView) -> Vec<i64> {
        log.visible().map(|e| e.id).collect()
    }

    #[test]
    fn the_buffer_is_bounded_and_keeps_order() {
        let mut log = LogView::new();
        log.arrive(
            (1..=CAPACITY as i64 + 10)
                .map(|id| entry(id, 201, "create", "x"))
                .collect(),
        );
        assert_eq!(log.entries.len(), CAPACITY);
        assert_eq!(log.entries.front().map(|e| e.id), Some(11));
        log.arrive(vec![entry(5, 201, "create", "replayed")]);
        assert_eq!(
            log.entries.len(),
            CAPACITY,
            "an entry seen before is not added again"
        );
    }

    #[test]
    fn pause_holds_entries_and_counts_them() {
        let mut log = LogView::new();
        log.arrive(vec![entry(1, 201, "create", "a")]);
        log.toggle_pause();
        log.arrive(vec![
            entry(2, 201, "create", "b"),
            entry(3, 500, "patch", "c"),
        ]);
        assert_eq!(ids(&log), vec![1]);
        assert_eq!(log.arrived_while_paused, 2);
        log.toggle_pause();
        assert_eq!(ids(&log), vec![1, 2, 3]);
        assert_eq!(log.arrived_while_paused, 0);
    }

    #[test]
    fn filters_combine() {
        let mut log = LogView::new();
        log.arrive(vec![
            entry(1, 201, "create", "created ada"),
            entry(2, 409, "create", "userName taken"),
            entry(3, 500, "patch", "storage failed"),
            entry(4, 200, "patch", "added 3 members"),
        ]);
        log.filter.cycle_status();
        assert_eq!(ids(&log), vec![1, 4]);
        log.filter.cycle_status();
        assert_eq!(ids(&log), vec![2]);
        log.filter.cycle_status();
        log.filter.cycle_status();
        log.filter.cycle_operation();
        log.filter.cycle_operation();
        log.filter.cycle_operation();
        assert_eq!(log.filter.operation, Some("patch"));
        assert_eq!(ids(&log), vec![3, 4]);
        log.filter.text = "MEMBERS".into();
        assert_eq!(ids(&log), vec![4]);
        log.filter.text = "req-3".into();
        assert_eq!(ids(&log), vec![3], "the request id matches too");
    }

    #[test]
    fn the_highlight_follows_the_newest_until_moved() {
        let mut log = LogView::new();
        log.arrive((1..=5).map(|id| entry(id, 201, "create", "x")).collect());
        assert_eq!(log.selected_entry().map(|e| e.id), Some(5));
        log.move_by(-2);
        assert_eq!(log.selected_entry().map(|e| e.id), Some(3));
        log.arrive(vec![entry(6, 201, "create", "x")]);
        assert_eq!(log.selected_entry().map(|e| e.id), Some(3), "stays put");
        log.move_by(10);
        assert_eq!(log.selected, None, "back at the bottom: following");
        log.arrive(vec![entry(7, 201, "create", "x")]);
        assert_eq!(log.selected_entry().map(|e| e.id), Some(7));
    }

    #[test]
    fn the_highlight_stays_on_its_entry_while_a_filtered_full_buffer_scrolls() {
        let mut log = LogView::new();
        let status = |id: i64| if id % 2 == 0 { 500 } else { 201 };
        log.arrive(
            (1..=CAPACITY as i64)
                .map(|id| entry(id, status(id), "create", "x"))
                .collect(),
        );
        log.filter.status = Some(StatusClass::ServerError);
        log.move_by(-3);
        let chosen = log.selected_entry().map(|e| e.id);
        assert_eq!(chosen, Some(CAPACITY as i64 - 6));
        log.arrive(
            (CAPACITY as i64 + 1..=CAPACITY as i64 + 100)
                .map(|id| entry(id, status(id), "create", "x"))
                .collect(),
        );
        assert_eq!(
            log.selected_entry().map(|e| e.id),
            chosen,
            "still the same entry"
        );
        log.arrive(
            (CAPACITY as i64 + 101..=3 * CAPACITY as i64)
                .map(|id| entry(id, status(id), "create", "x"))
                .collect(),
        );
        assert_eq!(
            log.selected_entry().map(|e| e.id),
            log.visible().next().map(|e| e.id),
            "once it fell off, the oldest kept entry"
        );
    }

    #[test]
    fn a_wanted_request_is_selected_when_it_arrives() {
        let mut log = LogView::new();
        log.wanted_request = Some("req-2".into());
        log.arrive((1..=4).map(|id| entry(id, 201, "create", "x")).collect());
        assert_eq!(log.selected_entry().map(|e| e.id), Some(2));
        assert!(log.wanted_request.is_none());
    }
}
