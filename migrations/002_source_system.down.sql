-- Removes the seeded source types (and, through the cascade, nothing else: sources that use
-- them must be removed first).
DELETE FROM source_types WHERE name IN ('item', 'npc', 'boss', 'mission', 'vendor');
