-- tt-schema golden file: the rich schema on mysql

-- create
CREATE TABLE `attack_defense` ( `id` INT NOT NULL AUTO_INCREMENT, `name` VARCHAR(64) NOT NULL, `data` JSON DEFAULT ('{}'), PRIMARY KEY (`id`), UNIQUE KEY (`name`) ) COMMENT 'Attack and defense modifiers' ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE TABLE `item_sets` ( `id` INT NOT NULL AUTO_INCREMENT, `owner_id` INT NOT NULL, PRIMARY KEY (`id`) ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE TABLE `items` ( `id` INT NOT NULL AUTO_INCREMENT, `name` VARCHAR(128) NOT NULL COMMENT 'Display name', `description` LONGTEXT, `atkdef_id` INT, `parent_id` INT, `price` DECIMAL(10,2) DEFAULT 0, `precise` DECIMAL(65,30), `weight` FLOAT, `ratio` DOUBLE, `quantity` SMALLINT NOT NULL DEFAULT 1, `big` BIGINT, `active` TINYINT(1) NOT NULL DEFAULT TRUE, `created_at` DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6), `updated` DATETIME(6), `day` DATE, `at_time` TIME(6), `uuid` CHAR(36), `blob` LONGBLOB, `tags` JSON, `scores` JSON, `meta` JSON, `props` JSON, `code` CHAR(3), `slug` LONGTEXT, `label` VARCHAR(16) DEFAULT (lower('NEW')), `colour` VARCHAR(7), PRIMARY KEY (`id`), UNIQUE KEY `uq_items_code` (`code`), CONSTRAINT `fk_items_atkdef` FOREIGN KEY (`atkdef_id`) REFERENCES `attack_defense` (`id`) ON DELETE SET NULL ON UPDATE NO ACTION, CONSTRAINT `ck_items_quantity` CHECK (quantity >= 0) ) COMMENT 'Main items table' ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE TABLE `item_stats` ( `item_id` INT NOT NULL, `stat` SMALLINT NOT NULL, `value` INT NOT NULL DEFAULT -1, PRIMARY KEY (`item_id`, `stat`), CONSTRAINT `fk_item_stats_item` FOREIGN KEY (`item_id`) REFERENCES `items` (`id`) ON DELETE CASCADE ON UPDATE NO ACTION ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE TABLE `odd "name"; drop` ( `select` INT NOT NULL, `from` INT COMMENT 'it\'s \\ \"fine\"', `a``b` VARCHAR(10), `motto` VARCHAR(40) DEFAULT 'it\'s \\ \"fine\"', PRIMARY KEY (`select`), UNIQUE KEY `uq "odd" ``a``` (`a``b`), CONSTRAINT `fk "odd" items` FOREIGN KEY (`from`) REFERENCES `items` (`id`) ON DELETE NO ACTION ON UPDATE NO ACTION, CONSTRAINT `ck "odd"` CHECK (length(motto) > 0) ) COMMENT 'it\'s \\ \"fine\"' ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE TABLE `players` ( `id` INT NOT NULL AUTO_INCREMENT, `name` VARCHAR(40) NOT NULL, `favorite_set_id` INT, PRIMARY KEY (`id`), CONSTRAINT `fk_players_favorite` FOREIGN KEY (`favorite_set_id`) REFERENCES `item_sets` (`id`) ON DELETE SET NULL ON UPDATE NO ACTION ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE TABLE `stat_notes` ( `id` BIGINT NOT NULL AUTO_INCREMENT, `item_id` INT NOT NULL, `stat` SMALLINT NOT NULL, `note` LONGTEXT, PRIMARY KEY (`id`), CONSTRAINT `fk_stat_notes_stat` FOREIGN KEY (`item_id`, `stat`) REFERENCES `item_stats` (`item_id`, `stat`) ON DELETE CASCADE ON UPDATE CASCADE ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
ALTER TABLE `item_sets` ADD CONSTRAINT `fk_item_sets_owner` FOREIGN KEY (`owner_id`) REFERENCES `players` (`id`) ON DELETE CASCADE ON UPDATE NO ACTION;
ALTER TABLE `items` ADD CONSTRAINT `fk_items_parent` FOREIGN KEY (`parent_id`) REFERENCES `items` (`id`) ON DELETE CASCADE ON UPDATE NO ACTION;
CREATE INDEX `idx_items_name` ON `items` (`name`);
CREATE INDEX `idx_items_active_day` ON `items` (`day`, `id`);
CREATE INDEX `idx_items_description` ON `items` (`description` (255));
CREATE INDEX `idx "odd"; ``from``` ON `odd "name"; drop` (`from`, `select`);

-- drop
ALTER TABLE `items` DROP FOREIGN KEY `fk_items_parent`;
ALTER TABLE `item_sets` DROP FOREIGN KEY `fk_item_sets_owner`;
DROP TABLE `stat_notes`;
DROP TABLE `players`;
DROP TABLE `odd "name"; drop`;
DROP TABLE `item_stats`;
DROP TABLE `items`;
DROP TABLE `item_sets`;
DROP TABLE `attack_defense`;
