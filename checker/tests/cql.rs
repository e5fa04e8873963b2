//! Spawns `mvcheck cql` the way a user or a script would: statements on stdin or in a file,
//! JSON lines, errors that do not stop the script, the manual clock, bad flags, and the
//! scenario files of `specs/scenarios/` printing exactly their expected lines.

use serde_json::{json, Value};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The manual clock's start in the scenario files (2026-01-01T00:00:00Z).
const START_MICROS: i64 = 1_767_225_600_000_000;

fn cql(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mvcheck"))
        .arg("cql")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("mvcheck runs");
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    child.wait_with_output().expect("mvcheck finishes")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn json_lines(o: &Output) -> Vec<Value> {
    stdout(o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

#[test]
fn json_prints_one_line_per_statement_and_continues_after_a_failure() {
    let script = "
        CREATE TABLE t (k int, c int, v int, s set<text>, m map<text, int>, PRIMARY KEY (k, c));
        INSERT INTO t (k, c, v, s, m) VALUES (1, 2, 3, {'b', 'a'}, {'x': 1}) USING TIMESTAMP 42;
        SELECT k, c, v, s, m, WRITETIME(v) FROM t;
        SELECT nosuch FROM t;
        BEGIN BATCH
            INSERT INTO t (k, c) VALUES (1, 3);
            UPDATE t SET v = 4 WHERE k = 1 AND c = 3;
        APPLY BATCH;
        SELEC * FROM t;
        SELECT k, c, v FROM t WHERE k = 1;
    ";
    let o = cql(&["--format", "json", "--clock", "manual"], script);
    assert_eq!(
        o.status.code(),
        Some(2),
        "a failed statement makes exit code 2\n{}",
        stderr(&o)
    );
    let lines = json_lines(&o);
    assert_eq!(
        lines.len(),
        7,
        "one line per top-level statement (the batch is one):\n{}",
        stdout(&o)
    );
    assert_eq!(lines[0], json!({"ok": true}));
    assert_eq!(lines[1], json!({"ok": true}));
    assert_eq!(
        lines[2],
        json!({
            "columns": ["k", "c", "v", "s", "m", "writetime(v)"],
            "rows": [[1, 2, 3, ["a", "b"], {"x": 1}, 42]],
        })
    );
    assert_eq!(lines[3]["error"]["kind"], "InvalidRequest", "{}", lines[3]);
    assert!(
        lines[3]["error"]["message"].as_str().unwrap().contains("nosuch"),
        "{}",
        lines[3]
    );
    assert_eq!(lines[4], json!({"ok": true}));
    assert_eq!(lines[5]["error"]["kind"], "SyntaxException", "{}", lines[5]);
    assert!(
        lines[5]["error"]["message"].as_str().unwrap().contains("SELEC"),
        "a syntax error names the offending token: {}",
        lines[5]
    );
    assert_eq!(
        lines[6]["rows"],
        json!([[1, 2, 3], [1, 3, 4]]),
        "execution went on after both failures"
    );
}

#[test]
fn human_output_is_a_cqlsh_table_and_errors_name_the_line() {
    let script = "CREATE TABLE t (k int PRIMARY KEY, name text);\n\
                  INSERT INTO t (k, name) VALUES (7, 'Frank');\n\
                  INSERT INTO nosuch (k) VALUES (1);\n\
                  SELECT * FROM t;\n";
    let o = cql(&["--clock", "manual"], script);
    assert_eq!(o.status.code(), Some(2));
    let out = stdout(&o);
    let table: Vec<&str> = out.lines().filter(|l| !l.is_empty()).collect();
    assert_eq!(table, [" k | name", "---+-------", " 7 | Frank", "(1 rows)"], "{out}");
    let err = stderr(&o);
    assert!(err.starts_with("<stdin>:3: InvalidRequest: "), "{err}");
}

#[test]
fn every_statement_succeeding_exits_0() {
    let o = cql(&[], "CREATE TABLE t (k int PRIMARY KEY);\nSELECT * FROM t;\n");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("(0 rows)"), "{}", stdout(&o));
}

#[test]
fn the_manual_clock_moves_only_with_advance_clock() {
    let script = "
        CREATE TABLE t (k int PRIMARY KEY, v int);
        INSERT INTO t (k, v) VALUES (1, 1) USING TTL 10;
        SELECT k, WRITETIME(v), TTL(v) FROM t;
        ADVANCE CLOCK 9000;
        SELECT k, TTL(v) FROM t;
        ADVANCE CLOCK 1000;
        SELECT k FROM t;
    ";
    let now = START_MICROS.to_string();
    let o = cql(&["--format", "json", "--clock", "manual", "--now", &now], script);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let lines = json_lines(&o);
    let wt = lines[2]["rows"][0][1].as_i64().expect("WRITETIME is an integer");
    assert!(
        (START_MICROS..START_MICROS + 1000).contains(&wt),
        "the write takes the manual clock, not the system's: {wt}"
    );
    assert_eq!(lines[2]["rows"][0][2], 10);
    assert_eq!(lines[4]["rows"], json!([[1, 1]]), "9 s later, 1 s of TTL left");
    assert_eq!(lines[6]["rows"], json!([]), "10 s later the row has expired");
}

#[test]
fn advance_clock_needs_the_manual_clock() {
    let o = cql(&["--format", "json"], "ADVANCE CLOCK 1000;\n");
    assert_eq!(o.status.code(), Some(2));
    let lines = json_lines(&o);
    assert!(
        lines[0]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("--clock manual"),
        "{}",
        lines[0]
    );
}

#[test]
fn bad_flags_and_missing_files_exit_2_with_a_message() {
    let o = cql(&["--clock", "sometimes"], "");
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("sometimes"), "{}", stderr(&o));

    let o = cql(&["--semantics", "cassandra-2.2"], "");
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("cassandra-3.0"),
        "lists the known values: {}",
        stderr(&o)
    );

    let o = cql(&["--now", "5"], "");
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--clock manual"), "{}", stderr(&o));

    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.cql");
    let o = cql(&[missing.to_str().unwrap()], "");
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("cannot read") && stderr(&o).contains("missing.cql"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_file_argument_is_read_and_named_in_errors() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("script.cql");
    std::fs::write(&file, "CREATE TABLE t (k int PRIMARY KEY);\n\nDROP TABLE nosuch;\n").unwrap();
    let o = cql(&[file.to_str().unwrap()], "");
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("script.cql:3: InvalidRequest: "), "{err}");
}

