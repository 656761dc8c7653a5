//! foster as `/init` of a real (QEMU, TCG) boot with BusyBox (issue 6): a
//! BusyBox-style `/etc/inittab` runs, a crash-looping service does not stop
//! the boot, BusyBox's own `poweroff` and `reboot` applets end the VM cleanly
//! (QEMU runs with `-no-reboot`, so a reboot ends it too), and no boot ever
//! shows "Attempted to kill init!".
//!
//! The `image` and `qemu` tools are built once, statically for
//! `x86_64-unknown-linux-musl`, by a nested `cargo build` into this build's
//! target directory (as in tests/qemu.rs). Each boot takes ~3 s of TCG and is
//! bounded twice: by the runner's `--timeout`, and by a watchdog here.
//!
//! Needs: qemu-system-x86, a readable kernel (`FOSTER_KERNEL` or
//! /boot/vmlinuz-*), busybox-static.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const FOSTER: &str = env!("CARGO_BIN_EXE_foster");
const MUSL: &str = "x86_64-unknown-linux-musl";
/// The runner's code for "QEMU ended without an exit-status line".
const EXIT_NO_RESULT: i32 = 122;

fn target_dir() -> PathBuf {
    Path::new(FOSTER)
        .parent()
        .and_then(Path::parent)
        .expect("foster lives in <target>/<profile>/")
        .to_path_buf()
}

/// Builds the image and qemu tools once; returns their directory.
fn tools() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let target = target_dir();
        let status = Command::new(cargo)
            .args(["build", "--release", "-p", "qemu", "-p", "image"])
            .args([
                "--bin",
                "qemu",
                "--bin",
                "image",
                "--target",
                MUSL,
                "--target-dir",
            ])
            .arg(&target)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .expect("run cargo build for the qemu and image tools");
        assert!(status.success(), "cargo build of the qemu tools failed");
        target.join(MUSL).join("release")
    })
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("foster-tests-pid1-qemu-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create a scratch directory");
    dir.join(name)
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
    elapsed: Duration,
}

impl Run {
    fn verdict(&self) -> &str {
        self.stderr
            .lines()
            .rev()
            .find(|l| l.starts_with("qemu: "))
            .unwrap_or("")
    }

    fn dump(&self) -> String {
        format!(
            "exit code {}, after {:.1?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.code, self.elapsed, self.stdout, self.stderr
        )
    }

    fn pos(&self, needle: &str) -> usize {
        self.stdout
            .find(needle)
            .unwrap_or_else(|| panic!("no {needle:?} on the console\n{}", self.dump()))
    }

    fn in_order(&self, needles: &[&str]) {
        for w in needles.windows(2) {
            assert!(
                self.pos(w[0]) < self.pos(w[1]),
                "{:?} should come before {:?}\n{}",
                w[0],
                w[1],
                self.dump()
            );
        }
    }

    /// Neither foster nor anything else took the kernel down.
    fn no_panic(&self) {
        for bad in [
            "Attempted to kill init",
            "Kernel panic",
            "foster: internal error",
        ] {
            assert!(!self.stdout.contains(bad), "{bad:?}\n{}", self.dump());
        }
    }
}

/// Runs `cmd`, killing it if it is still running after `limit`.
fn run_bounded(mut cmd: Command, limit: Duration) -> Run {
    let start = Instant::now();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn the command");
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
        "watchdog: command ran past {limit:?}\n{}",
        run.dump()
    );
    run
}

/// The BusyBox-style table every boot runs, plus `extra` lines.
fn inittab(extra: &str) -> String {
    format!(
        "# BusyBox syntax, run by foster as PID 1.\n\
         ::sysinit:/bin/sh -c 'sleep 0.2; echo bb-sysinit'\n\
         ::once:/bin/echo bb-once\n\
         ::respawn:/bin/sh -c 'echo bb-service-up; exec sleep 1000'\n\
         ::respawn:/bin/false\n\
         ::shutdown:/bin/sh -c 'echo bb-shutdown-ran FOSTER_SHUTDOWN=$FOSTER_SHUTDOWN'\n\
         {extra}"
    )
}

