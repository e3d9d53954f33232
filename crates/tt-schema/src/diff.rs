//! Structural differences between an expected and an actual schema.
