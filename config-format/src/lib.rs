//! foster's table format: parse an inittab-like table without allocating.
//!
//! The parser borrows nothing past the call: every string in an [`Entry`] is a
//! [`Span`] (offset and length) into the source bytes the caller keeps, so a
//! long-running init can hold a parsed [`Table`] beside its buffer with no
//! lifetimes and swap two of them on reload. Capacities are named constants;
//! running past one is a reported error at the offending position, never a panic.
#![no_std]
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

// API CONTRACT (for the helper implementing the parser): everything below marked
// `pub` is used by foster's init; keep names and signatures.

/// Entries in one table.
pub const MAX_ENTRIES: usize = 64;
/// Words in one command (after BusyBox `sh -c` expansion too).
pub const MAX_ARGS: usize = 32;
/// `env=` options on one entry.
pub const MAX_ENV: usize = 8;
/// `after=` options on one entry.
pub const MAX_AFTER: usize = 4;
/// Bytes in an entry name.
pub const MAX_NAME: usize = 32;
/// Bytes of a table file foster reads.
pub const MAX_TABLE_BYTES: usize = 32 * 1024;

/// A range of the source bytes.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Span {
    pub start: u32,
    pub len: u32,
}

impl Span {
    /// The bytes this span covers in `src` (empty if out of range).
    pub fn get<'a>(&self, src: &'a [u8]) -> &'a [u8] {
        let start = self.start as usize;
        src.get(start..start.saturating_add(self.len as usize))
            .unwrap_or(&[])
    }
}

/// An entry name: up to [`MAX_NAME`] bytes of `[A-Za-z0-9_.@+-]`, stored inline
/// (inittab entries get generated names, so names cannot always borrow).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Name {
    bytes: [u8; MAX_NAME],
    len: u8,
}

impl Name {
    /// `None` if `s` is empty, too long, or has a byte outside the name alphabet.
    pub fn new(s: &[u8]) -> Option<Name> {
        if s.is_empty() || s.len() > MAX_NAME || !s.iter().all(|&b| is_name_byte(b)) {
            return None;
        }
        let mut bytes = [0u8; MAX_NAME];
        bytes.get_mut(..s.len())?.copy_from_slice(s);
        Some(Name {
            bytes,
            len: s.len() as u8,
        })
    }
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..self.len as usize).unwrap_or(&[])
    }
    /// Names are ASCII by construction.
    pub fn as_str(&self) -> &str {
        core::str::from_utf8(self.as_bytes()).unwrap_or("?")
    }
}

pub fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'@' | b'+' | b'-')
}

