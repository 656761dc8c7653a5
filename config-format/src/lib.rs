//! foster's table format: parse an inittab-like table without allocating.
//!
//! The parser borrows nothing past the call: every string in an [`Entry`] is a
//! [`Span`] (offset and length) into the source bytes the caller keeps, so a
//! long-running init can hold a parsed [`Table`] beside its buffer with no
//! lifetimes and swap two of them on reload. Capacities are named constants;
//! running past one is a reported error at the offending position, never a panic.
//!
//! Modules: `lex` splits lines into words (quoting, comments, continuations),
//! `parse` turns lines into entries, `order` checks `after=` and computes the
//! start order, `argv` builds what foster execs, `value` reads durations and
//! signals, `error` renders errors as `FILE:LINE:COL: message` with a caret.
//! The grammar, with every decision the design left open, is documented on
//! [`parse`].
#![no_std]
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

mod argv;
mod error;
mod lex;
mod order;
mod parse;
pub mod text;
mod value;

pub use argv::{unquote, Argv, ArgvError, ARGV_BYTES};
pub use error::{decimal, escape, Error, ErrorKind, Message, Sink};
pub use parse::{next_piece, nth_piece, parse, parse_into, parse_n, word_index};
pub use text::Packed;
pub use value::{decimal as parse_decimal, parse_duration, signal_by_name, signal_name};

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
/// Bytes of an option value once unquoted: the init copies values into
/// buffers of this size (and one more byte for a NUL).
pub const MAX_VALUE: usize = 255;

/// A range of the source bytes.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Span {
    pub start: u32,
    pub len: u32,
}

impl Span {
    /// The bytes this span covers in `src` (empty if out of range). Not
    /// inlined: its range checks cost more than a call at every use.
    #[inline(never)]
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
    /// Fills unused [`List`] slots; never a parsed name.
    pub(crate) const EMPTY: Name = Name {
        bytes: [0; MAX_NAME],
        len: 0,
    };

    /// `None` if `s` is empty, too long, or has a byte outside the name alphabet.
    pub fn new(s: &[u8]) -> Option<Name> {
        if !Name::valid(s) {
            return None;
        }
        let mut name = Name::EMPTY;
        name.push(s);
        Some(name)
    }
    /// Whether `s` makes a name: 1 to [`MAX_NAME`] bytes of the alphabet.
    /// The parser checks first and then pushes the bytes into the name's
    /// final place, rather than moving a built `Name` there.
    pub(crate) fn valid(s: &[u8]) -> bool {
        !s.is_empty() && s.len() <= MAX_NAME && s.iter().all(|&b| in_set(&NAME_SET, b))
    }
    /// Not inlined, like [`Span::get`]: the range check costs more than a call.
    #[inline(never)]
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..self.len as usize).unwrap_or(&[])
    }
    /// Appends `s` as far as it fits, each byte outside the alphabet as
    /// `_` (so an inittab id makes a valid name).
    pub(crate) fn push(&mut self, s: &[u8]) {
        for &b in s {
            if let Some(slot) = self.bytes.get_mut(usize::from(self.len)) {
                *slot = if in_set(&NAME_SET, b) { b } else { b'_' };
                self.len += 1;
            }
        }
    }
    /// Names are ASCII by construction.
    pub fn as_str(&self) -> &str {
        core::str::from_utf8(self.as_bytes()).unwrap_or("?")
    }
}

/// Whether `s` holds `b`. A plain loop: `<[u8]>::contains` links `memchr`
/// (a few hundred bytes in foster's binary, which has no other use for it).
#[inline(never)]
pub fn has_byte(s: &[u8], b: u8) -> bool {
    for &c in s {
        if c == b {
            return true;
        }
    }
    false
}

pub fn is_name_byte(b: u8) -> bool {
    in_set(&NAME_SET, b)
}

