//! The trace schema: steps recorded by value, and the NDJSON implementation trace built from
//! them (see `specs/trace-format.md`).
//!
//! A step names actors as `n0`.. (nodes) and `c0`.. (clients), never by a checker's action
//! index, so a saved path stays meaningful across versions and tools.
//!
//! # NDJSON implementation traces
//!
//! An implementation run is recorded as one JSON object per line: a [`TraceHeader`] first,
//! then one [`TraceLine`] per step. The schema is language-neutral on purpose: it is plain
//! JSON with fixed field names, so any implementation (a patched Cassandra included) can
//! write it, and `mvcheck validate` replays it on the model.
//!
//! **One line is one model action.** A client request is not a step of its own. The model's
//! `Client` puts its first write on the wire when the run starts and each next one when it
//! receives the answer to the previous one; what the implementation records is the coordinator
//! *receiving* the request: a [`Step::Deliver`] from `c<i>` to `n<j>` carrying
//! [`Msg::Write`](crate::Msg::Write). The `Deliver` of a `WriteOk`/`WriteTimeout` to a client is
//! the step that sends that client's next write.
//!
//! Field order is the declaration order here, so one run always serializes to the same
//! bytes. Unknown fields are rejected, so a typo cannot pass silently.

use crate::obs::{NodeObservation, WriteRecord};
use crate::{Cl, Msg, Pairing, Timer};
use serde::{Deserialize, Serialize};
use std::fmt;

/// One step of a run: one model action, one implementation step.
///
/// Deserialization is written by hand: serde's derive for an internally tagged enum buffers
/// every step into an intermediate tree before it can look at `kind`, which made parsing the
/// slowest part of validation. Every field has the same type whatever the kind, so the
/// fields can be read as they come, in any order, and checked against `kind` at the end.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind")]
pub enum Step {
    /// A message is delivered.
    Deliver {
        /// Sender.
        src: String,
        /// Receiver.
        dst: String,
        /// The message.
        msg: Msg,
    },
    /// A message is lost.
    Drop {
        /// Sender.
        src: String,
        /// Receiver.
        dst: String,
        /// The message.
        msg: Msg,
    },
    /// A timer fires.
    Timeout {
        /// The node.
        node: String,
        /// The timer.
        timer: Timer,
    },
    /// A node crashes.
    Crash {
        /// The node.
        node: String,
    },
    /// A node restarts.
    Recover {
        /// The node.
        node: String,
    },
    /// A node loses its data for good.
    DataLoss {
        /// The node.
        node: String,
    },
    /// Anti-entropy repair of partition `key`, run from `node` (the operator's
    /// `nodetool repair`): every base replica that lacks part of the merged row receives it
    /// through its write path (rule R4).
    Repair {
        /// The node that runs the repair: the first base replica of `key`.
        node: String,
        /// The partition.
        key: crate::Key,
    },
    /// Node `node`, down, has been down longer than `max_hint_window`: from now until it
    /// restarts, no coordinator writes a base hint for it (`--long-outages`, rule W13).
    HintWindow {
        /// The node that is down.
        node: String,
    },
    /// View repair of partition `key`, run from `node` (`mvcheck repair`, rules R6 to R9):
    /// base writes only the view still holds go back through the write path, and every view
    /// replica gets the view rows and deletions derived from the base.
    ViewRepair {
        /// The node that runs the repair: the first base replica of `key`.
        node: String,
        /// The partition.
        key: crate::Key,
    },
    /// The clock passes the TTL deadline on every node at once (a workload that writes
    /// `USING TTL`, rule `expire`): every TTL'd cell, and every view marker derived from one,
    /// reads as dead from now on. Nothing is written. No node takes the step; its trace
    /// line observes `n0`, the one node every configuration has.
    Expire {
        /// The node the trace line observes: always `n0`.
        node: String,
    },
}

