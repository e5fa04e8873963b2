//! Counterexample files (ITF, `specs/trace-format.md`) and `mvcheck replay`.
//!
//! ITF (Apalache ADR-015) has no `null`, and JSON numbers are only exact up to 2^53, so every
//! value goes through [`to_itf`] before it is written: an absent `Option` field is left out of
//! its record (every `Option` in the state and in steps is a struct field, so there is always a
//! record to leave it out of), and an integer beyond 2^53 becomes `{"#bigint": "..."}`.
//! [`from_itf`] undoes the second; serde already reads a missing `Option` field as `None`, so
//! the step in `#meta.action` decodes with the ordinary `Step` deserializer, and files written
//! before this encoding (format version 1, with `null`s) still replay.
//!
//! `mbt::nondetPicks` follows the Quint MBT convention: one record with a field per choice any
//! step can make (`src`, `dst`, `msg`, `node`, `timer`), each an `Option` variant, `Some` for
//! the choices this step made and `None` for the rest, so every state has the same shape.

use crate::report::print_path;
use crate::{Exit, Failure};
use mv_model::{Action, MvModel, MvModelCfg, State, Workload};
use mv_spec::trace::{Step, TraceConfig};
use mv_spec::Pairing;
use serde_json::{json, Map, Value};
use stateright::{Model, Path};
use std::collections::BTreeMap;
use std::path::{Path as FsPath, PathBuf};

/// The version of the file layout in `#meta.format-version`. 1 (no field): `null`s, and a
/// message in flight twice listed once. 2: the ITF encoding described in the module docs,
/// durable logs as sets of ids. 3: durable logs as maps from ids to their contents. 4: base
/// hints. 5: `key` in `mbt::nondetPicks`, and `Repair` steps. 6: `HintWindow` steps, and
/// `replace_streaming` and `long_outages` in `#meta.config` (absent: false). 7: `ViewRepair`
/// steps, and `view_repairs` and `view_repair_anytime` in `#meta.config` (absent: 0, false).
/// 8: a `ViewRepair` step merges R8's cells into every base replica itself, where 7 sent
/// them as `vrepairR.i` base writes that later steps delivered. 9: `Expire` steps (the `ttl-key`
/// workload), `ttl` on statements, cells and markers (absent: false), and rows as a read sees
/// them at the state's time (a TTL'd cell or marker past the deadline is dead).
/// Replay reads `#meta` and the steps, which later versions only extend, so it reads all of
/// them but a version-7 trace with a `ViewRepair` step (its steps no longer happen).
pub const FORMAT_VERSION: u64 = 9;

/// Largest integer magnitude a JSON number carries exactly in every reader (2^53).
const MAX_EXACT_INT: u64 = 1 << 53;

/// A serde JSON value as an ITF value: `null` record fields omitted, big integers as
/// `#bigint`. A `null` outside a record (none occurs in today's types) becomes the `None`
/// variant, so the output never holds a JSON `null` whatever the types become.
fn to_itf(v: Value) -> Value {
    match v {
        Value::Null => none(),
        Value::Number(n) => {
            let big = match (n.as_u64(), n.as_i64()) {
                (Some(u), _) => u > MAX_EXACT_INT,
                (None, Some(i)) => i.unsigned_abs() > MAX_EXACT_INT,
                _ => false,
            };
            if big {
                json!({"#bigint": n.to_string()})
            } else {
                Value::Number(n)
            }
        }
        Value::Array(a) => Value::Array(a.into_iter().map(to_itf).collect()),
        Value::Object(o) => Value::Object(
            o.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, to_itf(v)))
                .collect(),
        ),
        v => v,
    }
}