/// The name alphabet as a set of bytes (see [`byte_set`]). [`Name`]'s
/// loops test it in place, not through [`is_name_byte`] (measured: a call
/// per byte cost 48 B of code and 1.3% of the parse's instructions).
const NAME_SET: [u32; 4] =
    byte_set(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.@+-");

/// A set of ASCII bytes as 128 bits: one table lookup tests a byte, where
/// a chain of range and byte compares costs more code. (Indexing here runs
/// at compile time: an out-of-range index would fail the build, not panic.)
#[allow(clippy::indexing_slicing)]
pub(crate) const fn byte_set(bytes: &[u8]) -> [u32; 4] {
    let mut set = [0u32; 4];
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i] as usize;
        set[b / 32] |= 1 << (b % 32);
        i += 1;
    }
    set
}

/// Whether `b` is in `set` (made by [`byte_set`]); never for a byte past ASCII.
/// Inlined: its callers test a byte at a time, and a call each cost more
/// (measured: 2% of the parse's instructions) and more code.
#[inline(always)]
pub(crate) fn in_set(set: &[u32; 4], b: u8) -> bool {
    set.get(usize::from(b / 32))
        .is_some_and(|w| w & (1 << (b % 32)) != 0)
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
    /// The kind's own keyword (`service` for both `service` and `respawn`).
    pub fn word(self) -> &'static [u8] {
        nth_piece(parse::KIND_WORDS, b' ', self as usize).unwrap_or(b"")
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
    /// Lines appended to a file: the path is the entry's [`Text::Log`].
    File,
}

/// The string-valued options of an [`Entry`] and its command, each a raw
/// token in [`Entry::texts`] (read them with [`Entry::text`]). One array
/// rather than a field each: the parser, reload's comparison and `foster
/// check` walk them in loops.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Text {
    /// `tty=` (native) or the inittab id (not set for an empty id: the
    /// console). Either an absolute path or a name under `/dev/`: the init
    /// prepends `/dev/` when the unquoted value does not start with `/`.
    Tty,
    /// `user=`: a name or a numeric uid. Default: foster's own.
    User,
    /// `group=`: a name or a numeric gid. Default: the user's, or foster's.
    Group,
    /// `dir=`: the working directory. Default: foster's.
    Dir,
    /// `pidfile=` (an absolute path). Default: none.
    Pidfile,
    /// The path of `log=PATH` (set exactly when the log is [`Log::File`]).
    Log,
    /// The command, always set. Native syntax: the raw command text
    /// (blank-separated words with `'..'`, `".."` and `\` quoting; already
    /// checked to be well-formed). BusyBox syntax: the process field without
    /// a leading `-` (see [`Entry::login`]), run as `/bin/sh -c "exec ..."`
    /// if it holds shell metacharacters, else split on blanks.
    Command,
}

/// How many [`Text`]s an entry has.
pub const TEXTS: usize = Text::Command as usize + 1;

/// What `on-exit=` does, in the order of the init's own outcomes (exit,
/// poweroff, reboot, halt): turning one into the other is then mostly a
/// copy. A plain byte, like the other small fields of an [`Entry`]: the
/// status of `exit:CODE` is [`Entry::exit_code`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum OnExit {
    /// End foster (sub-init) with [`Entry::exit_code`].
    Exit,
    Poweroff,
    Reboot,
    Halt,
    /// End foster with the entry's own status (`128+N` when killed by
    /// signal N), as tini passes on its child's.
    ExitStatus,
    /// Not set (the default): the entry's end changes nothing. Read
    /// [`Entry::on_exit`] to have it as `None`.
    Nothing,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Syntax {
    Native,
    Inittab,
}

/// Milliseconds.
pub type Millis = u64;

