//! The rich schema: every portable type and every kind of key, index and foreign key.

use tt_schema::{
    Check, Column, DefaultValue, Deferrable, FkAction, ForeignKey, Index, IndexPart, PrimaryKey,
    Schema, Table, Unique,
};

/// The awkward table name: quotes, a semicolon and SQL words must all stay inside the name.
pub(crate) const ODD_TABLE: &str = "odd \"name\"; drop";
/// A string default and comment that need escaping on every backend.
pub(crate) const MOTTO: &str = "it's \\ \"fine\"";

fn column(name: &str, ty: &str) -> Column {
    Column::new(name, ty.parse().expect("type parses"))
}

fn required(name: &str, ty: &str) -> Column {
    Column {
        nullable: false,
        ..column(name, ty)
    }
}

fn defaulted(column: Column, default: DefaultValue) -> Column {
    Column {
        default: Some(default),
        ..column
    }
}

fn commented(column: Column, comment: &str) -> Column {
    Column {
        comment: Some(comment.to_string()),
        ..column
    }
}

fn names(names: &[&str]) -> Vec<String> {
    names.iter().map(|n| n.to_string()).collect()
}

fn pk(columns: &[&str]) -> Option<PrimaryKey> {
    Some(PrimaryKey {
        columns: names(columns),
    })
}

fn fk(name: &str, columns: &[&str], ref_table: &str, ref_columns: &[&str]) -> ForeignKey {
    ForeignKey {
        name: name.to_string(),
        columns: names(columns),
        ref_table: ref_table.to_string(),
        ref_columns: names(ref_columns),
        on_delete: FkAction::NoAction,
        on_update: FkAction::NoAction,
        deferrable: Deferrable::No,
    }
}

fn index(name: &str, parts: Vec<IndexPart>) -> Index {
    Index {
        name: name.to_string(),
        parts,
        unique: false,
        method: None,
        predicate: None,
    }
}

fn on(column: &str) -> IndexPart {
    IndexPart::Column(column.to_string())
}

