//! Bind markers: their types at PREPARE, their values at EXECUTE.
//!
//! The engine has no prepared statements: it refuses a bind marker. So a prepared statement
//! is kept as its syntax tree, and an EXECUTE replaces each marker with the literal its bound
//! value denotes before the engine sees it. One walk, [`walk`], visits the markers of a
//! statement in source order with what each one binds (a column, an element of one, a
//! timestamp, a limit); PREPARE collects the types from it, EXECUTE substitutes. Walking once
//! means the k-th type announced and the k-th value substituted can never disagree.

use super::messages::ColSpec;
use super::types::WireType;
use crate::cql::ast::{
    Assignment, Condition, QualifiedName, Relation, Selection, SelectorExpr, Stmt, StmtKind, Term, Using,
};
use crate::engine::value::format_uuid;
use crate::engine::{CqlError, DataType, Engine, TableSchema, Value};

/// Stands in for an unset value until the statement drops it (only an INSERT's value or an
/// UPDATE's `SET c = ?` can be left unset: it writes nothing for that column).
const UNSET: &str = "__mvcheck_unset__";

/// What a marker binds.
pub struct Marker {
    pub spec: ColSpec,
}

struct Walk<'a> {
    engine: &'a Engine,
    keyspace: Option<&'a str>,
    visit: &'a mut dyn FnMut(&mut Term, Marker) -> Result<(), CqlError>,
}

/// Visits every bind marker of `stmt` in source order. `keyspace` is the connection's, for
/// unqualified names.
pub fn walk(
    stmt: &mut Stmt,
    engine: &Engine,
    keyspace: Option<&str>,
    visit: &mut dyn FnMut(&mut Term, Marker) -> Result<(), CqlError>,
) -> Result<(), CqlError> {
    let text = stmt.text.to_ascii_uppercase();
    let mut w = Walk {
        engine,
        keyspace,
        visit,
    };
    w.stmt(&mut stmt.kind, &text)
}

