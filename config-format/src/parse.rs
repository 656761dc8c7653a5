//! Lines to entries. One pass over the source, line by line, then one pass
//! over the `after=` graph; errors go out as they are found, and a line with
//! any error is dropped whole. The grammar is documented on [`parse`].

use crate::error::{Cycle, Error, ErrorKind, Message};
use crate::lex::{is_blank, logical_end, Lexer};
use crate::{
    argv, value, Entry, Kind, Log, Name, RestartPolicy, Span, Syntax, Table, TableN, Text,
    DEFAULT_BACKOFF_MAX, DEFAULT_BACKOFF_MIN, DEFAULT_STOP_TIMEOUT, INITTAB_BACKOFF_MAX,
    INITTAB_SHUTDOWN_TIMEOUT, MAX_AFTER, MAX_ARGS, MAX_ENTRIES, MAX_ENV, MAX_NAME, MAX_VALUE,
    SIGTERM, TEXTS,
};

/// Parse a whole table. Every error goes to `on_error` (bad lines are skipped,
/// the rest still parses); the table holds the entries that are clean.
///
/// # Native lines
///
/// `<kind> <name> [key=value]... [--] command [arg]...`, split into words
/// like sh does, minus expansion:
///
/// - blanks are space, tab and CR (so CRLF files need nothing special);
/// - `\` before a newline (or at the very end) continues the line; it
///   vanishes everywhere, even inside quotes or a word (`ec\` newline `ho` is `echo`);
/// - a newline ends the line; quotes do not span lines, and an unclosed quote
///   is an error at the quote;
/// - `#` at the start of a word comments out the rest of the physical line (a
///   comment never continues); `a#b` is one word;
/// - outside quotes `\x` is `x`; `'...'` is literal; inside `"..."` only
///   `\"`, `\\`, `` \` `` and `\$` are escapes, any other `\` stays;
/// - a NUL byte anywhere on a line is an error (it could not reach `execve`).
///
/// - kind: `sysinit wait once service respawn askfirst shutdown ctrlaltdel
///   restart` (`respawn` is `service`);
/// - name: 1 to [`MAX_NAME`] bytes of `A-Z a-z 0-9 _ . @ + -`, unquoted, unique
///   in the table;
/// - options: after the name, every word that starts with `[a-z][a-z-]*=` is an
///   option, until `--` (dropped) or the first word that does not start so
///   (the command's first word). An unknown key of that shape is an error, so a
///   command that starts with `lower=...` needs `--` before it. Option values
///   may be quoted; they are checked unquoted. `env=` and `after=` repeat; any
///   other option given twice is an error. A value is at most
///   [`MAX_VALUE`] bytes once unquoted.
/// - command: at least one word; at most [`MAX_ARGS`] words and
///   [`ARGV_BYTES`](crate::ARGV_BYTES) bytes once unquoted and NUL-terminated,
///   so [`Entry::argv`] never fails for a parsed entry.
///
/// # BusyBox lines
///
/// A line whose first word (up to a blank) holds a `:` is an inittab line,
/// read as BusyBox reads it: `id:runlevels:action:process`, split at the first
/// three colons (the process keeps any later ones); `#` anywhere starts a
/// comment; a `\` before the newline continues the line; leading blanks are
/// skipped and trailing blanks dropped. Runlevels are ignored. An empty id is
/// the console (no [`Text::Tty`]), any other id is kept raw (the init prepends
/// `/dev/` unless it starts with `/`). A leading `-` on the process makes a
/// login shell. Such entries get generated names: the id without `/dev/`
/// (bytes outside the name alphabet become `_`, `console` if empty), a dot, and
/// the action as written (`tty1.respawn`, `console.sysinit`); a name already
/// taken gets `.2`, `.3`... So names are unique, and stable across reloads as
/// long as the lines before stay the same. A native line that reuses a
/// generated name is a duplicate.
///
/// # `after=`
///
/// Only `once`, `service` and `askfirst` entries take `after=` (an error on
/// other kinds); it may name any entry but shutdown, ctrlaltdel and restart
/// ones (naming a sysinit or wait entry is always met). Capacities: at most
/// [`MAX_AFTER`] per entry and `N` entries in all ([`MAX_ENTRIES`] for
/// `parse`); a line past the last is fully checked, then reported full.
///
/// Checked once every line is read: a name that is no entry, a line with
/// errors, or a shutdown/ctrlaltdel/restart entry is an error at that
/// `after=`; so is every `after=` that closes a cycle (each entry on the cycle
/// reports it). Those entries are dropped, and then every entry whose `after=`
/// names a dropped entry is dropped too, each with its own error, until none
/// is left depending on a missing entry.
pub fn parse(src: &[u8], on_error: &mut dyn FnMut(&Error)) -> Table {
    parse_n::<MAX_ENTRIES>(src, on_error)
}

/// [`parse`] into a table of capacity `N` (for benchmarks and tools; foster
/// itself uses [`parse`]).
pub fn parse_n<const N: usize>(src: &[u8], on_error: &mut dyn FnMut(&Error)) -> TableN<N> {
    let mut table = TableN::new();
    parse_into(src, &mut table, on_error);
    table
}

/// [`parse`] into a table the caller keeps (it is cleared first), so a
/// long-running init can parse into storage it reserved once instead of
/// moving a table-sized value through its stack.
pub fn parse_into<const N: usize>(
    src: &[u8],
    table: &mut TableN<N>,
    on_error: &mut dyn FnMut(&Error),
) {
    // Entry indices are `Ix`, with one value kept for "none".
    const { assert!(N < NONE as usize) };
    table.entries.clear();
    // Built here, not in the struct literal: that would build it once more
    // and copy it. From a constant: a plain zero-fill. Not at all for
    // foster's table, which is scanned.
    let mut storage;
    let index = if NameIndex::<N>::SCAN {
        None
    } else {
        storage = NameIndex::EMPTY;
        Some(&mut storage)
    };
    let mut p = Parser::<N> {
        src,
        on_error,
        table,
        index,
        failed: heapless::Vec::new(),
        line_no: 1,
        line_pos: 0,
    };
    p.lines();
    p.check_after();
}

/// Kind keywords: each kind's own name in [`Kind`] order ([`Kind::word`]
/// reads them), then the alias `respawn`.
pub(crate) const KIND_WORDS: &[u8] =
    b"sysinit wait once service askfirst shutdown ctrlaltdel restart respawn";

