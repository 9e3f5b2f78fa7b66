//! A cap on request body size and on the time to receive it. Handlers read whole bodies
//! into memory, so without the cap one client could exhaust it. A declared
//! `Content-Length` over the cap is refused before reading; an undeclared (chunked) body
//! fails as soon as it passes the cap. A body still incomplete when its deadline passes
//! (a `Content-Length` that promises more than the client sends) fails with 408.

use std::{
    io,
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicU8, Ordering},
    },
    task::{Context, Poll},
    time::Duration,
};

use poem::{
    Body, Request,
    error::SizedLimitError,
    web::headers::{ContentLength, HeaderMapExt},
};
use tokio::{
    io::{AsyncRead, ReadBuf},
    time::Sleep,
};

const TOO_LARGE: u8 = 1;
const TOO_SLOW: u8 = 2;

/// Set once a streamed body passed the cap or its deadline, so whatever error reading it
/// caused the handler can be answered as 413 or 408.
#[derive(Clone, Default)]
pub struct Fault(Arc<AtomicU8>);

impl Fault {
    /// The error to answer instead of the handler's, if the body failed.
    pub fn error(&self) -> Option<poem::Error> {
        match self.0.load(Ordering::Relaxed) {
            TOO_LARGE => Some(too_large()),
            TOO_SLOW => Some(poem::Error::from_string(
                "the request body did not arrive in time",
                poem::http::StatusCode::REQUEST_TIMEOUT,
            )),
            _ => None,
        }
    }
}

/// The 413 error.
pub fn too_large() -> poem::Error {
    SizedLimitError::PayloadTooLarge.into()
}

/// Applies the cap and the deadline (`timeout` from now) to `req`'s body, or refuses a
/// body that declares itself too large.
pub fn apply(req: &mut Request, max_bytes: u64, timeout: Duration) -> poem::Result<Fault> {
    if req
        .headers()
        .typed_get::<ContentLength>()
        .is_some_and(|length| length.0 > max_bytes)
    {
        return Err(too_large());
    }
    let fault = Fault::default();
    let body = req.take_body();
    req.set_body(Body::from_async_read(Capped {
        inner: body.into_async_read(),
        remaining: max_bytes,
        deadline: Box::pin(tokio::time::sleep(timeout)),
        fault: fault.clone(),
    }));
    Ok(fault)
}

struct Capped<R> {
    inner: R,
    remaining: u64,
    deadline: Pin<Box<Sleep>>,
    fault: Fault,
}

impl<R: AsyncRead + Unpin> AsyncRead for Capped<R> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        match polled {
            Poll::Ready(Ok(())) => {
                let read = u64::try_from(buf.filled().len() - before).unwrap_or(u64::MAX);
                if read > self.remaining {
                    self.fault.0.store(TOO_LARGE, Ordering::Relaxed);
                    return Poll::Ready(Err(io::Error::other("request body too large")));
                }
                self.remaining -= read;
            }
            Poll::Pending if self.deadline.as_mut().poll(cx).is_ready() => {
                self.fault.0.store(TOO_SLOW, Ordering::Relaxed);
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "request body not received in time",
                )));
            }
            _ => {}
        }
        polled
    }
}
