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
