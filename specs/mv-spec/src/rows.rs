//! Rows as stored, and what they read as.
//!
//! The *read* side is definitional: it says what a base row or a view row is once the copies
//! on every replica are reconciled, which is what the properties compare. How a replica
//! *writes* (which mutations it generates, how it merges them into its own table, including
//! the broken variants' single deletion slot) is step logic and lives in the model and in the
//! implementation, not here.
//!
//! Reconciliation follows Cassandra (`Cells.reconcile`, `LivenessInfo.supersedes`,
//! `DeletionTime.deletes`):
//! * cells: the higher timestamp wins; on a tie a tombstone beats a live cell, and between
//!   two live cells the greater value wins;
//! * row markers: the higher timestamp wins; on a tie an expired marker beats a live one;
//! * a row deletion at `T` deletes every marker and cell with timestamp `<= T`;
//! * a shadowable deletion at `S` stops applying once the row has a live marker with a
//!   timestamp strictly greater than `S` (CASSANDRA-10261).

use crate::{Key, Ts, Val, ViewKey};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// A cell of a regular column: a value or a tombstone (`value: None`), with its timestamp, and
/// whether it was written `USING TTL`.
///
/// Time is abstracted to one deadline (`specs/protocol.md`, "Abstracted away"): every TTL
/// expires at the same moment, when the clock step (`Expire`) moves every node's clock past it.
/// A TTL'd cell is live before that and reads as a tombstone at its own timestamp after it
/// ([`Cell::at`]); nothing is written when it expires (cassandra-semantics §4.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Cell {
    /// Write timestamp.
    pub ts: Ts,
    /// `None` is a cell tombstone (`SET col = null`).
    pub value: Option<Val>,
    /// Written `USING TTL`: an expiring cell. Never set on a tombstone. Left out when false,
    /// so rows without TTL serialize as they always did, and older traces read as `false`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ttl: bool,
}

impl Cell {
    /// A cell without TTL.
    pub const fn new(ts: Ts, value: Option<Val>) -> Cell {
        Cell { ts, value, ttl: false }
    }

    /// Last-write-wins reconciliation of two versions of one cell (`Cells.reconcile`): the
    /// higher timestamp; on a tie a tombstone beats an expiring cell, which beats a plain live
    /// one (CASSANDRA-14592: the same whatever the clock says); then the greater value. Every
    /// TTL shares one deadline, so two expiring cells never differ in expiration time.
    pub fn reconcile(a: Cell, b: Cell) -> Cell {
        let rank = |c: &Cell| (c.ts, c.class(), c.value);
        if rank(&b) > rank(&a) {
            b
        } else {
            a
        }
    }

    /// The tie-break class: plain live 0, expiring 1, tombstone 2.
    fn class(&self) -> u8 {
        match (self.value, self.ttl) {
            (None, _) => 2,
            (Some(_), true) => 1,
            (Some(_), false) => 0,
        }
    }

    /// The cell as a read sees it once the clock has `expired` (passed the deadline) or not:
    /// an expiring cell past the deadline is a tombstone at its own timestamp. Reconciliation
    /// commutes with this (`expiry_commutes_with_merge`), so it does not matter whether a
    /// reader merges first or expires first.
    pub fn at(self, expired: bool) -> Cell {
        if expired && self.ttl && self.value.is_some() {
            Cell::new(self.ts, None)
        } else {
            self
        }
    }

    /// Whether the cell holds a value that a row deletion at `deletion` does not cover.
    pub fn is_live(&self, deletion: Option<Ts>) -> bool {
        self.value.is_some() && deletion.is_none_or(|d| self.ts > d)
    }
}

/// Reconciles two optional cells.
pub fn merge_cell(a: Option<Cell>, b: Option<Cell>) -> Option<Cell> {
    match (a, b) {
        (Some(a), Some(b)) => Some(Cell::reconcile(a, b)),
        (a, None) => a,
        (None, b) => b,
    }
}

