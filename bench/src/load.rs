//! The load generator: closed-loop workers, each on its own keep-alive
//! HTTP/1.1 connection, bounded in requests and in time.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::client::conn::http1;
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use serde::Serialize;

/// One request a worker sends.
pub(crate) struct Call {
    pub(crate) method: Method,
    pub(crate) path: String,
    pub(crate) body: Option<Bytes>,
}

impl Call {
    pub(crate) fn get(path: impl Into<String>) -> Self {
        Self { method: Method::GET, path: path.into(), body: None }
    }

    pub(crate) fn post(path: impl Into<String>, body: String) -> Self {
        Self { method: Method::POST, path: path.into(), body: Some(Bytes::from(body)) }
    }
}

/// How hard and how long to drive.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Plan {
    pub(crate) concurrency: usize,
    /// Stop after this many requests…
    pub(crate) requests: u64,
    /// …or after this long, whichever comes first.
    pub(crate) duration: Duration,
}

impl Plan {
    /// `concurrency` workers for `duration`, however many requests that is.
    pub(crate) fn timed(concurrency: usize, duration: Duration) -> Self {
        Self { concurrency, requests: u64::MAX, duration }
    }
}

/// What a run measured.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Stats {
    pub(crate) concurrency: usize,
    pub(crate) requests: u64,
    pub(crate) seconds: f64,
    pub(crate) per_second: f64,
    pub(crate) median_ms: f64,
    pub(crate) p99_ms: f64,
    pub(crate) max_ms: f64,
    /// Requests answered otherwise than expected (only where a run counts
    /// them instead of stopping at the first).
    pub(crate) failures: u64,
}

impl Stats {
    /// Summarises latencies (in microseconds) taken over `elapsed`.
    pub(crate) fn of(concurrency: usize, mut latencies_us: Vec<u64>, elapsed: Duration) -> Self {
        latencies_us.sort_unstable();
        let quantile = |q: f64| -> f64 {
            if latencies_us.is_empty() {
                return 0.0;
            }
            // Nearest rank: the smallest value with at least q of the sample at or below it.
            let rank = (q * latencies_us.len() as f64).ceil() as usize;
            latencies_us[rank.clamp(1, latencies_us.len()) - 1] as f64 / 1000.0
        };
        let requests = latencies_us.len() as u64;
        let seconds = elapsed.as_secs_f64();
        Self {
            concurrency,
            requests,
            seconds,
            per_second: if seconds > 0.0 { requests as f64 / seconds } else { 0.0 },
            median_ms: quantile(0.5),
            p99_ms: quantile(0.99),
            max_ms: latencies_us.last().map_or(0.0, |&us| us as f64 / 1000.0),
            failures: 0,
        }
    }
}

/// A connection to the kernel that sends one request at a time.
pub(crate) struct Connection {
    sender: http1::SendRequest<Full<Bytes>>,
    authority: String,
    token: Option<String>,
}

impl Connection {
    pub(crate) async fn open(addr: SocketAddr, token: Option<&str>) -> anyhow::Result<Self> {
        let stream = tokio::net::TcpStream::connect(addr)
            .await
            .with_context(|| format!("cannot connect to the kernel at {addr}"))?;
        stream.set_nodelay(true)?;
        let (sender, connection) = http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(async move {
            // Ends when the sender is dropped or the kernel closes the connection.
            drop(connection.await);
        });
        Ok(Self { sender, authority: addr.to_string(), token: token.map(str::to_owned) })
    }

    /// The request of `call`, its body aside: host and bearer token.
    fn request(&self, call: &Call) -> hyper::http::request::Builder {
        let request = Request::builder()
            .method(call.method.clone())
            .uri(&call.path)
            .header(hyper::header::HOST, &self.authority);
        match &self.token {
            Some(token) => request.header(hyper::header::AUTHORIZATION, format!("Bearer {token}")),
            None => request,
        }
    }

    /// Sends `call` and returns the status and the whole body.
    pub(crate) async fn send(&mut self, call: &Call) -> anyhow::Result<(StatusCode, Bytes)> {
        let mut request = self.request(call);
        let body = match &call.body {
            Some(bytes) => {
                request = request.header(hyper::header::CONTENT_TYPE, "application/json");
                Full::new(bytes.clone())
            }
            None => Full::new(Bytes::new()),
        };
        self.sender.ready().await.context("the kernel closed the connection")?;
        let response = self.sender.send_request(request.body(body)?).await?;
        let status = response.status();
        let body = response.into_body().collect().await?.to_bytes();
        Ok((status, body))
    }

    /// Sends `call` and reads the answer as it streams, keeping only its
    /// size: the status, the bytes and the lines.
    pub(crate) async fn download(&mut self, call: &Call) -> anyhow::Result<(StatusCode, u64, u64)> {
        let request = self.request(call);
        self.sender.ready().await.context("the kernel closed the connection")?;
        let response = self.sender.send_request(request.body(Full::new(Bytes::new()))?).await?;
        let status = response.status();
        let mut body = response.into_body();
        let (mut bytes, mut lines) = (0u64, 0u64);
        while let Some(frame) = body.frame().await {
            if let Ok(data) = frame?.into_data() {
                bytes += data.len() as u64;
                lines += data.iter().filter(|b| **b == b'\n').count() as u64;
            }
        }
        Ok((status, bytes, lines))
    }

