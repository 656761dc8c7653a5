//! Lines to entries. One pass over the source, line by line, then one pass
//! over the `after=` graph; errors go out as they are found, and a line with
//! any error is dropped whole. The grammar is documented on [`parse`].

use crate::error::{Capacity, Cycle, Error, ErrorKind, Value};
use crate::lex::{is_blank, logical_end, Lexer};
use crate::{
    argv, value, Command, Entry, Kind, Log, Name, RestartPolicy, Span, Syntax, Table, TableN,
    DEFAULT_BACKOFF_MAX, DEFAULT_BACKOFF_MIN, DEFAULT_STOP_TIMEOUT, MAX_AFTER, MAX_ARGS,
    MAX_ENTRIES, MAX_ENV, MAX_NAME, SIGTERM,
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
///   other option given twice is an error.
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
    table.entries.clear();
    let mut p = Parser::<N> {
        src,
        on_error,
        table,
        index: NameIndex::new(),
        after_spans: [[Span::default(); MAX_AFTER]; N],
        name_at: [0; N],
        line_start: [0; N],
        failed: heapless::Vec::new(),
        line_no: 1,
        line_pos: 0,
        suffixes: [(0, 0); 16],
    };
    p.lines();
    p.check_after();
}

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

/// The position of `key` among blank-separated `words`.
#[inline(never)]
fn word_index(words: &[u8], key: &[u8]) -> Option<usize> {
    words.split(|&b| b == b' ').position(|w| w == key)
}

type OptResult = Result<(), (usize, ErrorKind)>;

/// Applies one option to `e`; on error, the offset and what to report.
#[inline(never)]
fn option(
    e: &mut Entry,
    after_spans: &mut [Span; MAX_AFTER],
    opt: Opt,
    at: usize,
    key: Span,
    value: Span,
    val: &Val,
) -> OptResult {
    let value_at = value.start as usize;
    let bad = |what| Err((value_at, ErrorKind::BadValue { what, value }));
    let v = val.bytes().unwrap_or(&[]);
    let too_long = val.len > Val::CAP;
    let empty = val.len == 0;
    let set = |slot: &mut Option<Span>| -> OptResult {
        if empty {
            return Err((value_at, ErrorKind::EmptyValue(key)));
        }
        *slot = Some(value);
        Ok(())
    };
    let parsed = match opt {
        Opt::Tty => return set(&mut e.tty),
        Opt::User => return set(&mut e.user),
        Opt::Group => return set(&mut e.group),
        Opt::Dir => return set(&mut e.dir),
        Opt::Pidfile => {
            if !empty && val.buf.first() != Some(&b'/') {
                return bad(Value::Pidfile);
            }
            return set(&mut e.pidfile);
        }
        Opt::Env => {
            let eq = v.iter().position(|&b| b == b'=');
            let key_ok = eq.and_then(|i| v.get(..i)).is_some_and(value::is_env_key);
            if !key_ok {
                return bad(Value::Env);
            }
            return e.env.push(value).map_err(|_| {
                (
                    at,
                    ErrorKind::TooMany {
                        what: Capacity::Env,
                        at_most: MAX_ENV as u32,
                    },
                )
            });
        }
        Opt::After => {
            if !matches!(e.kind, Kind::Once | Kind::Service | Kind::Askfirst) {
                return Err((at, ErrorKind::AfterIgnored(e.kind)));
            }
            let Some(n) = Name::new(v).filter(|_| !too_long) else {
                return Err((value_at, ErrorKind::BadName(value)));
            };
            let i = e.after.len();
            return match (after_spans.get_mut(i), e.after.push(n)) {
                (Some(slot), Ok(())) => {
                    *slot = value;
                    Ok(())
                }
                _ => Err((
                    at,
                    ErrorKind::TooMany {
                        what: Capacity::After,
                        at_most: MAX_AFTER as u32,
                    },
                )),
            };
        }
        Opt::Umask => value::umask(v)
            .map(|m| e.umask = Some(m))
            .ok_or(Value::Umask),
        Opt::Log => value::log(v, value).map(|l| e.log = l).ok_or(Value::Log),
        Opt::Restart => value::restart(v)
            .map(|r| e.restart = r)
            .ok_or(Value::Restart),
        Opt::Backoff => value::backoff(v)
            .map(|(lo, hi)| {
                e.backoff_min = lo;
                e.backoff_max = hi;
            })
            .ok_or(Value::Backoff),
        Opt::Ready => value::ready(v)
            .map(|fd| e.ready_fd = Some(fd))
            .ok_or(Value::Ready),
        Opt::Stop => value::signal_by_name(v)
            .map(|s| e.stop_signal = s)
            .ok_or(Value::Signal),
        Opt::Timeout => value::parse_duration(v)
            .map(|t| e.timeout = t)
            .ok_or(Value::Duration),
        Opt::OnExit => value::on_exit(v)
            .map(|x| e.on_exit = Some(x))
            .ok_or(Value::OnExit),
    };
    match parsed {
        Ok(()) => Ok(()),
        Err(what) => bad(what),
    }
}

