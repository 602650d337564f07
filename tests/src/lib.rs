//! The system-test harness: boots a real kernel in-process with the real
//! `.wasm` plugins on a free loopback port, and drives it over HTTP.
//!
//! Plugins come from `KEEL_PLUGINS_DIR` and `KEEL_TEST_PLUGINS_DIR` (set by
//! `cargo xtask test`), falling back to `target/plugins` and
//! `target/test-plugins`; build them with `cargo xtask build-plugins`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use keel_types::{Limits, PluginId, TenantId};
use serde_json::Value;

/// The files under `dir` (but key files and packages) that hold `text`:
/// what a copy of the data directory without its keys would reveal.
pub fn files_holding(dir: &Path, text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let name = path.file_name().unwrap().to_string_lossy();
            if name.ends_with(".key") || name.ends_with(".wasm") {
                continue;
            }
            let bytes = std::fs::read(&path).unwrap();
            if bytes.windows(text.len()).any(|w| w == text.as_bytes()) {
                found.push(path.display().to_string());
            }
        }
    }
    found
}

/// The bootstrap administrator's password in test kernels.
pub const ADMIN_PASSWORD: &str = "test admin password";

/// A kernel clock a test moves by hand, in whole seconds (give it to
/// [`Setup::clock`]).
#[derive(Debug)]
pub struct MovedClock(AtomicI64);

impl MovedClock {
    /// A clock at `seconds` (Unix).
    pub fn at(seconds: i64) -> Arc<Self> {
        Arc::new(Self(AtomicI64::new(seconds)))
    }

    /// Moves it to `seconds`, forward or back.
    pub fn set(&self, seconds: i64) {
        self.0.store(seconds, Ordering::SeqCst);
    }

    /// Moves it on by `seconds`.
    pub fn advance(&self, seconds: i64) {
        self.0.fetch_add(seconds, Ordering::SeqCst);
    }
}

impl keel_types::Clock for MovedClock {
    fn now(&self) -> keel_types::Timestamp {
        keel_types::Timestamp { seconds: self.0.load(Ordering::SeqCst), nanoseconds: 0 }
    }
}

/// A running kernel and a client for it.
pub struct TestKernel {
    kernel: Option<keel::Kernel>,
    base: String,
    client: reqwest::Client,
    /// The session of the bootstrap administrator, used by default.
    admin_token: String,
    /// Kept alive while the kernel runs, unless the test owns the data directory.
    _data: Option<tempfile::TempDir>,
}

/// How to boot a test kernel.
#[derive(Debug, Clone)]
pub struct Setup {
    /// Plugin packages to load, by file stem (`finance`, `rogue`, `hello`).
    pub plugins: Vec<&'static str>,
    /// Tenants that get every loaded plugin enabled.
    pub tenants: Vec<&'static str>,
    /// Call deadline.
    pub call_deadline: Duration,
    /// Memory limit per call.
    pub memory_bytes_max: usize,
    /// Memory limit of all calls together.
    pub guest_memory_total_bytes: usize,
    /// Guest memory one tenant's calls may use at once.
    pub guest_memory_tenant_bytes: usize,
    /// Most records one call may write.
    pub writes_per_call_max: u32,
    /// Attempts of a delivery before it is dead-lettered.
    pub event_attempts_max: u32,
    /// The longest wait between a delivery's attempts.
    pub event_retry_max: Duration,
    /// How often the kernel signs audit heads by itself; none by default,
    /// so a test sees only the heads it asks for.
    pub audit_sign_interval: Option<Duration>,
    /// Serve the benchmark's native baseline routes (off, as in production).
    pub bench_routes: bool,
    /// Client timeouts and the connection cap.
    pub http: keel::HttpLimits,
    /// Reverse proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// The kernel's clock; the system's when none.
    pub clock: Option<std::sync::Arc<dyn keel_types::Clock>>,
    /// Hosts webhooks may reach whatever they resolve to.
    pub webhook_allow_hosts: Vec<String>,
    /// Most documents a custom report reads before it goes on in the
    /// background.
    pub report_inline_documents_max: u64,
    /// Most rows an import runs before it goes on in the background, and
    /// the rows of each part it runs there.
    pub import_inline_rows_max: usize,
    pub import_part_rows: usize,
    /// How long a turn of a background import starts calls.
    pub import_part_turn: Duration,
    /// How the kernel sends mail; none by default.
    pub mail: Option<keel::MailConfig>,
    /// The token `/metrics` answers to; none by default.
    pub metrics_token: Option<String>,
    /// Serve `/metrics` on a listener of its own (any free port).
    pub metrics_listener: bool,
    /// Backups kept in the backups directory.
    pub backups_keep: usize,
}

