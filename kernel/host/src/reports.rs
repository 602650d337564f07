//! Custom reports: the definitions a tenant saves, versioned and audited,
//! and their runs over the documents of a reportable source, read from
//! one snapshot, opened where sealed, each read of a sensitive source
//! audited as a plugin's own read is.
//!
//! Kernel catalog records, in the tenant's lane:
//! - `report/<tenant>/<id>`: the current version of a report;
//! - `report-version/<tenant>/<id>/<version>`: every version kept (the
//!   last [`REPORT_VERSIONS_KEPT`]), the version zero-padded so they list
//!   in order;
//! - `report-schedule/<tenant>/<id>/<name>`: its schedules, which mail
//!   or post its answer on a timetable (`reports/schedules.rs`).
//!
//! A run reads at most a given number of documents while its caller
//! waits; past that it goes on in the background (`reports/runs.rs`).

mod runs;
mod schedules;
mod sending;

use std::sync::Arc;

use keel_report::{Definition, Plan, Run, RunError, Table};
use keel_storage::{KeyRange, Namespace, ReadTxn};
use keel_types::{PluginId, TenantId, action};

use crate::call::audit_alone;
use crate::error::CallError;
use crate::host::Host;
use crate::package::Plugin;
use crate::records::{decode, encode};

pub use runs::{RunRequest, Started};
pub use schedules::{
    Destination, EmailTo, NewReportSchedule, ReportSchedule, SCHEDULES_PER_REPORT_MAX,
    ScheduleError, WebhookTo, shown as schedule_shown,
};

/// The kernel permission to define a tenant's reports and schedule them:
/// a schedule runs only while whoever made it still holds it.
pub const REPORTS_MANAGE: &str = "keel.reports.manage";
/// Most reports a tenant keeps.
pub const REPORTS_MAX: usize = 256;
/// Versions of one report kept; older ones are dropped as new ones are
/// saved (the audit trail keeps every one).
pub const REPORT_VERSIONS_KEPT: u64 = 50;
/// Documents read per page of a run.
const PAGE: u32 = 500;
/// Sensitive reads audited per write.
const READS_PER_AUDIT: usize = 1000;

/// A report as saved.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SavedReport {
    pub id: String,
    /// 1 for the first save, one more for each after.
    pub version: u64,
    pub definition: Definition,
    /// Who saved this version.
    pub saved_by: String,
    /// When, in Unix seconds.
    pub saved_at: i64,
}

/// What a run reads: a plugin's reportable source, and the plan over it.
#[derive(Debug, Clone)]
pub struct ReportSource {
    pub tenant: TenantId,
    pub plugin: Arc<Plugin>,
    /// The reportable's collection.
    pub collection: String,
    pub plan: Plan,
    /// Relative dates count from the day of `as_of` (Unix seconds) in
    /// `time_zone` (IANA): now in UTC for a run asked for over HTTP, the
    /// slot on the schedule's wall clock for a scheduled one.
    pub as_of: i64,
    pub time_zone: String,
}

/// Why a run did not answer.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The report itself cannot be answered (too many groups, say).
    #[error("{0}")]
    Report(#[from] RunError),
    /// Storage, sealing or the audit failed.
    #[error(transparent)]
    Call(#[from] CallError),
    /// The tenant or the kernel runs as many reports as it may.
    #[error("{0}")]
    Busy(String),
    /// A scheduled report read more documents than it may.
    #[error("a scheduled report reads at most {0} documents; filter it to read fewer")]
    TooManyDocuments(u64),
    /// A long read ran past its time.
    #[error(
        "the report read for more than {} minutes and was given up; filter it to read fewer documents",
        crate::runs::RUN_SECONDS_MAX / 60
    )]
    TooLong,
    /// The kernel is stopping, or the run was cancelled.
    #[error("the report run was stopped before it finished")]
    Stopped,
}

