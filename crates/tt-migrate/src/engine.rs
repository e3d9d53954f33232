//! Applying migrations: what to run (plan), the run loop, the tracking table, the run lock,
//! located failures, scratch databases, databases whose migrations recorded themselves, and
//! diesel's own table.

pub(crate) mod diesel_table;
pub(crate) mod error;
pub(crate) mod failure;
pub(crate) mod fleet;
pub(crate) mod lock;
pub(crate) mod plan;
pub(crate) mod run;
pub(crate) mod schedule;
pub(crate) mod scratch;
pub(crate) mod self_recording;
pub(crate) mod tracking;
