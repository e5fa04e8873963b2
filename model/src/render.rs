//! Rendering states and actions in protocol terms, and converting actions to and from the
//! by-value [`Step`] of the trace schema.

use crate::actor::Fault;
use crate::model::{Action, MvModel, State};
use mv_spec::trace::Step;
use mv_spec::ReadRules;
use stateright::actor::{ActorModelAction, Envelope, Id};
use std::collections::BTreeMap;

/// A state as labelled lines: `"n0 view (v=1,k=0)" -> "marker@1 w=1@1 [live w=1]"`. Sorted
/// keys make diffs between consecutive states cheap and deterministic.
pub type Lines = BTreeMap<String, String>;

impl MvModel {
    fn actor_id(&self, name: &str) -> Result<Id, String> {
        let bad = || {
            format!(
                "unknown actor {name:?} (expected n0..n{} or c0..c{})",
                self.cfg.ring.nodes - 1,
                self.scripts.len() - 1
            )
        };
        let (kind, num) = name.split_at(1.min(name.len()));
        let i: usize = num.parse().map_err(|_| bad())?;
        match kind {
            "n" if i < self.cfg.ring.nodes as usize => Ok(Id::from(i)),
            "c" if i < self.scripts.len() => Ok(Id::from(self.cfg.ring.nodes as usize + i)),
            _ => Err(bad()),
        }
    }

    /// An action, by value.
    pub fn to_step(&self, a: &Action) -> Step {
        let l = |id: &Id| self.actor_label(*id);
        match a {
            ActorModelAction::Deliver { src, dst, msg } => Step::Deliver {
                src: l(src),
                dst: l(dst),
                msg: msg.clone(),
            },
            ActorModelAction::Drop(e) => Step::Drop {
                src: l(&e.src),
                dst: l(&e.dst),
                msg: e.msg.clone(),
            },
            ActorModelAction::Timeout(id, t) => Step::Timeout { node: l(id), timer: *t },
            ActorModelAction::Crash(id) => Step::Crash { node: l(id) },
            ActorModelAction::Recover(id) => Step::Recover { node: l(id) },
            ActorModelAction::SelectRandom { actor, .. } => Step::DataLoss { node: l(actor) },
        }
    }

    /// A step, back to an action of this model.
    pub fn from_step(&self, s: &Step) -> Result<Action, String> {
        Ok(match s {
            Step::Deliver { src, dst, msg } => ActorModelAction::Deliver {
                src: self.actor_id(src)?,
                dst: self.actor_id(dst)?,
                msg: msg.clone(),
            },
            Step::Drop { src, dst, msg } => ActorModelAction::Drop(Envelope {
                src: self.actor_id(src)?,
                dst: self.actor_id(dst)?,
                msg: msg.clone(),
            }),
            Step::Timeout { node, timer } => ActorModelAction::Timeout(self.actor_id(node)?, *timer),
            Step::Crash { node } => ActorModelAction::Crash(self.actor_id(node)?),
            Step::Recover { node } => ActorModelAction::Recover(self.actor_id(node)?),
            Step::DataLoss { node } => ActorModelAction::SelectRandom {
                actor: self.actor_id(node)?,
                key: "data-loss".to_string(),
                random: Fault::DataLoss,
            },
        })
    }

    /// The messages in flight, rendered and sorted.
    pub fn in_flight_lines(&self, s: &State) -> Vec<String> {
        let mut msgs: Vec<String> = s
            .network
            .iter_deliverable()
            .map(|e| format!("{} -> {} {}", self.actor_label(e.src), self.actor_label(e.dst), e.msg))
            .collect();
        msgs.sort();
        msgs
    }

