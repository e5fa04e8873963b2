//! Flags (clap) and their validation into a model configuration, kept apart as ripgrep
//! keeps low-level arguments apart from validated settings.

use clap::{Args, Parser, Subcommand, ValueEnum};
use mv_model::{MvModelCfg, Variant, Workload};
use mv_spec::{Cl, Pairing};
use std::path::PathBuf;

/// Model-check Cassandra's materialized-view write path, and trace-test a reference
/// implementation against the model.
#[derive(Parser, Debug)]
#[command(name = "mvcheck", version, about, long_about = None, after_help = EXIT_HELP)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Check a model exhaustively (or up to a bound) and report a verdict per property.
    Check {
        #[command(flatten)]
        model: ModelArgs,
        #[command(flatten)]
        search: SearchArgs,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Random walks through the model; violations are saved like check's.
    Simulate {
        #[command(flatten)]
        model: ModelArgs,
        /// Seed of the random walks (printed, to reproduce).
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Number of walks.
        #[arg(long, default_value_t = 1000)]
        runs: u64,
        /// Steps per walk.
        #[arg(long, default_value_t = 200)]
        max_depth: usize,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Serve Stateright's explorer for the model.
    Explore {
        #[command(flatten)]
        model: ModelArgs,
        /// Address to listen on (loopback unless told otherwise).
        #[arg(long, default_value = "127.0.0.1:3000")]
        addr: String,
    },
    /// List every variant with what it changes and its expected verdict.
    Variants,
    /// Re-run a saved path (.itf.json) on the model and print every step.
    Replay {
        /// The file written by `check` or `simulate`.
        file: PathBuf,
        /// Report format.
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
    /// Run the reference implementation in a seeded simulation and write its trace (NDJSON).
    ImplSim(ImplSimArgs),
    /// Replay an implementation trace (NDJSON) on the model and check the properties along it.
    Validate {
        /// The trace (`specs/trace-format.md`, "NDJSON implementation traces"); `-` for
        /// stdin. Or the per-node traces of one cluster run (every node's and every client's
        /// `trace-*.ndjson`), merged by happens-before into one run first.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// Search for unrecorded steps where `seq` skips up to N of them (3 if N is omitted).
        #[arg(long, num_args = 0..=1, default_missing_value = "3", value_name = "N")]
        partial: Option<usize>,
        /// The run ended: the model must be quiescent after the last line, not merely agree
        /// with a prefix of a run.
        #[arg(long)]
        complete: bool,
        /// Report format.
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
        /// With per-node traces: also write the merged trace here (its line numbers are the
        /// ones a divergence names).
        #[arg(long, value_name = "FILE")]
        merged: Option<PathBuf>,
    },
    /// Run CQL against one in-process node of the reference implementation (like cqlsh).
    #[command(after_help = CQL_HELP)]
    Cql(CqlArgs),
    /// Tell whether the view is in sync with its base: classify every view row that
    /// disagrees, on a seeded simulation or at the end of a trace.
    #[command(after_help = VERIFY_HELP)]
    Verify(VerifyArgs),
    /// Repair the view in place, without dropping it: settle a seeded simulation, run the
    /// view repair (rules R6 to R9) on every partition out of sync, and verify again.
    #[command(after_help = REPAIR_HELP)]
    Repair(RepairArgs),
    /// Run one node of a local cluster as a process: the reference implementation over TCP,
    /// with its disk and its trace in files.
    Node(crate::node::NodeArgs),
    /// A local cluster of node processes on 127.0.0.1: start, stop, kill, restart, status,
    /// write, read, settle.
    Cluster(crate::cluster::ClusterArgs),
    /// Serve one node of the reference implementation over the CQL native protocol (v4), for
    /// cqlsh and the drivers.
    #[command(after_help = SERVE_HELP)]
    Serve(ServeArgs),
}

/// The part of `mvcheck serve --help` that flags cannot say.
const SERVE_HELP: &str = "\
The first line on stdout names the address served (with --addr 127.0.0.1:0, the port picked).
One node, one engine: keyspaces start empty, as on a fresh Cassandra node; views are built
before the next statement runs. Protocol v4 only; drivers offering v5 step down.
It serves until stopped. Exit codes: 2 bad flags or an address it cannot listen on.

Examples:
  mvcheck serve --addr 127.0.0.1:9042
  cqlsh 127.0.0.1 9042
  mvcheck serve --bench --bench-connections 1,16 --bench-seconds 3";

/// The part of `mvcheck repair --help` that flags cannot say.
const REPAIR_HELP: &str = "\
The simulation runs exactly as `mvcheck verify` with the same flags runs it; the repair
happens after it, once the write path has settled.

Exit codes: 0 in sync after the repair (with --dry-run: nothing to repair), 12 out of sync
(with --dry-run: something to repair), 3 the cluster does not settle, 2 bad flags.";

/// The flags of `mvcheck repair`.
#[derive(Args, Debug, Clone)]
pub struct RepairArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub sim: SimPoint,
    /// List the writes the repair would make, with their timestamps, and write nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// Where `verify` and `repair` look at a simulated cluster: a seeded run, cut after a number
/// of steps. The same flags give the same run to both.
#[derive(Args, Debug, Clone)]
pub struct SimPoint {
    /// Scheduler seed of the simulation.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Stop the simulation after this many steps (it also ends once only faults are left
    /// to do): `verify` checks the cluster there, `repair` settles and repairs it.
    #[arg(long, default_value_t = 1000)]
    pub steps: u64,
    /// Faults of the simulation, as `impl-sim --faults`: crash[=N], data-loss[=N], drop,
    /// dup, or none.
    #[arg(long)]
    pub faults: Option<String>,
}

/// The part of `mvcheck verify --help` that flags cannot say.
const VERIFY_HELP: &str = "\
Classes: MISSING_IN_VIEW (the base implies a row the view replica lacks), ORPHAN (a live view
row whose base row has no live view key), DUPLICATE (a second live view row for a live base
row), MISMATCH (the row exists with a different w or timestamp). PENDING marks a row that
queued work for its base key may still change (only before quiescence).

Exit codes: 0 in sync, 12 out of sync (rows listed), 3 not quiescent and every row pending,
20 the trace diverges from the model, 2 bad flags or input.";

/// The flags of `mvcheck verify`.
#[derive(Args, Debug, Clone)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// Check the model state this NDJSON trace (`-` for stdin), or this path saved by
    /// `check` or `simulate` (`.itf.json`), ends in, instead of a simulation. The file names
    /// the configuration; model flags are ignored.
    #[arg(long, value_name = "FILE")]
    pub trace: Option<PathBuf>,
    #[command(flatten)]
    pub sim: SimPoint,
    /// Report format: `json` prints one object per disagreeing row.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
}

