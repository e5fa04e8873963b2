//! Request bodies in, response bodies out (`native_protocol_v4.spec` section 4).

use super::frame::{flags, Frame, Opcode};
use super::types::WireType;
use super::wire::{RawValue, Reader, WireResult, Writer};
use std::collections::BTreeMap;

/// The query parameters of QUERY and EXECUTE (section 4.1.4).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QueryParams {
    pub consistency: u16,
    pub values: Vec<RawValue>,
    /// Present when the values were sent by name.
    pub names: Option<Vec<String>>,
    pub page_size: Option<i32>,
    pub paging_state: Option<Vec<u8>>,
    /// The client's timestamp for the statement, in microseconds.
    pub timestamp: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BatchQuery {
    Text(String),
    Prepared(Vec<u8>),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchItem {
    pub query: BatchQuery,
    pub values: Vec<RawValue>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    Startup(BTreeMap<String, String>),
    Options,
    Query {
        query: String,
        params: QueryParams,
    },
    Prepare {
        query: String,
    },
    Execute {
        id: Vec<u8>,
        params: QueryParams,
    },
    Batch {
        /// 0 logged, 1 unlogged, 2 counter.
        kind: u8,
        items: Vec<BatchItem>,
        timestamp: Option<i64>,
    },
    Register(Vec<String>),
    AuthResponse,
}

/// Decodes a frame's body; the error names what was malformed and where.
pub fn decode(frame: &Frame) -> WireResult<Request> {
    let mut r = Reader::new(&frame.body);
    if frame.flags & flags::CUSTOM_PAYLOAD != 0 {
        r.skip_bytes_map("custom payload")?;
    }
    let req = match frame.opcode {
        Opcode::Startup => Request::Startup(r.string_map("STARTUP options")?),
        Opcode::Options => Request::Options,
        Opcode::Query => {
            let query = r.long_string("query string")?;
            Request::Query {
                query,
                params: query_params(&mut r)?,
            }
        }
        Opcode::Prepare => Request::Prepare {
            query: r.long_string("query string")?,
        },
        Opcode::Execute => {
            let id = r.short_bytes("prepared id")?;
            Request::Execute {
                id,
                params: query_params(&mut r)?,
            }
        }
        Opcode::Batch => batch(&mut r)?,
        Opcode::Register => Request::Register(r.string_list("event types")?),
        Opcode::AuthResponse => {
            r.bytes("auth token")?;
            Request::AuthResponse
        }
        other => return Err(r.error(format!("{other:?} is not a request"))),
    };
    if !r.is_empty() {
        return Err(r.error(format!(
            "{} unexpected bytes after the {:?} body",
            r.remaining(),
            frame.opcode
        )));
    }
    Ok(req)
}

fn values(r: &mut Reader<'_>, with_names: bool) -> WireResult<(Vec<RawValue>, Vec<String>)> {
    let n = r.short("value count")?;
    let mut vals = Vec::new();
    let mut names = Vec::new();
    for i in 0..n {
        if with_names {
            names.push(r.string(&format!("name of value {}", i + 1))?);
        }
        vals.push(r.value(&format!("value {}", i + 1))?);
    }
    Ok((vals, names))
}

fn query_params(r: &mut Reader<'_>) -> WireResult<QueryParams> {
    let consistency = r.short("consistency")?;
    let f = r.byte("query flags")?;
    if f & 0x80 != 0 {
        return Err(r.error(format!("unknown query flags 0x{f:02x}")));
    }
    let mut p = QueryParams {
        consistency,
        ..Default::default()
    };
    if f & 0x01 != 0 {
        let (vals, names) = values(r, f & 0x40 != 0)?;
        p.values = vals;
        if f & 0x40 != 0 {
            p.names = Some(names);
        }
    }
    if f & 0x04 != 0 {
        p.page_size = Some(r.int("page size")?);
    }
    if f & 0x08 != 0 {
        p.paging_state = r.bytes("paging state")?;
    }
    if f & 0x10 != 0 {
        r.short("serial consistency")?;
    }
    if f & 0x20 != 0 {
        p.timestamp = Some(r.long("default timestamp")?);
    }
    Ok(p)
}

fn batch(r: &mut Reader<'_>) -> WireResult<Request> {
    let kind = r.byte("batch type")?;
    if kind > 2 {
        return Err(r.error(format!("unknown batch type {kind}")));
    }
    let n = r.short("batch size")?;
    let mut items = Vec::new();
    for i in 0..n {
        let query = match r.byte("batch query kind")? {
            0 => BatchQuery::Text(r.long_string(&format!("batch query {}", i + 1))?),
            1 => BatchQuery::Prepared(r.short_bytes(&format!("batch prepared id {}", i + 1))?),
            k => return Err(r.error(format!("unknown batch query kind {k}"))),
        };
        let (values, _) = values(r, false)?;
        items.push(BatchItem { query, values });
    }
    r.short("consistency")?;
    let f = r.byte("batch flags")?;
    if f & 0x40 != 0 {
        return Err(r.error("named values are not allowed in a batch"));
    }
    if f & 0x10 != 0 {
        r.short("serial consistency")?;
    }
    let timestamp = if f & 0x20 != 0 {
        Some(r.long("default timestamp")?)
    } else {
        None
    };
    Ok(Request::Batch { kind, items, timestamp })
}

/// Cassandra's error codes (section 9).
pub mod code {
    pub const SERVER: i32 = 0x0000;
    pub const PROTOCOL: i32 = 0x000A;
    pub const BAD_CREDENTIALS: i32 = 0x0100;
    pub const UNAVAILABLE: i32 = 0x1000;
    pub const WRITE_TIMEOUT: i32 = 0x1100;
    pub const SYNTAX: i32 = 0x2000;
    pub const INVALID: i32 = 0x2200;
    pub const CONFIG: i32 = 0x2300;
    pub const ALREADY_EXISTS: i32 = 0x2400;
    pub const UNPREPARED: i32 = 0x2500;
}

/// The extra fields some errors carry after the message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ErrorExtra {
    None,
    /// Unavailable: consistency, required, alive.
    Unavailable,
    /// WriteTimeout: consistency, received, blockfor, write type.
    WriteTimeout,
    AlreadyExists {
        keyspace: String,
        table: String,
    },
    Unprepared(Vec<u8>),
}

