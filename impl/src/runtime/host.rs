//! The event loop of one node process.
//!
//! One thread owns the [`Node`]. Reader threads turn each connection's frames into events,
//! one writer thread per peer carries frames out, and the loop takes one input at a time:
//! a delivery, a timer that fell due, or a local call (the node's message to itself, which
//! `protocol.md` says no network can lose). After every step the loop
//!
//! 1. updates its timers from the step's outputs,
//! 2. moves the Lamport clock past the message's (`max(own, sender) + 1`),
//! 3. stages the step's trace line and its messages, stamped with that clock.
//!
//! When no input is ready (or 64 steps are staged), it makes the group durable: one
//! transaction ([`super::disk`]) holds the disk records as they are after the group's last
//! step, its clock and every staged trace line, and it is fsynced; then the lines are
//! appended to the trace file, and only then do the group's messages leave. So the trace is
//! written durably before the node acts: a message that left was preceded by its step's line
//! on disk. A kill before the commit loses the group whole, as if its steps had not been taken:
//! nothing of them left the process, and the messages they took were in flight at the crash.
//! One fsync per group rather than per step is Cassandra's group commit of its commit log.
//! With a failpoint armed the node commits step by step, so that a failpoint finds exactly
//! its step durable. The trace file is a copy the loop appends to without syncing; at start,
//! the node puts back from its disk any line a kill took from the file's tail.
//!
//! A base write that finds its partition locked (B1) is not a step: it is parked and offered
//! again after every step, as the simulation keeps it in flight. Any other delivery the node
//! does not take (an ack nobody waits for) is dropped, since no later state takes it either.
//! Timers run on real time: each kind waits `mv_spec::timing`'s longest delay for it times
//! `--time-scale`, and the mutation stage's two local steps run at once. Hint delivery waits
//! while its target is unreachable, as Cassandra dispatches hints only to live nodes. A
//! message to a peer that is down is lost, and one from a peer's ended life that arrives
//! after its next life was heard from is dropped: the model's crash loses both.

use super::disk::{Identity, NodeDisk, Saved};
use super::failpoint::{self, Failpoint};
use super::frame::{self, Body, Envelope, FrameReader, NodeStatus};
use super::{NodeTraceHeader, NodeTraceLine, NODE_TRACE_FORMAT};
use crate::node::{Addr, Input, Node, Output, SeededBugs, Switches};
use mv_spec::obs::NodeObservation;
use mv_spec::timing::{Delay, Timing};
use mv_spec::trace::{After, Step};
use mv_spec::variant::Variant;
use mv_spec::{Msg, NodeId, Pairing, Ring, Timer};
use std::collections::{BTreeMap, VecDeque};
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

/// Where the process logs: one line per call. The binary passes one that writes to stderr;
/// the library itself never prints.
pub type Log = Arc<dyn Fn(&str) + Send + Sync>;

/// What a node process needs to know.
#[derive(Clone, Debug)]
pub struct NodeConfig {
    /// This node.
    pub id: NodeId,
    /// The ring.
    pub ring: Ring,
    /// The design.
    pub variant: Variant,
    /// Every node's address, by id; `peers[id]` is where this node listens.
    pub peers: Vec<SocketAddr>,
    /// The data directory.
    pub data: PathBuf,
    /// The trace file.
    pub trace: PathBuf,
    /// Whether the node records its trace. Off only for a benchmark that measures what the
    /// recording costs: no trace file, no line in the disk's transactions, nothing to validate.
    pub traced: bool,
    /// Real time per unit of protocol time: 0.01 runs a 2 s write timeout in 20 ms.
    pub time_scale: f64,
    /// Whether the base table has its view; without, the node is a benchmark's baseline,
    /// and its trace says so (`views: 0`), so that no merge takes it for a model run.
    pub has_view: bool,
}

