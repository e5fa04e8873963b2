//! The shared vocabulary of mvcheck.
//!
//! Both the model (`mv-model`) and the reference implementation (`mv-impl`) speak this
//! vocabulary, and nothing else crosses between them. It holds what is *definitional* about
//! Cassandra's materialized-view write path:
//!
//! * ids and small domains ([`NodeId`], [`WriteId`], [`BatchId`], [`Key`], [`Val`], [`Ts`]);
//! * the schema's data: [`Cell`], [`Liveness`], [`BaseRow`], [`ViewRow`], [`ViewKey`];
//! * the client statements and the mutations that travel between nodes ([`Statement`],
//!   [`ViewMutation`]) and the messages and timers that carry them ([`Msg`], [`Timer`]);
//! * the ring and the paired-view-replica rule ([`Ring`]);
//! * the read semantics that define what a row *is* once reconciled ([`merge_base`],
//!   [`BaseRow::resolve`], [`ViewRow::resolve`], [`derive_view`]);
//! * observations and the property predicates of `specs/properties.md` ([`obs`], [`props`]);
//! * the variants: each one's design choices, default configuration and expected verdicts,
//!   one row per variant ([`variant`]).
//!
//! **Architecture Invariant:** what a role *does* on a message (view-update generation,
//! batchlog handling, acking) is never here. It is written twice, once in the model and once
//! in the implementation, so that trace testing compares two independent readings of the
//! protocol instead of one piece of code with itself.
//!
//! The schema is fixed, as in the issue that started the project:
//!
//! ```text
//! CREATE TABLE t (k int PRIMARY KEY, v int, w int);
//! CREATE MATERIALIZED VIEW mv AS SELECT k, v, w FROM t
//!     WHERE v IS NOT NULL AND k IS NOT NULL PRIMARY KEY (v, k);
//! ```
//!
//! The view key contains `v`, a *regular* column of the base: the hard case, where an update
//! can move a base row from one view row to another.

#![warn(missing_docs)]

pub mod node_trace;
pub mod obs;
pub mod props;
mod ring;
pub mod rng;
mod rows;
pub mod rule;
pub mod timing;
pub mod trace;
pub mod variant;
pub mod verify;
pub mod workload;

pub use ring::{Pairing, Ring};
pub use rows::{derive_view, merge_base, merge_view, BaseRow, Cell, Liveness, ReadRules, ResolvedBase, ViewRow};

use serde::{Deserialize, Serialize};
use std::fmt;

/// A write timestamp (`USING TIMESTAMP`), chosen by the client so that runs are deterministic.
pub type Ts = u8;
/// A value of column `v` or `w`. Domains are tiny on purpose: the model enumerates them.
pub type Val = u8;
/// A base partition key (`k`).
pub type Key = u8;

/// A storage node. Every node plays the three server roles: `Coordinator`, `BaseReplica` and
/// `ViewReplica`. Displayed as `n0`, `n1`, ...
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct NodeId(pub u8);

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "n{}", self.0)
    }
}

/// One attempt of a client write. The workload numbers its writes 1.. (at most
/// [`WriteId::ATTEMPT_STRIDE`] - 1 of them); a client's retry of write `w` (C3) is a new
/// request with the same statement and timestamp, and gets its own id, `w` plus the stride
/// per retry, because Cassandra's coordinator treats it as a new request: the first attempt's
/// late acks must not count for it. The id names the attempt everywhere: in the coordinator,
/// in the base replicas' commit logs and in coordinator batchlog entries. Displayed as `w1`,
/// and `w1r1` for its first retry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct WriteId(pub u8);

impl WriteId {
    /// The distance between the ids of two attempts of one write.
    pub const ATTEMPT_STRIDE: u8 = 32;
    /// The most retries a client makes of one write, so that every attempt id fits a `u8`.
    pub const MAX_RETRIES: u8 = 2;

    /// The id of the next attempt of the same write.
    pub fn retry(self) -> WriteId {
        debug_assert!(self.attempt() < Self::MAX_RETRIES, "{self} has no retry left");
        WriteId(self.0 + Self::ATTEMPT_STRIDE)
    }

