//! PID 1 duties: mount the API filesystems, get a console, take Ctrl-Alt-Del
//! as SIGINT, map BusyBox init's signals, and shut the machine down in bounded
//! steps. As PID 1 foster never returns: if the supervisor cannot run, it
//! says so once and reaps orphans forever.
//!
//! In a container (PID 1 of a PID namespace that is not the initial one),
//! foster never remounts or unmounts what it did not mount itself: those
//! superblocks belong to the host.

use crate::fatal;
use crate::log::{Log, Part};
use crate::out::Line;
use crate::runtime::Runtime;
use crate::signals::{SIGINT, SIGPWR, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2};
use crate::spawn::open_as;
use crate::supervisor::{Mode, Outcome};
use crate::sys::{self, Errno, StartArgs};
use crate::texts::text;
use config_format::Kind;
use core::ffi::CStr;

/// API filesystems, one `TARGET\0PARENT\0TYPE\0DATA\0` record each
/// (PARENT: the directory TARGET sits in; the source is named as the type,
/// as `mount -t proc proc /proc`; an empty DATA: none). One string, not a
/// table of pointers and lengths.
const MOUNTS: &[u8] = b"\
    /proc\0/\0proc\0\0\
    /sys\0/\0sysfs\0\0\
    /dev\0/\0devtmpfs\0mode=0755\0\
    /dev/pts\0/dev\0devpts\0gid=5,mode=620,ptmxmode=666\0\
    /dev/shm\0/dev\0tmpfs\0mode=1777\0\
    /run\0/\0tmpfs\0mode=0755\0";

/// The mount flags of each MOUNTS record, one byte each.
const MOUNT_FLAGS: [u8; 6] = [
    flag_byte(sys::MS_NOSUID | sys::MS_NODEV | sys::MS_NOEXEC),
    flag_byte(sys::MS_NOSUID | sys::MS_NODEV | sys::MS_NOEXEC),
    flag_byte(sys::MS_NOSUID),
    flag_byte(sys::MS_NOSUID | sys::MS_NOEXEC),
    flag_byte(sys::MS_NOSUID | sys::MS_NODEV),
    flag_byte(sys::MS_NOSUID | sys::MS_NODEV),
];

/// `flags` as a byte: checked when MOUNT_FLAGS is built, at compile time.
const fn flag_byte(flags: u32) -> u8 {
    assert!(flags <= 0xff);
    flags as u8
}

/// The fields of a MOUNTS record, in order.
const TARGET: usize = 0;
const PARENT: usize = 1;
const TYPE: usize = 2;
const DATA: usize = 3;
const FIELDS: usize = 4;

/// Field `field` (TARGET .. DATA) of record `record` of MOUNTS.
#[inline(never)]
fn mount_field(record: usize, field: usize) -> &'static CStr {
    let mut n = record * FIELDS + field;
    let mut start = 0;
    for (end, &b) in MOUNTS.iter().enumerate() {
        if b == 0 {
            if n == 0 {
                return sys::cstr(MOUNTS.get(start..=end).unwrap_or(&[])).unwrap_or(c"");
            }
            n -= 1;
            start = end + 1;
        }
    }
    c""
}

/// Whether the kernel command line args ask for PID 1 supervisor mode: none,
/// or words the kernel passes on (`single`, runlevels). `first` is
/// the index [`crate::mode_word`] returns; the caller has checked it for `-f`/`-S` (always the
/// supervisor) already.
pub fn wants_supervisor(args: &StartArgs, first: usize) -> bool {
    // A container runs `foster [--] CMD` (or `foster -g ... CMD`): single-command
    // mode. But a kernel passes the command-line words it does not know
    // (`single`, `splash`, runlevels, sysvinit's `-s` and `-b`) on to init: as
    // PID 1 foster must not try to run those and exit, so words none of which
    // names a program mean the supervisor, and the words are ignored.
    // `-v` and `-p SIG` are both modes' (`foster -v -f TABLE`, tini's
    // `foster -v CMD`): the word after them decides.
    // `--` never comes from the kernel (it ends its own words there): a
    // user's, asking for single-command mode, whose missing CMD is then
    // exit 127, whatever /proc says.
    let path = crate::spawn::path_of(args);
    let mut i = first;
    while let Some(word) = args.arg(i) {
        if word.to_bytes() == b"--" || crate::spawn::is_program(word, path) {
            return false;
        }
        i += 1;
    }
    // No words, or a lone `-v`; `-p SIG` alone is single-command mode's,
    // missing its command.
    if i == first {
        return first <= 2;
    }
    booted_by_kernel()
}

