//! Reports run over documents as a ledger keeps them: exact sums by
//! group, filters by type, the order and limit asked for, and every
//! mistake in a definition named.

use proptest::prelude::*;
use rust_decimal::Decimal;
use serde_json::{Value, json};

use super::*;

fn lines_source() -> keel_manifest::Reportable {
    serde_json::from_value(json!({
        "id": "entry-lines",
        "title": "Entry lines",
        "collection": "entries",
        "permission": "books.read",
        "each": "/lines",
        "fields": [
            { "name": "number", "field": "/number", "type": "integer" },
            { "name": "date", "field": "/date", "type": "date" },
            { "name": "memo", "field": "/memo" },
            { "name": "account", "field": "/account", "of_each": true },
            { "name": "debit", "field": "/debit", "type": "decimal", "of_each": true },
            { "name": "credit", "field": "/credit", "type": "decimal", "of_each": true },
        ],
    }))
    .unwrap()
}

fn entry(number: u64, date: &str, memo: &str, lines: &[(&str, &str, &str)]) -> Value {
    let lines: Vec<Value> = lines
        .iter()
        .map(|(account, debit, credit)| json!({ "account": account, "debit": debit, "credit": credit }))
        .collect();
    json!({ "number": number, "date": date, "memo": memo, "lines": lines })
}

fn ledger() -> Vec<Value> {
    vec![
        entry(1, "2026-01-05", "Capital", &[("1000", "5000.00", "0"), ("3000", "0", "5000.00")]),
        entry(
            2,
            "2026-01-20",
            "Rent January",
            &[("6100", "1200.10", "0"), ("1000", "0", "1200.10")],
        ),
        entry(
            3,
            "2026-02-20",
            "Rent February",
            &[("6100", "1200.10", "0"), ("1000", "0", "1200.10")],
        ),
        entry(4, "2026-03-01", "Sale", &[("1000", "0.30", "0"), ("4000", "0", "0.30")]),
    ]
}

fn today() -> keel_values::Date {
    keel_values::Date::parse("2026-03-10").unwrap()
}

fn definition(value: Value) -> Definition {
    serde_json::from_value(value).unwrap()
}

fn run(definition: &Definition, docs: &[Value]) -> Table {
    let mut run = Run::new(definition.plan(&lines_source()).unwrap(), &today());
    for doc in docs {
        run.feed(doc).unwrap();
    }
    run.finish()
}

#[test]
fn grouped_sums_are_exact_and_in_group_order() {
    let by_account = definition(json!({
        "title": "Movements by account",
        "source": "finance/entry-lines",
        "group_by": ["account"],
        "aggregates": [
            { "name": "lines", "op": "count" },
            { "name": "debits", "op": "sum", "field": "debit" },
            { "name": "credits", "op": "sum", "field": "credit" },
            { "name": "average_debit", "op": "avg", "field": "debit" },
            { "name": "first", "op": "min", "field": "date" },
        ],
    }));
    let table = run(&by_account, &ledger());
    assert_eq!(table.scanned, 4);
    assert_eq!(table.matched, 8);
    assert_eq!(
        table.rows,
        vec![
            json!({ "account": "1000", "lines": 4, "debits": "5000.3", "credits": "2400.2", "average_debit": "1250.075", "first": "2026-01-05" }),
            json!({ "account": "3000", "lines": 1, "debits": "0", "credits": "5000", "average_debit": "0", "first": "2026-01-05" }),
            json!({ "account": "4000", "lines": 1, "debits": "0", "credits": "0.3", "average_debit": "0", "first": "2026-03-01" }),
            json!({ "account": "6100", "lines": 2, "debits": "2400.2", "credits": "0", "average_debit": "1200.1", "first": "2026-01-20" }),
        ]
    );
    let names: Vec<&str> = table.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["account", "lines", "debits", "credits", "average_debit", "first"]);
    assert!(table.columns[2].total && !table.columns[4].total);
    // The export renders the answer's rows by these columns.
    let export = table.export();
    assert_eq!(export.rows, "/rows");
    assert_eq!(
        table.to_json().pointer(&format!("{}/0/debits", export.rows)),
        Some(&json!("5000.3"))
    );
}