/// `backoff=` default: the first restart waits 100 ms...
pub const DEFAULT_BACKOFF_MIN: Millis = 100;
/// ...doubling up to 30 s.
pub const DEFAULT_BACKOFF_MAX: Millis = 30_000;
/// A BusyBox line's backoff stops doubling at 1 s: BusyBox init restarts a
/// `respawn` or `askfirst` line at most once a second, however often it failed.
pub const INITTAB_BACKOFF_MAX: Millis = 1_000;
/// `timeout=` default: how long a stopping entry gets before SIGKILL.
pub const DEFAULT_STOP_TIMEOUT: Millis = 5_000;
/// A BusyBox `shutdown` line's bound, as it cannot set `timeout=`: BusyBox
/// waits for one without a limit, so an `rcK` that stops a database or a
/// slow `umount` gets a minute, not 5 s; a shutdown still never hangs.
pub const INITTAB_SHUTDOWN_TIMEOUT: Millis = 60_000;
/// `stop=` default.
pub const SIGTERM: u8 = 15;
/// Lowest `ready=fd:N` (0..2 are stdio).
pub const MIN_READY_FD: u8 = 3;

/// One line of the table. String-valued options are raw tokens (they may be
/// quoted): pass them through [`unquote`] before use. Every field not set on
/// the line holds its default, noted per field.
///
/// The small fields are plain values, an option not set holding a value no
/// set one has (read them through the methods of the same name): reload's
/// comparison reads the first eleven bytes of them as two numbers.
///
/// `repr(C)`, small fields first, then the spans, the durations, the name
/// and the long lists last: the fields code reads most sit within a
/// one-byte displacement of the entry's address, also where the init embeds
/// an entry after fields of its own (the order measured smallest across the
/// binary).
#[derive(PartialEq, Eq, Debug)]
#[repr(C)]
pub struct Entry {
    pub kind: Kind,
    pub syntax: Syntax,
    /// `restart=`. Default: `Always` for service and askfirst, `Never` for
    /// every other kind. An explicit `restart=` is honoured on once, service
    /// and askfirst (a `once` entry with `restart=on-failure` is retried
    /// until it succeeds); on the other kinds it is an error.
    pub restart: RestartPolicy,
    /// `stop=`. Default: [`SIGTERM`].
    pub stop_signal: u8,
    /// `ready=fd:N`, N in [`MIN_READY_FD`]..=255, or 0 for none (ready
    /// when started, the default): read it with [`Entry::ready_fd`].
    pub ready_fd: u8,
    /// `log=`. Default: [`Log::Console`].
    pub log: Log,
    /// `umask=` (octal, at most 0777), or [`NO_UMASK`] (inherited, the
    /// default): read it with [`Entry::umask`].
    pub umask: u16,
    /// BusyBox syntax: the process had a leading `-` (a login shell).
    /// Always false for native lines.
    pub login: bool,
    /// `on-exit=`, or [`OnExit::Nothing`] (the default): read it with
    /// [`Entry::on_exit`].
    pub on_exit: OnExit,
    /// The status of `on-exit=exit:CODE` ([`OnExit::Exit`]); 0 otherwise.
    pub exit_code: u8,
    /// 1-based line of the entry's first token.
    pub line: u32,
    /// The string-valued options and the command, indexed by [`Text`]; an
    /// empty span is an option not set (a set one is never empty: its raw
    /// token has at least one byte). Default: none set.
    pub texts: [Span; TEXTS],
    /// `timeout=`. Default: [`DEFAULT_STOP_TIMEOUT`].
    pub timeout: Millis,
    /// `backoff=MIN..MAX`. Default: [`DEFAULT_BACKOFF_MIN`]..[`DEFAULT_BACKOFF_MAX`];
    /// always `0 < MIN <= MAX`.
    pub backoff_min: Millis,
    pub backoff_max: Millis,
    /// Native: the name on the line. Inittab: generated, see [`parse`].
    pub name: Name,
    /// `env=KEY=VALUE` tokens (the part after `env=`), in order.
    pub env: List<Span, MAX_ENV>,
    /// `after=NAME`, in order; every name is a once/service/askfirst/sysinit/wait
    /// entry of the same table (checked by [`parse`]).
    pub after: List<Name, MAX_AFTER>,
}

/// The `umask` field of an [`Entry`] without `umask=` (no umask is that
/// large).
pub const NO_UMASK: u16 = u16::MAX;

