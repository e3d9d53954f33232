//! The `tt` command.

fn main() {}
