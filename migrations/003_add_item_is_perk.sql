-- Flags perk items. Replaced by the perks table in 004.
ALTER TABLE items ADD COLUMN is_perk BOOLEAN NOT NULL DEFAULT FALSE;
CREATE INDEX idx_items_is_perk ON items (is_perk);
