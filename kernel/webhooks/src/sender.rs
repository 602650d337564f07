//! The HTTP client that posts deliveries: it connects only to addresses
//! the policy vetted when it resolved the host (so a name cannot resolve to
//! a public address when checked and a private one when used), follows no
//! redirects, uses no proxy, and bounds each delivery's time and how much
//! of an answer it reads.

use std::io::Read as _;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use keel_host::{Outbound, Post};
use keel_identity::SecretsKey;
use reqwest::blocking::Client;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::policy::Policy;
use crate::signature::{SIGNATURE_HEADER, new_secret, sign};

/// The longest one delivery may take, connecting included (reading the
/// answer may take one read's worth longer).
pub const DELIVERY_TIME_MAX: Duration = Duration::from_secs(10);
/// The longest connecting may take.
const CONNECT_TIME_MAX: Duration = Duration::from_secs(5);
/// How much of a failed delivery's answer is kept, as its error.
const ANSWER_EXCERPT_BYTES: u64 = 512;

/// Posts webhook deliveries for the host.
pub struct Sender {
    policy: Arc<Policy>,
    secrets: SecretsKey,
    /// Made on first use, on a delivery thread (never on an async one).
    client: OnceLock<Result<Client, String>>,
}

impl std::fmt::Debug for Sender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sender").field("policy", &self.policy).finish_non_exhaustive()
    }
}

impl Sender {
    /// A sender under `policy` that seals and opens secrets with `secrets`.
    pub fn new(policy: Policy, secrets: SecretsKey) -> Self {
        Self { policy: Arc::new(policy), secrets, client: OnceLock::new() }
    }

    fn client(&self) -> Result<&Client, String> {
        self.client.get_or_init(|| client(&self.policy)).as_ref().map_err(Clone::clone)
    }
}

impl Outbound for Sender {
    fn check(&self, url: &str) -> Result<(), String> {
        self.policy.check(url)
    }

    fn new_secret(&self, context: &str) -> Result<(String, String), String> {
        let secret = new_secret();
        let sealed = self.secrets.seal(context, secret.as_bytes()).map_err(|e| e.to_string())?;
        Ok((secret, sealed))
    }

    fn post(&self, post: &Post<'_>) -> Result<(), String> {
        let url = self.policy.endpoint(post.url)?;
        let secret = self
            .secrets
            .open(post.context, post.sealed_secret)
            .map_err(|err| err.to_string())
            .and_then(|bytes| String::from_utf8(bytes).map_err(|err| err.to_string()))?;
        let started = Instant::now();
        let response = self
            .client()?
            .post(url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("Keel-Event-Id", post.event_id)
            .header("Idempotency-Key", post.event_id)
            .header("Keel-Webhook-Id", post.webhook)
            .header("Keel-Topic", post.topic)
            .header("Keel-Delivery-Attempt", post.attempt)
            .header(SIGNATURE_HEADER, sign(&secret, post.timestamp, post.body))
            .body(post.body.to_vec())
            .send()
            .map_err(|err| failure(&url, &err))?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        // The answer is only for the error message: a part of it will do,
        // read within the delivery's time (each read is bounded too, so an
        // endpoint that trickles its answer cannot hold the worker).
        let mut answer = response.take(ANSWER_EXCERPT_BYTES);
        let mut excerpt = Vec::new();
        let mut chunk = [0u8; 128];
        while started.elapsed() < DELIVERY_TIME_MAX {
            match answer.read(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => excerpt.extend_from_slice(&chunk[..n]),
            }
        }
        // Shown in the admin API, the audit trail and the log: on one line.
        let excerpt = String::from_utf8_lossy(&excerpt).trim().escape_debug().to_string();
        if excerpt.is_empty() {
            Err(format!("{url} answered {status}"))
        } else {
            Err(format!("{url} answered {status}: {excerpt}"))
        }
    }
}

/// Why a delivery got no answer, with every cause.
fn failure(url: &reqwest::Url, err: &reqwest::Error) -> String {
    if err.is_timeout() {
        return format!("{url} did not answer within {} s", DELIVERY_TIME_MAX.as_secs());
    }
    let mut message = format!("posting to {url} failed");
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(err);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

/// The client: TLS with the webpki roots, through the process's default
/// crypto (which `keel_gateway::install_crypto` installs), the vetting
/// resolver, no redirects, no proxy.
fn client(policy: &Arc<Policy>) -> Result<Client, String> {
    let builder = Client::builder()
        .dns_resolver(Arc::new(Vetting { policy: Arc::clone(policy) }))
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(DELIVERY_TIME_MAX)
        .connect_timeout(CONNECT_TIME_MAX)
        .pool_max_idle_per_host(2)
        .user_agent(concat!("keel-webhooks/", env!("CARGO_PKG_VERSION")));
    // reqwest panics, rather than fail, when the process has no default
    // TLS crypto: a kernel set up without it delivers no webhooks, and
    // says why, instead of losing its delivery worker.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| builder.build()))
        .map_err(|_| {
            "setting up the webhook client failed: the process has no default TLS crypto \
             (keel_gateway::install_crypto)"
                .to_owned()
        })?
        .map_err(|err| format!("setting up the webhook client: {err}"))
}

/// Resolves a host and lets the connection use its addresses only if the
/// policy allows every one.
struct Vetting {
    policy: Arc<Policy>,
}

impl Resolve for Vetting {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = Arc::clone(&self.policy);
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let addresses: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let ips: Vec<_> = addresses.iter().map(SocketAddr::ip).collect();
            policy.vet(&host, &ips)?;
            Ok(Box::new(addresses.into_iter()) as Addrs)
        })
    }
}
