//! The system tables a driver reads when it connects and after each schema change, answered
//! from the engine's schema: `system.local`, `system.peers`, `system.peers_v2` and the
//! `system_schema` tables (plus `system_virtual_schema`'s, which the Python driver asks for
//! on a 4.x server).
//!
//! Truthful means: every keyspace, table, view and column listed exists in the engine with
//! that type, key position and clustering order; a view's base and WHERE clause are its
//! definition's. The node is alone, so `peers` is empty and it owns the whole ring with one
//! token. Options the engine does not have (compaction, caching, ...) are not listed at all
//! rather than invented; the drivers read only the options present. Tables with nothing to
//! list here (functions, types, triggers, indexes, virtual tables) answer with their columns
//! and no rows.

use super::messages::ColSpec;
use super::types::WireType;
use crate::cql::ast::{Operator, Relation, Select, Selection, SelectorExpr, Term};
use crate::engine::value::format_uuid;
use crate::engine::{ColumnKind, CqlError, Engine, Value};
use std::collections::hash_map::DefaultHasher;
use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};

/// What `system.local` says about this node.
#[derive(Clone, Debug)]
pub struct NodeInfo {
    pub cluster_name: String,
    /// The address clients reach it on (`rpc_address`, `broadcast_address`).
    pub address: String,
    pub port: u16,
    pub host_id: [u8; 16],
}

/// A keyspace's options as CREATE KEYSPACE gave them (the engine keeps only the name).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyspaceInfo {
    pub replication: BTreeMap<String, String>,
    pub durable_writes: bool,
}

/// The release this server's semantics follow (the engine's "current" rules are 4.0's), with
/// a suffix that tells a person it is not Apache Cassandra.
pub const RELEASE_VERSION: &str = "4.0.0-mvcheck";
pub const CQL_VERSION: &str = "3.4.5";

/// A synthetic table: its columns and rows.
pub struct SysRows {
    pub specs: Vec<ColSpec>,
    pub rows: Vec<Vec<Option<Value>>>,
}

/// Whether `keyspace.table` is answered here rather than by the engine.
pub fn is_system(keyspace: &str, table: &str) -> bool {
    matches!(keyspace, "system_schema" | "system_virtual_schema")
        || (keyspace == "system" && matches!(table, "local" | "peers" | "peers_v2"))
}

/// A uuid from a hash of some text: stable ids for tables and the schema version.
pub fn uuid_of(text: &str) -> [u8; 16] {
    let mut out = [0u8; 16];
    for (i, half) in out.chunks_mut(8).enumerate() {
        let mut h = DefaultHasher::new();
        (i, text).hash(&mut h);
        half.copy_from_slice(&h.finish().to_be_bytes());
    }
    // Version 3 (name-based) and the IETF variant, so drivers read it as a plain uuid.
    out[6] = (out[6] & 0x0f) | 0x30;
    out[8] = (out[8] & 0x3f) | 0x80;
    out
}

/// The schema version: changes whenever a keyspace, table, view or column does.
pub fn schema_version(engine: &Engine, keyspaces: &BTreeMap<String, KeyspaceInfo>) -> [u8; 16] {
    let mut text = format!("{keyspaces:?}");
    for (ks, name, t) in engine.tables() {
        text.push_str(&format!("{ks}.{name}:{:?}", t.schema));
    }
    uuid_of(&text)
}

fn col(keyspace: &str, table: &str, name: &str, ty: WireType) -> ColSpec {
    ColSpec {
        keyspace: keyspace.into(),
        table: table.into(),
        name: name.into(),
        ty,
    }
}

fn text(s: &str) -> Option<Value> {
    Some(Value::Text(s.to_string()))
}

fn text_map(m: &BTreeMap<String, String>) -> Option<Value> {
    Some(Value::Map(
        m.iter()
            .map(|(k, v)| (Value::Text(k.clone()), Value::Text(v.clone())))
            .collect(),
    ))
}

fn set_of_text() -> WireType {
    WireType::Set(Box::new(WireType::Varchar))
}

fn list_of_text() -> WireType {
    WireType::List(Box::new(WireType::Varchar))
}

