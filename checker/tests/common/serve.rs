// Each test binary that includes this module uses a different part of it.
#![allow(dead_code)]

//! What the `mvcheck serve` tests share: a server on a free loopback port, stopped when the
//! test ends, and the Python environment with the real clients.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;

/// A running `mvcheck serve`, killed (by its own pid) on drop.
pub struct Served {
    child: Child,
    pub port: u16,
}

impl Served {
    pub fn start() -> Served {
        let mut child = Command::new(env!("CARGO_BIN_EXE_mvcheck"))
            .args(["serve", "--addr", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("mvcheck serve starts");
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut first = String::new();
        BufReader::new(stdout).read_line(&mut first).expect("the first line");
        let port = first
            .split("listening on 127.0.0.1:")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("no port in the first line: {first:?}"));
        Served { child, port }
    }

    /// Whether the server process is still running.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

/// The virtual environment with cassandra-driver and cqlsh: `MVCHECK_SERVE_VENV`, or a cache
/// directory under `$HOME`, created by `tests/py/setup_venv.sh` on first use (CI creates it
/// before the tests). `None` when there is no python3: the caller skips, except under
/// `CI=true`, where that is a failure.
pub fn venv() -> Option<PathBuf> {
    // Err((no python at all, why)).
    static VENV: OnceLock<Result<PathBuf, (bool, String)>> = OnceLock::new();
    let r = VENV.get_or_init(|| {
        let dir = std::env::var_os("MVCHECK_SERVE_VENV")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                let home = std::env::var_os("HOME")
                    .map(PathBuf::from)
                    .unwrap_or_else(std::env::temp_dir);
                home.join(".cache/mvcheck/venv-serve")
            });
        if Command::new("python3")
            .arg("--version")
            .output()
            .map(|o| !o.status.success())
            .unwrap_or(true)
        {
            return Err((true, "python3 is not on PATH".into()));
        }
        let script = repo_root().join("checker/tests/py/setup_venv.sh");
        let out = Command::new("bash")
            .arg(&script)
            .arg(&dir)
            .output()
            .map_err(|e| (false, format!("cannot run {}: {e}", script.display())))?;
        if !out.status.success() {
            return Err((
                false,
                format!(
                    "{} {} failed:\n{}{}",
                    script.display(),
                    dir.display(),
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                ),
            ));
        }
        Ok(dir)
    });
    match r {
        Ok(dir) => Some(dir.clone()),
        Err((false, why)) => panic!("installing the Python clients failed: {why}"),
        Err((true, why)) if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("the serve tests need Python clients and CI=true: {why}")
        }
        Err((true, why)) => {
            eprintln!("SKIPPED: no Python clients for the serve tests ({why}); CI=true makes this a failure");
            None
        }
    }
}