    /// The `i`-th statement of an anti-entropy repair stream (R4). Repair runs only when
    /// nothing else is in progress, so its ids never meet a client write's in a commit log.
    pub fn repair(i: u8) -> WriteId {
        WriteId(Self::REPAIR + i)
    }

    /// Whether this id is a repair stream's, not a client's.
    pub fn is_repair(self) -> bool {
        (Self::REPAIR..Self::VIEW_REPAIR).contains(&self.0)
    }

    /// The `i`-th base write that view repair number `repair` reinstates (R8). Each view
    /// repair of a run has its own block of ids, because a view repair does not wait for an
    /// earlier one's writes (or an anti-entropy repair's) to land.
    pub fn view_repair(repair: u8, i: u8) -> WriteId {
        debug_assert!(
            repair < Self::MAX_VIEW_REPAIRS && i < Self::VIEW_REPAIR_BLOCK,
            "view repair {repair} statement {i} has no id"
        );
        WriteId(Self::VIEW_REPAIR + repair * Self::VIEW_REPAIR_BLOCK + i)
    }

    /// Whether this id is a view repair's reinstated base write (R8).
    pub fn is_view_repair(self) -> bool {
        (Self::VIEW_REPAIR..Self::STREAM).contains(&self.0)
    }

    /// The `i`-th statement a replacement node's base partitions are streamed as, when the
    /// variant streams them through the write path (R5). A replacement has lost every commit
    /// log entry, so these ids never meet another write's in its commit log.
    pub fn stream(i: u8) -> WriteId {
        debug_assert!(i < u8::MAX - Self::STREAM, "stream statement {i} has no id");
        WriteId(Self::STREAM + i)
    }

    /// Whether this id is a replacement stream's (R5).
    pub fn is_stream(self) -> bool {
        self.0 >= Self::STREAM
    }

    /// Where repair ids start: past every client write's attempts.
    pub const REPAIR: u8 = Self::ATTEMPT_STRIDE * (Self::MAX_RETRIES + 1);

    /// Where view-repair ids start (R8): past 32 anti-entropy repair statements.
    pub const VIEW_REPAIR: u8 = Self::REPAIR + 32;

    /// Ids per view repair: a repair reinstates at most a `v` and a `w` cell per view row.
    pub const VIEW_REPAIR_BLOCK: u8 = 8;

    /// The most view repairs a run may contain (`--view-repairs`), so that every id fits.
    pub const MAX_VIEW_REPAIRS: u8 = 4;

    /// Where replacement-stream ids start: past the view repairs' blocks.
    pub const STREAM: u8 = Self::VIEW_REPAIR + Self::MAX_VIEW_REPAIRS * Self::VIEW_REPAIR_BLOCK;

    /// The workload's write this attempt belongs to (its first attempt).
    pub fn first_attempt(self) -> WriteId {
        WriteId(self.0 % Self::ATTEMPT_STRIDE)
    }

    /// 0 for the first attempt, 1 for the first retry, and so on.
    pub fn attempt(self) -> u8 {
        self.0 / Self::ATTEMPT_STRIDE
    }
}

impl fmt::Display for WriteId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_repair() {
            return write!(f, "repair{}", self.0 - Self::REPAIR);
        }
        if self.is_view_repair() {
            let i = self.0 - Self::VIEW_REPAIR;
            return write!(
                f,
                "vrepair{}.{}",
                i / Self::VIEW_REPAIR_BLOCK,
                i % Self::VIEW_REPAIR_BLOCK
            );
        }
        if self.is_stream() {
            return write!(f, "stream{}", self.0 - Self::STREAM);
        }
        match self.attempt() {
            0 => write!(f, "w{}", self.0),
            n => write!(f, "w{}r{n}", self.first_attempt().0),
        }
    }
}

/// A local batchlog entry: the view mutations that base replica `origin` generated for one
/// base write. Displayed as `n1#3`. The sequence number lives on the origin's disk, so ids
/// stay unique across restarts (Cassandra uses time-based UUIDs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct BatchId {
    /// The base replica that wrote the entry.
    pub origin: NodeId,
    /// Sequence number on the origin.
    pub seq: u8,
}

