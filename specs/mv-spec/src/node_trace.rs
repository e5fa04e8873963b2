//! Per-node traces of a cluster of processes, and their merge into one run.
//!
//! A cluster of processes has no global step order: each node (and each client) writes its
//! own file, a [`NodeTraceHeader`] and then one [`NodeTraceLine`] per step. A line is the
//! step line of an ordinary trace plus the actor's Lamport clock after the step and, for a
//! delivery, the clock the sender stamped on the message (`sent`).
//!
//! [`merge`] turns the files into one ordinary trace that `mvcheck validate` replays. It is a
//! topological sort of happens-before: each file's lines in order, and each delivery after
//! the step that sent its message (the sender's line whose clock is `sent`). Any such order
//! is a run of the model when the real run's only reorderings swap steps of different actors
//! with no message between them: those steps touch disjoint states, and each step's guard
//! reads only its own actor's state and the messages already sent to it.
//!
//! **Crashes.** A node's crash is not an instant of anyone's clock. The model's `Crash`
//! loses every message in flight to or from the node and keeps what is sent to it while it
//! is down, so the merge places each `Crash` (and the `Recover` right after it):
//!
//! * after every delivery, at another actor, of a message the node's ended life sent
//!   (the model can deliver those only before the crash);
//! * before every send whose message the node's next life receives (with `Recover` before
//!   it too, so that a hint delivery finds its target up, as the model's guard wants);
//! * otherwise as late as possible, so that a message sent to the dead process and never
//!   received is in flight at the crash, which loses it, as TCP did.
//!
//! A run that breaks these (a message from the ended life delivered after a message sent to
//! the next one) has no place for the crash; the merge says so and names the lines.
//!
//! **Repairs.** The operator's anti-entropy repair (`Repair`, R4) reads every replica of its
//! partition, which no message records. It runs on a settled cluster, so it goes as late as
//! it can too: after every line not caused by it, crashes included.

use crate::trace::{After, Step, TraceConfig, TraceError, TraceHeader, TraceLine};
use crate::{Cl, Pairing};
use serde::{Deserialize, Serialize};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};

/// The value of [`NodeTraceHeader::format`].
pub const NODE_TRACE_FORMAT: &str = "mvcheck-node-trace";

/// The first line of a node's (or a client's) trace file: who wrote it and for what ring.
/// The run's workload and consistency level are the clients' to know: a client that ran a
/// model workload says so in `run`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeTraceHeader {
    /// Always [`NODE_TRACE_FORMAT`].
    pub format: String,
    /// Always 1.
    pub version: u32,
    /// The node, `n<i>` (or the client, `c<i>`).
    pub node: String,
    /// The variant's name.
    pub variant: String,
    /// Ring size.
    pub nodes: u8,
    /// Replication factor.
    pub rf: u8,
    /// Pairing rule.
    pub pairing: String,
    /// The program that wrote the file.
    pub emitter: String,
    /// A client's: the model workload it is one client of, absent for generated writes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<RunSpec>,
    /// A node's, when its base table has no view (0: a benchmark's baseline, which no model
    /// run is); absent means the schema's one view.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub views: Option<u8>,
}

/// The model workload a cluster's clients ran, as a client's trace header records it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunSpec {
    /// The workload's name.
    pub workload: String,
    /// Its `writes`.
    pub writes: u8,
    /// Its `keys`.
    pub keys: u8,
    /// The consistency level of every write.
    #[serde(with = "crate::trace::cl_name")]
    pub cl: Cl,
}

/// One step of one node (or client): the ordinary step line plus clocks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeTraceLine {
    /// This actor's step number, from 1, over all its lives.
    pub seq: u64,
    /// The actor, `n<i>` or `c<i>`.
    pub node: String,
    /// The step, by value.
    pub step: Step,
    /// The actor's observation after the step.
    pub after: After,
    /// The actor's Lamport clock after the step.
    pub lamport: u64,
    /// For a delivery from another actor: the clock its sender stamped on the message, which
    /// is the sender's clock after the step that sent it (a client's first write, sent when
    /// the run starts, carries a clock no step of the client has).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent: Option<u64>,
}

