//! Parse errors and how they read. An error holds its position and spans into
//! the source, never text, so it is `Copy` and costs nothing until rendered;
//! rendering (the only place that uses `core::fmt`) resolves the spans.
//! Messages are short, lower-case and quote the offending text in backticks.

use crate::{Kind, Span};
use core::fmt::{self, Write};

/// A parse error at a 1-based line and column (in bytes) of the source.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Error {
    pub line: u32,
    pub col: u32,
    pub kind: ErrorKind,
}

/// What went wrong; spans point at the offending text.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ErrorKind {
    /// The first word is not a kind.
    UnknownKind(Span),
    /// A line with a kind and nothing else (the span is the kind).
    MissingName(Span),
    /// A name (or an `after=` value) outside the name alphabet or too long.
    BadName(Span),
    DuplicateName {
        name: Span,
        first_line: u32,
    },
    /// A `key=` word whose key is not an option (the span is the key).
    UnknownOption(Span),
    /// A single-valued option given twice (the span is the key).
    DuplicateOption(Span),
    /// `user=` and the like with nothing after `=` (the span is the key).
    EmptyValue(Span),
    BadValue {
        what: Value,
        value: Span,
    },
    TooMany {
        what: Capacity,
        at_most: u32,
    },
    /// No command after the options.
    EmptyCommand,
    /// A quote (`'` or `"`) not closed on its line; the error is at the quote.
    UnterminatedQuote(u8),
    /// A NUL byte on the line (it could never reach `execve`).
    NulByte,
    /// An inittab line with fewer than four `:`-separated fields.
    InittabFields,
    /// An inittab action that BusyBox does not know.
    UnknownAction(Span),
    /// `after=` on a kind that is not ordered by it.
    AfterIgnored(Kind),
    /// `after=NAME` with no entry called NAME (span: NAME as written).
    AfterUnknown(Span),
    /// `after=NAME` where NAME's line had errors or was dropped.
    AfterBroken(Span),
    /// `after=NAME` where NAME is a shutdown, ctrlaltdel or restart entry.
    AfterNotStarted {
        name: Span,
        kind: Kind,
    },
    /// This entry's `after=` closes a cycle.
    AfterCycle(Cycle),
}

/// Which value was bad, for the hint in the message.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Value {
    Duration,
    Signal,
    Umask,
    Log,
    Restart,
    Backoff,
    Ready,
    OnExit,
    Env,
    Pidfile,
}

