//! Unit tests of the DDL renderer: one snapshot per statement kind, across all backends.

use expect_test::{Expect, expect};

use super::*;
use crate::{Check, PrimaryKey, Unique};

fn column(name: &str, ty: &str) -> Column {
    Column::new(name, ty.parse().expect("type parses"))
}

fn not_null(name: &str, ty: &str) -> Column {
    Column {
        nullable: false,
        ..column(name, ty)
    }
}

fn with_default(name: &str, ty: &str, default: DefaultValue) -> Column {
    Column {
        default: Some(default),
        ..column(name, ty)
    }
}

fn table(name: &str, columns: Vec<Column>, pk: &[&str]) -> Table {
    Table {
        columns,
        primary_key: (!pk.is_empty()).then(|| PrimaryKey {
            columns: pk.iter().map(|c| c.to_string()).collect(),
        }),
        ..Table::new(name)
    }
}

fn fk(name: &str, columns: &[&str], ref_table: &str, ref_columns: &[&str]) -> ForeignKey {
    ForeignKey {
        name: name.to_string(),
        columns: columns.iter().map(|c| c.to_string()).collect(),
        ref_table: ref_table.to_string(),
        ref_columns: ref_columns.iter().map(|c| c.to_string()).collect(),
        on_delete: FkAction::NoAction,
        on_update: FkAction::NoAction,
        deferrable: Deferrable::No,
    }
}

fn index(name: &str, parts: Vec<IndexPart>) -> Index {
    Index {
        name: name.to_string(),
        parts,
        unique: false,
        method: None,
        predicate: None,
    }
}

fn col(name: &str) -> IndexPart {
    IndexPart::Column(name.to_string())
}

/// Renders `f` for every backend, one `backend: statement` line per statement, errors as
/// `backend! message`.
fn per_backend<T: IntoIterator<Item = String>>(
    f: impl Fn(Backend) -> Result<T, RenderError>,
) -> String {
    let mut out = String::new();
    for backend in Backend::ALL {
        match f(backend) {
            Ok(statements) => {
                let mut any = false;
                for statement in statements {
                    out.push_str(&format!("{backend}: {statement}\n"));
                    any = true;
                }
                if !any {
                    out.push_str(&format!("{backend}: (nothing)\n"));
                }
            }
            Err(error) => out.push_str(&format!("{backend}! {error}\n")),
        }
    }
    out
}

#[track_caller]
fn check<T: IntoIterator<Item = String>>(
    f: impl Fn(Backend) -> Result<T, RenderError>,
    expected: Expect,
) {
    expected.assert_eq(&per_backend(f));
}

fn items() -> Table {
    let mut items = table(
        "items",
        vec![
            not_null("id", "serial"),
            Column {
                comment: Some("Display name, 'quoted'".into()),
                ..not_null("name", "varchar(128)")
            },
            with_default("ql", "integer", DefaultValue::Number("0".into())),
            column("data", "jsonb"),
            column("body", "text"),
        ],
        &["id"],
    );
    items.comment = Some("Main items table".into());
    items
}

