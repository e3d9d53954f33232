//! Rendered DDL executed on real SQLite, PostgreSQL and MariaDB/MySQL databases: the rich
//! schema, and the statements that change one object of a table.

use std::collections::BTreeSet;

use sqlx::{AssertSqlSafe, Connection, Executor};
use tt_schema::{
    Backend, Check, Column, ColumnType, DefaultValue, Deferrable, FkAction, ForeignKey, Index,
    IndexPart, RenderError, Schema, Unique, add_check, add_column, add_foreign_key, add_unique,
    alter_column_default, alter_column_nullability, alter_column_type, create_ddl, create_index,
    drop_check, drop_column, drop_ddl, drop_foreign_key, drop_index, drop_unique,
    parse_definitions,
};
use tt_testdb::TestDb;

use crate::rich;

/// One connection to a test database of any backend.
enum Conn {
    Postgres(sqlx::PgConnection),
    Mysql(sqlx::MySqlConnection),
    Sqlite(sqlx::SqliteConnection),
}

impl Conn {
    async fn open(db: &TestDb) -> Conn {
        let url = db.url();
        match db.backend() {
            Backend::Postgres => Conn::Postgres(sqlx::PgConnection::connect(url).await.unwrap()),
            Backend::Mysql => Conn::Mysql(sqlx::MySqlConnection::connect(url).await.unwrap()),
            Backend::Sqlite => {
                let options = url
                    .parse::<sqlx::sqlite::SqliteConnectOptions>()
                    .unwrap()
                    .create_if_missing(true)
                    .foreign_keys(true);
                Conn::Sqlite(
                    sqlx::SqliteConnection::connect_with(&options)
                        .await
                        .unwrap(),
                )
            }
        }
    }

    async fn execute(&mut self, sql: &str) {
        let query = sqlx::raw_sql(AssertSqlSafe(sql.to_string()));
        let result = match self {
            Conn::Postgres(conn) => conn.execute(query).await.map(drop),
            Conn::Mysql(conn) => conn.execute(query).await.map(drop),
            Conn::Sqlite(conn) => conn.execute(query).await.map(drop),
        };
        if let Err(error) = result {
            panic!("statement failed: {error}\n{sql}");
        }
    }

    /// The first column of every row of `sql` (one optional text parameter), as text.
    async fn strings(&mut self, sql: &str, param: Option<&str>) -> Vec<String> {
        let sql = AssertSqlSafe(sql.to_string());
        match self {
            Conn::Postgres(conn) => {
                let mut query = sqlx::query_scalar::<_, String>(sql);
                if let Some(param) = param {
                    query = query.bind(param.to_string());
                }
                query.fetch_all(conn).await.unwrap()
            }
            Conn::Mysql(conn) => {
                let mut query = sqlx::query_scalar::<_, String>(sql);
                if let Some(param) = param {
                    query = query.bind(param.to_string());
                }
                query.fetch_all(conn).await.unwrap()
            }
            Conn::Sqlite(conn) => {
                let mut query = sqlx::query_scalar::<_, String>(sql);
                if let Some(param) = param {
                    query = query.bind(param.to_string());
                }
                query.fetch_all(conn).await.unwrap()
            }
        }
    }

    async fn tables(&mut self) -> BTreeSet<String> {
        let sql = match self {
            Conn::Postgres(_) => {
                "SELECT table_name::text FROM information_schema.tables \
                 WHERE table_schema = 'public'"
            }
            Conn::Mysql(_) => {
                "SELECT CAST(table_name AS CHAR) FROM information_schema.tables \
                 WHERE table_schema = DATABASE()"
            }
            Conn::Sqlite(_) => {
                "SELECT name FROM sqlite_master WHERE type = 'table' \
                 AND name NOT LIKE 'sqlite_%'"
            }
        };
        self.strings(sql, None).await.into_iter().collect()
    }

    /// The column names of `table`, in order.
    async fn columns(&mut self, table: &str) -> Vec<String> {
        let sql = match self {
            Conn::Postgres(_) => {
                "SELECT column_name::text FROM information_schema.columns \
                 WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position"
            }
            Conn::Mysql(_) => {
                "SELECT CAST(column_name AS CHAR) FROM information_schema.columns \
                 WHERE table_schema = DATABASE() AND table_name = ? ORDER BY ordinal_position"
            }
            Conn::Sqlite(_) => "SELECT name FROM pragma_table_info(?) ORDER BY cid",
        };
        self.strings(sql, Some(table)).await
    }

    async fn indexes(&mut self) -> BTreeSet<String> {
        let sql = match self {
            Conn::Postgres(_) => {
                "SELECT indexname::text FROM pg_indexes WHERE schemaname = 'public'"
            }
            Conn::Mysql(_) => {
                "SELECT DISTINCT CAST(index_name AS CHAR) FROM information_schema.statistics \
                 WHERE table_schema = DATABASE()"
            }
            Conn::Sqlite(_) => "SELECT name FROM sqlite_master WHERE type = 'index'",
        };
        self.strings(sql, None).await.into_iter().collect()
    }

