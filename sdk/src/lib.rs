//! The Keel plugin SDK: write a sandboxed ERP module in plain Rust.
//!
//! A plugin is a WebAssembly component that the Keel kernel loads, routes
//! HTTP operations to, and gives a private, transactional document store.
//! This crate hides the generated WIT bindings behind a small API:
//!
//! - [`Plugin`]: implement `handle` (and optionally `migrate`; [`Operations`]
//!   makes `handle` a table a test checks against the manifest), then register
//!   the type with [`export_plugin!`], which also embeds the crate's
//!   `keel.toml` manifest into the component.
//! - [`Request`] and [`Response`]: typed JSON bodies, path parameters, query values.
//! - [`contract`]: the JSON Schemas of the operations, generated from the
//!   Rust types, published by the kernel and checked before a call runs.
//! - [`Collection`]: typed documents in the plugin's own namespace, with
//!   ordered scans, secondary-index lookups and gapless [`next_sequence`] numbers.
//! - [`Error`]: each case becomes an HTTP problem response, and returning
//!   any error rolls back everything the call wrote.
//! - [`context`] and [`log`]: tenant, caller, request id, the kernel's clock,
//!   and structured logging.
//! - [`audit`]: business events ("journal entry 42 posted") in the tenant's
//!   tamper-evident trail, committed with the call's changes.
//! - [`events`]: durable events for other plugins, published in the call's
//!   transaction and delivered at least once, in order, with retries.
//! - [`timers`] and [`jobs`]: a call back at a time, and work too long for
//!   one call, run in steps that each commit on their own.
//! - [`values`]: the values every module shares (dates, amounts,
//!   quantities, codes) and [`RuleError`], which converts to a 422; use
//!   the `keel-values` crate itself in a plugin's pure core.
//! - [`erp`]: the domain interfaces (`keel:erp`): call the ledger or stock
//!   another plugin provides, inside your call's transaction, or provide one.
//!
//! # Example
//!
//! `keel.toml`, beside `Cargo.toml`:
//!
//! ```toml
//! id = "notes"
//! version = "0.1.0"
//! world = "keel:kernel/plugin@0.6.0"
//!
//! [[permissions]]
//! id = "notes.write"
//!
//! [[collections]]
//! name = "notes"
//!
//! [[operations]]
//! id = "notes.create"
//! method = "POST"
//! path = "/notes/{id}"
//! permission = "notes.write"
//! ```
//!
//! `src/lib.rs` (a `cdylib` built for `wasm32-wasip2`):
//!
//! ```no_run
//! use keel_sdk::{Collection, Error, Plugin, Request, Response, Result};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Serialize, Deserialize)]
//! struct Note {
//!     text: String,
//! }
//!
//! const NOTES: Collection<Note> = Collection::new("notes");
//!
//! struct Notes;
//!
//! impl Plugin for Notes {
//!     fn handle(operation: &str, request: Request) -> Result<Response> {
//!         match operation {
//!             "notes.create" => {
//!                 let id = request.param("id")?;
//!                 let note: Note = request.json()?;
//!                 if note.text.is_empty() {
//!                     return Err(Error::invalid("text must not be empty"));
//!                 }
//!                 NOTES.insert(id, &note)?;
//!                 Response::created(&note)
//!             }
//!             other => Err(Error::unknown_operation(other)),
//!         }
//!     }
//! }
//!
//! keel_sdk::export_plugin!(Notes);
//! ```
#![deny(missing_docs)]

extern crate self as keel_sdk;

pub mod audit;
pub mod context;
pub mod contract;
pub mod erp;
mod error;
pub mod events;
pub mod jobs;
pub mod log;
mod plugin;
mod records;
mod request;
pub mod timers;

#[doc(hidden)]
pub mod __private;

pub use error::{Error, Result};
pub use keel_values as values;
pub use keel_values::RuleError;
pub use plugin::{Handler, Operations, Plugin};
pub use records::{Collection, Page, Range, next_sequence};
pub use request::{Request, Response};
