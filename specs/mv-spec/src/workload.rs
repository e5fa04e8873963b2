//! Workloads: what the clients write.
//!
//! Vocabulary, not step logic: a trace header names its workload instead of listing
//! statements, so the model and the implementation must build the same clients from a name.
//! One definition, here, guarantees that.
//!
//! Each client runs a script: it sends one write, waits for `WriteOk` or `WriteTimeout`, then
//! sends the next. Concurrency comes from several clients; ordering within one client's
//! script is what turns a story ("set v to 1, then 2, then back to 1") into a workload.
//! Timestamps are chosen by the workload (`USING TIMESTAMP`) so that every run is
//! deterministic and last-write-wins decisions are visible in the trace.

use crate::{Assign, NodeId, Statement, WriteId};

/// One client's script and the node it sends to (its coordinator).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ClientScript {
    /// The coordinator this client talks to.
    pub coordinator: NodeId,
    /// The writes, in order.
    pub writes: Vec<(WriteId, Statement)>,
}

/// A named workload.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Workload {
    /// `writes` clients, client `i` sending `INSERT k=i%keys v=i+1 w=i+1 @i+1` to node
    /// `i % nodes`: concurrent writes that give the same base row different view keys.
    Concurrent {
        /// Number of clients (one write each).
        writes: u8,
        /// Number of base keys the writes spread over.
        keys: u8,
    },
    /// A1: one client sets v to 1, then 2, then back to 1; w is written only by the first.
    SwitchBack,
    /// A2: insert, delete the row, re-insert without w, then move v away and back.
    DeleteReinsert,
    /// A3: insert, update w at a later timestamp, then move v with a timestamp between.
    LateCell,
    /// CASSANDRA-11500's motivating case: as `late-cell`, then move v back with a timestamp
    /// not above the one of w.
    LateCellSwitchBack,
    /// One client inserts a row, then moves its view key: the smallest write that deletes a
    /// view row on one view replica and creates one on another.
    Switch,
    /// One client moves the view key of a row that already exists, fully replicated, when
    /// the run starts ([`Workload::preload`]): `switch` without its first write. Its one
    /// write deletes a view row on one view replica and creates one on another.
    MoveExisting,
    /// `switch-back` without its first write: the row (`v` = 1) exists, fully replicated,
    /// when the run starts; one client moves `v` to 2 and back to 1. The broken view repairs'
    /// default: a repair between the two moves meets the move back.
    MoveBack,
    /// Two clients on two coordinators mix every kind of statement on one row: an INSERT, an
    /// UPDATE of the view key, an UPDATE of the view key to null and a DELETE, with two
    /// concurrent writes at the same timestamp (the tie goes to the tombstone).
    Mixed,
    /// A9: two clients on two coordinators insert the same base row at the same timestamp
    /// with different view keys. Storage keeps the greater value, whatever order the two
    /// writes arrive in; a view-update generator that lets the later arrival win a tie
    /// follows the order instead.
    Tie,
    /// A17: two base rows, `k=0` and `k=1`, both with `v=1 w=1`, exist fully replicated when
    /// the run starts ([`Workload::preload`]); one client moves `k=0` to `v=2`. The view row
    /// `(1,0)` keeps `w=1` beside its expired marker, ahead of the live `(1,1)` in view
    /// partition 1: a `LIMIT 1` read of it must skip the first row to return the second.
    Limit,
    /// A4: one client writes the view key `USING TTL` (`UPDATE v=1 @1 USING TTL`), then `w`
    /// without one (`UPDATE w=1 @2`). Once the clock passes the deadline the base row lives on
    /// through `w` with `v` null, and its view row `(1,k)` must vanish although it holds the
    /// live `w`: only strict liveness hides it.
    TtlKey,
}

impl Workload {
    /// Names accepted by `--workload`.
    pub const NAMES: [&'static str; 12] = [
        "concurrent",
        "switch-back",
        "delete-reinsert",
        "late-cell",
        "late-cell-switch-back",
        "switch",
        "move-existing",
        "move-back",
        "mixed",
        "tie",
        "limit",
        "ttl-key",
    ];

