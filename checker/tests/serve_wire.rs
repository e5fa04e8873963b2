//! `mvcheck serve` on the wire, with a raw client: schema-change events, and bad input: other
//! protocol versions, oversized and negative lengths, and a few hundred random and mutated
//! frames (the fuzz test), each on its own connection. Every bad connection must end with the
//! server closing it (after a protocol error where the header allowed one); meanwhile a
//! well-behaved connection opened before the noise keeps working, the server process stays
//! up, and the rows written before are all still there.

#[path = "common/serve.rs"]
mod serve_common;

use mv_impl::native::wire::{Reader, Writer};
use mv_spec::rng::SplitMix64;
use serve_common::Served;
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

const OPTIONS: u8 = 0x05;
const STARTUP: u8 = 0x01;
const QUERY: u8 = 0x07;
const PREPARE: u8 = 0x09;
const EXECUTE: u8 = 0x0A;
const REGISTER: u8 = 0x0B;
const BATCH: u8 = 0x0D;
const ERROR: u8 = 0x00;

fn frame(version: u8, stream: i16, opcode: u8, body: &[u8]) -> Vec<u8> {
    let mut f = vec![version, 0];
    f.extend(stream.to_be_bytes());
    f.push(opcode);
    f.extend((body.len() as i32).to_be_bytes());
    f.extend_from_slice(body);
    f
}

fn startup_body() -> Vec<u8> {
    let mut w = Writer::new();
    w.short(1).string("CQL_VERSION").string("3.4.5");
    w.buf
}

fn query_body(q: &str) -> Vec<u8> {
    let mut w = Writer::new();
    w.long_string(q).short(1).byte(0);
    w.buf
}

fn connect(port: u16) -> TcpStream {
    let s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    s
}

/// Reads one frame: (version byte, opcode, body).
fn read_frame(s: &mut TcpStream) -> std::io::Result<(u8, u8, Vec<u8>)> {
    let mut h = [0u8; 9];
    s.read_exact(&mut h)?;
    let len = i32::from_be_bytes([h[5], h[6], h[7], h[8]]);
    assert!(len >= 0, "the server sent a negative length");
    let mut body = vec![0u8; len as usize];
    s.read_exact(&mut body)?;
    Ok((h[0], h[4], body))
}

fn error_of(body: &[u8]) -> (i32, String) {
    let mut r = Reader::new(body);
    (r.int("code").expect("code"), r.string("message").expect("message"))
}

/// Everything the server sends until it closes; `Err` when it neither closes nor answers.
fn until_closed(s: &mut TcpStream) -> Result<Vec<u8>, String> {
    let mut all = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return Ok(all),
            Ok(n) => all.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::ConnectionReset => return Ok(all),
            Err(e) => return Err(format!("{e} after {} bytes", all.len())),
        }
    }
}

/// A client that has done STARTUP.
fn good_client(port: u16) -> TcpStream {
    let mut s = connect(port);
    s.write_all(&frame(4, 1, STARTUP, &startup_body())).expect("write");
    let (_, op, _) = read_frame(&mut s).expect("READY");
    assert_eq!(op, 0x02, "STARTUP is answered with READY");
    s
}

fn query(s: &mut TcpStream, q: &str) -> (u8, Vec<u8>) {
    s.write_all(&frame(4, 2, QUERY, &query_body(q))).expect("write");
    let (_, op, body) = read_frame(s).expect("an answer");
    (op, body)
}

/// The number of rows of a Rows result.
fn row_count(body: &[u8]) -> i32 {
    let mut r = Reader::new(body);
    assert_eq!(r.int("kind").unwrap(), 2, "a Rows result");
    let flags = r.int("flags").unwrap();
    let cols = r.int("columns").unwrap();
    assert_eq!(flags & 1, 1, "one table: global spec");
    r.string("ks").unwrap();
    r.string("table").unwrap();
    for _ in 0..cols {
        r.string("name").unwrap();
        r.short("type").unwrap();
    }
    r.int("rows").unwrap()
}