/// The kind `word` names; an inittab action (`inittab`) is any kind word
/// but `service` (the word of `Kind::Service`; `respawn` is another word),
/// as in BusyBox. Not inlined: both kinds of line look one up. The alias
/// apart, a match in [`Kind`] order: compiled to a bounds check, not a
/// table (one match with the alias in it compiles to a chain of compares).
#[inline(never)]
fn kind_word(word: &[u8], inittab: bool) -> Option<Kind> {
    use Kind::*;
    let i = word_pos(KIND_WORDS, word);
    if i == 8 {
        return Some(Service);
    }
    if inittab && i == Service as usize {
        return None;
    }
    Some(match i {
        0 => Sysinit,
        1 => Wait,
        2 => Once,
        3 => Service,
        4 => Askfirst,
        5 => Shutdown,
        6 => CtrlAltDel,
        7 => Restart,
        _ => return None,
    })
}

/// The options, the text ones first in [`Text`] order: an option up to
/// `log=` is stored at its own index of [`Entry::texts`].
#[derive(Clone, Copy, PartialEq, Eq)]
enum Opt {
    Tty,
    User,
    Group,
    Dir,
    Pidfile,
    Log,
    Env,
    Umask,
    Restart,
    Backoff,
    After,
    Ready,
    Stop,
    Timeout,
    OnExit,
}

// The text options sit at their own `Text` index, each one, and nothing
// else shares those indices.
const _: () = {
    assert!(Opt::Tty as usize == Text::Tty as usize);
    assert!(Opt::User as usize == Text::User as usize);
    assert!(Opt::Group as usize == Text::Group as usize);
    assert!(Opt::Dir as usize == Text::Dir as usize);
    assert!(Opt::Pidfile as usize == Text::Pidfile as usize);
    assert!(Opt::Log as usize == Text::Log as usize);
    assert!(Opt::Env as usize == Text::Log as usize + 1);
};

impl Opt {
    /// The option of index `i` in [`OPTIONS`]. A match in `Opt` order:
    /// compiled to a bounds check, not a table.
    fn at(i: usize) -> Option<Opt> {
        use Opt::*;
        Some(match i {
            0 => Tty,
            1 => User,
            2 => Group,
            3 => Dir,
            4 => Pidfile,
            5 => Log,
            6 => Env,
            7 => Umask,
            8 => Restart,
            9 => Backoff,
            10 => After,
            11 => Ready,
            12 => Stop,
            13 => Timeout,
            14 => OnExit,
            _ => return None,
        })
    }

    /// The option's bit in a set of options given, or 0 for those that
    /// repeat (`env=`, `after=`): the others are given at most once per line.
    fn mark(self) -> u16 {
        const REPEAT: u16 = (1 << Opt::Env as u16) | (1 << Opt::After as u16);
        (1 << self as u16) & !REPEAT
    }
}

/// Option keys, in [`Opt`] order ([`Opt::at`]).
const OPTIONS: &[u8] =
    b"tty user group dir pidfile log env umask restart backoff after ready stop timeout on-exit";

/// The value `words` (blank-separated) pairs with `key` in `values`.
pub(crate) fn lookup<T: Copy>(words: &[u8], values: &[T], key: &[u8]) -> Option<T> {
    values.get(word_pos(words, key)).copied()
}

/// The position of `key` among blank-separated `words` (the init's word
/// lists use it too), or `None`.
pub fn word_index(words: &[u8], key: &[u8]) -> Option<usize> {
    let i = word_pos(words, key);
    (i != NOT_FOUND).then_some(i)
}

/// [`word_pos`] when `key` is none of the words: past any index, so a
/// `match` or `get` on the index needs no test of its own for it.
pub(crate) const NOT_FOUND: usize = usize::MAX;

/// The position of `key` among blank-separated `words`, or [`NOT_FOUND`].
/// One pass over the list: every option of every line is looked up here,
/// so a rescan per word showed in the parse time. Measured: a call to
/// [`next_piece`] per word, rather than this loop, cost 3% of the parse's
/// instructions and 16 B more code.
#[inline(never)]
pub(crate) fn word_pos(words: &[u8], key: &[u8]) -> usize {
    let mut rest = words;
    let mut i = 0;
    loop {
        // The word's end: the next blank, or the list's end.
        let n = rest.iter().position(|&b| b == b' ').unwrap_or(rest.len());
        // Compared in place, not by `==`: its call to `memcmp` per word
        // of the key's length cost more than the bytes compared
        // (measured: 1.4% of the parse's instructions).
        if n == key.len() && rest.iter().zip(key).all(|(a, b)| a == b) {
            return i;
        }
        let Some(next) = rest.get(n + 1..) else {
            return NOT_FOUND;
        };
        rest = next;
        i += 1;
    }
}

/// The next piece of `rest` up to `sep` (as `split` yields them: a trailing
/// `sep` leaves one empty piece), or `None` when all were taken.
/// One small loop shared by every scan (the init's too), instead of an
/// inlined `split` each.
#[inline(never)]
pub fn next_piece<'a>(rest: &mut Option<&'a [u8]>, sep: u8) -> Option<&'a [u8]> {
    let s = (*rest)?;
    match s.iter().position(|&b| b == sep) {
        Some(i) => {
            *rest = s.get(i + 1..);
            s.get(..i)
        }
        None => {
            *rest = None;
            Some(s)
        }
    }
}

/// Piece `i` (0-based) of `s` split at `sep`, as `split(..).nth(i)` (with
/// `sep` a blank: word `i` of a word list, the reverse of [`word_index`]).
#[inline(never)]
pub fn nth_piece(s: &[u8], sep: u8, i: usize) -> Option<&[u8]> {
    let mut rest = Some(s);
    let mut piece = next_piece(&mut rest, sep);
    for _ in 0..i {
        piece = next_piece(&mut rest, sep);
    }
    piece
}

/// Applies one option to `e`; `value` is the raw value, `val` the unquoted one.
/// A refused option comes back as its error's message, which
/// [`Parser::option_error`] reports.
#[inline(never)]
fn option(e: &mut Entry, opt: Opt, value: Span, val: &Val) -> Result<(), Message> {
    // The init copies values into buffers of this size: a longer one would
    // be dropped there (a service run without its `user=`), so it is refused.
    let Some(v) = val.bytes() else {
        return Err(Message::ValueTooLong);
    };
    // The other kinds run once at their moment: no restart to shape, no
    // start to order. One test for the three options, not one each.
    const ORDERED: u16 =
        (1 << Opt::Restart as u16) | (1 << Opt::Backoff as u16) | (1 << Opt::After as u16);
    if ORDERED >> opt as u16 & 1 != 0
        && !matches!(e.kind, Kind::Once | Kind::Service | Kind::Askfirst)
    {
        return Err(Message::NotForKind);
    }
    match opt {
        Opt::Pidfile if v.first().is_some_and(|&b| b != b'/') => {
            return Err(Message::BadPidfile);
        }
        // Only a path is kept as text.
        Opt::Log => {
            e.log = value::log(v).ok_or(Message::BadLog)?;
            if e.log != Log::File {
                return Ok(());
            }
        }
        Opt::Env => {
            if value::key_end(v, true).is_none() {
                return Err(Message::BadEnv);
            }
            return e.env.push(value).map_err(|_| Message::TooManyEnv);
        }
        Opt::After => {
            if !Name::valid(v) {
                return Err(Message::BadName);
            }
            // Unused slots hold an empty name: the bytes go straight in.
            let slot = e.after.push_slot().ok_or(Message::TooManyAfter)?;
            slot.push(v);
            return Ok(());
        }
        _ if opt as usize > Opt::Log as usize => {
            let what = VALUES.get(opt as usize).copied().unwrap_or(Message::BadEnv);
            return read_value(e, opt, v).ok_or(what);
        }
        _ => {}
    }
    // A text option: the raw token, never empty once set.
    if val.len == 0 {
        return Err(Message::EmptyValue);
    }
    if let Some(slot) = e.texts.get_mut(opt as usize) {
        *slot = value;
    }
    Ok(())
}

