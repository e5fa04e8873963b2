//! Tiny configurations, checked exhaustively in `cargo test`, with pinned state counts: any
//! change to the model's semantics shows up here as a diff to explain.

use mv_model::search::{self, Outcome, SearchCfg, Strategy};
use mv_model::{Expected, MvModel, MvModelCfg, Variant, Workload};
use mv_spec::props::{Kind, PROPERTIES};
use mv_spec::rule::Rule;
use mv_spec::{Cl, Pairing};
use stateright::Model;

/// Checks exhaustively, breadth-first on one thread (deterministic, shortest paths), without
/// stopping when every property is decided, so the count and the coverage are of the whole
/// space. Returns the model and the outcome.
fn check(cfg: MvModelCfg) -> (MvModel, Outcome<MvModel>) {
    let outcome = search::run(
        cfg.clone().into_model(),
        SearchCfg {
            strategy: Strategy::Bfs,
            threads: 1,
            stop_when_decided: false,
            ..SearchCfg::default()
        },
    );
    assert!(outcome.exhaustive(), "bounded: {:?}", outcome.bounds);
    (cfg.into_model(), outcome)
}

/// No `always` property of `m` was violated in `c`; `what` names the run in the message.
fn assert_no_always_violated(m: &MvModel, c: &Outcome<MvModel>, what: &str) {
    for p in m.properties().iter().filter(|p| mv_model::is_always(p)) {
        assert!(!c.discoveries.contains_key(p.name), "{what}: {} violated", p.name);
    }
}

/// Every property meets the variant's expectation at its default configuration, the state
/// count is the pinned one, and a correct variant's default fires every rule it should
/// (`mvcheck check --require-coverage`).
fn assert_expected(variant: Variant, unique: u64) {
    let (m, c) = check(MvModelCfg::for_variant(variant));
    for p in PROPERTIES {
        let found = c.discoveries.contains_key(p.id);
        let want = m.expected(p.id);
        let ok = match want {
            Expected::Holds | Expected::NotFound => !found,
            Expected::Violated | Expected::Found => found,
        };
        assert!(
            ok,
            "{}: {} expected {:?}, discovery: {}",
            variant.name(),
            p.id,
            want,
            found
        );
    }
    if variant.is_correct() {
        let expected = m.expected_rules();
        let missing: Vec<&str> = Rule::ALL
            .iter()
            .filter(|r| expected.contains(**r) && c.tally.get(**r) == 0)
            .map(|r| r.id())
            .collect();
        assert!(missing.is_empty(), "{}: rules not covered: {missing:?}", variant.name());
    }
    assert_eq!(c.unique, unique, "{}: unique states changed", variant.name());
}

#[test]
fn cassandra_4_0_default_holds_and_covers_every_rule() {
    assert_expected(Variant::Cassandra40, UNIQUE_4_0);
}

#[test]
fn cassandra_3_0_default_holds_and_covers_every_rule() {
    assert_expected(Variant::Cassandra30, UNIQUE_3_0);
}

#[test]
fn coordinator_batchlog_variants_hold_and_cover_every_rule() {
    assert_expected(Variant::Cassandra40Cbl, UNIQUE_CBL);
    assert_expected(Variant::Cassandra30Cbl, UNIQUE_CBL);
}

/// The broken view repairs (trap 1 to 4 of `specs/protocol.md`, "View repair"): each breaks
/// P-no-clobber at its default, `move-back` with a repair allowed between messages.
#[test]
fn broken_view_repairs_clobber_the_move_back() {
    assert_expected(Variant::PruneAtNow, UNIQUE_PRUNE_AT_NOW);
    assert_expected(Variant::UpsertAtNow, UNIQUE_UPSERT_AT_NOW);
    assert_expected(Variant::RepairWithoutLock, UNIQUE_REPAIR_WITHOUT_LOCK);
    assert_expected(Variant::RegularTombstoneRepair, UNIQUE_REGULAR_TOMBSTONE_REPAIR);
}

#[test]
fn no_partition_lock_gives_two_view_rows() {
    assert_expected(Variant::NoPartitionLock, UNIQUE_A8);
}