fn map_of_text() -> WireType {
    WireType::Map(Box::new(WireType::Varchar), Box::new(WireType::Varchar))
}

/// The whole table, before the SELECT's restrictions and selection.
fn table(
    keyspace: &str,
    name: &str,
    engine: &Engine,
    keyspaces: &BTreeMap<String, KeyspaceInfo>,
    node: &NodeInfo,
    with_rows: bool,
) -> Option<SysRows> {
    use WireType::*;
    let cols = |list: &[(&str, WireType)]| -> Vec<ColSpec> {
        list.iter().map(|(n, t)| col(keyspace, name, n, t.clone())).collect()
    };
    let empty = |list: &[(&str, WireType)]| {
        Some(SysRows {
            specs: cols(list),
            rows: Vec::new(),
        })
    };
    let schema_version = Some(Value::Uuid(schema_version(engine, keyspaces)));
    match (keyspace, name) {
        ("system", "local") => Some(SysRows {
            specs: cols(&[
                ("key", Varchar),
                ("bootstrapped", Varchar),
                ("broadcast_address", Inet),
                ("broadcast_port", Int),
                ("cluster_name", Varchar),
                ("cql_version", Varchar),
                ("data_center", Varchar),
                ("host_id", Uuid),
                ("listen_address", Inet),
                ("listen_port", Int),
                ("native_protocol_version", Varchar),
                ("partitioner", Varchar),
                ("rack", Varchar),
                ("release_version", Varchar),
                ("rpc_address", Inet),
                ("rpc_port", Int),
                ("schema_version", Uuid),
                ("tokens", set_of_text()),
            ]),
            rows: vec![vec![
                text("local"),
                text("COMPLETED"),
                text(&node.address),
                Some(Value::Int(i32::from(node.port))),
                text(&node.cluster_name),
                text(CQL_VERSION),
                text("datacenter1"),
                Some(Value::Uuid(node.host_id)),
                text(&node.address),
                Some(Value::Int(i32::from(node.port))),
                text("4"),
                text("org.apache.cassandra.dht.Murmur3Partitioner"),
                text("rack1"),
                text(RELEASE_VERSION),
                text(&node.address),
                Some(Value::Int(i32::from(node.port))),
                schema_version,
                // One node owns the whole ring: one token, the ring's start.
                Some(Value::Set(vec![Value::Text(i64::MIN.to_string())])),
            ]],
        }),
        ("system", "peers") => empty(&[
            ("peer", Inet),
            ("data_center", Varchar),
            ("host_id", Uuid),
            ("preferred_ip", Inet),
            ("rack", Varchar),
            ("release_version", Varchar),
            ("rpc_address", Inet),
            ("schema_version", Uuid),
            ("tokens", set_of_text()),
        ]),
        ("system", "peers_v2") => empty(&[
            ("peer", Inet),
            ("peer_port", Int),
            ("data_center", Varchar),
            ("host_id", Uuid),
            ("native_address", Inet),
            ("native_port", Int),
            ("preferred_ip", Inet),
            ("preferred_port", Int),
            ("rack", Varchar),
            ("release_version", Varchar),
            ("schema_version", Uuid),
            ("tokens", set_of_text()),
        ]),
        ("system_schema", "keyspaces") => {
            let local = KeyspaceInfo {
                replication: [(
                    "class".to_string(),
                    "org.apache.cassandra.locator.LocalStrategy".to_string(),
                )]
                .into_iter()
                .collect(),
                durable_writes: true,
            };
            let mut rows = Vec::new();
            for (ks, info) in [("system", &local), ("system_schema", &local)]
                .into_iter()
                .chain(keyspaces.iter().map(|(k, v)| (k.as_str(), v)))
            {
                rows.push(vec![
                    text(ks),
                    Some(Value::Boolean(info.durable_writes)),
                    text_map(&info.replication),
                ]);
            }
            Some(SysRows {
                specs: cols(&[
                    ("keyspace_name", Varchar),
                    ("durable_writes", Boolean),
                    ("replication", map_of_text()),
                ]),
                rows,
            })
        }
        ("system_schema", "tables") => {
            let table_row = |ks: &str, name: &str, ttl: u32, gc_grace: i64| {
                vec![
                    text(ks),
                    text(name),
                    text(""),
                    Some(Value::Int(ttl as i32)),
                    Some(Value::Set(vec![Value::Text("compound".into())])),
                    Some(Value::Int(gc_grace.clamp(0, i64::from(i32::MAX)) as i32)),
                    Some(Value::Uuid(uuid_of(&format!("table {ks}.{name}")))),
                ]
            };
            let described = if with_rows {
                described(engine, keyspaces, node)
            } else {
                Vec::new()
            };
            let mut rows: Vec<Vec<Option<Value>>> =
                described.iter().map(|d| table_row(d.keyspace, d.name, 0, 0)).collect();
            rows.extend(
                engine
                    .tables()
                    .filter(|(_, _, t)| !t.schema.is_view())
                    .map(|(ks, name, t)| table_row(ks, name, t.schema.default_ttl, t.gc_grace_seconds)),
            );
            Some(SysRows {
                specs: cols(&[
                    ("keyspace_name", Varchar),
                    ("table_name", Varchar),
                    ("comment", Varchar),
                    ("default_time_to_live", Int),
                    ("flags", set_of_text()),
                    ("gc_grace_seconds", Int),
                    ("id", Uuid),
                ]),
                rows,
            })
        }
        ("system_schema", "views") => {
            let rows = engine
                .tables()
                .filter_map(|(ks, name, t)| {
                    let def = t.schema.view.as_ref()?;
                    Some(vec![
                        text(ks),
                        text(name),
                        Some(Value::Uuid(uuid_of(&format!("table {ks}.{}", def.base)))),
                        text(&def.base),
                        text(""),
                        Some(Value::Int(t.schema.default_ttl as i32)),
                        Some(Value::Int(t.gc_grace_seconds.clamp(0, i64::from(i32::MAX)) as i32)),
                        Some(Value::Uuid(uuid_of(&format!("table {ks}.{name}")))),
                        Some(Value::Boolean(def.include_all)),
                        text(&def.where_text),
                    ])
                })
                .collect();
            Some(SysRows {
                specs: cols(&[
                    ("keyspace_name", Varchar),
                    ("view_name", Varchar),
                    ("base_table_id", Uuid),
                    ("base_table_name", Varchar),
                    ("comment", Varchar),
                    ("default_time_to_live", Int),
                    ("gc_grace_seconds", Int),
                    ("id", Uuid),
                    ("include_all_columns", Boolean),
                    ("where_clause", Varchar),
                ]),
                rows,
            })
        }
        ("system_schema", "columns") => {
            let mut rows = Vec::new();
            let described = if with_rows {
                described(engine, keyspaces, node)
            } else {
                Vec::new()
            };
            for d in described {
                for (i, (c, ty)) in d.columns.iter().enumerate() {
                    let (kind, position, order) = if i < d.partition {
                        ("partition_key", i as i32, "none")
                    } else if i < d.partition + d.clustering {
                        ("clustering", (i - d.partition) as i32, "asc")
                    } else {
                        ("regular", -1, "none")
                    };
                    rows.push(vec![
                        text(d.keyspace),
                        text(d.name),
                        text(c),
                        text(order),
                        Some(Value::Text(c.bytes().map(|b| format!("{b:02x}")).collect())),
                        text(kind),
                        Some(Value::Int(position)),
                        text(&ty.cql_name()),
                    ]);
                }
            }
            for (ks, name, t) in engine.tables() {
                for c in t.schema.columns.values() {
                    let (kind, position, order) = match c.kind {
                        ColumnKind::PartitionKey => (
                            "partition_key",
                            t.schema.partition_key.iter().position(|p| p == &c.name),
                            "none",
                        ),
                        ColumnKind::Clustering { desc } => (
                            "clustering",
                            t.schema.clustering.iter().position(|p| p == &c.name),
                            if desc { "desc" } else { "asc" },
                        ),
                        ColumnKind::Static => ("static", None, "none"),
                        ColumnKind::Regular => ("regular", None, "none"),
                    };
                    rows.push(vec![
                        text(ks),
                        text(name),
                        text(&c.name),
                        text(order),
                        Some(Value::Text(c.name.bytes().map(|b| format!("{b:02x}")).collect())),
                        text(kind),
                        Some(Value::Int(position.map_or(-1, |p| p as i32))),
                        text(&c.ty.to_string()),
                    ]);
                }
            }
            Some(SysRows {
                specs: cols(&[
                    ("keyspace_name", Varchar),
                    ("table_name", Varchar),
                    ("column_name", Varchar),
                    ("clustering_order", Varchar),
                    ("column_name_bytes", Blob),
                    ("kind", Varchar),
                    ("position", Int),
                    ("type", Varchar),
                ]),
                rows,
            })
        }
        ("system_schema", "types") => empty(&[
            ("keyspace_name", Varchar),
            ("type_name", Varchar),
            ("field_names", list_of_text()),
            ("field_types", list_of_text()),
        ]),
        ("system_schema", "functions") => empty(&[
            ("keyspace_name", Varchar),
            ("function_name", Varchar),
            ("argument_types", list_of_text()),
            ("argument_names", list_of_text()),
            ("body", Varchar),
            ("called_on_null_input", Boolean),
            ("language", Varchar),
            ("return_type", Varchar),
        ]),
        ("system_schema", "aggregates") => empty(&[
            ("keyspace_name", Varchar),
            ("aggregate_name", Varchar),
            ("argument_types", list_of_text()),
            ("final_func", Varchar),
            ("initcond", Varchar),
            ("return_type", Varchar),
            ("state_func", Varchar),
            ("state_type", Varchar),
        ]),
        ("system_schema", "triggers") => empty(&[
            ("keyspace_name", Varchar),
            ("table_name", Varchar),
            ("trigger_name", Varchar),
            ("options", map_of_text()),
        ]),
        ("system_schema", "indexes") => empty(&[
            ("keyspace_name", Varchar),
            ("table_name", Varchar),
            ("index_name", Varchar),
            ("kind", Varchar),
            ("options", map_of_text()),
        ]),
        ("system_schema", "dropped_columns") => empty(&[
            ("keyspace_name", Varchar),
            ("table_name", Varchar),
            ("column_name", Varchar),
            ("dropped_time", Timestamp),
            ("kind", Varchar),
            ("type", Varchar),
        ]),
        ("system_virtual_schema", "keyspaces") => empty(&[("keyspace_name", Varchar)]),
        ("system_virtual_schema", "tables") => empty(&[
            ("keyspace_name", Varchar),
            ("table_name", Varchar),
            ("comment", Varchar),
        ]),
        ("system_virtual_schema", "columns") => empty(&[
            ("keyspace_name", Varchar),
            ("table_name", Varchar),
            ("column_name", Varchar),
            ("clustering_order", Varchar),
            ("column_name_bytes", Blob),
            ("kind", Varchar),
            ("position", Int),
            ("type", Varchar),
        ]),
        _ => None,
    }
}

