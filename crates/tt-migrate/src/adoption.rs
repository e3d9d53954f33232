//! Adopting and fixing databases: baseline (also from another tool), repair, and databases
//! whose migrations recorded themselves.

pub(crate) mod baseline;
pub(crate) mod diesel_table;
pub(crate) mod repair;
pub(crate) mod self_recording;
