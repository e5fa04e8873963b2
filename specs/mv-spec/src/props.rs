//! The properties of `specs/properties.md`, as predicates over an [`Observation`].
//!
//! Every `always` property comes with a `sometimes` witness (same id, suffix `:witness`) that
//! shows the property was checked on states where it could have failed: a pass is never
//! vacuous. Convergence-style properties are guarded by quiescence (`always` over quiescent
//! states), not stated with `eventually`, because Stateright's `eventually` misses violations
//! on cyclic paths and never fires when crash actions are always enabled.

use crate::obs::{History, Observation, Outcome};
use crate::{BaseRow, Key, NodeId, Statement, ViewKey};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Whether a property must hold on every state or be reached on some state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Kind {
    /// Must hold on every reachable state.
    Always,
    /// Must hold on at least one reachable state (a witness).
    Sometimes,
}

/// One property: id, kind, sentence and predicate.
#[derive(Clone, Copy, Debug)]
pub struct PropertyDef {
    /// The spec id, e.g. `P-converge` or `P-converge:witness`.
    pub id: &'static str,
    /// `always` or `sometimes`.
    pub kind: Kind,
    /// The sentence of `specs/properties.md`.
    pub sentence: &'static str,
    /// The predicate.
    pub holds: fn(&Observation) -> bool,
    /// The states it speaks of; on the others it is vacuous.
    pub scope: Scope,
}

/// Which states a property speaks of. On the others its predicate is vacuous (an `always`
/// holds, a `sometimes` is not reached), so an evaluator may skip them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Quiescent states: the convergence properties and most witnesses.
    Quiescent,
    /// Every state once some write is acknowledged (P-durable).
    Acked,
    /// States that are not quiescent (P-verify's witness: a divergence that is pending).
    NotQuiescent,
}

impl PropertyDef {
    /// Whether the property speaks of a state that is `quiescent` (or not) and in which some
    /// write was `acked` (or not).
    pub fn applies(&self, quiescent: bool, acked: bool) -> bool {
        match self.scope {
            Scope::Quiescent => quiescent,
            Scope::Acked => acked,
            Scope::NotQuiescent => !quiescent,
        }
    }
}

