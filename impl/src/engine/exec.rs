//! The statement executor: [`Engine`] runs CQL statements against one node's tables.
//!
//! Design:
//! * **Validate, then mutate.** Every statement first computes everything it will change
//!   (schema objects, partition updates) without touching state, and only then applies it. A
//!   statement that fails therefore leaves every table unchanged.
//! * **Clock.** The node clock is `now_micros`, injected and moved only by
//!   [`Engine::set_now_micros`] / [`Engine::advance_millis`] (and `ADVANCE CLOCK`). A write
//!   without `USING TIMESTAMP` gets `max(now_micros, previous + 1)`, so timestamps strictly
//!   increase from one statement to the next even under a frozen clock. TTLs run against
//!   `nowInSec = now_micros / 10^6`.
//! * **Default keyspace.** A keyspace named `ks` exists and is in use at start, so unqualified
//!   names work without `CREATE KEYSPACE`/`USE`.
//! * **Views.** A base write reads the rows it touches once (`view::read_before_write`),
//!   generates the mutations of every view of the table from that one read, applies them to the
//!   views, then applies the base update (cassandra-semantics §2: the generator sees the pre-update state).
//! * **View builds.** `CREATE MATERIALIZED VIEW` on a non-empty table queues the base
//!   partitions that exist at that moment (in token order). The builder runs in the background
//!   *by time*: [`Engine::run_builds`] moves the clock to `now` and lets every running build
//!   process what [`EngineConfig::build_rate`] allows for the time since it last ran. Every
//!   statement calls it first, with the engine clock, so a front end need do nothing for a
//!   build to progress; a server may also call it from a timer. With the default rate,
//!   [`BuildRate::Unlimited`], a build finishes before the next statement runs (Cassandra
//!   builds a small table in milliseconds); `BuildRate::RowsPerSecond` makes a build observable
//!   (`--build-rate` in `mvcheck cql`, moved by `ADVANCE CLOCK` on a manual clock).
//!   Writes made meanwhile go through the normal view path, and a queued partition is built
//!   from its state when the builder reaches it, so nothing written during a build is lost.
//!   While queued work remains, `system.view_builds_in_progress` shows the build;
//!   `system.built_views` lists finished views; `VIEW BUILD STATUS` shows both, and
//!   `WAIT FOR VIEW BUILDS` moves the clock to the moment the last build is done
//!   ([`Engine::view_builds_done_at`]; a shell on the system clock sleeps until then instead).

use super::convert::{self, FnCtx};
use super::data::{Partition, PartitionKey};
use super::error::{CqlError, ErrorKind, QueryResult, Rows};
use super::schema::{ColumnDef, ColumnKind, Restriction, TableSchema, ViewDef};
use super::value::{DataType, Value};
use super::view::{self, ViewRules};
use crate::cql::ast::{self, Stmt, StmtKind};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// The keyspace in use when an engine starts.
pub const DEFAULT_KEYSPACE: &str = "ks";

/// 2026-01-01T00:00:00Z: the clock of an engine built with `EngineConfig::default()`.
pub const DEFAULT_NOW_MICROS: i64 = 1_767_225_600_000_000;

/// Cassandra's `Attributes.MAX_TTL`: 20 years (CASSANDRA-14071).
pub const MAX_TTL: i64 = 630_720_000;

/// The client warning of a successful `CREATE MATERIALIZED VIEW` (`View.USAGE_WARNING`).
pub const VIEW_WARNING: &str = "Materialized views are experimental and are not recommended for production use.";

#[derive(Clone, Debug)]
pub struct EngineConfig {
    pub rules: ViewRules,
    /// The node clock at start, in microseconds since the epoch.
    pub now_micros: i64,
    /// How fast a view build over existing data runs against the engine clock.
    pub build_rate: BuildRate,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            rules: ViewRules::current(),
            now_micros: DEFAULT_NOW_MICROS,
            build_rate: BuildRate::Unlimited,
        }
    }
}

/// How fast view builds progress (cassandra-semantics §11).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BuildRate {
    /// No limit: every queued partition is built at the next [`Engine::run_builds`], which
    /// the next statement runs first. A build is never seen half done; the status tables
    /// show it only if read by nothing but the CREATE itself.
    Unlimited,
    /// At most this many base rows per second of the engine clock (at least 1). A partition
    /// is built whole once the time credited to its build covers its rows (a partition with
    /// no rows costs one), so a manual clock that does not move holds a build where it is.
    RowsPerSecond(u64),
}

/// Cost units per base row: rates are rows per second and time is in microseconds.
const ROW_COST: u128 = 1_000_000;

/// A table (or view) and its data.
#[derive(Clone, Debug, PartialEq)]
pub struct Table {
    pub schema: TableSchema,
    pub data: BTreeMap<PartitionKey, Partition>,
    /// The names of this base table's views, in creation order.
    pub views: Vec<String>,
    pub gc_grace_seconds: i64,
}

#[derive(Clone, Debug, Default)]
struct Keyspace {
    tables: BTreeMap<String, Table>,
    /// The `WITH` options of its `CREATE KEYSPACE`, for DESCRIBE; none for the default one.
    options: Vec<ast::OptionSetting>,
}

#[derive(Clone, Debug)]
struct ViewBuild {
    keyspace: String,
    view: String,
    base: String,
    pending: VecDeque<PartitionKey>,
    keys_built: i64,
    last_token: Option<i64>,
    /// The engine time up to which this build has been given its share of work.
    credited_to: i64,
    /// Unspent work, in rows times microseconds (`ROW_COST` per row): time credited that did
    /// not yet cover the next partition.
    budget: u128,
}

#[derive(Clone)]
pub struct Engine {
    cfg: EngineConfig,
    now_micros: i64,
    last_ts: i64,
    /// Feeds time-based list element ids and generated uuids; strictly increasing.
    seq: u64,
    keyspace: String,
    keyspaces: BTreeMap<String, Keyspace>,
    builds: Vec<ViewBuild>,
    /// Finished builds (and views created over an empty base), with the partitions built.
    built: BTreeMap<(String, String), i64>,
}

/// A batch of partition updates, keyed by (keyspace, table, partition), merged per key.
pub(super) type Mutations = BTreeMap<(String, String, PartitionKey), Partition>;

impl Engine {
    pub fn new(cfg: EngineConfig) -> Engine {
        let mut keyspaces = BTreeMap::new();
        keyspaces.insert(DEFAULT_KEYSPACE.to_string(), Keyspace::default());
        Engine {
            now_micros: cfg.now_micros,
            last_ts: i64::MIN,
            seq: 0,
            keyspace: DEFAULT_KEYSPACE.to_string(),
            keyspaces,
            builds: Vec::new(),
            built: BTreeMap::new(),
            cfg,
        }
    }

    pub fn rules(&self) -> &ViewRules {
        &self.cfg.rules
    }

    pub fn now_micros(&self) -> i64 {
        self.now_micros
    }

    /// Moves the clock to `t`; never backwards.
    pub fn set_now_micros(&mut self, t: i64) {
        self.now_micros = self.now_micros.max(t);
    }

