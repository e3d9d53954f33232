//! The leading words of one statement as the splitter yields it, for recognising what a
//! statement does (`CREATE INDEX CONCURRENTLY`, `CREATE TABLE schema_migrations`) without
//! running it.

use tt_schema::Backend;

use crate::files::split::tokens::{Kind, tokens};

/// How many tokens other than whitespace and comments [`leading_words`] reads at most: the
/// words that say what a statement does come first, and an `INSERT` of many rows has thousands
/// of tokens inside parentheses after them, which would otherwise all be lexed a second time
/// for every statement run. A long comment before the statement does not count.
const TOKENS_READ: usize = 256;

/// Up to `limit` leading words of `sql`, upper-cased, as the `backend`'s lexer reads them:
/// words outside comments, quotes and parentheses, among its first [`TOKENS_READ`] tokens.
pub(crate) fn leading_words(sql: &str, backend: Backend, limit: usize) -> Vec<String> {
    let mut depth = 0usize;
    let mut words = Vec::new();
    let significant =
        tokens(sql, backend).filter(|t| !matches!(t.kind, Kind::Space | Kind::Comment));
    for token in significant.take(TOKENS_READ) {
        if words.len() == limit {
            break;
        }
        match token.kind {
            Kind::Punct if token.text == "(" => depth += 1,
            Kind::Punct if token.text == ")" => depth = depth.saturating_sub(1),
            Kind::Word if depth == 0 => words.push(token.text.to_ascii_uppercase()),
            _ => {}
        }
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_skip_comments_quotes_and_parentheses() {
        let check = |sql: &str, expected: &[&str]| {
            assert_eq!(leading_words(sql, Backend::Postgres, 6), expected, "{sql}");
        };
        check(
            "create table if not exists t (a int)",
            &["CREATE", "TABLE", "IF", "NOT", "EXISTS", "T"],
        );
        check(
            "CREATE /* x /* nested */ y */ INDEX -- c\n i",
            &["CREATE", "INDEX", "I"],
        );
        check(
            "SELECT 'a b' , \"c d\", $$e$$ FROM t",
            &["SELECT", "FROM", "T"],
        );
        assert_eq!(
            leading_words("SELECT 'a b', `e` # c\n FROM t", Backend::Mysql, 6),
            ["SELECT", "FROM", "T"]
        );
        check("REINDEX (VERBOSE) TABLE t", &["REINDEX", "TABLE", "T"]);
        check("", &[]);
        // Words past the first tokens are not looked for: a long row list ends the search.
        let rows = vec!["(1, 'a')"; 100].join(", ");
        check(
            &format!("INSERT INTO t VALUES {rows} RETURNING id"),
            &["INSERT", "INTO", "T", "VALUES"],
        );
        // A long comment before the statement is no part of the limit.
        let header = "-- why this index\n".repeat(300);
        check(
            &format!("{header}CREATE INDEX CONCURRENTLY i ON t (a)"),
            &["CREATE", "INDEX", "CONCURRENTLY", "I", "ON", "T"],
        );
    }
}