impl<'a> Walk<'a> {
    /// Borrowed from the engine, not from the walk, so marking can go on while it is held.
    fn schema(&self, name: &QualifiedName) -> Result<&'a TableSchema, CqlError> {
        let ks = name.keyspace.as_deref().or(self.keyspace).ok_or_else(no_keyspace)?;
        let engine: &'a Engine = self.engine;
        engine
            .table(ks, &name.name)
            .map(|t| &t.schema)
            .ok_or_else(|| CqlError::invalid(format!("unconfigured table {}", name.name)))
    }

    fn mark(&mut self, term: &mut Term, t: &TableSchema, name: &str, ty: WireType) -> Result<(), CqlError> {
        if let Term::Bind(_) = term {
            let name = match term {
                Term::Bind(Some(n)) => n.clone(),
                _ => name.to_string(),
            };
            let spec = ColSpec {
                keyspace: t.keyspace.clone(),
                table: t.name.clone(),
                name,
                ty,
            };
            (self.visit)(term, Marker { spec })?;
        }
        Ok(())
    }

    fn column(&self, t: &TableSchema, col: &str) -> Result<DataType, CqlError> {
        t.column(col)
            .map(|c| c.ty.clone())
            .ok_or_else(|| CqlError::invalid(format!("Undefined column name {col}")))
    }

    fn using(&mut self, u: &mut Using, t: &TableSchema, text: &str) -> Result<(), CqlError> {
        // The markers' order is the source's: whichever of TTL and TIMESTAMP follows USING.
        let ttl_first = text
            .match_indices("USING")
            .map(|(i, _)| text[i + 5..].trim_start())
            .find(|rest| rest.starts_with("TTL") || rest.starts_with("TIMESTAMP"))
            .is_some_and(|rest| rest.starts_with("TTL"));
        let ts = |w: &mut Self, u: &mut Using| match u.timestamp.as_mut() {
            Some(term) => w.mark(term, t, "[timestamp]", WireType::BigInt),
            None => Ok(()),
        };
        let ttl = |w: &mut Self, u: &mut Using| match u.ttl.as_mut() {
            Some(term) => w.mark(term, t, "[ttl]", WireType::Int),
            None => Ok(()),
        };
        if ttl_first {
            ttl(self, u)?;
            ts(self, u)
        } else {
            ts(self, u)?;
            ttl(self, u)
        }
    }

    fn relation(&mut self, r: &mut Relation, t: &TableSchema) -> Result<(), CqlError> {
        match r {
            Relation::Compare { column, op, value } => {
                let ty = self.column(t, column)?;
                let ty = match (op, ty.unfrozen()) {
                    (crate::cql::ast::Operator::Contains, DataType::List(e) | DataType::Set(e)) => WireType::of(e),
                    (crate::cql::ast::Operator::Contains, DataType::Map(_, v)) => WireType::of(v),
                    (crate::cql::ast::Operator::ContainsKey, DataType::Map(k, _)) => WireType::of(k),
                    _ => WireType::of(&ty),
                };
                let name = column.clone();
                self.mark(value, t, &name, ty)
            }
            Relation::In { column, values } => {
                let ty = WireType::of(&self.column(t, column)?);
                let name = column.clone();
                for v in values {
                    self.mark(v, t, &name, ty.clone())?;
                }
                Ok(())
            }
            Relation::IsNotNull { .. } => Ok(()),
            Relation::Tuple { columns, values, .. } => {
                if values.len() != columns.len() {
                    return tuple_marker(values.iter());
                }
                for (c, v) in columns.iter().zip(values.iter_mut()) {
                    let ty = WireType::of(&self.column(t, c)?);
                    self.mark(v, t, c, ty)?;
                }
                Ok(())
            }
            Relation::TupleIn { columns, values } => {
                for tuple in values {
                    if tuple.len() != columns.len() {
                        return tuple_marker(tuple.iter());
                    }
                    for (c, v) in columns.iter().zip(tuple.iter_mut()) {
                        let ty = WireType::of(&self.column(t, c)?);
                        self.mark(v, t, c, ty)?;
                    }
                }
                Ok(())
            }
            Relation::Token { value, .. } => self.mark(value, t, "partition key token", WireType::BigInt),
        }
    }

    fn relations(&mut self, rs: &mut [Relation], t: &TableSchema) -> Result<(), CqlError> {
        rs.iter_mut().try_for_each(|r| self.relation(r, t))
    }

    fn condition(&mut self, c: &mut Option<Condition>, t: &TableSchema) -> Result<(), CqlError> {
        match c {
            Some(Condition::Columns(rs)) => self.relations(rs, t),
            _ => Ok(()),
        }
    }

    fn stmt(&mut self, kind: &mut StmtKind, text: &str) -> Result<(), CqlError> {
        match kind {
            StmtKind::Insert(i) => {
                if !may_bind(text) {
                    return Ok(());
                }
                let t = self.schema(&i.table)?;
                for (c, v) in i.columns.iter().zip(i.values.iter_mut()) {
                    let ty = WireType::of(&self.column(t, c)?);
                    self.mark(v, t, c, ty)?;
                }
                self.using(&mut i.using, t, text)
            }
            StmtKind::Update(u) => {
                if !may_bind(text) {
                    return Ok(());
                }
                let t = self.schema(&u.table)?;
                self.using(&mut u.using, t, text)?;
                for a in &mut u.assignments {
                    self.assignment(a, t)?;
                }
                self.relations(&mut u.where_clause, t)?;
                self.condition(&mut u.condition, t)
            }
            StmtKind::Delete(d) => {
                if !may_bind(text) {
                    return Ok(());
                }
                let t = self.schema(&d.table)?;
                for target in &mut d.targets {
                    if let Some(e) = target.element.as_mut() {
                        let ty = match self.column(t, &target.column)?.unfrozen() {
                            DataType::Map(k, _) => WireType::of(k),
                            _ => WireType::Int,
                        };
                        let name = format!("key({})", target.column);
                        self.mark(e, t, &name, ty)?;
                    }
                }
                self.using(&mut d.using, t, text)?;
                self.relations(&mut d.where_clause, t)?;
                self.condition(&mut d.condition, t)
            }
            StmtKind::Select(s) => {
                if !may_bind(text) {
                    return Ok(());
                }
                let t = self.schema(&s.from)?;
                if let Selection::Selectors(sels) = &s.selection {
                    if sels
                        .iter()
                        .any(|s| matches!(&s.expr, SelectorExpr::Term(Term::Bind(_))))
                    {
                        return Err(CqlError::invalid("Bind variables are not supported as selectors"));
                    }
                }
                self.relations(&mut s.where_clause, t)?;
                if let Some(l) = s.per_partition_limit.as_mut() {
                    self.mark(l, t, "[per_partition_limit]", WireType::Int)?;
                }
                if let Some(l) = s.limit.as_mut() {
                    self.mark(l, t, "[limit]", WireType::Int)?;
                }
                Ok(())
            }
            StmtKind::Batch(b) => {
                if let Some(ts) = b.using.timestamp.as_mut() {
                    if let Term::Bind(_) = ts {
                        let first = b.statements.first().and_then(|s| target_table(&s.kind)).cloned();
                        let t = match first {
                            Some(name) => self.schema(&name)?,
                            None => return Err(CqlError::invalid("An empty batch has no table")),
                        };
                        self.mark(ts, t, "[timestamp]", WireType::BigInt)?;
                    }
                }
                for s in &mut b.statements {
                    let text = s.text.to_ascii_uppercase();
                    self.stmt(&mut s.kind, &text)?;
                }
                Ok(())
            }
            // Cassandra refuses markers in schema statements; the engine says so in its words.
            _ => Ok(()),
        }
    }

    fn assignment(&mut self, a: &mut Assignment, t: &TableSchema) -> Result<(), CqlError> {
        match a {
            Assignment::Set { column, value } | Assignment::Prepend { column, value } => {
                let ty = WireType::of(&self.column(t, column)?);
                let name = column.clone();
                self.mark(value, t, &name, ty)
            }
            Assignment::Add { column, value } => {
                let dt = self.column(t, column)?;
                let ty = match dt.unfrozen() {
                    DataType::Counter => WireType::BigInt,
                    _ => WireType::of(&dt),
                };
                let name = column.clone();
                self.mark(value, t, &name, ty)
            }
            Assignment::Subtract { column, value } => {
                let dt = self.column(t, column)?;
                let ty = match dt.unfrozen() {
                    DataType::Counter => WireType::BigInt,
                    // A map loses the keys listed: the operand is a set of keys.
                    DataType::Map(k, _) => WireType::Set(Box::new(WireType::of(k))),
                    _ => WireType::of(&dt),
                };
                let name = column.clone();
                self.mark(value, t, &name, ty)
            }
            Assignment::SetElement { column, key, value } => {
                let dt = self.column(t, column)?;
                let (kt, vt) = match dt.unfrozen() {
                    DataType::Map(k, v) => (WireType::of(k), WireType::of(v)),
                    DataType::List(e) => (WireType::Int, WireType::of(e)),
                    other => (WireType::Int, WireType::of(other)),
                };
                let (kn, vn) = (format!("key({column})"), format!("value({column})"));
                self.mark(key, t, &kn, kt)?;
                self.mark(value, t, &vn, vt)
            }
        }
    }
}

