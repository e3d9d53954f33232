-- The tracking table that records which migrations ran.
--
-- tt creates (or completes) it before it runs anything, so on a database tt manages this file
-- changes nothing; it stays so that the files also work with the original TinkerTools scripts.
-- It has no down file: rolling back never drops the tracking table.
\echo 'Creating schema_migrations'

CREATE TABLE IF NOT EXISTS schema_migrations (
    version VARCHAR(255) NOT NULL PRIMARY KEY,
    name VARCHAR(255),
    applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    checksum VARCHAR(64)
);
