//! The search engine against models whose state spaces are known exactly, and against
//! Stateright on the same models.

use mv_model::search::{self, Bound, SearchCfg, Searchable, Strategy};
use mv_model::{MvModel, MvModelCfg, Variant};
use mv_spec::props::Kind;
use stateright::{Checker, Model, Property};
use std::collections::HashSet;
use std::hint::black_box;
use std::thread::ThreadId;
use std::time::{Duration, Instant};

const STRATEGIES: [(Strategy, usize); 4] = [
    (Strategy::Dfs, 1),
    (Strategy::Dfs, 2),
    (Strategy::Bfs, 1),
    (Strategy::Bfs, 2),
];

fn cfg(strategy: Strategy, threads: usize) -> SearchCfg {
    SearchCfg {
        strategy,
        threads,
        ..SearchCfg::default()
    }
}

/// Subsets of `n` bits, grown one bit at a time: `2^n` states, and a state's depth is its
/// popcount + 1 whichever path reaches it, so every bound has a closed-form answer. Levels are
/// wide (C(16, 8) = 12870), which exercises the parallel BFS.
struct Bits {
    n: u32,
    /// Makes the `always` property fail as soon as the top bit is set (one action away).
    top_bit_bad: bool,
}

impl Model for Bits {
    type State = u32;
    type Action = u32;

    fn init_states(&self) -> Vec<u32> {
        vec![0]
    }

    fn actions(&self, _: &u32, actions: &mut Vec<u32>) {
        actions.extend(0..self.n);
    }

    fn next_state(&self, s: &u32, bit: u32) -> Option<u32> {
        // Setting a bit that is set is no transition, as Stateright's `None` means.
        (s & (1 << bit) == 0).then_some(s | (1 << bit))
    }

    fn properties(&self) -> Vec<Property<Self>> {
        vec![
            Property::always("top bit clear", |m: &Bits, s: &u32| {
                !m.top_bit_bad || s & (1 << (m.n - 1)) == 0
            }),
            Property::sometimes("two bits", |_, s: &u32| s.count_ones() == 2),
        ]
    }
}

/// What the workers did: transitions, to compare with `generated`, and which threads made
/// them, to see that the work was shared.
#[derive(Default)]
struct Steps {
    transitions: u64,
    threads: HashSet<ThreadId>,
}

impl Searchable for Bits {
    type Tally = Steps;

    fn step(&self, s: &u32, a: u32, tally: &mut Steps) -> Option<u32> {
        let next = self.next_state(s, a);
        tally.transitions += next.is_some() as u64;
        tally.threads.insert(std::thread::current().id());
        next
    }

    fn tally_init(&self, _: &u32, tally: &mut Steps) {
        tally.transitions += 1;
    }

    fn merge(total: &mut Steps, part: Steps) {
        total.transitions += part.transitions;
        total.threads.extend(part.threads);
    }
}

fn binomial(n: u64, k: u64) -> u64 {
    (0..k).fold(1, |acc, i| acc * (n - i) / (i + 1))
}

/// An `n`×`n` torus walked right and up: every state is reachable, the shortest path to
/// `(x, y)` has `x + y` actions, and depth-first paths wander far longer.
struct Torus {
    n: u8,
    bad: Option<(u8, u8)>,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Move {
    Right,
    Up,
}

impl Model for Torus {
    type State = (u8, u8);
    type Action = Move;

    fn init_states(&self) -> Vec<(u8, u8)> {
        vec![(0, 0)]
    }

    fn actions(&self, _: &(u8, u8), actions: &mut Vec<Move>) {
        actions.extend([Move::Right, Move::Up]);
    }

    fn next_state(&self, &(x, y): &(u8, u8), a: Move) -> Option<(u8, u8)> {
        Some(match a {
            Move::Right => ((x + 1) % self.n, y),
            Move::Up => (x, (y + 1) % self.n),
        })
    }

    fn properties(&self) -> Vec<Property<Self>> {
        vec![
            Property::always("not bad", |m: &Torus, s| m.bad != Some(*s)),
            Property::sometimes("top right", |m: &Torus, s| *s == (m.n - 1, m.n - 1)),
        ]
    }
}

impl Searchable for Torus {
    type Tally = ();

