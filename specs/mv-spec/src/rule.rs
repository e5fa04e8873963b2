//! The rules of `specs/protocol.md` and the fault actions, as ids a transition is labelled
//! with.
//!
//! TLC prints how often each action of a spec fired, so that a green run shows what it
//! exercised. mvcheck does the same at the level of the protocol's rules: every transition of
//! the model records the rules its handler ran, and `mvcheck check` prints a count per rule,
//! marking the rules of the variant that never fired. A rule that never fired is a part of the
//! write path the verdict says nothing about.
//!
//! The ids are vocabulary: the same strings appear in `protocol.md`, in the handlers that
//! implement them and in coverage reports.

use crate::variant::Design;
use serde::{Deserialize, Serialize};

/// A rule of the protocol, or a fault action of the environment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[repr(u8)]
pub enum Rule {
    /// The client sends the first write of its script.
    C1,
    /// The client records an answer and sends its next write.
    C2,
    /// The client retries a timed-out write with the same statement and timestamp.
    C3,
    /// The coordinator accepts a client write.
    W1,
    /// The coordinator sends the write to the batchlog nodes.
    W2,
    /// The coordinator sends the write to every base replica.
    W3,
    /// The coordinator counts a base replica's ack.
    W4,
    /// The coordinator answers `WriteOk`.
    W5,
    /// The coordinator's write timeout fires.
    W6,
    /// A batchlog node stores a coordinator batchlog entry.
    W7,
    /// A coordinator batchlog entry is removed after a quorum acked.
    W8,
    /// A batchlog node replays a coordinator batchlog entry.
    W9,
    /// The coordinator's write timeout stores a hint for each base replica that has not acked.
    W10,
    /// Hint delivery sends a base hint to its replica, through its write path.
    W11,
    /// A base replica's ack clears a base hint.
    W12,
    /// The write timeout stores no base hint for a replica down past `max_hint_window`.
    W13,
    /// A base write waits for the partition lock (its delivery is not taken).
    B1,
    /// A base replica appends the write to its commit log (the lock is held from here).
    B2,
    /// Read-before-write of the existing base row.
    B3,
    /// View-update generation.
    B4,
    /// A view mutation paired with the base replica itself is applied locally.
    B5,
    /// Remote view mutations are written to the local batchlog and sent.
    B6,
    /// The base apply is deferred to a step of its own.
    B7,
    /// The base apply, unlock and ack.
    B8,
    /// A view replica's ack removes a batchlog entry's target or a hint.
    B9,
    /// Batchlog replay hands unacknowledged mutations to the hint store.
    B10,
    /// Hint delivery sends the hints held for a view replica.
    B11,
    /// A view replica applies a view write from another node.
    V1,
    /// A view replica acks a view write that carries a batch id.
    V2,
    /// A node restarts from its disk.
    R1,
    /// Commit-log replay regenerates view updates for writes between their two halves.
    R2,
    /// Replay timers are re-armed for what the disk still holds.
    R3,
    /// Anti-entropy repair streams the parts of a base row a replica lacks through its write
    /// path.
    R4,
    /// A replacement node streams each partition it replicates from one live replica.
    R5,
    /// View repair of a partition: read the base at ALL and every view row, then R8 and R9.
    R6,
    /// View repair reinstates, through the write path, a base write only the view still holds.
    R8,
    /// View repair writes view rows and deletions derived from the base.
    R9,
    /// A node crashes.
    Crash,
    /// The network loses a message.
    Drop,
    /// A node loses its data for good.
    DataLoss,
    /// A down node's outage outlasts `max_hint_window`.
    HintWindow,
    /// The clock passes the TTL deadline, on every node at once.
    Expire,
}

