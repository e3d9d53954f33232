-- The source system (MySQL/MariaDB variant: INSERT IGNORE instead of ON CONFLICT).
-- See 002_source_system.sql for the history of this migration.
\echo 'Seeding source types'

INSERT IGNORE INTO source_types (name, description) VALUES
    ('item', 'Contained in or made from another item'),
    ('npc', 'Dropped by a non-player character'),
    ('boss', 'Dropped by a boss'),
    ('mission', 'Mission reward'),
    ('vendor', 'Sold by a vendor');
