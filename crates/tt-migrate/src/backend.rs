//! Talking to one database of any backend: connections, values, introspection.

pub(crate) mod database;
pub(crate) mod introspect;
pub(crate) mod url_params;
pub(crate) mod value;
