//! The CQL front end: lexer, parser and syntax tree.
