//! `keel`: the Keel kernel's command line: `keel serve` runs the kernel;
//! the other subcommands are clients of its admin API.

mod access;
mod automation;
mod backups;
mod client;
mod settings;
mod webhooks;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use keel_types::{Limits, PluginId, TenantId};

#[derive(Debug, Parser)]
#[command(
    name = "keel",
    version,
    about = "Keel: a modular ERP kernel with sandboxed WebAssembly modules"
)]
struct Cli {
    /// How log lines are written: `text`, for people (coloured only on a
    /// terminal), or `json`, one object a line with its spans' fields
    /// (such as the request id) for log collectors.
    #[arg(long, env = "KEEL_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

/// Logs to standard output at `RUST_LOG`'s levels (info by default), as
/// `format` says.
fn init_logging(format: LogFormat) {
    use std::io::IsTerminal as _;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt().with_env_filter(filter);
    match format {
        LogFormat::Text => logs.with_ansi(std::io::stdout().is_terminal()).init(),
        LogFormat::Json => logs.json().with_current_span(false).with_span_list(true).init(),
    }
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the kernel: storage, plugin host and HTTP gateway.
    Serve(Box<ServeArgs>),
    /// Log in and print a session token (export it as KEEL_TOKEN).
    Login {
        #[arg(long)]
        user: String,
        /// The password; KEEL_PASSWORD keeps it out of the shell history.
        #[arg(long, env = "KEEL_PASSWORD", hide_env_values = true)]
        password: String,
        #[command(flatten)]
        connection: client::Connection,
    },
    /// Manage tenants.
    Tenant {
        #[command(subcommand)]
        command: client::TenantCommand,
        #[command(flatten)]
        connection: client::Connection,
    },
    /// Manage users.
    User {
        #[command(subcommand)]
        command: client::UserCommand,
        #[command(flatten)]
        connection: client::Connection,
    },
    /// Manage a tenant's members and their roles.
    Member {
        #[command(subcommand)]
        command: client::MemberCommand,
        #[command(flatten)]
        connection: client::Connection,
    },
    /// A tenant's own roles, and what each role grants.
    Role {
        #[command(subcommand)]
        command: access::RoleCommand,
        #[command(flatten)]
        connection: client::Connection,
    },
    /// A tenant's segregation-of-duties rules.
    Sod {
        #[command(subcommand)]
        command: access::SodCommand,
        #[command(flatten)]
        connection: client::Connection,
    },
    /// A tenant's API tokens.
    Token {
        #[command(subcommand)]
        command: access::TokenCommand,
        #[command(flatten)]
        connection: client::Connection,
    },
    /// Which enabled plugin provides each of a tenant's domain interfaces.
    Provider {
        #[command(subcommand)]
        command: access::ProviderCommand,
        #[command(flatten)]
        connection: client::Connection,
    },
    /// Events that could not be delivered after every retry; replay one.
    DeadLetter {
        #[command(subcommand)]
        command: access::DeadLetterCommand,
        #[command(flatten)]
        connection: client::Connection,
    },
    /// Read and verify a tenant's audit trail.
    Audit {
        #[command(subcommand)]
        command: client::AuditCommand,
        #[command(flatten)]
        connection: client::Connection,
    },
    /// Install, inspect, enable, upgrade and disable plugins.
    Plugin {
        #[command(subcommand)]
        command: client::PluginCommand,
        #[command(flatten)]
        connection: client::Connection,
    },
    /// Follow and cancel background jobs (`keel job watch ID`).
    Job {
        #[command(subcommand)]
        command: automation::JobCommand,
        #[command(flatten)]
        connection: client::Connection,
    },
    /// List timers; set a dead one going again.
    Timer {
        #[command(subcommand)]
        command: automation::TimerCommand,
        #[command(flatten)]
        connection: client::Connection,
    },
    /// List schedules; run one now.
    Schedule {
        #[command(subcommand)]
        command: automation::ScheduleCommand,
        #[command(flatten)]
        connection: client::Connection,
    },
    /// Subscribe outside endpoints to a tenant's events; pause, rotate, delete.
    Webhook {
        #[command(subcommand)]
        command: webhooks::WebhookCommand,
        #[command(flatten)]
        connection: client::Connection,
    },
    /// The data keys that seal sensitive collections.
    DataKey {
        #[command(subcommand)]
        command: DataKeyCommand,
    },
    /// Back up a serving kernel (`keel backup create`), or list its backups.
    Backup {
        #[command(subcommand)]
        command: backups::BackupCommand,
        #[command(flatten)]
        connection: client::Connection,
    },
    /// Restore a backup into a new data directory, offline: every file
    /// checked against the backup's manifest, every table counted and
    /// every audit chain checked, before the kernel is started on it.
    Restore {
        /// The backup's directory (holding backup.json).
        #[arg(long)]
        from: PathBuf,
        /// The new data directory; it must hold no database.
        #[arg(long, env = "KEEL_DATA")]
        data: PathBuf,
        /// The file whose first line is the passphrase the backup's keys
        /// were sealed with: they are opened first (a wrong one restores
        /// nothing) and written into the data directory.
        #[arg(long, value_name = "FILE")]
        keys_passphrase_file: Option<PathBuf>,
        /// Also put back the packages' compiled code the backup holds, into
        /// `<data>/cache`, so the kernel starts without compiling them. It
        /// is native code the kernel runs: only from a backup kept as
        /// safely as the data directory.
        #[arg(long)]
        compiled_code: bool,
    },
    /// The server's settings file (`keel serve --config FILE`).
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
}

#[derive(Debug, clap::Subcommand)]
enum ConfigCommand {
    /// Reads a settings file as `keel serve --config FILE` would (with
    /// the environment's KEEL_* variables, which beat it), checks every
    /// setting, and shows each one and where it came from; secrets are
    /// shown only as set. Exits non-zero, naming the setting, if any is
    /// wrong.
    Check {
        /// The settings file, TOML: `keel serve`'s long options as keys.
        file: PathBuf,
    },
}

#[derive(Debug, clap::Subcommand)]
enum DataKeyCommand {
    /// Add a new data key at the head of the ring: the kernel seals with it
    /// from its next start, and seals every sensitive document anew in the
    /// background then. Older keys stay in the ring (the audit trail keeps
    /// documents as they were sealed).
    Rotate {
        /// The data directory whose key file is rotated.
        #[arg(long, env = "KEEL_DATA", default_value = "data")]
        data: PathBuf,
        /// The data key file, if not `<data>/data.key`.
        #[arg(long, env = "KEEL_DATA_KEY_FILE")]
        data_key_file: Option<PathBuf>,
    },
}

#[derive(Debug, clap::Args)]
struct ServeArgs {
    /// A settings file (TOML) whose keys are these options' long names,
    /// such as `addr = "0.0.0.0:8080"` or `trusted-proxy = ["10.0.0.1"]`;
    /// an option on the command line or in its environment variable beats
    /// it. `keel config check FILE` checks one.
    #[arg(long, env = "KEEL_CONFIG")]
    config: Option<PathBuf>,
    /// Address to listen on.
    #[arg(long, env = "KEEL_ADDR", default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// Data directory (database and compiled-code cache); created if missing.
    #[arg(long, env = "KEEL_DATA", default_value = "data")]
    data: PathBuf,
    /// Directory of plugin packages (*.wasm) to load at start.
    #[arg(long, env = "KEEL_PLUGINS")]
    plugins: Option<PathBuf>,
    /// Create the `demo` tenant with every loaded plugin enabled.
    #[arg(long)]
    demo: bool,
    /// Enable a plugin for a tenant at start, as TENANT:PLUGIN (repeatable).
    #[arg(long = "enable", value_parser = parse_enable)]
    enable: Vec<(TenantId, PluginId)>,
    /// Wall-clock budget of one plugin call, in milliseconds.
    #[arg(long, default_value_t = 5000)]
    call_deadline_ms: u64,
    /// Guest memory one plugin call may use, with the providers it calls, in MiB.
    #[arg(long, default_value_t = 64)]
    memory_mib: usize,
    /// Guest memory all plugin calls running at once may use, in MiB; a
    /// call past it fails as busy (503) and can be retried.
    #[arg(long, default_value_t = 4096)]
    guest_memory_total_mib: usize,
    /// Guest memory one tenant's plugin calls running at once may use, in
    /// MiB (half of --guest-memory-total-mib if unset, and at least
    /// --memory-mib): the rest stays for the other tenants.
    #[arg(long)]
    guest_memory_tenant_mib: Option<usize>,
    /// Bytes one tenant may store, in MiB, audit trail included, unless an
    /// administrator sets its own quota (`PUT
    /// /admin/tenants/{tenant}/storage-quota`); a call that would store
    /// more fails with 507 and changes nothing.
    #[arg(long, default_value_t = 10 * 1024)]
    tenant_storage_mib: u64,
    /// Password of the `admin` user created on a fresh data directory
    /// (generated and shown once if unset).
    #[arg(long, env = "KEEL_ADMIN_PASSWORD", hide_env_values = true)]
    admin_password: Option<String>,
    /// Seconds between signing (and keeping) the head of every audit chain
    /// that grew; 0 turns it off.
    #[arg(long, default_value_t = 3600)]
    audit_sign_interval_s: u64,
    /// Seconds a client may take to send a request's headers (also how
    /// long an idle connection stays open).
    #[arg(long, default_value_t = 15)]
    header_read_timeout_s: u64,
    /// Seconds a client may take to send a request's body after its headers.
    #[arg(long, default_value_t = 60)]
    body_read_timeout_s: u64,
    /// Connections served at once; more wait until one closes.
    #[arg(long, default_value_t = 4096)]
    connections_max: usize,
    /// A reverse proxy (IP address, repeatable) whose `X-Forwarded-For`
    /// names the real client, for login throttling and the audit trail.
    #[arg(long = "trusted-proxy")]
    trusted_proxies: Vec<std::net::IpAddr>,
    /// Serve HTTPS with this PEM certificate chain (needs --tls-key);
    /// both files are read again on SIGHUP.
    #[arg(long, env = "KEEL_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(long, env = "KEEL_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// The key that seals secrets in the database (second-factor seeds);
    /// created if missing. Default: `<data>/secrets.key`. Keep it out of
    /// backups of the data directory.
    #[arg(long, env = "KEEL_SECRETS_KEY")]
    secrets_key: Option<PathBuf>,
    /// The ring of data keys that seal sensitive collections (personal
    /// data, pay), the current one first; created if missing. Default:
    /// `<data>/data.key`. Keep it out of backups of the data directory.
    /// KEEL_DATA_KEY (64 hex digits a key, comma-separated, the current one
    /// first) gives the keys instead.
    #[arg(long, env = "KEEL_DATA_KEY_FILE")]
    data_key_file: Option<PathBuf>,
    /// A host webhooks may be delivered to whatever addresses it resolves
    /// to (repeatable; a name or an IP address, as in endpoint URLs). By
    /// default no webhook goes to loopback, private, link-local, shared or
    /// cloud-metadata addresses.
    #[arg(long = "webhook-allow-host")]
    webhook_allow_hosts: Vec<String>,
    /// Serve `/metrics` (Prometheus text) on the main address to a scraper
    /// sending this bearer token. Without it, `/metrics` answers 404 there.
    #[arg(long, env = "KEEL_METRICS_TOKEN", hide_env_values = true)]
    metrics_token: Option<String>,
    /// Also serve `/metrics`, and nothing else, on this address, to anyone
    /// who reaches it: bind it to a private network only.
    #[arg(long, env = "KEEL_METRICS_ADDR")]
    metrics_addr: Option<SocketAddr>,
    /// Where `POST /admin/backups` (`keel backup create`) makes backups,
    /// a directory each. Default: `<data>/backups`; put it on another disk.
    #[arg(long, env = "KEEL_BACKUPS_DIR")]
    backups_dir: Option<PathBuf>,
    /// Backups kept in the backups directory: after each new one, the
    /// oldest beyond this many are removed.
    #[arg(long, default_value_t = 48)]
    backups_keep: usize,
    /// The SMTP relay scheduled reports are mailed through, `HOST[:PORT]`
    /// (port 587 unless given). Mail is always sent over STARTTLS; a relay
    /// that does not offer it is not sent to. KEEL_SMTP_USER and
    /// KEEL_SMTP_PASSWORD give credentials, if the relay wants them.
    #[arg(long, env = "KEEL_SMTP_RELAY", conflicts_with = "mail_dir")]
    smtp_relay: Option<String>,
    /// A PEM file of certificates to trust for the relay besides the
    /// webpki roots (an internal relay's own authority).
    #[arg(long, requires = "smtp_relay")]
    smtp_ca_file: Option<PathBuf>,
    /// Write mail as .eml files into this directory instead of sending it
    /// (development: `cargo xtask run` writes into `<data>/mail`).
    #[arg(long)]
    mail_dir: Option<PathBuf>,
    /// The sender of the kernel's mail.
    #[arg(long, env = "KEEL_MAIL_FROM", default_value = "Keel <keel@localhost>")]
    mail_from: String,
    /// Serve the benchmark's native baseline route
    /// (`/bench/native/{tenant}/finance/entries/{number}`); for `cargo xtask bench`.
    #[arg(long, hide = true)]
    bench_routes: bool,
}

fn parse_enable(text: &str) -> Result<(TenantId, PluginId), String> {
    let (tenant, plugin) =
        text.split_once(':').ok_or_else(|| format!("{text:?} is not TENANT:PLUGIN"))?;
    Ok((
        TenantId::new(tenant).map_err(|e| e.to_string())?,
        PluginId::new(plugin).map_err(|e| e.to_string())?,
    ))
}

fn main() -> anyhow::Result<()> {
    let cli = settings::parse(std::env::args_os().collect())?;
    init_logging(cli.log_format);
    // The client commands' HTTP client needs the kernel's TLS crypto.
    keel_gateway::install_crypto();
    // Reads run plugin calls on the blocking pool: give its threads the
    // stack that nested provider calls may need.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(keel_host::CALL_STACK_BYTES)
        .build()
        .context("starting the async runtime")?;
    match cli.command {
        Command::Serve(args) => runtime.block_on(serve(*args)),
        Command::Login { user, password, connection } => {
            runtime.block_on(client::login(&connection, &user, &password))
        }
        Command::Tenant { command, connection } => {
            runtime.block_on(client::tenant(&connection, command))
        }
        Command::User { command, connection } => {
            runtime.block_on(client::user(&connection, command))
        }
        Command::Member { command, connection } => {
            runtime.block_on(client::member(&connection, command))
        }
        Command::Audit { command, connection } => {
            runtime.block_on(client::audit(&connection, command))
        }
        Command::Plugin { command, connection } => {
            runtime.block_on(client::plugin(&connection, command))
        }
        Command::Job { command, connection } => {
            runtime.block_on(automation::job(&connection, command))
        }
        Command::Webhook { command, connection } => {
            runtime.block_on(webhooks::webhook(&connection, command))
        }
        Command::Timer { command, connection } => {
            runtime.block_on(automation::timer(&connection, command))
        }
        Command::Schedule { command, connection } => {
            runtime.block_on(automation::schedule(&connection, command))
        }
        Command::Role { command, connection } => {
            runtime.block_on(access::role(&connection, command))
        }
        Command::Sod { command, connection } => runtime.block_on(access::sod(&connection, command)),
        Command::Token { command, connection } => {
            runtime.block_on(access::token(&connection, command))
        }
        Command::Provider { command, connection } => {
            runtime.block_on(access::provider(&connection, command))
        }
        Command::DeadLetter { command, connection } => {
            runtime.block_on(access::dead_letter(&connection, command))
        }
        Command::Backup { command, connection } => {
            runtime.block_on(backups::backup(&connection, command))
        }
        Command::Restore { from, data, keys_passphrase_file, compiled_code } => {
            backups::restore(&from, &data, keys_passphrase_file.as_deref(), compiled_code)
        }
        Command::Config { command: ConfigCommand::Check { file } } => settings::check(&file),
        Command::DataKey { command: DataKeyCommand::Rotate { data, data_key_file } } => {
            if std::env::var_os("KEEL_DATA_KEY").is_some() {
                anyhow::bail!(
                    "KEEL_DATA_KEY gives the data keys, not a file: put a new key (64 hex \
                     digits) first in it, the old ones after"
                );
            }
            let path = data_key_file.unwrap_or_else(|| data.join("data.key"));
            let (new, ring) = keel::rotate_data_key(&path)?;
            client::show_line(&format!(
                "data key {new} added to {} (ring: {}); restart the kernel to seal with it",
                path.display(),
                ring.join(", ")
            ));
            Ok(())
        }
    }
}

/// The data keys `KEEL_DATA_KEY` gives, if it is set: 64 hex digits a key,
/// comma-separated, the current one first.
fn data_keys_from_env() -> anyhow::Result<Option<Vec<[u8; 32]>>> {
    let Ok(text) = std::env::var("KEEL_DATA_KEY") else { return Ok(None) };
    let keys = text
        .split(',')
        .map(|hex| keel_identity::unhex(hex.trim()).and_then(|bytes| bytes.try_into().ok()))
        .collect::<Option<Vec<[u8; 32]>>>()
        .context("KEEL_DATA_KEY holds data keys of 64 hex digits each, comma-separated")?;
    Ok(Some(keys))
}

/// How the kernel sends mail, from the flags and the environment.
fn mail_config(args: &ServeArgs) -> anyhow::Result<Option<keel::MailConfig>> {
    if let Some(dir) = &args.mail_dir {
        return Ok(Some(keel::MailConfig::Dir { dir: dir.clone(), from: args.mail_from.clone() }));
    }
    let Some(relay) = &args.smtp_relay else { return Ok(None) };
    let (host, port) = match relay.rsplit_once(':') {
        Some((host, port)) => {
            (host, port.parse().with_context(|| format!("--smtp-relay {relay}: the port"))?)
        }
        None => (relay.as_str(), 587),
    };
    let extra_roots_pem = args
        .smtp_ca_file
        .as_ref()
        .map(|path| {
            std::fs::read(path)
                .with_context(|| format!("reading --smtp-ca-file {}", path.display()))
        })
        .transpose()?;
    let credentials = match (std::env::var("KEEL_SMTP_USER"), std::env::var("KEEL_SMTP_PASSWORD")) {
        (Ok(user), Ok(password)) => Some((user, password)),
        _ => None,
    };
    Ok(Some(keel::MailConfig::Smtp(keel_mail::SmtpConfig {
        host: host.to_owned(),
        port,
        from: args.mail_from.clone(),
        credentials,
        extra_roots_pem,
    })))
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    if let Some(file) = &args.config {
        tracing::info!(file = %file.display(), "settings from the file, where neither the command line nor the environment gave them");
    }
    let config = kernel_config(args)?;
    let kernel = keel::start(config).await?;
    kernel.serve_until(shutdown_signal()).await
}

/// The kernel's configuration from `keel serve`'s settings.
fn kernel_config(args: ServeArgs) -> anyhow::Result<keel::Config> {
    let mail = mail_config(&args)?;
    let mut config = keel::Config::new(args.data);
    config.mail = mail;
    config.addr = args.addr;
    config.plugins_dir = args.plugins;
    config.demo = args.demo;
    config.enable = args.enable;
    config.admin_password = args.admin_password;
    config.bench_routes = args.bench_routes;
    config.trusted_proxies = args.trusted_proxies;
    config.secrets_key = args.secrets_key;
    config.data_key_file = args.data_key_file;
    config.data_keys = data_keys_from_env()?;
    config.webhook_allow_hosts = args.webhook_allow_hosts;
    config.metrics_token = args.metrics_token.filter(|token| !token.is_empty());
    config.metrics_addr = args.metrics_addr;
    config.backups_dir = args.backups_dir;
    config.tls = args.tls_cert.zip(args.tls_key).map(|(cert, key)| keel::TlsFiles { cert, key });
    config.http = keel::HttpLimits {
        header_read_timeout: Duration::from_secs(args.header_read_timeout_s.clamp(1, 86_400)),
        body_read_timeout: Duration::from_secs(args.body_read_timeout_s.clamp(1, 86_400)),
        connections_max: args.connections_max.max(1),
    };
    config.audit_sign_interval = (args.audit_sign_interval_s > 0)
        .then(|| std::time::Duration::from_secs(args.audit_sign_interval_s));
    config.limits = Limits {
        call_deadline: Duration::from_millis(args.call_deadline_ms),
        memory_bytes_max: args.memory_mib.saturating_mul(1024 * 1024),
        guest_memory_total_bytes: args.guest_memory_total_mib.saturating_mul(1024 * 1024),
        guest_memory_tenant_bytes: args
            .guest_memory_tenant_mib
            .unwrap_or((args.guest_memory_total_mib / 2).max(args.memory_mib))
            .saturating_mul(1024 * 1024),
        tenant_storage_bytes_max: args.tenant_storage_mib.saturating_mul(1024 * 1024),
        backups_keep: args.backups_keep.max(1),
        ..Limits::default()
    };
    Ok(config)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %err, "cannot listen for Ctrl-C; stop keel with SIGTERM");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => drop(signal.recv().await),
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    /// Clap checks a command's definition only when that command line is
    /// parsed, and panics then: this checks every one at once.
    #[test]
    fn every_command_line_is_well_formed() {
        super::Cli::command().debug_assert();
    }
}
