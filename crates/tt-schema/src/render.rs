//! DDL rendering of the model for each backend with sea-query.
//!
//! Every function returns SQL statements without a trailing semicolon. Identifiers are quoted
//! by sea-query; expressions the model keeps as written (checks, expression defaults,
//! expression indexes, partial index predicates) are rendered verbatim. What each backend can
//! and cannot express, and how portable types map, is written down in docs/ddl-rendering.md;
//! the type table itself lives in `mapping`, shared with [`as_stored`].

mod mapping;
mod stored;

pub use stored::as_stored;

use sea_query::{
    Alias, ColumnDef, ConditionalStatement, Expr, ForeignKeyAction, IndexType, IntoIden, Keyword,
    MysqlQueryBuilder, PostgresQueryBuilder, QueryBuilder, QuotedBuilder, SchemaStatementBuilder,
    SqliteQueryBuilder, TableCreateStatement, Value,
};

use crate::graph::FkGraph;
use crate::{
    Backend, Check, Column, ColumnType, DefaultValue, Deferrable, FkAction, ForeignKey, Index,
    IndexPart, Schema, Table, Unique,
};
use mapping::{Class, Native};

/// Why a schema object cannot be rendered for a backend.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RenderError {
    /// A table named in a create or drop order is not in the schema.
    #[error("table `{table}` is in the order but not in the schema")]
    UnknownTable {
        /// The missing table.
        table: String,
    },
    /// A key, constraint or index names a column its table does not have.
    #[error("{used_by} of table `{table}` names column `{column}`, which the table does not have")]
    UnknownColumn {
        /// The table.
        table: String,
        /// The missing column.
        column: String,
        /// What names it (`the primary key`, `index \`idx\``).
        used_by: String,
    },
    /// A table without columns (no backend renders one).
    #[error("table `{table}` has no columns")]
    NoColumns {
        /// The table.
        table: String,
    },
    /// An index without columns or expressions.
    #[error("index `{index}` of table `{table}` has nothing to index")]
    EmptyIndex {
        /// The table.
        table: String,
        /// The index.
        index: String,
    },
    /// A column whose backend type cannot be part of a key there (MySQL `LONGTEXT`, `JSON`).
    #[error(
        "{backend} cannot use column `{table}.{column}` ({ty} is stored as {native}) in \
         {used_by}; give the column a bounded type such as varchar(255)"
    )]
    Unindexable {
        /// The backend.
        backend: Backend,
        /// The table.
        table: String,
        /// The column.
        column: String,
        /// Its portable type.
        ty: ColumnType,
        /// Its type on the backend.
        native: String,
        /// The key that needs it (`the primary key`, `unique constraint \`u\``).
        used_by: String,
    },
    /// Something the backend cannot express at all.
    #[error("{backend} does not support {what} (table `{table}`): {reason}")]
    Unsupported {
        /// The backend.
        backend: Backend,
        /// The table.
        table: String,
        /// What was asked for (`ON DELETE SET DEFAULT in foreign key \`fk\``).
        what: String,
        /// Why, and what to do instead.
        reason: &'static str,
    },
    /// A change SQLite can only make by rebuilding the table, which this renderer does not do.
    #[error(
        "sqlite cannot {change} on table `{table}` in place; it needs a table rebuild \
         (create a new table, copy the rows, drop the old one), which tt does not generate"
    )]
    NeedsRebuild {
        /// The table.
        table: String,
        /// The change (`add foreign key \`fk\``, `change the type of column \`c\``).
        change: String,
    },
    /// An index method that is not a plain lowercase name such as `gin`.
    #[error("index `{index}` of table `{table}` has method `{method}`, which is not a plain name")]
    InvalidIndexMethod {
        /// The table.
        table: String,
        /// The index.
        index: String,
        /// The method as written.
        method: String,
    },
    /// A numeric default that is not a number literal.
    #[error("default of column `{table}.{column}` is `{value}`, which is not a number")]
    InvalidNumber {
        /// The table.
        table: String,
        /// The column.
        column: String,
        /// The default as written.
        value: String,
    },
}

/// The statements that create `table`: CREATE TABLE with columns, keys, checks and the
/// foreign keys `inline_fk` accepts, then (PostgreSQL) its comments, then its indexes.
///
/// On SQLite every foreign key is inline whatever `inline_fk` says, because SQLite cannot add
/// one later (and does not check the referenced table exists at CREATE time). On PostgreSQL a
/// deferrable inline foreign key follows the CREATE TABLE as an ALTER TABLE, because
/// sea-query's inline clause has no DEFERRABLE. Indexes a backend cannot build are left out
/// as [`create_index`] describes.
///
/// # Errors
/// A column, key or index the backend cannot express ([`RenderError`] names it).
pub fn create_table(
    table: &Table,
    backend: Backend,
    inline_fk: impl Fn(&ForeignKey) -> bool,
) -> Result<Vec<String>, RenderError> {
    let mut statements = table_without_indexes(table, backend, inline_fk)?;
    for index in indexes(table, backend)? {
        statements.push(index.sql);
    }
    Ok(statements)
}

