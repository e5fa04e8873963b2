//! `mvcheck cluster`: a local cluster of `mvcheck node` processes on 127.0.0.1, managed
//! through files in one directory D:
//!
//! * `cluster.json`: the ring (the cluster file every node reads);
//! * `n<i>/`: node i's data; `n<i>.pid`, `n<i>.log`; `trace-n<i>.ndjson`: its trace;
//! * `writes.ndjson`: every client write the `write` verb sent, with its outcome;
//! * `trace-c<i>.ndjson`: each client's trace (its answers, with its Lamport clock).

use crate::cli::{ClArg, Format, PairingArg};
use crate::node::{pairing_name, ClusterFile};
use crate::{Exit, Failure};
use clap::{Args, Subcommand};
use mv_impl::runtime::client::{self, Answer, Client};
use mv_impl::runtime::frame::NodeStatus;
use mv_impl::runtime::{NodeTraceHeader, NodeTraceLine, RunSpec, NODE_TRACE_FORMAT};
use mv_spec::obs::{NodeObservation, Observation, Outcome, WriteRecord};
use mv_spec::rng::SplitMix64;
use mv_spec::timing::Timing;
use mv_spec::trace::{After, ClientObservation, Step};
use mv_spec::workload::Workload;
use mv_spec::{Assign, Cl, Msg, NodeId, ReadRules, Statement, WriteId};
use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::net::{SocketAddr, TcpListener};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The flags of `mvcheck cluster`.
#[derive(Args, Debug, Clone)]
pub struct ClusterArgs {
    /// The cluster's directory.
    #[arg(long, global = true, value_name = "DIR", default_value = "mvcheck-cluster")]
    pub dir: PathBuf,
    /// What to do.
    #[command(subcommand)]
    pub verb: Verb,
}

/// The verbs of `mvcheck cluster`.
#[derive(Subcommand, Debug, Clone)]
pub enum Verb {
    /// Start N node processes on 127.0.0.1, one port each, and wait until each answers.
    Start {
        /// Number of nodes (1 to 7).
        #[arg(long, default_value_t = 3)]
        nodes: u8,
        /// Replication factor.
        #[arg(long, default_value_t = 3)]
        rf: u8,
        /// Variant (see `mvcheck variants`).
        #[arg(long, default_value = "cassandra-4.0")]
        variant: String,
        /// Pairing rule.
        #[arg(long, value_enum, default_value_t = PairingArg::SelfFirst)]
        pairing: PairingArg,
        /// Real seconds per protocol second: 0.01 runs the 2 s write timeout in 20 ms.
        #[arg(long, default_value_t = 1.0, value_name = "X")]
        time_scale: f64,
        /// First port (the others follow); default: free ports the system picks.
        #[arg(long, value_name = "PORT")]
        base_port: Option<u16>,
        /// Views on the base table: 1, the schema's, or 0 for a benchmark's baseline that
        /// no model run is (its traces are refused by `validate`).
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(0..=1))]
        views: u8,
    },
    /// Stop every node (SIGTERM, then SIGKILL after 5 s). Their disks stay.
    Stop,
    /// SIGKILL one node (`n1` or `1`).
    Kill {
        /// The node.
        node: String,
    },
    /// Start one node again from its disk (killing it first if it runs).
    Restart {
        /// The node.
        node: String,
    },
    /// Each node: process, clock, steps, queued work, idle or not.
    Status {
        /// Report format.
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
    /// Send client writes, one at a time, each to a coordinator in turn, and record their
    /// outcomes in writes.ndjson.
    Write {
        /// How many writes (the cluster's life holds at most 31: write ids are w1..w31).
        #[arg(long, default_value_t = 10)]
        count: u8,
        /// Seed of the workload generator.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Partitions written (k = 0..KEYS).
        #[arg(long, default_value_t = 2)]
        keys: u8,
        /// View keys the writes move between (v = 1..=VALUES).
        #[arg(long, default_value_t = 3)]
        values: u8,
        /// Consistency level.
        #[arg(long, value_enum, default_value_t = ClArg::Quorum)]
        cl: ClArg,
        /// Send every write to this node instead of rotating.
        #[arg(long)]
        node: Option<String>,
        /// Instead of generated writes, a model workload's clients (`switch`, `concurrent`
        /// with --count writes over --keys, ...), each a thread, on a cluster nobody has
        /// written to: a run the model can be asked about.
        #[arg(long, conflicts_with = "node")]
        workload: Option<String>,
        /// With --workload: client c<i> sends its first write i*MS milliseconds after c0,
        /// so that a kill can land between the clients' writes.
        #[arg(long, default_value_t = 0, value_name = "MS", requires = "workload")]
        spread: u64,
    },
    /// Read every node's base and view tables, and check the view against the base.
    Read {
        /// Only this node's tables.
        #[arg(long)]
        node: Option<String>,
        /// Report format.
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
    /// Measure fresh clusters: write throughput and latency from concurrent clients, then
    /// SIGKILL n1, write on, restart it and time how long the cluster takes to catch up
    /// (every node idle: hints delivered, views written). Round i is a new cluster in
    /// DIR/round-<i>, stopped at its end; a cluster's life holds 31 writes (w1..w31), 20
    /// before the kill and 11 after.
    Bench {
        /// Views on the base table: 1, or 0 for the baseline.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(0..=1))]
        views: u8,
        /// Clusters to run.
        #[arg(long, default_value_t = 5)]
        rounds: u32,
        /// Concurrent clients.
        #[arg(long, default_value_t = 4)]
        clients: u8,
        /// Number of nodes.
        #[arg(long, default_value_t = 3)]
        nodes: u8,
        /// Replication factor.
        #[arg(long, default_value_t = 3)]
        rf: u8,
        /// Consistency level.
        #[arg(long, value_enum, default_value_t = ClArg::Quorum)]
        cl: ClArg,
        /// Real seconds per protocol second (0.05: a 100 ms write timeout, hints every 0.5 s).
        #[arg(long, default_value_t = 0.05, value_name = "X")]
        time_scale: f64,
        /// Seed of the writes.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// The nodes record no trace: what the write path costs without the recording that
        /// makes a run checkable (Cassandra records none).
        #[arg(long)]
        untraced: bool,
    },
    /// Anti-entropy repair (R4, `nodetool repair`) of every partition whose replicas differ,
    /// or of --key: each run by the partition's first base replica on the settled cluster,
    /// which then settles again. A repair is a step of the trace (`Repair`).
    Repair {
        /// Only this partition.
        #[arg(long)]
        key: Option<u8>,
    },
    /// Wait until every node is up and idle and no clock moves between two looks.
    Settle {
        /// Give up after this many seconds (exit 3).
        #[arg(long, default_value_t = 60.0)]
        timeout: f64,
    },
}

/// One client write as `writes.ndjson` records it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WriteLog {
    /// The client, `c<i>`.
    pub client: String,
    /// The write id.
    pub write: WriteId,
    /// The statement.
    pub stmt: Statement,
    /// Its consistency level.
    pub cl: Cl,
    /// The coordinator it went to (`null`: no node was reachable).
    pub coordinator: Option<String>,
    /// `Ok`, `Timeout` (the coordinator's answers), `NoAnswer` or `NotSent`.
    pub outcome: String,
}

