//! The rich schema's DDL executed on real SQLite, PostgreSQL and MariaDB/MySQL databases.

use std::collections::BTreeSet;

use sqlx::{AssertSqlSafe, Connection, Executor};
use tt_schema::{Backend, Schema, create_ddl, create_index, drop_ddl};
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