#[test]
fn a_schema_change_is_answered_and_pushed_to_every_registered_connection() {
    let server = Served::start();
    let mut listener = good_client(server.port);
    let mut w = Writer::new();
    w.string_list(&["SCHEMA_CHANGE".into(), "STATUS_CHANGE".into()]);
    listener.write_all(&frame(4, 3, REGISTER, &w.buf)).expect("write");
    assert_eq!(read_frame(&mut listener).expect("READY").1, 0x02);
    let mut other = good_client(server.port);
    let (op, body) = query(
        &mut other,
        "CREATE KEYSPACE ev WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}",
    );
    assert_eq!(op, 0x08);
    let mut r = Reader::new(&body);
    assert_eq!(r.int("kind").unwrap(), 5, "a SCHEMA_CHANGE result");
    let change: Vec<String> = (0..3).map(|_| r.string("field").unwrap()).collect();
    assert_eq!(change, ["CREATED", "KEYSPACE", "ev"]);
    let mut h = [0u8; 9];
    listener.read_exact(&mut h).expect("an event");
    assert_eq!(
        (h[0], i16::from_be_bytes([h[2], h[3]]), h[4]),
        (0x84, -1, 0x0C),
        "EVENT on stream -1"
    );
    let mut body = vec![0u8; i32::from_be_bytes([h[5], h[6], h[7], h[8]]) as usize];
    listener.read_exact(&mut body).expect("its body");
    let mut r = Reader::new(&body);
    let event: Vec<String> = (0..4).map(|_| r.string("field").unwrap()).collect();
    assert_eq!(event, ["SCHEMA_CHANGE", "CREATED", "KEYSPACE", "ev"]);
    // A statement that changes nothing announces nothing.
    let (_, body) = query(
        &mut other,
        "CREATE KEYSPACE IF NOT EXISTS ev WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}",
    );
    assert_eq!(Reader::new(&body).int("kind").unwrap(), 1, "a Void result");
    // A table, qualified: CREATED TABLE ev.t.
    let (_, body) = query(&mut other, "CREATE TABLE ev.t (k int PRIMARY KEY, v int)");
    let mut r = Reader::new(&body);
    r.int("kind").unwrap();
    let change: Vec<String> = (0..4).map(|_| r.string("field").unwrap()).collect();
    assert_eq!(change, ["CREATED", "TABLE", "ev", "t"]);
}

#[test]
fn other_versions_are_refused_in_the_words_drivers_step_down_on() {
    let server = Served::start();
    for version in [1u8, 2, 3, 5, 6, 0x41, 0x42] {
        let mut s = connect(server.port);
        s.write_all(&frame(version, 0, OPTIONS, &[])).expect("write");
        let got = until_closed(&mut s).expect("the server answers and closes");
        assert!(got.len() > 9, "v{version}: an error frame");
        // The client's own version when a driver can read that header (v1 to v5), else v4.
        let answered_in = if version <= 5 { version } else { 4 };
        assert_eq!(got[0], 0x80 | answered_in, "v{version}: the answer's version byte");
        let opcode = if version < 3 { got[3] } else { got[4] };
        assert_eq!(opcode, ERROR, "v{version}");
        let body = if version < 3 { &got[8..] } else { &got[9..] };
        let (code, msg) = error_of(body);
        assert_eq!(code, 0x000A, "v{version}: ProtocolError");
        assert!(
            msg.contains("Invalid or unsupported protocol version"),
            "v{version}: {msg}"
        );
    }
}

#[test]
fn oversized_negative_and_compressed_frames_get_a_protocol_error_and_a_close() {
    let server = Served::start();
    for (flags, len, what) in [
        (0u8, 200 * 1024 * 1024i32, "Request is too big"),
        (0, -5, "Invalid frame body length -5"),
        (1, 4, "Compressed frame"),
    ] {
        let mut s = connect(server.port);
        let mut h = vec![4, flags, 0, 9, QUERY];
        h.extend(len.to_be_bytes());
        s.write_all(&h).expect("write");
        let got = until_closed(&mut s).expect("the server answers and closes");
        let (code, msg) = error_of(&got[9..]);
        assert_eq!((code, i16::from_be_bytes([got[2], got[3]])), (0x000A, 9));
        assert!(msg.contains(what), "{msg}");
    }
    // A request before STARTUP, and a body that does not parse.
    let mut s = connect(server.port);
    s.write_all(&frame(4, 3, QUERY, &query_body("SELECT * FROM system.local")))
        .expect("write");
    let got = until_closed(&mut s).expect("closes");
    assert!(error_of(&got[9..]).1.contains("expecting STARTUP or OPTIONS"));
    let mut s = good_client(server.port);
    s.write_all(&frame(4, 4, QUERY, &[0, 0, 0, 50, b'S'])).expect("write");
    let got = until_closed(&mut s).expect("closes");
    let (code, msg) = error_of(&got[9..]);
    assert_eq!(code, 0x000A);
    assert!(msg.contains("truncated query string"), "{msg}");
}

