//! Shared by the conformance tests: the bridge between a model configuration and the
//! implementation's, and step-by-step replay of model paths on the implementation.

#![allow(dead_code)]

use mv_impl::node::SeededBugs;
use mv_impl::sim::{Cluster, ClusterConfig, Workload};
use mv_model::{Action, MvModel, MvModelCfg, State};
use mv_spec::rule::{Rule, RuleSet};
use mv_spec::trace::Step;
use stateright::Model;
use std::hash::{Hash, Hasher};

/// The implementation's configuration for a model configuration: same names, same sizes.
pub fn impl_config(m: &MvModelCfg) -> ClusterConfig {
    let (writes, keys) = match m.workload {
        mv_model::Workload::Concurrent { writes, keys } => (writes, keys),
        w => (w.len() as u8, 1),
    };
    ClusterConfig {
        variant: m.variant,
        ring: m.ring,
        cl: m.cl,
        workload: Workload::from_name(m.workload.name(), writes, keys).expect("same workload names"),
        crashes: m.crashes,
        data_loss: m.data_loss,
        lossy: m.lossy,
        retries: m.retries,
        repairs: m.repairs,
        replace_streaming: m.replace_streaming,
        long_outages: m.long_outages,
        view_repairs: m.view_repairs,
        view_repair_anytime: m.view_repair_anytime,
        bugs: SeededBugs::default(),
    }
}

/// A step as canonical JSON, for comparing sets of steps.
pub fn key(s: &Step) -> String {
    serde_json::to_string(s).expect("steps serialize")
}

