//! OpenAPI 3.1 documents: the admin API's, generated from the handlers'
//! annotations, and each tenant's, built from the manifests of the plugins
//! it has enabled.

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use keel_manifest::Part;
use keel_platform::Plugin;
use keel_types::TenantId;
use serde_json::{Value, json};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::admin;
use crate::problem::Problem;
use crate::state::AppState;

/// The routes of this module.
pub(crate) fn routes() -> axum::Router<AppState> {
    use axum::routing::get;
    axum::Router::new()
        .route("/admin/openapi.json", get(admin))
        .route("/api/{tenant}/openapi.json", get(tenant))
}

/// The admin API, described from the handlers.
#[derive(OpenApi)]
#[openapi(
    info(title = "Keel admin API", description = "Tenants, users, roles, API tokens, plugin packages, automation (timers, schedules, jobs), webhooks and backups. Errors are RFC 9457 problem documents."),
    paths(
        crate::auth::login, crate::auth::logout, crate::auth::totp_enrol, crate::auth::totp_confirm,
        admin::tenants, admin::create_tenant, admin::tenant, admin::update_tenant, admin::delete_tenant,
        admin::set_storage_quota, admin::reset_storage_quota,
        admin::users, admin::create_user, admin::user, admin::update_user, admin::delete_user, admin::member, admin::remove_member, admin::token,
        admin::members, admin::set_roles, admin::roles, admin::define_role, admin::role, admin::delete_role, admin::delete_sod_rule, admin::sod_rules, admin::put_sod_rule, admin::audit, admin::audit_verify, admin::platform_audit, admin::platform_audit_verify, admin::audit_export, admin::audit_head, admin::kept_heads, admin::keep_head, admin::platform_kept_heads, admin::tokens, admin::create_token, admin::revoke_token,
        admin::packages, admin::install_package, admin::package, admin::enable_plugin, admin::disable_plugin, admin::providers, admin::choose_provider,
        admin::dead_letters, admin::dead_letter, admin::replay_dead_letter,
        admin::timers, admin::dead_timers, admin::retry_dead_timer,
        admin::schedules, admin::run_schedule,
        admin::jobs, admin::job, admin::cancel_job,
        admin::backups, admin::create_backup, admin::backup_progress,
        admin::webhooks, admin::create_webhook, admin::webhook, admin::update_webhook, admin::rotate_webhook_secret, admin::delete_webhook,
    ),
    components(schemas(crate::auth::Login, crate::auth::Code, admin::NewTenant, admin::NewUser, admin::Roles, admin::NewToken, admin::Enable, admin::Provider, admin::Permissions, admin::TenantUpdate, admin::StorageQuota, admin::UserUpdate, admin::NewWebhookBody, admin::WebhookUpdate, admin::WebhookBody, admin::WebhookSecret, admin::TopicBody, admin::NewBackup, admin::BackupProgress, admin::ProgressBody, admin::BackupBody, admin::BackupPage)),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
)]
struct AdminApi;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components
            .add_security_scheme("bearer", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
    }
}

/// `GET /admin/openapi.json`: public, like the contract it describes.
pub(crate) async fn admin() -> Response {
    match admin_document() {
        Ok(document) => Json(document).into_response(),
        Err(err) => Problem::internal(&err).into_response(),
    }
}

/// The admin API's document.
fn admin_document() -> Result<Value, serde_json::Error> {
    let mut document = serde_json::to_value(AdminApi::openapi())?;
    declare_paging(&mut document);
    declare_problems(&mut document);
    Ok(document)
}

/// Every list's `?limit=` declared by the one rule (the annotations name
/// only its type).
fn declare_paging(document: &mut Value) {
    let [limit, _] = paging_parameters();
    for operation in operations(document) {
        let Some(parameters) = operation.get_mut("parameters").and_then(Value::as_array_mut) else {
            continue;
        };
        for parameter in parameters {
            if parameter["name"] == "limit" && parameter["in"] == "query" {
                parameter.clone_from(&limit);
            }
        }
    }
}

