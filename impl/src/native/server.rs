//! The server core: one engine shared by every connection, and each connection's protocol
//! state. Bytes in, bytes out; the TCP shell (`mvcheck serve`) only moves them.
//!
//! **The statement hook.** Every statement a client runs, whatever message carried it (QUERY,
//! EXECUTE, BATCH), reaches the engine through [`Server::run_statement`], and only there. It
//! sets the node clock, runs the statement, and then finishes every running view build, so
//! that a view created over existing data answers the first SELECT after its CREATE, as the
//! seeds expect. When builds progress by time instead, that is the one place to change.

use super::binds::{self, Bound};
use super::frame::{self, Decoder, Frame, Opcode};
use super::messages::{self, code, BatchQuery, ColSpec, ErrorExtra, QueryParams, Request, SchemaChange};
use super::system::{self, KeyspaceInfo, NodeInfo};
use super::types::WireType;
use super::wire::RawValue;
use crate::cql::ast::{self, Selection, SelectorExpr, Stmt, StmtKind, Term};
use crate::cql::{self};
use crate::engine::{CqlError, DataType, Engine, EngineConfig, ErrorKind, QueryResult, Value, ViewRules};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::{Hash, Hasher};

/// How a server is set up.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    pub rules: ViewRules,
    pub max_frame: usize,
    pub node: NodeInfo,
}

struct Prepared {
    stmt: Stmt,
    keyspace: Option<String>,
    binds: Vec<ColSpec>,
}

/// The node: its engine, the keyspaces' options, the prepared statements.
pub struct Server {
    engine: Engine,
    node: NodeInfo,
    max_frame: usize,
    /// Every keyspace the engine has, with the options it was created with (the engine keeps
    /// names only). Kept in step by [`Server::run_statement`], the only way in.
    keyspaces: BTreeMap<String, KeyspaceInfo>,
    prepared: HashMap<Vec<u8>, Prepared>,
}

/// A RESULT to send, and the schema change it announces, if any.
struct Reply {
    body: Vec<u8>,
    warnings: Vec<String>,
    change: Option<SchemaChange>,
}

/// What a statement produced, before it is framed.
enum Outcome {
    Rows {
        specs: Vec<ColSpec>,
        rows: Vec<Vec<Option<Value>>>,
    },
    Void,
    SetKeyspace(String),
    SchemaChange(SchemaChange),
}

