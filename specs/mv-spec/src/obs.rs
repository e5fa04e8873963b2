//! Observations: what the model and the implementation both project their state to.
//!
//! Properties are predicates over an [`Observation`], never over either side's internals, so
//! that one definition of "correct" judges both.

use crate::{
    BaseRow, BatchId, Cl, Key, NodeId, ReadRules, Ring, Statement, Val, ViewKey, ViewMutation, ViewRow, WriteId,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One node's durable tables and queues. A node that is down still has them on disk.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct NodeObservation {
    /// Whether the node is up.
    pub up: bool,
    /// Its base table. (Maps travel as `[key, row]` lists: JSON keys must be strings.)
    #[serde(with = "crate::trace::entries")]
    pub base: BTreeMap<Key, BaseRow>,
    /// Its view table.
    #[serde(with = "crate::trace::entries")]
    pub view: BTreeMap<ViewKey, ViewRow>,
    /// Local batchlog entries not yet fully acknowledged, ascending batch ids, each with the
    /// mutations every view replica still owes an ack for.
    pub batchlog: Vec<BatchlogEntry>,
    /// Hints held for view replicas, ascending (target, batch), with their mutations.
    pub hints: Vec<Hint>,
    /// Hints held for base replicas (W10), ascending (target, write), with their statements.
    pub base_hints: Vec<BaseHint>,
    /// Writes between the two halves of the base replica's work (commit log entries),
    /// ascending write ids, with what replay would apply and whom it acks.
    pub commitlog: Vec<CommitLogEntry>,
    /// Coordinator batchlog entries held by this node, ascending write ids.
    pub coord_batchlog: Vec<CoordBatchlogEntry>,
    /// The timers armed on this node, in order. A step that should arm a timer and does not
    /// (a replay timer not re-armed after a restart) shows here at that very step; the tables
    /// would show it only once the work it guards went missing. Absent in traces written
    /// before timers were observed, which then read as none armed.
    #[serde(default)]
    pub timers: Vec<crate::Timer>,
    /// The node's own `SELECT k FROM mv WHERE v = x LIMIT 1` of every view partition it
    /// stores a row of, ascending `v`: what a read served by this replica alone returns
    /// (A17). Absent in traces written before reads were observed; P-limit then has nothing
    /// to judge on that node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit_reads: Option<Vec<LimitRead>>,
}

/// One `LIMIT 1` read of a view partition on one node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LimitRead {
    /// The view partition read.
    pub v: Val,
    /// The clustering key (base `k`) of the row returned; `None` when it returned none.
    pub k: Option<Key>,
}

impl LimitRead {
    /// The view partitions a node stores rows of, ascending: those its reads cover.
    pub fn partitions(view: &BTreeMap<ViewKey, ViewRow>) -> Vec<Val> {
        let mut vs: Vec<Val> = view.keys().map(|vk| vk.v).collect();
        vs.dedup();
        vs
    }
}

/// A commit-log entry: a base write between its two halves. Its contents are observed, not
/// only its id, so that a replay that would apply or ack something else diverges at the step
/// that wrote the entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CommitLogEntry {
    /// The write attempt.
    pub write: WriteId,
    /// The statement the second half (or replay) applies.
    pub stmt: Statement,
    /// Whom the base replica acks: the coordinator, or a node replaying its coordinator
    /// batchlog.
    pub reply_to: NodeId,
}

/// A local batchlog entry (B6): per view replica, the view mutations it has not acked yet.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BatchlogEntry {
    /// The entry.
    pub batch: BatchId,
    /// Ascending view replicas, each with its unacked mutations in generation order.
    pub pending: Vec<(NodeId, Vec<ViewMutation>)>,
}

impl BatchlogEntry {
    /// The entries of a local batchlog as both sides keep it (batch -> view replica ->
    /// unacked mutations), in the observed order.
    pub fn all(log: &BTreeMap<BatchId, BTreeMap<NodeId, Vec<ViewMutation>>>) -> Vec<BatchlogEntry> {
        log.iter()
            .map(|(&batch, pending)| BatchlogEntry {
                batch,
                pending: pending.iter().map(|(&t, ms)| (t, ms.clone())).collect(),
            })
            .collect()
    }
}

