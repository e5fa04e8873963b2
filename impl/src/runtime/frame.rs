//! The wire: length-prefixed frames with a version byte, each carrying one [`Envelope`].
//!
//! A frame is a 4-byte big-endian length `N`, then `N` bytes: a version byte ([`VERSION`])
//! and a JSON [`Envelope`]. The length comes first so that a reader never has to guess where
//! a message ends (TCP delivers bytes, not messages, and a read may return half a frame);
//! the version byte lets a future build refuse an old peer by name instead of misreading it.
//! A bad frame is an error that names the frame and its byte offset; the connection that sent
//! it is closed, and nothing panics.

use mv_spec::obs::NodeObservation;
use mv_spec::Msg;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::io::{self, Read, Write};

/// The frame layout this build reads and writes.
pub const VERSION: u8 = 1;

/// The largest frame accepted: far above any message of the protocol's tiny domains, and
/// small enough that a corrupt length cannot make a reader allocate gigabytes.
pub const MAX_FRAME: u32 = 8 << 20;

/// One message on the wire. Every envelope carries its sender's Lamport clock after the step
/// that sent it, so the receiver's clock passes it (`specs/trace-format.md`'s lines, merged by
/// clock, then respect happens-before).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Envelope {
    /// The sender: `n<i>` or `c<i>` (a status request may come from anyone, `-`).
    pub from: String,
    /// The receiver: `n<i>` or `c<i>`.
    pub to: String,
    /// The sender's Lamport clock.
    pub clock: u64,
    /// The sender's life: its clock when its process started (0 for clients and status
    /// requests). A restarted node's messages carry a larger one than its ended life's.
    #[serde(default)]
    pub life: u64,
    /// What it carries.
    pub body: Body,
}

/// What an envelope carries.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Body {
    /// A protocol message (`mv_spec::Msg`): a step at the receiver.
    Msg(Msg),
    /// A request for the node's state. Not a protocol step: no clock moves, no trace line.
    Status,
    /// The answer to [`Body::Status`].
    StatusReply(Box<NodeStatus>),
    /// The operator's anti-entropy repair of a partition (R4, `nodetool repair`), asked of
    /// its first base replica: one step there, the `Repair` of the trace.
    Repair(mv_spec::Key),
    /// The answer to [`Body::Repair`]: how many base writes it sent, or why it did not run.
    Repaired(Result<u32, String>),
}

/// What a node says about itself: its disk as the trace observes it, and whether it has
/// anything left to do.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NodeStatus {
    /// `n<i>`.
    pub node: String,
    /// The process id.
    pub pid: u32,
    /// The Lamport clock after the last step.
    pub clock: u64,
    /// How many steps this node has recorded, over all its lives.
    pub seq: u64,
    /// The node's observation (its disk, its armed timers, its own `LIMIT 1` reads).
    pub obs: NodeObservation,
    /// No timer armed, nothing queued locally, no base write waiting for a lock: the node
    /// will do nothing until a message arrives.
    pub idle: bool,
    /// Protocol violations the core reported (a host treats any as a failed run).
    pub violations: Vec<String>,
}

/// A frame that could not be read.
#[derive(Debug)]
pub struct FrameError {
    /// The frame's number on its connection, from 1.
    pub frame: u64,
    /// The byte offset of the frame's first byte on its connection.
    pub offset: u64,
    /// What is wrong.
    pub problem: String,
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "frame {} at byte {}: {}", self.frame, self.offset, self.problem)
    }
}

impl std::error::Error for FrameError {}

/// One envelope as a frame's bytes.
pub fn encode(env: &Envelope) -> Vec<u8> {
    // An envelope holds strings, numbers and records with string keys: it always serializes.
    let payload = serde_json::to_vec(env).expect("an envelope serializes to JSON");
    let n = u32::try_from(payload.len() + 1).expect("a frame under 4 GiB");
    let mut out = Vec::with_capacity(payload.len() + 5);
    out.extend_from_slice(&n.to_be_bytes());
    out.push(VERSION);
    out.extend_from_slice(&payload);
    out
}

/// Writes one frame.
pub fn write_frame<W: Write>(w: &mut W, env: &Envelope) -> io::Result<()> {
    w.write_all(&encode(env))?;
    w.flush()
}

/// Reads frames from one connection, counting them and their bytes for error messages.
pub struct FrameReader<R> {
    inner: R,
    offset: u64,
    frames: u64,
}

impl<R: Read> FrameReader<R> {
    /// A reader at the start of a connection.
    pub fn new(inner: R) -> Self {
        FrameReader {
            inner,
            offset: 0,
            frames: 0,
        }
    }