    pub fn advance_millis(&mut self, ms: u64) {
        let delta = i64::try_from(ms).unwrap_or(i64::MAX).saturating_mul(1000);
        self.now_micros = self.now_micros.saturating_add(delta);
    }

    pub(super) fn now_sec(&self) -> i64 {
        self.now_micros.div_euclid(1_000_000)
    }

    /// The next statement timestamp: the clock, or one more than the last one.
    pub(super) fn next_timestamp(&mut self) -> i64 {
        let ts = self.now_micros.max(self.last_ts.saturating_add(1));
        self.last_ts = ts;
        ts
    }

    pub(super) fn fn_ctx(&self) -> FnCtx {
        FnCtx {
            now_micros: self.now_micros,
            seq: self.seq,
        }
    }

    /// Keeps the sequence a statement's generated values consumed.
    pub(super) fn consume(&mut self, ctx: &FnCtx) {
        self.seq = self.seq.max(ctx.seq);
    }

    pub(super) fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// The keyspace in use.
    pub fn current_keyspace(&self) -> &str {
        &self.keyspace
    }

    /// Every table and view, by keyspace and name, in name order: what a failed statement
    /// must leave unchanged.
    pub fn tables(&self) -> impl Iterator<Item = (&str, &str, &Table)> {
        self.keyspaces
            .iter()
            .flat_map(|(ks, k)| k.tables.iter().map(move |(name, t)| (ks.as_str(), name.as_str(), t)))
    }

    /// Every keyspace in name order, with the `WITH` options it was created with (none for
    /// the default keyspace, which no statement created).
    pub fn keyspaces(&self) -> impl Iterator<Item = (&str, &[ast::OptionSetting])> {
        self.keyspaces
            .iter()
            .map(|(name, k)| (name.as_str(), k.options.as_slice()))
    }

    /// A table or view, by keyspace and name.
    pub fn table(&self, keyspace: &str, name: &str) -> Option<&Table> {
        self.keyspaces.get(keyspace)?.tables.get(name)
    }

    /// Runs every statement of a script in order; a syntax error becomes a
    /// `SyntaxException` and execution continues with the next statement.
    pub fn execute_script(&mut self, src: &str) -> Vec<Result<QueryResult, CqlError>> {
        crate::cql::parse_script(src)
            .into_iter()
            .map(|parsed| match parsed {
                Ok(stmt) => self.execute(&stmt),
                Err(e) => Err(CqlError::new(ErrorKind::Syntax, e.to_string())),
            })
            .collect()
    }

    pub fn execute(&mut self, stmt: &Stmt) -> Result<QueryResult, CqlError> {
        // The builder works in the background: whatever time passed since it last ran is
        // spent before the statement sees the tables.
        self.run_builds(self.now_micros);
        self.dispatch(stmt)
    }

    fn dispatch(&mut self, stmt: &Stmt) -> Result<QueryResult, CqlError> {
        match &stmt.kind {
            StmtKind::CreateKeyspace(c) => self.create_keyspace(c),
            StmtKind::Use(name) => {
                if !self.keyspaces.contains_key(name) {
                    return Err(CqlError::invalid(format!("Keyspace '{name}' does not exist")));
                }
                self.keyspace = name.clone();
                Ok(QueryResult::done())
            }
            StmtKind::DropKeyspace(d) => self.drop_keyspace(d),
            StmtKind::CreateTable(c) => self.create_table(c),
            StmtKind::AlterTable(a) => self.alter_table(a),
            StmtKind::DropTable(d) => self.drop_table(d),
            StmtKind::Truncate(name) => self.truncate(name),
            StmtKind::CreateView(c) => self.create_view(c),
            StmtKind::AlterView(a) => self.alter_view(a),
            StmtKind::DropView(d) => self.drop_view(d),
            StmtKind::CreateIndex(c) => {
                let (ks, name) = self.resolve(&c.table);
                let t = self.existing(&ks, &name)?;
                if t.schema.is_view() {
                    return Err(CqlError::invalid(
                        "Secondary indexes on materialized views aren't supported",
                    ));
                }
                Err(CqlError::invalid("Secondary indexes are not supported by this engine"))
            }
            StmtKind::Insert(_) | StmtKind::Update(_) | StmtKind::Delete(_) | StmtKind::Batch(_) => {
                let muts = self.write_mutations(stmt)?;
                self.apply_mutations(muts);
                Ok(QueryResult::done())
            }
            StmtKind::Select(s) => self.select(s).map(QueryResult::Rows),
            StmtKind::AdvanceClock(ms) => {
                self.advance_millis(*ms);
                Ok(QueryResult::done())
            }
            StmtKind::ViewBuildStatus(name) => {
                let only = match name {
                    Some(n) => {
                        let (ks, v) = self.resolve(n);
                        match self.table(&ks, &v) {
                            Some(t) if t.schema.is_view() => Some((ks, v)),
                            _ => return Err(CqlError::invalid(format!("Materialized view '{ks}.{v}' doesn't exist"))),
                        }
                    }
                    None => None,
                };
                Ok(QueryResult::Rows(self.view_build_status(only.as_ref())))
            }
            StmtKind::WaitForViewBuilds => {
                if let Some(t) = self.view_builds_done_at() {
                    self.set_now_micros(t);
                    self.run_builds(t);
                }
                Ok(QueryResult::Rows(self.view_build_status(None)))
            }
            StmtKind::Describe(d) => self.describe(d).map(QueryResult::Rows),
        }
    }

    /// `[ks.]name` with the keyspace in use as default.
    pub(super) fn resolve(&self, name: &ast::QualifiedName) -> (String, String) {
        (
            name.keyspace.clone().unwrap_or_else(|| self.keyspace.clone()),
            name.name.clone(),
        )
    }

    /// Cassandra's `Schema.validateTable` messages.
    pub(super) fn existing(&self, ks: &str, name: &str) -> Result<&Table, CqlError> {
        let k = self
            .keyspaces
            .get(ks)
            .ok_or_else(|| CqlError::invalid(format!("keyspace {ks} does not exist")))?;
        k.tables
            .get(name)
            .ok_or_else(|| CqlError::invalid(format!("unconfigured table {name}")))
    }

    fn keyspace_mut(&mut self, ks: &str) -> Result<&mut Keyspace, CqlError> {
        self.keyspaces
            .get_mut(ks)
            .ok_or_else(|| CqlError::invalid(format!("Keyspace '{ks}' doesn't exist")))
    }

    fn create_keyspace(&mut self, c: &ast::CreateKeyspace) -> Result<QueryResult, CqlError> {
        if self.keyspaces.contains_key(&c.name) {
            if c.if_not_exists {
                return Ok(QueryResult::done());
            }
            return Err(CqlError::new(
                ErrorKind::AlreadyExists,
                format!("Cannot add existing keyspace \"{}\"", c.name),
            ));
        }
        if !c.options.iter().any(|o| o.name == "replication") {
            return Err(CqlError::new(
                ErrorKind::Configuration,
                "Missing mandatory option 'replication'",
            ));
        }
        self.keyspaces.insert(
            c.name.clone(),
            Keyspace {
                tables: BTreeMap::new(),
                options: c.options.clone(),
            },
        );
        Ok(QueryResult::done())
    }

