//! Executor tests: CQL in, rows and errors out.

use super::*;

fn engine() -> Engine {
    Engine::new(EngineConfig::default())
}

fn engine_with(rules: ViewRules, build_rate: BuildRate) -> Engine {
    Engine::new(EngineConfig {
        rules,
        build_rate,
        ..EngineConfig::default()
    })
}

/// Runs statements that must all succeed.
fn ok(e: &mut Engine, src: &str) {
    for (i, r) in e.execute_script(src).into_iter().enumerate() {
        if let Err(err) = r {
            panic!("statement {i} of {src:?} failed: {err}");
        }
    }
}

/// The single statement's error.
fn err(e: &mut Engine, src: &str) -> CqlError {
    let mut rs = e.execute_script(src);
    assert_eq!(rs.len(), 1, "{src:?} is one statement");
    match rs.remove(0) {
        Ok(r) => panic!("{src:?} should fail, got {r:?}"),
        Err(err) => err,
    }
}

/// A SELECT's rows, values rendered as cqlsh does, null as "null".
pub(super) fn rows(e: &mut Engine, src: &str) -> Vec<Vec<String>> {
    let mut rs = e.execute_script(src);
    match rs.remove(0) {
        Ok(QueryResult::Rows(r)) => r
            .rows
            .iter()
            .map(|row| {
                row.iter()
                    .map(|v| v.as_ref().map_or("null".to_string(), Value::to_cql))
                    .collect()
            })
            .collect(),
        other => panic!("{src:?} should return rows, got {other:?}"),
    }
}

fn columns(e: &mut Engine, src: &str) -> Vec<String> {
    match e.execute_script(src).remove(0) {
        Ok(QueryResult::Rows(r)) => r.columns,
        other => panic!("{src:?} should return rows, got {other:?}"),
    }
}

fn table(rs: &[&[&str]]) -> Vec<Vec<String>> {
    rs.iter().map(|r| r.iter().map(|s| s.to_string()).collect()).collect()
}

const RANKING: &str = "
CREATE TABLE ranking (year INT, place INT, athlete TEXT, PRIMARY KEY(year, place));
INSERT INTO ranking (year, place, athlete) VALUES (1986, 1, 'Frank');
INSERT INTO ranking (year, place, athlete) VALUES (1986, 2, 'Tom');
INSERT INTO ranking (year, place, athlete) VALUES (1986, 3, 'Mike');
INSERT INTO ranking (year, place, athlete) VALUES (1987, 1, 'John');
INSERT INTO ranking (year, place, athlete) VALUES (1987, 2, 'Frank');
INSERT INTO ranking (year, place, athlete) VALUES (1987, 3, 'Tom');
";

#[test]
fn seed_002_ranking_and_a_view_built_in_the_background() {
    // Three base rows a second: one partition of the seed's per second of engine clock.
    let mut e = engine_with(ViewRules::current(), BuildRate::RowsPerSecond(3));
    ok(&mut e, RANKING);
    assert_eq!(
        rows(&mut e, "SELECT * FROM ranking WHERE year = 1987;"),
        table(&[&["1987", "1", "John"], &["1987", "2", "Frank"], &["1987", "3", "Tom"]])
    );
    let created = e.execute_script(
        "CREATE MATERIALIZED VIEW ranking_by_athlete AS SELECT * FROM ranking \
         WHERE athlete IS NOT NULL AND year IS NOT NULL AND place IS NOT NULL \
         PRIMARY KEY (athlete, year, place);",
    );
    assert_eq!(
        created,
        vec![Ok(QueryResult::Done {
            warnings: vec![VIEW_WARNING.to_string()]
        })]
    );
    // The clock has not moved: the build has not started.
    assert_eq!(
        rows(
            &mut e,
            "SELECT keyspace_name, view_name, keys_built FROM system.view_builds_in_progress;"
        ),
        table(&[&["ks", "ranking_by_athlete", "0"]])
    );
    // Statements alone do not move it either.
    assert_eq!(
        rows(&mut e, "VIEW BUILD STATUS;"),
        table(&[&["ks", "ranking_by_athlete", "STARTED", "0", "2"]])
    );
    assert_eq!(e.view_builds_done_at(), Some(e.now_micros() + 2_000_000));
    // A second pays for one partition; this write lands mid-build.
    ok(&mut e, "ADVANCE CLOCK 1000;");
    ok(
        &mut e,
        "INSERT INTO ranking (year, place, athlete) VALUES (1988, 1, 'Frank');",
    );
    assert_eq!(
        rows(&mut e, "VIEW BUILD STATUS ranking_by_athlete;"),
        table(&[&["ks", "ranking_by_athlete", "STARTED", "1", "1"]])
    );
    // Half a second short of the second partition's three rows.
    ok(&mut e, "ADVANCE CLOCK 500;");
    assert_eq!(
        rows(
            &mut e,
            "SELECT view_name, keys_built FROM system.view_builds_in_progress;"
        ),
        table(&[&["ranking_by_athlete", "1"]])
    );
    let before = e.now_micros();
    assert_eq!(
        rows(&mut e, "WAIT FOR VIEW BUILDS;"),
        table(&[&["ks", "ranking_by_athlete", "SUCCESS", "2", "0"]])
    );
    assert_eq!(
        e.now_micros() - before,
        500_000,
        "the wait took exactly what was missing"
    );
    assert_eq!(e.view_builds_done_at(), None);
    assert_eq!(
        rows(&mut e, "SELECT * FROM system.materialized_views_builds_in_progress;").len(),
        0
    );
    assert_eq!(
        rows(&mut e, "SELECT * FROM system.built_materialized_views;"),
        table(&[&["ks", "ranking_by_athlete"]])
    );
    assert_eq!(
        rows(&mut e, "SELECT view_name, base_table_name, include_all_columns, where_clause FROM system_schema.views WHERE keyspace_name = 'ks';"),
        table(&[&[
            "ranking_by_athlete",
            "ranking",
            "True",
            "athlete IS NOT NULL AND year IS NOT NULL AND place IS NOT NULL"
        ]])
    );
    assert_eq!(
        rows(&mut e, "SELECT * FROM ranking_by_athlete WHERE athlete = 'Frank';"),
        table(&[
            &["Frank", "1986", "1"],
            &["Frank", "1987", "2"],
            &["Frank", "1988", "1"]
        ])
    );
}

/// The default rate has no limit: the statement after CREATE already sees the whole view,
/// as a Cassandra client sees a small table's view milliseconds later (seed 002).
#[test]
fn an_unlimited_build_is_done_before_the_next_statement() {
    let mut e = engine();
    ok(&mut e, RANKING);
    ok(
        &mut e,
        "CREATE MATERIALIZED VIEW ranking_by_athlete AS SELECT * FROM ranking \
         WHERE athlete IS NOT NULL AND year IS NOT NULL AND place IS NOT NULL \
         PRIMARY KEY (athlete, year, place);",
    );
    let before = e.now_micros();
    assert_eq!(
        rows(&mut e, "SELECT * FROM ranking_by_athlete WHERE athlete = 'Frank';"),
        table(&[&["Frank", "1986", "1"], &["Frank", "1987", "2"]])
    );
    assert_eq!(e.now_micros(), before, "no time had to pass");
    assert!(rows(&mut e, "SELECT * FROM system.view_builds_in_progress;").is_empty());
}

