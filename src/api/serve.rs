//! Serving HTTP with bounds, so that slow or numerous clients cannot take the daemon down: a
//! cap on connections in all and per client address, accepted connections over a cap closed at
//! once (the file they hold is given back), a deadline for a request's headers (which is also
//! how long an idle kept-alive connection stays open), a deadline for its body, and a bounded
//! read buffer.
//!
//! Each listener gets its own [`Gate`]: the API listener (`[http] api_addr`) keeps its
//! connections when the public one is full.

use std::{
    collections::HashMap,
    io,
    net::IpAddr,
    pin::Pin,
    sync::{Arc, Mutex},
    task::{Context, Poll},
    time::Duration,
};

use axum::{Router, body::Body, extract::ConnectInfo};
use hyper::body::{Frame, Incoming, SizeHint};
use hyper_util::{
    rt::{TokioExecutor, TokioIo, TokioTimer},
    server::{conn::auto, graceful::GracefulShutdown},
};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

/// How one listener bounds its clients.
#[derive(Debug, Clone)]
pub struct ServeLimits {
    /// Longest a client may take to send a request's headers, and longest a kept-alive
    /// connection waits for its next request.
    pub header_timeout: Duration,
    /// Longest a client may take to send a request's body, from the end of its headers.
    pub body_timeout: Duration,
    /// Connections open at once on this listener.
    pub max_connections: usize,
    /// Connections open at once from one client address (an IPv6 client by its /64).
    pub max_per_client: usize,
    /// Reverse proxies (`[http] trusted_proxies`): many clients share their address, so the
    /// per-client cap does not apply to them.
    pub trusted_proxies: Arc<Vec<ipnet::IpNet>>,
}

/// Largest request head and read buffer per connection (hyper's default is about 400 kB).
const MAX_READ_BUFFER: usize = 64 * 1024;

/// What answers a connection over a cap, written without waiting before it is closed.
const BUSY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nRetry-After: 5\r\n\
Content-Length: 0\r\n\r\n";

/// Serves `app` on `listener` until `shutdown`, then lets requests in progress finish.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ServeLimits,
    refused: impl Fn(Refusal) + Send + Sync + 'static,
    shutdown: CancellationToken,
) -> io::Result<()> {
    let gate = Arc::new(Gate::new(
        limits.max_connections,
        limits.max_per_client,
        limits.trusted_proxies.clone(),
    ));
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(MAX_READ_BUFFER);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(64)
        .max_header_list_size(MAX_READ_BUFFER as u32)
        .keep_alive_interval(limits.header_timeout)
        .keep_alive_timeout(limits.header_timeout);
    let graceful = GracefulShutdown::new();
    loop {
        let (stream, remote) = tokio::select! {
            _ = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    wait_after_accept_error(&error).await;
                    continue;
                }
            },
        };
        let admitted = match gate.admit(remote.ip()) {
            Ok(admitted) => admitted,
            Err(refusal) => {
                refused(refusal);
                turn_away(stream);
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let (app, body_timeout) = (app.clone(), limits.body_timeout);
        let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
            let mut request = request.map(|body| Body::new(DeadlineBody::new(body, body_timeout)));
            request.extensions_mut().insert(ConnectInfo(remote));
            app.clone().oneshot(request)
        });
        let connection = builder
            .serve_connection(TokioIo::new(stream), service)
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            // An error here is the client's (a timeout, a reset): nothing to do but close.
            let _ = connection.await;
            drop(admitted);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// Accept fails when the process is out of files (EMFILE) or a client gave up before it was
/// accepted: the first passes once connections close, the second needs nothing.
async fn wait_after_accept_error(error: &io::Error) {
    if matches!(
        error.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    ) {
        return;
    }
    tracing::error!(%error, "cannot accept connections; trying again in 100 ms");
    tokio::time::sleep(Duration::from_millis(100)).await;
}

/// Closes a connection over a cap with a 503 if the socket takes it at once.
fn turn_away(stream: TcpStream) {
    let _ = stream.try_write(BUSY);
    drop(stream);
}

/// Why a connection was turned away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The listener holds `max_connections`.
    Full,
    /// This client address holds `max_per_client`.
    ClientFull,
}

impl Refusal {
    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::Full => "max_connections",
            Refusal::ClientFull => "max_connections_per_client",
        }
    }
}

/// Counts a listener's open connections, in all and per client.
struct Gate {
    max: usize,
    max_per_client: usize,
    proxies: Arc<Vec<ipnet::IpNet>>,
    open: Mutex<Open>,
}

#[derive(Default)]
struct Open {
    total: usize,
    by_client: HashMap<IpAddr, usize>,
}

/// A connection's place; given back when dropped.
struct Admitted {
    gate: Arc<Gate>,
    client: IpAddr,
}

impl Gate {
    fn new(max: usize, max_per_client: usize, proxies: Arc<Vec<ipnet::IpNet>>) -> Self {
        Gate {
            max,
            max_per_client,
            proxies,
            open: Mutex::default(),
        }
    }

