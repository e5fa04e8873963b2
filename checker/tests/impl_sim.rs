//! `mvcheck impl-sim` end to end: the implementation's traces, validated by `mvcheck
//! validate`, and rejected once tampered with.

mod common;

use common::mvcheck;
use std::process::Output;

fn code(o: &Output) -> i32 {
    o.status.code().expect("exit code")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

const CORRECT: [&str; 4] = [
    "cassandra-3.0",
    "cassandra-3.0+coordinator-batchlog",
    "cassandra-4.0",
    "cassandra-4.0+coordinator-batchlog",
];

#[test]
fn traces_of_correct_variants_validate() {
    let dir = tempfile::tempdir().unwrap();
    for v in CORRECT {
        for seed in ["1", "2", "3"] {
            let o = mvcheck(
                dir.path(),
                &[
                    "impl-sim",
                    "--variant",
                    v,
                    "--seed",
                    seed,
                    "--out",
                    "t.ndjson",
                    "--validate",
                ],
            );
            assert_eq!(code(&o), 0, "{v} seed {seed}: {}", text(&o));
            assert!(text(&o).contains("valid: the model explains all"), "{}", text(&o));
            let o = mvcheck(dir.path(), &["validate", "t.ndjson"]);
            assert_eq!(code(&o), 0, "{v} seed {seed}: {}", text(&o));
        }
    }
}

#[test]
fn same_seed_same_file() {
    let dir = tempfile::tempdir().unwrap();
    let args = |out: &'static str| ["impl-sim", "--seed", "11", "--faults", "crash=2,drop,dup", "--out", out];
    // With drops a correct variant may end in a known weakness (exit 12); the trace is what
    // matters here.
    for out in ["a.ndjson", "b.ndjson"] {
        let o = mvcheck(dir.path(), &args(out));
        assert!(matches!(code(&o), 0 | 12), "{}", text(&o));
    }
    let a = std::fs::read(dir.path().join("a.ndjson")).unwrap();
    let b = std::fs::read(dir.path().join("b.ndjson")).unwrap();
    assert_eq!(a, b);
}

#[test]
fn a_changed_value_or_a_removed_event_is_rejected_with_20() {
    let dir = tempfile::tempdir().unwrap();
    let o = mvcheck(dir.path(), &["impl-sim", "--seed", "5", "--out", "t.ndjson"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let trace = std::fs::read_to_string(dir.path().join("t.ndjson")).unwrap();
    let lines: Vec<&str> = trace.lines().collect();

    // One observed value changed: the first stored base row's marker timestamp.
    let i = lines
        .iter()
        .position(|l| l.contains("\"marker\":1,"))
        .expect("some line observes a base row written at 1");
    let mut changed = lines.clone();
    let edited = lines[i].replacen("\"marker\":1,", "\"marker\":2,", 1);
    changed[i] = &edited;
    std::fs::write(dir.path().join("changed.ndjson"), changed.join("\n")).unwrap();
    let o = mvcheck(dir.path(), &["validate", "changed.ndjson"]);
    assert_eq!(code(&o), 20, "{}", text(&o));

    // One event removed: the second step.
    let mut removed = lines.clone();
    removed.remove(2);
    std::fs::write(dir.path().join("removed.ndjson"), removed.join("\n")).unwrap();
    let o = mvcheck(dir.path(), &["validate", "removed.ndjson"]);
    assert_eq!(code(&o), 20, "{}", text(&o));
}

#[test]
fn broken_variant_shows_its_anomaly_and_bad_flags_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    // Some seed of no-partition-lock's default configuration ends with two view rows.
    let violated = (1..=20).any(|s| {
        let seed = s.to_string();
        let o = mvcheck(
            dir.path(),
            &[
                "impl-sim",
                "--variant",
                "no-partition-lock",
                "--seed",
                &seed,
                "--out",
                "t.ndjson",
                "--validate",
            ],
        );
        assert!(matches!(code(&o), 0 | 12), "{}", text(&o));
        code(&o) == 12 && text(&o).contains("P-one-row") && text(&o).contains(&format!("seed {seed}"))
    });
    assert!(violated);
    let o = mvcheck(dir.path(), &["impl-sim", "--faults", "crash=9", "--out", "t.ndjson"]);
    assert_eq!(code(&o), 2, "{}", text(&o));
    assert!(text(&o).contains("crashes"), "{}", text(&o));
    let o = mvcheck(dir.path(), &["impl-sim", "--variant", "nope", "--out", "t.ndjson"]);
    assert_eq!(code(&o), 2, "{}", text(&o));
}

#[test]
fn bench_mode_reports_a_rate() {
    let dir = tempfile::tempdir().unwrap();
    let o = mvcheck(dir.path(), &["impl-sim", "--bench", "--steps", "2000"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    assert!(text(&o).contains("steps/s"), "{}", text(&o));
    let o = mvcheck(dir.path(), &["impl-sim", "--seed", "1"]);
    assert_eq!(code(&o), 2, "--out is required without --bench: {}", text(&o));
}

/// `impl-sim` ends with the metrics an operator would watch, under Cassandra's names: on a run
/// that ends quiescent every view mutation a base replica attempted was acknowledged, so
/// nothing is pending and no batchlog entry is left.
#[test]
fn impl_sim_prints_the_operator_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let o = mvcheck(dir.path(), &["impl-sim", "--seed", "3", "--out", "t.ndjson"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let out = text(&o);
    assert!(out.contains("final state: quiescent"), "{out}");
    assert!(out.contains("metrics (time in steps"), "{out}");
    let n0 = out
        .lines()
        .find(|l| l.trim_start().starts_with("n0: "))
        .expect("a line for n0");
    // On the default ring base row k=0 lives on n0 and the view row of v=1 on n1: a remote
    // view write was attempted, and acknowledged.
    let attempted: u64 = n0
        .split("ViewReplicasAttempted=")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse().ok())
        .expect("ViewReplicasAttempted");
    assert!(attempted > 0, "{n0}");
    assert!(n0.contains(&format!("ViewReplicasSuccess={attempted} ")), "{n0}");
    assert!(
        n0.contains("ViewPendingMutations=0 oldest-batchlog-entry-age=- hints-pending=[]"),
        "{n0}"
    );
    assert!(out.contains("ViewWriteLatency: p50="), "{out}");
    assert!(out.contains(" steps p99="), "latencies in steps say so: {out}");
}

/// `--bench-sync` computes T on the model, runs the implementation in virtual time, and
/// reports the distribution against T, then the slowest run's metrics in virtual time. A
/// misspelt time constant is named, with the ones that exist.
#[test]
fn bench_sync_measures_against_the_bound() {
    let dir = tempfile::tempdir().unwrap();
    let o = mvcheck(dir.path(), &["impl-sim", "--bench-sync", "--runs", "300"]);
    let out = text(&o);
    assert_eq!(code(&o), 0, "{out}");
    assert!(out.contains("K = 32 steps, T = 178.164 s"), "{out}");
    assert!(out.contains("300 runs in "), "{out}");
    assert!(out.contains("every run settled within T"), "{out}");
    assert!(
        out.contains("metrics (virtual time)") && out.contains(" ms p99="),
        "{out}"
    );
    // A shorter hint round shortens T by six rounds' worth (the formula's 6 x hint-dispatch).
    let o = mvcheck(
        dir.path(),
        &[
            "impl-sim",
            "--bench-sync",
            "--runs",
            "50",
            "--timing",
            "hint_dispatch_interval=5000",
        ],
    );
    assert_eq!(code(&o), 0, "{}", text(&o));
    assert!(text(&o).contains("T = 148.164 s"), "{}", text(&o));
    let o = mvcheck(dir.path(), &["impl-sim", "--bench-sync", "--timing", "hint_window=1"]);
    assert_eq!(code(&o), 2, "{}", text(&o));
    assert!(text(&o).contains("unknown constant \"hint_window\""), "{}", text(&o));
    assert!(text(&o).contains("max_hint_window"), "{}", text(&o));
}
