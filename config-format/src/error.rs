//! Parse errors and how they read. An error holds its position and spans into
//! the source, never text, so it is `Copy` and costs nothing until rendered;
//! rendering resolves the spans and writes bytes to a [`Sink`], without
//! `core::fmt` (its formatter alone is a tenth of foster's size budget).
//! Messages are short, lower-case and quote the offending text in backticks.

use crate::{text, Kind, Packed, Span};

/// Where rendered text goes, a slice at a time. Everything written is UTF-8
/// as long as the file name given to [`Error::report`] is.
pub trait Sink {
    fn put(&mut self, bytes: &[u8]);
}

/// A parse error at a 1-based line and column (in bytes) of the source.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Error {
    pub line: u32,
    pub col: u32,
    pub kind: ErrorKind,
}

/// What went wrong: a [`Message`] and what fills its holes, or a cycle.
/// Data rather than a variant per message: rendering is then one template
/// walk, not a match over every variant.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ErrorKind {
    /// Every error but a cycle.
    Message {
        msg: Message,
        /// The offending text (unused by messages that quote none).
        text: Span,
        /// The number the message shows (0 if none): a line for
        /// [`Message::DuplicateName`], a capacity for the "too many" ones,
        /// the longest name for [`Message::BadName`].
        n: u32,
        /// The kind [`Message::NotForKind`] and [`Message::AfterNotStarted`]
        /// name.
        kind: Option<Kind>,
    },
    /// This entry's `after=` closes a cycle.
    AfterCycle(Cycle),
}

/// Which message an error has, in the order of its template. "The text" is
/// [`ErrorKind::Message`]'s `text`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Message {
    /// The first word (the text) is not a kind.
    UnknownKind,
    /// A line with a kind (the text) and nothing else.
    MissingName,
    /// A name (the text) already taken on an earlier line (the number).
    DuplicateName,
    /// A `key=` word whose key (the text) is not an option.
    UnknownOption,
    /// A single-valued option (the text is the key) given twice.
    DuplicateOption,
    /// `user=` and the like with nothing after `=` (the text is the key).
    EmptyValue,
    /// This one and the next nine: an option value that does not read (the
    /// text is the value).
    BadDuration,
    BadSignal,
    BadUmask,
    BadLog,
    BadRestart,
    BadBackoff,
    BadReady,
    BadOnExit,
    BadEnv,
    BadPidfile,
    /// A name (or an `after=` value) outside the name alphabet or too long
    /// (the number: the longest). Before the capacities, as it shows a
    /// limit too.
    BadName,
    /// This one and the next five: a capacity (the number) ran out.
    TooManyEntries,
    TooManyEnv,
    TooManyAfter,
    TooManyWords,
    CommandTooLong,
    /// Bytes of one option value, unquoted.
    ValueTooLong,
    /// No command after the options.
    EmptyCommand,
    /// A quote (the text) not closed on its line; the error is at the quote.
    UnterminatedQuote,
    /// A NUL byte on the line (it could never reach `execve`).
    NulByte,
    /// An inittab line with fewer than four `:`-separated fields.
    InittabFields,
    /// An inittab action (the text) that BusyBox does not know.
    UnknownAction,
    /// `after=`, `restart=` or `backoff=` (the text: the key) on a kind
    /// that runs once at its moment: neither ordered nor restarted.
    NotForKind,
    /// `after=NAME` with no entry called NAME (the text: NAME as written).
    AfterUnknown,
    /// `after=NAME` where NAME's line had errors or was dropped.
    AfterBroken,
    /// `after=NAME` where NAME is a shutdown, ctrlaltdel or restart entry.
    AfterNotStarted,
}

/// Names along an `after=` cycle, starting at the entry reporting it; the
/// cycle closes back on `names[0]`. Longer cycles keep the first
/// [`Cycle::SHOWN`] names and set `more`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Cycle {
    pub names: [Span; Cycle::SHOWN],
    pub len: u8,
    pub more: bool,
}

impl Cycle {
    pub const SHOWN: usize = 6;
}

impl Error {
    /// The message alone, e.g. "unknown option `foo`".
    pub fn message(&self, src: &[u8], w: &mut dyn Sink) {
        let mut m = Msg { w, src };
        let (msg, text, n, kind) = match &self.kind {
            ErrorKind::Message { msg, text, n, kind } => (msg, text, n, kind),
            ErrorKind::AfterCycle(c) => {
                m.s(b"`after=` cycle: ");
                for &n in c.names.iter().take(c.len.into()) {
                    m.t(n);
                    m.s(b" -> ");
                }
                if c.more {
                    m.s(b"... -> ");
                }
                return m.t(c.names.first().copied().unwrap_or_default());
            }
        };
        // Template number `msg` is the text after that many newlines;
        // byte by byte, so the holes need no splitting (holes are ASCII, so
        // whole characters still go out in order).
        TEMPLATES.piece(*msg as usize, b'\n', &mut |b| match b {
            b'$' => m.t(*text),
            b'#' => m.n(*n),
            b'%' => m.s(kind.map_or(b"", Kind::word)),
            _ => m.s(&[b]),
        });
    }