fn usage(e: impl std::fmt::Display) -> Failure {
    Failure::Usage(e.to_string())
}

struct Dir<'a>(&'a Path);

impl Dir<'_> {
    fn file(&self) -> PathBuf {
        self.0.join("cluster.json")
    }
    fn pid(&self, i: u8) -> PathBuf {
        self.0.join(format!("n{i}.pid"))
    }
    fn log(&self, i: u8) -> PathBuf {
        self.0.join(format!("n{i}.log"))
    }
    fn data(&self, i: u8) -> PathBuf {
        self.0.join(format!("n{i}"))
    }
    fn trace(&self, name: &str) -> PathBuf {
        self.0.join(format!("trace-{name}.ndjson"))
    }
    fn writes(&self) -> PathBuf {
        self.0.join("writes.ndjson")
    }
    fn cluster(&self) -> Result<ClusterFile, Failure> {
        ClusterFile::read(&self.file()).map_err(|e| {
            usage(format!(
                "{e} (is {} a cluster? `mvcheck cluster start` makes one)",
                self.0.display()
            ))
        })
    }
}

/// `n1` or `1` as a node number of the cluster.
fn node_number(s: &str, nodes: usize) -> Result<u8, Failure> {
    let digits = s.strip_prefix('n').unwrap_or(s);
    match digits.parse::<u8>() {
        Ok(i) if usize::from(i) < nodes => Ok(i),
        _ => Err(usage(format!(
            "{s:?} is not a node of this {nodes}-node cluster (n0..n{})",
            nodes - 1
        ))),
    }
}

/// Whether process `pid` runs (a zombie does not).
/// Whether process `pid` still runs, or still holds what it held (its port, its database's
/// lock). A SIGKILLed process's main thread turns zombie first while its other threads are
/// still exiting with the files open, so every thread is looked at, not only the first.
fn alive(pid: i32) -> bool {
    let state = |stat: String| {
        stat.rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next().map(str::to_string))
            .is_some_and(|state| state != "Z" && state != "X")
    };
    match std::fs::read_dir(format!("/proc/{pid}/task")) {
        Ok(tasks) => tasks
            .flatten()
            .any(|t| std::fs::read_to_string(t.path().join("stat")).is_ok_and(state)),
        Err(_) => false,
    }
}

fn read_pid(path: &Path) -> Option<i32> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

fn signal(pid: i32, sig: i32) {
    // SAFETY: kill(2) with a pid read from our own pidfile; it has no memory effects.
    unsafe {
        libc::kill(pid, sig);
    }
}

/// Kills node `i` with `sig` and waits until it is gone (SIGKILL after `grace`).
fn kill_node(d: &Dir, i: u8, sig: i32, grace: Duration) -> Option<i32> {
    let pid = read_pid(&d.pid(i)).filter(|&p| alive(p))?;
    signal(pid, sig);
    let start = Instant::now();
    while alive(pid) {
        if start.elapsed() > grace {
            signal(pid, libc::SIGKILL);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    Some(pid)
}

fn spawn_node(d: &Dir, i: u8) -> Result<i32, Failure> {
    let exe =
        std::env::current_exe().map_err(|e| Failure::Internal(format!("cannot find mvcheck's own binary: {e}")))?;
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(d.log(i))
        .map_err(|e| usage(format!("cannot open {}: {e}", d.log(i).display())))?;
    let err = log.try_clone().map_err(|e| Failure::Internal(e.to_string()))?;
    let child = Command::new(exe)
        .arg("node")
        .arg("--cluster")
        .arg(d.file())
        .arg("--id")
        .arg(i.to_string())
        .arg("--data")
        .arg(d.data(i))
        .arg("--trace")
        .arg(d.trace(&format!("n{i}")))
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(err)
        // Its own process group: a signal to the caller's group (Ctrl-C on `cluster start`)
        // does not reach the nodes, which outlive it.
        .process_group(0)
        .spawn()
        .map_err(|e| Failure::Internal(format!("cannot start n{i}: {e}")))?;
    let pid = child.id() as i32;
    std::fs::write(d.pid(i), format!("{pid}\n"))
        .map_err(|e| usage(format!("cannot write {}: {e}", d.pid(i).display())))?;
    Ok(pid)
}

fn log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(5)..].join("\n  ")
}

