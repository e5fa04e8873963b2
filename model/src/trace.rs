//! Implementation traces against the model: [`validate`] replays an NDJSON trace
//! (`mv_spec::trace`, `specs/trace-format.md`) on the model, and [`record`] turns a model path
//! (a checker's counterexample, or a [`random_run`]) into such a trace, so that the validator
//! is tested on traces whose verdict is known.
//!
//! # Validation
//!
//! Validation is a search for a model run that explains the trace. Because one model action
//! is one implementation step, a complete trace leaves nothing to search: from the initial
//! state, each line's step is mapped to the model action equal to it by value, the action must
//! be enabled, and after taking it the model's observation of the line's actor must equal the
//! line's `after`. The first line that fails is the divergence; it and everything after it
//! are left over.
//!
//! A trace may also leave steps out. `seq` numbers every step of the run, recorded or not,
//! so a gap of `g` between two lines says that exactly `g` steps happened unseen. Strict
//! validation (the default) rejects any gap. With `partial: Some(n)` the validator searches:
//! it keeps the frontier, the set of every model state that agrees with the lines so far, and
//! before a line with gap `g <= n` replaces it by every state reachable from it in exactly `g`
//! model actions of any actor (breadth first, deduplicated, at most [`MAX_SEARCH`] states).
//! The line's step is then tried from each, and the states whose observation matches form the
//! next frontier. A divergence is a line that leaves the frontier empty. Without gaps the
//! frontier is one state, and the search is the walk above.
//!
//! A prefix of a run is a valid trace. When the run ended, [`validate_complete`] also
//! requires the model to be quiescent after the last line, so that work the implementation
//! skipped at the end cannot hide behind the end of the trace.
//!
//! # Why it is fast
//!
//! A walk keeps one state, and `ActorModelState` shares each actor's state behind an `Arc`, so
//! a step copies only what it changes. Whether a delivery is enabled is a lookup in the
//! network instead of a listing of every enabled action (whose timer guards scan the network).
//! Observations are compared in place against the model's disk (no projection is built) and
//! are rendered only to explain a divergence.
//!
//! # Steps the model ignores
//!
//! Stateright treats a delivery or timer that changes nothing as not taken (the message stays
//! in flight, the timer stays set). An implementation may still consume such a message, for
//! instance a stale ack, so the validator accepts an enabled no-op as a step that leaves the
//! model where it was, provided the receiver is up; the implementation's observation must then
//! be unchanged too.
//!
//! The model's network never duplicates a message; a simulation may. A delivery of a message
//! that an earlier line already delivered, and that is no longer in flight in the model, is
//! accepted only if the model would ignore it: a duplicate that changes state has no model
//! counterpart.

// A divergence ends a validation and is returned once; its size does not matter, and
// boxing it would make every caller unwrap a box.
#![allow(clippy::result_large_err)]

use crate::actor::Fault;
use crate::model::{Action, MvModel, State};
use crate::render::{observation_lines, Lines};
use crate::{MvModelCfg, Variant, Workload};
use mv_spec::rng::SplitMix64;
use mv_spec::trace::{After, Step, TraceConfig, TraceHeader, TraceLine};
use mv_spec::Msg;
use stateright::actor::{ActorModelAction, Id, Out};
use stateright::Model;
use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;

/// The largest gap `--partial` searches when not told.
pub const DEFAULT_PARTIAL: usize = 3;
/// The most states a partial search may hold while looking for one line.
pub const MAX_SEARCH: usize = 100_000;

/// Validation options.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Options {
    /// `None`: strict, every step is recorded (`seq` has no gaps). `Some(n)`: a gap of up to
    /// `n` unrecorded steps before a line is searched for.
    pub partial: Option<usize>,
}

/// A trace the model explains.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Validated {
    /// Lines matched: all of them.
    pub events: usize,
    /// Unrecorded model steps found between them (the sum of the `seq` gaps).
    pub hidden: usize,
    /// The largest number of model states that agreed with a prefix of the trace at once (1
    /// when the trace has no gaps; more when unrecorded steps leave the state ambiguous).
    pub peak_frontier: usize,
    /// Whether the model can be quiescent after the last line: no node down, no commit-log,
    /// batchlog, hint or coordinator-batchlog entry, and no delivery or timer that would
    /// change anything. A trace of a run that ended must end so; [`validate_complete`]
    /// requires it.
    pub quiescent: bool,
    /// The `always` properties of `specs/properties.md` the trace violates, each with the
    /// first line (0-based) after which every model state that agrees with the trace so far
    /// violates it. A trace can be a faithful behaviour of a broken variant: "valid" says the
    /// implementation did what the model does, these say whether that was correct.
    pub violations: Vec<(&'static str, usize)>,
}

