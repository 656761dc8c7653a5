//! What foster execs for an entry, and entry comparison for reload.
//!
//! Native commands are split with the lexer's quoting rules. Inittab commands
//! follow BusyBox's `init_exec`: a process holding any of
//! ``~`!$^&*()=|\{}[];"'<>?`` runs as `/bin/sh -c "exec PROCESS"` (argv[0]
//! `-/bin/sh` for a login shell), any other is split on spaces and tabs, with
//! argv[0] `-WORD0` for a login shell; the program is always exec'd without
//! that dash. Continuations (`\`-newline) are removed first in both cases.

use crate::lex::Lexer;
use crate::{Entry, Name, Syntax, Text, MAX_AFTER, MAX_ARGS, MAX_ENV, TEXTS};

/// Bytes for a command's argv: every word NUL-terminated.
pub const ARGV_BYTES: usize = 4096;

/// Shell metacharacters that make BusyBox run a process through `/bin/sh -c`.
const SHELL_META: &[u8] = b"~`!$^&*()=|\\{}[];\"'<>?";
/// What comes before the process when it runs through the shell: words
/// split at blanks up to [`SPLIT_SHELL`], then `exec ` kept whole.
const SHELL: &[u8] = b"/bin/sh -c exec ";
const SPLIT_SHELL: usize = 11;

/// A command ready for execve: the words, each NUL-terminated in one buffer.
///
/// `repr(C)` with the buffer last: in reserved (zero-filled, lazily mapped)
/// memory a short command touches one page, not the bookkeeping's page too.
#[repr(C)]
pub struct Argv {
    /// Words in `words` (never more than it holds: set only once they fit).
    len: usize,
    /// The program to exec (PATH-searched when it has no `/`): usually word 0,
    /// but without the `-` of a login shell.
    program: (u16, u16),
    /// (start, len without NUL) of each word.
    words: [(u16, u16); MAX_ARGS],
    buf: [u8; ARGV_BYTES],
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
            len: 0,
            program: (0, 0),
            words: [(0, 0); MAX_ARGS],
            buf: [0; ARGV_BYTES],
        }
    }
    pub fn len(&self) -> usize {
        self.len
    }
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    fn words(&self) -> &[(u16, u16)] {
        self.words.get(..self.len).unwrap_or(&[])
    }
    /// Word `i` without its NUL.
    pub fn word(&self, i: usize) -> Option<&[u8]> {
        let &(s, l) = self.words().get(i)?;
        self.buf.get(s as usize..s as usize + l as usize)
    }
    /// Word `i` with its NUL.
    pub fn word_cstr(&self, i: usize) -> Option<&core::ffi::CStr> {
        let &(s, l) = self.words().get(i)?;
        let b = self.buf.get(s as usize..s as usize + l as usize + 1)?;
        core::ffi::CStr::from_bytes_with_nul(b).ok()
    }
    /// The program to exec, NUL-terminated.
    pub fn program(&self) -> Option<&core::ffi::CStr> {
        core::ffi::CStr::from_bytes_with_nul(self.program_with_nul()?).ok()
    }
    /// The program's bytes with their NUL (for callers with their own
    /// C-string check).
    pub fn program_with_nul(&self) -> Option<&[u8]> {
        let (s, l) = self.program;
        self.buf.get(s as usize..s as usize + l as usize + 1)
    }

    /// Sets the program from word 0, without its first byte if `dash` (the
    /// `-` a login shell's word 0 always starts with).
    fn finish(&mut self, dash: bool) -> Result<(), ArgvError> {
        let &(s, l) = self.words().first().ok_or(ArgvError::Empty)?;
        let skip = u16::from(dash);
        self.program = (s + skip, l.saturating_sub(skip));
        Ok(())
    }
}

