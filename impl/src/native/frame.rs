//! Frames of the native protocol, v4 (`native_protocol_v4.spec` section 2): the 9-byte
//! header, a byte-stream decoder that cuts frames out of whatever a socket delivered, and
//! the encoder of responses and events.
//!
//! The decoder decides, from the header alone, everything that must close a connection: a
//! version other than 4 (answered with the `ProtocolError` drivers read as "step down"), a
//! request flagged as a response, an unknown opcode, a negative or oversized length, and a
//! compressed body (no compression is offered). It never buffers more than one header plus
//! the configured maximum body.

use std::fmt;

/// The one protocol version served.
pub const VERSION: u8 = 4;
/// Cassandra 4.0's `native_transport_max_frame_size` default: 16 MiB.
pub const DEFAULT_MAX_FRAME: usize = 16 * 1024 * 1024;
const HEADER: usize = 9;
/// The stream id of server-pushed events.
pub const EVENT_STREAM: i16 = -1;

pub mod flags {
    pub const COMPRESSION: u8 = 0x01;
    pub const TRACING: u8 = 0x02;
    pub const CUSTOM_PAYLOAD: u8 = 0x04;
    pub const WARNING: u8 = 0x08;
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Opcode {
    Error = 0x00,
    Startup = 0x01,
    Ready = 0x02,
    Authenticate = 0x03,
    Options = 0x05,
    Supported = 0x06,
    Query = 0x07,
    Result = 0x08,
    Prepare = 0x09,
    Execute = 0x0A,
    Register = 0x0B,
    Event = 0x0C,
    Batch = 0x0D,
    AuthChallenge = 0x0E,
    AuthResponse = 0x0F,
    AuthSuccess = 0x10,
}

impl Opcode {
    pub fn from_byte(b: u8) -> Option<Opcode> {
        use Opcode::*;
        Some(match b {
            0x00 => Error,
            0x01 => Startup,
            0x02 => Ready,
            0x03 => Authenticate,
            0x05 => Options,
            0x06 => Supported,
            0x07 => Query,
            0x08 => Result,
            0x09 => Prepare,
            0x0A => Execute,
            0x0B => Register,
            0x0C => Event,
            0x0D => Batch,
            0x0E => AuthChallenge,
            0x0F => AuthResponse,
            0x10 => AuthSuccess,
            _ => return None,
        })
    }
}

/// One request frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    pub flags: u8,
    pub stream: i16,
    pub opcode: Opcode,
    pub body: Vec<u8>,
}

/// Why the byte stream cannot go on: answered with a protocol error, then the connection
/// closes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameError {
    /// The stream id to answer on (0 when the header did not get that far).
    pub stream: i16,
    /// The version byte to answer with: the client's when it is one a driver can read the
    /// header of, so that it sees the refusal and steps down.
    pub reply_version: u8,
    pub message: String,
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Accumulates bytes and yields whole frames.
pub struct Decoder {
    buf: Vec<u8>,
    max_frame: usize,
    /// Set after an error: the stream is no longer framed, so nothing more is decoded.
    failed: bool,
}

impl Decoder {
    pub fn new(max_frame: usize) -> Decoder {
        Decoder {
            buf: Vec::new(),
            max_frame,
            failed: false,
        }
    }

    pub fn push(&mut self, bytes: &[u8]) {
        if !self.failed {
            self.buf.extend_from_slice(bytes);
        }
    }

    /// The next complete frame; `Ok(None)` when more bytes are needed.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, FrameError> {
        if self.failed {
            return Ok(None);
        }
        match self.check_header() {
            Ok(Some(len)) => {
                let body = self.buf[HEADER..HEADER + len].to_vec();
                let frame = Frame {
                    flags: self.buf[1],
                    stream: i16::from_be_bytes([self.buf[2], self.buf[3]]),
                    opcode: Opcode::from_byte(self.buf[4]).unwrap_or(Opcode::Error),
                    body,
                };
                self.buf.drain(..HEADER + len);
                Ok(Some(frame))
            }
            Ok(None) => Ok(None),
            Err(e) => {
                self.failed = true;
                self.buf = Vec::new();
                Err(e)
            }
        }
    }

    /// `Some(body length)` once the whole frame is buffered and its header is acceptable.
    fn check_header(&self) -> Result<Option<usize>, FrameError> {
        let b = &self.buf;
        let Some(&first) = b.first() else { return Ok(None) };
        let version = first & 0x7f;
        // v1 and v2 have a one-byte stream id; a v3+ header has two.
        let stream = match (version, b.len()) {
            (1 | 2, n) if n >= 3 => i16::from(b[2] as i8),
            (_, n) if n >= 4 => i16::from_be_bytes([b[2], b[3]]),
            _ => 0,
        };
        let fail = |message: String| {
            Err(FrameError {
                stream,
                reply_version: if (1..=5).contains(&version) { version } else { VERSION },
                message,
            })
        };
        if version != VERSION {
            return fail(format!(
                "Invalid or unsupported protocol version ({version}); supported versions are (4/v4)"
            ));
        }
        if first & 0x80 != 0 {
            return fail("Invalid frame: a response frame sent to the server".into());
        }
        if b.len() < HEADER {
            return Ok(None);
        }
        let opcode = b[4];
        match Opcode::from_byte(opcode) {
            Some(
                Opcode::Startup
                | Opcode::Options
                | Opcode::Query
                | Opcode::Prepare
                | Opcode::Execute
                | Opcode::Register
                | Opcode::Batch
                | Opcode::AuthResponse,
            ) => {}
            Some(other) => return fail(format!("Invalid request opcode {other:?} (0x{opcode:02x})")),
            None => return fail(format!("Unknown opcode 0x{opcode:02x}")),
        }
        if b[1] & flags::COMPRESSION != 0 {
            return fail("Compressed frame received, but no compression was negotiated".into());
        }
        let len = i32::from_be_bytes([b[5], b[6], b[7], b[8]]);
        if len < 0 {
            return fail(format!("Invalid frame body length {len}"));
        }
        if len as usize > self.max_frame {
            return fail(format!(
                "Request is too big: length {len} exceeds maximum allowed length {}.",
                self.max_frame
            ));
        }
        if b.len() < HEADER + len as usize {
            return Ok(None);
        }
        Ok(Some(len as usize))
    }
}

