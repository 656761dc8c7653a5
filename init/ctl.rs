//! The client side: `foster ctl ...` (talks to the control socket) and the
//! BusyBox-compatible `poweroff` / `reboot` / `halt` applets (by `argv[0]`).
//!
//! Exit codes of `ctl`: 0 done, 1 foster answered with an error, 2 bad usage
//! or no foster reachable.

use crate::bytes::next_piece;
use crate::control::PID1_SOCKET;
use crate::out::Line;
use crate::signals::{SIGTERM, SIGUSR1, SIGUSR2};
use crate::sys::{self, StartArgs, STDERR, STDOUT};
use crate::texts::{text, Packed};

/// Bytes of reply the client keeps to align the status table.
const REPLY_MAX: usize = 16 * 1024;
/// foster answers at once; a reply this late means it is stuck.
const REPLY_DEADLINE_MS: u64 = 10_000;
const BUSY: &[u8] = b"error: busy, try again\n";
/// The command whose reply has a table to show.
const STATUS: &[u8] = b"status";
/// Tries, 100 ms apart, while every connection slot is taken.
const BUSY_RETRIES: u32 = 30;

/// Rows of a status reply shown at most (more are left out).
const ROWS_MAX: usize = 128;
/// A column is as wide as its widest cell, up to this many bytes.
const WIDTH_MAX: u8 = 40;

#[inline(never)]
pub fn main(args: StartArgs) -> i32 {
    let mut socket = PID1_SOCKET;
    let mut json = false;
    // One line buffer: the request (`CMD [NAME]`) first, built as the
    // words come, then every line printed.
    let mut l = Line::new();
    // The command is `status`: the reply has a table to show.
    let mut table = false;
    let mut words = 0;
    let mut i = 2;
    while let Some(a) = args.arg(i) {
        let w = a.to_bytes();
        i += 1;
        // Places in the option list below.
        const SOCKET: usize = 0;
        const HELP: usize = 1;
        const HELP_LONG: usize = 2;
        match crate::word_index(b"-S -h --help --json -j", w) {
            Some(SOCKET) => match args.arg(i) {
                Some(p) => {
                    socket = p;
                    i += 1;
                }
                None => return crate::usage_error(text!("ctl: -S needs a PATH")),
            },
            // Help, as `foster -h`: never sent to foster as a command.
            Some(HELP | HELP_LONG) => return crate::help(),
            // The rest of the list: `--json`, `-j`.
            Some(_) => json = true,
            None => {
                match words {
                    // A slice compare, as the one with BUSY below (one
                    // shared function, not an inlined compare).
                    0 => table = w == STATUS,
                    1 => {
                        l.byte(b' ');
                    }
                    _ => return crate::usage_error(text!("ctl: too many arguments")),
                }
                // A newline would end the request early and name another
                // entry (`stop web` of `stop $'web\nx'`): sent as a NUL,
                // which foster refuses in a name or a command.
                for &b in w {
                    l.byte(if b == b'\n' { 0 } else { b });
                }
                words += 1;
            }
        }
    }
    if words == 0 {
        return crate::usage_error(text!("ctl needs a command"));
    }
    l.byte(b'\n');

    // In reserved memory, not on the stack: a 16 KB array there costs
    // four stack probes in this frame, and every page of it stays resident.
    let reply = match sys::reserve(REPLY_MAX) {
        Ok(mem) => mem,
        Err(e) => return crate::failed(text!("reserve memory"), e),
    };
    let mut tries = 0;
    // `busy` comes before foster reads the request: asking again is safe.
    let text = loop {
        tries += 1;
        match exchange(socket.to_bytes(), l.as_bytes(), reply) {
            Ok(n) => {
                let text = reply.get(..n).unwrap_or(&[]);
                if text != BUSY || tries == BUSY_RETRIES {
                    break text;
                }
            }
            // A full backlog (foster slow or stuck): nothing sent yet,
            // asked again as after `busy`; the last try says so.
            Err(sys::Errno::EAGAIN) if tries < BUSY_RETRIES => {}
            Err(e) => {
                crate::log::unable(text!("reach foster at "), socket.to_bytes(), e);
                return 2;
            }
        }
        sys::sleep_ms(100);
    };
    l.clear();
    let mut status = 2;
    // Two passes over the same lines: the first prints the messages and
    // finds the outcome and the column widths, the second prints the rows
    // (the same ones: at most ROWS_MAX in both).
    let mut widths = HEADER_WIDTHS;
    let mut print = false;
    loop {
        let mut n = 0;
        let mut lines = Some(text);
        while let Some(line) = next_piece(&mut lines, b'\n') {
            if let Some(rest) = after(line, b"entry\t") {
                if n < ROWS_MAX {
                    n += 1;
                    if !print {
                        let mut row = Some(rest);
                        for w in &mut widths {
                            let cell = next_cell(&mut row);
                            *w = (*w).max(cell.len().min(WIDTH_MAX.into()) as u8);
                        }
                    } else if json {
                        json_row(&mut l, rest, n == 1);
                    } else {
                        table_row(&mut l, rest, &widths);
                    }
                }
                continue;
            }
            if print {
                continue;
            }
            let (prefix, msg) = if line == b"ok" {
                status = 0;
                continue;
            } else if let Some(msg) = after(line, b"error: ") {
                status = 1;
                (text!("foster: "), msg)
            } else if let Some(msg) = after(line, b"table: ") {
                (text!(""), msg)
            } else {
                continue;
            };
            l.t(prefix).bytes(msg);
            l.flush(STDERR);
        }
        if print {
            break;
        }
        if status == 2 {
            crate::single::say(text!("no answer from @"), socket.to_bytes(), 0, 0);
        }
        if status != 0 || !table {
            return status;
        }
        print = true;
        // `[` waits in the line as each row does: see `json_row`.
        if json {
            l.byte(b'[');
        } else {
            table_row(&mut l, HEADERS, &widths);
        }
    }
    if json {
        l.flush(STDOUT);
        l.byte(b']').flush(STDOUT);
    }
    // A status that did not reach its reader is no success (as `check`).
    match l.failed() {
        Some(e) => crate::failed(text!("write the status"), e),
        None => status,
    }
}

