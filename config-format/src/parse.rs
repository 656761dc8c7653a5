//! Lines to entries. One pass over the source, line by line, then one pass
//! over the `after=` graph; errors go out as they are found, and a line with
//! any error is dropped whole. The grammar is documented on [`parse`].

use crate::error::{Capacity, Cycle, Error, ErrorKind, Value};
use crate::lex::{is_blank, logical_end, Lexer};
use crate::{
    argv, value, Command, Entry, Kind, Log, Name, RestartPolicy, Span, Syntax, Table, TableN,
    DEFAULT_BACKOFF_MAX, DEFAULT_BACKOFF_MIN, DEFAULT_STOP_TIMEOUT, MAX_AFTER, MAX_ARGS,
    MAX_ENTRIES, MAX_ENV, MAX_NAME, MAX_VALUE, SIGTERM,
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
/// the console (`tty` is `None`), any other id is kept raw (the init prepends
/// `/dev/` unless it starts with `/dev/`). A leading `-` on the process makes a
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
    // and copy it. From a constant: a plain zero-fill.
    let mut index = NameIndex::EMPTY;
    let mut p = Parser::<N> {
        src,
        on_error,
        table,
        index: &mut index,
        failed: heapless::Vec::new(),
        line_no: 1,
        line_pos: 0,
        suffixes: NO_SUFFIXES,
    };
    p.lines();
    p.check_after();
}

/// [`Parser::suffixes`] before any: a constant, so the parser is built in place.
const NO_SUFFIXES: [(u32, u32); 16] = [(0, 0); 16];

/// Kind keywords, and the kind each one means.
const KIND_WORDS: &[u8] = b"sysinit wait once service respawn askfirst shutdown ctrlaltdel restart";
const KINDS: [Kind; 9] = [
    Kind::Sysinit,
    Kind::Wait,
    Kind::Once,
    Kind::Service,
    Kind::Service,
    Kind::Askfirst,
    Kind::Shutdown,
    Kind::CtrlAltDel,
    Kind::Restart,
];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Opt {
    Tty,
    User,
    Group,
    Dir,
    Env,
    Umask,
    Log,
    Restart,
    Backoff,
    After,
    Ready,
    Pidfile,
    Stop,
    Timeout,
    OnExit,
}

impl Opt {
    /// Given at most once per line.
    fn single(self) -> bool {
        !matches!(self, Opt::Env | Opt::After)
    }
}

/// Option keys, in [`Opt`] order.
const OPTIONS: &[u8] =
    b"tty user group dir env umask log restart backoff after ready pidfile stop timeout on-exit";
const OPTS: [Opt; 15] = [
    Opt::Tty,
    Opt::User,
    Opt::Group,
    Opt::Dir,
    Opt::Env,
    Opt::Umask,
    Opt::Log,
    Opt::Restart,
    Opt::Backoff,
    Opt::After,
    Opt::Ready,
    Opt::Pidfile,
    Opt::Stop,
    Opt::Timeout,
    Opt::OnExit,
];

/// The value `words` (blank-separated) pairs with `key` in `values`.
pub(crate) fn lookup<T: Copy>(words: &[u8], values: &[T], key: &[u8]) -> Option<T> {
    values.get(word_index(words, key)?).copied()
}

/// The position of `key` among blank-separated `words` (the init's word
/// lists use it too).
#[inline(never)]
pub fn word_index(words: &[u8], key: &[u8]) -> Option<usize> {
    words.split(|&b| b == b' ').position(|w| w == key)
}

/// Why an option word was refused; [`Parser::option_error`] turns it into
/// the error. Small, so [`option`] returns it in a register.
#[derive(Clone, Copy)]
enum OptError {
    /// The key is no option (reported at the word).
    Unknown,
    /// A single-valued option given again (at the word).
    Duplicate,
    /// Nothing after `=` (at the value).
    Empty,
    /// The value does not read as `Value` (at the value).
    Bad(Value),
    /// An `after=` value that is no name (at the value).
    BadName,
    /// One `env=` or `after=` too many (at the word).
    Full(Capacity),
    /// `after=` on a kind it does not order (at the word).
    Ignored(Kind),
}

