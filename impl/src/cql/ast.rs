//! The syntax tree of the CQL subset `mv-impl` accepts.
//!
//! The tree is deliberately *syntactic*: it records what the statement says, not whether it makes
//! sense. Everything Cassandra rejects with an `InvalidRequest` (an alias in a view's SELECT, a
//! bind marker, two PRIMARY KEY clauses, a relation the view WHERE cannot hold, an unknown type...)
//! parses here and is rejected by the executor with Cassandra's own message. Only what Cassandra's
//! grammar itself refuses is a [`super::ParseError`].
//!
//! Conventions the executor relies on:
//! * Identifiers are plain `String`s: unquoted identifiers and keywords used as names are
//!   lowercased, `"Quoted"` ones keep their case (with `""` unescaped to `"`).
//! * Numeric literals stay source text, sign included (`"-12"`, `"1.5e3"`, `"NaN"`), because the
//!   same literal means an `int`, a `bigint`, a `decimal` or a `timestamp` depending on the column
//!   it is written to, and only the executor knows the column.
//! * String literals are already unescaped (`'it''s'` is `it's`; `$$...$$` is taken verbatim).

use std::fmt;

/// Cassandra's reserved keywords: these cannot be unquoted identifiers. (Unreserved keywords
/// such as `key`, `ttl`, `user`, `writetime`, `type` or `values` can be.)
const RESERVED_KEYWORDS: &[&str] = &[
    "add",
    "allow",
    "alter",
    "and",
    "apply",
    "asc",
    "authorize",
    "batch",
    "begin",
    "by",
    "columnfamily",
    "create",
    "default",
    "delete",
    "desc",
    "describe",
    "drop",
    "entries",
    "execute",
    "false",
    "from",
    "full",
    "grant",
    "if",
    "in",
    "index",
    "infinity",
    "insert",
    "into",
    "is",
    "keyspace",
    "limit",
    "materialized",
    "mbean",
    "mbeans",
    "modify",
    "nan",
    "norecursive",
    "not",
    "null",
    "of",
    "on",
    "or",
    "order",
    "primary",
    "rename",
    "replace",
    "revoke",
    "schema",
    "select",
    "set",
    "table",
    "to",
    "token",
    "true",
    "truncate",
    "unlogged",
    "unset",
    "update",
    "use",
    "using",
    "view",
    "where",
    "with",
];

/// Is `word` one of Cassandra's reserved keywords (case-insensitive)?
pub fn is_reserved_keyword(word: &str) -> bool {
    RESERVED_KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(word))
}

/// `name` as CQL source: bare if it reads back as the same identifier (lowercase letters, digits
/// and `_`, starting with a letter, not a reserved keyword), else double-quoted with `"` doubled.
/// This is how Cassandra prints identifiers in normalized CQL, e.g. a view's stored WHERE clause.
pub fn quote_ident(name: &str) -> String {
    let bare = name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !is_reserved_keyword(name);
    if bare {
        name.to_string()
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    }
}

/// A position in the source: 1-based line and column (columns count characters, not bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Pos {
    pub line: u32,
    pub col: u32,
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.col)
    }
}

/// One top-level statement (a whole BATCH is one), with where it starts and its source text.
///
/// `text` is the exact source slice from the first token to the last token before the
/// terminating `;` (comments and whitespace around it excluded). The front end echoes it, and a
/// view keeps the text of its WHERE clause from the same source (see [`CreateView::where_text`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stmt {
    pub kind: StmtKind,
    pub pos: Pos,
    pub text: String,
}

