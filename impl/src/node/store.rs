//! The node's adapter to single-node storage: the base table `t` and the view `mv` of
//! `mv-spec`'s fixed schema, kept by part 1's storage engine ([`crate::engine`]), whose view
//! maintenance layer computes the view mutations (B3, B4) and whose reconciliation merges
//! them (V1) and the base writes (B8).
//!
//! The protocol core in [`super`] talks only to [`Store`], in `mv-spec`'s vocabulary:
//! [`Statement`]s in, [`ViewMutation`]s out and in, and [`BaseRow`]s and [`ViewRow`]s for
//! observations. This module converts between that vocabulary and the engine's partitions,
//! rows and cells, so that neither side knows the other.
//!
//! One deliberate difference from the engine's output: `specs/protocol.md` ("Storage rules")
//! says a view entry carries the whole merged `w` even when the update did not change it,
//! where Cassandra's `updateEntry` (and the engine) copy only the cells that differ. The two
//! agree while every view replica keeps the entries it received; they differ once a view
//! replica lost an earlier entry (data loss, a dropped view write without a batchlog). The
//! node implements the protocol as written, so [`Store::view_updates`] adds the merged `w` to
//! an updated entry. Likewise the single deletion slot (A2) applies where a view replica
//! stores a row (V1), so mutations are generated with both slots.

use crate::engine::data::CellKind;
use crate::engine::ViewDef;
use crate::engine::{read_rows, ReadLiveness, RowLimits};
use crate::engine::{
    view, Cell as ECell, ClusteringKey, ColumnDef, ColumnKind, DataType, DeletionTime, Liveness as ELiveness,
    Partition, PartitionKey, Row, TableSchema, Value,
};
pub use crate::engine::{DeletionStyle, ViewRules};
use mv_spec::variant::{self, Design};
use mv_spec::{Assign, BaseRow, Cell, Key, Liveness, ReadRules, Statement, Ts, Val, ViewKey, ViewMutation, ViewRow};
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// The engine's view rules for a design. The engine keeps its own deletion styles because it
/// is a single-node CQL engine that knows nothing of `mv-spec`; this module is the bridge.
pub fn view_rules(design: &Design) -> ViewRules {
    ViewRules {
        deletion: match design.deletion {
            variant::DeletionStyle::Shadowable => DeletionStyle::Shadowable,
            variant::DeletionStyle::Regular => DeletionStyle::Regular,
            variant::DeletionStyle::ExpiredLiveness => DeletionStyle::ExpiredLiveness,
        },
        single_deletion_slot: design.single_slot,
        strict_liveness: design.strict_liveness,
        incoming_wins_ties: !design.ties_as_storage,
        limit_counts_expired: !design.limit_counts_strictly,
    }
}

/// How the view is read under `rules`.
pub fn read_rules(rules: &ViewRules) -> ReadRules {
    ReadRules {
        strict_liveness: rules.strict_liveness,
    }
}

/// The engine's local time of every tombstone and expired marker this adapter writes. Local
/// times only break ties between deletions of one timestamp, which read alike, so one value
/// serves.
const NOW_SEC: i64 = 0;

/// The TTL of every value written `USING TTL`. Time is abstracted to one deadline
/// (`specs/protocol.md`, "Abstracted away"): every such value is written at local time 0 and
/// expires at [`DEADLINE_SEC`], whichever node applies it and whenever, as a coordinator-set
/// expiration time would.
pub const TTL_SEC: u32 = 5;

/// The node clock (seconds) once the clock step has run: past every TTL.
pub const DEADLINE_SEC: i64 = TTL_SEC as i64;

fn column(name: &str, kind: ColumnKind) -> (String, ColumnDef) {
    (
        name.to_string(),
        ColumnDef {
            name: name.to_string(),
            ty: DataType::Int,
            kind,
        },
    )
}

