//! Foster for the embedded targets (`aarch64.rs`, `riscv64.rs`): the triples,
//! the static-binary check, and the single-command / sub-init smoke test of a
//! foreign foster under qemu-user. The builds are [`super::qemu::cargo_build`].

use super::qemu::{run_bounded, Run};
use super::{scratch_dir, wait_bounded};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

pub const AARCH64: &str = "aarch64-unknown-linux-musl";
/// foster links no libc, so the triple's libc does not matter: rustup serves
/// this one everywhere, and riscv64gc-unknown-linux-musl not always.
pub const RISCV64: &str = "riscv64gc-unknown-linux-gnu";

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
    let status = wait_bounded(&mut child, limit);
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert_eq!(
        status.and_then(|s| s.code()),
        Some(9),
        "SIGTERM not forwarded; child said {rest:?}"
    );
    assert!(rest.iter().any(|l| l == "child: got TERM"), "{rest:?}");

    // Sub-init: a service and an `on-exit=exit:4` entry; the service is stopped.
    let dir = scratch_dir(qemu_user);
    let table = dir.join("sub.tab");
    // last ends foster only once svc has its trap: a shell still starting
    // would die of the stop's TERM without a word.
    let up = dir.join("svc-up");
    let _ = std::fs::remove_file(&up);
    std::fs::write(
        &table,
        format!(
            "service svc -- /bin/sh -c 'trap \"echo svc: stopped; exit 0\" TERM; touch {up}; \
             while :; do sleep 0.05; done'\n\
             once last on-exit=exit:4 -- /bin/sh -c 'until [ -e {up} ]; do sleep 0.05; done; \
             echo last: ran'\n",
            up = up.display()
        ),
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