/// Every statement form the parser recognises.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StmtKind {
    CreateKeyspace(CreateKeyspace),
    /// `USE ks`.
    Use(String),
    /// `DROP KEYSPACE [IF EXISTS] ks`.
    DropKeyspace(DropKeyspace),
    CreateTable(CreateTable),
    AlterTable(AlterTable),
    /// `DROP TABLE [IF EXISTS] [ks.]t` (also `DROP COLUMNFAMILY`).
    DropTable(DropObject),
    /// `TRUNCATE [TABLE | COLUMNFAMILY] [ks.]t`.
    Truncate(QualifiedName),
    CreateView(CreateView),
    /// `ALTER MATERIALIZED VIEW [ks.]v WITH options`: parsed so the executor can answer it.
    AlterView(AlterView),
    /// `DROP MATERIALIZED VIEW [IF EXISTS] [ks.]v`.
    DropView(DropObject),
    /// `CREATE [CUSTOM] INDEX ...`: parsed only so that it is refused as unsupported rather than
    /// as a syntax error (Cassandra accepts the syntax).
    CreateIndex(CreateIndex),
    Insert(Insert),
    Update(Update),
    Delete(Delete),
    Batch(Batch),
    Select(Select),
    /// The shell command `ADVANCE CLOCK <milliseconds>`: moves a manual node clock forward.
    /// Not CQL; it exists so scripts can let TTLs expire deterministically.
    AdvanceClock(u64),
    /// The shell command `VIEW BUILD STATUS [[ks.]view]`: how far each view build got, in the
    /// spirit of `nodetool viewbuildstatus`. Not CQL.
    ViewBuildStatus(Option<QualifiedName>),
    /// The shell command `WAIT FOR VIEW BUILDS`: returns once every running view build is
    /// done (Cassandra's own tests wait for builds the same way). Not CQL.
    WaitForViewBuilds,
    /// `DESCRIBE ...` / `DESC ...`: CQL that recreates schema objects. cqlsh's command, which
    /// Cassandra 4 answers on the server as rows (`keyspace_name, type, name, create_statement`).
    Describe(Describe),
}

/// What a `DESCRIBE` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Describe {
    /// `DESCRIBE KEYSPACES`: the keyspace names.
    Keyspaces,
    /// `DESCRIBE TABLES`: the tables of every keyspace.
    Tables,
    /// `DESCRIBE KEYSPACE [ks]`: the keyspace and everything in it (the one in use without a name).
    Keyspace(Option<String>),
    /// `DESCRIBE [FULL] SCHEMA`: every keyspace.
    Schema,
    /// `DESCRIBE TABLE [ks.]t` (also `COLUMNFAMILY`): the table and its views.
    Table(QualifiedName),
    /// `DESCRIBE MATERIALIZED VIEW [ks.]v`.
    View(QualifiedName),
    /// `DESCRIBE name`: a keyspace, table or view, whichever the name denotes.
    Name(QualifiedName),
}

/// A possibly keyspace-qualified name: `t` or `ks.t`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct QualifiedName {
    pub keyspace: Option<String>,
    pub name: String,
}

impl fmt::Display for QualifiedName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.keyspace {
            Some(ks) => write!(f, "{ks}.{}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

/// `name = value` in a `WITH ... AND ...` clause. Map-valued options (`replication`,
/// `compaction`, `caching`) have a [`Term::Map`] value; the option name is lowercased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionSetting {
    pub name: String,
    pub value: Term,
}

/// `CREATE KEYSPACE [IF NOT EXISTS] ks WITH replication = {...} [AND durable_writes = ...]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateKeyspace {
    pub name: String,
    pub if_not_exists: bool,
    /// All `WITH` options in source order, `replication` among them.
    pub options: Vec<OptionSetting>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DropKeyspace {
    pub name: String,
    pub if_exists: bool,
}

/// `DROP TABLE` / `DROP MATERIALIZED VIEW`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DropObject {
    pub name: QualifiedName,
    pub if_exists: bool,
}

/// A CQL data type as written in a column definition.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CqlType {
    Int,
    BigInt,
    SmallInt,
    TinyInt,
    VarInt,
    Text,
    Ascii,
    /// `varchar` is an alias of `text` in Cassandra; kept apart so messages can echo the name.
    Varchar,
    Boolean,
    Decimal,
    Double,
    Float,
    Uuid,
    TimeUuid,
    Timestamp,
    Date,
    Time,
    Blob,
    Inet,
    Duration,
    Counter,
    List(Box<CqlType>),
    Set(Box<CqlType>),
    Map(Box<CqlType>, Box<CqlType>),
    Tuple(Vec<CqlType>),
    Frozen(Box<CqlType>),
    /// Any other name: a user-defined type in Cassandra. The executor rejects it as unknown.
    UserDefined(QualifiedName),
}

