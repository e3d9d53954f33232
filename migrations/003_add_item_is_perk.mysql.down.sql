DROP INDEX idx_items_is_perk ON items;
ALTER TABLE items DROP COLUMN is_perk;