#[test]
fn a_wrongly_sized_bound_value_is_an_invalid_request_not_a_crash() {
    let server = Served::start();
    let mut s = good_client(server.port);
    for q in [
        "CREATE KEYSPACE fz WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}",
        "CREATE TABLE fz.t (k int PRIMARY KEY, v text)",
    ] {
        assert_eq!(query(&mut s, q).0, 0x08, "{q}");
    }
    let mut w = Writer::new();
    w.long_string("SELECT * FROM fz.t WHERE k = ?")
        .short(1)
        .byte(0x01)
        .short(1)
        .bytes(Some(&[1, 2, 3]));
    s.write_all(&frame(4, 5, QUERY, &w.buf)).expect("write");
    let (_, op, body) = read_frame(&mut s).expect("an answer");
    assert_eq!(op, ERROR);
    let (code, msg) = error_of(&body);
    assert_eq!(code, 0x2200, "{msg}");
    assert!(msg.contains("Expected 4 or 0 byte int (3)"), "{msg}");
    // The connection is still good, and takes values by name too.
    assert_eq!(query(&mut s, "INSERT INTO fz.t (k, v) VALUES (3, 'three')").0, 0x08);
    let mut w = Writer::new();
    w.long_string("SELECT k, v FROM fz.t WHERE k = :key")
        .short(1)
        .byte(0x01 | 0x40)
        .short(1);
    w.string("key").bytes(Some(&3i32.to_be_bytes()));
    s.write_all(&frame(4, 6, QUERY, &w.buf)).expect("write");
    let (_, op, body) = read_frame(&mut s).expect("an answer");
    assert_eq!(op, 0x08, "{:?}", error_of(&body));
    assert_eq!(row_count(&body), 1);
}

/// A valid exchange to mutate: STARTUP, then one request of each kind.
fn valid_stream(rng: &mut SplitMix64) -> Vec<u8> {
    let mut out = frame(4, 1, STARTUP, &startup_body());
    let mut w = Writer::new();
    match rng.next_u64() % 6 {
        0 => out.extend(frame(
            4,
            2,
            QUERY,
            &query_body("INSERT INTO fz.t (k, v) VALUES (1, 'x')"),
        )),
        1 => out.extend(frame(4, 2, QUERY, &query_body("SELECT * FROM fz.t WHERE k = 1"))),
        2 => {
            w.long_string("SELECT * FROM fz.t WHERE k = ?");
            out.extend(frame(4, 2, PREPARE, &w.buf));
        }
        3 => {
            w.short_bytes(&[7; 16])
                .short(1)
                .byte(0x01)
                .short(1)
                .bytes(Some(&[0, 0, 0, 1]));
            out.extend(frame(4, 2, EXECUTE, &w.buf));
        }
        4 => {
            w.short(1).string("SCHEMA_CHANGE");
            out.extend(frame(4, 2, REGISTER, &w.buf));
        }
        _ => {
            w.byte(1)
                .short(1)
                .byte(0)
                .long_string("INSERT INTO fz.t (k, v) VALUES (2, 'y')")
                .short(0);
            w.short(1).byte(0);
            out.extend(frame(4, 2, BATCH, &w.buf));
        }
    }
    out
}

fn mutate(bytes: &mut Vec<u8>, rng: &mut SplitMix64) {
    for _ in 0..1 + rng.next_u64() % 4 {
        if bytes.is_empty() {
            bytes.push(rng.next_u64() as u8);
            continue;
        }
        let i = (rng.next_u64() % bytes.len() as u64) as usize;
        match rng.next_u64() % 4 {
            0 => bytes[i] ^= 1 << (rng.next_u64() % 8),
            1 => bytes[i] = rng.next_u64() as u8,
            2 => bytes.insert(i, rng.next_u64() as u8),
            _ => bytes.truncate(i),
        }
    }
}