pub fn error_body(code: i32, message: &str, extra: &ErrorExtra) -> Vec<u8> {
    let mut w = Writer::new();
    w.int(code).string(message);
    match extra {
        ErrorExtra::None => {}
        // One node, consistency ONE: one replica required; the engine answered, so it is
        // alive; these errors come from the distributed node's vocabulary only.
        ErrorExtra::Unavailable => {
            w.short(1).int(1).int(0);
        }
        ErrorExtra::WriteTimeout => {
            w.short(1).int(0).int(1).string("SIMPLE");
        }
        ErrorExtra::AlreadyExists { keyspace, table } => {
            w.string(keyspace).string(table);
        }
        ErrorExtra::Unprepared(id) => {
            w.short_bytes(id);
        }
    }
    w.buf
}

/// A result column: keyspace, table, name, type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ColSpec {
    pub keyspace: String,
    pub table: String,
    pub name: String,
    pub ty: WireType,
}

fn write_specs(w: &mut Writer, specs: &[ColSpec]) {
    let global = specs
        .first()
        .filter(|f| specs.iter().all(|s| s.keyspace == f.keyspace && s.table == f.table));
    if let Some(f) = global {
        w.string(&f.keyspace).string(&f.table);
    }
    for s in specs {
        if global.is_none() {
            w.string(&s.keyspace).string(&s.table);
        }
        w.string(&s.name);
        s.ty.write(w);
    }
}

fn specs_flags(specs: &[ColSpec]) -> i32 {
    let global = specs
        .first()
        .is_some_and(|f| specs.iter().all(|s| s.keyspace == f.keyspace && s.table == f.table));
    i32::from(global)
}

pub fn result_void() -> Vec<u8> {
    let mut w = Writer::new();
    w.int(0x0001);
    w.buf
}

/// A Rows result: metadata with every column's spec, then the rows' cells already
/// serialized (`None` is null).
pub fn result_rows(specs: &[ColSpec], rows: &[Vec<Option<Vec<u8>>>], paging_state: Option<&[u8]>) -> Vec<u8> {
    let mut w = Writer::new();
    w.int(0x0002);
    let mut f = specs_flags(specs);
    if paging_state.is_some() {
        f |= 0x0002;
    }
    w.int(f).int(specs.len() as i32);
    if let Some(p) = paging_state {
        w.bytes(Some(p));
    }
    write_specs(&mut w, specs);
    w.int(rows.len() as i32);
    for row in rows {
        for cell in row {
            w.bytes(cell.as_deref());
        }
    }
    w.buf
}