    fn step(&self, s: &(u8, u8), a: Move, _: &mut ()) -> Option<(u8, u8)> {
        self.next_state(s, a)
    }

    fn merge(_: &mut (), _: ()) {}
}

/// The quarter plane, walked right and up, each step costing `work` rounds of arithmetic
/// (a stand-in for a real model's step). Unbounded unless `limit` sets a boundary
/// `x + y <= limit`, inside which it has `(limit + 1)(limit + 2) / 2` states.
struct Plane {
    limit: Option<u32>,
    work: u32,
}

impl Model for Plane {
    type State = (u32, u32);
    type Action = Move;

    fn init_states(&self) -> Vec<(u32, u32)> {
        vec![(0, 0)]
    }

    fn actions(&self, _: &(u32, u32), actions: &mut Vec<Move>) {
        actions.extend([Move::Right, Move::Up]);
    }

    fn next_state(&self, &(x, y): &(u32, u32), a: Move) -> Option<(u32, u32)> {
        let mut h = u64::from(x) << 32 | u64::from(y);
        for _ in 0..self.work {
            h = black_box(h.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1));
        }
        black_box(h);
        Some(match a {
            Move::Right => (x + 1, y),
            Move::Up => (x, y + 1),
        })
    }

    fn within_boundary(&self, &(x, y): &(u32, u32)) -> bool {
        self.limit.is_none_or(|l| x + y <= l)
    }

    fn properties(&self) -> Vec<Property<Self>> {
        vec![Property::always("anything", |_, _| true)]
    }
}

impl Searchable for Plane {
    type Tally = ();

    fn step(&self, s: &(u32, u32), a: Move, _: &mut ()) -> Option<(u32, u32)> {
        self.next_state(s, a)
    }

    fn merge(_: &mut (), _: ()) {}
}

/// Our counts (unique and generated) equal Stateright's on the same model, for both
/// strategies and 1 and 2 threads, and nothing is reported cut.
fn assert_same_counts<M>(make: impl Fn() -> M)
where
    M: Searchable + Send + 'static,
    M::State: 'static,
    M::Action: 'static,
{
    let sr = make().checker().spawn_bfs().join();
    for (strategy, threads) in STRATEGIES {
        let out = search::run(make(), cfg(strategy, threads));
        let at = format!("{strategy:?} x{threads}");
        assert_eq!(out.unique, sr.unique_state_count() as u64, "{at}: unique");
        assert_eq!(out.generated, sr.state_count() as u64, "{at}: generated");
        assert!(out.bounds.is_empty(), "{at}: {:?}", out.bounds);
        assert!(!out.all_decided, "{at}");
        assert!(out.exhaustive(), "{at}");
    }
}

#[test]
fn counts_match_stateright_on_hand_models() {
    assert_same_counts(|| Bits {
        n: 12,
        top_bit_bad: false,
    });
    assert_same_counts(|| Torus { n: 13, bad: None });
    assert_same_counts(|| Plane {
        limit: Some(60),
        work: 0,
    });
}

#[test]
fn counts_are_exact_on_a_known_space() {
    for (strategy, threads) in STRATEGIES {
        let n = 16;
        let out = search::run(Bits { n, top_bit_bad: false }, cfg(strategy, threads));
        assert_eq!(out.unique, 1 << n, "{strategy:?} x{threads}");
        // The initial state, plus one successor per clear bit of every state.
        assert_eq!(
            out.generated,
            1 + u64::from(n) * (1 << (n - 1)),
            "{strategy:?} x{threads}"
        );
        assert_eq!(out.max_depth, n as usize + 1);
        assert!(out.exhaustive());
    }
}

/// `within_boundary` is honoured: states outside it are neither counted nor expanded.
#[test]
fn boundary_is_honoured() {
    for (strategy, threads) in STRATEGIES {
        let out = search::run(
            Plane {
                limit: Some(99),
                work: 0,
            },
            cfg(strategy, threads),
        );
        assert_eq!(out.unique, 100 * 101 / 2, "{strategy:?} x{threads}");
        assert!(out.exhaustive());
    }
}