/// [`create_table`] but for the indexes: CREATE TABLE, the foreign keys that follow it, the
/// comments.
fn table_without_indexes(
    table: &Table,
    backend: Backend,
    inline_fk: impl Fn(&ForeignKey) -> bool,
) -> Result<Vec<String>, RenderError> {
    if table.columns.is_empty() {
        return Err(RenderError::NoColumns {
            table: table.name.clone(),
        });
    }
    let mut create = TableCreateStatement::new();
    create.table(Alias::new(&table.name));
    // On SQLite an auto-incrementing key is declared on its column (`INTEGER PRIMARY KEY
    // AUTOINCREMENT`), never as a table constraint.
    let mut key_on_column = false;
    for column in &table.columns {
        let native = mapping::column_native(table, column, backend);
        let mut def = column_def(table, column, &native, backend)?;
        if native.auto_increment && backend == Backend::Sqlite {
            def.primary_key();
            key_on_column = true;
        }
        create.col(def);
    }
    if let Some(pk) = &table.primary_key
        && !key_on_column
    {
        check_key_columns(table, &pk.columns, "the primary key", backend)?;
        let mut index = sea_query::Index::create();
        for column in &pk.columns {
            index.col(Alias::new(column));
        }
        create.primary_key(&mut index);
    }
    for unique in &table.uniques {
        check_key_columns(table, &unique.columns, &unique_label(unique), backend)?;
        let mut index = sea_query::Index::create();
        index.unique();
        if let Some(name) = &unique.name {
            index.name(raw_name(name, backend));
        }
        for column in &unique.columns {
            index.col(Alias::new(column));
        }
        create.index(&mut index);
    }
    let mut after = Vec::new();
    for fk in &table.foreign_keys {
        if backend != Backend::Sqlite && !inline_fk(fk) {
            continue;
        }
        if backend == Backend::Postgres && fk.deferrable != Deferrable::No {
            after.push(add_foreign_key(table, fk, backend)?);
            continue;
        }
        create.foreign_key(&mut foreign_key_statement(table, fk, backend)?);
    }
    for check in &table.checks {
        let expr = Expr::cust(check.expression.clone());
        match &check.name {
            Some(name) => create.check((Alias::new(name), expr)),
            None => create.check(expr),
        };
    }
    if backend == Backend::Mysql {
        if let Some(comment) = &table.comment {
            create.comment(comment);
        }
        // Explicit, because foreign keys need InnoDB and MariaDB before 11.6 defaults to latin1.
        create.engine("InnoDB").character_set("utf8mb4");
    }
    let mut statements = vec![build(&create, backend)];
    statements.append(&mut after);
    statements.extend(postgres_comments(table, backend));
    Ok(statements)
}

/// The `CREATE INDEX` statements of `table` the backend builds, in the table's order.
fn indexes(table: &Table, backend: Backend) -> Result<Vec<IndexDdl>, RenderError> {
    let mut out = Vec::new();
    for index in &table.indexes {
        if let Some(sql) = create_index(table, index, backend)? {
            out.push(IndexDdl {
                table: table.name.clone(),
                index: index.name.clone(),
                sql,
            });
        }
    }
    Ok(out)
}

/// `ALTER TABLE … ADD CONSTRAINT … FOREIGN KEY …` with its actions (and DEFERRABLE on
/// PostgreSQL).
///
/// # Errors
/// [`RenderError::NeedsRebuild`] on SQLite, which cannot add a foreign key to a table;
/// [`RenderError::Unsupported`] for `SET DEFAULT` on MySQL; unknown or unindexable columns.
pub fn add_foreign_key(
    table: &Table,
    fk: &ForeignKey,
    backend: Backend,
) -> Result<String, RenderError> {
    if backend == Backend::Sqlite {
        return Err(needs_rebuild(
            table,
            format!("add foreign key `{}`", fk.name),
        ));
    }
    let mut sql = build(&foreign_key_statement(table, fk, backend)?, backend);
    if backend == Backend::Postgres {
        sql.push_str(match fk.deferrable {
            Deferrable::No => "",
            Deferrable::InitiallyImmediate => " DEFERRABLE INITIALLY IMMEDIATE",
            Deferrable::InitiallyDeferred => " DEFERRABLE INITIALLY DEFERRED",
        });
    }
    Ok(sql)
}

/// `ALTER TABLE … DROP CONSTRAINT` (PostgreSQL) or `DROP FOREIGN KEY` (MySQL).
///
/// # Errors
/// [`RenderError::NeedsRebuild`] on SQLite, which cannot drop a foreign key from a table.
pub fn drop_foreign_key(
    table: &Table,
    fk: &ForeignKey,
    backend: Backend,
) -> Result<String, RenderError> {
    if backend == Backend::Sqlite {
        return Err(needs_rebuild(
            table,
            format!("drop foreign key `{}`", fk.name),
        ));
    }
    Ok(drop_foreign_key_in(None, table, fk, backend))
}

/// [`drop_foreign_key`] of a table named in schema `qualifier`, if any (PostgreSQL and MySQL).
fn drop_foreign_key_in(
    qualifier: Option<&str>,
    table: &Table,
    fk: &ForeignKey,
    backend: Backend,
) -> String {
    let mut drop = sea_query::ForeignKey::drop();
    drop.name(raw_name(&fk.name, backend))
        .table(Alias::new(&table.name));
    let sql = build(&drop, backend);
    let Some(schema) = qualifier else {
        return sql;
    };
    // sea-query cannot name a MySQL foreign key drop's table with its database (it panics):
    // the qualifier goes in front of the table it rendered.
    let table = backend.quote_ident(&table.name);
    let qualified = format!("{}.{table}", backend.quote_ident(schema));
    sql.replacen(
        &format!("ALTER TABLE {table}"),
        &format!("ALTER TABLE {qualified}"),
        1,
    )
}