    /// Sends `call` and fails unless the answer has status `expect`.
    pub(crate) async fn expect(
        &mut self,
        call: &Call,
        expect: StatusCode,
    ) -> anyhow::Result<Bytes> {
        let (status, body) = self.send(call).await?;
        if status != expect {
            bail!(
                "{} {} answered {status}, expected {expect}: {}",
                call.method,
                call.path,
                String::from_utf8_lossy(&body)
            );
        }
        Ok(body)
    }

    /// Sends `call`, fails unless the answer has status `expect`, and
    /// reads it as JSON.
    pub(crate) async fn expect_json(
        &mut self,
        call: &Call,
        expect: StatusCode,
    ) -> anyhow::Result<serde_json::Value> {
        let body = self.expect(call, expect).await?;
        serde_json::from_slice(&body).map_err(|err| {
            anyhow::anyhow!("{} {} answered what is not JSON: {err}", call.method, call.path)
        })
    }
}

/// Drives `plan.concurrency` workers, each sending `make(n)` for the
/// next request number `n` and expecting `expect`, until the plan's
/// bound. Every request must succeed: the first failure ends the run.
pub(crate) async fn drive(
    addr: SocketAddr,
    token: &str,
    plan: Plan,
    expect: StatusCode,
    make: Arc<dyn Fn(u64) -> Call + Send + Sync>,
) -> anyhow::Result<Stats> {
    drive_with(addr, token, plan, expect, make, Failures::Stop).await
}

/// What a run does with an unexpected answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failures {
    /// Fail the run.
    Stop,
    /// Count it (it is no latency sample) and go on.
    Count,
}

/// [`drive`], with `failures` saying what an unexpected answer does.
pub(crate) async fn drive_with(
    addr: SocketAddr,
    token: &str,
    plan: Plan,
    expect: StatusCode,
    make: Arc<dyn Fn(u64) -> Call + Send + Sync>,
    failures: Failures,
) -> anyhow::Result<Stats> {
    let failed = Arc::new(AtomicU64::new(0));
    let next = Arc::new(AtomicU64::new(0));
    let mut connections = Vec::with_capacity(plan.concurrency);
    for _ in 0..plan.concurrency {
        connections.push(Connection::open(addr, Some(token)).await?);
    }
    let started = Instant::now();
    let deadline = started + plan.duration;
    let workers: Vec<_> = connections
        .into_iter()
        .map(|mut connection| {
            let next = Arc::clone(&next);
            let make = Arc::clone(&make);
            let failed = Arc::clone(&failed);
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= plan.requests || Instant::now() >= deadline {
                        return anyhow::Ok(latencies);
                    }
                    let call = make(n);
                    let sent = Instant::now();
                    match (connection.expect(&call, expect).await, failures) {
                        (Ok(_), _) => latencies
                            .push(u64::try_from(sent.elapsed().as_micros()).unwrap_or(u64::MAX)),
                        (Err(err), Failures::Stop) => return Err(err),
                        (Err(_), Failures::Count) => drop(failed.fetch_add(1, Ordering::Relaxed)),
                    }
                }
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for worker in workers {
        latencies.extend(worker.await.context("a load worker panicked")??);
    }
    let mut stats = Stats::of(plan.concurrency, latencies, started.elapsed());
    stats.failures = failed.load(Ordering::Relaxed);
    Ok(stats)
}

/// Workers that send calls over and over in the background, whatever
/// their answers, until stopped: a neighbour's load.
pub(crate) struct Background {
    workers: Vec<tokio::task::JoinHandle<()>>,
    answered: Arc<AtomicU64>,
}

impl Background {
    /// Starts `n` workers, each on its own connection, sending `call()`.
    pub(crate) async fn start(
        addr: SocketAddr,
        token: &str,
        n: usize,
        call: Arc<dyn Fn() -> Call + Send + Sync>,
    ) -> anyhow::Result<Self> {
        let answered = Arc::new(AtomicU64::new(0));
        let mut workers = Vec::with_capacity(n);
        for _ in 0..n {
            let mut connection = Connection::open(addr, Some(token)).await?;
            let (call, answered) = (Arc::clone(&call), Arc::clone(&answered));
            workers.push(tokio::spawn(async move {
                while connection.send(&call()).await.is_ok() {
                    answered.fetch_add(1, Ordering::Relaxed);
                }
            }));
        }
        Ok(Self { workers, answered })
    }

    /// Stops every worker, closing its connection mid-call (the kernel
    /// gives such calls up); returns how many calls were answered.
    pub(crate) fn stop(self) -> u64 {
        for worker in &self.workers {
            worker.abort();
        }
        self.answered.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_are_nearest_rank() {
        let latencies: Vec<u64> = (1..=100).map(|ms| ms * 1000).collect();
        let stats = Stats::of(4, latencies, Duration::from_secs(2));
        assert_eq!(stats.requests, 100);
        assert_eq!(stats.per_second, 50.0);
        assert_eq!(stats.median_ms, 50.0);
        assert_eq!(stats.p99_ms, 99.0);
        assert_eq!(stats.max_ms, 100.0);
        let one = Stats::of(1, vec![1500], Duration::from_millis(10));
        assert_eq!((one.median_ms, one.p99_ms), (1.5, 1.5));
        assert_eq!(Stats::of(1, Vec::new(), Duration::ZERO).per_second, 0.0);
    }
}