/// A rate counts rows, not partitions: a wide partition takes as long as its rows, and
/// `run_builds` is the whole API a front end needs (the clock it is given moves the build).
#[test]
fn a_build_rate_counts_base_rows_and_run_builds_moves_it() {
    let mut e = engine_with(ViewRules::current(), BuildRate::RowsPerSecond(2));
    ok(&mut e, "CREATE TABLE t (k int, c int, v int, PRIMARY KEY (k, c));");
    for c in 0..4 {
        ok(&mut e, &format!("INSERT INTO t (k, c, v) VALUES (1, {c}, {c});"));
    }
    ok(&mut e, "INSERT INTO t (k, c, v) VALUES (2, 0, 0);");
    ok(
        &mut e,
        "CREATE MATERIALIZED VIEW mv AS SELECT * FROM t WHERE v IS NOT NULL AND k IS NOT NULL AND c IS NOT NULL PRIMARY KEY (v, k, c);",
    );
    let t0 = e.now_micros();
    // Token order puts k = 1 (four rows) first: two seconds at two rows a second.
    assert_eq!(e.run_builds(t0 + 1_999_999), 0);
    assert_eq!(e.run_builds(t0 + 2_000_000), 1);
    assert!(e.view_builds_running());
    assert_eq!(e.view_builds_done_at(), Some(t0 + 2_500_000));
    // A clock that goes backwards moves nothing.
    assert_eq!(e.run_builds(t0), 0);
    assert_eq!(e.run_builds(t0 + 2_500_000), 1);
    assert!(!e.view_builds_running());
    assert_eq!(rows(&mut e, "SELECT * FROM mv;").len(), 5);
    assert_eq!(
        err(&mut e, "VIEW BUILD STATUS t;").message,
        "Materialized view 'ks.t' doesn't exist"
    );
}

#[test]
fn seed_002_rejected_views() {
    let mut e = engine();
    ok(&mut e, RANKING);
    let no_year = err(
        &mut e,
        "CREATE MATERIALIZED VIEW champion AS SELECT athlete, place FROM ranking \
         WHERE athlete IS NOT NULL AND place IS NOT NULL PRIMARY KEY (athlete, place);",
    );
    assert_eq!(no_year.kind, ErrorKind::Invalid);
    assert_eq!(
        no_year.message,
        "Cannot create materialized view 'champion' without primary key columns year from base table 'ranking'"
    );
    let filter = err(
        &mut e,
        "CREATE MATERIALIZED VIEW champion AS SELECT athlete FROM ranking \
         WHERE place = 1 AND athlete IS NOT NULL PRIMARY KEY (athlete);",
    );
    assert_eq!(
        filter.message,
        "Cannot create materialized view 'champion' without primary key columns year, place from base table 'ranking'"
    );
    // The seed's working alternative: place as partition key, filtering by reading.
    ok(
        &mut e,
        "CREATE MATERIALIZED VIEW champion AS SELECT * FROM ranking \
         WHERE place IS NOT NULL AND year IS NOT NULL AND athlete IS NOT NULL \
         PRIMARY KEY (place, year, athlete);",
    );
    e.finish_view_builds();
    assert_eq!(
        rows(&mut e, "SELECT athlete FROM champion WHERE place = 1;"),
        table(&[&["Frank"], &["John"]])
    );
}

#[test]
fn view_schema_rules() {
    let mut e = engine();
    ok(
        &mut e,
        "CREATE TABLE t (k int, c int, a int, b int, s int static, PRIMARY KEY (k, c));",
    );
    let cases = [
        (
            "CREATE MATERIALIZED VIEW v AS SELECT k, c, a, b FROM t WHERE k IS NOT NULL AND c IS NOT NULL AND a IS NOT NULL AND b IS NOT NULL PRIMARY KEY ((a, b), k, c);",
            "Cannot include more than one non-primary key column in materialized view primary key (got a, b)",
        ),
        (
            "CREATE MATERIALIZED VIEW v AS SELECT * FROM t WHERE k IS NOT NULL AND c IS NOT NULL PRIMARY KEY (c, k);",
            "Cannot include static column 's' in materialized view 'v'",
        ),
        (
            "CREATE MATERIALIZED VIEW v AS SELECT k, c, a FROM t WHERE k IS NOT NULL PRIMARY KEY (c, k);",
            "Primary key columns c must be restricted with 'IS NOT NULL' or otherwise",
        ),
        (
            "CREATE MATERIALIZED VIEW v AS SELECT k, c, a FROM t WHERE k IS NOT NULL AND c IS NOT NULL AND a = 1 PRIMARY KEY (c, k);",
            "Non-primary key columns can only be restricted with 'IS NOT NULL' (got: a restricted illegally)",
        ),
        (
            "CREATE MATERIALIZED VIEW v AS SELECT k, c AS x FROM t WHERE k IS NOT NULL AND c IS NOT NULL PRIMARY KEY (c, k);",
            "Cannot use aliases when defining a materialized view (got x)",
        ),
        (
            "CREATE MATERIALIZED VIEW v AS SELECT k, c FROM nope WHERE k IS NOT NULL AND c IS NOT NULL PRIMARY KEY (c, k);",
            "Base table 'nope' doesn't exist",
        ),
        (
            "CREATE MATERIALIZED VIEW t AS SELECT k, c FROM t WHERE k IS NOT NULL AND c IS NOT NULL PRIMARY KEY (c, k);",
            "Cannot create materialized view 't' - a table with the same name already exists",
        ),
        (
            "CREATE MATERIALIZED VIEW v AS SELECT k, c FROM t WHERE k IS NOT NULL AND c IS NOT NULL AND token(k) > 0 PRIMARY KEY (c, k);",
            "Cannot use token relation when defining a materialized view",
        ),
        (
            "CREATE MATERIALIZED VIEW v AS SELECT k, c FROM t WHERE k IS NOT NULL AND c IS NOT NULL PRIMARY KEY (c, k) WITH default_time_to_live = 5;",
            "Cannot set default_time_to_live for a materialized view. Data in a materialized view always expire at the same time than the corresponding data in the parent table.",
        ),
    ];
    for (stmt, msg) in cases {
        let got = err(&mut e, stmt);
        assert_eq!((got.kind, got.message.as_str()), (ErrorKind::Invalid, msg), "{stmt}");
    }
    ok(
        &mut e,
        "CREATE MATERIALIZED VIEW v AS SELECT k, c, a FROM t WHERE k IS NOT NULL AND c IS NOT NULL AND a IS NOT NULL PRIMARY KEY (a, c, k);",
    );
    let again = err(
        &mut e,
        "CREATE MATERIALIZED VIEW v AS SELECT k, c, a FROM t WHERE k IS NOT NULL AND c IS NOT NULL AND a IS NOT NULL PRIMARY KEY (a, c, k);",
    );
    assert_eq!(again.kind, ErrorKind::AlreadyExists);
    let of_view = err(
        &mut e,
        "CREATE MATERIALIZED VIEW w AS SELECT * FROM v WHERE k IS NOT NULL AND c IS NOT NULL AND a IS NOT NULL PRIMARY KEY (k, c, a);",
    );
    assert_eq!(
        of_view.message,
        "Materialized views cannot be created against other materialized views"
    );
    assert_eq!(
        err(&mut e, "DROP TABLE t;").message,
        "Cannot drop a table when materialized views still depend on it (ks.v)"
    );
    assert_eq!(
        err(&mut e, "INSERT INTO v (a, c, k) VALUES (1, 1, 1);").message,
        "Cannot directly modify a materialized view"
    );
    assert_eq!(
        err(&mut e, "DROP TABLE v;").message,
        "Cannot use DROP TABLE on a materialized view. Please use DROP MATERIALIZED VIEW instead."
    );
    assert_eq!(
        err(&mut e, "TRUNCATE v;").message,
        "Cannot TRUNCATE materialized view directly; must truncate base table instead"
    );
    ok(&mut e, "DROP MATERIALIZED VIEW v; DROP TABLE t;");
    assert_eq!(
        err(&mut e, "DROP MATERIALIZED VIEW v;").message,
        "Materialized view 'ks.v' doesn't exist"
    );
}

