//! A tenant's custom reports: definitions saved, versioned and audited in
//! the tenant's chain, and runs of them as the person asking. The gateway
//! checks that the caller may read the report's source (and, to save one,
//! holds `keel.reports.manage`) before it asks; the host's blocking work
//! runs off the async workers.

use keel_host::{
    NewReportSchedule, ReportError, ReportSchedule, ReportSource, RunRequest, SavedReport,
    ScheduleError, Started,
};
use keel_report::Definition;
use keel_types::TenantId;

use crate::error::internal;
use crate::{Actor, Platform, PlatformError};

impl Platform {
    /// The reports `tenant` keeps.
    pub async fn reports(&self, tenant: &TenantId) -> Result<Vec<SavedReport>, PlatformError> {
        self.tenant(tenant)?;
        let t = tenant.clone();
        self.host_write(move |host| host.reports(&t)).await?.map_err(internal)
    }

    /// Report `id` as last saved; not found if there is none.
    pub async fn report(&self, tenant: &TenantId, id: &str) -> Result<SavedReport, PlatformError> {
        self.tenant(tenant)?;
        let (t, i) = (tenant.clone(), id.to_owned());
        let found = self.host_write(move |host| host.report(&t, &i)).await?.map_err(internal)?;
        found.ok_or_else(|| not_found(tenant, id))
    }

    /// The versions of report `id` kept, oldest first; not found if none.
    pub async fn report_versions(
        &self,
        tenant: &TenantId,
        id: &str,
    ) -> Result<Vec<SavedReport>, PlatformError> {
        self.tenant(tenant)?;
        let (t, i) = (tenant.clone(), id.to_owned());
        let versions =
            self.host_write(move |host| host.report_versions(&t, &i)).await?.map_err(internal)?;
        if versions.is_empty() {
            return Err(not_found(tenant, id));
        }
        Ok(versions)
    }

    /// Saves `definition`, already checked against its source, as report
    /// `id`'s next version; conflict when the tenant keeps as many as it may.
    pub async fn put_report(
        &self,
        actor: &Actor,
        tenant: &TenantId,
        id: &str,
        definition: Definition,
    ) -> Result<SavedReport, PlatformError> {
        self.tenant(tenant)?;
        let origin = self.origin(actor, Some(tenant)).await;
        let (t, i) = (tenant.clone(), id.to_owned());
        let saved = self
            .host_write(move |host| host.put_report(&origin, &t, &i, &definition))
            .await?
            .map_err(internal)?;
        saved.ok_or_else(|| {
            PlatformError::Conflict(format!(
                "tenant {tenant} keeps at most {} reports; delete one first",
                keel_host::REPORTS_MAX
            ))
        })
    }

    /// Deletes report `id`; not found if there was none.
    pub async fn delete_report(
        &self,
        actor: &Actor,
        tenant: &TenantId,
        id: &str,
    ) -> Result<(), PlatformError> {
        self.tenant(tenant)?;
        let origin = self.origin(actor, Some(tenant)).await;
        let (t, i) = (tenant.clone(), id.to_owned());
        let deleted = self
            .host_write(move |host| host.delete_report(&origin, &t, &i))
            .await?
            .map_err(internal)?;
        if !deleted {
            return Err(not_found(tenant, id));
        }
        Ok(())
    }

    /// Runs a report over `source` as `actor`: answered if it reads at most
    /// `ask.inline_max` documents, else gone on in the background.
    pub async fn run_report(
        &self,
        actor: &Actor,
        ask: ReportAsk,
        source: ReportSource,
    ) -> Result<Started, PlatformError> {
        self.tenant(&source.tenant)?;
        let origin = self.origin(actor, Some(&source.tenant)).await;
        let request = RunRequest {
            origin,
            caller: actor.principal.to_string(),
            report: ask.report,
            title: ask.title,
            source_name: ask.source,
            source,
            gone: ask.gone,
        };
        let inline_max = ask.inline_max;
        let ran = self.host_write(move |host| host.run_report(request, inline_max)).await?;
        ran.map_err(|err| match err {
            ReportError::Report(_) | ReportError::TooLong | ReportError::TooManyDocuments(_) => {
                PlatformError::Invalid(err.to_string())
            }
            ReportError::Busy(_) | ReportError::Stopped => PlatformError::Busy,
            ReportError::Call(err) => internal(err),
        })
    }
}

