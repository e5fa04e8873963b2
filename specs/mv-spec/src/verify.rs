//! The view-consistency check (`specs/protocol.md`, "Detection"): every view replica's rows
//! against the view the base implies, merged across the base replicas.
//!
//! Seed 000's second complaint is that nobody can tell when a view is out of sync. This is
//! the answer both sides share: the model checks it on every reachable state (P-verify), and
//! `mvcheck verify` runs it on a simulated cluster or on the last state of a trace. It reads
//! only an [`Observation`], so it can judge any implementation that writes the trace format.
//!
//! For each view replica `r`, *want* is the derived view (`props::derive_view_cells` of the
//! merged base) restricted to the view partitions `r` owns, and *have* is `r`'s own live
//! rows there, each `(v, k) -> w` with `w`'s cell. Every key where they differ is one
//! [`Finding`]:
//!
//! * `MISSING_IN_VIEW`: want has `(v, k)`, have does not;
//! * `DUPLICATE`: have has `(v, k)` live, want does not, and base row `k` is live with another
//!   view key: the base row has a second view row;
//! * `ORPHAN`: have has `(v, k)` live, want does not, and base row `k` has no live row with a
//!   view key (a ghost);
//! * `MISMATCH`: both have `(v, k)`, with a different `w` (value or timestamp).
//!
//! Nothing else is reported, so the check is silent exactly when every view replica agrees
//! with the base (the exhaustive test below and P-verify on every model state).
//!
//! A finding is `pending` when the state is not quiescent and the observation shows work
//! queued for base key `k` that may still change it: a commit-log entry (B2 to B8), a local
//! batchlog entry or view hint (B6, B10) with a mutation of `k`, a base hint (W10), or a
//! coordinator batchlog entry (W7) of `k`; or when some node is down, since a down node's
//! restart replays what it holds. Messages in flight are not in an observation: a base write
//! on its way from a coordinator is backed by nothing durable yet, so the row it is about to
//! fix reads as out of sync until it lands. Only a quiescent state gives a final answer, and
//! there nothing is pending.

use crate::obs::Observation;
use crate::props::derive_view_cells;
use crate::{BatchId, Cell, Key, NodeId, ViewKey, WriteId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// How a view row disagrees with the base.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Class {
    /// The base implies a view row the replica does not have live.
    MissingInView,
    /// A live view row whose base row has no live view key (a ghost).
    Orphan,
    /// A live view row whose base row lives on under another view key.
    Duplicate,
    /// The view row exists on both sides, with a different `w` (value or timestamp).
    Mismatch,
}

impl Class {
    /// The label reports print.
    pub fn label(self) -> &'static str {
        match self {
            Class::MissingInView => "MISSING_IN_VIEW",
            Class::Orphan => "ORPHAN",
            Class::Duplicate => "DUPLICATE",
            Class::Mismatch => "MISMATCH",
        }
    }
}

impl fmt::Display for Class {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// The queued work that may still change a row, the first one found: why a finding is
/// pending.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Pending {
    /// A node is down; its restart replays what it holds.
    NodeDown {
        /// The node.
        node: NodeId,
    },
    /// A base write of the key between its two halves (B2 to B8).
    CommitLog {
        /// The base replica.
        node: NodeId,
        /// The write.
        write: WriteId,
    },
    /// A local batchlog entry with a view mutation of the key (B6).
    Batchlog {
        /// The base replica that holds it.
        node: NodeId,
        /// The entry.
        batch: BatchId,
    },
    /// A view hint with a mutation of the key (B10).
    Hint {
        /// The node that holds it.
        node: NodeId,
        /// The view replica it is for.
        target: NodeId,
    },
    /// A base hint for a write of the key (W10).
    BaseHint {
        /// The coordinator that holds it.
        node: NodeId,
        /// The base replica it is for.
        target: NodeId,
        /// The write.
        write: WriteId,
    },
    /// A coordinator batchlog entry for a write of the key (W7).
    CoordBatchlog {
        /// The batchlog node that holds it.
        node: NodeId,
        /// The write.
        write: WriteId,
    },
}

