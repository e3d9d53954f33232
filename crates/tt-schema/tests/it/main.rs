//! Integration tests of tt-schema: golden DDL of a rich schema and its execution on real
//! databases.

mod execute;
mod golden;
mod rich;
