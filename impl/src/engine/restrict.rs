//! WHERE clauses on primary-key columns: which partitions, and which clusterings (a set of
//! equality prefixes, optionally followed by one slice), with Cassandra's messages for the
//! restrictions it refuses.

use super::convert::{self, FnCtx};
use super::data::{Bound, KeyPart, Slice};
use super::error::CqlError;
use super::schema::{ColumnKind, TableSchema};
use super::value::{DataType, Value};
use crate::cql::ast::{Operator, Relation};
use std::collections::BTreeMap;

/// One side of a slice on a clustering column: the value and whether it is inclusive.
pub type SliceEnd = Option<(Value, bool)>;

/// The restrictions of a WHERE clause on a table's primary key.
#[derive(Debug, Default)]
pub struct KeyRestrictions {
    /// Per restricted column, its allowed values (one for `=`, several for `IN`).
    pub eq: BTreeMap<String, Vec<Value>>,
    /// Per column with a range restriction: (lower, upper).
    pub slices: BTreeMap<String, (SliceEnd, SliceEnd)>,
    /// Restricted columns that are not part of the primary key, in order of appearance.
    pub non_key: Vec<String>,
    /// Their restrictions, for a SELECT with `ALLOW FILTERING`.
    pub filters: Vec<(String, Filter)>,
}

/// A restriction on a non-key column, checked against each row (`ALLOW FILTERING`).
#[derive(Debug, Clone)]
pub enum Filter {
    Cmp(Operator, Value),
    In(Vec<Value>),
}

impl Filter {
    pub fn matches(&self, v: Option<&Value>) -> bool {
        let Some(v) = v else { return false };
        match self {
            Filter::Cmp(op, x) => match op {
                Operator::Eq => v == x,
                Operator::Ne => v != x,
                Operator::Lt => v < x,
                Operator::Le => v <= x,
                Operator::Gt => v > x,
                Operator::Ge => v >= x,
                Operator::Contains => match v {
                    Value::List(xs) | Value::Set(xs) => xs.contains(x),
                    Value::Map(kvs) => kvs.iter().any(|(_, y)| y == x),
                    _ => false,
                },
                Operator::ContainsKey => match v {
                    Value::Map(kvs) => kvs.iter().any(|(k, _)| k == x),
                    _ => false,
                },
            },
            Filter::In(xs) => xs.contains(v),
        }
    }
}

/// Where a statement uses the WHERE clause; decides some messages.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Use {
    Select,
    Update,
    Delete,
}

