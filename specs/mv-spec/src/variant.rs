//! Variants: Cassandra's correct designs and the broken ones, one row each.
//!
//! A variant is a name for a [`Design`] plus what follows from it: the smallest configuration
//! in which it shows what it is about ([`Defaults`]) and the verdict every property gets there
//! ([`Expected`]). The two correct designs are Cassandra 3.0's (shadowable tombstones) and
//! 4.0's (expired liveness markers with strict liveness), each with and without the
//! coordinator batchlog. Each broken variant takes one choice away from a correct one, its
//! [`Variant::baseline`], and reproduces one anomaly of `docs/mv-anomalies.md`.
//!
//! These facts are vocabulary: the model, the implementation, the trace headers and the
//! command line all name variants, and a conformance test is only meaningful if both sides
//! read the same choices and the same defaults under a name. What a node *does* with a choice
//! is step logic and stays out of this crate.

use crate::props::Kind;
use crate::workload::Workload;
use crate::{Cl, Pairing, Ring};

/// How the base replica deletes the old view row when the view key changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DeletionStyle {
    /// Cassandra 3.0.0 to 3.11.0 (CASSANDRA-10261): a shadowable row deletion that a newer
    /// row marker cancels.
    Shadowable,
    /// Before CASSANDRA-10261: an ordinary row deletion (anomaly A1).
    Regular,
    /// Cassandra 3.11.1 and later (CASSANDRA-11500): an expired liveness marker at the old
    /// view key's timestamp.
    ExpiredLiveness,
}

/// How view repair (rules R6 to R9 of `specs/protocol.md`) writes. Only the correct repair
/// is Cassandra's to have; the others are the traps of the public repairs (`Variant`'s broken
/// repairs), each one choice away from it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RepairStyle {
    /// R6 to R9 as written: wait for the partition lock, reinstate in the base what only the
    /// view holds, then write the view from the base at the base's own timestamps.
    Correct,
    /// R9 deletes an orphan or a duplicate at [`REPAIR_NOW`], the repair's clock, as
    /// ScyllaDB's `PRUNE MATERIALIZED VIEW` and Uber's job do (trap 1).
    PruneAtNow,
    /// R9 writes a missing or mismatched view row at [`REPAIR_NOW`] (trap 2's other face).
    UpsertAtNow,
    /// A prune that neither waits for the partition lock nor reinstates (ScyllaDB #25664,
    /// trap 3): a view row ahead of its base write, between the write's two halves, reads as
    /// a ghost and is deleted. (R8 alone defuses this race; see `specs/protocol.md`.)
    WithoutLock,
    /// R9 deletes with a regular row tombstone at the row's own timestamp (trap 4, A1).
    RegularTombstone,
}

/// The timestamp a repair that writes "now" uses: above every timestamp a workload writes.
pub const REPAIR_NOW: crate::Ts = 200;

/// The design choices of a variant: the columns of `specs/protocol.md`, "Design choices per
/// variant".
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Design {
    /// How the old view row is deleted.
    pub deletion: DeletionStyle,
    /// A view row stores one deletion slot instead of a regular and a shadowable one (A2).
    pub single_slot: bool,
    /// Reads of the view use strict liveness.
    pub strict_liveness: bool,
    /// View-update generation (B4) decides the new base row by storage's own tie-break on
    /// equal timestamps (a tombstone, then the greater value). Without it the incoming write
    /// wins a tie, so the view follows the order in which writes arrived while the base
    /// table does not, and base replicas that saw two writes in different orders send
    /// different view updates (A9).
    pub ties_as_storage: bool,
    /// A read's row limit (`LIMIT`, paging) counts only the rows it returns: under strict
    /// liveness, a view row whose marker has expired is not counted even if a cell of it is
    /// live. Without it (A17, before CASSANDRA-13883) such a row uses up the limit while the
    /// read drops it, so `LIMIT 1` can return nothing ahead of a live row.
    pub limit_counts_strictly: bool,
    /// The base replica holds the partition lock across read-before-write and apply (A8).
    pub partition_lock: bool,
    /// Remote view updates go through the local batchlog (A11).
    pub local_batchlog: bool,
    /// The coordinator writes a batchlog to up to two other nodes before forwarding (CASSANDRA-10230).
    pub coordinator_batchlog: bool,
    /// A coordinator whose write times out hints every base replica that has not acked
    /// (hinted handoff for base writes).
    pub base_hints: bool,
    /// Commit-log replay after a restart regenerates the view updates of the writes it
    /// replays (CASSANDRA-10164).
    pub replay_regenerates: bool,
    /// A write with both a self-paired and remote view mutations keeps its local batchlog
    /// entry until the remote view replicas ack (CASSANDRA-13069); without it the entry is
    /// cleaned up as soon as the local mutation is applied.
    pub batchlog_waits_for_remote: bool,
    /// A replacement node's streamed base partitions go through its write path, generating
    /// view updates (Cassandra 3.0's `StreamReceiveTask` does this for every stream into a
    /// table with views); without it they are added as they are, beside the streamed view
    /// partitions (4.0: a bootstrap or replace stream does not require a view build, only a
    /// repair stream does).
    pub replace_through_write_path: bool,
    /// How view repair writes (`--view-repairs`).
    pub repair: RepairStyle,
}

