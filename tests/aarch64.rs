//! foster on aarch64: built for `aarch64-unknown-linux-musl` from the same
//! sources, booted as `/init` in `qemu-system-aarch64` (virt, cortex-a57, TCG)
//! with Debian's arm64 cloud kernel and busybox-static:arm64, and run under
//! `qemu-aarch64` (qemu-user) in single-command and sub-init modes.
//!
//! The kernel and busybox come from `.ci/fetch-arm64.sh` (`$FOSTER_CACHE/arm64`,
//! default /var/cache/foster/arm64), or `FOSTER_KERNEL_AARCH64` and
//! `FOSTER_BUSYBOX_AARCH64`. When they are missing the tests run that script
//! once, and fail with its message if it cannot fetch: never a silent pass.
//!
//! Every boot is bounded by the runner's `--timeout` and by a watchdog here.
//! `cargo test --release --test aarch64 -- --nocapture` also prints boot times
//! and the binary sizes per architecture.

mod common;

use common::cross::{assert_static_for, qemu_user_smoke, size, AARCH64, RISCV64};
use common::qemu::{cargo_build, host_tool, require, run_bounded, Run, EXIT_NO_RESULT};
use common::{scratch_dir, FOSTER};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

/// Runner timeout per boot: a boot takes ~2 s under TCG.
const BOOT_TIMEOUT: u64 = 60;

/// foster and the guest test programs, static for aarch64.
fn guest(name: &str) -> PathBuf {
    let dir = cargo_build(
        AARCH64,
        &[
            "-p",
            "foster",
            "-p",
            "qemu",
            "--bin",
            "foster",
            "--bin",
            "exit-with",
            "--bin",
            "seed-doublefork",
        ],
    );
    dir.join(name)
}

struct Fetched {
    kernel: PathBuf,
    busybox: PathBuf,
}

/// The arm64 kernel and busybox, fetched once if missing.
fn fetched() -> &'static Fetched {
    static F: OnceLock<Fetched> = OnceLock::new();
    F.get_or_init(|| {
        let cache = std::env::var_os("FOSTER_CACHE")
            .filter(|c| !c.is_empty())
            .map_or_else(|| PathBuf::from("/var/cache/foster"), PathBuf::from)
            .join("arm64");
        let pick = |var: &str, file: &str| {
            std::env::var_os(var)
                .filter(|v| !v.is_empty())
                .map_or_else(|| cache.join(file), PathBuf::from)
        };
        let f = Fetched {
            kernel: pick("FOSTER_KERNEL_AARCH64", "vmlinuz"),
            busybox: pick("FOSTER_BUSYBOX_AARCH64", "busybox"),
        };
        if !(f.kernel.is_file() && f.busybox.is_file()) {
            let script = Path::new(env!("CARGO_MANIFEST_DIR")).join(".ci/fetch-arm64.sh");
            let mut cmd = Command::new("bash");
            cmd.arg(&script);
            let r = run_bounded(cmd, Duration::from_secs(600));
            assert!(
                r.code == 0 && f.kernel.is_file() && f.busybox.is_file(),
                "no arm64 kernel and busybox for the aarch64 boots ({} and {}), and \
                 {} could not fetch them (it needs root and Debian's package registry; \
                 or set FOSTER_KERNEL_AARCH64 and FOSTER_BUSYBOX_AARCH64):\n{}",
                f.kernel.display(),
                f.busybox.display(),
                script.display(),
                r.dump()
            );
        }
        require("qemu-system-aarch64", "qemu-system-arm");
        f
    })
}

/// `qemu test --arch aarch64` with foster as `/init` and PROGRAM as `/test`.
fn kernel_test(program: &str, args: &[&str]) -> Run {
    let f = fetched();
    let mut cmd = Command::new(host_tool("qemu"));
    cmd.args(["test", "--arch", "aarch64", "--prefix", "--kernel"])
        .arg(&f.kernel)
        .arg("--foster")
        .arg(guest("foster"))
        .args(["--timeout", &BOOT_TIMEOUT.to_string(), "--"])
        .arg(guest(program))
        .args(args);
    let r = run_bounded(cmd, Duration::from_secs(BOOT_TIMEOUT + 30));
    eprintln!("aarch64 boot, {program} {args:?}: {:.2?}", r.elapsed);
    r
}

/// Boots an image with foster as `/init`, BusyBox and `table` as `/etc/inittab`.
fn boot_table(name: &str, table: &Path) -> Run {
    let f = fetched();
    let dir = scratch_dir("aarch64");
    let manifest = dir.join(format!("{name}.txt"));
    std::fs::write(
        &manifest,
        "dir /proc\ndir /sys\ndir /dev\ndir /run\ndir /tmp 1777\n",
    )
    .expect("write the manifest");
    let img = dir.join(format!("{name}.cpio.gz"));
    let mut cmd = Command::new(host_tool("image"));
    cmd.arg("--init")
        .arg(guest("foster"))
        .arg(format!("--busybox={}", f.busybox.display()))
        .arg("--inittab")
        .arg(table)
        .arg("-m")
        .arg(&manifest)
        .arg("-z")
        .arg("-o")
        .arg(&img);
    let r = run_bounded(cmd, Duration::from_secs(60));
    assert_eq!(r.code, 0, "image: {}", r.dump());

    let mut cmd = Command::new(host_tool("qemu"));
    cmd.args(["boot", "--arch", "aarch64", "--prefix", "--kernel"])
        .arg(&f.kernel)
        .arg("--initrd")
        .arg(&img)
        .args(["--timeout", &BOOT_TIMEOUT.to_string()]);
    let r = run_bounded(cmd, Duration::from_secs(BOOT_TIMEOUT + 30));
    eprintln!("aarch64 boot, {name}: {:.2?}", r.elapsed);
    let _ = std::fs::remove_file(&img);
    r
}

