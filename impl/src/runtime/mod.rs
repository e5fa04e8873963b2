//! The node as a process: the sans-IO [`crate::node::Node`] behind TCP, a durable disk and
//! real timers. This is the one part of `mv-impl` that does I/O, and it is a thin shell: every
//! protocol decision stays in the core, and the shell only carries inputs in and outputs out.
//!
//! * [`frame`]: the wire, length-prefixed frames with a version byte;
//! * [`disk`]: the node's disk (redb), one atomic, durable transaction per step;
//! * [`host`]: the event loop that owns the node: deliveries, timers, the order
//!   "commit, then send", and the per-node trace;
//! * [`client`]: what talks to a node from outside: a client's write, a status request.
//!
//! **Traces of a cluster.** A process has no global step order, so each node writes its own
//! NDJSON trace ([`NodeTraceHeader`], then one [`NodeTraceLine`] per step). A line is
//! `specs/trace-format.md`'s step line with one field added, `lamport`: the node's Lamport
//! clock after the step. Every message carries its sender's clock, and a receiver's clock
//! passes it, so ordering every node's lines by `(lamport, node, seq)` respects
//! happens-before. `seq` counts this node's steps only; a merge renumbers.

pub mod client;
pub mod disk;
pub mod failpoint;
pub mod frame;
pub mod host;

use mv_spec::trace::{After, Step};
use serde::{Deserialize, Serialize};

/// The first line of a node's trace file: who wrote it and for what ring. The run's model
/// configuration (workload, consistency level, fault budgets) is not the node's to know; a
/// merge of the cluster's files writes the `mvcheck-trace` header.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeTraceHeader {
    /// Always `"mvcheck-node-trace"`.
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
}

/// The value of [`NodeTraceHeader::format`].
pub const NODE_TRACE_FORMAT: &str = "mvcheck-node-trace";

/// One step of one node (or client): `specs/trace-format.md`'s step line, plus the Lamport
/// clock.
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
}
