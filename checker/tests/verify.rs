//! `mvcheck verify` on simulated clusters and on traces: the verdict, the exit code, the rows
//! it lists, and that a trace of a run gets the same answer as the run itself.

mod common;

use common::{mvcheck, stderr, stdout};
use serde_json::Value;

/// Seed 001's configuration: three nodes, RF 3, positional pairing, one write at ONE, one
/// data loss and no repair. Seed 553 of the simulation loses the coordinator's data after
/// its view update landed on n1 and before its base writes left: a ghost row, which the
/// replacement then streams from n1.
const GHOST: &[&str] = &[
    "--nodes",
    "3",
    "--rf",
    "3",
    "--pairing",
    "positional",
    "--cl",
    "one",
    "--workload",
    "concurrent",
    "--writes",
    "1",
    "--keys",
    "1",
    "--no-repair",
    "--no-view-repair",
    "--faults",
    "data-loss",
    "--seed",
    "553",
];

/// The README's operator story: the ghost `verify` finds, `repair` mends in place (the
/// acknowledged write is put back in the base, R8, and every view replica is written from
/// it, R9), and nothing is left out of sync. `--dry-run` lists the same writes and changes
/// nothing.
#[test]
fn repair_mends_the_ghost_and_verify_then_finds_the_view_in_sync() {
    let dir = tempfile::tempdir().unwrap();
    let mut dry = vec!["repair", "--dry-run"];
    dry.extend_from_slice(GHOST);
    let o = mvcheck(dir.path(), &dry);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(12), "{out}{}", stderr(&o));
    assert!(
        out.contains("k=0: view repair 0 from n0 (dry run: would write)"),
        "{out}"
    );
    assert!(
        out.contains("R8 base cells vrepair0.1 into n0, n1, n2: UPDATE k=0 v=1 @1"),
        "{out}"
    );
    assert!(out.contains("R9 view write to n2: (v=1,k=0) marker@1 w=1@1"), "{out}");
    assert!(out.contains("dry run: nothing was written"), "{out}");
    assert!(!out.contains("IN SYNC"), "{out}");

    let mut args = vec!["repair"];
    args.extend_from_slice(GHOST);
    let o = mvcheck(dir.path(), &args);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out}{}", stderr(&o));
    assert!(out.contains("delivered in"), "{out}");
    for n in ["n0", "n1", "n2"] {
        assert!(
            out.contains(&format!("view replica {n}: in sync (1 view rows stored)")),
            "{out}"
        );
    }
    assert!(out.contains("verdict: IN SYNC"), "{out}");
}