#[test]
fn regular_tombstone_hides_cells() {
    assert_expected(Variant::RegularTombstone, UNIQUE_A1);
}

#[test]
fn single_deletion_slot_resurrects_cells() {
    assert_expected(Variant::SingleDeletionSlot, UNIQUE_A2);
}

#[test]
fn non_strict_liveness_keeps_old_row() {
    assert_expected(Variant::NonStrictLiveness, UNIQUE_A3);
}

#[test]
fn no_local_batchlog_loses_view_update() {
    assert_expected(Variant::NoLocalBatchlog, UNIQUE_A11);
}

#[test]
fn no_replay_regeneration_loses_the_old_rows_deletion() {
    assert_expected(Variant::NoReplayRegeneration, UNIQUE_A12);
}

/// A12's path runs through a crash between a base replica's commit-log append and its
/// view-update step: the crash comes after the `BaseWrite` delivery and before its `Generate`.
#[test]
fn no_replay_regeneration_needs_a_crash_between_append_and_generate() {
    let (m, c) = check(MvModelCfg::for_variant(Variant::NoReplayRegeneration));
    let steps: Vec<String> = c.discoveries["P-one-row"]
        .clone()
        .into_actions()
        .iter()
        .map(|a| m.describe(a))
        .collect();
    let crash = steps.iter().position(|s| s.ends_with("crashes")).expect("a crash");
    let w2 = steps
        .iter()
        .position(|s| s.contains("BaseWrite w2"))
        .expect("w2 reaches its base replica");
    assert!(w2 < crash, "{steps:#?}");
    assert!(
        !steps[w2..crash].iter().any(|s| s.contains("Generate w2")),
        "the crash must pre-empt w2's view updates: {steps:#?}"
    );
}

#[test]
fn early_batchlog_cleanup_loses_a_mixed_writes_remote_deletion() {
    assert_expected(Variant::EarlyBatchlogCleanup, UNIQUE_A13);
}

#[test]
fn incoming_wins_ties_loses_the_row_storage_keeps() {
    assert_expected(Variant::IncomingWinsTies, UNIQUE_A9);
}

/// A9 is the generator's tie-break alone: with storage's, both correct designs hold on `tie`
/// at incoming-wins-ties' default, where the two writes reach each replica in either order.
#[test]
fn correct_designs_hold_where_ties_go_by_arrival() {
    for variant in [Variant::Cassandra40, Variant::Cassandra30] {
        let cfg = MvModelCfg {
            variant,
            ..MvModelCfg::for_variant(Variant::IncomingWinsTies)
        };
        let (m, c) = check(cfg);
        assert_no_always_violated(&m, &c, variant.name());
        // Measured: the designs differ in what a view row holds, not in which steps run.
        assert_eq!(c.unique, UNIQUE_A9, "{}: unique states changed", variant.name());
    }
}

#[test]
fn limit_counts_expired_returns_nothing_ahead_of_a_live_row() {
    assert_expected(Variant::LimitCountsExpired, UNIQUE_A17);
}

/// A17 is the limit's count alone: at limit-counts-expired's default the correct designs
/// hold P-limit, and 4.0 reaches its witness (its read skips the row the move left with an
/// expired marker and `w`), while 3.0's shadowable deletion leaves no live cell to skip.
#[test]
fn correct_designs_hold_where_the_moved_row_keeps_a_cell() {
    for (variant, witness) in [(Variant::Cassandra40, true), (Variant::Cassandra30, false)] {
        let cfg = MvModelCfg {
            variant,
            ..MvModelCfg::for_variant(Variant::LimitCountsExpired)
        };
        let (m, c) = check(cfg);
        assert_no_always_violated(&m, &c, variant.name());
        assert_eq!(
            c.discoveries.contains_key("P-limit:witness"),
            witness,
            "{}: P-limit:witness",
            variant.name()
        );
        // Measured: the designs differ in what a view row holds and how it reads, not in
        // which steps run.
        assert_eq!(c.unique, UNIQUE_A17, "{}: unique states changed", variant.name());
    }
}

