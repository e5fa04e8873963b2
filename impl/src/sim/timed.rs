//! The simulation in virtual time, to measure how long a view takes to catch up.
//!
//! The untimed scheduler (`super::run`) picks steps by weight and has no clock. This one
//! gives every step a time. A step that becomes enabled at `e` is due at `e` plus a delay
//! drawn within its kind's bound (`mv_spec::timing`), with Cassandra's constants by default:
//!
//! * a message: between 1 us and `max_latency`;
//! * a local mutation-stage step (view-update generation, base apply): up to `max_local`;
//! * a write timeout: exactly `write_request_timeout` after the write;
//! * a batchlog replay: at the first replay round (every `batchlog_replay_interval`, at a
//!   per-node phase) once the batch is twice `write_request_timeout` old;
//! * a hint: at the first dispatch round (every `hint_dispatch_interval`, per-node phase);
//! * a restart: up to `max_restart` after the crash.
//!
//! A step that stops being enabled loses its due time; if it becomes enabled again it gets a
//! new one, so a due time always counts from the moment the step became continuously
//! enabled. The earliest due step runs next, and the clock jumps to its time.
//!
//! Faults are drawn up front: each unit of the crash, data-loss and drop budgets gets a time
//! in `[0, fault_window]`, and at that time hits a node (or a message) it can hit, if any.
//! So does each unit of the view-repair budget: the operator's view repair (R6) runs when
//! someone runs it, so the sync bound does not cover it and it counts as a fault here.
//! The run measures, in virtual time, from the later of the last fault and the last time a
//! client sent a write, to quiescence: what the sync bound T of `specs/protocol.md` bounds.
//! (At that moment no client can send again, so the state is one of the model's starts:
//! a client still owed an answer would send its next write once answered, and a run is
//! only quiescent once no answer is owed.)
//!
//! The steps are the untimed simulation's steps, so a timed run records a trace that
//! `mvcheck validate` replays on the model like any other.

use super::{line, Cluster, ClusterConfig, SplitMix64};
use mv_spec::timing::{Delay, Timing};
use mv_spec::trace::{Step, TraceHeader, TraceLine};
use std::collections::BTreeMap;

/// Microseconds of virtual time per millisecond.
const US: u64 = 1_000;

/// How a timed run is scheduled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimedOptions {
    /// The scheduler's seed.
    pub seed: u64,
    /// The delays.
    pub timing: Timing,
    /// Faults happen at times drawn in `[0, fault_window]` milliseconds.
    pub fault_window: u64,
    /// How many messages the network loses when the configuration is lossy.
    pub drops: u8,
    /// At most this many steps.
    pub max_steps: u64,
    /// Record the trace.
    pub record: bool,
}

impl TimedOptions {
    /// Cassandra's constants, faults within the first 20 ms (while the writes are in
    /// progress), two drops on a lossy network.
    pub fn new(seed: u64) -> Self {
        TimedOptions {
            seed,
            timing: Timing::CASSANDRA,
            fault_window: 20,
            drops: 2,
            max_steps: 10_000,
            record: false,
        }
    }
}

/// A finished timed run. Times are in microseconds of virtual time.
#[derive(Clone, Debug)]
pub struct TimedRun {
    /// The trace header.
    pub header: TraceHeader,
    /// One line per step, when recorded.
    pub lines: Vec<TraceLine>,
    /// Steps taken.
    pub steps: u64,
    /// The time of the last fault (0 if none happened).
    pub last_fault: u64,
    /// When a client last sent a write (a first attempt or a retry).
    pub last_write: u64,
    /// When the run ended: at quiescence, or when nothing but faults was left.
    pub end: u64,
    /// Whether it ended quiescent.
    pub quiescent: bool,
    /// The `always` properties the final state violates (all of them are checked when it is
    /// quiescent, P-durable in any case).
    pub violated: Vec<&'static str>,
    /// A node broke the protocol; the run stopped there.
    pub error: Option<String>,
    /// The final cluster.
    pub cluster: Cluster,
}

impl TimedRun {
    /// The measured sync time: from the later of the last fault and the last client write
    /// to quiescence. `None` when the run did not end quiescent.
    pub fn sync_time(&self) -> Option<u64> {
        let from = self.last_fault.max(self.last_write);
        self.quiescent.then(|| self.end - from)
    }
}