impl NodeConfig {
    /// Rejects a configuration the process cannot run, naming the setting.
    pub fn validate(&self) -> Result<(), String> {
        let n = usize::from(self.ring.nodes);
        if self.peers.len() != n {
            return Err(format!(
                "the ring has {n} nodes but {} addresses were given",
                self.peers.len()
            ));
        }
        if self.id.0 >= self.ring.nodes {
            return Err(format!("--id {} is not a node of a {n}-node ring", self.id.0));
        }
        if self.ring.rf == 0 || self.ring.rf > self.ring.nodes {
            return Err(format!("rf {} must be 1..={n}", self.ring.rf));
        }
        if let Some(a) = self.peers.iter().find(|a| !a.ip().is_loopback()) {
            return Err(format!(
                "{a} is not a loopback address: a local cluster stays on this machine"
            ));
        }
        if !(self.time_scale.is_finite() && self.time_scale > 0.0) {
            return Err(format!("--time-scale {} must be a positive number", self.time_scale));
        }
        Ok(())
    }
}

fn pairing_name(p: Pairing) -> &'static str {
    match p {
        Pairing::SelfFirst => "self-first",
        Pairing::Positional => "positional",
    }
}

enum Event {
    /// A frame, with the connection it came on (for a client's answer or a status reply).
    Frame(Envelope, Arc<TcpStream>),
}

struct Host {
    cfg: NodeConfig,
    me: String,
    node: Node,
    disk: NodeDisk,
    trace: Option<File>,
    log: Log,
    clock: u64,
    seq: u64,
    timers: BTreeMap<Timer, Instant>,
    local: VecDeque<Msg>,
    parked: Vec<(Addr, u64, u64, Msg)>,
    peers: Vec<Sender<Vec<u8>>>,
    /// This process's life: the clock it started at. Every message it sends carries it.
    life: u64,
    /// Per peer: the latest life its messages have carried here.
    seen_life: Vec<Option<u64>>,

    peer_up: Vec<Arc<AtomicBool>>,
    clients: BTreeMap<u8, Arc<TcpStream>>,
    violations: Vec<String>,
    /// Failpoints armed for this process (tests only, through the environment).
    failpoints: Vec<Failpoint>,
    /// The seeded runtime bug (tests only): a step's messages leave before it is durable.
    send_before_commit: bool,
    /// Steps taken and not yet durable: (seq, trace line). See [`Host::flush`].
    unsynced: Vec<(u64, String)>,
    /// Their messages, which leave only once the lines are committed.
    unsent: Vec<(Addr, Vec<u8>)>,
}

/// The most steps one commit makes durable. A group ends sooner when no input is ready.
const GROUP: usize = 64;

/// Why a node process stopped.
#[derive(Debug)]
pub enum Stop {
    /// It could not start with what it was given: a port in use, a data directory of another
    /// node, a damaged record. The message names it.
    Input(String),
    /// It failed while running (its disk or its trace file): it stops rather than act on
    /// state it could not make durable.
    Failed(String),
}

/// Runs node `cfg.id` until the process is killed. Returns only when it cannot go on.
pub fn run(cfg: NodeConfig, log: Log) -> Result<(), Stop> {
    cfg.validate().map_err(Stop::Input)?;
    let listen = cfg.peers[usize::from(cfg.id.0)];
    // Claim the port first, so that a port in use fails before anything is recorded.
    let listener = patiently(|| TcpListener::bind(listen).map_err(|e| format!("cannot listen on {listen}: {e}")))
        .map_err(Stop::Input)?;
    let me = cfg.id.to_string();
    let failpoints = match std::env::var(failpoint::ENV) {
        Ok(spec) => failpoint::armed(&spec, &me).map_err(Stop::Input)?,
        Err(_) => Vec::new(),
    };
    let (bugs, send_before_commit) = match std::env::var(failpoint::BUG_ENV) {
        Ok(spec) => failpoint::seeded(&spec, &me).map_err(Stop::Input)?,
        Err(_) => Default::default(),
    };
    let mut host = Host::open(cfg, bugs, log.clone()).map_err(Stop::Input)?;
    host.failpoints = failpoints;
    host.send_before_commit = send_before_commit;
    if bugs != SeededBugs::default() || send_before_commit {
        host.log(&format!(
            "{me} runs with seeded bugs: {bugs:?}, send before commit: {send_before_commit}"
        ));
    }
    // A life is named by the clock it starts at, past every clock of the lives before it.
    host.life = host.clock;
    host.start().map_err(Stop::Failed)?;
    // Messages are read only once the node has recovered (R1-R3): until then peers'
    // connections and frames wait in the kernel's backlog, and nothing is lost.
    let (tx, rx) = mpsc::channel();
    {
        let log = log.clone();
        thread::spawn(move || accept(listener, tx, log));
    }
    host.log(&format!("{} listening on {listen}", host.me));
    host.serve(&rx).map_err(Stop::Failed)
}

