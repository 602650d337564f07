//! Worked payslips and journal entries, figured apart (with Python's
//! `decimal` module, half-even to the cent as the core rounds), and the
//! properties every run keeps: a split adds up, a journal balances.

use std::collections::BTreeMap;

use proptest::prelude::*;
use rust_decimal::Decimal;

use super::formula::Formula;
use super::posting::{Accounts, ComponentAccounts, Costed, JournalLine, journal, payment, split};
use super::structure::{Component, Inputs, Kind, Payslip, Rule, Structure};

fn d(text: &str) -> Decimal {
    text.parse().unwrap()
}

fn component(code: &str, kind: Kind, rule: Rule, prorated: bool) -> Component {
    Component { code: code.to_owned(), kind, rule, prorated, statistical: false }
}

fn formula(text: &str) -> Rule {
    Rule::Formula(Formula::parse(text).unwrap())
}

fn percent(of: &str, rate: &str) -> Rule {
    Rule::Percent { of: of.to_owned(), rate: d(rate) }
}

/// Half of base as basic pay, a housing allowance of 40% of basic, a
/// transport allowance, a fixed special allowance; pension 8% of basic;
/// tax of 20% above 1,000 of taxable pay; the employer's pension 12%.
fn structure() -> Structure {
    Structure::new(vec![
        component("basic", Kind::Earning, percent("base", "50"), true),
        component("hra", Kind::Earning, formula("round(basic * 0.4, 2)"), false),
        component("transport", Kind::Earning, Rule::Fixed(d("150")), true),
        component("special", Kind::Earning, Rule::Fixed(d("200")), false),
        Component {
            statistical: true,
            ..component(
                "taxable",
                Kind::Earning,
                formula("basic + hra + transport + special"),
                false,
            )
        },
        component("tax", Kind::Deduction, formula("round(max(0, taxable - 1000) * 0.2, 2)"), false),
        component("pension", Kind::Deduction, percent("basic", "8"), false),
        component("employer_pension", Kind::Contribution, percent("basic", "12"), false),
    ])
    .unwrap()
}

fn slip(base: &str, working: &str, paid: &str) -> Payslip {
    let inputs = Inputs { base: d(base), working_days: d(working), payment_days: d(paid) };
    structure().compute(&inputs).unwrap()
}

fn amounts(slip: &Payslip) -> Vec<(&str, String)> {
    slip.lines.iter().map(|l| (l.code.as_str(), l.amount.to_string())).collect()
}

#[test]
fn a_full_month_and_a_prorated_one() {
    let full = slip("3000", "22", "22");
    assert_eq!(
        amounts(&full),
        [
            ("basic", "1500.00".to_owned()),
            ("hra", "600.00".to_owned()),
            ("transport", "150.00".to_owned()),
            ("special", "200.00".to_owned()),
            ("taxable", "2450.00".to_owned()),
            ("tax", "290.00".to_owned()),
            ("pension", "120.00".to_owned()),
            ("employer_pension", "180.00".to_owned()),
        ]
    );
    assert_eq!((full.gross, full.deductions, full.net), (d("2450.00"), d("410.00"), d("2040.00")));
    assert_eq!(full.contributions, d("180.00"));

    // 20 of 22 days paid: basic and transport are prorated; the rest
    // follow from them or are fixed.
    let prorated = slip("3000", "22", "20");
    let expected = [
        ("basic", "1363.64"),
        ("hra", "545.46"),
        ("transport", "136.36"),
        ("special", "200.00"),
        ("taxable", "2245.46"),
        ("tax", "249.09"),
        ("pension", "109.09"),
        ("employer_pension", "163.64"),
    ];
    let expected: Vec<(&str, String)> =
        expected.iter().map(|(c, a)| (*c, (*a).to_owned())).collect();
    assert_eq!(amounts(&prorated), expected);
    assert_eq!(
        (prorated.gross, prorated.deductions, prorated.net),
        (d("2245.46"), d("358.18"), d("1887.28"))
    );
    // No day paid: only what is not prorated, and what follows from it.
    let unpaid = slip("3000", "22", "0");
    assert_eq!(
        (unpaid.gross, unpaid.deductions, unpaid.net),
        (d("200.00"), d("0.00"), d("200.00"))
    );
}

