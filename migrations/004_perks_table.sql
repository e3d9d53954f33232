-- Perks get a table of their own instead of a flag on items: one row per perk item, with
-- what the game says about the perk. The flag's data moves over, then the flag goes.
CREATE TABLE perks (
    item_id INTEGER NOT NULL PRIMARY KEY,
    name VARCHAR(128),
    perk_series VARCHAR(128),
    counter INTEGER,
    level_required INTEGER,
    ai_level_required INTEGER,
    CONSTRAINT fk_perks_item FOREIGN KEY (item_id) REFERENCES items (id) ON DELETE CASCADE
);

INSERT INTO perks (item_id, name) SELECT id, name FROM items WHERE is_perk;

DROP INDEX idx_items_is_perk;
ALTER TABLE items DROP COLUMN is_perk;