/// `CREATE [UNIQUE] INDEX`, or `None` when the backend cannot build this non-unique index.
///
/// PostgreSQL renders everything: methods (`USING gin`), expressions and predicates. MySQL and
/// SQLite ignore the method (their default index); they leave out an index over an expression
/// (the expression is written for one backend, typically PostgreSQL). MySQL also leaves out
/// an index over a JSON column, indexes a `LONGTEXT`/`LONGBLOB` column by its first 255
/// characters, and drops the predicate of a partial index. A unique index is never left out
/// or weakened: where it cannot be built as written, that is an error.
///
/// # Errors
/// A unique index the backend cannot build, an unknown column, an invalid method name.
pub fn create_index(
    table: &Table,
    index: &Index,
    backend: Backend,
) -> Result<Option<String>, RenderError> {
    let Some(plan) = index_plan(table, index, backend)? else {
        return Ok(None);
    };
    let mut create = sea_query::Index::create();
    create
        .name(raw_name(&index.name, backend))
        .table(Alias::new(&table.name));
    if index.unique {
        create.unique();
    }
    for part in plan.parts {
        match part {
            PlannedPart::Column(name, None) => create.col(Alias::new(name)),
            PlannedPart::Column(name, Some(prefix)) => create.col((Alias::new(name), prefix)),
            PlannedPart::Expression(expr) => create.col(Expr::cust(expr.to_string())),
        };
    }
    if let Some(method) = plan.method {
        create.index_type(IndexType::Custom(Alias::new(method).into_iden()));
    }
    if let Some(predicate) = plan.predicate {
        create.and_where(Expr::cust(predicate.to_string()));
    }
    Ok(Some(build(&create, backend)))
}

/// `DROP INDEX` (with `ON table` on MySQL), or `None` when [`create_index`] would not have
/// built this index on the backend.
pub fn drop_index(table: &Table, index: &Index, backend: Backend) -> Option<String> {
    let Ok(Some(_)) = index_plan(table, index, backend) else {
        return None;
    };
    let mut drop = sea_query::Index::drop();
    drop.name(raw_name(&index.name, backend))
        .table(Alias::new(&table.name));
    Some(build(&drop, backend))
}

/// `DROP TABLE name`.
pub fn drop_table(name: &str, backend: Backend) -> String {
    build(sea_query::Table::drop().table(Alias::new(name)), backend)
}

/// `DROP TABLE qualifier.name`, or [`drop_table`] without a qualifier.
fn drop_table_in(qualifier: Option<&str>, name: &str, backend: Backend) -> String {
    match qualifier {
        Some(schema) => build(
            sea_query::Table::drop().table((Alias::new(schema), Alias::new(name))),
            backend,
        ),
        None => drop_table(name, backend),
    }
}

/// `ALTER TABLE … ADD COLUMN …`, then (PostgreSQL) its comment.
///
/// `table` is the table the column belongs to; the column must not be part of its primary
/// key (a key change means recreating the table).
///
/// # Errors
/// [`RenderError::Unsupported`] for a primary key column; [`RenderError::NeedsRebuild`] on
/// SQLite for a column that is NOT NULL without a default, has a CURRENT_TIMESTAMP or
/// expression default, or is unique.
pub fn add_column(
    table: &Table,
    column: &Column,
    backend: Backend,
) -> Result<Vec<String>, RenderError> {
    if table.is_primary_key_column(&column.name) {
        return Err(RenderError::Unsupported {
            backend,
            table: table.name.clone(),
            what: format!("adding primary key column `{}`", column.name),
            reason: "a primary key change needs the table recreated",
        });
    }
    if backend == Backend::Sqlite {
        let unique = in_unique(table, &column.name);
        let computed_default = matches!(
            column.default,
            Some(DefaultValue::CurrentTimestamp | DefaultValue::Expression(_))
        );
        let not_null = !column.nullable || table.never_null(column);
        if unique || computed_default || (not_null && column.default.is_none()) {
            return Err(needs_rebuild(
                table,
                format!("add column `{}`", column.name),
            ));
        }
    }
    let native = mapping::column_native(table, column, backend);
    let def = column_def(table, column, &native, backend)?;
    let mut statements = vec![build(
        sea_query::Table::alter()
            .table(Alias::new(&table.name))
            .add_column(def),
        backend,
    )];
    if backend == Backend::Postgres
        && let Some(comment) = &column.comment
    {
        statements.push(column_comment(&table.name, &column.name, comment));
    }
    Ok(statements)
}

/// `ALTER TABLE … DROP COLUMN …`; `table` is the table as it is before the drop.
///
/// # Errors
/// [`RenderError::NeedsRebuild`] on SQLite when the column is in the primary key, a unique
/// constraint or a foreign key (SQLite refuses those; drop its indexes first).
pub fn drop_column(table: &Table, column: &str, backend: Backend) -> Result<String, RenderError> {
    if backend == Backend::Sqlite
        && (table.is_primary_key_column(column)
            || in_unique(table, column)
            || table
                .foreign_keys
                .iter()
                .any(|f| f.columns.iter().any(|c| c == column)))
    {
        return Err(needs_rebuild(table, format!("drop key column `{column}`")));
    }
    Ok(build(
        sea_query::Table::alter()
            .table(Alias::new(&table.name))
            .drop_column(Alias::new(column)),
        backend,
    ))
}

