//! Model → implementation conformance.
//!
//! 1. Every path of the model up to depth `k` of a tiny configuration is replayed on the
//!    implementation. After every step the two must agree on the whole observation (every
//!    node's tables and queues, every client's outcomes, quiescence) and on the set of steps
//!    that are enabled next, which checks the simulation's network, timers, timer guards and
//!    fault budgets as well as the node.
//! 2. The counterexample the model finds for each broken variant is replayed on the
//!    implementation built with the same switch: it must replay step for step and end in the
//!    same anomaly. Built without the switch (the variant's correct design), the
//!    implementation must not show it: the path either stops replaying or ends with the
//!    property holding.

mod conformance_support;

use conformance_support::{every_path_against, impl_config, replay, replay_steps, Explored};
use mv_impl::sim::{Cluster, ClusterConfig};
use mv_model::{MvModel, MvModelCfg, Variant, Workload};
use mv_spec::rule::Rule;
use mv_spec::trace::Step;
use mv_spec::{Cl, Pairing, Ring};
use stateright::{Checker, Model};

/// Walks every path of length at most `depth`, comparing at every state; panics with the
/// path at the first difference. Returns the number of states compared.
fn every_path(cfg: MvModelCfg, depth: usize) -> Explored {
    let imp = impl_config(&cfg);
    every_path_against(&cfg, imp, depth).unwrap_or_else(|e| panic!("{e}"))
}

fn cfg(variant: Variant, nodes: u8, rf: u8, cl: Cl, workload: Workload) -> MvModelCfg {
    MvModelCfg {
        ring: Ring {
            nodes,
            rf,
            pairing: Pairing::SelfFirst,
        },
        cl,
        workload,
        crashes: 0,
        data_loss: 0,
        lossy: false,
        drops: mv_model::model::DEFAULT_DROPS,
        ..MvModelCfg::for_variant(variant)
    }
}

/// Two concurrent writes to one row at QUORUM, with a crash: locks, both halves of the base
/// write, the coordinator's counting and recovery's commit-log replay.
#[test]
fn every_path_4_0_concurrent_with_a_crash() {
    let c = MvModelCfg {
        crashes: 1,
        ..cfg(
            Variant::Cassandra40,
            2,
            2,
            Cl::Quorum,
            Workload::Concurrent { writes: 2, keys: 1 },
        )
    };
    assert!(every_path(c, 9).states > 10_000);
}

/// A remote paired view replica (RF 1 on 2 nodes) on a lossy network: the local batchlog,
/// its replay into hints, hint delivery and the view acks.
#[test]
fn every_path_3_0_batchlog_and_hints_on_a_lossy_network() {
    let c = MvModelCfg {
        lossy: true,
        drops: mv_model::model::DEFAULT_DROPS,
        ..cfg(
            Variant::Cassandra30,
            2,
            1,
            Cl::All,
            Workload::Concurrent { writes: 2, keys: 2 },
        )
    };
    assert!(every_path(c, 9).states > 10_000);
}

/// The coordinator batchlog with a crash: W2, W7-W9 and the replay after the coordinator is
/// gone.
#[test]
fn every_path_coordinator_batchlog_with_a_crash() {
    let c = MvModelCfg {
        crashes: 1,
        ..cfg(
            Variant::Cassandra40Cbl,
            2,
            2,
            Cl::One,
            Workload::Concurrent { writes: 1, keys: 1 },
        )
    };
    // Depth 16 reaches the replay of a crashed coordinator's entry (one batchlog node on
    // 2 nodes, as in Cassandra).
    let e = every_path(c, 16);
    assert!(e.states > 5_000, "only {e:?}");
    for r in [Rule::W2, Rule::W7, Rule::W8, Rule::W9, Rule::R1, Rule::R3] {
        assert!(e.rules.contains(r), "{r:?} not reached: {e:?}");
    }
}

/// A client's retry (C3) racing its timed-out first attempt, with a crash: two attempt ids
/// for one statement in the coordinator, the commit logs and the client.
#[test]
fn every_path_of_a_client_retry_with_a_crash() {
    let c = MvModelCfg {
        crashes: 1,
        retries: 1,
        ..cfg(
            Variant::Cassandra40,
            2,
            1,
            Cl::Quorum,
            Workload::Concurrent { writes: 1, keys: 1 },
        )
    };
    assert!(every_path(c, 14).states > 10_000);
}