/// A variant's default configuration: the smallest one in which what it is about shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Defaults {
    /// Number of nodes.
    pub nodes: u8,
    /// Replication factor.
    pub rf: u8,
    /// Pairing rule.
    pub pairing: Pairing,
    /// Consistency level of every write.
    pub cl: Cl,
    /// The workload.
    pub workload: Workload,
    /// Crash-restart budget.
    pub crashes: u8,
    /// Permanent data-loss budget.
    pub data_loss: u8,
    /// Whether the network loses messages.
    pub lossy: bool,
    /// How many times a client retries a write that timed out (C3).
    pub retries: u8,
    /// Anti-entropy repair budget (R4): how many repairs a run may contain. A repair runs
    /// only once the write path has settled, so at RF 1 (one replica, nothing to compare)
    /// it never runs.
    pub repairs: u8,
    /// View-repair budget (R6): how many partition view repairs a run may contain.
    pub view_repairs: u8,
    /// Whether a view repair may run while base or view writes are on the wire. Without a
    /// fault, a view lags its base only while a view write is on the wire, so a repair
    /// that waits for a quiet wire (R6's default) meets nothing to mend there.
    pub view_repair_anytime: bool,
}

impl Defaults {
    /// Nodes, replication factor and pairing rule as one ring.
    pub fn ring(&self) -> Ring {
        Ring {
            nodes: self.nodes,
            rf: self.rf,
            pairing: self.pairing,
        }
    }
}

/// What a variant's default configuration is expected to show for one property.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Expected {
    /// An `always` property holds.
    Holds,
    /// An `always` property is violated: the anomaly.
    Violated,
    /// A `sometimes` witness is found.
    Found,
    /// A `sometimes` witness cannot be reached in this configuration (said why in the spec).
    NotFound,
}

impl Expected {
    /// How reports print it.
    pub fn label(self) -> &'static str {
        match self {
            Expected::Holds => "holds",
            Expected::Violated => "violated",
            Expected::Found => "found",
            Expected::NotFound => "not found",
        }
    }
}

/// Every variant `mvcheck check --variant NAME` accepts, in the order of the variant table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Variant {
    /// Cassandra 3.0: shadowable tombstones, two deletion slots.
    Cassandra30,
    /// Cassandra 3.0 with `-Dcassandra.mv_enable_coordinator_batchlog=true`.
    Cassandra30Cbl,
    /// Cassandra 4.0: expired liveness, strict liveness.
    Cassandra40,
    /// Cassandra 4.0 with the coordinator batchlog.
    Cassandra40Cbl,
    /// 4.0 without the partition lock (A8).
    NoPartitionLock,
    /// 3.0 with an ordinary row tombstone instead of a shadowable one (A1).
    RegularTombstone,
    /// 4.0 without the local batchlog (A11).
    NoLocalBatchlog,
    /// 3.0 with one deletion slot per view row (A2).
    SingleDeletionSlot,
    /// 4.0 without strict liveness (A3; A4 on the `ttl-key` workload).
    NonStrictLiveness,
    /// 4.0 without hinted handoff for base writes (A15).
    NoBaseHints,
    /// 4.0 whose commit-log replay applies the base without regenerating view updates (A12).
    NoReplayRegeneration,
    /// 4.0 that cleans up a mixed write's batchlog entry once its local mutation is applied (A13).
    EarlyBatchlogCleanup,
    /// 4.0 whose view-update generator lets the incoming write win a timestamp tie (A9).
    IncomingWinsTies,
    /// 4.0 whose row limit counts view rows with an expired marker and a live cell (A17).
    LimitCountsExpired,
    /// 4.0 whose view repair deletes ghosts at the repair's current time (trap 1).
    PruneAtNow,
    /// 4.0 whose view repair writes missing rows at the repair's current time (trap 2).
    UpsertAtNow,
    /// 4.0 whose view repair prunes without the partition lock (trap 3, ScyllaDB #25664).
    RepairWithoutLock,
    /// 4.0 whose view repair deletes with a regular row tombstone (trap 4, A1).
    RegularTombstoneRepair,
}

/// Everything about one variant.
struct Row {
    variant: Variant,
    name: &'static str,
    description: &'static str,
    /// `None` for a correct design, which is what makes it correct.
    baseline: Option<Variant>,
    design: Design,
    defaults: Defaults,
    anomaly_property: Option<&'static str>,
    /// The `always` properties the default configuration violates; the others hold.
    violated: &'static [&'static str],
    /// The witnesses the default configuration cannot reach; the others are found.
    not_found: &'static [&'static str],
    /// P-bounded: K, the most protocol steps from the last fault and the last client write
    /// to quiescence at the default configuration (`mv_model::bound`). A correct design
    /// only; a change that lengthens the worst case fails the check.
    sync_steps: Option<u32>,
}

const V30: Design = Design {
    deletion: DeletionStyle::Shadowable,
    single_slot: false,
    strict_liveness: false,
    ties_as_storage: true,
    limit_counts_strictly: true,
    partition_lock: true,
    local_batchlog: true,
    coordinator_batchlog: false,
    base_hints: true,
    replay_regenerates: true,
    batchlog_waits_for_remote: true,
    replace_through_write_path: true,
    repair: RepairStyle::Correct,
};

