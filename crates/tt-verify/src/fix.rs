//! Fix-up SQL: the DDL that brings the live schema to the expected one, in FK-safe order.

use std::fmt::Write;

use tt_schema::{
    Backend, Difference, DifferenceKind, RenderError, Schema, Table, add_check, add_column,
    add_foreign_key, add_unique, alter_column_default, alter_column_nullability, alter_column_type,
    create_ddl, create_index, diff, drop_check, drop_column, drop_ddl, drop_foreign_key,
    drop_index, drop_unique,
};

/// The statements that remove the differences between two schemas, and what needs a hand.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FixScript {
    /// The backend the statements are written for.
    pub backend: Option<Backend>,
    /// Statements without trailing semicolons, in the order they must run.
    pub statements: Vec<String>,
    /// Differences tt cannot fix with DDL on this backend (SQLite table rebuilds, primary key
    /// changes), one sentence each.
    pub manual: Vec<String>,
}

impl FixScript {
    /// Whether there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.statements.is_empty() && self.manual.is_empty()
    }

    /// The script as SQL text, usable as the body of a new migration: what needs a hand first,
    /// as `-- manual:` comments, then one statement per line ending in `;`.
    pub fn to_sql(&self) -> String {
        let mut out = String::new();
        for manual in &self.manual {
            let _ = writeln!(out, "-- manual: {manual}");
        }
        for statement in &self.statements {
            let _ = writeln!(out, "{statement};");
        }
        out
    }
}

/// The order in which kinds of change run, so that nothing refers to what is not there yet
/// and nothing is dropped while something still depends on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Phase {
    DropForeignKeys,
    DropIndexes,
    DropConstraints,
    DropTables,
    AddColumns,
    AlterColumns,
    DropColumns,
    AddUniques,
    CreateTables,
    AddChecks,
    CreateIndexes,
    AddForeignKeys,
}

/// The DDL that turns `live` into `expected` on `backend`.
///
/// Both schemas are as the backend stores them (the expected one mapped by
/// [`tt_schema::as_stored`] when it comes from TOML). The order is FK-safe: foreign keys,
/// indexes and constraints that go are dropped first, then extra tables (children before
/// parents), then columns are added, altered and dropped, then unique constraints, missing
/// tables (parents first), checks, indexes and finally the missing foreign keys. Changed
/// indexes and foreign keys are dropped and re-created. Comments are cosmetic and left alone.
///
/// What a backend cannot do in place goes to [`FixScript::manual`] with the reason: on SQLite
/// every change to a column's type, nullability or default, to its foreign keys or constraints
/// (a table rebuild, which tt does not generate); everywhere, a changed primary key.
pub fn fix_script(expected: &Schema, live: &Schema, backend: Backend) -> FixScript {
    let mut planned: Vec<(Phase, String)> = Vec::new();
    let mut manual = Vec::new();
    let differences = diff(expected, live);
    let mut extra_tables = Schema::new();
    let mut missing_tables = Schema::new();
    for difference in &differences {
        let expected_table = expected.table(&difference.table);
        let live_table = live.table(&difference.table);
        match plan(difference, expected_table, live_table, backend) {
            Planned::Statements(statements) => planned.extend(statements),
            Planned::ExtraTable(table) => {
                extra_tables.insert(table.clone());
            }
            Planned::MissingTable(table) => {
                missing_tables.insert(table.clone());
            }
            Planned::Manual(text) => manual.push(text),
            Planned::Nothing => {}
        }
    }
    let mut whole = |phase: Phase, statements: Result<Vec<String>, RenderError>| match statements {
        Ok(statements) => planned.extend(statements.into_iter().map(|s| (phase, s))),
        Err(error) => manual.push(error.to_string()),
    };
    if !extra_tables.is_empty() {
        whole(Phase::DropTables, drop_ddl(&extra_tables, backend));
    }
    if !missing_tables.is_empty() {
        whole(Phase::CreateTables, create_ddl(&missing_tables, backend));
    }
    // Stable within a phase: the diff's order (by table, then object).
    planned.sort_by_key(|(phase, _)| *phase);
    let mut statements: Vec<String> = Vec::with_capacity(planned.len());
    for (_, statement) in planned {
        // MySQL restates a whole column for each of its changes: once is enough.
        if !statements.contains(&statement) {
            statements.push(statement);
        }
    }
    FixScript {
        backend: Some(backend),
        statements,
        manual,
    }
}

