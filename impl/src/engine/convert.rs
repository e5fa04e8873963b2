//! From the syntax tree's types and terms to engine types and values, with Cassandra's messages
//! for what does not fit (`Invalid INTEGER constant (1.5) for "k" of type int`).

use super::error::CqlError;
use super::value::{parse_timestamp, parse_uuid, DataType, Decimal, Value};
use crate::cql::ast::{CqlType, Term};

/// The engine type for a declared type; types this engine does not store are refused.
pub fn data_type(t: &CqlType) -> Result<DataType, CqlError> {
    Ok(match t {
        CqlType::Int => DataType::Int,
        CqlType::BigInt => DataType::BigInt,
        CqlType::Text | CqlType::Varchar => DataType::Text,
        CqlType::Ascii => DataType::Ascii,
        CqlType::Boolean => DataType::Boolean,
        CqlType::Decimal => DataType::Decimal,
        CqlType::Double => DataType::Double,
        CqlType::Float => DataType::Float,
        // A timeuuid is a uuid of version 1; this engine stores it as a uuid.
        CqlType::Uuid | CqlType::TimeUuid => DataType::Uuid,
        CqlType::Timestamp => DataType::Timestamp,
        CqlType::Counter => DataType::Counter,
        CqlType::List(e) => DataType::List(Box::new(inner(e)?)),
        CqlType::Set(e) => DataType::Set(Box::new(inner(e)?)),
        CqlType::Map(k, v) => DataType::Map(Box::new(inner(k)?), Box::new(inner(v)?)),
        CqlType::Frozen(t) => match t.as_ref() {
            CqlType::List(_) | CqlType::Set(_) | CqlType::Map(..) => {
                DataType::Frozen(Box::new(data_type(t)?))
            }
            CqlType::Frozen(_) => data_type(t)?,
            other => {
                return Err(CqlError::invalid(format!(
                    "frozen<> is only allowed on collections, tuples, and user-defined types (got {other})"
                )))
            }
        },
        CqlType::UserDefined(name) => {
            return Err(CqlError::invalid(format!("Unknown type {name}")))
        }
        other => {
            return Err(CqlError::invalid(format!(
                "Type {other} is not supported by this engine (supported: int, bigint, text, ascii, varchar, boolean, decimal, double, float, uuid, timeuuid, timestamp, counter, list, set, map)"
            )))
        }
    })
}

/// A collection's element type: nested collections are always frozen in Cassandra.
fn inner(t: &CqlType) -> Result<DataType, CqlError> {
    let d = data_type(t)?;
    if d.is_multicell() {
        return Err(CqlError::invalid(
            "Non-frozen collections are not allowed inside collections: ".to_string() + &t.to_string(),
        ));
    }
    if d == DataType::Counter {
        return Err(CqlError::invalid(
            "Counters are not allowed inside collections: ".to_string() + &t.to_string(),
        ));
    }
    Ok(d)
}

/// What `now()`, `uuid()` and `currentTimestamp()` need: the statement's clock and a sequence
/// that makes every generated uuid distinct and deterministic.
pub struct FnCtx {
    pub now_micros: i64,
    pub seq: u64,
}

impl FnCtx {
    /// A version-1 (time-based) uuid for `now()`: the clock in 100 ns units since 1582-10-15,
    /// and the sequence as clock sequence and node, so one statement's uuids differ.
    fn timeuuid(&mut self) -> [u8; 16] {
        self.seq += 1;
        let gregorian_offset: i64 = 0x01b2_1dd2_1381_4000;
        let t = (self.now_micros.saturating_mul(10)).saturating_add(gregorian_offset) as u64 + (self.seq % 10);
        let mut u = [0u8; 16];
        u[0..4].copy_from_slice(&((t & 0xffff_ffff) as u32).to_be_bytes());
        u[4..6].copy_from_slice(&(((t >> 32) & 0xffff) as u16).to_be_bytes());
        u[6..8].copy_from_slice(&((((t >> 48) & 0x0fff) as u16) | 0x1000).to_be_bytes());
        u[8..16].copy_from_slice(&self.seq.to_be_bytes());
        u[8] = (u[8] & 0x3f) | 0x80;
        u
    }