/// A run asked for: of which report (`preview` for a definition not
/// saved), titled how, over which source (`<plugin>/<id>`), read for at
/// most how many documents while the caller waits, and a flag set when
/// the caller gives up.
#[derive(Debug, Clone)]
pub struct ReportAsk {
    pub report: String,
    pub title: String,
    pub source: String,
    pub inline_max: u64,
    pub gone: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

/// A report and one of its schedules.
#[derive(Debug, Clone, Copy)]
pub struct ScheduleOf<'a> {
    pub report: &'a str,
    pub name: &'a str,
}

impl Platform {
    /// The schedules of report `report`.
    pub async fn report_schedules(
        &self,
        tenant: &TenantId,
        report: &str,
    ) -> Result<Vec<ReportSchedule>, PlatformError> {
        self.tenant(tenant)?;
        let (t, r) = (tenant.clone(), report.to_owned());
        self.host_write(move |host| host.report_schedules(&t, &r)).await?.map_err(internal)
    }

    /// Saves a schedule, run as `actor` from now on: the schedule, and a
    /// webhook's secret, shown only now.
    pub async fn put_report_schedule(
        &self,
        actor: &Actor,
        tenant: &TenantId,
        of: ScheduleOf<'_>,
        new: NewReportSchedule,
    ) -> Result<(ReportSchedule, Option<String>), PlatformError> {
        self.tenant(tenant)?;
        let origin = self.origin(actor, Some(tenant)).await;
        let (t, r, n) = (tenant.clone(), of.report.to_owned(), of.name.to_owned());
        let saved = self
            .host_write(move |host| host.put_report_schedule(&origin, &t, (&r, &n), new))
            .await?;
        saved.map_err(|err| match err {
            ScheduleError::Invalid(why) => PlatformError::Invalid(why),
            ScheduleError::NoReport => not_found(tenant, of.report),
            err @ ScheduleError::TooMany => PlatformError::Conflict(err.to_string()),
            ScheduleError::Storage(err) => internal(err),
        })
    }

    /// Deletes a schedule; not found if there was none.
    pub async fn delete_report_schedule(
        &self,
        actor: &Actor,
        tenant: &TenantId,
        of: ScheduleOf<'_>,
    ) -> Result<(), PlatformError> {
        self.tenant(tenant)?;
        let origin = self.origin(actor, Some(tenant)).await;
        let (t, r, n) = (tenant.clone(), of.report.to_owned(), of.name.to_owned());
        let deleted = self
            .host_write(move |host| host.delete_report_schedule(&origin, &t, (&r, &n)))
            .await?
            .map_err(internal)?;
        if !deleted {
            return Err(no_schedule(tenant, of));
        }
        Ok(())
    }

    /// Makes a schedule send now, besides its timetable; conflict while a
    /// send is already due or being retried.
    pub async fn send_report_now(
        &self,
        actor: &Actor,
        tenant: &TenantId,
        of: ScheduleOf<'_>,
    ) -> Result<(), PlatformError> {
        self.tenant(tenant)?;
        let origin = self.origin(actor, Some(tenant)).await;
        let (t, r, n) = (tenant.clone(), of.report.to_owned(), of.name.to_owned());
        let found = self
            .host_write(move |host| host.send_report_now(&origin, &t, (&r, &n)))
            .await?
            .map_err(internal)?;
        match found {
            None => Err(no_schedule(tenant, of)),
            Some(false) => Err(PlatformError::Conflict(format!(
                "schedule {} of report {} is already sending (or retrying) a slot; follow it with GET /api/{tenant}/reports/{}/schedules",
                of.name, of.report, of.report
            ))),
            Some(true) => Ok(()),
        }
    }
}

fn no_schedule(tenant: &TenantId, of: ScheduleOf<'_>) -> PlatformError {
    PlatformError::NotFound(format!(
        "report {} of tenant {tenant} has no schedule {:?}; list them with GET /api/{tenant}/reports/{}/schedules",
        of.report, of.name, of.report
    ))
}

fn not_found(tenant: &TenantId, id: &str) -> PlatformError {
    PlatformError::NotFound(format!(
        "tenant {tenant} keeps no report {id:?}; list them with GET /api/{tenant}/reports"
    ))
}
