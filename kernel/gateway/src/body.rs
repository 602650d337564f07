//! The bodies the gateway answers with for the kernel's own types, owned
//! here: renaming a field of a domain type changes no response unless it
//! is changed here too, where the API is. And a JSON answer from a value
//! or from bytes already written.
//!
//! Audit records and signed heads are the exception: their serialised
//! form is what is hashed and signed, so the API returns exactly that, and
//! an outside verifier can recompute the chain from it (schema-only
//! mirrors in `admin/audit_schema.rs` describe them in the admin document).
//!
//! Every body an admin route answers derives `utoipa::ToSchema` and is
//! named by its route's annotation, so the document describes each answer
//! from the very type that writes it.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use keel_platform::{
    ApiToken, DeadLetter, EnableReport, Membership, ProviderChoice, RoleInfo, SodRule,
    TotpEnrolment, User,
};
use keel_types::{TenantId, UserId};
use serde::Serialize;

/// `body` as a JSON answer with `status`.
pub(crate) fn json_response(status: StatusCode, body: &serde_json::Value) -> Response {
    json_bytes(status, body.to_string().into_bytes())
}

/// JSON already written, answered with `status`.
pub(crate) fn json_bytes(status: StatusCode, bytes: Vec<u8>) -> Response {
    let mut http = (status, bytes).into_response();
    http.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    http
}

/// A user, never with a password hash.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct UserBody {
    /// The login name.
    pub(crate) id: String,
    /// The display name.
    name: String,
    /// When the user was created, Unix seconds.
    created_at: i64,
}

impl From<&User> for UserBody {
    fn from(user: &User) -> Self {
        Self { id: user.id.to_string(), name: user.name.clone(), created_at: user.created_at }
    }
}

/// A session a login opened.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct SessionBody {
    /// The bearer token, shown once.
    token: String,
    /// Whose session it is.
    user: String,
    /// When it expires, Unix seconds.
    expires_at: i64,
}

impl From<&keel_platform::Session> for SessionBody {
    fn from(session: &keel_platform::Session) -> Self {
        Self {
            token: session.token.clone(),
            user: session.user.to_string(),
            expires_at: session.expires_at,
        }
    }
}

/// What a user adds to an authenticator app, shown once.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct TotpEnrolmentBody {
    /// The shared secret, base32.
    secret: String,
    /// The same as an `otpauth://` URL, for a QR code.
    otpauth_url: String,
}

impl From<&TotpEnrolment> for TotpEnrolmentBody {
    fn from(enrolment: &TotpEnrolment) -> Self {
        Self { secret: enrolment.secret.clone(), otpauth_url: enrolment.otpauth_url.clone() }
    }
}

/// The roles a user holds in a tenant.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct MembershipBody {
    /// The tenant.
    tenant: String,
    /// The user.
    pub(crate) user: String,
    /// Role ids, sorted.
    roles: Vec<String>,
}

impl MembershipBody {
    /// `user`'s `roles` in `tenant`.
    pub(crate) fn new(tenant: &TenantId, user: &UserId, roles: Vec<String>) -> Self {
        Self { tenant: tenant.to_string(), user: user.to_string(), roles }
    }

    /// A membership of `tenant` (as [`Platform::members`] lists them).
    ///
    /// [`Platform::members`]: keel_platform::Platform::members
    pub(crate) fn of(tenant: &TenantId, membership: &Membership) -> Self {
        Self::new(tenant, &membership.user, membership.roles.clone())
    }
}

/// An API token, never with its secret.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct TokenBody {
    /// Its id; its principal is `token:<id>`.
    pub(crate) id: String,
    /// The tenant it acts in.
    tenant: String,
    /// What it is for.
    name: String,
    /// The roles it holds.
    roles: Vec<String>,
    /// When it was created, Unix seconds.
    created_at: i64,
    /// When it stops working, Unix seconds.
    expires_at: i64,
    /// The user it acts for; null for tokens older than that record.
    #[schema(required = true)]
    created_by: Option<String>,
}

impl From<&ApiToken> for TokenBody {
    fn from(token: &ApiToken) -> Self {
        Self {
            id: token.id.clone(),
            tenant: token.tenant.to_string(),
            name: token.name.clone(),
            roles: token.roles.clone(),
            created_at: token.created_at,
            expires_at: token.expires_at,
            created_by: token.created_by.as_ref().map(ToString::to_string),
        }
    }
}

/// A role grantable in a tenant, and what it grants there.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct RoleBody {
    /// The role's id.
    id: String,
    /// `built-in`, `plugin` or `tenant`.
    #[schema(value_type = String)]
    origin: &'static str,
    /// The permission patterns it grants.
    permissions: Vec<String>,
}

