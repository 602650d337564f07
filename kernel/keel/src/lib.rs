//! The kernel's composition root: opens storage, starts the plugin host,
//! loads the bundled plugins, sets up tenants, and serves HTTP.
//!
//! The `keel` binary is a thin CLI over [`start`]; system tests call
//! [`start`] directly to boot a real kernel in-process.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;
use keel_gateway::Server;
pub use keel_gateway::{HttpLimits, TlsFiles};
use keel_host::{Host, HostConfig};
use keel_identity::Identity;
pub use keel_mail::SmtpConfig;
use keel_platform::Platform;
use keel_storage::Storage;
use keel_types::{Limits, PluginId, SystemClock, TenantId};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

mod key_file;

/// The tenant `--demo` sets up, with every loaded plugin enabled.
pub const DEMO_TENANT: &str = "demo";

/// How to run a kernel.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where to listen; port 0 picks a free one.
    pub addr: SocketAddr,
    /// The data directory: the database and the compiled-code cache.
    pub data_dir: PathBuf,
    /// A directory of plugin packages (`*.wasm`) to load at start.
    pub plugins_dir: Option<PathBuf>,
    /// Where compiled native code is cached; defaults to `<data>/cache`.
    pub cache_dir: Option<PathBuf>,
    /// Limits on requests, calls and data.
    pub limits: Limits,
    /// Create the `demo` tenant and enable every loaded plugin for it.
    pub demo: bool,
    /// `(tenant, plugin)` pairs to enable at start (tenants are created as needed).
    pub enable: Vec<(TenantId, PluginId)>,
    /// The bootstrap administrator's password on a fresh data directory;
    /// generated and printed once when unset.
    pub admin_password: Option<String>,
    /// How long a login session lasts.
    pub session_ttl: std::time::Duration,
    /// How often the kernel signs and keeps the head of every audit chain
    /// that grew; none turns it off (heads are still signed on demand).
    pub audit_sign_interval: Option<std::time::Duration>,
    /// Serve the benchmark's native baseline routes (`/bench/native/…`).
    pub bench_routes: bool,
    /// How long clients may take to send requests, and how many connect at once.
    pub http: HttpLimits,
    /// Reverse proxies whose `X-Forwarded-For` names the real client.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// The clock the kernel and its plugins read (the system's by default;
    /// a test or a simulation may set its own).
    pub clock: Arc<dyn keel_types::Clock>,
    /// Serve HTTPS with this certificate and key (read again on `SIGHUP`).
    pub tls: Option<TlsFiles>,
    /// The key that seals secrets stored in the database (second-factor
    /// seeds); `<data>/secrets.key` by default, created on first start.
    /// Keep it apart from backups of the data directory.
    pub secrets_key: Option<PathBuf>,
    /// The ring of data keys that seal sensitive collections, the current
    /// one first; `<data>/data.key` by default, created on first start.
    /// Keep it apart from backups of the data directory.
    pub data_key_file: Option<PathBuf>,
    /// The data keys themselves, given by the operator (`KEEL_DATA_KEY`),
    /// in place of the file.
    pub data_keys: Option<Vec<[u8; 32]>>,
    /// Hosts webhooks may be delivered to whatever they resolve to (by
    /// default, none on loopback, private, link-local or metadata addresses).
    pub webhook_allow_hosts: Vec<String>,
    /// How the kernel sends mail (scheduled reports); none sends none.
    pub mail: Option<MailConfig>,
    /// The bearer token `/metrics` answers to on the main listener.
    pub metrics_token: Option<String>,
    /// An address of its own that serves `/metrics` to anyone reaching it.
    pub metrics_addr: Option<SocketAddr>,
    /// Where `POST /admin/backups` makes backups; `<data>/backups` by default.
    pub backups_dir: Option<PathBuf>,
}

/// How the kernel sends mail.
#[derive(Debug, Clone)]
pub enum MailConfig {
    /// Through an SMTP relay, over STARTTLS.
    Smtp(keel_mail::SmtpConfig),
    /// As `.eml` files written into a directory, from `from` (development).
    Dir { dir: PathBuf, from: String },
}