/// `GET /api/{tenant}/openapi.json`: the operations of the plugins the
/// tenant has enabled; readable by anyone who holds a role there.
pub(crate) async fn tenant(
    State(state): State<AppState>,
    headers: HeaderMap,
    tenant: Result<Path<String>, PathRejection>,
) -> Response {
    let result = async {
        let tenant = tenant.map_err(|err| Problem::bad_request(err.body_text()))?.0;
        let tenant = TenantId::new(tenant).map_err(|err| Problem::not_found(err.to_string()))?;
        let principal = state
            .platform
            .authenticate(crate::extract::bearer(&headers))
            .map_err(Problem::from_platform)?;
        state
            .platform
            .authorize_member(&principal, &tenant)
            .await
            .map_err(Problem::from_platform)?;
        Ok::<_, Problem>(
            Json(tenant_document(&tenant, &state.platform.host().enabled_plugins(&tenant)))
                .into_response(),
        )
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

/// Every admin operation answers its failures as RFC 9457 problems: the
/// statuses its annotations name are described there, and every other
/// one (`default`) is a problem document too.
fn declare_problems(document: &mut Value) {
    document["components"]["schemas"]["Problem"] = problem_schema();
    for operation in operations(document) {
        let Some(responses) = operation.get_mut("responses").and_then(Value::as_object_mut) else {
            continue;
        };
        for (status, response) in responses.iter_mut() {
            let failure = status.starts_with('4') || status.starts_with('5');
            if failure && response.get("content").is_none() {
                response["content"] = problem_content();
            }
        }
        responses.entry("default").or_insert_with(
            || json!({ "description": "An RFC 9457 problem", "content": problem_content() }),
        );
    }
}

/// Every operation of a document (the values under each path), to change.
fn operations(document: &mut Value) -> impl Iterator<Item = &mut Value> {
    let paths = document.get_mut("paths").and_then(Value::as_object_mut);
    paths
        .into_iter()
        .flat_map(|paths| paths.values_mut())
        .filter_map(Value::as_object_mut)
        .flat_map(|path| path.values_mut())
}

fn problem_content() -> Value {
    json!({ "application/problem+json": { "schema": { "$ref": "#/components/schemas/Problem" } } })
}

fn problem_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "type": { "type": "string" }, "title": { "type": "string" },
            "status": { "type": "integer" }, "detail": { "type": "string" },
            "errors": {
                "description": "For a request that does not fit its operation's schema: each value at fault, by JSON pointer.",
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": { "pointer": { "type": "string" }, "detail": { "type": "string" } },
                    "required": ["pointer", "detail"],
                },
            },
        },
        "required": ["type", "title", "status", "detail"],
    })
}

/// `?limit=` and `?cursor=`, by the rule of every list.
fn paging_parameters() -> [Value; 2] {
    use keel_values::page::{LIMIT_DEFAULT, LIMIT_MAX};
    [
        json!({
            "name": "limit", "in": "query", "required": false,
            "description": format!("Items in the page: 1 to {LIMIT_MAX}, {LIMIT_DEFAULT} when absent."),
            "schema": { "type": "integer", "minimum": 1, "maximum": LIMIT_MAX, "default": LIMIT_DEFAULT },
        }),
        json!({
            "name": "cursor", "in": "query", "required": false,
            "description": "The `cursor` of the previous page; the first page without it. The last page's `cursor` is null.",
            "schema": { "type": "string" },
        }),
    ]
}