const V40: Design = Design {
    deletion: DeletionStyle::ExpiredLiveness,
    strict_liveness: true,
    replace_through_write_path: false,
    ..V30
};

/// The correct designs' default: the smallest configuration found that fires every rule of
/// the write path (`specs/protocol.md`, "Rule coverage"). RF 1 on 2 nodes puts base row
/// `k=0` on n0, the view partition of `v=1` on n1 (a remote view write, B6, with its
/// batchlog, replay, hints and acks) and that of `v=2` back on n0 (self-paired, B5); the `switch`
/// workload moves the view key once, its client's coordinator n1 is not the base replica (so
/// a crash of n0 can lose the base write and the coordinator hints it, W10-W12), and one crash
/// lets commit-log replay regenerate (R2).
/// At 3 nodes and RF 3 every view write is self-paired, so the write path beyond B5 never ran.
const DEFAULT: Defaults = Defaults {
    nodes: 2,
    rf: 1,
    pairing: Pairing::SelfFirst,
    cl: Cl::Quorum,
    workload: Workload::Switch,
    crashes: 1,
    data_loss: 0,
    lossy: false,
    retries: 0,
    repairs: 1,
    view_repairs: 1,
    view_repair_anytime: false,
};

const ONE_WRITE: Workload = Workload::Concurrent { writes: 1, keys: 1 };

/// Two base replicas of one partition (RF 2 on 2 nodes), two concurrent writes to it, no
/// crash and no repair: the anomalies shown there are the write path's alone.
const TWO_REPLICAS: Defaults = Defaults {
    nodes: 2,
    rf: 2,
    workload: Workload::Concurrent { writes: 2, keys: 1 },
    crashes: 0,
    repairs: 0,
    view_repairs: 0,
    ..DEFAULT
};

/// Every witness: none can be reached where the mechanisms they need cannot run.
const ALL_WITNESSES: &[&str] = &[
    "P-converge:witness",
    "P-replica-converge:witness",
    "P-no-orphan:witness",
    "P-no-missing:witness",
    "P-one-row:witness",
    "P-cells:witness",
    "P-durable:witness",
];

/// The witnesses that need a crash (commit-log regeneration, a crashed replica holding an
/// acknowledged write).
const CRASH_WITNESSES: &[&str] = &["P-converge:witness", "P-durable:witness"];

/// Most anomalies need only one base replica and a remote paired view replica, and no faults:
/// RF 1 on 2 nodes at ALL. Each such variant brings the script that shows its anomaly.
const SMALL: Defaults = Defaults {
    nodes: 2,
    rf: 1,
    cl: Cl::All,
    crashes: 0,
    view_repairs: 0,
    ..DEFAULT
};

/// The broken repairs' default: `SMALL` with one view repair that may run at any time, on
/// `move-back`, whose view key goes 1, 2, 1 from a row that exists at the start. A repair
/// that runs between the move to 2 and the remote deletion of the row at 1 finds a
/// duplicate; the move back to 1 is the later legitimate write that a wrong deletion or a
/// wrong timestamp meets. Without faults the view lags only while a view write is on the
/// wire, so the repair must be allowed to run then.
const BROKEN_REPAIR: Defaults = Defaults {
    workload: Workload::MoveBack,
    view_repairs: 1,
    view_repair_anytime: true,
    ..SMALL
};

/// What a repair that deletes the row the move back brings back breaks: the row is live in
/// the base and nowhere in the view.
const MOVE_BACK_LOST: &[&str] = &[
    "P-converge",
    "P-replica-converge",
    "P-no-missing",
    "P-durable",
    "P-repair",
    "P-no-clobber",
];

/// The witnesses of view repair: none is reachable without a view-repair budget.
const REPAIR_WITNESSES: &[&str] = &["P-repair:witness", "P-no-resurrect:witness", "P-no-clobber:witness"];

/// limit-counts-expired's unreachable witnesses: no crash, and its read never returns a
/// row after a dead one (the dead one uses up the limit).
const LIMIT_NOT_FOUND: &[&str] = &["P-converge:witness", "P-durable:witness", "P-limit:witness"];

/// The coordinator-batchlog variants' unreachable witnesses: those that need a view row
/// stored but invisible (a deleted or a moved one), or deleted by a view repair.
const CBL_NOT_FOUND: &[&str] = &["P-no-orphan:witness", "P-one-row:witness", "P-no-resurrect:witness"];

