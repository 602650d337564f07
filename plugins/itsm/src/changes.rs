//! Changes as served: asked for by anyone who may, run by change managers
//! from assessment to review, and authorised by the named members of their
//! advisory board, never by whoever asked for them; implementation before
//! authorisation is refused (an emergency change is authorised after the
//! fact, before it closes).

use keel_sdk::contract::JsonSchema;
use keel_sdk::{Collection, Error, Range, Request, Response, Result, audit, context};
use serde::{Deserialize, Serialize};

use crate::cmdb;
use crate::rules::change::{Board, Change, ChangeState, ChangeType, Risk};
use crate::who::{Decision, signed_in};

const CHANGES: Collection<ChangeDoc> = Collection::new("changes");

/// A change as kept and shown.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub(crate) struct ChangeDoc {
    /// `CHG-000001`.
    id: String,
    title: String,
    #[serde(default)]
    description: String,
    #[serde(flatten)]
    life: Change,
    /// The configuration items it changes.
    #[serde(default)]
    items: Vec<String>,
    /// Unix seconds.
    opened_at: i64,
    /// Unix seconds.
    updated_at: i64,
}

fn change(id: &str) -> Result<ChangeDoc> {
    CHANGES.get(id)?.ok_or_else(|| Error::not_found(format!("change {id} does not exist")))
}

/// Checks that change `id` exists (a ticket pending on it names it).
pub(crate) fn expect(id: &str) -> Result<()> {
    change(id).map(drop).map_err(|_| Error::invalid(format!("change {id} does not exist")))
}

/// A change, as asked for.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Requested {
    #[serde(rename = "type")]
    kind: ChangeType,
    /// 1 to 200 bytes.
    title: String,
    /// At most 16,000 bytes.
    #[serde(default)]
    description: String,
    #[serde(default)]
    risk: Option<Risk>,
    #[serde(default)]
    backout_plan: Option<String>,
    /// The advisory board: the users who may approve, and how many must.
    #[serde(default)]
    board: Option<Board>,
    /// The configuration items it changes, at most 50.
    #[serde(default)]
    items: Vec<String>,
}

/// `POST /changes`: a normal change states its risk, backout plan and
/// board; a standard one is authorised in advance.
pub(crate) fn request(request: &Request) -> Result<Response> {
    let requested: Requested = request.json()?;
    let requester = signed_in("asking for a change")?;
    let title = requested.title.trim().to_owned();
    if title.is_empty() || title.len() > 200 || requested.description.len() > 16_000 {
        return Err(Error::invalid("a title is 1 to 200 bytes, a description at most 16,000"));
    }
    if requested.items.len() > 50 {
        return Err(Error::invalid("a change names at most 50 configuration items"));
    }
    for item in &requested.items {
        cmdb::expect_item(item)?;
    }
    let life = Change::new(
        requested.kind,
        &requester,
        requested.risk,
        requested.backout_plan,
        requested.board,
    )?;
    let now = context::now_seconds();
    let number = keel_sdk::next_sequence("changes")?;
    let doc = ChangeDoc {
        id: format!("CHG-{number:06}"),
        title,
        description: requested.description,
        life,
        items: requested.items,
        opened_at: now,
        updated_at: now,
    };
    CHANGES.insert(&doc.id, &doc)?;
    Response::created(&doc)
}

/// `GET /changes/{id}`.
pub(crate) fn get(request: &Request) -> Result<Response> {
    Response::ok(&change(request.param("id")?)?)
}

/// `GET /changes`: by `state`, or all.
pub(crate) fn list(request: &Request) -> Result<Response> {
    let (cursor, limit) = (request.query("cursor"), request.page_limit()?);
    let page = match request.query("state") {
        Some(state) => CHANGES.lookup("by-state", &Range::exactly(state), cursor, limit)?,
        None => CHANGES.scan(&Range::all(), cursor, limit)?,
    };
    let changes = page.items.into_iter().map(|(_, c)| c).collect();
    Response::ok(&ChangePage { changes, cursor: page.cursor })
}

/// A page of changes.
#[derive(Serialize, JsonSchema)]
pub(crate) struct ChangePage {
    changes: Vec<ChangeDoc>,
    /// Where the next page starts; null on the last.
    cursor: Option<String>,
}

/// `GET /changes?state=`
#[derive(JsonSchema)]
#[allow(dead_code, reason = "described for the contract; the handler reads the query")]
pub(crate) struct ChangesQuery {
    /// Only changes in this state.
    state: Option<ChangeState>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Window {
    /// Unix seconds.
    from: i64,
    to: i64,
}

/// `POST /changes/{id}/steps/{step}`: `assessment`, `board` (to its
/// advisory board), `schedule` (with `{"from", "to"}`), `implementation`,
/// `review`, `closure` or `cancellation`.
pub(crate) fn step(request: &Request) -> Result<Response> {
    let mut doc = change(request.param("id")?)?;
    let step = request.param("step")?;
    match step {
        "assessment" => doc.life.assess()?,
        "board" => doc.life.to_board()?,
        "schedule" => {
            let window: Window = request.json()?;
            doc.life.schedule(window.from, window.to)?;
        }
        "implementation" => doc.life.implement()?,
        "review" => doc.life.review()?,
        "closure" => doc.life.close()?,
        "cancellation" => doc.life.cancel()?,
        other => {
            return Err(Error::not_found(format!(
                "a change has no step {other:?}; the steps are assessment, board, schedule, \
                 implementation, review, closure and cancellation"
            )));
        }
    }
    doc.updated_at = context::now_seconds();
    CHANGES.put(&doc.id, &doc)?;
    Response::ok(&doc)
}

/// `POST /changes/{id}/decisions`: a member of its board approves or
/// refuses, never its requester; audited with who and why.
pub(crate) fn decide(request: &Request) -> Result<Response> {
    let decision: Decision = request.json()?;
    let by = signed_in("deciding on a change")?;
    decision.check()?;
    let mut doc = change(request.param("id")?)?;
    if decision.approve {
        doc.life.approve(&by)?;
    } else {
        doc.life.refuse(&by)?;
    }
    doc.updated_at = context::now_seconds();
    CHANGES.put(&doc.id, &doc)?;
    let detail = format!("{}; now {:?}", decision.detail(&doc.id, &by), doc.life.state);
    audit::record(audit::Event {
        action: if decision.approve { "change.approved" } else { "change.refused" },
        collection: Some("changes"),
        key: Some(&doc.id),
        detail: &detail,
    })?;
    Response::ok(&doc)
}
