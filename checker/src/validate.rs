//! `mvcheck validate FILE [--partial [N]] [--complete]`: replays an NDJSON implementation
//! trace (`specs/trace-format.md`) on the model and reports the first divergence.
//!
//! Exit codes: 0 when the model explains every line and no property is violated along the
//! trace, 12 when the model explains every line but the run violates a property (the trace
//! is a faithful run of a wrong design), 20 on a divergence (distinct from a violation), 3
//! when a `--partial` search hit its state limit (inconclusive), 2 when the file is not a
//! trace (naming the line).

use crate::cli::Format;
use crate::{Exit, Failure};
use mv_model::trace::{model_config, validate_complete, validate_on, Divergence, Options, Reason};
use mv_spec::node_trace;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::Instant;

fn read_text(file: &Path) -> Result<String, Failure> {
    let bad = |msg: String| Failure::Usage(format!("{}: {msg}", file.display()));
    // `-` reads standard input, so a simulation can pipe its trace straight in.
    if file == Path::new("-") {
        std::io::read_to_string(std::io::stdin()).map_err(|e| bad(format!("cannot read: {e}")))
    } else {
        std::fs::read_to_string(file).map_err(|e| bad(format!("cannot read: {e}")))
    }
}

/// The per-node traces of one cluster run, merged (`mv_spec::node_trace::merge`): the merged
/// text, and for each of its lines the file and line it came from.
/// A merge that finds the files are no run of the model (`MergeError::divergence`) is
/// `Ok(Err(why))`.
type MergeResult = Result<Result<(String, Vec<String>), String>, Failure>;

fn merge_files(files: &[PathBuf], first: String) -> MergeResult {
    let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    let mut traces = Vec::with_capacity(files.len());
    for (i, file) in files.iter().enumerate() {
        let text = if i == 0 { first.clone() } else { read_text(file)? };
        let t = node_trace::read_node_trace(&text).map_err(|e| {
            let hint = if mv_spec::trace::read(&text).is_ok() {
                " (this is a whole run's trace: validate it alone)"
            } else {
                ""
            };
            Failure::Usage(format!("{}: {e}{hint}", names[i]))
        })?;
        traces.push(t);
    }
    let merged = match node_trace::merge(&traces, &names) {
        Ok(m) => m,
        Err(e) if e.divergence => return Ok(Err(e.message)),
        Err(e) => return Err(Failure::Usage(e.message)),
    };
    if merged.crashes > 3 {
        return Err(Failure::Usage(format!(
            "these traces hold {} crashes, and the model takes at most 3 in a run",
            merged.crashes
        )));
    }
    let origin = merged
        .origin
        .iter()
        .map(|&(f, l)| format!("{} line {l}", names[f]))
        .collect();
    Ok(Ok((merged.to_ndjson(), origin)))
}

