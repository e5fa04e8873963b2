//! `mvcheck validate FILE [--partial [N]] [--complete]`: replays an NDJSON implementation
//! trace (`specs/trace-format.md`) on the model and reports the first divergence.
//!
//! Exit codes: 0 when the model explains every line, 20 on a divergence (the trace-testing
//! code of `checker-ux-and-trace-testing.md`, distinct from a property violation's 12), 2 when
//! the file is not a trace (naming the line).

use crate::cli::Format;
use crate::Failure;
use mv_model::trace::{model_config, validate_complete, validate_on, Divergence, Options, Reason};
use serde_json::{json, Value};
use std::path::Path;
use std::time::Instant;

/// Exit code when the trace diverges from the model.
pub const EXIT_DIVERGENCE: u8 = 20;

/// Runs `mvcheck validate`.
pub fn validate(file: &Path, partial: Option<usize>, complete: bool, format: Format) -> Result<u8, Failure> {
    let bad = |msg: String| Failure::Usage(format!("{}: {msg}", file.display()));
    // `-` reads standard input, so a simulation can pipe its trace straight in.
    let text = if file == Path::new("-") {
        std::io::read_to_string(std::io::stdin()).map_err(|e| bad(format!("cannot read: {e}")))?
    } else {
        std::fs::read_to_string(file).map_err(|e| bad(format!("cannot read: {e}")))?
    };
    let started = Instant::now();
    let trace = mv_spec::trace::read(&text).map_err(|e| bad(e.to_string()))?;
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
    if format == Format::Json {
        let mut doc = json!({
            "file": file.display().to_string(),
            "config": model.summary(),
            "mode": mode,
            "events": trace.lines.len(),
            "seconds": seconds,
        });
        match &verdict {
            Ok(v) => {
                doc["valid"] = json!(true);
                doc["steps_matched"] = json!(v.events + v.hidden);
                doc["unrecorded"] = json!(v.hidden);
                doc["quiescent"] = json!(v.quiescent);
            }
            Err(d) => {
                doc["valid"] = json!(false);
                doc["divergence"] = divergence_json(d, trace.line_numbers.get(d.index).copied());
            }
        }
        println!("{doc}");
        return Ok(if verdict.is_ok() { 0 } else { EXIT_DIVERGENCE });
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
            Ok(0)
        }
        Err(d) => {
            println!("mvcheck validate {} | {} | {mode}", file.display(), model.summary());
            match trace.line_numbers.get(d.index) {
                Some(line) => println!("divergence at line {line}, {d}"),
                None => println!("divergence at the {d}"),
            }
            Ok(EXIT_DIVERGENCE)
        }
    }
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