impl fmt::Display for CqlType {
    /// The type as cqlsh's DESCRIBE writes it (`map<text, int>`, `frozen<list<int>>`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            CqlType::Int => "int",
            CqlType::BigInt => "bigint",
            CqlType::SmallInt => "smallint",
            CqlType::TinyInt => "tinyint",
            CqlType::VarInt => "varint",
            CqlType::Text => "text",
            CqlType::Ascii => "ascii",
            CqlType::Varchar => "varchar",
            CqlType::Boolean => "boolean",
            CqlType::Decimal => "decimal",
            CqlType::Double => "double",
            CqlType::Float => "float",
            CqlType::Uuid => "uuid",
            CqlType::TimeUuid => "timeuuid",
            CqlType::Timestamp => "timestamp",
            CqlType::Date => "date",
            CqlType::Time => "time",
            CqlType::Blob => "blob",
            CqlType::Inet => "inet",
            CqlType::Duration => "duration",
            CqlType::Counter => "counter",
            CqlType::List(t) => return write!(f, "list<{t}>"),
            CqlType::Set(t) => return write!(f, "set<{t}>"),
            CqlType::Map(k, v) => return write!(f, "map<{k}, {v}>"),
            CqlType::Frozen(t) => return write!(f, "frozen<{t}>"),
            CqlType::Tuple(ts) => {
                f.write_str("tuple<")?;
                for (i, t) in ts.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{t}")?;
                }
                return f.write_str(">");
            }
            CqlType::UserDefined(name) => return write!(f, "{name}"),
        };
        f.write_str(name)
    }
}

/// One column in `CREATE TABLE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnDef {
    pub name: String,
    pub ty: CqlType,
    /// `static`: one value per partition.
    pub is_static: bool,
    /// The column was declared `name type PRIMARY KEY` (the single-column key form).
    pub primary_key: bool,
}

/// A primary key: partition key columns, then clustering columns. `PRIMARY KEY (a, b, c)` has
/// partition `[a]`; `PRIMARY KEY ((a, b), c)` has partition `[a, b]`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PrimaryKey {
    pub partition: Vec<String>,
    pub clustering: Vec<String>,
}

/// One entry of `CLUSTERING ORDER BY (c DESC, ...)` or a SELECT's `ORDER BY`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ordering {
    pub column: String,
    pub descending: bool,
}

/// The `WITH ... AND ...` clause of CREATE TABLE / CREATE MATERIALIZED VIEW / ALTER.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TableOptions {
    /// `CLUSTERING ORDER BY (...)`, empty if absent. If it appears twice, the entries are
    /// concatenated (the executor validates them against the key).
    pub clustering_order: Vec<Ordering>,
    /// `COMPACT STORAGE` was given: `Some(n)`, `n` being the number of `clustering_order`
    /// entries written before it. Cassandra's grammar rejects both COMPACT STORAGE and a
    /// column ordered twice as it reads them, so the executor needs the source order to report
    /// the one that comes first.
    pub compact_storage: Option<usize>,
    /// Every other `name = value` option, in source order. Accepted and ignored by the engine.
    pub options: Vec<OptionSetting>,
}

/// `CREATE TABLE [IF NOT EXISTS] [ks.]t (columns, [PRIMARY KEY (...)]) [WITH ...]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateTable {
    pub name: QualifiedName,
    pub if_not_exists: bool,
    pub columns: Vec<ColumnDef>,
    /// The `PRIMARY KEY (...)` clauses among the column definitions, in source order. The
    /// grammar allows several (and an inline `PRIMARY KEY` besides); choosing exactly one is a
    /// semantic check, see [`CreateTable::primary_key`].
    pub key_clauses: Vec<PrimaryKey>,
    pub with: TableOptions,
}

/// Why a CREATE TABLE has no single primary key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyDeclarationError {
    /// Neither an inline `PRIMARY KEY` nor a `PRIMARY KEY (...)` clause.
    Missing,
    /// More than one of them.
    Multiple,
}

impl CreateTable {
    /// The table's primary key, from either the inline form or the clause; an error if there
    /// is not exactly one declaration.
    pub fn primary_key(&self) -> Result<PrimaryKey, KeyDeclarationError> {
        let inline: Vec<&ColumnDef> = self.columns.iter().filter(|c| c.primary_key).collect();
        match (inline.as_slice(), self.key_clauses.as_slice()) {
            ([col], []) => Ok(PrimaryKey {
                partition: vec![col.name.clone()],
                clustering: Vec::new(),
            }),
            ([], [key]) => Ok(key.clone()),
            ([], []) => Err(KeyDeclarationError::Missing),
            _ => Err(KeyDeclarationError::Multiple),
        }
    }
}