/// An unquoted option value: the first `CAP` bytes and the full length.
struct Val {
    buf: [u8; Val::CAP],
    len: usize,
}

impl Val {
    const CAP: usize = 256;
    fn bytes(&self) -> Option<&[u8]> {
        self.buf.get(..self.len)
    }
}

/// `repr(C)` with the small, often-used fields first: they sit within a
/// one-byte displacement of `self`, the big per-entry arrays after them.
#[repr(C)]
struct Parser<'a, 'e, 't, const N: usize> {
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
    index: NameIndex<N>,
    /// Per entry: the raw value of each `after=`, for errors found later.
    after_spans: [[Span; MAX_AFTER]; N],
    /// Per entry: offset of its name on the line (native entries).
    name_at: [u32; N],
    /// Per entry: offset where its first physical line starts.
    line_start: [u32; N],
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

impl<const N: usize> Parser<'_, '_, '_, N> {
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
        };
        self.err(
            off,
            ErrorKind::TooMany {
                what,
                at_most: at_most as u32,
            },
        );
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
        let Some(name) = Name::new(name_span.get(src)) else {
            self.err(name_at, ErrorKind::BadName(name_span));
            lx.skip_line();
            return lx.pos;
        };
        let mut ok = true;
        if let Some(first) = self.index.find(self.table, name.as_bytes()) {
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
        let mut e = default_entry(kind, name, Syntax::Native, line);
        let mut after_spans = [Span::default(); MAX_AFTER];
        let mut seen = 0u16;

        // Options.
        let mut has_command = false;
        let mut last_end = nw.end;
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
            let mut val = Val {
                buf: [0; Val::CAP],
                len: 0,
            };
            let mut vlx = Lexer::new(src, value_at, w.end);
            val.len = vlx.word(&mut val.buf).map_or(0, |w| w.len);
            let Some(opt) = lookup(OPTIONS, &OPTS, key.get(src)) else {
                self.err(at, ErrorKind::UnknownOption(key));
                ok = false;
                continue;
            };
            let bit = 1u16 << opt as u16;
            if opt.single() && seen & bit != 0 {
                self.err(at, ErrorKind::DuplicateOption(key));
                ok = false;
                continue;
            }
            seen |= bit;
            let result = option(&mut e, &mut after_spans, opt, at, key, value, &val);
            if let Err((off, kind)) = result {
                self.err(off, kind);
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
        if !self.push(e, kind_at, name_at, after_spans) {
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
    fn push(
        &mut self,
        e: Entry,
        line_at: usize,
        name_at: usize,
        after_spans: [Span; MAX_AFTER],
    ) -> bool {
        let i = self.table.entries.len();
        let (Some(a), Some(n), Some(l)) = (
            self.after_spans.get_mut(i),
            self.name_at.get_mut(i),
            self.line_start.get_mut(i),
        ) else {
            self.too_many(line_at, Capacity::Entries);
            return false;
        };
        *a = after_spans;
        *n = name_at as u32;
        let (_, col) = position(self.src, self.line_no, self.line_pos, line_at);
        *l = (line_at + 1).saturating_sub(col as usize) as u32;
        let hash = NameIndex::<N>::hash(e.name.as_bytes());
        if self.table.entries.push(e).is_err() {
            return false;
        }
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
        let mut colons = content
            .iter()
            .enumerate()
            .filter(|(_, &b)| b == b':')
            .map(|(i, _)| first + i);
        let (Some(c1), Some(c2), Some(c3)) = (colons.next(), colons.next(), colons.next()) else {
            self.err(first, ErrorKind::InittabFields);
            return end;
        };
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
        let Some(name) = self.inittab_name(id.get(src), action.get(src)) else {
            self.too_many(first, Capacity::Entries);
            return end;
        };
        let (line, _) = position(src, self.line_no, self.line_pos, first);
        let mut e = default_entry(kind, name, Syntax::Inittab, line);
        e.tty = (id.len > 0).then_some(id);
        e.command = Command::Inittab { process, login };
        self.push(e, first, first, [Span::default(); MAX_AFTER]);
        end
    }

    /// `<id>.<action>`, then `.2`, `.3`... until the name is free.
    #[inline(never)]
    fn inittab_name(&mut self, id: &[u8], action: &[u8]) -> Option<Name> {
        const SUFFIX: usize = 4; // ".999"
        let id = id.strip_prefix(b"/dev/").unwrap_or(id);
        let id: &[u8] = if id.is_empty() { b"console" } else { id };
        let room = MAX_NAME - 1 - action.len() - SUFFIX;
        let mut buf = [0u8; MAX_NAME];
        let mut len = 0;
        for (slot, &b) in buf.iter_mut().zip(id.iter().take(room)) {
            *slot = if crate::is_name_byte(b) { b } else { b'_' };
            len += 1;
        }
        for &b in b".".iter().chain(action) {
            *buf.get_mut(len)? = b;
            len += 1;
        }
        let base = len;
        let hash = NameIndex::<N>::hash(buf.get(..base)?) as u32;
        let cache = (hash as usize) % self.suffixes.len();
        let first = match self.suffixes.get(cache) {
            Some(&(h, k)) if h == hash && k > 1 => k,
            _ => 1,
        };
        for k in first..=999u32 {
            len = base;
            if k > 1 {
                for &b in b".".iter().chain(crate::error::decimal(k, &mut [0; 10])) {
                    *buf.get_mut(len)? = b;
                    len += 1;
                }
            }
            let name = Name::new(buf.get(..len)?)?;
            if self.index.find(self.table, name.as_bytes()).is_none() {
                if let Some(slot) = self.suffixes.get_mut(cache) {
                    *slot = (hash, k + 1);
                }
                return Some(name);
            }
        }
        None
    }

    /// Resolves every `after=`, reports unknown names and cycles, and drops the
    /// entries concerned and, transitively, the entries that depend on them.
    #[inline(never)]
    fn check_after(&mut self) {
        let n = self.table.entries.len();
        let mut g = Graph::<N> {
            deps: [[NONE; MAX_AFTER]; N],
            state: [0; N],
            stack: [0; N],
        };
        // 1. Names that resolve to nothing usable.
        for i in 0..n {
            for k in 0..MAX_AFTER {
                let Some(name) = self.table.entries.get(i).and_then(|e| e.after.get(k)) else {
                    break;
                };
                let name = *name;
                let at = self.after_span(i, k);
                let found = self.index.find(self.table, name.as_bytes());
                let kind = match found.and_then(|j| self.table.entries.get(j)) {
                    Some(d) => match d.kind {
                        kind @ (Kind::Shutdown | Kind::CtrlAltDel | Kind::Restart) => {
                            ErrorKind::AfterNotStarted { name: at, kind }
                        }
                        _ => {
                            set(&mut g.deps[..], i, k, found.map_or(NONE, |j| j as u32));
                            continue;
                        }
                    },
                    None if self
                        .failed
                        .iter()
                        .any(|s| s.get(self.src) == name.as_bytes()) =>
                    {
                        ErrorKind::AfterBroken(at)
                    }
                    None => ErrorKind::AfterUnknown(at),
                };
                self.err_after(i, k, kind);
                g.mark(i, DROPPED);
            }
        }
        // 2. Cycles, by depth-first search over the entries not yet dropped.
        for root in 0..n {
            if g.bits(root) & (DROPPED | SEEN) == 0 {
                self.visit(&mut g, root, 0);
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
                        .position(|&j| j != NONE && g.bits(j as usize) & DROPPED != 0)
                });
                if let Some(k) = hit {
                    let at = self.after_span(i, k);
                    self.err_after(i, k, ErrorKind::AfterBroken(at));
                    g.mark(i, DROPPED);
                    changed = true;
                }
            }
        }
        let mut i = 0;
        self.table.entries.retain(|_| {
            let keep = g.bits(i) & DROPPED == 0;
            i += 1;
            keep
        });
    }

    /// The search from `node`, at `depth` on the path from the root. Recursion
    /// is bounded: each entry is on the path at most once, so at most `N` deep.
    fn visit(&mut self, g: &mut Graph<N>, node: usize, depth: usize) {
        if let Some(s) = g.stack.get_mut(depth) {
            *s = node as u32;
        }
        g.mark(node, SEEN | ON_PATH);
        for k in 0..MAX_AFTER {
            let next = get(&g.deps, node).get(k).copied().unwrap_or(NONE);
            if next == NONE {
                continue;
            }
            let next = next as usize;
            let bits = g.bits(next);
            if bits & (DROPPED | SEEN) == 0 {
                self.visit(g, next, depth + 1);
            } else if bits & (DROPPED | ON_PATH) == ON_PATH {
                // A back edge: the cycle is the path from `next` down here.
                let path = g.stack.get(..=depth).unwrap_or(&[]);
                let from = path.iter().position(|&v| v as usize == next).unwrap_or(0);
                self.report_cycle(g, from, depth + 1 - from);
            }
        }
        if let Some(s) = g.state.get_mut(node) {
            *s &= !ON_PATH;
        }
    }

    /// One error per entry on the cycle of `len` entries at `g.stack[from..]`
    /// (path order: each depends on the next, the last on the first), each
    /// naming the cycle from itself.
    #[inline(never)]
    fn report_cycle(&mut self, g: &mut Graph<N>, from: usize, len: usize) {
        let on_cycle = |g: &Graph<N>, r: usize| get(&g.stack, from + r % len) as usize;
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
                *slot = self.name_span(on_cycle(g, r + k));
                c.len += 1;
            }
            // The first `after=` that points at the next entry on the cycle.
            let next = on_cycle(g, r + 1) as u32;
            let k = get(&g.deps, me)
                .iter()
                .position(|&j| j == next)
                .unwrap_or(0);
            self.err_after(me, k, ErrorKind::AfterCycle(c));
        }
    }

    fn name_span(&self, i: usize) -> Span {
        Span {
            start: get(&self.name_at, i),
            len: self
                .table
                .entries
                .get(i)
                .map_or(0, |e| e.name.as_bytes().len() as u32),
        }
    }

    fn after_span(&self, i: usize, k: usize) -> Span {
        self.after_spans
            .get(i)
            .and_then(|a| a.get(k))
            .copied()
            .unwrap_or_default()
    }

    /// An error at the `after=` of entry `i`'s `k`th `after=`.
    fn err_after(&mut self, i: usize, k: usize, kind: ErrorKind) {
        let value = self.after_span(i, k).start as usize;
        let key_at = value.saturating_sub(b"after=".len());
        // Every line is read by now: position errors from entry `i`'s line.
        self.line_no = self.table.entries.get(i).map_or(1, |e| e.line);
        self.line_pos = get(&self.line_start, i) as usize;
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

/// No `after=` target (an unused slot, or a name that did not resolve).
const NONE: u32 = u32::MAX;
/// [`Graph::state`] bits: dropped for a bad `after=`; on a reported cycle;
/// reached by the search; on the search's current path.
const DROPPED: u8 = 1;
const IN_CYCLE: u8 = 2;
const SEEN: u8 = 4;
const ON_PATH: u8 = 8;

/// The `after=` graph while it is checked.
struct Graph<const N: usize> {
    /// Per entry: the entry each `after=` names, or [`NONE`].
    deps: [[u32; MAX_AFTER]; N],
    state: [u8; N],
    /// The search's path from its root.
    stack: [u32; N],
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

fn default_entry(kind: Kind, name: Name, syntax: Syntax, line: u32) -> Entry {
    Entry {
        kind,
        name,
        syntax,
        line,
        tty: None,
        user: None,
        group: None,
        dir: None,
        env: crate::List::new(Span { start: 0, len: 0 }),
        umask: None,
        log: Log::Console,
        restart: default_restart(kind),
        backoff_min: DEFAULT_BACKOFF_MIN,
        backoff_max: DEFAULT_BACKOFF_MAX,
        after: crate::List::new(Name::EMPTY),
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
/// 1 KiB of stack. Past half the slots probed it degrades to a scan, never to
/// a wrong answer.
struct NameIndex<const N: usize> {
    slots: [[u32; 4]; N],
    full: bool,
}

impl<const N: usize> NameIndex<N> {
    fn new() -> NameIndex<N> {
        NameIndex {
            slots: [[0; 4]; N],
            full: false,
        }
    }

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
                    *slot = index as u32 + 1;
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
            let i = slot as usize - 1;
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