impl From<&RoleInfo> for RoleBody {
    fn from(role: &RoleInfo) -> Self {
        Self { id: role.id.clone(), origin: role.origin, permissions: role.permissions.clone() }
    }
}

/// A segregation-of-duties rule: permissions no one may hold together.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct SodRuleBody {
    /// The tenant.
    tenant: String,
    /// The rule's name.
    name: String,
    /// The permissions that exclude each other.
    permissions: Vec<String>,
}

impl From<&SodRule> for SodRuleBody {
    fn from(rule: &SodRule) -> Self {
        Self {
            tenant: rule.tenant.to_string(),
            name: rule.name.clone(),
            permissions: rule.permissions.clone(),
        }
    }
}

/// A domain interface with the tenant's provider, the enabled plugins that
/// could provide it, and those that require it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct ProviderBody {
    /// The interface, such as `keel:erp/stock@0.3.0`.
    interface: String,
    /// The plugin that provides it; null if none is chosen and enabled.
    #[schema(required = true)]
    provider: Option<String>,
    /// The enabled plugins that could.
    candidates: Vec<String>,
    /// The enabled plugins that require it.
    consumers: Vec<String>,
}

impl From<&ProviderChoice> for ProviderBody {
    fn from(choice: &ProviderChoice) -> Self {
        let ids = |ids: &[keel_types::PluginId]| ids.iter().map(ToString::to_string).collect();
        Self {
            interface: choice.interface.clone(),
            provider: choice.provider.as_ref().map(ToString::to_string),
            candidates: ids(&choice.candidates),
            consumers: ids(&choice.consumers),
        }
    }
}

/// What enabling a plugin did, or (in a dry run) would do.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct EnableReportBody {
    /// The plugin.
    plugin: String,
    /// The version the tenant ran before; null on first enabling.
    #[schema(required = true)]
    from: Option<String>,
    /// The version it runs now, or would.
    to: String,
    /// Whether the plugin's `migrate` ran and succeeded.
    migrated: bool,
    /// Whether this was a dry run that changed nothing.
    dry_run: bool,
}

impl From<&EnableReport> for EnableReportBody {
    fn from(report: &EnableReport) -> Self {
        Self {
            plugin: report.plugin.to_string(),
            from: report.from.clone(),
            to: report.to.clone(),
            migrated: report.migrated,
            dry_run: report.dry_run,
        }
    }
}

/// An event that could not be delivered to one subscriber.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct DeadLetterBody {
    /// `<event id>-<subscriber>`, which the replay route names.
    pub(crate) id: String,
    /// The event's id in the tenant's outbox.
    event: u64,
    /// The topic.
    topic: String,
    /// The publisher's key.
    key: String,
    /// The payload, JSON text.
    payload: String,
    /// The plugin that published it.
    publisher: String,
    /// The plugin it could not be delivered to.
    subscriber: String,
    /// Deliveries tried.
    attempts: u32,
    /// Why the last one failed.
    error: String,
    /// When it became a dead letter, Unix seconds.
    dead_at: i64,
}

impl From<&DeadLetter> for DeadLetterBody {
    fn from(letter: &DeadLetter) -> Self {
        Self {
            id: letter.id.clone(),
            event: letter.event,
            topic: letter.topic.clone(),
            key: letter.key.clone(),
            payload: letter.payload.clone(),
            publisher: letter.publisher.clone(),
            subscriber: letter.subscriber.clone(),
            attempts: letter.attempts,
            error: letter.error.clone(),
            dead_at: letter.dead_at,
        }
    }
}

/// A timer a plugin set, as the admin API shows it.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(crate) struct TimerBody {
    /// The plugin that set it.
    pub(crate) plugin: String,
    /// Its key among the plugin's timers.
    pub(crate) key: String,
    /// The time it was set for, Unix seconds.
    pub(crate) at: i64,
    /// When it is next tried, Unix milliseconds (later than `at` after a
    /// failure).
    pub(crate) due_ms: i64,
    /// Its payload, JSON text.
    pub(crate) payload: String,
    /// Attempts so far, and why the last failed.
    pub(crate) attempts: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) error: Option<String>,
    /// Who set it.
    pub(crate) set_by: String,
}

impl From<&keel_platform::StoredTimer> for TimerBody {
    fn from(timer: &keel_platform::StoredTimer) -> Self {
        Self {
            plugin: timer.plugin.clone(),
            key: timer.key.clone(),
            at: timer.at_s,
            due_ms: timer.due_ms,
            payload: timer.payload.clone(),
            attempts: timer.attempts,
            error: timer.error.clone(),
            set_by: timer.actor.clone(),
        }
    }
}