/// Retries `f` for up to 3 s while it fails on what a process that was just killed may
/// still hold: its port, its database's lock. A SIGKILLed process's threads release them a
/// moment after the process looks dead, and a restart can be that quick.
fn patiently<T>(mut f: impl FnMut() -> Result<T, String>) -> Result<T, String> {
    let start = Instant::now();
    loop {
        match f() {
            Err(e)
                if (e.contains("already open") || e.contains("in use")) && start.elapsed() < Duration::from_secs(3) =>
            {
                thread::sleep(Duration::from_millis(20));
            }
            r => return r,
        }
    }
}

fn accept(listener: TcpListener, tx: Sender<Event>, log: Log) {
    for conn in listener.incoming() {
        let Ok(conn) = conn else { continue };
        conn.set_nodelay(true).ok();
        let (tx, log) = (tx.clone(), log.clone());
        thread::spawn(move || read_connection(conn, tx, log));
    }
}

fn read_connection(conn: TcpStream, tx: Sender<Event>, log: Log) {
    let peer = conn.peer_addr().map(|a| a.to_string()).unwrap_or_else(|_| "?".into());
    let conn = Arc::new(conn);
    let mut reader = FrameReader::new(&*conn);
    loop {
        match reader.next_frame() {
            Ok(Some(env)) => {
                if tx.send(Event::Frame(env, conn.clone())).is_err() {
                    return;
                }
            }
            Ok(None) => return,
            Err(e) => {
                log(&format!("bad frame, closing the connection from {peer}: {e}"));
                conn.shutdown(std::net::Shutdown::Both).ok();
                return;
            }
        }
    }
}

/// Carries frames to one peer, in order. A frame the peer's process cannot take (its
/// connection is dead or refused) is lost: the peer is down, and the merge of the traces puts
/// its crash after the send, which the model's crash loses with everything else in flight to
/// it. An empty frame is a probe: connect if not connected, send nothing. `up` is this node's
/// failure detector for the peer: whether the last attempt to reach it succeeded.
fn peer_writer(name: String, addr: SocketAddr, rx: Receiver<Vec<u8>>, up: Arc<AtomicBool>, log: Log) {
    let mut conn: Option<TcpStream> = None;
    let mut reachable = true;
    for bytes in rx {
        if conn.as_ref().is_some_and(|s| !open(s)) {
            // The peer's process ended (and maybe restarted): a write now would vanish into
            // the dead connection. A new connection reaches the new process, if any.
            conn = None;
        }
        if conn.is_none() {
            match TcpStream::connect_timeout(&addr, Duration::from_millis(500)) {
                Ok(s) => {
                    s.set_nodelay(true).ok();
                    s.set_write_timeout(Some(Duration::from_secs(2))).ok();
                    conn = Some(s);
                    if !reachable {
                        log(&format!("{name} at {addr} is reachable again"));
                    }
                    reachable = true;
                    up.store(true, Ordering::Relaxed);
                }
                Err(e) => {
                    if reachable {
                        log(&format!(
                            "{name} at {addr} is unreachable ({e}): messages to it are lost until it is back"
                        ));
                    }
                    reachable = false;
                    up.store(false, Ordering::Relaxed);
                    continue;
                }
            }
        }
        if let Some(s) = conn.as_mut().filter(|_| !bytes.is_empty()) {
            if let Err(e) = s.write_all(&bytes) {
                log(&format!("lost a message to {name}: {e}"));
                conn = None;
            }
        }
    }
}

/// Whether an outgoing connection is still open. Peers never write on the connections this
/// node opened, so anything readable there is the end: the peer closed it (its process died).
fn open(s: &TcpStream) -> bool {
    if s.set_nonblocking(true).is_err() {
        return false;
    }
    let alive = matches!(s.peek(&mut [0u8; 1]), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock);
    s.set_nonblocking(false).is_ok() && alive
}

