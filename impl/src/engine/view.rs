//! View maintenance: from a base partition update and the base rows read before the write, the
//! view mutations (`docs/cassandra-semantics.md` §2-§4, §9). It works on values only, so the executor and the
//! distributed node (issue 5) both call it directly.
//!
//! The flow per base update (cassandra-semantics §2):
//! 1. [`read_before_write`] picks the stored base rows the update touches: the rows it names,
//!    and every stored row a partition deletion or range tombstone in it covers. It runs once
//!    per update, however many views the table has.
//! 2. [`generate`] pairs each touched clustering's `existing` row (with the deletion covering it
//!    in storage) with the update's row (with the update's own covering deletion) and merges
//!    them into `merged`. Then, per view, it takes `ViewUpdateGenerator`'s decision (cassandra-semantics §3) and
//!    writes `createEntry` / `updateEntry` / `deleteOldEntry` (cassandra-semantics §4) as view partition updates.
//!
//! [`ViewRules`] picks between the current rules (expired liveness at V's old timestamp, strict
//! liveness, cassandra-semantics §4.2/§4.4) and Cassandra 3.0's (shadowable deletion at the row's max timestamp,
//! cassandra-semantics §9), plus the broken switches the model's variants A1/A2/A3/A9 take away.
//!
//! Used without CQL, as a base replica would: read, generate, apply the view mutations
//! (possibly on another node), then apply the base update.
//!
//! ```
//! use mv_impl::engine::{view, Engine, EngineConfig, Partition, PartitionKey, Row, Cell, Value};
//! use mv_impl::engine::data::{ColumnData, Liveness};
//!
//! let mut e = Engine::new(EngineConfig::default());
//! e.execute_script(
//!     "CREATE TABLE t (k int PRIMARY KEY, v int);
//!      CREATE MATERIALIZED VIEW mv AS SELECT * FROM t
//!        WHERE v IS NOT NULL AND k IS NOT NULL PRIMARY KEY (v, k);",
//! );
//! let base = e.table("ks", "t").unwrap();
//! let mv = e.table("ks", "mv").unwrap();
//! // INSERT INTO t (k, v) VALUES (1, 7) USING TIMESTAMP 10, as a partition update.
//! let key = PartitionKey::new(vec![Value::Int(1)]);
//! let mut row = Row { marker: Some(Liveness::Live { ts: 10 }), ..Row::default() };
//! row.columns.insert("v".into(), ColumnData::Simple(Cell::live(10, Value::Int(7))));
//! let mut update = Partition::default();
//! update.rows.insert(base.schema.clustering_key(vec![]), row);
//!
//! let existing = view::read_before_write(base.data.get(&key), &update);
//! let muts = view::generate(
//!     &base.schema, &[&mv.schema], &view::ViewRules::current(), &key, &existing, &update, 0,
//! );
//! assert_eq!(muts.len(), 1);
//! assert_eq!(muts[0].view, "mv");
//! assert_eq!(muts[0].key.values, vec![Value::Int(7)]);
//! ```

use super::data::{
    max_deletion, Cell, ClusteringKey, ColumnData, DeletionTime, KeyPart, Liveness, Partition, PartitionKey, Row, Ts,
};
use super::schema::{ColumnKind, TableSchema};
use super::value::Value;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// How a view entry is killed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DeletionStyle {
    /// Current Cassandra (3.11.1+, CASSANDRA-11500): an expired liveness marker at V's old
    /// timestamp, plus the base row deletion copied as a regular deletion (cassandra-semantics §4.4).
    ExpiredLiveness,
    /// Cassandra 3.0 (CASSANDRA-10261): a shadowable row deletion at the greatest timestamp in
    /// the existing row (cassandra-semantics §9), which a newer marker shadows.
    Shadowable,
    /// The A1 anomaly: 3.0's timestamps with an ordinary row deletion, which nothing shadows,
    /// so an entry switched away never comes back.
    Regular,
}

/// The semantic switches of view maintenance: the storage choices of a variant's design
/// (`node::store::view_rules` converts them).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ViewRules {
    pub deletion: DeletionStyle,
    /// The A2 anomaly: a view row keeps one deletion slot (see `Row::merge`).
    pub single_deletion_slot: bool,
    /// Reads of views with a V column need a live marker (cassandra-semantics §1). Off is the A3 anomaly under the
    /// current rules, and 3.0's behaviour.
    pub strict_liveness: bool,
    /// The A9 anomaly: the generator's merged row lets the update's cell win a tie on equal
    /// timestamps, where storage (`Cell::reconcile`) gives it to the tombstone or the greater
    /// value. Absent from older configurations, where it was always off.
    #[serde(default)]
    pub incoming_wins_ties: bool,
    /// The A17 anomaly (before CASSANDRA-13883): a read's row limit counts every row with live
    /// data as if liveness were not strict, so a view row with a dead marker and a live cell
    /// takes a place in the limit that the read, which drops it, never fills. Absent from
    /// older configurations, where it was always off.
    #[serde(default)]
    pub limit_counts_expired: bool,
}

impl ViewRules {
    /// Cassandra 3.11.1+ / 4.x.
    pub fn current() -> ViewRules {
        ViewRules {
            deletion: DeletionStyle::ExpiredLiveness,
            single_deletion_slot: false,
            strict_liveness: true,
            incoming_wins_ties: false,
            limit_counts_expired: false,
        }
    }

    /// Cassandra 3.0 before CASSANDRA-11500 (seed 003's shadowable tombstones).
    pub fn cassandra_30() -> ViewRules {
        ViewRules {
            deletion: DeletionStyle::Shadowable,
            single_deletion_slot: false,
            strict_liveness: false,
            incoming_wins_ties: false,
            limit_counts_expired: false,
        }
    }
}

