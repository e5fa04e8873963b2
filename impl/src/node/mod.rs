//! The distributed node: a sans-IO core that plays Coordinator, BaseReplica and ViewReplica.
//!
//! A [`Node`] is a state machine. The host (the simulation in [`crate::sim`], or a test that
//! replays a model path) feeds it one [`Input`] at a time and carries out the [`Output`]s it
//! returns: messages to send, timers to set or cancel, and records of what was made durable.
//! The node never reads a clock, a socket or a random number, so a run is a function of the
//! order of its inputs.
//!
//! **One input is one protocol step.** Each input corresponds to exactly one action of the
//! model (`mv-model`): a delivery, a timer firing, a crash, a restart, a data loss, a view
//! repair (which the host reads for, as the model's environment does), or the clock passing
//! the one TTL deadline (which the host gives every node in one step). That is
//! why a base write is split at B2 and B7 ([`Msg::BaseWrite`] runs B1 and B2, the
//! [`Timer::Generate`] timer B3 to B7, the [`Timer::ApplyBase`] timer B8) and why the partition lock (B1) makes a delivery
//! *not taken* rather than queueing it: the message simply stays in flight, as it does in the
//! model. [`Effects::taken`] says whether the input was a step at all; a host must not record
//! an input that was not taken, and the node guarantees it changed nothing.
//!
//! **Durable and volatile state** follow `specs/protocol.md` ("Fault model"): the [`Disk`]
//! (base and view tables, commit log, local batchlog, hints, coordinator batchlog) survives a
//! crash; the coordinator's writes in progress do not, and neither do timers, which belong to
//! the host. A permanent data loss wipes both.
//!
//! The node's own logic is written from the protocol document, independently of the model, so
//! that conformance tests compare two readings of one protocol. Rule ids (W1, B6, R2, ...)
//! name the handlers.

pub mod image;
pub mod repair;
pub mod store;

use mv_spec::obs::{BaseHint, BatchlogEntry, CommitLogEntry, CoordBatchlogEntry, Hint, LimitRead, NodeObservation};
use mv_spec::rule::{Rule, RuleSet};
pub use mv_spec::variant::{Design, RepairStyle, Variant};
use mv_spec::{
    BaseRow, BatchId, Cl, Key, Msg, NodeId, Ring, Statement, Timer, ViewKey, ViewMutation, ViewRow, WriteId,
};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
pub use store::{DeletionStyle, Store, ViewRules};

/// Who is at the other end of a message: a node of the ring or a client.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Addr {
    /// A storage node.
    Node(NodeId),
    /// A client, numbered in workload order.
    Client(u8),
}

impl fmt::Display for Addr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Addr::Node(n) => write!(f, "{n}"),
            Addr::Client(c) => write!(f, "c{c}"),
        }
    }
}

impl Addr {
    /// Parses `n3` or `c0`.
    pub fn parse(s: &str) -> Option<Addr> {
        let (kind, num) = s.split_at(s.len().min(1));
        let i: u8 = num.parse().ok()?;
        match kind {
            "n" => Some(Addr::Node(NodeId(i))),
            "c" => Some(Addr::Client(i)),
            _ => None,
        }
    }
}

/// Seeded bugs, for showing that the conformance tests catch real mistakes. Test-only: the
/// only way to turn one on is [`SeededBugs::named`], which exists only with the
/// `seeded-bugs` cargo feature (the crate's own tests enable it); no variant sets them and the
/// command line does not expose them.
#[doc(hidden)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct SeededBugs {
    /// Merge the statement into the base table in the first half, before the local batchlog
    /// is written (B6), instead of in B8.
    pub(crate) apply_base_before_batchlog: bool,
    /// Send `BaseWriteAck` in the first half, before the base table holds the write.
    pub(crate) ack_before_apply: bool,
    /// Pair the i-th base replica with view replica i+1 instead of by the pairing rule.
    pub(crate) pair_by_wrong_index: bool,
}

impl SeededBugs {
    /// These bugs and `other`'s.
    pub fn with(self, other: SeededBugs) -> SeededBugs {
        SeededBugs {
            apply_base_before_batchlog: self.apply_base_before_batchlog || other.apply_base_before_batchlog,
            ack_before_apply: self.ack_before_apply || other.ack_before_apply,
            pair_by_wrong_index: self.pair_by_wrong_index || other.pair_by_wrong_index,
        }
    }
}

#[cfg(feature = "seeded-bugs")]
impl SeededBugs {
    /// Names used by tests and reports.
    pub const NAMES: [&'static str; 3] = ["apply-base-before-batchlog", "ack-before-apply", "pair-by-wrong-index"];

    /// The bug with this name, alone.
    pub fn named(name: &str) -> Option<SeededBugs> {
        let mut b = SeededBugs::default();
        match name {
            "apply-base-before-batchlog" => b.apply_base_before_batchlog = true,
            "ack-before-apply" => b.ack_before_apply = true,
            "pair-by-wrong-index" => b.pair_by_wrong_index = true,
            _ => return None,
        }
        Some(b)
    }
}

/// The design choices of a node: a variant's [`Design`] as the node reads it, plus the seeded
/// bugs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Switches {
    /// Storage rules for the view.
    pub view: ViewRules,
    /// B1: a base write waits while its partition is locked (off in `no-partition-lock`, A8).
    pub partition_lock: bool,
    /// B6: remote view mutations go through the local batchlog (off in `no-local-batchlog`,
    /// A11).
    pub local_batchlog: bool,
    /// W2, W7-W9: the coordinator stores the write on a quorum of batchlog nodes first
    /// (CASSANDRA-10230).
    pub coordinator_batchlog: bool,
    /// A timed-out write leaves a hint for each base replica that has not acked it.
    pub base_hints: bool,
    /// Commit-log replay regenerates view updates (CASSANDRA-10164).
    pub replay_regenerates: bool,
    /// A mixed write's batchlog entry waits for the remote acks (CASSANDRA-13069).
    pub batchlog_waits_for_remote: bool,
    /// How view repair writes (R6-R9; the broken styles are the public repairs' traps).
    pub repair: RepairStyle,
    /// Whether the base table has its view. Off only for a benchmark's baseline (`mvcheck
    /// cluster bench --views 0`), a table no model run has: a base write is then one step, an
    /// apply and its ack, with no lock, no read-before-write, no batchlog and no view write,
    /// as Cassandra writes a table without views.
    pub has_view: bool,
    #[doc(hidden)]
    pub bugs: SeededBugs,
}

impl From<Design> for Switches {
    /// A design's switches, with no seeded bug.
    fn from(design: Design) -> Switches {
        Switches {
            view: store::view_rules(&design),
            partition_lock: design.partition_lock,
            local_batchlog: design.local_batchlog,
            coordinator_batchlog: design.coordinator_batchlog,
            base_hints: design.base_hints,
            replay_regenerates: design.replay_regenerates,
            batchlog_waits_for_remote: design.batchlog_waits_for_remote,
            repair: design.repair,
            has_view: true,
            bugs: SeededBugs::default(),
        }
    }
}

