//! [`MvModel`]: the actor model plus the environment it runs in.
//!
//! Stateright's `ActorModel` runs the actors; this newtype adds what belongs to the
//! environment rather than to any actor, and what `ActorModel` cannot express:
//!
//! * **Faults.** Only nodes crash, at most `crashes` times in a run (Stateright bounds only
//!   concurrent crashes, so restarts are counted on disk). A crash loses the node's memory:
//!   locks, the second halves of base writes, coordinator state and timers, and every
//!   message in flight to or from it (its connections break; TCP resends nothing across a
//!   restart). Message loss on its own is `--lossy`. Permanent data loss (a Stateright
//!   random choice) replaces a node, at most `data_loss` times, with the same loss of timers
//!   and messages; the replacement streams its partitions from live replicas (R5) unless
//!   `--no-replace-streaming`. With `--long-outages` a down node may outlast
//!   `max_hint_window`: the first client offers that choice for the environment, and the
//!   model tells every live node, which then writes the node no base hint (W13).
//! * **Time.** Timers carry no duration; instead each timer kind has a guard that says when it
//!   may fire (see `specs/protocol.md`, "Time"). Write timeouts, the deferred base apply and
//!   local batchlog replay fire at any time, racing what they wait for, as in Cassandra. Two
//!   guards bound the state space: a hint is not resent while an earlier hint to the same
//!   target or its ack is in flight, and a coordinator batchlog entry is replayed only once
//!   its coordinator is gone and no earlier replay is in flight. Drops (`--lossy`), crashes and
//!   data loss lose messages. TTLs share one deadline; with a workload that writes one, the
//!   first client offers the clock step (`Fault::Expire`) once, and the model moves every
//!   node's clock past the deadline in that step (`Disk::expired`).
//! * **Durability.** A node's disk lives in its actor state. At a crash the model copies it
//!   into Stateright's `Storage` slot, which `Recover` hands to `on_start`; this is equivalent
//!   to saving on every step, because Storage is read only by `Recover`.
//! * **Quiescence and properties**, projected to `mv_spec::obs::Observation`.

use crate::actor::{actor_node, node_actor, take_fired, ClientState, Fault, MvActor, MvState, NodeState};
use crate::variant::{Expected, Variant};
use crate::workload::ClientScript;
use crate::MvModelCfg;
use mv_spec::obs::{
    BaseHint, BatchlogEntry, CommitLogEntry, CoordBatchlogEntry, Hint, History, LimitRead, NodeObservation,
    Observation, Outcome, WriteRecord,
};
use mv_spec::props::{Kind, PROPERTIES};
use mv_spec::rule::{Rule, RuleSet};
use mv_spec::trace::ClientObservation;
use mv_spec::{Msg, NodeId, ReadRules, Timer, WriteId};
use stateright::actor::{ActorModel, ActorModelAction, ActorModelState, Envelope, Id, LossyNetwork, Network};
use stateright::{Expectation, Model, Path, Property};
use std::sync::Arc;

/// A state of the whole system.
pub type State = ActorModelState<MvActor, History>;
/// An action: deliver, drop, timeout, crash, recover, or data loss (a random choice).
pub type Action = ActorModelAction<Msg, Timer, Fault>;

/// The model checked by `mvcheck`.
pub struct MvModel {
    /// The validated configuration.
    pub cfg: MvModelCfg,
    /// The actors, run by Stateright.
    pub inner: ActorModel<MvActor, (), History>,
    /// Every client's script, in actor order.
    pub scripts: Vec<ClientScript>,
    /// The partitions repair may run on (empty without a repair budget or at RF 1).
    pub repair_keys: Vec<mv_spec::Key>,
    /// The partitions view repair may run on (empty without a view-repair budget).
    pub view_repair_keys: Vec<mv_spec::Key>,
}

impl MvModelCfg {
    /// Builds the model.
    pub fn into_model(self) -> MvModel {
        let rules = self.variant.design();
        let scripts = self.workload.scripts(self.ring.nodes);
        let repair_keys = self.workload.repair_keys(&self.ring, self.repairs);
        let view_repair_keys = if self.view_repairs > 0 {
            self.workload.keys(self.ring.nodes)
        } else {
            Vec::new()
        };
        let cluster = Arc::new(crate::actor::ClusterCfg {
            ring: self.ring,
            rules,
            data_loss: self.data_loss > 0,
            preload: self.workload.preload(),
            repair_keys: repair_keys.clone(),
            view_repair_keys: view_repair_keys.clone(),
        });
        let mut inner = ActorModel::new((), History::default())
            .actors((0..self.ring.nodes).map(|i| MvActor::Node {
                id: NodeId(i),
                cfg: cluster.clone(),
            }))
            .actors(scripts.iter().enumerate().map(|(i, s)| MvActor::Client {
                script: s.clone(),
                cl: self.cl,
                retries: self.retries,
                hint_window_nodes: if i == 0 && self.long_outages {
                    self.ring.nodes
                } else {
                    0
                },
                offers_expiry: i == 0 && self.workload.has_ttl(),
            }))
            .init_network(Network::new_unordered_nonduplicating([]))
            .max_crashes(self.crashes as usize);
        if self.lossy {
            inner = inner.lossy_network(LossyNetwork::Yes);
        }
        MvModel {
            cfg: self,
            inner,
            scripts,
            repair_keys,
            view_repair_keys,
        }
    }
}

impl MvModel {
    fn nodes(&self) -> usize {
        self.cfg.ring.nodes as usize
    }

