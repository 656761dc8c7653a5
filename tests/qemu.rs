//! foster as `/init` in QEMU, and the image builder's guarantees.
//!
//! The `qemu` and `image` tools and the guest test programs (`exit-with`,
//! `panic-kernel`, `hang`, `seed-doublefork`) are built once, statically for
//! `x86_64-unknown-linux-musl`, by a nested `cargo build` into this build's
//! target directory (tests/common/qemu.rs). foster itself is this package's
//! binary. Every QEMU run is bounded twice: by the runner's `--timeout`, and by
//! a watchdog here that kills the runner if it overstays.
//!
//! Needs: qemu-system-x86, a readable kernel (`FOSTER_KERNEL` or /boot/vmlinuz-*),
//! busybox-static, cpio, e2fsprogs.

mod common;

use common::qemu::{
    host_tool, run_bounded, Run, EXIT_ERROR, EXIT_NO_RESULT, EXIT_PANIC, EXIT_TIMEOUT,
};
use common::{alive, children_of, scratch_dir, wait_bounded, wait_for, FOSTER};
use std::io::Read;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// A fresh scratch path for this test process.
fn scratch(name: &str) -> PathBuf {
    scratch_dir("qemu").join(name)
}

/// `qemu test --foster FOSTER --timeout SECS -- <guest program> ARGS`.
fn kernel_test(timeout_secs: u64, program: &str, args: &[&str]) -> Run {
    let mut cmd = Command::new(host_tool("qemu"));
    cmd.args(["test", "--foster", FOSTER, "--prefix", "--timeout"])
        .arg(timeout_secs.to_string())
        .arg("--")
        .arg(host_tool(program))
        .args(args);
    run_bounded(cmd, Duration::from_secs(timeout_secs + 30))
}

#[test]
fn passing_test_returns_0() {
    let r = kernel_test(30, "exit-with", &["0"]);
    assert_eq!(r.code, 0, "{}", r.dump());
    assert_eq!(r.verdict(), "qemu: guest test exited 0", "{}", r.dump());
    assert!(
        r.stdout.contains("foster: exit-status test 0"),
        "{}",
        r.dump()
    );
}

#[test]
fn failing_test_returns_its_code() {
    let r = kernel_test(30, "exit-with", &["3"]);
    assert_eq!(r.code, 3, "{}", r.dump());
    assert_eq!(r.verdict(), "qemu: guest test exited 3", "{}", r.dump());
}

/// Booted without `quiet` (console log level 7, the kernel's default), the
/// kernel echoes foster's /dev/kmsg lines on the console: each shows there
/// once, the result line too.
#[test]
fn each_line_shows_once_on_a_verbose_console() {
    let mut cmd = Command::new(host_tool("qemu"));
    cmd.args(["test", "--foster", FOSTER, "--timeout", "30"])
        .args(["--append", "loglevel=7", "--"])
        .arg(host_tool("exit-with"))
        .arg("3");
    let r = run_bounded(cmd, Duration::from_secs(60));
    assert_eq!(r.code, 3, "{}", r.dump());
    for line in [
        "foster: test: exited with status 3",
        "foster: exit-status test 3",
    ] {
        assert_eq!(r.stdout.matches(line).count(), 1, "{line}\n{}", r.dump());
    }
}

#[test]
fn a_marker_or_panic_line_printed_by_the_test_does_not_decide() {
    let r = kernel_test(
        30,
        "exit-with",
        &[
            "3",
            "foster: exit-status test 0",
            "Kernel panic - not syncing: quoted by the test",
        ],
    );
    assert_eq!(r.code, 3, "{}", r.dump());
    assert_eq!(r.verdict(), "qemu: guest test exited 3", "{}", r.dump());
}

#[test]
fn kernel_panic_gives_the_panic_code() {
    let r = kernel_test(30, "panic-kernel", &[]);
    assert_eq!(r.code, EXIT_PANIC, "{}", r.dump());
    // The test's own panic, not foster dying ("Attempted to kill init").
    assert!(
        r.verdict().starts_with("qemu: kernel panic")
            && r.verdict().contains("sysrq triggered crash"),
        "{}",
        r.dump()
    );
}