/// What kind of entry a line is, and so when foster runs it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    /// Run first, in table order, each waited for.
    Sysinit,
    /// Run after every sysinit, in order, each waited for.
    Wait,
    /// Started once, not waited for.
    Once,
    /// Kept running (alias `respawn`).
    Service,
    /// A service that first waits for Enter on its tty.
    Askfirst,
    /// Run, waited, at shutdown.
    Shutdown,
    /// Run on Ctrl-Alt-Del (SIGINT to PID 1).
    CtrlAltDel,
    /// Exec'd by PID 1 on SIGQUIT.
    Restart,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Sysinit => "sysinit",
            Kind::Wait => "wait",
            Kind::Once => "once",
            Kind::Service => "service",
            Kind::Askfirst => "askfirst",
            Kind::Shutdown => "shutdown",
            Kind::CtrlAltDel => "ctrlaltdel",
            Kind::Restart => "restart",
        }
    }
    /// Kept running by default (`service`, `askfirst`).
    pub fn respawns(self) -> bool {
        matches!(self, Kind::Service | Kind::Askfirst)
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum RestartPolicy {
    Always,
    OnFailure,
    Never,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Log {
    /// Inherit foster's stdout/stderr (the console as PID 1).
    Console,
    /// /dev/null.
    Null,
    /// Lines to /dev/kmsg, prefixed with the entry name.
    Kmsg,
    /// Lines appended to a file (raw token; unquote before use).
    File(Span),
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum OnExit {
    Poweroff,
    Reboot,
    Halt,
    /// End foster (sub-init) with this status.
    Exit(u8),
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Syntax {
    Native,
    Inittab,
}

/// The command of an entry, as written.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Command {
    /// Native syntax: the raw command text (blank-separated words with `'..'`,
    /// `".."` and `\` quoting; already checked to be well-formed).
    Words(Span),
    /// BusyBox syntax: the process field without a leading `-`; `login` when it
    /// had one. Run as `/bin/sh -c "exec ..."` if it holds shell metacharacters,
    /// else split on blanks.
    Inittab { process: Span, login: bool },
}

/// Milliseconds.
pub type Millis = u64;

pub const DEFAULT_BACKOFF_MIN: Millis = 100;
pub const DEFAULT_BACKOFF_MAX: Millis = 30_000;
pub const DEFAULT_STOP_TIMEOUT: Millis = 5_000;
pub const SIGTERM: u8 = 15;

/// One line of the table. String-valued options are raw tokens (they may be
/// quoted): pass them through [`unquote`] before use.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Entry {
    pub kind: Kind,
    pub name: Name,
    pub syntax: Syntax,
    /// 1-based line of the entry's first physical line.
    pub line: u32,
    /// `tty=` (native) or the inittab id; a path, or a name under /dev/.
    pub tty: Option<Span>,
    pub user: Option<Span>,
    pub group: Option<Span>,
    pub dir: Option<Span>,
    /// `env=KEY=VALUE` tokens (the part after `env=`), in order.
    pub env: heapless::Vec<Span, MAX_ENV>,
    pub umask: Option<u16>,
    pub log: Log,
    pub restart: RestartPolicy,
    pub backoff_min: Millis,
    pub backoff_max: Millis,
    pub after: heapless::Vec<Name, MAX_AFTER>,
    /// `ready=fd:N`.
    pub ready_fd: Option<u8>,
    pub pidfile: Option<Span>,
    pub stop_signal: u8,
    pub timeout: Millis,
    pub on_exit: Option<OnExit>,
    pub command: Command,
}

/// A parsed table: the entries that parsed cleanly, in file order.
#[derive(Clone, Debug, Default)]
pub struct Table {
    pub entries: heapless::Vec<Entry, MAX_ENTRIES>,
}

impl Table {
    pub const fn new() -> Table {
        Table {
            entries: heapless::Vec::new(),
        }
    }

    /// The entry named `name`, with its index.
    pub fn get(&self, name: &[u8]) -> Option<(usize, &Entry)> {
        self.entries
            .iter()
            .enumerate()
            .find(|(_, e)| e.name.as_bytes() == name)
    }

    /// Indices in start order: sysinit (file order), wait (file order), then
    /// once/service/askfirst sorted so every entry comes after the ones its
    /// `after=` names (file order otherwise), then shutdown, ctrlaltdel and
    /// restart in file order.
    pub fn start_order(&self) -> heapless::Vec<u8, MAX_ENTRIES> {
        let mut order = heapless::Vec::new();
        let _ = order.extend_from_slice(&[]);
        order
    }
}

/// A parse error at a 1-based line and column of the source.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Error {
    pub line: u32,
    pub col: u32,
    pub kind: ErrorKind,
}

/// What went wrong; spans point at the offending text.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ErrorKind {
    Placeholder,
}

impl Error {
    /// The message alone, e.g. "unknown option `foo`".
    pub fn message(&self, src: &[u8], w: &mut dyn core::fmt::Write) -> core::fmt::Result {
        let _ = src;
        w.write_str("error")
    }

    /// `FILE:LINE:COL: message`, then the source line and a caret under the
    /// column, as rustc prints them. Ends with a newline.
    pub fn report(
        &self,
        file: &str,
        src: &[u8],
        w: &mut dyn core::fmt::Write,
    ) -> core::fmt::Result {
        write!(w, "{}:{}:{}: ", file, self.line, self.col)?;
        self.message(src, w)?;
        w.write_str("\n")
    }
}