/// The exit codes, as `crate::Exit` defines them.
const EXIT_HELP: &str = "\
Exit codes: 0 holds / valid, 1 internal error, 2 bad flags or input, 3 inconclusive (a bound
cut the search), 12 a property is violated (or --require-coverage found a rule not covered),
20 a trace diverges from the model.";

/// The part of `mvcheck cql --help` that flags cannot say.
const CQL_HELP: &str = "\
Shell commands (besides CQL; HELP at the prompt says more):
  ADVANCE CLOCK <milliseconds>;   move the manual clock forward (with --clock manual only);
                                  statements without USING TIMESTAMP get the clock in
                                  microseconds, and TTLs expire against it
  VIEW BUILD STATUS [view];       view builds: STARTED or SUCCESS, partitions built and pending
  WAIT FOR VIEW BUILDS;           return once every view build is done (a manual clock moves
                                  to that moment; on the system clock the shell sleeps, and
                                  Ctrl-C stops the wait)
  DESCRIBE KEYSPACES | TABLES | KEYSPACE [ks] | TABLE t | MATERIALIZED VIEW v | SCHEMA;
                                  CQL that recreates the schema (also DESC)
  HELP [topic]                    at the interactive prompt
  exit / quit / Ctrl-D            leave the interactive prompt; Ctrl-C cancels the statement

