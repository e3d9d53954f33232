//! The benchmark inputs, generated streaming into a directory: many small migrations, or one huge file of INSERTs.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// Many small migration files, and the same SQL concatenated for psql.
#[derive(Debug)]
pub(crate) struct ManyFiles {
    /// The migrations directory tt applies.
    pub(crate) dir: PathBuf,
    /// All files concatenated in version order, for `psql -1 -f`.
    pub(crate) all_sql: PathBuf,
    /// How many files.
    pub(crate) files: usize,
    /// Statements in all files.
    pub(crate) statements: usize,
    /// Bytes of SQL in all files.
    pub(crate) bytes: u64,
}

/// Statements in each file of [`ManyFiles`].
const STATEMENTS_PER_FILE: usize = 5;

/// Writes `files` migrations under `root`: each creates a table with a foreign key to an earlier
/// one, indexes it and inserts three rows, as a typical hand-written migration does.
pub(crate) fn many_files(root: &Path, files: usize) -> Result<ManyFiles> {
    let dir = root.join("files");
    fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let all_sql = root.join("files.sql");
    let mut all = create(&all_sql)?;
    let mut bytes = 0;
    for i in 1..=files {
        let sql = small_migration(i);
        bytes += sql.len() as u64;
        let path = dir.join(format!("{i:04}_table_{i:04}.sql"));
        fs::write(&path, &sql).with_context(|| format!("writing {}", path.display()))?;
        all.write_all(sql.as_bytes())
            .with_context(|| format!("writing {}", all_sql.display()))?;
    }
    all.flush()
        .with_context(|| format!("writing {}", all_sql.display()))?;
    Ok(ManyFiles {
        dir,
        all_sql,
        files,
        statements: files * STATEMENTS_PER_FILE,
        bytes,
    })
}

/// The files of [`many_files`] again, in dbmate's format (`-- migrate:up`, then an empty
/// `-- migrate:down`), in `dir`: the same names, so the same versions.
pub(crate) fn as_dbmate(files: &ManyFiles, dir: &Path) -> Result<()> {
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    for entry in
        fs::read_dir(&files.dir).with_context(|| format!("reading {}", files.dir.display()))?
    {
        let path = entry?.path();
        let sql =
            fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        let Some(name) = path.file_name() else {
            continue;
        };
        let to = dir.join(name);
        fs::write(&to, format!("-- migrate:up\n{sql}\n-- migrate:down\n"))
            .with_context(|| format!("writing {}", to.display()))?;
    }
    Ok(())
}

/// Migration `i`: table `t{i}`, a child of `t{i/2}` (so the foreign keys form a tree).
fn small_migration(i: usize) -> String {
    let table = format!("t{i:04}");
    let (parent_column, parent_value) = if i == 1 {
        ("parent_id integer".to_string(), "NULL".to_string())
    } else {
        let parent = format!("t{:04}", i / 2);
        (
            format!("parent_id integer REFERENCES {parent} (id) ON DELETE SET NULL"),
            "1".to_string(),
        )
    };
    format!(
        "-- Migration {i}: the {table} table.\n\
         CREATE TABLE {table} (\n    \
             id integer PRIMARY KEY,\n    \
             {parent_column},\n    \
             name varchar(100) NOT NULL,\n    \
             amount numeric(10, 2) NOT NULL DEFAULT 0,\n    \
             created_at timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP\n\
         );\n\
         CREATE INDEX {table}_parent_idx ON {table} (parent_id);\n\
         INSERT INTO {table} (id, parent_id, name, amount) VALUES (1, {parent_value}, 'first row of {table}', 1.50);\n\
         INSERT INTO {table} (id, parent_id, name, amount) VALUES (2, {parent_value}, 'it''s the second; with a semicolon', 2.25);\n\
         INSERT INTO {table} (id, parent_id, name, amount) VALUES (3, NULL, 'third', 3.00);\n"
    )
}

/// One migration file of multi-row INSERTs, and its size.
#[derive(Debug)]
pub(crate) struct BigFile {
    /// The migrations directory tt applies (this one file).
    pub(crate) dir: PathBuf,
    /// The file itself, which psql runs too.
    pub(crate) file: PathBuf,
    /// Bytes in the file.
    pub(crate) bytes: u64,
    /// Rows inserted.
    pub(crate) rows: u64,
    /// INSERT statements.
    pub(crate) statements: u64,
}