/// Applies one option to `e`; `value` is the raw value, `val` the unquoted one.
#[inline(never)]
fn option(e: &mut Entry, opt: Opt, value: Span, val: &Val) -> Result<(), OptError> {
    // The init copies values into buffers of this size: a longer one would
    // be dropped there (a service run without its `user=`), so it is refused.
    let Some(v) = val.bytes() else {
        return Err(OptError::Full(Capacity::ValueBytes));
    };
    let slot = match opt {
        Opt::Tty => &mut e.tty,
        Opt::User => &mut e.user,
        Opt::Group => &mut e.group,
        Opt::Dir => &mut e.dir,
        Opt::Pidfile => {
            if val.len > 0 && val.buf.first() != Some(&b'/') {
                return Err(OptError::Bad(Value::Pidfile));
            }
            &mut e.pidfile
        }
        Opt::Env => {
            let eq = v.iter().position(|&b| b == b'=');
            let key_ok = eq.and_then(|i| v.get(..i)).is_some_and(value::is_env_key);
            if !key_ok {
                return Err(OptError::Bad(Value::Env));
            }
            return e.env.push(value).map_err(|_| OptError::Full(Capacity::Env));
        }
        Opt::After => {
            if !matches!(e.kind, Kind::Once | Kind::Service | Kind::Askfirst) {
                return Err(OptError::Ignored(e.kind));
            }
            if !Name::valid(v) {
                return Err(OptError::BadName);
            }
            // Unused slots hold an empty name: the bytes go straight in.
            let slot = e.after.push_slot().ok_or(OptError::Full(Capacity::After))?;
            slot.push(v);
            return Ok(());
        }
        _ => {
            let what = VALUES.get(opt as usize).copied().unwrap_or(Value::Env);
            return read_value(e, opt, v, value).ok_or(OptError::Bad(what));
        }
    };
    if val.len == 0 {
        return Err(OptError::Empty);
    }
    *slot = Some(value);
    Ok(())
}

/// What each [`Opt`] reads, in [`Opt`] order, for [`read_value`]'s errors
/// (the options it does not read have `Env`, never used). A byte table
/// rather than an error per reader: smaller code.
const VALUES: [Value; 15] = [
    Value::Env,
    Value::Env,
    Value::Env,
    Value::Env,
    Value::Env,
    Value::Umask,
    Value::Log,
    Value::Restart,
    Value::Backoff,
    Value::Env,
    Value::Ready,
    Value::Env,
    Value::Signal,
    Value::Duration,
    Value::OnExit,
];

/// Reads a value option into `e`; `None` if `v` is not a valid value.
fn read_value(e: &mut Entry, opt: Opt, v: &[u8], value: Span) -> Option<()> {
    match opt {
        Opt::Umask => e.umask = Some(value::umask(v)?),
        Opt::Log => e.log = value::log(v, value)?,
        Opt::Restart => e.restart = value::restart(v)?,
        Opt::Backoff => (e.backoff_min, e.backoff_max) = value::backoff(v)?,
        Opt::Ready => e.ready_fd = Some(value::ready(v)?),
        Opt::Stop => e.stop_signal = value::signal_by_name(v)?,
        Opt::Timeout => e.timeout = value::parse_duration(v)?,
        Opt::OnExit => e.on_exit = Some(value::on_exit(v)?),
        _ => return None,
    }
    Some(())
}

/// An unquoted option value: the first `CAP` bytes and the full length.
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
    /// Generated-name bases seen lately (by hash) and the next suffix to try,
    /// so many repeats of one inittab line stay linear. Only a hint: every
    /// candidate is still checked against the index.
    suffixes: [(u32, u32); 16],
    /// Names of native lines dropped for errors, so `after=` can say so.
    failed: heapless::Vec<Span, MAX_ENTRIES>,
    index: &'i mut NameIndex<N>,
}