impl Setup {
    /// `plugins` enabled for the `demo` tenant, with test-sized limits.
    pub fn new(plugins: &[&'static str]) -> Self {
        Self {
            plugins: plugins.to_vec(),
            tenants: vec!["demo"],
            call_deadline: Duration::from_secs(5),
            memory_bytes_max: 64 * 1024 * 1024,
            guest_memory_total_bytes: Limits::default().guest_memory_total_bytes,
            guest_memory_tenant_bytes: Limits::default().guest_memory_tenant_bytes,
            writes_per_call_max: Limits::default().writes_per_call_max,
            event_attempts_max: 3,
            event_retry_max: Duration::from_millis(200),
            audit_sign_interval: None,
            bench_routes: false,
            http: keel::HttpLimits::default(),
            trusted_proxies: Vec::new(),
            clock: None,
            webhook_allow_hosts: Vec::new(),
            report_inline_documents_max: Limits::default().report_inline_documents_max,
            import_inline_rows_max: Limits::default().import_inline_rows_max,
            import_part_rows: Limits::default().import_part_rows,
            import_part_turn: Limits::default().import_part_turn,
            mail: None,
            metrics_token: None,
            metrics_listener: false,
            backups_keep: Limits::default().backups_keep,
        }
    }

    /// The limits the kernel runs with. Fewer instance slots than the
    /// default keep many test kernels in one process light on address space.
    pub fn limits(&self) -> Limits {
        Limits {
            call_deadline: self.call_deadline,
            memory_bytes_max: self.memory_bytes_max,
            guest_memory_total_bytes: self.guest_memory_total_bytes,
            guest_memory_tenant_bytes: self.guest_memory_tenant_bytes,
            writes_per_call_max: self.writes_per_call_max,
            instances_max: 32,
            // Failed deliveries are retried within milliseconds, and given
            // up on after three attempts unless the test says otherwise.
            event_attempts_max: self.event_attempts_max,
            event_retry_base: Duration::from_millis(20),
            event_retry_max: self.event_retry_max,
            report_inline_documents_max: self.report_inline_documents_max,
            import_inline_rows_max: self.import_inline_rows_max,
            import_part_rows: self.import_part_rows,
            import_part_turn: self.import_part_turn,
            backups_keep: self.backups_keep,
            ..Limits::default()
        }
    }
}

/// The bytes of a built plugin package, by file stem.
pub fn plugin_bytes(name: &str) -> Vec<u8> {
    std::fs::read(plugin_path(name)).expect("read plugin package")
}

/// The version a bundled plugin's manifest (`plugins/<name>/keel.toml`)
/// declares, so that tests name it without repeating it.
pub fn bundled_version(name: &str) -> String {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins").join(name).join("keel.toml");
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
    keel_manifest::Manifest::parse(&text).expect("a bundled manifest parses").version
}

fn plugin_path(name: &str) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("target");
    let dirs = [
        std::env::var_os("KEEL_PLUGINS_DIR").map_or_else(|| root.join("plugins"), PathBuf::from),
        std::env::var_os("KEEL_TEST_PLUGINS_DIR")
            .map_or_else(|| root.join("test-plugins"), PathBuf::from),
    ];
    dirs.iter()
        .map(|dir| dir.join(format!("{name}.wasm")))
        .find(|path| path.exists())
        .unwrap_or_else(|| panic!("plugin {name}.wasm not found in {dirs:?}; run `cargo xtask build-plugins` (or `cargo xtask test`)"))
}

