//! `mvcheck validate`: exit 0 for a trace the model explains, 12 for a faithful trace of a run
//! that violates a property, 3 when a partial search hits its limit, 20 for a divergence (with the
//! line, the diff and the matched prefix), 2 for a file that is not a trace (with the line).

use mv_model::trace::{random_run, record};
use mv_model::{MvModelCfg, Variant};
use mv_spec::trace::{self, After, Step, TraceHeader, TraceLine};
use mv_spec::Msg;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn mvcheck(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mvcheck"))
        .args(args)
        .output()
        .expect("mvcheck runs")
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// A random run of the default model that does real work: the first, by seed, of at least 20
/// steps that starts with a client's request (a crash first can lose it, or hold its base
/// write back).
fn model_trace() -> (TraceHeader, Vec<TraceLine>) {
    let m = MvModelCfg::for_variant(Variant::Cassandra40).into_model();
    (4..200)
        .map(|seed| record(&m, &random_run(&m, seed, 400), Some(seed)).unwrap())
        .find(|(_, lines)| {
            lines.len() >= 20
                && lines.iter().take(1).any(|l| {
                    matches!(
                        &l.step,
                        Step::Deliver {
                            msg: Msg::Write { .. },
                            ..
                        }
                    )
                })
        })
        .expect("some run of 20 steps delivers a request")
}

fn write(dir: &Path, name: &str, contents: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, contents).unwrap();
    p
}

fn validate(file: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["validate", file.to_str().unwrap()];
    args.extend_from_slice(extra);
    mvcheck(&args)
}

#[test]
fn a_valid_trace_exits_0_with_a_summary() {
    let dir = tempfile::tempdir().unwrap();
    let (h, lines) = model_trace();
    let f = write(dir.path(), "ok.ndjson", &trace::to_ndjson(&h, &lines));
    let o = validate(&f, &[]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}{err}");
    let n = lines.len();
    assert!(
        out.starts_with(&format!(
            "valid: {n} events, {n} steps matched, model quiescent at the end, in "
        )),
        "{out}"
    );
    assert!(out.contains("variant=cassandra-4.0") && out.contains("strict"), "{out}");
}

#[test]
fn complete_rejects_a_run_that_stops_with_work_left() {
    let dir = tempfile::tempdir().unwrap();
    let (h, lines) = model_trace();
    let whole = write(dir.path(), "whole.ndjson", &trace::to_ndjson(&h, &lines));
    assert_eq!(validate(&whole, &["--complete"]).status.code(), Some(0));
    // Stop right after the first client request: its base writes are still in flight.
    let cut = 1 + lines
        .iter()
        .position(|l| {
            matches!(
                &l.step,
                Step::Deliver {
                    msg: Msg::Write { .. },
                    ..
                }
            )
        })
        .unwrap();
    let f = write(dir.path(), "cut.ndjson", &trace::to_ndjson(&h, &lines[..cut]));
    let o = validate(&f, &[]);
    let (out, _) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(out.contains("model work left at the end"), "{out}");
    let o = validate(&f, &["--complete"]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(20), "{out}{err}");
    assert!(
        out.contains(&format!(
            "divergence at the end of trace, after event {cut} (seq {cut})"
        )),
        "{out}"
    );
    assert!(
        out.contains("can still take: ") && out.contains(" BaseWrite w"),
        "{out}"
    );
}