/// Changes the type of a column to `column.ty`.
///
/// PostgreSQL: `ALTER COLUMN … TYPE … USING column::type` (a serial becomes its integer
/// type; its sequence default stays). MySQL: `MODIFY COLUMN` with the whole new definition,
/// so `column` must be complete (nullability, default, comment).
///
/// # Errors
/// [`RenderError::NeedsRebuild`] on SQLite.
pub fn alter_column_type(
    table: &Table,
    column: &Column,
    backend: Backend,
) -> Result<String, RenderError> {
    alter_column(table, column, backend, "change the type of", |def| {
        let ty = match &column.ty {
            ColumnType::Serial => ColumnType::Integer,
            ColumnType::BigSerial => ColumnType::BigInt,
            other => other.clone(),
        };
        let sql = mapping::native(&ty, Backend::Postgres, false).sql;
        let using = format!("{}::{sql}", Backend::Postgres.quote_ident(&column.name));
        def.custom(Alias::new(sql)).using(Expr::cust(using));
        Ok(())
    })
}

/// Makes a column nullable or NOT NULL as `column.nullable` says; a primary key column or a
/// serial stays NOT NULL, as [`create_table`] makes it.
///
/// PostgreSQL: `ALTER COLUMN … SET/DROP NOT NULL`. MySQL: `MODIFY COLUMN` with the whole new
/// definition.
///
/// # Errors
/// [`RenderError::NeedsRebuild`] on SQLite.
pub fn alter_column_nullability(
    table: &Table,
    column: &Column,
    backend: Backend,
) -> Result<String, RenderError> {
    alter_column(table, column, backend, "change the nullability of", |def| {
        if column.nullable && !table.never_null(column) {
            def.null();
        } else {
            def.not_null();
        }
        Ok(())
    })
}

/// Sets the default of a column to `column.default`, or drops it when that is `None`.
///
/// PostgreSQL: `ALTER COLUMN … SET DEFAULT …` / `DROP DEFAULT`. MySQL: `MODIFY COLUMN` with
/// the whole new definition.
///
/// # Errors
/// [`RenderError::NeedsRebuild`] on SQLite; an invalid numeric default.
pub fn alter_column_default(
    table: &Table,
    column: &Column,
    backend: Backend,
) -> Result<String, RenderError> {
    if backend == Backend::Postgres && column.default.is_none() {
        // sea-query has no DROP DEFAULT.
        return Ok(format!(
            "ALTER TABLE {} ALTER COLUMN {} DROP DEFAULT",
            backend.quote_ident(&table.name),
            backend.quote_ident(&column.name)
        ));
    }
    alter_column(table, column, backend, "change the default of", |def| {
        if let Some(default) = &column.default {
            let native = mapping::column_native(table, column, Backend::Postgres);
            def.default(default_expr(
                table,
                column,
                default,
                &native,
                Backend::Postgres,
            )?);
        }
        Ok(())
    })
}

/// What the `alter_column_*` functions share: SQLite needs a rebuild; MySQL restates the whole
/// column with `MODIFY COLUMN`; PostgreSQL alters the one property `postgres` puts on an
/// otherwise empty definition (sea-query renders each as its own `ALTER COLUMN` clause).
fn alter_column(
    table: &Table,
    column: &Column,
    backend: Backend,
    change: &str,
    postgres: impl FnOnce(&mut ColumnDef) -> Result<(), RenderError>,
) -> Result<String, RenderError> {
    let def = match backend {
        Backend::Sqlite => {
            return Err(needs_rebuild(
                table,
                format!("{change} column `{}`", column.name),
            ));
        }
        Backend::Mysql => {
            let native = mapping::column_native(table, column, backend);
            column_def(table, column, &native, backend)?
        }
        Backend::Postgres => {
            let mut def = ColumnDef::new(Alias::new(&column.name));
            postgres(&mut def)?;
            def
        }
    };
    Ok(build(
        sea_query::Table::alter()
            .table(Alias::new(&table.name))
            .modify_column(def),
        backend,
    ))
}

/// `ALTER TABLE … ADD [CONSTRAINT name] UNIQUE (…)`.
///
/// # Errors
/// [`RenderError::NeedsRebuild`] on SQLite, which cannot add a constraint to a table; unknown
/// or unindexable columns.
pub fn add_unique(table: &Table, unique: &Unique, backend: Backend) -> Result<String, RenderError> {
    let used_by = unique_label(unique);
    if backend == Backend::Sqlite {
        return Err(needs_rebuild(table, format!("add {used_by}")));
    }
    check_key_columns(table, &unique.columns, &used_by, backend)?;
    let columns: Vec<String> = unique
        .columns
        .iter()
        .map(|c| backend.quote_ident(c))
        .collect();
    Ok(format!(
        "ALTER TABLE {} ADD {}UNIQUE ({})",
        backend.quote_ident(&table.name),
        constraint_name(unique.name.as_deref(), backend),
        columns.join(", ")
    ))
}

