//! The `?` → `$1`, `$2`, … rewrite PostgreSQL needs for tt's own queries, built on [`tokens`].

use tt_schema::Backend;

use super::tokens::{Kind, tokens};

/// `sql` with each `?` outside quotes, dollar quotes and comments replaced by `$1`, `$2`, …
pub(crate) fn numbered_placeholders(sql: &str) -> String {
    replace_placeholders(sql, |n| format!("${n}"))
}

/// `sql` with the `n`th `?` outside quotes, dollar quotes and comments (from 1) replaced by
/// `value(n)`.
pub(crate) fn replace_placeholders(sql: &str, mut value: impl FnMut(usize) -> String) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut n = 0;
    for token in tokens(sql, Backend::Postgres) {
        if token.kind == Kind::Punct && token.text == "?" {
            n += 1;
            out.push_str(&value(n));
        } else {
            out.push_str(token.text);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use tt_schema::Backend;

    use super::numbered_placeholders;
    use crate::files::split::tokens::tests::{Fragment, fragments, join};

    #[track_caller]
    fn check(sql: &str, expected: &str) {
        assert_eq!(numbered_placeholders(sql), expected);
    }

    #[test]
    fn placeholders_are_numbered_outside_quotes_and_comments() {
        check("SELECT ?", "SELECT $1");
        check(
            "INSERT INTO t VALUES (?, ?, ?)",
            "INSERT INTO t VALUES ($1, $2, $3)",
        );
        check("SELECT 'why?', ?", "SELECT 'why?', $1");
        check("SELECT 'it''s?', ?", "SELECT 'it''s?', $1");
        check(
            r#"SELECT "odd?name" FROM t WHERE a = ?"#,
            r#"SELECT "odd?name" FROM t WHERE a = $1"#,
        );
        check("SELECT ? -- really?\n, ?", "SELECT $1 -- really?\n, $2");
        check("SELECT ? /*/ b? */, ?", "SELECT $1 /*/ b? */, $2");
        check("SELECT 'unterminated ?", "SELECT 'unterminated ?");
        check("SELECT 1 - ?", "SELECT 1 - $1");
        check("SELECT 4 / ?", "SELECT 4 / $1");
    }

    #[test]
    fn question_mark_in_a_dollar_quote_is_not_a_placeholder() {
        check("SELECT $$why?$$, ?", "SELECT $$why?$$, $1");
        check("SELECT $q$why?$q$, ?", "SELECT $q$why?$q$, $1");
    }

    #[test]
    fn question_mark_after_an_escaped_quote_in_an_e_string_is_not_a_placeholder() {
        check(r"SELECT E'it\'s?', ?", r"SELECT E'it\'s?', $1");
    }

    #[test]
    fn question_mark_after_a_nested_comment_closes_is_not_a_placeholder() {
        check(
            "SELECT /* a /* b */ c? */ ?",
            "SELECT /* a /* b */ c? */ $1",
        );
    }

    proptest! {
        #[test]
        fn the_rewrite_changes_only_question_marks_outside_quoted_constructs(
            fragments in fragments(Backend::Postgres),
        ) {
            let mut n = 0;
            let expected: Vec<Fragment> = fragments
                .iter()
                .map(|f| match f {
                    Fragment::Code(code) => Fragment::Code(
                        code.chars()
                            .map(|c| match c {
                                '?' => {
                                    n += 1;
                                    format!("${n}")
                                }
                                c => c.to_string(),
                            })
                            .collect(),
                    ),
                    quoted => quoted.clone(),
                })
                .collect();
            prop_assert_eq!(numbered_placeholders(&join(&fragments)), join(&expected));
        }
    }
}
