//! Integrity checks of a live database against the schema the tt migrations describe.
#![deny(missing_docs)]