/// The variants, one row each, in the order of the [`Variant`] enum (checked at compile time).
///
/// Adding a variant is one enum case and one row here, plus its two step-logic changes: one
/// in the model (`mv-model`'s actor and storage rules read [`Design`]) and one in the
/// implementation (`mv-impl`'s node reads it through its switches). The tables in
/// `specs/protocol.md` and `specs/properties.md` are checked against this one by
/// `specs/mv-spec/tests/spec_tables.rs`.
const TABLE: &[Row] = &[
    Row {
        variant: Variant::Cassandra30,
        name: "cassandra-3.0",
        description: "shadowable tombstone for the old view row, regular deletion kept beside it (3.0.0-3.11.0, CASSANDRA-10261/13409)",
        baseline: None,
        design: V30,
        defaults: DEFAULT,
        anomaly_property: None,
        violated: &[],
        not_found: &[],
        sync_steps: Some(32),
    },
    Row {
        variant: Variant::Cassandra30Cbl,
        name: "cassandra-3.0+coordinator-batchlog",
        description: "cassandra-3.0 plus a coordinator batchlog written to up to two other nodes before forwarding (CASSANDRA-10230)",
        baseline: None,
        design: Design {
            coordinator_batchlog: true,
            ..V30
        },
        // The coordinator batchlog multiplies the messages of a write: `switch` is not
        // exhaustive in 90 s on 2 cores (11.2 million states). `move-existing` is `switch` without its first
        // write (the row exists when the run starts): one write, one crash, and still a
        // self-paired view update (B5) beside a remote one (B6).
        defaults: Defaults {
            workload: Workload::MoveExisting,
            ..DEFAULT
        },
        anomaly_property: None,
        violated: &[],
        // The view row the write deletes is self-paired: no view key switches remotely, and
        // no view repair finds a row to delete between messages.
        not_found: CBL_NOT_FOUND,
        sync_steps: Some(35),
    },
    Row {
        variant: Variant::Cassandra40,
        name: "cassandra-4.0",
        description: "expired liveness marker at the old view key's timestamp, strict liveness (3.11.1+, CASSANDRA-11500)",
        baseline: None,
        design: V40,
        defaults: DEFAULT,
        anomaly_property: None,
        violated: &[],
        not_found: &[],
        sync_steps: Some(32),
    },
    Row {
        variant: Variant::Cassandra40Cbl,
        name: "cassandra-4.0+coordinator-batchlog",
        description: "cassandra-4.0 plus a coordinator batchlog written to up to two other nodes before forwarding (CASSANDRA-10230)",
        baseline: None,
        design: Design {
            coordinator_batchlog: true,
            ..V40
        },
        // As for cassandra-3.0+coordinator-batchlog.
        defaults: Defaults {
            workload: Workload::MoveExisting,
            ..DEFAULT
        },
        anomaly_property: None,
        violated: &[],
        // The view row the write deletes is self-paired: no view key switches remotely, and
        // no view repair finds a row to delete between messages.
        not_found: CBL_NOT_FOUND,
        sync_steps: Some(35),
    },
    Row {
        variant: Variant::NoPartitionLock,
        name: "no-partition-lock",
        description: "A8: cassandra-4.0 without the partition lock around read-before-write",
        baseline: Some(Variant::Cassandra40),
        design: Design {
            partition_lock: false,
            ..V40
        },
        // Two replicas of one partition, so that two writes race on each of them.
        defaults: TWO_REPLICAS,
        anomaly_property: Some("P-one-row"),
        violated: &["P-converge", "P-replica-converge", "P-one-row", "P-durable"],
        // RF 2 on 2 nodes pairs every view write with its own node, and there is no crash:
        // no remote view write, replay, hint or regeneration happens.
        not_found: ALL_WITNESSES,
        sync_steps: None,
    },
    Row {
        variant: Variant::RegularTombstone,
        name: "regular-tombstone",
        description: "A1: cassandra-3.0 with an ordinary row tombstone instead of a shadowable one",
        baseline: Some(Variant::Cassandra30),
        design: Design {
            deletion: DeletionStyle::Regular,
            ..V30
        },
        defaults: Defaults {
            workload: Workload::SwitchBack,
            ..SMALL
        },
        anomaly_property: Some("P-cells"),
        violated: &["P-converge", "P-replica-converge", "P-cells", "P-durable"],
        // No crash budget.
        not_found: CRASH_WITNESSES,
        sync_steps: None,
    },
    Row {
        variant: Variant::NoLocalBatchlog,
        name: "no-local-batchlog",
        description: "A11: cassandra-4.0 sending remote view updates without a local batchlog",
        baseline: Some(Variant::Cassandra40),
        design: Design {
            local_batchlog: false,
            ..V40
        },
        // A remote paired view replica and a network that loses the view write.
        defaults: Defaults {
            workload: ONE_WRITE,
            lossy: true,
            ..SMALL
        },
        anomaly_property: Some("P-no-missing"),
        violated: &["P-converge", "P-replica-converge", "P-no-missing", "P-durable"],
        // No batchlog, so no replay and no hints; one write never moves a view row; no crash.
        not_found: ALL_WITNESSES,
        sync_steps: None,
    },
    Row {
        variant: Variant::SingleDeletionSlot,
        name: "single-deletion-slot",
        description: "A2: cassandra-3.0 storing one deletion slot, so a shadowable deletion overwrites a regular one",
        baseline: Some(Variant::Cassandra30),
        design: Design {
            single_slot: true,
            ..V30
        },
        // A2 is a storage rule: one node shows it. On 2 nodes the five writes' remote view
        // writes, replays and hints grew past 7 million states in 60 s.
        defaults: Defaults {
            nodes: 1,
            workload: Workload::DeleteReinsert,
            ..SMALL
        },
        anomaly_property: Some("P-cells"),
        violated: &["P-converge", "P-replica-converge", "P-cells", "P-durable"],
        // One node: every view write is local, and there is no crash.
        not_found: ALL_WITNESSES,
        sync_steps: None,
    },
    Row {
        variant: Variant::NonStrictLiveness,
        name: "non-strict-liveness",
        description: "A3: cassandra-4.0 reading the view without strict liveness (and A4 with --workload ttl-key: a live w keeps the row of an expired view key)",
        baseline: Some(Variant::Cassandra40),
        design: Design {
            strict_liveness: false,
            ..V40
        },
        defaults: Defaults {
            workload: Workload::LateCell,
            ..SMALL
        },
        anomaly_property: Some("P-one-row"),
        violated: &["P-converge", "P-replica-converge", "P-one-row", "P-durable"],
        // The switched-away row stays visible, so none looks deleted; no crash budget.
        not_found: &[
            "P-converge:witness",
            "P-no-orphan:witness",
            "P-one-row:witness",
            "P-durable:witness",
        ],
        sync_steps: None,
    },
    Row {
        variant: Variant::NoBaseHints,
        name: "no-base-hints",
        description: "A15: cassandra-4.0 without hinted handoff for base writes: a base replica that missed a write keeps missing it",
        baseline: Some(Variant::Cassandra40),
        design: Design {
            base_hints: false,
            ..V40
        },
        // Two base replicas of one partition on a network that loses messages, so that one
        // replica misses a write the other applied; no crash, so that the coordinator always
        // lives to hint (the correct designs hold here).
        defaults: Defaults {
            lossy: true,
            ..TWO_REPLICAS
        },
        anomaly_property: Some("P-replica-converge"),
        // An acknowledged write reached a quorum, and what a quorum holds converges: the
        // write that goes missing is one that timed out.
        violated: &["P-converge", "P-replica-converge", "P-one-row"],
        // RF 2 on 2 nodes pairs every view write with its own node, and there is no crash.
        not_found: ALL_WITNESSES,
        sync_steps: None,
    },
    Row {
        variant: Variant::NoReplayRegeneration,
        name: "no-replay-regeneration",
        description: "A12: cassandra-4.0 whose commit-log replay applies base writes without generating their view updates (before CASSANDRA-10164)",
        baseline: Some(Variant::Cassandra40),
        design: Design {
            replay_regenerates: false,
            ..V40
        },
        // The correct designs' default: a crash between a base replica's commit-log append
        // (B2) and its view-update step leaves a write whose view updates only replay can
        // regenerate.
        // No view repair: it would mend the anomaly after the last fault.
        defaults: Defaults {
            view_repairs: 0,
            ..DEFAULT
        },
        // The write whose view updates replay drops moved the view key: the old row's
        // deletion is lost, and a later delivery of the same write (the coordinator's hint)
        // reads the replayed base, so it recreates the new row but never deletes the old one.
        anomaly_property: Some("P-one-row"),
        violated: &["P-converge", "P-replica-converge", "P-one-row", "P-durable"],
        // Nothing regenerates, so P-converge's witness (R2) is out of reach.
        not_found: &["P-converge:witness"],
        sync_steps: None,
    },
    Row {
        variant: Variant::EarlyBatchlogCleanup,
        name: "early-batchlog-cleanup",
        description: "A13: cassandra-4.0 removing the local batchlog entry of a write with both self-paired and remote view mutations once the local one is applied (before CASSANDRA-13069)",
        baseline: Some(Variant::Cassandra40),
        design: Design {
            batchlog_waits_for_remote: false,
            ..V40
        },
        // The correct designs' default: its second write deletes the old view row remotely
        // and creates the new one locally, a mixed write; the crash loses the remote deletion.
        // No view repair: it would mend the anomaly after the last fault.
        defaults: Defaults {
            view_repairs: 0,
            ..DEFAULT
        },
        anomaly_property: Some("P-one-row"),
        violated: &["P-converge", "P-replica-converge", "P-one-row", "P-durable"],
        not_found: &[],
        sync_steps: None,
    },
    Row {
        variant: Variant::IncomingWinsTies,
        name: "incoming-wins-ties",
        description: "A9: cassandra-4.0 whose view-update generator lets the incoming write win a timestamp tie that storage gives to the greater value",
        baseline: Some(Variant::Cassandra40),
        design: Design {
            ties_as_storage: false,
            ..V40
        },
        // Two base replicas of one partition, each receiving the two writes of `tie` in its
        // own order. The one that receives `v=2 @1`, then `v=1 @1`, keeps `v=2` in its base
        // table but moves its view row to 1: the expired marker it writes for `(2,k)` at 1
        // beats the other replica's live marker at 1, so the view loses the row the base
        // has, and the replicas' views differ.
        defaults: Defaults {
            workload: Workload::Tie,
            ..TWO_REPLICAS
        },
        // The view row under `v=1` is no orphan by P-no-orphan's definition: its base row
        // exists, under another `v`.
        anomaly_property: Some("P-no-missing"),
        violated: &["P-converge", "P-replica-converge", "P-no-missing", "P-durable"],
        // RF 2 on 2 nodes pairs every view write with its own node, and there is no crash.
        not_found: ALL_WITNESSES,
        sync_steps: None,
    },
    Row {
        variant: Variant::LimitCountsExpired,
        name: "limit-counts-expired",
        description: "A17: cassandra-4.0 whose row limit counts a view row with an expired marker and a live cell, which the read then drops",
        baseline: Some(Variant::Cassandra40),
        design: Design {
            limit_counts_strictly: false,
            ..V40
        },
        // Two base rows under one view key, one of which moves away: its view row keeps `w`
        // beside the expired marker, ahead of the other's live row in the partition the
        // view replica n1 holds. No fault is needed; the stored state is right throughout.
        defaults: Defaults {
            workload: Workload::Limit,
            ..SMALL
        },
        anomaly_property: Some("P-limit"),
        violated: &["P-limit"],
        not_found: LIMIT_NOT_FOUND,
        sync_steps: None,
    },
    Row {
        variant: Variant::PruneAtNow,
        name: "prune-at-now",
        description: "trap 1: cassandra-4.0 whose view repair deletes an orphan or duplicate view row at the repair's current time",
        baseline: Some(Variant::Cassandra40),
        design: Design {
            repair: RepairStyle::PruneAtNow,
            ..V40
        },
        defaults: BROKEN_REPAIR,
        // The move back to 1 writes the row at 3, below the prune's 200: the view never
        // shows it again.
        anomaly_property: Some("P-no-clobber"),
        violated: MOVE_BACK_LOST,
        not_found: CRASH_WITNESSES,
        sync_steps: None,
    },
    Row {
        variant: Variant::UpsertAtNow,
        name: "upsert-at-now",
        description: "trap 2: cassandra-4.0 whose view repair writes a missing or mismatched view row at the repair's current time",
        baseline: Some(Variant::Cassandra40),
        design: Design {
            repair: RepairStyle::UpsertAtNow,
            ..V40
        },
        defaults: BROKEN_REPAIR,
        // The row the repair writes at 200 keeps `w` at 200 where the base has it at 1, and
        // any later write of `w` below 200 would be hidden: a clobber. No later deletion
        // meets it in this workload, so it resurrects nothing here.
        anomaly_property: Some("P-no-clobber"),
        violated: &["P-replica-converge", "P-durable", "P-repair", "P-no-clobber"],
        not_found: CRASH_WITNESSES,
        sync_steps: None,
    },
    Row {
        variant: Variant::RepairWithoutLock,
        name: "repair-without-lock",
        description: "trap 3 (ScyllaDB #25664): cassandra-4.0 whose view repair prunes without waiting for the partition lock, so a view row ahead of its base write reads as a ghost",
        baseline: Some(Variant::Cassandra40),
        design: Design {
            repair: RepairStyle::WithoutLock,
            ..V40
        },
        defaults: BROKEN_REPAIR,
        // The prune deletes the row at 3 that the move back sent before its base apply; the
        // base then applies it, and the view never shows it.
        anomaly_property: Some("P-no-clobber"),
        violated: MOVE_BACK_LOST,
        not_found: CRASH_WITNESSES,
        sync_steps: None,
    },
    Row {
        variant: Variant::RegularTombstoneRepair,
        name: "regular-tombstone-repair",
        description: "trap 4 (A1): cassandra-4.0 whose view repair deletes with a regular row tombstone, which hides the row's older cells when the view key comes back",
        baseline: Some(Variant::Cassandra40),
        design: Design {
            repair: RepairStyle::RegularTombstone,
            ..V40
        },
        defaults: BROKEN_REPAIR,
        // A1 brought back by the repair: the tombstone at 1 hides `w`@1 when the move back
        // recreates the row.
        anomaly_property: Some("P-no-clobber"),
        violated: &[
            "P-converge",
            "P-replica-converge",
            "P-cells",
            "P-durable",
            "P-repair",
            "P-no-clobber",
        ],
        not_found: CRASH_WITNESSES,
        sync_steps: None,
    },
];

