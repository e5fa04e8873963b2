//! The storage layer: cells, row markers, deletions, rows and partitions, and Cassandra's
//! reconciliation rules (`docs/cassandra-semantics.md` §1 and §7).
//!
//! Storage keeps what was written and decides what is visible at read time: a stored row keeps
//! cells that its deletion covers, and a partition keeps rows that its partition deletion or a
//! range tombstone covers. Reads go through [`Row::purged`], which applies every deletion that
//! covers the row, exactly as a merged Cassandra row would after `Rows.merge` drops the data
//! its deletion shadows. Keeping the covered data is what lets a *shadowable* deletion stop
//! applying once a newer marker shadows it (cassandra-semantics §1, CASSANDRA-10261): the cells under it come
//! back. Nothing is ever garbage-collected; tombstones live forever, like a cluster that never
//! compacts past `gc_grace_seconds`.
//!
//! Timestamps are microseconds ([`Ts`]); TTLs, expirations and local deletion times are
//! seconds on the node clock (`nowInSec`).

use super::value::Value;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::BTreeMap;

/// A write timestamp in microseconds.
pub type Ts = i64;

/// `DeletionTime`: a tombstone's timestamp and the local time (seconds) it was written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DeletionTime {
    pub ts: Ts,
    pub local_time: i64,
}

impl DeletionTime {
    /// cassandra-semantics §1 `DeletionTime.deletes`: everything written at a timestamp `<=` the deletion's.
    pub fn deletes(&self, ts: Ts) -> bool {
        ts <= self.ts
    }

    /// `DeletionTime.supersedes`: the later timestamp, then the later local time.
    pub fn supersedes(&self, other: &DeletionTime) -> bool {
        self.ts > other.ts || (self.ts == other.ts && self.local_time > other.local_time)
    }
}

/// The deletion that wins of two optional ones.
pub fn max_deletion(a: Option<DeletionTime>, b: Option<DeletionTime>) -> Option<DeletionTime> {
    match (a, b) {
        (Some(a), Some(b)) => Some(if b.supersedes(&a) { b } else { a }),
        (a, None) => a,
        (None, b) => b,
    }
}

fn deleted_by(d: Option<DeletionTime>, ts: Ts) -> bool {
    d.is_some_and(|d| d.deletes(ts))
}

/// A row marker, `LivenessInfo` (cassandra-semantics §1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Liveness {
    /// An `INSERT`'s marker without TTL.
    Live { ts: Ts },
    /// A marker with a TTL: live while `now < expires` (seconds).
    Expiring { ts: Ts, ttl: u32, expires: i64 },
    /// Expired liveness (`ExpiredLivenessInfo`, CASSANDRA-11500): dead when written; it kills
    /// markers at timestamps `<=` its own and deletes no cell.
    Expired { ts: Ts, local_time: i64 },
}

impl Liveness {
    pub fn ts(&self) -> Ts {
        match *self {
            Liveness::Live { ts } | Liveness::Expiring { ts, .. } | Liveness::Expired { ts, .. } => ts,
        }
    }

    pub fn is_live(&self, now_sec: i64) -> bool {
        match *self {
            Liveness::Live { .. } => true,
            Liveness::Expiring { expires, .. } => now_sec < expires,
            Liveness::Expired { .. } => false,
        }
    }

    fn is_expired_sentinel(&self) -> bool {
        matches!(self, Liveness::Expired { .. })
    }

    fn is_expiring(&self) -> bool {
        matches!(self, Liveness::Expiring { .. })
    }

    /// The local expiration time; a non-expiring marker never expires.
    fn expiration(&self) -> i64 {
        match *self {
            Liveness::Expiring { expires, .. } => expires,
            Liveness::Expired { local_time, .. } => local_time,
            Liveness::Live { .. } => i64::MAX,
        }
    }

