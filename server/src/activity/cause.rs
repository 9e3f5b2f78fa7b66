//! Which request a write is for: an id the recorder gives every request under `/scim/…`,
//! carried to the writes it makes, so each change event names the request that caused it
//! and the log's entry lists the events it caused.

use std::future::Future;

tokio::task_local! {
    static REQUEST: String;
}

/// A new request id.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// The id of the request this task serves, if any.
pub fn current() -> Option<String> {
    REQUEST.try_with(Clone::clone).ok()
}

/// Runs `work` on behalf of request `id` (none: on behalf of no request).
pub async fn within<F: Future>(id: Option<String>, work: F) -> F::Output {
    match id {
        Some(id) => REQUEST.scope(id, work).await,
        None => work.await,
    }
}
