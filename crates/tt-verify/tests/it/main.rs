//! Integration tests of tt-verify against real SQLite, PostgreSQL and MySQL databases, one
//! module per concern.

mod drift;
mod fix;
mod orphans;
mod queries;
mod smoke;
mod snapshot;
mod support;