/// Where split words go: each word's bytes and NUL into `buf` as far as they
/// fit, its (start, len) into `words` while there is room; `used` and `n`
/// count everything. So one splitter serves both the parser's size check
/// (empty slices) and [`Entry::argv`] ([`Argv`]'s arrays).
pub(crate) struct Split<'a> {
    buf: &'a mut [u8],
    words: &'a mut [(u16, u16)],
    /// Bytes and words so far, stored or not (u32, as the source offsets
    /// in a [`Span`](crate::Span): foster's tables are far smaller).
    pub used: u32,
    pub n: u32,
    word_start: u32,
    /// The offset of word `MAX_ARGS + 1` (where the parser reports too
    /// many words), or 0 if there is none: no such word starts a line or
    /// a process.
    pub extra: u32,
    /// An inittab word is open, and the process is a login shell's (see
    /// [`Split::feed`]).
    open: bool,
    login: bool,
}

impl<'a> Split<'a> {
    pub fn new(buf: &'a mut [u8], words: &'a mut [(u16, u16)]) -> Split<'a> {
        Split {
            buf,
            words,
            used: 0,
            n: 0,
            word_start: 0,
            extra: 0,
            open: false,
            login: false,
        }
    }

    /// Inlined into `feed`, its caller for every process byte (measured:
    /// fewer instructions and a smaller binary than a call per byte).
    #[inline]
    fn byte(&mut self, b: u8) {
        if let Some(slot) = self.buf.get_mut(self.used as usize) {
            *slot = b;
        }
        self.used += 1;
    }

    fn begin(&mut self) {
        self.word_start = self.used;
    }

    /// The word ends: its NUL, and its place if there is room.
    fn end(&mut self) {
        self.byte(0);
        if let Some(slot) = self.words.get_mut(self.n as usize) {
            *slot = (
                self.word_start as u16,
                (self.used - 1 - self.word_start) as u16,
            );
        }
        self.n += 1;
    }

    /// Adds byte `b` of an inittab process: a blank ends the open word if
    /// `split`, any other byte opens one if none is (argv[0] with a `-` for
    /// a login shell). True if `b` opened a word.
    #[inline(never)]
    fn feed(&mut self, b: u8, split: bool) -> bool {
        if split && is_split_blank(b) {
            if self.open {
                self.end();
                self.open = false;
            }
            return false;
        }
        let opened = !self.open;
        if opened {
            self.open = true;
            self.begin();
            if self.login && self.n == 0 {
                self.byte(b'-');
            }
        }
        self.byte(b);
        opened
    }
}

/// [`SHELL_META`] as a set.
const META_SET: [u32; 4] = crate::byte_set(SHELL_META);

fn is_meta(b: u8) -> bool {
    crate::in_set(&META_SET, b)
}