/// PID 1 started by the kernel itself, not by a container runtime: no /proc
/// yet (runtimes always mount one), or a /proc of the initial PID namespace
/// (pid 1 is us and pid 2 is `kthreadd`). A container keeps tini's behaviour
/// for a missing command: exit 127.
fn booted_by_kernel() -> bool {
    !in_container() || matches!(sys::stat(c"/proc/self/stat", false), Err(Errno::ENOENT))
}

/// The end of single-command mode as PID 1. The kernel's own init
/// (`init=/sbin/foster -- CMD`) must not exit: the kernel would panic
/// ("Attempted to kill init!") with nothing synced. CMD and what it left are
/// gone by now: report its status as an `on-exit=poweroff` entry does, sync,
/// make the root read-only and power off. A container's init exits with it.
pub fn single_ended(code: i32) -> i32 {
    // Only the initial PID namespace's init may turn Ctrl-Alt-Del off: a
    // child namespace's reboot(2) refuses it (EINVAL), and a PID 2 does not
    // tell (a process nsenter put there has one). No /proc to ask: single-
    // command mode mounts nothing. Off is right anyway: it powers off next.
    if sys::reboot(sys::REBOOT_CMD_CAD_OFF).is_err() {
        return code;
    }
    // The result marker must get through even a full console: single-command
    // mode made foster's stderr (the console here) non-blocking after the
    // exec. Its only other status flag, O_APPEND, means nothing on a tty.
    let _ = sys::fcntl(sys::STDERR, sys::F_SETFL, 0);
    crate::single::say(text!("exit-status init #"), b"", code.into(), 0);
    sys::sync();
    let _ = sys::remount_ro(c"/");
    let _ = sys::reboot(sys::REBOOT_CMD_POWER_OFF);
    fatal::reap_forever()
}

/// PID 1 of a child PID namespace (no `kthreadd` as PID 2), or one whose
/// /proc is not its own namespace's (the host's, bind-mounted in: `unshare
/// -pf` without `--mount-proc`), where PID 2 tells nothing about foster's.
pub fn in_container() -> bool {
    !(stat_starts(c"/proc/self/stat", b"1 ") && stat_starts(c"/proc/2/stat", b"2 (kthreadd)"))
}

/// Whether the file `path` (a /proc stat) starts with `with`.
#[inline(never)]
fn stat_starts(path: &CStr, with: &[u8]) -> bool {
    // Only the start matters, and 16 bytes hold it: "2 (kthreadd) S 0 ...".
    let mut buf = [core::mem::MaybeUninit::uninit(); 16];
    sys::read_head(path, &mut buf).is_some_and(|stat| stat.starts_with(with))
}

/// Mounts what is missing; returns a bit per record of MOUNTS foster mounted.
fn mount_api(log: &Log) -> u8 {
    let mut mine = 0u8;
    for (i, &flags) in MOUNT_FLAGS.iter().enumerate() {
        let target = mount_field(i, TARGET);
        // A mount point sits on another device than its parent directory
        // (whose stat is not needed when TARGET's fails).
        if let Ok(a) = sys::stat(target, false) {
            if sys::stat(mount_field(i, PARENT), false).is_ok_and(|b| a.dev != b.dev) {
                continue;
            }
        }
        let _ = sys::mkdir(target, 0o755);
        let data = Some(mount_field(i, DATA)).filter(|d| !d.is_empty());
        let fstype = mount_field(i, TYPE);
        match sys::mount(fstype, target, fstype, u32::from(flags), data) {
            Ok(()) => mine |= 1 << i,
            Err(e) => log.unable(text!("mount "), target.to_bytes(), e),
        }
    }
    mine
}

/// fds 0-2 that are closed go on /dev/console (PID 1: the initramfs had no
/// console node) or, with `null` and failing that, on /dev/null, as BusyBox
/// init does: a closed one would be taken by foster's own signalfd or
/// socket, and foster's lines would go where a service's output goes.
pub fn fill_closed_stdio(console: bool, null: bool) {
    for target in 0..3 {
        if sys::fcntl(target, sys::F_GETFD, 0) != Err(Errno::EBADF) {
            continue;
        }
        let _ = (console && open_as(c"/dev/console", target).is_ok())
            || (null && open_as(c"/dev/null", target).is_ok());
    }
}

