//! Serving HTTP connections: our own accept loop around hyper instead of poem's `Server`,
//! which puts no time limit on a client and takes every connection it is offered (50
//! clients sending request heads slowly held their connections for ever, and half-sent
//! requests ran the process out of file descriptors).
//!
//! Here every connection holds one of `max_connections` slots (past the cap new
//! connections wait in the kernel's backlog until a slot frees), and a watchdog closes it
//! when it is idle between requests for longer than `idle_timeout`, takes longer than
//! `header_read_timeout` to send a request head once it has started one (or, new, to send
//! its first), or makes no progress either way for `idle_timeout` while a request is
//! answered (a client that never reads its answer). A request head larger than
//! `max_header_bytes` is answered 431. The request body's own deadline is kept by
//! `body_limit`, where the body is read.

use std::{
    convert::Infallible,
    future::Future,
    net::SocketAddr,
    pin::Pin,
    sync::{Arc, Mutex, PoisonError},
    task::{Context, Poll},
    time::Duration,
};

use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper_util::{
    rt::{TokioExecutor, TokioIo},
    server::{conn::auto, graceful::GracefulShutdown},
};
use poem::{
    Addr, Endpoint, EndpointExt,
    http::uri::Scheme,
    web::{LocalAddr, RemoteAddr},
};
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::{TcpListener, TcpStream},
    sync::{Notify, Semaphore},
    time::Instant,
};

/// The limits every connection is held to; see `ServeArgs` for each.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    pub max_connections: usize,
    pub idle_timeout: Duration,
    pub header_read_timeout: Duration,
    /// Applied where the body is read (`body_limit`).
    pub body_read_timeout: Duration,
    pub max_header_bytes: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            max_connections: 1024,
            // Above the 60 s idle timeout of common load balancers, so that they, not we,
            // close an idle connection (a close racing their next request is a 502).
            idle_timeout: Duration::from_secs(75),
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(30),
            max_header_bytes: 32 * 1024,
        }
    }
}

/// Serves `ep` on `listener` until `stop` completes, then gives the requests in flight
/// `grace` to finish.
pub async fn serve<E>(
    listener: TcpListener,
    ep: E,
    limits: ConnectionLimits,
    stop: impl Future<Output = ()>,
    grace: Duration,
) where
    E: Endpoint + 'static,
{
    let ep = Arc::new(ep.map_to_response());
    let local = LocalAddr(match listener.local_addr() {
        Ok(addr) => Addr::SocketAddr(addr),
        Err(_) => Addr::Custom("tcp", "unknown".into()),
    });
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut builder = auto::Builder::new(TokioExecutor::new());
    // A head that does not fit the read buffer is answered 431.
    builder
        .http1()
        .max_buf_size(limits.max_header_bytes.max(8 * 1024));
    builder
        .http2()
        .max_header_list_size(u32::try_from(limits.max_header_bytes).unwrap_or(u32::MAX))
        .max_concurrent_streams(HTTP2_STREAMS);
    tokio::pin!(stop);
    loop {
        let accepted = tokio::select! {
            () = &mut stop => break,
            accepted = accept(&listener, &slots) => accepted,
        };
        let Some((stream, remote, slot)) = accepted else {
            continue;
        };
        let watch = Arc::new(Watch::new(limits));
        let service = {
            let (ep, watch, local) = (Arc::clone(&ep), Arc::clone(&watch), local.clone());
            hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
                let (ep, watch) = (Arc::clone(&ep), Arc::clone(&watch));
                let local = local.clone();
                async move {
                    let busy = watch.request_started();
                    let req = poem::Request::from((
                        req,
                        local,
                        RemoteAddr(Addr::SocketAddr(remote)),
                        Scheme::HTTP,
                    ));
                    let resp: hyper::Response<_> = ep.get_response(req).await.into();
                    // The request counts as in flight until hyper has taken its whole
                    // body and dropped it (a live stream never ends).
                    Ok::<_, Infallible>(resp.map(|body| Answering { body, _busy: busy }))
                }
            })
        };
        let io = TokioIo::new(Watched {
            inner: stream,
            watch: Arc::clone(&watch),
        });
        let conn = graceful.watch(builder.serve_connection(io, service).into_owned());
        let open = crate::metrics::OpenConnection::open();
        tokio::spawn(async move {
            tokio::select! {
                _ = conn => {}
                () = watch.expired() => {}
            }
            drop(slot);
            drop(open);
        });
    }
    // Refuse new connections at once rather than leave them in the backlog for the grace.
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(grace) => {
            tracing::warn!(grace_secs = grace.as_secs(), "requests still running at the end of the grace period were cut off");
        }
    }
}

