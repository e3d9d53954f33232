-- tt-schema golden file: the rich schema on sqlite

-- create
CREATE TABLE "attack_defense" ( "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, "name" VARCHAR(64) NOT NULL, "data" TEXT DEFAULT '{}', UNIQUE ("name") );
CREATE TABLE "item_sets" ( "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, "owner_id" INTEGER NOT NULL, FOREIGN KEY ("owner_id") REFERENCES "players" ("id") ON DELETE CASCADE ON UPDATE NO ACTION );
CREATE TABLE "items" ( "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, "name" VARCHAR(128) NOT NULL, "description" TEXT, "atkdef_id" INTEGER, "parent_id" INTEGER, "price" DECIMAL(10,2) DEFAULT 0, "precise" DECIMAL, "weight" REAL, "ratio" DOUBLE, "quantity" SMALLINT NOT NULL DEFAULT 1, "big" BIGINT, "active" BOOLEAN NOT NULL DEFAULT TRUE, "created_at" TIMESTAMPTZ NOT NULL DEFAULT CURRENT_TIMESTAMP, "updated" TIMESTAMP, "day" DATE, "at_time" TIME, "uuid" TEXT, "blob" BLOB, "tags" TEXT, "scores" TEXT, "meta" TEXT, "props" TEXT, "code" CHAR(3), "slug" VARCHAR, "label" VARCHAR(16) DEFAULT (lower('NEW')), "colour" VARCHAR(7), CONSTRAINT "uq_items_code" UNIQUE ("code"), FOREIGN KEY ("atkdef_id") REFERENCES "attack_defense" ("id") ON DELETE SET NULL ON UPDATE NO ACTION, FOREIGN KEY ("parent_id") REFERENCES "items" ("id") ON DELETE CASCADE ON UPDATE NO ACTION, CONSTRAINT "ck_items_quantity" CHECK (quantity >= 0) );
CREATE TABLE "item_stats" ( "item_id" INTEGER NOT NULL, "stat" SMALLINT NOT NULL, "value" INTEGER NOT NULL DEFAULT -1, PRIMARY KEY ("item_id", "stat"), FOREIGN KEY ("item_id") REFERENCES "items" ("id") ON DELETE CASCADE ON UPDATE NO ACTION );
CREATE TABLE "odd ""name""; drop" ( "select" INTEGER NOT NULL, "from" INTEGER, "a`b" VARCHAR(10), "motto" VARCHAR(40) DEFAULT 'it''s \ "fine"', PRIMARY KEY ("select"), CONSTRAINT "uq ""odd"" `a`" UNIQUE ("a`b"), FOREIGN KEY ("from") REFERENCES "items" ("id") ON DELETE NO ACTION ON UPDATE NO ACTION, CONSTRAINT "ck ""odd""" CHECK (length(motto) > 0) );
CREATE TABLE "players" ( "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, "name" VARCHAR(40) NOT NULL, "favorite_set_id" INTEGER, FOREIGN KEY ("favorite_set_id") REFERENCES "item_sets" ("id") ON DELETE SET NULL ON UPDATE NO ACTION );
CREATE TABLE "stat_notes" ( "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, "item_id" INTEGER NOT NULL, "stat" SMALLINT NOT NULL, "note" TEXT, FOREIGN KEY ("item_id", "stat") REFERENCES "item_stats" ("item_id", "stat") ON DELETE CASCADE ON UPDATE CASCADE );
CREATE INDEX "idx_items_name" ON "items" ("name");
CREATE INDEX "idx_items_props" ON "items" ("props");
CREATE INDEX "idx_items_active_day" ON "items" ("day", "id") WHERE active;
CREATE INDEX "idx_items_description" ON "items" ("description");
CREATE INDEX "idx ""odd""; `from`" ON "odd ""name""; drop" ("from", "select");

-- drop
DROP TABLE "stat_notes";
DROP TABLE "players";
DROP TABLE "odd ""name""; drop";
DROP TABLE "item_stats";
DROP TABLE "items";
DROP TABLE "item_sets";
DROP TABLE "attack_defense";