impl Server {
    pub fn new(cfg: ServerConfig) -> Server {
        let mut engine = Engine::new(EngineConfig {
            rules: cfg.rules,
            ..EngineConfig::default()
        });
        // The engine starts with a keyspace for the shell's convenience; a fresh Cassandra
        // node has none, and clients create theirs.
        let drop = cql::parse_statement(&format!("DROP KEYSPACE IF EXISTS {}", crate::engine::DEFAULT_KEYSPACE));
        if let Ok(stmt) = drop {
            let _ = engine.execute(&stmt);
        }
        Server {
            engine,
            node: cfg.node,
            max_frame: cfg.max_frame,
            keyspaces: BTreeMap::new(),
            prepared: HashMap::new(),
        }
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// A new connection's state.
    pub fn connect(&self) -> Connection {
        Connection {
            decoder: Decoder::new(self.max_frame),
            started: false,
            keyspace: None,
            events: BTreeSet::new(),
        }
    }

    /// **The one way a statement reaches the engine** (see the module docs): clock, statement,
    /// then the view builds' progress by the engine's clock (`Engine::run_builds`). At the
    /// default build rate (unlimited) a build started by CREATE MATERIALIZED VIEW is done before
    /// the next frame is read, as Cassandra builds a small table in milliseconds.
    fn run_statement(&mut self, stmt: &Stmt, now_micros: i64) -> Result<QueryResult, CqlError> {
        self.engine.set_now_micros(now_micros);
        let result = self.engine.execute(stmt);
        self.engine.run_builds(now_micros);
        result
    }

    /// Runs a statement for a connection whose keyspace is `keyspace`.
    fn execute(
        &mut self,
        keyspace: &mut Option<String>,
        mut stmt: Stmt,
        now_micros: i64,
        client_ts: Option<i64>,
    ) -> Result<(Outcome, Vec<String>), Failure> {
        // The system keyspaces are not the engine's: USE of one is the connection's alone, and
        // a SELECT in it is qualified before it goes anywhere.
        if let StmtKind::Use(name) = &stmt.kind {
            if is_system_keyspace(name) {
                *keyspace = Some(name.clone());
                return Ok((Outcome::SetKeyspace(name.clone()), Vec::new()));
            }
        }
        if let (StmtKind::Select(s), Some(ks)) = (&mut stmt.kind, keyspace.as_deref()) {
            if s.from.keyspace.is_none() && is_system_keyspace(ks) {
                s.from.keyspace = Some(ks.to_string());
            }
        }
        if let StmtKind::Select(s) = &stmt.kind {
            let ks = s.from.keyspace.clone().or_else(|| keyspace.clone()).unwrap_or_default();
            if system::is_system(&ks, &s.from.name) {
                let r = system::select(s, &ks, &self.engine, &self.keyspaces, &self.node)?;
                return Ok((
                    Outcome::Rows {
                        specs: r.specs,
                        rows: r.rows,
                    },
                    Vec::new(),
                ));
            }
        }
        let unqualified = has_unqualified_name(&stmt.kind);
        match keyspace.as_deref() {
            None if unqualified => return Err(no_keyspace().into()),
            Some(ks) if unqualified && self.engine.current_keyspace() != ks => {
                let use_ks = Stmt {
                    kind: StmtKind::Use(ks.to_string()),
                    pos: stmt.pos,
                    text: format!("USE {ks}"),
                };
                self.run_statement(&use_ks, now_micros)?;
            }
            _ => {}
        }
        if let Some(ts) = client_ts {
            self.stamp(&mut stmt, keyspace.as_deref(), ts);
        }
        let ddl = schema_target(&stmt.kind, keyspace.as_deref());
        let before = ddl
            .as_ref()
            .map(|_| system::schema_version(&self.engine, &self.keyspaces));
        let result = self.run_statement(&stmt, now_micros).map_err(|e| {
            if e.kind == ErrorKind::AlreadyExists {
                // The drivers read the keyspace and table from the error's extra fields.
                let (keyspace, table) = already_exists_names(&stmt.kind, keyspace.as_deref());
                Failure::Exists {
                    message: e.message,
                    keyspace,
                    table,
                }
            } else {
                Failure::Cql(e)
            }
        })?;
        match &stmt.kind {
            StmtKind::CreateKeyspace(c) if !self.keyspaces.contains_key(&c.name) => {
                self.keyspaces.insert(c.name.clone(), keyspace_info(c));
            }
            // A connection using the dropped keyspace keeps its name, as in Cassandra; its
            // next unqualified statement fails on the missing keyspace.
            StmtKind::DropKeyspace(d) => {
                self.keyspaces.remove(&d.name);
            }
            StmtKind::Use(name) => {
                *keyspace = Some(name.clone());
                return Ok((Outcome::SetKeyspace(name.clone()), Vec::new()));
            }
            _ => {}
        }
        let (outcome, warnings) = match result {
            QueryResult::Rows(rows) => {
                let specs = row_specs(&self.engine, &stmt, keyspace.as_deref(), &rows.columns, &rows.rows);
                (Outcome::Rows { specs, rows: rows.rows }, Vec::new())
            }
            QueryResult::Done { warnings } => (Outcome::Void, warnings),
        };
        if let (Some(change), Some(before)) = (ddl, before) {
            if system::schema_version(&self.engine, &self.keyspaces) != before {
                return Ok((Outcome::SchemaChange(change), warnings));
            }
        }
        Ok((outcome, warnings))
    }

    /// Gives a write without `USING TIMESTAMP` the client's timestamp, as Cassandra does with
    /// a default timestamp. Counter writes take none (Cassandra refuses one on them).
    fn stamp(&self, stmt: &mut Stmt, keyspace: Option<&str>, ts: i64) {
        let has_counter = |name: &ast::QualifiedName| {
            let ks = name.keyspace.as_deref().or(keyspace).unwrap_or_default();
            self.engine
                .table(ks, &name.name)
                .is_some_and(|t| t.schema.columns.values().any(|c| c.ty == DataType::Counter))
        };
        let stamp_term = Term::Integer(ts.to_string());
        match &mut stmt.kind {
            StmtKind::Insert(i) if i.using.timestamp.is_none() && !has_counter(&i.table) => {
                i.using.timestamp = Some(stamp_term)
            }
            StmtKind::Update(u) if u.using.timestamp.is_none() && !has_counter(&u.table) => {
                u.using.timestamp = Some(stamp_term)
            }
            StmtKind::Delete(d) if d.using.timestamp.is_none() && !has_counter(&d.table) => {
                d.using.timestamp = Some(stamp_term)
            }
            StmtKind::Batch(b) => {
                let inner_stamped = b.statements.iter().any(|s| match &s.kind {
                    StmtKind::Insert(i) => i.using.timestamp.is_some(),
                    StmtKind::Update(u) => u.using.timestamp.is_some(),
                    StmtKind::Delete(d) => d.using.timestamp.is_some(),
                    _ => false,
                });
                let counter = b.kind == ast::BatchKind::Counter
                    || b.statements
                        .iter()
                        .any(|s| binds::target_table(&s.kind).is_some_and(has_counter));
                if b.using.timestamp.is_none() && !inner_stamped && !counter {
                    b.using.timestamp = Some(stamp_term);
                }
            }
            _ => {}
        }
    }

    fn prepare(&mut self, query: &str, keyspace: Option<&str>) -> Result<Vec<u8>, CqlError> {
        let stmt = cql::parse_statement(query).map_err(|e| CqlError::new(ErrorKind::Syntax, e.to_string()))?;
        let binds = binds::specs(&stmt, &self.engine, keyspace)?;
        let id = system::uuid_of(&format!("{}\u{0}{query}", keyspace.unwrap_or(""))).to_vec();
        let pk = pk_indexes(&self.engine, &stmt, keyspace, &binds);
        let body = messages::result_prepared(&id, &binds, &pk);
        self.prepared.insert(
            id,
            Prepared {
                stmt,
                keyspace: keyspace.map(str::to_string),
                binds,
            },
        );
        Ok(body)
    }

    /// The statement an EXECUTE (or a prepared batch entry) names, with its values bound.
    fn bind_prepared(
        &self,
        id: &[u8],
        values: &[RawValue],
        names: Option<&[String]>,
    ) -> Result<(Stmt, Option<String>), Failure> {
        let p = self.prepared.get(id).ok_or_else(|| Failure::Unprepared(id.to_vec()))?;
        let values = match names {
            Some(names) => by_name(&p.binds, values, names)?,
            None => values.to_vec(),
        };
        let bound = decode_values(&p.binds, &values)?;
        let stmt = binds::substitute(&p.stmt, &self.engine, p.keyspace.as_deref(), &bound)?;
        Ok((stmt, p.keyspace.clone()))
    }
}

/// Why a request failed: a statement error, or a prepared id the server does not know.
enum Failure {
    Cql(CqlError),
    /// AlreadyExists, with the keyspace and table the drivers read from it.
    Exists {
        message: String,
        keyspace: String,
        table: String,
    },
    Unprepared(Vec<u8>),
}

impl From<CqlError> for Failure {
    fn from(e: CqlError) -> Failure {
        Failure::Cql(e)
    }
}

fn is_system_keyspace(name: &str) -> bool {
    matches!(name, "system" | "system_schema" | "system_virtual_schema")
}

fn no_keyspace() -> CqlError {
    CqlError::invalid("No keyspace has been specified. USE a keyspace, or explicitly specify keyspace.tablename")
}

/// Reorders named values into the markers' order.
fn by_name(binds: &[ColSpec], values: &[RawValue], names: &[String]) -> Result<Vec<RawValue>, CqlError> {
    binds
        .iter()
        .map(|b| {
            names
                .iter()
                .position(|n| n.eq_ignore_ascii_case(&b.name))
                .and_then(|i| values.get(i).cloned())
                .ok_or_else(|| CqlError::invalid(format!("Invalid unset value for column {}", b.name)))
        })
        .collect()
}

fn decode_values(binds: &[ColSpec], values: &[RawValue]) -> Result<Vec<Bound>, CqlError> {
    if binds.len() != values.len() {
        return Err(CqlError::invalid(format!(
            "There were {} markers(?) in CQL but {} bound variables",
            binds.len(),
            values.len()
        )));
    }
    binds
        .iter()
        .zip(values)
        .map(|(b, v)| match v {
            RawValue::Null => Ok(Bound::Null),
            RawValue::Unset => Ok(Bound::Unset),
            RawValue::Bytes(bytes) => {
                b.ty.decode(bytes)
                    .map(Bound::Value)
                    .map_err(|e| CqlError::invalid(format!("Invalid value for {}: {e}", b.name)))
            }
        })
        .collect()
}

/// Whether the statement names a table without a keyspace.
fn has_unqualified_name(kind: &StmtKind) -> bool {
    let q = |n: &ast::QualifiedName| n.keyspace.is_none();
    match kind {
        StmtKind::CreateTable(c) => q(&c.name),
        StmtKind::AlterTable(a) => q(&a.name),
        StmtKind::DropTable(d) | StmtKind::DropView(d) => q(&d.name),
        StmtKind::Truncate(n) => q(n),
        StmtKind::CreateView(c) => q(&c.name) || q(&c.base),
        StmtKind::AlterView(a) => q(&a.name),
        StmtKind::CreateIndex(c) => q(&c.table),
        StmtKind::Insert(_) | StmtKind::Update(_) | StmtKind::Delete(_) | StmtKind::Select(_) => {
            binds::target_table(kind).is_some_and(q)
        }
        StmtKind::Batch(b) => b.statements.iter().any(|s| has_unqualified_name(&s.kind)),
        StmtKind::ViewBuildStatus(name) => name.as_ref().is_some_and(q),
        // DESCRIBE names its own scope, and cqlsh answers it from the driver's metadata anyway.
        StmtKind::CreateKeyspace(_)
        | StmtKind::Use(_)
        | StmtKind::DropKeyspace(_)
        | StmtKind::AdvanceClock(_)
        | StmtKind::WaitForViewBuilds
        | StmtKind::Describe(_) => false,
    }
}

/// The SCHEMA_CHANGE a schema statement makes, should it change the schema.
fn schema_target(kind: &StmtKind, keyspace: Option<&str>) -> Option<SchemaChange> {
    let ks = |n: &ast::QualifiedName| n.keyspace.clone().or(keyspace.map(str::to_string)).unwrap_or_default();
    let table = |change, n: &ast::QualifiedName| SchemaChange {
        change,
        target: "TABLE",
        keyspace: ks(n),
        name: n.name.clone(),
    };
    Some(match kind {
        StmtKind::CreateKeyspace(c) => SchemaChange {
            change: "CREATED",
            target: "KEYSPACE",
            keyspace: c.name.clone(),
            name: String::new(),
        },
        StmtKind::DropKeyspace(d) => SchemaChange {
            change: "DROPPED",
            target: "KEYSPACE",
            keyspace: d.name.clone(),
            name: String::new(),
        },
        StmtKind::CreateTable(c) => table("CREATED", &c.name),
        StmtKind::CreateView(c) => table("CREATED", &c.name),
        StmtKind::AlterTable(a) => table("UPDATED", &a.name),
        StmtKind::AlterView(a) => table("UPDATED", &a.name),
        StmtKind::DropTable(d) | StmtKind::DropView(d) => table("DROPPED", &d.name),
        _ => return None,
    })
}

fn already_exists_names(kind: &StmtKind, keyspace: Option<&str>) -> (String, String) {
    let ks = |n: &ast::QualifiedName| n.keyspace.clone().or(keyspace.map(str::to_string)).unwrap_or_default();
    match kind {
        StmtKind::CreateKeyspace(c) => (c.name.clone(), String::new()),
        StmtKind::CreateTable(c) => (ks(&c.name), c.name.name.clone()),
        StmtKind::CreateView(c) => (ks(&c.name), c.name.name.clone()),
        _ => (String::new(), String::new()),
    }
}

fn keyspace_info(c: &ast::CreateKeyspace) -> KeyspaceInfo {
    let mut info = KeyspaceInfo {
        replication: BTreeMap::new(),
        durable_writes: true,
    };
    for o in &c.options {
        match (o.name.as_str(), &o.value) {
            ("replication", Term::Map(entries)) => {
                for (k, v) in entries {
                    let text = |t: &Term| match t {
                        Term::String(s) | Term::Integer(s) | Term::Float(s) => s.clone(),
                        other => other.to_string(),
                    };
                    let (k, mut v) = (text(k), text(v));
                    if k == "class" && !v.contains('.') {
                        v = format!("org.apache.cassandra.locator.{v}");
                    }
                    info.replication.insert(k, v);
                }
            }
            ("durable_writes", Term::Boolean(b)) => info.durable_writes = *b,
            _ => {}
        }
    }
    info
}

/// The partition key's marker positions, when every partition-key column is bound by one.
fn pk_indexes(engine: &Engine, stmt: &Stmt, keyspace: Option<&str>, binds: &[ColSpec]) -> Vec<u16> {
    let Some(name) = binds::target_table(&stmt.kind) else {
        return Vec::new();
    };
    let ks = name.keyspace.as_deref().or(keyspace).unwrap_or_default();
    let Some(t) = engine.table(ks, &name.name) else {
        return Vec::new();
    };
    let found: Option<Vec<u16>> = t
        .schema
        .partition_key
        .iter()
        .map(|c| binds.iter().position(|b| &b.name == c).map(|i| i as u16))
        .collect();
    found.unwrap_or_default()
}

/// Each result column's spec: the schema's type for a selected column, the function's for
/// `writetime`/`ttl`/`count`, and otherwise what the values show.
fn row_specs(
    engine: &Engine,
    stmt: &Stmt,
    keyspace: Option<&str>,
    columns: &[String],
    rows: &[Vec<Option<Value>>],
) -> Vec<ColSpec> {
    let (ks, table) = match &stmt.kind {
        StmtKind::Select(s) => (
            s.from
                .keyspace
                .clone()
                .or(keyspace.map(str::to_string))
                .unwrap_or_default(),
            s.from.name.clone(),
        ),
        _ => (keyspace.unwrap_or_default().to_string(), String::new()),
    };
    let schema = engine.table(&ks, &table).map(|t| &t.schema);
    let selectors: Option<Vec<&SelectorExpr>> = match &stmt.kind {
        StmtKind::Select(s) => match &s.selection {
            Selection::Selectors(sels) if sels.len() == columns.len() => Some(sels.iter().map(|s| &s.expr).collect()),
            _ => None,
        },
        _ => None,
    };
    columns
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let by_schema = |c: &str| schema.and_then(|s| s.column(c)).map(|c| WireType::of(&c.ty));
            let declared = match selectors.as_ref().map(|s| s[i]) {
                Some(SelectorExpr::Column(c)) => by_schema(c),
                Some(SelectorExpr::WriteTime(_)) => Some(WireType::BigInt),
                Some(SelectorExpr::Ttl(_)) => Some(WireType::Int),
                Some(SelectorExpr::CountAll) => Some(WireType::BigInt),
                Some(_) => None,
                None => by_schema(name),
            };
            let first = rows.iter().find_map(|r| r.get(i).cloned().flatten());
            let ty = match (declared, &first) {
                (Some(t), Some(v)) if fits(&t, v) => t,
                (Some(t), None) => t,
                (_, Some(v)) => WireType::infer(v),
                (None, None) => WireType::Varchar,
            };
            ColSpec {
                keyspace: ks.clone(),
                table: table.clone(),
                name: name.clone(),
                ty,
            }
        })
        .collect()
}