impl fmt::Display for Pending {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Pending::NodeDown { node } => write!(f, "{node} is down and replays what it holds on restart"),
            Pending::CommitLog { node, write } => write!(f, "{node} holds {write} in its commit log"),
            Pending::Batchlog { node, batch } => write!(f, "{node} holds batchlog entry {batch}"),
            Pending::Hint { node, target } => write!(f, "{node} holds a view hint for {target}"),
            Pending::BaseHint { node, target, write } => write!(f, "{node} holds a base hint of {write} for {target}"),
            Pending::CoordBatchlog { node, write } => write!(f, "{node} holds coordinator batchlog entry {write}"),
        }
    }
}

/// One view row on one view replica that disagrees with the base.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Finding {
    /// The view replica.
    pub replica: NodeId,
    /// The view row.
    pub key: ViewKey,
    /// How it disagrees.
    pub class: Class,
    /// Queued work for its base key that may still change it (never at a quiescent state).
    pub pending: Option<Pending>,
    /// `w` as the replica holds it, when the row is live there (`Some(None)`: live, `w` null
    /// or absent).
    pub have: Option<Option<Cell>>,
    /// `w` as the base implies it, when the base implies the row.
    pub want: Option<Option<Cell>>,
    /// The live view key of base row `k` in the merged base, if it has one.
    pub base_v: Option<crate::Val>,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cell = |c: Option<Option<Cell>>| match c {
            None => "no live row".to_string(),
            Some(None) => "live, w=null".to_string(),
            Some(Some(Cell { ts, value: Some(x), .. })) => format!("live, w={x}@{ts}"),
            Some(Some(Cell { ts, value: None, .. })) => format!("live, w=null@{ts}"),
        };
        write!(
            f,
            "{:<15} {} on {}: view {}; base k={} ",
            self.class.label(),
            self.key,
            self.replica,
            cell(self.have),
            self.key.k
        )?;
        match (self.want, self.base_v) {
            (Some(w), _) => write!(f, "implies it {}", cell(Some(w)))?,
            (None, Some(v)) => write!(f, "is live with v={v}")?,
            (None, None) => write!(f, "has no live row with a view key")?,
        }
        if let Some(why) = self.pending {
            write!(f, " (PENDING: {why})")?;
        }
        Ok(())
    }
}

/// Every disagreement between the view replicas and the base, ordered by replica and key.
pub fn classify(o: &Observation) -> Vec<Finding> {
    let merged = crate::merge_base(o.nodes.iter().map(|n| &n.base));
    let derived = derive_view_cells(&merged);
    let base_v: BTreeMap<Key, crate::Val> = derived.keys().map(|vk| (vk.k, vk.v)).collect();
    let pending = |k: Key| if o.quiescent { None } else { queued(o, k) };
    let mut out = Vec::new();
    for (i, node) in o.nodes.iter().enumerate() {
        let me = NodeId(i as u8);
        let owns = |vk: &ViewKey| o.ring.view_replicas(*vk).contains(&me);
        let have: BTreeMap<ViewKey, Option<Cell>> = node
            .view
            .iter()
            .filter(|(vk, _)| owns(vk))
            .filter_map(|(vk, r)| r.resolve_cell(o.rules).map(|w| (*vk, w)))
            .collect();
        let want: BTreeMap<ViewKey, Option<Cell>> = derived
            .iter()
            .filter(|(vk, _)| owns(vk))
            .map(|(vk, w)| (*vk, *w))
            .collect();
        let keys: std::collections::BTreeSet<ViewKey> = have.keys().chain(want.keys()).copied().collect();
        for vk in keys {
            let (h, w) = (have.get(&vk).copied(), want.get(&vk).copied());
            let class = match (h, w) {
                (Some(a), Some(b)) if a == b => continue,
                (Some(_), Some(_)) => Class::Mismatch,
                (None, Some(_)) => Class::MissingInView,
                (Some(_), None) if base_v.contains_key(&vk.k) => Class::Duplicate,
                (Some(_), None) => Class::Orphan,
                (None, None) => unreachable!("the key came from one of the two maps"),
            };
            out.push(Finding {
                replica: me,
                key: vk,
                class,
                pending: pending(vk.k),
                have: h,
                want: w,
                base_v: base_v.get(&vk.k).copied(),
            });
        }
    }
    out
}

