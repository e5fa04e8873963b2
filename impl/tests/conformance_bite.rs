//! Evidence that the conformance tests bite: each seeded bug, and each broken variant's
//! switch turned on in an implementation that claims the correct design, is caught.
//!
//! Each case replays the model's paths (up to a small depth) on the implementation built with
//! the bug and requires a difference: an observation, the set of enabled steps, a step the
//! implementation cannot take, or a durability violation the simulation reports. The failure
//! is printed (`cargo test --test conformance_bite -- --nocapture`) as one row of the table
//! in the note.

mod conformance_support;

use conformance_support::{every_path_against, impl_config};
use mv_impl::node::SeededBugs;
use mv_impl::sim::{self, ClusterConfig, SimOptions};
use mv_model::trace::{validate, Options};
use mv_model::{MvModelCfg, Variant, Workload};
use mv_spec::{Cl, Pairing, Ring};

fn small(variant: Variant, nodes: u8, rf: u8, writes: u8) -> MvModelCfg {
    MvModelCfg {
        ring: Ring {
            nodes,
            rf,
            pairing: Pairing::SelfFirst,
        },
        cl: Cl::Quorum,
        workload: Workload::Concurrent { writes, keys: 1 },
        crashes: 0,
        data_loss: 0,
        lossy: false,
        drops: mv_model::model::DEFAULT_DROPS,
        ..MvModelCfg::for_variant(variant)
    }
}

/// Replays every model path to `depth` on `imp` and returns the first line of the reason
/// it failed; panics if every path conforms.
fn caught(name: &str, model: &MvModelCfg, imp: ClusterConfig, depth: usize) -> String {
    match every_path_against(model, imp, depth) {
        Ok(e) => panic!(
            "{name}: {} states up to depth {depth} conform; the bug went unnoticed",
            e.states
        ),
        Err(e) => {
            let reason: Vec<&str> = e
                .lines()
                .filter(|l| {
                    l.starts_with("observations")
                        || l.starts_with("enabled")
                        || l.contains("cannot take")
                        || l.contains("violation")
                })
                .collect();
            let row = format!("| {name} | model→impl replay | {} |", reason.join(" "));
            eprintln!("{row}");
            e
        }
    }
}

#[test]
fn seeded_bugs_are_caught_by_replay() {
    let base = small(Variant::Cassandra40, 2, 2, 1);
    for (bug, model, depth) in [
        ("apply-base-before-batchlog", base.clone(), 4),
        ("ack-before-apply", base.clone(), 4),
        // Three replicas, so that the wrong index names a different view replica.
        ("pair-by-wrong-index", small(Variant::Cassandra40, 3, 3, 1), 4),
    ] {
        let imp = ClusterConfig {
            bugs: SeededBugs::named(bug).expect("a seeded bug"),
            ..impl_config(&model)
        };
        caught(bug, &model, imp, depth);
    }
}

/// An implementation that claims a correct design but has one design choice taken away.
#[test]
fn broken_switches_are_caught_by_replay() {
    for broken in Variant::ALL.into_iter().filter(|v| !v.is_correct()) {
        // The broken variant's own smallest configuration, checked against the correct design.
        let model = MvModelCfg {
            variant: broken.baseline().expect("a broken variant has a baseline"),
            view_repair_anytime: breaks_repair(broken),
            ..MvModelCfg::for_variant(broken)
        };
        let imp = ClusterConfig {
            variant: broken,
            ..impl_config(&model)
        };
        caught(broken.name(), &model, imp, 14);
    }
}