/// `line` after `head`, if it starts with it: with the head's length not
/// a constant, every use calls the one shared `strip_prefix` (inlined
/// copies per head length, or an out-of-line wrapper, are bigger).
fn after<'a>(line: &'a [u8], head: &[u8]) -> Option<&'a [u8]> {
    line.strip_prefix(head)
}

/// The next of the 7 cells of an `entry` line (tab-separated; `-` for a
/// missing one), taken off `rest`: each row is read as it is printed, no
/// array of cells built and copied.
fn next_cell<'a>(rest: &mut Option<&'a [u8]>) -> &'a [u8] {
    next_piece(rest, b'\t').unwrap_or(b"-")
}

/// Sends one request and reads the whole reply into `reply` (up to its size
/// and to [`REPLY_DEADLINE_MS`]); returns its length.
fn exchange(socket: &[u8], request: &[u8], reply: &mut [u8]) -> Result<usize, sys::Errno> {
    // Non-blocking: a connect to a full backlog fails (EAGAIN) at once,
    // where a blocking one would wait for ever on a stuck foster.
    let fd = sys::unix_socket(true)?;
    sys::connect_unix(&fd, socket)?;
    // A refusing foster may close first: a send error, not a fatal SIGPIPE
    // (SIGPIPE is not blocked: stdout into a closed pipe ends ctl as it
    // ends `check`). Its reply (a refusal) may still be there to read. One
    // line of at most LINE_MAX bytes: one send on a new socket takes it.
    let _ = sys::send_nowait(fd.raw(), request);
    let deadline = sys::now_ms() + REPLY_DEADLINE_MS;
    let mut len = 0;
    while let Some(room) = reply.get_mut(len..) {
        let now = sys::now_ms();
        if room.is_empty() || now >= deadline {
            break;
        }
        // At most REPLY_DEADLINE_MS (the clock is monotonic): fits an i32.
        if !sys::poll_in(fd.raw(), (deadline - now) as i32) {
            continue;
        }
        match sys::read(fd.raw(), room) {
            Ok(0) | Err(_) => break,
            Ok(n) => len += n,
        }
    }
    Ok(len)
}