/// Reads the complete lines of a trace file: the last `seq` it holds (0 for none) and the
/// length of its complete part. A torn last line (a kill in the middle of a write) is not
/// complete.
fn trace_tail(path: &Path) -> Result<(u64, u64), String> {
    let mut text = Vec::new();
    File::open(path)
        .and_then(|mut f| f.read_to_end(&mut text))
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let complete = text.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let last_seq = text[..complete]
        .split(|&b| b == b'\n')
        .rev()
        .find(|l| !l.is_empty())
        .and_then(|l| serde_json::from_slice::<serde_json::Value>(l).ok())
        .and_then(|v| v.get("seq").and_then(|s| s.as_u64()))
        .unwrap_or(0);
    Ok((last_seq, complete as u64))
}

impl Host {
    fn open(cfg: NodeConfig, bugs: SeededBugs, log: Log) -> Result<Host, String> {
        let me = cfg.id.to_string();
        let identity = Identity {
            node: me.clone(),
            variant: cfg.variant.name().to_string(),
            nodes: cfg.ring.nodes,
            rf: cfg.ring.rf,
            pairing: pairing_name(cfg.ring.pairing).to_string(),
        };
        let (disk, saved) = patiently(|| NodeDisk::open(&cfg.data, &identity))?;
        let mut switches = Switches::from(cfg.variant.design());
        switches.bugs = bugs;
        switches.has_view = cfg.has_view;
        let (node, clock, seq) = match &saved {
            None => (Node::new(cfg.id, cfg.ring, switches), 0, 0),
            Some(Saved { image, clock, seq, .. }) => (
                Node::recover(cfg.id, cfg.ring, switches, image).map_err(|e| format!("{}: {e}", cfg.data.display()))?,
                *clock,
                *seq,
            ),
        };
        let trace = if cfg.traced {
            Some(Self::open_trace(&cfg, &identity, &disk)?)
        } else {
            None
        };
        let peer_up: Vec<Arc<AtomicBool>> = cfg.peers.iter().map(|_| Arc::new(AtomicBool::new(true))).collect();
        let peers = cfg
            .peers
            .iter()
            .enumerate()
            .map(|(i, &addr)| {
                let (tx, rx) = mpsc::channel();
                let (name, log, up) = (format!("n{i}"), log.clone(), peer_up[i].clone());
                thread::spawn(move || peer_writer(name, addr, rx, up, log));
                tx
            })
            .collect();
        let n = cfg.peers.len();
        let mut host = Host {
            cfg,
            me,
            node,
            disk,
            trace,
            log,
            clock,
            seq,
            timers: BTreeMap::new(),
            local: VecDeque::new(),
            parked: Vec::new(),
            peers,
            life: 0,
            seen_life: vec![None; n],
            peer_up,
            clients: BTreeMap::new(),
            violations: Vec::new(),
            failpoints: Vec::new(),
            send_before_commit: false,
            unsynced: Vec::new(),
            unsent: Vec::new(),
        };
        if let Some(saved) = saved {
            host.log(&format!(
                "{} restarts from {} at step {} (clock {})",
                host.me,
                host.cfg.data.display(),
                saved.seq,
                saved.clock
            ));
            if saved.up {
                // The last life ended without a line for it: its crash is a step of this node
                // (`Crash`, then `Recover`), recorded now. A kill during recovery finds the
                // node down on disk and does not record a second crash. Where the crash goes
                // among the other nodes' steps is the merge's call (`mv_spec::node_trace`):
                // no clock this node could take says it.
                host.clock += 1;
                host.seq += 1;
                host.record(Step::Crash { node: host.me.clone() }, None)?;
            }
        }
        Ok(host)
    }