/// Positional pairing, data loss and a crash on three nodes at RF 1.
#[test]
fn every_path_positional_pairing_with_data_loss() {
    let mut c = MvModelCfg {
        crashes: 1,
        data_loss: 1,
        ..cfg(
            Variant::Cassandra40,
            3,
            2,
            Cl::One,
            Workload::Concurrent { writes: 1, keys: 1 },
        )
    };
    c.ring.pairing = Pairing::Positional;
    assert!(every_path(c, 8).states > 10_000);
}

/// The correct designs' default (a view key moved once, a crash, a remote paired view
/// replica): remote switches, batchlog replay racing the view write, hints and regeneration.
#[test]
fn every_path_of_the_correct_default() {
    for v in [Variant::Cassandra30, Variant::Cassandra40] {
        let n = every_path(MvModelCfg::for_variant(v), 14).states;
        assert!(n > 10_000, "{}: only {n} states", v.name());
    }
}

/// The coordinator-batchlog default: a row that exists when the run starts (preloaded the same
/// way on both sides), one write that deletes its self-paired view row and creates a remote
/// one, and a crash.
#[test]
fn every_path_of_the_coordinator_batchlog_default() {
    let n = every_path(MvModelCfg::for_variant(Variant::Cassandra40Cbl), 14).states;
    assert!(n > 10_000, "only {n} states");
}

/// The `mixed` workload: INSERT, UPDATE of the view key, UPDATE to null and DELETE from two
/// clients, two of them at equal timestamps.
#[test]
fn every_path_of_the_mixed_workload() {
    let c = cfg(Variant::Cassandra40, 2, 1, Cl::Quorum, Workload::Mixed);
    assert!(every_path(c, 12).states > 10_000);
}

/// A batch with two remote targets: on 3 nodes at RF 1, base k=0 lives on n0 and the view
/// partitions v=1 and v=2 on n1 and n2, so moving the view key sends the old row's deletion to
/// n1 and the new row to n2 in one batchlog entry, which B9 clears target by target.
#[test]
fn every_path_of_a_batch_with_two_remote_targets() {
    let c = MvModelCfg {
        crashes: 1,
        ..cfg(Variant::Cassandra40, 3, 1, Cl::Quorum, Workload::Switch)
    };
    let ring = c.ring;
    let (k, old, new) = (0, mv_spec::ViewKey { v: 1, k: 0 }, mv_spec::ViewKey { v: 2, k: 0 });
    let base = ring.base_replicas(k)[0];
    let targets = [
        ring.paired_view_replica(base, k, old),
        ring.paired_view_replica(base, k, new),
    ];
    assert!(
        targets[0] != targets[1] && !targets.contains(&Some(base)),
        "the ring no longer gives two remote targets: {targets:?}"
    );
    assert!(every_path(c, 11).states > 10_000);
}

/// Three concurrent writes over two keys, on 3 nodes at RF 2.
#[test]
fn every_path_of_three_writes_on_two_keys() {
    let c = cfg(
        Variant::Cassandra30,
        3,
        2,
        Cl::Quorum,
        Workload::Concurrent { writes: 3, keys: 2 },
    );
    assert!(every_path(c, 7).states > 10_000);
}

/// Every broken variant at its default configuration, and the scripted workloads.
#[test]
fn every_path_of_every_broken_variant_default() {
    for v in Variant::ALL {
        if v.anomaly_property().is_none() {
            continue;
        }
        let n = every_path(MvModelCfg::for_variant(v), 10).states;
        assert!(n > 50, "{}: only {n} states", v.name());
    }
}

