//! Problems as served: opened by an agent, grouping incidents (each
//! incident names its problem, so a problem's incidents are an index
//! lookup), known errors with their root cause and workaround.

use keel_sdk::{Collection, Error, Range, Request, Response, Result, context};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::rules::problem::Problem;
use crate::stored::TICKETS;
use crate::tickets;

const PROBLEMS: Collection<ProblemDoc> = Collection::new("problems");

#[derive(Debug, Clone, Serialize, Deserialize)]
struct ProblemDoc {
    id: String,
    title: String,
    #[serde(default)]
    description: String,
    #[serde(flatten)]
    life: Problem,
    opened_by: String,
    opened_at: i64,
    updated_at: i64,
}

fn problem(id: &str) -> Result<ProblemDoc> {
    PROBLEMS.get(id)?.ok_or_else(|| Error::not_found(format!("problem {id} does not exist")))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Opened {
    title: String,
    #[serde(default)]
    description: String,
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
    let incidents: Vec<_> = TICKETS
        .lookup_all("by-problem", &Range::exactly(doc.id.clone()))?
        .into_iter()
        .map(|(_, t)| json!({ "id": t.id, "title": t.title, "state": t.life.state }))
        .collect();
    Response::ok(&json!({ "problem": doc, "incidents": incidents }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Linked {
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
#[serde(tag = "step")]
enum Step {
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