/// What each [`Opt`] reads, in [`Opt`] order, for [`read_value`]'s errors
/// (the options it does not read have `BadEnv`, never used). A byte table
/// rather than an error per reader: smaller code.
const VALUES: [Message; 15] = [
    Message::BadEnv,
    Message::BadEnv,
    Message::BadEnv,
    Message::BadEnv,
    Message::BadEnv,
    Message::BadEnv,
    Message::BadEnv,
    Message::BadUmask,
    Message::BadRestart,
    Message::BadBackoff,
    Message::BadEnv,
    Message::BadReady,
    Message::BadSignal,
    Message::BadDuration,
    Message::BadOnExit,
];

/// Reads a value option into `e`; `None` if `v` is not a valid value.
fn read_value(e: &mut Entry, opt: Opt, v: &[u8]) -> Option<()> {
    match opt {
        Opt::Umask => e.umask = value::umask(v)?,
        Opt::Restart => e.restart = value::restart(v)?,
        Opt::Backoff => (e.backoff_min, e.backoff_max) = value::backoff(v)?,
        Opt::Ready => e.ready_fd = value::ready(v)?,
        Opt::Stop => e.stop_signal = value::signal_by_name(v)?,
        Opt::Timeout => e.timeout = value::parse_duration(v)?,
        Opt::OnExit => (e.on_exit, e.exit_code) = value::on_exit(v)?,
        _ => return None,
    }
    Some(())
}

/// An unquoted option value: its bytes and length, or a length past `CAP`
/// when it does not fit.
struct Val {
    buf: [u8; Val::CAP],
    len: usize,
}

impl Val {
    const CAP: usize = MAX_VALUE;
    fn bytes(&self) -> Option<&[u8]> {
        self.buf.get(..self.len)
    }
}

/// `repr(C)` with the small, often-used fields first: they sit within a
/// one-byte displacement of `self`, the big arrays after them. Nothing is
/// kept per entry but its name index: the few spans that errors found after
/// the last line quote are read again from the entry's line
/// ([`Parser::line_word`]), so the parser's stack frame stays small.
#[repr(C)]
struct Parser<'a, 'e, 't, 'i, const N: usize> {
    src: &'a [u8],
    on_error: &'e mut dyn FnMut(&Error),
    table: &'t mut TableN<N>,
    /// The line being read: its 1-based number and where it starts.
    line_no: u32,
    line_pos: usize,
    /// `None` for tables small enough to scan ([`NameIndex::SCAN`]).
    index: Option<&'i mut NameIndex<N>>,
    /// Names of native lines dropped for errors, so `after=` can say so.
    failed: heapless::Vec<Span, MAX_ENTRIES>,
}

/// The span `start..end`. Every caller has `start <= end` (a word's or a
/// field's bounds, in order), so a plain difference; were one ever reversed,
/// the span would reach past the source, and [`Span::get`] gives no bytes.
fn span(start: usize, end: usize) -> Span {
    Span {
        start: start as u32,
        len: end.wrapping_sub(start) as u32,
    }
}

/// Line and column of `off`, counting from a known line start. Newline to
/// newline, a tight search for each rather than a test per byte: every
/// line's bytes pass through here once, and that byte loop was 9% of the
/// parse's instructions.
fn position(src: &[u8], mut line: u32, start: usize, off: usize) -> (u32, u32) {
    let mut rest = src.get(start..off.min(src.len())).unwrap_or_default();
    while let Some(i) = rest.iter().position(|&b| b == b'\n') {
        line += 1;
        rest = rest.get(i + 1..).unwrap_or_default();
    }
    (line, rest.len() as u32 + 1)
}

impl<const N: usize> Parser<'_, '_, '_, '_, N> {
    /// Reports the option word whose key is `key` (it starts the word) and
    /// value `value` with message `msg`, on a line of kind `kind`: at the
    /// word, or at the value when the value is what is wrong.
    #[inline(never)]
    fn option_error(&mut self, msg: Message, key: Span, value: Span, kind: Kind) {
        let (at, text) = match msg {
            Message::UnknownOption | Message::DuplicateOption | Message::NotForKind => {
                (key.start, key)
            }
            Message::EmptyValue => (value.start, key),
            Message::TooManyEnv | Message::TooManyAfter | Message::ValueTooLong => {
                (key.start, Span::default())
            }
            // The values that do not read, and a bad `after=` name.
            _ => (value.start, value),
        };
        // Only an option on a kind that does not take it names the kind.
        let kind = (msg == Message::NotForKind).then_some(kind);
        self.report(at as usize, msg, text, kind);
    }

    /// An error at `off` whose message quotes no text (most show no number
    /// either, or one [`Parser::err`] knows).
    #[inline(never)]
    fn plain(&mut self, off: usize, msg: Message) {
        self.err(off, msg, Span::default());
    }

    /// An error at `off` whose message quotes `text` and shows no number
    /// but a limit: the "too many" messages show their capacity and
    /// [`Message::BadName`] the longest name, so their callers need not
    /// pass them.
    #[inline(never)]
    fn err(&mut self, off: usize, msg: Message, text: Span) {
        self.report(off, msg, text, None);
    }

    /// [`Parser::err`], with the kind the message names. (The one message
    /// with a number of its own, a duplicate name's first line, is built
    /// by its caller: a sixth argument would go on the stack at every
    /// call.)
    #[inline(never)]
    fn report(&mut self, off: usize, msg: Message, text: Span, kind: Option<Kind>) {
        // The limit each message shows, in `Message` order from `BadName`
        // (a constant table; `N` is below `u16::MAX`, see `parse_into`).
        let limits: &[u16; 7] = const {
            &[
                MAX_NAME as u16,
                N as u16,
                MAX_ENV as u16,
                MAX_AFTER as u16,
                MAX_ARGS as u16,
                argv::ARGV_BYTES as u16,
                MAX_VALUE as u16,
            ]
        };
        // Past the table's end for the messages before `BadName`.
        let n = limits
            .get((msg as usize).wrapping_sub(Message::BadName as usize))
            .map_or(0, |&l| u32::from(l));
        self.error(
            off,
            &mut unplaced(ErrorKind::Message { msg, text, n, kind }),
        );
    }