Script header: comment lines before the first statement may set `-- semantics: cassandra-3.0`
and `-- build-rate: N`; a flag that says otherwise is an error. A leading UTF-8 BOM is skipped.

Interactive history: $XDG_DATA_HOME/mvcheck/cql_history (else ~/.local/share/mvcheck/).

Exit codes: 0 every statement succeeded (or the interactive prompt was left), 2 a statement
of a script failed (the others still ran) or bad flags or input.";

/// The flags shared by every subcommand that builds a model. Unset flags take the variant's
/// default configuration.
#[derive(Args, Debug, Clone)]
pub struct ModelArgs {
    /// Variant (see `mvcheck variants`).
    #[arg(long, default_value = "cassandra-4.0")]
    pub variant: String,
    /// Number of nodes.
    #[arg(long)]
    pub nodes: Option<u8>,
    /// Replication factor.
    #[arg(long)]
    pub rf: Option<u8>,
    /// Paired-view-replica rule.
    #[arg(long, value_enum)]
    pub pairing: Option<PairingArg>,
    /// Consistency level of every write.
    #[arg(long, value_enum)]
    pub cl: Option<ClArg>,
    /// Workload: concurrent, switch, move-existing, move-back, mixed, tie, limit,
    /// switch-back, delete-reinsert, late-cell, late-cell-switch-back, ttl-key.
    #[arg(long)]
    pub workload: Option<String>,
    /// Number of concurrent writes (clients) of the `concurrent` workload.
    #[arg(long)]
    pub writes: Option<u8>,
    /// Number of base keys the `concurrent` workload spreads over.
    #[arg(long)]
    pub keys: Option<u8>,
    /// Crash-restart budget of a run.
    #[arg(long)]
    pub crashes: Option<u8>,
    /// Permanent data-loss budget of a run.
    #[arg(long)]
    pub data_loss: Option<u8>,
    /// Let the network lose messages (`--lossy` or `--lossy true`); `--lossy false` turns it
    /// off for a variant whose default loses them.
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub lossy: Option<bool>,
    /// With --lossy, how many messages a run may lose (default 2). The budget keeps the
    /// state space finite: every redelivery after a loss writes a new batchlog entry.
    #[arg(long)]
    pub drops: Option<u8>,
    /// How many times a client retries a write that timed out, with the same timestamp, as
    /// a new request to the same coordinator (rule C3; at most 2).
    #[arg(long)]
    pub retries: Option<u8>,
    /// Anti-entropy repair budget (rule R4): how many repairs a run may contain. A repair
    /// runs once the write path has settled and a partition's replicas differ, and streams
    /// what each replica lacks through its write path. Default: 1 for the correct variants.
    #[arg(long, conflicts_with = "no_repair")]
    pub repairs: Option<u8>,
    /// No anti-entropy repair (`--repairs 0`): what the write path, hints and replay alone
    /// guarantee.
    #[arg(long)]
    pub no_repair: bool,
    /// A node replaced after data loss starts blank, instead of streaming each partition it
    /// replicates from a live replica (rule R5): what repair alone must then restore.
    #[arg(long)]
    pub no_replace_streaming: bool,
    /// A crashed node may stay down past max_hint_window (3 h): from then until it
    /// restarts, no coordinator writes a base hint for it (rule W13; batchlog replay still
    /// hints view updates, as Cassandra's does). Without it every outage is shorter than
    /// the window, as the sync bound assumes.
    #[arg(long)]
    pub long_outages: bool,
    /// View-repair budget (rules R6 to R9): how many partition view repairs a run may
    /// contain (at most 4). A view repair reinstates in the base what only the view holds,
    /// then writes every view replica from the base. Default: 1 for the correct variants.
    #[arg(long, conflicts_with = "no_view_repair")]
    pub view_repairs: Option<u8>,
    /// No view repair (`--view-repairs 0`).
    #[arg(long)]
    pub no_view_repair: bool,
    /// Let a view repair run while base or view writes are on the wire. By default it runs
    /// between messages, when every write in progress is held by durable state: far fewer
    /// states, and some races with in-flight writes left out (specs/protocol.md, R6).
    #[arg(long)]
    pub view_repair_anytime: bool,
}

