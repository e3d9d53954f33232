//! CLI tests: the built `tt` binary run with assert_cmd against real databases.

mod verify;