    /// cassandra-semantics §7 `LivenessInfo.supersedes`: the higher timestamp; on a tie an expired marker beats a
    /// live one; two expiring or two non-expiring markers by the later expiration; an expiring
    /// marker beats a non-expiring one.
    pub fn supersedes(&self, other: &Liveness) -> bool {
        if self.ts() != other.ts() {
            return self.ts() > other.ts();
        }
        if self.is_expired_sentinel() != other.is_expired_sentinel() {
            return self.is_expired_sentinel();
        }
        if self.is_expiring() == other.is_expiring() {
            return self.expiration() > other.expiration();
        }
        self.is_expiring()
    }

    /// The TTL and expiration, when the marker expires.
    pub fn ttl(&self) -> Option<(u32, i64)> {
        match *self {
            Liveness::Expiring { ttl, expires, .. } => Some((ttl, expires)),
            _ => None,
        }
    }
}

fn merge_liveness(a: Option<Liveness>, b: Option<Liveness>) -> Option<Liveness> {
    match (a, b) {
        (Some(a), Some(b)) => Some(if b.supersedes(&a) { b } else { a }),
        (a, None) => a,
        (None, b) => b,
    }
}

/// What a cell holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CellKind {
    Live(Value),
    /// A value with a TTL; once `now >= expires` it reads as a tombstone.
    Expiring {
        value: Value,
        ttl: u32,
        expires: i64,
    },
    /// A cell tombstone (`SET col = null`, `DELETE col`).
    Tombstone {
        local_time: i64,
    },
}

/// One column value (or one collection element) with its write timestamp.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cell {
    pub ts: Ts,
    pub kind: CellKind,
}

impl Cell {
    pub fn live(ts: Ts, value: Value) -> Cell {
        Cell {
            ts,
            kind: CellKind::Live(value),
        }
    }

    /// A cell written with `USING TTL ttl` at `now_sec`; a TTL of 0 means none.
    pub fn with_ttl(ts: Ts, value: Value, ttl: u32, now_sec: i64) -> Cell {
        if ttl == 0 {
            return Cell::live(ts, value);
        }
        Cell {
            ts,
            kind: CellKind::Expiring {
                value,
                ttl,
                expires: now_sec.saturating_add(i64::from(ttl)),
            },
        }
    }

    pub fn tombstone(ts: Ts, now_sec: i64) -> Cell {
        Cell {
            ts,
            kind: CellKind::Tombstone { local_time: now_sec },
        }
    }

    /// The value, if the cell is live at `now_sec`.
    pub fn value(&self, now_sec: i64) -> Option<&Value> {
        match &self.kind {
            CellKind::Live(v) => Some(v),
            CellKind::Expiring { value, expires, .. } if now_sec < *expires => Some(value),
            _ => None,
        }
    }

    pub fn is_live(&self, now_sec: i64) -> bool {
        self.value(now_sec).is_some()
    }

    /// The remaining TTL in seconds, as `TTL(col)` reports it.
    pub fn remaining_ttl(&self, now_sec: i64) -> Option<i64> {
        match self.kind {
            CellKind::Expiring { expires, .. } if now_sec < expires => Some(expires - now_sec),
            _ => None,
        }
    }

    pub fn ttl(&self) -> Option<(u32, i64)> {
        match self.kind {
            CellKind::Expiring { ttl, expires, .. } => Some((ttl, expires)),
            _ => None,
        }
    }

    /// Tie-break rank on equal timestamps (cassandra-semantics §7): a pure tombstone beats an expiring cell,
    /// which beats a plain live cell.
    fn tie_rank(&self) -> (u8, i64) {
        match &self.kind {
            CellKind::Live(_) => (0, 0),
            CellKind::Expiring { expires, .. } => (1, *expires),
            CellKind::Tombstone { local_time } => (2, *local_time),
        }
    }

    fn value_bytes(&self) -> Vec<u8> {
        match &self.kind {
            CellKind::Live(v) | CellKind::Expiring { value: v, .. } => v.to_bytes(),
            CellKind::Tombstone { .. } => Vec::new(),
        }
    }

