//! Table and view definitions.
//!
//! A view is a table with a [`ViewDef`]: it is stored, read and reconciled like any table, and
//! the definition says how base rows map to its rows (`docs/cassandra-semantics.md` §4, §10).

use super::data::{ClusteringKey, KeyPart};
use super::value::{DataType, Value};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ColumnKind {
    PartitionKey,
    Clustering { desc: bool },
    Static,
    Regular,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnDef {
    pub name: String,
    pub ty: DataType,
    pub kind: ColumnKind,
}

/// A restriction in a view's `WHERE` on a base primary-key column (cassandra-semantics §3 `matchesViewFilter`).
/// `IS NOT NULL` filters nothing and is not represented here.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Restriction {
    Eq(Value),
    In(Vec<Value>),
    Lt(Value),
    Le(Value),
    Gt(Value),
    Ge(Value),
}

impl Restriction {
    pub fn matches(&self, v: &Value) -> bool {
        match self {
            Restriction::Eq(x) => v == x,
            Restriction::In(xs) => xs.contains(v),
            Restriction::Lt(x) => v < x,
            Restriction::Le(x) => v <= x,
            Restriction::Gt(x) => v > x,
            Restriction::Ge(x) => v >= x,
        }
    }
}

/// What makes a table a materialized view.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ViewDef {
    /// The base table's name (same keyspace).
    pub base: String,
    /// `SELECT *` (`ViewMetadata.includeAllColumns`): a column added to the base later is
    /// added to the view too.
    pub include_all: bool,
    /// The base regular column in the view's primary key (**V**, cassandra-semantics §1), if any.
    pub v_column: Option<String>,
    /// Restrictions on base primary-key columns, by column name.
    pub restrictions: Vec<(String, Restriction)>,
    /// The `WHERE` clause as written, for `system_schema`-style display.
    pub where_text: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableSchema {
    pub keyspace: String,
    pub name: String,
    pub partition_key: Vec<String>,
    pub clustering: Vec<String>,
    pub columns: BTreeMap<String, ColumnDef>,
    pub view: Option<ViewDef>,
    pub default_ttl: u32,
}

impl TableSchema {
    pub fn column(&self, name: &str) -> Option<&ColumnDef> {
        self.columns.get(name)
    }

    pub fn is_view(&self) -> bool {
        self.view.is_some()
    }

    pub fn is_primary_key(&self, name: &str) -> bool {
        self.partition_key.iter().any(|c| c == name) || self.clustering.iter().any(|c| c == name)
    }

    pub fn clustering_desc(&self) -> Vec<bool> {
        self.clustering
            .iter()
            .map(|c| {
                matches!(
                    self.columns.get(c).map(|d| d.kind),
                    Some(ColumnKind::Clustering { desc: true })
                )
            })
            .collect()
    }

    /// A clustering key from values in clustering-column order.
    pub fn clustering_key(&self, values: Vec<Value>) -> ClusteringKey {
        ClusteringKey(
            values
                .into_iter()
                .zip(self.clustering_desc())
                .map(|(value, desc)| KeyPart { value, desc })
                .collect(),
        )
    }

    pub fn regular_columns(&self) -> impl Iterator<Item = &ColumnDef> {
        self.columns.values().filter(|c| c.kind == ColumnKind::Regular)
    }

    pub fn static_columns(&self) -> impl Iterator<Item = &ColumnDef> {
        self.columns.values().filter(|c| c.kind == ColumnKind::Static)
    }

    /// `SELECT *` order: partition key, clustering, then the other columns alphabetically,
    /// static columns before regular ones (Cassandra iterates statics first).
    pub fn select_star_order(&self) -> Vec<String> {
        let mut out: Vec<String> = self.partition_key.clone();
        out.extend(self.clustering.iter().cloned());
        out.extend(self.static_columns().map(|c| c.name.clone()));
        out.extend(self.regular_columns().map(|c| c.name.clone()));
        out
    }

    /// Whether reads of this table use strict liveness (cassandra-semantics §1): a view with a V column, when the
    /// rules enforce it.
    pub fn strict_liveness(&self, rules_strict: bool) -> bool {
        rules_strict && self.view.as_ref().is_some_and(|v| v.v_column.is_some())
    }
}