    /// Opens the trace file for appending, after putting back what the disk holds and the
    /// file lost.
    fn open_trace(cfg: &NodeConfig, identity: &Identity, disk: &NodeDisk) -> Result<File, String> {
        let path = &cfg.trace;
        let shown = path.display();
        let fresh = !path.exists();
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .read(true)
            .open(path)
            .map_err(|e| format!("cannot open trace file {shown}: {e}"))?;
        let after = if fresh {
            let header = NodeTraceHeader {
                format: NODE_TRACE_FORMAT.into(),
                version: 1,
                node: identity.node.clone(),
                variant: identity.variant.clone(),
                nodes: identity.nodes,
                rf: identity.rf,
                pairing: identity.pairing.clone(),
                emitter: format!("mvcheck node (mv-impl {})", env!("CARGO_PKG_VERSION")),
                run: None,
                views: (!cfg.has_view).then_some(0),
            };
            let text = serde_json::to_string(&header).expect("a header serializes");
            writeln!(f, "{text}").map_err(|e| format!("cannot write {shown}: {e}"))?;
            0
        } else {
            let (last, complete) = trace_tail(path)?;
            f.set_len(complete)
                .map_err(|e| format!("cannot truncate {shown}: {e}"))?;
            f.seek(SeekFrom::End(0)).map_err(|e| format!("{shown}: {e}"))?;
            last
        };
        for (_, line) in disk.trace_after(after)? {
            writeln!(f, "{line}").map_err(|e| format!("cannot write {shown}: {e}"))?;
        }
        Ok(f)
    }

    fn log(&self, line: &str) {
        (self.log)(line);
    }

    /// A node that found itself down on disk restarts (R1-R3).
    fn start(&mut self) -> Result<(), String> {
        if !self.node.is_up() {
            let step = Step::Recover { node: self.me.clone() };
            self.take(Input::Restart, step, None)?;
        }
        Ok(())
    }

    fn delay(&self, t: &Timer) -> Duration {
        let ms = match Delay::of_timer(t) {
            Delay::Local => 0,
            d => Timing::CASSANDRA.max_delay(d),
        };
        Duration::from_secs_f64(ms as f64 / 1000.0 * self.cfg.time_scale)
    }

    fn serve(&mut self, rx: &Receiver<Event>) -> Result<(), String> {
        loop {
            if let Some(msg) = self.local.pop_front() {
                let me = Addr::Node(self.cfg.id);
                self.deliver(me, self.clock, self.life, msg)?;
                continue;
            }
            let now = Instant::now();
            let due = self
                .timers
                .iter()
                .filter(|(_, &at)| at <= now)
                .min_by_key(|(_, &at)| at);
            if let Some((&t, _)) = due {
                if let Timer::HintDelivery(target) = t {
                    if !self.peer_up[usize::from(target.0)].load(Ordering::Relaxed) {
                        // As Cassandra's dispatcher, hints wait while their target is down
                        // (the model's guard says the same): probe it, and look again a round
                        // later.
                        self.peers[usize::from(target.0)].send(Vec::new()).ok();
                        self.timers.insert(t, now + self.delay(&t));
                        continue;
                    }
                }
                self.timers.remove(&t);
                let step = Step::Timeout {
                    node: self.me.clone(),
                    timer: t,
                };
                if self.take(Input::Fire(t), step, None)? {
                    self.unpark()?;
                }
                continue;
            }
            match rx.try_recv() {
                Ok(Event::Frame(env, conn)) => {
                    self.handle(env, conn)?;
                    continue;
                }
                Err(mpsc::TryRecvError::Empty) => {}
                Err(mpsc::TryRecvError::Disconnected) => return Err("the listener stopped".into()),
            }
            // Nothing is ready: the group taken so far becomes durable and its messages leave.
            self.flush()?;
            let wait = self.timers.values().min().map_or(Duration::from_secs(1), |&at| {
                at.saturating_duration_since(Instant::now())
            });
            match rx.recv_timeout(wait) {
                Ok(Event::Frame(env, conn)) => self.handle(env, conn)?,
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return Err("the listener stopped".into()),
            }
        }
    }

