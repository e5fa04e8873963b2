//! [`Cluster`]: the nodes, the clients, the network and the timers, and the one operation that
//! moves them: apply a [`Step`].
//!
//! The cluster is the host the sans-IO [`Node`]s run in. It is also the environment of
//! `specs/protocol.md`: it decides which steps are possible, exactly as the model does.
//!
//! * **Network.** Unordered; every message sent is in flight until delivered or dropped. A
//!   delivery a node does not take (B1's lock, an ack nobody waits for) is not a step: the
//!   message stays. A node that crashes or loses its data loses every message in flight to
//!   or from it.
//! * **Time** ("Time" in the protocol): each timer kind has a guard saying when it may fire,
//!   so that timeouts are longer than any message delay ([`Cluster::timer_may_fire`]).
//! * **Faults** ("Fault model"): crash-restart within a budget of restarts, permanent data
//!   loss at most once per node within a budget, both losing the node's timers and the
//!   messages in flight to and from it, and message loss when the configuration is lossy.
//! * **Duplication.** The protocol assumes a network that does not duplicate (so does the
//!   model), as TCP provides. The simulation may duplicate a message in flight; the copies
//!   share one envelope, like retransmissions of one TCP segment, so the receiver takes it
//!   once, and losing one copy loses nothing while another remains.
//!
//! After every step the cluster also checks the node's durability discipline: a `ViewWrite`
//! that carries a batch id leaves only while the sender holds that batch durably, and a
//! `BaseWriteAck` leaves only once the sender's base table holds the write.

use super::metrics::{Metrics, Report};
use crate::node::{repair, Addr, Effects, Input, Node, Output, Persist, RepairStyle, SeededBugs, Switches, Variant};
use mv_spec::obs::{History, NodeObservation, Observation, Outcome, WriteRecord};
use mv_spec::rule::{Rule, RuleSet};
use mv_spec::trace::{ClientObservation, Step, TraceConfig};
use mv_spec::workload::{ClientScript, Workload};
use mv_spec::{BaseRow, Cl, Key, Msg, NodeId, Ring, Statement, Timer, ViewKey, ViewMutation, ViewRow, WriteId};
use std::collections::BTreeSet;
use std::fmt;

/// A cluster's configuration: the model configuration a trace names, plus test-only bugs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterConfig {
    /// The design.
    pub variant: Variant,
    /// Nodes, replication factor, pairing rule.
    pub ring: Ring,
    /// Consistency level of every write.
    pub cl: Cl,
    /// What the clients write.
    pub workload: Workload,
    /// Crash-restart budget of the run.
    pub crashes: u8,
    /// Permanent data-loss budget of the run.
    pub data_loss: u8,
    /// Whether messages may be lost.
    pub lossy: bool,
    /// How many times a client retries a write that timed out (C3).
    pub retries: u8,
    /// Anti-entropy repair budget (R4).
    pub repairs: u8,
    /// Whether a node replaced after data loss streams its partitions from live replicas
    /// (R5); without it the replacement starts blank.
    pub replace_streaming: bool,
    /// Whether a crashed node may stay down past `max_hint_window` (W13).
    pub long_outages: bool,
    /// View-repair budget (R6 to R9): how many partition view repairs a run may contain.
    pub view_repairs: u8,
    /// Whether a view repair may run while base or view writes are on the wire. Off, it
    /// runs between messages, when every write in progress is held by durable state.
    pub view_repair_anytime: bool,
    #[doc(hidden)]
    pub bugs: SeededBugs,
}

impl ClusterConfig {
    /// A variant's default configuration (`specs/properties.md`, "Expected verdicts").
    pub fn for_variant(variant: Variant) -> ClusterConfig {
        let d = variant.defaults();
        ClusterConfig {
            variant,
            ring: d.ring(),
            cl: d.cl,
            workload: d.workload,
            crashes: d.crashes,
            data_loss: d.data_loss,
            lossy: d.lossy,
            retries: d.retries,
            repairs: d.repairs,
            replace_streaming: true,
            long_outages: false,
            view_repairs: d.view_repairs,
            view_repair_anytime: d.view_repair_anytime,
            bugs: SeededBugs::default(),
        }
    }

    /// Rejects what the model cannot rebuild from a trace header, naming the setting. The
    /// limits are the model's, so every trace is checkable.
    pub fn validate(&self) -> Result<(), String> {
        mv_spec::variant::validate(&self.ring, &self.workload, self.crashes, self.data_loss, self.retries)?;
        mv_spec::variant::validate_view_repairs(self.view_repairs, &self.workload)
    }

    /// The configuration as a trace header records it.
    pub fn trace_config(&self) -> TraceConfig {
        let (writes, keys) = self.workload.size();
        TraceConfig {
            variant: self.variant.name().to_string(),
            nodes: self.ring.nodes,
            rf: self.ring.rf,
            pairing: self.ring.pairing,
            cl: self.cl,
            workload: self.workload.name().to_string(),
            writes,
            keys,
            crashes: self.crashes,
            data_loss: self.data_loss,
            lossy: self.lossy,
            retries: self.retries,
            repairs: self.repairs,
            replace_streaming: self.replace_streaming,
            long_outages: self.long_outages,
            view_repairs: self.view_repairs,
            view_repair_anytime: self.view_repair_anytime,
        }
    }

    /// The configuration a trace header names.
    pub fn from_trace_config(t: &TraceConfig) -> Result<ClusterConfig, String> {
        let variant = Variant::from_name(&t.variant)?;
        let workload = Workload::from_name(&t.workload, t.writes, t.keys)
            .ok_or_else(|| format!("unknown workload {:?}", t.workload))?;
        let cfg = ClusterConfig {
            variant,
            ring: Ring {
                nodes: t.nodes,
                rf: t.rf,
                pairing: t.pairing,
            },
            cl: t.cl,
            workload,
            crashes: t.crashes,
            data_loss: t.data_loss,
            lossy: t.lossy,
            retries: t.retries,
            repairs: t.repairs,
            replace_streaming: t.replace_streaming,
            long_outages: t.long_outages,
            view_repairs: t.view_repairs,
            view_repair_anytime: t.view_repair_anytime,
            bugs: SeededBugs::default(),
        };
        cfg.validate()?;
        Ok(cfg)
    }
}

