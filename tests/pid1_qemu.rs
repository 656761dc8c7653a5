//! foster as `/init` of a real (QEMU, TCG) boot with BusyBox (issue 6): a
//! BusyBox-style `/etc/inittab` runs, a crash-looping service does not stop
//! the boot, BusyBox's own `poweroff` and `reboot` applets end the VM cleanly
//! (QEMU runs with `-no-reboot`, so a reboot ends it too), and no boot ever
//! shows "Attempted to kill init!", and children on the serial console get
//! `TERM=vt102`. Also: a console shell ends at once on
//! poweroff, a single-command init powers off when its command ends, a
//! `log=` file or a loop-mounted image on an ext4 disk does not keep it from
//! being left clean, and foster's lines show once whatever the console log
//! level becomes after boot.
//!
//! The `image` and `qemu` tools are built once, statically for
//! `x86_64-unknown-linux-musl`, by a nested `cargo build` into this build's
//! target directory (tests/common/qemu.rs, shared with tests/qemu.rs). Each
//! boot takes ~3 s of TCG and is bounded twice: by the runner's `--timeout`,
//! and by a watchdog here.
//!
//! Needs: qemu-system-x86, a readable kernel (`FOSTER_KERNEL` or
//! /boot/vmlinuz-*), busybox-static.

mod common;

use common::qemu::{host_tool, require, run_bounded, Run, EXIT_NO_RESULT};
use common::{scratch_dir, FOSTER};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

fn scratch(name: &str) -> PathBuf {
    scratch_dir("pid1-qemu").join(name)
}