/// The steps the model can take in `s` (actions that change the state), canonical and
/// deduplicated.
pub fn model_enabled(model: &MvModel, s: &State) -> Vec<String> {
    let mut actions = Vec::new();
    model.actions(s, &mut actions);
    let mut out: Vec<String> = actions
        .into_iter()
        .filter(|a| model.next_state(s, a.clone()).is_some())
        .map(|a| key(&model.to_step(&a)))
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The steps the implementation can take, canonical.
pub fn impl_enabled(c: &Cluster) -> Vec<String> {
    let mut out: Vec<String> = c.enabled_steps().iter().map(key).collect();
    out.sort();
    out
}

/// Where a replay on the implementation parted from the model.
#[derive(Debug)]
pub struct Mismatch {
    /// Steps taken before the mismatch.
    pub at: usize,
    /// What differed.
    pub what: String,
}

/// Compares the implementation with the model in state `s`: the whole observation (every
/// node, every write, quiescence) and, if `enabled` is set, the set of enabled steps.
pub fn compare(model: &MvModel, s: &State, c: &Cluster, enabled: bool) -> Result<(), String> {
    let want = model.observe(s);
    let got = c.observe();
    if want != got {
        return Err(format!("observations differ:\n  model: {want:?}\n  impl:  {got:?}"));
    }
    if enabled {
        let (m, i) = (model_enabled(model, s), impl_enabled(c));
        if m != i {
            let only_m: Vec<_> = m.iter().filter(|x| !i.contains(x)).collect();
            let only_i: Vec<_> = i.iter().filter(|x| !m.contains(x)).collect();
            return Err(format!(
                "enabled steps differ:\n  model only: {only_m:?}\n  impl only:  {only_i:?}"
            ));
        }
    }
    Ok(())
}

/// Replays model actions on a fresh implementation cluster, comparing after every step.
/// Returns the final cluster, or where and how it parted from the model.
pub fn replay(model: &MvModel, cfg: ClusterConfig, actions: &[Action]) -> Result<Cluster, Mismatch> {
    let mut c = Cluster::new(cfg).map_err(|e| Mismatch { at: 0, what: e })?;
    let mut s = model.init_states().remove(0);
    compare(model, &s, &c, false).map_err(|what| Mismatch { at: 0, what })?;
    for (i, a) in actions.iter().enumerate() {
        let step = model.to_step(a);
        c.apply(&step).map_err(|e| Mismatch {
            at: i,
            what: format!("{step}: {e}"),
        })?;
        let (next, rules) = model.step(&s, a.clone());
        s = next.ok_or_else(|| Mismatch {
            at: i,
            what: format!("the model cannot take {step}"),
        })?;
        same_rules(rules, c.last_rules()).map_err(|what| Mismatch {
            at: i,
            what: format!("{step}: {what}"),
        })?;
        compare(model, &s, &c, false).map_err(|what| Mismatch {
            at: i + 1,
            what: format!("after {step}: {what}"),
        })?;
    }
    Ok(c)
}

/// Replays steps on a fresh implementation cluster without a model: `Err` names the first
/// step the implementation does not take.
pub fn replay_steps(cfg: ClusterConfig, steps: &[Step]) -> Result<Cluster, Mismatch> {
    let mut c = Cluster::new(cfg).map_err(|e| Mismatch { at: 0, what: e })?;
    for (i, s) in steps.iter().enumerate() {
        c.apply(s).map_err(|e| Mismatch {
            at: i,
            what: format!("{s}: {e}"),
        })?;
    }
    Ok(c)
}

/// Walks every path of the model of length at most `depth` from its initial state, and
/// replays each on the implementation built with `imp`, comparing observations, fired rules
/// and enabled steps at every state. Paths that reach a pair (model state, implementation
/// state) already compared are not walked again: the walk is breadth-first, so that pair was
/// compared at a depth no greater, and everything below it is the same. Returns the number of
/// distinct pairs compared, or the first difference with the path that led to it.
/// What a model→implementation replay of every path covered: the states compared and the
/// rules fired on the way, so a test can say which mechanism it must have reached.
#[derive(Debug)]
pub struct Explored {
    pub states: usize,
    pub rules: RuleSet,
}

pub fn every_path_against(cfg: &MvModelCfg, imp: ClusterConfig, depth: usize) -> Result<Explored, String> {
    // The implementation loses messages without a budget; `--drops` bounds model searches
    // only, and the walk here is bounded by `depth` instead.
    let model = MvModelCfg {
        drops: u8::MAX,
        ..cfg.clone()
    }
    .into_model();
    let cluster = Cluster::new(imp).map_err(|e| format!("bad configuration: {e}"))?;
    same_rules(model.init_rules(), cluster.last_rules()).map_err(|e| format!("initial state: {e}"))?;
    let pair_key = |s: &State, c: &Cluster| {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        s.hash(&mut h);
        format!("{c:?}").hash(&mut h);
        h.finish()
    };
    let init = model.init_states().remove(0);
    let mut seen = std::collections::HashSet::new();
    seen.insert(pair_key(&init, &cluster));
    let mut queue: std::collections::VecDeque<(State, Cluster, Vec<Step>)> =
        std::collections::VecDeque::from([(init, cluster, Vec::new())]);
    let mut compared = 0;
    let mut covered = model.init_rules();
    while let Some((s, c, path)) = queue.pop_front() {
        compared += 1;
        if let Err(e) = compare(&model, &s, &c, true) {
            return Err(format!("{}\nafter the path:\n  {}\n{e}", model.summary(), show(&path)));
        }
        if path.len() == depth {
            continue;
        }
        let mut actions = Vec::new();
        model.actions(&s, &mut actions);
        for a in actions {
            let (Some(next), rules) = model.step(&s, a.clone()) else {
                continue;
            };
            let step = model.to_step(&a);
            let mut c2 = c.clone();
            if let Err(e) = c2.apply(&step) {
                return Err(format!(
                    "{}\nafter the path:\n  {}\nthe implementation cannot take {step}: {e}",
                    model.summary(),
                    show(&path)
                ));
            }
            if let Err(e) = same_rules(rules, c2.last_rules()) {
                return Err(format!(
                    "{}\nafter the path:\n  {}\n{step}: {e}",
                    model.summary(),
                    show(&path)
                ));
            }
            covered = RuleSet(covered.0 | rules.0);
            if !seen.insert(pair_key(&next, &c2)) {
                continue;
            }
            let mut p2 = path.clone();
            p2.push(step);
            queue.push_back((next, c2, p2));
        }
    }
    Ok(Explored {
        states: compared,
        rules: covered,
    })
}

/// Both sides label one step with the same rules of `specs/protocol.md`: the same cut
/// points, and coverage that means the same on both sides.
pub fn same_rules(model: RuleSet, imp: RuleSet) -> Result<(), String> {
    if model == imp {
        return Ok(());
    }
    let names = |r: RuleSet| {
        Rule::ALL
            .iter()
            .filter(|x| r.contains(**x))
            .map(|x| x.id())
            .collect::<Vec<_>>()
    };
    Err(format!(
        "fired rules differ: model {:?}, implementation {:?}",
        names(model),
        names(imp)
    ))
}

/// A path, one step a line.
pub fn show(path: &[Step]) -> String {
    if path.is_empty() {
        return "(the initial state)".into();
    }
    path.iter().map(|s| s.to_string()).collect::<Vec<_>>().join("\n  ")
}
