//! Every raw syscall foster makes, and the only `unsafe` in the crate: the
//! syscalls, the process's start arguments, and the reserved memory that
//! holds foster's big state ([`ZeroValid`], [`Paged`], [`Ring`]).
//!
//! Each wrapper is a safe function that returns `Result<_, Errno>`. The calls that
//! could take down the whole machine when foster is not PID 1 (`kill(-1)`,
//! remount, unmount, `reboot`) check `getpid() == 1` here, so a sub-init bug
//! can never reach them.
#![allow(unsafe_code)]

mod arch;

use crate::texts::{text, Packed};
use core::ffi::CStr;
use core::mem::MaybeUninit;
use linux_raw_sys::general as g;

pub use arch::syscall6;

/// An errno value returned by the kernel.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Errno(pub u16);

pub type Result<T> = core::result::Result<T, Errno>;

// One packed table: the codes as bytes, and what `Errno::text` says for
// each as one `|`-separated compressed text (`config_format::text`), in
// the same order: a human text for the errors foster reports most, the
// symbolic name for the rest (a `match` costs a compare per errno and a
// pointer and a length per text). The texts are one literal, not built
// from the names, so that `tools/text-dict.py` learns their pairs too; a
// test in `out` pins them to the names.
macro_rules! errnos {
    ($($name:ident,)*) => {
        impl Errno {
            $(pub const $name: Errno = Errno(linux_raw_sys::errno::$name as u16);)*
            /// The place of this errno in the list below, if it is there.
            fn index(self) -> Option<usize> {
                use linux_raw_sys::errno as e;
                const _: () = assert!($(e::$name < 256 &&)* true);
                const CODES: &[u8] = &[$(e::$name as u8,)*];
                CODES.iter().position(|&c| u16::from(c) == self.0)
            }
        }
        /// Every errno of the list and its name, in order.
        #[cfg(test)]
        pub(crate) const ERRNOS: &[(Errno, &str)] = &[$((Errno::$name, stringify!($name)),)*];
    };
}

errnos!(
    // With a text.
    ENOENT,
    EACCES,
    EPERM,
    ENOEXEC,
    ENOTDIR,
    EISDIR,
    EAGAIN,
    EMFILE,
    ENOMEM,
    ETXTBSY,
    ENAMETOOLONG,
    ELOOP,
    ECONNREFUSED,
    EINVAL,
    ENOSPC,
    E2BIG,
    // Named only.
    ESRCH,
    EINTR,
    EIO,
    ENXIO,
    EBADF,
    ECHILD,
    EFAULT,
    EBUSY,
    EEXIST,
    EXDEV,
    ENODEV,
    ENFILE,
    ENOTTY,
    EFBIG,
    ESPIPE,
    EROFS,
    EPIPE,
    ERANGE,
    ENOSYS,
    ENOTSOCK,
    EADDRINUSE,
    ECONNRESET,
    ETIMEDOUT,
    ELIBBAD,
    ENOTCONN,
    EOPNOTSUPP,
    EPROTO,
    EMSGSIZE,
);

impl Errno {
    /// The errnos above with a human text (the first ones).
    #[cfg(test)]
    pub(crate) const WITH_TEXT: usize = 16;
    /// What [`Errno::text`] says, in the order of the list above: the
    /// texts of ENOENT, EACCES, EPERM, ENOEXEC, ENOTDIR, EISDIR, EAGAIN,
    /// EMFILE, ENOMEM, ETXTBSY, ENAMETOOLONG, ELOOP, ECONNREFUSED, EINVAL,
    /// ENOSPC and E2BIG, then the names of the others.
    const TEXTS: Packed = text!(
        "No such file or directory|\
         Permission denied|\
         Operation not permitted|\
         Exec format error|\
         Not a directory|\
         Is a directory|\
         Resource temporarily unavailable|\
         Too many open files|\
         Out of memory|\
         Text file busy|\
         File name too long|\
         Too many levels of symbolic links|\
         Connection refused|\
         Invalid argument|\
         No space left on device|\
         Argument list too long|\
         ESRCH|EINTR|EIO|ENXIO|EBADF|ECHILD|EFAULT|EBUSY|EEXIST|EXDEV|ENODEV|ENFILE|\
         ENOTTY|EFBIG|ESPIPE|EROFS|EPIPE|ERANGE|ENOSYS|ENOTSOCK|EADDRINUSE|ECONNRESET|\
         ETIMEDOUT|ELIBBAD|ENOTCONN|EOPNOTSUPP|EPROTO|EMSGSIZE|"
    );
}

impl Errno {
    /// No error, where a plain `Errno` is kept instead of an `Option` (one
    /// register or field less): 0, as C's `errno` reads when nothing
    /// failed. No syscall ever fails with it.
    pub const NONE: Errno = Errno(0);

    /// As the kernel returns it: `-errno`.
    #[inline(always)]
    fn raw(self) -> isize {
        -(self.0 as isize)
    }

    /// A short human text for the errors foster reports most, else the
    /// symbolic name (`ESRCH`): piece `.1` of the packed list `.0`; `None`
    /// for one foster has no name for.
    pub fn text(self) -> Option<(Packed, usize)> {
        self.index().map(|i| (Self::TEXTS, i))
    }
}

/// [`check`] for the calls that make an fd: one copy of the conversion.
#[inline(never)]
fn new_fd(ret: isize) -> Result<Fd> {
    check(ret).map(|fd| Fd(fd as i32))
}

/// [`check`] for the calls that answer a pid: one copy of the conversion.
#[inline(never)]
fn pid_of(ret: isize) -> Result<Pid> {
    check(ret).map(|p| p as Pid)
}

/// [`check`] for the calls whose value is not used: one copy of the
/// conversion for them all.
#[inline(never)]
fn done(ret: isize) -> Result<()> {
    check(ret).map(drop)
}

/// The kernel's MAX_ERRNO: a raw answer from `-MAX_ERRNO` to -1 is an
/// error, any other is a value.
const MAX_ERRNO: isize = 4095;

#[inline(always)]
fn check(ret: isize) -> Result<usize> {
    if (-MAX_ERRNO..0).contains(&ret) {
        Err(Errno((-ret) as u16))
    } else {
        Ok(ret as usize)
    }
}

// `sys!` gives a `Result`; `raw!` the kernel's raw answer, a value or
// `-errno`. The wrappers whose `Result` is wider than a register call a small
// non-inlined function returning the raw value and convert it where they are
// inlined, so the `Result` never travels through memory.
macro_rules! raw {
    // The arguments are evaluated to locals first, outside the `unsafe` block,
    // so an unsafe expression cannot slip into a call unnoticed.
    ($nr:ident $(, $a:expr)*) => { raw!(@n g::$nr as usize; $($a),*) };
    (@n $nr:expr;) => {
        // SAFETY: see `call` below.
        unsafe { arch::syscall0($nr) }
    };
    (@n $nr:expr; $a:expr) => {{
        let a = $a as usize;
        raw!(@call arch::syscall1($nr, a))
    }};
    (@n $nr:expr; $a:expr, $b:expr) => {{
        let (a, b) = ($a as usize, $b as usize);
        raw!(@call arch::syscall2($nr, a, b))
    }};
    (@n $nr:expr; $a:expr, $b:expr, $c:expr) => {{
        let (a, b, c) = ($a as usize, $b as usize, $c as usize);
        raw!(@call arch::syscall3($nr, a, b, c))
    }};
    (@n $nr:expr; $a:expr, $b:expr, $c:expr, $d:expr) => {{
        let (a, b, c, d) = ($a as usize, $b as usize, $c as usize, $d as usize);
        raw!(@call arch::syscall4($nr, a, b, c, d))
    }};
    (@n $nr:expr; $a:expr, $b:expr, $c:expr, $d:expr, $e:expr) => {{
        let (a, b, c, d, e) = ($a as usize, $b as usize, $c as usize, $d as usize, $e as usize);
        raw!(@call arch::syscall5($nr, a, b, c, d, e))
    }};
    (@n $nr:expr; $a:expr, $b:expr, $c:expr, $d:expr, $e:expr, $f:expr) => {{
        let (a, b, c, d, e, f) =
            ($a as usize, $b as usize, $c as usize, $d as usize, $e as usize, $f as usize);
        raw!(@call arch::syscall6($nr, a, b, c, d, e, f))
    }};
    (@call $call:expr) => {
        // SAFETY: every caller in this module passes pointers that are valid for
        // the duration of the call and lengths that match their buffers.
        unsafe { $call }
    };
}

macro_rules! sys {
    ($($t:tt)*) => { check(raw!($($t)*)) };
}

fn retry<T>(mut f: impl FnMut() -> Result<T>) -> Result<T> {
    loop {
        match f() {
            Err(Errno::EINTR) => continue,
            r => return r,
        }
    }
}

/// [`retry`] for raw results.
#[inline(always)]
fn retry_raw(mut f: impl FnMut() -> isize) -> isize {
    loop {
        let r = f();
        if r != Errno::EINTR.raw() {
            return r;
        }
    }
}

pub type RawFd = i32;
pub const STDIN: RawFd = 0;
pub const STDOUT: RawFd = 1;
pub const STDERR: RawFd = 2;

/// An owned file descriptor, closed on drop.
#[derive(Debug, PartialEq, Eq)]
pub struct Fd(RawFd);

impl Fd {
    pub fn raw(&self) -> RawFd {
        self.0
    }
    /// Give up ownership without closing.
    pub fn into_raw(self) -> RawFd {
        let fd = self.0;
        core::mem::forget(self);
        fd
    }
    /// Take ownership of a raw descriptor.
    pub fn from_raw(fd: RawFd) -> Fd {
        Fd(fd)
    }
}