/// Every property, in the order reports list them.
pub const PROPERTIES: &[PropertyDef] = &[
    PropertyDef {
        id: "P-converge",
        kind: Kind::Always,
        sentence: "when quiescent, the view merged across replicas equals the view derived from the base merged across replicas",
        holds: converge,
        scope: Scope::Quiescent,
    },
    PropertyDef {
        id: "P-replica-converge",
        kind: Kind::Always,
        sentence: "when quiescent, every view replica holds, for the view partitions it owns, exactly the view derived from the base merged across replicas: same rows, cells and timestamps",
        holds: replica_converge,
        scope: Scope::Quiescent,
    },
    PropertyDef {
        id: "P-no-orphan",
        kind: Kind::Always,
        sentence: "when quiescent, every live view row has a live base row",
        holds: no_orphan,
        scope: Scope::Quiescent,
    },
    PropertyDef {
        id: "P-no-missing",
        kind: Kind::Always,
        sentence: "when quiescent, every live base row with a non-null view key has its view row",
        holds: no_missing,
        scope: Scope::Quiescent,
    },
    PropertyDef {
        id: "P-one-row",
        kind: Kind::Always,
        sentence: "when quiescent, a base row has at most one live view row",
        holds: one_row,
        scope: Scope::Quiescent,
    },
    PropertyDef {
        id: "P-cells",
        kind: Kind::Always,
        sentence: "when quiescent, the cells of a view row equal the cells of its base row",
        holds: cells,
        scope: Scope::Quiescent,
    },
    PropertyDef {
        id: "P-durable",
        kind: Kind::Always,
        sentence: "a write acknowledged at CL c is in the base of at least c replicas (one, a quorum, all) and, once quiescent, its effect is in the view with its cell values unless a later write superseded it",
        holds: durable,
        scope: Scope::Acked,
    },
    PropertyDef {
        id: "P-verify",
        kind: Kind::Always,
        sentence: "when quiescent, the view-consistency check reports no row exactly when every view replica holds the view derived from the base, and reports nothing as pending",
        holds: verify,
        scope: Scope::Quiescent,
    },
    PropertyDef {
        id: "P-repair",
        kind: Kind::Always,
        sentence: "when quiescent, every partition view-repaired since the last fault has every view replica in agreement with the base",
        holds: repair,
        scope: Scope::Quiescent,
    },
    PropertyDef {
        id: "P-no-resurrect",
        kind: Kind::Always,
        sentence: "when quiescent, no partition view-repaired since the last fault shows in the view a row or cell that the base has not got live",
        holds: no_resurrect,
        scope: Scope::Quiescent,
    },
    PropertyDef {
        id: "P-no-clobber",
        kind: Kind::Always,
        sentence: "when quiescent, no partition view-repaired since the last fault hides from the view a row or cell that the base has live",
        holds: no_clobber,
        scope: Scope::Quiescent,
    },
    PropertyDef {
        id: "P-limit",
        kind: Kind::Always,
        sentence: "when quiescent, each node's LIMIT 1 read of a view partition it stores returns the first row, by k, that its own stored rows make live, and nothing when none is live",
        holds: limit,
        // A read depends on the node's own rows alone, and a wrong answer lasts as long as
        // the rows that cause it: judged where they are final, as the other properties are,
        // so that the search need not project the states in between.
        scope: Scope::Quiescent,
    },
    PropertyDef {
        id: "P-converge:witness",
        kind: Kind::Sometimes,
        sentence: "quiescent with a live view row after commit-log replay regenerated view updates (R2)",
        holds: converge_witness,
        scope: Scope::Quiescent,
    },
    PropertyDef {
        id: "P-replica-converge:witness",
        kind: Kind::Sometimes,
        sentence: "quiescent with a live view row after a hint delivered view mutations (B11)",
        holds: replica_converge_witness,
        scope: Scope::Quiescent,
    },
    PropertyDef {
        id: "P-no-orphan:witness",
        kind: Kind::Sometimes,
        sentence: "quiescent where a view row was deleted, after a view key switched on a remote view replica",
        holds: orphan_witness,
        scope: Scope::Quiescent,
    },
    PropertyDef {
        id: "P-no-missing:witness",
        kind: Kind::Sometimes,
        sentence: "quiescent with a live base row with a non-null view key, after a batchlog replay (B10)",
        holds: missing_witness,
        scope: Scope::Quiescent,
    },
    PropertyDef {
        id: "P-one-row:witness",
        kind: Kind::Sometimes,
        sentence: "quiescent where a base row moved from one view row to another, after a view key switched on a remote view replica",
        holds: one_row_witness,
        scope: Scope::Quiescent,
    },
    PropertyDef {
        id: "P-cells:witness",
        kind: Kind::Sometimes,
        sentence: "quiescent with a live view row whose w is not null, after a hint delivered view mutations (B11)",
        holds: cells_witness,
        scope: Scope::Quiescent,
    },
    PropertyDef {
        id: "P-durable:witness",
        kind: Kind::Sometimes,
        sentence: "quiescent after an acknowledged write whose base replica crashed while holding it",
        holds: durable_witness,
        scope: Scope::Quiescent,
    },
    PropertyDef {
        id: "P-verify:witness",
        kind: Kind::Sometimes,
        sentence: "the view-consistency check marks a row pending: work queued for its base key explains a divergence that is not final",
        holds: verify_witness,
        scope: Scope::NotQuiescent,
    },
    PropertyDef {
        id: "P-repair:witness",
        kind: Kind::Sometimes,
        sentence: "quiescent with a live view row, after a view repair (R6) and no fault since",
        holds: repair_witness,
        scope: Scope::Quiescent,
    },
    PropertyDef {
        id: "P-no-resurrect:witness",
        kind: Kind::Sometimes,
        sentence: "quiescent after a view repair deleted a view row (R9) and no fault since",
        holds: no_resurrect_witness,
        scope: Scope::Quiescent,
    },
    PropertyDef {
        id: "P-no-clobber:witness",
        kind: Kind::Sometimes,
        sentence: "quiescent after a view write of the write path (a base write's, a replay's or a hint's) landed after a view repair, and no fault since",
        holds: no_clobber_witness,
        scope: Scope::Quiescent,
    },
    PropertyDef {
        id: "P-limit:witness",
        kind: Kind::Sometimes,
        sentence: "quiescent where a node's LIMIT 1 read of a view partition skipped a dead row, one with an expired marker and a live cell, to return a live row after it",
        holds: limit_witness,
        scope: Scope::Quiescent,
    },
    PropertyDef {
        id: "P-converge:ttl-witness",
        kind: Kind::Sometimes,
        sentence: "quiescent where a view row is hidden because its view key's TTL ran out, though its w is live",
        holds: ttl_witness,
        scope: Scope::Quiescent,
    },
];

