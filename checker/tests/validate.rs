//! `mvcheck validate`: exit 0 for a trace the model explains, 20 for a divergence (with the
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

fn model_trace() -> (TraceHeader, Vec<TraceLine>) {
    let m = MvModelCfg::for_variant(Variant::Cassandra40).into_model();
    let run = random_run(&m, 4, 400);
    record(&m, &run, Some(4)).unwrap()
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
