//! What the admin API's Server-Sent Event streams share: where a stream starts, and how
//! a row becomes an event.

use std::time::Duration;

use futures_util::{Stream, StreamExt, stream::BoxStream};
use poem::web::sse::Event;
use poem_openapi::{
    payload::EventStream,
    types::{ToJSON, Type},
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
