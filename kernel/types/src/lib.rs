//! The kernel's shared vocabulary: identifiers, limits, time and the schema
//! of plugin collections. No I/O and no heavy dependencies live here.

pub mod action;
mod clock;
mod id;
mod limits;
pub mod schema;

pub use action::Action;
pub use clock::{Clock, SystemClock, Timestamp};
pub use id::{IdError, PluginId, RequestId, TenantId, UserId};
pub use limits::Limits;