    fn drop_keyspace(&mut self, d: &ast::DropKeyspace) -> Result<QueryResult, CqlError> {
        if self.keyspaces.remove(&d.name).is_none() {
            if d.if_exists {
                return Ok(QueryResult::done());
            }
            return Err(CqlError::new(
                ErrorKind::Configuration,
                format!("Cannot drop non existing keyspace '{}'.", d.name),
            ));
        }
        self.builds.retain(|b| b.keyspace != d.name);
        self.built.retain(|(ks, _), _| ks != &d.name);
        Ok(QueryResult::done())
    }

    fn create_table(&mut self, c: &ast::CreateTable) -> Result<QueryResult, CqlError> {
        let (ks, name) = self.resolve(&c.name);
        let keyspace = self
            .keyspaces
            .get(&ks)
            .ok_or_else(|| CqlError::invalid(format!("Keyspace '{ks}' doesn't exist")))?;
        if keyspace.tables.contains_key(&name) {
            if c.if_not_exists {
                return Ok(QueryResult::done());
            }
            return Err(already_exists(&ks, &name));
        }
        if c.with.compact_storage.is_some() {
            return Err(CqlError::invalid(
                "COMPACT STORAGE tables are not allowed starting with version 4.0",
            ));
        }
        let pk = c.primary_key().map_err(|e| {
            let what = match e {
                ast::KeyDeclarationError::Missing => "No PRIMARY KEY specifed",
                ast::KeyDeclarationError::Multiple => "Multiple PRIMARY KEY specifed",
            };
            CqlError::invalid(format!("{what} for table '{name}' (exactly one required)"))
        })?;
        let mut columns: BTreeMap<String, ColumnDef> = BTreeMap::new();
        for col in &c.columns {
            if columns.contains_key(&col.name) {
                return Err(CqlError::invalid(format!(
                    "Duplicate column '{}' declaration for table '{name}'",
                    col.name
                )));
            }
            let ty = convert::data_type(&col.ty)?;
            let kind = if col.is_static {
                ColumnKind::Static
            } else {
                ColumnKind::Regular
            };
            columns.insert(
                col.name.clone(),
                ColumnDef {
                    name: col.name.clone(),
                    ty,
                    kind,
                },
            );
        }
        let mut seen = BTreeSet::new();
        for k in pk.partition.iter().chain(&pk.clustering) {
            let def = columns.get(k).ok_or_else(|| {
                CqlError::invalid(format!(
                    "Unknown column '{k}' referenced in PRIMARY KEY for table '{name}'"
                ))
            })?;
            if !seen.insert(k.clone()) {
                return Err(CqlError::invalid(format!(
                    "Duplicate column '{k}' in PRIMARY KEY clause for table '{name}'"
                )));
            }
            if def.kind == ColumnKind::Static {
                return Err(CqlError::invalid(format!(
                    "Static column '{k}' cannot be part of the PRIMARY KEY"
                )));
            }
            check_key_type(k, &def.ty)?;
        }
        // CLUSTERING ORDER BY must name exactly the clustering columns, in order.
        let order = &c.with.clustering_order;
        if !order.is_empty() {
            let names: Vec<&String> = order.iter().map(|o| &o.column).collect();
            if names.iter().any(|n| !pk.clustering.contains(n)) {
                return Err(CqlError::invalid(
                    "Only clustering key columns can be defined in CLUSTERING ORDER directive",
                ));
            }
            if names != pk.clustering.iter().collect::<Vec<_>>() {
                return Err(CqlError::invalid(
                    "Clustering key columns must exactly match columns in CLUSTERING ORDER BY directive",
                ));
            }
        }
        for k in &pk.partition {
            if let Some(d) = columns.get_mut(k) {
                d.kind = ColumnKind::PartitionKey;
            }
        }
        for k in &pk.clustering {
            let desc = order.iter().any(|o| &o.column == k && o.descending);
            if let Some(d) = columns.get_mut(k) {
                d.kind = ColumnKind::Clustering { desc };
            }
        }
        if pk.clustering.is_empty() && columns.values().any(|c| c.kind == ColumnKind::Static) {
            return Err(CqlError::invalid(
                "Static columns are only useful (and thus allowed) if the table has at least one clustering column",
            ));
        }
        let counters = columns
            .values()
            .filter(|c| matches!(c.kind, ColumnKind::Regular | ColumnKind::Static))
            .filter(|c| c.ty == DataType::Counter)
            .count();
        let others = columns
            .values()
            .filter(|c| matches!(c.kind, ColumnKind::Regular | ColumnKind::Static))
            .count();
        if counters > 0 && counters != others {
            return Err(CqlError::invalid(
                "Cannot mix counter and non counter columns in the same table",
            ));
        }
        let (default_ttl, gc_grace) = table_options(&c.with)?;
        let schema = TableSchema {
            keyspace: ks.clone(),
            name: name.clone(),
            partition_key: pk.partition.clone(),
            clustering: pk.clustering.clone(),
            columns,
            view: None,
            default_ttl: default_ttl.unwrap_or(0),
        };
        self.keyspace_mut(&ks)?.tables.insert(
            name,
            Table {
                schema,
                data: BTreeMap::new(),
                views: Vec::new(),
                gc_grace_seconds: gc_grace.unwrap_or(864_000),
            },
        );
        Ok(QueryResult::done())
    }

