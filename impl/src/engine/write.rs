//! INSERT, UPDATE, DELETE and BATCH: statements to partition updates, validated completely
//! before anything is applied (see `exec.rs`).

use super::convert::{self, FnCtx};
use super::data::{
    Cell, ClusteringKey, ColumnData, Complex, DeletionTime, Liveness, Partition, PartitionKey, RangeTombstone, Row,
};
use super::error::CqlError;
use super::exec::{Engine, Mutations, MAX_TTL};
use super::restrict::{self, Use};
use super::schema::{ColumnKind, TableSchema};
use super::value::{DataType, Value};
use crate::cql::ast::{self, Stmt, StmtKind, Term};
use std::collections::BTreeMap;

/// A write's attributes, resolved.
struct Attrs {
    ts: i64,
    /// 0 is no TTL.
    ttl: u32,
    now_sec: i64,
}

impl Attrs {
    fn cell(&self, v: Option<Value>) -> Cell {
        match v {
            Some(v) => Cell::with_ttl(self.ts, v, self.ttl, self.now_sec),
            None => Cell::tombstone(self.ts, self.now_sec),
        }
    }

    fn deletion(&self) -> DeletionTime {
        DeletionTime {
            ts: self.ts,
            local_time: self.now_sec,
        }
    }

    /// A whole-collection overwrite deletes what was there just before the new elements
    /// (`timestamp - 1`, so the new elements at `timestamp` survive it).
    fn overwrite(&self) -> DeletionTime {
        DeletionTime {
            ts: self.ts.saturating_sub(1),
            local_time: self.now_sec,
        }
    }

    fn marker(&self) -> Liveness {
        if self.ttl == 0 {
            Liveness::Live { ts: self.ts }
        } else {
            Liveness::Expiring {
                ts: self.ts,
                ttl: self.ttl,
                expires: self.now_sec.saturating_add(i64::from(self.ttl)),
            }
        }
    }
}

fn part<'m>(muts: &'m mut Mutations, schema: &TableSchema, key: &PartitionKey) -> &'m mut Partition {
    muts.entry((schema.keyspace.clone(), schema.name.clone(), key.clone()))
        .or_default()
}

fn join(cols: &[&String]) -> String {
    cols.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
}

impl Engine {
    /// The partition updates of an INSERT, UPDATE, DELETE or BATCH.
    pub(super) fn write_mutations(&mut self, stmt: &Stmt) -> Result<Mutations, CqlError> {
        let mut muts = Mutations::new();
        let mut ctx = self.fn_ctx();
        match &stmt.kind {
            StmtKind::Batch(b) => {
                if b.using.ttl.is_some() {
                    return Err(CqlError::invalid("Global TTL on the BATCH statement is not supported."));
                }
                let batch_ts = b
                    .using
                    .timestamp
                    .as_ref()
                    .map(|t| convert::integer(t, "timestamp"))
                    .transpose()?;
                // One timestamp shared by every statement of the batch.
                let ts = match batch_ts {
                    Some(ts) => ts,
                    None => self.next_timestamp(),
                };
                for s in &b.statements {
                    let own_ts = match &s.kind {
                        StmtKind::Insert(i) => i.using.timestamp.is_some(),
                        StmtKind::Update(u) => u.using.timestamp.is_some(),
                        StmtKind::Delete(d) => d.using.timestamp.is_some(),
                        _ => false,
                    };
                    if batch_ts.is_some() && own_ts {
                        return Err(CqlError::invalid(
                            "Timestamp must be set either on BATCH or individual statements",
                        ));
                    }
                    self.statement_mutations(s, ts, &mut ctx, &mut muts)?;
                }
            }
            _ => {
                let ts = self.next_timestamp();
                self.statement_mutations(stmt, ts, &mut ctx, &mut muts)?;
            }
        }
        self.consume(&ctx);
        Ok(muts)
    }