    /// A version-4 uuid for `uuid()`, pseudo-random but reproducible from the clock and the
    /// sequence (splitmix64).
    fn random_uuid(&mut self) -> [u8; 16] {
        self.seq += 1;
        let mix = |mut z: u64| {
            z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        };
        let a = mix(self.now_micros as u64 ^ self.seq.rotate_left(32));
        let b = mix(a);
        let mut u = [0u8; 16];
        u[0..8].copy_from_slice(&a.to_be_bytes());
        u[8..16].copy_from_slice(&b.to_be_bytes());
        u[6] = (u[6] & 0x0f) | 0x40;
        u[8] = (u[8] & 0x3f) | 0x80;
        u
    }
}

fn constant_kind(t: &Term) -> &'static str {
    match t {
        Term::Integer(_) => "INTEGER",
        Term::Float(_) => "FLOAT",
        Term::String(_) => "STRING",
        Term::Boolean(_) => "BOOLEAN",
        Term::Uuid(_) => "UUID",
        Term::Blob(_) => "HEX",
        _ => "constant",
    }
}

fn constant_text(t: &Term) -> String {
    shown(&match t {
        Term::Integer(s) | Term::Float(s) | Term::String(s) | Term::Uuid(s) => s.clone(),
        Term::Blob(h) => format!("0x{h}"),
        Term::Boolean(b) => b.to_string(),
        other => other.to_string(),
    })
}

/// The longest literal an error message quotes whole.
const SHOWN_CHARS: usize = 60;

/// A literal as an error message quotes it: whole when short, else its start and its length,
/// so that a message about a 10 kB value still fits on a screen and says what it is about.
pub(super) fn shown(text: &str) -> String {
    let n = text.chars().count();
    if n <= SHOWN_CHARS {
        return text.to_string();
    }
    let head: String = text.chars().take(SHOWN_CHARS).collect();
    format!("{head}... ({n} characters)")
}

fn invalid_constant(t: &Term, col: &str, ty: &DataType) -> CqlError {
    CqlError::invalid(format!(
        "Invalid {} constant ({}) for \"{col}\" of type {ty}",
        constant_kind(t),
        constant_text(t)
    ))
}

fn unable(ty: &str, text: &str) -> CqlError {
    CqlError::invalid(format!("Unable to make {ty} from '{}'", shown(text)))
}

/// The value `term` denotes for column `col` of type `ty`; `None` is `null`.
pub fn value(term: &Term, ty: &DataType, col: &str, ctx: &mut FnCtx) -> Result<Option<Value>, CqlError> {
    if let Term::Null = term {
        return Ok(None);
    }
    if let Term::Bind(_) = term {
        return Err(CqlError::invalid(
            "Bind variables are not supported: there are no prepared statements here",
        ));
    }
    if let Term::Function { name, args } = term {
        return function(&name.name, args, ty, col, ctx).map(Some);
    }
    let v = match (ty.unfrozen(), term) {
        (DataType::Int, Term::Integer(s)) => Value::Int(s.parse().map_err(|_| unable("int", s))?),
        (DataType::BigInt, Term::Integer(s)) => Value::BigInt(s.parse().map_err(|_| unable("long", s))?),
        (DataType::Counter, Term::Integer(s)) => Value::Counter(s.parse().map_err(|_| unable("long", s))?),
        (DataType::Decimal, Term::Integer(s) | Term::Float(s)) => {
            Value::Decimal(Decimal::parse(s).ok_or_else(|| unable("BigDecimal", s))?)
        }
        (DataType::Double, Term::Integer(s) | Term::Float(s)) => {
            Value::Double(parse_float(s).ok_or_else(|| unable("double", s))?)
        }
        (DataType::Float, Term::Integer(s) | Term::Float(s)) => {
            Value::Float(parse_float(s).ok_or_else(|| unable("float", s))? as f32)
        }
        (DataType::Timestamp, Term::Integer(s)) => Value::Timestamp(s.parse().map_err(|_| unable("long", s))?),
        (DataType::Timestamp, Term::String(s)) => Value::Timestamp(
            parse_timestamp(s)
                .ok_or_else(|| CqlError::invalid(format!("Unable to coerce '{s}' to a formatted date (long)")))?,
        ),
        (DataType::Text, Term::String(s)) => Value::Text(s.clone()),
        (DataType::Ascii, Term::String(s)) => {
            if !s.is_ascii() {
                return Err(CqlError::invalid("Invalid ASCII character in string literal"));
            }
            Value::Ascii(s.clone())
        }
        (DataType::Boolean, Term::Boolean(b)) => Value::Boolean(*b),
        (DataType::Uuid, Term::Uuid(s)) => Value::Uuid(parse_uuid(s).ok_or_else(|| unable("UUID", s))?),
        (DataType::List(e), Term::List(items)) => Value::List(elements(items, e, col, ctx)?),
        (DataType::Set(e), Term::Set(items)) => {
            let mut xs = elements(items, e, col, ctx)?;
            xs.sort();
            xs.dedup();
            Value::Set(xs)
        }
        // `{}` parses as an empty map; for a set it is the empty set.
        (DataType::Set(_), Term::Map(entries)) if entries.is_empty() => Value::Set(Vec::new()),
        (DataType::Map(kt, vt), Term::Map(entries)) => {
            let mut kvs: Vec<(Value, Value)> = Vec::new();
            for (k, v) in entries {
                let k = non_null(value(k, kt, col, ctx)?)?;
                let v = non_null(value(v, vt, col, ctx)?)?;
                kvs.retain(|(existing, _)| existing != &k);
                kvs.push((k, v));
            }
            kvs.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Map(kvs)
        }
        (DataType::List(_), _) => return Err(literal_error("list", col, ty)),
        (DataType::Set(_), _) => return Err(literal_error("set", col, ty)),
        (DataType::Map(..), _) => return Err(literal_error("map", col, ty)),
        _ => return Err(invalid_constant(term, col, ty)),
    };
    Ok(Some(v))
}

