//! `mvcheck impl-sim`: run the reference implementation (`mv-impl`) in a seeded simulation,
//! write its NDJSON trace, and optionally validate the trace on the model.
//!
//! The configuration flags are the model's (`--variant --nodes --rf --pairing --cl
//! --workload --writes --keys --crashes --data-loss --lossy`), so a trace always names a
//! configuration `mvcheck validate` can rebuild. `--faults` sets the fault budgets in one
//! flag and adds duplication, which the model does not need to know about.
//!
//! Exit codes: 0 when the run is clean (and, with `--validate`, the model explains it), 12
//! when the final quiescent state violates a property, 20 when validation diverges, 2 for
//! bad flags, and 1 when a node breaks the protocol. Every failing run prints its seed.

use crate::cli::ImplSimArgs;
use crate::{Exit, Failure};
use mv_impl::sim::timed::{run_timed, TimedOptions};
use mv_impl::sim::{self, ClusterConfig, SimOptions};
use mv_model::bound::SyncBound;
use mv_model::trace::{model_config, trace_config, validate_on, Options};
use mv_spec::timing::Timing;
use std::io::Write;
use std::time::Instant;

/// Fault settings from `--faults`.
#[derive(Debug, Default, PartialEq, Eq)]
struct Faults {
    crashes: u8,
    data_loss: u8,
    drop: bool,
    duplicate: bool,
}

fn parse_faults(list: &str) -> Result<Faults, String> {
    let mut f = Faults::default();
    for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (name, count) = match item.split_once('=') {
            Some((n, c)) => {
                let c: u8 = c
                    .parse()
                    .map_err(|_| format!("--faults: {item:?}: the count must be a number from 0 to 3"))?;
                (n, Some(c))
            }
            None => (item, None),
        };
        let no_count = |c: Option<u8>| match c {
            Some(_) => Err(format!("--faults: {name} takes no count")),
            None => Ok(()),
        };
        match name {
            "crash" => f.crashes = count.unwrap_or(1),
            "data-loss" => f.data_loss = count.unwrap_or(1),
            "drop" => {
                no_count(count)?;
                f.drop = true;
            }
            "dup" => {
                no_count(count)?;
                f.duplicate = true;
            }
            "none" => {
                no_count(count)?;
                f = Faults::default();
            }
            other => {
                return Err(format!(
                    "--faults: unknown fault {other:?}; known faults: crash[=N], data-loss[=N], drop, dup, none"
                ))
            }
        }
    }
    Ok(f)
}

/// The model configuration the flags name, the cluster built from it, and the scheduler's
/// options: what `impl-sim` and `verify` run.
pub(crate) fn sim_setup(
    model: &crate::cli::ModelArgs,
    faults: Option<&str>,
    seed: u64,
    steps: u64,
) -> Result<(mv_model::MvModelCfg, ClusterConfig, SimOptions), Failure> {
    let mut model_cfg = model.config().map_err(Failure::Usage)?;
    let mut duplicate = false;
    if let Some(list) = faults {
        let f = parse_faults(list).map_err(Failure::Usage)?;
        model_cfg.crashes = f.crashes;
        model_cfg.data_loss = f.data_loss;
        model_cfg.lossy = f.drop;
        duplicate = f.duplicate;
        model_cfg
            .validate()
            .map_err(|e| Failure::Usage(format!("--faults: {e}")))?;
    }
    let cfg = ClusterConfig::from_trace_config(&trace_config(&model_cfg)).map_err(Failure::Usage)?;
    let opts = SimOptions {
        duplicate,
        ..SimOptions::new(seed, steps)
    };
    Ok((model_cfg, cfg, opts))
}

