//! Integration tests of tt-migrate, one module per concern.

mod discovery;