    /// Names of the foreign keys (SQLite keeps none: `fk#<n>` for each one found).
    async fn foreign_keys(&mut self, schema: &Schema) -> BTreeSet<String> {
        match self {
            Conn::Postgres(_) => {
                let sql = "SELECT conname::text FROM pg_constraint WHERE contype = 'f'";
                self.strings(sql, None).await.into_iter().collect()
            }
            Conn::Mysql(_) => {
                let sql = "SELECT CAST(constraint_name AS CHAR) \
                           FROM information_schema.referential_constraints \
                           WHERE constraint_schema = DATABASE()";
                self.strings(sql, None).await.into_iter().collect()
            }
            Conn::Sqlite(_) => {
                let mut found = BTreeSet::new();
                for table in schema.table_names() {
                    let sql = "SELECT DISTINCT CAST(id AS TEXT) FROM pragma_foreign_key_list(?)";
                    for id in self.strings(sql, Some(table)).await {
                        found.insert(format!("{table}#{id}"));
                    }
                }
                found
            }
        }
    }
}

fn fk_count(schema: &Schema) -> usize {
    schema.tables().map(|t| t.foreign_keys.len()).sum()
}

async fn rich_schema_runs(backend: Backend) {
    let Some(db) = TestDb::create(backend).await else {
        return;
    };
    let mut conn = Conn::open(&db).await;
    let schema = rich::schema();
    for statement in create_ddl(&schema, backend).unwrap() {
        conn.execute(&statement).await;
    }

    let expected: BTreeSet<String> = schema.table_names().map(str::to_string).collect();
    assert_eq!(conn.tables().await, expected, "tables on {backend}");

    // Every index the renderer built exists under its exact name; those it left out do not.
    let indexes = conn.indexes().await;
    for table in schema.tables() {
        for index in &table.indexes {
            let built = create_index(table, index, backend).unwrap().is_some();
            assert_eq!(
                indexes.contains(&index.name),
                built,
                "index {} on {backend}",
                index.name
            );
        }
    }

    let fks = conn.foreign_keys(&schema).await;
    assert_eq!(
        fks.len(),
        fk_count(&schema),
        "foreign keys on {backend}: {fks:?}"
    );
    if backend != Backend::Sqlite {
        let names: BTreeSet<String> = schema
            .tables()
            .flat_map(|t| t.foreign_keys.iter().map(|fk| fk.name.clone()))
            .collect();
        assert_eq!(fks, names, "foreign key names on {backend}");
    }

    // Defaults work: serial, boolean, timestamp, expression and an escaped string.
    let items = backend.quote_ident("items");
    conn.execute(&format!("INSERT INTO {items} (name) VALUES ('sword')"))
        .await;
    let label = conn
        .strings(&format!("SELECT label FROM {items} WHERE id = 1"), None)
        .await;
    assert_eq!(label, ["new"], "expression default on {backend}");
    let odd = backend.quote_ident(rich::ODD_TABLE);
    let select = backend.quote_ident("select");
    conn.execute(&format!("INSERT INTO {odd} ({select}) VALUES (7)"))
        .await;
    let motto = conn
        .strings(&format!("SELECT motto FROM {odd} WHERE {select} = 7"), None)
        .await;
    assert_eq!(motto, [rich::MOTTO], "string default on {backend}");

    // Comments survive their escaping where the backend keeps them.
    let comment = match backend {
        Backend::Postgres => {
            Some("SELECT obj_description(c.oid, 'pg_class') FROM pg_class c WHERE c.relname = $1")
        }
        Backend::Mysql => Some(
            "SELECT CAST(table_comment AS CHAR) FROM information_schema.tables \
             WHERE table_schema = DATABASE() AND table_name = ?",
        ),
        Backend::Sqlite => None,
    };
    if let Some(sql) = comment {
        let found = conn.strings(sql, Some(rich::ODD_TABLE)).await;
        assert_eq!(found, [rich::MOTTO], "table comment on {backend}");
    }

    if backend == Backend::Postgres {
        let sql = "SELECT conname::text FROM pg_constraint WHERE contype = 'f' \
                   AND condeferrable ORDER BY conname";
        let deferrable = conn.strings(sql, None).await;
        assert_eq!(deferrable, ["fk_item_sets_owner", "fk_players_favorite"]);
    }

    for statement in drop_ddl(&schema, backend).unwrap() {
        conn.execute(&statement).await;
    }
    assert_eq!(
        conn.tables().await,
        BTreeSet::new(),
        "tables left on {backend}"
    );
}

#[tokio::test]
async fn rich_schema_runs_on_sqlite() {
    rich_schema_runs(Backend::Sqlite).await;
}

#[tokio::test]
async fn rich_schema_runs_on_postgres() {
    rich_schema_runs(Backend::Postgres).await;
}

#[tokio::test]
async fn rich_schema_runs_on_mysql() {
    rich_schema_runs(Backend::Mysql).await;
}