impl Rule {
    /// Every rule, in report order.
    pub const ALL: [Rule; 42] = [
        Rule::C1,
        Rule::C2,
        Rule::C3,
        Rule::W1,
        Rule::W2,
        Rule::W3,
        Rule::W4,
        Rule::W5,
        Rule::W6,
        Rule::W7,
        Rule::W8,
        Rule::W9,
        Rule::W10,
        Rule::W11,
        Rule::W12,
        Rule::W13,
        Rule::B1,
        Rule::B2,
        Rule::B3,
        Rule::B4,
        Rule::B5,
        Rule::B6,
        Rule::B7,
        Rule::B8,
        Rule::B9,
        Rule::B10,
        Rule::B11,
        Rule::V1,
        Rule::V2,
        Rule::R1,
        Rule::R2,
        Rule::R3,
        Rule::R4,
        Rule::R5,
        Rule::R6,
        Rule::R8,
        Rule::R9,
        Rule::Crash,
        Rule::Drop,
        Rule::DataLoss,
        Rule::HintWindow,
        Rule::Expire,
    ];

    /// The id as `protocol.md` writes it.
    pub fn id(self) -> &'static str {
        match self {
            Rule::C1 => "C1",
            Rule::C2 => "C2",
            Rule::C3 => "C3",
            Rule::W1 => "W1",
            Rule::W2 => "W2",
            Rule::W3 => "W3",
            Rule::W4 => "W4",
            Rule::W5 => "W5",
            Rule::W6 => "W6",
            Rule::W7 => "W7",
            Rule::W8 => "W8",
            Rule::W9 => "W9",
            Rule::W10 => "W10",
            Rule::W11 => "W11",
            Rule::W12 => "W12",
            Rule::W13 => "W13",
            Rule::B1 => "B1",
            Rule::B2 => "B2",
            Rule::B3 => "B3",
            Rule::B4 => "B4",
            Rule::B5 => "B5",
            Rule::B6 => "B6",
            Rule::B7 => "B7",
            Rule::B8 => "B8",
            Rule::B9 => "B9",
            Rule::B10 => "B10",
            Rule::B11 => "B11",
            Rule::V1 => "V1",
            Rule::V2 => "V2",
            Rule::R1 => "R1",
            Rule::R2 => "R2",
            Rule::R3 => "R3",
            Rule::R4 => "R4",
            Rule::R5 => "R5",
            Rule::R6 => "R6",
            Rule::R8 => "R8",
            Rule::R9 => "R9",
            Rule::Crash => "crash",
            Rule::Drop => "drop",
            Rule::DataLoss => "data-loss",
            Rule::HintWindow => "hint-window",
            Rule::Expire => "expire",
        }
    }

    /// What firing the rule means, in a few words (for coverage tables).
    pub fn summary(self) -> &'static str {
        match self {
            Rule::C1 => "client sends its first write",
            Rule::C2 => "client gets an answer, sends its next write",
            Rule::C3 => "client retries a timed-out write (same timestamp)",
            Rule::W1 => "coordinator accepts a write",
            Rule::W2 => "coordinator writes its batchlog to the batchlog nodes",
            Rule::W3 => "coordinator sends the write to the base replicas",
            Rule::W4 => "coordinator counts a base replica's ack",
            Rule::W5 => "coordinator answers WriteOk",
            Rule::W6 => "coordinator's write timeout fires",
            Rule::W7 => "batchlog node stores the coordinator batchlog entry",
            Rule::W8 => "coordinator batchlog entry removed after a quorum",
            Rule::W9 => "coordinator batchlog replayed to base replicas",
            Rule::W10 => "write timeout hints each base replica that did not ack",
            Rule::W11 => "base hints delivered to a base replica",
            Rule::W12 => "base replica's ack clears a base hint",
            Rule::W13 => "no base hint for a replica down past max_hint_window",
            Rule::B1 => "base write waits for the partition lock",
            Rule::B2 => "base replica appends to its commit log (lock held)",
            Rule::B3 => "read-before-write of the existing base row",
            Rule::B4 => "view mutations generated",
            Rule::B5 => "self-paired view mutation applied locally",
            Rule::B6 => "remote view mutations batchlogged and sent",
            Rule::B7 => "base apply deferred to its own step",
            Rule::B8 => "base apply, unlock, ack",
            Rule::B9 => "view replica's ack clears a batchlog target or hint",
            Rule::B10 => "batchlog replay hands mutations to hints",
            Rule::B11 => "hints delivered to a view replica",
            Rule::V1 => "view replica applies a remote view write",
            Rule::V2 => "view replica acks a view write",
            Rule::R1 => "node restarts from its disk",
            Rule::R2 => "commit-log replay regenerates view updates",
            Rule::R3 => "replay timers re-armed after a restart",
            Rule::R4 => "repair streams a replica's missing cells through its write path",
            Rule::R5 => "a replacement node streams its partitions from live replicas",
            Rule::R6 => "view repair reads a partition's base at ALL and its view rows",
            Rule::R8 => "view repair reinstates a base write only the view still holds",
            Rule::R9 => "view repair writes view rows and deletions derived from the base",
            Rule::Crash => "a node crashes",
            Rule::Drop => "the network loses a message",
            Rule::DataLoss => "a node loses its data for good",
            Rule::HintWindow => "a down node's outage outlasts max_hint_window",
            Rule::Expire => "the clock passes the TTL deadline on every node",
        }
    }

    /// The rule's bit in a [`RuleSet`].
    pub const fn bit(self) -> u64 {
        1 << self as u8
    }

    /// Parses an id as [`Rule::id`] writes it.
    pub fn from_id(id: &str) -> Option<Rule> {
        Rule::ALL.into_iter().find(|r| r.id() == id)
    }
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.id())
    }
}