// `Variant::row` indexes the table by the enum's discriminant.
const _: () = {
    let mut i = 0;
    while i < TABLE.len() {
        assert!(
            TABLE[i].variant as usize == i,
            "TABLE must list the variants in enum order"
        );
        i += 1;
    }
};

impl Variant {
    /// All variants, correct ones first.
    pub const ALL: [Variant; TABLE.len()] = {
        let mut all = [Variant::Cassandra30; TABLE.len()];
        let mut i = 0;
        while i < TABLE.len() {
            all[i] = TABLE[i].variant;
            i += 1;
        }
        all
    };

    fn row(self) -> &'static Row {
        &TABLE[self as usize]
    }

    /// The name used on the command line, in reports and in trace headers.
    pub fn name(self) -> &'static str {
        self.row().name
    }

    /// The variant called `name`, or an error naming it and listing the known names.
    pub fn from_name(name: &str) -> Result<Variant, String> {
        Variant::ALL.into_iter().find(|v| v.name() == name).ok_or_else(|| {
            let names: Vec<&str> = Variant::ALL.iter().map(|v| v.name()).collect();
            format!("unknown variant {name:?}; known variants: {}", names.join(", "))
        })
    }

    /// One line on what the variant changes.
    pub fn description(self) -> &'static str {
        self.row().description
    }

    /// The correct design this one takes one choice away from; `None` for a correct design.
    pub fn baseline(self) -> Option<Variant> {
        self.row().baseline
    }

    /// Whether this is one of Cassandra's own (correct) designs.
    pub fn is_correct(self) -> bool {
        self.baseline().is_none()
    }

    /// The design choices.
    pub fn design(self) -> Design {
        self.row().design
    }

    /// The default configuration (`specs/properties.md`, "Expected verdicts").
    pub fn defaults(self) -> Defaults {
        self.row().defaults
    }

    /// P-bounded's pinned K at the default configuration; `None` for a broken design.
    pub fn sync_steps(self) -> Option<u32> {
        self.row().sync_steps
    }

    /// The property the variant's anomaly is about; `None` for the correct designs.
    pub fn anomaly_property(self) -> Option<&'static str> {
        self.row().anomaly_property
    }

    /// The verdict expected from `mvcheck check --variant NAME` with no other flags, for
    /// the property `id` (as written in `specs/properties.md`) of kind `kind`.
    pub fn expected(self, id: &str, kind: Kind) -> Expected {
        let row = self.row();
        match kind {
            Kind::Always if row.violated.contains(&id) => Expected::Violated,
            Kind::Always => Expected::Holds,
            Kind::Sometimes if row.not_found.contains(&id) => Expected::NotFound,
            // View repair's witnesses need a view-repair budget.
            Kind::Sometimes if row.defaults.view_repairs == 0 && REPAIR_WITNESSES.contains(&id) => Expected::NotFound,
            // P-limit's witness needs two base rows under one view key, one of which moves
            // away: only the `limit` workload has them.
            Kind::Sometimes if id == "P-limit:witness" && row.defaults.workload != Workload::Limit => {
                Expected::NotFound
            }
            // P-converge's TTL witness needs a view key written `USING TTL` and the clock
            // past the deadline: only the `ttl-key` workload has them.
            Kind::Sometimes if id == "P-converge:ttl-witness" && !row.defaults.workload.has_ttl() => Expected::NotFound,
            Kind::Sometimes => Expected::Found,
        }
    }
}