fn scenario_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../specs/scenarios");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("specs/scenarios exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "cql"))
        .collect();
    files.sort();
    files
}

/// The scenario files are plain CQL scripts: the shell run on one prints exactly its
/// expected (`-->`) lines, with the settings of its header (`-- semantics:`, `-- build-rate:`). This also keeps the shell's table layout and the scenario
/// harness's (impl/tests/scenarios.rs) identical.
#[test]
fn scenarios_run_the_same_in_the_shell() {
    let files = scenario_files();
    assert!(!files.is_empty());
    for path in files {
        let src = std::fs::read_to_string(&path).unwrap();
        let expected: Vec<&str> = src
            .lines()
            .filter_map(|l| l.strip_prefix("-->"))
            .map(|l| l.strip_prefix(' ').unwrap_or(l))
            .filter(|l| !l.is_empty())
            .collect();
        // One stream, as a terminal shows it: tables on stdout, errors on stderr, in order.
        let o = Command::new("sh")
            .arg("-c")
            .arg("exec \"$0\" \"$@\" 2>&1")
            .arg(env!("CARGO_BIN_EXE_mvcheck"))
            // No --semantics or --build-rate: the shell must take them from the header.
            .args(["cql", "--clock", "manual", "--now", &START_MICROS.to_string()])
            .arg(&path)
            .output()
            .expect("sh runs mvcheck");
        let shown = String::from_utf8_lossy(&o.stdout).into_owned();
        let prefix = format!("{}:", path.display());
        let actual: Vec<&str> = shown
            .lines()
            .filter(|l| !l.is_empty())
            .map(|l| match l.strip_prefix(&prefix) {
                // `FILE:LINE: Kind: message` -> `Kind: message`
                Some(rest) => rest.split_once(": ").map_or(rest, |(_, m)| m),
                None => l,
            })
            .collect();
        assert_eq!(actual, expected, "{}", path.display());
    }
}

