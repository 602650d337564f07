//! Keel's IT service management. So far its pure core, with no SDK and no
//! I/O, unit- and property-tested natively: [`rules`], the ticket and
//! change lifecycles and the priority matrix. The plugin that serves them
//! (tickets over HTTP, SLA clocks on kernel timers, the configuration
//! database) is still to come.
#![deny(clippy::float_arithmetic)]

pub mod rules;