    /// cassandra-semantics §7 `Cells.reconcile`: the higher timestamp wins. On a tie: tombstone over expiring over
    /// live; between two of the same kind the later local deletion/expiration time; then the
    /// greater value by unsigned byte comparison (so 50 writes of `c = 0..49` at one timestamp
    /// leave 49).
    pub fn reconcile<'a>(a: &'a Cell, b: &'a Cell) -> &'a Cell {
        let ord =
            a.ts.cmp(&b.ts)
                .then_with(|| a.tie_rank().cmp(&b.tie_rank()))
                .then_with(|| a.value_bytes().cmp(&b.value_bytes()));
        if ord == Ordering::Less {
            b
        } else {
            a
        }
    }
}

/// A non-frozen collection: its collection-wide deletion (`SET l = [..]` and `DELETE l` write
/// one) and one cell per element, keyed by the element's path: the element for a set, the key
/// for a map, a time-based id for a list.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Complex {
    pub deletion: Option<DeletionTime>,
    pub cells: BTreeMap<Value, Cell>,
}

/// A column's data in a row.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ColumnData {
    Simple(Cell),
    Complex(Complex),
}

impl ColumnData {
    /// The newest timestamp in the data, live or dead (`ColumnData.maxTimestamp`).
    pub fn max_ts(&self) -> Ts {
        match self {
            ColumnData::Simple(c) => c.ts,
            ColumnData::Complex(cx) => cx
                .cells
                .values()
                .map(|c| c.ts)
                .chain(cx.deletion.map(|d| d.ts))
                .max()
                .unwrap_or(Ts::MIN),
        }
    }

    fn merge(&mut self, other: &ColumnData) {
        match (self, other) {
            (ColumnData::Simple(a), ColumnData::Simple(b)) => {
                if std::ptr::eq(Cell::reconcile(a, b), b) {
                    *a = b.clone();
                }
            }
            (ColumnData::Complex(a), ColumnData::Complex(b)) => {
                a.deletion = max_deletion(a.deletion, b.deletion);
                for (path, cell) in &b.cells {
                    match a.cells.get_mut(path) {
                        Some(mine) => {
                            if std::ptr::eq(Cell::reconcile(mine, cell), cell) {
                                *mine = cell.clone();
                            }
                        }
                        None => {
                            a.cells.insert(path.clone(), cell.clone());
                        }
                    }
                }
            }
            // A column is simple or complex by its type; a mismatch means the schema changed
            // under the data, which this engine does not allow (no ALTER ... TYPE).
            (mine, theirs) => *mine = theirs.clone(),
        }
    }

    /// Drops what a deletion at `d` covers; false when nothing remains.
    fn purge(&mut self, d: Option<DeletionTime>) -> bool {
        match self {
            ColumnData::Simple(c) => !deleted_by(d, c.ts),
            ColumnData::Complex(cx) => {
                cx.deletion = cx.deletion.filter(|cd| !deleted_by(d, cd.ts));
                let active = max_deletion(d, cx.deletion);
                cx.cells.retain(|_, c| !deleted_by(active, c.ts));
                cx.deletion.is_some() || !cx.cells.is_empty()
            }
        }
    }

    pub fn has_live(&self, now_sec: i64) -> bool {
        match self {
            ColumnData::Simple(c) => c.is_live(now_sec),
            ColumnData::Complex(cx) => cx.cells.values().any(|c| c.is_live(now_sec)),
        }
    }
}

/// A row: marker, deletions and column data.
///
/// There are two deletion slots: the regular row deletion and the shadowable one
/// (CASSANDRA-10261), which stops applying once the row's marker is strictly newer. Keeping
/// both is the correct reading of 3.0's design; the A2 variant squeezes them into one slot
/// (see [`Row::merge`]). Only view rows ever carry a shadowable deletion.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Row {
    pub marker: Option<Liveness>,
    pub deletion: Option<DeletionTime>,
    pub shadowable: Option<DeletionTime>,
    pub columns: BTreeMap<String, ColumnData>,
}

impl Row {
    pub fn is_empty(&self) -> bool {
        self.marker.is_none() && self.deletion.is_none() && self.shadowable.is_none() && self.columns.is_empty()
    }

