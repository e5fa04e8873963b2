//! The sync bound, measured on the implementation: the model computes T, the longest time
//! any fault-free run can take from the last fault and the last client write to quiescence
//! (`mv_model::bound`); the implementation, run in virtual time with Cassandra's constants
//! (`mv_impl::sim::timed`), must never take longer, and every timed run must be a run the
//! model allows.

use mv_impl::sim::timed::{run_timed, TimedOptions};
use mv_impl::sim::ClusterConfig;
use mv_model::bound::SyncBound;
use mv_model::trace::{model_config, validate_on, Options};
use mv_model::{MvModelCfg, Variant};
use mv_spec::timing::Timing;
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::sync::OnceLock;

const CORRECT: [Variant; 4] = [
    Variant::Cassandra30,
    Variant::Cassandra40,
    Variant::Cassandra30Cbl,
    Variant::Cassandra40Cbl,
];

/// T in milliseconds, per correct variant at its default, computed once.
fn bound(v: Variant) -> u64 {
    static T: OnceLock<BTreeMap<Variant, u64>> = OnceLock::new();
    T.get_or_init(|| {
        CORRECT
            .iter()
            .map(|&v| {
                let m = MvModelCfg::for_variant(v).into_model();
                match m.sync_bound(10_000_000, Timing::CASSANDRA) {
                    SyncBound::Bounded(w) => (v, w.t_ms),
                    other => panic!("{}: no sync bound: {other:?}", v.name()),
                }
            })
            .collect()
    })[&v]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// No timed run of a correct variant, whatever its seed and however late its faults,
    /// takes longer than T to settle, and every one settles with every property holding.
    #[test]
    fn no_timed_run_takes_longer_than_t(
        seed in any::<u64>(),
        variant in prop::sample::select(CORRECT.to_vec()),
        window in 0u64..120_000,
    ) {
        let opts = TimedOptions { fault_window: window, ..TimedOptions::new(seed) };
        let run = run_timed(ClusterConfig::for_variant(variant), &opts).unwrap();
        prop_assert_eq!(&run.error, &None);
        prop_assert!(run.violated.is_empty(), "{:?}", run.violated);
        let took = run.sync_time();
        prop_assert!(took.is_some(), "seed {} did not settle", seed);
        let t = bound(variant);
        prop_assert!(
            took.unwrap() <= t * 1_000,
            "{} seed {}: settled after {} us, T is {} ms",
            variant.name(), seed, took.unwrap(), t
        );
    }
}

/// Timed runs are runs of the model: their traces validate, so the time they measure is
/// the time of a behaviour the bound covers.
#[test]
fn timed_traces_validate_on_the_model() {
    for v in CORRECT {
        let mut steps = 0;
        for seed in 0..15 {
            let opts = TimedOptions {
                record: true,
                ..TimedOptions::new(seed)
            };
            let run = run_timed(ClusterConfig::for_variant(v), &opts).unwrap();
            steps += run.lines.len();
            let model = model_config(&run.header.config).unwrap().into_model();
            if let Err(d) = validate_on(&model, &run.lines, &Options { partial: None }) {
                panic!("{} seed {seed}: {d}", v.name());
            }
        }
        // A crash early in the window can end a run in three steps; most do real work.
        assert!(steps > 15 * 5, "{}: only {steps} steps in 15 runs", v.name());
    }
}

/// The measurement measures something: faults late in the window and a restart delay make
/// some runs take tens of seconds, and a shorter restart bound makes every run shorter.
#[test]
fn sync_time_follows_the_restart_delay() {
    let longest = |max_restart: u64| {
        (0..200u64)
            .map(|seed| {
                let opts = TimedOptions {
                    timing: Timing {
                        max_restart,
                        ..Timing::CASSANDRA
                    },
                    ..TimedOptions::new(seed)
                };
                run_timed(ClusterConfig::for_variant(Variant::Cassandra40), &opts)
                    .unwrap()
                    .sync_time()
                    .unwrap()
            })
            .max()
            .unwrap()
    };
    let slow = longest(60_000);
    let fast = longest(1_000);
    assert!(slow > 30_000_000, "longest with 60 s restarts: {slow} us");
    assert!(fast < slow, "1 s restarts: {fast} us, 60 s restarts: {slow} us");
}
