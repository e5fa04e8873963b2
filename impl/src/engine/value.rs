//! CQL values and types: a total order per type (clustering order, the live-live tie-break of
//! reconciliation), Cassandra's byte serialization (tie-breaks and partition tokens), and the
//! two renderings the front end needs: cqlsh's display (`to_cql`) and JSON (`to_json`, issue 4
//! §7).
//!
//! `decimal` is exact: an `i128` unscaled value and a scale, like Java's `BigDecimal` within
//! 38 digits. Timestamps are milliseconds since the epoch, as Cassandra stores them.

use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::fmt;

/// A column type as the storage engine knows it (`varchar` is `Text`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DataType {
    Int,
    BigInt,
    Text,
    Ascii,
    Boolean,
    Decimal,
    Double,
    Float,
    Uuid,
    Timestamp,
    Counter,
    List(Box<DataType>),
    Set(Box<DataType>),
    Map(Box<DataType>, Box<DataType>),
    /// A frozen collection: one cell holding the whole value.
    Frozen(Box<DataType>),
}

impl DataType {
    /// A non-frozen collection: stored as one cell per element plus a collection deletion.
    pub fn is_multicell(&self) -> bool {
        matches!(self, DataType::List(_) | DataType::Set(_) | DataType::Map(..))
    }

    pub fn is_collection(&self) -> bool {
        match self {
            DataType::Frozen(t) => t.is_collection(),
            t => t.is_multicell(),
        }
    }

    /// The type without its `frozen<>` wrapper.
    pub fn unfrozen(&self) -> &DataType {
        match self {
            DataType::Frozen(t) => t.unfrozen(),
            t => t,
        }
    }
}

impl fmt::Display for DataType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DataType::Int => f.write_str("int"),
            DataType::BigInt => f.write_str("bigint"),
            DataType::Text => f.write_str("text"),
            DataType::Ascii => f.write_str("ascii"),
            DataType::Boolean => f.write_str("boolean"),
            DataType::Decimal => f.write_str("decimal"),
            DataType::Double => f.write_str("double"),
            DataType::Float => f.write_str("float"),
            DataType::Uuid => f.write_str("uuid"),
            DataType::Timestamp => f.write_str("timestamp"),
            DataType::Counter => f.write_str("counter"),
            DataType::List(t) => write!(f, "list<{t}>"),
            DataType::Set(t) => write!(f, "set<{t}>"),
            DataType::Map(k, v) => write!(f, "map<{k}, {v}>"),
            DataType::Frozen(t) => write!(f, "frozen<{t}>"),
        }
    }
}

/// The largest |scale| a decimal literal may have.
pub const MAX_DECIMAL_SCALE: u32 = 1000;

/// An exact decimal: `unscaled * 10^-scale`, like `java.math.BigDecimal` (38 digits).
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub struct Decimal {
    pub unscaled: i128,
    pub scale: i32,
}

impl Decimal {
    /// Parses `-12.50`, `3e-2`, `.5`. `None` when it is not a decimal or does not fit.
    pub fn parse(s: &str) -> Option<Decimal> {
        let s = s.trim();
        let (mantissa, exp) = match s.find(['e', 'E']) {
            Some(i) => (&s[..i], s[i + 1..].parse::<i32>().ok()?),
            None => (s, 0),
        };
        let (neg, digits) = match mantissa.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, mantissa.strip_prefix('+').unwrap_or(mantissa)),
        };
        let (int_part, frac_part) = match digits.find('.') {
            Some(i) => (&digits[..i], &digits[i + 1..]),
            None => (digits, ""),
        };
        if int_part.is_empty() && frac_part.is_empty() {
            return None;
        }
        let mut unscaled: i128 = 0;
        for c in int_part.chars().chain(frac_part.chars()) {
            let d = c.to_digit(10)? as i128;
            unscaled = unscaled.checked_mul(10)?.checked_add(d)?;
        }
        let scale = i32::try_from(frac_part.len()).ok()?.checked_sub(exp)?;
        // Far beyond any real use, and it keeps every rendering of the number small.
        if scale.unsigned_abs() > MAX_DECIMAL_SCALE {
            return None;
        }
        Some(Decimal {
            unscaled: if neg { -unscaled } else { unscaled },
            scale,
        })
    }

    /// The same number with trailing zeros stripped, so equal numbers compare field by field.
    fn normalized(self) -> Decimal {
        let mut d = self;
        if d.unscaled == 0 {
            return Decimal { unscaled: 0, scale: 0 };
        }
        while d.unscaled % 10 == 0 {
            d.unscaled /= 10;
            d.scale = d.scale.saturating_sub(1);
        }
        d
    }

    pub fn to_f64(self) -> f64 {
        self.to_string().parse().unwrap_or(f64::NAN)
    }
}