    /// Reconciles `other` into `self`. With `single_slot` (the A2 anomaly) the row keeps one
    /// deletion: whichever of the regular and the shadowable deletion is newer takes the slot
    /// and the other is forgotten.
    pub fn merge(&mut self, other: &Row, single_slot: bool) {
        self.marker = merge_liveness(self.marker, other.marker);
        self.deletion = max_deletion(self.deletion, other.deletion);
        self.shadowable = max_deletion(self.shadowable, other.shadowable);
        for (name, data) in &other.columns {
            match self.columns.get_mut(name) {
                Some(mine) => mine.merge(data),
                None => {
                    self.columns.insert(name.clone(), data.clone());
                }
            }
        }
        if single_slot {
            if let (Some(d), Some(s)) = (self.deletion, self.shadowable) {
                if s.supersedes(&d) {
                    self.deletion = None;
                } else {
                    self.shadowable = None;
                }
            }
        }
    }

    /// The shadowable deletion while it still applies: cassandra-semantics §1 `Row.Deletion.isShadowedBy`, a
    /// marker with a strictly greater timestamp shadows it.
    fn active_shadowable(&self) -> Option<DeletionTime> {
        self.shadowable.filter(|s| self.marker.is_none_or(|m| m.ts() <= s.ts))
    }

    /// The row as a read sees it under `covering` (the partition deletion or range tombstones
    /// over it): its regular deletion becomes the strongest of its own and `covering`, and the
    /// marker and every cell that the active deletion covers (cassandra-semantics §1: `ts <= markedForDeleteAt`)
    /// are dropped. This is Cassandra's merged row, on which the view generator works.
    pub fn purged(&self, covering: Option<DeletionTime>) -> Row {
        let mut r = self.clone();
        r.purge(covering);
        r
    }

    /// [`Row::purged`] without the copy when no deletion touches the row, which is the common
    /// case of a point read. With no regular, shadowable, covering or collection-wide deletion
    /// the purge can only drop a collection holding neither cells nor a deletion, which reads
    /// exactly like an absent column, so a read may use the stored row as it is.
    pub fn visible(&self, covering: Option<DeletionTime>) -> Cow<'_, Row> {
        let untouched = covering.is_none()
            && self.deletion.is_none()
            && self.shadowable.is_none()
            && self
                .columns
                .values()
                .all(|d| !matches!(d, ColumnData::Complex(cx) if cx.deletion.is_some()));
        if untouched {
            Cow::Borrowed(self)
        } else {
            Cow::Owned(self.purged(covering))
        }
    }

    /// [`Row::purged`] in place.
    pub fn purge(&mut self, covering: Option<DeletionTime>) {
        let regular = max_deletion(self.deletion, covering);
        let shadowable = self.active_shadowable();
        let active = max_deletion(regular, shadowable);
        self.marker = self.marker.filter(|m| !deleted_by(active, m.ts()));
        self.deletion = regular;
        self.shadowable = shadowable.filter(|s| regular.is_none_or(|r| s.supersedes(&r)));
        self.columns.retain(|_, d| d.purge(active));
    }

    /// cassandra-semantics §1/§7 `hasLiveData`, on a purged row: a live marker, or (unless `strict`) any live
    /// cell. Strict liveness is what hides a view row whose marker is dead.
    pub fn has_live_data(&self, now_sec: i64, strict: bool) -> bool {
        if self.marker.is_some_and(|m| m.is_live(now_sec)) {
            return true;
        }
        !strict && self.columns.values().any(|d| d.has_live(now_sec))
    }

    pub fn cell(&self, column: &str) -> Option<&Cell> {
        match self.columns.get(column) {
            Some(ColumnData::Simple(c)) => Some(c),
            _ => None,
        }
    }
}

/// One component of a clustering key, with its column's order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyPart {
    pub value: Value,
    pub desc: bool,
}