/// A page of timers.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(crate) struct TimerPage {
    pub(crate) timers: Vec<TimerBody>,
    /// Pass as `cursor` for the next page; none at the end.
    pub(crate) cursor: Option<String>,
}

/// A schedule armed for a tenant.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(crate) struct ScheduleBody {
    /// The plugin that declares it.
    pub(crate) plugin: String,
    /// Its id among the plugin's schedules.
    pub(crate) id: String,
    /// Its cron pattern, the time zone it reads in, and in words.
    pub(crate) cron: String,
    pub(crate) time_zone: String,
    pub(crate) description: String,
    /// The operation it calls.
    pub(crate) operation: String,
    /// The slot it runs for next: Unix seconds, and on its wall clock.
    pub(crate) next_run: i64,
    pub(crate) next_run_local: String,
    /// When it is next tried, Unix milliseconds (a retry's time after a
    /// failed attempt at the slot).
    pub(crate) due_ms: i64,
    /// Failed attempts at this slot, and why the last failed.
    pub(crate) attempts: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) error: Option<String>,
    /// How its last run ended.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) last_run: Option<LastRunBody>,
}

/// How a schedule's last run ended.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(crate) struct LastRunBody {
    /// The slot it ran for and when it ended, Unix seconds.
    pub(crate) slot: i64,
    pub(crate) ended: i64,
    /// Whether it succeeded; if not, the last attempt's error.
    pub(crate) ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) error: Option<String>,
    /// Attempts it took.
    pub(crate) attempts: u32,
}

impl From<&keel_platform::StoredSchedule> for ScheduleBody {
    fn from(s: &keel_platform::StoredSchedule) -> Self {
        Self {
            plugin: s.plugin.clone(),
            id: s.id.clone(),
            cron: s.cron.clone(),
            time_zone: s.time_zone.clone(),
            description: s.describe(),
            operation: s.operation.clone(),
            next_run: s.slot,
            next_run_local: s.local_time(s.slot),
            due_ms: s.due_ms,
            attempts: s.attempts,
            error: s.error.clone(),
            last_run: s.last.as_ref().map(|last| LastRunBody {
                slot: last.slot,
                ended: last.ended,
                ok: last.ok,
                error: last.error.clone(),
                attempts: last.attempts,
            }),
        }
    }
}

/// A page of schedules.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(crate) struct SchedulePage {
    pub(crate) schedules: Vec<ScheduleBody>,
    /// Pass as `cursor` for the next page; none at the end.
    pub(crate) cursor: Option<String>,
}

/// A background job, as whoever may read it sees it.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(crate) struct JobBody {
    /// Its id; `GET /api/{tenant}/jobs/{id}` reads it.
    pub(crate) id: String,
    /// The plugin and operation it runs.
    pub(crate) plugin: String,
    pub(crate) operation: String,
    /// The import it runs, for a file imported in the background.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) import: Option<String>,
    /// `queued`, `running`, `succeeded`, `failed` or `cancelled`.
    pub(crate) state: String,
    /// Units done so far, and in all when known.
    pub(crate) done: u64,
    pub(crate) total: Option<u64>,
    /// Steps committed, and failed attempts at the next.
    pub(crate) steps: u64,
    pub(crate) attempts: u32,
    /// Why the last attempt failed, or why the job did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) error: Option<String>,
    /// What the job's last step returned, once it succeeded.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub(crate) result: Option<serde_json::Value>,
    /// Who started it; its steps run as them.
    pub(crate) caller: String,
    /// When it was started, ran its first step, and ended: Unix seconds.
    pub(crate) created: i64,
    pub(crate) started: Option<i64>,
    pub(crate) ended: Option<i64>,
}

impl From<&keel_platform::Job> for JobBody {
    fn from(job: &keel_platform::Job) -> Self {
        Self {
            id: job.id.clone(),
            plugin: job.plugin.clone(),
            operation: job.operation.clone(),
            import: job.import.clone(),
            state: job.state.as_str().to_owned(),
            done: job.done,
            total: job.total,
            steps: job.steps,
            attempts: job.attempts,
            error: job.error.clone(),
            result: job.result.clone(),
            caller: job.caller.clone(),
            created: job.created,
            started: job.started,
            ended: job.ended,
        }
    }
}

/// A page of jobs.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(crate) struct JobPage {
    pub(crate) jobs: Vec<JobBody>,
    /// Pass as `cursor` for the next page; none at the end.
    pub(crate) cursor: Option<String>,
}

/// The bodies of `items`.
pub(crate) fn bodies<'a, T: 'a, B: From<&'a T>>(items: &'a [T]) -> Vec<B> {
    items.iter().map(B::from).collect()
}