    /// `FILE:LINE:COL: message`, then the source line and a caret under the
    /// column, as rustc prints them. Ends with a newline. `file` is a `str`
    /// or raw bytes (a path need not be UTF-8).
    pub fn report(&self, file: &(impl AsRef<[u8]> + ?Sized), src: &[u8], w: &mut dyn Sink) {
        self.render(file.as_ref(), src, w);
    }

    #[inline(never)]
    fn render(&self, file: &[u8], src: &[u8], w: &mut dyn Sink) {
        let mut m = Msg { w, src };
        m.s(file);
        m.s(b":");
        m.n(self.line);
        m.s(b":");
        m.n(self.col);
        m.s(b": ");
        self.message(src, m.w);
        m.s(b"\n");
        let Some(text) = physical_line(src, self.line) else {
            return;
        };
        // The source line, then the caret line: one blank per character
        // before the column (tabs kept, so the caret lines up in a
        // terminal), whatever the encoding. Invalid UTF-8 shows as U+FFFD,
        // one per maximal invalid subpart (as `String::from_utf8_lossy`
        // does).
        let before = text
            .get(..(self.col as usize).saturating_sub(1))
            .unwrap_or(text);
        // Two passes: the source line, then the caret line.
        for pass in 0..2 {
            let caret = pass == 1;
            m.s(b"  ");
            // The line number, or a blank for each of its digits.
            for d in decimal(u64::from(self.line), &mut [0; 20]) {
                m.s(if caret {
                    b" "
                } else {
                    core::slice::from_ref(d)
                });
            }
            m.s(b" | ");
            let mut rest = if caret { before } else { text };
            while let Some(&b) = rest.first() {
                let (n, valid) = utf8_unit(rest);
                let unit = rest.get(..n).unwrap_or(rest);
                let tail = rest.get(n..).unwrap_or(&[]);
                // A control character shows as its picture (U+2400 + b,
                // U+2421 for DEL), as rustc shows it: an escape sequence
                // in a table never reaches the terminal.
                let picture = [0xe2, 0x90, if b == 0x7f { 0xa1 } else { 0x80 | b }];
                m.s(match b {
                    // Kept in both lines, so the caret lines up.
                    b'\t' => unit,
                    _ if caret => b" ",
                    0..0x20 | 0x7f => &picture,
                    _ if valid => unit,
                    _ => "\u{fffd}".as_bytes(),
                });
                rest = tail;
            }
            // The caret, then the newline both lines end with.
            m.s(b"^\n".get(usize::from(!caret)..).unwrap_or_default());
        }
    }
}

/// The length of the UTF-8 sequence `b` starts with, and whether it is
/// valid; an invalid one is its maximal subpart (1 to 3 bytes), as
/// `core::str::Utf8Chunks` splits it. `b` must not be empty.
fn utf8_unit(b: &[u8]) -> (usize, bool) {
    let first = b.first().copied().unwrap_or(0);
    let len = match first {
        0x00..=0x7f => return (1, true),
        0xc2..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf4 => 4,
        _ => return (1, false),
    };
    // Every later byte is a continuation (80..=BF); the second one, read
    // with the lead, also rules out overlong forms (E0 80..9F, F0 80..8F),
    // surrogates (ED A0..BF) and code points past U+10FFFF (F4 90..).
    for i in 1..len {
        let c = b.get(i).copied().unwrap_or(0);
        let pair = u16::from_be_bytes([first, c]);
        let bad = c & 0xc0 != 0x80
            || i == 1
                && matches!(pair, 0xe080..=0xe09f | 0xeda0..=0xedbf | 0xf080..=0xf08f | 0xf490..);
        if bad {
            return (i, false);
        }
    }
    (len, true)
}

