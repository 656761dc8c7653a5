//! Output without an allocator: a fixed line buffer with a tiny formatter for
//! text, numbers and errnos, flushed to one fd with a single `write`.
//!
//! Lines longer than the buffer are cut, never split across writes, so log
//! lines from foster stay whole even when several processes share a console.
//! Only a line told to spill (bulk output like `check`'s, whose rows may be
//! longer) is written out and emptied whenever it is full instead.

use crate::sys::{self, Errno, RawFd};
use crate::texts::{text, Packed};

pub const LINE_MAX: usize = 512;

/// A line being built; `Line::flush` writes it at once.
///
/// `len` first: its offset is then 0, so every access to it is a short
/// instruction rather than one with a 512-byte displacement; a `u32`, as
/// a line is short: 32-bit operations need no REX prefix byte.
#[repr(C)]
pub struct Line {
    len: u32,
    /// Where a full line goes (see [`Line::spill_to`]), complemented: 0
    /// (fd -1, never one) when it is cut, so a new line is all zeros.
    spill_fd: RawFd,
    /// The first write that failed (a full disk, a closed pipe), or
    /// [`Errno::NONE`].
    failed: Errno,
    buf: [u8; LINE_MAX],
}

impl Default for Line {
    fn default() -> Self {
        Self::new()
    }
}

impl Line {
    // Not inlined: the zero-fill of the buffer is then written once, not at
    // every one of the many places that build a line.
    #[inline(never)]
    pub const fn new() -> Line {
        Line {
            len: 0,
            spill_fd: 0,
            failed: Errno::NONE,
            buf: [0; LINE_MAX],
        }
    }
    #[inline(never)]
    pub fn as_bytes(&self) -> &[u8] {
        // Capped, not checked: `len` never passes the buffer, and the
        // capped length needs no empty-slice path.
        self.buf.get(..self.len().min(LINE_MAX)).unwrap_or(&[])
    }
    pub fn len(&self) -> usize {
        self.len as usize
    }
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    pub fn clear(&mut self) {
        self.len = 0;
    }
    pub fn truncate(&mut self, len: usize) {
        self.len = self.len.min(u32::try_from(len).unwrap_or(u32::MAX));
    }
    #[inline(never)]
    pub fn bytes(&mut self, b: &[u8]) -> &mut Line {
        // A byte at a time through `byte`, which also deals with a full
        // line: a line is short, and this loop is smaller than a
        // bounds-checked copy.
        for &c in b {
            self.byte(c);
        }
        self
    }
    #[inline(never)]
    pub fn s(&mut self, s: &str) -> &mut Line {
        self.bytes(s.as_bytes())
    }
    #[inline(never)]
    pub fn byte(&mut self, b: u8) -> &mut Line {
        let Some(slot) = self.buf.get_mut(self.len as usize) else {
            // Full: cut, or written out and started over.
            if self.spill_fd != 0 {
                self.spill();
                return self.byte(b);
            }
            return self;
        };
        *slot = b;
        self.len += 1;
        self
    }
    #[inline(never)]
    pub fn u(&mut self, n: u64) -> &mut Line {
        let mut digits = [0u8; 20];
        self.bytes(decimal(n, &mut digits))
    }
    #[inline(never)]
    pub fn i(&mut self, n: i64) -> &mut Line {
        if n < 0 {
            self.byte(b'-');
        }
        self.u(n.unsigned_abs())
    }
    /// A compressed message text, decoded.
    pub fn t(&mut self, t: Packed) -> &mut Line {
        // A separator no text holds: one piece, the whole text.
        self.piece(t, 0, config_format::text::NO_SEP)
    }
    /// Piece `i` of a compressed list cut at `sep`, decoded.
    #[inline(never)]
    pub fn piece(&mut self, t: Packed, i: usize, sep: u8) -> &mut Line {
        t.piece(i, sep, &mut |b| {
            self.byte(b);
        });
        self
    }
    /// Blanks that take text `used` bytes wide to `width` columns (none if
    /// wider).
    #[inline(never)]
    pub fn pad(&mut self, used: usize, width: usize) -> &mut Line {
        for _ in used..width {
            self.byte(b' ');
        }
        self
    }
    /// `ENOENT (No such file or directory)` style errno text.
    #[inline(never)]
    pub fn errno(&mut self, e: Errno) -> &mut Line {
        // `text` falls back to the name, and that to `None` for an unnamed one.
        match e.text() {
            None => self.t(text!("errno ")).u(e.0 as u64),
            Some((list, i)) => self.piece(list, i, b'|'),
        }
    }
    /// `: ` and the errno text: the end of most failure reports, in one call.
    #[inline(never)]
    pub fn colon_errno(&mut self, e: Errno) -> &mut Line {
        self.s(": ").errno(e)
    }
    /// From now on a full line is written to `fd` as it is (no newline
    /// added) and emptied, not cut: for output of any length.
    pub fn spill_to(&mut self, fd: RawFd) {
        self.spill_fd = !fd;
    }
    /// With [`Line::spill_to`] set, writes the text so far and empties the
    /// line. Returns the first of these writes that failed, or
    /// [`Errno::NONE`].
    #[inline(never)]
    pub fn spill(&mut self) -> Errno {
        if self.spill_fd != 0 {
            self.write_out(!self.spill_fd);
        }
        self.failed
    }
    /// Writes the line plus a newline to `fd` and clears it.
    #[inline(never)]
    pub fn flush(&mut self, fd: RawFd) {
        self.end();
        self.write_out(fd);
    }
    /// Ends the line with a newline, unless it has one.
    #[inline(never)]
    pub fn end(&mut self) {
        // The last byte read in place: smaller than through `as_bytes`.
        let last = self
            .len
            .checked_sub(1)
            .and_then(|i| self.buf.get(i as usize));
        if last != Some(&b'\n') {
            // A full line loses its last byte to the newline.
            self.truncate(LINE_MAX - 1);
            self.byte(b'\n');
        }
    }
    /// Writes the text so far to `fd` and empties the line, keeping the
    /// first failure: one copy for [`Line::spill`] and [`Line::flush`].
    #[inline(never)]
    fn write_out(&mut self, fd: RawFd) {
        if let Err(e) = sys::write_all(fd, self.as_bytes()) {
            if self.failed == Errno::NONE {
                self.failed = e;
            }
        }
        self.len = 0;
    }
    /// The first write of this line's text that failed, spilled or flushed.
    pub fn failed(&self) -> Option<Errno> {
        Some(self.failed).filter(|&e| e != Errno::NONE)
    }
}