/// Whether a value can be sent as this type (a guard against a column typed wrongly).
fn fits(t: &WireType, v: &Value) -> bool {
    matches!(
        (t, v),
        (WireType::Int, Value::Int(_))
            | (WireType::BigInt, Value::BigInt(_))
            | (WireType::Counter, Value::Counter(_))
            | (WireType::Varchar, Value::Text(_))
            | (WireType::Ascii, Value::Ascii(_))
            | (WireType::Boolean, Value::Boolean(_))
            | (WireType::Decimal, Value::Decimal(_))
            | (WireType::Double, Value::Double(_))
            | (WireType::Float, Value::Float(_))
            | (WireType::Uuid | WireType::TimeUuid, Value::Uuid(_))
            | (WireType::Timestamp, Value::Timestamp(_))
            | (WireType::List(_), Value::List(_))
            | (WireType::Set(_), Value::Set(_))
            | (WireType::Map(..), Value::Map(_))
    )
}

/// What a connection has to send after taking in some bytes.
#[derive(Debug, Default)]
pub struct Output {
    /// Responses, in request order.
    pub reply: Vec<u8>,
    /// SCHEMA_CHANGE event frames, for every connection registered for them.
    pub events: Vec<Vec<u8>>,
    /// The connection must close once `reply` is sent (a protocol error).
    pub close: bool,
}

