//! Streaming statement splitter: SQL text in, statements with their line and column out.