/// `CREATE TABLE t (k int PRIMARY KEY, v int, w int)` and
/// `CREATE MATERIALIZED VIEW mv AS SELECT k, v, w FROM t WHERE v IS NOT NULL AND k IS NOT NULL
/// PRIMARY KEY (v, k)`.
fn schemas() -> &'static (TableSchema, TableSchema) {
    static SCHEMAS: OnceLock<(TableSchema, TableSchema)> = OnceLock::new();
    SCHEMAS.get_or_init(|| {
        let t = TableSchema {
            keyspace: "ks".into(),
            name: "t".into(),
            partition_key: vec!["k".into()],
            clustering: vec![],
            columns: [
                column("k", ColumnKind::PartitionKey),
                column("v", ColumnKind::Regular),
                column("w", ColumnKind::Regular),
            ]
            .into_iter()
            .collect(),
            view: None,
            default_ttl: 0,
        };
        let mv = TableSchema {
            keyspace: "ks".into(),
            name: "mv".into(),
            partition_key: vec!["v".into()],
            clustering: vec!["k".into()],
            columns: [
                column("v", ColumnKind::PartitionKey),
                column("k", ColumnKind::Clustering { desc: false }),
                column("w", ColumnKind::Regular),
            ]
            .into_iter()
            .collect(),
            view: Some(ViewDef {
                base: "t".into(),
                include_all: false,
                v_column: Some("v".into()),
                restrictions: vec![],
                where_text: "v IS NOT NULL AND k IS NOT NULL".into(),
            }),
            default_ttl: 0,
        };
        (t, mv)
    })
}

fn int(x: u8) -> Value {
    Value::Int(i32::from(x))
}

/// The engine's values of these tables are ints written by this adapter, so they fit a u8.
fn small(v: &Value) -> Option<u8> {
    match v {
        Value::Int(i) => u8::try_from(*i).ok(),
        _ => None,
    }
}

fn ts8(ts: i64) -> Ts {
    // Timestamps come from `Statement`s (u8) and are only copied by the engine.
    u8::try_from(ts).unwrap_or(Ts::MAX)
}

fn deletion(ts: Ts) -> DeletionTime {
    DeletionTime {
        ts: i64::from(ts),
        local_time: NOW_SEC,
    }
}

fn to_engine_cell(c: Cell) -> ECell {
    match c.value {
        Some(x) if c.ttl => ECell::with_ttl(i64::from(c.ts), int(x), TTL_SEC, 0),
        Some(x) => ECell::live(i64::from(c.ts), int(x)),
        None => ECell::tombstone(i64::from(c.ts), NOW_SEC),
    }
}

/// Column `col` of an engine row: as stored (`now` = `None`: an expiring cell keeps its value
/// and says it has a TTL), or as a read at `now` sees it (the engine decides whether it has
/// expired; an expired one reads as the tombstone it now is, at its own timestamp).
fn from_engine_cell(row: &Row, col: &str, now: Option<i64>) -> Option<Cell> {
    row.cell(col).map(|c| {
        let ts = ts8(c.ts);
        match &c.kind {
            CellKind::Expiring { value, .. } if now.is_none_or(|t| c.is_live(t)) => Cell {
                ttl: true,
                ..Cell::new(ts, small(value))
            },
            CellKind::Live(value) => Cell::new(ts, small(value)),
            CellKind::Expiring { .. } | CellKind::Tombstone { .. } => Cell::new(ts, None),
        }
    })
}

fn base_clustering() -> ClusteringKey {
    ClusteringKey::default()
}

fn view_clustering(k: Key) -> ClusteringKey {
    schemas().1.clustering_key(vec![int(k)])
}

/// A statement as the engine's partition update. `DELETE FROM t WHERE k = ..` is a partition
/// deletion, as in Cassandra for a table without clustering columns.
fn update_of(stmt: &Statement) -> Partition {
    let mut row = Row {
        marker: stmt.insert.then_some(ELiveness::Live { ts: i64::from(stmt.ts) }),
        ..Row::default()
    };
    for (name, a) in [("v", stmt.v), ("w", stmt.w)] {
        let cell = match a {
            Assign::Keep => continue,
            // The TTL reaches the values set (an UPDATE's only: `Statement::ttl`).
            Assign::Set(x) if stmt.ttl => ECell::with_ttl(i64::from(stmt.ts), int(x), TTL_SEC, 0),
            Assign::Set(x) => ECell::live(i64::from(stmt.ts), int(x)),
            Assign::Null => ECell::tombstone(i64::from(stmt.ts), NOW_SEC),
        };
        row.columns
            .insert(name.to_string(), crate::engine::data::ColumnData::Simple(cell));
    }
    let mut p = Partition {
        deletion: stmt.delete.then(|| deletion(stmt.ts)),
        ..Partition::default()
    };
    if !row.is_empty() {
        p.rows.insert(base_clustering(), row);
    }
    p
}