/// One client connection's protocol state.
pub struct Connection {
    decoder: Decoder,
    started: bool,
    keyspace: Option<String>,
    events: BTreeSet<String>,
}

impl Connection {
    /// Whether the client asked for SCHEMA_CHANGE events.
    pub fn wants_schema_events(&self) -> bool {
        self.events.contains("SCHEMA_CHANGE")
    }

    /// Takes bytes from the client; answers every complete request in them. `now_micros` is
    /// the node clock for the statements they run.
    pub fn receive(&mut self, server: &mut Server, bytes: &[u8], now_micros: i64) -> Output {
        let mut out = Output::default();
        self.decoder.push(bytes);
        loop {
            match self.decoder.next_frame() {
                Ok(Some(f)) => {
                    let closing = self.handle(server, &f, now_micros, &mut out);
                    if closing {
                        out.close = true;
                        return out;
                    }
                }
                Ok(None) => return out,
                Err(e) => {
                    let body = messages::error_body(code::PROTOCOL, &e.message, &ErrorExtra::None);
                    out.reply
                        .extend(frame::encode(e.reply_version, e.stream, Opcode::Error, &[], &body));
                    out.close = true;
                    return out;
                }
            }
        }
    }

    /// Answers one frame; true when the connection must close.
    fn handle(&mut self, server: &mut Server, f: &Frame, now: i64, out: &mut Output) -> bool {
        let reply = |out: &mut Output, opcode: Opcode, warnings: &[String], body: Vec<u8>| {
            out.reply
                .extend(frame::encode(frame::VERSION, f.stream, opcode, warnings, &body));
        };
        let protocol_error = |out: &mut Output, msg: String| {
            let body = messages::error_body(code::PROTOCOL, &msg, &ErrorExtra::None);
            out.reply
                .extend(frame::encode(frame::VERSION, f.stream, Opcode::Error, &[], &body));
            true
        };
        let req = match messages::decode(f) {
            Ok(r) => r,
            Err(e) => return protocol_error(out, format!("Invalid {:?} message: {e}", f.opcode)),
        };
        if !self.started && !matches!(req, Request::Startup(_) | Request::Options) {
            return protocol_error(
                out,
                format!("Unexpected message {:?}, expecting STARTUP or OPTIONS", f.opcode),
            );
        }
        let result: Result<Reply, Failure> = match req {
            Request::Options => {
                let mut m = BTreeMap::new();
                m.insert("CQL_VERSION".to_string(), vec![system::CQL_VERSION.to_string()]);
                m.insert("COMPRESSION".to_string(), Vec::new());
                m.insert("PROTOCOL_VERSIONS".to_string(), vec!["4/v4".to_string()]);
                reply(out, Opcode::Supported, &[], messages::supported(&m));
                return false;
            }
            Request::Startup(opts) => {
                if self.started {
                    return protocol_error(
                        out,
                        "Unexpected message STARTUP, the connection is already initialized".into(),
                    );
                }
                if let Some(c) = opts.get("COMPRESSION").filter(|c| !c.is_empty()) {
                    return protocol_error(out, format!("Unknown compression algorithm: {c}"));
                }
                if let Some(v) = opts.get("CQL_VERSION") {
                    if !v.starts_with("3.") {
                        return protocol_error(out, format!("Invalid or unsupported CQL version: {v}"));
                    }
                }
                self.started = true;
                reply(out, Opcode::Ready, &[], Vec::new());
                return false;
            }
            Request::Register(types) => {
                for t in &types {
                    if !matches!(t.as_str(), "TOPOLOGY_CHANGE" | "STATUS_CHANGE" | "SCHEMA_CHANGE") {
                        return protocol_error(out, format!("Invalid event type {t}"));
                    }
                }
                self.events.extend(types);
                reply(out, Opcode::Ready, &[], Vec::new());
                return false;
            }
            Request::AuthResponse => {
                return protocol_error(out, "Unexpected AUTH_RESPONSE: no authentication is required".into())
            }
            Request::Prepare { query } => server
                .prepare(&query, self.keyspace.as_deref())
                .map(|body| Reply {
                    body,
                    warnings: Vec::new(),
                    change: None,
                })
                .map_err(Failure::Cql),
            Request::Query { query, params } => self.query(server, &query, &params, now),
            Request::Execute { id, params } => self.exec(server, &id, &params, now),
            Request::Batch { kind, items, timestamp } => self.batch(server, kind, &items, timestamp, now),
        };
        match result {
            Ok(r) => {
                reply(out, Opcode::Result, &r.warnings, r.body);
                // A schema change's event: the same change, for every listening connection.
                if let Some(c) = r.change {
                    let ev = messages::event_schema_change(&c);
                    out.events.push(frame::encode(
                        frame::VERSION,
                        frame::EVENT_STREAM,
                        Opcode::Event,
                        &[],
                        &ev,
                    ));
                }
                false
            }
            Err(Failure::Exists {
                message,
                keyspace,
                table,
            }) => {
                let extra = ErrorExtra::AlreadyExists { keyspace, table };
                reply(
                    out,
                    Opcode::Error,
                    &[],
                    messages::error_body(code::ALREADY_EXISTS, &message, &extra),
                );
                false
            }
            Err(Failure::Cql(e)) => {
                reply(out, Opcode::Error, &[], cql_error_body(&e));
                false
            }
            Err(Failure::Unprepared(id)) => {
                let body = messages::error_body(
                    code::UNPREPARED,
                    &format!("Prepared query with ID {} not found", hex(&id)),
                    &ErrorExtra::Unprepared(id),
                );
                reply(out, Opcode::Error, &[], body);
                false
            }
        }
    }

