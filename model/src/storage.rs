//! The model's storage engine: base apply, view apply, and view-update generation.
//!
//! This is the model's own reading of `ViewUpdateGenerator` (`docs/cassandra-semantics.md` §3-§4, §9);
//! the implementation writes its own. Rule ids are those of `specs/protocol.md`.

use crate::variant::{DeletionStyle, Rules};
use mv_spec::{BaseRow, Cell, Key, Liveness, ReadRules, Statement, Ts, Val, ViewKey, ViewMutation, ViewRow};
use std::collections::BTreeMap;

/// A base row's `v` cell as a read-before-write sees it: present, not a tombstone, and not
/// covered by the row deletion.
fn live_v(row: &BaseRow) -> Option<Cell> {
    row.v.filter(|c| c.is_live(row.deletion))
}

/// The `w` cell a view entry copies: the base cell unless the row deletion covers it
/// (Cassandra's merged row has purged it).
fn visible_w(row: &BaseRow) -> Option<Cell> {
    row.w.filter(|c| row.deletion.is_none_or(|d| c.ts > d))
}

fn max_ts(xs: impl IntoIterator<Item = Option<Ts>>) -> Option<Ts> {
    xs.into_iter().flatten().max()
}

/// B4: the view mutations a base replica generates for `stmt`, given the base row it read
/// before applying it (`existing`, default when absent), with its clock past the TTL
/// deadline (`expired`) or not.
///
/// The decision follows `ViewUpdateGenerator.updateAction` for a view whose key holds a base
/// regular column: compare the live `v` before and after the merge. Liveness is judged at the
/// current time (a TTL'd `v` past the deadline is not live); what an entry copies is the cells
/// as stored, TTL included (cassandra-semantics §4.1), so the view row expires with them.
pub fn view_updates(rules: &Rules, existing: &BaseRow, stmt: &Statement, expired: bool) -> Vec<ViewMutation> {
    let merged = decided_row(rules, existing, stmt);
    let before = live_v(&existing.at(expired));
    let after = live_v(&merged.at(expired));
    let k = stmt.k;
    match (before, after) {
        (None, None) => vec![],
        (None, Some(new)) => vec![entry(rules, &merged, new, k)],
        (Some(old), None) => vec![delete_old(rules, existing, &merged, old, k)],
        (Some(old), Some(new)) if old.value == new.value => vec![entry(rules, &merged, new, k)],
        // SWITCH_ENTRY: create the new entry, then delete the old one.
        (Some(old), Some(new)) => vec![
            entry(rules, &merged, new, k),
            delete_old(rules, existing, &merged, old, k),
        ],
    }
}

/// The base row B4 decides on: what storage will hold once `stmt` is applied. Storage breaks
/// a tie between equal timestamps by `Cell::reconcile`; without `ties_as_storage` (A9) the
/// statement's cell wins the tie instead, so the decision follows arrival order and can
/// disagree with the base table the replica ends up with.
fn decided_row(rules: &Rules, existing: &BaseRow, stmt: &Statement) -> BaseRow {
    let incoming = stmt.as_row();
    let merged = existing.merge(&incoming);
    if rules.ties_as_storage {
        return merged;
    }
    let arrival = |mine: Option<Cell>, theirs: Option<Cell>, stored: Option<Cell>| match (mine, theirs) {
        (Some(m), Some(t)) if m.ts == t.ts => Some(t),
        _ => stored,
    };
    BaseRow {
        v: arrival(existing.v, incoming.v, merged.v),
        w: arrival(existing.w, incoming.w, merged.w),
        ..merged
    }
}

/// The view row the view builder makes from base row `b` alone (R9): `b`'s entry against an
/// empty view, keyed by its live `v`; `None` when `v` is not live.
pub fn built_entry(rules: &Rules, b: &BaseRow, k: u8) -> Option<ViewMutation> {
    live_v(b).map(|v| entry(rules, b, v, k))
}

/// NEW_ENTRY and UPDATE_EXISTING (`createEntry`, `updateEntry`): the view row keyed by the
/// merged row's `v`, with a live marker that carries `v`'s TTL (cassandra-semantics §4.2 in
/// 4.0, §9 in 3.0: the view row lives exactly as long as its key), the base row deletion
/// copied as a regular deletion (CASSANDRA-13409), and `w` copied as is.
fn entry(rules: &Rules, merged: &BaseRow, v: Cell, k: u8) -> ViewMutation {
    let marker_ts = match rules.deletion {
        // 4.0: the marker is the view-key cell's timestamp; the base marker plays no part.
        DeletionStyle::ExpiredLiveness => v.ts,
        // 3.0 (CASSANDRA-10910): the greatest timestamp among the key's components.
        DeletionStyle::Shadowable | DeletionStyle::Regular => {
            let base_marker = merged.marker.filter(|m| merged.deletion.is_none_or(|d| *m > d));
            max_ts([base_marker, Some(v.ts)]).expect("v is live")
        }
    };
    ViewMutation {
        key: ViewKey {
            v: v.value.expect("live v has a value"),
            k,
        },
        row: ViewRow {
            marker: Some(Liveness {
                ttl: v.ttl,
                ..Liveness::live(marker_ts)
            }),
            deletion: merged.deletion,
            shadowable: None,
            w: visible_w(merged),
        },
    }
}