    /// Reads exactly `buf.len()` bytes. `Ok(false)` when the stream ended before the first
    /// byte; an error when it ended in the middle.
    fn fill(&mut self, buf: &mut [u8]) -> io::Result<bool> {
        let mut got = 0;
        while got < buf.len() {
            match self.inner.read(&mut buf[got..]) {
                Ok(0) if got == 0 => return Ok(false),
                Ok(0) => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!("the connection closed {got} bytes into {} expected", buf.len()),
                    ))
                }
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(true)
    }

    /// The next envelope, `Ok(None)` at a clean end of stream (between frames).
    pub fn next_frame(&mut self) -> Result<Option<Envelope>, FrameError> {
        let start = self.offset;
        self.frames += 1;
        let frame = self.frames;
        let err = |problem: String| FrameError {
            frame,
            offset: start,
            problem,
        };
        let mut len = [0u8; 4];
        match self.fill(&mut len) {
            Ok(false) => return Ok(None),
            Ok(true) => {}
            Err(e) => return Err(err(format!("length prefix: {e}"))),
        }
        let n = u32::from_be_bytes(len);
        if n == 0 {
            return Err(err("length 0: a frame holds at least its version byte".into()));
        }
        if n > MAX_FRAME {
            return Err(err(format!("length {n} exceeds the limit of {MAX_FRAME} bytes")));
        }
        let mut body = vec![0u8; n as usize];
        match self.fill(&mut body) {
            Ok(true) => {}
            Ok(false) => {
                return Err(err(format!(
                    "the connection closed after the length prefix ({n} bytes announced)"
                )))
            }
            Err(e) => return Err(err(format!("body: {e}"))),
        }
        self.offset += 4 + u64::from(n);
        if body[0] != VERSION {
            return Err(err(format!(
                "version byte {}, this build speaks version {VERSION}",
                body[0]
            )));
        }
        serde_json::from_slice(&body[1..])
            .map(Some)
            .map_err(|e| err(format!("payload is not an envelope: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mv_spec::{Cl, Statement, WriteId};

    fn write_env(clock: u64) -> Envelope {
        Envelope {
            life: 0,
            from: "c0".into(),
            to: "n1".into(),
            clock,
            body: Body::Msg(Msg::Write {
                write: WriteId(1),
                stmt: Statement::insert(0, Some(1), Some(2), 1),
                cl: Cl::Quorum,
            }),
        }
    }

    /// A reader that hands out at most `chunk` bytes per read, as TCP may.
    struct Trickle<'a> {
        data: &'a [u8],
        chunk: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.chunk.min(buf.len()).min(self.data.len());
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    #[test]
    fn frames_survive_reads_of_any_size() {
        let envs: Vec<Envelope> = (1..=3).map(write_env).collect();
        let bytes: Vec<u8> = envs.iter().flat_map(encode).collect();
        for chunk in [1, 2, 3, 5, 7, 64, bytes.len()] {
            let mut r = FrameReader::new(Trickle { data: &bytes, chunk });
            for want in &envs {
                assert_eq!(r.next_frame().unwrap().as_ref(), Some(want), "chunk {chunk}");
            }
            assert!(r.next_frame().unwrap().is_none(), "a clean end after the last frame");
        }
    }

    #[test]
    fn bad_frames_name_the_frame_the_offset_and_the_problem() {
        let good = encode(&write_env(1));
        let at2 = good.len();
        let mut bad_version = good.clone();
        bad_version[4] = 9;
        let mut garbage = vec![0, 0, 0, 4, VERSION];
        garbage.extend_from_slice(b"{x}");
        let second = format!("frame 2 at byte {at2}: version byte 9");
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (
                good[..good.len() - 3].to_vec(),
                "frame 1 at byte 0: body: the connection closed",
            ),
            (
                good[..2].to_vec(),
                "frame 1 at byte 0: length prefix: the connection closed 2 bytes",
            ),
            ([good.clone(), bad_version].concat(), &second),
            (vec![0, 0, 0, 0], "length 0"),
            (vec![0xff, 0xff, 0xff, 0xff], "exceeds the limit"),
            (garbage, "payload is not an envelope"),
        ];
        for (bytes, needle) in cases {
            let mut r = FrameReader::new(&bytes[..]);
            let e = loop {
                match r.next_frame() {
                    Ok(Some(_)) => continue,
                    Ok(None) => panic!("{needle}: read to the end without an error"),
                    Err(e) => break e.to_string(),
                }
            };
            assert!(e.contains(needle), "{e:?} lacks {needle:?}");
        }
    }

    #[test]
    fn random_bytes_never_panic_the_reader() {
        let mut rng = mv_spec::rng::SplitMix64::new(7);
        let good = encode(&write_env(1));
        for _ in 0..2000 {
            let mut bytes = good.clone();
            for _ in 0..1 + rng.below(4) {
                let i = rng.below(bytes.len() as u64) as usize;
                bytes[i] = rng.next_u64() as u8;
            }
            bytes.truncate(rng.below(bytes.len() as u64 + 1) as usize);
            let mut r = FrameReader::new(&bytes[..]);
            while let Ok(Some(_)) = r.next_frame() {}
        }
    }
}