    fn handle(&mut self, env: Envelope, conn: Arc<TcpStream>) -> Result<(), String> {
        let msg = match env.body {
            Body::Status => {
                // What the status shows is durable and sent.
                self.flush()?;
                let reply = Envelope {
                    from: self.me.clone(),
                    to: env.from,
                    clock: self.clock,
                    life: self.life,
                    body: Body::StatusReply(Box::new(self.status())),
                };
                if let Err(e) = frame::write_frame(&mut &*conn, &reply) {
                    self.log(&format!("cannot answer a status request: {e}"));
                }
                return Ok(());
            }
            Body::Repair(key) => {
                let result = self.repair(key)?;
                let reply = Envelope {
                    from: self.me.clone(),
                    to: env.from,
                    clock: self.clock,
                    life: self.life,
                    body: Body::Repaired(result),
                };
                if let Err(e) = frame::write_frame(&mut &*conn, &reply) {
                    self.log(&format!("cannot answer a repair request: {e}"));
                }
                return Ok(());
            }
            Body::StatusReply(_) | Body::Repaired(_) => {
                self.log(&format!("ignored an answer from {}: nobody asked", env.from));
                return Ok(());
            }
            Body::Msg(msg) => msg,
        };
        if env.to != self.me {
            self.log(&format!(
                "dropped a message for {} from {}: this is {}",
                env.to, env.from, self.me
            ));
            return Ok(());
        }
        let from = match Addr::parse(&env.from) {
            Some(Addr::Node(n)) if n.0 < self.cfg.ring.nodes => Addr::Node(n),
            Some(Addr::Client(c)) => {
                self.clients.insert(c, conn);
                Addr::Client(c)
            }
            _ => {
                self.log(&format!("dropped a message from unknown sender {:?}", env.from));
                return Ok(());
            }
        };
        if let Addr::Node(n) = from {
            let seen = &mut self.seen_life[usize::from(n.0)];
            *seen = Some(seen.map_or(env.life, |l| l.max(env.life)));
        }
        self.deliver(from, env.clock, env.life, msg)
    }

    /// Whether a message from `from`'s life `life` was lost with that life's end: a later
    /// life of `from` has been heard from, so `from` crashed and restarted in between, and
    /// the model's crash loses what the ended life still had in flight.
    fn is_of_an_ended_life(&self, from: Addr, life: u64) -> bool {
        match from {
            Addr::Node(n) if n != self.cfg.id => self.seen_life[usize::from(n.0)].is_some_and(|l| life < l),
            _ => false,
        }
    }

    /// Delivers a message; a base write the lock holds back is parked.
    fn deliver(&mut self, from: Addr, clock: u64, life: u64, msg: Msg) -> Result<(), String> {
        if self.is_of_an_ended_life(from, life) {
            self.log(&format!(
                "dropped {msg} from {from}'s ended life (started at clock {life}): lost with its crash"
            ));
            return Ok(());
        }
        let step = Step::Deliver {
            src: from.to_string(),
            dst: self.me.clone(),
            msg: msg.clone(),
        };
        let input = Input::Deliver { from, msg: msg.clone() };
        if self.take(input, step, Some(clock))? {
            return self.unpark();
        }
        if matches!(msg, Msg::BaseWrite { .. }) {
            self.parked.push((from, clock, life, msg));
        }
        Ok(())
    }

    /// Offers every parked base write again until none is taken.
    fn unpark(&mut self) -> Result<(), String> {
        let mut i = 0;
        while i < self.parked.len() {
            let (from, clock, life, msg) = self.parked[i].clone();
            if self.is_of_an_ended_life(from, life) {
                self.log(&format!(
                    "dropped parked {msg} from {from}'s ended life (started at clock {life}): lost with its crash"
                ));
                self.parked.remove(i);
                continue;
            }
            let step = Step::Deliver {
                src: from.to_string(),
                dst: self.me.clone(),
                msg: msg.clone(),
            };
            if self.take(Input::Deliver { from, msg }, step, Some(clock))? {
                self.parked.remove(i);
                i = 0;
            } else {
                i += 1;
            }
        }
        Ok(())
    }

