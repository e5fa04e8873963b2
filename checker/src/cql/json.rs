//! `--format json`: one JSON line per statement.
//!
//! Decimals are exact JSON *numbers*: `123456789.123456789` is written with every digit, as the
//! human format prints it (a JSON string would also be exact, but would change the value's
//! JSON type from the number it was, and a reader's code with it). serde_json cannot hold such a number without its
//! `arbitrary_precision` feature, and that feature is not taken: Cargo features are unified, so
//! it would change every serde_json `Value` in the workspace (trace files, ITF states), where
//! numbers would compare by their text (`1.0 != 1.00`) and untagged or flattened enums stop
//! accepting numbers. Instead this module writes the row values itself and leaves every other
//! value to `Value::to_json`. A reader that parses JSON numbers as binary floats still rounds
//! them; one that keeps the text (Python's `json` with `parse_float=Decimal`, serde_json with
//! `arbitrary_precision`) gets the value exactly.

use mv_impl::engine::{CqlError, QueryResult, Value};

/// One JSON line for one statement's result.
pub fn json_line(result: &Result<QueryResult, CqlError>) -> String {
    match result {
        Ok(QueryResult::Rows(rows)) => {
            let mut s = String::from("{\"columns\":");
            s.push_str(&serde_json::Value::from(rows.columns.clone()).to_string());
            s.push_str(",\"rows\":[");
            for (i, row) in rows.rows.iter().enumerate() {
                if i > 0 {
                    s.push(',');
                }
                s.push('[');
                for (j, cell) in row.iter().enumerate() {
                    if j > 0 {
                        s.push(',');
                    }
                    match cell {
                        Some(v) => value(v, &mut s),
                        None => s.push_str("null"),
                    }
                }
                s.push(']');
            }
            s.push_str("]}");
            s
        }
        Ok(QueryResult::Done { .. }) => serde_json::json!({ "ok": true }).to_string(),
        Err(e) => serde_json::json!({ "error": { "kind": e.kind.to_string(), "message": e.message } }).to_string(),
    }
}

/// A value as JSON; decimals (also inside collections) keep all their digits.
fn value(v: &Value, out: &mut String) {
    match v {
        Value::Decimal(d) => out.push_str(&d.to_string()),
        Value::List(xs) | Value::Set(xs) => {
            out.push('[');
            for (i, x) in xs.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                value(x, out);
            }
            out.push(']');
        }
        Value::Map(kvs) => {
            out.push('{');
            for (i, (k, x)) in kvs.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                // Keys as `Value::to_json` writes them: the CQL literal, as a JSON string.
                out.push_str(&serde_json::Value::from(k.to_cql()).to_string());
                out.push(':');
                value(x, out);
            }
            out.push('}');
        }
        other => out.push_str(&other.to_json().to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mv_impl::engine::{Decimal, Rows};

    fn line(values: Vec<Value>) -> String {
        json_line(&Ok(QueryResult::Rows(Rows {
            columns: vec!["v".into()],
            rows: values.into_iter().map(|v| vec![Some(v)]).collect(),
        })))
    }

    #[test]
    fn decimals_keep_every_digit_and_stay_json_numbers() {
        for text in [
            "123456789.123456789",
            "-0.000000000000000000001",
            "1E+3",
            "12345678901234567890123456789012345678",
            "0",
        ] {
            let d = Value::Decimal(Decimal::parse(text).unwrap());
            let shown = d.to_cql();
            let l = line(vec![
                d.clone(),
                Value::List(vec![d.clone()]),
                Value::Map(vec![(Value::Int(1), d)]),
            ]);
            let parsed: serde_json::Value = serde_json::from_str(&l).unwrap_or_else(|e| panic!("{l}: {e}"));
            assert!(parsed["rows"][0][0].is_number(), "{l}");
            assert!(l.contains(&format!("[{shown}]")), "{l} lacks {shown} in full");
            assert!(l.contains(&format!("[[{shown}]]")), "{l}");
            assert!(l.contains(&format!("{{\"1\":{shown}}}")), "{l}");
        }
    }

    #[test]
    fn other_values_are_as_to_json_writes_them() {
        let vs = vec![Value::Text("a\"b".into()), Value::Double(f64::NAN), Value::Int(-3)];
        let l = line(vs.clone());
        let parsed: serde_json::Value = serde_json::from_str(&l).unwrap();
        for (i, v) in vs.iter().enumerate() {
            assert_eq!(parsed["rows"][i][0], v.to_json(), "{l}");
        }
    }
}