/// Every worker's tally reaches the outcome, and with two threads both did part of the work.
#[test]
fn tally_is_merged_across_threads() {
    for (strategy, threads) in STRATEGIES {
        let n = 16;
        let out = search::run(Bits { n, top_bit_bad: false }, cfg(strategy, threads));
        let at = format!("{strategy:?} x{threads}");
        assert_eq!(out.tally.transitions, out.generated, "{at}");
        assert_eq!(out.tally.transitions, 1 + u64::from(n) * (1 << (n - 1)), "{at}");
        // BFS runs each wide level on fresh threads, so count at least, not exactly.
        let used = out.tally.threads.len();
        assert!(used >= threads && (threads > 1 || used == 1), "{at}: {used} threads");
    }
}

/// `max_states` bounds unique states exactly, and a bound is reported only if it refused
/// a state that was never visited.
#[test]
fn state_bound_is_exact() {
    for (strategy, threads) in STRATEGIES {
        let at = format!("{strategy:?} x{threads}");
        let bounded = |max: usize| {
            search::run(
                Torus { n: 20, bad: None },
                SearchCfg {
                    max_states: Some(max),
                    ..cfg(strategy, threads)
                },
            )
        };
        for max in [1, 100, 399] {
            let out = bounded(max);
            assert_eq!(out.unique, max as u64, "{at}");
            assert_eq!(out.bounds, vec![Bound::States { max_states: max }], "{at}");
            assert!(!out.exhaustive(), "{at}");
        }
        for max in [400, 401] {
            let out = bounded(max);
            assert_eq!(out.unique, 400, "{at}");
            assert!(out.exhaustive(), "{at}: {:?}", out.bounds);
        }
        // Wide BFS levels, filled part-way by two threads at once.
        let out = search::run(
            Bits {
                n: 16,
                top_bit_bad: false,
            },
            SearchCfg {
                max_states: Some(30_000),
                ..cfg(strategy, threads)
            },
        );
        assert_eq!(out.unique, 30_000, "{at}");
        assert_eq!(out.bounds, vec![Bound::States { max_states: 30_000 }], "{at}");
    }
}

/// `max_depth` visits exactly the states of depth at most the bound (in `Bits` a state's
/// depth does not depend on the path), and reports the bound only when it hid something.
#[test]
fn depth_bound_is_exact() {
    let n = 16;
    for (strategy, threads) in STRATEGIES {
        let at = format!("{strategy:?} x{threads}");
        let bounded = |max_depth: usize| {
            search::run(
                Bits { n, top_bit_bad: false },
                SearchCfg {
                    max_depth: Some(max_depth),
                    ..cfg(strategy, threads)
                },
            )
        };
        for max_depth in [1, 5, 9, 16] {
            let out = bounded(max_depth);
            let expected: u64 = (0..max_depth as u64).map(|k| binomial(n.into(), k)).sum();
            assert_eq!(out.unique, expected, "{at}, depth {max_depth}");
            assert_eq!(out.max_depth, max_depth, "{at}");
            assert_eq!(out.bounds, vec![Bound::Depth { max_depth }], "{at}");
            assert!(!out.exhaustive(), "{at}");
        }
        // The deepest state has depth n + 1 and no successor: a bound there cuts nothing.
        for max_depth in [n as usize + 1, 100] {
            let out = bounded(max_depth);
            assert_eq!(out.unique, 1 << n, "{at}");
            assert!(out.exhaustive(), "{at}, depth {max_depth}: {:?}", out.bounds);
        }
    }
}

