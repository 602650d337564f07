//! Sending a report schedule's slot, on the clock's worker for its
//! tenant: the report read whole as the schedule's owner (on a thread of
//! its own at the lowest priority, holding one of the kernel's places for
//! a long read), its answer mailed or posted, and how that went recorded
//! (`report.send`, `report.send-retry`, `report.send-fail`, with the
//! `notify` addresses told of a slot given up on).

use keel_report::Definition;
use keel_types::{TenantId, action};

use super::schedules::{
    Destination, ReportSchedule, due_key, put, remove, schedule_key, timing_of,
};
use super::{Reading, ReportError, ReportSource};
use crate::error::CallError;
use crate::firing::now_ms;
use crate::host::Host;
use crate::records::{decode, encode};
use crate::schedules::LastRun;
use crate::timers::BUSY_RETRY;

/// Most documents a scheduled report reads.
const SCHEDULED_DOCUMENTS_MAX: u64 = 1_000_000;

/// How one attempt at a slot ended.
enum Sent {
    Done(String),
    /// Not the report's fault (the kernel starting, stopping, busy).
    Later,
    /// Retried, unless attempts ran out.
    Failed(String),
    /// No retry mends it.
    Refused(String),
}

impl Host {
    /// Sends the slot a due-index entry names, on the clock's worker for
    /// `tenant`; whether there was anything to do.
    pub(crate) fn send_scheduled_report(
        &self,
        tenant: &TenantId,
        index: &str,
        report: &str,
        name: &str,
    ) -> Result<bool, CallError> {
        let storage = CallError::Storage;
        let stored = {
            let read = self.inner.storage.read().map_err(storage)?;
            let bytes = read.catalog_get(&schedule_key(tenant, report, name)).map_err(storage)?;
            bytes
                .map(|b| decode::<ReportSchedule>("report schedule", &b))
                .transpose()
                .map_err(storage)?
        };
        let Some(stored) = stored.filter(|s| due_key(tenant, s) == index) else {
            // An index entry its schedule no longer names: drop it.
            let mut txn = self.tenant_txn(tenant).map_err(storage)?;
            txn.catalog_remove(index).map_err(storage)?;
            let origin = keel_audit::Origin::kernel(self.now().seconds);
            let record = keel_audit::Record {
                detail: Some(format!("due-index entry {index} named no report schedule; dropped")),
                ..origin.record(action::TIMER_DROP)
            };
            keel_audit::append(&mut txn, &keel_audit::chain_of(Some(tenant)), record)
                .map_err(storage)?;
            txn.commit().map_err(storage)?;
            return Ok(true);
        };
        let attempt = stored.attempts.saturating_add(1);
        // A send whose record failed (storage refusing writes) is not sent
        // again on the next pass: only its record is tried again.
        let unrecorded = format!("{index}/{attempt}");
        let sent = match self.inner.reports.take_unrecorded(&unrecorded) {
            Some(summary) => Sent::Done(summary),
            None => self.send_slot(tenant, &stored, attempt),
        };
        let summary = match &sent {
            Sent::Done(summary) => Some(summary.clone()),
            _ => None,
        };
        if let Err(err) = self.record_slot(tenant, stored, attempt, sent) {
            if let Some(summary) = summary {
                self.inner.reports.keep_unrecorded(unrecorded, summary);
            }
            return Err(storage(err));
        }
        Ok(true)
    }