fn is_split_blank(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// Splits an inittab process (BusyBox rules, see above) into `out`.
///
/// One pass: split at blanks until a metacharacter turns up, then again from
/// the start through the shell (a separate search for metacharacters first
/// cost a second pass over every process). Continuations are looked for only
/// at a `\`: a call per byte to step over them cost more than the split.
pub(crate) fn split_inittab(process: &[u8], login: bool, out: &mut Split<'_>) {
    out.login = login;
    let lx = Lexer::new(process, 0, process.len());
    let mut shell = false;
    let mut i = 0;
    while let Some(&b) = process.get(i) {
        let c = if b == b'\\' { lx.continuation(i) } else { 0 };
        if c > 0 {
            i += c;
            continue;
        }
        if !shell && is_meta(b) {
            // Through the shell, the whole process is one word after
            // `exec `, split nowhere: the words before it are fed split,
            // `exec ` not.
            shell = true;
            (out.used, out.n, out.extra, out.open) = (0, 0, 0, false);
            for (k, &b) in SHELL.iter().enumerate() {
                out.feed(b, k < SPLIT_SHELL);
            }
            i = 0;
            continue;
        }
        if out.feed(b, !shell) && out.n == MAX_ARGS as u32 {
            out.extra = i as u32;
        }
        i += 1;
    }
    // A blank ends the last word.
    out.feed(b' ', true);
}

impl Entry {
    /// The argv foster execs for this entry (BusyBox rules for inittab lines).
    pub fn argv(&self, src: &[u8], out: &mut Argv) -> Result<(), ArgvError> {
        out.len = 0;
        let mut s = Split::new(&mut out.buf, &mut out.words);
        let command = self.text(Text::Command);
        match self.syntax {
            Syntax::Native => {
                let start = command.start as usize;
                let mut lx = Lexer::new(src, start, start + command.len as usize);
                while lx.word_start() {
                    s.begin();
                    let room = s.buf.get_mut(s.used as usize..).unwrap_or(&mut []);
                    s.used += lx.word(room).map_err(|_| ArgvError::Empty)? as u32;
                    s.end();
                }
            }
            Syntax::Inittab => split_inittab(command.get(src), self.login, &mut s),
        }
        let n = s.n as usize;
        if n > MAX_ARGS {
            return Err(ArgvError::TooManyWords);
        }
        if s.used as usize > ARGV_BYTES {
            return Err(ArgvError::TooLong);
        }
        out.len = n;
        out.finish(self.login)
    }

    /// Same entry, same options, same command (by content, across two sources):
    /// on reload such an entry keeps running. The line number is not compared.
    pub fn same_as(&self, src: &[u8], other: &Entry, other_src: &[u8]) -> bool {
        self.same_but_name(src, other, other_src, true)
    }

    /// The same BusyBox line, whatever its name: kind, tty, process and `-`
    /// (BusyBox init matches a reloaded line by process and tty). Every
    /// other field of an inittab entry has its default, so this is
    /// [`Entry::same_as`] without the name.
    pub fn same_line(&self, src: &[u8], other: &Entry, other_src: &[u8]) -> bool {
        self.syntax == Syntax::Inittab && self.same_but_name(src, other, other_src, false)
    }

    /// [`Entry::same_as`], comparing the names only if `names`.
    ///
    /// The fields without text compare directly; every piece of text is
    /// compared as a list (much less code than field by field).
    #[inline(never)]
    fn same_but_name(&self, src: &[u8], other: &Entry, other_src: &[u8], names: bool) -> bool {
        // The eleven bytes of plain fields that come first, as two
        // (overlapping) numbers: two compares instead of nine.
        let head = |e: &Entry| {
            let [m0, m1] = e.umask.to_le_bytes();
            u64::from_le_bytes([
                e.kind as u8,
                e.syntax as u8,
                e.restart as u8,
                e.stop_signal,
                e.ready_fd,
                e.log as u8,
                m0,
                m1,
            ])
        };
        let tail = |e: &Entry| {
            let [m0, m1] = e.umask.to_le_bytes();
            u64::from_le_bytes([
                e.stop_signal,
                e.ready_fd,
                e.log as u8,
                m0,
                m1,
                e.login as u8,
                e.on_exit as u8,
                e.exit_code,
            ])
        };
        head(self) == head(other)
            && tail(self) == tail(other)
            && self.backoff_min == other.backoff_min
            && self.backoff_max == other.backoff_max
            && self.timeout == other.timeout
            && (0..Entry::PIECES)
                .all(|i| (i == TEXTS && !names) || self.piece(src, i) == other.piece(other_src, i))
    }

    /// Piece of text `i` of [`Entry::PIECES`]: the [`Text`]s, the name, and
    /// every slot of the `env=` and `after=` lists, used or not. Empty for
    /// an option not set and for an unused slot (which holds its list's
    /// empty fill), as no set one is: the lists compare slot by slot,
    /// lengths included.
    fn piece<'a>(&'a self, src: &'a [u8], i: usize) -> &'a [u8] {
        let span = match i {
            _ if i < TEXTS => self.texts.get(i),
            TEXTS => return self.name.as_bytes(),
            _ if i <= TEXTS + MAX_ENV => self.env.padded().get(i - TEXTS - 1),
            _ => {
                let name = self.after.padded().get(i - TEXTS - 1 - MAX_ENV);
                return name.map_or(&[], Name::as_bytes);
            }
        };
        span.map_or(&[], |s| s.get(src))
    }

    /// How many pieces [`Entry::piece`] numbers.
    const PIECES: usize = TEXTS + 1 + MAX_ENV + MAX_AFTER;
}

/// Remove one level of `'..'`, `".."` and `\` quoting from a raw token into
/// `out`; `None` if it does not fit or is not one well-formed word (an
/// unquoted blank ends the word; what follows is ignored).
pub fn unquote(raw: &[u8], out: &mut [u8]) -> Option<usize> {
    let mut lx = Lexer::new(raw, 0, raw.len());
    let len = lx.word(out).ok()?;
    (len <= out.len()).then_some(len)
}

#[cfg(test)]
mod tests {
    use crate::{parse, Table};

    fn table(src: &str) -> Table {
        parse(src.as_bytes(), &mut |e| panic!("{src}: {e:?}"))
    }

    /// Entry 0 of `a` against entry 0 of `b`.
    fn same(a: &str, b: &str) -> bool {
        let (ta, tb) = (table(a), table(b));
        ta.entries[0].same_as(a.as_bytes(), &tb.entries[0], b.as_bytes())
    }

    const BASE: &str = "once a after=b x y\nonce b z\n";

    #[test]
    fn a_reloaded_inittab_keeps_names_by_line_not_place() {
        let old = "::respawn:/b\n::respawn:/x\ntty1::respawn:/b\n";
        // A native entry, a line added above /b, and a `-` added to tty1's.
        let new = "service console.respawn.2 -- /n\n::respawn:/c\n::respawn:/x\n\
                   ::respawn:/b\ntty1::respawn:-/b\n";
        let (to, mut tn) = (table(old), table(new));
        let same = |a: usize, b: usize| {
            to.entries[a].same_line(old.as_bytes(), &tn.entries[b], new.as_bytes())
        };
        assert!(same(0, 3) && same(1, 2) && !same(0, 1) && !same(2, 4) && !same(0, 0));
        tn.keep_names(&|e, taken| {
            let e = to
                .entries
                .iter()
                .find(|o| o.same_line(old.as_bytes(), e, new.as_bytes()) && !taken(&o.name));
            e.map(|o| &o.name)
        });
        let name = |i: usize| tn.entries[i].name.as_bytes();
        // /b takes its running name back from /c; /x does not take a
        // native entry's; tty1's line changed.
        assert_eq!(name(0), b"console.respawn.2");
        assert_eq!(name(1), b"console.respawn.4");
        assert_eq!(name(2), b"console.respawn.3");
        assert_eq!(name(3), b"console.respawn");
        assert_eq!(name(4), b"tty1.respawn");
    }

    #[test]
    fn same_as_equal_across_formatting() {
        assert!(same(BASE, BASE));
        let all = "service web tty=tty1 user=u group=g dir=/d env=A=1 env=B=2 umask=022 \
                   log=/l restart=never backoff=1s..2s after=db ready=fd:3 pidfile=/p \
                   stop=INT timeout=3s on-exit=exit:4 -- httpd -f\nonce db x\n";
        assert!(same(all, all));
        // Blanks, continuations, comments and line numbers do not count...
        let moved = "# moved\n\n  service  web\ttty=tty1 user=u group=g dir=/d env=A=1 env=B=2 \
                     umask=022 log=/l restart=never \\\n backoff=1s..2s after=db ready=fd:3 \
                     pidfile=/p stop=INT timeout=3s on-exit=exit:4 --   httpd -f  \nonce db x\n";
        assert!(same(all, moved));
        // ...nor values that read the same, nor an `after=` name's quotes
        // (names are kept unquoted).
        assert!(same(BASE, "once a after='b' x y\nonce b z\n"));
        assert!(same(
            "once a umask=22 timeout=1000ms x\n",
            "once a umask=0022 timeout=1s x\n"
        ));
        assert!(same("::once:x\n", "::once:x  # comment\n"));
        // Option and command text is compared as written: a value quoted or
        // a command spaced differently counts as a change (the entry
        // restarts, never wrongly kept).
        assert!(!same("once a user=u x\n", "once a user='u' x\n"));
        assert!(!same("once a x y\n", "once a x  y\n"));
    }

    #[test]
    fn same_as_sees_every_single_option() {
        let base = "once a x y\nonce b z\n";
        for other in [
            "wait a x y\n",
            "once c x y\n",
            "once a x\n",
            "once a x z\n",
            "once a tty=tty1 x y\n",
            "once a user=u x y\n",
            "once a group=g x y\n",
            "once a dir=/ x y\n",
            "once a env=A=1 x y\n",
            "once a umask=022 x y\n",
            "once a log=null x y\n",
            "once a log=kmsg x y\n",
            "once a log=/l x y\n",
            "once a restart=always x y\n",
            "once a restart=on-failure x y\n",
            "once a backoff=1s..30s x y\n",
            "once a backoff=100ms..1m x y\n",
            "once a after=b x y\nonce b z\n",
            "once a ready=fd:3 x y\n",
            "once a pidfile=/p x y\n",
            "once a stop=KILL x y\n",
            "once a timeout=1s x y\n",
            "once a on-exit=poweroff x y\n",
            "once a on-exit=reboot x y\n",
            "once a on-exit=halt x y\n",
            "once a on-exit=exit:0 x y\n",
            "once a on-exit=exit x y\n",
        ] {
            assert!(!same(base, other), "{other}");
            assert!(!same(other, base), "{other}");
        }
        // Each option against another value of itself.
        for (a, b) in [
            ("once a tty=tty1 x\n", "once a tty=tty2 x\n"),
            ("once a user=u x\n", "once a user=v x\n"),
            ("once a group=g x\n", "once a group=h x\n"),
            ("once a dir=/a x\n", "once a dir=/b x\n"),
            ("once a env=A=1 x\n", "once a env=A=2 x\n"),
            ("once a env=A=1 x\n", "once a env=A=1 env=B=2 x\n"),
            ("once a env=A=1 env=B=2 x\n", "once a env=B=2 env=A=1 x\n"),
            ("once a umask=022 x\n", "once a umask=027 x\n"),
            ("once a log=/a x\n", "once a log=/b x\n"),
            ("once a backoff=1s..2s x\n", "once a backoff=1s..3s x\n"),
            ("once a ready=fd:3 x\n", "once a ready=fd:4 x\n"),
            ("once a pidfile=/a x\n", "once a pidfile=/b x\n"),
            ("once a stop=INT x\n", "once a stop=HUP x\n"),
            ("once a timeout=1s x\n", "once a timeout=2s x\n"),
            ("once a on-exit=exit:1 x\n", "once a on-exit=exit:2 x\n"),
            (
                "once a after=b x\nonce b z\nonce c z\n",
                "once a after=c x\nonce b z\nonce c z\n",
            ),
            (
                "once a after=b after=c x\nonce b z\nonce c z\n",
                "once a after=c after=b x\nonce b z\nonce c z\n",
            ),
            // Syntax alone: the same name, kind and command text.
            ("once console.once x\n", "::once:x\n"),
            // A login shell alone (the process is `x` in both).
            ("::once:x\n", "::once:-x\n"),
            ("tty1::once:x\n", "tty2::once:x\n"),
            ("::once:x\n", "tty1::once:x\n"),
        ] {
            assert!(!same(a, b), "{a} vs {b}");
            assert!(!same(b, a), "{b} vs {a}");
        }
    }
}