#[test]
fn a_backdated_rise_is_paid_as_arrears_and_the_past_payslip_stands() {
    let paid = slip("3000", "22", "22");
    let due = slip("3300", "22", "22");
    let owed = paid.arrears(&due);
    let arrears: Vec<(&str, String)> =
        owed.iter().map(|l| (l.code.as_str(), l.amount.to_string())).collect();
    assert_eq!(
        arrears,
        [
            ("basic", "150.00".to_owned()),
            ("hra", "60.00".to_owned()),
            ("tax", "42.00".to_owned()),
            ("pension", "12.00".to_owned()),
            ("employer_pension", "18.00".to_owned()),
        ]
    );
    assert!(paid.arrears(&paid).is_empty());

    // The next payslip pays them on top of its own: 210.00 more gross,
    // 54.00 more deducted, 156.00 more net.
    let february = slip("3300", "22", "22");
    let with = february.with(&owed).unwrap();
    assert_eq!(with.gross - february.gross, d("210.00"));
    assert_eq!(with.deductions - february.deductions, d("54.00"));
    assert_eq!(
        (with.net - february.net, with.contributions - february.contributions),
        (d("156.00"), d("18.00"))
    );
    // Once paid, the period is settled: computed again, nothing is owed,
    // and what was paid in all adds up to what is due.
    let settled = paid.paid_with(&owed);
    assert!(settled.arrears(&due).is_empty());
    assert_eq!((settled.gross, settled.net), (due.gross, due.net));
    // A cut taken back as arrears may not leave the net below zero.
    let cut = paid.arrears(&slip("0", "22", "22"));
    let err = Payslip::empty().with(&cut).unwrap_err();
    assert!(err.to_string().contains("the net pay would be"), "{err}");
}

#[test]
fn a_structure_is_refused_when_saved_if_a_formula_could_not_be_computed() {
    let earning = |code: &str, rule: Rule| component(code, Kind::Earning, rule, false);
    for (components, expected) in [
        (vec![earning("a", formula("b + 1")), earning("b", formula("a * 2"))], "circle: a → b → a"),
        (
            vec![
                earning("a", formula("c")),
                earning("b", formula("a")),
                earning("c", percent("b", "5")),
            ],
            "circle: a → c → b → a",
        ),
        (vec![earning("a", formula("a + 1"))], "a refers to itself"),
        (vec![earning("a", formula("bonus * 2"))], "refers to bonus, which is neither"),
        (vec![earning("a", percent("gross", "10"))], "refers to gross"),
        (
            vec![earning("a", Rule::Fixed(d("1"))), earning("a", Rule::Fixed(d("2")))],
            "listed twice",
        ),
        (vec![earning("Basic", Rule::Fixed(d("1")))], "a-z, 0-9 and _"),
        (vec![earning("base", Rule::Fixed(d("1")))], "meaning of their own"),
        (vec![earning("round", Rule::Fixed(d("1")))], "meaning of their own"),
        (vec![earning("a", Rule::Fixed(d("-1")))], "zero or more"),
        (vec![earning("a", percent("base", "-5"))], "zero or more"),
        (vec![], "1 to 100 components"),
    ] {
        let err = Structure::new(components).unwrap_err().to_string();
        assert!(err.contains(expected), "{expected}: {err}");
    }
}

#[test]
fn a_payslip_that_cannot_be_paid_is_refused() {
    let structure = Structure::new(vec![
        component("basic", Kind::Earning, percent("base", "100"), true),
        component("loan", Kind::Deduction, Rule::Fixed(d("700")), false),
        component("ratio", Kind::Earning, formula("base / (working_days - payment_days)"), false),
    ]);
    let structure = structure.unwrap();
    let inputs = |base: &str, working: &str, paid: &str| Inputs {
        base: d(base),
        working_days: d(working),
        payment_days: d(paid),
    };
    for (inputs, expected) in [
        (inputs("1000", "20", "10"), "deductions (700.00) exceed earnings (600.00)"),
        (
            inputs("1000", "20", "20"),
            "component ratio: formula \"base / (working_days - payment_days)\": division by zero",
        ),
        (inputs("1000", "20", "21"), "payment days are 0 to the 20 working days"),
        (inputs("1000", "0", "0"), "working days"),
        (inputs("-1", "20", "10"), "base pay is zero or more"),
    ] {
        let err = structure.compute(&inputs).unwrap_err().to_string();
        assert!(err.contains(expected), "{expected}: {err}");
    }
}