fn view_row_to_engine(r: &ViewRow) -> Row {
    let mut row = Row {
        marker: r.marker.map(|m| {
            if m.ttl {
                // A marker derived from a TTL'd view key expires with it.
                ELiveness::Expiring {
                    ts: i64::from(m.ts),
                    ttl: TTL_SEC,
                    expires: DEADLINE_SEC,
                }
            } else if m.expired {
                ELiveness::Expired {
                    ts: i64::from(m.ts),
                    local_time: NOW_SEC,
                }
            } else {
                ELiveness::Live { ts: i64::from(m.ts) }
            }
        }),
        deletion: r.deletion.map(deletion),
        shadowable: r.shadowable.map(deletion),
        ..Row::default()
    };
    if let Some(w) = r.w {
        row.columns
            .insert("w".into(), crate::engine::data::ColumnData::Simple(to_engine_cell(w)));
    }
    row
}

/// An engine view row, as stored (`now` = `None`) or as a read at `now` sees it (see
/// [`from_engine_cell`]): an expiring marker past its expiration is dead, and still says it
/// had a TTL.
fn view_row_from_engine(row: &Row, now: Option<i64>) -> ViewRow {
    ViewRow {
        marker: row.marker.map(|m| Liveness {
            ts: ts8(m.ts()),
            expired: match m {
                ELiveness::Expired { .. } => true,
                ELiveness::Expiring { .. } => now.is_some_and(|t| !m.is_live(t)),
                ELiveness::Live { .. } => false,
            },
            ttl: matches!(m, ELiveness::Expiring { .. }),
        }),
        deletion: row.deletion.map(|d| ts8(d.ts)),
        shadowable: row.shadowable.map(|d| ts8(d.ts)),
        w: from_engine_cell(row, "w", now),
    }
}

/// One node's two tables, in the engine's representation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Store {
    /// Base partitions by `k`.
    base: BTreeMap<Key, Partition>,
    /// View partitions by `v`, each row keyed by `k`.
    view: BTreeMap<Val, Partition>,
    /// The projections the observations read, kept in step with the partitions.
    base_rows: BTreeMap<Key, BaseRow>,
    view_rows: BTreeMap<ViewKey, ViewRow>,
}

impl Store {
    /// An empty store.
    pub fn new() -> Self {
        Store::default()
    }

    /// B3: the stored base row `k`, empty when there is none.
    pub fn read_base(&self, k: Key) -> BaseRow {
        self.base_rows.get(&k).copied().unwrap_or_default()
    }

    fn project_base(p: &Partition, now: Option<i64>) -> BaseRow {
        let row = p.rows.get(&base_clustering()).cloned().unwrap_or_default();
        let row_deletion = row.deletion.map(|d| ts8(d.ts));
        let partition_deletion = p.deletion.map(|d| ts8(d.ts));
        BaseRow {
            marker: row.marker.map(|m| ts8(m.ts())),
            deletion: row_deletion.max(partition_deletion),
            v: from_engine_cell(&row, "v", now),
            w: from_engine_cell(&row, "w", now),
        }
    }

    /// B8, R2: merge a statement into the base table.
    pub fn apply_base(&mut self, stmt: &Statement) {
        let p = self.base.entry(stmt.k).or_default();
        p.apply(&update_of(stmt), false);
        self.base_rows.insert(stmt.k, Self::project_base(p, None));
    }