/// One actor's file, read.
#[derive(Clone, Debug)]
pub struct NodeTrace {
    /// The header.
    pub header: NodeTraceHeader,
    /// The step lines with their 1-based line numbers in the file.
    pub lines: Vec<(usize, NodeTraceLine)>,
}

/// Whether `text` starts like a node trace (its first line names the format).
pub fn is_node_trace(text: &str) -> bool {
    text.lines()
        .find(|l| !l.trim().is_empty())
        .and_then(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .is_some_and(|v| v.get("format").and_then(|f| f.as_str()) == Some(NODE_TRACE_FORMAT))
}

/// Reads one actor's file: the header, then contiguous `seq` from 1, a clock that grows, and
/// every line about the file's actor.
pub fn read_node_trace(text: &str) -> Result<NodeTrace, TraceError> {
    let mut header: Option<NodeTraceHeader> = None;
    let mut lines: Vec<(usize, NodeTraceLine)> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let err = |message: String| TraceError { line, message };
        if raw.trim().is_empty() {
            continue;
        }
        let Some(h) = &header else {
            let h: NodeTraceHeader =
                serde_json::from_str(raw).map_err(|e| err(format!("not a node trace header: {e}")))?;
            if h.format != NODE_TRACE_FORMAT || h.version != 1 {
                return Err(err(format!(
                    "format {:?} version {}, expected {NODE_TRACE_FORMAT:?} version 1",
                    h.format, h.version
                )));
            }
            header = Some(h);
            continue;
        };
        let l: NodeTraceLine = serde_json::from_str(raw).map_err(|e| err(format!("{e}")))?;
        if l.node != h.node || l.step.actor() != h.node {
            return Err(err(format!(
                "a line about {:?} ({}) in the trace of {}",
                l.step.actor(),
                l.step,
                h.node
            )));
        }
        let want = lines.len() as u64 + 1;
        if l.seq != want {
            return Err(err(format!("seq {} where {want} comes next", l.seq)));
        }
        if let Some((_, prev)) = lines.last() {
            if l.lamport <= prev.lamport {
                return Err(err(format!(
                    "clock {} does not pass the previous line's {}",
                    l.lamport, prev.lamport
                )));
            }
        }
        let ok = match &l.after {
            After::Node(_) => h.node.starts_with('n'),
            After::Client(_) => h.node.starts_with('c'),
        };
        if !ok {
            return Err(err(format!("after is not an observation of {}", h.node)));
        }
        lines.push((line, l));
    }
    let header = header.ok_or(TraceError {
        line: 1,
        message: "empty file: no header line".into(),
    })?;
    Ok(NodeTrace { header, lines })
}

/// The merged run: an ordinary trace, and where each of its lines came from.
#[derive(Clone, Debug)]
pub struct Merged {
    /// The header: the ring from the nodes' headers, the workload from the clients', and
    /// crash and repair budgets of exactly the crashes and repairs recorded.
    pub header: TraceHeader,
    /// The lines, renumbered from 1.
    pub lines: Vec<TraceLine>,
    /// `origin[i]` is (file index, file line) of `lines[i]`.
    pub origin: Vec<(usize, usize)>,
    /// The crashes recorded (the header's budget saturates at 255).
    pub crashes: usize,
}

impl Merged {
    /// The merged trace as NDJSON, a header and one line per step.
    pub fn to_ndjson(&self) -> String {
        let mut out = serde_json::to_string(&self.header).expect("a header serializes");
        out.push('\n');
        for l in &self.lines {
            out.push_str(&serde_json::to_string(l).expect("a line serializes"));
            out.push('\n');
        }
        out
    }
}

fn pairing(name: &str) -> Result<Pairing, String> {
    match name {
        "self-first" => Ok(Pairing::SelfFirst),
        "positional" => Ok(Pairing::Positional),
        other => Err(format!("pairing {other:?} is unknown")),
    }
}

/// Why traces cannot be merged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MergeError {
    /// What is wrong, naming the file and line.
    pub message: String,
    /// The files are traces, but of no run of the model: a message left from a step its
    /// sender never recorded, or no order puts a crash where the model can take it. Otherwise
    /// the input is not what a merge needs (a file missing, another ring).
    pub divergence: bool,
}