fn span(start: usize, end: usize) -> Span {
    Span {
        start: start as u32,
        len: end.saturating_sub(start) as u32,
    }
}

/// Line and column of `off`, counting from a known line start.
fn position(src: &[u8], mut line: u32, start: usize, off: usize) -> (u32, u32) {
    let mut phys = start;
    if let Some(bytes) = src.get(start..off) {
        for (i, &b) in bytes.iter().enumerate() {
            if b == b'\n' {
                line += 1;
                phys = start + i + 1;
            }
        }
    }
    (line, (off.saturating_sub(phys) + 1) as u32)
}

impl<const N: usize> Parser<'_, '_, '_, '_, N> {
    /// A capacity ran out at `off`.
    #[cold]
    #[inline(never)]
    fn too_many(&mut self, off: usize, what: Capacity) {
        let at_most = match what {
            Capacity::Entries => N,
            Capacity::Env => MAX_ENV,
            Capacity::After => MAX_AFTER,
            Capacity::Words => MAX_ARGS,
            Capacity::CommandBytes => argv::ARGV_BYTES,
            Capacity::ValueBytes => MAX_VALUE,
        };
        self.err(
            off,
            ErrorKind::TooMany {
                what,
                at_most: at_most as u32,
            },
        );
    }

    /// Reports an option word at `at` that [`option`] refused.
    #[cold]
    #[inline(never)]
    fn option_error(&mut self, why: OptError, at: usize, key: Span, value: Span) {
        let value_at = value.start as usize;
        let (off, kind) = match why {
            OptError::Unknown => (at, ErrorKind::UnknownOption(key)),
            OptError::Duplicate => (at, ErrorKind::DuplicateOption(key)),
            OptError::Empty => (value_at, ErrorKind::EmptyValue(key)),
            OptError::Bad(what) => (value_at, ErrorKind::BadValue { what, value }),
            OptError::BadName => (value_at, ErrorKind::BadName(value)),
            OptError::Full(what) => return self.too_many(at, what),
            OptError::Ignored(kind) => (at, ErrorKind::AfterIgnored(kind)),
        };
        self.err(off, kind);
    }

    #[inline(never)]
    fn err(&mut self, off: usize, kind: ErrorKind) {
        let (line, col) = position(self.src, self.line_no, self.line_pos, off);
        (self.on_error)(&Error { line, col, kind });
    }

    fn lines(&mut self) {
        let src = self.src;
        let mut pos = 0;
        while pos < src.len() {
            self.line_pos = pos;
            let end = self.line(pos);
            let newlines = src
                .get(pos..end)
                .map_or(0, |l| l.iter().filter(|&&b| b == b'\n').count());
            self.line_no = self.line_no.saturating_add(newlines as u32 + 1);
            pos = end + 1;
        }
    }

    /// Reads the line at `start`; returns the offset of its final newline (or
    /// the end of the source).
    fn line(&mut self, start: usize) -> usize {
        let src = self.src;
        let mut lx = Lexer::new(src, start, src.len());
        if !lx.word_start() {
            return lx.pos;
        }
        let first = lx.pos;
        // A NUL cannot reach execve, so no word may hold one.
        let end = logical_end(src, first);
        if let Some(nul) = src
            .get(first..end)
            .and_then(|l| l.iter().position(|&b| b == 0))
        {
            self.err(first + nul, ErrorKind::NulByte);
            return end;
        }
        let raw_first = src.get(first..).unwrap_or(&[]);
        let first_len = raw_first
            .iter()
            .position(|&b| is_blank(b) || b == b'\n')
            .unwrap_or(raw_first.len());
        if raw_first
            .get(..first_len)
            .is_some_and(|w| crate::has_byte(w, b':'))
        {
            return self.inittab(first);
        }
        self.native(lx)
    }

    /// The word at `lx.pos`; on an unterminated quote, reports it and moves
    /// to the newline.
    #[inline(never)]
    fn word(&mut self, lx: &mut Lexer<'_>) -> Option<crate::lex::Word> {
        let w = lx.word(&mut []);
        if let Err(u) = w {
            self.err(u.at, ErrorKind::UnterminatedQuote(u.quote));
            lx.skip_to_newline();
        }
        w.ok()
    }

