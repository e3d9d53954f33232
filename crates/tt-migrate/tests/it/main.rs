//! Integration tests of tt-migrate against real SQLite, PostgreSQL and MySQL databases, one
//! module per concern.

mod discovery;
mod durability;
mod introspect;
mod run;
mod support;