    /// The state of node `n`. For a node that is down it is stale, but its disk is current.
    pub fn node<'a>(&self, s: &'a State, n: usize) -> &'a NodeState {
        match &*s.actor_states[n] {
            MvState::Node(ns) => ns,
            MvState::Client(_) => unreachable!("actor {n} is a node"),
        }
    }

    /// The state of client `c` (0-based among clients).
    pub fn client<'a>(&self, s: &'a State, c: usize) -> &'a ClientState {
        match &*s.actor_states[self.nodes() + c] {
            MvState::Client(cs) => cs,
            MvState::Node(_) => unreachable!("actor is a client"),
        }
    }

    fn crashes_used(&self, s: &State) -> u8 {
        (0..self.nodes())
            .map(|n| self.node(s, n).disk.restarts + s.crashed[n] as u8)
            .sum()
    }

    /// How many messages the network lost so far (bounded by `cfg.drops`).
    pub fn drops_used(&self, s: &State) -> u8 {
        (0..self.nodes()).map(|n| self.node(s, n).disk.lost).sum()
    }

    fn data_losses_used(&self, s: &State) -> u8 {
        (0..self.nodes()).map(|n| self.node(s, n).disk.data_losses).sum()
    }

    fn in_flight(s: &State, pred: impl Fn(&Envelope<Msg>) -> bool) -> bool {
        s.network.iter_deliverable().any(|e| pred(&e.to_cloned_msg()))
    }

    /// Whether an up node still holds `write` between the halves of its base write, owing an
    /// ack to `to`.
    fn ack_owed(&self, s: &State, write: WriteId, to: NodeId) -> bool {
        (0..self.nodes()).any(|n| {
            !s.crashed[n]
                && self
                    .node(s, n)
                    .disk
                    .commitlog
                    .get(&write)
                    .is_some_and(|e| e.reply_to == to)
        })
    }

    /// When a timer may fire (see the module docs).
    fn timer_may_fire(&self, s: &State, id: Id, timer: &Timer) -> bool {
        let Some(me) = actor_node(id, self.cfg.ring.nodes) else {
            return true;
        };
        let my = node_actor(me);
        match *timer {
            // Cassandra's timeouts race the messages they wait for: a write timeout can fire
            // while an ack is on its way, and a batchlog replay while a view write is.
            Timer::Generate(_) | Timer::ApplyBase(_) | Timer::WriteTimeout(_) | Timer::BatchlogReplay(_) => true,
            // Hints go to a view replica that is up, even while the original view write is
            // still on its way. Bound: a hint is not resent while an earlier hint to `t`, or
            // an ack from `t` for a batch still held for it, is in flight; such a resend duplicates what is already on its
            // way, and allowing it would make the multiset of messages unbounded.
            Timer::HintDelivery(t) => {
                if s.crashed[t.0 as usize] {
                    return false;
                }
                // The bound holds for searches only: a replayed trace lifts it.
                if !self.cfg.hint_resend_bound {
                    return true;
                }
                let target = node_actor(t);
                let holder = self.node(s, me.0 as usize);
                !Self::in_flight(s, |e| match e.msg {
                    Msg::ViewWrite { hint, .. } => hint && e.src == my && e.dst == target,
                    // Only an ack this node would take; a stale one is a no-op that
                    // stays in flight for ever and must not hold hints back.
                    Msg::ViewWriteAck { batch } => e.src == target && e.dst == my && holder.holds_batch(batch, t),
                    Msg::BaseWrite { write, .. } => e.src == my && e.dst == target && holder.holds_base_hint(write, t),
                    Msg::BaseWriteAck { write } => e.src == target && e.dst == my && holder.holds_base_hint(write, t),
                    _ => false,
                }) && !holder
                    .disk
                    .base_hints
                    .get(&t)
                    .is_some_and(|h| h.keys().any(|&w| self.ack_owed(s, w, me)))
            }
            // Bound: a coordinator batchlog entry is replayed only once its coordinator is
            // down or has forgotten the write, and no earlier replay's base writes or acks are
            // in flight. Cassandra replays any entry older than the batchlog timeout, so it can
            // also replay while a live coordinator's own base writes are on their way; that
            // replay re-applies the same statement at the same timestamp, which changes no
            // table, but it multiplies the view-update traffic (a new local batchlog entry per
            // replica per replay) past what a 60-second check can explore.
            Timer::CoordBatchlogReplay(w) => {
                let Some(entry) = self.node(s, me.0 as usize).disk.coord_batchlog.get(&w) else {
                    return true;
                };
                let c = entry.coordinator.0 as usize;
                let coordinator_gone = s.crashed[c] || !self.node(s, c).coord.contains_key(&w);
                coordinator_gone
                    && !Self::in_flight(s, |e| match e.msg {
                        Msg::BatchlogRemove { write } => write == w && e.dst == my,
                        Msg::BaseWrite { write, .. } => write == w && e.src == my,
                        Msg::BaseWriteAck { write } => write == w && e.dst == my,
                        _ => false,
                    })
                    && !self.ack_owed(s, w, me)
            }
        }
    }

    /// Loses every message in flight to or from `id`: a machine that goes down (a crash, or a
    /// replacement after data loss) breaks its connections, and neither side resends what
    /// TCP had not delivered. (Stateright already cancels a crashed actor's timers.)
    fn lose_connections(s: &mut State, id: Id) {
        if let Network::UnorderedNonDuplicating(m) = &mut s.network {
            m.retain(|e, _| e.src != id && e.dst != id);
        }
    }

    /// Quiescent: the write path has settled (`settled`), no repair is due and no view
    /// repair may run. With a repair budget, a settled state whose replicas still differ is
    /// not the end: the operator's repair (R4) is pending work, so the properties are judged
    /// after the final repair; likewise a view repair (R6) with something to write.
    pub fn quiescent(&self, s: &State) -> bool {
        !self.repair_keys.iter().any(|&k| self.repair_due_on(s, k))
            && self.settled(s)
            && !self.view_repair_keys.iter().any(|&k| self.view_repair_enabled(s, k))
    }

    /// Node `r`'s base row `k`, empty when it has none.
    fn base_row(&self, s: &State, r: NodeId, k: mv_spec::Key) -> mv_spec::BaseRow {
        self.node(s, r.0 as usize)
            .disk
            .base
            .get(&k)
            .copied()
            .unwrap_or_default()
    }

    fn view_repairs_used(&self, s: &State) -> u8 {
        (0..self.nodes()).map(|n| self.node(s, n).disk.view_repairs).sum()
    }

    /// R7 and what R8 and R9 make of it: the view repair of `k` in state `s`.
    pub fn view_repair_plan(&self, s: &State, k: mv_spec::Key) -> crate::repair::Plan {
        let ring = self.cfg.ring;
        let b0 = ring.base_replicas(k).iter().fold(mv_spec::BaseRow::default(), |b, r| {
            self.node(s, r.0 as usize)
                .disk
                .base
                .get(&k)
                .map_or(b, |row| b.merge(row))
        });
        let views: Vec<(NodeId, mv_spec::ViewKey, mv_spec::ViewRow)> = (0..ring.nodes)
            .flat_map(|n| {
                self.node(s, n as usize)
                    .disk
                    .view
                    .iter()
                    .filter(|(vk, _)| vk.k == k)
                    .map(move |(vk, row)| (NodeId(n), *vk, *row))
            })
            .collect();
        crate::repair::plan(&self.cfg.variant.design(), &ring, k, &b0, &views)
    }

    /// R6: whether a view repair of `k` may run: the budget lasts, every node is up, every
    /// base replica of `k` holds the same row, no node holds a commit-log entry of `k` (the
    /// partition lock; not for `repair-without-lock`),
    /// no base or view write is on the wire (unless `view_repair_anytime`), and R8 or R9 has
    /// something to write.
    pub fn view_repair_enabled(&self, s: &State, k: mv_spec::Key) -> bool {
        if self.view_repairs_used(s) >= self.cfg.view_repairs || s.crashed.iter().any(|&c| c) {
            return false;
        }
        // Every base replica holds the same row (base repair, R4, comes first): a view row the
        // repair writes must be one every paired base replica would delete on a later move.
        let replicas = self.cfg.ring.base_replicas(k);
        let row = |r: &NodeId| self.base_row(s, *r, k);
        if replicas.iter().any(|r| row(r) != row(&replicas[0])) {
            return false;
        }
        let locked = (0..self.nodes()).any(|n| self.node(s, n).disk.commitlog.values().any(|e| e.stmt.k == k));
        if locked && self.cfg.variant.design().repair != mv_spec::variant::RepairStyle::WithoutLock {
            return false;
        }
        if !self.cfg.view_repair_anytime
            && Self::in_flight(s, |e| matches!(e.msg, Msg::BaseWrite { .. } | Msg::ViewWrite { .. }))
        {
            return false;
        }
        !self.view_repair_plan(s, k).is_empty()
    }

    /// R8 and R9, carried out in `next` for the view repair of `k` that node `id` has just
    /// run, as planned in `s`, the state before. Returns the rules it fired.
    fn carry_out_view_repair(&self, s: &State, next: &mut State, id: Id, k: mv_spec::Key) -> RuleSet {
        let mut rules = RuleSet::default();
        let plan = self.view_repair_plan(s, k);
        let repair = self.view_repairs_used(s);
        let me = actor_node(id, self.cfg.ring.nodes).expect("a node runs view repair");
        let design = self.cfg.variant.design();
        let mut sends = Vec::new();
        if !plan.reinstate.is_empty() {
            // R8, in the repair's own step on every base replica: all of them are up and hold
            // the same row, and none holds a commit-log entry of `k` (R6), so nothing can slip
            // in between. Sent as base writes instead, a client write overtaking one of them
            // read a half-reinstated row and left the view row R8 vouched for as an orphan.
            rules.insert(Rule::R8);
            for r in self.cfg.ring.base_replicas(k) {
                if let MvState::Node(ns) = Arc::make_mut(&mut next.actor_states[r.0 as usize]) {
                    let row = ns.disk.base.get(&k).copied().unwrap_or_default();
                    let row = plan.reinstate.iter().fold(row, |b, stmt| b.merge(&stmt.as_row()));
                    ns.disk.base.insert(k, row);
                }
            }
        }
        if !plan.view.is_empty() {
            rules.insert(Rule::R9);
            let mut remote = plan.view.clone();
            if let Some(mine) = remote.remove(&me) {
                if let MvState::Node(ns) = Arc::make_mut(&mut next.actor_states[me.0 as usize]) {
                    for m in mine {
                        let stored = ns.disk.view.get(&m.key).copied().unwrap_or_default();
                        ns.disk
                            .view
                            .insert(m.key, crate::storage::apply_view(&design, &stored, &m.row));
                    }
                }
            }
            let batch =
                (design.local_batchlog && !remote.is_empty()).then(|| mv_spec::BatchId::view_repair(me, repair));
            if let Some(b) = batch {
                if let MvState::Node(ns) = Arc::make_mut(&mut next.actor_states[me.0 as usize]) {
                    ns.disk.batchlog.insert(b, remote.clone());
                }
                next.timers_set[usize::from(id)].set(Timer::BatchlogReplay(b));
            }
            for (target, mutations) in remote {
                sends.push(Envelope {
                    src: id,
                    dst: node_actor(target),
                    msg: Msg::ViewWrite {
                        batch,
                        mutations,
                        hint: false,
                    },
                });
            }
        }
        if let Network::UnorderedNonDuplicating(m) = &mut next.network {
            for e in sends {
                *m.entry(e).or_insert(0) += 1;
            }
        }
        next.history.set(History::repaired(k));
        if plan.deletes {
            next.history.set(History::REPAIR_DELETED);
        }
        rules
    }

    /// The replicas of `k` hold different base rows, all of them are up, and the budget
    /// lasts: repair of `k` is due once the write path has settled.
    fn repair_due_on(&self, s: &State, k: mv_spec::Key) -> bool {
        if self.repairs_used(s) >= self.cfg.repairs {
            return false;
        }
        let replicas = self.cfg.ring.base_replicas(k);
        if replicas.iter().any(|r| s.crashed[r.0 as usize]) {
            return false;
        }
        let row = |r: &NodeId| self.node(s, r.0 as usize).disk.base.get(&k).copied();
        let first = row(&replicas[0]);
        replicas.iter().any(|r| row(r) != first)
    }

    /// Whether repair of `k` may run now: it is due and the write path has settled.
    pub fn repair_due(&self, s: &State, k: mv_spec::Key) -> bool {
        self.repair_due_on(s, k) && self.settled(s)
    }

    fn repairs_used(&self, s: &State) -> u8 {
        (0..self.nodes()).map(|n| self.node(s, n).disk.repairs).sum()
    }

    /// R4, carried out: the merged row of `k` over its replicas, and for each replica the
    /// statements it lacks, sent from `from` as base writes through the replica's write path.
    fn repair_streams(&self, s: &State, k: mv_spec::Key, from: Id) -> Vec<Envelope<Msg>> {
        let replicas = self.cfg.ring.base_replicas(k);
        let rows: Vec<mv_spec::BaseRow> = replicas.iter().map(|r| self.base_row(s, *r, k)).collect();
        let merged = rows.iter().fold(mv_spec::BaseRow::default(), |m, r| m.merge(r));
        let mut out = Vec::new();
        let mut i = 0;
        for (r, row) in replicas.iter().zip(&rows) {
            for stmt in row.repair_statements(k, &merged) {
                out.push(Envelope {
                    src: from,
                    dst: node_actor(*r),
                    msg: Msg::BaseWrite {
                        write: WriteId::repair(i),
                        stmt,
                    },
                });
                i += 1;
            }
        }
        out
    }

    /// The clock passes the TTL deadline: every node's clock, a down node's included (its disk
    /// waits in the `Storage` slot, which is what it restarts from). Nothing is written.
    fn expire(&self, next: &mut State) {
        for n in 0..self.nodes() {
            if let MvState::Node(ns) = Arc::make_mut(&mut next.actor_states[n]) {
                ns.disk.expired = true;
            }
            if let Some(disk) = next.actor_storages[n].as_mut() {
                disk.expired = true;
            }
        }
    }

    /// Tells every node that is up (only these hold the failure detector's view; a down
    /// node's is lost with its memory) whether `t` is down past `max_hint_window`. Only a
    /// node whose view changes is cloned: a restart runs this on every run, long outages or
    /// not.
    fn tell_live_nodes(&self, next: &mut State, t: usize, passed: bool) {
        let bit = 1u8 << t;
        for n in 0..self.nodes() {
            let knows = self.node(next, n).past_hint_window & bit != 0;
            if next.crashed[n] || knows == passed {
                continue;
            }
            if let MvState::Node(ns) = Arc::make_mut(&mut next.actor_states[n]) {
                ns.past_hint_window ^= bit;
            }
        }
    }

    /// Whether node `t`'s outage may now outlast `max_hint_window`: `--long-outages`, `t`
    /// is down, and some live node does not know it yet (one that restarted counts the
    /// downtime from its own start, as Cassandra's failure detector does).
    fn hint_window_may_pass(&self, s: &State, t: NodeId) -> bool {
        let t = t.0 as usize;
        self.cfg.long_outages
            && s.crashed[t]
            && (0..self.nodes()).any(|n| n != t && !s.crashed[n] && self.node(s, n).past_hint_window & (1 << t) == 0)
    }

    /// R5, carried out when node `id` has just been replaced after data loss: every
    /// partition it replicates is taken from one live replica (`Ring::stream_source`), read
    /// in `s`, the state before the loss. View partitions are added as stored, like streamed
    /// sstables of a table without views. Base partitions are added as stored too, unless the
    /// design streams them through the write path: then the source sends each row as base
    /// writes (ids `stream0`, ...), so the replacement generates view updates as for any
    /// write. Whether anything was streamed.
    fn stream_to_replacement(&self, s: &State, next: &mut State, id: Id) -> bool {
        let ring = self.cfg.ring;
        let me = actor_node(id, ring.nodes).expect("only a node loses its data");
        let up = |n: NodeId| !s.crashed[n.0 as usize];
        let mut view = std::collections::BTreeMap::new();
        let mut base = std::collections::BTreeMap::new();
        for n in (0..ring.nodes).map(NodeId).filter(|&n| n != me) {
            let disk = &self.node(s, n.0 as usize).disk;
            for (vk, row) in &disk.view {
                if ring.view_replicas(*vk).contains(&me)
                    && mv_spec::Ring::stream_source(&ring.view_replicas(*vk), me, up) == Some(n)
                {
                    view.insert(*vk, *row);
                }
            }
            for (&k, row) in &disk.base {
                if ring.base_replicas(k).contains(&me)
                    && mv_spec::Ring::stream_source(&ring.base_replicas(k), me, up) == Some(n)
                {
                    base.insert(k, (n, *row));
                }
            }
        }
        if view.is_empty() && base.is_empty() {
            return false;
        }
        let through_write_path = self.cfg.variant.design().replace_through_write_path;
        if let MvState::Node(ns) = Arc::make_mut(&mut next.actor_states[me.0 as usize]) {
            ns.disk.view = view;
            if !through_write_path {
                ns.disk.base = base.iter().map(|(&k, &(_, row))| (k, row)).collect();
            }
        }
        if through_write_path {
            if let Network::UnorderedNonDuplicating(m) = &mut next.network {
                let mut i = 0;
                for (&k, &(src, row)) in &base {
                    for stmt in mv_spec::BaseRow::default().repair_statements(k, &row) {
                        let e = Envelope {
                            src: node_actor(src),
                            dst: id,
                            msg: Msg::BaseWrite {
                                write: WriteId::stream(i),
                                stmt,
                            },
                        };
                        *m.entry(e).or_insert(0) += 1;
                        i += 1;
                    }
                }
            }
        }
        true
    }

    /// Settled: no node down, no commit-log, batchlog, hint or coordinator-batchlog entry,
    /// and no delivery or timer that would change anything. A message whose delivery is a
    /// no-op (a duplicate ack) is not counted as in flight.
    pub fn settled(&self, s: &State) -> bool {
        for n in 0..self.nodes() {
            let d = &self.node(s, n).disk;
            if s.crashed[n]
                || !d.commitlog.is_empty()
                || !d.batchlog.is_empty()
                || !d.hints.is_empty()
                || !d.base_hints.is_empty()
                || !d.coord_batchlog.is_empty()
            {
                return false;
            }
        }
        if s.network.len() == 0 && s.timers_set.iter().all(|t| t.iter().next().is_none()) {
            return true;
        }
        let mut actions = Vec::new();
        self.inner.actions(s, &mut actions);
        actions.into_iter().all(|a| match a {
            ActorModelAction::Deliver { .. } => self.next_state(s, a).is_none(),
            ActorModelAction::Timeout(id, ref t) => !self.timer_may_fire(s, id, t) || self.next_state(s, a).is_none(),
            _ => true,
        })
    }

    /// Node `n`'s observation in state `s`: what is on its disk, as a read on it sees it now
    /// (a TTL'd cell or marker past the deadline is dead: `BaseRow::at`), and whether it is up.
    pub fn observe_node(&self, s: &State, n: usize) -> NodeObservation {
        let d = &self.node(s, n).disk;
        let view: std::collections::BTreeMap<mv_spec::ViewKey, mv_spec::ViewRow> =
            d.view.iter().map(|(k, r)| (*k, r.at(d.expired))).collect();
        NodeObservation {
            up: !s.crashed[n],
            base: d.base.iter().map(|(k, r)| (*k, r.at(d.expired))).collect(),
            batchlog: BatchlogEntry::all(&d.batchlog),
            hints: Hint::all(&d.hints),
            base_hints: BaseHint::all(&d.base_hints),
            commitlog: d
                .commitlog
                .iter()
                .map(|(&write, e)| CommitLogEntry {
                    write,
                    stmt: e.stmt,
                    reply_to: e.reply_to,
                })
                .collect(),
            coord_batchlog: d
                .coord_batchlog
                .iter()
                .map(|(&write, e)| CoordBatchlogEntry {
                    write,
                    stmt: e.stmt,
                    coordinator: e.coordinator,
                    pending: e.pending.iter().copied().collect(),
                })
                .collect(),
            timers: {
                let mut t: Vec<mv_spec::Timer> = s.timers_set[n].iter().copied().collect();
                t.sort();
                t
            },
            limit_reads: Some(
                LimitRead::partitions(&view)
                    .into_iter()
                    .map(|v| LimitRead {
                        v,
                        k: crate::storage::limit_read(&self.cfg.variant.design(), &view, v, 1)
                            .first()
                            .copied(),
                    })
                    .collect(),
            ),
            view,
        }
    }

    /// Client `c`'s observation in state `s`: its writes in script order, with their outcomes.
    pub fn observe_client(&self, s: &State, c: usize) -> ClientObservation {
        ClientObservation {
            writes: WriteRecord::of_script(&self.scripts[c], &self.client(s, c).outcomes, self.cfg.cl),
        }
    }

    /// Projects a state to the shared observation.
    pub fn observe(&self, s: &State) -> Observation {
        self.observe_with(s, self.quiescent(s))
    }

    fn observe_with(&self, s: &State, quiescent: bool) -> Observation {
        let nodes = (0..self.nodes()).map(|n| self.observe_node(s, n)).collect();
        Observation {
            ring: self.cfg.ring,
            rules: ReadRules {
                strict_liveness: self.cfg.variant.design().strict_liveness,
            },
            nodes,
            writes: self.write_records(s),
            quiescent,
            history: s.history,
        }
    }

    /// Every client write with its outcome so far.
    pub fn write_records(&self, s: &State) -> Vec<WriteRecord> {
        let mut out: Vec<WriteRecord> = (0..self.scripts.len())
            .flat_map(|c| self.observe_client(s, c).writes)
            .collect();
        out.sort_by_key(|w| w.write);
        out
    }

    /// Evaluates spec property `i` of `mv_spec::props::PROPERTIES`.
    fn check(&self, i: usize, s: &State) -> bool {
        self.conditions(s, 1 << i) != 0
    }

    /// For the properties in `undecided` (bit `i` = `PROPERTIES[i]`), the bitmask of those
    /// whose condition is true on `s`. The state is projected once for all of them.
    pub fn conditions(&self, s: &State, undecided: u64) -> u64 {
        let mut out = 0;
        let quiescent = self.quiescent(s);
        let acked = (0..self.scripts.len()).any(|c| self.client(s, c).outcomes.contains(&Outcome::Ok));
        let mut obs: Option<Observation> = None;
        for (i, def) in PROPERTIES.iter().enumerate() {
            if undecided & (1 << i) == 0 {
                continue;
            }
            let holds = if !def.applies(quiescent, acked) {
                def.kind == Kind::Always
            } else {
                let o = obs.get_or_insert_with(|| {
                    let mut o = self.observe_with(s, quiescent);
                    o.history = s.history;
                    o
                });
                (def.holds)(o)
            };
            if holds {
                out |= 1 << i;
            }
        }
        out
    }

    /// The expected verdict of each property for this configuration's variant.
    pub fn expected(&self, id: &str) -> Expected {
        let kind = mv_spec::props::property(id).map_or(Kind::Always, |p| p.kind);
        self.cfg.variant.expected(id, kind)
    }

    /// The actor behind an id, for formatting.
    pub fn actor_label(&self, id: Id) -> String {
        match actor_node(id, self.cfg.ring.nodes) {
            Some(n) => n.to_string(),
            None => format!("c{}", usize::from(id) - self.nodes()),
        }
    }

    /// A replayable, self-describing rendering of an action in protocol terms.
    pub fn describe(&self, a: &Action) -> String {
        match a {
            ActorModelAction::Deliver { src, dst, msg } => {
                format!("{} -> {} {msg}", self.actor_label(*src), self.actor_label(*dst))
            }
            ActorModelAction::Drop(e) => format!(
                "{} -x {} {} (lost)",
                self.actor_label(e.src),
                self.actor_label(e.dst),
                e.msg
            ),
            ActorModelAction::Timeout(id, t) => format!("{} timer {t}", self.actor_label(*id)),
            ActorModelAction::Crash(id) => format!("{} crashes", self.actor_label(*id)),
            ActorModelAction::Recover(id) => format!("{} restarts", self.actor_label(*id)),
            ActorModelAction::SelectRandom {
                actor,
                random: Fault::Repair(k),
                ..
            } => format!("{} repairs k={k}", self.actor_label(*actor)),
            ActorModelAction::SelectRandom {
                random: Fault::HintWindow(t),
                ..
            } => format!("{t} stays down past max_hint_window"),
            ActorModelAction::SelectRandom {
                actor,
                random: Fault::ViewRepair(k),
                ..
            } => format!("{} view-repairs k={k}", self.actor_label(*actor)),
            ActorModelAction::SelectRandom {
                random: Fault::Expire, ..
            } => "the clock passes the TTL deadline".to_string(),
            ActorModelAction::SelectRandom { actor, .. } => format!("{} loses its data", self.actor_label(*actor)),
        }
    }

    /// Replays a sequence of actions from the initial state; `None` at the first action that
    /// is not enabled (or changes nothing).
    pub fn replay(&self, actions: &[Action]) -> Option<Path<State, Action>> {
        Path::from_actions(self, self.init_states().into_iter().next()?, actions.iter())
    }

    /// A one-line summary of the configuration.
    pub fn summary(&self) -> String {
        let c = &self.cfg;
        format!(
            "variant={} nodes={} rf={} pairing={} cl={} workload={} writes={} crashes={}{} data-loss={}{} lossy={} retries={} repairs={} view-repairs={}{}",
            c.variant.name(),
            c.ring.nodes,
            c.ring.rf,
            match c.ring.pairing {
                mv_spec::Pairing::Positional => "positional",
                mv_spec::Pairing::SelfFirst => "self-first",
            },
            c.cl,
            c.workload.name(),
            c.workload.len(),
            c.crashes,
            if c.long_outages { " (long outages)" } else { "" },
            c.data_loss,
            if c.data_loss > 0 && !c.replace_streaming {
                " (blank replacement)"
            } else {
                ""
            },
            if c.lossy { format!("true drops={}", c.drops) } else { "false".to_string() },
            c.retries,
            c.repairs,
            c.view_repairs,
            if c.view_repair_anytime && c.view_repairs > 0 {
                " (anytime)"
            } else {
                ""
            }
        )
    }
}

