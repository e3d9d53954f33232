//! The migration sets the scenarios apply. The serial set: five files whose effects can each
//! be seen in the catalog, one slow enough to be interrupted, and a `-- tt:no-transaction`
//! CREATE INDEX CONCURRENTLY on PostgreSQL. The index is not on a foreign key's column: MySQL
//! would refuse to drop an index a foreign key needs, and the down files must work. The
//! parallel set (`--jobs`): a base table, eight slow files independent of each other, and
//! files that wait for some of them.

use std::path::Path;

use anyhow::{Context, Result};

/// A migration of a set and the object whose presence shows that it ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Step {
    pub(crate) version: String,
    /// The table or index the migration creates (and its down file drops).
    pub(crate) object: String,
}

/// A migration set: its steps in version order and its files.
pub(crate) struct Fixture {
    pub(crate) steps: Vec<Step>,
    files: Vec<(String, String)>,
}

impl Fixture {
    /// The serial set every command's scenarios apply.
    pub(crate) fn serial() -> Self {
        let steps = [
            ("001", "accounts"),
            ("002", "orders"),
            ("003", "audit"),
            ("004", "orders_total_idx"),
            ("005", "invoices"),
        ];
        Self {
            steps: steps.iter().map(|(v, o)| step(v, o)).collect(),
            files: FILES
                .iter()
                .map(|(name, text)| (name.to_string(), text.to_string()))
                .collect(),
        }
    }

    /// The serial set for targets in a schema behind a transaction pooler, where tt refuses a
    /// `-- tt:no-transaction` file (docs/locking.md, "Connection poolers"): PostgreSQL's 004
    /// is a plain CREATE INDEX.
    pub(crate) fn serial_in_pooled_schemas() -> Self {
        let mut fixture = Self::serial();
        for (name, text) in &mut fixture.files {
            if name == "004_orders_index.postgres.sql" {
                *text = "CREATE INDEX orders_total_idx ON orders (total);\n".to_string();
            }
        }
        fixture
    }

    /// The parallel set of the `--jobs` scenarios (PostgreSQL and MySQL): `001` makes `base`;
    /// `002`…`009` each sleep a little, then make a table referencing `base` (independent of
    /// each other); `010` indexes the table of `002`, `011` references those of `003` and
    /// `004`. A kill during a sleep leaves nothing of its migration.
    pub(crate) fn parallel() -> Self {
        let mut steps = vec![step("001", "base")];
        let mut files = vec![(
            "001_base.sql".to_string(),
            "CREATE TABLE base (id INTEGER PRIMARY KEY);\nINSERT INTO base (id) VALUES (1);\n"
                .to_string(),
        )];
        for n in 1..=8 {
            let version = format!("{:03}", n + 1);
            let table = format!("p{n}");
            let seconds = 0.1 + 0.1 * f64::from(n % 3);
            let create = format!(
                "CREATE TABLE {table} (id INTEGER PRIMARY KEY, \
                 base_id INTEGER NOT NULL REFERENCES base (id));\n\
                 INSERT INTO {table} (id, base_id) VALUES (1, 1);\n"
            );
            for (backend, sleep) in [("postgres", "pg_sleep"), ("mysql", "SLEEP")] {
                files.push((
                    format!("{version}_{table}.{backend}.sql"),
                    format!("SELECT {sleep}({seconds:.1});\n{create}"),
                ));
            }
            steps.push(step(&version, &table));
        }
        files.push((
            "010_p1_index.sql".to_string(),
            "CREATE INDEX p1_base_idx ON p1 (base_id, id);\n".to_string(),
        ));
        steps.push(step("010", "p1_base_idx"));
        files.push((
            "011_summary.sql".to_string(),
            "CREATE TABLE summary (id INTEGER PRIMARY KEY, \
             p2_id INTEGER REFERENCES p2 (id), p3_id INTEGER REFERENCES p3 (id));\n"
                .to_string(),
        ));
        steps.push(step("011", "summary"));
        Self { steps, files }
    }

    /// Writes the set into `dir`.
    pub(crate) fn write(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        for (name, text) in &self.files {
            let path = dir.join(name);
            std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
        }
        Ok(())
    }
}

fn step(version: &str, object: &str) -> Step {
    Step {
        version: version.to_string(),
        object: object.to_string(),
    }
}

/// File name and content of every file of the serial set.
const FILES: &[(&str, &str)] = &[
    (
        "001_accounts.sql",
        "CREATE TABLE accounts (id INTEGER PRIMARY KEY, name VARCHAR(40) NOT NULL);\n\
         INSERT INTO accounts (id, name) VALUES (1, 'Leet'), (2, 'Omni-Tek'), (3, 'Clan');\n",
    ),
    ("001_accounts.down.sql", "DROP TABLE accounts;\n"),
    (
        "002_orders.sql",
        "CREATE TABLE orders (\n  id INTEGER PRIMARY KEY,\n  \
         account_id INTEGER NOT NULL REFERENCES accounts (id),\n  total INTEGER NOT NULL\n);\n\
         INSERT INTO orders (id, account_id, total) VALUES (1, 1, 10), (2, 2, 20);\n",
    ),
    ("002_orders.down.sql", "DROP TABLE orders;\n"),
    // The slow one: the window where most kills land. The table comes after the wait, so a
    // kill during it leaves nothing of the migration behind.
    (
        "003_audit.postgres.sql",
        "SELECT pg_sleep(0.4);\nCREATE TABLE audit (id INTEGER PRIMARY KEY, note TEXT);\n",
    ),
    ("003_audit.postgres.down.sql", "DROP TABLE audit;\n"),
    (
        "003_audit.mysql.sql",
        // Not SLEEP or DO: KILL QUERY ends those early without an error.
        "CREATE TABLE audit AS SELECT COUNT(*) AS id FROM information_schema.COLLATIONS a, \
         information_schema.COLLATIONS b, (SELECT 1 FROM information_schema.COLLATIONS LIMIT 25) c;\n",
    ),
    ("003_audit.mysql.down.sql", "DROP TABLE audit;\n"),
    (
        "003_audit.sqlite.sql",
        "CREATE TABLE audit_scratch (n INTEGER);\n\
         INSERT INTO audit_scratch WITH RECURSIVE r(n) AS \
         (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 400000) SELECT n FROM r;\n\
         DROP TABLE audit_scratch;\n\
         CREATE TABLE audit (id INTEGER PRIMARY KEY, note TEXT);\n",
    ),
    ("003_audit.sqlite.down.sql", "DROP TABLE audit;\n"),
    (
        "004_orders_index.postgres.sql",
        "-- tt:no-transaction\nCREATE INDEX CONCURRENTLY orders_total_idx ON orders (total);\n",
    ),
    (
        "004_orders_index.postgres.down.sql",
        "DROP INDEX orders_total_idx;\n",
    ),
    (
        "004_orders_index.mysql.sql",
        "CREATE INDEX orders_total_idx ON orders (total);\n",
    ),
    (
        "004_orders_index.mysql.down.sql",
        "DROP INDEX orders_total_idx ON orders;\n",
    ),
    (
        "004_orders_index.sqlite.sql",
        "CREATE INDEX orders_total_idx ON orders (total);\n",
    ),
    (
        "004_orders_index.sqlite.down.sql",
        "DROP INDEX orders_total_idx;\n",
    ),
    (
        "005_invoices.sql",
        "CREATE TABLE invoices (\n  id INTEGER PRIMARY KEY,\n  \
         order_id INTEGER NOT NULL REFERENCES orders (id)\n);\n",
    ),
    ("005_invoices.down.sql", "DROP TABLE invoices;\n"),
];
