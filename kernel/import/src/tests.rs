//! Plans of whole files, and the value readers' properties.

use super::*;
use keel_manifest::Manifest;
use proptest::prelude::*;
use rust_decimal::Decimal;
use serde_json::json;

const MANIFEST: &str = r#"
id = "books"
version = "1.0.0"
world = "keel:kernel/plugin@0.6.0"

[[permissions]]
id = "books.write"

[[operations]]
id = "accounts.create"
method = "POST"
path = "/accounts"
permission = "books.write"

[[operations]]
id = "entries.post"
method = "POST"
path = "/entries"
permission = "books.write"

[[imports]]
id = "accounts"
title = "Chart of accounts"
operation = "accounts.create"
fields = [
  { name = "code", required = true },
  { name = "name", required = true },
  { name = "opened", type = "date" },
  { name = "limit", type = "decimal", field = "/terms/limit" },
  { name = "days", type = "integer" },
]

[[imports]]
id = "ledgers"
title = "Accounts in their currencies"
operation = "accounts.create"
params = [{ name = "currency" }]
fields = [{ name = "code", required = true }, { name = "currency", required = true }]

[[imports]]
id = "opening"
title = "Opening balances"
operation = "entries.post"
into = "/lines"
params = [{ name = "date", type = "date", required = true }, { name = "memo" }]
fields = [{ name = "account", required = true }, { name = "debit", type = "decimal" }, { name = "credit", type = "decimal" }]
"#;

fn import(id: &str) -> keel_manifest::Import {
    Manifest::parse(MANIFEST).unwrap().import(id).unwrap().clone()
}

fn csv(text: &str) -> Table {
    read(text.as_bytes(), Format::Csv, None).unwrap()
}

#[test]
fn each_row_becomes_a_request_with_its_fields_in_place() {
    let table =
        csv("Code,Name,Opened,Limit,Days,Notes\n1000,Cash,2026-01-31,\"1,500.25\",30,ignored\n");
    let plan = plan(&table, &import("accounts"), &Mapping::default(), &[]);
    assert_eq!(plan.errors, []);
    assert_eq!(plan.calls.len(), 1);
    assert_eq!(plan.calls[0].rows, [2]);
    assert_eq!(
        plan.calls[0].body,
        json!({"code": "1000", "name": "Cash", "opened": "2026-01-31", "terms": {"limit": "1500.25"}, "days": 30})
    );
    assert_eq!(plan.columns[5], ColumnUse { heading: "Notes".into(), field: None });
}

#[test]
fn a_file_of_mistakes_lists_the_first_thousand_and_counts_the_rest_each_value_cut_short() {
    let long = "9".repeat(500) + "x";
    let mut text = String::from("code,name,days\n");
    for n in 0..ERRORS_MAX + 250 {
        text.push_str(&format!("{n},Cash,{long}\n"));
    }
    let plan = plan(&csv(&text), &import("accounts"), &Mapping::default(), &[]);
    assert_eq!((plan.errors.len(), plan.errors_not_listed), (ERRORS_MAX, 250));
    let value = plan.errors[0].value.as_deref().unwrap();
    assert!(value.ends_with('…') && value.chars().count() <= 61, "{value}");
    assert!(plan.errors[0].message.len() < 200, "{}", plan.errors[0].message);
}

#[test]
fn every_bad_value_is_named_by_row_column_and_value_and_its_row_is_not_sent() {
    let table =
        csv("code,name,opened,days\n1000,Cash,31/01/2026,x\n1100,,2026-02-30,3\n1200,Bank,,\n");
    let plan = plan(&table, &import("accounts"), &Mapping::default(), &[]);
    let said: Vec<(Option<usize>, Option<&str>, Option<&str>)> =
        plan.errors.iter().map(|p| (p.row, p.column.as_deref(), p.value.as_deref())).collect();
    assert_eq!(
        said,
        [
            (Some(2), Some("opened"), Some("31/01/2026")),
            (Some(2), Some("days"), Some("x")),
            (Some(3), Some("opened"), Some("2026-02-30")),
            (Some(3), Some("name"), Some("")),
        ]
    );
    assert!(plan.errors[0].message.contains("YYYY-MM-DD"), "{}", plan.errors[0].message);
    assert_eq!(plan.calls.iter().map(|c| c.rows[0]).collect::<Vec<_>>(), [4]);
}