/// The first line the model cannot explain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Divergence {
    /// 0-based index of the line among the step lines; also the length of the longest
    /// matched prefix.
    pub index: usize,
    /// The line's `seq`.
    pub seq: u64,
    /// The `seq` of the last matched line, if any.
    pub last_matched_seq: Option<u64>,
    /// The line's step; `None` when the divergence is at the end of the trace.
    pub step: Option<Step>,
    /// How many step lines the trace has.
    pub total: usize,
    /// Why the line does not match.
    pub reason: Reason,
}

/// Why a line does not match the model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reason {
    /// The header's configuration is not one the model can build.
    Config(String),
    /// The step names something the model does not have (an actor outside the configuration).
    Unknown(String),
    /// Strict validation, and `seq` skips `gap` steps before this line.
    Missing {
        /// How many steps were not recorded.
        gap: u64,
    },
    /// The gap before this line is larger than `--partial` allows.
    GapTooLarge {
        /// How many steps were not recorded.
        gap: u64,
        /// The largest gap searched.
        limit: usize,
    },
    /// No model run takes `gap` more steps from where the earlier lines left it.
    GapUnfillable {
        /// How many steps were not recorded.
        gap: u64,
    },
    /// The model cannot take the step here; `enabled` lists what it could do instead.
    NotEnabled {
        /// The model's enabled steps, described.
        enabled: Vec<String>,
    },
    /// The message was delivered before (a duplicate), and delivering it again changes the
    /// receiver, which the model's network, where each message is delivered once, cannot do.
    Redelivered,
    /// The model took the step, but observes the actor differently. `diff` is
    /// expected (model) against actual (trace), in `+`/`-`/`~` lines.
    Observation {
        /// The actor.
        actor: String,
        /// The differences.
        diff: Vec<String>,
    },
    /// The run ended ([`validate_complete`]), but after the last line the model still has
    /// work to do.
    Incomplete {
        /// What is left, described.
        pending: Vec<String>,
    },
    /// A partial search grew beyond [`MAX_SEARCH`] states.
    SearchLimit {
        /// How many states it held.
        states: usize,
    },
}

impl fmt::Display for Divergence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.step {
            Some(step) => writeln!(f, "event {} (seq {}): {step}", self.index + 1, self.seq)?,
            None => writeln!(f, "end of trace, after event {} (seq {})", self.index, self.seq)?,
        }
        let prev = self.last_matched_seq.unwrap_or(0);
        match &self.reason {
            Reason::Config(e) => writeln!(f, "  the header's configuration is unusable: {e}")?,
            Reason::Unknown(e) => writeln!(f, "  the model has no such step: {e}")?,
            Reason::Missing { gap } => writeln!(
                f,
                "  seq jumps from {prev} to {}: {gap} step(s) before this one were not recorded \
                 (validate with --partial to search for them)",
                self.seq
            )?,
            Reason::GapTooLarge { gap, limit } => writeln!(
                f,
                "  seq jumps from {prev} to {}: {gap} unrecorded steps, more than --partial {limit} searches",
                self.seq
            )?,
            Reason::GapUnfillable { gap } => writeln!(
                f,
                "  seq jumps from {prev} to {}, but no model run takes {gap} more step(s) from here",
                self.seq
            )?,
            Reason::NotEnabled { enabled } => {
                writeln!(f, "  the model cannot take this step here; it could take:")?;
                for e in enabled {
                    writeln!(f, "    {e}")?;
                }
                if enabled.is_empty() {
                    writeln!(f, "    nothing (the model run is over)")?;
                }
            }
            Reason::Redelivered => writeln!(
                f,
                "  this message was delivered before, and delivering it again changes its receiver; \
                 the model delivers each message once"
            )?,
            Reason::Observation { actor, diff } => {
                writeln!(
                    f,
                    "  {actor} is observed differently; expected (model) => actual (trace):"
                )?;
                for d in diff {
                    writeln!(f, "    {d}")?;
                }
            }
            Reason::Incomplete { pending } => {
                writeln!(f, "  the run ended, but the model still has work to do:")?;
                for p in pending {
                    writeln!(f, "    {p}")?;
                }
            }
            Reason::SearchLimit { states } => writeln!(
                f,
                "  the partial search grew to {states} states (limit {MAX_SEARCH}); record more steps"
            )?,
        }
        let left = self.total - self.index;
        match self.last_matched_seq {
            Some(seq) => write!(
                f,
                "longest matched prefix: {} events (through seq {seq}); {left} of {} events not matched",
                self.index, self.total
            ),
            None => write!(
                f,
                "longest matched prefix: none; {left} of {} events not matched",
                self.total
            ),
        }
    }
}