/// Looks a property up by id.
pub fn property(id: &str) -> Option<&'static PropertyDef> {
    PROPERTIES.iter().find(|p| p.id == id)
}

/// P-converge.
pub fn converge(o: &Observation) -> bool {
    if !o.quiescent {
        return true;
    }
    o.visible_view() == crate::derive_view(&o.visible_base())
}

/// P-no-orphan.
pub fn no_orphan(o: &Observation) -> bool {
    if !o.quiescent {
        return true;
    }
    let base = o.visible_base();
    o.visible_view().keys().all(|vk| base.contains_key(&vk.k))
}

/// P-no-missing.
pub fn no_missing(o: &Observation) -> bool {
    if !o.quiescent {
        return true;
    }
    let view = o.visible_view();
    o.visible_base()
        .iter()
        .all(|(&k, r)| r.v.is_none_or(|v| view.contains_key(&crate::ViewKey { v, k })))
}

/// P-one-row.
pub fn one_row(o: &Observation) -> bool {
    if !o.quiescent {
        return true;
    }
    let mut keys: Vec<Key> = o.visible_view().keys().map(|vk| vk.k).collect();
    keys.sort_unstable();
    keys.windows(2).all(|w| w[0] != w[1])
}

/// P-cells.
pub fn cells(o: &Observation) -> bool {
    if !o.quiescent {
        return true;
    }
    let base = o.visible_base();
    o.visible_view().iter().all(|(vk, w)| match base.get(&vk.k) {
        Some(b) if b.v == Some(vk.v) => b.w == *w,
        _ => true,
    })
}

/// Whether a replica's copy of a row holds `stmt`, or something that supersedes it.
pub fn covers(row: &BaseRow, stmt: &Statement) -> bool {
    let deleted_after = row.deletion.is_some_and(|d| d >= stmt.ts);
    if stmt.delete {
        return deleted_after;
    }
    let written = stmt.as_row();
    let cell_ok = |mine: Option<crate::Cell>, theirs: Option<crate::Cell>| {
        theirs.is_none() || deleted_after || mine.is_some_and(|m| m.ts >= stmt.ts)
    };
    let marker_ok = written.marker.is_none() || deleted_after || row.marker.is_some_and(|m| m >= stmt.ts);
    marker_ok && cell_ok(row.v, written.v) && cell_ok(row.w, written.w)
}

/// Whether some part of `stmt` still wins in the merged base row: its deletion, its marker or
/// one of its cells is the one in force. A write none of whose parts wins was superseded.
fn current(row: &BaseRow, stmt: &Statement) -> bool {
    let mine = stmt.as_row();
    let deletion = stmt.delete && row.deletion == Some(stmt.ts);
    let marker = mine.marker.is_some() && row.marker == mine.marker;
    let cell = |m: Option<crate::Cell>, r: Option<crate::Cell>| m.is_some() && m == r;
    deletion || marker || cell(mine.v, row.v) || cell(mine.w, row.w)
}

/// P-durable.
pub fn durable(o: &Observation) -> bool {
    let mut acked = o.writes.iter().filter(|w| w.outcome == Outcome::Ok).peekable();
    if acked.peek().is_none() {
        return true;
    }
    let merged = crate::merge_base(o.nodes.iter().map(|n| &n.base));
    let views = o
        .quiescent
        .then(|| (o.visible_view_cells(), derive_view_cells(&merged)));
    for w in acked {
        if holding(o, w) < w.cl.required(o.ring.rf) as usize {
            return false;
        }
        // Once quiescent, a write that still wins somewhere shows in the view of its row:
        // the view rows of `k` are exactly what the base row derives, cells included.
        if let Some((view, derived)) = &views {
            let row = merged.get(&w.stmt.k).copied().unwrap_or_default();
            let of_k = |m: &BTreeMap<ViewKey, Option<crate::Cell>>| -> Vec<(ViewKey, Option<crate::Cell>)> {
                m.iter()
                    .filter(|(vk, _)| vk.k == w.stmt.k)
                    .map(|(a, b)| (*a, *b))
                    .collect()
            };
            if current(&row, &w.stmt) && of_k(view) != of_k(derived) {
                return false;
            }
        }
    }
    true
}

