//! K: how many protocol steps a view can take to catch up after the last fault.
//!
//! Seed 000's third complaint is that nobody can say how long a view takes to sync. In the
//! model the question has an exact answer. Call a state a **start** once every client has
//! sent its last write (and has no retry left to send), or waits for an answer that can no
//! longer come. From a start, let the system run with
//! no further fault: no crash, no lost message, no data loss. Every run from there is a
//! sequence of deliveries, timers and restarts of nodes that are down. **K** is the length
//! of the longest such run before the system is quiescent (every node up, nothing queued on
//! any disk, nothing in flight that would change anything), maximised over every reachable
//! start. A quiescent state of a correct variant satisfies P-converge, so after the last
//! fault and the last client write every view replica agrees with the base within K steps,
//! on every interleaving.
//!
//! With a repair budget, quiescence waits for the repairs that are due (`MvModel::quiescent`),
//! so K and T include the operator's repair (R4), at `repair_interval` in T.
//!
//! Counting to quiescence rather than to the first state where the view happens to agree
//! is deliberate: a pending write can make the view agree for a moment and then move it
//! again. Restarts count as steps (an operator restarts the node; until then nothing on it
//! converges), and so do timers, which the worst path marks as time-driven: those are the
//! steps that cost wall-clock time in Cassandra (`specs/protocol.md`, "Sync bound").
//!
//! **T** is the same bound in time. Every step waits, once enabled, at most a delay set by
//! its kind (`mv_spec::timing`): so between two steps of a run at most the later one's delay
//! passes, and T, the longest sum of delays over the same runs, bounds the time from the last
//! fault and the last client write to quiescence. It is a longest path with each step
//! weighted by its delay; its worst run can differ from K's.
//!
//! The computation is a longest path in the fault-free transition graph, which must be
//! acyclic outside quiescent states for K to exist. A cycle (the system can run for ever
//! without settling) or a stuck state (not quiescent, and nothing but a fault can move it)
//! is reported as such, with the path that reaches it: K is then unbounded, and saying so is
//! the honest answer.

use crate::actor::Fault;
use crate::model::{Action, MvModel, State};
use mv_spec::obs::Outcome;
use mv_spec::timing::{Delay, Timing};
use mv_spec::Msg;
use stateright::actor::ActorModelAction;
use stateright::Model;
use std::collections::HashMap;
use std::hash::Hash;

/// What the sync-bound computation found.
#[derive(Debug)]
pub enum SyncBound {
    /// Every fault-free run from every start reaches quiescence within K steps and T time.
    Bounded(Box<Worst>),
    /// A fault-free run can go on for ever: `path` reaches a state of a cycle.
    Cycle(Vec<Action>),
    /// A state that is not quiescent has no fault-free successor: `path` reaches it.
    Stuck(Vec<Action>),
    /// The reachable state space is larger than the limit; nothing was concluded.
    TooLarge(usize),
}

/// One longest run: from the initial state to a start (`prefix`), then the fault-free `run`.
#[derive(Debug, Clone)]
pub struct Run {
    /// From the initial state to the start the run leaves from (faults included).
    pub prefix: Vec<Action>,
    /// The fault-free steps from that start to quiescence.
    pub run: Vec<Action>,
}

impl Run {
    /// How many steps of the run are of kind `d`.
    pub fn count(&self, d: Delay) -> usize {
        self.run.iter().filter(|a| delay_of(a) == Some(d)).count()
    }

    /// How many steps are time-driven (timers).
    pub fn timed_steps(&self) -> usize {
        self.run.iter().filter(|a| step_kind(a) == StepKind::Timer).count()
    }
}

/// The worst cases, in steps and in time.
#[derive(Debug)]
pub struct Worst {
    /// K: the most steps from a start to quiescence.
    pub k: u32,
    /// A run of `k` steps.
    pub k_run: Run,
    /// T, in milliseconds, under `timing`.
    pub t_ms: u64,
    /// A run that takes `t_ms` when each step waits its longest.
    pub t_run: Run,
    /// The delays T was computed with.
    pub timing: Timing,
    /// How many reachable states are starts.
    pub starts: usize,
}

impl Worst {
    /// T as the formula of `specs/protocol.md`: each kind's count on T's worst run times
    /// its delay, summed.
    pub fn formula(&self) -> String {
        Delay::ALL
            .iter()
            .filter(|&&d| self.t_run.count(d) > 0)
            .map(|&d| {
                format!(
                    "{} x {} ({} ms)",
                    self.t_run.count(d),
                    d.name(),
                    self.timing.max_delay(d)
                )
            })
            .collect::<Vec<_>>()
            .join(" + ")
    }
}

/// What drives a step of a fault-free run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepKind {
    /// A delivery: costs network latency.
    Message,
    /// A timer: costs wall-clock time (a timeout, a replay or hint-dispatch period).
    Timer,
    /// A node restarts: costs an operator's (or a supervisor's) reaction time.
    Restart,
    /// Anti-entropy repair (R4): costs the time to the operator's next scheduled repair.
    Repair,
    /// A fault, or the operator's view repair (R6), which the bound does not count on: a
    /// view must catch up without it. Never part of a fault-free run.
    Fault,
}

