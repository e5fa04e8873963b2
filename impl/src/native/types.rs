//! CQL types and values on the wire: `[option]` type descriptions (section 4.2.5.2 of
//! `native_protocol_v4.spec`) and the serialized form of each value (section 6).
//!
//! A value's wire form is Cassandra's serialized form, which the engine already writes for
//! partition tokens and tie-breaks ([`Value::to_bytes`]), so encoding reuses it. Decoding is
//! written here, with the length checks Cassandra's serializers make and their messages.
//! Two types exist only on the wire: `inet` and `blob`, which the system tables need
//! (`system.local.rpc_address`, `system_schema.tables.extensions`); their values travel as
//! [`Value::Text`] (the address as written, or hex) and are converted at encoding time.

use crate::engine::value::format_uuid;
use crate::engine::{DataType, Decimal, Value};
use std::net::IpAddr;

use super::wire::{Reader, WireError, Writer};

/// A column or bind-marker type as the protocol names it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum WireType {
    Ascii,
    BigInt,
    Blob,
    Boolean,
    Counter,
    Decimal,
    Double,
    Float,
    Int,
    Timestamp,
    Uuid,
    Varchar,
    TimeUuid,
    Inet,
    List(Box<WireType>),
    Map(Box<WireType>, Box<WireType>),
    Set(Box<WireType>),
}

impl WireType {
    /// The wire type of an engine column type (`frozen<>` does not show on the wire).
    pub fn of(t: &DataType) -> WireType {
        match t {
            DataType::Int => WireType::Int,
            DataType::BigInt => WireType::BigInt,
            DataType::Text => WireType::Varchar,
            DataType::Ascii => WireType::Ascii,
            DataType::Boolean => WireType::Boolean,
            DataType::Decimal => WireType::Decimal,
            DataType::Double => WireType::Double,
            DataType::Float => WireType::Float,
            DataType::Uuid => WireType::Uuid,
            DataType::Timestamp => WireType::Timestamp,
            DataType::Counter => WireType::Counter,
            DataType::List(e) => WireType::List(Box::new(WireType::of(e))),
            DataType::Set(e) => WireType::Set(Box::new(WireType::of(e))),
            DataType::Map(k, v) => WireType::Map(Box::new(WireType::of(k)), Box::new(WireType::of(v))),
            DataType::Frozen(t) => WireType::of(t),
        }
    }

    /// The type a value shows it has, for result columns the schema does not type
    /// (`writetime(v)`, the engine's status tables). An empty collection or a null gives text,
    /// which decodes every null and empty collection the same.
    pub fn infer(v: &Value) -> WireType {
        let first = |xs: &[Value]| xs.first().map_or(WireType::Varchar, WireType::infer);
        match v {
            Value::Int(_) => WireType::Int,
            Value::BigInt(_) => WireType::BigInt,
            Value::Text(_) => WireType::Varchar,
            Value::Ascii(_) => WireType::Ascii,
            Value::Boolean(_) => WireType::Boolean,
            Value::Decimal(_) => WireType::Decimal,
            Value::Double(_) => WireType::Double,
            Value::Float(_) => WireType::Float,
            Value::Uuid(_) => WireType::Uuid,
            Value::Timestamp(_) => WireType::Timestamp,
            Value::Counter(_) => WireType::Counter,
            Value::List(xs) => WireType::List(Box::new(first(xs))),
            Value::Set(xs) => WireType::Set(Box::new(first(xs))),
            Value::Map(kvs) => match kvs.first() {
                Some((k, v)) => WireType::Map(Box::new(WireType::infer(k)), Box::new(WireType::infer(v))),
                None => WireType::Map(Box::new(WireType::Varchar), Box::new(WireType::Varchar)),
            },
        }
    }

    /// The `[option]` describing this type.
    pub fn write(&self, w: &mut Writer) {
        let id: u16 = match self {
            WireType::Ascii => 0x0001,
            WireType::BigInt => 0x0002,
            WireType::Blob => 0x0003,
            WireType::Boolean => 0x0004,
            WireType::Counter => 0x0005,
            WireType::Decimal => 0x0006,
            WireType::Double => 0x0007,
            WireType::Float => 0x0008,
            WireType::Int => 0x0009,
            WireType::Timestamp => 0x000B,
            WireType::Uuid => 0x000C,
            WireType::Varchar => 0x000D,
            WireType::TimeUuid => 0x000F,
            WireType::Inet => 0x0010,
            WireType::List(e) => {
                w.short(0x0020);
                return e.write(w);
            }
            WireType::Map(k, v) => {
                w.short(0x0021);
                k.write(w);
                return v.write(w);
            }
            WireType::Set(e) => {
                w.short(0x0022);
                return e.write(w);
            }
        };
        w.short(id);
    }

