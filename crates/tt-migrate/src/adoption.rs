//! Adopting and fixing databases: baseline (also from another tool) and repair.

pub(crate) mod baseline;
pub(crate) mod error;
pub(crate) mod repair;