/// How many base replicas of `w`'s key hold `w` (or what supersedes it).
fn holding(o: &Observation, w: &crate::obs::WriteRecord) -> usize {
    o.ring
        .base_replicas(w.stmt.k)
        .iter()
        .filter(|n| {
            o.nodes[n.0 as usize]
                .base
                .get(&w.stmt.k)
                .is_some_and(|r| covers(r, &w.stmt))
        })
        .count()
}

/// The live view rows view replica `i` holds for the view partitions it owns, with `w`'s cell.
fn owned_view_cells(o: &Observation, i: usize) -> BTreeMap<ViewKey, Option<crate::Cell>> {
    let me = NodeId(i as u8);
    o.nodes[i]
        .view
        .iter()
        .filter(|(vk, _)| o.ring.view_replicas(**vk).contains(&me))
        .filter_map(|(vk, r)| r.resolve_cell(o.rules).map(|w| (*vk, w)))
        .collect()
}

/// The view the merged base rows imply, `(v, k) -> w` with `w`'s cell (timestamp included).
pub fn derive_view_cells(base: &BTreeMap<Key, BaseRow>) -> BTreeMap<ViewKey, Option<crate::Cell>> {
    base.iter()
        .filter(|(_, r)| r.resolve().is_some())
        .filter_map(|(&k, r)| r.live_v().map(|v| (ViewKey { v, k }, r.live_w_cell())))
        .collect()
}

/// P-replica-converge.
pub fn replica_converge(o: &Observation) -> bool {
    if !o.quiescent {
        return true;
    }
    let derived = derive_view_cells(&crate::merge_base(o.nodes.iter().map(|n| &n.base)));
    (0..o.nodes.len()).all(|i| {
        let me = NodeId(i as u8);
        let want = derived
            .iter()
            .filter(|(vk, _)| o.ring.view_replicas(**vk).contains(&me))
            .map(|(a, b)| (*a, *b));
        owned_view_cells(o, i).into_iter().eq(want)
    })
}

/// P-verify: the check (`crate::verify`) is silent exactly when P-replica-converge holds,
/// and final, at a quiescent state.
pub fn verify(o: &Observation) -> bool {
    if !o.quiescent {
        return true;
    }
    let found = crate::verify::classify(o);
    found.is_empty() == replica_converge(o) && found.iter().all(|f| f.pending.is_none())
}

/// The view-consistency check's findings on the partitions view-repaired since the last
/// fault: what a repair that ran once the faults stopped left wrong.
fn repaired_findings(o: &Observation) -> Vec<crate::verify::Finding> {
    if !o.quiescent || !o.history.any_repaired() {
        return Vec::new();
    }
    crate::verify::classify(o)
        .into_iter()
        .filter(|f| o.history.was_repaired(f.key.k))
        .collect()
}

/// Whether a finding shows the view holding something the base has not got live: a row
/// whose base row is gone or has moved, or a `w` value the base has deleted. The other
/// findings hide something the base has.
fn resurrects(f: &crate::verify::Finding) -> bool {
    use crate::verify::Class;
    match f.class {
        Class::Orphan | Class::Duplicate => true,
        Class::MissingInView => false,
        Class::Mismatch => {
            let value = |c: Option<Option<crate::Cell>>| c.flatten().and_then(|c| c.value);
            value(f.have).is_some() && value(f.want).is_none()
        }
    }
}

fn repair(o: &Observation) -> bool {
    repaired_findings(o).is_empty()
}

fn no_resurrect(o: &Observation) -> bool {
    !repaired_findings(o).iter().any(resurrects)
}

fn no_clobber(o: &Observation) -> bool {
    repaired_findings(o).iter().all(resurrects)
}

fn repair_witness(o: &Observation) -> bool {
    o.quiescent && o.history.any_repaired() && !o.visible_view().is_empty()
}

fn no_resurrect_witness(o: &Observation) -> bool {
    o.quiescent && o.history.any_repaired() && o.history.has(History::REPAIR_DELETED)
}

fn no_clobber_witness(o: &Observation) -> bool {
    o.quiescent && o.history.any_repaired() && o.history.has(History::AFTER_REPAIR)
}

fn verify_witness(o: &Observation) -> bool {
    !o.quiescent && crate::verify::classify(o).iter().any(|f| f.pending.is_some())
}

