//! `mvcheck serve --bench`: requests per second and latency of the server on one node, with
//! prepared statements, from a minimal Rust client over loopback.
//!
//! The client is the smallest thing that speaks v4: STARTUP, PREPARE, EXECUTE, one request
//! in flight per connection (as a synchronous driver call), so latency is a round trip. It
//! starts its own server on a free loopback port, in this process, and stops with it.
//! Each phase runs for a fixed time; keys are spread over a key space written once before
//! measuring, so every INSERT overwrites a row and every SELECT finds one.

use crate::cli::ServeArgs;
use crate::serve::{accept_loop, Shared};
use crate::{Exit, Failure};
use mv_impl::native::frame::Opcode;
use mv_impl::native::wire::{Reader, Writer};
use mv_spec::rng::SplitMix64;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

const KEYS: u32 = 4096;

/// A key of the benchmark's table, uniformly drawn.
fn next_key(rng: &mut SplitMix64) -> u32 {
    rng.below(u64::from(KEYS)) as u32
}
const KEYSPACE: &str = "CREATE KEYSPACE bench WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}";
const TABLE: &str = "CREATE TABLE bench.kv (k int PRIMARY KEY, v text)";
const INSERT: &str = "INSERT INTO bench.kv (k, v) VALUES (?, ?)";
const SELECT: &str = "SELECT k, v FROM bench.kv WHERE k = ?";

pub fn bench(args: &ServeArgs) -> Result<Exit, Failure> {
    if args.bench_connections.iter().any(|c| *c == 0 || *c > 256) {
        return Err(Failure::Usage("--bench-connections: each count must be 1..=256".into()));
    }
    if !(args.bench_seconds > 0.0 && args.bench_seconds <= 600.0) {
        return Err(Failure::Usage("--bench-seconds must be in (0, 600]".into()));
    }
    let listener =
        TcpListener::bind("127.0.0.1:0").map_err(|e| Failure::Internal(format!("cannot listen on loopback: {e}")))?;
    let addr = listener.local_addr().map_err(|e| Failure::Internal(e.to_string()))?;
    let shared = Shared::new(args, addr);
    std::thread::spawn(move || accept_loop(listener, shared));

    let setup = || -> Result<(), String> {
        let mut c = Client::connect(addr)?;
        c.query(KEYSPACE)?;
        c.query(TABLE)?;
        let ins = c.prepare(INSERT)?;
        for k in 0..KEYS {
            c.execute(&ins, &insert_values(k, 0))?;
        }
        Ok(())
    };
    setup().map_err(|e| Failure::Internal(format!("bench setup: {e}")))?;

    println!(
        "mvcheck serve --bench: one node on {addr}; table bench.kv (k int PRIMARY KEY, v text), {KEYS} keys written before measuring;"
    );
    println!(
        "prepared statements, one request in flight per connection, {}s per row, Rust client on loopback.",
        args.bench_seconds
    );
    println!();
    println!(
        "{:<8} {:>5} {:>9} {:>9} {:>8} {:>8} {:>8}",
        "op", "conns", "requests", "req/s", "p50 µs", "p99 µs", "max µs"
    );
    let secs = Duration::from_secs_f64(args.bench_seconds);
    for op in [Op::Insert, Op::Select] {
        // The same work without the network, to say where a round trip's time goes: the
        // engine alone on the statement with its values written in, then the protocol core
        // (frame decoding, binding, the engine, encoding) without a socket.
        let row = |name: &str, s: Stats| {
            println!(
                "{:<8} {:>5} {:>9} {:>9.0} {:>8} {:>8} {:>8}   {name}",
                format!("{op:?}").to_lowercase(),
                "-",
                s.requests,
                s.requests as f64 / s.elapsed.as_secs_f64(),
                s.p50,
                s.p99,
                s.max
            )
        };
        row(
            "engine alone (Engine::execute, statement parsed beforehand)",
            engine_alone(op, secs),
        );
        row(
            "protocol core, no socket (Connection::receive of an EXECUTE frame)",
            sans_io(args, op, secs),
        );
        for &conns in &args.bench_connections {
            let s = phase(addr, op, conns, secs).map_err(|e| Failure::Internal(format!("bench {op:?}: {e}")))?;
            println!(
                "{:<8} {:>5} {:>9} {:>9.0} {:>8} {:>8} {:>8}   over TCP",
                format!("{op:?}").to_lowercase(),
                conns,
                s.requests,
                s.requests as f64 / s.elapsed.as_secs_f64(),
                s.p50,
                s.p99,
                s.max
            );
        }
    }
    Ok(Exit::Ok)
}

#[derive(Clone, Copy, Debug)]
enum Op {
    Insert,
    Select,
}

struct Stats {
    requests: usize,
    elapsed: Duration,
    p50: u64,
    p99: u64,
    max: u64,
}

fn insert_values(k: u32, gen: u64) -> Vec<Vec<u8>> {
    vec![
        (k as i32).to_be_bytes().to_vec(),
        format!("value-{k}-{gen}").into_bytes(),
    ]
}