/// A4 (CASSANDRA-13657) on the `ttl-key` workload, at non-strict-liveness's default ring
/// (2 nodes, RF 1, ALL, no crash): `v=1 @1 USING TTL`, then `w=1 @2`, then the clock passes
/// the deadline. The base row lives on through `w` with `v` null; the view row `(1,0)` keeps
/// `w=1@2` beside its expired TTL'd marker. Strict liveness (4.0) hides it and reaches the
/// TTL witness; without it (`non-strict-liveness`, and 3.0, which read views that way) the row
/// stays visible: the view shows a row the base does not imply. Every counterexample runs
/// through the clock step, and the three designs explore the same states.
#[test]
fn an_expired_view_key_keeps_its_row_only_without_strict_liveness() {
    let a4 = ["P-converge", "P-replica-converge", "P-durable"];
    for (variant, violated) in [
        (Variant::NonStrictLiveness, &a4[..]),
        (Variant::Cassandra30, &a4[..]),
        (Variant::Cassandra40, &[][..]),
    ] {
        let cfg = MvModelCfg {
            variant,
            workload: Workload::TtlKey,
            ..MvModelCfg::for_variant(Variant::NonStrictLiveness)
        };
        let (m, c) = check(cfg);
        let found: Vec<&str> = PROPERTIES
            .iter()
            .filter(|p| p.kind == Kind::Always && c.discoveries.contains_key(p.id))
            .map(|p| p.id)
            .collect();
        assert_eq!(found, violated, "{}", variant.name());
        for id in violated {
            let path = c.discoveries[*id].clone().into_actions();
            assert!(
                path.iter().any(|a| m.to_step(a).kind() == "Expire"),
                "{}: {id} without the clock step",
                variant.name()
            );
        }
        assert_eq!(
            c.discoveries.contains_key("P-converge:ttl-witness"),
            violated.is_empty(),
            "{}: P-converge:ttl-witness",
            variant.name()
        );
        assert!(
            c.tally.get(Rule::Expire) > 0,
            "{}: the clock never moved",
            variant.name()
        );
        assert_eq!(c.unique, UNIQUE_A4, "{}: unique states changed", variant.name());
    }
}

/// The clock step exists only where a write carries a TTL: no other workload offers it, so
/// their state spaces are what they were.
#[test]
fn only_a_ttl_workload_has_a_clock() {
    for name in Workload::NAMES {
        let w = Workload::from_name(name, 2, 1).expect("a named workload");
        assert_eq!(w.has_ttl(), w == Workload::TtlKey, "{name}");
        let m = MvModelCfg {
            workload: w,
            ..MvModelCfg::for_variant(Variant::Cassandra40)
        }
        .into_model();
        assert_eq!(m.expected_rules().contains(Rule::Expire), w.has_ttl(), "{name}");
    }
}

#[test]
fn no_base_hints_loses_a_base_write() {
    assert_expected(Variant::NoBaseHints, UNIQUE_A15);
}

/// At no-base-hints' default (two base replicas, a lossy network), cassandra-4.0 holds, and
/// it is the base hints that make it hold: each of W10-W12 fired.
#[test]
fn base_hints_recover_a_lost_base_write() {
    let cfg = MvModelCfg {
        variant: Variant::Cassandra40,
        ..MvModelCfg::for_variant(Variant::NoBaseHints)
    };
    let (m, c) = check(cfg);
    assert_no_always_violated(&m, &c, "cassandra-4.0 at no-base-hints' default");
    for r in [Rule::W10, Rule::W11, Rule::W12] {
        assert!(c.tally.get(r) > 0, "{r} never fired");
    }
}

