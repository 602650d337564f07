//! `keel webhook`: a tenant's webhooks through the admin API. The secret a
//! webhook signs with is printed once, when it is created or rotated.

use clap::Subcommand;
use reqwest::Method;
use serde_json::{Value, json};

use crate::client::{Body, Connection, show, show_line};

#[derive(Debug, Subcommand)]
pub(crate) enum WebhookCommand {
    /// List a tenant's webhooks.
    List {
        #[arg(long, env = "KEEL_TENANT", default_value = "demo")]
        tenant: String,
    },
    /// Subscribe an endpoint to event topics; prints its secret, once.
    Create {
        /// The http or https endpoint deliveries are posted to.
        endpoint: String,
        /// An event topic to receive, `<plugin>.<name>` (repeatable).
        #[arg(long = "topic", required = true)]
        topics: Vec<String>,
        /// What it is for.
        #[arg(long, default_value = "")]
        description: String,
        #[arg(long, env = "KEEL_TENANT", default_value = "demo")]
        tenant: String,
    },
    /// Show one webhook, with how far each topic is delivered.
    Get {
        id: u64,
        #[arg(long, env = "KEEL_TENANT", default_value = "demo")]
        tenant: String,
    },
    /// Change a webhook's endpoint, topics or description.
    Update {
        id: u64,
        /// A new endpoint.
        #[arg(long = "endpoint")]
        endpoint: Option<String>,
        /// The whole new set of topics (repeatable).
        #[arg(long = "topic")]
        topics: Vec<String>,
        #[arg(long)]
        description: Option<String>,
        #[arg(long, env = "KEEL_TENANT", default_value = "demo")]
        tenant: String,
    },
    /// Pause a webhook's deliveries; its events wait.
    Pause {
        id: u64,
        #[arg(long, env = "KEEL_TENANT", default_value = "demo")]
        tenant: String,
    },
    /// Resume a paused webhook's deliveries.
    Resume {
        id: u64,
        #[arg(long, env = "KEEL_TENANT", default_value = "demo")]
        tenant: String,
    },
    /// Give a webhook a new secret; prints it, once.
    RotateSecret {
        id: u64,
        #[arg(long, env = "KEEL_TENANT", default_value = "demo")]
        tenant: String,
    },
    /// Delete a webhook.
    Delete {
        id: u64,
        #[arg(long, env = "KEEL_TENANT", default_value = "demo")]
        tenant: String,
    },
}

pub(crate) async fn webhook(
    connection: &Connection,
    command: WebhookCommand,
) -> anyhow::Result<()> {
    let one = |tenant: &str, id: u64| format!("/admin/tenants/{tenant}/webhooks/{id}");
    match command {
        WebhookCommand::List { tenant } => {
            let path = format!("/admin/tenants/{tenant}/webhooks?limit=1000");
            let page = connection.send(Method::GET, &path, None).await?;
            for webhook in page["webhooks"].as_array().into_iter().flatten() {
                let topics: Vec<&str> = webhook["topics"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .collect();
                show_line(&format!(
                    "{}  {}  {}  [{}]",
                    webhook["id"],
                    if webhook["active"] == json!(true) { "active" } else { "paused" },
                    webhook["url"].as_str().unwrap_or("?"),
                    topics.join(", "),
                ));
            }
            Ok(())
        }
        WebhookCommand::Create { endpoint, topics, description, tenant } => {
            let body = json!({ "url": endpoint, "topics": topics, "description": description });
            let path = format!("/admin/tenants/{tenant}/webhooks");
            show(&connection.send(Method::POST, &path, Some(Body::Json(body))).await?)
        }
        WebhookCommand::Get { id, tenant } => {
            show(&connection.send(Method::GET, &one(&tenant, id), None).await?)
        }
        WebhookCommand::Update { id, endpoint, topics, description, tenant } => {
            let mut body = serde_json::Map::new();
            if let Some(endpoint) = endpoint {
                body.insert("url".to_owned(), json!(endpoint));
            }
            if !topics.is_empty() {
                body.insert("topics".to_owned(), json!(topics));
            }
            if let Some(description) = description {
                body.insert("description".to_owned(), json!(description));
            }
            if body.is_empty() {
                anyhow::bail!("nothing to change: give --endpoint, --topic or --description");
            }
            show(&change(connection, &one(&tenant, id), Value::Object(body)).await?)
        }
        WebhookCommand::Pause { id, tenant } => {
            show(&change(connection, &one(&tenant, id), json!({ "active": false })).await?)
        }
        WebhookCommand::Resume { id, tenant } => {
            show(&change(connection, &one(&tenant, id), json!({ "active": true })).await?)
        }
        WebhookCommand::RotateSecret { id, tenant } => {
            let path = format!("{}/rotate-secret", one(&tenant, id));
            show(&connection.send(Method::POST, &path, None).await?)
        }
        WebhookCommand::Delete { id, tenant } => {
            connection.send(Method::DELETE, &one(&tenant, id), None).await?;
            show_line(&format!("webhook {id} deleted"));
            Ok(())
        }
    }
}

async fn change(connection: &Connection, path: &str, body: Value) -> anyhow::Result<Value> {
    connection.send(Method::PATCH, path, Some(Body::Json(body))).await
}
