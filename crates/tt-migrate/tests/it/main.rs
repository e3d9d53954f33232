//! Integration tests of tt-migrate against real SQLite, PostgreSQL and MySQL databases, one
//! module per concern.

mod compat;
mod connect;
mod discovery;
mod drops;
mod durability;
mod fleet;
mod importer;
mod introspect;
mod layouts;
mod lifecycle;
mod objects;
mod parallel;
mod reset;
mod run;
mod scratch;
mod statements;
mod support;
mod tools;