/// The half-sent write (A15, `specs/protocol.md` known weakness (c)): at RF 2 a coordinator
/// that crashes with one of its base writes in flight leaves the replicas split, and without
/// repair nothing joins them; the coordinator batchlog closes the gap, because a batchlog
/// node replays the write to the replica that never got it (W9), and so does one
/// anti-entropy repair (R4), with every property holding after it.
#[test]
fn the_coordinator_batchlog_or_repair_closes_the_half_sent_write() {
    let mut plain = MvModelCfg::for_variant(Variant::Cassandra40);
    plain.ring.rf = 2;
    let repaired = plain.clone();
    assert_eq!(repaired.repairs, 1, "the correct variants repair by default");
    plain.repairs = 0;
    let (m, c) = check(repaired.clone());
    for p in PROPERTIES.iter().filter(|p| p.kind == Kind::Always) {
        assert!(!c.discoveries.contains_key(p.id), "{} violated after repair", p.id);
    }
    assert!(m.expected_rules().contains(Rule::R4) && c.tally.get(Rule::R4) > 0);
    assert_eq!(c.unique, UNIQUE_RF2_REPAIRED, "unique states changed");
    // Repair is what makes it hold: the same configuration with a budget of 0.
    let (_, c) = check(plain);
    let path = c
        .discoveries
        .get("P-replica-converge")
        .expect("the half-sent write splits RF 2");
    assert!(path
        .clone()
        .into_actions()
        .iter()
        .any(|a| matches!(a, stateright::actor::ActorModelAction::Crash(_))));
    // The coordinator batchlog alone, without repair, is what the variant buys.
    let mut cbl = MvModelCfg::for_variant(Variant::Cassandra40Cbl);
    cbl.ring.rf = 2;
    cbl.repairs = 0;
    let (m, c) = check(cbl);
    for p in PROPERTIES.iter().filter(|p| p.kind == Kind::Always) {
        assert!(
            !c.discoveries.contains_key(p.id),
            "{} violated with the coordinator batchlog",
            p.id
        );
    }
    assert!(m.expected_rules().contains(Rule::W9) && c.tally.get(Rule::W9) > 0);
}

/// Removing R2's regeneration would leave the default green only if nothing needed it: the
/// witness of P-converge is reached only through R2, so it is the one that would go missing.
#[test]
fn converge_witness_needs_commit_log_regeneration() {
    let (m, c) = check(MvModelCfg::for_variant(Variant::Cassandra40));
    let path = c.discoveries.get("P-converge:witness").expect("found");
    let regenerated = path.clone().into_vec().windows(2).any(|w| {
        w[0].1
            .as_ref()
            .is_some_and(|a| m.step(&w[0].0, a.clone()).1.contains(Rule::R2))
    });
    assert!(regenerated, "the witness path never ran R2");
}

/// The exact A11 story, shortest (BFS): the only view update is lost in the network and
/// nothing replays it; the base write lands and is acknowledged, only the client's answer is
/// lost.
#[test]
fn no_local_batchlog_counterexample_path() {
    let (m, c) = check(MvModelCfg::for_variant(Variant::NoLocalBatchlog));
    let path = c.discoveries["P-no-missing"].clone();
    let steps: Vec<String> = path.into_actions().iter().map(|a| m.describe(a)).collect();
    assert_eq!(
        steps,
        vec![
            "c0 -> n0 Write w1 [INSERT k=0 v=1 w=1 @1] cl=ALL",
            "n0 -> n0 BaseWrite w1 [INSERT k=0 v=1 w=1 @1]",
            "n0 timer Generate w1",
            "n0 -x n1 ViewWrite (no batchlog) [(v=1,k=0) marker@1 w=1@1] (lost)",
            "n0 timer ApplyBase w1",
            "n0 -> n0 BaseWriteAck w1",
            "n0 -x c0 WriteOk w1 (lost)",
        ]
    );
}

/// A11 by a crash, with no message loss at all: the base replica applies and acks, then
/// crashes with its unlogged view write in flight, and nothing regenerates it (B8 ran, so the
/// commit log is empty). With the local batchlog the same crash is harmless (R3 re-arms the
/// replay).
#[test]
fn no_local_batchlog_loses_view_update_by_crash() {
    let cfg = MvModelCfg {
        lossy: false,
        drops: mv_model::model::DEFAULT_DROPS,
        crashes: 1,
        ..MvModelCfg::for_variant(Variant::NoLocalBatchlog)
    };
    let (m, c) = check(cfg.clone());
    let path = c.discoveries.get("P-no-missing").expect("A11 by crash");
    let actions = path.clone().into_actions();
    assert!(actions
        .iter()
        .any(|a| matches!(a, stateright::actor::ActorModelAction::Crash(_))));
    assert!(!actions
        .iter()
        .any(|a| matches!(a, stateright::actor::ActorModelAction::Drop(_))));
    assert!(m.expected_rules().contains(Rule::Crash));
    let (_, c) = check(MvModelCfg {
        variant: Variant::Cassandra40,
        ..cfg
    });
    assert!(
        !c.discoveries.contains_key("P-no-missing"),
        "cassandra-4.0 loses it too"
    );
    assert!(c.tally.get(Rule::R3) > 0);
}