/// Console checks of a boot.
impl Run {
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

/// The BusyBox-style table every boot runs, plus `extra` lines.
fn inittab(extra: &str) -> String {
    format!(
        "# BusyBox syntax, run by foster as PID 1.\n\
         ::sysinit:/bin/sh -c 'sleep 0.2; echo bb-sysinit'\n\
         ::once:/bin/echo bb-once\n\
         ::once:/bin/sh -c 'echo bb-term=$TERM'\n\
         ::respawn:/bin/sh -c 'echo bb-service-up; touch /tmp/bb-up; exec sleep 1000'\n\
         ::respawn:/bin/sh -c 'echo run >> /tmp/bb-crashes; exit 1'\n\
         ::shutdown:/bin/sh -c 'echo bb-shutdown-ran FOSTER_SHUTDOWN=$FOSTER_SHUTDOWN'\n\
         {extra}"
    )
}

/// A `once` entry that runs `cmd` when what [`booted`] checks has happened:
/// the service is up and the crash loop restarted at least once (a second
/// run), however slow the boot (a loaded host under TCG).
fn once_after_boot(cmd: &str) -> String {
    format!(
        "::once:/bin/sh -c 'until [ -e /tmp/bb-up ] && sed -n 2p /tmp/bb-crashes 2>/dev/null \
         | grep -q run; do sleep 0.1; done; {cmd}'\n"
    )
}

/// Builds an image (foster as /init, BusyBox, `table` as /etc/inittab plus
/// `files`) and boots it with `append` on the kernel command line.
fn boot(name: &str, table: &str, files: &[(&str, &str)], append: &[&str]) -> Run {
    boot_disk(name, table, files, &[], append, None)
}

/// [`boot`] with `disk` attached as NVMe (`/dev/nvme0n1`) and the host
/// files `host` (image path, host path) copied in.
fn boot_disk(
    name: &str,
    table: &str,
    files: &[(&str, &str)],
    host: &[(&str, &Path)],
    append: &[&str],
    disk: Option<&Path>,
) -> Run {
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
    for (path, src) in host {
        manifest.push_str(&format!("file {path} {} 0644\n", src.display()));
    }
    let m = dir.join("image.txt");
    std::fs::write(&m, manifest).unwrap();
    let img = dir.join("initramfs.cpio.gz");
    let mut cmd = Command::new(host_tool("image"));
    cmd.args(["--init", FOSTER, "--busybox", "-z", "--inittab"])
        .arg(&tab)
        .arg("-m")
        .arg(&m)
        .arg("-o")
        .arg(&img);
    let r = run_bounded(cmd, Duration::from_secs(60));
    assert_eq!(r.code, 0, "image: {}", r.dump());

    // ~3 s under TCG, up to 15 s seen on a loaded host.
    let mut cmd = Command::new(host_tool("qemu"));
    cmd.args(["boot", "--prefix", "--timeout", "60", "--initrd"])
        .arg(&img);
    for a in append {
        cmd.arg("--append").arg(a);
    }
    if let Some(disk) = disk {
        cmd.arg("--disk").arg(disk);
    }
    let r = run_bounded(cmd, Duration::from_secs(90));
    let _ = std::fs::remove_dir_all(&dir);
    if let Some(base) = dir.parent() {
        // Empty once the last boot is done.
        let _ = std::fs::remove_dir(base);
    }
    r
}

/// The common checks: the table ran in order, the crash loop was throttled
/// and did not stop the boot, and on the serial console children got
/// BusyBox's TERM=vt102 in place of the kernel's `linux`.
fn booted(r: &Run) {
    r.in_order(&["foster: starting as PID 1", "bb-sysinit", "bb-once"]);
    r.pos("bb-service-up");
    r.pos("bb-term=vt102");
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
        &inittab(&once_after_boot("echo calling-poweroff; poweroff")),
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
        &inittab(&once_after_boot("echo calling-reboot; reboot")),
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
    // One boot: the reboot ended QEMU, it did not boot the kernel again.
    assert_eq!(
        r.stdout.matches("foster: starting as PID 1").count(),
        1,
        "{}",
        r.dump()
    );
    r.no_panic();
}

#[test]
fn a_table_from_the_kernel_command_line_and_an_exit_status() {
    // `-- -f TABLE` on the kernel command line reaches /init as its argv;
    // the native table's on-exit entry reports on the console and powers off.
    let other = "sysinit s -- /bin/echo other-table\n\
                 service svc -- /bin/sh -c 'echo svc-up; touch /tmp/svc-up; exec sleep 1000'\n\
                 once t on-exit=poweroff -- /bin/sh -c 'until [ -e /tmp/svc-up ]; do sleep 0.1; \
                 done; test -e /proc/1/stat && test -e /sys/kernel && test -c /dev/null && \
                 test -d /dev/pts && exit 7'\n";
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

#[test]
fn sysvinit_flags_on_the_kernel_command_line_do_not_end_pid_1() {
    // The kernel hands init the words it does not know, sysvinit's `-s`
    // (single user) and `-b` (emergency) too: as PID 1 foster must not take
    // them for its single-command flags, fail its usage and exit (a panic).
    let r = boot(
        "sysv-flags",
        &inittab(&once_after_boot("echo calling-poweroff; poweroff")),
        &[],
        &["-s", "-b"],
    );
    r.no_panic();
    booted(&r);
    r.in_order(&["calling-poweroff", "reboot: Power down"]);
}

#[test]
fn a_console_shell_ends_at_once_on_poweroff() {
    // An interactive shell ignores SIGTERM: a stop must hang its terminal
    // session up (SIGHUP, as a real hangup does), or every poweroff from the
    // console waits out the entry's timeout before SIGKILL (BusyBox: ~1 s).
    // /etc/profile runs once the login shell has set up its signals.
    let r = boot(
        "console-shell",
        "ttyS0::respawn:-/bin/sh\n\
         ::once:/bin/sh -c 'until [ -e /tmp/shell-up ]; do sleep 0.1; done; poweroff'\n",
        &[("/etc/profile", "touch /tmp/shell-up\n")],
        &[],
    );
    r.no_panic();
    r.in_order(&["foster: powering off", "reboot: Power down"]);
    assert!(!r.stdout.contains("did not stop in time"), "{}", r.dump());
}

#[test]
fn a_single_command_init_powers_off_instead_of_exiting() {
    // `init=/sbin/foster -- CMD` on a board: when CMD ends, PID 1 must not
    // exit (the kernel panics, "Attempted to kill init!", with nothing
    // synced): it syncs and powers off, reporting CMD's status.
    let r = boot(
        "single-init",
        &inittab(""),
        &[],
        &["--", "/bin/sh", "-c", "\"echo single-ran; exit 3\""],
    );
    r.no_panic();
    assert_eq!(r.code, 3, "{}", r.dump());
    r.in_order(&[
        "single-ran",
        "foster: exit-status init 3",
        "reboot: Power down",
    ]);
    assert!(!r.stdout.contains("bb-sysinit"), "{}", r.dump());
}

#[test]
fn a_log_file_does_not_keep_its_disk_from_going_read_only() {
    // foster holds a `log=PATH` file open for writing: it must close it
    // before the read-only remount, or the remount fails (EBUSY)
    // and the ext4 disk is left needing journal recovery.
    require("mkfs.ext4", "e2fsprogs");
    let disk = scratch("log-disk.img");
    std::fs::create_dir_all(disk.parent().unwrap()).unwrap();
    ext4_image(&disk, 16 << 20, None);
    let r = boot_disk(
        "log-disk",
        "::sysinit:/bin/sh -c 'mkdir /mnt && mount -t ext4 /dev/nvme0n1 /mnt'\n\
         service app log=/mnt/app.log -- /bin/sh -c 'echo app-up; exec sleep 1000'\n\
         ::once:/bin/sh -c 'until grep -q app-up /mnt/app.log; do sleep 0.1; done; poweroff'\n",
        &[],
        &[],
        &[],
        Some(&disk),
    );
    powered_off_clean(&r, &disk, &disk);
}

#[test]
fn foster_lines_follow_the_console_log_level_set_after_boot() {
    // Boot scripts change the console log level (`dmesg -n 1` to quiet the
    // console, `dmesg -n 8` or a sysctl to debug): each foster line must
    // still reach the console exactly once, by the kernel's echo of
    // /dev/kmsg or by foster's own copy, as the level stands when it is
    // written, not as it stood at boot (`quiet`: 4).
    let r = boot(
        "loglevel",
        "::sysinit:/bin/dmesg -n 1\n\
         ::sysinit:/bin/sh -c 'exit 3'\n\
         ::sysinit:/bin/dmesg -n 8\n\
         ::once:/bin/poweroff\n",
        &[],
        &[],
    );
    r.no_panic();
    // An error line (level 3) the kernel no longer echoes at level 1.
    r.pos("console.sysinit.2: exited with status 3");
    // An info line (level 6) the kernel echoes at level 8.
    assert_eq!(
        r.stdout.matches("foster: powering off").count(),
        1,
        "{}",
        r.dump()
    );
    r.pos("reboot: Power down");
}

/// The host's `loop.ko` for the kernel the runner boots (`FOSTER_KERNEL`,
/// else the newest /boot/vmlinuz-*): the cloud kernel builds loop as a module.
fn loop_module() -> PathBuf {
    let kernel = std::env::var_os("FOSTER_KERNEL")
        .map(PathBuf::from)
        .or_else(|| {
            let boot = std::fs::read_dir("/boot").ok()?;
            boot.flatten()
                .map(|e| e.path())
                .filter(|p| p.to_string_lossy().contains("/vmlinuz-"))
                .max()
        })
        .expect("no kernel in /boot");
    let name = kernel.file_name().unwrap().to_string_lossy().into_owned();
    let version = name.strip_prefix("vmlinuz-").unwrap_or(&name);
    let module = Path::new("/lib/modules")
        .join(version)
        .join("kernel/drivers/block/loop.ko");
    assert!(
        module.is_file(),
        "no {}: the kernel's modules are not installed",
        module.display()
    );
    module
}

/// An ext4 image of `size` bytes holding the files of `dir` (if any).
fn ext4_image(path: &Path, size: u64, dir: Option<&Path>) {
    std::fs::File::create(path).unwrap().set_len(size).unwrap();
    let mut mkfs = Command::new("mkfs.ext4");
    mkfs.args(["-q", "-F"]);
    if let Some(dir) = dir {
        mkfs.arg("-d").arg(dir);
    }
    assert!(mkfs.arg(path).status().unwrap().success());
}

/// A boot with `disk` attached powered off without a panic or a failed
/// remount and left the disk clean; `scratch` (the disk or its directory)
/// is removed before a failure is reported.
fn powered_off_clean(r: &Run, disk: &Path, scratch: &Path) {
    r.no_panic();
    r.in_order(&["foster: powering off", "reboot: Power down"]);
    assert!(!r.stdout.contains("unable to remount"), "{}", r.dump());
    let report = unclean(disk);
    let _ = if scratch.is_dir() {
        std::fs::remove_dir_all(scratch)
    } else {
        std::fs::remove_file(scratch)
    };
    if let Some(report) = report {
        panic!("the disk was not left clean:\n{report}\n{}", r.dump());
    }
}

/// `e2fsck -fn` of `image`: its report when the filesystem was not left clean.
fn unclean(image: &Path) -> Option<String> {
    let fsck = Command::new("e2fsck")
        .arg("-fn")
        .arg(image)
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&fsck.stdout) + String::from_utf8_lossy(&fsck.stderr);
    let clean =
        fsck.status.success() && !report.contains("journal recovery") && !report.contains("Fix?");
    (!clean).then(|| report.into_owned())
}

#[test]
fn a_loop_mounted_image_does_not_keep_its_disk_from_going_read_only() {
    // A filesystem image on the disk, loop-mounted (`mount -o loop`): its
    // loop device holds the image file open for writing until that
    // filesystem is unmounted, so remounting it read-only is not enough
    // (the disk's remount fails, EBUSY, and the disk needs journal
    // recovery): it must be unmounted, as sysvinit's `umount -r` does.
    require("mkfs.ext4", "e2fsprogs");
    let dir = scratch("loop-disk");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("files")).unwrap();
    ext4_image(&dir.join("files/inner.img"), 4 << 20, None);
    let disk = dir.join("disk.img");
    ext4_image(&disk, 32 << 20, Some(&dir.join("files")));
    let module = loop_module();
    let r = boot_disk(
        "loop-disk-boot",
        "::sysinit:/bin/sh -c 'insmod /loop.ko && mkdir /mnt /inner && \
         mount -t ext4 /dev/nvme0n1 /mnt && mount -o loop /mnt/inner.img /inner'\n\
         ::once:/bin/sh -c 'echo inner > /inner/data; echo outer > /mnt/data; poweroff'\n",
        &[],
        &[("/loop.ko", &module)],
        &[],
        Some(&disk),
    );
    powered_off_clean(&r, &disk, &dir);
}

#[test]
fn a_disk_goes_read_only_even_when_a_shutdown_entry_unmounted_proc() {
    // A shutdown script that unmounts /proc (`umount -a` does, while a busy
    // root disk stays mounted): foster needs /proc/mounts to find the
    // filesystems left to make read-only, and must not skip them all.
    require("mkfs.ext4", "e2fsprogs");
    let disk = scratch("noproc-disk.img");
    std::fs::create_dir_all(disk.parent().unwrap()).unwrap();
    ext4_image(&disk, 16 << 20, None);
    let r = boot_disk(
        "noproc-disk",
        "::sysinit:/bin/sh -c 'mkdir /mnt && mount -t ext4 /dev/nvme0n1 /mnt'\n\
         ::once:/bin/sh -c 'echo data > /mnt/data; poweroff'\n\
         ::shutdown:/bin/umount /proc\n",
        &[],
        &[],
        &[],
        Some(&disk),
    );
    powered_off_clean(&r, &disk, &disk);
}
