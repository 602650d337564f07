//! Connections from clients the kernel does not trust. A client that sends
//! its headers or its body slowly, or opens connections without end, holds
//! a bounded share of the server for a bounded time and is then cut off;
//! everyone else goes on being served.

use std::convert::Infallible;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::ConnectInfo;
use axum::http::Request;
use hyper::body::{Frame, Incoming};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};

/// How long, and how many, clients may hold the server.
#[derive(Debug, Clone, Copy)]
pub struct HttpLimits {
    /// How long a client may take to send a request's headers, counted
    /// from when the server starts reading them; it is also how long an
    /// idle connection stays open, and how long a client may leave an
    /// answer unread. Slower clients are disconnected.
    pub header_read_timeout: Duration,
    /// How long a client may take to send a request's body, counted from
    /// its headers; a slower one is answered 408.
    pub body_read_timeout: Duration,
    /// Connections served at once. Further ones wait in the listen queue
    /// until one closes.
    pub connections_max: usize,
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(15),
            body_read_timeout: Duration::from_secs(60),
            connections_max: 4096,
        }
    }
}

/// How connections are taken: limits, trusted proxies, and TLS if any.
#[derive(Debug, Clone)]
pub(crate) struct Listening {
    pub(crate) limits: HttpLimits,
    pub(crate) trusted_proxies: Arc<[IpAddr]>,
    pub(crate) tls: Option<Arc<crate::tls::Tls>>,
}

/// Serves `router` on `listener` until `shutdown` completes, then lets the
/// requests in flight finish, as `axum::serve` would, within the limits.
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    listening: Listening,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let limits = listening.limits;
    let n_connections = u32::try_from(limits.connections_max).unwrap_or(u32::MAX).max(1);
    let slots = Arc::new(Semaphore::new(n_connections as usize));
    let (stop, stopping) = watch::channel(false);
    let reloads = listening.tls.clone().and_then(crate::tls::Tls::reload_on_hangup);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            slot = Arc::clone(&slots).acquire_owned() => slot,
            () = &mut shutdown => break,
        };
        let Ok(slot) = slot else { break };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // A connection reset before it was accepted is the
                    // client's affair; out of descriptors or memory, wait
                    // a little rather than spin.
                    use std::io::ErrorKind::{ConnectionAborted, ConnectionReset, Interrupted};
                    if !matches!(err.kind(), ConnectionAborted | ConnectionReset | Interrupted) {
                        tracing::warn!(error = %err, "cannot accept a connection");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let service = Service {
            router: router.clone(),
            peer,
            trusted_proxies: Arc::clone(&listening.trusted_proxies),
            body_read_timeout: limits.body_read_timeout,
        };
        let stopping = stopping.clone();
        let acceptor = listening.tls.as_ref().map(|tls| tls.acceptor());
        tokio::spawn(async move {
            let _slot = slot;
            let stream = Stalls::new(stream, limits.header_read_timeout);
            let Some(acceptor) = acceptor else {
                return serve_connection(stream, service, limits, stopping).await;
            };
            // The handshake is bounded like the headers that follow it.
            let handshake =
                tokio::time::timeout(limits.header_read_timeout, acceptor.accept(stream));
            match handshake.await {
                Ok(Ok(stream)) => serve_connection(stream, service, limits, stopping).await,
                Ok(Err(err)) => tracing::debug!(%peer, error = %err, "TLS handshake failed"),
                Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
            }
        });
    }
    drop(listener);
    let _ = stop.send(true);
    if let Some(reloads) = reloads {
        reloads.abort();
    }
    // Every connection holds a slot until it ends; those still open after
    // the grace (a client that takes no answer) are left to end with the
    // process.
    let drained = tokio::time::timeout(SHUTDOWN_GRACE, slots.acquire_many(n_connections)).await;
    if drained.is_err() {
        let open = n_connections as usize - slots.available_permits();
        tracing::warn!(open, grace = ?SHUTDOWN_GRACE, "connections still open; stopping without them");
    }
    Ok(())
}