impl Config {
    /// Defaults: 127.0.0.1:8080, `./data`, no plugins.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: data_dir.into(),
            plugins_dir: None,
            cache_dir: None,
            limits: Limits::default(),
            demo: false,
            enable: Vec::new(),
            admin_password: None,
            session_ttl: std::time::Duration::from_secs(12 * 60 * 60),
            audit_sign_interval: Some(std::time::Duration::from_secs(60 * 60)),
            bench_routes: false,
            http: HttpLimits::default(),
            trusted_proxies: Vec::new(),
            clock: Arc::new(SystemClock),
            tls: None,
            secrets_key: None,
            data_key_file: None,
            data_keys: None,
            webhook_allow_hosts: Vec::new(),
            mail: None,
            metrics_token: None,
            metrics_addr: None,
            backups_dir: None,
        }
    }

    /// Checks that the settings fit together, before anything starts.
    pub fn check(&self) -> anyhow::Result<()> {
        let limits = &self.limits;
        anyhow::ensure!(
            limits.guest_memory_tenant_bytes >= limits.memory_bytes_max
                && limits.guest_memory_total_bytes >= limits.memory_bytes_max,
            "--guest-memory-tenant-mib ({} MiB) and --guest-memory-total-mib ({} MiB) must each be \
             at least --memory-mib ({} MiB), or a call could never have the memory it may use",
            limits.guest_memory_tenant_bytes >> 20,
            limits.guest_memory_total_bytes >> 20,
            limits.memory_bytes_max >> 20,
        );
        Ok(())
    }
}

/// The longest [`Kernel::stop`] waits for storage to close.
const STORAGE_CLOSE_WAIT_MAX: std::time::Duration = std::time::Duration::from_secs(10);

/// A running kernel.
pub struct Kernel {
    addr: SocketAddr,
    host: Host,
    /// Tells when the database file is closed.
    storage: keel_storage::Closing,
    shutdown: oneshot::Sender<()>,
    serving: JoinHandle<std::io::Result<()>>,
    /// The listener of `/metrics` alone, if the operator asked for one.
    metrics: Option<(SocketAddr, oneshot::Sender<()>, JoinHandle<std::io::Result<()>>)>,
    signing: Option<JoinHandle<()>>,
    pruning: JoinHandle<()>,
}