impl PartialOrd for KeyPart {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for KeyPart {
    fn cmp(&self, other: &Self) -> Ordering {
        let o = self.value.cmp(&other.value);
        if self.desc {
            o.reverse()
        } else {
            o
        }
    }
}

/// A clustering key (empty for tables without clustering columns), ordered as the table's
/// `CLUSTERING ORDER BY` says.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ClusteringKey(pub Vec<KeyPart>);

impl ClusteringKey {
    pub fn values(&self) -> Vec<Value> {
        self.0.iter().map(|p| p.value.clone()).collect()
    }

    /// Compares the first `prefix.len()` components with `prefix`.
    fn cmp_prefix(&self, prefix: &[KeyPart]) -> Ordering {
        for (mine, theirs) in self.0.iter().zip(prefix) {
            let o = mine.cmp(theirs);
            if o != Ordering::Equal {
                return o;
            }
        }
        Ordering::Equal
    }
}

/// One end of a clustering slice: a prefix, inclusive or not. The empty prefix is unbounded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bound {
    pub prefix: Vec<KeyPart>,
    pub inclusive: bool,
}

impl Bound {
    pub fn unbounded() -> Bound {
        Bound {
            prefix: Vec::new(),
            inclusive: true,
        }
    }
}

/// A slice of clusterings, in clustering order (a `DESC` column's `>` is an end bound).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Slice {
    pub start: Bound,
    pub end: Bound,
}

impl Slice {
    pub fn all() -> Slice {
        Slice {
            start: Bound::unbounded(),
            end: Bound::unbounded(),
        }
    }

    /// All clusterings that start with `prefix` (a prefix delete, `c1 = x`).
    pub fn prefix(prefix: Vec<KeyPart>) -> Slice {
        Slice {
            start: Bound {
                prefix: prefix.clone(),
                inclusive: true,
            },
            end: Bound {
                prefix,
                inclusive: true,
            },
        }
    }

    pub fn contains(&self, c: &ClusteringKey) -> bool {
        let lo = c.cmp_prefix(&self.start.prefix);
        let hi = c.cmp_prefix(&self.end.prefix);
        let after_start = lo == Ordering::Greater || (lo == Ordering::Equal && self.start.inclusive);
        let before_end = hi == Ordering::Less || (hi == Ordering::Equal && self.end.inclusive);
        after_start && before_end
    }

    /// Whether no clustering can fall in the slice (start after end).
    pub fn is_empty(&self) -> bool {
        let n = self.start.prefix.len().min(self.end.prefix.len());
        let ord = self.start.prefix[..n].cmp(&self.end.prefix[..n]);
        match ord {
            Ordering::Greater => true,
            Ordering::Less => false,
            Ordering::Equal => {
                self.start.prefix.len() == self.end.prefix.len()
                    && !(self.start.inclusive && self.end.inclusive)
                    && !self.start.prefix.is_empty()
            }
        }
    }
}

/// A range tombstone: a deletion over a slice of clusterings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RangeTombstone {
    pub slice: Slice,
    pub deletion: DeletionTime,
}

/// A partition key: the values in key order and the Murmur3 token, which orders partitions
/// on the ring and therefore in a full scan.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PartitionKey {
    pub token: i64,
    pub values: Vec<Value>,
}

impl PartitionKey {
    pub fn new(values: Vec<Value>) -> PartitionKey {
        let token = super::value::murmur3_token(&super::value::partition_key_bytes(&values));
        PartitionKey { token, values }
    }
}

/// A partition as stored, and also a partition update (`PartitionUpdate`): the same shape
/// carries a mutation and the data it merges into.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Partition {
    pub deletion: Option<DeletionTime>,
    pub range_tombstones: Vec<RangeTombstone>,
    pub static_row: Row,
    pub rows: BTreeMap<ClusteringKey, Row>,
}

impl Partition {
    pub fn is_empty(&self) -> bool {
        self.deletion.is_none()
            && self.range_tombstones.is_empty()
            && self.static_row.is_empty()
            && self.rows.is_empty()
    }