/// DELETE_OLD (`deleteOldEntry`): kill the view row keyed by the existing `v`.
fn delete_old(rules: &Rules, existing: &BaseRow, merged: &BaseRow, old: Cell, k: u8) -> ViewMutation {
    let key = ViewKey {
        v: old.value.expect("live v has a value"),
        k,
    };
    let r = merged.deletion;
    let row = match rules.deletion {
        DeletionStyle::ExpiredLiveness => {
            // D is the base deletion if it covers the old v, else the old v's own timestamp.
            let d = match r {
                Some(r) if r >= old.ts => r,
                _ => old.ts,
            };
            let expired = r.is_none_or(|r| d > r);
            ViewRow {
                marker: expired.then_some(Liveness::dead(d)),
                deletion: r,
                shadowable: None,
                // The differing cells go to the old entry too.
                w: (merged.w != existing.w).then(|| visible_w(merged)).flatten(),
            }
        }
        DeletionStyle::Shadowable | DeletionStyle::Regular => {
            // 3.0: at the greatest timestamp in the existing row (marker and selected data).
            let live_marker = existing.marker.filter(|m| existing.deletion.is_none_or(|d| *m > d));
            let s = max_ts([live_marker, Some(old.ts), visible_w(existing).map(|c| c.ts)]).expect("v is live");
            if rules.deletion == DeletionStyle::Shadowable {
                ViewRow {
                    marker: None,
                    deletion: r,
                    shadowable: Some(s),
                    w: None,
                }
            } else {
                ViewRow {
                    marker: None,
                    deletion: max_ts([r, Some(s)]),
                    shadowable: None,
                    w: None,
                }
            }
        }
    };
    ViewMutation { key, row }
}

/// V1: merge a view mutation into a stored view row.
pub fn apply_view(rules: &Rules, stored: &ViewRow, m: &ViewRow) -> ViewRow {
    let mut row = stored.merge(m);
    if rules.single_slot {
        // One slot (the A2 anomaly): whichever deletion has the higher timestamp takes the
        // slot, and the other is forgotten.
        if let (Some(d), Some(s)) = (row.deletion, row.shadowable) {
            if s > d {
                row.deletion = None;
            } else {
                row.shadowable = None;
            }
        }
    }
    row
}