/// Which capacity ran out.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Capacity {
    Entries,
    Env,
    After,
    Words,
    CommandBytes,
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
    pub fn message(&self, src: &[u8], w: &mut dyn Write) -> fmt::Result {
        let mut m = Msg { w, src };
        // Templates: `$` is the span's text, `#` the number, `%` the word.
        let none = Span::default();
        let (tpl, span, n, word) = match self.kind {
            ErrorKind::UnknownKind(s) => (
                "unknown kind `$` (use sysinit, wait, once, service, askfirst, shutdown, ctrlaltdel or restart)",
                s, 0, "",
            ),
            ErrorKind::MissingName(s) => ("missing name after `$`", s, 0, ""),
            ErrorKind::BadName(s) => (
                "bad name `$` (use 1 to # of A-Z a-z 0-9 _ . @ + -)",
                s, crate::MAX_NAME as u32, "",
            ),
            ErrorKind::DuplicateName { name, first_line } => (
                "duplicate name `$` (first defined on line #)",
                name, first_line, "",
            ),
            ErrorKind::UnknownOption(s) => ("unknown option `$`", s, 0, ""),
            ErrorKind::DuplicateOption(s) => ("duplicate option `$=`", s, 0, ""),
            ErrorKind::EmptyValue(s) => ("missing value for `$=`", s, 0, ""),
            ErrorKind::BadValue { what, value } => {
                let tpl = match what {
                    Value::Duration => "bad duration `$` (use 500ms, 2s, 1m)",
                    Value::Signal => "bad signal `$` (use a name like TERM or a number 1..64)",
                    Value::Umask => "bad umask `$` (use octal 0..0777, e.g. 022)",
                    Value::Log => "bad log `$` (use console, null, kmsg or an absolute path)",
                    Value::Restart => "bad restart `$` (use always, on-failure or never)",
                    Value::Backoff => {
                        "bad backoff `$` (use MIN..MAX with 0 < MIN <= MAX, e.g. 100ms..30s)"
                    }
                    Value::Ready => "bad ready `$` (use fd:N with N in 3..255)",
                    Value::OnExit => {
                        "bad on-exit `$` (use poweroff, reboot, halt, exit or exit:CODE with CODE 0..255)"
                    }
                    Value::Env => {
                        "bad env `$` (use env=KEY=VALUE, KEY of A-Z a-z 0-9 _ not starting with a digit)"
                    }
                    Value::Pidfile => "bad pidfile `$` (use an absolute path)",
                };
                (tpl, value, 0, "")
            }
            ErrorKind::TooMany { what, at_most } => {
                let tpl = match what {
                    Capacity::Entries => "too many entries (at most #)",
                    Capacity::Env => "too many `env=` options (at most #)",
                    Capacity::After => "too many `after=` options (at most #)",
                    Capacity::Words => "too many words in command (at most #)",
                    Capacity::CommandBytes => "command too long (at most # bytes)",
                };
                (tpl, none, at_most, "")
            }
            ErrorKind::EmptyCommand => ("empty command", none, 0, ""),
            ErrorKind::NulByte => ("NUL byte in a line", none, 0, ""),
            ErrorKind::UnterminatedQuote(q) => (
                "unterminated quote `%`",
                none,
                0,
                if q == b'"' { "\"" } else { "'" },
            ),
            ErrorKind::InittabFields => (
                "bad inittab line (use id:runlevels:action:process)",
                none, 0, "",
            ),
            ErrorKind::UnknownAction(s) => (
                "unknown action `$` (use sysinit, wait, once, respawn, askfirst, shutdown, restart or ctrlaltdel)",
                s, 0, "",
            ),
            ErrorKind::AfterIgnored(k) => (
                "`after=` orders only once, service and askfirst entries, not %",
                none, 0, k.as_str(),
            ),
            ErrorKind::AfterUnknown(s) => ("`after=$` names no entry", s, 0, ""),
            ErrorKind::AfterBroken(s) => ("`after=$` names an entry with errors", s, 0, ""),
            ErrorKind::AfterNotStarted { name, kind } => (
                "`after=$` names a % entry, which never starts",
                name, 0, kind.as_str(),
            ),
            ErrorKind::AfterCycle(c) => {
                m.s("`after=` cycle: ")?;
                for &n in c.names.get(..usize::from(c.len)).unwrap_or(&[]) {
                    m.t(n)?;
                    m.s(" -> ")?;
                }
                if c.more {
                    m.s("... -> ")?;
                }
                return m.t(c.names.first().copied().unwrap_or_default());
            }
        };
        for piece in tpl.split_inclusive(['$', '#', '%']) {
            let (text, hole) = match piece.as_bytes().last() {
                Some(&h @ (b'$' | b'#' | b'%')) => (piece.get(..piece.len() - 1).unwrap_or(""), h),
                _ => (piece, 0),
            };
            m.s(text)?;
            match hole {
                b'$' => m.t(span)?,
                b'#' => m.n(n)?,
                b'%' => m.s(word)?,
                _ => {}
            }
        }
        Ok(())
    }

    /// `FILE:LINE:COL: message`, then the source line and a caret under the
    /// column, as rustc prints them. Ends with a newline.
    pub fn report(&self, file: &str, src: &[u8], w: &mut dyn Write) -> fmt::Result {
        let mut m = Msg { w, src };
        m.s(file)?;
        m.s(":")?;
        m.n(self.line)?;
        m.s(":")?;
        m.n(self.col)?;
        m.s(": ")?;
        self.message(src, m.w)?;
        m.s("\n")?;
        let Some(text) = physical_line(src, self.line) else {
            return Ok(());
        };
        let width = digits(self.line) + 2;
        m.pad(width - digits(self.line))?;
        m.n(self.line)?;
        m.s(" | ")?;
        for chunk in text.utf8_chunks() {
            m.s(chunk.valid())?;
            if !chunk.invalid().is_empty() {
                m.w.write_char(char::REPLACEMENT_CHARACTER)?;
            }
        }
        m.s("\n")?;
        m.pad(width)?;
        m.s(" | ")?;
        // One blank per character before the column (tabs kept, so the caret
        // lines up in a terminal), whatever the encoding.
        let before = text
            .get(..(self.col as usize).saturating_sub(1))
            .unwrap_or(text);
        for chunk in before.utf8_chunks() {
            for c in chunk.valid().chars() {
                m.s(if c == '\t' { "\t" } else { " " })?;
            }
            if !chunk.invalid().is_empty() {
                m.s(" ")?;
            }
        }
        m.s("^\n")
    }
}

fn digits(mut n: u32) -> usize {
    let mut d = 1;
    while n >= 10 {
        n /= 10;
        d += 1;
    }
    d
}

/// Physical line `line` (1-based) without its LF or CRLF.
fn physical_line(src: &[u8], line: u32) -> Option<&[u8]> {
    let mut lines = src.split(|&b| b == b'\n');
    let text = lines.nth((line as usize).checked_sub(1)?)?;
    Some(text.strip_suffix(b"\r").unwrap_or(text))
}

/// A message being written: text, numbers and quoted source, without the
/// `core::fmt` formatter (which costs binary size).
struct Msg<'w, 's> {
    w: &'w mut dyn Write,
    src: &'s [u8],
}

impl Msg<'_, '_> {
    /// At most this many source bytes are quoted, then `...`.
    const MAX_TEXT: usize = 48;

    fn s(&mut self, s: &str) -> fmt::Result {
        self.w.write_str(s)
    }

    fn n(&mut self, mut n: u32) -> fmt::Result {
        let mut buf = [0u8; 10];
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
        let digits = buf.get(i..).unwrap_or(&[]);
        self.s(core::str::from_utf8(digits).unwrap_or("?"))
    }

    fn pad(&mut self, n: usize) -> fmt::Result {
        for _ in 0..n {
            self.w.write_char(' ')?;
        }
        Ok(())
    }

    /// Source text: printable ASCII as is, the rest escaped, long text cut.
    fn t(&mut self, span: Span) -> fmt::Result {
        let text = span.get(self.src);
        for &b in text.iter().take(Self::MAX_TEXT) {
            match b {
                b'\t' => self.w.write_str("\\t")?,
                b'\n' => self.w.write_str("\\n")?,
                b'\r' => self.w.write_str("\\r")?,
                0x20..=0x7e => self.w.write_char(char::from(b))?,
                _ => {
                    const HEX: &[u8; 16] = b"0123456789abcdef";
                    self.w.write_str("\\x")?;
                    for nibble in [b >> 4, b & 15] {
                        let h = HEX.get(usize::from(nibble)).copied().unwrap_or(b'?');
                        self.w.write_char(char::from(h))?;
                    }
                }
            }
        }
        if text.len() > Self::MAX_TEXT {
            self.w.write_str("...")?;
        }
        Ok(())
    }
}