impl Entry {
    /// `ready=fd:N`: the fd, if set.
    pub fn ready_fd(&self) -> Option<u8> {
        (self.ready_fd != 0).then_some(self.ready_fd)
    }
    /// `umask=`: the mask, if set.
    pub fn umask(&self) -> Option<u16> {
        (self.umask != NO_UMASK).then_some(self.umask)
    }
    /// `on-exit=`, if set.
    pub fn on_exit(&self) -> Option<OnExit> {
        (self.on_exit != OnExit::Nothing).then_some(self.on_exit)
    }
    /// The raw token of text option `t`; empty when it is not set.
    pub fn text(&self, t: Text) -> Span {
        self.texts.get(t as usize).copied().unwrap_or_default()
    }
    /// Whether text option `t` is set.
    pub fn has(&self, t: Text) -> bool {
        self.text(t).len > 0
    }
    /// Clears text option `t`.
    pub fn unset(&mut self, t: Text) {
        if let Some(s) = self.texts.get_mut(t as usize) {
            *s = Span::default();
        }
    }
}

/// Every field is `Copy`: a clone is a plain copy of the bytes, not a
/// field-by-field walk (the type itself is not `Copy`, so copies of this
/// large struct stay visible as `clone()`).
impl Clone for Entry {
    fn clone(&self) -> Entry {
        Entry { ..*self }
    }
}

/// A short list with a fixed capacity, read as a slice. Unlike
/// `heapless::Vec` it is `Copy`, so an [`Entry`] clones as plain bytes.
#[derive(Clone, Copy)]
pub struct List<T, const N: usize> {
    items: [T; N],
    len: u8,
}

impl<T: Copy, const N: usize> List<T, N> {
    /// An empty list; `fill` only stands in the unused slots.
    pub(crate) const fn new(fill: T) -> List<T, N> {
        List {
            items: [fill; N],
            len: 0,
        }
    }

    /// Appends `item`, or hands it back when the list is full.
    pub(crate) fn push(&mut self, item: T) -> Result<(), T> {
        let slot = self.items.get_mut(usize::from(self.len)).ok_or(item)?;
        *slot = item;
        self.len += 1;
        Ok(())
    }

    /// Appends an item and returns it to be filled in place: it holds the
    /// list's `fill` until then. `None` when the list is full.
    pub(crate) fn push_slot(&mut self) -> Option<&mut T> {
        let slot = self.items.get_mut(usize::from(self.len))?;
        self.len += 1;
        Some(slot)
    }

    /// The list padded to its capacity with its fill (unused slots hold it
    /// until a push). An [`Entry`]'s lists are filled with an empty span or
    /// name, which no item is: a walk over all of them needs no length and
    /// finds nothing in the padding.
    pub fn padded(&self) -> &[T; N] {
        &self.items
    }

    /// Inlined: foster reads each list type through it in one place
    /// (measured: 16 B smaller than a call).
    pub fn as_slice(&self) -> &[T] {
        self.items.get(..usize::from(self.len)).unwrap_or(&[])
    }
}

impl<T: Copy, const N: usize> core::ops::Deref for List<T, N> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        self.as_slice()
    }
}

impl<'a, T: Copy, const N: usize> IntoIterator for &'a List<T, N> {
    type Item = &'a T;
    type IntoIter = core::slice::Iter<'a, T>;
    // Measured: smaller not inlined.
    #[inline(never)]
    fn into_iter(self) -> Self::IntoIter {
        self.as_slice().iter()
    }
}

impl<T: Copy + PartialEq, const N: usize> PartialEq for List<T, N> {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl<T: Copy + Eq, const N: usize> Eq for List<T, N> {}

impl<T: Copy + core::fmt::Debug, const N: usize> core::fmt::Debug for List<T, N> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        self.as_slice().fmt(f)
    }
}

/// A parsed table: the entries that parsed cleanly, in file order. `N` is the
/// capacity; foster uses [`Table`] (`N` = [`MAX_ENTRIES`]); larger tables are
/// for benchmarks and tools.
#[derive(Clone, Debug, Default)]
pub struct TableN<const N: usize> {
    pub entries: heapless::Vec<Entry, N>,
}

/// The table foster runs: at most [`MAX_ENTRIES`] entries.
pub type Table = TableN<MAX_ENTRIES>;