    /// Runs the report as its schedule's owner and sends the answer.
    fn send_slot(&self, tenant: &TenantId, schedule: &ReportSchedule, attempt: u32) -> Sent {
        let saved = match self.report(tenant, &schedule.report) {
            Ok(Some(saved)) => saved,
            Ok(None) => return Sent::Refused(format!("report {} is gone", schedule.report)),
            Err(err) => return Sent::Failed(format!("reading the report: {err}")),
        };
        let definition: &Definition = &saved.definition;
        let Some((plugin, source_id)) = definition.source_parts() else {
            return Sent::Refused(format!("its source {:?} names no plugin", definition.source));
        };
        let Some((plugin, source)) = self.reportable(tenant, plugin, source_id) else {
            return Sent::Refused(format!(
                "its source {} is not enabled in the tenant",
                definition.source
            ));
        };
        let callers = self.inner.callers.read().unwrap_or_else(|p| p.into_inner()).clone();
        let Some(permissions) = callers.and_then(|callers| callers.permissions_of(&schedule.owner))
        else {
            return Sent::Later;
        };
        if !permissions.check(tenant, super::REPORTS_MANAGE) {
            return Sent::Refused(format!(
                "{} who scheduled it no longer holds {}",
                schedule.owner,
                super::REPORTS_MANAGE
            ));
        }
        if !permissions.check(tenant, &source.permission) {
            return Sent::Refused(format!(
                "{} who scheduled it no longer holds {}, which reading {} takes",
                schedule.owner, source.permission, definition.source
            ));
        }
        let plan = match definition.plan(&source) {
            Ok(plan) => plan,
            Err(problems) => {
                return Sent::Refused(format!(
                    "the report no longer fits its source: {}",
                    problems.join("; ")
                ));
            }
        };
        let origin = keel_audit::Origin {
            actor: schedule.owner.clone(),
            request_id: Some(format!(
                "report-{}-{}-{}",
                schedule.report,
                schedule.name,
                schedule.sending_for()
            )),
            ..keel_audit::Origin::kernel(self.now().seconds)
        };
        let source = ReportSource {
            tenant: tenant.clone(),
            plugin,
            collection: source.collection,
            plan,
            as_of: schedule.sending_for(),
            time_zone: schedule.time_zone.clone(),
        };
        let table = match self.read_scheduled(origin, source) {
            Ok(table) => table,
            Err(
                err @ (ReportError::Report(_)
                | ReportError::TooLong
                | ReportError::TooManyDocuments(_)),
            ) => {
                return Sent::Refused(err.to_string());
            }
            Err(ReportError::Stopped | ReportError::Busy(_)) => return Sent::Later,
            Err(ReportError::Call(err)) => {
                return Sent::Failed(format!("reading the source: {err}"));
            }
        };
        let rows = table.rows.len();
        match &schedule.send {
            Destination::Email { to, subject, format } => {
                let Some(mailer) = self.mailer() else {
                    return Sent::Failed("this kernel sends no mail".to_owned());
                };
                let Ok(Some(format)) = keel_export::Format::named(format) else {
                    return Sent::Refused(format!(
                        "format {format:?} is not one a report is mailed in"
                    ));
                };
                let said = format!(
                    "report {}, version {}, for {}",
                    schedule.report,
                    saved.version,
                    timing_of(schedule).local_time(schedule.sending_for())
                );
                let heading = keel_export::Heading {
                    operation: &table.title,
                    tenant: tenant.as_str(),
                    parameters: &said,
                };
                let bytes = match keel_export::render_rows(
                    format,
                    &table.rows,
                    &table.export(),
                    &heading,
                ) {
                    Ok(bytes) => bytes,
                    Err(err) => return Sent::Refused(format!("rendering the report: {err}")),
                };
                let name = format!("{}.{}", schedule.report, format.extension());
                let text = format!(
                    "{}: {rows} rows{}.\n\nSent by Keel for tenant {tenant}, {said}, as scheduled by {} ({} {}).\n",
                    table.title,
                    if table.truncated { " (cut at the report's limit)" } else { "" },
                    schedule.owner,
                    schedule.cron,
                    schedule.time_zone,
                );
                let attachment = crate::Attachment {
                    name: &name,
                    content_type: format.content_type(),
                    bytes: &bytes,
                };
                let mail = crate::Mail { to, subject, text: &text, attachment: Some(attachment) };
                match mailer.send(&mail) {
                    Ok(()) => Sent::Done(format!(
                        "report {} mailed to {} as {name}, {rows} rows",
                        schedule.report,
                        to.join(", ")
                    )),
                    Err(err) => Sent::Failed(err),
                }
            }
            Destination::Webhook { url, secret } => {
                let Some(outbound) = self.outbound() else {
                    return Sent::Failed("this kernel posts no webhooks".to_owned());
                };
                let event_id = format!(
                    "{tenant}:report:{}/{}/{}",
                    schedule.report,
                    schedule.name,
                    schedule.sending_for()
                );
                let body = serde_json::json!({
                    "id": event_id,
                    "tenant": tenant.as_str(),
                    "report": schedule.report,
                    "schedule": schedule.name,
                    "slot": schedule.sending_for(),
                    "answer": table.to_json(),
                });
                let body = body.to_string();
                let context = schedule_key(tenant, &schedule.report, &schedule.name);
                let post = crate::Post {
                    url,
                    sealed_secret: secret,
                    context: &context,
                    webhook: 0,
                    event_id: &event_id,
                    topic: "keel.report",
                    attempt,
                    timestamp: self.now().seconds,
                    body: body.as_bytes(),
                };
                match outbound.post(&post) {
                    Ok(()) => Sent::Done(format!(
                        "report {} posted to {url}, {rows} rows",
                        schedule.report
                    )),
                    Err(err) => Sent::Failed(err),
                }
            }
        }
    }