/// What one difference needs.
enum Planned<'s> {
    /// Statements, each in its phase (a drop and its re-creation run in different phases).
    Statements(Vec<(Phase, String)>),
    ExtraTable(&'s Table),
    MissingTable(&'s Table),
    Manual(String),
    Nothing,
}

fn plan<'s>(
    difference: &'s Difference,
    expected: Option<&'s Table>,
    live: Option<&'s Table>,
    backend: Backend,
) -> Planned<'s> {
    use DifferenceKind as K;
    let one = |phase, result: Result<String, RenderError>| match result {
        Ok(statement) => Planned::Statements(vec![(phase, statement)]),
        Err(error) => Planned::Manual(error.to_string()),
    };
    let many = |phase: Phase, result: Result<Vec<String>, RenderError>| match result {
        Ok(statements) => Planned::Statements(statements.into_iter().map(|s| (phase, s)).collect()),
        Err(error) => Planned::Manual(error.to_string()),
    };
    let (Some(expected), Some(live)) = (expected, live) else {
        return match &difference.kind {
            K::MissingTable { expected } => Planned::MissingTable(expected),
            K::ExtraTable { actual } => Planned::ExtraTable(actual),
            _ => Planned::Nothing,
        };
    };
    match &difference.kind {
        K::MissingTable { .. } | K::ExtraTable { .. } => Planned::Nothing,
        K::MissingColumn { expected: column } => {
            many(Phase::AddColumns, add_column(expected, column, backend))
        }
        K::ExtraColumn { actual } => {
            one(Phase::DropColumns, drop_column(live, &actual.name, backend))
        }
        K::ColumnType {
            expected: column, ..
        } => one(
            Phase::AlterColumns,
            alter_column_type(expected, column, backend),
        ),
        K::ColumnNullability {
            expected: column, ..
        } => {
            // The diff normalised the flag of key columns; restate the expected column.
            let column = expected.column(&column.name).unwrap_or(column);
            one(
                Phase::AlterColumns,
                alter_column_nullability(expected, column, backend),
            )
        }
        K::ColumnDefault {
            expected: column, ..
        } => one(
            Phase::AlterColumns,
            alter_column_default(expected, column, backend),
        ),
        K::PrimaryKey {
            expected: wanted,
            actual,
        } => {
            let label = |key: &Option<tt_schema::PrimaryKey>| {
                key.as_ref().map_or("none".to_string(), |k| {
                    format!("({})", k.columns.join(", "))
                })
            };
            Planned::Manual(format!(
                "table `{}`: change the primary key from {} to {} by hand (tt does not \
                 generate primary key changes)",
                difference.table,
                label(actual),
                label(wanted)
            ))
        }
        K::MissingUnique { expected: unique } => {
            one(Phase::AddUniques, add_unique(expected, unique, backend))
        }
        K::ExtraUnique { actual } => {
            one(Phase::DropConstraints, drop_unique(live, actual, backend))
        }
        K::MissingCheck { expected: check } => {
            one(Phase::AddChecks, add_check(expected, check, backend))
        }
        K::ExtraCheck { actual } => one(Phase::DropConstraints, drop_check(live, actual, backend)),
        K::MissingForeignKey { expected: fk } => one(
            Phase::AddForeignKeys,
            add_foreign_key(expected, fk, backend),
        ),
        K::ExtraForeignKey { actual } => one(
            Phase::DropForeignKeys,
            drop_foreign_key(live, actual, backend),
        ),
        K::ChangedForeignKey {
            expected: fk,
            actual,
        } => match (
            drop_foreign_key(live, actual, backend),
            add_foreign_key(expected, fk, backend),
        ) {
            (Ok(drop), Ok(add)) => Planned::Statements(vec![
                (Phase::DropForeignKeys, drop),
                (Phase::AddForeignKeys, add),
            ]),
            (Err(error), _) | (_, Err(error)) => Planned::Manual(error.to_string()),
        },
        K::MissingIndex { expected: index } => match create_index(expected, index, backend) {
            Ok(Some(statement)) => Planned::Statements(vec![(Phase::CreateIndexes, statement)]),
            Ok(None) => Planned::Nothing,
            Err(error) => Planned::Manual(error.to_string()),
        },
        K::ExtraIndex { actual } => match drop_index(live, actual, backend) {
            Some(statement) => Planned::Statements(vec![(Phase::DropIndexes, statement)]),
            None => Planned::Nothing,
        },
        K::ChangedIndex {
            expected: index,
            actual,
        } => match (
            drop_index(live, actual, backend),
            create_index(expected, index, backend),
        ) {
            (Some(drop), Ok(Some(create))) => Planned::Statements(vec![
                (Phase::DropIndexes, drop),
                (Phase::CreateIndexes, create),
            ]),
            (_, Err(error)) => Planned::Manual(error.to_string()),
            _ => Planned::Manual(format!(
                "table `{}`: index `{}` differs but cannot be rebuilt on {backend}",
                difference.table, index.name
            )),
        },
        K::TableComment { .. } | K::ColumnComment { .. } => Planned::Nothing,
        _ => Planned::Manual(format!(
            "{difference} (tt does not fix this kind of difference)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use expect_test::{Expect, expect};

    use super::*;

    const BASE: &str = r#"
        [tables.categories]
        columns = [{ name = "id", type = "integer", primary_key = true },
                   { name = "name", type = "varchar(64)", nullable = false }]
        [tables.items]
        columns = [{ name = "id", type = "integer", primary_key = true },
                   { name = "name", type = "varchar(128)", nullable = false },
                   { name = "category_id", type = "integer", references = "categories.id" }]
        indexes = [{ name = "idx_items_name", columns = ["name"] }]
    "#;

    /// The fix for turning `live` (BASE edited by `edit`) into BASE, on every backend.
    #[track_caller]
    fn check(edit: impl Fn(&mut Schema), expected: Expect) {
        let schema = tt_schema::parse_definitions("base.toml", BASE).unwrap();
        let mut live = schema.clone();
        edit(&mut live);
        let mut out = String::new();
        for backend in Backend::ALL {
            let stored = tt_schema::as_stored(&schema, backend);
            let live = tt_schema::as_stored(&live, backend);
            out.push_str(&format!("-- {backend}\n"));
            out.push_str(&fix_script(&stored, &live, backend).to_sql());
        }
        expected.assert_eq(&out);
    }

    fn items(schema: &mut Schema) -> &mut Table {
        schema.table_mut("items").unwrap()
    }

    #[test]
    fn nothing_to_fix() {
        check(
            |_| {},
            expect![[r#"
                -- postgres
                -- mysql
                -- sqlite
            "#]],
        );
    }

    #[test]
    fn a_dropped_index_is_created() {
        check(
            |s| items(s).indexes.clear(),
            expect![[r#"
                -- postgres
                CREATE INDEX "idx_items_name" ON "items" ("name");
                -- mysql
                CREATE INDEX `idx_items_name` ON `items` (`name`);
                -- sqlite
                CREATE INDEX "idx_items_name" ON "items" ("name");
            "#]],
        );
    }

    #[test]
    fn an_extra_table_is_dropped_and_a_missing_one_created_parents_first() {
        check(
            |s| {
                s.remove("items");
                s.remove("categories");
                let mut extra = Table::new("extra");
                extra
                    .columns
                    .push(tt_schema::Column::new("x", tt_schema::ColumnType::Integer));
                s.insert(extra);
            },
            expect![[r#"
                -- postgres
                DROP TABLE "extra";
                CREATE TABLE "categories" ( "id" INTEGER NOT NULL, "name" VARCHAR(64) NOT NULL, PRIMARY KEY ("id") );
                CREATE TABLE "items" ( "id" INTEGER NOT NULL, "name" VARCHAR(128) NOT NULL, "category_id" INTEGER, PRIMARY KEY ("id"), CONSTRAINT "fk_items_category_id" FOREIGN KEY ("category_id") REFERENCES "categories" ("id") ON DELETE NO ACTION ON UPDATE NO ACTION );
                CREATE INDEX "idx_items_name" ON "items" ("name");
                -- mysql
                DROP TABLE `extra`;
                CREATE TABLE `categories` ( `id` INT NOT NULL, `name` VARCHAR(64) NOT NULL, PRIMARY KEY (`id`) ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
                CREATE TABLE `items` ( `id` INT NOT NULL, `name` VARCHAR(128) NOT NULL, `category_id` INT, PRIMARY KEY (`id`), CONSTRAINT `fk_items_category_id` FOREIGN KEY (`category_id`) REFERENCES `categories` (`id`) ON DELETE NO ACTION ON UPDATE NO ACTION ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
                CREATE INDEX `idx_items_name` ON `items` (`name`);
                -- sqlite
                DROP TABLE "extra";
                CREATE TABLE "categories" ( "id" INTEGER NOT NULL, "name" VARCHAR(64) NOT NULL, PRIMARY KEY ("id") );
                CREATE TABLE "items" ( "id" INTEGER NOT NULL, "name" VARCHAR(128) NOT NULL, "category_id" INTEGER, PRIMARY KEY ("id"), FOREIGN KEY ("category_id") REFERENCES "categories" ("id") ON DELETE NO ACTION ON UPDATE NO ACTION );
                CREATE INDEX "idx_items_name" ON "items" ("name");
            "#]],
        );
    }

    #[test]
    fn a_changed_column_type_and_nullability() {
        check(
            |s| {
                let name = &mut items(s).columns[1];
                name.ty = tt_schema::ColumnType::Text;
                name.nullable = true;
            },
            expect![[r#"
                -- postgres
                ALTER TABLE "items" ALTER COLUMN "name" TYPE VARCHAR(128) USING "name"::VARCHAR(128);
                ALTER TABLE "items" ALTER COLUMN "name" SET NOT NULL;
                -- mysql
                ALTER TABLE `items` MODIFY COLUMN `name` VARCHAR(128) NOT NULL;
                -- sqlite
                -- manual: sqlite cannot change the type of column `name` on table `items` in place; it needs a table rebuild (create a new table, copy the rows, drop the old one), which tt does not generate
                -- manual: sqlite cannot change the nullability of column `name` on table `items` in place; it needs a table rebuild (create a new table, copy the rows, drop the old one), which tt does not generate
            "#]],
        );
    }

    #[test]
    fn changed_foreign_keys_are_dropped_first_and_added_last() {
        check(
            |s| {
                let fk = &mut items(s).foreign_keys[0];
                fk.on_delete = tt_schema::FkAction::Cascade;
            },
            expect![[r#"
                -- postgres
                ALTER TABLE "items" DROP CONSTRAINT "fk_items_category_id";
                ALTER TABLE "items" ADD CONSTRAINT "fk_items_category_id" FOREIGN KEY ("category_id") REFERENCES "categories" ("id") ON DELETE NO ACTION ON UPDATE NO ACTION;
                -- mysql
                ALTER TABLE `items` DROP FOREIGN KEY `fk_items_category_id`;
                ALTER TABLE `items` ADD CONSTRAINT `fk_items_category_id` FOREIGN KEY (`category_id`) REFERENCES `categories` (`id`) ON DELETE NO ACTION ON UPDATE NO ACTION;
                -- sqlite
                -- manual: sqlite cannot drop foreign key `fk_items_category_id` on table `items` in place; it needs a table rebuild (create a new table, copy the rows, drop the old one), which tt does not generate
            "#]],
        );
        check(
            |s| items(s).foreign_keys.clear(),
            expect![[r#"
                -- postgres
                ALTER TABLE "items" ADD CONSTRAINT "fk_items_category_id" FOREIGN KEY ("category_id") REFERENCES "categories" ("id") ON DELETE NO ACTION ON UPDATE NO ACTION;
                -- mysql
                ALTER TABLE `items` ADD CONSTRAINT `fk_items_category_id` FOREIGN KEY (`category_id`) REFERENCES `categories` (`id`) ON DELETE NO ACTION ON UPDATE NO ACTION;
                -- sqlite
                -- manual: sqlite cannot add foreign key `fk_items_category_id` on table `items` in place; it needs a table rebuild (create a new table, copy the rows, drop the old one), which tt does not generate
            "#]],
        );
    }

    #[test]
    fn columns_are_added_and_dropped_and_keys_left_to_the_user() {
        check(
            |s| {
                let items = items(s);
                items.columns.retain(|c| c.name != "category_id");
                items.foreign_keys.clear();
                items
                    .columns
                    .push(tt_schema::Column::new("old", tt_schema::ColumnType::Text));
                items.primary_key = Some(tt_schema::PrimaryKey {
                    columns: vec!["id".into(), "name".into()],
                });
            },
            expect![[r#"
                -- postgres
                -- manual: table `items`: change the primary key from (id, name) to (id) by hand (tt does not generate primary key changes)
                ALTER TABLE "items" ADD COLUMN "category_id" INTEGER;
                ALTER TABLE "items" DROP COLUMN "old";
                ALTER TABLE "items" ADD CONSTRAINT "fk_items_category_id" FOREIGN KEY ("category_id") REFERENCES "categories" ("id") ON DELETE NO ACTION ON UPDATE NO ACTION;
                -- mysql
                -- manual: table `items`: change the primary key from (id, name) to (id) by hand (tt does not generate primary key changes)
                ALTER TABLE `items` ADD COLUMN `category_id` INT;
                ALTER TABLE `items` DROP COLUMN `old`;
                ALTER TABLE `items` ADD CONSTRAINT `fk_items_category_id` FOREIGN KEY (`category_id`) REFERENCES `categories` (`id`) ON DELETE NO ACTION ON UPDATE NO ACTION;
                -- sqlite
                -- manual: table `items`: change the primary key from (id, name) to (id) by hand (tt does not generate primary key changes)
                -- manual: sqlite cannot add foreign key `fk_items_category_id` on table `items` in place; it needs a table rebuild (create a new table, copy the rows, drop the old one), which tt does not generate
                ALTER TABLE "items" ADD COLUMN "category_id" INTEGER;
                ALTER TABLE "items" DROP COLUMN "old";
            "#]],
        );
    }
}
