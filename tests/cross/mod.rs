//! Shared by the embedded-target tests (`aarch64.rs`, `riscv64.rs`): nested
//! cross builds into this build's target directory, bounded runs, and the
//! single-command / sub-init smoke test of a foreign foster under qemu-user.
//!
//! Every cross build goes through one lock, so parallel tests wait for one
//! cargo instead of racing several on the same target directory.

#![allow(dead_code)] // each test file uses its own subset

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const FOSTER: &str = env!("CARGO_BIN_EXE_foster");
pub const AARCH64: &str = "aarch64-unknown-linux-musl";
/// foster links no libc, so the triple's libc does not matter: rustup serves
/// this one everywhere, and riscv64gc-unknown-linux-musl not always.
pub const RISCV64: &str = "riscv64gc-unknown-linux-gnu";

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

/// The host tools `qemu` and `image`, static for the host's musl target (the
/// same build as tests/qemu.rs, so it is shared).
pub fn host_tool(name: &str) -> PathBuf {
    let triple = format!("{}-unknown-linux-musl", std::env::consts::ARCH);
    let dir = cargo_build(&triple, &["--bins", "-p", "qemu", "-p", "image"]);
    dir.join(name)
}

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
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait for the command") {
            break Some(s);
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
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

/// Size in bytes of a file.
pub fn size(path: &Path) -> u64 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("unable to stat {}: {e}", path.display()))
        .len()
}

/// `file` and `readelf` agree that `bin` is a static executable for `arch`
/// (as `file` names it) with no interpreter and no dynamic section.
pub fn assert_static_for(bin: &Path, file_arch: &str) {
    let out = Command::new("file").arg(bin).output().expect("run file");
    let file = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(file.contains(file_arch), "not {file_arch}: {file}");
    assert!(file.contains("statically linked"), "not static: {file}");
    let out = Command::new("readelf")
        .args(["-lW"])
        .arg(bin)
        .output()
        .expect("run readelf");
    let headers = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "readelf -l failed: {headers}");
    for bad in ["INTERP", "DYNAMIC"] {
        assert!(
            !headers.lines().any(|l| l.trim_start().starts_with(bad)),
            "{} has a {bad} program header:\n{headers}",
            bin.display()
        );
    }
}

/// foster's single-command and sub-init modes, built for another architecture,
/// run under qemu-user (`qemu_user`, e.g. `qemu-riscv64`): a smoke test of the
/// syscall layer (fork/clone, execve, wait4, signalfd, epoll, prctl, pipes).
///
/// Under qemu-user the host kernel runs the children it execs, so a child is a
/// host program (`/bin/sh`), or foster itself behind `qemu_user`. qemu-user may
/// reject PR_SET_CHILD_SUBREAPER: foster logs that and carries on.
pub fn qemu_user_smoke(qemu_user: &str, foster: &Path) {
    let limit = Duration::from_secs(30);
    let single = |args: &[&str]| {
        let mut cmd = Command::new(qemu_user);
        cmd.arg(foster).args(args);
        run_bounded(cmd, limit)
    };
    let subreaper_note = |r: &Run| {
        // Logged as a warning, never fatal; absent where qemu-user supports it.
        for line in r.stderr.lines().filter(|l| l.contains("subreaper")) {
            assert!(
                line.starts_with("foster: unable to become a subreaper"),
                "{}",
                r.dump()
            );
        }
    };

    let r = single(&["--", "/bin/true"]);
    assert_eq!(r.code, 0, "{}", r.dump());
    subreaper_note(&r);

    let r = single(&["--", "/bin/sh", "-c", "echo child: hello; exit 7"]);
    assert_eq!(r.code, 7, "{}", r.dump());
    assert!(r.stdout.contains("child: hello"), "{}", r.dump());

    let r = single(&["--", "/bin/sh", "-c", "kill -TERM $$"]);
    assert_eq!(r.code, 128 + 15, "{}", r.dump());

    let r = single(&["-e", "3", "--", "/bin/sh", "-c", "exit 3"]);
    assert_eq!(r.code, 0, "{}", r.dump());

    let r = single(&["--", "/nonexistent/program"]);
    assert_eq!(r.code, 127, "{}", r.dump());
    assert!(
        r.stderr
            .contains("/nonexistent/program: No such file or directory"),
        "{}",
        r.dump()
    );

    // foster runs foster: the child is `qemu_user foster check TABLE`.
    let native = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/native.tab");
    let mut cmd = Command::new(qemu_user);
    cmd.arg(foster)
        .args(["--", qemu_user])
        .arg(foster)
        .arg("check")
        .arg(&native);
    let r = run_bounded(cmd, limit);
    assert_eq!(r.code, 0, "{}", r.dump());
    assert!(r.stdout.contains("ok, 14 entries"), "{}", r.dump());

    // A signal to foster is forwarded to the child.
    let mut child = Command::new(qemu_user)
        .arg(foster)
        .args(["--", "/bin/sh", "-c"])
        .arg("trap 'echo child: got TERM; exit 9' TERM; echo child: ready; while :; do sleep 0.05; done")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn foster under qemu-user");
    let mut lines = BufReader::new(child.stdout.take().expect("piped")).lines();
    let first = lines.next().and_then(Result::ok).unwrap_or_default();
    assert_eq!(first, "child: ready");
    // SAFETY: kill has no memory preconditions; the pid is our live child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break Some(s);
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert_eq!(
        status.and_then(|s| s.code()),
        Some(9),
        "SIGTERM not forwarded; child said {rest:?}"
    );
    assert!(rest.iter().any(|l| l == "child: got TERM"), "{rest:?}");

    // Sub-init: a service and an `on-exit=exit:4` entry; the service is stopped.
    let dir =
        std::env::temp_dir().join(format!("foster-tests-{}-{}", qemu_user, std::process::id()));
    std::fs::create_dir_all(&dir).expect("create a scratch directory");
    let table = dir.join("sub.tab");
    std::fs::write(
        &table,
        "service svc -- /bin/sh -c 'trap \"echo svc: stopped; exit 0\" TERM; while :; do sleep 0.05; done'\n\
         once last on-exit=exit:4 -- /bin/sh -c 'sleep 0.3; echo last: ran'\n",
    )
    .expect("write the table");
    let mut cmd = Command::new(qemu_user);
    cmd.arg(foster)
        .arg("-f")
        .arg(&table)
        .arg("-S")
        .arg(dir.join("sock"));
    let r = run_bounded(cmd, limit);
    assert_eq!(r.code, 4, "{}", r.dump());
    assert!(r.stdout.contains("last: ran"), "{}", r.dump());
    assert!(r.stdout.contains("svc: stopped"), "{}", r.dump());
    subreaper_note(&r);
    let _ = std::fs::remove_dir_all(&dir);
}
