//! Variants: the correct designs and the broken ones.
//!
//! A variant is a set of design choices ([`Rules`]). The two correct designs are Cassandra
//! 3.0's (shadowable tombstones) and 4.0's (expired liveness markers with strict liveness),
//! each with and without the coordinator batchlog. Each broken variant takes one choice
//! away and reproduces one anomaly of `../shared/reference/mv-anomalies-and-peers.md`.

use crate::workload::Workload;
use mv_spec::props::Kind;
use mv_spec::{Cl, Pairing};

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

/// The design choices a variant makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Rules {
    /// How the old view row is deleted.
    pub deletion: DeletionStyle,
    /// A view row stores one deletion slot instead of a regular and a shadowable one (A2).
    pub single_slot: bool,
    /// Reads of the view use strict liveness.
    pub strict_liveness: bool,
    /// The base replica holds the partition lock across read-before-write and apply (A8).
    pub partition_lock: bool,
    /// Remote view updates go through the local batchlog (A11).
    pub local_batchlog: bool,
    /// The coordinator writes a batchlog to a quorum before forwarding (CASSANDRA-10230).
    pub coordinator_batchlog: bool,
}

/// Every variant `mvcheck check --variant NAME` accepts.
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
    /// 4.0 without strict liveness (A3).
    NonStrictLiveness,
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

/// A variant's default configuration: the smallest one in which what it is about shows.
#[derive(Clone, Debug)]
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
}

