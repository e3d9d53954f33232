//! Integration tests of tt-migrate against real SQLite, PostgreSQL and MySQL databases.

mod introspect;
mod run;
mod support;