    /// The partition deletion and range tombstones that cover clustering `c`, as one deletion.
    pub fn covering(&self, c: &ClusteringKey) -> Option<DeletionTime> {
        self.range_tombstones
            .iter()
            .filter(|rt| rt.slice.contains(c))
            .map(|rt| rt.deletion)
            .fold(self.deletion, |acc, d| max_deletion(acc, Some(d)))
    }

    /// Reconciles an update into the partition.
    pub fn apply(&mut self, update: &Partition, single_slot: bool) {
        self.deletion = max_deletion(self.deletion, update.deletion);
        for rt in &update.range_tombstones {
            if !self.range_tombstones.contains(rt) {
                self.range_tombstones.push(rt.clone());
            }
        }
        self.static_row.merge(&update.static_row, single_slot);
        for (c, row) in &update.rows {
            self.rows.entry(c.clone()).or_default().merge(row, single_slot);
        }
    }

    /// The row at `c` as a read sees it (purged by everything covering it), if stored.
    pub fn read_row(&self, c: &ClusteringKey) -> Option<Row> {
        self.rows.get(c).map(|r| r.purged(self.covering(c)))
    }

    /// The static row as a read sees it: only the partition deletion covers it.
    pub fn read_static(&self) -> Row {
        self.static_row.purged(self.deletion)
    }

    /// [`Partition::read_static`] for a read that only inspects the row (see [`Row::visible`]).
    pub fn static_visible(&self) -> Cow<'_, Row> {
        self.static_row.visible(self.deletion)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dt(ts: Ts) -> DeletionTime {
        DeletionTime { ts, local_time: 0 }
    }

    fn int_cell(ts: Ts, v: i32) -> Cell {
        Cell::live(ts, Value::Int(v))
    }

    fn row_with(col: &str, c: Cell) -> Row {
        let mut r = Row::default();
        r.columns.insert(col.into(), ColumnData::Simple(c));
        r
    }

    #[test]
    fn visible_reads_exactly_like_purged() {
        let mut plain = row_with("c", int_cell(3, 7));
        let mut list = Complex::default();
        list.cells.insert(Value::Int(1), int_cell(2, 1));
        list.cells.insert(Value::Int(2), int_cell(4, 2));
        plain.columns.insert("l".into(), ColumnData::Complex(list));
        let mut collection_deleted = plain.clone();
        if let Some(ColumnData::Complex(cx)) = collection_deleted.columns.get_mut("l") {
            cx.deletion = Some(dt(2));
        }
        let mut row_deleted = plain.clone();
        row_deleted.deletion = Some(dt(3));
        let mut shadowed = plain.clone();
        shadowed.shadowable = Some(dt(5));
        for r in [&plain, &collection_deleted, &row_deleted, &shadowed] {
            for covering in [None, Some(dt(2)), Some(dt(9))] {
                assert_eq!(*r.visible(covering), r.purged(covering), "{r:?} under {covering:?}");
            }
        }
        // The point of `visible`: an untouched row is read in place.
        assert!(matches!(plain.visible(None), Cow::Borrowed(_)));
        assert!(matches!(collection_deleted.visible(None), Cow::Owned(_)));
    }

    #[test]
    fn cells_last_write_wins() {
        let (a, b) = (int_cell(1, 5), int_cell(2, 3));
        assert_eq!(Cell::reconcile(&a, &b), &b);
        assert_eq!(Cell::reconcile(&b, &a), &b);
    }

    #[test]
    fn tombstone_wins_a_timestamp_tie() {
        // cassandra-semantics §7: SET v = null USING TIMESTAMP 5 removes v = 1 written USING TIMESTAMP 5.
        let live = int_cell(5, 1);
        let tomb = Cell::tombstone(5, 0);
        assert_eq!(Cell::reconcile(&live, &tomb), &tomb);
        assert_eq!(Cell::reconcile(&tomb, &live), &tomb);
        // A pure tombstone also beats an expiring cell, which beats a plain live cell.
        let exp = Cell::with_ttl(5, Value::Int(1), 10, 0);
        assert_eq!(Cell::reconcile(&exp, &tomb), &tomb);
        assert_eq!(Cell::reconcile(&live, &exp), &exp);
    }

