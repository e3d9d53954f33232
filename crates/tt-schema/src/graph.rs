//! The foreign-key graph of a schema: create and drop orders, levels and cycles.