/// Rows per INSERT: about 1.3 KB per statement, as a dump with multi-row INSERTs writes them.
pub(crate) const ROWS_PER_INSERT: u64 = 8;

/// The table [`big_file`] fills.
pub(crate) const BIG_TABLE: &str = "bench_items";

/// Writes one migration of at least `target` bytes under `root`: a CREATE TABLE, then
/// INSERTs of [`ROWS_PER_INSERT`] rows of about 160 bytes each.
pub(crate) fn big_file(root: &Path, target: u64) -> Result<BigFile> {
    let dir = root.join("inserts");
    fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let file = dir.join("0001_load_items.sql");
    let mut out = Counted {
        inner: create(&file)?,
        bytes: 0,
    };
    let context = || format!("writing {}", file.display());
    write!(
        out,
        "-- Loads generated items: one file of multi-row INSERTs.\n\
         CREATE TABLE {BIG_TABLE} (\n    \
             id bigint PRIMARY KEY,\n    \
             name varchar(64) NOT NULL,\n    \
             category varchar(32) NOT NULL,\n    \
             price numeric(10, 2) NOT NULL,\n    \
             quantity integer NOT NULL,\n    \
             description text NOT NULL,\n    \
             created_at timestamp NOT NULL\n\
         );\n"
    )
    .with_context(context)?;
    const CATEGORIES: [&str; 5] = ["weapon", "armor", "implant", "utility", "nano"];
    const DESCRIPTIONS: [&str; 4] = [
        "a sturdy piece of equipment, favoured by veterans of the northern campaigns",
        "it''s light; it''s sharp; handle it with care and keep it away from water",
        "requires a steady hand and a fair amount of treatment skill to equip safely",
        "found in the ruins east of the city; its origin is still debated by scholars",
    ];
    let mut rows = 0u64;
    let mut statements = 0u64;
    // A small linear congruential generator: varied but reproducible values, no dependency.
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move || {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        seed >> 33
    };
    while out.bytes < target {
        writeln!(
            out,
            "INSERT INTO {BIG_TABLE} (id, name, category, price, quantity, description, created_at) VALUES"
        )
        .with_context(context)?;
        for n in 0..ROWS_PER_INSERT {
            rows += 1;
            let r = next();
            writeln!(
                out,
                "({rows}, 'item {rows}', '{}', {}.{:02}, {}, '{}', '2024-{:02}-{:02} {:02}:{:02}:00'){}",
                CATEGORIES[(r % 5) as usize],
                r % 10_000,
                r % 100,
                r % 500,
                DESCRIPTIONS[(r % 4) as usize],
                r % 12 + 1,
                r % 28 + 1,
                r % 24,
                r % 60,
                if n + 1 == ROWS_PER_INSERT { ";" } else { "," },
            )
            .with_context(context)?;
        }
        statements += 1;
    }
    out.flush().with_context(context)?;
    Ok(BigFile {
        dir,
        file,
        bytes: out.bytes,
        rows,
        statements: statements + 1,
    })
}

fn create(path: &Path) -> Result<BufWriter<File>> {
    let file = File::create(path).with_context(|| format!("creating {}", path.display()))?;
    Ok(BufWriter::with_capacity(1 << 20, file))
}

/// A writer that counts the bytes written through it.
struct Counted<W> {
    inner: W,
    bytes: u64,
}

impl<W: Write> Write for Counted<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// A schema of many tables with a random foreign-key web, as migration files and as a psql
/// script that applies the same files, each in a transaction of its own.
#[derive(Debug)]
pub(crate) struct WideSchema {
    /// The migrations directory tt resets to.
    pub(crate) dir: PathBuf,
    /// `BEGIN; <file>; COMMIT;` for every file, for `psql -f` (what sqlx's migrate does).
    pub(crate) sql: PathBuf,
    /// How many tables.
    pub(crate) tables: usize,
    /// How many files create them.
    pub(crate) files: usize,
    /// How many foreign keys.
    pub(crate) foreign_keys: usize,
}

