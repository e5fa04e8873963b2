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
//! clock after the step, and for a delivery `sent`, the clock its sender stamped on the
//! message. `seq` counts this node's steps only. [`mv_spec::node_trace::merge`] orders the
//! files by happens-before into one trace the model can replay.

pub mod client;
pub mod disk;
pub mod failpoint;
pub mod frame;
pub mod host;

pub use mv_spec::node_trace::{NodeTraceHeader, NodeTraceLine, RunSpec, NODE_TRACE_FORMAT};