    #[test]
    fn live_tie_goes_to_the_greater_value() {
        // cassandra-semantics §7: 50 same-timestamp writes of c = 0..49 leave c = 49.
        let mut winner = int_cell(7, 0);
        for v in 1..50 {
            let c = int_cell(7, v);
            winner = Cell::reconcile(&winner, &c).clone();
        }
        assert_eq!(winner, int_cell(7, 49));
        // Unsigned byte comparison: a negative int serializes above any positive one.
        let (neg, pos) = (int_cell(7, -1), int_cell(7, 1));
        assert_eq!(Cell::reconcile(&neg, &pos), &neg);
    }

    #[test]
    fn row_deletion_removes_timestamps_up_to_and_including_it() {
        let mut r = row_with("a", int_cell(5, 1));
        r.columns.insert("b".into(), ColumnData::Simple(int_cell(6, 2)));
        r.marker = Some(Liveness::Live { ts: 5 });
        r.deletion = Some(dt(5));
        let p = r.purged(None);
        assert!(p.marker.is_none());
        assert!(p.cell("a").is_none());
        assert_eq!(p.cell("b"), Some(&int_cell(6, 2)));
        // A delete at T and a re-insert at T leave the row deleted.
        let mut r = Row {
            marker: Some(Liveness::Live { ts: 9 }),
            ..Row::default()
        };
        r.merge(
            &Row {
                deletion: Some(dt(9)),
                ..Row::default()
            },
            false,
        );
        assert!(!r.purged(None).has_live_data(0, false));
    }

    #[test]
    fn marker_supersedes_rule() {
        let live = Liveness::Live { ts: 3 };
        let expired = Liveness::Expired { ts: 3, local_time: 0 };
        let expiring = Liveness::Expiring {
            ts: 3,
            ttl: 10,
            expires: 100,
        };
        let later_expiring = Liveness::Expiring {
            ts: 3,
            ttl: 20,
            expires: 200,
        };
        assert!(expired.supersedes(&live));
        assert!(!live.supersedes(&expired));
        assert!(expired.supersedes(&expiring));
        assert!(expiring.supersedes(&live));
        assert!(later_expiring.supersedes(&expiring));
        assert!(Liveness::Live { ts: 4 }.supersedes(&expired));
        assert!(!live.supersedes(&Liveness::Live { ts: 3 }));
    }

    #[test]
    fn ttl_expires_against_the_clock() {
        let c = Cell::with_ttl(1, Value::Int(1), 10, 100);
        assert!(c.is_live(109));
        assert_eq!(c.remaining_ttl(105), Some(5));
        assert!(!c.is_live(110));
        let m = Liveness::Expiring {
            ts: 1,
            ttl: 10,
            expires: 110,
        };
        assert!(m.is_live(109) && !m.is_live(110));
        let r = Row {
            marker: Some(m),
            ..row_with("a", c)
        };
        assert!(r.has_live_data(109, true));
        assert!(!r.has_live_data(110, false));
    }

    #[test]
    fn shadowable_deletion_is_shadowed_by_a_newer_marker() {
        // Seed 003: view row (0,0) with c=1@0, shadowable@2; re-inserted with marker @3.
        let mut r = row_with("c", int_cell(0, 1));
        r.marker = Some(Liveness::Live { ts: 0 });
        r.merge(
            &Row {
                shadowable: Some(dt(2)),
                ..Row::default()
            },
            false,
        );
        assert!(!r.purged(None).has_live_data(0, false));
        r.merge(
            &Row {
                marker: Some(Liveness::Live { ts: 3 }),
                ..Row::default()
            },
            false,
        );
        let p = r.purged(None);
        assert!(p.has_live_data(0, true));
        assert_eq!(p.cell("c"), Some(&int_cell(0, 1)), "c comes back");
        // A regular deletion at 2 would have kept c dead (the problem shadowable solves).
        let mut r2 = row_with("c", int_cell(0, 1));
        r2.deletion = Some(dt(2));
        r2.marker = Some(Liveness::Live { ts: 3 });
        assert!(r2.purged(None).cell("c").is_none());
    }