/// Parse a whole table. Every error goes to `on_error` (bad lines are skipped,
/// the rest still parses); the table holds the entries that are clean.
pub fn parse(src: &[u8], on_error: &mut dyn FnMut(&Error)) -> Table {
    let _ = (src, on_error);
    Table::new()
}

/// BusyBox init's built-in table, used when no table file exists.
pub const BUSYBOX_DEFAULT_TABLE: &[u8] = b"::sysinit:/etc/init.d/rcS\n";

/// Remove one level of `'..'`, `".."` and `\` quoting from a raw token into
/// `out`; `None` if it does not fit.
pub fn unquote(raw: &[u8], out: &mut [u8]) -> Option<usize> {
    let dst = out.get_mut(..raw.len())?;
    dst.copy_from_slice(raw);
    Some(raw.len())
}

/// Bytes for a command's argv: every word NUL-terminated.
pub const ARGV_BYTES: usize = 4096;

/// A command ready for execve: the words, each NUL-terminated in one buffer.
pub struct Argv {
    buf: [u8; ARGV_BYTES],
    used: usize,
    /// (start, len without NUL) of each word.
    words: heapless::Vec<(u16, u16), MAX_ARGS>,
    /// The program to exec (PATH-searched when it has no `/`): usually word 0,
    /// but without the `-` of a login shell.
    program: (u16, u16),
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ArgvError {
    Empty,
    TooManyWords,
    TooLong,
}

impl Default for Argv {
    fn default() -> Self {
        Self::new()
    }
}

impl Argv {
    pub const fn new() -> Argv {
        Argv {
            buf: [0; ARGV_BYTES],
            used: 0,
            words: heapless::Vec::new(),
            program: (0, 0),
        }
    }
    pub fn len(&self) -> usize {
        self.words.len()
    }
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }
    /// Word `i` without its NUL.
    pub fn word(&self, i: usize) -> Option<&[u8]> {
        let &(s, l) = self.words.get(i)?;
        self.buf.get(s as usize..s as usize + l as usize)
    }
    /// Word `i` with its NUL.
    pub fn word_cstr(&self, i: usize) -> Option<&core::ffi::CStr> {
        let &(s, l) = self.words.get(i)?;
        let b = self.buf.get(s as usize..s as usize + l as usize + 1)?;
        core::ffi::CStr::from_bytes_with_nul(b).ok()
    }
    /// The program to exec, NUL-terminated.
    pub fn program(&self) -> Option<&core::ffi::CStr> {
        let (s, l) = self.program;
        let b = self.buf.get(s as usize..s as usize + l as usize + 1)?;
        core::ffi::CStr::from_bytes_with_nul(b).ok()
    }
}

impl Entry {
    /// The argv foster execs for this entry (BusyBox rules for inittab lines).
    pub fn argv(&self, src: &[u8], out: &mut Argv) -> Result<(), ArgvError> {
        let _ = (src, out);
        Err(ArgvError::Empty)
    }

    /// Same entry, same options, same command (by content, across two sources):
    /// on reload such an entry keeps running.
    pub fn same_as(&self, src: &[u8], other: &Entry, other_src: &[u8]) -> bool {
        let _ = (src, other, other_src);
        false
    }
}

/// `TERM`, `SIGTERM` or `15` to 15; `None` for anything else.
pub fn signal_by_name(s: &[u8]) -> Option<u8> {
    let _ = s;
    None
}

/// `15` to `"TERM"` (no `SIG` prefix); `None` for unnamed numbers.
pub fn signal_name(n: u8) -> Option<&'static str> {
    let _ = n;
    None
}

/// `500ms`, `2s`, `1m`, `1h`; a bare number is seconds.
pub fn parse_duration(s: &[u8]) -> Option<Millis> {
    let _ = s;
    None
}
