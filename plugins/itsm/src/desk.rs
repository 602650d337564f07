//! The desk's settings as served: the priority matrix (a preset or the
//! tenant's own) and the reopening window, business calendars, and SLA
//! policies. Each change is checked whole before it is kept.

use std::collections::BTreeMap;

use keel_sdk::contract::JsonSchema;
use keel_sdk::{Collection, Error, Range, Request, Response, Result, audit};
use serde::{Deserialize, Serialize};

use crate::rules::history::{History, VERSIONS_MAX};
use crate::rules::hours::{Hours, HoursDef};
use crate::rules::policy::{POLICIES_MAX, Policy};
use crate::rules::priority::Matrix;

pub(crate) const SETTINGS: Collection<Settings> = Collection::new("settings");
pub(crate) const CALENDARS: Collection<HoursDef> = Collection::new("calendars");
/// A calendar's earlier versions, keyed `<calendar>/<until>` (Unix
/// seconds, zero-padded): each held until that instant.
const CALENDAR_VERSIONS: Collection<HoursDef> = Collection::new("calendar-versions");
pub(crate) const POLICIES: Collection<Policy> = Collection::new("policies");
/// The one settings document.
const DESK: &str = "desk";
/// The calendar every tenant has: every hour of every day, on UTC.
pub(crate) const ALWAYS: &str = "ALWAYS";
/// Most items registered as assets when received.
const ASSET_ITEMS_MAX: usize = 1000;
/// The longest reopening window: a year's hours.
const REOPEN_HOURS_MAX: i64 = 24 * 366;
/// Most calendars a tenant keeps.
const CALENDARS_MAX: u32 = 100;

/// The desk's settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Settings {
    /// The priority matrix: `cells[urgency - 1][impact - 1]`.
    pub matrix: Matrix,
    /// How long after its resolution a ticket may be reopened, in hours.
    pub reopen_window_hours: i64,
    /// Items bought through procurement that are assets, by item code:
    /// the class each received unit is registered as.
    #[serde(default)]
    pub asset_items: BTreeMap<String, String>,
    /// Every service request waits for an approval first.
    #[serde(default)]
    pub requests_need_approval: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            matrix: Matrix::servicenow(),
            reopen_window_hours: 7 * 24,
            asset_items: BTreeMap::new(),
            requests_need_approval: false,
        }
    }
}

/// The settings, or the defaults (the ServiceNow matrix, a week to reopen).
pub(crate) fn settings() -> Result<Settings> {
    Ok(SETTINGS.get(DESK)?.unwrap_or_default())
}

/// `GET /settings`.
pub(crate) fn get_settings(_: &Request) -> Result<Response> {
    Response::ok(&settings()?)
}

/// What changes of the desk's settings; what is not given stays.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewSettings {
    /// `servicenow` (3×3) or `glpi` (5×5), or:
    #[serde(default)]
    preset: Option<String>,
    /// The tenant's own matrix.
    #[serde(default)]
    matrix: Option<Matrix>,
    /// How long after its resolution a ticket may be reopened: 0 to a
    /// year's hours.
    #[serde(default)]
    #[schemars(range(min = 0, max = REOPEN_HOURS_MAX))]
    reopen_window_hours: Option<i64>,
    /// Replaces the items registered as assets when received.
    #[serde(default)]
    asset_items: Option<BTreeMap<String, String>>,
    /// Every service request waits for an approval first.
    #[serde(default)]
    requests_need_approval: Option<bool>,
}

/// `PUT /settings`: a preset or a matrix of the tenant's own, and the
/// reopening window; what is not given stays.
pub(crate) fn put_settings(request: &Request) -> Result<Response> {
    let new: NewSettings = request.json()?;
    let mut settings = settings()?;
    match (new.preset, new.matrix) {
        (Some(_), Some(_)) => {
            return Err(Error::invalid("give a preset or a matrix, not both"));
        }
        (Some(preset), None) => settings.matrix = Matrix::preset(&preset)?,
        (None, Some(matrix)) => {
            matrix.check()?;
            settings.matrix = matrix;
        }
        (None, None) => {}
    }
    if let Some(hours) = new.reopen_window_hours {
        if !(0..=REOPEN_HOURS_MAX).contains(&hours) {
            return Err(Error::invalid(format!(
                "reopen_window_hours is 0 to {REOPEN_HOURS_MAX}, not {hours}"
            )));
        }
        settings.reopen_window_hours = hours;
    }
    if let Some(assets) = new.asset_items {
        if assets.len() > ASSET_ITEMS_MAX {
            return Err(Error::invalid(format!(
                "at most {ASSET_ITEMS_MAX} items are registered as assets"
            )));
        }
        for (item, class) in &assets {
            keel_values::code::check_code("item", item)?;
            crate::cmdb::expect_class(class)?;
        }
        settings.asset_items = assets;
    }
    if let Some(approval) = new.requests_need_approval {
        settings.requests_need_approval = approval;
    }
    SETTINGS.put(DESK, &settings)?;
    let detail = format!(
        "{}×{} priority matrix, reopening within {} hours",
        settings.matrix.size(),
        settings.matrix.size(),
        settings.reopen_window_hours
    );
    audit::record(audit::Event {
        action: "settings.changed",
        collection: Some("settings"),
        key: Some(DESK),
        detail: &detail,
    })?;
    Response::ok(&settings)
}