#[test]
fn seed_003_user_by_country_and_the_abc_example() {
    let mut e = engine();
    ok(
        &mut e,
        "CREATE TABLE user (id int PRIMARY KEY, login text, firstname text, lastname text, country text);
         CREATE MATERIALIZED VIEW user_by_country AS SELECT * FROM user
           WHERE country IS NOT NULL AND id IS NOT NULL PRIMARY KEY (country, id);
         INSERT INTO user (id, login, country) VALUES (1, 'jdoe', 'UK');
         UPDATE user SET country = 'US' WHERE id = 1;
         UPDATE user SET country = 'FR' WHERE id = 1;",
    );
    assert_eq!(
        rows(&mut e, "SELECT country, id, login FROM user_by_country;"),
        table(&[&["FR", "1", "jdoe"]])
    );
    // The a/b/c example under 3.0's shadowable tombstones.
    let mut e = engine_with(ViewRules::cassandra_30(), BuildRate::Unlimited);
    ok(
        &mut e,
        "CREATE TABLE base (a int, b int, c int, PRIMARY KEY (a));
         CREATE MATERIALIZED VIEW mv AS SELECT * FROM base WHERE a IS NOT NULL AND b IS NOT NULL PRIMARY KEY (a, b);
         INSERT INTO base (a, b, c) VALUES (0, 0, 1) USING TIMESTAMP 0;
         UPDATE base USING TIMESTAMP 2 SET b = 1 WHERE a = 0;
         UPDATE base USING TIMESTAMP 3 SET b = 0 WHERE a = 0;",
    );
    assert_eq!(rows(&mut e, "SELECT * FROM mv;"), table(&[&["0", "0", "1"]]));
    assert_eq!(
        rows(&mut e, "SELECT WRITETIME(c) FROM mv WHERE a = 0 AND b = 0;"),
        table(&[&["0"]])
    );
}

#[test]
fn a_failed_statement_changes_nothing() {
    let mut e = engine();
    ok(&mut e, "CREATE TABLE t (k int, c int, v int, PRIMARY KEY (k, c));");
    let r = e.execute_script(
        "BEGIN BATCH
           INSERT INTO t (k, c, v) VALUES (1, 1, 1);
           INSERT INTO t (k, c, v) VALUES (1, 2, 'two');
         APPLY BATCH;",
    );
    assert_eq!(
        r[0].as_ref().map_err(|e| e.message.clone()),
        Err("Invalid STRING constant (two) for \"v\" of type int".to_string())
    );
    assert!(rows(&mut e, "SELECT * FROM t;").is_empty());
}

#[test]
fn batch_statements_share_one_timestamp_and_timestamps_increase() {
    let mut e = engine();
    ok(
        &mut e,
        "CREATE TABLE t (k int, c int, v int, PRIMARY KEY (k, c));
         BEGIN UNLOGGED BATCH
           INSERT INTO t (k, c, v) VALUES (1, 1, 1);
           UPDATE t SET v = 2 WHERE k = 1 AND c = 2;
         APPLY BATCH;
         INSERT INTO t (k, c, v) VALUES (1, 3, 3);",
    );
    let w = rows(&mut e, "SELECT WRITETIME(v) FROM t WHERE k = 1;");
    let ts: Vec<i64> = w.iter().map(|r| r[0].parse().unwrap()).collect();
    assert_eq!(ts[0], ts[1], "one batch, one timestamp");
    assert_eq!(ts[2], ts[0] + 1, "the next statement gets a strictly greater one");
    assert_eq!(ts[0], e.now_micros(), "the first write uses the clock");
}

#[test]
fn ttl_expires_with_the_clock() {
    let mut e = engine();
    ok(
        &mut e,
        "CREATE TABLE t (k int PRIMARY KEY, v int, w int);
         INSERT INTO t (k, v) VALUES (1, 1) USING TTL 10;
         UPDATE t USING TTL 100 SET w = 2 WHERE k = 1;",
    );
    assert_eq!(rows(&mut e, "SELECT TTL(v), TTL(w) FROM t;"), table(&[&["10", "100"]]));
    ok(&mut e, "ADVANCE CLOCK 10000;");
    assert_eq!(rows(&mut e, "SELECT * FROM t;"), table(&[&["1", "null", "2"]]));
    e.advance_millis(90_000);
    assert!(rows(&mut e, "SELECT * FROM t;").is_empty());
}

#[test]
fn ttl_on_the_view_key_column_expires_the_view_row() {
    let mut e = engine();
    ok(
        &mut e,
        "CREATE TABLE t (k int PRIMARY KEY, v int, w int);
         CREATE MATERIALIZED VIEW mv AS SELECT * FROM t WHERE v IS NOT NULL AND k IS NOT NULL PRIMARY KEY (v, k);
         INSERT INTO t (k, w) VALUES (1, 5);
         UPDATE t USING TTL 5 SET v = 7 WHERE k = 1;",
    );
    assert_eq!(rows(&mut e, "SELECT * FROM mv;"), table(&[&["7", "1", "5"]]));
    ok(&mut e, "ADVANCE CLOCK 5000;");
    assert!(rows(&mut e, "SELECT * FROM mv;").is_empty());
    assert_eq!(rows(&mut e, "SELECT * FROM t;"), table(&[&["1", "null", "5"]]));
}

