//! Deterministic, seeded simulation of a cluster of [`crate::node`]s, recorded as an NDJSON
//! trace (`mv_spec::trace`) that `mvcheck validate` replays on the model.
//!
//! A run is a pure function of its [`ClusterConfig`] and [`SimOptions`]: the scheduler draws
//! every choice from one [`SplitMix64`] seeded by `seed`, and everything it iterates over is
//! ordered (vectors in send order, `BTreeSet`s), so the same seed gives the same trace byte
//! for byte.
//!
//! At each step the scheduler picks, with fixed weights, among the pending deliveries (any
//! message in flight, which is how delays and reordering arise), the timers whose guards
//! allow them, restarts of nodes that are down, the repairs and view repairs R4 and R6 allow,
//! the clock step of a workload that writes a TTL (once, counted as progress so that a run
//! reaches its deadline), and the faults the configuration allows: crashes, permanent data
//! loss, message loss (`lossy`) and duplication. A pick that turns out not to be a step (a delivery the node
//! does not take) is struck off and another is drawn. The run ends after `max_steps` steps,
//! or once no delivery, timer, restart or repair is left: the faults alone do not keep a run
//! going. A run that ends that way with every node
//! up and no queued work is quiescent, and the properties of `specs/properties.md` are
//! evaluated on it.

mod cluster;
mod metrics;
pub mod timed;

pub use cluster::{Cluster, ClusterConfig, Envelope, StepError, ViewRepairPlan};
pub use metrics::{Metrics, Report};
pub use mv_spec::rng::SplitMix64;
pub use mv_spec::workload::{ClientScript, Workload};

use mv_spec::props::{Kind, PROPERTIES};
use mv_spec::trace::{After, Step, TraceHeader, TraceLine};
use mv_spec::Timer;

/// How a run is scheduled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SimOptions {
    /// The scheduler's seed.
    pub seed: u64,
    /// At most this many steps.
    pub max_steps: u64,
    /// Let the network duplicate messages in flight.
    pub duplicate: bool,
    /// Record the trace (off only to measure the protocol core alone).
    pub record: bool,
}

impl SimOptions {
    /// A recorded run of at most `max_steps` steps, without duplication.
    pub fn new(seed: u64, max_steps: u64) -> Self {
        SimOptions {
            seed,
            max_steps,
            duplicate: false,
            record: true,
        }
    }
}

/// A finished run.
#[derive(Clone, Debug)]
pub struct SimRun {
    /// The trace header.
    pub header: TraceHeader,
    /// One line per step.
    pub lines: Vec<TraceLine>,
    /// Steps taken.
    pub steps: u64,
    /// Whether the run ended quiescent.
    pub quiescent: bool,
    /// The `always` properties violated by the final state (evaluated only when it is
    /// quiescent, except P-durable, which holds on every state).
    pub violated: Vec<&'static str>,
    /// A node broke the protocol or its durability discipline; the run stopped there.
    pub error: Option<String>,
    /// Messages the network duplicated (not steps, so not in the trace).
    pub duplicated: u64,
    /// The final cluster.
    pub cluster: Cluster,
}

impl SimRun {
    /// The trace as NDJSON.
    pub fn ndjson(&self) -> String {
        mv_spec::trace::to_ndjson(&self.header, &self.lines)
    }
}

/// One thing the scheduler may do.
#[derive(Clone, Copy, Debug)]
enum Choice {
    Deliver(usize),
    Drop(usize),
    Duplicate(usize),
    Fire(usize, Timer),
    Crash(usize),
    Recover(usize),
    DataLoss(usize),
    Repair(usize, mv_spec::Key),
    ViewRepair(usize, mv_spec::Key),
    HintWindow(usize),
    Expire,
}

impl Choice {
    /// Deliveries, timers and restarts are the work of the system; the rest are faults. The
    /// clock step counts as progress: time passes whether or not anything else happens, so a
    /// run of a TTL workload does not end before its deadline.
    fn is_progress(&self) -> bool {
        matches!(
            self,
            Choice::Deliver(_)
                | Choice::Fire(..)
                | Choice::Recover(_)
                | Choice::Repair(..)
                | Choice::ViewRepair(..)
                | Choice::Expire
        )
    }

