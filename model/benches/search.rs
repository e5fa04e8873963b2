//! `cargo bench -p mv-model --bench search [-- THREADS]`: each correct variant's default
//! configuration checked exhaustively (DFS), five runs each, with rule coverage counted
//! (`MvModel`'s own tally) and without (a wrapper whose tally is `()`), reporting the median
//! unique states/s of each and the cost of counting.
//!
//! What the wrapper cannot take away is the recording itself: each handler ORs its rule into
//! a thread-local set, and `MvModel::step` reads it. That is part of both figures.

use mv_model::search::{self, SearchCfg, Searchable, Strategy};
use mv_model::{Action, MvModel, MvModelCfg, State, Variant};
use stateright::{Model, Property};
use std::time::Instant;

/// `MvModel` with nothing tallied.
struct Uncounted(MvModel);

impl Model for Uncounted {
    type State = State;
    type Action = Action;
    fn init_states(&self) -> Vec<State> {
        self.0.init_states()
    }
    fn actions(&self, s: &State, a: &mut Vec<Action>) {
        self.0.actions(s, a)
    }
    fn next_state(&self, s: &State, a: Action) -> Option<State> {
        self.0.step(s, a).0
    }
    fn properties(&self) -> Vec<Property<Self>> {
        // Names and kinds only: `conditions` below evaluates them.
        self.0
            .properties()
            .into_iter()
            .map(|p| {
                if mv_model::is_always(&p) {
                    Property::always(p.name, |_: &Uncounted, _: &State| true)
                } else {
                    Property::sometimes(p.name, |_: &Uncounted, _: &State| false)
                }
            })
            .collect()
    }
}

impl Searchable for Uncounted {
    type Tally = ();
    fn step(&self, s: &State, a: Action, _: &mut ()) -> Option<State> {
        self.0.step(s, a).0
    }
    fn merge(_: &mut (), _: ()) {}
    fn conditions(&self, s: &State, undecided: u64) -> u64 {
        self.0.conditions(s, undecided)
    }
}

fn cfg(threads: usize) -> SearchCfg {
    SearchCfg {
        strategy: Strategy::Dfs,
        threads,
        stop_when_decided: false,
        ..SearchCfg::default()
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn main() {
    let threads: usize = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(2);
    println!("threads={threads}, DFS, 5 runs each, median");
    println!(
        "{:<36} {:>10} {:>14} {:>14} {:>9}",
        "variant", "unique", "counted/s", "uncounted/s", "cost"
    );
    for v in Variant::ALL.into_iter().filter(|v| v.is_correct()) {
        let (mut with, mut without, mut unique) = (Vec::new(), Vec::new(), 0);
        for _ in 0..5 {
            let t = Instant::now();
            let o = search::run(MvModelCfg::for_variant(v).into_model(), cfg(threads));
            assert!(o.exhaustive());
            unique = o.unique;
            with.push(o.unique as f64 / t.elapsed().as_secs_f64());
            let t = Instant::now();
            let o = search::run(Uncounted(MvModelCfg::for_variant(v).into_model()), cfg(threads));
            assert_eq!(o.unique, unique);
            without.push(o.unique as f64 / t.elapsed().as_secs_f64());
        }
        let (w, wo) = (median(with), median(without));
        println!(
            "{:<36} {:>10} {:>14.0} {:>14.0} {:>8.1}%",
            v.name(),
            unique,
            w,
            wo,
            (wo / w - 1.0) * 100.0
        );
    }
}
