//! A4 end to end: the `ttl-key` workload's clock step in `check`, its counterexample file,
//! `replay`, and a simulated trace that `validate` accepts.

mod common;

use common::{mvcheck, stderr, stdout};
use serde_json::Value;

/// `non-strict-liveness` on `ttl-key` shows A4: P-converge is violated, the file's path runs
/// through the clock step (an `Expire` state whose pick is the node it observes), the stored
/// TTL shows in the rows, and `replay` ends in the same violation.
#[test]
fn a4_counterexample_runs_through_the_clock_and_replays() {
    let dir = tempfile::tempdir().unwrap();
    let o = mvcheck(
        dir.path(),
        &[
            "check",
            "--variant",
            "non-strict-liveness",
            "--workload",
            "ttl-key",
            "--property",
            "P-converge",
            // The shortest path: the view row lands, then the deadline passes.
            "--strategy",
            "bfs",
            "--format",
            "json",
        ],
    );
    assert_eq!(o.status.code(), Some(12), "{}{}", stdout(&o), stderr(&o));
    let report: Value = serde_json::from_str(&stdout(&o)).expect("one JSON object");
    let verdict = |id: &str| {
        report["properties"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == id)
            .map(|p| p["verdict"].clone())
    };
    assert_eq!(verdict("P-converge"), Some("violated".into()), "{report}");
    assert_eq!(verdict("P-one-row"), Some("holds".into()), "A4 is not A3: {report}");
    let file = report["counterexample_file"].as_str().expect("a file was written");
    assert!(file.ends_with("non-strict-liveness.P-converge.itf.json"), "{file}");
    let path = dir.path().join(file);
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(doc["#meta"]["format-version"], 9);
    let states = doc["states"].as_array().unwrap();
    let expire = states
        .iter()
        .position(|s| s["mbt::actionTaken"] == "Expire")
        .expect("the path passes the deadline");
    let picks = &states[expire]["mbt::nondetPicks"];
    assert_eq!(picks["node"], serde_json::json!({"tag": "Some", "value": "n0"}));
    assert_eq!(
        states[expire]["#meta"]["action"],
        serde_json::json!({"kind": "Expire", "node": "n0"})
    );
    // Before the deadline the view row's marker says it carries v's TTL.
    let before = &states[expire - 1]["nodes"][1]["view"]["#map"][0][1];
    assert_eq!(
        before["marker"],
        serde_json::json!({"ts": 1, "expired": false, "ttl": true}),
        "{before}"
    );
    let after = &states[expire]["nodes"][1]["view"]["#map"][0][1];
    assert_eq!(
        after["marker"],
        serde_json::json!({"ts": 1, "expired": true, "ttl": true}),
        "{after}"
    );

    let r = mvcheck(dir.path(), &["replay", file]);
    assert_eq!(r.status.code(), Some(12), "{}{}", stdout(&r), stderr(&r));
    assert!(
        stdout(&r).contains("the clock passes the TTL deadline"),
        "{}",
        stdout(&r)
    );
}

/// 4.0 holds on `ttl-key`, exhaustively, and reaches the TTL witness; view repair is refused
/// on a TTL workload by name.
#[test]
fn cassandra_4_0_holds_on_ttl_key_and_view_repair_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let o = mvcheck(
        dir.path(),
        &[
            "check",
            "--workload",
            "ttl-key",
            "--crashes",
            "0",
            "--no-view-repair",
            "--format",
            "json",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let report: Value = serde_json::from_str(&stdout(&o)).expect("one JSON object");
    assert_eq!(report["exhaustive"], true, "{report}");
    let witness = report["properties"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "P-converge:ttl-witness")
        .expect("the TTL witness is reported");
    assert_eq!(witness["verdict"], "found", "{report}");

    let o = mvcheck(dir.path(), &["check", "--workload", "ttl-key"]);
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    assert!(
        stderr(&o).contains("--view-repairs must be 0 with --workload ttl-key"),
        "{}",
        stderr(&o)
    );
}

/// A simulated `ttl-key` run records the clock step and validates on the model.
#[test]
fn a_simulated_ttl_trace_has_the_clock_step_and_validates() {
    let dir = tempfile::tempdir().unwrap();
    let o = mvcheck(
        dir.path(),
        &[
            "impl-sim",
            "--workload",
            "ttl-key",
            "--no-view-repair",
            "--seed",
            "3",
            "--out",
            "run.ndjson",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let text = std::fs::read_to_string(dir.path().join("run.ndjson")).unwrap();
    assert!(text.starts_with(r#"{"format":"mvcheck-trace","version":4,"#), "{text}");
    assert!(text.contains(r#"{"kind":"Expire","node":"n0"}"#), "{text}");
    let v = mvcheck(dir.path(), &["validate", "run.ndjson", "--complete"]);
    assert_eq!(v.status.code(), Some(0), "{}{}", stdout(&v), stderr(&v));
}
