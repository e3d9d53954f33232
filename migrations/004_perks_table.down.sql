-- Puts the is_perk flag back from the perks table, then drops the table.
ALTER TABLE items ADD COLUMN is_perk BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE items SET is_perk = TRUE WHERE id IN (SELECT item_id FROM perks);
CREATE INDEX idx_items_is_perk ON items (is_perk);
DROP TABLE perks;