fn literal_error(kind: &str, col: &str, ty: &DataType) -> CqlError {
    CqlError::invalid(format!("Invalid {kind} literal for {col} of type {ty}"))
}

fn non_null(v: Option<Value>) -> Result<Value, CqlError> {
    v.ok_or_else(|| CqlError::invalid("null is not supported inside collections"))
}

fn elements(items: &[Term], ty: &DataType, col: &str, ctx: &mut FnCtx) -> Result<Vec<Value>, CqlError> {
    items.iter().map(|t| non_null(value(t, ty, col, ctx)?)).collect()
}

fn parse_float(s: &str) -> Option<f64> {
    match s {
        "NaN" => Some(f64::NAN),
        "Infinity" | "+Infinity" => Some(f64::INFINITY),
        "-Infinity" => Some(f64::NEG_INFINITY),
        _ => s.parse().ok(),
    }
}

fn function(name: &str, args: &[Term], ty: &DataType, col: &str, ctx: &mut FnCtx) -> Result<Value, CqlError> {
    let name = name.to_ascii_lowercase();
    let wrong_type = |f: &str, ret: &str| {
        CqlError::invalid(format!(
            "Type error: cannot assign result of function system.{f} (type {ret}) to {col} (type {ty})"
        ))
    };
    match (name.as_str(), args) {
        ("now", []) => match ty {
            DataType::Uuid => Ok(Value::Uuid(ctx.timeuuid())),
            _ => Err(wrong_type("now", "timeuuid")),
        },
        ("uuid", []) => match ty {
            DataType::Uuid => Ok(Value::Uuid(ctx.random_uuid())),
            _ => Err(wrong_type("uuid", "uuid")),
        },
        ("currenttimestamp", []) => match ty {
            DataType::Timestamp => Ok(Value::Timestamp(ctx.now_micros.div_euclid(1000))),
            _ => Err(wrong_type("currenttimestamp", "timestamp")),
        },
        ("totimestamp", [Term::Function { name: inner, args }])
            if inner.name.eq_ignore_ascii_case("now") && args.is_empty() =>
        {
            match ty {
                DataType::Timestamp => Ok(Value::Timestamp(ctx.now_micros.div_euclid(1000))),
                _ => Err(wrong_type("totimestamp", "timestamp")),
            }
        }
        _ => Err(CqlError::invalid(format!("Unknown function '{name}'"))),
    }
}

/// A non-negative integer literal (USING TIMESTAMP/TTL, LIMIT).
pub fn integer(term: &Term, what: &str) -> Result<i64, CqlError> {
    match term {
        Term::Integer(s) => s
            .parse()
            .map_err(|_| CqlError::invalid(format!("Invalid value for {what}: {}", shown(s)))),
        Term::Bind(_) => Err(CqlError::invalid(
            "Bind variables are not supported: there are no prepared statements here",
        )),
        other => Err(CqlError::invalid(format!(
            "Invalid {} constant ({}) for \"[{what}]\" of type bigint",
            constant_kind(other),
            constant_text(other)
        ))),
    }
}
