//! The database backends tt renders for and runs against.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A database backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// PostgreSQL 12 or later.
    Postgres,
    /// MySQL 8 or MariaDB 10.6 or later.
    Mysql,
    /// SQLite 3.35 or later.
    Sqlite,
}

impl Backend {
    /// Every backend, in a fixed order.
    pub const ALL: [Backend; 3] = [Backend::Postgres, Backend::Mysql, Backend::Sqlite];

    /// The lowercase name used in file names (`001_x.postgres.sql`) and output.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Postgres => "postgres",
            Self::Mysql => "mysql",
            Self::Sqlite => "sqlite",
        }
    }

    /// `name` as a quoted identifier of this backend (`"a""b"`, or `` `a``b` `` on MySQL).
    pub fn quote_ident(self, name: &str) -> String {
        let quote = match self {
            Self::Mysql => '`',
            Self::Postgres | Self::Sqlite => '"',
        };
        let mut out = String::with_capacity(name.len() + 2);
        out.push(quote);
        for ch in name.chars() {
            if ch == quote {
                out.push(quote);
            }
            out.push(ch);
        }
        out.push(quote);
        out
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A backend name that is not one of `postgres`, `mysql`, `sqlite`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown backend `{0}` (expected postgres, mysql or sqlite)")]
pub struct UnknownBackend(pub String);

impl FromStr for Backend {
    type Err = UnknownBackend;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.to_ascii_lowercase().as_str() {
            "postgres" | "postgresql" | "pg" => Ok(Self::Postgres),
            "mysql" | "mariadb" => Ok(Self::Mysql),
            "sqlite" | "sqlite3" => Ok(Self::Sqlite),
            _ => Err(UnknownBackend(text.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_quoted_per_backend() {
        assert_eq!(
            Backend::Postgres.quote_ident(r#"odd "name"; drop"#),
            r#""odd ""name""; drop""#
        );
        assert_eq!(Backend::Sqlite.quote_ident("items"), r#""items""#);
        assert_eq!(Backend::Mysql.quote_ident("a`b"), "`a``b`");
    }

    #[test]
    fn backend_names_parse() {
        for backend in Backend::ALL {
            assert_eq!(backend.as_str().parse::<Backend>(), Ok(backend));
        }
        assert_eq!("MariaDB".parse::<Backend>(), Ok(Backend::Mysql));
        assert_eq!(
            "oracle".parse::<Backend>().unwrap_err().to_string(),
            "unknown backend `oracle` (expected postgres, mysql or sqlite)"
        );
    }
}
