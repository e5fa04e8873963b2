//! `mvcheck`: check, simulate, explore and replay the materialized-view write-path model,
//! and validate implementation traces against it.
//!
//! Exit codes follow TLC and Apalache where they can: 0 when an exhaustive check found every
//! property holding, 12 when one is violated (or, with `--require-coverage`, when a rule the
//! configuration should exercise never fired), 3 when a bound cut the search before any
//! violation was found (inconclusive), 20 when a trace diverges from the model, 2 for a usage
//! or input error, 1 for an internal error.

mod cli;
mod cluster;
mod cql;
mod explore;
mod impl_sim;
mod itf;
mod node;
mod repair;
mod report;
mod serve;
mod serve_bench;
mod validate;
mod verify;

use clap::Parser;
use cli::{Cli, Command};
use std::process::ExitCode;

/// Every exit code mvcheck uses, in one place. Scripts read these, so each is documented in
/// the README and never reused for another meaning.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// Every property holds (exhaustive check), the trace is a behaviour of the model, the
    /// command did what was asked.
    Ok = 0,
    /// A bug in mvcheck.
    Internal = 1,
    /// Bad flags or input (a malformed file, an unknown variant, a CQL statement that failed).
    Usage = 2,
    /// Nothing was violated, but a bound (depth, states, time, a partial search's state limit)
    /// cut the search: inconclusive, and a script must not read it as a pass.
    Inconclusive = 3,
    /// A property is violated, or (`--require-coverage`) a rule the configuration should
    /// exercise never fired (TLC and Apalache use 12 for a violation).
    Violation = 12,
    /// A trace diverges from the model: the implementation did something the model cannot.
    Divergence = 20,
}

impl Exit {
    /// The process exit code.
    pub fn code(self) -> u8 {
        self as u8
    }
}

/// What went wrong, and so which exit code.
pub enum Failure {
    /// Bad flags or input: one line, exit 2.
    Usage(String),
    /// Anything else: exit 1.
    Internal(String),
    /// A trace the model cannot replay, where the command needed its end state: exit 20.
    Divergence(String),
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
        Command::Explore { model, addr } => explore::explore(&model, &addr),
        Command::Variants => {
            report::variants();
            Ok(Exit::Ok)
        }
        Command::Replay { file, format } => itf::replay(&file, format),
        Command::ImplSim(args) => impl_sim::impl_sim(&args),
        Command::Validate {
            files,
            partial,
            complete,
            format,
            merged,
        } => validate::validate(&files, partial, complete, format, merged.as_deref()),
        Command::Cql(args) => cql::run(&args),
        Command::Verify(args) => verify::verify(&args),
        Command::Repair(args) => repair::repair(&args),
        Command::Node(args) => node::run(&args),
        Command::Cluster(args) => cluster::run(&args),
        Command::Serve(args) => serve::serve(&args),
    };
    match result {
        Ok(exit) => ExitCode::from(exit.code()),
        Err(Failure::Usage(msg)) => {
            eprintln!("mvcheck: error: {msg}");
            ExitCode::from(Exit::Usage.code())
        }
        Err(Failure::Internal(msg)) => {
            eprintln!("mvcheck: internal error: {msg}");
            ExitCode::from(Exit::Internal.code())
        }
        Err(Failure::Divergence(msg)) => {
            eprintln!("mvcheck: divergence: {msg}");
            ExitCode::from(Exit::Divergence.code())
        }
    }
}