impl Step {
    /// The step's kind, as ITF's `mbt::actionTaken`.
    pub fn kind(&self) -> &'static str {
        match self {
            Step::Deliver { .. } => "Deliver",
            Step::Drop { .. } => "Drop",
            Step::Timeout { .. } => "Timeout",
            Step::Crash { .. } => "Crash",
            Step::Recover { .. } => "Recover",
            Step::DataLoss { .. } => "DataLoss",
            Step::Repair { .. } => "Repair",
            Step::HintWindow { .. } => "HintWindow",
            Step::ViewRepair { .. } => "ViewRepair",
            Step::Expire { .. } => "Expire",
        }
    }

    /// The actor a trace line about this step observes: the receiver of a delivery (or of
    /// a dropped message, whose state the drop leaves as it was), otherwise the node that
    /// takes the step, or, for a hint window, the node that is down.
    pub fn actor(&self) -> &str {
        match self {
            Step::Deliver { dst, .. } | Step::Drop { dst, .. } => dst,
            Step::Timeout { node, .. }
            | Step::Crash { node }
            | Step::Recover { node }
            | Step::DataLoss { node }
            | Step::HintWindow { node }
            | Step::Expire { node }
            | Step::Repair { node, .. }
            | Step::ViewRepair { node, .. } => node,
        }
    }
}

impl<'de> Deserialize<'de> for Step {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Step, D::Error> {
        d.deserialize_map(StepVisitor)
    }
}

const STEP_KINDS: &[&str] = &[
    "Deliver",
    "Drop",
    "Timeout",
    "Crash",
    "Recover",
    "DataLoss",
    "Repair",
    "HintWindow",
    "ViewRepair",
    "Expire",
];
const STEP_FIELDS: &[&str] = &["kind", "src", "dst", "msg", "node", "timer", "key"];

/// A key of a step object, read without allocating.
enum StepField {
    Kind,
    Src,
    Dst,
    Msg,
    Node,
    Timer,
    Key,
}

impl<'de> Deserialize<'de> for StepField {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<StepField, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = StepField;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a step field")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<StepField, E> {
                Ok(match v {
                    "kind" => StepField::Kind,
                    "src" => StepField::Src,
                    "dst" => StepField::Dst,
                    "msg" => StepField::Msg,
                    "node" => StepField::Node,
                    "timer" => StepField::Timer,
                    "key" => StepField::Key,
                    other => return Err(E::unknown_field(other, STEP_FIELDS)),
                })
            }
        }
        d.deserialize_identifier(V)
    }
}

struct StepVisitor;

