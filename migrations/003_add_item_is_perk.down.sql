DROP INDEX idx_items_is_perk;
ALTER TABLE items DROP COLUMN is_perk;