impl MergeError {
    fn input(message: String) -> MergeError {
        MergeError {
            message,
            divergence: false,
        }
    }

    fn divergence(message: String) -> MergeError {
        MergeError {
            message,
            divergence: true,
        }
    }
}

impl std::fmt::Display for MergeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// A line of the merge's input, for error messages: `trace-n1.ndjson line 8`.
fn at(names: &[String], file: usize, line: usize) -> String {
    format!("{} line {line}", names[file])
}

/// Merges the files of one cluster run (`names[i]` is how `files[i]` is called in messages)
/// into one trace in an order consistent with happens-before, placing each crash as the
/// module documentation says. An error names the file and line it cannot use.
pub fn merge(files: &[NodeTrace], names: &[String]) -> Result<Merged, MergeError> {
    let first = files.first().ok_or(MergeError::input("no trace files".into()))?;
    let h0 = &first.header;
    // One ring, one variant, one file per actor.
    let mut by_actor: BTreeMap<&str, usize> = BTreeMap::new();
    for (f, t) in files.iter().enumerate() {
        let h = &t.header;
        if (h.variant.as_str(), h.nodes, h.rf, h.pairing.as_str())
            != (h0.variant.as_str(), h0.nodes, h0.rf, h0.pairing.as_str())
        {
            return Err(MergeError::input(format!(
                "{} is of a {} ring of {} nodes at RF {} ({}), but {} is of {} with {} nodes at RF {} ({})",
                names[f], h.variant, h.nodes, h.rf, h.pairing, names[0], h0.variant, h0.nodes, h0.rf, h0.pairing
            )));
        }
        if h.views.is_some_and(|v| v != 1) {
            return Err(MergeError::input(format!(
                "{} is of a node whose base table has {} views (a benchmark's baseline): the model has one",
                names[f],
                h.views.unwrap_or(0)
            )));
        }
        if let Some(g) = by_actor.insert(&h.node, f) {
            return Err(MergeError::input(format!(
                "{} and {} are both traces of {}",
                names[g], names[f], h.node
            )));
        }
    }
    for n in 0..h0.nodes {
        if !by_actor.contains_key(format!("n{n}").as_str()) {
            return Err(MergeError::input(format!(
                "no trace of n{n} among the files: give every node's trace-n*.ndjson and every client's trace-c*.ndjson"
            )));
        }
    }
    // The workload, from the clients.
    let mut run: Option<(&RunSpec, usize)> = None;
    let mut clients = 0usize;
    for (f, t) in files.iter().enumerate() {
        if !t.header.node.starts_with('c') {
            continue;
        }
        clients += 1;
        match (&t.header.run, run) {
            (None, _) => {
                return Err(MergeError::input(format!(
                    "{} is a client of generated writes (`cluster write` without --workload): the model knows only its \
                     workloads, so only a run of `cluster write --workload NAME` can be validated",
                    names[f]
                )))
            }
            (Some(r), Some((r0, g))) if r != r0 => {
                return Err(MergeError::input(format!(
                    "{} and {} ran different workloads",
                    names[g], names[f]
                )))
            }
            (Some(r), _) => run = Some((r, f)),
        }
    }
    let Some((run, _)) = run else {
        return Err(MergeError::input(
            "no client trace among the files: give the trace-c*.ndjson files of the run's clients".into(),
        ));
    };
    let workload = crate::workload::Workload::from_name(&run.workload, run.writes, run.keys)
        .ok_or_else(|| MergeError::input(format!("workload {:?} is unknown", run.workload)))?;
    let want = workload.scripts(h0.nodes).len();
    for c in 0..want {
        if !by_actor.contains_key(format!("c{c}").as_str()) {
            return Err(MergeError::input(format!(
                "workload {} has {want} clients, and no trace of c{c} is among the files",
                run.workload
            )));
        }
    }
    if clients != want {
        return Err(MergeError::input(format!(
            "workload {} has {want} clients, but {clients} client traces were given",
            run.workload
        )));
    }

    // Every line is an event, numbered file by file.
    let mut base = Vec::with_capacity(files.len());
    let mut total = 0;
    for t in files {
        base.push(total);
        total += t.lines.len();
    }
    let file_of = |e: usize| base.partition_point(|&b| b <= e) - 1;
    let line = |e: usize| -> &NodeTraceLine {
        let f = file_of(e);
        &files[f].lines[e - base[f]].1
    };
    let where_ = |e: usize| {
        let f = file_of(e);
        at(names, f, files[f].lines[e - base[f]].0)
    };
    let mut succ: Vec<Vec<usize>> = vec![Vec::new(); total];
    let edge = |a: usize, b: usize, succ: &mut Vec<Vec<usize>>| succ[a].push(b);
    for (f, t) in files.iter().enumerate() {
        for i in 1..t.lines.len() {
            edge(base[f] + i - 1, base[f] + i, &mut succ);
        }
    }
    // Each delivery's send: (delivery, sending event or None for a client's first write).
    let mut sends: Vec<(usize, Option<usize>)> = Vec::new();
    for (f, t) in files.iter().enumerate() {
        for (i, (_, l)) in t.lines.iter().enumerate() {
            let Step::Deliver { src, .. } = &l.step else { continue };
            let e = base[f] + i;
            if *src == t.header.node {
                continue;
            }
            let Some(&g) = by_actor.get(src.as_str()) else {
                return Err(MergeError::input(format!(
                    "{} delivers a message from {src}, whose trace is not among the files",
                    where_(e)
                )));
            };
            let Some(clock) = l.sent else {
                return Err(MergeError::input(format!(
                    "{} delivers a message from {src} without the sender's clock (`sent`)",
                    where_(e)
                )));
            };
            let sender = &files[g].lines;
            let k = sender.partition_point(|(_, s)| s.lamport <= clock);
            let found = k.checked_sub(1).map(|k| (k, &sender[k].1));
            let send = match found {
                Some((k, s)) if s.lamport == clock && !matches!(s.step, Step::Crash { .. }) => Some(base[g] + k),
                // A client's clock moves when it sends, not only when it takes a step.
                _ if src.starts_with('c') => found.map(|(k, _)| base[g] + k),
                _ => {
                    return Err(MergeError::divergence(format!(
                        "{} delivers a message {src} sent at its clock {clock}, but {src} recorded no step that sent \
                         at {clock}: the message left from a step {src} never made durable",
                        where_(e)
                    )))
                }
            };
            if let Some(s) = send {
                edge(s, e, &mut succ);
            }
            sends.push((e, send));
        }
    }
    // Crashes: after the deliveries of the ended life's messages, before the sends the next
    // life receives.
    let send_of: BTreeMap<usize, Option<usize>> = sends.iter().copied().collect();
    let repairs = files
        .iter()
        .flat_map(|t| &t.lines)
        .filter(|(_, l)| matches!(l.step, Step::Repair { .. }))
        .count();
    let mut crashes = 0usize;
    let mut recover_of: BTreeMap<usize, usize> = BTreeMap::new();
    // Each file's crashes, in order: a message sent before one is of the life it ends.
    let mut crashes_of: Vec<Vec<usize>> = vec![Vec::new(); files.len()];
    let mut before_sends: Vec<(usize, usize)> = Vec::new();
    for (f, t) in files.iter().enumerate() {
        let mut life_start: Option<usize> = None;
        for (i, (_, l)) in t.lines.iter().enumerate() {
            let e = base[f] + i;
            match &l.step {
                Step::Crash { .. } => {
                    crashes += 1;
                    let next = t.lines.get(i + 1).map(|(_, n)| &n.step);
                    if !matches!(next, Some(Step::Recover { .. })) {
                        return Err(MergeError::input(format!(
                            "{} is a crash without the restart right after it (merging needs every killed node restarted)",
                            where_(e)
                        )));
                    }
                    recover_of.insert(e, e + 1);
                    crashes_of[f].push(e);
                }
                Step::Recover { .. } => life_start = Some(e),
                Step::Deliver { src, .. } if *src != t.header.node => {
                    if let (Some(r), Some(&Some(s))) = (life_start, send_of.get(&e)) {
                        before_sends.push((r, s));
                    }
                }
                _ => {}
            }
        }
    }
    // A delivery of an ended life's message goes before the crash that ended it (one edge
    // per delivery: the first crash after its send, in the sender's file).
    for &(d, s) in &sends {
        let Some(s) = s else { continue };
        let f = file_of(s);
        if file_of(d) == f {
            continue;
        }
        let crashes = &crashes_of[f];
        if let Some(&x) = crashes.get(crashes.partition_point(|&x| x < s)) {
            edge(d, x, &mut succ);
        }
    }
    // A send the next life received goes after its restart. A send that is itself a restart
    // (a restart replays its commit log and sends) is held back by holding back its crash:
    // the two are emitted as one.
    for (r, s) in before_sends {
        let s = match s.checked_sub(1) {
            Some(x) if recover_of.get(&x) == Some(&s) => x,
            _ => s,
        };
        edge(r, s, &mut succ);
    }

    // Kahn's algorithm, smallest (clock, actor, seq) first, a crash only when nothing else is
    // ready, and its restart right after it. A repair too waits until nothing else is ready:
    // the operator runs it on a settled cluster, after every step recorded before it, and it
    // reads every replica, which no message says.
    let mut indeg = vec![0usize; total];
    for s in &succ {
        for &b in s {
            indeg[b] += 1;
        }
    }
    type Key<'a> = Reverse<(u8, u64, &'a str, u64, usize)>;
    let key = |e: usize| -> Key<'_> {
        let l = line(e);
        // A repair also waits for the crashes that are ready: the operator repairs a cluster
        // whose killed nodes have restarted, and the model repairs only replicas that are up
        // with nothing in flight.
        let class = match l.step {
            Step::Crash { .. } => 1,
            Step::Repair { .. } => 2,
            _ => 0,
        };
        Reverse((class, l.lamport, l.node.as_str(), l.seq, e))
    };
    let restarts: BTreeSet<usize> = recover_of.values().copied().collect();
    let mut ready: BinaryHeap<Key<'_>> = (0..total).filter(|&e| indeg[e] == 0).map(key).collect();
    let mut order = Vec::with_capacity(total);
    let mut done = vec![false; total];
    while let Some(Reverse((_, _, _, _, e))) = ready.pop() {
        // A restart's one predecessor is its crash, so it is ready exactly then.
        for e in std::iter::once(e).chain(recover_of.get(&e).copied()) {
            order.push(e);
            done[e] = true;
            for &b in &succ[e] {
                indeg[b] -= 1;
                if indeg[b] == 0 && !restarts.contains(&b) {
                    ready.push(key(b));
                }
            }
        }
    }
    if order.len() < total {
        // Every line left waits for another line left: walking back along such waits from
        // any of them comes round to a cycle, which is what the message names.
        let mut pred: Vec<Vec<usize>> = vec![Vec::new(); total];
        for (a, s) in succ.iter().enumerate() {
            for &b in s {
                pred[b].push(a);
            }
        }
        let start = (0..total).find(|&e| !done[e]).expect("a line is left");
        let mut path = vec![start];
        let mut at_ = start;
        let cycle = loop {
            let p = *pred[at_]
                .iter()
                .find(|&&p| !done[p])
                .expect("a line left waits for another left");
            if let Some(i) = path.iter().position(|&e| e == p) {
                let mut c = path[i..].to_vec();
                c.reverse();
                break c;
            }
            path.push(p);
            at_ = p;
        };
        let shown: Vec<String> = cycle
            .iter()
            .map(|&e| format!("{} ({})", where_(e), line(e).step))
            .collect();
        return Err(MergeError::divergence(format!(
            "no order of these traces is a run of the model: a crash would have to come both after a delivery of a \
             message from the node's ended life and before a send its next life received. These lines wait for each \
             other in a cycle: {}",
            shown.join(" -> ")
        )));
    }
    let config = TraceConfig {
        variant: h0.variant.clone(),
        nodes: h0.nodes,
        rf: h0.rf,
        pairing: pairing(&h0.pairing).map_err(|e| MergeError::input(format!("{}: {e}", names[0])))?,
        cl: run.cl,
        workload: run.workload.clone(),
        writes: run.writes,
        keys: run.keys,
        crashes: u8::try_from(crashes).unwrap_or(u8::MAX),
        data_loss: 0,
        lossy: false,
        retries: 0,
        repairs: u8::try_from(repairs).unwrap_or(u8::MAX),
        replace_streaming: false,
        long_outages: false,
        view_repairs: 0,
        view_repair_anytime: false,
    };
    let mut header = TraceHeader::new(config, None);
    header.emitter = Some(format!("merged from {} per-node traces: {}", files.len(), h0.emitter));
    let lines = order
        .iter()
        .enumerate()
        .map(|(i, &e)| {
            let l = line(e);
            TraceLine {
                seq: i as u64 + 1,
                node: l.node.clone(),
                step: l.step.clone(),
                after: l.after.clone(),
            }
        })
        .collect();
    let origin = order
        .iter()
        .map(|&e| {
            let f = file_of(e);
            (f, files[f].lines[e - base[f]].0)
        })
        .collect();
    Ok(Merged {
        header,
        lines,
        origin,
        crashes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::obs::NodeObservation;
    use crate::trace::ClientObservation;
    use crate::{Msg, Statement, WriteId};

    fn header(node: &str, run: bool) -> NodeTraceHeader {
        NodeTraceHeader {
            format: NODE_TRACE_FORMAT.into(),
            version: 1,
            node: node.into(),
            variant: "cassandra-4.0".into(),
            nodes: 2,
            rf: 2,
            pairing: "self-first".into(),
            emitter: "test".into(),
            views: None,
            run: run.then(|| RunSpec {
                workload: "concurrent".into(),
                writes: 1,
                keys: 1,
                cl: Cl::One,
            }),
        }
    }

    /// A line of `node` at `lamport`: a delivery from `src` sent at `sent`, or a crash or a
    /// restart.
    fn step(node: &str, lamport: u64, what: &str, src: &str, sent: Option<u64>) -> NodeTraceLine {
        let msg = Msg::Write {
            write: WriteId(1),
            stmt: Statement::insert(0, Some(1), Some(1), 1),
            cl: Cl::One,
        };
        let step = match what {
            "crash" => Step::Crash { node: node.into() },
            "repair" => Step::Repair {
                node: node.into(),
                key: 0,
            },
            "recover" => Step::Recover { node: node.into() },
            _ => Step::Deliver {
                src: src.into(),
                dst: node.into(),
                msg,
            },
        };
        let after = if node.starts_with('c') {
            After::Client(ClientObservation { writes: vec![] })
        } else {
            After::Node(NodeObservation::default())
        };
        NodeTraceLine {
            seq: 0,
            node: node.into(),
            step,
            after,
            lamport,
            sent,
        }
    }

    fn file(node: &str, lines: Vec<NodeTraceLine>) -> NodeTrace {
        NodeTrace {
            header: header(node, node.starts_with('c')),
            lines: lines
                .into_iter()
                .enumerate()
                .map(|(i, mut l)| {
                    l.seq = i as u64 + 1;
                    (i + 2, l)
                })
                .collect(),
        }
    }

    fn names(files: &[NodeTrace]) -> Vec<String> {
        files.iter().map(|f| format!("trace-{}", f.header.node)).collect()
    }

    /// The merged order as "actor:kind@clock".
    fn order(files: &[NodeTrace]) -> Result<Vec<String>, MergeError> {
        let m = merge(files, &names(files))?;
        Ok(m.origin
            .iter()
            .map(|&(f, line)| {
                let l = &files[f].lines[line - 2].1;
                format!("{}:{}@{}", l.node, l.step.kind(), l.lamport)
            })
            .collect())
    }

    /// n1 crashes after sending at 2 (delivered at n0 late, at clock 8) and, restarted,
    /// receives what n0 sent at 9. The crash goes after the first delivery and before the
    /// second send, though its own clock (3) is smaller than both.
    #[test]
    fn a_crash_goes_after_its_old_messages_and_before_what_its_next_life_receives() {
        let files = vec![
            file(
                "n0",
                vec![
                    step("n0", 8, "deliver", "n1", Some(2)),
                    step("n0", 9, "deliver", "n0", None),
                ],
            ),
            file(
                "n1",
                vec![
                    step("n1", 2, "deliver", "n1", None),
                    step("n1", 3, "crash", "", None),
                    step("n1", 4, "recover", "", None),
                    step("n1", 10, "deliver", "n0", Some(9)),
                ],
            ),
            file("c0", vec![]),
        ];
        let o = order(&files).unwrap();
        assert_eq!(
            o,
            [
                "n1:Deliver@2",
                "n0:Deliver@8",
                "n1:Crash@3",
                "n1:Recover@4",
                "n0:Deliver@9",
                "n1:Deliver@10"
            ]
        );
        let m = merge(&files, &names(&files)).unwrap();
        assert_eq!(m.header.config.crashes, 1);
        assert_eq!(
            m.lines.iter().map(|l| l.seq).collect::<Vec<_>>(),
            (1..=6).collect::<Vec<_>>()
        );
    }

    /// Without anything after it, a crash goes last: a message sent to the dead process and
    /// never received is in flight when it crashes, and lost with it.
    #[test]
    fn a_crash_with_nothing_after_it_goes_as_late_as_it_can() {
        let files = vec![
            file(
                "n0",
                vec![
                    step("n0", 7, "deliver", "c0", Some(1)),
                    step("n0", 8, "deliver", "n0", None),
                ],
            ),
            file(
                "n1",
                vec![
                    step("n1", 1, "deliver", "n1", None),
                    step("n1", 2, "crash", "", None),
                    step("n1", 3, "recover", "", None),
                ],
            ),
            file("c0", vec![]),
        ];
        let o = order(&files).unwrap();
        assert_eq!(o[o.len() - 2..], ["n1:Crash@2", "n1:Recover@3"], "{o:?}");
    }

    /// A restart can send (it replays its commit log): when another node's next life
    /// receives that, the other node's crash and restart go first, and the sender's crash
    /// stays right before its restart.
    #[test]
    fn a_restart_that_sends_to_a_next_life_waits_for_that_life() {
        let files = vec![
            file(
                "n0",
                vec![
                    step("n0", 1, "deliver", "n0", None),
                    step("n0", 5, "crash", "", None),
                    step("n0", 6, "recover", "", None),
                    step("n0", 7, "deliver", "n1", Some(3)),
                ],
            ),
            file(
                "n1",
                vec![
                    step("n1", 1, "deliver", "n1", None),
                    step("n1", 2, "crash", "", None),
                    step("n1", 3, "recover", "", None),
                ],
            ),
            file("c0", vec![]),
        ];
        let o = order(&files).unwrap();
        let pos = |s: &str| o.iter().position(|x| x == s).unwrap();
        assert!(pos("n0:Recover@6") < pos("n1:Crash@2"), "{o:?}");
        assert_eq!(pos("n1:Crash@2") + 1, pos("n1:Recover@3"), "{o:?}");
    }

    /// A repair reads every replica, which no message says: it goes after every line it did
    /// not cause, whatever the clocks, and the header's budget counts it.
    #[test]
    fn a_repair_goes_after_every_line_it_did_not_cause() {
        let files = vec![
            file(
                "n0",
                vec![
                    step("n0", 9, "deliver", "n0", None),
                    step("n0", 12, "deliver", "n1", Some(5)),
                ],
            ),
            file(
                "n1",
                vec![step("n1", 4, "deliver", "n1", None), step("n1", 5, "repair", "", None)],
            ),
            file("c0", vec![]),
        ];
        let o = order(&files).unwrap();
        assert_eq!(o, ["n1:Deliver@4", "n0:Deliver@9", "n1:Repair@5", "n0:Deliver@12"]);
        assert_eq!(merge(&files, &names(&files)).unwrap().header.config.repairs, 1);
    }

    /// A repair waits for a crash that is ready too, whatever their clocks: the model repairs
    /// only replicas that are up with nothing in flight, and the crash loses what was.
    #[test]
    fn a_repair_goes_after_a_ready_crash() {
        let files = vec![
            file(
                "n0",
                vec![step("n0", 1, "deliver", "n0", None), step("n0", 2, "repair", "", None)],
            ),
            file(
                "n1",
                vec![
                    step("n1", 1, "deliver", "n1", None),
                    step("n1", 7, "crash", "", None),
                    step("n1", 8, "recover", "", None),
                ],
            ),
            file("c0", vec![]),
        ];
        let o = order(&files).unwrap();
        assert_eq!(o[2..], ["n1:Crash@7", "n1:Recover@8", "n0:Repair@2"]);
    }

    /// A message from the ended life delivered after the delivering node sent what the next
    /// life received leaves no place for the crash: a divergence, naming lines.
    #[test]
    fn a_crash_with_no_place_is_a_divergence() {
        let files = vec![
            file(
                "n0",
                vec![
                    step("n0", 5, "deliver", "n0", None),
                    step("n0", 9, "deliver", "n1", Some(2)),
                ],
            ),
            file(
                "n1",
                vec![
                    step("n1", 2, "deliver", "n1", None),
                    step("n1", 3, "crash", "", None),
                    step("n1", 4, "recover", "", None),
                    step("n1", 6, "deliver", "n0", Some(5)),
                ],
            ),
            file("c0", vec![]),
        ];
        let e = order(&files).unwrap_err();
        assert!(e.divergence && e.message.contains("no order"), "{e}");
        assert!(e.message.contains("trace-n1 line 3"), "{e}");
    }

    /// A message whose sender has no step at the clock it carries left from a step the
    /// sender never recorded (the runtime sent before it committed).
    #[test]
    fn a_message_from_an_unrecorded_step_is_a_divergence() {
        let files = vec![
            file("n0", vec![step("n0", 6, "deliver", "n1", Some(4))]),
            file(
                "n1",
                vec![
                    step("n1", 3, "deliver", "n1", None),
                    step("n1", 4, "crash", "", None),
                    step("n1", 5, "recover", "", None),
                ],
            ),
            file("c0", vec![]),
        ];
        let e = order(&files).unwrap_err();
        assert!(e.divergence && e.message.contains("never made durable"), "{e}");
        assert!(e.message.contains("trace-n0 line 2"), "{e}");
    }

    #[test]
    fn missing_files_other_rings_and_generated_clients_are_named() {
        let n0 = file("n0", vec![]);
        let n1 = file("n1", vec![]);
        let c0 = file("c0", vec![]);
        let e = order(&[n0.clone(), c0.clone()]).unwrap_err();
        assert!(!e.divergence && e.message.contains("no trace of n1"), "{e}");
        let e = order(&[n0.clone(), n1.clone()]).unwrap_err();
        assert!(e.message.contains("no client trace"), "{e}");
        let mut gen = c0.clone();
        gen.header.run = None;
        let e = order(&[n0.clone(), n1.clone(), gen]).unwrap_err();
        assert!(e.message.contains("generated writes"), "{e}");
        let mut other = n1.clone();
        other.header.rf = 1;
        let e = order(&[n0.clone(), other, c0.clone()]).unwrap_err();
        assert!(e.message.contains("RF 1"), "{e}");
        let e = order(&[n0.clone(), n0, n1, c0]).unwrap_err();
        assert!(e.message.contains("both traces of n0"), "{e}");
    }

    #[test]
    fn a_file_with_a_gap_a_clock_going_back_or_a_stranger_is_refused_by_line() {
        let h = serde_json::to_string(&header("n0", false)).unwrap();
        let l = |lamport: u64, seq: u64| {
            let mut s = step("n0", lamport, "deliver", "n0", None);
            s.seq = seq;
            serde_json::to_string(&s).unwrap()
        };
        let ok = format!("{h}\n{}\n{}\n", l(1, 1), l(2, 2));
        assert_eq!(read_node_trace(&ok).unwrap().lines.len(), 2);
        let e = read_node_trace(&format!("{h}\n{}\n{}\n", l(1, 1), l(2, 3))).unwrap_err();
        assert_eq!((e.line, e.message.contains("seq 3 where 2")), (3, true), "{e}");
        let e = read_node_trace(&format!("{h}\n{}\n{}\n", l(2, 1), l(2, 2))).unwrap_err();
        assert!(e.line == 3 && e.message.contains("does not pass"), "{e}");
        let mut s = step("n1", 1, "deliver", "n0", None);
        s.seq = 1;
        let e = read_node_trace(&format!("{h}\n{}\n", serde_json::to_string(&s).unwrap())).unwrap_err();
        assert!(e.line == 2 && e.message.contains("in the trace of n0"), "{e}");
        assert!(is_node_trace(&ok) && !is_node_trace("{\"format\":\"mvcheck-trace\"}"));
    }
}