/// A view row's primary-key liveness (its row marker).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Liveness {
    /// Timestamp.
    pub ts: Ts,
    /// An *expired* marker (CASSANDRA-11500): dead as soon as written; it kills live markers
    /// with a timestamp `<=` its own and nothing else. With `ttl` it is instead a TTL'd marker
    /// read after the deadline ([`Liveness::at`]), which is as dead.
    pub expired: bool,
    /// The marker expires with the TTL'd view-key cell it was derived from
    /// (cassandra-semantics §4.2, CASSANDRA-13657). Absent in older traces: `false`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ttl: bool,
}

impl Liveness {
    /// A live marker without TTL.
    pub const fn live(ts: Ts) -> Liveness {
        Liveness {
            ts,
            expired: false,
            ttl: false,
        }
    }

    /// An expired marker (CASSANDRA-11500's sentinel).
    pub const fn dead(ts: Ts) -> Liveness {
        Liveness {
            ts,
            expired: true,
            ttl: false,
        }
    }

    /// `LivenessInfo.supersedes`: higher timestamp, then the expired sentinel over any other,
    /// then an expiring marker over a non-expiring one. `Ord` is exactly that rule.
    pub fn reconcile(a: Liveness, b: Liveness) -> Liveness {
        a.max(b)
    }

    /// The marker as a read sees it once the clock has `expired` or not: a TTL'd marker past
    /// the deadline is dead. It keeps `ttl`, so that a reader can tell a view key that ran out
    /// from one that moved away; it still loses a timestamp tie to the sentinel, as before
    /// the deadline, so that expiry commutes with reconciliation.
    pub fn at(self, expired: bool) -> Liveness {
        if expired && self.ttl && !self.expired {
            Liveness { expired: true, ..self }
        } else {
            self
        }
    }

    /// The expired sentinel, as opposed to a live marker or a TTL'd one.
    fn sentinel(&self) -> bool {
        self.expired && !self.ttl
    }

    fn rank(&self) -> (Ts, bool, bool, bool) {
        (self.ts, self.sentinel(), self.ttl, self.expired)
    }
}

impl Ord for Liveness {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.rank().cmp(&other.rank())
    }
}

impl PartialOrd for Liveness {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

fn max_opt<T: Ord>(a: Option<T>, b: Option<T>) -> Option<T> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, None) => a,
        (None, b) => b,
    }
}

/// A row of the base table `t(k PRIMARY KEY, v, w)` as one replica stores it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct BaseRow {
    /// Row marker timestamp, written by `INSERT`.
    pub marker: Option<Ts>,
    /// Row deletion timestamp, written by `DELETE`.
    pub deletion: Option<Ts>,
    /// Column `v` (the view's partition key).
    pub v: Option<Cell>,
    /// Column `w` (a regular column the view selects).
    pub w: Option<Cell>,
}

/// What a base row reads as.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ResolvedBase {
    /// The live value of `v`, if any.
    pub v: Option<Val>,
    /// The live value of `w`, if any.
    pub w: Option<Val>,
}

impl BaseRow {
    /// Reconciles two copies of a base row, column by column.
    pub fn merge(&self, other: &BaseRow) -> BaseRow {
        BaseRow {
            marker: max_opt(self.marker, other.marker),
            deletion: max_opt(self.deletion, other.deletion),
            v: merge_cell(self.v, other.v),
            w: merge_cell(self.w, other.w),
        }
    }