/// How long stopping waits for the connections in flight.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// Serves one connection's requests until it ends, or until the server
/// stops and the request in flight is answered.
async fn serve_connection<I>(
    io: I,
    service: Service,
    limits: HttpLimits,
    mut stopping: watch::Receiver<bool>,
) where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let peer = service.peer;
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(limits.header_read_timeout);
    let connection = http.serve_connection(TokioIo::new(io), service);
    let mut connection = std::pin::pin!(connection);
    let served = tokio::select! {
        served = connection.as_mut() => served,
        () = async { drop(stopping.wait_for(|stop| *stop).await) } => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(err) = served {
        tracing::debug!(%peer, error = %err, "connection ended");
    }
}

/// One connection's requests, each told its client's address and given a
/// deadline for its body.
#[derive(Clone)]
struct Service {
    router: Router,
    peer: SocketAddr,
    trusted_proxies: Arc<[IpAddr]>,
    body_read_timeout: Duration,
}

/// The address of the client a request comes from: the peer's, or, when
/// the peer is a trusted reverse proxy, the one it (and any trusted proxy
/// before it) says in `X-Forwarded-For`. Throttling and the audit trail use it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ClientAddr(pub(crate) IpAddr);

/// Most addresses of `X-Forwarded-For` looked at.
const FORWARDED_HOPS_MAX: usize = 16;

/// The client behind `peer`: walks `X-Forwarded-For` from the right, past
/// trusted proxies, to the first address no trusted proxy is; an address
/// that does not parse stops the walk at the proxy that reported it.
fn client_addr<'h, H>(peer: IpAddr, forwarded: H, trusted: &[IpAddr]) -> IpAddr
where
    H: IntoIterator<Item = &'h str>,
    H::IntoIter: DoubleEndedIterator,
{
    let mut client = peer.to_canonical();
    let hops =
        forwarded.into_iter().rev().flat_map(|header| header.rsplit(',')).take(FORWARDED_HOPS_MAX);
    for hop in hops {
        if !trusted.contains(&client) {
            break;
        }
        // Some proxies add the client's port: `1.2.3.4:5678`, `[2001:db8::1]:443`.
        let hop = hop.trim();
        let addr = hop.parse::<IpAddr>().or_else(|_| hop.parse::<SocketAddr>().map(|a| a.ip()));
        match addr {
            Ok(addr) => client = addr.to_canonical(),
            Err(_) => break,
        }
    }
    client
}

impl hyper::service::Service<Request<Incoming>> for Service {
    type Response = axum::response::Response;
    type Error = Infallible;
    type Future = axum::routing::future::RouteFuture<Infallible>;

    fn call(&self, request: Request<Incoming>) -> Self::Future {
        // At most a year, so that no setting overflows the clock.
        let timeout = self.body_read_timeout.min(Duration::from_secs(365 * 24 * 60 * 60));
        let deadline = tokio::time::Instant::now() + timeout;
        let forwarded = request.headers().get_all("x-forwarded-for").iter();
        let forwarded = forwarded.filter_map(|value| value.to_str().ok());
        let client = client_addr(self.peer.ip(), forwarded, &self.trusted_proxies);
        let mut request = request.map(|body| Body::new(Deadline::new(body, deadline)));
        request.extensions_mut().insert(ConnectInfo(self.peer));
        request.extensions_mut().insert(ClientAddr(client));
        tower_service::Service::call(&mut self.router.clone(), request)
    }
}