    #[test]
    fn single_slot_forgets_the_older_deletion() {
        let mut r = Row {
            deletion: Some(dt(5)),
            ..Row::default()
        };
        r.merge(
            &Row {
                shadowable: Some(dt(7)),
                ..Row::default()
            },
            true,
        );
        assert_eq!((r.deletion, r.shadowable), (None, Some(dt(7))));
        let mut two = Row {
            deletion: Some(dt(5)),
            ..Row::default()
        };
        two.merge(
            &Row {
                shadowable: Some(dt(7)),
                ..Row::default()
            },
            false,
        );
        assert_eq!((two.deletion, two.shadowable), (Some(dt(5)), Some(dt(7))));
    }

    fn ck(vals: &[i32], desc: bool) -> ClusteringKey {
        ClusteringKey(
            vals.iter()
                .map(|v| KeyPart {
                    value: Value::Int(*v),
                    desc,
                })
                .collect(),
        )
    }

    #[test]
    fn range_tombstones_cover_prefixes_and_slices() {
        let prefix = Slice::prefix(ck(&[1], false).0);
        assert!(prefix.contains(&ck(&[1, 5], false)));
        assert!(!prefix.contains(&ck(&[2, 0], false)));
        // c1 = 1 AND c2 > 3 (ascending): start (1,3) exclusive, end (1) inclusive.
        let slice = Slice {
            start: Bound {
                prefix: ck(&[1, 3], false).0,
                inclusive: false,
            },
            end: Bound {
                prefix: ck(&[1], false).0,
                inclusive: true,
            },
        };
        assert!(slice.contains(&ck(&[1, 4], false)));
        assert!(!slice.contains(&ck(&[1, 3], false)));
        assert!(!slice.contains(&ck(&[2, 9], false)));
        let mut p = Partition::default();
        p.rows.insert(ck(&[1, 4], false), row_with("a", int_cell(1, 1)));
        p.rows.insert(ck(&[1, 2], false), row_with("a", int_cell(1, 1)));
        p.apply(
            &Partition {
                range_tombstones: vec![RangeTombstone { slice, deletion: dt(1) }],
                ..Partition::default()
            },
            false,
        );
        assert!(!p.read_row(&ck(&[1, 4], false)).unwrap().has_live_data(0, false));
        assert!(p.read_row(&ck(&[1, 2], false)).unwrap().has_live_data(0, false));
    }

    #[test]
    fn descending_clustering_order() {
        assert!(ck(&[5], true) < ck(&[1], true));
        let mut p = Partition::default();
        for v in [1, 3, 2] {
            p.rows.insert(ck(&[v], true), Row::default());
        }
        let order: Vec<Value> = p.rows.keys().map(|k| k.0[0].value.clone()).collect();
        assert_eq!(order, vec![Value::Int(3), Value::Int(2), Value::Int(1)]);
    }

    #[test]
    fn partition_deletion_covers_rows_and_collections() {
        let mut r = Row::default();
        let mut cx = Complex::default();
        cx.cells.insert(Value::Int(1), int_cell(3, 1));
        cx.cells.insert(Value::Int(2), int_cell(8, 2));
        r.columns.insert("s".into(), ColumnData::Complex(cx));
        let p = r.purged(Some(dt(5)));
        match p.columns.get("s") {
            Some(ColumnData::Complex(cx)) => {
                assert_eq!(cx.cells.keys().cloned().collect::<Vec<_>>(), vec![Value::Int(2)])
            }
            other => panic!("expected the surviving element, got {other:?}"),
        }
        // A complex deletion covers elements at or below it.
        let mut r = Row::default();
        let mut cx = Complex {
            deletion: Some(dt(4)),
            ..Complex::default()
        };
        cx.cells.insert(Value::Int(1), int_cell(4, 1));
        r.columns.insert("s".into(), ColumnData::Complex(cx));
        assert!(!r.purged(None).has_live_data(0, false));
    }
}