impl Drop for Fd {
    // Not inlined: one close call per drop site, not a syscall sequence
    // at each (measured: smaller).
    #[inline(never)]
    fn drop(&mut self) {
        let _ = sys!(__NR_close, self.0);
    }
}

pub fn close(fd: RawFd) -> Result<()> {
    done(raw!(__NR_close, fd))
}

// ---------------------------------------------------------------- files

pub const O_RDONLY: u32 = g::O_RDONLY;
pub const O_WRONLY: u32 = g::O_WRONLY;
pub const O_RDWR: u32 = g::O_RDWR;
pub const O_CREAT: u32 = g::O_CREAT;
pub const O_APPEND: u32 = g::O_APPEND;
pub const O_TRUNC: u32 = g::O_TRUNC;
pub const O_EXCL: u32 = g::O_EXCL;
pub const O_NOCTTY: u32 = g::O_NOCTTY;
pub const O_NONBLOCK: u32 = g::O_NONBLOCK;
pub const O_CLOEXEC: u32 = g::O_CLOEXEC;
pub const O_DIRECTORY: u32 = g::O_DIRECTORY;
pub const O_NOFOLLOW: u32 = g::O_NOFOLLOW;

pub fn open(path: &CStr, flags: u32, mode: u32) -> Result<Fd> {
    new_fd(retry_raw(|| {
        raw!(__NR_openat, g::AT_FDCWD, path.as_ptr(), flags, mode)
    }))
}

/// [`open`] when only success matters: one copy of the conversion, and
/// not through `Result::ok`, which brings the `Result`'s drop glue along.
#[inline(never)]
pub fn open_opt(path: &CStr, flags: u32, mode: u32) -> Option<Fd> {
    let Ok(fd) = open(path, flags, mode) else {
        return None;
    };
    Some(fd)
}

#[inline(always)]
pub fn read(fd: RawFd, buf: &mut [u8]) -> Result<usize> {
    check(read_raw(fd, as_uninit(buf)))
}

/// `buf` as memory the kernel may fill: the callers that only need what was
/// read pass uninitialised buffers, and skip zeroing them.
#[inline(always)]
fn as_uninit(buf: &mut [u8]) -> &mut [MaybeUninit<u8>] {
    // SAFETY: same layout; the kernel, the only writer, writes bytes only,
    // never uninitialised memory, so `buf` stays initialised.
    unsafe { &mut *(buf as *mut [u8] as *mut [MaybeUninit<u8>]) }
}

#[inline(never)]
fn read_raw(fd: RawFd, buf: &mut [MaybeUninit<u8>]) -> isize {
    retry_raw(|| raw!(__NR_read, fd, buf.as_mut_ptr(), buf.len()))
}

/// [`read`] into a buffer that need not be initialised (no zeroing): the
/// bytes the kernel filled, none at end of file or on an error (for the
/// callers to whom both mean nothing is waiting).
#[inline(always)]
pub fn read_some(fd: RawFd, buf: &mut [MaybeUninit<u8>]) -> &[u8] {
    let mut n = read_raw(fd, buf) as usize;
    // An error, `-errno`, is past any buffer as a `usize`: nothing read.
    if n > buf.len() {
        n = 0;
    }
    // SAFETY: the kernel wrote the first `n` bytes (the length it returned).
    unsafe { filled(buf, n) }
}

#[inline(always)]
pub fn write(fd: RawFd, buf: &[u8]) -> Result<usize> {
    check(write_raw(fd, buf))
}

#[inline(never)]
fn write_raw(fd: RawFd, buf: &[u8]) -> isize {
    retry_raw(|| raw!(__NR_write, fd, buf.as_ptr(), buf.len()))
}

/// Write everything unless the fd refuses (EAGAIN on a full non-blocking pipe,
/// a closed reader): foster never blocks on output it does not own.
pub fn write_all(fd: RawFd, buf: &[u8]) -> Result<()> {
    write_all_waiting(fd, buf, 0)
}

/// [`write_all`], but a full non-blocking fd (EAGAIN) is retried every 10 ms,
/// `tries` times at most: for the few lines that must get through.
#[inline(never)]
pub fn write_all_waiting(fd: RawFd, mut buf: &[u8], mut tries: u32) -> Result<()> {
    while !buf.is_empty() {
        match write_raw(fd, buf) {
            0 => return Err(Errno::EIO),
            r if r == Errno::EAGAIN.raw() && tries > 0 => {
                tries -= 1;
                sleep_ms(10);
            }
            r => buf = buf.get(check(r)?.min(buf.len())..).unwrap_or(&[]),
        }
    }
    Ok(())
}

/// Read a whole small file into `buf`; returns the length read (a file longer
/// than `buf` is an `EFBIG` error, never a silent truncation). Opened
/// non-blocking: a FIFO found at the path (a pidfile a daemon replaced) reads
/// as what it holds now, it is not waited on for a writer.
#[inline(always)]
pub fn read_file(path: &CStr, buf: &mut [u8]) -> Result<usize> {
    read_file_with(path, buf, O_NONBLOCK)
}

/// [`read_file`] opened with `flags` added: `O_NONBLOCK` or not (0: a
/// FIFO's writer is waited for, as by [`read_file_blocking`]).
#[inline(always)]
pub fn read_file_with(path: &CStr, buf: &mut [u8], flags: u32) -> Result<usize> {
    check(read_file_raw(path, as_uninit(buf), flags))
}

/// [`read_file`] of the file itself, never of a symlink's target: for a
/// path another user may write (a pidfile), where a planted symlink would
/// have root open anything (opening /dev/watchdog arms the watchdog).
pub fn read_file_nofollow(path: &CStr, buf: &mut [u8]) -> Result<usize> {
    check(read_file_raw(path, as_uninit(buf), O_NONBLOCK | O_NOFOLLOW))
}

/// The start of a file, as much of it as fits in `buf` (a longer file is
/// cut, not an error: for the /proc lines whose head is all that matters);
/// `None` when it cannot be read. `buf` need not be initialised (no
/// zeroing): only the part the kernel filled is returned.
#[inline(never)]
pub fn read_head<'a>(path: &CStr, buf: &'a mut [MaybeUninit<u8>]) -> Option<&'a [u8]> {
    let n = match check(read_file_raw(path, buf, O_NONBLOCK)) {
        Ok(n) => n,
        Err(Errno::EFBIG) => buf.len(),
        Err(_) => return None,
    };
    // SAFETY: `read_file_raw` wrote the first `n` bytes (the length it
    // returned; with EFBIG, the whole buffer).
    Some(unsafe { filled(buf, n) })
}

/// The first `n` bytes of `buf` (at most all of it) as bytes.
///
/// # Safety
/// Each of them must be initialised: the kernel wrote them (`n` is a
/// length it returned).
unsafe fn filled(buf: &[MaybeUninit<u8>], n: usize) -> &[u8] {
    // Capped, not checked: no empty-slice path.
    let part = buf.get(..n.min(buf.len())).unwrap_or(&[]);
    // SAFETY: initialised (the caller's promise); a `MaybeUninit<u8>` has
    // the layout of a `u8`.
    unsafe { &*(part as *const [MaybeUninit<u8>] as *const [u8]) }
}

/// The whole lines at the start of a text file, as many as fit in `buf`:
/// a longer file is cut after the last whole line that fits (a cut line
/// could read as another value), a missing file is empty. `buf` need not be
/// initialised (no zeroing): only the part the kernel filled is returned.
#[inline(always)]
pub fn read_lines<'a>(path: &CStr, buf: &'a mut [MaybeUninit<u8>]) -> Result<&'a [u8]> {
    let n = check(read_lines_raw(path, buf))?;
    // SAFETY: `read_lines_raw` answers a length the kernel filled.
    Ok(unsafe { filled(buf, n) })
}

/// [`read_lines`]' work: the length of the whole lines read, or `-errno`
/// (in a register, where the `Result` of a slice would go through memory).
#[inline(never)]
fn read_lines_raw(path: &CStr, buf: &mut [MaybeUninit<u8>]) -> isize {
    match check(read_file_raw(path, buf, O_NONBLOCK)) {
        Ok(n) => n as isize,
        // SAFETY: with EFBIG the kernel filled the whole buffer. Cut
        // after its last newline.
        Err(Errno::EFBIG) => unsafe { filled(buf, buf.len()) }
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1) as isize,
        Err(Errno::ENOENT) => 0,
        Err(e) => e.raw(),
    }
}

/// [`read_file`] that waits for a FIFO's writer (`foster check <(...)`).
/// `buf` need not be initialised (no zeroing): only the part the kernel
/// filled is returned.
#[inline(always)]
pub fn read_file_blocking<'a>(path: &CStr, buf: &'a mut [MaybeUninit<u8>]) -> Result<&'a [u8]> {
    let n = check(read_file_raw(path, buf, 0))?;
    // SAFETY: `read_file_raw` answers a length the kernel filled.
    Ok(unsafe { filled(buf, n) })
}

