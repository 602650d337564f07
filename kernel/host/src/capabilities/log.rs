//! `keel:kernel/log`: plugin log lines into tracing, bounded per call.

use crate::bindings::keel::kernel::log::{Host, Level};
use crate::call::CallState;

/// Log lines one call may emit; later ones are dropped.
const LINES_PER_CALL_MAX: u32 = 256;
/// Longest message kept, in bytes.
const MESSAGE_BYTES_MAX: usize = 4096;
/// Fields kept per line.
const FIELDS_MAX: usize = 32;

impl Host for CallState {
    fn emit(
        &mut self,
        level: Level,
        message: String,
        fields: Vec<(String, String)>,
    ) -> wasmtime::Result<()> {
        self.n_log_lines += 1;
        if self.n_log_lines > LINES_PER_CALL_MAX {
            return Ok(());
        }
        let message = truncate(&message, MESSAGE_BYTES_MAX);
        let fields: Vec<String> = fields
            .iter()
            .take(FIELDS_MAX)
            .map(|(k, v)| format!("{}={}", truncate(k, 64), truncate(v, 256)))
            .collect();
        let fields = fields.join(" ");
        let plugin = self.plugin.manifest().id.as_str();
        match level {
            Level::Trace => tracing::trace!(target: "keel::plugin", plugin, %fields, "{message}"),
            Level::Debug => tracing::debug!(target: "keel::plugin", plugin, %fields, "{message}"),
            Level::Info => tracing::info!(target: "keel::plugin", plugin, %fields, "{message}"),
            Level::Warn => tracing::warn!(target: "keel::plugin", plugin, %fields, "{message}"),
            Level::Error => tracing::error!(target: "keel::plugin", plugin, %fields, "{message}"),
        }
        Ok(())
    }
}

fn truncate(text: &str, bytes_max: usize) -> &str {
    if text.len() <= bytes_max {
        return text;
    }
    let mut end = bytes_max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}
