//! A directory provider whose `find_person` of `N` recurses `N` frames
//! deep, then asks the ledger (cycle-ledger) for the balance of an account
//! of the same name: see cycle-ledger.

use keel_sdk::erp::{self, DirectoryProvider};
use keel_sdk::{Error, Plugin, Request, Response, Result};

struct Cycle;

/// Uses `frames` frames of stack, then runs `then`.
fn deep<T>(frames: u64, then: &mut dyn FnMut() -> T) -> T {
    let pad = std::hint::black_box([frames; 64]);
    if frames == 0 {
        return then();
    }
    let out = deep(frames - 1, then);
    std::hint::black_box(pad[(frames % 64) as usize]);
    out
}

impl Plugin for Cycle {
    fn handle(operation: &str, _request: Request) -> Result<Response> {
        Err(Error::unknown_operation(operation))
    }
}

impl DirectoryProvider for Cycle {
    fn find_person(id: String) -> Result<Option<erp::Person>> {
        let n: u64 = id.parse().map_err(|_| Error::invalid("the id is a number"))?;
        deep(n, &mut || erp::ledger::balance(&id, None))?;
        Ok(None)
    }

    fn find_org_unit(_id: String) -> Result<Option<erp::OrgUnit>> {
        Ok(None)
    }

    fn members(_org_unit: String) -> Result<Vec<erp::Person>> {
        Ok(Vec::new())
    }

    fn manager_chain(_person: String) -> Result<Vec<erp::Person>> {
        Ok(Vec::new())
    }

    fn active_on(_person: String, _date: String) -> Result<bool> {
        Ok(false)
    }
}

keel_sdk::export_plugin!(Cycle);
keel_sdk::export_directory!(Cycle);
