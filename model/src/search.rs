//! Our own explicit-state search over any Stateright [`Model`], with bounds we can report
//! honestly.
//!
//! Stateright's checkers answer "how many states did you see" and "did you find anything", but
//! not "did you see *every* reachable state, and if not, which limit stopped you". Its
//! `target_state_count` counts generated states (duplicates included), its DFS looks at the
//! `timeout` only once a worker runs out of work, and nothing in its result says whether a
//! depth limit actually cut anything off. A verdict of "holds" is only worth what the search
//! behind it covered, so this engine keeps the books itself:
//!
//! * **Depth.** An initial state has depth 1 and each action adds one, so a path of `n` states
//!   has depth `n` (Stateright's `max_depth` counts the same way). With `max_depth: Some(d)`,
//!   states of depth at most `d` are visited and their properties checked; states of depth `d`
//!   (or more, for `d = 0`) are not expanded. [`Bound::Depth`] is reported only when such a
//!   state had a successor that the search never visited.
//! * **States.** `max_states: Some(n)` bounds the *unique* states: the visited set never holds
//!   more than `n`. [`Bound::States`] is reported only when a successor not yet visited was
//!   refused; a space of at most `n` states is searched exhaustively without a bound.
//! * **Time.** Workers look at the deadline every [`CLOCK_EVERY`] states and at the stop flag
//!   before every state, so a search ends within a few states' work of its deadline or of
//!   [`Running::stop`]. [`Bound::Time`] and [`Bound::Stopped`] are reported only when some
//!   visited state was left unexpanded.
//! * **Decided.** With `stop_when_decided`, the search stops once every property has a
//!   discovery (an `always` violated, a `sometimes` example). That settles every verdict, but
//!   it is not exhaustive: [`Outcome::all_decided`] says states were left unexpanded.
//!
//! So `Outcome::exhaustive()` is exact: true if and only if every state reachable within
//! `Model::within_boundary` was visited and checked (up to fingerprint collisions, which,
//! as in Stateright, identify two states with one 64-bit hash).
//!
//! States outside `within_boundary` are skipped as Stateright skips them: neither counted,
//! stored, checked nor expanded.

use crate::model::{Action as MvAction, MvModel, State as MvState};
use dashmap::mapref::entry::Entry;
use dashmap::DashMap;
use mv_spec::rule::Coverage;
use nohash_hasher::BuildNoHashHasher;
use stateright::{Expectation, Model, Path};
use std::collections::BTreeMap;
use std::fmt::{self, Debug};
use std::hash::Hash;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A model the engine can search.
///
/// `step` must agree with `Model::next_state` (the engine explores with `step` and rebuilds
/// discovery paths with `next_state`), and both must be deterministic.
///
/// The bounds on `State` and `Action` sit on the supertrait, rather than in a `where` clause,
/// so that every `M: Searchable` implies them. `PartialEq` is there because
/// [`Path::from_actions`], the only public way to build a Stateright path, needs it.
pub trait Searchable:
    Model<State: Hash + Clone + Send + Sync + Debug + PartialEq, Action: Clone + Send + Debug + PartialEq> + Sync
{
    /// Per-worker counts gathered by `step` (e.g. rule coverage); merged at the end.
    type Tally: Default + Send;

    /// The successor of `s` under `a`, recording into `tally` what the transition did.
    fn step(&self, s: &Self::State, a: Self::Action, tally: &mut Self::Tally) -> Option<Self::State>;

    /// Called once per initial state the search visits (so initial-state work can be
    /// tallied). Default: nothing.
    fn tally_init(&self, _s: &Self::State, _tally: &mut Self::Tally) {}

    /// Adds one worker's tally into the total.
    fn merge(total: &mut Self::Tally, part: Self::Tally);

    /// For the properties whose bit is set in `undecided` (bit `i` = `self.properties()[i]`),
    /// the bitmask of those whose condition is true on `s`.
    fn conditions(&self, s: &Self::State, undecided: u64) -> u64 {
        let mut out = 0;
        for (i, p) in self.properties().iter().enumerate().take(64) {
            if undecided & (1 << i) != 0 && (p.condition)(self, s) {
                out |= 1 << i;
            }
        }
        out
    }
}