    /// The state as labelled lines.
    pub fn lines(&self, s: &State) -> Lines {
        let rules = ReadRules {
            strict_liveness: self.cfg.variant.design().strict_liveness,
        };
        let mut out = Lines::new();
        for n in 0..self.cfg.ring.nodes as usize {
            let node = self.node(s, n);
            let d = &node.disk;
            let me = format!("n{n}");
            if s.crashed[n] {
                out.insert(format!("{me} status"), "DOWN".into());
            }
            for (k, r) in &d.base {
                let seen = match r.resolve() {
                    Some(b) => format!("live v={} w={}", opt(b.v), opt(b.w)),
                    None => "dead".into(),
                };
                out.insert(format!("{me} base k={k}"), format!("{r} [{seen}]"));
            }
            for (vk, r) in &d.view {
                let seen = match r.resolve(rules) {
                    Some(w) => format!("live w={}", opt(w)),
                    None => "dead".into(),
                };
                out.insert(format!("{me} view {vk}"), format!("{r} [{seen}]"));
            }
            for (w, e) in &d.commitlog {
                // Only a variant with the partition lock holds one here (B1).
                let lock = if self.cfg.variant.design().partition_lock {
                    format!("lock k={}, ", e.stmt.k)
                } else {
                    String::new()
                };
                out.insert(
                    format!("{me} commitlog {w}"),
                    format!("{} ({lock}ack to {})", e.stmt, e.reply_to),
                );
            }
            for (b, targets) in &d.batchlog {
                let t: Vec<String> = targets.iter().map(|(n, ms)| format!("->{n} {}", list(ms))).collect();
                out.insert(format!("{me} batchlog {b}"), t.join(" "));
            }
            for (t, hs) in &d.hints {
                for (b, ms) in hs {
                    out.insert(format!("{me} hint ->{t} {b}"), list(ms));
                }
            }
            for (w, e) in &d.coord_batchlog {
                let p: Vec<String> = e.pending.iter().map(|n| n.to_string()).collect();
                out.insert(
                    format!("{me} coord-batchlog {w}"),
                    format!("{} from {} pending [{}]", e.stmt, e.coordinator, p.join(",")),
                );
            }
            if !s.crashed[n] {
                for (w, r) in &node.coord {
                    out.insert(
                        format!("{me} coordinating {w}"),
                        format!(
                            "acks={} need={} replied={}",
                            r.acks,
                            r.cl.required(self.cfg.ring.rf),
                            r.replied
                        ),
                    );
                }
            }
            if d.restarts > 0 || d.data_losses > 0 {
                out.insert(
                    format!("{me} faults"),
                    format!("restarts={} data-losses={}", d.restarts, d.data_losses),
                );
            }
        }
        for w in self.write_records(s) {
            out.insert(
                format!("client {}", w.write),
                format!("{:?} [{}] cl={}", w.outcome, w.stmt, w.cl),
            );
        }
        for (i, m) in self.in_flight_lines(s).into_iter().enumerate() {
            out.insert(format!("net {i:02}"), m);
        }
        out
    }

    /// The state as a readable block of text, one node after another (the explorer's view).
    pub fn render(&self, s: &State) -> String {
        let mut text = String::new();
        let mut last = String::new();
        for (k, v) in self.lines(s) {
            let group = k.split(' ').next().unwrap_or("").to_string();
            if group != last {
                text.push_str(&format!("{group}:\n"));
                last = group;
            }
            text.push_str(&format!("  {} = {v}\n", k.split_once(' ').map_or(k.as_str(), |x| x.1)));
        }
        text
    }

    /// What changed between two states, as `+`, `-` and `~` lines.
    pub fn diff(&self, before: &State, after: &State) -> Vec<String> {
        let (a, b) = (self.lines(before), self.lines(after));
        let mut out = Vec::new();
        // In-flight messages are compared as a multiset; line numbers would shift.
        let net = |l: &Lines| {
            let mut v: Vec<String> = l
                .iter()
                .filter(|(k, _)| k.starts_with("net "))
                .map(|x| x.1.clone())
                .collect();
            v.sort();
            v
        };
        for (k, v) in &b {
            if k.starts_with("net ") {
                continue;
            }
            match a.get(k) {
                None => out.push(format!("+ {k}: {v}")),
                Some(old) if old != v => out.push(format!("~ {k}: {old}  =>  {v}")),
                _ => {}
            }
        }
        for (k, v) in &a {
            if !k.starts_with("net ") && !b.contains_key(k) {
                out.push(format!("- {k}: {v}"));
            }
        }
        let (mut na, nb) = (net(&a), net(&b));
        for m in nb {
            if let Some(i) = na.iter().position(|x| *x == m) {
                na.remove(i);
            } else {
                out.push(format!("+ in flight: {m}"));
            }
        }
        // What is left was delivered, dropped or lost with a machine.
        out.extend(na.into_iter().map(|m| format!("- in flight: {m}")));
        out
    }
}

fn opt(v: Option<u8>) -> String {
    v.map_or("null".into(), |x| x.to_string())
}

fn list(ms: &[mv_spec::ViewMutation]) -> String {
    let v: Vec<String> = ms.iter().map(|m| m.to_string()).collect();
    format!("[{}]", v.join(", "))
}
