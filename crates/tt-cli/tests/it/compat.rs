//! The compatibility suite: one folder per tool whose layout tt reads, as its own tool
//! applies it, goes migrate → verify → reset --yes → down --all (where downs exist) →
//! migrate on every backend, with nothing configured but the folder.

use std::path::{Path, PathBuf};

use tt_schema::Backend;
use tt_testdb::TestDb;

use crate::support::{Project, ok, run};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tt-migrate/tests/fixtures")
}

/// A tool's folder for `backend`.
struct Folder {
    tool: &'static str,
    dir: PathBuf,
    /// Whether every migration in it has a down.
    downs: bool,
}

fn folder(tool: &'static str, dir: PathBuf, downs: bool) -> Folder {
    Folder { tool, dir, downs }
}

fn folders(backend: Backend) -> Vec<Folder> {
    let layouts = fixtures().join("layouts");
    let layout = |name: &str| layouts.join(format!("{name}_{backend}"));
    let tools = fixtures().join("tools");
    let mut folders = vec![
        // These four create views and (on PostgreSQL) enum types, functions and triggers,
        // which reset drops and builds again with the tables.
        folder("sqlx (reversible, views)", layout("sqlx"), true),
        folder("diesel (views)", layout("diesel"), true),
        folder("dbmate (views)", layout("dbmate"), true),
        // Dotted versions, R__ (a view), .conf.
        folder("flyway (views)", layout("flyway"), true),
        folder("sqlx (flat)", tools.join("sqlx_flat"), false),
        folder("sqlx (reversible)", tools.join("sqlx_reversible"), true),
        // transaction:false; an empty down section stops a rollback.
        folder("dbmate", tools.join("dbmate"), false),
        // Both directory-name forms; its empty down stops a rollback.
        folder("diesel (name shapes)", tools.join("diesel_names"), false),
        // A migration indexing diesel's own table.
        folder("diesel (own table)", tools.join("diesel_own_table"), false),
        // Dotted versions, R__ reference data, .conf.
        folder("flyway (repeatable)", tools.join("flyway_repeatable"), true),
        folder("golang-migrate", tools.join("golang_migrate"), true),
        folder("goose", tools.join("goose"), true),
        folder("prisma", tools.join("prisma"), false),
    ];
    if backend != Backend::Mysql {
        // Files that insert their own tracking row with a plain INSERT: on MySQL tt writes
        // the row first (DDL commits implicitly there), so such a file collides with it.
        folders.push(folder(
            "tinkertools (self-recording)",
            tools.join("tinkertools_runner"),
            false,
        ));
    }
    if backend == Backend::Postgres {
        // A PL/pgSQL function in a StatementBegin/End block; NO TRANSACTION.
        folders.push(folder(
            "goose (PostgreSQL)",
            tools.join("goose_postgres"),
            true,
        ));
        folders.push(folder(
            "flyway (CONCURRENTLY)",
            tools.join("flyway_concurrently"),
            true,
        ));
        folders.push(folder(
            "tinkertools (\\echo, self-recording)",
            fixtures().join("original_tinkertools"),
            false,
        ));
    }
    folders
}

#[tokio::test]
async fn each_tools_folder_migrates_verifies_resets_rolls_back_and_migrates_again() {
    for backend in Backend::ALL {
        for folder in folders(backend) {
            let Some(db) = TestDb::create(backend).await else {
                break;
            };
            let what = format!("{} on {backend}", folder.tool);
            let project = Project::new();
            let dir = folder.dir.to_str().unwrap();
            let tt = |args: &[&str]| {
                let mut command = project.tt_on(db.url(), args);
                command.args(["--dir", dir]);
                command
            };
            let migrate = ok(&mut tt(&["migrate", "--json"])).json();
            let applied = migrate["applied"].as_array().unwrap().len();
            assert!(applied > 0, "{what}: {migrate}");

            let verify = run(&mut tt(&["verify"]));
            assert_eq!(verify.code, 0, "{what}: verify\n{}", verify.stdout);

            reset_and_verify(&tt, &what, applied);
            if folder.downs {
                ok(&mut tt(&["down", "--all"]));
                let status = ok(&mut tt(&["status", "--json"])).json();
                assert!(
                    status["applied"].as_array().unwrap().is_empty(),
                    "{what}: {status}"
                );
                let again = ok(&mut tt(&["migrate", "--json"])).json();
                assert_eq!(
                    again["applied"].as_array().unwrap().len(),
                    applied,
                    "{what}: migrate after down"
                );
            }
        }
    }
}

/// `tt reset --yes` rebuilds everything `applied` migrations built, and verify passes after.
fn reset_and_verify(tt: &dyn Fn(&[&str]) -> assert_cmd::Command, what: &str, applied: usize) {
    let reset = run(&mut tt(&["reset", "--yes", "--json"]));
    assert_eq!(
        reset.code, 0,
        "{what}: reset\n{}\n{}",
        reset.stdout, reset.stderr
    );
    let reset = reset.json();
    assert_eq!(
        reset["applied"].as_array().unwrap().len(),
        applied,
        "{what}: all applied again"
    );
    assert_eq!(reset["verify"]["ok"], true, "{what}: {reset}");
    let verify = run(&mut tt(&["verify"]));
    assert_eq!(
        verify.code, 0,
        "{what}: verify after reset\n{}",
        verify.stdout
    );
    // Repeatable migrations ran too: nothing is due.
    let status = ok(&mut tt(&["status", "--json"])).json();
    assert_eq!(
        status["repeatable_pending"],
        serde_json::json!([]),
        "{what}: {status}"
    );
    assert_eq!(status["pending"], serde_json::json!([]), "{what}: {status}");
}