    #[inline(never)]
    fn native(&mut self, mut lx: Lexer<'_>) -> usize {
        let src = self.src;
        let kind_at = lx.pos;
        let Some(kw) = self.word(&mut lx) else {
            return lx.pos;
        };
        let kind_span = span(kw.start, kw.end);
        let Some(kind) = lookup(KIND_WORDS, &KINDS, kind_span.get(src)) else {
            self.err(kind_at, ErrorKind::UnknownKind(kind_span));
            lx.skip_line();
            return lx.pos;
        };
        if !lx.word_start() {
            self.err(lx.pos, ErrorKind::MissingName(kind_span));
            return lx.pos;
        }
        let name_at = lx.pos;
        let Some(nw) = self.word(&mut lx) else {
            return lx.pos;
        };
        let name_span = span(nw.start, nw.end);
        let name = name_span.get(src);
        if !Name::valid(name) {
            self.err(name_at, ErrorKind::BadName(name_span));
            lx.skip_line();
            return lx.pos;
        }
        let mut ok = true;
        if let Some(first) = self.index.find(self.table, name) {
            let first_line = self.table.entries.get(first).map_or(0, |e| e.line);
            self.err(
                name_at,
                ErrorKind::DuplicateName {
                    name: name_span,
                    first_line,
                },
            );
            ok = false;
        }
        let (line, _) = position(src, self.line_no, self.line_pos, kind_at);
        // The name goes into its place, not through a `Name` moved there.
        let mut e = default_entry(kind, Syntax::Native, line);
        e.name.push(name);
        let mut seen = 0u16;

        // Options.
        let mut has_command = false;
        let mut last_end = nw.end;
        // One buffer for every value: each read sets `len`, and nothing past
        // it is looked at.
        let mut val = Val {
            buf: [0; Val::CAP],
            len: 0,
        };
        while lx.word_start() {
            let at = lx.pos;
            let Some(w) = self.word(&mut lx) else {
                return self.failed_line(name_span, lx.pos);
            };
            last_end = w.end;
            let raw = src.get(w.start..w.end).unwrap_or(&[]);
            if raw == b"--" {
                has_command = lx.word_start();
                break;
            }
            let Some(eq) = option_key(raw) else {
                lx.pos = at;
                has_command = true;
                break;
            };
            let key = span(w.start, w.start + eq);
            let value_at = w.start + eq + 1;
            let value = span(value_at, w.end);
            let mut vlx = Lexer::new(src, value_at, w.end);
            val.len = vlx.word(&mut val.buf).map_or(0, |w| w.len);
            let result = match lookup(OPTIONS, &OPTS, key.get(src)) {
                None => Err(OptError::Unknown),
                Some(opt) if opt.single() && seen & (1 << opt as u16) != 0 => {
                    Err(OptError::Duplicate)
                }
                Some(opt) => {
                    seen |= 1 << opt as u16;
                    option(&mut e, opt, value, &val)
                }
            };
            if let Err(why) = result {
                self.option_error(why, at, key, value);
                ok = false;
            }
        }

        // Command.
        if !has_command {
            // Right after the last word: where the command should have been.
            self.err(last_end, ErrorKind::EmptyCommand);
            return self.failed_line(name_span, lx.pos);
        }
        let cmd_start = lx.pos;
        let mut cmd_end = cmd_start;
        let mut words = 0usize;
        let mut bytes = 0usize;
        while lx.word_start() {
            let Some(w) = self.word(&mut lx) else {
                return self.failed_line(name_span, lx.pos);
            };
            words += 1;
            if words == MAX_ARGS + 1 {
                self.too_many(w.start, Capacity::Words);
                ok = false;
            }
            bytes += w.len + 1;
            cmd_end = w.end;
        }
        if bytes > argv::ARGV_BYTES {
            self.too_many(cmd_start, Capacity::CommandBytes);
            ok = false;
        }
        e.command = Command::Words(span(cmd_start, cmd_end));
        let end = lx.pos;
        if !ok {
            return self.failed_line(name_span, end);
        }
        if !self.push(&e, kind_at) {
            return self.failed_line(name_span, end);
        }
        end
    }

