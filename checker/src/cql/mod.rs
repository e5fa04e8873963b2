//! `mvcheck cql`: a cqlsh-like shell over one in-process node of the reference implementation.
//!
//! Statements come from a file, from piped stdin, or from an interactive prompt when stdin is a
//! terminal ([`terminal`]: line editing, history, Ctrl-C, HELP). Every top-level statement is
//! parsed by `mv_impl::cql` and executed by `mv_impl::engine::Engine`; this module only decides
//! *when* time moves and how results look.
//!
//! Time. Cassandra gives a statement without `USING TIMESTAMP` the coordinator's clock, so what
//! a script prints depends on when it runs. `--clock system` keeps that behaviour (the engine's
//! clock is set from the system clock before each statement; the engine never lets it go
//! backwards). `--clock manual` makes a run a pure function of its input: the clock starts at
//! `--now` (or the current time) and moves only with the shell command `ADVANCE CLOCK <ms>;`,
//! which is how the scenario files in `specs/scenarios/` expire TTLs deterministically.
//!
//! View builds run on the same clock ([`mv_impl::engine::Engine::run_builds`], called by the
//! engine before each statement). `--build-rate` throttles them; `WAIT FOR VIEW BUILDS` on the
//! system clock really waits (sleeping, cancelled by Ctrl-C), on the manual clock the engine
//! moves the clock to the moment the builds end.
//!
//! Settings. A script's header (`-- semantics:`, `-- build-rate:`) sets what the flags set, so a
//! scenario file runs alike in the scenario test and here; a flag that contradicts its header
//! is a usage error rather than a silent choice.
//!
//! Output. The human format imitates cqlsh: a table with left-aligned headers and right-aligned
//! values, `(N rows)`, warnings and errors on stderr; DESCRIBE prints its CQL. Errors carry the
//! source and the line of the statement (`<stdin>:7: InvalidRequest: ...`) because a script
//! keeps running after a failure. The JSON format ([`json`]) prints exactly one line per
//! top-level statement, in order, so a script can zip its statements with the results; warnings
//! go to stderr there so that stdout keeps that one-to-one shape.

mod json;
mod terminal;

use crate::cli::{ClockArg, CqlArgs, CqlFormat, SemanticsArg};
use crate::{Exit, Failure};
use mv_impl::cql::ast::{Describe, Stmt, StmtKind};
use mv_impl::cql::{self, ParseError};
use mv_impl::engine::{
    rules_named, BuildRate, CqlError, Engine, EngineConfig, ErrorKind, QueryResult, Rows, ScriptHeader,
};
use std::io::{IsTerminal, Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub use json::json_line;

/// Set by Ctrl-C while a statement runs at the interactive prompt (see [`terminal`]); a wait
/// for view builds stops when it sees it.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Runs the shell; returns the exit code (0 when every statement succeeded).
pub fn run(args: &CqlArgs) -> Result<Exit, Failure> {
    if args.now.is_some() && args.clock != ClockArg::Manual {
        return Err(Failure::Usage(
            "--now sets the start of the manual clock; add --clock manual".into(),
        ));
    }
    // A script is read whole first: its header may set the engine's configuration.
    let (source, script) = match &args.file {
        Some(path) => {
            let bytes =
                std::fs::read(path).map_err(|e| Failure::Usage(format!("cannot read {}: {e}", path.display())))?;
            let src = String::from_utf8(bytes).map_err(|e| {
                Failure::Usage(format!(
                    "{}: not UTF-8 text (invalid byte at offset {})",
                    path.display(),
                    e.utf8_error().valid_up_to()
                ))
            })?;
            (path.display().to_string(), Some(src))
        }
        None if std::io::stdin().is_terminal() => ("<stdin>".to_string(), None),
        None => {
            let mut src = String::new();
            std::io::stdin()
                .read_to_string(&mut src)
                .map_err(|e| Failure::Usage(format!("cannot read stdin: {e}")))?;
            ("<stdin>".to_string(), Some(src))
        }
    };
    // Editors on Windows start files with a byte-order mark; it is no CQL character.
    let script = script.map(|s| match s.strip_prefix('\u{feff}') {
        Some(rest) => rest.to_string(),
        None => s,
    });
    let header = match &script {
        Some(src) => {
            ScriptHeader::parse(src).map_err(|e| Failure::Usage(format!("{source}:{}: {}", e.line, e.message)))?
        }
        None => ScriptHeader::default(),
    };
    let settings = Settings::resolve(args, &header, &source)?;
    let start = args.now.unwrap_or_else(system_micros);
    let engine = Engine::new(EngineConfig {
        rules: rules_named(settings.semantics).unwrap_or_else(mv_impl::engine::ViewRules::current),
        now_micros: start,
        build_rate: settings.build_rate,
    });
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    let mut shell = Shell {
        engine,
        clock: args.clock,
        format: args.format,
        settings,
        source,
        failed: false,
    };
    match script {
        Some(src) => shell.run_script(&src, &mut stdout.lock(), &mut stderr.lock()),
        None => terminal::interactive(&mut shell, &mut stdout.lock(), &mut stderr.lock()),
    }
    Ok(if shell.failed { Exit::Usage } else { Exit::Ok })
}

fn system_micros() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}