#[inline(never)]
fn read_file_raw(path: &CStr, buf: &mut [MaybeUninit<u8>], flags: u32) -> isize {
    let fd = match open(path, O_RDONLY | O_CLOEXEC | flags, 0) {
        Ok(fd) => fd,
        Err(e) => return e.raw(),
    };
    let mut len = 0;
    loop {
        let rest = buf.get_mut(len..).unwrap_or(&mut []);
        if rest.is_empty() {
            let mut probe = [MaybeUninit::uninit(); 1];
            return match read_raw(fd.raw(), &mut probe) {
                0 => len as isize,
                r if r < 0 => r,
                _ => Errno::EFBIG.raw(),
            };
        }
        match read_raw(fd.raw(), rest) {
            0 => return len as isize,
            r if r < 0 => return r,
            n => len += n as usize,
        }
    }
}

pub fn dup3(old: RawFd, new: RawFd, flags: u32) -> Result<()> {
    done(retry_raw(|| raw!(__NR_dup3, old, new, flags)))
}

/// A pipe, both ends close-on-exec: (read end, write end).
#[inline(always)]
pub fn pipe(flags: u32) -> Result<(Fd, Fd)> {
    // Unpacked where it is inlined: the `Result` would come back through
    // memory, the packed value comes back in a register.
    let ends = check(pipe_raw(flags))?;
    Ok((Fd(ends as u32 as i32), Fd((ends >> 32) as i32)))
}

/// [`pipe`]'s call: `-errno`, or the read end with the write end above it
/// (an `isize` holds both: foster's targets are all 64-bit, see `arch`).
#[inline(never)]
fn pipe_raw(flags: u32) -> isize {
    let mut fds = [0i32; 2];
    match raw!(__NR_pipe2, fds.as_mut_ptr(), flags | O_CLOEXEC) {
        0 => fds[0] as u32 as isize | (fds[1] as isize) << 32,
        e => e,
    }
}

pub const F_GETFD: u32 = g::F_GETFD;
pub const F_SETFD: u32 = g::F_SETFD;
pub const F_GETFL: u32 = g::F_GETFL;
pub const F_SETFL: u32 = g::F_SETFL;
pub const FD_CLOEXEC: u32 = g::FD_CLOEXEC;

#[inline(always)]
pub fn fcntl(fd: RawFd, cmd: u32, arg: usize) -> Result<usize> {
    check(fcntl_raw(fd, cmd, arg))
}

fn fcntl_raw(fd: RawFd, cmd: u32, arg: usize) -> isize {
    raw!(__NR_fcntl, fd, cmd, arg)
}

/// A close-on-exec duplicate of `fd` numbered 256 or more, clear of stdio
/// and of any `ready=fd:N` (N <= 255) a child's setup moves into place; 3 or
/// more under a lower fd limit; `fd` itself when no duplicate can be had.
pub fn dup_above_stdio(fd: RawFd) -> RawFd {
    // Past the largest N `ready=fd:N` takes.
    const ABOVE_READY_FDS: usize = 256;
    let mut r = fcntl_raw(fd, g::F_DUPFD_CLOEXEC, ABOVE_READY_FDS);
    if r < 0 {
        r = fcntl_raw(fd, g::F_DUPFD_CLOEXEC, STDERR as usize + 1);
    }
    if r < 0 {
        fd
    } else {
        r as RawFd
    }
}

pub fn set_cloexec(fd: RawFd, on: bool) -> Result<()> {
    let flags = fcntl(fd, F_GETFD, 0)?;
    let new = if on {
        flags | FD_CLOEXEC as usize
    } else {
        flags & !(FD_CLOEXEC as usize)
    };
    done(fcntl_raw(fd, F_SETFD, new))
}

pub fn mkdir(path: &CStr, mode: u32) -> Result<()> {
    done(raw!(__NR_mkdirat, g::AT_FDCWD, path.as_ptr(), mode))
}

pub fn unlink(path: &CStr) -> Result<()> {
    done(raw!(__NR_unlinkat, g::AT_FDCWD, path.as_ptr(), 0))
}

pub fn chdir(path: &CStr) -> Result<()> {
    done(raw!(__NR_chdir, path.as_ptr()))
}

pub fn chroot(path: &CStr) -> Result<()> {
    done(raw!(__NR_chroot, path.as_ptr()))
}

pub fn umask(mask: u32) -> u32 {
    raw!(__NR_umask, mask) as u32
}

pub fn mknod(path: &CStr, mode: u32, major: u32, minor: u32) -> Result<()> {
    let dev = ((major as usize & 0xfff) << 8)
        | (minor as usize & 0xff)
        | ((minor as usize & !0xff) << 12);
    done(raw!(__NR_mknodat, g::AT_FDCWD, path.as_ptr(), mode, dev))
}

pub const S_IFMT: u32 = g::S_IFMT;
pub const S_IFDIR: u32 = g::S_IFDIR;
pub const S_IFREG: u32 = g::S_IFREG;
pub const S_IFCHR: u32 = g::S_IFCHR;
pub const S_IFIFO: u32 = g::S_IFIFO;
pub const S_IFSOCK: u32 = g::S_IFSOCK;

/// The few stat fields foster uses.
#[derive(Clone, Copy, Debug, Default)]
pub struct Stat {
    pub mode: u32,
    /// The device holding the file, as the kernel's own 32-bit number
    /// (12 bits of major, 20 of minor: every device fits).
    pub dev: u32,
}

/// `statx` is the one stat call with the same layout on every architecture.
#[inline(always)]
pub fn stat(path: &CStr, follow: bool) -> Result<Stat> {
    // Unpacked where it is inlined: a `Result<Stat>` would come back
    // through memory, the packed value comes back in a register.
    check(stat_raw(path, follow, false).0).map(|v| Stat {
        mode: v as u16 as u32,
        dev: (v >> 16) as u32,
    })
}

/// The owner (uid) of `path` itself, a symlink's and not its target's:
/// who wrote a pidfile, and so who may name which pid in it.
pub fn owner(path: &CStr) -> Result<u32> {
    let (r, uid) = stat_raw(path, false, true);
    check(r)?;
    Ok(uid as u32)
}

/// Which file a path names: the device holding it (as [`Stat::dev`]) and
/// its inode. A file removed and made again under the same path is another.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct FileId {
    pub dev: u32,
    pub ino: u64,
}

/// The [`FileId`] of `path` itself, a symlink's and not its target's.
// Unpacked where it is inlined, as `stat` (measured: smaller).
#[inline(always)]
pub fn file_id(path: &CStr) -> Result<FileId> {
    let (r, ino) = stat_raw(path, false, false);
    check(r).map(|v| FileId {
        dev: (v >> 16) as u32,
        ino,
    })
}

/// [`stat`]'s, [`owner`]'s and [`file_id`]'s call, asking for the owner
/// only if `uid`: `-errno`, or the 16-bit mode with the device above it (an
/// `isize` holds both: foster's targets are all 64-bit, see `arch`); then
/// the owner if `uid`, else the inode.
#[inline(never)]
fn stat_raw(path: &CStr, follow: bool, uid: bool) -> (isize, u64) {
    // Not zeroed first: statx(2) writes the whole struct when it succeeds.
    let mut buf = core::mem::MaybeUninit::<g::statx>::uninit();
    let flags = if follow { 0 } else { g::AT_SYMLINK_NOFOLLOW };
    let mask = if uid {
        g::STATX_UID
    } else {
        g::STATX_BASIC_STATS
    };
    let r = raw!(
        __NR_statx,
        g::AT_FDCWD,
        path.as_ptr(),
        flags,
        mask,
        buf.as_mut_ptr()
    );
    if r < 0 {
        return (r, 0);
    }
    // SAFETY: the call succeeded, so the kernel filled in every byte.
    let buf = unsafe { buf.assume_init() };
    let dev = (buf.stx_dev_major << 20) | buf.stx_dev_minor;
    let second = if uid {
        u64::from(buf.stx_uid)
    } else {
        buf.stx_ino
    };
    (buf.stx_mode as isize | (dev as isize) << 16, second)
}

/// One directory entry from `getdents64`: inode, type and name bytes.
pub struct DirEntry<'a> {
    pub d_type: u8,
    pub name: &'a [u8],
}