/// Compiled native code is shared by all test kernels, as a real restart would reuse it.
fn cache_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("target").join("keel-test-cache")
}

impl TestKernel {
    /// Boots a kernel in a fresh temporary data directory.
    pub async fn start(setup: Setup) -> Self {
        let data = tempfile::tempdir().expect("temporary data directory");
        let mut kernel = Self::start_in(data.path(), setup).await;
        kernel._data = Some(data);
        kernel
    }

    /// Boots a kernel on an existing data directory (to test restarts).
    pub async fn start_in(data_dir: &Path, setup: Setup) -> Self {
        Self::try_start_in(data_dir, setup).await.expect("kernel starts")
    }

    /// As [`TestKernel::start_in`], answering why the kernel would not
    /// start (`{err:#}`) instead of panicking.
    pub async fn try_start_in(data_dir: &Path, setup: Setup) -> Result<Self, String> {
        let plugins_dir = data_dir.join("packages");
        std::fs::create_dir_all(&plugins_dir).expect("packages directory");
        for name in &setup.plugins {
            std::fs::copy(plugin_path(name), plugins_dir.join(format!("{name}.wasm")))
                .expect("copy plugin");
        }
        let mut config = keel::Config::new(data_dir.join("data"));
        config.addr = ([127, 0, 0, 1], 0).into();
        config.plugins_dir = Some(plugins_dir);
        config.cache_dir = Some(cache_dir());
        config.limits = setup.limits();
        config.admin_password = Some(ADMIN_PASSWORD.to_owned());
        config.audit_sign_interval = setup.audit_sign_interval;
        config.bench_routes = setup.bench_routes;
        config.http = setup.http;
        config.trusted_proxies.clone_from(&setup.trusted_proxies);
        config.webhook_allow_hosts.clone_from(&setup.webhook_allow_hosts);
        config.mail.clone_from(&setup.mail);
        config.metrics_token.clone_from(&setup.metrics_token);
        config.metrics_addr = setup.metrics_listener.then(|| ([127, 0, 0, 1], 0).into());
        if let Some(clock) = &setup.clock {
            config.clock = std::sync::Arc::clone(clock);
        }
        for tenant in &setup.tenants {
            for plugin in &setup.plugins {
                config
                    .enable
                    .push((TenantId::new(*tenant).unwrap(), PluginId::new(*plugin).unwrap()));
            }
        }
        let kernel = keel::start(config).await.map_err(|err| format!("{err:#}"))?;
        let base = format!("http://{}", kernel.addr());
        let mut test = Self {
            kernel: Some(kernel),
            base,
            client: reqwest::Client::new(),
            admin_token: String::new(),
            _data: None,
        };
        test.admin_token = test.login("admin", ADMIN_PASSWORD).await;
        Ok(test)
    }

    /// Logs in; returns the session token.
    pub async fn login(&self, user: &str, password: &str) -> String {
        let body = serde_json::json!({ "user": user, "password": password });
        let reply = self.send_as(None, "POST", "/auth/login", Some(body)).await;
        reply.expect(200)["token"].as_str().expect("a token").to_owned()
    }

    /// Creates a user with `roles` in `tenant` (as the admin) and logs in as them.
    pub async fn user_with_roles(&self, user: &str, tenant: &str, roles: &[&str]) -> String {
        let password = format!("{user} has a long password");
        let body = serde_json::json!({ "id": user, "name": user, "password": password });
        let created = self.post("/admin/users", body).await;
        assert!(
            created.status == 201 || created.status == 409,
            "creating {user}: {}",
            created.body
        );
        let roles = serde_json::json!({ "roles": roles });
        self.send("PUT", &format!("/admin/tenants/{tenant}/members/{user}"), Some(roles))
            .await
            .expect(200);
        self.login(user, &password).await
    }

    /// Stops the kernel and waits until storage is closed.
    pub async fn stop(mut self) {
        if let Some(kernel) = self.kernel.take() {
            kernel.stop().await.expect("kernel stops cleanly");
        }
    }

    /// The kernel's plugin host, for in-process inspection.
    pub fn host(&self) -> &keel_host::Host {
        self.kernel.as_ref().expect("the kernel runs").host()
    }