fn accounts() -> Accounts {
    let expense =
        |account: &str| ComponentAccounts { expense: Some(account.to_owned()), liability: None };
    let liability =
        |account: &str| ComponentAccounts { expense: None, liability: Some(account.to_owned()) };
    let mut components: BTreeMap<String, ComponentAccounts> =
        ["basic", "hra", "transport", "special"]
            .iter()
            .map(|code| ((*code).to_owned(), expense("6410")))
            .collect();
    components.insert("tax".to_owned(), liability("4420"));
    components.insert("pension".to_owned(), liability("4310"));
    components.insert(
        "employer_pension".to_owned(),
        ComponentAccounts { expense: Some("6450".to_owned()), liability: Some("4310".to_owned()) },
    );
    Accounts { components, payable: "4210".to_owned() }
}

fn shares(list: &[(&str, &str)]) -> Vec<(String, Decimal)> {
    list.iter().map(|(department, share)| ((*department).to_owned(), d(share))).collect()
}

fn line(account: &str, department: Option<&str>, debit: &str, credit: &str) -> JournalLine {
    JournalLine {
        account: account.to_owned(),
        department: department.map(str::to_owned),
        debit: d(debit),
        credit: d(credit),
    }
}

#[test]
fn a_run_posts_one_balanced_entry_by_department() {
    let (full, prorated) = (slip("3000", "22", "22"), slip("3000", "22", "20"));
    let slips = [
        Costed { payslip: &full, departments: shares(&[("ops", "60"), ("sales", "40")]) },
        Costed { payslip: &prorated, departments: shares(&[("ops", "100")]) },
    ];
    let entry = journal(&slips, &accounts()).unwrap();
    assert_eq!(
        entry,
        [
            line("6410", Some("ops"), "3715.46", "0.00"),
            line("6410", Some("sales"), "980.00", "0.00"),
            line("6450", Some("ops"), "271.64", "0.00"),
            line("6450", Some("sales"), "72.00", "0.00"),
            line("4210", None, "0.00", "3927.28"),
            line("4310", None, "0.00", "572.73"),
            line("4420", None, "0.00", "539.09"),
        ]
    );
    let [clear, bank] = payment(d("3927.28"), "4210", "5120");
    assert_eq!(
        (clear.debit, bank.credit, bank.account.as_str()),
        (d("3927.28"), d("3927.28"), "5120")
    );

    let mut no_tax = accounts();
    no_tax.components.remove("tax");
    let err = journal(&slips, &no_tax).unwrap_err().to_string();
    assert!(err.contains("payslip 1: component tax has no accounts"), "{err}");
    let lopsided =
        [Costed { payslip: &full, departments: shares(&[("ops", "60"), ("sales", "30")]) }];
    let err = journal(&lopsided, &accounts()).unwrap_err().to_string();
    assert!(err.contains("add up to 100, not 90"), "{err}");
}

#[test]
fn a_split_gives_the_cents_left_to_the_largest_remainders() {
    let thirds = shares(&[("a", "33.33"), ("b", "33.33"), ("c", "33.34")]);
    let parts: Vec<String> =
        split(d("0.10"), &thirds).into_iter().map(|(_, p)| p.to_string()).collect();
    assert_eq!(parts, ["0.03", "0.03", "0.04"]);
    let halves = shares(&[("a", "50"), ("b", "50")]);
    let parts: Vec<String> =
        split(d("0.01"), &halves).into_iter().map(|(_, p)| p.to_string()).collect();
    assert_eq!(parts, ["0.01", "0.00"], "a tie goes to the first listed");
}

