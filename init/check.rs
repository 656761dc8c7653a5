//! `foster check TABLE`: parse a table as foster would run it and say what
//! would happen. Every error is printed as `TABLE:LINE:COL: message` with the
//! source line and a caret (exit 1); a clean table prints the plan: one row per
//! entry in start order with its kind, name, the options that differ from the
//! defaults, and the argv foster would exec (exit 0).
//!
//! Output goes through a fixed buffer flushed to the fd when full, so rows of
//! any length come out whole and no allocation is needed.

use crate::sys::{self, RawFd};
use config_format::{
    parse_into, unquote, Argv, ArgvError, Entry, Error, Log, Millis, OnExit, RestartPolicy, Sink,
    Span, Table, MAX_TABLE_BYTES,
};

/// Checks the table at `path`; returns the exit status.
#[inline(never)]
pub fn run(path: &core::ffi::CStr) -> i32 {
    let mut buf = [0u8; MAX_TABLE_BYTES];
    let file = path.to_bytes();
    let len = match sys::read_file_blocking(path, &mut buf) {
        Ok(n) => n,
        Err(e) => {
            crate::log::unable("read ", file, "", e);
            return 1;
        }
    };
    let src = buf.get(..len).unwrap_or(&[]);
    let mut err = FdWriter::new(sys::STDERR);
    let mut errors = 0u32;
    // Parsed in place: `parse` would return the table by value, a copy of
    // its 23 KB.
    let mut table = Table::new();
    parse_into(src, &mut table, &mut |e: &Error| {
        errors += 1;
        e.report(file, src, &mut err);
    });
    if errors > 0 {
        // Through the same writer as the errors: no line buffer needed.
        err.s("foster: ").put(file).s(": ").u(u64::from(errors));
        err.s(if errors == 1 { " error\n" } else { " errors\n" });
        err.flush();
        return 1;
    }
    let mut out = FdWriter::new(sys::STDOUT);
    plan(file, src, &table, &mut out);
    out.flush();
    0
}

/// Rows like
/// `    3  service     web        user=www after=db  argv: ["/usr/bin/httpd", "-f"]`.
fn plan(file: &[u8], src: &[u8], table: &Table, w: &mut FdWriter) {
    let order = table.start_order();
    let n = table.entries.len();
    w.put(file);
    w.s(": ok, ").u(n as u64);
    w.s(if n == 1 { " entry" } else { " entries" });
    w.s(" in start order\n");
    // A plain loop: `max` over the iterator also computes its length.
    let mut name_width = 4;
    for e in &table.entries {
        name_width = name_width.max(e.name.as_bytes().len());
    }
    row(w, None, b"kind", b"name", name_width);
    w.s(" options / argv\n");
    let mut argv = Argv::new();
    for (k, &i) in order.iter().enumerate() {
        let Some(e) = table.entries.get(usize::from(i)) else {
            continue;
        };
        row(
            w,
            Some(k as u64 + 1),
            e.kind.as_str().as_bytes(),
            e.name.as_bytes(),
            name_width,
        );
        options(src, e, w);
        w.s("  argv: ");
        match e.argv(src, &mut argv) {
            Ok(()) => {
                w.put_byte(b'[');
                for k in 0..argv.len() {
                    if k > 0 {
                        w.s(", ");
                    }
                    quoted(argv.word(k).unwrap_or(&[]), w);
                }
                w.put_byte(b']');
                let word0 = argv.word(0).unwrap_or(&[]);
                let program = argv
                    .program_with_nul()
                    .and_then(sys::cstr)
                    .map_or(&[][..], |p| p.to_bytes());
                if program != word0 {
                    w.s(" program: ");
                    quoted(program, w);
                }
            }
            Err(err) => {
                w.s("(unusable: ");
                w.s(match err {
                    ArgvError::Empty => "Empty",
                    ArgvError::TooManyWords => "TooManyWords",
                    ArgvError::TooLong => "TooLong",
                });
                w.put_byte(b')');
            }
        }
        w.s("\n");
    }
}

/// The row number right-aligned in 5 columns (`#` for the header), then kind
/// and name left-aligned, kind followed by two blanks and name by one (each
/// option then starts with its own).
#[inline(never)]
fn row(w: &mut FdWriter, number: Option<u64>, kind: &[u8], name: &[u8], name_width: usize) {
    let mut digits = [0u8; 20];
    let num = match number {
        Some(n) => crate::out::decimal(n, &mut digits),
        None => b"#",
    };
    w.blanks(5usize.saturating_sub(num.len()));
    w.put(num);
    w.s("  ").put(kind);
    w.blanks(10usize.saturating_sub(kind.len()));
    w.s("  ").put(name);
    w.blanks(name_width.saturating_sub(name.len()) + 1);
}

