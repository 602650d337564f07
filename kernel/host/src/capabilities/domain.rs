//! `keel:erp/*`: the domain interfaces one plugin calls on another,
//! mediated by the kernel.
//!
//! A consumer's call goes to the plugin its tenant has chosen to provide
//! the interface. The kernel checks that the consumer's manifest requires
//! it, lends the consumer's transaction to a fresh instance of the
//! provider, which works in its own namespace under the same caller, and
//! takes it back. Everything commits with the consumer's call, or nothing:
//! a provider that returns an error has its changes undone (back to a
//! savepoint) and the error goes to the consumer; a provider that traps,
//! runs out of time or memory, or meets a storage failure fails the
//! consumer's whole call. Each call that completes in a write call is
//! audited as `interface.call`.

use keel_types::action;
use std::sync::Arc;

use keel_storage::Txn;
use wasmtime::Store;
use wasmtime::component::Instance;

use crate::bindings::WitError;
use crate::bindings::keel::erp::types::{
    Account, AccountBalance, CustomerInvoice, GoodsIssue, GoodsReceipt, InvoiceSummary, Item,
    JournalEntry, OrgUnit, Payable, Person, StatementFigures, StockLevel, StockTransfer, Valuation,
};
use crate::bindings::keel::erp::{directory, ledger, stock};
use crate::call::{self, CallState};
use crate::package::{Plugin, Provides};

type HostResult<T> = wasmtime::Result<Result<T, WitError>>;

/// Most provider calls one call may be nested in: procurement calling
/// stock calling the ledger is two.
const DEPTH_MAX: u8 = 4;

const LEDGER: &str = "keel:erp/ledger@0.3.0";
const STOCK: &str = "keel:erp/stock@0.3.0";
const DIRECTORY: &str = "keel:erp/directory@0.3.0";

/// A provider's instance, for one call of one of its interfaces.
struct Provider<'a> {
    store: &'a mut Store<CallState>,
    instance: Instance,
    provides: &'a Provides,
}

impl CallState {
    /// Calls `function` of `interface` on the tenant's provider of it.
    fn mediate<T>(
        &mut self,
        interface: &'static str,
        function: &'static str,
        call: impl FnOnce(Provider<'_>) -> HostResult<T>,
    ) -> HostResult<T> {
        let consumer = self.plugin.manifest().id.to_string();
        if !self.plugin.manifest().requires(interface) {
            return Ok(Err(WitError::Denied(format!(
                "plugin {consumer} does not list {interface} under `requires` in its manifest"
            ))));
        }
        if self.depth >= DEPTH_MAX {
            return Ok(Err(WitError::LimitExceeded(format!(
                "provider calls may nest at most {DEPTH_MAX} deep"
            ))));
        }
        let Some(host) = self.host.clone() else {
            return Ok(Err(WitError::Denied(format!(
                "{interface} cannot be called here (migrations run without other plugins)"
            ))));
        };
        let tenant = self.ns.tenant().clone();
        let Some(provider) = host.provider(&tenant, interface) else {
            return Ok(Err(WitError::Conflict(format!(
                "tenant {tenant} has no provider of {interface}: enable a plugin that provides it"
            ))));
        };
        let Some(txn) = self.txn.take() else {
            return Err(wasmtime::Error::msg("the call's transaction is already lent"));
        };
        let savepoint = match &txn {
            Txn::Write(txn) => Some(txn.savepoint()),
            Txn::Read(_) => None,
        };
        let mut state = CallState::new(Arc::clone(&provider), tenant, txn, &host.inner);
        // The provider spends the call's budgets, not fresh ones.
        state.memory = self.memory.for_provider();
        state.n_events = self.n_events;
        state.n_audit_events = self.n_audit_events;
        state.n_log_lines = self.n_log_lines;
        state.reads_outside = self.n_reads();
        state.origin = self.origin.clone();
        state.caller = self.caller.clone();
        state.request_id = self.request_id.clone();
        state.permissions = self.permissions.clone();
        state.host = Some(host.clone());
        state.depth = self.depth + 1;
        state.guard = self.guard.clone();
        state.deadline = self.deadline;
        let mut store = call::store(&host.inner.engine, state);
        let outcome = provider.pre.instance_pre().instantiate(&mut store).and_then(|instance| {
            call(Provider { store: &mut store, instance, provides: &provider.provides })
        });
        let mut state = store.into_data();
        self.txn = state.txn.take();
        self.provider_reads.extend(state.read_records());
        self.n_events = state.n_events;
        self.n_audit_events = state.n_audit_events;
        self.n_log_lines = state.n_log_lines;
        let provider_id = provider.manifest().id.to_string();
        let result = match outcome {
            Ok(result) => result,
            Err(err) => {
                let failure = call::classify_trap(&provider_id, &mut state, &err);
                tracing::warn!(%consumer, provider = %provider_id, %interface, %function, error = %failure, "provider failed");
                self.provider_failure = Some(failure);
                return Err(err.context(format!("provider {provider_id} of {interface} failed")));
            }
        };
        let written = match (&mut self.txn, savepoint) {
            (Some(Txn::Write(txn)), Some(savepoint)) => Some((txn, savepoint)),
            _ => None,
        };
        if let Some((txn, savepoint)) = written {
            let call = Call { consumer: &consumer, provider: &provider, interface, function };
            let kept = match &result {
                Ok(_) => call.audit(txn, &self.origin, self.ns.tenant()),
                Err(_) => txn.roll_back_to(savepoint),
            };
            if let Err(err) = kept {
                let message = err.to_string();
                self.storage_fault = Some(crate::call::storage_error(err));
                return Err(wasmtime::Error::msg(message));
            }
        }
        Ok(result)
    }
}

/// One completed provider call.
struct Call<'a> {
    consumer: &'a str,
    provider: &'a Plugin,
    interface: &'a str,
    function: &'a str,
}

