//! `foster check TABLE`: parse a table as foster would run it and say what
//! would happen. Every error is printed as `TABLE:LINE:COL: message` with the
//! source line and a caret (exit 1); a clean table prints the plan: one row per
//! entry in start order with its kind, name, the options that differ from the
//! defaults, and the argv foster would exec (exit 0).
//!
//! Output goes through a fixed buffer flushed to the fd when full, so rows of
//! any length come out whole and no allocation is needed.

use crate::out::Line;
use crate::sys::{self, RawFd};
use config_format::{
    parse, unquote, Argv, Entry, Error, Log, Millis, OnExit, RestartPolicy, Span, Table,
    MAX_TABLE_BYTES,
};
use core::fmt::{self, Write};

/// Checks the table at `path`; returns the exit status.
#[inline(never)]
pub fn run(path: &core::ffi::CStr) -> i32 {
    let mut buf = [0u8; MAX_TABLE_BYTES];
    let len = match sys::read_file(path, &mut buf) {
        Ok(n) => n,
        Err(e) => {
            Line::new()
                .s("foster: unable to read ")
                .bytes(path.to_bytes())
                .s(": ")
                .errno(e)
                .flush(sys::STDERR);
            return 1;
        }
    };
    let src = buf.get(..len).unwrap_or(&[]);
    let file = path.to_str().unwrap_or("TABLE");
    let mut err = FdWriter::new(sys::STDERR);
    let mut errors = 0u32;
    let table = parse(src, &mut |e: &Error| {
        errors += 1;
        let _ = e.report(file, src, &mut err);
    });
    err.flush();
    if errors > 0 {
        let mut l = Line::new();
        l.s("foster: ").s(file).s(": ").u(u64::from(errors));
        l.s(if errors == 1 { " error" } else { " errors" });
        l.flush(sys::STDERR);
        return 1;
    }
    let mut out = FdWriter::new(sys::STDOUT);
    let ok = plan(file, src, &table, &mut out).is_ok();
    out.flush();
    if ok {
        0
    } else {
        1
    }
}

/// Rows like
/// `    3  service     web        user=www after=db  argv: ["/usr/bin/httpd", "-f"]`.
fn plan(file: &str, src: &[u8], table: &Table, w: &mut dyn Write) -> fmt::Result {
    let order = table.start_order();
    let n = table.entries.len();
    writeln!(
        w,
        "{}: ok, {} {} in start order",
        file,
        n,
        if n == 1 { "entry" } else { "entries" }
    )?;
    let name_width = table
        .entries
        .iter()
        .map(|e| e.name.as_bytes().len())
        .max()
        .unwrap_or(0)
        .max(4);
    writeln!(
        w,
        "{:>5}  {:<10}  {:<width$}  options / argv",
        "#",
        "kind",
        "name",
        width = name_width
    )?;
    let mut argv = Argv::new();
    for (row, &i) in order.iter().enumerate() {
        let Some(e) = table.entries.get(usize::from(i)) else {
            continue;
        };
        write!(
            w,
            "{:>5}  {:<10}  {:<width$}  ",
            row + 1,
            e.kind.as_str(),
            e.name.as_str(),
            width = name_width
        )?;
        options(src, e, w)?;
        w.write_str(" argv: ")?;
        match e.argv(src, &mut argv) {
            Ok(()) => {
                w.write_str("[")?;
                for k in 0..argv.len() {
                    if k > 0 {
                        w.write_str(", ")?;
                    }
                    quoted(argv.word(k).unwrap_or(&[]), w)?;
                }
                w.write_str("]")?;
                let word0 = argv.word(0).unwrap_or(&[]);
                let program = argv.program().map_or(&[][..], |p| p.to_bytes());
                if program != word0 {
                    w.write_str(" program: ")?;
                    quoted(program, w)?;
                }
            }
            Err(err) => write!(w, "(unusable: {:?})", err)?,
        }
        w.write_str("\n")?;
    }
    Ok(())
}