    fn writable(&self, name: &ast::QualifiedName) -> Result<TableSchema, CqlError> {
        let (ks, n) = self.resolve(name);
        let t = self.existing(&ks, &n)?;
        if t.schema.is_view() {
            return Err(CqlError::invalid("Cannot directly modify a materialized view"));
        }
        Ok(t.schema.clone())
    }

    fn attrs(&self, using: &ast::Using, default_ts: i64, schema: &TableSchema) -> Result<Attrs, CqlError> {
        let ts = match &using.timestamp {
            Some(t) => convert::integer(t, "timestamp")?,
            None => default_ts,
        };
        let ttl = match &using.ttl {
            Some(t) => {
                let v = convert::integer(t, "ttl")?;
                if v < 0 {
                    return Err(CqlError::invalid(format!(
                        "A TTL must be greater or equal to 0, but was {v}"
                    )));
                }
                if v > MAX_TTL {
                    return Err(CqlError::invalid(format!(
                        "ttl is too large. requested ({v}) maximum ({MAX_TTL})"
                    )));
                }
                v as u32
            }
            None => schema.default_ttl,
        };
        Ok(Attrs {
            ts,
            ttl,
            now_sec: self.now_sec(),
        })
    }

    fn statement_mutations(
        &mut self,
        stmt: &Stmt,
        default_ts: i64,
        ctx: &mut FnCtx,
        muts: &mut Mutations,
    ) -> Result<(), CqlError> {
        match &stmt.kind {
            StmtKind::Insert(i) => self.insert(i, default_ts, ctx, muts),
            StmtKind::Update(u) => self.update(u, default_ts, ctx, muts),
            StmtKind::Delete(d) => self.delete(d, default_ts, ctx, muts),
            _ => Err(CqlError::invalid(
                "Only INSERT, UPDATE and DELETE statements are allowed in a BATCH",
            )),
        }
    }

    fn insert(
        &mut self,
        i: &ast::Insert,
        default_ts: i64,
        ctx: &mut FnCtx,
        muts: &mut Mutations,
    ) -> Result<(), CqlError> {
        let schema = self.writable(&i.table)?;
        if i.if_not_exists {
            return Err(lwt_unsupported());
        }
        if i.columns.len() != i.values.len() {
            return Err(CqlError::invalid("Unmatched column names/values"));
        }
        if schema.columns.values().any(|c| c.ty == DataType::Counter) {
            return Err(CqlError::invalid(
                "INSERT statements are not allowed on counter tables, use UPDATE instead",
            ));
        }
        let attrs = self.attrs(&i.using, default_ts, &schema)?;
        let given: BTreeMap<&String, &Term> = i.columns.iter().zip(&i.values).collect();
        if given.len() != i.columns.len() {
            return Err(CqlError::invalid("The column names contains duplicates"));
        }
        if let Some(c) = i.columns.iter().find(|c| schema.column(c).is_none()) {
            return Err(CqlError::invalid(format!("Undefined column name {c}")));
        }
        let key_value = |c: &String, ctx: &mut FnCtx| -> Result<Value, CqlError> {
            let def = &schema.columns[c];
            convert::value(given[c], &def.ty, c, ctx)?
                .ok_or_else(|| CqlError::invalid(format!("Invalid null value in condition for column {c}")))
        };
        let missing_pk: Vec<&String> = schema.partition_key.iter().filter(|c| !given.contains_key(c)).collect();
        if !missing_pk.is_empty() {
            return Err(CqlError::invalid(format!(
                "Some partition key parts are missing: {}",
                join(&missing_pk)
            )));
        }
        let missing_ck: Vec<&String> = schema.clustering.iter().filter(|c| !given.contains_key(c)).collect();
        let only_static = given
            .keys()
            .all(|c| matches!(schema.columns[*c].kind, ColumnKind::Static | ColumnKind::PartitionKey));
        // An INSERT of static columns alone may leave out the clustering key.
        let static_only = missing_ck.len() == schema.clustering.len() && only_static && !schema.clustering.is_empty();
        if !missing_ck.is_empty() && !static_only {
            return Err(CqlError::invalid(format!(
                "Some clustering keys are missing: {}",
                join(&missing_ck)
            )));
        }
        let mut pk = Vec::new();
        for c in &schema.partition_key {
            pk.push(key_value(c, ctx)?);
        }
        let mut ck = Vec::new();
        if !static_only {
            for c in &schema.clustering {
                ck.push(key_value(c, ctx)?);
            }
        }
        let mut row = Row::default();
        let mut static_row = Row::default();
        if !static_only {
            row.marker = Some(attrs.marker());
        }
        for (c, t) in &given {
            let def = &schema.columns[*c];
            let target = match def.kind {
                ColumnKind::Static => &mut static_row,
                ColumnKind::Regular => &mut row,
                _ => continue,
            };
            let v = convert::value(t, &def.ty, c, ctx)?;
            let data = self.whole_value(&def.ty, v, &attrs);
            target.columns.insert((*c).clone(), data);
        }
        let key = PartitionKey::new(pk);
        let p = part(muts, &schema, &key);
        if !static_row.is_empty() {
            p.static_row.merge(&static_row, false);
        }
        if !static_only {
            p.rows.entry(schema.clustering_key(ck)).or_default().merge(&row, false);
        }
        Ok(())
    }