/// The order in which states are visited.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Strategy {
    /// Depth first: little memory beyond the visited set; discovery paths may be long.
    #[default]
    Dfs,
    /// Breadth first, level by level: every discovery path is a shortest one.
    Bfs,
}

/// How to search.
#[derive(Clone, Debug)]
pub struct SearchCfg {
    /// Visiting order.
    pub strategy: Strategy,
    /// Worker threads (0 is taken as 1).
    pub threads: usize,
    /// States of this depth are visited but not expanded (an initial state has depth 1).
    pub max_depth: Option<usize>,
    /// At most this many unique states are visited.
    pub max_states: Option<usize>,
    /// Wall-clock limit.
    pub timeout: Option<Duration>,
    /// Stop once every property has a discovery.
    pub stop_when_decided: bool,
}

impl Default for SearchCfg {
    fn default() -> Self {
        SearchCfg {
            strategy: Strategy::Dfs,
            threads: 1,
            max_depth: None,
            max_states: None,
            timeout: None,
            stop_when_decided: true,
        }
    }
}

/// A limit that cut the search: some reachable state was not visited because of it.
#[derive(Debug, Clone, PartialEq)]
pub enum Bound {
    /// `SearchCfg::max_depth`.
    Depth {
        /// The configured limit.
        max_depth: usize,
    },
    /// `SearchCfg::max_states`.
    States {
        /// The configured limit.
        max_states: usize,
    },
    /// `SearchCfg::timeout`.
    Time {
        /// The configured limit.
        seconds: f64,
    },
    /// [`Running::stop`].
    Stopped,
}

impl fmt::Display for Bound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Bound::Depth { max_depth } => write!(f, "depth bound ({max_depth})"),
            Bound::States { max_states } => write!(f, "state bound ({max_states} unique states)"),
            Bound::Time { seconds } => write!(f, "time bound ({seconds} s)"),
            Bound::Stopped => f.write_str("a stop request"),
        }
    }
}

/// Live counters of a running search, readable from any thread.
#[derive(Debug, Default)]
pub struct Progress {
    generated: AtomicU64,
    unique: AtomicU64,
    max_depth: AtomicUsize,
    done: AtomicBool,
}

impl Progress {
    /// States generated so far, duplicates included (published every few hundred states).
    pub fn generated(&self) -> u64 {
        self.generated.load(Relaxed)
    }

    /// Unique states stored so far (exact at every moment).
    pub fn unique(&self) -> u64 {
        self.unique.load(Relaxed)
    }

    /// The greatest depth of a state visited so far.
    pub fn max_depth(&self) -> usize {
        self.max_depth.load(Relaxed)
    }

    /// Whether the workers have finished (the outcome may still be being assembled).
    pub fn is_done(&self) -> bool {
        self.done.load(Relaxed)
    }
}

/// What a search found and how much of the space it covered.
pub struct Outcome<M: Searchable> {
    /// Initial states plus successor states produced, duplicates included (as Stateright's
    /// `state_count`).
    pub generated: u64,
    /// States stored in the visited set.
    pub unique: u64,
    /// The greatest depth of a visited state.
    pub max_depth: usize,
    /// Time spent searching (rebuilding discovery paths afterwards is not included).
    pub elapsed: Duration,
    /// Every bound that cut the search (empty = nothing was cut).
    pub bounds: Vec<Bound>,
    /// The search stopped early because every property was decided, leaving visited states
    /// unexpanded. The verdicts are settled (an `always` violated or a `sometimes` found stays
    /// so), but the search is not exhaustive. False when the last decision happened to come
    /// with nothing left to expand.
    pub all_decided: bool,
    /// Property name -> shortest-known path to a violation (`always`) or an example
    /// (`sometimes`). With [`Strategy::Bfs`] it is a shortest path.
    pub discoveries: BTreeMap<&'static str, Path<M::State, M::Action>>,
    /// The workers' tallies, merged, plus the tally of the initial states.
    pub tally: M::Tally,
}