    /// Runs one input. When the node takes it: timers, clock, the step's trace line and
    /// frames staged. They become durable and leave with the group ([`Host::flush`]): the
    /// line is committed before any frame of its step leaves.
    fn take(&mut self, input: Input, step: Step, msg_clock: Option<u64>) -> Result<bool, String> {
        let fx = self.node.step(input);
        for v in &fx.violations {
            self.log(&format!("protocol violation: {v}"));
            if self.violations.len() < 100 {
                self.violations.push(v.clone());
            }
        }
        if !fx.taken {
            return Ok(false);
        }
        let now = Instant::now();
        for o in &fx.outputs {
            match o {
                Output::SetTimer(t) => {
                    let at = now + self.delay(t);
                    self.timers.entry(*t).or_insert(at);
                }
                Output::CancelTimer(t) => {
                    self.timers.remove(t);
                }
                _ => {}
            }
        }
        self.clock = self.clock.max(msg_clock.unwrap_or(0)) + 1;
        self.seq += 1;
        // A message from another actor names the clock it was sent at, so that a merge puts
        // the delivery after its send; the node's call to itself needs no such edge.
        let sent = match &step {
            Step::Deliver { src, .. } if *src != self.me => msg_clock,
            _ => None,
        };
        self.stage(step, sent, &fx.outputs);
        if self.send_before_commit {
            // The seeded runtime bug: the messages leave first, and a failpoint between the
            // two finds them gone and the step not durable.
            self.release();
            thread::sleep(Duration::from_millis(if self.failpoints.is_empty() { 0 } else { 200 }));
            if let Some(fp) = self.failpoints.iter().find(|f| f.before_sends(fx.rules)) {
                self.fail_at(*fp);
            }
            self.commit()?;
        } else if !self.failpoints.is_empty() {
            // Armed, the node takes its steps one by one, so that a failpoint finds exactly
            // its step durable and nothing of it sent.
            self.commit()?;
            if let Some(fp) = self.failpoints.iter().find(|f| f.before_sends(fx.rules)) {
                self.fail_at(*fp);
            }
            if let Some(fp) = self.failpoints.iter().find(|f| f.after_one_send(fx.rules)).copied() {
                // The first message to another node leaves; nothing else does.
                self.unsent.retain(|(to, _)| matches!(to, Addr::Node(_)));
                self.unsent.truncate(1);
                self.release();
                thread::sleep(Duration::from_millis(200));
                self.fail_at(fp);
            }
            self.release();
        } else if self.unsynced.len() >= GROUP {
            self.flush()?;
        }
        if let Some(fp) = self.failpoints.iter().find(|f| f.after_sends(fx.rules)) {
            // The peer writers hand the frames to their sockets on their own threads; give
            // them a moment, so that "sent" means on the wire and not in a channel.
            thread::sleep(Duration::from_millis(200));
            self.fail_at(*fp);
        }
        Ok(true)
    }

    /// A failpoint is reached: the process dies here, as a SIGKILL would leave it (abort runs
    /// no destructor and flushes nothing; the step before it is already durable).
    fn fail_at(&self, fp: Failpoint) -> ! {
        self.log(&format!(
            "failpoint {} reached at step {}: aborting",
            fp.name(),
            self.seq
        ));
        std::process::abort()
    }

    /// R4, the operator's anti-entropy repair of partition `key`, run here as its first base
    /// replica: the other replicas' rows are read (a read at ALL, on a cluster the operator
    /// let settle), and each replica is sent, as base writes through its write path, the
    /// statements for what it lacks of the merged row. One step, `Repair`, as in the
    /// simulation, whose host does the same; the node core has no part in it.
    fn repair(&mut self, key: mv_spec::Key) -> Result<Result<u32, String>, String> {
        let replicas = self.cfg.ring.base_replicas(key);
        if replicas.first() != Some(&self.cfg.id) {
            return Ok(Err(format!(
                "{} is not the first base replica of k={key}: ask n{}",
                self.me,
                replicas.first().map_or(0, |r| r.0)
            )));
        }
        self.flush()?;
        let mut rows = Vec::with_capacity(replicas.len());
        for r in &replicas {
            if *r == self.cfg.id {
                rows.push(self.node.base_row(key));
                continue;
            }
            match super::client::status(self.cfg.peers[usize::from(r.0)], Duration::from_secs(2)) {
                Ok(st) if st.obs.up => rows.push(st.obs.base.get(&key).copied().unwrap_or_default()),
                Ok(_) => return Ok(Err(format!("{r} is down: a repair needs every replica of k={key}"))),
                Err(e) => return Ok(Err(format!("cannot read {r}: {e}"))),
            }
        }
        let outputs: Vec<Output> = crate::node::repair::anti_entropy(&replicas, &rows, key)
            .into_iter()
            .map(|(r, write, stmt)| Output::Send {
                to: Addr::Node(r),
                msg: Msg::BaseWrite { write, stmt },
            })
            .collect();
        if outputs.is_empty() {
            return Ok(Err(format!("the replicas of k={key} agree: nothing to repair")));
        }
        self.clock += 1;
        self.seq += 1;
        let step = Step::Repair {
            node: self.me.clone(),
            key,
        };
        self.stage(step, None, &outputs);
        self.flush()?;
        self.log(&format!("repaired k={key}: {} base write(s) sent", outputs.len()));
        Ok(Ok(outputs.len() as u32))
    }