/// The inverse of [`to_itf`] on what serde will read back: `#bigint` to a number, the `None`
/// variant to `null`. A `#bigint` that does not fit 64 bits is an error naming it.
fn from_itf(v: &Value) -> Result<Value, String> {
    match v {
        Value::Object(o) => {
            if let Some(b) = o.get("#bigint").filter(|_| o.len() == 1) {
                let s = b.as_str().ok_or("#bigint holds no string")?;
                return s
                    .parse::<i64>()
                    .map(Value::from)
                    .or_else(|_| s.parse::<u64>().map(Value::from))
                    .map_err(|_| format!("#bigint {s:?} does not fit 64 bits"));
            }
            if *v == none() {
                return Ok(Value::Null);
            }
            let mut out = Map::new();
            for (k, x) in o {
                out.insert(k.clone(), from_itf(x)?);
            }
            Ok(Value::Object(out))
        }
        Value::Array(a) => a.iter().map(from_itf).collect::<Result<_, _>>().map(Value::Array),
        v => Ok(v.clone()),
    }
}

/// ITF's `None` variant (ADR-015 sum types: `tag` and `value`, unit as the empty tuple).
fn none() -> Value {
    json!({"tag": "None", "value": {"#tup": []}})
}

fn some(v: Value) -> Value {
    json!({"tag": "Some", "value": to_itf(v)})
}

/// `mbt::nondetPicks`: the choices behind a step, the same six fields in every state.
fn nondet_picks(step: Option<&Step>) -> Value {
    let (mut src, mut dst, mut msg, mut node, mut timer, mut key) = (none(), none(), none(), none(), none(), none());
    match step {
        None => {}
        Some(Step::Deliver { src: s, dst: d, msg: m } | Step::Drop { src: s, dst: d, msg: m }) => {
            src = some(json!(s));
            dst = some(json!(d));
            msg = some(serde_json::to_value(m).expect("a Msg serializes"));
        }
        Some(Step::Timeout { node: n, timer: t }) => {
            node = some(json!(n));
            timer = some(serde_json::to_value(t).expect("a Timer serializes"));
        }
        Some(
            Step::Crash { node: n }
            | Step::Recover { node: n }
            | Step::DataLoss { node: n }
            | Step::HintWindow { node: n }
            | Step::Expire { node: n },
        ) => {
            node = some(json!(n));
        }
        Some(Step::Repair { node: n, key: k } | Step::ViewRepair { node: n, key: k }) => {
            node = some(json!(n));
            key = some(json!(k));
        }
    }
    json!({"src": src, "dst": dst, "msg": msg, "node": node, "timer": timer, "key": key})
}

fn pairing_name(p: Pairing) -> &'static str {
    match p {
        Pairing::SelfFirst => "self-first",
        Pairing::Positional => "positional",
    }
}

/// The configuration as JSON (ITF `#meta.config`, and `--format json`): a trace header's
/// `config`, so that both file formats name a configuration the same way.
pub fn config_json(c: &MvModelCfg) -> Value {
    serde_json::to_value(mv_model::trace::trace_config(c)).expect("a TraceConfig serializes")
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
    if c.data_loss > 0 && !c.replace_streaming {
        f.push_str(" --no-replace-streaming");
    }
    if c.long_outages {
        f.push_str(" --long-outages");
    }
    if c.lossy {
        f.push_str(&format!(" --lossy --drops {}", c.drops));
    }
    if c.retries > 0 {
        f.push_str(&format!(" --retries {}", c.retries));
    }
    f.push_str(&format!(" --repairs {}", c.repairs));
    f.push_str(&format!(" --view-repairs {}", c.view_repairs));
    if c.view_repair_anytime {
        f.push_str(" --view-repair-anytime");
    }
    f
}