impl<M: Searchable> Outcome<M> {
    /// Every reachable state (within the model's boundary) was visited and checked.
    pub fn exhaustive(&self) -> bool {
        self.bounds.is_empty() && !self.all_decided
    }
}

impl<M: Searchable> Debug for Outcome<M>
where
    M::Tally: Debug,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Outcome")
            .field("generated", &self.generated)
            .field("unique", &self.unique)
            .field("max_depth", &self.max_depth)
            .field("elapsed", &self.elapsed)
            .field("bounds", &self.bounds)
            .field("all_decided", &self.all_decided)
            .field("discoveries", &self.discoveries)
            .field("tally", &self.tally)
            .finish()
    }
}

/// A search running in the background.
pub struct Running<M: Searchable> {
    shared: Arc<Shared<M>>,
    handle: JoinHandle<Outcome<M>>,
}

impl<M: Searchable + Send> Running<M> {
    /// The live counters.
    pub fn progress(&self) -> Arc<Progress> {
        Arc::clone(&self.shared.progress)
    }

    /// Asks the workers to stop; the outcome then reports [`Bound::Stopped`] if that cut
    /// anything.
    pub fn stop(&self) {
        self.shared.request_stop(STOP_REQUESTED);
    }

    /// Waits for the search to end. A panic in the model is re-raised here.
    pub fn join(self) -> Outcome<M> {
        self.handle.join().unwrap_or_else(|e| std::panic::resume_unwind(e))
    }
}

/// Starts a search on a background thread.
///
/// Panics if the model has an `eventually` property (this engine checks `always` and
/// `sometimes` only) or more than 64 properties (they are tracked in one `u64`).
pub fn spawn<M: Searchable + Send + 'static>(model: Arc<M>, cfg: SearchCfg) -> Running<M>
where
    M::State: 'static,
    M::Action: 'static,
{
    let shared = Arc::new(Shared::new(model, cfg));
    let handle = {
        let shared = Arc::clone(&shared);
        std::thread::Builder::new()
            .name("search".into())
            .spawn(move || shared.search())
            .expect("spawn the search thread")
    };
    Running { shared, handle }
}

/// Searches to the end on background threads and returns the outcome.
pub fn run<M: Searchable + Send + 'static>(model: M, cfg: SearchCfg) -> Outcome<M>
where
    M::State: 'static,
    M::Action: 'static,
{
    spawn(Arc::new(model), cfg).join()
}

/// Rule coverage: every `step` counts the rules it fired, including a lock wait (B1) that
/// leaves the state unchanged, so a rule that only ever waits still shows as reached.
impl Searchable for MvModel {
    type Tally = Coverage;

    fn step(&self, s: &MvState, a: MvAction, tally: &mut Coverage) -> Option<MvState> {
        // The inherent `MvModel::step` (it returns the rules), not this trait method.
        let (next, rules) = MvModel::step(self, s, a);
        tally.add(rules);
        next
    }

    fn tally_init(&self, _s: &MvState, tally: &mut Coverage) {
        tally.add(self.init_rules());
    }

    fn merge(total: &mut Coverage, part: Coverage) {
        total.merge(&part);
    }

    fn conditions(&self, s: &MvState, undecided: u64) -> u64 {
        // The inherent method, which projects the state once for all properties.
        MvModel::conditions(self, s, undecided)
    }
}

/// How often (in states) a worker reads the clock and publishes its counters. Reading the
/// clock costs tens of nanoseconds; a model state costs microseconds, so a few hundred states
/// keep the stop within a millisecond or so of the deadline.
pub const CLOCK_EVERY: u32 = 256;

/// A BFS level smaller than this is expanded on the search thread alone: spawning workers
/// would cost more than the level.
const PARALLEL_LEVEL: usize = 512;

/// States a BFS worker claims from a level at a time.
const BFS_CHUNK: usize = 64;

/// Fingerprints a DFS worker keeps of successors its depth cut-off left unvisited, before it
/// prunes those visited since. Beyond it, the depth bound is reported without proof.
const SUSPECTS_MAX: usize = 1 << 16;