fn phase(addr: SocketAddr, op: Op, conns: usize, secs: Duration) -> Result<Stats, String> {
    let start = Instant::now();
    let workers: Vec<_> = (0..conns)
        .map(|w| {
            std::thread::spawn(move || -> Result<Vec<u32>, String> {
                let mut c = Client::connect(addr)?;
                let id = c.prepare(match op {
                    Op::Insert => INSERT,
                    Op::Select => SELECT,
                })?;
                let mut lat = Vec::new();
                // Keys drawn from the project's one generator, seeded per worker.
                let mut rng = SplitMix64::new(w as u64);
                let mut gen = 0u64;
                while start.elapsed() < secs {
                    let k = next_key(&mut rng);
                    gen += 1;
                    let values = match op {
                        Op::Insert => insert_values(k, gen),
                        Op::Select => vec![(k as i32).to_be_bytes().to_vec()],
                    };
                    let t = Instant::now();
                    let rows = c.execute(&id, &values)?;
                    lat.push(micros(t));
                    if let Op::Select = op {
                        if rows != 1 {
                            return Err(format!("SELECT of key {k} returned {rows} rows"));
                        }
                    }
                }
                Ok(lat)
            })
        })
        .collect();
    let mut all = Vec::new();
    for w in workers {
        all.extend(w.join().map_err(|_| "a client thread panicked".to_string())??);
    }
    Ok(stats(all, start.elapsed()))
}

fn stats(mut lat: Vec<u32>, elapsed: Duration) -> Stats {
    lat.sort_unstable();
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0)
    };
    Stats {
        requests: lat.len(),
        elapsed,
        p50: u64::from(pct(0.50)),
        p99: u64::from(pct(0.99)),
        max: u64::from(lat.last().copied().unwrap_or(0)),
    }
}

fn micros(t: Instant) -> u32 {
    t.elapsed().as_micros().min(u128::from(u32::MAX)) as u32
}

/// The engine alone: the INSERT or SELECT with its values as literals, parsed beforehand.
fn engine_alone(op: Op, secs: Duration) -> Stats {
    use mv_impl::cql::parse_statement;
    use mv_impl::engine::{Engine, EngineConfig};
    let mut e = Engine::new(EngineConfig::default());
    for q in [KEYSPACE, TABLE] {
        let _ = e.execute(&parse_statement(q).expect("bench schema parses"));
    }
    let stmts: Vec<_> = (0..KEYS)
        .map(|k| {
            let q = match op {
                Op::Insert => format!("INSERT INTO bench.kv (k, v) VALUES ({k}, 'value-{k}-1')"),
                Op::Select => format!("SELECT k, v FROM bench.kv WHERE k = {k}"),
            };
            parse_statement(&q).expect("bench statement parses")
        })
        .collect();
    for k in 0..KEYS {
        let q = format!("INSERT INTO bench.kv (k, v) VALUES ({k}, 'value-{k}-0')");
        let _ = e.execute(&parse_statement(&q).expect("parses"));
    }
    timed_loop(secs, |k| {
        std::hint::black_box(e.execute(&stmts[k as usize])).ok();
    })
}

/// The protocol core without a socket: EXECUTE frames handed to `Connection::receive`.
fn sans_io(args: &ServeArgs, op: Op, secs: Duration) -> Stats {
    let addr: SocketAddr = ([127, 0, 0, 1], 9042).into();
    let shared = Shared::new(args, addr);
    let mut server = shared.node().lock().unwrap_or_else(|p| p.into_inner());
    let mut conn = server.connect();
    let frame = |opcode: Opcode, body: &[u8]| {
        let mut f = vec![4, 0, 0, 1, opcode as u8];
        f.extend((body.len() as i32).to_be_bytes());
        f.extend_from_slice(body);
        f
    };
    let mut w = Writer::new();
    w.short(1).string("CQL_VERSION").string("3.4.5");
    let _ = conn.receive(&mut server, &frame(Opcode::Startup, &w.buf), 0);
    for q in [KEYSPACE, TABLE] {
        let mut w = Writer::new();
        w.long_string(q).short(1).byte(0);
        let _ = conn.receive(&mut server, &frame(Opcode::Query, &w.buf), 0);
    }
    let prepare = |conn: &mut mv_impl::native::Connection, server: &mut mv_impl::native::Server, q: &str| {
        let mut w = Writer::new();
        w.long_string(q);
        let out = conn.receive(server, &frame(Opcode::Prepare, &w.buf), 0);
        // RESULT header (9 bytes), kind (4), then the id as [short bytes].
        let mut r = Reader::new(&out.reply[13..]);
        r.short_bytes("id").unwrap_or_default()
    };
    let execute = |id: &[u8], values: &[Vec<u8>]| {
        let mut w = Writer::new();
        w.short_bytes(id).short(1).byte(0x01).short(values.len() as u16);
        for v in values {
            w.bytes(Some(v));
        }
        frame(Opcode::Execute, &w.buf)
    };
    let ins = prepare(&mut conn, &mut server, INSERT);
    for k in 0..KEYS {
        let _ = conn.receive(&mut server, &execute(&ins, &insert_values(k, 0)), 0);
    }
    let id = match op {
        Op::Insert => ins,
        Op::Select => prepare(&mut conn, &mut server, SELECT),
    };
    let frames: Vec<Vec<u8>> = (0..KEYS)
        .map(|k| match op {
            Op::Insert => execute(&id, &insert_values(k, 1)),
            Op::Select => execute(&id, &[(k as i32).to_be_bytes().to_vec()]),
        })
        .collect();
    timed_loop(secs, |k| {
        std::hint::black_box(conn.receive(&mut server, &frames[k as usize], 0));
    })
}