impl<'de> serde::de::Visitor<'de> for StepVisitor {
    type Value = Step;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a step object with a \"kind\"")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Step, A::Error> {
        use serde::de::Error;
        fn once<T, E: Error>(slot: &mut Option<T>, field: &'static str, v: T) -> Result<(), E> {
            if slot.replace(v).is_some() {
                return Err(E::duplicate_field(field));
            }
            Ok(())
        }
        let (mut kind, mut src, mut dst, mut msg, mut node, mut timer, mut partition) = (
            None::<String>,
            None::<String>,
            None::<String>,
            None::<Msg>,
            None::<String>,
            None::<Timer>,
            None::<crate::Key>,
        );
        while let Some(key) = map.next_key::<StepField>()? {
            match key {
                StepField::Kind => once(&mut kind, "kind", map.next_value()?)?,
                StepField::Src => once(&mut src, "src", map.next_value()?)?,
                StepField::Dst => once(&mut dst, "dst", map.next_value()?)?,
                StepField::Msg => once(&mut msg, "msg", map.next_value()?)?,
                StepField::Node => once(&mut node, "node", map.next_value()?)?,
                StepField::Timer => once(&mut timer, "timer", map.next_value()?)?,
                StepField::Key => once(&mut partition, "key", map.next_value()?)?,
            }
        }
        let kind = kind.ok_or_else(|| A::Error::missing_field("kind"))?;
        let need = |v: Option<String>, f: &'static str| v.ok_or_else(|| A::Error::missing_field(f));
        // A field that belongs to another kind is as wrong as an unknown one.
        let only = |allowed: &[&str]| -> Result<(), A::Error> {
            let present = [
                ("src", src.is_some()),
                ("dst", dst.is_some()),
                ("msg", msg.is_some()),
                ("node", node.is_some()),
                ("timer", timer.is_some()),
                ("key", partition.is_some()),
            ];
            match present.iter().find(|(f, p)| *p && !allowed.contains(f)) {
                Some((f, _)) => {
                    let a = if kind.starts_with(['A', 'E', 'I', 'O', 'U']) {
                        "an"
                    } else {
                        "a"
                    };
                    Err(A::Error::custom(format!("{a} {kind} step has no field `{f}`")))
                }
                None => Ok(()),
            }
        };
        match kind.as_str() {
            "Deliver" | "Drop" => {
                only(&["src", "dst", "msg"])?;
                let (src, dst) = (need(src, "src")?, need(dst, "dst")?);
                let msg = msg.ok_or_else(|| A::Error::missing_field("msg"))?;
                Ok(if kind == "Deliver" {
                    Step::Deliver { src, dst, msg }
                } else {
                    Step::Drop { src, dst, msg }
                })
            }
            "Timeout" => {
                only(&["node", "timer"])?;
                let timer = timer.ok_or_else(|| A::Error::missing_field("timer"))?;
                Ok(Step::Timeout {
                    node: need(node, "node")?,
                    timer,
                })
            }
            "Crash" | "Recover" | "DataLoss" | "HintWindow" | "Expire" => {
                only(&["node"])?;
                let node = need(node, "node")?;
                Ok(match kind.as_str() {
                    "Crash" => Step::Crash { node },
                    "Recover" => Step::Recover { node },
                    "HintWindow" => Step::HintWindow { node },
                    "Expire" => Step::Expire { node },
                    _ => Step::DataLoss { node },
                })
            }
            "Repair" | "ViewRepair" => {
                only(&["node", "key"])?;
                let key = partition.ok_or_else(|| A::Error::missing_field("key"))?;
                let node = need(node, "node")?;
                Ok(if kind == "Repair" {
                    Step::Repair { node, key }
                } else {
                    Step::ViewRepair { node, key }
                })
            }
            other => Err(A::Error::unknown_variant(other, STEP_KINDS)),
        }
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::Deliver { src, dst, msg } => write!(f, "{src} -> {dst} {msg}"),
            Step::Drop { src, dst, msg } => write!(f, "{src} -x {dst} {msg} (lost)"),
            Step::Timeout { node, timer } => write!(f, "{node} timer {timer}"),
            Step::Crash { node } => write!(f, "{node} crashes"),
            Step::Recover { node } => write!(f, "{node} restarts"),
            Step::DataLoss { node } => write!(f, "{node} loses its data"),
            Step::Repair { node, key } => write!(f, "{node} repairs k={key}"),
            Step::HintWindow { node } => write!(f, "{node} stays down past max_hint_window"),
            Step::ViewRepair { node, key } => write!(f, "{node} view-repairs k={key}"),
            Step::Expire { node } => write!(f, "the clock passes the TTL deadline (observed on {node})"),
        }
    }
}

/// The value of [`TraceHeader::format`].
pub const FORMAT: &str = "mvcheck-trace";
/// The schema version this crate writes. 4 added `Expire` steps and the `ttl` flags of
/// statements, cells and markers; a version-3 trace has none of them and reads as it is.
pub const VERSION: u32 = 4;

/// The oldest schema version this crate reads.
pub const OLDEST_READ: u32 = 3;

/// The first line of an NDJSON trace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TraceHeader {
    /// Always [`FORMAT`].
    pub format: String,
    /// [`VERSION`] for traces this crate writes; it reads [`OLDEST_READ`] to [`VERSION`].
    pub version: u32,
    /// The model configuration the run is an instance of.
    pub config: TraceConfig,
    /// The variant's name; equal to `config.variant` (it is repeated so that a reader sees
    /// the design before the details).
    pub variant: String,
    /// The scheduler seed of a simulated run, if there was one.
    pub seed: Option<u64>,
    /// Who wrote the trace (`"mv-impl 0.1.0"`, `"cassandra 4.1.3+trace"`); free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emitter: Option<String>,
}

impl TraceHeader {
    /// A header for `config`.
    pub fn new(config: TraceConfig, seed: Option<u64>) -> Self {
        TraceHeader {
            format: FORMAT.to_string(),
            version: VERSION,
            variant: config.variant.clone(),
            config,
            seed,
            emitter: None,
        }
    }
}