    /// The workload's name.
    pub fn name(&self) -> &'static str {
        match self {
            Workload::Concurrent { .. } => "concurrent",
            Workload::SwitchBack => "switch-back",
            Workload::DeleteReinsert => "delete-reinsert",
            Workload::LateCell => "late-cell",
            Workload::LateCellSwitchBack => "late-cell-switch-back",
            Workload::Switch => "switch",
            Workload::MoveExisting => "move-existing",
            Workload::MoveBack => "move-back",
            Workload::Mixed => "mixed",
            Workload::Tie => "tie",
            Workload::Limit => "limit",
            Workload::TtlKey => "ttl-key",
        }
    }

    /// Parses a name; `writes` and `keys` size the concurrent workload.
    pub fn from_name(name: &str, writes: u8, keys: u8) -> Option<Workload> {
        Some(match name {
            "concurrent" => Workload::Concurrent { writes, keys },
            "switch-back" => Workload::SwitchBack,
            "delete-reinsert" => Workload::DeleteReinsert,
            "late-cell" => Workload::LateCell,
            "late-cell-switch-back" => Workload::LateCellSwitchBack,
            "switch" => Workload::Switch,
            "move-existing" => Workload::MoveExisting,
            "move-back" => Workload::MoveBack,
            "mixed" => Workload::Mixed,
            "tie" => Workload::Tie,
            "limit" => Workload::Limit,
            "ttl-key" => Workload::TtlKey,
            _ => return None,
        })
    }

    /// The statements of each client of a scripted workload, and the node it talks to.
    fn stories(&self) -> Vec<(NodeId, Vec<Statement>)> {
        use Assign::*;
        match self {
            Workload::Mixed => vec![
                (
                    NodeId(0),
                    vec![
                        Statement::insert(0, Some(1), Some(1), 1),
                        Statement::update(0, Set(2), Keep, 2),
                    ],
                ),
                (
                    NodeId(1),
                    vec![Statement::update(0, Null, Set(2), 2), Statement::delete(0, 3)],
                ),
            ],
            // On the default ring (RF 1 on 2 nodes) the base replica n0 receives `v=1` from
            // itself and `v=2` over the network, in either order.
            Workload::Tie => vec![
                (NodeId(0), vec![Statement::insert(0, Some(1), None, 1)]),
                (NodeId(1), vec![Statement::insert(0, Some(2), None, 1)]),
            ],
            // One client, on n1: on the default ring (RF 1 on 2 nodes, base row k=0 on n0)
            // its coordinator is not the base replica, so the base write crosses the network,
            // a crash of n0 can lose it, and the coordinator's hint (W10-W12) brings it back.
            // (On one node it is n0.)
            w => vec![(NodeId(1), w.story())],
        }
    }

    /// The statements of a single-client workload.
    fn story(&self) -> Vec<Statement> {
        use Assign::*;
        match self {
            Workload::Concurrent { .. } | Workload::Mixed | Workload::Tie => vec![],
            Workload::Switch => vec![
                Statement::insert(0, Some(1), Some(1), 1),
                Statement::update(0, Set(2), Keep, 2),
            ],
            Workload::MoveExisting => vec![Statement::update(0, Set(1), Keep, 2)],
            Workload::Limit => vec![Statement::update(0, Set(2), Keep, 2)],
            // An UPDATE writes no row marker, so once `v` expires only `w` keeps the base row.
            Workload::TtlKey => vec![
                Statement::update(0, Set(1), Keep, 1).with_ttl(true),
                Statement::update(0, Keep, Set(1), 2),
            ],
            Workload::MoveBack => vec![
                Statement::update(0, Set(2), Keep, 2),
                Statement::update(0, Set(1), Keep, 3),
            ],
            Workload::SwitchBack => vec![
                Statement::insert(0, Some(1), Some(1), 1),
                Statement::update(0, Set(2), Keep, 2),
                Statement::update(0, Set(1), Keep, 3),
            ],
            Workload::DeleteReinsert => vec![
                Statement::insert(0, Some(1), Some(1), 1),
                Statement::delete(0, 2),
                Statement::insert(0, Some(1), None, 3),
                Statement::update(0, Set(2), Keep, 4),
                Statement::update(0, Set(1), Keep, 5),
            ],
            Workload::LateCell => vec![
                Statement::insert(0, Some(1), Some(1), 1),
                Statement::update(0, Keep, Set(2), 3),
                Statement::update(0, Set(2), Keep, 2),
            ],
            Workload::LateCellSwitchBack => vec![
                Statement::insert(0, Some(1), Some(1), 1),
                Statement::update(0, Keep, Set(2), 3),
                Statement::update(0, Set(2), Keep, 2),
                Statement::update(0, Set(1), Keep, 3),
            ],
        }
    }

    /// The writes already applied everywhere when the run starts: on every base replica of
    /// their key, and their view updates on every view replica, as if each had been
    /// acknowledged at ALL and fully propagated before the first step. Each side applies them
    /// with its own write path; they are not client writes and nothing acknowledges them.
    pub fn preload(&self) -> Vec<Statement> {
        match self {
            Workload::MoveExisting => vec![Statement::insert(0, Some(2), Some(1), 1)],
            Workload::MoveBack => vec![Statement::insert(0, Some(1), Some(1), 1)],
            Workload::Limit => vec![
                Statement::insert(0, Some(1), Some(1), 1),
                Statement::insert(1, Some(1), Some(1), 1),
            ],
            _ => vec![],
        }
    }

    /// Whether some write of the workload carries a TTL: only then does the clock step
    /// (`Expire`) exist, since before and after the deadline read alike without one.
    pub fn has_ttl(&self) -> bool {
        self.scripts(1)
            .iter()
            .any(|s| s.writes.iter().any(|(_, stmt)| stmt.ttl))
            || self.preload().iter().any(|s| s.ttl)
    }

    /// The number of writes in the workload.
    pub fn len(&self) -> usize {
        match self {
            Workload::Concurrent { writes, .. } => *writes as usize,
            w => w.stories().iter().map(|s| s.1.len()).sum(),
        }
    }

    /// `(writes, keys)` as a trace header records them: the concurrent workload's size, or a
    /// script's length and 1.
    pub fn size(&self) -> (u8, u8) {
        match *self {
            Workload::Concurrent { writes, keys } => (writes, keys),
            w => (w.len() as u8, 1),
        }
    }

    /// Whether the workload writes nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The partitions anti-entropy repair may run on (R4): every key the workload writes,
    /// when there is a repair budget and more than one base replica to compare; else none.
    /// The model and the implementation offer repair on exactly these.
    pub fn repair_keys(&self, ring: &crate::Ring, repairs: u8) -> Vec<crate::Key> {
        if repairs == 0 || ring.rf < 2 {
            return Vec::new();
        }
        self.keys(ring.nodes)
    }

    /// The partitions the workload writes, in order: those a view repair (R6) may run on.
    pub fn keys(&self, nodes: u8) -> Vec<crate::Key> {
        let mut keys: Vec<crate::Key> = self
            .scripts(nodes)
            .iter()
            .flat_map(|s| s.writes.iter().map(|(_, stmt)| stmt.k))
            .chain(self.preload().iter().map(|s| s.k))
            .collect();
        keys.sort_unstable();
        keys.dedup();
        keys
    }

    /// The clients' scripts, with write ids numbered from 1.
    pub fn scripts(&self, nodes: u8) -> Vec<ClientScript> {
        match *self {
            Workload::Concurrent { writes, keys } => (0..writes)
                .map(|i| ClientScript {
                    coordinator: NodeId(i % nodes.max(1)),
                    writes: vec![(
                        WriteId(i + 1),
                        Statement::insert(i % keys.max(1), Some(i + 1), Some(i + 1), i + 1),
                    )],
                })
                .collect(),
            _ => {
                let mut next = 0u8;
                self.stories()
                    .into_iter()
                    .map(|(coordinator, story)| ClientScript {
                        coordinator: NodeId(coordinator.0 % nodes.max(1)),
                        writes: story
                            .into_iter()
                            .map(|s| {
                                next += 1;
                                (WriteId(next), s)
                            })
                            .collect(),
                    })
                    .collect()
            }
        }
    }
}