fn config_from_json(v: &Value) -> Result<MvModelCfg, String> {
    let c: TraceConfig = serde_json::from_value(v.clone()).map_err(|e| format!("#meta.config: {e}"))?;
    mv_model::trace::model_config(&c).map_err(|e| format!("#meta: {e}"))
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
                // The durable logs, keyed as the model keys them, with their contents.
                "batchlog": {"#map": n.batchlog.iter().map(|e| json!([
                    e.batch.to_string(),
                    {"#map": e.pending.iter().map(|(t, ms)| json!([t.to_string(), ms])).collect::<Vec<_>>()},
                ])).collect::<Vec<_>>()},
                "hints": {"#map": n.hints.iter().map(|h| json!([
                    {"#tup": [h.target.to_string(), h.batch.to_string()]},
                    h.mutations,
                ])).collect::<Vec<_>>()},
                "base_hints": {"#map": n.base_hints.iter().map(|h| json!([
                    {"#tup": [h.target.to_string(), h.write.to_string()]},
                    h.stmt,
                ])).collect::<Vec<_>>()},
                "commitlog": {"#map": n.commitlog.iter().map(|e| json!([
                    e.write.to_string(),
                    {"stmt": e.stmt, "reply_to": e.reply_to.to_string()},
                ])).collect::<Vec<_>>()},
                "coord_batchlog": {"#map": n.coord_batchlog.iter().map(|e| json!([
                    e.write.to_string(),
                    {
                        "stmt": e.stmt,
                        "coordinator": e.coordinator.to_string(),
                        "pending": {"#set": e.pending.iter().map(|p| p.to_string()).collect::<Vec<_>>()},
                    },
                ])).collect::<Vec<_>>()},
                "timers": {"#set": n.timers.iter().map(|t| t.to_string()).collect::<Vec<_>>()},
                // What a replica answers, beside what it stores: A17 shows only here.
                "limit_reads": {"#map": n.limit_reads.iter().flatten().map(|r| json!([
                    r.v,
                    r.k.map_or_else(none, |k| some(json!(k))),
                ])).collect::<Vec<_>>()},
            })
        })
        .collect();
    // The network is a multiset: `iter_all` yields an envelope once per copy in flight, and a
    // second copy of a message is a real difference between states, so it is counted.
    let mut network: BTreeMap<String, u64> = BTreeMap::new();
    for e in s.network.iter_all() {
        let line = format!("{} -> {} {}", model.actor_label(e.src), model.actor_label(e.dst), e.msg);
        *network.entry(line).or_default() += 1;
    }
    let network: Vec<Value> = network.into_iter().map(|(m, c)| json!([m, c])).collect();
    let writes: Vec<Value> = obs
        .writes
        .iter()
        .map(|w| json!({"write": w.write.to_string(), "outcome": format!("{:?}", w.outcome)}))
        .collect();
    let mut meta = json!({"index": index});
    if let Some(step) = step {
        meta["action"] = serde_json::to_value(step).expect("a Step serializes");
    }
    to_itf(json!({
        "#meta": meta,
        "nodes": nodes,
        "network": {"#map": network},
        "writes": writes,
        "mbt::actionTaken": step.map_or("init", |s| s.kind()),
        "mbt::nondetPicks": nondet_picks(step),
    }))
}

/// Writes a path as `<variant>.<property>.itf.json` in `dir`, never overwriting a file.
pub fn save(
    model: &MvModel,
    path: &Path<State, Action>,
    property: &str,
    status: &str,
    dir: &FsPath,
) -> Result<PathBuf, Failure> {
    save_with(model, path, property, status, dir, json!({}))
}