/// The trace configuration of a model configuration (the ITF `#meta.config` fields).
pub fn trace_config(cfg: &MvModelCfg) -> TraceConfig {
    let (writes, keys) = match cfg.workload {
        Workload::Concurrent { writes, keys } => (writes, keys),
        w => (w.len() as u8, 1),
    };
    TraceConfig {
        variant: cfg.variant.name().to_string(),
        nodes: cfg.ring.nodes,
        rf: cfg.ring.rf,
        pairing: cfg.ring.pairing,
        cl: cfg.cl,
        workload: cfg.workload.name().to_string(),
        writes,
        keys,
        crashes: cfg.crashes,
        data_loss: cfg.data_loss,
        lossy: cfg.lossy,
        retries: cfg.retries,
        repairs: cfg.repairs,
        replace_streaming: cfg.replace_streaming,
        long_outages: cfg.long_outages,
        view_repairs: cfg.view_repairs,
        view_repair_anytime: cfg.view_repair_anytime,
    }
}

/// The model configuration a trace header describes, validated.
pub fn model_config(c: &TraceConfig) -> Result<MvModelCfg, String> {
    let variant = Variant::from_name(&c.variant).map_err(|e| format!("config.variant: {e}"))?;
    let workload = Workload::from_name(&c.workload, c.writes, c.keys)
        .ok_or_else(|| format!("config.workload {:?} is unknown", c.workload))?;
    let mut cfg = MvModelCfg::for_variant(variant);
    cfg.ring.nodes = c.nodes;
    cfg.ring.rf = c.rf;
    cfg.ring.pairing = c.pairing;
    cfg.cl = c.cl;
    cfg.workload = workload;
    cfg.crashes = c.crashes;
    cfg.data_loss = c.data_loss;
    cfg.lossy = c.lossy;
    // A trace is replayed whatever it lost, and however often it resent a hint: the drop
    // budget and the hint-resend bound bound searches, not traces.
    cfg.drops = u8::MAX;
    cfg.hint_resend_bound = false;
    cfg.retries = c.retries;
    cfg.repairs = c.repairs;
    cfg.replace_streaming = c.replace_streaming;
    cfg.long_outages = c.long_outages;
    cfg.view_repairs = c.view_repairs;
    cfg.view_repair_anytime = c.view_repair_anytime;
    cfg.validate()?;
    Ok(cfg)
}

/// A header describing `model`.
pub fn header(model: &MvModel, seed: Option<u64>) -> TraceHeader {
    let mut h = TraceHeader::new(trace_config(&model.cfg), seed);
    h.emitter = Some(format!("mv-model {}", env!("CARGO_PKG_VERSION")));
    h
}

/// The actor a step observes, as an index into the model's nodes or clients.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Who {
    Node(usize),
    Client(usize),
}

fn who(model: &MvModel, a: &Action) -> Who {
    let id = match a {
        ActorModelAction::Deliver { dst, .. } => *dst,
        ActorModelAction::Drop(e) => e.dst,
        ActorModelAction::Timeout(id, _) | ActorModelAction::Crash(id) | ActorModelAction::Recover(id) => *id,
        // A client offers the hint window for the environment; the step is about the node
        // that is down (`Step::actor`).
        ActorModelAction::SelectRandom {
            random: Fault::HintWindow(t),
            ..
        } => crate::actor::node_actor(*t),
        // The clock has no actor of its own; `Step::Expire` observes the first node.
        ActorModelAction::SelectRandom {
            random: Fault::Expire, ..
        } => crate::actor::node_actor(mv_spec::NodeId(0)),
        ActorModelAction::SelectRandom { actor, .. } => *actor,
    };
    let i = usize::from(id);
    let nodes = model.cfg.ring.nodes as usize;
    if i < nodes {
        Who::Node(i)
    } else {
        Who::Client(i - nodes)
    }
}

fn observe(model: &MvModel, s: &State, w: Who) -> After {
    match w {
        Who::Node(n) => After::Node(model.observe_node(s, n)),
        Who::Client(c) => After::Client(model.observe_client(s, c)),
    }
}

