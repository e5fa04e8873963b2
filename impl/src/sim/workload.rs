//! What the simulated clients write: the named workloads of `specs/protocol.md` ("Client").
//!
//! A trace names its workload rather than listing statements, so that the model can rebuild
//! the same clients from the header alone. The scripts here therefore must be the ones the
//! protocol document lists, statement for statement.

use mv_spec::{Assign, NodeId, Statement, WriteId};

/// One client's script and its coordinator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientScript {
    /// The node the client sends every write to.
    pub coordinator: NodeId,
    /// Its writes, sent one at a time.
    pub writes: Vec<(WriteId, Statement)>,
}

/// A named workload.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Workload {
    /// `writes` clients; client `i` sends `INSERT k=i%keys v=i+1 w=i+1 @i+1` to node
    /// `i % nodes`.
    Concurrent {
        /// Clients, one write each.
        writes: u8,
        /// Base keys.
        keys: u8,
    },
    /// A1: `v=1 w=1 @1`, `v=2 @2`, `v=1 @3`.
    SwitchBack,
    /// A2: insert, delete, re-insert without `w`, move `v` away and back.
    DeleteReinsert,
    /// A3: insert, a later `w`, then `v` moved at a timestamp in between.
    LateCell,
    /// CASSANDRA-11500: `late-cell`, then `v=1 @3`.
    LateCellSwitchBack,
}

impl Workload {
    /// Every name `from_name` accepts.
    pub const NAMES: [&'static str; 5] = [
        "concurrent",
        "switch-back",
        "delete-reinsert",
        "late-cell",
        "late-cell-switch-back",
    ];

    /// The name in trace headers and on the command line.
    pub fn name(&self) -> &'static str {
        match self {
            Workload::Concurrent { .. } => "concurrent",
            Workload::SwitchBack => "switch-back",
            Workload::DeleteReinsert => "delete-reinsert",
            Workload::LateCell => "late-cell",
            Workload::LateCellSwitchBack => "late-cell-switch-back",
        }
    }

    /// The workload called `name`; `writes` and `keys` size `concurrent`.
    pub fn from_name(name: &str, writes: u8, keys: u8) -> Option<Workload> {
        Some(match name {
            "concurrent" => Workload::Concurrent { writes, keys },
            "switch-back" => Workload::SwitchBack,
            "delete-reinsert" => Workload::DeleteReinsert,
            "late-cell" => Workload::LateCell,
            "late-cell-switch-back" => Workload::LateCellSwitchBack,
            _ => return None,
        })
    }

    fn story(&self) -> Vec<Statement> {
        use Assign::{Keep, Set};
        match self {
            Workload::Concurrent { .. } => Vec::new(),
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

    /// `(writes, keys)` as a trace header records them: the concurrent workload's size, or a
    /// script's length and 1.
    pub fn size(&self) -> (u8, u8) {
        match *self {
            Workload::Concurrent { writes, keys } => (writes, keys),
            w => (w.story().len() as u8, 1),
        }
    }

    /// The clients' scripts, write ids numbered from 1 across the workload.
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
            w => vec![ClientScript {
                coordinator: NodeId(0),
                writes: w
                    .story()
                    .into_iter()
                    .enumerate()
                    .map(|(i, s)| (WriteId(i as u8 + 1), s))
                    .collect(),
            }],
        }
    }
}