#[test]
fn create_table_with_keys_checks_and_comments() {
    let mut t = items();
    t.uniques.push(Unique {
        name: Some("uq_items_name".into()),
        columns: vec!["name".into()],
    });
    t.checks.push(Check {
        name: Some("ck_ql".into()),
        expression: "ql >= 0".into(),
    });
    t.checks.push(Check {
        name: None,
        expression: "id > 0".into(),
    });
    check(
        |b| create_table(&t, b, |_| true),
        expect![[r#"
            postgres: CREATE TABLE "items" ( "id" SERIAL NOT NULL, "name" VARCHAR(128) NOT NULL, "ql" INTEGER DEFAULT 0, "data" JSONB, "body" TEXT, PRIMARY KEY ("id"), CONSTRAINT "uq_items_name" UNIQUE ("name"), CONSTRAINT "ck_ql" CHECK (ql >= 0), CHECK (id > 0) )
            postgres: COMMENT ON TABLE "items" IS 'Main items table'
            postgres: COMMENT ON COLUMN "items"."name" IS E'Display name, \'quoted\''
            mysql: CREATE TABLE `items` ( `id` INT NOT NULL AUTO_INCREMENT, `name` VARCHAR(128) NOT NULL COMMENT 'Display name, \'quoted\'', `ql` INT DEFAULT 0, `data` JSON, `body` LONGTEXT, PRIMARY KEY (`id`), UNIQUE KEY `uq_items_name` (`name`), CONSTRAINT `ck_ql` CHECK (ql >= 0), CHECK (id > 0) ) COMMENT 'Main items table' ENGINE=InnoDB DEFAULT CHARSET=utf8mb4
            sqlite: CREATE TABLE "items" ( "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, "name" VARCHAR(128) NOT NULL, "ql" INTEGER DEFAULT 0, "data" TEXT, "body" TEXT, CONSTRAINT "uq_items_name" UNIQUE ("name"), CONSTRAINT "ck_ql" CHECK (ql >= 0), CHECK (id > 0) )
        "#]],
    );
}

#[test]
fn awkward_identifiers_are_quoted_everywhere() {
    let name = "odd \"name\"; drop `x`";
    let mut t = table(name, vec![not_null("select", "integer")], &["select"]);
    t.uniques.push(Unique {
        name: Some("uq \"odd\" `x`".into()),
        columns: vec!["select".into()],
    });
    t.foreign_keys
        .push(fk("fk \"self\" `x`", &["select"], name, &["select"]));
    t.indexes
        .push(index("idx \"odd\" `x`", vec![col("select")]));
    check(
        |b| create_table(&t, b, |_| true),
        expect![[r#"
            postgres: CREATE TABLE "odd ""name""; drop `x`" ( "select" INTEGER NOT NULL, PRIMARY KEY ("select"), CONSTRAINT "uq ""odd"" `x`" UNIQUE ("select"), CONSTRAINT "fk ""self"" `x`" FOREIGN KEY ("select") REFERENCES "odd ""name""; drop `x`" ("select") ON DELETE NO ACTION ON UPDATE NO ACTION )
            postgres: CREATE INDEX "idx ""odd"" `x`" ON "odd ""name""; drop `x`" ("select")
            mysql: CREATE TABLE `odd "name"; drop ``x``` ( `select` INT NOT NULL, PRIMARY KEY (`select`), UNIQUE KEY `uq "odd" ``x``` (`select`), CONSTRAINT `fk "self" ``x``` FOREIGN KEY (`select`) REFERENCES `odd "name"; drop ``x``` (`select`) ON DELETE NO ACTION ON UPDATE NO ACTION ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4
            mysql: CREATE INDEX `idx "odd" ``x``` ON `odd "name"; drop ``x``` (`select`)
            sqlite: CREATE TABLE "odd ""name""; drop `x`" ( "select" INTEGER NOT NULL, PRIMARY KEY ("select"), CONSTRAINT "uq ""odd"" `x`" UNIQUE ("select"), FOREIGN KEY ("select") REFERENCES "odd ""name""; drop `x`" ("select") ON DELETE NO ACTION ON UPDATE NO ACTION )
            sqlite: CREATE INDEX "idx ""odd"" `x`" ON "odd ""name""; drop `x`" ("select")
        "#]],
    );
}

#[test]
fn backend_quoting_agrees_with_sea_query() {
    // Statements written by hand (COMMENT ON, DROP DEFAULT) quote with Backend::quote_ident;
    // everything else is quoted by sea-query. Both must escape alike.
    for name in [
        "plain",
        "odd \"name\"; drop",
        "a`b``c",
        "select",
        "ünï \" `",
    ] {
        let iden = Alias::new(name).into_iden();
        for backend in Backend::ALL {
            let mut sea = String::new();
            match backend {
                Backend::Postgres => PostgresQueryBuilder.prepare_iden(&iden, &mut sea),
                Backend::Mysql => MysqlQueryBuilder.prepare_iden(&iden, &mut sea),
                Backend::Sqlite => SqliteQueryBuilder.prepare_iden(&iden, &mut sea),
            }
            assert_eq!(backend.quote_ident(name), sea, "{name:?} on {backend}");
        }
    }
}

#[test]
fn defaults_per_backend() {
    let render = |ty: &str, default: DefaultValue| {
        let t = table("t", vec![with_default("c", ty, default)], &[]);
        per_backend(|b| create_table(&t, b, |_| true))
    };
    let cases = [
        render("boolean", DefaultValue::Bool(true)),
        render("decimal(5,2)", DefaultValue::Number("-2.5".into())),
        render("varchar(9)", DefaultValue::String("it's \\ here".into())),
        render("text", DefaultValue::String("long".into())),
        render("jsonb", DefaultValue::String("{}".into())),
        render("timestamptz", DefaultValue::CurrentTimestamp),
        render("date", DefaultValue::CurrentTimestamp),
        render("integer", DefaultValue::Expression("1 + 2".into())),
    ];
    expect![[r#"
        postgres: CREATE TABLE "t" ( "c" BOOLEAN DEFAULT TRUE )
        mysql: CREATE TABLE `t` ( `c` TINYINT(1) DEFAULT TRUE ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4
        sqlite: CREATE TABLE "t" ( "c" BOOLEAN DEFAULT TRUE )
        postgres: CREATE TABLE "t" ( "c" NUMERIC(5,2) DEFAULT -2.5 )
        mysql: CREATE TABLE `t` ( `c` DECIMAL(5,2) DEFAULT -2.5 ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4
        sqlite: CREATE TABLE "t" ( "c" DECIMAL(5,2) DEFAULT -2.5 )
        postgres: CREATE TABLE "t" ( "c" VARCHAR(9) DEFAULT E'it\'s \\ here' )
        mysql: CREATE TABLE `t` ( `c` VARCHAR(9) DEFAULT 'it\'s \\ here' ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4
        sqlite: CREATE TABLE "t" ( "c" VARCHAR(9) DEFAULT 'it''s \ here' )
        postgres: CREATE TABLE "t" ( "c" TEXT DEFAULT 'long' )
        mysql: CREATE TABLE `t` ( `c` LONGTEXT DEFAULT ('long') ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4
        sqlite: CREATE TABLE "t" ( "c" TEXT DEFAULT 'long' )
        postgres: CREATE TABLE "t" ( "c" JSONB DEFAULT '{}' )
        mysql: CREATE TABLE `t` ( `c` JSON DEFAULT ('{}') ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4
        sqlite: CREATE TABLE "t" ( "c" TEXT DEFAULT '{}' )
        postgres: CREATE TABLE "t" ( "c" TIMESTAMPTZ DEFAULT CURRENT_TIMESTAMP )
        mysql: CREATE TABLE `t` ( `c` DATETIME(6) DEFAULT CURRENT_TIMESTAMP(6) ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4
        sqlite: CREATE TABLE "t" ( "c" TIMESTAMPTZ DEFAULT CURRENT_TIMESTAMP )
        postgres: CREATE TABLE "t" ( "c" DATE DEFAULT CURRENT_TIMESTAMP )
        mysql: CREATE TABLE `t` ( `c` DATE DEFAULT (CURRENT_TIMESTAMP) ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4
        sqlite: CREATE TABLE "t" ( "c" DATE DEFAULT CURRENT_TIMESTAMP )
        postgres: CREATE TABLE "t" ( "c" INTEGER DEFAULT (1 + 2) )
        mysql: CREATE TABLE `t` ( `c` INT DEFAULT (1 + 2) ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4
        sqlite: CREATE TABLE "t" ( "c" INTEGER DEFAULT (1 + 2) )
    "#]]
    .assert_eq(&cases.concat());
}

#[test]
fn number_defaults_must_be_numbers() {
    for (text, ok) in [
        ("0", true),
        ("-1", true),
        ("+2.5", true),
        (".5", true),
        ("1e-3", true),
        ("", false),
        ("1; DROP TABLE t", false),
        ("inf", false),
        ("NaN", false),
        ("0x10", false),
        ("-", false),
    ] {
        assert_eq!(is_number(text), ok, "{text:?}");
    }
    let t = table(
        "t",
        vec![with_default(
            "c",
            "integer",
            DefaultValue::Number("1)".into()),
        )],
        &[],
    );
    check(
        |b| create_table(&t, b, |_| true),
        expect![[r#"
            postgres! default of column `t.c` is `1)`, which is not a number
            mysql! default of column `t.c` is `1)`, which is not a number
            sqlite! default of column `t.c` is `1)`, which is not a number
        "#]],
    );
}

#[test]
fn serial_that_is_not_the_whole_key() {
    let t = table(
        "t",
        vec![not_null("a", "serial"), not_null("b", "bigserial")],
        &["a", "b"],
    );
    check(
        |b| create_table(&t, b, |_| true),
        expect![[r#"
            postgres: CREATE TABLE "t" ( "a" SERIAL NOT NULL, "b" BIGSERIAL NOT NULL, PRIMARY KEY ("a", "b") )
            mysql: CREATE TABLE `t` ( `a` INT NOT NULL, `b` BIGINT NOT NULL, PRIMARY KEY (`a`, `b`) ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4
            sqlite: CREATE TABLE "t" ( "a" INTEGER NOT NULL, "b" BIGINT NOT NULL, PRIMARY KEY ("a", "b") )
        "#]],
    );
}

#[test]
fn inline_foreign_keys_follow_the_predicate_except_on_sqlite() {
    let mut t = table(
        "child",
        vec![column("p", "integer"), column("q", "integer")],
        &[],
    );
    t.foreign_keys.push(fk("fk_p", &["p"], "parent", &["id"]));
    t.foreign_keys.push(ForeignKey {
        on_delete: FkAction::SetNull,
        on_update: FkAction::Cascade,
        deferrable: Deferrable::InitiallyDeferred,
        ..fk("fk_q", &["q"], "parent", &["id"])
    });
    check(
        |b| create_table(&t, b, |fk| fk.name == "fk_q"),
        expect![[r#"
            postgres: CREATE TABLE "child" ( "p" INTEGER, "q" INTEGER )
            postgres: ALTER TABLE "child" ADD CONSTRAINT "fk_q" FOREIGN KEY ("q") REFERENCES "parent" ("id") ON DELETE SET NULL ON UPDATE CASCADE DEFERRABLE INITIALLY DEFERRED
            mysql: CREATE TABLE `child` ( `p` INT, `q` INT, CONSTRAINT `fk_q` FOREIGN KEY (`q`) REFERENCES `parent` (`id`) ON DELETE SET NULL ON UPDATE CASCADE ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4
            sqlite: CREATE TABLE "child" ( "p" INTEGER, "q" INTEGER, FOREIGN KEY ("p") REFERENCES "parent" ("id") ON DELETE NO ACTION ON UPDATE NO ACTION, FOREIGN KEY ("q") REFERENCES "parent" ("id") ON DELETE SET NULL ON UPDATE CASCADE )
        "#]],
    );
}

#[test]
fn add_and_drop_foreign_keys() {
    let t = table(
        "c",
        vec![column("a", "integer"), column("b", "integer")],
        &[],
    );
    let composite = ForeignKey {
        on_delete: FkAction::Cascade,
        deferrable: Deferrable::InitiallyImmediate,
        ..fk("fk_ab", &["a", "b"], "p", &["x", "y"])
    };
    check(
        |b| add_foreign_key(&t, &composite, b).map(|s| [s]),
        expect![[r#"
            postgres: ALTER TABLE "c" ADD CONSTRAINT "fk_ab" FOREIGN KEY ("a", "b") REFERENCES "p" ("x", "y") ON DELETE CASCADE ON UPDATE NO ACTION DEFERRABLE INITIALLY IMMEDIATE
            mysql: ALTER TABLE `c` ADD CONSTRAINT `fk_ab` FOREIGN KEY (`a`, `b`) REFERENCES `p` (`x`, `y`) ON DELETE CASCADE ON UPDATE NO ACTION
            sqlite! sqlite cannot add foreign key `fk_ab` on table `c` in place; it needs a table rebuild (create a new table, copy the rows, drop the old one), which tt does not generate
        "#]],
    );
    check(
        |b| drop_foreign_key(&t, &composite, b).map(|s| [s]),
        expect![[r#"
            postgres: ALTER TABLE "c" DROP CONSTRAINT "fk_ab"
            mysql: ALTER TABLE `c` DROP FOREIGN KEY `fk_ab`
            sqlite! sqlite cannot drop foreign key `fk_ab` on table `c` in place; it needs a table rebuild (create a new table, copy the rows, drop the old one), which tt does not generate
        "#]],
    );
    let set_default = ForeignKey {
        on_update: FkAction::SetDefault,
        ..fk("fk_a", &["a"], "p", &["x"])
    };
    check(
        |b| add_foreign_key(&t, &set_default, b).map(|s| [s]),
        expect![[r#"
            postgres: ALTER TABLE "c" ADD CONSTRAINT "fk_a" FOREIGN KEY ("a") REFERENCES "p" ("x") ON DELETE NO ACTION ON UPDATE SET DEFAULT
            mysql! mysql does not support ON UPDATE SET DEFAULT in foreign key `fk_a` (table `c`): InnoDB rejects SET DEFAULT; use SET NULL, CASCADE or RESTRICT
            sqlite! sqlite cannot add foreign key `fk_a` on table `c` in place; it needs a table rebuild (create a new table, copy the rows, drop the old one), which tt does not generate
        "#]],
    );
}

fn indexed() -> Table {
    table(
        "t",
        vec![
            not_null("id", "integer"),
            column("name", "varchar(50)"),
            column("body", "text"),
            column("data", "jsonb"),
        ],
        &["id"],
    )
}

#[track_caller]
fn check_index(index: Index, expected: Expect) {
    let t = indexed();
    check(|b| create_index(&t, &index, b), expected);
}

#[test]
fn indexes_per_backend() {
    check_index(
        Index {
            unique: true,
            ..index("ix_plain", vec![col("name"), col("id")])
        },
        expect![[r#"
            postgres: CREATE UNIQUE INDEX "ix_plain" ON "t" ("name", "id")
            mysql: CREATE UNIQUE INDEX `ix_plain` ON `t` (`name`, `id`)
            sqlite: CREATE UNIQUE INDEX "ix_plain" ON "t" ("name", "id")
        "#]],
    );
    check_index(
        Index {
            method: Some("GIN".into()),
            ..index("ix_gin", vec![col("data")])
        },
        expect![[r#"
            postgres: CREATE INDEX "ix_gin" ON "t" USING gin ("data")
            mysql: (nothing)
            sqlite: CREATE INDEX "ix_gin" ON "t" ("data")
        "#]],
    );
    check_index(
        Index {
            method: Some("gist".into()),
            ..index("ix_method", vec![col("name")])
        },
        expect![[r#"
            postgres: CREATE INDEX "ix_method" ON "t" USING gist ("name")
            mysql: CREATE INDEX `ix_method` ON `t` (`name`)
            sqlite: CREATE INDEX "ix_method" ON "t" ("name")
        "#]],
    );
    check_index(
        index(
            "ix_expr",
            vec![IndexPart::Expression("to_tsvector('english', name)".into())],
        ),
        expect![[r#"
            postgres: CREATE INDEX "ix_expr" ON "t" ((to_tsvector('english', name)))
            mysql: (nothing)
            sqlite: (nothing)
        "#]],
    );
    check_index(
        Index {
            unique: true,
            ..index(
                "ix_uexpr",
                vec![IndexPart::Expression("lower(name)".into())],
            )
        },
        expect![[r#"
            postgres: CREATE UNIQUE INDEX "ix_uexpr" ON "t" ((lower(name)))
            mysql! mysql does not support expression index `ix_uexpr` (table `t`): index expressions are rendered on PostgreSQL only
            sqlite! sqlite does not support expression index `ix_uexpr` (table `t`): index expressions are rendered on PostgreSQL only
        "#]],
    );
    check_index(
        Index {
            predicate: Some("name IS NOT NULL".into()),
            ..index("ix_partial", vec![col("name")])
        },
        expect![[r#"
            postgres: CREATE INDEX "ix_partial" ON "t" ("name") WHERE name IS NOT NULL
            mysql: CREATE INDEX `ix_partial` ON `t` (`name`)
            sqlite: CREATE INDEX "ix_partial" ON "t" ("name") WHERE name IS NOT NULL
        "#]],
    );
    check_index(
        Index {
            unique: true,
            predicate: Some("name IS NOT NULL".into()),
            ..index("ix_upartial", vec![col("name")])
        },
        expect![[r#"
            postgres: CREATE UNIQUE INDEX "ix_upartial" ON "t" ("name") WHERE name IS NOT NULL
            mysql! mysql does not support partial unique index `ix_upartial` (table `t`): MySQL has no partial indexes
            sqlite: CREATE UNIQUE INDEX "ix_upartial" ON "t" ("name") WHERE name IS NOT NULL
        "#]],
    );
    check_index(
        index("ix_body", vec![col("body")]),
        expect![[r#"
            postgres: CREATE INDEX "ix_body" ON "t" ("body")
            mysql: CREATE INDEX `ix_body` ON `t` (`body` (255))
            sqlite: CREATE INDEX "ix_body" ON "t" ("body")
        "#]],
    );
    check_index(
        Index {
            unique: true,
            ..index("ix_ubody", vec![col("body")])
        },
        expect![[r#"
            postgres: CREATE UNIQUE INDEX "ix_ubody" ON "t" ("body")
            mysql! mysql cannot use column `t.body` (text is stored as LONGTEXT) in index `ix_ubody`; give the column a bounded type such as varchar(255)
            sqlite: CREATE UNIQUE INDEX "ix_ubody" ON "t" ("body")
        "#]],
    );
}

#[test]
fn index_errors() {
    check_index(
        index("ix_missing", vec![col("nope")]),
        expect![[r#"
            postgres! index `ix_missing` of table `t` names column `nope`, which the table does not have
            mysql! index `ix_missing` of table `t` names column `nope`, which the table does not have
            sqlite! index `ix_missing` of table `t` names column `nope`, which the table does not have
        "#]],
    );
    check_index(
        Index {
            method: Some("gin) WITH (x".into()),
            ..index("ix_bad", vec![col("name")])
        },
        expect![[r#"
            postgres! index `ix_bad` of table `t` has method `gin) WITH (x`, which is not a plain name
            mysql: CREATE INDEX `ix_bad` ON `t` (`name`)
            sqlite: CREATE INDEX "ix_bad" ON "t" ("name")
        "#]],
    );
    // A part the backend cannot index once hid the missing column after it on MySQL and
    // SQLite, so the same index was an error on PostgreSQL only.
    check_index(
        index(
            "ix_left_out_and_missing",
            vec![
                col("data"),
                IndexPart::Expression("lower(name)".into()),
                col("nope"),
            ],
        ),
        expect![[r#"
            postgres! index `ix_left_out_and_missing` of table `t` names column `nope`, which the table does not have
            mysql! index `ix_left_out_and_missing` of table `t` names column `nope`, which the table does not have
            sqlite! index `ix_left_out_and_missing` of table `t` names column `nope`, which the table does not have
        "#]],
    );
    check_index(
        index("ix_empty", vec![]),
        expect![[r#"
            postgres! index `ix_empty` of table `t` has nothing to index
            mysql! index `ix_empty` of table `t` has nothing to index
            sqlite! index `ix_empty` of table `t` has nothing to index
        "#]],
    );
}

#[test]
fn drop_index_only_what_was_built() {
    let t = indexed();
    let plain = index("ix_name", vec![col("name")]);
    let gin = Index {
        method: Some("gin".into()),
        ..index("ix_gin", vec![col("data")])
    };
    check(
        |b| {
            let t = &t;
            Ok([&plain, &gin]
                .into_iter()
                .filter_map(move |i| drop_index(t, i, b)))
        },
        expect![[r#"
            postgres: DROP INDEX "ix_name"
            postgres: DROP INDEX "ix_gin"
            mysql: DROP INDEX `ix_name` ON `t`
            sqlite: DROP INDEX "ix_name"
            sqlite: DROP INDEX "ix_gin"
        "#]],
    );
}

#[test]
fn key_columns_must_be_indexable_on_mysql() {
    let mut t = table(
        "t",
        vec![not_null("k", "text"), column("j", "jsonb")],
        &["k"],
    );
    check(
        |b| create_table(&t, b, |_| true),
        expect![[r#"
            postgres: CREATE TABLE "t" ( "k" TEXT NOT NULL, "j" JSONB, PRIMARY KEY ("k") )
            mysql! mysql cannot use column `t.k` (text is stored as LONGTEXT) in the primary key; give the column a bounded type such as varchar(255)
            sqlite: CREATE TABLE "t" ( "k" TEXT NOT NULL, "j" TEXT, PRIMARY KEY ("k") )
        "#]],
    );
    t.primary_key = None;
    t.uniques.push(Unique {
        name: None,
        columns: vec!["j".into()],
    });
    let result = create_table(&t, Backend::Mysql, |_| true);
    expect![[r#"
        Err(
            Unindexable {
                backend: Mysql,
                table: "t",
                column: "j",
                ty: Jsonb,
                native: "JSON",
                used_by: "the unique constraint on (j)",
            },
        )
    "#]]
    .assert_debug_eq(&result);
}

#[test]
fn tables_need_columns() {
    let t = Table::new("empty");
    assert_eq!(
        create_table(&t, Backend::Postgres, |_| true),
        Err(RenderError::NoColumns {
            table: "empty".into()
        })
    );
}

#[test]
fn drop_table_quotes_the_name() {
    check(
        |b| Ok::<_, RenderError>([drop_table("a\"b`c", b)]),
        expect![[r#"
            postgres: DROP TABLE "a""b`c"
            mysql: DROP TABLE `a"b``c`
            sqlite: DROP TABLE "a""b`c"
        "#]],
    );
}

#[test]
fn add_and_drop_columns() {
    let mut t = items();
    t.uniques.push(Unique {
        name: None,
        columns: vec!["name".into()],
    });
    let added = Column {
        comment: Some("Quality".into()),
        ..with_default("qh", "smallint", DefaultValue::Number("1".into()))
    };
    check(
        |b| add_column(&t, &added, b),
        expect![[r#"
            postgres: ALTER TABLE "items" ADD COLUMN "qh" SMALLINT DEFAULT 1
            postgres: COMMENT ON COLUMN "items"."qh" IS 'Quality'
            mysql: ALTER TABLE `items` ADD COLUMN `qh` SMALLINT DEFAULT 1 COMMENT 'Quality'
            sqlite: ALTER TABLE "items" ADD COLUMN "qh" SMALLINT DEFAULT 1
        "#]],
    );
    check(
        |b| add_column(&t, &not_null("must", "integer"), b),
        expect![[r#"
            postgres: ALTER TABLE "items" ADD COLUMN "must" INTEGER NOT NULL
            mysql: ALTER TABLE `items` ADD COLUMN `must` INT NOT NULL
            sqlite! sqlite cannot add column `must` on table `items` in place; it needs a table rebuild (create a new table, copy the rows, drop the old one), which tt does not generate
        "#]],
    );
    check(
        |b| add_column(&t, &t.columns[0], b),
        expect![[r#"
            postgres! postgres does not support adding primary key column `id` (table `items`): a primary key change needs the table recreated
            mysql! mysql does not support adding primary key column `id` (table `items`): a primary key change needs the table recreated
            sqlite! sqlite does not support adding primary key column `id` (table `items`): a primary key change needs the table recreated
        "#]],
    );
    check(
        |b| drop_column(&t, "ql", b).map(|s| [s]),
        expect![[r#"
            postgres: ALTER TABLE "items" DROP COLUMN "ql"
            mysql: ALTER TABLE `items` DROP COLUMN `ql`
            sqlite: ALTER TABLE "items" DROP COLUMN "ql"
        "#]],
    );
    check(
        |b| drop_column(&t, "name", b).map(|s| [s]),
        expect![[r#"
            postgres: ALTER TABLE "items" DROP COLUMN "name"
            mysql: ALTER TABLE `items` DROP COLUMN `name`
            sqlite! sqlite cannot drop key column `name` on table `items` in place; it needs a table rebuild (create a new table, copy the rows, drop the old one), which tt does not generate
        "#]],
    );
}

#[test]
fn sqlite_adds_and_drops_in_place_only_what_it_can() {
    let mut t = items();
    t.uniques.push(Unique {
        name: None,
        columns: vec!["name".into()],
    });
    t.foreign_keys.push(fk("fk_ql", &["ql"], "levels", &["id"]));
    let outcome = |result: Result<(), RenderError>| match result {
        Ok(_) => "in place".to_string(),
        Err(RenderError::NeedsRebuild { .. }) => "rebuild".to_string(),
        Err(other) => format!("error: {other}"),
    };
    let mut lines = Vec::new();
    for added in [
        column("plain", "integer"),
        Column {
            nullable: false,
            ..with_default("zero", "integer", DefaultValue::Number("0".into()))
        },
        not_null("required", "integer"),
        column("counter", "serial"),
        with_default("at", "timestamp", DefaultValue::CurrentTimestamp),
        with_default("sum", "integer", DefaultValue::Expression("1 + 2".into())),
        column("name", "varchar(128)"),
    ] {
        let result = add_column(&t, &added, Backend::Sqlite).map(drop);
        lines.push(format!("add {}: {}", added.name, outcome(result)));
    }
    for dropped in ["body", "id", "name", "ql"] {
        let result = drop_column(&t, dropped, Backend::Sqlite).map(drop);
        lines.push(format!("drop {dropped}: {}", outcome(result)));
    }
    expect![[r#"
        add plain: in place
        add zero: in place
        add required: rebuild
        add counter: rebuild
        add at: rebuild
        add sum: rebuild
        add name: rebuild
        drop body: in place
        drop id: rebuild
        drop name: rebuild
        drop ql: rebuild"#]]
    .assert_eq(&lines.join("\n"));
}

#[test]
fn alter_columns() {
    let t = items();
    let changed = Column {
        comment: Some("Level".into()),
        ..with_default("ql", "bigint", DefaultValue::Number("5".into()))
    };
    check(
        |b| alter_column_type(&t, &changed, b).map(|s| [s]),
        expect![[r#"
            postgres: ALTER TABLE "items" ALTER COLUMN "ql" TYPE BIGINT USING "ql"::BIGINT
            mysql: ALTER TABLE `items` MODIFY COLUMN `ql` BIGINT DEFAULT 5 COMMENT 'Level'
            sqlite! sqlite cannot change the type of column `ql` on table `items` in place; it needs a table rebuild (create a new table, copy the rows, drop the old one), which tt does not generate
        "#]],
    );
    check(
        |b| alter_column_type(&t, &not_null("id", "bigserial"), b).map(|s| [s]),
        expect![[r#"
            postgres: ALTER TABLE "items" ALTER COLUMN "id" TYPE BIGINT USING "id"::BIGINT
            mysql: ALTER TABLE `items` MODIFY COLUMN `id` BIGINT NOT NULL AUTO_INCREMENT
            sqlite! sqlite cannot change the type of column `id` on table `items` in place; it needs a table rebuild (create a new table, copy the rows, drop the old one), which tt does not generate
        "#]],
    );
    let required = Column {
        nullable: false,
        ..changed.clone()
    };
    check(
        |b| alter_column_nullability(&t, &required, b).map(|s| [s]),
        expect![[r#"
            postgres: ALTER TABLE "items" ALTER COLUMN "ql" SET NOT NULL
            mysql: ALTER TABLE `items` MODIFY COLUMN `ql` BIGINT NOT NULL DEFAULT 5 COMMENT 'Level'
            sqlite! sqlite cannot change the nullability of column `ql` on table `items` in place; it needs a table rebuild (create a new table, copy the rows, drop the old one), which tt does not generate
        "#]],
    );
    check(
        |b| alter_column_nullability(&t, &changed, b).map(|s| [s]),
        expect![[r#"
            postgres: ALTER TABLE "items" ALTER COLUMN "ql" DROP NOT NULL
            mysql: ALTER TABLE `items` MODIFY COLUMN `ql` BIGINT DEFAULT 5 COMMENT 'Level'
            sqlite! sqlite cannot change the nullability of column `ql` on table `items` in place; it needs a table rebuild (create a new table, copy the rows, drop the old one), which tt does not generate
        "#]],
    );
    check(
        |b| alter_column_default(&t, &changed, b).map(|s| [s]),
        expect![[r#"
            postgres: ALTER TABLE "items" ALTER COLUMN "ql" SET DEFAULT 5
            mysql: ALTER TABLE `items` MODIFY COLUMN `ql` BIGINT DEFAULT 5 COMMENT 'Level'
            sqlite! sqlite cannot change the default of column `ql` on table `items` in place; it needs a table rebuild (create a new table, copy the rows, drop the old one), which tt does not generate
        "#]],
    );
    let no_default = Column {
        default: None,
        ..changed.clone()
    };
    check(
        |b| alter_column_default(&t, &no_default, b).map(|s| [s]),
        expect![[r#"
            postgres: ALTER TABLE "items" ALTER COLUMN "ql" DROP DEFAULT
            mysql: ALTER TABLE `items` MODIFY COLUMN `ql` BIGINT COMMENT 'Level'
            sqlite! sqlite cannot change the default of column `ql` on table `items` in place; it needs a table rebuild (create a new table, copy the rows, drop the old one), which tt does not generate
        "#]],
    );
}

#[test]
fn altering_nullability_keeps_key_and_serial_columns_not_null() {
    // PostgreSQL once rendered DROP NOT NULL for a key or serial column whose flag said
    // nullable (as `Column::new` leaves it), while CREATE TABLE and MySQL made it NOT NULL.
    let t = items();
    let key = column("id", "serial");
    let serial = column("ql", "bigserial");
    check(
        |b| {
            Ok([
                alter_column_nullability(&t, &key, b)?,
                alter_column_nullability(&t, &serial, b)?,
            ])
        },
        expect![[r#"
            postgres: ALTER TABLE "items" ALTER COLUMN "id" SET NOT NULL
            postgres: ALTER TABLE "items" ALTER COLUMN "ql" SET NOT NULL
            mysql: ALTER TABLE `items` MODIFY COLUMN `id` INT NOT NULL AUTO_INCREMENT
            mysql: ALTER TABLE `items` MODIFY COLUMN `ql` BIGINT NOT NULL
            sqlite! sqlite cannot change the nullability of column `id` on table `items` in place; it needs a table rebuild (create a new table, copy the rows, drop the old one), which tt does not generate
        "#]],
    );
}

/// Two tables in a cycle: `a.b_id` → `b`, `b.a_id` → `a`; `b` is created first.
fn cycle() -> Schema {
    let mut a = table(
        "a",
        vec![not_null("id", "integer"), column("b_id", "integer")],
        &["id"],
    );
    a.foreign_keys.push(fk("fk_a_b", &["b_id"], "b", &["id"]));
    let mut b = table(
        "b",
        vec![not_null("id", "integer"), column("a_id", "integer")],
        &["id"],
    );
    b.foreign_keys.push(fk("fk_b_a", &["a_id"], "a", &["id"]));
    Schema::from_tables([a, b])
}

#[test]
fn whole_schema_with_a_cycle() {
    let schema = cycle();
    let deferred = |table: &str, _: &ForeignKey| table == "b";
    check(
        |b| create_statements(&schema, b, &["b", "a"], deferred),
        expect![[r#"
            postgres: CREATE TABLE "b" ( "id" INTEGER NOT NULL, "a_id" INTEGER, PRIMARY KEY ("id") )
            postgres: CREATE TABLE "a" ( "id" INTEGER NOT NULL, "b_id" INTEGER, PRIMARY KEY ("id"), CONSTRAINT "fk_a_b" FOREIGN KEY ("b_id") REFERENCES "b" ("id") ON DELETE NO ACTION ON UPDATE NO ACTION )
            postgres: ALTER TABLE "b" ADD CONSTRAINT "fk_b_a" FOREIGN KEY ("a_id") REFERENCES "a" ("id") ON DELETE NO ACTION ON UPDATE NO ACTION
            mysql: CREATE TABLE `b` ( `id` INT NOT NULL, `a_id` INT, PRIMARY KEY (`id`) ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4
            mysql: CREATE TABLE `a` ( `id` INT NOT NULL, `b_id` INT, PRIMARY KEY (`id`), CONSTRAINT `fk_a_b` FOREIGN KEY (`b_id`) REFERENCES `b` (`id`) ON DELETE NO ACTION ON UPDATE NO ACTION ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4
            mysql: ALTER TABLE `b` ADD CONSTRAINT `fk_b_a` FOREIGN KEY (`a_id`) REFERENCES `a` (`id`) ON DELETE NO ACTION ON UPDATE NO ACTION
            sqlite: CREATE TABLE "b" ( "id" INTEGER NOT NULL, "a_id" INTEGER, PRIMARY KEY ("id"), FOREIGN KEY ("a_id") REFERENCES "a" ("id") ON DELETE NO ACTION ON UPDATE NO ACTION )
            sqlite: CREATE TABLE "a" ( "id" INTEGER NOT NULL, "b_id" INTEGER, PRIMARY KEY ("id"), FOREIGN KEY ("b_id") REFERENCES "b" ("id") ON DELETE NO ACTION ON UPDATE NO ACTION )
        "#]],
    );
    check(
        |b| drop_statements(&schema, b, &["a", "b"], deferred),
        expect![[r#"
            postgres: ALTER TABLE "b" DROP CONSTRAINT "fk_b_a"
            postgres: DROP TABLE "a"
            postgres: DROP TABLE "b"
            mysql: ALTER TABLE `b` DROP FOREIGN KEY `fk_b_a`
            mysql: DROP TABLE `a`
            mysql: DROP TABLE `b`
            sqlite: DROP TABLE "a"
            sqlite: DROP TABLE "b"
        "#]],
    );
    let order = vec!["a".to_string(), "missing".to_string()];
    assert_eq!(
        create_statements(&schema, Backend::Postgres, &order, deferred),
        Err(RenderError::UnknownTable {
            table: "missing".into()
        })
    );
    assert_eq!(
        drop_statements(&schema, Backend::Sqlite, &order, deferred),
        Err(RenderError::UnknownTable {
            table: "missing".into()
        })
    );
}

/// Regression: a table's indexes came right after its CREATE TABLE, before later tables and
/// the foreign keys of cycles; a run could not create all tables first and index after.
#[test]
fn indexes_come_after_every_table_and_foreign_key() {
    let mut schema = cycle();
    for name in ["a", "b"] {
        let mut table = schema.table(name).unwrap().clone();
        table
            .indexes
            .push(index(&format!("ix_{name}"), vec![col("id")]));
        table.comment = Some(format!("table {name}"));
        schema.insert(table);
    }
    check(
        |b| create_ddl(&schema, b),
        expect![[r#"
            postgres: CREATE TABLE "a" ( "id" INTEGER NOT NULL, "b_id" INTEGER, PRIMARY KEY ("id") )
            postgres: COMMENT ON TABLE "a" IS 'table a'
            postgres: CREATE TABLE "b" ( "id" INTEGER NOT NULL, "a_id" INTEGER, PRIMARY KEY ("id"), CONSTRAINT "fk_b_a" FOREIGN KEY ("a_id") REFERENCES "a" ("id") ON DELETE NO ACTION ON UPDATE NO ACTION )
            postgres: COMMENT ON TABLE "b" IS 'table b'
            postgres: ALTER TABLE "a" ADD CONSTRAINT "fk_a_b" FOREIGN KEY ("b_id") REFERENCES "b" ("id") ON DELETE NO ACTION ON UPDATE NO ACTION
            postgres: CREATE INDEX "ix_a" ON "a" ("id")
            postgres: CREATE INDEX "ix_b" ON "b" ("id")
            mysql: CREATE TABLE `a` ( `id` INT NOT NULL, `b_id` INT, PRIMARY KEY (`id`) ) COMMENT 'table a' ENGINE=InnoDB DEFAULT CHARSET=utf8mb4
            mysql: CREATE TABLE `b` ( `id` INT NOT NULL, `a_id` INT, PRIMARY KEY (`id`), CONSTRAINT `fk_b_a` FOREIGN KEY (`a_id`) REFERENCES `a` (`id`) ON DELETE NO ACTION ON UPDATE NO ACTION ) COMMENT 'table b' ENGINE=InnoDB DEFAULT CHARSET=utf8mb4
            mysql: ALTER TABLE `a` ADD CONSTRAINT `fk_a_b` FOREIGN KEY (`b_id`) REFERENCES `b` (`id`) ON DELETE NO ACTION ON UPDATE NO ACTION
            mysql: CREATE INDEX `ix_a` ON `a` (`id`)
            mysql: CREATE INDEX `ix_b` ON `b` (`id`)
            sqlite: CREATE TABLE "a" ( "id" INTEGER NOT NULL, "b_id" INTEGER, PRIMARY KEY ("id"), FOREIGN KEY ("b_id") REFERENCES "b" ("id") ON DELETE NO ACTION ON UPDATE NO ACTION )
            sqlite: CREATE TABLE "b" ( "id" INTEGER NOT NULL, "a_id" INTEGER, PRIMARY KEY ("id"), FOREIGN KEY ("a_id") REFERENCES "a" ("id") ON DELETE NO ACTION ON UPDATE NO ACTION )
            sqlite: CREATE INDEX "ix_a" ON "a" ("id")
            sqlite: CREATE INDEX "ix_b" ON "b" ("id")
        "#]],
    );
    let parts = create_ddl_parts(&schema, Backend::Postgres).unwrap();
    let built: Vec<(&str, &str)> = parts
        .indexes
        .iter()
        .map(|i| (i.table.as_str(), i.index.as_str()))
        .collect();
    assert_eq!(built, [("a", "ix_a"), ("b", "ix_b")]);
    assert!(parts.tables.iter().all(|sql| !sql.contains("INDEX")));
}

#[test]
fn qualified_drops_name_the_schema_except_on_sqlite() {
    let schema = cycle();
    let deferred = |table: &str, _: &ForeignKey| table == "b";
    check(
        |b| qualified_drop_statements(Some("app"), &schema, b, &["a", "b"], deferred),
        expect![[r#"
            postgres: ALTER TABLE "app"."b" DROP CONSTRAINT "fk_b_a"
            postgres: DROP TABLE "app"."a"
            postgres: DROP TABLE "app"."b"
            mysql: ALTER TABLE `app`.`b` DROP FOREIGN KEY `fk_b_a`
            mysql: DROP TABLE `app`.`a`
            mysql: DROP TABLE `app`.`b`
            sqlite: DROP TABLE "a"
            sqlite: DROP TABLE "b"
        "#]],
    );
    assert_eq!(
        qualified_drop_statements(None, &schema, Backend::Postgres, &["a", "b"], deferred),
        drop_statements(&schema, Backend::Postgres, &["a", "b"], deferred)
    );
}

#[test]
fn as_stored_follows_the_rendering() {
    let mut t = table(
        "t",
        vec![
            Column {
                comment: Some("key".into()),
                ..column("id", "bigserial")
            },
            column("u", "uuid"),
            column("tags", "text[][]"),
            column("at", "timestamptz"),
            column("n", "varchar"),
            column("d", "decimal"),
            column("j", "jsonb"),
        ],
        &["id"],
    );
    t.comment = Some("table".into());
    t.foreign_keys.push(ForeignKey {
        deferrable: Deferrable::InitiallyDeferred,
        ..fk("my_fk", &["id"], "other", &["id"])
    });
    t.indexes.push(Index {
        method: Some("GIN".into()),
        ..index("ix_j", vec![col("j")])
    });
    t.indexes.push(Index {
        method: Some("btree".into()),
        predicate: Some("n <> ''".into()),
        ..index("ix_n", vec![col("n")])
    });
    t.indexes.push(index(
        "ix_expr",
        vec![IndexPart::Expression("lower(n)".into())],
    ));
    t.indexes.push(Index {
        unique: true,
        ..index("ix_at", vec![col("at")])
    });
    let schema = Schema::from_tables([t]);
    let summary = |backend: Backend| {
        let stored = as_stored(&schema, backend);
        let t = stored.table("t").expect("table kept");
        let columns: Vec<String> = t
            .columns
            .iter()
            .map(|c| {
                let null = if c.nullable { "" } else { " not null" };
                let comment = c.comment.as_deref().map(|c| format!(" -- {c}"));
                format!("{} {}{null}{}", c.name, c.ty, comment.unwrap_or_default())
            })
            .collect();
        let fks: Vec<String> = t
            .foreign_keys
            .iter()
            .map(|f| format!("{} {:?}", f.name, f.deferrable))
            .collect();
        let indexes: Vec<String> = t
            .indexes
            .iter()
            .map(|i| format!("{} {:?} {:?}", i.name, i.method, i.predicate))
            .collect();
        let uniques: Vec<String> = t
            .uniques
            .iter()
            .map(|u| format!("unique {:?} ({})", u.name, u.columns.join(", ")))
            .collect();
        Ok::<_, RenderError>([
            columns.join(", "),
            format!("comment {:?}", t.comment),
            fks.join(", "),
            indexes.join(", "),
            format!("uniques [{}]", uniques.join(", ")),
        ])
    };
    check(
        summary,
        expect![[r#"
            postgres: id bigserial not null -- key, u uuid, tags text[], at timestamptz, n varchar, d decimal, j jsonb
            postgres: comment Some("table")
            postgres: my_fk InitiallyDeferred
            postgres: ix_j Some("gin") None, ix_n None Some("n <> ''"), ix_expr None None, ix_at None None
            postgres: uniques []
            mysql: id bigserial not null -- key, u char(36), tags json, at timestamp, n text, d decimal(65,30), j json
            mysql: comment Some("table")
            mysql: my_fk No
            mysql: ix_n None None
            mysql: uniques [unique Some("ix_at") (at)]
            sqlite: id serial not null, u text, tags text, at timestamptz, n varchar, d decimal, j text
            sqlite: comment None
            sqlite: fk_t_id No
            sqlite: ix_j None None, ix_n None Some("n <> ''"), ix_at None None
            sqlite: uniques []
        "#]],
    );
}

#[test]
fn whole_schema_ddl_follows_the_fk_graph() {
    let mut a = table(
        "a",
        vec![not_null("id", "integer"), column("b_id", "integer")],
        &["id"],
    );
    a.foreign_keys.push(fk("fk_a_b", &["b_id"], "b", &["id"]));
    let mut b = table(
        "b",
        vec![not_null("id", "integer"), column("a_id", "integer")],
        &["id"],
    );
    b.foreign_keys.push(fk("fk_b_a", &["a_id"], "a", &["id"]));
    let mut c = table(
        "c",
        vec![not_null("id", "integer"), column("a_id", "integer")],
        &["id"],
    );
    c.foreign_keys.push(fk("fk_c_a", &["a_id"], "a", &["id"]));
    let schema = Schema::from_tables([c, b, a]);
    let create = create_ddl(&schema, Backend::Postgres).unwrap();
    let heads: Vec<String> = create
        .iter()
        .map(|s| s.chars().take(40).collect())
        .collect();
    expect![[r#"
        [
            "CREATE TABLE \"a\" ( \"id\" INTEGER NOT NULL",
            "CREATE TABLE \"b\" ( \"id\" INTEGER NOT NULL",
            "CREATE TABLE \"c\" ( \"id\" INTEGER NOT NULL",
            "ALTER TABLE \"a\" ADD CONSTRAINT \"fk_a_b\" ",
        ]
    "#]]
    .assert_debug_eq(&heads);
    let drop = drop_ddl(&schema, Backend::Postgres).unwrap();
    expect![[r#"
        [
            "ALTER TABLE \"a\" DROP CONSTRAINT \"fk_a_b\"",
            "DROP TABLE \"c\"",
            "DROP TABLE \"b\"",
            "DROP TABLE \"a\"",
        ]
    "#]]
    .assert_debug_eq(&drop);
}

#[test]
fn add_and_drop_uniques_and_checks() {
    let t = table(
        "t",
        vec![
            column("a", "integer"),
            column("b", "varchar(10)"),
            column("j", "json"),
        ],
        &[],
    );
    let named = Unique {
        name: Some("uq_t_ab".into()),
        columns: vec!["a".into(), "b".into()],
    };
    let unnamed = Unique {
        name: None,
        columns: vec!["a".into()],
    };
    check(
        |b| add_unique(&t, &named, b).map(|s| [s]),
        expect![[r#"
            postgres: ALTER TABLE "t" ADD CONSTRAINT "uq_t_ab" UNIQUE ("a", "b")
            mysql: ALTER TABLE `t` ADD CONSTRAINT `uq_t_ab` UNIQUE (`a`, `b`)
            sqlite! sqlite cannot add unique constraint `uq_t_ab` on table `t` in place; it needs a table rebuild (create a new table, copy the rows, drop the old one), which tt does not generate
        "#]],
    );
    check(
        |b| add_unique(&t, &unnamed, b).map(|s| [s]),
        expect![[r#"
            postgres: ALTER TABLE "t" ADD UNIQUE ("a")
            mysql: ALTER TABLE `t` ADD UNIQUE (`a`)
            sqlite! sqlite cannot add the unique constraint on (a) on table `t` in place; it needs a table rebuild (create a new table, copy the rows, drop the old one), which tt does not generate
        "#]],
    );
    let on_json = Unique {
        name: None,
        columns: vec!["j".into()],
    };
    check(
        |b| add_unique(&t, &on_json, b).map(|s| [s]),
        expect![[r#"
            postgres: ALTER TABLE "t" ADD UNIQUE ("j")
            mysql! mysql cannot use column `t.j` (json is stored as JSON) in the unique constraint on (j); give the column a bounded type such as varchar(255)
            sqlite! sqlite cannot add the unique constraint on (j) on table `t` in place; it needs a table rebuild (create a new table, copy the rows, drop the old one), which tt does not generate
        "#]],
    );
    check(
        |b| drop_unique(&t, &named, b).map(|s| [s]),
        expect![[r#"
            postgres: ALTER TABLE "t" DROP CONSTRAINT "uq_t_ab"
            mysql: ALTER TABLE `t` DROP INDEX `uq_t_ab`
            sqlite! sqlite cannot drop unique constraint `uq_t_ab` on table `t` in place; it needs a table rebuild (create a new table, copy the rows, drop the old one), which tt does not generate
        "#]],
    );
    check(
        |b| drop_unique(&t, &unnamed, b).map(|s| [s]),
        expect![[r#"
            postgres! postgres does not support dropping the unnamed unique constraint on (a) (table `t`): a constraint is dropped by name; look the name up in the catalog
            mysql! mysql does not support dropping the unnamed unique constraint on (a) (table `t`): a constraint is dropped by name; look the name up in the catalog
            sqlite! sqlite cannot drop the unique constraint on (a) on table `t` in place; it needs a table rebuild (create a new table, copy the rows, drop the old one), which tt does not generate
        "#]],
    );
    let named_check = Check {
        name: Some("ck_a".into()),
        expression: "a > 0".into(),
    };
    let unnamed_check = Check {
        name: None,
        expression: "a < 10".into(),
    };
    check(
        |b| add_check(&t, &named_check, b).map(|s| [s]),
        expect![[r#"
            postgres: ALTER TABLE "t" ADD CONSTRAINT "ck_a" CHECK (a > 0)
            mysql: ALTER TABLE `t` ADD CONSTRAINT `ck_a` CHECK (a > 0)
            sqlite! sqlite cannot add check `ck_a` on table `t` in place; it needs a table rebuild (create a new table, copy the rows, drop the old one), which tt does not generate
        "#]],
    );
    check(
        |b| add_check(&t, &unnamed_check, b).map(|s| [s]),
        expect![[r#"
            postgres: ALTER TABLE "t" ADD CHECK (a < 10)
            mysql: ALTER TABLE `t` ADD CHECK (a < 10)
            sqlite! sqlite cannot add the check (a < 10) on table `t` in place; it needs a table rebuild (create a new table, copy the rows, drop the old one), which tt does not generate
        "#]],
    );
    check(
        |b| drop_check(&t, &named_check, b).map(|s| [s]),
        expect![[r#"
            postgres: ALTER TABLE "t" DROP CONSTRAINT "ck_a"
            mysql: ALTER TABLE `t` DROP CONSTRAINT `ck_a`
            sqlite! sqlite cannot drop check `ck_a` on table `t` in place; it needs a table rebuild (create a new table, copy the rows, drop the old one), which tt does not generate
        "#]],
    );
    check(
        |b| drop_check(&t, &unnamed_check, b).map(|s| [s]),
        expect![[r#"
            postgres! postgres does not support dropping the unnamed check `a < 10` (table `t`): a constraint is dropped by name; look the name up in the catalog
            mysql! mysql does not support dropping the unnamed check `a < 10` (table `t`): a constraint is dropped by name; look the name up in the catalog
            sqlite! sqlite cannot drop the check (a < 10) on table `t` in place; it needs a table rebuild (create a new table, copy the rows, drop the old one), which tt does not generate
        "#]],
    );
}
