//! `mvcheck cql`: a cqlsh-like shell over one in-process node of the reference implementation.
//!
//! Statements come from a file, from piped stdin, or from an interactive prompt when stdin is a
//! terminal. Every top-level statement is parsed by `mv_impl::cql` and executed by
//! `mv_impl::engine::Engine`; this module only decides *when* time moves and how results look.
//!
//! Time. Cassandra gives a statement without `USING TIMESTAMP` the coordinator's clock, so what
//! a script prints depends on when it runs. `--clock system` keeps that behaviour (the engine's
//! clock is set from the system clock before each statement; the engine never lets it go
//! backwards). `--clock manual` makes a run a pure function of its input: the clock starts at
//! `--now` (or the current time) and moves only with the shell command `ADVANCE CLOCK <ms>;`,
//! which is how the scenario files in `specs/scenarios/` expire TTLs deterministically.
//!
//! Output. The human format imitates cqlsh: a table with left-aligned headers and right-aligned
//! values, `(N rows)`, warnings and errors on stderr. Errors carry the source and the line of the
//! statement (`<stdin>:7: InvalidRequest: ...`) because a script keeps running after a failure.
//! The JSON format prints exactly one line per top-level statement, in order, so a script can
//! zip its statements with the results; warnings go to stderr there so that stdout keeps that
//! one-to-one shape.

use crate::cli::{ClockArg, CqlArgs, CqlFormat, SemanticsArg};
use crate::{Exit, Failure};
use mv_impl::cql::ast::{Stmt, StmtKind};
use mv_impl::cql::{self, ParseError};
use mv_impl::engine::{CqlError, Engine, EngineConfig, ErrorKind, QueryResult, ViewRules};
use std::io::{BufRead, IsTerminal, Read, Write};
use std::time::{SystemTime, UNIX_EPOCH};

/// Runs the shell; returns the exit code (0 when every statement succeeded).
pub fn run(args: &CqlArgs) -> Result<Exit, Failure> {
    if args.now.is_some() && args.clock != ClockArg::Manual {
        return Err(Failure::Usage(
            "--now sets the start of the manual clock; add --clock manual".into(),
        ));
    }
    let start = args.now.unwrap_or_else(system_micros);
    let rules = match args.semantics {
        SemanticsArg::Current => ViewRules::current(),
        SemanticsArg::Cassandra30 => ViewRules::cassandra_30(),
    };
    let engine = Engine::new(EngineConfig {
        rules,
        now_micros: start,
        ..Default::default()
    });
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    let mut shell = Shell {
        engine,
        clock: args.clock,
        format: args.format,
        source: String::new(),
        failed: false,
    };
    match &args.file {
        Some(path) => {
            let src = std::fs::read_to_string(path)
                .map_err(|e| Failure::Usage(format!("cannot read {}: {e}", path.display())))?;
            shell.source = path.display().to_string();
            shell.run_script(&src, &mut stdout.lock(), &mut stderr.lock());
        }
        None if std::io::stdin().is_terminal() => {
            shell.source = "<stdin>".into();
            shell.interactive(&mut stdout.lock(), &mut stderr.lock());
        }
        None => {
            let mut src = String::new();
            std::io::stdin()
                .read_to_string(&mut src)
                .map_err(|e| Failure::Usage(format!("cannot read stdin: {e}")))?;
            shell.source = "<stdin>".into();
            shell.run_script(&src, &mut stdout.lock(), &mut stderr.lock());
        }
    }
    Ok(if shell.failed { Exit::Usage } else { Exit::Ok })
}

fn system_micros() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}

/// One node and the settings that shape its output.
struct Shell {
    engine: Engine,
    clock: ClockArg,
    format: CqlFormat,
    /// File name or `<stdin>`, for error lines.
    source: String,
    /// Whether any statement failed so far (exit code 2).
    failed: bool,
}

impl Shell {
    /// Runs every top-level statement of `src` in order; a failure does not stop the script.
    fn run_script(&mut self, src: &str, out: &mut dyn Write, err: &mut dyn Write) {
        for parsed in cql::parse_script(src) {
            let (line, result) = match parsed {
                Ok(stmt) => (stmt.pos.line, self.execute(&stmt)),
                Err(e) => (e.pos.line, Err(syntax_error(&e))),
            };
            if result.is_err() {
                self.failed = true;
            }
            // Broken pipes (e.g. `| head`) are not worth a panic; the remaining output is lost.
            let _ = self.render(line, &result, out, err);
        }
        let _ = out.flush();
    }

