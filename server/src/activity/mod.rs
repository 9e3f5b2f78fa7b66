//! The provisioning log: every request under `/scim/…`, rejected ones too, recorded with
//! what it did, how it ended and its bodies (redacted and cut), so an admin can see what
//! the identity provider actually sent. Recording never slows SCIM down: entries go
//! through a bounded queue to a writer that inserts them in batches, and are dropped (and
//! counted) rather than waited for when the queue is full.

pub mod cause;
pub mod classify;
pub mod live;
pub mod middleware;
pub mod recorder;
pub mod redact;
pub mod retention;

pub use recorder::Recorder;