/// Every statement that changes one object of an existing table (what `tt diff --sql` emits)
/// runs on the backend; SQLite refuses exactly the changes it cannot make in place.
async fn alterations_run(backend: Backend) {
    let Some(db) = TestDb::create(backend).await else {
        return;
    };
    let mut conn = Conn::open(&db).await;
    let schema = parse_definitions(
        "alter.toml",
        r#"
            [tables.parent]
            columns = [{ name = "id", type = "integer", primary_key = true }]
            [tables.child]
            columns = [
              { name = "id", type = "serial", primary_key = true },
              { name = "parent_id", type = "integer" },
              { name = "ql", type = "integer" },
            ]
        "#,
    )
    .unwrap();
    for statement in create_ddl(&schema, backend).unwrap() {
        conn.execute(&statement).await;
    }
    let mut child = schema.table("child").unwrap().clone();
    let level = Column {
        nullable: false,
        default: Some(DefaultValue::Number("0".into())),
        ..Column::new("level", ColumnType::SmallInt)
    };
    let level_added = {
        let mut child = child.clone();
        child.columns.push(level.clone());
        child
    };
    let wider = Column {
        ty: ColumnType::Integer,
        ..level.clone()
    };
    let nullable = Column {
        nullable: true,
        ..wider.clone()
    };
    let defaulted = Column {
        default: Some(DefaultValue::Number("5".into())),
        ..nullable.clone()
    };
    let undefaulted = Column {
        default: None,
        ..nullable.clone()
    };
    // The key column with the flag `Column::new` leaves: it must stay NOT NULL.
    let key = Column::new("id", ColumnType::Serial);
    let unique = Unique {
        name: Some("uq_child_ql".into()),
        columns: vec!["ql".into()],
    };
    let check = Check {
        name: Some("ck_child_ql".into()),
        expression: "ql >= 0".into(),
    };
    let index = Index {
        name: "idx_child_ql".into(),
        parts: vec![IndexPart::Column("ql".into())],
        unique: false,
        method: None,
        predicate: None,
    };
    let fk = ForeignKey {
        name: "fk_child_parent".into(),
        columns: vec!["parent_id".into()],
        ref_table: "parent".into(),
        ref_columns: vec!["id".into()],
        on_delete: FkAction::Cascade,
        on_update: FkAction::NoAction,
        deferrable: Deferrable::No,
    };
    child.uniques.push(unique.clone());
    let one = |statement: String| vec![statement];
    let steps: Vec<(&str, Result<Vec<String>, RenderError>)> = vec![
        ("add column", add_column(&level_added, &level, backend)),
        (
            "widen",
            alter_column_type(&level_added, &wider, backend).map(one),
        ),
        (
            "allow null",
            alter_column_nullability(&level_added, &nullable, backend).map(one),
        ),
        (
            "set default",
            alter_column_default(&level_added, &defaulted, backend).map(one),
        ),
        (
            "drop default",
            alter_column_default(&level_added, &undefaulted, backend).map(one),
        ),
        (
            "key stays not null",
            alter_column_nullability(&level_added, &key, backend).map(one),
        ),
        ("add unique", add_unique(&child, &unique, backend).map(one)),
        (
            "drop unique",
            drop_unique(&child, &unique, backend).map(one),
        ),
        ("add check", add_check(&child, &check, backend).map(one)),
        ("drop check", drop_check(&child, &check, backend).map(one)),
        (
            "create index",
            create_index(&child, &index, backend).map(|s| s.into_iter().collect()),
        ),
        (
            "drop index",
            Ok(drop_index(&child, &index, backend).into_iter().collect()),
        ),
        (
            "add foreign key",
            add_foreign_key(&child, &fk, backend).map(one),
        ),
        (
            "drop foreign key",
            drop_foreign_key(&child, &fk, backend).map(one),
        ),
        (
            "drop column",
            drop_column(&level_added, "level", backend).map(one),
        ),
    ];
    let mut rebuilds = Vec::new();
    for (step, result) in steps {
        match result {
            Ok(statements) => {
                assert!(
                    !statements.is_empty(),
                    "{step} on {backend} renders nothing"
                );
                for statement in statements {
                    conn.execute(&statement).await;
                }
            }
            Err(RenderError::NeedsRebuild { .. }) => rebuilds.push(step),
            Err(error) => panic!("{step} on {backend}: {error}"),
        }
    }
    let expected: &[&str] = match backend {
        Backend::Postgres | Backend::Mysql => &[],
        Backend::Sqlite => &[
            "widen",
            "allow null",
            "set default",
            "drop default",
            "key stays not null",
            "add unique",
            "drop unique",
            "add check",
            "drop check",
            "add foreign key",
            "drop foreign key",
        ],
    };
    assert_eq!(
        rebuilds, expected,
        "changes that need a rebuild on {backend}"
    );
    assert_eq!(
        conn.columns("child").await,
        ["id", "parent_id", "ql"],
        "columns left on {backend}"
    );
}

#[tokio::test]
async fn alterations_run_on_sqlite() {
    alterations_run(Backend::Sqlite).await;
}

#[tokio::test]
async fn alterations_run_on_postgres() {
    alterations_run(Backend::Postgres).await;
}

#[tokio::test]
async fn alterations_run_on_mysql() {
    alterations_run(Backend::Mysql).await;
}
