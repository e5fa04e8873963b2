//! Spawns the `mvcheck` binary on tiny configurations and checks what a script would rely
//! on: exit codes, the verdict table, the counterexample file and its replay.

mod common;

use common::{mvcheck, stderr, stdout};
use serde_json::Value;
use std::path::Path;
use std::process::Command;

fn row<'a>(out: &'a str, id: &str) -> &'a str {
    out.lines()
        .find(|l| l.starts_with(&format!("{id} ")))
        .unwrap_or_else(|| panic!("no row for {id} in:\n{out}"))
}

#[test]
fn correct_variant_exits_0_with_every_verdict_and_full_coverage() {
    let dir = tempfile::tempdir().unwrap();
    let o = mvcheck(
        dir.path(),
        &["check", "--variant", "cassandra-3.0", "--require-coverage"],
    );
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out}{}", stderr(&o));
    for p in mv_spec::props::PROPERTIES {
        let want = if p.kind == mv_spec::props::Kind::Always {
            " holds "
        } else {
            " found "
        };
        assert!(row(&out, p.id).contains(want), "{}", row(&out, p.id));
    }
    assert!(out.contains("search: exhaustive"), "{out}");
    assert!(
        out.contains("coverage: every rule this configuration should exercise fired"),
        "{out}"
    );
    assert!(!out.contains("not covered"), "{out}");
    for rule in ["B6", "B10", "B11", "R2", "V2"] {
        let line = out
            .lines()
            .find(|l| l.starts_with(&format!("{rule} ")))
            .unwrap_or_else(|| panic!("{out}"));
        let count: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
        assert!(count > 0, "{line}");
    }
    // Nothing is violated, so the one file written is P-bounded's worst run, which replays
    // to quiescence in exactly the pinned K fault-free steps.
    let k = mv_model::Variant::Cassandra30.sync_steps().unwrap();
    assert!(
        out.contains(&format!("P-bounded: holds (K = {k} against {k}, pinned")),
        "{out}"
    );
    let files: Vec<_> = std::fs::read_dir(dir.path().join("_mvcheck-out"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(
        files,
        ["cassandra-3.0.P-bounded.itf.json"],
        "only the worst run is written"
    );
    let r = mvcheck(dir.path(), &["replay", "_mvcheck-out/cassandra-3.0.P-bounded.itf.json"]);
    let replayed = stdout(&r);
    assert_eq!(r.status.code(), Some(0), "{replayed}");
    assert!(
        replayed.contains(&format!("{k} fault-free steps after step")),
        "{replayed}"
    );
    // And P-bounded fails a check whose bound is one step short of K.
    let o = mvcheck(
        dir.path(),
        &[
            "check",
            "--variant",
            "cassandra-3.0",
            "--max-sync-steps",
            &(k - 1).to_string(),
        ],
    );
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(12), "{out}");
    assert!(
        out.contains(&format!("P-bounded: VIOLATED (K = {k} against {}", k - 1)),
        "{out}"
    );
}

/// A ring where every view write is self-paired never sends one: the coverage table says so,
/// and `--require-coverage` turns it into exit 12.
#[test]
fn require_coverage_fails_when_a_rule_never_fires() {
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "check",
        "--variant",
        "cassandra-4.0",
        "--nodes",
        "2",
        "--rf",
        "2",
        "--writes",
        "1",
        "--crashes",
        "0",
        "--format",
        "json",
    ];
    let o = mvcheck(dir.path(), &args);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let report: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(report["exhaustive"], true);
    let not_covered: Vec<&str> = report["not_covered"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(
        not_covered.contains(&"B6") && not_covered.contains(&"V1"),
        "{not_covered:?}"
    );
    let cov = report["coverage"].as_array().unwrap();
    let b6 = cov.iter().find(|r| r["rule"] == "B6").unwrap();
    assert_eq!(b6["transitions"], 0);
    assert!(cov
        .iter()
        .any(|r| r["rule"] == "B5" && r["transitions"].as_u64().unwrap() > 0));
    let mut strict = args.to_vec();
    strict.push("--require-coverage");
    let o = mvcheck(dir.path(), &strict);
    assert_eq!(o.status.code(), Some(12), "{}", stdout(&o));
}

