//! View repair's decision: what rules R8 and R9 of `specs/protocol.md` ("View repair") write,
//! as a pure function of what the repair reads (R7). The node runs it when it repairs
//! ([`super::Input::ViewRepair`]); the simulation's host runs it too, because R6 offers a
//! repair only when it has something to write and an operator wants to see the plan before
//! running it (`mvcheck repair --dry-run`).
//!
//! The one danger the rules guard against is a timestamp: a view row is merged with
//! last-write-wins, so whatever the repair writes competes with every write still to come.
//! The correct repair therefore writes only timestamps the base or the view already carries,
//! and reinstates in the base, first, any write whose only evidence is a view row newer than
//! everything the base holds. A [`RepairStyle`] other than `Correct` takes one of those
//! precautions away, and only in what is written: which rows are wanted, and whether a
//! replica's row already reads right, is always judged against the correct built row.

use super::store::{self, DeletionStyle, Store};
use super::Switches;
use mv_spec::variant::{RepairStyle, REPAIR_NOW};
use mv_spec::{
    Assign, BaseRow, Cell, Key, Liveness, NodeId, ReadRules, Ring, Statement, Ts, Val, ViewKey, ViewMutation, ViewRow,
    WriteId,
};
use std::collections::{BTreeMap, BTreeSet};

/// R4, anti-entropy repair of partition `k`, as a function of what its host read: each
/// base replica's row (`rows[i]` is `replicas[i]`'s). Every replica is sent, as base writes
/// numbered `WriteId::repair(0)`, `repair(1)`, ..., the statements it lacks of the merged
/// row. The simulation's host and a node process's both carry it out.
pub fn anti_entropy(replicas: &[NodeId], rows: &[BaseRow], k: Key) -> Vec<(NodeId, WriteId, Statement)> {
    let merged = rows.iter().fold(BaseRow::default(), |m, r| m.merge(r));
    let mut out = Vec::new();
    for (r, row) in replicas.iter().zip(rows) {
        for stmt in row.repair_statements(k, &merged) {
            out.push((*r, WriteId::repair(out.len() as u8), stmt));
        }
    }
    out
}

/// What one view repair writes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// R8: the base writes that reinstate what only the view still holds, in `Statement`
    /// order, each with its id. Every base replica of the partition gets every one.
    pub reinstate: Vec<(WriteId, Statement)>,
    /// R9: per view replica, the view rows and deletions it gets, in view-key order.
    pub view: BTreeMap<NodeId, Vec<ViewMutation>>,
    /// Whether R9 deletes a view row (an orphan or a duplicate).
    pub deletes: bool,
}

impl Plan {
    /// Nothing to write: R6 does not run the repair.
    pub fn is_empty(&self) -> bool {
        self.reinstate.is_empty() && self.view.is_empty()
    }
}

