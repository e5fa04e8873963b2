//! The node's adapter to single-node storage: the base table `t`, the view table `mv`, and
//! the view-maintenance rules a BaseReplica and a ViewReplica apply (B3, B4, V1, B8).
//!
//! The protocol core in [`super`] talks only to [`Store`], so that the storage engine behind
//! it can change without touching the step logic. The rows are `mv-spec`'s [`BaseRow`] and
//! [`ViewRow`] because those are what travels on the wire ([`ViewMutation`]) and what the
//! observations compare.
//!
//! View-update generation follows `ViewUpdateGenerator.updateAction` as `specs/protocol.md`
//! ("Storage rules") states it: compare the live view key `v` before and after merging the
//! statement, then write a new entry, delete the old one, or both.

use mv_spec::{BaseRow, Cell, Key, Liveness, ReadRules, Statement, Ts, ViewKey, ViewMutation, ViewRow};
use std::collections::BTreeMap;

/// How a BaseReplica deletes the view row that a base row leaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DeletionStyle {
    /// Cassandra 3.11.1 and later (CASSANDRA-11500): an expired liveness marker.
    ExpiredLiveness,
    /// Cassandra 3.0 to 3.11.0 (CASSANDRA-10261): a shadowable row deletion.
    Shadowable,
    /// Before CASSANDRA-10261: an ordinary row deletion (anomaly A1).
    Regular,
}

/// The view-maintenance switches of one variant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ViewRules {
    /// How the old view row is deleted.
    pub deletion: DeletionStyle,
    /// One deletion slot per view row instead of a regular and a shadowable one (A2).
    pub single_deletion_slot: bool,
    /// View rows are visible only while their marker is live (CASSANDRA-11500).
    pub strict_liveness: bool,
}

impl ViewRules {
    /// Cassandra 3.11.1+ and 4.x.
    pub fn current() -> Self {
        ViewRules {
            deletion: DeletionStyle::ExpiredLiveness,
            single_deletion_slot: false,
            strict_liveness: true,
        }
    }

    /// Cassandra 3.0 to 3.11.0: shadowable tombstones, no strict liveness.
    pub fn cassandra_30() -> Self {
        ViewRules {
            deletion: DeletionStyle::Shadowable,
            single_deletion_slot: false,
            strict_liveness: false,
        }
    }

    /// How the view is read under these rules.
    pub fn read_rules(&self) -> ReadRules {
        ReadRules {
            strict_liveness: self.strict_liveness,
        }
    }
}

/// One node's two tables.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Store {
    base: BTreeMap<Key, BaseRow>,
    view: BTreeMap<ViewKey, ViewRow>,
}

/// A cell survives a row deletion at `d` only if it is strictly newer.
fn survives(ts: Ts, deletion: Option<Ts>) -> bool {
    deletion.is_none_or(|d| ts > d)
}

/// The `v` cell a read-before-write sees: a value the row deletion does not cover.
fn live_key_cell(row: &BaseRow) -> Option<(Val8, Ts)> {
    match row.v {
        Some(Cell { ts, value: Some(x) }) if survives(ts, row.deletion) => Some((x, ts)),
        _ => None,
    }
}

type Val8 = mv_spec::Val;

/// The `w` cell as the merged row carries it: dropped when the row deletion covers it,
/// whether it is a value or a tombstone.
fn uncovered_w(row: &BaseRow) -> Option<Cell> {
    row.w.filter(|c| survives(c.ts, row.deletion))
}

/// The base row marker if the row deletion does not cover it.
fn live_marker(row: &BaseRow) -> Option<Ts> {
    row.marker.filter(|&m| survives(m, row.deletion))
}

impl Store {
    /// An empty store.
    pub fn new() -> Self {
        Store::default()
    }

    /// B3: the stored base row `k`, empty when there is none.
    pub fn read_base(&self, k: Key) -> BaseRow {
        self.base.get(&k).copied().unwrap_or_default()
    }

    /// B8, R2: merge a statement into the base table.
    pub fn apply_base(&mut self, stmt: &Statement) {
        let merged = self.read_base(stmt.k).merge(&stmt.as_row());
        self.base.insert(stmt.k, merged);
    }

    /// B3 + B4: read the base row before the write and compute the view mutations `stmt`
    /// implies. The base table is not changed.
    pub fn view_updates(&self, rules: &ViewRules, stmt: &Statement) -> Vec<ViewMutation> {
        let before = self.read_base(stmt.k);
        let after = before.merge(&stmt.as_row());
        let k = stmt.k;
        let old = live_key_cell(&before);
        let new = live_key_cell(&after);
        let mut out = Vec::with_capacity(2);
        // NEW_ENTRY / UPDATE_EXISTING / the first half of SWITCH_ENTRY.
        if let Some((x, ts)) = new {
            out.push(ViewMutation {
                key: ViewKey { v: x, k },
                row: new_entry(rules, &after, ts),
            });
        }
        // DELETE_OLD / the second half of SWITCH_ENTRY: only when the key value changes.
        if let Some((x, ts)) = old {
            if new.map(|(y, _)| y) != Some(x) {
                out.push(ViewMutation {
                    key: ViewKey { v: x, k },
                    row: old_entry_deletion(rules, &before, &after, ts),
                });
            }
        }
        out
    }

