//! Tests of the `tt` binary: each runs the built executable in a scratch project directory
//! (assert_cmd) and checks exit codes, stdout, stderr and JSON documents.

mod cli;
mod concurrency;
mod config;
mod lifecycle;
mod migrate;
mod new;
mod output;
mod reset;
mod support;
mod verify;