/// Table errors render straight into a line.
impl config_format::Sink for Line {
    fn put(&mut self, bytes: &[u8]) {
        self.bytes(bytes);
    }
}

/// `n` in decimal, written at the end of a 20-byte buffer (the parser's copy).
pub use config_format::decimal;

/// Writes a compressed text to an fd, however long, ignoring errors (the
/// usage text, the control socket's early replies).
#[inline(never)]
pub fn put_text(fd: RawFd, t: Packed) {
    let mut l = Line::new();
    l.spill_to(fd);
    l.t(t);
    l.spill();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_numbers_and_errnos() {
        let mut l = Line::new();
        l.s("pid ")
            .u(0)
            .s(" ")
            .u(18446744073709551615)
            .s(" ")
            .i(-42);
        assert_eq!(l.as_bytes(), b"pid 0 18446744073709551615 -42");
        l.clear();
        l.errno(Errno::ENOENT).s(" / ").errno(Errno(4000));
        assert_eq!(l.as_bytes(), b"No such file or directory / errno 4000");
        l.clear();
        l.s("x").colon_errno(Errno::EACCES);
        assert_eq!(l.as_bytes(), b"x: Permission denied");
    }

    #[test]
    fn long_lines_are_cut_not_overflowed() {
        let mut l = Line::new();
        for _ in 0..100 {
            l.s("0123456789");
        }
        assert_eq!(l.len(), LINE_MAX);
    }

    #[test]
    fn a_spilling_line_writes_out_when_full() {
        // A pipe: what the line wrote comes back whole and in order.
        let (r, w) = sys::pipe(0).unwrap();
        let mut l = Line::new();
        l.spill_to(w.raw());
        for i in 0..100u64 {
            l.u(i % 10).s("123456789");
        }
        assert!(l.len() < LINE_MAX);
        assert_eq!(l.spill(), Errno::NONE);
        assert!(l.is_empty());
        let mut got = [0u8; 1100];
        let mut n = 0;
        while n < 1000 {
            n += sys::read(r.raw(), &mut got[n..]).unwrap();
        }
        assert_eq!(n, 1000);
        for (i, piece) in got[..n].chunks(10).enumerate() {
            assert_eq!(piece[0], b'0' + (i % 10) as u8);
            assert_eq!(&piece[1..], b"123456789");
        }
        // A failed write is kept and reported (the test harness ignores
        // SIGPIPE, as Rust programs do).
        drop(r);
        l.s("x");
        assert_eq!(l.spill(), Errno::EPIPE);
    }

    #[test]
    fn errno_texts_follow_the_list() {
        for (i, &(e, name)) in sys::ERRNOS.iter().enumerate() {
            let mut l = Line::new();
            l.errno(e);
            let text = core::str::from_utf8(l.as_bytes()).unwrap();
            // The named-only ones; the others' texts are checked below.
            if i >= Errno::WITH_TEXT {
                assert_eq!(text, name);
            }
        }
        // Each text with its errno (an order slip above shows here).
        let texts = [
            (Errno::ENOENT, "No such file or directory"),
            (Errno::EACCES, "Permission denied"),
            (Errno::EPERM, "Operation not permitted"),
            (Errno::ENOEXEC, "Exec format error"),
            (Errno::ENOTDIR, "Not a directory"),
            (Errno::EISDIR, "Is a directory"),
            (Errno::EAGAIN, "Resource temporarily unavailable"),
            (Errno::EMFILE, "Too many open files"),
            (Errno::ENOMEM, "Out of memory"),
            (Errno::ETXTBSY, "Text file busy"),
            (Errno::ENAMETOOLONG, "File name too long"),
            (Errno::ELOOP, "Too many levels of symbolic links"),
            (Errno::ECONNREFUSED, "Connection refused"),
            (Errno::EINVAL, "Invalid argument"),
            (Errno::ENOSPC, "No space left on device"),
            (Errno::E2BIG, "Argument list too long"),
        ];
        assert_eq!(texts.len(), Errno::WITH_TEXT);
        for (e, text) in texts {
            let mut l = Line::new();
            l.errno(e);
            assert_eq!(l.as_bytes(), text.as_bytes());
        }
    }
}