    fn query(&mut self, server: &mut Server, query: &str, p: &QueryParams, now: i64) -> Result<Reply, Failure> {
        let stmt = cql::parse_statement(query).map_err(|e| CqlError::new(ErrorKind::Syntax, e.to_string()))?;
        let stmt = if p.values.is_empty() {
            stmt
        } else {
            let specs = binds::specs(&stmt, &server.engine, self.keyspace.as_deref())?;
            let values = match &p.names {
                Some(names) => by_name(&specs, &p.values, names)?,
                None => p.values.clone(),
            };
            let bound = decode_values(&specs, &values)?;
            binds::substitute(&stmt, &server.engine, self.keyspace.as_deref(), &bound)?
        };
        self.run(server, stmt, None, p, now)
    }

    fn exec(&mut self, server: &mut Server, id: &[u8], p: &QueryParams, now: i64) -> Result<Reply, Failure> {
        let (stmt, ks) = server.bind_prepared(id, &p.values, p.names.as_deref())?;
        self.run(server, stmt, ks, p, now)
    }

    /// Runs a statement with the query parameters' paging and timestamp; a prepared
    /// statement runs in the keyspace it was prepared in.
    fn run(
        &mut self,
        server: &mut Server,
        stmt: Stmt,
        prepared_ks: Option<String>,
        p: &QueryParams,
        now: i64,
    ) -> Result<Reply, Failure> {
        let text = stmt.text.clone();
        let mut ks = match &prepared_ks {
            Some(k) => Some(k.clone()),
            None => self.keyspace.clone(),
        };
        let (outcome, warnings) = server.execute(&mut ks, stmt, now, p.timestamp)?;
        if prepared_ks.is_none() {
            self.keyspace = ks;
        }
        let mut change = None;
        let body = match outcome {
            Outcome::Void => messages::result_void(),
            Outcome::SetKeyspace(k) => messages::result_set_keyspace(&k),
            Outcome::SchemaChange(c) => {
                let body = messages::result_schema_change(&c);
                change = Some(c);
                body
            }
            Outcome::Rows { specs, rows } => page(&specs, rows, p, &text)?,
        };
        Ok(Reply { body, warnings, change })
    }

