//! Exports read back: CSV as written, XLSX through `calamine`, as a
//! spreadsheet would open them; and formats asked for by name or header.

use std::io::Cursor;

use calamine::{Data, Reader, Xlsx, open_workbook_from_rs};
use keel_manifest::{Column, ColumnType, Export};

use super::{Format, Heading, csv_field, render};

const GL: Heading<'static> =
    Heading { operation: "gl", tenant: "demo", parameters: "from=2026-11-01" };

fn column(name: &str, field: &str, kind: ColumnType) -> Column {
    Column { name: name.into(), field: field.into(), kind, ..Column::default() }
}

fn ledger() -> Export {
    Export {
        title: Some("General ledger: 1100".into()),
        rows: "/rows".into(),
        cursor: Some("/cursor".into()),
        columns: vec![
            column("Account", "/account", ColumnType::Text),
            column("Date", "/date", ColumnType::Date),
            Column {
                places: Some(2),
                total: true,
                ..column("Debit", "/debit", ColumnType::Decimal)
            },
            Column { total: true, ..column("Lines", "/lines", ColumnType::Integer) },
            column("Note", "/note", ColumnType::Text),
        ],
    }
}

const ANSWER: &[u8] = br#"{"rows":[
    {"account":"1100","date":"2026-11-02","debit":"1234.50","lines":2,"note":"a, b"},
    {"account":"4000","date":"2026-11-30","debit":"0.10","lines":1,"note":"=HYPERLINK(\"http://x\")"},
    {"account":"4100","date":"not a date","debit":"0.20","lines":3}
],"total":"x"}"#;