/// The engine settings a run uses, from flags and the script header.
#[derive(Clone, Copy, Debug)]
struct Settings {
    semantics: &'static str,
    build_rate: BuildRate,
}

impl Settings {
    /// A flag wins over nothing, a header over the default; a flag and a header that disagree
    /// are refused, since either choice would run the file differently from what one of them
    /// promises.
    fn resolve(args: &CqlArgs, header: &ScriptHeader, source: &str) -> Result<Settings, Failure> {
        let flag_semantics = args.semantics.map(|s| match s {
            SemanticsArg::Current => "current",
            SemanticsArg::Cassandra30 => "cassandra-3.0",
        });
        let semantics = match (flag_semantics, header.semantics) {
            (Some(f), Some((line, h))) if f != h => {
                return Err(Failure::Usage(format!(
                "{source}:{line}: the header says `-- semantics: {h}` but --semantics {f} was given; drop one of them"
            )))
            }
            (Some(f), _) => f,
            (None, Some((_, h))) => h,
            (None, None) => "current",
        };
        let build_rate = match (args.build_rate, header.build_rate) {
            (Some(f), Some((line, h))) if f != h => {
                return Err(Failure::Usage(format!(
                    "{source}:{line}: the header says `-- build-rate: {h}` but --build-rate {f} was given; drop one of them"
                )))
            }
            (Some(f), _) => f,
            (None, Some((_, h))) => h,
            (None, None) => BuildRate::Unlimited,
        };
        Ok(Settings { semantics, build_rate })
    }
}

/// One node and the settings that shape its output.
struct Shell {
    engine: Engine,
    clock: ClockArg,
    format: CqlFormat,
    settings: Settings,
    /// File name or `<stdin>`, for error lines.
    source: String,
    /// Whether any statement failed so far (exit code 2).
    failed: bool,
}

impl Shell {
    /// Runs every top-level statement of `src` in order; a failure does not stop the script.
    fn run_script(&mut self, src: &str, out: &mut dyn Write, err: &mut dyn Write) {
        for parsed in cql::parse_script(src) {
            let (line, result, describe) = match parsed {
                Ok(stmt) => {
                    let describe = matches!(stmt.kind, StmtKind::Describe(_));
                    (stmt.pos.line, self.execute(&stmt), describe.then_some(stmt))
                }
                Err(e) => (e.pos.line, Err(syntax_error(&e)), None),
            };
            if result.is_err() {
                self.failed = true;
            }
            // Broken pipes (e.g. `| head`) are not worth a panic; the remaining output is lost.
            let _ = self.render(line, &result, describe.as_ref(), out, err);
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
            (StmtKind::WaitForViewBuilds, ClockArg::System) => {
                self.wait_in_real_time()?;
                self.engine.set_now_micros(system_micros());
                self.engine.execute(stmt)
            }
            (_, ClockArg::System) => {
                self.engine.set_now_micros(system_micros());
                self.engine.execute(stmt)
            }
            (_, ClockArg::Manual) => self.engine.execute(stmt),
        }
    }

