//! The QEMU side of the tests: nested cargo builds into this build's target
//! directory (the host tools `qemu` and `image` with the guest test programs,
//! and foster for other architectures), and runs of the runner bounded by a
//! watchdog here, on top of the runner's own `--timeout`.
//!
//! Every nested build goes through one lock, so parallel tests wait for one
//! cargo instead of racing several on the same target directory.

use super::{wait_bounded, FOSTER};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

// The runner's own exit codes (see qemu/src/lib.rs).
/// QEMU ended without an exit-status line.
pub const EXIT_NO_RESULT: i32 = 122;
pub const EXIT_PANIC: i32 = 123;
pub const EXIT_TIMEOUT: i32 = 124;
pub const EXIT_ERROR: i32 = 125;

/// The workspace's target directory (foster is at `<target>/<profile>/foster`).
pub fn target_dir() -> PathBuf {
    Path::new(FOSTER)
        .parent()
        .and_then(Path::parent)
        .expect("foster lives in <target>/<profile>/")
        .to_path_buf()
}

/// `cargo build --release --target TRIPLE ARGS` into this build's target
/// directory; returns `<target>/<triple>/release`. Built at most once per
/// (triple, args) in this process.
pub fn cargo_build(triple: &str, args: &[&str]) -> PathBuf {
    static DONE: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let key = format!("{triple} {}", args.join(" "));
    let mut done = DONE.lock().unwrap_or_else(|e| e.into_inner());
    let dir = target_dir().join(triple).join("release");
    if done.contains(&key) {
        return dir;
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let start = Instant::now();
    let out = Command::new(cargo)
        .args(["build", "--release", "--target", triple])
        .args(args)
        .arg("--target-dir")
        .arg(target_dir())
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::null())
        .output()
        .expect("run cargo build");
    assert!(
        out.status.success(),
        "cargo build --release --target {triple} {} failed (is the target installed? \
         `rustup target add {triple}`, as .ci/run does):\n{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!(
        "built {triple} {} in {:.1?}",
        args.join(" "),
        start.elapsed()
    );
    done.push(key);
    dir
}

/// A program of the `qemu` or `image` packages: the host tools `qemu` and
/// `image` and the guest test programs (`exit-with`, `panic-kernel`, `hang`,
/// `seed-doublefork`), static for the host's musl target, built once.
pub fn host_tool(name: &str) -> PathBuf {
    let triple = format!("{}-unknown-linux-musl", std::env::consts::ARCH);
    let dir = cargo_build(&triple, &["--bins", "-p", "qemu", "-p", "image"]);
    dir.join(name)
}

/// What a bounded run printed and how it ended.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Run {
    /// The QEMU runner's final verdict line.
    pub fn verdict(&self) -> &str {
        self.stderr
            .lines()
            .rev()
            .find(|l| l.starts_with("qemu: "))
            .unwrap_or("")
    }

    pub fn dump(&self) -> String {
        format!(
            "exit code {}, after {:.1?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.code, self.elapsed, self.stdout, self.stderr
        )
    }
}

/// Runs `cmd`, killing it if it is still running after `limit` (and failing).
pub fn run_bounded(mut cmd: Command, limit: Duration) -> Run {
    let start = Instant::now();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("unable to spawn {cmd:?}: {e}"));
    let mut out = child.stdout.take().expect("piped");
    let mut err = child.stderr.take().expect("piped");
    let t_out = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = out.read_to_end(&mut s);
        String::from_utf8_lossy(&s).into_owned()
    });
    let t_err = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = err.read_to_end(&mut s);
        String::from_utf8_lossy(&s).into_owned()
    });
    let status = wait_bounded(&mut child, limit);
    let run = Run {
        code: status.and_then(|s| s.code()).unwrap_or(-1),
        stdout: t_out.join().unwrap_or_default(),
        stderr: t_err.join().unwrap_or_default(),
        elapsed: start.elapsed(),
    };
    assert!(
        status.is_some(),
        "watchdog: {cmd:?} ran past {limit:?}\n{}",
        run.dump()
    );
    run
}

/// Fails with a clear message when `program` is not on PATH.
pub fn require(program: &str, package: &str) {
    let found = std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|d| d.join(program).is_file()));
    assert!(
        found,
        "{program} is not installed: `apt-get install {package}` (.ci/run does)"
    );
}
