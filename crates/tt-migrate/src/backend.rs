//! Talking to one database of any backend: connections, values, introspection.

pub(crate) mod connect;
pub(crate) mod database;
pub(crate) mod introspect;
pub(crate) mod value;
