//! `DESCRIBE`: the schema as CQL that recreates it.
//!
//! Cassandra 4 answers DESCRIBE on the server with rows `keyspace_name, type, name,
//! create_statement` (listings leave out `create_statement`), and cqlsh prints the statements.
//! This engine does the same, so a native-protocol front end gets DESCRIBE for free and the
//! shell only prints the last column.
//!
//! What is written is what this engine keeps: column types and kinds, the primary key,
//! clustering order, the view's selection, WHERE clause (as written) and key, and the two
//! table options it honours (`default_time_to_live`, `gc_grace_seconds`). Feeding the output to
//! a fresh engine recreates the same schema (tested), which is the property that matters; the
//! text is close to, not byte-equal with, Cassandra's (which lists every option it has).

use super::error::{CqlError, Rows};
use super::exec::{Engine, Table};
use super::schema::{ColumnKind, TableSchema};
use super::value::Value;
use crate::cql::ast::{quote_ident, Describe, OptionSetting};

/// The default keyspace was never created by a statement; this is what recreates it.
const DEFAULT_REPLICATION: &str = "{'class': 'SimpleStrategy', 'replication_factor': '1'}";

impl Engine {
    pub(super) fn describe(&self, d: &Describe) -> Result<Rows, CqlError> {
        let mut out = Out::default();
        match d {
            Describe::Keyspaces => {
                for (ks, _) in self.keyspaces() {
                    out.list(ks, "keyspace", ks);
                }
                return Ok(out.listing());
            }
            Describe::Tables => {
                for (ks, name, t) in self.tables() {
                    if !t.schema.is_view() {
                        out.list(ks, "table", name);
                    }
                }
                return Ok(out.listing());
            }
            Describe::Schema => {
                for (ks, _) in self.keyspaces() {
                    self.keyspace_into(ks, &mut out);
                }
            }
            Describe::Keyspace(name) => {
                let ks = name.clone().unwrap_or_else(|| self.current_keyspace().to_string());
                if !self.keyspaces().any(|(k, _)| k == ks) {
                    return Err(CqlError::invalid(format!("'{ks}' not found in keyspaces")));
                }
                self.keyspace_into(&ks, &mut out);
            }
            Describe::Table(qn) => {
                let (ks, name) = self.resolve(qn);
                match self.table(&ks, &name) {
                    Some(t) if !t.schema.is_view() => self.table_into(t, &mut out),
                    Some(_) => {
                        return Err(CqlError::invalid(format!(
                            "'{name}' is a materialized view, not a table: DESCRIBE MATERIALIZED VIEW {ks}.{name}"
                        )))
                    }
                    None => return Err(CqlError::invalid(format!("Table '{ks}.{name}' not found"))),
                }
            }
            Describe::View(qn) => {
                let (ks, name) = self.resolve(qn);
                match self.table(&ks, &name) {
                    Some(t) if t.schema.is_view() => out.object(&t.schema, "materialized_view", view_cql(t)),
                    _ => {
                        return Err(CqlError::invalid(format!(
                            "Materialized view '{ks}.{name}' not found"
                        )))
                    }
                }
            }
            Describe::Name(qn) => {
                if qn.keyspace.is_none() && self.keyspaces().any(|(k, _)| k == qn.name) {
                    self.keyspace_into(&qn.name, &mut out);
                } else {
                    let (ks, name) = self.resolve(qn);
                    match self.table(&ks, &name) {
                        Some(t) if t.schema.is_view() => out.object(&t.schema, "materialized_view", view_cql(t)),
                        Some(t) => self.table_into(t, &mut out),
                        None => {
                            return Err(CqlError::invalid(format!(
                                "'{name}' not found in keyspace '{ks}'"
                            )))
                        }
                    }
                }
            }
        }
        Ok(out.statements())
    }

    /// The keyspace, then each table followed by its views (a view needs its base first).
    fn keyspace_into(&self, ks: &str, out: &mut Out) {
        let options = self.keyspaces().find(|(k, _)| *k == ks).map_or(&[][..], |(_, o)| o);
        out.rows.push(vec![
            text(ks),
            text("keyspace"),
            text(ks),
            text(&keyspace_cql(ks, options)),
        ]);
        for (k, _, t) in self.tables() {
            if k == ks && !t.schema.is_view() {
                self.table_into(t, out);
            }
        }
    }

