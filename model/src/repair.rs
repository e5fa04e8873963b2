//! View repair (rules R6 to R9 of `specs/protocol.md`): what a repair of one partition writes.
//!
//! The model's own reading of the rules; the implementation writes its own
//! (`mv-impl`'s `node::repair`). The traps the rules avoid are those of every public view
//! repair: a view row is merged with last-write-wins, so any timestamp the repair writes
//! competes with every write still to come. The correct repair therefore writes only
//! timestamps the base or the view already carries, and puts back into the base first what
//! only the view still holds.

use crate::storage::built_entry;
use crate::variant::{DeletionStyle, Rules};
use mv_spec::variant::{RepairStyle, REPAIR_NOW};
use mv_spec::{
    Assign, BaseRow, Cell, Key, Liveness, NodeId, ReadRules, Ring, Statement, Ts, Val, ViewKey, ViewMutation, ViewRow,
};
use std::collections::{BTreeMap, BTreeSet};

/// What one view repair of a partition writes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// R8: base writes to send to every base replica, in order.
    pub reinstate: Vec<Statement>,
    /// R9: view mutations per node.
    pub view: BTreeMap<NodeId, Vec<ViewMutation>>,
    /// Whether R9 deletes some view row (an orphan or a duplicate).
    pub deletes: bool,
}

impl Plan {
    /// Whether the repair has nothing to write (R6 does not run then).
    pub fn is_empty(&self) -> bool {
        self.reinstate.is_empty() && self.view.is_empty()
    }
}

/// R8 and R9 for partition `k`: `b0` is its base row merged across the base replicas (R7),
/// `views` every view row `(·, k)` stored on every node.
pub fn plan(rules: &Rules, ring: &Ring, k: Key, b0: &BaseRow, views: &[(NodeId, ViewKey, ViewRow)]) -> Plan {
    let read = ReadRules {
        strict_liveness: rules.strict_liveness,
    };
    // R8: a live view row whose marker is newer than everything the base holds about `v` is
    // evidence of a base write the base lost. A prune-only repair has no R8.
    let top = [b0.marker, b0.deletion, b0.v.map(|c| c.ts)].into_iter().flatten().max();
    let mut reinstate = BTreeSet::new();
    if rules.repair != RepairStyle::WithoutLock {
        for (_, key, row) in views {
            if row.resolve_cell(read).is_none() {
                continue;
            }
            let Some(g) = row.marker.filter(|m| !m.expired).map(|m| m.ts) else {
                continue;
            };
            if top.is_some_and(|t| g <= t) {
                continue;
            }
            reinstate.insert(Statement::update(k, Assign::Set(key.v), Assign::Keep, g));
        }
        // Every `w` a view row holds was a base cell once; one newer than the base's, and not
        // under the view row's own regular deletion (the base's row deletion, copied), is a
        // base write the base lost. Dead rows count: 4.0's expired marker kills the marker,
        // not the cells, and a later move back copies them into the view again.
        let seen = views
            .iter()
            .filter_map(|(_, _, row)| row.w.filter(|c| row.deletion.is_none_or(|d| c.ts > d)))
            .reduce(Cell::reconcile);
        if let Some(c) = seen {
            let newer = b0.w.is_none_or(|bw| Cell::reconcile(bw, c) != bw);
            if newer && b0.deletion.is_none_or(|d| c.ts > d) {
                let set = c.value.map_or(Assign::Null, Assign::Set);
                reinstate.insert(Statement::update(k, Assign::Keep, set, c.ts));
            }
        }
    }
    let mut b = reinstate.iter().fold(*b0, |b, s| b.merge(&s.as_row()));
    // R8's second evidence (4.0 only): an expired marker on `(x, k)` at `d`. 4.0 writes one
    // only when a base replica replaces `v = x @d`, by a write above `d` or, in a tie at `d`,
    // by a greater value. A base `v` below `d`, or no greater than `x` at `d`, is therefore
    // history, and the base lost the replacing write: no row built from that `v` could ever
    // be live again (the expired marker wins the tie at `d`), and a late hint of an older `v`
    // would land in the same spot. The base gives `v` up at `d` instead: a cell tombstone
    // there loses to every later write. (It also beats a greater value written at exactly
    // `d` that arrives later: `specs/protocol.md`, "Equal timestamps".)
    if rules.deletion == DeletionStyle::ExpiredLiveness && rules.repair != RepairStyle::WithoutLock {
        let history = |d: Ts, x: Val| {
            b.v.is_none_or(|c| c.ts < d || (c.ts == d && c.value.is_none_or(|y| y <= x)))
        };
        let gone = views
            .iter()
            .filter_map(|(_, key, row)| row.marker.filter(|m| m.expired).map(|m| (m.ts, key.v)))
            .filter(|&(d, x)| history(d, x))
            .map(|(d, _)| d)
            .max();
        if let Some(d) = gone {
            let tomb = Cell::new(d, None);
            if b.v.is_none_or(|c| Cell::reconcile(c, tomb) != c) {
                let stmt = Statement::update(k, Assign::Null, Assign::Keep, d);
                b = b.merge(&stmt.as_row());
                reinstate.insert(stmt);
            }
        }
    }
    // R9: the view the base implies, written where a replica reads differently.
    let want = built_entry(rules, &b, k);
    let mut keys: BTreeSet<(NodeId, ViewKey)> = views.iter().map(|(n, key, _)| (*n, *key)).collect();
    if let Some(m) = want {
        for n in ring.view_replicas(m.key) {
            keys.insert((n, m.key));
        }
    }
    let stored: BTreeMap<(NodeId, ViewKey), ViewRow> = views.iter().map(|(n, key, row)| ((*n, *key), *row)).collect();
    let mut view: BTreeMap<NodeId, Vec<ViewMutation>> = BTreeMap::new();
    let mut deletes = false;
    for (n, key) in keys {
        if !ring.view_replicas(key).contains(&n) {
            continue;
        }
        let row = stored.get(&(n, key)).copied().unwrap_or_default();
        let m = match want {
            Some(w) if w.key == key => {
                if row.resolve_cell(read) == w.row.resolve_cell(read) {
                    continue;
                }
                ViewMutation {
                    key,
                    row: written_entry(rules, w.row),
                }
            }
            _ => {
                let Some(w) = row.resolve_cell(read) else { continue };
                deletes = true;
                ViewMutation {
                    key,
                    row: deletion(rules, &row, w.map(|c| c.ts)),
                }
            }
        };
        view.entry(n).or_default().push(m);
    }
    Plan {
        reinstate: reinstate.into_iter().collect(),
        view,
        deletes,
    }
}