#[test]
fn hanging_guest_gives_the_timeout_code_in_about_the_timeout() {
    // The guest must reach the test before the timeout: ~2 s under TCG,
    // 6-8 s seen on a loaded host, more on an overloaded one.
    let r = kernel_test(20, "hang", &[]);
    assert_eq!(r.code, EXIT_TIMEOUT, "{}", r.dump());
    assert_eq!(r.verdict(), "qemu: timeout after 20 s", "{}", r.dump());
    assert!(
        r.elapsed >= Duration::from_secs(20) && r.elapsed < Duration::from_secs(26),
        "{}",
        r.dump()
    );
    assert!(r.stdout.contains("hang: sleeping forever"), "{}", r.dump());
}

#[test]
fn a_killed_runner_leaves_no_qemu_and_no_image_behind() {
    let tmp = scratch("tmpdir");
    std::fs::create_dir_all(&tmp).unwrap();
    let mut child = Command::new(host_tool("qemu"))
        .args(["test", "--foster", FOSTER, "--timeout", "60", "--"])
        .arg(host_tool("hang"))
        .env("TMPDIR", &tmp)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let runner = child.id() as i32;
    let mut out = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut seen = Vec::new();
        let mut buf = [0u8; 4096];
        while let Ok(n @ 1..) = out.read(&mut buf) {
            seen.extend_from_slice(&buf[..n]);
            if String::from_utf8_lossy(&seen).contains("hang: sleeping forever") {
                let _ = tx.send(());
            }
        }
    });
    let guest_runs = rx.recv_timeout(Duration::from_secs(40)).is_ok();
    let qemu = children_of(runner);
    // SAFETY: kill(2) on our own child, not yet reaped.
    unsafe { libc::kill(runner, libc::SIGTERM) };
    let status = wait_bounded(&mut child, Duration::from_secs(10));
    assert!(guest_runs, "the guest never ran the test");
    assert_eq!(status.and_then(|s| s.signal()), Some(libc::SIGTERM));
    assert!(!qemu.is_empty(), "no QEMU under the runner");
    wait_for(Duration::from_secs(10), "QEMU to die", || {
        !qemu.iter().any(|&p| alive(p))
    });
    let left: Vec<_> = std::fs::read_dir(&tmp).unwrap().flatten().collect();
    assert!(left.is_empty(), "left in TMPDIR: {left:?}");
}

#[test]
fn double_forked_daemons_are_reparented_to_foster_and_reaped() {
    let r = kernel_test(30, "seed-doublefork", &[]);
    assert_eq!(r.code, 0, "{}", r.dump());
    assert!(r.stdout.contains("seed-doublefork: ok"), "{}", r.dump());
}

#[test]
fn arguments_the_table_cannot_hold_are_refused_before_booting() {
    let many: Vec<String> = (0..40).map(|i| i.to_string()).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    for (args, why) in [
        (&["0", "two\nlines"][..], "unterminated quote"),
        (&many[..], "too many words in command"),
    ] {
        let r = kernel_test(5, "exit-with", args);
        assert_eq!(r.code, EXIT_ERROR, "{}", r.dump());
        assert!(r.stderr.contains(why), "{}", r.dump());
        assert!(r.elapsed < Duration::from_secs(5), "{}", r.dump());
    }
}

#[test]
fn qemu_failing_to_start_is_a_runner_error() {
    let garbage = scratch("garbage-kernel");
    std::fs::create_dir_all(garbage.parent().unwrap()).unwrap();
    std::fs::write(&garbage, pattern(64 << 10)).unwrap();
    for extra in [
        &["--kernel", garbage.to_str().unwrap()][..],
        &["--qemu-arg", "-no-such-option"][..],
    ] {
        let mut cmd = Command::new(host_tool("qemu"));
        cmd.args(["boot", "--timeout", "20", "--initrd", FOSTER])
            .args(extra);
        let r = run_bounded(cmd, Duration::from_secs(40));
        assert_eq!(r.code, EXIT_ERROR, "{}", r.dump());
        assert!(
            r.verdict().starts_with("qemu: qemu-system-x86_64 failed"),
            "{}",
            r.dump()
        );
    }
}

