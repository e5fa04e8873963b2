//! Tiny configurations, checked exhaustively in `cargo test`, with pinned state counts: any
//! change to the model's semantics shows up here as a diff to explain.

use mv_model::{Expected, MvModel, MvModelCfg, Variant};
use mv_spec::props::{Kind, PROPERTIES};
use mv_spec::{Cl, Pairing};
use stateright::{Checker, Model};

/// Checks exhaustively (BFS, one thread: deterministic paths, though not always the shortest) and returns
/// the checker.
fn check(cfg: MvModelCfg) -> impl Checker<MvModel> {
    cfg.into_model().checker().spawn_bfs().join()
}

/// Every property meets the variant's expectation at its default configuration.
fn assert_expected(variant: Variant, unique: usize) {
    let c = check(MvModelCfg::for_variant(variant));
    for p in PROPERTIES {
        let found = c.discovery(p.id).is_some();
        let want = c.model().expected(p.id);
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
    assert_eq!(
        c.unique_state_count(),
        unique,
        "{}: unique states changed",
        variant.name()
    );
}

#[test]
fn cassandra_4_0_default_holds() {
    assert_expected(Variant::Cassandra40, 112_624);
}

#[test]
fn cassandra_3_0_default_holds() {
    assert_expected(Variant::Cassandra30, 112_624);
}

#[test]
fn coordinator_batchlog_variants_hold() {
    assert_expected(Variant::Cassandra40Cbl, 175_477);
    assert_expected(Variant::Cassandra30Cbl, 175_477);
}

#[test]
fn no_partition_lock_gives_two_view_rows() {
    assert_expected(Variant::NoPartitionLock, 990);
}

#[test]
fn regular_tombstone_hides_cells() {
    assert_expected(Variant::RegularTombstone, 170);
}

#[test]
fn single_deletion_slot_resurrects_cells() {
    assert_expected(Variant::SingleDeletionSlot, 1_574);
}

#[test]
fn non_strict_liveness_keeps_old_row() {
    assert_expected(Variant::NonStrictLiveness, 170);
}

#[test]
fn no_local_batchlog_loses_view_update() {
    assert_expected(Variant::NoLocalBatchlog, 30);
}

/// The exact A11 story: the only view update is lost in the network and nothing replays it.
#[test]
fn no_local_batchlog_counterexample_path() {
    let c = check(MvModelCfg::for_variant(Variant::NoLocalBatchlog));
    let m = c.model();
    let path = c.discovery("P-no-missing").expect("A11 must be found");
    let steps: Vec<String> = path.into_actions().iter().map(|a| m.describe(a)).collect();
    assert_eq!(
        steps,
        vec![
            "c0 -> n0 Write w1 [INSERT k=0 v=1 w=1 @1] cl=ALL",
            "n0 -> n0 BaseWrite w1 [INSERT k=0 v=1 w=1 @1]",
            "n0 -x n1 ViewWrite (no batchlog) [(v=1,k=0) marker@1 w=1@1] (lost)",
            "n0 timer ApplyBase w1",
            "n0 -x n0 BaseWriteAck w1 (lost)",
            "n0 timer WriteTimeout w1",
            "n0 -> c0 WriteTimeout w1",
        ]
    );
}

/// The same loss is harmless with the local batchlog: replay turns it into a hint.
#[test]
fn local_batchlog_recovers_lost_view_update() {
    let cfg = MvModelCfg {
        variant: Variant::Cassandra40,
        ..MvModelCfg::for_variant(Variant::NoLocalBatchlog)
    };
    let c = check(cfg);
    for p in PROPERTIES.iter().filter(|p| p.kind == Kind::Always) {
        assert!(c.discovery(p.id).is_none(), "{} violated", p.id);
    }
    assert!(c.discovery("P-no-missing:witness").is_some());
}

/// Seed 001's warning: at CL=ONE, when the coordinator (a base replica) loses its data after
/// its view update landed elsewhere, the view keeps an orphan row. The coordinator batchlog
/// is Cassandra's answer; here the coordinator dies before it could forward anything.
#[test]
fn data_loss_at_cl_one_leaves_orphan() {
    let mut cfg = MvModelCfg::for_variant(Variant::Cassandra40);
    cfg.ring.pairing = Pairing::Positional;
    cfg.cl = Cl::One;
    cfg.data_loss = 1;
    cfg.crashes = 0;
    cfg.workload = mv_model::Workload::Concurrent { writes: 1, keys: 1 };
    let c = check(cfg);
    let m = c.model();
    let path = c.discovery("P-no-orphan").expect("A10 must be found");
    let steps: Vec<String> = path.into_actions().iter().map(|a| m.describe(a)).collect();
    assert_eq!(
        steps,
        vec![
            "c0 -> n0 Write w1 [INSERT k=0 v=1 w=1 @1] cl=ONE",
            "n0 -> n0 BaseWrite w1 [INSERT k=0 v=1 w=1 @1]",
            "n0 -> n1 ViewWrite batch=n0#0 [(v=1,k=0) marker@1 w=1@1]",
            "n1 -> n0 ViewWriteAck batch=n0#0",
            "n0 timer ApplyBase w1",
            "n0 -> n0 BaseWriteAck w1",
            "n0 -> c0 WriteOk w1",
            "n0 loses its data",
        ]
    );
}

/// A discovered path replays on a fresh model to the same violation.
#[test]
fn counterexample_replays() {
    let c = check(MvModelCfg::for_variant(Variant::NoPartitionLock));
    let m = c.model();
    let path = c.discovery("P-one-row").unwrap();
    let replayed = m.replay(&path.clone().into_actions()).expect("replays");
    let prop = m.properties().into_iter().find(|p| p.name == "P-one-row").unwrap();
    assert!(!(prop.condition)(m, replayed.last_state()));
    // And the steps survive the trip through the by-value trace schema.
    let steps: Vec<_> = path.into_actions().iter().map(|a| m.to_step(a)).collect();
    let back: Vec<_> = steps.iter().map(|s| m.from_step(s).unwrap()).collect();
    assert!(m.replay(&back).is_some());
}
