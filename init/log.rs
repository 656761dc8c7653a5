//! foster's own messages. A sub-init writes `foster: ...` lines to stderr.
//! PID 1 writes them to /dev/kmsg (`<6>` info, `<3>` errors) and to the
//! console, but skips the console copy of a line the kernel already echoes
//! there (its level is below the console log level), so no line shows twice.

use crate::out::Line;
use crate::sys::{self, Errno, Fd, RawFd};

pub struct Log {
    console: RawFd,
    /// PID 1's own non-blocking handle on /dev/console: a stuck serial line
    /// (XOFF, Scroll Lock) must never block PID 1. Children keep the
    /// inherited, blocking stdio: this is a separate open file description.
    _console: Option<Fd>,
    kmsg: Option<Fd>,
}

/// stderr only, for the modes without a log of their own: one shared value
/// instead of a `Log` built (and dropped) at every report.
pub static STDERR: Log = Log::fd(sys::STDERR);

const INFO: u8 = 6;
const ERROR: u8 = 3;

impl Log {
    /// stderr only: [`STDERR`].
    pub fn stderr() -> &'static Log {
        &STDERR
    }

    /// `fd` only (not closed by the log).
    pub const fn fd(fd: RawFd) -> Log {
        Log {
            console: fd,
            _console: None,
            kmsg: None,
        }
    }

    /// A sub-init's stderr. A pipe or a terminal there is written through an
    /// open file description of foster's own, non-blocking, as PID 1's
    /// console: a reader that stalls (a stopped terminal, a stuck log
    /// collector) costs lines, never supervision. Children keep the
    /// inherited, blocking one; a file (its offset shared with the children)
    /// or a socket (it cannot be opened again) is used as it is.
    pub fn own_stderr() -> Log {
        const FD2: &core::ffi::CStr = c"/proc/self/fd/2";
        let own = match sys::stat(FD2, true) {
            Ok(st) if matches!(st.mode & sys::S_IFMT, sys::S_IFIFO | sys::S_IFCHR) => {
                let flags = sys::O_WRONLY | sys::O_NOCTTY | sys::O_NONBLOCK | sys::O_CLOEXEC;
                sys::open(FD2, flags, 0).ok()
            }
            _ => None,
        };
        Log {
            console: own.as_ref().map_or(sys::STDERR, Fd::raw),
            _console: own,
            kmsg: None,
        }
    }

    /// PID 1: kmsg plus the console.
    pub fn pid1() -> Log {
        let kmsg = sys::open(
            c"/dev/kmsg",
            sys::O_WRONLY | sys::O_CLOEXEC | sys::O_NONBLOCK,
            0,
        )
        .ok();
        let own = sys::open(
            c"/dev/console",
            sys::O_WRONLY | sys::O_NOCTTY | sys::O_NONBLOCK | sys::O_CLOEXEC,
            0,
        )
        .ok();
        Log {
            console: own.as_ref().map_or(sys::STDERR, Fd::raw),
            _console: own,
            kmsg,
        }
    }

    /// Writes one line, `foster: ` then `parts`, then `: ERRNO-TEXT POST`
    /// when given: every line of the log is built here, in one buffer.
    #[inline(never)]
    fn emit(&self, level: u8, parts: &[&[u8]], errno: Option<&(Errno, &str)>) {
        let mut l = Line::new();
        let mut fd = self.console;
        if let Some(k) = &self.kmsg {
            // A level is one digit: `<3>`, `<6>`.
            l.bytes(&[b'<', b'0' + level, b'>']);
            fd = k.raw();
        }
        loop {
            l.s("foster: ");
            for p in parts {
                l.bytes(p);
            }
            if let Some(&(e, post)) = errno {
                l.colon_errno(e).s(post);
            }
            l.flush(fd);
            // The console copy, unless the kernel echoes the kmsg line there.
            if fd == self.console || echoed(level) {
                return;
            }
            fd = self.console;
        }
    }

    pub fn info(&self, msg: &str) {
        self.info_raw(msg.as_bytes());
    }
    pub fn info_raw(&self, msg: &[u8]) {
        self.line(INFO, msg);
    }
    pub fn error(&self, msg: &str) {
        self.error_raw(msg.as_bytes());
    }
    pub fn error_raw(&self, msg: &[u8]) {
        self.line(ERROR, msg);
    }
    /// A line of one part.
    #[inline(never)]
    fn line(&self, level: u8, msg: &[u8]) {
        self.emit(level, &[msg], None);
    }

    /// The error `unable to WHAT OBJ TAIL: ERRNO` (WHAT, OBJ and TAIL written
    /// as given, without blanks added): the shape of most failure reports,
    /// built in one place.
    #[inline]
    pub fn unable(&self, what: &str, obj: &[u8], tail: &str, e: Errno) {
        // Nearly every caller has no TAIL: its call passes all in registers.
        if tail.is_empty() {
            self.unable_raw(what.as_bytes(), obj, e);
        } else {
            let parts = [&b"unable to "[..], what.as_bytes(), obj, tail.as_bytes()];
            self.error_errno(&parts, e, "");
        }
    }

    /// `unable to WHAT OBJ: ERRNO`, WHAT as bytes (a piece of a packed list).
    #[inline(never)]
    pub fn unable_raw(&self, what: &[u8], obj: &[u8], e: Errno) {
        self.error_errno(&[b"unable to ", what, obj], e, "");
    }

    /// Logs the error `PARTS...: ERRNO-TEXT POST`.
    #[inline]
    pub fn error_errno(&self, parts: &[&[u8]], e: Errno, post: &str) {
        self.error_with(parts, Some(&(e, post)));
    }

    /// Logs an error made of `parts`, then `: ERRNO-TEXT POST` when given.
    #[inline(never)]
    pub fn error_with(&self, parts: &[&[u8]], errno: Option<&(Errno, &str)>) {
        self.emit(ERROR, parts, errno);
    }

    /// A line that must reach the console as is (the QEMU result marker),
    /// given in /dev/kmsg's form, `<6>TEXT\n`: the console gets `TEXT\n`,
    /// retried on a full console for up to a second, never longer; the
    /// /dev/kmsg copy is left out when the kernel would echo it there too.
    pub fn kmsg_marker(&self, line: &[u8]) {
        let text = line.get(3..).unwrap_or(&[]);
        let _ = sys::write_all_waiting(self.console, text, 100);
        if let Some(k) = self.kmsg.as_ref().filter(|_| !echoed(INFO)) {
            let _ = sys::write_all(k.raw(), line);
        }
    }
}

/// Whether the kernel echoes a /dev/kmsg line of `level` on the console:
/// below its console_loglevel, the first of the four numbers in
/// "7\t4\t1\t7\n". Asked at each line, not once at boot: `dmesg -n 1` in a
/// boot script (or a sysctl, or klogd) changes it, and a level read at boot
/// lost every line after that, or showed each twice after `dmesg -n 8`.
/// Unreadable: not echoed, foster writes its own copy.
#[inline(never)]
fn echoed(level: u8) -> bool {
    let mut buf = [core::mem::MaybeUninit::uninit(); 64];
    sys::read_head(c"/proc/sys/kernel/printk", &mut buf)
        .and_then(|t| crate::bytes::nth_piece(t, b'\t', 0))
        .and_then(crate::bytes::parse_u32)
        .is_some_and(|l| u32::from(level) < l)
}

/// [`Log::unable`] on stderr: `foster: unable to WHAT OBJ TAIL: ERRNO`, for
/// the modes without a log of their own.
#[inline]
pub fn unable(what: &str, obj: &[u8], tail: &str, e: Errno) {
    STDERR.unable(what, obj, tail, e);
}
