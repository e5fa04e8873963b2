//! Statement splitting and the recursive-descent parser.
//!
//! A script is first cut into top-level statements on the token stream (so `;` inside strings
//! and comments never counts, and a BATCH runs to its `APPLY BATCH`), then each statement is
//! parsed on its own slice of tokens. A syntax error therefore costs exactly one statement, and
//! the parser needs no error recovery of its own.
//!
//! Error messages come from an "expected" set: every time the parser tests the current token
//! against an alternative and it does not match, the alternative's name is recorded; consuming a
//! token clears the set. When nothing matches, the message lists everything that was tried at
//! that token (`unexpected 'WHER', expected '.', WHERE, ORDER, PER, LIMIT, ALLOW or ';'`).
//!
//! The grammar follows Cassandra's `Cql.g` for the statements we support: what that grammar
//! accepts parses here, and what it refuses is a syntax error here too, as far as the subset goes.
//! Semantic checks (types, key rules, view restrictions, bind markers) are the executor's.

use super::ast::*;
use super::lexer::{shorten, tokenize, Tok, Token};
use super::ParseError;

/// One top-level statement's tokens, and the token that ended it (`;` or EOF).
struct Chunk<'t> {
    tokens: &'t [Token],
    terminator: &'t Token,
}

/// Cuts the token stream into top-level statements. Inside `BEGIN ... BATCH` the `;`s belong to
/// the batch until `APPLY BATCH`. A batch with no `APPLY BATCH` runs to the end of input: it is
/// reported as one error rather than having its inner statements run one by one outside it.
fn split<'t>(tokens: &'t [Token], src: &str) -> Vec<Chunk<'t>> {
    let word = |t: Option<&Token>, kw: &str| t.is_some_and(|t| is_word(t, src, kw));
    let mut chunks = Vec::new();
    let mut start = 0;
    while let Some(first) = tokens.get(start) {
        match first.tok {
            Tok::Eof => break,
            Tok::Semicolon => {
                start += 1;
                continue;
            }
            _ => {}
        }
        let is_batch = word(Some(first), "begin")
            && (word(tokens.get(start + 1), "batch")
                || ((word(tokens.get(start + 1), "unlogged") || word(tokens.get(start + 1), "counter"))
                    && word(tokens.get(start + 2), "batch")));
        let mut i = start;
        let mut applied = !is_batch;
        let end = loop {
            let Some(t) = tokens.get(i) else { break i };
            match t.tok {
                Tok::Eof => break i,
                Tok::Semicolon if applied => break i,
                _ => {}
            }
            if !applied && word(Some(t), "apply") && word(tokens.get(i + 1), "batch") {
                applied = true;
            }
            i += 1;
        };
        let (Some(body), Some(terminator)) = (tokens.get(start..end), tokens.get(end).or(tokens.last())) else {
            break;
        };
        chunks.push(Chunk {
            tokens: body,
            terminator,
        });
        start = end + 1;
    }
    chunks
}

fn is_word(t: &Token, src: &str, kw: &str) -> bool {
    t.tok == Tok::Word && src.get(t.start..t.end).is_some_and(|w| w.eq_ignore_ascii_case(kw))
}

pub(crate) fn parse_script(src: &str) -> Vec<Result<Stmt, ParseError>> {
    let tokens = tokenize(src);
    split(&tokens, src)
        .into_iter()
        .map(|chunk| parse_chunk(src, &chunk))
        .collect()
}

pub(crate) fn input_complete(src: &str) -> bool {
    let tokens = tokenize(src);
    // An unterminated string or comment continues on the next line.
    if tokens.iter().any(|t| matches!(t.tok, Tok::Unterminated(_))) {
        return false;
    }
    let Some(last) = tokens.iter().rev().find(|t| t.tok != Tok::Eof) else {
        return false;
    };
    if last.tok != Tok::Semicolon {
        return false;
    }
    // The final `;` must end a top-level statement, not a statement inside an open batch.
    match split(&tokens, src).last() {
        Some(chunk) => chunk.terminator.start == last.start,
        None => true,
    }
}

pub(crate) fn parse_statement(src: &str) -> Result<Stmt, ParseError> {
    let tokens = tokenize(src);
    let chunks = split(&tokens, src);
    let mut iter = chunks.iter();
    let Some(first) = iter.next() else {
        let end = tokens.last().map(|t| t.pos).unwrap_or(Pos { line: 1, col: 1 });
        return Err(ParseError {
            pos: end,
            message: "empty statement, expected a statement".into(),
        });
    };
    let stmt = parse_chunk(src, first)?;
    if let Some(extra) = iter.next().and_then(|c| c.tokens.first()) {
        return Err(ParseError {
            pos: extra.pos,
            message: format!("unexpected {}, expected end of input", describe(src, extra)),
        });
    }
    Ok(stmt)
}

fn parse_chunk(src: &str, chunk: &Chunk<'_>) -> Result<Stmt, ParseError> {
    let mut p = Parser {
        src,
        tokens: chunk.tokens,
        at: 0,
        end: chunk.terminator,
        expected: Vec::new(),
        depth: 0,
    };
    let stmt = p.statement()?;
    p.expect_end()?;
    Ok(stmt)
}

/// How a token is named in an error message.
fn describe(src: &str, t: &Token) -> String {
    match &t.tok {
        Tok::Eof => "end of input".to_string(),
        _ => format!("'{}'", shorten(src.get(t.start..t.end).unwrap_or(""))),
    }
}

struct Parser<'s, 't> {
    src: &'s str,
    tokens: &'t [Token],
    at: usize,
    /// Stands in for every position past the statement's last token.
    end: &'t Token,
    /// What the parser tried at the current token; cleared when a token is consumed.
    expected: Vec<Expected>,
    /// How deeply terms, types and selectors are nested right now; see [`MAX_NESTING`].
    depth: usize,
}

/// Nesting limit for terms (`[[[...]]]`), types (`frozen<list<...>>`) and selectors. Recursive
/// descent uses the call stack, so without a bound a long run of `[` would overflow it (an
/// abort, not even a panic). Real statements nest a handful of levels.
const MAX_NESTING: usize = 64;

type PResult<T> = Result<T, ParseError>;