    /// B3 + B4: read the base row before the write and compute the view mutations `stmt`
    /// implies at node time `now` (seconds: whether a TTL has run out), the new entry before
    /// the old entry's deletion (SWITCH_ENTRY). The base table is not changed.
    pub fn view_updates(&self, rules: &ViewRules, stmt: &Statement, now: i64) -> Vec<ViewMutation> {
        let (t, mv) = schemas();
        let update = update_of(stmt);
        let existing = view::read_before_write(self.base.get(&stmt.k), &update);
        let key = PartitionKey::new(vec![int(stmt.k)]);
        // One deletion slot (A2) is a property of how a view replica stores a row (V1), not of
        // what travels: protocol.md collapses the slots on apply, so the mutation keeps both.
        let wire_rules = ViewRules {
            single_deletion_slot: false,
            ..*rules
        };
        let generated = view::generate(t, &[mv], &wire_rules, &key, &existing, &update, now);
        // The row the generator decided on, which is not the stored one when it breaks a tie
        // differently from storage (A9). It is purged, so its `w` is what the deletion leaves.
        let (_, merged) = view::before_and_after(&wire_rules, &existing, &update, &base_clustering());
        // The key of the new entry is the `v` live now; the `w` it carries is the cell as
        // stored, TTL and all.
        let new_v = from_engine_cell(&merged, "v", Some(now)).and_then(|c| c.value);
        let whole_w = from_engine_cell(&merged, "w", None);
        let mut out: Vec<ViewMutation> = Vec::with_capacity(2);
        for m in generated {
            let Some(v) = m.key.values.first().and_then(small) else {
                continue;
            };
            for (ck, row) in &m.update.rows {
                let Some(k) = ck.values().first().and_then(small) else {
                    continue;
                };
                let mut row = view_row_from_engine(row, None);
                if Some(v) == new_v && row.marker.is_some_and(|l| !l.expired) {
                    // protocol.md: an entry carries the whole merged w (see the module docs).
                    row.w = whole_w;
                }
                out.push(ViewMutation {
                    key: ViewKey { v, k },
                    row,
                });
            }
        }
        // The new entry first, then the old one's deletion, as ViewUpdateGenerator emits them.
        out.sort_by_key(|m| Some(m.key.v) != new_v);
        out
    }

    /// R9: the view row the view builder makes from base row `b` of partition `k` alone
    /// (`ViewBuilderTask.buildKey`: the row fed as an update against nothing), or `None` when
    /// `b` has no live `v` and so no view row. The engine builds it, so the row carries the
    /// same marker, copied row deletion and `w` as a write-path entry under these rules.
    pub fn built_view_row(rules: &ViewRules, k: Key, b: &BaseRow) -> Option<ViewMutation> {
        let (t, mv) = schemas();
        let mut row = Row {
            marker: b.marker.map(|ts| ELiveness::Live { ts: i64::from(ts) }),
            deletion: b.deletion.map(deletion),
            ..Row::default()
        };
        for (name, c) in [("v", b.v), ("w", b.w)] {
            if let Some(c) = c {
                row.columns.insert(
                    name.to_string(),
                    crate::engine::data::ColumnData::Simple(to_engine_cell(c)),
                );
            }
        }
        let mut stored = Partition::default();
        if !row.is_empty() {
            stored.rows.insert(base_clustering(), row);
        }
        // As in `view_updates`: the single deletion slot is a storage rule of V1, not of what
        // is generated.
        let wire_rules = ViewRules {
            single_deletion_slot: false,
            ..*rules
        };
        let key = PartitionKey::new(vec![int(k)]);
        let built = view::build(t, mv, &wire_rules, &key, &stored, NOW_SEC);
        built.iter().find_map(|m| {
            let v = m.key.values.first().and_then(small)?;
            m.update.rows.iter().find_map(|(ck, row)| {
                (ck.values().first().and_then(small) == Some(k)).then(|| ViewMutation {
                    key: ViewKey { v, k },
                    row: view_row_from_engine(row, None),
                })
            })
        })
    }

    /// V1: merge a view mutation into the view table.
    pub fn apply_view(&mut self, rules: &ViewRules, m: &ViewMutation) {
        let p = self.view.entry(m.key.v).or_default();
        let ck = view_clustering(m.key.k);
        p.rows
            .entry(ck.clone())
            .or_default()
            .merge(&view_row_to_engine(&m.row), rules.single_deletion_slot);
        let stored = view_row_from_engine(&p.rows[&ck], None);
        self.view_rows.insert(m.key, stored);
    }