/// A hint (B10): view mutations held for a view replica until it acks them.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Hint {
    /// The view replica.
    pub target: NodeId,
    /// The batchlog entry the mutations came from.
    pub batch: BatchId,
    /// The mutations, in generation order.
    pub mutations: Vec<ViewMutation>,
}

impl Hint {
    /// The hints of a hint store as both sides keep it (target -> batch -> mutations), in
    /// the observed order.
    pub fn all(store: &BTreeMap<NodeId, BTreeMap<BatchId, Vec<ViewMutation>>>) -> Vec<Hint> {
        store
            .iter()
            .flat_map(|(&target, hs)| {
                hs.iter().map(move |(&batch, ms)| Hint {
                    target,
                    batch,
                    mutations: ms.clone(),
                })
            })
            .collect()
    }
}

/// A base hint (W10): a base write a coordinator holds for a base replica that did not ack it
/// before the write timed out, until the replica acks its delivery (W11, W12).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BaseHint {
    /// The base replica.
    pub target: NodeId,
    /// The write attempt.
    pub write: WriteId,
    /// The statement delivery sends.
    pub stmt: Statement,
}

impl BaseHint {
    /// The base hints of a hint store as both sides keep them (target -> write -> statement),
    /// in the observed order.
    pub fn all(store: &BTreeMap<NodeId, BTreeMap<WriteId, Statement>>) -> Vec<BaseHint> {
        store
            .iter()
            .flat_map(|(&target, hs)| hs.iter().map(move |(&write, &stmt)| BaseHint { target, write, stmt }))
            .collect()
    }
}

/// A coordinator batchlog entry (W7) held by a batchlog node.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CoordBatchlogEntry {
    /// The write attempt.
    pub write: WriteId,
    /// The statement a replay sends.
    pub stmt: Statement,
    /// The coordinator that wrote the entry.
    pub coordinator: NodeId,
    /// Ascending base replicas that have not acked a replayed write yet.
    pub pending: Vec<NodeId>,
}

/// What the client learned about one of its writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Outcome {
    /// Not sent yet.
    NotSent,
    /// Sent, no answer yet.
    Pending,
    /// The coordinator answered `WriteOk`: the consistency level was met.
    Ok,
    /// The coordinator answered `WriteTimeout`.
    Timeout,
}

/// One client write and what its client knows about it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct WriteRecord {
    /// The write.
    pub write: WriteId,
    /// Its statement.
    pub stmt: Statement,
    /// Its consistency level.
    pub cl: Cl,
    /// Its outcome so far.
    pub outcome: Outcome,
}

impl WriteRecord {
    /// A client's writes in script order, each with its outcome so far: the one projection of
    /// a client that both sides use.
    pub fn of_script(script: &crate::workload::ClientScript, outcomes: &[Outcome], cl: Cl) -> Vec<WriteRecord> {
        script
            .writes
            .iter()
            .zip(outcomes)
            .map(|(&(write, stmt), &outcome)| WriteRecord {
                write,
                stmt,
                cl,
                outcome,
            })
            .collect()
    }
}

/// The mechanisms a run has been through: a history the witnesses of `specs/properties.md`
/// need, because a quiescent state alone does not show how it was reached. Each flag is set
/// once, by the step that exercised the mechanism, and never cleared, except the partitions
/// view-repaired since the last fault ([`History::repaired`]) and the two view-repair flags,
/// which every fault clears.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct History(pub u16);

impl History {
    /// A view replica applied, from another node, a view write that deletes an old view row:
    /// a view key switched on a remote view replica.
    pub const REMOTE_SWITCH: History = History(1);
    /// A batchlog replay (B10) handed at least one unacknowledged mutation to the hint store.
    pub const REPLAY: History = History(2);
    /// A view replica applied a view write that hint delivery (B11) sent.
    pub const HINT: History = History(4);
    /// Commit-log replay (R2) regenerated view mutations for a write between its two halves.
    pub const REGEN: History = History(8);
    /// A base replica holding an acknowledged write crashed.
    pub const ACKED_CRASH: History = History(16);
    /// A view repair deleted a view row (R9): an orphan or a duplicate.
    pub const REPAIR_DELETED: History = History(32);
    /// A view write of the write path (a base write's own, a batchlog replay's or a hint's,
    /// not a view repair's) was applied on a view replica after a view repair.
    pub const AFTER_REPAIR: History = History(64);