    /// V1: merge a view mutation into the view table, slot by slot.
    pub fn apply_view(&mut self, rules: &ViewRules, m: &ViewMutation) {
        let stored = self.view.get(&m.key).copied().unwrap_or_default();
        let mut row = stored.merge(&m.row);
        if rules.single_deletion_slot {
            // A2: the row keeps one deletion; the older one is forgotten, the regular one
            // wins a tie.
            if let (Some(d), Some(s)) = (row.deletion, row.shadowable) {
                if s > d {
                    row.deletion = None;
                } else {
                    row.shadowable = None;
                }
            }
        }
        self.view.insert(m.key, row);
    }

    /// The base table as stored.
    pub fn base_rows(&self) -> &BTreeMap<Key, BaseRow> {
        &self.base
    }

    /// The view table as stored.
    pub fn view_rows(&self) -> &BTreeMap<ViewKey, ViewRow> {
        &self.view
    }
}

/// The view row a live view key `v` (at `v_ts`) maps to: a live marker, the base row deletion
/// copied as a regular deletion (CASSANDRA-13409), and `w` unless the deletion covers it.
fn new_entry(rules: &ViewRules, after: &BaseRow, v_ts: Ts) -> ViewRow {
    let marker_ts = match rules.deletion {
        DeletionStyle::ExpiredLiveness => v_ts,
        // CASSANDRA-10910: the newest of the base marker and the view key's cell.
        DeletionStyle::Shadowable | DeletionStyle::Regular => live_marker(after).map_or(v_ts, |m| m.max(v_ts)),
    };
    ViewRow {
        marker: Some(Liveness {
            ts: marker_ts,
            expired: false,
        }),
        deletion: after.deletion,
        shadowable: None,
        w: uncovered_w(after),
    }
}

/// The mutation that kills the view row under the old key (at `old_ts`).
fn old_entry_deletion(rules: &ViewRules, before: &BaseRow, after: &BaseRow, old_ts: Ts) -> ViewRow {
    let row_deletion = after.deletion;
    match rules.deletion {
        DeletionStyle::ExpiredLiveness => {
            // When the row deletion already covers the old entry (its time is at or after
            // the old key's), an expired marker would add nothing.
            let covered_by_row_deletion = row_deletion.is_some_and(|r| r >= old_ts);
            let marker = (!covered_by_row_deletion).then_some(Liveness {
                ts: old_ts,
                expired: true,
            });
            let w_changed = after.w != before.w;
            ViewRow {
                marker,
                deletion: row_deletion,
                shadowable: None,
                w: if w_changed { uncovered_w(after) } else { None },
            }
        }
        DeletionStyle::Shadowable | DeletionStyle::Regular => {
            // The newest timestamp the old entry was built from.
            let newest = [live_marker(before), Some(old_ts), uncovered_w(before).map(|c| c.ts)]
                .into_iter()
                .flatten()
                .max()
                .unwrap_or(old_ts);
            if rules.deletion == DeletionStyle::Shadowable {
                ViewRow {
                    marker: None,
                    deletion: row_deletion,
                    shadowable: Some(newest),
                    w: None,
                }
            } else {
                ViewRow {
                    marker: None,
                    deletion: Some(row_deletion.map_or(newest, |r| r.max(newest))),
                    shadowable: None,
                    w: None,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mv_spec::Assign;

    fn run(rules: ViewRules, stmts: &[Statement]) -> Store {
        let mut s = Store::new();
        for st in stmts {
            for m in s.view_updates(&rules, st) {
                s.apply_view(&rules, &m);
            }
            s.apply_base(st);
        }
        s
    }

    fn visible(rules: ViewRules, s: &Store) -> Vec<(u8, u8, Option<u8>)> {
        s.view_rows()
            .iter()
            .filter_map(|(k, r)| r.resolve(rules.read_rules()).map(|w| (k.v, k.k, w)))
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
        );
        assert_eq!(ms.len(), 2);
        assert_eq!(ms[0].key, ViewKey { v: 2, k: 0 });
        assert_eq!(ms[1].key, ViewKey { v: 1, k: 0 });
        assert_eq!(ms[1].row.marker, Some(Liveness { ts: 1, expired: true }));
        assert_eq!(ms[0].row.w, Some(Cell { ts: 1, value: Some(5) }));
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

    #[test]
    fn deleting_the_base_row_deletes_the_view_row() {
        let stmts = [Statement::insert(0, Some(1), Some(1), 1), Statement::delete(0, 2)];
        for rules in [ViewRules::current(), ViewRules::cassandra_30(), regular()] {
            assert_eq!(visible(rules, &run(rules, &stmts)), vec![], "{rules:?}");
        }
    }
}