    fn weight(&self) -> u64 {
        match self {
            Choice::Deliver(_) => 16,
            Choice::Fire(_, Timer::Generate(_) | Timer::ApplyBase(_)) => 8,
            Choice::Fire(..) | Choice::Recover(_) | Choice::Repair(..) | Choice::ViewRepair(..) | Choice::Expire => 4,
            Choice::Drop(_) | Choice::Duplicate(_) | Choice::Crash(_) | Choice::DataLoss(_) | Choice::HintWindow(_) => {
                1
            }
        }
    }
}

/// The most copies of one message the network holds.
const MAX_COPIES: u8 = 3;

fn choices(c: &Cluster, opts: &SimOptions) -> Vec<Choice> {
    let mut out = Vec::new();
    for (i, e) in c.in_flight().iter().enumerate() {
        let dst_up = match e.dst {
            crate::node::Addr::Node(n) => c.nodes()[n.0 as usize].is_up(),
            crate::node::Addr::Client(_) => true,
        };
        if dst_up {
            out.push(Choice::Deliver(i));
        }
        if c.droppable(e) {
            out.push(Choice::Drop(i));
        }
        if opts.duplicate && e.copies < MAX_COPIES {
            out.push(Choice::Duplicate(i));
        }
    }
    for (n, node) in c.nodes().iter().enumerate() {
        if node.is_up() {
            for &t in c.timers(n) {
                if c.timer_may_fire(n, t) {
                    out.push(Choice::Fire(n, t));
                }
            }
        } else {
            out.push(Choice::Recover(n));
        }
        if c.may_crash(n) {
            out.push(Choice::Crash(n));
        }
        if c.may_lose_data(n) {
            out.push(Choice::DataLoss(n));
        }
        if c.hint_window_may_pass(n) {
            out.push(Choice::HintWindow(n));
        }
    }
    for (n, k) in c.due_repairs() {
        out.push(Choice::Repair(n, k));
    }
    for (n, k) in c.due_view_repairs() {
        out.push(Choice::ViewRepair(n, k));
    }
    if c.expiry_pending() {
        out.push(Choice::Expire);
    }
    out
}

/// Runs one simulation.
pub fn run(cfg: ClusterConfig, opts: &SimOptions) -> Result<SimRun, String> {
    let header = TraceHeader::new(cfg.trace_config(), Some(opts.seed));
    let mut cluster = Cluster::new(cfg)?;
    let mut rng = SplitMix64::new(opts.seed);
    let mut lines = Vec::new();
    let mut steps = 0u64;
    let mut error = None;
    let mut duplicated = 0u64;
    // Duplications and losses of redundant copies are not steps; bound them too.
    let mut events = 0u64;
    'run: while steps < opts.max_steps && events < opts.max_steps.saturating_mul(4) {
        events += 1;
        let mut cands = choices(&cluster, opts);
        loop {
            if !cands.iter().any(Choice::is_progress) {
                break 'run;
            }
            let total: u64 = cands.iter().map(Choice::weight).sum();
            let mut x = rng.below(total);
            let i = cands
                .iter()
                .position(|c| {
                    let w = c.weight();
                    if x < w {
                        true
                    } else {
                        x -= w;
                        false
                    }
                })
                .expect("x < total weight");
            let choice = cands[i];
            let step = match choice {
                Choice::Duplicate(j) => {
                    duplicated += 1;
                    cluster.duplicate(j);
                    continue 'run;
                }
                Choice::Drop(j) if cluster.in_flight()[j].copies > 1 => {
                    // Another copy is still on the way: nothing is lost.
                    cluster.lose_copy(j);
                    continue 'run;
                }
                _ => step_of(&cluster, choice),
            };
            match cluster.apply(&step) {
                Ok(()) => {}
                Err(StepError::NotEnabled(_)) => {
                    cands.swap_remove(i);
                    continue;
                }
                Err(StepError::Violation(v)) => error = Some(format!("step {}: {step}: {v}", steps + 1)),
            }
            steps += 1;
            if opts.record {
                lines.push(line(&cluster, steps, step));
            }
            if error.is_some() {
                break 'run;
            }
            continue 'run;
        }
    }
    let (quiescent, violated) = final_verdicts(&cluster);
    Ok(SimRun {
        header,
        lines,
        steps,
        quiescent,
        violated,
        error,
        duplicated,
        cluster,
    })
}

