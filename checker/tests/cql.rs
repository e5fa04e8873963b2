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
/// expected (`-->`) lines. This also keeps the shell's table layout and the scenario
/// harness's (impl/tests/scenarios.rs) identical.
#[test]
fn scenarios_run_the_same_in_the_shell() {
    let files = scenario_files();
    assert!(!files.is_empty());
    for path in files {
        let src = std::fs::read_to_string(&path).unwrap();
        let semantics = src
            .lines()
            .find_map(|l| l.trim().strip_prefix("-- semantics:"))
            .map_or("current", str::trim);
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
            .args(["cql", "--clock", "manual", "--now", &START_MICROS.to_string()])
            .args(["--semantics", semantics])
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