    /// Reports `error` at offset `off` of the source (its line and column
    /// are set here). By reference: the caller builds the error in place,
    /// where an `ErrorKind` passed in was copied into one.
    #[inline(never)]
    fn error(&mut self, off: usize, error: &mut Error) {
        (error.line, error.col) = position(self.src, self.line_no, self.line_pos, off);
        (self.on_error)(error);
    }

    fn lines(&mut self) {
        let src = self.src;
        let mut pos = 0;
        // One buffer for every option value of every line: each read sets
        // `len`, and nothing past it is looked at. Zeroed once, not per line
        // (measured: 1.8% of the parse's instructions).
        let mut val = Val {
            buf: [0; Val::CAP],
            len: 0,
        };
        while pos < src.len() {
            self.line_pos = pos;
            let end = self.line(pos, &mut val);
            // The next line's number: `end` is a newline (or the source
            // ends there, and so does the loop).
            pos = end + 1;
            (self.line_no, _) = position(src, self.line_no, self.line_pos, pos);
        }
    }

    /// Reads the line at `start` (option values go through `val`, the
    /// buffer every line shares); returns the offset of its final newline
    /// (or the end of the source). Not inlined (measured smaller): the per-line
    /// code reaches the parser through a register, and `native`, inlined
    /// here, has no other caller.
    #[inline(never)]
    fn line(&mut self, start: usize, val: &mut Val) -> usize {
        let src = self.src;
        let mut lx = Lexer::new(src, start, src.len());
        if !lx.word_start() {
            return lx.pos;
        }
        let first = lx.pos;
        // A NUL cannot reach execve, so no word may hold one. The line
        // goes on past the first, and past any other.
        let mut nul = None;
        let mut end = first;
        loop {
            end = logical_end(src, end);
            if src.get(end) != Some(&0) {
                break;
            }
            nul = nul.or(Some(end));
            end += 1;
        }
        if let Some(nul) = nul {
            self.plain(nul, Message::NulByte);
            return end;
        }
        // An inittab line: its first word (up to a blank) holds a `:`. (A
        // plain loop: smaller than `take_while` and `any`.)
        let mut i = first;
        let inittab = loop {
            match src.get(i) {
                Some(b':') => break true,
                Some(&b) if !is_blank(b) && b != b'\n' => i += 1,
                _ => break false,
            }
        };
        if inittab {
            return self.inittab(first, end);
        }
        self.native(&mut lx, val)
    }

    /// The unquoted length of the word at `lx.pos` (its raw extent is left
    /// in `lx`, its unquoted bytes in `out` as far as they fit); on an
    /// unterminated quote, reports it (`lx` is then at the newline).
    #[inline(never)]
    fn word(&mut self, lx: &mut Lexer<'_>, out: &mut [u8]) -> Option<usize> {
        match lx.word(out) {
            Ok(len) => Some(len),
            Err(u) => {
                self.err(u.at, Message::UnterminatedQuote, span(u.at, u.at + 1));
                None
            }
        }
    }

