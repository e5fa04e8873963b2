//! `check`, `simulate`, `explore` and `variants`: running the model and reporting on it.

use crate::cli::{Format, ModelArgs, OutputArgs, SearchArgs, Strategy};
use crate::{itf, Exit, Failure};
use mv_model::bound::{step_kind, StepKind, SyncBound, Worst};
use mv_model::search::{self, Outcome, Progress, SearchCfg};
use mv_model::{Action, Expected, MvModel, MvModelCfg, State, Variant};
use mv_spec::props::{Kind, PROPERTIES};
use mv_spec::rule::{Coverage, Rule};
use mv_spec::timing::{Delay, Timing};
use serde_json::json;
use stateright::{Model, Path};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// One row of the verdict table.
pub struct Verdict {
    pub id: &'static str,
    pub kind: Kind,
    pub expected: Expected,
    pub verdict: &'static str,
    pub steps: Option<usize>,
}

fn build(args: &ModelArgs) -> Result<MvModel, Failure> {
    args.config().map(|c| c.into_model()).map_err(Failure::Usage)
}

fn verdicts(model: &MvModel, found: &dyn Fn(&str) -> Option<usize>, exhaustive: bool) -> Vec<Verdict> {
    PROPERTIES
        .iter()
        .map(|p| {
            let steps = found(p.id);
            let verdict = match (p.kind, steps.is_some(), exhaustive) {
                (Kind::Always, true, _) => "VIOLATED",
                (Kind::Always, false, true) => "holds",
                (Kind::Always, false, false) => "no violation found (bounded)",
                (Kind::Sometimes, true, _) => "found",
                (Kind::Sometimes, false, true) => "NOT FOUND",
                (Kind::Sometimes, false, false) => "not found (bounded)",
            };
            Verdict {
                id: p.id,
                kind: p.kind,
                expected: model.expected(p.id),
                verdict,
                steps,
            }
        })
        .collect()
}

fn print_table(rows: &[Verdict]) {
    println!(
        "{:<28} {:<10} {:<10} {:<30} steps",
        "property", "kind", "expected", "verdict"
    );
    for r in rows {
        let kind = if r.kind == Kind::Always { "always" } else { "sometimes" };
        let steps = r.steps.map_or("-".to_string(), |s| s.to_string());
        let mismatch = match (r.expected, r.verdict) {
            (Expected::Holds, "VIOLATED") | (Expected::Violated, "holds") => "  (unexpected)",
            (Expected::Found, "NOT FOUND") | (Expected::NotFound, "found") => "  (unexpected)",
            _ => "",
        };
        println!(
            "{:<28} {:<10} {:<10} {:<30} {steps}{mismatch}",
            r.id,
            kind,
            r.expected.label(),
            r.verdict
        );
    }
}

/// One row of the coverage table.
pub struct CoverageRow {
    pub rule: Rule,
    pub transitions: u64,
    /// Whether this configuration should exercise the rule (`mv_spec::rule::expected`).
    pub expected: bool,
}

fn coverage_rows(model: &MvModel, c: &Coverage) -> Vec<CoverageRow> {
    let expected = model.expected_rules();
    Rule::ALL
        .iter()
        .map(|&rule| CoverageRow {
            rule,
            transitions: c.get(rule),
            expected: expected.contains(rule),
        })
        .filter(|r| r.expected || r.transitions > 0)
        .collect()
}

fn print_coverage(rows: &[CoverageRow]) {
    println!("{:<10} {:>14}  what", "rule", "transitions");
    for r in rows {
        let count = if r.transitions == 0 {
            "not covered".to_string()
        } else {
            r.transitions.to_string()
        };
        println!("{:<10} {count:>14}  {}", r.rule.id(), r.rule.summary());
    }
}

