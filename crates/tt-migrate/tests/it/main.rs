//! Integration tests of tt-migrate against real SQLite, PostgreSQL and MySQL databases, one
//! module per concern.

mod discovery;
mod introspect;
mod orphans;
mod run;
mod scratch;
mod smoke;
mod support;
