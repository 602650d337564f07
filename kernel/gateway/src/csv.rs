//! The audit trail as CSV, quoted as `keel-export` quotes plugin
//! answers' exports (RFC 4180, with its guard against formulas).

use keel_audit::Sealed;
use keel_export::csv_field as field;

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