impl Variant {
    /// All variants, correct ones first.
    pub const ALL: [Variant; 9] = [
        Variant::Cassandra30,
        Variant::Cassandra30Cbl,
        Variant::Cassandra40,
        Variant::Cassandra40Cbl,
        Variant::NoPartitionLock,
        Variant::RegularTombstone,
        Variant::NoLocalBatchlog,
        Variant::SingleDeletionSlot,
        Variant::NonStrictLiveness,
    ];

    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Variant::Cassandra30 => "cassandra-3.0",
            Variant::Cassandra30Cbl => "cassandra-3.0+coordinator-batchlog",
            Variant::Cassandra40 => "cassandra-4.0",
            Variant::Cassandra40Cbl => "cassandra-4.0+coordinator-batchlog",
            Variant::NoPartitionLock => "no-partition-lock",
            Variant::RegularTombstone => "regular-tombstone",
            Variant::NoLocalBatchlog => "no-local-batchlog",
            Variant::SingleDeletionSlot => "single-deletion-slot",
            Variant::NonStrictLiveness => "non-strict-liveness",
        }
    }

    /// Parses a variant name.
    pub fn from_name(name: &str) -> Option<Variant> {
        Variant::ALL.into_iter().find(|v| v.name() == name)
    }

    /// Whether this is one of Cassandra's own (correct) designs.
    pub fn is_correct(self) -> bool {
        matches!(
            self,
            Variant::Cassandra30 | Variant::Cassandra30Cbl | Variant::Cassandra40 | Variant::Cassandra40Cbl
        )
    }

    /// One line on what the variant changes.
    pub fn description(self) -> &'static str {
        match self {
            Variant::Cassandra30 => "shadowable tombstone for the old view row, regular deletion kept beside it (3.0.0-3.11.0, CASSANDRA-10261/13409)",
            Variant::Cassandra30Cbl => "cassandra-3.0 plus a coordinator batchlog written to a quorum before forwarding (CASSANDRA-10230)",
            Variant::Cassandra40 => "expired liveness marker at the old view key's timestamp, strict liveness (3.11.1+, CASSANDRA-11500)",
            Variant::Cassandra40Cbl => "cassandra-4.0 plus a coordinator batchlog written to a quorum before forwarding (CASSANDRA-10230)",
            Variant::NoPartitionLock => "A8: cassandra-4.0 without the partition lock around read-before-write",
            Variant::RegularTombstone => "A1: cassandra-3.0 with an ordinary row tombstone instead of a shadowable one",
            Variant::NoLocalBatchlog => "A11: cassandra-4.0 sending remote view updates without a local batchlog",
            Variant::SingleDeletionSlot => "A2: cassandra-3.0 storing one deletion slot, so a shadowable deletion overwrites a regular one",
            Variant::NonStrictLiveness => "A3: cassandra-4.0 reading the view without strict liveness",
        }
    }

    /// The design choices.
    pub fn rules(self) -> Rules {
        let v30 = Rules {
            deletion: DeletionStyle::Shadowable,
            single_slot: false,
            strict_liveness: false,
            partition_lock: true,
            local_batchlog: true,
            coordinator_batchlog: false,
        };
        let v40 = Rules {
            deletion: DeletionStyle::ExpiredLiveness,
            strict_liveness: true,
            ..v30
        };
        match self {
            Variant::Cassandra30 => v30,
            Variant::Cassandra30Cbl => Rules {
                coordinator_batchlog: true,
                ..v30
            },
            Variant::Cassandra40 => v40,
            Variant::Cassandra40Cbl => Rules {
                coordinator_batchlog: true,
                ..v40
            },
            Variant::NoPartitionLock => Rules {
                partition_lock: false,
                ..v40
            },
            Variant::RegularTombstone => Rules {
                deletion: DeletionStyle::Regular,
                ..v30
            },
            Variant::NoLocalBatchlog => Rules {
                local_batchlog: false,
                ..v40
            },
            Variant::SingleDeletionSlot => Rules {
                single_slot: true,
                ..v30
            },
            Variant::NonStrictLiveness => Rules {
                strict_liveness: false,
                ..v40
            },
        }
    }

    /// The default configuration. Correct variants get the default model: 3 nodes,
    /// RF 3, QUORUM, two clients writing the same base row with different view keys, one
    /// crash. Broken variants get the smallest configuration in which their anomaly shows.
    pub fn defaults(self) -> Defaults {
        let base = Defaults {
            nodes: 3,
            rf: 3,
            pairing: Pairing::SelfFirst,
            cl: Cl::Quorum,
            workload: Workload::Concurrent { writes: 2, keys: 1 },
            crashes: 1,
            data_loss: 0,
            lossy: false,
        };
        match self {
            Variant::Cassandra30 | Variant::Cassandra40 => base,
            // The coordinator batchlog triples the messages of a write: one write, one crash.
            Variant::Cassandra30Cbl | Variant::Cassandra40Cbl => Defaults {
                workload: Workload::Concurrent { writes: 1, keys: 1 },
                ..base
            },
            Variant::NoPartitionLock => Defaults {
                nodes: 2,
                rf: 2,
                crashes: 0,
                ..base
            },
            Variant::RegularTombstone => Defaults {
                nodes: 2,
                rf: 1,
                cl: Cl::All,
                workload: Workload::SwitchBack,
                crashes: 0,
                ..base
            },
            // A remote paired view replica (RF 1 on 2 nodes) and a network that loses messages.
            Variant::NoLocalBatchlog => Defaults {
                nodes: 2,
                rf: 1,
                cl: Cl::All,
                workload: Workload::Concurrent { writes: 1, keys: 1 },
                crashes: 0,
                lossy: true,
                ..base
            },
            Variant::SingleDeletionSlot => Defaults {
                nodes: 2,
                rf: 1,
                cl: Cl::All,
                workload: Workload::DeleteReinsert,
                crashes: 0,
                ..base
            },
            Variant::NonStrictLiveness => Defaults {
                nodes: 2,
                rf: 1,
                cl: Cl::All,
                workload: Workload::LateCell,
                crashes: 0,
                ..base
            },
        }
    }

    /// The property an anomaly is about (`None` for the correct variants).
    pub fn anomaly_property(self) -> Option<&'static str> {
        match self {
            Variant::NoPartitionLock | Variant::NonStrictLiveness => Some("P-one-row"),
            Variant::RegularTombstone | Variant::SingleDeletionSlot => Some("P-cells"),
            Variant::NoLocalBatchlog => Some("P-no-missing"),
            _ => None,
        }
    }

    /// The verdict expected from `mvcheck check --variant NAME` with no other flags, for
    /// the property `id` (as written in `specs/properties.md`).
    pub fn expected(self, id: &str, kind: Kind) -> Expected {
        // Witnesses the default configuration cannot reach, and why:
        // * one write never moves or deletes a view row (coordinator batchlog, no-local-batchlog);
        // * in regular-tombstone the only quiescent state is the final one, where w is hidden;
        // * in non-strict-liveness the switched-away row stays visible, so none looks deleted.
        let (violated, not_found): (&[&str], &[&str]) = match self {
            Variant::Cassandra30 | Variant::Cassandra40 => (&[], &[]),
            Variant::Cassandra30Cbl | Variant::Cassandra40Cbl => (&[], &["P-no-orphan:witness", "P-one-row:witness"]),
            Variant::NoPartitionLock => (&["P-converge", "P-one-row"], &[]),
            Variant::RegularTombstone => (&["P-converge", "P-cells"], &["P-cells:witness"]),
            Variant::NoLocalBatchlog => (
                &["P-converge", "P-no-missing", "P-durable"],
                &["P-no-orphan:witness", "P-one-row:witness"],
            ),
            Variant::SingleDeletionSlot => (&["P-converge", "P-cells"], &[]),
            Variant::NonStrictLiveness => (
                &["P-converge", "P-one-row"],
                &["P-no-orphan:witness", "P-one-row:witness"],
            ),
        };
        match kind {
            Kind::Always if violated.contains(&id) => Expected::Violated,
            Kind::Always => Expected::Holds,
            Kind::Sometimes if not_found.contains(&id) => Expected::NotFound,
            Kind::Sometimes => Expected::Found,
        }
    }
}