    /// Reads a scheduled report whole, holding one of the kernel's places
    /// for a long read (busy if none is free), on a thread of its own at
    /// the lowest CPU priority, within the bounds of a run in the
    /// background and at most [`SCHEDULED_DOCUMENTS_MAX`] documents.
    fn read_scheduled(
        &self,
        origin: keel_audit::Origin,
        source: ReportSource,
    ) -> Result<keel_report::Table, ReportError> {
        let Some(slot) = self.inner.reports.slot() else {
            return Err(ReportError::Busy("every place for a long read is taken".to_owned()));
        };
        let started = std::time::Instant::now();
        let read = || {
            crate::priority::allow_lowering();
            crate::priority::lower();
            let mut reading = Reading::new(self, origin, source)?;
            let stop = || {
                self.inner.clock.stopped()
                    || started.elapsed().as_secs() > crate::runs::RUN_SECONDS_MAX
            };
            let done = reading.read_until(SCHEDULED_DOCUMENTS_MAX + 1, &stop);
            if started.elapsed().as_secs() > crate::runs::RUN_SECONDS_MAX {
                return Err(ReportError::TooLong);
            }
            if !done? {
                return Err(ReportError::TooManyDocuments(SCHEDULED_DOCUMENTS_MAX));
            }
            reading.finish()
        };
        let read = std::thread::scope(|scope| {
            std::thread::Builder::new()
                .name("keel-report-scheduled".to_owned())
                .spawn_scoped(scope, read)
                .map(|thread| thread.join())
        });
        drop(slot);
        match read {
            Ok(Ok(table)) => table,
            Ok(Err(_)) => Err(ReportError::Call(CallError::Internal(
                "a scheduled report's read panicked".to_owned(),
            ))),
            Err(err) => Err(ReportError::Busy(format!("no thread for a scheduled report: {err}"))),
        }
    }

