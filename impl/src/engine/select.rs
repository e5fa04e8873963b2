//! SELECT: partitions by key or a full scan in token order, clustering restrictions, visible
//! rows (strict liveness for views with a V column, `docs/cassandra-semantics.md` §1), `WRITETIME`, `TTL`, `COUNT(*)`,
//! `ORDER BY` on the clustering order, `LIMIT`, and the view build status tables.

use super::data::{ClusteringKey, ColumnData, Partition, PartitionKey, Row};
use super::error::{CqlError, Rows};
use super::exec::{selector_text, Engine, Table};
use super::restrict::{self, Use};
use super::schema::{ColumnKind, TableSchema};
use super::value::{DataType, Value};
use crate::cql::ast::{self, SelectorExpr};

const FILTERING: &str = "Cannot execute this query as it might involve data filtering and thus may have unpredictable performance. If you want to execute this query despite the performance unpredictability, use ALLOW FILTERING";

#[derive(Clone)]
enum Sel {
    Col(String),
    WriteTime(String),
    Ttl(String),
    Count,
    /// `token(partition key columns)`: the Murmur3 token.
    Token,
}

impl Engine {
    pub(super) fn select(&mut self, s: &ast::Select) -> Result<Rows, CqlError> {
        let (ks, name) = self.resolve(&s.from);
        if ks == "system" || ks == "system_schema" {
            if let Some(rows) = self.system_table(&ks, &name) {
                return filter_system(rows, s);
            }
        }
        let table = self.existing(&ks, &name)?;
        let schema = &table.schema;
        let (sels, headers) = selection(schema, &s.selection)?;
        let mut ctx = self.fn_ctx();
        let r = restrict::analyze(schema, &s.where_clause, Use::Select, &mut ctx)?;
        if !r.non_key.is_empty() && !s.allow_filtering {
            return Err(CqlError::invalid(FILTERING));
        }
        if s.distinct {
            if let Some(c) = sels.iter().find_map(|sel| match sel {
                Sel::Col(c)
                    if !matches!(
                        schema.column(c).map(|d| d.kind),
                        Some(ColumnKind::PartitionKey | ColumnKind::Static)
                    ) =>
                {
                    Some(c.clone())
                }
                Sel::WriteTime(c) | Sel::Ttl(c) => Some(c.clone()),
                _ => None,
            }) {
                return Err(CqlError::invalid(format!(
                    "SELECT DISTINCT queries must only request partition key columns and/or static columns (not {c})"
                )));
            }
        }
        let keys = match r.partition_keys(schema) {
            Ok(k) => k,
            Err(_) => {
                let missing: Vec<&str> = schema
                    .partition_key
                    .iter()
                    .filter(|c| !r.eq.contains_key(*c))
                    .map(String::as_str)
                    .collect();
                return Err(CqlError::invalid(format!(
                    "Partition key parts: {} must be restricted as other parts are",
                    missing.join(", ")
                )));
            }
        };
        let cr = r.clustering(schema)?;
        if keys.is_none() && !cr.is_unrestricted() && !s.allow_filtering {
            return Err(CqlError::invalid(FILTERING));
        }
        let reverse = order_by(schema, &s.order_by, keys.is_some())?;
        let per_partition = parse_limit(&s.per_partition_limit, "PER PARTITION LIMIT")?;
        let limit = parse_limit(&s.limit, "LIMIT")?;
        let slices = cr.slices(schema);
        let strict = schema.strict_liveness(self.rules().strict_liveness);
        let now = self.now_sec();
        let partitions: Vec<(&PartitionKey, &Partition)> = match &keys {
            Some(keys) => {
                let mut ks: Vec<PartitionKey> = keys.iter().cloned().map(PartitionKey::new).collect();
                ks.sort();
                ks.dedup();
                ks.iter().filter_map(|k| table.data.get_key_value(k)).collect()
            }
            None => table.data.iter().collect(),
        };
        let mut out: Vec<Vec<Option<Value>>> = Vec::new();
        let mut count: i64 = 0;
        let counting = sels.iter().any(|s| matches!(s, Sel::Count));
        // Rows counted against LIMIT so far: the rows returned, plus (A17) those counted and dropped.
        let mut used = 0usize;
        let counts_expired = self.rules().limit_counts_expired;
        'parts: for (key, p) in partitions {
            let static_row = p.static_visible();
            let limits = RowLimits {
                // DISTINCT needs one live row per partition; COUNT(*) ignores LIMIT.
                rows: if s.distinct || counting {
                    None
                } else {
                    limit.map(|n| n - used)
                },
                per_partition: if s.distinct { Some(1) } else { per_partition },
            };
            let read = read_rows(
                p,
                reverse,
                now,
                ReadLiveness { strict, counts_expired },
                limits,
                |ck, row| {
                    slices.iter().any(|sl| sl.contains(ck))
                        && (r.filters.is_empty() || {
                            let wanted: Vec<Sel> = r.filters.iter().map(|(c, _)| Sel::Col(c.clone())).collect();
                            let vals = project(table, &wanted, key, Some(ck), row, &static_row, now);
                            r.filters.iter().zip(&vals).all(|((_, f), v)| f.matches(v.as_ref()))
                        })
                },
            );
            let any_row = !read.rows.is_empty();
            if !s.distinct {
                count += read.rows.len() as i64;
                used += read.counted;
                if !counting {
                    for (ck, row) in &read.rows {
                        out.push(project(table, &sels, key, Some(ck), row, &static_row, now));
                    }
                    if limit.is_some_and(|n| used >= n) {
                        break 'parts;
                    }
                }
            }
            // A partition with live static data but no live row still shows up, with nulls
            // for the clustering and regular columns.
            let static_live = static_row.has_live_data(now, false);
            if (!any_row && static_live && cr.is_unrestricted() && r.filters.is_empty())
                || (s.distinct && (any_row || static_live))
            {
                count += 1;
                if !counting {
                    out.push(project(table, &sels, key, None, &Row::default(), &static_row, now));
                    used += 1;
                    if limit.is_some_and(|n| used >= n) {
                        break 'parts;
                    }
                }
            }
        }
        if counting {
            let row = sels
                .iter()
                .map(|s| match s {
                    Sel::Count => Some(Value::BigInt(count)),
                    _ => None,
                })
                .collect();
            out = vec![row];
        }
        Ok(Rows {
            columns: headers,
            rows: out,
        })
    }
}