/// What a view repair of one partition would write now (R8, R9), for an operator to read
/// before running it (`mvcheck repair --dry-run`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ViewRepairPlan {
    /// The node that runs it: the partition's first base replica.
    pub node: NodeId,
    /// Its number in the run, which names its write and batch ids: the next one.
    pub repair: u8,
    /// R8: every base cell it merges into a base replica, in the repair's own step, as
    /// (base replica, id, statement).
    pub base_writes: Vec<(NodeId, WriteId, Statement)>,
    /// R9: every view mutation it writes, as (view replica, mutation). The repairing node
    /// applies its own at once; the others go out as view writes.
    pub view_mutations: Vec<(NodeId, ViewMutation)>,
    /// Whether it deletes a view row (an orphan or a duplicate).
    pub deletes: bool,
}

impl ViewRepairPlan {
    /// Nothing to write: the view of the partition agrees with the base.
    pub fn is_empty(&self) -> bool {
        self.base_writes.is_empty() && self.view_mutations.is_empty()
    }
}

/// A message in flight.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope {
    /// Sender.
    pub src: Addr,
    /// Recipient.
    pub dst: Addr,
    /// The message.
    pub msg: Msg,
    /// How many copies the network holds (duplication); the recipient takes one.
    pub copies: u8,
}

/// Why a step could not be applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StepError {
    /// The step names an actor, message or timer that does not exist, or breaks a guard: it
    /// is not enabled in this state.
    NotEnabled(String),
    /// The step ran but a node broke the protocol (see [`Effects::violations`]) or its
    /// durability discipline.
    Violation(String),
}

impl fmt::Display for StepError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StepError::NotEnabled(m) => write!(f, "step not enabled: {m}"),
            StepError::Violation(m) => write!(f, "protocol violation: {m}"),
        }
    }
}

/// The simulated cluster.
#[derive(Clone, Debug)]
pub struct Cluster {
    cfg: ClusterConfig,
    nodes: Vec<Node>,
    timers: Vec<BTreeSet<Timer>>,
    scripts: Vec<ClientScript>,
    outcomes: Vec<Vec<Outcome>>,
    /// Per client, the attempt in flight of its pending write (0, or the retries so far).
    attempts: Vec<u8>,
    network: Vec<Envelope>,
    restarts: Vec<u8>,
    data_losses: Vec<u8>,
    /// Repairs run so far (R4), and the partitions repair may run on.
    repairs: u8,
    repair_keys: Vec<Key>,
    /// View repairs run so far (R6), which numbers the next, and the partitions a view
    /// repair may run on.
    view_repairs: u8,
    view_repair_keys: Vec<Key>,
    /// The mechanisms this run has exercised so far; the witnesses read it.
    history: History,
    /// The rules the last step fired (after `new`, the clients' first writes).
    last_rules: RuleSet,
    /// What an operator would watch (`metrics.rs`).
    metrics: Metrics,
}

fn not_enabled<T>(m: String) -> Result<T, StepError> {
    Err(StepError::NotEnabled(m))
}

impl Cluster {
    /// A fresh cluster: every node up and empty, every client's first write on the wire
    /// (C1).
    pub fn new(cfg: ClusterConfig) -> Result<Cluster, String> {
        cfg.validate()?;
        let mut switches = Switches::from(cfg.variant.design());
        switches.bugs = cfg.bugs;
        let n = cfg.ring.nodes as usize;
        let preload = cfg.workload.preload();
        let nodes = (0..cfg.ring.nodes)
            .map(|i| {
                let mut node = Node::new(NodeId(i), cfg.ring, switches);
                node.preload(&preload);
                node
            })
            .collect();
        let scripts = cfg.workload.scripts(cfg.ring.nodes);
        let mut outcomes = Vec::new();
        let mut network = Vec::new();
        let mut last_rules = RuleSet::default();
        for (c, s) in scripts.iter().enumerate() {
            let mut o = vec![Outcome::NotSent; s.writes.len()];
            if let Some(&(write, stmt)) = s.writes.first() {
                last_rules.insert(Rule::C1);
                o[0] = Outcome::Pending;
                network.push(Envelope {
                    src: Addr::Client(c as u8),
                    dst: Addr::Node(s.coordinator),
                    msg: Msg::Write {
                        write,
                        stmt,
                        cl: cfg.cl,
                    },
                    copies: 1,
                });
            }
            outcomes.push(o);
        }
        let repair_keys = cfg.workload.repair_keys(&cfg.ring, cfg.repairs);
        let view_repair_keys = if cfg.view_repairs > 0 {
            cfg.workload.keys(cfg.ring.nodes)
        } else {
            Vec::new()
        };
        Ok(Cluster {
            nodes,
            timers: vec![BTreeSet::new(); n],
            attempts: vec![0; scripts.len()],
            scripts,
            outcomes,
            network,
            restarts: vec![0; n],
            data_losses: vec![0; n],
            repairs: 0,
            repair_keys,
            view_repairs: 0,
            view_repair_keys,
            history: History::default(),
            last_rules,
            metrics: Metrics::default(),
            cfg,
        })
    }

    /// What an operator would watch, so far.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Sets the metrics' clock to virtual time (`timed.rs`), before the step taken at `us`.
    pub fn set_clock(&mut self, us: u64) {
        self.metrics.set_time(us);
    }