/// The options of `e` that differ from the defaults, each followed by a blank.
/// Values are shown unquoted (re-quoted when they hold a blank or a quote).
fn options(src: &[u8], e: &Entry, w: &mut dyn Write) -> fmt::Result {
    let text = |key: &str, s: Option<Span>, w: &mut dyn Write| -> fmt::Result {
        if let Some(s) = s {
            write!(w, "{}=", key)?;
            value(src, s, w)?;
            w.write_str(" ")?;
        }
        Ok(())
    };
    text("tty", e.tty, w)?;
    text("user", e.user, w)?;
    text("group", e.group, w)?;
    text("dir", e.dir, w)?;
    for &env in &e.env {
        text("env", Some(env), w)?;
    }
    if let Some(m) = e.umask {
        write!(w, "umask={:03o} ", m)?;
    }
    match e.log {
        Log::Console => {}
        Log::Null => w.write_str("log=null ")?,
        Log::Kmsg => w.write_str("log=kmsg ")?,
        Log::File(s) => text("log", Some(s), w)?,
    }
    let default_restart = if e.kind.respawns() {
        RestartPolicy::Always
    } else {
        RestartPolicy::Never
    };
    if e.restart != default_restart {
        w.write_str(match e.restart {
            RestartPolicy::Always => "restart=always ",
            RestartPolicy::OnFailure => "restart=on-failure ",
            RestartPolicy::Never => "restart=never ",
        })?;
    }
    if (e.backoff_min, e.backoff_max)
        != (
            config_format::DEFAULT_BACKOFF_MIN,
            config_format::DEFAULT_BACKOFF_MAX,
        )
    {
        w.write_str("backoff=")?;
        duration(e.backoff_min, w)?;
        w.write_str("..")?;
        duration(e.backoff_max, w)?;
        w.write_str(" ")?;
    }
    for a in &e.after {
        write!(w, "after={} ", a.as_str())?;
    }
    if let Some(fd) = e.ready_fd {
        write!(w, "ready=fd:{} ", fd)?;
    }
    text("pidfile", e.pidfile, w)?;
    if e.stop_signal != config_format::SIGTERM {
        match config_format::signal_name(e.stop_signal) {
            Some(name) => write!(w, "stop={} ", name)?,
            None => write!(w, "stop={} ", e.stop_signal)?,
        }
    }
    if e.timeout != config_format::DEFAULT_STOP_TIMEOUT {
        w.write_str("timeout=")?;
        duration(e.timeout, w)?;
        w.write_str(" ")?;
    }
    match e.on_exit {
        None => {}
        Some(OnExit::Poweroff) => w.write_str("on-exit=poweroff ")?,
        Some(OnExit::Reboot) => w.write_str("on-exit=reboot ")?,
        Some(OnExit::Halt) => w.write_str("on-exit=halt ")?,
        Some(OnExit::Exit(code)) => write!(w, "on-exit=exit:{} ", code)?,
    }
    Ok(())
}

/// An option value, unquoted when it fits the scratch buffer.
fn value(src: &[u8], s: Span, w: &mut dyn Write) -> fmt::Result {
    let raw = s.get(src);
    let mut buf = [0u8; 256];
    match unquote(raw, &mut buf).and_then(|n| buf.get(..n)) {
        Some(v) if !v.iter().any(|&b| b == b' ' || b == b'"') => bytes(v, w),
        Some(v) => quoted(v, w),
        None => bytes(raw, w),
    }
}

fn duration(ms: Millis, w: &mut dyn Write) -> fmt::Result {
    match ms {
        0 => w.write_str("0s"),
        ms if ms % 3_600_000 == 0 => write!(w, "{}h", ms / 3_600_000),
        ms if ms % 60_000 == 0 => write!(w, "{}m", ms / 60_000),
        ms if ms % 1_000 == 0 => write!(w, "{}s", ms / 1_000),
        ms => write!(w, "{}ms", ms),
    }
}

/// Bytes with non-printables escaped.
fn bytes(b: &[u8], w: &mut dyn Write) -> fmt::Result {
    for &c in b {
        match c {
            b'\t' => w.write_str("\\t")?,
            b'\n' => w.write_str("\\n")?,
            0x20..=0x7e => w.write_char(char::from(c))?,
            _ => write!(w, "\\x{:02x}", c)?,
        }
    }
    Ok(())
}

/// `"word"`, with `"` and `\` escaped too.
fn quoted(b: &[u8], w: &mut dyn Write) -> fmt::Result {
    w.write_str("\"")?;
    for chunk in b.split_inclusive(|&c| c == b'"' || c == b'\\') {
        match chunk.split_last() {
            Some((&last, rest)) if last == b'"' || last == b'\\' => {
                bytes(rest, w)?;
                w.write_char('\\')?;
                w.write_char(char::from(last))?;
            }
            _ => bytes(chunk, w)?,
        }
    }
    w.write_str("\"")
}

/// A `fmt::Write` over an fd with a fixed buffer, written out when full.
struct FdWriter {
    fd: RawFd,
    buf: [u8; 2048],
    len: usize,
}

impl FdWriter {
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
}

impl Write for FdWriter {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for &b in s.as_bytes() {
            if self.len == self.buf.len() {
                self.flush();
            }
            if let Some(slot) = self.buf.get_mut(self.len) {
                *slot = b;
                self.len += 1;
            }
        }
        Ok(())
    }
}