/// 1,000 employees in 7 departments, many shared between two or three:
/// the entry balances to the cent, and its expense is every payslip's.
#[test]
fn a_thousand_employees_in_seven_departments_balance_to_the_cent() {
    let departments = ["ops", "sales", "it", "hr", "finance", "legal", "rnd"];
    let slips: Vec<Payslip> = (0..1000)
        .map(|n| {
            let base = Decimal::from(1800 + (n * 37) % 4000) + Decimal::new((n * 13) % 100, 2);
            let paid = Decimal::from(22 - (n % 5));
            structure()
                .compute(&Inputs { base, working_days: d("22"), payment_days: paid })
                .unwrap()
        })
        .collect();
    let costed: Vec<Costed<'_>> = slips
        .iter()
        .enumerate()
        .map(|(n, payslip)| {
            let first = departments[n % 7];
            let second = departments[(n + 3) % 7];
            let third = departments[(n + 5) % 7];
            let departments = match n % 3 {
                0 => shares(&[(first, "100")]),
                1 => shares(&[(first, "33.33"), (second, "33.33"), (third, "33.34")]),
                _ => shares(&[(first, "12.5"), (second, "87.5")]),
            };
            Costed { payslip, departments }
        })
        .collect();
    let entry = journal(&costed, &accounts()).unwrap();
    let debits: Decimal = entry.iter().map(|l| l.debit).sum();
    let credits: Decimal = entry.iter().map(|l| l.credit).sum();
    assert_eq!(debits, credits);
    let expense: Decimal = slips.iter().map(|s| s.gross + s.contributions).sum();
    assert_eq!(debits, expense);
    let net: Decimal = slips.iter().map(|s| s.net).sum();
    let payable = entry.iter().find(|l| l.account == "4210").unwrap();
    assert_eq!(payable.credit, net);
    assert_eq!(entry.iter().filter(|l| l.department.is_some()).count(), 14, "2 accounts × 7");
}

fn shares_strategy() -> impl Strategy<Value = Vec<(String, Decimal)>> {
    proptest::collection::vec(1u32..10_000, 1..6).prop_map(|weights| {
        // Shares in hundredths of a percent that add up to exactly 100.
        let total: u32 = weights.iter().sum();
        let mut hundredths: Vec<u32> = weights.iter().map(|w| w * 10_000 / total).collect();
        let short = 10_000 - hundredths.iter().sum::<u32>();
        hundredths[0] += short;
        hundredths
            .into_iter()
            .enumerate()
            .filter(|(_, h)| *h > 0)
            .map(|(i, h)| (format!("d{i}"), Decimal::new(i64::from(h), 2)))
            .collect()
    })
}

proptest! {
    #[test]
    fn a_split_adds_up_and_each_part_is_within_a_cent_of_its_share(
        cents in 0i64..100_000_000,
        shares in shares_strategy(),
    ) {
        let amount = Decimal::new(cents, 2);
        let parts = split(amount, &shares);
        prop_assert_eq!(parts.iter().map(|(_, p)| *p).sum::<Decimal>(), amount);
        for ((_, part), (_, share)) in parts.iter().zip(&shares) {
            let exact = amount * *share / Decimal::ONE_HUNDRED;
            prop_assert!((*part - exact).abs() < Decimal::new(1, 2), "{} for {}", part, exact);
        }
    }

    #[test]
    fn a_runs_journal_always_balances(
        employees in proptest::collection::vec(
            (0i64..2_000_000, 0u32..=22, shares_strategy()),
            1..40,
        ),
    ) {
        let slips: Vec<Payslip> = employees
            .iter()
            .map(|(base, paid, _)| {
                let inputs = Inputs {
                    base: Decimal::new(*base, 2),
                    working_days: d("22"),
                    payment_days: Decimal::from(*paid),
                };
                structure().compute(&inputs).unwrap()
            })
            .collect();
        let costed: Vec<Costed<'_>> = slips
            .iter()
            .zip(&employees)
            .map(|(payslip, (_, _, departments))| Costed { payslip, departments: departments.clone() })
            .collect();
        let entry = journal(&costed, &accounts()).unwrap();
        let debits: Decimal = entry.iter().map(|l| l.debit).sum();
        let credits: Decimal = entry.iter().map(|l| l.credit).sum();
        prop_assert_eq!(debits, credits);
        prop_assert!(entry.iter().all(|l| l.debit.scale() == 2 && l.credit.scale() == 2));
    }
}