#[test]
fn deletes_rows_ranges_and_partitions() {
    let mut e = engine();
    ok(
        &mut e,
        "CREATE TABLE t (k int, c1 int, c2 int, v int, PRIMARY KEY (k, c1, c2)) WITH CLUSTERING ORDER BY (c1 ASC, c2 DESC);
         CREATE MATERIALIZED VIEW mv AS SELECT * FROM t WHERE k IS NOT NULL AND c1 IS NOT NULL AND c2 IS NOT NULL PRIMARY KEY (c1, k, c2);",
    );
    for c1 in 1..=3 {
        for c2 in 1..=3 {
            ok(
                &mut e,
                &format!("INSERT INTO t (k, c1, c2, v) VALUES (1, {c1}, {c2}, 0);"),
            );
        }
    }
    assert_eq!(
        rows(&mut e, "SELECT c2 FROM t WHERE k = 1 AND c1 = 1;"),
        table(&[&["3"], &["2"], &["1"]]),
        "c2 is DESC"
    );
    ok(&mut e, "DELETE FROM t WHERE k = 1 AND c1 = 1 AND c2 > 1;");
    assert_eq!(
        rows(&mut e, "SELECT c2 FROM t WHERE k = 1 AND c1 = 1;"),
        table(&[&["1"]])
    );
    assert_eq!(rows(&mut e, "SELECT c2 FROM mv WHERE c1 = 1;"), table(&[&["1"]]));
    ok(&mut e, "DELETE FROM t WHERE k = 1 AND c1 = 2;");
    assert!(rows(&mut e, "SELECT * FROM mv WHERE c1 = 2;").is_empty());
    ok(&mut e, "DELETE FROM t WHERE k = 1 AND c1 = 3 AND c2 = 3;");
    assert_eq!(
        rows(&mut e, "SELECT c1, c2 FROM t WHERE k = 1 AND c1 >= 2;"),
        table(&[&["3", "2"], &["3", "1"]])
    );
    assert_eq!(
        rows(
            &mut e,
            "SELECT c2 FROM t WHERE k = 1 AND c1 = 3 ORDER BY c1 DESC, c2 ASC;"
        ),
        table(&[&["1"], &["2"]])
    );
    assert_eq!(rows(&mut e, "SELECT c2 FROM t WHERE k = 1 LIMIT 2;").len(), 2);
    ok(&mut e, "DELETE FROM t WHERE k = 1;");
    assert!(rows(&mut e, "SELECT * FROM t;").is_empty());
    assert!(rows(&mut e, "SELECT * FROM mv;").is_empty());
}

#[test]
fn collections() {
    let mut e = engine();
    ok(
        &mut e,
        "CREATE TABLE t (k int PRIMARY KEY, l list<int>, s set<text>, m map<text, int>);
         INSERT INTO t (k, l, s, m) VALUES (1, [1, 2], {'b', 'a'}, {'x': 1});
         UPDATE t SET l = l + [3], s = s - {'a'}, m['y'] = 2 WHERE k = 1;
         UPDATE t SET l = [0] + l WHERE k = 1;
         UPDATE t SET l[1] = 10 WHERE k = 1;
         UPDATE t SET l = l - [2] WHERE k = 1;
         DELETE m['x'] FROM t WHERE k = 1;",
    );
    assert_eq!(
        rows(&mut e, "SELECT l, s, m FROM t;"),
        table(&[&["[0, 10, 3]", "{'b'}", "{'y': 2}"]])
    );
    ok(&mut e, "UPDATE t SET s = {'z'}, l = null WHERE k = 1;");
    assert_eq!(rows(&mut e, "SELECT l, s FROM t;"), table(&[&["null", "{'z'}"]]));
    assert_eq!(
        err(&mut e, "UPDATE t SET l[7] = 1 WHERE k = 1;").message,
        "List index 7 out of bound, list has size 0"
    );
    assert_eq!(
        err(&mut e, "SELECT WRITETIME(l) FROM t;").message,
        "Cannot use selection function writetime on non-frozen collection l"
    );
}

#[test]
fn select_star_orders_columns_like_cassandra() {
    let mut e = engine();
    ok(
        &mut e,
        "CREATE TABLE t (z int, b int, a int, y int static, k2 int, k1 int, PRIMARY KEY ((k1, k2), z, b));",
    );
    assert_eq!(columns(&mut e, "SELECT * FROM t;"), ["k1", "k2", "z", "b", "y", "a"]);
}

#[test]
fn writes_during_a_build_are_not_lost() {
    let mut e = engine_with(ViewRules::current(), BuildRate::RowsPerSecond(1));
    ok(&mut e, "CREATE TABLE t (k int PRIMARY KEY, v int);");
    for k in 0..5 {
        ok(&mut e, &format!("INSERT INTO t (k, v) VALUES ({k}, {k});"));
    }
    ok(
        &mut e,
        "CREATE MATERIALIZED VIEW mv AS SELECT * FROM t WHERE v IS NOT NULL AND k IS NOT NULL PRIMARY KEY (v, k);",
    );
    // Switch every row's view key while the build is running, one partition built per write.
    for k in 0..5 {
        ok(&mut e, &format!("UPDATE t SET v = {} WHERE k = {k};", k + 10));
        ok(&mut e, "ADVANCE CLOCK 1000;");
    }
    ok(&mut e, "INSERT INTO t (k, v) VALUES (9, 9);");
    e.finish_view_builds();
    let mut got = rows(&mut e, "SELECT v, k FROM mv;");
    got.sort();
    let mut want: Vec<Vec<String>> = (0..5)
        .map(|k| vec![(k + 10).to_string(), k.to_string()])
        .chain([vec!["9".to_string(), "9".to_string()]])
        .collect();
    want.sort();
    assert_eq!(got, want);
}

#[test]
fn schema_and_statement_errors() {
    let mut e = engine();
    ok(&mut e, "CREATE TABLE t (k int, c int, v int, PRIMARY KEY (k, c));");
    let cases = [
        ("CREATE TABLE t (k int PRIMARY KEY);", ErrorKind::AlreadyExists, "Cannot add already existing table \"t\" to keyspace \"ks\""),
        ("CREATE TABLE u (k int, v int);", ErrorKind::Invalid, "No PRIMARY KEY specifed for table 'u' (exactly one required)"),
        ("CREATE TABLE u (k int PRIMARY KEY, l list<int>, PRIMARY KEY (l));", ErrorKind::Invalid, "Multiple PRIMARY KEY specifed for table 'u' (exactly one required)"),
        ("CREATE TABLE u (k list<int> PRIMARY KEY);", ErrorKind::Invalid, "Invalid non-frozen collection type 'list<int>' for PRIMARY KEY column 'k'"),
        ("INSERT INTO t (k, v) VALUES (1, 1);", ErrorKind::Invalid, "Some clustering keys are missing: c"),
        ("INSERT INTO t (k, c, x) VALUES (1, 1, 1);", ErrorKind::Invalid, "Undefined column name x"),
        ("INSERT INTO t (k, c, v) VALUES (1, 1);", ErrorKind::Invalid, "Unmatched column names/values"),
        ("INSERT INTO t (k, c, v) VALUES (1, 1, 1) USING TTL -1;", ErrorKind::Invalid, "A TTL must be greater or equal to 0, but was -1"),
        ("UPDATE t SET k = 1 WHERE k = 1 AND c = 1;", ErrorKind::Invalid, "PRIMARY KEY part k found in SET part"),
        ("UPDATE t SET v = 1 WHERE k = 1;", ErrorKind::Invalid, "Some clustering keys are missing: c"),
        ("SELECT * FROM nope;", ErrorKind::Invalid, "unconfigured table nope"),
        ("SELECT * FROM t WHERE v = 1;", ErrorKind::Invalid, "Cannot execute this query as it might involve data filtering and thus may have unpredictable performance. If you want to execute this query despite the performance unpredictability, use ALLOW FILTERING"),
        ("SELECT * FROM t LIMIT 0;", ErrorKind::Invalid, "LIMIT must be strictly positive"),
        ("USE nope;", ErrorKind::Invalid, "Keyspace 'nope' does not exist"),
        ("INSERT INTO t (k, c, v) VALUES (99999999999, 1, 1);", ErrorKind::Invalid, "Unable to make int from '99999999999'"),
    ];
    for (stmt, kind, msg) in cases {
        let got = err(&mut e, stmt);
        assert_eq!((got.kind, got.message.as_str()), (kind, msg), "{stmt}");
    }
    let syntax = err(&mut e, "SELECT * FORM t;");
    assert_eq!(syntax.kind, ErrorKind::Syntax);
    assert!(syntax.message.starts_with("line 1:10"), "{}", syntax.message);
}