impl Call<'_> {
    /// Appends its `interface.call` record to `tenant`'s chain.
    fn audit(
        &self,
        txn: &mut keel_storage::WriteTxn,
        origin: &keel_audit::Origin,
        tenant: &keel_types::TenantId,
    ) -> keel_storage::Result<()> {
        let provider = self.provider.manifest();
        let record = keel_audit::Record {
            plugin: Some(self.consumer.to_owned()),
            detail: Some(format!(
                "{} {}, provided by {} {}",
                self.interface, self.function, provider.id, provider.version
            )),
            ..origin.record(action::INTERFACE_CALL)
        };
        keel_audit::append(txn, &keel_audit::chain_of(Some(tenant)), record).map(drop)
    }
}

impl Provider<'_> {
    fn ledger(
        &mut self,
    ) -> wasmtime::Result<crate::bindings::providers::exports::keel::erp::ledger::Guest> {
        let indices = self.provides.ledger.as_ref().ok_or_else(|| not_provided(LEDGER))?;
        indices.load(&mut *self.store, &self.instance)
    }

    fn stock(
        &mut self,
    ) -> wasmtime::Result<crate::bindings::providers::exports::keel::erp::stock::Guest> {
        let indices = self.provides.stock.as_ref().ok_or_else(|| not_provided(STOCK))?;
        indices.load(&mut *self.store, &self.instance)
    }

    fn directory(
        &mut self,
    ) -> wasmtime::Result<crate::bindings::providers::exports::keel::erp::directory::Guest> {
        let indices = self.provides.directory.as_ref().ok_or_else(|| not_provided(DIRECTORY))?;
        indices.load(&mut *self.store, &self.instance)
    }
}

fn not_provided(interface: &str) -> wasmtime::Error {
    wasmtime::Error::msg(format!("the chosen provider does not export {interface}"))
}

impl ledger::Host for CallState {
    fn post(&mut self, entry: JournalEntry) -> HostResult<u64> {
        self.mediate(LEDGER, "post", |mut p| p.ledger()?.call_post(&mut *p.store, &entry))
    }