/// How a read decides which rows it returns and which it counts against its limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadLiveness {
    /// Rows need a live marker to be returned (a view with a V column, cassandra-semantics §1).
    pub strict: bool,
    /// A17: rows are counted as having live data without strict liveness, so a row with a
    /// dead marker and a live cell counts though it is not returned.
    pub counts_expired: bool,
}

/// The limits a read stops at, in counted rows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RowLimits {
    /// Rows left to the whole read (`LIMIT`, less what earlier partitions used).
    pub rows: Option<usize>,
    /// Rows per partition (`PER PARTITION LIMIT`).
    pub per_partition: Option<usize>,
}

/// What [`read_rows`] found in one partition.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PartitionRead<'p> {
    /// The rows returned, visible (covering deletions applied), in read order.
    pub rows: Vec<(&'p ClusteringKey, Row)>,
    /// How many rows the limits counted: the rows returned, plus those counted and dropped.
    pub counted: usize,
}

/// The read loop over one partition, the one SELECT runs and a node's own view reads call:
/// its rows in clustering order (reversed if asked), each made visible, kept if `wanted`
/// (slices, filters), counted against `limits` if it has live data under `liveness`'s
/// counting rule, returned if live under its strict rule; it stops once a limit is used up.
pub fn read_rows<'p>(
    p: &'p Partition,
    reverse: bool,
    now: i64,
    liveness: ReadLiveness,
    limits: RowLimits,
    mut wanted: impl FnMut(&ClusteringKey, &Row) -> bool,
) -> PartitionRead<'p> {
    let mut read = PartitionRead::default();
    let full = |n: usize| limits.rows.is_some_and(|l| n >= l) || limits.per_partition.is_some_and(|l| n >= l);
    if full(0) {
        return read;
    }
    let rows: Box<dyn Iterator<Item = (&ClusteringKey, &Row)>> = if reverse {
        Box::new(p.rows.iter().rev())
    } else {
        Box::new(p.rows.iter())
    };
    for (ck, stored) in rows {
        let row = stored.visible(p.covering(ck));
        if !wanted(ck, &row) {
            continue;
        }
        let returned = row.has_live_data(now, liveness.strict);
        let counted = returned || (liveness.counts_expired && row.has_live_data(now, false));
        if !counted {
            continue;
        }
        read.counted += 1;
        if returned {
            read.rows.push((ck, row.into_owned()));
        }
        if full(read.counted) {
            break;
        }
    }
    read
}