#[test]
fn filters_read_their_values_as_the_fields_type() {
    let rent = definition(json!({
        "title": "Rent after January",
        "source": "finance/entry-lines",
        "columns": ["number", "date", "account", "debit"],
        "filters": [
            { "field": "memo", "op": "contains", "value": "rent" },
            { "field": "date", "op": "ge", "value": "2026-02-01" },
            { "field": "debit", "op": "gt", "value": "1000" },
        ],
    }));
    let table = run(&rent, &ledger());
    assert_eq!(
        table.rows,
        vec![json!({ "number": 3, "date": "2026-02-20", "account": "6100", "debit": "1200.1" })]
    );
    // Decimals compare by value, not as text: "0.30" < "5" < "1200.10".
    let small = definition(json!({
        "title": "Small",
        "source": "finance/entry-lines",
        "columns": ["number", "debit"],
        "filters": [{ "field": "debit", "op": "lt", "value": 5 }, { "field": "debit", "op": "ne", "value": "0" }],
    }));
    assert_eq!(run(&small, &ledger()).rows, vec![json!({ "number": 4, "debit": "0.3" })]);
    let some = definition(json!({
        "title": "Some accounts",
        "source": "finance/entry-lines",
        "columns": ["account"],
        "filters": [{ "field": "account", "op": "in", "value": ["3000", "4000"] }],
    }));
    assert_eq!(
        run(&some, &ledger()).rows,
        vec![json!({ "account": "3000" }), json!({ "account": "4000" })]
    );
}

#[test]
fn dates_relative_to_the_day_of_the_run_are_fixed_when_it_starts() {
    // Run on 10 March 2026: last month is February.
    let last_month = definition(json!({
        "title": "Last month",
        "source": "finance/entry-lines",
        "columns": ["number"],
        "filters": [
            { "field": "date", "op": "ge", "value": "month-start-1" },
            { "field": "date", "op": "lt", "value": "month-start" },
        ],
    }));
    let numbers: Vec<Value> = run(&last_month, &ledger()).rows;
    assert_eq!(numbers, vec![json!({ "number": 3 }), json!({ "number": 3 })]);
    let bad = definition(
        json!({ "title": "x", "source": "finance/entry-lines", "filters": [{ "field": "memo", "op": "eq", "value": "today-" }] }),
    );
    assert!(bad.plan(&lines_source()).is_ok(), "on a text field it is text");
    let bad = definition(
        json!({ "title": "x", "source": "finance/entry-lines", "filters": [{ "field": "date", "op": "eq", "value": "yesterday" }] }),
    );
    assert!(
        bad.plan(&lines_source()).unwrap_err()[0]
            .contains("\"yesterday\" is not a value of a date field")
    );
}

#[test]
fn sort_and_limit_cut_the_answer_and_say_so() {
    let largest = definition(json!({
        "title": "Largest debits",
        "source": "finance/entry-lines",
        "columns": ["number", "debit"],
        "filters": [{ "field": "debit", "op": "gt", "value": "0" }],
        "sort": [{ "by": "debit", "descending": true }, { "by": "number" }],
        "limit": 2,
    }));
    let table = run(&largest, &ledger());
    assert_eq!(
        table.rows,
        vec![json!({ "number": 1, "debit": "5000" }), json!({ "number": 2, "debit": "1200.1" })]
    );
    assert!(table.truncated);
    assert_eq!(table.matched, 4);
}

#[test]
fn aggregates_without_groups_answer_one_row_even_over_nothing() {
    let totals = definition(json!({
        "title": "Totals",
        "source": "finance/entry-lines",
        "filters": [{ "field": "account", "op": "eq", "value": "9999" }],
        "aggregates": [{ "name": "lines", "op": "count" }, { "name": "debits", "op": "sum", "field": "debit" }],
    }));
    assert_eq!(run(&totals, &ledger()).rows, vec![json!({ "lines": 0, "debits": "0" })]);
}

#[test]
fn every_mistake_in_a_definition_is_named() {
    let bad = definition(json!({
        "title": "",
        "source": "finance/entry-lines",
        "columns": ["account", "memo", "colour"],
        "filters": [
            { "field": "date", "op": "ge", "value": "2026-13-01" },
            { "field": "debit", "op": "contains", "value": "1" },
            { "field": "account", "op": "in", "value": "1000" },
        ],
        "group_by": ["account"],
        "aggregates": [{ "name": "total", "op": "sum", "field": "memo" }, { "name": "Bad Name", "op": "max", "field": "date" }],
        "sort": [{ "by": "debit" }],
        "limit": 0,
    }));
    let problems = bad.plan(&lines_source()).unwrap_err();
    let said = problems.join("\n");
    for expected in [
        "title",
        "\"memo\" is not grouped by",
        "field \"colour\", which source finance/entry-lines does not offer",
        "filters[0] (date): \"2026-13-01\" is not a value of a date field",
        "filters[1] (debit): `contains` looks for text",
        "filters[2] (account): `in` compares with an array",
        "aggregates[0]: Sum needs an integer or decimal field",
        "aggregates[1]: a name is 1 to 64",
        "sort[0]: \"debit\" is not a column",
        "limit: 1 to 100000",
    ] {
        assert!(said.contains(expected), "missing {expected:?} in:\n{said}");
    }
}

