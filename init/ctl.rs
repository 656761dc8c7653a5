//! The client side: `foster ctl ...` (talks to the control socket) and the
//! BusyBox-compatible `poweroff` / `reboot` / `halt` applets (argv[0]).
//!
//! Exit codes of `ctl`: 0 done, 1 foster answered with an error, 2 bad usage
//! or no foster reachable.

use crate::control::PID1_SOCKET;
use crate::log::Log;
use crate::out::Line;
use crate::signals::{SIGPIPE, SIGTERM, SIGUSR1, SIGUSR2};
use crate::sys::{self, StartArgs, STDERR, STDOUT};

/// Bytes of reply the client keeps to align the status table.
const REPLY_MAX: usize = 16 * 1024;
/// foster answers at once; a reply this late means it is stuck.
const REPLY_DEADLINE_MS: u64 = 10_000;
const BUSY: &[u8] = b"error: busy, try again\n";
/// Tries, 100 ms apart, while every connection slot is taken.
const BUSY_RETRIES: u32 = 30;

#[inline(never)]
pub fn main(args: StartArgs) -> i32 {
    let mut socket = PID1_SOCKET;
    let mut json = false;
    let mut words: heapless::Vec<&[u8], 2> = heapless::Vec::new();
    let mut i = 2;
    while let Some(a) = args.arg(i) {
        match a.to_bytes() {
            b"-S" => match args.arg(i + 1) {
                Some(p) => {
                    socket = p;
                    i += 1;
                }
                None => return crate::usage_error("ctl: -S needs a PATH"),
            },
            b"--json" | b"-j" => json = true,
            w => {
                if words.push(w).is_err() {
                    return crate::usage_error("ctl: too many arguments");
                }
            }
        }
        i += 1;
    }
    let Some(&cmd) = words.first() else {
        return crate::usage_error("ctl needs a command");
    };
    let mut request = Line::new();
    request.bytes(cmd);
    if let Some(name) = words.get(1) {
        request.byte(b' ').bytes(name);
    }
    request.byte(b'\n');

    let mut reply = [0u8; REPLY_MAX];
    let mut len = 0;
    // `busy` comes before foster reads the request: asking again is safe.
    for attempt in 0..BUSY_RETRIES {
        len = match exchange(socket.to_bytes(), request.as_bytes(), &mut reply) {
            Ok(n) => n,
            Err(e) => {
                Log::stderr().unable("reach foster at ", socket.to_bytes(), "", e);
                return 2;
            }
        };
        if reply.get(..len) != Some(BUSY) || attempt + 1 == BUSY_RETRIES {
            break;
        }
        sys::sleep_ms(100);
    }
    let text = reply.get(..len).unwrap_or(&[]);
    let mut status = 2;
    let mut rows: heapless::Vec<[&[u8]; 7], 128> = heapless::Vec::new();
    for line in text.split(|&b| b == b'\n') {
        if let Some(rest) = line.strip_prefix(b"entry\t") {
            let mut f = rest.split(|&b| b == b'\t');
            let mut row: [&[u8]; 7] = [b"-"; 7];
            for cell in row.iter_mut() {
                *cell = f.next().unwrap_or(b"-");
            }
            let _ = rows.push(row);
            continue;
        }
        let (prefix, msg) = if line == b"ok" {
            status = 0;
            continue;
        } else if let Some(msg) = line.strip_prefix(b"error: ") {
            status = 1;
            ("foster: ", msg)
        } else if let Some(msg) = line.strip_prefix(b"table: ") {
            ("", msg)
        } else {
            continue;
        };
        let mut l = Line::new();
        l.s(prefix).bytes(msg);
        l.flush(STDERR);
    }
    if status == 2 {
        let mut l = Line::new();
        l.s("foster: no answer from ").bytes(socket.to_bytes());
        l.flush(STDERR);
    }
    if cmd == b"status" && status == 0 {
        if json {
            print_json(&rows);
        } else {
            print_table(&rows);
        }
    }
    status
}

/// Sends one request and reads the whole reply into `reply` (up to its size
/// and to [`REPLY_DEADLINE_MS`]); returns its length.
fn exchange(socket: &[u8], request: &[u8], reply: &mut [u8]) -> Result<usize, sys::Errno> {
    // A refusing foster may close first: a write error, not a fatal SIGPIPE.
    let _ = sys::sigprocmask(sys::SIG_BLOCK, sys::SigSet::EMPTY.with(SIGPIPE));
    let fd = sys::unix_socket(false)?;
    sys::connect_unix(&fd, socket)?;
    // Its reply (a refusal) may still be there to read.
    let _ = sys::write_all(fd.raw(), request);
    let ep = sys::epoll_create()?;
    sys::epoll_add(&ep, fd.raw(), sys::EPOLLIN, 0)?;
    let deadline = sys::now_ms() + REPLY_DEADLINE_MS;
    let mut events = [sys::EMPTY_EVENT; 1];
    let mut len = 0;
    while let Some(room) = reply.get_mut(len..) {
        let now = sys::now_ms();
        if room.is_empty() || now >= deadline {
            break;
        }
        let wait = (deadline - now).min(i32::MAX as u64) as i32;
        if sys::epoll_wait(&ep, &mut events, wait)? == 0 {
            continue;
        }
        match sys::read(fd.raw(), room) {
            Ok(0) | Err(_) => break,
            Ok(n) => len += n,
        }
    }
    Ok(len)
}

