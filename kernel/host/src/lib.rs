//! The plugin host: the only kernel crate that knows about wasmtime and WIT.
//!
//! - [`package`]: reads a component's manifest without running it, compiles
//!   it once per digest (cached on disk) and pre-links it into a [`Plugin`].
//! - [`Host`]: one engine with a pooling allocator and an epoch ticker; the
//!   registry of loaded plugins and of which tenant has which plugin enabled;
//!   [`Host::call`] runs one operation in a fresh `Store` inside one storage
//!   transaction; a tenant's calls that may write run one after another on
//!   its `executor` thread, in turns of the tenant's storage lane.
//! - `tenants`: tenants on the platform's lane, their storage quotas and
//!   what they store.
//! - `memory`: guest memory counted per call (with the providers it calls)
//!   and for the whole kernel, before it is mapped.
//! - `capabilities`: the `keel:kernel` interfaces a plugin imports, adapting
//!   `keel-storage` and the call's context to WIT, and the `keel:erp`
//!   domain interfaces, mediated to each tenant's provider (`providers`).
//! - `events`: the outbox plugins publish into (pruned by
//!   `events/prune.rs`), and the dispatcher thread that delivers each event
//!   to its subscribers, with retries and dead letters: plugins, and the
//!   webhooks a tenant subscribes (`events/webhooks.rs`, delivered through
//!   an [`Outbound`] that owns the network, `events/outbound.rs`).
//! - `timers`: the timers plugins set, kept with an index by due time, and
//!   the clock's view of each tenant's next due time; `firing`: the clock
//!   thread that fires each at its time, with retries and dead timers.
//! - `schedules`: the operations manifests ask to run on a timetable,
//!   armed per tenant and run by the same clock.
//! - `imports`: the calls of a file's rows in one turn, kept all
//!   together or not at all, and the mappings of source systems' files.
//! - `jobs`: operations declared jobs, run in steps by the same clock,
//!   each step's writes committed with the job's progress.
//! - `reports`: a tenant's custom report definitions, versioned and
//!   audited, and their runs over reportable sources, the large ones in
//!   the background (kept in `runs`).
//! - `records`: how those kernel records are stored, read and audited.
//! - `metrics`: what the host counts for `/metrics` (plugin calls, event
//!   deliveries).
//! - `audit` and `verify`: searching, signing and verifying audit chains,
//!   each against everything its lane of the store holds.
//! - `backup`: backups of the database as of one snapshot and of the kept
//!   packages, with a manifest of checksums; checking and restoring one.
//!   `progress`: how far a backup or a restore is, step by step.

mod audit;
mod backup;
mod bindings;
mod call;
mod capabilities;
mod contract;
mod engine;
mod error;
mod events;
mod executor;
mod firing;
mod host;
mod idempotency;
mod imports;
mod jobs;
mod lifecycle;
mod mail;
mod memory;
mod metrics;
mod package;
mod priority;
mod progress;
mod providers;
mod records;
mod reports;
mod runs;
mod schedules;
mod sealing;
mod tenants;
mod timers;
mod verify;

pub use backup::{
    BACKUP_MANIFEST, Backup, BackupError, Counts, Extras, FileSum, Restore, Restored,
    restore_backup, restore_backup_showing,
};
pub use call::{CallGuard, Callers, Invocation, PermissionCheck, PluginRequest, PluginResponse};
pub use error::{
    CallError, ChooseError, EnableError, HostError, LoadError, PluginErrorKind, ReplayError,
};
pub use events::{
    DeadLetter, Failing, NewWebhook, Outbound, Post, WEBHOOK_DESCRIPTION_BYTES_MAX,
    WEBHOOK_TOPICS_MAX, WEBHOOK_URL_BYTES_MAX, WEBHOOKS_MAX, Webhook, WebhookChange, WebhookError,
    WebhookTopic,
};
pub use executor::CALL_STACK_BYTES;
pub use host::{Answered, Host, HostConfig};
pub use idempotency::IdempotencyKey;
pub use imports::{ImportOutcome, ImportRun, MAPPINGS_MAX};
pub use jobs::{
    CURSOR_BYTES_MAX, Cancelled, ENDED_JOB_KEEP, IMPORT_ERRORS_LISTED, IMPORT_PARTS_MAX, ImportJob,
    ImportPart, JOB_STEPS_MAX, Job, JobState, OPEN_JOBS_MAX, OPEN_JOBS_PER_CALLER_MAX,
    REQUEST_BYTES_MAX, RESULT_BYTES_MAX,
};
pub use lifecycle::EnableReport;
pub use mail::{Attachment, Mail, Mailer};
pub use package::{Plugin, declared, digest, manifest_of};
pub use progress::{Progress, Step};
pub use providers::ProviderChoice;
pub use reports::{
    Destination, EmailTo, NewReportSchedule, REPORT_VERSIONS_KEPT, REPORTS_MANAGE, REPORTS_MAX,
    ReportError, ReportSchedule, ReportSource, RunRequest, SCHEDULES_PER_REPORT_MAX, SavedReport,
    ScheduleError, Started, WebhookTo, schedule_shown,
};
pub use runs::{ReportRun, RunState};
pub use schedules::{LastRun, StoredSchedule};
pub use sealing::{DataKeys, Resealing, key_id};
pub use tenants::TenantInfo;
pub use timers::{DeadTimer, StoredTimer};
pub use verify::CatalogIndexCheck;

/// The storage lane of a tenant's records, or of the platform's.
pub(crate) fn lane(tenant: Option<&keel_types::TenantId>) -> keel_storage::Lane {
    tenant.map_or(keel_storage::Lane::Platform, |t| keel_storage::Lane::Tenant(t.clone()))
}