/// `ALTER TABLE … DROP CONSTRAINT name` (PostgreSQL) or `DROP INDEX name` (MySQL, where a
/// unique constraint is a unique index).
///
/// # Errors
/// [`RenderError::NeedsRebuild`] on SQLite; [`RenderError::Unsupported`] for a constraint
/// without a name.
pub fn drop_unique(
    table: &Table,
    unique: &Unique,
    backend: Backend,
) -> Result<String, RenderError> {
    let columns = unique.columns.join(", ");
    if backend == Backend::Sqlite {
        return Err(needs_rebuild(
            table,
            format!("drop {}", unique_label(unique)),
        ));
    }
    let Some(name) = &unique.name else {
        return Err(RenderError::Unsupported {
            backend,
            table: table.name.clone(),
            what: format!("dropping the unnamed unique constraint on ({columns})"),
            reason: "a constraint is dropped by name; look the name up in the catalog",
        });
    };
    let what = match backend {
        Backend::Mysql => "INDEX",
        Backend::Postgres | Backend::Sqlite => "CONSTRAINT",
    };
    Ok(format!(
        "ALTER TABLE {} DROP {what} {}",
        backend.quote_ident(&table.name),
        backend.quote_ident(name)
    ))
}

/// `ALTER TABLE … ADD [CONSTRAINT name] CHECK (…)`, the expression as written.
///
/// # Errors
/// [`RenderError::NeedsRebuild`] on SQLite, which cannot add a constraint to a table.
pub fn add_check(table: &Table, check: &Check, backend: Backend) -> Result<String, RenderError> {
    if backend == Backend::Sqlite {
        return Err(needs_rebuild(table, format!("add {}", check_label(check))));
    }
    Ok(format!(
        "ALTER TABLE {} ADD {}CHECK ({})",
        backend.quote_ident(&table.name),
        constraint_name(check.name.as_deref(), backend),
        check.expression
    ))
}

/// `ALTER TABLE … DROP CONSTRAINT name` (PostgreSQL, MariaDB and MySQL 8.0.19 or later).
///
/// # Errors
/// [`RenderError::NeedsRebuild`] on SQLite; [`RenderError::Unsupported`] for a check without
/// a name.
pub fn drop_check(table: &Table, check: &Check, backend: Backend) -> Result<String, RenderError> {
    if backend == Backend::Sqlite {
        return Err(needs_rebuild(table, format!("drop {}", check_label(check))));
    }
    let Some(name) = &check.name else {
        return Err(RenderError::Unsupported {
            backend,
            table: table.name.clone(),
            what: format!("dropping the unnamed check `{}`", check.expression),
            reason: "a constraint is dropped by name; look the name up in the catalog",
        });
    };
    Ok(format!(
        "ALTER TABLE {} DROP CONSTRAINT {}",
        backend.quote_ident(&table.name),
        backend.quote_ident(name)
    ))
}

/// Whether `column` is part of a unique constraint of `table`.
fn in_unique(table: &Table, column: &str) -> bool {
    table
        .uniques
        .iter()
        .any(|u| u.columns.iter().any(|c| c == column))
}

/// A unique constraint in messages: by its name, or by its columns when it has none.
fn unique_label(unique: &Unique) -> String {
    match &unique.name {
        Some(name) => format!("unique constraint `{name}`"),
        None => format!("the unique constraint on ({})", unique.columns.join(", ")),
    }
}

/// A check in messages: by its name, or by its expression when it has none.
fn check_label(check: &Check) -> String {
    match &check.name {
        Some(name) => format!("check `{name}`"),
        None => format!("the check ({})", check.expression),
    }
}

/// The error for a change SQLite can only make by rebuilding `table`.
fn needs_rebuild(table: &Table, change: String) -> RenderError {
    RenderError::NeedsRebuild {
        table: table.name.clone(),
        change,
    }
}

/// `CONSTRAINT "name" ` for a named constraint, nothing for an unnamed one.
fn constraint_name(name: Option<&str>, backend: Backend) -> String {
    name.map(|n| format!("CONSTRAINT {} ", backend.quote_ident(n)))
        .unwrap_or_default()
}

/// The DDL that creates a schema, in two parts: the tables (each CREATE TABLE with the
/// foreign keys it can hold, then the foreign keys added after them), and the indexes.
///
/// Indexes come last so that a run can create every table first and build the indexes after
/// (with `--jobs`, those of different tables at the same time).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CreateDdl {
    /// CREATE TABLE statements, the ALTER TABLEs that add foreign keys, comments: all of the
    /// schema but its indexes, in the order they run.
    pub tables: Vec<String>,
    /// Every `CREATE INDEX` the backend builds, grouped by table in creation order.
    pub indexes: Vec<IndexDdl>,
}

impl CreateDdl {
    /// Every statement, the tables' before the indexes'.
    pub fn into_statements(self) -> Vec<String> {
        let mut statements = self.tables;
        statements.extend(self.indexes.into_iter().map(|index| index.sql));
        statements
    }
}

/// One `CREATE INDEX` statement and what it builds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexDdl {
    /// The indexed table.
    pub table: String,
    /// The index's name.
    pub index: String,
    /// The statement.
    pub sql: String,
}

/// Every statement that creates `schema`: the tables in `order`, each with the foreign keys
/// `deferred` rejects inline, then (not on SQLite) the deferred foreign keys by ALTER TABLE,
/// then every index.
///
/// `order` is normally `FkGraph::create_order` and `deferred(table, fk)` says whether `fk` of
/// `table` closes a cycle. On SQLite every foreign key is inline (it cannot add one later and
/// does not check referenced tables at CREATE time).
///
/// # Errors
/// A table in `order` that `schema` lacks, or any error of [`create_table`].
pub fn create_statements(
    schema: &Schema,
    backend: Backend,
    order: &[impl AsRef<str>],
    deferred: impl Fn(&str, &ForeignKey) -> bool,
) -> Result<Vec<String>, RenderError> {
    Ok(create_parts(schema, backend, order, deferred)?.into_statements())
}