/// The options of `e` that differ from the defaults, each after a blank.
/// Values are shown unquoted (re-quoted when they hold a blank or a quote).
#[inline(never)]
fn options(src: &[u8], e: &Entry, w: &mut FdWriter) {
    text(src, " tty=", &e.tty, w);
    text(src, " user=", &e.user, w);
    text(src, " group=", &e.group, w);
    text(src, " dir=", &e.dir, w);
    for env in &e.env {
        text(src, " env=", &Some(*env), w);
    }
    if let Some(m) = e.umask {
        // At most 0o777: three octal digits, the highest first.
        w.s(" umask=");
        let mut shift = 9;
        while shift > 0 {
            shift -= 3;
            w.put_byte(b'0' + ((m >> shift) & 7) as u8);
        }
    }
    match e.log {
        Log::Console => {}
        Log::Null => {
            w.s(" log=null");
        }
        Log::Kmsg => {
            w.s(" log=kmsg");
        }
        Log::File(s) => text(src, " log=", &Some(s), w),
    }
    let default_restart = if e.kind.respawns() {
        RestartPolicy::Always
    } else {
        RestartPolicy::Never
    };
    if e.restart != default_restart {
        w.s(match e.restart {
            RestartPolicy::Always => " restart=always",
            RestartPolicy::OnFailure => " restart=on-failure",
            RestartPolicy::Never => " restart=never",
        });
    }
    if (e.backoff_min, e.backoff_max)
        != (
            config_format::DEFAULT_BACKOFF_MIN,
            config_format::DEFAULT_BACKOFF_MAX,
        )
    {
        w.s(" backoff=");
        duration(e.backoff_min, w);
        w.s("..");
        duration(e.backoff_max, w);
    }
    for a in &e.after {
        w.s(" after=").put(a.as_bytes());
    }
    if let Some(fd) = e.ready_fd {
        w.s(" ready=fd:").u(u64::from(fd));
    }
    text(src, " pidfile=", &e.pidfile, w);
    if e.stop_signal != config_format::SIGTERM {
        w.s(" stop=");
        match config_format::signal_name(e.stop_signal) {
            Some(name) => w.s(name),
            None => w.u(u64::from(e.stop_signal)),
        };
    }
    if e.timeout != config_format::DEFAULT_STOP_TIMEOUT {
        w.s(" timeout=");
        duration(e.timeout, w);
    }
    if let Some(on_exit) = e.on_exit {
        w.s(" on-exit=");
        match on_exit {
            OnExit::Poweroff => w.s("poweroff"),
            OnExit::Reboot => w.s("reboot"),
            OnExit::Halt => w.s("halt"),
            OnExit::Exit(code) => w.s("exit:").u(u64::from(code)),
            OnExit::ExitStatus => w.s("exit"),
        };
    }
}

/// ` KEY=VALUE` for an option that is set. By reference: an `Option<Span>`
/// passed by value goes through memory at every call.
#[inline(never)]
fn text(src: &[u8], key: &str, s: &Option<Span>, w: &mut FdWriter) {
    if let Some(s) = *s {
        w.s(key);
        value(src, s, w);
    }
}

/// An option value, unquoted when it fits the scratch buffer.
fn value(src: &[u8], s: Span, w: &mut FdWriter) {
    let raw = s.get(src);
    let mut buf = [0u8; 256];
    match unquote(raw, &mut buf).and_then(|n| buf.get(..n)) {
        Some(v) if !v.iter().any(|&b| b == b' ' || b == b'"') => bytes(v, w),
        Some(v) => quoted(v, w),
        None => bytes(raw, w),
    }
}

/// The largest whole unit: `0s`, `2h`, `90m`, `30s`, `1500ms`.
fn duration(ms: Millis, w: &mut FdWriter) {
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
    w.u(n).s(match unit {
        0 => "ms",
        1 => "s",
        2 => "m",
        _ => "h",
    });
}

/// Bytes with non-printables escaped (CR as `\x0d`).
#[inline(never)]
fn bytes(b: &[u8], w: &mut FdWriter) {
    for &c in b {
        w.put(config_format::escape(c, false, &mut [0; 4]));
    }
}

/// `"word"`, with `"` and `\` escaped too.
fn quoted(b: &[u8], w: &mut FdWriter) {
    w.put_byte(b'"');
    for &c in b {
        if c == b'"' || c == b'\\' {
            w.put_byte(b'\\');
        }
        bytes(&[c], w);
    }
    w.put_byte(b'"');
}

/// Text to an fd through a fixed buffer, written out when full.
struct FdWriter {
    fd: RawFd,
    buf: [u8; 2048],
    len: usize,
}

impl FdWriter {
    // Not inlined: one zero-fill of the buffer serves both writers.
    #[inline(never)]
    fn new(fd: RawFd) -> FdWriter {
        FdWriter {
            fd,
            buf: [0; 2048],
            len: 0,
        }
    }

    fn flush(&mut self) {
        crate::out::put(self.fd, self.buf.get(..self.len).unwrap_or(&[]));
        self.len = 0;
    }

    #[inline(never)]
    fn put_byte(&mut self, b: u8) -> &mut FdWriter {
        if self.len == self.buf.len() {
            self.flush();
        }
        if let Some(slot) = self.buf.get_mut(self.len) {
            *slot = b;
            self.len += 1;
        }
        self
    }

    #[inline(never)]
    fn put(&mut self, bytes: &[u8]) -> &mut FdWriter {
        for &b in bytes {
            self.put_byte(b);
        }
        self
    }

    fn s(&mut self, s: &str) -> &mut FdWriter {
        self.put(s.as_bytes())
    }

    fn u(&mut self, n: u64) -> &mut FdWriter {
        let mut digits = [0u8; 20];
        self.put(crate::out::decimal(n, &mut digits))
    }

    fn blanks(&mut self, n: usize) {
        for _ in 0..n {
            self.put_byte(b' ');
        }
    }
}

impl Sink for FdWriter {
    fn put(&mut self, bytes: &[u8]) {
        FdWriter::put(self, bytes);
    }
}