impl PartialEq for Decimal {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Decimal {}
impl PartialOrd for Decimal {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Decimal {
    /// Numeric order (`BigDecimal.compareTo`): 1.0 and 1.00 are equal.
    fn cmp(&self, other: &Self) -> Ordering {
        let (a, b) = (self.normalized(), other.normalized());
        let sign = |x: i128| x.signum();
        if sign(a.unscaled) != sign(b.unscaled) {
            return sign(a.unscaled).cmp(&sign(b.unscaled));
        }
        // Same sign: bring both to the larger scale; a multiplication that overflows means
        // that side's magnitude is larger than anything an i128 holds, hence than the other.
        let (hi, lo, swapped) = if a.scale >= b.scale {
            (a, b, false)
        } else {
            (b, a, true)
        };
        let diff = (hi.scale as i64 - lo.scale as i64) as u32;
        let scaled = 10i128.checked_pow(diff).and_then(|p| lo.unscaled.checked_mul(p));
        let ord = match scaled {
            Some(l) => hi.unscaled.cmp(&l),
            // |lo| scaled up overflowed: |lo| is the larger magnitude.
            None => {
                if lo.unscaled > 0 {
                    Ordering::Less
                } else {
                    Ordering::Greater
                }
            }
        };
        if swapped {
            ord.reverse()
        } else {
            ord
        }
    }
}

impl fmt::Display for Decimal {
    /// `BigDecimal.toString` for the usual scales: plain digits with the scale kept.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let neg = self.unscaled < 0;
        let digits = self.unscaled.unsigned_abs().to_string();
        let sign = if neg { "-" } else { "" };
        if self.scale <= 0 {
            let zeros = "0".repeat(self.scale.unsigned_abs() as usize);
            if self.unscaled == 0 {
                return write!(f, "0");
            }
            return write!(f, "{sign}{digits}{zeros}");
        }
        let scale = self.scale as usize;
        if digits.len() > scale {
            let (i, fr) = digits.split_at(digits.len() - scale);
            write!(f, "{sign}{i}.{fr}")
        } else {
            write!(f, "{sign}0.{}{digits}", "0".repeat(scale - digits.len()))
        }
    }
}

/// A CQL value. Collections hold their elements in CQL order (sets sorted, maps by key).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Value {
    Int(i32),
    BigInt(i64),
    Text(String),
    Ascii(String),
    Boolean(bool),
    Decimal(Decimal),
    Double(f64),
    Float(f32),
    Uuid([u8; 16]),
    /// Milliseconds since the epoch.
    Timestamp(i64),
    Counter(i64),
    List(Vec<Value>),
    Set(Vec<Value>),
    Map(Vec<(Value, Value)>),
}

impl Value {
    fn variant_rank(&self) -> u8 {
        match self {
            Value::Int(_) => 0,
            Value::BigInt(_) => 1,
            Value::Text(_) => 2,
            Value::Ascii(_) => 3,
            Value::Boolean(_) => 4,
            Value::Decimal(_) => 5,
            Value::Double(_) => 6,
            Value::Float(_) => 7,
            Value::Uuid(_) => 8,
            Value::Timestamp(_) => 9,
            Value::Counter(_) => 10,
            Value::List(_) => 11,
            Value::Set(_) => 12,
            Value::Map(_) => 13,
        }
    }