fn spec_property<const I: usize>(m: &MvModel, s: &State) -> bool {
    m.check(I, s)
}

/// Stateright takes a property as a plain `fn`, so each index of `PROPERTIES` needs its own
/// instance. There are more than enough; `properties()` refuses to drop one silently.
const PROPERTY_FNS: [fn(&MvModel, &State) -> bool; 25] = [
    spec_property::<0>,
    spec_property::<1>,
    spec_property::<2>,
    spec_property::<3>,
    spec_property::<4>,
    spec_property::<5>,
    spec_property::<6>,
    spec_property::<7>,
    spec_property::<8>,
    spec_property::<9>,
    spec_property::<10>,
    spec_property::<11>,
    spec_property::<12>,
    spec_property::<13>,
    spec_property::<14>,
    spec_property::<15>,
    spec_property::<16>,
    spec_property::<17>,
    spec_property::<18>,
    spec_property::<19>,
    spec_property::<20>,
    spec_property::<21>,
    spec_property::<22>,
    spec_property::<23>,
    spec_property::<24>,
];

impl MvModel {
    /// One transition: the successor of `s` under `a`, with the rules it fired. A delivery
    /// that waits for the partition lock (B1) fires its rule but is no transition (`None`).
    pub fn step(&self, s: &State, a: Action) -> (Option<State>, RuleSet) {
        take_fired();
        let mut fault = RuleSet::default();
        match &a {
            ActorModelAction::Crash(_) => fault.insert(Rule::Crash),
            ActorModelAction::Drop(_) => fault.insert(Rule::Drop),
            ActorModelAction::SelectRandom {
                random: Fault::DataLoss,
                ..
            } => fault.insert(Rule::DataLoss),
            ActorModelAction::SelectRandom {
                random: Fault::HintWindow(_),
                ..
            } => fault.insert(Rule::HintWindow),
            _ => {}
        }
        let history = self.history_of(s, &a);
        let after_repair = s.history.any_repaired() && Self::delivers_write_path_view_write(&a);
        let next = self.inner.next_state(s, a.clone());
        let mut rules = RuleSet(take_fired().0 | fault.0);
        let Some(mut next) = next else {
            return (None, rules);
        };
        match a {
            ActorModelAction::Crash(id) => {
                let disk = self.node(&next, usize::from(id)).disk.clone();
                next.actor_storages[usize::from(id)] = Some(disk);
                Self::lose_connections(&mut next, id);
            }
            ActorModelAction::Recover(id) => {
                next.actor_storages[usize::from(id)] = None;
                // Gossip tells every node that `id` is back: its downtime starts again.
                let n = usize::from(id);
                self.tell_live_nodes(&mut next, n, false);
            }
            ActorModelAction::SelectRandom {
                random: Fault::HintWindow(t),
                ..
            } => {
                self.tell_live_nodes(&mut next, t.0 as usize, true);
            }
            ActorModelAction::SelectRandom {
                actor,
                random: Fault::Repair(k),
                ..
            } => {
                if let Network::UnorderedNonDuplicating(m) = &mut next.network {
                    for e in self.repair_streams(s, k, actor) {
                        *m.entry(e).or_insert(0) += 1;
                    }
                }
            }
            ActorModelAction::SelectRandom {
                actor,
                random: Fault::ViewRepair(k),
                ..
            } => {
                let fired = self.carry_out_view_repair(s, &mut next, actor, k);
                rules = RuleSet(rules.0 | fired.0);
            }
            ActorModelAction::SelectRandom {
                random: Fault::Expire, ..
            } => self.expire(&mut next),
            ActorModelAction::SelectRandom { actor, .. } => {
                next.timers_set[usize::from(actor)].cancel_all();
                Self::lose_connections(&mut next, actor);
                if self.cfg.replace_streaming && self.stream_to_replacement(s, &mut next, actor) {
                    rules.insert(Rule::R5);
                }
            }
            ActorModelAction::Drop(e) => {
                let n = actor_node(e.src, self.cfg.ring.nodes)
                    .or(actor_node(e.dst, self.cfg.ring.nodes))
                    .expect("every message has a node at one end");
                if let MvState::Node(ns) = Arc::make_mut(&mut next.actor_states[n.0 as usize]) {
                    ns.disk.lost += 1;
                }
            }
            _ => {}
        }
        if !fault.is_empty() {
            // A fault ends what a view repair vouched for: no partition counts as repaired.
            next.history.fault();
        }
        next.history.set(history);
        // A view write of the write path applied after a view repair (P-no-clobber's witness):
        // a self-paired one (B5) or a delivered one (V1) that is not a view repair's.
        if s.history.any_repaired() && (rules.contains(Rule::B5) || (after_repair && rules.contains(Rule::V1))) {
            next.history.set(History::AFTER_REPAIR);
        }
        if rules.contains(Rule::B10) {
            next.history.set(History::REPLAY);
        }
        if rules.contains(Rule::R2) {
            next.history.set(History::REGEN);
        }
        (Some(next), rules)
    }