    /// Records how an attempt at `stored`'s slot ended, unless the
    /// schedule changed meanwhile.
    fn record_slot(
        &self,
        tenant: &TenantId,
        stored: ReportSchedule,
        attempt: u32,
        sent: Sent,
    ) -> keel_storage::Result<()> {
        let now = self.now().seconds;
        let limits = &self.inner.config.limits;
        let (action, detail, next) = match sent {
            Sent::Later => {
                let due_ms = now_ms(self)
                    .saturating_add(i64::try_from(BUSY_RETRY.as_millis()).unwrap_or(i64::MAX));
                (None, String::new(), ReportSchedule { due_ms, ..stored.clone() })
            }
            Sent::Failed(error) if attempt < limits.event_attempts_max => {
                let wait = i64::try_from(self.backoff(attempt).as_millis()).unwrap_or(i64::MAX);
                let detail = format!(
                    "report {}: schedule {} attempt {attempt} failed: {error}",
                    stored.report, stored.name
                );
                let next = ReportSchedule {
                    attempts: attempt,
                    error: Some(error),
                    due_ms: now_ms(self).saturating_add(wait),
                    ..stored.clone()
                };
                (Some(action::REPORT_SEND_RETRY), detail, next)
            }
            Sent::Done(summary) => {
                let last = LastRun {
                    slot: stored.sending_for(),
                    ended: now,
                    ok: true,
                    error: None,
                    attempts: attempt,
                };
                (Some(action::REPORT_SEND), summary, self.advanced(&stored, last))
            }
            Sent::Failed(error) | Sent::Refused(error) => {
                let told = self.tell_of_failure(tenant, &stored, &error);
                let detail = format!(
                    "report {}: schedule {} gave up on the slot of {} after {attempt} attempts: {error}; {told}",
                    stored.report,
                    stored.name,
                    timing_of(&stored).local_time(stored.sending_for()),
                );
                let last = LastRun {
                    slot: stored.sending_for(),
                    ended: now,
                    ok: false,
                    error: Some(error),
                    attempts: attempt,
                };
                (Some(action::REPORT_SEND_FAIL), detail, self.advanced(&stored, last))
            }
        };
        let mut txn = self.tenant_txn(tenant)?;
        let current = txn.catalog_get(&schedule_key(tenant, &stored.report, &stored.name))?;
        if current.as_deref() != Some(encode(&stored)?.as_slice()) {
            // Saved anew, sent now or deleted while it ran: that stands.
            return Ok(());
        }
        remove(&mut txn, tenant, &stored)?;
        put(&mut txn, tenant, &next)?;
        let origin = keel_audit::Origin {
            actor: stored.owner.clone(),
            request_id: Some(format!(
                "report-{}-{}-{}",
                stored.report,
                stored.name,
                stored.sending_for()
            )),
            ..keel_audit::Origin::kernel(now)
        };
        let action = action.unwrap_or(action::TIMER_RETRY);
        let record = keel_audit::Record {
            key: Some(format!("{}/{}", stored.report, stored.name)),
            detail: Some(if detail.is_empty() {
                "the kernel was busy; tried again shortly".to_owned()
            } else {
                detail
            }),
            ..origin.record(action)
        };
        keel_audit::append(&mut txn, &keel_audit::chain_of(Some(tenant)), record)?;
        txn.commit()?;
        self.inner.clock.notify(tenant);
        Ok(())
    }

    /// The schedule moved on to its first slot after now, its last run `last`.
    /// (A send asked for now goes back to waiting for its slot.)
    fn advanced(&self, stored: &ReportSchedule, last: LastRun) -> ReportSchedule {
        let now = self.now().seconds;
        // A pattern that passed the save's check always runs again before 9999.
        let slot = match stored.sending_now {
            Some(_) if stored.slot > now => stored.slot,
            _ => timing_of(stored).next_after(now.max(stored.slot)).unwrap_or(i64::MAX / 1000),
        };
        ReportSchedule {
            slot,
            due_ms: slot.saturating_mul(1000),
            attempts: 0,
            error: None,
            last: Some(last),
            sending_now: None,
            ..stored.clone()
        }
    }

    /// Mails the schedule's `notify` addresses that a slot failed; says how
    /// that went, for the audit record.
    fn tell_of_failure(&self, tenant: &TenantId, schedule: &ReportSchedule, error: &str) -> String {
        if schedule.notify.is_empty() {
            return "no one to tell (the schedule names no notify addresses)".to_owned();
        }
        let Some(mailer) = self.mailer() else {
            return "no one told: this kernel sends no mail".to_owned();
        };
        let subject = format!("Keel: report {} could not be sent", schedule.report);
        let text = format!(
            "Tenant {tenant}: schedule {} of report {} ({} {}) could not send its slot of {}.\n\nWhy: {error}\n\nThe schedule goes on to its next slot. See GET /api/{tenant}/reports/{}/schedules.\n",
            schedule.name,
            schedule.report,
            schedule.cron,
            schedule.time_zone,
            timing_of(schedule).local_time(schedule.sending_for()),
            schedule.report,
        );
        let mail =
            crate::Mail { to: &schedule.notify, subject: &subject, text: &text, attachment: None };
        match mailer.send(&mail) {
            Ok(()) => format!("told {}", schedule.notify.join(", ")),
            Err(err) => format!("telling {} failed too: {err}", schedule.notify.join(", ")),
        }
    }
}