    fn native(&mut self, lx: &mut Lexer<'_>, val: &mut Val) -> usize {
        let src = self.src;
        let kind_at = lx.pos;
        if self.word(lx, &mut []).is_none() {
            return lx.pos;
        }
        let kind_span = span(lx.word_at, lx.word_end);
        let Some(kind) = kind_word(kind_span.get(src), false) else {
            self.err(kind_at, Message::UnknownKind, kind_span);
            lx.skip_line();
            return lx.pos;
        };
        if !lx.word_start() {
            self.err(lx.pos, Message::MissingName, kind_span);
            return lx.pos;
        }
        let name_at = lx.pos;
        if self.word(lx, &mut []).is_none() {
            return lx.pos;
        }
        let name_span = span(lx.word_at, lx.word_end);
        let name = name_span.get(src);
        // `service -- cmd` is a name forgotten, not one spelt `--`.
        let bad = match name {
            b"--" => Some((Message::MissingName, kind_span)),
            _ if !Name::valid(name) => Some((Message::BadName, name_span)),
            _ => None,
        };
        if let Some((msg, text)) = bad {
            self.err(name_at, msg, text);
            lx.skip_line();
            return lx.pos;
        }
        // Taken by an entry, or by a line dropped for its errors (else the
        // duplicate would show only once that line is fixed).
        let first_line = match self.find(name) {
            Some((_, first)) => Some(first.line),
            None => self
                .failed(name)
                .map(|at| position(src, 1, 0, at as usize).0),
        };
        let mut ok = true;
        if let Some(first_line) = first_line {
            let kind = ErrorKind::Message {
                msg: Message::DuplicateName,
                text: name_span,
                n: first_line,
                kind: None,
            };
            self.error(name_at, &mut unplaced(kind));
            ok = false;
        }
        // The name goes into its place, not through a `Name` moved there.
        let mut e = self.default_entry(kind, Syntax::Native, kind_at);
        e.name.push(name);
        let mut seen = 0u16;

        // The line is clean if it gets through to the table.
        let clean = 'line: {
            // Options.
            let mut has_command = false;
            let mut last_end = lx.word_end;
            while lx.word_start() {
                let start = lx.pos;
                // An option key has nothing to unquote (`[a-z][a-z-]*` up to
                // `=`, found in the source as in the word): only the value
                // is lexed, unquoted into `val` at once (measured: lexing
                // the word, then its value again, cost 6% of the parse's
                // instructions).
                let eq = value::key_end(src.get(start..).unwrap_or_default(), false);
                let out: &mut [u8] = match eq {
                    Some(eq) => {
                        lx.pos = start + eq + 1;
                        &mut val.buf
                    }
                    None => &mut [],
                };
                let Some(len) = self.word(lx, out) else {
                    break 'line false;
                };
                let end = lx.word_end;
                last_end = end;
                let Some(eq) = eq else {
                    if span(start, end).get(src) == b"--" {
                        has_command = lx.word_start();
                    } else {
                        lx.pos = start;
                        has_command = true;
                    }
                    break;
                };
                val.len = len;
                let key = span(start, start + eq);
                let value = span(start + eq + 1, end);
                let result = match Opt::at(word_pos(OPTIONS, key.get(src))) {
                    None => Err(Message::UnknownOption),
                    // Only the options given at most once leave a mark.
                    Some(opt) if seen & opt.mark() != 0 => Err(Message::DuplicateOption),
                    Some(opt) => {
                        seen |= opt.mark();
                        option(&mut e, opt, value, val)
                    }
                };
                if let Err(msg) = result {
                    self.option_error(msg, key, value, kind);
                    ok = false;
                }
            }

            // Command.
            if !has_command {
                // Right after the last word: where the command should have been.
                self.plain(last_end, Message::EmptyCommand);
                break 'line false;
            }
            let cmd_start = lx.pos;
            let mut cmd_end = cmd_start;
            let mut words = 0usize;
            let mut bytes = 0usize;
            while lx.word_start() {
                let Some(len) = self.word(lx, &mut []) else {
                    break 'line false;
                };
                words += 1;
                if words == MAX_ARGS + 1 {
                    self.plain(lx.word_at, Message::TooManyWords);
                    ok = false;
                }
                bytes += len + 1;
                cmd_end = lx.word_end;
            }
            if bytes > argv::ARGV_BYTES {
                self.plain(cmd_start, Message::CommandTooLong);
                ok = false;
            }
            if let Some(command) = e.texts.get_mut(Text::Command as usize) {
                *command = span(cmd_start, cmd_end);
            }
            ok && self.push(&e, kind_at)
        };
        // Every way the line fails ends here: its name is noted as dropped.
        if !clean {
            let _ = self.failed.push(name_span);
        }
        lx.pos
    }

    /// Where a native line dropped for its errors has the name `name`.
    #[inline(never)]
    fn failed(&self, name: &[u8]) -> Option<u32> {
        for s in &self.failed {
            if s.get(self.src) == name {
                return Some(s.start);
            }
        }
        None
    }

    /// An entry with every default and an empty name (filled in place
    /// after), on the line of offset `at`: [`ZEROED`] with the defaults
    /// that are not zero stored over it. Not inlined: both kinds of line
    /// build one, straight into the caller's entry.
    #[inline(never)]
    fn default_entry(&self, kind: Kind, syntax: Syntax, at: usize) -> Entry {
        let (line, _) = position(self.src, self.line_no, self.line_pos, at);
        let mut e = ZEROED;
        e.kind = kind;
        e.syntax = syntax;
        e.line = line;
        e.umask = crate::NO_UMASK;
        e.restart = default_restart(kind);
        e.backoff_min = DEFAULT_BACKOFF_MIN;
        e.backoff_max = DEFAULT_BACKOFF_MAX;
        e.stop_signal = SIGTERM;
        e.timeout = DEFAULT_STOP_TIMEOUT;
        e.on_exit = crate::OnExit::Nothing;
        e
    }

    /// The entry named `name`, with its index. (`index` is `None` exactly
    /// when `SCAN`; testing the constant too leaves the index's code out
    /// of the binaries that never build one.)
    fn find(&self, name: &[u8]) -> Option<(usize, &Entry)> {
        match &self.index {
            Some(index) if !NameIndex::<N>::SCAN => {
                let i = index.find(self.table, name)?;
                Some((i, self.table.entries.get(i)?))
            }
            _ => self.table.get(name),
        }
    }

    /// Adds a clean entry; false (and an error at `line_at`) when the table is full.
    /// By reference: an `Entry` passed by value is copied once more first.
    fn push(&mut self, e: &Entry, line_at: usize) -> bool {
        let i = self.table.entries.len();
        let hash = NameIndex::<N>::hash(e.name.as_bytes());
        // Checked first: `push` hands a rejected entry back, and testing
        // that result costs more code than this.
        if self.table.entries.is_full() {
            self.plain(line_at, Message::TooManyEntries);
            return false;
        }
        let _ = self.table.entries.push(e.clone());
        // The constant too, as in `find`.
        if let Some(index) = self.index.as_mut().filter(|_| !NameIndex::<N>::SCAN) {
            index.insert(hash, i);
        }
        true
    }

    /// The inittab line from `first` (its first word) to `end` (its logical
    /// end, as [`Parser::line`] found it); returns `end`.
    #[inline(never)]
    fn inittab(&mut self, first: usize, end: usize) -> usize {
        let src = self.src;
        // One pass up to a `#`: the first three colons (the process keeps
        // any later ones), and where the content ends without its trailing
        // blanks.
        let mut colons = [0; 3];
        let mut found = 0;
        let mut content_end = first;
        // Up to `end`, in bounds (`end` is at most the source's length):
        // no test per byte.
        let line = src.get(..end).unwrap_or(src);
        for i in first..line.len() {
            let b = get(line, i);
            if b == b'#' {
                break;
            }
            if b == b':' {
                if let Some(c) = colons.get_mut(found) {
                    *c = i;
                    found += 1;
                }
            }
            if !is_blank(b) {
                content_end = i + 1;
            }
        }
        let [c1, c2, c3] = colons;
        if found < 3 {
            self.plain(first, Message::InittabFields);
            return end;
        }
        let action = span(c2 + 1, c3);
        let Some(kind) = kind_word(action.get(src), true) else {
            self.err(c2 + 1, Message::UnknownAction, action);
            return end;
        };
        let mut process = c3 + 1;
        let login = src.get(process) == Some(&b'-');
        if login {
            process += 1;
        }
        let process = span(process, content_end);
        // Split as `Entry::argv` will, counting only.
        let mut size = argv::Split::new(&mut [], &mut []);
        argv::split_inittab(process.get(src), login, &mut size);
        if size.n == 0 {
            self.plain(c3 + 1, Message::EmptyCommand);
            return end;
        }
        if size.n as usize > MAX_ARGS {
            // Past `MAX_ARGS` words, the extra one's offset is set.
            self.plain(
                process.start as usize + size.extra as usize,
                Message::TooManyWords,
            );
            return end;
        }
        if size.used as usize > argv::ARGV_BYTES {
            self.plain(c3 + 1, Message::CommandTooLong);
            return end;
        }
        let id = span(first, c1);
        let mut e = self.default_entry(kind, Syntax::Inittab, first);
        if !self.inittab_name(&mut e.name, id.get(src), action.get(src)) {
            self.plain(first, Message::TooManyEntries);
            return end;
        }
        // An empty id stays unset: the console.
        if let Some(tty) = e.texts.get_mut(Text::Tty as usize) {
            *tty = id;
        }
        if let Some(command) = e.texts.get_mut(Text::Command as usize) {
            *command = process;
        }
        e.login = login;
        e.backoff_max = INITTAB_BACKOFF_MAX;
        if kind == Kind::Shutdown {
            e.timeout = INITTAB_SHUTDOWN_TIMEOUT;
        }
        self.push(&e, first);
        end
    }

    /// `<id>.<action>`, then `.2`, `.3`... until the name is free, into
    /// `name` (empty before; written in place, not returned: a `Name` comes
    /// back through memory and is copied once more). False if none is free.
    fn inittab_name(&mut self, name: &mut Name, id: &[u8], action: &[u8]) -> bool {
        const SUFFIX: usize = 4; // ".999"
        let id = value::strip(id, b"/dev/").unwrap_or(id);
        let id: &[u8] = if id.is_empty() { b"console" } else { id };
        let room = MAX_NAME - 1 - action.len() - SUFFIX;
        // The id's bytes outside the name alphabet become `_` (as `push`
        // writes them); an action is a kind word: the result is a valid
        // name.
        name.push(id.get(..room).unwrap_or(id));
        name.push(b".");
        name.push(action);
        let base = name.len;
        // Where the index's suffix hint says to start (as in `find`, the
        // constant leaves it out of the binaries that have no index).
        let (hash, first) = match &self.index {
            Some(index) if !NameIndex::<N>::SCAN => {
                let hash = NameIndex::<N>::hash(name.as_bytes()) as u32;
                (hash, index.first_suffix(hash))
            }
            _ => (0, 1),
        };
        // Each suffix tried is at least as long as the one before, so the
        // bytes past `len` stay zero, as `Name`'s derived `==` needs.
        for k in first..1000u32 {
            name.len = base;
            if k > 1 {
                name.push(b".");
                name.push(crate::error::decimal(u64::from(k), &mut [0; 20]));
            }
            if self.find(name.as_bytes()).is_none() {
                // Only a base seen before is noted: a first one (most ids
                // are unique) would push a repeated base's hint out of its
                // slot, and that base's next line would try every suffix
                // again from the bare base (measured: 2.5 lookups per
                // inittab line of the benchmark table instead of 1).
                if let Some(index) = self
                    .index
                    .as_mut()
                    .filter(|_| !NameIndex::<N>::SCAN && k > 1)
                {
                    index.taken_suffix(hash, k);
                }
                return true;
            }
        }
        false
    }

    /// Resolves every `after=`, reports unknown names and cycles, and drops the
    /// entries concerned and, transitively, the entries that depend on them.
    /// Not inlined (measured smaller): the graph lives in this frame only.
    #[inline(never)]
    fn check_after(&mut self) {
        // Every line is read by now: errors are positioned from the source's
        // start.
        self.line_no = 1;
        self.line_pos = 0;
        // At most `N` (as it is): loops up to it need no bounds checks.
        let n = self.table.entries.len().min(N);
        let mut g = Graph::<N> {
            state: [0; N],
            stack: [0; N],
            tried: [0; N],
            deps: [[0; MAX_AFTER]; N],
        };
        // Filled afterwards: an all-zero literal is cleared in place, while
        // `[[NONE; MAX_AFTER]; N]` in it was built apart and then copied.
        g.deps.as_flattened_mut().fill(NONE);
        // 1. Names that resolve to nothing usable.
        // One loop over every (entry, `after=`) pair, in order.
        for ik in 0..n * MAX_AFTER {
            let (i, k) = (ik / MAX_AFTER, ik % MAX_AFTER);
            // Every slot: an unused one holds an empty name.
            let Some(name) = self
                .table
                .entries
                .get(i)
                .and_then(|e| e.after.padded().get(k))
            else {
                continue;
            };
            let name = name.as_bytes();
            if name.is_empty() {
                continue;
            }
            let found = self.find(name);
            let kind = found.map(|(_, d)| d.kind);
            let msg = match kind {
                Some(Kind::Shutdown | Kind::CtrlAltDel | Kind::Restart) => Message::AfterNotStarted,
                Some(_) => {
                    if let Some(d) = g.deps.as_flattened_mut().get_mut(ik) {
                        *d = found.map_or(NONE, |(j, _)| j as Ix);
                    }
                    continue;
                }
                None if self.failed(name).is_some() => Message::AfterBroken,
                None => Message::AfterUnknown,
            };
            // The kind only for a never started entry (the others have none).
            self.drop_after(&mut g, i, k, msg, kind);
        }
        // 2. Cycles, by depth-first search over the entries not yet dropped.
        for root in 0..n {
            if g.bits(root) & (DROPPED | SEEN) == 0 {
                self.search(&mut g, root);
            }
        }
        // 3. Entries that depend on dropped ones (cycles included: `GONE`),
        // until nothing changes.
        const GONE: u8 = DROPPED | IN_CYCLE;
        let mut changed = true;
        while changed {
            changed = false;
            for i in 0..n {
                if g.bits(i) & GONE != 0 {
                    continue;
                }
                // The first `after=` that names a gone entry (`NONE` is
                // past every entry: its bits read as none set). A plain
                // loop: smaller than `position`.
                let deps = get(&g.deps, i);
                let mut k = 0;
                while k < MAX_AFTER && g.bits(usize::from(get(&deps, k))) & GONE == 0 {
                    k += 1;
                }
                if k < MAX_AFTER {
                    self.drop_after(&mut g, i, k, Message::AfterBroken, None);
                    changed = true;
                }
            }
        }
        // Compacted by hand (`retain` costs more code): each kept entry
        // is copied over the first dropped one before it, so the kept ones
        // stay in file order (what is left past them is cut off after).
        let entries = &mut self.table.entries;
        let mut kept = 0;
        for i in 0..n {
            if g.bits(i) & GONE == 0 {
                if let Some((before, from)) = entries.split_at_mut_checked(i) {
                    if let (Some(to), Some(e)) = (before.get_mut(kept), from.first()) {
                        to.clone_from(e);
                    }
                }
                kept += 1;
            }
        }
        entries.truncate(kept);
    }

    /// The search from `root`. The path is kept in `g.stack` and each entry's
    /// next `after=` in `g.tried`, not in recursion, so a long chain of
    /// `after=` costs no stack.
    fn search(&mut self, g: &mut Graph<N>, root: usize) {
        let mut depth = 0;
        g.enter(depth, root);
        loop {
            let node = usize::from(get(&g.stack, depth));
            let k = usize::from(get(&g.tried, node));
            if let Some(t) = g.tried.get_mut(node) {
                *t += 1;
            }
            let next = get(&g.deps, node).get(k).copied().unwrap_or(NONE);
            if next == NONE {
                // Every `after=` of `node` followed (the unused slots are
                // the last: an entry still here had each one resolved, in
                // order): back up the path.
                if let Some(s) = g.state.get_mut(node) {
                    *s &= !ON_PATH;
                }
                if depth == 0 {
                    return;
                }
                depth -= 1;
                continue;
            }
            let next = usize::from(next);
            let bits = g.bits(next);
            if bits & (DROPPED | SEEN) == 0 {
                depth += 1;
                g.enter(depth, next);
            } else if bits & (DROPPED | ON_PATH) == ON_PATH {
                // A back edge: the cycle is the path from `next` down here.
                // `next` is on the path, where it first stands in `stack`
                // (an entry is on it once; the stale slots come after it).
                let on_path = g.stack.iter().position(|&s| usize::from(s) == next);
                let from = on_path.unwrap_or(depth);
                self.report_cycle(g, from, depth + 1 - from);
            }
        }
    }

    /// One error per entry on the cycle of `len` entries at `g.stack[from..]`
    /// (path order: each depends on the next, the last on the first), each
    /// naming the cycle from itself.
    #[inline(never)]
    fn report_cycle(&mut self, g: &mut Graph<N>, from: usize, len: usize) {
        let on_path = |g: &Graph<N>, r: usize| usize::from(get(&g.stack, from + r));
        for r in 0..len {
            let me = on_path(g, r);
            match g.state.get_mut(me) {
                Some(s) if *s & IN_CYCLE == 0 => *s |= IN_CYCLE,
                _ => continue,
            }
            // From a constant, filled in place (a literal array, or a
            // cycle moved into the error, is built apart and copied).
            let mut error = unplaced(ErrorKind::AfterCycle(NO_CYCLE));
            let ErrorKind::AfterCycle(c) = &mut error.kind else {
                continue;
            };
            c.more = len > Cycle::SHOWN;
            // Round the cycle from `me`, back to the path's start past its end.
            let mut k = r;
            for slot in c.names.iter_mut().take(len) {
                // The name is the line's second word.
                *slot = self.line_word(on_path(g, k), 1, b"");
                c.len += 1;
                k += 1;
                if k == len {
                    k = 0;
                }
            }
            // The `after=` the search follows from `me`: the one that
            // points at the next entry on the cycle (the first such: the
            // search follows each entry's in order).
            let k = usize::from(get(&g.tried, me)).saturating_sub(1);
            let at = self.after_word(me, k).start;
            self.error(at as usize, &mut error);
        }
    }

    /// Entry `i`'s `k`th `after=` word (its errors point at its start).
    fn after_word(&self, i: usize, k: usize) -> Span {
        self.line_word(i, k, b"after=")
    }

    /// Word `nth` among the words of entry `i`'s line that start with
    /// `prefix` (the whole word). Only errors found once every line is read
    /// need such spans, so they are read again from the source rather
    /// than kept for every entry. Only for native entries, whose line is
    /// clean (the only kind with `after=`).
    #[inline(never)]
    fn line_word(&self, i: usize, mut nth: usize, prefix: &[u8]) -> Span {
        let src = self.src;
        let line = self.table.entries.get(i).map_or(1, |e| e.line);
        // The entry's first word is the first on its physical line.
        let start = crate::error::line_start(src, line).unwrap_or(0);
        let mut lx = Lexer::new(src, start, src.len());
        while lx.word_start() {
            if lx.word(&mut []).is_err() {
                break;
            }
            let (start, end) = (lx.word_at, lx.word_end);
            // `strip_prefix`, not `starts_with`: the binary has it already.
            if span(start, end).get(src).strip_prefix(prefix).is_some() {
                if nth == 0 {
                    return span(start, end);
                }
                nth -= 1;
            }
        }
        Span::default()
    }

    /// Reports entry `i`'s `k`th `after=` (at it, quoting its value) and
    /// drops the entry.
    #[inline(never)]
    fn drop_after(
        &mut self,
        g: &mut Graph<N>,
        i: usize,
        k: usize,
        msg: Message,
        kind: Option<Kind>,
    ) {
        let word = self.after_word(i, k);
        let key = b"after=".len() as u32;
        let value = Span {
            start: word.start + key,
            len: word.len.saturating_sub(key),
        };
        self.report(word.start as usize, msg, value, kind);
        g.mark(i, DROPPED);
    }
}