    fn admit(self: &Arc<Self>, address: IpAddr) -> Result<Admitted, Refusal> {
        let client = client_key(address);
        let mut open = self.open.lock().expect("gate lock");
        if open.total >= self.max {
            return Err(Refusal::Full);
        }
        let proxy = self.proxies.iter().any(|net| net.contains(&address));
        let of_client = open.by_client.entry(client).or_default();
        if *of_client >= self.max_per_client && !proxy {
            return Err(Refusal::ClientFull);
        }
        *of_client += 1;
        open.total += 1;
        Ok(Admitted {
            gate: self.clone(),
            client,
        })
    }
}

impl Drop for Admitted {
    fn drop(&mut self) {
        let mut open = self.gate.open.lock().expect("gate lock");
        open.total -= 1;
        if let Some(count) = open.by_client.get_mut(&self.client) {
            *count -= 1;
            if *count == 0 {
                open.by_client.remove(&self.client);
            }
        }
    }
}

/// One client: an IPv4 address, or an IPv6 /64 (one subscriber line or host gets a whole /64,
/// so its addresses are one client).
pub fn client_key(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6((u128::from(v6) & !((1u128 << 64) - 1)).into()),
        },
    }
}

/// A request body that fails once its deadline passes: a client cannot hold a connection and
/// a buffer by sending a body a byte at a time. The deadline runs from when the handler first
/// reads the body, not from the request's arrival: a client whose request waits for something
/// of ours (a database connection, say) before it is read has done nothing slow.
struct DeadlineBody {
    inner: Incoming,
    timeout: Duration,
    deadline: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl DeadlineBody {
    fn new(inner: Incoming, timeout: Duration) -> Self {
        DeadlineBody {
            inner,
            timeout,
            deadline: None,
        }
    }
}

/// The error a late body ends with.
#[derive(Debug, thiserror::Error)]
#[error("the request body was not received in time")]
pub struct BodyTimeout;

impl http_body::Body for DeadlineBody {
    type Data = hyper::body::Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.get_mut();
        let timeout = this.timeout;
        let deadline = this
            .deadline
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        match deadline.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Some(Err(BodyTimeout.into()))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use super::*;

    /// Which of `clients`' connections a gate admits, all held open.
    fn gate_admits(max: usize, max_per_client: usize, clients: &[SocketAddr]) -> Vec<bool> {
        let gate = Arc::new(Gate::new(max, max_per_client, Arc::default()));
        let mut held = Vec::new();
        clients
            .iter()
            .map(|client| match gate.admit(client.ip()) {
                Ok(admitted) => {
                    held.push(admitted);
                    true
                }
                Err(_) => false,
            })
            .collect()
    }

    fn addr(text: &str) -> SocketAddr {
        SocketAddr::new(text.parse().unwrap(), 1000)
    }

    #[test]
    fn a_client_gets_its_share_and_the_listener_its_total() {
        let one = addr("127.0.0.2");
        let admitted = gate_admits(5, 2, &[one, one, one, addr("127.0.0.3"), addr("127.0.0.4")]);
        assert_eq!(admitted, vec![true, true, false, true, true]);
        let many: Vec<SocketAddr> = (1..=8).map(|i| addr(&format!("127.0.1.{i}"))).collect();
        assert_eq!(gate_admits(5, 2, &many).iter().filter(|a| **a).count(), 5);
    }

    #[test]
    fn an_ipv6_client_is_its_slash_64() {
        let admitted = gate_admits(
            10,
            2,
            &[
                addr("2001:db8:1:2::1"),
                addr("2001:db8:1:2:ffff::9"),
                addr("2001:db8:1:2:abcd::1"),
                addr("2001:db8:1:3::1"),
            ],
        );
        assert_eq!(admitted, vec![true, true, false, true]);
        assert_eq!(
            client_key("::ffff:192.0.2.7".parse().unwrap()),
            "192.0.2.7".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn a_trusted_proxy_is_not_one_client() {
        let proxy = "10.1.2.3".parse().unwrap();
        let gate = Arc::new(Gate::new(
            10,
            2,
            Arc::new(vec!["10.0.0.0/8".parse().unwrap()]),
        ));
        let held: Vec<_> = (0..5).map(|_| gate.admit(proxy)).collect();
        assert!(held.iter().all(Result::is_ok));
        let other = "192.0.2.7".parse().unwrap();
        let _two = (gate.admit(other).unwrap(), gate.admit(other).unwrap());
        assert_eq!(gate.admit(other).err(), Some(Refusal::ClientFull));
    }

    #[test]
    fn places_are_given_back() {
        let gate = Arc::new(Gate::new(1, 1, Arc::default()));
        let first = gate.admit("127.0.0.2".parse().unwrap()).unwrap();
        assert_eq!(
            gate.admit("127.0.0.2".parse().unwrap()).err(),
            Some(Refusal::Full)
        );
        drop(first);
        assert!(gate.admit("127.0.0.2".parse().unwrap()).is_ok());
        assert!(gate.open.lock().unwrap().by_client.is_empty());
    }
}