/// As [`save`], with more `#meta` fields (P-bounded's worst run names its `start`).
pub fn save_with(
    model: &MvModel,
    path: &Path<State, Action>,
    property: &str,
    status: &str,
    dir: &FsPath,
    meta: Value,
) -> Result<PathBuf, Failure> {
    let mut states = Vec::new();
    let mut step: Option<Step> = None;
    for (i, (s, a)) in path.clone().into_vec().into_iter().enumerate() {
        states.push(state_json(model, &s, step.as_ref(), i));
        step = a.as_ref().map(|a| model.to_step(a));
    }
    let mut doc = json!({
        "#meta": {
            "format": "ITF",
            "format-description": "https://apalache-mc.org/docs/adr/015adr-trace.html",
            "format-version": FORMAT_VERSION,
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
    if let (Some(Value::Object(m)), Value::Object(extra)) = (doc.get_mut("#meta"), meta) {
        m.extend(extra);
    }
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

/// A saved path, read back: the model it was checked on, its steps as actions of that
/// model, the property it is about, and, for P-bounded, the step its fault-free run starts
/// after.
pub struct Loaded {
    /// The model the file's configuration builds.
    pub model: MvModel,
    /// The steps, in order.
    pub actions: Vec<Action>,
    /// `#meta.property`.
    pub property: String,
    /// `#meta.start` of a P-bounded file.
    pub start: Option<usize>,
}

/// Reads an `.itf.json` file written by `check` or `simulate`, naming the problem when it is
/// not one.
pub fn load(file: &FsPath) -> Result<Loaded, Failure> {
    let text =
        std::fs::read_to_string(file).map_err(|e| Failure::Usage(format!("{}: cannot read: {e}", file.display())))?;
    parse(file, &text)
}

/// As [`load`], on the text already read from `file`.
pub fn parse(file: &FsPath, text: &str) -> Result<Loaded, Failure> {
    let bad = |msg: String| Failure::Usage(format!("{}: {msg}", file.display()));
    let doc: Value = serde_json::from_str(text).map_err(|e| {
        // An NDJSON implementation trace is JSON line by line: name it instead of failing at
        // the end of its first line.
        let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
        let is_trace = serde_json::from_str::<Value>(first)
            .is_ok_and(|v| v.get("format").and_then(Value::as_str) == Some(mv_spec::trace::FORMAT));
        if is_trace {
            bad("this is an NDJSON implementation trace, not an ITF file: use `mvcheck validate`".into())
        } else {
            bad(format!("not JSON: {e} (line {}, column {})", e.line(), e.column()))
        }
    })?;
    let meta = doc
        .get("#meta")
        .ok_or_else(|| bad("no #meta: not an ITF trace".into()))?;
    if meta.get("tool").and_then(Value::as_str) != Some("mvcheck") {
        return Err(bad(
            "#meta.tool is not \"mvcheck\": this trace was not written by mvcheck".into(),
        ));
    }
    // Version 1 files lack the field; their steps decode the same way, so they still replay.
    let version = match meta.get("format-version") {
        None => 1,
        Some(v) => v
            .as_u64()
            .ok_or_else(|| bad("#meta.format-version is not a number".into()))?,
    };
    if version > FORMAT_VERSION {
        return Err(bad(format!(
            "#meta.format-version {version} is newer than this mvcheck reads ({FORMAT_VERSION})"
        )));
    }
    let cfg = config_from_json(meta.get("config").unwrap_or(&Value::Null)).map_err(bad)?;
    let property = meta
        .get("property")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("#meta.property is missing".into()))?
        .to_string();
    let bounded = property == "P-bounded";
    if mv_spec::props::property(&property).is_none() && !bounded {
        return Err(bad(format!("#meta.property {property:?} is no known property")));
    }
    let start = if bounded {
        let n = meta
            .get("start")
            .and_then(Value::as_u64)
            .ok_or_else(|| bad("#meta.start is missing: a P-bounded run names the step it starts after".into()))?;
        Some(n as usize)
    } else {
        None
    };
    let model = cfg.into_model();
    let states = doc
        .get("states")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("\"states\" is missing or not a list".into()))?;
    if states.is_empty() {
        return Err(bad(
            "\"states\" is empty: an ITF trace starts with the initial state".into()
        ));
    }
    let mut actions = Vec::new();
    for (i, s) in states.iter().enumerate().skip(1) {
        let step_json = s
            .get("#meta")
            .and_then(|m| m.get("action"))
            .ok_or_else(|| bad(format!("state {i} has no #meta.action")))?;
        let step_json = from_itf(step_json).map_err(|e| bad(format!("state {i}: #meta.action: {e}")))?;
        let step: Step =
            serde_json::from_value(step_json).map_err(|e| bad(format!("state {i}: malformed action: {e}")))?;
        if version == 7 && matches!(step, Step::ViewRepair { .. }) {
            return Err(bad(format!(
                "state {i}: a format-version 7 view repair sent R8's cells as base writes; since version 8 the repair's own step applies them, so this trace's later steps cannot happen: record it again"
            )));
        }
        actions.push(model.from_step(&step).map_err(|e| bad(format!("state {i}: {e}")))?);
    }
    Ok(Loaded {
        model,
        actions,
        property,
        start,
    })
}

/// `mvcheck replay FILE`.
pub fn replay(file: &FsPath, format: crate::cli::Format) -> Result<Exit, Failure> {
    let Loaded {
        model,
        actions,
        property,
        start,
    } = load(file)?;
    let property = property.as_str();
    // `load` checked that a file without `start` names a known property.
    let def = mv_spec::props::property(property);
    let json = format == crate::cli::Format::Json;
    if !json {
        println!("mvcheck replay {} | {}", file.display(), model.summary());
    }
    let report = |verdict: &str, exit: Exit, extra: Value| {
        let mut doc = json!({
            "tool": "mvcheck",
            "file": file.display().to_string(),
            "variant": model.cfg.variant.name(),
            "config": config_json(&model.cfg),
            "property": property,
            "steps": actions.iter().map(|a| model.describe(a)).collect::<Vec<_>>(),
            "verdict": verdict,
            "exit_code": exit.code(),
        });
        if let (Value::Object(d), Value::Object(e)) = (&mut doc, extra) {
            d.extend(e);
        }
        println!("{doc}");
    };
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
                // The file and the model disagree: a divergence, as in `mvcheck validate`.
                if json {
                    report("diverges", Exit::Divergence, json!({"diverges_at_step": i + 1}));
                } else {
                    println!(
                        "step {} ({}) is not possible in this model: the path does not replay",
                        i + 1,
                        model.describe(a)
                    );
                }
                return Ok(Exit::Divergence);
            }
        }
    }
    let path = model
        .replay(&actions)
        .ok_or_else(|| Failure::Internal("replay disagreed with the step-by-step walk".into()))?;
    if !json {
        print_path(&model, &path);
    }
    if let Some(start) = start {
        return replay_bounded(&model, &path, &actions, start, json, &report);
    }
    let def = def.expect("checked above");
    let p = model
        .properties()
        .into_iter()
        .find(|p| p.name == def.id)
        .expect("every spec property is registered");
    let holds = (p.condition)(&model, path.last_state());
    let why = mv_spec::props::explain(property, &model.observe(path.last_state()));
    let (verdict, exit, text) = match def.kind {
        mv_spec::props::Kind::Always if !holds => (
            "violated",
            Exit::Violation,
            format!(
                "the path still ends in a violation of {property} ({} steps)",
                actions.len()
            ),
        ),
        mv_spec::props::Kind::Always => (
            "holds",
            Exit::Ok,
            format!("the path replays, but its last state no longer violates {property}"),
        ),
        _ => (
            if holds { "found" } else { "not found" },
            Exit::Ok,
            format!(
                "the path replays; {property} {} at its last state",
                if holds { "holds" } else { "does not hold" }
            ),
        ),
    };
    if json {
        report(verdict, exit, json!({"explanation": why}));
    } else {
        if let Some(why) = why {
            println!("  => {why}");
        }
        println!("\n{text}");
    }
    Ok(exit)
}