    /// Cassandra's serialized form (`TypeSerializer`): the input of the partitioner's hash and
    /// of the byte comparison that breaks live-live reconciliation ties (`docs/cassandra-semantics.md` §7).
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            Value::Int(i) => i.to_be_bytes().to_vec(),
            Value::BigInt(i) | Value::Counter(i) | Value::Timestamp(i) => i.to_be_bytes().to_vec(),
            Value::Text(s) | Value::Ascii(s) => s.as_bytes().to_vec(),
            Value::Boolean(b) => vec![u8::from(*b)],
            Value::Decimal(d) => {
                let mut out = d.scale.to_be_bytes().to_vec();
                out.extend(varint_bytes(d.unscaled));
                out
            }
            Value::Double(x) => x.to_be_bytes().to_vec(),
            Value::Float(x) => x.to_be_bytes().to_vec(),
            Value::Uuid(u) => u.to_vec(),
            Value::List(xs) | Value::Set(xs) => {
                let mut out = (xs.len() as i32).to_be_bytes().to_vec();
                for x in xs {
                    let b = x.to_bytes();
                    out.extend((b.len() as i32).to_be_bytes());
                    out.extend(b);
                }
                out
            }
            Value::Map(kvs) => {
                let mut out = (kvs.len() as i32).to_be_bytes().to_vec();
                for (k, v) in kvs {
                    for b in [k.to_bytes(), v.to_bytes()] {
                        out.extend((b.len() as i32).to_be_bytes());
                        out.extend(b);
                    }
                }
                out
            }
        }
    }

    /// cqlsh's rendering of the value (strings unquoted at top level, as cqlsh prints them).
    pub fn to_cql(&self) -> String {
        self.render(false)
    }

    fn render(&self, nested: bool) -> String {
        match self {
            Value::Int(i) => i.to_string(),
            Value::BigInt(i) | Value::Counter(i) => i.to_string(),
            Value::Text(s) | Value::Ascii(s) => {
                if nested {
                    format!("'{}'", s.replace('\'', "''"))
                } else {
                    s.clone()
                }
            }
            Value::Boolean(b) => if *b { "True" } else { "False" }.to_string(),
            Value::Decimal(d) => d.to_string(),
            Value::Double(x) => format_g(*x, 12),
            Value::Float(x) => format_g(f64::from(*x), 5),
            Value::Uuid(u) => format_uuid(u),
            Value::Timestamp(ms) => format_timestamp(*ms, true),
            Value::List(xs) => format!("[{}]", xs.iter().map(|x| x.render(true)).collect::<Vec<_>>().join(", ")),
            Value::Set(xs) => format!(
                "{{{}}}",
                xs.iter().map(|x| x.render(true)).collect::<Vec<_>>().join(", ")
            ),
            Value::Map(kvs) => format!(
                "{{{}}}",
                kvs.iter()
                    .map(|(k, v)| format!("{}: {}", k.render(true), v.render(true)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }

    /// The JSON form of issue 4 §7: numbers for int/bigint/decimal/float/double, strings for
    /// text/ascii/uuid/timestamp, arrays for list and set, an object for a map (keys rendered
    /// as their CQL text). A decimal beyond what an `f64` carries exactly is given as its
    /// nearest `f64`: serde_json without `arbitrary_precision` has no exact decimal number.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            Value::Int(i) => J::from(*i),
            Value::BigInt(i) | Value::Counter(i) => J::from(*i),
            Value::Text(s) | Value::Ascii(s) => J::from(s.clone()),
            Value::Boolean(b) => J::from(*b),
            Value::Decimal(d) => {
                if d.scale <= 0 {
                    if let Some(i) = 10i128
                        .checked_pow(d.scale.unsigned_abs())
                        .and_then(|p| d.unscaled.checked_mul(p))
                        .and_then(|i| i64::try_from(i).ok())
                    {
                        return J::from(i);
                    }
                }
                float_json(d.to_f64())
            }
            Value::Double(x) => float_json(*x),
            Value::Float(x) => float_json(f64::from(*x)),
            Value::Uuid(u) => J::from(format_uuid(u)),
            Value::Timestamp(ms) => J::from(format_timestamp(*ms, false)),
            Value::List(xs) | Value::Set(xs) => J::Array(xs.iter().map(Value::to_json).collect()),
            Value::Map(kvs) => J::Object(
                kvs.iter()
                    .map(|(k, v)| (k.to_cql(), v.to_json()))
                    .collect::<serde_json::Map<_, _>>(),
            ),
        }
    }
}

fn float_json(x: f64) -> serde_json::Value {
    match serde_json::Number::from_f64(x) {
        Some(n) => serde_json::Value::Number(n),
        // NaN and the infinities have no JSON number; Cassandra's toJson gives strings.
        None => serde_json::Value::from(if x.is_nan() {
            "NaN".to_string()
        } else if x > 0.0 {
            "Infinity".to_string()
        } else {
            "-Infinity".to_string()
        }),
    }
}

/// Java `BigInteger.toByteArray`: minimal two's complement, big-endian.
fn varint_bytes(v: i128) -> Vec<u8> {
    let bytes = v.to_be_bytes();
    let mut start = 0;
    while start < 15 {
        let (b, next) = (bytes[start], bytes[start + 1]);
        let redundant = (b == 0 && next & 0x80 == 0) || (b == 0xff && next & 0x80 != 0);
        if !redundant {
            break;
        }
        start += 1;
    }
    bytes[start..].to_vec()
}

impl PartialEq for Value {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Value {}
impl PartialOrd for Value {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Value {
    /// Each type's CQL comparator (numbers numerically, text by UTF-8 bytes, booleans false
    /// first, uuids by version then time then bytes, collections element-wise). Values of
    /// different types never share a column; they are ordered by type only to keep `Ord` total.
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Value::Int(a), Value::Int(b)) => a.cmp(b),
            (Value::BigInt(a), Value::BigInt(b)) => a.cmp(b),
            (Value::Counter(a), Value::Counter(b)) => a.cmp(b),
            (Value::Timestamp(a), Value::Timestamp(b)) => a.cmp(b),
            (Value::Text(a), Value::Text(b)) | (Value::Ascii(a), Value::Ascii(b)) => a.cmp(b),
            (Value::Boolean(a), Value::Boolean(b)) => a.cmp(b),
            (Value::Decimal(a), Value::Decimal(b)) => a.cmp(b),
            (Value::Double(a), Value::Double(b)) => java_double_cmp(*a, *b),
            (Value::Float(a), Value::Float(b)) => java_double_cmp(f64::from(*a), f64::from(*b)),
            (Value::Uuid(a), Value::Uuid(b)) => uuid_cmp(a, b),
            (Value::List(a), Value::List(b)) | (Value::Set(a), Value::Set(b)) => a.cmp(b),
            (Value::Map(a), Value::Map(b)) => a.cmp(b),
            (a, b) => a.variant_rank().cmp(&b.variant_rank()),
        }
    }
}

