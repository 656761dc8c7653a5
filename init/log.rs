//! foster's own messages. A sub-init writes `foster: ...` lines to stderr.
//! PID 1 writes them to /dev/kmsg (`<6>` info, `<3>` errors) and to the
//! console, but skips the console copy of a line the kernel already echoes
//! there (its level is below the console log level), so no line shows twice.

use crate::out::Line;
use crate::sys::{self, Errno, Fd, RawFd};
use crate::texts::{text, Packed};

pub struct Log {
    pub(crate) console: RawFd,
    kmsg: Option<Fd>,
    /// `console` is foster's own, closed with the log: PID 1's non-blocking
    /// handle on /dev/console (a stuck serial line, XOFF or Scroll Lock,
    /// must never block PID 1), or a sub-init's on its stderr. Children
    /// keep the inherited, blocking stdio: this is a separate open file
    /// description.
    own: bool,
    /// `console` is a socket foster could not open again (journald's
    /// stream under systemd): written with a non-blocking `send` instead.
    socket: bool,
}

/// Closes the console's fd if it is foster's own (`kmsg` closes as an
/// `Fd`): a flag, not a second `Option<Fd>` kept beside `console`.
impl Drop for Log {
    fn drop(&mut self) {
        if self.own {
            drop(Fd::from_raw(self.console));
        }
    }
}

/// stderr only, for the modes without a log of their own: one shared value
/// instead of a `Log` built (and dropped) at every report.
pub static STDERR: Log = Log::fd(sys::STDERR);

/// A piece of a log line: bytes as they are (a name, a path), a message
/// text, or `: ERRNO-TEXT`.
/// (The variants' order only sets their tags: this one compiles smallest.)
#[derive(Clone, Copy)]
pub enum Part<'a> {
    Text(Packed),
    Errno(Errno),
    Raw(&'a [u8]),
}

const UNABLE_TO: Part = Part::Text(text!("unable to "));

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
            kmsg: None,
            own: false,
            socket: false,
        }
    }

    /// A sub-init's stderr. A pipe or a terminal there is written through an
    /// open file description of foster's own, non-blocking, as PID 1's
    /// console: a reader that stalls (a stopped terminal, a stuck log
    /// collector) costs lines, never supervision. Children keep the
    /// inherited, blocking one; a file (its offset shared with the children)
    /// is used as it is, a socket (it cannot be opened again: journald's
    /// stream under systemd) with a non-blocking `send`.
    pub fn own_stderr() -> Log {
        const FD2: &core::ffi::CStr = c"/proc/self/fd/2";
        // Unknown (0) when stderr cannot be looked at.
        match sys::stat(FD2, true).map_or(0, |st| st.mode & sys::S_IFMT) {
            sys::S_IFIFO | sys::S_IFCHR => Log::own_console(FD2, None),
            kind => {
                let mut log = Log::fd(sys::STDERR);
                log.socket = kind == sys::S_IFSOCK;
                log
            }
        }
    }

    /// PID 1: kmsg plus the console.
    pub fn pid1() -> Log {
        let kmsg = sys::open_opt(
            c"/dev/kmsg",
            sys::O_WRONLY | sys::O_CLOEXEC | sys::O_NONBLOCK,
            0,
        );
        Log::own_console(c"/dev/console", kmsg)
    }

    /// A log with its console copy written through `path` opened again,
    /// non-blocking (else through stderr as it is): one open for PID 1's
    /// console and a sub-init's stderr.
    fn own_console(path: &core::ffi::CStr, kmsg: Option<Fd>) -> Log {
        let flags = sys::O_WRONLY | sys::O_NOCTTY | sys::O_NONBLOCK | sys::O_CLOEXEC;
        let own = sys::open_opt(path, flags, 0);
        Log {
            own: own.is_some(),
            console: own.map_or(sys::STDERR, Fd::into_raw),
            kmsg,
            socket: false,
        }
    }

    /// Writes one line, `foster: ` then `parts`: every line of the log is
    /// built here, in one buffer.
    #[inline(never)]
    fn emit(&self, parts: &[Part], level: u8) {
        let mut l = Line::new();
        let mut fd = self.console;
        if let Some(k) = &self.kmsg {
            // A level is one digit: `<3>`, `<6>`.
            l.bytes(&[b'<', b'0' + level, b'>']);
            fd = k.raw();
        }
        loop {
            l.t(text!("foster: "));
            for p in parts {
                match *p {
                    Part::Raw(b) => l.bytes(b),
                    Part::Errno(e) => l.colon_errno(e),
                    Part::Text(t) => l.t(t),
                };
            }
            if self.socket {
                // Only a sub-init's (or a container's) stderr: no kmsg copy.
                // A small line goes whole or not at all.
                l.end();
                let _ = sys::send_nowait(fd, l.as_bytes());
                return;
            }
            l.flush(fd);
            // The console copy, unless the kernel echoes the kmsg line there.
            if fd == self.console || echoed(level) {
                return;
            }
            fd = self.console;
        }
    }

    #[inline]
    pub fn info(&self, msg: Packed) {
        self.text(msg, INFO);
    }
    #[inline]
    pub fn info_raw(&self, msg: &[u8]) {
        self.raw(false, msg);
    }
    #[inline]
    pub fn error(&self, msg: Packed) {
        self.text(msg, ERROR);
    }
    #[inline]
    pub fn error_raw(&self, msg: &[u8]) {
        self.raw(true, msg);
    }
    /// A line of one text.
    #[inline(never)]
    fn text(&self, msg: Packed, level: u8) {
        self.emit(&[Part::Text(msg)], level);
    }
    /// A line of one part as it is, an error or (`error` false) info.
    #[inline(never)]
    pub fn raw(&self, error: bool, msg: &[u8]) {
        self.emit(&[Part::Raw(msg)], if error { ERROR } else { INFO });
    }

    /// The error `unable to WHAT OBJ: ERRNO` (WHAT and OBJ written as given,
    /// without blanks added): the shape of most failure reports, built in
    /// one place.
    #[inline(never)]
    pub fn unable(&self, what: Packed, obj: &[u8], e: Errno) {
        self.unable_to(what, obj, e, text!(""));
    }

    /// `unable to WHAT OBJ: ERRNO POST`: one copy for [`Log::unable`] and
    /// the failures foster goes on after (POST says how). WHAT is a text,
    /// not a [`Part`]: a 2-byte argument in a register, where a `Part` goes
    /// through memory.
    #[inline(never)]
    pub fn unable_to(&self, what: Packed, obj: &[u8], e: Errno, post: Packed) {
        let parts = [
            UNABLE_TO,
            Part::Text(what),
            Part::Raw(obj),
            Part::Errno(e),
            Part::Text(post),
        ];
        self.error_with(&parts);
    }

    /// Logs information made of `parts`: no line buffer of the caller's
    /// to build it in.
    #[inline]
    pub fn info_with(&self, parts: &[Part]) {
        self.emit(parts, INFO);
    }

    /// Logs an error made of `parts`.
    #[inline(never)]
    pub fn error_with(&self, parts: &[Part]) {
        self.emit(parts, ERROR);
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

/// [`Log::unable`] on stderr: `foster: unable to WHAT OBJ: ERRNO`, for the
/// modes without a log of their own.
#[inline]
pub fn unable(what: Packed, obj: &[u8], e: Errno) {
    STDERR.unable(what, obj, e);
}
