//! CSV (RFC 4180: fields with commas, quotes or line breaks are quoted,
//! quotes doubled): a header row of the columns' names, then a row per
//! element of the answer's rows, each value as the plugin wrote it (text as
//! it is, numbers and booleans written out, nothing for null or absent,
//! JSON for anything else), so that amounts keep every digit.

use keel_manifest::Export;
use serde_json::Value;

/// The rows as CSV by `export`'s columns, after a header row if `header`.
pub(crate) fn render(export: &Export, rows: &[Value], header: bool) -> String {
    let mut out = String::new();
    if header {
        let names: Vec<String> = export.columns.iter().map(|c| field(c.name.trim())).collect();
        out.push_str(&names.join(","));
        out.push_str("\r\n");
    }
    for row in rows {
        let cells: Vec<String> = export
            .columns
            .iter()
            .map(|column| match row.pointer(&column.field) {
                None | Some(Value::Null) => String::new(),
                Some(Value::String(text)) => field(text),
                Some(other) => field(&other.to_string()),
            })
            .collect();
        out.push_str(&cells.join(","));
        out.push_str("\r\n");
    }
    out
}

/// `text` as one CSV field: quoted only when it must be, and kept as text
/// when a spreadsheet would run it as a formula (a record's detail may
/// come from a client or a plugin): a leading quote, which spreadsheets
/// hide. Plain numbers such as -5.00 stay numbers.
pub fn field(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) && text.parse::<f64>().is_err() {
        return format!("\"'{}\"", text.replace('"', "\"\""));
    }
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}