/// Writes `tables` tables `t0001`… in `files` files (as a schema grows), whose foreign keys
/// form a random web (fixed seed): each table references up to three earlier ones, and one
/// table in fifty also references a later table of its file through an `ALTER TABLE` at the
/// end of the file, closing cycles. Each file stays small enough for PostgreSQL's default
/// lock table.
pub(crate) fn wide_schema(root: &Path, tables: usize, files: usize) -> Result<WideSchema> {
    let dir = root.join("wide");
    fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut random = XorShift(0x9e37_79b9_7f4a_7c15);
    let mut script = String::new();
    let mut foreign_keys = 0;
    let per_file = tables.div_ceil(files);
    for file in 0..files {
        let first = file * per_file + 1;
        let last = ((file + 1) * per_file).min(tables);
        let mut sql = String::new();
        let mut cycles = Vec::new();
        for i in first..=last {
            let mut columns = vec![
                "id integer PRIMARY KEY".to_string(),
                "name varchar(64) NOT NULL".to_string(),
                "amount integer NOT NULL DEFAULT 0".to_string(),
            ];
            if i > 1 {
                for k in 0..random.below(4) {
                    let parent = 1 + random.below(i - 1);
                    columns.push(format!("ref{k}_id integer REFERENCES t{parent:04} (id)"));
                    foreign_keys += 1;
                }
            }
            sql.push_str(&format!("CREATE TABLE t{i:04} ({});\n", columns.join(", ")));
            if random.below(3) == 0 {
                sql.push_str(&format!(
                    "CREATE INDEX t{i:04}_name_idx ON t{i:04} (name);\n"
                ));
            }
            if i < last && random.below(50) == 0 {
                cycles.push((i, i + 1 + random.below(last - i)));
            }
        }
        for (child, parent) in cycles {
            sql.push_str(&format!(
                "ALTER TABLE t{child:04} ADD COLUMN back_id integer;\n\
                 ALTER TABLE t{child:04} ADD CONSTRAINT t{child:04}_back_fk FOREIGN KEY (back_id) REFERENCES t{parent:04} (id);\n"
            ));
            foreign_keys += 1;
        }
        let migration = dir.join(format!("{:04}_wide_{:02}.sql", file + 1, file + 1));
        fs::write(&migration, &sql).with_context(|| format!("writing {}", migration.display()))?;
        script.push_str("BEGIN;\n");
        script.push_str(&sql);
        script.push_str("COMMIT;\n");
    }
    let all = root.join("wide.sql");
    fs::write(&all, &script).with_context(|| format!("writing {}", all.display()))?;
    Ok(WideSchema {
        dir,
        sql: all,
        tables,
        files,
        foreign_keys,
    })
}

/// A small deterministic generator: the same web on every machine and run.
struct XorShift(u64);

impl XorShift {
    /// A number in `0..n`.
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

#[cfg(test)]
mod tests {
    use std::io::BufReader;

    use tt_migrate::{Piece, Splitter};
    use tt_schema::Backend;

    use super::*;

    /// The statements tt's splitter finds in `path`.
    fn statements(path: &Path) -> Vec<String> {
        let reader = BufReader::new(File::open(path).unwrap());
        Splitter::new(reader, Backend::Postgres)
            .map(|piece| match piece.unwrap() {
                Piece::Statement(statement) => statement.sql,
                other => panic!("unexpected {other:?}"),
            })
            .collect()
    }

    #[test]
    fn many_files_hold_the_statements_they_claim() {
        let root = tempfile::tempdir().unwrap();
        let files = many_files(root.path(), 3).unwrap();
        assert_eq!(fs::read_dir(&files.dir).unwrap().count(), 3);
        let all = statements(&files.all_sql);
        assert_eq!(all.len(), files.statements);
        assert_eq!(files.bytes, fs::metadata(&files.all_sql).unwrap().len());
        assert!(
            all[5].contains("REFERENCES t0001 (id)"),
            "the second table is a child of the first: {}",
            all[5]
        );
    }