/// The status table's header row, its cells tab-separated as in an `entry`
/// line (`status --json` has them as its keys: see [`JSON_KEYS`]).
const HEADERS: &[u8] = b"NAME\tKIND\tSTATE\tPID\tRESTARTS\tLAST-EXIT\tUPTIME";

/// What comes before each cell of a `status --json` row, by column: the
/// key (the column's header in lower case, `_` for `-`; a test keeps them
/// the same) with its quotes and colon, after the `{` or the comma. One
/// piece per cell, not the key built from the header at each row.
const JSON_KEYS: Packed = text!(
    "  {\"name\": |, \"kind\": |, \"state\": |, \"pid\": |, \"restarts\": |, \"last_exit\": |, \"uptime\": "
);

/// The length of each header: the least width of its column.
const HEADER_WIDTHS: [u8; 7] = [4, 4, 5, 3, 8, 9, 6];

/// One line of the status table (or its header): each cell but the last
/// padded to its column's width plus two blanks.
fn table_row(l: &mut Line, row: &[u8], widths: &[u8; 7]) {
    let mut row = Some(row);
    for (i, w) in widths.iter().enumerate() {
        let cell = next_cell(&mut row);
        l.bytes(cell);
        if i == 6 {
            // Uptime in seconds reads better with a unit (not after `-`
            // or the header).
            if cell.first().is_some_and(u8::is_ascii_digit) {
                l.byte(b's');
            }
            break;
        }
        l.pad(cell.len(), usize::from(*w) + 2);
    }
    l.flush(STDOUT);
}

/// One object of `status --json`, on its own line. The line before it
/// (`[` or a row) is still in `l`, written out here, after a comma unless
/// `first`: a row needs no count of those after it. This one waits in `l`
/// in turn.
fn json_row(l: &mut Line, row: &[u8], first: bool) {
    if !first {
        l.byte(b',');
    }
    l.flush(STDOUT);
    let mut row = Some(row);
    for i in 0..7 {
        let cell = next_cell(&mut row);
        l.piece(JSON_KEYS, i, b'|');
        // PID, RESTARTS and UPTIME are numbers when not empty; LAST-EXIT
        // is a number or a signal name. `bare` empty: the cell goes in
        // quotes (an empty cell too, as `""`).
        let bare: &[u8] = match cell {
            b"-" => b"null",
            _ if i >= 3 && cell.iter().all(u8::is_ascii_digit) => cell,
            _ => &[],
        };
        if !bare.is_empty() {
            l.bytes(bare);
        } else {
            l.byte(b'"');
            for &b in cell.iter() {
                if b == b'"' || b == b'\\' {
                    l.byte(b'\\');
                }
                if b >= 0x20 {
                    l.byte(b);
                }
            }
            l.byte(b'"');
        }
    }
    l.byte(b'}');
}

/// The applets' usage message: `usage: ` and the last line of
/// [`crate::USAGE`] (a test keeps them the same).
const APPLET_USAGE: Packed = text!("usage: poweroff|reboot|halt [-f] [-d SECS] [-n]");

