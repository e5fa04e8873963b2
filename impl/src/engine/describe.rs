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
                    _ => return Err(CqlError::invalid(format!("Materialized view '{ks}.{name}' not found"))),
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
                        None => return Err(CqlError::invalid(format!("'{name}' not found in keyspace '{ks}'"))),
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

#[cfg(test)]
mod tests {
    use crate::engine::{Engine, EngineConfig, QueryResult, Value};

    const SCHEMA: &str = r#"
        CREATE KEYSPACE ks2 WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 3} AND durable_writes = true;
        CREATE TABLE ks2.t (k int, "Kk" text, c int, d timestamp, s int static, v list<int>,
            m frozen<map<text, int>>, n decimal, PRIMARY KEY ((k, "Kk"), c, d))
            WITH CLUSTERING ORDER BY (c DESC, d ASC) AND default_time_to_live = 100 AND gc_grace_seconds = 7;
        CREATE MATERIALIZED VIEW ks2.by_c AS SELECT k, "Kk", c, d, v FROM ks2.t
            WHERE c IS NOT NULL AND k IS NOT NULL AND "Kk" IS NOT NULL AND d IS NOT NULL AND c > 3
            PRIMARY KEY (c, k, "Kk", d) WITH CLUSTERING ORDER BY (k DESC, "Kk" ASC, d DESC);
        ALTER MATERIALIZED VIEW ks2.by_c WITH gc_grace_seconds = 99;
        CREATE TABLE ks2.u (id uuid PRIMARY KEY, name text, tags set<text>);
        CREATE MATERIALIZED VIEW ks2.u_by_name AS SELECT * FROM ks2.u
            WHERE name IS NOT NULL AND id IS NOT NULL PRIMARY KEY (name, id);
        CREATE TABLE plain (k bigint PRIMARY KEY, v double);
    "#;

    fn engine_with(src: &str) -> Engine {
        let mut e = Engine::new(EngineConfig::default());
        for (i, r) in e.execute_script(src).into_iter().enumerate() {
            if let Err(err) = r {
                panic!("statement {} of\n{src}\nfailed: {err:?}", i + 1);
            }
        }
        e
    }

    /// The `create_statement` column of a DESCRIBE, as one script.
    fn describe(e: &mut Engine, what: &str) -> String {
        let r = e.execute_script(&format!("DESCRIBE {what};")).remove(0);
        let Ok(QueryResult::Rows(rows)) = r else {
            panic!("DESCRIBE {what}: {r:?}")
        };
        let col = rows.columns.iter().position(|c| c == "create_statement").unwrap();
        rows.rows
            .iter()
            .map(|r| match &r[col] {
                Some(Value::Text(s)) => s.clone(),
                other => panic!("{other:?}"),
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn schema_of<'a>(e: &'a Engine, ks: &str) -> Vec<(&'a str, &'a crate::engine::Table)> {
        e.tables()
            .filter(|(k, _, _)| *k == ks)
            .map(|(_, n, t)| (n, t))
            .collect()
    }

    #[test]
    fn described_keyspaces_and_tables_recreate_the_same_schema() {
        let mut e = engine_with(SCHEMA);
        let ks2 = describe(&mut e, "KEYSPACE ks2");
        let plain = describe(&mut e, "TABLE plain");
        let mut fresh = engine_with(&format!("{ks2}\n{plain}"));
        // Same tables and views, same column types and kinds, keys, order, options, views list.
        for ks in ["ks", "ks2"] {
            let (a, b) = (schema_of(&e, ks), schema_of(&fresh, ks));
            assert_eq!(a.len(), b.len(), "{ks}");
            for ((na, ta), (nb, tb)) in a.iter().zip(&b) {
                assert_eq!(na, nb);
                assert_eq!(ta.schema, tb.schema, "{ks}.{na}");
                assert_eq!(ta.gc_grace_seconds, tb.gc_grace_seconds, "{ks}.{na}");
                assert_eq!(ta.views, tb.views, "{ks}.{na}");
            }
        }
        assert_eq!(e.keyspaces().collect::<Vec<_>>(), fresh.keyspaces().collect::<Vec<_>>());
        // And describing the copy gives the same text.
        assert_eq!(describe(&mut fresh, "KEYSPACE ks2"), ks2);
        assert_eq!(describe(&mut fresh, "SCHEMA"), describe(&mut e, "SCHEMA"));
        assert!(ks2.contains("gc_grace_seconds = 99"), "{ks2}");
    }

    #[test]
    fn listings_and_missing_names() {
        let mut e = engine_with(SCHEMA);
        let rows = |e: &mut Engine, q: &str| match e.execute_script(q).remove(0) {
            Ok(QueryResult::Rows(r)) => r
                .rows
                .iter()
                .map(|r| {
                    r.iter()
                        .map(|v| v.as_ref().map_or("null".into(), |v| v.to_cql()))
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .collect::<Vec<_>>(),
            other => panic!("{q}: {other:?}"),
        };
        assert_eq!(
            rows(&mut e, "DESCRIBE KEYSPACES;"),
            ["ks keyspace ks", "ks2 keyspace ks2"]
        );
        assert_eq!(
            rows(&mut e, "DESC TABLES;"),
            ["ks table plain", "ks2 table t", "ks2 table u"]
        );
        // A bare name finds a keyspace, else a table or view of the keyspace in use.
        assert!(describe(&mut e, "ks2").starts_with("CREATE KEYSPACE ks2"));
        assert!(describe(&mut e, "plain").starts_with("CREATE TABLE ks.plain"));
        assert!(describe(&mut e, "ks2.by_c").starts_with("CREATE MATERIALIZED VIEW ks2.by_c"));
        assert!(describe(&mut e, "KEYSPACE").starts_with("CREATE KEYSPACE ks WITH replication"));
        for (q, msg) in [
            ("DESCRIBE TABLE nope;", "Table 'ks.nope' not found"),
            (
                "DESCRIBE MATERIALIZED VIEW ks2.t;",
                "Materialized view 'ks2.t' not found",
            ),
            ("DESCRIBE KEYSPACE nope;", "'nope' not found in keyspaces"),
            ("DESCRIBE nope;", "'nope' not found in keyspace 'ks'"),
        ] {
            match e.execute_script(q).remove(0) {
                Err(err) => assert_eq!(err.message, msg, "{q}"),
                other => panic!("{q}: {other:?}"),
            }
        }
    }
}