    /// `WAIT FOR VIEW BUILDS` on the system clock: sleeps until the engine says the builds end,
    /// in short naps so that Ctrl-C is noticed.
    fn wait_in_real_time(&mut self) -> Result<(), CqlError> {
        loop {
            let now = system_micros();
            self.engine.run_builds(now);
            let Some(done_at) = self.engine.view_builds_done_at() else {
                return Ok(());
            };
            if INTERRUPTED.swap(false, Ordering::SeqCst) {
                return Err(CqlError {
                    kind: ErrorKind::Invalid,
                    message: "interrupted: stopped waiting for view builds (they go on in the background)".into(),
                });
            }
            let nap = u64::try_from(done_at.saturating_sub(now))
                .unwrap_or(0)
                .clamp(1_000, 100_000);
            std::thread::sleep(Duration::from_micros(nap));
        }
    }

    fn render(
        &self,
        line: u32,
        result: &Result<QueryResult, CqlError>,
        describe: Option<&Stmt>,
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
                Ok(QueryResult::Rows(rows)) => match describe {
                    Some(stmt) => write_describe(&stmt.kind, rows, out),
                    None => {
                        writeln!(out)?;
                        for l in rows.table_lines() {
                            writeln!(out, "{l}")?;
                        }
                        writeln!(out)
                    }
                },
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
}

/// DESCRIBE as cqlsh prints it: the CQL itself, or for a listing the names.
fn write_describe(kind: &StmtKind, rows: &Rows, out: &mut dyn Write) -> std::io::Result<()> {
    let col = |name: &str| rows.columns.iter().position(|c| c == name);
    let text = |r: &[Option<mv_impl::engine::Value>], i: Option<usize>| -> String {
        match i.and_then(|i| r.get(i)).and_then(|v| v.as_ref()) {
            Some(mv_impl::engine::Value::Text(s)) => s.clone(),
            Some(v) => v.to_cql(),
            None => String::new(),
        }
    };
    let (ks, name, stmt) = (col("keyspace_name"), col("name"), col("create_statement"));
    writeln!(out)?;
    if stmt.is_some() {
        for r in &rows.rows {
            writeln!(out, "{}", text(r, stmt))?;
            writeln!(out)?;
        }
        return Ok(());
    }
    if matches!(kind, StmtKind::Describe(Describe::Keyspaces)) {
        let names: Vec<String> = rows.rows.iter().map(|r| text(r, name)).collect();
        writeln!(out, "{}", names.join("  "))?;
        return writeln!(out);
    }
    // DESCRIBE TABLES: the tables of each keyspace under its name.
    let mut current: Option<String> = None;
    for r in &rows.rows {
        let k = text(r, ks);
        if current.as_deref() != Some(k.as_str()) {
            if current.is_some() {
                writeln!(out)?;
                writeln!(out)?;
            }
            writeln!(out, "Keyspace {k}")?;
            writeln!(out, "{}", "-".repeat(k.chars().count() + 9))?;
            current = Some(k);
        } else {
            write!(out, "  ")?;
        }
        write!(out, "{}", text(r, name))?;
    }
    if current.is_some() {
        writeln!(out)?;
    }
    writeln!(out)
}

fn syntax_error(e: &ParseError) -> CqlError {
    CqlError {
        kind: ErrorKind::Syntax,
        message: e.to_string(),
    }
}
