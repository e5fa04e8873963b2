//! What every end-to-end test of the `mvcheck` binary needs: run it in a directory, read
//! what it printed.
// Each test binary compiles this module and uses a different part of it.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

/// `mvcheck check` on known weakness (d) (`specs/protocol.md`): a replacement streams a view
/// row ahead of its base row; BFS, so its counterexample is the 22-step one.
pub const WEAKNESS_D: &[&str] = &[
    "check",
    "--rf",
    "2",
    "--data-loss",
    "1",
    "--crashes",
    "0",
    "--strategy",
    "bfs",
    "--no-view-repair",
    "--property",
    "P-replica-converge",
];

/// Runs `mvcheck ARGS` in `dir`.
pub fn mvcheck(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mvcheck"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("mvcheck runs")
}

/// What it printed on standard output.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// What it printed on standard error.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}