pub fn analyze(
    schema: &TableSchema,
    relations: &[Relation],
    usage: Use,
    ctx: &mut FnCtx,
) -> Result<KeyRestrictions, CqlError> {
    let mut r = KeyRestrictions::default();
    for rel in relations {
        match rel {
            Relation::Compare { column, op, value } => {
                let def = schema
                    .column(column)
                    .ok_or_else(|| CqlError::invalid(format!("Undefined column name {column}")))?;
                if !schema.is_primary_key(column) {
                    r.non_key.push(column.clone());
                    let ty = match (op, def.ty.unfrozen()) {
                        (Operator::Contains, DataType::List(e) | DataType::Set(e)) => (**e).clone(),
                        (Operator::Contains, DataType::Map(_, v)) => (**v).clone(),
                        (Operator::ContainsKey, DataType::Map(k, _)) => (**k).clone(),
                        _ => def.ty.clone(),
                    };
                    if let Some(v) = convert::value(value, &ty, column, ctx)? {
                        r.filters.push((column.clone(), Filter::Cmp(*op, v)));
                    } else {
                        return Err(CqlError::invalid(format!("Unsupported null value for column {column}")));
                    }
                    continue;
                }
                let v = convert::value(value, &def.ty, column, ctx)?
                    .ok_or_else(|| CqlError::invalid(format!("Invalid null value in condition for column {column}")))?;
                match op {
                    Operator::Eq => {
                        if r.eq.contains_key(column) || r.slices.contains_key(column) {
                            return Err(CqlError::invalid(format!(
                                "{column} cannot be restricted by more than one relation if it includes an Equal"
                            )));
                        }
                        r.eq.insert(column.clone(), vec![v]);
                    }
                    Operator::Lt | Operator::Le | Operator::Gt | Operator::Ge => {
                        if def.kind == ColumnKind::PartitionKey {
                            return Err(CqlError::invalid(
                                "Only EQ and IN relation are supported on the partition key (unless you use the token() function)",
                            ));
                        }
                        if r.eq.contains_key(column) {
                            return Err(CqlError::invalid(format!(
                                "{column} cannot be restricted by more than one relation if it includes an Equal"
                            )));
                        }
                        let entry = r.slices.entry(column.clone()).or_insert((None, None));
                        let inclusive = matches!(op, Operator::Le | Operator::Ge);
                        let slot = if matches!(op, Operator::Gt | Operator::Ge) {
                            &mut entry.0
                        } else {
                            &mut entry.1
                        };
                        if slot.is_some() {
                            let bound = if matches!(op, Operator::Gt | Operator::Ge) {
                                "start"
                            } else {
                                "end"
                            };
                            return Err(CqlError::invalid(format!(
                                "More than one restriction was found for the {bound} bound on {column}"
                            )));
                        }
                        *slot = Some((v, inclusive));
                    }
                    Operator::Ne => {
                        return Err(CqlError::invalid(format!(
                            "Unsupported \"!=\" relation: {column} != {value}"
                        )))
                    }
                    Operator::Contains | Operator::ContainsKey => {
                        return Err(CqlError::invalid(format!(
                            "Cannot restrict column \"{column}\" by a CONTAINS relation without a secondary index"
                        )))
                    }
                }
            }
            Relation::In { column, values } => {
                let def = schema
                    .column(column)
                    .ok_or_else(|| CqlError::invalid(format!("Undefined column name {column}")))?;
                if !schema.is_primary_key(column) {
                    r.non_key.push(column.clone());
                    let mut vs = Vec::new();
                    for t in values {
                        if let Some(v) = convert::value(t, &def.ty, column, ctx)? {
                            vs.push(v);
                        }
                    }
                    r.filters.push((column.clone(), Filter::In(vs)));
                    continue;
                }
                if r.eq.contains_key(column) {
                    return Err(CqlError::invalid(format!(
                        "{column} cannot be restricted by more than one relation if it includes a IN"
                    )));
                }
                let mut vs = Vec::new();
                for t in values {
                    let v = convert::value(t, &def.ty, column, ctx)?.ok_or_else(|| {
                        CqlError::invalid(format!("Invalid null value in condition for column {column}"))
                    })?;
                    if !vs.contains(&v) {
                        vs.push(v);
                    }
                }
                vs.sort();
                r.eq.insert(column.clone(), vs);
            }
            Relation::IsNotNull { column } => {
                return Err(CqlError::invalid(format!(
                    "Unsupported restriction: {column} IS NOT NULL"
                )))
            }
            Relation::Tuple { .. } | Relation::TupleIn { .. } => return Err(CqlError::invalid(
                "Multi-column relations are not supported by this engine; restrict each clustering column separately",
            )),
            Relation::Token { .. } => {
                return Err(CqlError::invalid(match usage {
                    Use::Select => "token() restrictions are not supported by this engine",
                    Use::Update => "The token function cannot be used in WHERE clauses for UPDATE statements",
                    Use::Delete => "The token function cannot be used in WHERE clauses for DELETE statements",
                }))
            }
        }
    }
    Ok(r)
}

impl KeyRestrictions {
    /// The partition keys (the product of every partition-key column's values), or `None` when
    /// no partition-key column is restricted.
    pub fn partition_keys(&self, schema: &TableSchema) -> Result<Option<Vec<Vec<Value>>>, CqlError> {
        let missing: Vec<&String> = schema
            .partition_key
            .iter()
            .filter(|c| !self.eq.contains_key(*c))
            .collect();
        if missing.len() == schema.partition_key.len() {
            return Ok(None);
        }
        if !missing.is_empty() {
            return Err(CqlError::invalid(format!(
                "Some partition key parts are missing: {}",
                join(&missing)
            )));
        }
        Ok(Some(product(schema.partition_key.iter().map(|c| &self.eq[c]))?))
    }

