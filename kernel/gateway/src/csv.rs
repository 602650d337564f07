//! CSV (RFC 4180: fields with commas, quotes or line breaks are quoted,
//! quotes doubled) for audit exports, and for plugin answers whose
//! operation declares an export.

use keel_audit::Sealed;

const HEADER: &str = "seq,at,actor,roles,source,request_id,action,plugin,collection,key,detail,before,after,prev,hash";

/// The entries as CSV with a header row.
pub(crate) fn audit(entries: &[Sealed]) -> String {
    let mut out = String::from(HEADER);
    out.push_str("\r\n");
    for entry in entries {
        let r = &entry.record;
        let json = |value: &Option<serde_json::Value>| {
            value.as_ref().map(ToString::to_string).unwrap_or_default()
        };
        let fields = [
            entry.seq.to_string(),
            r.at.to_string(),
            r.actor.clone(),
            r.roles.join(" "),
            r.source.clone().unwrap_or_default(),
            r.request_id.clone().unwrap_or_default(),
            r.action.clone(),
            r.plugin.clone().unwrap_or_default(),
            r.collection.clone().unwrap_or_default(),
            r.key.clone().unwrap_or_default(),
            r.detail.clone().unwrap_or_default(),
            json(&r.before),
            json(&r.after),
            entry.prev.clone(),
            entry.hash.clone(),
        ];
        let quoted: Vec<String> = fields.iter().map(|f| field(f)).collect();
        out.push_str(&quoted.join(","));
        out.push_str("\r\n");
    }
    out
}

/// A plugin's JSON `answer` as CSV by its operation's `export`: a header
/// row of the column names, then a row per element of the array at
/// `export.rows`, each column's value at its pointer (text as it is,
/// numbers and booleans written out, nothing for null or absent, JSON for
/// anything else). Fails, saying why, if the answer has no such array.
pub(crate) fn export(answer: &[u8], export: &keel_manifest::Export) -> Result<String, String> {
    let value: serde_json::Value =
        serde_json::from_slice(answer).map_err(|err| format!("the answer is not JSON: {err}"))?;
    let rows = value
        .pointer(&export.rows)
        .and_then(serde_json::Value::as_array)
        .ok_or_else(|| format!("the answer has no array at {}", export.rows))?;
    let names: Vec<String> = export.columns.iter().map(|c| field(c.name.trim())).collect();
    let mut out = names.join(",");
    out.push_str("\r\n");
    for row in rows {
        let cells: Vec<String> = export
            .columns
            .iter()
            .map(|column| match row.pointer(&column.field) {
                None | Some(serde_json::Value::Null) => String::new(),
                Some(serde_json::Value::String(text)) => field(text),
                Some(other) => field(&other.to_string()),
            })
            .collect();
        out.push_str(&cells.join(","));
        out.push_str("\r\n");
    }
    Ok(out)
}

fn field(text: &str) -> String {
    // A cell a spreadsheet would run as a formula (a record's detail may
    // come from a client or a plugin) is kept as text: a leading quote,
    // which spreadsheets hide. Plain numbers such as -5.00 stay numbers.
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) && text.parse::<f64>().is_err() {
        return format!("\"'{}\"", text.replace('"', "\"\""));
    }
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn fields_are_quoted_only_when_needed() {
        assert_eq!(super::field("plain"), "plain");
        assert_eq!(super::field("a,b"), "\"a,b\"");
        assert_eq!(super::field(r#"{"k":"v"}"#), r#""{""k"":""v""}""#);
        assert_eq!(super::field("two\nlines"), "\"two\nlines\"");
    }

    #[test]
    fn an_answer_is_exported_by_its_declared_columns() {
        let export = keel_manifest::Export {
            rows: "/rows".into(),
            columns: vec![
                keel_manifest::Column { name: "Account".into(), field: "/account".into() },
                keel_manifest::Column { name: "Debit".into(), field: "/debit".into() },
                keel_manifest::Column { name: "Note".into(), field: "/note".into() },
            ],
        };
        let answer = br#"{"rows":[{"account":"1100","debit":"5.00","note":"a, b"},{"account":"4000","debit":7}],"total":"x"}"#;
        let csv = super::export(answer, &export).unwrap();
        assert_eq!(csv, "Account,Debit,Note\r\n1100,5.00,\"a, b\"\r\n4000,7,\r\n");
        let err = super::export(br#"{"items":[]}"#, &export).unwrap_err();
        assert_eq!(err, "the answer has no array at /rows");
    }

    #[test]
    fn a_cell_a_spreadsheet_would_run_as_a_formula_stays_text() {
        assert_eq!(super::field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        for formula in ["+1+1", "-2+3", "@SUM(A1)", "\tcmd"] {
            assert_eq!(super::field(formula), format!("\"'{formula}\""));
        }
        assert_eq!(super::field("-5.00"), "-5.00", "a negative amount stays a number");
        assert_eq!(super::field("a=b"), "a=b");
    }
}