/// [`create_statements`] with the tables' statements apart from the indexes'.
fn create_parts(
    schema: &Schema,
    backend: Backend,
    order: &[impl AsRef<str>],
    deferred: impl Fn(&str, &ForeignKey) -> bool,
) -> Result<CreateDdl, RenderError> {
    let tables = ordered_tables(schema, order)?;
    let mut ddl = CreateDdl::default();
    for table in &tables {
        ddl.tables
            .extend(table_without_indexes(table, backend, |fk| {
                !deferred(&table.name, fk)
            })?);
    }
    if backend != Backend::Sqlite {
        for table in &tables {
            for fk in &table.foreign_keys {
                if deferred(&table.name, fk) {
                    ddl.tables.push(add_foreign_key(table, fk, backend)?);
                }
            }
        }
    }
    for table in &tables {
        ddl.indexes.extend(indexes(table, backend)?);
    }
    Ok(ddl)
}

/// Every statement that drops `schema`: first (not on SQLite) the foreign keys `deferred`
/// accepts, then the tables in `drop_order`.
///
/// On SQLite nothing can break a cycle first: a DROP TABLE there deletes the rows, and with
/// foreign keys enforced that fails while rows in the cycle still reference each other. Run
/// the statements in one transaction after `PRAGMA defer_foreign_keys = ON` (or with
/// `foreign_keys` off).
///
/// # Errors
/// A table in `drop_order` that `schema` lacks.
pub fn drop_statements(
    schema: &Schema,
    backend: Backend,
    drop_order: &[impl AsRef<str>],
    deferred: impl Fn(&str, &ForeignKey) -> bool,
) -> Result<Vec<String>, RenderError> {
    qualified_drop_statements(None, schema, backend, drop_order, deferred)
}

/// [`drop_statements`] with every table named in schema (PostgreSQL) or database (MySQL)
/// `qualifier` when there is one, so that a session's `search_path` or `USE` cannot change
/// which tables they drop.
///
/// # Errors
/// A table in `drop_order` that `schema` lacks.
pub fn qualified_drop_statements(
    qualifier: Option<&str>,
    schema: &Schema,
    backend: Backend,
    drop_order: &[impl AsRef<str>],
    deferred: impl Fn(&str, &ForeignKey) -> bool,
) -> Result<Vec<String>, RenderError> {
    // SQLite has one schema per file, `main`, which no session setting moves.
    let qualifier = qualifier.filter(|_| backend != Backend::Sqlite);
    let tables = ordered_tables(schema, drop_order)?;
    let mut statements = Vec::new();
    if backend != Backend::Sqlite {
        for table in &tables {
            for fk in &table.foreign_keys {
                if deferred(&table.name, fk) {
                    statements.push(drop_foreign_key_in(qualifier, table, fk, backend));
                }
            }
        }
    }
    statements.extend(
        tables
            .iter()
            .map(|t| drop_table_in(qualifier, &t.name, backend)),
    );
    Ok(statements)
}

/// Every statement that creates `schema`, in the order of its [`FkGraph`]: tables with their
/// foreign keys inline, then the foreign keys that close cycles, then the indexes.
///
/// # Errors
/// Any error of [`create_table`] or [`add_foreign_key`].
pub fn create_ddl(schema: &Schema, backend: Backend) -> Result<Vec<String>, RenderError> {
    Ok(create_ddl_parts(schema, backend)?.into_statements())
}

/// [`create_ddl`] with the tables' statements apart from the indexes'.
///
/// # Errors
/// As [`create_ddl`].
pub fn create_ddl_parts(schema: &Schema, backend: Backend) -> Result<CreateDdl, RenderError> {
    let graph = FkGraph::new(schema);
    create_parts(schema, backend, &graph.create_order(), |table, fk| {
        graph.is_deferred(table, &fk.name)
    })
}

/// Every statement that drops `schema`, in the order of its [`FkGraph`]: the foreign keys of
/// cycles first, then the tables, children before parents.
///
/// # Errors
/// Any error of [`drop_foreign_key`].
pub fn drop_ddl(schema: &Schema, backend: Backend) -> Result<Vec<String>, RenderError> {
    let graph = FkGraph::new(schema);
    drop_statements(schema, backend, &graph.drop_order(), |table, fk| {
        graph.is_deferred(table, &fk.name)
    })
}

fn ordered_tables<'s>(
    schema: &'s Schema,
    order: &[impl AsRef<str>],
) -> Result<Vec<&'s Table>, RenderError> {
    order
        .iter()
        .map(|name| {
            let name = name.as_ref();
            schema.table(name).ok_or_else(|| RenderError::UnknownTable {
                table: name.to_string(),
            })
        })
        .collect()
}

/// Renders a sea-query statement for `backend`.
fn build(statement: &impl SchemaStatementBuilder, backend: Backend) -> String {
    match backend {
        Backend::Postgres => statement.build(PostgresQueryBuilder),
        Backend::Mysql => statement.build(MysqlQueryBuilder),
        Backend::Sqlite => statement.build(SqliteQueryBuilder),
    }
}

/// An index or constraint name prepared for sea-query, which writes those names between
/// quotes without escaping them (unlike table and column names): the quote character is
/// doubled here so a name containing it cannot end the identifier early.
fn raw_name(name: &str, backend: Backend) -> String {
    let quote = match backend {
        Backend::Postgres => PostgresQueryBuilder.quote().left(),
        Backend::Mysql => MysqlQueryBuilder.quote().left(),
        Backend::Sqlite => SqliteQueryBuilder.quote().left(),
    };
    name.replace(quote, &format!("{quote}{quote}"))
}

