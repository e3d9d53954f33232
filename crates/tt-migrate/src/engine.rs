//! Applying migrations: what to run (plan), the run loop, the tracking table, the run lock, located failures, scratch databases, cancelling a running statement.

pub(crate) mod cancel;
pub(crate) mod failure;
pub(crate) mod lock;
pub(crate) mod plan;
pub(crate) mod run;
pub(crate) mod scratch;
pub(crate) mod tracking;