#[test]
fn a_saved_mapping_reads_a_legacy_systems_headings_decimals_and_dates() {
    let mapping: Mapping = serde_json::from_value(json!({
        "columns": {"Konto": "code", "Bezeichnung": "name", "Eröffnet": "opened", "Kreditlimit": "limit"},
        "decimal_separator": ",",
        "date_format": "DD.MM.YYYY",
    }))
    .unwrap();
    mapping.validate(&import("accounts")).unwrap();
    let table =
        csv("Konto;Bezeichnung;Eröffnet;Kreditlimit;Code\n1000;Kasse;31.01.2026;1.500,25;9999\n");
    let plan = plan(&table, &import("accounts"), &mapping, &[]);
    assert_eq!(plan.errors, []);
    // The file's own "Code" column is left out: "Konto" fills code.
    assert_eq!(
        plan.calls[0].body,
        json!({"code": "1000", "name": "Kasse", "opened": "2026-01-31", "terms": {"limit": "1500.25"}})
    );
    let bad: Mapping = serde_json::from_value(json!({"columns": {"Konto": "kode"}})).unwrap();
    assert!(bad.validate(&import("accounts")).unwrap_err().contains("no field"));
    let twice: Mapping =
        serde_json::from_value(json!({"columns": {"A": "code", "B": "Code"}})).unwrap();
    assert!(twice.validate(&import("accounts")).unwrap_err().contains("both map"));
}

#[test]
fn rows_into_one_request_are_sent_only_when_every_row_reads() {
    let table = csv("account,debit,credit\n1000,500.00,\n3000,,500.00\n");
    let params = [("date".to_owned(), "2026-01-01".to_owned())];
    let plan = plan(&table, &import("opening"), &Mapping::default(), &params);
    assert_eq!(plan.errors, []);
    assert_eq!(plan.calls.len(), 1);
    assert_eq!(plan.calls[0].rows, [2, 3]);
    assert_eq!(
        plan.calls[0].body,
        json!({"date": "2026-01-01", "lines": [{"account": "1000", "debit": "500.00"}, {"account": "3000", "credit": "500.00"}]})
    );
    let table = csv("account,debit,credit\n1000,5OO,\n3000,,500.00\n");
    let plan = super::plan(&table, &import("opening"), &Mapping::default(), &params);
    assert_eq!(plan.calls, []);
    assert_eq!(plan.errors.len(), 1);
    // A missing parameter and a missing column are said for the file.
    let table = csv("debit\n1\n");
    let plan = super::plan(&table, &import("opening"), &Mapping::default(), &[]);
    let fields: Vec<_> = plan.errors.iter().map(|p| (p.row, p.field.as_deref())).collect();
    assert_eq!(fields, [(None, Some("account")), (None, Some("date"))]);
}

#[test]
fn decimals_read_as_people_write_them_or_not_at_all() {
    let point = DecimalSeparator::Point;
    let comma = DecimalSeparator::Comma;
    let read = |text, separator| plan::decimal(text, separator).map(|d| d.to_string());
    assert_eq!(read("1,234.50", point).as_deref(), Some("1234.50"));
    assert_eq!(read("(1 234,50)", comma).as_deref(), Some("-1234.50"));
    assert_eq!(read("-0.5", point).as_deref(), Some("-0.5"));
    assert_eq!(read("+12", point).as_deref(), Some("12"));
    for bad in ["1,5", "12,34.5", "1.2.3", "", "-", "1.", ".5", "(-1)", "1e3", "١٢"] {
        assert_eq!(read(bad, point), None, "{bad}");
    }
    assert_eq!(read("1.5", comma), None);
}

#[test]
fn dates_read_in_the_sources_order_and_must_exist() {
    assert_eq!(plan::date("2026-01-31", DateFormat::Iso).as_deref(), Some("2026-01-31"));
    assert_eq!(plan::date("1/2/2026", DateFormat::DayMonthSlash).as_deref(), Some("2026-02-01"));
    assert_eq!(plan::date("1/2/2026", DateFormat::MonthDaySlash).as_deref(), Some("2026-01-02"));
    assert_eq!(plan::date("29.02.2027", DateFormat::DayMonthDot), None);
    assert_eq!(plan::date("2026-1-31x", DateFormat::Iso), None);
}