/// The delay kind of a progress step; `None` for a fault.
fn delay_kind(step: &Step) -> Option<Delay> {
    match step {
        Step::Deliver { .. } => Some(Delay::Message),
        Step::Timeout { timer, .. } => Some(Delay::of_timer(timer)),
        Step::Recover { .. } => Some(Delay::Restart),
        Step::Repair { .. } => Some(Delay::Repair),
        // The operator's view repair is outside the sync bound, as a fault is: it comes when
        // someone runs it, not within a delay of becoming possible.
        Step::Drop { .. }
        | Step::Crash { .. }
        | Step::DataLoss { .. }
        | Step::HintWindow { .. }
        | Step::ViewRepair { .. } => None,
        // The deadline is when it is, not a delay after anything: scheduled as a fault is.
        Step::Expire { .. } => None,
    }
}

/// One scheduled fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum FaultKind {
    Crash,
    DataLoss,
    Drop,
    ViewRepair,
    Expire,
}

struct Scheduler {
    rng: SplitMix64,
    timing: Timing,
    /// Per node, the phase of its batchlog replay and hint dispatch rounds.
    phase: Vec<(u64, u64)>,
}

impl Scheduler {
    fn uniform(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.rng.below(hi - lo + 1)
    }

    /// The first round of a schedule with this period and phase at or after `t`.
    fn round(t: u64, period: u64, phase: u64) -> u64 {
        if t <= phase {
            return phase;
        }
        phase + (t - phase).div_ceil(period) * period
    }

    /// When a step enabled at `now` on `node` is due.
    fn due(&mut self, now: u64, step: &Step, kind: Delay) -> u64 {
        let t = self.timing;
        let node = match step {
            Step::Timeout { node, .. } => node[1..].parse::<usize>().unwrap_or(0),
            _ => 0,
        };
        match kind {
            Delay::Message => now + self.uniform(1, t.max_latency * US),
            Delay::Local => now + self.uniform(0, t.max_local * US),
            Delay::WriteTimeout => now + t.write_request_timeout * US,
            Delay::BatchlogReplay => Self::round(
                now + t.batchlog_timeout() * US,
                t.batchlog_replay_interval * US,
                self.phase[node].0,
            ),
            Delay::HintDispatch => Self::round(now, t.hint_dispatch_interval * US, self.phase[node].1),
            Delay::Restart => now + self.uniform(0, t.max_restart * US),
            Delay::Repair => now + self.uniform(0, t.repair_interval * US),
        }
    }
}

/// Runs one simulation in virtual time.
pub fn run_timed(cfg: ClusterConfig, opts: &TimedOptions) -> Result<TimedRun, String> {
    let header = TraceHeader::new(cfg.trace_config(), Some(opts.seed));
    let mut cluster = Cluster::new(cfg.clone())?;
    let mut rng = SplitMix64::new(opts.seed);
    let nodes = cfg.ring.nodes as usize;
    let t = opts.timing;
    let phase = (0..nodes)
        .map(|_| {
            (
                rng.below(t.batchlog_replay_interval * US),
                rng.below(t.hint_dispatch_interval * US),
            )
        })
        .collect();
    let mut faults: Vec<(u64, FaultKind)> = Vec::new();
    let budgets = [
        (FaultKind::Crash, cfg.crashes),
        (FaultKind::DataLoss, cfg.data_loss),
        (FaultKind::Drop, if cfg.lossy { opts.drops } else { 0 }),
        (FaultKind::ViewRepair, cfg.view_repairs),
        (FaultKind::Expire, u8::from(cfg.workload.has_ttl())),
    ];
    for (kind, n) in budgets {
        for _ in 0..n {
            faults.push((rng.below(opts.fault_window * US + 1), kind));
        }
    }
    faults.sort();
    faults.reverse(); // popped from the end, earliest first
    let mut sched = Scheduler { rng, timing: t, phase };
    let mut due: BTreeMap<String, (u64, Step)> = BTreeMap::new();
    let mut lines = Vec::new();
    let (mut now, mut steps, mut last_fault) = (0u64, 0u64, 0u64);
    // C1 sent every client's first write at time 0; later sends are counted as they happen.
    let mut last_write = 0u64;
    let mut error = None;
    while steps < opts.max_steps {
        if faults.is_empty() && cluster.quiescent() {
            break;
        }
        // Progress steps enabled now keep their due time, new ones get one, others lose it.
        let enabled: BTreeMap<String, Step> = cluster
            .enabled_steps()
            .into_iter()
            .filter(|s| delay_kind(s).is_some())
            .map(|s| (serde_json::to_string(&s).expect("steps serialize"), s))
            .collect();
        due.retain(|k, _| enabled.contains_key(k));
        for (k, s) in enabled {
            if let std::collections::btree_map::Entry::Vacant(slot) = due.entry(k) {
                let kind = delay_kind(&s).expect("filtered to progress steps");
                let at = sched.due(now, &s, kind);
                slot.insert((at, s));
            }
        }
        let next = due
            .iter()
            // Among steps due at the same time, the first in key order: the map's order.
            .min_by_key(|(_, (at, _))| *at)
            .map(|(k, v)| (k.clone(), v.clone()));
        let fault_first = match (&next, faults.last()) {
            (_, None) => false,
            (None, Some(_)) => true,
            (Some((_, (at, _))), Some((ft, _))) => ft <= at,
        };
        let step = if fault_first {
            let (ft, kind) = faults.pop().expect("checked");
            now = now.max(ft);
            match pick_fault(&cluster, kind, &mut sched.rng) {
                Some(s) => s,
                None => continue, // nothing it could hit at that moment
            }
        } else {
            let Some((k, (at, s))) = next else {
                break; // nothing left to do and no fault to come: stuck
            };
            due.remove(&k);
            now = at;
            s
        };
        cluster.set_clock(now);
        let writes_before = client_writes_in_flight(&cluster);
        match cluster.apply(&step) {
            Ok(()) => {}
            Err(super::StepError::NotEnabled(_)) => continue,
            Err(super::StepError::Violation(v)) => error = Some(format!("step {}: {step}: {v}", steps + 1)),
        }
        steps += 1;
        if delay_kind(&step).is_none() {
            last_fault = now;
        }
        if client_writes_in_flight(&cluster) > writes_before {
            last_write = now;
        }
        if opts.record {
            lines.push(line(&cluster, steps, step));
        }
        if error.is_some() {
            break;
        }
    }
    let (quiescent, violated) = super::final_verdicts(&cluster);
    Ok(TimedRun {
        header,
        lines,
        steps,
        last_fault,
        last_write,
        end: now,
        quiescent,
        violated,
        error,
        cluster,
    })
}