    /// The metrics report, with each node's hints pending per target (view and base hints).
    pub fn metrics_report(&self) -> Report<'_> {
        self.metrics.report(self.cfg.ring.nodes, &|id| {
            let o = self.nodes[id.0 as usize].observe();
            let mut per: std::collections::BTreeMap<NodeId, usize> = std::collections::BTreeMap::new();
            for h in &o.hints {
                *per.entry(h.target).or_default() += 1;
            }
            for h in &o.base_hints {
                *per.entry(h.target).or_default() += 1;
            }
            per.into_iter().collect()
        })
    }

    /// The configuration.
    pub fn config(&self) -> &ClusterConfig {
        &self.cfg
    }

    /// The nodes.
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// The messages in flight, in the order they were sent.
    pub fn in_flight(&self) -> &[Envelope] {
        &self.network
    }

    /// The timers armed on node `n`.
    pub fn timers(&self, n: usize) -> &BTreeSet<Timer> {
        &self.timers[n]
    }

    /// How many clients there are.
    pub fn clients(&self) -> usize {
        self.scripts.len()
    }

    fn node_index(&self, name: &str) -> Result<usize, StepError> {
        match Addr::parse(name) {
            Some(Addr::Node(n)) if n.0 < self.cfg.ring.nodes => Ok(n.0 as usize),
            _ => not_enabled(format!(
                "unknown node {name:?} (expected n0..n{})",
                self.cfg.ring.nodes - 1
            )),
        }
    }

    fn addr(&self, name: &str) -> Result<Addr, StepError> {
        match Addr::parse(name) {
            Some(Addr::Node(n)) if n.0 < self.cfg.ring.nodes => Ok(Addr::Node(n)),
            Some(Addr::Client(c)) if (c as usize) < self.scripts.len() => Ok(Addr::Client(c)),
            _ => not_enabled(format!("unknown actor {name:?}")),
        }
    }

    fn find(&self, src: Addr, dst: Addr, msg: &Msg) -> Option<usize> {
        self.network
            .iter()
            .position(|e| e.src == src && e.dst == dst && e.msg == *msg)
    }

    fn crashes_used(&self) -> u8 {
        let down = self.nodes.iter().filter(|n| !n.is_up()).count() as u8;
        self.restarts.iter().sum::<u8>() + down
    }

    /// Whether node `n` may crash now: it is up and the run's crash budget lasts.
    pub fn may_crash(&self, n: usize) -> bool {
        self.nodes[n].is_up() && self.crashes_used() < self.cfg.crashes
    }

    /// Whether node `n` may lose its data now: it is up, never lost it, and the budget lasts.
    pub fn may_lose_data(&self, n: usize) -> bool {
        self.nodes[n].is_up() && self.data_losses[n] == 0 && self.data_losses.iter().sum::<u8>() < self.cfg.data_loss
    }

    /// The network makes one more copy of entry `i` (not a step: see the module docs).
    pub fn duplicate(&mut self, i: usize) {
        self.network[i].copies = self.network[i].copies.saturating_add(1);
    }

    /// The network loses one of several copies of entry `i` (not a step: another copy is
    /// still on the way).
    pub fn lose_copy(&mut self, i: usize) {
        let e = &mut self.network[i];
        e.copies = e.copies.saturating_sub(1).max(1);
    }

    /// Applies one step: the only way the cluster changes (besides the copies above).
    pub fn apply(&mut self, step: &Step) -> Result<(), StepError> {
        self.last_rules = RuleSet::default();
        let after_repair = self.history.any_repaired();
        let r = self.apply_step(step);
        if r.is_ok() {
            self.metrics.tick();
        }
        if self.last_rules.contains(Rule::B10) {
            self.history.set(History::REPLAY);
        }
        if self.last_rules.contains(Rule::R2) {
            self.history.set(History::REGEN);
        }
        if after_repair && self.applied_write_path_view_write(step) {
            self.history.set(History::AFTER_REPAIR);
        }
        r
    }

    /// Whether the step just taken applied a view write of the write path (a base write's
    /// own, a batchlog replay's or a hint's): a local one (B5), or a delivered one (V1) that
    /// no view repair sent. Such a write landing after a repair is what P-no-clobber is
    /// about; the rules say whether it applied, since neither fires on a step not taken.
    fn applied_write_path_view_write(&self, step: &Step) -> bool {
        if self.last_rules.contains(Rule::B5) {
            return true;
        }
        let Step::Deliver {
            msg: Msg::ViewWrite { batch, .. },
            ..
        } = step
        else {
            return false;
        };
        self.last_rules.contains(Rule::V1) && batch.is_none_or(|b| !b.is_view_repair())
    }

    /// The rules the last step fired, as the model labels the same transition.
    pub fn last_rules(&self) -> RuleSet {
        self.last_rules
    }

    /// The mechanisms exercised so far (see `mv_spec::obs::History`).
    pub fn history(&self) -> History {
        self.history
    }

    fn apply_step(&mut self, step: &Step) -> Result<(), StepError> {
        match step {
            Step::Deliver { src, dst, msg } => {
                let (src, dst) = (self.addr(src)?, self.addr(dst)?);
                let Some(i) = self.find(src, dst, msg) else {
                    return not_enabled(format!("{src} -> {dst} {msg} is not in flight"));
                };
                self.deliver(i)
            }
            Step::Drop { src, dst, msg } => {
                let (src, dst) = (self.addr(src)?, self.addr(dst)?);
                if !self.cfg.lossy {
                    return not_enabled("the network does not lose messages (lossy is off)".into());
                }
                let Some(i) = self.find(src, dst, msg) else {
                    return not_enabled(format!("{src} -> {dst} {msg} is not in flight"));
                };
                if !self.droppable(&self.network[i]) {
                    return not_enabled(format!(
                        "{src} -> {dst} {msg} is a local call, not on the network: only a crash loses it"
                    ));
                }
                self.history.fault();
                self.network.remove(i);
                self.last_rules.insert(Rule::Drop);
                Ok(())
            }
            Step::Timeout { node, timer } => {
                let n = self.node_index(node)?;
                self.fire(n, *timer)
            }
            Step::Crash { node } => {
                let n = self.node_index(node)?;
                if !self.may_crash(n) {
                    return not_enabled(format!("{node} cannot crash (down, or the crash budget is spent)"));
                }
                self.history.fault();
                if self.holds_acked_write(n) {
                    self.history.set(History::ACKED_CRASH);
                }
                self.last_rules.insert(Rule::Crash);
                self.nodes[n].step(Input::Crash);
                self.lose_connections(n);
                Ok(())
            }
            Step::Recover { node } => {
                let n = self.node_index(node)?;
                if self.nodes[n].is_up() {
                    return not_enabled(format!("{node} is up"));
                }
                self.restarts[n] += 1;
                let fx = self.nodes[n].step(Input::Restart);
                self.carry_out(n, fx)?;
                // Gossip tells every node that `n` is back: its downtime starts again.
                self.tell_live_nodes(NodeId(n as u8), false);
                Ok(())
            }
            Step::HintWindow { node } => {
                let n = self.node_index(node)?;
                if !self.hint_window_may_pass(n) {
                    return not_enabled(format!(
                        "{node} cannot pass the hint window (long outages off, {node} up, or every live node knows)"
                    ));
                }
                self.history.fault();
                self.last_rules.insert(Rule::HintWindow);
                self.tell_live_nodes(NodeId(n as u8), true);
                Ok(())
            }
            Step::Repair { node, key } => {
                let n = self.node_index(node)?;
                let k = *key;
                if !self.repair_keys.contains(&k) {
                    return not_enabled(format!("no repair of k={k} in this configuration"));
                }
                let replicas = self.cfg.ring.base_replicas(k);
                if replicas[0] != NodeId(n as u8) {
                    return not_enabled(format!("{node} is not the first base replica of k={k}"));
                }
                if !self.repair_due(k) || !self.settled() {
                    return not_enabled(format!(
                        "repair of k={k} is not due (replicas agree, one is down, the budget is spent, or work is in progress)"
                    ));
                }
                // R4: each replica gets, through its write path, what it lacks of the merged
                // row.
                let rows: Vec<BaseRow> = replicas.iter().map(|r| self.nodes[r.0 as usize].base_row(k)).collect();
                for (r, write, stmt) in repair::anti_entropy(&replicas, &rows, k) {
                    self.network.push(Envelope {
                        src: Addr::Node(NodeId(n as u8)),
                        dst: Addr::Node(r),
                        msg: Msg::BaseWrite { write, stmt },
                        copies: 1,
                    });
                }
                self.repairs += 1;
                self.last_rules.insert(Rule::R4);
                Ok(())
            }
            Step::ViewRepair { node, key } => self.view_repair(node, *key),
            Step::Expire { node } => {
                if node != "n0" {
                    return not_enabled(format!("an Expire step is observed on n0, not {node}"));
                }
                if !self.expiry_pending() {
                    return not_enabled(
                        "the clock cannot pass the TTL deadline (the workload writes no TTL, or it passed)".into(),
                    );
                }
                // One clock for the cluster: every node, up or down, is past the deadline
                // from this step on. Nothing is written.
                for node in &mut self.nodes {
                    let fx = node.step(Input::Expire);
                    self.last_rules.0 |= fx.rules.0;
                }
                Ok(())
            }
            Step::DataLoss { node } => {
                let n = self.node_index(node)?;
                if !self.may_lose_data(n) {
                    return not_enabled(format!(
                        "{node} cannot lose its data (down, lost it before, or the budget is spent)"
                    ));
                }
                self.history.fault();
                self.last_rules.insert(Rule::DataLoss);
                self.nodes[n].step(Input::DataLoss);
                self.data_losses[n] += 1;
                self.metrics.forget(NodeId(n as u8));
                self.lose_connections(n);
                if self.cfg.replace_streaming {
                    self.stream_to_replacement(n)?;
                }
                Ok(())
            }
        }
    }

    /// R5 for node `n`, just replaced after data loss: every partition it replicates is
    /// taken from one live replica (`Ring::stream_source`). View partitions are added as
    /// stored (a streamed sstable of a table without views). Base partitions are added as
    /// stored too, unless the design streams them through the write path: then the source
    /// sends each row as base writes (`stream0`, ...) and the replacement's write path
    /// generates view updates for them.
    fn stream_to_replacement(&mut self, n: usize) -> Result<(), StepError> {
        let ring = self.cfg.ring;
        let me = NodeId(n as u8);
        let up: Vec<bool> = self.nodes.iter().map(|x| x.is_up()).collect();
        let live = |r: NodeId| up[r.0 as usize];
        let mut view = Vec::new();
        let mut base: Vec<(NodeId, Key, BaseRow)> = Vec::new();
        for src in (0..ring.nodes).map(NodeId).filter(|&r| r != me) {
            let node = &self.nodes[src.0 as usize];
            for (vk, row) in node.view_rows() {
                let replicas = ring.view_replicas(*vk);
                if replicas.contains(&me) && Ring::stream_source(&replicas, me, live) == Some(src) {
                    view.push(mv_spec::ViewMutation { key: *vk, row: *row });
                }
            }
            for (&k, row) in node.base_rows() {
                let replicas = ring.base_replicas(k);
                if replicas.contains(&me) && Ring::stream_source(&replicas, me, live) == Some(src) {
                    base.push((src, k, *row));
                }
            }
        }
        if view.is_empty() && base.is_empty() {
            return Ok(());
        }
        self.last_rules.insert(Rule::R5);
        base.sort_by_key(|&(_, k, _)| k);
        let statements: Vec<(NodeId, Statement)> = base
            .iter()
            .flat_map(|&(src, k, row)| {
                BaseRow::default()
                    .repair_statements(k, &row)
                    .into_iter()
                    .map(move |s| (src, s))
            })
            .collect();
        if self.cfg.variant.design().replace_through_write_path {
            let fx = self.nodes[n].step(Input::Streamed { base: vec![], view });
            self.carry_out(n, fx)?;
            for (i, (src, stmt)) in statements.into_iter().enumerate() {
                self.network.push(Envelope {
                    src: Addr::Node(src),
                    dst: Addr::Node(me),
                    msg: Msg::BaseWrite {
                        write: WriteId::stream(i as u8),
                        stmt,
                    },
                    copies: 1,
                });
            }
        } else {
            let base = statements.into_iter().map(|(_, s)| s).collect();
            let fx = self.nodes[n].step(Input::Streamed { base, view });
            self.carry_out(n, fx)?;
        }
        Ok(())
    }

    /// R6: view repair of `k` from `node`, with what R7 reads handed to the node.
    fn view_repair(&mut self, node: &str, k: Key) -> Result<(), StepError> {
        let n = self.node_index(node)?;
        if !self.view_repair_keys.contains(&k) {
            return not_enabled(self.unknown_view_repair_key(k));
        }
        let first = self.first_base_replica(k);
        if first != n {
            return not_enabled(format!(
                "{node} is not the first base replica of k={k} (n{first} is): only it runs k's view repair"
            ));
        }
        if let Some(why) = self.view_repair_blocked(k) {
            return not_enabled(format!("view repair of k={k}: {why}"));
        }
        let (base, views) = self.view_repair_read(k);
        let repair = self.view_repairs;
        let plan = repair::plan(self.nodes[n].switches(), &self.cfg.ring, repair, k, &base, &views).ok();
        let deletes = plan.as_ref().is_some_and(|p| p.deletes);
        let fx = self.nodes[n].step(Input::ViewRepair {
            repair,
            key: k,
            base,
            views,
        });
        if !fx.taken && fx.violations.is_empty() {
            return not_enabled(format!("{node} does not take the view repair of k={k}"));
        }
        self.view_repairs += 1;
        self.history.set(History::repaired(k));
        if deletes {
            self.history.set(History::REPAIR_DELETED);
        }
        self.carry_out(n, fx)?;
        // R8 on the other base replicas, in this same step: the host holds the partition lock
        // on all of them (R6 found none holding a commit-log entry of `k`).
        let writes = plan.map(|p| p.reinstate).unwrap_or_default();
        if writes.is_empty() {
            return Ok(());
        }
        for r in self.cfg.ring.base_replicas(k).into_iter().filter(|r| r.0 as usize != n) {
            let i = r.0 as usize;
            let fx = self.nodes[i].step(Input::Reinstate {
                key: k,
                writes: writes.clone(),
            });
            if !fx.taken && fx.violations.is_empty() {
                // R6 let the repair run only with every node up, so this is the host's bug.
                return Err(StepError::Violation(format!(
                    "{r} did not take view repair {repair}'s base writes of k={k}"
                )));
            }
            self.carry_out(i, fx)?;
        }
        Ok(())
    }

    fn unknown_view_repair_key(&self, k: Key) -> String {
        if self.cfg.view_repairs == 0 {
            format!("no view repair of k={k}: the view-repair budget is 0")
        } else {
            format!(
                "no view repair of k={k}: the workload writes only k in {:?}",
                self.view_repair_keys
            )
        }
    }

    /// The first base replica of `k`, which runs its repairs.
    fn first_base_replica(&self, k: Key) -> usize {
        // A ring has at least one replica per partition (`validate`: rf >= 1).
        self.cfg.ring.base_replicas(k).first().map_or(0, |r| r.0 as usize)
    }

    /// R7: the base row of `k` merged across its base replicas (a read at ALL), and every
    /// view row `(·, k)` stored on every node.
    fn view_repair_read(&self, k: Key) -> (BaseRow, Vec<(NodeId, ViewKey, ViewRow)>) {
        let base = self.cfg.ring.base_replicas(k).iter().fold(BaseRow::default(), |b, r| {
            b.merge(&self.nodes[r.0 as usize].base_row(k))
        });
        let views = self
            .nodes
            .iter()
            .flat_map(|node| {
                node.view_rows()
                    .iter()
                    .filter(|(key, _)| key.k == k)
                    .map(|(&key, &row)| (node.id(), key, row))
            })
            .collect();
        (base, views)
    }

    /// Why a view repair of `k` may not run now (R6), or `None` if it may. The partition
    /// must be one the workload writes, the budget must last, every node must be up (a read
    /// at ALL, and every view replica written), no base or view write may be on the wire
    /// unless the configuration says anytime, no base write of `k` may be between its
    /// halves anywhere (the partition lock; a repair without the lock does not wait for
    /// it), and R8 or R9 must have something to write.
    pub fn view_repair_blocked(&self, k: Key) -> Option<String> {
        if !self.view_repair_keys.contains(&k) {
            return Some(self.unknown_view_repair_key(k));
        }
        if self.view_repairs >= self.cfg.view_repairs {
            return Some(format!(
                "the view-repair budget is spent ({} of {})",
                self.view_repairs, self.cfg.view_repairs
            ));
        }
        if let Some(down) = self.nodes.iter().find(|x| !x.is_up()) {
            return Some(format!("{} is down, and a view repair needs every node up", down.id()));
        }
        // Base repair (R4) first: a view row the repair writes must be one that every paired
        // base replica would delete on a later move of the view key.
        let replicas = self.cfg.ring.base_replicas(k);
        let first = self.nodes[replicas[0].0 as usize].base_row(k);
        if let Some(r) = replicas.iter().find(|r| self.nodes[r.0 as usize].base_row(k) != first) {
            return Some(format!(
                "{r} holds a different base row of k={k} than {}: run base repair (R4) first",
                replicas[0]
            ));
        }
        if !self.cfg.view_repair_anytime {
            let on_wire = self
                .network
                .iter()
                .find(|e| matches!(e.msg, Msg::BaseWrite { .. } | Msg::ViewWrite { .. }));
            if let Some(e) = on_wire {
                return Some(format!(
                    "{} -> {} {} is on the wire, and a view repair runs between messages (view_repair_anytime is off)",
                    e.src, e.dst, e.msg
                ));
            }
        }
        let lock = self.nodes[self.first_base_replica(k)].switches().repair != RepairStyle::WithoutLock;
        if let Some(busy) = self.nodes.iter().find(|x| lock && x.holds_commit_log_entry(k)) {
            return Some(format!(
                "{} holds a commit-log entry for k={k}: a base write is between its halves, and the repair waits for the partition lock",
                busy.id()
            ));
        }
        match self.view_repair_plan(k) {
            Err(e) => Some(e),
            Ok(p) if p.is_empty() => Some(format!("nothing to write: the view of k={k} agrees with the base")),
            Ok(_) => None,
        }
    }

    /// Whether a view repair of `k` may run now (R6), from `k`'s first base replica.
    pub fn view_repair_enabled(&self, k: Key) -> bool {
        self.view_repair_blocked(k).is_none()
    }

    /// The operator's view repair (`mvcheck repair`): `n` more view repairs, on every
    /// partition the workload writes, whatever budget the run was configured with. The
    /// budget bounds what a search explores; an operator repairs what is wrong.
    pub fn allow_view_repairs(&mut self, n: u8) -> Result<(), String> {
        let total = self.view_repairs.saturating_add(n);
        mv_spec::variant::validate_view_repairs(total, &self.cfg.workload)?;
        self.cfg.view_repairs = total;
        self.view_repair_keys = self.cfg.workload.keys(self.cfg.ring.nodes);
        Ok(())
    }

    /// The partitions a view repair may run on.
    pub fn view_repair_keys(&self) -> &[Key] {
        &self.view_repair_keys
    }

    /// The view repairs that may run now, as (repairing node, partition).
    pub fn due_view_repairs(&self) -> Vec<(usize, Key)> {
        self.view_repair_keys
            .iter()
            .filter(|&&k| self.view_repair_enabled(k))
            .map(|&k| (self.first_base_replica(k), k))
            .collect()
    }

    /// What a view repair of `k` would write if it ran now, whether or not R6 lets it run
    /// (`view_repair_enabled` says that). `Err` for a partition the workload never writes, or
    /// once the run has used every view-repair id.
    pub fn view_repair_plan(&self, k: Key) -> Result<ViewRepairPlan, String> {
        let keys = self.cfg.workload.keys(self.cfg.ring.nodes);
        if !keys.contains(&k) {
            return Err(format!(
                "no view repair of k={k}: the workload writes only k in {keys:?}"
            ));
        }
        let n = self.first_base_replica(k);
        let (base, views) = self.view_repair_read(k);
        let repair = self.view_repairs;
        let plan = repair::plan(self.nodes[n].switches(), &self.cfg.ring, repair, k, &base, &views)?;
        let replicas = self.cfg.ring.base_replicas(k);
        Ok(ViewRepairPlan {
            node: NodeId(n as u8),
            repair,
            base_writes: plan
                .reinstate
                .iter()
                .flat_map(|&(write, stmt)| replicas.iter().map(move |&r| (r, write, stmt)))
                .collect(),
            view_mutations: plan
                .view
                .into_iter()
                .flat_map(|(r, ms)| ms.into_iter().map(move |m| (r, m)))
                .collect(),
            deletes: plan.deletes,
        })
    }

    /// Whether node `t`'s outage may now outlast `max_hint_window`: long outages are on,
    /// Whether the clock step may run: the workload writes `USING TTL` and the deadline has
    /// not passed yet. It runs once.
    pub fn expiry_pending(&self) -> bool {
        self.cfg.workload.has_ttl() && !self.nodes[0].past_deadline()
    }

    /// `t` is down, and some live node does not know it yet.
    pub fn hint_window_may_pass(&self, t: usize) -> bool {
        self.cfg.long_outages
            && !self.nodes[t].is_up()
            && self
                .nodes
                .iter()
                .enumerate()
                .any(|(n, x)| n != t && x.is_up() && !x.knows_past_hint_window(NodeId(t as u8)))
    }

    /// The failure detector's news about `t`, to every node that is up.
    fn tell_live_nodes(&mut self, t: NodeId, passed: bool) {
        for node in self.nodes.iter_mut().filter(|x| x.is_up() && x.id() != t) {
            node.step(Input::HintWindow { node: t, passed });
        }
    }

    /// Whether the network may lose `e`: only on a lossy network, and never a node's message
    /// to itself, which is a local call (the coordinator's write to its own replica runs on its
    /// own mutation stage in Cassandra) that only a crash loses.
    pub fn droppable(&self, e: &Envelope) -> bool {
        self.cfg.lossy && e.src != e.dst
    }

    /// A machine that goes down loses its timers and every message in flight to or from it:
    /// its connections break, and neither side resends what TCP had not delivered.
    fn lose_connections(&mut self, n: usize) {
        self.timers[n].clear();
        let me = Addr::Node(NodeId(n as u8));
        self.network.retain(|e| e.src != me && e.dst != me);
    }

    /// Delivers network entry `i` if its recipient takes it.
    pub(crate) fn deliver(&mut self, i: usize) -> Result<(), StepError> {
        let Envelope { src, dst, msg, .. } = self.network[i].clone();
        match dst {
            Addr::Node(n) => {
                let n = n.0 as usize;
                if !self.nodes[n].is_up() {
                    return not_enabled(format!("{dst} is down"));
                }
                let fx = self.nodes[n].step(Input::Deliver {
                    from: src,
                    msg: msg.clone(),
                });
                if !fx.taken && fx.violations.is_empty() {
                    return not_enabled(format!("{dst} does not take {msg} from {src} now"));
                }
                if let Msg::ViewWrite { mutations, hint, .. } = &msg {
                    if *hint {
                        self.history.set(History::HINT);
                    }
                    // A mutation without a live marker removes an old view row: the view key
                    // moved, and the view replica that held the old row is told so.
                    if mutations.iter().any(|m| m.row.marker.is_none_or(|l| l.expired)) {
                        self.history.set(History::REMOTE_SWITCH);
                    }
                }
                if let (Msg::ViewWriteAck { batch }, Addr::Node(target)) = (&msg, src) {
                    self.metrics.acked(NodeId(n as u8), *batch, target);
                }
                self.network.remove(i);
                self.carry_out(n, fx)
            }
            Addr::Client(c) => {
                let c = c as usize;
                let (Msg::WriteOk { write } | Msg::WriteTimeout { write }) = msg else {
                    return not_enabled(format!("{dst} does not take {msg}"));
                };
                let Some(w) = self.scripts[c].writes.iter().position(|x| x.0 == write.first_attempt()) else {
                    return not_enabled(format!("{dst} never sent {write}"));
                };
                if self.outcomes[c][w] != Outcome::Pending || write.attempt() != self.attempts[c] {
                    return not_enabled(format!("{dst} is not waiting for {write}"));
                }
                self.network.remove(i);
                let coordinator = Addr::Node(self.scripts[c].coordinator);
                if matches!(msg, Msg::WriteTimeout { .. }) && self.attempts[c] < self.cfg.retries {
                    // C3: the driver sends the timed-out write again, as a new request with
                    // the same statement and timestamp, to the same coordinator.
                    self.last_rules.insert(Rule::C3);
                    self.attempts[c] += 1;
                    self.network.push(Envelope {
                        src: dst,
                        dst: coordinator,
                        msg: Msg::Write {
                            write: write.retry(),
                            stmt: self.scripts[c].writes[w].1,
                            cl: self.cfg.cl,
                        },
                        copies: 1,
                    });
                    return Ok(());
                }
                // C2: record the answer, send the next write.
                self.last_rules.insert(Rule::C2);
                self.outcomes[c][w] = if matches!(msg, Msg::WriteOk { .. }) {
                    Outcome::Ok
                } else {
                    Outcome::Timeout
                };
                self.attempts[c] = 0;
                if let Some(&(write, stmt)) = self.scripts[c].writes.get(w + 1) {
                    self.outcomes[c][w + 1] = Outcome::Pending;
                    self.network.push(Envelope {
                        src: dst,
                        dst: coordinator,
                        msg: Msg::Write {
                            write,
                            stmt,
                            cl: self.cfg.cl,
                        },
                        copies: 1,
                    });
                }
                Ok(())
            }
        }
    }

    /// Fires timer `t` on node `n` if it is armed and its guard allows it.
    pub(crate) fn fire(&mut self, n: usize, t: Timer) -> Result<(), StepError> {
        if !self.nodes[n].is_up() {
            return not_enabled(format!("n{n} is down"));
        }
        if !self.timers[n].contains(&t) {
            return not_enabled(format!("timer {t} is not armed on n{n}"));
        }
        if !self.timer_may_fire(n, t) {
            return not_enabled(format!(
                "timer {t} on n{n} may not fire yet (what it waits for can still arrive)"
            ));
        }
        self.timers[n].remove(&t);
        let fx = self.nodes[n].step(Input::Fire(t));
        self.carry_out(n, fx)
    }

    /// Whether node `n`'s base table holds a write some client has been told succeeded.
    fn holds_acked_write(&self, n: usize) -> bool {
        (0..self.scripts.len()).any(|c| {
            self.scripts[c]
                .writes
                .iter()
                .zip(&self.outcomes[c])
                .any(|(&(_, stmt), &o)| {
                    o == Outcome::Ok && mv_spec::props::covers(&self.nodes[n].base_row(stmt.k), &stmt)
                })
        })
    }

    /// Carries out a node's outputs, then checks its durability discipline.
    fn carry_out(&mut self, n: usize, fx: Effects) -> Result<(), StepError> {
        let me = Addr::Node(NodeId(n as u8));
        self.last_rules.0 |= fx.rules.0;
        let mut problems = fx.violations;
        for out in fx.outputs {
            match out {
                Output::Send { to, msg } => {
                    if let Some(p) = self.undurable_send(n, to, &msg) {
                        problems.push(p);
                    }
                    if let (
                        Msg::ViewWrite {
                            batch: Some(b),
                            mutations,
                            ..
                        },
                        Addr::Node(t),
                    ) = (&msg, to)
                    {
                        self.metrics.sent(NodeId(n as u8), *b, t, mutations.len());
                    }
                    self.network.push(Envelope {
                        src: me,
                        dst: to,
                        msg,
                        copies: 1,
                    });
                }
                Output::SetTimer(t) => {
                    self.timers[n].insert(t);
                }
                Output::CancelTimer(t) => {
                    self.timers[n].remove(&t);
                }
                Output::Persist(Persist::BatchlogWrite(b)) => self.metrics.batchlog(b, true),
                Output::Persist(Persist::BatchlogRemove(b)) => self.metrics.batchlog(b, false),
                Output::Persist(_) => {}
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(StepError::Violation(problems.join("; ")))
        }
    }

    /// The statement of a client write.
    fn statement(&self, write: WriteId) -> Option<Statement> {
        self.scripts
            .iter()
            .flat_map(|s| s.writes.iter())
            .find(|w| w.0 == write)
            .map(|w| w.1)
    }

    /// A send that leaves before what it promises is durable: a `ViewWrite` whose batch the
    /// sender does not hold, or a `BaseWriteAck` for a write its base table does not hold.
    fn undurable_send(&self, n: usize, to: Addr, msg: &Msg) -> Option<String> {
        let node = &self.nodes[n];
        match (msg, to) {
            (Msg::ViewWrite { batch: Some(b), .. }, Addr::Node(t)) if !node.holds_batch(*b, t) => {
                Some(format!("n{n} sent {msg} to {t} without holding batch {b} durably"))
            }
            (Msg::BaseWriteAck { write }, _) => {
                let stmt = self.statement(*write)?;
                let row = node.base_row(stmt.k);
                (!mv_spec::props::covers(&row, &stmt))
                    .then(|| format!("n{n} acked {write} before its base table held [{stmt}]"))
            }
            _ => None,
        }
    }

    fn any_in_flight(&self, pred: impl Fn(&Envelope) -> bool) -> bool {
        self.network.iter().any(pred)
    }

    /// Whether an up node still owes `to` an ack for `write` (holds it between its halves).
    fn ack_owed(&self, write: WriteId, to: NodeId) -> bool {
        self.nodes.iter().any(|m| m.is_up() && m.owes_ack(write, to))
    }

    /// The guards of `specs/protocol.md` ("Time"). Timeouts race the messages they wait for,
    /// as in Cassandra; only resends are held back while an earlier copy or its ack is in
    /// flight, which keeps the number of messages bounded.
    pub fn timer_may_fire(&self, n: usize, t: Timer) -> bool {
        let id = NodeId(n as u8);
        let me = Addr::Node(id);
        match t {
            Timer::Generate(_) | Timer::ApplyBase(_) | Timer::WriteTimeout(_) | Timer::BatchlogReplay(_) => true,
            Timer::HintDelivery(target) => {
                let them = Addr::Node(target);
                let me_node = &self.nodes[n];
                self.nodes.get(target.0 as usize).is_some_and(|x| x.is_up())
                    && !self.any_in_flight(|e| match e.msg {
                        Msg::ViewWrite { hint, .. } => hint && e.src == me && e.dst == them,
                        // Only an ack this node would take; a stale one is a no-op that
                        // stays in flight for ever and must not hold hints back.
                        Msg::ViewWriteAck { batch } => {
                            e.src == them && e.dst == me && me_node.holds_batch(batch, target)
                        }
                        Msg::BaseWrite { write, .. } => {
                            e.src == me && e.dst == them && me_node.holds_base_hint(write, target)
                        }
                        Msg::BaseWriteAck { write } => {
                            e.src == them && e.dst == me && me_node.holds_base_hint(write, target)
                        }
                        _ => false,
                    })
                    && !me_node.base_hints_for(target).any(|w| self.ack_owed(w, id))
            }
            Timer::CoordBatchlogReplay(w) => {
                let Some(c) = self.nodes[n].coord_batchlog_owner(w) else {
                    return true;
                };
                let coordinator = &self.nodes[c.0 as usize];
                let gone = !coordinator.is_up() || !coordinator.coordinates(w);
                gone && !self.any_in_flight(|e| match e.msg {
                    Msg::BatchlogRemove { write } => write == w && e.dst == me,
                    Msg::BaseWrite { write, .. } => write == w && e.src == me,
                    Msg::BaseWriteAck { write } => write == w && e.dst == me,
                    _ => false,
                }) && !self.ack_owed(w, id)
            }
        }
    }

    fn step_of_envelope(e: &Envelope, drop: bool) -> Step {
        let (src, dst, msg) = (e.src.to_string(), e.dst.to_string(), e.msg.clone());
        if drop {
            Step::Drop { src, dst, msg }
        } else {
            Step::Deliver { src, dst, msg }
        }
    }

    /// Whether delivering network entry `i` would be a step (tried on a copy).
    pub fn delivery_taken(&self, i: usize) -> bool {
        let mut probe = self.clone();
        matches!(probe.deliver(i), Ok(()) | Err(StepError::Violation(_)))
    }

    /// Every step enabled now, each distinct step once, in a canonical order. Deliveries
    /// that the recipient would not take are left out, as the model leaves out no-ops.
    pub fn enabled_steps(&self) -> Vec<Step> {
        let mut out = Vec::new();
        for (i, e) in self.network.iter().enumerate() {
            if self.droppable(e) {
                out.push(Self::step_of_envelope(e, true));
            }
            if self.delivery_taken(i) {
                out.push(Self::step_of_envelope(e, false));
            }
        }
        for (n, node) in self.nodes.iter().enumerate() {
            let name = format!("n{n}");
            if node.is_up() {
                for &t in &self.timers[n] {
                    if self.timer_may_fire(n, t) {
                        out.push(Step::Timeout {
                            node: name.clone(),
                            timer: t,
                        });
                    }
                }
            } else {
                out.push(Step::Recover { node: name.clone() });
            }
            if self.may_crash(n) {
                out.push(Step::Crash { node: name.clone() });
            }
            if self.may_lose_data(n) {
                out.push(Step::DataLoss { node: name.clone() });
            }
            if self.hint_window_may_pass(n) {
                out.push(Step::HintWindow { node: name });
            }
        }
        for (n, key) in self.due_repairs() {
            out.push(Step::Repair {
                node: format!("n{n}"),
                key,
            });
        }
        for (n, key) in self.due_view_repairs() {
            out.push(Step::ViewRepair {
                node: format!("n{n}"),
                key,
            });
        }
        if self.expiry_pending() {
            out.push(Step::Expire { node: "n0".into() });
        }
        let mut keyed: Vec<(String, Step)> = out
            .into_iter()
            .map(|s| (serde_json::to_string(&s).unwrap_or_default(), s))
            .collect();
        keyed.sort_by(|a, b| a.0.cmp(&b.0));
        keyed.dedup_by(|a, b| a.0 == b.0);
        keyed.into_iter().map(|x| x.1).collect()
    }

    /// Repair of `k` is due: the budget lasts, every base replica of `k` is up, and their
    /// rows differ. It runs once the write path has settled.
    pub fn repair_due(&self, k: Key) -> bool {
        if self.repairs >= self.cfg.repairs || !self.repair_keys.contains(&k) {
            return false;
        }
        let replicas = self.cfg.ring.base_replicas(k);
        if replicas.iter().any(|r| !self.nodes[r.0 as usize].is_up()) {
            return false;
        }
        let first = self.nodes[replicas[0].0 as usize].base_row(k);
        replicas.iter().any(|r| self.nodes[r.0 as usize].base_row(k) != first)
    }

    /// The repairs that may run now: due, on a settled cluster, each from its partition's
    /// first base replica.
    pub fn due_repairs(&self) -> Vec<(usize, Key)> {
        let due: Vec<(usize, Key)> = self
            .repair_keys
            .iter()
            .filter(|&&k| self.repair_due(k))
            .map(|&k| (self.cfg.ring.base_replicas(k)[0].0 as usize, k))
            .collect();
        if due.is_empty() || !self.settled() {
            return Vec::new();
        }
        due
    }

    /// Quiescent (`specs/properties.md`): settled, no repair due and no view repair
    /// enabled. With a repair budget a settled cluster whose replicas differ still has the
    /// operator's repair to run, and with a view-repair budget one whose view disagrees with
    /// its base still has the operator's view repair.
    pub fn quiescent(&self) -> bool {
        !self.repair_keys.iter().any(|&k| self.repair_due(k))
            && !self.view_repair_keys.iter().any(|&k| self.view_repair_enabled(k))
            && self.settled()
    }

    /// Settled: every node up with no queued durable work, and no delivery or timer that
    /// would be a step.
    pub fn settled(&self) -> bool {
        if self.nodes.iter().any(|n| !n.is_up() || n.has_pending_work()) {
            return false;
        }
        let timer_enabled = (0..self.nodes.len()).any(|n| self.timers[n].iter().any(|&t| self.timer_may_fire(n, t)));
        if timer_enabled {
            return false;
        }
        !(0..self.network.len()).any(|i| self.delivery_taken(i))
    }

    /// Node `n`'s observation.
    pub fn observe_node(&self, n: usize) -> NodeObservation {
        NodeObservation {
            timers: self.timers[n].iter().copied().collect(),
            ..self.nodes[n].observe()
        }
    }

    /// Client `c`'s writes with their outcomes, in the order it sends them.
    pub fn observe_client(&self, c: usize) -> ClientObservation {
        ClientObservation {
            writes: WriteRecord::of_script(&self.scripts[c], &self.outcomes[c], self.cfg.cl),
        }
    }

    /// The whole cluster, as the properties read it.
    pub fn observe(&self) -> Observation {
        let mut writes: Vec<WriteRecord> = (0..self.scripts.len())
            .flat_map(|c| self.observe_client(c).writes)
            .collect();
        writes.sort_by_key(|w| w.write);
        Observation {
            ring: self.cfg.ring,
            rules: crate::node::store::read_rules(&Switches::from(self.cfg.variant.design()).view),
            nodes: (0..self.nodes.len()).map(|n| self.observe_node(n)).collect(),
            writes,
            quiescent: self.quiescent(),
            history: self.history,
        }
    }
}
