//! Journals: the built-in five and the tenant's own.

use keel_sdk::{Error, Range, Request, Response, Result, audit};

use crate::books::{self, JOURNALS};
use crate::contract::accounts::Journals;
use crate::ledger::journal::{self, NewJournal};

/// `GET /journals`: the built-in journals, then the tenant's own by code.
pub(crate) fn list(_: &Request) -> Result<Response> {
    let mut journals = journal::built_in();
    journals.extend(JOURNALS.scan_all(&Range::all())?.into_iter().map(|(_, j)| j));
    Response::ok(&Journals { journals })
}

/// `POST /journals`: a journal of the tenant's own, such as a second bank.
pub(crate) fn create(request: &Request) -> Result<Response> {
    let journal = request.json::<NewJournal>()?.check()?;
    if books::journal(&journal.code)?.is_some() {
        return Err(Error::conflict(format!("journal {} already exists", journal.code)));
    }
    JOURNALS.insert(&journal.code, &journal)?;
    audit::record(audit::Event {
        action: "journal.created",
        collection: Some("journals"),
        key: Some(&journal.code),
        detail: &format!("journal {} ({}) created", journal.code, journal.name),
    })?;
    Response::created(&journal)
}