#[test]
fn keyspaces_and_use() {
    let mut e = engine();
    ok(
        &mut e,
        "CREATE KEYSPACE app WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1};
         USE app;
         CREATE TABLE t (k int PRIMARY KEY, v int);
         INSERT INTO t (k, v) VALUES (1, 1);",
    );
    assert_eq!(e.current_keyspace(), "app");
    assert_eq!(rows(&mut e, "SELECT * FROM app.t;"), table(&[&["1", "1"]]));
    assert_eq!(err(&mut e, "SELECT * FROM ks.t;").message, "unconfigured table t");
    assert_eq!(
        err(
            &mut e,
            "CREATE KEYSPACE app WITH replication = {'class': 'SimpleStrategy'};"
        )
        .kind,
        ErrorKind::AlreadyExists
    );
}

#[test]
fn static_only_partitions_and_statics() {
    let mut e = engine();
    ok(
        &mut e,
        "CREATE TABLE t (k int, c int, s int static, v int, PRIMARY KEY (k, c));
         INSERT INTO t (k, s) VALUES (1, 7);",
    );
    assert_eq!(rows(&mut e, "SELECT * FROM t;"), table(&[&["1", "null", "7", "null"]]));
    ok(&mut e, "INSERT INTO t (k, c, v) VALUES (1, 1, 1);");
    assert_eq!(rows(&mut e, "SELECT * FROM t;"), table(&[&["1", "1", "7", "1"]]));
}

#[test]
fn unselected_columns_keep_view_rows_alive_through_cql() {
    let mut e = engine();
    ok(
        &mut e,
        "CREATE TABLE t (k int, c int, a int, b int, PRIMARY KEY (k, c));
         CREATE MATERIALIZED VIEW mv AS SELECT k, c, a FROM t WHERE k IS NOT NULL AND c IS NOT NULL PRIMARY KEY (c, k);
         UPDATE t SET b = 1 WHERE k = 1 AND c = 2;",
    );
    assert_eq!(rows(&mut e, "SELECT * FROM mv;"), table(&[&["2", "1", "null"]]));
    ok(&mut e, "DELETE b FROM t WHERE k = 1 AND c = 2;");
    assert!(rows(&mut e, "SELECT * FROM mv;").is_empty());
}

#[test]
fn truncate_clears_base_and_views() {
    let mut e = engine();
    ok(
        &mut e,
        "CREATE TABLE t (k int PRIMARY KEY, v int);
         CREATE MATERIALIZED VIEW mv AS SELECT * FROM t WHERE v IS NOT NULL AND k IS NOT NULL PRIMARY KEY (v, k);
         INSERT INTO t (k, v) VALUES (1, 1);
         TRUNCATE t;",
    );
    assert!(rows(&mut e, "SELECT * FROM t;").is_empty());
    assert!(rows(&mut e, "SELECT * FROM mv;").is_empty());
}

/// Mutated statements never panic, and a statement that fails leaves every table as it was.
#[test]
fn mutated_statements_fail_cleanly() {
    let corpus = [
        "INSERT INTO t (k, c, v, w, l, s, m) VALUES (1, 2, 3, 'a', [1, 2], {1}, {'x': 1}) USING TTL 100;",
        "INSERT INTO t (k, c, v) VALUES (2, 1, 5) USING TIMESTAMP 10;",
        "UPDATE t SET v = 4, w = 'b', l = l + [3], s = s - {1}, m['y'] = 2 WHERE k = 1 AND c = 2;",
        "UPDATE t USING TTL 5 SET l = [9] + l, m = m - {'x'} WHERE k IN (1, 2) AND c = 2;",
        "UPDATE t SET l[0] = 7 WHERE k = 1 AND c = 2;",
        "DELETE v, l[0], m['x'] FROM t WHERE k = 1 AND c = 2;",
        "DELETE FROM t WHERE k = 1 AND c > 1 AND c <= 3;",
        "DELETE FROM t USING TIMESTAMP 5 WHERE k = 2;",
        "BEGIN BATCH INSERT INTO t (k, c, v) VALUES (3, 1, 1); UPDATE t SET w = 'z' WHERE k = 3 AND c = 2; APPLY BATCH;",
        "SELECT k, c, WRITETIME(v), TTL(w) FROM t WHERE k = 1 AND c >= 1 ORDER BY c DESC LIMIT 3;",
        "SELECT * FROM mv WHERE v = 3;",
        "CREATE MATERIALIZED VIEW mv2 AS SELECT k, c, w FROM t WHERE k IS NOT NULL AND c IS NOT NULL AND w IS NOT NULL PRIMARY KEY (w, k, c);",
        "CREATE TABLE u (a int, b text, c decimal, d timestamp, PRIMARY KEY ((a, b), c)) WITH CLUSTERING ORDER BY (c DESC);",
        "INSERT INTO u (a, b, c, d) VALUES (1, 'x', 1.5, '2015-05-03 13:30:54.234');",
        "ALTER TABLE t ADD z int;",
        "TRUNCATE u;",
        "DROP MATERIALIZED VIEW mv2;",
    ];
    let replacements = [
        "null",
        "'x'",
        "1.5",
        "-1",
        "99999999999",
        "k",
        "v",
        "(",
        ")",
        "?",
        "[1]",
        "{}",
        "IN",
        ">",
        "=",
        "AND",
        "now()",
        "0x00",
        "1e400",
        "c",
    ];
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n as u64) as usize
    };
    let mut e = engine();
    ok(
        &mut e,
        "CREATE TABLE t (k int, c int, v int, w text, l list<int>, s set<int>, m map<text, int>, PRIMARY KEY (k, c));
         CREATE MATERIALIZED VIEW mv AS SELECT * FROM t WHERE v IS NOT NULL AND k IS NOT NULL AND c IS NOT NULL PRIMARY KEY (v, k, c);",
    );
    let snapshot = |e: &Engine| -> Vec<(String, String, Table)> {
        e.tables()
            .map(|(k, n, t)| (k.to_string(), n.to_string(), t.clone()))
            .collect()
    };
    let mut failures = 0;
    for _ in 0..3000 {
        let stmt = corpus[next(corpus.len())];
        let mut words: Vec<String> = stmt.split(' ').map(str::to_string).collect();
        for _ in 0..=next(2) {
            let i = next(words.len());
            match next(4) {
                0 => words[i] = replacements[next(replacements.len())].to_string(),
                1 => {
                    words.remove(i);
                    if words.is_empty() {
                        words.push(";".into());
                    }
                }
                2 => {
                    let w = words[i].clone();
                    words.insert(i, w);
                }
                _ => {
                    let j = next(words.len());
                    words.swap(i, j);
                }
            }
        }
        let src = words.join(" ");
        for parsed in crate::cql::parse_script(&src) {
            let Ok(parsed) = parsed else { continue };
            // The background builder may run before any statement, a failing one too; that is
            // time passing, not the statement's doing, so it is let run first.
            e.run_builds(e.now_micros());
            let before = snapshot(&e);
            if e.execute(&parsed).is_err() {
                failures += 1;
                assert!(before == snapshot(&e), "{src:?} failed and changed a table");
            }
        }
    }
    assert!(failures > 100, "the mutations should mostly produce invalid statements");
}