/// The schema every golden file and the execution test render.
pub(crate) fn schema() -> Schema {
    let attack_defense = Table {
        columns: vec![
            required("id", "serial"),
            required("name", "varchar(64)"),
            defaulted(column("data", "jsonb"), DefaultValue::String("{}".into())),
        ],
        primary_key: pk(&["id"]),
        uniques: vec![Unique {
            name: None,
            columns: names(&["name"]),
        }],
        comment: Some("Attack and defense modifiers".into()),
        ..Table::new("attack_defense")
    };

    let items = Table {
        columns: vec![
            required("id", "serial"),
            commented(required("name", "varchar(128)"), "Display name"),
            column("description", "text"),
            column("atkdef_id", "integer"),
            column("parent_id", "integer"),
            defaulted(
                column("price", "decimal(10,2)"),
                DefaultValue::Number("0".into()),
            ),
            column("precise", "decimal"),
            column("weight", "real"),
            column("ratio", "double"),
            defaulted(
                required("quantity", "smallint"),
                DefaultValue::Number("1".into()),
            ),
            column("big", "bigint"),
            defaulted(required("active", "boolean"), DefaultValue::Bool(true)),
            defaulted(
                required("created_at", "timestamptz"),
                DefaultValue::CurrentTimestamp,
            ),
            column("updated", "timestamp"),
            column("day", "date"),
            column("at_time", "time"),
            column("uuid", "uuid"),
            column("blob", "bytes"),
            column("tags", "text[]"),
            column("scores", "integer[]"),
            column("meta", "json"),
            column("props", "jsonb"),
            column("code", "char(3)"),
            column("slug", "varchar"),
            defaulted(
                column("label", "varchar(16)"),
                DefaultValue::Expression("lower('NEW')".into()),
            ),
            column("colour", "custom(VARCHAR(7))"),
        ],
        primary_key: pk(&["id"]),
        uniques: vec![Unique {
            name: Some("uq_items_code".into()),
            columns: names(&["code"]),
        }],
        checks: vec![Check {
            name: Some("ck_items_quantity".into()),
            expression: "quantity >= 0".into(),
        }],
        indexes: vec![
            index("idx_items_name", vec![on("name")]),
            Index {
                method: Some("gin".into()),
                ..index("idx_items_props", vec![on("props")])
            },
            index(
                "idx_items_search",
                vec![IndexPart::Expression("to_tsvector('english', name)".into())],
            ),
            Index {
                predicate: Some("active".into()),
                ..index("idx_items_active_day", vec![on("day"), on("id")])
            },
            index("idx_items_description", vec![on("description")]),
        ],
        foreign_keys: vec![
            ForeignKey {
                on_delete: FkAction::SetNull,
                ..fk("fk_items_atkdef", &["atkdef_id"], "attack_defense", &["id"])
            },
            ForeignKey {
                on_delete: FkAction::Cascade,
                ..fk("fk_items_parent", &["parent_id"], "items", &["id"])
            },
        ],
        comment: Some("Main items table".into()),
        ..Table::new("items")
    };

    let item_stats = Table {
        columns: vec![
            required("item_id", "integer"),
            required("stat", "smallint"),
            defaulted(
                required("value", "integer"),
                DefaultValue::Number("-1".into()),
            ),
        ],
        primary_key: pk(&["item_id", "stat"]),
        foreign_keys: vec![ForeignKey {
            on_delete: FkAction::Cascade,
            ..fk("fk_item_stats_item", &["item_id"], "items", &["id"])
        }],
        ..Table::new("item_stats")
    };

    let stat_notes = Table {
        columns: vec![
            required("id", "bigserial"),
            required("item_id", "integer"),
            required("stat", "smallint"),
            column("note", "text"),
        ],
        primary_key: pk(&["id"]),
        foreign_keys: vec![ForeignKey {
            on_delete: FkAction::Cascade,
            on_update: FkAction::Cascade,
            ..fk(
                "fk_stat_notes_stat",
                &["item_id", "stat"],
                "item_stats",
                &["item_id", "stat"],
            )
        }],
        ..Table::new("stat_notes")
    };

    // A cycle: a player's favourite set, and the player owning each set.
    let players = Table {
        columns: vec![
            required("id", "serial"),
            required("name", "varchar(40)"),
            column("favorite_set_id", "integer"),
        ],
        primary_key: pk(&["id"]),
        foreign_keys: vec![ForeignKey {
            on_delete: FkAction::SetNull,
            deferrable: Deferrable::InitiallyDeferred,
            ..fk(
                "fk_players_favorite",
                &["favorite_set_id"],
                "item_sets",
                &["id"],
            )
        }],
        ..Table::new("players")
    };
    let item_sets = Table {
        columns: vec![required("id", "serial"), required("owner_id", "integer")],
        primary_key: pk(&["id"]),
        foreign_keys: vec![ForeignKey {
            on_delete: FkAction::Cascade,
            deferrable: Deferrable::InitiallyImmediate,
            ..fk("fk_item_sets_owner", &["owner_id"], "players", &["id"])
        }],
        ..Table::new("item_sets")
    };

    let odd = Table {
        columns: vec![
            required("select", "integer"),
            commented(column("from", "integer"), MOTTO),
            column("a`b", "varchar(10)"),
            defaulted(
                column("motto", "varchar(40)"),
                DefaultValue::String(MOTTO.into()),
            ),
        ],
        primary_key: pk(&["select"]),
        uniques: vec![Unique {
            name: Some("uq \"odd\" `a`".into()),
            columns: names(&["a`b"]),
        }],
        checks: vec![Check {
            name: Some("ck \"odd\"".into()),
            expression: "length(motto) > 0".into(),
        }],
        indexes: vec![index("idx \"odd\"; `from`", vec![on("from"), on("select")])],
        foreign_keys: vec![fk("fk \"odd\" items", &["from"], "items", &["id"])],
        comment: Some(MOTTO.into()),
        ..Table::new(ODD_TABLE)
    };

    Schema::from_tables([
        attack_defense,
        items,
        item_stats,
        stat_notes,
        players,
        item_sets,
        odd,
    ])
}

/// A simple create order standing in for the FK graph: repeatedly the first table (by name)
/// whose referenced tables all exist, or the first remaining one when a cycle blocks them all.
/// A foreign key whose target does not exist yet when its table is created (a self-reference,
/// or the key closing a cycle) is deferred: the returned pairs are (table, foreign key name).
pub(crate) fn create_order(schema: &Schema) -> (Vec<String>, Vec<(String, String)>) {
    let mut remaining: Vec<&Table> = schema.tables().collect();
    let mut order: Vec<String> = Vec::new();
    let mut deferred = Vec::new();
    while !remaining.is_empty() {
        let ready = remaining.iter().position(|table| {
            table.foreign_keys.iter().all(|fk| {
                fk.ref_table == table.name
                    || !schema.contains(&fk.ref_table)
                    || order.contains(&fk.ref_table)
            })
        });
        let table = remaining.remove(ready.unwrap_or(0));
        for fk in &table.foreign_keys {
            if !order.contains(&fk.ref_table) {
                deferred.push((table.name.clone(), fk.name.clone()));
            }
        }
        order.push(table.name.clone());
    }
    (order, deferred)
}