#[test]
fn a_view_repair_budget_past_the_ids_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let o = mvcheck(dir.path(), &["check", "--view-repairs", "9"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("--view-repairs must be at most 4 (got 9)"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_ghost_row_is_reported_as_an_orphan_with_exit_12() {
    let dir = tempfile::tempdir().unwrap();
    let mut args = vec!["verify"];
    args.extend_from_slice(GHOST);
    let o = mvcheck(dir.path(), &args);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(12), "{out}{}", stderr(&o));
    assert!(out.contains("state: quiescent"), "{out}");
    assert!(
        out.contains("ORPHAN          (v=1,k=0) on n1: view live, w=1@1; base k=0 has no live row with a view key"),
        "{out}"
    );
    assert!(out.contains("view replica n2: in sync"), "{out}");
    assert!(out.contains("verdict: OUT OF SYNC: 2 rows on 2 view replicas"), "{out}");

    // JSON: one object per row, and nothing else.
    args.extend_from_slice(&["--format", "json"]);
    let o = mvcheck(dir.path(), &args);
    assert_eq!(o.status.code(), Some(12));
    let rows: Vec<Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is one JSON object"))
        .collect();
    assert_eq!(rows.len(), 2, "{rows:?}");
    for r in &rows {
        assert_eq!(r["class"], "ORPHAN");
        assert_eq!((r["v"].as_u64(), r["k"].as_u64()), (Some(1), Some(0)));
        assert!(r["pending"].is_null(), "{r}");
        assert_eq!(r["view"]["w"], 1);
        assert!(r["implied"].is_null() && r["base_v"].is_null(), "{r}");
    }
}

/// The trace of the same run, replayed on the model, ends in a state with the same rows
/// out of sync: `verify --trace` judges any implementation that writes the trace format.
#[test]
fn a_trace_gets_the_same_answer_as_its_run() {
    let dir = tempfile::tempdir().unwrap();
    let mut sim = vec!["impl-sim", "--out", "run.ndjson"];
    sim.extend_from_slice(GHOST);
    let o = mvcheck(dir.path(), &sim);
    assert_eq!(o.status.code(), Some(12), "{}{}", stdout(&o), stderr(&o));
    let o = mvcheck(dir.path(), &["verify", "--trace", "run.ndjson", "--format", "json"]);
    assert_eq!(o.status.code(), Some(12), "{}{}", stdout(&o), stderr(&o));
    let mut args = vec!["verify", "--format", "json"];
    args.extend_from_slice(GHOST);
    assert_eq!(stdout(&o), stdout(&mvcheck(dir.path(), &args)));

    // A trace the model cannot replay has no last state to judge: exit 20, not a verdict.
    let text = std::fs::read_to_string(dir.path().join("run.ndjson")).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines.remove(1);
    std::fs::write(dir.path().join("cut.ndjson"), lines.join("\n")).unwrap();
    let o = mvcheck(dir.path(), &["verify", "--trace", "cut.ndjson"]);
    assert_eq!(o.status.code(), Some(20), "{}{}", stdout(&o), stderr(&o));
    assert!(stderr(&o).contains("cannot replay"), "{}", stderr(&o));

    // Not a trace at all: exit 2, naming the file and the problem.
    std::fs::write(dir.path().join("bad.ndjson"), "{\"format\":\"other\"}\n").unwrap();
    let o = mvcheck(dir.path(), &["verify", "--trace", "bad.ndjson"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("bad.ndjson"), "{}", stderr(&o));
}

/// A correct design's run that settles is in sync (exit 0); the same run cut after a few
/// steps is not quiescent, and what disagrees there is either pending (exit 3) or out of
/// sync for now (exit 12), never "in sync".
#[test]
fn a_settled_run_is_in_sync_and_a_cut_one_is_not_final() {
    let dir = tempfile::tempdir().unwrap();
    let o = mvcheck(dir.path(), &["verify", "--seed", "7"]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out}{}", stderr(&o));
    assert!(out.contains("verdict: IN SYNC"), "{out}");
    let mut saw_pending = false;
    for steps in 2..12 {
        let s = steps.to_string();
        let o = mvcheck(dir.path(), &["verify", "--seed", "7", "--steps", &s]);
        let out = stdout(&o);
        if out.contains("state: quiescent") {
            continue;
        }
        match o.status.code() {
            Some(0) => assert!(out.contains("verdict: IN SYNC now"), "{out}"),
            Some(3) => {
                saw_pending = true;
                assert!(out.contains("PENDING") && out.contains("verdict: NOT YET"), "{out}");
                // JSON names the work each row waits for.
                let o = mvcheck(
                    dir.path(),
                    &["verify", "--seed", "7", "--steps", &s, "--format", "json"],
                );
                for line in stdout(&o).lines() {
                    let r: Value = serde_json::from_str(line).expect("one JSON object per row");
                    assert!(r["pending"]["kind"].is_string() && r["pending"]["node"].is_u64(), "{r}");
                }
            }
            Some(12) => assert!(out.contains("OUT OF SYNC"), "{out}"),
            c => panic!("exit {c:?}: {out}{}", stderr(&o)),
        }
    }
    assert!(saw_pending, "no cut of seed 7 had a pending row");
}

/// A counterexample `check` saved is a state too: known weakness (d), the view row a
/// replacement streamed ahead of its base row, is a DUPLICATE on the replacement.
#[test]
fn a_saved_counterexample_is_verified_at_its_last_state() {
    let dir = tempfile::tempdir().unwrap();
    let o = mvcheck(dir.path(), common::WEAKNESS_D);
    assert_eq!(o.status.code(), Some(12), "{}", stdout(&o));
    let file = "_mvcheck-out/cassandra-4.0.P-replica-converge.itf.json";
    let o = mvcheck(dir.path(), &["verify", "--trace", file]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(12), "{out}{}", stderr(&o));
    assert!(
        out.contains("DUPLICATE       (v=1,k=0) on n0: view live, w=1@1; base k=0 is live with v=2"),
        "{out}"
    );
    assert!(out.contains("view replica n1: in sync"), "{out}");
}