#[test]
fn allow_filtering_and_distinct() {
    let mut e = engine();
    ok(
        &mut e,
        "CREATE TABLE t (k int, c int, v int, l list<int>, PRIMARY KEY (k, c));
         INSERT INTO t (k, c, v, l) VALUES (1, 1, 10, [1]);
         INSERT INTO t (k, c, v, l) VALUES (1, 2, 20, [2]);
         INSERT INTO t (k, c, v) VALUES (2, 1, 10);",
    );
    let mut got = rows(&mut e, "SELECT k, c FROM t WHERE v = 10 ALLOW FILTERING;");
    got.sort();
    assert_eq!(got, table(&[&["1", "1"], &["2", "1"]]));
    assert_eq!(
        rows(&mut e, "SELECT c FROM t WHERE k = 1 AND l CONTAINS 2 ALLOW FILTERING;"),
        table(&[&["2"]])
    );
    assert_eq!(rows(&mut e, "SELECT DISTINCT k FROM t;").len(), 2);
    assert_eq!(
        err(&mut e, "SELECT DISTINCT k, v FROM t;").message,
        "SELECT DISTINCT queries must only request partition key columns and/or static columns (not v)"
    );
    assert_eq!(rows(&mut e, "SELECT COUNT(*) FROM t;"), table(&[&["3"]]));
    // Partitions scan in token order; token(1) is Cassandra's well-known value.
    match e.execute_script("SELECT token(k), k FROM t;").remove(0) {
        Ok(QueryResult::Rows(r)) => {
            assert_eq!(r.columns, ["system.token(k)", "k"]);
            assert_eq!(
                r.rows,
                vec![
                    vec![Some(Value::BigInt(-4_069_959_284_402_364_209)), Some(Value::Int(1))],
                    vec![Some(Value::BigInt(-4_069_959_284_402_364_209)), Some(Value::Int(1))],
                    vec![Some(Value::BigInt(-3_248_873_570_005_575_792)), Some(Value::Int(2))],
                ]
            );
        }
        other => panic!("token(k) should select, got {other:?}"),
    }
}

/// ViewTimesTest `complexTimestampUpdateTest` (`docs/cassandra-semantics.md` §4.4, §9): under both rule sets the entry
/// switched away at 3 comes back at 4 with its cells, and a later cell update at an old
/// timestamp reaches it.
#[test]
fn complex_timestamp_updates_under_both_rule_sets() {
    for rules in [ViewRules::current(), ViewRules::cassandra_30()] {
        let mut e = engine_with(rules, BuildRate::Unlimited);
        ok(
            &mut e,
            "CREATE TABLE t (a int, b int, c int, d int, e int, PRIMARY KEY (a, b));
             CREATE MATERIALIZED VIEW mv AS SELECT * FROM t WHERE a IS NOT NULL AND b IS NOT NULL AND c IS NOT NULL PRIMARY KEY (c, a, b);
             INSERT INTO t (a, b, c, d) VALUES (0, 0, 1, 0) USING TIMESTAMP 0;",
        );
        let q = "SELECT d, e FROM mv WHERE c = 1 AND a = 0 AND b = 0;";
        assert_eq!(rows(&mut e, q), table(&[&["0", "null"]]), "{rules:?}");
        ok(&mut e, "UPDATE t USING TIMESTAMP 2 SET c = 1 WHERE a = 0 AND b = 0;");
        assert_eq!(rows(&mut e, q), table(&[&["0", "null"]]), "{rules:?}");
        ok(&mut e, "UPDATE t USING TIMESTAMP 3 SET c = 0 WHERE a = 0 AND b = 0;");
        assert!(rows(&mut e, q).is_empty(), "{rules:?}");
        assert_eq!(
            rows(&mut e, "SELECT d FROM mv WHERE c = 0;"),
            table(&[&["0"]]),
            "{rules:?}"
        );
        ok(&mut e, "UPDATE t USING TIMESTAMP 4 SET c = 1 WHERE a = 0 AND b = 0;");
        assert_eq!(rows(&mut e, q), table(&[&["0", "null"]]), "{rules:?}");
        assert!(rows(&mut e, "SELECT d FROM mv WHERE c = 0;").is_empty(), "{rules:?}");
        ok(&mut e, "UPDATE t USING TIMESTAMP 1 SET e = 1 WHERE a = 0 AND b = 0;");
        assert_eq!(rows(&mut e, q), table(&[&["0", "1"]]), "{rules:?}");
    }
}

/// ViewTest `testOldTimestamps`: a write older than the stored V loses in the base, and the
/// view keeps the entry it had.
#[test]
fn an_older_write_does_not_move_the_view_entry() {
    let mut e = engine();
    ok(
        &mut e,
        "CREATE TABLE t (k int PRIMARY KEY, v int, w int);
         CREATE MATERIALIZED VIEW mv AS SELECT * FROM t WHERE v IS NOT NULL AND k IS NOT NULL PRIMARY KEY (v, k);
         INSERT INTO t (k, v, w) VALUES (1, 1, 1) USING TIMESTAMP 10;
         UPDATE t USING TIMESTAMP 5 SET v = 2, w = 2 WHERE k = 1;",
    );
    assert_eq!(rows(&mut e, "SELECT * FROM mv;"), table(&[&["1", "1", "1"]]));
    // A tie goes to the tombstone (cassandra-semantics §7): the entry disappears with V.
    ok(&mut e, "UPDATE t USING TIMESTAMP 10 SET v = null WHERE k = 1;");
    assert!(rows(&mut e, "SELECT * FROM mv;").is_empty());
    assert_eq!(rows(&mut e, "SELECT * FROM t;"), table(&[&["1", "null", "1"]]));
}

/// A row deletion copied onto the view keeps cells older than it dead when the row is
/// re-inserted (CASSANDRA-13409, `testCommutativeRowDeletion`).
#[test]
fn reinsert_after_a_row_deletion_keeps_older_cells_dead() {
    let mut e = engine();
    ok(
        &mut e,
        "CREATE TABLE t (k int PRIMARY KEY, v int, w int, x int);
         CREATE MATERIALIZED VIEW mv AS SELECT * FROM t WHERE v IS NOT NULL AND k IS NOT NULL PRIMARY KEY (v, k);
         INSERT INTO t (k, v, w) VALUES (1, 1, 1) USING TIMESTAMP 1;
         UPDATE t USING TIMESTAMP 3 SET x = 3 WHERE k = 1;
         DELETE FROM t USING TIMESTAMP 2 WHERE k = 1;",
    );
    // The deletion at 2 removed v and w; x (written at 3) survives, V is gone.
    assert!(rows(&mut e, "SELECT * FROM mv;").is_empty());
    ok(&mut e, "INSERT INTO t (k, v) VALUES (1, 1) USING TIMESTAMP 4;");
    assert_eq!(rows(&mut e, "SELECT * FROM mv;"), table(&[&["1", "1", "null", "3"]]));
}