/// `ALTER TABLE [ks.]t <action>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlterTable {
    pub name: QualifiedName,
    pub action: AlterAction,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlterAction {
    /// `ADD c type [static]` or `ADD (c type, d type)`. `primary_key` is always false here.
    Add(Vec<ColumnDef>),
    /// `DROP c` or `DROP (c, d)`, with an optional `USING TIMESTAMP n`.
    Drop {
        columns: Vec<String>,
        timestamp: Option<Term>,
    },
    /// `ALTER c TYPE t`.
    AlterType { column: String, ty: CqlType },
    /// `RENAME a TO b [AND c TO d ...]`.
    Rename(Vec<(String, String)>),
    /// `WITH options`.
    With(TableOptions),
}

/// `CREATE MATERIALIZED VIEW [IF NOT EXISTS] [ks.]v AS SELECT ... FROM [ks.]t WHERE ...
/// PRIMARY KEY (...) [WITH ...]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateView {
    pub name: QualifiedName,
    pub if_not_exists: bool,
    /// What the view selects. Aliases and function selectors are kept so the executor can
    /// refuse them with Cassandra's messages.
    pub selection: Selection,
    pub base: QualifiedName,
    /// The WHERE relations, ANDed. Empty if the view has no WHERE clause (Cassandra's grammar
    /// requires one, but then rejects its absence semantically; we keep that split).
    pub where_clause: Vec<Relation>,
    /// The source text of the WHERE relations (after `WHERE`, before `PRIMARY KEY`), which the
    /// view's schema stores and displays, as Cassandra's `system_schema.views.where_clause`.
    pub where_text: String,
    pub primary_key: PrimaryKey,
    pub with: TableOptions,
}

/// `ALTER MATERIALIZED VIEW [ks.]v WITH ...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlterView {
    pub name: QualifiedName,
    pub with: TableOptions,
}

/// `CREATE [CUSTOM] INDEX [IF NOT EXISTS] [name] ON [ks.]t (targets) [USING 'class'] [WITH ...]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateIndex {
    pub name: Option<String>,
    pub if_not_exists: bool,
    pub table: QualifiedName,
    /// Indexed columns; `keys(c)`, `values(c)`, `entries(c)` and `full(c)` are kept as the
    /// column name (the executor refuses every index anyway).
    pub columns: Vec<String>,
}

/// A comparison operator in a WHERE relation or an IF condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operator {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    /// `CONTAINS`
    Contains,
    /// `CONTAINS KEY`
    ContainsKey,
}

impl fmt::Display for Operator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Operator::Eq => "=",
            Operator::Ne => "!=",
            Operator::Lt => "<",
            Operator::Le => "<=",
            Operator::Gt => ">",
            Operator::Ge => ">=",
            Operator::Contains => "CONTAINS",
            Operator::ContainsKey => "CONTAINS KEY",
        })
    }
}

fn write_names(f: &mut fmt::Formatter<'_>, names: &[String]) -> fmt::Result {
    for (i, n) in names.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        f.write_str(&quote_ident(n))?;
    }
    Ok(())
}

fn write_terms(f: &mut fmt::Formatter<'_>, items: &[Term]) -> fmt::Result {
    for (i, t) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write!(f, "{t}")?;
    }
    Ok(())
}

impl fmt::Display for Relation {
    /// Normalized CQL (`"Key" IS NOT NULL`, `(a, b) > (1, 2)`); a WHERE clause is the relations
    /// joined with ` AND `.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Relation::Compare { column, op, value } => write!(f, "{} {op} {value}", quote_ident(column)),
            Relation::In { column, values } => {
                write!(f, "{} IN (", quote_ident(column))?;
                write_terms(f, values)?;
                f.write_str(")")
            }
            Relation::IsNotNull { column } => write!(f, "{} IS NOT NULL", quote_ident(column)),
            Relation::Tuple { columns, op, values } => {
                f.write_str("(")?;
                write_names(f, columns)?;
                write!(f, ") {op} (")?;
                write_terms(f, values)?;
                f.write_str(")")
            }
            Relation::TupleIn { columns, values } => {
                f.write_str("(")?;
                write_names(f, columns)?;
                f.write_str(") IN (")?;
                for (i, tuple) in values.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    f.write_str("(")?;
                    write_terms(f, tuple)?;
                    f.write_str(")")?;
                }
                f.write_str(")")
            }
            Relation::Token { columns, op, value } => {
                f.write_str("token(")?;
                write_names(f, columns)?;
                write!(f, ") {op} {value}")
            }
        }
    }
}

