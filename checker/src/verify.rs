//! `mvcheck verify`: is the view in sync with its base? The check of `mv_spec::verify`
//! (`specs/protocol.md`, "Detection"), run on a simulated cluster at any point of a seeded
//! run, on the last state of an NDJSON trace replayed on the model (so that any
//! implementation that writes the trace format can be checked), or on the last state of a
//! path `check` or `simulate` saved (`.itf.json`).
//!
//! Exit codes: 0 in sync; 12 out of sync, with the rows listed; 3 when the state is not
//! quiescent and every disagreeing row is pending (not yet in sync, and not a verdict); 20
//! when the trace diverges from the model; 2 for bad flags or input.

use crate::cli::{Format, ModelArgs, SimPoint, VerifyArgs};
use crate::{Exit, Failure};
use mv_model::trace::{model_config, validate_to_end, Options};
use mv_spec::obs::Observation;
use mv_spec::verify::{classify, Finding};
use mv_spec::NodeId;
use serde_json::json;
use std::path::Path;

/// Runs `mvcheck verify`.
pub fn verify(args: &VerifyArgs) -> Result<Exit, Failure> {
    let (what, obs) = match &args.trace {
        Some(file) => from_trace(file)?,
        None => from_simulation(args)?,
    };
    let findings = classify(&obs);
    let exit = if findings.is_empty() {
        Exit::Ok
    } else if findings.iter().all(|f| f.pending.is_some()) {
        Exit::Inconclusive
    } else {
        Exit::Violation
    };
    match args.format {
        Format::Json => {
            for f in &findings {
                println!("{}", finding_json(f));
            }
        }
        Format::Human => print_human(&what, &obs, &findings, exit),
    }
    Ok(exit)
}

/// The observation of a seeded simulation after `--steps` steps.
fn from_simulation(args: &VerifyArgs) -> Result<(String, Observation), Failure> {
    let (what, cluster) = simulate(&args.model, &args.sim)?;
    Ok((what, cluster.observe()))
}

/// Runs the seeded simulation `verify` and `repair` look at: the cluster where it stopped,
/// and a line that says which run it is.
pub(crate) fn simulate(model: &ModelArgs, at: &SimPoint) -> Result<(String, mv_impl::sim::Cluster), Failure> {
    let (model_cfg, cfg, opts) = crate::impl_sim::sim_setup(model, at.faults.as_deref(), at.seed, at.steps)?;
    let run = mv_impl::sim::run(cfg, &opts).map_err(Failure::Usage)?;
    if let Some(e) = &run.error {
        return Err(Failure::Internal(format!(
            "the implementation broke the protocol (seed {}): {e}",
            at.seed
        )));
    }
    let what = format!(
        "simulated cluster, seed {}, after {} steps ({})",
        at.seed,
        run.steps,
        crate::impl_sim::summary(&model_cfg)
    );
    Ok((what, run.cluster))
}

/// The observation of the model state a strict trace, or a saved path, ends in.
fn from_trace(file: &Path) -> Result<(String, Observation), Failure> {
    let bad = |msg: String| Failure::Usage(format!("{}: {msg}", file.display()));
    let text = if file == Path::new("-") {
        std::io::read_to_string(std::io::stdin()).map_err(|e| bad(format!("cannot read: {e}")))?
    } else {
        std::fs::read_to_string(file).map_err(|e| bad(format!("cannot read: {e}")))?
    };
    // A path saved by `check` is one JSON document with `#meta`; a trace is one per line.
    if serde_json::from_str::<serde_json::Value>(&text).is_ok_and(|v| v.get("#meta").is_some()) {
        return from_itf(file, &text);
    }
    let trace = mv_spec::trace::read(&text).map_err(|e| bad(e.to_string()))?;
    let model = model_config(&trace.header.config)
        .map_err(|e| bad(format!("line 1: {e}")))?
        .into_model();
    let (_, states) = validate_to_end(&model, &trace.lines, &Options { partial: None }).map_err(|d| {
        // Not a verdict on the view: the trace is not a run of the model.
        Failure::Divergence(format!(
            "{}: the model cannot replay this trace, so its last state is unknown: {d}",
            file.display()
        ))
    })?;
    let last = states
        .first()
        .ok_or_else(|| Failure::Internal("a strict replay ends in one state".into()))?;
    let what = format!(
        "trace {}, {} events replayed on the model ({})",
        file.display(),
        trace.lines.len(),
        model.summary()
    );
    Ok((what, model.observe(last)))
}

