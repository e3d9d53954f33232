//! The four checks as pure functions: values read by tt-migrate in, a [`CheckReport`] out.

use tt_migrate::Status;

use crate::orphans::OrphanRows;
use crate::smoke::SmokeInsert;
use tt_schema::{Schema, diff};

use crate::report::{CheckId, CheckReport, Problem};

/// `tracking`: every applied version has its file, checksums match, nothing is dirty, nothing
/// is pending.
pub fn tracking_check(status: &Status) -> CheckReport {
    let mut problems = Vec::new();
    let version = |v: &str| Some(v.to_string());
    for p in &status.pending {
        let order = if status.out_of_order.contains(&p.version) {
            " (older than the latest applied one)"
        } else {
            ""
        };
        problems.push(Problem {
            kind: "pending",
            table: None,
            object: version(p.version.as_str()),
            message: format!(
                "migration {} ({}) is pending{order}; run `tt migrate`",
                p.version, p.name
            ),
        });
    }
    for c in &status.changed {
        problems.push(Problem {
            kind: "changed",
            table: None,
            object: version(c.version.as_str()),
            message: format!(
                "migration {} ({}) was edited after it ran: {} has checksum {}, {} was recorded",
                c.version,
                c.name,
                c.path.display(),
                short(&c.actual),
                short(&c.recorded)
            ),
        });
    }
    for row in &status.missing {
        problems.push(Problem {
            kind: "missing_file",
            table: None,
            object: version(&row.version),
            message: format!(
                "migration {}{} is applied but has no file",
                row.version,
                name(row.name.as_deref())
            ),
        });
    }
    for row in &status.dirty {
        problems.push(Problem {
            kind: "dirty",
            table: None,
            object: version(&row.version),
            message: format!(
                "migration {}{} is marked dirty: a run failed part-way through it; fix the \
                 database, then run `tt repair`",
                row.version,
                name(row.name.as_deref())
            ),
        });
    }
    if let Some(stopped) = &status.stopped_drop {
        let at = stopped
            .started_at
            .as_ref()
            .map(|at| format!(" (started {at})"))
            .unwrap_or_default();
        problems.push(Problem {
            kind: "drop_stopped",
            table: None,
            object: None,
            message: format!(
                "a drop of the managed tables stopped part-way{at}: some of them may be gone \
                 while their migrations are still recorded; run `tt drop` to finish the drop \
                 (or `tt reset` to drop and apply every migration again)"
            ),
        });
    }
    let summary = format!(
        "{} applied, {} pending",
        status.applied.len(),
        status.pending.len()
    );
    CheckReport::new(CheckId::Tracking, summary, problems)
}

/// `schema`: the live schema against the expected one, both without the tracking table.
///
/// Every difference [`tt_schema::diff`] reports is a problem, except comments, which are
/// cosmetic; the problem's kind is the difference's kind (`missing_index`, `column_type`, …).
pub fn schema_check(expected: &Schema, live: &Schema) -> CheckReport {
    let problems: Vec<Problem> = diff(expected, live)
        .into_iter()
        .filter(|d| !d.is_cosmetic())
        .map(|d| Problem {
            kind: d.kind_name(),
            table: Some(d.table.clone()),
            object: d.object(),
            message: d.to_string(),
        })
        .collect();
    let summary = if problems.is_empty() {
        format!("{} table(s) match the expected schema", expected.len())
    } else {
        format!(
            "{} difference(s) from the expected schema of {} table(s)",
            problems.len(),
            expected.len()
        )
    };
    CheckReport::new(CheckId::Schema, summary, problems)
}

/// `data`: rows that violate a foreign key, one problem per violated key.
pub fn data_check(orphans: &[OrphanRows], foreign_keys: usize) -> CheckReport {
    let problems = orphans
        .iter()
        .map(|o| {
            let examples = if o.examples.is_empty() {
                String::new()
            } else {
                format!(" (e.g. {})", o.examples.join(", "))
            };
            Problem {
                kind: "orphan_rows",
                table: Some(o.table.clone()),
                object: Some(o.foreign_key.clone()),
                message: format!(
                    "{}({}): {} row(s) reference missing {}({}){examples}, foreign key {}",
                    o.table,
                    o.columns.join(", "),
                    o.rows,
                    o.ref_table,
                    o.ref_columns.join(", "),
                    o.foreign_key
                ),
            }
        })
        .collect();
    let summary = format!("{foreign_keys} foreign key(s) checked");
    CheckReport::new(CheckId::Data, summary, problems)
}