#[test]
fn broken_variant_exits_12_and_its_file_replays() {
    let dir = tempfile::tempdir().unwrap();
    let o = mvcheck(dir.path(), &["check", "--variant", "no-partition-lock"]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(12), "{out}");
    assert!(row(&out, "P-one-row").contains("VIOLATED"), "{out}");
    assert!(row(&out, "P-cells").contains(" holds "), "{out}");
    assert!(out.contains("counterexample for P-one-row"), "{out}");
    let file = dir.path().join("_mvcheck-out/no-partition-lock.P-one-row.itf.json");
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(doc["#meta"]["tool"], "mvcheck");
    assert_eq!(doc["#meta"]["property"], "P-one-row");
    assert_eq!(doc["#meta"]["config"]["variant"], "no-partition-lock");
    assert!(
        out.contains(&format!(
            "mvcheck replay {}",
            Path::new("_mvcheck-out")
                .join("no-partition-lock.P-one-row.itf.json")
                .display()
        )),
        "{out}"
    );
    assert!(out.contains("#/steps/"), "{out}");

    let r = mvcheck(
        dir.path(),
        &["replay", "_mvcheck-out/no-partition-lock.P-one-row.itf.json"],
    );
    assert_eq!(r.status.code(), Some(12), "{}{}", stdout(&r), stderr(&r));
    assert!(stdout(&r).contains("still ends in a violation of P-one-row"));
    let r = mvcheck(
        dir.path(),
        &[
            "replay",
            "_mvcheck-out/no-partition-lock.P-one-row.itf.json",
            "--format",
            "json",
        ],
    );
    assert_eq!(r.status.code(), Some(12));
    let j: Value = serde_json::from_str(&stdout(&r)).expect("one JSON object");
    assert_eq!(
        (j["verdict"].as_str(), j["exit_code"].as_u64()),
        (Some("violated"), Some(12))
    );
    assert!(
        j["config"].is_object() && j["steps"].as_array().is_some_and(|s| !s.is_empty()),
        "{j}"
    );
    assert!(j["explanation"].as_str().unwrap().ends_with("(P-one-row)"), "{j}");

    // Without its first step the path cannot be walked: a divergence, exit 20.
    let mut cut = doc.clone();
    cut["states"].as_array_mut().unwrap().remove(1);
    std::fs::write(dir.path().join("cut.itf.json"), cut.to_string()).unwrap();
    let r = mvcheck(dir.path(), &["replay", "cut.itf.json"]);
    assert_eq!(r.status.code(), Some(20), "{}{}", stdout(&r), stderr(&r));
    assert!(stdout(&r).contains("is not possible in this model"), "{}", stdout(&r));

    // A second run never overwrites the first file.
    let o = mvcheck(dir.path(), &["check", "--variant", "no-partition-lock"]);
    assert_eq!(o.status.code(), Some(12));
    assert!(dir
        .path()
        .join("_mvcheck-out/no-partition-lock.P-one-row-1.itf.json")
        .exists());
}

#[test]
fn every_broken_variant_exits_12_on_its_anomaly() {
    let dir = tempfile::tempdir().unwrap();
    for (variant, property) in [
        ("regular-tombstone", "P-cells"),
        ("single-deletion-slot", "P-cells"),
        ("non-strict-liveness", "P-one-row"),
        ("no-local-batchlog", "P-no-missing"),
        ("incoming-wins-ties", "P-no-missing"),
        ("limit-counts-expired", "P-limit"),
    ] {
        let o = mvcheck(dir.path(), &["check", "--variant", variant, "--format", "json"]);
        assert_eq!(o.status.code(), Some(12), "{variant}: {}", stdout(&o));
        let report: Value = serde_json::from_str(&stdout(&o)).expect("one JSON object");
        assert_eq!(report["variant"], variant);
        // A run is exhaustive exactly when nothing stopped it.
        assert_eq!(report["exhaustive"], report["stopped_by"].is_null(), "{report}");
        let props = report["properties"].as_array().unwrap();
        let p = props.iter().find(|p| p["name"] == property).unwrap();
        assert_eq!(p["verdict"], "violated", "{variant}");
        assert_eq!(p["expected"], "violated");
        let file = report["counterexample_file"].as_str().expect("a file was written");
        let path = if Path::new(file).is_absolute() {
            Path::new(file).to_path_buf()
        } else {
            dir.path().join(file)
        };
        assert!(path.exists(), "{file}");
        for key in ["strategy", "states", "unique_states", "max_depth", "seconds"] {
            assert!(report.get(key).is_some(), "missing {key}");
        }
        if variant == "limit-counts-expired" {
            // The stored rows are right; only the read, in the ITF state, shows the anomaly:
            // n1 answers nothing for view partition 1.
            let itf: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            let last = itf["states"].as_array().unwrap().last().unwrap();
            assert_eq!(
                last["nodes"][1]["limit_reads"],
                serde_json::json!({"#map": [[1, {"tag": "None", "value": {"#tup": []}}]]}),
                "{last}"
            );
        }
    }
}