    /// What anti-entropy repair streams to a replica holding `self` so that it ends up with
    /// `merged` (rule R4): one statement per part of `merged` the replica lacks, at that
    /// part's own timestamp, in the order deletion, marker, `v`, `w`. A statement carries
    /// one part only, so merging all of them into `self` gives exactly
    /// `self.merge(merged)`, whatever order they arrive in (`repair_statements_restore_the_merged_row`
    /// checks every row of the small domain). Cassandra streams the differing cells; the
    /// write path applies them like any other mutation, view updates included.
    pub fn repair_statements(&self, k: crate::Key, merged: &BaseRow) -> Vec<crate::Statement> {
        use crate::{Assign, Statement};
        let mut out = Vec::new();
        if let Some(ts) = merged.deletion.filter(|&d| self.deletion.is_none_or(|mine| mine < d)) {
            out.push(Statement::delete(k, ts));
        }
        if let Some(ts) = merged.marker.filter(|&m| self.marker.is_none_or(|mine| mine < m)) {
            out.push(Statement::insert(k, None, None, ts));
        }
        let assign = |c: Cell| c.value.map_or(Assign::Null, Assign::Set);
        // A TTL'd cell is streamed with its TTL, which expires at the one deadline wherever it
        // lands.
        if let Some(c) = merged.v.filter(|&c| merge_cell(self.v, Some(c)) != self.v) {
            out.push(Statement::update(k, assign(c), Assign::Keep, c.ts).with_ttl(c.ttl));
        }
        if let Some(c) = merged.w.filter(|&c| merge_cell(self.w, Some(c)) != self.w) {
            out.push(Statement::update(k, Assign::Keep, assign(c), c.ts).with_ttl(c.ttl));
        }
        out
    }

    /// The row as a read sees it once the clock has `expired` or not ([`Cell::at`]). Base
    /// markers never carry a TTL here: only `UPDATE`s are written `USING TTL`.
    pub fn at(&self, expired: bool) -> BaseRow {
        BaseRow {
            v: self.v.map(|c| c.at(expired)),
            w: self.w.map(|c| c.at(expired)),
            ..*self
        }
    }

    /// The cell of `v` if the row deletion does not cover it (what a read-before-write sees).
    pub fn live_v(&self) -> Option<Val> {
        self.v.filter(|c| c.is_live(self.deletion)).and_then(|c| c.value)
    }

    /// The cell of `w` if it is live (a value the row deletion does not cover).
    pub fn live_w_cell(&self) -> Option<Cell> {
        self.w.filter(|c| c.is_live(self.deletion))
    }

    /// What a `SELECT` returns for this row: `None` if the row does not exist. A base table
    /// uses the ordinary liveness rule: a live marker or any live cell keeps the row.
    pub fn resolve(&self) -> Option<ResolvedBase> {
        let marker_live = self.marker.is_some_and(|m| self.deletion.is_none_or(|d| m > d));
        let v = self.live_v();
        let w = self.w.filter(|c| c.is_live(self.deletion)).and_then(|c| c.value);
        (marker_live || v.is_some() || w.is_some()).then_some(ResolvedBase { v, w })
    }
}

impl fmt::Display for BaseRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if let Some(m) = self.marker {
            parts.push(format!("marker@{m}"));
        }
        if let Some(d) = self.deletion {
            parts.push(format!("del@{d}"));
        }
        if let Some(c) = self.v {
            parts.push(format!("v={}", CellFmt(c)));
        }
        if let Some(c) = self.w {
            parts.push(format!("w={}", CellFmt(c)));
        }
        f.write_str(&parts.join(" "))
    }
}

struct CellFmt(Cell);

impl fmt::Display for CellFmt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.value {
            Some(x) => write!(f, "{x}@{}", self.0.ts)?,
            None => write!(f, "null@{}", self.0.ts)?,
        }
        if self.0.ttl {
            f.write_str("(ttl)")?;
        }
        Ok(())
    }
}

/// How a variant reads view rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ReadRules {
    /// Strict liveness (CASSANDRA-11500): a view row whose key holds a base regular column is
    /// visible only while its marker is live; live cells alone do not keep it.
    pub strict_liveness: bool,
}

/// A row of the view `mv`, keyed `(v, k)`, as one replica stores it.
///
/// Two deletion slots: a regular row deletion and a shadowable one. A variant that stores a
/// single slot (the A2 anomaly) keeps one of them empty.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ViewRow {
    /// Row marker (live or expired).
    pub marker: Option<Liveness>,
    /// Regular row deletion.
    pub deletion: Option<Ts>,
    /// Shadowable row deletion (Cassandra 3.0 to 3.11.0).
    pub shadowable: Option<Ts>,
    /// Column `w`.
    pub w: Option<Cell>,
}