/// Search bounds and strategy.
#[derive(Args, Debug, Clone)]
pub struct SearchArgs {
    /// Search strategy.
    #[arg(long, value_enum, default_value_t = Strategy::Dfs)]
    pub strategy: Strategy,
    /// Worker threads.
    #[arg(long, default_value_t = 2)]
    pub threads: usize,
    /// Do not expand states at this depth (initial states are depth 1); at least 1.
    #[arg(long)]
    pub max_depth: Option<usize>,
    /// Visit at most this many unique states.
    #[arg(long)]
    pub max_states: Option<usize>,
    /// Stop after this many seconds.
    #[arg(long)]
    pub timeout: Option<u64>,
    /// Exit 12 when a rule the configuration should exercise never fired (see the coverage
    /// table), so CI can keep a configuration honest.
    #[arg(long)]
    pub require_coverage: bool,
    /// Skip K, the sync bound, which an exhaustive run with no violation computes by
    /// exploring the state space a second time.
    #[arg(long)]
    pub no_sync_bound: bool,
    /// P-bounded: exit 12 when K exceeds this many steps. Default: the variant's pinned K at
    /// its default configuration, and no bound at any other configuration.
    #[arg(long, value_name = "K")]
    pub max_sync_steps: Option<u32>,
}

/// Output settings.
#[derive(Args, Debug, Clone)]
pub struct OutputArgs {
    /// Report format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Print and save the counterexample of this property (default: the variant's anomaly,
    /// else the most specific violated property).
    #[arg(long, value_name = "ID")]
    pub property: Option<String>,
    /// Directory for counterexample files (created if missing), like Apalache's
    /// `_apalache-out`, so they do not pile up where mvcheck runs.
    #[arg(long, default_value = "_mvcheck-out")]
    pub out_dir: PathBuf,
}

/// Search strategy.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strategy {
    /// Depth-first: less memory; counterexamples are not the shortest.
    Dfs,
    /// Breadth-first: every counterexample and witness path is a shortest one.
    Bfs,
}

/// Report format.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Text for people.
    Human,
    /// One JSON object on stdout.
    Json,
}

/// Pairing rule.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum PairingArg {
    /// Cassandra's code: a base replica that replicates the view partition pairs with itself.
    SelfFirst,
    /// Seed 003: the i-th base replica pairs with the i-th view replica.
    Positional,
}

/// Consistency level.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClArg {
    /// ONE.
    One,
    /// QUORUM.
    Quorum,
    /// ALL.
    All,
}