proptest! {
    /// Any decimal, written with either separator and grouped thousands,
    /// reads back as itself.
    #[test]
    fn written_decimals_read_back_exactly(units in any::<i64>(), scale in 0u32..6, comma in any::<bool>(), brackets in any::<bool>()) {
        let value = Decimal::new(units, scale);
        let separator = if comma { DecimalSeparator::Comma } else { DecimalSeparator::Point };
        let (point, thousands) = separator.chars();
        let plain = value.abs().to_string();
        let (whole, fraction) = plain.split_once('.').map_or((plain.as_str(), None), |(w, f)| (w, Some(f)));
        let mut grouped = String::new();
        for (i, digit) in whole.chars().enumerate() {
            if i > 0 && (whole.len() - i) % 3 == 0 {
                grouped.push(thousands);
            }
            grouped.push(digit);
        }
        if let Some(fraction) = fraction {
            grouped.push(point);
            grouped.push_str(fraction);
        }
        let written = match (value.is_sign_negative() && !value.is_zero(), brackets) {
            (true, true) => format!("({grouped})"),
            (true, false) => format!("-{grouped}"),
            (false, _) => grouped,
        };
        prop_assert_eq!(plan::decimal(&written, separator), Some(value), "{}", written);
    }

    /// Any text in any cell plans without panicking, and every row either
    /// is sent or has a problem said about it.
    #[test]
    fn any_file_plans_every_row_one_way_or_the_other(cells in prop::collection::vec(prop::collection::vec("\\PC{0,12}", 5), 0..20)) {
        let mut text = String::from("code,name,opened,limit,days\n");
        for row in &cells {
            let row: Vec<String> = row.iter().map(|c| format!("\"{}\"", c.replace('"', "\"\""))).collect();
            text.push_str(&row.join(","));
            text.push('\n');
        }
        let Ok(table) = read(text.as_bytes(), Format::Csv, None) else { return Ok(()) };
        let plan = plan(&table, &import("accounts"), &Mapping::default(), &[]);
        for row in &table.rows {
            let sent = plan.calls.iter().any(|c| c.rows.contains(&row.number));
            let said = plan.errors.iter().any(|p| p.row == Some(row.number));
            prop_assert!(sent != said, "row {} sent {} said {}", row.number, sent, said);
        }
    }
}

#[test]
fn a_param_is_the_files_default_for_the_field_it_shares_a_place_with() {
    let table = csv("code,currency\n1000,\n1100,USD\n");
    let eur = [("currency".to_owned(), "EUR".to_owned())];
    let plan = plan(&table, &import("ledgers"), &Mapping::default(), &eur);
    assert_eq!(plan.errors, []);
    let bodies: Vec<&serde_json::Value> = plan.calls.iter().map(|c| &c.body).collect();
    assert_eq!(
        bodies,
        [&json!({"code": "1000", "currency": "EUR"}), &json!({"code": "1100", "currency": "USD"})]
    );
    // Without the default, the row that gives none is said.
    let plan = super::plan(&table, &import("ledgers"), &Mapping::default(), &[]);
    assert_eq!(plan.errors.iter().map(|p| p.row).collect::<Vec<_>>(), [Some(2)]);
}

#[test]
fn a_file_planned_in_parts_sends_the_same_calls_and_finds_the_same_problems() {
    let mut text = String::from("code,name,opened,days\n");
    for n in 0..23 {
        let days = if n % 7 == 3 { "x".to_owned() } else { n.to_string() };
        text.push_str(&format!("{},Account {n},2026-01-31,{days}\n", 1000 + n));
    }
    let (table, accounts) = (csv(&text), import("accounts"));
    let whole = plan(&table, &accounts, &Mapping::default(), &[]);
    let mut parts = Vec::new();
    let planned =
        plan_parts(&table, &accounts, &Mapping::default(), &[], 5, |calls| parts.push(calls));
    assert_eq!(parts.iter().map(Vec::len).collect::<Vec<_>>(), [4, 5, 4, 4, 3]);
    assert_eq!(parts.concat(), whole.calls);
    assert_eq!((planned.errors, planned.columns), (whole.errors, whole.columns));
    assert!(planned.calls.is_empty());

    // What is wrong with the file itself is said once, not once a part.
    let headless = csv("name\nCash\nBank\nTill\n");
    let planned = plan_parts(&headless, &accounts, &Mapping::default(), &[], 1, |calls| {
        assert!(calls.is_empty());
    });
    assert_eq!(planned.errors.len(), 1, "{:?}", planned.errors);
    assert_eq!(planned.errors[0].row, None);
}
