//! Tests of the `tt` binary: each runs the built executable in a scratch project directory
//! (assert_cmd) and checks exit codes, stdout, stderr and JSON documents.

mod adoption;
mod cli;
mod compat;
mod concurrency;
mod config;
mod connect;
mod fleet;
mod lifecycle;
mod migrate;
mod new;
mod output;
mod reset;
mod signals;
mod support;
mod verify;