impl ModelArgs {
    /// Validates the flags into a model configuration, or says what is wrong in one line.
    pub fn config(&self) -> Result<MvModelCfg, String> {
        let variant = Variant::from_name(&self.variant)?;
        let mut cfg = MvModelCfg::for_variant(variant);
        if let Some(n) = self.nodes {
            cfg.ring.nodes = n;
            // Keep the variant's RF unless it no longer fits and none was given.
            if self.rf.is_none() && cfg.ring.rf > n {
                cfg.ring.rf = n;
            }
        }
        if let Some(rf) = self.rf {
            cfg.ring.rf = rf;
        }
        if let Some(p) = self.pairing {
            cfg.ring.pairing = match p {
                PairingArg::SelfFirst => Pairing::SelfFirst,
                PairingArg::Positional => Pairing::Positional,
            };
        }
        if let Some(cl) = self.cl {
            cfg.cl = match cl {
                ClArg::One => Cl::One,
                ClArg::Quorum => Cl::Quorum,
                ClArg::All => Cl::All,
            };
        }
        if self.writes == Some(0) {
            return Err("--writes must be at least 1 (got 0)".into());
        }
        let (writes, keys) = match cfg.workload {
            Workload::Concurrent { writes, keys } => (self.writes.unwrap_or(writes), self.keys.unwrap_or(keys)),
            _ => (self.writes.unwrap_or(2), self.keys.unwrap_or(1)),
        };
        let name = self.workload.clone().unwrap_or_else(|| {
            if self.writes.is_some() || self.keys.is_some() {
                "concurrent".into()
            } else {
                cfg.workload.name().into()
            }
        });
        cfg.workload = Workload::from_name(&name, writes, keys).ok_or_else(|| {
            format!(
                "unknown workload {name:?}; known workloads: {}",
                Workload::NAMES.join(", ")
            )
        })?;
        if !matches!(cfg.workload, Workload::Concurrent { .. }) && (self.writes.is_some() || self.keys.is_some()) {
            return Err(format!(
                "--writes and --keys size the concurrent workload; {name} is a fixed script"
            ));
        }
        if let Some(c) = self.crashes {
            cfg.crashes = c;
        }
        if let Some(d) = self.data_loss {
            cfg.data_loss = d;
        }
        if let Some(l) = self.lossy {
            cfg.lossy = l;
        }
        if let Some(d) = self.drops {
            if !cfg.lossy {
                return Err("--drops bounds message loss, which needs --lossy".to_string());
            }
            cfg.drops = d;
        }
        if let Some(r) = self.retries {
            cfg.retries = r;
        }
        if let Some(r) = self.repairs {
            cfg.repairs = r;
        }
        if self.no_repair {
            cfg.repairs = 0;
        }
        if self.no_replace_streaming {
            cfg.replace_streaming = false;
        }
        if self.long_outages {
            cfg.long_outages = true;
        }
        if let Some(r) = self.view_repairs {
            cfg.view_repairs = r;
        }
        if self.no_view_repair {
            cfg.view_repairs = 0;
        }
        if self.view_repair_anytime {
            cfg.view_repair_anytime = true;
        }
        cfg.validate()?;
        Ok(cfg)
    }
}

/// The flags of `mvcheck impl-sim`.
#[derive(Args, Debug, Clone)]
pub struct ImplSimArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// Scheduler seed; the same seed gives the same trace, byte for byte.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// At most this many steps (the run also ends once only faults are left to do).
    #[arg(long, default_value_t = 1000)]
    pub steps: u64,
    /// Faults, comma-separated: crash[=N], data-loss[=N], drop, dup, or none. Budgets
    /// default to 1. Overrides --crashes, --data-loss and --lossy.
    #[arg(long, value_name = "LIST")]
    pub faults: Option<String>,
    /// Where to write the trace (required unless --bench or --bench-sync); `-` writes it to
    /// stdout and the report to stderr, so it pipes into `mvcheck validate -`.
    #[arg(long, required_unless_present_any = ["bench", "bench_sync"])]
    pub out: Option<PathBuf>,
    /// Validate the trace on the model after writing it.
    #[arg(long)]
    pub validate: bool,
    /// Measure instead: run seeds SEED, SEED+1, ... until --steps steps in total, recording
    /// and serializing every trace, and report steps per second.
    #[arg(long, conflicts_with_all = ["validate", "out"])]
    pub bench: bool,
    /// Measure how long the view takes to catch up: --runs runs in virtual time with
    /// Cassandra's constants, faults within --fault-window, each measured from the later of
    /// the last fault and the last client write to quiescence, against the model's bound T.
    #[arg(long, conflicts_with_all = ["validate", "out", "bench"])]
    pub bench_sync: bool,
    /// With --bench-sync: how many runs (seeds SEED, SEED+1, ...).
    #[arg(long, default_value_t = 10_000, requires = "bench_sync")]
    pub runs: u64,
    /// With --bench-sync: faults happen within this many milliseconds from the start. The
    /// default, 20 ms, is about as long as the writes take, so most faults hit work in
    /// progress; a longer window mostly crashes idle nodes.
    #[arg(long, default_value_t = 20, requires = "bench_sync", value_name = "MS")]
    pub fault_window: u64,
    /// With --bench-sync: override time constants, in milliseconds, comma-separated:
    /// write_request_timeout, batchlog_replay_interval, hint_dispatch_interval,
    /// max_hint_window, max_latency, max_local, max_restart.
    #[arg(long, requires = "bench_sync", value_name = "NAME=MS,...")]
    pub timing: Option<String>,
}