/// Waits until node `i` answers a status request.
fn wait_up(d: &Dir, f: &ClusterFile, i: u8, pid: i32) -> Result<NodeStatus, Failure> {
    let start = Instant::now();
    loop {
        if let Ok(st) = client::status(f.nodes[usize::from(i)], Duration::from_millis(500)) {
            return Ok(st);
        }
        if !alive(pid) || start.elapsed() > Duration::from_secs(20) {
            return Err(Failure::Internal(format!(
                "n{i} did not come up (pid {pid}); the end of {}:\n  {}",
                d.log(i).display(),
                log_tail(&d.log(i))
            )));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn free_ports(n: u8, base: Option<u16>) -> Result<Vec<SocketAddr>, Failure> {
    (0..n)
        .map(|i| match base {
            Some(p) => {
                let port = p
                    .checked_add(u16::from(i))
                    .ok_or_else(|| usage(format!("--base-port {p}: port {p}+{i} does not exist")))?;
                Ok(SocketAddr::from(([127, 0, 0, 1], port)))
            }
            None => TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .map_err(|e| Failure::Internal(format!("no free port: {e}"))),
        })
        .collect()
}

/// Runs a verb.
pub fn run(a: &ClusterArgs) -> Result<Exit, Failure> {
    let d = Dir(&a.dir);
    match &a.verb {
        Verb::Start {
            nodes,
            rf,
            variant,
            pairing,
            time_scale,
            base_port,
            views,
        } => start(&d, *nodes, *rf, variant, *pairing, *time_scale, *base_port, *views),
        Verb::Stop => {
            let f = d.cluster()?;
            for i in 0..f.nodes.len() as u8 {
                match kill_node(&d, i, libc::SIGTERM, Duration::from_secs(5)) {
                    Some(pid) => println!("n{i}: stopped (pid {pid})"),
                    None => println!("n{i}: not running"),
                }
            }
            Ok(Exit::Ok)
        }
        Verb::Kill { node } => {
            let f = d.cluster()?;
            let i = node_number(node, f.nodes.len())?;
            match kill_node(&d, i, libc::SIGKILL, Duration::from_secs(5)) {
                Some(pid) => println!("n{i}: killed (pid {pid}, SIGKILL)"),
                None => println!("n{i}: not running"),
            }
            Ok(Exit::Ok)
        }
        Verb::Restart { node } => {
            let f = d.cluster()?;
            let i = node_number(node, f.nodes.len())?;
            if let Some(pid) = kill_node(&d, i, libc::SIGKILL, Duration::from_secs(5)) {
                println!("n{i}: killed (pid {pid}, SIGKILL)");
            }
            let pid = spawn_node(&d, i)?;
            let st = wait_up(&d, &f, i, pid)?;
            println!("n{i}: restarted (pid {pid}), at step {} clock {}", st.seq, st.clock);
            Ok(Exit::Ok)
        }
        Verb::Status { format } => status(&d, *format),
        Verb::Write {
            count,
            seed,
            keys,
            values,
            cl,
            node,
            workload,
            spread,
        } => write(
            &d,
            *count,
            *seed,
            *keys,
            *values,
            *cl,
            node.as_deref(),
            workload.as_deref(),
            Duration::from_millis(*spread),
        ),
        Verb::Read { node, format } => read(&d, node.as_deref(), *format),
        Verb::Settle { timeout } => settle(&d, *timeout),
        Verb::Repair { key } => repair(&d, *key),
        Verb::Bench {
            views,
            rounds,
            clients,
            nodes,
            rf,
            cl,
            time_scale,
            seed,
            untraced,
        } => bench(
            &a.dir,
            &Bench {
                views: *views,
                rounds: *rounds,
                clients: *clients,
                nodes: *nodes,
                rf: *rf,
                cl: cl_of(*cl),
                time_scale: *time_scale,
                seed: *seed,
                untraced: *untraced,
            },
        ),
    }
}

/// `cluster repair`: settle, repair each partition whose replicas differ (or `only`), settle.
fn repair(d: &Dir, only: Option<u8>) -> Result<Exit, Failure> {
    let f = d.cluster()?;
    let ring = f.ring().map_err(usage)?;
    let limit = Duration::from_secs(60);
    if settled_within(&f, limit).is_err() {
        return Err(Failure::Internal(
            "the cluster did not settle within 60 s: a repair runs on a settled cluster".into(),
        ));
    }
    let mut nodes = Vec::new();
    for (i, st) in statuses(&f).into_iter().enumerate() {
        match st {
            Ok(st) if st.obs.up => nodes.push(st.obs),
            Ok(_) => return Err(usage(format!("n{i} is down: restart it before a repair"))),
            Err(e) => return Err(usage(format!("n{i} does not answer ({e}): restart it before a repair"))),
        }
    }
    let keys: std::collections::BTreeSet<u8> = match only {
        Some(k) => [k].into(),
        None => nodes.iter().flat_map(|o| o.base.keys().copied()).collect(),
    };
    let mut ran = 0;
    for k in keys {
        let replicas = ring.base_replicas(k);
        let rows: Vec<_> = replicas
            .iter()
            .map(|r| nodes[usize::from(r.0)].base.get(&k).copied())
            .collect();
        if only.is_none() && rows.iter().all(|r| *r == rows[0]) {
            continue;
        }
        let first = replicas[0];
        // Each repair runs on a settled cluster, the one before it done: the model repairs
        // only then, and every repair numbers its writes from the same first id.
        if ran > 0 && settled_within(&f, limit).is_err() {
            return Err(Failure::Internal(format!(
                "the repair before k={k} did not settle within 60 s"
            )));
        }
        match client::repair(f.nodes[usize::from(first.0)], k, Duration::from_secs(10)) {
            Ok(Ok(n)) => {
                ran += 1;
                println!("k={k}: repaired by {first}: {n} base write(s) to the replicas that lacked part of the row");
            }
            Ok(Err(why)) => println!("k={k}: not repaired: {why}"),
            Err(e) => return Err(Failure::Internal(format!("k={k}: {e}"))),
        }
    }
    if ran == 0 {
        println!("nothing to repair: every partition's replicas agree");
        return Ok(Exit::Ok);
    }
    match settled_within(&f, limit) {
        Ok(took) => {
            println!("{ran} partition(s) repaired; settled after {:.2} s", took.as_secs_f64());
            Ok(Exit::Ok)
        }
        Err(_) => {
            println!("{ran} partition(s) repaired; not settled within 60 s");
            Ok(Exit::Inconclusive)
        }
    }
}

fn cl_of(cl: ClArg) -> Cl {
    match cl {
        ClArg::One => Cl::One,
        ClArg::Quorum => Cl::Quorum,
        ClArg::All => Cl::All,
    }
}

/// `cluster bench`'s settings.
struct Bench {
    views: u8,
    rounds: u32,
    clients: u8,
    nodes: u8,
    rf: u8,
    cl: Cl,
    time_scale: f64,
    seed: u64,
    untraced: bool,
}

/// `clients` clients splitting write ids `first..first+count` between them, round-robin,
/// each write to the next coordinator in turn; statements as `write` generates them.
/// Clients are numbered from `first_client`, since each client has its own trace file.
fn bench_scripts(
    (first_client, first): (u8, u8),
    count: u8,
    clients: u8,
    keys: u8,
    nodes: usize,
    rng: &mut SplitMix64,
) -> Vec<Script> {
    let mut last_v: Vec<Option<u8>> = vec![None; usize::from(keys)];
    let mut scripts: Vec<Script> = (0..clients)
        .map(|c| Script {
            client: first_client + c,
            writes: Vec::new(),
            run: None,
            echo: false,
        })
        .collect();
    for i in 0..count {
        let write = WriteId(first + i);
        let k = rng.below(u64::from(keys)) as u8;
        let stmt = next_statement(rng, k, 3, last_v[usize::from(k)], write.0);
        if let Assign::Set(v) = stmt.v {
            last_v[usize::from(k)] = Some(v);
        }
        let order = (0..nodes).map(|j| ((usize::from(write.0) + j) % nodes) as u8).collect();
        scripts[usize::from(i % clients)].writes.push((write, stmt, order));
    }
    scripts
}

fn bench(root: &Path, b: &Bench) -> Result<Exit, Failure> {
    if b.clients == 0 || b.clients > 20 {
        return Err(usage(format!("--clients {} must be 1 to 20", b.clients)));
    }
    if b.nodes < 2 || b.rounds == 0 {
        return Err(usage("a bench needs at least 2 nodes (n1 is killed) and 1 round"));
    }
    if !(b.time_scale.is_finite() && b.time_scale > 0.0) {
        return Err(usage(format!(
            "--time-scale {} must be a positive number",
            b.time_scale
        )));
    }
    let mut rng = SplitMix64::new(b.seed);
    let (mut healthy, mut degraded) = (Tally::default(), Tally::default());
    let mut rates = Vec::new();
    let mut catch_up = Vec::new();
    for r in 0..b.rounds {
        let dir = root.join(format!("round-{r}"));
        let d = Dir(&dir);
        if d.file().exists() {
            return Err(usage(format!(
                "{} already holds a cluster: give another --dir",
                dir.display()
            )));
        }
        let f = ClusterFile {
            variant: "cassandra-4.0".into(),
            rf: b.rf,
            pairing: "self-first".into(),
            time_scale: b.time_scale,
            nodes: free_ports(b.nodes, None)?,
            views: b.views,
            traced: !b.untraced,
        };
        launch(&d, &f)?;
        let n = f.nodes.len();
        let result = (|| {
            let started = Instant::now();
            let t = run_clients(
                &d,
                &f,
                &bench_scripts((0, 1), 20, b.clients, 4, n, &mut rng),
                b.cl,
                Duration::ZERO,
            )?;
            rates.push(t.ok as f64 / started.elapsed().as_secs_f64());
            merge_tally(&mut healthy, t);
            kill_node(&d, 1, libc::SIGKILL, Duration::from_secs(5));
            let t = run_clients(
                &d,
                &f,
                &bench_scripts((b.clients, 21), 11, b.clients, 4, n, &mut rng),
                b.cl,
                Duration::ZERO,
            )?;
            merge_tally(&mut degraded, t);
            let pid = spawn_node(&d, 1)?;
            wait_up(&d, &f, 1, pid)?;
            match settled_within(&f, Duration::from_secs(120)) {
                Ok(took) => catch_up.push(took),
                Err(_) => {
                    return Err(Failure::Internal(format!(
                        "{}: n1 did not catch up within 120 s",
                        dir.display()
                    )))
                }
            }
            Ok(())
        })();
        for i in 0..b.nodes {
            kill_node(&d, i, libc::SIGTERM, Duration::from_secs(5));
        }
        result?;
    }
    healthy.latencies.sort();
    degraded.latencies.sort();
    catch_up.sort();
    let pct = |v: &[Duration], p: f64| -> String {
        if v.is_empty() {
            return "-".into();
        }
        let i = ((v.len() as f64 * p).ceil() as usize).clamp(1, v.len()) - 1;
        format!("{:.2} ms", v[i].as_secs_f64() * 1e3)
    };
    let mean_rate = rates.iter().sum::<f64>() / rates.len() as f64;
    println!(
        "cluster bench: {} nodes, rf {}, {}, {} view(s), {} clients, time scale {}, {} rounds{}",
        b.nodes,
        b.rf,
        b.cl.name(),
        b.views,
        b.clients,
        b.time_scale,
        b.rounds,
        if b.untraced { ", untraced" } else { "" }
    );
    println!(
        "all up:   {} writes ok ({} timed out, {} unanswered), {:.0} writes/s, latency p50 {} p99 {} max {}",
        healthy.ok,
        healthy.timeout,
        healthy.unanswered,
        mean_rate,
        pct(&healthy.latencies, 0.5),
        pct(&healthy.latencies, 0.99),
        pct(&healthy.latencies, 1.0)
    );
    println!(
        "n1 down:  {} writes ok ({} timed out, {} unanswered), latency p50 {} p99 {}",
        degraded.ok,
        degraded.timeout,
        degraded.unanswered,
        pct(&degraded.latencies, 0.5),
        pct(&degraded.latencies, 0.99)
    );
    println!(
        "catch-up after n1's restart (until every node is idle): p50 {} max {}",
        pct(&catch_up, 0.5),
        pct(&catch_up, 1.0)
    );
    Ok(Exit::Ok)
}

fn merge_tally(all: &mut Tally, t: Tally) {
    all.ok += t.ok;
    all.timeout += t.timeout;
    all.unanswered += t.unanswered;
    all.latencies.extend(t.latencies);
}

#[allow(clippy::too_many_arguments)]
fn start(
    d: &Dir,
    nodes: u8,
    rf: u8,
    variant: &str,
    pairing: PairingArg,
    time_scale: f64,
    base_port: Option<u16>,
    views: u8,
) -> Result<Exit, Failure> {
    if d.file().exists() {
        return Err(usage(format!(
            "{} already holds a cluster: `mvcheck cluster restart NODE` starts its nodes again, or pick another --dir",
            d.0.display()
        )));
    }
    if !(time_scale.is_finite() && time_scale > 0.0) {
        return Err(usage(format!("--time-scale {time_scale} must be a positive number")));
    }
    let f = ClusterFile {
        variant: variant.into(),
        rf,
        pairing: pairing_name(pairing).into(),
        time_scale,
        nodes: free_ports(nodes, base_port)?,
        views,
        traced: true,
    };
    for (i, pid) in launch(d, &f)?.into_iter().enumerate() {
        println!("n{i}: {} (pid {pid})", f.nodes[i]);
    }
    println!(
        "cluster of {nodes} nodes, rf {rf}, {variant}, time scale {time_scale}, in {}",
        d.0.display()
    );
    Ok(Exit::Ok)
}

/// Every node's status, `None` where a node does not answer.
fn statuses(f: &ClusterFile) -> Vec<Result<NodeStatus, String>> {
    f.nodes
        .iter()
        .map(|&addr| client::status(addr, Duration::from_millis(1000)))
        .collect()
}

fn queued(o: &NodeObservation) -> String {
    format!(
        "commitlog {}, batchlog {}, hints {}, base hints {}, coordinator batchlog {}, timers {}",
        o.commitlog.len(),
        o.batchlog.len(),
        o.hints.len(),
        o.base_hints.len(),
        o.coord_batchlog.len(),
        o.timers.len()
    )
}

fn status(d: &Dir, format: Format) -> Result<Exit, Failure> {
    let f = d.cluster()?;
    let all = statuses(&f);
    let mut json = Vec::new();
    for (i, st) in all.iter().enumerate() {
        let pid = read_pid(&d.pid(i as u8));
        let running = pid.is_some_and(alive);
        match (format, st) {
            (Format::Human, Ok(st)) => println!(
                "n{i}: up (pid {}), step {} clock {}, {}, {}{}",
                st.pid,
                st.seq,
                st.clock,
                if st.idle { "idle" } else { "busy" },
                queued(&st.obs),
                if st.violations.is_empty() {
                    String::new()
                } else {
                    format!(", {} protocol violations", st.violations.len())
                }
            ),
            (Format::Human, Err(e)) => println!(
                "n{i}: {} ({e})",
                if running { "running, not answering" } else { "down" }
            ),
            (Format::Json, Ok(st)) => {
                json.push(serde_json::json!({"node": format!("n{i}"), "running": running, "status": st}))
            }
            (Format::Json, Err(e)) => {
                json.push(serde_json::json!({"node": format!("n{i}"), "running": running, "status": null, "error": e}))
            }
        }
    }
    if format == Format::Json {
        println!("{}", serde_json::json!({ "nodes": json }));
    }
    Ok(Exit::Ok)
}

/// Writes the cluster file and starts every node, waiting until each answers: their pids.
fn launch(d: &Dir, f: &ClusterFile) -> Result<Vec<i32>, Failure> {
    f.ring().and_then(|_| f.variant()).map_err(usage)?;
    std::fs::create_dir_all(d.0).map_err(|e| usage(format!("cannot create {}: {e}", d.0.display())))?;
    let text = serde_json::to_string_pretty(f).expect("a cluster file serializes");
    std::fs::write(d.file(), text + "\n").map_err(|e| usage(format!("cannot write {}: {e}", d.file().display())))?;
    let nodes = f.nodes.len() as u8;
    let pids = (0..nodes).map(|i| spawn_node(d, i)).collect::<Result<Vec<_>, _>>()?;
    for (i, &pid) in pids.iter().enumerate() {
        if let Err(e) = wait_up(d, f, i as u8, pid) {
            for j in 0..nodes {
                kill_node(d, j, libc::SIGKILL, Duration::from_secs(1));
            }
            return Err(e);
        }
    }
    Ok(pids)
}

/// Waits until every node is up and idle with the same clocks at two looks in a row, up to
/// `limit`: how long that took, or `None` with the last look.
fn settled_within(f: &ClusterFile, limit: Duration) -> Result<Duration, Vec<Result<NodeStatus, String>>> {
    let start = Instant::now();
    let mut last: Option<Vec<u64>> = None;
    loop {
        let all = statuses(f);
        let idle: Option<Vec<u64>> = all
            .iter()
            .map(|s| s.as_ref().ok().filter(|s| s.idle && s.obs.up).map(|s| s.clock))
            .collect();
        match idle {
            Some(clocks) if last.as_ref() == Some(&clocks) => return Ok(start.elapsed()),
            idle => last = idle,
        }
        if start.elapsed() > limit {
            return Err(all);
        }
        std::thread::sleep(Duration::from_millis(50).max(Duration::from_secs_f64(f.time_scale * 0.05)));
    }
}

fn settle(d: &Dir, timeout: f64) -> Result<Exit, Failure> {
    let f = d.cluster()?;
    match settled_within(&f, Duration::from_secs_f64(timeout.max(0.0))) {
        Ok(took) => {
            let clocks: Vec<u64> = statuses(&f)
                .iter()
                .filter_map(|s| s.as_ref().ok().map(|s| s.clock))
                .collect();
            println!(
                "settled after {:.2} s: every node up and idle, clocks {clocks:?}",
                took.as_secs_f64()
            );
            Ok(Exit::Ok)
        }
        Err(all) => {
            for (i, s) in all.iter().enumerate() {
                match s {
                    Ok(s) => println!("n{i}: {}, {}", if s.idle { "idle" } else { "busy" }, queued(&s.obs)),
                    Err(e) => println!("n{i}: not answering ({e})"),
                }
            }
            println!("not settled within {timeout} s");
            Ok(Exit::Inconclusive)
        }
    }
}

fn read_writes(d: &Dir) -> Result<Vec<WriteLog>, Failure> {
    let path = d.writes();
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(Vec::new());
    };
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| serde_json::from_str(l).map_err(|e| usage(format!("{} line {}: {e}", path.display(), i + 1))))
        .collect()
}

fn append_line(f: &mut File, path: &Path, line: &str) -> Result<(), Failure> {
    writeln!(f, "{line}")
        .and_then(|_| f.sync_data())
        .map_err(|e| Failure::Internal(format!("cannot write {}: {e}", path.display())))
}

/// The generator's next statement for partition `k`: mostly a move of the view key.
fn next_statement(rng: &mut SplitMix64, k: u8, values: u8, last_v: Option<u8>, ts: u8) -> Statement {
    let w = 1 + rng.below(9) as u8;
    let other_v = |rng: &mut SplitMix64| loop {
        let v = 1 + rng.below(u64::from(values)) as u8;
        if Some(v) != last_v || values == 1 {
            return v;
        }
    };
    match (last_v, rng.below(20)) {
        (None, _) | (_, 0..=1) => Statement::insert(k, Some(other_v(rng)), Some(w), ts),
        (_, 2) => Statement::delete(k, ts),
        (_, 3..=6) => Statement::update(k, Assign::Keep, Assign::Set(w), ts),
        _ => Statement::update(k, Assign::Set(other_v(rng)), Assign::Keep, ts),
    }
}

/// One client's writes, each with the coordinators to try in turn.
struct Script {
    client: u8,
    writes: Vec<(WriteId, Statement, Vec<u8>)>,
    /// The model workload this client is one client of; none for generated writes.
    run: Option<RunSpec>,
    /// Print each write's outcome (not in a benchmark).
    echo: bool,
}

/// What one client's run came to.
#[derive(Default)]
struct Tally {
    ok: usize,
    timeout: usize,
    unanswered: usize,
    latencies: Vec<Duration>,
}

#[allow(clippy::too_many_arguments)]
fn write(
    d: &Dir,
    count: u8,
    seed: u64,
    keys: u8,
    values: u8,
    cl: ClArg,
    only: Option<&str>,
    workload: Option<&str>,
    spread: Duration,
) -> Result<Exit, Failure> {
    let f = d.cluster()?;
    let n = f.nodes.len();
    let only = only.map(|s| node_number(s, n)).transpose()?;
    if keys == 0 || values == 0 {
        return Err(usage("--keys and --values must be at least 1"));
    }
    let cl = cl_of(cl);
    let earlier = read_writes(d)?;
    let scripts = match workload {
        Some(name) => {
            let ring = f.ring().map_err(usage)?;
            workload_scripts(name, count, keys, &ring, cl, &earlier)?
        }
        None => vec![generated_script(&earlier, count, seed, keys, values, only, n)?],
    };
    let started = Instant::now();
    let all = run_clients(d, &f, &scripts, cl, spread)?;
    let ms = |d: Option<&Duration>| d.map_or("-".into(), |d| format!("{:.2} ms", d.as_secs_f64() * 1e3));
    let total: usize = scripts.iter().map(|s| s.writes.len()).sum();
    println!(
        "{total} writes: {} ok, {} timed out, {} without an answer; {:.2} s; acknowledged in p50 {}, max {}",
        all.ok,
        all.timeout,
        all.unanswered,
        started.elapsed().as_secs_f64(),
        ms(all.latencies.get(all.latencies.len() / 2)),
        ms(all.latencies.last())
    );
    Ok(Exit::Ok)
}

/// Runs every script's client on its own thread (client `c<i>` starting `i * spread` after
/// the first) and adds up their tallies, latencies sorted.
fn run_clients(d: &Dir, f: &ClusterFile, scripts: &[Script], cl: Cl, spread: Duration) -> Result<Tally, Failure> {
    // Every write waits at most the coordinator's write timeout (it answers by then unless
    // it died), plus room for a loaded machine.
    let timing = Timing::CASSANDRA;
    let wait = Duration::from_secs_f64(timing.write_request_timeout as f64 / 1000.0 * f.time_scale * 2.0 + 2.0);
    let log = std::sync::Mutex::new(
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(d.writes())
            .map_err(|e| usage(format!("cannot open {}: {e}", d.writes().display())))?,
    );
    let tallies: Vec<Result<Tally, Failure>> = std::thread::scope(|scope| {
        let handles: Vec<_> = scripts
            .iter()
            .map(|script| {
                let start = spread * u32::from(script.client);
                let log = &log;
                scope.spawn(move || {
                    std::thread::sleep(start);
                    run_script(d, f, script, cl, wait, log)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(Failure::Internal("a client thread panicked".into())))
            })
            .collect()
    });
    let mut all = Tally::default();
    for t in tallies {
        merge_tally(&mut all, t?);
    }
    all.latencies.sort();
    Ok(all)
}

/// The next client number and write id of a cluster that has run `earlier`.
fn next_ids(earlier: &[WriteLog]) -> (u8, u8) {
    let client = earlier
        .iter()
        .filter_map(|w| w.client.strip_prefix('c')?.parse::<u8>().ok())
        .max()
        .map_or(0, |c| c + 1);
    (client, earlier.iter().map(|w| w.write.0).max().unwrap_or(0) + 1)
}

fn generated_script(
    earlier: &[WriteLog],
    count: u8,
    seed: u64,
    keys: u8,
    values: u8,
    only: Option<u8>,
    n: usize,
) -> Result<Script, Failure> {
    let (client, first) = next_ids(earlier);
    let last = u16::from(first) + u16::from(count) - 1;
    if last >= u16::from(WriteId::ATTEMPT_STRIDE) {
        return Err(usage(format!(
            "write ids are w1..w{}: this cluster has used {} and {count} more do not fit",
            WriteId::ATTEMPT_STRIDE - 1,
            first - 1
        )));
    }
    // The last `v` each partition was given, from the writes before and these.
    let mut last_v: Vec<Option<u8>> = vec![None; usize::from(keys)];
    for w in earlier {
        if let (Some(slot), Assign::Set(v)) = (last_v.get_mut(usize::from(w.stmt.k)), w.stmt.v) {
            *slot = Some(v);
        }
    }
    let mut rng = SplitMix64::new(seed);
    let writes = (0..count)
        .map(|i| {
            let write = WriteId(first + i);
            let k = rng.below(u64::from(keys)) as u8;
            let stmt = next_statement(&mut rng, k, values, last_v[usize::from(k)], write.0);
            if let Assign::Set(v) = stmt.v {
                last_v[usize::from(k)] = Some(v);
            }
            let order = match only {
                Some(j) => vec![j],
                None => (0..n).map(|j| ((usize::from(i) + j) % n) as u8).collect(),
            };
            (write, stmt, order)
        })
        .collect();
    Ok(Script {
        client,
        writes,
        run: None,
        echo: true,
    })
}

/// A model workload's client scripts, so that a cluster's run is one the model can be asked
/// about: client `c<i>` sends script i to its coordinator, with the model's write ids and
/// timestamps.
fn workload_scripts(
    name: &str,
    writes: u8,
    keys: u8,
    ring: &mv_spec::Ring,
    cl: Cl,
    earlier: &[WriteLog],
) -> Result<Vec<Script>, Failure> {
    let w = Workload::from_name(name, writes, keys).ok_or_else(|| {
        usage(format!(
            "--workload {name:?} is unknown ({})",
            Workload::NAMES.join(", ")
        ))
    })?;
    if !w.preload().is_empty() {
        return Err(usage(format!(
            "--workload {name} starts from preloaded rows, and a cluster starts empty"
        )));
    }
    if !earlier.is_empty() {
        return Err(usage(format!(
            "--workload {name} needs a cluster no client has written to: its clients and write ids start at c0 and w1"
        )));
    }
    // A run the model cannot be built for could never be validated: refuse it now.
    mv_spec::variant::validate(ring, &w, 0, 0, 0).map_err(|e| usage(format!("--workload {name}: {e}")))?;
    let (writes, keys) = match w {
        Workload::Concurrent { writes, keys } => (writes, keys),
        w => (w.len() as u8, 1),
    };
    let run = RunSpec {
        workload: name.to_string(),
        writes,
        keys,
        cl,
    };
    Ok(w.scripts(ring.nodes)
        .into_iter()
        .enumerate()
        .map(|(i, s)| Script {
            echo: true,
            run: Some(run.clone()),
            client: i as u8,
            writes: s
                .writes
                .into_iter()
                .map(|(id, stmt)| (id, stmt, vec![s.coordinator.0]))
                .collect(),
        })
        .collect())
}

/// Runs one client's script: one write at a time, each answer recorded in writes.ndjson and
/// in the client's trace.
fn run_script(
    d: &Dir,
    f: &ClusterFile,
    script: &Script,
    cl: Cl,
    wait: Duration,
    log: &std::sync::Mutex<File>,
) -> Result<Tally, Failure> {
    let me = format!("c{}", script.client);
    let mut client = Client {
        id: script.client,
        clock: 0,
    };
    let trace_path = d.trace(&me);
    // One file per client, never shared: a second header in it would break the trace.
    let mut trace = OpenOptions::new()
        .create_new(true)
        .append(true)
        .open(&trace_path)
        .map_err(|e| usage(format!("cannot create {} for client {me}: {e}", trace_path.display())))?;
    let header = NodeTraceHeader {
        format: NODE_TRACE_FORMAT.into(),
        version: 1,
        node: me.clone(),
        variant: f.variant.clone(),
        nodes: f.nodes.len() as u8,
        rf: f.rf,
        pairing: f.pairing.clone(),
        emitter: format!("mvcheck cluster write (mvcheck {})", env!("CARGO_PKG_VERSION")),
        run: script.run.clone(),
        views: None,
    };
    append_line(
        &mut trace,
        &trace_path,
        &serde_json::to_string(&header).expect("serializes"),
    )?;
    // As the model's client: the whole script, the first write in flight from the start.
    let mut records: Vec<WriteRecord> = script
        .writes
        .iter()
        .map(|&(write, stmt, _)| WriteRecord {
            write,
            stmt,
            cl,
            outcome: Outcome::NotSent,
        })
        .collect();
    let mut tally = Tally::default();
    for (i, (write, stmt, order)) in script.writes.iter().enumerate() {
        let (write, stmt) = (*write, *stmt);
        records[i].outcome = Outcome::Pending;
        let mut coordinator = None;
        let mut answer = None;
        let sent = Instant::now();
        for &j in order {
            match client.write(f.nodes[usize::from(j)], NodeId(j), write, stmt, cl, wait) {
                Ok(a) => {
                    coordinator = Some(format!("n{j}"));
                    answer = Some(a);
                    break;
                }
                Err(e) => eprintln!("{me}: {write} not sent to n{j}: {e}"),
            }
        }
        let outcome = match &answer {
            Some(Answer::Got(Msg::WriteOk { .. }, _)) => {
                tally.latencies.push(sent.elapsed());
                tally.ok += 1;
                records[i].outcome = Outcome::Ok;
                "Ok"
            }
            Some(Answer::Got(_, _)) => {
                tally.timeout += 1;
                records[i].outcome = Outcome::Timeout;
                "Timeout"
            }
            Some(Answer::None(why)) => {
                tally.unanswered += 1;
                eprintln!("{me}: {write}: {why}");
                "NoAnswer"
            }
            None => {
                tally.unanswered += 1;
                records[i].outcome = Outcome::NotSent;
                "NotSent"
            }
        };
        let entry = WriteLog {
            client: me.clone(),
            write,
            stmt,
            cl,
            coordinator: coordinator.clone(),
            outcome: outcome.into(),
        };
        {
            let mut log = log
                .lock()
                .map_err(|_| Failure::Internal("the write log's lock is poisoned".into()))?;
            append_line(
                &mut log,
                &d.writes(),
                &serde_json::to_string(&entry).expect("serializes"),
            )?;
        }
        if let (Some(Answer::Got(msg, sent_at)), Some(src)) = (&answer, coordinator) {
            // The answer is the client's step: after it, the next write is in flight.
            if let Some(next) = records.get_mut(i + 1) {
                next.outcome = Outcome::Pending;
            }
            let line = NodeTraceLine {
                seq: i as u64 + 1,
                node: me.clone(),
                step: Step::Deliver {
                    src,
                    dst: me.clone(),
                    msg: msg.clone(),
                },
                after: After::Client(ClientObservation {
                    writes: records.clone(),
                }),
                lamport: client.clock,
                sent: Some(*sent_at),
            };
            append_line(
                &mut trace,
                &trace_path,
                &serde_json::to_string(&line).expect("serializes"),
            )?;
        }
        if script.echo {
            println!("{me} {write} {stmt} -> {outcome}");
        }
        if script.run.is_some() && answer.as_ref().is_none_or(|a| matches!(a, Answer::None(_))) {
            // The model's client waits for an answer for ever: its next write never leaves.
            break;
        }
    }
    Ok(tally)
}

fn read(d: &Dir, only: Option<&str>, format: Format) -> Result<Exit, Failure> {
    let f = d.cluster()?;
    let ring = f.ring().map_err(usage)?;
    let variant = f.variant().map_err(usage)?;
    let rules = ReadRules {
        strict_liveness: variant.design().strict_liveness,
    };
    let only = only.map(|s| node_number(s, f.nodes.len())).transpose()?;
    let all = statuses(&f);
    let mut nodes_json = Vec::new();
    for (i, st) in all.iter().enumerate() {
        if only.is_some_and(|o| usize::from(o) != i) {
            continue;
        }
        match st {
            Ok(st) => {
                if format == Format::Human {
                    println!("n{i}: step {} clock {}", st.seq, st.clock);
                    for (k, row) in &st.obs.base {
                        match row.resolve() {
                            Some(r) => println!("  base k={k}: v={:?} w={:?}", r.v, r.w),
                            None => println!("  base k={k}: (no live row)"),
                        }
                    }
                    for (vk, row) in &st.obs.view {
                        if let Some(w) = row.resolve(rules) {
                            println!("  view (v={},k={}): w={w:?}", vk.v, vk.k);
                        }
                    }
                }
                nodes_json.push(serde_json::json!({"node": format!("n{i}"), "obs": st.obs}));
            }
            Err(e) => {
                if format == Format::Human {
                    println!("n{i}: not answering ({e})");
                }
                nodes_json.push(serde_json::json!({"node": format!("n{i}"), "obs": null, "error": e}));
            }
        }
    }
    // The view check of `mvcheck verify`, on what the nodes hold now.
    let observed: Option<Vec<NodeObservation>> = all.iter().map(|s| s.as_ref().ok().map(|s| s.obs.clone())).collect();
    let verdict = observed.map(|nodes| {
        let quiet = all.iter().all(|s| s.as_ref().is_ok_and(|s| s.idle));
        let o = Observation {
            ring,
            rules,
            nodes,
            writes: Vec::new(),
            quiescent: quiet,
            history: Default::default(),
        };
        (mv_spec::verify::classify(&o), quiet)
    });
    match (format, &verdict) {
        (Format::Human, Some((findings, quiet))) => {
            for x in findings {
                println!("  {x}");
            }
            println!(
                "view check: {} finding(s){}",
                findings.len(),
                if *quiet { "" } else { " (some node is busy: not final)" }
            );
        }
        (Format::Human, None) => println!("view check: skipped, a node does not answer"),
        (Format::Json, _) => {
            let findings: Option<Vec<String>> =
                verdict.as_ref().map(|(f, _)| f.iter().map(|x| x.to_string()).collect());
            println!("{}", serde_json::json!({"nodes": nodes_json, "findings": findings}));
        }
    }
    Ok(match verdict {
        Some((findings, true)) if findings.is_empty() => Exit::Ok,
        Some((_, true)) => Exit::Violation,
        _ => Exit::Inconclusive,
    })
}
