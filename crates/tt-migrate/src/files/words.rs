//! The leading words of one statement as the splitter yields it, for recognising what a
//! statement does (`CREATE INDEX CONCURRENTLY`, `CREATE TABLE schema_migrations`) without
//! running it.

/// Up to `limit` leading words of `sql`, upper-cased: runs of ASCII letters, digits and `_`
/// outside comments, quotes and parentheses.
pub(crate) fn leading_words(sql: &str, limit: usize) -> Vec<String> {
    let bytes = sql.as_bytes();
    let mut words = Vec::new();
    let mut i = 0;
    let mut depth = 0usize;
    while i < bytes.len() && words.len() < limit {
        let rest = &bytes[i..];
        match rest {
            [b'-', b'-', ..] => {
                i += rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
            }
            [b'/', b'*', ..] => {
                // PostgreSQL nests block comments.
                let mut nesting = 0usize;
                let mut j = 0;
                while j < rest.len() {
                    match &rest[j..] {
                        [b'/', b'*', ..] => {
                            nesting += 1;
                            j += 2;
                        }
                        [b'*', b'/', ..] => {
                            nesting -= 1;
                            j += 2;
                            if nesting == 0 {
                                break;
                            }
                        }
                        _ => j += 1,
                    }
                }
                i += j;
            }
            [quote @ (b'"' | b'\'' | b'`'), ..] => {
                let close = rest[1..].iter().position(|b| b == quote);
                i += close.map_or(rest.len(), |at| at + 2);
            }
            [b'(', ..] => {
                depth += 1;
                i += 1;
            }
            [b')', ..] => {
                depth = depth.saturating_sub(1);
                i += 1;
            }
            [b, ..] if b.is_ascii_alphanumeric() || *b == b'_' => {
                let len = rest
                    .iter()
                    .position(|b| !(b.is_ascii_alphanumeric() || *b == b'_'))
                    .unwrap_or(rest.len());
                if depth == 0 {
                    words.push(String::from_utf8_lossy(&rest[..len]).to_ascii_uppercase());
                }
                i += len;
            }
            _ => i += 1,
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
            assert_eq!(leading_words(sql, 6), expected, "{sql}");
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
            "SELECT 'a b' , \"c d\", `e` FROM t",
            &["SELECT", "FROM", "T"],
        );
        check("REINDEX (VERBOSE) TABLE t", &["REINDEX", "TABLE", "T"]);
        check("", &[]);
    }
}
