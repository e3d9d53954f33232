//! Migration files: finding and naming them per layout, splitting them into statements, embedding them.

pub(crate) mod dependencies;
pub(crate) mod embed;
pub(crate) mod error;
pub(crate) mod migration;
pub(crate) mod outside_transaction;
pub(crate) mod source;
pub(crate) mod split;
pub(crate) mod statements;
pub(crate) mod words;
