//! A tenant's report schedules: a saved report run on a timetable (cron
//! and time zone) as the person who scheduled it, with their permissions
//! as they are at each run, and its answer mailed as a file (through the
//! host's [`Mailer`]) or posted as signed JSON to a webhook (through its
//! [`Outbound`]). Kernel catalog records, in the tenant's lane:
//! `report-schedule/<tenant>/<report>/<name>`, with an entry in the
//! timers' due index, so the clock that fires timers sends reports too.
//!
//! A slot is sent first and recorded after (`report.send`), so a crash
//! between the two sends it again: at least once. A send that fails is
//! retried with the events' backoff (`report.send-retry`); once attempts
//! run out, or at once for a failure no retry mends (the report or its
//! source gone, its owner no longer allowed to read it), the slot is
//! recorded as failed (`report.send-fail`), the schedule's `notify`
//! addresses (the tenant's administrators) are told by mail, and the
//! schedule goes on to its next slot.
//!
//! [`Mailer`]: crate::Mailer
//! [`Outbound`]: crate::Outbound

use keel_manifest::Schedule;
use keel_report::Definition;
use keel_storage::WriteTxn;
use keel_types::{TenantId, action};

use super::{Reading, ReportError, ReportSource, SavedReport, report_key};
use crate::error::CallError;
use crate::firing::now_ms;
use crate::host::Host;
use crate::records::{decode, encode};
use crate::schedules::LastRun;
use crate::timers::{BUSY_RETRY, report_due_key};

/// Most schedules one report has.
pub const SCHEDULES_PER_REPORT_MAX: usize = 8;
/// Most addresses a schedule mails, and tells of a failure.
const RECIPIENTS_MAX: usize = 50;
const NOTIFY_MAX: usize = 10;
/// Longest subject, in bytes.
const SUBJECT_BYTES_MAX: usize = 200;

/// A report schedule as kept.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ReportSchedule {
    pub report: String,
    pub name: String,
    pub cron: String,
    pub time_zone: String,
    /// Where the answer goes.
    pub send: Destination,
    /// Who is told by mail when a slot could not be sent.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notify: Vec<String>,
    /// Who scheduled it: each run is theirs, with their permissions then.
    pub owner: String,
    /// The slot it sends next, Unix seconds.
    pub slot: i64,
    /// When it is next tried, Unix milliseconds: its slot, or a retry's.
    pub due_ms: i64,
    /// Failed attempts at this slot, and why the last failed.
    pub attempts: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last: Option<LastRun>,
    /// Asked to send at once, besides its timetable: once sent (or given
    /// up on), it waits for `slot` again.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub sending_now: bool,
}

impl ReportSchedule {
    /// The time the send under way is for: its slot, or when it was asked
    /// to send now.
    fn sending_for(&self) -> i64 {
        if self.sending_now { self.due_ms.div_euclid(1000) } else { self.slot }
    }
}

/// Where a scheduled report goes.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Destination {
    /// Mailed as a file attached.
    Email { to: Vec<String>, subject: String, format: String },
    /// Posted as the report's JSON answer, signed with a secret of its own
    /// (kept sealed, shown once when the schedule is saved).
    Webhook {
        url: String,
        #[serde(skip_serializing_if = "String::is_empty", default)]
        secret: String,
    },
}

/// A schedule as its author writes it.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewReportSchedule {
    /// A five-field cron pattern, such as `0 7 * * 1` (Mondays at 07:00).
    pub cron: String,
    /// The IANA time zone the pattern reads in; UTC unless given.
    #[serde(default)]
    pub time_zone: Option<String>,
    #[serde(default)]
    pub email: Option<EmailTo>,
    #[serde(default)]
    pub webhook: Option<WebhookTo>,
    #[serde(default)]
    pub notify: Vec<String>,
}

/// Mail to named recipients.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailTo {
    pub to: Vec<String>,
    /// The report's title unless given.
    #[serde(default)]
    pub subject: Option<String>,
    /// `csv`, `xlsx` (unless given) or `pdf`.
    #[serde(default)]
    pub format: Option<String>,
}