impl BatchId {
    /// Where view repairs' sequence numbers start: a base replica's own batches count up
    /// from 0 and stay far below it.
    pub const VIEW_REPAIR: u8 = 224;

    /// The local batchlog entry that view repair number `repair` writes on `origin` for
    /// the view rows it sends to other nodes (R9).
    pub fn view_repair(origin: NodeId, repair: u8) -> BatchId {
        debug_assert!(
            repair < WriteId::MAX_VIEW_REPAIRS,
            "view repair {repair} has no batch id"
        );
        BatchId {
            origin,
            seq: Self::VIEW_REPAIR + repair,
        }
    }

    /// Whether a view repair wrote this entry, rather than a base write's view-update step.
    pub fn is_view_repair(self) -> bool {
        self.seq >= Self::VIEW_REPAIR
    }
}

impl fmt::Display for BatchId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}#{}", self.origin, self.seq)
    }
}

/// The primary key of a view row: `(v, k)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ViewKey {
    /// The view partition key: the base's regular column `v`.
    pub v: Val,
    /// The view clustering key: the base's partition key `k`.
    pub k: Key,
}

impl fmt::Display for ViewKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "(v={},k={})", self.v, self.k)
    }
}

/// A consistency level for a client write.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Cl {
    /// One base replica must ack.
    One,
    /// A majority of the base replicas must ack.
    Quorum,
    /// Every base replica must ack.
    All,
}

impl Cl {
    /// How many base-replica acks the coordinator needs before it answers the client.
    pub fn required(self, rf: u8) -> u8 {
        match self {
            Cl::One => 1,
            Cl::Quorum => rf / 2 + 1,
            Cl::All => rf,
        }
    }

    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Cl::One => "ONE",
            Cl::Quorum => "QUORUM",
            Cl::All => "ALL",
        }
    }
}

impl fmt::Display for Cl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a client statement does to column `v` or `w`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Assign {
    /// The statement does not mention the column.
    Keep,
    /// `SET col = x`.
    Set(Val),
    /// `SET col = null`: a cell tombstone.
    Null,
}

/// One CQL statement on the base table, with its client-chosen timestamp. This *is* the base
/// mutation: the coordinator forwards it unchanged to every base replica.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Statement {
    /// The base partition key.
    pub k: Key,
    /// The write timestamp of every cell, marker and deletion the statement writes.
    pub ts: Ts,
    /// `INSERT` writes a row marker; `UPDATE` does not.
    pub insert: bool,
    /// `DELETE FROM t WHERE k = ..`: a row deletion (with no column assignments).
    pub delete: bool,
    /// What happens to `v`.
    pub v: Assign,
    /// What happens to `w`.
    pub w: Assign,
    /// `USING TTL`: every value the statement sets expires at the one deadline
    /// (`specs/protocol.md`, "Abstracted away"). Only an `UPDATE` carries it: an `INSERT`'s
    /// TTL would reach its row marker, which the model does not time. Absent in traces written
    /// before TTLs were modelled, which then read as `false`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ttl: bool,
}

impl Statement {
    /// `INSERT INTO t (k, v, w) VALUES (..) USING TIMESTAMP ts`.
    pub fn insert(k: Key, v: Option<Val>, w: Option<Val>, ts: Ts) -> Self {
        let assign = |x: Option<Val>| x.map_or(Assign::Keep, Assign::Set);
        Statement {
            k,
            ts,
            insert: true,
            delete: false,
            v: assign(v),
            w: assign(w),
            ttl: false,
        }
    }

    /// `UPDATE t USING TIMESTAMP ts SET .. WHERE k = ..`.
    pub fn update(k: Key, v: Assign, w: Assign, ts: Ts) -> Self {
        Statement {
            k,
            ts,
            insert: false,
            delete: false,
            v,
            w,
            ttl: false,
        }
    }

    /// The same statement `USING TTL` when `ttl` holds (an `UPDATE` only, see
    /// [`Statement::ttl`]).
    pub fn with_ttl(self, ttl: bool) -> Self {
        debug_assert!(
            !ttl || !(self.insert || self.delete),
            "only an UPDATE is written USING TTL: {self}"
        );
        Statement { ttl, ..self }
    }