    fn batch(
        &mut self,
        server: &mut Server,
        kind: u8,
        items: &[messages::BatchItem],
        timestamp: Option<i64>,
        now: i64,
    ) -> Result<Reply, Failure> {
        let mut statements = Vec::new();
        for item in items {
            let stmt = match &item.query {
                BatchQuery::Text(q) => {
                    let stmt = cql::parse_statement(q).map_err(|e| CqlError::new(ErrorKind::Syntax, e.to_string()))?;
                    if item.values.is_empty() {
                        stmt
                    } else {
                        let specs = binds::specs(&stmt, &server.engine, self.keyspace.as_deref())?;
                        let bound = decode_values(&specs, &item.values)?;
                        binds::substitute(&stmt, &server.engine, self.keyspace.as_deref(), &bound)?
                    }
                }
                BatchQuery::Prepared(id) => server.bind_prepared(id, &item.values, None)?.0,
            };
            if !matches!(
                stmt.kind,
                StmtKind::Insert(_) | StmtKind::Update(_) | StmtKind::Delete(_)
            ) {
                return Err(CqlError::invalid(
                    "Invalid statement in batch: only UPDATE, INSERT and DELETE statements are allowed.",
                )
                .into());
            }
            statements.push(stmt);
        }
        let batch_kind = match kind {
            0 => ast::BatchKind::Logged,
            1 => ast::BatchKind::Unlogged,
            _ => ast::BatchKind::Counter,
        };
        let text = statements
            .iter()
            .map(|s| s.text.as_str())
            .collect::<Vec<_>>()
            .join("; ");
        let stmt = Stmt {
            kind: StmtKind::Batch(ast::Batch {
                kind: batch_kind,
                using: ast::Using::default(),
                statements,
            }),
            pos: ast::Pos { line: 1, col: 1 },
            text: format!("BEGIN BATCH {text}; APPLY BATCH"),
        };
        let p = QueryParams {
            timestamp,
            ..QueryParams::default()
        };
        self.run(server, stmt, None, &p, now)
    }
}