/// The status tables of cassandra-semantics §11 as Cassandra 4.x defines them: `SELECT *` lists partition key,
/// clustering, then the regular columns alphabetically (keys_built before last_token), and
/// `built_views` carries `status_replicated`. Seed 002's old names answer with the same rows.
#[test]
fn status_tables_have_cassandra_4_columns() {
    // One row a second on a clock that does not move: the build stays at its start.
    let mut e = engine_with(ViewRules::current(), BuildRate::RowsPerSecond(1));
    ok(
        &mut e,
        "CREATE TABLE t (k int PRIMARY KEY, v int);
         INSERT INTO t (k, v) VALUES (1, 1);
         CREATE MATERIALIZED VIEW mv AS SELECT * FROM t WHERE k IS NOT NULL AND v IS NOT NULL PRIMARY KEY (v, k);",
    );
    let in_progress = [
        "keyspace_name",
        "view_name",
        "start_token",
        "end_token",
        "keys_built",
        "last_token",
    ];
    let running = table(&[&["ks", "mv", "-9223372036854775808", "9223372036854775807", "0", "null"]]);
    for name in ["view_builds_in_progress", "materialized_views_builds_in_progress"] {
        let q = format!("SELECT * FROM system.{name};");
        assert_eq!(columns(&mut e, &q), in_progress, "{name}");
        assert_eq!(rows(&mut e, &q), running, "{name}");
    }
    assert_eq!(
        columns(&mut e, "SELECT * FROM system.built_views;"),
        ["keyspace_name", "view_name", "status_replicated"]
    );
    assert!(rows(&mut e, "SELECT * FROM system.built_views;").is_empty());
    e.finish_view_builds();
    assert_eq!(
        rows(&mut e, "SELECT * FROM system.built_views;"),
        table(&[&["ks", "mv", "True"]])
    );
    // The seed's name is not a Cassandra 4.x table; it keeps the two columns the seed shows.
    assert_eq!(
        columns(&mut e, "SELECT * FROM system.built_materialized_views;"),
        ["keyspace_name", "view_name"]
    );
    assert_eq!(
        rows(&mut e, "SELECT * FROM system.built_materialized_views;"),
        table(&[&["ks", "mv"]])
    );
    // Selecting by name picks the columns wherever `SELECT *` puts them.
    assert_eq!(
        rows(&mut e, "SELECT view_name, status_replicated FROM system.built_views;"),
        table(&[&["mv", "True"]])
    );
}

/// `CreateViewStatement`: the grammar rejects COMPACT STORAGE and a column named twice in
/// CLUSTERING ORDER BY (in the order they are written), then `prepare` rejects a base in
/// another keyspace and bind variables; only then does `apply` look the keyspace up.
#[test]
fn create_view_parse_and_prepare_checks_come_before_the_keyspace_lookup() {
    let mut e = engine();
    ok(&mut e, "CREATE TABLE t (k int, c int, v int, PRIMARY KEY (k, c));");
    let cases = [
        (
            "CREATE MATERIALIZED VIEW nosuch.mv AS SELECT k, c FROM ks.t WHERE k IS NOT NULL AND c IS NOT NULL PRIMARY KEY (k, c);",
            ErrorKind::Invalid,
            "Cannot create a materialized view on a table in a different keyspace",
        ),
        (
            "CREATE MATERIALIZED VIEW nosuch.mv AS SELECT k, c, v FROM t WHERE k IS NOT NULL AND c IS NOT NULL AND v = ? PRIMARY KEY (v, k, c);",
            ErrorKind::Invalid,
            "Bind variables are not allowed in CREATE MATERIALIZED VIEW statements",
        ),
        // The view's name as written, keyspace included.
        (
            "CREATE MATERIALIZED VIEW nosuch.mv AS SELECT k, c FROM t WHERE k IS NOT NULL AND c IS NOT NULL PRIMARY KEY (k, c) WITH CLUSTERING ORDER BY (c ASC, c DESC);",
            ErrorKind::Invalid,
            "Duplicate column 'c' in CLUSTERING ORDER BY clause for view 'nosuch.mv'",
        ),
        (
            "CREATE MATERIALIZED VIEW mv AS SELECT k, c FROM other.t WHERE k IS NOT NULL AND c IS NOT NULL PRIMARY KEY (k, c) WITH CLUSTERING ORDER BY (c ASC, c DESC);",
            ErrorKind::Invalid,
            "Duplicate column 'c' in CLUSTERING ORDER BY clause for view 'mv'",
        ),
        (
            "CREATE MATERIALIZED VIEW nosuch.mv AS SELECT k, c FROM t WHERE k IS NOT NULL AND c IS NOT NULL PRIMARY KEY (k, c) WITH COMPACT STORAGE;",
            ErrorKind::Syntax,
            "COMPACT STORAGE tables are not allowed starting with version 4.0",
        ),
        (
            "CREATE MATERIALIZED VIEW mv AS SELECT k, c FROM t WHERE k IS NOT NULL AND c IS NOT NULL PRIMARY KEY (k, c) WITH COMPACT STORAGE AND CLUSTERING ORDER BY (c ASC, c DESC);",
            ErrorKind::Syntax,
            "COMPACT STORAGE tables are not allowed starting with version 4.0",
        ),
        (
            "CREATE MATERIALIZED VIEW mv AS SELECT k, c FROM t WHERE k IS NOT NULL AND c IS NOT NULL PRIMARY KEY (k, c) WITH CLUSTERING ORDER BY (c ASC, c DESC) AND COMPACT STORAGE;",
            ErrorKind::Invalid,
            "Duplicate column 'c' in CLUSTERING ORDER BY clause for view 'mv'",
        ),
        // An unqualified base lives in the view's keyspace, so this is not "a different
        // keyspace": it is a view in a keyspace that does not exist.
        (
            "CREATE MATERIALIZED VIEW nosuch.mv AS SELECT k, c FROM t WHERE k IS NOT NULL AND c IS NOT NULL PRIMARY KEY (k, c);",
            ErrorKind::Invalid,
            "Keyspace 'nosuch' doesn't exist",
        ),
    ];
    for (stmt, kind, msg) in cases {
        let got = err(&mut e, stmt);
        assert_eq!((got.kind, got.message.as_str()), (kind, msg), "{stmt}");
    }
    // An unqualified base is looked up in the view's keyspace, not the session's.
    ok(
        &mut e,
        "CREATE KEYSPACE other WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1};
         CREATE TABLE other.t (k int PRIMARY KEY, w int);",
    );
    ok(
        &mut e,
        "CREATE MATERIALIZED VIEW other.mv AS SELECT k, w FROM t WHERE k IS NOT NULL AND w IS NOT NULL PRIMARY KEY (w, k);",
    );
    assert_eq!(
        columns(&mut e, "SELECT * FROM other.mv;"),
        ["w", "k"],
        "the view was built on other.t, which has w"
    );
}