    fn alter_table(&mut self, a: &ast::AlterTable) -> Result<QueryResult, CqlError> {
        let (ks, name) = self.resolve(&a.name);
        let table = self.existing(&ks, &name)?;
        if table.schema.is_view() {
            return Err(CqlError::invalid(
                "Cannot use ALTER TABLE on a materialized view; use ALTER MATERIALIZED VIEW instead",
            ));
        }
        let has_views = !table.views.is_empty();
        match &a.action {
            ast::AlterAction::Add(cols) => {
                let mut new_cols = Vec::new();
                for col in cols {
                    if table.schema.columns.contains_key(&col.name)
                        || new_cols.iter().any(|c: &ColumnDef| c.name == col.name)
                    {
                        return Err(CqlError::invalid(format!(
                            "Column with name '{}' already exists",
                            col.name
                        )));
                    }
                    let ty = convert::data_type(&col.ty)?;
                    if col.is_static && table.schema.clustering.is_empty() {
                        return Err(CqlError::invalid(
                            "Static columns are not allowed in COMPACT STORAGE tables or tables without clustering columns",
                        ));
                    }
                    let is_counter_table = table
                        .schema
                        .regular_columns()
                        .chain(table.schema.static_columns())
                        .any(|c| c.ty == DataType::Counter);
                    if (ty == DataType::Counter) != is_counter_table && table.schema.regular_columns().next().is_some()
                    {
                        return Err(CqlError::invalid(
                            "Cannot mix counter and non counter columns in the same table",
                        ));
                    }
                    new_cols.push(ColumnDef {
                        name: col.name.clone(),
                        ty,
                        kind: if col.is_static {
                            ColumnKind::Static
                        } else {
                            ColumnKind::Regular
                        },
                    });
                }
                let views = table.views.clone();
                let k = self.keyspace_mut(&ks)?;
                for c in &new_cols {
                    if let Some(t) = k.tables.get_mut(&name) {
                        t.schema.columns.insert(c.name.clone(), c.clone());
                    }
                    // A `SELECT *` view gets the new column (not a static one: views have none).
                    for v in &views {
                        if let Some(vt) = k.tables.get_mut(v) {
                            let all = vt.schema.view.as_ref().is_some_and(|d| d.include_all);
                            if all && c.kind == ColumnKind::Regular {
                                vt.schema.columns.insert(c.name.clone(), c.clone());
                            }
                        }
                    }
                }
                Ok(QueryResult::done())
            }
            ast::AlterAction::Drop { columns, .. } => {
                for c in columns {
                    let def = table
                        .schema
                        .column(c)
                        .ok_or_else(|| CqlError::invalid(format!("Column {c} was not found in table {name}")))?;
                    if matches!(def.kind, ColumnKind::PartitionKey | ColumnKind::Clustering { .. }) {
                        return Err(CqlError::invalid(format!("Cannot drop PRIMARY KEY column {c}")));
                    }
                    if has_views {
                        return Err(CqlError::invalid(format!(
                            "Cannot drop column {c} on base table {name} with materialized views"
                        )));
                    }
                }
                let k = self.keyspace_mut(&ks)?;
                if let Some(t) = k.tables.get_mut(&name) {
                    for c in columns {
                        t.schema.columns.remove(c);
                        for p in t.data.values_mut() {
                            p.static_row.columns.remove(c);
                            for r in p.rows.values_mut() {
                                r.columns.remove(c);
                            }
                        }
                    }
                }
                Ok(QueryResult::done())
            }
            ast::AlterAction::AlterType { .. } => {
                Err(CqlError::invalid("Altering column types is no longer supported"))
            }
            ast::AlterAction::Rename(_) => Err(CqlError::invalid("Renaming columns is not supported by this engine")),
            ast::AlterAction::With(opts) => {
                let (ttl, gc) = table_options(opts)?;
                if has_views && gc == Some(0) {
                    return Err(CqlError::invalid(
                        "Cannot alter gc_grace_seconds of the base table of a materialized view to 0, since this value is used to TTL undelivered updates. Setting gc_grace_seconds too low might cause undelivered updates to expire before being replayed.",
                    ));
                }
                let k = self.keyspace_mut(&ks)?;
                if let Some(t) = k.tables.get_mut(&name) {
                    if let Some(ttl) = ttl {
                        t.schema.default_ttl = ttl;
                    }
                    if let Some(gc) = gc {
                        t.gc_grace_seconds = gc;
                    }
                }
                Ok(QueryResult::done())
            }
        }
    }

