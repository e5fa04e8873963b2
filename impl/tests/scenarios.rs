//! Golden scenario scripts: every `specs/scenarios/*.cql` is run on a fresh [`Engine`] and its
//! output compared with the expected lines written in the file itself.
//!
//! A scenario file is a plain CQL script. Expected output follows the statement that produced
//! it, on lines starting with `-->`; since `--` starts a CQL comment, the file runs unchanged in
//! `mvcheck cql --clock manual --now 1767225600000000 FILE` (the CLI test
//! `scenarios_run_the_same_in_the_shell` checks that both print the same). A statement that
//! prints nothing (a successful INSERT) has no expected lines.
//!
//! Directives (comment lines before the first statement, read by
//! [`ScriptHeader`] as the shell reads them): `-- semantics: cassandra-3.0` selects seed 003's
//! shadowable tombstones instead of the current rules; `-- build-rate: N` builds views at N
//! base rows per second of the manual clock instead of at once (`--build-rate`).
//!
//! Time is manual and starts at [`START_MICROS`], so timestamps, `WRITETIME` and `TTL` are
//! reproducible; `ADVANCE CLOCK <ms>;` moves it.
//!
//! To rewrite every expected line after a deliberate change (then read the diff!):
//!
//! ```sh
//! UPDATE_GOLDEN=1 cargo test -p mv-impl --test scenarios
//! ```

use mv_impl::cql::ast::Pos;
use mv_impl::cql::{self};
use mv_impl::engine::{BuildRate, CqlError, Engine, EngineConfig, ErrorKind, QueryResult, ScriptHeader, ViewRules};
use std::path::{Path, PathBuf};

/// 2026-01-01T00:00:00Z in microseconds: the manual clock's start in every scenario.
const START_MICROS: i64 = 1_767_225_600_000_000;
/// Prefix of an expected-output line.
const EXPECTED: &str = "-->";

fn scenario_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../specs/scenarios")
}