/// Builds a tenant's document from its plugins' manifests.
pub(crate) fn tenant_document(tenant: &TenantId, plugins: &[std::sync::Arc<Plugin>]) -> Value {
    let mut paths = serde_json::Map::new();
    let mut schemas = serde_json::Map::new();
    for plugin in plugins {
        let manifest = plugin.manifest();
        let contract = plugin.contract();
        let typed = |value: &Value| published(value, manifest.id.as_str());
        for (name, schema) in contract.definitions() {
            schemas.insert(format!("{}.{name}", manifest.id), typed(schema));
        }
        for op in &manifest.operations {
            let path = format!("/{}{}", manifest.id, op.path);
            let mut parameters: Vec<Value> = op
                .path
                .params()
                .map(|name| json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string" } }))
                .collect();
            if op.method.writes() {
                parameters.push(json!({
                    "name": "Idempotency-Key", "in": "header", "required": false,
                    "description": "Send the request again with the same key after an ambiguous failure: the first success's answer comes back (with `Idempotent-Replayed: true`) and nothing runs twice. Kept for a day; 1 to 255 visible ASCII characters.",
                    "schema": { "type": "string", "minLength": 1, "maxLength": 255 },
                }));
            }
            if op.paged {
                parameters.extend(paging_parameters());
            }
            for (name, schema, required) in contract.query_parameters(&op.id) {
                if !parameters.iter().any(|p| p["name"] == name && p["in"] == "query") {
                    let description = schema.get("description").cloned().unwrap_or(Value::Null);
                    let mut parameter = json!({ "name": name, "in": "query", "required": required, "schema": typed(schema) });
                    if description.is_string() {
                        parameter["description"] = description;
                    }
                    parameters.push(parameter);
                }
            }
            let mut operation = json!({
                "operationId": format!("{}.{}", manifest.id, op.id),
                "summary": op.summary,
                "tags": [manifest.id.as_str()],
                "description": format!("Requires permission `{}`.", op.permission),
                "x-keel-permission": op.permission,
                "parameters": parameters,
                "responses": {
                    "2XX": { "description": "Success", "content": { "application/json": { "schema": {} } } },
                    "default": { "description": "An RFC 9457 problem", "content": problem_content() },
                },
            });
            if op.method.writes() {
                operation["requestBody"] = match contract.schema(&op.id, Part::Request) {
                    Some(body) => {
                        json!({ "required": true, "content": { "application/json": { "schema": typed(body) } } })
                    }
                    None => {
                        json!({ "content": { "application/json": { "schema": { "type": "object" } } } })
                    }
                };
            }
            if op.job {
                operation["description"] = json!(format!(
                    "Requires permission `{}`. A background job: answers 202 with the job at once; `Location` is where to follow its progress.",
                    op.permission
                ));
                operation["x-keel-job"] = json!(true);
                operation["responses"] = json!({
                    "202": { "description": "The job, queued", "headers": { "Location": { "schema": { "type": "string" }, "description": "`/api/{tenant}/jobs/{id}`" } }, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Job" } } } },
                    "default": { "description": "An RFC 9457 problem", "content": problem_content() },
                });
            }
            if let Some(export) = &op.export {
                let columns: Vec<&str> = export.columns.iter().map(|c| c.name.as_str()).collect();
                operation["responses"]["2XX"]["content"]["text/csv"] = json!({
                    "schema": { "type": "string", "description": format!("Columns: {}", columns.join(", ")) },
                });
                operation["responses"]["2XX"]["content"]["application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"] = json!({
                    "schema": { "type": "string", "format": "binary", "description": format!("A workbook; columns: {}", columns.join(", ")) },
                });
                operation["responses"]["2XX"]["content"]["application/pdf"] = json!({
                    "schema": { "type": "string", "format": "binary", "description": format!("Pages for printing; columns: {}", columns.join(", ")) },
                });
                if let Some(parameters) = operation["parameters"].as_array_mut() {
                    parameters.push(json!({
                        "name": "format", "in": "query", "required": false,
                        "description": "`csv`, `xlsx` or `pdf` for the answer as CSV, a workbook or pages for printing (as an `Accept` header naming one does); `json` by default.",
                        "schema": { "type": "string", "enum": ["json", "csv", "xlsx", "pdf"] },
                    }));
                }
            }
            if let Some(answer) = contract.schema(&op.id, Part::Response)
                && let Some(responses) = operation["responses"].as_object_mut()
                && let Some(mut success) = responses.remove("2XX")
            {
                // Typed: the statuses a success answers with (a write
                // may have made something, or started it), each with the
                // answer's schema (and the export formats, if any).
                success["content"]["application/json"]["schema"] = typed(answer);
                if op.method.writes() {
                    responses.insert("201".to_owned(), success.clone());
                    responses.insert("202".to_owned(), success.clone());
                }
                responses.insert("200".to_owned(), success);
            }
            let entry = paths.entry(path).or_insert_with(|| json!({}));
            entry[op.method.as_str().to_ascii_lowercase()] = operation;
        }
    }
    if plugins.iter().any(|p| p.manifest().operations.iter().any(|op| op.job)) {
        let problem = json!({ "description": "An RFC 9457 problem", "content": problem_content() });
        let id = json!([{ "name": "id", "in": "path", "required": true, "schema": { "type": "string", "format": "uuid" } }]);
        let job = json!({ "description": "The job", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Job" } } } });
        paths.insert("/jobs/{id}".to_owned(), json!({ "get": {
            "operationId": "jobs.get", "tags": ["jobs"], "summary": "A background job: state, progress, times, error and result",
            "description": "Readable by whoever may call the job's operation.",
            "parameters": id, "responses": { "200": job, "default": problem },
        } }));
        paths.insert("/jobs/{id}/cancel".to_owned(), json!({ "post": {
            "operationId": "jobs.cancel", "tags": ["jobs"], "summary": "Cancels a job between steps; 409 once it has ended",
            "description": "Allowed to whoever may call the job's operation.",
            "parameters": id, "responses": { "200": job, "default": problem },
        } }));
    }
    let mut document = json!({
        "openapi": "3.1.0",
        "info": { "title": format!("Keel API of tenant {tenant}"), "version": plugins.iter().map(|p| format!("{} {}", p.manifest().id, p.manifest().version)).collect::<Vec<_>>().join(", ") },
        "servers": [{ "url": format!("/api/{tenant}") }],
        "security": [{ "bearer": [] }],
        "paths": paths,
        "components": {
            "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer" } },
            "schemas": { "Problem": problem_schema(), "Job": {
                "type": "object",
                "properties": {
                    "id": { "type": "string", "format": "uuid" },
                    "plugin": { "type": "string" }, "operation": { "type": "string" },
                    "state": { "type": "string", "enum": ["queued", "running", "succeeded", "failed", "cancelled"] },
                    "done": { "type": "integer", "minimum": 0 },
                    "total": { "type": ["integer", "null"], "minimum": 0 },
                    "steps": { "type": "integer", "minimum": 0 },
                    "attempts": { "type": "integer", "minimum": 0 },
                    "error": { "type": ["string", "null"] },
                    "result": {},
                    "caller": { "type": "string" },
                    "created": { "type": "integer", "description": "Unix seconds" },
                    "started": { "type": ["integer", "null"] },
                    "ended": { "type": ["integer", "null"] },
                },
                "required": ["id", "plugin", "operation", "state", "done", "steps", "attempts", "caller", "created"],
            } },
        },
    });
    if let Some(components) = document["components"]["schemas"].as_object_mut() {
        components.extend(schemas);
    }
    document
}

/// A plugin's schema as the tenant's document publishes it: its
/// `#/$defs/<name>` references point at `#/components/schemas/<plugin>.<name>`.
fn published(schema: &Value, plugin: &str) -> Value {
    match schema {
        Value::Object(object) => Value::Object(
            object
                .iter()
                .map(|(key, value)| {
                    let value = match (key.as_str(), value.as_str()) {
                        ("$ref", Some(reference)) => match reference.strip_prefix("#/$defs/") {
                            Some(name) => json!(format!("#/components/schemas/{plugin}.{name}")),
                            None => value.clone(),
                        },
                        // Values, not schemas: published as the check reads them.
                        ("const" | "enum" | "default" | "examples", _) => value.clone(),
                        _ => published(value, plugin),
                    };
                    (key.clone(), value)
                })
                .collect(),
        ),
        Value::Array(items) => {
            Value::Array(items.iter().map(|item| published(item, plugin)).collect())
        }
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    /// Every success the admin document declares has a body schema, but
    /// a 204's.
    #[test]
    fn every_admin_success_answer_has_a_schema() {
        let document = super::admin_document().unwrap();
        let mut untyped = Vec::new();
        for (path, methods) in document["paths"].as_object().unwrap() {
            for (method, operation) in methods.as_object().unwrap() {
                for (status, response) in operation["responses"].as_object().unwrap() {
                    let content = response.get("content").and_then(Value::as_object);
                    let typed = match content {
                        None => status == "204",
                        Some(content) => content.values().all(|media| {
                            media["schema"].as_object().is_some_and(|schema| !schema.is_empty())
                        }),
                    };
                    if status.starts_with('2') && !typed {
                        untyped.push(format!("{method} {path} {status}"));
                    }
                }
            }
        }
        assert_eq!(untyped, Vec::<String>::new());
    }
}