/// Runs `op` on uniformly drawn keys for `secs`, timing each call.
fn timed_loop(secs: Duration, mut op: impl FnMut(u32)) -> Stats {
    let start = Instant::now();
    let mut lat = Vec::new();
    let mut rng = SplitMix64::new(0);
    while start.elapsed() < secs {
        let k = next_key(&mut rng);
        let t = Instant::now();
        op(k);
        lat.push(micros(t));
    }
    stats(lat, start.elapsed())
}

/// A synchronous v4 client: one request, then its answer.
struct Client {
    s: TcpStream,
}

impl Client {
    fn connect(addr: SocketAddr) -> Result<Client, String> {
        let s = TcpStream::connect(addr).map_err(|e| format!("connect {addr}: {e}"))?;
        let _ = s.set_nodelay(true);
        let mut c = Client { s };
        let mut w = Writer::new();
        w.short(1).string("CQL_VERSION").string("3.4.5");
        let (op, _) = c.request(Opcode::Startup, &w.buf)?;
        if op != Opcode::Ready as u8 {
            return Err(format!("STARTUP answered with opcode {op}"));
        }
        Ok(c)
    }

    fn request(&mut self, opcode: Opcode, body: &[u8]) -> Result<(u8, Vec<u8>), String> {
        let mut frame = vec![4, 0, 0, 1, opcode as u8];
        frame.extend((body.len() as i32).to_be_bytes());
        frame.extend_from_slice(body);
        self.s.write_all(&frame).map_err(|e| e.to_string())?;
        let mut header = [0u8; 9];
        self.s.read_exact(&mut header).map_err(|e| e.to_string())?;
        let len = i32::from_be_bytes([header[5], header[6], header[7], header[8]]);
        let mut body = vec![0u8; len.max(0) as usize];
        self.s.read_exact(&mut body).map_err(|e| e.to_string())?;
        if header[4] == Opcode::Error as u8 {
            let mut r = Reader::new(&body);
            let code = r.int("code").map_err(|e| e.to_string())?;
            let msg = r.string("message").map_err(|e| e.to_string())?;
            return Err(format!("error 0x{code:04x}: {msg}"));
        }
        Ok((header[4], body))
    }

    fn query(&mut self, q: &str) -> Result<(), String> {
        let mut w = Writer::new();
        w.long_string(q).short(1).byte(0);
        self.request(Opcode::Query, &w.buf).map(|_| ())
    }

    fn prepare(&mut self, q: &str) -> Result<Vec<u8>, String> {
        let mut w = Writer::new();
        w.long_string(q);
        let (_, body) = self.request(Opcode::Prepare, &w.buf)?;
        let mut r = Reader::new(&body);
        let kind = r.int("kind").map_err(|e| e.to_string())?;
        if kind != 4 {
            return Err(format!("PREPARE answered with result kind {kind}"));
        }
        r.short_bytes("id").map_err(|e| e.to_string())
    }

    /// Runs a prepared statement; the number of rows it returned (0 for a write).
    fn execute(&mut self, id: &[u8], values: &[Vec<u8>]) -> Result<i32, String> {
        let mut w = Writer::new();
        w.short_bytes(id).short(1).byte(0x01).short(values.len() as u16);
        for v in values {
            w.bytes(Some(v));
        }
        let (_, body) = self.request(Opcode::Execute, &w.buf)?;
        let mut r = Reader::new(&body);
        let kind = r.int("kind").map_err(|e| e.to_string())?;
        if kind != 2 {
            return Ok(0);
        }
        // Rows: flags, column count, then (global spec) keyspace, table, and each column.
        let flags = r.int("flags").map_err(|e| e.to_string())?;
        let cols = r.int("columns").map_err(|e| e.to_string())?;
        if flags & 0x0002 != 0 {
            r.bytes("paging state").map_err(|e| e.to_string())?;
        }
        if flags & 0x0001 != 0 {
            r.string("keyspace").map_err(|e| e.to_string())?;
            r.string("table").map_err(|e| e.to_string())?;
        }
        for _ in 0..cols {
            if flags & 0x0001 == 0 {
                r.string("keyspace").map_err(|e| e.to_string())?;
                r.string("table").map_err(|e| e.to_string())?;
            }
            r.string("name").map_err(|e| e.to_string())?;
            // The bench's columns are int and text: simple types, one [short] each.
            r.short("type").map_err(|e| e.to_string())?;
        }
        r.int("rows").map_err(|e| e.to_string())
    }
}