    fn drop_table(&mut self, d: &ast::DropObject) -> Result<QueryResult, CqlError> {
        let (ks, name) = self.resolve(&d.name);
        let Some(table) = self.keyspaces.get(&ks).and_then(|k| k.tables.get(&name)) else {
            if d.if_exists {
                return Ok(QueryResult::done());
            }
            return Err(CqlError::invalid(format!("Table '{ks}.{name}' doesn't exist")));
        };
        if table.schema.is_view() {
            return Err(CqlError::invalid(
                "Cannot use DROP TABLE on a materialized view. Please use DROP MATERIALIZED VIEW instead.",
            ));
        }
        if !table.views.is_empty() {
            // Cassandra 4.x passes the keyspace and the view names to a format string with one
            // `%s`, so it shows only the keyspace; we name the views it means to list.
            return Err(CqlError::invalid(format!(
                "Cannot drop a table when materialized views still depend on it ({})",
                table
                    .views
                    .iter()
                    .map(|v| format!("{ks}.{v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        self.keyspace_mut(&ks)?.tables.remove(&name);
        Ok(QueryResult::done())
    }

    fn truncate(&mut self, name: &ast::QualifiedName) -> Result<QueryResult, CqlError> {
        let (ks, name) = self.resolve(name);
        let table = self.existing(&ks, &name)?;
        if table.schema.is_view() {
            return Err(CqlError::invalid(
                "Cannot TRUNCATE materialized view directly; must truncate base table instead",
            ));
        }
        let views = table.views.clone();
        let k = self.keyspace_mut(&ks)?;
        for t in std::iter::once(&name).chain(&views) {
            if let Some(t) = k.tables.get_mut(t) {
                t.data.clear();
            }
        }
        // A running build of one of these views restarts over the (now empty) base.
        for b in &mut self.builds {
            if b.keyspace == ks && b.base == name {
                b.pending.clear();
            }
        }
        Ok(QueryResult::done())
    }

    fn alter_view(&mut self, a: &ast::AlterView) -> Result<QueryResult, CqlError> {
        let (ks, name) = self.resolve(&a.name);
        let is_view = self.table(&ks, &name).is_some_and(|t| t.schema.is_view());
        if !is_view {
            return Err(CqlError::invalid(format!(
                "Materialized view '{ks}.{name}' doesn't exist"
            )));
        }
        let (ttl, gc) = table_options(&a.with)?;
        if gc == Some(0) {
            return Err(CqlError::invalid(
                "Cannot alter gc_grace_seconds of a materialized view to 0, since this value is used to TTL undelivered updates. Setting gc_grace_seconds too low might cause undelivered updates to expire before being replayed.",
            ));
        }
        if ttl.is_some_and(|t| t > 0) {
            return Err(CqlError::invalid(
                "Forbidden default_time_to_live detected for a materialized view. Data in a materialized view always expire at the same time than the corresponding data in the parent table. default_time_to_live must be set to zero, see CASSANDRA-12868 for more information",
            ));
        }
        if let (Some(gc), Some(t)) = (gc, self.table_mut(&ks, &name)) {
            t.gc_grace_seconds = gc;
        }
        Ok(QueryResult::done())
    }

    fn drop_view(&mut self, d: &ast::DropObject) -> Result<QueryResult, CqlError> {
        let (ks, name) = self.resolve(&d.name);
        let base = match self.table(&ks, &name).and_then(|t| t.schema.view.as_ref()) {
            Some(def) => def.base.clone(),
            None => {
                if d.if_exists {
                    return Ok(QueryResult::done());
                }
                return Err(CqlError::invalid(format!(
                    "Materialized view '{ks}.{name}' doesn't exist"
                )));
            }
        };
        let k = self.keyspace_mut(&ks)?;
        k.tables.remove(&name);
        if let Some(b) = k.tables.get_mut(&base) {
            b.views.retain(|v| v != &name);
        }
        self.builds.retain(|b| !(b.keyspace == ks && b.view == name));
        self.built.remove(&(ks, name));
        Ok(QueryResult::done())
    }

    /// `CREATE MATERIALIZED VIEW`, with the checks of `docs/cassandra-semantics.md` §10 in Cassandra's order:
    /// first those its grammar makes while parsing (COMPACT STORAGE, a column ordered twice),
    /// then those of `prepare` (base in another keyspace, bind variables), and only then the
    /// schema lookups of `apply`, clause by clause: SELECT, PRIMARY KEY, WHERE, options.
    fn create_view(&mut self, c: &ast::CreateView) -> Result<QueryResult, CqlError> {
        view_grammar_checks(c)?;
        let (ks, name) = self.resolve(&c.name);
        // Only a base written with its keyspace can be elsewhere: an unqualified base is
        // looked up in the view's keyspace, whatever the session's keyspace is.
        if c.base.keyspace.as_ref().is_some_and(|b| *b != ks) {
            return Err(CqlError::invalid(
                "Cannot create a materialized view on a table in a different keyspace",
            ));
        }
        if contains_bind(c) {
            return Err(CqlError::invalid(
                "Bind variables are not allowed in CREATE MATERIALIZED VIEW statements",
            ));
        }
        if !self.keyspaces.contains_key(&ks) {
            return Err(CqlError::invalid(format!("Keyspace '{ks}' doesn't exist")));
        }
        let base_name = c.base.name.clone();
        let base = self
            .table(&ks, &base_name)
            .ok_or_else(|| CqlError::invalid(format!("Base table '{base_name}' doesn't exist")))?;
        if let Some(existing) = self.table(&ks, &name) {
            if !existing.schema.is_view() {
                return Err(CqlError::invalid(format!(
                    "Cannot create materialized view '{name}' - a table with the same name already exists"
                )));
            }
            if c.if_not_exists {
                return Ok(QueryResult::done());
            }
            return Err(already_exists(&ks, &name));
        }
        view_base_checks(base, &name, &base_name)?;
        let bs = &base.schema;
        let selected = view_selection(bs, &c.selection, &name)?;
        let v_column = view_primary_key(bs, c, &selected, &name, &base_name)?;
        let mut ctx = self.fn_ctx();
        let restrictions = view_where(bs, c, &mut ctx)?;
        let (default_ttl, gc_grace) = table_options(&c.with)?;
        if default_ttl.is_some_and(|t| t != 0) {
            return Err(CqlError::invalid(
                "Cannot set default_time_to_live for a materialized view. Data in a materialized view always expire at the same time than the corresponding data in the parent table.",
            ));
        }
        let schema = view_schema(bs, c, &ks, &name, &selected, v_column, restrictions);
        let pending: VecDeque<PartitionKey> = base.data.keys().cloned().collect();
        self.consume(&ctx);
        let k = self.keyspace_mut(&ks)?;
        k.tables.insert(
            name.clone(),
            Table {
                schema,
                data: BTreeMap::new(),
                views: Vec::new(),
                // A view keeps its own gc_grace_seconds (ALTER MATERIALIZED VIEW changes it), so
                // DESCRIBE's `CREATE ... WITH gc_grace_seconds` must set it too.
                gc_grace_seconds: gc_grace.unwrap_or(864_000),
            },
        );
        if let Some(b) = k.tables.get_mut(&base_name) {
            b.views.push(name.clone());
        }
        if pending.is_empty() {
            self.built.insert((ks, name), 0);
        } else {
            self.builds.push(ViewBuild {
                keyspace: ks,
                view: name,
                base: base_name,
                pending,
                keys_built: 0,
                last_token: None,
                credited_to: self.now_micros,
                budget: 0,
            });
        }
        Ok(QueryResult::Done {
            warnings: vec![VIEW_WARNING.to_string()],
        })
    }

    /// Lets the background view builder work up to `now_micros`: moves the clock there (never
    /// backwards), then has every running build process the base partitions its share of the
    /// elapsed time pays for under [`EngineConfig::build_rate`]. Returns the number of base
    /// partitions built. This is the one call a front end needs for builds to progress by
    /// time; [`Engine::execute`] makes it before every statement.
    pub fn run_builds(&mut self, now_micros: i64) -> usize {
        self.set_now_micros(now_micros);
        let now = self.now_micros;
        let rate = self.cfg.build_rate;
        let mut done = 0;
        for i in 0..self.builds.len() {
            let b = &mut self.builds[i];
            let elapsed = u128::try_from(now.saturating_sub(b.credited_to)).unwrap_or(0);
            b.credited_to = b.credited_to.max(now);
            if let BuildRate::RowsPerSecond(r) = rate {
                b.budget = b.budget.saturating_add(elapsed.saturating_mul(u128::from(r.max(1))));
            }
            while let Some(key) = self.builds[i].pending.front().cloned() {
                if let BuildRate::RowsPerSecond(_) = rate {
                    let cost = self.partition_cost(i, &key);
                    let b = &mut self.builds[i];
                    if b.budget < cost {
                        break;
                    }
                    b.budget -= cost;
                }
                self.build_partition(i, key);
                done += 1;
            }
        }
        let (finished, running): (Vec<ViewBuild>, Vec<ViewBuild>) = std::mem::take(&mut self.builds)
            .into_iter()
            .partition(|b| b.pending.is_empty());
        self.builds = running;
        for b in finished {
            self.built.insert((b.keyspace, b.view), b.keys_built);
        }
        done
    }

    /// What building one queued base partition costs under a rate: its rows.
    fn partition_cost(&self, build: usize, key: &PartitionKey) -> u128 {
        let b = &self.builds[build];
        let rows = self
            .keyspaces
            .get(&b.keyspace)
            .and_then(|k| k.tables.get(&b.base))
            .and_then(|t| t.data.get(key))
            .map_or(0, |p| p.rows.len());
        ROW_COST * (rows.max(1) as u128)
    }

    /// Feeds one queued base partition, as it is now, through `view::build`.
    fn build_partition(&mut self, build: usize, key: PartitionKey) {
        let now_sec = self.now_sec();
        let rules = self.cfg.rules;
        let b = &mut self.builds[build];
        b.pending.pop_front();
        b.keys_built += 1;
        b.last_token = Some(key.token);
        let Some(k) = self.keyspaces.get_mut(&b.keyspace) else {
            return;
        };
        let muts = match (k.tables.get(&b.base), k.tables.get(&b.view)) {
            (Some(base), Some(v)) => match base.data.get(&key) {
                Some(stored) => view::build(&base.schema, &v.schema, &rules, &key, stored, now_sec),
                None => Vec::new(),
            },
            _ => Vec::new(),
        };
        if let Some(vt) = k.tables.get_mut(&b.view) {
            for m in muts {
                vt.data
                    .entry(m.key)
                    .or_default()
                    .apply(&m.update, rules.single_deletion_slot);
            }
        }
    }

    /// When the last running build will be done if nothing else is written: now under
    /// [`BuildRate::Unlimited`], `None` when no build runs. `WAIT FOR VIEW BUILDS` moves the
    /// clock here; a front end on real time sleeps until then and calls [`Engine::run_builds`].
    pub fn view_builds_done_at(&self) -> Option<i64> {
        let rate = match self.cfg.build_rate {
            _ if self.builds.is_empty() => return None,
            BuildRate::Unlimited => return Some(self.now_micros),
            BuildRate::RowsPerSecond(r) => u128::from(r.max(1)),
        };
        self.builds
            .iter()
            .enumerate()
            .map(|(i, b)| {
                let cost: u128 = b.pending.iter().map(|k| self.partition_cost(i, k)).sum();
                let micros = cost.saturating_sub(b.budget).div_ceil(rate);
                b.credited_to.saturating_add(i64::try_from(micros).unwrap_or(i64::MAX))
            })
            .max()
    }

    /// Whether any view build is still running.
    pub fn view_builds_running(&self) -> bool {
        !self.builds.is_empty()
    }

    /// `VIEW BUILD STATUS`: one row per view (or only `only`), running builds first as
    /// `STARTED` with the partitions built and still queued, then finished ones as `SUCCESS`
    /// (`nodetool viewbuildstatus` words).
    fn view_build_status(&self, only: Option<&(String, String)>) -> Rows {
        let text = |s: &str| Some(Value::Text(s.to_string()));
        let wanted = |ks: &str, v: &str| only.is_none_or(|(oks, ov)| oks == ks && ov == v);
        let mut rows: Vec<Vec<Option<Value>>> = self
            .builds
            .iter()
            .filter(|b| wanted(&b.keyspace, &b.view))
            .map(|b| {
                vec![
                    text(&b.keyspace),
                    text(&b.view),
                    text("STARTED"),
                    Some(Value::BigInt(b.keys_built)),
                    Some(Value::BigInt(b.pending.len() as i64)),
                ]
            })
            .collect();
        rows.extend(
            self.built
                .iter()
                .filter(|((ks, v), _)| wanted(ks, v))
                .map(|((ks, v), n)| {
                    vec![
                        text(ks),
                        text(v),
                        text("SUCCESS"),
                        Some(Value::BigInt(*n)),
                        Some(Value::BigInt(0)),
                    ]
                }),
        );
        Rows {
            columns: ["keyspace_name", "view_name", "status", "keys_built", "keys_pending"]
                .iter()
                .map(|s| s.to_string())
                .collect(),
            rows,
        }
    }

    /// A table or view, to change its storage without the write path: view repair writes
    /// a view's rows directly (R9 of `specs/protocol.md`, "View repair"), as a view replica
    /// applies a view mutation.
    pub(super) fn table_mut(&mut self, keyspace: &str, name: &str) -> Option<&mut Table> {
        self.keyspaces.get_mut(keyspace)?.tables.get_mut(name)
    }

    /// The base partitions a running build of `view` has not reached yet: view checks leave
    /// them to the build.
    pub(super) fn build_pending(&self, keyspace: &str, view: &str) -> Vec<&PartitionKey> {
        self.builds
            .iter()
            .filter(|b| b.keyspace == keyspace && b.view == view)
            .flat_map(|b| b.pending.iter())
            .collect()
    }

    /// Runs every view build to completion at once, whatever the rate, without moving the
    /// clock.
    pub fn finish_view_builds(&mut self) {
        let rate = std::mem::replace(&mut self.cfg.build_rate, BuildRate::Unlimited);
        self.run_builds(self.now_micros);
        self.cfg.build_rate = rate;
    }

    /// The status tables' rows: built views, builds in progress, and the view definitions
    /// (cassandra-semantics §11).
    pub(super) fn system_table(&self, keyspace: &str, name: &str) -> Option<Rows> {
        let text = |s: &str| Some(Value::Text(s.to_string()));
        if keyspace == "system_schema" {
            if name != "views" {
                return None;
            }
            // cassandra-semantics §11 `system_schema.views`: the definitions, WHERE clause as written.
            let mut rows = Vec::new();
            for (ks, _, t) in self.tables() {
                let Some(def) = &t.schema.view else { continue };
                rows.push(vec![
                    text(ks),
                    text(&t.schema.name),
                    text(&def.base),
                    Some(Value::Boolean(def.include_all)),
                    text(&def.where_text),
                ]);
            }
            return Some(Rows {
                columns: [
                    "keyspace_name",
                    "view_name",
                    "base_table_name",
                    "include_all_columns",
                    "where_clause",
                ]
                .iter()
                .map(|s| s.to_string())
                .collect(),
                rows,
            });
        }
        // `SELECT *` order, as for any table: partition key, clustering, then the regular
        // columns alphabetically.
        match name {
            // cassandra-semantics §11: `status_replicated` turns true once the build's status is written to the
            // distributed table; a single node writes it right after the local build, so a
            // listed view always shows true.
            "built_views" => Some(Rows {
                columns: ["keyspace_name", "view_name", "status_replicated"]
                    .iter()
                    .map(|s| s.to_string())
                    .collect(),
                rows: self
                    .built
                    .keys()
                    .map(|(ks, v)| vec![text(ks), text(v), Some(Value::Boolean(true))])
                    .collect(),
            }),
            // Seed 002's name, which no Cassandra 4.x table has: it keeps the two columns the
            // seed shows.
            "built_materialized_views" => Some(Rows {
                columns: vec!["keyspace_name".into(), "view_name".into()],
                rows: self.built.keys().map(|(ks, v)| vec![text(ks), text(v)]).collect(),
            }),
            // Seed 002's older name answers exactly as the 4.x table does.
            "view_builds_in_progress" | "materialized_views_builds_in_progress" => Some(Rows {
                columns: [
                    "keyspace_name",
                    "view_name",
                    "start_token",
                    "end_token",
                    "keys_built",
                    "last_token",
                ]
                .iter()
                .map(|s| s.to_string())
                .collect(),
                rows: self
                    .builds
                    .iter()
                    .map(|b| {
                        vec![
                            text(&b.keyspace),
                            text(&b.view),
                            text(&i64::MIN.to_string()),
                            text(&i64::MAX.to_string()),
                            Some(Value::BigInt(b.keys_built)),
                            b.last_token.map(|t| Value::Text(t.to_string())),
                        ]
                    })
                    .collect(),
            }),
            _ => None,
        }
    }

    /// Applies partition updates: for a table with views, one read-before-write per update,
    /// the view mutations of every view, then the base update (cassandra-semantics §2).
    pub(super) fn apply_mutations(&mut self, muts: Mutations) {
        let now_sec = self.now_sec();
        let rules = self.cfg.rules;
        for ((ks, table, key), update) in muts {
            let Some(k) = self.keyspaces.get_mut(&ks) else { continue };
            let view_muts = match k.tables.get(&table) {
                Some(t) if !t.views.is_empty() => {
                    let existing = view::read_before_write(t.data.get(&key), &update);
                    let views: Vec<&TableSchema> = t
                        .views
                        .iter()
                        .filter_map(|v| k.tables.get(v).map(|vt| &vt.schema))
                        .collect();
                    view::generate(&t.schema, &views, &rules, &key, &existing, &update, now_sec)
                }
                _ => Vec::new(),
            };
            for m in view_muts {
                if let Some(vt) = k.tables.get_mut(&m.view) {
                    vt.data
                        .entry(m.key)
                        .or_default()
                        .apply(&m.update, rules.single_deletion_slot);
                }
            }
            if let Some(t) = k.tables.get_mut(&table) {
                t.data.entry(key).or_default().apply(&update, false);
            }
        }
    }
}

fn already_exists(ks: &str, name: &str) -> CqlError {
    CqlError::new(
        ErrorKind::AlreadyExists,
        format!("Cannot add already existing table \"{name}\" to keyspace \"{ks}\""),
    )
}

/// Primary-key column types: no non-frozen collection, no counter.
fn check_key_type(col: &str, ty: &DataType) -> Result<(), CqlError> {
    if ty.is_multicell() {
        return Err(CqlError::invalid(format!(
            "Invalid non-frozen collection type '{ty}' for PRIMARY KEY column '{col}'"
        )));
    }
    if *ty == DataType::Counter {
        return Err(CqlError::invalid(format!(
            "counter type is not supported for PRIMARY KEY column '{col}'"
        )));
    }
    Ok(())
}

/// `default_time_to_live` and `gc_grace_seconds` among the `WITH` options; the others are
/// accepted and ignored.
fn table_options(with: &ast::TableOptions) -> Result<(Option<u32>, Option<i64>), CqlError> {
    let mut ttl = None;
    let mut gc = None;
    for o in &with.options {
        let int = |what: &str| -> Result<i64, CqlError> {
            match &o.value {
                ast::Term::Integer(s) => s.parse::<i64>().map_err(|_| {
                    CqlError::new(
                        ErrorKind::Configuration,
                        format!("Invalid value for {what}: {}", convert::shown(s)),
                    )
                }),
                other => Err(CqlError::new(
                    ErrorKind::Configuration,
                    format!("Invalid value for {what}: {}", convert::shown(&other.to_string())),
                )),
            }
        };
        match o.name.as_str() {
            "default_time_to_live" => {
                let v = int("default_time_to_live")?;
                if !(0..=MAX_TTL).contains(&v) {
                    return Err(CqlError::new(
                        ErrorKind::Configuration,
                        format!(
                            "default_time_to_live must be greater than or equal to 0 and less than or equal to {MAX_TTL} (got {v})"
                        ),
                    ));
                }
                ttl = Some(v as u32);
            }
            "gc_grace_seconds" => {
                let v = int("gc_grace_seconds")?;
                if v < 0 {
                    return Err(CqlError::new(
                        ErrorKind::Configuration,
                        format!("gc_grace_seconds must be greater than or equal to 0 (got {v})"),
                    ));
                }
                gc = Some(v);
            }
            _ => {}
        }
    }
    Ok((ttl, gc))
}

/// What the base table itself must be for a view to stand on it.
fn view_base_checks(base: &Table, name: &str, base_name: &str) -> Result<(), CqlError> {
    let bs = &base.schema;
    if bs.columns.values().any(|c| c.ty == DataType::Counter) {
        return Err(CqlError::invalid(
            "Materialized views are not supported on counter tables",
        ));
    }
    if bs.is_view() {
        return Err(CqlError::invalid(
            "Materialized views cannot be created against other materialized views",
        ));
    }
    if base.gc_grace_seconds == 0 {
        return Err(CqlError::invalid(format!(
            "Cannot create materialized view '{name}' for base table '{base_name}' with gc_grace_seconds of 0, since this value is used to TTL undelivered updates. Setting gc_grace_seconds too low might cause undelivered updates to expire before being replayed."
        )));
    }
    Ok(())
}

/// The SELECT clause: the view's columns, in the order the view will list them.
fn view_selection(bs: &TableSchema, selection: &ast::Selection, name: &str) -> Result<Vec<String>, CqlError> {
    let static_refused = |s: &str| {
        CqlError::invalid(format!(
            "Cannot include static column '{s}' in materialized view '{name}'"
        ))
    };
    let sels = match selection {
        ast::Selection::All => {
            if let Some(s) = bs.static_columns().next() {
                return Err(static_refused(&s.name));
            }
            return Ok(bs.select_star_order());
        }
        ast::Selection::Selectors(sels) => sels,
    };
    // Every selector is resolved (an unknown column fails here) before the static check
    // looks at the whole selection, as Cassandra does.
    let mut out: Vec<String> = Vec::new();
    for s in sels {
        if let Some(alias) = &s.alias {
            return Err(CqlError::invalid(format!(
                "Cannot use aliases when defining a materialized view (got {alias})"
            )));
        }
        let ast::SelectorExpr::Column(col) = &s.expr else {
            return Err(CqlError::invalid(format!(
                "Can only select columns by name when defining a materialized view (got {})",
                selector_text(&s.expr)
            )));
        };
        if bs.column(col).is_none() {
            return Err(CqlError::invalid(format!("Undefined column name {col}")));
        }
        if !out.contains(col) {
            out.push(col.clone());
        }
    }
    match out
        .iter()
        .find(|col| bs.column(col).is_some_and(|d| d.kind == ColumnKind::Static))
    {
        Some(s) => Err(static_refused(s)),
        None => Ok(out),
    }
}

/// The PRIMARY KEY and CLUSTERING ORDER BY clauses. Returns the one non-primary-key base
/// column in the view's key, if there is one.
fn view_primary_key(
    bs: &TableSchema,
    c: &ast::CreateView,
    selected: &[String],
    name: &str,
    base_name: &str,
) -> Result<Option<String>, CqlError> {
    let pk = &c.primary_key;
    if pk.partition.is_empty() {
        return Err(CqlError::invalid(format!(
            "Must provide at least one partition key column for materialized view '{name}'"
        )));
    }
    let mut seen = BTreeSet::new();
    for k in pk.partition.iter().chain(&pk.clustering) {
        let def = bs.column(k).filter(|_| selected.contains(k)).ok_or_else(|| {
            CqlError::invalid(format!(
                "Unknown column '{k}' referenced in PRIMARY KEY for materialized view '{name}'"
            ))
        })?;
        if !seen.insert(k.clone()) {
            return Err(CqlError::invalid(format!(
                "Duplicate column '{k}' in PRIMARY KEY clause for materialized view '{name}'"
            )));
        }
        check_key_type(k, &def.ty)?;
    }
    // A column ordered twice was already refused by `view_grammar_checks`.
    let order = &c.with.clustering_order;
    if !order.is_empty()
        && order.iter().map(|o| &o.column).collect::<Vec<_>>() != pk.clustering.iter().collect::<Vec<_>>()
    {
        return Err(CqlError::invalid(
            "Clustering key columns must exactly match columns in CLUSTERING ORDER BY directive",
        ));
    }
    // Every base primary-key column in the view's key; at most one other column.
    let missing: Vec<&str> = bs
        .partition_key
        .iter()
        .chain(&bs.clustering)
        .filter(|k| !seen.contains(*k))
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        return Err(CqlError::invalid(format!(
            "Cannot create materialized view '{name}' without primary key columns {} from base table '{base_name}'",
            missing.join(", ")
        )));
    }
    let non_pk: Vec<&str> = pk
        .partition
        .iter()
        .chain(&pk.clustering)
        .filter(|k| !bs.is_primary_key(k))
        .map(String::as_str)
        .collect();
    if non_pk.len() > 1 {
        return Err(CqlError::invalid(format!(
            "Cannot include more than one non-primary key column in materialized view primary key (got {})",
            non_pk.join(", ")
        )));
    }
    Ok(non_pk.first().map(|s| s.to_string()))
}

/// The WHERE clause: every view key column restricted, filters only on base key columns.
/// Returns the filters the view applies to base rows.
fn view_where(bs: &TableSchema, c: &ast::CreateView, ctx: &mut FnCtx) -> Result<Vec<(String, Restriction)>, CqlError> {
    let pk = &c.primary_key;
    let mut restricted = BTreeSet::new();
    let mut restrictions = Vec::new();
    let mut filtered_regular: Vec<String> = Vec::new();
    for rel in &c.where_clause {
        let (col, r) = match rel {
            ast::Relation::Token { .. } => {
                return Err(CqlError::invalid(
                    "Cannot use token relation when defining a materialized view",
                ))
            }
            ast::Relation::IsNotNull { column } => (column, None),
            ast::Relation::Compare { column, op, value } => (column, Some((Some(*op), vec![value]))),
            ast::Relation::In { column, values } => (column, Some((None, values.iter().collect()))),
            ast::Relation::Tuple { .. } | ast::Relation::TupleIn { .. } => {
                return Err(CqlError::invalid(
                    "Multi-column relations in a materialized view's WHERE are not supported by this engine",
                ))
            }
        };
        let def = bs
            .column(col)
            .ok_or_else(|| CqlError::invalid(format!("Undefined column name {col}")))?;
        restricted.insert(col.clone());
        let Some((op, terms)) = r else { continue };
        let mut vals = Vec::new();
        for t in terms {
            vals.push(
                convert::value(t, &def.ty, col, ctx)?
                    .ok_or_else(|| CqlError::invalid(format!("Invalid null value in condition for column {col}")))?,
            );
        }
        let first = vals.first().cloned().unwrap_or(Value::Int(0));
        let restriction = match op {
            None => Restriction::In(vals),
            Some(ast::Operator::Eq) => Restriction::Eq(first),
            Some(ast::Operator::Lt) => Restriction::Lt(first),
            Some(ast::Operator::Le) => Restriction::Le(first),
            Some(ast::Operator::Gt) => Restriction::Gt(first),
            Some(ast::Operator::Ge) => Restriction::Ge(first),
            Some(other) => {
                return Err(CqlError::invalid(format!(
                    "Unsupported \"{other}\" relation in a materialized view's WHERE on {col}"
                )))
            }
        };
        // A filter on a regular column is refused (CASSANDRA-13798), but only after the
        // key columns' check below; its value is validated like any other.
        if bs.is_primary_key(col) {
            restrictions.push((col.clone(), restriction));
        } else if !filtered_regular.contains(col) {
            filtered_regular.push(col.clone());
        }
    }
    let unrestricted: Vec<&str> = pk
        .partition
        .iter()
        .chain(&pk.clustering)
        .filter(|k| !restricted.contains(*k))
        .map(String::as_str)
        .collect();
    if !unrestricted.is_empty() {
        return Err(CqlError::invalid(format!(
            "Primary key columns {} must be restricted with 'IS NOT NULL' or otherwise",
            unrestricted.join(", ")
        )));
    }
    // Cassandra joins these with "," and no space, in its set's order; ours is the WHERE
    // clause's.
    if !filtered_regular.is_empty() {
        return Err(CqlError::invalid(format!(
            "Non-primary key columns can only be restricted with 'IS NOT NULL' (got: {} restricted illegally)",
            filtered_regular.join(",")
        )));
    }
    Ok(restrictions)
}

/// The view's schema, once every clause has passed its checks.
fn view_schema(
    bs: &TableSchema,
    c: &ast::CreateView,
    ks: &str,
    name: &str,
    selected: &[String],
    v_column: Option<String>,
    restrictions: Vec<(String, Restriction)>,
) -> TableSchema {
    let pk = &c.primary_key;
    let mut columns = BTreeMap::new();
    for col in selected {
        let Some(def) = bs.column(col) else { continue };
        let kind = if pk.partition.contains(col) {
            ColumnKind::PartitionKey
        } else if pk.clustering.contains(col) {
            let desc = match c.with.clustering_order.iter().find(|o| &o.column == col) {
                Some(o) => o.descending,
                // Not listed: keeps the base column's order, DESC included (cassandra-semantics §6).
                None => matches!(def.kind, ColumnKind::Clustering { desc: true }),
            };
            ColumnKind::Clustering { desc }
        } else {
            ColumnKind::Regular
        };
        columns.insert(
            col.clone(),
            ColumnDef {
                name: col.clone(),
                ty: def.ty.clone(),
                kind,
            },
        );
    }
    TableSchema {
        keyspace: ks.to_string(),
        name: name.to_string(),
        partition_key: pk.partition.clone(),
        clustering: pk.clustering.clone(),
        columns,
        view: Some(ViewDef {
            base: c.base.name.clone(),
            include_all: matches!(c.selection, ast::Selection::All),
            v_column,
            restrictions,
            where_text: c.where_text.clone(),
        }),
        default_ttl: 0,
    }
}

/// The refusals Cassandra's grammar makes while it reads a CREATE MATERIALIZED VIEW, in source
/// order: COMPACT STORAGE (a syntax error since 4.0) and a column named twice in CLUSTERING
/// ORDER BY, which names the view as written (with its keyspace if it has one).
fn view_grammar_checks(c: &ast::CreateView) -> Result<(), CqlError> {
    let order = &c.with.clustering_order;
    let compact_at = c.with.compact_storage.unwrap_or(usize::MAX);
    for (i, o) in order.iter().enumerate() {
        if i >= compact_at {
            break;
        }
        if order[..i].iter().any(|p| p.column == o.column) {
            return Err(CqlError::invalid(format!(
                "Duplicate column '{}' in CLUSTERING ORDER BY clause for view '{}'",
                o.column, c.name
            )));
        }
    }
    if c.with.compact_storage.is_some() {
        return Err(CqlError::new(
            ErrorKind::Syntax,
            "COMPACT STORAGE tables are not allowed starting with version 4.0",
        ));
    }
    Ok(())
}

fn contains_bind(c: &ast::CreateView) -> bool {
    fn term(t: &ast::Term) -> bool {
        match t {
            ast::Term::Bind(_) => true,
            ast::Term::List(xs) | ast::Term::Set(xs) | ast::Term::Tuple(xs) => xs.iter().any(term),
            ast::Term::Map(kvs) => kvs.iter().any(|(k, v)| term(k) || term(v)),
            ast::Term::Function { args, .. } => args.iter().any(term),
            _ => false,
        }
    }
    c.where_clause.iter().any(|r| match r {
        ast::Relation::Compare { value, .. } | ast::Relation::Token { value, .. } => term(value),
        ast::Relation::In { values, .. } | ast::Relation::Tuple { values, .. } => values.iter().any(term),
        ast::Relation::TupleIn { values, .. } => values.iter().flatten().any(term),
        ast::Relation::IsNotNull { .. } => false,
    })
}

pub(super) fn selector_text(e: &ast::SelectorExpr) -> String {
    match e {
        ast::SelectorExpr::Column(c) => c.clone(),
        ast::SelectorExpr::WriteTime(c) => format!("writetime({c})"),
        ast::SelectorExpr::Ttl(c) => format!("ttl({c})"),
        ast::SelectorExpr::CountAll => "count".to_string(),
        ast::SelectorExpr::Function { name, args } => format!(
            "{}({})",
            name,
            args.iter().map(selector_text).collect::<Vec<_>>().join(", ")
        ),
        ast::SelectorExpr::Term(t) => t.to_string(),
    }
}