    /// A column set to a whole value: a cell, or for a non-frozen collection an overwrite
    /// deletion plus one cell per element.
    fn whole_value(&mut self, ty: &DataType, v: Option<Value>, attrs: &Attrs) -> ColumnData {
        if !ty.is_multicell() {
            return ColumnData::Simple(attrs.cell(v));
        }
        let mut cx = Complex {
            deletion: Some(attrs.overwrite()),
            cells: BTreeMap::new(),
        };
        self.add_elements(&mut cx, v, attrs, false);
        ColumnData::Complex(cx)
    }

    /// Element cells for a collection value: appended (or prepended) list elements, set
    /// elements, map entries.
    fn add_elements(&mut self, cx: &mut Complex, v: Option<Value>, attrs: &Attrs, prepend: bool) {
        match v {
            Some(Value::List(xs)) => {
                // Time-ordered ids: appends get growing ids, prepends shrinking negative ones.
                let ids: Vec<u64> = xs.iter().map(|_| self.next_seq()).collect();
                let n = xs.len();
                for (i, x) in xs.into_iter().enumerate() {
                    let id = if prepend {
                        -(ids[n - 1 - i] as i64)
                    } else {
                        ids[i] as i64
                    };
                    cx.cells.insert(Value::BigInt(id), attrs.cell(Some(x)));
                }
            }
            Some(Value::Set(xs)) => {
                for x in xs {
                    cx.cells.insert(x, attrs.cell(Some(Value::Boolean(true))));
                }
            }
            Some(Value::Map(kvs)) => {
                for (k, x) in kvs {
                    cx.cells.insert(k, attrs.cell(Some(x)));
                }
            }
            _ => {}
        }
    }

    /// The stored row, as a read sees it (list index and removal operations read it).
    fn stored_row(&self, schema: &TableSchema, key: &PartitionKey, ck: &ClusteringKey, is_static: bool) -> Option<Row> {
        let t = self.table(&schema.keyspace, &schema.name)?;
        let p = t.data.get(key)?;
        if is_static {
            Some(p.read_static())
        } else {
            p.read_row(ck)
        }
    }

    /// The live list elements of a stored row's column, in list order.
    fn stored_list(
        &self,
        schema: &TableSchema,
        key: &PartitionKey,
        ck: &ClusteringKey,
        col: &str,
        is_static: bool,
    ) -> Vec<(Value, Value)> {
        let now = self.now_sec();
        match self
            .stored_row(schema, key, ck, is_static)
            .and_then(|r| r.columns.get(col).cloned())
        {
            Some(ColumnData::Complex(cx)) => cx
                .cells
                .iter()
                .filter_map(|(p, c)| c.value(now).map(|v| (p.clone(), v.clone())))
                .collect(),
            _ => Vec::new(),
        }
    }