/// Runs `mvcheck impl-sim`.
pub fn impl_sim(args: &ImplSimArgs) -> Result<Exit, Failure> {
    let (model_cfg, cfg, opts) = sim_setup(&args.model, args.faults.as_deref(), args.seed, args.steps)?;
    let duplicate = opts.duplicate;
    if args.bench {
        return bench(cfg, opts, &model_cfg);
    }
    if args.bench_sync {
        let timing = parse_timing(args.timing.as_deref().unwrap_or("")).map_err(Failure::Usage)?;
        return bench_sync(cfg, &model_cfg, args, timing);
    }
    let out = args.out.as_ref().expect("clap requires --out without --bench");
    let started = Instant::now();
    let run = sim::run(cfg, &opts).map_err(Failure::Usage)?;
    let elapsed = started.elapsed().as_secs_f64();
    // `--out -` writes the trace to stdout, so it pipes into `mvcheck validate -`; the report
    // then goes to stderr, out of the trace's way.
    let to_stdout = out.as_os_str() == "-";
    let say = |line: String| {
        if to_stdout {
            eprintln!("{line}");
        } else {
            println!("{line}");
        }
    };
    if to_stdout {
        let mut stdout = std::io::stdout().lock();
        stdout
            .write_all(run.ndjson().as_bytes())
            .and_then(|()| stdout.flush())
            .map_err(|e| Failure::Usage(format!("stdout: cannot write: {e}")))?;
    } else {
        std::fs::write(out, run.ndjson())
            .map_err(|e| Failure::Usage(format!("{}: cannot write: {e}", out.display())))?;
    }
    let seed = args.seed;
    say(format!(
        "wrote {} steps to {} in {elapsed:.3}s (seed {seed}; {}{})",
        run.steps,
        if to_stdout {
            "stdout".into()
        } else {
            out.display().to_string()
        },
        summary(&model_cfg),
        if duplicate { " dup=true" } else { "" }
    ));
    say(format!(
        "final state: {}",
        if run.quiescent {
            "quiescent"
        } else {
            "not quiescent (step budget spent or work left)"
        }
    ));
    say(run.cluster.metrics_report().to_string());
    if let Some(e) = &run.error {
        return Err(Failure::Internal(format!(
            "the implementation broke the protocol (seed {seed}): {e}"
        )));
    }
    if args.validate {
        let model = model_config(&run.header.config).map_err(Failure::Usage)?.into_model();
        match validate_on(&model, &run.lines, &Options { partial: None }) {
            Ok(v) => say(format!("valid: the model explains all {} events", v.events)),
            Err(d) => {
                say(format!("divergence (seed {seed}): {d}"));
                return Ok(Exit::Divergence);
            }
        }
    }
    if !run.violated.is_empty() {
        say(format!(
            "violated at the final state (seed {seed}): {}",
            run.violated.join(", ")
        ));
        return Ok(Exit::Violation);
    }
    if run.quiescent {
        say("every property holds at the final state".into());
    }
    Ok(Exit::Ok)
}

/// `--bench`: many seeds, traces recorded and serialized, steps per second.
fn bench(cfg: ClusterConfig, opts: SimOptions, model_cfg: &mv_model::MvModelCfg) -> Result<Exit, Failure> {
    let started = Instant::now();
    let (mut steps, mut runs, mut bytes) = (0u64, 0u64, 0usize);
    while steps < opts.max_steps {
        let run = sim::run(
            cfg.clone(),
            &SimOptions {
                seed: opts.seed.wrapping_add(runs),
                ..opts
            },
        )
        .map_err(Failure::Usage)?;
        if let Some(e) = &run.error {
            return Err(Failure::Internal(format!(
                "the implementation broke the protocol (seed {}): {e}",
                opts.seed.wrapping_add(runs)
            )));
        }
        bytes += run.ndjson().len();
        steps += run.steps.max(1);
        runs += 1;
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{steps} steps in {runs} runs, {secs:.3}s: {:.0} steps/s, trace {:.1} MB ({})",
        steps as f64 / secs,
        bytes as f64 / 1e6,
        summary(model_cfg)
    );
    Ok(Exit::Ok)
}

/// `--timing`: Cassandra's constants with the named ones replaced.
fn parse_timing(list: &str) -> Result<Timing, String> {
    let mut t = Timing::CASSANDRA;
    for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (name, value) = item
            .split_once('=')
            .ok_or_else(|| format!("--timing: {item:?} is not NAME=MILLISECONDS"))?;
        let ms: u64 = value
            .parse()
            .map_err(|_| format!("--timing: {item:?}: {value:?} is not a number of milliseconds"))?;
        let slot = match name {
            "write_request_timeout" => &mut t.write_request_timeout,
            "batchlog_replay_interval" => &mut t.batchlog_replay_interval,
            "hint_dispatch_interval" => &mut t.hint_dispatch_interval,
            "max_hint_window" => &mut t.max_hint_window,
            "max_latency" => &mut t.max_latency,
            "max_local" => &mut t.max_local,
            "max_restart" => &mut t.max_restart,
            other => {
                return Err(format!(
                    "--timing: unknown constant {other:?}; known: write_request_timeout, batchlog_replay_interval, hint_dispatch_interval, max_hint_window, max_latency, max_local, max_restart"
                ))
            }
        };
        if ms == 0 && name != "max_local" {
            return Err(format!("--timing: {name} must be at least 1 ms"));
        }
        *slot = ms;
    }
    if t.max_restart >= t.max_hint_window {
        return Err(format!(
            "--timing: max_restart ({} ms) must stay under max_hint_window ({} ms): the bound assumes every outage is shorter than the hint window",
            t.max_restart, t.max_hint_window
        ));
    }
    Ok(t)
}

/// The value at quantile `q` of sorted `v`.
fn quantile(v: &[u64], q: f64) -> u64 {
    let i = ((v.len() as f64 - 1.0) * q).round() as usize;
    v[i.min(v.len() - 1)]
}

