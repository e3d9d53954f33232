//! Migrations that created the tracking table themselves: TinkerTools' own runner ran a `000`
//! file creating `schema_migrations`, and each later file inserted its own row, `000` none. A
//! database it built has rows for the later files only; the table itself shows that `000` ran.

use tt_schema::Backend;

use crate::engine::tracking::AppliedRow;
use crate::files::migration::{Migration, Version};
use crate::files::split::Piece;
use crate::files::statements;
use crate::files::words::leading_words;

/// `rows` (the tracking table's, sorted by version), with a row added for each migration
/// that has none, is older than a recorded one, and whose file creates the tracking `table`
/// itself: it ran, or the table would not be there. The added rows have no checksum and no
/// time, like rows a migration wrote itself, until `tt baseline` records them.
pub(crate) fn with_tracking_creators(
    migrations: &[Migration],
    mut rows: Vec<AppliedRow>,
    table: &str,
    backend: Backend,
) -> Vec<AppliedRow> {
    let latest = rows
        .iter()
        .filter_map(|row| Version::new(row.version.as_str()).ok())
        .max();
    let Some(latest) = latest else {
        return rows;
    };
    // A set, not a scan of the rows for each migration: a thousand of each made that a
    // million comparisons on every run.
    let recorded: std::collections::HashSet<String> =
        rows.iter().map(|row| row.version.clone()).collect();
    for migration in migrations {
        if recorded.contains(migration.version.as_str()) || migration.version >= latest {
            continue;
        }
        if migration
            .up_for(backend)
            .is_some_and(|file| creates_table(file, backend, table))
        {
            rows.push(AppliedRow {
                version: migration.version.to_string(),
                name: Some(migration.name.clone()),
                applied_at: None,
                checksum: None,
                execution_ms: None,
                dirty: false,
            });
        }
    }
    rows
}

/// Whether a statement of `file` is `CREATE TABLE [IF NOT EXISTS] [schema.]table`. A file that
/// cannot be read or split creates nothing here; running it reports why.
fn creates_table(
    file: &crate::files::migration::MigrationFile,
    backend: Backend,
    table: &str,
) -> bool {
    let Ok(pieces) = statements::pieces(file, backend, None) else {
        return false;
    };
    let wanted = table.to_ascii_uppercase();
    pieces.map_while(Result::ok).any(|piece| match piece {
        Piece::Statement(statement) => {
            is_create_table(&leading_words(&statement.sql, backend, 8), &wanted)
        }
        _ => false,
    })
}

fn is_create_table(words: &[String], wanted: &str) -> bool {
    let [create, kind, rest @ ..] = words else {
        return false;
    };
    if create != "CREATE" || kind != "TABLE" {
        return false;
    }
    let rest = match rest {
        [a, b, c, rest @ ..] if a == "IF" && b == "NOT" && c == "EXISTS" => rest,
        rest => rest,
    };
    // `schema.table` reads as two words.
    rest.iter().take(2).any(|word| word == wanted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_table_statements_of_the_tracking_table() {
        let check = |sql: &str, expected: bool| {
            let words = leading_words(sql, Backend::Postgres, 8);
            assert_eq!(
                is_create_table(&words, "SCHEMA_MIGRATIONS"),
                expected,
                "{sql}"
            );
        };
        check(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version text)",
            true,
        );
        check("create table schema_migrations (version text)", true);
        check("CREATE TABLE public.schema_migrations (version text)", true);
        check("CREATE TABLE items (schema_migrations text)", false);
        check("CREATE TABLE schema_migrations_old (version text)", false);
        check("INSERT INTO schema_migrations VALUES ('1')", false);
        check("CREATE INDEX schema_migrations ON t (a)", false);
    }
}