/// Where the node clock comes from.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClockArg {
    /// The system clock, read before every statement.
    System,
    /// Starts at `--now` (default: the current time); moves only with `ADVANCE CLOCK <ms>;`.
    Manual,
}

/// How results are printed.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum CqlFormat {
    /// cqlsh-like tables; warnings and errors on stderr.
    Human,
    /// Exactly one JSON line per top-level statement on stdout.
    Json,
}

/// Which view-maintenance rules the node follows.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum SemanticsArg {
    /// Cassandra 3.11.1+ / 4.x: expired-liveness markers and strict liveness.
    Current,
    /// Cassandra 3.0 before CASSANDRA-11500: shadowable row tombstones (seed 003).
    #[value(name = "cassandra-3.0")]
    Cassandra30,
}

/// The flags of `mvcheck cql`.
#[derive(Args, Debug, Clone)]
pub struct CqlArgs {
    /// Script to run; stdin when absent (an interactive prompt when stdin is a terminal).
    pub file: Option<PathBuf>,
    /// Output format: cqlsh-like tables, or one JSON line per top-level statement.
    #[arg(long, value_enum, default_value_t = CqlFormat::Human)]
    pub format: CqlFormat,
    /// Node clock: the system clock, or a manual clock moved by `ADVANCE CLOCK <ms>;`.
    #[arg(long, value_enum, default_value_t = ClockArg::System)]
    pub clock: ClockArg,
    /// View rules: current Cassandra, or 3.0's shadowable tombstones (seed 003). Default: the
    /// script's `-- semantics:` header line, else current.
    #[arg(long, value_enum)]
    pub semantics: Option<SemanticsArg>,
    /// Start of the manual clock in microseconds since the Unix epoch (default: now).
    #[arg(long, value_name = "MICROS")]
    pub now: Option<i64>,
    /// How fast a view over existing rows is built, in base rows per second of the node clock,
    /// or `unlimited` (the default: done before the next statement, as Cassandra builds a small
    /// table in milliseconds). Default: the script's `-- build-rate:` header line, else unlimited.
    #[arg(long, value_name = "ROWS_PER_SECOND", value_parser = build_rate_arg)]
    pub build_rate: Option<mv_impl::engine::BuildRate>,
}

fn build_rate_arg(s: &str) -> Result<mv_impl::engine::BuildRate, String> {
    mv_impl::engine::parse_build_rate(s)
}

/// The flags of `mvcheck serve`.
#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    /// Address to listen on; port 0 picks a free one (printed on the first line of stdout).
    #[arg(long, default_value = "127.0.0.1:9042")]
    pub addr: String,
    /// View rules: current Cassandra, or 3.0's shadowable tombstones (seed 003).
    #[arg(long, value_enum, default_value_t = SemanticsArg::Current)]
    pub semantics: SemanticsArg,
    /// Largest frame body accepted, in bytes; a larger one is refused and its connection
    /// closed (Cassandra's default is 16 MiB).
    #[arg(long, default_value_t = 16 * 1024 * 1024, value_name = "BYTES", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_frame_bytes: u32,
    /// `system.local.cluster_name`.
    #[arg(long, default_value = "mvcheck")]
    pub cluster_name: String,
    /// Instead of serving: start a server on a free loopback port and measure prepared INSERT
    /// and SELECT by key from a Rust client (requests/s, p50, p99).
    #[arg(long)]
    pub bench: bool,
    /// With --bench: the connection counts to measure, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,16", value_name = "N,...")]
    pub bench_connections: Vec<usize>,
    /// With --bench: seconds per measurement.
    #[arg(long, default_value_t = 3.0, value_name = "SECS")]
    pub bench_seconds: f64,
}
