//! The importer example (`examples/importer.rs`) on every backend: migrate or clear, load,
//! load again, and bad input that leaves the database as it was.

// The example itself, compiled into this test so its functions can be called on each backend
// (cargo gives tests no path to a built example).
#[path = "../../examples/importer.rs"]
#[allow(dead_code)]
mod example;

use tt_migrate::{Database, Value};
use tt_testdb::TestDb;

use crate::support::connect;

use example::{ITEM_STATS_CSV, ITEMS_CSV, ImportError, Options, import, parse_args};

/// Rows in a table.
async fn count(db: &mut Database, table: &str) -> i64 {
    let rows = db
        .fetch(&format!("SELECT COUNT(*) FROM {table}"), &[])
        .await
        .unwrap();
    rows[0][0].as_i64().unwrap()
}

/// The report's lines after the first, which names the database.
fn lines(report: &example::ImportReport) -> Vec<String> {
    report.lines().into_iter().skip(1).collect()
}

#[tokio::test]
async fn import_migrates_loads_and_loads_again_without_duplicates() {
    for test_db in TestDb::create_all().await {
        let backend = test_db.backend();
        let first = import(test_db.url(), false, ITEMS_CSV, ITEM_STATS_CSV)
            .await
            .unwrap_or_else(|e| panic!("{backend}: {e}"));
        assert_eq!(
            lines(&first),
            [
                "applied 000 create_migration_table",
                "applied 001 initial_schema",
                "applied 002 source_system",
                "applied 003 add_item_is_perk",
                "applied 004 perks_table",
                "loaded items: 20 rows (20 new)",
                "loaded stat_values: 39 rows (39 new)",
                "loaded item_stats: 50 rows (50 new)",
            ],
            "{backend}"
        );

        let again = import(test_db.url(), false, ITEMS_CSV, ITEM_STATS_CSV)
            .await
            .unwrap_or_else(|e| panic!("{backend}: {e}"));
        assert_eq!(
            lines(&again),
            [
                "migrations up to date",
                "loaded items: 20 rows (0 new)",
                "loaded stat_values: 39 rows (0 new)",
                "loaded item_stats: 50 rows (0 new)",
            ],
            "{backend}"
        );

        let mut db = connect(&test_db).await;
        assert_eq!(count(&mut db, "items").await, 20, "{backend}");
        assert_eq!(count(&mut db, "stat_values").await, 39, "{backend}");
        assert_eq!(count(&mut db, "item_stats").await, 50, "{backend}");
        // Empty CSV fields are NULL; quoted fields keep their commas and doubled quotes.
        let rows = db
            .fetch(
                "SELECT name, item_class, description, is_nano FROM items WHERE aoid = ?",
                &[247_229.into()],
            )
            .await
            .unwrap();
        assert_eq!(
            rows[0][0],
            Value::Text("Kyr'Ozch Sword".into()),
            "{backend}"
        );
        assert_eq!(rows[0][1], Value::Int(1), "{backend}");
        assert_eq!(
            rows[0][2].as_str(),
            Some("A sword of alien design, \"reverse engineered\" by Omni-Tek."),
            "{backend}"
        );
        assert_eq!(rows[0][3].as_bool(), Some(false), "{backend}");
        let nano = db
            .fetch(
                "SELECT item_class, description, is_nano FROM items WHERE aoid = ?",
                &[28_635.into()],
            )
            .await
            .unwrap();
        assert_eq!(nano[0][0], Value::Null, "{backend}");
        assert_eq!(nano[0][1], Value::Null, "{backend}");
        assert_eq!(nano[0][2].as_bool(), Some(true), "{backend}");
        db.close().await.unwrap();
    }
}

#[tokio::test]
async fn clear_drops_what_was_loaded_and_loads_it_afresh() {
    for test_db in TestDb::create_all().await {
        let backend = test_db.backend();
        import(test_db.url(), false, ITEMS_CSV, ITEM_STATS_CSV)
            .await
            .unwrap_or_else(|e| panic!("{backend}: {e}"));
        let mut db = connect(&test_db).await;
        db.exec(
            "INSERT INTO items (aoid, name) VALUES (?, ?)",
            &[1.into(), "Not in the CSV".into()],
        )
        .await
        .unwrap();

        let cleared = import(test_db.url(), true, ITEMS_CSV, ITEM_STATS_CSV)
            .await
            .unwrap_or_else(|e| panic!("{backend}: {e}"));
        let lines = lines(&cleared);
        // The 25 TinkerTools tables and the tracking table.
        assert_eq!(
            lines[0], "cleared: dropped 26 tables, migrating from scratch",
            "{backend}"
        );
        assert_eq!(cleared.applied.len(), 5, "{backend}");
        assert_eq!(
            lines[lines.len() - 3..],
            [
                "loaded items: 20 rows (20 new)",
                "loaded stat_values: 39 rows (39 new)",
                "loaded item_stats: 50 rows (50 new)",
            ],
            "{backend}"
        );
        assert_eq!(count(&mut db, "items").await, 20, "{backend}");
        db.close().await.unwrap();
    }
}

#[tokio::test]
async fn clear_refuses_a_protected_database() {
    for test_db in TestDb::create_all().await {
        let backend = test_db.backend();
        import(test_db.url(), false, ITEMS_CSV, ITEM_STATS_CSV)
            .await
            .unwrap_or_else(|e| panic!("{backend}: {e}"));
        let mut db = connect(&test_db).await;
        tt_migrate::protect(&mut db, Some("production"))
            .await
            .unwrap();

        let error = import(test_db.url(), true, ITEMS_CSV, ITEM_STATS_CSV)
            .await
            .unwrap_err();
        assert!(
            matches!(&error, ImportError::Reset(reset) if matches!(reset.error, tt_migrate::Error::Refused(tt_migrate::DropRefusal::Protected { .. }))),
            "{backend}: {error}"
        );
        assert_eq!(count(&mut db, "items").await, 20, "{backend}");
        db.close().await.unwrap();
    }
}