impl Default for ViewRules {
    fn default() -> Self {
        ViewRules::current()
    }
}

/// A mutation of one view partition.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ViewMutation {
    /// The view's (table) name.
    pub view: String,
    pub key: PartitionKey,
    pub update: Partition,
}

/// cassandra-semantics §3's decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UpdateAction {
    None,
    NewEntry,
    UpdateExisting,
    DeleteOld,
    SwitchEntry,
}

/// cassandra-semantics §2 `readExistingRowsCommand`: the stored rows of the base partition that `update` touches,
/// with the partition deletion and range tombstones that cover them in storage. `stored` is the
/// base partition before the write (`None` when it does not exist).
pub fn read_before_write(stored: Option<&Partition>, update: &Partition) -> Partition {
    let Some(stored) = stored else {
        return Partition::default();
    };
    let mut rows = BTreeMap::new();
    for c in update.rows.keys() {
        if let Some(r) = stored.rows.get(c) {
            rows.insert(c.clone(), r.clone());
        }
    }
    if update.deletion.is_some() || !update.range_tombstones.is_empty() {
        for (c, r) in &stored.rows {
            let covered = update.deletion.is_some() || update.range_tombstones.iter().any(|rt| rt.slice.contains(c));
            if covered && !rows.contains_key(c) {
                rows.insert(c.clone(), r.clone());
            }
        }
    }
    Partition {
        deletion: stored.deletion,
        range_tombstones: stored.range_tombstones.clone(),
        static_row: Row::default(),
        rows,
    }
}

/// One touched base row: before and after the update, both as reads see them (cassandra-semantics §2: every
/// covering deletion folded into the row deletion, covered data dropped).
struct Pair<'a> {
    clustering: &'a ClusteringKey,
    existing: Row,
    merged: Row,
}

/// The view mutations for `update` to base partition `key`, given `existing` from
/// [`read_before_write`] and the base's `views` (view tables). `now_sec` decides TTL liveness
/// and is the local time of the tombstones written.
pub fn generate(
    base: &TableSchema,
    views: &[&TableSchema],
    rules: &ViewRules,
    key: &PartitionKey,
    existing: &Partition,
    update: &Partition,
    now_sec: i64,
) -> Vec<ViewMutation> {
    if views.is_empty() {
        return Vec::new();
    }
    let mut touched: BTreeSet<&ClusteringKey> = update.rows.keys().collect();
    touched.extend(existing.rows.keys());
    let pairs: Vec<Pair> = touched
        .into_iter()
        .map(|c| {
            let (before, merged) = before_and_after(rules, existing, update, c);
            Pair {
                clustering: c,
                existing: before,
                merged,
            }
        })
        .collect();
    let mut out: BTreeMap<(String, PartitionKey), Partition> = BTreeMap::new();
    for view in views {
        let gen = Generator {
            base,
            view,
            rules,
            key,
            now_sec,
        };
        for pair in &pairs {
            for (vkey, ckey, row) in gen.updates_for(pair) {
                let part = out.entry((view.name.clone(), vkey)).or_default();
                part.rows
                    .entry(ckey)
                    .or_default()
                    .merge(&row, rules.single_deletion_slot);
            }
        }
    }
    out.into_iter()
        .map(|((view, key), update)| ViewMutation { view, key, update })
        .collect()
}

/// The base row at `clustering` before and after `update`, as the generator decides on them:
/// every covering deletion folded into the row deletion and covered data dropped (cassandra-semantics §2).
/// `existing` comes from [`read_before_write`].
pub fn before_and_after(
    rules: &ViewRules,
    existing: &Partition,
    update: &Partition,
    clustering: &ClusteringKey,
) -> (Row, Row) {
    let mut before = existing.rows.get(clustering).cloned().unwrap_or_default();
    before.deletion = max_deletion(before.deletion, existing.covering(clustering));
    before.purge(None);
    // Merging the purged existing row is the same as merging and then purging: the merged
    // deletion is at least the existing one.
    let mut merged = before.clone();
    if let Some(u) = update.rows.get(clustering) {
        merged.merge(u, false);
        if rules.incoming_wins_ties {
            take_tied_cells(&mut merged, u);
        }
    }
    merged.deletion = max_deletion(merged.deletion, update.covering(clustering));
    merged.purge(None);
    (before, merged)
}

/// A9: every cell of `update` whose timestamp equals the one `merged` kept replaces it, as if
/// the later arrival won the tie.
fn take_tied_cells(merged: &mut Row, update: &Row) {
    for (name, theirs) in &update.columns {
        match (merged.columns.get_mut(name), theirs) {
            (Some(ColumnData::Simple(mine)), ColumnData::Simple(t)) if mine.ts == t.ts => *mine = t.clone(),
            (Some(ColumnData::Complex(mine)), ColumnData::Complex(t)) => {
                for (path, cell) in &t.cells {
                    if let Some(m) = mine.cells.get_mut(path).filter(|m| m.ts == cell.ts) {
                        *m = cell.clone();
                    }
                }
            }
            _ => {}
        }
    }
}

/// The view updates that build a view over one stored base partition (cassandra-semantics §5, §11
/// `ViewBuilderTask.buildKey`): every row is fed as an update against an empty `existing`.
pub fn build(
    base: &TableSchema,
    view: &TableSchema,
    rules: &ViewRules,
    key: &PartitionKey,
    stored: &Partition,
    now_sec: i64,
) -> Vec<ViewMutation> {
    let as_update = Partition {
        static_row: Row::default(),
        ..stored.clone()
    };
    generate(base, &[view], rules, key, &Partition::default(), &as_update, now_sec)
}