/// One event for a node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// A message arrives (a client request is a [`Msg::Write`] from a [`Addr::Client`]).
    Deliver {
        /// The sender.
        from: Addr,
        /// The message.
        msg: Msg,
    },
    /// A timer the node set fires.
    Fire(Timer),
    /// The process dies: memory is lost, the disk stays.
    Crash,
    /// The process starts again from its disk (R1-R3).
    Restart,
    /// The machine is replaced by an empty one.
    DataLoss,
    /// The failure detector's news about node `node`: it has been down past
    /// `max_hint_window` (`passed`), or it is back (W13 hints it again).
    HintWindow {
        /// The node the news is about.
        node: NodeId,
        /// Whether it is now down past the window.
        passed: bool,
    },
    /// R5: a replacement receives streamed partitions, added as they are, without view
    /// updates: base rows as statements that rebuild them, view rows as stored.
    Streamed {
        /// Statements that rebuild the streamed base rows.
        base: Vec<Statement>,
        /// The streamed view rows.
        view: Vec<ViewMutation>,
    },
    /// R6: the operator's view repair of partition `key`, for its first base replica, with
    /// what the host read for it (R7) under the partition lock on every base replica: the
    /// node cannot read other nodes' disks itself.
    ViewRepair {
        /// The repair's number in the run (0, 1, ...): its block of write and batch ids.
        repair: u8,
        /// The partition.
        key: Key,
        /// `b0`: the base row of `key` merged across every base replica (a read at ALL).
        base: BaseRow,
        /// Every view row `(·, key)` stored on every node, with the node that stores it.
        views: Vec<(NodeId, ViewKey, ViewRow)>,
    },
    /// The clock passes the TTL deadline (rule `expire`). The host gives it to every node in
    /// one step, a node that is down included: its clock is the machine's, not its memory's.
    Expire,
    /// R8 on a base replica other than the one running the view repair, in the repair's own
    /// step: the host holds the partition lock on every base replica for the whole repair,
    /// so no write of `key` can come between the repair's read and these cells.
    Reinstate {
        /// The partition.
        key: Key,
        /// The repair's base writes (`repair::Plan::reinstate`), merged straight into the
        /// base table.
        writes: Vec<(WriteId, Statement)>,
    },
}

/// What the node made durable in a step, in order. A host with a real disk must sync these
/// before it sends the step's messages. The simulation keeps the disk inside the node, so it
/// checks the consequence instead: every `ViewWrite` with a batch id and every `BaseWriteAck`
/// must be backed by what the node holds when it leaves (`sim::Cluster`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Persist {
    /// B2: a commit-log entry (this takes the partition lock).
    CommitLogAppend(WriteId),
    /// B8, R2: a commit-log entry is done (this releases the lock).
    CommitLogRemove(WriteId),
    /// B8, R2: a statement merged into the base table.
    BaseApply(WriteId, Key),
    /// B5, V1: a view mutation merged into the view table.
    ViewApply(ViewKey),
    /// B6: a local batchlog entry.
    BatchlogWrite(BatchId),
    /// B9, B10: a local batchlog entry is gone.
    BatchlogRemove(BatchId),
    /// B10: a hint for a view replica.
    HintWrite(NodeId, BatchId),
    /// B9: a hint was acknowledged.
    HintRemove(NodeId, BatchId),
    /// A base hint for a base replica was stored (W10).
    BaseHintWrite(NodeId, WriteId),
    /// A base hint was cleared by its replica's ack (W12).
    BaseHintRemove(NodeId, WriteId),
    /// W7: a coordinator batchlog entry.
    CoordBatchlogWrite(WriteId),
    /// W8, W9: a coordinator batchlog entry is gone.
    CoordBatchlogRemove(WriteId),
}

/// One effect of a step, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    /// Send a message.
    Send {
        /// The recipient.
        to: Addr,
        /// The message.
        msg: Msg,
    },
    /// Arm a timer (setting an armed timer is a no-op).
    SetTimer(Timer),
    /// Disarm a timer.
    CancelTimer(Timer),
    /// Something became durable.
    Persist(Persist),
}

/// The result of one input.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Effects {
    /// Whether the input was a step. When `false` the node is unchanged and `outputs` is
    /// empty: a delivery stays in flight (B1's lock, an ack nobody waits for).
    pub taken: bool,
    /// The outputs, in the order the node produced them.
    pub outputs: Vec<Output>,
    /// Inputs that break the protocol's assumptions (a view mutation for a partition this
    /// node does not replicate, a request from a node that only clients send). The node
    /// ignores the offending part and reports it; a host treats it as a failed run.
    pub violations: Vec<String>,
    /// The rules of `specs/protocol.md` this step executed, as the model labels the same
    /// transition: conformance compares them, and the simulation derives its history (and so
    /// its witnesses) from them.
    pub rules: RuleSet,
}

impl Effects {
    fn skip() -> Effects {
        Effects::default()
    }
}

/// A commit-log entry: a base write between its two halves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct CommitEntry {
    stmt: Statement,
    reply_to: NodeId,
}

/// A coordinator batchlog entry held for some coordinator.
#[derive(Clone, Debug, PartialEq, Eq)]
struct CoordEntry {
    stmt: Statement,
    coordinator: NodeId,
    pending: BTreeSet<NodeId>,
}

/// Everything that survives a crash-restart.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Disk {
    store: Store,
    commitlog: BTreeMap<WriteId, CommitEntry>,
    batchlog: BTreeMap<BatchId, BTreeMap<NodeId, Vec<ViewMutation>>>,
    next_batch: u8,
    hints: BTreeMap<NodeId, BTreeMap<BatchId, Vec<ViewMutation>>>,
    base_hints: BTreeMap<NodeId, BTreeMap<WriteId, Statement>>,
    coord_batchlog: BTreeMap<WriteId, CoordEntry>,
}

/// What a coordinator remembers about a write in progress. Volatile.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Coordinating {
    client: Addr,
    stmt: Statement,
    cl: Cl,
    stored: u8,
    /// The base replicas that acked: the others get a hint if the write times out.
    acked: BTreeSet<NodeId>,
    replied: bool,
}

/// A node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    id: NodeId,
    ring: Ring,
    sw: Switches,
    up: bool,
    disk: Disk,
    coordinating: BTreeMap<WriteId, Coordinating>,
    /// Nodes known to be down past `max_hint_window` (volatile, like the failure detector).
    past_hint_window: BTreeSet<NodeId>,
    /// The node clock in seconds, as the engine reads TTLs: 0, or `store::DEADLINE_SEC` once
    /// the clock step ran. Neither a crash nor a data loss turns it back.
    now: i64,
}

/// The outputs of a step under construction.
struct Out<'a>(&'a mut Effects);

impl Out<'_> {
    fn send(&mut self, to: Addr, msg: Msg) {
        self.0.outputs.push(Output::Send { to, msg });
    }
    fn set(&mut self, t: Timer) {
        self.0.outputs.push(Output::SetTimer(t));
    }
    fn cancel(&mut self, t: Timer) {
        self.0.outputs.push(Output::CancelTimer(t));
    }
    fn persist(&mut self, p: Persist) {
        self.0.outputs.push(Output::Persist(p));
    }
    fn violation(&mut self, v: String) {
        self.0.violations.push(v);
    }
    fn rule(&mut self, r: Rule) {
        self.0.rules.insert(r);
    }
}

impl Node {
    /// A fresh, empty node that is up.
    pub fn new(id: NodeId, ring: Ring, switches: Switches) -> Node {
        Node {
            id,
            ring,
            sw: switches,
            up: true,
            disk: Disk::default(),
            coordinating: BTreeMap::new(),
            past_hint_window: BTreeSet::new(),
            now: 0,
        }
    }

    /// Applies the workload's preloaded writes (`Workload::preload`) as if each had reached
    /// every replica before the run: into the base if this node replicates the key, and their
    /// view updates (computed against what the earlier preloaded writes left) into the view
    /// if it replicates the view partition. Not a step: nothing is logged, sent or counted.
    pub fn preload(&mut self, stmts: &[Statement]) {
        let mut before = Store::new();
        for stmt in stmts {
            // Preloaded writes land before the run, and so before any deadline.
            let updates = before.view_updates(&self.sw.view, stmt, 0);
            before.apply_base(stmt);
            for m in &updates {
                if self.ring.view_replicas(m.key).contains(&self.id) {
                    self.disk.store.apply_view(&self.sw.view, m);
                }
            }
            if self.ring.base_replicas(stmt.k).contains(&self.id) {
                self.disk.store.apply_base(stmt);
            }
        }
    }

    /// The node's id.
    pub fn id(&self) -> NodeId {
        self.id
    }

    /// Whether the process is running.
    pub fn is_up(&self) -> bool {
        self.up
    }

    /// The node's switches.
    pub fn switches(&self) -> &Switches {
        &self.sw
    }

    /// Whether this node holds `write` between the halves of its base write, owing an ack to
    /// `to` (the host's timer guards need it: a timeout never races an ack still owed).
    pub fn owes_ack(&self, write: WriteId, to: NodeId) -> bool {
        self.disk.commitlog.get(&write).is_some_and(|e| e.reply_to == to)
    }