/// The `ttl-key` workload (A4): a TTL'd write of the view key, a later `w`, and the clock
/// step, which may fall anywhere. At non-strict-liveness's ring, every path to depth 16 (the
/// length of the shortest counterexample) for the three designs whose rules differ on it:
/// 4.0's marker expires with `v`, 3.0's takes `v`'s TTL on a timestamp of its own, and a read
/// without strict liveness keeps the row. (The whole space has paths of 26 steps.)
#[test]
fn every_path_of_the_ttl_key_workload() {
    for v in [Variant::Cassandra40, Variant::Cassandra30, Variant::NonStrictLiveness] {
        let c = MvModelCfg {
            variant: v,
            workload: Workload::TtlKey,
            ..MvModelCfg::for_variant(Variant::NonStrictLiveness)
        };
        let e = every_path(c, 16);
        assert!(e.rules.contains(Rule::Expire), "{}: the clock never moved", v.name());
        assert!(e.states > 40_000, "{}: {e:?}", v.name());
    }
}

/// The `ttl-key` workload with the correct designs' crash: the clock can pass while a node
/// is down, and its commit-log replay then reads the row after the deadline.
#[test]
fn every_path_of_the_ttl_key_workload_with_a_crash() {
    let mut c = MvModelCfg::for_variant(Variant::Cassandra40);
    c.workload = Workload::TtlKey;
    c.view_repairs = 0;
    let e = every_path(c, 14);
    for r in [Rule::Expire, Rule::R1, Rule::R2] {
        assert!(e.rules.contains(r), "{} not reached: {e:?}", r.id());
    }
}

/// A4 (CASSANDRA-13657): the model's counterexamples of `non-strict-liveness` on `ttl-key`
/// replay on the implementation with the switch, and on `cassandra-4.0` (strict liveness)
/// the anomaly does not show.
#[test]
fn a4_replays_with_the_switch_only() {
    let cfg = MvModelCfg {
        workload: Workload::TtlKey,
        ..MvModelCfg::for_variant(Variant::NonStrictLiveness)
    };
    let checker = cfg.clone().into_model().checker().spawn_bfs().join();
    for p in ["P-converge", "P-replica-converge", "P-durable"] {
        assert_anomaly_replays(&cfg, p, &checker);
    }
}

fn holds(c: &Cluster, property: &str) -> bool {
    let p = mv_spec::props::property(property).expect("a spec property");
    (p.holds)(&c.observe())
}

/// Whether the replayed end state violates `property` the way the model reported it, on a
/// state the property speaks of.
fn shows(c: &Cluster, property: &str) -> bool {
    let p = mv_spec::props::property(property).expect("a spec property");
    let acked = c
        .observe()
        .writes
        .iter()
        .any(|w| w.outcome == mv_spec::obs::Outcome::Ok);
    p.applies(c.quiescent(), acked) && !holds(c, property)
}

/// Replays the model's counterexample to `property` under `cfg` (a broken variant) on the
/// implementation: the anomaly shows with the variant's switch, and not on its baseline.
fn assert_anomaly_replays(cfg: &MvModelCfg, property: &'static str, checker: &impl Checker<MvModel>) {
    let v = cfg.variant;
    let model: MvModel = cfg.clone().into_model();
    let path = checker
        .discovery(property)
        .unwrap_or_else(|| panic!("{}: the model finds no counterexample to {property}", v.name()));
    let actions = path.into_actions();
    let with = impl_config(&model.cfg);
    let end = replay(&model, with.clone(), &actions)
        .unwrap_or_else(|m| panic!("{} {property}: the counterexample does not replay: {m:?}", v.name()));
    assert!(
        shows(&end, property),
        "{}: the implementation does not violate {property}",
        v.name()
    );
    let without = ClusterConfig {
        variant: v.baseline().expect("a broken variant has a baseline"),
        ..with
    };
    let steps: Vec<Step> = actions.iter().map(|a| model.to_step(a)).collect();
    if let Ok(end) = replay_steps(without.clone(), &steps) {
        assert!(
            !shows(&end, property),
            "{} {property}: {} shows the anomaly too",
            v.name(),
            without.variant.name()
        );
    }
}