/// One page of rows: `page_size` rows from the offset the paging state names, and a paging
/// state for the next page when rows remain. The state is the offset and a hash of the
/// statement, so a state cannot be replayed against another query. A page re-runs the
/// statement: rows written between pages shift what the next page shows.
fn page(specs: &[ColSpec], rows: Vec<Vec<Option<Value>>>, p: &QueryParams, text: &str) -> Result<Vec<u8>, Failure> {
    let tag = {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        text.hash(&mut h);
        h.finish()
    };
    let offset = match &p.paging_state {
        None => 0,
        Some(s) if s.len() == 16 && s[8..] == tag.to_be_bytes() => {
            u64::from_be_bytes(s[..8].try_into().unwrap_or([0; 8])) as usize
        }
        Some(_) => return Err(CqlError::invalid("Invalid value for the paging state").into()),
    };
    let size = p.page_size.filter(|n| *n > 0).map_or(usize::MAX, |n| n as usize);
    let end = offset.saturating_add(size).min(rows.len());
    let start = offset.min(end);
    let state = (end < rows.len()).then(|| {
        let mut s = (end as u64).to_be_bytes().to_vec();
        s.extend(tag.to_be_bytes());
        s
    });
    let mut specs = specs.to_vec();
    let mut cells: Vec<Vec<Option<Vec<u8>>>> = Vec::with_capacity(end - start);
    for row in &rows[start..end] {
        let mut out = Vec::with_capacity(row.len());
        for (i, v) in row.iter().enumerate() {
            out.push(match v {
                None => None,
                Some(v) => {
                    let Some(spec) = specs.get_mut(i) else {
                        return Err(CqlError::new(ErrorKind::Server, "a row has more cells than columns").into());
                    };
                    if !fits(&spec.ty, v) && !matches!(spec.ty, WireType::Inet | WireType::Blob) {
                        spec.ty = WireType::infer(v);
                    }
                    Some(spec.ty.encode(v).map_err(|e| CqlError::new(ErrorKind::Server, e))?)
                }
            });
        }
        cells.push(out);
    }
    Ok(messages::result_rows(&specs, &cells, state.as_deref()))
}