/// One relation of a WHERE clause (relations are ANDed) or of an IF condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Relation {
    /// `col op term`, including `col CONTAINS term` and `col CONTAINS KEY term`.
    Compare { column: String, op: Operator, value: Term },
    /// `col IN (t1, t2, ...)`. `col IN ?` is kept as a single [`Term::Bind`] element.
    In { column: String, values: Vec<Term> },
    /// `col IS NOT NULL` (only meaningful in a view's WHERE).
    IsNotNull { column: String },
    /// `(c1, c2) op (t1, t2)`: a multi-column slice or equality on clustering columns.
    /// `(c1, c2) op ?` keeps a single [`Term::Bind`] in `values`.
    Tuple {
        columns: Vec<String>,
        op: Operator,
        values: Vec<Term>,
    },
    /// `(c1, c2) IN ((t1, t2), (t3, t4))`.
    TupleIn {
        columns: Vec<String>,
        values: Vec<Vec<Term>>,
    },
    /// `token(c1, c2) op term`: kept so that the executor (and a view's WHERE) can refuse it.
    Token {
        columns: Vec<String>,
        op: Operator,
        value: Term,
    },
}

/// A value as written in a statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Term {
    /// `null`
    Null,
    /// An integer literal's source text, with its sign: `42`, `-7`.
    Integer(String),
    /// A floating-point literal's source text, with its sign: `1.5`, `-2e10`, `NaN`, `-Infinity`.
    Float(String),
    /// A string literal, unescaped (`'it''s'` or `$$it's$$` both give `it's`).
    String(String),
    /// `true` / `false`.
    Boolean(bool),
    /// A UUID literal (`123e4567-e89b-12d3-a456-426614174000`), lowercased.
    Uuid(String),
    /// A blob literal's hex digits after `0x`, lowercased (`0xCAFE` gives `cafe`).
    Blob(String),
    /// `[a, b]`
    List(Vec<Term>),
    /// `{a, b}`. An empty `{}` parses as an empty [`Term::Map`]; the executor reads it as an
    /// empty set when the column is a set, as Cassandra does.
    Set(Vec<Term>),
    /// `{k: v, ...}`
    Map(Vec<(Term, Term)>),
    /// `(a, b)`: a tuple literal.
    Tuple(Vec<Term>),
    /// A function call such as `now()` or `token(1)`.
    Function { name: QualifiedName, args: Vec<Term> },
    /// A bind marker, `?` or `:name`. Kept so the executor can refuse it with Cassandra's message
    /// (there are no prepared statements here).
    Bind(Option<String>),
}

impl fmt::Display for Term {
    /// CQL source syntax for the term (strings re-quoted, numbers as written).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Term::Null => f.write_str("null"),
            Term::Integer(s) | Term::Float(s) | Term::Uuid(s) => f.write_str(s),
            Term::String(s) => write!(f, "'{}'", s.replace('\'', "''")),
            Term::Boolean(b) => write!(f, "{b}"),
            Term::Blob(hex) => write!(f, "0x{hex}"),
            Term::List(items) => {
                f.write_str("[")?;
                write_terms(f, items)?;
                f.write_str("]")
            }
            Term::Set(items) => {
                f.write_str("{")?;
                write_terms(f, items)?;
                f.write_str("}")
            }
            Term::Tuple(items) => {
                f.write_str("(")?;
                write_terms(f, items)?;
                f.write_str(")")
            }
            Term::Map(entries) => {
                f.write_str("{")?;
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{k}: {v}")?;
                }
                f.write_str("}")
            }
            Term::Function { name, args } => {
                write!(f, "{name}(")?;
                write_terms(f, args)?;
                f.write_str(")")
            }
            Term::Bind(None) => f.write_str("?"),
            Term::Bind(Some(name)) => write!(f, ":{name}"),
        }
    }
}

/// `USING TIMESTAMP n [AND TTL n]` (either order, either alone). The values are
/// [`Term::Integer`] or [`Term::Bind`]; range checks are the executor's.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Using {
    pub timestamp: Option<Term>,
    pub ttl: Option<Term>,
}

