//! What the admin API's Server-Sent Event streams share: where a stream starts, and how
//! a row becomes an event.

use std::{future::Future, sync::Arc, time::Duration};

use futures_util::{Stream, StreamExt, future::BoxFuture, stream::BoxStream};
use poem::web::sse::Event;
use poem_openapi::{
    payload::EventStream,
    types::{ToJSON, Type},
};

use crate::{
    error::Error,
    state::AppState,
    store::credentials::{self, CredentialKind},
};

/// How often a quiet stream sends a comment, so proxies keep it open.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// Rows a live stream reads from the database at a time.
pub const BATCH: u64 = 500;

/// The id a stream starts after: the `Last-Event-ID` header a reconnecting `EventSource`
/// sends, before the `lastEventId` query parameter of a first connection; `None` when the
/// client names neither (it then gets only what comes next).
pub fn resume_after(header: Option<i64>, query: Option<i64>) -> Option<i64> {
    header.or(query)
}

/// `items` as Server-Sent Events of type `kind`, each with its row's id as event id.
pub fn events<T>(
    items: impl Stream<Item = T> + Send + 'static,
    kind: &'static str,
    id: fn(&T) -> i64,
) -> EventStream<BoxStream<'static, T>>
where
    T: Type + ToJSON + Send + 'static,
{
    EventStream::new(items.boxed())
        .keep_alive(KEEP_ALIVE)
        .to_event(move |item| {
            Event::message(item.to_json_string())
                .event_type(kind)
                .id(id(&item).to_string())
        })
}

/// `fetch`, for as long as the admin key that opened the stream works: once it is revoked or
/// expired, or its tenant deleted, the stream ends (the client's reconnect gets 401) rather
/// than going on delivering to whoever holds it. Checked before each read, from the
/// database, so it holds across replicas.
pub fn while_key_works<T, F, Fut>(
    state: &AppState,
    key_id: String,
    fetch: F,
) -> impl Fn(i64) -> BoxFuture<'static, Result<Option<Vec<T>>, Error>> + Send + 'static
where
    T: Send + 'static,
    F: Fn(i64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Option<Vec<T>>, Error>> + Send + 'static,
{
    let db = state.db.clone();
    let clock = Arc::clone(&state.clock);
    let fetch = Arc::new(fetch);
    move |cursor| {
        let (db, clock, fetch, key_id) = (
            db.clone(),
            Arc::clone(&clock),
            Arc::clone(&fetch),
            key_id.clone(),
        );
        Box::pin(async move {
            let key = credentials::find(db.reads(), CredentialKind::AdminKey, &key_id).await?;
            if !key.is_some_and(|key| key.is_live(clock.now())) {
                return Ok(None);
            }
            fetch(cursor).await
        })
    }
}