fn cql_error_body(e: &CqlError) -> Vec<u8> {
    let (code, extra) = match e.kind {
        ErrorKind::Syntax => (code::SYNTAX, ErrorExtra::None),
        ErrorKind::Invalid => (code::INVALID, ErrorExtra::None),
        ErrorKind::Configuration => (code::CONFIG, ErrorExtra::None),
        ErrorKind::Unavailable => (code::UNAVAILABLE, ErrorExtra::Unavailable),
        ErrorKind::WriteTimeout => (code::WRITE_TIMEOUT, ErrorExtra::WriteTimeout),
        ErrorKind::Server => (code::SERVER, ErrorExtra::None),
        ErrorKind::AlreadyExists => (
            code::ALREADY_EXISTS,
            ErrorExtra::AlreadyExists {
                keyspace: String::new(),
                table: String::new(),
            },
        ),
    };
    messages::error_body(code, &e.message, &extra)
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::native::wire::{Reader, Writer};

    fn server() -> Server {
        Server::new(ServerConfig {
            rules: ViewRules::current(),
            max_frame: frame::DEFAULT_MAX_FRAME,
            node: NodeInfo {
                cluster_name: "t".into(),
                address: "127.0.0.1".into(),
                port: 9042,
                host_id: system::uuid_of("t"),
            },
        })
    }

    fn request(opcode: Opcode, body: &[u8]) -> Vec<u8> {
        let mut f = vec![4, 0, 0, 7, opcode as u8];
        f.extend((body.len() as i32).to_be_bytes());
        f.extend_from_slice(body);
        f
    }

    fn query_frame(q: &str, page_size: Option<i32>, paging_state: Option<&[u8]>) -> Vec<u8> {
        let mut w = Writer::new();
        let flags = (u8::from(page_size.is_some()) * 0x04) | (u8::from(paging_state.is_some()) * 0x08);
        w.long_string(q).short(1).byte(flags);
        if let Some(n) = page_size {
            w.int(n);
        }
        if let Some(p) = paging_state {
            w.bytes(Some(p));
        }
        request(Opcode::Query, &w.buf)
    }

    /// (opcode, body) of the one frame answered.
    fn answer(out: &Output) -> (u8, Vec<u8>) {
        let len = i32::from_be_bytes(out.reply[5..9].try_into().unwrap()) as usize;
        assert_eq!(out.reply.len(), 9 + len, "one frame");
        (out.reply[4], out.reply[9..].to_vec())
    }

    fn started(s: &mut Server) -> Connection {
        let mut c = s.connect();
        let mut w = Writer::new();
        w.short(0);
        let out = c.receive(s, &request(Opcode::Startup, &w.buf), 0);
        assert_eq!(answer(&out).0, Opcode::Ready as u8);
        c
    }

    #[test]
    fn a_fresh_node_has_no_keyspace_and_says_so_in_cassandras_words() {
        let mut s = server();
        let mut c = started(&mut s);
        let out = c.receive(
            &mut s,
            &query_frame("CREATE TABLE t (k int PRIMARY KEY)", None, None),
            1,
        );
        let (op, body) = answer(&out);
        assert_eq!(op, Opcode::Error as u8);
        let mut r = Reader::new(&body);
        assert_eq!(r.int("code").unwrap(), code::INVALID);
        assert!(r.string("msg").unwrap().starts_with("No keyspace has been specified"));
        let ks = s.engine().tables().count();
        assert_eq!(ks, 0, "nothing was created");
    }

    #[test]
    fn pages_cover_every_row_once_and_a_forged_state_is_refused() {
        let mut s = server();
        let mut c = started(&mut s);
        for q in [
            "CREATE KEYSPACE p WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}",
            "USE p",
            "CREATE TABLE t (k int, c int, PRIMARY KEY (k, c))",
        ] {
            assert_eq!(
                answer(&c.receive(&mut s, &query_frame(q, None, None), 1)).0,
                Opcode::Result as u8,
                "{q}"
            );
        }
        for i in 0..7 {
            let q = format!("INSERT INTO t (k, c) VALUES (1, {i})");
            c.receive(&mut s, &query_frame(&q, None, None), 2);
        }
        let mut state: Option<Vec<u8>> = None;
        let mut seen = 0;
        let mut pages = 0;
        loop {
            let out = c.receive(
                &mut s,
                &query_frame("SELECT c FROM t WHERE k = 1", Some(3), state.as_deref()),
                3,
            );
            let (_, body) = answer(&out);
            let mut r = Reader::new(&body);
            assert_eq!(r.int("kind").unwrap(), 2);
            let flags = r.int("flags").unwrap();
            r.int("cols").unwrap();
            state = if flags & 0x0002 != 0 {
                r.bytes("state").unwrap()
            } else {
                None
            };
            r.string("ks").unwrap();
            r.string("t").unwrap();
            r.string("c").unwrap();
            r.short("type").unwrap();
            let n = r.int("rows").unwrap();
            for _ in 0..n {
                let v = r.bytes("cell").unwrap().unwrap();
                assert_eq!(i32::from_be_bytes(v.try_into().unwrap()), seen);
                seen += 1;
            }
            pages += 1;
            if state.is_none() {
                break;
            }
        }
        assert_eq!((seen, pages), (7, 3));
        let out = c.receive(
            &mut s,
            &query_frame("SELECT c FROM t WHERE k = 1", Some(3), Some(&[0; 16])),
            4,
        );
        let (op, body) = answer(&out);
        assert_eq!(op, Opcode::Error as u8);
        assert_eq!(Reader::new(&body).int("code").unwrap(), code::INVALID);
    }

    #[test]
    fn use_system_reads_its_tables_unqualified() {
        let mut s = server();
        let mut c = started(&mut s);
        let (op, body) = answer(&c.receive(&mut s, &query_frame("USE system", None, None), 0));
        assert_eq!(op, Opcode::Result as u8);
        assert_eq!(Reader::new(&body).int("kind").unwrap(), 3, "SET_KEYSPACE");
        for q in ["SELECT release_version FROM local", "SELECT * FROM built_views"] {
            let (op, body) = answer(&c.receive(&mut s, &query_frame(q, None, None), 0));
            assert_eq!(op, Opcode::Result as u8, "{q}");
            assert_eq!(Reader::new(&body).int("kind").unwrap(), 2, "{q}: rows");
        }
    }

    #[test]
    fn an_unknown_prepared_id_is_unprepared_with_the_id() {
        let mut s = server();
        let mut c = started(&mut s);
        let mut w = Writer::new();
        w.short_bytes(&[9, 9]).short(1).byte(0);
        let (op, body) = answer(&c.receive(&mut s, &request(Opcode::Execute, &w.buf), 0));
        assert_eq!(op, Opcode::Error as u8);
        let mut r = Reader::new(&body);
        assert_eq!(r.int("code").unwrap(), code::UNPREPARED);
        r.string("msg").unwrap();
        assert_eq!(r.short_bytes("id").unwrap(), vec![9, 9]);
    }
}
