//! Micro-benchmarks of the ledger core, natively: checking a posted entry
//! (parse, validate, balance, resolve against the chart, per-account
//! deltas) and building a trial balance from account totals.

use std::collections::HashMap;
use std::str::FromStr;

use criterion::{Criterion, criterion_group, criterion_main};
use keel_finance::ledger::account::template;
use keel_finance::ledger::balance::{Totals, trial_balance};
use keel_finance::ledger::entry::NewEntry;
use rust_decimal::Decimal;

const ENTRY: &str = r#"{"date":"2026-11-10","memo":"Office rent","lines":[
    {"account":"6100","debit":"800.00"},{"account":"2100","debit":"160.00"},
    {"account":"1100","credit":"900.00"},{"account":"2000","credit":"60.00"}]}"#;

fn ledger(c: &mut Criterion) {
    let chart: HashMap<_, _> = template("starter", "EUR")
        .unwrap()
        .into_iter()
        .map(|account| (account.code.clone(), account))
        .collect();
    c.bench_function("ledger/check-entry-4-lines", |b| {
        b.iter(|| {
            let checked = serde_json::from_str::<NewEntry>(ENTRY).unwrap().check().unwrap();
            checked.resolve(&chart, "EUR").unwrap();
            checked.deltas().unwrap()
        });
    });
    let totals: Vec<_> = chart
        .values()
        .enumerate()
        .map(|(n, account)| {
            let amount = Decimal::from_str(&format!("{}.{:02}", 1000 + n * 37, n % 100)).unwrap();
            let totals = Totals { debit: amount, credit: amount / Decimal::TWO };
            (account.clone(), totals)
        })
        .collect();
    c.bench_function("ledger/trial-balance-starter-chart", |b| {
        b.iter(|| trial_balance(totals.clone(), "EUR").unwrap());
    });
}

criterion_group!(benches, ledger);
criterion_main!(benches);