fn json_check(dir: &Path, extra: &[&str]) -> (Option<i32>, Value) {
    let mut args = vec!["check", "--format", "json"];
    args.extend_from_slice(extra);
    let o = mvcheck(dir, &args);
    let report = serde_json::from_str(&stdout(&o)).unwrap_or_else(|e| panic!("{e}: {}{}", stdout(&o), stderr(&o)));
    (o.status.code(), report)
}

/// Every bound, for each strategy, makes the run not exhaustive, names the bound, and exits 3
/// (inconclusive) when nothing was violated.
#[test]
fn bounds_are_reported_as_not_exhaustive() {
    let dir = tempfile::tempdir().unwrap();
    let o = mvcheck(dir.path(), &["check", "--max-depth", "5"]);
    assert_eq!(o.status.code(), Some(3));
    assert!(
        stdout(&o).contains("NOT exhaustive, stopped by depth bound (5)"),
        "{}",
        stdout(&o)
    );
    assert!(stdout(&o).contains("result: inconclusive"), "{}", stdout(&o));
    for strategy in ["dfs", "bfs"] {
        let (code, r) = json_check(dir.path(), &["--strategy", strategy, "--max-states", "1000"]);
        assert_eq!(code, Some(3), "{strategy}: {r}");
        assert_eq!(r["exhaustive"], false, "{strategy}");
        assert_eq!(r["unique_states"], 1000, "{strategy}: the state bound is exact");
        assert!(r["stopped_by"].as_str().unwrap().contains("state bound (1000"), "{r}");
        for p in r["properties"].as_array().unwrap() {
            assert_ne!(p["verdict"], "holds", "{strategy}: a bounded run never says holds");
            assert_ne!(p["verdict"], "not found", "{strategy}");
        }
        let (code, r) = json_check(dir.path(), &["--strategy", strategy, "--max-depth", "4"]);
        assert_eq!(code, Some(3), "{strategy}");
        assert_eq!(r["exhaustive"], false);
        assert_eq!(r["bounds"][0], "depth bound (4)");
        // A configuration far too large for one second: the timeout stops it.
        let (code, r) = json_check(
            dir.path(),
            &[
                "--strategy",
                strategy,
                "--nodes",
                "4",
                "--rf",
                "3",
                "--writes",
                "3",
                "--crashes",
                "2",
                "--timeout",
                "1",
            ],
        );
        assert_eq!(code, Some(3), "{strategy}: {r}");
        assert_eq!(r["exhaustive"], false);
        assert!(r["stopped_by"].as_str().unwrap().contains("time bound (1 s)"), "{r}");
        assert!(
            r["seconds"].as_f64().unwrap() < 5.0,
            "{strategy}: --timeout 1 ran {} s",
            r["seconds"]
        );
        assert_eq!(r["counterexample_file"], Value::Null);
    }
    let o = mvcheck(dir.path(), &["check", "--max-depth", "0"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--max-depth must be at least 1"), "{}", stderr(&o));
}

#[test]
fn bad_input_is_one_line_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (
            &["check", "--nodes", "3", "--rf", "4"],
            "--rf must be between 1 and --nodes=3 (got 4)",
        ),
        (&["check", "--variant", "nope"], "known variants: cassandra-3.0"),
        (&["check", "--writes", "0"], "--writes must be at least 1"),
        (&["check", "--workload", "switch-back", "--writes", "2"], "fixed script"),
        (&["replay", "missing.itf.json"], "cannot read"),
    ];
    for (args, want) in cases {
        let o = mvcheck(dir.path(), args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let err = stderr(&o);
        assert!(err.contains(want), "{args:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    std::fs::write(dir.path().join("broken.itf.json"), "{\"#meta\": {\"tool\": \"mvcheck\"").unwrap();
    let o = mvcheck(dir.path(), &["replay", "broken.itf.json"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("not JSON") && stderr(&o).contains("line 1"),
        "{}",
        stderr(&o)
    );
    std::fs::write(
        dir.path().join("foreign.itf.json"),
        r##"{"#meta": {"source": "quint"}, "states": []}"##,
    )
    .unwrap();
    let o = mvcheck(dir.path(), &["replay", "foreign.itf.json"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("not written by mvcheck"), "{}", stderr(&o));

    // An ITF file of mvcheck's own with no states is refused, not replayed as a pass.
    let o = mvcheck(dir.path(), &["check", "--variant", "no-partition-lock"]);
    assert_eq!(o.status.code(), Some(12));
    let saved = dir.path().join("_mvcheck-out/no-partition-lock.P-one-row.itf.json");
    let mut doc: Value = serde_json::from_str(&std::fs::read_to_string(&saved).unwrap()).unwrap();
    doc["states"] = Value::Array(vec![]);
    std::fs::write(dir.path().join("empty.itf.json"), doc.to_string()).unwrap();
    let o = mvcheck(dir.path(), &["replay", "empty.itf.json"]);
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    assert!(stderr(&o).contains("\"states\" is empty"), "{}", stderr(&o));

    // The wrong kind of file is named, with the command that reads it.
    let o = mvcheck(dir.path(), &["validate", saved.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("this is an ITF file") && stderr(&o).contains("mvcheck replay"),
        "{}",
        stderr(&o)
    );
    let o = mvcheck(dir.path(), &["impl-sim", "--out", "run.ndjson"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = mvcheck(dir.path(), &["replay", "run.ndjson"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("NDJSON implementation trace") && stderr(&o).contains("mvcheck validate"),
        "{}",
        stderr(&o)
    );
}

/// Every broken variant's counterexample ends with the fact it shows, in data terms; a data
/// loss lists the messages it lost; lock wording appears only where there is a lock; and
/// `--property` picks another violated property's counterexample.
#[test]
fn counterexamples_end_with_the_broken_fact() {
    let dir = tempfile::tempdir().unwrap();
    for (variant, property, fact) in [
        (
            "no-partition-lock",
            "P-one-row",
            "the view has (v=1,k=0) and (v=2,k=0) live for base k=0",
        ),
        (
            "regular-tombstone",
            "P-cells",
            "view row (v=1,k=0) has w=null, but base row k=0 has w=1",
        ),
        (
            "single-deletion-slot",
            "P-cells",
            "view row (v=1,k=0) has w=1, but base row k=0 has w=null",
        ),
        ("non-strict-liveness", "P-one-row", "live for base k=0"),
        (
            "no-local-batchlog",
            "P-no-missing",
            "base row k=0 is live with v=1, but the view has no row (v=1,k=0)",
        ),
        (
            "incoming-wins-ties",
            "P-no-missing",
            "base row k=0 is live with v=2, but the view has no row (v=2,k=0)",
        ),
        (
            "limit-counts-expired",
            "P-limit",
            "n1's LIMIT 1 read of view partition v=1 returns no row, but the first row it stores live is (v=1,k=1)",
        ),
    ] {
        let o = mvcheck(dir.path(), &["check", "--variant", variant]);
        let out = stdout(&o);
        assert_eq!(o.status.code(), Some(12), "{out}");
        let last = out
            .lines()
            .find(|l| l.starts_with("  => "))
            .unwrap_or_else(|| panic!("{variant}: no data-level line:\n{out}"));
        assert!(
            last.contains(fact) && last.ends_with(&format!("({property})")),
            "{variant}: {last}"
        );
        // A17 breaks a read, not the stored state: P-limit is all it violates.
        assert_eq!(
            out.contains("also violated: "),
            variant != "limit-counts-expired",
            "{variant}: {out}"
        );
        if variant == "no-partition-lock" {
            assert!(!out.contains("lock k="), "no lock to speak of in {variant}:\n{out}");
        }
    }
    let o = mvcheck(
        dir.path(),
        &["check", "--variant", "no-local-batchlog", "--property", "P-durable"],
    );
    let out = stdout(&o);
    assert!(out.contains("counterexample for P-durable"), "{out}");
    assert!(out.contains("(P-durable)"), "{out}");
    let o = mvcheck(
        dir.path(),
        &["check", "--variant", "no-local-batchlog", "--property", "P-cells"],
    );
    assert!(stdout(&o).contains("P-cells was not violated"), "{}", stdout(&o));
    // A data loss names the messages the lost machine had not delivered.
    let o = mvcheck(
        dir.path(),
        &[
            "check",
            "--nodes",
            "3",
            "--rf",
            "3",
            "--pairing",
            "positional",
            "--cl",
            "one",
            "--data-loss",
            "1",
            "--writes",
            "1",
            "--crashes",
            "0",
            "--no-repair",
            "--no-view-repair",
            "--strategy",
            "bfs",
        ],
    );
    let out = stdout(&o);
    let loss = out.find("loses its data").expect("the path has a data loss");
    assert!(out[loss..].contains("- in flight: n0 -> n2 BaseWrite w1"), "{out}");
    assert!(out.contains("lock k=0"), "the correct variant holds the lock: {out}");
}

/// `--lossy` takes an optional value, so a variant that defaults to a lossy network can be
/// checked without one.
/// Replacement streaming and long outages are flags a person reads back: the coverage row
/// of each mechanism, the weakness streaming shows (known weakness (d)) with its replayable
/// file, and the flag that removes it named in the configuration the file records.
#[test]
fn replacement_streaming_and_long_outages_show_in_the_report_and_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let base = common::WEAKNESS_D;
    let o = mvcheck(dir.path(), base);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(12), "{out}");
    assert!(row(&out, "P-replica-converge").contains("VIOLATED"), "{out}");
    assert!(!row(&out, "R5").contains("not covered"), "{out}");
    let file = "_mvcheck-out/cassandra-4.0.P-replica-converge.itf.json";
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(dir.path().join(file)).unwrap()).unwrap();
    assert_eq!(doc["#meta"]["config"]["replace_streaming"], true);
    let r = mvcheck(dir.path(), &["replay", file]);
    assert_eq!(r.status.code(), Some(12), "{}{}", stdout(&r), stderr(&r));

    let mut blank = base.to_vec();
    blank.push("--no-replace-streaming");
    let o = mvcheck(dir.path(), &blank);
    let out = stdout(&o);
    assert!(row(&out, "P-replica-converge").contains(" holds "), "{out}");
    assert!(row(&out, "P-durable").contains("VIOLATED"), "{out}");
    assert!(out.contains("(blank replacement)"), "{out}");

    let o = mvcheck(dir.path(), &["check", "--long-outages", "--no-sync-bound"]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(!row(&out, "W13").contains("not covered"), "{out}");
    assert!(!row(&out, "hint-window").contains("not covered"), "{out}");
    assert!(out.contains("(long outages)"), "{out}");
}

#[test]
fn lossy_can_be_turned_off() {
    let dir = tempfile::tempdir().unwrap();
    for (flag, lossy) in [(None, true), (Some("--lossy=false"), false), (Some("--lossy"), true)] {
        let mut args = vec!["--variant", "no-local-batchlog"];
        args.extend(flag);
        let (_, r) = json_check(dir.path(), &args);
        assert_eq!(r["config"]["lossy"], lossy, "{flag:?}: {r}");
    }
}

/// `impl-sim --out -` writes the trace to stdout (the report to stderr), so it pipes straight
/// into `validate -`.
#[test]
fn impl_sim_writes_to_stdout_with_a_dash() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let o = mvcheck(dir.path(), &["impl-sim", "--seed", "3", "--out", "-"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(!dir.path().join("-").exists(), "a file named - was written");
    assert!(
        stdout(&o).starts_with("{\"format\":\"mvcheck-trace\""),
        "{}",
        stdout(&o)
    );
    assert!(stderr(&o).contains("to stdout"), "{}", stderr(&o));
    let mut v = Command::new(env!("CARGO_BIN_EXE_mvcheck"))
        .args(["validate", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    v.stdin.take().unwrap().write_all(&o.stdout).unwrap();
    let out = v.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(stdout(&out).starts_with("valid: "), "{}", stdout(&out));
}

/// `mvcheck --help` names every command and the exit codes.
#[test]
fn help_names_every_command_and_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let o = mvcheck(dir.path(), &["--help"]);
    let out = stdout(&o);
    for cmd in [
        "check", "simulate", "explore", "variants", "replay", "impl-sim", "validate", "cql",
    ] {
        assert!(out.contains(&format!("  {cmd} ")), "{cmd}: {out}");
    }
    for code in [
        "0 holds",
        "3 inconclusive",
        "12 a property is violated",
        "20 a trace diverges",
    ] {
        assert!(out.contains(code), "{code}: {out}");
    }
}

#[test]
fn variants_lists_every_variant() {
    let dir = tempfile::tempdir().unwrap();
    let out = stdout(&mvcheck(dir.path(), &["variants"]));
    for name in [
        "cassandra-3.0 ",
        "cassandra-3.0+coordinator-batchlog",
        "cassandra-4.0 ",
        "cassandra-4.0+coordinator-batchlog",
        "no-partition-lock",
        "regular-tombstone",
        "no-local-batchlog",
        "single-deletion-slot",
        "non-strict-liveness",
        "incoming-wins-ties",
        "limit-counts-expired",
    ] {
        assert!(out.contains(name), "{name} missing:\n{out}");
    }
    // Every property a broken variant violates at its default, not only its anomaly's.
    assert!(
        out.contains("violates P-converge, P-replica-converge, P-one-row, P-durable (exit 12)"),
        "{out}"
    );
    // One column of names: every description starts at the same column.
    let starts: std::collections::BTreeSet<usize> = out
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with(' ') && !l.starts_with("Each") && !l.starts_with("  "))
        .filter_map(|l| l.find("  ").map(|i| i + l[i..].len() - l[i..].trim_start().len()))
        .collect();
    assert_eq!(starts.len(), 1, "misaligned columns: {starts:?}\n{out}");
}

#[test]
fn simulate_prints_its_seed_and_saves_the_violation() {
    let dir = tempfile::tempdir().unwrap();
    // Every complete walk of this variant ends with w hidden, so any seed finds it.
    let o = mvcheck(
        dir.path(),
        &[
            "simulate",
            "--variant",
            "regular-tombstone",
            "--seed",
            "7",
            "--runs",
            "50",
        ],
    );
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(12), "{out}");
    assert!(out.contains("seed: 7"), "{out}");
    let file = dir.path().join("_mvcheck-out/regular-tombstone.P-cells.itf.json");
    let alt = dir.path().join("_mvcheck-out/regular-tombstone.P-converge.itf.json");
    assert!(file.exists() || alt.exists(), "{out}");
    let name = if file.exists() { file } else { alt };
    let r = mvcheck(dir.path(), &["replay", name.to_str().unwrap()]);
    assert_eq!(r.status.code(), Some(12), "{}", stdout(&r));
}

#[test]
fn explore_refuses_a_taken_port() {
    let dir = tempfile::tempdir().unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let o = mvcheck(dir.path(), &["explore", "--addr", &addr]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("cannot listen on"), "{}", stderr(&o));
}

/// Every place in `v` holding a JSON `null`, as a JSON pointer.
fn nulls(v: &Value, at: &str, out: &mut Vec<String>) {
    match v {
        Value::Null => out.push(at.to_string()),
        Value::Array(a) => a
            .iter()
            .enumerate()
            .for_each(|(i, x)| nulls(x, &format!("{at}/{i}"), out)),
        Value::Object(o) => o.iter().for_each(|(k, x)| nulls(x, &format!("{at}/{k}"), out)),
        _ => {}
    }
}

/// Writes the absent `Option` fields of rows and cells back as `null`, as version 1 did.
/// Returns how many it wrote.
fn add_nulls(v: &mut Value) -> usize {
    let mut n = 0;
    match v {
        Value::Array(a) => a.iter_mut().for_each(|x| n += add_nulls(x)),
        Value::Object(o) => {
            let absent: &[&str] = if o.contains_key("marker") || o.contains_key("deletion") {
                &["marker", "deletion", "w"]
            } else if o.contains_key("ts") && !o.contains_key("expired") {
                &["value"]
            } else {
                &[]
            };
            for f in absent {
                if !o.contains_key(*f) {
                    o.insert(f.to_string(), Value::Null);
                    n += 1;
                }
            }
            o.values_mut().for_each(|x| n += add_nulls(x));
        }
        _ => {}
    }
    n
}

#[test]
fn itf_file_has_no_null_follows_mbt_conventions_and_replays() {
    let dir = tempfile::tempdir().unwrap();
    // Its rows have no deletion (`Option::None`), which used to be written as `null`.
    let o = mvcheck(dir.path(), &["check", "--variant", "no-partition-lock"]);
    assert_eq!(o.status.code(), Some(12), "{}", stdout(&o));
    let name = "_mvcheck-out/no-partition-lock.P-one-row.itf.json";
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(dir.path().join(name)).unwrap()).unwrap();

    let mut found = Vec::new();
    nulls(&doc, "", &mut found);
    assert!(found.is_empty(), "JSON null at {found:?}");
    assert_eq!(doc["#meta"]["format-version"], 9);

    let states = doc["states"].as_array().unwrap();
    assert!(states.len() > 1);
    let mut absent_fields = 0;
    let mut commitlog_entries = 0;
    for (i, s) in states.iter().enumerate() {
        let taken = s["mbt::actionTaken"]
            .as_str()
            .unwrap_or_else(|| panic!("state {i}: {s}"));
        let picks = s["mbt::nondetPicks"]
            .as_object()
            .unwrap_or_else(|| panic!("state {i}: {s}"));
        // The same six choices in every state, each an ITF Option variant.
        let mut keys: Vec<&str> = picks.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["dst", "key", "msg", "node", "src", "timer"], "state {i}");
        for (k, p) in picks {
            let tag = p["tag"].as_str().unwrap_or_else(|| panic!("state {i} pick {k}: {p}"));
            assert!(tag == "Some" || tag == "None", "state {i} pick {k}: {p}");
        }
        if i == 0 {
            assert_eq!(taken, "init");
            assert!(s["#meta"].get("action").is_none(), "state 0 has no step");
            assert!(picks.values().all(|p| p["tag"] == "None"), "{s}");
            continue;
        }
        let step = &s["#meta"]["action"];
        assert_eq!(taken, step["kind"], "state {i}: actionTaken is the step's kind");
        if taken == "Deliver" {
            assert_eq!(picks["src"]["value"], step["src"], "state {i}");
            assert_eq!(picks["dst"]["value"], step["dst"], "state {i}");
            assert_eq!(picks["msg"]["value"], step["msg"], "state {i}");
            assert_eq!(picks["node"]["tag"], "None", "state {i}");
        }
        // The network is a multiset: message line to a count of copies, at least 1.
        for entry in s["network"]["#map"].as_array().unwrap() {
            assert!(entry[0].is_string(), "state {i}: {entry}");
            assert!(entry[1].as_u64().unwrap() >= 1, "state {i}: {entry}");
        }
        for n in s["nodes"].as_array().unwrap() {
            for log in ["batchlog", "hints", "base_hints", "commitlog", "coord_batchlog"] {
                let entries = n[log]["#map"]
                    .as_array()
                    .unwrap_or_else(|| panic!("state {i}: {log} is an ITF map"));
                // Each entry is [id, contents], never an id alone.
                for e in entries {
                    assert_eq!(e.as_array().map(Vec::len), Some(2), "state {i}: {log} entry {e}");
                }
            }
            for e in n["commitlog"]["#map"].as_array().unwrap() {
                assert!(
                    e[1]["stmt"].is_object(),
                    "state {i}: a commit-log entry carries its statement"
                );
                commitlog_entries += 1;
            }
            for (_, row) in n["base"]["#map"].as_array().unwrap().iter().map(|e| (&e[0], &e[1])) {
                absent_fields += ["marker", "deletion", "v", "w"]
                    .iter()
                    .filter(|f| row.get(**f).is_none())
                    .count();
            }
        }
    }
    // Otherwise the null check above would prove nothing about absent values.
    assert!(absent_fields > 0, "the path never stores a row with an absent field");
    assert!(commitlog_entries > 0, "the path never holds a commit-log entry");

    let r = mvcheck(dir.path(), &["replay", name]);
    assert_eq!(r.status.code(), Some(12), "{}{}", stdout(&r), stderr(&r));
    assert!(
        stdout(&r).contains("still ends in a violation of P-one-row"),
        "{}",
        stdout(&r)
    );

    // A version 1 file (before the ITF encoding) still replays: no format-version, `null` for
    // the absent step of state 0 and for absent fields inside steps, the step as nondetPicks.
    let mut v1 = doc.clone();
    v1["#meta"].as_object_mut().unwrap().remove("format-version");
    let mut restored = 0;
    for s in v1["states"].as_array_mut().unwrap() {
        let meta = s["#meta"].as_object_mut().unwrap();
        let step = meta.entry("action").or_insert(Value::Null);
        restored += add_nulls(step);
        s["mbt::nondetPicks"] = s["#meta"]["action"].clone();
    }
    assert!(restored > 0, "the steps never had an absent field to write as null");
    std::fs::write(dir.path().join("v1.itf.json"), v1.to_string()).unwrap();
    let r = mvcheck(dir.path(), &["replay", "v1.itf.json"]);
    assert_eq!(r.status.code(), Some(12), "{}{}", stdout(&r), stderr(&r));

    // Version 2 (durable logs by id only), 3 (no base hints), 4 (no repair), 5 (no hint
    // window), 6 (no view repair), 7 (R8 sent as messages; this trace has no view repair) and
    // 8 (no clock step, no TTL) files have the same `#meta` and still replay.
    for old in [2, 3, 4, 5, 6, 7, 8] {
        let mut v = doc.clone();
        v["#meta"]["format-version"] = old.into();
        std::fs::write(dir.path().join("old.itf.json"), v.to_string()).unwrap();
        let r = mvcheck(dir.path(), &["replay", "old.itf.json"]);
        assert_eq!(r.status.code(), Some(12), "{}{}", stdout(&r), stderr(&r));
    }

    // A file from a newer mvcheck is refused by name, not misread.
    let mut newer = doc.clone();
    newer["#meta"]["format-version"] = 10.into();
    std::fs::write(dir.path().join("newer.itf.json"), newer.to_string()).unwrap();
    let r = mvcheck(dir.path(), &["replay", "newer.itf.json"]);
    assert_eq!(r.status.code(), Some(2), "{}{}", stdout(&r), stderr(&r));
    assert!(stderr(&r).contains("format-version 10"), "{}", stderr(&r));
}

/// A version-7 view repair sent R8's cells as messages that later steps delivered; since
/// version 8 the repair's step applies them, so such a trace is refused by name, while the
/// same file at version 8 replays.
#[test]
fn a_version_7_view_repair_trace_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let o = mvcheck(dir.path(), &["check", "--variant", "prune-at-now"]);
    assert_eq!(o.status.code(), Some(12), "{}", stdout(&o));
    let name = "_mvcheck-out/prune-at-now.P-no-clobber.itf.json";
    let text = std::fs::read_to_string(dir.path().join(name)).unwrap();
    assert!(text.contains("\"ViewRepair\""), "the counterexample runs a view repair");
    let r = mvcheck(dir.path(), &["replay", name]);
    assert_eq!(r.status.code(), Some(12), "{}{}", stdout(&r), stderr(&r));
    let mut v7: Value = serde_json::from_str(&text).unwrap();
    v7["#meta"]["format-version"] = 7.into();
    std::fs::write(dir.path().join("v7.itf.json"), v7.to_string()).unwrap();
    let r = mvcheck(dir.path(), &["replay", "v7.itf.json"]);
    assert_eq!(r.status.code(), Some(2), "{}{}", stdout(&r), stderr(&r));
    assert!(
        stderr(&r).contains("format-version 7 view repair sent R8's cells as base writes"),
        "{}",
        stderr(&r)
    );
}

/// `explore --addr HOST:0` prints the port the system gave, and serves there.
#[test]
fn explore_on_port_0_prints_the_bound_port() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_mvcheck"))
        .args(["explore", "--addr", "127.0.0.1:0"])
        .current_dir(dir.path())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let url = lines
        .find_map(|l| l.ok()?.strip_prefix("explorer: http://").map(str::to_string))
        .expect("the explorer prints its address");
    let addr = url.trim_end_matches('/').to_string();
    let port: u16 = addr.rsplit(':').next().unwrap().parse().unwrap();
    assert_ne!(port, 0, "{addr}");
    let start = std::time::Instant::now();
    while std::net::TcpStream::connect(&addr).is_err() {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(20),
            "nothing listens on {addr}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
}