/// `poweroff`, `reboot`, `halt` [-f] [-d SECS] [-n], as BusyBox's: without
/// `-f`, ask PID 1 (foster or BusyBox init) with its signal; with `-f`, sync
/// (unless `-n`) and call reboot(2) at once. `which` is the applet's name,
/// `applet` its index in `poweroff reboot halt` (`crate::APPLETS`: the
/// command and signal lists below follow that order). Cold: runs once, to
/// shut down (measured: smaller).
#[cold]
pub fn power(args: StartArgs, which: &[u8], applet: usize) -> i32 {
    let (mut force, mut no_sync, mut delay) = (false, false, 0u64);
    // The applet's own usage line only (the whole of foster's is not its).
    let usage = || {
        crate::single::say(APPLET_USAGE, b"", 0, 0);
        2
    };
    let mut i = 1;
    // Flags bundle as BusyBox's getopt takes them: `-nf`, `-d5`, `-fd 5`.
    while let Some(a) = args.arg(i) {
        i += 1;
        let Some((b'-', mut flags)) = a.to_bytes().split_first() else {
            return usage();
        };
        while let [flag, rest @ ..] = flags {
            flags = rest;
            match flag {
                b'f' => force = true,
                b'n' => no_sync = true,
                b'w' => return 0,
                b'd' => {
                    // The rest of this word, or else the next word.
                    let secs = if rest.is_empty() {
                        i += 1;
                        crate::word(&args, i - 1)
                    } else {
                        rest
                    };
                    match crate::bytes::parse_small(secs) {
                        Some(s) => delay = s,
                        None => return usage(),
                    }
                    break;
                }
                _ => return usage(),
            }
        }
    }
    // At most 9 digits of seconds (`parse_small`): no overflow. Without
    // `-d`, a wait of 0 ms: one needless syscall, smaller than a test.
    sys::sleep_ms(delay * 1000);
    // As BusyBox's applets: sync first unless -n, with -f or not (an early
    // sync keeps the data should the stop hang; a container's PID 1 never
    // syncs).
    if !no_sync {
        sys::sync();
    }
    let (done, what, obj) = if force {
        // Each looked up by `applet` where it is needed: smaller than one
        // `match` on it up front whose pair lives on the stack.
        let cmd = [sys::REBOOT_CMD_POWER_OFF, sys::REBOOT_CMD_RESTART]
            .get(applet)
            .copied()
            .unwrap_or(sys::REBOOT_CMD_HALT);
        (sys::reboot_forced(cmd), text!(""), which)
    } else {
        let sig = [SIGUSR2, SIGTERM].get(applet).copied().unwrap_or(SIGUSR1);
        (sys::kill(1, sig), text!("signal init"), &b""[..])
    };
    match done {
        Ok(()) => 0,
        Err(e) => {
            crate::log::unable(what, obj, e);
            1
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The header cells, as `next_cell` takes them.
    fn headers() -> [&'static [u8]; 7] {
        let mut rest = Some(HEADERS);
        core::array::from_fn(|_| next_cell(&mut rest))
    }

    #[test]
    fn applets_usage_is_the_last_usage_line() {
        let mut usage = Vec::new();
        crate::USAGE.each(&mut |b| usage.push(b));
        let mut own = Vec::new();
        APPLET_USAGE.each(&mut |b| own.push(b));
        let line = [b"       ", own.strip_prefix(b"usage: ").unwrap(), b"\n"].concat();
        assert!(usage.ends_with(&line));
    }

    #[test]
    fn json_keys_are_the_headers_in_lower_case() {
        let mut all = Vec::new();
        JSON_KEYS.each(&mut |b| all.push(b));
        let keys: Vec<Vec<u8>> = headers()
            .iter()
            .enumerate()
            .map(|(i, h)| {
                let key = h
                    .to_ascii_lowercase()
                    .iter()
                    .map(|&b| if b == b'-' { b'_' } else { b })
                    .collect::<Vec<u8>>();
                let head: &[u8] = if i == 0 { b"  {\"" } else { b", \"" };
                [head, &key, b"\": "].concat()
            })
            .collect();
        let pieces: Vec<&[u8]> = all.split(|&b| b == b'|').collect();
        assert_eq!(pieces, keys);
    }

    #[test]
    fn header_widths_are_the_header_lengths() {
        assert_eq!(headers().map(|h| h.len() as u8), HEADER_WIDTHS);
    }
}