/// An error of `kind` that [`Parser::error`] has yet to place (set its
/// line and column).
fn unplaced(kind: ErrorKind) -> Error {
    Error {
        line: 0,
        col: 0,
        kind,
    }
}

fn get<T: Copy + Default>(a: &[T], i: usize) -> T {
    a.get(i).copied().unwrap_or_default()
}

/// A cycle with no names yet.
const NO_CYCLE: Cycle = Cycle {
    names: [Span { start: 0, len: 0 }; Cycle::SHOWN],
    len: 0,
    more: false,
};

/// An entry index in the `after=` graph and the name index: tables hold
/// fewer than [`NONE`] entries (checked at compile time in [`parse_into`]).
type Ix = u16;

/// No `after=` target (an unused slot, or a name that did not resolve).
const NONE: Ix = Ix::MAX;
/// [`Graph::state`] bits: dropped for a bad `after=`; on a reported cycle;
/// reached by the search; on the search's current path.
const DROPPED: u8 = 1;
const IN_CYCLE: u8 = 2;
const SEEN: u8 = 4;
const ON_PATH: u8 = 8;

/// The `after=` graph while it is checked. `repr(C)`, the most used arrays
/// first: for `N` = [`MAX_ENTRIES`], `state` and `stack` start within a
/// one-byte displacement of the graph's address.
#[repr(C)]
struct Graph<const N: usize> {
    state: [u8; N],
    /// The search's path from its root.
    stack: [Ix; N],
    /// Per entry: how many of its `after=` slots the search has taken up
    /// (the one it follows now is the last of them).
    tried: [u8; N],
    /// Per entry: the entry each `after=` names, or [`NONE`].
    deps: [[Ix; MAX_AFTER]; N],
}