impl Host {
    /// Saves `definition` as the next version of report `id`, audited as
    /// `report.save` with the definition; `None` if the tenant keeps
    /// [`REPORTS_MAX`] other reports. Blocking.
    pub fn put_report(
        &self,
        origin: &keel_audit::Origin,
        tenant: &TenantId,
        id: &str,
        definition: &Definition,
    ) -> keel_storage::Result<Option<SavedReport>> {
        let mut txn = self.tenant_txn(tenant)?;
        let key = report_key(tenant, id);
        let before: Option<SavedReport> =
            txn.catalog_get(&key)?.map(|b| decode("report", &b)).transpose()?;
        if before.is_none()
            && txn.catalog_page(&format!("report/{tenant}/"), None, REPORTS_MAX)?.len()
                >= REPORTS_MAX
        {
            return Ok(None);
        }
        let version = before.as_ref().map_or(1, |r| r.version + 1);
        let saved = SavedReport {
            id: id.to_owned(),
            version,
            definition: definition.clone(),
            saved_by: origin.actor.clone(),
            saved_at: self.now().seconds,
        };
        let bytes = encode(&saved)?;
        txn.catalog_put(&key, &bytes)?;
        txn.catalog_put(&version_key(tenant, id, version), &bytes)?;
        if version > REPORT_VERSIONS_KEPT {
            txn.catalog_remove(&version_key(tenant, id, version - REPORT_VERSIONS_KEPT))?;
        }
        let record = keel_audit::Record {
            key: Some(id.to_owned()),
            before: before.map(|r| serde_json::json!(r.definition)),
            after: Some(serde_json::json!(saved.definition)),
            detail: Some(format!("report {id} version {version} saved")),
            ..origin.record(action::REPORT_SAVE)
        };
        keel_audit::append(&mut txn, &keel_audit::chain_of(Some(tenant)), record)?;
        txn.finish()?.wait()?;
        Ok(Some(saved))
    }

    /// Deletes report `id` with its versions and schedules, audited as `report.delete`;
    /// false if there was none. Blocking.
    pub fn delete_report(
        &self,
        origin: &keel_audit::Origin,
        tenant: &TenantId,
        id: &str,
    ) -> keel_storage::Result<bool> {
        let mut txn = self.tenant_txn(tenant)?;
        let key = report_key(tenant, id);
        let Some(bytes) = txn.catalog_get(&key)? else { return Ok(false) };
        let before: SavedReport = decode("report", &bytes)?;
        txn.catalog_remove(&key)?;
        let schedules = self.remove_report_schedules(&mut txn, tenant, id)?;
        let prefix = format!("report-version/{tenant}/{id}/");
        for (version, _) in txn.catalog_page(&prefix, None, REPORT_VERSIONS_KEPT as usize + 1)? {
            txn.catalog_remove(&version)?;
        }
        let record = keel_audit::Record {
            key: Some(id.to_owned()),
            before: Some(serde_json::json!(before.definition)),
            detail: Some(match schedules.is_empty() {
                true => format!("report {id} deleted at version {}", before.version),
                false => format!(
                    "report {id} deleted at version {}, with its schedules {}",
                    before.version,
                    schedules.join(", ")
                ),
            }),
            ..origin.record(action::REPORT_DELETE)
        };
        keel_audit::append(&mut txn, &keel_audit::chain_of(Some(tenant)), record)?;
        txn.finish()?.wait()?;
        Ok(true)
    }

    /// The reports `tenant` keeps, by id. Blocking.
    pub fn reports(&self, tenant: &TenantId) -> keel_storage::Result<Vec<SavedReport>> {
        let read = self.inner.storage.read()?;
        read.catalog_page(&format!("report/{tenant}/"), None, REPORTS_MAX)?
            .into_iter()
            .map(|(_, bytes)| decode("report", &bytes))
            .collect()
    }

    /// Report `id` as last saved, if any. Blocking.
    pub fn report(&self, tenant: &TenantId, id: &str) -> keel_storage::Result<Option<SavedReport>> {
        let read = self.inner.storage.read()?;
        read.catalog_get(&report_key(tenant, id))?.map(|b| decode("report", &b)).transpose()
    }

    /// The versions of report `id` kept, oldest first. Blocking.
    pub fn report_versions(
        &self,
        tenant: &TenantId,
        id: &str,
    ) -> keel_storage::Result<Vec<SavedReport>> {
        let read = self.inner.storage.read()?;
        let prefix = format!("report-version/{tenant}/{id}/");
        read.catalog_page(&prefix, None, REPORT_VERSIONS_KEPT as usize + 1)?
            .into_iter()
            .map(|(_, bytes)| decode("report version", &bytes))
            .collect()
    }

    /// The reportable source `<plugin>/<id>` of a plugin `tenant` has
    /// enabled, with the plugin.
    pub fn reportable(
        &self,
        tenant: &TenantId,
        plugin: &str,
        id: &str,
    ) -> Option<(Arc<Plugin>, keel_manifest::Reportable)> {
        let plugin = self.enabled(tenant, &PluginId::new(plugin).ok()?)?;
        let source = plugin.manifest().reportable(id)?.clone();
        Some((plugin, source))
    }
}

/// A run's reading: one snapshot, page by page, each document opened if
/// sealed and fed to the plan; the sensitive ones read are audited in
/// batches as `record.read`, as the origin's reads.
pub(crate) struct Reading {
    host: Host,
    origin: keel_audit::Origin,
    source: ReportSource,
    ns: Namespace,
    read: ReadTxn,
    run: Run,
    /// The day the run counts relative dates from.
    today: keel_values::Date,
    cursor: Option<String>,
    done: bool,
    /// Keys of sensitive documents read and not audited yet.
    unaudited: Vec<String>,
}