impl Kernel {
    /// The address it serves on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The address that serves `/metrics` alone, if the kernel has one.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().map(|(addr, _, _)| *addr)
    }

    /// The plugin host, for in-process inspection.
    pub fn host(&self) -> &Host {
        &self.host
    }

    /// Stops accepting requests, finishes in-flight ones, and closes storage.
    pub async fn stop(self) -> anyhow::Result<()> {
        if let Some(signing) = &self.signing {
            signing.abort();
        }
        self.pruning.abort();
        let host = self.host.clone();
        tokio::task::spawn_blocking(move || {
            host.stop_events();
            host.stop_timers();
            host.stop_resealing();
            host.stop_reports();
        })
        .await
        .context("stopping the event dispatcher and the timer clock panicked")?;
        if self.shutdown.send(()).is_err() {
            tracing::debug!("the server had already stopped; joining reports why");
        }
        // Both listeners drain at once, within the one grace.
        let metrics = self.metrics.map(|(_, shutdown, serving)| {
            if shutdown.send(()).is_err() {
                tracing::debug!("the metrics listener had already stopped");
            }
            serving
        });
        let served = self.serving.await.context("server task panicked")?.context("server failed");
        if let Some(serving) = metrics {
            match serving.await {
                Ok(Ok(())) => {}
                Ok(Err(err)) => tracing::warn!(error = %err, "the metrics listener failed"),
                Err(err) => tracing::warn!(error = %err, "the metrics listener panicked"),
            }
        }
        // Work that outlived its request (a blocking task finishing, a
        // delivery) may hold storage a moment longer: wait until the file
        // is closed, so the data directory can be opened again at once.
        // The last handle's drop may close storage, which checkpoints and
        // syncs: not on an async worker.
        tokio::task::spawn_blocking(move || drop(self.host))
            .await
            .context("closing the host panicked")?;
        let started = std::time::Instant::now();
        while !self.storage.is_closed() {
            if started.elapsed() > STORAGE_CLOSE_WAIT_MAX {
                anyhow::bail!(
                    "storage is still in use {} s after stopping",
                    STORAGE_CLOSE_WAIT_MAX.as_secs()
                );
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        served
    }

    /// Serves until the future completes (a signal, in the binary), then stops.
    pub async fn serve_until(
        self,
        signal: impl std::future::Future<Output = ()>,
    ) -> anyhow::Result<()> {
        signal.await;
        tracing::info!("shutting down");
        self.stop().await
    }
}

/// Starts a kernel as `config` says.
pub async fn start(config: Config) -> anyhow::Result<Kernel> {
    config.check()?;
    // Before storage opens, so that its first log syncs are counted.
    keel_gateway::install_metrics();
    let setup = config.clone();
    let (host, storage) = tokio::task::spawn_blocking(move || prepare(&setup))
        .await
        .context("kernel setup panicked")??;
    let closing = storage.closing();
    let secrets_path =
        config.secrets_key.clone().unwrap_or_else(|| config.data_dir.join("secrets.key"));
    let reader = Arc::clone(&storage);
    let sealed = tokio::task::spawn_blocking(move || keel_identity::holds_sealed_secrets(&reader))
        .await
        .context("reading second factors panicked")?
        .context("reading second factors")?;
    if !secrets_path.exists() && sealed {
        anyhow::bail!(
            "the secrets key {} is missing, but this data directory holds second factors sealed \
             with it: restore the key file (or pass --secrets-key with its path); a new key \
             would lock those users out",
            secrets_path.display()
        );
    }
    let reader = host.clone();
    let webhooks = tokio::task::spawn_blocking(move || reader.holds_webhooks())
        .await
        .context("reading webhooks panicked")?
        .context("reading webhooks")?;
    if !secrets_path.exists() && webhooks {
        anyhow::bail!(
            "the secrets key {} is missing, but this data directory holds webhooks whose \
             secrets are sealed with it: restore the key file (or pass --secrets-key with its \
             path); with a new key, no delivery could be signed",
            secrets_path.display()
        );
    }
    let secrets = key_file::load_or_create(&secrets_path, random_key).with_context(|| {
        format!("loading the secrets key {} (--secrets-key)", secrets_path.display())
    })?;
    keel_gateway::install_crypto();
    let policy = keel_webhooks::Policy::allowing(config.webhook_allow_hosts.iter().cloned())
        .map_err(|err| anyhow::anyhow!("--webhook-allow-host: {err}"))?;
    let outbound = keel_webhooks::Sender::new(policy, keel_identity::SecretsKey::new(&secrets));
    host.set_outbound(Arc::new(outbound));
    match &config.mail {
        Some(MailConfig::Smtp(smtp)) => {
            let mailer = keel_mail::SmtpMailer::new(smtp)
                .map_err(|err| anyhow::anyhow!("--smtp-relay: {err}"))?;
            host.set_mailer(Arc::new(mailer));
        }
        Some(MailConfig::Dir { dir, from }) => {
            let mailer = keel_mail::DirMailer::new(dir.clone(), from)
                .map_err(|err| anyhow::anyhow!("--mail-dir: {err}"))?;
            host.set_mailer(Arc::new(mailer));
        }
        None => {}
    }
    let secrets_bytes = secrets;
    let secrets = keel_identity::SecretsKey::new(&secrets);
    let identity = Identity::new(storage, Arc::new(SystemClock), config.session_ttl, secrets);
    let (identity, sealed) = tokio::task::spawn_blocking(move || {
        let origin = keel_audit::Origin::kernel(keel_types::Clock::now(&SystemClock).seconds);
        let sealed = identity.seal_plain_secrets(&origin);
        (identity, sealed)
    })
    .await
    .context("sealing second factors panicked")?;
    match sealed {
        Ok(0) => {}
        Ok(n_sealed) => tracing::info!(n_sealed, "second factors kept in plain text are sealed"),
        Err(err) => return Err(anyhow::Error::new(err).context("sealing second factors")),
    }
    let key_path = config.data_dir.join("audit-signing.key");
    let seed = key_file::load_or_create(&key_path, random_key)
        .with_context(|| format!("loading the audit signing key {}", key_path.display()))?;
    let signer = keel_audit::HeadSigner::from_seed(&seed);
    // What a backup holds, sealed, when asked: every key, as the file a
    // data directory keeps it in (the data key ring was given at setup).
    host.set_key_file("secrets.key", secrets_bytes.to_vec());
    host.set_key_file("audit-signing.key", seed.to_vec());
    let (platform, generated) =
        Platform::start(host.clone(), identity, config.admin_password.clone(), signer)
            .await
            .context("starting identity and authorization")?;
    if let Some(password) = generated {
        show_generated_password(&password);
    }
    let signing =
        config.audit_sign_interval.map(|every| tokio::spawn(sign_heads(platform.clone(), every)));
    let pruning = tokio::spawn(prune(platform.clone()));
    // What each tenant stores, counted in the background, so that no
    // tenant's first write waits for the walk its quota needs.
    let measurer = host.clone();
    drop(tokio::task::spawn_blocking(move || measurer.measure_storage()));
    // Documents of sensitive collections not sealed with the current data
    // key (after a rotation, or from before sealing) are sealed anew in the
    // background, a batch per write of their tenant's lane.
    let resealer = host.clone();
    drop(tokio::task::spawn_blocking(move || match resealer.reseal() {
        Ok(0) => {}
        Ok(resealed) => {
            tracing::info!(resealed, "sensitive documents sealed with the current data key")
        }
        Err(err) => {
            tracing::warn!(error = %err, "sealing sensitive documents anew stopped; it starts again with the kernel")
        }
    }));
    let options = keel_gateway::Options {
        bench_routes: config.bench_routes,
        http: config.http,
        trusted_proxies: config.trusted_proxies.clone(),
        tls: config.tls.clone(),
        metrics_token: config.metrics_token.clone(),
    };
    let metrics = match config.metrics_addr {
        Some(addr) => {
            let server = Server::bind_metrics(addr, config.http).await.with_context(|| {
                format!("cannot listen on {addr} for /metrics; is another process using it? (--metrics-addr changes it)")
            })?;
            let bound = server.local_addr()?;
            let (shutdown, stopped) = oneshot::channel::<()>();
            let serving = tokio::spawn(server.run(async {
                drop(stopped.await);
            }));
            tracing::info!(addr = %bound, "serving /metrics");
            Some((bound, shutdown, serving))
        }
        None => None,
    };
    let server = Server::bind(config.addr, platform, options).await.map_err(|err| {
        if err.kind() == std::io::ErrorKind::InvalidData {
            return anyhow::Error::new(err).context("cannot serve HTTPS (--tls-cert, --tls-key)");
        }
        anyhow::Error::new(err).context(format!(
            "cannot listen on {}; is another process using it? (--addr changes it)",
            config.addr
        ))
    })?;
    let addr = server.local_addr()?;
    let (shutdown, stopped) = oneshot::channel::<()>();
    let serving = tokio::spawn(server.run(async {
        // Either a stop request or the Kernel being dropped ends serving.
        drop(stopped.await);
    }));
    host.start_events().context("starting event delivery")?;
    host.start_timers().context("starting the timer clock")?;
    let scheme = if config.tls.is_some() { "https" } else { "http" };
    tracing::info!(%addr, scheme, "keel is serving");
    Ok(Kernel { addr, host, storage: closing, shutdown, serving, metrics, signing, pruning })
}

/// The data keys, the current one first: the operator's, or the key
/// file's; a new key if there is no file yet, and the file to write it to
/// once the kernel has checked that nothing here is sealed with another.
fn data_key_ring(config: &Config) -> anyhow::Result<(Vec<[u8; 32]>, Option<PathBuf>)> {
    if let Some(keys) = &config.data_keys {
        return Ok((keys.clone(), None));
    }
    let path = config.data_key_file.clone().unwrap_or_else(|| config.data_dir.join("data.key"));
    let ring = key_file::load_ring(&path).with_context(|| {
        format!("reading the data key file {} (--data-key-file)", path.display())
    })?;
    Ok(match ring {
        Some(ring) => (ring, None),
        None => (vec![random_key()], Some(path)),
    })
}

/// Adds a new data key at the head of the ring in `path`: documents are
/// sealed with it from the kernel's next start, which seals the others
/// anew in the background. Answers the new key's id and the ring's.
pub fn rotate_data_key(path: &std::path::Path) -> anyhow::Result<(String, Vec<String>)> {
    let ring = key_file::load_ring(path)
        .with_context(|| format!("reading the data key file {}", path.display()))?
        .with_context(|| {
            format!(
                "there is no data key file {}: a kernel makes one on first start",
                path.display()
            )
        })?;
    let ids: Vec<String> = ring.iter().map(keel_host::key_id).collect();
    // Keys are told apart by their id: a new key's must be new too.
    let key = std::iter::repeat_with(random_key)
        .find(|key| !ids.contains(&keel_host::key_id(key)))
        .unwrap_or_else(random_key);
    let mut rotated = vec![key];
    rotated.extend(ring);
    key_file::write_ring(path, &rotated)
        .with_context(|| format!("writing the data key file {}", path.display()))?;
    let ids = rotated.iter().map(keel_host::key_id).collect();
    Ok((keel_host::key_id(&key), ids))
}

/// 32 fresh random bytes, for a key made on first start.
fn random_key() -> [u8; 32] {
    use rand::Rng as _;
    let mut key = [0u8; 32];
    rand::rng().fill(&mut key);
    key
}

/// How often expired sessions and old delivered events are removed.
const PRUNE_EVERY: std::time::Duration = std::time::Duration::from_secs(10 * 60);

/// Removes expired sessions and old delivered events, at start and every
/// [`PRUNE_EVERY`], so that disk use stays bounded.
async fn prune(platform: Platform) {
    let mut ticks = tokio::time::interval(PRUNE_EVERY);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let pruner = platform.clone();
        match tokio::task::spawn_blocking(move || pruner.prune()).await {
            Ok(pruned)
                if pruned.sessions + pruned.events + pruned.idempotency + pruned.jobs > 0 =>
            {
                let (sessions, events, idempotency, jobs) =
                    (pruned.sessions, pruned.events, pruned.idempotency, pruned.jobs);
                tracing::info!(sessions, events, idempotency, jobs, "pruned");
            }
            Ok(_) => tracing::debug!("nothing to prune"),
            Err(err) => tracing::error!(error = %err, "pruning sessions and events panicked"),
        }
    }
}