/// The same loss is harmless with the local batchlog: replay turns it into a hint.
#[test]
fn local_batchlog_recovers_lost_view_update() {
    let cfg = MvModelCfg {
        variant: Variant::Cassandra40,
        ..MvModelCfg::for_variant(Variant::NoLocalBatchlog)
    };
    let (_, c) = check(cfg);
    for p in PROPERTIES.iter().filter(|p| p.kind == Kind::Always) {
        assert!(!c.discoveries.contains_key(p.id), "{} violated", p.id);
    }
    assert!(c.discoveries.contains_key("P-no-missing:witness"));
}

/// Known weakness (d), mended: with a view repair, the row a replacement streamed ahead of
/// its base row is deleted (R9) once the base has settled, and P-repair holds; a repair that
/// ran before the data loss vouches for nothing after it (P-durable still fails: the data
/// loss lost an acknowledged write from the base, which no repair of the view restores).
#[test]
fn view_repair_mends_the_streamed_row() {
    let mut cfg = MvModelCfg::for_variant(Variant::Cassandra40);
    cfg.ring.rf = 2;
    cfg.crashes = 0;
    cfg.data_loss = 1;
    assert_eq!(
        cfg.view_repairs, 1,
        "the correct variants repair their view once by default"
    );
    let (_, c) = check(cfg);
    for p in ["P-repair", "P-no-resurrect", "P-no-clobber", "P-verify"] {
        assert!(!c.discoveries.contains_key(p), "{p} violated");
    }
    assert!(c.tally.get(Rule::R9) > 0, "no view repair wrote the view");
    assert!(c.discoveries.contains_key("P-no-resurrect:witness"));
}

/// Known weakness (e), mended in 4.0: after a data loss at ONE on the only base replica, the
/// view repair puts back what the view shows of the lost writes, in its own step (R8), and
/// P-repair holds from every state it may run in. Without it the view keeps orphans; 3.0
/// still fails, since its shadowable deletion says nothing about when `v` was replaced.
#[test]
fn view_repair_after_a_data_loss_at_one() {
    let cfg = |variant: Variant, view_repairs: u8| {
        let mut cfg = MvModelCfg::for_variant(variant);
        cfg.cl = Cl::One;
        cfg.crashes = 0;
        cfg.data_loss = 1;
        cfg.view_repairs = view_repairs;
        cfg
    };
    let (_, c) = check(cfg(Variant::Cassandra40, 1));
    for p in [
        "P-repair",
        "P-no-resurrect",
        "P-no-clobber",
        "P-no-orphan",
        "P-one-row",
        "P-converge",
    ] {
        assert!(!c.discoveries.contains_key(p), "{p} violated");
    }
    assert!(c.tally.get(Rule::R8) > 0, "no view repair put a lost write back");
    assert!(
        c.discoveries.contains_key("P-durable"),
        "the data loss lost an acknowledged write"
    );
    // A tie at one timestamp (workload `tie`) leaves an expired marker at the base's own `v`
    // timestamp without any loss: R8 must tell the tie's winner from history.
    let mut tie = cfg(Variant::Cassandra40, 1);
    tie.workload = mv_model::Workload::Tie;
    let (_, c) = check(tie);
    for p in ["P-repair", "P-no-resurrect", "P-no-clobber", "P-converge"] {
        assert!(!c.discoveries.contains_key(p), "{p} violated on `tie`");
    }
    let (_, c) = check(cfg(Variant::Cassandra40, 0));
    assert!(c.discoveries.contains_key("P-no-orphan"));
    let (_, c) = check(cfg(Variant::Cassandra30, 1));
    assert!(c.discoveries.contains_key("P-repair"));
}