fn tuple_marker<'a>(mut terms: impl Iterator<Item = &'a Term>) -> Result<(), CqlError> {
    if terms.any(|t| matches!(t, Term::Bind(_))) {
        return Err(CqlError::invalid(
            "A bind marker for a whole tuple is not supported here; bind each column",
        ));
    }
    Ok(())
}

/// Whether a statement's text may hold a marker: a cheap test that spares the schema look-up
/// for the common statement without one (a `?` in a string literal only costs that look-up).
fn may_bind(text: &str) -> bool {
    text.contains('?') || text.contains(':')
}

fn no_keyspace() -> CqlError {
    CqlError::invalid("No keyspace has been specified. USE a keyspace, or explicitly specify keyspace.tablename")
}

/// The table a write statement writes.
pub fn target_table(kind: &StmtKind) -> Option<&QualifiedName> {
    match kind {
        StmtKind::Insert(i) => Some(&i.table),
        StmtKind::Update(u) => Some(&u.table),
        StmtKind::Delete(d) => Some(&d.table),
        StmtKind::Select(s) => Some(&s.from),
        _ => None,
    }
}

/// The bind markers' specs of a statement, in order.
pub fn specs(stmt: &Stmt, engine: &Engine, keyspace: Option<&str>) -> Result<Vec<ColSpec>, CqlError> {
    let mut copy = stmt.clone();
    let mut out = Vec::new();
    walk(&mut copy, engine, keyspace, &mut |_, m| {
        out.push(m.spec);
        Ok(())
    })?;
    Ok(out)
}