/// Whether a finished run's cluster is quiescent, and the `always` properties its final
/// state violates, each judged where it applies (`PropertyDef::scope`).
pub(crate) fn final_verdicts(cluster: &Cluster) -> (bool, Vec<&'static str>) {
    let quiescent = cluster.quiescent();
    let obs = cluster.observe();
    let acked = obs.writes.iter().any(|w| w.outcome == mv_spec::obs::Outcome::Ok);
    let violated = PROPERTIES
        .iter()
        .filter(|p| p.kind == Kind::Always && p.applies(quiescent, acked) && !(p.holds)(&obs))
        .map(|p| p.id)
        .collect();
    (quiescent, violated)
}

/// The step a choice stands for.
fn step_of(c: &Cluster, choice: Choice) -> Step {
    let node = |n: usize| format!("n{n}");
    match choice {
        Choice::Deliver(i) | Choice::Drop(i) | Choice::Duplicate(i) => {
            let e = &c.in_flight()[i];
            let (src, dst, msg) = (e.src.to_string(), e.dst.to_string(), e.msg.clone());
            if matches!(choice, Choice::Drop(_)) {
                Step::Drop { src, dst, msg }
            } else {
                Step::Deliver { src, dst, msg }
            }
        }
        Choice::Fire(n, timer) => Step::Timeout { node: node(n), timer },
        Choice::Crash(n) => Step::Crash { node: node(n) },
        Choice::Recover(n) => Step::Recover { node: node(n) },
        Choice::DataLoss(n) => Step::DataLoss { node: node(n) },
        Choice::Repair(n, key) => Step::Repair { node: node(n), key },
        Choice::ViewRepair(n, key) => Step::ViewRepair { node: node(n), key },
        Choice::HintWindow(n) => Step::HintWindow { node: node(n) },
        Choice::Expire => Step::Expire { node: node(0) },
    }
}