/// Builds an image (foster as /init, BusyBox, `table` as /etc/inittab plus
/// `files`) and boots it with `append` on the kernel command line.
fn boot(name: &str, table: &str, files: &[(&str, &str)], append: &[&str]) -> Run {
    let dir = scratch(name);
    std::fs::create_dir_all(&dir).unwrap();
    let tab = dir.join("inittab");
    std::fs::write(&tab, table).unwrap();
    let mut manifest =
        String::from("dir /proc\ndir /sys\ndir /dev\ndir /run\ndir /tmp 1777\ndir /root\n");
    for (i, (path, text)) in files.iter().enumerate() {
        let host = dir.join(format!("file{i}"));
        std::fs::write(&host, text).unwrap();
        let mode = if text.starts_with("#!") {
            "0755"
        } else {
            "0644"
        };
        manifest.push_str(&format!("file {path} {} {mode}\n", host.display()));
    }
    let m = dir.join("image.txt");
    std::fs::write(&m, manifest).unwrap();
    let img = dir.join("initramfs.cpio.gz");
    let mut cmd = Command::new(tools().join("image"));
    cmd.args(["--init", FOSTER, "--busybox", "-z", "--inittab"])
        .arg(&tab)
        .arg("-m")
        .arg(&m)
        .arg("-o")
        .arg(&img);
    let r = run_bounded(cmd, Duration::from_secs(60));
    assert_eq!(r.code, 0, "image: {}", r.dump());

    let mut cmd = Command::new(tools().join("qemu"));
    cmd.args(["boot", "--prefix", "--timeout", "30", "--initrd"])
        .arg(&img);
    for a in append {
        cmd.arg("--append").arg(a);
    }
    let r = run_bounded(cmd, Duration::from_secs(60));
    let _ = std::fs::remove_dir_all(&dir);
    if let Some(base) = dir.parent() {
        // Empty once the last boot is done.
        let _ = std::fs::remove_dir(base);
    }
    r
}

/// The common checks: the table ran in order, the crash loop was throttled
/// and did not stop the boot.
fn booted(r: &Run) {
    r.in_order(&["foster: starting as PID 1", "bb-sysinit", "bb-once"]);
    r.pos("bb-service-up");
    assert!(
        r.stdout
            .contains("exited with status 1; restarting in 100 ms"),
        "the crash-looping service was not restarted with backoff\n{}",
        r.dump()
    );
    assert!(
        !r.stdout.contains("starting as PID 1 of a container"),
        "{}",
        r.dump()
    );
}

#[test]
fn busybox_poweroff_powers_the_vm_off() {
    let r = boot(
        "poweroff",
        &inittab("::once:/bin/sh -c 'sleep 1; echo calling-poweroff; poweroff'\n"),
        &[],
        &[],
    );
    // No entry reports a status: a clean power-off is QEMU exiting 0.
    assert_eq!(r.code, EXIT_NO_RESULT, "{}", r.dump());
    assert!(r.verdict().contains("exit status: 0"), "{}", r.dump());
    booted(&r);
    r.in_order(&[
        "calling-poweroff",
        "foster: powering off",
        "bb-shutdown-ran FOSTER_SHUTDOWN=poweroff",
        "reboot: Power down",
    ]);
    r.no_panic();
}

#[test]
fn busybox_reboot_reboots_the_vm() {
    let r = boot(
        "reboot",
        &inittab("::once:/bin/sh -c 'sleep 1; echo calling-reboot; reboot'\n"),
        &[],
        &[],
    );
    // -no-reboot: QEMU exits (status 0) where the machine would restart.
    assert_eq!(r.code, EXIT_NO_RESULT, "{}", r.dump());
    assert!(r.verdict().contains("exit status: 0"), "{}", r.dump());
    booted(&r);
    r.in_order(&[
        "calling-reboot",
        "foster: rebooting",
        "bb-shutdown-ran FOSTER_SHUTDOWN=reboot",
        "reboot: Restarting system",
    ]);
    assert!(!r.stdout.contains("reboot: Power down"), "{}", r.dump());
    r.no_panic();
}

#[test]
fn a_table_from_the_kernel_command_line_and_an_exit_status() {
    // `-- -f TABLE` on the kernel command line reaches /init as its argv;
    // the native table's on-exit entry reports on the console and powers off.
    let other = "sysinit s -- /bin/echo other-table\n\
                 service svc -- /bin/sh -c 'echo svc-up; exec sleep 1000'\n\
                 once t on-exit=poweroff -- /bin/sh -c 'sleep 0.5; test -e /proc/1/stat && \
                 test -e /sys/kernel && test -c /dev/null && test -d /dev/pts && exit 7'\n";
    let r = boot(
        "cmdline",
        &inittab(""),
        &[("/etc/other.tab", other)],
        &["--", "-f", "/etc/other.tab"],
    );
    assert_eq!(r.code, 7, "{}", r.dump());
    assert_eq!(r.verdict(), "qemu: guest t exited 7", "{}", r.dump());
    assert!(!r.stdout.contains("bb-sysinit"), "{}", r.dump());
    r.in_order(&[
        "other-table",
        "svc-up",
        "foster: exit-status t 7",
        "reboot: Power down",
    ]);
    r.no_panic();
}
