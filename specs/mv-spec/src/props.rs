//! The properties of `specs/properties.md`, as predicates over an [`Observation`].
//!
//! Every `always` property comes with a `sometimes` witness (same id, suffix `:witness`) that
//! shows the property was checked on states where it could have failed: a pass is never
//! vacuous. Convergence-style properties are guarded by quiescence (`always` over quiescent
//! states), not stated with `eventually`, because Stateright's `eventually` misses violations
//! on cyclic paths and never fires when crash actions are always enabled.

use crate::obs::{Observation, Outcome};
use crate::{BaseRow, Cl, Key, Statement};
use serde::{Deserialize, Serialize};

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
}

/// Every property, in the order reports list them.
pub const PROPERTIES: &[PropertyDef] = &[
    PropertyDef {
        id: "P-converge",
        kind: Kind::Always,
        sentence: "when quiescent, the view merged across replicas equals the view derived from the base merged across replicas",
        holds: converge,
    },
    PropertyDef {
        id: "P-no-orphan",
        kind: Kind::Always,
        sentence: "when quiescent, every live view row has a live base row",
        holds: no_orphan,
    },
    PropertyDef {
        id: "P-no-missing",
        kind: Kind::Always,
        sentence: "when quiescent, every live base row with a non-null view key has its view row",
        holds: no_missing,
    },
    PropertyDef {
        id: "P-one-row",
        kind: Kind::Always,
        sentence: "when quiescent, a base row has at most one live view row",
        holds: one_row,
    },
    PropertyDef {
        id: "P-cells",
        kind: Kind::Always,
        sentence: "when quiescent, the cells of a view row equal the cells of its base row",
        holds: cells,
    },
    PropertyDef {
        id: "P-durable",
        kind: Kind::Always,
        sentence: "a write acknowledged at QUORUM or ALL is in the base on a quorum and, once quiescent, in the view",
        holds: durable,
    },
    PropertyDef {
        id: "P-converge:witness",
        kind: Kind::Sometimes,
        sentence: "a quiescent state with a live view row after an acknowledged write",
        holds: converge_witness,
    },
    PropertyDef {
        id: "P-no-orphan:witness",
        kind: Kind::Sometimes,
        sentence: "a quiescent state where a view row was deleted",
        holds: orphan_witness,
    },
    PropertyDef {
        id: "P-no-missing:witness",
        kind: Kind::Sometimes,
        sentence: "a quiescent state with a live base row with a non-null view key",
        holds: missing_witness,
    },
    PropertyDef {
        id: "P-one-row:witness",
        kind: Kind::Sometimes,
        sentence: "a quiescent state where a base row moved from one view row to another",
        holds: one_row_witness,
    },
    PropertyDef {
        id: "P-cells:witness",
        kind: Kind::Sometimes,
        sentence: "a quiescent state with a live view row whose w is not null",
        holds: cells_witness,
    },
    PropertyDef {
        id: "P-durable:witness",
        kind: Kind::Sometimes,
        sentence: "a quiescent state after a write acknowledged at QUORUM or ALL",
        holds: durable_witness,
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

/// P-durable.
pub fn durable(o: &Observation) -> bool {
    let strong = |cl: Cl| matches!(cl, Cl::Quorum | Cl::All);
    let acked = o.writes.iter().filter(|w| w.outcome == Outcome::Ok && strong(w.cl));
    let merged = crate::merge_base(o.nodes.iter().map(|n| &n.base));
    let view = if o.quiescent { Some(o.visible_view()) } else { None };
    for w in acked {
        let quorum = Cl::Quorum.required(o.ring.rf) as usize;
        let holding = o
            .ring
            .base_replicas(w.stmt.k)
            .iter()
            .filter(|n| {
                o.nodes[n.0 as usize]
                    .base
                    .get(&w.stmt.k)
                    .is_some_and(|r| covers(r, &w.stmt))
            })
            .count();
        if holding < quorum {
            return false;
        }
        // Once quiescent, if this write's view key is still the winning one, the view shows it.
        if let (Some(view), crate::Assign::Set(v)) = (&view, w.stmt.v) {
            let row = merged.get(&w.stmt.k).copied().unwrap_or_default();
            let current = row.v
                == Some(crate::Cell {
                    ts: w.stmt.ts,
                    value: Some(v),
                })
                && row.live_v() == Some(v);
            if current && !view.contains_key(&crate::ViewKey { v, k: w.stmt.k }) {
                return false;
            }
        }
    }
    true
}

fn any_write_acked(o: &Observation) -> bool {
    o.writes.iter().any(|w| w.outcome == Outcome::Ok)
}

fn converge_witness(o: &Observation) -> bool {
    o.quiescent && any_write_acked(o) && !o.visible_view().is_empty()
}

/// Some view row is stored on a replica but no longer visible: a deletion happened.
fn orphan_witness(o: &Observation) -> bool {
    o.quiescent && o.merged_view().values().any(|r| r.resolve(o.rules).is_none())
}

fn missing_witness(o: &Observation) -> bool {
    o.quiescent && o.visible_base().values().any(|r| r.v.is_some())
}

fn one_row_witness(o: &Observation) -> bool {
    if !o.quiescent {
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
    o.quiescent && o.visible_view().values().any(|w| w.is_some())
}

fn durable_witness(o: &Observation) -> bool {
    o.quiescent
        && o.writes
            .iter()
            .any(|w| w.outcome == Outcome::Ok && matches!(w.cl, Cl::Quorum | Cl::All))
}