    #[test]
    fn the_dbmate_files_hold_the_same_sql_under_the_same_names() {
        let root = tempfile::tempdir().unwrap();
        let files = many_files(root.path(), 3).unwrap();
        let dir = root.path().join("dbmate");
        as_dbmate(&files, &dir).unwrap();
        let second = fs::read_to_string(dir.join("0002_table_0002.sql")).unwrap();
        let original = fs::read_to_string(files.dir.join("0002_table_0002.sql")).unwrap();
        assert!(second.starts_with("-- migrate:up\n"), "{second}");
        assert!(second.contains(&original), "{second}");
        assert!(second.ends_with("-- migrate:down\n"), "{second}");
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 3);
    }

    #[test]
    fn the_big_file_holds_the_rows_and_statements_it_claims() {
        let root = tempfile::tempdir().unwrap();
        let big = big_file(root.path(), 20_000).unwrap();
        assert!(big.bytes >= 20_000, "{}", big.bytes);
        assert_eq!(big.bytes, fs::metadata(&big.file).unwrap().len());
        let found = statements(&big.file);
        assert_eq!(found.len() as u64, big.statements);
        assert_eq!(big.rows, (big.statements - 1) * ROWS_PER_INSERT);
        // About 1 KB a statement, as the benchmark's description says.
        let insert = found[1].len();
        assert!((800..1500).contains(&insert), "{insert} bytes");
    }

    #[test]
    fn the_wide_schema_is_a_web_with_cycles_and_always_the_same() {
        let root = tempfile::tempdir().unwrap();
        let wide = wide_schema(root.path(), 200, 4).unwrap();
        let all = statements(&wide.sql);
        let creates = all.iter().filter(|s| s.starts_with("CREATE TABLE")).count();
        assert_eq!(creates, 200);
        assert_eq!(fs::read_dir(&wide.dir).unwrap().count(), 4);
        let transactions = all.iter().filter(|s| s.as_str() == "BEGIN").count();
        assert_eq!(transactions, 4, "one a file");
        let references = all
            .iter()
            .map(|s| s.matches("REFERENCES").count())
            .sum::<usize>();
        assert_eq!(references, wide.foreign_keys);
        assert!(all.iter().any(|s| s.contains("_back_fk")), "some cycles");
        let other = tempfile::tempdir().unwrap();
        let again = wide_schema(other.path(), 200, 4).unwrap();
        assert_eq!(
            fs::read_to_string(&again.sql).unwrap(),
            fs::read_to_string(&wide.sql).unwrap()
        );
    }
}

/// Independent heavy migrations and a few that depend on them, for `--jobs`.
#[derive(Debug)]
pub(crate) struct Parallel {
    /// The migrations directory.
    pub(crate) dir: PathBuf,
    /// How many files.
    pub(crate) files: usize,
    /// Rows of each generated table.
    pub(crate) rows: usize,
}

/// Writes 8 files each creating a table of `rows` generated rows with two indexes besides its
/// key, then 4 files that each add a column to one of the first four tables and backfill it.
pub(crate) fn parallel(root: &Path, rows: usize) -> Result<Parallel> {
    let dir = root.join("parallel");
    fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut files = 0;
    let mut write = |name: String, sql: String| -> Result<()> {
        files += 1;
        let path = dir.join(format!("{files:03}_{name}.sql"));
        fs::write(&path, sql).with_context(|| format!("writing {}", path.display()))
    };
    for k in 0..8 {
        write(
            format!("build_p{k}"),
            format!(
                "CREATE TABLE p{k} (id bigint PRIMARY KEY, a integer NOT NULL, b text NOT NULL);\n\
                 INSERT INTO p{k} (id, a, b) SELECT g, g % 1000, md5(g::text) FROM generate_series(1, {rows}) g;\n\
                 CREATE INDEX p{k}_a ON p{k} (a);\n\
                 CREATE INDEX p{k}_b ON p{k} (b);\n"
            ),
        )?;
    }
    for k in 0..4 {
        write(
            format!("backfill_p{k}"),
            format!("ALTER TABLE p{k} ADD COLUMN c integer;\nUPDATE p{k} SET c = a * 2;\n"),
        )?;
    }
    Ok(Parallel { dir, files, rows })
}