const RUNNING: u8 = 0;
const STOP_TIME: u8 = 1;
const STOP_REQUESTED: u8 = 2;
const STOP_DECIDED: u8 = 3;

/// The fixed keys make a state's fingerprint the same on every thread, so the visited set and
/// path reconstruction agree.
static FINGERPRINT: ahash::RandomState = ahash::RandomState::with_seeds(
    0x243f_6a88_85a3_08d3,
    0x1319_8a2e_0370_7344,
    0xa409_3822_299f_31d0,
    0x082e_fa98_ec4e_6c89,
);

pub(crate) fn fingerprint<T: Hash>(t: &T) -> u64 {
    FINGERPRINT.hash_one(t)
}

struct Job<S> {
    state: S,
    fp: u64,
    depth: usize,
}

enum Insert {
    New,
    Known,
    Refused,
}

/// The shared DFS work pool: chunks of stacks given away by busy workers.
struct Pool<S> {
    chunks: Vec<Vec<Job<S>>>,
    idle: usize,
    done: bool,
}

struct Shared<M: Searchable> {
    model: Arc<M>,
    cfg: SearchCfg,
    threads: usize,
    start: Instant,
    deadline: Option<Instant>,
    names: Vec<&'static str>,
    always: u64,
    sometimes: u64,
    /// Fingerprint -> parent fingerprint; an initial state is its own parent.
    visited: DashMap<u64, u64, BuildNoHashHasher<u64>>,
    progress: Arc<Progress>,
    undecided: AtomicU64,
    /// Per property: depth and fingerprint of the shallowest discovery so far.
    found: Mutex<Vec<Option<(usize, u64)>>>,
    stop: AtomicU8,
    states_cut: AtomicBool,
    depth_cut: AtomicBool,
    pool: Mutex<Pool<M::State>>,
    wake: Condvar,
    /// Mirrors of `Pool::idle` and `Pool::chunks.len()`, read without the lock by busy workers
    /// deciding whether to share.
    hungry: AtomicUsize,
    pooled: AtomicUsize,
}

/// What a worker hands back when it ends.
struct Done<T> {
    tally: T,
    processed: u64,
    suspects: Vec<u64>,
    suspects_overflow: bool,
}

/// `M: Send` because the workers share the model through `Arc<M>`.
impl<M: Searchable + Send> Shared<M> {
    fn new(model: Arc<M>, cfg: SearchCfg) -> Self {
        let props = model.properties();
        assert!(
            props.len() <= 64,
            "{} properties: at most 64 are supported",
            props.len()
        );
        let (mut always, mut sometimes) = (0u64, 0u64);
        for (i, p) in props.iter().enumerate() {
            match p.expectation {
                Expectation::Always => always |= 1 << i,
                Expectation::Sometimes => sometimes |= 1 << i,
                Expectation::Eventually => panic!(
                    "property {:?} is an `eventually` property, which this search does not check",
                    p.name
                ),
            }
        }
        let start = Instant::now();
        Shared {
            threads: cfg.threads.max(1),
            deadline: cfg.timeout.map(|t| start + t),
            start,
            names: props.iter().map(|p| p.name).collect(),
            always,
            sometimes,
            visited: DashMap::with_hasher(BuildNoHashHasher::default()),
            progress: Arc::new(Progress::default()),
            undecided: AtomicU64::new(always | sometimes),
            found: Mutex::new(vec![None; props.len()]),
            stop: AtomicU8::new(RUNNING),
            states_cut: AtomicBool::new(false),
            depth_cut: AtomicBool::new(false),
            pool: Mutex::new(Pool {
                chunks: Vec::new(),
                idle: 0,
                done: false,
            }),
            wake: Condvar::new(),
            hungry: AtomicUsize::new(0),
            pooled: AtomicUsize::new(0),
            model,
            cfg,
        }
    }

    /// The first reason wins, so a stop request after the deadline still reads as time.
    fn request_stop(&self, reason: u8) {
        let _ = self.stop.compare_exchange(RUNNING, reason, Relaxed, Relaxed);
        // Taking the lock orders this with a worker about to wait, so none sleeps through it.
        drop(self.lock_pool());
        self.wake.notify_all();
    }