/// A script whose first line has a byte-order mark runs as if it had none.
#[test]
fn a_leading_bom_is_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bom.cql");
    std::fs::write(&path, "\u{feff}CREATE TABLE t (k int PRIMARY KEY);\nSELECT * FROM t;\n").unwrap();
    let o = cql(&[path.to_str().unwrap()], "");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("(0 rows)"), "{}", stdout(&o));
    // Piped stdin too.
    let o = cql(&[], "\u{feff}SELECT * FROM system.built_views;");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

/// `--format json` writes a decimal with every digit, as a JSON number, inside collections too.
#[test]
fn json_decimals_are_exact() {
    let o = cql(
        &["--format", "json"],
        "CREATE TABLE t (k int PRIMARY KEY, d decimal, l list<decimal>);
         INSERT INTO t (k, d, l) VALUES (1, 123456789.123456789, [0.100000000000000000001]);
         SELECT d, l FROM t;",
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    let last = out.lines().last().unwrap();
    assert_eq!(
        last,
        r#"{"columns":["d","l"],"rows":[[123456789.123456789,[0.100000000000000000001]]]}"#
    );
    assert!(json_lines(&o)[2]["rows"][0][0].is_number());
}

/// An error about a huge literal quotes its start and says how long it is.
#[test]
fn a_long_literal_is_cut_in_errors() {
    let digits = "9".repeat(5000);
    let o = cql(
        &[],
        &format!("CREATE TABLE t (k int PRIMARY KEY, s text);\nINSERT INTO t (k, s) VALUES ({digits}, 'x');"),
    );
    let err = stderr(&o);
    assert!(err.contains("Unable to make int from '99999"), "{err}");
    assert!(err.contains("... (5000 characters)"), "{err}");
    assert!(err.len() < 300, "{} bytes: {err}", err.len());
}

/// The header sets the semantics; a flag that says otherwise is refused and names the line.
#[test]
fn the_header_semantics_is_honoured_and_a_clashing_flag_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.cql");
    // Seed 003's a/b/c timestamps with a newer c: 3.0's shadowable tombstone loses the row
    // that current rules keep (specs/scenarios/02 and 03 differ only there).
    let body = "CREATE TABLE base (a int, b int, c int, PRIMARY KEY (a));
CREATE MATERIALIZED VIEW mv AS SELECT * FROM base WHERE a IS NOT NULL AND b IS NOT NULL PRIMARY KEY (a, b);
INSERT INTO base (a, b, c) VALUES (1, 0, 1) USING TIMESTAMP 0;
UPDATE base USING TIMESTAMP 10 SET c = 2 WHERE a = 1;
UPDATE base USING TIMESTAMP 2 SET b = 1 WHERE a = 1;
UPDATE base USING TIMESTAMP 3 SET b = 0 WHERE a = 1;
SELECT * FROM mv;
";
    let run = |header: &str, flags: &[&str]| {
        std::fs::write(&path, format!("-- a story\n{header}{body}")).unwrap();
        let mut args = vec!["--format", "json"];
        args.extend_from_slice(flags);
        args.push(path.to_str().unwrap());
        cql(&args, "")
    };
    let rows = |o: &Output| json_lines(o).last().unwrap()["rows"].clone();
    let current = run("", &[]);
    let old = run("-- semantics: cassandra-3.0\n", &[]);
    assert_eq!(rows(&current), json!([[1, 0, 2]]));
    assert_eq!(rows(&old), json!([]), "the header chose 3.0's rules");
    assert_eq!(
        rows(&run("-- semantics: cassandra-3.0\n", &["--semantics", "cassandra-3.0"])),
        json!([])
    );
    let clash = run("-- semantics: cassandra-3.0\n", &["--semantics", "current"]);
    assert_eq!(clash.status.code(), Some(2));
    let err = stderr(&clash);
    assert!(
        err.contains("s.cql:2: the header says `-- semantics: cassandra-3.0` but --semantics current was given"),
        "{err}"
    );
    assert!(stdout(&clash).is_empty(), "nothing ran");
    let bad = run("-- build-rate: fast\n", &[]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        stderr(&bad).contains("s.cql:2: `-- build-rate:` 'fast' is not a number of rows per second"),
        "{}",
        stderr(&bad)
    );
}