    /// The base URL, such as `http://127.0.0.1:41234`.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The base URL of the listener that serves `/metrics` alone, if any.
    pub fn metrics_base(&self) -> Option<String> {
        let kernel = self.kernel.as_ref().expect("the kernel runs");
        kernel.metrics_addr().map(|addr| format!("http://{addr}"))
    }

    /// The HTTP client.
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// Sends a request as the administrator; returns the status and the JSON body (`Null` if empty).
    pub async fn send(&self, method: &str, path: &str, body: Option<Value>) -> Reply {
        self.send_as(Some(&self.admin_token), method, path, body).await
    }

    /// A request builder for `path`, authenticated as the administrator.
    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client.request(method, format!("{}{path}", self.base)).bearer_auth(&self.admin_token)
    }

    /// The administrator's session token.
    pub fn admin_token(&self) -> &str {
        &self.admin_token
    }

    /// Sends a request with `token` (or none).
    pub async fn send_as(
        &self,
        token: Option<&str>,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> Reply {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.header("content-type", "application/json").body(body.to_string());
        }
        Reply::from(request.send().await.expect("request reaches the kernel")).await
    }

    /// The actions of `tenant`'s last 1,000 audit records, oldest first,
    /// that start with `prefix`.
    pub async fn audit_actions(&self, tenant: &str, prefix: &str) -> Vec<String> {
        let reply = self.get(&format!("/admin/tenants/{tenant}/audit?limit=1000")).await;
        let entries = reply.expect(200)["entries"].as_array().expect("entries").clone();
        entries
            .iter()
            .filter_map(|e| e["record"]["action"].as_str())
            .filter(|a| a.starts_with(prefix))
            .map(str::to_owned)
            .collect()
    }

    /// Reads `tenant`'s job `id` until it has ended (succeeded, failed or
    /// was cancelled), for at most `within`; answers it as last read.
    pub async fn ended_job(&self, tenant: &str, id: &str, within: std::time::Duration) -> Value {
        let started = std::time::Instant::now();
        loop {
            let job = self.get(&format!("/api/{tenant}/jobs/{id}")).await.expect(200).clone();
            let state = job["state"].as_str().unwrap_or_default();
            if ["succeeded", "failed", "cancelled"].contains(&state) {
                return job;
            }
            assert!(started.elapsed() < within, "job {id} did not end within {within:?}: {job}");
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> Reply {
        self.send("GET", path, None).await
    }

    /// `POST path` with a JSON body.
    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.send("POST", path, Some(body)).await
    }
}

/// A response: status, content type and parsed body.
#[derive(Debug, Clone)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// `content-type`, if any.
    pub content_type: Option<String>,
    /// `x-request-id`, if any.
    pub request_id: Option<String>,
    /// The body as JSON; `Null` when empty.
    pub body: Value,
}

impl Reply {
    /// Reads a reqwest response.
    pub async fn from(response: reqwest::Response) -> Self {
        let header = |name: &str| {
            response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
        };
        let content_type = header("content-type");
        let request_id = header("x-request-id");
        let status = response.status().as_u16();
        let bytes = response.bytes().await.expect("response body");
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| panic!("body is not JSON: {}", String::from_utf8_lossy(&bytes)))
        };
        Self { status, content_type, request_id, body }
    }

    /// Asserts the status, showing the body on failure; returns the body.
    #[track_caller]
    pub fn expect(&self, status: u16) -> &Value {
        assert_eq!(self.status, status, "unexpected status; body: {}", self.body);
        &self.body
    }

    /// Asserts an RFC 9457 problem with `status` and `code`; returns its detail.
    #[track_caller]
    pub fn expect_problem(&self, status: u16, code: &str) -> String {
        self.expect(status);
        assert_eq!(self.content_type.as_deref(), Some("application/problem+json"));
        assert_eq!(self.body["status"], status);
        assert_eq!(self.body["type"], format!("urn:keel:problem:{code}"), "body: {}", self.body);
        self.body["detail"].as_str().expect("problem has a detail").to_owned()
    }
}