/// Classifies an action.
pub fn step_kind(a: &Action) -> StepKind {
    match a {
        ActorModelAction::Deliver { .. } => StepKind::Message,
        ActorModelAction::Timeout(..) => StepKind::Timer,
        ActorModelAction::Recover(_) => StepKind::Restart,
        ActorModelAction::SelectRandom {
            random: Fault::Repair(_),
            ..
        } => StepKind::Repair,
        ActorModelAction::Drop(_) | ActorModelAction::Crash(_) | ActorModelAction::SelectRandom { .. } => {
            StepKind::Fault
        }
    }
}

/// The delay kind of a fault-free step; `None` for a fault.
pub fn delay_of(a: &Action) -> Option<Delay> {
    match a {
        ActorModelAction::Deliver { .. } => Some(Delay::Message),
        ActorModelAction::Timeout(_, t) => Some(Delay::of_timer(t)),
        ActorModelAction::Recover(_) => Some(Delay::Restart),
        ActorModelAction::SelectRandom {
            random: Fault::Repair(_),
            ..
        } => Some(Delay::Repair),
        _ => None,
    }
}

fn fingerprint<T: Hash>(t: &T) -> u64 {
    crate::search::fingerprint(t)
}

/// Per reachable state: what the longest-path pass needs, and no state itself.
struct Node {
    fp: u64,
    parent: u32,
    start: bool,
    quiescent: bool,
    /// Fault-free successors, with the delay kind of the step to each.
    next: Vec<(u32, Delay)>,
}

/// A longest-path result: the value at every state and the successor that achieves it.
struct Longest {
    len: Vec<u64>,
    best: Vec<u32>,
}

enum Walk {
    Done(Longest),
    Cycle(Vec<u32>),
    Stuck(u32),
}

impl MvModel {
    /// Whether no client can send another write in a fault-free run: each has sent its last
    /// write with no retry left, or waits for an answer that can no longer come (its
    /// coordinator forgot the write in a crash, or the answer was lost). A client never
    /// times out on its own side (`specs/protocol.md`, "Abstracted away"), so such a client
    /// is done for good.
    pub fn clients_done(&self, s: &State) -> bool {
        (0..self.scripts.len()).all(|c| {
            let cs = self.client(s, c);
            let script = &self.scripts[c];
            let Some(i) = cs.outcomes.iter().position(|o| *o == Outcome::Pending) else {
                return true;
            };
            let mut write = script.writes[i].0;
            for _ in 0..cs.attempt {
                write = write.retry();
            }
            let me = stateright::actor::Id::from(self.cfg.ring.nodes as usize + c);
            let coordinator = crate::actor::node_actor(script.coordinator);
            let co = script.coordinator.0 as usize;
            let answer_possible = s.network.iter_deliverable().any(|e| match e.msg {
                Msg::Write { write: w, .. } => *w == write && e.src == me && e.dst == coordinator,
                Msg::WriteOk { write: w } | Msg::WriteTimeout { write: w } => *w == write && e.dst == me,
                _ => false,
            }) || (!s.crashed[co]
                && self.node(s, co).coord.get(&write).is_some_and(|r| !r.replied));
            let last = i + 1 == script.writes.len() && (self.cfg.retries == 0 || cs.attempt >= self.cfg.retries);
            !answer_possible || last
        })
    }

    /// Computes K and T (see the module docs), exploring at most `limit` states.
    pub fn sync_bound(&self, limit: usize, timing: Timing) -> SyncBound {
        let mut nodes: Vec<Node> = Vec::new();
        let mut index: HashMap<u64, u32> = HashMap::new();
        let mut stack: Vec<(u32, State)> = Vec::new();
        for s in self.init_states() {
            let fp = fingerprint(&s);
            if index.contains_key(&fp) {
                continue;
            }
            let i = nodes.len() as u32;
            index.insert(fp, i);
            nodes.push(self.node_of(&s, fp, i));
            stack.push((i, s));
        }
        let mut actions = Vec::new();
        while let Some((i, s)) = stack.pop() {
            actions.clear();
            self.actions(&s, &mut actions);
            for a in actions.drain(..) {
                let delay = delay_of(&a);
                let Some(next) = self.next_state(&s, a) else { continue };
                let fp = fingerprint(&next);
                let j = match index.get(&fp) {
                    Some(&j) => j,
                    None => {
                        if nodes.len() >= limit {
                            return SyncBound::TooLarge(nodes.len());
                        }
                        let j = nodes.len() as u32;
                        index.insert(fp, j);
                        nodes.push(self.node_of(&next, fp, i));
                        stack.push((j, next));
                        j
                    }
                };
                if let Some(d) = delay {
                    if !nodes[i as usize].next.contains(&(j, d)) {
                        nodes[i as usize].next.push((j, d));
                    }
                }
            }
        }
        let starts: Vec<u32> = (0..nodes.len() as u32).filter(|&i| nodes[i as usize].start).collect();
        let by_steps = match longest(&nodes, &starts, |_| 1) {
            Walk::Done(l) => l,
            Walk::Cycle(chain) => return SyncBound::Cycle(self.actions_along(&nodes, &chain)),
            Walk::Stuck(i) => return SyncBound::Stuck(self.actions_along(&nodes, &[i])),
        };
        let Walk::Done(by_time) = longest(&nodes, &starts, |d| timing.max_delay(d)) else {
            unreachable!("the same graph had neither cycle nor stuck state a moment ago");
        };
        let (k, k_run) = self.worst_run(&nodes, &starts, &by_steps);
        let (t_ms, t_run) = self.worst_run(&nodes, &starts, &by_time);
        SyncBound::Bounded(Box::new(Worst {
            k: k as u32,
            k_run,
            t_ms,
            t_run,
            timing,
            starts: starts.len(),
        }))
    }

