//! `foster check TABLE`: parse a table as foster would run it and say what
//! would happen. Every error is printed as `TABLE:LINE:COL: message` with the
//! source line and a caret (exit 1); a clean table prints the plan: one row per
//! entry in start order with its kind, name, the options that differ from the
//! defaults, and the argv foster would exec (exit 0).
//!
//! Output goes through one spilling `out::Line`, written to the fd whenever
//! it is full, so rows of any length come out whole and no allocation is
//! needed. The closing error count is one of foster's own lines
//! (`single::say`), cut at a line's length as they all are.

use crate::bytes::nth_piece;
use crate::out::Line;
use crate::sys::{self, Errno};
use crate::texts::{text, Packed};
use config_format::{
    parse_into, unquote, Argv, Entry, Error, Log, Millis, OnExit, RestartPolicy, Span, Table, Text,
    MAX_TABLE_BYTES,
};

/// The names of `RestartPolicy`, `Log` and `ArgvError` values, in
/// declaration order (the enums' discriminants index them; `Log::File`
/// shows its path instead): word lists, not `match`es to `&str`, which are
/// a 16-byte table entry per value. The first two are the very bytes of
/// the table parser's lists (the binary holds one copy); the last, only
/// here, a text of the catalog.
const RESTART_POLICIES: &[u8] = b"always on-failure never";
const LOGS: &[u8] = b"console null kmsg";
const ARGV_ERRORS: Packed = text!("Empty TooManyWords TooLong");
/// The word of an `on-exit=` action in [`crate::SHUTDOWNS`] (`poweroff
/// reboot halt exit`, the applets' list): `OnExit` declares `Exit` (with a
/// code) first, then the three in that order, then `ExitStatus` (the
/// entry's own status): both exits are word 3. One copy of the words.
fn on_exit_word(on_exit: OnExit) -> usize {
    (on_exit as usize + 3) % 4
}

/// Checks the table at `path`; returns the exit status.
#[inline(never)]
pub fn run(path: &core::ffi::CStr) -> i32 {
    let mut buf = [core::mem::MaybeUninit::uninit(); MAX_TABLE_BYTES];
    let file = path.to_bytes();
    let src = match sys::read_file_blocking(path, &mut buf) {
        Ok(src) => src,
        Err(e) => {
            crate::log::unable(text!("read "), file, e);
            return 1;
        }
    };
    // One writer: the errors to stderr, else the plan to stdout.
    let mut w = Line::new();
    w.spill_to(sys::STDERR);
    let mut errors = 0u32;
    // Parsed in place: `parse` would return the table by value, a copy of
    // its 23 KB.
    let mut table = Table::new();
    parse_into(src, &mut table, &mut |e: &Error| {
        errors += 1;
        e.report(file, src, &mut w);
    });
    if errors > 0 {
        // The reports, then the count: one of foster's own lines.
        let _ = w.spill();
        let count = match errors {
            1 => text!("@: # error"),
            _ => text!("@: # errors"),
        };
        crate::single::say(count, file, errors.into(), 0);
        return 1;
    }
    // Nothing written yet: the line is empty.
    w.spill_to(sys::STDOUT);
    plan(&mut w, file, src, &table);
    // A plan that did not reach its reader is no success.
    match w.spill() {
        Errno::NONE => 0,
        e => crate::failed(text!("write the plan"), e),
    }
}

/// Rows like
/// `    3  service     web        user=www after=db  argv: ["/usr/bin/httpd", "-f"]`.
fn plan(w: &mut Line, file: &[u8], src: &[u8], table: &Table) {
    let order = table.start_order();
    let n = table.entries.len();
    w.bytes(file);
    w.t(text!(": ok, ")).u(n as u64);
    w.t(if n == 1 {
        text!(" entry in start order\n")
    } else {
        text!(" entries in start order\n")
    });
    // A plain loop: `max` over the iterator also computes its length.
    let mut name_width = 4;
    for e in &table.entries {
        name_width = name_width.max(e.name.as_bytes().len());
    }
    // The header, laid out as `row` lays out an entry.
    w.t(text!("    #  kind        name"));
    w.pad(3, name_width);
    w.t(text!(" options / argv\n"));
    // Evaluated at compile time: an all-zero constant is one memset, where
    // `Argv::new()` at run time fills its word array in a loop and copies it.
    let mut argv = const { Argv::new() };
    for (k, &i) in order.iter().enumerate() {
        let Some(e) = table.entries.get(usize::from(i)) else {
            continue;
        };
        row(w, k as u64 + 1, e, name_width);
        options(w, e, src);
        w.t(text!("  argv: "));
        match e.argv(src, &mut argv) {
            Ok(()) => {
                // Never empty: `argv` fails on an empty command.
                let mut sep = "[";
                for k in 0..argv.len() {
                    w.s(sep);
                    sep = ", ";
                    bytes(w, argv.word(k), true);
                }
                w.byte(b']');
                // Only a login shell execs other than word 0: the program
                // is word 0 without the dash `argv` added.
                if e.login {
                    w.t(text!(" program: "));
                    bytes(w, argv.word(0).and_then(|p| p.get(1..)), true);
                }
            }
            Err(err) => {
                w.t(text!("(unusable: "))
                    .piece(ARGV_ERRORS, err as usize, b' ');
                w.byte(b')');
            }
        }
        w.byte(b'\n');
    }
}