/// Calls `f` for every entry of an open directory.
pub fn for_each_dirent(dir: &Fd, mut f: impl FnMut(DirEntry<'_>)) -> Result<()> {
    // Not zeroed: only the part the kernel filled is read.
    let mut buf = [MaybeUninit::<u8>::uninit(); 2048];
    loop {
        let n = retry(|| sys!(__NR_getdents64, dir.raw(), buf.as_mut_ptr(), buf.len()))?;
        if n == 0 {
            return Ok(());
        }
        // SAFETY: the kernel wrote the first `n` bytes (the length it
        // returned).
        let data = unsafe { filled(&buf, n) };
        // Each record: inode, offset, reclen@16, type@18, name@19 (NUL-padded).
        let mut rest = data;
        while let Some(&[.., lo, hi, d_type]) = rest.first_chunk::<19>() {
            let reclen = usize::from(u16::from_ne_bytes([lo, hi]));
            // `None` for a record past the end or shorter than its header.
            let Some((record, next)) = rest.split_at_checked(reclen) else {
                break;
            };
            let Some(raw) = record.get(19..) else {
                break;
            };
            let len = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
            f(DirEntry {
                d_type,
                name: raw.get(..len).unwrap_or(&[]),
            });
            rest = next;
        }
    }
}

// ---------------------------------------------------------------- processes

pub type Pid = i32;

// These four and `umask` always succeed.
pub fn getpid() -> Pid {
    raw!(__NR_getpid) as Pid
}
pub fn getppid() -> Pid {
    raw!(__NR_getppid) as Pid
}
pub fn getuid() -> u32 {
    raw!(__NR_getuid) as u32
}
pub fn getgid() -> u32 {
    raw!(__NR_getgid) as u32
}
pub fn is_pid1() -> bool {
    getpid() == 1
}

/// `fork()`: `Ok(0)` in the child, the child's pid in the parent.
pub fn fork() -> Result<Pid> {
    pid_of(raw!(__NR_clone, g::SIGCHLD, 0, 0, 0, 0))
}

/// `execve`; returns only on failure.
pub fn execve(path: &CStr, argv: &[*const u8], envp: &[*const u8]) -> Errno {
    // argv and envp must be NULL-terminated arrays (an empty slice is not:
    // its pointer dangles).
    if !argv.last().is_some_and(|p| p.is_null()) || !envp.last().is_some_and(|p| p.is_null()) {
        return Errno::EFAULT;
    }
    match sys!(__NR_execve, path.as_ptr(), argv.as_ptr(), envp.as_ptr()) {
        Err(e) => e,
        Ok(_) => Errno::EIO,
    }
}

pub fn exit(code: i32) -> ! {
    loop {
        let _ = sys!(__NR_exit_group, code);
    }
}

pub const WNOHANG: u32 = g::WNOHANG;
/// Also report children that stopped (job control).
pub const WUNTRACED: u32 = g::WUNTRACED;

/// A wait status that says "stopped", not "ended" (only with WUNTRACED).
pub fn wait_stopped(status: i32) -> bool {
    status & 0xff == 0x7f
}

/// `wait4(pid, .., options)`: `Ok(None)` when WNOHANG finds nothing to reap.
#[inline(always)]
pub fn wait4(pid: Pid, options: u32) -> Result<Option<(Pid, i32)>> {
    let (pid, status) = wait4_raw(pid, options);
    Ok(if check(pid)? == 0 {
        None
    } else {
        Some((pid as Pid, status))
    })
}

#[inline(never)]
fn wait4_raw(pid: Pid, options: u32) -> (isize, i32) {
    let mut status: i32 = 0;
    let pid = retry_raw(|| raw!(__NR_wait4, pid, &mut status as *mut i32, options, 0));
    (pid, status)
}

/// How a child ended, decoded from a wait status.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ExitStatus {
    Code(u8),
    Signal(u8),
}

impl ExitStatus {
    pub fn from_wait(status: i32) -> ExitStatus {
        if status & 0x7f == 0 {
            ExitStatus::Code(((status >> 8) & 0xff) as u8)
        } else {
            ExitStatus::Signal((status & 0x7f) as u8)
        }
    }
    /// The shell convention: the code, or 128+N for signal N.
    pub fn shell_code(self) -> u8 {
        match self {
            ExitStatus::Code(c) => c,
            ExitStatus::Signal(s) => 128u8.wrapping_add(s),
        }
    }
    pub fn success(self) -> bool {
        self == ExitStatus::Code(0)
    }
}

/// `kill(pid, sig)`. `pid == -1` (every process) is refused unless foster is PID 1.
pub fn kill(pid: Pid, sig: u8) -> Result<()> {
    if pid == -1 && !is_pid1() {
        return Err(Errno::EPERM);
    }
    if pid == 0 {
        // Would hit foster's own process group: never meant.
        return Err(Errno::EINVAL);
    }
    done(raw!(__NR_kill, pid, sig as u32))
}

/// Sends `sig` to foster's own process group, `kill(0)`: reached even when
/// the group lies outside foster's PID namespace, where its number reads as
/// 0 and names nothing. Out of line (measured: smaller).
#[inline(never)]
pub fn kill_own_group(sig: u8) {
    let _ = raw!(__NR_kill, 0, sig as u32);
}

pub fn setsid() -> Result<Pid> {
    pid_of(raw!(__NR_setsid))
}
pub fn setpgid(pid: Pid, pgid: Pid) -> Result<()> {
    done(raw!(__NR_setpgid, pid, pgid))
}
pub fn getpgid(pid: Pid) -> Result<Pid> {
    pid_of(raw!(__NR_getpgid, pid))
}
/// This process's own group (`getpgid(0)`, which cannot fail).
pub fn getpgrp() -> Pid {
    raw!(__NR_getpgid, 0) as Pid
}
pub fn getsid(pid: Pid) -> Result<Pid> {
    pid_of(raw!(__NR_getsid, pid))
}

#[inline(always)]
pub fn prctl(option: u32, arg: usize) -> Result<usize> {
    check(prctl_raw(option, arg))
}

#[inline(never)]
fn prctl_raw(option: u32, arg: usize) -> isize {
    raw!(__NR_prctl, option, arg, 0, 0, 0)
}

pub fn set_child_subreaper() -> Result<()> {
    done(prctl_raw(linux_raw_sys::prctl::PR_SET_CHILD_SUBREAPER, 1))
}

pub fn set_parent_death_signal(sig: u8) -> Result<()> {
    done(prctl_raw(
        linux_raw_sys::prctl::PR_SET_PDEATHSIG,
        sig as usize,
    ))
}

/// Switches this process to `uid`, `gid` and the supplementary `groups`
/// (in the order that keeps the right to do the rest: groups and gid while
/// still root). Stops at the first call that fails.
// Cold: a child switching users only (measured: smaller).
#[cold]
pub fn switch_ids(groups: &[u32], gid: u32, uid: u32) -> Result<()> {
    // The raw results, 0 on success: one check for the three calls.
    let mut r = raw!(__NR_setgroups, groups.len(), groups.as_ptr());
    if r == 0 {
        r = raw!(__NR_setresgid, gid, gid, gid);
    }
    if r == 0 {
        r = raw!(__NR_setresuid, uid, uid, uid);
    }
    done(r)
}

// ---------------------------------------------------------------- terminals

#[inline(always)]
pub fn ioctl(fd: RawFd, req: u32, arg: usize) -> Result<usize> {
    check(ioctl_raw(fd, req, arg))
}

#[inline(never)]
fn ioctl_raw(fd: RawFd, req: u32, arg: usize) -> isize {
    raw!(__NR_ioctl, fd, req, arg)
}

// Cold: once at start; out of line, the termios buffer stays out of the
// caller's frame (measured: smaller than `inline(never)` alone).
#[cold]
pub fn isatty(fd: RawFd) -> bool {
    // Only written, never read: no need to zero it first.
    let mut termios = core::mem::MaybeUninit::<[u8; 64]>::uninit();
    ioctl(
        fd,
        linux_raw_sys::ioctl::TCGETS,
        termios.as_mut_ptr() as usize,
    )
    .is_ok()
}

/// Sane settings on the terminal `fd`, as BusyBox init's `set_sane_term`
/// before an entry runs on it: a terminal a crashed program left raw works
/// again (an `askfirst` Enter stays a CR until ICRNL is back). Speed,
/// character size, parity and flow control are kept; not a terminal: nothing.
#[cold]
pub fn sane_term(fd: RawFd) {
    let mut t = MaybeUninit::<g::termios>::uninit();
    if ioctl(fd, linux_raw_sys::ioctl::TCGETS, t.as_mut_ptr() as usize).is_err() {
        return;
    }
    // SAFETY: TCGETS succeeded, so the kernel filled the whole struct.
    // Changed in place: no copy of it.
    let t = unsafe { t.assume_init_mut() };
    // VINTR..VSUSP as the kernel's defaults (^C ^\ DEL ^U ^D, VTIME 0,
    // VMIN 1, VSWTC 0, ^Q ^S ^Z); the later ones are left as they are.
    if let Some(cc) = t.c_cc.first_chunk_mut() {
        *cc = *b"\x03\x1c\x7f\x15\x04\0\x01\0\x11\x13\x1a";
    }
    t.c_line = 0;
    t.c_cflag &= g::CBAUD | g::CBAUDEX | g::CSIZE | g::CSTOPB | g::PARENB | g::PARODD | g::CRTSCTS;
    t.c_cflag |= g::CREAD | g::HUPCL | g::CLOCAL;
    t.c_iflag = g::ICRNL | g::IXON | g::IXOFF;
    t.c_oflag = g::OPOST | g::ONLCR;
    t.c_lflag =
        g::ISIG | g::ICANON | g::ECHO | g::ECHOE | g::ECHOK | g::ECHOCTL | g::ECHOKE | g::IEXTEN;
    let _ = ioctl(
        fd,
        linux_raw_sys::ioctl::TCSETS,
        t as *const g::termios as usize,
    );
}

/// Whether `fd` is a Linux virtual terminal (only a VT answers VT_OPENQRY).
pub fn is_vt(fd: RawFd) -> bool {
    let mut free: i32 = 0;
    ioctl_raw(
        fd,
        linux_raw_sys::ioctl::VT_OPENQRY,
        &mut free as *mut i32 as usize,
    ) >= 0
}

/// Make `fd` (a tty) the controlling terminal of this session; `steal` as root.
pub fn set_controlling_tty(fd: RawFd, steal: bool) -> Result<()> {
    done(ioctl_raw(
        fd,
        linux_raw_sys::ioctl::TIOCSCTTY,
        steal as usize,
    ))
}

pub fn tcsetpgrp(fd: RawFd, pgid: Pid) -> Result<()> {
    done(ioctl_raw(
        fd,
        linux_raw_sys::ioctl::TIOCSPGRP,
        &pgid as *const Pid as usize,
    ))
}

pub fn tcgetpgrp(fd: RawFd) -> Result<Pid> {
    let mut pgid: Pid = 0;
    ioctl(
        fd,
        linux_raw_sys::ioctl::TIOCGPGRP,
        &mut pgid as *mut Pid as usize,
    )?;
    Ok(pgid)
}

