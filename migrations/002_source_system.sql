-- The source system: where items come from.
--
-- Its tables first appeared in this migration; they now live in 001_initial_schema.toml with
-- the rest of the schema. The file is kept for history and still seeds the source types,
-- idempotently, so databases that ran the original scripts are unaffected.
\echo 'Seeding source types'

INSERT INTO source_types (name, description) VALUES
    ('item', 'Contained in or made from another item'),
    ('npc', 'Dropped by a non-player character'),
    ('boss', 'Dropped by a boss'),
    ('mission', 'Mission reward'),
    ('vendor', 'Sold by a vendor')
ON CONFLICT (name) DO NOTHING;