/// The first work some node holds that a later step carries out and that may change base
/// key `k`'s view rows: a node down (it may hold anything), then, node by node, its commit
/// log, local batchlog, view hints, base hints and coordinator batchlog.
fn queued(o: &Observation, k: Key) -> Option<Pending> {
    if let Some(i) = o.nodes.iter().position(|n| !n.up) {
        return Some(Pending::NodeDown { node: NodeId(i as u8) });
    }
    o.nodes.iter().enumerate().find_map(|(i, n)| {
        let node = NodeId(i as u8);
        let of_k = |ms: &[crate::ViewMutation]| ms.iter().any(|m| m.key.k == k);
        n.commitlog
            .iter()
            .find(|e| e.stmt.k == k)
            .map(|e| Pending::CommitLog { node, write: e.write })
            .or_else(|| {
                n.batchlog
                    .iter()
                    .find(|b| b.pending.iter().any(|(_, ms)| of_k(ms)))
                    .map(|b| Pending::Batchlog { node, batch: b.batch })
            })
            .or_else(|| {
                n.hints
                    .iter()
                    .find(|h| of_k(&h.mutations))
                    .map(|h| Pending::Hint { node, target: h.target })
            })
            .or_else(|| {
                n.base_hints.iter().find(|h| h.stmt.k == k).map(|h| Pending::BaseHint {
                    node,
                    target: h.target,
                    write: h.write,
                })
            })
            .or_else(|| {
                n.coord_batchlog
                    .iter()
                    .find(|e| e.stmt.k == k)
                    .map(|e| Pending::CoordBatchlog { node, write: e.write })
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::obs::{CommitLogEntry, NodeObservation};
    use crate::{BaseRow, Liveness, Pairing, ReadRules, Ring, Statement, ViewRow};

    fn ring(nodes: u8, rf: u8) -> Ring {
        Ring {
            nodes,
            rf,
            pairing: Pairing::SelfFirst,
        }
    }

    fn live(ts: u8) -> Option<Liveness> {
        Some(Liveness::live(ts))
    }

    /// Every base row over values 1..2 and timestamps 1..2 that has a say in the view: none,
    /// live with `v` (and `w` set or not), live without `v`, deleted.
    fn base_rows() -> Vec<Option<BaseRow>> {
        let mut out = vec![None];
        for v in [None, Some(1), Some(2)] {
            for w in [None, Some(Cell::new(1, Some(1)))] {
                out.push(Some(BaseRow {
                    marker: Some(1),
                    deletion: None,
                    v: v.map(|v| Cell::new(1, Some(v))),
                    w,
                }));
            }
        }
        out.push(Some(BaseRow {
            marker: Some(1),
            deletion: Some(2),
            v: Some(Cell::new(1, Some(1))),
            w: None,
        }));
        out
    }

    /// Every view table over the two view keys of base `k = 0`: each row absent, live with
    /// or without `w` (at one of two timestamps), or dead.
    fn view_tables() -> Vec<BTreeMap<ViewKey, ViewRow>> {
        let rows: Vec<Option<ViewRow>> = vec![
            None,
            Some(ViewRow {
                marker: live(1),
                ..ViewRow::default()
            }),
            Some(ViewRow {
                marker: live(1),
                w: Some(Cell::new(1, Some(1))),
                ..ViewRow::default()
            }),
            Some(ViewRow {
                marker: live(1),
                w: Some(Cell::new(2, Some(1))),
                ..ViewRow::default()
            }),
            Some(ViewRow {
                marker: Some(Liveness::dead(1)),
                ..ViewRow::default()
            }),
        ];
        let mut out = Vec::new();
        for a in &rows {
            for b in &rows {
                let mut t = BTreeMap::new();
                if let Some(r) = a {
                    t.insert(ViewKey { v: 1, k: 0 }, *r);
                }
                if let Some(r) = b {
                    t.insert(ViewKey { v: 2, k: 0 }, *r);
                }
                out.push(t);
            }
        }
        out
    }

    fn observation(ring: Ring, bases: &[Option<BaseRow>], views: &[BTreeMap<ViewKey, ViewRow>]) -> Observation {
        Observation {
            ring,
            rules: ReadRules { strict_liveness: true },
            nodes: bases
                .iter()
                .zip(views)
                .map(|(b, v)| NodeObservation {
                    up: true,
                    base: b.iter().map(|r| (0, *r)).collect(),
                    view: v.clone(),
                    ..NodeObservation::default()
                })
                .collect(),
            writes: vec![],
            quiescent: true,
            history: Default::default(),
        }
    }

    /// Two nodes at RF 2 (every node replicates everything) and at RF 1 (base k=0 on n0, view
    /// v=1 on n1 and v=2 on n0), every pair of base rows and view tables: the check is silent
    /// exactly when P-replica-converge holds, each finding's class matches its definition
    /// stated independently, and a quiescent state has nothing pending.
    #[test]
    fn silent_exactly_when_every_view_replica_agrees() {
        let mut cases = 0;
        let mut seen = std::collections::BTreeSet::new();
        for ring in [ring(2, 2), ring(2, 1)] {
            for b0 in base_rows() {
                for b1 in base_rows() {
                    for v0 in view_tables() {
                        for v1 in view_tables() {
                            let o = observation(ring, &[b0, b1], &[v0.clone(), v1]);
                            let found = classify(&o);
                            cases += 1;
                            assert_eq!(
                                found.is_empty(),
                                crate::props::replica_converge(&o),
                                "{ring:?} {b0:?} {b1:?} {found:?}"
                            );
                            let merged = crate::merge_base(o.nodes.iter().map(|n| &n.base));
                            let live_v = merged
                                .get(&0)
                                .filter(|r| r.resolve().is_some())
                                .and_then(|r| r.live_v());
                            for f in &found {
                                seen.insert(f.class);
                                assert!(f.pending.is_none(), "nothing is pending at a quiescent state");
                                assert!(ring.view_replicas(f.key).contains(&f.replica), "only owned rows");
                                let stored = o.nodes[f.replica.0 as usize].view.get(&f.key);
                                let is_live = stored.is_some_and(|r| r.resolve(o.rules).is_some());
                                let implied = live_v == Some(f.key.v);
                                match f.class {
                                    Class::MissingInView => assert!(implied && !is_live),
                                    Class::Mismatch => assert!(implied && is_live && f.have != f.want),
                                    Class::Duplicate => {
                                        assert!(!implied && is_live && live_v.is_some_and(|v| v != f.key.v))
                                    }
                                    Class::Orphan => assert!(!implied && is_live && live_v.is_none()),
                                }
                            }
                        }
                    }
                }
            }
        }
        assert_eq!(cases, 2 * 8 * 8 * 25 * 25);
        assert_eq!(seen.len(), 4, "every class occurs: {seen:?}");
    }

    /// Before quiescence, a finding on a key with queued work is pending, and one on a key
    /// without is not; a node down makes every finding pending.
    #[test]
    fn queued_work_makes_a_finding_pending() {
        let row = BaseRow {
            marker: Some(1),
            deletion: None,
            v: Some(Cell::new(1, Some(1))),
            w: None,
        };
        let mut o = observation(ring(2, 2), &[Some(row), Some(row)], &[BTreeMap::new(), BTreeMap::new()]);
        o.quiescent = false;
        let f = classify(&o);
        assert_eq!(f.len(), 2);
        assert!(f.iter().all(|f| f.class == Class::MissingInView && f.pending.is_none()));
        o.nodes[1].commitlog.push(CommitLogEntry {
            write: crate::WriteId(1),
            stmt: Statement::insert(0, Some(1), None, 1),
            reply_to: NodeId(0),
        });
        let why = Pending::CommitLog {
            node: NodeId(1),
            write: crate::WriteId(1),
        };
        assert!(classify(&o).iter().all(|f| f.pending == Some(why)));
        assert_eq!(why.to_string(), "n1 holds w1 in its commit log");
        o.nodes[1].commitlog[0].stmt.k = 1;
        assert!(classify(&o).iter().all(|f| f.pending.is_none()), "work for another key");
        o.nodes[1].up = false;
        assert!(classify(&o)
            .iter()
            .all(|f| f.pending == Some(Pending::NodeDown { node: NodeId(1) })));
        o.quiescent = true;
        assert!(classify(&o).iter().all(|f| f.pending.is_none()));
    }
}