    /// Notes a native line's name as dropped; returns `end`.
    fn failed_line(&mut self, name: Span, end: usize) -> usize {
        let _ = self.failed.push(name);
        end
    }

    /// Adds a clean entry; false (and an error at `line_at`) when the table is full.
    /// By reference: an `Entry` passed by value is copied once more first.
    fn push(&mut self, e: &Entry, line_at: usize) -> bool {
        let i = self.table.entries.len();
        let hash = NameIndex::<N>::hash(e.name.as_bytes());
        // Checked first: `push` hands a rejected entry back, and testing
        // that result costs more code than this.
        if self.table.entries.is_full() {
            self.too_many(line_at, Capacity::Entries);
            return false;
        }
        let _ = self.table.entries.push(e.clone());
        self.index.insert(hash, i);
        true
    }

    #[inline(never)]
    fn inittab(&mut self, first: usize) -> usize {
        let src = self.src;
        let end = logical_end(src, first);
        let line = src.get(first..end).unwrap_or(&[]);
        let mut content = line
            .iter()
            .position(|&b| b == b'#')
            .map_or(line, |i| line.get(..i).unwrap_or(&[]));
        while let [rest @ .., last] = content {
            if !is_blank(*last) {
                break;
            }
            content = rest;
        }
        // The first three colons; the process keeps any later ones.
        let mut colons = [0; 3];
        let mut found = 0;
        for (i, &b) in content.iter().enumerate() {
            if b == b':' {
                if let Some(c) = colons.get_mut(found) {
                    *c = first + i;
                    found += 1;
                }
            }
        }
        let [c1, c2, c3] = colons;
        if found < 3 {
            self.err(first, ErrorKind::InittabFields);
            return end;
        }
        let content_end = first + content.len();
        let action = span(c2 + 1, c3);
        // BusyBox's actions are the native kinds but `service`.
        let Some(kind) =
            lookup(KIND_WORDS, &KINDS, action.get(src)).filter(|_| action.get(src) != b"service")
        else {
            self.err(c2 + 1, ErrorKind::UnknownAction(action));
            return end;
        };
        let mut process = c3 + 1;
        let login = src.get(process) == Some(&b'-');
        if login {
            process += 1;
        }
        let process = span(process, content_end);
        let (words, bytes, first_extra) = argv::inittab_size(process.get(src), login);
        if words == 0 {
            self.err(c3 + 1, ErrorKind::EmptyCommand);
            return end;
        }
        if words > MAX_ARGS {
            self.too_many(
                first_extra.map_or(c3 + 1, |i| process.start as usize + i),
                Capacity::Words,
            );
            return end;
        }
        if bytes > argv::ARGV_BYTES {
            self.too_many(c3 + 1, Capacity::CommandBytes);
            return end;
        }
        let id = span(first, c1);
        let (line, _) = position(src, self.line_no, self.line_pos, first);
        let mut e = default_entry(kind, Syntax::Inittab, line);
        if !self.inittab_name(&mut e.name, id.get(src), action.get(src)) {
            self.too_many(first, Capacity::Entries);
            return end;
        }
        e.tty = (id.len > 0).then_some(id);
        e.command = Command::Inittab { process, login };
        self.push(&e, first);
        end
    }

