//! The CQL front end: lexer, parser and syntax tree.
//!
//! * [`ast`]: the syntax tree the executor consumes. Purely syntactic; semantic checks (types,
//!   primary-key rules, view restrictions) belong to the executor, which answers with
//!   Cassandra's messages.
//! * `lexer`: source text to tokens with byte spans and line:column positions. It never fails:
//!   malformed input becomes an error token that the parser reports in place.
//! * `parser`: cuts the token stream into top-level statements (a BATCH runs to `APPLY BATCH`),
//!   then parses each one by recursive descent, following Cassandra's `Cql.g` for the subset.
//!
//! Why hand-written: the only CQL parser crate, `cql3-parser` (tree-sitter), cannot parse the DDL
//! that views need (`SELECT *` in a view, composite partition keys, `CLUSTERING ORDER BY`,
//! `static`; see `shared/reference/cql-parser-evaluation.md`), builds C, and reports errors as
//! tree nodes rather than "line:col, unexpected X, expected Y". The subset is small and
//! LL(1)-ish, so a recursive-descent parser is a few hundred lines, has no dependencies, and
//! gives exactly the positions and messages a cqlsh user expects.
//!
//! **Invariant:** no input makes this module panic. The parser reads tokens only through
//! `peek`/`advance`, which stand at the statement's terminator instead of running off the end,
//! and a property test feeds it random and mutated statements.

pub mod ast;
mod lexer;
mod parser;

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
/// Empty statements (`;;`) are skipped; a final statement may omit its `;`.
pub fn parse_script(src: &str) -> Vec<Result<ast::Stmt, ParseError>> {
    parser::parse_script(src)
}

/// Does `src` end with a complete top-level statement, i.e. with a `;` that is outside strings,
/// comments and any open `BEGIN BATCH ... APPLY BATCH`? An interactive shell reads lines until
/// this holds, then runs the buffer with [`parse_script`]; this uses the parser's own lexer and
/// splitter, so the two never disagree about where a statement ends.
pub fn input_complete(src: &str) -> bool {
    parser::input_complete(src)
}

/// Parses exactly one statement (an optional trailing `;` is allowed). Anything after it is an
/// error, as is an empty input.
pub fn parse_statement(src: &str) -> Result<ast::Stmt, ParseError> {
    parser::parse_statement(src)
}

#[cfg(test)]
mod tests;