#[test]
fn a_dynamic_test_binary_is_refused() {
    let mut cmd = Command::new(host_tool("qemu"));
    cmd.args(["test", "--foster", FOSTER, "--", "/bin/true"]);
    let r = run_bounded(cmd, Duration::from_secs(30));
    assert_eq!(r.code, EXIT_ERROR, "{}", r.dump());
    assert!(
        r.stderr.contains("/bin/true is not a static executable"),
        "{}",
        r.dump()
    );
}

/// A manifest exercising every line kind, with relative host paths.
fn write_manifest(name: &str) -> PathBuf {
    let dir = scratch(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("inittab"), "once hello -- /bin/echo hello\n").unwrap();
    // A private copy: the workspace's foster may be rebuilt while tests run.
    std::fs::copy(FOSTER, dir.join("foster")).unwrap();
    let m = dir.join("image.txt");
    std::fs::write(
        &m,
        "# test image\n\
             file /init foster 0755\n\
             busybox /bin\n\
             file /etc/inittab inittab\n\
             dir /proc\n\
             dir /tmp 1777\n\
             symlink /sbin/init ../init\n\
             node /dev/tty c 5 0 0666\n\
             text /etc/hostname 0644 foster\\n\n",
    )
    .unwrap();
    m
}

fn build_image(manifest: &Path, out: &Path, extra: &[&str]) -> Run {
    let mut cmd = Command::new(host_tool("image"));
    cmd.arg("-m").arg(manifest).arg("-o").arg(out).args(extra);
    run_bounded(cmd, Duration::from_secs(60))
}

fn sha256(path: &Path) -> String {
    let out = Command::new("sha256sum")
        .arg(path)
        .output()
        .expect("run sha256sum");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap_or("")
        .to_owned()
}

#[test]
fn images_are_reproducible() {
    let m = write_manifest("repro");
    let (a, b) = (scratch("a.cpio.gz"), scratch("b.cpio.gz"));
    let r = build_image(&m, &a, &["-z"]);
    assert_eq!(r.code, 0, "{}", r.dump());
    // Different host mtimes and a later wall clock change nothing.
    std::thread::sleep(Duration::from_millis(1100));
    let inittab = m.with_file_name("inittab");
    std::fs::write(&inittab, std::fs::read(&inittab).unwrap()).unwrap();
    let r = build_image(&m, &b, &["-z"]);
    assert_eq!(r.code, 0, "{}", r.dump());
    let (ha, hb) = (sha256(&a), sha256(&b));
    assert_eq!(ha.len(), 64);
    assert_eq!(ha, hb, "two builds of the same manifest differ");
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
}

#[test]
fn cpio_lists_the_expected_entries() {
    let m = write_manifest("listing");
    let out = scratch("list.cpio");
    let r = build_image(&m, &out, &[]);
    assert_eq!(r.code, 0, "{}", r.dump());
    let listing = Command::new("cpio")
        .args(["-t", "--quiet", "-F"])
        .arg(&out)
        .output()
        .expect("run cpio -t");
    assert!(listing.status.success(), "cpio -t failed: {listing:?}");
    let names: Vec<String> = String::from_utf8_lossy(&listing.stdout)
        .lines()
        .map(String::from)
        .collect();
    for want in [
        "bin",
        "bin/busybox",
        "bin/sh",
        "bin/mount",
        "bin/poweroff",
        "dev",
        "dev/console",
        "dev/null",
        "dev/tty",
        "etc",
        "etc/hostname",
        "etc/inittab",
        "init",
        "proc",
        "sbin",
        "sbin/init",
        "tmp",
    ] {
        assert!(names.iter().any(|n| n == want), "{want} missing: {names:?}");
    }
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "entries are not sorted");
    // Owner root, one fixed mtime (1970 without SOURCE_DATE_EPOCH).
    let verbose = Command::new("cpio")
        .args(["-tv", "--quiet", "--numeric-uid-gid", "-F"])
        .arg(&out)
        .env("TZ", "UTC")
        .output()
        .expect("run cpio -tv");
    let verbose = String::from_utf8_lossy(&verbose.stdout);
    let console = verbose
        .lines()
        .find(|l| l.ends_with(" dev/console"))
        .expect("dev/console in the listing");
    assert!(console.starts_with("crw-------"), "{console}");
    assert!(
        console.contains(" 0        0 ") || console.contains(" 0 0 "),
        "{console}"
    );
    assert!(console.contains("5,"), "{console}");
    assert!(
        verbose.lines().all(|l| l.contains("1970")),
        "an entry has a non-zero mtime:\n{verbose}"
    );
}