/// How many client writes are on the network: a step that adds one is a client's send.
fn client_writes_in_flight(c: &Cluster) -> usize {
    c.in_flight()
        .iter()
        .filter(|e| matches!(e.src, crate::node::Addr::Client(_)) && matches!(e.msg, mv_spec::Msg::Write { .. }))
        .count()
}

/// A fault of `kind` the cluster can suffer now, chosen at random.
fn pick_fault(c: &Cluster, kind: FaultKind, rng: &mut SplitMix64) -> Option<Step> {
    let cands: Vec<Step> = c
        .enabled_steps()
        .into_iter()
        .filter(|s| {
            matches!(
                (kind, s),
                (FaultKind::Crash, Step::Crash { .. })
                    | (FaultKind::DataLoss, Step::DataLoss { .. })
                    | (FaultKind::Drop, Step::Drop { .. })
                    | (FaultKind::ViewRepair, Step::ViewRepair { .. })
                    | (FaultKind::Expire, Step::Expire { .. })
            )
        })
        .collect();
    if cands.is_empty() {
        return None;
    }
    let i = rng.below(cands.len() as u64) as usize;
    Some(cands[i].clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::Variant;

    #[test]
    fn rounds_fall_on_the_schedule() {
        assert_eq!(Scheduler::round(0, 10, 3), 3);
        assert_eq!(Scheduler::round(3, 10, 3), 3);
        assert_eq!(Scheduler::round(4, 10, 3), 13);
        assert_eq!(Scheduler::round(13, 10, 3), 13);
        assert_eq!(Scheduler::round(14, 10, 3), 23);
    }

    /// A timed run of a correct variant ends quiescent with every property holding, and the
    /// same seed gives the same run.
    #[test]
    fn timed_runs_converge_and_are_reproducible() {
        for v in Variant::ALL.into_iter().filter(|v| v.is_correct()) {
            for seed in 0..20 {
                let cfg = ClusterConfig::for_variant(v);
                let mut opts = TimedOptions::new(seed);
                opts.record = true;
                let a = run_timed(cfg.clone(), &opts).unwrap();
                assert_eq!(a.error, None, "{} seed {seed}", v.name());
                assert!(a.quiescent, "{} seed {seed} did not end quiescent", v.name());
                assert!(a.violated.is_empty(), "{} seed {seed}: {:?}", v.name(), a.violated);
                assert!(a.sync_time().is_some(), "{} seed {seed}", v.name());
                let b = run_timed(cfg, &opts).unwrap();
                assert_eq!(a.end, b.end);
                assert_eq!(
                    mv_spec::trace::to_ndjson(&a.header, &a.lines),
                    mv_spec::trace::to_ndjson(&b.header, &b.lines)
                );
            }
        }
    }
}