/// On the torus the deepest states have successors, all already visited: a bound at exactly
/// the eccentricity cuts nothing, one less cuts the far corner.
#[test]
fn depth_bound_at_the_edge_of_the_space() {
    let n = 10u8;
    let torus = || Torus { n, bad: None };
    // The far corner is 2(n - 1) actions away: depth 2n - 1.
    let ecc = 2 * n as usize - 1;
    for threads in [1, 2] {
        let bfs = |max_depth| {
            search::run(
                torus(),
                SearchCfg {
                    max_depth: Some(max_depth),
                    ..cfg(Strategy::Bfs, threads)
                },
            )
        };
        let out = bfs(ecc);
        assert_eq!(out.unique, 100);
        assert!(out.exhaustive(), "{:?}", out.bounds);
        let out = bfs(ecc - 1);
        assert_eq!(out.unique, 99);
        assert_eq!(out.bounds, vec![Bound::Depth { max_depth: ecc - 1 }]);

        // Depth first, a path can be as long as the space is large; any state that deep has
        // seen every other state on its path.
        let out = search::run(
            torus(),
            SearchCfg {
                max_depth: Some(100),
                ..cfg(Strategy::Dfs, threads)
            },
        );
        assert_eq!(out.unique, 100);
        assert!(out.exhaustive(), "{:?}", out.bounds);
        let out = search::run(
            torus(),
            SearchCfg {
                max_depth: Some(5),
                ..cfg(Strategy::Dfs, threads)
            },
        );
        assert_eq!(out.bounds, vec![Bound::Depth { max_depth: 5 }]);
        assert!(!out.exhaustive());
    }
}

/// An unbounded model stops within a generous margin of its timeout, whatever the strategy.
#[test]
fn timeout_stops_promptly() {
    for (strategy, threads) in STRATEGIES {
        let start = Instant::now();
        let out = search::run(
            Plane {
                limit: None,
                work: 2_000,
            },
            SearchCfg {
                timeout: Some(Duration::from_secs(1)),
                ..cfg(strategy, threads)
            },
        );
        let took = start.elapsed();
        let at = format!("{strategy:?} x{threads}");
        assert!(took < Duration::from_secs(3), "{at}: took {took:?}");
        assert!(out.elapsed >= Duration::from_secs(1), "{at}: {:?}", out.elapsed);
        assert_eq!(out.bounds, vec![Bound::Time { seconds: 1.0 }], "{at}");
        assert!(!out.exhaustive());
        assert!(out.unique > 1000, "{at}: {} states", out.unique);
    }
}

#[test]
fn stop_request_cuts_the_search() {
    for (strategy, threads) in STRATEGIES {
        let running = search::spawn(
            std::sync::Arc::new(Plane {
                limit: None,
                work: 2_000,
            }),
            cfg(strategy, threads),
        );
        let progress = running.progress();
        std::thread::sleep(Duration::from_millis(300));
        assert!(progress.unique() > 0);
        assert!(!progress.is_done());
        let start = Instant::now();
        running.stop();
        let out = running.join();
        assert!(start.elapsed() < Duration::from_secs(1));
        assert!(progress.is_done());
        assert_eq!(out.bounds, vec![Bound::Stopped], "{strategy:?} x{threads}");
        assert_eq!(out.unique, progress.unique());
        assert!(!out.exhaustive());
    }
}

/// BFS returns a shortest path to each discovery; DFS finds the same states by some path.
#[test]
fn bfs_paths_are_shortest() {
    for (strategy, threads) in STRATEGIES {
        let at = format!("{strategy:?} x{threads}");
        let out = search::run(
            Torus {
                n: 9,
                bad: Some((3, 2)),
            },
            cfg(strategy, threads),
        );
        let bad = &out.discoveries["not bad"];
        let example = &out.discoveries["top right"];
        assert_eq!(*bad.last_state(), (3, 2), "{at}");
        assert_eq!(*example.last_state(), (8, 8), "{at}");
        let (bad_len, example_len) = (bad.clone().into_actions().len(), example.clone().into_actions().len());
        if strategy == Strategy::Bfs {
            assert_eq!(bad_len, 5, "{at}");
            assert_eq!(example_len, 16, "{at}");
        } else {
            assert!(bad_len >= 5 && example_len >= 16, "{at}");
        }
    }
}

