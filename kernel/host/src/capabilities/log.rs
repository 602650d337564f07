//! `keel:kernel/log`: plugin log lines into tracing, bounded per call.

use wasmtime::StoreContextMut;
use wasmtime::component::{Linker, WasmList, WasmStr};

use crate::bindings::keel::kernel::log::{Host, Level};
use crate::call::CallState;

/// Log lines one call may emit; later ones are dropped.
const LINES_PER_CALL_MAX: u32 = 256;
/// Longest message kept, in bytes.
const MESSAGE_BYTES_MAX: usize = 4096;
/// Fields kept per line.
const FIELDS_MAX: usize = 32;

/// The interface whose `emit` [`link`] replaces.
const LOG_INTERFACE: &str = "keel:kernel/log@0.6.0";

impl Host for CallState {
    /// Only reached if [`link`] did not replace it; the same rules apply.
    fn emit(
        &mut self,
        level: Level,
        message: String,
        fields: Vec<(String, String)>,
    ) -> wasmtime::Result<()> {
        if !self.count_log_line() {
            return Ok(());
        }
        let fields: Vec<String> =
            fields.iter().take(FIELDS_MAX).map(|(key, value)| field(key, value)).collect();
        self.log_line(level, &message, &fields.join(" "));
        Ok(())
    }
}

/// Links `emit` so that it reads the guest's strings where they lie, in
/// its memory, and copies only what is kept: the generated binding would
/// copy the whole message and every field into the host first, however
/// large (up to the call's memory limit) and however many.
pub(crate) fn link(linker: &mut Linker<CallState>) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    let mut log = linker.instance(LOG_INTERFACE)?;
    log.func_wrap("emit", |mut store: StoreContextMut<'_, CallState>, line: Line| {
        let (level, message, fields) = line;
        if !store.data_mut().count_log_line() {
            return Ok(());
        }
        let mut kept = Vec::with_capacity(fields.len().min(FIELDS_MAX));
        for at in 0..fields.len().min(FIELDS_MAX) {
            let Some(pair) = fields.get(&mut store, at) else { break };
            let (key, value) = pair?;
            kept.push(field(&key.to_str(&store)?, &value.to_str(&store)?));
        }
        let message = message.to_str(&store)?;
        store.data().log_line(level, &message, &kept.join(" "));
        Ok(())
    })?;
    linker.allow_shadowing(false);
    Ok(())
}

/// `emit`'s parameters, as they lie in the guest's memory.
type Line = (Level, WasmStr, WasmList<(WasmStr, WasmStr)>);

fn field(key: &str, value: &str) -> String {
    format!("{}={}", truncate(key, 64), truncate(value, 256))
}

impl CallState {
    /// Counts a line; false once the call has emitted its share.
    fn count_log_line(&mut self) -> bool {
        self.n_log_lines = self.n_log_lines.saturating_add(1);
        self.n_log_lines <= LINES_PER_CALL_MAX
    }

    /// Writes one line, its message cut to [`MESSAGE_BYTES_MAX`].
    fn log_line(&self, level: Level, message: &str, fields: &str) {
        let message = truncate(message, MESSAGE_BYTES_MAX);
        let plugin = self.plugin.manifest().id.as_str();
        // The request's id, whatever thread the call runs on: a plugin's
        // line is found with the request that caused it.
        let request_id = self.request_id.as_str();
        let tenant = self.ns.tenant().as_str();
        match level {
            Level::Trace => {
                tracing::trace!(target: "keel::plugin", plugin, tenant, request_id, %fields, "{message}");
            }
            Level::Debug => {
                tracing::debug!(target: "keel::plugin", plugin, tenant, request_id, %fields, "{message}");
            }
            Level::Info => {
                tracing::info!(target: "keel::plugin", plugin, tenant, request_id, %fields, "{message}");
            }
            Level::Warn => {
                tracing::warn!(target: "keel::plugin", plugin, tenant, request_id, %fields, "{message}");
            }
            Level::Error => {
                tracing::error!(target: "keel::plugin", plugin, tenant, request_id, %fields, "{message}");
            }
        }
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

#[cfg(test)]
mod tests {
    #[test]
    fn the_replaced_emit_is_the_one_plugins_import() {
        let wit = include_str!("../../../../wit/log.wit");
        let package = wit.lines().next().unwrap_or_default();
        let version = package.trim_start_matches("package keel:kernel@").trim_end_matches(';');
        assert_eq!(super::LOG_INTERFACE, format!("keel:kernel/log@{version}"));
    }
}