/// Whether `pgid` is the foreground process group of the terminal `fd`.
/// A group outside foster's PID namespace reads as 0 (getpgrp's and
/// TIOCGPGRP's both): never foster's, or foster would take the terminal
/// from the shell that ran `unshare --pid ... foster CMD &`.
#[inline(never)]
pub fn is_foreground(fd: RawFd, pgid: Pid) -> bool {
    let mut fg: Pid = 0;
    let r = ioctl_raw(
        fd,
        linux_raw_sys::ioctl::TIOCGPGRP,
        &mut fg as *mut Pid as usize,
    );
    r >= 0 && fg == pgid && pgid != 0
}

/// Gives the foreground of foster's controlling terminal to group `pgid`
/// if foster's own group has it, even where that group lies outside
/// foster's PID namespace and its number (as the foreground's) reads as 0.
/// Asked of the kernel's job control, which compares the groups
/// themselves: a read of no bytes from a background group with SIGTTIN
/// blocked (foster keeps it blocked) fails with EIO and stops nobody; from
/// the foreground it reads nothing. Through a non-blocking description of
/// its own: another reader of the terminal holds it while it waits for
/// input, and a blocking read would wait for that one (EAGAIN then: it
/// comes after the check). Returns whether `pgid` has the foreground now.
/// Out of line (measured: smaller).
#[inline(never)]
pub fn pass_own_foreground(pgid: Pid) -> bool {
    let flags = O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC;
    open_opt(c"/dev/tty", flags, 0).is_some_and(|t| {
        read_raw(t.raw(), &mut []) != Errno::EIO.raw() && tcsetpgrp(t.raw(), pgid).is_ok()
    })
}

// ---------------------------------------------------------------- signals

/// A kernel signal set (64 signals).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct SigSet(pub u64);

impl SigSet {
    pub const EMPTY: SigSet = SigSet(0);
    pub fn with(self, sig: u8) -> SigSet {
        SigSet(self.0 | bit(sig))
    }
    pub fn without(self, sig: u8) -> SigSet {
        SigSet(self.0 & !bit(sig))
    }
    pub fn has(self, sig: u8) -> bool {
        self.0 & bit(sig) != 0
    }
}

fn bit(sig: u8) -> u64 {
    // 0 for signal 0 (the shift wraps to u32::MAX) and past 64.
    1u64.checked_shl(u32::from(sig).wrapping_sub(1))
        .unwrap_or(0)
}

pub const SIG_BLOCK: u32 = 0;
pub const SIG_UNBLOCK: u32 = 1;
pub const SIG_SETMASK: u32 = 2;

/// `rt_sigprocmask`; returns the previous mask.
#[inline(always)]
pub fn sigprocmask(how: u32, set: SigSet) -> Result<SigSet> {
    let (r, old) = sigprocmask_raw(how, set);
    check(r)?;
    Ok(SigSet(old))
}

#[inline(never)]
fn sigprocmask_raw(how: u32, set: SigSet) -> (isize, u64) {
    let mut old = 0u64;
    let r = raw!(
        __NR_rt_sigprocmask,
        how,
        &set.0 as *const u64,
        &mut old as *mut u64,
        8
    );
    (r, old)
}

/// The kernel's `struct sigaction` with room for every architecture's layout;
/// foster only ever installs SIG_DFL or SIG_IGN, so flags and mask stay zero.
#[repr(C)]
#[derive(Default)]
struct KSigaction {
    handler: usize,
    flags: usize,
    restorer_or_mask: usize,
    mask: usize,
}

pub const SIG_DFL: usize = 0;
pub const SIG_IGN: usize = 1;

/// Set a signal's disposition to SIG_DFL or SIG_IGN; returns the old handler.
#[inline(always)]
pub fn set_disposition(sig: u8, handler: usize) -> Result<usize> {
    let (r, old) = sigaction(sig, handler, true);
    check(r)?;
    Ok(old)
}

/// The current handler of a signal (SIG_DFL, SIG_IGN or an address).
#[inline(always)]
pub fn disposition(sig: u8) -> Result<usize> {
    let (r, old) = sigaction(sig, SIG_DFL, false);
    check(r)?;
    Ok(old)
}

/// `rt_sigaction`, installing `handler` if `install`: (raw result, old
/// handler). The struct is built here, not at each caller.
// Cold: at start and in a fresh child only (measured: smaller).
#[cold]
#[inline(never)]
fn sigaction(sig: u8, handler: usize, install: bool) -> (isize, usize) {
    let new = KSigaction {
        handler,
        ..Default::default()
    };
    let new_ptr: *const KSigaction = if install { &new } else { core::ptr::null() };
    let mut old = KSigaction::default();
    let r = raw!(
        __NR_rt_sigaction,
        sig as u32,
        new_ptr,
        &mut old as *mut KSigaction,
        8
    );
    (r, old.handler)
}

/// What foster reads from a signalfd.
#[derive(Clone, Copy, Debug)]
pub struct SigInfo {
    pub signo: u8,
    pub pid: Pid,
}

pub fn signalfd(mask: SigSet) -> Result<Fd> {
    new_fd(raw!(
        __NR_signalfd4,
        -1i32,
        &mask.0 as *const u64,
        8,
        O_CLOEXEC | O_NONBLOCK
    ))
}

/// One pending signal from a non-blocking signalfd, or `None` when drained.
#[inline(always)]
pub fn read_signal(fd: &Fd) -> Result<Option<SigInfo>> {
    // Unpacked where it is inlined: the `Result` would come back through
    // memory, the packed value comes back in a register.
    match read_signal_raw(fd) {
        0 => Ok(None),
        v if v > 0 => Ok(Some(SigInfo {
            signo: (v >> 32) as u8,
            pid: v as u32 as Pid,
        })),
        e => Err(Errno(-e as u16)),
    }
}

/// [`read_signal`]'s read: `-errno`, 0 when drained, or the sender's pid
/// with the signal number (never 0) above it, in bits 32-39 (an `isize`
/// holds both: foster's targets are all 64-bit, see `arch`).
#[inline(never)]
fn read_signal_raw(fd: &Fd) -> isize {
    // Not zeroed first: only a complete read of all 128 bytes is looked at.
    let mut info = core::mem::MaybeUninit::<SignalfdSiginfo>::uninit();
    let len = size_of::<SignalfdSiginfo>();
    match retry_raw(|| raw!(__NR_read, fd.raw(), info.as_mut_ptr(), len)) {
        128 => {
            // SAFETY: the kernel wrote all 128 bytes, and any bytes are a
            // valid `SignalfdSiginfo` (plain integers).
            let info = unsafe { info.assume_init() };
            (info.signo as u8 as isize) << 32 | info.pid as isize
        }
        r if r == Errno::EAGAIN.raw() => 0,
        r if r < 0 => r,
        _ => Errno::EIO.raw(),
    }
}

/// The kernel's `struct signalfd_siginfo` (not in linux-raw-sys), as far as
/// foster reads it: the same on every architecture, 128 bytes.
#[repr(C)]
struct SignalfdSiginfo {
    signo: u32,
    errno: i32,
    code: i32,
    pid: u32,
    rest: [u8; 112],
}

// ---------------------------------------------------------------- polling and time

pub const EPOLLIN: u32 = g::EPOLLIN;
pub const EPOLLOUT: u32 = g::EPOLLOUT;
pub const EPOLLHUP: u32 = g::EPOLLHUP;
pub const EPOLLERR: u32 = g::EPOLLERR;
pub const EPOLLRDHUP: u32 = g::EPOLLRDHUP;

pub type EpollEvent = g::epoll_event;

pub fn epoll_create() -> Result<Fd> {
    new_fd(raw!(__NR_epoll_create1, g::EPOLL_CLOEXEC))
}

pub fn epoll_add(ep: &Fd, fd: RawFd, events: u32, data: u64) -> Result<()> {
    epoll_ctl(ep, g::EPOLL_CTL_ADD, fd, events, data)
}

pub fn epoll_del(ep: &Fd, fd: RawFd) -> Result<()> {
    epoll_ctl(ep, g::EPOLL_CTL_DEL, fd, 0, 0)
}

#[inline(never)]
fn epoll_ctl(ep: &Fd, op: u32, fd: RawFd, events: u32, data: u64) -> Result<()> {
    let ev = g::epoll_event { events, data };
    done(raw!(
        __NR_epoll_ctl,
        ep.raw(),
        op,
        fd,
        &ev as *const g::epoll_event
    ))
}

/// Wait for events; `timeout_ms < 0` sleeps until one comes. Returns how many
/// entries of `events` were filled (0 on timeout or EINTR).
#[inline(always)]
pub fn epoll_wait(ep: &Fd, events: &mut [EpollEvent], timeout_ms: i32) -> Result<usize> {
    check(epoll_wait_raw(ep, events, timeout_ms))
}

fn epoll_wait_raw(ep: &Fd, events: &mut [EpollEvent], timeout_ms: i32) -> isize {
    match raw!(
        __NR_epoll_pwait,
        ep.raw(),
        events.as_mut_ptr(),
        events.len(),
        timeout_ms,
        0,
        8
    ) {
        r if r == Errno::EINTR.raw() => 0,
        r => r,
    }
}

pub fn epoll_event_data(ev: &EpollEvent) -> (u32, u64) {
    // Copies out of a possibly packed struct.
    let events = ev.events;
    let data = ev.data;
    (events, data)
}