/// The calendar `id`, checked, with its earlier versions; `ALWAYS` unless
/// the tenant defined it.
pub(crate) fn calendar(id: &str) -> Result<History> {
    calendar_since(id, i64::MIN)
}

/// The calendar `id` with only the versions that held after `since`: all
/// that clocks running since then count on.
pub(crate) fn calendar_since(id: &str, since: i64) -> Result<History> {
    let current = match CALENDARS.get(id)? {
        Some(def) => Hours::new(&def)?,
        None if id == ALWAYS => return Ok(History::new(Hours::always())),
        None => return Err(Error::invalid(format!("calendar {id} does not exist"))),
    };
    let earlier = earlier_versions(id, since)?
        .into_iter()
        .map(|(until, def)| Ok((until, Hours::new(&def)?)))
        .collect::<Result<Vec<_>>>()?;
    Ok(History::of(earlier, current))
}

/// The earlier versions of calendar `id` that held after `since`, each
/// with the instant it held until, oldest first.
fn earlier_versions(id: &str, since: i64) -> Result<Vec<(i64, HoursDef)>> {
    let prefix = format!("{id}/");
    let limit = u32::try_from(VERSIONS_MAX + 1).unwrap_or(u32::MAX);
    // Keys sort by the instant; `<id>0` is past every `<id>/…`.
    let from = Some(format!("{prefix}{:012}", since.max(0)));
    let range = Range::between(from, Some(format!("{id}0")));
    // At most `VERSIONS_MAX` are kept (plus the one an edit adds before
    // pruning), and pages go on past a page's byte limit.
    let mut versions = Vec::new();
    let mut cursor = None;
    loop {
        let page = CALENDAR_VERSIONS.scan(&range, cursor.as_deref(), limit)?;
        versions.extend(page.items);
        match page.cursor {
            Some(next) if versions.len() <= VERSIONS_MAX => cursor = Some(next),
            _ => break,
        }
    }
    Ok(versions
        .into_iter()
        .filter_map(|(key, def)| {
            let until = key.strip_prefix(&prefix)?.parse::<i64>().ok()?;
            Some((until, def))
        })
        .collect())
}

/// Calendars read and checked once each, for a call that shows many
/// tickets.
#[derive(Default)]
pub(crate) struct Calendars(BTreeMap<String, History>);

impl Calendars {
    /// The calendar `id`, read the first time it is asked for.
    pub(crate) fn get(&mut self, id: &str) -> Result<&History> {
        match self.0.entry(id.to_owned()) {
            std::collections::btree_map::Entry::Occupied(kept) => Ok(kept.into_mut()),
            std::collections::btree_map::Entry::Vacant(slot) => Ok(slot.insert(calendar(id)?)),
        }
    }
}