/// Seed 002 through the shell on the real clock: the view built over existing rows answers
/// at the first SELECT, with no polling.
#[test]
fn a_small_build_is_done_by_the_next_statement_on_the_system_clock() {
    let o = cql(
        &["--format", "json"],
        "CREATE TABLE ranking (year int, place int, athlete text, PRIMARY KEY (year, place));
         INSERT INTO ranking (year, place, athlete) VALUES (1986, 1, 'Frank');
         INSERT INTO ranking (year, place, athlete) VALUES (1987, 2, 'Frank');
         INSERT INTO ranking (year, place, athlete) VALUES (1987, 1, 'John');
         CREATE MATERIALIZED VIEW ranking_by_athlete AS SELECT athlete, year, place FROM ranking
           WHERE athlete IS NOT NULL AND year IS NOT NULL AND place IS NOT NULL PRIMARY KEY (athlete, year, place);
         SELECT * FROM ranking_by_athlete WHERE athlete = 'Frank';",
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        json_lines(&o).last().unwrap()["rows"],
        json!([["Frank", 1986, 1], ["Frank", 1987, 2]])
    );
}

/// `--build-rate` throttles a build by the clock: on the manual clock only ADVANCE CLOCK and
/// WAIT FOR VIEW BUILDS move it; on the system clock WAIT really waits and then reports it done.
#[test]
fn a_build_rate_is_moved_by_the_clock_and_waited_for() {
    let mut script = String::from("CREATE TABLE t (k int PRIMARY KEY, v int);\n");
    for k in 0..10 {
        script.push_str(&format!("INSERT INTO t (k, v) VALUES ({k}, {k});\n"));
    }
    script.push_str(
        "CREATE MATERIALIZED VIEW mv AS SELECT * FROM t WHERE v IS NOT NULL AND k IS NOT NULL PRIMARY KEY (v, k);\n",
    );
    let manual = format!(
        "{script}VIEW BUILD STATUS;\nSELECT * FROM mv;\nADVANCE CLOCK 1000;\nVIEW BUILD STATUS mv;\nWAIT FOR VIEW BUILDS;\nSELECT * FROM mv;\n"
    );
    let o = cql(&["--format", "json", "--clock", "manual", "--build-rate", "4"], &manual);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let lines = json_lines(&o);
    let n = lines.len();
    assert_eq!(lines[n - 6]["rows"], json!([["ks", "mv", "STARTED", 0, 10]]));
    assert_eq!(lines[n - 5]["rows"], json!([]), "nothing built while the clock stands");
    assert_eq!(lines[n - 3]["rows"], json!([["ks", "mv", "STARTED", 4, 6]]));
    assert_eq!(lines[n - 2]["rows"], json!([["ks", "mv", "SUCCESS", 10, 0]]));
    assert_eq!(lines[n - 1]["rows"].as_array().unwrap().len(), 10);

    // Real time: 10 rows at 50 a second is about 0.2 s of waiting.
    let real = format!("{script}WAIT FOR VIEW BUILDS;\nSELECT * FROM mv;\n");
    let o = cql(&["--format", "json", "--build-rate", "50"], &real);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let lines = json_lines(&o);
    let n = lines.len();
    assert_eq!(lines[n - 2]["rows"], json!([["ks", "mv", "SUCCESS", 10, 0]]));
    assert_eq!(lines[n - 1]["rows"].as_array().unwrap().len(), 10);

    let o = cql(&["--build-rate", "0"], "");
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("at least 1 row per second"), "{}", stderr(&o));
}