/// Seed 001's warning: at CL=ONE, when the coordinator (a base replica) loses its data after
/// its view update landed elsewhere, the view keeps an orphan row. The shortest story (BFS)
/// does not even need the write to be acknowledged: the base write dies with the machine
/// between its two halves, the view write it already sent lives on.
#[test]
fn data_loss_at_cl_one_leaves_orphan() {
    let mut cfg = MvModelCfg::for_variant(Variant::Cassandra40);
    cfg.ring = mv_spec::Ring {
        nodes: 3,
        rf: 3,
        pairing: Pairing::Positional,
    };
    cfg.cl = Cl::One;
    cfg.data_loss = 1;
    cfg.crashes = 0;
    // Repair could not delete the orphan (it repairs base rows, and no replica has one),
    // and it would make the space too large to search whole here; view repair, which can,
    // likewise.
    cfg.repairs = 0;
    cfg.view_repairs = 0;
    cfg.workload = mv_model::Workload::Concurrent { writes: 1, keys: 1 };
    let (m, c) = check(cfg);
    let path = c.discoveries["P-no-orphan"].clone();
    let steps: Vec<String> = path.into_actions().iter().map(|a| m.describe(a)).collect();
    assert_eq!(
        steps,
        vec![
            "c0 -> n0 Write w1 [INSERT k=0 v=1 w=1 @1] cl=ONE",
            "n0 -> n0 BaseWrite w1 [INSERT k=0 v=1 w=1 @1]",
            "n0 timer Generate w1",
            "n0 -> n1 ViewWrite batch=n0#0 [(v=1,k=0) marker@1 w=1@1]",
            "n0 loses its data",
        ]
    );
}

/// Replacement streaming (R5, `specs/protocol.md` known weakness (d)): at RF 2 a
/// replacement can stream a view row whose base row its source has not applied yet (B5
/// runs before B8), and repair, which compares base rows, leaves it. A blank replacement
/// rebuilds its view rows from its own write path only and has no such orphan; a data loss
/// at RF 2 loses an acknowledged write either way (P-durable).
#[test]
fn replacement_streaming_can_carry_a_view_row_ahead_of_its_base() {
    let mut cfg = MvModelCfg::for_variant(Variant::Cassandra40);
    cfg.ring.rf = 2;
    cfg.crashes = 0;
    cfg.data_loss = 1;
    // Base repair alone: view repair is what mends this (`view_repair_mends_the_streamed_row`).
    cfg.view_repairs = 0;
    assert!(cfg.replace_streaming, "replacements stream by default");
    let (m, c) = check(cfg.clone());
    assert!(m.expected_rules().contains(Rule::R5) && c.tally.get(Rule::R5) > 0);
    let path = c
        .discoveries
        .get("P-replica-converge")
        .expect("a streamed view row outlives its base");
    let actions = path.clone().into_actions();
    let lost = actions
        .iter()
        .position(|a| m.describe(a).ends_with("loses its data"))
        .expect("the path replaces a node");
    assert!(
        actions[..lost]
            .iter()
            .any(|a| m.describe(a).ends_with("timer Generate w1"))
            && !actions[..lost]
                .iter()
                .any(|a| m.describe(a).ends_with("timer ApplyBase w1")),
        "the stream is taken between the view apply and the base apply"
    );
    assert!(c.discoveries.contains_key("P-durable"));
    cfg.replace_streaming = false;
    let (m, c) = check(cfg);
    assert!(!m.expected_rules().contains(Rule::R5) && c.tally.get(Rule::R5) == 0);
    assert!(
        !c.discoveries.contains_key("P-replica-converge"),
        "a blank replacement streams nothing ahead"
    );
    assert!(c.discoveries.contains_key("P-durable"));
}