    /// The CQL name, as `system_schema.columns.type` and error messages write it.
    pub fn cql_name(&self) -> String {
        match self {
            WireType::Ascii => "ascii".into(),
            WireType::BigInt => "bigint".into(),
            WireType::Blob => "blob".into(),
            WireType::Boolean => "boolean".into(),
            WireType::Counter => "counter".into(),
            WireType::Decimal => "decimal".into(),
            WireType::Double => "double".into(),
            WireType::Float => "float".into(),
            WireType::Int => "int".into(),
            WireType::Timestamp => "timestamp".into(),
            WireType::Uuid => "uuid".into(),
            WireType::Varchar => "text".into(),
            WireType::TimeUuid => "timeuuid".into(),
            WireType::Inet => "inet".into(),
            WireType::List(e) => format!("list<{}>", e.cql_name()),
            WireType::Set(e) => format!("set<{}>", e.cql_name()),
            WireType::Map(k, v) => format!("map<{}, {}>", k.cql_name(), v.cql_name()),
        }
    }

    /// The serialized form of `v` as this type. `Err` only when the value cannot be this type,
    /// which is a bug in the server (a column typed wrongly), reported as a server error.
    pub fn encode(&self, v: &Value) -> Result<Vec<u8>, String> {
        match (self, v) {
            (WireType::Inet, Value::Text(s)) => match s.parse::<IpAddr>() {
                Ok(IpAddr::V4(a)) => Ok(a.octets().to_vec()),
                Ok(IpAddr::V6(a)) => Ok(a.octets().to_vec()),
                Err(_) => Err(format!("'{s}' is not an inet address")),
            },
            (WireType::Blob, Value::Text(hex)) => {
                let hex = hex.strip_prefix("0x").unwrap_or(hex);
                (0..hex.len() / 2)
                    .map(|i| u8::from_str_radix(hex.get(2 * i..2 * i + 2).unwrap_or("zz"), 16))
                    .collect::<Result<Vec<u8>, _>>()
                    .map_err(|_| format!("'{hex}' is not hex"))
            }
            _ => Ok(v.to_bytes()),
        }
    }

    /// The value a client sent for this type, with Cassandra's messages for the wrong size
    /// (`Expected 4 or 0 byte int (3)`).
    pub fn decode(&self, bytes: &[u8]) -> Result<Value, String> {
        let fixed = |n: usize, name: &str| -> Result<(), String> {
            if bytes.len() == n {
                Ok(())
            } else {
                Err(format!("Expected {n} or 0 byte {name} ({})", bytes.len()))
            }
        };
        Ok(match self {
            WireType::Int => {
                fixed(4, "int")?;
                Value::Int(i32::from_be_bytes(bytes.try_into().unwrap_or([0; 4])))
            }
            WireType::BigInt | WireType::Counter | WireType::Timestamp => {
                let name = if *self == WireType::Timestamp {
                    "long (timestamp)"
                } else {
                    "long"
                };
                fixed(8, name)?;
                let x = i64::from_be_bytes(bytes.try_into().unwrap_or([0; 8]));
                match self {
                    WireType::BigInt => Value::BigInt(x),
                    WireType::Counter => Value::Counter(x),
                    _ => Value::Timestamp(x),
                }
            }
            WireType::Boolean => {
                fixed(1, "boolean")?;
                Value::Boolean(bytes[0] != 0)
            }
            WireType::Double => {
                fixed(8, "double")?;
                Value::Double(f64::from_be_bytes(bytes.try_into().unwrap_or([0; 8])))
            }
            WireType::Float => {
                fixed(4, "float")?;
                Value::Float(f32::from_be_bytes(bytes.try_into().unwrap_or([0; 4])))
            }
            WireType::Uuid | WireType::TimeUuid => {
                if bytes.len() != 16 {
                    return Err(format!("UUID should be 16 or 0 bytes ({})", bytes.len()));
                }
                let mut u = [0u8; 16];
                u.copy_from_slice(bytes);
                if *self == WireType::TimeUuid && u[6] >> 4 != 1 {
                    return Err(format!("Unsupported UUID version for timeuuid: {}", format_uuid(&u)));
                }
                Value::Uuid(u)
            }
            WireType::Varchar => {
                Value::Text(String::from_utf8(bytes.to_vec()).map_err(|_| "String didn't validate.".to_string())?)
            }
            WireType::Ascii => {
                if !bytes.is_ascii() {
                    return Err("Invalid byte for ascii".into());
                }
                Value::Ascii(String::from_utf8_lossy(bytes).into_owned())
            }
            WireType::Decimal => {
                if bytes.len() < 4 {
                    return Err(format!("Expected at least 4 bytes for a decimal ({})", bytes.len()));
                }
                let scale = i32::from_be_bytes(bytes[..4].try_into().unwrap_or([0; 4]));
                let digits = &bytes[4..];
                if digits.len() > 16 {
                    return Err("decimal too large: this server keeps 38 digits".into());
                }
                let mut unscaled: i128 = if digits.first().is_some_and(|b| b & 0x80 != 0) {
                    -1
                } else {
                    0
                };
                for b in digits {
                    unscaled = (unscaled << 8) | i128::from(*b);
                }
                Value::Decimal(Decimal { unscaled, scale })
            }
            WireType::List(e) | WireType::Set(e) => {
                let items = collection(bytes, 1, |r| Ok(vec![element(r, e)?]))?;
                let items: Vec<Value> = items.into_iter().map(|mut x| x.remove(0)).collect();
                if matches!(self, WireType::List(_)) {
                    Value::List(items)
                } else {
                    let mut items = items;
                    items.sort();
                    items.dedup();
                    Value::Set(items)
                }
            }
            WireType::Map(k, v) => {
                let pairs = collection(bytes, 2, |r| Ok(vec![element(r, k)?, element(r, v)?]))?;
                let mut kvs: Vec<(Value, Value)> = Vec::new();
                for mut p in pairs {
                    let val = p.pop().unwrap_or(Value::Int(0));
                    let key = p.pop().unwrap_or(Value::Int(0));
                    kvs.retain(|(existing, _)| existing != &key);
                    kvs.push((key, val));
                }
                kvs.sort_by(|a, b| a.0.cmp(&b.0));
                Value::Map(kvs)
            }
            WireType::Blob | WireType::Inet => {
                return Err(format!("{} values are not stored by this engine", self.cql_name()))
            }
        })
    }
}

