//! A tenant's report schedules: a saved report run on a timetable (cron
//! and time zone) as the person who scheduled it, with their permissions
//! as they are at each run, and its answer mailed as a file (through the
//! host's [`Mailer`]) or posted as signed JSON to a webhook (through its
//! [`Outbound`]). Kernel catalog records, in the tenant's lane:
//! `report-schedule/<tenant>/<report>/<name>`, with an entry in the
//! timers' due index, so the clock that fires timers sends reports too.
//!
//! How a slot is sent is `reports/sending.rs`. A slot is sent first and
//! recorded after (`report.send`), so a crash
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
use keel_storage::WriteTxn;
use keel_types::{TenantId, action};

use super::{SavedReport, report_key};
use crate::firing::now_ms;
use crate::host::Host;
use crate::records::{decode, encode};
use crate::schedules::LastRun;
use crate::timers::report_due_key;

/// Most schedules one report has.
pub const SCHEDULES_PER_REPORT_MAX: usize = 8;
/// The shortest time between two slots of a schedule, in seconds: a
/// report goes to people, or to an endpoint, no oftener.
const SLOTS_APART_MIN: i64 = 15 * 60;
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
    /// When it was asked to send at once, besides its timetable (Unix
    /// seconds): once sent (or given up on), it waits for `slot` again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sending_now: Option<i64>,
}

impl ReportSchedule {
    /// The time the send under way is for: its slot, or when it was asked
    /// to send now.
    pub(super) fn sending_for(&self) -> i64 {
        self.sending_now.unwrap_or(self.slot)
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
        self.slots_apart(&timing).map_err(invalid)?;
        // Addresses and endpoints are checked (a name resolved) before the
        // tenant's lane is taken, so a slow resolver holds up no one's writes.
        let context = schedule_key(tenant, report, name);
        let (mut send, secret) = match (new.email, new.webhook) {
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
                // None: the report's title, once it is read.
                let subject = email.subject.unwrap_or_default();
                if subject.len() > SUBJECT_BYTES_MAX || subject.chars().any(char::is_control) {
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
        let mut txn = self.tenant_txn(tenant)?;
        let Some(saved) = txn.catalog_get(&report_key(tenant, report))? else {
            return Err(ScheduleError::NoReport);
        };
        let saved: SavedReport = decode("report", &saved)?;
        if let Destination::Email { subject, .. } = &mut send
            && subject.trim().is_empty()
        {
            subject.clone_from(&saved.definition.title);
        }
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
            sending_now: None,
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

    /// Refuses a timetable whose slots come less than [`SLOTS_APART_MIN`]
    /// apart (over its next 50 slots).
    fn slots_apart(&self, timing: &Schedule) -> Result<(), String> {
        let mut at = self.now().seconds;
        let mut last: Option<i64> = None;
        for _ in 0..50 {
            let Some(next) = timing.next_after(at) else { break };
            if let Some(last) = last
                && next - last < SLOTS_APART_MIN
            {
                return Err(format!(
                    "cron {:?} sends more often than every {} minutes, which a report may not",
                    timing.cron,
                    SLOTS_APART_MIN / 60
                ));
            }
            (last, at) = (Some(next), next);
        }
        Ok(())
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
    /// timetable: its next slot still sends when it comes. None if there
    /// is no such schedule; false, changing nothing, while a send is
    /// already due or being retried. Blocking.
    pub fn send_report_now(
        &self,
        origin: &keel_audit::Origin,
        tenant: &TenantId,
        (report, name): (&str, &str),
    ) -> keel_storage::Result<Option<bool>> {
        let mut txn = self.tenant_txn(tenant)?;
        let Some(bytes) = txn.catalog_get(&schedule_key(tenant, report, name))? else {
            return Ok(None);
        };
        let stored: ReportSchedule = decode("report schedule", &bytes)?;
        if stored.sending_now.is_some() || stored.attempts > 0 || stored.due_ms <= now_ms(self) {
            return Ok(Some(false));
        }
        remove(&mut txn, tenant, &stored)?;
        let due = ReportSchedule {
            due_ms: now_ms(self),
            attempts: 0,
            error: None,
            sending_now: Some(self.now().seconds),
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
        Ok(Some(true))
    }

    /// Removes every schedule of report `report` in `txn` (the report is
    /// being deleted).
    /// The names of those removed.
    pub(super) fn remove_report_schedules(
        &self,
        txn: &mut WriteTxn,
        tenant: &TenantId,
        report: &str,
    ) -> keel_storage::Result<Vec<String>> {
        let prefix = format!("report-schedule/{tenant}/{report}/");
        let mut names = Vec::new();
        for (_, bytes) in txn.catalog_page(&prefix, None, SCHEDULES_PER_REPORT_MAX)? {
            let schedule: ReportSchedule = decode("report schedule", &bytes)?;
            remove(txn, tenant, &schedule)?;
            names.push(schedule.name);
        }
        Ok(names)
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

pub(super) fn timing_of(schedule: &ReportSchedule) -> Schedule {
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

pub(super) fn schedule_key(tenant: &TenantId, report: &str, name: &str) -> String {
    format!("report-schedule/{tenant}/{report}/{name}")
}

pub(super) fn due_key(tenant: &TenantId, schedule: &ReportSchedule) -> String {
    report_due_key(tenant, schedule.due_ms, &schedule.report, &schedule.name)
}

pub(super) fn put(
    txn: &mut WriteTxn,
    tenant: &TenantId,
    schedule: &ReportSchedule,
) -> keel_storage::Result<()> {
    txn.catalog_put(&schedule_key(tenant, &schedule.report, &schedule.name), &encode(schedule)?)?;
    txn.catalog_put(&due_key(tenant, schedule), b"")
}

pub(super) fn remove(
    txn: &mut WriteTxn,
    tenant: &TenantId,
    schedule: &ReportSchedule,
) -> keel_storage::Result<()> {
    txn.catalog_remove(&schedule_key(tenant, &schedule.report, &schedule.name))?;
    txn.catalog_remove(&due_key(tenant, schedule)).map(drop)
}