#[test]
fn a_trace_can_come_from_stdin() {
    use std::io::Write;
    use std::process::Stdio;
    let (h, lines) = model_trace();
    let mut child = Command::new(env!("CARGO_BIN_EXE_mvcheck"))
        .args(["validate", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let ndjson = trace::to_ndjson(&h, &lines[..lines.len() - 1]);
    child.stdin.take().unwrap().write_all(ndjson.as_bytes()).unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(0));
    let (out, err) = text(&o);
    assert!(
        out.starts_with(&format!("valid: {} events", lines.len() - 1)),
        "{out}{err}"
    );
}

#[test]
fn a_changed_value_exits_20_naming_the_line_and_the_difference() {
    let dir = tempfile::tempdir().unwrap();
    let (h, mut lines) = model_trace();
    let i = lines
        .iter()
        .position(|l| matches!(&l.after, After::Node(o) if !o.view.is_empty()))
        .unwrap();
    let After::Node(o) = &mut lines[i].after else {
        unreachable!()
    };
    o.view.clear();
    let f = write(dir.path(), "changed.ndjson", &trace::to_ndjson(&h, &lines));
    let o = validate(&f, &[]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(20), "{out}{err}");
    // The header is line 1, so step line i is file line i + 2.
    assert!(
        out.contains(&format!(
            "divergence at line {}, event {} (seq {})",
            i + 2,
            i + 1,
            lines[i].seq
        )),
        "{out}"
    );
    assert!(out.contains("expected (model) => actual (trace)"), "{out}");
    assert!(
        out.lines()
            .any(|l| l.trim_start().starts_with(&format!("- {} view (v=", lines[i].node))),
        "{out}"
    );
    assert!(out.contains(&format!("longest matched prefix: {i} events")), "{out}");
}

#[test]
fn json_reports_the_verdict_and_the_divergence() {
    let dir = tempfile::tempdir().unwrap();
    let (h, mut lines) = model_trace();
    let f = write(dir.path(), "ok.ndjson", &trace::to_ndjson(&h, &lines));
    let o = validate(&f, &["--format", "json"]);
    assert_eq!(o.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_str(&text(&o).0).unwrap();
    assert_eq!(
        (v["valid"].as_bool(), v["events"].as_u64()),
        (Some(true), Some(lines.len() as u64))
    );
    assert_eq!(v["quiescent"].as_bool(), Some(true));
    let i = lines.iter().position(|l| matches!(l.after, After::Node(_))).unwrap();
    let After::Node(o) = &mut lines[i].after else {
        unreachable!()
    };
    o.up = !o.up;
    let f = write(dir.path(), "bad.ndjson", &trace::to_ndjson(&h, &lines));
    let o = validate(&f, &["--format", "json"]);
    assert_eq!(o.status.code(), Some(20));
    let v: serde_json::Value = serde_json::from_str(&text(&o).0).unwrap();
    let d = &v["divergence"];
    assert_eq!(v["valid"].as_bool(), Some(false));
    assert_eq!(d["line"].as_u64(), Some(i as u64 + 2));
    assert_eq!(d["matched"].as_u64(), Some(i as u64));
    assert_eq!(d["reason"].as_str(), Some("observation"));
    assert_eq!(d["step"]["kind"].as_str(), Some(lines[i].step.kind()));
    assert!(d["details"][0].as_str().unwrap().contains(" status: "), "{d}");
}

#[test]
fn partial_accepts_unrecorded_steps_that_strict_rejects() {
    let dir = tempfile::tempdir().unwrap();
    let (h, lines) = model_trace();
    let gappy: Vec<TraceLine> = lines.iter().step_by(2).cloned().collect();
    let f = write(dir.path(), "gappy.ndjson", &trace::to_ndjson(&h, &gappy));
    assert_eq!(validate(&f, &[]).status.code(), Some(20));
    let o = validate(&f, &["--partial"]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}{err}");
    assert!(out.contains("gaps of up to 3 unrecorded steps"), "{out}");
    // Steps after the last recorded line are not searched for.
    let unrecorded = gappy.last().unwrap().seq as usize - gappy.len();
    assert!(
        out.starts_with(&format!(
            "valid: {} events, {} steps matched ({unrecorded} unrecorded),",
            gappy.len(),
            gappy.len() + unrecorded
        )),
        "{out}"
    );
    let o = validate(&f, &[]);
    assert!(
        text(&o).0.contains("were not recorded (validate with --partial"),
        "{}",
        text(&o).0
    );
    assert_eq!(validate(&f, &["--partial", "1"]).status.code(), Some(0));
    assert_eq!(validate(&f, &["--partial", "0"]).status.code(), Some(20));
}

#[test]
fn a_malformed_file_exits_2_naming_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let (h, lines) = model_trace();
    let good = trace::to_ndjson(&h, &lines[..3]);
    let header = trace::to_line(&h);
    let cases = [
        (format!("{good}{{\"seq\": 9, \"node\"\n"), "line 5: "),
        (
            good.replacen("\"seq\":2", "\"seq\":1", 1),
            "line 3: seq 1 does not increase",
        ),
        (
            header.replace(
                &format!("\"workload\":\"{}\"", h.config.workload),
                "\"workload\":\"chaos\"",
            ),
            "line 1: config.workload \"chaos\" is unknown",
        ),
        (String::new(), "line 1: empty trace"),
        (
            format!(
                "\n{}",
                header.replace(&format!("\"nodes\":{}", h.config.nodes), "\"nodes\":0")
            ),
            "line 2: --nodes",
        ),
    ];
    for (contents, needle) in cases {
        let f = write(dir.path(), "bad.ndjson", &contents);
        let o = validate(&f, &[]);
        let (out, err) = text(&o);
        assert_eq!(o.status.code(), Some(2), "{contents}\n{out}{err}");
        assert!(err.contains(needle), "{needle:?} not in {err}");
    }
    let o = validate(&dir.path().join("missing.ndjson"), &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).1.contains("cannot read"));
}