/// A system table as `system_schema` describes it: the first `partition` columns are the
/// partition key, the next `clustering` the clustering columns.
struct Described {
    keyspace: &'static str,
    name: &'static str,
    columns: Vec<(String, WireType)>,
    partition: usize,
    clustering: usize,
}

/// Every system table this node answers, here or in the engine (its view-build status
/// tables), so that clients that look a table up in the schema before reading it (cqlsh
/// does) find it.
fn described(engine: &Engine, keyspaces: &BTreeMap<String, KeyspaceInfo>, node: &NodeInfo) -> Vec<Described> {
    const OURS: [(&str, &str, usize, usize); 13] = [
        ("system", "local", 1, 0),
        ("system", "peers", 1, 0),
        ("system", "peers_v2", 1, 1),
        ("system_schema", "keyspaces", 1, 0),
        ("system_schema", "tables", 1, 1),
        ("system_schema", "columns", 1, 2),
        ("system_schema", "views", 1, 1),
        ("system_schema", "types", 1, 1),
        ("system_schema", "functions", 1, 2),
        ("system_schema", "aggregates", 1, 2),
        ("system_schema", "triggers", 1, 2),
        ("system_schema", "indexes", 1, 2),
        ("system_schema", "dropped_columns", 1, 2),
    ];
    let mut out: Vec<Described> = OURS
        .iter()
        .filter_map(|(ks, name, partition, clustering)| {
            let t = table(ks, name, engine, keyspaces, node, false)?;
            Some(Described {
                keyspace: ks,
                name,
                columns: t.specs.into_iter().map(|s| (s.name, s.ty)).collect(),
                partition: *partition,
                clustering: *clustering,
            })
        })
        .collect();
    let text_cols = |names: &[&str]| -> Vec<(String, WireType)> {
        names.iter().map(|n| (n.to_string(), WireType::Varchar)).collect()
    };
    // The engine's status tables (`Engine`'s `system_table`), under both names it answers to.
    for name in ["built_views", "built_materialized_views"] {
        let mut columns = text_cols(&["keyspace_name", "view_name"]);
        if name == "built_views" {
            columns.push(("status_replicated".into(), WireType::Boolean));
        }
        out.push(Described {
            keyspace: "system",
            name,
            columns,
            partition: 1,
            clustering: 1,
        });
    }
    for name in ["view_builds_in_progress", "materialized_views_builds_in_progress"] {
        let mut columns = text_cols(&["keyspace_name", "view_name", "start_token", "end_token"]);
        columns.push(("keys_built".into(), WireType::BigInt));
        columns.push(("last_token".into(), WireType::Varchar));
        out.push(Described {
            keyspace: "system",
            name,
            columns,
            partition: 1,
            clustering: 3,
        });
    }
    out
}

