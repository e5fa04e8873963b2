//! A Stateright model of Apache Cassandra's materialized-view write path.
//!
//! # The protocol
//!
//! A client sends a write of the base table `t(k PRIMARY KEY, v, w)` to a node, which becomes
//! the write's **Coordinator**. The coordinator forwards the statement to every **BaseReplica**
//! of partition `k` and answers the client once as many have acked as the consistency level
//! asks (W1-W6). With the coordinator batchlog (`+coordinator-batchlog`) it first stores the
//! statement on a quorum of batchlog nodes, which replay it if the coordinator dies (W2, W7-W9).
//!
//! A base replica does its work in three steps, because Cassandra can interleave other work,
//! and a crash can fall, between them:
//!
//! 1. **Commit log** (B1-B2), on delivery of `BaseWrite`: take the partition lock, append to
//!    the commit log.
//! 2. **View updates** (B3-B7), the `Generate` timer: read the existing base row
//!    (read-before-write), compute the view updates (the new view row, plus the deletion of
//!    the old one when `v` changes), pair each with its **paired view replica** (by default
//!    Cassandra's rule: itself when it replicates the view partition, else by position; seed
//!    003's positional rule with `--pairing positional`), apply self-paired updates locally,
//!    write the others to the local batchlog and send them as `ViewWrite`.
//! 3. **Apply** (B8), the `ApplyBase` timer: apply the base mutation, release the lock, ack.
//!
//! A **ViewReplica** merges view mutations with last-write-wins and acks (V1-V2). The base
//! replica drops a batchlog entry once every paired view replica acked it (B9); otherwise the
//! replay timer hands the unacknowledged mutations to hints, delivered when the view replica
//! is up (B10-B11). A restarted node replays its commit log, regenerating view updates (R1-R3).
//! Once the write path has settled, anti-entropy repair (R4, the operator's `nodetool
//! repair`) streams to each base replica the parts of the merged row it lacks, through its
//! write path, so its view updates are generated as for any write. A node replaced after
//! a data loss streams each partition it replicates from one live replica (R5).
//!
//! The storage rules that decide what a view update contains differ between Cassandra 3.0
//! (shadowable tombstones) and 4.0 (expired liveness, strict liveness): see [`storage`] and
//! [`variant`].
//!
//! # The environment
//!
//! Messages are unordered and, with `--lossy`, up to `--drops` of them may be lost. Nodes
//! crash and restart (disk survives, memory and the messages in flight to and from them do
//! not) and may permanently lose their data; both are bounded. With `--long-outages` a node
//! may stay down past `max_hint_window`, and coordinators stop hinting it (W13). Timers fire
//! at any time their guards allow. See [`model`].
//!
//! # How long it takes
//!
//! [`bound`] computes K and T: the most steps, and the most time under Cassandra's
//! constants, that any fault-free run takes from the last fault and the last client write
//! to quiescence.
//!
//! # What is checked
//!
//! The properties of `specs/properties.md` (`mv_spec::props`), each `always` with a
//! `sometimes` witness, on quiescent states. Broken variants reproduce the known anomalies.
//!
//! # What is abstracted away
//!
//! One datacenter, a static ring (no range movements, so no pending endpoints), no read
//! repair, anti-entropy repair only at settled states and of base rows only, a replacement
//! that streams in the step of its data loss, no clock but one TTL deadline that a single
//! step moves every node past (an outage outlasts the hint window when a fault says so),
//! TTLs on `UPDATE`s only, tiny value domains, and client-chosen timestamps
//! (`specs/protocol.md`, "Abstracted away").

#![warn(missing_docs)]

pub mod actor;
pub mod bound;
pub mod model;
pub mod render;
pub mod repair;
pub mod search;
pub mod storage;
pub mod trace;
pub mod variant;
pub use mv_spec::workload;

pub use model::{is_always, Action, MvModel, State};
pub use variant::{Expected, Variant};
pub use workload::Workload;

use mv_spec::{Cl, Ring};

/// The configuration of a model, built with [`MvModelCfg::for_variant`] and turned into a
/// checkable model with [`MvModelCfg::into_model`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MvModelCfg {
    /// Which design.
    pub variant: Variant,
    /// Nodes, replication factor and pairing rule.
    pub ring: Ring,
    /// Consistency level of every write.
    pub cl: Cl,
    /// What the clients write.
    pub workload: Workload,
    /// How many node crashes a run may contain (each followed by a restart or not).
    pub crashes: u8,
    /// How many permanent data losses a run may contain.
    pub data_loss: u8,
    /// Whether the network may lose messages.
    pub lossy: bool,
    /// With `lossy`, how many messages a run may lose. Unbounded loss makes the state space
    /// infinite: a lost ack makes a hint be redelivered, and each redelivery writes a new
    /// local batchlog entry with a new id.
    pub drops: u8,
    /// How many times a client retries a write that timed out (C3).
    pub retries: u8,
    /// Anti-entropy repair budget (R4, `--repairs`; `--no-repair` is 0).
    pub repairs: u8,
    /// Whether a node replaced after data loss streams its partitions from live replicas
    /// (R5); `--no-replace-streaming` leaves it blank.
    pub replace_streaming: bool,
    /// Whether a crashed node may stay down past `max_hint_window`, after which no node
    /// writes it a base hint (`--long-outages`: W13).
    pub long_outages: bool,
    /// View-repair budget (R6 to R9, `--view-repairs`): how many partition view repairs a
    /// run may contain.
    pub view_repairs: u8,
    /// Whether a view repair may run while base or view writes are on the wire
    /// (`--view-repair-anytime`). Off, it runs between messages, when every write in
    /// progress is held by durable state (`specs/protocol.md`, R6): far fewer states.
    pub view_repair_anytime: bool,
    /// Whether a hint delivery waits while an earlier hint (or a base write a base hint
    /// stands for) to the same target is in flight. A bound for searches: without it the
    /// multiset of messages grows without end. Cassandra has no such wait, so a trace is
    /// replayed without it (`trace::model_config`), as it is without the drop budget.
    pub hint_resend_bound: bool,
}