/// The trace line of a step just taken: the observed actor after it.
pub fn line(c: &Cluster, seq: u64, step: Step) -> TraceLine {
    let actor = step.actor().to_string();
    let after = match crate::node::Addr::parse(&actor) {
        Some(crate::node::Addr::Client(i)) => After::Client(c.observe_client(i as usize)),
        Some(crate::node::Addr::Node(n)) => After::Node(c.observe_node(n.0 as usize)),
        None => unreachable!("steps built by the simulation name n<i> or c<i>"),
    };
    TraceLine {
        seq,
        node: actor,
        step,
        after,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::Variant;

    #[test]
    fn same_seed_gives_byte_identical_traces() {
        for v in Variant::ALL {
            let mut cfg = ClusterConfig::for_variant(v);
            cfg.lossy = true;
            cfg.crashes = 2;
            cfg.data_loss = 1;
            let mut opts = SimOptions::new(42, 500);
            opts.duplicate = true;
            let a = run(cfg.clone(), &opts).unwrap().ndjson();
            let b = run(cfg.clone(), &opts).unwrap().ndjson();
            assert_eq!(a, b, "{}", v.name());
            assert!(a.lines().count() > 1, "{}: no steps", v.name());
        }
    }

    #[test]
    fn different_seeds_explore_different_schedules() {
        let cfg = ClusterConfig::for_variant(Variant::Cassandra40);
        let traces: std::collections::BTreeSet<String> = (0..20)
            .map(|s| run(cfg.clone(), &SimOptions::new(s, 500)).unwrap().ndjson())
            .collect();
        assert!(traces.len() > 10, "only {} distinct traces from 20 seeds", traces.len());
    }

    /// Each fault the simulation is asked for really happens: a run with fewer faults is always
    /// a behaviour the model allows, so trace validation alone would not notice a fault
    /// injector that stopped injecting.
    #[test]
    fn every_fault_kind_asked_for_occurs() {
        let mut cfg = ClusterConfig::for_variant(Variant::Cassandra40);
        cfg.lossy = true;
        cfg.crashes = 2;
        cfg.data_loss = 1;
        let (mut drops, mut crashes, mut recovers, mut losses, mut dups) = (0, 0, 0, 0, 0);
        for seed in 0..20 {
            let mut opts = SimOptions::new(seed, 2_000);
            opts.duplicate = true;
            let r = run(cfg.clone(), &opts).unwrap();
            assert_eq!(r.error, None, "seed {seed}");
            dups += r.duplicated;
            for l in &r.lines {
                match l.step {
                    Step::Drop { .. } => drops += 1,
                    Step::Crash { .. } => crashes += 1,
                    Step::Recover { .. } => recovers += 1,
                    Step::DataLoss { .. } => losses += 1,
                    _ => {}
                }
            }
        }
        assert!(
            drops > 0 && crashes > 0 && recovers > 0 && losses > 0 && dups > 0,
            "drops {drops} crashes {crashes} recovers {recovers} data losses {losses} duplicates {dups}"
        );
        // And none that was not asked for.
        let mut quiet = ClusterConfig::for_variant(Variant::Cassandra40);
        quiet.crashes = 0;
        for seed in 0..20 {
            let r = run(quiet.clone(), &SimOptions::new(seed, 2_000)).unwrap();
            assert_eq!(r.duplicated, 0);
            assert!(
                r.lines
                    .iter()
                    .all(|l| !matches!(l.step, Step::Drop { .. } | Step::Crash { .. } | Step::DataLoss { .. })),
                "seed {seed}: a fault nobody asked for"
            );
        }
    }

    /// Clients retry when asked to, and only then: some run with `retries` sends a second
    /// attempt (C3) and ends with every property holding; no run without it does.
    #[test]
    fn clients_retry_only_when_asked() {
        let retried = |r: &SimRun| {
            r.lines.iter().any(|l| {
                matches!(&l.step, Step::Deliver { msg: mv_spec::Msg::Write { write, .. }, .. } if write.attempt() > 0)
            })
        };
        let mut cfg = ClusterConfig::for_variant(Variant::Cassandra40);
        cfg.retries = 1;
        let mut seen = 0;
        for seed in 0..50 {
            let r = run(cfg.clone(), &SimOptions::new(seed, 2_000)).unwrap();
            assert_eq!(r.error, None, "seed {seed}");
            assert!(r.violated.is_empty(), "seed {seed}: {:?}", r.violated);
            seen += usize::from(retried(&r));
        }
        assert!(seen > 0, "no run out of 50 retried a write");
        cfg.retries = 0;
        for seed in 0..50 {
            let r = run(cfg.clone(), &SimOptions::new(seed, 2_000)).unwrap();
            assert!(!retried(&r), "seed {seed}: a retry nobody asked for");
        }
    }

    /// Every broken variant's anomaly shows up in the simulation at the variant's default
    /// configuration, not only when a model path is replayed on the implementation.
    #[test]
    fn every_broken_variant_shows_its_anomaly_in_simulation() {
        for v in Variant::ALL {
            let Some(property) = v.anomaly_property() else { continue };
            let cfg = ClusterConfig::for_variant(v);
            let seed = (0..2_000u64).find(|&seed| {
                let r = run(cfg.clone(), &SimOptions::new(seed, 1_000)).unwrap();
                r.violated.contains(&property)
            });
            assert!(seed.is_some(), "{}: no seed in 0..2000 shows {property}", v.name());
        }
    }

    /// The simulation exercises the mechanisms the witnesses need: over a few seeds of a
    /// correct variant's default, every history flag is set by some run.
    #[test]
    fn simulation_reaches_every_mechanism() {
        use mv_spec::obs::History;
        for v in [Variant::Cassandra30, Variant::Cassandra40] {
            let cfg = ClusterConfig::for_variant(v);
            let mut seen = History::default();
            for seed in 0..300 {
                let r = run(cfg.clone(), &SimOptions::new(seed, 1_000)).unwrap();
                assert!(r.violated.is_empty(), "{} seed {seed}: {:?}", v.name(), r.violated);
                seen.set(r.cluster.history());
            }
            for (flag, name) in History::ALL {
                assert!(seen.has(flag), "{}: no run set {name}", v.name());
            }
        }
    }

    /// Takes enabled progress steps (deliveries, timers, restarts, repairs) other than
    /// `held` ones, the first in canonical order each time, until `done` or nothing is left;
    /// `false` if it never got there.
    fn drive_holding(c: &mut Cluster, held: impl Fn(&Step) -> bool, done: impl Fn(&Cluster) -> bool) -> bool {
        for _ in 0..10_000 {
            if done(c) {
                return true;
            }
            let next = c.enabled_steps().into_iter().find(|s| {
                !held(s)
                    && matches!(
                        s,
                        Step::Deliver { .. } | Step::Timeout { .. } | Step::Recover { .. } | Step::Repair { .. }
                    )
            });
            let Some(step) = next else { return done(c) };
            c.apply(&step).unwrap_or_else(|e| panic!("{step}: {e}"));
        }
        false
    }

    fn drive(c: &mut Cluster, done: impl Fn(&Cluster) -> bool) -> bool {
        drive_holding(c, |_| false, done)
    }

    /// Holds back every view write, so that a base write completes while its view update is
    /// still on the wire.
    fn view_writes(s: &Step) -> bool {
        matches!(
            s,
            Step::Deliver {
                msg: mv_spec::Msg::ViewWrite { .. },
                ..
            }
        )
    }

    fn view_repair_of(c: &mut Cluster, node: &str, key: mv_spec::Key) -> Result<(), StepError> {
        c.apply(&Step::ViewRepair { node: node.into(), key })
    }

    fn refused(r: Result<(), StepError>, why: &str) {
        match r {
            Err(StepError::NotEnabled(m)) => assert!(m.contains(why), "{m:?} does not say {why:?}"),
            other => panic!("expected a refusal saying {why:?}, got {other:?}"),
        }
    }

    /// R6's conditions, each refused with its reason: the partition, the node, the budget,
    /// something to write, the wire, the lock and every node up.
    #[test]
    fn a_view_repair_runs_only_where_r6_allows_it() {
        let cfg = ClusterConfig::for_variant(Variant::Cassandra40);
        assert_eq!(cfg.view_repairs, 1, "the default carries a view repair");
        let mut c = Cluster::new(cfg.clone()).unwrap();
        refused(view_repair_of(&mut c, "n0", 5), "no view repair of k=5");
        refused(view_repair_of(&mut c, "n1", 0), "not the first base replica");
        refused(view_repair_of(&mut c, "n0", 0), "nothing to write");
        assert!(c.view_repair_plan(0).is_ok_and(|p| p.is_empty()));
        assert!(c.view_repair_plan(5).is_err());
        let none = ClusterConfig {
            view_repairs: 0,
            ..cfg.clone()
        };
        refused(view_repair_of(&mut Cluster::new(none).unwrap(), "n0", 0), "budget is 0");
        let mut bad = cfg.clone();
        bad.view_repairs = mv_spec::WriteId::MAX_VIEW_REPAIRS + 1;
        assert!(Cluster::new(bad).is_err());

        // The write's view update on its way to n1: the view lags the base, but a write is on
        // the wire.
        let in_flight = |c: &Cluster| {
            c.nodes()[0].base_row(0).v.is_some()
                && !c.nodes()[0].holds_commit_log_entry(0)
                && c.in_flight()
                    .iter()
                    .any(|e| matches!(e.msg, mv_spec::Msg::ViewWrite { .. }))
        };
        let mut c = Cluster::new(cfg.clone()).unwrap();
        assert!(drive_holding(&mut c, view_writes, in_flight));
        refused(view_repair_of(&mut c, "n0", 0), "is on the wire");
        let anytime = ClusterConfig {
            view_repair_anytime: true,
            ..cfg.clone()
        };
        let mut c = Cluster::new(anytime.clone()).unwrap();
        assert!(drive_holding(&mut c, view_writes, in_flight));
        let plan = c.view_repair_plan(0).unwrap();
        assert!(!plan.is_empty() && plan.node == mv_spec::NodeId(0), "{plan:?}");
        assert!(c.view_repair_enabled(0));
        assert_eq!(c.due_view_repairs(), vec![(0, 0)]);
        assert!(c.enabled_steps().contains(&Step::ViewRepair {
            node: "n0".into(),
            key: 0
        }));
        let mut crashed = c.clone();
        crashed.apply(&Step::Crash { node: "n1".into() }).unwrap();
        refused(view_repair_of(&mut crashed, "n0", 0), "n1 is down");
        view_repair_of(&mut c, "n0", 0).unwrap();
        assert!(c.last_rules().contains(mv_spec::rule::Rule::R6));
        assert!(c.history().was_repaired(0));
        refused(view_repair_of(&mut c, "n0", 0), "budget is spent");

        // A base write between its halves holds the partition lock.
        let mut c = Cluster::new(anytime).unwrap();
        assert!(drive(&mut c, |c| c.nodes()[0].holds_commit_log_entry(0)
            && c.nodes()[0].view_rows().len() + c.nodes()[1].view_rows().len() > 0));
        refused(view_repair_of(&mut c, "n0", 0), "commit-log entry for k=0");
    }

    /// The story view repair exists for: data loss at ONE leaves a ghost in the view that
    /// nothing in the write path ever removes; one view repair and the write path settling
    /// leave every view replica in agreement with the base.
    #[test]
    fn a_view_repair_mends_the_ghost_of_a_data_loss() {
        let cfg = ClusterConfig {
            cl: mv_spec::Cl::One,
            crashes: 1,
            data_loss: 1,
            view_repairs: 0,
            ..ClusterConfig::for_variant(Variant::Cassandra40)
        };
        let lost = |r: &SimRun| r.lines.iter().any(|l| matches!(l.step, Step::DataLoss { .. }));
        let crashed = |r: &SimRun| r.lines.iter().any(|l| matches!(l.step, Step::Crash { .. }));
        let ghost = (0..500)
            .map(|seed| run(cfg.clone(), &SimOptions::new(seed, 2_000)).unwrap())
            .find(|r| {
                r.quiescent && lost(r) && !crashed(r) && !mv_spec::verify::classify(&r.cluster.observe()).is_empty()
            })
            .expect("some run in 500 loses data and leaves the view out of sync");
        // The same steps on a cluster with a view repair in its budget.
        let mut c = Cluster::new(ClusterConfig { view_repairs: 1, ..cfg }).unwrap();
        for l in &ghost.lines {
            c.apply(&l.step).unwrap();
        }
        assert!(!c.quiescent(), "the operator's view repair is still to run");
        let due = c.due_view_repairs();
        assert_eq!(due.len(), 1, "{due:?}");
        let (n, k) = due[0];
        let plan = c.view_repair_plan(k).unwrap();
        assert!(!plan.is_empty());
        view_repair_of(&mut c, &format!("n{n}"), k).unwrap();
        assert!(drive(&mut c, Cluster::quiescent), "the repair settles");
        let o = c.observe();
        assert_eq!(mv_spec::verify::classify(&o), vec![], "{plan:?}");
        assert!(o.history.was_repaired(k));
        let (_, violated) = final_verdicts(&c);
        for p in ["P-repair", "P-no-resurrect", "P-no-clobber"] {
            assert!(!violated.contains(&p), "{p}: {violated:?}");
        }
        // A fault ends the partition's claim to have been repaired.
        c.apply(&Step::Crash { node: "n1".into() }).unwrap();
        assert!(!c.history().any_repaired());
    }

    /// Without faults every correct variant's run ends quiescent with every property holding.    /// Without faults every correct variant's run ends quiescent with every property holding.
    #[test]
    fn fault_free_runs_of_correct_variants_converge() {
        for v in Variant::ALL.into_iter().filter(|v| v.is_correct()) {
            for seed in 0..50 {
                let mut cfg = ClusterConfig::for_variant(v);
                cfg.crashes = 0;
                let r = run(cfg, &SimOptions::new(seed, 10_000)).unwrap();
                assert_eq!(r.error, None, "{} seed {seed}", v.name());
                assert!(r.quiescent, "{} seed {seed} did not end quiescent", v.name());
                assert!(r.violated.is_empty(), "{} seed {seed}: {:?}", v.name(), r.violated);
                let o = r.cluster.observe();
                assert!(!o.visible_view().is_empty(), "{} seed {seed}: empty view", v.name());
            }
        }
    }
}