/// Answers a SELECT on a system table: `*` or column names (with aliases), `count(*)`,
/// equality and IN on any column, LIMIT. Anything else is refused by name.
pub fn select(
    s: &Select,
    keyspace: &str,
    engine: &Engine,
    keyspaces: &BTreeMap<String, KeyspaceInfo>,
    node: &NodeInfo,
) -> Result<SysRows, CqlError> {
    let name = s.from.name.as_str();
    let t = table(keyspace, name, engine, keyspaces, node, true)
        .ok_or_else(|| CqlError::invalid(format!("unconfigured table {name}")))?;
    let position = |c: &str| {
        t.specs
            .iter()
            .position(|s| s.name == c)
            .ok_or_else(|| CqlError::invalid(format!("Undefined column name {c}")))
    };
    let mut rows = t.rows.clone();
    for rel in &s.where_clause {
        let (column, wanted): (&String, Vec<&Term>) = match rel {
            Relation::Compare {
                column,
                op: Operator::Eq,
                value,
            } => (column, vec![value]),
            Relation::In { column, values } => (column, values.iter().collect()),
            other => {
                return Err(CqlError::invalid(format!(
                    "Only = and IN restrictions are supported on system tables (got {other})"
                )))
            }
        };
        let i = position(column)?;
        let wanted: Vec<String> = wanted.iter().map(|t| term_text(t)).collect();
        rows.retain(|r| {
            r[i].as_ref()
                .is_some_and(|v| wanted.iter().any(|w| *w == value_text(v)))
        });
    }
    let mut out = match &s.selection {
        Selection::All => SysRows {
            specs: t.specs.clone(),
            rows,
        },
        Selection::Selectors(sels) => {
            if let [sel] = sels.as_slice() {
                if sel.expr == SelectorExpr::CountAll {
                    let mut spec = col(
                        keyspace,
                        name,
                        sel.alias.as_deref().unwrap_or("count"),
                        WireType::BigInt,
                    );
                    spec.table = name.into();
                    return Ok(SysRows {
                        specs: vec![spec],
                        rows: vec![vec![Some(Value::BigInt(rows.len() as i64))]],
                    });
                }
            }
            let mut idx = Vec::new();
            let mut specs = Vec::new();
            for sel in sels {
                let SelectorExpr::Column(c) = &sel.expr else {
                    return Err(CqlError::invalid(
                        "Only column names and count(*) can be selected from system tables",
                    ));
                };
                let i = position(c)?;
                let mut spec = t.specs[i].clone();
                if let Some(a) = &sel.alias {
                    spec.name = a.clone();
                }
                specs.push(spec);
                idx.push(i);
            }
            SysRows {
                specs,
                rows: rows
                    .into_iter()
                    .map(|r| idx.iter().map(|i| r[*i].clone()).collect())
                    .collect(),
            }
        }
    };
    match &s.limit {
        None => {}
        Some(Term::Integer(n)) => {
            let n: usize = n
                .parse()
                .map_err(|_| CqlError::invalid(format!("LIMIT must be strictly positive (got {n})")))?;
            out.rows.truncate(n);
        }
        Some(other) => return Err(CqlError::invalid(format!("Invalid LIMIT {other}"))),
    }
    Ok(out)
}