/// Whether `after` is the model's observation of `w` in `s`: the one projection
/// (`MvModel::observe_node`, `observe_client`), every field of it, so that nothing the
/// observation carries (timers, base hints) can be left out of the comparison. The one
/// exception is a node's reads, which traces written before they were observed lack: such a
/// line says nothing about them.
fn observed_as(model: &MvModel, s: &State, w: Who, after: &After) -> bool {
    observe_like(model, s, w, after) == *after
}

/// The model's observation of `w` in `s`, without the reads when `after` has none (see
/// [`observed_as`]), so that a mismatch lists only what the trace line says.
fn observe_like(model: &MvModel, s: &State, w: Who, after: &After) -> After {
    match (observe(model, s, w), after) {
        (After::Node(mut mine), After::Node(theirs)) if theirs.limit_reads.is_none() => {
            mine.limit_reads = None;
            After::Node(mine)
        }
        (mine, _) => mine,
    }
}

/// Whether the network holds `msg` from `src` to `dst`.
fn in_flight(s: &State, src: Id, dst: Id, msg: &Msg) -> bool {
    s.network
        .iter_deliverable()
        .any(|e| e.src == src && e.dst == dst && e.msg == msg)
}

/// Whether `a` is one of `model.actions(s)`. A delivery (or a drop) is enabled exactly when
/// its envelope is in flight: `MvModel::actions` filters only crashes, data loss and timers,
/// and its network is unordered. The other kinds are rare enough to ask the model.
fn enabled(model: &MvModel, s: &State, a: &Action, scratch: &mut Vec<Action>) -> bool {
    match a {
        ActorModelAction::Deliver { src, dst, msg } => in_flight(s, *src, *dst, msg),
        ActorModelAction::Drop(e) => {
            model.cfg.lossy && model.drops_used(s) < model.cfg.drops && in_flight(s, e.src, e.dst, &e.msg)
        }
        _ => {
            scratch.clear();
            model.actions(s, scratch);
            scratch.contains(a)
        }
    }
}

/// Whether delivering `msg` to `dst` would leave the receiver as it is and send nothing,
/// asked of the actor directly: the message need not be in flight.
fn ignored_by_receiver(model: &MvModel, s: &State, src: Id, dst: Id, msg: &Msg) -> bool {
    let i = usize::from(dst);
    let mut state = Cow::Borrowed(&*s.actor_states[i]);
    let mut out = Out::new();
    stateright::actor::Actor::on_msg(&model.inner.actors[i], dst, &mut state, src, msg.clone(), &mut out);
    matches!(state, Cow::Borrowed(_)) && out.is_empty()
}

/// The result of taking an action. Short-lived and never stored, so the size difference
/// between its variants costs nothing, while boxing the state would cost an allocation per step.
#[allow(clippy::large_enum_variant)]
enum Taken {
    /// The model moved to a new state.
    Next(State),
    /// The action is enabled but changes nothing (see the module docs).
    Stutter,
}

/// Why an action cannot be taken. What the model could do instead is worked out only for
/// the report: in a partial search most candidates are blocked, and listing their enabled
/// steps would cost more than the search.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Blocked {
    NotEnabled,
    Redelivered,
}

/// Takes `a` in `s`, or says why it cannot be taken. `delivered` holds the envelopes earlier
/// lines delivered, to recognise a duplicate.
fn take(
    model: &MvModel,
    s: &State,
    a: &Action,
    delivered: &HashSet<(Id, Id, Msg)>,
    scratch: &mut Vec<Action>,
) -> Result<Taken, Blocked> {
    if !enabled(model, s, a, scratch) {
        if let ActorModelAction::Deliver { src, dst, msg } = a {
            if delivered.contains(&(*src, *dst, msg.clone())) && !s.crashed[usize::from(*dst)] {
                return if ignored_by_receiver(model, s, *src, *dst, msg) {
                    Ok(Taken::Stutter)
                } else {
                    Err(Blocked::Redelivered)
                };
            }
        }
        return Err(Blocked::NotEnabled);
    }
    match model.next_state(s, a.clone()) {
        Some(next) => Ok(Taken::Next(next)),
        None => {
            // Stateright enumerates deliveries to a crashed node and ignores them; the node is
            // not there to consume the message, so that is no step at all.
            let down = match a {
                ActorModelAction::Deliver { dst, .. } => s.crashed[usize::from(*dst)],
                _ => false,
            };
            if down {
                Err(Blocked::NotEnabled)
            } else {
                Ok(Taken::Stutter)
            }
        }
    }
}