    /// Executes one statement. `ADVANCE CLOCK` is a shell command that only a manual clock
    /// obeys; the engine runs it (a statement, so running view builds take their step).
    fn execute(&mut self, stmt: &Stmt) -> Result<QueryResult, CqlError> {
        match (&stmt.kind, self.clock) {
            (StmtKind::AdvanceClock(_), ClockArg::System) => Err(CqlError {
                kind: ErrorKind::Invalid,
                message: "ADVANCE CLOCK needs the manual clock (mvcheck cql --clock manual)".into(),
            }),
            (_, ClockArg::System) => {
                self.engine.set_now_micros(system_micros());
                self.engine.execute(stmt)
            }
            (_, ClockArg::Manual) => self.engine.execute(stmt),
        }
    }

    fn render(
        &self,
        line: u32,
        result: &Result<QueryResult, CqlError>,
        out: &mut dyn Write,
        err: &mut dyn Write,
    ) -> std::io::Result<()> {
        match self.format {
            CqlFormat::Json => {
                if let Ok(QueryResult::Done { warnings }) = result {
                    for w in warnings {
                        writeln!(err, "{}:{line}: Warning: {w}", self.source)?;
                    }
                }
                writeln!(out, "{}", json_line(result))
            }
            CqlFormat::Human => match result {
                Ok(QueryResult::Rows(rows)) => {
                    writeln!(out)?;
                    for l in rows.table_lines() {
                        writeln!(out, "{l}")?;
                    }
                    writeln!(out)
                }
                Ok(QueryResult::Done { warnings }) => {
                    for w in warnings {
                        writeln!(err, "{}:{line}: Warning: {w}", self.source)?;
                    }
                    Ok(())
                }
                Err(e) => writeln!(err, "{}:{line}: {}: {}", self.source, e.kind, e.message),
            },
        }
    }

    /// cqlsh's loop: `cqlsh> ` for a new statement, `   ... ` until it is complete.
    fn interactive(&mut self, out: &mut dyn Write, err: &mut dyn Write) {
        let stdin = std::io::stdin();
        let mut lines = stdin.lock().lines();
        let mut buf = String::new();
        let mut line_no: u32 = 0;
        let mut first_line: u32 = 1;
        loop {
            let prompt = if buf.trim().is_empty() { "cqlsh> " } else { "   ... " };
            let _ = write!(out, "{prompt}");
            let _ = out.flush();
            let Some(Ok(line)) = lines.next() else {
                let _ = writeln!(out);
                break;
            };
            line_no += 1;
            if buf.trim().is_empty() {
                let word = line.trim().trim_end_matches(';').to_ascii_lowercase();
                if word == "exit" || word == "quit" {
                    break;
                }
                buf.clear();
                first_line = line_no;
            }
            buf.push_str(&line);
            buf.push('\n');
            if cql::input_complete(&buf) {
                // Blank lines in front keep positions (errors, syntax errors) those of the
                // session, not of the chunk.
                let chunk = "\n".repeat(first_line as usize - 1) + &std::mem::take(&mut buf);
                self.run_script(&chunk, out, err);
            }
        }
    }
}

fn syntax_error(e: &ParseError) -> CqlError {
    CqlError {
        kind: ErrorKind::Syntax,
        message: e.to_string(),
    }
}

/// One JSON line for one statement's result.
pub fn json_line(result: &Result<QueryResult, CqlError>) -> String {
    let v = match result {
        Ok(QueryResult::Rows(rows)) => serde_json::json!({
            "columns": rows.columns,
            "rows": rows
                .rows
                .iter()
                .map(|r| r.iter().map(|c| c.as_ref().map_or(serde_json::Value::Null, |v| v.to_json())).collect::<Vec<_>>())
                .collect::<Vec<_>>(),
        }),
        Ok(QueryResult::Done { .. }) => serde_json::json!({ "ok": true }),
        Err(e) => serde_json::json!({ "error": { "kind": e.kind.to_string(), "message": e.message } }),
    };
    v.to_string()
}