/// Signs and keeps the head of every audit chain that grew, every `every`.
async fn sign_heads(platform: Platform, every: std::time::Duration) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticks.tick().await;
    loop {
        ticks.tick().await;
        let signer = platform.clone();
        match tokio::task::spawn_blocking(move || signer.sign_heads()).await {
            Ok(Ok(n_signed)) => tracing::debug!(n_signed, "audit heads signed"),
            Ok(Err(err)) => tracing::error!(error = %err, "signing audit heads failed"),
            Err(err) => tracing::error!(error = %err, "signing audit heads panicked"),
        }
    }
}

/// Prints the bootstrap password once, outside the logs.
#[expect(clippy::print_stderr, reason = "shown once to the operator and never logged")]
fn show_generated_password(password: &str) {
    eprintln!(
        "\n  A platform administrator was created on this fresh data directory.\n  \
         user: {}   password: {password}\n  \
         This password is shown only now; set KEEL_ADMIN_PASSWORD before the first start to choose it.\n",
        keel_identity::BOOTSTRAP_ADMIN
    );
}

/// Keeps `path` to the kernel's own user (`mode`): the data directory holds
/// password hashes, second-factor secrets and the audit signing key.
fn private(path: &Path, mode: u32) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).with_context(
            || format!("cannot make {} private to this user (mode {mode:o})", path.display()),
        )?;
    }
    #[cfg(not(unix))]
    let _ = (path, mode);
    Ok(())
}