/// PID 1's supervisor mode; the caller has tried to block the signals.
#[inline(never)]
pub fn main(args: StartArgs) -> ! {
    // A closed fd 0-2 is filled only once /proc tells a container from the
    // kernel's own init (which starts with no /proc, as a hand-made
    // container can): a container's /dev/console is the host's. (The
    // kernel opens init's stdio on /dev/console when that node exists; when
    // it does not, only the devtmpfs mounted here brings it.)
    let mounted = mount_api(&crate::log::STDERR);
    // Decided with /proc mounted; without a /proc to tell, assume a container:
    // the safe side, since a container must never remount the host's filesystems.
    let container = in_container();
    fill_closed_stdio(!container, true);
    let _ = sys::setsid();
    // Ctrl-Alt-Del becomes SIGINT to us instead of an instant reboot.
    let _ = sys::reboot(sys::REBOOT_CMD_CAD_OFF);
    // Log lines of a crash-looping service must not be dropped by the
    // kernel's /dev/kmsg rate limit: as the machine's init, foster turns it off.
    if !container {
        if let Some(fd) = sys::open_opt(
            c"/proc/sys/kernel/printk_devkmsg",
            sys::O_WRONLY | sys::O_CLOEXEC,
            0,
        ) {
            let _ = sys::write(fd.raw(), b"on\n");
        }
    }
    // A container's /dev/kmsg is the host's kernel log: not foster's to write.
    // Its stderr is the runtime's log pipe, written as a sub-init's: a
    // collector that stops reading costs lines, never supervision.
    let log = if container {
        Log::own_stderr()
    } else {
        Log::pid1()
    };
    log.info(if container {
        text!("starting as PID 1 of a container")
    } else {
        text!("starting as PID 1")
    });
    // A bad option line (`-f` without a TABLE) counts as none at all.
    let mut opts = crate::subinit::Opts::default();
    if crate::subinit::parse(&args, 1, true, &mut opts).is_err() {
        opts = crate::subinit::Opts::default();
    }
    let mut new = crate::subinit::runtime(args, Mode::Pid1, &opts, log);
    let rt = match &mut new {
        Ok(rt) => rt,
        Err((what, e)) => {
            crate::unable_then(*what, *e, text!("; reaping orphans only"));
            fatal::reap_forever()
        }
    };
    // After mount_api: /run is a fresh tmpfs (or the container's own).
    let outcome = rt.serve(Some(opts.socket().unwrap_or(crate::control::PID1_SOCKET)));
    finish(rt, outcome, container, mounted)
}

/// BusyBox init's signals (SIGHUP, a reload, is the runtime's in both modes).
pub fn on_signal(rt: &mut Runtime, sig: u8, now: u64) {
    // A signal that orders nothing says why, in one log call.
    let why = 'why: {
        let outcome = match sig {
            SIGINT => {
                if rt.supervisor_mut().trigger(Kind::CtrlAltDel, now) != 0 {
                    return;
                }
                // As BusyBox: an entry still running from the last press
                // (or a shutdown under way) is left alone.
                break 'why match rt.supervisor().first_of(Kind::CtrlAltDel) {
                    None => text!("Ctrl-Alt-Del: no ctrlaltdel entry"),
                    Some(_) if rt.supervisor().is_stopping() => {
                        text!("Ctrl-Alt-Del: ignored while shutting down")
                    }
                    Some(_) => text!("Ctrl-Alt-Del: ctrlaltdel entries still running"),
                };
            }
            // One shutdown call for the four orders.
            SIGQUIT => match rt.supervisor().first_of(Kind::Restart) {
                Some(id) => Outcome::ExecRestart(id),
                None => break 'why text!("SIGQUIT: no restart entry"),
            },
            SIGUSR1 => Outcome::Halt,
            SIGUSR2 | SIGPWR => Outcome::Poweroff,
            SIGTERM => Outcome::Reboot,
            _ => return,
        };
        rt.supervisor_mut().shutdown(outcome, now);
        return;
    };
    rt.log().info(why);
}

/// The end of a shutdown: sync, unmount or remount read-only, reboot(2).
fn finish(rt: &mut Runtime, outcome: Outcome, container: bool, mounted: u8) -> ! {
    if let Outcome::ExecRestart(id) = outcome {
        // Only returns if the exec failed (reported): halt, as BusyBox
        // does, rather than hang (or reboot into the same failure).
        rt.exec_in_place(id);
    }
    let cmd = match outcome {
        Outcome::Poweroff | Outcome::Exit(_) => sys::REBOOT_CMD_POWER_OFF,
        Outcome::Halt | Outcome::ExecRestart(_) => sys::REBOOT_CMD_HALT,
        Outcome::Reboot => sys::REBOOT_CMD_RESTART,
    };
    if container {
        // No sync: the host's kernel keeps its page cache, and a sync(2)
        // that waits on the host's slowest filesystem could hang the stop.
        // Only what foster mounted itself goes, newest first.
        let mut left = mounted;
        while let Some(i) = left.checked_ilog2() {
            left ^= 1 << i;
            let _ = sys::umount(mount_field(i as usize, TARGET), sys::MNT_DETACH);
        }
        // `on-exit=exit:CODE`: a container's init may exit, and its
        // runtime reports CODE (reboot(2) would report SIGINT instead).
        if let Outcome::Exit(code) = outcome {
            sys::exit(i32::from(code))
        }
    } else {
        sys::sync();
        remount_all_ro(rt.log());
        sys::sync();
    }
    if let Err(e) = sys::reboot(cmd) {
        rt.log().unable(text!("reboot"), b"", e);
        if container {
            // No CAP_SYS_BOOT: ending PID 1 ends the namespace just as well.
            sys::exit(0)
        }
    }
    fatal::reap_forever()
}

