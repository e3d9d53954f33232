//! Runs tt migrations against SQLite, PostgreSQL and MySQL.
#![deny(missing_docs)]