    /// `DELETE FROM t USING TIMESTAMP ts WHERE k = ..`.
    pub fn delete(k: Key, ts: Ts) -> Self {
        Statement {
            k,
            ts,
            insert: false,
            delete: true,
            v: Assign::Keep,
            w: Assign::Keep,
            ttl: false,
        }
    }

    /// The statement as a row fragment: what a replica merges into its base table.
    pub fn as_row(&self) -> BaseRow {
        // A TTL reaches the values set; `SET col = null USING TTL` is a plain tombstone.
        let cell = |a: Assign| match a {
            Assign::Keep => None,
            Assign::Set(x) => Some(Cell {
                ts: self.ts,
                value: Some(x),
                ttl: self.ttl,
            }),
            Assign::Null => Some(Cell::new(self.ts, None)),
        };
        BaseRow {
            marker: self.insert.then_some(self.ts),
            deletion: self.delete.then_some(self.ts),
            v: cell(self.v),
            w: cell(self.w),
        }
    }
}

impl fmt::Display for Statement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let show = |a: Assign| match a {
            Assign::Keep => None,
            Assign::Set(x) => Some(x.to_string()),
            Assign::Null => Some("null".to_string()),
        };
        if self.delete {
            return write!(f, "DELETE k={} @{}", self.k, self.ts);
        }
        write!(f, "{} k={}", if self.insert { "INSERT" } else { "UPDATE" }, self.k)?;
        if let Some(v) = show(self.v) {
            write!(f, " v={v}")?;
        }
        if let Some(w) = show(self.w) {
            write!(f, " w={w}")?;
        }
        write!(f, " @{}", self.ts)?;
        if self.ttl {
            f.write_str(" USING TTL")?;
        }
        Ok(())
    }
}

/// A view mutation: a fragment of one view row, merged by the paired view replica with
/// last-write-wins reconciliation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ViewMutation {
    /// Which view row.
    pub key: ViewKey,
    /// What to merge into it.
    pub row: ViewRow,
}

impl fmt::Display for ViewMutation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.key, self.row)
    }
}

/// Every message of the protocol. Each variant names the rule of `specs/protocol.md` that
/// sends it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Msg {
    /// `Client` → `Coordinator`: please write this (W1).
    Write {
        /// The write.
        write: WriteId,
        /// The statement.
        stmt: Statement,
        /// Its consistency level.
        cl: Cl,
    },
    /// `Coordinator` → `Client`: the consistency level was met (W5).
    WriteOk {
        /// The write.
        write: WriteId,
    },
    /// `Coordinator` → `Client`: the consistency level can no longer be met (W6).
    WriteTimeout {
        /// The write.
        write: WriteId,
    },
    /// `Coordinator` → batchlog node (`+coordinator-batchlog` only, W2).
    BatchlogStore {
        /// The write.
        write: WriteId,
        /// Its statement, to replay if the coordinator dies.
        stmt: Statement,
    },
    /// Batchlog node → `Coordinator`: the coordinator batchlog entry is durable (W7).
    BatchlogStored {
        /// The write.
        write: WriteId,
    },
    /// `Coordinator` → batchlog node: a quorum acked, drop the entry (W8).
    BatchlogRemove {
        /// The write.
        write: WriteId,
    },
    /// `Coordinator` (or a coordinator batchlog replay) → `BaseReplica` (W3, W9).
    BaseWrite {
        /// The write.
        write: WriteId,
        /// The statement.
        stmt: Statement,
    },
    /// `BaseReplica` → whoever sent the `BaseWrite`, once the base table holds it (B8).
    BaseWriteAck {
        /// The write.
        write: WriteId,
    },
    /// `BaseReplica` → its paired `ViewReplica` (B6), or a hint delivery (B11).
    ViewWrite {
        /// The batchlog entry to acknowledge; `None` when the variant keeps no local batchlog.
        batch: Option<BatchId>,
        /// The view mutations for this view replica.
        mutations: Vec<ViewMutation>,
        /// Sent by hint delivery (B11) rather than by the base write (B6). Cassandra sends
        /// hints with a verb of their own; the flag lets a witness tell that a hint, not the
        /// original write, brought the mutations.
        #[serde(default)]
        hint: bool,
    },
    /// `ViewReplica` → `BaseReplica`: the view mutations are applied (V2).
    ViewWriteAck {
        /// The batchlog entry or hint being acknowledged.
        batch: BatchId,
    },
}

