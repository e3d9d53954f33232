//! A target of a run: a database URL and, optionally, the schema (PostgreSQL) or database
//! (MySQL) on that server that tt works in (`--schema`, `--schemas`, `--targets`).

use crate::backend::connect::ConnectOptions;
use crate::backend::database::Database;
use crate::backend::error::ConnectError;
use crate::backend::{Namespace, dialect};
use crate::error::Error;

/// One database, or one schema of a database, that a run works on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// What reports call the target: its name in a targets file, else the schema, else the
    /// URL without its password.
    pub name: String,
    /// The server's URL (may hold a password: never print it).
    pub url: String,
    /// The PostgreSQL schema or MySQL database to work in; `None` keeps the URL's (and
    /// `ConnectOptions::postgres_schema`).
    pub schema: Option<String>,
}

impl Target {
    /// The database `url` names, as it is.
    pub fn new(url: impl Into<String>) -> Self {
        let url = url.into();
        Self {
            name: crate::backend::connect::redact_url(&url),
            url,
            schema: None,
        }
    }

    /// The schema (PostgreSQL) or database (MySQL) `schema` on the server `url` names.
    pub fn in_schema(url: impl Into<String>, schema: impl Into<String>) -> Self {
        let schema = schema.into();
        Self {
            name: schema.clone(),
            url: url.into(),
            schema: Some(schema),
        }
    }

