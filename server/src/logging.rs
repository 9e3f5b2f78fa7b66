//! The server's own log (standard error): one line per request with its method, path,
//! status and time, never its query string (credentials some clients send there, filter
//! values that are users' e-mail addresses); every line passes through a filter that
//! replaces credential-shaped words and URL passwords; colours only on a terminal.
//!
//! Lines are written by a thread of their own, from a bounded buffer: a standard error
//! that stops taking them (a full pipe, a stalled log collector) costs lines, counted in
//! `scim_log_lines_dropped_total`, never a request's answer.

use std::{
    borrow::Cow,
    io::{IsTerminal, Write},
    sync::{Arc, OnceLock},
    time::Instant,
};

use poem::{Endpoint, IntoResponse, Request, Response};
use tracing::Instrument;
use tracing_appender::non_blocking::{ErrorCounter, NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::{EnvFilter, fmt::writer::BoxMakeWriter};

use crate::{
    activity::redact::{REDACTED, redact_words},
    config::LogFormat,
};

/// About a megabyte of request lines: a stall of a tenth of a second at 30,000 requests a
/// second.
pub const DEFAULT_BUFFER_LINES: usize = 4096;

/// At most this much of drained lines waits for one write to standard error.
const LINES_WRITTEN_AT_ONCE_BYTES: usize = 64 * 1024;

/// Lines dropped because the buffer was full, once the log is installed.
static DROPPED: OnceLock<ErrorCounter> = OnceLock::new();

/// Where lines go.
#[derive(Debug, Clone, Copy)]
pub enum Sink {
    /// Written by the thread that logs: for one-shot commands, which serve no requests and
    /// whose every line matters.
    Direct,
    /// Written by a thread of their own, at most this many waiting (at least one); past
    /// that, lines are dropped, errors too: a request's answer never waits for the log.
    Buffered(usize),
}

/// Writes out the lines still buffered when dropped (waiting about a second at most).
#[must_use = "lines still buffered are lost when the guard is dropped"]
pub struct LogGuard(#[expect(dead_code, reason = "held for its drop")] Option<WorkerGuard>);

/// Installs the log for the process: `RUST_LOG` or `info`, in `format`, into `sink`. Keep
/// the guard until the process ends.
pub fn init(format: LogFormat, sink: Sink) -> LogGuard {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let (writer, guard) = match sink {
        Sink::Direct => (BoxMakeWriter::new(|| Redacting(std::io::stderr())), None),
        Sink::Buffered(lines) => {
            let (writer, guard) = NonBlockingBuilder::default()
                .lossy(true)
                .buffered_lines_limit(lines.max(1))
                .thread_name("log")
                // Redacted on the log's thread, off the request path. Buffered there: the
                // thread writes out whatever it has drained each time the queue runs
                // empty, in one write instead of one per line.
                .finish(Redacting(std::io::BufWriter::with_capacity(
                    LINES_WRITTEN_AT_ONCE_BYTES,
                    std::io::stderr(),
                )));
            let _ = DROPPED.set(writer.error_counter());
            (BoxMakeWriter::new(writer), Some(guard))
        }
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(writer);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
    LogGuard(guard)
}

/// Log lines dropped because standard error did not keep up.
pub fn dropped_lines() -> u64 {
    DROPPED
        .get()
        .map_or(0, |counter| counter.dropped_lines() as u64)
}

/// `text` with credential-shaped words (`scim_…`, `sadm_…`) and the passwords of URLs
/// (`postgres://user:password@host`) replaced.
pub fn redact(text: &str) -> Cow<'_, str> {
    let text = if text.contains("scim_") || text.contains("sadm_") {
        Cow::Owned(redact_words(text))
    } else {
        Cow::Borrowed(text)
    };
    if !text.contains("://") {
        return text;
    }
    Cow::Owned(redact_url_passwords(&text))
}

/// Every `scheme://user:password@` with the password replaced.
fn redact_url_passwords(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let (before, after) = rest.split_at(at + 3);
        out.push_str(before);
        // The authority ends at the first '/', whitespace or quote; its userinfo at '@'.
        let authority_end = after
            .find(|c: char| c == '/' || c.is_whitespace() || c == '\'' || c == '"')
            .unwrap_or(after.len());
        let authority = &after[..authority_end];
        match (authority.rfind('@'), authority.find(':')) {
            (Some(userinfo_end), Some(colon)) if colon < userinfo_end => {
                out.push_str(&authority[..=colon]);
                out.push_str(REDACTED);
                out.push_str(&authority[userinfo_end..]);
            }
            _ => out.push_str(authority),
        }
        rest = &after[authority_end..];
    }
    out.push_str(rest);
    out
}

/// A writer that redacts what passes through it (the formatter writes a whole line at once).
pub struct Redacting<W>(pub W);

impl<W: Write> Write for Redacting<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        self.0.write_all(redact(&text).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

/// Logs each request's method, path, status and duration at INFO, and runs the request
/// inside a span with its method and path (never its query string).
pub async fn log_requests<E: Endpoint>(next: Arc<E>, req: Request) -> poem::Result<Response> {
    let span = tracing::info_span!(
        "request",
        method = %req.method(),
        path = %req.uri().path(),
    );
    let started = Instant::now();
    let response = next
        .get_response(req)
        .instrument(span.clone())
        .await
        .into_response();
    let status = response.status().as_u16();
    // Whole microseconds: `36.035`, not `36.034935999999995`.
    let elapsed_ms = started.elapsed().as_micros() as f64 / 1000.0;
    span.in_scope(|| {
        if status >= 500 {
            tracing::error!(status, elapsed_ms, "answered");
        } else {
            tracing::info!(status, elapsed_ms, "answered");
        }
    });
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_passwords_and_credentials_are_replaced() {
        assert_eq!(
            redact("cannot parse 'postgres://scim:s3cret@db:5432/scim'"),
            "cannot parse 'postgres://scim:[redacted]@db:5432/scim'"
        );
        assert_eq!(
            redact("postgres://db/scim and http://host:8080/x"),
            "postgres://db/scim and http://host:8080/x",
            "no userinfo, a port: unchanged"
        );
        assert_eq!(
            redact("token scim_0123456789abcdef0123456789abcdef_abc is wrong"),
            "token [redacted] is wrong"
        );
        assert_eq!(
            redact("a://u:p@h b://v:q@i/"),
            "a://u:[redacted]@h b://v:[redacted]@i/"
        );
        assert!(matches!(redact("nothing here"), Cow::Borrowed(_)));
    }

    #[test]
    fn the_writer_redacts_what_passes() {
        let mut out = Redacting(Vec::new());
        out.write_all(b"key sadm_0123456789abcdef0123456789abcdef_x\n")
            .unwrap();
        assert_eq!(String::from_utf8(out.0).unwrap(), "key [redacted]\n");
    }
}