    /// Whether an action delivers a view write that is not a view repair's.
    fn delivers_write_path_view_write(a: &Action) -> bool {
        matches!(
            a,
            ActorModelAction::Deliver {
                msg: Msg::ViewWrite { batch, .. },
                ..
            } if batch.is_none_or(|b| !b.is_view_repair())
        )
    }

    /// The history flags an action sets that can be read off the action and the state it
    /// starts from (the others come from the rules it fires).
    fn history_of(&self, s: &State, a: &Action) -> History {
        let mut h = History::default();
        match a {
            ActorModelAction::Deliver {
                msg: Msg::ViewWrite { mutations, hint, .. },
                ..
            } => {
                if *hint {
                    h.set(History::HINT);
                }
                // A mutation without a live marker deletes an old view row (DELETE_OLD or the
                // second half of SWITCH_ENTRY); view writes always come from another node.
                if mutations.iter().any(|m| m.row.marker.is_none_or(|l| l.expired)) {
                    h.set(History::REMOTE_SWITCH);
                }
            }
            ActorModelAction::Crash(id) => {
                if let Some(n) = actor_node(*id, self.cfg.ring.nodes) {
                    let base = &self.node(s, n.0 as usize).disk.base;
                    let holds_acked = self.write_records(s).iter().any(|w| {
                        w.outcome == Outcome::Ok
                            && base.get(&w.stmt.k).is_some_and(|r| mv_spec::props::covers(r, &w.stmt))
                    });
                    if holds_acked {
                        h.set(History::ACKED_CRASH);
                    }
                }
            }
            _ => {}
        }
        h
    }

