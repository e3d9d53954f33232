-- tt-schema golden file: the rich schema on postgres

-- create
CREATE TABLE "attack_defense" ( "id" SERIAL NOT NULL, "name" VARCHAR(64) NOT NULL, "data" JSONB DEFAULT '{}', PRIMARY KEY ("id"), UNIQUE ("name") );
COMMENT ON TABLE "attack_defense" IS 'Attack and defense modifiers';
CREATE TABLE "item_sets" ( "id" SERIAL NOT NULL, "owner_id" INTEGER NOT NULL, PRIMARY KEY ("id") );
CREATE TABLE "items" ( "id" SERIAL NOT NULL, "name" VARCHAR(128) NOT NULL, "description" TEXT, "atkdef_id" INTEGER, "parent_id" INTEGER, "price" NUMERIC(10,2) DEFAULT 0, "precise" NUMERIC, "weight" REAL, "ratio" DOUBLE PRECISION, "quantity" SMALLINT NOT NULL DEFAULT 1, "big" BIGINT, "active" BOOLEAN NOT NULL DEFAULT TRUE, "created_at" TIMESTAMPTZ NOT NULL DEFAULT CURRENT_TIMESTAMP, "updated" TIMESTAMP, "day" DATE, "at_time" TIME, "uuid" UUID, "blob" BYTEA, "tags" TEXT[], "scores" INTEGER[], "meta" JSON, "props" JSONB, "code" CHAR(3), "slug" VARCHAR, "label" VARCHAR(16) DEFAULT (lower('NEW')), "colour" VARCHAR(7), PRIMARY KEY ("id"), CONSTRAINT "uq_items_code" UNIQUE ("code"), CONSTRAINT "fk_items_atkdef" FOREIGN KEY ("atkdef_id") REFERENCES "attack_defense" ("id") ON DELETE SET NULL ON UPDATE NO ACTION, CONSTRAINT "ck_items_quantity" CHECK (quantity >= 0) );
COMMENT ON TABLE "items" IS 'Main items table';
COMMENT ON COLUMN "items"."name" IS 'Display name';
CREATE TABLE "item_stats" ( "item_id" INTEGER NOT NULL, "stat" SMALLINT NOT NULL, "value" INTEGER NOT NULL DEFAULT -1, PRIMARY KEY ("item_id", "stat"), CONSTRAINT "fk_item_stats_item" FOREIGN KEY ("item_id") REFERENCES "items" ("id") ON DELETE CASCADE ON UPDATE NO ACTION );
CREATE TABLE "odd ""name""; drop" ( "select" INTEGER NOT NULL, "from" INTEGER, "a`b" VARCHAR(10), "motto" VARCHAR(40) DEFAULT E'it\'s \\ "fine"', PRIMARY KEY ("select"), CONSTRAINT "uq ""odd"" `a`" UNIQUE ("a`b"), CONSTRAINT "fk ""odd"" items" FOREIGN KEY ("from") REFERENCES "items" ("id") ON DELETE NO ACTION ON UPDATE NO ACTION, CONSTRAINT "ck ""odd""" CHECK (length(motto) > 0) );
COMMENT ON TABLE "odd ""name""; drop" IS E'it\'s \\ "fine"';
COMMENT ON COLUMN "odd ""name""; drop"."from" IS E'it\'s \\ "fine"';
CREATE TABLE "players" ( "id" SERIAL NOT NULL, "name" VARCHAR(40) NOT NULL, "favorite_set_id" INTEGER, PRIMARY KEY ("id") );
ALTER TABLE "players" ADD CONSTRAINT "fk_players_favorite" FOREIGN KEY ("favorite_set_id") REFERENCES "item_sets" ("id") ON DELETE SET NULL ON UPDATE NO ACTION DEFERRABLE INITIALLY DEFERRED;
CREATE TABLE "stat_notes" ( "id" BIGSERIAL NOT NULL, "item_id" INTEGER NOT NULL, "stat" SMALLINT NOT NULL, "note" TEXT, PRIMARY KEY ("id"), CONSTRAINT "fk_stat_notes_stat" FOREIGN KEY ("item_id", "stat") REFERENCES "item_stats" ("item_id", "stat") ON DELETE CASCADE ON UPDATE CASCADE );
ALTER TABLE "item_sets" ADD CONSTRAINT "fk_item_sets_owner" FOREIGN KEY ("owner_id") REFERENCES "players" ("id") ON DELETE CASCADE ON UPDATE NO ACTION DEFERRABLE INITIALLY IMMEDIATE;
ALTER TABLE "items" ADD CONSTRAINT "fk_items_parent" FOREIGN KEY ("parent_id") REFERENCES "items" ("id") ON DELETE CASCADE ON UPDATE NO ACTION;
CREATE INDEX "idx_items_name" ON "items" ("name");
CREATE INDEX "idx_items_props" ON "items" USING gin ("props");
CREATE INDEX "idx_items_search" ON "items" ((to_tsvector('english', name)));
CREATE INDEX "idx_items_active_day" ON "items" ("day", "id") WHERE active;
CREATE INDEX "idx_items_description" ON "items" ("description");
CREATE INDEX "idx ""odd""; `from`" ON "odd ""name""; drop" ("from", "select");

-- drop
ALTER TABLE "items" DROP CONSTRAINT "fk_items_parent";
ALTER TABLE "item_sets" DROP CONSTRAINT "fk_item_sets_owner";
DROP TABLE "stat_notes";
DROP TABLE "players";
DROP TABLE "odd ""name""; drop";
DROP TABLE "item_stats";
DROP TABLE "items";
DROP TABLE "item_sets";
DROP TABLE "attack_defense";