/// Runs `mvcheck validate`.
pub fn validate(
    files: &[PathBuf],
    partial: Option<usize>,
    complete: bool,
    format: Format,
    merged_out: Option<&Path>,
) -> Result<Exit, Failure> {
    let first = read_text(&files[0])?;
    // Several files, or one node's: per-node traces, merged into one run.
    let (text, origin, file) = if files.len() > 1 || node_trace::is_node_trace(&first) {
        let (text, origin) = match merge_files(files, first)? {
            Ok(merged) => merged,
            Err(why) => return Ok(unmergeable(files, &why, format)),
        };
        if let Some(out) = merged_out {
            std::fs::write(out, &text).map_err(|e| Failure::Usage(format!("cannot write {}: {e}", out.display())))?;
        }
        (
            text,
            Some(origin),
            PathBuf::from(format!("{} per-node traces merged", files.len())),
        )
    } else {
        if merged_out.is_some() {
            return Err(Failure::Usage(
                "--merged is for per-node traces, and this is a whole run's trace".into(),
            ));
        }
        (first, None, files[0].clone())
    };
    let file = file.as_path();
    let bad = |msg: String| Failure::Usage(format!("{}: {msg}", file.display()));
    let started = Instant::now();
    let trace = mv_spec::trace::read(&text).map_err(|e| {
        // An ITF file is one JSON document with `#meta`: name it instead of a header error.
        let itf = serde_json::from_str::<Value>(&text).is_ok_and(|v| v.get("#meta").is_some());
        if itf {
            bad("this is an ITF file (from `check` or `simulate`), not an NDJSON trace: use `mvcheck replay`".into())
        } else {
            bad(e.to_string())
        }
    })?;
    let header_line = text.lines().position(|l| !l.trim().is_empty()).map_or(1, |i| i + 1);
    let cfg = model_config(&trace.header.config).map_err(|e| bad(format!("line {header_line}: {e}")))?;
    let model = cfg.into_model();
    let mut mode = match partial {
        None => "strict".to_string(),
        Some(n) => format!("partial, gaps of up to {n} unrecorded steps searched"),
    };
    let opts = Options { partial };
    let verdict = if complete {
        mode.push_str(", complete run");
        validate_complete(&model, &trace.lines, &opts)
    } else {
        validate_on(&model, &trace.lines, &opts)
    };
    let seconds = started.elapsed().as_secs_f64();
    let exit = match &verdict {
        Ok(v) if v.violations.is_empty() => Exit::Ok,
        Ok(_) => Exit::Violation,
        // A partial search that outgrew its state limit decided nothing.
        Err(d) if matches!(d.reason, Reason::SearchLimit { .. }) => Exit::Inconclusive,
        Err(_) => Exit::Divergence,
    };
    let line_of = |i: usize| trace.line_numbers.get(i).copied();
    if format == Format::Json {
        let mut doc = json!({
            "file": file.display().to_string(),
            "config": crate::itf::config_json(&model.cfg),
            "mode": mode,
            "events": trace.lines.len(),
            "seconds": seconds,
        });
        if origin.is_some() {
            doc["merged_from"] = json!(files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>());
        }
        match &verdict {
            Ok(v) => {
                doc["verdict"] = json!(if v.violations.is_empty() { "valid" } else { "violated" });
                doc["valid"] = json!(true);
                doc["steps_matched"] = json!(v.events + v.hidden);
                doc["unrecorded"] = json!(v.hidden);
                doc["quiescent"] = json!(v.quiescent);
                doc["violations"] = json!(v
                    .violations
                    .iter()
                    .map(|&(property, i)| json!({
                        "property": property,
                        "line": line_of(i),
                        "seq": trace.lines[i].seq,
                    }))
                    .collect::<Vec<_>>());
            }
            Err(d) => {
                let inconclusive = exit == Exit::Inconclusive;
                doc["verdict"] = json!(if inconclusive { "inconclusive" } else { "diverges" });
                doc["valid"] = if inconclusive { Value::Null } else { json!(false) };
                doc["divergence"] = divergence_json(d, line_of(d.index));
                if let Some(from) = origin.as_ref().and_then(|o| o.get(d.index)) {
                    doc["divergence"]["from"] = json!(from);
                }
            }
        }
        doc["exit_code"] = json!(exit.code());
        println!("{doc}");
        return Ok(exit);
    }
    match verdict {
        Ok(v) => {
            let unrecorded = match v.hidden {
                0 => String::new(),
                h => format!(" ({h} unrecorded)"),
            };
            let end = if v.quiescent { "quiescent" } else { "work left" };
            println!(
                "valid: {} events, {} steps matched{unrecorded}, model {end} at the end, in {:.3}s ({}; {mode})",
                trace.lines.len(),
                v.events + v.hidden,
                seconds,
                model.summary()
            );
            // A faithful trace of a wrong run: say where each property broke.
            for &(property, i) in &v.violations {
                let at = match line_of(i) {
                    Some(l) => format!("line {l} (seq {})", trace.lines[i].seq),
                    None => format!("event {}", i + 1),
                };
                println!("VIOLATED {property} after {at}");
            }
            if !v.violations.is_empty() {
                println!(
                    "result: the trace is a behaviour of the model, and it violates {} propert{} (exit {})",
                    v.violations.len(),
                    if v.violations.len() == 1 { "y" } else { "ies" },
                    Exit::Violation.code()
                );
            }
            Ok(exit)
        }
        Err(d) => {
            println!("mvcheck validate {} | {} | {mode}", file.display(), model.summary());
            let what = if exit == Exit::Inconclusive {
                "inconclusive"
            } else {
                "divergence"
            };
            match line_of(d.index) {
                Some(line) => println!("{what} at line {line}, {d}"),
                None => println!("{what} at the {d}"),
            }
            if let Some(from) = origin.as_ref().and_then(|o| o.get(d.index)) {
                println!("the diverging step is {from}");
            }
            if exit == Exit::Inconclusive {
                println!(
                    "result: inconclusive (exit {}): the search for unrecorded steps hit its state limit, so nothing was decided",
                    Exit::Inconclusive.code()
                );
            }
            Ok(exit)
        }
    }
}

/// Per-node traces that no order makes a run of the model: a divergence found before any
/// step is replayed.
fn unmergeable(files: &[PathBuf], why: &str, format: Format) -> Exit {
    let exit = Exit::Divergence;
    if format == Format::Json {
        let doc = json!({
            "merged_from": files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>(),
            "verdict": "diverges",
            "valid": false,
            "divergence": {"reason": "causality", "details": [why], "report": why},
            "exit_code": exit.code(),
        });
        println!("{doc}");
    } else {
        println!("mvcheck validate: {} per-node traces", files.len());
        println!("divergence before any step is replayed: {why}");
    }
    exit
}

/// A divergence for `--format json`: where (file line, event, seq), the step, the reason as
/// a kind plus its lines, and the matched prefix.
fn divergence_json(d: &Divergence, line: Option<usize>) -> Value {
    let (kind, details): (&str, Vec<String>) = match &d.reason {
        Reason::Config(e) => ("config", vec![e.clone()]),
        Reason::Unknown(e) => ("unknown", vec![e.clone()]),
        Reason::Missing { gap } => ("missing", vec![format!("{gap} step(s) not recorded")]),
        Reason::GapTooLarge { gap, limit } => ("gap-too-large", vec![format!("gap {gap} > --partial {limit}")]),
        Reason::GapUnfillable { gap } => ("gap-unfillable", vec![format!("no run takes {gap} more step(s)")]),
        Reason::NotEnabled { enabled } => ("not-enabled", enabled.clone()),
        Reason::Redelivered => ("redelivered", vec![]),
        Reason::Observation { diff, .. } => ("observation", diff.clone()),
        Reason::Incomplete { pending } => ("incomplete", pending.clone()),
        Reason::SearchLimit { states } => ("search-limit", vec![format!("{states} states")]),
    };
    json!({
        "line": line,
        "event": d.index + 1,
        "seq": d.seq,
        "step": d.step,
        "reason": kind,
        "details": details,
        "matched": d.index,
        "matched_through_seq": d.last_matched_seq,
        "report": d.to_string(),
    })
}
