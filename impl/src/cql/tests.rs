//! Parser tests: every statement form with an assertion on its tree, error positions and
//! messages, script splitting and recovery, the seeds' statements, and property tests that no
//! input panics and every error points inside the input.

use super::ast::*;
use super::*;

fn parse(src: &str) -> StmtKind {
    match parse_statement(src) {
        Ok(stmt) => stmt.kind,
        Err(e) => panic!("{src:?} failed to parse: {e}"),
    }
}

fn error(src: &str) -> String {
    match parse_statement(src) {
        Ok(stmt) => panic!("{src:?} parsed, expected an error: {stmt:?}"),
        Err(e) => e.to_string(),
    }
}

fn name(n: &str) -> QualifiedName {
    QualifiedName {
        keyspace: None,
        name: n.into(),
    }
}

fn ks_name(ks: &str, n: &str) -> QualifiedName {
    QualifiedName {
        keyspace: Some(ks.into()),
        name: n.into(),
    }
}

fn int(s: &str) -> Term {
    Term::Integer(s.into())
}

fn string(s: &str) -> Term {
    Term::String(s.into())
}

fn eq(column: &str, value: Term) -> Relation {
    Relation::Compare {
        column: column.into(),
        op: Operator::Eq,
        value,
    }
}

fn not_null(column: &str) -> Relation {
    Relation::IsNotNull { column: column.into() }
}

fn col(name: &str, ty: CqlType) -> ColumnDef {
    ColumnDef {
        name: name.into(),
        ty,
        is_static: false,
        primary_key: false,
    }
}

fn strs(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}

fn select(src: &str) -> Select {
    match parse(src) {
        StmtKind::Select(s) => s,
        other => panic!("not a SELECT: {other:?}"),
    }
}

fn create_table(src: &str) -> CreateTable {
    match parse(src) {
        StmtKind::CreateTable(t) => t,
        other => panic!("not a CREATE TABLE: {other:?}"),
    }
}

fn create_view(src: &str) -> CreateView {
    match parse(src) {
        StmtKind::CreateView(v) => v,
        other => panic!("not a CREATE MATERIALIZED VIEW: {other:?}"),
    }
}

fn update(src: &str) -> Update {
    match parse(src) {
        StmtKind::Update(u) => u,
        other => panic!("not an UPDATE: {other:?}"),
    }
}

fn delete(src: &str) -> Delete {
    match parse(src) {
        StmtKind::Delete(d) => d,
        other => panic!("not a DELETE: {other:?}"),
    }
}

fn insert(src: &str) -> Insert {
    match parse(src) {
        StmtKind::Insert(i) => i,
        other => panic!("not an INSERT: {other:?}"),
    }
}

/// The value of `INSERT INTO t (a) VALUES (<term>)`.
fn term(src: &str) -> Term {
    let mut values = insert(&format!("INSERT INTO t (a) VALUES ({src})")).values;
    assert_eq!(values.len(), 1, "{src}");
    values.remove(0)
}

// ---- keyspaces, USE ---------------------------------------------------------------------------

#[test]
fn create_keyspace_keeps_its_options() {
    let src = "CREATE KEYSPACE IF NOT EXISTS ks WITH replication = {'class': 'SimpleStrategy', \
               'replication_factor': 1} AND durable_writes = false";
    let StmtKind::CreateKeyspace(ks) = parse(src) else {
        panic!()
    };
    assert_eq!(ks.name, "ks");
    assert!(ks.if_not_exists);
    assert_eq!(
        ks.options,
        vec![
            OptionSetting {
                name: "replication".into(),
                value: Term::Map(vec![
                    (string("class"), string("SimpleStrategy")),
                    (string("replication_factor"), int("1")),
                ]),
            },
            OptionSetting {
                name: "durable_writes".into(),
                value: Term::Boolean(false)
            },
        ]
    );
    let StmtKind::CreateKeyspace(ks) = parse("create schema K2 with replication = {}") else {
        panic!()
    };
    assert!(!ks.if_not_exists);
    assert_eq!(ks.name, "k2");
    assert!(error("CREATE KEYSPACE ks").contains("expected WITH"));
}

