//! Micro-benchmark of payroll's pure core, natively: a run of 10,000
//! employees in 7 departments (payslips from an eight-component structure
//! with formulas, then the one journal entry split by department), the
//! calculation the issue asks to finish, posting included, in under 60 s.

use std::collections::BTreeMap;
use std::str::FromStr;

use criterion::{Criterion, criterion_group, criterion_main};
use keel_hr::payroll::formula::Formula;
use keel_hr::payroll::posting::{Accounts, ComponentAccounts, Costed, journal};
use keel_hr::payroll::structure::{Component, Inputs, Kind, Rule, Structure};
use rust_decimal::Decimal;

fn d(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap()
}

fn structure() -> Structure {
    let component = |code: &str, kind, rule, prorated| Component {
        code: code.to_owned(),
        kind,
        rule,
        prorated,
        statistical: code == "taxable",
    };
    let formula = |text: &str| Rule::Formula(Formula::parse(text).unwrap());
    let percent = |of: &str, rate: &str| Rule::Percent { of: of.to_owned(), rate: d(rate) };
    Structure::new(vec![
        component("basic", Kind::Earning, percent("base", "50"), true),
        component("hra", Kind::Earning, formula("round(basic * 0.4, 2)"), false),
        component("transport", Kind::Earning, Rule::Fixed(d("150")), true),
        component("special", Kind::Earning, Rule::Fixed(d("200")), false),
        component("taxable", Kind::Earning, formula("basic + hra + transport + special"), false),
        component("tax", Kind::Deduction, formula("round(max(0, taxable - 1000) * 0.2, 2)"), false),
        component("pension", Kind::Deduction, percent("basic", "8"), false),
        component("employer_pension", Kind::Contribution, percent("basic", "12"), false),
    ])
    .unwrap()
}

fn accounts() -> Accounts {
    let account = |expense: Option<&str>, liability: Option<&str>| ComponentAccounts {
        expense: expense.map(str::to_owned),
        liability: liability.map(str::to_owned),
    };
    let mut components = BTreeMap::new();
    for code in ["basic", "hra", "transport", "special"] {
        components.insert(code.to_owned(), account(Some("6410"), None));
    }
    components.insert("tax".to_owned(), account(None, Some("4420")));
    components.insert("pension".to_owned(), account(None, Some("4310")));
    components.insert("employer_pension".to_owned(), account(Some("6450"), Some("4310")));
    Accounts { components, payable: "4210".to_owned() }
}

fn payroll(c: &mut Criterion) {
    let structure = structure();
    let accounts = accounts();
    let departments = ["ops", "sales", "it", "hr", "finance", "legal", "rnd"];
    let employees: Vec<(Inputs, Vec<(String, Decimal)>)> = (0..10_000)
        .map(|n: i64| {
            let base = Decimal::from(1800 + (n * 37) % 4000) + Decimal::new((n * 13) % 100, 2);
            let inputs =
                Inputs { base, working_days: d("22"), payment_days: Decimal::from(22 - n % 5) };
            let first = departments[(n % 7) as usize].to_owned();
            let second = departments[((n + 3) % 7) as usize].to_owned();
            let shares = if n % 2 == 0 {
                vec![(first, d("100"))]
            } else {
                vec![(first, d("33.33")), (second, d("66.67"))]
            };
            (inputs, shares)
        })
        .collect();
    let mut group = c.benchmark_group("payroll");
    group.sample_size(10);
    group.bench_function("run-10000-employees", |b| {
        b.iter(|| {
            let slips: Vec<_> =
                employees.iter().map(|(inputs, _)| structure.compute(inputs).unwrap()).collect();
            let costed: Vec<Costed<'_>> = slips
                .iter()
                .zip(&employees)
                .map(|(payslip, (_, departments))| Costed {
                    payslip,
                    departments: departments.clone(),
                })
                .collect();
            journal(&costed, &accounts).unwrap()
        });
    });
    group.finish();
}

criterion_group!(benches, payroll);
criterion_main!(benches);
