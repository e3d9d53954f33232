//! The verify report: one result per check, each with a stable id and its problems.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

/// A check of `tt verify`, named by a stable id (`tracking`, `schema`, `data`, `smoke`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckId {
    /// Every applied version has its file, checksums match, nothing dirty, nothing pending.
    Tracking,
    /// The live schema matches the expected one.
    Schema,
    /// No row violates a foreign key.
    Data,
    /// A row can be inserted into each essential table (then rolled back).
    Smoke,
}

impl CheckId {
    /// Every check, in the order verify runs them.
    pub const ALL: [CheckId; 4] = [Self::Tracking, Self::Schema, Self::Data, Self::Smoke];

    /// The stable id (`tracking`, `schema`, `data`, `smoke`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Tracking => "tracking",
            Self::Schema => "schema",
            Self::Data => "data",
            Self::Smoke => "smoke",
        }
    }
}

impl fmt::Display for CheckId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A check id that is not one of `tracking`, `schema`, `data`, `smoke`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown check `{0}` (expected tracking, schema, data or smoke)")]
pub struct UnknownCheck(pub String);

impl FromStr for CheckId {
    type Err = UnknownCheck;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|id| id.as_str() == text.trim().to_ascii_lowercase())
            .ok_or_else(|| UnknownCheck(text.to_string()))
    }
}

/// What verify found: every check that ran, and whether all of them passed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Whether every check passed.
    pub ok: bool,
    /// The checks that ran, in [`CheckId::ALL`] order.
    pub checks: Vec<CheckReport>,
}

impl Report {
    /// A report of these checks; `ok` when all of them are.
    pub fn new(mut checks: Vec<CheckReport>) -> Self {
        checks.sort_by_key(|c| c.id);
        Self {
            ok: checks.iter().all(|c| c.ok),
            checks,
        }
    }

    /// The result of one check, if it ran.
    pub fn check(&self, id: CheckId) -> Option<&CheckReport> {
        self.checks.iter().find(|c| c.id == id)
    }
}

/// The result of one check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckReport {
    /// Which check.
    pub id: CheckId,
    /// Whether it passed (no problems).
    pub ok: bool,
    /// One line saying what was checked (`5 tables match`, `no essential tables configured`).
    pub summary: String,
    /// What is wrong, one entry per object.
    pub problems: Vec<Problem>,
}

impl CheckReport {
    /// A check result that passed when `problems` is empty.
    pub fn new(id: CheckId, summary: impl Into<String>, problems: Vec<Problem>) -> Self {
        Self {
            id,
            ok: problems.is_empty(),
            summary: summary.into(),
            problems,
        }
    }
}

/// One thing a check found wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// A stable snake_case name of the kind of problem (`pending`, `missing_index`,
    /// `orphan_rows`, `insert_failed`, …; docs/verify.md lists them).
    pub kind: &'static str,
    /// The table concerned, if any.
    pub table: Option<String>,
    /// The object concerned within the table or run: a column, index, constraint, foreign
    /// key or migration version.
    pub object: Option<String>,
    /// A readable sentence naming the object.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_ids_parse_and_print_stably() {
        for id in CheckId::ALL {
            assert_eq!(id.as_str().parse::<CheckId>(), Ok(id));
            assert_eq!(
                serde_json::to_string(&id).unwrap(),
                format!("\"{}\"", id.as_str())
            );
        }
        assert_eq!("Schema".parse::<CheckId>(), Ok(CheckId::Schema));
        assert_eq!(
            "fks".parse::<CheckId>().unwrap_err().to_string(),
            "unknown check `fks` (expected tracking, schema, data or smoke)"
        );
    }

    #[test]
    fn a_report_is_ok_only_when_every_check_is() {
        let problem = Problem {
            kind: "pending",
            table: None,
            object: Some("002".into()),
            message: "migration 002 (x) is pending".into(),
        };
        let report = Report::new(vec![
            CheckReport::new(CheckId::Schema, "1 table matches", Vec::new()),
            CheckReport::new(CheckId::Tracking, "1 applied", vec![problem]),
        ]);
        assert!(!report.ok);
        assert_eq!(report.checks[0].id, CheckId::Tracking, "sorted by id");
        assert!(report.check(CheckId::Schema).unwrap().ok);
        assert!(report.check(CheckId::Data).is_none());
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["ok"], false);
        assert_eq!(json["checks"][0]["id"], "tracking");
        assert_eq!(json["checks"][0]["problems"][0]["kind"], "pending");
        assert_eq!(json["checks"][0]["problems"][0]["object"], "002");
    }
}