/// `Double.compare`: -0.0 < 0.0, NaN above everything and equal to itself.
fn java_double_cmp(a: f64, b: f64) -> Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        _ => a.total_cmp(&b),
    }
}

fn uuid_version(u: &[u8; 16]) -> u8 {
    u[6] >> 4
}

fn uuid_time(u: &[u8; 16]) -> u64 {
    let low = u64::from(u32::from_be_bytes([u[0], u[1], u[2], u[3]]));
    let mid = u64::from(u16::from_be_bytes([u[4], u[5]]));
    let hi = u64::from(u16::from_be_bytes([u[6], u[7]]) & 0x0fff);
    (hi << 48) | (mid << 32) | low
}

/// `UUIDType`: version first; time-based uuids by their time; then the bytes.
fn uuid_cmp(a: &[u8; 16], b: &[u8; 16]) -> Ordering {
    uuid_version(a)
        .cmp(&uuid_version(b))
        .then_with(|| {
            if uuid_version(a) == 1 {
                uuid_time(a).cmp(&uuid_time(b))
            } else {
                Ordering::Equal
            }
        })
        .then_with(|| a.cmp(b))
}

pub fn format_uuid(u: &[u8; 16]) -> String {
    let hex: String = u.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// Parses the canonical 8-4-4-4-12 form.
pub fn parse_uuid(s: &str) -> Option<[u8; 16]> {
    let parts: Vec<&str> = s.split('-').collect();
    let lens: Vec<usize> = parts.iter().map(|p| p.len()).collect();
    if lens != [8, 4, 4, 4, 12] {
        return None;
    }
    let hex: String = parts.concat();
    let mut out = [0u8; 16];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// cqlsh shows `2015-05-03 13:30:54.234000+0000`; JSON uses `2015-05-03 13:30:54.234Z`
/// (Cassandra's `toJson`).
pub fn format_timestamp(ms: i64, cqlsh: bool) -> String {
    let days = ms.div_euclid(86_400_000);
    let in_day = ms.rem_euclid(86_400_000);
    let (y, mo, d) = civil_from_days(days);
    let (h, mi, s, milli) = (
        in_day / 3_600_000,
        in_day / 60_000 % 60,
        in_day / 1000 % 60,
        in_day % 1000,
    );
    if cqlsh {
        format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}.{milli:03}000+0000")
    } else {
        format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}.{milli:03}Z")
    }
}

