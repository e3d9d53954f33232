//! Finding migration files: order, variants, directives, checksums and bad input.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use expect_test::{Expect, expect};
use tt_migrate::{Checksum, DiscoveryError, FileKind, MigrationSet, Problem, Version};
use tt_schema::Backend;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn load(name: &str) -> MigrationSet {
    MigrationSet::load(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The files of `dir` and its subdirectories as embedded pairs, paths relative to `dir`.
fn embed(dir: &Path) -> Vec<(&'static str, &'static [u8])> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(&'static str, &'static [u8])>) {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let relative = path.strip_prefix(root).unwrap().to_str().unwrap();
                let relative: &'static str = relative.replace('\\', "/").leak();
                out.push((relative, fs::read(&path).unwrap().leak()));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out
}

/// Everything discovery found, one line per file, without where the bytes live.
fn summary(set: &MigrationSet) -> String {
    let mut out = String::new();
    for migration in set {
        writeln!(out, "{} {}", migration.version, migration.name).unwrap();
        for (direction, files) in [("up", &migration.up), ("down", &migration.down)] {
            for file in files.iter() {
                writeln!(
                    out,
                    "  {direction:4} {:28} {:?} {:8} {}{}",
                    file.path().file_name().unwrap().to_str().unwrap(),
                    file.kind,
                    file.backend.map_or("plain", Backend::as_str),
                    &file.checksum.as_str()[..8],
                    if file.no_transaction {
                        " no-transaction"
                    } else {
                        ""
                    },
                )
                .unwrap();
            }
        }
    }
    out
}

/// The error's display with the directory prefix removed from every path.
fn display_relative(error: &DiscoveryError, dir: &Path) -> String {
    let prefix = dir.join("").display().to_string();
    format!("{error}\n").replace(&prefix, "")
}

fn check_loaded(name: &str, expected: Expect) {
    expected.assert_eq(&summary(&load(name)));
}

fn check_error(dir: &Path, expected: Expect) {
    let error = MigrationSet::load(dir).expect_err("bad input must not load");
    expected.assert_eq(&display_relative(&error, dir));
}

#[test]
fn linear_loads_in_order_with_down_files_and_ignores_readme() {
    check_loaded(
        "linear",
        expect![[r#"
            001 create_items
              up   001_create_items.sql         Sql plain    cc2e6908
              down 001_create_items.down.sql    Sql plain    75a1f3b1
            002 add_index
              up   002_add_index.sql            Sql plain    aaa3b571
            003 seed
              up   003_seed.sql                 Sql plain    22d1d44e
              down 003_seed.down.sql            Sql plain    4cc765f2
        "#]],
    );
    let set = load("linear");
    assert_eq!(set.len(), 3);
    assert!(!set.is_empty());
    assert_eq!(set.latest().unwrap().version.as_str(), "003");
    let second = set.get(&Version::new("002").unwrap()).unwrap();
    assert_eq!(second.name, "add_index");
    assert!(second.down_for(Backend::Postgres).is_none());
    assert!(set.get(&Version::new("004").unwrap()).is_none());
    assert!(set.get(&Version::new("2").unwrap()).is_none());
    let versions: Vec<&str> = set.iter().map(|m| m.version.as_str()).collect();
    assert_eq!(versions, ["001", "002", "003"]);
}

#[test]
fn versions_order_numerically_and_keep_their_text() {
    let set = load("numeric_order");
    let versions: Vec<&str> = set.iter().map(|m| m.version.as_str()).collect();
    assert_eq!(versions, ["000", "2", "9", "10", "011", "100"]);
    assert_eq!(set.latest().unwrap().name, "hundred");
    assert_eq!(
        set.get(&Version::new("011").unwrap()).unwrap().name,
        "eleven"
    );
    assert!(set.get(&Version::new("11").unwrap()).is_none());
}

#[test]
fn variants_are_chosen_per_backend() {
    let set = load("variants");
    let file_for = |version: &str, backend: Backend, down: bool| {
        let migration = set.get(&Version::new(version).unwrap()).unwrap();
        let file = if down {
            migration.down_for(backend)
        } else {
            migration.up_for(backend)
        };
        file.map(|f| f.path().file_name().unwrap().to_str().unwrap().to_string())
    };
    let check = |version, backend, down, expected: Option<&str>| {
        assert_eq!(
            file_for(version, backend, down).as_deref(),
            expected,
            "{version} {backend} down={down}"
        );
    };
    check(
        "001",
        Backend::Postgres,
        false,
        Some("001_items.postgres.sql"),
    );
    check("001", Backend::Mysql, false, Some("001_items.sql"));
    check("001", Backend::Sqlite, false, Some("001_items.sql"));
    check("001", Backend::Postgres, true, Some("001_items.down.sql"));
    check("001", Backend::Mysql, true, Some("001_items.down.sql"));
    check(
        "001",
        Backend::Sqlite,
        true,
        Some("001_items.sqlite.down.sql"),
    );
    check(
        "002",
        Backend::Postgres,
        false,
        Some("002_search.postgres.sql"),
    );
    check("002", Backend::Sqlite, false, Some("002_search.sqlite.sql"));
    check("002", Backend::Mysql, false, None);
    check(
        "002",
        Backend::Postgres,
        true,
        Some("002_search.postgres.down.sql"),
    );
    check("002", Backend::Sqlite, true, None);
    check_loaded(
        "variants",
        expect![[r#"
            001 items
              up   001_items.sql                Sql plain    16d9a026
              up   001_items.postgres.sql       Sql postgres 18000742
              down 001_items.down.sql           Sql plain    75a1f3b1
              down 001_items.sqlite.down.sql    Sql sqlite   3c067d8b
            002 search
              up   002_search.postgres.sql      Sql postgres 3a6f9fb3
              up   002_search.sqlite.sql        Sql sqlite   033fff61
              down 002_search.postgres.down.sql Sql postgres 731bd0af
        "#]],
    );
}

#[test]
fn no_transaction_is_read_only_from_leading_comments() {
    check_loaded(
        "no_transaction",
        expect![[r#"
            001 tables
              up   001_tables.sql               Sql plain    f7972434
            002 index
              up   002_index.sql                Sql plain    aaa3b571
              up   002_index.postgres.sql       Sql postgres 84ed9a9e no-transaction
            003 comment
              up   003_comment.sql              Sql plain    37a4b012
        "#]],
    );
    let set = load("no_transaction");
    let index = set.get(&Version::new("002").unwrap()).unwrap();
    assert!(index.up_for(Backend::Postgres).unwrap().no_transaction);
    assert!(!index.up_for(Backend::Sqlite).unwrap().no_transaction);
}

#[test]
fn crlf_and_bom_checksum_like_lf() {
    let crlf = fs::read(fixture("crlf/002_add_index.sql")).unwrap();
    assert!(
        crlf.ends_with(b";\r\n"),
        "the fixture lost its CRLF line endings"
    );
    assert!(
        fs::read(fixture("crlf/001_create_items.sql"))
            .unwrap()
            .starts_with(b"\xEF\xBB\xBF")
    );
    assert!(
        !fs::read(fixture("linear/002_add_index.sql"))
            .unwrap()
            .contains(&b'\r')
    );
    assert_eq!(summary(&load("crlf")), summary(&load("linear")));
}

#[test]
fn checksum_is_that_of_the_file_bytes() {
    for migration in &load("linear") {
        for file in migration.up.iter().chain(&migration.down) {
            let bytes = fs::read(file.path()).unwrap();
            assert_eq!(
                file.checksum,
                Checksum::of_bytes(&bytes),
                "{}",
                file.path().display()
            );
        }
    }
}

#[test]
fn toml_migrations_have_kind_toml_and_no_down_file() {
    check_loaded(
        "toml",
        expect![[r#"
            001 items
              up   001_items.toml               Toml plain    0cc6b9ed
            002 seed
              up   002_seed.sql                 Sql plain    f68660c5
              down 002_seed.down.sql            Sql plain    f7f0918a
        "#]],
    );
    let set = load("toml");
    let items = set.get(&Version::new("001").unwrap()).unwrap();
    assert_eq!(items.up_for(Backend::Mysql).unwrap().kind, FileKind::Toml);
    assert!(items.down.is_empty());
}

#[test]
fn embedded_files_give_the_same_migrations_as_the_directory() {
    let fixtures = [
        "linear",
        "variants",
        "crlf",
        "no_transaction",
        "numeric_order",
        "toml",
        "bad_names",
        "duplicates",
        "name_mismatch",
        "down_without_up",
    ];
    for name in fixtures {
        let dir = fixture(name);
        let files = embed(&dir);
        match (
            MigrationSet::load(&dir),
            MigrationSet::from_embedded(&files),
        ) {
            (Ok(on_disk), Ok(embedded)) => {
                assert_eq!(summary(&on_disk), summary(&embedded), "{name}");
                assert_eq!(on_disk.len(), embedded.len(), "{name}");
            }
            (Err(on_disk), Err(embedded)) => {
                assert_eq!(
                    display_relative(&on_disk, &dir),
                    format!("{embedded}\n"),
                    "{name}"
                );
            }
            (on_disk, embedded) => panic!("{name}: {on_disk:?} but embedded {embedded:?}"),
        }
    }
}

#[test]
fn embedded_subdirectories_and_readmes_are_ignored() {
    let error = MigrationSet::from_embedded(&embed(&fixture("no_migrations"))).unwrap_err();
    assert!(
        matches!(error, DiscoveryError::NoEmbeddedMigrations),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "no embedded migrations found (expected files such as 001_initial.sql)"
    );
    let set = MigrationSet::from_embedded(&[
        ("sub/002_nested.sql", b"SELECT 2;\n"),
        ("001_top.sql", b"SELECT 1;\n"),
    ])
    .unwrap();
    assert_eq!(set.len(), 1);
    assert_eq!(set.latest().unwrap().name, "top");
}

#[test]
fn bad_names_are_all_reported() {
    check_error(
        &fixture("bad_names"),
        expect![[r#"
            001.sql: file name must start with a version, `_` and a name, as in 001_create_items.sql
            002_items.oracle.sql: unknown backend `oracle` in file name (expected postgres, mysql or sqlite)
            003_items.down.postgres.sql: unexpected `.down.postgres` in file name (expected NNN_name.sql, NNN_name.down.sql, NNN_name.<backend>.sql or NNN_name.<backend>.down.sql)
            004_items.down.toml: unexpected `.down` in file name (table-definition migrations are named NNN_name.toml: no backend variants, their rollback is derived)
            create_items.sql: file name must start with a version, `_` and a name, as in 001_create_items.sql
        "#]],
    );
}

#[test]
fn duplicate_versions_are_all_reported_with_every_file() {
    let dir = fixture("duplicates");
    check_error(
        &dir,
        expect![[r#"
            001_first.sql: duplicate version 001 (also in 001_second.sql)
            002_items.postgres.sql: duplicate version 002 for postgres (also in 002_things.postgres.sql)
            003_a.down.sql: duplicate down file for version 003 (also in 003_b.down.sql)
            004_tables.sql: duplicate version 004 (also in 004_tables.toml)
        "#]],
    );
    let Err(DiscoveryError::Invalid { problems }) = MigrationSet::load(&dir) else {
        panic!("duplicates must be invalid");
    };
    let Problem::DuplicateVersion {
        path,
        version,
        backend,
        down,
        others,
    } = &problems[1]
    else {
        panic!("expected a duplicate, got {:?}", problems[1]);
    };
    assert_eq!(path, &dir.join("002_items.postgres.sql"));
    assert_eq!(version.as_str(), "002");
    assert_eq!(*backend, Some(Backend::Postgres));
    assert!(!down);
    assert_eq!(others, &[dir.join("002_things.postgres.sql")]);
}

#[test]
fn names_of_one_version_must_agree() {
    check_error(
        &fixture("name_mismatch"),
        expect![[r#"
            001_accounts.mysql.sql: name `accounts` differs from `users` in 001_users.sql (files of version 001 must share one name)
            001_user.down.sql: name `user` differs from `users` in 001_users.sql (files of version 001 must share one name)
        "#]],
    );
}

#[test]
fn down_files_need_an_up_file() {
    check_error(
        &fixture("down_without_up"),
        expect![[r#"
            002_gone.down.sql: down file without an up file for version 002
            003_pg.sqlite.down.sql: down file without an up file for version 003
        "#]],
    );
}

#[test]
fn every_problem_of_a_directory_is_reported_together() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, bytes: &[u8]| fs::write(dir.path().join(name), bytes).unwrap();
    write("001_ok.sql", b"SELECT 1;\n");
    write("002_latin1.sql", b"-- prices\nSELECT\n  'caf\xE9';\n");
    write("003_x.oracle.sql", b"SELECT 3;\n");
    write("004_gone.down.sql", b"SELECT 4;\n");
    write("005_typo.sql", b"-- tt:no-transactoin\nSELECT 5;\n");
    write("006_a.sql", b"SELECT 6;\n");
    write("006_b.sql", b"SELECT 6;\n");
    write("007_both.sql", b"\xFF\n");
    write("007_both.mysql.sql", b"SELECT 7;\n");
    write("items.sql", b"SELECT 8;\n");
    check_error(
        dir.path(),
        expect![[r#"
            002_latin1.sql: not valid UTF-8 at line 3
            003_x.oracle.sql: unknown backend `oracle` in file name (expected postgres, mysql or sqlite)
            004_gone.down.sql: down file without an up file for version 004
            005_typo.sql: unknown directive `tt:no-transactoin` at line 1 (known: tt:no-transaction)
            006_a.sql: duplicate version 006 (also in 006_b.sql)
            007_both.sql: not valid UTF-8 at line 1
            items.sql: file name must start with a version, `_` and a name, as in 001_create_items.sql
        "#]],
    );
}

#[test]
fn large_files_stream_across_read_chunks() {
    let dir = tempfile::tempdir().unwrap();
    // 3-byte characters so that some cross the 64 KiB read boundaries.
    let line = "INSERT INTO items (name) VALUES ('€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€');";
    let lf = format!(
        "-- tt:no-transaction\n{}",
        format!("{line}\n").repeat(10_000)
    );
    fs::write(dir.path().join("001_big.sql"), lf.replace('\n', "\r\n")).unwrap();
    let set = MigrationSet::load(dir.path()).unwrap();
    let file = set.latest().unwrap().up_for(Backend::Sqlite).unwrap();
    assert!(lf.len() > 10 * 64 * 1024);
    assert_eq!(file.checksum, Checksum::of_bytes(lf.as_bytes()));
    assert!(file.no_transaction);

    let mut bad = lf.into_bytes();
    let at = bad.len() - line.len() / 2;
    bad[at] = 0xFF;
    fs::write(dir.path().join("001_big.sql"), &bad).unwrap();
    check_error(
        dir.path(),
        expect![[r#"
            001_big.sql: not valid UTF-8 at line 10001
        "#]],
    );
}

#[cfg(unix)]
#[test]
fn unreadable_files_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(dir.path().join("missing.sql"), dir.path().join("001_x.sql"))
        .unwrap();
    check_error(
        dir.path(),
        expect![[r#"
            001_x.sql: cannot read: No such file or directory (os error 2)
        "#]],
    );
}

#[test]
fn a_missing_directory_is_named_with_the_way_out() {
    let dir = fixture("does_not_exist");
    let error = MigrationSet::load(&dir).unwrap_err();
    assert!(matches!(&error, DiscoveryError::DirectoryMissing { dir: d } if *d == dir));
    assert_eq!(
        error.to_string(),
        format!(
            "{}: migrations directory not found (create it, or choose another directory with \
             --dir)",
            dir.display()
        )
    );
}

#[test]
fn a_file_is_not_a_directory() {
    let file = fixture("linear/002_add_index.sql");
    let error = MigrationSet::load(&file).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "{}: not a directory (choose the migrations directory with --dir)",
            file.display()
        )
    );
}

#[test]
fn a_directory_without_migrations_is_an_error() {
    let empty = tempfile::tempdir().unwrap();
    for dir in [empty.path(), &fixture("no_migrations")] {
        let error = MigrationSet::load(dir).unwrap_err();
        assert!(matches!(&error, DiscoveryError::NoMigrations { dir: d } if d == dir));
        assert_eq!(
            error.to_string(),
            format!(
                "{}: no migrations found (expected files such as 001_initial.sql)",
                dir.display()
            )
        );
    }
}