    /// The rules this configuration should exercise (`specs/protocol.md`, "Rule coverage").
    pub fn expected_rules(&self) -> RuleSet {
        let c = &self.cfg;
        mv_spec::rule::expected(
            &c.variant.design(),
            &mv_spec::rule::Budgets {
                crashes: c.crashes > 0,
                lossy: c.lossy,
                data_loss: c.data_loss > 0,
                retries: c.retries > 0,
                repair: c.repairs > 0 && c.ring.rf > 1,
                streaming: c.replace_streaming && c.ring.rf > 1,
                long_outages: c.long_outages,
                view_repair: c.view_repairs > 0,
                ttl: c.workload.has_ttl(),
            },
        )
    }

    /// The rules the initial state fired (the clients' first writes, C1).
    pub fn init_rules(&self) -> RuleSet {
        take_fired();
        let _ = self.inner.init_states();
        take_fired()
    }
}

impl Model for MvModel {
    type State = State;
    type Action = Action;

    fn init_states(&self) -> Vec<State> {
        self.inner.init_states()
    }

    fn actions(&self, s: &State, actions: &mut Vec<Action>) {
        let mut all = Vec::new();
        self.inner.actions(s, &mut all);
        let crash_budget = self.crashes_used(s) < self.cfg.crashes;
        let loss_budget = self.data_losses_used(s) < self.cfg.data_loss;
        let drop_budget = self.drops_used(s) < self.cfg.drops;
        actions.extend(all.into_iter().filter(|a| match a {
            ActorModelAction::Crash(id) => crash_budget && actor_node(*id, self.cfg.ring.nodes).is_some(),
            // Only the first base replica of `k` is offered its repair, and a due repair
            // has every replica up.
            ActorModelAction::SelectRandom {
                random: Fault::Repair(k),
                ..
            } => self.repair_due(s, *k),
            ActorModelAction::SelectRandom {
                random: Fault::HintWindow(t),
                ..
            } => self.hint_window_may_pass(s, *t),
            ActorModelAction::SelectRandom {
                random: Fault::ViewRepair(k),
                ..
            } => self.view_repair_enabled(s, *k),
            // Offered once, by the first client, when the workload writes `USING TTL`.
            ActorModelAction::SelectRandom {
                random: Fault::Expire, ..
            } => true,
            ActorModelAction::SelectRandom { .. } => loss_budget,
            ActorModelAction::Timeout(id, t) => self.timer_may_fire(s, *id, t),
            // A node's message to itself is a local call (the coordinator's write to its own
            // replica runs on its own mutation stage): the network cannot lose it.
            ActorModelAction::Drop(e) => e.src != e.dst && drop_budget,
            _ => true,
        }));
    }