/// A P-bounded worst run: the steps after `start` must be fault-free and end quiescent;
/// their number is the K the file claims.
fn replay_bounded(
    model: &MvModel,
    path: &Path<State, Action>,
    actions: &[Action],
    start: usize,
    json: bool,
    report: &dyn Fn(&str, Exit, Value),
) -> Result<Exit, Failure> {
    use mv_model::bound::{step_kind, StepKind};
    let run = actions.get(start..).unwrap_or(&[]);
    let fault = run.iter().position(|a| step_kind(a) == StepKind::Fault);
    let quiescent = model.quiescent(path.last_state());
    let (verdict, exit, text) = match (fault, quiescent) {
        (Some(i), _) => (
            "diverges",
            Exit::Divergence,
            format!(
                "step {} is a fault, but the run after step {start} is meant to be fault-free",
                start + i + 1
            ),
        ),
        (None, true) => (
            "holds",
            Exit::Ok,
            format!(
                "the path replays: {} fault-free steps after step {start} reach quiescence (K = {})",
                run.len(),
                run.len()
            ),
        ),
        (None, false) => (
            "violated",
            Exit::Violation,
            format!(
                "the path replays and ends {} steps after step {start} without reaching quiescence",
                run.len()
            ),
        ),
    };
    if json {
        report(
            verdict,
            exit,
            json!({"start": start, "k": run.len(), "explanation": text}),
        );
    } else {
        println!("\n{text}");
    }
    Ok(exit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn itf_encoding_drops_nulls_and_round_trips_big_integers() {
        let v = json!({"a": null, "b": [1, u64::MAX, -(1i64 << 60)], "c": {"d": null, "e": 9007199254740992u64}});
        let itf = to_itf(v.clone());
        assert_eq!(
            itf,
            json!({"b": [1, {"#bigint": u64::MAX.to_string()}, {"#bigint": (-(1i64 << 60)).to_string()}],
                   "c": {"e": 9007199254740992u64}})
        );
        let back = from_itf(&itf).unwrap();
        assert_eq!(back["b"], v["b"]);
        assert_eq!(back["c"]["e"], v["c"]["e"]);
        // A null outside a record becomes the None variant and reads back as null.
        assert_eq!(to_itf(json!([null])), json!([none()]));
        assert_eq!(from_itf(&json!([none()])).unwrap(), json!([null]));
        assert!(from_itf(&json!({"#bigint": "1e99"})).unwrap_err().contains("1e99"));
    }

    #[test]
    fn steps_with_absent_fields_decode_from_itf() {
        let step: Step = serde_json::from_value(json!({
            "kind": "Deliver", "src": "n0", "dst": "n1",
            "msg": {"ViewWrite": {"batch": null, "mutations": []}}
        }))
        .unwrap();
        let itf = to_itf(serde_json::to_value(&step).unwrap());
        assert!(itf["msg"]["ViewWrite"].get("batch").is_none(), "{itf}");
        let back: Step = serde_json::from_value(from_itf(&itf).unwrap()).unwrap();
        assert_eq!(back, step);
    }

    #[test]
    fn nondet_picks_name_exactly_the_choices_of_each_step_kind() {
        let some_keys = |step: &Step| {
            let picks = nondet_picks(Some(step));
            let mut keys: Vec<String> = picks
                .as_object()
                .unwrap()
                .iter()
                .filter(|(_, p)| p["tag"] == "Some")
                .map(|(k, _)| k.clone())
                .collect();
            keys.sort();
            keys
        };
        let timeout = Step::Timeout {
            node: "n1".into(),
            timer: mv_spec::Timer::ApplyBase(mv_spec::WriteId(3)),
        };
        assert_eq!(some_keys(&timeout), ["node", "timer"]);
        assert_eq!(nondet_picks(Some(&timeout))["timer"]["value"], json!({"ApplyBase": 3}));
        assert_eq!(some_keys(&Step::Crash { node: "n0".into() }), ["node"]);
        assert_eq!(some_keys(&Step::DataLoss { node: "n0".into() }), ["node"]);
        assert_eq!(
            some_keys(&Step::Repair {
                node: "n0".into(),
                key: 2
            }),
            ["key", "node"]
        );
        let picks = nondet_picks(None);
        assert_eq!(picks.as_object().unwrap().len(), 6);
        assert!(picks.as_object().unwrap().values().all(|p| *p == none()));
    }
}