    fn stopping(&self) -> bool {
        self.stop.load(Relaxed) != RUNNING
    }

    fn lock_pool(&self) -> MutexGuard<'_, Pool<M::State>> {
        self.pool.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Stores a state unless it is known or the visited set is full. The count is reserved
    /// while the entry's shard is locked, and it never goes down: so a refusal is final, no
    /// one else can be inserting the same state, and the set can never take it later. That is
    /// what makes [`Bound::States`] exact.
    fn insert(&self, fp: u64, parent: u64) -> Insert {
        if self.visited.contains_key(&fp) {
            return Insert::Known;
        }
        match self.visited.entry(fp) {
            Entry::Occupied(_) => Insert::Known,
            Entry::Vacant(v) => {
                if self.reserve() {
                    v.insert(parent);
                    Insert::New
                } else {
                    Insert::Refused
                }
            }
        }
    }

    fn reserve(&self) -> bool {
        let unique = &self.progress.unique;
        match self.cfg.max_states {
            None => {
                unique.fetch_add(1, Relaxed);
                true
            }
            Some(n) => unique
                .fetch_update(Relaxed, Relaxed, |u| (u < n as u64).then_some(u + 1))
                .is_ok(),
        }
    }

    fn discover(&self, hits: u64, fp: u64, depth: usize) {
        let mut found = self.found.lock().unwrap_or_else(|e| e.into_inner());
        let mut bits = hits;
        while bits != 0 {
            let i = bits.trailing_zeros() as usize;
            bits &= bits - 1;
            // Two workers can decide a property at once; the shallower path is the better one.
            if found[i].is_none_or(|(d, _)| depth < d) {
                found[i] = Some((depth, fp));
            }
        }
        let before = self.undecided.fetch_and(!hits, Relaxed);
        drop(found);
        if before & !hits == 0 && self.cfg.stop_when_decided {
            self.request_stop(STOP_DECIDED);
        }
    }

    fn search(&self) -> Outcome<M> {
        let mut total = M::Tally::default();
        let mut init = Vec::new();
        let mut generated = 0;
        for s in self.model.init_states() {
            if !self.model.within_boundary(&s) {
                continue;
            }
            generated += 1;
            let fp = fingerprint(&s);
            match self.insert(fp, fp) {
                Insert::New => {
                    self.model.tally_init(&s, &mut total);
                    init.push(Job { state: s, fp, depth: 1 });
                }
                Insert::Known => {}
                Insert::Refused => self.states_cut.store(true, Relaxed),
            }
        }
        self.progress.generated.fetch_add(generated, Relaxed);

        let done = match self.cfg.strategy {
            Strategy::Dfs => self.dfs(init),
            Strategy::Bfs => self.bfs(init),
        };
        let elapsed = self.start.elapsed();
        self.progress.done.store(true, Relaxed);

        let mut processed = 0;
        let mut depth_cut = self.depth_cut.load(Relaxed);
        for d in done {
            processed += d.processed;
            // A DFS worker's suspect may have been reached later by a shorter path.
            depth_cut |= d.suspects_overflow || d.suspects.iter().any(|fp| !self.visited.contains_key(fp));
            M::merge(&mut total, d.tally);
        }
        let unique = self.progress.unique();
        // Every stored state is processed (checked, then expanded or probed) unless a stop
        // left it behind.
        let abandoned = processed < unique;
        let mut bounds = Vec::new();
        if depth_cut {
            bounds.push(Bound::Depth {
                max_depth: self.cfg.max_depth.unwrap_or_default(),
            });
        }
        if self.states_cut.load(Relaxed) {
            bounds.push(Bound::States {
                max_states: self.cfg.max_states.unwrap_or_default(),
            });
        }
        let stop = self.stop.load(Relaxed);
        if abandoned {
            match stop {
                STOP_TIME => bounds.push(Bound::Time {
                    seconds: self.cfg.timeout.unwrap_or_default().as_secs_f64(),
                }),
                STOP_REQUESTED => bounds.push(Bound::Stopped),
                _ => {}
            }
        }

        let found = self.found.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let discoveries = found
            .iter()
            .enumerate()
            .filter_map(|(i, f)| f.map(|(_, fp)| (self.names[i], self.path_to(fp))))
            .collect();
        Outcome {
            generated: self.progress.generated(),
            unique,
            max_depth: self.progress.max_depth(),
            elapsed,
            bounds,
            all_decided: abandoned && stop == STOP_DECIDED,
            discoveries,
            tally: total,
        }
    }

