//! Integration tests of tt-migrate against real SQLite, PostgreSQL and MySQL databases.

mod run;
mod support;
