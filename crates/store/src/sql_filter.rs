//! Turning a parsed list [`Filter`] into a parameterised SQL condition, for a fixed set of columns,
//! shared by the backends: `?` placeholders (PostgreSQL renumbers them) and backend-neutral
//! parameters each backend converts to its driver's values.

use nmp_core::filter::{Filter, Op, Value};
use nmp_proto::timestamps;
use time::OffsetDateTime;

use crate::{StoreError, StoreResult};

/// A parameter of a generated condition.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum SqlParam {
    Text(String),
    Time(OffsetDateTime),
}

/// Where the SQL differs between backends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    /// The case-insensitive substring operator: SQLite's `LIKE` ignores ASCII case, PostgreSQL's
    /// does not, so PostgreSQL uses `ILIKE` for the same answers.
    pub(crate) fn like(self) -> &'static str {
        match self {
            Dialect::Sqlite => "LIKE",
            Dialect::Postgres => "ILIKE",
        }
    }
}

/// `%text%` with the LIKE wildcards escaped (escape character `\`).
pub(crate) fn like_pattern(text: &str) -> String {
    let escaped = text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    format!("%{escaped}%")
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Text,
    /// Stored as microseconds; compared against timestamps given as text.
    Time,
}

/// The filterable fields of one table: (API name, column, kind).
pub(crate) type Columns = &'static [(&'static str, &'static str, Kind)];

pub(crate) const ENTITY_COLUMNS: Columns = &[
    ("id", "id", Kind::Text),
    ("name", "name", Kind::Text),
    ("description", "description", Kind::Text),
    ("created_by", "created_by", Kind::Text),
    ("updated_by", "updated_by", Kind::Text),
    ("created_at", "created_at", Kind::Time),
    ("updated_at", "updated_at", Kind::Time),
];

/// Append the condition for `filter` to `sql` and its parameters to `params`.
pub(crate) fn push_condition(
    dialect: Dialect,
    filter: &Filter,
    columns: Columns,
    sql: &mut String,
    params: &mut Vec<SqlParam>,
) -> StoreResult<()> {
    match filter {
        Filter::And(items) | Filter::Or(items) => {
            if items.is_empty() {
                sql.push_str("TRUE");
                return Ok(());
            }
            let joiner = if matches!(filter, Filter::And(_)) { " AND " } else { " OR " };
            sql.push('(');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    sql.push_str(joiner);
                }
                push_condition(dialect, item, columns, sql, params)?;
            }
            sql.push(')');
        }
        Filter::Not(inner) => {
            sql.push_str("NOT (");
            push_condition(dialect, inner, columns, sql, params)?;
            sql.push(')');
        }
        Filter::Compare { field, op, value } => {
            let Some((_, column, kind)) = columns.iter().find(|(name, _, _)| name == field) else {
                let known: Vec<&str> = columns.iter().map(|(name, _, _)| *name).collect();
                return Err(StoreError::Invalid(format!(
                    "unknown filter field `{field}`; known fields: {}",
                    known.join(", ")
                )));
            };
            push_comparison(dialect, column, *kind, *op, value, sql, params)?;
        }
    }
    Ok(())
}

fn push_comparison(
    dialect: Dialect,
    column: &str,
    kind: Kind,
    op: Op,
    value: &Value,
    sql: &mut String,
    params: &mut Vec<SqlParam>,
) -> StoreResult<()> {
    if *value == Value::Null {
        match op {
            Op::Eq => sql.push_str(&format!("{column} IS NULL")),
            _ => return Err(StoreError::Invalid("null can only be compared with `:`".into())),
        }
        return Ok(());
    }
    match op {
        Op::In | Op::NotIn => {
            let Value::List(items) = value else {
                return Err(StoreError::Invalid("`IN` needs a list".into()));
            };
            if items.is_empty() {
                sql.push_str(if op == Op::In { "FALSE" } else { "TRUE" });
                return Ok(());
            }
            sql.push_str(column);
            sql.push_str(if op == Op::In { " IN (" } else { " NOT IN (" });
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    sql.push(',');
                }
                sql.push('?');
                params.push(to_sql(kind, item)?);
            }
            sql.push(')');
        }
        Op::Like => {
            let Value::Text(text) = value else {
                return Err(StoreError::Invalid("`~` needs a quoted string".into()));
            };
            sql.push_str(&format!("{column} {} ? ESCAPE '\\'", dialect.like()));
            params.push(SqlParam::Text(like_pattern(text)));
        }
        _ => {
            let symbol = match op {
                Op::Eq => "=",
                Op::Lt => "<",
                Op::Lte => "<=",
                Op::Gt => ">",
                _ => ">=",
            };
            sql.push_str(&format!("{column} {symbol} ?"));
            params.push(to_sql(kind, value)?);
        }
    }
    Ok(())
}

fn to_sql(kind: Kind, value: &Value) -> StoreResult<SqlParam> {
    match (kind, value) {
        (Kind::Text, Value::Text(text)) => Ok(SqlParam::Text(text.clone())),
        (Kind::Text, Value::Number(n)) => Ok(SqlParam::Text(n.to_string())),
        (Kind::Time, Value::Text(text)) => timestamps::parse(text)
            .map(SqlParam::Time)
            .ok_or_else(|| StoreError::Invalid(format!("`{text}` is not a timestamp"))),
        _ => Err(StoreError::Invalid("value does not fit the field".into())),
    }
}