    fn dfs(&self, init: Vec<Job<M::State>>) -> Vec<Done<M::Tally>> {
        if !init.is_empty() {
            self.lock_pool().chunks.push(init);
            self.pooled.store(1, Relaxed);
        }
        std::thread::scope(|scope| {
            let handles: Vec<_> = (0..self.threads)
                .map(|i| {
                    std::thread::Builder::new()
                        .name(format!("search-dfs-{i}"))
                        .spawn_scoped(scope, || self.dfs_worker())
                        .expect("spawn a search worker")
                })
                .collect();
            join_all(handles)
        })
    }

    fn dfs_worker(&self) -> Done<M::Tally> {
        let mut w = Worker::new(self);
        let mut stack: Vec<Job<M::State>> = Vec::new();
        loop {
            if stack.is_empty() {
                match self.take_work() {
                    Some(chunk) => stack = chunk,
                    None => break,
                }
            }
            if w.should_stop() {
                break;
            }
            if stack.len() >= 2 && self.hungry.load(Relaxed) > self.pooled.load(Relaxed) {
                self.share(&mut stack);
            }
            let job = stack.pop().expect("a non-empty stack");
            w.visit(&job.state, job.fp, job.depth, &mut stack);
        }
        w.finish()
    }

    /// Waits for a chunk of work; `None` once the search is over. It is over when every
    /// worker waits here with the pool empty: a waiting worker holds no states, so no one
    /// can produce more.
    fn take_work(&self) -> Option<Vec<Job<M::State>>> {
        let mut pool = self.lock_pool();
        loop {
            if pool.done || self.stopping() {
                return None;
            }
            if let Some(chunk) = pool.chunks.pop() {
                self.pooled.fetch_sub(1, Relaxed);
                return Some(chunk);
            }
            if pool.idle + 1 == self.threads {
                pool.done = true;
                self.wake.notify_all();
                return None;
            }
            pool.idle += 1;
            self.hungry.fetch_add(1, Relaxed);
            pool = self.wake.wait(pool).unwrap_or_else(|e| e.into_inner());
            pool.idle -= 1;
            self.hungry.fetch_sub(1, Relaxed);
        }
    }

    /// Gives away the bottom half of the stack: the shallowest states, whose subtrees are
    /// likely the largest, so a thief stays busy longest.
    fn share(&self, stack: &mut Vec<Job<M::State>>) {
        let chunk: Vec<_> = stack.drain(..stack.len() / 2).collect();
        self.lock_pool().chunks.push(chunk);
        self.pooled.fetch_add(1, Relaxed);
        self.wake.notify_one();
    }

    /// Level by level, so that a state stored while expanding level `d` has depth `d + 1` and
    /// its parent chain is a shortest path.
    fn bfs(&self, init: Vec<Job<M::State>>) -> Vec<Done<M::Tally>> {
        let mut workers: Vec<Worker<'_, M>> = (0..self.threads).map(|_| Worker::new(self)).collect();
        let mut level = init;
        while !level.is_empty() && !self.stopping() {
            level = if self.threads == 1 || level.len() < PARALLEL_LEVEL {
                let w = &mut workers[0];
                let mut next = Vec::new();
                for job in &level {
                    if w.should_stop() {
                        break;
                    }
                    w.visit(&job.state, job.fp, job.depth, &mut next);
                }
                next
            } else {
                self.bfs_level(&level, &mut workers)
            };
        }
        workers.into_iter().map(Worker::finish).collect()
    }