#[test]
fn fields_are_quoted_only_when_needed() {
    assert_eq!(csv_field("plain"), "plain");
    assert_eq!(csv_field("a,b"), "\"a,b\"");
    assert_eq!(csv_field(r#"{"k":"v"}"#), r#""{""k"":""v""}""#);
    assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
}

#[test]
fn a_cell_a_spreadsheet_would_run_as_a_formula_stays_text() {
    assert_eq!(csv_field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
    for formula in ["+1+1", "-2+3", "@SUM(A1)", "\tcmd"] {
        assert_eq!(csv_field(formula), format!("\"'{formula}\""));
    }
    assert_eq!(csv_field("-5.00"), "-5.00", "a negative amount stays a number");
    assert_eq!(csv_field("a=b"), "a=b");
}

#[test]
fn csv_keeps_each_value_as_the_plugin_wrote_it() {
    let csv = String::from_utf8(render(Format::Csv, ANSWER, &ledger(), &GL).unwrap()).unwrap();
    let lines: Vec<&str> = csv.split("\r\n").collect();
    assert_eq!(lines[0], "Account,Date,Debit,Lines,Note");
    assert_eq!(lines[1], "1100,2026-11-02,1234.50,2,\"a, b\"");
    assert_eq!(lines[3], "4100,not a date,0.20,3,");
    let err = render(Format::Csv, br#"{"items":[]}"#, &ledger(), &GL).unwrap_err();
    assert_eq!(err, "the answer has no array at /rows");
}

#[test]
fn xlsx_has_real_numbers_and_dates_a_header_and_exact_totals() {
    let bytes = render(Format::Xlsx, ANSWER, &ledger(), &GL).unwrap();
    let mut book: Xlsx<_> = open_workbook_from_rs(Cursor::new(bytes)).unwrap();
    assert_eq!(book.sheet_names(), ["General ledger- 1100"]);
    let sheet = book.worksheet_range("General ledger- 1100").unwrap();
    let at = |row: u32, col: u32| sheet.get_value((row, col)).cloned().unwrap_or(Data::Empty);
    let header: Vec<Data> = (0..5).map(|c| at(0, c)).collect();
    assert_eq!(
        header,
        ["Account", "Date", "Debit", "Lines", "Note"].map(|h| Data::String(h.into()))
    );
    assert_eq!(at(1, 0), Data::String("1100".into()), "codes stay text");
    assert_eq!(at(1, 2), Data::Float(1234.5));
    assert_eq!(at(2, 3), Data::Float(1.0));
    match at(1, 1) {
        // 2026-11-02 is day 46,328 of Excel's calendar.
        Data::DateTime(date) => assert_eq!(date.as_f64(), 46_328.0),
        other => panic!("a date, not {other:?}"),
    }
    assert_eq!(at(3, 1), Data::String("not a date".into()), "a slip stays text");
    assert_eq!(at(2, 4), Data::String("=HYPERLINK(\"http://x\")".into()), "never a formula");
    // The totals: 1234.50 + 0.10 + 0.20, exactly, and 6 lines.
    assert_eq!(at(4, 0), Data::String("Total".into()));
    assert_eq!(at(4, 2), Data::Float(1234.8));
    assert_eq!(at(4, 3), Data::Float(6.0));
    let formulas = book.worksheet_formula("General ledger- 1100").unwrap();
    assert_eq!(formulas.get_value((4, 2)).map(String::as_str), Some("SUM(C2:C4)"));
}

#[test]
fn formats_are_asked_for_by_name_or_by_accept_header() {
    assert_eq!(Format::wanted(Some("xlsx"), Some("text/csv")), Ok(Some(Format::Xlsx)));
    assert_eq!(Format::wanted(Some("json"), None), Ok(None));
    assert!(Format::wanted(Some("odt"), None).unwrap_err().contains("json, csv, xlsx or pdf"));
    assert_eq!(Format::wanted(None, Some("application/pdf")), Ok(Some(Format::Pdf)));
    assert_eq!(Format::wanted(None, Some("text/csv; charset=utf-8")), Ok(Some(Format::Csv)));
    let xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
    assert_eq!(
        Format::wanted(None, Some(&format!("application/json, {xlsx}"))),
        Ok(Some(Format::Xlsx))
    );
    assert_eq!(Format::wanted(None, Some("application/json")), Ok(None));
    assert_eq!(Format::wanted(None, None), Ok(None));
}

#[test]
fn pdf_pages_carry_title_tenant_parameters_numbers_and_totals() {
    let bytes = render(Format::Pdf, ANSWER, &ledger(), &GL).unwrap();
    assert!(bytes.starts_with(b"%PDF-"));
    let text = String::from_utf8_lossy(&bytes);
    for shown in [
        "(General ledger: 1100)",
        "(Tenant demo)",
        "(Parameters: from=2026-11-01)",
        "(1,234.50)",
        "(2026-11-02)",
        "(Total)",
        "(1,234.80)",
        "(6)",
    ] {
        assert!(text.contains(shown), "{shown} missing");
    }
    assert!(text.contains("page 1 of 1"), "page numbers");
    // Many rows: many pages, each numbered of the whole.
    let rows: Vec<String> = (0..200)
        .map(|n| format!(r#"{{"account":"{n}","date":"2026-11-02","debit":"1.005","lines":1}}"#))
        .collect();
    let answer = format!(r#"{{"rows":[{}]}}"#, rows.join(","));
    let bytes = render(Format::Pdf, answer.as_bytes(), &ledger(), &GL).unwrap();
    let text = String::from_utf8_lossy(&bytes);
    assert!(text.contains("page 4 of 4"), "200 rows on four pages");
    // 200 × 1.005 = 201.000 exactly, printed to its 2 places.
    assert!(text.contains("(201.00)"));
    assert!(text.contains("(1.01)"), "a half rounds away from zero in print");
}

#[test]
fn a_page_gives_its_rows_and_the_cursor_to_the_next() {
    let answer = br#"{"rows":[{"account":"1100","debit":"1.00"}],"cursor":"2026-01-10/7"}"#;
    let (rows, next) = super::page(answer, &ledger()).unwrap();
    assert_eq!((rows.len(), next.as_deref()), (1, Some("2026-01-10/7")));
    let last = br#"{"rows":[],"cursor":null}"#;
    assert_eq!(super::page(last, &ledger()).unwrap().1, None);
    let lines = super::csv_lines(&ledger(), &rows, false);
    assert_eq!(lines, "1100,,1.00,,\r\n", "no header on a page after the first");
}