const HEADERS: [&str; 7] = [
    "NAME",
    "KIND",
    "STATE",
    "PID",
    "RESTARTS",
    "LAST-EXIT",
    "UPTIME",
];

fn print_table(rows: &[[&[u8]; 7]]) {
    let mut widths = HEADERS.map(str::len);
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row.iter()) {
            *w = (*w).max(cell.len().min(40));
        }
    }
    let mut l = Line::new();
    for (h, w) in HEADERS.iter().zip(widths.iter()) {
        let start = l.len();
        l.s(h).pad_from(start, w + 2);
    }
    trim_flush(&mut l);
    for row in rows {
        for (i, (cell, w)) in row.iter().zip(widths.iter()).enumerate() {
            let start = l.len();
            // Uptime in seconds reads better with a unit.
            l.bytes(cell);
            if i == 6 && cell != b"-" {
                l.s("s");
            }
            l.pad_from(start, w + 2);
        }
        trim_flush(&mut l);
    }
}

fn trim_flush(l: &mut Line) {
    let keep = l
        .as_bytes()
        .iter()
        .rposition(|&b| b != b' ')
        .map_or(0, |p| p + 1);
    l.truncate(keep);
    l.flush(STDOUT);
}

fn print_json(rows: &[[&[u8]; 7]]) {
    const KEYS: [&str; 7] = [
        "name",
        "kind",
        "state",
        "pid",
        "restarts",
        "last_exit",
        "uptime",
    ];
    let mut l = Line::new();
    l.s("[");
    l.flush(STDOUT);
    for (n, row) in rows.iter().enumerate() {
        l.s("  {");
        for (i, (key, cell)) in KEYS.iter().zip(row.iter()).enumerate() {
            if i > 0 {
                l.s(", ");
            }
            l.s("\"").s(key).s("\": ");
            // PID, RESTARTS and UPTIME are numbers when not empty; LAST-EXIT
            // is a number or a signal name.
            let digits = cell.iter().all(u8::is_ascii_digit);
            if *cell == b"-" {
                l.s("null");
            } else if digits && i >= 3 && (i == 5 || !cell.is_empty()) {
                l.bytes(cell);
            } else {
                l.s("\"");
                for &b in cell.iter() {
                    if b == b'"' || b == b'\\' {
                        l.byte(b'\\');
                    }
                    if b >= 0x20 {
                        l.byte(b);
                    }
                }
                l.s("\"");
            }
        }
        l.s(if n + 1 < rows.len() { "}," } else { "}" });
        l.flush(STDOUT);
    }
    l.s("]");
    l.flush(STDOUT);
}

/// `poweroff`, `reboot`, `halt` [-f] [-d SECS] [-n], as BusyBox's: without
/// `-f`, ask PID 1 (foster or BusyBox init) with its signal; with `-f`, sync
/// (unless `-n`) and call reboot(2) at once.
#[inline(never)]
pub fn power(args: StartArgs, which: &[u8]) -> i32 {
    let (sig, cmd) = match which {
        b"halt" => (SIGUSR1, sys::REBOOT_CMD_HALT),
        b"reboot" => (SIGTERM, sys::REBOOT_CMD_RESTART),
        _ => (SIGUSR2, sys::REBOOT_CMD_POWER_OFF),
    };
    let (mut force, mut no_sync, mut delay) = (false, false, 0u64);
    let mut i = 1;
    while let Some(a) = args.arg(i) {
        match a.to_bytes() {
            b"-f" => force = true,
            b"-n" => no_sync = true,
            b"-d" => {
                let secs = args.arg(i + 1).map(|s| s.to_bytes()).unwrap_or(b"");
                match parse_secs(secs) {
                    Some(s) => delay = s,
                    None => return crate::usage_error("-d needs a number of seconds"),
                }
                i += 1;
            }
            b"-w" => return 0,
            _ => return crate::usage_error("usage: poweroff|reboot|halt [-f] [-d SECS] [-n]"),
        }
        i += 1;
    }
    if delay > 0 {
        sys::sleep_ms(delay.saturating_mul(1000));
    }
    if force {
        if !no_sync {
            sys::sync();
        }
        if let Err(e) = sys::reboot_forced(cmd) {
            Log::stderr().unable("", which, "", e);
            return 1;
        }
        return 0;
    }
    match sys::kill(1, sig) {
        Ok(()) => 0,
        Err(e) => {
            Log::stderr().unable("signal init", b"", "", e);
            1
        }
    }
}

fn parse_secs(s: &[u8]) -> Option<u64> {
    if s.is_empty() || s.len() > 9 || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(s.iter().fold(0u64, |n, &d| n * 10 + (d - b'0') as u64))
}