/// A set of rules: what one transition fired.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct RuleSet(pub u64);

impl RuleSet {
    /// Adds a rule.
    pub fn insert(&mut self, r: Rule) {
        self.0 |= r.bit();
    }

    /// Whether the set holds `r`.
    pub fn contains(self, r: Rule) -> bool {
        self.0 & r.bit() != 0
    }

    /// The rules in the set, in report order.
    pub fn iter(self) -> impl Iterator<Item = Rule> {
        Rule::ALL.into_iter().filter(move |r| self.contains(*r))
    }

    /// Whether no rule fired.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

/// How many transitions fired each rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Coverage(pub [u64; Rule::ALL.len()]);

impl Default for Coverage {
    fn default() -> Self {
        Coverage([0; Rule::ALL.len()])
    }
}

impl Coverage {
    /// Counts one transition that fired `rules`.
    #[inline]
    pub fn add(&mut self, rules: RuleSet) {
        let mut bits = rules.0;
        while bits != 0 {
            let i = bits.trailing_zeros() as usize;
            self.0[i] += 1;
            bits &= bits - 1;
        }
    }

    /// Adds another count into this one.
    pub fn merge(&mut self, other: &Coverage) {
        for (a, b) in self.0.iter_mut().zip(other.0) {
            *a += b;
        }
    }

    /// The count of one rule.
    pub fn get(&self, r: Rule) -> u64 {
        self.0[r as usize]
    }
}

/// What a configuration lets happen, beyond the variant's design: the fault budgets and the
/// recovery mechanisms that decide which rules are reachable.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Budgets {
    /// A crash budget.
    pub crashes: bool,
    /// `--lossy`.
    pub lossy: bool,
    /// A data-loss budget.
    pub data_loss: bool,
    /// Client retries (C3).
    pub retries: bool,
    /// A repair budget and more than one base replica (R4).
    pub repair: bool,
    /// Replacement streaming on and more than one replica (R5).
    pub streaming: bool,
    /// Outages may outlast `max_hint_window` (`--long-outages`).
    pub long_outages: bool,
    /// A view-repair budget (`--view-repairs`, R6).
    pub view_repair: bool,
    /// A workload that writes `USING TTL`, so the clock step exists.
    pub ttl: bool,
}