    fn bfs_level(&self, level: &[Job<M::State>], workers: &mut [Worker<'_, M>]) -> Vec<Job<M::State>> {
        let cursor = AtomicUsize::new(0);
        let parts: Vec<Vec<Job<M::State>>> = std::thread::scope(|scope| {
            let handles: Vec<_> = workers
                .iter_mut()
                .enumerate()
                .map(|(i, w)| {
                    let cursor = &cursor;
                    std::thread::Builder::new()
                        .name(format!("search-bfs-{i}"))
                        .spawn_scoped(scope, move || {
                            let mut next = Vec::new();
                            loop {
                                let start = cursor.fetch_add(BFS_CHUNK, Relaxed);
                                if start >= level.len() {
                                    return next;
                                }
                                for job in &level[start..(start + BFS_CHUNK).min(level.len())] {
                                    if w.should_stop() {
                                        return next;
                                    }
                                    w.visit(&job.state, job.fp, job.depth, &mut next);
                                }
                            }
                        })
                        .expect("spawn a search worker")
                })
                .collect();
            join_all(handles)
        });
        let mut next = Vec::with_capacity(parts.iter().map(Vec::len).sum());
        for p in parts {
            next.extend(p);
        }
        next
    }

    /// Walks the parent links back to an initial state, then replays forward, choosing at
    /// each step the action whose successor has the next fingerprint.
    fn path_to(&self, fp: u64) -> Path<M::State, M::Action> {
        let mut chain = vec![fp];
        let mut at = fp;
        loop {
            let parent = *self
                .visited
                .get(&at)
                .expect("a discovered state and its ancestors are stored");
            if parent == at {
                break;
            }
            assert!(chain.len() <= self.visited.len(), "parent links form a cycle");
            chain.push(parent);
            at = parent;
        }
        chain.reverse();
        let model = &*self.model;
        let (init, actions) = replay_fingerprints(model, &chain);
        Path::from_actions(model, init, &actions).expect("the replayed actions form a path")
    }
}

/// The initial state whose fingerprint is `fps[0]`, and the actions that lead from it
/// through states with the fingerprints `fps[1..]` in turn: how a stored chain of
/// fingerprints becomes a path again. Panics when a link does not replay, which means the
/// model is not deterministic (or `step` disagrees with `next_state`).
pub(crate) fn replay_fingerprints<M: Model>(model: &M, fps: &[u64]) -> (M::State, Vec<M::Action>)
where
    M::State: Hash + Clone,
    M::Action: Clone,
{
    let init = model
        .init_states()
        .into_iter()
        .find(|s| fingerprint(s) == fps[0])
        .expect("the root of a stored path is an initial state: is init_states deterministic?");
    let mut state = init.clone();
    let mut actions = Vec::with_capacity(fps.len().saturating_sub(1));
    let mut candidates = Vec::new();
    for &want in &fps[1..] {
        candidates.clear();
        model.actions(&state, &mut candidates);
        let (a, next) = candidates
            .drain(..)
            .find_map(|a| {
                let next = model.next_state(&state, a.clone())?;
                (fingerprint(&next) == want).then_some((a, next))
            })
            .expect(
                "a stored link replays: are actions and next_state deterministic, and does step agree with next_state?",
            );
        actions.push(a);
        state = next;
    }
    (init, actions)
}

/// One worker's private counters, so the hot path touches shared atomics only to store
/// states.
struct Worker<'a, M: Searchable + Send> {
    sh: &'a Shared<M>,
    tally: M::Tally,
    actions: Vec<M::Action>,
    generated: u64,
    processed: u64,
    max_depth: usize,
    until_clock: u32,
    suspects: Vec<u64>,
    suspects_overflow: bool,
}

impl<'a, M: Searchable + Send> Worker<'a, M> {
    fn new(sh: &'a Shared<M>) -> Self {
        Worker {
            sh,
            tally: M::Tally::default(),
            actions: Vec::new(),
            generated: 0,
            processed: 0,
            max_depth: 0,
            until_clock: CLOCK_EVERY,
            suspects: Vec::new(),
            suspects_overflow: false,
        }
    }

    fn should_stop(&mut self) -> bool {
        if self.sh.stopping() {
            return true;
        }
        self.until_clock -= 1;
        if self.until_clock == 0 {
            self.until_clock = CLOCK_EVERY;
            self.publish();
            if self.sh.deadline.is_some_and(|d| Instant::now() >= d) {
                self.sh.request_stop(STOP_TIME);
                return true;
            }
        }
        false
    }