/// A trace can be a faithful run of a wrong design: the model explains every line, and the
/// run still breaks a property. `validate` says so and exits 12, as `check` and `impl-sim
/// --validate` do, instead of calling the trace valid and exiting 0.
#[test]
fn a_faithful_trace_of_a_broken_variant_exits_12_naming_the_property() {
    let dir = tempfile::tempdir().unwrap();
    let m = MvModelCfg::for_variant(Variant::NoPartitionLock).into_model();
    let (h, lines) = (0..500)
        .map(|seed| record(&m, &random_run(&m, seed, 400), Some(seed)).unwrap())
        .find(|(h, lines)| {
            let v = mv_model::trace::validate(h, lines, &mv_model::trace::Options { partial: None }).unwrap();
            v.violations.iter().any(|(p, _)| *p == "P-one-row")
        })
        .expect("some run of no-partition-lock leaves two view rows");
    let f = write(dir.path(), "broken.ndjson", &trace::to_ndjson(&h, &lines));
    let o = validate(&f, &[]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(12), "{out}{err}");
    assert!(out.starts_with("valid: "), "{out}");
    assert!(out.contains("VIOLATED P-one-row after line "), "{out}");
    let o = validate(&f, &["--format", "json"]);
    assert_eq!(o.status.code(), Some(12));
    let v: serde_json::Value = serde_json::from_str(&text(&o).0).unwrap();
    assert_eq!(v["verdict"], "violated");
    assert_eq!(v["exit_code"], 12);
    assert!(v["config"].is_object(), "config is an object, as in `check`: {v}");
    let broken = v["violations"].as_array().unwrap();
    assert!(
        broken
            .iter()
            .any(|x| x["property"] == "P-one-row" && x["line"].as_u64().is_some()),
        "{v}"
    );
    // A correct variant's trace has none.
    let (h, lines) = model_trace();
    let f = write(dir.path(), "ok.ndjson", &trace::to_ndjson(&h, &lines));
    let v: serde_json::Value = serde_json::from_str(&text(&validate(&f, &["--format", "json"])).0).unwrap();
    assert_eq!(
        (v["verdict"].as_str(), v["violations"].as_array().map(Vec::len)),
        (Some("valid"), Some(0))
    );
}

/// A `--partial` search that outgrows its state limit decided nothing: exit 3, said as
/// inconclusive with the limit, never 20 ("diverges").
#[test]
fn a_partial_search_that_hits_its_limit_is_inconclusive() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = MvModelCfg::for_variant(Variant::Cassandra40);
    cfg.crashes = 2;
    cfg.ring.nodes = 4;
    cfg.ring.rf = 3;
    cfg.workload = mv_model::Workload::Concurrent { writes: 3, keys: 1 };
    let m = cfg.into_model();
    let (h, lines) = record(&m, &random_run(&m, 7, 400), Some(7)).unwrap();
    let sparse: Vec<TraceLine> = lines.iter().skip(11).step_by(12).cloned().collect();
    let f = write(dir.path(), "sparse.ndjson", &trace::to_ndjson(&h, &sparse));
    let o = validate(&f, &["--partial", "11"]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(3), "{out}{err}");
    assert!(out.contains("inconclusive at line"), "{out}");
    assert!(out.contains("limit 100000"), "{out}");
}