/// The reproducible-builds specification: a malformed `SOURCE_DATE_EPOCH`
/// fails the build rather than silently dating every entry 1970.
#[test]
fn a_malformed_source_date_epoch_is_an_error() {
    let out = scratch("epoch.cpio");
    for (epoch, code) in [("2023-01-01", 1), ("4294967296", 1), ("1700000000", 0)] {
        let _ = std::fs::remove_file(&out);
        let mut cmd = Command::new(host_tool("image"));
        cmd.arg("-o").arg(&out).env("SOURCE_DATE_EPOCH", epoch);
        let r = run_bounded(cmd, Duration::from_secs(30));
        assert_eq!(r.code, code, "{epoch}: {}", r.dump());
        assert_eq!(out.exists(), code == 0, "{epoch}: {}", r.dump());
        if code != 0 {
            assert!(r.stderr.contains("SOURCE_DATE_EPOCH"), "{}", r.dump());
        }
    }
}

#[test]
fn a_dynamic_init_is_refused() {
    let out = scratch("dynamic.cpio");
    let mut cmd = Command::new(host_tool("image"));
    cmd.args(["--init", "/bin/sh", "-o"]).arg(&out);
    let r = run_bounded(cmd, Duration::from_secs(30));
    assert_eq!(r.code, 1, "{}", r.dump());
    assert!(
        r.stderr.contains("/init is not a static executable") && r.stderr.contains("loader"),
        "{}",
        r.dump()
    );
    assert!(!out.exists(), "an image was written anyway");
}

