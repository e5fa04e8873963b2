//! Statement results and errors, named as Cassandra's drivers and cqlsh name them.

use super::value::Value;
use std::fmt;

/// The class of a failed statement, displayed as Cassandra names the exception.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// `SyntaxException`: the statement does not parse.
    Syntax,
    /// `InvalidRequest`: it parses but Cassandra refuses it.
    Invalid,
    /// `AlreadyExists`: a keyspace, table or view of that name exists.
    AlreadyExists,
    /// `ConfigurationException`.
    Configuration,
    /// `Unavailable`: not enough replicas (the distributed node).
    Unavailable,
    /// `WriteTimeout`: not enough acknowledgements in time (the distributed node).
    WriteTimeout,
    /// `ServerError`: a bug; the message says which invariant broke.
    Server,
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ErrorKind::Syntax => "SyntaxException",
            ErrorKind::Invalid => "InvalidRequest",
            ErrorKind::AlreadyExists => "AlreadyExists",
            ErrorKind::Configuration => "ConfigurationException",
            ErrorKind::Unavailable => "Unavailable",
            ErrorKind::WriteTimeout => "WriteTimeout",
            ErrorKind::Server => "ServerError",
        })
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CqlError {
    pub kind: ErrorKind,
    pub message: String,
}

impl CqlError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> CqlError {
        CqlError {
            kind,
            message: message.into(),
        }
    }

    pub fn invalid(message: impl Into<String>) -> CqlError {
        CqlError::new(ErrorKind::Invalid, message)
    }
}

impl fmt::Display for CqlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind, self.message)
    }
}

impl std::error::Error for CqlError {}

/// A SELECT's answer: column headers and rows, `None` for null.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Rows {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Option<Value>>>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum QueryResult {
    Rows(Rows),
    /// Any statement but SELECT, with the client warnings it produced (CREATE MATERIALIZED
    /// VIEW warns that views are experimental).
    Done {
        warnings: Vec<String>,
    },
}

impl QueryResult {
    pub fn done() -> QueryResult {
        QueryResult::Done { warnings: Vec::new() }
    }
}

impl Rows {
    /// The lines cqlsh prints for a result set, without the blank lines around it: headers
    /// left-aligned, values right-aligned, every column as wide as its widest cell, then
    /// `(N rows)`.
    pub fn table_lines(&self) -> Vec<String> {
        let rows = self;
        let cells: Vec<Vec<String>> = rows
            .rows
            .iter()
            .map(|r| {
                r.iter()
                    .map(|c| c.as_ref().map_or_else(|| "null".to_string(), |v| v.to_cql()))
                    .collect()
            })
            .collect();
        let mut widths: Vec<usize> = rows.columns.iter().map(|c| c.chars().count()).collect();
        for row in &cells {
            for (w, c) in widths.iter_mut().zip(row) {
                *w = (*w).max(c.chars().count());
            }
        }
        let mut lines = Vec::with_capacity(cells.len() + 4);
        let header: Vec<String> = rows
            .columns
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        lines.push(format!(" {}", header.join(" | ")).trim_end().to_string());
        let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
        lines.push(format!("-{}-", rule.join("-+-")));
        for row in &cells {
            let padded: Vec<String> = row.iter().zip(&widths).map(|(c, w)| format!("{c:>w$}")).collect();
            lines.push(format!(" {}", padded.join(" | ")));
        }
        lines.push(String::new());
        lines.push(format!("({} rows)", cells.len()));
        lines
    }
}
