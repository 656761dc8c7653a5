//! Output without an allocator: a fixed line buffer with a tiny formatter for
//! text, numbers and errnos, flushed to one fd with a single `write`.
//!
//! Lines longer than the buffer are cut, never split across writes, so log
//! lines from foster stay whole even when several processes share a console.

use crate::sys::{self, Errno, RawFd};

pub const LINE_MAX: usize = 512;

/// A line being built; `Line::flush` writes it at once.
///
/// `len` first: its offset is then 0, so every access to it is a short
/// instruction rather than one with a 512-byte displacement.
#[repr(C)]
pub struct Line {
    len: usize,
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
            buf: [0; LINE_MAX],
        }
    }
    #[inline(never)]
    pub fn as_bytes(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or(&[])
    }
    pub fn len(&self) -> usize {
        self.len
    }
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    pub fn clear(&mut self) {
        self.len = 0;
    }
    pub fn truncate(&mut self, len: usize) {
        self.len = self.len.min(len);
    }
    #[inline(never)]
    pub fn bytes(&mut self, b: &[u8]) -> &mut Line {
        // A byte at a time: a line is short, and this loop is smaller than
        // a bounds-checked copy.
        for &c in b {
            let Some(slot) = self.buf.get_mut(self.len) else {
                break;
            };
            *slot = c;
            self.len += 1;
        }
        self
    }
    #[inline(never)]
    pub fn s(&mut self, s: &str) -> &mut Line {
        self.bytes(s.as_bytes())
    }
    #[inline(never)]
    pub fn byte(&mut self, b: u8) -> &mut Line {
        if let Some(slot) = self.buf.get_mut(self.len) {
            *slot = b;
            self.len += 1;
        }
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
    /// Right-pads the text written since `start` with blanks to `width` columns.
    pub fn pad_from(&mut self, start: usize, width: usize) -> &mut Line {
        // Never past a full line: `byte` no longer grows it there.
        while self.len < (start + width).min(LINE_MAX) {
            self.byte(b' ');
        }
        self
    }
    /// `ENOENT (No such file or directory)` style errno text.
    #[inline(never)]
    pub fn errno(&mut self, e: Errno) -> &mut Line {
        // `text` falls back to the name, and that to "" for an unnamed one.
        match e.text() {
            "" => self.s("errno ").u(e.0 as u64),
            text => self.s(text),
        }
    }
    /// `: ` and the errno text: the end of most failure reports, in one call.
    #[inline(never)]
    pub fn colon_errno(&mut self, e: Errno) -> &mut Line {
        self.s(": ").errno(e)
    }
    /// Writes the line plus a newline to `fd` and clears it.
    #[inline(never)]
    pub fn flush(&mut self, fd: RawFd) {
        self.flush_waiting(fd, 0);
    }
    /// [`Line::flush`], retrying a full fd as [`sys::write_all_waiting`] does.
    #[inline(never)]
    pub fn flush_waiting(&mut self, fd: RawFd, tries: u32) {
        if self.as_bytes().last() != Some(&b'\n') {
            if self.len == LINE_MAX {
                self.len -= 1;
            }
            self.byte(b'\n');
        }
        let _ = sys::write_all_waiting(fd, self.as_bytes(), tries);
        self.len = 0;
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

/// Writes raw bytes to an fd, ignoring errors (used for bulk output like `check`).
// Not inlined: one call instead of a `write_all` at each use (measured: smaller).
#[inline(never)]
pub fn put(fd: RawFd, b: &[u8]) {
    let _ = sys::write_all(fd, b);
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
}