/// The built row as the repair writes it: as built, or at the repair's clock (`upsert-at-now`).
fn written_entry(rules: &Rules, built: ViewRow) -> ViewRow {
    if rules.repair != RepairStyle::UpsertAtNow {
        return built;
    }
    ViewRow {
        marker: built.marker.map(|m| Liveness { ts: REPAIR_NOW, ..m }),
        w: built.w.map(|c| mv_spec::Cell { ts: REPAIR_NOW, ..c }),
        ..built
    }
}

/// The deletion of a live view row the base does not imply, at the row's own timestamp, as
/// the write path's DELETE_OLD writes it; `w_ts` is its visible `w`'s timestamp.
fn deletion(rules: &Rules, row: &ViewRow, w_ts: Option<Ts>) -> ViewRow {
    let marker = row.marker.filter(|m| !m.expired).map(|m| m.ts);
    let own = [marker, w_ts]
        .into_iter()
        .flatten()
        .max()
        .expect("a live row has a live marker or cell");
    let g = match rules.repair {
        RepairStyle::PruneAtNow => REPAIR_NOW,
        _ => match rules.deletion {
            // 4.0: an expired marker at the marker's timestamp kills exactly this liveness.
            DeletionStyle::ExpiredLiveness => marker.unwrap_or(own),
            DeletionStyle::Shadowable | DeletionStyle::Regular => own,
        },
    };
    let regular = rules.repair == RepairStyle::RegularTombstone || rules.deletion == DeletionStyle::Regular;
    if regular {
        return ViewRow {
            deletion: Some(g),
            ..ViewRow::default()
        };
    }
    match rules.deletion {
        DeletionStyle::ExpiredLiveness => ViewRow {
            marker: Some(Liveness::dead(g)),
            ..ViewRow::default()
        },
        _ => ViewRow {
            shadowable: Some(g),
            ..ViewRow::default()
        },
    }
}
