//! The actors: `Node` (playing `Coordinator`, `BaseReplica` and `ViewReplica`) and `Client`.
//!
//! Handlers are guarded `match` arms; each arm names the rule of `specs/protocol.md` it
//! implements. A handler that leaves the state untouched and sends nothing is a no-op, which
//! Stateright prunes: that is how a `BaseWrite` waits for the partition lock (B1) without any
//! queue: it simply stays in flight until a delivery can take the lock.

use crate::storage::{apply_view, view_updates};
use crate::variant::Rules;
use crate::workload::ClientScript;
use mv_spec::obs::Outcome;
use mv_spec::rule::{Rule, RuleSet};
use mv_spec::{
    BaseRow, BatchId, Cl, Key, Msg, NodeId, Ring, Statement, Timer, ViewKey, ViewMutation, ViewRow, WriteId,
};
use stateright::actor::{model_timeout, Actor, Id, Out};
use std::borrow::Cow;
use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

thread_local! {
    /// The rules the handler running on this thread has fired. Stateright's `Out` carries only
    /// sends and timers, so a handler reports its rules here and `MvModel::step` collects them
    /// around each transition (a thread runs one transition at a time).
    static FIRED: Cell<u64> = const { Cell::new(0) };
}

/// Records that the running handler executed rule `r`.
fn fired(r: Rule) {
    FIRED.with(|f| f.set(f.get() | r.bit()));
}

/// The rules fired since the last call, clearing the record.
pub fn take_fired() -> RuleSet {
    FIRED.with(|f| RuleSet(f.replace(0)))
}

/// What every node knows about the cluster.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ClusterCfg {
    /// The ring.
    pub ring: Ring,
    /// The variant's design choices.
    pub rules: Rules,
    /// Whether nodes offer the permanent data-loss fault.
    pub data_loss: bool,
    /// Writes applied everywhere before the run starts (`Workload::preload`).
    pub preload: Vec<Statement>,
    /// The partitions anti-entropy repair may be run on (R4): the workload's keys when the
    /// configuration has a repair budget and more than one base replica, else none.
    pub repair_keys: Vec<Key>,
    /// The partitions view repair may be run on (R6): the workload's keys when the
    /// configuration has a view-repair budget, else none.
    pub view_repair_keys: Vec<Key>,
}

/// A commit-log entry: a write between the two halves of the base replica's work.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CommitEntry {
    /// The statement.
    pub stmt: Statement,
    /// Who to ack (the coordinator, or a node replaying its coordinator batchlog).
    pub reply_to: NodeId,
}

/// A coordinator batchlog entry, held by a batchlog node.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CoordEntry {
    /// The statement to replay.
    pub stmt: Statement,
    /// The coordinator that wrote the entry.
    pub coordinator: NodeId,
    /// Base replicas that have not acked a replay yet.
    pub pending: BTreeSet<NodeId>,
}

/// A node's disk: everything that survives a crash-restart. A permanent data loss wipes it,
/// except the fault counters, which are bookkeeping of the model, not data.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Disk {
    /// The base table.
    pub base: BTreeMap<Key, BaseRow>,
    /// The view table.
    pub view: BTreeMap<ViewKey, ViewRow>,
    /// Commit log entries of writes whose base apply (B8) has not run.
    pub commitlog: BTreeMap<WriteId, CommitEntry>,
    /// Local batchlog: for each entry, the view mutations not yet acked, per view replica.
    pub batchlog: BTreeMap<BatchId, BTreeMap<NodeId, Vec<ViewMutation>>>,
    /// Next local batchlog sequence number.
    pub next_batch: u8,
    /// Hints: per view replica, the batches to deliver to it.
    pub hints: BTreeMap<NodeId, BTreeMap<BatchId, Vec<ViewMutation>>>,
    /// Base hints (W10): per base replica, the writes to deliver to it.
    pub base_hints: BTreeMap<NodeId, BTreeMap<WriteId, Statement>>,
    /// Coordinator batchlog entries this node holds for other coordinators.
    pub coord_batchlog: BTreeMap<WriteId, CoordEntry>,
    /// How many times the node restarted after a crash (bounds crash-restart cycles).
    pub restarts: u8,
    /// How many times the node lost its data.
    pub data_losses: u8,
    /// How many messages this node sent (or, for a client's message, was sent) that the
    /// network lost: bookkeeping of the model that bounds `--lossy` by `--drops`.
    pub lost: u8,
    /// How many anti-entropy repairs this node ran (bounds `--repairs`).
    pub repairs: u8,
    /// How many view repairs this node ran (bounds `--view-repairs`).
    pub view_repairs: u8,
    /// Whether the clock has passed the TTL deadline (`Fault::Expire`). The node's clock, not
    /// data: it lives here because a restarting node reads it (commit-log replay generates
    /// view updates at the current time) and a replacement after data loss has the same
    /// clock.
    pub expired: bool,
}

/// What a coordinator remembers about a write in progress (lost on crash).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CoordReq {
    /// The client to answer.
    pub client: Id,
    /// The statement.
    pub stmt: Statement,
    /// The consistency level.
    pub cl: Cl,
    /// Batchlog nodes that confirmed the coordinator batchlog entry.
    pub stored: u8,
    /// Base replicas that acked, one bit per node id (W10 hints the others).
    pub acked: u8,
    /// Whether the client has its answer.
    pub replied: bool,
}

