//! The statement API other programs use (`exec`, `fetch`, `begin`/`commit`/`rollback`, `Value`)
//! behaves the same on every backend.

use tt_migrate::TransactionError;
use tt_migrate::{Error, Migrator, Value};
use tt_schema::Backend;
use tt_testdb::TestDb;

use crate::support::{connect, migrations};

const CREATE: &str = "CREATE TABLE items (
    id INTEGER NOT NULL PRIMARY KEY,
    name VARCHAR(128) NOT NULL,
    item_class INTEGER,
    description TEXT,
    is_nano BOOLEAN NOT NULL DEFAULT FALSE
)";

#[tokio::test]
async fn values_round_trip_with_nulls_of_every_column_type() {
    for test_db in TestDb::create_all().await {
        let backend = test_db.backend();
        let mut db = connect(&test_db).await;
        db.exec(CREATE, &[]).await.unwrap();
        let insert = "INSERT INTO items (id, name, item_class, description, is_nano) \
                      VALUES (?, ?, ?, ?, ?)";
        let no_text: Option<&str> = None;
        let inserted = db
            .exec(
                insert,
                &[
                    1.into(),
                    "Why? Because 'quotes'".into(),
                    Value::Null,
                    no_text.into(),
                    true.into(),
                ],
            )
            .await
            .unwrap();
        assert_eq!(inserted, 1, "{backend}");
        db.exec(
            insert,
            &[
                2.into(),
                "Nano Crystal".into(),
                5.into(),
                "?".into(),
                false.into(),
            ],
        )
        .await
        .unwrap();

        let rows = db
            .fetch(
                "SELECT id, name, item_class, description, is_nano, COUNT(*) OVER () \
                 FROM items WHERE name <> '?' ORDER BY id",
                &[],
            )
            .await
            .unwrap();
        let boolean = |b: bool| match backend {
            Backend::Postgres | Backend::Mysql => Value::Bool(b),
            Backend::Sqlite => Value::Int(i64::from(b)),
        };
        assert_eq!(
            rows,
            [
                vec![
                    Value::Int(1),
                    Value::Text("Why? Because 'quotes'".into()),
                    Value::Null,
                    Value::Null,
                    boolean(true),
                    Value::Int(2),
                ],
                vec![
                    Value::Int(2),
                    Value::Text("Nano Crystal".into()),
                    Value::Int(5),
                    Value::Text("?".into()),
                    boolean(false),
                    Value::Int(2),
                ],
            ],
            "{backend}"
        );
        assert_eq!(rows[0][4].as_bool(), Some(true), "{backend}");

        // A NULL parameter compares as SQL NULL does, and UPDATE counts matched rows.
        let updated = db
            .exec(
                "UPDATE items SET item_class = ?, description = ? WHERE id = ?",
                &[Value::Null, "same".into(), 2.into()],
            )
            .await
            .unwrap();
        assert_eq!(updated, 1, "{backend}");
        let nulls = db
            .fetch(
                "SELECT id FROM items WHERE item_class IS NULL AND id >= ? ORDER BY id",
                &[1.into()],
            )
            .await
            .unwrap();
        assert_eq!(nulls, [[Value::Int(1)], [Value::Int(2)]], "{backend}");
    }
}

#[tokio::test]
async fn a_rolled_back_transaction_leaves_nothing_and_a_committed_one_everything() {
    for test_db in TestDb::create_all().await {
        let backend = test_db.backend();
        let mut db = connect(&test_db).await;
        db.exec(CREATE, &[]).await.unwrap();
        let insert = "INSERT INTO items (id, name) VALUES (?, ?)";

        db.begin().await.unwrap();
        db.exec(insert, &[1.into(), "kept only until rollback".into()])
            .await
            .unwrap();
        db.rollback().await.unwrap();

        db.begin().await.unwrap();
        db.exec(insert, &[2.into(), "committed".into()])
            .await
            .unwrap();
        db.exec(insert, &[3.into(), "committed too".into()])
            .await
            .unwrap();
        db.commit().await.unwrap();

        // A failing statement inside a transaction, then rollback: the earlier insert is gone.
        db.begin().await.unwrap();
        db.exec(insert, &[4.into(), "rolled back".into()])
            .await
            .unwrap();
        let error = db
            .exec(insert, &[2.into(), "duplicate key".into()])
            .await
            .unwrap_err();
        assert!(
            matches!(&error, Error::Query { context, .. } if context.contains("INSERT INTO items")),
            "{backend}: {error}"
        );
        db.rollback().await.unwrap();

        let ids = db
            .fetch("SELECT id FROM items ORDER BY id", &[])
            .await
            .unwrap();
        assert_eq!(ids, [[Value::Int(2)], [Value::Int(3)]], "{backend}");
    }
}

#[tokio::test]
async fn transactions_do_not_nest_and_do_not_end_twice() {
    for test_db in TestDb::create_all().await {
        let backend = test_db.backend();
        let mut db = connect(&test_db).await;
        let error = db.commit().await.unwrap_err();
        assert_eq!(
            error.to_string(),
            "no transaction is open on this connection to commit (call begin first)",
            "{backend}"
        );
        db.begin().await.unwrap();
        let error = db.begin().await.unwrap_err();
        assert!(
            matches!(error, Error::Transaction(TransactionError::AlreadyOpen)),
            "{backend}: {error}"
        );
        db.rollback().await.unwrap();
        let error = db.rollback().await.unwrap_err();
        assert!(
            matches!(
                error,
                Error::Transaction(TransactionError::NoneOpen {
                    action: "roll back"
                })
            ),
            "{backend}: {error}"
        );
    }
}

#[tokio::test]
async fn migrations_refuse_to_run_inside_a_callers_transaction() {
    for test_db in TestDb::create_all().await {
        let backend = test_db.backend();
        let mut db = connect(&test_db).await;
        db.exec("CREATE TABLE kept (id INTEGER)", &[])
            .await
            .unwrap();
        db.begin().await.unwrap();
        db.exec("INSERT INTO kept VALUES (1)", &[]).await.unwrap();
        // Migrations would end it (commit the INSERT) with their own BEGIN and COMMIT.
        let set = migrations(&[("001_t.sql", "CREATE TABLE t (id INTEGER);")]);
        let error = Migrator::new(&set)
            .run(&mut db, &mut |_| {})
            .await
            .unwrap_err();
        assert!(
            matches!(
                error.error,
                Error::Transaction(TransactionError::AlreadyOpen)
            ),
            "{backend}: {error}"
        );
        db.rollback().await.unwrap();
        let rows = db.fetch("SELECT id FROM kept", &[]).await.unwrap();
        assert!(
            rows.is_empty(),
            "{backend}: the caller's transaction was left alone"
        );
        let status = Migrator::new(&set).status(&mut db).await.unwrap();
        assert_eq!(status.pending.len(), 1, "{backend}");
    }
}

#[tokio::test]
async fn columns_of_other_types_are_refused_with_a_hint() {
    for test_db in TestDb::create_all().await {
        let backend = test_db.backend();
        let mut db = connect(&test_db).await;
        let error = db
            .fetch("SELECT CAST(1.5 AS DECIMAL(5,2))", &[])
            .await
            .unwrap_err();
        let message = crate::support::chain(&error);
        assert!(
            message.contains("cannot be read as a tt_migrate::Value")
                && message.contains("cast it to an integer or text"),
            "{backend}: {message}"
        );
    }
}
