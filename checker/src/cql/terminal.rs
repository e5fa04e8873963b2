//! The interactive prompt: what `mvcheck cql` is when stdin is a terminal.
//!
//! * Line editing and history come from `rustyline`: arrows, Home/End, Ctrl-R search. A whole
//!   statement is one history entry (its lines joined by newlines), so Up brings back a
//!   multi-line statement as it was typed, and recalling it and pressing Enter runs it again.
//! * History is kept in `$XDG_DATA_HOME/mvcheck/cql_history` (`~/.local/share/mvcheck/` when
//!   `XDG_DATA_HOME` is unset or not absolute, per the XDG spec), written after each statement
//!   so that a killed shell keeps it. Without a data directory the history lasts the session.
//! * Ctrl-C at the prompt cancels the statement being typed (all its lines); while a statement
//!   runs, it stops `WAIT FOR VIEW BUILDS`. It never ends the shell: the tables live in this
//!   process and would be lost. Ctrl-D on an empty line, `exit` or `quit` leave.
//! * `HELP [topic]` and the banner are the shell's own; everything else goes to the engine.

use super::{Shell, INTERRUPTED};
use crate::cli::ClockArg;
use mv_impl::cql;
use rustyline::error::ReadlineError;
use rustyline::history::FileHistory;
use rustyline::{Config, Editor};
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::Ordering;

/// Where the history lives, if anywhere.
pub(super) fn history_path() -> Option<PathBuf> {
    let absolute = |v: std::ffi::OsString| Some(PathBuf::from(v)).filter(|p| p.is_absolute());
    let data = std::env::var_os("XDG_DATA_HOME").and_then(absolute).or_else(|| {
        std::env::var_os("HOME")
            .and_then(absolute)
            .map(|h| h.join(".local/share"))
    })?;
    Some(data.join("mvcheck").join("cql_history"))
}

pub(super) fn interactive(shell: &mut Shell, out: &mut dyn Write, err: &mut dyn Write) {
    let _ = banner(shell, out);
    let config = Config::builder()
        .max_history_size(2000)
        .map(|b| b.history_ignore_dups(true))
        .and_then(|b| b.map(|b| b.auto_add_history(false).build()));
    let editor = config.and_then(Editor::<(), FileHistory>::with_config);
    let mut editor = match editor {
        Ok(e) => e,
        Err(e) => {
            let _ = writeln!(err, "cannot start line editing: {e}");
            shell.failed = true;
            return;
        }
    };
    let history = history_path();
    if let Some(path) = &history {
        // A missing file is a first session, not an error.
        let _ = editor.load_history(path);
    }
    // While a statement runs the terminal is back in cooked mode, where Ctrl-C is a signal:
    // it must not kill the process (and every table). If another handler is already set
    // (tests call this in-process), that one stays.
    let _ = ctrlc::set_handler(|| INTERRUPTED.store(true, Ordering::SeqCst));
    let mut buf = String::new();
    let mut line_no: u32 = 0;
    let mut first_line: u32 = 1;
    loop {
        let prompt = if buf.trim().is_empty() {
            format!("cqlsh:{}> ", shell.engine.current_keyspace())
        } else {
            "   ... ".to_string()
        };
        let _ = out.flush();
        let line = match editor.readline(&prompt) {
            Ok(line) => line,
            Err(ReadlineError::Interrupted) => {
                // Ctrl-C: drop the statement being typed, as cqlsh does.
                buf.clear();
                continue;
            }
            Err(ReadlineError::Eof) => {
                let _ = writeln!(out);
                break;
            }
            Err(e) => {
                let _ = writeln!(err, "cannot read the terminal: {e}");
                shell.failed = true;
                return;
            }
        };
        if buf.trim().is_empty() {
            let word = line.trim().trim_end_matches(';').trim();
            let lower = word.to_ascii_lowercase();
            if lower == "exit" || lower == "quit" {
                break;
            }
            if lower == "help" || lower == "?" || lower.starts_with("help ") {
                remember(&mut editor, history.as_ref(), line.trim());
                let _ = write!(out, "{}", help(lower.strip_prefix("help").unwrap_or("").trim()));
                line_no += line_count(&line);
                continue;
            }
            buf.clear();
            first_line = line_no + 1;
        }
        line_no += line_count(&line);
        buf.push_str(&line);
        buf.push('\n');
        if cql::input_complete(&buf) {
            let statement = std::mem::take(&mut buf);
            remember(&mut editor, history.as_ref(), statement.trim_end());
            // Blank lines in front keep positions (errors, syntax errors) those of the
            // session, not of the chunk.
            let chunk = "\n".repeat(first_line.saturating_sub(1) as usize) + &statement;
            INTERRUPTED.store(false, Ordering::SeqCst);
            shell.run_script(&chunk, out, err);
        }
    }
    let _ = out.flush();
    // As psql and cqlsh do: a session left on purpose ends well, whatever typo it met an hour
    // ago (each error was shown when it happened). Exit code 2 stays for scripts.
    shell.failed = false;
}

fn line_count(line: &str) -> u32 {
    u32::try_from(line.split('\n').count()).unwrap_or(u32::MAX)
}