/// The whole model configuration, with the fields and spellings of the ITF `#meta.config`.
/// Names (`variant`, `workload`) stay strings here, so that an unknown one is reported as such
/// by whoever builds a run from the header, with [`crate::variant::Variant::from_name`] and
/// [`crate::workload::Workload::from_name`], rather than as a malformed line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TraceConfig {
    /// Variant name, as on the command line (`cassandra-4.0`).
    pub variant: String,
    /// Number of nodes.
    pub nodes: u8,
    /// Replication factor.
    pub rf: u8,
    /// `"self-first"` or `"positional"`.
    #[serde(with = "pairing_name")]
    pub pairing: Pairing,
    /// `"ONE"`, `"QUORUM"` or `"ALL"`.
    #[serde(with = "cl_name")]
    pub cl: Cl,
    /// Workload name (`concurrent`, `switch-back`, ...).
    pub workload: String,
    /// Size of the `concurrent` workload; a scripted workload's length.
    pub writes: u8,
    /// Keys of the `concurrent` workload; 1 for a scripted one.
    pub keys: u8,
    /// Crash budget.
    pub crashes: u8,
    /// Data-loss budget.
    pub data_loss: u8,
    /// Whether messages may be dropped.
    pub lossy: bool,
    /// How many times a client retries a write that timed out (C3); absent means 0, as in
    /// traces written before retries existed.
    #[serde(default)]
    pub retries: u8,
    /// Anti-entropy repair budget (rule R4); absent means 0, as in traces written before
    /// repair existed.
    #[serde(default)]
    pub repairs: u8,
    /// Whether a replacement after data loss streams its partitions from live replicas (rule
    /// R5); absent means false, the blank replacement of traces written before streaming
    /// existed.
    #[serde(default)]
    pub replace_streaming: bool,
    /// Whether an outage may outlast `max_hint_window` (`--long-outages`); absent means
    /// false, as in traces written before the hint window existed.
    #[serde(default)]
    pub long_outages: bool,
    /// View-repair budget (rules R6 to R9); absent means 0, as in traces written before view
    /// repair existed.
    #[serde(default)]
    pub view_repairs: u8,
    /// Whether a view repair may run while base or view writes are on the wire; absent
    /// means false (R6's default: between messages).
    #[serde(default)]
    pub view_repair_anytime: bool,
}

/// A step line: what happened, and what the observed actor looks like afterwards.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TraceLine {
    /// The step's number in the run, from 1, counting every step, recorded or not; strictly
    /// increasing. A gap of `g` means `g` steps without a line (strict validation rejects it,
    /// `--partial` searches for them).
    pub seq: u64,
    /// The observed actor: always `step.actor()`.
    pub node: String,
    /// The step, by value.
    pub step: Step,
    /// `node`'s observation after the step.
    pub after: After,
}

/// An actor's observation after a step: `{"node": {...}}` for a node, `{"client": {...}}`
/// for a client.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum After {
    /// A node's disk and whether it is up.
    Node(NodeObservation),
    /// What a client knows about its writes.
    Client(ClientObservation),
}

/// What a client knows: each of its writes, in the order it sends them, with its outcome.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientObservation {
    /// The client's writes.
    pub writes: Vec<WriteRecord>,
}

/// A trace read from NDJSON: the header and the step lines, each with its 1-based line
/// number in the file (the header is line 1 unless blank lines precede it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trace {
    /// The header.
    pub header: TraceHeader,
    /// The steps, in file order.
    pub lines: Vec<TraceLine>,
    /// `line_numbers[i]` is the file line of `lines[i]`.
    pub line_numbers: Vec<usize>,
}

/// A malformed trace: which line, and what is wrong with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceError {
    /// 1-based line number in the file.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for TraceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for TraceError {}

/// One value as a single NDJSON line, without the newline.
pub fn to_line<T: Serialize>(value: &T) -> String {
    // These types hold only strings, numbers, bools, sequences and structs with string
    // field names, for which serde_json cannot fail.
    serde_json::to_string(value).expect("trace values always serialize to JSON")
}

/// Writes a whole trace as NDJSON.
pub fn write<W: std::io::Write>(mut w: W, header: &TraceHeader, lines: &[TraceLine]) -> std::io::Result<()> {
    writeln!(w, "{}", to_line(header))?;
    for l in lines {
        writeln!(w, "{}", to_line(l))?;
    }
    Ok(())
}