impl Reading {
    pub(crate) fn new(
        host: &Host,
        origin: keel_audit::Origin,
        source: ReportSource,
    ) -> Result<Self, ReportError> {
        let read = host.inner.storage.read().map_err(CallError::Storage)?;
        let ns = Namespace::new(source.tenant.clone(), source.plugin.manifest().id.clone());
        let now = source.as_of;
        let zone = keel_values::zone::Zone::named(&source.time_zone)
            .unwrap_or_else(|_| keel_values::zone::Zone::utc());
        let today = match zone.wall(now) {
            Ok((today, _)) => today,
            Err(_) => keel_values::Date::parse(&keel_values::date::civil_date(now))
                .map_err(|err| CallError::Internal(err.to_string()))?,
        };
        let run = Run::new(source.plan.clone(), &today);
        Ok(Self {
            host: host.clone(),
            origin,
            source,
            ns,
            read,
            run,
            today,
            cursor: None,
            done: false,
            unaudited: Vec::new(),
        })
    }

    /// Documents read so far.
    pub(crate) fn scanned(&self) -> u64 {
        self.run.scanned()
    }

    /// Reads pages until the source is read or `scanned` reaches `until`;
    /// true once everything is read. `stop` is asked between pages.
    pub(crate) fn read_until(
        &mut self,
        until: u64,
        stop: &dyn Fn() -> bool,
    ) -> Result<bool, ReportError> {
        let sensitive = self
            .source
            .plugin
            .manifest()
            .collection(&self.source.collection)
            .is_some_and(|c| c.sensitive);
        while !self.done && self.run.scanned() < until {
            if stop() {
                return Err(ReportError::Stopped);
            }
            // Never past `until`: a run moves to the background exactly there.
            let want = u32::try_from(until - self.run.scanned()).unwrap_or(PAGE).min(PAGE);
            let page = self
                .read
                .scan(
                    &self.ns,
                    &self.source.collection,
                    &KeyRange::default(),
                    self.cursor.as_deref(),
                    want,
                )
                .map_err(CallError::Storage)?;
            let keys = self.host.data_keys();
            for entry in &page.entries {
                let text = if sensitive {
                    let context =
                        crate::sealing::context(&self.ns, &self.source.collection, &entry.key);
                    self.unaudited.push(entry.key.clone());
                    keys.open(&context, &entry.value).map_err(CallError::Internal)?
                } else {
                    entry.value.clone()
                };
                let doc = serde_json::from_str(&text).unwrap_or(serde_json::Value::Null);
                self.run.feed(&doc)?;
            }
            if self.unaudited.len() >= READS_PER_AUDIT {
                self.audit_reads()?;
            }
            self.cursor = page.cursor;
            self.done = self.cursor.is_none();
        }
        Ok(self.done)
    }

    /// Audits the sensitive documents read so far, durably.
    fn audit_reads(&mut self) -> Result<(), ReportError> {
        let plugin = self.source.plugin.manifest().id.to_string();
        let records = std::mem::take(&mut self.unaudited)
            .into_iter()
            .map(|key| keel_audit::Record {
                plugin: Some(plugin.clone()),
                collection: Some(self.source.collection.clone()),
                key: Some(key),
                detail: Some("read by a report".to_owned()),
                ..self.origin.record(action::RECORD_READ)
            })
            .collect();
        let ticket = audit_alone(&self.host.inner.storage, Some(&self.source.tenant), records)?;
        ticket.wait().map_err(CallError::Storage)?;
        Ok(())
    }

    /// The answer, once everything is read and its reads audited.
    pub(crate) fn finish(mut self) -> Result<Table, ReportError> {
        self.audit_reads()?;
        let run = std::mem::replace(&mut self.run, Run::new(self.source.plan.clone(), &self.today));
        Ok(run.finish())
    }
}

impl Drop for Reading {
    /// A run that stopped early (an error, a cancel, the kernel stopping)
    /// still audits the sensitive documents it read.
    fn drop(&mut self) {
        if !self.unaudited.is_empty()
            && let Err(err) = self.audit_reads()
        {
            tracing::error!(tenant = %self.source.tenant, error = %err, "auditing a report's sensitive reads failed");
        }
    }
}

fn report_key(tenant: &TenantId, id: &str) -> String {
    format!("report/{tenant}/{id}")
}

fn version_key(tenant: &TenantId, id: &str, version: u64) -> String {
    format!("report-version/{tenant}/{id}/{version:010}")
}