/// A collection body: an [int] count, then each element (or key and value) as [bytes].
fn collection(
    bytes: &[u8],
    per_item: usize,
    mut item: impl FnMut(&mut Reader<'_>) -> Result<Vec<Value>, String>,
) -> Result<Vec<Vec<Value>>, String> {
    let mut r = Reader::new(bytes);
    let n = r.int("collection size").map_err(|e| e.to_string())?;
    if n < 0 {
        return Err(format!("negative collection size {n}"));
    }
    // Each element takes at least 4 bytes per part, so a count the bytes cannot hold is refused
    // before anything is allocated for it.
    if (n as usize).saturating_mul(4 * per_item) > r.remaining() {
        return Err(format!("collection of {n} elements in {} bytes", r.remaining()));
    }
    let mut out = Vec::with_capacity(n as usize);
    for _ in 0..n {
        out.push(item(&mut r)?);
    }
    if !r.is_empty() {
        return Err(format!("{} unexpected bytes after the collection", r.remaining()));
    }
    Ok(out)
}

fn element(r: &mut Reader<'_>, t: &WireType) -> Result<Value, String> {
    match r.bytes("collection element").map_err(|e: WireError| e.to_string())? {
        Some(b) => t.decode(&b),
        None => Err("null is not supported inside collections".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(t: WireType, v: Value) {
        let bytes = t.encode(&v).unwrap();
        assert_eq!(t.decode(&bytes).unwrap(), v, "{t:?}");
    }

    #[test]
    fn every_stored_type_round_trips() {
        round_trip(WireType::Int, Value::Int(-7));
        round_trip(WireType::BigInt, Value::BigInt(i64::MIN));
        round_trip(WireType::Varchar, Value::Text("héllo".into()));
        round_trip(WireType::Ascii, Value::Ascii("abc".into()));
        round_trip(WireType::Boolean, Value::Boolean(true));
        round_trip(WireType::Double, Value::Double(1.5));
        round_trip(WireType::Float, Value::Float(-0.25));
        round_trip(WireType::Uuid, Value::Uuid([7; 16]));
        round_trip(WireType::Timestamp, Value::Timestamp(1_700_000_000_000));
        round_trip(
            WireType::Decimal,
            Value::Decimal(Decimal {
                unscaled: -123_456,
                scale: 3,
            }),
        );
        round_trip(
            WireType::List(Box::new(WireType::Int)),
            Value::List(vec![Value::Int(3), Value::Int(1)]),
        );
        round_trip(
            WireType::Set(Box::new(WireType::Varchar)),
            Value::Set(vec![Value::Text("a".into()), Value::Text("b".into())]),
        );
        round_trip(
            WireType::Map(Box::new(WireType::Varchar), Box::new(WireType::BigInt)),
            Value::Map(vec![(Value::Text("k".into()), Value::BigInt(9))]),
        );
    }

    #[test]
    fn wrong_sizes_are_refused_in_cassandras_words() {
        assert_eq!(
            WireType::Int.decode(&[0, 0, 1]).unwrap_err(),
            "Expected 4 or 0 byte int (3)"
        );
        let huge_count = [0x7f, 0xff, 0xff, 0xff];
        let e = WireType::List(Box::new(WireType::Int)).decode(&huge_count).unwrap_err();
        assert!(e.contains("collection of 2147483647 elements"), "{e}");
        assert!(WireType::Varchar.decode(&[0xff, 0xfe]).is_err());
    }

    #[test]
    fn inet_and_blob_travel_as_text() {
        assert_eq!(
            WireType::Inet.encode(&Value::Text("127.0.0.1".into())).unwrap(),
            vec![127, 0, 0, 1]
        );
        assert_eq!(
            WireType::Blob.encode(&Value::Text("0xcafe".into())).unwrap(),
            vec![0xca, 0xfe]
        );
    }
}