/// `CreateViewStatement.apply` checks that every view key column is restricted before it
/// refuses filters on regular columns (CASSANDRA-13798), and lists all those filters.
#[test]
fn create_view_reports_unrestricted_key_columns_before_regular_column_filters() {
    let mut e = engine();
    ok(
        &mut e,
        "CREATE TABLE t (k int, c int, v int, w int, x int, PRIMARY KEY (k, c));",
    );
    let cases = [
        (
            "CREATE MATERIALIZED VIEW mv AS SELECT k, c, v, w FROM t WHERE k IS NOT NULL AND w = 1 PRIMARY KEY (v, k, c);",
            "Primary key columns v, c must be restricted with 'IS NOT NULL' or otherwise",
        ),
        (
            "CREATE MATERIALIZED VIEW mv AS SELECT * FROM t WHERE k IS NOT NULL AND c IS NOT NULL AND v IS NOT NULL AND x = 2 AND w = 1 PRIMARY KEY (v, k, c);",
            "Non-primary key columns can only be restricted with 'IS NOT NULL' (got: x,w restricted illegally)",
        ),
        // Unknown columns and bad values in the WHERE clause fail while the restrictions are
        // built, before either check.
        (
            "CREATE MATERIALIZED VIEW mv AS SELECT * FROM t WHERE k IS NOT NULL AND nosuch = 1 PRIMARY KEY (v, k, c);",
            "Undefined column name nosuch",
        ),
    ];
    for (stmt, msg) in cases {
        let got = err(&mut e, stmt);
        assert_eq!((got.kind, got.message.as_str()), (ErrorKind::Invalid, msg), "{stmt}");
    }
    let bad_value = err(
        &mut e,
        "CREATE MATERIALIZED VIEW mv AS SELECT * FROM t WHERE k IS NOT NULL AND w = 'one' PRIMARY KEY (v, k, c);",
    );
    assert_eq!(bad_value.kind, ErrorKind::Invalid);
    assert!(!bad_value.message.starts_with("Primary key columns"), "{bad_value}");
}

/// Cassandra resolves every selected column (an unknown one fails at once) and only then
/// looks for static columns among them.
#[test]
fn create_view_resolves_every_selector_before_the_static_check() {
    let mut e = engine();
    ok(
        &mut e,
        "CREATE TABLE t (k int, c int, v int, s int static, PRIMARY KEY (k, c));",
    );
    let unknown = err(
        &mut e,
        "CREATE MATERIALIZED VIEW mv AS SELECT k, c, s, nosuch FROM t WHERE k IS NOT NULL AND c IS NOT NULL PRIMARY KEY (k, c);",
    );
    assert_eq!(unknown.message, "Undefined column name nosuch");
    let alias = err(
        &mut e,
        "CREATE MATERIALIZED VIEW mv AS SELECT k, c, s, v AS x FROM t WHERE k IS NOT NULL AND c IS NOT NULL PRIMARY KEY (k, c);",
    );
    assert_eq!(
        alias.message,
        "Cannot use aliases when defining a materialized view (got x)"
    );
    let static_col = err(
        &mut e,
        "CREATE MATERIALIZED VIEW mv AS SELECT k, c, s, v FROM t WHERE k IS NOT NULL AND c IS NOT NULL PRIMARY KEY (k, c);",
    );
    assert_eq!(
        static_col.message,
        "Cannot include static column 's' in materialized view 'mv'"
    );
}

/// A17 (CASSANDRA-13883): moving `k=0` away leaves its view row with an expired marker and a
/// live `w`, ahead of `k=1`'s live row. Strict liveness hides it; `LIMIT 1` must then return
/// `k=1`, but a limit that counts every row with live data, as before the fix, spends its one
/// place on the hidden row and returns nothing. Reads without a limit, a larger limit and
/// `COUNT(*)` are not affected.
#[test]
fn a17_limit_skips_a_row_whose_marker_expired_unless_it_counts() {
    for (limit_counts_expired, want) in [(false, table(&[&["1"]])), (true, vec![])] {
        let mut e = engine_with(
            ViewRules {
                limit_counts_expired,
                ..ViewRules::current()
            },
            BuildRate::Unlimited,
        );
        ok(
            &mut e,
            "CREATE TABLE t (k int PRIMARY KEY, v int, w int);
             CREATE MATERIALIZED VIEW mv AS SELECT * FROM t WHERE v IS NOT NULL AND k IS NOT NULL PRIMARY KEY (v, k);
             INSERT INTO t (k, v, w) VALUES (0, 1, 1) USING TIMESTAMP 1;
             INSERT INTO t (k, v, w) VALUES (1, 1, 1) USING TIMESTAMP 1;
             UPDATE t USING TIMESTAMP 2 SET v = 2 WHERE k = 0;",
        );
        let what = format!("limit_counts_expired = {limit_counts_expired}");
        assert_eq!(rows(&mut e, "SELECT k FROM mv WHERE v = 1 LIMIT 1;"), want, "{what}");
        assert_eq!(
            rows(&mut e, "SELECT k FROM mv WHERE v = 1 LIMIT 2;"),
            table(&[&["1"]]),
            "{what}"
        );
        assert_eq!(
            rows(&mut e, "SELECT k FROM mv WHERE v = 1;"),
            table(&[&["1"]]),
            "{what}"
        );
        assert_eq!(
            rows(&mut e, "SELECT COUNT(*) FROM mv WHERE v = 1;"),
            table(&[&["1"]]),
            "{what}"
        );
        assert_eq!(
            rows(&mut e, "SELECT k FROM mv WHERE v = 2 LIMIT 1;"),
            table(&[&["0"]]),
            "{what}"
        );
        // Across partitions the count carries over: in either token order the hidden row
        // takes one of the two places.
        let scan = rows(&mut e, "SELECT v, k FROM mv LIMIT 2;");
        assert_eq!(scan.len(), if limit_counts_expired { 1 } else { 2 }, "{what}: {scan:?}");
    }
}

/// The read loop SELECT shares with a node's reads keeps PER PARTITION LIMIT, LIMIT across
/// partitions and reversed order as they were.
#[test]
fn limits_count_across_partitions_and_per_partition() {
    let mut e = engine();
    ok(&mut e, RANKING);
    assert_eq!(
        rows(&mut e, "SELECT place FROM ranking PER PARTITION LIMIT 1;").len(),
        2,
        "one row from each year"
    );
    assert_eq!(rows(&mut e, "SELECT place FROM ranking LIMIT 4;").len(), 4);
    assert_eq!(
        rows(
            &mut e,
            "SELECT place FROM ranking WHERE year = 1986 ORDER BY place DESC LIMIT 2;"
        ),
        table(&[&["3"], &["2"]])
    );
    assert_eq!(
        rows(&mut e, "SELECT place FROM ranking PER PARTITION LIMIT 2 LIMIT 3;").len(),
        3
    );
}
