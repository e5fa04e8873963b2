//! Counterexample files (ITF, `specs/trace-format.md`) and `mvcheck replay`.

use crate::report::print_path;
use crate::{Failure, EXIT_VIOLATION};
use mv_model::{Action, MvModel, MvModelCfg, State, Variant, Workload};
use mv_spec::trace::Step;
use mv_spec::{Cl, Pairing};
use serde_json::{json, Value};
use stateright::{Model, Path};
use std::path::{Path as FsPath, PathBuf};

fn pairing_name(p: Pairing) -> &'static str {
    match p {
        Pairing::SelfFirst => "self-first",
        Pairing::Positional => "positional",
    }
}

/// The configuration as JSON (ITF `#meta.config`, and `--format json`).
pub fn config_json(c: &MvModelCfg) -> Value {
    let (writes, keys) = match c.workload {
        Workload::Concurrent { writes, keys } => (writes, keys),
        w => (w.len() as u8, 1),
    };
    json!({
        "variant": c.variant.name(), "nodes": c.ring.nodes, "rf": c.ring.rf,
        "pairing": pairing_name(c.ring.pairing), "cl": c.cl.name(), "workload": c.workload.name(),
        "writes": writes, "keys": keys, "crashes": c.crashes, "data_loss": c.data_loss, "lossy": c.lossy,
    })
}

/// The flags that rebuild this configuration.
pub fn model_flags(c: &MvModelCfg) -> String {
    let mut f = format!(
        "--variant {} --nodes {} --rf {} --pairing {} --cl {} --workload {}",
        c.variant.name(),
        c.ring.nodes,
        c.ring.rf,
        pairing_name(c.ring.pairing),
        c.cl.name().to_lowercase(),
        c.workload.name()
    );
    if let Workload::Concurrent { writes, keys } = c.workload {
        f.push_str(&format!(" --writes {writes} --keys {keys}"));
    }
    f.push_str(&format!(" --crashes {} --data-loss {}", c.crashes, c.data_loss));
    if c.lossy {
        f.push_str(" --lossy");
    }
    f
}

fn config_from_json(v: &Value) -> Result<MvModelCfg, String> {
    let s = |k: &str| {
        v.get(k)
            .and_then(Value::as_str)
            .ok_or_else(|| format!("#meta.config.{k} is missing or not a string"))
    };
    let n = |k: &str| {
        v.get(k)
            .and_then(Value::as_u64)
            .and_then(|x| u8::try_from(x).ok())
            .ok_or_else(|| format!("#meta.config.{k} is missing or not a small number"))
    };
    let variant = Variant::from_name(s("variant")?).ok_or("#meta.config.variant names no known variant")?;
    let mut cfg = MvModelCfg::for_variant(variant);
    cfg.ring.nodes = n("nodes")?;
    cfg.ring.rf = n("rf")?;
    cfg.ring.pairing = match s("pairing")? {
        "self-first" => Pairing::SelfFirst,
        "positional" => Pairing::Positional,
        p => return Err(format!("#meta.config.pairing {p:?} is unknown")),
    };
    cfg.cl = match s("cl")? {
        "ONE" => Cl::One,
        "QUORUM" => Cl::Quorum,
        "ALL" => Cl::All,
        c => return Err(format!("#meta.config.cl {c:?} is unknown")),
    };
    cfg.workload =
        Workload::from_name(s("workload")?, n("writes")?, n("keys")?).ok_or("#meta.config.workload is unknown")?;
    cfg.crashes = n("crashes")?;
    cfg.data_loss = n("data_loss")?;
    cfg.lossy = v
        .get("lossy")
        .and_then(Value::as_bool)
        .ok_or("#meta.config.lossy is missing")?;
    cfg.validate()?;
    Ok(cfg)
}

fn state_json(model: &MvModel, s: &State, step: Option<&Step>, index: usize) -> Value {
    let obs = model.observe(s);
    let nodes: Vec<Value> = obs
        .nodes
        .iter()
        .map(|n| {
            json!({
                "up": n.up,
                "base": {"#map": n.base.iter().map(|(k, r)| json!([k, r])).collect::<Vec<_>>()},
                "view": {"#map": n.view.iter().map(|(k, r)| json!([k, r])).collect::<Vec<_>>()},
                "batchlog": n.batchlog.iter().map(|b| b.to_string()).collect::<Vec<_>>(),
                "hints": n.hints.iter().map(|(t, b)| format!("->{t} {b}")).collect::<Vec<_>>(),
                "commitlog": n.commitlog.iter().map(|w| w.to_string()).collect::<Vec<_>>(),
                "coord_batchlog": n.coord_batchlog.iter().map(|w| w.to_string()).collect::<Vec<_>>(),
            })
        })
        .collect();
    let network = model.in_flight_lines(s);
    let writes: Vec<Value> = obs
        .writes
        .iter()
        .map(|w| json!({"write": w.write.to_string(), "outcome": format!("{:?}", w.outcome)}))
        .collect();
    json!({
        "#meta": {"index": index, "action": step},
        "nodes": nodes,
        "network": network,
        "writes": writes,
        "mbt::actionTaken": step.map_or("init", |s| s.kind()),
        "mbt::nondetPicks": step,
    })
}