/// `value` as a string literal for `backend`, escaped by sea-query.
fn string_literal(value: &str, backend: Backend) -> String {
    let value = Value::String(Some(value.to_string()));
    match backend {
        Backend::Postgres => PostgresQueryBuilder.value_to_string(&value),
        Backend::Mysql => MysqlQueryBuilder.value_to_string(&value),
        Backend::Sqlite => SqliteQueryBuilder.value_to_string(&value),
    }
}

/// The definition of one column: type, NOT NULL, default, auto-increment, MySQL comment.
fn column_def(
    table: &Table,
    column: &Column,
    native: &Native,
    backend: Backend,
) -> Result<ColumnDef, RenderError> {
    let mut def = ColumnDef::new(Alias::new(&column.name));
    def.custom(Alias::new(&native.sql));
    // Key columns are NOT NULL everywhere (SQLite would otherwise allow NULL in a key), and
    // a serial always has a value.
    if !column.nullable || table.never_null(column) {
        def.not_null();
    }
    if let Some(default) = &column.default {
        def.default(default_expr(table, column, default, native, backend)?);
    }
    if native.auto_increment {
        def.auto_increment();
    }
    if backend == Backend::Mysql
        && let Some(comment) = &column.comment
    {
        def.comment(comment);
    }
    Ok(def)
}

/// The default of a column as a sea-query expression; sea-query wraps every expression that
/// is not a literal or keyword in parentheses, which all three backends accept.
fn default_expr(
    table: &Table,
    column: &Column,
    default: &DefaultValue,
    native: &Native,
    backend: Backend,
) -> Result<Expr, RenderError> {
    let keyword = |sql: &str| Expr::Keyword(Keyword::Custom(Alias::new(sql).into_iden()));
    let literal = match default {
        DefaultValue::Bool(value) => Expr::val(*value),
        DefaultValue::Number(number) => {
            if !is_number(number) {
                return Err(RenderError::InvalidNumber {
                    table: table.name.clone(),
                    column: column.name.clone(),
                    value: number.clone(),
                });
            }
            keyword(number)
        }
        DefaultValue::String(text) => Expr::val(text.as_str()),
        DefaultValue::CurrentTimestamp => {
            return Ok(match backend {
                // MySQL wants the default's precision to match the column's.
                Backend::Mysql if native.sql == "DATETIME(6)" => keyword("CURRENT_TIMESTAMP(6)"),
                // Other MySQL types accept it only as an expression default.
                Backend::Mysql => Expr::cust("CURRENT_TIMESTAMP"),
                _ => Expr::Keyword(Keyword::CurrentTimestamp),
            });
        }
        DefaultValue::Expression(sql) => return Ok(Expr::cust(sql.clone())),
    };
    if backend == Backend::Mysql && native.class != Class::Plain {
        // MySQL 8 allows no literal default on TEXT, BLOB and JSON columns, only an
        // expression default: the literal in parentheses (MariaDB accepts both).
        let mut sql = String::new();
        MysqlQueryBuilder.prepare_expr(&literal, &mut sql);
        return Ok(Expr::cust(sql));
    }
    Ok(literal)
}

/// Whether `text` is a plain number literal (`-1`, `2.5`, `1e-3`), safe to render verbatim.
fn is_number(text: &str) -> bool {
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    digits.starts_with(|c: char| c.is_ascii_digit() || c == '.')
        && digits
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '-' | '+'))
        && digits.parse::<f64>().is_ok()
}

/// The foreign key as a sea-query statement, after checking what the backend needs.
fn foreign_key_statement(
    table: &Table,
    fk: &ForeignKey,
    backend: Backend,
) -> Result<sea_query::ForeignKeyCreateStatement, RenderError> {
    let used_by = format!("foreign key `{}`", fk.name);
    check_key_columns(table, &fk.columns, &used_by, backend)?;
    if backend == Backend::Mysql {
        for (when, action) in [("DELETE", fk.on_delete), ("UPDATE", fk.on_update)] {
            if action == FkAction::SetDefault {
                return Err(RenderError::Unsupported {
                    backend,
                    table: table.name.clone(),
                    what: format!("ON {when} SET DEFAULT in {used_by}"),
                    reason: "InnoDB rejects SET DEFAULT; use SET NULL, CASCADE or RESTRICT",
                });
            }
        }
    }
    let mut statement = sea_query::ForeignKey::create();
    statement
        .name(raw_name(&fk.name, backend))
        .from_tbl(Alias::new(&table.name))
        .to_tbl(Alias::new(&fk.ref_table))
        // Always explicit: MariaDB reports an unspecified action as RESTRICT, an explicit
        // NO ACTION as NO ACTION, so introspection reads back what the model says.
        .on_delete(action(fk.on_delete))
        .on_update(action(fk.on_update));
    for column in &fk.columns {
        statement.from_col(Alias::new(column));
    }
    for column in &fk.ref_columns {
        statement.to_col(Alias::new(column));
    }
    Ok(statement)
}

fn action(action: FkAction) -> ForeignKeyAction {
    match action {
        FkAction::NoAction => ForeignKeyAction::NoAction,
        FkAction::Restrict => ForeignKeyAction::Restrict,
        FkAction::Cascade => ForeignKeyAction::Cascade,
        FkAction::SetNull => ForeignKeyAction::SetNull,
        FkAction::SetDefault => ForeignKeyAction::SetDefault,
    }
}