/// Stopping once every property is decided settles the verdicts but is not exhaustive;
/// without it the same search is.
#[test]
fn stop_when_decided_is_not_exhaustive() {
    for (strategy, threads) in STRATEGIES {
        let at = format!("{strategy:?} x{threads}");
        let bits = || Bits {
            n: 16,
            top_bit_bad: true,
        };
        let out = search::run(bits(), cfg(strategy, threads));
        assert_eq!(out.discoveries.len(), 2, "{at}");
        assert!(out.all_decided, "{at}");
        assert!(out.bounds.is_empty(), "{at}: {:?}", out.bounds);
        assert!(!out.exhaustive(), "{at}");
        assert!(out.unique < 1 << 16, "{at}");
        if strategy == Strategy::Bfs {
            assert_eq!(out.discoveries["top bit clear"].clone().into_actions().len(), 1);
            assert_eq!(out.discoveries["two bits"].clone().into_actions().len(), 2);
        }

        let out = search::run(
            bits(),
            SearchCfg {
                stop_when_decided: false,
                ..cfg(strategy, threads)
            },
        );
        assert_eq!(out.discoveries.len(), 2, "{at}");
        assert!(!out.all_decided, "{at}");
        assert!(out.exhaustive(), "{at}");
        assert_eq!(out.unique, 1 << 16, "{at}");
    }
}

#[test]
fn bounds_display() {
    assert_eq!(Bound::Depth { max_depth: 12 }.to_string(), "depth bound (12)");
    assert_eq!(
        Bound::States { max_states: 25_000 }.to_string(),
        "state bound (25000 unique states)"
    );
    assert_eq!(Bound::Time { seconds: 300.0 }.to_string(), "time bound (300 s)");
    assert_eq!(Bound::Stopped.to_string(), "a stop request");
}

struct Eventually;

impl Model for Eventually {
    type State = u8;
    type Action = u8;
    fn init_states(&self) -> Vec<u8> {
        vec![0]
    }
    fn actions(&self, _: &u8, _: &mut Vec<u8>) {}
    fn next_state(&self, _: &u8, _: u8) -> Option<u8> {
        None
    }
    fn properties(&self) -> Vec<Property<Self>> {
        vec![Property::eventually("never", |_, _| false)]
    }
}

impl Searchable for Eventually {
    type Tally = ();
    fn step(&self, _: &u8, _: u8, _: &mut ()) -> Option<u8> {
        None
    }
    fn merge(_: &mut (), _: ()) {}
}

/// An `eventually` property is refused rather than silently left unchecked.
#[test]
#[should_panic(expected = "eventually")]
fn eventually_properties_are_refused() {
    search::run(Eventually, SearchCfg::default());
}

fn mv(variant: Variant) -> MvModel {
    MvModelCfg::for_variant(variant).into_model()
}

/// A correct variant with one write and one crash: 1,689 states, with witnesses to find.
fn mv_small() -> MvModel {
    MvModelCfg {
        crashes: 1,
        workload: mv_model::Workload::Concurrent { writes: 1, keys: 1 },
        ..MvModelCfg::for_variant(Variant::Cassandra40)
    }
    .into_model()
}

/// On the real model: the same states, the same transitions and the same verdicts as
/// Stateright, and the same rule coverage whatever the order of the search.
#[test]
fn mv_model_matches_stateright() {
    type Make = fn() -> MvModel;
    let models: [(&str, Make); 3] = [
        ("cassandra-4.0 small", mv_small),
        ("no-partition-lock", || mv(Variant::NoPartitionLock)),
        ("no-local-batchlog", || mv(Variant::NoLocalBatchlog)),
    ];
    for (name, make) in models {
        let sr = make().checker().spawn_bfs().join();
        let sr_found: Vec<&str> = {
            let mut v: Vec<_> = sr.discoveries().into_keys().collect();
            v.sort();
            v
        };
        let mut coverage = None;
        for (strategy, threads) in STRATEGIES {
            let at = format!("{name} {strategy:?} x{threads}");
            let out = search::run(
                make(),
                SearchCfg {
                    stop_when_decided: false,
                    ..cfg(strategy, threads)
                },
            );
            assert_eq!(out.unique, sr.unique_state_count() as u64, "{at}");
            assert_eq!(out.generated, sr.state_count() as u64, "{at}");
            assert!(out.exhaustive(), "{at}");
            let found: Vec<&str> = out.discoveries.keys().copied().collect();
            assert_eq!(found, sr_found, "{at}");
            // Each discovery replays to a state where its property has the discovered value.
            let m = make();
            for p in m.properties() {
                if let Some(path) = out.discoveries.get(p.name) {
                    let replayed = m.replay(&path.clone().into_actions()).expect("replays");
                    let holds = (p.condition)(&m, replayed.last_state());
                    let kind = mv_spec::props::property(p.name).unwrap().kind;
                    assert_eq!(holds, kind == Kind::Sometimes, "{at}: {}", p.name);
                }
            }
            assert!(out.tally.0.iter().sum::<u64>() > 0, "{at}");
            match &coverage {
                None => coverage = Some(out.tally),
                Some(c) => assert_eq!(*c, out.tally, "{at}: coverage"),
            }
        }
    }
}