/// A node's state: its disk plus what it loses on a crash.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeState {
    /// Durable state.
    pub disk: Disk,
    /// Coordinator state: writes in progress (volatile).
    pub coord: BTreeMap<WriteId, CoordReq>,
    /// The nodes this node knows to be down past `max_hint_window`, one bit per node id
    /// (volatile: the failure detector's downtime; the model sets and clears it for every
    /// live node, as gossip would). W13 writes no base hint for them; batchlog replay (B10)
    /// hints them all the same, as Cassandra's `BatchlogManager` does.
    pub past_hint_window: u8,
}

impl CoordReq {
    /// How many base replicas acked.
    pub fn acks(&self) -> u8 {
        self.acked.count_ones() as u8
    }
}

impl NodeState {
    /// B1: whether partition `k` is locked. The lock is held exactly while a write of `k`
    /// sits between its two halves, i.e. has a commit-log entry on a running node.
    pub fn locked(&self, k: Key) -> bool {
        self.disk.commitlog.values().any(|e| e.stmt.k == k)
    }

    /// Whether the node durably holds `batch` for view replica `target`, in its local batchlog
    /// or as a hint: what an ack from `target` would clear (B9).
    pub fn holds_batch(&self, batch: BatchId, target: NodeId) -> bool {
        self.disk.batchlog.get(&batch).is_some_and(|e| e.contains_key(&target))
            || self.disk.hints.get(&target).is_some_and(|h| h.contains_key(&batch))
    }

    /// Whether the node holds a base hint of `write` for base replica `target` (W12).
    pub fn holds_base_hint(&self, write: WriteId, target: NodeId) -> bool {
        self.disk
            .base_hints
            .get(&target)
            .is_some_and(|h| h.contains_key(&write))
    }
}

/// A client's state.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClientState {
    /// Outcome of each write of the script.
    pub outcomes: Vec<Outcome>,
    /// The attempt in flight of the pending write: 0 for the first, 1 after one retry (C3).
    pub attempt: u8,
}

/// The per-actor state.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MvState {
    /// A node.
    Node(NodeState),
    /// A client.
    Client(ClientState),
}

/// What a node may be chosen for besides crashing (a Stateright random choice): a fault, or
/// the operator's repair, which like a fault happens at a time no protocol rule sets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Fault {
    /// The node's disk is gone for good; it comes back empty (a replaced node, no repair).
    DataLoss,
    /// Not a fault: the node runs anti-entropy repair of this partition (R4). The model
    /// offers it only once the write path has settled and the replicas differ
    /// (`MvModel::repair_due`), and carries it out itself, since it reads every replica.
    Repair(Key),
    /// Node `n`, down, stays down past `max_hint_window` (`--long-outages`). No node decides
    /// this, so the first client, which never crashes, offers it on the environment's behalf;
    /// the model enables it only while `n` is down and some live node does not know yet, and
    /// tells every live node (`NodeState::past_hint_window`).
    HintWindow(NodeId),
    /// Not a fault: the node runs view repair of this partition (R6). The model offers it
    /// only when R6 allows it (`MvModel::view_repair_enabled`) and carries out R8 and R9
    /// itself, since they read every replica.
    ViewRepair(Key),
    /// Not a fault: the clock passes the TTL deadline, on every node at once. No node decides
    /// this, so the first client offers it, once, when the workload writes `USING TTL`; the
    /// model moves every node's clock (`Disk::expired`).
    Expire,
}

/// An actor of the model.
#[derive(Clone, Debug)]
pub enum MvActor {
    /// A node (Coordinator, BaseReplica and ViewReplica).
    Node {
        /// Its id.
        id: NodeId,
        /// The cluster.
        cfg: Arc<ClusterCfg>,
    },
    /// A client running a script.
    Client {
        /// The script.
        script: ClientScript,
        /// The consistency level of its writes.
        cl: Cl,
        /// How many times it retries a write that timed out (C3).
        retries: u8,
        /// With `--long-outages`, the first client offers `Fault::HintWindow` for each of
        /// this many nodes; 0 otherwise.
        hint_window_nodes: u8,
        /// Whether this client offers `Fault::Expire`: the first one, when the workload
        /// writes `USING TTL`.
        offers_expiry: bool,
    },
}

/// The actor id of a node.
pub fn node_actor(n: NodeId) -> Id {
    Id::from(n.0 as usize)
}

/// The node behind an actor id, if it is one.
pub fn actor_node(id: Id, nodes: u8) -> Option<NodeId> {
    let i = usize::from(id);
    (i < nodes as usize).then_some(NodeId(i as u8))
}

const DATA_LOSS: &str = "data-loss";
/// The key of the hint-window choice (`Step::HintWindow` maps to it).
pub const HINT_WINDOW: &str = "hint-window";
/// The key of the repair choice (`Step::Repair` maps to it).
pub const REPAIR: &str = "repair";
/// The key of the view-repair choice (`Step::ViewRepair` maps to it).
pub const VIEW_REPAIR: &str = "view-repair";
/// The key of the clock's choice (`Step::Expire` maps to it).
pub const EXPIRE: &str = "expire";