/// The row number right-aligned in 5 columns, then kind and name
/// left-aligned, kind followed by two blanks and name by one (each option
/// then starts with its own).
fn row(w: &mut Line, number: u64, e: &Entry, name_width: usize) {
    // At most MAX_ENTRIES (64) rows: one or two digits.
    const _: () = assert!(config_format::MAX_ENTRIES < 100);
    w.pad(1 + usize::from(number >= 10), 5);
    w.u(number);
    // Kind and name looked up where they are printed: not kept across the
    // calls before.
    let kind = e.kind.word();
    w.s("  ").bytes(kind);
    // Kind names are at most 10 bytes: padded to 10, then two blanks.
    w.pad(kind.len(), 12);
    let name = e.name.as_bytes();
    w.bytes(name);
    w.pad(name.len(), name_width + 1);
}

/// The option keys `options` prints (the constants below index them, pinned
/// by a test): one word list and one call per key instead of a ` key=`
/// string at every place. The very bytes of the table parser's key list, in
/// its order (not the order they are printed in): the binary holds one copy.
const KEYS: &[u8] =
    b"tty user group dir pidfile log env umask restart backoff after ready stop timeout on-exit";
/// `tty=` to `log=` come first, in [`Text`] order: one loop prints `tty=`
/// to `dir=`.
const DIR: usize = Text::Dir as usize;
const PIDFILE: usize = Text::Pidfile as usize;
const LOG: usize = Text::Log as usize;
const ENV: usize = 6;
const UMASK: usize = 7;
const RESTART: usize = 8;
const BACKOFF: usize = 9;
const AFTER: usize = 10;
const READY: usize = 11;
const STOP: usize = 12;
const TIMEOUT: usize = 13;
const ON_EXIT: usize = 14;

/// The options of `e` that differ from the defaults, each after a blank.
/// Values are shown unquoted (re-quoted when they hold a blank or a quote).
fn options(w: &mut Line, e: &Entry, src: &[u8]) {
    for (k, &s) in e.texts.iter().enumerate().take(DIR + 1) {
        value(w, k, s, src);
    }
    for env in &e.env {
        value(w, ENV, *env, src);
    }
    if let Some(m) = e.umask() {
        // At most 0o777: three octal digits, the highest first.
        key(w, UMASK);
        let mut shift = 9;
        while shift > 0 {
            shift -= 3;
            w.byte(b'0' + ((m >> shift) & 7) as u8);
        }
    }
    // A file's path (set only for `Log::File`), or the word of the others
    // but the default.
    value(w, LOG, e.text(Text::Log), src);
    if matches!(e.log, Log::Null | Log::Kmsg) {
        word(key(w, LOG), LOGS, e.log as usize);
    }
    let default_restart = if e.kind.respawns() {
        RestartPolicy::Always
    } else {
        RestartPolicy::Never
    };
    if e.restart != default_restart {
        word(key(w, RESTART), RESTART_POLICIES, e.restart as usize);
    }
    if (e.backoff_min, e.backoff_max)
        != (
            config_format::DEFAULT_BACKOFF_MIN,
            config_format::DEFAULT_BACKOFF_MAX,
        )
    {
        key(w, BACKOFF);
        duration(w, e.backoff_min);
        w.t(text!(".."));
        duration(w, e.backoff_max);
    }
    for a in &e.after {
        key(w, AFTER).bytes(a.as_bytes());
    }
    if let Some(fd) = e.ready_fd() {
        key(w, READY).t(text!("fd:")).u(u64::from(fd));
    }
    value(w, PIDFILE, e.text(Text::Pidfile), src);
    if e.stop_signal != config_format::SIGTERM {
        key(w, STOP);
        match config_format::signal_name(e.stop_signal) {
            Some(name) => w.bytes(name),
            None => w.u(u64::from(e.stop_signal)),
        };
    }
    if e.timeout != config_format::DEFAULT_STOP_TIMEOUT {
        key(w, TIMEOUT);
        duration(w, e.timeout);
    }
    if let Some(on_exit) = e.on_exit() {
        // The action's word, then `:CODE` for a fixed status.
        word(key(w, ON_EXIT), crate::SHUTDOWNS, on_exit_word(on_exit));
        if on_exit == OnExit::Exit {
            w.byte(b':').u(u64::from(e.exit_code));
        }
    }
}

