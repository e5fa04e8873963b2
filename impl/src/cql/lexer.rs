//! The CQL lexer: source text to tokens, each with its byte span and line:column.
//!
//! The lexer never fails. Malformed input (an unterminated string, a stray `%`) becomes a
//! [`Tok::Error`] (or [`Tok::Unterminated`]) token carrying the message, so statement splitting still works around it and
//! the parser reports the error, with its position, only for the statement that contains it.
//!
//! Keywords are not distinguished here: every bare word is a [`Tok::Word`] and the parser decides,
//! case-insensitively, whether it is a keyword or an identifier where it stands. Numeric signs are
//! separate [`Tok::Minus`] tokens for the same reason: whether `c -1` is "c minus one" or "c,
//! then the literal -1" depends on the grammar position (Cassandra's grammar has a special rule
//! for the former; the parser handles both).

use super::ast::Pos;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Tok {
    /// An unquoted word: keyword or identifier, as written (case preserved for messages).
    Word,
    /// A `"quoted"` identifier, unescaped.
    QuotedIdent(String),
    /// Unsigned integer literal (source text is the span).
    Integer,
    /// Unsigned float literal with `.` or an exponent.
    Float,
    /// A `'string'` or `$$string$$`, unescaped.
    Str(String),
    /// A UUID literal (span text).
    Uuid,
    /// `0x...`: the hex digits.
    Blob(String),
    LParen,
    RParen,
    LBracket,
    RBracket,
    LBrace,
    RBrace,
    Comma,
    Semicolon,
    Dot,
    Colon,
    Star,
    Plus,
    Minus,
    PlusEq,
    MinusEq,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Question,
    /// Malformed input; the message says what is wrong.
    Error(String),
    /// A string, quoted identifier or comment still open at the end of input (it runs to the
    /// end); the message says which. Apart from [`Tok::Error`] so an interactive shell knows to
    /// read another line.
    Unterminated(String),
    /// End of input (its span is empty, at the end of the source).
    Eof,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Token {
    pub tok: Tok,
    pub pos: Pos,
    /// Byte offsets into the source: `src[start..end]` is the token's text.
    pub start: usize,
    pub end: usize,
}

struct Lexer<'a> {
    src: &'a str,
    /// Byte offset of the next character.
    at: usize,
    line: u32,
    col: u32,
}

impl<'a> Lexer<'a> {
    fn peek(&self) -> Option<char> {
        self.src.get(self.at..).and_then(|s| s.chars().next())
    }

    fn peek_nth(&self, n: usize) -> Option<char> {
        self.src.get(self.at..).and_then(|s| s.chars().nth(n))
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.at += c.len_utf8();
        if c == '\n' {
            self.line = self.line.saturating_add(1);
            self.col = 1;
        } else {
            self.col = self.col.saturating_add(1);
        }
        Some(c)
    }

    fn pos(&self) -> Pos {
        Pos {
            line: self.line,
            col: self.col,
        }
    }