/// Parses the literal forms Cassandra accepts for `timestamp`: `yyyy-mm-dd`, optionally
/// followed by ` ` or `T` and `HH:MM[:SS[.fff]]`, optionally followed by `Z` or `+hhmm`.
/// A zone-less literal is taken as UTC (the node's zone is UTC here).
pub fn parse_timestamp(s: &str) -> Option<i64> {
    let s = s.trim();
    let (date, rest) = match s.find([' ', 'T']) {
        Some(i) => (&s[..i], &s[i + 1..]),
        None => (s, ""),
    };
    let mut dp = date.split('-');
    let y: i64 = dp.next()?.parse().ok()?;
    // Java's millisecond timestamps span about ±292 million years.
    if !(-292_000_000..=292_000_000).contains(&y) {
        return None;
    }
    let mo: u32 = dp.next()?.parse().ok()?;
    let d: u32 = dp.next()?.parse().ok()?;
    if dp.next().is_some() || !(1..=12).contains(&mo) || !(1..=31).contains(&d) {
        return None;
    }
    let (time, zone_ms) = split_zone(rest)?;
    let mut ms_in_day: i64 = 0;
    if !time.is_empty() {
        let mut tp = time.split(':');
        let h: i64 = tp.next()?.parse().ok()?;
        let mi: i64 = tp.next()?.parse().ok()?;
        let (sec, frac) = match tp.next() {
            Some(sf) => match sf.split_once('.') {
                Some((a, b)) => (a.parse::<i64>().ok()?, b),
                None => (sf.parse::<i64>().ok()?, ""),
            },
            None => (0, ""),
        };
        if tp.next().is_some() || h > 23 || mi > 59 || sec > 59 || frac.len() > 9 {
            return None;
        }
        let mut milli = 0i64;
        for (i, c) in frac.chars().take(3).enumerate() {
            milli += i64::from(c.to_digit(10)?) * 10i64.pow(2 - i as u32);
        }
        if !frac.chars().all(|c| c.is_ascii_digit()) {
            return None;
        }
        ms_in_day = ((h * 60 + mi) * 60 + sec) * 1000 + milli;
    }
    days_from_civil(y, mo, d)
        .checked_mul(86_400_000)?
        .checked_add(ms_in_day)?
        .checked_sub(zone_ms)
}

fn split_zone(rest: &str) -> Option<(&str, i64)> {
    if let Some(t) = rest.strip_suffix('Z') {
        return Some((t.trim(), 0));
    }
    if let Some(i) = rest.rfind(['+', '-']) {
        let zone = &rest[i + 1..];
        if zone.len() == 4 && zone.chars().all(|c| c.is_ascii_digit()) {
            let hh: i64 = zone[..2].parse().ok()?;
            let mm: i64 = zone[2..].parse().ok()?;
            let sign = if rest.as_bytes()[i] == b'-' { -1 } else { 1 };
            return Some((rest[..i].trim(), sign * (hh * 60 + mm) * 60_000));
        }
    }
    Some((rest.trim(), 0))
}