/// Validates a trace: see the module docs.
pub fn validate(header: &TraceHeader, lines: &[TraceLine], opts: &Options) -> Result<Validated, Divergence> {
    let model = match model_config(&header.config) {
        Ok(cfg) => cfg.into_model(),
        Err(e) => {
            let first = lines.first();
            return Err(Divergence {
                index: 0,
                seq: first.map_or(0, |l| l.seq),
                last_matched_seq: None,
                step: first.map(|l| l.step.clone()),
                total: lines.len(),
                reason: Reason::Config(e),
            });
        }
    };
    validate_on(&model, lines, opts)
}

fn divergence(lines: &[TraceLine], index: usize, reason: Reason) -> Divergence {
    Divergence {
        index,
        seq: lines[index].seq,
        last_matched_seq: index.checked_sub(1).map(|i| lines[i].seq),
        step: Some(lines[index].step.clone()),
        total: lines.len(),
        reason,
    }
}

fn enabled_steps(model: &MvModel, s: &State) -> Vec<String> {
    let mut all = Vec::new();
    model.actions(s, &mut all);
    let mut out: Vec<String> = all
        .into_iter()
        .filter(|a| model.next_state(s, a.clone()).is_some())
        .map(|a| model.describe(&a))
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Every state reachable from `from` in exactly `steps` actions that change the state.
fn reachable(model: &MvModel, from: Vec<State>, steps: u64, scratch: &mut Vec<Action>) -> Result<Vec<State>, usize> {
    let mut layer = from;
    for _ in 0..steps {
        let mut seen = HashSet::new();
        let mut next_layer = Vec::new();
        for s in &layer {
            scratch.clear();
            model.actions(s, scratch);
            for a in scratch.drain(..) {
                if let Some(n) = model.next_state(s, a) {
                    if seen.insert(n.clone()) {
                        next_layer.push(n);
                    }
                }
            }
            if next_layer.len() > MAX_SEARCH {
                return Err(next_layer.len());
            }
        }
        layer = next_layer;
    }
    Ok(layer)
}

/// Validates a trace on an already built model.
pub fn validate_on(model: &MvModel, lines: &[TraceLine], opts: &Options) -> Result<Validated, Divergence> {
    search(model, lines, opts).map(|(v, _)| v)
}

/// As [`validate_on`], with the model states that agree with the whole trace: one for a
/// strict trace, possibly several when `--partial` left unrecorded steps ambiguous.
pub fn validate_to_end(
    model: &MvModel,
    lines: &[TraceLine],
    opts: &Options,
) -> Result<(Validated, Vec<State>), Divergence> {
    search(model, lines, opts)
}

/// The search of the module docs: the verdict, and the frontier after the last line.
fn search(model: &MvModel, lines: &[TraceLine], opts: &Options) -> Result<(Validated, Vec<State>), Divergence> {
    let mut frontier: Vec<State> = model.init_states();
    let mut scratch = Vec::new();
    let mut delivered: HashSet<(Id, Id, Msg)> = HashSet::new();
    let (mut hidden, mut peak) = (0usize, 1usize);
    let mut prev_seq = 0u64;
    let mut violations = Vec::new();
    let mut undecided: u64 = mv_spec::props::PROPERTIES
        .iter()
        .enumerate()
        .filter(|(_, p)| p.kind == mv_spec::props::Kind::Always)
        .fold(0, |m, (i, _)| m | 1 << i);
    for (i, line) in lines.iter().enumerate() {
        let fail = |reason| divergence(lines, i, reason);
        let a = model.from_step(&line.step).map_err(|e| fail(Reason::Unknown(e)))?;
        // `trace::read` guarantees increasing `seq`; lines built by hand may not have it.
        let gap = line.seq.saturating_sub(prev_seq).saturating_sub(1);
        prev_seq = line.seq;
        if gap > 0 {
            let limit = opts.partial.ok_or_else(|| fail(Reason::Missing { gap }))?;
            if gap > limit as u64 {
                return Err(fail(Reason::GapTooLarge { gap, limit }));
            }
            frontier =
                reachable(model, frontier, gap, &mut scratch).map_err(|states| fail(Reason::SearchLimit { states }))?;
            hidden += gap as usize;
            if frontier.is_empty() {
                return Err(fail(Reason::GapUnfillable { gap }));
            }
        }
        let w = who(model, &a);
        let mut next_frontier = Vec::with_capacity(frontier.len());
        // With one candidate there is nothing to deduplicate; skip hashing states.
        let mut kept: Option<HashSet<State>> = (frontier.len() > 1).then(HashSet::new);
        for s in &frontier {
            let after = match take(model, s, &a, &delivered, &mut scratch) {
                Ok(Taken::Next(n)) => n,
                Ok(Taken::Stutter) => s.clone(),
                Err(_) => continue,
            };
            if observed_as(model, &after, w, &line.after) {
                let fresh = kept.as_mut().is_none_or(|k| k.insert(after.clone()));
                if fresh {
                    next_frontier.push(after);
                }
            }
        }
        if next_frontier.is_empty() {
            return Err(fail(explain(model, &frontier, &a, w, &line.after, &delivered)));
        }
        if let ActorModelAction::Deliver { src, dst, msg } = a {
            delivered.insert((src, dst, msg));
        }
        peak = peak.max(next_frontier.len());
        frontier = next_frontier;
        undecided = record_violations(model, &frontier, undecided, i, &mut violations);
    }
    let quiescent = frontier.iter().any(|s| model.quiescent(s));
    let v = Validated {
        events: lines.len(),
        hidden,
        peak_frontier: peak,
        quiescent,
        violations,
    };
    Ok((v, frontier))
}

/// Records, as violated at line `i`, each property of `undecided` that no state of the
/// frontier meets (with several candidate states, one that meets it keeps it open: the
/// trace does not say which happened). Returns the properties still undecided.
fn record_violations(
    model: &MvModel,
    frontier: &[State],
    undecided: u64,
    i: usize,
    out: &mut Vec<(&'static str, usize)>,
) -> u64 {
    if undecided == 0 {
        return 0;
    }
    let held = frontier.iter().fold(0, |m, s| m | model.conditions(s, undecided));
    let violated = undecided & !held;
    for (bit, p) in mv_spec::props::PROPERTIES.iter().enumerate() {
        if violated & (1 << bit) != 0 {
            out.push((p.id, i));
        }
    }
    undecided & held
}

/// Validates the trace of a run that ended: as [`validate_on`], and the model must be
/// quiescent after the last line. Without this a trace is accepted as a prefix of a run,
/// so work the implementation never did (a view write it never sent, a hint it never
/// replayed) goes unnoticed.
pub fn validate_complete(model: &MvModel, lines: &[TraceLine], opts: &Options) -> Result<Validated, Divergence> {
    let (v, frontier) = search(model, lines, opts)?;
    if v.quiescent {
        return Ok(v);
    }
    Err(Divergence {
        index: lines.len(),
        seq: lines.last().map_or(0, |l| l.seq),
        last_matched_seq: lines.last().map(|l| l.seq),
        step: None,
        total: lines.len(),
        reason: Reason::Incomplete {
            pending: pending_work(model, &frontier[0]),
        },
    })
}

/// What keeps `s` from being quiescent: nodes down, queued entries, and the deliveries and
/// timers that would still change something.
fn pending_work(model: &MvModel, s: &State) -> Vec<String> {
    let mut out = Vec::new();
    for n in 0..model.cfg.ring.nodes as usize {
        let o = model.observe_node(s, n);
        if !o.up {
            out.push(format!("n{n} is down"));
        }
        out.extend(o.commitlog.iter().map(|e| format!("n{n} commitlog {}", e.write)));
        out.extend(o.batchlog.iter().map(|e| format!("n{n} batchlog {}", e.batch)));
        out.extend(o.hints.iter().map(|h| format!("n{n} hint ->{} {}", h.target, h.batch)));
        out.extend(
            o.coord_batchlog
                .iter()
                .map(|e| format!("n{n} coord-batchlog {}", e.write)),
        );
    }
    let mut actions = Vec::new();
    model.actions(s, &mut actions);
    let mut steps: Vec<String> = actions
        .into_iter()
        .filter(|a| matches!(a, ActorModelAction::Deliver { .. } | ActorModelAction::Timeout(..)))
        .filter(|a| model.next_state(s, a.clone()).is_some())
        .map(|a| format!("can still take: {}", model.describe(&a)))
        .collect();
    steps.sort();
    steps.dedup();
    out.extend(steps);
    out
}

/// Why no state of `frontier` can take `a` and then observe `actual`: the closest observation
/// (fewest differing lines) if some state can take the step, otherwise why it cannot. Runs
/// once, on failure, so the search itself never renders anything.
fn explain(
    model: &MvModel,
    frontier: &[State],
    a: &Action,
    w: Who,
    actual: &After,
    delivered: &HashSet<(Id, Id, Msg)>,
) -> Reason {
    let mut scratch = Vec::new();
    let mut closest: Option<(usize, Reason)> = None;
    let mut blocked = None;
    for s in frontier {
        let after = match take(model, s, a, delivered, &mut scratch) {
            Ok(Taken::Next(n)) => Cow::Owned(n),
            Ok(Taken::Stutter) => Cow::Borrowed(s),
            Err(b) => {
                blocked.get_or_insert((b, s));
                continue;
            }
        };
        let size = diff_size(model, &after, w, actual);
        if closest.as_ref().is_none_or(|(best, _)| size < *best) {
            closest = Some((size, mismatch(model, &after, w, actual)));
        }
    }
    match (closest, blocked) {
        (Some((_, reason)), _) => reason,
        (None, Some((Blocked::Redelivered, _))) => Reason::Redelivered,
        (None, Some((Blocked::NotEnabled, s))) => Reason::NotEnabled {
            enabled: enabled_steps(model, s),
        },
        (None, None) => unreachable!("the frontier is never empty"),
    }
}

/// Records a model path as an NDJSON trace: a header, then one line per action with the
/// observation of its actor after it. Fails at the first action that is not enabled.
pub fn record(model: &MvModel, actions: &[Action], seed: Option<u64>) -> Result<(TraceHeader, Vec<TraceLine>), String> {
    let mut state = model.init_states().remove(0);
    let mut scratch = Vec::new();
    let mut lines = Vec::with_capacity(actions.len());
    for (i, a) in actions.iter().enumerate() {
        match take(model, &state, a, &HashSet::new(), &mut scratch) {
            Err(_) => {
                return Err(format!(
                    "step {} ({}) is not possible in this model",
                    i + 1,
                    model.describe(a)
                ))
            }
            Ok(Taken::Stutter) => {}
            Ok(Taken::Next(next)) => state = next,
        }
        let step = model.to_step(a);
        lines.push(TraceLine {
            seq: i as u64 + 1,
            node: step.actor().to_string(),
            after: observe(model, &state, who(model, a)),
            step,
        });
    }
    Ok((header(model, seed), lines))
}

/// A random run of the model: up to `steps` actions, each chosen uniformly among the
/// enabled actions that change the state, from a seeded generator. Same seed, same run.
/// For tests and benchmarks; the run stops early when nothing is enabled.
pub fn random_run(model: &MvModel, seed: u64, steps: usize) -> Vec<Action> {
    random_walk(model, &mut SplitMix64::new(seed), steps, |_| true)
}

/// The one random walker: from the initial state, up to `steps` actions, each chosen
/// uniformly among the enabled actions that change the state, drawing one number from `rng`
/// per step. `visit` sees every state of the walk, the initial one first, and ends the walk
/// by returning `false`. Returns the actions taken. `random_run` and `mvcheck simulate`
/// both walk with it, so a seed means the same walk to both.
pub fn random_walk(
    model: &MvModel,
    rng: &mut SplitMix64,
    steps: usize,
    mut visit: impl FnMut(&State) -> bool,
) -> Vec<Action> {
    let mut state = model.init_states().remove(0);
    let mut run = Vec::new();
    let mut enabled = Vec::new();
    if !visit(&state) {
        return run;
    }
    for _ in 0..steps {
        enabled.clear();
        model.actions(&state, &mut enabled);
        let mut moves: Vec<(Action, State)> = enabled
            .drain(..)
            .filter_map(|a| model.next_state(&state, a.clone()).map(|n| (a, n)))
            .collect();
        if moves.is_empty() {
            break;
        }
        let i = (rng.next_u64() % moves.len() as u64) as usize;
        let (a, next) = moves.swap_remove(i);
        run.push(a);
        state = next;
        if !visit(&state) {
            break;
        }
    }
    run
}

fn label(w: Who) -> String {
    match w {
        Who::Node(n) => format!("n{n}"),
        Who::Client(c) => format!("c{c}"),
    }
}

fn diff_lines(expected: &Lines, actual: &Lines) -> Vec<String> {
    let mut out = Vec::new();
    for (k, v) in expected {
        match actual.get(k) {
            None => out.push(format!("- {k}: {v}")),
            Some(a) if a != v => out.push(format!("~ {k}: {v}  =>  {a}")),
            _ => {}
        }
    }
    for (k, v) in actual {
        if !expected.contains_key(k) {
            out.push(format!("+ {k}: {v}"));
        }
    }
    out
}

fn diff_size(model: &MvModel, s: &State, w: Who, actual: &After) -> usize {
    let style = model.style();
    diff_lines(
        &observation_lines(&label(w), &observe_like(model, s, w, actual), style),
        &observation_lines(&label(w), actual, style),
    )
    .len()
}

fn mismatch(model: &MvModel, s: &State, w: Who, actual: &After) -> Reason {
    let who = label(w);
    let style = model.style();
    let expected = observe_like(model, s, w, actual);
    let mut diff = match (&expected, actual) {
        (After::Node(_), After::Client(_)) | (After::Client(_), After::Node(_)) => {
            vec![format!(
                "~ {who}: a node's observation and a client's are not comparable"
            )]
        }
        _ => diff_lines(
            &observation_lines(&who, &expected, style),
            &observation_lines(&who, actual, style),
        ),
    };
    if diff.is_empty() {
        // Same entries as sets: the trace lists some out of order or twice.
        diff.push(format!(
            "~ {who}: the same entries, but not in the documented order (ascending, each once)"
        ));
    }
    Reason::Observation { actor: who, diff }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mv_spec::trace;

    fn model(variant: Variant) -> MvModel {
        MvModelCfg::for_variant(variant).into_model()
    }

    #[test]
    fn configs_round_trip_through_the_header() {
        for v in Variant::ALL {
            let cfg = MvModelCfg::for_variant(v);
            // A trace is replayed without a drop budget or the hint-resend bound, whatever
            // the search's were.
            let expected = MvModelCfg {
                drops: u8::MAX,
                hint_resend_bound: false,
                ..cfg.clone()
            };
            assert_eq!(model_config(&trace_config(&cfg)).unwrap(), expected, "{}", v.name());
        }
    }

    /// A trace is replayed without the bounds that keep searches finite: however many
    /// messages it lost, however often it resent a hint.
    #[test]
    fn a_trace_is_replayed_without_the_search_bounds() {
        let cfg = model_config(&trace_config(&MvModelCfg::for_variant(Variant::Cassandra40))).unwrap();
        assert_eq!((cfg.drops, cfg.hint_resend_bound), (u8::MAX, false));
        assert!(MvModelCfg::for_variant(Variant::Cassandra40).hint_resend_bound);
    }

    #[test]
    fn a_bad_config_is_named() {
        let mut c = trace_config(&MvModelCfg::for_variant(Variant::ALL[0]));
        c.rf = 9;
        assert!(model_config(&c).unwrap_err().contains("--rf"));
        c.rf = 1;
        c.workload = "chaos".into();
        assert!(model_config(&c).unwrap_err().contains("\"chaos\""));
    }

    /// The shortcut for deliveries agrees with the model's own list of enabled actions, for
    /// every enabled action and for deliveries that are not.
    #[test]
    fn the_enabled_shortcut_agrees_with_the_model() {
        let mut cfg = MvModelCfg::for_variant(Variant::Cassandra40);
        cfg.lossy = true;
        cfg.drops = 3;
        cfg.crashes = 2;
        let m = cfg.into_model();
        let mut scratch = Vec::new();
        let mut checked = 0;
        for seed in 0..20 {
            let run = random_run(&m, seed, 300);
            let mut s = m.init_states().remove(0);
            let mut seen: Vec<Action> = Vec::new();
            for a in &run {
                let mut all = Vec::new();
                m.actions(&s, &mut all);
                seen.extend(all.iter().cloned());
                for b in &seen {
                    assert_eq!(enabled(&m, &s, b, &mut scratch), all.contains(b), "{}", m.describe(b));
                    checked += 1;
                }
                s = m.next_state(&s, a.clone()).unwrap();
                seen.sort();
                seen.dedup();
            }
        }
        assert!(checked > 1_500, "{checked}");
    }

    #[test]
    fn random_runs_are_reproducible_and_validate() {
        let m = model(Variant::ALL[0]);
        let run = random_run(&m, 7, 200);
        assert!(run.len() > 10, "the default workload takes more than 10 steps");
        assert_eq!(run, random_run(&m, 7, 200));
        let (h, lines) = record(&m, &run, Some(7)).unwrap();
        assert_eq!(
            validate(&h, &lines, &Options::default()),
            Ok(Validated {
                events: run.len(),
                hidden: 0,
                peak_frontier: 1,
                quiescent: run.len() < 200,
                // A correct variant's run breaks nothing.
                violations: vec![],
            })
        );
        // Through the text form too.
        let t = trace::read(&trace::to_ndjson(&h, &lines)).unwrap();
        assert!(validate(&t.header, &t.lines, &Options::default()).is_ok());
    }
}