/// What the shell prints for DESCRIBE is a script that recreates the schema: fed to a fresh
/// shell, it describes the same way.
#[test]
fn describe_output_recreates_the_schema_in_a_fresh_shell() {
    let schema = r#"
        CREATE KEYSPACE shop WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1};
        CREATE TABLE shop.orders (customer text, placed timestamp, id uuid, total decimal,
            items map<text, int>, note text static, PRIMARY KEY (customer, placed, id))
            WITH CLUSTERING ORDER BY (placed DESC, id ASC) AND gc_grace_seconds = 3600;
        CREATE MATERIALIZED VIEW shop.orders_by_id AS SELECT customer, placed, id, total FROM shop.orders
            WHERE id IS NOT NULL AND customer IS NOT NULL AND placed IS NOT NULL
            PRIMARY KEY (id, customer, placed);
    "#;
    let first = cql(&[], &format!("{schema}\nDESCRIBE KEYSPACE shop;"));
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    let described = stdout(&first);
    assert!(described.contains("CREATE TABLE shop.orders ("), "{described}");
    assert!(
        described.contains("CREATE MATERIALIZED VIEW shop.orders_by_id AS"),
        "{described}"
    );
    let again = cql(&[], &format!("{described}\nDESCRIBE KEYSPACE shop;"));
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    let again_err = stderr(&again);
    let warnings: Vec<&str> = again_err
        .lines()
        .filter(|l| !l.contains("Warning: Materialized views are experimental"))
        .collect();
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(stdout(&again), described);
}

/// The interactive shell under a real pseudo-terminal: the bytes a keyboard sends (arrow keys,
/// Ctrl-C, Ctrl-D) go in, and what a user would read comes out.
mod terminal {
    use super::START_MICROS;
    use rexpect::session::{spawn_command, PtySession};
    use std::path::Path;
    use std::process::Command;

    const PROMPT: &str = "cqlsh:ks> ";
    const UP: &str = "\x1b[A";

    fn shell(data_home: &Path, flags: &[&str]) -> PtySession {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_mvcheck"));
        cmd.arg("cql")
            .args(flags)
            // The history goes to the test's directory, never the user's.
            .env("XDG_DATA_HOME", data_home)
            .env("HOME", data_home)
            // rustyline edits lines only on a terminal it knows; CI may have no TERM at all.
            .env("TERM", "xterm");
        spawn_command(cmd, Some(20_000)).expect("mvcheck starts under a pty")
    }

    fn run(p: &mut PtySession, line: &str, expect: &str) -> String {
        p.send_line(line).unwrap();
        let shown = p
            .exp_string(expect)
            .unwrap_or_else(|e| panic!("after {line:?} no {expect:?}: {e}"));
        p.exp_string(PROMPT).unwrap();
        shown
    }

    fn exits_0(p: &mut PtySession) {
        p.exp_eof().unwrap();
        let status = p.process().wait().unwrap();
        assert!(
            format!("{status:?}").contains("Exited") && format!("{status:?}").ends_with(", 0)"),
            "{status:?}"
        );
    }