    /// `<id>.<action>`, then `.2`, `.3`... until the name is free, into
    /// `name` (empty before; written in place, not returned: a `Name` comes
    /// back through memory and is copied once more). False if none is free.
    #[inline(never)]
    fn inittab_name(&mut self, name: &mut Name, id: &[u8], action: &[u8]) -> bool {
        const SUFFIX: usize = 4; // ".999"
        let id = value::strip(id, b"/dev/").unwrap_or(id);
        let id: &[u8] = if id.is_empty() { b"console" } else { id };
        let room = MAX_NAME - 1 - action.len() - SUFFIX;
        // Every byte pushed is in the name alphabet (an action is a kind
        // word), so the result is a valid name.
        for &b in id.iter().take(room) {
            name.push(&[if crate::is_name_byte(b) { b } else { b'_' }]);
        }
        name.push(b".");
        name.push(action);
        let base = name.len;
        let hash = NameIndex::<N>::hash(name.as_bytes()) as u32;
        let cache = (hash as usize) % self.suffixes.len();
        let first = match self.suffixes.get(cache) {
            Some(&(h, k)) if h == hash && k > 1 => k,
            _ => 1,
        };
        // Each suffix tried is at least as long as the one before, so the
        // bytes past `len` stay zero, as `Name`'s derived `==` needs.
        for k in first..1000u32 {
            name.len = base;
            if k > 1 {
                name.push(b".");
                name.push(crate::error::decimal(u64::from(k), &mut [0; 20]));
            }
            if self.index.find(self.table, name.as_bytes()).is_none() {
                if let Some(slot) = self.suffixes.get_mut(cache) {
                    *slot = (hash, k + 1);
                }
                return true;
            }
        }
        false
    }

