//! Snapshots: dump → parse → render → apply → dump is the same file on every backend, and a
//! snapshot written on one backend compares clean with the same schema on another.

use tt_migrate::Tracking;
use tt_schema::{create_ddl, parse_definitions};
use tt_testdb::TestDb;
use tt_verify::{CheckId, ExpectedSource, live_schema, snapshot_text};

use crate::support::{Drift, connect, failures, fixture, migrate, run, shop, verify_with};

#[tokio::test]
async fn dump_parse_render_apply_dump_gives_the_same_file() {
    for test_db in TestDb::create_all().await {
        let backend = test_db.backend();
        let mut db = connect(&test_db).await;
        migrate(&mut db, &shop()).await;
        let first = snapshot_text(&live_schema(&mut db, &Tracking::default()).await.unwrap());

        let schema = parse_definitions("schema.toml", &first)
            .unwrap_or_else(|e| panic!("{backend}: the dump parses: {e}\n{first}"));
        let empty = TestDb::create(backend).await.expect("a second database");
        let mut copy = connect(&empty).await;
        let ddl = create_ddl(&schema, backend).unwrap_or_else(|e| panic!("{backend}: {e}"));
        run(&mut copy, &ddl.join(";\n")).await;
        let second = snapshot_text(&live_schema(&mut copy, &Tracking::default()).await.unwrap());
        assert_eq!(
            first, second,
            "{backend}: the round trip changed the snapshot"
        );
        assert!(first.contains("[tables.tags]"), "{first}");
    }
}

#[tokio::test]
async fn a_snapshot_from_any_backend_verifies_clean_on_every_backend() {
    let dbs = TestDb::create_all().await;
    let mut snapshots = Vec::new();
    for test_db in &dbs {
        let mut db = connect(test_db).await;
        migrate(&mut db, &shop()).await;
        let text = snapshot_text(&live_schema(&mut db, &Tracking::default()).await.unwrap());
        snapshots.push((test_db.backend(), text));
    }
    for test_db in &dbs {
        let backend = test_db.backend();
        let mut db = connect(test_db).await;
        for (written_on, text) in &snapshots {
            let expected = ExpectedSource::Snapshot {
                file: "schema.toml",
                text,
            };
            let report = verify_with(&mut db, &shop(), expected, &CheckId::ALL).await;
            assert!(
                report.ok,
                "snapshot written on {written_on}, verified on {backend}: {:#?}\n{text}",
                failures(&report)
            );
        }
        // The snapshot is really compared: drift fails it.
        run(&mut db, &Drift::DroppedIndex.sql(backend)).await;
        let (_, text) = &snapshots[0];
        let expected = ExpectedSource::Snapshot {
            file: "schema.toml",
            text,
        };
        let report = verify_with(&mut db, &shop(), expected, &[CheckId::Schema]).await;
        assert_eq!(
            failures(&report),
            ["schema: items: missing index idx_items_name (name)"],
            "{backend}"
        );
    }
}

#[tokio::test]
async fn every_portable_type_rendered_by_tt_compares_clean_with_its_definition() {
    let text = std::fs::read_to_string(fixture("portable.toml")).unwrap();
    let schema = parse_definitions("portable.toml", &text).unwrap();
    for test_db in TestDb::create_all().await {
        let backend = test_db.backend();
        let mut db = connect(&test_db).await;
        let ddl = create_ddl(&schema, backend).unwrap_or_else(|e| panic!("{backend}: {e}"));
        run(&mut db, &ddl.join(";\n")).await;
        let expected = ExpectedSource::Snapshot {
            file: "portable.toml",
            text: &text,
        };
        let report = verify_with(&mut db, &shop(), expected, &[CheckId::Schema]).await;
        assert!(report.ok, "{backend}: {:#?}", failures(&report));
    }
}