/// Warns when others than the kernel's user may read an existing data
/// directory, which holds password hashes and second-factor secrets.
fn warn_if_shared(dir: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(dir)
            && meta.permissions().mode() & 0o077 != 0
        {
            let mode = meta.permissions().mode() & 0o777;
            tracing::warn!(dir = %dir.display(), mode = format!("{mode:o}"), "the data directory is open to other users; chmod 700 it");
        }
    }
    #[cfg(not(unix))]
    let _ = dir;
}

/// Opens storage, starts the host, loads plugins and sets up tenants.
fn prepare(config: &Config) -> anyhow::Result<(Host, Arc<Storage>)> {
    // A directory the operator made is theirs to share; one made here is private.
    let existed = config.data_dir.exists();
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("cannot create data directory {}", config.data_dir.display()))?;
    if !existed {
        private(&config.data_dir, 0o700)?;
    } else {
        warn_if_shared(&config.data_dir);
    }
    let db_path = config.data_dir.join("keel.redb");
    let storage = Storage::open(&db_path, config.limits.clone())
        .with_context(|| format!("opening storage at {}", db_path.display()))?;
    private(&db_path, 0o600)?;
    let (ring, new_file) = data_key_ring(config)?;
    let data_keys = keel_host::DataKeys::new(&ring).map_err(anyhow::Error::msg)?;
    let host_config = HostConfig {
        limits: config.limits.clone(),
        cache_dir: config.cache_dir.clone().unwrap_or_else(|| config.data_dir.join("cache")),
        packages_dir: Some(config.data_dir.join("packages")),
        backups_dir: Some(
            config.backups_dir.clone().unwrap_or_else(|| config.data_dir.join("backups")),
        ),
        clock: Arc::clone(&config.clock),
        data_keys: Arc::new(data_keys),
    };
    let storage = Arc::new(storage);
    let host = Host::new(Arc::clone(&storage), host_config)?;
    // Before any plugin runs (a migration may seal): every key this data
    // directory was sealed with is in the ring, and the current one is
    // kept on disk and recorded as used.
    let missing = host.missing_data_keys()?;
    if !missing.is_empty() {
        anyhow::bail!(
            "this data directory holds documents sealed with data key {}, which the data keys \
             given ({}) lack: restore the data key file (--data-key-file, by default \
             <data>/data.key) or set KEEL_DATA_KEY to the keys, the current one first",
            missing.join(", "),
            host.data_keys().ids().join(", ")
        );
    }
    if let Some(path) = new_file {
        key_file::write_ring(&path, &ring)
            .with_context(|| format!("writing the data key file {}", path.display()))?;
    }
    host.record_data_key_use(&keel_audit::Origin::kernel(host.now().seconds))?;
    host.set_key_file("data.key", ring.concat());
    // Packages installed over the admin API first, then the bundled ones.
    let installed = config.data_dir.join("packages");
    if installed.is_dir() {
        load_installed(&host, &installed)?;
    }
    if let Some(dir) = &config.plugins_dir {
        load_plugins(&host, dir)?;
    }
    for problem in host.restore()? {
        tracing::warn!("could not restore enabled plugin: {problem}");
    }

    let origin = keel_audit::Origin::kernel(host.now().seconds);
    if config.demo {
        let demo = TenantId::new(DEMO_TENANT).context("invariant: the demo tenant id is valid")?;
        host.create_tenant(&origin, &demo, "Demo Company")?;
        let ids: std::collections::BTreeSet<PluginId> =
            host.plugins().iter().map(|p| p.manifest().id.clone()).collect();
        let ids: Vec<PluginId> = ids.into_iter().collect();
        host.enable_all(&demo, &ids).context("enabling the bundled plugins for the demo tenant")?;
    }
    let mut by_tenant: Vec<(TenantId, Vec<PluginId>)> = Vec::new();
    for (tenant, plugin) in &config.enable {
        match by_tenant.iter_mut().find(|(t, _)| t == tenant) {
            Some((_, plugins)) => plugins.push(plugin.clone()),
            None => by_tenant.push((tenant.clone(), vec![plugin.clone()])),
        }
    }
    for (tenant, plugins) in &by_tenant {
        host.create_tenant(&origin, tenant, tenant.as_str())?;
        host.enable_all(tenant, plugins)
            .with_context(|| format!("enabling plugins for tenant {tenant}"))?;
    }
    Ok((host, storage))
}