/// /proc/mounts writes blanks, tabs, newlines and backslashes in paths as
/// `\NNN` octal escapes: decode them.
fn unescape_mount_path(raw: &[u8], out: &mut Line) {
    let mut i = 0;
    while let Some(&b) = raw.get(i) {
        // Three octal digits after a backslash: checked and decoded in one pass.
        let octal = raw.get(i + 1..i + 4).filter(|_| b == b'\\').and_then(|d| {
            d.iter().try_fold(0u8, |n, &c| {
                matches!(c, b'0'..=b'7').then(|| n.wrapping_mul(8).wrapping_add(c - b'0'))
            })
        });
        match octal {
            Some(v) => {
                out.byte(v);
                i += 4;
            }
            None => {
                out.byte(b);
                i += 1;
            }
        }
    }
}

/// Unmounts, or else remounts read-only, every filesystem but the virtual
/// ones, newest mount first, as /proc/mounts lists them.
// Cold: runs once, at shutdown (measured: smaller).
#[cold]
fn remount_all_ro(log: &Log) {
    // Room for thousands of mounts: the newest, at the end, matter most. Taken
    // only now, at shutdown; a small stack buffer if even that fails.
    const MOUNTS_MAX: usize = 256 * 1024;
    let mut small = [0u8; 4096];
    let buf: &mut [u8] = match sys::reserve(MOUNTS_MAX) {
        Ok(b) => b,
        Err(_) => &mut small,
    };
    // Mounted again where missing: a shutdown entry may have unmounted
    // /proc (`umount -a` takes it too), and without /proc/mounts no
    // filesystem would go read-only.
    let _ = mount_api(log);
    let n = match sys::read_file(c"/proc/mounts", buf) {
        Ok(n) => n,
        Err(Errno::EFBIG) => {
            log.error(text!(
                "/proc/mounts is too long; remounting the first part only"
            ));
            buf.len()
        }
        Err(_) => return,
    };
    let text = buf.get(..n.min(buf.len())).unwrap_or(&[]);
    for line in text.split(|&b| b == b'\n').rev() {
        // "DEV TARGET TYPE OPTIONS 0 0"
        let field = |i| crate::bytes::nth_piece(line, b' ', i);
        let Some(target) = field(1) else {
            continue;
        };
        let Some(fstype) = field(2) else {
            continue;
        };
        const VIRTUAL: &[u8] = b"proc sysfs devtmpfs devpts tmpfs rootfs ramfs cgroup2 cgroup";
        if crate::word_index(VIRTUAL, fstype).is_some() {
            continue;
        }
        let mut p = Line::new();
        unescape_mount_path(target, &mut p);
        p.byte(0);
        let Some(c) = sys::cstr(p.as_bytes()) else {
            continue;
        };
        // Unmounted where it can be, as sysvinit's `umount -r` does: a
        // loop-mounted image's loop device holds its file open for
        // writing until that filesystem goes, and only then can the one
        // holding the file go read-only. Else (`/`, one still in use)
        // remounted read-only; EBUSY there too: a file still open for
        // writing leaves that filesystem unclean.
        if sys::umount(c, 0).is_err() {
            if let Err(e) = sys::remount_ro(c) {
                let parts = [
                    Part::Text(text!("unable to remount ")),
                    Part::Raw(target),
                    Part::Text(text!(" read-only")),
                    Part::Errno(e),
                ];
                log.error_with(&parts);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_records_match_their_flags() {
        let fields = MOUNTS.iter().filter(|&&b| b == 0).count();
        assert_eq!(fields, FIELDS * MOUNT_FLAGS.len());
        assert_eq!(mount_field(3, TARGET), c"/dev/pts");
        assert_eq!(mount_field(3, PARENT), c"/dev");
        assert_eq!(mount_field(2, DATA), c"mode=0755");
        assert_eq!(mount_field(0, DATA), c"");
        assert_eq!(mount_field(5, TYPE), c"tmpfs");
        assert_eq!(mount_field(1, TYPE), c"sysfs");
    }

    #[test]
    fn mount_paths_are_unescaped() {
        let mut l = Line::new();
        unescape_mount_path(b"/mnt/my\\040disk\\011x\\134y\\9", &mut l);
        assert_eq!(l.as_bytes(), b"/mnt/my disk\tx\\y\\9");
    }
}
