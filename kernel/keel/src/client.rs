//! The `keel` admin subcommands: a thin client of the kernel's HTTP admin
//! API, so the CLI can do exactly what the API allows and nothing more.

use std::path::PathBuf;

use anyhow::{Context as _, bail};
use clap::Subcommand;
use serde_json::{Value, json};

/// Where the kernel is and who is asking.
#[derive(Debug, clap::Args)]
pub(crate) struct Connection {
    /// The kernel's base URL.
    #[arg(long, env = "KEEL_URL", default_value = "http://127.0.0.1:8080", global = true)]
    url: String,
    /// A session or API token (from `keel login`).
    #[arg(long, env = "KEEL_TOKEN", hide_env_values = true, global = true)]
    token: Option<String>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum TenantCommand {
    /// List tenants.
    List,
    /// Show one tenant.
    Get { id: String },
    /// Create a tenant.
    Create {
        id: String,
        #[arg(long)]
        name: String,
    },
    /// Rename a tenant.
    Rename {
        id: String,
        #[arg(long)]
        name: String,
    },
    /// Set how much a tenant may store, in MiB, or with --reset go back to
    /// the kernel's default (keel serve --tenant-storage-mib).
    Quota {
        id: String,
        #[arg(long, required_unless_present = "reset")]
        mib: Option<u64>,
        #[arg(long, conflicts_with = "mib")]
        reset: bool,
    },
    /// Delete a tenant that never had plugins.
    Delete { id: String },
}

#[derive(Debug, Subcommand)]
pub(crate) enum UserCommand {
    /// List users.
    List,
    /// Create a user; the password comes from KEEL_NEW_PASSWORD.
    Create {
        id: String,
        #[arg(long)]
        name: String,
        #[arg(long, env = "KEEL_NEW_PASSWORD", hide_env_values = true)]
        password: String,
    },
    /// Delete a user and their memberships.
    Delete { id: String },
}

#[derive(Debug, Subcommand)]
pub(crate) enum MemberCommand {
    /// List a tenant's members.
    List { tenant: String },
    /// Replace a user's roles in a tenant (no --role removes them all).
    Set {
        tenant: String,
        user: String,
        #[arg(long = "role")]
        roles: Vec<String>,
    },
    /// Remove a user from a tenant.
    Remove { tenant: String, user: String },
}

/// Which audit entries: of one actor, plugin or action.
#[derive(Debug, clap::Args)]
pub(crate) struct AuditFilter {
    #[arg(long)]
    actor: Option<String>,
    #[arg(long)]
    plugin: Option<String>,
    #[arg(long)]
    action: Option<String>,
}

impl AuditFilter {
    /// `&actor=…&plugin=…&action=…`, of those given.
    fn query(&self) -> String {
        [("actor", &self.actor), ("plugin", &self.plugin), ("action", &self.action)]
            .into_iter()
            .filter_map(|(name, value)| value.as_ref().map(|v| format!("&{name}={v}")))
            .collect()
    }
}

#[derive(Debug, Subcommand)]
pub(crate) enum AuditCommand {
    /// List a tenant's audit entries (oldest first).
    List {
        tenant: String,
        #[command(flatten)]
        filter: AuditFilter,
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
    /// Check a tenant's whole chain; with --entries and --head from an
    /// earlier verify, also detect truncation. Exits 1 if it is broken.
    Verify {
        tenant: String,
        #[arg(long, requires = "head")]
        entries: Option<u64>,
        #[arg(long, requires = "entries")]
        head: Option<String>,
    },
    /// Export a tenant's audit trail (or the entries of one actor, plugin
    /// or action) as JSON lines or CSV, every page of it, to stdout or a
    /// file; progress goes to stderr.
    Export {
        tenant: String,
        /// `jsonl` (one entry a line, as the kernel signs it) or `csv`.
        #[arg(long, default_value = "jsonl", value_parser = ["jsonl", "csv"])]
        format: String,
        #[command(flatten)]
        filter: AuditFilter,
        /// Write here instead of stdout.
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Print the signed heads the kernel kept for a tenant's chain, one
    /// JSON line each (keep them elsewhere); with --sign, sign the current
    /// head first.
    Heads {
        tenant: String,
        #[arg(long)]
        sign: bool,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum PluginCommand {
    /// List installed packages.
    List,
    /// Install a package from a .wasm file.
    Install { file: PathBuf },
    /// Show what a package declares and imports.
    Inspect { id: String, version: String },
    /// Enable a plugin for a tenant (newest installed version unless --version).
    Enable {
        tenant: String,
        plugin: String,
        #[arg(long)]
        version: Option<String>,
        /// Run the migration and report, then roll everything back.
        #[arg(long)]
        dry_run: bool,
    },
    /// Move a tenant to a newer version, running its migration.
    Upgrade {
        tenant: String,
        plugin: String,
        #[arg(long)]
        version: String,
        #[arg(long)]
        dry_run: bool,
    },
    /// Stop a plugin serving a tenant; its data is kept.
    Disable { tenant: String, plugin: String },
}

impl Connection {
    pub(crate) async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Body>,
    ) -> anyhow::Result<Value> {
        let (_, bytes) = self.exchange(method, path, body).await?;
        Ok(if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or(Value::Null)
        })
    }

    /// `GET path`: the answer's headers and body as they came.
    pub(crate) async fn get_raw(
        &self,
        path: &str,
    ) -> anyhow::Result<(reqwest::header::HeaderMap, Vec<u8>)> {
        self.exchange(reqwest::Method::GET, path, None).await
    }

    /// One exchange with the kernel: the answer's headers and body, or its
    /// failure in words.
    async fn exchange(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Body>,
    ) -> anyhow::Result<(reqwest::header::HeaderMap, Vec<u8>)> {
        let url = format!("{}{path}", self.url.trim_end_matches('/'));
        let mut request = reqwest::Client::new().request(method.clone(), &url);
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        request = match body {
            Some(Body::Json(value)) => {
                request.header("content-type", "application/json").body(value.to_string())
            }
            Some(Body::Wasm(bytes)) => {
                request.header("content-type", "application/wasm").body(bytes)
            }
            None => request,
        };
        let response = request.send().await.with_context(|| {
            format!("cannot reach keel at {url}; is it running? (--url or KEEL_URL)")
        })?;
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.context("reading the response")?.to_vec();
        if !status.is_success() {
            let value: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            let detail = value["detail"].as_str().unwrap_or("no detail");
            let hint = if status == reqwest::StatusCode::UNAUTHORIZED {
                " (log in with `keel login` and set KEEL_TOKEN)"
            } else {
                ""
            };
            bail!("{method} {path} failed with {status}: {detail}{hint}");
        }
        Ok((headers, bytes))
    }
}

pub(crate) enum Body {
    Json(Value),
    Wasm(Vec<u8>),
}

/// `keel login`: prints a session token for KEEL_TOKEN.
pub(crate) async fn login(
    connection: &Connection,
    user: &str,
    password: &str,
) -> anyhow::Result<()> {
    let body = json!({ "user": user, "password": password });
    let session =
        connection.send(reqwest::Method::POST, "/auth/login", Some(Body::Json(body))).await?;
    let token = session["token"].as_str().context("the kernel answered no token")?;
    show_line(token);
    Ok(())
}

pub(crate) async fn tenant(connection: &Connection, command: TenantCommand) -> anyhow::Result<()> {
    use reqwest::Method;
    let value = match command {
        TenantCommand::List => {
            connection.send(Method::GET, "/admin/tenants?limit=1000", None).await?
        }
        TenantCommand::Get { id } => {
            connection.send(Method::GET, &format!("/admin/tenants/{id}"), None).await?
        }
        TenantCommand::Create { id, name } => {
            let body = json!({ "id": id, "name": name });
            connection.send(Method::POST, "/admin/tenants", Some(Body::Json(body))).await?
        }
        TenantCommand::Rename { id, name } => {
            let body = Body::Json(json!({ "name": name }));
            connection.send(Method::PATCH, &format!("/admin/tenants/{id}"), Some(body)).await?
        }
        TenantCommand::Quota { id, mib, reset } => {
            let path = format!("/admin/tenants/{id}/storage-quota");
            match mib.filter(|_| !reset) {
                Some(mib) => {
                    let body = json!({ "storage_bytes": mib.saturating_mul(1024 * 1024) });
                    connection.send(Method::PUT, &path, Some(Body::Json(body))).await?
                }
                None => connection.send(Method::DELETE, &path, None).await?,
            }
        }
        TenantCommand::Delete { id } => {
            connection.send(Method::DELETE, &format!("/admin/tenants/{id}"), None).await?
        }
    };
    show(&value)
}

pub(crate) async fn user(connection: &Connection, command: UserCommand) -> anyhow::Result<()> {
    use reqwest::Method;
    let value = match command {
        UserCommand::List => connection.send(Method::GET, "/admin/users?limit=1000", None).await?,
        UserCommand::Create { id, name, password } => {
            let body = json!({ "id": id, "name": name, "password": password });
            connection.send(Method::POST, "/admin/users", Some(Body::Json(body))).await?
        }
        UserCommand::Delete { id } => {
            connection.send(Method::DELETE, &format!("/admin/users/{id}"), None).await?
        }
    };
    show(&value)
}

pub(crate) async fn member(connection: &Connection, command: MemberCommand) -> anyhow::Result<()> {
    use reqwest::Method;
    let value = match command {
        MemberCommand::List { tenant } => {
            connection
                .send(Method::GET, &format!("/admin/tenants/{tenant}/members?limit=1000"), None)
                .await?
        }
        MemberCommand::Set { tenant, user, roles } => {
            let body = json!({ "roles": roles });
            connection
                .send(
                    Method::PUT,
                    &format!("/admin/tenants/{tenant}/members/{user}"),
                    Some(Body::Json(body)),
                )
                .await?
        }
        MemberCommand::Remove { tenant, user } => {
            connection
                .send(Method::DELETE, &format!("/admin/tenants/{tenant}/members/{user}"), None)
                .await?
        }
    };
    show(&value)
}

pub(crate) async fn plugin(connection: &Connection, command: PluginCommand) -> anyhow::Result<()> {
    use reqwest::Method;
    let enable = |tenant: String, plugin: String, version: Option<String>, dry_run: bool| {
        let body = json!({ "version": version, "dry_run": dry_run });
        (format!("/admin/tenants/{tenant}/plugins/{plugin}"), Body::Json(body))
    };
    let value = match command {
        PluginCommand::List => {
            connection.send(Method::GET, "/admin/packages?limit=1000", None).await?
        }
        PluginCommand::Install { file } => {
            let wasm =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            connection.send(Method::POST, "/admin/packages", Some(Body::Wasm(wasm))).await?
        }
        PluginCommand::Inspect { id, version } => {
            connection.send(Method::GET, &format!("/admin/packages/{id}/{version}"), None).await?
        }
        PluginCommand::Enable { tenant, plugin, version, dry_run } => {
            let (path, body) = enable(tenant, plugin, version, dry_run);
            connection.send(Method::PUT, &path, Some(body)).await?
        }
        PluginCommand::Upgrade { tenant, plugin, version, dry_run } => {
            let (path, body) = enable(tenant, plugin, Some(version), dry_run);
            connection.send(Method::PUT, &path, Some(body)).await?
        }
        PluginCommand::Disable { tenant, plugin } => {
            connection
                .send(Method::DELETE, &format!("/admin/tenants/{tenant}/plugins/{plugin}"), None)
                .await?
        }
    };
    show(&value)
}

pub(crate) async fn audit(connection: &Connection, command: AuditCommand) -> anyhow::Result<()> {
    use reqwest::Method;
    match command {
        AuditCommand::List { tenant, filter, limit } => {
            let path = format!("/admin/tenants/{tenant}/audit?limit={limit}{}", filter.query());
            show(&connection.send(Method::GET, &path, None).await?)
        }
        AuditCommand::Verify { tenant, entries, head } => {
            let mut path = format!("/admin/tenants/{tenant}/audit/verify");
            if let (Some(n), Some(head)) = (entries, head) {
                path.push_str(&format!("?entries={n}&head={head}"));
            }
            let verdict = connection.send(Method::GET, &path, None).await?;
            show(&verdict)?;
            if verdict["ok"] != Value::Bool(true) {
                bail!(
                    "the audit chain of {tenant} is broken at entry {}: {}",
                    verdict["broken_at"],
                    verdict["reason"]
                );
            }
            Ok(())
        }
        AuditCommand::Export { tenant, format, filter, output } => {
            export_audit(connection, &tenant, &format, &filter.query(), output.as_deref()).await
        }
        AuditCommand::Heads { tenant, sign } => {
            let path = format!("/admin/tenants/{tenant}/audit/heads");
            if sign {
                connection.send(Method::POST, &path, None).await?;
            }
            let kept = connection.send(Method::GET, &path, None).await?;
            for head in kept["heads"].as_array().into_iter().flatten() {
                show_line(&serde_json::to_string(head)?);
            }
            Ok(())
        }
    }
}

/// Follows the export's pages (`x-keel-next`) to the end of the trail,
/// writing each (a CSV's header once) and saying on stderr how far it got.
async fn export_audit(
    connection: &Connection,
    tenant: &str,
    format: &str,
    filters: &str,
    output: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut out: Box<dyn std::io::Write> = match output {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?,
        )),
        None => Box::new(std::io::stdout().lock()),
    };
    let (mut from, mut entries, mut first) = (1u64, 0usize, true);
    loop {
        let path =
            format!("/admin/tenants/{tenant}/audit/export?format={format}&from={from}{filters}");
        let (headers, body) = connection.get_raw(&path).await?;
        let mut page = body.as_slice();
        if format == "csv" && !first {
            // The header row, once.
            let end = page.iter().position(|b| *b == b'\n').map_or(page.len(), |i| i + 1);
            page = &page[end..];
        }
        entries += page.split(|b| *b == b'\n').filter(|line| !line.is_empty()).count();
        if format == "csv" && first {
            entries = entries.saturating_sub(1);
        }
        out.write_all(page).context("writing the export")?;
        first = false;
        progress(&format!("exported {entries} entries of {tenant}'s audit trail"));
        let next = headers.get("x-keel-next").and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
        match next {
            Some(next) if next > from => from = next,
            _ => break,
        }
    }
    out.flush().context("writing the export")?;
    Ok(())
}

#[expect(clippy::print_stderr, reason = "progress goes beside the answer, not into it")]
fn progress(text: &str) {
    eprintln!("{text}");
}

pub(crate) fn show(value: &Value) -> anyhow::Result<()> {
    if !value.is_null() {
        show_line(&serde_json::to_string_pretty(value)?);
    }
    Ok(())
}

#[expect(clippy::print_stdout, reason = "the CLI's output is its answer")]
pub(crate) fn show_line(text: &str) {
    println!("{text}");
}