/// Adds an entry and writes the history file at once, so a shell that is killed keeps it.
fn remember(editor: &mut Editor<(), FileHistory>, path: Option<&PathBuf>, entry: &str) {
    if entry.is_empty() {
        return;
    }
    let _ = editor.add_history_entry(entry);
    if let Some(path) = path {
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let _ = editor.save_history(path);
    }
}

fn banner(shell: &Shell, out: &mut dyn Write) -> std::io::Result<()> {
    let clock = match shell.clock {
        ClockArg::System => "system clock",
        ClockArg::Manual => "manual clock (ADVANCE CLOCK <ms>;)",
    };
    writeln!(
        out,
        "mvcheck cql: one in-process node of the reference implementation, not a Cassandra cluster"
    )?;
    writeln!(
        out,
        "[semantics {} | {clock} | view build rate {} | keyspace {}]",
        shell.settings.semantics,
        rate_words(shell.settings.build_rate),
        shell.engine.current_keyspace()
    )?;
    writeln!(
        out,
        "Use HELP for help. Ctrl-C cancels a statement; Ctrl-D or EXIT leaves (the tables go with it)."
    )
}

fn rate_words(rate: mv_impl::engine::BuildRate) -> String {
    match rate {
        mv_impl::engine::BuildRate::Unlimited => "unlimited".into(),
        mv_impl::engine::BuildRate::RowsPerSecond(n) => format!("{n} rows/s"),
    }
}

/// `HELP` and `HELP <topic>`.
pub(super) fn help(topic: &str) -> String {
    let topic = topic.trim_end_matches(';').trim().to_ascii_lowercase();
    let text = match topic.as_str() {
        "" => HELP,
        "describe" | "desc" => HELP_DESCRIBE,
        "view" | "views" | "view build status" | "wait" | "wait for view builds" | "builds" => HELP_BUILDS,
        "advance" | "advance clock" | "clock" => HELP_CLOCK,
        "keys" | "editing" | "history" => HELP_KEYS,
        _ => return format!("No help on '{topic}'. Topics: DESCRIBE, VIEW BUILD STATUS, WAIT, ADVANCE CLOCK, KEYS.\n"),
    };
    text.to_string()
}

const HELP: &str = "\
CQL statements end with ';' and may span lines (the prompt turns into '   ...').
  CREATE/ALTER/DROP KEYSPACE, TABLE, MATERIALIZED VIEW; USE; TRUNCATE
  INSERT, UPDATE, DELETE, BEGIN BATCH ... APPLY BATCH; SELECT (system.built_views and
  system.view_builds_in_progress show view builds)
Shell commands:
  DESCRIBE ...;                 CQL that recreates keyspaces, tables, views   (HELP DESCRIBE)
  VIEW BUILD STATUS [view];     how far view builds got                       (HELP WAIT)
  WAIT FOR VIEW BUILDS;         return once every view build is done
  ADVANCE CLOCK <ms>;           move a manual clock                           (HELP CLOCK)
  HELP [topic]; EXIT; QUIT      Ctrl-C cancels the statement being typed, Ctrl-D leaves
Editing: arrows, Ctrl-R to search the history                               (HELP KEYS)
";

const HELP_DESCRIBE: &str = "\
DESCRIBE KEYSPACES;                   the keyspace names
DESCRIBE TABLES;                      the tables of each keyspace
DESCRIBE KEYSPACE [ks];               the keyspace (the one in use without a name), its tables
                                      and views, as CQL that recreates them
DESCRIBE TABLE t;                     the table and its views
DESCRIBE MATERIALIZED VIEW v;         the view
DESCRIBE [FULL] SCHEMA;  DESCRIBE name;
DESC is short for DESCRIBE. `--format json` gives the rows Cassandra 4 returns:
keyspace_name, type, name, create_statement.
";

const HELP_BUILDS: &str = "\
A view created over existing rows is built in the background, by time. By default the
build has no limit and is done before the next statement; `--build-rate N` builds N base
rows per second of the node clock (the manual clock moves only with ADVANCE CLOCK).
VIEW BUILD STATUS [view];   one row per view: STARTED or SUCCESS, partitions built and pending
WAIT FOR VIEW BUILDS;       returns once every build is done. On the system clock it sleeps
                            (Ctrl-C stops waiting; the build goes on); on the manual clock it
                            moves the clock to the moment the last build ends.
";

const HELP_CLOCK: &str = "\
ADVANCE CLOCK <milliseconds>;  moves the manual clock (mvcheck cql --clock manual [--now MICROS]).
Statements without USING TIMESTAMP take the clock, TTLs expire against it, and view builds
with a --build-rate progress with it. On the system clock the command is refused.
";

const HELP_KEYS: &str = "\
Left/Right, Home/End, Ctrl-A/Ctrl-E move; Up/Down walk the history (a whole statement per
entry); Ctrl-R searches it; Ctrl-C cancels the statement being typed; Ctrl-D on an empty
line leaves. The history is kept in $XDG_DATA_HOME/mvcheck/cql_history
(~/.local/share/mvcheck/cql_history when XDG_DATA_HOME is not set).
";