/// A4's switch on the workload that shows it: an implementation that reads views without
/// strict liveness, claiming 4.0, on `ttl-key`. It stores and sends what 4.0 does; once the
/// clock passes the deadline its `LIMIT 1` read still returns the row of the expired view
/// key, which the model's 4.0 does not.
#[test]
fn a4_switch_is_caught_on_the_ttl_key_workload() {
    let model = MvModelCfg {
        variant: Variant::Cassandra40,
        workload: Workload::TtlKey,
        ..MvModelCfg::for_variant(Variant::NonStrictLiveness)
    };
    let imp = ClusterConfig {
        variant: Variant::NonStrictLiveness,
        ..impl_config(&model)
    };
    let why = caught("non-strict-liveness on ttl-key", &model, imp.clone(), 14);
    assert!(why.contains("limit_reads"), "{why}");
    let (n, first) = rejected_by_validation(&imp, Variant::Cassandra40, 50);
    eprintln!(
        "| non-strict-liveness on ttl-key | impl-sim + validate (cassandra-4.0 header) | {n}/50 traces rejected; first: {} |",
        first.as_deref().unwrap_or("-")
    );
    assert!(n > 0, "no trace rejected");
}

/// A broken repair writes differently only when a view repair runs, and the paths and runs
/// checked here are short: they let it run while writes are on the wire, where it has the
/// most to write.
fn breaks_repair(v: Variant) -> bool {
    v.design().repair != mv_spec::variant::RepairStyle::Correct
}

/// Simulates with the bug (or the broken switch) under a header that claims the correct
/// design, and validates on the model. Returns how many of `seeds` runs were rejected and the
/// first rejection.
fn rejected_by_validation(imp: &ClusterConfig, claimed: Variant, seeds: u64) -> (u64, Option<String>) {
    let mut rejected = 0;
    let mut first = None;
    for seed in 0..seeds {
        let mut run = sim::run(imp.clone(), &SimOptions::new(seed, 2_000)).expect("valid configuration");
        run.header.variant = claimed.name().to_string();
        run.header.config.variant = claimed.name().to_string();
        let why = match (
            &run.error,
            validate(&run.header, &run.lines, &Options { partial: None }),
        ) {
            (Some(e), _) => Some(format!("the simulation reports {e}")),
            (None, Err(d)) => Some(format!(
                "mvcheck validate: {}",
                d.to_string().lines().take(2).collect::<Vec<_>>().join(" / ")
            )),
            (None, Ok(_)) => None,
        };
        if let Some(why) = why {
            rejected += 1;
            first.get_or_insert(why);
        }
    }
    (rejected, first)
}

#[test]
fn seeded_bugs_and_broken_switches_are_caught_by_validation() {
    let seeds = 200;
    let mut cases: Vec<(String, ClusterConfig, Variant)> = Vec::new();
    for bug in SeededBugs::NAMES {
        let mut imp = ClusterConfig::for_variant(Variant::Cassandra40);
        // Every base replica is a view replica on 3 nodes at RF 3, so a wrong pairing index
        // picks another node (at RF 1 there is only one index to get wrong).
        imp.ring.nodes = 3;
        imp.ring.rf = 3;
        imp.bugs = SeededBugs::named(bug).expect("a seeded bug");
        cases.push((bug.to_string(), imp, Variant::Cassandra40));
    }
    for v in Variant::ALL.into_iter().filter(|v| !v.is_correct()) {
        let claimed = v.baseline().expect("a broken variant has a baseline");
        let imp = ClusterConfig {
            view_repair_anytime: breaks_repair(v),
            ..ClusterConfig::for_variant(v)
        };
        cases.push((v.name().to_string(), imp, claimed));
    }
    let mut missed = Vec::new();
    for (name, imp, claimed) in cases {
        let (n, first) = rejected_by_validation(&imp, claimed, seeds);
        eprintln!(
            "| {name} | impl-sim + validate ({} header) | {n}/{seeds} traces rejected; first: {} |",
            claimed.name(),
            first.as_deref().unwrap_or("-")
        );
        if n == 0 {
            missed.push(name);
        }
    }
    // Strict liveness (A3) and the limit's count (A17) change how view rows read, not what any
    // node stores or sends: only the nodes' observed LIMIT 1 reads tell them apart.
    assert_eq!(missed, Vec::<String>::new());
}