/// Every message but the cycle's, one a line, in [`Message`] order: `$` is
/// the offending text, `#` the number, `%` the kind.
const TEMPLATES: Packed = text!(
    "\
unknown kind `$` (use sysinit, wait, once, service, askfirst, shutdown, ctrlaltdel or restart)
missing name after `$`
duplicate name `$` (first defined on line #)
unknown option `$`
duplicate option `$=`
missing value for `$=`
bad duration `$` (use 500ms, 2s, 1m)
bad signal `$` (use a name like TERM or a number 1..64)
bad umask `$` (use octal 0..0777, e.g. 022)
bad log `$` (use console, null, kmsg or an absolute path)
bad restart `$` (use always, on-failure or never)
bad backoff `$` (use MIN..MAX with 0 < MIN <= MAX, e.g. 100ms..30s)
bad ready `$` (use fd:N with N in 3..255)
bad on-exit `$` (use poweroff, reboot, halt, exit or exit:CODE with CODE 0..255)
bad env `$` (use env=KEY=VALUE, KEY of A-Z a-z 0-9 _ not starting with a digit)
bad pidfile `$` (use an absolute path)
bad name `$` (use 1 to # of A-Z a-z 0-9 _ . @ + -)
too many entries (at most #)
too many `env=` options (at most #)
too many `after=` options (at most #)
too many words in command (at most #)
command too long (at most # bytes)
option value too long (at most # bytes)
empty command
unterminated quote `$`
NUL byte in a line
bad inittab line (use id:runlevels:action:process)
unknown action `$` (use sysinit, wait, once, respawn, askfirst, shutdown, restart or ctrlaltdel)
`$=` applies only to once, service and askfirst entries, not %
`after=$` names no entry
`after=$` names an entry with errors
`after=$` names a % entry, which never starts"
);

/// Where physical line `line` (1-based) of `src` starts; `None` for line 0
/// and past the last line (for the parser): where the piece
/// [`physical_line`] takes starts, found by the same scan.
pub(crate) fn line_start(src: &[u8], line: u32) -> Option<usize> {
    let text = crate::parse::nth_piece(src, b'\n', (line as usize).checked_sub(1)?)?;
    Some(text.as_ptr().addr() - src.as_ptr().addr())
}

/// Physical line `line` (1-based) without its LF or CRLF.
fn physical_line(src: &[u8], line: u32) -> Option<&[u8]> {
    let text = crate::parse::nth_piece(src, b'\n', (line as usize).checked_sub(1)?)?;
    Some(match text.split_last() {
        Some((b'\r', rest)) => rest,
        _ => text,
    })
}

/// `n` in decimal, written at the end of `buf` (the init's formatter uses it
/// too: one copy in the binary).
#[inline(never)]
pub fn decimal(mut n: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        if let Some(d) = buf.get_mut(i) {
            *d = b'0' + (n % 10) as u8;
        }
        n /= 10;
        if n == 0 || i == 0 {
            break;
        }
    }
    buf.get(i..).unwrap_or(&[])
}

/// How byte `b` is shown when quoted: printable ASCII as is, tab and newline
/// (and CR, if `cr`) as `\t` `\n` `\r`, any other byte as `\xHH`. Shared
/// with `foster check`, which shows CR as `\x0d`.
pub fn escape(b: u8, cr: bool, out: &mut [u8; 4]) -> &[u8] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let hex = |n: u8| HEX.get(usize::from(n & 15)).copied().unwrap_or(b'?');
    *out = [b'\\', b'x', hex(b >> 4), hex(b)];
    // The byte itself, or the letter after the backslash.
    let letter = match b {
        0x20..=0x7e => {
            let [first, ..] = out;
            *first = b;
            return core::slice::from_ref(first);
        }
        b'\t' => b't',
        b'\n' => b'n',
        b'\r' if cr => b'r',
        _ => return out,
    };
    let [_, second, ..] = out;
    *second = letter;
    out.get(..2).unwrap_or(out)
}

/// A message being written: text, numbers and quoted source.
struct Msg<'w, 's> {
    w: &'w mut dyn Sink,
    src: &'s [u8],
}

impl Msg<'_, '_> {
    /// At most this many source bytes are quoted, then `...`.
    const MAX_TEXT: usize = 48;

    fn s(&mut self, s: &[u8]) {
        self.w.put(s)
    }

    fn n(&mut self, n: u32) {
        self.s(decimal(u64::from(n), &mut [0; 20]))
    }

    /// Source text: printable ASCII as is, the rest escaped, long text cut.
    fn t(&mut self, span: Span) {
        let text = span.get(self.src);
        for &b in text.iter().take(Self::MAX_TEXT) {
            self.s(escape(b, true, &mut [0; 4]));
        }
        if text.len() > Self::MAX_TEXT {
            self.s(b"...");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    extern crate std;

    #[test]
    fn one_template_per_numbered_message() {
        let mut lines = 1;
        TEMPLATES.each(&mut |b| lines += usize::from(b == b'\n'));
        assert_eq!(lines, 32);
    }

    #[test]
    fn utf8_units_split_like_from_utf8_lossy() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..20_000 {
            let mut buf = [0u8; 8];
            for b in &mut buf {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                // Mostly the bytes that matter: leads and continuations.
                *b = match seed % 4 {
                    0 => seed as u8 >> 1,
                    _ => 0x80 | (seed >> 8) as u8,
                };
            }
            let mut ours = std::string::String::new();
            let mut rest = &buf[..];
            while !rest.is_empty() {
                let (n, valid) = utf8_unit(rest);
                if valid {
                    ours.push_str(core::str::from_utf8(&rest[..n]).unwrap());
                } else {
                    ours.push('\u{fffd}');
                }
                rest = &rest[n..];
            }
            assert_eq!(ours, std::string::String::from_utf8_lossy(&buf), "{buf:x?}");
        }
    }
}