/// ` KEY=VALUE` for an option that is set (a raw token is never empty),
/// the value unquoted when it fits the scratch buffer. Like every helper
/// here, the line first: it is then in place for the first call inside.
#[inline(never)]
fn value(w: &mut Line, k: usize, s: Span, src: &[u8]) {
    if s.len == 0 {
        return;
    }
    key(w, k);
    let raw = s.get(src);
    let mut buf = [0u8; 256];
    let (v, quote) = match unquote(raw, &mut buf).and_then(|n| buf.get(..n)) {
        // Quoted whenever the bare value would read back otherwise.
        Some(v) => (
            v,
            v.iter().any(|&b| matches!(b, b' ' | b'"' | b'\'' | b'\\')),
        ),
        None => (raw, false),
    };
    bytes(w, Some(v), quote);
}

/// The largest whole unit: `0s`, `2h`, `90m`, `30s`, `1500ms`.
fn duration(w: &mut Line, ms: Millis) {
    // Up from milliseconds while the count stays whole (zero shows in
    // seconds). A counter rather than a table of (scale, unit) pairs:
    // smaller code.
    let (mut n, mut unit) = (ms, usize::from(ms == 0));
    while n > 0 && unit < 3 {
        let scale = if unit == 0 { 1000 } else { 60 };
        if n % scale != 0 {
            break;
        }
        n /= scale;
        unit += 1;
    }
    // A word list, not a `match` to `&str`: that is a 16-byte table entry
    // per unit.
    word(w.u(n), b"ms s m h", unit);
}

/// Bytes with non-printables escaped (CR as `\x0d`); `quoted`: in double
/// quotes, with `"` and `\` escaped too. `None` shows as no bytes: the
/// callers' lookups pass their result as it is (one `unwrap_or` here, not
/// one at each call).
#[inline(never)]
fn bytes(w: &mut Line, b: Option<&[u8]>, quoted: bool) {
    if quoted {
        w.byte(b'"');
    }
    for &c in b.unwrap_or_default() {
        if quoted && (c == b'"' || c == b'\\') {
            w.byte(b'\\');
        }
        w.bytes(config_format::escape(c, false, &mut [0; 4]));
    }
    if quoted {
        w.byte(b'"');
    }
}

/// ` KEY=` for key number `k` of [`KEYS`].
#[inline(never)]
fn key(w: &mut Line, k: usize) -> &mut Line {
    word(w.byte(b' '), KEYS, k);
    w.byte(b'=')
}

/// Word `i` of the blank-separated `list`. Through [`bytes`], which takes
/// the lookup's `Option` as it is: the words are printable, shown as they
/// are.
#[inline(never)]
fn word(w: &mut Line, list: &[u8], i: usize) {
    bytes(w, nth_piece(list, b' ', i), false);
}

#[cfg(test)]
mod tests {
    use super::*;
    use config_format::ArgvError;

    #[test]
    fn key_numbers_name_their_keys() {
        let keys = [
            (Text::Tty as usize, "tty"),
            (Text::User as usize, "user"),
            (Text::Group as usize, "group"),
            (DIR, "dir"),
            (ENV, "env"),
            (UMASK, "umask"),
            (LOG, "log"),
            (RESTART, "restart"),
            (BACKOFF, "backoff"),
            (AFTER, "after"),
            (READY, "ready"),
            (PIDFILE, "pidfile"),
            (STOP, "stop"),
            (TIMEOUT, "timeout"),
            (ON_EXIT, "on-exit"),
        ];
        for (k, name) in keys {
            assert_eq!(nth_piece(KEYS, b' ', k), Some(name.as_bytes()), "{name}");
        }
    }

    #[test]
    fn word_lists_follow_the_declaration_order() {
        let cases = [
            (RESTART_POLICIES, RestartPolicy::Always as usize, "always"),
            (
                RESTART_POLICIES,
                RestartPolicy::OnFailure as usize,
                "on-failure",
            ),
            (RESTART_POLICIES, RestartPolicy::Never as usize, "never"),
            (LOGS, Log::Null as usize, "null"),
            (LOGS, Log::Kmsg as usize, "kmsg"),
        ];
        let on_exits = [
            (OnExit::Exit, "exit"),
            (OnExit::Poweroff, "poweroff"),
            (OnExit::Reboot, "reboot"),
            (OnExit::Halt, "halt"),
            (OnExit::ExitStatus, "exit"),
        ];
        let on_exits = on_exits.map(|(o, name)| (crate::SHUTDOWNS, on_exit_word(o), name));
        for (list, i, name) in cases.into_iter().chain(on_exits) {
            assert_eq!(nth_piece(list, b' ', i), Some(name.as_bytes()), "{name}");
        }
        let mut all = Vec::new();
        ARGV_ERRORS.each(&mut |b| all.push(b));
        let argv_errors = [
            (ArgvError::Empty, "Empty"),
            (ArgvError::TooManyWords, "TooManyWords"),
            (ArgvError::TooLong, "TooLong"),
        ];
        for (err, name) in argv_errors {
            let piece = all.split(|&b| b == b' ').nth(err as usize);
            assert_eq!(piece, Some(name.as_bytes()), "{name}");
        }
    }
}
