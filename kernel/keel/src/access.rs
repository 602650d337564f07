//! The admin subcommands of who may do what in a tenant: its own roles,
//! its segregation-of-duties rules, its API tokens, the providers of its
//! domain interfaces, and its dead letters. Each only calls the admin API.

use clap::Subcommand;
use serde_json::json;

use crate::client::{Body, Connection, show};

#[derive(Debug, Subcommand)]
pub(crate) enum RoleCommand {
    /// List the roles grantable in a tenant (its plugins' and its own) and
    /// what each grants.
    List { tenant: String },
    /// Show one role.
    Get { tenant: String, role: String },
    /// Define a tenant's own role, or redefine it, from permissions.
    Define {
        tenant: String,
        role: String,
        #[arg(long = "permission", required = true)]
        permissions: Vec<String>,
    },
    /// Delete a tenant's own role that nobody holds.
    Delete { tenant: String, role: String },
}

#[derive(Debug, Subcommand)]
pub(crate) enum SodCommand {
    /// List a tenant's segregation-of-duties rules.
    List { tenant: String },
    /// Define a rule: no principal may hold all these permissions at once.
    Put {
        tenant: String,
        rule: String,
        #[arg(long = "permission", required = true)]
        permissions: Vec<String>,
    },
    /// Delete a rule.
    Delete { tenant: String, rule: String },
}

#[derive(Debug, Subcommand)]
pub(crate) enum TokenCommand {
    /// List a tenant's API tokens (never their secrets).
    List { tenant: String },
    /// Create an API token with roles; its secret is printed this once.
    Create {
        tenant: String,
        #[arg(long)]
        name: String,
        #[arg(long = "role", required = true)]
        roles: Vec<String>,
        #[arg(long, default_value_t = 90)]
        expires_in_days: u32,
    },
    /// Revoke a token at once.
    Revoke { tenant: String, id: String },
}

#[derive(Debug, Subcommand)]
pub(crate) enum ProviderCommand {
    /// List each domain interface of a tenant with its provider, the
    /// plugins that could provide it and those that need it.
    List { tenant: String },
    /// Choose the enabled plugin that provides an interface.
    Choose { tenant: String, interface: String, plugin: String },
}

#[derive(Debug, Subcommand)]
pub(crate) enum DeadLetterCommand {
    /// List a tenant's events that could not be delivered after every retry.
    List { tenant: String },
    /// Show one dead letter.
    Get { tenant: String, id: String },
    /// Deliver a dead letter again; it goes once delivered.
    Replay { tenant: String, id: String },
}

pub(crate) async fn role(connection: &Connection, command: RoleCommand) -> anyhow::Result<()> {
    use reqwest::Method;
    let at = |tenant: &str, role: &str| format!("/admin/tenants/{tenant}/roles/{role}");
    let value = match command {
        RoleCommand::List { tenant } => {
            connection.send(Method::GET, &format!("/admin/tenants/{tenant}/roles"), None).await?
        }
        RoleCommand::Get { tenant, role } => {
            connection.send(Method::GET, &at(&tenant, &role), None).await?
        }
        RoleCommand::Define { tenant, role, permissions } => {
            let body = Body::Json(json!({ "permissions": permissions }));
            connection.send(Method::PUT, &at(&tenant, &role), Some(body)).await?
        }
        RoleCommand::Delete { tenant, role } => {
            connection.send(Method::DELETE, &at(&tenant, &role), None).await?
        }
    };
    show(&value)
}

pub(crate) async fn sod(connection: &Connection, command: SodCommand) -> anyhow::Result<()> {
    use reqwest::Method;
    let at = |tenant: &str, rule: &str| format!("/admin/tenants/{tenant}/sod/{rule}");
    let value = match command {
        SodCommand::List { tenant } => {
            connection.send(Method::GET, &format!("/admin/tenants/{tenant}/sod"), None).await?
        }
        SodCommand::Put { tenant, rule, permissions } => {
            let body = Body::Json(json!({ "permissions": permissions }));
            connection.send(Method::PUT, &at(&tenant, &rule), Some(body)).await?
        }
        SodCommand::Delete { tenant, rule } => {
            connection.send(Method::DELETE, &at(&tenant, &rule), None).await?
        }
    };
    show(&value)
}

pub(crate) async fn token(connection: &Connection, command: TokenCommand) -> anyhow::Result<()> {
    use reqwest::Method;
    let value = match command {
        TokenCommand::List { tenant } => {
            let path = format!("/admin/tenants/{tenant}/tokens?limit=1000");
            connection.send(Method::GET, &path, None).await?
        }
        TokenCommand::Create { tenant, name, roles, expires_in_days } => {
            let body = json!({ "name": name, "roles": roles, "expires_in_days": expires_in_days });
            let path = format!("/admin/tenants/{tenant}/tokens");
            connection.send(Method::POST, &path, Some(Body::Json(body))).await?
        }
        TokenCommand::Revoke { tenant, id } => {
            let path = format!("/admin/tenants/{tenant}/tokens/{id}");
            connection.send(Method::DELETE, &path, None).await?
        }
    };
    show(&value)
}

pub(crate) async fn provider(
    connection: &Connection,
    command: ProviderCommand,
) -> anyhow::Result<()> {
    use reqwest::Method;
    let value = match command {
        ProviderCommand::List { tenant } => {
            let path = format!("/admin/tenants/{tenant}/providers");
            connection.send(Method::GET, &path, None).await?
        }
        ProviderCommand::Choose { tenant, interface, plugin } => {
            let body = json!({ "interface": interface, "plugin": plugin });
            let path = format!("/admin/tenants/{tenant}/providers");
            connection.send(Method::PUT, &path, Some(Body::Json(body))).await?
        }
    };
    show(&value)
}

pub(crate) async fn dead_letter(
    connection: &Connection,
    command: DeadLetterCommand,
) -> anyhow::Result<()> {
    use reqwest::Method;
    let at = |tenant: &str, id: &str| format!("/admin/tenants/{tenant}/dead-letters/{id}");
    let value = match command {
        DeadLetterCommand::List { tenant } => {
            let path = format!("/admin/tenants/{tenant}/dead-letters?limit=1000");
            connection.send(Method::GET, &path, None).await?
        }
        DeadLetterCommand::Get { tenant, id } => {
            connection.send(Method::GET, &at(&tenant, &id), None).await?
        }
        DeadLetterCommand::Replay { tenant, id } => {
            let path = format!("{}/replay", at(&tenant, &id));
            connection.send(Method::POST, &path, None).await?
        }
    };
    show(&value)
}