fn selection(schema: &TableSchema, sel: &ast::Selection) -> Result<(Vec<Sel>, Vec<String>), CqlError> {
    let mut sels = Vec::new();
    let mut headers = Vec::new();
    match sel {
        ast::Selection::All => {
            for c in schema.select_star_order() {
                headers.push(c.clone());
                sels.push(Sel::Col(c));
            }
        }
        ast::Selection::Selectors(list) => {
            for s in list {
                let col_def = |c: &String| {
                    schema
                        .column(c)
                        .ok_or_else(|| CqlError::invalid(format!("Undefined column name {c}")))
                };
                let (sel, header) = match &s.expr {
                    SelectorExpr::Column(c) => {
                        col_def(c)?;
                        (Sel::Col(c.clone()), c.clone())
                    }
                    SelectorExpr::WriteTime(c) | SelectorExpr::Ttl(c) => {
                        let def = col_def(c)?;
                        let f = if matches!(s.expr, SelectorExpr::WriteTime(_)) {
                            "writetime"
                        } else {
                            "ttl"
                        };
                        if matches!(def.kind, ColumnKind::PartitionKey | ColumnKind::Clustering { .. }) {
                            return Err(CqlError::invalid(format!(
                                "Cannot use selection function {f} on PRIMARY KEY part {c}"
                            )));
                        }
                        if def.ty.is_multicell() {
                            return Err(CqlError::invalid(format!(
                                "Cannot use selection function {f} on non-frozen collection {c}"
                            )));
                        }
                        let sel = if f == "writetime" {
                            Sel::WriteTime(c.clone())
                        } else {
                            Sel::Ttl(c.clone())
                        };
                        (sel, format!("{f}({c})"))
                    }
                    SelectorExpr::CountAll => (Sel::Count, "count".to_string()),
                    SelectorExpr::Function { name, args } if name.name.eq_ignore_ascii_case("token") => {
                        let cols: Vec<&str> = args
                            .iter()
                            .filter_map(|a| match a {
                                SelectorExpr::Column(c) => Some(c.as_str()),
                                _ => None,
                            })
                            .collect();
                        let pk: Vec<&str> = schema.partition_key.iter().map(String::as_str).collect();
                        if cols.len() != args.len() || cols != pk {
                            return Err(CqlError::invalid(format!(
                                "The token function arguments must be the partition key columns, in order ({})",
                                pk.join(", ")
                            )));
                        }
                        (Sel::Token, format!("system.token({})", pk.join(", ")))
                    }
                    other => {
                        return Err(CqlError::invalid(format!(
                            "Selector {} is not supported by this engine (columns, WRITETIME, TTL and COUNT(*) are)",
                            selector_text(other)
                        )))
                    }
                };
                headers.push(s.alias.clone().unwrap_or(header));
                sels.push(sel);
            }
            let counting = sels.iter().any(|s| matches!(s, Sel::Count));
            if counting && sels.iter().any(|s| !matches!(s, Sel::Count)) {
                return Err(CqlError::invalid(
                    "Only COUNT(*) can be selected together with COUNT(*) by this engine",
                ));
            }
        }
    }
    Ok((sels, headers))
}

/// Whether `ORDER BY` reverses the table's clustering order.
fn order_by(schema: &TableSchema, order: &[ast::Ordering], keyed: bool) -> Result<bool, CqlError> {
    if order.is_empty() {
        return Ok(false);
    }
    if !keyed {
        return Err(CqlError::invalid(
            "ORDER BY is only supported when the partition key is restricted by an EQ or an IN.",
        ));
    }
    let desc = schema.clustering_desc();
    let mut reverse = None;
    for (i, o) in order.iter().enumerate() {
        if schema.clustering.get(i) != Some(&o.column) {
            return Err(CqlError::invalid(format!(
                "Order by currently only supports the ordering of columns following their declared order in the PRIMARY KEY (got {})",
                o.column
            )));
        }
        let r = o.descending != desc[i];
        if reverse.is_some_and(|prev| prev != r) {
            return Err(CqlError::invalid("Unsupported order by relation"));
        }
        reverse = Some(r);
    }
    Ok(reverse.unwrap_or(false))
}

fn parse_limit(t: &Option<ast::Term>, what: &str) -> Result<Option<usize>, CqlError> {
    let Some(t) = t else { return Ok(None) };
    let n = super::convert::integer(t, what)?;
    if n <= 0 {
        return Err(CqlError::invalid(format!("{what} must be strictly positive")));
    }
    Ok(Some(usize::try_from(n).unwrap_or(usize::MAX)))
}