    /// The clustering restriction: equality prefixes (the product of the leading restricted
    /// columns) and an optional slice on the next column.
    pub fn clustering(&self, schema: &TableSchema) -> Result<ClusteringRestriction, CqlError> {
        let mut eq_cols = Vec::new();
        let mut slice = None;
        let mut last_restricted: Option<&String> = None;
        let mut gap: Option<&String> = None;
        for c in &schema.clustering {
            let is_eq = self.eq.contains_key(c);
            let is_slice = self.slices.contains_key(c);
            if !is_eq && !is_slice {
                if gap.is_none() {
                    gap = Some(c);
                }
                continue;
            }
            if let Some(g) = gap {
                return Err(CqlError::invalid(format!(
                    "PRIMARY KEY column \"{c}\" cannot be restricted as preceding column \"{g}\" is not restricted"
                )));
            }
            if slice.is_some() {
                let prev = last_restricted.map(String::as_str).unwrap_or("");
                return Err(CqlError::invalid(format!(
                    "Clustering column \"{c}\" cannot be restricted (preceding column \"{prev}\" is restricted by a non-EQ relation)"
                )));
            }
            if is_eq {
                eq_cols.push(c);
            } else {
                slice = self.slices.get(c).cloned();
            }
            last_restricted = Some(c);
        }
        Ok(ClusteringRestriction {
            prefixes: product(eq_cols.iter().map(|c| &self.eq[*c]))?,
            slice,
            full: eq_cols.len() == schema.clustering.len(),
        })
    }
}

/// A WHERE clause's clustering part.
#[derive(Debug)]
pub struct ClusteringRestriction {
    /// Equality prefixes, in clustering-column order (one empty prefix when none).
    pub prefixes: Vec<Vec<Value>>,
    /// A slice on the column right after the prefix.
    pub slice: Option<(SliceEnd, SliceEnd)>,
    /// Every clustering column is restricted by equality: the prefixes are whole keys.
    pub full: bool,
}

impl ClusteringRestriction {
    pub fn is_unrestricted(&self) -> bool {
        self.slice.is_none() && self.prefixes.iter().all(|p| p.is_empty())
    }

    /// The slices, in clustering order, that the restriction selects.
    pub fn slices(&self, schema: &TableSchema) -> Vec<Slice> {
        let desc = schema.clustering_desc();
        let parts = |vals: &[Value]| -> Vec<KeyPart> {
            vals.iter()
                .zip(&desc)
                .map(|(v, d)| KeyPart {
                    value: v.clone(),
                    desc: *d,
                })
                .collect()
        };
        self.prefixes
            .iter()
            .map(|prefix| {
                let base = parts(prefix);
                let Some((lo, hi)) = &self.slice else {
                    return if base.is_empty() {
                        Slice::all()
                    } else {
                        Slice::prefix(base)
                    };
                };
                let col_desc = desc.get(prefix.len()).copied().unwrap_or(false);
                let bound = |end: &SliceEnd| match end {
                    Some((v, inclusive)) => {
                        let mut p = base.clone();
                        p.push(KeyPart {
                            value: v.clone(),
                            desc: col_desc,
                        });
                        Bound {
                            prefix: p,
                            inclusive: *inclusive,
                        }
                    }
                    None => Bound {
                        prefix: base.clone(),
                        inclusive: true,
                    },
                };
                // A DESC column's lower values come last in clustering order.
                let (start, end) = if col_desc {
                    (bound(hi), bound(lo))
                } else {
                    (bound(lo), bound(hi))
                };
                Slice { start, end }
            })
            .collect()
    }
}

fn join(cols: &[&String]) -> String {
    cols.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
}

/// The most keys a product of `IN` restrictions may name (Cassandra bounds it too, with a
/// guardrail); beyond it a short statement could ask for billions of keys.
pub const MAX_CARTESIAN_PRODUCT: usize = 100_000;

/// The cartesian product of per-column value lists, in order.
fn product<'a>(lists: impl Iterator<Item = &'a Vec<Value>>) -> Result<Vec<Vec<Value>>, CqlError> {
    let mut out: Vec<Vec<Value>> = vec![Vec::new()];
    for list in lists {
        if out.len().saturating_mul(list.len()) > MAX_CARTESIAN_PRODUCT {
            return Err(CqlError::invalid(format!(
                "The cartesian product of the IN restrictions names more than {MAX_CARTESIAN_PRODUCT} keys"
            )));
        }
        out = out
            .into_iter()
            .flat_map(|prefix| {
                list.iter().map(move |v| {
                    let mut p = prefix.clone();
                    p.push(v.clone());
                    p
                })
            })
            .collect();
    }
    Ok(out)
}