    /// Where the per-partition bits start: bit `REPAIRED_SHIFT + k` says partition `k` was
    /// view-repaired (R6) and no fault happened since.
    const REPAIRED_SHIFT: u8 = 8;

    /// Every flag, with its name.
    pub const ALL: [(History, &'static str); 7] = [
        (History::REMOTE_SWITCH, "remote-switch"),
        (History::REPLAY, "batchlog-replay"),
        (History::HINT, "hint-delivered"),
        (History::REGEN, "commit-log-regenerated"),
        (History::ACKED_CRASH, "acked-replica-crashed"),
        (History::REPAIR_DELETED, "view-repair-deleted"),
        (History::AFTER_REPAIR, "write-after-view-repair"),
    ];

    /// The flag of partition `k` view-repaired since the last fault. Partitions are
    /// numbered below 8 (`Workload` keys are).
    pub fn repaired(k: crate::Key) -> History {
        assert!(k < 16 - Self::REPAIRED_SHIFT, "partition {k} has no view-repair flag");
        History(1 << (Self::REPAIRED_SHIFT + k))
    }

    /// Whether partition `k` was view-repaired and no fault happened since.
    pub fn was_repaired(self, k: crate::Key) -> bool {
        k < 16 - Self::REPAIRED_SHIFT && self.has(History::repaired(k))
    }

    /// Whether some partition was view-repaired and no fault happened since.
    pub fn any_repaired(self) -> bool {
        self.0 >> Self::REPAIRED_SHIFT != 0
    }

    /// A fault: no partition counts as repaired since the last fault any more, and what a
    /// view repair did before it no longer witnesses anything.
    pub fn fault(&mut self) {
        self.0 &= (1 << Self::REPAIRED_SHIFT) - 1;
        self.0 &= !(History::REPAIR_DELETED.0 | History::AFTER_REPAIR.0);
    }

    /// Whether every flag of `f` is set.
    pub fn has(self, f: History) -> bool {
        self.0 & f.0 == f.0
    }

    /// Sets the flags of `f`.
    pub fn set(&mut self, f: History) {
        self.0 |= f.0;
    }
}

/// A whole-cluster observation.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Observation {
    /// The ring the nodes were placed on.
    pub ring: Ring,
    /// How view rows are read.
    pub rules: ReadRules,
    /// Every node, indexed by `NodeId`.
    pub nodes: Vec<NodeObservation>,
    /// Every client write.
    pub writes: Vec<WriteRecord>,
    /// No message in flight that would change anything, no pending commit-log, batchlog or
    /// hint entry, and no node down. Computed by the side that observes.
    pub quiescent: bool,
    /// The mechanisms the run has been through (for witnesses).
    #[serde(default)]
    pub history: History,
}

impl Observation {
    /// The base rows visible after reconciling every replica (what a read at ALL returns).
    pub fn visible_base(&self) -> BTreeMap<Key, crate::ResolvedBase> {
        crate::merge_base(self.nodes.iter().map(|n| &n.base))
            .into_iter()
            .filter_map(|(k, r)| r.resolve().map(|r| (k, r)))
            .collect()
    }

    /// The view rows as stored, reconciled across every replica.
    pub fn merged_view(&self) -> BTreeMap<ViewKey, ViewRow> {
        crate::merge_view(self.nodes.iter().map(|n| &n.view))
    }

    /// The view rows visible after reconciling every replica: `(v, k) -> w`.
    pub fn visible_view(&self) -> BTreeMap<ViewKey, Option<crate::Val>> {
        self.merged_view()
            .into_iter()
            .filter_map(|(k, r)| r.resolve(self.rules).map(|w| (k, w)))
            .collect()
    }

    /// As [`Observation::visible_view`], with `w`'s cell (timestamp included).
    pub fn visible_view_cells(&self) -> BTreeMap<ViewKey, Option<crate::Cell>> {
        self.merged_view()
            .into_iter()
            .filter_map(|(k, r)| r.resolve_cell(self.rules).map(|w| (k, w)))
            .collect()
    }

    /// Whether any node still has queued work.
    pub fn has_pending_work(&self) -> bool {
        self.nodes.iter().any(|n| {
            !n.up
                || !n.batchlog.is_empty()
                || !n.hints.is_empty()
                || !n.base_hints.is_empty()
                || !n.commitlog.is_empty()
                || !n.coord_batchlog.is_empty()
        })
    }
}