impl ViewRow {
    /// Reconciles two copies of a view row, slot by slot.
    pub fn merge(&self, other: &ViewRow) -> ViewRow {
        ViewRow {
            marker: max_opt(self.marker, other.marker),
            deletion: max_opt(self.deletion, other.deletion),
            shadowable: max_opt(self.shadowable, other.shadowable),
            w: merge_cell(self.w, other.w),
        }
    }

    /// The row as a read sees it once the clock has `expired` or not: a TTL'd marker or `w`
    /// past the deadline is dead ([`Liveness::at`], [`Cell::at`]).
    pub fn at(&self, expired: bool) -> ViewRow {
        ViewRow {
            marker: self.marker.map(|m| m.at(expired)),
            w: self.w.map(|c| c.at(expired)),
            ..*self
        }
    }

    /// The deletion time in force: the regular deletion, and the shadowable one unless a live
    /// marker with a strictly greater timestamp shadows it.
    pub fn effective_deletion(&self) -> Option<Ts> {
        let shadowed = |s: Ts| self.marker.is_some_and(|m| !m.expired && m.ts > s);
        let shadowable = self.shadowable.filter(|&s| !shadowed(s));
        max_opt(self.deletion, shadowable)
    }

    /// What a `SELECT` on the view returns for this row: `None` if the row does not exist,
    /// else the visible value of `w`.
    pub fn resolve(&self, rules: ReadRules) -> Option<Option<Val>> {
        self.resolve_cell(rules).map(|w| w.and_then(|c| c.value))
    }

    /// As [`ViewRow::resolve`], with the visible `w` as a cell, timestamp included.
    pub fn resolve_cell(&self, rules: ReadRules) -> Option<Option<Cell>> {
        let d = self.effective_deletion();
        let marker_live = self.marker.is_some_and(|m| !m.expired && d.is_none_or(|d| m.ts > d));
        let w = self.w.filter(|c| c.is_live(d));
        let live = marker_live || (!rules.strict_liveness && w.is_some());
        live.then_some(w)
    }
}

impl fmt::Display for ViewRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if let Some(m) = self.marker {
            let ttl = if m.ttl { "(ttl)" } else { "" };
            parts.push(if m.expired {
                format!("expired@{}{ttl}", m.ts)
            } else {
                format!("marker@{}{ttl}", m.ts)
            });
        }
        if let Some(d) = self.deletion {
            parts.push(format!("del@{d}"));
        }
        if let Some(s) = self.shadowable {
            parts.push(format!("shadowable@{s}"));
        }
        if let Some(c) = self.w {
            parts.push(format!("w={}", CellFmt(c)));
        }
        f.write_str(&parts.join(" "))
    }
}

/// Reconciles the base tables of several replicas (what a read at `ALL` would see).
pub fn merge_base<'a>(tables: impl IntoIterator<Item = &'a BTreeMap<Key, BaseRow>>) -> BTreeMap<Key, BaseRow> {
    let mut out: BTreeMap<Key, BaseRow> = BTreeMap::new();
    for table in tables {
        for (k, row) in table {
            let merged = out.get(k).map_or(*row, |r| r.merge(row));
            out.insert(*k, merged);
        }
    }
    out
}

/// Reconciles the view tables of several replicas.
pub fn merge_view<'a>(tables: impl IntoIterator<Item = &'a BTreeMap<ViewKey, ViewRow>>) -> BTreeMap<ViewKey, ViewRow> {
    let mut out: BTreeMap<ViewKey, ViewRow> = BTreeMap::new();
    for table in tables {
        for (k, row) in table {
            let merged = out.get(k).map_or(*row, |r| r.merge(row));
            out.insert(*k, merged);
        }
    }
    out
}

