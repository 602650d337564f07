//! Structured logging into the kernel's tracing output, inside the span of
//! the current call.

use crate::__private::bindings::keel::kernel::log as wit;

pub use wit::Level;

/// Emits a log line with key-value fields.
pub fn emit(level: Level, message: &str, fields: &[(&str, &str)]) {
    let fields: Vec<(String, String)> =
        fields.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    wit::emit(level, message, &fields);
}

/// Emits an info line.
pub fn info(message: &str) {
    emit(Level::Info, message, &[]);
}

/// Emits a warning.
pub fn warn(message: &str) {
    emit(Level::Warn, message, &[]);
}