/// The IF clause of a conditional (lightweight-transaction) write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    /// `IF EXISTS`
    Exists,
    /// `IF NOT EXISTS` (INSERT only)
    NotExists,
    /// `IF col op term AND ...`
    Columns(Vec<Relation>),
}

/// `INSERT INTO [ks.]t (cols) VALUES (terms) [IF NOT EXISTS] [USING ...]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Insert {
    pub table: QualifiedName,
    pub columns: Vec<String>,
    /// As many as `columns` is a semantic check (Cassandra: "Unmatched column names/values").
    pub values: Vec<Term>,
    pub if_not_exists: bool,
    pub using: Using,
}

/// One `SET` assignment of an UPDATE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Assignment {
    /// `c = term` (`term` may be `null`).
    Set { column: String, value: Term },
    /// `c = c + term` or `c += term`: counter increment, list append, set union, map merge.
    Add { column: String, value: Term },
    /// `c = term + c`: list prepend (the executor refuses it for other types).
    Prepend { column: String, value: Term },
    /// `c = c - term` or `c -= term`: counter decrement, list/set element removal, map key
    /// removal.
    Subtract { column: String, value: Term },
    /// `c[key] = term`: list element by index or map entry.
    SetElement { column: String, key: Term, value: Term },
}

/// `UPDATE [ks.]t [USING ...] SET assignments WHERE relations [IF ...]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Update {
    pub table: QualifiedName,
    pub using: Using,
    pub assignments: Vec<Assignment>,
    pub where_clause: Vec<Relation>,
    pub condition: Option<Condition>,
}

/// One target of `DELETE c, m['k'] FROM ...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteTarget {
    pub column: String,
    /// `c[key]`: a list index or a map key.
    pub element: Option<Term>,
}

/// `DELETE [targets] FROM [ks.]t [USING TIMESTAMP n] WHERE relations [IF ...]`.
/// With no targets it deletes rows (a row, a partition, a clustering prefix or a slice,
/// depending on the WHERE clause).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delete {
    pub targets: Vec<DeleteTarget>,
    pub table: QualifiedName,
    /// Cassandra's grammar allows only TIMESTAMP here; a TTL is a syntax error.
    pub using: Using,
    pub where_clause: Vec<Relation>,
    pub condition: Option<Condition>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchKind {
    /// `BEGIN BATCH`
    Logged,
    /// `BEGIN UNLOGGED BATCH`
    Unlogged,
    /// `BEGIN COUNTER BATCH`
    Counter,
}

/// `BEGIN [UNLOGGED | COUNTER] BATCH [USING TIMESTAMP n] stmt; ... APPLY BATCH`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    pub kind: BatchKind,
    pub using: Using,
    /// Each an INSERT, UPDATE or DELETE (the grammar admits nothing else), with its own text.
    pub statements: Vec<Stmt>,
}

/// What a SELECT (or a view's AS SELECT) returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// `*`
    All,
    Selectors(Vec<Selector>),
}

/// One selector with its optional `AS alias`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selector {
    pub expr: SelectorExpr,
    pub alias: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SelectorExpr {
    Column(String),
    /// `WRITETIME(col)`
    WriteTime(String),
    /// `TTL(col)`
    Ttl(String),
    /// `COUNT(*)` (also `COUNT(1)`).
    CountAll,
    /// Any other function call, e.g. `toJson(c)` or `max(c)`.
    Function {
        name: QualifiedName,
        args: Vec<SelectorExpr>,
    },
    /// A literal used as a selector (`SELECT 1 FROM t`, Cassandra 4).
    Term(Term),
}

/// `SELECT [DISTINCT] selection FROM [ks.]t [WHERE ...] [ORDER BY ...] [PER PARTITION LIMIT n]
/// [LIMIT n] [ALLOW FILTERING]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Select {
    pub distinct: bool,
    pub selection: Selection,
    pub from: QualifiedName,
    pub where_clause: Vec<Relation>,
    pub order_by: Vec<Ordering>,
    pub per_partition_limit: Option<Term>,
    /// [`Term::Integer`] or [`Term::Bind`]; positivity is the executor's check.
    pub limit: Option<Term>,
    pub allow_filtering: bool,
}