    fn table_into(&self, t: &Table, out: &mut Out) {
        out.object(&t.schema, "table", table_cql(t));
        for v in &t.views {
            if let Some(vt) = self.table(&t.schema.keyspace, v) {
                out.object(&vt.schema, "materialized_view", view_cql(vt));
            }
        }
    }
}

#[derive(Default)]
struct Out {
    rows: Vec<Vec<Option<Value>>>,
}

impl Out {
    fn list(&mut self, ks: &str, ty: &str, name: &str) {
        self.rows.push(vec![text(ks), text(ty), text(name)]);
    }

    fn object(&mut self, s: &TableSchema, ty: &str, cql: String) {
        self.rows
            .push(vec![text(&s.keyspace), text(ty), text(&s.name), text(&cql)]);
    }

    fn listing(self) -> Rows {
        Rows {
            columns: vec!["keyspace_name".into(), "type".into(), "name".into()],
            rows: self.rows,
        }
    }

    fn statements(self) -> Rows {
        Rows {
            columns: vec![
                "keyspace_name".into(),
                "type".into(),
                "name".into(),
                "create_statement".into(),
            ],
            rows: self.rows,
        }
    }
}

fn text(s: &str) -> Option<Value> {
    Some(Value::Text(s.to_string()))
}

fn keyspace_cql(ks: &str, options: &[OptionSetting]) -> String {
    let mut with: Vec<String> = options.iter().map(|o| format!("{} = {}", o.name, o.value)).collect();
    if with.is_empty() {
        with.push(format!("replication = {DEFAULT_REPLICATION}"));
    }
    format!("CREATE KEYSPACE {} WITH {};", quote_ident(ks), with.join(" AND "))
}

fn qualified(s: &TableSchema) -> String {
    format!("{}.{}", quote_ident(&s.keyspace), quote_ident(&s.name))
}

/// `PRIMARY KEY (k, c)` or `PRIMARY KEY ((k1, k2), c)`.
fn primary_key(s: &TableSchema) -> String {
    let names = |cols: &[String]| cols.iter().map(|c| quote_ident(c)).collect::<Vec<_>>().join(", ");
    let partition = if s.partition_key.len() == 1 {
        names(&s.partition_key)
    } else {
        format!("({})", names(&s.partition_key))
    };
    if s.clustering.is_empty() {
        format!("PRIMARY KEY ({partition})")
    } else {
        format!("PRIMARY KEY ({partition}, {})", names(&s.clustering))
    }
}

/// The `WITH` clause: clustering order (when there are clustering columns) and options.
fn with_clause(s: &TableSchema, options: &[String]) -> String {
    let mut parts = Vec::new();
    if !s.clustering.is_empty() {
        let order: Vec<String> = s
            .clustering
            .iter()
            .zip(s.clustering_desc())
            .map(|(c, desc)| format!("{} {}", quote_ident(c), if desc { "DESC" } else { "ASC" }))
            .collect();
        parts.push(format!("CLUSTERING ORDER BY ({})", order.join(", ")));
    }
    parts.extend(options.iter().cloned());
    format!(" WITH {}", parts.join("\n    AND "))
}

fn table_cql(t: &Table) -> String {
    let s = &t.schema;
    let mut lines = Vec::new();
    for name in s.select_star_order() {
        let Some(c) = s.column(&name) else { continue };
        let suffix = if c.kind == ColumnKind::Static { " static" } else { "" };
        lines.push(format!("    {} {}{suffix}", quote_ident(&c.name), c.ty));
    }
    lines.push(format!("    {}", primary_key(s)));
    let options = [
        format!("default_time_to_live = {}", s.default_ttl),
        format!("gc_grace_seconds = {}", t.gc_grace_seconds),
    ];
    format!(
        "CREATE TABLE {} (\n{}\n){};",
        qualified(s),
        lines.join(",\n"),
        with_clause(s, &options)
    )
}

fn view_cql(t: &Table) -> String {
    let s = &t.schema;
    let Some(def) = &s.view else {
        return table_cql(t);
    };
    let selection = if def.include_all {
        "*".to_string()
    } else {
        s.select_star_order()
            .iter()
            .map(|c| quote_ident(c))
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        "CREATE MATERIALIZED VIEW {} AS\n    SELECT {selection}\n    FROM {}.{}\n    WHERE {}\n    {}\n   {};",
        qualified(s),
        quote_ident(&s.keyspace),
        quote_ident(&def.base),
        def.where_text,
        primary_key(s),
        with_clause(s, &[format!("gc_grace_seconds = {}", t.gc_grace_seconds)])
    )
}