    fn update(
        &mut self,
        u: &ast::Update,
        default_ts: i64,
        ctx: &mut FnCtx,
        muts: &mut Mutations,
    ) -> Result<(), CqlError> {
        let schema = self.writable(&u.table)?;
        if u.condition.is_some() {
            return Err(lwt_unsupported());
        }
        let attrs = self.attrs(&u.using, default_ts, &schema)?;
        let r = restrict::analyze(&schema, &u.where_clause, Use::Update, ctx)?;
        if !r.non_key.is_empty() {
            return Err(CqlError::invalid(format!(
                "Non PRIMARY KEY columns found in where clause: {}",
                r.non_key.join(", ")
            )));
        }
        let keys = r.partition_keys(&schema)?.ok_or_else(|| {
            CqlError::invalid(format!(
                "Some partition key parts are missing: {}",
                schema.partition_key.join(", ")
            ))
        })?;
        let mut seen = Vec::new();
        for a in &u.assignments {
            let col = assignment_column(a);
            let def = schema
                .column(col)
                .ok_or_else(|| CqlError::invalid(format!("Undefined column name {col}")))?;
            if matches!(def.kind, ColumnKind::PartitionKey | ColumnKind::Clustering { .. }) {
                return Err(CqlError::invalid(format!("PRIMARY KEY part {col} found in SET part")));
            }
            if seen.contains(&col) {
                return Err(CqlError::invalid(format!(
                    "Multiple definitions found for column {col}"
                )));
            }
            seen.push(col);
        }
        let only_static = seen.iter().all(|c| schema.columns[*c].kind == ColumnKind::Static);
        let cr = r.clustering(&schema)?;
        if cr.slice.is_some() {
            return Err(CqlError::invalid(
                "Slice restrictions are not supported on the clustering columns in UPDATE statements",
            ));
        }
        let static_only = only_static && cr.is_unrestricted();
        if !cr.full && !static_only {
            let missing: Vec<&String> = schema.clustering.iter().filter(|c| !r.eq.contains_key(*c)).collect();
            return Err(CqlError::invalid(format!(
                "Some clustering keys are missing: {}",
                join(&missing)
            )));
        }
        for pk in keys {
            let key = PartitionKey::new(pk);
            let cks: Vec<Option<ClusteringKey>> = if static_only {
                vec![None]
            } else {
                cr.prefixes
                    .iter()
                    .map(|p| Some(schema.clustering_key(p.clone())))
                    .collect()
            };
            for ck in cks {
                let mut row = Row::default();
                let mut static_row = Row::default();
                for a in &u.assignments {
                    let col = assignment_column(a);
                    let def = &schema.columns[col];
                    let is_static = def.kind == ColumnKind::Static;
                    let ck_ref = ck.clone().unwrap_or_default();
                    let data = self.assignment(&schema, &key, &ck_ref, is_static, a, &def.ty, &attrs, ctx)?;
                    let target = if is_static { &mut static_row } else { &mut row };
                    if let Some(d) = data {
                        target.columns.insert(col.clone(), d);
                    }
                }
                let p = part(muts, &schema, &key);
                p.static_row.merge(&static_row, false);
                if let Some(ck) = ck {
                    p.rows.entry(ck).or_default().merge(&row, false);
                }
            }
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn assignment(
        &mut self,
        schema: &TableSchema,
        key: &PartitionKey,
        ck: &ClusteringKey,
        is_static: bool,
        a: &ast::Assignment,
        ty: &DataType,
        attrs: &Attrs,
        ctx: &mut FnCtx,
    ) -> Result<Option<ColumnData>, CqlError> {
        let col = assignment_column(a);
        let op_text = |op: &str, v: &Term| format!("{col} = {col} {op} {v}");
        match a {
            ast::Assignment::Set { value, .. } => {
                if *ty == DataType::Counter {
                    return Err(CqlError::invalid(format!(
                        "Cannot set the value of counter column {col} (counters can only be incremented/decremented, not set)"
                    )));
                }
                let v = convert::value(value, ty, col, ctx)?;
                Ok(Some(self.whole_value(ty, v, attrs)))
            }
            ast::Assignment::Add { value, .. } | ast::Assignment::Subtract { value, .. } => {
                let adding = matches!(a, ast::Assignment::Add { .. });
                match ty {
                    DataType::Counter => {
                        let delta = match convert::value(value, ty, col, ctx)? {
                            Some(Value::Counter(d)) => d,
                            _ => return Err(CqlError::invalid("Invalid null value for counter increment")),
                        };
                        let current = self
                            .stored_row(schema, key, ck, is_static)
                            .and_then(|r| r.cell(col).and_then(|c| c.value(attrs.now_sec).cloned()));
                        let base = match current {
                            Some(Value::Counter(c)) => c,
                            _ => 0,
                        };
                        let next = if adding {
                            base.wrapping_add(delta)
                        } else {
                            base.wrapping_sub(delta)
                        };
                        Ok(Some(ColumnData::Simple(Cell::live(attrs.ts, Value::Counter(next)))))
                    }
                    DataType::List(_) => {
                        let v = convert::value(value, ty, col, ctx)?;
                        let mut cx = Complex::default();
                        if adding {
                            self.add_elements(&mut cx, v, attrs, false);
                        } else {
                            let remove = match v {
                                Some(Value::List(xs)) => xs,
                                _ => Vec::new(),
                            };
                            // Removal by value reads the list and deletes the matching elements.
                            for (path, x) in self.stored_list(schema, key, ck, col, is_static) {
                                if remove.contains(&x) {
                                    cx.cells.insert(path, attrs.cell(None));
                                }
                            }
                        }
                        Ok(Some(ColumnData::Complex(cx)))
                    }
                    DataType::Set(_) => {
                        let v = convert::value(value, ty, col, ctx)?;
                        let mut cx = Complex::default();
                        if adding {
                            self.add_elements(&mut cx, v, attrs, false);
                        } else if let Some(Value::Set(xs)) = v {
                            for x in xs {
                                cx.cells.insert(x, attrs.cell(None));
                            }
                        }
                        Ok(Some(ColumnData::Complex(cx)))
                    }
                    DataType::Map(k, _) => {
                        let mut cx = Complex::default();
                        if adding {
                            let v = convert::value(value, ty, col, ctx)?;
                            self.add_elements(&mut cx, v, attrs, false);
                        } else {
                            let keys_ty = DataType::Set(k.clone());
                            if let Some(Value::Set(keys)) = convert::value(value, &keys_ty, col, ctx)? {
                                for k in keys {
                                    cx.cells.insert(k, attrs.cell(None));
                                }
                            }
                        }
                        Ok(Some(ColumnData::Complex(cx)))
                    }
                    _ => Err(CqlError::invalid(format!(
                        "Invalid operation ({}) for non counter column {col}",
                        op_text(if adding { "+" } else { "-" }, value)
                    ))),
                }
            }
            ast::Assignment::Prepend { value, .. } => {
                if !matches!(ty, DataType::List(_)) {
                    return Err(CqlError::invalid(format!(
                        "Invalid operation ({col} = {value} + {col}) for non list column {col}"
                    )));
                }
                let v = convert::value(value, ty, col, ctx)?;
                let mut cx = Complex::default();
                self.add_elements(&mut cx, v, attrs, true);
                Ok(Some(ColumnData::Complex(cx)))
            }
            ast::Assignment::SetElement { key: idx, value, .. } => match ty {
                DataType::List(e) => {
                    let i = list_index(idx)?;
                    let list = self.stored_list(schema, key, ck, col, is_static);
                    let Some((path, _)) = usize::try_from(i).ok().and_then(|i| list.get(i)) else {
                        return Err(CqlError::invalid(format!(
                            "List index {i} out of bound, list has size {}",
                            list.len()
                        )));
                    };
                    let v = convert::value(value, e, col, ctx)?;
                    let mut cx = Complex::default();
                    cx.cells.insert(path.clone(), attrs.cell(v));
                    Ok(Some(ColumnData::Complex(cx)))
                }
                DataType::Map(kt, vt) => {
                    let k =
                        convert::value(idx, kt, col, ctx)?.ok_or_else(|| CqlError::invalid("Invalid null map key"))?;
                    let v = convert::value(value, vt, col, ctx)?;
                    let mut cx = Complex::default();
                    cx.cells.insert(k, attrs.cell(v));
                    Ok(Some(ColumnData::Complex(cx)))
                }
                _ => Err(CqlError::invalid(format!(
                    "Invalid operation ({col}[{idx}] = {value}) for non list or map column {col}"
                ))),
            },
        }
    }

    fn delete(
        &mut self,
        d: &ast::Delete,
        default_ts: i64,
        ctx: &mut FnCtx,
        muts: &mut Mutations,
    ) -> Result<(), CqlError> {
        let schema = self.writable(&d.table)?;
        if d.condition.is_some() {
            return Err(lwt_unsupported());
        }
        let attrs = self.attrs(&d.using, default_ts, &schema)?;
        let r = restrict::analyze(&schema, &d.where_clause, Use::Delete, ctx)?;
        if !r.non_key.is_empty() {
            return Err(CqlError::invalid(format!(
                "Non PRIMARY KEY columns found in where clause: {}",
                r.non_key.join(", ")
            )));
        }
        let keys = r.partition_keys(&schema)?.ok_or_else(|| {
            CqlError::invalid(format!(
                "Some partition key parts are missing: {}",
                schema.partition_key.join(", ")
            ))
        })?;
        let cr = r.clustering(&schema)?;
        for t in &d.targets {
            let def = schema
                .column(&t.column)
                .ok_or_else(|| CqlError::invalid(format!("Undefined column name {}", t.column)))?;
            if matches!(def.kind, ColumnKind::PartitionKey | ColumnKind::Clustering { .. }) {
                return Err(CqlError::invalid(format!(
                    "Invalid identifier {} for deletion (should not be a PRIMARY KEY part)",
                    t.column
                )));
            }
        }
        if d.targets.is_empty() {
            for pk in keys {
                let key = PartitionKey::new(pk);
                if cr.is_unrestricted() {
                    // Without clustering restrictions (or without clustering columns) this is a
                    // partition deletion (cassandra-semantics §5).
                    let p = part(muts, &schema, &key);
                    p.deletion = super::data::max_deletion(p.deletion, Some(attrs.deletion()));
                } else if cr.full && cr.slice.is_none() {
                    for ck in &cr.prefixes {
                        let row = Row {
                            deletion: Some(attrs.deletion()),
                            ..Row::default()
                        };
                        let ck = schema.clustering_key(ck.clone());
                        part(muts, &schema, &key).rows.entry(ck).or_default().merge(&row, false);
                    }
                } else {
                    for slice in cr.slices(&schema) {
                        if slice.is_empty() {
                            continue;
                        }
                        part(muts, &schema, &key).range_tombstones.push(RangeTombstone {
                            slice,
                            deletion: attrs.deletion(),
                        });
                    }
                }
            }
            return Ok(());
        }
        let all_static = d
            .targets
            .iter()
            .all(|t| schema.columns[&t.column].kind == ColumnKind::Static);
        let static_only = all_static && cr.is_unrestricted();
        if !static_only && (!cr.full || cr.slice.is_some()) {
            let missing: Vec<&String> = schema.clustering.iter().filter(|c| !r.eq.contains_key(*c)).collect();
            if cr.is_unrestricted() && !missing.is_empty() {
                return Err(CqlError::invalid(format!(
                    "Some clustering keys are missing: {}",
                    join(&missing)
                )));
            }
            return Err(CqlError::invalid(
                "Range deletions are not supported for specific columns",
            ));
        }
        for pk in keys {
            let key = PartitionKey::new(pk);
            let cks: Vec<Option<ClusteringKey>> = if static_only {
                vec![None]
            } else {
                cr.prefixes
                    .iter()
                    .map(|p| Some(schema.clustering_key(p.clone())))
                    .collect()
            };
            for ck in cks {
                let mut row = Row::default();
                let mut static_row = Row::default();
                for t in &d.targets {
                    let def = &schema.columns[&t.column];
                    let is_static = def.kind == ColumnKind::Static;
                    let ck_ref = ck.clone().unwrap_or_default();
                    let col = &t.column;
                    let data = match (&t.element, &def.ty) {
                        (None, ty) if ty.is_multicell() => ColumnData::Complex(Complex {
                            deletion: Some(attrs.deletion()),
                            cells: BTreeMap::new(),
                        }),
                        (None, _) => ColumnData::Simple(attrs.cell(None)),
                        (Some(idx), DataType::List(_)) => {
                            let i = list_index(idx)?;
                            let list = self.stored_list(&schema, &key, &ck_ref, col, is_static);
                            let mut cx = Complex::default();
                            // Deleting an index past the end is a no-op in Cassandra 4.
                            if let Some((path, _)) = usize::try_from(i).ok().and_then(|i| list.get(i)) {
                                cx.cells.insert(path.clone(), attrs.cell(None));
                            }
                            ColumnData::Complex(cx)
                        }
                        (Some(k), DataType::Map(kt, _)) => {
                            let k = convert::value(k, kt, col, ctx)?
                                .ok_or_else(|| CqlError::invalid("Invalid null map key"))?;
                            let mut cx = Complex::default();
                            cx.cells.insert(k, attrs.cell(None));
                            ColumnData::Complex(cx)
                        }
                        (Some(k), DataType::Set(et)) => {
                            let k = convert::value(k, et, col, ctx)?
                                .ok_or_else(|| CqlError::invalid("Invalid null set element"))?;
                            let mut cx = Complex::default();
                            cx.cells.insert(k, attrs.cell(None));
                            ColumnData::Complex(cx)
                        }
                        (Some(_), ty) => {
                            return Err(CqlError::invalid(format!(
                                "Invalid deletion operation for non collection column {col} of type {ty}"
                            )))
                        }
                    };
                    let target = if is_static { &mut static_row } else { &mut row };
                    let mut merged = target
                        .columns
                        .remove(col)
                        .map(|d| Row {
                            columns: [(col.clone(), d)].into_iter().collect(),
                            ..Row::default()
                        })
                        .unwrap_or_default();
                    merged.merge(
                        &Row {
                            columns: [(col.clone(), data)].into_iter().collect(),
                            ..Row::default()
                        },
                        false,
                    );
                    target.columns.extend(merged.columns);
                }
                let p = part(muts, &schema, &key);
                p.static_row.merge(&static_row, false);
                if let Some(ck) = ck {
                    p.rows.entry(ck).or_default().merge(&row, false);
                }
            }
        }
        Ok(())
    }
}

fn assignment_column(a: &ast::Assignment) -> &String {
    match a {
        ast::Assignment::Set { column, .. }
        | ast::Assignment::Add { column, .. }
        | ast::Assignment::Prepend { column, .. }
        | ast::Assignment::Subtract { column, .. }
        | ast::Assignment::SetElement { column, .. } => column,
    }
}

fn list_index(t: &Term) -> Result<i64, CqlError> {
    match t {
        Term::Integer(s) => s
            .parse()
            .map_err(|_| CqlError::invalid(format!("Invalid list index {s}"))),
        other => Err(CqlError::invalid(format!(
            "Invalid list index {other}: it must be an integer"
        ))),
    }
}

fn lwt_unsupported() -> CqlError {
    CqlError::invalid("Conditional updates (IF ...) are not supported by this engine")
}