/// The rules a configuration should exercise: those its variant's design and its fault budgets
/// make reachable (`specs/protocol.md`, "Rule coverage"). The ring is not consulted on
/// purpose: a ring where every view write is self-paired should show B6 and V1 not covered.
///
/// Repair (R4) is expected when the configuration has a repair budget, more than one base
/// replica, and a crash or a data loss that can leave replicas apart once hints are done.
/// Replacement streaming (R5) is expected when a data loss has another replica to stream
/// from. An outage past the hint window needs a crash, and W13 needs base hints to skip.
/// View repair (R6, R9) is expected with a view-repair budget; it reinstates base writes (R8)
/// only where a view row can outlive its base row, which takes a data loss.
pub fn expected(design: &Design, b: &Budgets) -> RuleSet {
    use Rule::*;
    let mut s = RuleSet::default();
    for r in [C1, C2, W1, W3, W4, W5, W6, B2, B3, B4, B5, B6, B7, B8, V1] {
        s.insert(r);
    }
    let mut when = |on: bool, rules: &[Rule]| {
        if on {
            rules.iter().for_each(|r| s.insert(*r));
        }
    };
    when(design.coordinator_batchlog, &[W2, W7, W8, W9]);
    when(design.partition_lock, &[B1]);
    // A base write is lost only by a fault: then a coordinator that outlives it hints.
    when(
        design.base_hints && (b.crashes || b.lossy || b.data_loss),
        &[W10, W11, W12],
    );
    when(design.local_batchlog, &[B9, B10, B11, V2]);
    when(b.crashes, &[R1, R3, Crash]);
    when(b.crashes && design.replay_regenerates, &[R2]);
    when(b.lossy, &[Drop]);
    when(b.data_loss, &[DataLoss]);
    when(b.retries, &[C3]);
    when(b.repair && (b.crashes || b.data_loss), &[R4]);
    when(b.data_loss && b.streaming, &[R5]);
    let long = b.long_outages && b.crashes;
    when(long, &[HintWindow]);
    when(long && design.base_hints, &[W13]);
    when(b.view_repair, &[R6, R9]);
    when(b.view_repair && b.data_loss, &[R8]);
    when(b.ttl, &[Expire]);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bud(crashes: bool, lossy: bool, data_loss: bool, retries: bool, repair: bool, streaming: bool) -> Budgets {
        Budgets {
            crashes,
            lossy,
            data_loss,
            retries,
            repair,
            streaming,
            long_outages: false,
            view_repair: false,
            ttl: false,
        }
    }

    /// `Rule::ALL` lists every rule once, in declaration order, so `r as usize` indexes both
    /// `ALL` and `Coverage`, and ids round-trip.
    #[test]
    fn rule_table_is_consistent() {
        for (i, r) in Rule::ALL.into_iter().enumerate() {
            assert_eq!(r as usize, i, "{r} is out of order in Rule::ALL");
            assert_eq!(Rule::from_id(r.id()), Some(r));
            assert!(!r.summary().is_empty());
        }
        assert!(Rule::ALL.len() <= 64, "RuleSet is a u64 bitset");
    }

    #[test]
    fn coverage_counts_each_rule_of_a_transition() {
        let mut c = Coverage::default();
        let mut s = RuleSet::default();
        s.insert(Rule::B2);
        s.insert(Rule::DataLoss);
        c.add(s);
        c.add(s);
        let mut d = Coverage::default();
        d.add(RuleSet(Rule::B2.bit()));
        c.merge(&d);
        assert_eq!(c.get(Rule::B2), 3);
        assert_eq!(c.get(Rule::DataLoss), 2);
        assert_eq!(c.0.iter().sum::<u64>(), 5);
        assert_eq!(s.iter().collect::<Vec<_>>(), vec![Rule::B2, Rule::DataLoss]);
    }

    /// Each design choice and fault budget adds exactly its rules, and C3 comes with retries.
    #[test]
    fn expected_rules_follow_design_and_faults() {
        let bare = Design {
            deletion: crate::variant::DeletionStyle::ExpiredLiveness,
            single_slot: false,
            strict_liveness: true,
            ties_as_storage: true,
            limit_counts_strictly: true,
            partition_lock: false,
            local_batchlog: false,
            coordinator_batchlog: false,
            base_hints: false,
            replay_regenerates: false,
            batchlog_waits_for_remote: false,
            replace_through_write_path: false,
            repair: crate::variant::RepairStyle::Correct,
        };
        let base = expected(&bare, &bud(false, false, false, false, false, false));
        assert_eq!(base.iter().count(), 15);
        let full = Design {
            partition_lock: true,
            local_batchlog: true,
            coordinator_batchlog: true,
            base_hints: true,
            replay_regenerates: true,
            batchlog_waits_for_remote: true,
            ..bare
        };
        let all = expected(&full, &bud(true, true, true, false, false, false));
        assert_eq!(all.iter().count(), Rule::ALL.len() - 9);
        for r in [
            Rule::C3,
            Rule::R4,
            Rule::R5,
            Rule::HintWindow,
            Rule::W13,
            Rule::R6,
            Rule::R8,
            Rule::R9,
            Rule::Expire,
        ] {
            assert!(!all.contains(r), "{r}");
        }
        let everything = Budgets {
            long_outages: true,
            view_repair: true,
            ttl: true,
            ..bud(true, true, true, true, true, true)
        };
        // View repair reinstates base writes only where a data loss can leave a view row
        // without its base row.
        let view_repair = Budgets {
            view_repair: true,
            ..Budgets::default()
        };
        assert!(expected(&bare, &view_repair).contains(Rule::R9));
        assert!(!expected(&bare, &view_repair).contains(Rule::R8));
        assert_eq!(expected(&full, &everything).iter().count(), Rule::ALL.len());
        // The clock step exists only where a write carries a TTL.
        let ttl = Budgets {
            ttl: true,
            ..Budgets::default()
        };
        assert!(expected(&bare, &ttl).contains(Rule::Expire));
        assert!(!base.contains(Rule::Expire));
        // The hint window needs a crash to outlast, and W13 the base hints it skips.
        let long = Budgets {
            long_outages: true,
            ..Budgets::default()
        };
        assert!(!expected(&full, &long).contains(Rule::HintWindow));
        let long = Budgets { crashes: true, ..long };
        assert!(expected(&full, &long).contains(Rule::W13));
        assert!(!expected(&bare, &long).contains(Rule::W13));
        assert!(expected(&bare, &long).contains(Rule::HintWindow));
        // Streaming needs a data loss to replace.
        assert!(!expected(&full, &bud(true, true, false, true, true, true)).contains(Rule::R5));
        // Repair runs only where a fault can leave replicas apart.
        assert!(!expected(&full, &bud(false, true, false, false, true, false)).contains(Rule::R4));
        assert!(expected(&bare, &bud(false, false, true, false, true, false)).contains(Rule::R4));
        assert!(expected(
            &Design {
                partition_lock: true,
                ..bare
            },
            &Budgets::default()
        )
        .contains(Rule::B1));
        assert!(!base.contains(Rule::B1) && !base.contains(Rule::V2) && !base.contains(Rule::W9));
        assert!(!expected(&bare, &bud(true, false, false, false, false, false)).contains(Rule::R2));
        let regenerating = Design {
            replay_regenerates: true,
            ..bare
        };
        assert!(expected(&regenerating, &bud(true, false, false, false, false, false)).contains(Rule::R2));
        let hinted = Design {
            base_hints: true,
            replay_regenerates: true,
            ..bare
        };
        assert!(!expected(&hinted, &bud(false, false, false, false, false, false)).contains(Rule::W10));
        assert!(expected(&hinted, &bud(true, false, false, false, false, false)).contains(Rule::W11));
        assert!(!expected(&bare, &bud(true, true, true, false, false, false)).contains(Rule::W12));
        assert!(expected(&bare, &bud(false, true, false, false, false, false)).contains(Rule::Drop));
        assert!(expected(&bare, &bud(false, false, true, false, false, false)).contains(Rule::DataLoss));
        assert!(expected(&bare, &bud(false, false, false, true, false, false)).contains(Rule::C3));
    }
}