impl Actor for MvActor {
    type Msg = Msg;
    type Timer = Timer;
    type State = MvState;
    type Storage = Disk;
    type Random = Fault;

    fn name(&self) -> String {
        match self {
            MvActor::Node { id, .. } => format!("{id} (Coordinator/BaseReplica/ViewReplica)"),
            MvActor::Client { script, .. } => format!("Client of {}", script.coordinator),
        }
    }

    fn on_start(&self, _id: Id, storage: &Option<Disk>, o: &mut Out<Self>) -> MvState {
        match self {
            MvActor::Client {
                script,
                cl,
                hint_window_nodes,
                offers_expiry,
                ..
            } => {
                offer_hint_window(*hint_window_nodes, o);
                if *offers_expiry {
                    o.choose_random(EXPIRE, vec![Fault::Expire]);
                }
                // C1: send the first write.
                let mut outcomes = vec![Outcome::NotSent; script.writes.len()];
                if let Some(&(write, stmt)) = script.writes.first() {
                    fired(Rule::C1);
                    o.send(node_actor(script.coordinator), Msg::Write { write, stmt, cl: *cl });
                    outcomes[0] = Outcome::Pending;
                }
                MvState::Client(ClientState { outcomes, attempt: 0 })
            }
            MvActor::Node { id, cfg } => {
                let mut st = NodeState::default();
                if let Some(disk) = storage {
                    // R1: restart from disk; locks and coordinator state are gone.
                    st.disk = disk.clone();
                    st.disk.restarts += 1;
                    fired(Rule::R1);
                    node(*id, cfg).recover(&mut st, o);
                } else {
                    node(*id, cfg).preload(&mut st);
                }
                if cfg.data_loss && st.disk.data_losses == 0 {
                    o.choose_random(DATA_LOSS, vec![Fault::DataLoss]);
                }
                node(*id, cfg).offer_repair(o);
                node(*id, cfg).offer_view_repair(o);
                MvState::Node(st)
            }
        }
    }

    fn on_msg(&self, _id: Id, state: &mut Cow<MvState>, src: Id, msg: Msg, o: &mut Out<Self>) {
        match self {
            MvActor::Client {
                script, cl, retries, ..
            } => {
                let MvState::Client(cs) = &**state else {
                    unreachable!("a client has client state")
                };
                let (Msg::WriteOk { write } | Msg::WriteTimeout { write }) = msg else {
                    return;
                };
                let Some(i) = script.writes.iter().position(|w| w.0 == write.first_attempt()) else {
                    return;
                };
                // Only the answer to the attempt in flight counts: each attempt is answered
                // once (W5 or W6), so nothing else can arrive, but the guard says so.
                if cs.outcomes[i] != Outcome::Pending || write.attempt() != cs.attempt {
                    return;
                }
                let MvState::Client(cs) = state.to_mut() else {
                    unreachable!()
                };
                let stmt = script.writes[i].1;
                if matches!(msg, Msg::WriteTimeout { .. }) && cs.attempt < *retries {
                    // C3: a timed-out write is sent again, as a new request with the same
                    // statement and timestamp, to the same coordinator (a driver's retry).
                    fired(Rule::C3);
                    cs.attempt += 1;
                    o.send(
                        node_actor(script.coordinator),
                        Msg::Write {
                            write: write.retry(),
                            stmt,
                            cl: *cl,
                        },
                    );
                    return;
                }
                // C2: record the answer, send the next write.
                fired(Rule::C2);
                cs.outcomes[i] = if matches!(msg, Msg::WriteOk { .. }) {
                    Outcome::Ok
                } else {
                    Outcome::Timeout
                };
                cs.attempt = 0;
                if let Some(&(write, stmt)) = script.writes.get(i + 1) {
                    o.send(node_actor(script.coordinator), Msg::Write { write, stmt, cl: *cl });
                    cs.outcomes[i + 1] = Outcome::Pending;
                }
            }
            MvActor::Node { id, cfg } => {
                let me = node(*id, cfg);
                let from = actor_node(src, cfg.ring.nodes);
                // Guards read the state; only a message the node takes clones it (Stateright
                // prunes a handler that changes nothing and sends nothing).
                if me.takes(node_state(state), from, &msg) {
                    me.on_msg(node_state_mut(state), src, from, msg, o);
                }
            }
        }
    }

    fn on_timeout(&self, _id: Id, state: &mut Cow<MvState>, timer: &Timer, o: &mut Out<Self>) {
        let MvActor::Node { id, cfg } = self else { return };
        let me = node(*id, cfg);
        if me.timer_live(node_state(state), timer) {
            me.on_timer(state, *timer, o);
        }
    }