fn any_write_acked(o: &Observation) -> bool {
    o.writes.iter().any(|w| w.outcome == Outcome::Ok)
}

fn converge_witness(o: &Observation) -> bool {
    o.quiescent && o.history.has(History::REGEN) && !o.visible_view().is_empty()
}

fn replica_converge_witness(o: &Observation) -> bool {
    o.quiescent && o.history.has(History::HINT) && !o.visible_view().is_empty()
}

/// Some view row is stored on a replica but no longer visible: a deletion happened.
fn orphan_witness(o: &Observation) -> bool {
    o.quiescent
        && o.history.has(History::REMOTE_SWITCH)
        && o.merged_view().values().any(|r| r.resolve(o.rules).is_none())
}

fn missing_witness(o: &Observation) -> bool {
    o.quiescent && o.history.has(History::REPLAY) && o.visible_base().values().any(|r| r.v.is_some())
}

fn one_row_witness(o: &Observation) -> bool {
    if !o.quiescent || !o.history.has(History::REMOTE_SWITCH) {
        return false;
    }
    let merged = o.merged_view();
    merged.iter().any(|(dead, r)| {
        r.resolve(o.rules).is_none()
            && merged
                .iter()
                .any(|(live, r2)| live.k == dead.k && live.v != dead.v && r2.resolve(o.rules).is_some())
    })
}

fn cells_witness(o: &Observation) -> bool {
    o.quiescent && o.history.has(History::HINT) && o.visible_view().values().any(|w| w.is_some())
}

fn durable_witness(o: &Observation) -> bool {
    o.quiescent && o.history.has(History::ACKED_CRASH) && any_write_acked(o)
}

/// The key a `LIMIT 1` read of view partition `v` must return from one node's rows `view`:
/// the first row in clustering order (`k`) that is live under `rules`, or `None`.
pub fn first_live(view: &BTreeMap<ViewKey, crate::ViewRow>, v: crate::Val, rules: crate::ReadRules) -> Option<Key> {
    view.iter()
        .filter(|(vk, _)| vk.v == v)
        .find(|(_, r)| r.resolve_cell(rules).is_some())
        .map(|(vk, _)| vk.k)
}

/// Why P-limit rejects node `i`'s reads, in data terms; `None` when every read is right or
/// the node's reads were not observed (an older trace).
fn limit_failure(o: &Observation, i: usize) -> Option<String> {
    let n = &o.nodes[i];
    let me = NodeId(i as u8);
    let reads = n.limit_reads.as_ref()?;
    let stored = crate::obs::LimitRead::partitions(&n.view);
    if let Some(v) = stored.iter().find(|v| !reads.iter().any(|r| r.v == **v)) {
        return Some(format!("{me} stores rows of view partition v={v} but did not read it"));
    }
    if let Some(r) = reads.iter().find(|r| !stored.contains(&r.v)) {
        return Some(format!("{me} read view partition v={}, of which it stores no row", r.v));
    }
    reads.iter().find_map(|r| {
        let want = first_live(&n.view, r.v, o.rules);
        let row = |k: Option<Key>| k.map_or("no row".to_string(), |k| ViewKey { v: r.v, k }.to_string());
        (r.k != want).then(|| {
            format!(
                "{me}'s LIMIT 1 read of view partition v={} returns {}, but the first row it stores live is {}",
                r.v,
                row(r.k),
                row(want)
            )
        })
    })
}

/// P-limit.
pub fn limit(o: &Observation) -> bool {
    !o.quiescent || (0..o.nodes.len()).all(|i| limit_failure(o, i).is_none())
}

/// A read that returned a row after a dead one that would count as a row without strict
/// liveness: an expired marker and a live `w`.
fn limit_witness(o: &Observation) -> bool {
    o.quiescent
        && o.nodes.iter().any(|n| {
            n.limit_reads.iter().flatten().any(|r| {
                r.k.is_some_and(|k| {
                    n.view.iter().any(|(vk, row)| {
                        vk.v == r.v
                            && vk.k < k
                            && row.resolve_cell(o.rules).is_none()
                            && row.marker.is_some_and(|m| m.expired)
                            && row.w.is_some_and(|c| c.is_live(row.effective_deletion()))
                    })
                })
            })
        })
}

