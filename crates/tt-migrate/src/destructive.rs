//! Operations that drop data: the tables the migrations manage, drop, reset, recreate, and the protection mark.

pub(crate) mod drop;
pub(crate) mod error;
pub(crate) mod managed;
pub(crate) mod objects;
pub(crate) mod protect;
pub(crate) mod recreate;
pub(crate) mod reset;