    fn publish(&mut self) {
        self.sh.progress.generated.fetch_add(self.generated, Relaxed);
        self.generated = 0;
    }

    fn finish(mut self) -> Done<M::Tally> {
        self.publish();
        Done {
            tally: self.tally,
            processed: self.processed,
            suspects: self.suspects,
            suspects_overflow: self.suspects_overflow,
        }
    }

    /// Checks the properties on a stored state, then expands it into `out` (or, at the depth
    /// limit, looks for what the limit hides).
    fn visit(&mut self, state: &M::State, fp: u64, depth: usize, out: &mut Vec<Job<M::State>>) {
        let sh = self.sh;
        let model = &*sh.model;
        if depth > self.max_depth {
            self.max_depth = depth;
            sh.progress.max_depth.fetch_max(depth, Relaxed);
        }
        let undecided = sh.undecided.load(Relaxed);
        if undecided != 0 {
            let holds = model.conditions(state, undecided);
            let hits = undecided & ((holds & sh.sometimes) | (!holds & sh.always));
            if hits != 0 {
                sh.discover(hits, fp, depth);
            }
        }
        if sh.cfg.max_depth.is_some_and(|d| depth >= d) {
            self.probe(state);
        } else {
            let mut actions = std::mem::take(&mut self.actions);
            model.actions(state, &mut actions);
            for a in actions.drain(..) {
                let Some(next) = model.step(state, a, &mut self.tally) else {
                    continue;
                };
                if !model.within_boundary(&next) {
                    continue;
                }
                self.generated += 1;
                let next_fp = fingerprint(&next);
                match sh.insert(next_fp, fp) {
                    Insert::New => out.push(Job {
                        state: next,
                        fp: next_fp,
                        depth: depth + 1,
                    }),
                    Insert::Known => {}
                    Insert::Refused => sh.states_cut.store(true, Relaxed),
                }
            }
            self.actions = actions;
        }
        self.processed += 1;
    }

    /// A state at the depth limit is not expanded; its successors are computed only to learn
    /// whether the limit hides any. They are not generated states, so their tally is dropped.
    fn probe(&mut self, state: &M::State) {
        let sh = self.sh;
        // Once the bound is known to cut (or is reported anyway), probing learns nothing.
        if sh.depth_cut.load(Relaxed) || self.suspects_overflow {
            return;
        }
        let model = &*sh.model;
        let mut scratch = M::Tally::default();
        let mut actions = std::mem::take(&mut self.actions);
        model.actions(state, &mut actions);
        for a in actions.drain(..) {
            let Some(next) = model.step(state, a, &mut scratch) else {
                continue;
            };
            if !model.within_boundary(&next) {
                continue;
            }
            let next_fp = fingerprint(&next);
            if sh.visited.contains_key(&next_fp) {
                continue;
            }
            match sh.cfg.strategy {
                // Level by level, nothing is stored once the last level is being probed: an
                // unvisited successor stays unvisited.
                Strategy::Bfs => {
                    sh.depth_cut.store(true, Relaxed);
                    break;
                }
                // Depth first, another worker (or a later, shorter path) may still store it.
                Strategy::Dfs => self.suspect(next_fp),
            }
        }
        self.actions = actions;
    }

    fn suspect(&mut self, fp: u64) {
        if self.suspects_overflow {
            return;
        }
        if self.suspects.len() >= SUSPECTS_MAX {
            self.suspects.retain(|fp| !self.sh.visited.contains_key(fp));
            if self.suspects.len() >= SUSPECTS_MAX / 2 {
                self.suspects_overflow = true;
                self.suspects = Vec::new();
                return;
            }
        }
        self.suspects.push(fp);
    }
}

/// Joins every worker of a scope, passing a worker's panic on to the caller unchanged.
fn join_all<T>(handles: Vec<std::thread::ScopedJoinHandle<'_, T>>) -> Vec<T> {
    handles
        .into_iter()
        .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
        .collect()
}