    /// Whether the node coordinates `write` right now.
    pub fn coordinates(&self, write: WriteId) -> bool {
        self.coordinating.contains_key(&write)
    }

    /// The coordinator of coordinator-batchlog entry `write` held here, if any.
    pub fn coord_batchlog_owner(&self, write: WriteId) -> Option<NodeId> {
        self.disk.coord_batchlog.get(&write).map(|e| e.coordinator)
    }

    /// Whether this node holds a base hint of `write` for base replica `target`.
    pub fn holds_base_hint(&self, write: WriteId, target: NodeId) -> bool {
        self.disk
            .base_hints
            .get(&target)
            .is_some_and(|h| h.contains_key(&write))
    }

    /// The writes this node holds base hints of for `target`.
    pub fn base_hints_for(&self, target: NodeId) -> impl Iterator<Item = WriteId> + '_ {
        self.disk
            .base_hints
            .get(&target)
            .into_iter()
            .flat_map(|h| h.keys().copied())
    }

    /// Whether this node durably holds batch `batch` for view replica `target`, in its local
    /// batchlog or as a hint.
    pub fn holds_batch(&self, batch: BatchId, target: NodeId) -> bool {
        self.disk.batchlog.get(&batch).is_some_and(|e| e.contains_key(&target))
            || self.disk.hints.get(&target).is_some_and(|h| h.contains_key(&batch))
    }

    /// The stored base row `k` (empty when absent).
    pub fn base_row(&self, k: Key) -> mv_spec::BaseRow {
        self.disk.store.read_base(k)
    }

    /// Whether this node knows `t` to be down past `max_hint_window`.
    pub fn knows_past_hint_window(&self, t: NodeId) -> bool {
        self.past_hint_window.contains(&t)
    }

    /// The base table as stored.
    pub fn base_rows(&self) -> &BTreeMap<Key, mv_spec::BaseRow> {
        self.disk.store.base_rows()
    }

    /// The view table as stored.
    pub fn view_rows(&self) -> &BTreeMap<ViewKey, mv_spec::ViewRow> {
        self.disk.store.view_rows()
    }

    /// Whether the node's clock has passed the TTL deadline.
    pub fn past_deadline(&self) -> bool {
        self.now >= store::DEADLINE_SEC
    }

    /// The commit log's entries, in the vocabulary of `mv-spec`.
    fn commitlog_entries(&self) -> Vec<CommitLogEntry> {
        self.disk
            .commitlog
            .iter()
            .map(|(&write, e)| CommitLogEntry {
                write,
                stmt: e.stmt,
                reply_to: e.reply_to,
            })
            .collect()
    }

    /// The coordinator batchlog's entries, in the vocabulary of `mv-spec`.
    fn coord_batchlog_entries(&self) -> Vec<CoordBatchlogEntry> {
        self.disk
            .coord_batchlog
            .iter()
            .map(|(&write, e)| CoordBatchlogEntry {
                write,
                stmt: e.stmt,
                coordinator: e.coordinator,
                pending: e.pending.iter().copied().collect(),
            })
            .collect()
    }

    /// The node's durable tables and queues, in the vocabulary of `mv-spec`. The tables are
    /// as a read on the node sees them now: the engine decides which TTLs have run out.
    pub fn observe(&self) -> NodeObservation {
        NodeObservation {
            up: self.up,
            base: self.disk.store.base_rows_at(self.now),
            view: self.disk.store.view_rows_at(self.now),
            batchlog: BatchlogEntry::all(&self.disk.batchlog),
            hints: Hint::all(&self.disk.hints),
            base_hints: BaseHint::all(&self.disk.base_hints),
            commitlog: self.commitlog_entries(),
            coord_batchlog: self.coord_batchlog_entries(),
            // The host keeps the timers (the node only asks for them): it fills these in.
            timers: Vec::new(),
            limit_reads: Some(
                LimitRead::partitions(self.disk.store.view_rows())
                    .into_iter()
                    .map(|v| LimitRead {
                        v,
                        k: self
                            .disk
                            .store
                            .limit_read(&self.sw.view, v, 1, self.now)
                            .first()
                            .copied(),
                    })
                    .collect(),
            ),
        }
    }

    /// Whether the node has queued durable work: a commit-log, batchlog, hint or
    /// coordinator-batchlog entry.
    pub fn has_pending_work(&self) -> bool {
        !(self.disk.commitlog.is_empty()
            && self.disk.batchlog.is_empty()
            && self.disk.hints.is_empty()
            && self.disk.base_hints.is_empty()
            && self.disk.coord_batchlog.is_empty())
    }

    /// B1: the partition lock is held exactly while a commit-log entry for `k` exists.
    fn locked(&self, k: Key) -> bool {
        self.disk.commitlog.values().any(|e| e.stmt.k == k)
    }

    /// Whether a base write of `k` is between its halves here (B2 done, B8 not): R6's
    /// condition, which stands for the partition lock a view repair takes.
    pub fn holds_commit_log_entry(&self, k: Key) -> bool {
        self.locked(k)
    }

    /// Runs one input.
    pub fn step(&mut self, input: Input) -> Effects {
        let mut fx = Effects::default();
        match input {
            Input::Restart if !self.up => {
                fx.taken = true;
                self.restart(&mut Out(&mut fx));
            }
            Input::Restart => {}
            Input::Expire => {
                if self.past_deadline() {
                    return fx;
                }
                fx.taken = true;
                fx.rules.insert(Rule::Expire);
                self.now = store::DEADLINE_SEC;
            }
            _ if !self.up => {}
            Input::Crash => {
                fx.taken = true;
                self.up = false;
                self.coordinating.clear();
                self.past_hint_window.clear();
            }
            Input::DataLoss => {
                fx.taken = true;
                self.disk = Disk::default();
                self.coordinating.clear();
                self.past_hint_window.clear();
            }
            Input::HintWindow { node, passed } => {
                fx.taken = true;
                if passed {
                    self.past_hint_window.insert(node);
                } else {
                    self.past_hint_window.remove(&node);
                }
            }
            Input::Streamed { base, view } => {
                fx.taken = true;
                let mut o = Out(&mut fx);
                for m in &view {
                    self.disk.store.apply_view(&self.sw.view, m);
                    o.persist(Persist::ViewApply(m.key));
                }
                for (i, stmt) in base.iter().enumerate() {
                    self.disk.store.apply_base(stmt);
                    o.persist(Persist::BaseApply(WriteId::stream(i as u8), stmt.k));
                }
            }
            Input::Reinstate { key, writes } => {
                if !self.ring.base_replicas(key).contains(&self.id) || self.locked(key) {
                    fx.violations.push(format!(
                        "{} was asked to reinstate view repair writes of k={key} without being an unlocked base replica of it (R8)",
                        self.id
                    ));
                    return fx;
                }
                fx.taken = true;
                self.reinstate(&writes, &mut Out(&mut fx));
            }
            Input::Deliver { from, msg } => return self.deliver(from, msg),
            Input::Fire(timer) => return self.fire(timer),
            Input::ViewRepair {
                repair,
                key,
                base,
                views,
            } => return self.view_repair(repair, key, &base, &views),
        }
        fx
    }

    /// R6, then R8 and R9 as `repair::plan` decides them. Nothing is taken when the plan
    /// has nothing to write: R6 runs a repair only when it has.
    fn view_repair(&mut self, repair: u8, key: Key, base: &BaseRow, views: &[(NodeId, ViewKey, ViewRow)]) -> Effects {
        let mut fx = Effects::default();
        if self.ring.base_replicas(key).first() != Some(&self.id) {
            fx.violations.push(format!(
                "{} was asked to view-repair k={key}, which only its first base replica runs (R6)",
                self.id
            ));
            return fx;
        }
        let plan = match repair::plan(&self.sw, &self.ring, repair, key, base, views) {
            Ok(plan) if plan.is_empty() => return fx,
            Ok(plan) => plan,
            Err(e) => {
                fx.violations
                    .push(format!("{} cannot run view repair {repair} of k={key}: {e}", self.id));
                return fx;
            }
        };
        fx.taken = true;
        let mut o = Out(&mut fx);
        o.rule(Rule::R6);
        if !plan.reinstate.is_empty() {
            // R8 here, in this step; the host does the same on the other base replicas
            // (`Input::Reinstate`). The view already shows the lost write, and R9 writes
            // what it does not, so no view update is generated. Sent through the write path
            // instead, a client write could come between two of these cells, read a
            // half-reinstated row, and leave the vouched-for view row an orphan.
            o.rule(Rule::R8);
            self.reinstate(&plan.reinstate, &mut o);
        }
        if plan.view.is_empty() {
            return fx;
        }
        o.rule(Rule::R9);
        let mut remote = plan.view;
        // This node's own view rows are applied on the spot, as V1 would.
        for m in remote.remove(&self.id).unwrap_or_default() {
            self.disk.store.apply_view(&self.sw.view, &m);
            o.persist(Persist::ViewApply(m.key));
        }
        if remote.is_empty() {
            return fx;
        }
        // As B6: the entry is durable before any view write leaves, so that a crash in the
        // middle of the repair loses nothing (replay and hints, B10 and B11, finish it).
        let batch = self.sw.local_batchlog.then(|| BatchId::view_repair(self.id, repair));
        self.log_and_send(batch, remote, &mut o);
        fx
    }

    /// R8's base cells, merged into this node's base table.
    fn reinstate(&mut self, writes: &[(WriteId, Statement)], o: &mut Out) {
        for &(write, stmt) in writes {
            self.disk.store.apply_base(&stmt);
            o.persist(Persist::BaseApply(write, stmt.k));
        }
    }

    /// B6's durable part and its sends: with a batch id, the local batchlog entry (and its
    /// replay timer) is written before any view write leaves; then one view write per target.
    fn log_and_send(&mut self, batch: Option<BatchId>, remote: BTreeMap<NodeId, Vec<ViewMutation>>, o: &mut Out) {
        if let Some(id) = batch {
            self.disk.batchlog.insert(id, remote.clone());
            o.persist(Persist::BatchlogWrite(id));
            o.set(Timer::BatchlogReplay(id));
        }
        for (target, mutations) in remote {
            o.send(
                Addr::Node(target),
                Msg::ViewWrite {
                    batch,
                    mutations,
                    hint: false,
                },
            );
        }
    }

    fn deliver(&mut self, from: Addr, msg: Msg) -> Effects {
        let mut fx = Effects::default();
        let from_node = match from {
            Addr::Node(n) => Some(n),
            Addr::Client(_) => None,
        };
        match (msg, from_node) {
            (Msg::Write { write, stmt, cl }, _) => {
                fx.taken = true;
                self.on_client_write(from, write, stmt, cl, &mut Out(&mut fx));
            }
            (Msg::BatchlogStore { write, stmt }, Some(coordinator)) => {
                fx.taken = true;
                // W7: durable entry, replay timer, confirmation.
                let pending = self.ring.base_replicas(stmt.k).into_iter().collect();
                self.disk.coord_batchlog.insert(
                    write,
                    CoordEntry {
                        stmt,
                        coordinator,
                        pending,
                    },
                );
                let mut o = Out(&mut fx);
                o.rule(Rule::W7);
                o.persist(Persist::CoordBatchlogWrite(write));
                o.set(Timer::CoordBatchlogReplay(write));
                o.send(from, Msg::BatchlogStored { write });
            }
            (Msg::BatchlogStored { write }, Some(_)) => {
                let batchlog_nodes = self.ring.batchlog_nodes(self.id).len();
                let Some(c) = self.coordinating.get_mut(&write) else {
                    return Effects::skip();
                };
                fx.taken = true;
                c.stored += 1;
                // W3 (with W2): forward once every batchlog node holds the entry.
                if usize::from(c.stored) == batchlog_nodes {
                    let stmt = c.stmt;
                    self.forward(write, stmt, &mut Out(&mut fx));
                }
            }
            (Msg::BatchlogRemove { write }, Some(_)) => {
                if self.disk.coord_batchlog.remove(&write).is_none() {
                    return Effects::skip();
                }
                // W8: the write reached a quorum; the entry has done its job.
                fx.taken = true;
                let mut o = Out(&mut fx);
                o.rule(Rule::W8);
                o.persist(Persist::CoordBatchlogRemove(write));
                o.cancel(Timer::CoordBatchlogReplay(write));
            }
            (Msg::BaseWrite { write, stmt }, Some(reply_to)) if !self.sw.has_view => {
                fx.taken = true;
                let mut o = Out(&mut fx);
                o.rule(Rule::B8);
                self.disk.store.apply_base(&stmt);
                o.persist(Persist::BaseApply(write, stmt.k));
                o.send(Addr::Node(reply_to), Msg::BaseWriteAck { write });
            }
            (Msg::BaseWrite { write, stmt }, Some(reply_to)) => {
                if self.sw.partition_lock && self.locked(stmt.k) {
                    // B1: wait for the lock; the message stays in flight.
                    return Effects::skip();
                }
                fx.taken = true;
                self.base_write_first_half(write, stmt, reply_to, &mut Out(&mut fx));
            }
            (Msg::BaseWriteAck { write }, Some(replica)) => {
                let for_coordinator = self.coordinating.contains_key(&write);
                let for_replay = self
                    .disk
                    .coord_batchlog
                    .get(&write)
                    .is_some_and(|e| e.pending.contains(&replica));
                let for_hint = self.holds_base_hint(write, replica);
                if !for_coordinator && !for_replay && !for_hint {
                    return Effects::skip();
                }
                fx.taken = true;
                let mut o = Out(&mut fx);
                if for_coordinator {
                    self.on_base_ack(write, replica, &mut o);
                }
                if for_hint {
                    // W12: the hinted base write landed on `replica`.
                    o.rule(Rule::W12);
                    let hints = self.disk.base_hints.get_mut(&replica).expect("checked above");
                    hints.remove(&write);
                    o.persist(Persist::BaseHintRemove(replica, write));
                    if hints.is_empty() {
                        self.disk.base_hints.remove(&replica);
                        self.stop_idle_hint_delivery(replica, &mut o);
                    }
                }
                if for_replay {
                    // W9: a replayed base write landed on `replica`.
                    o.rule(Rule::W9);
                    let entry = self.disk.coord_batchlog.get_mut(&write).expect("checked above");
                    entry.pending.remove(&replica);
                    if entry.pending.is_empty() {
                        self.disk.coord_batchlog.remove(&write);
                        o.persist(Persist::CoordBatchlogRemove(write));
                        o.cancel(Timer::CoordBatchlogReplay(write));
                    }
                }
            }
            (Msg::ViewWrite { batch, mutations, .. }, Some(_)) => {
                fx.taken = true;
                let mut o = Out(&mut fx);
                o.rule(Rule::V1);
                // V1: merge what this node replicates. A mutation for another view partition
                // means the sender paired wrongly (B5).
                for m in &mutations {
                    if self.ring.view_replicas(m.key).contains(&self.id) {
                        self.disk.store.apply_view(&self.sw.view, m);
                        o.persist(Persist::ViewApply(m.key));
                    } else {
                        o.violation(format!(
                            "{} got view mutation {m} from {from} but does not replicate view partition v={}",
                            self.id, m.key.v
                        ));
                    }
                }
                // V2.
                if let Some(batch) = batch {
                    o.rule(Rule::V2);
                    o.send(from, Msg::ViewWriteAck { batch });
                }
            }
            (Msg::ViewWriteAck { batch }, Some(target)) => {
                if !self.holds_batch(batch, target) {
                    return Effects::skip();
                }
                fx.taken = true;
                self.on_view_ack(batch, target, &mut Out(&mut fx));
            }
            (msg @ (Msg::WriteOk { .. } | Msg::WriteTimeout { .. }), _) => {
                fx.violations
                    .push(format!("{} got {msg} from {from}: only clients take answers", self.id));
            }
            (msg, None) => {
                fx.violations
                    .push(format!("{} got {msg} from client {from}: only nodes send it", self.id));
            }
        }
        fx
    }

    fn fire(&mut self, timer: Timer) -> Effects {
        let mut fx = Effects::default();
        let mut o = Out(&mut fx);
        match timer {
            Timer::Generate(write) => {
                let Some(stmt) = self.disk.commitlog.get(&write).map(|e| e.stmt) else {
                    return fx;
                };
                o.0.taken = true;
                // B3-B7, still under the lock.
                self.generate_and_send(write, stmt, &mut o);
                o.rule(Rule::B7);
                if self.sw.bugs.ack_before_apply {
                    let reply_to = self.disk.commitlog[&write].reply_to;
                    o.send(Addr::Node(reply_to), Msg::BaseWriteAck { write });
                }
                o.set(Timer::ApplyBase(write));
            }
            Timer::ApplyBase(write) => {
                let Some(entry) = self.disk.commitlog.remove(&write) else {
                    return fx;
                };
                o.0.taken = true;
                // B8: apply, unlock, ack.
                o.rule(Rule::B8);
                o.persist(Persist::CommitLogRemove(write));
                if !self.sw.bugs.apply_base_before_batchlog {
                    self.disk.store.apply_base(&entry.stmt);
                    o.persist(Persist::BaseApply(write, entry.stmt.k));
                }
                if !self.sw.bugs.ack_before_apply {
                    o.send(Addr::Node(entry.reply_to), Msg::BaseWriteAck { write });
                }
            }
            Timer::WriteTimeout(write) => {
                let Some(c) = self.coordinating.remove(&write) else {
                    return fx;
                };
                o.0.taken = true;
                // W6: give up; tell the client unless it already has its answer.
                o.rule(Rule::W6);
                if !c.replied {
                    o.send(c.client, Msg::WriteTimeout { write });
                }
                // W10: a hint for every other base replica that has not acked. This node's
                // own replica needs none: only this node's crash loses that base write, and
                // the crash takes this timeout with it.
                // Only replicas the write was sent to: with the coordinator batchlog it leaves
                // only once every batchlog node confirmed it, and a write that never left has
                // no replica to hint.
                let forwarded =
                    !self.sw.coordinator_batchlog || usize::from(c.stored) == self.ring.batchlog_nodes(self.id).len();
                if self.sw.base_hints && forwarded {
                    for r in self.ring.base_replicas(c.stmt.k) {
                        if r == self.id || c.acked.contains(&r) {
                            continue;
                        }
                        // W13: Cassandra hints only a replica down for less than
                        // `max_hint_window`.
                        if self.past_hint_window.contains(&r) {
                            o.rule(Rule::W13);
                            continue;
                        }
                        o.rule(Rule::W10);
                        self.disk.base_hints.entry(r).or_default().insert(write, c.stmt);
                        o.persist(Persist::BaseHintWrite(r, write));
                        o.set(Timer::HintDelivery(r));
                    }
                }
            }
            Timer::BatchlogReplay(batch) => {
                let Some(unacked) = self.disk.batchlog.remove(&batch) else {
                    return fx;
                };
                o.0.taken = true;
                // B10: every view replica that has not acked gets its mutations as a hint,
                // retried by B11 until acked.
                o.rule(Rule::B10);
                o.persist(Persist::BatchlogRemove(batch));
                for (target, mutations) in unacked {
                    self.disk.hints.entry(target).or_default().insert(batch, mutations);
                    o.persist(Persist::HintWrite(target, batch));
                    o.set(Timer::HintDelivery(target));
                }
            }
            Timer::HintDelivery(target) => {
                let hints = self.disk.hints.get(&target).filter(|h| !h.is_empty());
                let base = self.disk.base_hints.get(&target).filter(|h| !h.is_empty());
                if hints.is_none() && base.is_none() {
                    return fx;
                }
                o.0.taken = true;
                o.set(Timer::HintDelivery(target));
                // W11: base hints go through the replica's own write path (a base write), so
                // it generates view updates as for any write.
                if let Some(base) = base {
                    o.rule(Rule::W11);
                    for (&write, &stmt) in base {
                        o.send(Addr::Node(target), Msg::BaseWrite { write, stmt });
                    }
                }
                let Some(hints) = hints else { return fx };
                // B11: resend every view hint for `target`; keep retrying.
                o.rule(Rule::B11);
                for (&batch, mutations) in hints {
                    o.send(
                        Addr::Node(target),
                        Msg::ViewWrite {
                            batch: Some(batch),
                            mutations: mutations.clone(),
                            hint: true,
                        },
                    );
                }
            }
            Timer::CoordBatchlogReplay(write) => {
                let Some(entry) = self.disk.coord_batchlog.get(&write) else {
                    return fx;
                };
                o.0.taken = true;
                // W9: the coordinator is gone; replay to the replicas that have not acked.
                o.rule(Rule::W9);
                for &replica in &entry.pending {
                    o.send(
                        Addr::Node(replica),
                        Msg::BaseWrite {
                            write,
                            stmt: entry.stmt,
                        },
                    );
                }
                o.set(Timer::CoordBatchlogReplay(write));
            }
        }
        fx
    }

    /// W1 (and W2 or W3).
    fn on_client_write(&mut self, client: Addr, write: WriteId, stmt: Statement, cl: Cl, o: &mut Out) {
        self.coordinating.insert(
            write,
            Coordinating {
                client,
                stmt,
                cl,
                stored: 0,
                acked: BTreeSet::new(),
                replied: false,
            },
        );
        o.rule(Rule::W1);
        o.set(Timer::WriteTimeout(write));
        if self.sw.coordinator_batchlog {
            o.rule(Rule::W2);
            for n in self.ring.batchlog_nodes(self.id) {
                o.send(Addr::Node(n), Msg::BatchlogStore { write, stmt });
            }
        } else {
            self.forward(write, stmt, o);
        }
    }

    /// W3.
    fn forward(&self, write: WriteId, stmt: Statement, o: &mut Out) {
        o.rule(Rule::W3);
        for r in self.ring.base_replicas(stmt.k) {
            o.send(Addr::Node(r), Msg::BaseWrite { write, stmt });
        }
    }

    /// W4, W5, W8.
    fn on_base_ack(&mut self, write: WriteId, replica: NodeId, o: &mut Out) {
        let rf = self.ring.rf;
        let c = self.coordinating.get_mut(&write).expect("caller checked");
        o.rule(Rule::W4);
        c.acked.insert(replica);
        let acks = c.acked.len() as u8;
        if acks == c.cl.required(rf) && !c.replied {
            o.rule(Rule::W5);
            c.replied = true;
            o.send(c.client, Msg::WriteOk { write });
        }
        if self.sw.coordinator_batchlog && acks == Cl::Quorum.required(rf) {
            o.rule(Rule::W8);
            for n in self.ring.batchlog_nodes(self.id) {
                o.send(Addr::Node(n), Msg::BatchlogRemove { write });
            }
        }
        if acks == rf {
            self.coordinating.remove(&write);
            o.cancel(Timer::WriteTimeout(write));
        }
    }

    /// B2: the commit-log append, which takes the lock. The view-update step (B3-B7) runs
    /// on `Generate`, so a crash can fall between the two.
    fn base_write_first_half(&mut self, write: WriteId, stmt: Statement, reply_to: NodeId, o: &mut Out) {
        o.rule(Rule::B2);
        self.disk.commitlog.insert(write, CommitEntry { stmt, reply_to });
        o.persist(Persist::CommitLogAppend(write));
        o.set(Timer::Generate(write));
    }

    /// The paired view replica of this base replica for view row `key` of base row `k`.
    fn paired(&self, k: Key, key: ViewKey) -> Option<NodeId> {
        if self.sw.bugs.pair_by_wrong_index {
            let i = self.ring.base_replicas(k).iter().position(|&n| n == self.id)?;
            let view = self.ring.view_replicas(key);
            return Some(view[(i + 1) % view.len()]);
        }
        self.ring.paired_view_replica(self.id, k, key)
    }

    /// B3-B6 (and the seeded early apply). Returns how many view mutations were generated.
    fn generate_and_send(&mut self, write: WriteId, stmt: Statement, o: &mut Out) -> usize {
        o.rule(Rule::B3);
        o.rule(Rule::B4);
        // The read-before-write happens now: a TTL past the deadline is dead to it.
        let mutations = self.disk.store.view_updates(&self.sw.view, &stmt, self.now);
        let generated = mutations.len();
        if self.sw.bugs.apply_base_before_batchlog {
            self.disk.store.apply_base(&stmt);
            o.persist(Persist::BaseApply(write, stmt.k));
        }
        let mut remote: BTreeMap<NodeId, Vec<ViewMutation>> = BTreeMap::new();
        let mut local = false;
        for m in mutations {
            match self.paired(stmt.k, m.key) {
                // B5: our own pair: apply here, synchronously.
                Some(t) if t == self.id => {
                    o.rule(Rule::B5);
                    self.disk.store.apply_view(&self.sw.view, &m);
                    o.persist(Persist::ViewApply(m.key));
                    local = true;
                }
                Some(t) => remote.entry(t).or_default().push(m),
                None => o.violation(format!(
                    "{} handles base write {write} for k={} but is not one of its base replicas",
                    self.id, stmt.k
                )),
            }
        }
        if remote.is_empty() {
            return generated;
        }
        o.rule(Rule::B6);
        // A13: without `batchlog_waits_for_remote` a write that also applied a self-paired
        // mutation loses its entry with that local apply: its remote view writes are unlogged.
        let logged = self.sw.local_batchlog && (self.sw.batchlog_waits_for_remote || !local);
        let batch = logged.then(|| {
            let id = BatchId {
                origin: self.id,
                seq: self.disk.next_batch,
            };
            self.disk.next_batch = self.disk.next_batch.wrapping_add(1);
            id
        });
        // B6: the batchlog entry is durable before any remote view write leaves.
        self.log_and_send(batch, remote, o);
        generated
    }

    /// B9.
    fn on_view_ack(&mut self, batch: BatchId, target: NodeId, o: &mut Out) {
        o.rule(Rule::B9);
        if let Some(entry) = self.disk.batchlog.get_mut(&batch) {
            if entry.remove(&target).is_some() && entry.is_empty() {
                self.disk.batchlog.remove(&batch);
                o.persist(Persist::BatchlogRemove(batch));
                o.cancel(Timer::BatchlogReplay(batch));
            }
        }
        if let Some(hints) = self.disk.hints.get_mut(&target) {
            if hints.remove(&batch).is_some() {
                o.persist(Persist::HintRemove(target, batch));
            }
            if hints.is_empty() {
                self.disk.hints.remove(&target);
                self.stop_idle_hint_delivery(target, o);
            }
        }
    }

    /// One hint store per target holds view and base hints: its delivery timer stops only when
    /// neither kind is left for `target`.
    fn stop_idle_hint_delivery(&self, target: NodeId, o: &mut Out) {
        if !self.disk.hints.contains_key(&target) && !self.disk.base_hints.contains_key(&target) {
            o.cancel(Timer::HintDelivery(target));
        }
    }

    /// R1-R3.
    fn restart(&mut self, o: &mut Out) {
        o.rule(Rule::R1);
        self.up = true;
        self.coordinating.clear();
        // R2: replay the commit log in write order, regenerating view updates against the
        // current base row (CASSANDRA-10164), then apply. No ack: the coordinator has its
        // answer or times out.
        let entries = std::mem::take(&mut self.disk.commitlog);
        for (write, e) in entries {
            o.persist(Persist::CommitLogRemove(write));
            // Without regeneration (A12) replay only applies the base.
            if self.sw.replay_regenerates && self.generate_and_send(write, e.stmt, o) > 0 {
                o.rule(Rule::R2);
            }
            if !self.sw.bugs.apply_base_before_batchlog {
                self.disk.store.apply_base(&e.stmt);
                o.persist(Persist::BaseApply(write, e.stmt.k));
            }
        }
        // R3.
        if self.has_pending_work() {
            o.rule(Rule::R3);
        }
        let batches: Vec<BatchId> = self.disk.batchlog.keys().copied().collect();
        for b in batches {
            o.set(Timer::BatchlogReplay(b));
        }
        let targets: BTreeSet<NodeId> = self
            .disk
            .hints
            .keys()
            .chain(self.disk.base_hints.keys())
            .copied()
            .collect();
        for t in targets {
            o.set(Timer::HintDelivery(t));
        }
        let writes: Vec<WriteId> = self.disk.coord_batchlog.keys().copied().collect();
        for w in writes {
            o.set(Timer::CoordBatchlogReplay(w));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mv_spec::Pairing;

    fn ring(nodes: u8, rf: u8) -> Ring {
        Ring {
            nodes,
            rf,
            pairing: Pairing::SelfFirst,
        }
    }

    fn n(i: u8) -> NodeId {
        NodeId(i)
    }

    fn base_write(write: u8, stmt: Statement, from: u8) -> Input {
        Input::Deliver {
            from: Addr::Node(n(from)),
            msg: Msg::BaseWrite {
                write: WriteId(write),
                stmt,
            },
        }
    }

    /// Delivers a base write (B2) and runs its view-update step (B3-B7); the latter's effects.
    fn write_through(node: &mut Node, write: u8, stmt: Statement, from: u8) -> Effects {
        assert!(node.step(base_write(write, stmt, from)).taken, "B2 takes the write");
        let fx = node.step(Input::Fire(Timer::Generate(WriteId(write))));
        assert!(fx.taken, "Generate runs while the commit log holds the write");
        fx
    }

    fn sends(fx: &Effects) -> Vec<(Addr, Msg)> {
        fx.outputs
            .iter()
            .filter_map(|o| match o {
                Output::Send { to, msg } => Some((*to, msg.clone())),
                _ => None,
            })
            .collect()
    }

    /// The benchmark's baseline: without a view, a base write is applied and acked in the
    /// step that delivers it, with nothing locked, logged or sent to a view replica.
    #[test]
    fn without_a_view_a_base_write_is_one_step() {
        let mut sw = Switches::from(Variant::Cassandra40.design());
        sw.has_view = false;
        let mut node = Node::new(n(0), ring(2, 2), sw);
        let s1 = Statement::insert(0, Some(1), Some(1), 1);
        let fx = node.step(base_write(1, s1, 1));
        assert!(fx.taken);
        assert_eq!(
            sends(&fx),
            vec![(Addr::Node(n(1)), Msg::BaseWriteAck { write: WriteId(1) })]
        );
        assert!(fx.outputs.iter().all(|o| !matches!(o, Output::SetTimer(_))), "{fx:?}");
        assert!(mv_spec::props::covers(&node.base_row(0), &s1), "{:?}", node.base_row(0));
        let obs = node.observe();
        assert!(
            obs.view.is_empty() && obs.commitlog.is_empty() && obs.batchlog.is_empty(),
            "{obs:?}"
        );
        // A second write to the same partition is not held back: no lock.
        assert!(
            node.step(base_write(2, Statement::insert(0, Some(2), Some(2), 2), 1))
                .taken
        );
    }

    #[test]
    fn the_partition_lock_holds_a_second_write_until_the_first_is_applied() {
        let mut node = Node::new(n(0), ring(1, 1), Switches::from(Variant::Cassandra40.design()));
        let s1 = Statement::insert(0, Some(1), Some(1), 1);
        let s2 = Statement::insert(0, Some(2), Some(2), 2);
        assert!(node.step(base_write(1, s1, 0)).taken);
        let before = node.clone();
        let fx = node.step(base_write(2, s2, 0));
        assert!(
            !fx.taken && fx.outputs.is_empty(),
            "B1: a locked partition does not take the write"
        );
        assert_eq!(node, before, "a write not taken changes nothing");
        // Another partition is not locked.
        assert!(
            node.step(base_write(3, Statement::insert(1, Some(1), None, 3), 0))
                .taken
        );
        let fx = node.step(Input::Fire(Timer::ApplyBase(WriteId(1))));
        assert_eq!(
            sends(&fx),
            vec![(Addr::Node(n(0)), Msg::BaseWriteAck { write: WriteId(1) })]
        );
        assert_eq!(node.base_row(0).resolve().map(|r| r.v), Some(Some(1)));
        assert!(node.step(base_write(2, s2, 0)).taken, "B8 released the lock");
    }

    #[test]
    fn without_the_lock_a_second_write_reads_the_same_stale_row() {
        let mut node = Node::new(n(0), ring(1, 1), Switches::from(Variant::NoPartitionLock.design()));
        write_through(&mut node, 1, Statement::insert(0, Some(1), Some(1), 1), 0);
        write_through(&mut node, 2, Statement::insert(0, Some(2), Some(2), 2), 0);
        // Both writes generated a NEW_ENTRY against the empty row: two view rows for k=0.
        assert_eq!(node.observe().view.len(), 2);
    }

    #[test]
    fn a_remote_view_write_is_batchlogged_before_it_leaves_and_acked_once() {
        // RF 1 on 2 nodes: base k=0 lives on n0, view v=1 on n1.
        let mut node = Node::new(n(0), ring(2, 1), Switches::from(Variant::Cassandra40.design()));
        let fx = write_through(&mut node, 1, Statement::insert(0, Some(1), Some(1), 1), 0);
        let batch = BatchId { origin: n(0), seq: 0 };
        let persisted = fx
            .outputs
            .iter()
            .position(|o| *o == Output::Persist(Persist::BatchlogWrite(batch)))
            .expect("B6 writes the batchlog");
        let sent = fx
            .outputs
            .iter()
            .position(|o| {
                matches!(
                    o,
                    Output::Send {
                        msg: Msg::ViewWrite { .. },
                        ..
                    }
                )
            })
            .expect("B6 sends the view write");
        assert!(persisted < sent, "the batchlog is durable before the view write leaves");
        assert!(fx.outputs.contains(&Output::SetTimer(Timer::BatchlogReplay(batch))));
        let ack = Input::Deliver {
            from: Addr::Node(n(1)),
            msg: Msg::ViewWriteAck { batch },
        };
        let fx = node.step(ack.clone());
        assert!(fx.taken);
        assert!(fx.outputs.contains(&Output::CancelTimer(Timer::BatchlogReplay(batch))));
        assert!(node.observe().batchlog.is_empty());
        assert!(!node.step(ack).taken, "a second ack is nobody's business");
    }

    #[test]
    fn replay_turns_unacked_mutations_into_hints_that_are_retried() {
        let mut node = Node::new(n(0), ring(2, 1), Switches::from(Variant::Cassandra30.design()));
        write_through(&mut node, 1, Statement::insert(0, Some(1), Some(1), 1), 0);
        let batch = BatchId { origin: n(0), seq: 0 };
        let fx = node.step(Input::Fire(Timer::BatchlogReplay(batch)));
        assert!(fx.taken);
        let hints = node.observe().hints;
        assert_eq!(
            hints.iter().map(|h| (h.target, h.batch)).collect::<Vec<_>>(),
            vec![(n(1), batch)]
        );
        assert_eq!(
            hints[0].mutations,
            vec![ViewMutation {
                key: ViewKey { v: 1, k: 0 },
                row: hints[0].mutations[0].row,
            }],
            "the hint carries the view update B4 generated"
        );
        assert!(hints[0].mutations[0]
            .row
            .marker
            .is_some_and(|l| l.ts == 1 && !l.expired));
        assert!(node.observe().batchlog.is_empty());
        let fx = node.step(Input::Fire(Timer::HintDelivery(n(1))));
        assert!(
            matches!(&sends(&fx)[..], [(Addr::Node(t), Msg::ViewWrite { batch: Some(b), .. })] if *t == n(1) && *b == batch)
        );
        assert!(fx.outputs.contains(&Output::SetTimer(Timer::HintDelivery(n(1)))));
        node.step(Input::Deliver {
            from: Addr::Node(n(1)),
            msg: Msg::ViewWriteAck { batch },
        });
        assert!(node.observe().hints.is_empty());
    }

    #[test]
    fn a_crash_keeps_the_disk_and_a_restart_replays_the_commit_log_without_acking() {
        let mut node = Node::new(n(0), ring(2, 1), Switches::from(Variant::Cassandra40.design()));
        node.step(Input::Deliver {
            from: Addr::Client(0),
            msg: Msg::Write {
                write: WriteId(1),
                stmt: Statement::insert(0, Some(1), Some(1), 1),
                cl: Cl::One,
            },
        });
        assert!(node.coordinates(WriteId(1)));
        node.step(base_write(1, Statement::insert(0, Some(1), Some(1), 1), 0));
        assert!(node.step(Input::Crash).taken);
        assert!(!node.coordinates(WriteId(1)), "coordinator state is memory");
        assert_eq!(
            node.observe().commitlog,
            vec![CommitLogEntry {
                write: WriteId(1),
                stmt: Statement::insert(0, Some(1), Some(1), 1),
                reply_to: n(0),
            }],
            "the commit log is disk"
        );
        assert!(
            !node.step(Input::Fire(Timer::ApplyBase(WriteId(1)))).taken,
            "a down node takes nothing"
        );
        let fx = node.step(Input::Restart);
        assert!(fx.taken && node.is_up());
        let o = node.observe();
        assert!(o.commitlog.is_empty());
        assert_eq!(o.base[&0].resolve().map(|r| r.v), Some(Some(1)));
        assert!(
            !sends(&fx).iter().any(|(_, m)| matches!(m, Msg::BaseWriteAck { .. })),
            "R2 sends no ack"
        );
        // The crash pre-empted the view-update step: R2 generated it (one batch, replay armed).
        assert_eq!(o.batchlog.len(), 1);
        assert!(fx.outputs.contains(&Output::SetTimer(Timer::BatchlogReplay(BatchId {
            origin: n(0),
            seq: 0
        }))));
    }

    #[test]
    fn without_regeneration_replay_applies_the_base_and_nothing_else() {
        let mut node = Node::new(n(0), ring(2, 1), Switches::from(Variant::NoReplayRegeneration.design()));
        node.step(base_write(1, Statement::insert(0, Some(1), Some(1), 1), 0));
        node.step(Input::Crash);
        let fx = node.step(Input::Restart);
        let o = node.observe();
        assert_eq!(o.base[&0].resolve().map(|r| r.v), Some(Some(1)));
        assert!(
            o.batchlog.is_empty() && o.view.is_empty(),
            "A12: the view update is gone"
        );
        assert!(!fx.rules.contains(Rule::R2));
    }

    #[test]
    fn data_loss_wipes_everything() {
        let mut node = Node::new(n(0), ring(1, 1), Switches::from(Variant::Cassandra40.design()));
        write_through(&mut node, 1, Statement::insert(0, Some(1), Some(1), 1), 0);
        node.step(Input::Fire(Timer::ApplyBase(WriteId(1))));
        assert!(!node.observe().view.is_empty());
        node.step(Input::DataLoss);
        assert_eq!(
            node.observe(),
            NodeObservation {
                up: true,
                limit_reads: Some(vec![]),
                ..Default::default()
            }
        );
    }

    #[test]
    fn the_coordinator_answers_at_its_consistency_level_and_forgets_at_rf() {
        let mut node = Node::new(n(0), ring(3, 3), Switches::from(Variant::Cassandra40.design()));
        let w = WriteId(1);
        let fx = node.step(Input::Deliver {
            from: Addr::Client(0),
            msg: Msg::Write {
                write: w,
                stmt: Statement::insert(0, Some(1), Some(1), 1),
                cl: Cl::Quorum,
            },
        });
        assert_eq!(sends(&fx).len(), 3, "W3: one base write per replica");
        let ack = |from: u8| Input::Deliver {
            from: Addr::Node(n(from)),
            msg: Msg::BaseWriteAck { write: w },
        };
        assert!(sends(&node.step(ack(0))).is_empty());
        assert_eq!(
            sends(&node.step(ack(1))),
            vec![(Addr::Client(0), Msg::WriteOk { write: w })]
        );
        let fx = node.step(ack(2));
        assert!(sends(&fx).is_empty(), "W5 answers once");
        assert!(fx.outputs.contains(&Output::CancelTimer(Timer::WriteTimeout(w))));
        assert!(!node.coordinates(w));
        assert!(!node.step(Input::Fire(Timer::WriteTimeout(w))).taken);
    }

    fn view_repair(repair: u8, base: mv_spec::BaseRow, views: Vec<(NodeId, ViewKey, mv_spec::ViewRow)>) -> Input {
        Input::ViewRepair {
            repair,
            key: 0,
            base,
            views,
        }
    }

    /// R9: this node's own rows on the spot, the others' through a batchlog entry of the
    /// repair's own that is durable before the view write leaves.
    #[test]
    fn a_view_repair_applies_its_own_rows_and_batchlogs_the_others() {
        let mut node = Node::new(n(0), ring(2, 1), Switches::from(Variant::Cassandra40.design()));
        write_through(&mut node, 1, Statement::insert(0, Some(2), Some(1), 2), 0);
        node.step(Input::Fire(Timer::ApplyBase(WriteId(1))));
        // n0 holds (2,0); n1 still holds a stale (1,0), and n0's own (2,0) lost its `w`.
        let stale = mv_spec::ViewRow {
            marker: Some(mv_spec::Liveness::live(1)),
            ..Default::default()
        };
        let key2 = ViewKey { v: 2, k: 0 };
        let mut own = node.view_rows()[&key2];
        own.w = None;
        let views = vec![(n(0), key2, own), (n(1), ViewKey { v: 1, k: 0 }, stale)];
        let fx = node.step(view_repair(1, node.base_row(0), views.clone()));
        assert!(fx.taken && fx.violations.is_empty(), "{fx:?}");
        let mut want = RuleSet::default();
        want.insert(Rule::R6);
        want.insert(Rule::R9);
        assert_eq!(fx.rules, want, "no R8: nothing newer than the base");
        let batch = BatchId::view_repair(n(0), 1);
        let at = |o: &Output| fx.outputs.iter().position(|x| x == o);
        let persisted = at(&Output::Persist(Persist::BatchlogWrite(batch))).expect("a batchlog entry");
        let sent = fx
            .outputs
            .iter()
            .position(|o| matches!(o, Output::Send { msg: Msg::ViewWrite { batch: Some(b), .. }, to } if *b == batch && *to == Addr::Node(n(1))))
            .expect("the deletion goes to n1 under the repair's batch");
        assert!(persisted < sent, "B6's order: durable first");
        assert!(
            at(&Output::Persist(Persist::ViewApply(key2))).is_some(),
            "its own row, at once"
        );
        assert!(fx.outputs.contains(&Output::SetTimer(Timer::BatchlogReplay(batch))));
        assert!(node.holds_batch(batch, n(1)));
        // The stored row now reads as the base builds it (the repair's `w` merged in).
        assert_eq!(
            node.view_rows()[&key2].resolve(mv_spec::ReadRules { strict_liveness: true }),
            Some(Some(1))
        );

        // Without a local batchlog, the view write goes bare.
        let mut bare = Node::new(n(0), ring(2, 1), Switches::from(Variant::NoLocalBatchlog.design()));
        let fx = bare.step(view_repair(0, node.base_row(0), vec![views[1]]));
        assert!(
            matches!(&sends(&fx)[..], [(_, Msg::ViewWrite { batch: None, .. })]),
            "{fx:?}"
        );
        assert!(bare.observe().batchlog.is_empty());
    }

    /// R8: what only the view holds goes into this node's base at once, in the repair's
    /// step, with no view update and no message; the host hands the same cells to the other
    /// base replicas (`Input::Reinstate`), which take them only unlocked.
    #[test]
    fn a_view_repair_reinstates_in_its_own_step() {
        let mut node = Node::new(n(0), ring(2, 2), Switches::from(Variant::Cassandra40.design()));
        let ghost = mv_spec::ViewRow {
            marker: Some(mv_spec::Liveness::live(3)),
            ..Default::default()
        };
        let views = vec![
            (n(0), ViewKey { v: 1, k: 0 }, ghost),
            (n(1), ViewKey { v: 1, k: 0 }, ghost),
        ];
        let fx = node.step(view_repair(0, mv_spec::BaseRow::default(), views));
        assert!(
            fx.taken && fx.rules.contains(Rule::R8) && !fx.rules.contains(Rule::R9),
            "{fx:?}"
        );
        let stmt = Statement::update(0, mv_spec::Assign::Set(1), mv_spec::Assign::Keep, 3);
        let write = WriteId::view_repair(0, 0);
        assert!(sends(&fx).is_empty(), "nothing a client write could overtake: {fx:?}");
        assert_eq!(fx.outputs, vec![Output::Persist(Persist::BaseApply(write, 0))]);
        assert_eq!(node.base_row(0), stmt.as_row());
        assert!(node.view_rows().is_empty(), "the view already shows the lost write");

        let mut other = Node::new(n(1), ring(2, 2), Switches::from(Variant::Cassandra40.design()));
        let fx = other.step(Input::Reinstate {
            key: 0,
            writes: vec![(write, stmt)],
        });
        assert!(fx.taken && sends(&fx).is_empty(), "{fx:?}");
        assert_eq!(other.base_row(0), stmt.as_row());
        // Under a base write between its halves (the partition lock), or on a node that does
        // not replicate the key, the host is wrong: reported, nothing applied.
        let mut locked = Node::new(n(1), ring(2, 2), Switches::from(Variant::Cassandra40.design()));
        write_through(&mut locked, 1, Statement::insert(0, Some(2), Some(2), 2), 0);
        let before = locked.clone();
        let fx = locked.step(Input::Reinstate {
            key: 0,
            writes: vec![(write, stmt)],
        });
        assert!(!fx.taken && fx.violations.len() == 1, "{fx:?}");
        assert_eq!(locked, before);
        let mut stranger = Node::new(n(1), ring(2, 1), Switches::from(Variant::Cassandra40.design()));
        let fx = stranger.step(Input::Reinstate {
            key: 0,
            writes: vec![(write, stmt)],
        });
        assert!(!fx.taken && fx.violations[0].contains("base replica"), "{fx:?}");
    }

    /// A host that asks the wrong node, or a repair with nothing to write, changes nothing.
    #[test]
    fn a_view_repair_runs_only_on_the_first_base_replica_and_only_with_work() {
        let mut node = Node::new(n(1), ring(2, 2), Switches::from(Variant::Cassandra40.design()));
        let b0 = Statement::insert(0, Some(1), Some(1), 1).as_row();
        let before = node.clone();
        let fx = node.step(view_repair(0, b0, vec![]));
        assert!(!fx.taken && fx.violations.len() == 1, "{fx:?}");
        assert!(fx.violations[0].contains("first base replica"));
        assert_eq!(node, before);
        let mut first = Node::new(n(0), ring(1, 1), Switches::from(Variant::Cassandra40.design()));
        let in_sync = first.clone();
        let fx = first.step(view_repair(0, mv_spec::BaseRow::default(), vec![]));
        assert!(!fx.taken && fx.violations.is_empty() && fx.outputs.is_empty());
        assert_eq!(first, in_sync);
    }

    #[test]
    fn a_misdirected_view_mutation_is_reported_not_applied() {
        let mut node = Node::new(n(0), ring(2, 1), Switches::from(Variant::Cassandra40.design()));
        let m = ViewMutation {
            key: ViewKey { v: 1, k: 0 },
            row: mv_spec::ViewRow::default(),
        };
        let fx = node.step(Input::Deliver {
            from: Addr::Node(n(1)),
            msg: Msg::ViewWrite {
                batch: None,
                mutations: vec![m],
                hint: false,
            },
        });
        assert_eq!(fx.violations.len(), 1);
        assert!(fx.violations[0].contains("does not replicate view partition v=1"));
        assert!(node.observe().view.is_empty());
    }
}