/// Checks the limits every configuration keeps, whoever runs it, with a message that names
/// the offending setting as the command line spells it. The model cannot check more, and the
/// implementation keeps to the same limits so that every trace it records is checkable.
pub fn validate(ring: &Ring, workload: &Workload, crashes: u8, data_loss: u8, retries: u8) -> Result<(), String> {
    if ring.nodes == 0 || ring.nodes > 7 {
        return Err(format!("--nodes must be between 1 and 7 (got {})", ring.nodes));
    }
    if ring.rf == 0 || ring.rf > ring.nodes {
        return Err(format!(
            "--rf must be between 1 and --nodes={} (got {})",
            ring.nodes, ring.rf
        ));
    }
    if workload.is_empty() {
        return Err("the workload has no writes: --writes must be at least 1".into());
    }
    if let Workload::Concurrent { writes, keys } = *workload {
        if writes > 9 {
            return Err(format!("--writes must be at most 9 (got {writes})"));
        }
        if keys == 0 || keys > 3 {
            return Err(format!("--keys must be between 1 and 3 (got {keys})"));
        }
    }
    if crashes > 3 {
        return Err(format!("--crashes must be at most 3 (got {crashes})"));
    }
    if data_loss > 3 {
        return Err(format!("--data-loss must be at most 3 (got {data_loss})"));
    }
    if retries > crate::WriteId::MAX_RETRIES {
        return Err(format!(
            "--retries must be at most {} (got {retries})",
            crate::WriteId::MAX_RETRIES
        ));
    }
    Ok(())
}