/// A signed post to an endpoint.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookTo {
    pub url: String,
}

/// Why a schedule was not saved.
#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    #[error("{0}")]
    Invalid(String),
    #[error("no such report")]
    NoReport,
    #[error("a report has at most {SCHEDULES_PER_REPORT_MAX} schedules; delete one first")]
    TooMany,
    #[error(transparent)]
    Storage(#[from] keel_storage::Error),
}

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
    /// Saves schedule `name` of report `id`, run as `origin`'s actor:
    /// the schedule and, for a webhook, its secret, shown only now. Blocking.
    pub fn put_report_schedule(
        &self,
        origin: &keel_audit::Origin,
        tenant: &TenantId,
        (report, name): (&str, &str),
        new: NewReportSchedule,
    ) -> Result<(ReportSchedule, Option<String>), ScheduleError> {
        let invalid = ScheduleError::Invalid;
        let timing = timing(name, &new.cron, new.time_zone.as_deref().unwrap_or("UTC"));
        timing.validate().map_err(invalid)?;
        let mail_check = |address: &String| {
            match self.mailer() {
            Some(mailer) => mailer.check(address),
            None => Err("this kernel sends no mail: start it with --smtp-relay (or --mail-dir while developing)".to_owned()),
        }
        };
        if new.notify.len() > NOTIFY_MAX {
            return Err(invalid(format!("notify names at most {NOTIFY_MAX} addresses")));
        }
        new.notify.iter().try_for_each(mail_check).map_err(|e| invalid(format!("notify: {e}")))?;
        let mut txn = self.tenant_txn(tenant)?;
        let Some(saved) = txn.catalog_get(&report_key(tenant, report))? else {
            return Err(ScheduleError::NoReport);
        };
        let saved: SavedReport = decode("report", &saved)?;
        let context = schedule_key(tenant, report, name);
        let (send, secret) = match (new.email, new.webhook) {
            (Some(email), None) => {
                if email.to.is_empty() || email.to.len() > RECIPIENTS_MAX {
                    return Err(invalid(format!("email.to names 1 to {RECIPIENTS_MAX} addresses")));
                }
                email
                    .to
                    .iter()
                    .try_for_each(mail_check)
                    .map_err(|e| invalid(format!("email.to: {e}")))?;
                let format = email.format.unwrap_or_else(|| "xlsx".to_owned());
                if !["csv", "xlsx", "pdf"].contains(&format.as_str()) {
                    return Err(invalid(format!("email.format {format:?}: csv, xlsx or pdf")));
                }
                let subject = email.subject.unwrap_or_else(|| saved.definition.title.clone());
                if subject.trim().is_empty()
                    || subject.len() > SUBJECT_BYTES_MAX
                    || subject.chars().any(char::is_control)
                {
                    return Err(invalid(format!(
                        "email.subject is 1 to {SUBJECT_BYTES_MAX} bytes of text"
                    )));
                }
                (Destination::Email { to: email.to, subject, format }, None)
            }
            (None, Some(webhook)) => {
                let outbound = self.outbound().ok_or_else(|| {
                    invalid("this kernel posts no webhooks: it has no secrets key".to_owned())
                })?;
                if webhook.url.len() > crate::WEBHOOK_URL_BYTES_MAX {
                    return Err(invalid(format!(
                        "webhook.url is at most {} bytes",
                        crate::WEBHOOK_URL_BYTES_MAX
                    )));
                }
                outbound.check(&webhook.url).map_err(|e| invalid(format!("webhook.url: {e}")))?;
                let (shown, sealed) = outbound.new_secret(&context).map_err(invalid)?;
                (Destination::Webhook { url: webhook.url, secret: sealed }, Some(shown))
            }
            _ => {
                return Err(invalid(
                    "a schedule sends by `email` or by `webhook`: give one".to_owned(),
                ));
            }
        };
        let key = schedule_key(tenant, report, name);
        let before: Option<ReportSchedule> =
            txn.catalog_get(&key)?.map(|b| decode("report schedule", &b)).transpose()?;
        if before.is_none()
            && txn
                .catalog_page(
                    &format!("report-schedule/{tenant}/{report}/"),
                    None,
                    SCHEDULES_PER_REPORT_MAX,
                )?
                .len()
                >= SCHEDULES_PER_REPORT_MAX
        {
            return Err(ScheduleError::TooMany);
        }
        if let Some(before) = &before {
            txn.catalog_remove(&due_key(tenant, before))?;
        }
        let now = self.now().seconds;
        let slot = timing
            .next_after(now)
            .ok_or_else(|| invalid("the cron pattern never runs again".to_owned()))?;
        let schedule = ReportSchedule {
            report: report.to_owned(),
            name: name.to_owned(),
            cron: timing.cron,
            time_zone: timing.time_zone,
            send,
            notify: new.notify,
            owner: origin.actor.clone(),
            slot,
            due_ms: slot.saturating_mul(1000),
            attempts: 0,
            error: None,
            last: None,
            sending_now: false,
        };
        put(&mut txn, tenant, &schedule)?;
        let record = keel_audit::Record {
            key: Some(format!("{report}/{name}")),
            before: before.as_ref().map(shown),
            after: Some(shown(&schedule)),
            detail: Some(format!(
                "report {report}: schedule {name} saved, next at {}",
                timing_of(&schedule).local_time(slot)
            )),
            ..origin.record(action::REPORT_SCHEDULE_PUT)
        };
        keel_audit::append(&mut txn, &keel_audit::chain_of(Some(tenant)), record)?;
        txn.finish()?.wait()?;
        self.inner.clock.notify(tenant);
        Ok((schedule, secret))
    }

    /// The schedules of report `report`. Blocking.
    pub fn report_schedules(
        &self,
        tenant: &TenantId,
        report: &str,
    ) -> keel_storage::Result<Vec<ReportSchedule>> {
        let read = self.inner.storage.read()?;
        let prefix = format!("report-schedule/{tenant}/{report}/");
        read.catalog_page(&prefix, None, SCHEDULES_PER_REPORT_MAX)?
            .into_iter()
            .map(|(_, bytes)| decode("report schedule", &bytes))
            .collect()
    }

    /// Deletes schedule `name` of report `report`; false if there was none.
    /// Blocking.
    pub fn delete_report_schedule(
        &self,
        origin: &keel_audit::Origin,
        tenant: &TenantId,
        (report, name): (&str, &str),
    ) -> keel_storage::Result<bool> {
        let mut txn = self.tenant_txn(tenant)?;
        let Some(bytes) = txn.catalog_get(&schedule_key(tenant, report, name))? else {
            return Ok(false);
        };
        let before: ReportSchedule = decode("report schedule", &bytes)?;
        remove(&mut txn, tenant, &before)?;
        let record = keel_audit::Record {
            key: Some(format!("{report}/{name}")),
            before: Some(shown(&before)),
            detail: Some(format!("report {report}: schedule {name} deleted")),
            ..origin.record(action::REPORT_SCHEDULE_DELETE)
        };
        keel_audit::append(&mut txn, &keel_audit::chain_of(Some(tenant)), record)?;
        txn.finish()?.wait()?;
        Ok(true)
    }

    /// Makes schedule `name` of report `report` send at once, besides its
    /// timetable: its next slot still sends when it comes. False if there
    /// is no such schedule. Blocking.
    pub fn send_report_now(
        &self,
        origin: &keel_audit::Origin,
        tenant: &TenantId,
        (report, name): (&str, &str),
    ) -> keel_storage::Result<bool> {
        let mut txn = self.tenant_txn(tenant)?;
        let Some(bytes) = txn.catalog_get(&schedule_key(tenant, report, name))? else {
            return Ok(false);
        };
        let stored: ReportSchedule = decode("report schedule", &bytes)?;
        remove(&mut txn, tenant, &stored)?;
        let due = ReportSchedule {
            due_ms: now_ms(self),
            attempts: 0,
            error: None,
            sending_now: true,
            ..stored
        };
        put(&mut txn, tenant, &due)?;
        let record = keel_audit::Record {
            key: Some(format!("{report}/{name}")),
            detail: Some(format!("report {report}: schedule {name} set to send now")),
            ..origin.record(action::REPORT_SCHEDULE_NOW)
        };
        keel_audit::append(&mut txn, &keel_audit::chain_of(Some(tenant)), record)?;
        txn.finish()?.wait()?;
        self.inner.clock.notify(tenant);
        Ok(true)
    }

    /// Removes every schedule of report `report` in `txn` (the report is
    /// being deleted).
    pub(super) fn remove_report_schedules(
        &self,
        txn: &mut WriteTxn,
        tenant: &TenantId,
        report: &str,
    ) -> keel_storage::Result<()> {
        let prefix = format!("report-schedule/{tenant}/{report}/");
        for (_, bytes) in txn.catalog_page(&prefix, None, SCHEDULES_PER_REPORT_MAX)? {
            let schedule: ReportSchedule = decode("report schedule", &bytes)?;
            remove(txn, tenant, &schedule)?;
        }
        Ok(())
    }

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
        let sent = self.send_slot(tenant, &stored, attempt);
        self.record_slot(tenant, stored, attempt, sent).map_err(storage)?;
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
        let source =
            ReportSource { tenant: tenant.clone(), plugin, collection: source.collection, plan };
        let table = Reading::new(self, origin, source).and_then(|mut reading| {
            reading.read_until(u64::MAX, &|| self.inner.clock.stopped())?;
            reading.finish()
        });
        let table = match table {
            Ok(table) => table,
            Err(ReportError::Report(err)) => return Sent::Refused(err.to_string()),
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
            true if stored.slot > now => stored.slot,
            _ => timing_of(stored).next_after(now.max(stored.slot)).unwrap_or(i64::MAX / 1000),
        };
        ReportSchedule {
            slot,
            due_ms: slot.saturating_mul(1000),
            attempts: 0,
            error: None,
            last: Some(last),
            sending_now: false,
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

fn timing(name: &str, cron: &str, time_zone: &str) -> Schedule {
    Schedule {
        id: name.to_owned(),
        cron: cron.to_owned(),
        time_zone: time_zone.to_owned(),
        operation: "report".to_owned(),
        summary: String::new(),
    }
}

fn timing_of(schedule: &ReportSchedule) -> Schedule {
    timing(&schedule.name, &schedule.cron, &schedule.time_zone)
}

/// The schedule as the audit trail and the API show it: its secret left out.
pub fn shown(schedule: &ReportSchedule) -> serde_json::Value {
    let mut shown = serde_json::json!(schedule);
    shown["next"] = serde_json::json!(timing_of(schedule).local_time(schedule.slot));
    if let Some(webhook) =
        shown.pointer_mut("/send/webhook").and_then(serde_json::Value::as_object_mut)
    {
        webhook.remove("secret");
    }
    shown
}

fn schedule_key(tenant: &TenantId, report: &str, name: &str) -> String {
    format!("report-schedule/{tenant}/{report}/{name}")
}

fn due_key(tenant: &TenantId, schedule: &ReportSchedule) -> String {
    report_due_key(tenant, schedule.due_ms, &schedule.report, &schedule.name)
}

fn put(
    txn: &mut WriteTxn,
    tenant: &TenantId,
    schedule: &ReportSchedule,
) -> keel_storage::Result<()> {
    txn.catalog_put(&schedule_key(tenant, &schedule.report, &schedule.name), &encode(schedule)?)?;
    txn.catalog_put(&due_key(tenant, schedule), b"")
}

fn remove(
    txn: &mut WriteTxn,
    tenant: &TenantId,
    schedule: &ReportSchedule,
) -> keel_storage::Result<()> {
    txn.catalog_remove(&schedule_key(tenant, &schedule.report, &schedule.name))?;
    txn.catalog_remove(&due_key(tenant, schedule)).map(drop)
}