/// Prints a path step by step, each step with only what changed.
pub fn print_path(model: &MvModel, path: &Path<State, Action>) {
    let v = path.clone().into_vec();
    for (n, w) in v.windows(2).enumerate() {
        let (before, action) = (&w[0].0, w[0].1.as_ref());
        let after = &w[1].0;
        let Some(a) = action else { continue };
        println!("{:>3}. {}", n + 1, model.describe(a));
        // The message a delivery or a drop takes is the step itself; any other message
        // that left the network was lost with a machine, and is listed.
        let mut taken = match a {
            Action::Deliver { src, dst, msg } => Some((*src, *dst, msg.clone())),
            Action::Drop(e) => Some((e.src, e.dst, e.msg.clone())),
            _ => None,
        }
        .map(|(src, dst, msg)| {
            format!(
                "- in flight: {} -> {} {msg}",
                model.actor_label(src),
                model.actor_label(dst)
            )
        });
        for line in model.diff(before, after) {
            if taken.as_ref() == Some(&line) {
                taken = None;
                continue;
            }
            println!("       {line}");
        }
    }
}

fn header(model: &MvModel, what: &str) {
    println!("mvcheck {} | {what}", env!("CARGO_PKG_VERSION"));
    println!("model: {}", model.summary());
}

/// Draws progress on stderr until the search is done.
fn watch(progress: &Progress, start: Instant, quiet: bool) {
    let tty = std::io::stderr().is_terminal();
    let bar = (tty && !quiet).then(|| {
        let b = indicatif::ProgressBar::new_spinner();
        b.enable_steady_tick(Duration::from_millis(200));
        b
    });
    let mut last_print = Instant::now();
    while !progress.is_done() {
        std::thread::sleep(Duration::from_millis(100));
        let secs = start.elapsed().as_secs_f64().max(1e-9);
        let line = format!(
            "states {} | unique {} | {:.0} unique/s | depth {} | {:.0} s",
            progress.generated(),
            progress.unique(),
            progress.unique() as f64 / secs,
            progress.max_depth(),
            secs
        );
        if let Some(b) = &bar {
            b.set_message(line);
        } else if !quiet && last_print.elapsed() >= Duration::from_secs(5) {
            eprintln!("progress: {line}");
            last_print = Instant::now();
        }
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
}

/// `mvcheck check`.
pub fn check(args: &ModelArgs, search: &SearchArgs, out: &OutputArgs) -> Result<Exit, Failure> {
    let model = build(args)?;
    let human = out.format == Format::Human;
    if search.threads == 0 {
        return Err(Failure::Usage("--threads must be at least 1".into()));
    }
    if search.max_depth == Some(0) {
        return Err(Failure::Usage(
            "--max-depth must be at least 1 (initial states are at depth 1)".into(),
        ));
    }
    if search.max_states == Some(0) {
        return Err(Failure::Usage("--max-states must be at least 1".into()));
    }
    if human {
        header(
            &model,
            &format!("strategy={:?} threads={}", search.strategy, search.threads).to_lowercase(),
        );
    }
    let cfg = SearchCfg {
        strategy: match search.strategy {
            Strategy::Dfs => search::Strategy::Dfs,
            Strategy::Bfs => search::Strategy::Bfs,
        },
        threads: search.threads,
        max_depth: search.max_depth,
        max_states: search.max_states,
        timeout: search.timeout.map(Duration::from_secs),
        stop_when_decided: true,
    };
    let start = Instant::now();
    let model = Arc::new(model);
    let running = search::spawn(model.clone(), cfg);
    watch(&running.progress(), start, !human);
    let outcome = running.join();
    report_check(&model, &outcome, search, out)
}

fn report_check(
    model: &MvModel,
    outcome: &Outcome<MvModel>,
    search: &SearchArgs,
    out: &OutputArgs,
) -> Result<Exit, Failure> {
    let human = out.format == Format::Human;
    let exhaustive = outcome.exhaustive();
    let discoveries = &outcome.discoveries;
    let found = |id: &str| discoveries.get(id).map(|p| p.clone().into_actions().len());
    let rows = verdicts(model, &found, exhaustive);
    let coverage = coverage_rows(model, &outcome.tally);
    let uncovered: Vec<&'static str> = coverage
        .iter()
        .filter(|r| r.expected && r.transitions == 0)
        .map(|r| r.rule.id())
        .collect();
    // What cut the search, in words; `None` when every reachable state was visited.
    let stopped_by: Option<String> = if exhaustive {
        None
    } else if !outcome.bounds.is_empty() {
        Some(
            outcome
                .bounds
                .iter()
                .map(|b| b.to_string())
                .collect::<Vec<_>>()
                .join(", "),
        )
    } else {
        Some("every property was decided (violated or found) before the search finished".into())
    };
    // The anomaly the variant is about comes first; then the specific properties (P-one-row,
    // P-cells...), which tell more than the read-at-ALL P-converge, shortest first.
    let anomaly = model.cfg.variant.anomaly_property();
    let mut violated: Vec<&Verdict> = rows.iter().filter(|r| r.verdict == "VIOLATED").collect();
    violated.sort_by_key(|r| (Some(r.id) != anomaly, r.id == "P-converge", r.steps));
    if let Some(id) = &out.property {
        let def = mv_spec::props::property(id)
            .filter(|p| p.kind == Kind::Always)
            .ok_or_else(|| {
                let ids: Vec<&str> = PROPERTIES
                    .iter()
                    .filter(|p| p.kind == Kind::Always)
                    .map(|p| p.id)
                    .collect();
                Failure::Usage(format!(
                    "--property {id:?} is no always property; known: {}",
                    ids.join(", ")
                ))
            })?;
        // The asked-for one first; if it was not violated, the report says so below.
        violated.sort_by_key(|r| r.id != def.id);
    }

    // Save the first violation (in spec order) as a replayable file.
    let mut saved = None;
    if let Some(v) = violated.first() {
        let path = &discoveries[v.id];
        saved = Some(itf::save(model, path, v.id, "violation", &out.out_dir)?);
    }
    // A rule that should have fired and did not fails a `--require-coverage` run like a
    // violation: the configuration no longer checks what it claims to.
    let bound = (exhaustive && violated.is_empty() && !search.no_sync_bound)
        .then(|| sync_bound(model, outcome.unique as usize, search, out))
        .transpose()?;
    let bound_fails = bound.as_ref().is_some_and(|b| b.verdict == "VIOLATED");
    let code = if !violated.is_empty() || bound_fails || (search.require_coverage && !uncovered.is_empty()) {
        Exit::Violation
    } else if !exhaustive {
        Exit::Inconclusive
    } else {
        Exit::Ok
    };

    let secs = outcome.elapsed.as_secs_f64();
    if human {
        println!(
            "done: states={} unique={} max-depth={} seconds={:.2} ({:.0} unique states/s)",
            outcome.generated,
            outcome.unique,
            outcome.max_depth,
            secs,
            outcome.unique as f64 / secs.max(1e-9)
        );
        println!();
        print_table(&rows);
        println!();
        print_coverage(&coverage);
        println!();
        match &stopped_by {
            None => println!("search: exhaustive (every reachable state within the model's fault bounds was checked)"),
            Some(why) => println!(
                "search: NOT exhaustive, stopped by {why} after {} unique states",
                outcome.unique
            ),
        }
        if uncovered.is_empty() {
            println!("coverage: every rule this configuration should exercise fired");
        } else {
            println!(
                "coverage: {} rule(s) never fired: {}{}",
                uncovered.len(),
                uncovered.join(", "),
                if search.require_coverage {
                    " (--require-coverage: exit 12)"
                } else {
                    ""
                }
            );
        }
        for r in &rows {
            if r.kind == Kind::Sometimes && r.verdict == "NOT FOUND" && r.expected == Expected::Found {
                println!(
                    "warning: witness {} was never reached; the property it guards may hold vacuously",
                    r.id
                );
            }
        }
        if let Some(b) = &bound {
            b.print(model);
        }
        if violated.is_empty() && !exhaustive {
            println!(
                "result: inconclusive (exit {}): no violation found, but the search was cut",
                Exit::Inconclusive.code()
            );
        }
        if let Some(id) = out
            .property
            .as_deref()
            .filter(|id| violated.first().is_none_or(|v| v.id != *id))
        {
            println!();
            println!(
                "{id} was not violated{}: no counterexample to print",
                if exhaustive { "" } else { " (bounded)" }
            );
        }
        if let (Some(v), Some(file)) = (violated.first(), &saved) {
            println!();
            println!("counterexample for {} ({} steps):", v.id, v.steps.unwrap_or(0));
            let path = &discoveries[v.id];
            print_path(model, path);
            if let Some(why) = mv_spec::props::explain(v.id, &model.observe(path.last_state())) {
                println!("  => {why}");
            }
            print_saved(model, path, file);
            let others: Vec<String> = violated[1..]
                .iter()
                .map(|r| format!("{} ({} steps)", r.id, r.steps.unwrap_or(0)))
                .collect();
            if !others.is_empty() {
                println!(
                    "also violated: {}; `--property ID` prints and saves another's counterexample",
                    others.join(", ")
                );
            }
        }
    } else {
        let report = json!({
            "tool": "mvcheck",
            "version": env!("CARGO_PKG_VERSION"),
            "variant": model.cfg.variant.name(),
            "config": itf::config_json(&model.cfg),
            "strategy": format!("{:?}", search.strategy).to_lowercase(),
            "threads": search.threads,
            "exhaustive": exhaustive,
            "stopped_by": stopped_by,
            "bounds": outcome.bounds.iter().map(|b| b.to_string()).collect::<Vec<_>>(),
            "states": outcome.generated,
            "unique_states": outcome.unique,
            "max_depth": outcome.max_depth,
            "seconds": secs,
            "properties": rows.iter().map(|r| json!({
                "name": r.id,
                "kind": if r.kind == Kind::Always { "always" } else { "sometimes" },
                // One spelling for both: the expectation's labels, lowercase.
                "expected": r.expected.label(),
                "verdict": r.verdict.to_lowercase(),
                "steps": r.steps,
            })).collect::<Vec<_>>(),
            "coverage": coverage.iter().map(|r| json!({
                "rule": r.rule.id(),
                "transitions": r.transitions,
                "expected": r.expected,
            })).collect::<Vec<_>>(),
            "not_covered": uncovered,
            "exit_code": code.code(),
            "counterexample_file": saved.as_ref().map(|p| p.display().to_string()),
            "sync_bound": bound.as_ref().map(|b| b.json()),
        });
        println!("{report}");
    }
    Ok(code)
}

/// K and P-bounded, as computed after an exhaustive run (`mv_model::bound`).
struct BoundReport {
    /// `None` when no fault-free run is bounded (a cycle or a stuck state).
    worst: Option<Worst>,
    /// What was found instead of a bound.
    unbounded: Option<(&'static str, Vec<Action>)>,
    /// The bound P-bounded checks K against, and where it comes from.
    limit: Option<(u32, String)>,
    verdict: &'static str,
    file: PathBuf,
    seconds: f64,
}

fn sync_bound(model: &MvModel, states: usize, search: &SearchArgs, out: &OutputArgs) -> Result<BoundReport, Failure> {
    let start = Instant::now();
    // The search just visited every reachable state; the bound's pass visits the same ones.
    let found = model.sync_bound(states.saturating_add(1), Timing::CASSANDRA);
    let seconds = start.elapsed().as_secs_f64();
    let default = model.cfg == MvModelCfg::for_variant(model.cfg.variant);
    let limit = match (search.max_sync_steps, model.cfg.variant.sync_steps()) {
        (Some(k), _) => Some((k, "--max-sync-steps".to_string())),
        (None, Some(k)) if default => Some((
            k,
            format!("pinned for {} at its default configuration", model.cfg.variant.name()),
        )),
        _ => None,
    };
    let (worst, unbounded, actions) = match found {
        SyncBound::Bounded(w) => {
            let all: Vec<Action> = w.k_run.prefix.iter().chain(&w.k_run.run).cloned().collect();
            (Some(*w), None, all)
        }
        SyncBound::Cycle(p) => (None, Some(("a fault-free run can go on for ever (a cycle)", p.clone())), p),
        SyncBound::Stuck(p) => (
            None,
            Some(("a state that is not quiescent has nothing but faults left to do", p.clone())),
            p,
        ),
        SyncBound::TooLarge(n) => {
            return Err(Failure::Internal(format!(
                "the sync-bound pass found more than {n} states where the search found {states}: is the model deterministic?"
            )))
        }
    };
    let verdict = match (&worst, &limit) {
        (None, _) => "VIOLATED",
        (Some(w), Some((k, _))) if w.k > *k => "VIOLATED",
        (Some(_), Some(_)) => "holds",
        (Some(_), None) => "not checked",
    };
    let path = model
        .replay(&actions)
        .ok_or_else(|| Failure::Internal("the worst run does not replay".into()))?;
    let start_at = worst.as_ref().map_or(actions.len(), |w| w.k_run.prefix.len());
    let file = itf::save_with(
        model,
        &path,
        "P-bounded",
        if worst.is_some() { "worst-run" } else { "unbounded" },
        &out.out_dir,
        json!({ "start": start_at }),
    )?;
    Ok(BoundReport {
        worst,
        unbounded,
        limit,
        verdict,
        file,
        seconds,
    })
}

impl BoundReport {
    fn print(&self, model: &MvModel) {
        println!();
        match (&self.worst, &self.unbounded) {
            (Some(w), _) => {
                let r = &w.k_run;
                let restarts = r.count(Delay::Restart);
                println!(
                    "sync bound: K = {} steps from the last fault and the last client write to quiescence, on every fault-free run from {} start states ({:.1} s)",
                    w.k, w.starts, self.seconds
                );
                println!(
                    "            T = {:.3} s at Cassandra's defaults (`specs/protocol.md`, \"Sync bound\"): {}",
                    w.t_ms as f64 / 1000.0,
                    w.formula()
                );
                if model.cfg.long_outages {
                    println!(
                        "            T takes every restart within max_restart; with --long-outages a node may stay down past max_hint_window, and T grows by that outage's excess"
                    );
                }
                println!(
                    "worst run in steps: {} timer steps, {} restart(s), {} deliveries, after a {}-step prefix:",
                    r.timed_steps(),
                    restarts,
                    r.run.len() - r.timed_steps() - restarts,
                    r.prefix.len()
                );
                for (i, a) in r.run.iter().enumerate() {
                    let tag = match step_kind(a) {
                        StepKind::Timer => "time",
                        StepKind::Restart => "restart",
                        StepKind::Repair => "repair",
                        _ => "",
                    };
                    println!("{:>3}. {:<8}{}", i + 1, tag, model.describe(a));
                }
            }
            (None, Some((why, path))) => {
                println!("sync bound: UNBOUNDED: {why}; reached in {} steps", path.len());
            }
            (None, None) => unreachable!("a report has a bound or says why not"),
        }
        match (&self.limit, &self.worst) {
            (Some((k, from)), Some(w)) => println!("P-bounded: {} (K = {} against {k}, {from})", self.verdict, w.k),
            (Some((k, from)), None) => println!("P-bounded: VIOLATED (no bound at all, against {k}, {from})"),
            (None, Some(_)) => {
                println!("P-bounded: not checked (no K is pinned for this configuration; --max-sync-steps sets one)")
            }
            (None, None) => println!("P-bounded: VIOLATED (no bound at all)"),
        }
        println!("worst run written: {}", self.file.display());
        println!("replay:  mvcheck replay {}", self.file.display());
    }

    fn json(&self) -> serde_json::Value {
        json!({
            "k": self.worst.as_ref().map(|w| w.k),
            "t_ms": self.worst.as_ref().map(|w| w.t_ms),
            "t_formula": self.worst.as_ref().map(|w| w.formula()),
            "starts": self.worst.as_ref().map(|w| w.starts),
            "timer_steps": self.worst.as_ref().map(|w| w.k_run.timed_steps()),
            "unbounded": self.unbounded.as_ref().map(|(why, _)| *why),
            "limit": self.limit.as_ref().map(|(k, _)| *k),
            "verdict": self.verdict.to_lowercase(),
            "file": self.file.display().to_string(),
            "seconds": self.seconds,
        })
    }
}

fn print_saved(model: &MvModel, path: &Path<State, Action>, file: &std::path::Path) {
    println!();
    println!("counterexample written: {}", file.display());
    println!("replay:  mvcheck replay {}", file.display());
    println!(
        "explore: mvcheck explore {}  then open {}",
        itf::model_flags(&model.cfg),
        crate::explore::link(model, &path.encode(model))
    );
}

/// `mvcheck simulate`: random walks. Each walk picks uniformly among the enabled actions
/// that change the state; every state on the walk is checked against every `always`
/// property, and the first violation is saved.
pub fn simulate(args: &ModelArgs, seed: u64, runs: u64, max_depth: usize, out: &OutputArgs) -> Result<Exit, Failure> {
    let model = build(args)?;
    let human = out.format == Format::Human;
    if human {
        header(
            &model,
            &format!("simulate seed={seed} runs={runs} max-depth={max_depth}"),
        );
    }
    let props = model.properties();
    let mut rng = mv_spec::rng::SplitMix64::new(seed);
    let start = Instant::now();
    let mut steps_total = 0u64;
    let mut witnessed: Vec<bool> = vec![false; props.len()];
    let mut violation: Option<(&'static str, Path<State, Action>)> = None;
    for _ in 0..runs {
        let mut broken: Option<&'static str> = None;
        let actions = mv_model::trace::random_walk(&model, &mut rng, max_depth, |state| {
            for (i, p) in props.iter().enumerate() {
                let holds = (p.condition)(&model, state);
                match p.expectation {
                    stateright::Expectation::Always if !holds => {
                        broken = Some(p.name);
                        return false;
                    }
                    stateright::Expectation::Sometimes if holds => witnessed[i] = true,
                    _ => {}
                }
            }
            true
        });
        steps_total += actions.len() as u64;
        if let Some(id) = broken {
            let path = model
                .replay(&actions)
                .ok_or_else(|| Failure::Internal("walk did not replay".into()))?;
            violation = Some((id, path));
            break;
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let saved = match &violation {
        Some((id, path)) => Some(itf::save(&model, path, id, "violation", &out.out_dir)?),
        None => None,
    };
    if human {
        println!("seed: {seed} (rerun with --seed {seed} to reproduce)");
        println!("done: {steps_total} steps in {secs:.2} s");
        for (p, w) in props.iter().zip(&witnessed) {
            if matches!(p.expectation, stateright::Expectation::Sometimes) {
                println!(
                    "{:<22} {}",
                    p.name,
                    if *w {
                        "witnessed"
                    } else {
                        "not witnessed in these walks"
                    }
                );
            }
        }
        match (&violation, &saved) {
            (Some((id, path)), Some(file)) => {
                println!("\nVIOLATED {id} ({} steps):", path.clone().into_actions().len());
                print_path(&model, path);
                print_saved(&model, path, file);
            }
            _ => println!("no violation found in {runs} walks (simulation is never exhaustive)"),
        }
    } else {
        println!(
            "{}",
            json!({
                "tool": "mvcheck", "variant": model.cfg.variant.name(), "strategy": "simulation",
                "seed": seed, "runs": runs, "exhaustive": false, "steps": steps_total, "seconds": secs,
                "violated": violation.as_ref().map(|v| v.0),
                "counterexample_file": saved.as_ref().map(|p| p.display().to_string()),
            })
        );
    }
    Ok(if violation.is_some() { Exit::Violation } else { Exit::Ok })
}

/// `mvcheck explore`.
/// `mvcheck variants`.
pub fn variants() {
    let expected: Vec<String> = Variant::ALL
        .iter()
        .map(|v| {
            let violated: Vec<&str> = PROPERTIES
                .iter()
                .filter(|p| v.expected(p.id, p.kind) == Expected::Violated)
                .map(|p| p.id)
                .collect();
            if violated.is_empty() {
                match v.sync_steps() {
                    Some(k) => format!("all hold (exit 0), P-bounded K = {k}"),
                    None => "all hold (exit 0)".to_string(),
                }
            } else {
                format!("violates {} (exit 12)", violated.join(", "))
            }
        })
        .collect();
    let name_w = Variant::ALL.iter().map(|v| v.name().len()).max().unwrap_or(0);
    println!("{:<name_w$}  what it changes", "variant");
    for (v, e) in Variant::ALL.iter().zip(&expected) {
        println!("{:<name_w$}  {}", v.name(), v.description());
        println!("{:<name_w$}  expected at its default: {e}", "");
    }
    println!();
    println!("Each variant's default configuration (`mvcheck check --variant NAME` with no other flags):");
    for v in Variant::ALL {
        let m = mv_model::MvModelCfg::for_variant(v).into_model();
        println!("  {}", m.summary());
    }
}