/// Checks that the columns of a key exist and that the backend can index them.
fn check_key_columns(
    table: &Table,
    columns: &[String],
    used_by: &str,
    backend: Backend,
) -> Result<(), RenderError> {
    for name in columns {
        let column = find_column(table, name, used_by)?;
        let native = mapping::column_native(table, column, backend);
        if native.class != Class::Plain {
            return Err(RenderError::Unindexable {
                backend,
                table: table.name.clone(),
                column: name.clone(),
                ty: column.ty.clone(),
                native: native.sql,
                used_by: used_by.to_string(),
            });
        }
    }
    Ok(())
}

fn find_column<'t>(table: &'t Table, name: &str, used_by: &str) -> Result<&'t Column, RenderError> {
    table
        .column(name)
        .ok_or_else(|| RenderError::UnknownColumn {
            table: table.name.clone(),
            column: name.to_string(),
            used_by: used_by.to_string(),
        })
}

/// An index as a backend builds it.
#[derive(Debug)]
struct IndexPlan<'i> {
    parts: Vec<PlannedPart<'i>>,
    method: Option<String>,
    predicate: Option<&'i str>,
}

#[derive(Debug)]
enum PlannedPart<'i> {
    /// A column, with a prefix length where MySQL needs one.
    Column(&'i str, Option<u32>),
    Expression(&'i str),
}

/// How `backend` builds `index`: `None` when it leaves the (non-unique) index out.
fn index_plan<'i>(
    table: &Table,
    index: &'i Index,
    backend: Backend,
) -> Result<Option<IndexPlan<'i>>, RenderError> {
    let used_by = format!("index `{}`", index.name);
    if index.parts.is_empty() {
        return Err(RenderError::EmptyIndex {
            table: table.name.clone(),
            index: index.name.clone(),
        });
    }
    // What cannot be built is left out when it only speeds up queries, an error when it
    // enforces uniqueness. Leaving out waits for the loop to end, so that a part naming a
    // missing column is an error on every backend.
    let unsupported = |what: String, reason: &'static str| RenderError::Unsupported {
        backend,
        table: table.name.clone(),
        what,
        reason,
    };
    let mut left_out = false;
    let mut parts = Vec::new();
    for part in &index.parts {
        match part {
            IndexPart::Column(name) => {
                let column = find_column(table, name, &used_by)?;
                let native = mapping::column_native(table, column, backend);
                let prefix = match native.class {
                    Class::Plain => None,
                    Class::Lob if !index.unique => Some(mapping::MYSQL_PREFIX),
                    Class::Lob | Class::Json if index.unique => {
                        return Err(RenderError::Unindexable {
                            backend,
                            table: table.name.clone(),
                            column: name.clone(),
                            ty: column.ty.clone(),
                            native: native.sql,
                            used_by,
                        });
                    }
                    Class::Lob | Class::Json => {
                        left_out = true;
                        continue;
                    }
                };
                parts.push(PlannedPart::Column(name, prefix));
            }
            IndexPart::Expression(expr) => {
                if backend == Backend::Postgres {
                    parts.push(PlannedPart::Expression(expr));
                } else if index.unique {
                    return Err(unsupported(
                        format!("expression {used_by}"),
                        "index expressions are rendered on PostgreSQL only",
                    ));
                } else {
                    left_out = true;
                }
            }
        }
    }
    if left_out {
        return Ok(None);
    }
    let method = match (&index.method, backend) {
        (Some(method), Backend::Postgres) => {
            let plain = !method.is_empty()
                && method
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !plain {
                return Err(RenderError::InvalidIndexMethod {
                    table: table.name.clone(),
                    index: index.name.clone(),
                    method: method.clone(),
                });
            }
            Some(method.to_ascii_lowercase())
        }
        _ => None,
    };
    let predicate = match (&index.predicate, backend) {
        (Some(_), Backend::Mysql) if index.unique => {
            return Err(unsupported(
                format!("partial unique {used_by}"),
                "MySQL has no partial indexes",
            ));
        }
        (Some(_), Backend::Mysql) | (None, _) => None,
        (Some(predicate), _) => Some(predicate.as_str()),
    };
    Ok(Some(IndexPlan {
        parts,
        method,
        predicate,
    }))
}

/// PostgreSQL's COMMENT ON statements for a table and its columns (MySQL has them inline,
/// SQLite has no comments).
fn postgres_comments(table: &Table, backend: Backend) -> Vec<String> {
    if backend != Backend::Postgres {
        return Vec::new();
    }
    let mut statements = Vec::new();
    if let Some(comment) = &table.comment {
        statements.push(format!(
            "COMMENT ON TABLE {} IS {}",
            backend.quote_ident(&table.name),
            string_literal(comment, backend)
        ));
    }
    for column in &table.columns {
        if let Some(comment) = &column.comment {
            statements.push(column_comment(&table.name, &column.name, comment));
        }
    }
    statements
}

fn column_comment(table: &str, column: &str, comment: &str) -> String {
    let backend = Backend::Postgres;
    format!(
        "COMMENT ON COLUMN {}.{} IS {}",
        backend.quote_ident(table),
        backend.quote_ident(column),
        string_literal(comment, backend)
    )
}

#[cfg(test)]
mod tests;
