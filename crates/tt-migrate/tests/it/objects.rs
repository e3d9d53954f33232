//! Objects the migrations create besides tables (views, materialized views, sequences,
//! routines, types, domains, triggers, schemas) are managed: reset drops them in dependency
//! order and builds them again; objects created outside the migrations still block.

use tt_migrate::DropRefusal;
use tt_migrate::{
    Database, DependentKind, Error, Event, Migration, Migrator, ResetOptions, Tracking, plan_drop,
};
use tt_schema::Backend;
use tt_testdb::TestDb;

use crate::support::{connect, execute, migrations};

fn no_events(_: Event<'_>) {}

/// Every kind of object each backend has, created by the migrations, several depending on
/// each other and on the tables.
fn every_kind(backend: Backend) -> Vec<Migration> {
    match backend {
        Backend::Postgres => migrations(&[
            (
                "001_types.sql",
                "CREATE SCHEMA audit;\n\
                 CREATE TABLE audit.log (id SERIAL PRIMARY KEY, note TEXT NOT NULL);\n\
                 CREATE TYPE mood AS ENUM ('calm', 'busy');\n\
                 CREATE DOMAIN price AS NUMERIC(10, 2) CHECK (VALUE >= 0);\n\
                 CREATE SEQUENCE ticket_seq START 100;\n\
                 CREATE FUNCTION mood_rank(m mood) RETURNS INT LANGUAGE sql IMMUTABLE \
                   AS $$ SELECT CASE m WHEN 'calm' THEN 1 ELSE 2 END $$;\n",
            ),
            (
                "002_items.sql",
                "CREATE TABLE items (id INT PRIMARY KEY, name TEXT NOT NULL, \
                   mood mood NOT NULL DEFAULT 'calm', cost price, \
                   ticket BIGINT NOT NULL DEFAULT nextval('ticket_seq'), \
                   CHECK (mood_rank(mood) > 0));\n\
                 CREATE FUNCTION log_item() RETURNS trigger LANGUAGE plpgsql AS $$\n\
                 BEGIN INSERT INTO audit.log (note) VALUES (NEW.name); RETURN NEW; END\n$$;\n\
                 CREATE TRIGGER items_log AFTER INSERT ON items \
                   FOR EACH ROW EXECUTE FUNCTION log_item();\n\
                 INSERT INTO items (id, name, mood) VALUES (1, 'sword', 'busy');\n\
                 CREATE FUNCTION label(i items) RETURNS TEXT LANGUAGE sql \
                   AS $$ SELECT i.name || ' (' || i.mood || ')' $$;\n\
                 CREATE VIEW busy_items AS SELECT id, name FROM items WHERE mood = 'busy';\n\
                 CREATE MATERIALIZED VIEW busy_count AS SELECT count(*) AS n FROM busy_items;\n",
            ),
        ]),
        Backend::Mysql => migrations(&[(
            "001_items.sql",
            "CREATE SEQUENCE ticket_seq START WITH 100;\n\
                 CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(64) NOT NULL, \
                   ticket BIGINT NOT NULL DEFAULT 0);\n\
                 CREATE FUNCTION shout(s VARCHAR(64)) RETURNS VARCHAR(64) DETERMINISTIC \
                   RETURN UPPER(s);\n\
                 CREATE PROCEDURE add_item(i INT, n VARCHAR(64)) \
                   INSERT INTO items (id, name) VALUES (i, n);\n\
                 CREATE TRIGGER items_shout BEFORE INSERT ON items \
                   FOR EACH ROW SET NEW.name = shout(NEW.name);\n\
                 CREATE VIEW loud_items AS SELECT id, shout(name) AS name FROM items;\n\
                 CREATE VIEW first_items AS SELECT id FROM loud_items WHERE id < 10;\n\
                 CALL add_item(1, 'sword');\n",
        )]),
        Backend::Sqlite => migrations(&[(
            "001_items.sql",
            "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL);\n\
                 CREATE TABLE log (note TEXT);\n\
                 CREATE TRIGGER items_log AFTER INSERT ON items BEGIN \
                   INSERT INTO log (note) VALUES (NEW.name); END;\n\
                 CREATE VIEW named_items AS SELECT id, name FROM items;\n\
                 CREATE VIEW first_items AS SELECT id FROM named_items WHERE id < 10;\n\
                 INSERT INTO items (id, name) VALUES (1, 'sword');\n",
        )]),
    }
}

/// What the plan drops besides tables, as `kind name`.
fn object_names(plan: &tt_migrate::DropPlan) -> Vec<String> {
    plan.objects
        .iter()
        .map(|o| format!("{} {}", o.kind, o.name))
        .collect()
}

async fn count(db: &mut Database, sql: &str) -> i64 {
    let rows = db.fetch_text(sql).await.unwrap();
    rows[0][0].as_deref().unwrap().trim().parse().unwrap()
}

#[tokio::test]
async fn reset_drops_and_rebuilds_every_kind_of_object_the_migrations_create() {
    for test_db in TestDb::create_all().await {
        let backend = test_db.backend();
        let set = every_kind(backend);
        let mut db = connect(&test_db).await;
        let migrator = Migrator::new(&set);
        migrator.run(&mut db, &mut no_events).await.unwrap();
        let plan = plan_drop(&mut db, &set, &Tracking::default())
            .await
            .unwrap();
        assert!(
            plan.dependents.is_empty(),
            "{backend}: {:?}",
            plan.dependents
        );
        let expected: &[&str] = match backend {
            // Dependents first: what needs the tables before them, what they need after.
            Backend::Postgres => &[
                "materialized view busy_count",
                "view busy_items",
                "function label",
                "function log_item",
                "sequence ticket_seq",
                "table audit.log",
                "function mood_rank",
                "domain price",
                "enum type mood",
                "schema audit",
            ],
            Backend::Mysql => &[
                "view first_items",
                "view loud_items",
                "function shout",
                "procedure add_item",
                "sequence ticket_seq",
            ],
            Backend::Sqlite => &["view first_items", "view named_items"],
        };
        let found = object_names(&plan);
        let mut sorted = found.clone();
        sorted.sort();
        let mut sorted_expected: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
        sorted_expected.sort();
        assert_eq!(sorted, sorted_expected, "{backend}: {found:?}");
        // Each before what it needs.
        let at = |name: &str| found.iter().position(|f| f == name).unwrap();
        let needs: &[(&str, &str)] = match backend {
            Backend::Postgres => &[
                ("materialized view busy_count", "view busy_items"),
                ("view busy_items", "domain price"),
                ("function label", "enum type mood"),
                ("function mood_rank", "enum type mood"),
                ("table audit.log", "schema audit"),
                ("function log_item", "schema audit"),
            ],
            // Views first, the rest after the tables.
            Backend::Mysql => &[("view first_items", "function shout")],
            Backend::Sqlite => &[],
        };
        for (first, then) in needs {
            assert!(at(first) < at(then), "{backend}: {found:?}");
        }

        for round in 0..2 {
            let report = migrator
                .reset(&mut db, ResetOptions::default(), &mut no_events)
                .await
                .unwrap_or_else(|e| panic!("{backend} round {round}: {e}"));
            assert_eq!(report.applied.len(), set.len(), "{backend}");
            assert!(report.missing_tables.is_empty(), "{backend}");
            assert_eq!(
                report.dropped.objects.len(),
                expected.len(),
                "{backend}: {:?}",
                report.dropped.objects
            );
        }
        // Rebuilt, with the data the migrations insert, through the objects they built.
        let check = match backend {
            Backend::Postgres => {
                "SELECT CAST((SELECT n FROM busy_count) + (SELECT count(*) FROM audit.log) \
                 + length(label(items)) AS TEXT) FROM items"
            }
            Backend::Mysql => "SELECT CAST(COUNT(*) AS CHAR) FROM first_items",
            Backend::Sqlite => "SELECT CAST(COUNT(*) AS TEXT) FROM first_items",
        };
        let expected_count = match backend {
            // 1 busy item + 1 log row + "sword (busy)".
            Backend::Postgres => 14,
            _ => 1,
        };
        assert_eq!(count(&mut db, check).await, expected_count, "{backend}");
    }
}

#[tokio::test]
async fn an_object_the_migrations_did_not_create_still_blocks_once_with_its_kind() {
    for test_db in TestDb::create_all().await {
        let backend = test_db.backend();
        let set = every_kind(backend);
        let mut db = connect(&test_db).await;
        let migrator = Migrator::new(&set);
        migrator.run(&mut db, &mut no_events).await.unwrap();
        let (theirs, expected): (&[&str], &[&str]) = match backend {
            Backend::Postgres => (
                &[
                    // Reads a managed table and a managed view: one object.
                    "CREATE MATERIALIZED VIEW theirs AS SELECT i.id FROM items i \
                     JOIN busy_items b USING (id)",
                    "CREATE FUNCTION their_rank(m mood) RETURNS INT LANGUAGE sql \
                     AS $$ SELECT 1 $$",
                ],
                &["function their_rank", "materialized view theirs"],
            ),
            Backend::Mysql => (
                &["CREATE VIEW theirs AS SELECT l.id FROM items i JOIN loud_items l USING (id)"],
                &["view theirs"],
            ),
            Backend::Sqlite => (
                &["CREATE VIEW theirs AS SELECT n.id FROM items i JOIN named_items n USING (id)"],
                &["view theirs"],
            ),
        };
        execute(&mut db, theirs).await;
        let error = migrator
            .reset(&mut db, ResetOptions::default(), &mut no_events)
            .await
            .unwrap_err();
        let Error::Refused(DropRefusal::Dependents { dependents }) = &error.error else {
            panic!("{backend}: {}", error.error);
        };
        // Which managed object it was reached from may vary; the object is listed once.
        let mut named: Vec<String> = dependents
            .iter()
            .map(|d| d.to_string().split(" (on ").next().unwrap().to_string())
            .collect();
        named.sort();
        assert_eq!(named, expected, "{backend}");
        if backend == Backend::Postgres {
            assert!(
                dependents
                    .iter()
                    .any(|d| d.kind == DependentKind::MaterializedView)
            );
            assert!(dependents.iter().any(|d| d.kind == DependentKind::Function));
        }
        let message = error.error.to_string();
        assert!(
            message.contains(&format!("{} object(s)", expected.len())),
            "{backend}: {message}"
        );
        // Nothing was dropped: the managed objects are all still there.
        let still = match backend {
            Backend::Postgres => "SELECT CAST(count(*) AS TEXT) FROM busy_count",
            Backend::Mysql => "SELECT CAST(COUNT(*) AS CHAR) FROM first_items",
            Backend::Sqlite => "SELECT CAST(COUNT(*) AS TEXT) FROM first_items",
        };
        assert_eq!(count(&mut db, still).await, 1, "{backend}");
    }
}