/// Requests one HTTP/2 connection may have in flight (hyper's default is 200).
const HTTP2_STREAMS: u32 = 32;

/// The next connection, once a slot is free. `None` when accepting failed: out of file
/// descriptors, say; waiting a little lets connections close rather than spinning.
async fn accept(
    listener: &TcpListener,
    slots: &Arc<Semaphore>,
) -> Option<(TcpStream, SocketAddr, tokio::sync::OwnedSemaphorePermit)> {
    let slot = Arc::clone(slots).acquire_owned().await.ok()?;
    match listener.accept().await {
        Ok((stream, remote)) => Some((stream, remote, slot)),
        Err(err) => {
            tracing::warn!(error = %err, "could not accept a connection");
            tokio::time::sleep(Duration::from_millis(50)).await;
            None
        }
    }
}

/// Where a connection is between and within requests.
#[derive(Debug, Clone, Copy)]
enum Phase {
    /// No request in flight and no byte of the next one yet.
    Idle { since: Instant },
    /// The first bytes of a request head arrived, but not the whole head.
    ReadingHead { since: Instant },
    /// This many requests are being answered (more than one only over HTTP/2).
    Busy { requests: usize },
}

/// One connection's phase, and its watchdog's deadline.
struct Watch {
    phase: Mutex<Phase>,
    /// When a byte last went in or out.
    last_io: Mutex<Instant>,
    changed: Notify,
    limits: ConnectionLimits,
}

/// Marks its request answered when dropped.
struct InFlight(Arc<Watch>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.update(|phase| match phase {
            Phase::Busy { requests } if requests > 1 => Phase::Busy {
                requests: requests - 1,
            },
            _ => Phase::Idle {
                since: Instant::now(),
            },
        });
    }
}

impl Watch {
    fn new(limits: ConnectionLimits) -> Self {
        let now = Instant::now();
        Self {
            // A new connection is expected to start a request head at once.
            phase: Mutex::new(Phase::ReadingHead { since: now }),
            last_io: Mutex::new(now),
            changed: Notify::new(),
            limits,
        }
    }

    fn update(&self, change: impl FnOnce(Phase) -> Phase) {
        let mut phase = self.phase.lock().unwrap_or_else(PoisonError::into_inner);
        *phase = change(*phase);
        drop(phase);
        self.changed.notify_one();
    }

    fn request_started(self: &Arc<Self>) -> InFlight {
        self.update(|phase| match phase {
            Phase::Busy { requests } => Phase::Busy {
                requests: requests + 1,
            },
            _ => Phase::Busy { requests: 1 },
        });
        InFlight(Arc::clone(self))
    }

    fn moved_bytes(&self) {
        *self.last_io.lock().unwrap_or_else(PoisonError::into_inner) = Instant::now();
    }

    /// Bytes arrived: when idle, they start a request head.
    fn received(&self) {
        self.moved_bytes();
        let mut phase = self.phase.lock().unwrap_or_else(PoisonError::into_inner);
        if let Phase::Idle { .. } = *phase {
            *phase = Phase::ReadingHead {
                since: Instant::now(),
            };
            drop(phase);
            self.changed.notify_one();
        }
    }

    /// `None` when the limits are too far out to be represented: no deadline.
    fn deadline(&self) -> Option<Instant> {
        let phase = *self.phase.lock().unwrap_or_else(PoisonError::into_inner);
        match phase {
            Phase::Idle { since } => since.checked_add(self.limits.idle_timeout),
            Phase::ReadingHead { since } => since.checked_add(self.limits.header_read_timeout),
            Phase::Busy { .. } => {
                let last_io = *self.last_io.lock().unwrap_or_else(PoisonError::into_inner);
                last_io.checked_add(self.limits.idle_timeout)
            }
        }
    }

    /// Completes when the connection overstayed its phase.
    async fn expired(&self) {
        loop {
            let changed = self.changed.notified();
            match self.deadline() {
                Some(deadline) if deadline <= Instant::now() => return,
                Some(deadline) => {
                    tokio::select! {
                        () = tokio::time::sleep_until(deadline) => {}
                        () = changed => {}
                    }
                }
                None => changed.await,
            }
        }
    }
}

/// A response body; its request counts as answered once hyper drops it.
struct Answering<B> {
    body: B,
    _busy: InFlight,
}

impl<B: Body + Unpin> Body for Answering<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    // Forwarded, so that hyper still sends `Content-Length` rather than chunks.
    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// The socket, telling its watch when bytes arrive.
struct Watched {
    inner: TcpStream,
    watch: Arc<Watch>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.watch.received();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.watch.moved_bytes();
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.watch.moved_bytes();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