    fn record_payable(&mut self, payable: Payable) -> HostResult<String> {
        self.mediate(LEDGER, "record-payable", |mut p| {
            p.ledger()?.call_record_payable(&mut *p.store, &payable)
        })
    }

    fn balance(&mut self, account: String, as_of: Option<String>) -> HostResult<AccountBalance> {
        self.mediate(LEDGER, "balance", |mut p| {
            p.ledger()?.call_balance(&mut *p.store, &account, as_of.as_deref())
        })
    }

    fn ensure_account(&mut self, account: Account) -> HostResult<()> {
        self.mediate(LEDGER, "ensure-account", |mut p| {
            p.ledger()?.call_ensure_account(&mut *p.store, &account)
        })
    }

    fn company_currency(&mut self) -> HostResult<String> {
        self.mediate(LEDGER, "company-currency", |mut p| {
            p.ledger()?.call_company_currency(&mut *p.store)
        })
    }

    fn check_period(
        &mut self,
        date: String,
        journal: Option<String>,
    ) -> HostResult<Option<String>> {
        self.mediate(LEDGER, "check-period", |mut p| {
            p.ledger()?.call_check_period(&mut *p.store, &date, journal.as_deref())
        })
    }

    fn create_invoice(&mut self, invoice: CustomerInvoice) -> HostResult<InvoiceSummary> {
        self.mediate(LEDGER, "create-invoice", |mut p| {
            p.ledger()?.call_create_invoice(&mut *p.store, &invoice)
        })
    }

    fn statement(&mut self, from: String, to: String) -> HostResult<StatementFigures> {
        self.mediate(LEDGER, "statement", |mut p| {
            p.ledger()?.call_statement(&mut *p.store, &from, &to)
        })
    }
}

impl stock::Host for CallState {
    fn find_item(&mut self, code: String) -> HostResult<Option<Item>> {
        self.mediate(STOCK, "find-item", |mut p| p.stock()?.call_find_item(&mut *p.store, &code))
    }

    fn receive(&mut self, receipt: GoodsReceipt) -> HostResult<Valuation> {
        self.mediate(STOCK, "receive", |mut p| p.stock()?.call_receive(&mut *p.store, &receipt))
    }

    fn issue(&mut self, issue: GoodsIssue) -> HostResult<Valuation> {
        self.mediate(STOCK, "issue", |mut p| p.stock()?.call_issue(&mut *p.store, &issue))
    }

    fn transfer(&mut self, transfer: StockTransfer) -> HostResult<()> {
        self.mediate(STOCK, "transfer", |mut p| p.stock()?.call_transfer(&mut *p.store, &transfer))
    }

    fn on_hand(&mut self, item: String, location: Option<String>) -> HostResult<Vec<StockLevel>> {
        self.mediate(STOCK, "on-hand", |mut p| {
            p.stock()?.call_on_hand(&mut *p.store, &item, location.as_deref())
        })
    }
}

impl directory::Host for CallState {
    fn find_person(&mut self, id: String) -> HostResult<Option<Person>> {
        self.mediate(DIRECTORY, "find-person", |mut p| {
            p.directory()?.call_find_person(&mut *p.store, &id)
        })
    }

    fn find_org_unit(&mut self, id: String) -> HostResult<Option<OrgUnit>> {
        self.mediate(DIRECTORY, "find-org-unit", |mut p| {
            p.directory()?.call_find_org_unit(&mut *p.store, &id)
        })
    }

    fn members(&mut self, org_unit: String) -> HostResult<Vec<Person>> {
        self.mediate(DIRECTORY, "members", |mut p| {
            p.directory()?.call_members(&mut *p.store, &org_unit)
        })
    }

    fn manager_chain(&mut self, person: String) -> HostResult<Vec<Person>> {
        self.mediate(DIRECTORY, "manager-chain", |mut p| {
            p.directory()?.call_manager_chain(&mut *p.store, &person)
        })
    }

    fn active_on(&mut self, person: String, date: String) -> HostResult<bool> {
        self.mediate(DIRECTORY, "active-on", |mut p| {
            p.directory()?.call_active_on(&mut *p.store, &person, &date)
        })
    }
}
