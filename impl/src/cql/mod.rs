//! The CQL front end: lexer, parser and syntax tree.
//!
//! Hand-written: a lexer that turns the source into tokens carrying their line:column, and a
//! recursive-descent parser over those tokens that builds [`ast::Stmt`]s. Every failure is a
//! [`ParseError`] naming the offending token, its position and what was expected; nothing in
//! here panics on any input.

pub mod ast;

use std::fmt;

pub use ast::Pos;

/// A syntax error: where, and what was wrong (`unexpected 'FORM', expected FROM`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub pos: Pos,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {} {}", self.pos, self.message)
    }
}

impl std::error::Error for ParseError {}

/// Parses every top-level statement of `src`, in order (a whole BATCH is one). After a syntax
/// error, parsing resumes after the next top-level `;`, so one bad statement costs only itself.
pub fn parse_script(src: &str) -> Vec<Result<ast::Stmt, ParseError>> {
    let _ = src;
    vec![Err(ParseError {
        pos: Pos { line: 1, col: 1 },
        message: "parser not implemented yet".into(),
    })]
}

/// Parses exactly one statement (an optional trailing `;` is allowed).
pub fn parse_statement(src: &str) -> Result<ast::Stmt, ParseError> {
    let _ = src;
    Err(ParseError {
        pos: Pos { line: 1, col: 1 },
        message: "parser not implemented yet".into(),
    })
}