/// A whole trace as an NDJSON string.
pub fn to_ndjson(header: &TraceHeader, lines: &[TraceLine]) -> String {
    let mut out = Vec::new();
    write(&mut out, header, lines).expect("writing to a Vec cannot fail");
    String::from_utf8(out).expect("serde_json writes UTF-8")
}

fn json_error(e: serde_json::Error) -> String {
    format!("{e}")
}

/// Parses and checks a header line: format name, version, and that the variant is repeated
/// consistently. Whether the configuration is one the model can build is the model's call.
pub fn parse_header(text: &str) -> Result<TraceHeader, String> {
    let h: TraceHeader = serde_json::from_str(text).map_err(|e| format!("not a trace header: {}", json_error(e)))?;
    if h.format != FORMAT {
        return Err(format!("format is {:?}, expected {FORMAT:?}", h.format));
    }
    if !(OLDEST_READ..=VERSION).contains(&h.version) {
        return Err(format!(
            "format version {} is not supported (this build reads versions {OLDEST_READ} to {VERSION})",
            h.version
        ));
    }
    if h.variant != h.config.variant {
        return Err(format!(
            "variant {:?} differs from config.variant {:?}",
            h.variant, h.config.variant
        ));
    }
    Ok(h)
}

/// Parses and checks a step line: `node` must be the actor the step observes, and `after`
/// must be a node's observation for a node (`n..`) and a client's for a client (`c..`).
pub fn parse_line(text: &str) -> Result<TraceLine, String> {
    let l: TraceLine = serde_json::from_str(text).map_err(json_error)?;
    if l.node != l.step.actor() {
        return Err(format!(
            "node is {:?} but the step ({}) observes {:?}",
            l.node,
            l.step,
            l.step.actor()
        ));
    }
    let ok = match &l.after {
        After::Node(_) => l.node.starts_with('n'),
        After::Client(_) => l.node.starts_with('c'),
    };
    if !ok {
        let what = match l.after {
            After::Node(_) => "a node's",
            After::Client(_) => "a client's",
        };
        return Err(format!("after holds {what} observation, but {:?} is not one", l.node));
    }
    Ok(l)
}

/// Reads a whole NDJSON trace. Blank lines are skipped; `seq` must increase strictly.
pub fn read(text: &str) -> Result<Trace, TraceError> {
    let mut header = None;
    let mut lines = Vec::new();
    let mut line_numbers = Vec::new();
    let mut last_seq: Option<u64> = None;
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        if raw.trim().is_empty() {
            continue;
        }
        let err = |message: String| TraceError { line, message };
        if header.is_none() {
            header = Some(parse_header(raw).map_err(err)?);
            continue;
        }
        let l = parse_line(raw).map_err(err)?;
        if let Some(prev) = last_seq {
            if l.seq <= prev {
                return Err(err(format!(
                    "seq {} does not increase (previous line has {prev})",
                    l.seq
                )));
            }
        }
        last_seq = Some(l.seq);
        lines.push(l);
        line_numbers.push(line);
    }
    let header = header.ok_or(TraceError {
        line: 1,
        message: "empty trace: no header line".into(),
    })?;
    Ok(Trace {
        header,
        lines,
        line_numbers,
    })
}

pub(crate) mod pairing_name {
    use crate::Pairing;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(p: &Pairing, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(match p {
            Pairing::SelfFirst => "self-first",
            Pairing::Positional => "positional",
        })
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Pairing, D::Error> {
        match String::deserialize(d)?.as_str() {
            "self-first" => Ok(Pairing::SelfFirst),
            "positional" => Ok(Pairing::Positional),
            other => Err(serde::de::Error::custom(format!(
                "pairing {other:?} is unknown (expected \"self-first\" or \"positional\")"
            ))),
        }
    }
}

pub(crate) mod cl_name {
    use crate::Cl;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(c: &Cl, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(c.name())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Cl, D::Error> {
        match String::deserialize(d)?.as_str() {
            "ONE" => Ok(Cl::One),
            "QUORUM" => Ok(Cl::Quorum),
            "ALL" => Ok(Cl::All),
            other => Err(serde::de::Error::custom(format!(
                "cl {other:?} is unknown (expected \"ONE\", \"QUORUM\" or \"ALL\")"
            ))),
        }
    }
}

/// Maps serialized as lists of `[key, value]` pairs: JSON object keys must be strings, and
/// view keys are records. The order is the map's, so the output stays deterministic.
pub(crate) mod entries {
    use serde::de::{SeqAccess, Visitor};
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use std::collections::BTreeMap;
    use std::fmt;
    use std::marker::PhantomData;