/// `--long-outages` (`specs/protocol.md`, "Fault model"): a crashed node may stay down past
/// `max_hint_window`, and then no coordinator writes it a base hint (W13). At the
/// `cassandra-4.0` default (RF 1) a write whose only replica is past the window is lost
/// whole and never acknowledged, so every property holds; at RF 2 the replicas split, and
/// repair joins them.
#[test]
fn outages_past_the_hint_window_hold_with_repair() {
    for rf in [1, 2] {
        let mut cfg = MvModelCfg::for_variant(Variant::Cassandra40);
        cfg.ring.rf = rf;
        cfg.long_outages = true;
        let (m, c) = check(cfg);
        for p in PROPERTIES.iter().filter(|p| p.kind == Kind::Always) {
            assert!(!c.discoveries.contains_key(p.id), "RF {rf}: {} violated", p.id);
        }
        for r in [Rule::HintWindow, Rule::W13] {
            assert!(
                m.expected_rules().contains(r) && c.tally.get(r) > 0,
                "RF {rf}: {r} never fired"
            );
        }
    }
}

/// A discovered path replays on a fresh model to the same violation.
#[test]
fn counterexample_replays() {
    let (m, c) = check(MvModelCfg::for_variant(Variant::NoPartitionLock));
    let path = c.discoveries["P-one-row"].clone();
    let replayed = m.replay(&path.clone().into_actions()).expect("replays");
    let prop = m.properties().into_iter().find(|p| p.name == "P-one-row").unwrap();
    assert!(!(prop.condition)(&m, replayed.last_state()));
    // And the steps survive the trip through the by-value trace schema.
    let steps: Vec<_> = path.into_actions().iter().map(|a| m.to_step(a)).collect();
    let back: Vec<_> = steps.iter().map(|s| m.from_step(s).unwrap()).collect();
    assert!(m.replay(&back).is_some());
}

/// A driver's retry (C3) of a write that timed out: a new request with the same statement and
/// timestamp. Both attempts can land, in either order, on a replica that crashed between its
/// halves or not, and every property still holds; the retry really happens.
#[test]
fn client_retry_of_a_timed_out_write_holds() {
    let mut cfg = MvModelCfg::for_variant(Variant::Cassandra40);
    cfg.workload = mv_model::Workload::Concurrent { writes: 1, keys: 1 };
    cfg.retries = 1;
    // The write path's retries, without the view repair that would mend what they miss.
    cfg.view_repairs = 0;
    let (m, c) = check(cfg);
    for p in PROPERTIES.iter().filter(|p| p.kind == Kind::Always) {
        assert!(!c.discoveries.contains_key(p.id), "{} violated", p.id);
    }
    assert!(m.expected_rules().contains(Rule::C3));
    assert!(c.tally.get(Rule::C3) > 0, "no client retried");
    assert_eq!(c.unique, UNIQUE_RETRY);
}

// Pinned unique-state counts of each default (BFS, exhaustive). A change here is a change
// of the model's semantics or of a default: explain it in the commit.
const UNIQUE_4_0: u64 = 938_251;
const UNIQUE_3_0: u64 = 938_251;
const UNIQUE_CBL: u64 = 2_601_622;
const UNIQUE_A8: u64 = 13_083;
const UNIQUE_A1: u64 = 439_549;
const UNIQUE_A2: u64 = 6_542;
const UNIQUE_A3: u64 = 198_933;
const UNIQUE_A11: u64 = 43;
const UNIQUE_A15: u64 = 20_199;
/// `cassandra-4.0` at RF 2 with one crash and one repair.
const UNIQUE_RF2_REPAIRED: u64 = 21_564;
const UNIQUE_A12: u64 = 85_943;
const UNIQUE_A13: u64 = 113_175;
const UNIQUE_A9: u64 = 6_076;
const UNIQUE_A17: u64 = 137;
const UNIQUE_A4: u64 = 10_816;
const UNIQUE_RETRY: u64 = 9_741;
const UNIQUE_PRUNE_AT_NOW: u64 = 82_371;
const UNIQUE_UPSERT_AT_NOW: u64 = 82_371;
const UNIQUE_REPAIR_WITHOUT_LOCK: u64 = 146_255;
const UNIQUE_REGULAR_TOMBSTONE_REPAIR: u64 = 82_371;
