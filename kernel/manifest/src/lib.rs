//! A plugin's manifest: what it is, which HTTP operations it serves with
//! which permission, which collections and indexes it stores, and which
//! operations the kernel calls on a timetable, which files it may
//! import through them, and which collections its tenants may report on.
//!
//! The kernel reads the manifest from the package without running plugin
//! code, validates it here, and routes requests with [`Manifest::route`].
//! Beside it, a package may carry a [`Contract`]: the JSON Schemas of its
//! operations, which the kernel publishes and checks requests against.

mod contract;
mod export;
mod import;
mod manifest;
mod path;
mod report;
mod route;
mod schedule;

pub use contract::{
    CONTRACT_BYTES_MAX, CONTRACT_VERSION, Contract, ContractError, Part, Violation,
};
pub use export::{Column, ColumnType, Export};
pub use import::{Field, Import};
pub use manifest::{
    CreatorRule, DOMAIN_INTERFACES, MANIFEST_BYTES_MAX, Manifest, ManifestError, Method, Operation,
    Permission, Role, WORLD, check_topic,
};
pub use path::PathPattern;
pub use report::{ReportField, Reportable};
pub use route::{Route, RouteError};
pub use schedule::Schedule;

#[cfg(test)]
mod tests;