#[tokio::test]
async fn a_stat_of_an_unknown_item_rolls_the_whole_load_back() {
    let stats = "item_aoid,stat,value\n246817,54,200\n999,54,200\n";
    for test_db in TestDb::create_all().await {
        let backend = test_db.backend();
        let error = import(test_db.url(), false, ITEMS_CSV, stats)
            .await
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "item_stats.csv line 3: no item with aoid 999 in items.csv or the database",
            "{backend}"
        );
        // The migrations ran; the load, items included, did not.
        let mut db = connect(&test_db).await;
        assert_eq!(count(&mut db, "items").await, 0, "{backend}");
        assert_eq!(count(&mut db, "stat_values").await, 0, "{backend}");
        db.close().await.unwrap();
    }
}

#[tokio::test]
async fn a_malformed_csv_stops_the_import_before_anything_is_cleared() {
    let items =
        "aoid,name,ql,item_class,description,is_nano\n1,Pillow,1,,,false\n2,Blanket,high,,,false\n";
    let test_db = TestDb::create(tt_schema::Backend::Sqlite).await.unwrap();
    import(test_db.url(), false, ITEMS_CSV, ITEM_STATS_CSV)
        .await
        .unwrap();
    let error = import(test_db.url(), true, items, ITEM_STATS_CSV)
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "items.csv line 3: column ql: invalid digit found in string"
    );
    let mut db = connect(&test_db).await;
    assert_eq!(count(&mut db, "items").await, 20);
}

#[test]
fn arguments_are_parsed() {
    let check = |args: &[&str], expected: Result<Option<(bool, Option<&str>)>, &str>| {
        let parsed = parse_args(args.iter().map(|a| a.to_string()));
        let expected = expected
            .map(|o| {
                o.map(|(clear, url)| Options {
                    clear,
                    database_url: url.map(str::to_string),
                    version: None,
                })
            })
            .map_err(str::to_string);
        assert_eq!(parsed, expected, "{args:?}");
    };
    check(&[], Ok(Some((false, None))));
    check(&["--clear"], Ok(Some((true, None))));
    check(
        &["--database-url", "postgres://h/db", "--clear"],
        Ok(Some((true, Some("postgres://h/db")))),
    );
    check(
        &["--database-url=sqlite://x.db"],
        Ok(Some((false, Some("sqlite://x.db")))),
    );
    check(&["--help"], Ok(None));
    check(&["--database-url"], Err("--database-url needs a URL"));
    check(&["--clean"], Err("unexpected argument `--clean`"));
    check(
        &["--version", "v18 1"],
        Err("--version `v18 1`: a slug is letters, digits and `_` (it names a schema)"),
    );
    check(
        &["--version", "v18_1", "--clear"],
        Err("--clear and --version do not go together: a version loads into its own schema"),
    );
    let parsed = parse_args(["--version".to_string(), "v18_1".to_string()]);
    assert_eq!(
        parsed.ok().flatten().and_then(|o| o.version).as_deref(),
        Some("v18_1")
    );
}

/// `--version SLUG` creates the schema (MySQL: database), migrates it and loads into it;
/// loading again changes nothing, and the URL's own schema stays empty.
#[tokio::test]
async fn a_version_loads_into_its_own_schema() {
    for backend in [tt_schema::Backend::Postgres, tt_schema::Backend::Mysql] {
        let Some(test_db) = TestDb::create(backend).await else {
            continue;
        };
        let slug = format!("{}_v18", test_db.name());
        let first = example::import_version(test_db.url(), &slug, ITEMS_CSV, ITEM_STATS_CSV)
            .await
            .expect("imports into a new schema");
        assert!(
            !first.applied.is_empty(),
            "{backend}: migrated the new schema"
        );
        let again = example::import_version(test_db.url(), &slug, ITEMS_CSV, ITEM_STATS_CSV)
            .await
            .expect("imports again");
        assert!(again.applied.is_empty(), "{backend}: nothing left to apply");
        assert!(
            again
                .lines()
                .contains(&"loaded items: 20 rows (0 new)".to_string()),
            "{backend}: {:?}",
            again.lines()
        );
        let mut db = connect(&test_db).await;
        let text = db.text_type();
        let count = |schema: &str| {
            format!(
                "SELECT CAST(COUNT(*) AS {text}) FROM information_schema.tables \
                 WHERE table_name = 'items' AND table_schema = {schema}"
            )
        };
        let in_slug = count(&format!("'{slug}'"));
        assert_eq!(db.fetch_text(&in_slug).await.unwrap(), [[Some("1".into())]]);
        // The URL's own schema: PostgreSQL's current one, MySQL's database.
        let own_schema = match backend {
            tt_schema::Backend::Mysql => "DATABASE()",
            _ => "current_schema()",
        };
        assert_eq!(
            db.fetch_text(&count(own_schema)).await.unwrap(),
            [[Some("0".into())]]
        );
        db.close().await.unwrap();
        if backend == tt_schema::Backend::Mysql {
            db = tt_migrate::Database::connect(test_db.admin_url(), Default::default())
                .await
                .unwrap();
            db.exec(&format!("DROP DATABASE {slug}"), &[])
                .await
                .unwrap();
            db.close().await.unwrap();
        }
    }
}