    fn on_random(&self, _id: Id, state: &mut Cow<MvState>, fault: &Fault, o: &mut Out<Self>) {
        let MvActor::Node { id, cfg } = self else {
            let MvActor::Client { hint_window_nodes, .. } = self else {
                unreachable!("an actor is a node or a client")
            };
            match fault {
                // The environment's hint-window choice: the model tells the nodes; the offer
                // stays open for the next outage.
                Fault::HintWindow(_) => offer_hint_window(*hint_window_nodes, o),
                // The deadline passes once: the model moves every node's clock, and the offer
                // is gone.
                Fault::Expire => fired(Rule::Expire),
                Fault::DataLoss | Fault::Repair(_) | Fault::ViewRepair(_) => {
                    unreachable!("a client offers only the environment's choices")
                }
            }
            return;
        };
        match fault {
            Fault::HintWindow(_) | Fault::Expire => unreachable!("only a client offers the environment's choices"),
            Fault::ViewRepair(_) => {
                // R8 and R9 are the model's to carry out (`MvModel::step`): they read every
                // replica. The node counts the repair and stays available for the next one.
                fired(Rule::R6);
                node_state_mut(state).disk.view_repairs += 1;
                node(*id, cfg).offer_view_repair(o);
            }
            Fault::Repair(_) => {
                // The streams themselves are the model's to send (`MvModel::step`): they
                // read every replica. The node counts the repair and stays available for
                // the next one.
                fired(Rule::R4);
                node_state_mut(state).disk.repairs += 1;
                node(*id, cfg).offer_repair(o);
            }
            Fault::DataLoss => {
                let MvState::Node(ns) = state.to_mut() else {
                    unreachable!()
                };
                // The node is replaced by an empty one: disk and memory are gone. (Its timers
                // and connections are dropped by the model, as on a crash.)
                let disk = Disk {
                    restarts: ns.disk.restarts,
                    data_losses: ns.disk.data_losses + 1,
                    lost: ns.disk.lost,
                    repairs: ns.disk.repairs,
                    view_repairs: ns.disk.view_repairs,
                    expired: ns.disk.expired,
                    ..Disk::default()
                };
                *ns = NodeState {
                    disk,
                    ..NodeState::default()
                };
            }
        }
    }
}

/// Offers `Fault::HintWindow` for each of `nodes` nodes (none when 0).
fn offer_hint_window(nodes: u8, o: &mut Out<MvActor>) {
    if nodes > 0 {
        o.choose_random(HINT_WINDOW, (0..nodes).map(|n| Fault::HintWindow(NodeId(n))).collect());
    }
}

/// The state of a node actor.
fn node_state(state: &MvState) -> &NodeState {
    match state {
        MvState::Node(ns) => ns,
        MvState::Client(_) => unreachable!("a node actor has node state"),
    }
}

/// The state of a node actor, to change (clones it out of the shared copy).
fn node_state_mut<'a>(state: &'a mut Cow<MvState>) -> &'a mut NodeState {
    match state.to_mut() {
        MvState::Node(ns) => ns,
        MvState::Client(_) => unreachable!("a node actor has node state"),
    }
}

/// A node's view of itself while it handles one event.
struct Node<'a> {
    id: NodeId,
    cfg: &'a ClusterCfg,
}

fn node(id: NodeId, cfg: &ClusterCfg) -> Node<'_> {
    Node { id, cfg }
}