/// A bound value, decoded.
#[derive(Clone, Debug, PartialEq)]
pub enum Bound {
    Value(Value),
    Null,
    Unset,
}

/// `stmt` with every marker replaced by its bound value. Fails when the count differs or a
/// value is left unset where that means nothing.
pub fn substitute(stmt: &Stmt, engine: &Engine, keyspace: Option<&str>, values: &[Bound]) -> Result<Stmt, CqlError> {
    let mut out = stmt.clone();
    let mut i = 0usize;
    walk(&mut out, engine, keyspace, &mut |term, _| {
        *term = match values.get(i) {
            Some(Bound::Value(v)) => literal(v),
            Some(Bound::Null) => Term::Null,
            Some(Bound::Unset) => Term::Function {
                name: QualifiedName {
                    keyspace: None,
                    name: UNSET.into(),
                },
                args: Vec::new(),
            },
            None => Term::Null,
        };
        i += 1;
        Ok(())
    })?;
    if i != values.len() {
        return Err(CqlError::invalid(format!(
            "There were {i} markers(?) in CQL but {} bound variables",
            values.len()
        )));
    }
    if values.contains(&Bound::Unset) {
        drop_unset(&mut out.kind)?;
    }
    Ok(out)
}

fn is_unset(t: &Term) -> bool {
    matches!(t, Term::Function { name, .. } if name.name == UNSET)
}

fn drop_unset(kind: &mut StmtKind) -> Result<(), CqlError> {
    match kind {
        StmtKind::Insert(i) => {
            let keep: Vec<bool> = i.values.iter().map(|v| !is_unset(v)).collect();
            let mut k = keep.iter();
            i.columns.retain(|_| *k.next().unwrap_or(&true));
            i.values.retain(|v| !is_unset(v));
        }
        StmtKind::Update(u) => u
            .assignments
            .retain(|a| !matches!(a, Assignment::Set { value, .. } if is_unset(value))),
        StmtKind::Batch(b) => {
            for s in &mut b.statements {
                drop_unset(&mut s.kind)?;
            }
        }
        _ => {}
    }
    if format!("{kind:?}").contains(UNSET) {
        return Err(CqlError::invalid(
            "Unset values are supported only for INSERT values and UPDATE SET assignments",
        ));
    }
    Ok(())
}

/// The literal a value is written as in CQL: what the engine parses back into that value.
pub fn literal(v: &Value) -> Term {
    match v {
        Value::Int(i) => Term::Integer(i.to_string()),
        Value::BigInt(i) | Value::Counter(i) | Value::Timestamp(i) => Term::Integer(i.to_string()),
        Value::Text(s) | Value::Ascii(s) => Term::String(s.clone()),
        Value::Boolean(b) => Term::Boolean(*b),
        Value::Decimal(d) => Term::Float(d.to_string()),
        Value::Double(x) => Term::Float(float_text(*x)),
        // The f32's own shortest text: parsed as a double and narrowed, it gives the same f32.
        Value::Float(x) if x.is_finite() => Term::Float(format!("{x:?}")),
        Value::Float(x) => Term::Float(float_text(f64::from(*x))),
        Value::Uuid(u) => Term::Uuid(format_uuid(u)),
        Value::List(xs) => Term::List(xs.iter().map(literal).collect()),
        Value::Set(xs) => Term::Set(xs.iter().map(literal).collect()),
        Value::Map(kvs) => Term::Map(kvs.iter().map(|(k, v)| (literal(k), literal(v))).collect()),
    }
}

