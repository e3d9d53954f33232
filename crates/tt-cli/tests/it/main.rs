//! Integration tests of the `tt` binary, run as a user would.

mod lifecycle;