/// P-converge's second witness, for A4: a merged view row whose marker is a TTL'd one read
/// after the deadline, hidden though its `w` is live. Only the clock step (`Expire`) makes
/// such a marker, and only strict liveness keeps the live `w` from showing the row, so the
/// state is one where A4's stale view row could have been and is not. (P-converge's first
/// witness needs a crash, which A4 does not.)
fn ttl_witness(o: &Observation) -> bool {
    o.quiescent
        && o.merged_view().values().any(|r| {
            r.marker.is_some_and(|m| m.ttl && m.expired)
                && r.resolve(o.rules).is_none()
                && r.w.is_some_and(|c| c.is_live(r.effective_deletion()))
        })
}

/// Says, in data terms, why `always` property `id` fails on `o`: the rows, replicas or write
/// that break it, e.g. `the view has (v=1,k=0) and (v=2,k=0) live for base k=0`. `None` when
/// it holds (or `id` is a witness), so a report can end a counterexample with the fact it
/// shows instead of only the property's name.
pub fn explain(id: &str, o: &Observation) -> Option<String> {
    let def = property(id)?;
    if def.kind != Kind::Always || (def.holds)(o) {
        return None;
    }
    let w = |x: Option<crate::Val>| x.map_or("null".to_string(), |v| v.to_string());
    let cell = |c: Option<crate::Cell>| {
        c.map_or("null".to_string(), |c| {
            format!("{}@{}", c.value.map_or("null".to_string(), |v| v.to_string()), c.ts)
        })
    };
    let base = o.visible_base();
    let view = o.visible_view();
    let found = match id {
        "P-converge" => {
            let derived = crate::derive_view(&base);
            let keys: std::collections::BTreeSet<ViewKey> = view.keys().chain(derived.keys()).copied().collect();
            let first = keys.iter().find_map(|vk| match (view.get(vk), derived.get(vk)) {
                (Some(a), Some(b)) if a != b => Some(format!(
                    "a read at ALL gives view row {vk} w={}, but base k={} implies w={}",
                    w(*a),
                    vk.k,
                    w(*b)
                )),
                (Some(a), None) => Some(format!(
                    "a read at ALL gives view row {vk} w={}, which base k={} does not imply",
                    w(*a),
                    vk.k
                )),
                (None, Some(_)) => Some(format!(
                    "base k={} implies view row {vk}, which a read at ALL does not give",
                    vk.k
                )),
                _ => None,
            });
            first
        }
        "P-replica-converge" => {
            let derived = derive_view_cells(&crate::merge_base(o.nodes.iter().map(|n| &n.base)));
            (0..o.nodes.len()).find_map(|i| {
                let me = NodeId(i as u8);
                let owns = |vk: &ViewKey| o.ring.view_replicas(*vk).contains(&me);
                let mine = owned_view_cells(o, i);
                let keys: std::collections::BTreeSet<ViewKey> = mine
                    .keys()
                    .chain(derived.keys().filter(|vk| owns(vk)))
                    .copied()
                    .collect();
                let first = keys.iter().find_map(|vk| match (mine.get(vk), derived.get(vk)) {
                    (Some(a), Some(b)) if a != b => Some(format!(
                        "view replica {me} has {vk} w={}, but the base implies w={}",
                        cell(*a),
                        cell(*b)
                    )),
                    (Some(a), None) => Some(format!(
                        "view replica {me} has {vk} w={} live, which the base does not imply",
                        cell(*a)
                    )),
                    (None, Some(_)) => Some(format!("view replica {me} lacks {vk}, which the base implies")),
                    _ => None,
                });
                first
            })
        }
        "P-no-orphan" => view
            .keys()
            .find(|vk| !base.contains_key(&vk.k))
            .map(|vk| format!("view row {vk} is live, but base row k={} is not", vk.k)),
        "P-no-missing" => base.iter().find_map(|(&k, r)| {
            let vk = ViewKey { v: r.v?, k };
            (!view.contains_key(&vk))
                .then(|| format!("base row k={k} is live with v={}, but the view has no row {vk}", vk.v))
        }),
        "P-one-row" => {
            let mut by_k: BTreeMap<Key, Vec<ViewKey>> = BTreeMap::new();
            for vk in view.keys() {
                by_k.entry(vk.k).or_default().push(*vk);
            }
            by_k.into_iter().find(|(_, v)| v.len() > 1).map(|(k, vks)| {
                let rows: Vec<String> = vks.iter().map(|vk| vk.to_string()).collect();
                format!("the view has {} live for base k={k}", rows.join(" and "))
            })
        }
        "P-cells" => view.iter().find_map(|(vk, vw)| {
            let b = base.get(&vk.k)?;
            (b.v == Some(vk.v) && b.w != *vw).then(|| {
                format!(
                    "view row {vk} has w={}, but base row k={} has w={}",
                    w(*vw),
                    vk.k,
                    w(b.w)
                )
            })
        }),
        "P-durable" => {
            let merged = crate::merge_base(o.nodes.iter().map(|n| &n.base));
            o.writes.iter().filter(|x| x.outcome == Outcome::Ok).find_map(|x| {
                let holding = holding(o, x);
                let need = x.cl.required(o.ring.rf) as usize;
                if holding < need {
                    return Some(format!(
                        "{} [{}] was acknowledged at {}, but only {holding} of the {need} base replicas it needs hold it",
                        x.write, x.stmt, x.cl
                    ));
                }
                let row = merged.get(&x.stmt.k).copied().unwrap_or_default();
                (o.quiescent && current(&row, &x.stmt)).then(|| {
                    format!(
                        "{} [{}] was acknowledged and still wins in base k={}, but the view rows of k={} are not what it implies",
                        x.write, x.stmt, x.stmt.k, x.stmt.k
                    )
                })
            })
        }
        "P-limit" => (0..o.nodes.len()).find_map(|i| limit_failure(o, i)),
        "P-verify" => {
            let found = crate::verify::classify(o);
            Some(match found.first() {
                None => "the check reports the view in sync, but a view replica disagrees with the base".to_string(),
                Some(f) if f.pending.is_some() => format!("at a quiescent state the check still reports {f}"),
                Some(f) => format!("the check reports {f}, but every view replica agrees with the base"),
            })
        }
        _ => None,
    };
    Some(found.map_or_else(|| format!("{id} fails ({})", def.sentence), |f| format!("{f} ({id})")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::obs::{LimitRead, NodeObservation};
    use crate::{Cell, Liveness, Pairing, ReadRules, Ring, ViewRow};

    const STRICT: ReadRules = ReadRules { strict_liveness: true };

    /// A17's partition on one node: `(1,0)` moved away (expired marker at 1, `w=1` live),
    /// then the live `(1,1)`; `w0` is `(1,0)`'s `w`.
    fn node(w0: Option<Cell>, reads: Option<Vec<LimitRead>>) -> NodeObservation {
        let mut n = NodeObservation {
            up: true,
            limit_reads: reads,
            ..Default::default()
        };
        n.view.insert(
            ViewKey { v: 1, k: 0 },
            ViewRow {
                marker: Some(Liveness::dead(1)),
                w: w0,
                ..Default::default()
            },
        );
        n.view.insert(
            ViewKey { v: 1, k: 1 },
            ViewRow {
                marker: Some(Liveness::live(1)),
                w: Some(Cell::new(1, Some(1))),
                ..Default::default()
            },
        );
        n
    }

    fn obs(rules: ReadRules, n: NodeObservation) -> Observation {
        Observation {
            ring: Ring {
                nodes: 1,
                rf: 1,
                pairing: Pairing::SelfFirst,
            },
            rules,
            nodes: vec![n],
            writes: vec![],
            quiescent: true,
            history: History::default(),
        }
    }

    const W1: Option<Cell> = Some(Cell::new(1, Some(1)));

    fn read(v: crate::Val, k: Option<Key>) -> LimitRead {
        LimitRead { v, k }
    }

    #[test]
    fn the_first_live_row_depends_on_strict_liveness() {
        let n = node(W1, None);
        assert_eq!(first_live(&n.view, 1, STRICT), Some(1));
        assert_eq!(first_live(&n.view, 1, ReadRules { strict_liveness: false }), Some(0));
        assert_eq!(first_live(&n.view, 2, STRICT), None);
    }

    #[test]
    fn a_read_that_skips_the_dead_row_holds_and_witnesses() {
        let o = obs(STRICT, node(W1, Some(vec![read(1, Some(1))])));
        assert!(limit(&o));
        assert!(limit_witness(&o));
        assert_eq!(explain("P-limit", &o), None);
    }

    /// A17: the dead row used up the limit, so the read returns nothing.
    #[test]
    fn a_read_that_stops_at_the_dead_row_violates() {
        let o = obs(STRICT, node(W1, Some(vec![read(1, None)])));
        assert!(!limit(&o));
        assert!(!limit_witness(&o));
        let why = explain("P-limit", &o).expect("violated");
        assert!(why.contains("returns no row"), "{why}");
        assert!(why.contains(&ViewKey { v: 1, k: 1 }.to_string()), "{why}");
    }

    #[test]
    fn returning_the_dead_row_violates() {
        assert!(!limit(&obs(STRICT, node(W1, Some(vec![read(1, Some(0))])))));
    }

    /// Without a live cell the skipped row would not count even without strict liveness:
    /// the read did not need the mechanism.
    #[test]
    fn skipping_a_row_without_a_live_cell_is_no_witness() {
        for w0 in [None, Some(Cell::new(1, None))] {
            let o = obs(STRICT, node(w0, Some(vec![read(1, Some(1))])));
            assert!(limit(&o));
            assert!(!limit_witness(&o), "{w0:?}");
        }
    }

    /// Without strict liveness the row with the expired marker is live, and first.
    #[test]
    fn non_strict_reads_return_the_first_row() {
        let rules = ReadRules { strict_liveness: false };
        let o = obs(rules, node(W1, Some(vec![read(1, Some(0))])));
        assert!(limit(&o));
        assert!(!limit_witness(&o));
        assert!(!limit(&obs(rules, node(W1, Some(vec![read(1, Some(1))])))));
    }

    #[test]
    fn every_stored_partition_is_read_and_no_other() {
        let missing = obs(STRICT, node(W1, Some(vec![])));
        assert!(!limit(&missing));
        assert!(explain("P-limit", &missing).unwrap().contains("did not read"));
        let extra = obs(STRICT, node(W1, Some(vec![read(1, Some(1)), read(2, None)])));
        assert!(!limit(&extra));
        assert!(explain("P-limit", &extra).unwrap().contains("stores no row"));
    }

    /// Traces written before reads were observed carry none: nothing to judge.
    #[test]
    fn unobserved_reads_hold_and_witness_nothing() {
        let o = obs(STRICT, node(W1, None));
        assert!(limit(&o));
        assert!(!limit_witness(&o));
    }

    /// As the other properties, P-limit speaks of quiescent states only.
    #[test]
    fn p_limit_is_judged_when_quiescent() {
        let wrong = Observation {
            quiescent: false,
            ..obs(STRICT, node(W1, Some(vec![read(1, None)])))
        };
        assert!(limit(&wrong));
        let right = Observation {
            quiescent: false,
            ..obs(STRICT, node(W1, Some(vec![read(1, Some(1))])))
        };
        assert!(!limit_witness(&right));
        assert_eq!(property("P-limit").map(|p| p.kind), Some(Kind::Always));
        assert_eq!(property("P-limit:witness").map(|p| p.kind), Some(Kind::Sometimes));
    }

    /// P-converge's TTL witness: a view row whose TTL'd marker has expired, hidden with a live
    /// `w`. Not before the deadline, not for a moved key's expired marker, and not where the
    /// row shows (no strict liveness: that is A4 itself).
    #[test]
    fn the_ttl_witness_needs_an_expired_key_hiding_a_live_cell() {
        let with = |marker: Liveness, rules: ReadRules, quiescent: bool| {
            let mut n = NodeObservation {
                up: true,
                ..Default::default()
            };
            n.view.insert(
                ViewKey { v: 1, k: 0 },
                ViewRow {
                    marker: Some(marker),
                    w: Some(Cell::new(2, Some(1))),
                    ..Default::default()
                },
            );
            ttl_witness(&Observation {
                quiescent,
                ..obs(rules, n)
            })
        };
        let ttl = Liveness {
            ttl: true,
            ..Liveness::live(1)
        };
        assert!(with(ttl.at(true), STRICT, true));
        assert!(!with(ttl.at(true), STRICT, false));
        assert!(!with(ttl, STRICT, true), "before the deadline");
        assert!(
            !with(Liveness::dead(1), STRICT, true),
            "a moved key, not an expired one"
        );
        assert!(!with(ttl.at(true), ReadRules { strict_liveness: false }, true));
        assert_eq!(
            property("P-converge:ttl-witness").map(|p| p.kind),
            Some(Kind::Sometimes)
        );
    }
}