/// `smoke`: the outcome of inserting a row into each essential table.
pub fn smoke_check(inserts: &[SmokeInsert]) -> CheckReport {
    let problems: Vec<Problem> = inserts
        .iter()
        .filter_map(|insert| {
            let failure = insert.failure.as_ref()?;
            Some(match &failure.statement {
                Some(statement) => Problem {
                    kind: "insert_failed",
                    table: Some(insert.table.clone()),
                    object: None,
                    message: format!(
                        "{}: a generated row was rejected: {} (statement: {statement})",
                        insert.table, failure.message
                    ),
                },
                None => Problem {
                    kind: "missing_table",
                    table: Some(insert.table.clone()),
                    object: None,
                    message: format!(
                        "{}: essential table does not exist ({})",
                        insert.table, failure.message
                    ),
                },
            })
        })
        .collect();
    let summary = if inserts.is_empty() {
        "no essential tables configured (essential_tables in tt.toml)".to_string()
    } else {
        format!(
            "{} essential table(s) tried, every insert rolled back",
            inserts.len()
        )
    };
    CheckReport::new(CheckId::Smoke, summary, problems)
}

fn short(checksum: &str) -> &str {
    checksum.get(..12).unwrap_or(checksum)
}

fn name(name: Option<&str>) -> String {
    name.map(|n| format!(" ({n})")).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smoke::SmokeFailure;
    use tt_migrate::{AppliedRow, PendingEntry, Version};

    fn row(version: &str, dirty: bool) -> AppliedRow {
        AppliedRow {
            version: version.into(),
            name: Some("tags".into()),
            applied_at: None,
            checksum: None,
            execution_ms: None,
            dirty,
        }
    }

    fn messages(report: &CheckReport) -> Vec<String> {
        report
            .problems
            .iter()
            .map(|p| format!("{}: {}", p.kind, p.message))
            .collect()
    }

    #[test]
    fn tracking_names_each_version() {
        let status = Status {
            pending: vec![PendingEntry {
                version: Version::new("004").unwrap(),
                name: "more".into(),
            }],
            missing: vec![row("009", false)],
            dirty: vec![row("003", true)],
            ..Status::default()
        };
        let report = tracking_check(&status);
        assert!(!report.ok);
        assert_eq!(
            messages(&report),
            [
                "pending: migration 004 (more) is pending; run `tt migrate`",
                "missing_file: migration 009 (tags) is applied but has no file",
                "dirty: migration 003 (tags) is marked dirty: a run failed part-way through it; fix the database, then run `tt repair`",
            ]
        );
        assert!(tracking_check(&Status::default()).ok);
    }

    #[test]
    fn schema_problems_name_the_object_and_ignore_comments() {
        let expected = tt_schema::parse_definitions(
            "e.toml",
            r#"
            [tables.items]
            comment = "all items"
            columns = [{ name = "id", type = "integer", primary_key = true },
                       { name = "name", type = "varchar(10)" }]
            indexes = [{ name = "idx_items_name", columns = ["name"] }]
            "#,
        )
        .unwrap();
        let mut live = expected.clone();
        let items = live.table_mut("items").unwrap();
        items.comment = None;
        assert!(schema_check(&expected, &live).ok, "a comment is cosmetic");
        let items = live.table_mut("items").unwrap();
        items.indexes.clear();
        items.columns[1].ty = tt_schema::ColumnType::Text;
        let report = schema_check(&expected, &live);
        assert_eq!(
            messages(&report),
            [
                "column_type: items.name: type varchar(10) expected, text found",
                "missing_index: items: missing index idx_items_name (name)",
            ]
        );
        assert_eq!(report.problems[1].object.as_deref(), Some("idx_items_name"));
    }

    #[test]
    fn data_and_smoke_problems_name_table_and_key() {
        let orphans = OrphanRows {
            table: "tags".into(),
            foreign_key: "fk_tags_item".into(),
            columns: vec!["item_id".into()],
            ref_table: "items".into(),
            ref_columns: vec!["id".into()],
            rows: 2,
            examples: vec!["98".into(), "99".into()],
        };
        assert_eq!(
            messages(&data_check(&[orphans], 3)),
            [
                "orphan_rows: tags(item_id): 2 row(s) reference missing items(id) (e.g. 98, 99), foreign key fk_tags_item"
            ]
        );
        assert!(data_check(&[], 3).ok);
        let inserts = [
            SmokeInsert {
                table: "items".into(),
                statements: vec![],
                failure: Some(SmokeFailure {
                    statement: Some("INSERT INTO items DEFAULT VALUES".into()),
                    message: "null value in column \"name\"".into(),
                }),
            },
            SmokeInsert {
                table: "gone".into(),
                statements: vec![],
                failure: Some(SmokeFailure {
                    statement: None,
                    message: "table `gone` does not exist".into(),
                }),
            },
        ];
        assert_eq!(
            messages(&smoke_check(&inserts)),
            [
                "insert_failed: items: a generated row was rejected: null value in column \"name\" (statement: INSERT INTO items DEFAULT VALUES)",
                "missing_table: gone: essential table does not exist (table `gone` does not exist)",
            ]
        );
        assert_eq!(
            smoke_check(&[]).summary,
            "no essential tables configured (essential_tables in tt.toml)"
        );
    }
}