pub fn result_set_keyspace(keyspace: &str) -> Vec<u8> {
    let mut w = Writer::new();
    w.int(0x0003).string(keyspace);
    w.buf
}

/// A Prepared result. The result metadata is left out (flag No_metadata): every EXECUTE
/// answers with its own, so a driver never skips it and a schema change cannot leave a
/// client decoding rows with stale column types.
pub fn result_prepared(id: &[u8], binds: &[ColSpec], pk_indexes: &[u16]) -> Vec<u8> {
    let mut w = Writer::new();
    w.int(0x0004).short_bytes(id);
    w.int(specs_flags(binds))
        .int(binds.len() as i32)
        .int(pk_indexes.len() as i32);
    for i in pk_indexes {
        w.short(*i);
    }
    write_specs(&mut w, binds);
    w.int(0x0004).int(0);
    w.buf
}

/// What a schema change touched: `(change, target, keyspace, name)`, e.g.
/// `("CREATED", "TABLE", "ks", "t")`; `name` is empty for a keyspace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SchemaChange {
    pub change: &'static str,
    pub target: &'static str,
    pub keyspace: String,
    pub name: String,
}

fn write_schema_change(w: &mut Writer, c: &SchemaChange) {
    w.string(c.change).string(c.target).string(&c.keyspace);
    if c.target != "KEYSPACE" {
        w.string(&c.name);
    }
}

pub fn result_schema_change(c: &SchemaChange) -> Vec<u8> {
    let mut w = Writer::new();
    w.int(0x0005);
    write_schema_change(&mut w, c);
    w.buf
}

pub fn event_schema_change(c: &SchemaChange) -> Vec<u8> {
    let mut w = Writer::new();
    w.string("SCHEMA_CHANGE");
    write_schema_change(&mut w, c);
    w.buf
}

pub fn supported(options: &BTreeMap<String, Vec<String>>) -> Vec<u8> {
    let mut w = Writer::new();
    w.string_multimap(options);
    w.buf
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(opcode: Opcode, body: Vec<u8>) -> Frame {
        Frame {
            flags: 0,
            stream: 1,
            opcode,
            body,
        }
    }

    #[test]
    fn a_query_with_every_parameter_decodes() {
        let mut w = Writer::new();
        w.long_string("SELECT * FROM t WHERE k = ?").short(1);
        w.byte(0x01 | 0x04 | 0x08 | 0x10 | 0x20);
        w.short(1).bytes(Some(&[0, 0, 0, 5]));
        w.int(100).bytes(Some(&[9])).short(8).long(42);
        let req = decode(&frame(Opcode::Query, w.buf)).unwrap();
        let Request::Query { query, params } = req else {
            panic!("{req:?}")
        };
        assert_eq!(query, "SELECT * FROM t WHERE k = ?");
        assert_eq!(params.values, vec![RawValue::Bytes(vec![0, 0, 0, 5])]);
        assert_eq!(
            (params.page_size, params.paging_state, params.timestamp),
            (Some(100), Some(vec![9]), Some(42))
        );
    }

    #[test]
    fn trailing_bytes_and_unknown_flags_are_errors() {
        let e = decode(&frame(Opcode::Options, vec![1])).unwrap_err();
        assert!(e.what.contains("1 unexpected bytes"), "{e}");
        let mut w = Writer::new();
        w.long_string("q").short(1).byte(0x80);
        let e = decode(&frame(Opcode::Query, w.buf)).unwrap_err();
        assert!(e.what.contains("unknown query flags"), "{e}");
    }

    #[test]
    fn a_batch_of_text_and_prepared_queries_decodes() {
        let mut w = Writer::new();
        w.byte(1).short(2);
        w.byte(0).long_string("INSERT INTO t (k) VALUES (1)").short(0);
        w.byte(1).short_bytes(&[1, 2]).short(1).bytes(None);
        w.short(1).byte(0x20).long(7);
        let req = decode(&frame(Opcode::Batch, w.buf)).unwrap();
        let Request::Batch { kind, items, timestamp } = req else {
            panic!()
        };
        assert_eq!((kind, items.len(), timestamp), (1, 2, Some(7)));
        assert_eq!(items[1].values, vec![RawValue::Null]);
    }
}