    /// The base table as stored.
    pub fn base_rows(&self) -> &BTreeMap<Key, BaseRow> {
        &self.base_rows
    }

    /// The view table as stored.
    pub fn view_rows(&self) -> &BTreeMap<ViewKey, ViewRow> {
        &self.view_rows
    }

    /// The base table as a read at node time `now` sees it: the engine decides which TTLs
    /// have run out (an observation's rows, `specs/trace-format.md`).
    pub fn base_rows_at(&self, now: i64) -> BTreeMap<Key, BaseRow> {
        self.base
            .iter()
            .map(|(&k, p)| (k, Self::project_base(p, Some(now))))
            .collect()
    }

    /// The view table as a read at node time `now` sees it (see [`Store::base_rows_at`]).
    pub fn view_rows_at(&self, now: i64) -> BTreeMap<ViewKey, ViewRow> {
        let mut out = BTreeMap::new();
        for (&v, p) in &self.view {
            for (ck, row) in &p.rows {
                if let Some(k) = ck.values().first().and_then(small) {
                    out.insert(ViewKey { v, k }, view_row_from_engine(row, Some(now)));
                }
            }
        }
        out
    }

    /// `SELECT k FROM mv WHERE v = x LIMIT n` served from this node's own partition `v` at
    /// node time `now`, by the engine's read loop (the one its SELECT runs) under `rules`:
    /// the keys returned, ascending.
    pub fn limit_read(&self, rules: &ViewRules, v: Val, limit: usize, now: i64) -> Vec<Key> {
        let Some(p) = self.view.get(&v) else {
            return Vec::new();
        };
        let liveness = ReadLiveness {
            strict: schemas().1.strict_liveness(rules.strict_liveness),
            counts_expired: rules.limit_counts_expired,
        };
        let limits = RowLimits {
            rows: Some(limit),
            per_partition: None,
        };
        read_rows(p, false, now, liveness, limits, |_, _| true)
            .rows
            .iter()
            .filter_map(|(ck, _)| ck.values().first().and_then(small))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mv_spec::Assign;

    fn run(rules: ViewRules, stmts: &[Statement]) -> Store {
        let mut s = Store::new();
        for st in stmts {
            for m in s.view_updates(&rules, st, 0) {
                s.apply_view(&rules, &m);
            }
            s.apply_base(st);
        }
        s
    }

    fn visible(rules: ViewRules, s: &Store) -> Vec<(u8, u8, Option<u8>)> {
        s.view_rows()
            .iter()
            .filter_map(|(k, r)| r.resolve(read_rules(&rules)).map(|w| (k.v, k.k, w)))
            .collect()
    }

    fn regular() -> ViewRules {
        ViewRules {
            deletion: DeletionStyle::Regular,
            ..ViewRules::cassandra_30()
        }
    }

    #[test]
    fn switch_entry_writes_new_then_deletes_old() {
        let s = Store::new();
        let mut s2 = s.clone();
        s2.apply_base(&Statement::insert(0, Some(1), Some(5), 1));
        let ms = s2.view_updates(
            &ViewRules::current(),
            &Statement::update(0, Assign::Set(2), Assign::Keep, 2),
            0,
        );
        assert_eq!(ms.len(), 2);
        assert_eq!(ms[0].key, ViewKey { v: 2, k: 0 });
        assert_eq!(ms[1].key, ViewKey { v: 1, k: 0 });
        assert_eq!(ms[1].row.marker, Some(Liveness::dead(1)));
        assert_eq!(ms[0].row.w, Some(Cell::new(1, Some(5))));
    }

    /// A1: switch-back (v=1@1, v=2@2, v=1@3) hides w only with a regular tombstone.
    #[test]
    fn switch_back_loses_w_only_with_regular_tombstones() {
        let stmts = [
            Statement::insert(0, Some(1), Some(1), 1),
            Statement::update(0, Assign::Set(2), Assign::Keep, 2),
            Statement::update(0, Assign::Set(1), Assign::Keep, 3),
        ];
        for (rules, want) in [
            (ViewRules::current(), vec![(1, 0, Some(1))]),
            (ViewRules::cassandra_30(), vec![(1, 0, Some(1))]),
            (regular(), vec![(1, 0, None)]),
        ] {
            assert_eq!(visible(rules, &run(rules, &stmts)), want, "{rules:?}");
        }
    }

    /// A2: delete then re-insert without w; one slot lets the old w come back.
    #[test]
    fn delete_reinsert_resurrects_w_only_with_one_slot() {
        let stmts = [
            Statement::insert(0, Some(1), Some(1), 1),
            Statement::delete(0, 2),
            Statement::insert(0, Some(1), None, 3),
            Statement::update(0, Assign::Set(2), Assign::Keep, 4),
            Statement::update(0, Assign::Set(1), Assign::Keep, 5),
        ];
        let one_slot = ViewRules {
            single_deletion_slot: true,
            ..ViewRules::cassandra_30()
        };
        assert_eq!(
            visible(ViewRules::cassandra_30(), &run(ViewRules::cassandra_30(), &stmts)),
            vec![(1, 0, None)]
        );
        assert_eq!(visible(one_slot, &run(one_slot, &stmts)), vec![(1, 0, Some(1))]);
    }

    /// A3: a late w keeps the switched-away row visible without strict liveness.
    #[test]
    fn late_cell_keeps_old_row_only_without_strict_liveness() {
        let stmts = [
            Statement::insert(0, Some(1), Some(1), 1),
            Statement::update(0, Assign::Keep, Assign::Set(2), 3),
            Statement::update(0, Assign::Set(2), Assign::Keep, 2),
        ];
        let loose = ViewRules {
            strict_liveness: false,
            ..ViewRules::current()
        };
        assert_eq!(
            visible(ViewRules::current(), &run(ViewRules::current(), &stmts)),
            vec![(2, 0, Some(2))]
        );
        assert_eq!(
            visible(loose, &run(loose, &stmts)),
            vec![(1, 0, Some(2)), (2, 0, Some(2))]
        );
    }

    /// A9: `v=2 @1`, then `v=1 @1` with `w`. The base keeps `v=2`; letting the incoming
    /// write win the tie sends the entry of 1 first, carrying the `w` the generator decided
    /// on, and kills the entry of 2.
    #[test]
    fn a_tie_won_by_the_incoming_write_moves_the_entry_away_from_the_base() {
        let stmts = [
            Statement::insert(0, Some(2), None, 1),
            Statement::update(0, Assign::Set(1), Assign::Set(5), 1),
        ];
        let arrival = ViewRules {
            incoming_wins_ties: true,
            ..ViewRules::current()
        };
        let s = run(ViewRules::current(), &stmts);
        assert_eq!(s.read_base(0).live_v(), Some(2));
        assert_eq!(visible(ViewRules::current(), &s), vec![(2, 0, Some(5))]);
        let s = run(arrival, &stmts);
        assert_eq!(s.read_base(0).live_v(), Some(2));
        assert_eq!(visible(arrival, &s), vec![(1, 0, Some(5))]);
        let mut first = Store::new();
        first.apply_base(&stmts[0]);
        let ms = first.view_updates(&arrival, &stmts[1], 0);
        assert_eq!(
            ms.iter().map(|m| m.key.v).collect::<Vec<_>>(),
            vec![1, 2],
            "the new entry first"
        );
        assert_eq!(ms[0].row.w, Some(Cell::new(1, Some(5))));
        assert_eq!(ms[1].row.marker, Some(Liveness::dead(1)));
    }

    /// A17: `k=0` and `k=1` under `v=1 w=1 @1`, then `k=0` moved to 2. The engine's read
    /// loop skips `(1,0)` (expired marker, live `w`) and returns `(1,1)`, unless the limit
    /// counts it; 3.0's rows and a non-strict read are not affected by the switch.
    #[test]
    fn limit_one_skips_the_moved_row_unless_it_counts() {
        let stmts = [
            Statement::insert(0, Some(1), Some(1), 1),
            Statement::insert(1, Some(1), Some(1), 1),
            Statement::update(0, Assign::Set(2), Assign::Keep, 2),
        ];
        let counting = |rules: ViewRules| ViewRules {
            limit_counts_expired: true,
            ..rules
        };
        for (rules, want) in [
            (ViewRules::current(), vec![1]),
            (counting(ViewRules::current()), vec![]),
            (ViewRules::cassandra_30(), vec![1]),
            (counting(ViewRules::cassandra_30()), vec![1]),
            (
                ViewRules {
                    strict_liveness: false,
                    ..ViewRules::current()
                },
                vec![0],
            ),
        ] {
            let s = run(rules, &stmts);
            assert_eq!(s.limit_read(&rules, 1, 1, 0), want, "{rules:?}");
            assert_eq!(s.limit_read(&rules, 2, 1, 0), vec![0], "{rules:?}");
            assert_eq!(s.limit_read(&rules, 3, 1, 0), Vec::<Key>::new(), "{rules:?}");
        }
        let broken = counting(ViewRules::current());
        let s = run(broken, &stmts);
        assert_eq!(
            s.limit_read(&broken, 1, 2, 0),
            vec![1],
            "a second place reaches the live row"
        );
        assert_eq!(
            s.view_rows()[&ViewKey { v: 1, k: 0 }],
            ViewRow {
                marker: Some(Liveness::dead(1)),
                w: Some(Cell::new(1, Some(1))),
                ..ViewRow::default()
            }
        );
    }

    /// A4 on the engine: `v=1 @1 USING TTL`, then `w=1 @2`. The entry's marker expires with
    /// `v` (the engine's `computeLivenessInfoForEntry`); read at the deadline, 4.0 hides the
    /// row, 3.0's rules and a non-strict read keep it through `w`, and the base row reads
    /// `v` null. At the deadline `v` is dead to the read-before-write, so `w` generates nothing.
    #[test]
    fn an_expired_view_key_hides_its_row_only_under_strict_liveness() {
        let stmts = [
            Statement::update(0, Assign::Set(1), Assign::Keep, 1).with_ttl(true),
            Statement::update(0, Assign::Keep, Assign::Set(1), 2),
        ];
        let loose = ViewRules {
            strict_liveness: false,
            ..ViewRules::current()
        };
        for (rules, after) in [
            (ViewRules::current(), vec![]),
            (ViewRules::cassandra_30(), vec![(1, 0, Some(1))]),
            (loose, vec![(1, 0, Some(1))]),
        ] {
            let s = run(rules, &stmts);
            assert_eq!(visible(rules, &s), vec![(1, 0, Some(1))], "{rules:?}");
            let stored = s.view_rows()[&ViewKey { v: 1, k: 0 }];
            assert_eq!(
                stored.marker,
                Some(Liveness {
                    ttl: true,
                    ..Liveness::live(1)
                }),
                "{rules:?}"
            );
            let read: Vec<(u8, u8, Option<u8>)> = s
                .view_rows_at(DEADLINE_SEC)
                .iter()
                .filter_map(|(k, r)| r.resolve(read_rules(&rules)).map(|w| (k.v, k.k, w)))
                .collect();
            assert_eq!(read, after, "{rules:?}");
            assert_eq!(
                s.view_rows_at(0),
                *s.view_rows(),
                "before the deadline a read sees what is stored"
            );
            assert_eq!(s.base_rows_at(DEADLINE_SEC)[&0].live_v(), None);
            assert_eq!(
                s.base_rows_at(DEADLINE_SEC)[&0].live_w_cell(),
                Some(Cell::new(2, Some(1)))
            );
            assert_eq!(
                s.limit_read(&rules, 1, 1, DEADLINE_SEC),
                after.iter().map(|r| r.1).collect::<Vec<_>>()
            );
            let mut first = Store::new();
            first.apply_base(&stmts[0]);
            assert_eq!(first.view_updates(&rules, &stmts[1], DEADLINE_SEC), vec![], "{rules:?}");
        }
    }

    #[test]
    fn deleting_the_base_row_deletes_the_view_row() {
        let stmts = [Statement::insert(0, Some(1), Some(1), 1), Statement::delete(0, 2)];
        for rules in [ViewRules::current(), ViewRules::cassandra_30(), regular()] {
            assert_eq!(visible(rules, &run(rules, &stmts)), vec![], "{rules:?}");
        }
    }
}