/// `--bench-sync`: the distribution of measured sync times against the model's T.
fn bench_sync(
    cfg: ClusterConfig,
    model_cfg: &mv_model::MvModelCfg,
    args: &ImplSimArgs,
    timing: Timing,
) -> Result<Exit, Failure> {
    if model_cfg.long_outages {
        return Err(Failure::Usage(
            "--bench-sync measures outages shorter than max_hint_window (the bound assumes them); --long-outages is for `mvcheck check`".to_string(),
        ));
    }
    let model = model_cfg.clone().into_model();
    println!("model: {}", model.summary());
    let started = Instant::now();
    let w = match model.sync_bound(50_000_000, timing) {
        SyncBound::Bounded(w) => w,
        SyncBound::Cycle(_) | SyncBound::Stuck(_) => {
            println!("the model finds no sync bound at this configuration: some fault-free run never settles (`mvcheck check` shows it)");
            return Ok(Exit::Violation);
        }
        SyncBound::TooLarge(n) => {
            return Err(Failure::Usage(format!(
                "the model has more than {n} states at this configuration: too many to compute T"
            )))
        }
    };
    let t_us = w.t_ms * 1_000;
    println!(
        "bound from the model ({:.1} s): K = {} steps, T = {:.3} s = {}",
        started.elapsed().as_secs_f64(),
        w.k,
        w.t_ms as f64 / 1000.0,
        w.formula()
    );
    let started = Instant::now();
    let mut times = Vec::with_capacity(args.runs as usize);
    let mut worst_seed = args.seed;
    let (mut over, mut unsettled) = (Vec::new(), Vec::new());
    for r in 0..args.runs {
        let seed = args.seed.wrapping_add(r);
        let opts = TimedOptions {
            timing,
            fault_window: args.fault_window,
            drops: model_cfg.drops,
            max_steps: args.steps.max(10_000),
            ..TimedOptions::new(seed)
        };
        let run = run_timed(cfg.clone(), &opts).map_err(Failure::Usage)?;
        if let Some(e) = &run.error {
            return Err(Failure::Internal(format!(
                "the implementation broke the protocol (seed {seed}): {e}"
            )));
        }
        if !run.violated.is_empty() {
            println!("seed {seed}: violated at the final state: {}", run.violated.join(", "));
            return Ok(Exit::Violation);
        }
        match run.sync_time() {
            Some(us) => {
                if times.iter().all(|&m| us > m) {
                    worst_seed = seed;
                }
                if us > t_us {
                    over.push(seed);
                }
                times.push(us);
            }
            None => unsettled.push(seed),
        }
    }
    let secs = started.elapsed().as_secs_f64();
    times.sort_unstable();
    let s = |us: u64| us as f64 / 1e6;
    if times.is_empty() {
        println!("no run settled");
        return Ok(Exit::Violation);
    }
    println!(
        "{} runs in {secs:.1} s ({:.0} runs/s), faults within the first {} ms, virtual time:",
        args.runs,
        args.runs as f64 / secs,
        args.fault_window
    );
    println!(
        "sync time after the last fault and the last client write: p50 {:.3} s, p99 {:.3} s, max {:.3} s (seed {worst_seed}); bound T {:.3} s",
        s(quantile(&times, 0.5)),
        s(quantile(&times, 0.99)),
        s(*times.last().expect("not empty")),
        w.t_ms as f64 / 1000.0
    );
    if !unsettled.is_empty() {
        println!(
            "{} run(s) never settled within {} steps, first seed {}",
            unsettled.len(),
            args.steps.max(10_000),
            unsettled[0]
        );
        return Ok(Exit::Violation);
    }
    if !over.is_empty() {
        println!("{} run(s) took longer than T, first seed {}", over.len(), over[0]);
        return Ok(Exit::Violation);
    }
    println!("every run settled within T");
    // What an operator would have watched during the slowest run, in virtual time.
    let worst = run_timed(
        cfg,
        &TimedOptions {
            timing,
            fault_window: args.fault_window,
            drops: model_cfg.drops,
            max_steps: args.steps.max(10_000),
            ..TimedOptions::new(worst_seed)
        },
    )
    .map_err(Failure::Usage)?;
    println!("slowest run (seed {worst_seed}), {}", worst.cluster.metrics_report());
    Ok(Exit::Ok)
}

pub(crate) fn summary(c: &mv_model::MvModelCfg) -> String {
    c.clone().into_model().summary()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_parse_with_and_without_counts() {
        assert_eq!(
            parse_faults("crash=2,drop,dup").unwrap(),
            Faults {
                crashes: 2,
                data_loss: 0,
                drop: true,
                duplicate: true
            }
        );
        assert_eq!(parse_faults("data-loss").unwrap().data_loss, 1);
        assert_eq!(parse_faults("crash,none").unwrap(), Faults::default());
    }

    #[test]
    fn bad_faults_are_named() {
        assert!(parse_faults("fire").unwrap_err().contains("\"fire\""));
        assert!(parse_faults("crash=x").unwrap_err().contains("crash=x"));
        assert!(parse_faults("drop=2").unwrap_err().contains("drop takes no count"));
    }
}