/// A response or event frame: the header, the warnings when there are any, the body.
pub fn encode(version: u8, stream: i16, opcode: Opcode, warnings: &[String], body: &[u8]) -> Vec<u8> {
    let mut prefix = super::wire::Writer::new();
    if !warnings.is_empty() {
        prefix.string_list(warnings);
    }
    let len = prefix.buf.len() + body.len();
    let mut out = Vec::with_capacity(HEADER + len);
    out.push(0x80 | version);
    out.push(if warnings.is_empty() { 0 } else { flags::WARNING });
    if version < 3 {
        // A v1/v2 header, so that an old client can read why it was refused.
        out.push(stream as u8);
    } else {
        out.extend_from_slice(&stream.to_be_bytes());
    }
    out.push(opcode as u8);
    out.extend_from_slice(&(len as i32).to_be_bytes());
    out.extend_from_slice(&prefix.buf);
    out.extend_from_slice(body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(version: u8, flags: u8, stream: i16, opcode: u8, len: i32) -> Vec<u8> {
        let mut h = vec![version, flags];
        h.extend_from_slice(&stream.to_be_bytes());
        h.push(opcode);
        h.extend_from_slice(&len.to_be_bytes());
        h
    }

    #[test]
    fn frames_split_anywhere_decode_whole() {
        let mut bytes = header(4, 0, 7, 0x05, 0);
        bytes.extend(header(4, 0, 8, 0x07, 3));
        bytes.extend([1, 2, 3]);
        let mut d = Decoder::new(DEFAULT_MAX_FRAME);
        let mut got = Vec::new();
        for b in &bytes {
            d.push(&[*b]);
            while let Some(f) = d.next_frame().unwrap() {
                got.push(f);
            }
        }
        assert_eq!(got.len(), 2);
        assert_eq!((got[0].stream, got[0].opcode), (7, Opcode::Options));
        assert_eq!(
            (got[1].stream, got[1].opcode, got[1].body.clone()),
            (8, Opcode::Query, vec![1, 2, 3])
        );
    }

    #[test]
    fn a_newer_version_is_refused_in_words_drivers_step_down_on() {
        let mut d = Decoder::new(DEFAULT_MAX_FRAME);
        d.push(&header(5, 0, 3, 0x05, 0));
        let e = d.next_frame().unwrap_err();
        assert!(e.message.contains("Invalid or unsupported protocol version (5)"), "{e}");
        assert_eq!((e.stream, e.reply_version), (3, 5));
        d.push(&header(4, 0, 0, 0x05, 0));
        assert_eq!(d.next_frame(), Ok(None), "nothing is decoded after a framing error");
    }

    #[test]
    fn negative_oversized_and_compressed_lengths_fail_before_buffering() {
        for (flags, len, what) in [
            (0, -1, "Invalid frame body length -1"),
            (
                0,
                100,
                "Request is too big: length 100 exceeds maximum allowed length 64.",
            ),
            (1, 0, "Compressed frame"),
        ] {
            let mut d = Decoder::new(64);
            d.push(&header(4, flags, 1, 0x07, len));
            let e = d.next_frame().unwrap_err();
            assert!(e.message.contains(what), "{e}");
        }
    }

    #[test]
    fn responses_carry_warnings_in_front_of_the_body() {
        let f = encode(4, 2, Opcode::Result, &["w".into()], &[0, 0, 0, 1]);
        assert_eq!(f[0], 0x84);
        assert_eq!(f[1], flags::WARNING);
        assert_eq!(i32::from_be_bytes([f[5], f[6], f[7], f[8]]) as usize, f.len() - 9);
        assert_eq!(&f[9..14], &[0, 1, 0, 1, b'w']);
    }
}