/// Waits until `fd` is readable (or has hung up: a read then does not block),
/// at most `timeout_ms` (`< 0`: no limit); `ppoll` on one fd, for the loops
/// that watch a single fd and need no epoll instance. False on timeout, EINTR
/// or error.
#[inline(never)]
pub fn poll_in(fd: RawFd, timeout_ms: i32) -> bool {
    let mut pfd = g::pollfd {
        fd,
        events: g::POLLIN as i16,
        revents: 0,
    };
    ppoll(core::slice::from_mut(&mut pfd), timeout_ms.into()) > 0
}

/// `ppoll` on `fds` for at most `ms` (negative: no limit); the raw result.
/// With no fds, a plain sleep: one timed wait for both.
#[inline(never)]
fn ppoll(fds: &mut [g::pollfd], ms: i64) -> isize {
    // Mutable: ppoll writes the time left back into it.
    let mut ts = g::__kernel_timespec {
        tv_sec: ms / 1000,
        tv_nsec: (ms % 1000) * 1_000_000,
    };
    let ts_ptr: *mut g::__kernel_timespec = if ms >= 0 {
        &mut ts
    } else {
        core::ptr::null_mut()
    };
    raw!(__NR_ppoll, fds.as_mut_ptr(), fds.len(), ts_ptr, 0, 8)
}

/// Milliseconds on the monotonic clock.
pub fn now_ms() -> u64 {
    let mut ts = g::__kernel_timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    let _ = sys!(
        __NR_clock_gettime,
        g::CLOCK_MONOTONIC,
        &mut ts as *mut g::__kernel_timespec
    );
    // Seconds since boot: times 1000 they overflow after 500 million years.
    (ts.tv_sec as u64).wrapping_mul(1000) + (ts.tv_nsec as u64) / 1_000_000
}

/// Sleeps `ms` milliseconds (a signal handler would cut it short, and
/// foster installs none); far less than 2^63 (every caller's is).
pub fn sleep_ms(ms: u64) {
    ppoll(&mut [], ms as i64);
}

// ---------------------------------------------------------------- mounts and power

pub const MS_RDONLY: u32 = g::MS_RDONLY;
pub const MS_NOSUID: u32 = g::MS_NOSUID;
pub const MS_NODEV: u32 = g::MS_NODEV;
pub const MS_NOEXEC: u32 = g::MS_NOEXEC;
pub const MS_REMOUNT: u32 = g::MS_REMOUNT;
pub const MNT_DETACH: u32 = g::MNT_DETACH;

pub fn mount(
    src: &CStr,
    target: &CStr,
    fstype: &CStr,
    flags: u32,
    data: Option<&CStr>,
) -> Result<()> {
    let data = data.map_or(core::ptr::null(), |d| d.as_ptr());
    done(raw!(
        __NR_mount,
        src.as_ptr(),
        target.as_ptr(),
        fstype.as_ptr(),
        flags,
        data
    ))
}

/// Remount read-only: PID 1 only, never the host's filesystems from a sub-init.
// Cold: at the very end only (measured: smaller).
#[cold]
pub fn remount_ro(target: &CStr) -> Result<()> {
    pid1_only(
        c"".as_ptr() as usize,
        target.as_ptr() as usize,
        c"".as_ptr() as usize,
        (MS_REMOUNT | MS_RDONLY) as usize,
        g::__NR_mount as usize,
    )
}

pub fn umount(target: &CStr, flags: u32) -> Result<()> {
    pid1_only(
        target.as_ptr() as usize,
        flags as usize,
        0,
        0,
        g::__NR_umount2 as usize,
    )
}

/// The calls only PID 1 may make (remount, unmount, reboot): syscall `nr`
/// with four arguments, and a fifth of 0 (mount's data: none; the others
/// take fewer). `EPERM` for any other process. One copy of the guard for
/// them all. `nr` last: the arguments come in the registers the syscall
/// takes them in (measured: smaller).
#[inline(never)]
fn pid1_only(a: usize, b: usize, c: usize, d: usize, nr: usize) -> Result<()> {
    if !is_pid1() {
        return Err(Errno::EPERM);
    }
    done(raw!(@n nr; a, b, c, d, 0))
}

pub fn sync() {
    let _ = sys!(__NR_sync);
}

pub const REBOOT_CMD_POWER_OFF: u32 = g::LINUX_REBOOT_CMD_POWER_OFF;
pub const REBOOT_CMD_RESTART: u32 = g::LINUX_REBOOT_CMD_RESTART;
pub const REBOOT_CMD_HALT: u32 = g::LINUX_REBOOT_CMD_HALT;
pub const REBOOT_CMD_CAD_OFF: u32 = g::LINUX_REBOOT_CMD_CAD_OFF;

/// `reboot(2)`: PID 1 only.
// Cold: at the very end only (measured: smaller).
#[cold]
pub fn reboot(cmd: u32) -> Result<()> {
    pid1_only(
        g::LINUX_REBOOT_MAGIC1 as usize,
        g::LINUX_REBOOT_MAGIC2 as usize,
        cmd as usize,
        0,
        g::__NR_reboot as usize,
    )
}

/// `reboot(2)` for the `poweroff -f` / `reboot -f` / `halt -f` applets only:
/// an explicit order from the user (CAP_SYS_BOOT still applies), never used
/// by the supervisor, which goes through the PID-1-guarded [`reboot`].
pub fn reboot_forced(cmd: u32) -> Result<()> {
    done(raw!(
        __NR_reboot,
        g::LINUX_REBOOT_MAGIC1,
        g::LINUX_REBOOT_MAGIC2,
        cmd,
        0
    ))
}

// ---------------------------------------------------------------- layouts

/// The kernel layouts foster reads or fills by hand, checked at compile time
/// for each target against linux-raw-sys's definitions of that target.
const _: () = {
    use core::mem::{offset_of, size_of};
    // `read_signal`: signalfd_siginfo is 128 bytes, signo@0, pid@12.
    assert!(size_of::<SignalfdSiginfo>() == 128);
    assert!(offset_of!(SignalfdSiginfo, pid) == 12);
    // `for_each_dirent`: reclen@16, type@18, name@19.
    assert!(offset_of!(g::linux_dirent64, d_reclen) == 16);
    assert!(offset_of!(g::linux_dirent64, d_type) == 18);
    assert!(offset_of!(g::linux_dirent64, d_name) == 19);
    // `peer_cred`: three 32-bit words, pid, uid, gid.
    assert!(size_of::<linux_raw_sys::net::ucred>() == 12);
    assert!(offset_of!(linux_raw_sys::net::ucred, uid) == 4);
    assert!(offset_of!(linux_raw_sys::net::ucred, gid) == 8);
    assert!(size_of::<SockAddrUn>() == size_of::<linux_raw_sys::net::sockaddr_un>());
    // `KSigaction` has room for this target's `struct sigaction`.
    assert!(size_of::<KSigaction>() >= size_of::<g::kernel_sigaction>());
    // epoll_event is packed on x86_64 only.
    let event = if cfg!(target_arch = "x86_64") { 12 } else { 16 };
    assert!(size_of::<g::epoll_event>() == event);
};

// ---------------------------------------------------------------- sockets

const AF_UNIX: u32 = linux_raw_sys::net::AF_UNIX;
const SOCK_STREAM: u32 = linux_raw_sys::net::SOCK_STREAM;
const SOL_SOCKET: u32 = linux_raw_sys::net::SOL_SOCKET;
const SO_PEERCRED: u32 = linux_raw_sys::net::SO_PEERCRED;

/// `struct sockaddr_un`, built from a path (at most 107 bytes).
#[repr(C)]
struct SockAddrUn {
    family: u16,
    path: [MaybeUninit<u8>; 108],
}

// Cold: once per start or `ctl` call (measured: smaller).
#[cold]
pub fn unix_socket(nonblock: bool) -> Result<Fd> {
    let flags = SOCK_STREAM | O_CLOEXEC | if nonblock { O_NONBLOCK } else { 0 };
    new_fd(raw!(__NR_socket, AF_UNIX, flags, 0))
}

pub fn bind_unix(fd: &Fd, path: &[u8]) -> Result<()> {
    at_unix_addr(fd, path, g::__NR_bind as usize)
}

pub fn connect_unix(fd: &Fd, path: &[u8]) -> Result<()> {
    at_unix_addr(fd, path, g::__NR_connect as usize)
}

/// `bind` or `connect` (syscall `nr`) of `fd` to the address of `path`:
/// one copy of the address building for both. Both are retried on EINTR
/// (an interrupted bind made no socket file yet). `nr` last: the wrappers
/// pass their own arguments on in place (measured: smaller).
#[inline(never)]
fn at_unix_addr(fd: &Fd, path: &[u8], nr: usize) -> Result<()> {
    // Written only as far as the kernel reads it (`len` bytes: the family,
    // the path, its NUL), not zeroed first.
    let mut sa = SockAddrUn {
        family: AF_UNIX as u16,
        path: [MaybeUninit::uninit(); 108],
    };
    let len = 2 + path.len() + 1;
    if len > size_of::<SockAddrUn>() {
        return Err(Errno::ENAMETOOLONG);
    }
    // As `open("")` answers (an empty path would name an abstract socket).
    if path.is_empty() {
        return Err(Errno::ENOENT);
    }
    for (slot, &b) in sa.path.iter_mut().zip(path) {
        slot.write(b);
    }
    if let Some(nul) = sa.path.get_mut(path.len()) {
        nul.write(0);
    }
    let sa = &sa as *const SockAddrUn;
    done(retry_raw(|| raw!(@n nr; fd.raw(), sa, len)))
}