/// A restriction's literal as comparable text (system tables hold text, uuids and ints).
fn term_text(t: &Term) -> String {
    match t {
        Term::String(s) | Term::Integer(s) | Term::Uuid(s) => s.clone(),
        Term::Boolean(b) => b.to_string(),
        other => other.to_string(),
    }
}

fn value_text(v: &Value) -> String {
    match v {
        Value::Text(s) | Value::Ascii(s) => s.clone(),
        Value::Uuid(u) => format_uuid(u),
        other => other.to_cql(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cql::{ast::StmtKind, parse_statement};
    use crate::engine::EngineConfig;

    fn node() -> NodeInfo {
        NodeInfo {
            cluster_name: "mvcheck".into(),
            address: "127.0.0.1".into(),
            port: 9042,
            host_id: uuid_of("host"),
        }
    }

    fn run(engine: &Engine, q: &str) -> Result<SysRows, CqlError> {
        let StmtKind::Select(s) = parse_statement(q).unwrap().kind else {
            panic!()
        };
        let ks = s.from.keyspace.clone().unwrap();
        select(&s, &ks, engine, &BTreeMap::new(), &node())
    }

    #[test]
    fn columns_follow_the_engines_schema() {
        let mut e = Engine::new(EngineConfig::default());
        for r in e.execute_script(
            "CREATE TABLE t (k int, c text, v int, PRIMARY KEY (k, c)) WITH CLUSTERING ORDER BY (c DESC);
             CREATE MATERIALIZED VIEW mv AS SELECT * FROM t WHERE v IS NOT NULL AND k IS NOT NULL AND c IS NOT NULL PRIMARY KEY (v, k, c);",
        ) {
            r.unwrap();
        }
        let cols = run(
            &e,
            "SELECT column_name, kind, position, clustering_order FROM system_schema.columns WHERE keyspace_name = 'ks' AND table_name = 't'",
        )
        .unwrap();
        let got: Vec<String> = cols.rows.iter().map(|r| format!("{r:?}")).collect();
        assert_eq!(got.len(), 3);
        assert!(
            got[0].contains("\"c\"") && got[0].contains("clustering") && got[0].contains("desc"),
            "{got:?}"
        );
        let views = run(
            &e,
            "SELECT view_name, base_table_name, where_clause FROM system_schema.views",
        )
        .unwrap();
        assert_eq!(views.rows[0][0], text("mv"));
        assert_eq!(views.rows[0][1], text("t"));
        let tables = run(
            &e,
            "SELECT count(*) FROM system_schema.tables WHERE keyspace_name = 'ks'",
        )
        .unwrap();
        assert_eq!(tables.rows, vec![vec![Some(Value::BigInt(1))]], "a view is not a table");
    }

    #[test]
    fn the_schema_version_changes_with_the_schema() {
        let mut e = Engine::new(EngineConfig::default());
        let before = schema_version(&e, &BTreeMap::new());
        e.execute_script("CREATE TABLE t (k int PRIMARY KEY, v int);");
        assert_ne!(before, schema_version(&e, &BTreeMap::new()));
        let local = run(&e, "SELECT * FROM system.local WHERE key = 'local'").unwrap();
        assert_eq!(local.rows.len(), 1);
        assert!(run(&e, "SELECT nope FROM system.local").is_err());
        assert!(run(&e, "SELECT * FROM system.local WHERE key > 'a'").is_err());
    }
}