/// The plan of view repair number `repair` of partition `k`, from `b0` (the base row merged
/// across every base replica) and `views` (every view row stored on every node; rows of
/// other partitions are ignored). `Err` when the repair's ids would not fit its block.
pub fn plan(
    sw: &Switches,
    ring: &Ring,
    repair: u8,
    k: Key,
    b0: &BaseRow,
    views: &[(NodeId, ViewKey, ViewRow)],
) -> Result<Plan, String> {
    if repair >= WriteId::MAX_VIEW_REPAIRS {
        return Err(format!(
            "a run has at most {} view repairs, numbered from 0 (got number {repair})",
            WriteId::MAX_VIEW_REPAIRS
        ));
    }
    let read = store::read_rules(&sw.view);
    // One node may be listed twice by a careless host: its copies merge as its table would.
    let mut stored: BTreeMap<(NodeId, ViewKey), ViewRow> = BTreeMap::new();
    for &(n, key, row) in views.iter().filter(|(_, key, _)| key.k == k) {
        let merged = stored.get(&(n, key)).map_or(row, |r| r.merge(&row));
        stored.insert((n, key), merged);
    }
    // A repair without the lock does not look for lost writes: that is what makes a view
    // row ahead of its base write in progress look like a ghost (ScyllaDB #25664).
    let reinstated = if sw.repair == RepairStyle::WithoutLock {
        BTreeSet::new()
    } else {
        let rows: Vec<(&ViewKey, &ViewRow)> = stored.iter().map(|((_, key), row)| (key, row)).collect();
        reinstated(&sw.view, k, b0, &rows)
    };
    if reinstated.len() > usize::from(WriteId::VIEW_REPAIR_BLOCK) {
        return Err(format!(
            "{} base writes to reinstate, but a view repair has ids for {}",
            reinstated.len(),
            WriteId::VIEW_REPAIR_BLOCK
        ));
    }
    let reinstate: Vec<(WriteId, Statement)> = reinstated
        .into_iter()
        .enumerate()
        .map(|(i, s)| (WriteId::view_repair(repair, i as u8), s))
        .collect();
    // R9 works from the newest evidence: the base as it will be once R8's writes land.
    let b = reinstate.iter().fold(*b0, |b, (_, s)| b.merge(&s.as_row()));
    let wanted = Store::built_view_row(&sw.view, k, &b);
    let mut out = Plan {
        reinstate,
        ..Plan::default()
    };
    for r in (0..ring.nodes).map(NodeId) {
        let mut keys: BTreeSet<ViewKey> = stored.keys().filter(|(n, _)| *n == r).map(|&(_, key)| key).collect();
        keys.extend(wanted.map(|m| m.key));
        for key in keys {
            if !ring.view_replicas(key).contains(&r) {
                continue;
            }
            let have = stored.get(&(r, key)).copied().unwrap_or_default();
            let row = match wanted {
                Some(w) if w.key == key => {
                    if have.resolve_cell(read) == w.row.resolve_cell(read) {
                        continue;
                    }
                    written_row(sw.repair, w.row)
                }
                _ => {
                    if have.resolve_cell(read).is_none() {
                        continue;
                    }
                    let Some(row) = deletion(sw, read, &have) else {
                        continue;
                    };
                    out.deletes = true;
                    row
                }
            };
            out.view.entry(r).or_default().push(ViewMutation { key, row });
        }
    }
    Ok(out)
}

/// R8: the base writes only the view still holds, three kinds of evidence of a write the
/// base lost, each put back at the timestamp the view shows for it:
///
/// * a live view row whose marker is newer than everything `b0` holds about `v` (marker, row
///   deletion, `v` cell): some base write set that view key. It comes back as that `v`, never
///   as a deletion of the row, which would shadow every later write below it;
/// * a `w` cell newer than the base's, outside the view row's own regular deletion (which is
///   the base's row deletion, copied): view rows get `w` only from the base. Dead rows count,
///   because 4.0's expired marker leaves the cells, and a later move back shows them again;
/// * in 4.0, an expired marker on `(x, k)` at `d` while the base's `v` is older than `d`, or
///   at `d` and not greater than `x`: 4.0 writes one only when a base replica replaces
///   `v = x @d`, by a write above `d` or by a greater value at `d`, so the base lost the
///   replacing write. Its `v` is history; left in place, no view row could show it (the expired marker
///   wins every tie at `d`), and a late hint of an older `v` would be in the same spot. The
///   base gets a `v` tombstone at `d`, which every later write still beats.
fn reinstated(rules: &store::ViewRules, k: Key, b0: &BaseRow, rows: &[(&ViewKey, &ViewRow)]) -> BTreeSet<Statement> {
    let read = store::read_rules(rules);
    let top = [b0.marker, b0.deletion, b0.v.map(|c| c.ts)].into_iter().flatten().max();
    let mut out = BTreeSet::new();
    for (key, row) in rows {
        if row.resolve_cell(read).is_none() {
            continue;
        }
        let Some(g) = row.marker.filter(|m| !m.expired).map(|m| m.ts) else {
            continue;
        };
        if top.is_none_or(|top| g > top) {
            out.insert(Statement::update(k, Assign::Set(key.v), Assign::Keep, g));
        }
    }
    let newest_w = rows
        .iter()
        .filter_map(|(_, row)| row.w.filter(|c| row.deletion.is_none_or(|d| c.ts > d)))
        .reduce(Cell::reconcile);
    if let Some(c) = newest_w {
        let base_has_it = b0.w.is_some_and(|bw| Cell::reconcile(bw, c) == bw);
        let deleted = b0.deletion.is_some_and(|d| c.ts <= d);
        if !base_has_it && !deleted {
            let set = match c.value {
                Some(x) => Assign::Set(x),
                None => Assign::Null,
            };
            out.insert(Statement::update(k, Assign::Keep, set, c.ts));
        }
    }
    if rules.deletion == DeletionStyle::ExpiredLiveness {
        let b = out.iter().fold(*b0, |b, s| b.merge(&s.as_row()));
        // The replacing write was above `d`, or at `d` with a value greater than the one it
        // replaced: a base `v` that could be that replacement is not history.
        let could_be_the_replacement = |d: Ts, replaced: Val| {
            b.v.is_some_and(|v| v.ts > d || (v.ts == d && v.value.is_some_and(|y| y > replaced)))
        };
        let replaced_at = rows
            .iter()
            .filter_map(|(key, row)| row.marker.filter(|m| m.expired).map(|m| (m.ts, key.v)))
            .filter(|&(d, x)| !could_be_the_replacement(d, x))
            .map(|(d, _)| d)
            .max();
        if let Some(d) = replaced_at {
            let tombstone = Cell::new(d, None);
            if b.v.is_none_or(|v| Cell::reconcile(v, tombstone) != v) {
                out.insert(Statement::update(k, Assign::Null, Assign::Keep, d));
            }
        }
    }
    out
}