    fn next_state(&self, s: &State, a: Action) -> Option<State> {
        self.step(s, a).0
    }

    fn format_action(&self, a: &Action) -> String {
        self.describe(a)
    }

    fn format_step(&self, last: &State, a: Action) -> Option<String> {
        let next = self.next_state(last, a)?;
        Some(self.render(&next))
    }

    fn as_svg(&self, path: Path<State, Action>) -> Option<String> {
        Some(self.sequence_svg(&path))
    }

    fn properties(&self) -> Vec<Property<Self>> {
        assert!(
            PROPERTIES.len() <= PROPERTY_FNS.len(),
            "{} properties but {} property functions: add instances to PROPERTY_FNS, or the extra properties would never be checked",
            PROPERTIES.len(),
            PROPERTY_FNS.len()
        );
        PROPERTIES
            .iter()
            .zip(PROPERTY_FNS)
            .map(|(p, f)| match p.kind {
                Kind::Always => Property::<Self>::always(p.id, f),
                Kind::Sometimes => Property::<Self>::sometimes(p.id, f),
            })
            .collect()
    }
}

/// Whether a property's expectation is `always`.
pub fn is_always(p: &Property<MvModel>) -> bool {
    matches!(p.expectation, Expectation::Always)
}

/// How many messages a `--lossy` run may lose unless `--drops` says otherwise.
pub const DEFAULT_DROPS: u8 = 2;

impl MvModelCfg {
    /// The default configuration of a variant.
    pub fn for_variant(variant: Variant) -> MvModelCfg {
        let d = variant.defaults();
        MvModelCfg {
            variant,
            ring: mv_spec::Ring {
                nodes: d.nodes,
                rf: d.rf,
                pairing: d.pairing,
            },
            cl: d.cl,
            workload: d.workload,
            crashes: d.crashes,
            data_loss: d.data_loss,
            lossy: d.lossy,
            drops: DEFAULT_DROPS,
            retries: d.retries,
            repairs: d.repairs,
            replace_streaming: true,
            long_outages: false,
            view_repairs: d.view_repairs,
            view_repair_anytime: d.view_repair_anytime,
            hint_resend_bound: true,
        }
    }

    /// Checks a configuration for things that cannot be modeled, with a message that names
    /// the offending setting.
    pub fn validate(&self) -> Result<(), String> {
        crate::variant::validate(&self.ring, &self.workload, self.crashes, self.data_loss, self.retries)?;
        mv_spec::variant::validate_view_repairs(self.view_repairs, &self.workload)
    }
}
