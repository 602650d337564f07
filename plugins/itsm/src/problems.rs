//! Problems as served: opened by an agent, grouping incidents (each
//! incident names its problem, so a problem's incidents are an index
//! lookup), known errors with their root cause and workaround.

use keel_sdk::contract::JsonSchema;
use keel_sdk::{Collection, Error, Range, Request, Response, Result, context};
use serde::{Deserialize, Serialize};

use crate::rules::problem::Problem;
use crate::rules::ticket::State;
use crate::stored::TICKETS;
use crate::tickets;

const PROBLEMS: Collection<ProblemDoc> = Collection::new("problems");

/// A problem as kept and shown.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub(crate) struct ProblemDoc {
    /// `PRB-000001`.
    id: String,
    title: String,
    #[serde(default)]
    description: String,
    #[serde(flatten)]
    life: Problem,
    /// Who opened it, by user id.
    opened_by: String,
    /// Unix seconds.
    opened_at: i64,
    /// Unix seconds.
    updated_at: i64,
}

fn problem(id: &str) -> Result<ProblemDoc> {
    PROBLEMS.get(id)?.ok_or_else(|| Error::not_found(format!("problem {id} does not exist")))
}

/// A problem, as opened.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Opened {
    /// 1 to 200 bytes.
    title: String,
    /// At most 16,000 bytes.
    #[serde(default)]
    description: String,
    /// The incidents it groups so far, by id.
    #[serde(default)]
    incidents: Vec<String>,
}

/// `POST /problems`: with the incidents it groups so far.
pub(crate) fn open(request: &Request) -> Result<Response> {
    let opened: Opened = request.json()?;
    let title = opened.title.trim().to_owned();
    if title.is_empty() || title.len() > 200 || opened.description.len() > 16_000 {
        return Err(Error::invalid("a title is 1 to 200 bytes, a description at most 16,000"));
    }
    let now = context::now_seconds();
    let number = keel_sdk::next_sequence("problems")?;
    let mut doc = ProblemDoc {
        id: format!("PRB-{number:06}"),
        title,
        description: opened.description,
        life: Problem::open(),
        opened_by: crate::who::caller(),
        opened_at: now,
        updated_at: now,
    };
    for incident in &opened.incidents {
        if doc.life.link(incident)? {
            tickets::group_under(incident, &doc.id)?;
        }
    }
    PROBLEMS.insert(&doc.id, &doc)?;
    Response::created(&doc)
}

/// `GET /problems/{id}`: with its incidents as they stand.
pub(crate) fn get(request: &Request) -> Result<Response> {
    let doc = problem(request.param("id")?)?;
    let incidents = TICKETS
        .lookup_all("by-problem", &Range::exactly(doc.id.clone()))?
        .into_iter()
        .map(|(_, t)| Incident { id: t.id, title: t.title, state: t.life.state })
        .collect();
    Response::ok(&ProblemDetail { problem: doc, incidents })
}

/// A problem with its incidents as they stand.
#[derive(Serialize, JsonSchema)]
pub(crate) struct ProblemDetail {
    problem: ProblemDoc,
    incidents: Vec<Incident>,
}

/// An incident grouped under a problem.
#[derive(Serialize, JsonSchema)]
pub(crate) struct Incident {
    id: String,
    title: String,
    state: State,
}

/// One more incident to group under a problem.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Linked {
    /// The incident, by id.
    incident: String,
}

/// `POST /problems/{id}/incidents`: one more incident grouped under it.
pub(crate) fn link(request: &Request) -> Result<Response> {
    let linked: Linked = request.json()?;
    let mut doc = problem(request.param("id")?)?;
    if doc.life.link(&linked.incident)? {
        tickets::group_under(&linked.incident, &doc.id)?;
        doc.updated_at = context::now_seconds();
        PROBLEMS.put(&doc.id, &doc)?;
    }
    Response::ok(&doc)
}

/// A problem's next step.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
#[serde(tag = "step")]
pub(crate) enum Step {
    /// Its root cause is known (a known error), with a workaround.
    KnownError {
        root_cause: String,
        #[serde(default)]
        workaround: Option<String>,
    },
    Resolve,
    Close,
}

/// `PATCH /problems/{id}`: `{"step": "known-error", "root_cause": …,
/// "workaround": …}`, `{"step": "resolve"}` or `{"step": "close"}`.
pub(crate) fn update(request: &Request) -> Result<Response> {
    let step: Step = request.json()?;
    let mut doc = problem(request.param("id")?)?;
    match step {
        Step::KnownError { root_cause, workaround } => {
            doc.life.know(&root_cause, workaround.as_deref())?;
        }
        Step::Resolve => doc.life.resolve()?,
        Step::Close => doc.life.close()?,
    }
    doc.updated_at = context::now_seconds();
    PROBLEMS.put(&doc.id, &doc)?;
    Response::ok(&doc)
}