/// Every counterexample of every broken variant (one per violated property, as `mvcheck
/// check` reports them) shows the same anomaly on the implementation with the switch, and not
/// without it.
#[test]
fn counterexamples_replay_with_the_switch_only() {
    let mut replayed = 0;
    for v in Variant::ALL {
        if v.anomaly_property().is_none() {
            continue; // a correct design: nothing is expected to be violated
        }
        let cfg = MvModelCfg::for_variant(v);
        let model: MvModel = cfg.clone().into_model();
        let checker = cfg.clone().into_model().checker().spawn_bfs().join();
        for p in mv_spec::props::PROPERTIES
            .iter()
            .filter(|p| p.kind == mv_spec::props::Kind::Always)
        {
            if model.expected(p.id) != mv_model::Expected::Violated {
                continue;
            }
            assert_anomaly_replays(&cfg, p.id, &checker);
            replayed += 1;
        }
    }
    // Four violated `always` properties for each of eight broken variants, three for
    // no-base-hints, one (P-limit) for limit-counts-expired, six for each broken view repair
    // but upsert-at-now's four (specs/properties.md, "Expected verdicts").
    assert_eq!(replayed, 35 + 1 + 6 + 4 + 6 + 6);
}

/// A11 by a crash rather than by message loss: without the local batchlog, a view write in
/// flight when its base replica crashes is gone for good (`specs/properties.md`, "Anomalies
/// outside the defaults").
#[test]
fn a11_by_crash_replays_with_the_switch_only() {
    let cfg = MvModelCfg {
        lossy: false,
        drops: mv_model::model::DEFAULT_DROPS,
        crashes: 1,
        ..MvModelCfg::for_variant(Variant::NoLocalBatchlog)
    };
    let checker = cfg.clone().into_model().checker().spawn_bfs().join();
    assert_anomaly_replays(&cfg, "P-no-missing", &checker);
}

/// Anti-entropy repair (R4) of the half-sent write, on both sides: every path of the
/// `cassandra-4.0` default at RF 2 (one crash, one repair), up to the depth where every
/// state of that model has been reached, compares the implementation with the model after
/// every step, repair steps and the streams' writes included.
#[test]
fn every_path_of_a_repair() {
    let mut c = MvModelCfg::for_variant(Variant::Cassandra40);
    c.ring.rf = 2;
    let e = every_path(c, 40);
    assert!(e.rules.contains(Rule::R4), "no path repaired");
    assert!(e.states > 20_000, "{}", e.states);
}

/// Replacement after data loss at RF 2 (R5), both ways of streaming: 4.0 adds the streamed
/// base and view partitions as they are; 3.0 adds the view partitions and sends the base
/// rows through the replacement's write path (with one write: two make 73,000 states).
#[test]
fn every_path_of_a_replacement_stream() {
    for variant in [Variant::Cassandra40, Variant::Cassandra30] {
        let mut c = MvModelCfg::for_variant(variant);
        c.ring.rf = 2;
        c.crashes = 0;
        c.data_loss = 1;
        if variant == Variant::Cassandra30 {
            c.workload = Workload::Concurrent { writes: 1, keys: 1 };
        }
        let e = every_path(c, 40);
        assert!(
            e.rules.contains(Rule::R5),
            "{}: no replacement streamed",
            variant.name()
        );
        assert!(e.states > 5_000, "{}: {}", variant.name(), e.states);
    }
}

/// An outage past `max_hint_window` (W13): the coordinator skips the base hint of a replica
/// down that long, and a restart makes it hint again; both at RF 1 (a remote base replica)
/// and at RF 2 with repair.
#[test]
fn every_path_of_a_long_outage() {
    for rf in [1, 2] {
        let mut c = MvModelCfg::for_variant(Variant::Cassandra40);
        c.ring.rf = rf;
        c.long_outages = true;
        // At RF 1 the second client's coordinator, n1, is not the base replica.
        c.workload = Workload::Concurrent {
            writes: if rf == 1 { 2 } else { 1 },
            keys: 1,
        };
        // Whole at RF 2 (1,011 states); at RF 1 the two writes make 98,708, so the paths
        // stop at 12 steps, past a skipped hint and the restart after it.
        let e = every_path(c, if rf == 1 { 12 } else { 40 });
        assert!(e.rules.contains(Rule::W13), "RF {rf}: no hint skipped");
        assert!(e.rules.contains(Rule::HintWindow), "RF {rf}");
    }
}