/// Writes a path as `<variant>.<property>.itf.json` in `dir`, never overwriting a file.
pub fn save(
    model: &MvModel,
    path: &Path<State, Action>,
    property: &str,
    status: &str,
    dir: &FsPath,
) -> Result<PathBuf, Failure> {
    let mut states = Vec::new();
    let mut step: Option<Step> = None;
    for (i, (s, a)) in path.clone().into_vec().into_iter().enumerate() {
        states.push(state_json(model, &s, step.as_ref(), i));
        step = a.as_ref().map(|a| model.to_step(a));
    }
    let doc = json!({
        "#meta": {
            "format": "ITF",
            "format-description": "https://apalache-mc.org/docs/adr/015adr-trace.html",
            "tool": "mvcheck",
            "version": env!("CARGO_PKG_VERSION"),
            "variant": model.cfg.variant.name(),
            "config": config_json(&model.cfg),
            "property": property,
            "status": status,
            "description": format!("{} of {property} in {}", status, model.cfg.variant.name()),
        },
        "vars": ["nodes", "network", "writes", "mbt::actionTaken", "mbt::nondetPicks"],
        "states": states,
    });
    std::fs::create_dir_all(dir).map_err(|e| Failure::Usage(format!("cannot create {}: {e}", dir.display())))?;
    let stem = format!("{}.{property}", model.cfg.variant.name());
    let mut file = dir.join(format!("{stem}.itf.json"));
    let mut n = 1;
    while file.exists() {
        file = dir.join(format!("{stem}-{n}.itf.json"));
        n += 1;
    }
    let text = serde_json::to_string_pretty(&doc).map_err(|e| Failure::Internal(e.to_string()))?;
    std::fs::write(&file, text).map_err(|e| Failure::Usage(format!("cannot write {}: {e}", file.display())))?;
    Ok(file)
}

/// `mvcheck replay FILE`.
pub fn replay(file: &FsPath) -> Result<u8, Failure> {
    let bad = |msg: String| Failure::Usage(format!("{}: {msg}", file.display()));
    let text = std::fs::read_to_string(file).map_err(|e| bad(format!("cannot read: {e}")))?;
    let doc: Value = serde_json::from_str(&text)
        .map_err(|e| bad(format!("not JSON: {e} (line {}, column {})", e.line(), e.column())))?;
    let meta = doc
        .get("#meta")
        .ok_or_else(|| bad("no #meta: not an ITF trace".into()))?;
    if meta.get("tool").and_then(Value::as_str) != Some("mvcheck") {
        return Err(bad(
            "#meta.tool is not \"mvcheck\": this trace was not written by mvcheck".into(),
        ));
    }
    let cfg = config_from_json(meta.get("config").unwrap_or(&Value::Null)).map_err(bad)?;
    let property = meta
        .get("property")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("#meta.property is missing".into()))?;
    let def = mv_spec::props::property(property)
        .ok_or_else(|| bad(format!("#meta.property {property:?} is no known property")))?;
    let model = cfg.into_model();
    let states = doc
        .get("states")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("\"states\" is missing or not a list".into()))?;
    let mut actions = Vec::new();
    for (i, s) in states.iter().enumerate().skip(1) {
        let step_json = s
            .get("#meta")
            .and_then(|m| m.get("action"))
            .ok_or_else(|| bad(format!("state {i} has no #meta.action")))?;
        let step: Step =
            serde_json::from_value(step_json.clone()).map_err(|e| bad(format!("state {i}: malformed action: {e}")))?;
        actions.push(model.from_step(&step).map_err(|e| bad(format!("state {i}: {e}")))?);
    }
    println!("mvcheck replay {} | {}", file.display(), model.summary());
    // Walk the steps one by one so that a divergence names the step.
    let mut state = model.init_states().remove(0);
    for (i, a) in actions.iter().enumerate() {
        let mut enabled = Vec::new();
        model.actions(&state, &mut enabled);
        let next = enabled
            .contains(a)
            .then(|| model.next_state(&state, a.clone()))
            .flatten();
        match next {
            Some(n) => state = n,
            None => {
                println!(
                    "step {} ({}) is not possible in this model: the path does not replay",
                    i + 1,
                    model.describe(a)
                );
                // The file and the model disagree: a divergence, as in `mvcheck validate`.
                return Ok(crate::validate::EXIT_DIVERGENCE);
            }
        }
    }
    let path = model
        .replay(&actions)
        .ok_or_else(|| Failure::Internal("replay disagreed with the step-by-step walk".into()))?;
    print_path(&model, &path);
    let p = model
        .properties()
        .into_iter()
        .find(|p| p.name == def.id)
        .expect("every spec property is registered");
    let holds = (p.condition)(&model, path.last_state());
    match def.kind {
        mv_spec::props::Kind::Always if !holds => {
            println!(
                "\nthe path still ends in a violation of {property} ({} steps)",
                actions.len()
            );
            Ok(EXIT_VIOLATION)
        }
        mv_spec::props::Kind::Always => {
            println!("\nthe path replays, but its last state no longer violates {property}");
            Ok(0)
        }
        _ => {
            println!(
                "\nthe path replays; {property} {} at its last state",
                if holds { "holds" } else { "does not hold" }
            );
            Ok(0)
        }
    }
}