    /// Stages the step just taken: its trace line (the observation after it), and its
    /// messages, each stamped with this step's clock. A message to this node itself is a
    /// local call, queued at once: it is lost with the step if the step never becomes
    /// durable, as the model's crash loses it.
    fn stage(&mut self, step: Step, sent: Option<u64>, outputs: &[Output]) {
        let text = if self.trace.is_some() {
            let line = NodeTraceLine {
                seq: self.seq,
                node: self.me.clone(),
                step,
                after: After::Node(self.observation()),
                lamport: self.clock,
                sent,
            };
            serde_json::to_string(&line).expect("a trace line serializes")
        } else {
            String::new()
        };
        self.unsynced.push((self.seq, text));
        for o in outputs {
            let Output::Send { to, msg } = o else { continue };
            if *to == Addr::Node(self.cfg.id) {
                self.local.push_back(msg.clone());
                continue;
            }
            let env = Envelope {
                from: self.me.clone(),
                to: to.to_string(),
                clock: self.clock,
                life: self.life,
                body: Body::Msg(msg.clone()),
            };
            self.unsent.push((*to, frame::encode(&env)));
        }
    }

    /// Records a step at once (the crash a restart finds), durable when it returns.
    fn record(&mut self, step: Step, sent: Option<u64>) -> Result<(), String> {
        self.stage(step, sent, &[]);
        self.flush()
    }

    /// Makes every staged step durable, then sends their messages: one fsync for the group.
    /// A kill before the commit loses the group whole, as if its steps had not been taken
    /// (nothing of them left the process, and the messages they took were lost in the crash).
    fn flush(&mut self) -> Result<(), String> {
        self.commit()?;
        self.release();
        Ok(())
    }

    /// Commits the staged lines with the node's disk as it is now, then appends them to the
    /// trace file.
    fn commit(&mut self) -> Result<(), String> {
        if self.unsynced.is_empty() {
            return Ok(());
        }
        let image = self.node.disk_image();
        self.disk
            .commit_steps(&image, self.clock, self.node.is_up(), &self.unsynced)
            .map_err(|e| format!("{}: cannot commit step {}: {e}", self.cfg.data.display(), self.seq))?;
        let lines = std::mem::take(&mut self.unsynced);
        if let Some(trace) = self.trace.as_mut() {
            for (_, text) in lines {
                writeln!(trace, "{text}").map_err(|e| format!("cannot append to {}: {e}", self.cfg.trace.display()))?;
            }
        }
        Ok(())
    }

    /// Hands every staged message to the network.
    fn release(&mut self) {
        for (to, bytes) in std::mem::take(&mut self.unsent) {
            match to {
                Addr::Node(n) => {
                    // The writer thread lives as long as the process.
                    self.peers[usize::from(n.0)].send(bytes).ok();
                }
                Addr::Client(c) => {
                    use std::io::Write as _;
                    let sent = self.clients.get(&c).map(|conn| (&**conn).write_all(&bytes));
                    match sent {
                        Some(Ok(())) => {}
                        Some(Err(e)) => {
                            self.log(&format!("lost the answer to c{c}: {e}"));
                            self.clients.remove(&c);
                        }
                        None => self.log(&format!("lost the answer to c{c}: it has no connection here")),
                    }
                }
            }
        }
    }

    /// The node's observation, with the timers this host has armed.
    fn observation(&self) -> NodeObservation {
        let mut obs = self.node.observe();
        obs.timers = self.timers.keys().copied().collect();
        obs
    }

    fn status(&self) -> NodeStatus {
        let obs = self.observation();
        NodeStatus {
            node: self.me.clone(),
            pid: std::process::id(),
            clock: self.clock,
            seq: self.seq,
            obs,
            idle: self.timers.is_empty() && self.local.is_empty() && self.parked.is_empty(),
            violations: self.violations.clone(),
        }
    }
}