    fn node_of(&self, s: &State, fp: u64, parent: u32) -> Node {
        Node {
            fp,
            parent,
            start: self.clients_done(s),
            quiescent: self.quiescent(s),
            next: Vec::new(),
        }
    }

    /// The start with the longest value, and its run.
    fn worst_run(&self, nodes: &[Node], starts: &[u32], l: &Longest) -> (u64, Run) {
        let Some(&worst) = starts
            .iter()
            .max_by_key(|&&i| (l.len[i as usize], std::cmp::Reverse(i)))
        else {
            return (
                0,
                Run {
                    prefix: Vec::new(),
                    run: Vec::new(),
                },
            );
        };
        let mut chain = vec![worst];
        let mut at = worst;
        while l.best[at as usize] != u32::MAX {
            at = l.best[at as usize];
            chain.push(at);
        }
        let prefix = self.actions_along(nodes, &[worst]);
        let full = self.actions_along(nodes, &chain);
        let run = full[prefix.len()..].to_vec();
        (l.len[worst as usize], Run { prefix, run })
    }

    /// The actions from the initial state to `chain[0]` (by parent links), then along
    /// `chain`, each found by replaying and matching fingerprints.
    fn actions_along(&self, nodes: &[Node], chain: &[u32]) -> Vec<Action> {
        let mut fps: Vec<u64> = Vec::new();
        let mut at = chain[0];
        loop {
            fps.push(nodes[at as usize].fp);
            let p = nodes[at as usize].parent;
            if p == at {
                break;
            }
            at = p;
        }
        fps.reverse();
        fps.extend(chain[1..].iter().map(|&i| nodes[i as usize].fp));
        crate::search::replay_fingerprints(self, &fps).1
    }
}

/// Longest fault-free path to quiescence, weighted by `weight`, from every start: an
/// iterative post-order walk that also finds cycles (a successor still on the walk) and
/// stuck states (not quiescent, no fault-free successor).
fn longest(nodes: &[Node], starts: &[u32], weight: impl Fn(Delay) -> u64) -> Walk {
    const WHITE: u8 = 0;
    const GREY: u8 = 1;
    const BLACK: u8 = 2;
    let mut colour = vec![WHITE; nodes.len()];
    let mut len = vec![0u64; nodes.len()];
    let mut best = vec![u32::MAX; nodes.len()];
    for &root in starts {
        if colour[root as usize] != WHITE {
            continue;
        }
        // (state, index of the next successor to look at)
        let mut walk: Vec<(u32, usize)> = vec![(root, 0)];
        colour[root as usize] = GREY;
        while let Some(&mut (i, ref mut k)) = walk.last_mut() {
            let n = &nodes[i as usize];
            if n.quiescent {
                colour[i as usize] = BLACK;
                walk.pop();
                continue;
            }
            if *k < n.next.len() {
                let (j, _) = n.next[*k];
                *k += 1;
                match colour[j as usize] {
                    WHITE => {
                        colour[j as usize] = GREY;
                        walk.push((j, 0));
                    }
                    GREY => {
                        // The walk from `root` leads to `j` and back: an infinite run.
                        let mut chain: Vec<u32> = walk.iter().map(|&(x, _)| x).collect();
                        chain.push(j);
                        return Walk::Cycle(chain);
                    }
                    _ => {}
                }
                continue;
            }
            if n.next.is_empty() {
                return Walk::Stuck(i);
            }
            let (arg, l) = n
                .next
                .iter()
                .map(|&(j, d)| (j, len[j as usize] + weight(d)))
                .max_by_key(|&(j, l)| (l, std::cmp::Reverse(j)))
                .expect("not empty");
            len[i as usize] = l;
            best[i as usize] = arg;
            colour[i as usize] = BLACK;
            walk.pop();
        }
    }
    Walk::Done(Longest { len, best })
}