    fn rest(&self) -> &'a str {
        self.src.get(self.at..).unwrap_or("")
    }

    /// Skips whitespace and comments. Returns an error token for an unterminated `/* */`.
    fn skip_trivia(&mut self) -> Option<Token> {
        loop {
            let rest = self.rest();
            if rest.starts_with("--") || rest.starts_with("//") {
                while let Some(c) = self.peek() {
                    if c == '\n' {
                        break;
                    }
                    self.bump();
                }
            } else if rest.starts_with("/*") {
                let (start, pos) = (self.at, self.pos());
                self.bump();
                self.bump();
                loop {
                    if self.rest().starts_with("*/") {
                        self.bump();
                        self.bump();
                        break;
                    }
                    if self.bump().is_none() {
                        return Some(Token {
                            tok: Tok::Unterminated("unterminated comment".into()),
                            pos,
                            start,
                            end: self.at,
                        });
                    }
                }
            } else if self.peek().is_some_and(char::is_whitespace) {
                self.bump();
            } else {
                return None;
            }
        }
    }

    fn next_token(&mut self) -> Token {
        if let Some(err) = self.skip_trivia() {
            return err;
        }
        let (start, pos) = (self.at, self.pos());
        let tok = match self.peek() {
            None => Tok::Eof,
            Some(c) => self.lex_one(c),
        };
        Token {
            tok,
            pos,
            start,
            end: self.at,
        }
    }

    fn lex_one(&mut self, c: char) -> Tok {
        if let Some(tok) = self.try_uuid() {
            return tok;
        }
        if c.is_ascii_alphabetic() {
            self.eat_while(is_word_char);
            return Tok::Word;
        }
        if c.is_ascii_digit() {
            return self.number();
        }
        match c {
            '\'' => return self.quoted('\'', "string literal", Tok::Str),
            '"' => {
                return self.quoted('"', "quoted identifier", |s| {
                    if s.is_empty() {
                        Tok::Error("empty quoted identifier".into())
                    } else {
                        Tok::QuotedIdent(s)
                    }
                })
            }
            '$' if self.peek_nth(1) == Some('$') => return self.dollar_string(),
            _ => {}
        }
        self.bump();
        let next = self.peek();
        let two = |me: &mut Self, tok| {
            me.bump();
            tok
        };
        match (c, next) {
            ('(', _) => Tok::LParen,
            (')', _) => Tok::RParen,
            ('[', _) => Tok::LBracket,
            (']', _) => Tok::RBracket,
            ('{', _) => Tok::LBrace,
            ('}', _) => Tok::RBrace,
            (',', _) => Tok::Comma,
            (';', _) => Tok::Semicolon,
            ('.', _) => Tok::Dot,
            (':', _) => Tok::Colon,
            ('*', _) => Tok::Star,
            ('?', _) => Tok::Question,
            ('+', Some('=')) => two(self, Tok::PlusEq),
            ('+', _) => Tok::Plus,
            ('-', Some('=')) => two(self, Tok::MinusEq),
            ('-', _) => Tok::Minus,
            ('=', _) => Tok::Eq,
            ('!', Some('=')) => two(self, Tok::Ne),
            ('<', Some('=')) => two(self, Tok::Le),
            ('<', _) => Tok::Lt,
            ('>', Some('=')) => two(self, Tok::Ge),
            ('>', _) => Tok::Gt,
            _ => Tok::Error(format!("unexpected character {c:?}")),
        }
    }

    fn eat_while(&mut self, pred: impl Fn(char) -> bool) {
        while self.peek().is_some_and(&pred) {
            self.bump();
        }
    }

    /// A UUID is 8-4-4-4-12 hex digits not glued to a following word character. It has to be
    /// tried before words and numbers because it can start like either.
    fn try_uuid(&mut self) -> Option<Tok> {
        let candidate = self.rest().as_bytes().get(..36)?;
        let shape_ok = candidate.iter().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => *b == b'-',
            _ => b.is_ascii_hexdigit(),
        });
        let glued = self
            .rest()
            .get(36..)
            .and_then(|s| s.chars().next())
            .is_some_and(is_word_char);
        if !shape_ok || glued {
            return None;
        }
        for _ in 0..36 {
            self.bump();
        }
        Some(Tok::Uuid)
    }

    /// `123`, `1.5`, `1.`, `2e10`, `1.5E-3`, or a blob `0xCAFE`. A number glued to letters
    /// (`12abc`, a duration such as `1h` that we do not support) is one error token.
    fn number(&mut self) -> Tok {
        let start = self.at;
        if self.rest().starts_with("0x") || self.rest().starts_with("0X") {
            self.bump();
            self.bump();
            self.eat_while(|c| c.is_ascii_hexdigit());
            if self.peek().is_some_and(is_word_char) {
                return self.malformed(start);
            }
            let hex = self.src.get(start + 2..self.at).unwrap_or("").to_ascii_lowercase();
            return Tok::Blob(hex);
        }
        self.eat_while(|c| c.is_ascii_digit());
        let mut float = false;
        if self.peek() == Some('.') {
            float = true;
            self.bump();
            self.eat_while(|c| c.is_ascii_digit());
        }
        if matches!(self.peek(), Some('e' | 'E')) {
            let after = self.peek_nth(1);
            let digit_at = if matches!(after, Some('+' | '-')) { 2 } else { 1 };
            if self.peek_nth(digit_at).is_some_and(|c| c.is_ascii_digit()) {
                float = true;
                for _ in 0..digit_at {
                    self.bump();
                }
                self.eat_while(|c| c.is_ascii_digit());
            }
        }
        if self.peek().is_some_and(is_word_char) {
            return self.malformed(start);
        }
        if float {
            Tok::Float
        } else {
            Tok::Integer
        }
    }

    fn malformed(&mut self, start: usize) -> Tok {
        self.eat_while(is_word_char);
        let text = self.src.get(start..self.at).unwrap_or("");
        Tok::Error(format!("malformed number '{}'", shorten(text)))
    }

    /// A literal delimited by `quote`, where a doubled quote stands for one.
    fn quoted(&mut self, quote: char, what: &str, make: impl Fn(String) -> Tok) -> Tok {
        self.bump();
        let mut out = String::new();
        loop {
            match self.bump() {
                None => return Tok::Unterminated(format!("unterminated {what}")),
                Some(c) if c == quote => {
                    if self.peek() == Some(quote) {
                        self.bump();
                        out.push(quote);
                    } else {
                        return make(out);
                    }
                }
                Some(c) => out.push(c),
            }
        }
    }

    /// `$$...$$`: taken verbatim, no escapes (as in Cassandra).
    fn dollar_string(&mut self) -> Tok {
        self.bump();
        self.bump();
        let body_start = self.at;
        loop {
            if self.rest().starts_with("$$") {
                let body = self.src.get(body_start..self.at).unwrap_or("").to_string();
                self.bump();
                self.bump();
                return Tok::Str(body);
            }
            if self.bump().is_none() {
                return Tok::Unterminated("unterminated $$ string literal".into());
            }
        }
    }
}

pub(crate) fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Long token texts are cut in messages so an error about a 10 kB string stays readable.
pub(crate) fn shorten(text: &str) -> String {
    const MAX: usize = 40;
    if text.chars().count() <= MAX {
        text.to_string()
    } else {
        let cut: String = text.chars().take(MAX).collect();
        format!("{cut}...")
    }
}

/// Tokenizes the whole source. The last token is always [`Tok::Eof`].
pub(crate) fn tokenize(src: &str) -> Vec<Token> {
    let mut lexer = Lexer {
        src,
        at: 0,
        line: 1,
        col: 1,
    };
    let mut out = Vec::new();
    loop {
        let token = lexer.next_token();
        let eof = token.tok == Tok::Eof;
        let stuck = token.start == lexer.at && !eof;
        out.push(token);
        if eof {
            return out;
        }
        if stuck {
            // Defensive: every non-EOF token consumes input; if one ever did not, stop rather
            // than loop forever.
            let pos = lexer.pos();
            out.push(Token {
                tok: Tok::Eof,
                pos,
                start: lexer.at,
                end: lexer.at,
            });
            return out;
        }
    }
}
