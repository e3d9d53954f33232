//! DDL rendering of the model for each backend with sea-query.