/// One output row.
fn project(
    table: &Table,
    sels: &[Sel],
    key: &PartitionKey,
    clustering: Option<&ClusteringKey>,
    row: &Row,
    static_row: &Row,
    now: i64,
) -> Vec<Option<Value>> {
    let schema = &table.schema;
    let data = |c: &str| -> Option<&ColumnData> {
        match schema.column(c).map(|d| d.kind) {
            Some(ColumnKind::Static) => static_row.columns.get(c),
            _ => row.columns.get(c),
        }
    };
    sels.iter()
        .map(|s| match s {
            Sel::Col(c) => {
                if let Some(i) = schema.partition_key.iter().position(|k| k == c) {
                    return key.values.get(i).cloned();
                }
                if let Some(i) = schema.clustering.iter().position(|k| k == c) {
                    return clustering.and_then(|cl| cl.0.get(i)).map(|p| p.value.clone());
                }
                let ty = schema.column(c).map(|d| d.ty.clone())?;
                column_value(data(c)?, &ty, now)
            }
            Sel::WriteTime(c) => match data(c)? {
                ColumnData::Simple(cell) if cell.is_live(now) => Some(Value::BigInt(cell.ts)),
                _ => None,
            },
            Sel::Ttl(c) => match data(c)? {
                ColumnData::Simple(cell) => cell
                    .remaining_ttl(now)
                    .map(|t| Value::Int(i32::try_from(t).unwrap_or(i32::MAX))),
                _ => None,
            },
            Sel::Count => None,
            Sel::Token => Some(Value::BigInt(key.token)),
        })
        .collect()
}

/// A column's visible value: the live cell, or the live elements of a collection (an empty
/// collection reads as null).
fn column_value(d: &ColumnData, ty: &DataType, now: i64) -> Option<Value> {
    match d {
        ColumnData::Simple(c) => c.value(now).cloned(),
        ColumnData::Complex(cx) => {
            let live: Vec<(&Value, &Value)> = cx
                .cells
                .iter()
                .filter_map(|(p, c)| c.value(now).map(|v| (p, v)))
                .collect();
            if live.is_empty() {
                return None;
            }
            Some(match ty {
                DataType::List(_) => Value::List(live.into_iter().map(|(_, v)| v.clone()).collect()),
                DataType::Set(_) => Value::Set(live.into_iter().map(|(p, _)| p.clone()).collect()),
                _ => Value::Map(live.into_iter().map(|(p, v)| (p.clone(), v.clone())).collect()),
            })
        }
    }
}

/// The status tables accept `*` or column names, and equality on their columns.
fn filter_system(rows: Rows, s: &ast::Select) -> Result<Rows, CqlError> {
    let mut keep: Vec<Vec<Option<Value>>> = rows.rows;
    for rel in &s.where_clause {
        let ast::Relation::Compare {
            column,
            op: ast::Operator::Eq,
            value: ast::Term::String(v),
        } = rel
        else {
            return Err(CqlError::invalid(
                "Only equality on text columns is supported on system tables",
            ));
        };
        let i = rows
            .columns
            .iter()
            .position(|c| c == column)
            .ok_or_else(|| CqlError::invalid(format!("Undefined column name {column}")))?;
        keep.retain(|r| r[i] == Some(Value::Text(v.clone())));
    }
    let (columns, idx): (Vec<String>, Vec<usize>) = match &s.selection {
        ast::Selection::All => (rows.columns.clone(), (0..rows.columns.len()).collect()),
        ast::Selection::Selectors(sels) => {
            let mut cols = Vec::new();
            let mut idx = Vec::new();
            for sel in sels {
                let SelectorExpr::Column(c) = &sel.expr else {
                    return Err(CqlError::invalid(
                        "Only column names can be selected from system tables",
                    ));
                };
                let i = rows
                    .columns
                    .iter()
                    .position(|x| x == c)
                    .ok_or_else(|| CqlError::invalid(format!("Undefined column name {c}")))?;
                cols.push(sel.alias.clone().unwrap_or_else(|| c.clone()));
                idx.push(i);
            }
            (cols, idx)
        }
    };
    let limit = parse_limit(&s.limit, "LIMIT")?;
    let mut out: Vec<Vec<Option<Value>>> = keep
        .into_iter()
        .map(|r| idx.iter().map(|i| r[*i].clone()).collect())
        .collect();
    if let Some(n) = limit {
        out.truncate(n);
    }
    Ok(Rows { columns, rows: out })
}