/// An alternative the parser tried at the current token, for the error message.
#[derive(Debug, Clone, Copy)]
enum Expected {
    /// A keyword, given lowercase and shown uppercase (`FROM`), as Cassandra's messages do.
    Keyword(&'static str),
    /// Punctuation or a category, shown as is (`'('`, `an identifier`).
    Thing(&'static str),
}

impl<'s, 't> Parser<'s, 't> {
    // ---- token access -------------------------------------------------------------------------

    fn peek(&self) -> &'t Token {
        self.tokens.get(self.at).unwrap_or(self.end)
    }

    fn peek_at(&self, n: usize) -> &'t Token {
        self.tokens.get(self.at + n).unwrap_or(self.end)
    }

    fn advance(&mut self) -> &'t Token {
        let t = self.peek();
        if self.at < self.tokens.len() {
            self.at += 1;
        }
        self.expected.clear();
        t
    }

    fn text(&self, t: &Token) -> &'s str {
        self.src.get(t.start..t.end).unwrap_or("")
    }

    /// Source text from the start of token `from` to the end of the last consumed token.
    fn text_since(&self, from: usize) -> String {
        let (Some(first), Some(last)) = (
            self.tokens.get(from),
            self.at.checked_sub(1).and_then(|i| self.tokens.get(i)),
        ) else {
            return String::new();
        };
        if last.end < first.start {
            return String::new();
        }
        self.src.get(first.start..last.end).unwrap_or("").to_string()
    }

    /// The error for the current token, listing what was expected there.
    fn unexpected(&self) -> ParseError {
        let t = self.peek();
        if let Tok::Error(msg) | Tok::Unterminated(msg) = &t.tok {
            return ParseError {
                pos: t.pos,
                message: msg.clone(),
            };
        }
        let mut expected: Vec<String> = Vec::new();
        for e in &self.expected {
            let name = match e {
                Expected::Keyword(kw) => kw.to_ascii_uppercase(),
                Expected::Thing(thing) => thing.to_string(),
            };
            if !expected.contains(&name) {
                expected.push(name);
            }
        }
        let found = describe(self.src, t);
        let message = match expected.split_last() {
            None => format!("unexpected {found}"),
            Some((only, [])) => format!("unexpected {found}, expected {only}"),
            Some((last, rest)) => format!("unexpected {found}, expected {} or {last}", rest.join(", ")),
        };
        ParseError { pos: t.pos, message }
    }

    fn error_here(&self, message: String) -> ParseError {
        ParseError {
            pos: self.peek().pos,
            message,
        }
    }

    /// Runs `f` one nesting level deeper, refusing to go past [`MAX_NESTING`].
    fn nested<T>(&mut self, f: impl FnOnce(&mut Self) -> PResult<T>) -> PResult<T> {
        if self.depth >= MAX_NESTING {
            return Err(self.error_here(format!("nesting deeper than {MAX_NESTING} levels")));
        }
        self.depth += 1;
        let result = f(self);
        self.depth -= 1;
        result
    }

    // ---- matching -----------------------------------------------------------------------------

    /// Is the current token keyword `kw`? Records `name` as expected if not.
    fn check_kw(&mut self, kw: &'static str) -> bool {
        if is_word(self.peek(), self.src, kw) {
            true
        } else {
            self.expected.push(Expected::Keyword(kw));
            false
        }
    }

    fn eat_kw(&mut self, kw: &'static str) -> bool {
        let hit = self.check_kw(kw);
        if hit {
            self.advance();
        }
        hit
    }

    fn expect_kw(&mut self, kw: &'static str) -> PResult<()> {
        if self.eat_kw(kw) {
            Ok(())
        } else {
            Err(self.unexpected())
        }
    }

    fn check(&mut self, tok: Tok, name: &'static str) -> bool {
        if self.peek().tok == tok {
            true
        } else {
            self.expected.push(Expected::Thing(name));
            false
        }
    }

    fn eat(&mut self, tok: Tok, name: &'static str) -> bool {
        let hit = self.check(tok, name);
        if hit {
            self.advance();
        }
        hit
    }

    fn expect(&mut self, tok: Tok, name: &'static str) -> PResult<()> {
        if self.eat(tok, name) {
            Ok(())
        } else {
            Err(self.unexpected())
        }
    }

    fn expect_end(&mut self) -> PResult<()> {
        if self.at >= self.tokens.len() {
            Ok(())
        } else {
            self.expected.push(Expected::Thing("';'"));
            Err(self.unexpected())
        }
    }

    /// `IF NOT EXISTS`, all or nothing once `IF` is seen.
    fn if_not_exists(&mut self) -> PResult<bool> {
        if !self.eat_kw("if") {
            return Ok(false);
        }
        self.expect_kw("not")?;
        self.expect_kw("exists")?;
        Ok(true)
    }

    fn if_exists(&mut self) -> PResult<bool> {
        if !self.eat_kw("if") {
            return Ok(false);
        }
        self.expect_kw("exists")?;
        Ok(true)
    }

    // ---- names --------------------------------------------------------------------------------

    /// An identifier: an unreserved word (lowercased) or a quoted identifier (kept).
    fn ident(&mut self) -> PResult<String> {
        let t = self.peek();
        match &t.tok {
            Tok::Word if !is_reserved_keyword(self.text(t)) => {
                let name = self.text(t).to_ascii_lowercase();
                self.advance();
                Ok(name)
            }
            Tok::QuotedIdent(name) => {
                let name = name.clone();
                self.advance();
                Ok(name)
            }
            _ => {
                self.expected.push(Expected::Thing("an identifier"));
                Err(self.unexpected())
            }
        }
    }

    fn check_ident(&mut self) -> bool {
        let t = self.peek();
        let hit = match &t.tok {
            Tok::Word => !is_reserved_keyword(self.text(t)),
            Tok::QuotedIdent(_) => true,
            _ => false,
        };
        if !hit {
            self.expected.push(Expected::Thing("an identifier"));
        }
        hit
    }

    /// `name` or `keyspace.name`.
    fn qualified_name(&mut self) -> PResult<QualifiedName> {
        let first = self.ident()?;
        if self.eat(Tok::Dot, "'.'") {
            let name = self.ident()?;
            Ok(QualifiedName {
                keyspace: Some(first),
                name,
            })
        } else {
            Ok(QualifiedName {
                keyspace: None,
                name: first,
            })
        }
    }

    fn ident_list(&mut self) -> PResult<Vec<String>> {
        let mut out = vec![self.ident()?];
        while self.eat(Tok::Comma, "','") {
            out.push(self.ident()?);
        }
        Ok(out)
    }

    /// `( ident, ... )`
    fn paren_ident_list(&mut self) -> PResult<Vec<String>> {
        self.expect(Tok::LParen, "'('")?;
        let names = self.ident_list()?;
        self.expect(Tok::RParen, "')'")?;
        Ok(names)
    }

    // ---- statements ---------------------------------------------------------------------------

    fn statement(&mut self) -> PResult<Stmt> {
        let start = self.at;
        let pos = self.peek().pos;
        let kind = self.statement_kind()?;
        Ok(Stmt {
            kind,
            pos,
            text: self.text_since(start),
        })
    }

    fn statement_kind(&mut self) -> PResult<StmtKind> {
        if self.eat_kw("select") {
            return self.select().map(StmtKind::Select);
        }
        if self.eat_kw("insert") {
            return self.insert().map(StmtKind::Insert);
        }
        if self.eat_kw("update") {
            return self.update().map(StmtKind::Update);
        }
        if self.eat_kw("delete") {
            return self.delete().map(StmtKind::Delete);
        }
        if self.eat_kw("begin") {
            return self.batch().map(StmtKind::Batch);
        }
        if self.eat_kw("create") {
            return self.create();
        }
        if self.eat_kw("drop") {
            return self.drop();
        }
        if self.eat_kw("alter") {
            return self.alter();
        }
        if self.eat_kw("truncate") {
            if !self.eat_kw("table") {
                self.eat_kw("columnfamily");
            }
            return self.qualified_name().map(StmtKind::Truncate);
        }
        if self.eat_kw("use") {
            return self.ident().map(StmtKind::Use);
        }
        if self.eat_kw("advance") {
            self.expect_kw("clock")?;
            return self.advance_clock();
        }
        if self.eat_kw("view") {
            self.expect_kw("build")?;
            self.expect_kw("status")?;
            let name = if self.check_ident() {
                Some(self.qualified_name()?)
            } else {
                None
            };
            return Ok(StmtKind::ViewBuildStatus(name));
        }
        if self.eat_kw("wait") {
            self.expect_kw("for")?;
            self.expect_kw("view")?;
            self.expect_kw("builds")?;
            return Ok(StmtKind::WaitForViewBuilds);
        }
        if self.eat_kw("describe") || self.eat_kw("desc") {
            return self.describe().map(StmtKind::Describe);
        }
        Err(self.unexpected())
    }

    fn describe(&mut self) -> PResult<Describe> {
        if self.eat_kw("keyspaces") {
            return Ok(Describe::Keyspaces);
        }
        if self.eat_kw("tables") {
            return Ok(Describe::Tables);
        }
        if self.eat_kw("full") {
            self.expect_kw("schema")?;
            return Ok(Describe::Schema);
        }
        if self.eat_kw("schema") {
            return Ok(Describe::Schema);
        }
        if self.eat_kw("keyspace") {
            let name = if self.check_ident() { Some(self.ident()?) } else { None };
            return Ok(Describe::Keyspace(name));
        }
        if self.eat_kw("table") || self.eat_kw("columnfamily") {
            return self.qualified_name().map(Describe::Table);
        }
        if self.eat_kw("materialized") {
            self.expect_kw("view")?;
            return self.qualified_name().map(Describe::View);
        }
        self.qualified_name().map(Describe::Name)
    }

    fn advance_clock(&mut self) -> PResult<StmtKind> {
        let t = self.peek();
        if t.tok != Tok::Integer {
            self.expected.push(Expected::Thing("a number of milliseconds"));
            return Err(self.unexpected());
        }
        let millis = self
            .text(t)
            .parse::<u64>()
            .map_err(|_| self.error_here(format!("clock advance {} is out of range", describe(self.src, t))))?;
        self.advance();
        Ok(StmtKind::AdvanceClock(millis))
    }

    fn create(&mut self) -> PResult<StmtKind> {
        if self.eat_kw("keyspace") || self.eat_kw("schema") {
            let if_not_exists = self.if_not_exists()?;
            let name = self.ident()?;
            self.expect_kw("with")?;
            let options = self.properties()?;
            return Ok(StmtKind::CreateKeyspace(CreateKeyspace {
                name,
                if_not_exists,
                options,
            }));
        }
        if self.eat_kw("table") || self.eat_kw("columnfamily") {
            return self.create_table().map(StmtKind::CreateTable);
        }
        if self.eat_kw("materialized") {
            self.expect_kw("view")?;
            return self.create_view().map(StmtKind::CreateView);
        }
        if self.eat_kw("custom") {
            self.expect_kw("index")?;
            return self.create_index().map(StmtKind::CreateIndex);
        }
        if self.eat_kw("index") {
            return self.create_index().map(StmtKind::CreateIndex);
        }
        Err(self.unexpected())
    }

    fn drop(&mut self) -> PResult<StmtKind> {
        if self.eat_kw("keyspace") || self.eat_kw("schema") {
            let if_exists = self.if_exists()?;
            let name = self.ident()?;
            return Ok(StmtKind::DropKeyspace(DropKeyspace { name, if_exists }));
        }
        if self.eat_kw("table") || self.eat_kw("columnfamily") {
            let if_exists = self.if_exists()?;
            let name = self.qualified_name()?;
            return Ok(StmtKind::DropTable(DropObject { name, if_exists }));
        }
        if self.eat_kw("materialized") {
            self.expect_kw("view")?;
            let if_exists = self.if_exists()?;
            let name = self.qualified_name()?;
            return Ok(StmtKind::DropView(DropObject { name, if_exists }));
        }
        Err(self.unexpected())
    }

    fn alter(&mut self) -> PResult<StmtKind> {
        if self.eat_kw("table") || self.eat_kw("columnfamily") {
            let name = self.qualified_name()?;
            let action = self.alter_action()?;
            return Ok(StmtKind::AlterTable(AlterTable { name, action }));
        }
        if self.eat_kw("materialized") {
            self.expect_kw("view")?;
            let name = self.qualified_name()?;
            self.expect_kw("with")?;
            let with = self.table_options()?;
            return Ok(StmtKind::AlterView(AlterView { name, with }));
        }
        Err(self.unexpected())
    }

    fn alter_action(&mut self) -> PResult<AlterAction> {
        if self.eat_kw("add") {
            if self.eat(Tok::LParen, "'('") {
                let mut columns = vec![self.column_def(false)?];
                while self.eat(Tok::Comma, "','") {
                    columns.push(self.column_def(false)?);
                }
                self.expect(Tok::RParen, "')'")?;
                return Ok(AlterAction::Add(columns));
            }
            return Ok(AlterAction::Add(vec![self.column_def(false)?]));
        }
        if self.eat_kw("drop") {
            let columns = if self.check(Tok::LParen, "'('") {
                self.paren_ident_list()?
            } else {
                vec![self.ident()?]
            };
            let timestamp = if self.eat_kw("using") {
                self.expect_kw("timestamp")?;
                Some(self.int_value()?)
            } else {
                None
            };
            return Ok(AlterAction::Drop { columns, timestamp });
        }
        if self.eat_kw("alter") {
            let column = self.ident()?;
            self.expect_kw("type")?;
            let ty = self.cql_type()?;
            return Ok(AlterAction::AlterType { column, ty });
        }
        if self.eat_kw("rename") {
            let mut pairs = Vec::new();
            loop {
                let from = self.ident()?;
                self.expect_kw("to")?;
                let to = self.ident()?;
                pairs.push((from, to));
                if !self.eat_kw("and") {
                    break;
                }
            }
            return Ok(AlterAction::Rename(pairs));
        }
        if self.eat_kw("with") {
            return self.table_options().map(AlterAction::With);
        }
        Err(self.unexpected())
    }

    fn create_table(&mut self) -> PResult<CreateTable> {
        let if_not_exists = self.if_not_exists()?;
        let name = self.qualified_name()?;
        self.expect(Tok::LParen, "'('")?;
        let mut columns = Vec::new();
        let mut key_clauses = Vec::new();
        loop {
            if self.eat_kw("primary") {
                self.expect_kw("key")?;
                key_clauses.push(self.key_definition()?);
            } else {
                columns.push(self.column_def(true)?);
            }
            if self.eat(Tok::RParen, "')'") {
                break;
            }
            self.expect(Tok::Comma, "','")?;
            // Cassandra's grammar tolerates a trailing comma before the closing parenthesis.
            if self.eat(Tok::RParen, "')'") {
                break;
            }
        }
        let with = if self.eat_kw("with") {
            self.table_options()?
        } else {
            TableOptions::default()
        };
        Ok(CreateTable {
            name,
            if_not_exists,
            columns,
            key_clauses,
            with,
        })
    }

    /// `name type [STATIC] [PRIMARY KEY]` (PRIMARY KEY only where `allow_key`).
    fn column_def(&mut self, allow_key: bool) -> PResult<ColumnDef> {
        let name = self.ident()?;
        let ty = self.cql_type()?;
        let is_static = self.eat_kw("static");
        let mut primary_key = false;
        if allow_key && self.eat_kw("primary") {
            self.expect_kw("key")?;
            primary_key = true;
        }
        Ok(ColumnDef {
            name,
            ty,
            is_static,
            primary_key,
        })
    }

    /// `( a, b, c )` or `( (a, b), c )`, after `PRIMARY KEY`.
    fn key_definition(&mut self) -> PResult<PrimaryKey> {
        self.expect(Tok::LParen, "'('")?;
        let partition = if self.check(Tok::LParen, "'('") {
            self.paren_ident_list()?
        } else {
            vec![self.ident()?]
        };
        let mut clustering = Vec::new();
        while self.eat(Tok::Comma, "','") {
            clustering.push(self.ident()?);
        }
        self.expect(Tok::RParen, "')'")?;
        Ok(PrimaryKey { partition, clustering })
    }

    fn cql_type(&mut self) -> PResult<CqlType> {
        self.nested(Self::cql_type_inner)
    }

    fn cql_type_inner(&mut self) -> PResult<CqlType> {
        let t = self.peek();
        let word = match &t.tok {
            Tok::Word => self.text(t).to_ascii_lowercase(),
            Tok::QuotedIdent(_) => return self.qualified_name().map(CqlType::UserDefined),
            _ => {
                self.expected.push(Expected::Thing("a type"));
                return Err(self.unexpected());
            }
        };
        let simple = match word.as_str() {
            "int" => Some(CqlType::Int),
            "bigint" => Some(CqlType::BigInt),
            "smallint" => Some(CqlType::SmallInt),
            "tinyint" => Some(CqlType::TinyInt),
            "varint" => Some(CqlType::VarInt),
            "text" => Some(CqlType::Text),
            "ascii" => Some(CqlType::Ascii),
            "varchar" => Some(CqlType::Varchar),
            "boolean" => Some(CqlType::Boolean),
            "decimal" => Some(CqlType::Decimal),
            "double" => Some(CqlType::Double),
            "float" => Some(CqlType::Float),
            "uuid" => Some(CqlType::Uuid),
            "timeuuid" => Some(CqlType::TimeUuid),
            "timestamp" => Some(CqlType::Timestamp),
            "date" => Some(CqlType::Date),
            "time" => Some(CqlType::Time),
            "blob" => Some(CqlType::Blob),
            "inet" => Some(CqlType::Inet),
            "duration" => Some(CqlType::Duration),
            "counter" => Some(CqlType::Counter),
            _ => None,
        };
        if let Some(ty) = simple {
            self.advance();
            return Ok(ty);
        }
        let generic = matches!(word.as_str(), "list" | "set" | "map" | "frozen" | "tuple");
        if !generic || self.peek_at(1).tok != Tok::Lt {
            if is_reserved_keyword(&word) {
                self.expected.push(Expected::Thing("a type"));
                return Err(self.unexpected());
            }
            return self.qualified_name().map(CqlType::UserDefined);
        }
        self.advance();
        self.expect(Tok::Lt, "'<'")?;
        let ty = match word.as_str() {
            "list" => CqlType::List(Box::new(self.cql_type()?)),
            "set" => CqlType::Set(Box::new(self.cql_type()?)),
            "frozen" => CqlType::Frozen(Box::new(self.cql_type()?)),
            "map" => {
                let key = self.cql_type()?;
                self.expect(Tok::Comma, "','")?;
                let value = self.cql_type()?;
                CqlType::Map(Box::new(key), Box::new(value))
            }
            _ => {
                let mut items = vec![self.cql_type()?];
                while self.eat(Tok::Comma, "','") {
                    items.push(self.cql_type()?);
                }
                CqlType::Tuple(items)
            }
        };
        self.expect(Tok::Gt, "'>'")?;
        Ok(ty)
    }

    /// `name = value [AND name = value ...]` (keyspace options).
    fn properties(&mut self) -> PResult<Vec<OptionSetting>> {
        let mut out = vec![self.property()?];
        while self.eat_kw("and") {
            out.push(self.property()?);
        }
        Ok(out)
    }

    fn property(&mut self) -> PResult<OptionSetting> {
        let name = self.ident()?;
        self.expect(Tok::Eq, "'='")?;
        let value = self.term()?;
        Ok(OptionSetting { name, value })
    }

    /// The options after `WITH` in CREATE TABLE / VIEW and ALTER: `CLUSTERING ORDER BY (...)`,
    /// `COMPACT STORAGE` and `name = value`, joined by AND.
    fn table_options(&mut self) -> PResult<TableOptions> {
        let mut out = TableOptions::default();
        loop {
            if self.eat_kw("compact") {
                self.expect_kw("storage")?;
                out.compact_storage = Some(out.clustering_order.len());
            } else if self.check_kw("clustering") && self.peek_at(1).tok != Tok::Eq {
                self.advance();
                self.expect_kw("order")?;
                self.expect_kw("by")?;
                self.expect(Tok::LParen, "'('")?;
                loop {
                    let column = self.ident()?;
                    let descending = if self.eat_kw("desc") {
                        true
                    } else {
                        self.expect_kw("asc")?;
                        false
                    };
                    out.clustering_order.push(Ordering { column, descending });
                    if !self.eat(Tok::Comma, "','") {
                        break;
                    }
                }
                self.expect(Tok::RParen, "')'")?;
            } else {
                out.options.push(self.property()?);
            }
            if !self.eat_kw("and") {
                return Ok(out);
            }
        }
    }

    fn create_view(&mut self) -> PResult<CreateView> {
        let if_not_exists = self.if_not_exists()?;
        let name = self.qualified_name()?;
        self.expect_kw("as")?;
        self.expect_kw("select")?;
        let selection = self.selection()?;
        self.expect_kw("from")?;
        let base = self.qualified_name()?;
        let (where_clause, where_text) = if self.eat_kw("where") {
            let start = self.at;
            let relations = self.relations()?;
            (relations, self.text_since(start))
        } else {
            (Vec::new(), String::new())
        };
        self.expect_kw("primary")?;
        self.expect_kw("key")?;
        let primary_key = self.key_definition()?;
        let with = if self.eat_kw("with") {
            self.table_options()?
        } else {
            TableOptions::default()
        };
        Ok(CreateView {
            name,
            if_not_exists,
            selection,
            base,
            where_clause,
            where_text,
            primary_key,
            with,
        })
    }

    fn create_index(&mut self) -> PResult<CreateIndex> {
        let if_not_exists = self.if_not_exists()?;
        let name = if self.check_kw("on") { None } else { Some(self.ident()?) };
        self.expect_kw("on")?;
        let table = self.qualified_name()?;
        self.expect(Tok::LParen, "'('")?;
        let mut columns = Vec::new();
        if !self.check(Tok::RParen, "')'") {
            loop {
                let wrapped = ["keys", "values", "entries", "full"]
                    .iter()
                    .any(|k| is_word(self.peek(), self.src, k))
                    && self.peek_at(1).tok == Tok::LParen;
                if wrapped {
                    self.advance();
                    self.advance();
                    columns.push(self.ident()?);
                    self.expect(Tok::RParen, "')'")?;
                } else {
                    columns.push(self.ident()?);
                }
                if !self.eat(Tok::Comma, "','") {
                    break;
                }
            }
        }
        self.expect(Tok::RParen, "')'")?;
        if self.eat_kw("using") {
            self.string_literal()?;
            if self.eat_kw("with") {
                self.properties()?;
            }
        }
        Ok(CreateIndex {
            name,
            if_not_exists,
            table,
            columns,
        })
    }

    fn string_literal(&mut self) -> PResult<String> {
        if let Tok::Str(s) = &self.peek().tok {
            let s = s.clone();
            self.advance();
            return Ok(s);
        }
        self.expected.push(Expected::Thing("a string"));
        Err(self.unexpected())
    }

    // ---- DML ----------------------------------------------------------------------------------

    fn insert(&mut self) -> PResult<Insert> {
        self.expect_kw("into")?;
        let table = self.qualified_name()?;
        let columns = self.paren_ident_list()?;
        self.expect_kw("values")?;
        self.expect(Tok::LParen, "'('")?;
        let mut values = vec![self.term()?];
        while self.eat(Tok::Comma, "','") {
            values.push(self.term()?);
        }
        self.expect(Tok::RParen, "')'")?;
        let if_not_exists = self.if_not_exists()?;
        let using = self.using(true)?;
        Ok(Insert {
            table,
            columns,
            values,
            if_not_exists,
            using,
        })
    }

    /// `[USING TIMESTAMP n | TTL n [AND ...]]`; `allow_ttl` is false for DELETE, whose grammar
    /// admits only TIMESTAMP.
    fn using(&mut self, allow_ttl: bool) -> PResult<Using> {
        let mut using = Using::default();
        if !self.eat_kw("using") {
            return Ok(using);
        }
        loop {
            if self.eat_kw("timestamp") {
                using.timestamp = Some(self.int_value()?);
            } else if allow_ttl && self.eat_kw("ttl") {
                using.ttl = Some(self.int_value()?);
            } else {
                return Err(self.unexpected());
            }
            if !allow_ttl || !self.eat_kw("and") {
                return Ok(using);
            }
        }
    }

    /// An integer literal (optionally negative) or a bind marker: USING values and LIMIT.
    fn int_value(&mut self) -> PResult<Term> {
        let t = self.peek();
        match t.tok {
            Tok::Integer => {
                let text = self.text(t).to_string();
                self.advance();
                Ok(Term::Integer(text))
            }
            Tok::Minus if self.peek_at(1).tok == Tok::Integer && self.peek_at(1).start == t.end => {
                self.advance();
                let digits_tok = self.advance();
                let digits = self.text(digits_tok);
                Ok(Term::Integer(format!("-{digits}")))
            }
            Tok::Question => {
                self.advance();
                Ok(Term::Bind(None))
            }
            Tok::Colon if self.peek_at(1).tok == Tok::Word => {
                self.advance();
                Ok(Term::Bind(Some(self.ident()?)))
            }
            _ => {
                self.expected.push(Expected::Thing("an integer"));
                Err(self.unexpected())
            }
        }
    }

    fn update(&mut self) -> PResult<Update> {
        let table = self.qualified_name()?;
        let using = self.using(true)?;
        self.expect_kw("set")?;
        let mut assignments = vec![self.assignment()?];
        while self.eat(Tok::Comma, "','") {
            assignments.push(self.assignment()?);
        }
        self.expect_kw("where")?;
        let where_clause = self.relations()?;
        let condition = self.condition()?;
        Ok(Update {
            table,
            using,
            assignments,
            where_clause,
            condition,
        })
    }

    fn assignment(&mut self) -> PResult<Assignment> {
        let column = self.ident()?;
        if self.eat(Tok::LBracket, "'['") {
            let key = self.term()?;
            self.expect(Tok::RBracket, "']'")?;
            self.expect(Tok::Eq, "'='")?;
            let value = self.term()?;
            return Ok(Assignment::SetElement { column, key, value });
        }
        if self.eat(Tok::PlusEq, "'+='") {
            return Ok(Assignment::Add {
                column,
                value: self.term()?,
            });
        }
        if self.eat(Tok::MinusEq, "'-='") {
            return Ok(Assignment::Subtract {
                column,
                value: self.term()?,
            });
        }
        self.expect(Tok::Eq, "'='")?;
        // `c = c + t` / `c = c - t`: a column name followed by an operator. (`c = c -1` lexes as
        // c, -, 1 here, so it is the subtraction too, as Cassandra's grammar makes it.)
        let rhs_is_column = matches!(self.peek().tok, Tok::Word | Tok::QuotedIdent(_))
            && matches!(self.peek_at(1).tok, Tok::Plus | Tok::Minus)
            && !is_word(self.peek(), self.src, "nan")
            && !is_word(self.peek(), self.src, "infinity");
        if rhs_is_column {
            let other_pos = self.peek().pos;
            let other = self.ident()?;
            let plus = self.advance().tok == Tok::Plus;
            let value = self.term()?;
            if other != column {
                let op = if plus { '+' } else { '-' };
                return Err(ParseError {
                    pos: other_pos,
                    message: format!("Only expressions of the form X = X {op} <value> are supported."),
                });
            }
            return Ok(if plus {
                Assignment::Add { column, value }
            } else {
                Assignment::Subtract { column, value }
            });
        }
        let value = self.term()?;
        if self.eat(Tok::Plus, "'+'") {
            let other_pos = self.peek().pos;
            let other = self.ident()?;
            if other != column {
                return Err(ParseError {
                    pos: other_pos,
                    message: "Only expressions of the form X = <value> + X are supported.".into(),
                });
            }
            return Ok(Assignment::Prepend { column, value });
        }
        Ok(Assignment::Set { column, value })
    }

    /// `IF EXISTS`, `IF NOT EXISTS` (INSERT only, handled there) or `IF col op term AND ...`.
    fn condition(&mut self) -> PResult<Option<Condition>> {
        if !self.eat_kw("if") {
            return Ok(None);
        }
        if self.eat_kw("exists") {
            return Ok(Some(Condition::Exists));
        }
        let mut relations = vec![self.column_condition()?];
        while self.eat_kw("and") {
            relations.push(self.column_condition()?);
        }
        Ok(Some(Condition::Columns(relations)))
    }

    fn column_condition(&mut self) -> PResult<Relation> {
        let column = self.ident()?;
        if self.eat_kw("in") {
            let values = self.in_values()?;
            return Ok(Relation::In { column, values });
        }
        let op = self.comparison()?;
        let value = self.term()?;
        Ok(Relation::Compare { column, op, value })
    }

    fn delete(&mut self) -> PResult<Delete> {
        let mut targets = Vec::new();
        if !self.check_kw("from") {
            loop {
                let column = self.ident()?;
                let element = if self.eat(Tok::LBracket, "'['") {
                    let key = self.term()?;
                    self.expect(Tok::RBracket, "']'")?;
                    Some(key)
                } else {
                    None
                };
                targets.push(DeleteTarget { column, element });
                if !self.eat(Tok::Comma, "','") {
                    break;
                }
            }
        }
        self.expect_kw("from")?;
        let table = self.qualified_name()?;
        let using = self.using(false)?;
        self.expect_kw("where")?;
        let where_clause = self.relations()?;
        let condition = self.condition()?;
        Ok(Delete {
            targets,
            table,
            using,
            where_clause,
            condition,
        })
    }

    fn batch(&mut self) -> PResult<Batch> {
        let kind = if self.eat_kw("unlogged") {
            BatchKind::Unlogged
        } else if self.eat_kw("counter") {
            BatchKind::Counter
        } else {
            BatchKind::Logged
        };
        self.expect_kw("batch")?;
        let using = self.using(true)?;
        let mut statements = Vec::new();
        loop {
            if self.eat_kw("apply") {
                self.expect_kw("batch")?;
                return Ok(Batch {
                    kind,
                    using,
                    statements,
                });
            }
            let start = self.at;
            let pos = self.peek().pos;
            let kind = if self.eat_kw("insert") {
                StmtKind::Insert(self.insert()?)
            } else if self.eat_kw("update") {
                StmtKind::Update(self.update()?)
            } else if self.eat_kw("delete") {
                StmtKind::Delete(self.delete()?)
            } else {
                return Err(self.unexpected());
            };
            statements.push(Stmt {
                kind,
                pos,
                text: self.text_since(start),
            });
            // Cassandra makes the `;` between batch statements optional.
            self.eat(Tok::Semicolon, "';'");
        }
    }

    fn select(&mut self) -> PResult<Select> {
        // `DISTINCT` is an unreserved keyword, so `SELECT distinct FROM t` selects a column.
        let distinct = is_word(self.peek(), self.src, "distinct")
            && !matches!(self.peek_at(1).tok, Tok::Comma | Tok::LParen)
            && !is_word(self.peek_at(1), self.src, "from")
            && !is_word(self.peek_at(1), self.src, "as");
        if distinct {
            self.advance();
        }
        let selection = self.selection()?;
        self.expect_kw("from")?;
        let from = self.qualified_name()?;
        let where_clause = if self.eat_kw("where") {
            self.relations()?
        } else {
            Vec::new()
        };
        let mut order_by = Vec::new();
        if self.eat_kw("order") {
            self.expect_kw("by")?;
            loop {
                let column = self.ident()?;
                let descending = if self.eat_kw("desc") {
                    true
                } else {
                    self.eat_kw("asc");
                    false
                };
                order_by.push(Ordering { column, descending });
                if !self.eat(Tok::Comma, "','") {
                    break;
                }
            }
        }
        let per_partition_limit = if self.eat_kw("per") {
            self.expect_kw("partition")?;
            self.expect_kw("limit")?;
            Some(self.int_value()?)
        } else {
            None
        };
        let limit = if self.eat_kw("limit") {
            Some(self.int_value()?)
        } else {
            None
        };
        let allow_filtering = if self.eat_kw("allow") {
            self.expect_kw("filtering")?;
            true
        } else {
            false
        };
        Ok(Select {
            distinct,
            selection,
            from,
            where_clause,
            order_by,
            per_partition_limit,
            limit,
            allow_filtering,
        })
    }

    fn selection(&mut self) -> PResult<Selection> {
        if self.eat(Tok::Star, "'*'") {
            return Ok(Selection::All);
        }
        let mut selectors = Vec::new();
        loop {
            let expr = self.selector_expr()?;
            let alias = if self.eat_kw("as") { Some(self.ident()?) } else { None };
            selectors.push(Selector { expr, alias });
            if !self.eat(Tok::Comma, "','") {
                return Ok(Selection::Selectors(selectors));
            }
        }
    }

    fn selector_expr(&mut self) -> PResult<SelectorExpr> {
        self.nested(Self::selector_expr_inner)
    }

    fn selector_expr_inner(&mut self) -> PResult<SelectorExpr> {
        let call = self.peek_at(1).tok == Tok::LParen && self.peek().tok == Tok::Word;
        if call && is_word(self.peek(), self.src, "writetime") {
            self.advance();
            self.advance();
            let column = self.ident()?;
            self.expect(Tok::RParen, "')'")?;
            return Ok(SelectorExpr::WriteTime(column));
        }
        if call && is_word(self.peek(), self.src, "ttl") {
            self.advance();
            self.advance();
            let column = self.ident()?;
            self.expect(Tok::RParen, "')'")?;
            return Ok(SelectorExpr::Ttl(column));
        }
        if call && is_word(self.peek(), self.src, "count") {
            let star = self.peek_at(2).tok == Tok::Star;
            let one = self.peek_at(2).tok == Tok::Integer && self.text(self.peek_at(2)) == "1";
            if (star || one) && self.peek_at(3).tok == Tok::RParen {
                for _ in 0..4 {
                    self.advance();
                }
                return Ok(SelectorExpr::CountAll);
            }
        }
        // `token` is reserved, but `token(...)` is a selector (Cassandra's `system.token`).
        let token_call = call && is_word(self.peek(), self.src, "token");
        if token_call || self.check_ident() {
            let first = if token_call {
                self.advance();
                "token".to_string()
            } else {
                self.ident()?
            };
            let dotted = self.peek().tok == Tok::Dot && self.peek_at(2).tok == Tok::LParen;
            let name = if dotted {
                self.advance();
                QualifiedName {
                    keyspace: Some(first),
                    name: self.ident()?,
                }
            } else {
                QualifiedName {
                    keyspace: None,
                    name: first,
                }
            };
            if self.eat(Tok::LParen, "'('") {
                let mut args = Vec::new();
                if !self.eat(Tok::RParen, "')'") {
                    loop {
                        args.push(self.selector_expr()?);
                        if !self.eat(Tok::Comma, "','") {
                            break;
                        }
                    }
                    self.expect(Tok::RParen, "')'")?;
                }
                return Ok(SelectorExpr::Function { name, args });
            }
            return Ok(SelectorExpr::Column(name.name));
        }
        if self.term_starts() {
            return self.term().map(SelectorExpr::Term);
        }
        Err(self.unexpected())
    }

    // ---- relations ----------------------------------------------------------------------------

    fn relations(&mut self) -> PResult<Vec<Relation>> {
        let mut out = vec![self.relation()?];
        while self.eat_kw("and") {
            out.push(self.relation()?);
        }
        Ok(out)
    }

    fn relation(&mut self) -> PResult<Relation> {
        if self.eat_kw("token") {
            let columns = self.paren_ident_list()?;
            let op = self.comparison()?;
            let value = self.term()?;
            return Ok(Relation::Token { columns, op, value });
        }
        if self.eat(Tok::LParen, "'('") {
            let columns = self.ident_list()?;
            self.expect(Tok::RParen, "')'")?;
            if self.eat_kw("in") {
                if self.eat(Tok::Question, "'?'") {
                    return Ok(Relation::TupleIn {
                        columns,
                        values: vec![vec![Term::Bind(None)]],
                    });
                }
                self.expect(Tok::LParen, "'('")?;
                let mut values = Vec::new();
                if !self.eat(Tok::RParen, "')'") {
                    loop {
                        values.push(self.tuple_or_marker()?);
                        if !self.eat(Tok::Comma, "','") {
                            break;
                        }
                    }
                    self.expect(Tok::RParen, "')'")?;
                }
                return Ok(Relation::TupleIn { columns, values });
            }
            let op = self.comparison()?;
            let values = self.tuple_or_marker()?;
            return Ok(Relation::Tuple { columns, op, values });
        }
        let column = self.ident()?;
        if self.eat_kw("is") {
            self.expect_kw("not")?;
            self.expect_kw("null")?;
            return Ok(Relation::IsNotNull { column });
        }
        if self.eat_kw("in") {
            let values = self.in_values()?;
            return Ok(Relation::In { column, values });
        }
        if self.eat_kw("contains") {
            let op = if self.eat_kw("key") {
                Operator::ContainsKey
            } else {
                Operator::Contains
            };
            let value = self.term()?;
            return Ok(Relation::Compare { column, op, value });
        }
        let op = self.comparison()?;
        let value = self.term()?;
        Ok(Relation::Compare { column, op, value })
    }

    /// `(t1, t2, ...)` (possibly empty) or `?`.
    fn in_values(&mut self) -> PResult<Vec<Term>> {
        if self.eat(Tok::Question, "'?'") {
            return Ok(vec![Term::Bind(None)]);
        }
        self.expect(Tok::LParen, "'('")?;
        let mut values = Vec::new();
        if !self.eat(Tok::RParen, "')'") {
            loop {
                values.push(self.term()?);
                if !self.eat(Tok::Comma, "','") {
                    break;
                }
            }
            self.expect(Tok::RParen, "')'")?;
        }
        Ok(values)
    }

    /// `(t1, t2)` or a bind marker standing for the whole tuple.
    fn tuple_or_marker(&mut self) -> PResult<Vec<Term>> {
        if self.eat(Tok::Question, "'?'") {
            return Ok(vec![Term::Bind(None)]);
        }
        self.expect(Tok::LParen, "'('")?;
        let mut values = vec![self.term()?];
        while self.eat(Tok::Comma, "','") {
            values.push(self.term()?);
        }
        self.expect(Tok::RParen, "')'")?;
        Ok(values)
    }

    fn comparison(&mut self) -> PResult<Operator> {
        let op = match self.peek().tok {
            Tok::Eq => Operator::Eq,
            Tok::Ne => Operator::Ne,
            Tok::Lt => Operator::Lt,
            Tok::Le => Operator::Le,
            Tok::Gt => Operator::Gt,
            Tok::Ge => Operator::Ge,
            _ => {
                self.expected
                    .extend(["'='", "'<'", "'<='", "'>'", "'>='", "'!='"].map(Expected::Thing));
                return Err(self.unexpected());
            }
        };
        self.advance();
        Ok(op)
    }

    // ---- terms --------------------------------------------------------------------------------

    /// Could the current token begin a term? (Used where a term is one alternative of several.)
    fn term_starts(&self) -> bool {
        let t = self.peek();
        match t.tok {
            Tok::Integer
            | Tok::Float
            | Tok::Str(_)
            | Tok::Uuid
            | Tok::Blob(_)
            | Tok::LBracket
            | Tok::LBrace
            | Tok::LParen
            | Tok::Question
            | Tok::Minus
            | Tok::Colon => true,
            Tok::Word => ["null", "true", "false", "nan", "infinity"]
                .iter()
                .any(|k| is_word(t, self.src, k)),
            _ => false,
        }
    }

    fn term(&mut self) -> PResult<Term> {
        self.nested(Self::term_inner)
    }

    fn term_inner(&mut self) -> PResult<Term> {
        let t = self.peek();
        let term = match &t.tok {
            Tok::Integer => Term::Integer(self.text(t).to_string()),
            Tok::Float => Term::Float(self.text(t).to_string()),
            Tok::Str(s) => Term::String(s.clone()),
            Tok::Uuid => Term::Uuid(self.text(t).to_ascii_lowercase()),
            Tok::Blob(hex) => Term::Blob(hex.clone()),
            Tok::Question => Term::Bind(None),
            Tok::Minus => return self.negative_number(),
            Tok::Colon if matches!(self.peek_at(1).tok, Tok::Word | Tok::QuotedIdent(_)) => {
                self.advance();
                return Ok(Term::Bind(Some(self.ident()?)));
            }
            Tok::LBracket => return self.list_literal(),
            Tok::LBrace => return self.brace_literal(),
            Tok::LParen => {
                self.advance();
                let mut items = vec![self.term()?];
                while self.eat(Tok::Comma, "','") {
                    items.push(self.term()?);
                }
                self.expect(Tok::RParen, "')'")?;
                return Ok(Term::Tuple(items));
            }
            Tok::Word => {
                let word = self.text(t);
                if word.eq_ignore_ascii_case("null") {
                    Term::Null
                } else if word.eq_ignore_ascii_case("true") {
                    Term::Boolean(true)
                } else if word.eq_ignore_ascii_case("false") {
                    Term::Boolean(false)
                } else if word.eq_ignore_ascii_case("nan") || word.eq_ignore_ascii_case("infinity") {
                    Term::Float(word.to_string())
                } else if self.peek_at(1).tok == Tok::LParen
                    || (self.peek_at(1).tok == Tok::Dot && self.peek_at(3).tok == Tok::LParen)
                {
                    return self.function_call();
                } else {
                    self.expected.push(Expected::Thing("a term"));
                    return Err(self.unexpected());
                }
            }
            Tok::QuotedIdent(_) if self.peek_at(1).tok == Tok::LParen => return self.function_call(),
            _ => {
                self.expected.push(Expected::Thing("a term"));
                return Err(self.unexpected());
            }
        };
        self.advance();
        Ok(term)
    }

    /// `-` directly followed by a number (`-1`, `-2.5`), or `-NaN` / `-Infinity`.
    fn negative_number(&mut self) -> PResult<Term> {
        let minus = self.advance();
        let t = self.peek();
        let glued = t.start == minus.end;
        let term = match t.tok {
            Tok::Integer if glued => Term::Integer(format!("-{}", self.text(t))),
            Tok::Float if glued => Term::Float(format!("-{}", self.text(t))),
            Tok::Word if is_word(t, self.src, "nan") || is_word(t, self.src, "infinity") => {
                Term::Float(format!("-{}", self.text(t)))
            }
            _ => {
                self.expected.push(Expected::Thing("a number"));
                return Err(self.unexpected());
            }
        };
        self.advance();
        Ok(term)
    }

    fn function_call(&mut self) -> PResult<Term> {
        // `token` is reserved, but `token(...)` is a valid function term.
        let first = if is_word(self.peek(), self.src, "token") {
            self.advance();
            "token".to_string()
        } else {
            self.ident()?
        };
        let name = if self.eat(Tok::Dot, "'.'") {
            QualifiedName {
                keyspace: Some(first),
                name: self.ident()?,
            }
        } else {
            QualifiedName {
                keyspace: None,
                name: first,
            }
        };
        self.expect(Tok::LParen, "'('")?;
        let mut args = Vec::new();
        if !self.eat(Tok::RParen, "')'") {
            loop {
                args.push(self.term()?);
                if !self.eat(Tok::Comma, "','") {
                    break;
                }
            }
            self.expect(Tok::RParen, "')'")?;
        }
        Ok(Term::Function { name, args })
    }

    fn list_literal(&mut self) -> PResult<Term> {
        self.advance();
        let mut items = Vec::new();
        if !self.eat(Tok::RBracket, "']'") {
            loop {
                items.push(self.term()?);
                if !self.eat(Tok::Comma, "','") {
                    break;
                }
            }
            self.expect(Tok::RBracket, "']'")?;
        }
        Ok(Term::List(items))
    }

    /// `{}` (an empty map, see [`Term::Set`]), `{k: v, ...}` or `{a, b, ...}`: which one is
    /// decided by the `:` after the first element.
    fn brace_literal(&mut self) -> PResult<Term> {
        self.advance();
        if self.eat(Tok::RBrace, "'}'") {
            return Ok(Term::Map(Vec::new()));
        }
        let first = self.term()?;
        if self.eat(Tok::Colon, "':'") {
            let mut entries = vec![(first, self.term()?)];
            while self.eat(Tok::Comma, "','") {
                let key = self.term()?;
                self.expect(Tok::Colon, "':'")?;
                entries.push((key, self.term()?));
            }
            self.expect(Tok::RBrace, "'}'")?;
            return Ok(Term::Map(entries));
        }
        let mut items = vec![first];
        while self.eat(Tok::Comma, "','") {
            items.push(self.term()?);
        }
        self.expect(Tok::RBrace, "'}'")?;
        Ok(Term::Set(items))
    }
}