// Cold: once at start (measured: smaller).
#[cold]
pub fn listen(fd: &Fd, backlog: u32) -> Result<()> {
    done(raw!(__NR_listen, fd.raw(), backlog))
}

// Inlined into its one caller (measured: smaller).
#[inline]
pub fn accept(fd: &Fd) -> Result<Fd> {
    new_fd(raw!(__NR_accept4, fd.raw(), 0, 0, O_CLOEXEC | O_NONBLOCK))
}

/// One `send` that never blocks nor raises SIGPIPE, whatever the socket's
/// own flags: a socket shared with children (journald's stream as stderr)
/// cannot be opened again non-blocking, and its flags are theirs too.
#[inline(always)]
pub fn send_nowait(fd: RawFd, buf: &[u8]) -> Result<usize> {
    check(send_nowait_raw(fd, buf))
}

/// [`send_nowait`]'s call: the length sent, or `-errno`.
#[inline(never)]
fn send_nowait_raw(fd: RawFd, buf: &[u8]) -> isize {
    const FLAGS: u32 = linux_raw_sys::net::MSG_DONTWAIT | linux_raw_sys::net::MSG_NOSIGNAL;
    raw!(__NR_sendto, fd, buf.as_ptr(), buf.len(), FLAGS, 0, 0)
}

/// The peer's (pid, uid, gid) of a connected Unix socket.
pub fn peer_cred(fd: &Fd) -> Result<(Pid, u32, u32)> {
    // Not zeroed first: the call fills all 12 bytes when it succeeds.
    let mut cred = MaybeUninit::<[u32; 3]>::uninit();
    let mut len: u32 = 12;
    sys!(
        __NR_getsockopt,
        fd.raw(),
        SOL_SOCKET,
        SO_PEERCRED,
        cred.as_mut_ptr(),
        &mut len as *mut u32
    )?;
    // SAFETY: the call succeeded, and SO_PEERCRED with room for a whole
    // `struct ucred` (12 bytes, checked below) writes all of it.
    let [pid, uid, gid] = unsafe { cred.assume_init() };
    Ok((pid as Pid, uid, gid))
}

pub fn shutdown_write(fd: &Fd) -> Result<()> {
    done(raw!(__NR_shutdown, fd.raw(), 1))
}

/// `dir/name` as a C string built in `buf`, or `None` when it does not
/// fit. `buf` need not be initialised (no zeroing of a 4 KiB path buffer
/// at each exec): every byte of the result is written first.
// Not inlined into `spawn::search`'s loop (measured: smaller).
#[inline(never)]
pub fn join_path<'a>(buf: &'a mut [MaybeUninit<u8>], dir: &[u8], name: &CStr) -> Option<&'a CStr> {
    let name = name.to_bytes_with_nul();
    let len = dir.len() + 1 + name.len();
    let full = buf.get_mut(..len)?;
    // Checked splits only: a panicking split here was once the binary's
    // last panic path, which alone brought in the panic formatting code.
    let (head, tail) = full.split_at_mut_checked(dir.len())?;
    put(head, dir);
    let (slash, tail) = tail.split_first_mut()?;
    slash.write(b'/');
    put(tail, name);
    // SAFETY: the three parts are `len` bytes together, all written above
    // (`put` writes all of `tail`: `name` is as long).
    cstr(unsafe { filled(full, len) })
}

/// Copies `src` into the start of `dst`, as `bytes::copy` does (no
/// `memcpy`), into memory that need not be initialised.
#[inline(always)]
fn put(dst: &mut [MaybeUninit<u8>], src: &[u8]) {
    for (d, &s) in dst.iter_mut().zip(src) {
        d.write(s);
    }
}

/// `buf` as a C string when its only NUL is its last byte: the check of
/// `CStr::from_bytes_with_nul`, as one small loop (that one pulls in `memchr`).
#[inline(never)]
pub fn cstr(buf: &[u8]) -> Option<&CStr> {
    if buf.iter().position(|&b| b == 0)? + 1 != buf.len() {
        return None;
    }
    // SAFETY: the first NUL in `buf` is its last byte (checked above): `buf`
    // is NUL-terminated with no interior NUL.
    Some(unsafe { CStr::from_bytes_with_nul_unchecked(buf) })
}

// ---------------------------------------------------------------- process start

/// argv and envp as the kernel left them on the initial stack. They live for
/// the whole life of the process, hence `'static`.
#[derive(Clone, Copy)]
pub struct StartArgs {
    argv: &'static [*const u8],
    envp: &'static [*const u8],
}

impl StartArgs {
    /// # Safety
    /// `sp` must be the initial stack pointer handed to `_start` by the kernel.
    pub unsafe fn from_stack(sp: *const usize) -> StartArgs {
        // SAFETY: the kernel's initial stack is argc, argv[argc], NULL, envp..., NULL.
        unsafe { Self::from_argv(*sp, sp.add(1) as *const *const u8) }
    }

    /// # Safety
    /// `argv` must be the kernel's argv array of `argc` entries, followed by
    /// its NULL and the NULL-terminated envp array.
    pub unsafe fn from_argv(argc: usize, argv: *const *const u8) -> StartArgs {
        // SAFETY: the layout above is what the kernel puts on the stack.
        unsafe {
            let envp = argv.add(argc + 1);
            let mut envc = 0;
            while !(*envp.add(envc)).is_null() {
                envc += 1;
            }
            StartArgs {
                argv: core::slice::from_raw_parts(argv, argc + 1),
                envp: core::slice::from_raw_parts(envp, envc + 1),
            }
        }
    }

    /// Arguments from a test harness: NULL-terminated pointer arrays to
    /// NUL-terminated strings that live for the whole process.
    pub fn from_static(argv: &'static [*const u8], envp: &'static [*const u8]) -> StartArgs {
        StartArgs { argv, envp }
    }

    fn cstr(p: *const u8) -> &'static CStr {
        // SAFETY: every non-null pointer in argv/envp is a NUL-terminated string
        // that the kernel keeps for the life of the process.
        unsafe { CStr::from_ptr(p as *const core::ffi::c_char) }
    }

    pub fn argc(&self) -> usize {
        self.argv.len().saturating_sub(1)
    }

    /// argv from word `i` on, still NULL-terminated: hand it to execve as is.
    pub fn argv_from(&self, i: usize) -> &'static [*const u8] {
        self.argv.get(i..).unwrap_or(&[])
    }

    pub fn arg(&self, i: usize) -> Option<&'static CStr> {
        self.argv
            .get(i)
            .filter(|p| !p.is_null())
            .map(|&p| Self::cstr(p))
    }

    /// The value of environment variable `key`.
    pub fn env(&self, key: &[u8]) -> Option<&'static [u8]> {
        self.envp.iter().filter(|p| !p.is_null()).find_map(|&p| {
            match Self::cstr(p).to_bytes().strip_prefix(key)?.split_first() {
                Some((b'=', value)) => Some(value),
                _ => None,
            }
        })
    }

    /// The NULL-terminated envp array, to pass on to children.
    pub fn envp(&self) -> &'static [*const u8] {
        self.envp
    }

    pub fn env_entries(&self) -> impl Iterator<Item = &'static CStr> {
        self.envp
            .iter()
            .filter(|p| !p.is_null())
            .map(|&p| Self::cstr(p))
    }
}

// ---------------------------------------------------------------- memory

/// A zero-filled anonymous mapping that lives for the rest of the process:
/// the pages cost nothing until touched, unlike a zeroed array on the stack
/// (the runtime's state, through [`reserve_zeroed`]; PID 1's copy of
/// /proc/mounts at shutdown).
#[inline(always)]
pub fn reserve(len: usize) -> Result<&'static mut [u8]> {
    // Made where it is inlined: the `Result` would come back through
    // memory, the address comes back in a register.
    let addr = check(mmap_raw(len))?;
    // SAFETY: the kernel returned a fresh private mapping of `len` bytes,
    // zero-filled, never unmapped, and referenced nowhere else.
    Ok(unsafe { core::slice::from_raw_parts_mut(addr as *mut u8, len) })
}

/// [`reserve`]'s call: `-errno`, or the address of the new mapping.
#[inline(never)]
fn mmap_raw(len: usize) -> isize {
    let prot = g::PROT_READ | g::PROT_WRITE;
    let flags = g::MAP_PRIVATE | g::MAP_ANONYMOUS;
    raw!(__NR_mmap, 0, len, prot, flags, -1i32, 0)
}

/// Types whose all-zero bit pattern is a valid value, so they can live in
/// zero-filled reserved memory without being built (and probed) on the stack.
///
/// # Safety
/// Implement only for types where every byte being zero is a valid value.
pub unsafe trait ZeroValid {}

// SAFETY: a heapless 0.9 `Vec` is a length plus `[MaybeUninit<T>; N]`: all
// zero is the empty vector (checked by `zeroed_vec_is_empty` below).
unsafe impl<T, const N: usize> ZeroValid for heapless::Vec<T, N> {}
// SAFETY: a `Ring` is two integers and `[MaybeUninit<T>; N]`: all zero is
// the empty queue (checked by `zeroed_ring_is_empty` below).
unsafe impl<T, const N: usize> ZeroValid for Ring<T, N> {}
// SAFETY: a table is one `heapless::Vec` (see above).
unsafe impl<const N: usize> ZeroValid for config_format::TableN<N> {}

