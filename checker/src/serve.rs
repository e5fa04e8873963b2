//! `mvcheck serve`: the reference implementation's engine behind the CQL native protocol, so
//! that cqlsh and the drivers can talk to it.
//!
//! This is the thin shell: sockets, threads and the clock. What bytes mean is
//! `mv_impl::native`'s. One thread per connection reads, hands the bytes to its connection's
//! state under the one lock that guards the node, and writes the answer. The node is a single
//! engine, so statements run one at a time whatever the number of connections; the lock is
//! held for one read's worth of requests, never across socket I/O.
//!
//! A connection that sends garbage gets a protocol error and is closed; the others go on. A
//! panic while serving one connection (a bug) closes that connection; the node's data stays,
//! and the lock is taken back from the poisoned state rather than taking every client down.

use crate::cli::{SemanticsArg, ServeArgs};
use crate::{Exit, Failure};
use mv_impl::engine::ViewRules;
use mv_impl::native::system::{uuid_of, NodeInfo};
use mv_impl::native::{frame, Server, ServerConfig};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A client that stops reading is dropped after this long rather than holding a writer.
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);

pub fn serve(args: &ServeArgs) -> Result<Exit, Failure> {
    if args.bench {
        return crate::serve_bench::bench(args);
    }
    let listener = bind(args)?;
    let addr = listener
        .local_addr()
        .map_err(|e| Failure::Internal(format!("no local address: {e}")))?;
    let shared = Shared::new(args, addr);
    // Tests and scripts read the port from this line, so it is printed before anything else.
    println!("mvcheck serve: listening on {addr} (CQL native protocol v4, one node)");
    let _ = std::io::stdout().flush();
    accept_loop(listener, shared);
    Ok(Exit::Ok)
}

pub fn bind(args: &ServeArgs) -> Result<TcpListener, Failure> {
    TcpListener::bind(&args.addr).map_err(|e| Failure::Usage(format!("--addr {}: cannot listen: {e}", args.addr)))
}

/// The node and who listens for its events.
pub struct Shared {
    server: Mutex<Server>,
    listeners: Mutex<Vec<(u64, Arc<Mutex<TcpStream>>)>>,
    next_id: AtomicU64,
}

impl Shared {
    pub fn new(args: &ServeArgs, addr: SocketAddr) -> Arc<Shared> {
        let rules = match args.semantics {
            SemanticsArg::Current => ViewRules::current(),
            SemanticsArg::Cassandra30 => ViewRules::cassandra_30(),
        };
        let ip = match addr.ip() {
            ip if ip.is_unspecified() => "127.0.0.1".to_string(),
            ip => ip.to_string(),
        };
        let server = Server::new(ServerConfig {
            rules,
            max_frame: args.max_frame_bytes as usize,
            node: NodeInfo {
                cluster_name: args.cluster_name.clone(),
                address: ip,
                port: addr.port(),
                host_id: uuid_of(&format!("mvcheck node {addr}")),
            },
        });
        Arc::new(Shared {
            server: Mutex::new(server),
            listeners: Mutex::new(Vec::new()),
            next_id: AtomicU64::new(0),
        })
    }

    /// The node's lock, for the benchmark's socket-free measurement.
    pub fn node(&self) -> &Mutex<Server> {
        &self.server
    }

    fn server(&self) -> MutexGuard<'_, Server> {
        self.server.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn listeners(&self) -> MutexGuard<'_, Vec<(u64, Arc<Mutex<TcpStream>>)>> {
        self.listeners.lock().unwrap_or_else(|p| p.into_inner())
    }
}

pub fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        let shared = Arc::clone(&shared);
        std::thread::spawn(move || serve_connection(&shared, stream));
    }
}

fn now_micros() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}

fn write_all(w: &Mutex<TcpStream>, bytes: &[u8]) -> std::io::Result<()> {
    w.lock().unwrap_or_else(|p| p.into_inner()).write_all(bytes)
}

fn serve_connection(shared: &Shared, mut stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let _ = stream.set_write_timeout(Some(WRITE_TIMEOUT));
    let Ok(writer) = stream.try_clone() else { return };
    let writer = Arc::new(Mutex::new(writer));
    let id = shared.next_id.fetch_add(1, Ordering::Relaxed);
    let mut conn = shared.server().connect();
    let mut listening = false;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let out = {
            let mut server = shared.server();
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                conn.receive(&mut server, &buf[..n], now_micros())
            }))
        };
        let Ok(out) = out else {
            // A bug; this client is told so, and only this one is dropped.
            let body = mv_impl::native::messages::error_body(
                mv_impl::native::messages::code::SERVER,
                "internal error while serving this connection; it is closed",
                &mv_impl::native::messages::ErrorExtra::None,
            );
            let _ = write_all(
                &writer,
                &frame::encode(frame::VERSION, 0, frame::Opcode::Error, &[], &body),
            );
            break;
        };
        // Listening starts before REGISTER's READY goes out: a client that saw READY must not
        // miss the event of a change another connection makes right after.
        if !listening && conn.wants_schema_events() {
            listening = true;
            shared.listeners().push((id, Arc::clone(&writer)));
        }
        if write_all(&writer, &out.reply).is_err() {
            break;
        }
        if !out.events.is_empty() {
            let targets: Vec<Arc<Mutex<TcpStream>>> = shared.listeners().iter().map(|(_, w)| Arc::clone(w)).collect();
            for ev in &out.events {
                for w in &targets {
                    let _ = write_all(w, ev);
                }
            }
        }
        if out.close {
            break;
        }
    }
    shared.listeners().retain(|(i, _)| *i != id);
    close_gently(&mut stream, &mut buf);
}

/// Closes after the last answer: closing with unread bytes pending would reset the
/// connection, and a reset can destroy the protocol error the client has yet to read. So the
/// write side closes first, and what the client still sends is read and dropped for a moment.
fn close_gently(stream: &mut TcpStream, buf: &mut [u8]) {
    let _ = stream.shutdown(std::net::Shutdown::Write);
    let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
    let mut drained = 0usize;
    while drained < (1 << 20) {
        match stream.read(buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => drained += n,
        }
    }
}