/// The row R9 writes where a replica's row at the wanted key does not read as the built one.
fn written_row(style: RepairStyle, built: ViewRow) -> ViewRow {
    match style {
        // Trap 2: "now" beats every later legitimate write below it, and the deletion it may
        // carry stays where the base has it, or it would cover the row it comes with.
        RepairStyle::UpsertAtNow => ViewRow {
            marker: built.marker.map(|m| Liveness { ts: REPAIR_NOW, ..m }),
            w: built.w.map(|c| Cell { ts: REPAIR_NOW, ..c }),
            ..built
        },
        _ => built,
    }
}

/// R9's deletion of a live view row the base does not imply, at the row's own timestamp `g`
/// and as the write path's DELETE_OLD writes it under the design, so that any later write
/// of that view key still wins. `None` for a row with no timestamp to delete at, which a
/// live row never is.
fn deletion(sw: &Switches, read: ReadRules, row: &ViewRow) -> Option<ViewRow> {
    let marker = row.marker.map(|m| m.ts);
    let visible_w = row.resolve_cell(read).flatten().map(|c| c.ts);
    let g = match sw.view.deletion {
        // 4.0 kills the row through its marker, so it deletes at the marker's timestamp. A
        // row read without strict liveness may live by its `w` alone, its marker expired:
        // then `w` is what keeps it, and its timestamp is the row's.
        DeletionStyle::ExpiredLiveness => row.marker.filter(|m| !m.expired).map(|m| m.ts).or(visible_w),
        // 3.0 covers the marker and the cells the row shows.
        DeletionStyle::Shadowable | DeletionStyle::Regular => marker.max(visible_w),
    }?;
    let at = if sw.repair == RepairStyle::PruneAtNow {
        REPAIR_NOW
    } else {
        g
    };
    Some(match (sw.repair, sw.view.deletion) {
        // Trap 4: a regular tombstone at g also hides the row's older cells when its view key
        // comes back (A1).
        (RepairStyle::RegularTombstone, _) => ViewRow {
            deletion: Some(at),
            ..ViewRow::default()
        },
        (_, DeletionStyle::ExpiredLiveness) => ViewRow {
            marker: Some(Liveness::dead(at)),
            ..ViewRow::default()
        },
        (_, DeletionStyle::Shadowable) => ViewRow {
            shadowable: Some(at),
            ..ViewRow::default()
        },
        // The A1 design's own DELETE_OLD: its repair deletes as its write path does.
        (_, DeletionStyle::Regular) => ViewRow {
            deletion: Some(at),
            ..ViewRow::default()
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::Variant;
    use mv_spec::{Cell, Pairing};

    /// R4 sends each replica exactly what it lacks of the merged row, numbered from
    /// `repair(0)`, and nothing to replicas that agree.
    #[test]
    fn anti_entropy_sends_each_replica_what_it_lacks() {
        let k = 0;
        let row = |stmts: &[Statement]| {
            let mut store = Store::default();
            for s in stmts {
                store.apply_base(s);
            }
            store.base_rows().get(&k).copied().unwrap_or_default()
        };
        let full = row(&[Statement::insert(k, Some(2), Some(3), 4)]);
        let replicas = [NodeId(0), NodeId(1), NodeId(2)];
        let rows = [full, BaseRow::default(), full];
        let sent = anti_entropy(&replicas, &rows, k);
        assert!(!sent.is_empty());
        assert!(sent.iter().all(|(r, _, _)| *r == NodeId(1)), "{sent:?}");
        let ids: Vec<WriteId> = sent.iter().map(|(_, w, _)| *w).collect();
        assert_eq!(ids, (0..sent.len() as u8).map(WriteId::repair).collect::<Vec<_>>());
        let stmts: Vec<Statement> = sent.iter().map(|(_, _, s)| *s).collect();
        assert_eq!(row(&stmts), full);
        assert!(anti_entropy(&replicas, &[full, full, full], k).is_empty());
    }

    /// RF 1 on 2 nodes: base `k=0` on n0, view `v=1` on n1 and `v=2` on n0.
    fn ring() -> Ring {
        Ring {
            nodes: 2,
            rf: 1,
            pairing: Pairing::SelfFirst,
        }
    }

    fn sw(v: Variant) -> Switches {
        Switches::from(v.design())
    }

    fn c(x: u8, ts: u8) -> Option<Cell> {
        Some(Cell::new(ts, Some(x)))
    }

    fn live(ts: u8) -> Option<Liveness> {
        Some(Liveness::live(ts))
    }

    /// A view row as the write path leaves it for `INSERT v, w` under 4.0.
    fn entry(marker: u8, w: Option<Cell>) -> ViewRow {
        ViewRow {
            marker: live(marker),
            w,
            ..ViewRow::default()
        }
    }

    const N0: NodeId = NodeId(0);
    const N1: NodeId = NodeId(1);
    const V1: ViewKey = ViewKey { v: 1, k: 0 };
    const V2: ViewKey = ViewKey { v: 2, k: 0 };

    /// `INSERT k=0 v=1 w=1 @1`, as the base stores it.
    fn inserted() -> BaseRow {
        BaseRow {
            marker: Some(1),
            deletion: None,
            v: c(1, 1),
            w: c(1, 1),
        }
    }

    /// Then `UPDATE v=2 @2`.
    fn switched() -> BaseRow {
        BaseRow {
            v: c(2, 2),
            ..inserted()
        }
    }

    fn run(v: Variant, b0: BaseRow, views: &[(NodeId, ViewKey, ViewRow)]) -> Plan {
        plan(&sw(v), &ring(), 0, 0, &b0, views).expect("ids fit")
    }

    fn only(target: NodeId, ms: Vec<ViewMutation>) -> BTreeMap<NodeId, Vec<ViewMutation>> {
        BTreeMap::from([(target, ms)])
    }

    #[test]
    fn a_view_in_sync_has_nothing_to_write() {
        for v in [Variant::Cassandra40, Variant::Cassandra30] {
            let p = run(v, inserted(), &[(N1, V1, entry(1, c(1, 1)))]);
            assert!(p.is_empty(), "{}: {p:?}", v.name());
        }
        // Nothing written at all: nothing to repair either.
        assert!(run(Variant::Cassandra40, BaseRow::default(), &[]).is_empty());
    }

    /// MISSING_IN_VIEW: the replica gets the row the view builder makes from the base, at the
    /// base's timestamps.
    #[test]
    fn a_missing_row_is_written_as_the_builder_makes_it() {
        let p = run(Variant::Cassandra40, inserted(), &[]);
        assert_eq!(
            p.view,
            only(
                N1,
                vec![ViewMutation {
                    key: V1,
                    row: entry(1, c(1, 1))
                }]
            )
        );
        assert!(p.reinstate.is_empty() && !p.deletes);
        // 3.0's marker is the greater of v's and the base's live marker.
        let b0 = BaseRow {
            marker: Some(3),
            ..inserted()
        };
        let p = run(Variant::Cassandra30, b0, &[]);
        assert_eq!(p.view[&N1][0].row.marker, live(3), "{p:?}");
    }

    /// MISMATCH: a replica whose row reads differently (here a `w` older than the base's)
    /// gets the whole built row; a replica already right gets nothing.
    #[test]
    fn a_mismatched_row_is_rewritten_whole() {
        let b0 = BaseRow {
            w: c(5, 4),
            ..inserted()
        };
        let p = run(Variant::Cassandra40, b0, &[(N1, V1, entry(1, c(1, 1)))]);
        assert_eq!(
            p.view,
            only(
                N1,
                vec![ViewMutation {
                    key: V1,
                    row: entry(1, c(5, 4))
                }]
            )
        );
        // A row deletion in the base is copied, and covers the `w` it is newer than.
        let b0 = BaseRow {
            marker: Some(4),
            deletion: Some(3),
            v: c(1, 4),
            w: c(1, 1),
        };
        let p = run(Variant::Cassandra40, b0, &[(N1, V1, entry(1, c(1, 1)))]);
        assert_eq!(
            p.view[&N1][0].row,
            ViewRow {
                marker: live(4),
                deletion: Some(3),
                ..ViewRow::default()
            }
        );
    }

    /// ORPHAN newer than the base (data loss at ONE): the base lost the write, so it is
    /// reinstated in the base at the view row's own timestamps, and the view is left alone
    /// because it already reads as the reinstated base would build it.
    #[test]
    fn a_row_newer_than_the_base_is_reinstated_not_deleted() {
        let p = run(Variant::Cassandra40, BaseRow::default(), &[(N1, V1, entry(1, c(1, 1)))]);
        assert_eq!(
            p.reinstate,
            vec![
                (
                    WriteId::view_repair(0, 0),
                    Statement::update(0, Assign::Keep, Assign::Set(1), 1)
                ),
                (
                    WriteId::view_repair(0, 1),
                    Statement::update(0, Assign::Set(1), Assign::Keep, 1)
                ),
            ],
            "Statement order, ids from 0"
        );
        assert!(p.view.is_empty() && !p.deletes, "{p:?}");
        // The base's own `w` is newer: only `v` comes back, and the view's stale `w` is
        // then rewritten from the base.
        let b0 = BaseRow {
            w: c(7, 2),
            ..BaseRow::default()
        };
        let p = run(Variant::Cassandra40, b0, &[(N1, V1, entry(3, c(1, 1)))]);
        assert_eq!(
            p.reinstate,
            vec![(
                WriteId::view_repair(0, 0),
                Statement::update(0, Assign::Set(1), Assign::Keep, 3)
            )]
        );
        assert_eq!(
            p.view[&N1],
            vec![ViewMutation {
                key: V1,
                row: entry(3, c(7, 2))
            }]
        );
        // Repair number 2 takes ids from its own block.
        let p = plan(
            &sw(Variant::Cassandra40),
            &ring(),
            2,
            0,
            &BaseRow::default(),
            &[(N1, V1, entry(1, None))],
        )
        .unwrap();
        assert_eq!(p.reinstate[0].0, WriteId::view_repair(2, 0));
    }

    /// A dead row's `w` is evidence too: 4.0's expired marker leaves the cells, and a move
    /// back would show them again. Under the row's own regular deletion it is not (that is
    /// the base's row deletion, copied, and it deleted the cell).
    #[test]
    fn a_dead_rows_newer_w_goes_back_into_the_base() {
        let dead = ViewRow {
            marker: Some(Liveness::dead(1)),
            w: c(7, 1),
            ..ViewRow::default()
        };
        let b0 = BaseRow {
            v: c(2, 2),
            ..BaseRow::default()
        };
        let p = run(Variant::Cassandra40, b0, &[(N1, V1, dead)]);
        assert_eq!(
            p.reinstate,
            vec![(
                WriteId::view_repair(0, 0),
                Statement::update(0, Assign::Keep, Assign::Set(7), 1)
            )]
        );
        let deleted = ViewRow {
            deletion: Some(1),
            ..dead
        };
        let p = run(Variant::Cassandra40, b0, &[(N1, V1, deleted)]);
        assert!(p.reinstate.is_empty(), "{p:?}");
    }

    /// 4.0 expires a view row's marker at `d` only when a base replica replaces a `v`
    /// written at `d`: a base whose `v` is no newer lost that write, and gives its `v` up at
    /// `d`. In 3.0 a shadowable deletion says no such thing, and a newer base `v` is not
    /// touched in either.
    #[test]
    fn an_expired_marker_above_the_base_v_retires_it() {
        let replaced = ViewRow {
            marker: Some(Liveness::dead(2)),
            ..ViewRow::default()
        };
        let p = run(Variant::Cassandra40, inserted(), &[(N1, V1, replaced)]);
        assert_eq!(
            p.reinstate,
            vec![(
                WriteId::view_repair(0, 0),
                Statement::update(0, Assign::Null, Assign::Keep, 2)
            )]
        );
        assert!(p.view.is_empty(), "no view row to write or delete: {p:?}");
        let newer = BaseRow {
            v: c(1, 3),
            ..inserted()
        };
        let p = run(Variant::Cassandra40, newer, &[(N1, V1, replaced)]);
        assert!(p.reinstate.is_empty(), "{p:?}");
        // A tie at `d`: a greater value replaced `(1, k)` at 2 and is the base's `v`, so the
        // expired marker says nothing was lost; a smaller one at 2 lost to the replaced row
        // and is history.
        let tie_winner = BaseRow {
            v: c(2, 2),
            ..inserted()
        };
        let p = run(Variant::Cassandra40, tie_winner, &[(N1, V1, replaced)]);
        assert!(p.reinstate.is_empty(), "{p:?}");
        let tie_loser = BaseRow {
            v: c(1, 2),
            ..inserted()
        };
        let p = run(Variant::Cassandra40, tie_loser, &[(N1, V2, replaced)]);
        assert_eq!(
            p.reinstate,
            vec![(
                WriteId::view_repair(0, 0),
                Statement::update(0, Assign::Null, Assign::Keep, 2)
            )]
        );
        let shadowed = ViewRow {
            shadowable: Some(2),
            ..ViewRow::default()
        };
        let p = run(Variant::Cassandra30, inserted(), &[(N1, V1, shadowed)]);
        assert!(p.reinstate.is_empty(), "{p:?}");
    }

    /// DUPLICATE (the base moved on) and ORPHAN older than the base's deletion: deleted at
    /// the row's own timestamp, as the design's DELETE_OLD would.
    #[test]
    fn an_older_stale_row_is_deleted_at_its_own_timestamp() {
        let in_sync = (N0, V2, entry(2, c(1, 1)));
        let stale = (N1, V1, entry(1, c(1, 1)));
        let p = run(Variant::Cassandra40, switched(), &[in_sync, stale]);
        let expired = ViewRow {
            marker: Some(Liveness::dead(1)),
            ..ViewRow::default()
        };
        assert_eq!(p.view, only(N1, vec![ViewMutation { key: V1, row: expired }]));
        assert!(p.deletes && p.reinstate.is_empty());
        // 3.0: a shadowable deletion at the greater of the marker and the visible `w`.
        let stale30 = (N1, V1, entry(1, c(1, 2)));
        let p = run(
            Variant::Cassandra30,
            BaseRow {
                w: c(1, 2),
                ..switched()
            },
            &[(N0, V2, entry(2, c(1, 2))), stale30],
        );
        assert_eq!(
            p.view,
            only(
                N1,
                vec![ViewMutation {
                    key: V1,
                    row: ViewRow {
                        shadowable: Some(2),
                        ..ViewRow::default()
                    }
                }]
            )
        );
        // A base deleted after the row was written: the row is older, so it goes.
        let deleted = BaseRow {
            deletion: Some(5),
            ..inserted()
        };
        let p = run(Variant::Cassandra40, deleted, &[stale]);
        assert_eq!(p.view, only(N1, vec![ViewMutation { key: V1, row: expired }]));
        assert!(p.reinstate.is_empty());
    }

    /// The broken styles change what is written, never what is judged wrong.
    #[test]
    fn each_broken_style_writes_its_trap() {
        let stale = [(N0, V2, entry(2, c(1, 1))), (N1, V1, entry(1, c(1, 1)))];
        let deletion = |v: Variant| run(v, switched(), &stale).view[&N1][0].row;
        assert_eq!(
            deletion(Variant::PruneAtNow),
            ViewRow {
                marker: Some(Liveness::dead(REPAIR_NOW)),
                ..ViewRow::default()
            }
        );
        assert_eq!(
            deletion(Variant::RegularTombstoneRepair),
            ViewRow {
                deletion: Some(1),
                ..ViewRow::default()
            }
        );
        assert_eq!(deletion(Variant::UpsertAtNow).marker, Some(Liveness::dead(1)));
        let upserted = run(Variant::UpsertAtNow, inserted(), &[]).view[&N1][0].row;
        assert_eq!(upserted, entry(REPAIR_NOW, c(1, REPAIR_NOW)));
        // A replica that reads as the correct built row gets nothing, even from upsert.
        assert!(run(Variant::UpsertAtNow, inserted(), &[(N1, V1, entry(1, c(1, 1)))]).is_empty());
        // Without the lock nothing is reinstated: the newer row reads as a ghost and goes.
        let p = run(
            Variant::RepairWithoutLock,
            BaseRow::default(),
            &[(N1, V1, entry(1, c(1, 1)))],
        );
        assert!(p.reinstate.is_empty() && p.deletes, "{p:?}");
        assert_eq!(p.view[&N1][0].row.marker, Some(Liveness::dead(1)));
    }

    /// Rows a replica does not replicate, and dead rows, are left alone; every replica of
    /// the wanted key is written, not only a paired one.
    #[test]
    fn only_replicas_of_a_key_are_written() {
        let rf2 = Ring { rf: 2, ..ring() };
        let misplaced = (N0, V1, entry(1, c(1, 1)));
        let dead = (
            N0,
            V2,
            ViewRow {
                marker: Some(Liveness::dead(2)),
                ..entry(2, c(1, 1))
            },
        );
        // The base's `v` is newer than the dead row's expired marker: no lost write there.
        let b0 = BaseRow {
            v: c(1, 3),
            ..inserted()
        };
        let p = plan(&sw(Variant::Cassandra40), &ring(), 0, 0, &b0, &[misplaced, dead]).unwrap();
        assert!(p.reinstate.is_empty(), "{p:?}");
        assert_eq!(p.view.keys().copied().collect::<Vec<_>>(), vec![N1]);
        let p = plan(&sw(Variant::Cassandra40), &rf2, 0, 0, &inserted(), &[]).unwrap();
        assert_eq!(p.view.keys().copied().collect::<Vec<_>>(), vec![N0, N1]);
    }

    #[test]
    fn a_repair_without_ids_is_refused() {
        let e = plan(
            &sw(Variant::Cassandra40),
            &ring(),
            WriteId::MAX_VIEW_REPAIRS,
            0,
            &inserted(),
            &[],
        );
        assert!(e.is_err_and(|e| e.contains("at most")));
        // Eight newer view keys each bring back a `v`, and the newest `w` comes back too:
        // nine ids.
        let ring5 = Ring {
            nodes: 5,
            rf: 1,
            pairing: Pairing::SelfFirst,
        };
        let rows: Vec<_> = (1..=8u8)
            .map(|x| (NodeId(x % 5), ViewKey { v: x, k: 0 }, entry(x, c(x, x))))
            .collect();
        let e = plan(&sw(Variant::Cassandra40), &ring5, 0, 0, &BaseRow::default(), &rows);
        assert!(e.is_err_and(|e| e.contains("ids for 8")));
    }
}