#[test]
fn odd_documents_read_as_missing_values_rather_than_stopping_the_report() {
    let all = definition(json!({
        "title": "All",
        "source": "finance/entry-lines",
        "group_by": ["account"],
        "aggregates": [{ "name": "debits", "op": "sum", "field": "debit" }],
    }));
    let odd = [
        json!({ "number": "x", "lines": "not an array" }),
        json!({ "lines": [{ "account": ["nested"], "debit": "1e9" }, 7, { "account": "1000", "debit": {"a": 1} }] }),
        json!(null),
    ];
    let table = run(&all, &odd);
    assert_eq!(table.scanned, 3);
    assert_eq!(
        table.rows,
        vec![
            json!({ "account": null, "debits": "0" }),
            json!({ "account": "1000", "debits": "0" })
        ]
    );
}

#[test]
fn an_answer_past_its_bytes_is_refused_as_it_grows() {
    let memos = definition(
        json!({ "title": "Memos", "source": "finance/entry-lines", "columns": ["memo"] }),
    );
    let mut run = Run::new(memos.plan(&lines_source()).unwrap(), &today());
    let long = "x".repeat(1024 * 1024);
    let doc = json!({ "memo": long, "lines": [{ "account": "1000" }] });
    let refused = (0..100).find_map(|_| run.feed(&doc).err());
    assert_eq!(refused, Some(RunError::TooLarge));
    assert!(run.scanned() <= 65, "refused as soon as it passed: {}", run.scanned());
    // The same documents grouped keep one key, whatever their number.
    let grouped = definition(
        json!({ "title": "By account", "source": "finance/entry-lines", "group_by": ["account"], "aggregates": [{ "name": "n", "op": "count" }] }),
    );
    let mut run = Run::new(grouped.plan(&lines_source()).unwrap(), &today());
    (0..100).for_each(|_| run.feed(&doc).unwrap());
    let table = run.finish();
    assert_eq!(table.rows, vec![json!({ "account": "1000", "n": 100 })]);
    assert_eq!(serde_json::from_slice::<Value>(&table.to_json_bytes()).unwrap(), table.to_json());
}

fn amount() -> impl Strategy<Value = Decimal> {
    (-1_000_000_000i64..1_000_000_000, 0u32..4)
        .prop_map(|(units, scale)| Decimal::new(units, scale))
}

proptest! {
    /// The groups' sums add up to the sum over every row, exactly, and a
    /// sorted, limited answer is the first rows of the whole set sorted:
    /// cutting back as rows come never loses one that belongs.
    #[test]
    fn groups_add_up_and_limits_keep_the_first_rows(
        lines in prop::collection::vec((0u8..20, amount()), 1..3000),
        limit in 1usize..50,
    ) {
        let docs: Vec<Value> = lines
            .iter()
            .enumerate()
            .map(|(n, (account, debit))| json!({
                "number": n,
                "lines": [{ "account": format!("{account:04}"), "debit": debit.to_string() }],
            }))
            .collect();
        let total: Decimal = lines.iter().map(|(_, d)| *d).sum();
        let grouped = definition(json!({
            "title": "By account",
            "source": "finance/entry-lines",
            "group_by": ["account"],
            "aggregates": [{ "name": "debits", "op": "sum", "field": "debit" }],
        }));
        let table = run(&grouped, &docs);
        let sum: Decimal = table
            .rows
            .iter()
            .map(|row| match &row["debits"] {
                Value::String(text) => text.parse::<Decimal>().unwrap(),
                Value::Number(n) => Decimal::from(n.as_i64().unwrap()),
                other => panic!("{other}"),
            })
            .sum();
        prop_assert_eq!(sum, total);

        let top = definition(json!({
            "title": "Top",
            "source": "finance/entry-lines",
            "columns": ["number", "debit"],
            "sort": [{ "by": "debit", "descending": true }, { "by": "number" }],
            "limit": limit,
        }));
        let table = run(&top, &docs);
        let mut expected: Vec<(Decimal, usize)> = lines.iter().enumerate().map(|(n, (_, d))| (*d, n)).collect();
        expected.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        expected.truncate(limit);
        let got: Vec<(Decimal, usize)> = table
            .rows
            .iter()
            .map(|row| (row["debit"].as_str().unwrap().parse().unwrap(), row["number"].as_u64().unwrap() as usize))
            .collect();
        prop_assert_eq!(got, expected);
        prop_assert_eq!(table.truncated, lines.len() > limit);
    }
}