/// Nothing went wrong in the guest: no panic of the kernel or of foster.
fn assert_healthy(r: &Run) {
    for bad in [
        "Kernel panic",
        "Attempted to kill init",
        "foster: panic",
        "Exec format error",
    ] {
        assert!(
            !r.stdout.contains(bad),
            "{bad:?} on the console\n{}",
            r.dump()
        );
    }
}

/// Each of `order` is on the console, after the one before it.
fn in_sequence(r: &Run, order: &[&str]) {
    let console = &r.stdout;
    let mut at = 0;
    for want in order {
        let found = console[at..].find(want);
        assert!(
            found.is_some(),
            "{want:?} missing or out of order\n{}",
            r.dump()
        );
        at += found.unwrap_or(0) + want.len();
    }
}

#[test]
fn foster_builds_static_for_aarch64() {
    let foster = guest("foster");
    assert_static_for(&foster, "ARM aarch64");
}

#[test]
fn kernel_test_mode_returns_the_test_exit_code() {
    for code in [0, 3] {
        let r = kernel_test("exit-with", &[&code.to_string()]);
        assert_eq!(r.code, code, "{}", r.dump());
        assert_eq!(
            r.verdict(),
            format!("qemu: guest test exited {code}"),
            "{}",
            r.dump()
        );
        assert!(
            r.stdout
                .contains(&format!("foster: exit-status test {code}")),
            "{}",
            r.dump()
        );
        assert!(r.stdout.contains("reboot: Power down"), "{}", r.dump());
        assert_healthy(&r);
    }
}

#[test]
fn double_forked_daemons_are_reparented_to_foster_and_reaped() {
    let r = kernel_test("seed-doublefork", &[]);
    assert_eq!(r.code, 0, "{}", r.dump());
    assert!(
        r.stdout
            .contains("seed-doublefork: ok, 3 daemons re-parented to 1 and reaped"),
        "{}",
        r.dump()
    );
    assert_healthy(&r);
}

#[test]
fn the_demo_table_runs() {
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/demo.tab");
    let r = boot_table("demo", &demo);
    // `done` (on-exit=exit:0) ends the demo: as PID 1, foster powers off.
    assert_eq!(r.code, 0, "{}", r.dump());
    assert_eq!(r.verdict(), "qemu: guest done exited 0", "{}", r.dump());
    let order = [
        "foster: starting as PID 1",
        "sysinit from an inittab line",
        "hello from foster",
        "foster: ticker: started",
        "foster: done: started",
        "foster: exit-status done 0",
        "reboot: Power down",
    ];
    in_sequence(&r, &order);
    assert_healthy(&r);
}

#[test]
fn poweroff_is_clean() {
    let dir = scratch_dir("aarch64");
    let table = dir.join("poweroff.tab");
    std::fs::write(
        &table,
        "# Both syntaxes: a service to stop, shutdown entries, BusyBox's poweroff.\n\
         # off waits until ticker has its trap: a shell still starting dies of TERM.\n\
         service ticker -- /bin/sh -c 'trap \"echo ticker: got TERM; exit 0\" TERM; \
         echo ticker: up; touch /tmp/ticker-up; while :; do sleep 0.1; done'\n\
         once off after=ticker -- /bin/sh -c 'until [ -e /tmp/ticker-up ]; do sleep 0.1; done; \
         echo off: calling poweroff; poweroff'\n\
         shutdown bye -- /bin/sh -c 'echo \"bye: FOSTER_SHUTDOWN=$FOSTER_SHUTDOWN\"'\n\
         ::shutdown:/bin/echo inittab shutdown entry ran\n",
    )
    .expect("write the table");
    let r = boot_table("poweroff", &table);
    // No entry reports a status: a clean power-off is QEMU exiting 0 on its own.
    assert_eq!(r.code, EXIT_NO_RESULT, "{}", r.dump());
    assert!(r.verdict().contains("exit status: 0"), "{}", r.dump());
    let order = [
        "ticker: up",
        "off: calling poweroff",
        "foster: powering off",
        "ticker: got TERM",
        "bye: FOSTER_SHUTDOWN=poweroff",
        "inittab shutdown entry ran",
        "reboot: Power down",
    ];
    in_sequence(&r, &order);
    assert_healthy(&r);
}

#[test]
fn single_command_and_sub_init_run_under_qemu_user() {
    require("qemu-aarch64", "qemu-user");
    qemu_user_smoke("qemu-aarch64", &guest("foster"));
}

/// Prints the stripped static binary's size per architecture (for BENCHMARKS.md).
#[test]
fn sizes_per_architecture() {
    let rows = [
        ("x86_64", "host triple", PathBuf::from(FOSTER)),
        ("aarch64", AARCH64, guest("foster")),
        (
            "riscv64",
            RISCV64,
            cargo_build(RISCV64, &["-p", "foster", "--bin", "foster"]).join("foster"),
        ),
    ];
    eprintln!("foster binary sizes (release, stripped, static):");
    for (arch, triple, path) in &rows {
        let bytes = size(path);
        eprintln!(
            "  {arch:<8} {triple:<28} {bytes:>7} bytes ({:.1} KiB)",
            bytes as f64 / 1024.0
        );
        assert!(bytes > 0);
    }
}