/// Loads the packages installed over the admin API (`<digest>.wasm`). One
/// that is damaged (its bytes no longer match its digest, or it does not
/// load) is set aside as `.corrupt` with an error in the log, so that one
/// bad file never stops the kernel; tenants that run it are told at restore.
fn load_installed(host: &Host, dir: &Path) -> anyhow::Result<()> {
    for path in wasm_files(dir)? {
        let wasm = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        let named = path.file_stem().and_then(|stem| stem.to_str()).unwrap_or_default();
        let loaded = if keel_host::digest(&wasm) == named {
            host.load(&wasm).map_err(anyhow::Error::from)
        } else {
            Err(anyhow::anyhow!("its bytes do not match the digest it is named by"))
        };
        match loaded {
            Ok(plugin) => {
                tracing::info!(path = %path.display(), plugin = %plugin.manifest().id, "loaded");
            }
            Err(err) => {
                let aside = path.with_extension("wasm.corrupt");
                let moved = std::fs::rename(&path, &aside);
                tracing::error!(path = %path.display(), error = %format!("{err:#}"), set_aside = moved.is_ok(), "an installed package is damaged; install it again");
            }
        }
    }
    Ok(())
}

/// The `*.wasm` files in `dir`, in name order.
fn wasm_files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir).with_context(|| {
        format!(
            "cannot read plugins directory {}; build plugins with `cargo xtask build-plugins`",
            dir.display()
        )
    })?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "wasm"))
        .collect();
    paths.sort();
    Ok(paths)
}

/// Loads every `*.wasm` in `dir`, in name order.
fn load_plugins(host: &Host, dir: &Path) -> anyhow::Result<()> {
    for path in wasm_files(dir)? {
        let wasm = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        let plugin = host
            .load(&wasm)
            .with_context(|| format!("loading plugin package {}", path.display()))?;
        tracing::info!(path = %path.display(), plugin = %plugin.manifest().id, "loaded");
    }
    Ok(())
}