/// Every timer of the protocol. Timers in the model carry no duration; when they may fire is
/// part of the protocol (see `specs/protocol.md`, "Time").
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Timer {
    /// The view-update step of a base write on a `BaseReplica` (B3-B7), after its commit-log
    /// append (B2): read, generate, pair, batchlog, send.
    Generate(WriteId),
    /// The second half of a base write on a `BaseReplica` (B8): apply, unlock, ack.
    ApplyBase(WriteId),
    /// The coordinator gives up waiting for acks (W6).
    WriteTimeout(WriteId),
    /// Replay a local batchlog entry whose view writes were not all acked (B10).
    BatchlogReplay(BatchId),
    /// Deliver the hints held for one view replica (B11).
    HintDelivery(NodeId),
    /// Replay a coordinator batchlog entry (W9).
    CoordBatchlogReplay(WriteId),
}

impl fmt::Display for Timer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Timer::Generate(w) => write!(f, "Generate {w}"),
            Timer::ApplyBase(w) => write!(f, "ApplyBase {w}"),
            Timer::WriteTimeout(w) => write!(f, "WriteTimeout {w}"),
            Timer::BatchlogReplay(b) => write!(f, "BatchlogReplay {b}"),
            Timer::HintDelivery(n) => write!(f, "HintDelivery ->{n}"),
            Timer::CoordBatchlogReplay(w) => write!(f, "CoordBatchlogReplay {w}"),
        }
    }
}

impl fmt::Display for Msg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Msg::Write { write, stmt, cl } => write!(f, "Write {write} [{stmt}] cl={cl}"),
            Msg::WriteOk { write } => write!(f, "WriteOk {write}"),
            Msg::WriteTimeout { write } => write!(f, "WriteTimeout {write}"),
            Msg::BatchlogStore { write, stmt } => write!(f, "BatchlogStore {write} [{stmt}]"),
            Msg::BatchlogStored { write } => write!(f, "BatchlogStored {write}"),
            Msg::BatchlogRemove { write } => write!(f, "BatchlogRemove {write}"),
            Msg::BaseWrite { write, stmt } => write!(f, "BaseWrite {write} [{stmt}]"),
            Msg::BaseWriteAck { write } => write!(f, "BaseWriteAck {write}"),
            Msg::ViewWrite { batch, mutations, hint } => {
                let kind = if *hint { "ViewWrite (hint)" } else { "ViewWrite" };
                match batch {
                    Some(b) => write!(f, "{kind} batch={b} [")?,
                    None => write!(f, "{kind} (no batchlog) [")?,
                }
                for (i, m) in mutations.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{m}")?;
                }
                f.write_str("]")
            }
            Msg::ViewWriteAck { batch } => write!(f, "ViewWriteAck batch={batch}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::WriteId;

    /// Every attempt of every write a workload can have gets its own id, maps back to its
    /// write, and prints as `w<write>r<retry>`.
    #[test]
    fn attempt_ids_are_distinct_and_map_back() {
        let mut seen = std::collections::BTreeSet::new();
        for w in 1..=9u8 {
            let mut id = WriteId(w);
            for attempt in 0..=WriteId::MAX_RETRIES {
                assert!(seen.insert(id), "{id} twice");
                assert_eq!(id.first_attempt(), WriteId(w));
                assert_eq!(id.attempt(), attempt);
                let shown = if attempt == 0 {
                    format!("w{w}")
                } else {
                    format!("w{w}r{attempt}")
                };
                assert_eq!(id.to_string(), shown);
                if attempt < WriteId::MAX_RETRIES {
                    id = id.retry();
                }
            }
        }
    }
}