/// C's `%.{p}g` with trailing zeros removed: how cqlsh prints floats (5 digits) and doubles
/// (12 digits).
pub fn format_g(x: f64, p: usize) -> String {
    if x.is_nan() {
        return "NaN".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    if x == 0.0 {
        return if x.is_sign_negative() { "-0" } else { "0" }.into();
    }
    let sci = format!("{:.*e}", p - 1, x);
    let (mant, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if exp < -4 || exp >= p as i32 {
        let mant = strip_zeros(mant);
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mant}e{sign}{:02}", exp.abs())
    } else {
        let decimals = (p as i32 - 1 - exp).max(0) as usize;
        strip_zeros(&format!("{x:.decimals$}")).to_string()
    }
}

fn strip_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

/// The Murmur3 partitioner's token of a serialized partition key: the first half of
/// Cassandra's `MurmurHash.hash3_x64_128` with seed 0, whose tail bytes are sign-extended
/// (a quirk the partitioner keeps for compatibility), with `Long.MIN_VALUE` mapped to
/// `Long.MAX_VALUE`.
pub fn murmur3_token(key: &[u8]) -> i64 {
    const C1: u64 = 0x87c3_7b91_1142_53d5;
    const C2: u64 = 0x4cf5_ad43_2745_937f;
    fn fmix(mut k: u64) -> u64 {
        k ^= k >> 33;
        k = k.wrapping_mul(0xff51_afd7_ed55_8ccd);
        k ^= k >> 33;
        k = k.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        k ^= k >> 33;
        k
    }
    let len = key.len();
    let nblocks = len / 16;
    let (mut h1, mut h2) = (0u64, 0u64);
    for i in 0..nblocks {
        let block = &key[i * 16..i * 16 + 16];
        let mut k1 = u64::from_le_bytes(block[0..8].try_into().unwrap_or([0; 8]));
        let mut k2 = u64::from_le_bytes(block[8..16].try_into().unwrap_or([0; 8]));
        k1 = k1.wrapping_mul(C1).rotate_left(31).wrapping_mul(C2);
        h1 ^= k1;
        h1 = h1
            .rotate_left(27)
            .wrapping_add(h2)
            .wrapping_mul(5)
            .wrapping_add(0x52dc_e729);
        k2 = k2.wrapping_mul(C2).rotate_left(33).wrapping_mul(C1);
        h2 ^= k2;
        h2 = h2
            .rotate_left(31)
            .wrapping_add(h1)
            .wrapping_mul(5)
            .wrapping_add(0x3849_5ab5);
    }
    let tail = &key[nblocks * 16..];
    // Sign-extended bytes, as Java's `(long) byte`.
    let sx = |i: usize| tail[i] as i8 as i64 as u64;
    let (mut k1, mut k2) = (0u64, 0u64);
    for i in (8..tail.len()).rev() {
        k2 ^= sx(i) << ((i - 8) * 8);
    }
    if tail.len() > 8 {
        k2 = k2.wrapping_mul(C2).rotate_left(33).wrapping_mul(C1);
        h2 ^= k2;
    }
    for i in (0..tail.len().min(8)).rev() {
        k1 ^= sx(i) << (i * 8);
    }
    if !tail.is_empty() {
        k1 = k1.wrapping_mul(C1).rotate_left(31).wrapping_mul(C2);
        h1 ^= k1;
    }
    h1 ^= len as u64;
    h2 ^= len as u64;
    h1 = h1.wrapping_add(h2);
    h2 = h2.wrapping_add(h1);
    h1 = fmix(h1);
    h2 = fmix(h2);
    h1 = h1.wrapping_add(h2);
    let t = h1 as i64;
    if t == i64::MIN {
        i64::MAX
    } else {
        t
    }
}

/// The serialized partition key: a single component as is; a composite one as
/// `<u16 length><bytes><0>` per component (`CompositeType`).
pub fn partition_key_bytes(values: &[Value]) -> Vec<u8> {
    if let [single] = values {
        return single.to_bytes();
    }
    let mut out = Vec::new();
    for v in values {
        let b = v.to_bytes();
        out.extend((b.len() as u16).to_be_bytes());
        out.extend(b);
        out.push(0);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn murmur3_tokens_match_cassandra() {
        // Tokens cqlsh reports for `SELECT token(k)` on an int partition key.
        assert_eq!(murmur3_token(&Value::Int(1).to_bytes()), -4_069_959_284_402_364_209);
        assert_eq!(murmur3_token(&Value::Int(0).to_bytes()), -3_485_513_579_396_041_028);
    }

    #[test]
    fn decimal_parse_order_and_display() {
        let d = |s| Decimal::parse(s).unwrap();
        assert_eq!(d("1.50").to_string(), "1.50");
        assert_eq!(d("-0.05").to_string(), "-0.05");
        assert_eq!(d("3e2").to_string(), "300");
        assert_eq!(d("1.0"), d("1.00"));
        assert!(d("-2") < d("1.5"));
        assert!(d("10") > d("9.999"));
        assert!(Decimal::parse("1.2.3").is_none());
        assert!(Decimal::parse("").is_none());
        assert_eq!(Value::Decimal(d("1.25")).to_json(), serde_json::json!(1.25));
        assert_eq!(Value::Decimal(d("12")).to_json(), serde_json::json!(12));
    }

    #[test]
    fn timestamps_round_trip() {
        let t = parse_timestamp("2015-05-03 13:30:54.234").unwrap();
        assert_eq!(format_timestamp(t, true), "2015-05-03 13:30:54.234000+0000");
        assert_eq!(format_timestamp(t, false), "2015-05-03 13:30:54.234Z");
        assert_eq!(parse_timestamp("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_timestamp("1970-01-01 01:00+0100"), Some(0));
        assert_eq!(format_timestamp(-1, true), "1969-12-31 23:59:59.999000+0000");
        assert!(parse_timestamp("2015-13-01").is_none());
        assert!(parse_timestamp("nonsense").is_none());
    }

    #[test]
    fn uuid_round_trip_and_order() {
        let s = "550e8400-e29b-41d4-a716-446655440000";
        let u = parse_uuid(s).unwrap();
        assert_eq!(format_uuid(&u), s);
        assert!(parse_uuid("550e8400").is_none());
        assert!(parse_uuid("zz0e8400-e29b-41d4-a716-446655440000").is_none());
    }

    #[test]
    fn cqlsh_float_formatting() {
        assert_eq!(format_g(1.5, 12), "1.5");
        assert_eq!(format_g(1.234567891, 5), "1.2346");
        assert_eq!(format_g(1e20, 12), "1e+20");
        assert_eq!(format_g(100.0, 12), "100");
        assert_eq!(format_g(0.0001, 5), "0.0001");
    }

    #[test]
    fn json_and_cql_forms() {
        let m = Value::Map(vec![(Value::Text("a".into()), Value::Int(1))]);
        assert_eq!(m.to_json(), serde_json::json!({"a": 1}));
        assert_eq!(m.to_cql(), "{'a': 1}");
        let s = Value::Set(vec![Value::Int(1), Value::Int(2)]);
        assert_eq!(s.to_json(), serde_json::json!([1, 2]));
        assert_eq!(Value::Boolean(true).to_cql(), "True");
        assert_eq!(Value::Text("x".into()).to_json(), serde_json::json!("x"));
    }

    #[test]
    fn value_order_is_per_type() {
        assert!(Value::Int(-1) < Value::Int(2));
        assert!(Value::Text("Frank".into()) < Value::Text("Tom".into()));
        assert!(Value::Double(-0.0) < Value::Double(0.0));
        assert!(Value::Double(f64::NAN) > Value::Double(f64::INFINITY));
    }
}
