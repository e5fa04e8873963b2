//! The native protocol's notation (`[int]`, `[string]`, `[bytes]`, ...; section 3 of
//! `native_protocol_v4.spec`): a bounds-checked reader over one frame body and a writer.
//!
//! Every read checks its length first and answers a [`WireError`] naming what it was reading
//! and where, so a malformed body can only ever become a protocol error, never a panic or an
//! allocation the bytes did not pay for.

use std::collections::BTreeMap;
use std::fmt;

/// A body that does not follow the notation: what was being read, and the byte offset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WireError {
    pub what: String,
    pub offset: usize,
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at body byte {}", self.what, self.offset)
    }
}

pub type WireResult<T> = Result<T, WireError>;

/// A `[value]` as sent by a client: bytes, null (length -1) or, from v4, unset (length -2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RawValue {
    Bytes(Vec<u8>),
    Null,
    Unset,
}

pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Reader<'a> {
        Reader { buf, pos: 0 }
    }

    pub fn position(&self) -> usize {
        self.pos
    }

    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    pub fn error(&self, what: impl Into<String>) -> WireError {
        WireError {
            what: what.into(),
            offset: self.pos,
        }
    }

    pub fn take(&mut self, n: usize, what: &str) -> WireResult<&'a [u8]> {
        if n > self.remaining() {
            return Err(self.error(format!(
                "truncated {what}: {n} bytes announced, {} left",
                self.remaining()
            )));
        }
        let out = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    fn array<const N: usize>(&mut self, what: &str) -> WireResult<[u8; N]> {
        let b = self.take(N, what)?;
        let mut out = [0u8; N];
        out.copy_from_slice(b);
        Ok(out)
    }

    pub fn byte(&mut self, what: &str) -> WireResult<u8> {
        Ok(self.array::<1>(what)?[0])
    }

    pub fn short(&mut self, what: &str) -> WireResult<u16> {
        Ok(u16::from_be_bytes(self.array(what)?))
    }

    pub fn int(&mut self, what: &str) -> WireResult<i32> {
        Ok(i32::from_be_bytes(self.array(what)?))
    }

    pub fn long(&mut self, what: &str) -> WireResult<i64> {
        Ok(i64::from_be_bytes(self.array(what)?))
    }

    fn utf8(&self, bytes: &[u8], what: &str) -> WireResult<String> {
        String::from_utf8(bytes.to_vec()).map_err(|_| self.error(format!("{what} is not UTF-8")))
    }

    /// `[string]`: a [short] n, then n bytes of UTF-8.
    pub fn string(&mut self, what: &str) -> WireResult<String> {
        let n = self.short(what)? as usize;
        let b = self.take(n, what)?;
        self.utf8(b, what)
    }

    /// `[long string]`: an [int] n, then n bytes of UTF-8.
    pub fn long_string(&mut self, what: &str) -> WireResult<String> {
        let n = self.int(what)?;
        if n < 0 {
            return Err(self.error(format!("negative length {n} for {what}")));
        }
        let b = self.take(n as usize, what)?;
        self.utf8(b, what)
    }

    /// `[short bytes]`.
    pub fn short_bytes(&mut self, what: &str) -> WireResult<Vec<u8>> {
        let n = self.short(what)? as usize;
        Ok(self.take(n, what)?.to_vec())
    }

    /// `[bytes]`: `None` for a negative length (null).
    pub fn bytes(&mut self, what: &str) -> WireResult<Option<Vec<u8>>> {
        let n = self.int(what)?;
        if n < 0 {
            return Ok(None);
        }
        Ok(Some(self.take(n as usize, what)?.to_vec()))
    }

    /// `[value]`: -1 is null, -2 unset; other negative lengths are malformed.
    pub fn value(&mut self, what: &str) -> WireResult<RawValue> {
        let n = self.int(what)?;
        match n {
            -1 => Ok(RawValue::Null),
            -2 => Ok(RawValue::Unset),
            n if n < 0 => Err(self.error(format!("invalid length {n} for {what}"))),
            n => Ok(RawValue::Bytes(self.take(n as usize, what)?.to_vec())),
        }
    }

    /// `[string list]`.
    pub fn string_list(&mut self, what: &str) -> WireResult<Vec<String>> {
        let n = self.short(what)?;
        (0..n).map(|_| self.string(what)).collect()
    }

    /// `[string map]`.
    pub fn string_map(&mut self, what: &str) -> WireResult<BTreeMap<String, String>> {
        let n = self.short(what)?;
        let mut out = BTreeMap::new();
        for _ in 0..n {
            let k = self.string(what)?;
            let v = self.string(what)?;
            out.insert(k, v);
        }
        Ok(out)
    }

    /// `[bytes map]` (a custom payload): read and dropped, since nothing here uses one.
    pub fn skip_bytes_map(&mut self, what: &str) -> WireResult<()> {
        let n = self.short(what)?;
        for _ in 0..n {
            self.string(what)?;
            self.bytes(what)?;
        }
        Ok(())
    }
}