    pub fn serialize<K: Serialize, V: Serialize, S: Serializer>(m: &BTreeMap<K, V>, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(m.iter())
    }

    pub fn deserialize<'de, K, V, D>(d: D) -> Result<BTreeMap<K, V>, D::Error>
    where
        K: Deserialize<'de> + Ord,
        V: Deserialize<'de>,
        D: Deserializer<'de>,
    {
        d.deserialize_seq(Pairs(PhantomData))
    }

    /// Reads the pairs straight into the map, without an intermediate list.
    struct Pairs<K, V>(PhantomData<(K, V)>);

    impl<'de, K: Deserialize<'de> + Ord, V: Deserialize<'de>> Visitor<'de> for Pairs<K, V> {
        type Value = BTreeMap<K, V>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a list of [key, value] pairs")
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<BTreeMap<K, V>, A::Error> {
            let mut m = BTreeMap::new();
            while let Some((k, v)) = seq.next_element::<(K, V)>()? {
                if m.insert(k, v).is_some() {
                    return Err(serde::de::Error::custom("a key appears twice"));
                }
            }
            Ok(m)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::obs::{Outcome, WriteRecord};
    use crate::{BaseRow, BatchId, Cell, Liveness, NodeId, Statement, ViewKey, ViewRow, WriteId};

    fn config() -> TraceConfig {
        TraceConfig {
            variant: "cassandra-4.0".into(),
            nodes: 3,
            rf: 3,
            pairing: Pairing::SelfFirst,
            cl: Cl::Quorum,
            workload: "concurrent".into(),
            writes: 2,
            keys: 1,
            crashes: 1,
            data_loss: 0,
            lossy: false,
            retries: 0,
            repairs: 0,
            replace_streaming: true,
            long_outages: false,
            view_repairs: 0,
            view_repair_anytime: false,
        }
    }

    fn node_line() -> TraceLine {
        let mut obs = NodeObservation {
            up: true,
            ..Default::default()
        };
        obs.base.insert(
            0,
            BaseRow {
                marker: Some(1),
                v: Some(Cell::new(1, Some(1))),
                ..Default::default()
            },
        );
        obs.view.insert(
            ViewKey { v: 1, k: 0 },
            ViewRow {
                marker: Some(Liveness::live(1)),
                ..Default::default()
            },
        );
        let batch = BatchId {
            origin: NodeId(0),
            seq: 0,
        };
        let m = crate::ViewMutation {
            key: ViewKey { v: 1, k: 0 },
            row: ViewRow {
                marker: Some(Liveness::live(1)),
                ..Default::default()
            },
        };
        obs.batchlog.push(crate::obs::BatchlogEntry {
            batch,
            pending: vec![(NodeId(1), vec![m])],
        });
        obs.hints.push(crate::obs::Hint {
            target: NodeId(1),
            batch,
            mutations: vec![m],
        });
        obs.base_hints.push(crate::obs::BaseHint {
            target: NodeId(2),
            write: WriteId(1),
            stmt: Statement::insert(0, Some(1), Some(1), 1),
        });
        obs.commitlog.push(crate::obs::CommitLogEntry {
            write: WriteId(1),
            stmt: Statement::insert(0, Some(1), Some(1), 1),
            reply_to: NodeId(0),
        });
        TraceLine {
            seq: 1,
            node: "n0".into(),
            step: Step::Deliver {
                src: "c0".into(),
                dst: "n0".into(),
                msg: Msg::Write {
                    write: WriteId(1),
                    stmt: Statement::insert(0, Some(1), Some(1), 1),
                    cl: Cl::Quorum,
                },
            },
            after: After::Node(obs),
        }
    }

    fn client_line() -> TraceLine {
        TraceLine {
            seq: 7,
            node: "c0".into(),
            step: Step::Deliver {
                src: "n0".into(),
                dst: "c0".into(),
                msg: Msg::WriteOk { write: WriteId(1) },
            },
            after: After::Client(ClientObservation {
                writes: vec![WriteRecord {
                    write: WriteId(1),
                    stmt: Statement::insert(0, Some(1), Some(1), 1),
                    cl: Cl::Quorum,
                    outcome: Outcome::Ok,
                }],
            }),
        }
    }

    #[test]
    fn a_trace_survives_the_round_trip_byte_for_byte() {
        let header = TraceHeader::new(config(), Some(42));
        let lines = vec![node_line(), client_line()];
        let text = to_ndjson(&header, &lines);
        assert_eq!(text.lines().count(), 3);
        let back = read(&text).unwrap();
        assert_eq!(back.header, header);
        assert_eq!(back.lines, lines);
        assert_eq!(back.line_numbers, vec![2, 3]);
        assert_eq!(to_ndjson(&back.header, &back.lines), text);
    }

    #[test]
    fn the_wire_format_is_the_documented_one() {
        let h = to_line(&TraceHeader::new(config(), None));
        assert_eq!(
            h,
            r#"{"format":"mvcheck-trace","version":4,"config":{"variant":"cassandra-4.0","nodes":3,"rf":3,"pairing":"self-first","cl":"QUORUM","workload":"concurrent","writes":2,"keys":1,"crashes":1,"data_loss":0,"lossy":false,"retries":0,"repairs":0,"replace_streaming":true,"long_outages":false,"view_repairs":0,"view_repair_anytime":false},"variant":"cassandra-4.0","seed":null}"#
        );
        // Version 3 differs only by what it cannot hold (no `Expire`, no `ttl`): it reads.
        let v3 = h.replace("\"version\":4", "\"version\":3");
        assert_eq!(parse_header(&v3).expect("a version-3 header reads").version, 3);
        // A header written before retries existed still reads, as no retries.
        let old = h.replace(r#","retries":0"#, "");
        let back: TraceHeader = serde_json::from_str(&old).expect("an old header parses");
        assert_eq!(back.config.retries, 0);
        // One written before replacement streaming existed replaced nodes blank.
        let old = h.replace(r#","replace_streaming":true"#, "");
        let back: TraceHeader = serde_json::from_str(&old).expect("an old header parses");
        assert!(!back.config.replace_streaming);
        let l = to_line(&node_line());
        assert!(l.starts_with(r#"{"seq":1,"node":"n0","step":{"kind":"Deliver","src":"c0","dst":"n0","msg":{"Write":"#));
        assert!(l.contains(r#""after":{"node":{"up":true,"base":[[0,{"marker":1,"deletion":null,"v":{"ts":1,"value":1},"w":null}]],"view":[[{"v":1,"k":0},"#));
        assert!(l.contains(r#""batchlog":[{"batch":{"origin":0,"seq":0},"pending":[[1,[{"key":{"v":1,"k":0},"row":{"marker":{"ts":1,"expired":false},"deletion":null,"shadowable":null,"w":null}}]]]}]"#));
        assert!(l.contains(r#""hints":[{"target":1,"batch":{"origin":0,"seq":0},"mutations":[{"key":{"v":1,"k":0},"#));
        assert!(l.contains(r#""base_hints":[{"target":2,"write":1,"stmt":{"k":0,"ts":1,"insert":true,"#));
        assert!(l.contains(r#""commitlog":[{"write":1,"stmt":{"k":0,"ts":1,"insert":true,"delete":false,"v":{"Set":1},"w":{"Set":1}},"reply_to":0}],"coord_batchlog":[]"#));
    }

    #[test]
    fn malformed_lines_name_the_line_and_the_problem() {
        let header = to_line(&TraceHeader::new(config(), None));
        let good = to_line(&node_line());
        let cases = [
            (String::new(), 1, "no header"),
            ("{".to_string(), 1, "not a trace header"),
            (header.replace("mvcheck-trace", "other"), 1, "format is \"other\""),
            (header.replace("\"version\":4", "\"version\":9"), 1, "version 9"),
            (header.replace("\"version\":4", "\"version\":2"), 1, "versions 3 to 4"),
            (header.replace("QUORUM", "TWO"), 1, "cl \"TWO\" is unknown"),
            (
                header.replace("\"seed\":null", "\"seed\":null,\"extra\":1"),
                1,
                "unknown field `extra`",
            ),
            (
                header.replace("\"variant\":\"cassandra-4.0\",\"seed\"", "\"variant\":\"x\",\"seed\""),
                1,
                "differs",
            ),
            (format!("{header}\n{good}\n{good}"), 3, "seq 1 does not increase"),
            (
                format!("{header}\n\n{}", good.replace("\"node\":\"n0\"", "\"node\":\"n1\"")),
                3,
                "observes \"n0\"",
            ),
            (
                format!("{header}\n{}", good.replace("\"Deliver\"", "\"Teleport\"")),
                2,
                "Teleport",
            ),
            (format!("{header}\n{good}\nnot json"), 3, "expected"),
        ];
        for (text, line, needle) in cases {
            let e = read(&text).expect_err(&text);
            assert_eq!(e.line, line, "{text}: {e}");
            assert!(e.to_string().contains(needle), "{e} lacks {needle:?}");
        }
    }

    #[test]
    fn steps_parse_in_any_field_order_and_reject_what_their_kind_lacks() {
        let steps = [
            node_line().step,
            Step::Drop {
                src: "n0".into(),
                dst: "n1".into(),
                msg: Msg::WriteOk { write: WriteId(2) },
            },
            Step::Timeout {
                node: "n2".into(),
                timer: crate::Timer::ApplyBase(WriteId(1)),
            },
            Step::Crash { node: "n0".into() },
            Step::Recover { node: "n0".into() },
            Step::DataLoss { node: "n1".into() },
            Step::Expire { node: "n0".into() },
        ];
        for s in steps {
            let text = to_line(&s);
            assert!(text.starts_with(&format!("{{\"kind\":\"{}\"", s.kind())), "{text}");
            assert_eq!(serde_json::from_str::<Step>(&text).unwrap(), s);
            // `kind` last: another emitter's order.
            let moved = format!(
                "{{{},\"kind\":\"{}\"}}",
                &text[text.find(',').unwrap() + 1..text.len() - 1],
                s.kind()
            );
            assert_eq!(serde_json::from_str::<Step>(&moved).unwrap(), s, "{moved}");
        }
        let bad = [
            (r#"{"kind":"Crash"}"#, "missing field `node`"),
            (r#"{"node":"n0"}"#, "missing field `kind`"),
            (
                r#"{"kind":"Crash","node":"n0","timer":{"ApplyBase":1}}"#,
                "a Crash step has no field `timer`",
            ),
            (r#"{"kind":"Crash","node":"n0","node":"n1"}"#, "duplicate field `node`"),
            (r#"{"kind":"Crash","nod":"n0"}"#, "unknown field `nod`"),
            (r#"{"kind":"Warp","node":"n0"}"#, "unknown variant `Warp`"),
            (r#"{"kind":"Deliver","src":"c0","dst":"n0"}"#, "missing field `msg`"),
            (r#"["Crash","n0"]"#, "a step object"),
            (
                r#"{"kind":"Expire","node":"n0","key":0}"#,
                "an Expire step has no field `key`",
            ),
        ];
        for (text, needle) in bad {
            let e = serde_json::from_str::<Step>(text).unwrap_err().to_string();
            assert!(e.contains(needle), "{text}: {e}");
        }
    }

    #[test]
    fn after_must_match_the_kind_of_actor() {
        let header = to_line(&TraceHeader::new(config(), None));
        let mut l = client_line();
        l.after = node_line().after;
        let e = read(&format!("{header}\n{}", to_line(&l))).unwrap_err();
        assert!(e.message.contains("a node's observation"), "{e}");
    }

    #[test]
    fn duplicate_map_keys_are_rejected() {
        let header = to_line(&TraceHeader::new(config(), None));
        let l = to_line(&node_line());
        let row = r#"[0,{"marker":1,"deletion":null,"v":{"ts":1,"value":1},"w":null}]"#;
        let dup = l.replace(row, &format!("{row},{row}"));
        assert_ne!(dup, l);
        let e = read(&format!("{header}\n{dup}")).unwrap_err();
        assert!(e.message.contains("a key appears twice"), "{e}");
    }
}