/// Deterministic bytes that compress badly (xorshift).
fn pattern(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

#[test]
fn poweroff_through_foster_loses_no_data() {
    let disk = scratch("disk.ext4");
    let f = std::fs::File::create(&disk).unwrap();
    f.set_len(64 << 20).unwrap(); // sparse
    drop(f);
    let mkfs = Command::new("mkfs.ext4")
        .args(["-F", "-q"])
        .arg(&disk)
        .output()
        .expect("run mkfs.ext4");
    assert!(mkfs.status.success(), "mkfs.ext4: {mkfs:?}");

    let data = pattern(1 << 20);
    let data_path = scratch("data.bin");
    std::fs::write(&data_path, &data).unwrap();
    let table = scratch("data-inittab");
    std::fs::write(
        &table,
        "sysinit mount -- /bin/mount -t ext4 /dev/nvme0n1 /mnt\n\
         once writer -- /bin/sh -c 'cp /data.bin /mnt/data.bin && echo writer: copied && poweroff'\n",
    )
    .unwrap();
    let img = scratch("data.cpio.gz");
    let mut cmd = Command::new(host_tool("image"));
    cmd.args(["--init", FOSTER, "--busybox", "-z", "--inittab"])
        .arg(&table)
        .arg(format!("--file=/data.bin={}", data_path.display()))
        .arg("-m")
        .arg(write_dirs_manifest())
        .arg("-o")
        .arg(&img);
    let r = run_bounded(cmd, Duration::from_secs(60));
    assert_eq!(r.code, 0, "{}", r.dump());

    let mut cmd = Command::new(host_tool("qemu"));
    cmd.args(["boot", "--prefix", "--timeout", "40", "--initrd"])
        .arg(&img)
        .arg("--disk")
        .arg(&disk);
    let r = run_bounded(cmd, Duration::from_secs(70));
    // No entry reports a status: a clean power-off is "no result" with QEMU exiting 0.
    assert_eq!(r.code, EXIT_NO_RESULT, "{}", r.dump());
    assert!(r.verdict().contains("exit status: 0"), "{}", r.dump());
    assert!(r.stdout.contains("writer: copied"), "{}", r.dump());

    // Clean means unmounted or remounted read-only before power-off: no journal
    // left to replay. (`e2fsck -n` exits 0 even when it skips a needed replay.)
    let fsck = Command::new("e2fsck")
        .arg("-fn")
        .arg(&disk)
        .output()
        .expect("run e2fsck");
    let report = format!(
        "e2fsck -fn: {}\n{}{}",
        fsck.status,
        String::from_utf8_lossy(&fsck.stdout),
        String::from_utf8_lossy(&fsck.stderr)
    );
    assert!(fsck.status.success(), "{report}");
    assert!(
        !report.contains("journal recovery") && !report.contains("Fix?"),
        "the filesystem was not cleanly unmounted (still mounted read-write at power-off?)\n{report}\n{}",
        r.dump()
    );
    let header = Command::new("dumpe2fs")
        .arg("-h")
        .arg(&disk)
        .output()
        .expect("run dumpe2fs");
    let header = String::from_utf8_lossy(&header.stdout);
    assert!(
        !header.contains("needs_recovery"),
        "journal needs recovery: not remounted read-only before power-off\n{header}"
    );
    let dump = Command::new("debugfs")
        .args(["-R", "cat /data.bin"])
        .arg(&disk)
        .output()
        .expect("run debugfs");
    assert_eq!(dump.stdout.len(), data.len(), "file size on disk");
    assert!(dump.stdout == data, "file contents on disk differ");
    let _ = std::fs::remove_file(&disk);
}

fn write_dirs_manifest() -> PathBuf {
    let m = scratch("dirs.txt");
    std::fs::write(
        &m,
        "dir /proc\ndir /sys\ndir /dev\ndir /run\ndir /mnt\ndir /tmp 1777\n",
    )
    .unwrap();
    m
}

/// The README's demo (`demo/run`: examples/vm.tab as BusyBox's /etc/inittab,
/// foster as /init) boots, shows what it promises, and powers off with the
/// demo entry's status 0.
#[test]
fn the_readme_demo_boots_and_powers_off() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let img = scratch("demo.cpio.gz");
    let mut cmd = Command::new(host_tool("image"));
    cmd.args(["--init", FOSTER, "--file"])
        .arg(format!("/sbin/foster={FOSTER}"))
        .args(["--busybox", "-z", "--inittab"])
        .arg(root.join("examples/vm.tab"))
        .arg("-o")
        .arg(&img);
    let r = run_bounded(cmd, Duration::from_secs(60));
    assert_eq!(r.code, 0, "{}", r.dump());
    let mut cmd = Command::new(host_tool("qemu"));
    cmd.args(["boot", "--timeout", "90", "--initrd"]).arg(&img);
    let r = run_bounded(cmd, Duration::from_secs(120));
    assert_eq!(r.code, 0, "{}", r.dump());
    assert_eq!(r.verdict(), "qemu: guest demo exited 0", "{}", r.dump());
    let out = &r.stdout;
    for needle in [
        "demo: booted by foster on Linux",
        "foster: web: ready",
        "adopted from its pidfile",
        "hello from foster",
        "demo: powering off",
        "foster: powering off",
    ] {
        assert!(out.contains(needle), "no {needle:?}\n{}", r.dump());
    }
    // `foster ctl status`: the adopted daemon runs, crashy backs off.
    let row = |name: &str| {
        out.lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("no status row for {name}\n{}", r.dump()))
            .to_owned()
    };
    assert!(row("daemon").contains("running"), "{}", r.dump());
    assert!(row("web").contains("ready"), "{}", r.dump());
    // Up for a few ms every 2 s: almost always seen backing off.
    let crashy = row("crashy");
    assert!(
        crashy.contains("backoff") || crashy.contains("running"),
        "{}",
        r.dump()
    );
    assert!(
        out.matches("crashy: failing on purpose").count() >= 2,
        "{}",
        r.dump()
    );
}
