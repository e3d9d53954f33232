//! The migration set every scenario applies: five files whose effects can each be seen in the
//! catalog, one slow enough to be interrupted, and a `-- tt:no-transaction` CREATE INDEX
//! CONCURRENTLY on PostgreSQL. The index is not on a foreign key's column: MySQL would refuse
//! to drop an index a foreign key needs, and the down files must work.

use std::path::Path;

use anyhow::{Context, Result};

/// A migration of the set and the object whose presence shows that it ran.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Step {
    pub(crate) version: &'static str,
    /// The table or index the migration creates (and its down file drops).
    pub(crate) object: &'static str,
}

/// The set in version order.
pub(crate) const STEPS: [Step; 5] = [
    Step {
        version: "001",
        object: "accounts",
    },
    Step {
        version: "002",
        object: "orders",
    },
    Step {
        version: "003",
        object: "audit",
    },
    Step {
        version: "004",
        object: "orders_total_idx",
    },
    Step {
        version: "005",
        object: "invoices",
    },
];

/// File name and content of every file of the set.
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

/// 004 for targets in a schema behind a transaction pooler, where tt refuses a
/// `-- tt:no-transaction` file (docs/locking.md, "Connection poolers"): a plain CREATE INDEX.
const POOLED_SCHEMA_004: &str = "CREATE INDEX orders_total_idx ON orders (total);\n";

/// Writes the set into `dir`; `pooled_schemas` replaces PostgreSQL's no-transaction 004.
pub(crate) fn write(dir: &Path, pooled_schemas: bool) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    for (name, text) in FILES {
        let path = dir.join(name);
        let text = match *name {
            "004_orders_index.postgres.sql" if pooled_schemas => POOLED_SCHEMA_004,
            _ => text,
        };
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}