struct Generator<'a> {
    base: &'a TableSchema,
    view: &'a TableSchema,
    rules: &'a ViewRules,
    key: &'a PartitionKey,
    now_sec: i64,
}

impl Generator<'_> {
    fn v_column(&self) -> Option<&str> {
        self.view.view.as_ref().and_then(|d| d.v_column.as_deref())
    }

    fn include_all(&self) -> bool {
        self.view.view.as_ref().is_some_and(|d| d.include_all)
    }

    /// V's cell in `row` if it is live (present, not a tombstone, not expired; `row` is
    /// purged, so not deleted either).
    fn live_v<'r>(&self, row: &'r Row) -> Option<&'r Cell> {
        let v = self.v_column()?;
        row.cell(v).filter(|c| c.is_live(self.now_sec))
    }

    /// cassandra-semantics §3 `updateAction`.
    fn action(&self, pair: &Pair) -> UpdateAction {
        match self.v_column() {
            None => {
                let before = pair.existing.has_live_data(self.now_sec, false);
                let after = pair.merged.has_live_data(self.now_sec, false);
                match (before, after) {
                    (false, false) => UpdateAction::None,
                    (false, true) => UpdateAction::NewEntry,
                    (true, false) => UpdateAction::DeleteOld,
                    (true, true) => UpdateAction::UpdateExisting,
                }
            }
            Some(v) => {
                let before = self.live_v(&pair.existing);
                let after = self.live_v(&pair.merged);
                if pair.existing.cell(v) == pair.merged.cell(v) {
                    // The update did not touch V.
                    return if after.is_some() {
                        UpdateAction::UpdateExisting
                    } else {
                        UpdateAction::None
                    };
                }
                match (before, after) {
                    (None, None) => UpdateAction::None,
                    (None, Some(_)) => UpdateAction::NewEntry,
                    (Some(_), None) => UpdateAction::DeleteOld,
                    (Some(b), Some(a)) => {
                        if b.value(self.now_sec) == a.value(self.now_sec) {
                            UpdateAction::UpdateExisting
                        } else {
                            UpdateAction::SwitchEntry
                        }
                    }
                }
            }
        }
    }

    /// cassandra-semantics §3 `matchesViewFilter`: the view's restrictions on base primary-key columns.
    fn matches_filter(&self, clustering: &ClusteringKey) -> bool {
        let Some(def) = &self.view.view else {
            return true;
        };
        def.restrictions
            .iter()
            .all(|(col, r)| self.base_key_value(col, clustering).is_some_and(|v| r.matches(&v)))
    }

    fn base_key_value(&self, col: &str, clustering: &ClusteringKey) -> Option<Value> {
        if let Some(i) = self.base.partition_key.iter().position(|c| c == col) {
            return self.key.values.get(i).cloned();
        }
        if let Some(i) = self.base.clustering.iter().position(|c| c == col) {
            return clustering.0.get(i).map(|p| p.value.clone());
        }
        None
    }

    /// The view row's primary key, computed from the base row whose entry is written (cassandra-semantics §4).
    fn view_key(&self, clustering: &ClusteringKey, row: &Row) -> Option<(PartitionKey, ClusteringKey)> {
        let value = |col: &String| -> Option<Value> {
            if self.v_column() == Some(col.as_str()) {
                self.live_v(row)?.value(self.now_sec).cloned()
            } else {
                self.base_key_value(col, clustering)
            }
        };
        let pk: Option<Vec<Value>> = self.view.partition_key.iter().map(value).collect();
        let desc = self.view.clustering_desc();
        let ck: Option<Vec<KeyPart>> = self
            .view
            .clustering
            .iter()
            .zip(desc)
            .map(|(c, desc)| value(c).map(|value| KeyPart { value, desc }))
            .collect();
        Some((PartitionKey::new(pk?), ClusteringKey(ck?)))
    }

    /// The base columns the view stores as regular columns.
    fn selected(&self) -> impl Iterator<Item = &String> {
        self.view
            .columns
            .values()
            .filter(|c| c.kind == ColumnKind::Regular)
            .map(|c| &c.name)
    }

    /// Base regular columns the view does not store (V is stored, as a key column).
    fn unselected(&self) -> Vec<&String> {
        self.base
            .regular_columns()
            .map(|c| &c.name)
            .filter(|n| !self.view.columns.contains_key(*n))
            .collect()
    }

    fn updates_for(&self, pair: &Pair) -> Vec<(PartitionKey, ClusteringKey, Row)> {
        if !self.matches_filter(pair.clustering) {
            return Vec::new();
        }
        let mut out = Vec::new();
        match self.action(pair) {
            UpdateAction::None => {}
            UpdateAction::NewEntry => out.extend(self.create_entry(pair)),
            UpdateAction::UpdateExisting => out.extend(self.update_entry(pair)),
            UpdateAction::DeleteOld => out.extend(self.delete_old_entry(pair)),
            UpdateAction::SwitchEntry => {
                out.extend(self.create_entry(pair));
                out.extend(self.delete_old_entry(pair));
            }
        }
        out
    }

    /// cassandra-semantics §4.1 `createEntry(merged)`.
    fn create_entry(&self, pair: &Pair) -> Option<(PartitionKey, ClusteringKey, Row)> {
        let (pk, ck) = self.view_key(pair.clustering, &pair.merged)?;
        let mut row = Row {
            marker: self.liveness_for_entry(&pair.merged),
            // CASSANDRA-13409: the base row deletion is copied onto the view row. The 3.0 rules
            // copy it as well, as the model's cassandra-3.0 variant does (trace testing compares
            // against it): cassandra-semantics §9 defines 3.0 by its shadowable deletion, 3.0's marker and TTL and
            // non-strict reads, and this engine changes exactly those. A 3.0.x release without
            // the copy would also resurrect cells a base row deletion removed (the 13409 bug).
            deletion: pair.merged.deletion,
            ..Row::default()
        };
        for col in self.selected() {
            if let Some(d) = pair.merged.columns.get(col) {
                row.columns.insert(col.clone(), d.clone());
            }
        }
        Some((pk, ck, row))
    }

    /// cassandra-semantics §4.3 `updateEntry(existing, merged)`: recomputed marker, merged deletion, changed data.
    fn update_entry(&self, pair: &Pair) -> Option<(PartitionKey, ClusteringKey, Row)> {
        let (pk, ck) = self.view_key(pair.clustering, &pair.merged)?;
        let mut row = Row {
            marker: self.liveness_for_entry(&pair.merged),
            deletion: pair.merged.deletion,
            ..Row::default()
        };
        self.add_different_cells(pair, &mut row);
        Some((pk, ck, row))
    }

    /// `addDifferentCells`: the selected column data of `merged` that differs from `existing`.
    fn add_different_cells(&self, pair: &Pair, row: &mut Row) {
        for col in self.selected() {
            if let Some(d) = pair.merged.columns.get(col) {
                if pair.existing.columns.get(col) != Some(d) {
                    row.columns.insert(col.clone(), d.clone());
                }
            }
        }
    }

    /// cassandra-semantics §4.4 `deleteOldEntry(existing, merged)`, and §9's 3.0 form.
    fn delete_old_entry(&self, pair: &Pair) -> Option<(PartitionKey, ClusteringKey, Row)> {
        let (pk, ck) = self.view_key(pair.clustering, &pair.existing)?;
        let r = pair.merged.deletion;
        let r_ts = r.map(|d| d.ts);
        let row = match self.rules.deletion {
            DeletionStyle::ExpiredLiveness => {
                let d = self.entry_deletion_ts(pair);
                let mut row = Row {
                    // An expired marker at D kills the view marker written at or before D and
                    // no later one; D > R only, since otherwise R itself does the job.
                    marker: r_ts.is_none_or(|r| d > r).then_some(Liveness::Expired {
                        ts: d,
                        local_time: self.now_sec,
                    }),
                    deletion: r,
                    ..Row::default()
                };
                self.add_different_cells(pair, &mut row);
                row
            }
            DeletionStyle::Shadowable | DeletionStyle::Regular => {
                // cassandra-semantics §9: the greatest timestamp among the existing base marker and the data the
                // view selects (V included).
                let mut s = pair.existing.marker.map(|m| m.ts());
                let mut cols: Vec<&str> = self.selected().map(String::as_str).collect();
                cols.extend(self.v_column());
                for col in cols {
                    if let Some(d) = pair.existing.columns.get(col) {
                        s = Some(s.map_or(d.max_ts(), |s: Ts| s.max(d.max_ts())));
                    }
                }
                let s = s.map(|ts| DeletionTime {
                    ts,
                    local_time: self.now_sec,
                });
                if self.rules.deletion == DeletionStyle::Shadowable {
                    Row {
                        deletion: r,
                        shadowable: s,
                        ..Row::default()
                    }
                } else {
                    Row {
                        deletion: max_deletion(r, s),
                        ..Row::default()
                    }
                }
            }
        };
        Some((pk, ck, row))
    }

    /// cassandra-semantics §4.4 `computeTimestampForEntryDeletion`.
    fn entry_deletion_ts(&self, pair: &Pair) -> Ts {
        let r = pair.merged.deletion.map(|d| d.ts);
        match self.v_column() {
            Some(v) => {
                let old = pair.existing.cell(v).map(|c| c.ts).unwrap_or(Ts::MIN);
                match r {
                    // The base deletion covers V's old cell: it is the deletion.
                    Some(r) if r >= old => r,
                    _ => old,
                }
            }
            None => {
                let mut d = r.unwrap_or(Ts::MIN);
                if let Some(m) = pair.existing.marker {
                    d = d.max(m.ts());
                }
                if !self.include_all() {
                    for col in self.unselected() {
                        if let Some(data) = pair.existing.columns.get(col) {
                            d = d.max(data.max_ts());
                        }
                    }
                }
                d
            }
        }
    }

    /// cassandra-semantics §4.2 `computeLivenessInfoForEntry`, or §9's 3.0 form.
    fn liveness_for_entry(&self, merged: &Row) -> Option<Liveness> {
        let base_marker = merged.marker;
        if self.rules.deletion != DeletionStyle::ExpiredLiveness {
            return self.liveness_30(merged);
        }
        if let Some(v) = self.live_v(merged) {
            // The view row lives exactly as long as V (CASSANDRA-13657).
            return Some(match v.ttl() {
                Some((ttl, expires)) => Liveness::Expiring { ts: v.ts, ttl, expires },
                None => Liveness::Live { ts: v.ts },
            });
        }
        if self.include_all() {
            return base_marker;
        }
        // Fold the live unselected cells into the marker (CASSANDRA-13127/11500).
        let unselected = self.unselected();
        let live_cells: Vec<&Cell> = unselected
            .iter()
            .filter_map(|c| merged.columns.get(*c))
            .flat_map(|d| match d {
                ColumnData::Simple(c) => vec![c],
                ColumnData::Complex(cx) => cx.cells.values().collect(),
            })
            .filter(|c| c.is_live(self.now_sec))
            .collect();
        let ts = live_cells
            .iter()
            .map(|c| c.ts)
            .chain(base_marker.map(|m| m.ts()))
            .max()?;
        let marker_live = base_marker.is_some_and(|m| m.is_live(self.now_sec));
        if marker_live && base_marker.and_then(|m| m.ttl()).is_none() {
            return Some(Liveness::Live { ts });
        }
        if live_cells.iter().any(|c| c.ttl().is_none()) {
            return Some(Liveness::Live { ts });
        }
        let longest = live_cells
            .iter()
            .filter_map(|c| c.ttl())
            .max_by_key(|(_, expires)| *expires);
        let Some((ttl, expires)) = longest else {
            return base_marker;
        };
        let marker_expires = base_marker.and_then(|m| m.ttl()).map(|(_, e)| e);
        if !marker_live || marker_expires.is_some_and(|e| expires > e) {
            Some(Liveness::Expiring { ts, ttl, expires })
        } else {
            base_marker
        }
    }

    /// cassandra-semantics §9, before CASSANDRA-11500: with V, max(base marker, V) with V's TTL; without V, the
    /// base marker with the largest TTL in the row.
    fn liveness_30(&self, merged: &Row) -> Option<Liveness> {
        let base_marker = merged.marker;
        if let Some(v) = self.live_v(merged) {
            let ts = base_marker.map_or(v.ts, |m| m.ts().max(v.ts));
            return Some(match v.ttl() {
                Some((ttl, expires)) => Liveness::Expiring { ts, ttl, expires },
                None => Liveness::Live { ts },
            });
        }
        let marker = base_marker?;
        let mut best = marker.ttl();
        for d in merged.columns.values() {
            let cells: Vec<&Cell> = match d {
                ColumnData::Simple(c) => vec![c],
                ColumnData::Complex(cx) => cx.cells.values().collect(),
            };
            for c in cells {
                if let Some((ttl, exp)) = c.ttl() {
                    if best.is_none_or(|(b, _)| ttl > b) {
                        best = Some((ttl, exp));
                    }
                }
            }
        }
        Some(match (best, marker.ttl()) {
            (Some((ttl, expires)), mine) if Some((ttl, expires)) != mine => Liveness::Expiring {
                ts: marker.ts(),
                ttl,
                expires,
            },
            _ => marker,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::data::{Bound, RangeTombstone, Slice};
    use crate::engine::schema::{ColumnDef, Restriction, ViewDef};
    use crate::engine::value::DataType;

    fn col(name: &str, kind: ColumnKind) -> (String, ColumnDef) {
        (
            name.to_string(),
            ColumnDef {
                name: name.to_string(),
                ty: DataType::Int,
                kind,
            },
        )
    }

    fn table(name: &str, pk: &[&str], ck: &[&str], regular: &[&str]) -> TableSchema {
        let mut columns = BTreeMap::new();
        for c in pk {
            columns.extend([col(c, ColumnKind::PartitionKey)]);
        }
        for c in ck {
            columns.extend([col(c, ColumnKind::Clustering { desc: false })]);
        }
        for c in regular {
            columns.extend([col(c, ColumnKind::Regular)]);
        }
        TableSchema {
            keyspace: "ks".into(),
            name: name.into(),
            partition_key: pk.iter().map(|s| s.to_string()).collect(),
            clustering: ck.iter().map(|s| s.to_string()).collect(),
            columns,
            view: None,
            default_ttl: 0,
        }
    }

    fn view(
        name: &str,
        base: &str,
        pk: &[&str],
        ck: &[&str],
        regular: &[&str],
        v: Option<&str>,
        include_all: bool,
    ) -> TableSchema {
        let mut t = table(name, pk, ck, regular);
        t.view = Some(ViewDef {
            base: base.into(),
            include_all,
            v_column: v.map(str::to_string),
            restrictions: Vec::new(),
            where_text: String::new(),
        });
        t
    }

    /// A visible view row: partition key, clustering, live simple cells.
    type ViewRowRead = (Vec<Value>, Vec<Value>, BTreeMap<String, Value>);

    /// A base table and its views on one node: every base write goes through the
    /// read-before-write and the generator, then into storage.
    struct Node {
        rules: ViewRules,
        base: TableSchema,
        views: Vec<TableSchema>,
        base_data: BTreeMap<PartitionKey, Partition>,
        view_data: BTreeMap<String, BTreeMap<PartitionKey, Partition>>,
        now_sec: i64,
    }

    impl Node {
        fn new(rules: ViewRules, base: TableSchema, views: Vec<TableSchema>) -> Node {
            Node {
                rules,
                base,
                views,
                base_data: BTreeMap::new(),
                view_data: BTreeMap::new(),
                now_sec: 1000,
            }
        }

        fn write(&mut self, key: &[i32], update: Partition) {
            let key = PartitionKey::new(key.iter().map(|v| Value::Int(*v)).collect());
            let existing = read_before_write(self.base_data.get(&key), &update);
            let views: Vec<&TableSchema> = self.views.iter().collect();
            let muts = generate(&self.base, &views, &self.rules, &key, &existing, &update, self.now_sec);
            for m in muts {
                self.view_data
                    .entry(m.view)
                    .or_default()
                    .entry(m.key)
                    .or_default()
                    .apply(&m.update, self.rules.single_deletion_slot);
            }
            self.base_data.entry(key).or_default().apply(&update, false);
        }

        /// The visible rows of a view: (key values, clustering values, column -> value).
        fn read_view(&self, name: &str) -> Vec<ViewRowRead> {
            let schema = self.views.iter().find(|v| v.name == name).unwrap();
            let strict = schema.strict_liveness(self.rules.strict_liveness);
            let mut out = Vec::new();
            for (pk, part) in self.view_data.get(name).into_iter().flatten() {
                for c in part.rows.keys() {
                    let row = part.read_row(c).unwrap();
                    if !row.has_live_data(self.now_sec, strict) {
                        continue;
                    }
                    let cells = row
                        .columns
                        .iter()
                        .filter_map(|(n, d)| match d {
                            ColumnData::Simple(c) => c.value(self.now_sec).map(|v| (n.clone(), v.clone())),
                            ColumnData::Complex(_) => None,
                        })
                        .collect();
                    out.push((pk.values.clone(), c.values(), cells));
                }
            }
            out
        }
    }

    fn ints(xs: &[i32]) -> Vec<Value> {
        xs.iter().map(|v| Value::Int(*v)).collect()
    }

    fn cells(xs: &[(&str, i32)]) -> BTreeMap<String, Value> {
        xs.iter().map(|(n, v)| (n.to_string(), Value::Int(*v))).collect()
    }

    /// INSERT: a marker and cells, all at `ts`.
    fn insert(ck: ClusteringKey, ts: Ts, set: &[(&str, i32)]) -> Partition {
        let mut row = update_row(ts, set);
        row.marker = Some(Liveness::Live { ts });
        one_row(ck, row)
    }

    /// UPDATE: cells only, no marker.
    fn update(ck: ClusteringKey, ts: Ts, set: &[(&str, i32)]) -> Partition {
        one_row(ck, update_row(ts, set))
    }

    fn update_row(ts: Ts, set: &[(&str, i32)]) -> Row {
        let mut row = Row::default();
        for (n, v) in set {
            row.columns
                .insert(n.to_string(), ColumnData::Simple(Cell::live(ts, Value::Int(*v))));
        }
        row
    }

    fn one_row(ck: ClusteringKey, row: Row) -> Partition {
        let mut p = Partition::default();
        p.rows.insert(ck, row);
        p
    }

    fn no_ck() -> ClusteringKey {
        ClusteringKey::default()
    }

    fn dt(ts: Ts) -> DeletionTime {
        DeletionTime { ts, local_time: 1000 }
    }

    /// Seed 003's tables: base (a, b, c) with PRIMARY KEY (a); view PRIMARY KEY (a, b).
    fn abc(rules: ViewRules) -> Node {
        let base = table("base", &["a"], &[], &["b", "c"]);
        let mv = view("mv", "base", &["a"], &["b"], &["c"], Some("b"), true);
        Node::new(rules, base, vec![mv])
    }

    #[test]
    fn seed_003_timestamps_0_2_3_under_cassandra_30() {
        let mut n = abc(ViewRules::cassandra_30());
        n.write(&[0], insert(no_ck(), 0, &[("b", 0), ("c", 1)]));
        n.write(&[0], update(no_ck(), 2, &[("b", 1)]));
        assert_eq!(n.read_view("mv"), vec![(ints(&[0]), ints(&[1]), cells(&[("c", 1)]))]);
        n.write(&[0], update(no_ck(), 3, &[("b", 0)]));
        // The shadowable deletion at 2 on (0,0) is shadowed by the marker at 3: c = 1@0 is back.
        assert_eq!(n.read_view("mv"), vec![(ints(&[0]), ints(&[0]), cells(&[("c", 1)]))]);
    }

    #[test]
    fn a1_regular_tombstone_loses_the_old_cells() {
        let rules = ViewRules {
            deletion: DeletionStyle::Regular,
            ..ViewRules::cassandra_30()
        };
        let mut n = abc(rules);
        n.write(&[0], insert(no_ck(), 0, &[("b", 0), ("c", 1)]));
        n.write(&[0], update(no_ck(), 2, &[("b", 1)]));
        n.write(&[0], update(no_ck(), 3, &[("b", 0)]));
        // Seed 003's "(0,0,null) which is wrong": the regular deletion at 2 keeps c = 1@0 dead.
        assert_eq!(n.read_view("mv"), vec![(ints(&[0]), ints(&[0]), cells(&[]))]);
    }

    #[test]
    fn switch_x_y_x_comes_back_under_current_rules() {
        let mut n = abc(ViewRules::current());
        n.write(&[0], insert(no_ck(), 1, &[("b", 1), ("c", 1)]));
        n.write(&[0], update(no_ck(), 2, &[("b", 2)]));
        assert_eq!(n.read_view("mv"), vec![(ints(&[0]), ints(&[2]), cells(&[("c", 1)]))]);
        // Entry x got an expired marker at t1 = 1 (V's old timestamp), not at 2.
        let x = &n.view_data["mv"][&PartitionKey::new(ints(&[0]))].rows[&ClusteringKey(vec![KeyPart {
            value: Value::Int(1),
            desc: false,
        }])];
        assert_eq!(
            x.marker,
            Some(Liveness::Expired {
                ts: 1,
                local_time: 1000
            })
        );
        n.write(&[0], update(no_ck(), 3, &[("b", 1)]));
        assert_eq!(n.read_view("mv"), vec![(ints(&[0]), ints(&[1]), cells(&[("c", 1)]))]);
    }

    #[test]
    fn the_same_switches_with_column_timestamps_below_the_marker() {
        // ViewComplexUpdatesTest testUpdateWithColumnTimestampSmallerThanPk: marker at 10,
        // V switched at 2 and back at 3 still ends on the right entry.
        let mut n = abc(ViewRules::current());
        n.write(&[0], insert(no_ck(), 10, &[("c", 1)]));
        n.write(&[0], update(no_ck(), 1, &[("b", 1)]));
        n.write(&[0], update(no_ck(), 2, &[("b", 2)]));
        n.write(&[0], update(no_ck(), 3, &[("b", 1)]));
        assert_eq!(n.read_view("mv"), vec![(ints(&[0]), ints(&[1]), cells(&[("c", 1)]))]);
    }

    #[test]
    fn a3_without_strict_liveness_the_switched_away_entry_stays_visible() {
        let rules = ViewRules {
            strict_liveness: false,
            ..ViewRules::current()
        };
        let mut n = abc(rules);
        n.write(&[0], insert(no_ck(), 1, &[("b", 1), ("c", 1)]));
        n.write(&[0], update(no_ck(), 2, &[("b", 2)]));
        // The old entry's marker is dead but its cell c = 1 is live: visible without strict
        // liveness, so the view shows two rows for one base row.
        assert_eq!(n.read_view("mv").len(), 2);
        let mut strict = abc(ViewRules::current());
        strict.write(&[0], insert(no_ck(), 1, &[("b", 1), ("c", 1)]));
        strict.write(&[0], update(no_ck(), 2, &[("b", 2)]));
        assert_eq!(strict.read_view("mv").len(), 1);
    }

    /// A9: b=2@1, then b=1@1. Storage keeps b=2 (the greater value wins the tie); the view
    /// follows it unless the generator lets the incoming b=1 win, which moves the entry to 1
    /// and kills the entry of 2 with an expired marker at 1.
    #[test]
    fn a9_an_incoming_write_that_wins_a_tie_moves_the_entry_away_from_the_base() {
        for (incoming_wins_ties, want) in [(false, 2), (true, 1)] {
            let mut n = abc(ViewRules {
                incoming_wins_ties,
                ..ViewRules::current()
            });
            n.write(&[0], insert(no_ck(), 1, &[("b", 2), ("c", 2)]));
            n.write(&[0], insert(no_ck(), 1, &[("b", 1), ("c", 1)]));
            let base = &n.base_data[&PartitionKey::new(ints(&[0]))].rows[&no_ck()];
            assert_eq!(base.cell("b").and_then(|c| c.value(1000)), Some(&Value::Int(2)));
            assert_eq!(
                n.read_view("mv"),
                vec![(ints(&[0]), ints(&[want]), cells(&[("c", want)]))],
                "incoming_wins_ties = {incoming_wins_ties}"
            );
        }
    }

    #[test]
    fn ttl_on_v_expires_the_view_row_while_the_base_row_lives() {
        let mut n = abc(ViewRules::current());
        n.write(&[0], insert(no_ck(), 1, &[("c", 1)]));
        let mut row = Row::default();
        row.columns.insert(
            "b".into(),
            ColumnData::Simple(Cell::with_ttl(2, Value::Int(5), 10, n.now_sec)),
        );
        n.write(&[0], one_row(no_ck(), row));
        assert_eq!(n.read_view("mv").len(), 1);
        n.now_sec += 10;
        assert!(n.read_view("mv").is_empty(), "the view row expires with V");
        let base = n.base_data[&PartitionKey::new(ints(&[0]))].read_row(&no_ck()).unwrap();
        assert!(base.has_live_data(n.now_sec, false), "the base row is still there");
    }

    #[test]
    fn v_set_to_null_deletes_the_entry_and_a_reinsert_restores_it() {
        let mut n = abc(ViewRules::current());
        n.write(&[0], insert(no_ck(), 1, &[("b", 1), ("c", 1)]));
        let mut row = Row::default();
        row.columns
            .insert("b".into(), ColumnData::Simple(Cell::tombstone(2, n.now_sec)));
        n.write(&[0], one_row(no_ck(), row));
        assert!(n.read_view("mv").is_empty());
        n.write(&[0], update(no_ck(), 3, &[("b", 1)]));
        assert_eq!(n.read_view("mv"), vec![(ints(&[0]), ints(&[1]), cells(&[("c", 1)]))]);
    }

    #[test]
    fn base_row_deletion_is_copied_to_the_view_row() {
        let mut n = abc(ViewRules::current());
        n.write(&[0], insert(no_ck(), 1, &[("b", 1), ("c", 1)]));
        n.write(
            &[0],
            one_row(
                no_ck(),
                Row {
                    deletion: Some(dt(5)),
                    ..Row::default()
                },
            ),
        );
        assert!(n.read_view("mv").is_empty());
        // A write older than the deletion stays hidden in the base and creates nothing.
        n.write(&[0], insert(no_ck(), 4, &[("b", 1)]));
        assert!(n.read_view("mv").is_empty());
        // A newer V recreates the entry; c = 1@1 stays dead under the copied deletion.
        n.write(&[0], update(no_ck(), 6, &[("b", 1)]));
        assert_eq!(n.read_view("mv"), vec![(ints(&[0]), ints(&[1]), cells(&[]))]);
    }

    fn kc() -> (TableSchema, TableSchema) {
        // base (k, c, x, y) PRIMARY KEY (k, c); view SELECT k, c, x PRIMARY KEY (c, k).
        let base = table("t", &["k"], &["c"], &["x", "y"]);
        let mv = view("t_by_c", "t", &["c"], &["k"], &["x"], None, false);
        (base, mv)
    }

    fn ckey(v: i32) -> ClusteringKey {
        ClusteringKey(vec![KeyPart {
            value: Value::Int(v),
            desc: false,
        }])
    }

    #[test]
    fn an_unselected_column_keeps_the_view_row_alive() {
        let (base, mv) = kc();
        let mut n = Node::new(ViewRules::current(), base, vec![mv]);
        n.write(&[1], update(ckey(2), 5, &[("y", 1)]));
        // The view row exists with only its key columns (ViewTest testIgnoreUpdate).
        assert_eq!(n.read_view("t_by_c"), vec![(ints(&[2]), ints(&[1]), cells(&[]))]);
        let mut row = Row::default();
        row.columns
            .insert("y".into(), ColumnData::Simple(Cell::tombstone(6, n.now_sec)));
        n.write(&[1], one_row(ckey(2), row));
        assert!(n.read_view("t_by_c").is_empty());
    }

    #[test]
    fn a_live_unselected_cell_outlives_the_base_marker_ttl() {
        let (base, mv) = kc();
        let mut n = Node::new(ViewRules::current(), base, vec![mv]);
        let mut row = update_row(5, &[("x", 1)]);
        row.marker = Some(Liveness::Expiring {
            ts: 5,
            ttl: 10,
            expires: n.now_sec + 10,
        });
        row.columns.insert(
            "x".into(),
            ColumnData::Simple(Cell::with_ttl(5, Value::Int(1), 10, n.now_sec)),
        );
        n.write(&[1], one_row(ckey(2), row));
        n.write(&[1], update(ckey(2), 6, &[("y", 7)]));
        n.now_sec += 20;
        // The marker and x expired; y (unselected, no TTL) keeps the view row alive.
        assert_eq!(n.read_view("t_by_c"), vec![(ints(&[2]), ints(&[1]), cells(&[]))]);
    }

    #[test]
    fn partition_and_range_deletions_reach_the_covered_view_rows() {
        let (base, mv) = kc();
        let mut n = Node::new(ViewRules::current(), base, vec![mv]);
        for c in 1..=4 {
            n.write(&[1], insert(ckey(c), 1, &[("x", c)]));
        }
        // DELETE ... WHERE k = 1 AND c > 2.
        let rt = RangeTombstone {
            slice: Slice {
                start: Bound {
                    prefix: ckey(2).0,
                    inclusive: false,
                },
                end: Bound::unbounded(),
            },
            deletion: dt(2),
        };
        n.write(
            &[1],
            Partition {
                range_tombstones: vec![rt],
                ..Partition::default()
            },
        );
        let keys: Vec<Vec<Value>> = n.read_view("t_by_c").into_iter().map(|r| r.0).collect();
        assert_eq!(keys, vec![ints(&[1]), ints(&[2])]);
        n.write(
            &[1],
            Partition {
                deletion: Some(dt(3)),
                ..Partition::default()
            },
        );
        assert!(n.read_view("t_by_c").is_empty());
        // A write into the deleted range with an older timestamp stays hidden.
        n.write(&[1], insert(ckey(3), 2, &[("x", 3)]));
        assert!(n.read_view("t_by_c").is_empty());
    }

    #[test]
    fn several_views_and_a_primary_key_filter() {
        let (base, by_c) = kc();
        let mut only_k1 = view("k1", "t", &["k"], &["c"], &["x", "y"], None, true);
        if let Some(def) = only_k1.view.as_mut() {
            def.restrictions.push(("k".into(), Restriction::Eq(Value::Int(1))));
        }
        let mut n = Node::new(ViewRules::current(), base, vec![by_c, only_k1]);
        n.write(&[1], insert(ckey(1), 1, &[("x", 1)]));
        n.write(&[2], insert(ckey(1), 1, &[("x", 2)]));
        assert_eq!(n.read_view("t_by_c").len(), 2);
        assert_eq!(n.read_view("k1"), vec![(ints(&[1]), ints(&[1]), cells(&[("x", 1)]))]);
    }

    #[test]
    fn a_build_feeds_stored_rows_as_new_entries() {
        let base = table("base", &["a"], &[], &["b", "c"]);
        let mv = view("mv", "base", &["a"], &["b"], &["c"], Some("b"), true);
        let mut stored = insert(no_ck(), 1, &[("b", 7), ("c", 1)]);
        stored.rows.get_mut(&no_ck()).unwrap().deletion = Some(dt(0));
        let key = PartitionKey::new(ints(&[0]));
        let muts = build(&base, &mv, &ViewRules::current(), &key, &stored, 1000);
        assert_eq!(muts.len(), 1);
        let row = muts[0].update.rows.values().next().unwrap();
        assert_eq!(row.marker, Some(Liveness::Live { ts: 1 }));
        assert_eq!(row.deletion, Some(dt(0)), "the base deletion is copied");
        assert_eq!(muts[0].update.rows.keys().next().unwrap().values(), ints(&[7]));
    }

    #[test]
    fn a2_single_deletion_slot_resurrects_deleted_cells() {
        let run = |single| {
            let rules = ViewRules {
                single_deletion_slot: single,
                ..ViewRules::cassandra_30()
            };
            let mut n = abc(rules);
            n.write(&[0], insert(no_ck(), 1, &[("b", 1), ("c", 1)]));
            n.write(
                &[0],
                one_row(
                    no_ck(),
                    Row {
                        deletion: Some(dt(5)),
                        ..Row::default()
                    },
                ),
            );
            n.write(&[0], insert(no_ck(), 6, &[("b", 1)]));
            n.write(&[0], update(no_ck(), 7, &[("b", 2)]));
            n.write(&[0], update(no_ck(), 8, &[("b", 1)]));
            n.read_view("mv")
        };
        // Two slots: c = 1@1 stays dead under the copied deletion at 5.
        assert_eq!(run(false), vec![(ints(&[0]), ints(&[1]), cells(&[]))]);
        // One slot: the shadowable deletion at 7 pushed out the deletion at 5, then the marker
        // at 8 shadowed it, and c = 1@1 is back although the base deleted it.
        assert_eq!(run(true), vec![(ints(&[0]), ints(&[1]), cells(&[("c", 1)]))]);
    }
}
