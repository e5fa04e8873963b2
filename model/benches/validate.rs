//! Trace-validation throughput, in events per second (issue 5 asks for at least 100,000).
//!
//! `cargo bench -p mv-model --bench validate`
//!
//! The traces are random runs of the model recorded with `trace::record`: every variant's
//! default configuration plus one with crashes, data loss and message loss. Each run is short
//! (a workload of a few writes), so the measurement includes the per-trace setup (building the
//! model and its initial state) the way validating many small simulation traces would.
//! Reported separately: validation of parsed lines, parsing, parsing plus validation, and
//! `--partial` on traces with every other line removed.

use mv_model::trace::{random_run, record, validate, Options};
use mv_model::{MvModelCfg, Variant};
use mv_spec::trace::{self, TraceHeader, TraceLine};
use std::hint::black_box;
use std::time::{Duration, Instant};

fn corpus(min_events: usize) -> Vec<(TraceHeader, Vec<TraceLine>)> {
    let mut cfgs: Vec<MvModelCfg> = Variant::ALL.into_iter().map(MvModelCfg::for_variant).collect();
    let mut faulty = MvModelCfg::for_variant(Variant::Cassandra40);
    faulty.crashes = 2;
    faulty.data_loss = 1;
    faulty.lossy = true;
    cfgs.push(faulty);
    let models: Vec<_> = cfgs.into_iter().map(MvModelCfg::into_model).collect();
    let mut out = Vec::new();
    let mut events = 0;
    let mut seed = 0;
    while events < min_events {
        let m = &models[seed as usize % models.len()];
        let run = random_run(m, seed, 1_000);
        let t = record(m, &run, Some(seed)).expect("model runs record");
        events += t.1.len();
        out.push(t);
        seed += 1;
    }
    out
}

/// Runs `f` repeatedly for at least `min`, and returns events per second.
fn rate(events: usize, min: Duration, mut f: impl FnMut()) -> (f64, u32) {
    f(); // warm up
    let start = Instant::now();
    let mut rounds = 0;
    while start.elapsed() < min {
        f();
        rounds += 1;
    }
    (events as f64 * rounds as f64 / start.elapsed().as_secs_f64(), rounds)
}

fn report(what: &str, events: usize, (r, rounds): (f64, u32)) {
    println!("{what:<44} {:>12.0} events/s  ({rounds} rounds of {events} events)", r);
}

fn main() {
    // `cargo test --benches` passes `--test`: run once, quickly, as a smoke test.
    let quick = std::env::args().any(|a| a == "--test");
    let (n, min) = if quick {
        (2_000, Duration::ZERO)
    } else {
        (200_000, Duration::from_secs(3))
    };
    let traces = corpus(n);
    let events: usize = traces.iter().map(|t| t.1.len()).sum();
    let texts: Vec<String> = traces.iter().map(|(h, l)| trace::to_ndjson(h, l)).collect();
    let bytes: usize = texts.iter().map(String::len).sum();
    println!(
        "{} traces, {events} events, {:.1} MB of NDJSON ({} bytes/event)",
        traces.len(),
        bytes as f64 / 1e6,
        bytes / events
    );
    let strict = Options::default();
    report(
        "validate (strict, parsed lines)",
        events,
        rate(events, min, || {
            for (h, l) in &traces {
                black_box(validate(h, l, &strict).expect("valid"));
            }
        }),
    );
    report(
        "parse NDJSON",
        events,
        rate(events, min, || {
            for t in &texts {
                black_box(trace::read(t).expect("well formed"));
            }
        }),
    );
    report(
        "parse + validate (strict), as mvcheck validate",
        events,
        rate(events, min, || {
            for t in &texts {
                let t = trace::read(t).expect("well formed");
                black_box(validate(&t.header, &t.lines, &strict).expect("valid"));
            }
        }),
    );
    // Partial search: every other line unrecorded. Slower by design, so on a tenth.
    let gappy: Vec<(TraceHeader, Vec<TraceLine>)> = traces
        .iter()
        .take(traces.len() / 10 + 1)
        .map(|(h, l)| (h.clone(), l.iter().step_by(2).cloned().collect()))
        .collect();
    let gappy_events: usize = gappy.iter().map(|t| t.1.len()).sum();
    for n in [1, 3] {
        let opts = Options { partial: Some(n) };
        report(
            &format!("validate --partial {n} (every other line)"),
            gappy_events,
            rate(gappy_events, min, || {
                for (h, l) in &gappy {
                    black_box(validate(h, l, &opts).expect("valid"));
                }
            }),
        );
    }
}
