//! TOML table definitions: parsing into the model, validation, and writing back.