/// The observation of the model state a saved path ends in.
fn from_itf(file: &Path, text: &str) -> Result<(String, Observation), Failure> {
    let loaded = crate::itf::parse(file, text)?;
    let model = &loaded.model;
    let path = model.replay(&loaded.actions).ok_or_else(|| {
        Failure::Divergence(format!(
            "{}: the model cannot replay this path, so its last state is unknown (`mvcheck replay` names the step)",
            file.display()
        ))
    })?;
    let what = format!(
        "{} ({}, {} steps), replayed on the model ({})",
        file.display(),
        loaded.property,
        loaded.actions.len(),
        model.summary()
    );
    Ok((what, model.observe(path.last_state())))
}

fn finding_json(f: &Finding) -> serde_json::Value {
    let cell = |c: Option<Option<mv_spec::Cell>>| match c {
        None => json!(null),
        Some(None) => json!({"live": true, "w": null}),
        Some(Some(c)) => json!({"live": true, "w": c.value, "w_ts": c.ts}),
    };
    json!({
        "replica": f.replica.to_string(),
        "class": f.class.label(),
        "v": f.key.v,
        "k": f.key.k,
        "pending": f.pending.map(|p| serde_json::to_value(p).expect("a Pending serializes")),
        "view": cell(f.have),
        "implied": cell(f.want),
        "base_v": f.base_v,
    })
}

pub(crate) fn print_human(what: &str, obs: &Observation, findings: &[Finding], exit: Exit) {
    println!("mvcheck verify: {what}");
    println!(
        "state: {}",
        if obs.quiescent {
            "quiescent: the answer is final"
        } else {
            "not quiescent: work is in progress, and a row out of sync now may still be fixed by a message in flight"
        }
    );
    for n in 0..obs.nodes.len() {
        let me = NodeId(n as u8);
        let mine: Vec<&Finding> = findings.iter().filter(|f| f.replica == me).collect();
        let owned = obs.nodes[n]
            .view
            .keys()
            .filter(|vk| obs.ring.view_replicas(**vk).contains(&me))
            .count();
        if mine.is_empty() {
            println!("view replica {me}: in sync ({owned} view rows stored)");
            continue;
        }
        let pending = mine.iter().filter(|f| f.pending.is_some()).count();
        println!(
            "view replica {me}: {} out of sync{} ({owned} view rows stored)",
            rows(mine.len() - pending),
            if pending > 0 {
                format!(", {} pending", rows(pending))
            } else {
                String::new()
            }
        );
        for f in mine {
            println!("  {f}");
        }
    }
    let replicas = {
        let mut r: Vec<NodeId> = findings
            .iter()
            .filter(|f| f.pending.is_none())
            .map(|f| f.replica)
            .collect();
        r.dedup();
        r.len()
    };
    match exit {
        Exit::Ok if obs.quiescent => {
            println!("verdict: IN SYNC: every view replica holds exactly the view its base implies")
        }
        Exit::Ok => println!(
            "verdict: IN SYNC now: every view replica holds exactly the view its base implies, and writes in progress may change both"
        ),
        Exit::Inconclusive => println!(
            "verdict: NOT YET: {} pending, none out of sync; check again once the cluster is quiescent",
            rows(findings.len())
        ),
        _ => println!(
            "verdict: OUT OF SYNC: {} on {replicas} view replica{}",
            rows(findings.iter().filter(|f| f.pending.is_none()).count()),
            if replicas == 1 { "" } else { "s" }
        ),
    }
}

fn rows(n: usize) -> String {
    format!("{n} row{}", if n == 1 { "" } else { "s" })
}
