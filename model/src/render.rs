//! Rendering states and actions in protocol terms, and converting actions to and from the
//! by-value [`Step`] of the trace schema.

use crate::actor::Fault;
use crate::model::{Action, MvModel, State};
use mv_spec::obs::NodeObservation;
use mv_spec::trace::ClientObservation;
use mv_spec::trace::{After, Step};
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
            ActorModelAction::SelectRandom {
                actor,
                random: Fault::Repair(key),
                ..
            } => Step::Repair {
                node: l(actor),
                key: *key,
            },
            ActorModelAction::SelectRandom {
                random: Fault::HintWindow(t),
                ..
            } => Step::HintWindow { node: t.to_string() },
            ActorModelAction::SelectRandom {
                actor,
                random: Fault::ViewRepair(key),
                ..
            } => Step::ViewRepair {
                node: l(actor),
                key: *key,
            },
            // The clock has no node; the trace line observes the first.
            ActorModelAction::SelectRandom {
                random: Fault::Expire, ..
            } => Step::Expire { node: "n0".to_string() },
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
            Step::Repair { node, key } => ActorModelAction::SelectRandom {
                actor: self.actor_id(node)?,
                key: crate::actor::REPAIR.to_string(),
                random: Fault::Repair(*key),
            },
            Step::ViewRepair { node, key } => ActorModelAction::SelectRandom {
                actor: self.actor_id(node)?,
                key: crate::actor::VIEW_REPAIR.to_string(),
                random: Fault::ViewRepair(*key),
            },
            Step::HintWindow { node } => {
                let id = self.actor_id(node)?;
                let t = crate::actor::actor_node(id, self.cfg.ring.nodes)
                    .ok_or_else(|| format!("{node} is not a node: only a node's outage outlasts the hint window"))?;
                ActorModelAction::SelectRandom {
                    // The first client offers the choice on the environment's behalf.
                    actor: stateright::actor::Id::from(self.cfg.ring.nodes as usize),
                    key: crate::actor::HINT_WINDOW.to_string(),
                    random: Fault::HintWindow(t),
                }
            }
            Step::Expire { node } => {
                // One action, one observed actor: the clock's line always observes n0.
                if node != "n0" {
                    return Err(format!("an Expire step is observed on n0, not {node:?}"));
                }
                ActorModelAction::SelectRandom {
                    // The first client offers the clock on the environment's behalf.
                    actor: stateright::actor::Id::from(self.cfg.ring.nodes as usize),
                    key: crate::actor::EXPIRE.to_string(),
                    random: Fault::Expire,
                }
            }
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

    /// How this model's observations read: its read rules, and whether it has a partition
    /// lock to speak of.
    pub fn style(&self) -> Style {
        let design = self.cfg.variant.design();
        Style {
            rules: ReadRules {
                strict_liveness: design.strict_liveness,
            },
            partition_lock: design.partition_lock,
        }
    }

    /// The state as labelled lines: each actor's observation, rendered as a trace's is, then
    /// what only the model keeps (a live coordinator's ack count, fault counters) and the
    /// network.
    pub fn lines(&self, s: &State) -> Lines {
        let style = self.style();
        let mut out = Lines::new();
        for n in 0..self.cfg.ring.nodes as usize {
            let me = format!("n{n}");
            node_lines(&mut out, &me, &self.observe_node(s, n), style);
            let node = self.node(s, n);
            if !s.crashed[n] {
                for (w, r) in &node.coord {
                    out.insert(
                        format!("{me} coordinating {w}"),
                        format!(
                            "acks={} need={} replied={}",
                            r.acks(),
                            r.cl.required(self.cfg.ring.rf),
                            r.replied
                        ),
                    );
                }
            }
            let d = &node.disk;
            if d.restarts > 0 || d.data_losses > 0 || d.lost > 0 || d.repairs > 0 {
                out.insert(
                    format!("{me} faults"),
                    format!(
                        "restarts={} data-losses={} messages-lost={} repairs={}",
                        d.restarts, d.data_losses, d.lost, d.repairs
                    ),
                );
            }
        }
        if self.cfg.workload.has_ttl() {
            // Every node shares the clock; n0's disk carries it as well as any.
            let past = self.node(s, 0).disk.expired;
            let when = if past {
                "past the TTL deadline"
            } else {
                "before the TTL deadline"
            };
            out.insert("clock now".to_string(), when.to_string());
        }
        for c in 0..self.scripts.len() {
            client_lines(&mut out, &format!("c{c}"), &self.observe_client(s, c));
        }
        for (i, m) in self.in_flight_lines(s).into_iter().enumerate() {
            out.insert(format!("net {i:02}"), m);
        }
        out
    }

    /// The state as a readable block of text, one node after another (the explorer's view).
    pub fn render(&self, s: &State) -> String {
        // The explorer shows this pane alone: say which model it is a state of.
        let mut text = format!("model: {}\n", self.summary());
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

/// The widest the explorer's sequence diagram may be, so that every actor column shows in a
/// 1,400 px window beside nothing else.
const SVG_MAX_WIDTH: usize = 1_300;
/// Vertical space per step.
const SVG_ROW: usize = 34;

impl MvModel {
    /// The explorer's sequence diagram of `path`: one column per actor (nodes, then clients),
    /// one row per step, each message drawn from the step that sent it to the step that
    /// delivered it, labelled in the protocol's own words (`ViewWrite batch=n0#0 [...]`), as
    /// the steps are. A dropped message ends in a cross, a timer is a note on its node, and
    /// crashes, restarts, data losses and repairs are marked on the node's column.
    pub fn sequence_svg(&self, path: &stateright::Path<State, Action>) -> String {
        let steps = path.clone().into_vec();
        let actors = self.cfg.ring.nodes as usize + self.scripts.len();
        let col = (SVG_MAX_WIDTH / actors.max(1)).min(240);
        let width = col * actors;
        let x = |id: Id| usize::from(id) * col + col / 2;
        let height = SVG_ROW * (steps.len() + 2);
        let mut out = format!(
            "<svg version='1.1' baseProfile='full' width='{width}' height='{height}' viewBox='0 0 {width} {height}' xmlns='http://www.w3.org/2000/svg'>"
        );
        out.push_str("<defs><marker id='arrow' markerWidth='12' markerHeight='10' refX='12' refY='5' orient='auto'><polyline points='0,0 12,5 0,10' fill='none' stroke='black'/></marker></defs>");
        for i in 0..actors {
            let id = Id::from(i);
            out.push_str(&format!(
                "<line x1='{0}' y1='{1}' x2='{0}' y2='{height}' class='svg-actor-timeline' stroke='#888' stroke-dasharray='4'/><text x='{0}' y='{2}' text-anchor='middle' class='svg-actor-label' font-weight='bold'>{3}</text>",
                x(id),
                SVG_ROW,
                SVG_ROW - 10,
                xml(&self.actor_label(id))
            ));
        }
        // Where each message in flight was sent: (src, dst, text) -> the rows of its copies.
        let mut sent: Vec<(Id, Id, String, usize)> = Vec::new();
        let chars = (col / 7).max(12);
        for (row, w) in steps.windows(2).enumerate() {
            let (before, after) = (&w[0].0, &w[1].0);
            let Some(a) = &w[0].1 else { continue };
            let y = SVG_ROW * (row + 2);
            let mut take = |src: Id, dst: Id, text: &str| {
                sent.iter()
                    .position(|(s, d, t, _)| *s == src && *d == dst && t == text)
                    .map_or(SVG_ROW, |i| sent.remove(i).3)
            };
            match a {
                ActorModelAction::Deliver { src, dst, msg } => {
                    let text = msg.to_string();
                    let from = take(*src, *dst, &text);
                    out.push_str(&arrow(x(*src), from, x(*dst), y, &text, chars, false));
                }
                ActorModelAction::Drop(e) => {
                    let text = e.msg.to_string();
                    let from = take(e.src, e.dst, &text);
                    out.push_str(&arrow(
                        x(e.src),
                        from,
                        x(e.dst),
                        y,
                        &format!("{text} (lost)"),
                        chars,
                        true,
                    ));
                }
                ActorModelAction::Timeout(id, t) => {
                    out.push_str(&note(x(*id), y, &format!("timer {t}"), chars, "#eef"))
                }
                ActorModelAction::Crash(id) => out.push_str(&note(x(*id), y, "crash", chars, "#fcc")),
                ActorModelAction::Recover(id) => out.push_str(&note(x(*id), y, "restart", chars, "#cfc")),
                ActorModelAction::SelectRandom {
                    actor,
                    random: Fault::Repair(k),
                    ..
                } => out.push_str(&note(x(*actor), y, &format!("repair k={k}"), chars, "#cfc")),
                ActorModelAction::SelectRandom {
                    actor,
                    random: Fault::ViewRepair(k),
                    ..
                } => out.push_str(&note(x(*actor), y, &format!("view repair k={k}"), chars, "#cfc")),
                ActorModelAction::SelectRandom {
                    random: Fault::HintWindow(t),
                    ..
                } => out.push_str(&note(
                    x(crate::actor::node_actor(*t)),
                    y,
                    "past hint window",
                    chars,
                    "#fcc",
                )),
                ActorModelAction::SelectRandom {
                    random: Fault::Expire, ..
                } => {
                    for n in 0..self.cfg.ring.nodes as usize {
                        out.push_str(&note(x(Id::from(n)), y, "TTL deadline passes", chars, "#ffd"));
                    }
                }
                ActorModelAction::SelectRandom { actor, .. } => {
                    out.push_str(&note(x(*actor), y, "data loss", chars, "#fcc"))
                }
            }
            // The messages this step put on the wire start here.
            let mut old: Vec<(Id, Id, String)> = before
                .network
                .iter_all()
                .map(|e| (e.src, e.dst, e.msg.to_string()))
                .collect();
            for e in after.network.iter_all() {
                let m = (e.src, e.dst, e.msg.to_string());
                match old.iter().position(|o| *o == m) {
                    Some(i) => {
                        old.remove(i);
                    }
                    None => sent.push((m.0, m.1, m.2, y)),
                }
            }
        }
        out.push_str("</svg>");
        out
    }
}

/// An arrow from `(x1, y1)` to `(x2, y2)` labelled `text` (shortened to `chars`), or a cross
/// half way for a message the network lost. A message to oneself is a loop.
fn arrow(x1: usize, y1: usize, x2: usize, y2: usize, text: &str, chars: usize, lost: bool) -> String {
    let label = xml(&shorten(text, chars));
    let full = xml(text);
    if x1 == x2 {
        let (y1, y2) = (y1.min(y2.saturating_sub(8)), y2);
        return format!(
            "<path d='M {x1} {y1} C {c} {y1}, {c} {y2}, {x2} {y2}' fill='none' stroke='black' marker-end='url(#arrow)'/><text x='{t}' y='{m}' font-size='11' class='svg-event-label'><title>{full}</title>{label}</text>",
            c = x1 + 30,
            t = x1 + 34,
            m = (y1 + y2) / 2 + 4,
        );
    }
    let (ex, ey) = if lost { ((x1 + x2) / 2, (y1 + y2) / 2) } else { (x2, y2) };
    let mut svg = format!(
        "<line x1='{x1}' y1='{y1}' x2='{ex}' y2='{ey}' stroke='black' {}/>",
        if lost {
            "stroke-dasharray='3'"
        } else {
            "marker-end='url(#arrow)'"
        }
    );
    if lost {
        svg.push_str(&format!(
            "<path d='M {a} {b} L {c} {d} M {a} {d} L {c} {b}' stroke='red' stroke-width='2'/>",
            a = ex - 6,
            b = ey - 6,
            c = ex + 6,
            d = ey + 6
        ));
    }
    svg.push_str(&format!(
        "<text x='{}' y='{}' font-size='11' text-anchor='middle' class='svg-event-label'><title>{full}</title>{label}</text>",
        (x1 + ex) / 2,
        (y1 + ey) / 2 - 4
    ));
    svg
}

/// A note on one actor's column: a timer firing or a fault.
fn note(x: usize, y: usize, text: &str, chars: usize, fill: &str) -> String {
    let label = xml(&shorten(text, chars));
    format!(
        "<rect x='{}' y='{}' width='{}' height='18' rx='3' fill='{fill}' stroke='#666'/><text x='{x}' y='{}' font-size='11' text-anchor='middle' class='svg-event-label'><title>{}</title>{label}</text>",
        x.saturating_sub(label.len() * 3 + 6),
        y - 13,
        label.len() * 6 + 12,
        y,
        xml(text)
    )
}

fn shorten(text: &str, chars: usize) -> String {
    if text.chars().count() <= chars {
        text.to_string()
    } else {
        let cut: String = text.chars().take(chars.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}

fn xml(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('\'', "&apos;")
}

/// What decides how an observation reads.
#[derive(Clone, Copy, Debug)]
pub struct Style {
    /// What a row resolves to.
    pub rules: ReadRules,
    /// Whether a commit-log entry holds its partition's lock (B1); a variant without the lock
    /// must not be described as holding one.
    pub partition_lock: bool,
}

/// An actor's observation as labelled lines under `who`: the one rendering of node and client
/// state, used for the explorer's pane, counterexample steps and trace mismatches alike.
pub fn observation_lines(who: &str, after: &After, style: Style) -> Lines {
    let mut out = Lines::new();
    match after {
        After::Node(o) => node_lines(&mut out, who, o, style),
        After::Client(c) => client_lines(&mut out, who, c),
    }
    out
}

fn node_lines(out: &mut Lines, who: &str, o: &NodeObservation, style: Style) {
    out.insert(format!("{who} status"), if o.up { "up" } else { "DOWN" }.into());
    for (k, r) in &o.base {
        let seen = match r.resolve() {
            Some(b) => format!("live v={} w={}", opt(b.v), opt(b.w)),
            None => "dead".into(),
        };
        out.insert(format!("{who} base k={k}"), format!("{r} [{seen}]"));
    }
    for (vk, r) in &o.view {
        let seen = match r.resolve(style.rules) {
            Some(w) => format!("live w={}", opt(w)),
            None => "dead".into(),
        };
        out.insert(format!("{who} view {vk}"), format!("{r} [{seen}]"));
    }
    for r in o.limit_reads.iter().flatten() {
        let got =
            r.k.map_or("no row".to_string(), |k| mv_spec::ViewKey { v: r.v, k }.to_string());
        out.insert(format!("{who} read v={} LIMIT 1", r.v), got);
    }
    for e in &o.commitlog {
        let lock = if style.partition_lock {
            format!("lock k={}, ", e.stmt.k)
        } else {
            String::new()
        };
        out.insert(
            format!("{who} commitlog {}", e.write),
            format!("{} ({lock}ack to {})", e.stmt, e.reply_to),
        );
    }
    for e in &o.batchlog {
        let t: Vec<String> = e.pending.iter().map(|(n, ms)| format!("->{n} {}", list(ms))).collect();
        out.insert(format!("{who} batchlog {}", e.batch), t.join(" "));
    }
    for h in &o.hints {
        out.insert(format!("{who} hint ->{} {}", h.target, h.batch), list(&h.mutations));
    }
    for h in &o.base_hints {
        out.insert(
            format!("{who} base-hint ->{} {}", h.target, h.write),
            h.stmt.to_string(),
        );
    }
    for e in &o.coord_batchlog {
        let p: Vec<String> = e.pending.iter().map(|n| n.to_string()).collect();
        out.insert(
            format!("{who} coord-batchlog {}", e.write),
            format!("{} from {} pending [{}]", e.stmt, e.coordinator, p.join(",")),
        );
    }
    // Timers are volatile: a down node has none.
    if !o.timers.is_empty() {
        let t: Vec<String> = o.timers.iter().map(|t| t.to_string()).collect();
        out.insert(format!("{who} timers"), t.join(", "));
    }
}

fn client_lines(out: &mut Lines, who: &str, c: &ClientObservation) {
    for r in &c.writes {
        out.insert(
            format!("{who} write {}", r.write),
            format!("{:?} [{}] cl={}", r.outcome, r.stmt, r.cl),
        );
    }
}

fn opt(v: Option<u8>) -> String {
    v.map_or("null".into(), |x| x.to_string())
}

fn list(ms: &[mv_spec::ViewMutation]) -> String {
    let v: Vec<String> = ms.iter().map(|m| m.to_string()).collect();
    format!("[{}]", v.join(", "))
}
