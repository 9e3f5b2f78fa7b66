//! A cap on request body size. Handlers read whole bodies into memory, so without it one
//! client could exhaust it. A declared `Content-Length` over the cap is refused before
//! reading; an undeclared (chunked) body fails as soon as it passes the cap.

use std::{
    io,
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    task::{Context, Poll},
};

use poem::{
    Body, Request,
    error::SizedLimitError,
    web::headers::{ContentLength, HeaderMapExt},
};
use tokio::io::{AsyncRead, ReadBuf};

/// Set once a streamed body passed the cap, so whatever error reading it caused can be
/// answered as 413.
#[derive(Clone, Default)]
pub struct Overflow(Arc<AtomicBool>);

impl Overflow {
    pub fn happened(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// The 413 error.
pub fn too_large() -> poem::Error {
    SizedLimitError::PayloadTooLarge.into()
}

/// Applies the cap to `req`'s body, or refuses a body that declares itself too large.
pub fn apply(req: &mut Request, max_bytes: u64) -> poem::Result<Overflow> {
    if req
        .headers()
        .typed_get::<ContentLength>()
        .is_some_and(|length| length.0 > max_bytes)
    {
        return Err(too_large());
    }
    let overflow = Overflow::default();
    let body = req.take_body();
    req.set_body(Body::from_async_read(Capped {
        inner: body.into_async_read(),
        remaining: max_bytes,
        overflow: overflow.clone(),
    }));
    Ok(overflow)
}

struct Capped<R> {
    inner: R,
    remaining: u64,
    overflow: Overflow,
}

impl<R: AsyncRead + Unpin> AsyncRead for Capped<R> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = polled {
            let read = u64::try_from(buf.filled().len() - before).unwrap_or(u64::MAX);
            if read > self.remaining {
                self.overflow.0.store(true, Ordering::Relaxed);
                return Poll::Ready(Err(io::Error::other("request body too large")));
            }
            self.remaining -= read;
        }
        polled
    }
}