impl Node<'_> {
    /// Offers to run repair (R4) on every partition this node is the first base replica
    /// of; the model decides when a repair is due.
    fn offer_repair(&self, o: &mut Out<MvActor>) {
        let mine: Vec<Fault> = self
            .cfg
            .repair_keys
            .iter()
            .filter(|&&k| self.cfg.ring.base_replicas(k).first() == Some(&self.id))
            .map(|&k| Fault::Repair(k))
            .collect();
        if !mine.is_empty() {
            o.choose_random(REPAIR, mine);
        }
    }

    /// Offers to run view repair (R6) on every partition this node is the first base replica
    /// of; the model decides when R6 allows it.
    fn offer_view_repair(&self, o: &mut Out<MvActor>) {
        let mine: Vec<Fault> = self
            .cfg
            .view_repair_keys
            .iter()
            .filter(|&&k| self.cfg.ring.base_replicas(k).first() == Some(&self.id))
            .map(|&k| Fault::ViewRepair(k))
            .collect();
        if !mine.is_empty() {
            o.choose_random(VIEW_REPAIR, mine);
        }
    }

    /// Whether this node takes `msg` from `from` now: the guards of the protocol's rules. A
    /// message it does not take stays in flight (B1's wait), or is a no-op (a late ack).
    fn takes(&self, ns: &NodeState, from: Option<NodeId>, msg: &Msg) -> bool {
        match msg {
            Msg::Write { .. } | Msg::BatchlogStore { .. } | Msg::ViewWrite { .. } => true,
            Msg::BatchlogStored { write } => ns.coord.contains_key(write),
            Msg::BatchlogRemove { write } => ns.disk.coord_batchlog.contains_key(write),
            Msg::BaseWrite { stmt, .. } => {
                // B1: a write to a locked partition waits (stays in flight).
                let waits = self.cfg.rules.partition_lock && ns.locked(stmt.k);
                if waits {
                    fired(Rule::B1);
                }
                !waits
            }
            Msg::BaseWriteAck { write } => {
                let from = from.expect("only nodes ack base writes");
                ns.coord.contains_key(write)
                    || Self::replay_pending(ns, *write, from)
                    || ns.holds_base_hint(*write, from)
            }
            Msg::ViewWriteAck { batch } => {
                let from = from.expect("only nodes ack view writes");
                ns.holds_batch(*batch, from)
            }
            Msg::WriteOk { .. } | Msg::WriteTimeout { .. } => false,
        }
    }

    /// Whether base replica `from` still owes this node an ack for a replayed `write` (W9).
    fn replay_pending(ns: &NodeState, write: WriteId, from: NodeId) -> bool {
        ns.disk
            .coord_batchlog
            .get(&write)
            .is_some_and(|e| e.pending.contains(&from))
    }

    /// Handles a message `takes` accepted, one rule group per message.
    fn on_msg(&self, ns: &mut NodeState, src: Id, from: Option<NodeId>, msg: Msg, o: &mut Out<MvActor>) {
        match msg {
            Msg::Write { write, stmt, cl } => self.on_client_write(ns, src, write, stmt, cl, o),
            Msg::BatchlogStore { write, stmt } => {
                self.on_batchlog_store(ns, from.expect("only nodes coordinate"), write, stmt, src, o)
            }
            Msg::BatchlogStored { write } => self.on_batchlog_stored(ns, write, o),
            Msg::BatchlogRemove { write } => self.on_batchlog_remove(ns, write, o),
            Msg::BaseWrite { write, stmt } => {
                let reply_to = from.expect("only nodes send base writes");
                self.base_write_first_half(ns, write, stmt, reply_to, o)
            }
            Msg::BaseWriteAck { write } => {
                let from = from.expect("only nodes ack base writes");
                let replayed = Self::replay_pending(ns, write, from);
                let hinted = ns.holds_base_hint(write, from);
                if ns.coord.contains_key(&write) {
                    self.on_base_ack(ns, write, from, o);
                }
                if replayed {
                    self.on_replayed_ack(ns, write, from, o);
                }
                if hinted {
                    self.on_base_hint_ack(ns, write, from, o);
                }
            }
            Msg::ViewWrite { batch, mutations, .. } => self.on_view_write(
                ns,
                from.expect("only nodes send view writes"),
                batch,
                &mutations,
                src,
                o,
            ),
            Msg::ViewWriteAck { batch } => self.on_view_ack(ns, batch, from.expect("only nodes ack view writes"), o),
            Msg::WriteOk { .. } | Msg::WriteTimeout { .. } => unreachable!("`takes` refuses client answers"),
        }
    }

    /// Whether `timer` has work to do: what it guards still exists.
    fn timer_live(&self, ns: &NodeState, timer: &Timer) -> bool {
        match *timer {
            Timer::Generate(write) | Timer::ApplyBase(write) => ns.disk.commitlog.contains_key(&write),
            Timer::WriteTimeout(write) => ns.coord.contains_key(&write),
            Timer::BatchlogReplay(batch) => ns.disk.batchlog.contains_key(&batch),
            Timer::HintDelivery(target) => {
                ns.disk.hints.get(&target).is_some_and(|h| !h.is_empty())
                    || ns.disk.base_hints.get(&target).is_some_and(|h| !h.is_empty())
            }
            Timer::CoordBatchlogReplay(write) => ns.disk.coord_batchlog.contains_key(&write),
        }
    }

    /// Handles a timer `timer_live` accepted. The two retry timers only resend what the
    /// disk holds, so they read the state without cloning it.
    fn on_timer(&self, state: &mut Cow<MvState>, timer: Timer, o: &mut Out<MvActor>) {
        match timer {
            Timer::Generate(write) => self.generate(node_state_mut(state), write, o),
            Timer::ApplyBase(write) => self.base_write_second_half(node_state_mut(state), write, o),
            Timer::WriteTimeout(write) => self.on_write_timeout(node_state_mut(state), write, o),
            Timer::BatchlogReplay(batch) => self.replay_batchlog(node_state_mut(state), batch, o),
            Timer::HintDelivery(target) => self.deliver_hints(node_state(state), target, o),
            Timer::CoordBatchlogReplay(write) => self.replay_coord_batchlog(node_state(state), write, o),
        }
    }

    /// W7: store the coordinator batchlog entry durably and confirm it.
    fn on_batchlog_store(
        &self,
        ns: &mut NodeState,
        coordinator: NodeId,
        write: WriteId,
        stmt: Statement,
        src: Id,
        o: &mut Out<MvActor>,
    ) {
        fired(Rule::W7);
        let pending = self.cfg.ring.base_replicas(stmt.k).into_iter().collect();
        ns.disk.coord_batchlog.insert(
            write,
            CoordEntry {
                stmt,
                coordinator,
                pending,
            },
        );
        o.set_timer(Timer::CoordBatchlogReplay(write), model_timeout());
        o.send(src, Msg::BatchlogStored { write });
    }

    /// W3 after W7: forward once every batchlog node holds the entry.
    fn on_batchlog_stored(&self, ns: &mut NodeState, write: WriteId, o: &mut Out<MvActor>) {
        let req = ns.coord.get_mut(&write).expect("checked by `takes`");
        req.stored += 1;
        if req.stored as usize == self.cfg.ring.batchlog_nodes(self.id).len() {
            let stmt = req.stmt;
            self.forward(write, stmt, o);
        }
    }

    /// W8: the write reached a quorum; the entry is no longer needed.
    fn on_batchlog_remove(&self, ns: &mut NodeState, write: WriteId, o: &mut Out<MvActor>) {
        fired(Rule::W8);
        ns.disk.coord_batchlog.remove(&write);
        o.cancel_timer(Timer::CoordBatchlogReplay(write));
    }

    /// W9: a replayed base write landed on `from`.
    fn on_replayed_ack(&self, ns: &mut NodeState, write: WriteId, from: NodeId, o: &mut Out<MvActor>) {
        fired(Rule::W9);
        let entry = ns.disk.coord_batchlog.get_mut(&write).expect("checked by the caller");
        entry.pending.remove(&from);
        if entry.pending.is_empty() {
            ns.disk.coord_batchlog.remove(&write);
            o.cancel_timer(Timer::CoordBatchlogReplay(write));
        }
    }

    /// V1: apply with last-write-wins; V2: ack a batchlogged write.
    fn on_view_write(
        &self,
        ns: &mut NodeState,
        from: NodeId,
        batch: Option<BatchId>,
        mutations: &[ViewMutation],
        src: Id,
        o: &mut Out<MvActor>,
    ) {
        for m in mutations {
            // Pair assertion: the sender chose us by the pairing rule (B5).
            assert!(
                self.cfg.ring.view_replicas(m.key).contains(&self.id),
                "{} got view mutation {m} from {from} but does not replicate its view partition",
                self.id
            );
        }
        fired(Rule::V1);
        for m in mutations {
            self.apply_view(ns, m);
        }
        if let Some(batch) = batch {
            fired(Rule::V2);
            o.send(src, Msg::ViewWriteAck { batch });
        }
    }

    /// W6: give up; the client hears a timeout unless it already has its answer. W10: every
    /// other base replica that has not acked gets a hint. The coordinator's own replica needs
    /// none: its base write is a message to itself that only its own crash loses, and that
    /// crash takes this timeout with it.
    fn on_write_timeout(&self, ns: &mut NodeState, write: WriteId, o: &mut Out<MvActor>) {
        fired(Rule::W6);
        let req = ns.coord.remove(&write).expect("checked by `timer_live`");
        if !req.replied {
            o.send(req.client, Msg::WriteTimeout { write });
        }
        // Only replicas the write was sent to are hinted: with the coordinator batchlog the
        // write leaves only once every batchlog node confirmed it (W2), and a write that never
        // left has no replica to hint (Cassandra hints from the expired callback of a sent
        // write).
        let forwarded =
            !self.cfg.rules.coordinator_batchlog || req.stored as usize == self.cfg.ring.batchlog_nodes(self.id).len();
        if !self.cfg.rules.base_hints || !forwarded {
            return;
        }
        for r in self.cfg.ring.base_replicas(req.stmt.k) {
            if r == self.id || req.acked & (1 << r.0) != 0 {
                continue;
            }
            // W13: Cassandra hints only a replica down for less than `max_hint_window`.
            if ns.past_hint_window & (1 << r.0) != 0 {
                fired(Rule::W13);
                continue;
            }
            fired(Rule::W10);
            ns.disk.base_hints.entry(r).or_default().insert(write, req.stmt);
            o.set_timer(Timer::HintDelivery(r), model_timeout());
        }
    }

    /// W12: a base replica acked a delivered base hint.
    fn on_base_hint_ack(&self, ns: &mut NodeState, write: WriteId, from: NodeId, o: &mut Out<MvActor>) {
        fired(Rule::W12);
        let hints = ns.disk.base_hints.get_mut(&from).expect("checked by the caller");
        hints.remove(&write);
        if hints.is_empty() {
            ns.disk.base_hints.remove(&from);
        }
        Self::stop_idle_hint_delivery(ns, from, o);
    }

    /// One hint store per target holds view and base hints: its delivery timer stops only when
    /// neither kind is left for `target`.
    fn stop_idle_hint_delivery(ns: &NodeState, target: NodeId, o: &mut Out<MvActor>) {
        if !ns.disk.hints.contains_key(&target) && !ns.disk.base_hints.contains_key(&target) {
            o.cancel_timer(Timer::HintDelivery(target));
        }
    }

    /// B10: replay. Every unacknowledged mutation goes to the hint store, whose delivery (B11)
    /// retries it until its view replica acks.
    fn replay_batchlog(&self, ns: &mut NodeState, batch: BatchId, o: &mut Out<MvActor>) {
        fired(Rule::B10);
        let pending = ns.disk.batchlog.remove(&batch).expect("checked by `timer_live`");
        for (target, mutations) in pending {
            ns.disk.hints.entry(target).or_default().insert(batch, mutations);
            o.set_timer(Timer::HintDelivery(target), model_timeout());
        }
    }

    /// B11, W11: deliver every hint held for `target`, view hints and base hints alike (one
    /// hint store, as in Cassandra), and keep the timer for retries. A base hint goes through
    /// the replica's write path, so it generates view updates there.
    fn deliver_hints(&self, ns: &NodeState, target: NodeId, o: &mut Out<MvActor>) {
        if let Some(writes) = ns.disk.base_hints.get(&target) {
            fired(Rule::W11);
            for (&write, &stmt) in writes {
                o.send(node_actor(target), Msg::BaseWrite { write, stmt });
            }
        }
        o.set_timer(Timer::HintDelivery(target), model_timeout());
        let Some(hints) = ns.disk.hints.get(&target) else {
            return;
        };
        fired(Rule::B11);
        for (&batch, mutations) in hints {
            o.send(
                node_actor(target),
                Msg::ViewWrite {
                    batch: Some(batch),
                    mutations: mutations.clone(),
                    hint: true,
                },
            );
        }
    }

    /// W9: the entry outlived the batchlog timeout: replay the base write to every base
    /// replica that has not acked, and keep retrying.
    fn replay_coord_batchlog(&self, ns: &NodeState, write: WriteId, o: &mut Out<MvActor>) {
        fired(Rule::W9);
        let entry = &ns.disk.coord_batchlog[&write];
        for &r in &entry.pending {
            o.send(
                node_actor(r),
                Msg::BaseWrite {
                    write,
                    stmt: entry.stmt,
                },
            );
        }
        o.set_timer(Timer::CoordBatchlogReplay(write), model_timeout());
    }

    /// The workload's preloaded writes, as if each had reached every replica before the run:
    /// in the base of each base replica of its key, and its view updates (derived from the
    /// rows the earlier preloaded writes left) in the view of each view replica. Not a step:
    /// no rule fires and nothing is logged or acknowledged.
    fn preload(&self, ns: &mut NodeState) {
        let mut rows: BTreeMap<Key, BaseRow> = BTreeMap::new();
        for stmt in &self.cfg.preload {
            let prior = rows.get(&stmt.k).copied().unwrap_or_default();
            for m in view_updates(&self.cfg.rules, &prior, stmt, false) {
                if self.cfg.ring.view_replicas(m.key).contains(&self.id) {
                    self.apply_view(ns, &m);
                }
            }
            rows.insert(stmt.k, prior.merge(&stmt.as_row()));
            if self.cfg.ring.base_replicas(stmt.k).contains(&self.id) {
                Self::apply_base(ns, stmt);
            }
        }
    }

    /// W1: become the coordinator of a client write.
    fn on_client_write(
        &self,
        ns: &mut NodeState,
        client: Id,
        write: WriteId,
        stmt: Statement,
        cl: Cl,
        o: &mut Out<MvActor>,
    ) {
        fired(Rule::W1);
        ns.coord.insert(
            write,
            CoordReq {
                client,
                stmt,
                cl,
                stored: 0,
                acked: 0,
                replied: false,
            },
        );
        o.set_timer(Timer::WriteTimeout(write), model_timeout());
        if self.cfg.rules.coordinator_batchlog {
            // W2: the coordinator batchlog goes to its batchlog nodes first.
            fired(Rule::W2);
            for n in self.cfg.ring.batchlog_nodes(self.id) {
                o.send(node_actor(n), Msg::BatchlogStore { write, stmt });
            }
        } else {
            self.forward(write, stmt, o);
        }
    }

    /// W3: send the base mutation to every base replica of the partition.
    fn forward(&self, write: WriteId, stmt: Statement, o: &mut Out<MvActor>) {
        fired(Rule::W3);
        for r in self.cfg.ring.base_replicas(stmt.k) {
            o.send(node_actor(r), Msg::BaseWrite { write, stmt });
        }
    }

    /// W4, W5, W8: count a base replica's ack.
    fn on_base_ack(&self, ns: &mut NodeState, write: WriteId, from: NodeId, o: &mut Out<MvActor>) {
        let rf = self.cfg.ring.rf;
        let req = ns.coord.get_mut(&write).expect("caller checked");
        fired(Rule::W4);
        req.acked |= 1 << from.0;
        if req.acks() == req.cl.required(rf) && !req.replied {
            fired(Rule::W5);
            req.replied = true;
            o.send(req.client, Msg::WriteOk { write });
        }
        if self.cfg.rules.coordinator_batchlog && req.acks() == Cl::Quorum.required(rf) {
            fired(Rule::W8);
            for n in self.cfg.ring.batchlog_nodes(self.id) {
                o.send(node_actor(n), Msg::BatchlogRemove { write });
            }
        }
        if req.acks() == rf {
            ns.coord.remove(&write);
            o.cancel_timer(Timer::WriteTimeout(write));
        }
    }

    /// B2: the first step of a base write: the commit-log append, which takes the partition
    /// lock (`NodeState::locked`). The view-update step is a step of its own, so a crash can
    /// fall between the two and leave work only commit-log replay (R2) regenerates.
    fn base_write_first_half(
        &self,
        ns: &mut NodeState,
        write: WriteId,
        stmt: Statement,
        reply_to: NodeId,
        o: &mut Out<MvActor>,
    ) {
        fired(Rule::B2);
        ns.disk.commitlog.insert(write, CommitEntry { stmt, reply_to });
        o.set_timer(Timer::Generate(write), model_timeout());
    }

    /// B3-B7: read-before-write, generate, pair, batchlog and send, still under the lock; then
    /// the base apply is deferred to a step of its own (B7), on which other work interleaves.
    fn generate(&self, ns: &mut NodeState, write: WriteId, o: &mut Out<MvActor>) {
        let stmt = ns.disk.commitlog[&write].stmt;
        self.propagate(ns, stmt, o);
        fired(Rule::B7);
        o.set_timer(Timer::ApplyBase(write), model_timeout());
    }

    /// B3-B6: read-before-write, generate, pair, batchlog, send. Returns how many view
    /// mutations were generated.
    fn propagate(&self, ns: &mut NodeState, stmt: Statement, o: &mut Out<MvActor>) -> usize {
        fired(Rule::B3);
        let existing = ns.disk.base.get(&stmt.k).copied().unwrap_or_default();
        let mut remote: BTreeMap<NodeId, Vec<ViewMutation>> = BTreeMap::new();
        fired(Rule::B4);
        // The read-before-write happens now: a TTL'd cell past the deadline is dead to it.
        let updates = view_updates(&self.cfg.rules, &existing, &stmt, ns.disk.expired);
        let generated = updates.len();
        let mut local = false;
        for m in updates {
            let target = self
                .cfg
                .ring
                .paired_view_replica(self.id, stmt.k, m.key)
                .expect("a base replica always has a paired view replica on a static ring");
            if target == self.id {
                // B5: our own pair: apply locally and synchronously.
                fired(Rule::B5);
                self.apply_view(ns, &m);
                local = true;
            } else {
                remote.entry(target).or_default().push(m);
            }
        }
        if remote.is_empty() {
            return generated;
        }
        fired(Rule::B6);
        let batch = BatchId {
            origin: self.id,
            seq: ns.disk.next_batch,
        };
        // A13: without `batchlog_waits_for_remote`, a write that also applied a self-paired
        // mutation has its entry cleaned up with that local apply, before any remote ack: the
        // remote view writes leave unprotected.
        let logged = self.cfg.rules.local_batchlog && (self.cfg.rules.batchlog_waits_for_remote || !local);
        if logged {
            // B6: the local batchlog is durable before any remote view write leaves.
            ns.disk.next_batch += 1;
            ns.disk.batchlog.insert(batch, remote.clone());
            o.set_timer(Timer::BatchlogReplay(batch), model_timeout());
        }
        for (target, mutations) in remote {
            let batch = logged.then_some(batch);
            o.send(
                node_actor(target),
                Msg::ViewWrite {
                    batch,
                    mutations,
                    hint: false,
                },
            );
        }
        generated
    }

    /// B8: apply the base mutation, release the lock, ack.
    fn base_write_second_half(&self, ns: &mut NodeState, write: WriteId, o: &mut Out<MvActor>) {
        fired(Rule::B8);
        let entry = ns.disk.commitlog.remove(&write).expect("caller checked");
        Self::apply_base(ns, &entry.stmt);
        o.send(node_actor(entry.reply_to), Msg::BaseWriteAck { write });
    }

    /// B8, R2: last-write-wins merge of a statement into the base table.
    fn apply_base(ns: &mut NodeState, stmt: &Statement) {
        let row = ns.disk.base.get(&stmt.k).copied().unwrap_or_default();
        ns.disk.base.insert(stmt.k, row.merge(&stmt.as_row()));
    }

    /// V1: last-write-wins merge into the view table.
    fn apply_view(&self, ns: &mut NodeState, m: &ViewMutation) {
        let stored = ns.disk.view.get(&m.key).copied().unwrap_or_default();
        ns.disk.view.insert(m.key, apply_view(&self.cfg.rules, &stored, &m.row));
    }

    /// B9: a view replica acked a batchlog entry or a hint.
    fn on_view_ack(&self, ns: &mut NodeState, batch: BatchId, from: NodeId, o: &mut Out<MvActor>) {
        fired(Rule::B9);
        if let Some(entry) = ns.disk.batchlog.get_mut(&batch) {
            entry.remove(&from);
            if entry.is_empty() {
                ns.disk.batchlog.remove(&batch);
                o.cancel_timer(Timer::BatchlogReplay(batch));
            }
        }
        if let Some(hints) = ns.disk.hints.get_mut(&from) {
            hints.remove(&batch);
            if hints.is_empty() {
                ns.disk.hints.remove(&from);
                Self::stop_idle_hint_delivery(ns, from, o);
            }
        }
    }

    /// R2, R3: after a restart, replay the commit log (regenerating view updates, as
    /// CASSANDRA-10164 does) and re-arm the replay timers of what the disk still holds.
    fn recover(&self, ns: &mut NodeState, o: &mut Out<MvActor>) {
        let entries: Vec<CommitEntry> = std::mem::take(&mut ns.disk.commitlog).into_values().collect();
        for e in entries {
            // Without regeneration (A12) replay only applies the base: view updates the crash
            // interrupted are never generated.
            if self.cfg.rules.replay_regenerates && self.propagate(ns, e.stmt, o) > 0 {
                fired(Rule::R2);
            }
            Self::apply_base(ns, &e.stmt);
        }
        let d = &ns.disk;
        if !d.batchlog.is_empty() || !d.hints.is_empty() || !d.base_hints.is_empty() || !d.coord_batchlog.is_empty() {
            fired(Rule::R3);
        }
        for &batch in ns.disk.batchlog.keys() {
            o.set_timer(Timer::BatchlogReplay(batch), model_timeout());
        }
        for &target in ns.disk.hints.keys().chain(ns.disk.base_hints.keys()) {
            o.set_timer(Timer::HintDelivery(target), model_timeout());
        }
        for &write in ns.disk.coord_batchlog.keys() {
            o.set_timer(Timer::CoordBatchlogReplay(write), model_timeout());
        }
    }
}