/// For [`TableN::keep_names`]: whether a running entry's name is taken
/// already by a line kept before.
pub type Taken<'t> = &'t dyn Fn(&Name) -> bool;

impl<const N: usize> TableN<N> {
    pub const fn new() -> TableN<N> {
        TableN {
            entries: heapless::Vec::new(),
        }
    }

    /// The entry named `name`, with its index.
    pub fn get(&self, name: &[u8]) -> Option<(usize, &Entry)> {
        for (i, e) in self.entries.iter().enumerate() {
            if e.name.as_bytes() == name {
                return Some((i, e));
            }
        }
        None
    }
}

impl Table {
    /// Before a reload: BusyBox keeps an inittab line by its process and tty,
    /// not by its place, so each inittab entry takes the name of the running
    /// entry `old` finds for it by [`Entry::same_line`] (so never for a
    /// native entry), and the inittab entry that had that name takes its
    /// generated one: names stay unique, and a line added above others
    /// neither restarts them nor runs a `once` again.
    // Inlined into the init's one call (measured: smaller).
    #[inline]
    pub fn keep_names<'a>(&mut self, old: &dyn Fn(&Entry, Taken) -> Option<&'a Name>) {
        // The entries that took a running name, as bits (a table holds at
        // most 64): `old` is told it is taken, so a repeated line's copies
        // each find their own.
        const { assert!(MAX_ENTRIES <= 64) };
        let mut kept = 0u64;
        for i in 0..self.entries.len() {
            let Some(e) = self.entries.get(i) else {
                continue;
            };
            // A `move` closure: it holds the table and the bits themselves,
            // not a reference to each (measured: 32 B smaller).
            let table = &*self;
            let taken = move |n: &Name| {
                table
                    .get(n.as_bytes())
                    .is_some_and(|(h, _)| kept >> h & 1 != 0)
            };
            let Some(name) = old(e, &taken) else {
                continue;
            };
            let mine = e.name;
            // Names are unique: at most one entry holds `name` now. A native
            // entry keeps its own; an inittab one takes `mine` in exchange.
            if let Some((h, held)) = self.get(name.as_bytes()) {
                if held.syntax != Syntax::Inittab {
                    continue;
                }
                if let Some(h) = self.entries.get_mut(h) {
                    h.name = mine;
                }
            }
            if let Some(e) = self.entries.get_mut(i) {
                e.name = *name;
            }
            kept |= 1 << i;
        }
    }
}

/// BusyBox init's built-in table (init/init.c, `parse_inittab` with no file),
/// used when no table file exists. Its entries in BusyBox's order within
/// each kind; the lines that reach the machine's own terminals, filesystems
/// and swap last, from [`BUSYBOX_DEFAULT_IN_CONTAINER`] on.
pub const BUSYBOX_DEFAULT_TABLE: &[u8] = b"\
::sysinit:/etc/init.d/rcS
::askfirst:-/bin/sh
::ctrlaltdel:reboot
::restart:init
tty2::askfirst:-/bin/sh
tty3::askfirst:-/bin/sh
tty4::askfirst:-/bin/sh
::shutdown:umount -a -r
::shutdown:swapoff -a
";

/// How much of [`BUSYBOX_DEFAULT_TABLE`] a container runs: the lines before
/// `tty2`. A container has no virtual terminals, filesystems or swap of its
/// own (its /dev shows the host's terminals; a volume's superblock and
/// /proc/swaps are the host's), so it runs no `askfirst` on `tty2`..`tty4`
/// and no `umount -a -r` or `swapoff -a` at its end.
pub const BUSYBOX_DEFAULT_IN_CONTAINER: usize = {
    // Just after the newline that a `t` follows.
    let mut rest = BUSYBOX_DEFAULT_TABLE;
    while let [b, more @ ..] = rest {
        if *b == b'\n' && matches!(more, [b't', ..]) {
            break;
        }
        rest = more;
    }
    BUSYBOX_DEFAULT_TABLE.len() - rest.len() + 1
};