/// View repair (R6 to R9) on both sides: every path of the correct designs' default with
/// data loss at ONE instead of a crash, where a view row can outlive its base row and the
/// repair reinstates it (R8), compares the implementation with the model after every step,
/// the repair's own base and view writes, replays and hints included; once between
/// messages (R6's default) and once at any time.
#[test]
fn every_path_of_a_view_repair() {
    for (anytime, depth) in [(false, 16), (true, 12)] {
        let mut c = MvModelCfg::for_variant(Variant::Cassandra40);
        c.cl = Cl::One;
        c.crashes = 0;
        c.data_loss = 1;
        c.view_repair_anytime = anytime;
        let e = every_path(c, depth);
        for r in [Rule::R6, Rule::R8, Rule::R9] {
            assert!(e.rules.contains(r), "anytime={anytime}: no path fired {}", r.id());
        }
    }
}

/// Each broken repair at its default, with the repair allowed at any time so that short
/// paths reach it: the broken styles write what the model's write, step by step.
#[test]
fn every_path_of_every_broken_repair() {
    for v in [
        Variant::PruneAtNow,
        Variant::UpsertAtNow,
        Variant::RepairWithoutLock,
        Variant::RegularTombstoneRepair,
    ] {
        let mut c = MvModelCfg::for_variant(v);
        c.view_repair_anytime = true;
        let e = every_path(c, 14);
        assert!(e.rules.contains(Rule::R9), "{}: no path repaired the view", v.name());
    }
}

/// The weaknesses of Cassandra's own designs (`specs/protocol.md`, "Known weaknesses the
/// model shows") reproduce on the implementation: seed 001's orphan after a data loss at ONE
/// with positional pairing; the half-sent write (A15): a coordinator that dies between its
/// base writes at RF 2 leaves no hint, and nothing else resends the write; and a replacement
/// that streams a view row ahead of its base row; and A4 in 3.0, whose reads keep the row of
/// an expired view key through a live `w`. Without the operator's view repair: a
/// state where it could still run is not quiescent, so with it these never show.
#[test]
fn known_weaknesses_of_the_correct_designs_reproduce() {
    let orphan = MvModelCfg {
        ring: Ring {
            nodes: 3,
            rf: 3,
            pairing: Pairing::Positional,
        },
        cl: Cl::One,
        workload: Workload::Concurrent { writes: 1, keys: 1 },
        crashes: 0,
        data_loss: 1,
        repairs: 0,
        view_repairs: 0,
        ..MvModelCfg::for_variant(Variant::Cassandra40)
    };
    // Base replicas can diverge only where there are several: the default with RF 2, and
    // without repair, which would bring them back (see `every_path_of_a_repair`).
    let mut half_sent = MvModelCfg::for_variant(Variant::Cassandra40);
    half_sent.ring.rf = 2;
    half_sent.repairs = 0;
    half_sent.view_repairs = 0;
    // A replacement streams a view row whose base row its source had not applied yet (the
    // view update is applied before the base, B5 before B8); repair compares base rows only,
    // so nothing removes it.
    let mut streamed_ahead = MvModelCfg::for_variant(Variant::Cassandra40);
    streamed_ahead.ring.rf = 2;
    streamed_ahead.crashes = 0;
    streamed_ahead.data_loss = 1;
    streamed_ahead.view_repairs = 0;
    // 3.0 reads views without strict liveness, so A4 is its own (known weakness (f)).
    let a4_in_3_0 = MvModelCfg {
        variant: Variant::Cassandra30,
        workload: Workload::TtlKey,
        ..MvModelCfg::for_variant(Variant::NonStrictLiveness)
    };
    for (cfg, property) in [
        (orphan, "P-no-orphan"),
        (half_sent, "P-replica-converge"),
        (streamed_ahead, "P-replica-converge"),
        (a4_in_3_0, "P-converge"),
    ] {
        let model = cfg.clone().into_model();
        let checker = cfg
            .into_model()
            .checker()
            .finish_when(stateright::HasDiscoveries::AnyOf([property].into_iter().collect()))
            .spawn_bfs()
            .join();
        let path = checker.discovery(property).expect("the model shows the weakness");
        let end = replay(&model, impl_config(&model.cfg), &path.into_actions())
            .unwrap_or_else(|m| panic!("{property}: does not replay: {m:?}"));
        assert!(shows(&end, property), "{property}: the implementation does not show it");
    }
}