#[test]
fn use_and_drop_keyspace() {
    assert_eq!(parse("USE MyKs"), StmtKind::Use("myks".into()));
    assert_eq!(parse(r#"use "MyKs""#), StmtKind::Use("MyKs".into()));
    assert_eq!(
        parse("DROP KEYSPACE ks"),
        StmtKind::DropKeyspace(DropKeyspace {
            name: "ks".into(),
            if_exists: false
        })
    );
    assert_eq!(
        parse("DROP KEYSPACE IF EXISTS ks"),
        StmtKind::DropKeyspace(DropKeyspace {
            name: "ks".into(),
            if_exists: true
        })
    );
}

// ---- CREATE TABLE -----------------------------------------------------------------------------

#[test]
fn create_table_with_every_type() {
    let t = create_table(
        "CREATE TABLE IF NOT EXISTS ks.t (k int PRIMARY KEY, a bigint, b TEXT, c ascii, d varchar, e boolean, \
         f decimal, g double, h float, i uuid, j timestamp, l list<int>, s set<text>, m map<text, bigint>, \
         fr frozen<list<frozen<set<int>>>>, tu tuple<int, text>, sm smallint, ti tinyint, vi varint, tu2 timeuuid, \
         bl blob, da date, tm time, ip inet, du duration, u my_type, u2 ks.other)",
    );
    assert_eq!(t.name, ks_name("ks", "t"));
    assert!(t.if_not_exists);
    let types: Vec<String> = t.columns.iter().map(|c| format!("{} {}", c.name, c.ty)).collect();
    assert_eq!(
        types,
        vec![
            "k int",
            "a bigint",
            "b text",
            "c ascii",
            "d varchar",
            "e boolean",
            "f decimal",
            "g double",
            "h float",
            "i uuid",
            "j timestamp",
            "l list<int>",
            "s set<text>",
            "m map<text, bigint>",
            "fr frozen<list<frozen<set<int>>>>",
            "tu tuple<int, text>",
            "sm smallint",
            "ti tinyint",
            "vi varint",
            "tu2 timeuuid",
            "bl blob",
            "da date",
            "tm time",
            "ip inet",
            "du duration",
            "u my_type",
            "u2 ks.other",
        ]
    );
    assert_eq!(t.columns[12].ty, CqlType::Set(Box::new(CqlType::Text)));
    assert_eq!(
        t.columns[13].ty,
        CqlType::Map(Box::new(CqlType::Text), Box::new(CqlType::BigInt))
    );
    assert_eq!(t.columns[25].ty, CqlType::UserDefined(name("my_type")));
    assert!(t.columns[0].primary_key);
    assert_eq!(
        t.primary_key(),
        Ok(PrimaryKey {
            partition: strs(&["k"]),
            clustering: vec![]
        })
    );
}

#[test]
fn create_table_counter_and_static_columns() {
    let t = create_table("CREATE TABLE c (k int, ck int, s int static, n counter, PRIMARY KEY (k, ck))");
    assert_eq!(
        t.columns[2],
        ColumnDef {
            name: "s".into(),
            ty: CqlType::Int,
            is_static: true,
            primary_key: false
        }
    );
    assert_eq!(t.columns[3], col("n", CqlType::Counter));
}

#[test]
fn create_table_key_forms() {
    let t = create_table("CREATE TABLE ranking (year INT, place INT, athlete TEXT, PRIMARY KEY(year, place))");
    assert_eq!(
        t.key_clauses,
        vec![PrimaryKey {
            partition: strs(&["year"]),
            clustering: strs(&["place"])
        }]
    );
    assert_eq!(
        t.columns,
        vec![
            col("year", CqlType::Int),
            col("place", CqlType::Int),
            col("athlete", CqlType::Text)
        ]
    );

    let t = create_table("CREATE TABLE t (a int, b int, c int, d int, PRIMARY KEY ((a, b), c, d))");
    assert_eq!(
        t.primary_key(),
        Ok(PrimaryKey {
            partition: strs(&["a", "b"]),
            clustering: strs(&["c", "d"])
        })
    );

    let t = create_table("CREATE TABLE t (a int, b int, PRIMARY KEY ((a, b)))");
    assert_eq!(
        t.primary_key(),
        Ok(PrimaryKey {
            partition: strs(&["a", "b"]),
            clustering: vec![]
        })
    );

    // Which declaration wins is semantic; the grammar admits zero or several.
    let t = create_table("CREATE TABLE t (a int, b int)");
    assert_eq!(t.primary_key(), Err(KeyDeclarationError::Missing));
    let t = create_table("CREATE TABLE t (a int PRIMARY KEY, b int, PRIMARY KEY (b))");
    assert_eq!(t.primary_key(), Err(KeyDeclarationError::Multiple));
    let t = create_table("CREATE TABLE t (a int, b int, PRIMARY KEY (a), PRIMARY KEY (b),)");
    assert_eq!(t.key_clauses.len(), 2);
    assert_eq!(t.primary_key(), Err(KeyDeclarationError::Multiple));
}

#[test]
fn create_table_options() {
    let t = create_table(
        "CREATE TABLE t (k int, c1 int, c2 text, v int, PRIMARY KEY (k, c1, c2)) \
         WITH CLUSTERING ORDER BY (c1 DESC, c2 asc) AND comment = 'it''s' AND gc_grace_seconds = 10 \
         AND compaction = {'class': 'LeveledCompactionStrategy'} AND COMPACT STORAGE",
    );
    assert_eq!(
        t.with.clustering_order,
        vec![
            Ordering {
                column: "c1".into(),
                descending: true
            },
            Ordering {
                column: "c2".into(),
                descending: false
            }
        ]
    );
    // After both ordered columns: the executor reports the first of the grammar's refusals.
    assert_eq!(t.with.compact_storage, Some(2));
    assert_eq!(
        t.with.options,
        vec![
            OptionSetting {
                name: "comment".into(),
                value: string("it's")
            },
            OptionSetting {
                name: "gc_grace_seconds".into(),
                value: int("10")
            },
            OptionSetting {
                name: "compaction".into(),
                value: Term::Map(vec![(string("class"), string("LeveledCompactionStrategy"))]),
            },
        ]
    );
    // Cassandra's grammar requires the direction in CLUSTERING ORDER BY.
    assert_eq!(
        error("CREATE TABLE t (k int, c int, PRIMARY KEY (k, c)) WITH CLUSTERING ORDER BY (c)"),
        "line 1:78 unexpected ')', expected DESC or ASC"
    );
}

#[test]
fn create_table_errors_name_the_token() {
    assert_eq!(
        error("CREATE TABLE t (k int PRIMARY KEY, v lst<int>)"),
        "line 1:41 unexpected '<', expected '.', STATIC, PRIMARY, ')' or ','"
    );
    assert_eq!(
        error("CREATE TABLE t (k int PRIMARY KEY"),
        "line 1:34 unexpected end of input, expected ')' or ','"
    );
    assert_eq!(
        error("CREATE TABLE t (select int PRIMARY KEY)"),
        "line 1:17 unexpected 'select', expected PRIMARY or an identifier"
    );
    assert_eq!(
        error("CREATE TABLE t (k map<int> PRIMARY KEY)"),
        "line 1:26 unexpected '>', expected ','"
    );
}

// ---- views ------------------------------------------------------------------------------------

#[test]
fn create_view_select_star_composite_key() {
    let src = "CREATE MATERIALIZED VIEW IF NOT EXISTS ks.user_by_country_and_gender AS SELECT * FROM ks.user \
               WHERE country IS NOT NULL AND gender IS NOT NULL AND id IS NOT NULL \
               PRIMARY KEY ((country, gender), id) WITH CLUSTERING ORDER BY (id DESC) AND comment = 'x'";
    let v = create_view(src);
    assert_eq!(v.name, ks_name("ks", "user_by_country_and_gender"));
    assert!(v.if_not_exists);
    assert_eq!(v.selection, Selection::All);
    assert_eq!(v.base, ks_name("ks", "user"));
    assert_eq!(
        v.where_clause,
        vec![not_null("country"), not_null("gender"), not_null("id")]
    );
    assert_eq!(
        v.where_text,
        "country IS NOT NULL AND gender IS NOT NULL AND id IS NOT NULL"
    );
    assert_eq!(
        v.primary_key,
        PrimaryKey {
            partition: strs(&["country", "gender"]),
            clustering: strs(&["id"])
        }
    );
    assert_eq!(
        v.with.clustering_order,
        vec![Ordering {
            column: "id".into(),
            descending: true
        }]
    );
    assert_eq!(
        v.with.options,
        vec![OptionSetting {
            name: "comment".into(),
            value: string("x")
        }]
    );
}

#[test]
fn create_view_keeps_what_the_executor_must_reject() {
    // Aliases, function selectors, token relations, filtering on values and bind markers are
    // all grammatical; Cassandra refuses them semantically, with messages the executor owns.
    let v = create_view(
        "CREATE MATERIALIZED VIEW v AS SELECT a AS x, writetime(b), now() FROM t \
         WHERE token(a) > 0 AND b = ? AND c IN (1, 2) AND (d, e) > (1, 2) PRIMARY KEY (a, b)",
    );
    assert_eq!(
        v.selection,
        Selection::Selectors(vec![
            Selector {
                expr: SelectorExpr::Column("a".into()),
                alias: Some("x".into())
            },
            Selector {
                expr: SelectorExpr::WriteTime("b".into()),
                alias: None
            },
            Selector {
                expr: SelectorExpr::Function {
                    name: name("now"),
                    args: vec![]
                },
                alias: None
            },
        ])
    );
    assert_eq!(
        v.where_clause,
        vec![
            Relation::Token {
                columns: strs(&["a"]),
                op: Operator::Gt,
                value: int("0")
            },
            eq("b", Term::Bind(None)),
            Relation::In {
                column: "c".into(),
                values: vec![int("1"), int("2")]
            },
            Relation::Tuple {
                columns: strs(&["d", "e"]),
                op: Operator::Gt,
                values: vec![int("1"), int("2")]
            },
        ]
    );
    // No WHERE at all is grammatical too (the executor asks for IS NOT NULL).
    let v = create_view("CREATE MATERIALIZED VIEW v AS SELECT * FROM t PRIMARY KEY (a)");
    assert!(v.where_clause.is_empty());
    assert_eq!(v.where_text, "");
}

#[test]
fn create_view_without_primary_key_is_a_syntax_error() {
    assert_eq!(
        error("CREATE MATERIALIZED VIEW v AS SELECT * FROM t WHERE a IS NOT NULL"),
        "line 1:66 unexpected end of input, expected AND or PRIMARY"
    );
    assert_eq!(
        error("CREATE MATERIALIZED VIEW v AS SELECT * FROM t WHERE a IS NULL PRIMARY KEY (a)"),
        "line 1:58 unexpected 'NULL', expected NOT"
    );
    assert_eq!(
        error("CREATE MATERIALIZED VIEW v SELECT * FROM t PRIMARY KEY (a)"),
        "line 1:28 unexpected 'SELECT', expected '.' or AS"
    );
    // `view` is a reserved keyword, so it cannot name a view unquoted.
    assert!(
        error("CREATE MATERIALIZED VIEW view AS SELECT * FROM t PRIMARY KEY (a)")
            .contains("expected IF or an identifier")
    );
    let v = create_view(r#"CREATE MATERIALIZED VIEW "view" AS SELECT * FROM t PRIMARY KEY (a)"#);
    assert_eq!(v.name, name("view"));
}

#[test]
fn drop_alter_view() {
    assert_eq!(
        parse("DROP MATERIALIZED VIEW IF EXISTS ks.v"),
        StmtKind::DropView(DropObject {
            name: ks_name("ks", "v"),
            if_exists: true
        })
    );
    assert_eq!(
        parse("DROP MATERIALIZED VIEW v"),
        StmtKind::DropView(DropObject {
            name: name("v"),
            if_exists: false
        })
    );
    let StmtKind::AlterView(a) = parse("ALTER MATERIALIZED VIEW v WITH gc_grace_seconds = 0") else {
        panic!()
    };
    assert_eq!(a.name, name("v"));
    assert_eq!(
        a.with.options,
        vec![OptionSetting {
            name: "gc_grace_seconds".into(),
            value: int("0")
        }]
    );
}

#[test]
fn create_index_is_parsed_for_a_semantic_refusal() {
    let StmtKind::CreateIndex(i) = parse("CREATE INDEX ix_user_familyname ON user (familyname)") else {
        panic!()
    };
    assert_eq!(i.name.as_deref(), Some("ix_user_familyname"));
    assert_eq!(i.table, name("user"));
    assert_eq!(i.columns, strs(&["familyname"]));
    let StmtKind::CreateIndex(i) = parse("CREATE INDEX IF NOT EXISTS ON t (keys(m))") else {
        panic!()
    };
    assert!(i.if_not_exists);
    assert_eq!(i.name, None);
    assert_eq!(i.columns, strs(&["m"]));
}

// ---- other DDL --------------------------------------------------------------------------------

#[test]
fn drop_table_and_truncate() {
    assert_eq!(
        parse("DROP TABLE t"),
        StmtKind::DropTable(DropObject {
            name: name("t"),
            if_exists: false
        })
    );
    assert_eq!(
        parse("DROP TABLE IF EXISTS ks.t"),
        StmtKind::DropTable(DropObject {
            name: ks_name("ks", "t"),
            if_exists: true
        })
    );
    assert_eq!(parse("TRUNCATE t"), StmtKind::Truncate(name("t")));
    assert_eq!(parse("TRUNCATE TABLE ks.t"), StmtKind::Truncate(ks_name("ks", "t")));
}

#[test]
fn alter_table_actions() {
    let action = |src: &str| match parse(src) {
        StmtKind::AlterTable(a) => {
            assert_eq!(a.name, name("t"));
            a.action
        }
        other => panic!("{other:?}"),
    };
    assert_eq!(
        action("ALTER TABLE t ADD c int"),
        AlterAction::Add(vec![col("c", CqlType::Int)])
    );
    assert_eq!(
        action("ALTER TABLE t ADD (c int, d set<text> static)"),
        AlterAction::Add(vec![
            col("c", CqlType::Int),
            ColumnDef {
                name: "d".into(),
                ty: CqlType::Set(Box::new(CqlType::Text)),
                is_static: true,
                primary_key: false
            },
        ])
    );
    assert_eq!(
        action("ALTER TABLE t DROP c"),
        AlterAction::Drop {
            columns: strs(&["c"]),
            timestamp: None
        }
    );
    assert_eq!(
        action("ALTER TABLE t DROP (c, d) USING TIMESTAMP 7"),
        AlterAction::Drop {
            columns: strs(&["c", "d"]),
            timestamp: Some(int("7"))
        }
    );
    assert_eq!(
        action("ALTER TABLE t RENAME a TO b AND c TO d"),
        AlterAction::Rename(vec![("a".into(), "b".into()), ("c".into(), "d".into())])
    );
    assert_eq!(
        action("ALTER TABLE t ALTER c TYPE blob"),
        AlterAction::AlterType {
            column: "c".into(),
            ty: CqlType::Blob
        }
    );
    let AlterAction::With(w) = action("ALTER TABLE t WITH comment = 'c'") else {
        panic!()
    };
    assert_eq!(
        w.options,
        vec![OptionSetting {
            name: "comment".into(),
            value: string("c")
        }]
    );
    assert_eq!(
        error("ALTER TABLE t ADD c int PRIMARY KEY"),
        "line 1:25 unexpected 'PRIMARY', expected STATIC or ';'"
    );
}

// ---- INSERT -----------------------------------------------------------------------------------

#[test]
fn insert_with_using_and_if_not_exists() {
    let i = insert("INSERT INTO ks.t (a, \"B\") VALUES (1, 'x') IF NOT EXISTS USING TTL 10 AND TIMESTAMP 123");
    assert_eq!(i.table, ks_name("ks", "t"));
    assert_eq!(i.columns, strs(&["a", "B"]));
    assert_eq!(i.values, vec![int("1"), string("x")]);
    assert!(i.if_not_exists);
    assert_eq!(
        i.using,
        Using {
            timestamp: Some(int("123")),
            ttl: Some(int("10"))
        }
    );

    let i = insert("INSERT INTO base (a, b, c) VALUES (0, 0, 1) USING TIMESTAMP 0");
    assert_eq!(
        i.using,
        Using {
            timestamp: Some(int("0")),
            ttl: None
        }
    );
    assert!(!i.if_not_exists);
    // USING comes after IF NOT EXISTS in Cassandra's grammar.
    assert_eq!(
        error("INSERT INTO t (a) VALUES (1) USING TTL 1 IF NOT EXISTS"),
        "line 1:42 unexpected 'IF', expected AND or ';'"
    );
    assert_eq!(
        error("INSERT INTO t (a) VALUES (1) USING TTL x"),
        "line 1:40 unexpected 'x', expected an integer"
    );
    assert_eq!(
        error("INSERT INTO t (a) VALUES ()"),
        "line 1:27 unexpected ')', expected a term"
    );
}

// ---- terms ------------------------------------------------------------------------------------

#[test]
fn term_literals() {
    assert_eq!(term("null"), Term::Null);
    assert_eq!(term("NULL"), Term::Null);
    assert_eq!(term("42"), int("42"));
    assert_eq!(term("-42"), int("-42"));
    assert_eq!(term("1.5"), Term::Float("1.5".into()));
    assert_eq!(term("-1.5e-3"), Term::Float("-1.5e-3".into()));
    assert_eq!(term("2E10"), Term::Float("2E10".into()));
    assert_eq!(term("1."), Term::Float("1.".into()));
    assert_eq!(term("NaN"), Term::Float("NaN".into()));
    assert_eq!(term("-Infinity"), Term::Float("-Infinity".into()));
    assert_eq!(term("'it''s'"), string("it's"));
    assert_eq!(term("''"), string(""));
    assert_eq!(term("'a;b -- c'"), string("a;b -- c"));
    assert_eq!(term("$$it's $ a ' quote$$"), string("it's $ a ' quote"));
    assert_eq!(term("'héllo wörld'"), string("héllo wörld"));
    assert_eq!(term("true"), Term::Boolean(true));
    assert_eq!(term("FALSE"), Term::Boolean(false));
    assert_eq!(
        term("123E4567-e89b-12d3-a456-426614174000"),
        Term::Uuid("123e4567-e89b-12d3-a456-426614174000".into())
    );
    assert_eq!(term("0xCAFE"), Term::Blob("cafe".into()));
    assert_eq!(term("0x"), Term::Blob("".into()));
    assert_eq!(term("[1, -2]"), Term::List(vec![int("1"), int("-2")]));
    assert_eq!(term("[]"), Term::List(vec![]));
    assert_eq!(term("{'a', 'b'}"), Term::Set(vec![string("a"), string("b")]));
    assert_eq!(term("{}"), Term::Map(vec![]));
    assert_eq!(
        term("{'k': 1, 'j': [2]}"),
        Term::Map(vec![(string("k"), int("1")), (string("j"), Term::List(vec![int("2")]))])
    );
    assert_eq!(term("(1, 'a')"), Term::Tuple(vec![int("1"), string("a")]));
    assert_eq!(term("?"), Term::Bind(None));
    assert_eq!(term(":v"), Term::Bind(Some("v".into())));
    assert_eq!(
        term("now()"),
        Term::Function {
            name: name("now"),
            args: vec![]
        }
    );
    assert_eq!(
        term("system.totimestamp(now())"),
        Term::Function {
            name: ks_name("system", "totimestamp"),
            args: vec![Term::Function {
                name: name("now"),
                args: vec![]
            }]
        }
    );
}

#[test]
fn term_errors() {
    assert_eq!(
        error("INSERT INTO t (a) VALUES ('abc)"),
        "line 1:27 unterminated string literal"
    );
    assert_eq!(
        error("INSERT INTO t (a) VALUES ($$abc)"),
        "line 1:27 unterminated $$ string literal"
    );
    assert_eq!(
        error("INSERT INTO t (a) VALUES (12abc)"),
        "line 1:27 malformed number '12abc'"
    );
    assert_eq!(
        error("INSERT INTO t (a) VALUES (0xZZ)"),
        "line 1:27 malformed number '0xZZ'"
    );
    assert_eq!(
        error("INSERT INTO t (a) VALUES (- 1)"),
        "line 1:29 unexpected '1', expected a number"
    );
    assert_eq!(
        error("INSERT INTO t (a) VALUES (b)"),
        "line 1:27 unexpected 'b', expected a term"
    );
    assert_eq!(
        error("INSERT INTO t (a) VALUES (%s)"),
        "line 1:27 unexpected character '%'"
    );
    assert_eq!(
        error("INSERT INTO t (a) VALUES ({1: 2, 3})"),
        "line 1:35 unexpected '}', expected ':'"
    );
}

// ---- identifiers, keywords, comments ----------------------------------------------------------

#[test]
fn identifiers_and_keyword_case() {
    let s = select(r#"sElEcT "MixedCase", Plain, "with ""quote""" FrOm "Ks"."Tab""#);
    assert_eq!(
        s.selection,
        Selection::Selectors(vec![
            Selector {
                expr: SelectorExpr::Column("MixedCase".into()),
                alias: None
            },
            Selector {
                expr: SelectorExpr::Column("plain".into()),
                alias: None
            },
            Selector {
                expr: SelectorExpr::Column("with \"quote\"".into()),
                alias: None
            },
        ])
    );
    assert_eq!(s.from, ks_name("Ks", "Tab"));
    // Unreserved keywords are identifiers where they stand; reserved ones are not.
    let s = select("SELECT key, ttl, writetime, user, values, type FROM user");
    assert_eq!(s.from, name("user"));
    assert_eq!(
        error("SELECT * FROM table"),
        "line 1:15 unexpected 'table', expected an identifier"
    );
    assert_eq!(error(r#"SELECT "" FROM t"#), "line 1:8 empty quoted identifier");
    assert_eq!(
        error(r#"SELECT "abc FROM t"#),
        "line 1:8 unterminated quoted identifier"
    );
}

#[test]
fn comments_in_all_three_styles() {
    let src = "-- leading\nSELECT /* inline ; */ a // trailing ;\nFROM t -- done;\n";
    let s = select(src);
    assert_eq!(s.from, name("t"));
    let stmts = parse_script(src);
    assert_eq!(stmts.len(), 1);
    let stmt = stmts[0].as_ref().expect("parses");
    assert_eq!(stmt.text, "SELECT /* inline ; */ a // trailing ;\nFROM t");
    assert_eq!(stmt.pos, Pos { line: 2, col: 1 });
    assert_eq!(
        error("SELECT * FROM t /* never closed"),
        "line 1:17 unterminated comment"
    );
}

// ---- UPDATE -----------------------------------------------------------------------------------

#[test]
fn update_assignment_forms() {
    let u = update(
        "UPDATE ks.t USING TIMESTAMP 5 AND TTL 60 SET a = 1, b = b + 2, c = [0] + c, d = d - {'x'}, \
         e['k'] = 'v', f += 3, g -= 4, h = h -1, i = null WHERE k = 1 AND ck = 2 IF EXISTS",
    );
    assert_eq!(u.table, ks_name("ks", "t"));
    assert_eq!(
        u.using,
        Using {
            timestamp: Some(int("5")),
            ttl: Some(int("60"))
        }
    );
    assert_eq!(
        u.assignments,
        vec![
            Assignment::Set {
                column: "a".into(),
                value: int("1")
            },
            Assignment::Add {
                column: "b".into(),
                value: int("2")
            },
            Assignment::Prepend {
                column: "c".into(),
                value: Term::List(vec![int("0")])
            },
            Assignment::Subtract {
                column: "d".into(),
                value: Term::Set(vec![string("x")])
            },
            Assignment::SetElement {
                column: "e".into(),
                key: string("k"),
                value: string("v")
            },
            Assignment::Add {
                column: "f".into(),
                value: int("3")
            },
            Assignment::Subtract {
                column: "g".into(),
                value: int("4")
            },
            Assignment::Subtract {
                column: "h".into(),
                value: int("1")
            },
            Assignment::Set {
                column: "i".into(),
                value: Term::Null
            },
        ]
    );
    assert_eq!(u.where_clause, vec![eq("k", int("1")), eq("ck", int("2"))]);
    assert_eq!(u.condition, Some(Condition::Exists));

    let u = update("UPDATE t SET v = 1 WHERE k = 1 IF v = 0 AND w IN (1, 2)");
    assert_eq!(
        u.condition,
        Some(Condition::Columns(vec![
            eq("v", int("0")),
            Relation::In {
                column: "w".into(),
                values: vec![int("1"), int("2")]
            }
        ]))
    );
}

#[test]
fn update_errors() {
    assert_eq!(
        error("UPDATE t SET a = b + 1 WHERE k = 1"),
        "line 1:18 Only expressions of the form X = X + <value> are supported."
    );
    assert_eq!(
        error("UPDATE t SET a = [1] + b WHERE k = 1"),
        "line 1:24 Only expressions of the form X = <value> + X are supported."
    );
    assert_eq!(
        error("UPDATE t SET a = 1"),
        "line 1:19 unexpected end of input, expected '+', ',' or WHERE"
    );
    assert_eq!(
        error("UPDATE t SET a = 1 WHERE"),
        "line 1:25 unexpected end of input, expected TOKEN, '(' or an identifier"
    );
}

// ---- DELETE -----------------------------------------------------------------------------------

#[test]
fn delete_forms() {
    let d = delete("DELETE FROM t WHERE k = 1");
    assert!(d.targets.is_empty());
    assert_eq!(d.table, name("t"));
    assert_eq!(d.using, Using::default());
    assert_eq!(d.where_clause, vec![eq("k", int("1"))]);

    let d =
        delete("DELETE a, m['k'], l[0] FROM ks.t USING TIMESTAMP 9 WHERE k IN (1, 2) AND c >= 3 AND c < 5 IF EXISTS");
    assert_eq!(
        d.targets,
        vec![
            DeleteTarget {
                column: "a".into(),
                element: None
            },
            DeleteTarget {
                column: "m".into(),
                element: Some(string("k"))
            },
            DeleteTarget {
                column: "l".into(),
                element: Some(int("0"))
            },
        ]
    );
    assert_eq!(d.using.timestamp, Some(int("9")));
    assert_eq!(
        d.where_clause,
        vec![
            Relation::In {
                column: "k".into(),
                values: vec![int("1"), int("2")]
            },
            Relation::Compare {
                column: "c".into(),
                op: Operator::Ge,
                value: int("3")
            },
            Relation::Compare {
                column: "c".into(),
                op: Operator::Lt,
                value: int("5")
            },
        ]
    );
    assert_eq!(d.condition, Some(Condition::Exists));

    let d = delete("DELETE FROM t WHERE k = 0 AND (c1, c2) > (1, 2) AND (c1, c2) <= (3, 4)");
    assert_eq!(
        d.where_clause[1..],
        [
            Relation::Tuple {
                columns: strs(&["c1", "c2"]),
                op: Operator::Gt,
                values: vec![int("1"), int("2")]
            },
            Relation::Tuple {
                columns: strs(&["c1", "c2"]),
                op: Operator::Le,
                values: vec![int("3"), int("4")]
            },
        ]
    );
    // DELETE's USING admits only TIMESTAMP.
    assert_eq!(
        error("DELETE FROM t USING TTL 5 WHERE k = 1"),
        "line 1:21 unexpected 'TTL', expected TIMESTAMP"
    );
    assert_eq!(
        error("DELETE FROM t"),
        "line 1:14 unexpected end of input, expected '.', USING or WHERE"
    );
}

// ---- BATCH ------------------------------------------------------------------------------------

#[test]
fn batch_kinds_using_and_inner_statements() {
    let src = "BEGIN UNLOGGED BATCH USING TIMESTAMP 100\n  INSERT INTO t (k, v) VALUES (1, 'a;b');\n  \
               UPDATE t SET v = 'c' WHERE k = 2\n  DELETE FROM t WHERE k = 3;\nAPPLY BATCH";
    let stmt = parse_statement(src).expect("parses");
    let StmtKind::Batch(b) = stmt.kind else { panic!() };
    assert_eq!(b.kind, BatchKind::Unlogged);
    assert_eq!(b.using.timestamp, Some(int("100")));
    let texts: Vec<&str> = b.statements.iter().map(|s| s.text.as_str()).collect();
    assert_eq!(
        texts,
        vec![
            "INSERT INTO t (k, v) VALUES (1, 'a;b')",
            "UPDATE t SET v = 'c' WHERE k = 2",
            "DELETE FROM t WHERE k = 3"
        ]
    );
    assert_eq!(b.statements[1].pos, Pos { line: 3, col: 3 });
    assert!(matches!(b.statements[0].kind, StmtKind::Insert(_)));
    assert!(matches!(b.statements[2].kind, StmtKind::Delete(_)));

    let StmtKind::Batch(b) = parse("BEGIN BATCH APPLY BATCH") else {
        panic!()
    };
    assert_eq!((b.kind, b.statements.len()), (BatchKind::Logged, 0));
    let StmtKind::Batch(b) = parse("begin counter batch update c set n = n + 1 where k = 1; apply batch;") else {
        panic!()
    };
    assert_eq!(b.kind, BatchKind::Counter);
    assert_eq!(
        error("BEGIN BATCH SELECT * FROM t; APPLY BATCH"),
        "line 1:13 unexpected 'SELECT', expected USING, APPLY, INSERT, UPDATE or DELETE"
    );
}

// ---- SELECT -----------------------------------------------------------------------------------

#[test]
fn select_clauses() {
    let s = select(
        "SELECT DISTINCT k, WRITETIME(v) AS wt, TTL(v), count(*), max(v), 1 FROM ks.t WHERE k = 1 \
         AND token(k) > token(0) AND c IN (1, 2) ORDER BY c DESC, d PER PARTITION LIMIT 2 LIMIT 10 ALLOW FILTERING",
    );
    assert!(s.distinct);
    assert_eq!(
        s.selection,
        Selection::Selectors(vec![
            Selector {
                expr: SelectorExpr::Column("k".into()),
                alias: None
            },
            Selector {
                expr: SelectorExpr::WriteTime("v".into()),
                alias: Some("wt".into())
            },
            Selector {
                expr: SelectorExpr::Ttl("v".into()),
                alias: None
            },
            Selector {
                expr: SelectorExpr::CountAll,
                alias: None
            },
            Selector {
                expr: SelectorExpr::Function {
                    name: name("max"),
                    args: vec![SelectorExpr::Column("v".into())]
                },
                alias: None
            },
            Selector {
                expr: SelectorExpr::Term(int("1")),
                alias: None
            },
        ])
    );
    assert_eq!(s.from, ks_name("ks", "t"));
    assert_eq!(
        s.where_clause,
        vec![
            eq("k", int("1")),
            Relation::Token {
                columns: strs(&["k"]),
                op: Operator::Gt,
                value: Term::Function {
                    name: name("token"),
                    args: vec![int("0")]
                }
            },
            Relation::In {
                column: "c".into(),
                values: vec![int("1"), int("2")]
            },
        ]
    );
    assert_eq!(
        s.order_by,
        vec![
            Ordering {
                column: "c".into(),
                descending: true
            },
            Ordering {
                column: "d".into(),
                descending: false
            }
        ]
    );
    assert_eq!(s.per_partition_limit, Some(int("2")));
    assert_eq!(s.limit, Some(int("10")));
    assert!(s.allow_filtering);

    let s = select("SELECT * FROM t");
    assert_eq!(
        (s.distinct, s.selection, s.where_clause, s.limit, s.allow_filtering),
        (false, Selection::All, vec![], None, false)
    );
    // `distinct` is unreserved: here it is a column.
    let s = select("SELECT distinct FROM t");
    assert!(!s.distinct);
    assert_eq!(
        s.selection,
        Selection::Selectors(vec![Selector {
            expr: SelectorExpr::Column("distinct".into()),
            alias: None
        }])
    );
}

#[test]
fn select_relations() {
    let s = select(
        "SELECT * FROM t WHERE a != 1 AND b <= -2 AND c CONTAINS 'x' AND d CONTAINS KEY 'y' AND e IN () \
         AND f IN ? AND (g, h) IN ((1, 2), (3, 4)) AND (i, j) = ?",
    );
    assert_eq!(
        s.where_clause,
        vec![
            Relation::Compare {
                column: "a".into(),
                op: Operator::Ne,
                value: int("1")
            },
            Relation::Compare {
                column: "b".into(),
                op: Operator::Le,
                value: int("-2")
            },
            Relation::Compare {
                column: "c".into(),
                op: Operator::Contains,
                value: string("x")
            },
            Relation::Compare {
                column: "d".into(),
                op: Operator::ContainsKey,
                value: string("y")
            },
            Relation::In {
                column: "e".into(),
                values: vec![]
            },
            Relation::In {
                column: "f".into(),
                values: vec![Term::Bind(None)]
            },
            Relation::TupleIn {
                columns: strs(&["g", "h"]),
                values: vec![vec![int("1"), int("2")], vec![int("3"), int("4")]]
            },
            Relation::Tuple {
                columns: strs(&["i", "j"]),
                op: Operator::Eq,
                values: vec![Term::Bind(None)]
            },
        ]
    );
}

/// `token` is a reserved word, yet `token(k)` is a selector (Cassandra's `system.token`); a
/// bare `token` is still no column name.
#[test]
fn token_selector() {
    let s = select("SELECT token(k), TOKEN(k1, \"K2\") AS t, k FROM t");
    assert_eq!(
        s.selection,
        Selection::Selectors(vec![
            Selector {
                expr: SelectorExpr::Function {
                    name: name("token"),
                    args: vec![SelectorExpr::Column("k".into())]
                },
                alias: None
            },
            Selector {
                expr: SelectorExpr::Function {
                    name: name("token"),
                    args: vec![SelectorExpr::Column("k1".into()), SelectorExpr::Column("K2".into())]
                },
                alias: Some("t".into())
            },
            Selector {
                expr: SelectorExpr::Column("k".into()),
                alias: None
            },
        ])
    );
    assert_eq!(
        error("SELECT token FROM t"),
        "line 1:8 unexpected 'token', expected '*' or an identifier"
    );
}

#[test]
fn select_errors_list_the_alternatives() {
    assert_eq!(error("SELECT * FORM t"), "line 1:10 unexpected 'FORM', expected FROM");
    assert_eq!(
        error("SELECT * FROM t WHER k = 1"),
        "line 1:17 unexpected 'WHER', expected '.', WHERE, ORDER, PER, LIMIT, ALLOW or ';'"
    );
    assert_eq!(
        error("SELECT * FROM t WHERE k == 1"),
        "line 1:26 unexpected '=', expected a term"
    );
    assert_eq!(
        error("SELECT * FROM t WHERE k"),
        "line 1:24 unexpected end of input, expected IS, IN, CONTAINS, '=', '<', '<=', '>', '>=' or '!='"
    );
    assert_eq!(
        error("SELECT * FROM t LIMIT"),
        "line 1:22 unexpected end of input, expected an integer"
    );
    assert_eq!(
        error("SELECT * FROM t ALLOW"),
        "line 1:22 unexpected end of input, expected FILTERING"
    );
    assert_eq!(
        error("SELECT FROM t"),
        "line 1:8 unexpected 'FROM', expected '*' or an identifier"
    );
}

// ---- ADVANCE CLOCK ----------------------------------------------------------------------------

#[test]
fn advance_clock() {
    assert_eq!(parse("ADVANCE CLOCK 1500"), StmtKind::AdvanceClock(1500));
    assert_eq!(parse("advance clock 0;"), StmtKind::AdvanceClock(0));
    assert_eq!(
        error("ADVANCE CLOCK -5"),
        "line 1:15 unexpected '-', expected a number of milliseconds"
    );
    assert_eq!(
        error("ADVANCE CLOCK 99999999999999999999"),
        "line 1:15 clock advance '99999999999999999999' is out of range"
    );
    assert_eq!(error("ADVANCE 5"), "line 1:9 unexpected '5', expected CLOCK");
}

// ---- scripts ----------------------------------------------------------------------------------

#[test]
fn script_splits_statements_and_recovers_after_errors() {
    let src = "INSERT INTO t (k) VALUES (1);\n\
               SELECT * FORM t;\n\
               BEGIN BATCH INSERT INTO t (k) VALUES (2); DELETE FROM t WHERE k = 1; APPLY BATCH;\n\
               ;;\n\
               UPDATE t SET v = 'a;b' WHERE k = 2; -- trailing ; comment\n\
               SELECT * FROM t /* ; */ WHERE k = 2";
    let results = parse_script(src);
    assert_eq!(results.len(), 5);
    let kinds: Vec<&str> = results
        .iter()
        .map(|r| match r {
            Ok(Stmt {
                kind: StmtKind::Insert(_),
                ..
            }) => "insert",
            Ok(Stmt {
                kind: StmtKind::Batch(_),
                ..
            }) => "batch",
            Ok(Stmt {
                kind: StmtKind::Update(_),
                ..
            }) => "update",
            Ok(Stmt {
                kind: StmtKind::Select(_),
                ..
            }) => "select",
            Ok(_) => "other",
            Err(_) => "error",
        })
        .collect();
    assert_eq!(kinds, vec!["insert", "error", "batch", "update", "select"]);
    assert_eq!(
        results[1].as_ref().err().map(|e| e.to_string()).as_deref(),
        Some("line 2:10 unexpected 'FORM', expected FROM")
    );
    let texts: Vec<String> = results
        .iter()
        .filter_map(|r| r.as_ref().ok())
        .map(|s| s.text.clone())
        .collect();
    assert_eq!(
        texts,
        vec![
            "INSERT INTO t (k) VALUES (1)",
            "BEGIN BATCH INSERT INTO t (k) VALUES (2); DELETE FROM t WHERE k = 1; APPLY BATCH",
            "UPDATE t SET v = 'a;b' WHERE k = 2",
            "SELECT * FROM t /* ; */ WHERE k = 2",
        ]
    );
    let positions: Vec<Pos> = results.iter().filter_map(|r| r.as_ref().ok()).map(|s| s.pos).collect();
    assert_eq!(
        positions,
        vec![
            Pos { line: 1, col: 1 },
            Pos { line: 3, col: 1 },
            Pos { line: 5, col: 1 },
            Pos { line: 6, col: 1 }
        ]
    );
}

#[test]
fn a_bad_batch_is_one_error_and_its_statements_do_not_leak() {
    // The error is inside the batch; the statements after it in the batch must not surface as
    // top-level statements (they would run outside the batch).
    let src = "BEGIN BATCH INSERT INTO t (k) VALUES (1); INSERT INTO t (k) VALUS (2); INSERT INTO t (k) VALUES (3); \
               APPLY BATCH; SELECT * FROM t;";
    let results = parse_script(src);
    assert_eq!(results.len(), 2);
    assert_eq!(
        results[0].as_ref().err().map(|e| e.to_string()).as_deref(),
        Some("line 1:61 unexpected 'VALUS', expected VALUES")
    );
    assert!(matches!(
        results[1],
        Ok(Stmt {
            kind: StmtKind::Select(_),
            ..
        })
    ));

    // Without APPLY BATCH the batch runs to the end of input: one error, nothing executed.
    let results = parse_script("BEGIN BATCH INSERT INTO t (k) VALUES (1); SELECT * FROM t;");
    assert_eq!(results.len(), 1);
    assert_eq!(
        results[0].as_ref().err().map(|e| e.to_string()).as_deref(),
        Some("line 1:43 unexpected 'SELECT', expected APPLY, INSERT, UPDATE or DELETE")
    );
}

#[test]
fn statement_text_excludes_surrounding_trivia_and_columns_count_characters() {
    let results = parse_script("  /* c */ INSERT INTO t (k) VALUES ('é');  -- x\n\tSELECT * FORM t");
    let first = results[0].as_ref().expect("parses");
    assert_eq!(first.text, "INSERT INTO t (k) VALUES ('é')");
    assert_eq!(first.pos, Pos { line: 1, col: 11 });
    // A tab is one column; `é` is one column even though it is two bytes.
    assert_eq!(results[1].as_ref().err().map(|e| e.pos), Some(Pos { line: 2, col: 11 }));
    let e = parse_statement("INSERT INTO t (k) VALUES ('é') x").expect_err("trailing junk");
    assert_eq!(e.to_string(), "line 1:32 unexpected 'x', expected IF, USING or ';'");
}

#[test]
fn parse_statement_wants_exactly_one() {
    assert_eq!(
        parse_statement("SELECT * FROM t;").map(|s| s.text),
        Ok("SELECT * FROM t".to_string())
    );
    assert_eq!(
        parse_statement("SELECT * FROM t; SELECT * FROM u").map_err(|e| e.to_string()),
        Err("line 1:18 unexpected 'SELECT', expected end of input".to_string())
    );
    assert_eq!(
        parse_statement("  -- nothing\n").map_err(|e| e.to_string()),
        Err("line 2:1 empty statement, expected a statement".to_string())
    );
    assert!(parse_script("").is_empty());
    assert!(parse_script(" ; ; -- x").is_empty());
    assert_eq!(
        error("FROB t"),
        "line 1:1 unexpected 'FROB', expected SELECT, INSERT, UPDATE, DELETE, BEGIN, CREATE, DROP, ALTER, TRUNCATE, \
         USE, ADVANCE, VIEW, WAIT, DESCRIBE or DESC"
    );
}

#[test]
fn input_is_complete_at_a_top_level_semicolon() {
    assert!(input_complete("SELECT * FROM t;\n"));
    assert!(input_complete("SELECT * FROM t; -- done\n"));
    assert!(input_complete("SELECT * FROM t; SELECT * FROM u;"));
    assert!(
        input_complete("SELECT * FROM t FORM u;"),
        "a syntax error is complete too: run it and report"
    );
    assert!(input_complete(";"));
    assert!(!input_complete(""));
    assert!(!input_complete("  -- only a comment\n"));
    assert!(!input_complete("SELECT * FROM t\n"));
    assert!(!input_complete("SELECT * FROM t; SELECT * FROM u"));
    assert!(!input_complete("INSERT INTO t (k, v) VALUES (1, 'a;\n"));
    assert!(!input_complete("INSERT INTO t (k, v) VALUES (1, $$a;\n"));
    assert!(!input_complete("SELECT * FROM t -- ;\n"));
    assert!(!input_complete("SELECT * /* ; \n"));
    let open = "BEGIN BATCH\nINSERT INTO t (k) VALUES (1);\n";
    assert!(!input_complete(open));
    assert!(!input_complete(&format!("{open}APPLY BATCH\n")));
    assert!(input_complete(&format!("{open}apply  batch ;\n")));
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let deep = "[".repeat(100_000);
    assert_eq!(
        error(&format!("INSERT INTO t (a) VALUES ({deep})")),
        "line 1:91 nesting deeper than 64 levels"
    );
    let deep_type = "frozen<".repeat(100_000);
    assert_eq!(
        error(&format!("CREATE TABLE t (k {deep_type})")),
        "line 1:467 nesting deeper than 64 levels"
    );
    let deep_call = "f(".repeat(100_000);
    assert_eq!(
        error(&format!("SELECT {deep_call} FROM t")),
        "line 1:136 nesting deeper than 64 levels"
    );
    // Within the limit, nesting is fine.
    let ok = format!("INSERT INTO t (a) VALUES ({}{})", "[".repeat(60), "]".repeat(60));
    assert!(parse_statement(&ok).is_ok());
}

#[test]
fn long_tokens_are_shortened_in_messages() {
    let long = "x".repeat(100);
    let msg = error(&format!("SELECT * FROM t WHERE k = 1 {long}"));
    assert_eq!(
        msg,
        format!(
            "line 1:29 unexpected '{}...', expected AND, ORDER, PER, LIMIT, ALLOW or ';'",
            "x".repeat(40)
        )
    );
}

// ---- normalized text --------------------------------------------------------------------------

#[test]
fn relations_print_as_normalized_cql() {
    let v = create_view(
        r#"CREATE MATERIALIZED VIEW v AS SELECT * FROM t WHERE "theKey" IS NOT NULL AND a = 'it''s'
           AND b IN (1, 2) AND (c, "D") >= (1, 2) AND token(a) > 5 AND "select" IS NOT NULL PRIMARY KEY (a)"#,
    );
    let text: Vec<String> = v.where_clause.iter().map(|r| r.to_string()).collect();
    assert_eq!(
        text.join(" AND "),
        r#""theKey" IS NOT NULL AND a = 'it''s' AND b IN (1, 2) AND (c, "D") >= (1, 2) AND token(a) > 5 AND "select" IS NOT NULL"#
    );
    assert_eq!(quote_ident("plain_1"), "plain_1");
    assert_eq!(quote_ident("1abc"), "\"1abc\"");
    assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
    assert_eq!(quote_ident(""), "\"\"");
}

// ---- the seeds --------------------------------------------------------------------------------

/// Seed 002's statements. The text lost some lines in extraction (the closing `);` of ranking,
/// the `CREATE MATERIALIZED VIEW ... AS` and `WHERE` lines of the views); they are restored
/// here as the blog's output implies. Both views the blog shows refused parse: current
/// Cassandra allows `place = 1` on a base key column (3.0's grammar did not), and the missing
/// `year` in champion's key is a semantic error (InvalidRequest), which the executor raises.
const SEED_002: &str = "
CREATE TABLE ranking (
    year       INT,
    place      INT,
    athlete    TEXT,
    PRIMARY KEY(year, place)
);
INSERT INTO ranking (year, place, athlete) VALUES (1986, 1, 'Frank');
INSERT INTO ranking (year, place, athlete) VALUES (1986, 2, 'Tom');
INSERT INTO ranking (year, place, athlete) VALUES (1986, 3, 'Mike');
INSERT INTO ranking (year, place, athlete) VALUES (1987, 1, 'John');
INSERT INTO ranking (year, place, athlete) VALUES (1987, 2, 'Frank');
INSERT INTO ranking (year, place, athlete) VALUES (1987, 3, 'Tom');
INSERT INTO ranking (year, place, athlete) VALUES (1988, 1, 'Martin');
INSERT INTO ranking (year, place, athlete) VALUES (1988, 2, 'Steve');
INSERT INTO ranking (year, place, athlete) VALUES (1988, 3, 'Mike');
INSERT INTO ranking (year, place, athlete) VALUES (1989, 1, 'John');
INSERT INTO ranking (year, place, athlete) VALUES (1989, 2, 'Tom');
INSERT INTO ranking (year, place, athlete) VALUES (1989, 3, 'Mike');
SELECT * FROM ranking WHERE year = 1987;
CREATE MATERIALIZED VIEW ranking_by_athlete AS
SELECT year, place FROM ranking
WHERE athlete IS NOT NULL AND year IS NOT NULL AND place IS NOT NULL
PRIMARY KEY(athlete, year, place);
SELECT * FROM ranking_by_athlete WHERE athlete = 'Frank';
CREATE MATERIALIZED VIEW champion AS
SELECT athlete FROM ranking
  WHERE place = 1 AND athlete IS NOT NULL
PRIMARY KEY(athlete);
CREATE MATERIALIZED VIEW champion AS
SELECT athlete, place FROM ranking
WHERE athlete IS NOT NULL AND place IS NOT NULL
PRIMARY KEY(athlete, place);
CREATE MATERIALIZED VIEW champion AS
SELECT * FROM ranking
WHERE place IS NOT NULL AND year IS NOT NULL AND athlete IS NOT NULL
PRIMARY KEY(place, year, athlete);
SELECT athlete FROM champion WHERE place = 1;
SELECT * FROM system.materialized_views_builds_in_progress;
SELECT * FROM system.built_materialized_views;
CREATE INDEX ix_user_familyname ON user (familyname);
CREATE INDEX ix_user_fullname ON user (firstname, familyname);
";

/// Seed 003's statements, restored the same way (the user table and the view headers).
const SEED_003: &str = "
CREATE TABLE user(
   id int PRIMARY KEY,
   login text,
   firstname text,
   lastname text,
   country text,
   gender int
);
CREATE MATERIALIZED VIEW user_by_country
AS SELECT *  //denormalize ALL columns
FROM user
WHERE country IS NOT NULL AND id IS NOT NULL
PRIMARY KEY(country, id);
INSERT INTO user(id,login,firstname,lastname,country) VALUES(1, 'jdoe', 'John', 'DOE', 'US');
INSERT INTO user(id,login,firstname,lastname,country) VALUES(2, 'hsue', 'Helen', 'SUE', 'US');
INSERT INTO user(id,login,firstname,lastname,country) VALUES(3, 'rsmith', 'Richard', 'SMITH', 'UK');
INSERT INTO user(id,login,firstname,lastname,country) VALUES(4, 'doanduyhai', 'DuyHai', 'DOAN', 'FR');
SELECT * FROM user_by_country;
SELECT * FROM user_by_country WHERE country='US';
CREATE MATERIALIZED VIEW user_by_country_and_gender
AS SELECT *  //denormalize ALL columns
FROM user
WHERE country IS NOT NULL AND gender IS NOT NULL AND id IS NOT NULL
PRIMARY KEY((country, gender),id);
INSERT INTO user(id,login,firstname,lastname,country,gender) VALUES(100,'nowhere','Ian','NOWHERE',null,1);
INSERT INTO user(id,login,firstname,lastname,country,gender) VALUES(100,'nosex','Jean','NOSEX','USA',null);
CREATE MATERIALIZED VIEW user_by_gender
AS SELECT * FROM user
WHERE gender IS NOT NULL AND id IS NOT NULL
PRIMARY KEY(gender, id);
UPDATE user SET country='US' WHERE id=1;
UPDATE user SET country='FR' WHERE id=1;
DELETE FROM user_by_country WHERE country = 'old_value';
CREATE TABLE base (a int, b int, c int, PRIMARY KEY (a));
CREATE MATERIALIZED VIEW mv AS
    SELECT * FROM base
    WHERE a IS NOT NULL AND b IS NOT NULL
    PRIMARY KEY (a, b);
//Insert initial data
INSERT INTO base (a, b, c) VALUES (0, 0, 1) USING TIMESTAMP 0;
//1st update
UPDATE base USING TIMESTAMP 2 SET b = 1 WHERE a = 0;
//2nd update
UPDATE base USING TIMESTAMP 3 SET b = 0 WHERE a = 0;
SELECT * FROM mv WHERE a=0 AND b=0;
";

/// Seed 004's CQL, from inside the Python driver calls. `%s` is the driver's placeholder, not
/// CQL; the literal values stand in for it.
const SEED_004: &str = "
CREATE KEYSPACE IF NOT EXISTS your_keyspace
WITH replication = {
    'class': 'SimpleStrategy',
    'replication_factor': '3'
};
USE your_keyspace;
CREATE TABLE IF NOT EXISTS your_table (
    id UUID PRIMARY KEY,
    data TEXT
);
INSERT INTO your_table (id, data) VALUES (5b6962dd-3f90-4c93-8f61-eabfa4a803e2, 'sample data');
SELECT * FROM your_table;
";

#[test]
fn seed_statements_all_parse() {
    for (seed, src, expected) in [("002", SEED_002, 24), ("003", SEED_003, 21), ("004", SEED_004, 5)] {
        let results = parse_script(src);
        assert_eq!(results.len(), expected, "seed {seed}");
        for r in &results {
            if let Err(e) = r {
                panic!("seed {seed}: {e}");
            }
        }
    }
}

#[test]
fn seed_003_a_b_c_example_trees() {
    let stmts: Vec<Stmt> = parse_script(SEED_003).into_iter().filter_map(Result::ok).collect();
    let Some(StmtKind::Update(second)) = stmts.get(19).map(|s| s.kind.clone()) else {
        panic!("{:?}", stmts.get(19))
    };
    assert_eq!(
        second.using,
        Using {
            timestamp: Some(int("3")),
            ttl: None
        }
    );
    assert_eq!(
        second.assignments,
        vec![Assignment::Set {
            column: "b".into(),
            value: int("0")
        }]
    );
    assert_eq!(second.where_clause, vec![eq("a", int("0"))]);
    // The blog's prose writes `UPDATE base SET c=2 USING TIMESTAMP 1 ...`; Cassandra's grammar
    // puts USING before SET, so that form is a syntax error, as it would be in cqlsh.
    assert_eq!(
        error("UPDATE base SET c=2 USING TIMESTAMP 1 WHERE a=0 AND b=0"),
        "line 1:21 unexpected 'USING', expected '+', ',' or WHERE"
    );
    let u = update("UPDATE base USING TIMESTAMP 1 SET c=2 WHERE a=0 AND b=0");
    assert_eq!(u.using.timestamp, Some(int("1")));
    assert_eq!(
        u.assignments,
        vec![Assignment::Set {
            column: "c".into(),
            value: int("2")
        }]
    );
    assert_eq!(u.where_clause, vec![eq("a", int("0")), eq("b", int("0"))]);
}

// ---- properties -------------------------------------------------------------------------------

mod props {
    use super::super::lexer::{tokenize, Tok};
    use super::*;
    use proptest::prelude::*;
    use proptest::test_runner::Config;

    /// Valid statements to mutate: the seeds plus one of every form with every clause.
    fn corpus() -> Vec<String> {
        let extra = "
            CREATE KEYSPACE IF NOT EXISTS ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1};
            USE ks;
            CREATE TABLE IF NOT EXISTS ks.t (k int, c1 int, c2 text, s int static, l list<int>, st set<text>,
                m map<text, frozen<list<int>>>, PRIMARY KEY ((k, c1), c2)) WITH CLUSTERING ORDER BY (c2 DESC)
                AND comment = 'x' AND COMPACT STORAGE;
            CREATE MATERIALIZED VIEW IF NOT EXISTS ks.v AS SELECT k, c1 AS x, ttl(s) FROM ks.t
                WHERE k IS NOT NULL AND c1 > 3 AND (c2, s) >= ('a', 1) AND token(k) > 0
                PRIMARY KEY ((c1), k, c2) WITH CLUSTERING ORDER BY (k ASC, c2 DESC);
            ALTER MATERIALIZED VIEW v WITH gc_grace_seconds = 10;
            DROP MATERIALIZED VIEW IF EXISTS ks.v;
            ALTER TABLE t ADD (x int, y set<int> static);
            ALTER TABLE t DROP x USING TIMESTAMP 3;
            DROP TABLE IF EXISTS t;
            DROP KEYSPACE ks;
            TRUNCATE TABLE t;
            INSERT INTO t (k, a, b, c, d, e) VALUES (-1, 2.5e3, 'it''s', $$dollar$$, 0xCAFE,
                123e4567-e89b-12d3-a456-426614174000) IF NOT EXISTS USING TIMESTAMP 5 AND TTL 7;
            UPDATE t USING TTL 5 SET a = a + [1], b = {'x'} + b, c = c - 1, m['k'] = {1: 2}, n += 1
                WHERE k = 1 AND c IN (1, 2) IF a = 1 AND b != null;
            DELETE a, m['k'] FROM t USING TIMESTAMP 3 WHERE k = 1 AND (c1, c2) > (1, 'a') IF EXISTS;
            BEGIN UNLOGGED BATCH USING TIMESTAMP 9 INSERT INTO t (k) VALUES (1); UPDATE t SET v = 2 WHERE k = 1
                DELETE FROM t WHERE k = 1; APPLY BATCH;
            SELECT DISTINCT k, writetime(v) AS w, count(*), f(g(x)) FROM t WHERE k = ? AND c <= :c
                ORDER BY c DESC PER PARTITION LIMIT 1 LIMIT 3 ALLOW FILTERING;
            ADVANCE CLOCK 1000;
            /* comment */ SELECT * FROM \"Quoted\"\"Name\" -- trailing
        ";
        [SEED_002, SEED_003, SEED_004, extra]
            .iter()
            .flat_map(|src| parse_script(src))
            .map(|r| r.map(|s| s.text).expect("corpus statements parse"))
            .collect()
    }

    /// Every valid position in `src`: each character's line:column, and the end of input.
    fn position_is_inside(src: &str, pos: Pos) -> bool {
        let lines: Vec<&str> = src.split('\n').collect();
        let Some(line) = (pos.line as usize).checked_sub(1).and_then(|i| lines.get(i)) else {
            return false;
        };
        pos.col >= 1 && (pos.col as usize) <= line.chars().count() + 1
    }

    /// The properties every input must satisfy: no panic (implicit), every error and every
    /// statement at a position inside the input, statement texts are slices of the input that
    /// parse back to themselves.
    fn check(src: &str) -> Result<(), TestCaseError> {
        for result in parse_script(src) {
            match result {
                Err(e) => {
                    prop_assert!(position_is_inside(src, e.pos), "error {e} outside {src:?}");
                    prop_assert!(!e.message.is_empty());
                }
                Ok(stmt) => {
                    prop_assert!(
                        position_is_inside(src, stmt.pos),
                        "statement at {} outside {src:?}",
                        stmt.pos
                    );
                    prop_assert!(src.contains(&stmt.text), "{:?} is not a slice of {src:?}", stmt.text);
                    let again = parse_statement(&stmt.text);
                    prop_assert_eq!(again.as_ref().map(|s| &s.text), Ok(&stmt.text));
                    if !matches!(stmt.kind, StmtKind::Batch(_)) {
                        prop_assert_eq!(again.map(|s| s.kind), Ok(stmt.kind));
                    }
                }
            }
        }
        let _ = input_complete(src);
        let _ = parse_statement(src).map_err(|e| {
            assert!(position_is_inside(src, e.pos), "error {e} outside {src:?}");
        });
        Ok(())
    }

    /// Pieces of CQL that random scripts are glued from: keywords, punctuation, literal
    /// openers and closers, comment markers and whitespace, so the parser gets deep often.
    const FRAGMENTS: &[&str] = &[
        "SELECT",
        "INSERT",
        "INTO",
        "VALUES",
        "UPDATE",
        "SET",
        "DELETE",
        "FROM",
        "WHERE",
        "AND",
        "IS",
        "NOT",
        "NULL",
        "IN",
        "CREATE",
        "TABLE",
        "MATERIALIZED",
        "VIEW",
        "AS",
        "PRIMARY",
        "KEY",
        "WITH",
        "CLUSTERING",
        "ORDER",
        "BY",
        "DESC",
        "BEGIN",
        "BATCH",
        "APPLY",
        "UNLOGGED",
        "USING",
        "TIMESTAMP",
        "TTL",
        "IF",
        "EXISTS",
        "token",
        "writetime",
        "LIMIT",
        "ADVANCE",
        "CLOCK",
        "list",
        "map",
        "frozen",
        "<",
        ">",
        "=",
        "<=",
        ">=",
        "!=",
        "+",
        "-",
        "+=",
        "(",
        ")",
        "[",
        "]",
        "{",
        "}",
        ",",
        ";",
        ".",
        ":",
        "*",
        "?",
        "'",
        "''",
        "\"",
        "$$",
        "--",
        "//",
        "/*",
        "*/",
        " ",
        " ",
        "\n",
        "\t",
        "k",
        "v",
        "t",
        "\"Q\"",
        "1",
        "-1",
        "2.5",
        "1e3",
        "0x0f",
        "'s'",
        "true",
        "NaN",
        "123e4567-e89b-12d3-a456-426614174000",
        "é",
        "\u{0}",
    ];

    fn fragment_script() -> impl Strategy<Value = String> {
        prop::collection::vec(prop::sample::select(FRAGMENTS), 0..60).prop_map(|parts| parts.join(" "))
    }

    fn random_chars() -> impl Strategy<Value = String> {
        prop::collection::vec(any::<char>(), 0..80).prop_map(|cs| cs.into_iter().collect())
    }

    #[derive(Debug, Clone)]
    enum Mutation {
        InsertByte(usize, u8),
        DeleteByte(usize),
        ReplaceByte(usize, u8),
        DeleteToken(usize),
        DuplicateToken(usize),
        SwapTokens(usize, usize),
    }

    fn mutation() -> impl Strategy<Value = Mutation> {
        prop_oneof![
            (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::InsertByte(i, b)),
            any::<usize>().prop_map(Mutation::DeleteByte),
            (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::ReplaceByte(i, b)),
            any::<usize>().prop_map(Mutation::DeleteToken),
            any::<usize>().prop_map(Mutation::DuplicateToken),
            (any::<usize>(), any::<usize>()).prop_map(|(i, j)| Mutation::SwapTokens(i, j)),
        ]
    }

    /// Applies a mutation; indices wrap around the statement's length or token count. Byte edits
    /// may break UTF-8; the result is read back lossily, as a front end reading a file would.
    fn mutate(src: &str, m: &Mutation) -> String {
        let mut bytes = src.as_bytes().to_vec();
        let spans: Vec<(usize, usize)> = tokenize(src)
            .iter()
            .filter(|t| t.tok != Tok::Eof)
            .map(|t| (t.start, t.end))
            .collect();
        let span = |i: usize| spans.get(i % spans.len().max(1)).copied();
        match *m {
            Mutation::InsertByte(i, b) => bytes.insert(i % (bytes.len() + 1), b),
            Mutation::DeleteByte(i) if !bytes.is_empty() => {
                bytes.remove(i % bytes.len());
            }
            Mutation::ReplaceByte(i, b) if !bytes.is_empty() => {
                let at = i % bytes.len();
                bytes[at] = b;
            }
            Mutation::DeleteToken(i) => {
                if let Some((s, e)) = span(i) {
                    bytes.drain(s..e);
                }
            }
            Mutation::DuplicateToken(i) => {
                if let Some((s, e)) = span(i) {
                    let copy: Vec<u8> = bytes[s..e].to_vec();
                    bytes.splice(e..e, [b" ".as_slice(), &copy].concat());
                }
            }
            Mutation::SwapTokens(i, j) => {
                if let (Some(a), Some(b)) = (span(i), span(j)) {
                    let (first, second) = if a.0 <= b.0 { (a, b) } else { (b, a) };
                    if first.1 <= second.0 {
                        let mut out = bytes[..first.0].to_vec();
                        out.extend_from_slice(&bytes[second.0..second.1]);
                        out.extend_from_slice(&bytes[first.1..second.0]);
                        out.extend_from_slice(&bytes[first.0..first.1]);
                        out.extend_from_slice(&bytes[second.1..]);
                        bytes = out;
                    }
                }
            }
            _ => {}
        }
        String::from_utf8_lossy(&bytes).into_owned()
    }

    fn config(cases: u32) -> Config {
        // PROPTEST_CASES still overrides the count for a long run. No regression files: the
        // test must not write into the source tree.
        let cases = std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(cases);
        Config {
            cases,
            failure_persistence: None,
            ..Config::default()
        }
    }

    proptest! {
        #![proptest_config(config(2000))]

        #[test]
        fn random_characters_never_panic(src in random_chars()) {
            check(&src)?;
        }

        #[test]
        fn random_cql_fragments_never_panic(src in fragment_script()) {
            check(&src)?;
        }

        #[test]
        fn mutated_statements_never_panic(
            pick in any::<usize>(),
            mutations in prop::collection::vec(mutation(), 1..4),
        ) {
            let corpus = corpus();
            let mut src = corpus[pick % corpus.len()].clone();
            for m in &mutations {
                src = mutate(&src, m);
            }
            check(&src)?;
        }

        #[test]
        fn mutated_scripts_keep_their_other_statements(
            pick in any::<usize>(),
            m in mutation(),
        ) {
            // A broken statement never changes how the statements before it parse. (What follows
            // it can change: a mutation that opens a string, a comment or a batch swallows the
            // rest of the script, as it does in cqlsh.)
            let corpus = corpus();
            let first = &corpus[pick % corpus.len()];
            let middle = mutate(&corpus[(pick / 7) % corpus.len()], &m);
            let script = format!("{first};\n{middle};\nSELECT * FROM t;");
            check(&script)?;
            let results = parse_script(&script);
            let first_alone = parse_statement(first);
            prop_assert_eq!(results.first().cloned().map(|r| r.map(|s| s.kind)), Some(first_alone.map(|s| s.kind)));
        }
    }

    #[test]
    fn the_corpus_is_big_and_valid() {
        // Guards the properties above against a corpus that silently shrank or broke.
        let corpus = corpus();
        assert!(corpus.len() >= 60, "{}", corpus.len());
        for stmt in &corpus {
            assert!(parse_statement(stmt).is_ok(), "{stmt}");
        }
    }
}