/// A connection whose writes fail once the client has taken nothing for
/// `timeout`: a client that never reads its answers would otherwise hold
/// its connection, and stopping, for ever.
struct Stalls<I> {
    io: I,
    timeout: Duration,
    stalled: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl<I> Stalls<I> {
    fn new(io: I, timeout: Duration) -> Self {
        Self { io, timeout, stalled: None }
    }

    /// Passes on a write's progress, failing it once it has made none for
    /// the timeout.
    fn progress<T>(
        &mut self,
        cx: &mut Context<'_>,
        poll: Poll<std::io::Result<T>>,
    ) -> Poll<std::io::Result<T>> {
        if poll.is_ready() {
            self.stalled = None;
            return poll;
        }
        let timeout = self.timeout;
        let stalled = self.stalled.get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
        match stalled.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "the client took no data for too long",
            ))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<I: tokio::io::AsyncRead + Unpin> tokio::io::AsyncRead for Stalls<I> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<I: tokio::io::AsyncWrite + Unpin> tokio::io::AsyncWrite for Stalls<I> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let poll = Pin::new(&mut self.io).poll_write(cx, buf);
        self.progress(cx, poll)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let poll = Pin::new(&mut self.io).poll_write_vectored(cx, bufs);
        self.progress(cx, poll)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let poll = Pin::new(&mut self.io).poll_flush(cx);
        self.progress(cx, poll)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let poll = Pin::new(&mut self.io).poll_shutdown(cx);
        self.progress(cx, poll)
    }
}

/// A request body that fails with [`BodyTimeout`] once its deadline passes.
struct Deadline {
    body: Incoming,
    sleep: Pin<Box<tokio::time::Sleep>>,
}

impl Deadline {
    fn new(body: Incoming, deadline: tokio::time::Instant) -> Self {
        Self { body, sleep: Box::pin(tokio::time::sleep_until(deadline)) }
    }
}

/// The client did not send the request's body in time.
#[derive(Debug)]
pub(crate) struct BodyTimeout;

impl std::fmt::Display for BodyTimeout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the request body did not arrive in time")
    }
}

impl std::error::Error for BodyTimeout {}

impl hyper::body::Body for Deadline {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if let Poll::Ready(frame) = Pin::new(&mut self.body).poll_frame(cx) {
            return Poll::Ready(frame.map(|frame| frame.map_err(Into::into)));
        }
        match self.sleep.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Some(Err(Box::new(BodyTimeout)))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::client_addr;
    use std::net::IpAddr;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn the_client_is_the_first_address_no_trusted_proxy_is() {
        let proxies = [ip("10.0.0.1"), ip("10.0.0.2")];
        let peer = ip("10.0.0.1");
        // No proxy: the peer, whatever it claims.
        assert_eq!(client_addr(ip("203.0.113.5"), ["198.51.100.1"], &proxies), ip("203.0.113.5"));
        assert_eq!(client_addr(peer, [""; 0], &proxies), peer);
        assert_eq!(client_addr(peer, ["198.51.100.7"], &proxies), ip("198.51.100.7"));
        // A client forging the start of the header is not believed past it.
        let forged = ["6.6.6.6, 198.51.100.7"];
        assert_eq!(client_addr(peer, forged, &proxies), ip("198.51.100.7"));
        // Chained trusted proxies, in one header or several.
        assert_eq!(client_addr(peer, ["198.51.100.7, 10.0.0.2"], &proxies), ip("198.51.100.7"));
        assert_eq!(client_addr(peer, ["198.51.100.7", "10.0.0.2"], &proxies), ip("198.51.100.7"));
        // Garbage stops at the proxy that passed it on.
        assert_eq!(client_addr(peer, ["not-an-address"], &proxies), peer);
        assert_eq!(client_addr(peer, ["2001:db8::1"], &proxies), ip("2001:db8::1"));
        // Ports some proxies add, and a proxy seen through an IPv6 socket.
        assert_eq!(client_addr(peer, ["198.51.100.7:5678"], &proxies), ip("198.51.100.7"));
        assert_eq!(client_addr(peer, ["[2001:db8::1]:443"], &proxies), ip("2001:db8::1"));
        assert_eq!(
            client_addr(ip("::ffff:10.0.0.1"), ["198.51.100.7"], &proxies),
            ip("198.51.100.7")
        );
    }
}