    /// Resolves every `after=`, reports unknown names and cycles, and drops the
    /// entries concerned and, transitively, the entries that depend on them.
    #[inline(never)]
    fn check_after(&mut self) {
        let n = self.table.entries.len();
        let mut g = Graph::<N> {
            deps: [[0; MAX_AFTER]; N],
            state: [0; N],
            tried: [0; N],
            stack: [0; N],
        };
        // Filled afterwards: an all-zero literal is cleared in place, while
        // `[[NONE; MAX_AFTER]; N]` in it was built apart and then copied.
        g.deps.as_flattened_mut().fill(NONE);
        // 1. Names that resolve to nothing usable.
        for i in 0..n {
            for k in 0..MAX_AFTER {
                let Some(name) = self.table.entries.get(i).and_then(|e| e.after.get(k)) else {
                    break;
                };
                let name = name.as_bytes();
                let found = self.index.find(self.table, name);
                let not_started = match found.and_then(|j| self.table.entries.get(j)) {
                    Some(d) => match d.kind {
                        kind @ (Kind::Shutdown | Kind::CtrlAltDel | Kind::Restart) => Some(kind),
                        _ => {
                            set(&mut g.deps[..], i, k, found.map_or(NONE, |j| j as Ix));
                            continue;
                        }
                    },
                    None => None,
                };
                let at = self.after_span(i, k);
                let kind = match not_started {
                    Some(kind) => ErrorKind::AfterNotStarted { name: at, kind },
                    None if self.failed.iter().any(|s| s.get(self.src) == name) => {
                        ErrorKind::AfterBroken(at)
                    }
                    None => ErrorKind::AfterUnknown(at),
                };
                self.err_after(at, kind);
                g.mark(i, DROPPED);
            }
        }
        // 2. Cycles, by depth-first search over the entries not yet dropped.
        for root in 0..n {
            if g.bits(root) & (DROPPED | SEEN) == 0 {
                self.search(&mut g, root);
            }
        }
        // 3. Entries that depend on dropped ones (cycles included), until
        // nothing changes.
        for s in g.state.iter_mut() {
            if *s & IN_CYCLE != 0 {
                *s |= DROPPED;
            }
        }
        let mut changed = true;
        while changed {
            changed = false;
            for i in 0..n {
                if g.bits(i) & DROPPED != 0 {
                    continue;
                }
                let hit = g.deps.get(i).and_then(|d| {
                    d.iter()
                        .position(|&j| j != NONE && g.bits(usize::from(j)) & DROPPED != 0)
                });
                if let Some(k) = hit {
                    let at = self.after_span(i, k);
                    self.err_after(at, ErrorKind::AfterBroken(at));
                    g.mark(i, DROPPED);
                    changed = true;
                }
            }
        }
        // Compacted by hand (`retain` costs more code): each kept entry
        // swaps with the first dropped one before it, so the kept ones stay
        // in file order.
        let entries = &mut self.table.entries;
        let mut kept = 0;
        for i in 0..n {
            if g.bits(i) & DROPPED == 0 {
                if let Some([first, .., last]) = entries.get_mut(kept..=i) {
                    core::mem::swap(first, last);
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
            if k == MAX_AFTER {
                // Every `after=` of `node` followed: back up the path.
                if let Some(s) = g.state.get_mut(node) {
                    *s &= !ON_PATH;
                }
                if depth == 0 {
                    return;
                }
                depth -= 1;
                continue;
            }
            if let Some(t) = g.tried.get_mut(node) {
                *t += 1;
            }
            let next = get(&g.deps, node).get(k).copied().unwrap_or(NONE);
            if next == NONE {
                continue;
            }
            let next = usize::from(next);
            let bits = g.bits(next);
            if bits & (DROPPED | SEEN) == 0 {
                depth += 1;
                g.enter(depth, next);
            } else if bits & (DROPPED | ON_PATH) == ON_PATH {
                // A back edge: the cycle is the path from `next` down here.
                let path = g.stack.get(..=depth).unwrap_or(&[]);
                let from = path
                    .iter()
                    .position(|&v| usize::from(v) == next)
                    .unwrap_or(0);
                self.report_cycle(g, from, depth + 1 - from);
            }
        }
    }

    /// One error per entry on the cycle of `len` entries at `g.stack[from..]`
    /// (path order: each depends on the next, the last on the first), each
    /// naming the cycle from itself.
    #[inline(never)]
    fn report_cycle(&mut self, g: &mut Graph<N>, from: usize, len: usize) {
        let on_cycle = |g: &Graph<N>, r: usize| usize::from(get(&g.stack, from + r % len));
        for r in 0..len {
            let me = on_cycle(g, r);
            if g.bits(me) & IN_CYCLE != 0 {
                continue;
            }
            g.mark(me, IN_CYCLE);
            let mut c = Cycle {
                names: [Span::default(); Cycle::SHOWN],
                len: 0,
                more: len > Cycle::SHOWN,
            };
            for (slot, k) in c.names.iter_mut().zip(0..len) {
                // The name is the line's second word.
                *slot = self.line_word(on_cycle(g, r + k), 1, b"");
                c.len += 1;
            }
            // The first `after=` that points at the next entry on the cycle.
            let next = on_cycle(g, r + 1) as Ix;
            let k = get(&g.deps, me)
                .iter()
                .position(|&j| j == next)
                .unwrap_or(0);
            let at = self.after_span(me, k);
            self.err_after(at, ErrorKind::AfterCycle(c));
        }
    }

    /// The raw value of entry `i`'s `k`th `after=`.
    fn after_span(&self, i: usize, k: usize) -> Span {
        self.line_word(i, k, b"after=")
    }

    /// Word `nth` among the words of entry `i`'s line that start with
    /// `prefix`, without the prefix. Only errors found once every line is
    /// read need such spans, so they are read again from the source rather
    /// than kept for every entry. Only for native entries, whose line is
    /// clean (the only kind with `after=`).
    #[inline(never)]
    fn line_word(&self, i: usize, mut nth: usize, prefix: &[u8]) -> Span {
        let src = self.src;
        let line = self.table.entries.get(i).map_or(1, |e| e.line);
        // The entry's first word is the first on its physical line.
        let mut start = 0;
        let mut at_line = 1;
        for (j, &b) in src.iter().enumerate() {
            if at_line >= line {
                break;
            }
            if b == b'\n' {
                at_line += 1;
                start = j + 1;
            }
        }
        let mut lx = Lexer::new(src, start, src.len());
        while lx.word_start() {
            let Ok(w) = lx.word(&mut []) else { break };
            if src
                .get(w.start..w.end)
                .is_some_and(|raw| raw.starts_with(prefix))
            {
                if nth == 0 {
                    return span(w.start + prefix.len(), w.end);
                }
                nth -= 1;
            }
        }
        Span::default()
    }

    /// An error at the `after=` whose value is `value`.
    fn err_after(&mut self, value: Span, kind: ErrorKind) {
        let key_at = (value.start as usize).saturating_sub(b"after=".len());
        // Every line is read by now: position errors from the source's start.
        self.line_no = 1;
        self.line_pos = 0;
        self.err(key_at, kind);
    }
}

fn get<T: Copy + Default>(a: &[T], i: usize) -> T {
    a.get(i).copied().unwrap_or_default()
}

/// Sets `a[i][k]`, if in range.
fn set<T, const K: usize>(a: &mut [[T; K]], i: usize, k: usize, v: T) {
    if let Some(slot) = a.get_mut(i).and_then(|r| r.get_mut(k)) {
        *slot = v;
    }
}

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

/// The `after=` graph while it is checked.
struct Graph<const N: usize> {
    /// Per entry: the entry each `after=` names, or [`NONE`].
    deps: [[Ix; MAX_AFTER]; N],
    state: [u8; N],
    /// Per entry: how many of its `after=` the search has followed.
    tried: [u8; N],
    /// The search's path from its root.
    stack: [Ix; N],
}

impl<const N: usize> Graph<N> {
    fn bits(&self, i: usize) -> u8 {
        get(&self.state, i)
    }

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

/// `Some(index of '=')` if `raw` starts with `[a-z][a-z-]*=`.
fn option_key(raw: &[u8]) -> Option<usize> {
    let eq = raw
        .iter()
        .position(|&b| !(b.is_ascii_lowercase() || b == b'-'))?;
    (eq > 0 && raw.get(eq) == Some(&b'=') && raw.first().is_some_and(u8::is_ascii_lowercase))
        .then_some(eq)
}

fn default_restart(kind: Kind) -> RestartPolicy {
    if kind.respawns() {
        RestartPolicy::Always
    } else {
        RestartPolicy::Never
    }
}

/// Empty lists as constants: built at compile time, not filled slot by slot
/// at every line.
const NO_ENV: crate::List<Span, MAX_ENV> = crate::List::new(Span { start: 0, len: 0 });
const NO_AFTER: crate::List<Name, MAX_AFTER> = crate::List::new(Name::EMPTY);

/// An entry with every default and an empty name (filled in place after).
/// Not inlined: both kinds of line build one, straight into the caller's
/// entry.
#[inline(never)]
fn default_entry(kind: Kind, syntax: Syntax, line: u32) -> Entry {
    Entry {
        kind,
        name: Name::EMPTY,
        syntax,
        line,
        tty: None,
        user: None,
        group: None,
        dir: None,
        env: NO_ENV,
        umask: None,
        log: Log::Console,
        restart: default_restart(kind),
        backoff_min: DEFAULT_BACKOFF_MIN,
        backoff_max: DEFAULT_BACKOFF_MAX,
        after: NO_AFTER,
        ready_fd: None,
        pidfile: None,
        stop_signal: SIGTERM,
        timeout: DEFAULT_STOP_TIMEOUT,
        on_exit: None,
        command: Command::Words(Span::default()),
    }
}

/// Entry names to indices: open addressing over four slots per entry of
/// capacity (load at most 1/4), so duplicate checks stay linear in the table
/// size (1,000-line benchmark tables too) while foster's 64-entry table costs
/// 512 bytes of stack. Past half the slots probed it degrades to a scan, never to
/// a wrong answer.
struct NameIndex<const N: usize> {
    slots: [[Ix; 4]; N],
    full: bool,
}

impl<const N: usize> NameIndex<N> {
    const EMPTY: NameIndex<N> = NameIndex {
        slots: [[0; 4]; N],
        full: false,
    };

    fn hash(s: &[u8]) -> usize {
        let h = s.iter().fold(0x811c_9dc5u32, |h, &b| {
            (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
        });
        h as usize
    }

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