/// Checks the view-repair budget (`--view-repairs`): each view repair of a run has its own
/// block of write and batch ids, and view repair is not modelled for a workload that writes
/// `USING TTL` (R8's evidence and R9's rows are written for cells without one:
/// `specs/protocol.md`, "Abstracted away").
pub fn validate_view_repairs(view_repairs: u8, workload: &Workload) -> Result<(), String> {
    if view_repairs > crate::WriteId::MAX_VIEW_REPAIRS {
        return Err(format!(
            "--view-repairs must be at most {} (got {view_repairs})",
            crate::WriteId::MAX_VIEW_REPAIRS
        ));
    }
    if view_repairs > 0 && workload.has_ttl() {
        return Err(format!(
            "--view-repairs must be 0 with --workload {} (got {view_repairs}): view repair is not modelled for cells written USING TTL",
            workload.name()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::props::{property, PROPERTIES};

    /// The names of the choices in which two designs differ.
    fn differences(a: Design, b: Design) -> Vec<&'static str> {
        let Design {
            deletion,
            single_slot,
            strict_liveness,
            ties_as_storage,
            limit_counts_strictly,
            partition_lock,
            local_batchlog,
            coordinator_batchlog,
            base_hints,
            replay_regenerates,
            batchlog_waits_for_remote,
            replace_through_write_path,
            repair,
        } = a;
        [
            ("deletion", deletion == b.deletion),
            ("single_slot", single_slot == b.single_slot),
            ("strict_liveness", strict_liveness == b.strict_liveness),
            ("ties_as_storage", ties_as_storage == b.ties_as_storage),
            (
                "limit_counts_strictly",
                limit_counts_strictly == b.limit_counts_strictly,
            ),
            ("partition_lock", partition_lock == b.partition_lock),
            ("local_batchlog", local_batchlog == b.local_batchlog),
            ("coordinator_batchlog", coordinator_batchlog == b.coordinator_batchlog),
            ("base_hints", base_hints == b.base_hints),
            ("replay_regenerates", replay_regenerates == b.replay_regenerates),
            (
                "batchlog_waits_for_remote",
                batchlog_waits_for_remote == b.batchlog_waits_for_remote,
            ),
            (
                "replace_through_write_path",
                replace_through_write_path == b.replace_through_write_path,
            ),
            ("repair", repair == b.repair),
        ]
        .into_iter()
        .filter(|(_, same)| !same)
        .map(|(name, _)| name)
        .collect()
    }

    #[test]
    fn names_round_trip_and_are_unique() {
        for v in Variant::ALL {
            assert_eq!(Variant::from_name(v.name()), Ok(v));
            assert!(!v.description().is_empty(), "{}", v.name());
        }
        let mut names: Vec<&str> = Variant::ALL.iter().map(|v| v.name()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), Variant::ALL.len());
        let err = Variant::from_name("cassandra-5.0").unwrap_err();
        assert!(err.contains("\"cassandra-5.0\""), "{err}");
        for v in Variant::ALL {
            assert!(err.contains(v.name()), "{err}");
        }
    }

    #[test]
    fn correct_variants_come_first() {
        let correct = Variant::ALL.iter().take_while(|v| v.is_correct()).count();
        assert!(correct > 0);
        assert!(Variant::ALL[correct..].iter().all(|v| !v.is_correct()));
    }

    #[test]
    fn correct_variants_have_no_baseline_and_no_anomaly() {
        for v in Variant::ALL.into_iter().filter(|v| v.is_correct()) {
            assert_eq!(v.baseline(), None, "{}", v.name());
            assert_eq!(v.anomaly_property(), None, "{}", v.name());
            for p in PROPERTIES.iter().filter(|p| p.kind == Kind::Always) {
                assert_eq!(v.expected(p.id, p.kind), Expected::Holds, "{} {}", v.name(), p.id);
            }
        }
    }

    #[test]
    fn broken_variants_take_exactly_one_choice_from_a_correct_baseline() {
        for v in Variant::ALL.into_iter().filter(|v| !v.is_correct()) {
            let base = v.baseline().expect("a broken variant has a baseline");
            assert!(base.is_correct(), "{}'s baseline {} is broken", v.name(), base.name());
            let diff = differences(v.design(), base.design());
            assert_eq!(diff.len(), 1, "{} differs from {} in {diff:?}", v.name(), base.name());
        }
    }

    #[test]
    fn broken_variants_violate_their_anomaly_property() {
        for v in Variant::ALL.into_iter().filter(|v| !v.is_correct()) {
            let p = v.anomaly_property().expect("a broken variant names its anomaly");
            let def = property(p).unwrap_or_else(|| panic!("{}: {p} is no property", v.name()));
            assert_eq!(def.kind, Kind::Always, "{}: {p}", v.name());
            assert_eq!(v.expected(p, def.kind), Expected::Violated, "{}: {p}", v.name());
        }
    }

    #[test]
    fn expected_verdicts_name_properties_of_the_right_kind() {
        for row in TABLE {
            for id in row.violated {
                assert_eq!(property(id).map(|p| p.kind), Some(Kind::Always), "{}: {id}", row.name);
            }
            for id in row.not_found {
                assert_eq!(
                    property(id).map(|p| p.kind),
                    Some(Kind::Sometimes),
                    "{}: {id}",
                    row.name
                );
            }
        }
    }

    #[test]
    fn designs_are_distinct_and_defaults_valid() {
        for (i, a) in Variant::ALL.iter().enumerate() {
            for b in &Variant::ALL[i + 1..] {
                assert_ne!(a.design(), b.design(), "{} and {}", a.name(), b.name());
            }
            let d = a.defaults();
            assert_eq!(
                validate(&d.ring(), &d.workload, d.crashes, d.data_loss, d.retries),
                Ok(()),
                "{}",
                a.name()
            );
        }
    }

    #[test]
    fn validate_names_the_setting() {
        let d = DEFAULT;
        let ring = |nodes, rf| Ring {
            nodes,
            rf,
            pairing: Pairing::SelfFirst,
        };
        let cases = [
            (validate(&ring(0, 1), &d.workload, 0, 0, 0), "--nodes"),
            (validate(&ring(8, 1), &d.workload, 0, 0, 0), "--nodes"),
            (validate(&ring(3, 4), &d.workload, 0, 0, 0), "--rf"),
            (validate(&ring(3, 0), &d.workload, 0, 0, 0), "--rf"),
            (
                validate(&d.ring(), &Workload::Concurrent { writes: 0, keys: 1 }, 0, 0, 0),
                "--writes",
            ),
            (
                validate(&d.ring(), &Workload::Concurrent { writes: 10, keys: 1 }, 0, 0, 0),
                "--writes",
            ),
            (
                validate(&d.ring(), &Workload::Concurrent { writes: 1, keys: 4 }, 0, 0, 0),
                "--keys",
            ),
            (validate(&d.ring(), &d.workload, 4, 0, 0), "--crashes"),
            (validate(&d.ring(), &d.workload, 0, 4, 0), "--data-loss"),
            (validate(&d.ring(), &d.workload, 0, 0, 3), "--retries"),
        ];
        for (result, setting) in cases {
            let err = result.expect_err(setting);
            assert!(err.contains(setting), "{err}");
        }
    }
}