    #[test]
    fn the_prompt_edits_recalls_cancels_and_keeps_history() {
        let home = tempfile::tempdir().unwrap();
        let now = START_MICROS.to_string();
        let mut p = shell(home.path(), &["--clock", "manual", "--now", &now]);
        let banner = p.exp_string(PROMPT).unwrap();
        for part in [
            "semantics current",
            "manual clock",
            "view build rate unlimited",
            "keyspace ks",
            "HELP",
        ] {
            assert!(banner.contains(part), "banner lacks {part:?}: {banner}");
        }
        p.send_line("CREATE TABLE t (k int PRIMARY KEY, v int);").unwrap();
        p.exp_string(PROMPT).unwrap();
        p.send_line("INSERT INTO t (k, v) VALUES (1, 10);").unwrap();
        p.exp_string(PROMPT).unwrap();
        run(&mut p, "SELECT * FROM t;", "(1 rows)");
        p.send_line("INSERT INTO t (k, v) VALUES (2, 20);").unwrap();
        p.exp_string(PROMPT).unwrap();
        // Up twice: past the INSERT to the SELECT, which runs again and sees both rows.
        p.send(UP).unwrap();
        p.send(UP).unwrap();
        let shown = run(&mut p, "", "(2 rows)");
        assert!(!shown.contains("unexpected character"), "{shown}");

        // Ctrl-C drops a half-typed statement; the next one starts afresh.
        p.send_line("SELECT * FROM").unwrap();
        p.exp_string("   ... ").unwrap();
        p.send_control('c').unwrap();
        p.exp_string(PROMPT).unwrap();
        let shown = run(&mut p, "SELECT v FROM t WHERE k = 2;", "(1 rows)");
        assert!(!shown.contains("SyntaxException"), "{shown}");

        run(&mut p, "HELP", "WAIT FOR VIEW BUILDS;");
        run(&mut p, "DESCRIBE TABLE t;", "CREATE TABLE ks.t (");
        // Ctrl-D leaves.
        p.send_control('d').unwrap();
        exits_0(&mut p);

        let history = std::fs::read_to_string(home.path().join("mvcheck/cql_history")).unwrap();
        assert!(history.contains("SELECT * FROM t;"), "{history}");
        assert!(history.contains("DESCRIBE TABLE t;"), "{history}");
        assert!(
            !history.contains("SELECT * FROM\n"),
            "a cancelled statement is not kept: {history}"
        );

        // A new session recalls the last one's statements (its tables are gone with it).
        let mut p = shell(home.path(), &[]);
        p.exp_string(PROMPT).unwrap();
        p.send(UP).unwrap();
        run(&mut p, "", "Table 'ks.t' not found");
        p.send_line("exit").unwrap();
        exits_0(&mut p);
    }

    #[test]
    fn ctrl_c_stops_a_wait_for_view_builds_and_the_tables_survive() {
        let home = tempfile::tempdir().unwrap();
        // One row a second on the system clock: the build takes five real seconds.
        let mut p = shell(home.path(), &["--build-rate", "1"]);
        let banner = p.exp_string(PROMPT).unwrap();
        assert!(
            banner.contains("system clock") && banner.contains("1 rows/s"),
            "{banner}"
        );
        p.send_line("CREATE TABLE t (k int PRIMARY KEY, v int);").unwrap();
        p.exp_string(PROMPT).unwrap();
        for k in 0..5 {
            p.send_line(&format!("INSERT INTO t (k, v) VALUES ({k}, {k});"))
                .unwrap();
            p.exp_string(PROMPT).unwrap();
        }
        p.send_line(
            "CREATE MATERIALIZED VIEW mv AS SELECT * FROM t WHERE v IS NOT NULL AND k IS NOT NULL PRIMARY KEY (v, k);",
        )
        .unwrap();
        p.exp_string(PROMPT).unwrap();
        p.send_line("WAIT FOR VIEW BUILDS;").unwrap();
        std::thread::sleep(std::time::Duration::from_millis(300));
        p.send_control('c').unwrap();
        p.exp_string("interrupted: stopped waiting for view builds").unwrap();
        p.exp_string(PROMPT).unwrap();
        run(&mut p, "SELECT * FROM t;", "(5 rows)");
        p.send_control('d').unwrap();
        exits_0(&mut p);
    }
}