fn float_text(x: f64) -> String {
    if x.is_nan() {
        "NaN".into()
    } else if x.is_infinite() {
        if x > 0.0 { "Infinity" } else { "-Infinity" }.into()
    } else {
        format!("{x:?}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cql::parse_statement;
    use crate::engine::EngineConfig;

    fn engine() -> Engine {
        let mut e = Engine::new(EngineConfig::default());
        for r in e.execute_script(
            "CREATE TABLE t (k int, c text, v double, l list<int>, m map<text, int>, PRIMARY KEY (k, c));",
        ) {
            r.unwrap();
        }
        e
    }

    #[test]
    fn markers_are_typed_in_source_order() {
        let e = engine();
        let stmt =
            parse_statement("UPDATE t USING TTL ? SET v = ?, m[?] = ?, l = l + ? WHERE k = ? AND c IN (?, ?)").unwrap();
        let specs = specs(&stmt, &e, Some("ks")).unwrap();
        let got: Vec<(String, WireType)> = specs.into_iter().map(|s| (s.name, s.ty)).collect();
        let list = WireType::List(Box::new(WireType::Int));
        assert_eq!(
            got,
            vec![
                ("[ttl]".into(), WireType::Int),
                ("v".into(), WireType::Double),
                ("key(m)".into(), WireType::Varchar),
                ("value(m)".into(), WireType::Int),
                ("l".into(), list),
                ("k".into(), WireType::Int),
                ("c".into(), WireType::Varchar),
                ("c".into(), WireType::Varchar),
            ]
        );
    }

    #[test]
    fn using_markers_follow_the_source_order_whatever_the_column_names() {
        let mut e = Engine::new(EngineConfig::default());
        e.execute_script("CREATE TABLE u (k int PRIMARY KEY, ttlish int);")[0]
            .clone()
            .unwrap();
        for (q, want) in [
            (
                "INSERT INTO u (k, ttlish) VALUES (?, ?) USING TIMESTAMP ? AND TTL ?",
                ["[timestamp]", "[ttl]"],
            ),
            (
                "INSERT INTO u (k, ttlish) VALUES (?, ?) USING TTL ? AND TIMESTAMP ?",
                ["[ttl]", "[timestamp]"],
            ),
        ] {
            let names: Vec<String> = specs(&parse_statement(q).unwrap(), &e, Some("ks"))
                .unwrap()
                .into_iter()
                .map(|s| s.name)
                .collect();
            assert_eq!(names[2..], want, "{q}");
        }
    }

    #[test]
    fn substituted_values_read_back_through_the_engine() {
        let mut e = engine();
        let ins = parse_statement("INSERT INTO t (k, c, v, l) VALUES (?, ?, ?, ?)").unwrap();
        let bound = [
            Bound::Value(Value::Int(1)),
            Bound::Value(Value::Text("it's".into())),
            Bound::Value(Value::Double(0.1)),
            Bound::Unset,
        ];
        let s = substitute(&ins, &e, Some("ks"), &bound).unwrap();
        e.execute(&s).unwrap();
        let sel = parse_statement("SELECT v, l FROM t WHERE k = ? AND c = ?").unwrap();
        let s = substitute(
            &sel,
            &e,
            Some("ks"),
            &[Bound::Value(Value::Int(1)), Bound::Value(Value::Text("it's".into()))],
        )
        .unwrap();
        let crate::engine::QueryResult::Rows(rows) = e.execute(&s).unwrap() else {
            panic!()
        };
        assert_eq!(rows.rows, vec![vec![Some(Value::Double(0.1)), None]]);
    }

    #[test]
    fn a_count_mismatch_and_a_misplaced_unset_are_refused() {
        let e = engine();
        let sel = parse_statement("SELECT * FROM t WHERE k = ?").unwrap();
        assert!(substitute(&sel, &e, Some("ks"), &[]).is_err());
        let err = substitute(&sel, &e, Some("ks"), &[Bound::Unset]).unwrap_err();
        assert!(err.message.contains("Unset values"), "{err}");
        let err = specs(
            &parse_statement("SELECT * FROM nope WHERE k = ?").unwrap(),
            &e,
            Some("ks"),
        )
        .unwrap_err();
        assert_eq!(err.message, "unconfigured table nope");
    }

    #[test]
    fn floats_survive_the_literal() {
        for x in [0.1f32, 3.4e38, 1e-45, -2.5] {
            let Term::Float(s) = literal(&Value::Float(x)) else {
                panic!()
            };
            assert_eq!(s.parse::<f64>().unwrap() as f32, x, "{s}");
        }
    }
}
