//! CSV for audit exports (RFC 4180: fields with commas, quotes or line
//! breaks are quoted, quotes doubled).

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
    fn a_cell_a_spreadsheet_would_run_as_a_formula_stays_text() {
        assert_eq!(super::field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        for formula in ["+1+1", "-2+3", "@SUM(A1)", "\tcmd"] {
            assert_eq!(super::field(formula), format!("\"'{formula}\""));
        }
        assert_eq!(super::field("-5.00"), "-5.00", "a negative amount stays a number");
        assert_eq!(super::field("a=b"), "a=b");
    }
}