/// `PUT /calendars/{id}`: working hours per weekday, holidays and time
/// zone. A change holds from now: the version it replaces is kept with
/// the instant it held until, so that clocks running on the calendar keep
/// the business time they counted on it, and count on the new hours from
/// now; their deadlines, timers and places in the overdue queue move in
/// the background.
pub(crate) fn put_calendar(request: &Request) -> Result<Response> {
    let id = request.param("id")?;
    keel_values::code::check_code("calendar", id)?;
    if id == ALWAYS {
        return Err(Error::invalid(format!("calendar {ALWAYS} is built in: every hour, on UTC")));
    }
    let def: HoursDef = request.json()?;
    Hours::new(&def)?;
    if CALENDARS.get(id)?.is_none()
        && CALENDARS.scan(&Range::all(), None, CALENDARS_MAX)?.items.len()
            >= usize::try_from(CALENDARS_MAX).unwrap_or(usize::MAX)
    {
        return Err(Error::invalid(format!("a tenant keeps at most {CALENDARS_MAX} calendars")));
    }
    if let Some(was) = CALENDARS.get(id)?.filter(|was| *was != def) {
        let now = keel_sdk::context::now_seconds();
        let earlier = earlier_versions(id, i64::MIN)?;
        // Versions in the order they held, whatever the clock did; one
        // replaced within the second it was saved held for no time at all.
        let last = earlier.last().map(|(last, _)| *last);
        let until = last.map_or(now, |last| now.max(last)).max(0);
        let added = last != Some(until);
        if added {
            CALENDAR_VERSIONS.put(&format!("{id}/{until:012}"), &was)?;
        }
        let kept = earlier.len() + usize::from(added);
        for (until, _) in earlier.iter().take(kept.saturating_sub(VERSIONS_MAX)) {
            CALENDAR_VERSIONS.delete(&format!("{id}/{until:012}"))?;
        }
        sweep(&format!("sweep/calendar/{id}"), Some(id), now)?;
    }
    CALENDARS.put(id, &def)?;
    Response::ok(&Calendar { id: id.to_owned(), calendar: def })
}

/// A business calendar, by id.
#[derive(Serialize, JsonSchema)]
pub(crate) struct Calendar {
    id: String,
    calendar: HoursDef,
}

/// The tenant's calendars, and those built in.
#[derive(Serialize, JsonSchema)]
pub(crate) struct CalendarList {
    calendars: Vec<Calendar>,
    /// Calendars every tenant has: `ALWAYS`, every hour on UTC.
    built_in: Vec<String>,
}

/// `GET /calendars`.
pub(crate) fn list_calendars(_: &Request) -> Result<Response> {
    let calendars = CALENDARS
        .scan_all(&Range::all())?
        .into_iter()
        .map(|(id, calendar)| Calendar { id, calendar })
        .collect();
    Response::ok(&CalendarList { calendars, built_in: vec![ALWAYS.to_owned()] })
}

/// Every policy, in the order of their ids: the order they are chosen in.
pub(crate) fn policies() -> Result<Vec<Policy>> {
    Ok(POLICIES.scan_all(&Range::all())?.into_iter().map(|(_, p)| p).collect())
}

/// What a sweep's timer carries (run by `clocks`): after a calendar or a
/// policy changed, the open tickets to look at again, a batch at each
/// firing, from after `cursor`.
#[derive(Serialize, Deserialize)]
pub(crate) struct Sweep {
    /// The calendar changed, or else a policy.
    pub calendar: Option<String>,
    pub cursor: Option<String>,
}

/// Starts the sweep `key` now, over again if one was under way.
fn sweep(key: &str, calendar: Option<&str>, now: i64) -> Result<()> {
    let sweep = Sweep { calendar: calendar.map(str::to_owned), cursor: None };
    keel_sdk::timers::set(key, now, &sweep)
}

/// `PUT /sla-policies/{id}`: checked, on a calendar that exists. Chosen
/// for a ticket in the order of their ids, one for its service first. A
/// change reaches the open tickets too, in the background: each goes on
/// under the policy now chosen for it, with its targets, keeping what its
/// clocks spent.
pub(crate) fn put_policy(request: &Request) -> Result<Response> {
    let id = request.param("id")?;
    let policy: Policy = request.json()?;
    if policy.id != id {
        return Err(Error::invalid(format!("the path names policy {id}, the body {}", policy.id)));
    }
    policy.check()?;
    calendar(&policy.calendar)?;
    if POLICIES.get(id)?.is_none() && policies()?.len() >= POLICIES_MAX {
        return Err(Error::invalid(format!("a tenant keeps at most {POLICIES_MAX} SLA policies")));
    }
    if POLICIES.get(id)?.as_ref() != Some(&policy) {
        POLICIES.put(id, &policy)?;
        sweep("sweep/policies", None, keel_sdk::context::now_seconds())?;
    }
    Response::ok(&policy)
}

/// The tenant's SLA policies, in the order they are chosen in.
#[derive(Serialize, JsonSchema)]
pub(crate) struct PolicyList {
    policies: Vec<Policy>,
}

/// `GET /sla-policies`.
pub(crate) fn list_policies(_: &Request) -> Result<Response> {
    Response::ok(&PolicyList { policies: policies()? })
}