impl<const N: usize> Graph<N> {
    fn bits(&self, i: usize) -> u8 {
        get(&self.state, i)
    }

    /// Not inlined: the checks run in several places.
    #[inline(never)]
    fn mark(&mut self, i: usize, bits: u8) {
        if let Some(s) = self.state.get_mut(i) {
            *s |= bits;
        }
    }

    /// Puts `node` on the search's path at `depth`.
    fn enter(&mut self, depth: usize, node: usize) {
        if let Some(s) = self.stack.get_mut(depth) {
            *s = node as Ix;
        }
        self.mark(node, SEEN | ON_PATH);
    }
}

fn default_restart(kind: Kind) -> RestartPolicy {
    if kind.respawns() {
        RestartPolicy::Always
    } else {
        RestartPolicy::Never
    }
}

/// The start of every entry: each field zero (every byte, so it is built
/// by one fill rather than field by field from separate constants), which
/// is the default of the fields [`Parser::default_entry`] does not set:
/// no text, no name, empty lists, the console log, no `ready=`, no login,
/// exit code 0.
const ZEROED: Entry = Entry {
    kind: Kind::Sysinit,
    syntax: Syntax::Native,
    restart: RestartPolicy::Always,
    stop_signal: 0,
    ready_fd: 0,
    log: Log::Console,
    umask: 0,
    login: false,
    on_exit: crate::OnExit::Exit,
    exit_code: 0,
    line: 0,
    timeout: 0,
    backoff_min: 0,
    backoff_max: 0,
    texts: [Span { start: 0, len: 0 }; TEXTS],
    name: Name::EMPTY,
    env: crate::List::new(Span { start: 0, len: 0 }),
    after: crate::List::new(Name::EMPTY),
};