    /// The same target under another name.
    #[must_use]
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Connects to the target: on PostgreSQL the schema becomes the `search_path` (so the
    /// tracking table, the lock, the managed tables and introspection all live in it), on
    /// MySQL the database replaces the URL's. With `create`, a missing schema or database is
    /// created first.
    ///
    /// # Errors
    /// [`ConnectError::NoSchemas`] for a schema on SQLite, [`ConnectError::UnknownSchema`] when the
    /// schema does not exist and `create` is false, or the connection's error.
    pub async fn connect(&self, options: ConnectOptions, create: bool) -> Result<Database, Error> {
        self.connect_knowing_pooler(options, create, None).await
    }

    /// [`Self::connect`], told whether a transaction pooler is in between (see
    /// [`Database::connect_knowing_pooler`]).
    pub(crate) async fn connect_knowing_pooler(
        &self,
        options: ConnectOptions,
        create: bool,
        pooled: Option<bool>,
    ) -> Result<Database, Error> {
        let Some(schema) = &self.schema else {
            return Database::connect_knowing_pooler(&self.url, options, pooled).await;
        };
        let backend = crate::backend::connect::backend_of_url(&self.url)?;
        let dialect = dialect(backend);
        match dialect.namespace() {
            Namespace::None => Err(Error::Connect(ConnectError::NoSchemas { backend })),
            Namespace::Schema => {
                let options = ConnectOptions {
                    postgres_schema: Some(schema.clone()),
                    ..options
                };
                let db = Database::connect_knowing_pooler(&self.url, options, pooled).await?;
                in_schema(db, schema, create).await
            }
            Namespace::Database => {
                if create && let Some(sql) = dialect.create_namespace(schema) {
                    let mut server = Database::connect(&self.url, options.clone()).await?;
                    let created = server.execute(&sql).await;
                    let _ = server.close().await;
                    created.map_err(Error::query(format!("creating database {schema}")))?;
                }
                Database::connect(&url_with_database(&self.url, schema)?, options).await
            }
        }
    }
}

/// Makes `db`, a connection to a server that another target is done with, work in `schema` of
/// it, as a new connection would (see [`Database::reuse_in`]): saves the handshake and the
/// server session's start, and keeps its caches warm. `Ok(None)` hands `db` back closed when
/// it cannot serve `schema`; the caller then connects anew.
///
/// # Errors
/// As [`Target::connect`], for the schema's creation or absence.
pub(crate) async fn reuse(
    mut db: Database,
    schema: &str,
    create: bool,
) -> Result<Option<Database>, Error> {
    match db.reuse_in(schema).await {
        Ok(true) => in_schema(db, schema, create).await.map(Some),
        Ok(false) | Err(_) => {
            let _ = db.close().await;
            Ok(None)
        }
    }
}

/// `db`, connected with `schema` as its `search_path`, once the schema exists: with `create`,
/// a missing one is created.
async fn in_schema(mut db: Database, schema: &str, create: bool) -> Result<Database, Error> {
    if create && let Some(sql) = db.dialect().create_namespace(schema) {
        db.execute(&sql)
            .await
            .map_err(Error::query(format!("creating schema {schema}")))?;
        // Created after connecting: the home schema is read again, so that tt's tables and
        // lock key are named with it.
        db.refresh_home_schema().await?;
    }
    // None when no schema of the search_path exists.
    if db.home_schema().is_none() {
        let _ = db.close().await;
        return Err(Error::Connect(ConnectError::UnknownSchema {
            schema: schema.to_string(),
        }));
    }
    Ok(db)
}

/// `url` with its path (the database) replaced by `database`.
fn url_with_database(url: &str, database: &str) -> Result<String, Error> {
    let mut parsed = url::Url::parse(url).map_err(|_| {
        Error::Connect(ConnectError::UnsupportedUrl {
            url: crate::backend::connect::redact_url(url),
        })
    })?;
    parsed.set_path(&format!("/{database}"));
    Ok(parsed.into())
}

/// The schemas (PostgreSQL) or databases (MySQL) of the server `db` is connected to that hold
/// user data (not the server's catalogs), sorted.
///
/// # Errors
/// [`ConnectError::NoSchemas`] on SQLite, or the query's error.
pub async fn list_schemas(db: &mut Database) -> Result<Vec<String>, Error> {
    let backend = db.backend();
    let Some(sql) = db.dialect().namespaces_sql() else {
        return Err(Error::Connect(ConnectError::NoSchemas { backend }));
    };
    let rows = db
        .query_text_rows(sql, &[])
        .await
        .map_err(Error::query("listing the schemas"))?;
    Ok(rows
        .into_iter()
        .filter_map(|row| row.into_iter().next().flatten())
        .collect())
}

/// Whether `name` matches the shell-style `pattern`: `*` any run of characters, `?` one
/// character, `[abc]`, `[a-z]` and `[!abc]` one of (or none of) a set; everything else, `_`
/// included, stands for itself.
pub fn glob_matches(pattern: &str, name: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let name: Vec<char> = name.chars().collect();
    matches_from(&pattern, &name)
}

fn matches_from(pattern: &[char], name: &[char]) -> bool {
    match pattern.first() {
        None => name.is_empty(),
        Some('*') => (0..=name.len()).any(|skip| matches_from(&pattern[1..], &name[skip..])),
        Some('?') => !name.is_empty() && matches_from(&pattern[1..], &name[1..]),
        Some('[') => match (class(&pattern[1..]), name.first()) {
            (Some((accepts, rest)), Some(&c)) => accepts(c) && matches_from(rest, &name[1..]),
            // An unclosed `[` stands for itself.
            (None, Some('[')) => matches_from(&pattern[1..], &name[1..]),
            _ => false,
        },
        Some(&c) => name.first() == Some(&c) && matches_from(&pattern[1..], &name[1..]),
    }
}

/// A character class after its `[`: what it accepts and the pattern after its `]`.
#[allow(clippy::type_complexity)]
fn class(pattern: &[char]) -> Option<(Box<dyn Fn(char) -> bool + '_>, &[char])> {
    let (negated, body) = match pattern.first() {
        Some('!' | '^') => (true, &pattern[1..]),
        _ => (false, pattern),
    };
    // A `]` first in the class is a member.
    let end = body.iter().skip(1).position(|&c| c == ']')? + 1;
    let members = &body[..end];
    let rest = &body[end + 1..];
    let accepts = move |c: char| {
        let mut i = 0;
        let mut found = false;
        while i < members.len() {
            if i + 2 < members.len() && members[i + 1] == '-' {
                found |= (members[i]..=members[i + 2]).contains(&c);
                i += 3;
            } else {
                found |= members[i] == c;
                i += 1;
            }
        }
        found != negated
    };
    Some((Box::new(accepts), rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_as_the_shell_would() {
        let yes = [
            ("v_*", "v_001"),
            ("v_*", "v_"),
            ("v18_*", "v18_2"),
            ("t?nant", "tenant"),
            ("v_[0-9][0-9]", "v_42"),
            ("v_[!a]", "v_b"),
            ("*", "public"),
            ("a*b*c", "aXXbYc"),
        ];
        for (pattern, name) in yes {
            assert!(glob_matches(pattern, name), "{pattern} should match {name}");
        }
        let no = [
            ("v_*", "va001"),
            ("v_*", "xv_1"),
            ("v18_*", "v19_1"),
            ("t?nant", "tnant"),
            ("v_[0-9]", "v_a"),
            ("v_[!a]", "v_a"),
            ("public", "publicx"),
        ];
        for (pattern, name) in no {
            assert!(
                !glob_matches(pattern, name),
                "{pattern} should not match {name}"
            );
        }
    }

    #[test]
    fn a_database_replaces_the_url_path() {
        assert_eq!(
            url_with_database("mysql://root@127.0.0.1:3306/app?ssl-mode=DISABLED", "t1").ok(),
            Some("mysql://root@127.0.0.1:3306/t1?ssl-mode=DISABLED".to_string())
        );
        assert_eq!(
            url_with_database("mysql://root@127.0.0.1:3306", "t1").ok(),
            Some("mysql://root@127.0.0.1:3306/t1".to_string())
        );
    }
}
