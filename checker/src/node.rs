//! `mvcheck node`: one node of a local cluster as a process (`mv_impl::runtime`).

use crate::cli::PairingArg;
use crate::{Exit, Failure};
use clap::Args;
use mv_impl::runtime::host::{self, Log, NodeConfig};
use mv_spec::variant::Variant;
use mv_spec::{NodeId, Pairing, Ring};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

/// The flags of `mvcheck node`.
#[derive(Args, Debug, Clone)]
pub struct NodeArgs {
    /// This node's number in the ring (`n<ID>`).
    #[arg(long)]
    pub id: u8,
    /// Where to listen; must be this node's entry of the ring (default: that entry).
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// Every node's address in id order, comma-separated (this node's included).
    #[arg(long, value_delimiter = ',', conflicts_with = "cluster", value_name = "ADDR,...")]
    pub peers: Vec<SocketAddr>,
    /// A cluster file (`mvcheck cluster start` writes one): the ring, the variant, the time
    /// scale.
    #[arg(long, value_name = "FILE")]
    pub cluster: Option<PathBuf>,
    /// The data directory (created if missing; a node restarts from it).
    #[arg(long, value_name = "DIR")]
    pub data: PathBuf,
    /// The node's trace file (NDJSON; default DATA/trace.ndjson).
    #[arg(long, value_name = "FILE")]
    pub trace: Option<PathBuf>,
    /// Variant (with --peers; a cluster file names its own).
    #[arg(long, conflicts_with = "cluster")]
    pub variant: Option<String>,
    /// Replication factor (with --peers; default min(3, nodes)).
    #[arg(long, conflicts_with = "cluster")]
    pub rf: Option<u8>,
    /// Pairing rule (with --peers).
    #[arg(long, value_enum, conflicts_with = "cluster")]
    pub pairing: Option<PairingArg>,
    /// Real seconds per protocol second (timeouts, batchlog replay, hint dispatch).
    #[arg(long, value_name = "X", conflicts_with = "cluster")]
    pub time_scale: Option<f64>,
}

/// A cluster file: the ring and how its nodes run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterFile {
    /// Variant name.
    pub variant: String,
    /// Replication factor.
    pub rf: u8,
    /// `"self-first"` or `"positional"`.
    pub pairing: String,
    /// Real seconds per protocol second.
    pub time_scale: f64,
    /// Every node's address, in id order.
    pub nodes: Vec<SocketAddr>,
    /// Views on the base table: 1 (the schema's), or 0 for a benchmark's baseline.
    #[serde(default = "one_view", skip_serializing_if = "is_one_view")]
    pub views: u8,
    /// Whether the nodes record their traces (off only in `cluster bench --untraced`).
    #[serde(default = "traced", skip_serializing_if = "is_traced")]
    pub traced: bool,
}

fn traced() -> bool {
    true
}

fn is_traced(t: &bool) -> bool {
    *t
}

fn one_view() -> u8 {
    1
}

fn is_one_view(v: &u8) -> bool {
    *v == 1
}

impl ClusterFile {
    /// Reads and checks a cluster file.
    pub fn read(path: &Path) -> Result<ClusterFile, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let f: ClusterFile =
            serde_json::from_str(&text).map_err(|e| format!("{} is not a cluster file: {e}", path.display()))?;
        f.ring()
            .and_then(|_| f.variant())
            .map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(f)
    }

    /// The variant it names.
    pub fn variant(&self) -> Result<Variant, String> {
        Variant::from_name(&self.variant)
    }

    /// Its ring.
    pub fn ring(&self) -> Result<Ring, String> {
        let pairing = match self.pairing.as_str() {
            "self-first" => Pairing::SelfFirst,
            "positional" => Pairing::Positional,
            other => return Err(format!("pairing {other:?} is unknown (self-first or positional)")),
        };
        let nodes = u8::try_from(self.nodes.len())
            .ok()
            .filter(|n| (1..=7).contains(n))
            .ok_or_else(|| format!("{} nodes: a ring has 1 to 7", self.nodes.len()))?;
        if self.rf == 0 || self.rf > nodes {
            return Err(format!("rf {} must be 1..={nodes}", self.rf));
        }
        Ok(Ring {
            nodes,
            rf: self.rf,
            pairing,
        })
    }
}

/// The pairing rule's name as files spell it.
pub fn pairing_name(p: PairingArg) -> &'static str {
    match p {
        PairingArg::SelfFirst => "self-first",
        PairingArg::Positional => "positional",
    }
}

fn config(a: &NodeArgs) -> Result<NodeConfig, String> {
    let file = match &a.cluster {
        Some(path) => ClusterFile::read(path)?,
        None => {
            if a.peers.is_empty() {
                return Err("give the ring: --cluster FILE, or --peers ADDR,... with every node's address".into());
            }
            ClusterFile {
                variant: a.variant.clone().unwrap_or_else(|| "cassandra-4.0".into()),
                rf: a.rf.unwrap_or(a.peers.len().min(3) as u8),
                pairing: pairing_name(a.pairing.unwrap_or(PairingArg::SelfFirst)).into(),
                time_scale: a.time_scale.unwrap_or(1.0),
                nodes: a.peers.clone(),
                views: 1,
                traced: true,
            }
        }
    };
    let cfg = NodeConfig {
        id: NodeId(a.id),
        ring: file.ring()?,
        variant: file.variant()?,
        peers: file.nodes.clone(),
        data: a.data.clone(),
        trace: a.trace.clone().unwrap_or_else(|| a.data.join("trace.ndjson")),
        traced: file.traced,
        time_scale: file.time_scale,
        has_view: match file.views {
            0 => false,
            1 => true,
            v => {
                return Err(format!(
                    "views {v}: the node's store holds the schema's one view, or none"
                ))
            }
        },
    };
    cfg.validate()?;
    if let Some(listen) = a.listen {
        let mine = cfg.peers[usize::from(a.id)];
        if listen != mine {
            return Err(format!(
                "--listen {listen} differs from n{}'s address in the ring, {mine}",
                a.id
            ));
        }
    }
    Ok(cfg)
}

/// Runs the node until it is killed.
pub fn run(a: &NodeArgs) -> Result<Exit, Failure> {
    let cfg = config(a).map_err(Failure::Usage)?;
    let start = Instant::now();
    let log: Log = Arc::new(move |line: &str| {
        let t = start.elapsed();
        eprintln!("{:>6}.{:03} {line}", t.as_secs(), t.subsec_millis());
    });
    match host::run(cfg, log) {
        Ok(()) => Ok(Exit::Ok),
        Err(host::Stop::Input(e)) => Err(Failure::Usage(e)),
        Err(host::Stop::Failed(e)) => Err(Failure::Internal(e)),
    }
}
