//! A node's disk by value, for a host that keeps it in files: [`Node::disk_image`] writes it
//! out, [`Node::recover`] builds the node a crash leaves from it.
//!
//! The simulation never needs this: its crash keeps the [`super::Disk`] inside the node. A
//! real process loses its memory, so a runtime must store exactly what the simulation's crash
//! keeps (no more: coordinator state, timers and the failure detector's news stay volatile)
//! and rebuild the same node from it. The image is that and nothing else. The tests below
//! hold the two paths to the same behaviour: a node crashed in memory and the node rebuilt
//! from its image restart to the same effects.

use super::{CommitEntry, CoordEntry, Disk, Node, Store, Switches};
use mv_spec::obs::{BaseHint, BatchlogEntry, CommitLogEntry, CoordBatchlogEntry, Hint};
use mv_spec::{Assign, BaseRow, Key, NodeId, Ring, Statement, ViewKey, ViewMutation, ViewRow};
use std::collections::{BTreeMap, BTreeSet};

/// Everything a node keeps across a crash, in `mv-spec`'s vocabulary, in ascending key order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DiskImage {
    /// The base table as stored.
    pub base: BTreeMap<Key, BaseRow>,
    /// The view table as stored.
    pub view: BTreeMap<ViewKey, ViewRow>,
    /// Base writes between their halves (B2..B8).
    pub commitlog: Vec<CommitLogEntry>,
    /// Local batchlog entries (B6).
    pub batchlog: Vec<BatchlogEntry>,
    /// The next local batch sequence number: durable, so that a restarted node never reuses
    /// a batch id a view replica may still ack.
    pub next_batch: u8,
    /// View hints (B10).
    pub hints: Vec<Hint>,
    /// Base hints (W10).
    pub base_hints: Vec<BaseHint>,
    /// Coordinator batchlog entries held (W7).
    pub coord_batchlog: Vec<CoordBatchlogEntry>,
    /// The node's TTL clock (0, or past the one deadline): not disk state in Cassandra, where
    /// `nowInSec` is the system clock, but a crash never turns time back, so the rebuilt node
    /// must read its TTLs at the same time as the crashed one.
    pub now: i64,
}

impl Node {
    /// The node's disk, by value.
    pub fn disk_image(&self) -> DiskImage {
        // Not through `observe`: that reads the tables at `now` and runs the LIMIT reads,
        // which the image does not keep, and a runtime takes an image at every step.
        DiskImage {
            // As stored, not as read now: a TTL'd cell is kept with its TTL, and the rebuilt
            // store decides again, at `now`, that it ran out.
            base: self.disk.store.base_rows().clone(),
            view: self.disk.store.view_rows().clone(),
            commitlog: self.commitlog_entries(),
            batchlog: BatchlogEntry::all(&self.disk.batchlog),
            next_batch: self.disk.next_batch,
            hints: Hint::all(&self.disk.hints),
            base_hints: BaseHint::all(&self.disk.base_hints),
            coord_batchlog: self.coord_batchlog_entries(),
            now: self.now,
        }
    }

    /// The node a crash leaves when its disk holds `image`: down, with no coordinator state,
    /// waiting for [`super::Input::Restart`] (R1-R3). Fails, naming the row, when the image
    /// holds something the storage engine does not store back as it is.
    pub fn recover(id: NodeId, ring: Ring, switches: Switches, image: &DiskImage) -> Result<Node, String> {
        let mut store = Store::new();
        for (&k, row) in &image.base {
            let mut stmts = BaseRow::default().repair_statements(k, row);
            if stmts.is_empty() {
                // A row the engine keeps with nothing in it: a write that set nothing.
                stmts.push(Statement::update(k, Assign::Keep, Assign::Keep, 0));
            }
            for s in &stmts {
                store.apply_base(s);
            }
            if store.read_base(k) != *row {
                return Err(format!("base row k={k} does not read back as stored: {row:?}"));
            }
        }
        for (&key, row) in &image.view {
            store.apply_view(&switches.view, &ViewMutation { key, row: *row });
            if store.view_rows().get(&key) != Some(row) {
                return Err(format!("view row {key:?} does not read back as stored: {row:?}"));
            }
        }
        let mut disk = Disk {
            store,
            next_batch: image.next_batch,
            ..Disk::default()
        };
        for e in &image.commitlog {
            disk.commitlog.insert(
                e.write,
                CommitEntry {
                    stmt: e.stmt,
                    reply_to: e.reply_to,
                },
            );
        }
        for e in &image.batchlog {
            disk.batchlog.insert(e.batch, e.pending.iter().cloned().collect());
        }
        for h in &image.hints {
            disk.hints
                .entry(h.target)
                .or_default()
                .insert(h.batch, h.mutations.clone());
        }
        for h in &image.base_hints {
            disk.base_hints.entry(h.target).or_default().insert(h.write, h.stmt);
        }
        for e in &image.coord_batchlog {
            disk.coord_batchlog.insert(
                e.write,
                CoordEntry {
                    stmt: e.stmt,
                    coordinator: e.coordinator,
                    pending: e.pending.iter().copied().collect::<BTreeSet<_>>(),
                },
            );
        }
        Ok(Node {
            id,
            ring,
            sw: switches,
            up: false,
            disk,
            coordinating: BTreeMap::new(),
            past_hint_window: BTreeSet::new(),
            now: image.now,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::Input;
    use crate::sim::{self, ClusterConfig, SimOptions};
    use mv_spec::variant::Variant;

    /// Crash in memory, or rebuild from the image: the same node, the same restart. Checked
    /// on every node of seeded runs of every variant, cut at several points, so the image
    /// meets commit-log entries, batchlog entries, hints and coordinator batchlogs.
    #[test]
    fn a_node_rebuilt_from_its_image_restarts_as_the_crashed_node_does() {
        let mut checked = 0;
        let mut pending = 0;
        for variant in Variant::ALL {
            let mut cfg = ClusterConfig::for_variant(variant);
            cfg.crashes = cfg.crashes.max(1);
            for seed in 0..12 {
                for steps in [3, 7, 15, 40] {
                    let run = sim::run(cfg.clone(), &SimOptions::new(seed, steps)).expect("the run starts");
                    for node in run.cluster.nodes() {
                        let image = node.disk_image();
                        let mut crashed = node.clone();
                        crashed.step(Input::Crash);
                        let mut rebuilt = Node::recover(node.id(), node.ring, node.sw, &image).expect("rebuilds");
                        assert_eq!(
                            rebuilt.observe(),
                            crashed.observe(),
                            "{variant:?} seed {seed} at {steps}"
                        );
                        assert_eq!(rebuilt.disk_image(), crashed.disk_image());
                        pending += usize::from(node.has_pending_work());
                        let (a, b) = (crashed.step(Input::Restart), rebuilt.step(Input::Restart));
                        assert_eq!(a, b, "{variant:?} seed {seed} at {steps}: the restarts differ");
                        assert_eq!(rebuilt.observe(), crashed.observe());
                        checked += 1;
                    }
                }
            }
        }
        assert!(
            pending > 50,
            "too few images with queued work to mean much: {pending} of {checked}"
        );
    }
}
