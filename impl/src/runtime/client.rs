//! Talking to a node from outside: a client's write (the node is its Coordinator) and a
//! status request.

use super::frame::{self, Body, Envelope, FrameReader, NodeStatus};
use mv_spec::{Cl, Msg, NodeId, Statement, WriteId};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

fn connect(addr: SocketAddr, wait: Duration) -> Result<TcpStream, String> {
    let s = TcpStream::connect_timeout(&addr, wait).map_err(|e| format!("cannot reach {addr}: {e}"))?;
    s.set_nodelay(true).ok();
    s.set_write_timeout(Some(wait)).ok();
    Ok(s)
}

/// Sends `body` to the node at `addr` as an operator's request (no clock, no step of its
/// own) and returns the body of its answer.
fn ask(addr: SocketAddr, body: Body, wait: Duration) -> Result<Body, String> {
    let mut s = connect(addr, wait)?;
    s.set_read_timeout(Some(wait)).ok();
    let env = Envelope {
        from: "-".into(),
        to: "-".into(),
        clock: 0,
        life: 0,
        body,
    };
    frame::write_frame(&mut s, &env).map_err(|e| format!("{addr}: {e}"))?;
    match FrameReader::new(&s).next_frame() {
        Ok(Some(answer)) => Ok(answer.body),
        Ok(None) => Err(format!("{addr} closed the connection without an answer")),
        Err(e) => Err(format!("{addr}: {e}")),
    }
}

/// Asks the node at `addr` for its status.
pub fn status(addr: SocketAddr, wait: Duration) -> Result<NodeStatus, String> {
    match ask(addr, Body::Status, wait)? {
        Body::StatusReply(st) => Ok(*st),
        other => Err(format!("{addr} answered a status request with {other:?}")),
    }
}

/// Asks the node at `addr` to repair partition `key` (R4), as its first base replica: the
/// number of base writes it sent, or why it did not run (`Ok(Err(why))`).
pub fn repair(addr: SocketAddr, key: mv_spec::Key, wait: Duration) -> Result<Result<u32, String>, String> {
    match ask(addr, Body::Repair(key), wait)? {
        Body::Repaired(r) => Ok(r),
        other => Err(format!("{addr} answered a repair request with {other:?}")),
    }
}

/// How a client write ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// The coordinator's answer (`WriteOk` or `WriteTimeout`), with the coordinator's clock.
    Got(Msg, u64),
    /// No answer within the client's own wait (the coordinator died, or is slow).
    None(String),
}

/// One client: its number and its Lamport clock.
#[derive(Clone, Debug)]
pub struct Client {
    /// `c<id>`.
    pub id: u8,
    /// The clock after the client's last event.
    pub clock: u64,
}

impl Client {
    /// Sends `stmt` as write `write` at consistency `cl` to node `node` at `addr`, and waits
    /// up to `wait` for the answer. An error means the write never left (the node is not
    /// reachable); [`Answer::None`] means it left and no answer came.
    pub fn write(
        &mut self,
        addr: SocketAddr,
        node: NodeId,
        write: WriteId,
        stmt: Statement,
        cl: Cl,
        wait: Duration,
    ) -> Result<Answer, String> {
        let mut s = connect(addr, wait)?;
        self.clock += 1;
        let env = Envelope {
            from: format!("c{}", self.id),
            to: node.to_string(),
            clock: self.clock,
            life: 0,
            body: Body::Msg(Msg::Write { write, stmt, cl }),
        };
        frame::write_frame(&mut s, &env).map_err(|e| format!("{node} at {addr}: {e}"))?;
        let deadline = Instant::now() + wait;
        let mut reader = FrameReader::new(&s);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(Answer::None(format!("no answer from {node} within {wait:?}")));
            }
            s.set_read_timeout(Some(left)).ok();
            match reader.next_frame() {
                Ok(Some(Envelope {
                    clock,
                    body: Body::Msg(msg @ (Msg::WriteOk { .. } | Msg::WriteTimeout { .. })),
                    ..
                })) if answer_to(&msg) == write => {
                    self.clock = self.clock.max(clock) + 1;
                    return Ok(Answer::Got(msg, clock));
                }
                Ok(Some(_)) => continue,
                Ok(None) => return Ok(Answer::None(format!("{node} closed the connection"))),
                // A read timeout lands here too: the wait is over.
                Err(e) => return Ok(Answer::None(format!("{node}: {e}"))),
            }
        }
    }
}

fn answer_to(msg: &Msg) -> WriteId {
    match msg {
        Msg::WriteOk { write } | Msg::WriteTimeout { write } => *write,
        _ => WriteId(0),
    }
}