/// Appends the notation to a growing body.
#[derive(Default)]
pub struct Writer {
    pub buf: Vec<u8>,
}

impl Writer {
    pub fn new() -> Writer {
        Writer::default()
    }

    pub fn byte(&mut self, b: u8) -> &mut Self {
        self.buf.push(b);
        self
    }

    pub fn short(&mut self, v: u16) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }

    pub fn int(&mut self, v: i32) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }

    pub fn long(&mut self, v: i64) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }

    /// A `[string]`; longer than a short can say is cut at a character boundary (only error
    /// messages could be that long, and a cut message beats a broken frame).
    pub fn string(&mut self, s: &str) -> &mut Self {
        let mut end = s.len().min(u16::MAX as usize);
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        self.short(end as u16);
        self.buf.extend_from_slice(&s.as_bytes()[..end]);
        self
    }

    pub fn long_string(&mut self, s: &str) -> &mut Self {
        self.int(s.len() as i32);
        self.buf.extend_from_slice(s.as_bytes());
        self
    }

    pub fn short_bytes(&mut self, b: &[u8]) -> &mut Self {
        self.short(b.len() as u16);
        self.buf.extend_from_slice(b);
        self
    }

    /// `[bytes]`, `None` as null.
    pub fn bytes(&mut self, b: Option<&[u8]>) -> &mut Self {
        match b {
            Some(b) => {
                self.int(b.len() as i32);
                self.buf.extend_from_slice(b);
            }
            None => {
                self.int(-1);
            }
        }
        self
    }

    pub fn string_list(&mut self, items: &[String]) -> &mut Self {
        self.short(items.len() as u16);
        for s in items {
            self.string(s);
        }
        self
    }

    pub fn string_multimap(&mut self, m: &BTreeMap<String, Vec<String>>) -> &mut Self {
        self.short(m.len() as u16);
        for (k, vs) in m {
            self.string(k);
            self.string_list(vs);
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_writes_wrote() {
        let mut w = Writer::new();
        w.string("héllo")
            .long_string("q")
            .short_bytes(&[1, 2])
            .bytes(None)
            .int(-2);
        let mut r = Reader::new(&w.buf);
        assert_eq!(r.string("s").unwrap(), "héllo");
        assert_eq!(r.long_string("l").unwrap(), "q");
        assert_eq!(r.short_bytes("b").unwrap(), vec![1, 2]);
        assert_eq!(r.bytes("n").unwrap(), None);
        assert_eq!(r.value("v").unwrap(), RawValue::Unset);
        assert!(r.is_empty());
    }

    #[test]
    fn truncated_and_negative_lengths_are_errors_with_offsets() {
        let mut r = Reader::new(&[0, 5, b'a']);
        let e = r.string("query").unwrap_err();
        assert!(e.what.contains("truncated query"), "{e}");
        let mut r = Reader::new(&[0xff, 0xff, 0xff, 0xf0]);
        let e = r.value("value 1").unwrap_err();
        assert!(e.what.contains("invalid length -16"), "{e}");
        assert_eq!(e.offset, 4);
    }

    #[test]
    fn an_overlong_string_is_cut_at_a_char_boundary() {
        let s = "é".repeat(40_000);
        let mut w = Writer::new();
        w.string(&s);
        let mut r = Reader::new(&w.buf);
        let back = r.string("s").unwrap();
        assert!(back.len() <= u16::MAX as usize && s.starts_with(&back));
    }
}