#[test]
fn mv_model_bfs_path_is_no_longer_than_stateright() {
    let sr = mv(Variant::NoLocalBatchlog).checker().spawn_bfs().join();
    let sr_len = sr.discovery("P-no-missing").unwrap().into_actions().len();
    for threads in [1, 2] {
        let out = search::run(mv(Variant::NoLocalBatchlog), cfg(Strategy::Bfs, threads));
        let len = out.discoveries["P-no-missing"].clone().into_actions().len();
        assert!(len <= sr_len, "{len} > {sr_len}");
    }
}

#[test]
fn mv_model_state_bound() {
    for (strategy, threads) in STRATEGIES {
        let out = search::run(
            mv(Variant::NoPartitionLock),
            SearchCfg {
                max_states: Some(500),
                stop_when_decided: false,
                ..cfg(strategy, threads)
            },
        );
        assert_eq!(out.unique, 500, "{strategy:?} x{threads}");
        assert_eq!(out.bounds, vec![Bound::States { max_states: 500 }]);
    }
}

/// A directed graph given by its successor lists; node 0 is initial.
struct Graph(Vec<Vec<u8>>);

impl Model for Graph {
    type State = u8;
    type Action = u8;

    fn init_states(&self) -> Vec<u8> {
        vec![0]
    }

    fn actions(&self, s: &u8, actions: &mut Vec<u8>) {
        actions.extend(&self.0[*s as usize]);
    }

    fn next_state(&self, _: &u8, to: u8) -> Option<u8> {
        Some(to)
    }
}

impl Searchable for Graph {
    type Tally = ();

    fn step(&self, s: &u8, a: u8, _: &mut ()) -> Option<u8> {
        self.next_state(s, a)
    }

    fn merge(_: &mut (), _: ()) {}
}

/// Depth first, the state at the depth limit can have a successor that is not yet visited but
/// is reached later by a shorter path: that hides nothing, so no bound is reported.
#[test]
fn depth_bound_not_reported_when_a_shorter_path_reaches_the_state() {
    // 0 -> 1 -> 5 (short) and 0 -> 2 -> 3 -> 4 -> 5 (long, taken first by DFS, which pops
    // the last successor pushed). With depth 4, node 4 is not expanded; 5 comes in via 1.
    let graph = || Graph(vec![vec![1, 2], vec![5], vec![3], vec![4], vec![5], vec![]]);
    for (strategy, threads) in STRATEGIES {
        let at = format!("{strategy:?} x{threads}");
        let bounded = |max_depth| {
            search::run(
                graph(),
                SearchCfg {
                    max_depth: Some(max_depth),
                    ..cfg(strategy, threads)
                },
            )
        };
        let out = bounded(4);
        assert_eq!(out.unique, 6, "{at}");
        assert!(out.exhaustive(), "{at}: {:?}", out.bounds);
        // One less and node 4 is never visited.
        let out = bounded(3);
        assert_eq!(out.unique, 5, "{at}");
        assert_eq!(out.bounds, vec![Bound::Depth { max_depth: 3 }], "{at}");
    }
}