/// Entry names to indices: open addressing over four slots per entry of
/// capacity (load at most 1/4), so duplicate checks stay linear in the table
/// size for tables larger than foster's (1,000-line benchmark tables). Past
/// half the slots probed it degrades to a scan, never to a wrong answer.
/// Foster's own [`MAX_ENTRIES`] table is scanned instead, with no index
/// (see [`NameIndex::SCAN`]).
#[repr(C)]
struct NameIndex<const N: usize> {
    /// Set when an insert found no free slot: lookups then scan the table.
    /// First, as every lookup reads it: a one-byte displacement.
    full: bool,
    /// Generated-name bases seen more than once lately (by hash) and the
    /// next suffix to try, so many repeats of one inittab line stay
    /// linear. Only a hint: every candidate is still looked up
    /// ([`Parser::find`]). In foster's scanned table a repeated line tries
    /// at most [`MAX_ENTRIES`] + 1 suffixes, each a scan of at most as many
    /// names.
    suffixes: [(u32, u32); 16],
    slots: [[Ix; 4]; N],
}

impl<const N: usize> NameIndex<N> {
    const EMPTY: NameIndex<N> = NameIndex {
        full: false,
        suffixes: [(0, 0); 16],
        slots: [[0; 4]; N],
    };

    /// The first suffix worth trying for the generated-name base of hash `hash`.
    fn first_suffix(&self, hash: u32) -> u32 {
        match self.suffixes.get(hash as usize % self.suffixes.len()) {
            Some(&(h, k)) if h == hash && k > 1 => k,
            _ => 1,
        }
    }

    /// Notes that suffix `k` of the base of hash `hash` is now taken.
    fn taken_suffix(&mut self, hash: u32, k: u32) {
        let len = self.suffixes.len();
        if let Some(slot) = self.suffixes.get_mut(hash as usize % len) {
            *slot = (hash, k + 1);
        }
    }

    fn hash(s: &[u8]) -> usize {
        let h = s.iter().fold(0x811c_9dc5u32, |h, &b| {
            (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
        });
        h as usize
    }

    /// Tables of foster's size are scanned: at most [`MAX_ENTRIES`] names
    /// per lookup cost less code than the index, and no stack (a constant
    /// per `N`, so the index is left out of foster's binary).
    const SCAN: bool = N <= MAX_ENTRIES;

    fn insert(&mut self, hash: usize, index: usize) {
        let slots = self.slots.as_flattened_mut();
        let len = slots.len();
        for p in 0..len / 2 {
            if let Some(slot) = slots.get_mut((hash + p) % len) {
                if *slot == 0 {
                    *slot = index as Ix + 1;
                    return;
                }
            }
        }
        self.full = true;
    }

    fn find(&self, table: &TableN<N>, name: &[u8]) -> Option<usize> {
        if self.full {
            return table.get(name).map(|(i, _)| i);
        }
        let hash = Self::hash(name);
        let slots = self.slots.as_flattened();
        let len = slots.len();
        for p in 0..len / 2 {
            let slot = slots.get((hash + p) % len).copied()?;
            if slot == 0 {
                return None;
            }
            let i = usize::from(slot) - 1;
            if table
                .entries
                .get(i)
                .is_some_and(|e| e.name.as_bytes() == name)
            {
                return Some(i);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    extern crate std;
    use std::{format, string::String, vec::Vec};

    /// The entries and errors of `src` in a table of capacity `N`.
    fn run<const N: usize>(src: &str) -> (Vec<Entry>, Vec<Error>) {
        let mut errors = Vec::new();
        let t = parse_n::<N>(src.as_bytes(), &mut |e| errors.push(*e));
        (t.entries.iter().cloned().collect(), errors)
    }

    /// Foster's tables (`MAX_ENTRIES`) scan for names; larger ones use the
    /// name index: both read every table the same.
    #[test]
    fn name_index_and_scan_agree() {
        let mut many = String::new();
        many += "once e0 x\n";
        for i in 1..30 {
            many += &format!("once e{i} after=e{} x\ntty{}::respawn:x\n", i / 2, i % 3);
        }
        for src in [
            "once a x\nonce a y\nservice b after=a x\nservice c after=nope x\n",
            "::sysinit:x\n::sysinit:y\nonce console.sysinit.2 x\n::sysinit:z\n",
            "once a after=b x\nonce b after=c x\nonce c after=a x\nonce d after=c x\n",
            "once a after=b x\nonce b bogus=1 x\nonce c after=a x\n",
            &many,
        ] {
            assert_eq!(run::<MAX_ENTRIES>(src), run::<256>(src), "{src}");
        }
    }

    #[test]
    fn name_index_past_foster_capacity() {
        let mut src = String::from("once e0 x\n::once:x\n");
        for i in 1..150 {
            src += &format!("once e{i} after=e{} x\n::once:x\n", i / 2);
        }
        src += "once e100 x\n";
        let (entries, errors) = run::<512>(&src);
        assert_eq!(entries.len(), 300);
        assert_eq!(entries[299].name.as_str(), "console.once.150");
        assert_eq!(errors.len(), 1);
        let ErrorKind::Message { msg, n, .. } = errors[0].kind else {
            panic!("{errors:?}");
        };
        assert_eq!((msg, n, errors[0].line), (Message::DuplicateName, 201, 301));
    }

    /// The message, line, column and number of each error of `src`.
    fn messages(src: &str) -> Vec<(Message, u32, u32, u32)> {
        let (_, errors) = run::<MAX_ENTRIES>(src);
        let pick = |e: &Error| match e.kind {
            ErrorKind::Message { msg, n, .. } => (msg, e.line, e.col, n),
            ErrorKind::AfterCycle(_) => panic!("{e:?}"),
        };
        errors.iter().map(pick).collect()
    }

    /// A name taken by a line with errors is still taken: the second line
    /// is a duplicate now, not once the first is fixed (and meanwhile it
    /// must not run in the first one's place, `after=` it met by it).
    #[test]
    fn a_name_reused_after_a_broken_line_is_a_duplicate() {
        let (entries, _) = run::<MAX_ENTRIES>("service web user= x\nservice web y\n");
        assert!(entries.is_empty());
        assert_eq!(
            messages("service web user= x\n\nservice web y\nonce z after=web x\n"),
            [
                (Message::EmptyValue, 1, 18, 0),
                (Message::DuplicateName, 3, 9, 1),
                (Message::AfterBroken, 4, 8, 0),
            ]
        );
    }

    /// `service -- cmd` forgot its name: `--` is no name (it would run, named
    /// `--`, without a word said).
    #[test]
    fn a_missing_name_is_not_taken_from_the_double_dash() {
        let (entries, _) = run::<MAX_ENTRIES>("service -- /bin/web\n");
        assert!(entries.is_empty());
        assert_eq!(
            messages("service -- /bin/web\n"),
            [(Message::MissingName, 1, 9, 0)]
        );
    }
}