// SAFETY: an argv buffer is integers and arrays of integers and bytes: all
// zero is the empty argv.
unsafe impl ZeroValid for config_format::Argv {}
// SAFETY: an environment block is bytes, integers and raw pointers (null).
unsafe impl ZeroValid for crate::spawn::Env {}
// SAFETY: the runtime's state is byte arrays, integers, bools (all zero:
// no log pipe, readiness pipe or control connection open) and the types
// above, the child's scratch argv and environment included.
unsafe impl ZeroValid for crate::runtime::Reserved {}
// SAFETY: an argv buffer, an environment block (see above) and bytes.
unsafe impl ZeroValid for crate::runtime::Scratch {}

/// A first-in first-out queue of up to `N` values (the supervisor's
/// actions): the values from `head` on, `len` of them, wrapping at the end
/// (`N` below 2^31: the indices are `u32`). Smaller code than heapless's
/// `Deque` (measured). `repr(C)`: `head` and `len` first, at short
/// displacements (Rust put them after the buffer: -32 B).
#[repr(C)]
pub struct Ring<T, const N: usize> {
    head: u32,
    len: u32,
    buf: [MaybeUninit<T>; N],
}

impl<T: Copy, const N: usize> Default for Ring<T, N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Copy, const N: usize> Ring<T, N> {
    pub const fn new() -> Self {
        Ring {
            head: 0,
            len: 0,
            buf: [const { MaybeUninit::uninit() }; N],
        }
    }

    pub fn len(&self) -> usize {
        self.len as usize
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn is_full(&self) -> bool {
        self.len as usize >= N
    }

    pub fn clear(&mut self) {
        self.len = 0;
    }

    /// Appends `v`; gives it back when the queue is full.
    pub fn push_back(&mut self, v: T) -> core::result::Result<(), T> {
        if self.is_full() {
            return Err(v);
        }
        let slot = self
            .buf
            .get_mut((self.head + self.len) as usize % N)
            .ok_or(v)?;
        slot.write(v);
        self.len += 1;
        Ok(())
    }

    /// Takes the oldest value.
    pub fn pop_front(&mut self) -> Option<T> {
        if self.is_empty() {
            return None;
        }
        let slot = self.buf.get(self.head as usize % N)?;
        // SAFETY: the `len` slots from `head` on (wrapping) were written by
        // `push_back` and not taken since; `head` is one of them.
        let v = unsafe { slot.assume_init() };
        self.head = (self.head + 1) % N as u32;
        self.len -= 1;
        Some(v)
    }
}

/// A `T` that starts on a page of its own and fills its last page alone
/// (`align` rounds the size up to whole pages), inside a reserved mapping.
#[repr(C, align(4096))]
pub struct Paged<T>(pub T);

// SAFETY: the padding after a `T` is never read as part of it.
unsafe impl<T: ZeroValid> ZeroValid for Paged<T> {}

impl<T: ZeroValid> Paged<T> {
    /// `MADV_DONTNEED` on its pages: they take no memory until written
    /// again, and read as zero, a valid `T`. A failure only leaves them
    /// resident. Not inlined: a call where it is used, not the madvise
    /// (measured: smaller).
    #[inline(never)]
    pub fn release(&mut self) {
        let addr = self as *mut Self as usize;
        // Page-aligned and a whole number of 4 KiB pages, all of them this
        // `Paged`'s own, which `&mut self` makes ours alone: no other value
        // shares them. (A kernel with bigger pages refuses a start that is
        // not aligned to them, or rounds the length up into what follows:
        // the runtime keeps only memory it rebuilds after each `Paged`.)
        // foster has no writable file-backed memory (no data segment), so
        // they are private anonymous pages (a reserved mapping or the
        // stack), which read as zero once released.
        let _ = sys!(
            __NR_madvise,
            addr,
            core::mem::size_of::<Self>(),
            g::MADV_DONTNEED
        );
    }
}

/// A `T` in fresh zero-filled memory that lives for the rest of the process.
/// Its pages cost nothing until used.
pub fn reserve_zeroed<T: ZeroValid>() -> Result<&'static mut T> {
    let len = core::mem::size_of::<T>().max(1);
    let mem = reserve(len)?;
    let ptr = mem.as_mut_ptr() as *mut T;
    if !(ptr as usize).is_multiple_of(core::mem::align_of::<T>()) {
        return Err(Errno::EINVAL);
    }
    // SAFETY: the mapping is page-aligned (checked above), `len` bytes long,
    // zero-filled, owned by nobody else, and all-zero is a valid `T`.
    Ok(unsafe { &mut *ptr })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zeroed_vec_is_empty() {
        let v = reserve_zeroed::<heapless::Vec<u64, 8>>().unwrap();
        assert!(v.is_empty());
        v.push(7).unwrap();
        assert_eq!(v.as_slice(), &[7]);
        let t = reserve_zeroed::<config_format::Table>().unwrap();
        assert!(t.entries.is_empty());
    }

    #[test]
    fn join_path_fits_or_is_none() {
        let mut buf = [MaybeUninit::uninit(); 9];
        assert_eq!(join_path(&mut buf, b"/bin", c"sh"), Some(c"/bin/sh"));
        assert_eq!(join_path(&mut buf, b"/bin", c"true"), None);
        assert_eq!(join_path(&mut buf, b"", c"x"), Some(c"/x"));
        assert_eq!(join_path(&mut [], b"", c""), None);
    }

    #[test]
    fn execve_refuses_arrays_without_their_null() {
        // Refused before the syscall: a successful call would replace the
        // test process, so only the refusals can be tested here.
        // An empty slice of a valid array: its pointer is readable, so only
        // foster's own check can refuse it (the kernel would say ENOENT).
        let null = [core::ptr::null()];
        let empty = &null[..0];
        let open = [c"x".as_ptr().cast::<u8>()];
        assert_eq!(execve(c"/nonexistent", empty, &null), Errno::EFAULT);
        assert_eq!(execve(c"/nonexistent", &null, empty), Errno::EFAULT);
        assert_eq!(execve(c"/nonexistent", &open, &null), Errno::EFAULT);
        assert_eq!(execve(c"/nonexistent", &null, &open), Errno::EFAULT);
        // With both ended, the kernel answers.
        assert_eq!(execve(c"/nonexistent", &null, &null), Errno::ENOENT);
    }

    #[test]
    fn cstr_wants_exactly_one_nul_at_the_end() {
        assert_eq!(cstr(b"abc\0").map(CStr::to_bytes), Some(&b"abc"[..]));
        assert_eq!(cstr(b"\0").map(CStr::to_bytes), Some(&b""[..]));
        assert!(cstr(b"").is_none());
        assert!(cstr(b"abc").is_none());
        assert!(cstr(b"a\0c\0").is_none());
    }

    #[test]
    fn zeroed_ring_is_empty() {
        let d = reserve_zeroed::<Ring<u64, 8>>().unwrap();
        assert!(d.is_empty());
        assert_eq!(d.pop_front(), None);
        for i in 0..8 {
            d.push_back(i).unwrap();
        }
        assert!(d.is_full());
        assert_eq!(d.push_back(8), Err(8));
        assert_eq!(d.pop_front(), Some(0));
        // Wraps around the end.
        d.push_back(8).unwrap();
        assert_eq!(d.len(), 8);
        for i in 1..=8 {
            assert_eq!(d.pop_front(), Some(i));
        }
        assert_eq!(d.pop_front(), None);
    }

    /// Resident pages of the mapping at `addr` (`mincore`).
    fn resident(addr: usize, pages: usize) -> usize {
        let mut vec = [0u8; 8];
        let r = sys!(__NR_mincore, addr, pages * 4096, vec.as_mut_ptr() as usize);
        assert_eq!(r.map(drop), Ok(()));
        vec[..pages].iter().filter(|&&b| b & 1 != 0).count()
    }

    #[test]
    fn released_pages_read_zero_and_are_not_resident() {
        let p = reserve_zeroed::<Paged<crate::runtime::Scratch>>().unwrap();
        let len = core::mem::size_of::<crate::runtime::Scratch>();
        assert!(len > 2 * 4096 && len <= 8 * 4096);
        let addr = p as *mut Paged<_> as usize;
        let pages = len.div_ceil(4096);
        // SAFETY: `len` bytes of the test's own mapping.
        let bytes = unsafe { core::slice::from_raw_parts_mut(addr as *mut u8, len) };
        bytes.fill(0xa5);
        assert_eq!(resident(addr, pages), pages);
        p.release();
        assert_eq!(resident(addr, pages), 0);
        assert!(bytes.iter().all(|&b| b == 0));
    }

    /// The runtime releases its parsed table this way after each load: the
    /// pages go, the table reads as empty, and the next parse fills it again.
    #[test]
    fn a_released_paged_table_is_empty_and_not_resident() {
        let table = reserve_zeroed::<Paged<config_format::Table>>().unwrap();
        let src = b"service a -- sleep 1\nservice b after=a -- sleep 2\n";
        config_format::parse_into(src, &mut table.0, &mut |_| panic!("bad table"));
        assert_eq!(table.0.entries.len(), 2);
        let addr = table as *mut Paged<config_format::Table> as usize;
        assert_eq!(addr % 4096, 0);
        let pages = core::mem::size_of::<Paged<config_format::Table>>() / 4096;
        assert!(resident(addr, pages) > 0);
        table.release();
        assert_eq!(resident(addr, pages), 0);
        assert!(table.0.entries.is_empty());
        config_format::parse_into(src, &mut table.0, &mut |_| panic!("bad table"));
        assert_eq!(table.0.entries.len(), 2);
        assert_eq!(table.0.entries[1].after.len(), 1);
    }
}