#[test]
fn random_and_mutated_frames_never_take_the_server_down_or_lose_data() {
    let mut server = Served::start();
    let mut keeper = good_client(server.port);
    for q in [
        "CREATE KEYSPACE fz WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}",
        "CREATE TABLE fz.t (k int PRIMARY KEY, v text)",
    ] {
        assert_eq!(query(&mut keeper, q).0, 0x08, "{q}");
    }
    for k in 100..110 {
        let q = format!("INSERT INTO fz.t (k, v) VALUES ({k}, 'kept')");
        assert_eq!(query(&mut keeper, &q).0, 0x08);
    }
    let mut rng = SplitMix64::new(0x5e7e);
    let mut answered = 0;
    for round in 0..300 {
        let bytes = match round % 3 {
            0 => (0..rng.next_u64() % 200).map(|_| rng.next_u64() as u8).collect(),
            1 => {
                let mut b = valid_stream(&mut rng);
                mutate(&mut b, &mut rng);
                b
            }
            _ => {
                // A believable header and a random body of the announced length.
                let body: Vec<u8> = (0..rng.next_u64() % 64).map(|_| rng.next_u64() as u8).collect();
                let opcode = [STARTUP, OPTIONS, QUERY, PREPARE, EXECUTE, REGISTER, BATCH][round % 7];
                let mut b = frame(4, 1, STARTUP, &startup_body());
                b.extend(frame(4, 2, opcode, &body));
                b
            }
        };
        let mut s = connect(server.port);
        let _ = s.write_all(&bytes);
        let _ = s.shutdown(std::net::Shutdown::Write);
        let got = until_closed(&mut s)
            .unwrap_or_else(|e| panic!("round {round}: the server neither answered nor closed: {e}"));
        // Whatever came back is a sequence of whole response frames.
        let mut pos = 0;
        while pos < got.len() {
            assert!(got.len() >= pos + 9, "round {round}: a truncated header");
            assert_eq!(got[pos] & 0x80, 0x80, "round {round}: a response frame");
            let len = i32::from_be_bytes([got[pos + 5], got[pos + 6], got[pos + 7], got[pos + 8]]);
            assert!(
                len >= 0 && got.len() >= pos + 9 + len as usize,
                "round {round}: a truncated body"
            );
            pos += 9 + len as usize;
            answered += 1;
        }
        // The well-behaved connection is served throughout.
        if round % 50 == 0 {
            assert_eq!(
                query(&mut keeper, "SELECT * FROM system.local").0,
                0x08,
                "round {round}"
            );
        }
    }
    assert!(
        answered > 100,
        "most noise gets an answer before the close ({answered})"
    );
    assert!(server.alive(), "the server is up");
    let (op, body) = query(
        &mut keeper,
        "SELECT k, v FROM fz.t WHERE k IN (100, 101, 102, 103, 104, 105, 106, 107, 108, 109)",
    );
    assert_eq!(op, 0x08);
    assert_eq!(row_count(&body), 10, "every row written before the noise is there");
    let mut fresh = good_client(server.port);
    assert_eq!(
        query(&mut fresh, "INSERT INTO fz.t (k, v) VALUES (200, 'after')").0,
        0x08
    );
}

#[test]
fn the_bench_mode_reports_every_layer_and_connection_count() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mvcheck"))
        .args([
            "serve",
            "--bench",
            "--bench-seconds",
            "0.2",
            "--bench-connections",
            "1,2",
        ])
        .output()
        .expect("mvcheck runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for op in ["insert", "select"] {
        let rows: Vec<&str> = stdout.lines().filter(|l| l.starts_with(op)).collect();
        assert_eq!(rows.len(), 4, "engine, core, 1 and 2 connections for {op}:\n{stdout}");
        for r in rows {
            let requests: u64 = r.split_whitespace().nth(2).and_then(|n| n.parse().ok()).unwrap_or(0);
            assert!(requests > 0, "a row with no requests: {r}");
        }
    }
    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_mvcheck"))
        .args(["serve", "--bench", "--bench-connections", "0"])
        .output()
        .expect("mvcheck runs");
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--bench-connections"));
}