fn scenario_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(scenario_dir())
        .expect("specs/scenarios exists")
        .map(|e| e.expect("readable directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "cql"))
        .collect();
    files.sort();
    files
}

/// What the shell prints for one statement, without the source:line prefix of errors and
/// warnings and without blank lines (which `-->` lines cannot tell apart from padding).
fn render(result: &Result<QueryResult, CqlError>) -> Vec<String> {
    match result {
        // The goldens leave out the blank line cqlsh prints before `(N rows)`.
        Ok(QueryResult::Rows(rows)) => rows.table_lines().into_iter().filter(|l| !l.is_empty()).collect(),
        Ok(QueryResult::Done { warnings }) => warnings.iter().map(|w| format!("Warning: {w}")).collect(),
        Err(e) => vec![format!("{}: {}", e.kind, e.message)],
    }
}

/// The character index of a 1-based line:column in `chars`.
fn index_of(chars: &[char], pos: Pos) -> usize {
    let mut line = 1;
    let mut i = 0;
    while line < pos.line && i < chars.len() {
        if chars[i] == '\n' {
            line += 1;
        }
        i += 1;
    }
    (i + pos.col.saturating_sub(1) as usize).min(chars.len())
}

/// The 1-based line of the first `;` at or after `from` that is code (not inside a string, a
/// quoted identifier or a comment): where a statement ends and its output goes. The last line
/// when there is none (a statement cut off by the end of the file).
fn end_line(chars: &[char], from: usize) -> usize {
    let mut i = from;
    while i < chars.len() {
        let next = chars.get(i + 1).copied();
        match chars[i] {
            ';' => return chars[..i].iter().filter(|c| **c == '\n').count() + 1,
            q @ ('\'' | '"') => {
                i += 1;
                while i < chars.len() && chars[i] != q {
                    i += 1;
                }
            }
            '$' if next == Some('$') => {
                i += 2;
                while i + 1 < chars.len() && !(chars[i] == '$' && chars[i + 1] == '$') {
                    i += 1;
                }
                i += 1;
            }
            '-' if next == Some('-') => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '/' if next == Some('/') => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '/' if next == Some('*') => {
                i += 2;
                while i + 1 < chars.len() && !(chars[i] == '*' && chars[i + 1] == '/') {
                    i += 1;
                }
                i += 1;
            }
            _ => {}
        }
        i += 1;
    }
    chars.iter().filter(|c| **c == '\n').count() + 1
}

/// Runs a scenario and returns the file as it should read: every old expected line dropped and
/// the actual output inserted after the line where its statement ends.
fn run_scenario(src: &str) -> Result<String, String> {
    // The header's flags, as `mvcheck cql FILE` reads them.
    let header = ScriptHeader::parse(src).map_err(|e| e.to_string())?;
    let mut engine = Engine::new(EngineConfig {
        rules: header.rules().unwrap_or_else(ViewRules::current),
        now_micros: START_MICROS,
        build_rate: header.build_rate.map_or(BuildRate::Unlimited, |(_, r)| r),
    });
    let chars: Vec<char> = src.chars().collect();
    let mut outputs: Vec<(usize, Vec<String>)> = Vec::new();
    for parsed in cql::parse_script(src) {
        let (end, result) = match parsed {
            Ok(stmt) => {
                let end = end_line(&chars, index_of(&chars, stmt.pos) + stmt.text.chars().count());
                // `ADVANCE CLOCK` included: the engine moves its manual clock.
                let result = engine.execute(&stmt);
                (end, result)
            }
            Err(e) => (
                end_line(&chars, index_of(&chars, e.pos)),
                Err(CqlError {
                    kind: ErrorKind::Syntax,
                    message: e.to_string(),
                }),
            ),
        };
        outputs.push((end, render(&result)));
    }
    let mut out = String::with_capacity(src.len() * 2);
    for (n, line) in src.lines().enumerate() {
        if line.starts_with(EXPECTED) {
            continue;
        }
        out.push_str(line);
        out.push('\n');
        for (_, lines) in outputs.iter().filter(|(end, _)| *end == n + 1) {
            for l in lines {
                out.push_str(EXPECTED);
                if !l.is_empty() {
                    out.push(' ');
                    out.push_str(l);
                }
                out.push('\n');
            }
        }
    }
    Ok(out)
}

/// Every scenario file produces exactly its expected lines. With `UPDATE_GOLDEN=1` the files
/// are rewritten instead (repeated until stable, since syntax errors name file lines and
/// inserting output moves them).
#[test]
fn scenarios_produce_their_expected_output() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v != "0");
    let files = scenario_files();
    assert!(
        files.len() >= 10,
        "expected the scenario files in {}",
        scenario_dir().display()
    );
    let mut failures = Vec::new();
    for path in &files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let mut src = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{name}: {e}"));
        if !src.trim_start().starts_with("--") {
            failures.push(format!("{name}: must start with a story comment"));
        }
        let mut actual = run_scenario(&src).unwrap_or_else(|e| panic!("{name}: {e}"));
        if update {
            for _ in 0..4 {
                if actual == src {
                    break;
                }
                std::fs::write(path, &actual).unwrap_or_else(|e| panic!("{name}: {e}"));
                src = actual;
                actual = run_scenario(&src).unwrap_or_else(|e| panic!("{name}: {e}"));
            }
        }
        if actual != src {
            failures.push(format!("{name}:\n{}", first_difference(&src, &actual)));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} scenarios differ (rewrite with UPDATE_GOLDEN=1 cargo test -p mv-impl --test scenarios, then read the diff):\n\n{}",
        failures.len(),
        files.len(),
        failures.join("\n\n")
    );
}

/// The first line where the file and the actual run part, with a little context.
fn first_difference(expected: &str, actual: &str) -> String {
    let e: Vec<&str> = expected.lines().collect();
    let a: Vec<&str> = actual.lines().collect();
    let i = e
        .iter()
        .zip(&a)
        .position(|(x, y)| x != y)
        .unwrap_or(e.len().min(a.len()));
    let from = i.saturating_sub(3);
    let show = |lines: &[&str]| -> String {
        lines[from.min(lines.len())..(i + 4).min(lines.len())]
            .iter()
            .enumerate()
            .map(|(k, l)| format!("  {:>4} | {l}", from + k + 1))
            .collect::<Vec<_>>()
            .join("\n")
    };
    format!("file says:\n{}\nengine gives:\n{}", show(&e), show(&a))
}

#[test]
fn statement_ends_skip_semicolons_in_strings_and_comments() {
    let src = "INSERT INTO t (k, v) VALUES (1, 'a;b') -- ; not here\n/* ; */ ;\nSELECT 1;";
    let chars: Vec<char> = src.chars().collect();
    assert_eq!(end_line(&chars, 0), 2);
    assert_eq!(end_line(&chars, index_of(&chars, Pos { line: 3, col: 1 })), 3);
    assert_eq!(end_line(&chars, chars.len()), 3, "no `;` left: the last line");
}
