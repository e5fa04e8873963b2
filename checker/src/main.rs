//! `mvcheck`: check, simulate, explore and replay the materialized-view write-path model,
//! and validate implementation traces against it.
//!
//! Exit codes follow TLC and Apalache where they can: 0 when an exhaustive check found every
//! property holding, 12 when one is violated (or, with `--require-coverage`, when a rule the
//! configuration should exercise never fired), 3 when a bound cut the search before any
//! violation was found (inconclusive), 20 when a trace diverges from the model, 2 for a usage
//! or input error, 1 for an internal error.

mod cli;
mod cql;
mod impl_sim;
mod itf;
mod report;
mod validate;

use clap::Parser;
use cli::{Cli, Command};
use std::process::ExitCode;

/// Exit code when a property is violated (TLC, Apalache).
pub const EXIT_VIOLATION: u8 = 12;
/// Exit code when no violation was found but a bound (depth, states, time) cut the search:
/// the result is inconclusive, and a script must not read it as a pass.
pub const EXIT_INCONCLUSIVE: u8 = 3;
/// Exit code for bad flags or input files.
pub const EXIT_USAGE: u8 = 2;

/// What went wrong, and so which exit code.
pub enum Failure {
    /// Bad flags or input: one line, exit 2.
    Usage(String),
    /// Anything else: exit 1.
    Internal(String),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Check { model, search, output } => report::check(&model, &search, &output),
        Command::Simulate {
            model,
            seed,
            runs,
            max_depth,
            output,
        } => report::simulate(&model, seed, runs, max_depth, &output),
        Command::Explore { model, addr } => report::explore(&model, &addr),
        Command::Variants => {
            report::variants();
            Ok(0)
        }
        Command::Replay { file } => itf::replay(&file),
        Command::ImplSim(args) => impl_sim::impl_sim(&args),
        Command::Validate {
            file,
            partial,
            complete,
            format,
        } => validate::validate(&file, partial, complete, format),
        Command::Cql {
            file,
            format,
            clock,
            semantics,
            now,
        } => cql::run(&cql::CqlArgs {
            file,
            format,
            clock,
            semantics,
            now,
        }),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(Failure::Usage(msg)) => {
            eprintln!("mvcheck: error: {msg}");
            ExitCode::from(EXIT_USAGE)
        }
        Err(Failure::Internal(msg)) => {
            eprintln!("mvcheck: internal error: {msg}");
            ExitCode::from(1)
        }
    }
}