/// A `SELECT k FROM mv WHERE v = x LIMIT n` served by one node from its own view table:
/// the partition's rows in clustering order (`k`), each counted against the limit if it has
/// live data, and returned if it is live under the variant's read rule. With
/// `limit_counts_strictly` the two agree; without it (A17) a row with an expired marker and a
/// live cell counts, since it has live data once strict liveness is set aside, but is not
/// returned, so it uses up a place in the limit.
pub fn limit_read(rules: &Rules, view: &BTreeMap<ViewKey, ViewRow>, v: Val, limit: usize) -> Vec<Key> {
    let returned = ReadRules {
        strict_liveness: rules.strict_liveness,
    };
    let counted = ReadRules {
        strict_liveness: rules.strict_liveness && rules.limit_counts_strictly,
    };
    let mut out = Vec::new();
    let mut used = 0;
    for (vk, row) in view.range(ViewKey { v, k: Key::MIN }..=ViewKey { v, k: Key::MAX }) {
        if used == limit {
            break;
        }
        if row.resolve_cell(counted).is_some() {
            used += 1;
        }
        if row.resolve_cell(returned).is_some() {
            out.push(vk.k);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::variant::Variant;
    use mv_spec::Assign;

    fn run(variant: Variant, stmts: &[Statement]) -> (BaseRow, std::collections::BTreeMap<ViewKey, ViewRow>) {
        let rules = variant.design();
        let mut base = BaseRow::default();
        let mut view = std::collections::BTreeMap::new();
        for s in stmts {
            for m in view_updates(&rules, &base, s, false) {
                let stored = view.get(&m.key).copied().unwrap_or_default();
                view.insert(m.key, apply_view(&rules, &stored, &m.row));
            }
            base = base.merge(&s.as_row());
        }
        (base, view)
    }

    fn visible(variant: Variant, view: &std::collections::BTreeMap<ViewKey, ViewRow>) -> Vec<(u8, Option<u8>)> {
        let rules = ReadRules {
            strict_liveness: variant.design().strict_liveness,
        };
        view.iter()
            .filter_map(|(k, r)| r.resolve(rules).map(|w| (k.v, w)))
            .collect()
    }

    /// A17's partition: `k=0` and `k=1` inserted under `v=1 w=1 @1`, then `k=0` moved to 2.
    fn limit_partition(variant: Variant) -> BTreeMap<ViewKey, ViewRow> {
        let (_, mut view) = run(
            variant,
            &[
                Statement::insert(0, Some(1), Some(1), 1),
                Statement::update(0, Assign::Set(2), Assign::Keep, 2),
            ],
        );
        let (_, other) = run(variant, &[Statement::insert(1, Some(1), Some(1), 1)]);
        view.extend(other);
        view
    }

    /// A17: 4.0 leaves `(1,0)` with an expired marker and `w=1`; LIMIT 1 skips it and
    /// returns `(1,1)`, unless the limit counts it, and then returns nothing. 3.0's
    /// shadowable deletion leaves no live cell, and a read without strict liveness returns
    /// `(1,0)` itself. Partition 2 and a larger limit are unaffected.
    #[test]
    fn limit_one_skips_the_moved_row_unless_it_counts() {
        for (variant, want) in [
            (Variant::Cassandra40, vec![1]),
            (Variant::Cassandra30, vec![1]),
            (Variant::NonStrictLiveness, vec![0]),
            (Variant::LimitCountsExpired, vec![]),
        ] {
            let rules = variant.design();
            let view = limit_partition(variant);
            assert_eq!(limit_read(&rules, &view, 1, 1), want, "{}", variant.name());
            assert_eq!(limit_read(&rules, &view, 2, 1), vec![0], "{}", variant.name());
            assert_eq!(limit_read(&rules, &view, 3, 1), Vec::<Key>::new(), "{}", variant.name());
        }
        let broken = Variant::LimitCountsExpired.design();
        assert_eq!(
            limit_read(&broken, &limit_partition(Variant::LimitCountsExpired), 1, 2),
            vec![1]
        );
        let dead = limit_partition(Variant::Cassandra40)[&ViewKey { v: 1, k: 0 }];
        assert_eq!(dead.marker, Some(Liveness::dead(1)));
        assert_eq!(dead.w, Some(Cell::new(1, Some(1))));
    }

    /// A1: with an ordinary tombstone, w disappears from the view when v goes back to 1.
    #[test]
    fn switch_back_hides_cells_only_with_regular_tombstones() {
        let stmts = crate::workload::Workload::SwitchBack.scripts(1)[0]
            .writes
            .iter()
            .map(|w| w.1)
            .collect::<Vec<_>>();
        for (variant, want) in [
            (Variant::Cassandra30, vec![(1, Some(1))]),
            (Variant::Cassandra40, vec![(1, Some(1))]),
            (Variant::RegularTombstone, vec![(1, None)]),
        ] {
            let (_, view) = run(variant, &stmts);
            assert_eq!(visible(variant, &view), want, "{}", variant.name());
        }
    }

    /// A2: one deletion slot resurrects w, which the base row deletion at 2 removed.
    #[test]
    fn delete_reinsert_resurrects_only_with_one_slot() {
        let stmts = crate::workload::Workload::DeleteReinsert.scripts(1)[0]
            .writes
            .iter()
            .map(|w| w.1)
            .collect::<Vec<_>>();
        let (base, _) = run(Variant::Cassandra30, &stmts);
        assert_eq!(base.resolve().unwrap().w, None);
        for (variant, want) in [
            (Variant::Cassandra30, vec![(1, None)]),
            (Variant::Cassandra40, vec![(1, None)]),
            (Variant::SingleDeletionSlot, vec![(1, Some(1))]),
        ] {
            let (_, view) = run(variant, &stmts);
            assert_eq!(visible(variant, &view), want, "{}", variant.name());
        }
    }

    /// A3: without strict liveness, w@3 keeps the switched-away row (v=1) alive.
    #[test]
    fn late_cell_keeps_old_row_only_without_strict_liveness() {
        let stmts = crate::workload::Workload::LateCell.scripts(1)[0]
            .writes
            .iter()
            .map(|w| w.1)
            .collect::<Vec<_>>();
        for (variant, want) in [
            (Variant::Cassandra30, vec![(2, Some(2))]),
            (Variant::Cassandra40, vec![(2, Some(2))]),
            (Variant::NonStrictLiveness, vec![(1, Some(2)), (2, Some(2))]),
        ] {
            let (_, view) = run(variant, &stmts);
            assert_eq!(visible(variant, &view), want, "{}", variant.name());
        }
    }

    /// A9: storage keeps `v=2` whichever of two writes at timestamp 1 comes first. With
    /// storage's tie-break the view shows `(2,k)` in both orders; when the incoming write wins
    /// the tie, `v=2` then `v=1` moves the view row to 1 and kills `(2,k)`.
    #[test]
    fn a_tie_moves_the_view_row_only_when_the_incoming_write_wins() {
        let scripts = crate::workload::Workload::Tie.scripts(2);
        let one = scripts[0].writes[0].1;
        let two = scripts[1].writes[0].1;
        for (variant, first, second, want) in [
            (Variant::Cassandra40, one, two, vec![(2, None)]),
            (Variant::Cassandra40, two, one, vec![(2, None)]),
            (Variant::Cassandra30, two, one, vec![(2, None)]),
            (Variant::IncomingWinsTies, one, two, vec![(2, None)]),
            (Variant::IncomingWinsTies, two, one, vec![(1, None)]),
        ] {
            let (base, view) = run(variant, &[first, second]);
            assert_eq!(base.resolve().unwrap().v, Some(2), "{}", variant.name());
            assert_eq!(
                visible(variant, &view),
                want,
                "{} {first} then {second}",
                variant.name()
            );
        }
    }

    /// CASSANDRA-11500: 3.0's shadowable deletion at max(row timestamps) keeps the entry dead
    /// when v comes back with a timestamp not above that max. 4.0 brings it back.
    #[test]
    fn late_cell_switch_back_loses_the_row_in_3_0_only() {
        let stmts = crate::workload::Workload::LateCellSwitchBack.scripts(1)[0]
            .writes
            .iter()
            .map(|w| w.1)
            .collect::<Vec<_>>();
        let (_, view) = run(Variant::Cassandra30, &stmts);
        assert_eq!(visible(Variant::Cassandra30, &view), vec![]);
        let (_, view) = run(Variant::Cassandra40, &stmts);
        assert_eq!(visible(Variant::Cassandra40, &view), vec![(1, Some(2))]);
    }

    /// A4: `v=1 @1 USING TTL`, then `w=1 @2`. The view row's marker carries `v`'s TTL, so
    /// after the deadline 4.0's strict liveness hides the row; 3.0 and a non-strict read keep
    /// it through `w`, while the base reads `v` null. Once the deadline has passed, `v` is dead
    /// to the read-before-write: `w` then generates nothing.
    #[test]
    fn an_expired_view_key_hides_its_row_only_under_strict_liveness() {
        let stmts: Vec<Statement> = crate::workload::Workload::TtlKey.scripts(2)[0]
            .writes
            .iter()
            .map(|w| w.1)
            .collect();
        for (variant, after) in [
            (Variant::Cassandra40, vec![]),
            (Variant::Cassandra30, vec![(1, Some(1))]),
            (Variant::NonStrictLiveness, vec![(1, Some(1))]),
        ] {
            let (base, view) = run(variant, &stmts);
            assert_eq!(visible(variant, &view), vec![(1, Some(1))], "{}", variant.name());
            let marker = view[&ViewKey { v: 1, k: 0 }].marker.expect("a marker");
            assert!(marker.ttl && !marker.expired, "{}: {marker:?}", variant.name());
            let expired: BTreeMap<ViewKey, ViewRow> = view.iter().map(|(k, r)| (*k, r.at(true))).collect();
            assert_eq!(visible(variant, &expired), after, "{}", variant.name());
            assert_eq!(
                base.at(true).resolve(),
                Some(mv_spec::ResolvedBase { v: None, w: Some(1) }),
                "{}",
                variant.name()
            );
            let rules = variant.design();
            let first = BaseRow::default().merge(&stmts[0].as_row());
            assert_eq!(
                view_updates(&rules, &first, &stmts[1], true),
                vec![],
                "{}",
                variant.name()
            );
            assert_eq!(view_updates(&rules, &BaseRow::default(), &stmts[0], true), vec![]);
        }
    }

    /// Seed 003's 0/2/3 example: shadowable tombstones bring c back after v returns.
    #[test]
    fn seed_003_timestamps_example() {
        let stmts = [
            Statement::insert(0, Some(0), Some(1), 0),
            Statement::update(0, Assign::Set(1), Assign::Keep, 2),
            Statement::update(0, Assign::Set(0), Assign::Keep, 3),
        ];
        let (_, view) = run(Variant::Cassandra30, &stmts);
        assert_eq!(visible(Variant::Cassandra30, &view), vec![(0, Some(1))]);
    }
}