/// The view definition: the visible view rows (`(v, k) -> w`) that a set of visible base rows
/// implies. A base row with `v = null` has no view row (`WHERE v IS NOT NULL`).
pub fn derive_view(base: &BTreeMap<Key, ResolvedBase>) -> BTreeMap<ViewKey, Option<Val>> {
    base.iter()
        .filter_map(|(&k, r)| r.v.map(|v| (ViewKey { v, k }, r.w)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn live(ts: Ts) -> Option<Liveness> {
        Some(Liveness::live(ts))
    }

    /// A value written with and without TTL, and a tombstone.
    fn cell_kinds(ts: Ts) -> [Cell; 5] {
        [
            Cell::new(ts, None),
            Cell::new(ts, Some(1)),
            Cell::new(ts, Some(2)),
            Cell {
                ttl: true,
                ..Cell::new(ts, Some(1))
            },
            Cell {
                ttl: true,
                ..Cell::new(ts, Some(2))
            },
        ]
    }

    /// Every base row over timestamps 0..3 and values 1..2 (cells: absent, a value with or
    /// without TTL, null).
    fn every_base_row() -> Vec<BaseRow> {
        let stamps = [None, Some(0), Some(1), Some(2)];
        let mut cells = vec![None];
        for ts in 0..3 {
            cells.extend(cell_kinds(ts).map(Some));
        }
        let mut out = Vec::new();
        for marker in stamps {
            for deletion in stamps {
                for &v in &cells {
                    for &w in &cells {
                        out.push(BaseRow { marker, deletion, v, w });
                    }
                }
            }
        }
        out
    }

    /// R4's stream is exact: for every pair of rows (the replica's, and a merged row at least
    /// as new, as repair computes it), applying the statements in any order gives the merged
    /// row, each statement carries one part the replica lacked, and nothing is sent to a
    /// replica that lacks nothing.
    #[test]
    fn repair_statements_restore_the_merged_row() {
        let rows = every_base_row();
        let mut checked = 0;
        for (i, have) in rows.iter().enumerate() {
            for other in rows.iter().skip(i % 19).step_by(19) {
                let merged = have.merge(other);
                let stmts = have.repair_statements(0, &merged);
                let fwd = stmts.iter().fold(*have, |r, s| r.merge(&s.as_row()));
                let back = stmts.iter().rev().fold(*have, |r, s| r.merge(&s.as_row()));
                assert_eq!(fwd, merged, "{have:?} toward {merged:?} with {stmts:?}");
                assert_eq!(back, merged, "{have:?} toward {merged:?} in reverse");
                assert_eq!(stmts.is_empty(), *have == merged, "{have:?} {merged:?}");
                for s in &stmts {
                    assert_ne!(have.merge(&s.as_row()), *have, "{s} carries nothing new to {have:?}");
                }
                checked += 1;
            }
        }
        assert!(checked > 100_000, "{checked}");
    }

    #[test]
    fn cell_ties_prefer_tombstone_then_greater_value() {
        let a = Cell::new(5, Some(1));
        let t = Cell::new(5, None);
        let b = Cell::new(5, Some(2));
        assert_eq!(Cell::reconcile(a, t), t);
        assert_eq!(Cell::reconcile(t, a), t);
        assert_eq!(Cell::reconcile(a, b), b);
        assert_eq!(Cell::reconcile(Cell::new(6, Some(0)), t).ts, 6);
    }

    #[test]
    fn expired_marker_beats_live_marker_on_tie_only() {
        let l = Liveness::live(3);
        let e = Liveness::dead(3);
        assert_eq!(Liveness::reconcile(l, e), e);
        assert_eq!(Liveness::reconcile(Liveness::live(4), e).ts, 4);
    }

    /// Seed 003's example: a shadowable deletion at 2 is shadowed by a marker at 3, and the
    /// old cell at 0 comes back.
    #[test]
    fn shadowable_deletion_is_shadowed_by_newer_marker() {
        let rules = ReadRules { strict_liveness: false };
        let mut row = ViewRow {
            marker: live(0),
            shadowable: Some(2),
            w: Some(Cell::new(0, Some(1))),
            ..Default::default()
        };
        assert_eq!(row.resolve(rules), None);
        row.marker = live(3);
        assert_eq!(row.resolve(rules), Some(Some(1)));
        // A regular deletion at 2 would keep the old cell hidden (anomaly A1).
        row.deletion = Some(2);
        assert_eq!(row.resolve(rules), Some(None));
    }

    #[test]
    fn strict_liveness_hides_rows_kept_only_by_cells() {
        let row = ViewRow {
            marker: Some(Liveness::dead(1)),
            w: Some(Cell::new(9, Some(7))),
            ..Default::default()
        };
        assert_eq!(row.resolve(ReadRules { strict_liveness: true }), None);
        assert_eq!(row.resolve(ReadRules { strict_liveness: false }), Some(Some(7)));
    }

    #[test]
    fn base_row_deletion_covers_equal_timestamps() {
        let row = BaseRow {
            marker: Some(2),
            deletion: Some(2),
            v: Some(Cell::new(2, Some(1))),
            w: None,
        };
        assert_eq!(row.resolve(), None);
        let row = BaseRow {
            marker: None,
            deletion: Some(2),
            v: Some(Cell::new(3, Some(1))),
            w: None,
        };
        assert_eq!(row.resolve(), Some(ResolvedBase { v: Some(1), w: None }));
    }

    fn opts<T: Copy>(xs: &[T]) -> Vec<Option<T>> {
        std::iter::once(None).chain(xs.iter().copied().map(Some)).collect()
    }

    fn cells() -> Vec<Option<Cell>> {
        let v: Vec<Cell> = (1..=2).flat_map(cell_kinds).collect();
        opts(&v)
    }

    /// Markers: live, the expired sentinel, TTL'd, and TTL'd read after the deadline.
    fn markers(ts: Ts) -> [Liveness; 4] {
        [
            Liveness::live(ts),
            Liveness::dead(ts),
            Liveness {
                ttl: true,
                ..Liveness::live(ts)
            },
            Liveness {
                ttl: true,
                ..Liveness::dead(ts)
            },
        ]
    }

    fn view_rows() -> Vec<ViewRow> {
        let markers: Vec<Liveness> = (1..=2).flat_map(markers).collect();
        let mut rows = Vec::new();
        for marker in opts(&markers) {
            for deletion in opts(&[1, 2]) {
                for shadowable in opts(&[1, 2]) {
                    for w in cells() {
                        rows.push(ViewRow {
                            marker,
                            deletion,
                            shadowable,
                            w,
                        });
                    }
                }
            }
        }
        rows
    }

    /// Replicas converge whatever order the copies of a row meet in only if the merge is a
    /// join: commutative, associative and idempotent. Checked on every row of a small domain
    /// (every pair, and every triple for the view's three-slot rows), because the model and
    /// the implementation both merge with this code.
    #[test]
    fn row_merges_are_joins_on_a_small_domain() {
        let views = view_rows();
        assert_eq!(views.len(), 9 * 3 * 3 * 11);
        for a in &views {
            assert_eq!(a.merge(a), *a);
            for b in &views {
                assert_eq!(a.merge(b), b.merge(a), "{a:?} {b:?}");
            }
        }
        // Associativity on a sixth of the domain keeps the test near a second.
        let some: Vec<&ViewRow> = views.iter().step_by(6).collect();
        for a in &some {
            for b in &some {
                let ab = a.merge(b);
                for c in &some {
                    assert_eq!(ab.merge(c), a.merge(&b.merge(c)), "{a:?} {b:?} {c:?}");
                }
            }
        }
        let mut bases = Vec::new();
        for marker in opts(&[1, 2]) {
            for deletion in opts(&[1, 2]) {
                for v in cells() {
                    for w in cells() {
                        bases.push(BaseRow { marker, deletion, v, w });
                    }
                }
            }
        }
        for a in &bases {
            assert_eq!(a.merge(a), *a);
            for b in &bases {
                assert_eq!(a.merge(b), b.merge(a));
            }
        }
        let some: Vec<&BaseRow> = bases.iter().step_by(11).collect();
        for a in &some {
            for b in &some {
                for c in &some {
                    assert_eq!(a.merge(b).merge(c), a.merge(&b.merge(c)));
                }
            }
        }
    }

    /// The strict-liveness read rule, stated independently of `effective_deletion`: a view
    /// row exists exactly when its marker is live and newer than both deletions. (A newer
    /// live marker shadows the shadowable deletion; an older one is covered by it.) Checked
    /// on every row of the small domain; without strict liveness a row may also exist through
    /// a live `w` cell, so it exists whenever it does under strict liveness.
    #[test]
    fn strict_liveness_read_rule_on_a_small_domain() {
        let strict = ReadRules { strict_liveness: true };
        let loose = ReadRules { strict_liveness: false };
        for r in view_rows() {
            let want = r
                .marker
                .is_some_and(|m| !m.expired && Some(m.ts) > r.deletion && Some(m.ts) > r.shadowable);
            assert_eq!(r.resolve(strict).is_some(), want, "{r:?}");
            if want {
                assert!(r.resolve(loose).is_some(), "{r:?}");
            }
        }
    }

    /// Cassandra's tie-breaks with TTL (cassandra-semantics §7): an expiring cell beats a
    /// plain one at its timestamp and loses to a tombstone; an expiring marker beats a plain
    /// one and loses to the expired sentinel.
    #[test]
    fn ttl_ties_follow_cassandra() {
        let [tomb, one, two, one_ttl, _] = cell_kinds(3);
        assert_eq!(Cell::reconcile(two, one_ttl), one_ttl);
        assert_eq!(Cell::reconcile(one_ttl, two), one_ttl);
        assert_eq!(Cell::reconcile(one_ttl, tomb), tomb);
        assert_eq!(Cell::reconcile(one, Cell::new(4, Some(1))).ts, 4);
        let [live, dead, ttl, _] = markers(3);
        assert_eq!(Liveness::reconcile(live, ttl), ttl);
        assert_eq!(Liveness::reconcile(ttl, dead), dead);
        assert_eq!(Liveness::reconcile(dead, Liveness::live(4)), Liveness::live(4));
    }

    /// The clock step reads every TTL'd part as dead and changes nothing else, and it commutes
    /// with reconciliation: replicas that merge rows and then read them after the deadline
    /// agree with a reader that expires each copy first, so where a merge happens does not
    /// matter. Checked on every pair of the small domains, TTL'd cells and markers included
    /// (not the markers already read after the deadline: nothing stores those).
    #[test]
    fn expiry_commutes_with_merge() {
        let stored = |r: &ViewRow| r.marker.is_none_or(|m| !(m.ttl && m.expired));
        let views: Vec<ViewRow> = view_rows().into_iter().filter(stored).collect();
        for a in &views {
            assert_eq!(a.at(false), *a);
            let after = a.at(true);
            assert!(after.marker.is_none_or(|m| !m.ttl || m.expired), "{a:?}");
            assert!(after.w.is_none_or(|c| !c.ttl), "{a:?}");
            assert_eq!((after.deletion, after.shadowable), (a.deletion, a.shadowable));
            for b in &views {
                assert_eq!(a.merge(b).at(true), a.at(true).merge(&b.at(true)), "{a:?} {b:?}");
            }
        }
        for a in every_base_row().iter().step_by(3) {
            assert_eq!(a.at(false), *a);
            for b in every_base_row().iter().step_by(7) {
                assert_eq!(a.merge(b).at(true), a.at(true).merge(&b.at(true)), "{a:?} {b:?}");
            }
        }
    }

    /// A4's view row after the deadline: its TTL'd marker is dead, and only strict liveness
    /// keeps the live `w` from showing it.
    #[test]
    fn an_expired_view_key_hides_the_row_only_under_strict_liveness() {
        let row = ViewRow {
            marker: Some(Liveness {
                ttl: true,
                ..Liveness::live(1)
            }),
            w: Some(Cell::new(2, Some(1))),
            ..Default::default()
        };
        let strict = ReadRules { strict_liveness: true };
        let loose = ReadRules { strict_liveness: false };
        assert_eq!(row.resolve(strict), Some(Some(1)));
        assert_eq!(row.at(true).resolve(strict), None);
        assert_eq!(row.at(true).resolve(loose), Some(Some(1)));
        assert_eq!(row.at(true).to_string(), "expired@1(ttl) w=1@2");
    }
}
