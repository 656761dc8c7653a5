//! The control socket: a Unix stream socket where `foster ctl` asks for
//! status and gives orders.
//!
//! Protocol: the client sends one request line (at most [`REQUEST_MAX`]
//! bytes, `\n`-terminated); foster answers with zero or more data lines and
//! ends with a status line, `ok` or `error: MESSAGE`, then closes. Requests:
//! `status`, `start NAME`, `stop NAME`, `restart NAME`, `reload`, `poweroff`,
//! `reboot`, `halt` (PID 1), `stop-all` (sub-init). A `status` data line is
//! `entry` and seven tab-separated fields: name, kind, state, pid, restarts,
//! last exit, uptime in seconds (`-` where none).
//!
//! Invariants: fixed buffers, at most [`MAX_CLIENTS`] connections, each with
//! a deadline; every peer is checked with SO_PEERCRED (root or foster's own
//! uid); a slow, silent, garbage or oversized client is cut off and never
//! blocks supervision. The socket is created with mode 0600 from the start;
//! foster removes it on exit only while its path still names the file foster
//! bound (another foster may have bound the path since), and a reload binds
//! it again when it is gone, was never bound, or a stale socket took the
//! path (a live one or another kind of file is reported, as at the start).

use crate::log::{Log, Part};
use crate::out::Line;
use crate::runtime::{Runtime, TAG_CLIENT};
use crate::supervisor::{Mode, Outcome, Slot, State};
use crate::sys::{self, Errno, ExitStatus, Fd};
use crate::texts::{text, Packed};
use core::ffi::CStr;

pub const REQUEST_MAX: usize = 256;
pub const MAX_CLIENTS: usize = 4;
/// Errors of a rejected table a `reload` reply shows (each at most a
/// line buffer: message, source line, caret).
const REPORTS_MAX: u32 = 10;
/// A client must send its request within this time.
pub const CLIENT_DEADLINE_MS: u64 = 2_000;
/// How long the listener rests after accept failed for want of resources.
pub const ACCEPT_PAUSE_MS: u64 = 1_000;
pub const PID1_SOCKET: &CStr = c"/run/foster.sock";

/// The messages of `error: ` replies, by index: [`parse`]'s errors first,
/// then [`answer`]'s (the last one empty: a reply built after it).
const ERRORS: Packed = text!(
    "request too long|empty request|too many words|unknown command\
    |this command takes no argument|this command needs an entry NAME|bad entry name\
    |no entry named |foster is shutting down|table rejected (\
    |PID 1 does not exit; use poweroff, reboot or halt\
    |not PID 1 (a sub-init ends with stop-all)|"
);
const TOO_LONG: usize = 0;
const EMPTY: usize = 1;
const TOO_MANY_WORDS: usize = 2;
const UNKNOWN: usize = 3;
const NO_ARGUMENT: usize = 4;
const NEEDS_NAME: usize = 5;
const BAD_NAME: usize = 6;
const NO_ENTRY: usize = 7;
const SHUTTING_DOWN: usize = 8;
const REJECTED: usize = 9;
const PID1_NO_EXIT: usize = 10;
const NOT_PID1: usize = 11;
const BARE: usize = 12;

/// A parsed request.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Request<'a> {
    Status,
    Start(&'a [u8]),
    Stop(&'a [u8]),
    Restart(&'a [u8]),
    Reload,
    Poweroff,
    Reboot,
    Halt,
    StopAll,
}

/// Parses one request line (without its newline); an error is the index
/// of its message in the `error: ` replies' list. Pure: fuzzed.
pub fn parse_request<'a>(line: &'a [u8]) -> Result<Request<'a>, usize> {
    let (i, name) = parse(line)?;
    Ok(match i {
        STATUS => Request::Status,
        RELOAD => Request::Reload,
        POWEROFF => Request::Poweroff,
        REBOOT => Request::Reboot,
        HALT => Request::Halt,
        START => Request::Start(name),
        STOP => Request::Stop(name),
        RESTART => Request::Restart(name),
        _ => Request::StopAll,
    })
}

/// The request words, by their index in [`parse`]'s word list (`exit`,
/// 6, is `stop-all`); those from `start` on take an entry name.
const STATUS: usize = 0;
const RELOAD: usize = 1;
const POWEROFF: usize = 2;
const REBOOT: usize = 3;
const HALT: usize = 4;
const STOP_ALL: usize = 5;
const START: usize = 7;
const STOP: usize = 8;
const RESTART: usize = 9;

/// [`parse_request`]'s work: the command word's index in the list below,
/// and the entry name (empty for a command without one), or the index of
/// the error in [`ERRORS`]. [`answer`] acts on the indices themselves: no
/// enum to build and match again, no text to pass.
fn parse(line: &[u8]) -> Result<(usize, &[u8]), usize> {
    let line = match line {
        [rest @ .., b'\r'] => rest,
        _ => line,
    };
    if line.len() > REQUEST_MAX {
        return Err(TOO_LONG);
    }
    // The command word, the name, and nothing after them.
    let mut rest = line;
    let [cmd, name, extra] = [(); 3].map(|()| word(&mut rest));
    if cmd.is_empty() {
        return Err(EMPTY);
    }
    if !extra.is_empty() {
        return Err(TOO_MANY_WORDS);
    }
    const WORDS: &[u8] = b"status reload poweroff reboot halt stop-all exit start stop restart";
    let i = crate::word_index(WORDS, cmd).ok_or(UNKNOWN)?;
    if (i < START) != name.is_empty() {
        return Err(if name.is_empty() {
            NEEDS_NAME
        } else {
            NO_ARGUMENT
        });
    }
    if name.len() > config_format::MAX_NAME || !name.iter().all(|&b| config_format::is_name_byte(b))
    {
        return Err(BAD_NAME);
    }
    Ok((i, name))
}

/// A blank between request words.
fn is_blank(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// The first word of `s` (empty if none); `s` moves past it.
fn word<'a>(s: &mut &'a [u8]) -> &'a [u8] {
    while let [b' ' | b'\t', rest @ ..] = *s {
        *s = rest;
    }
    let end = s.iter().position(|&b| is_blank(b)).unwrap_or(s.len());
    let (w, rest) = s.split_at_checked(end).unwrap_or_default();
    *s = rest;
    w
}

/// A connection, or a free cell (`open` false; all zero is free).
/// `repr(C)`: the small fields first, within short reach of the cell's address.
#[repr(C)]
pub struct Client {
    open: bool,
    /// Owned while `open`: closed by [`Server::close_client`].
    fd: sys::RawFd,
    /// Bytes received (at most the buffer's 258).
    len: u32,
    deadline: u64,
    buf: [u8; REQUEST_MAX + 2],
}

/// The connection cells, kept in the runtime's reserved memory.
pub type Clients = [Client; MAX_CLIENTS];

/// The listening socket and its connections (none until [`Server::listen`]).
/// `repr(C)`, the cells' pointer first and the socket file (read only on
/// exit) last: the order of fields measured to compile smallest.
#[repr(C)]
pub struct Server {
    clients: &'static mut Clients,
    listener: Option<Fd>,
    /// Out of fds (or memory) for a new connection: the listener is out of
    /// the epoll set until then, so a pending client cannot make foster spin
    /// (`u64::MAX`: not paused, as a deadline that never comes).
    paused_until: u64,
    /// Where the socket is to be, bound or not: at a reload, foster binds
    /// it again there if it has none (see [`Server::refresh`]).
    path: Option<&'static CStr>,
    /// The socket file foster bound at `path`, as its bind left it: the
    /// file is foster's (to remove on exit, to keep at a reload) while
    /// `path` still names this one.
    id: sys::FileId,
}

impl Server {
    /// Creates the listening socket at `path` with mode 0600, replacing a stale socket
    /// file but never a live one, a symlink or any other kind of file. A failure is
    /// reported to `log` (`unable to WHAT PATH: ERRNO`).
    pub fn bind(path: &CStr, log: &Log) -> Option<Fd> {
        let (what, e) = 'failed: {
            // One socket: first the probe of a stale file (a refused connect
            // leaves it unconnected), then the listener.
            let fd = match sys::unix_socket(true) {
                Ok(fd) => fd,
                Err(e) => break 'failed (text!("create a socket "), e),
            };
            match sys::stat(path, false) {
                Ok(st) if st.mode & sys::S_IFMT == sys::S_IFSOCK => {
                    // Only a refused connection proves nobody listens: EAGAIN is
                    // a live but busy listener, EACCES someone else's socket.
                    match sys::connect_unix(&fd, path.to_bytes()) {
                        Err(Errno::ECONNREFUSED) => {
                            if let Err(e) = sys::unlink(path) {
                                break 'failed (text!("remove the stale control socket "), e);
                            }
                        }
                        Ok(()) | Err(Errno::EAGAIN) => {
                            break 'failed (
                                text!("take the control socket (another foster answers there) "),
                                Errno::EADDRINUSE,
                            )
                        }
                        Err(e) => break 'failed (text!("check the control socket "), e),
                    }
                }
                Ok(_) => {
                    break 'failed (
                        text!("use a non-socket file as the control socket "),
                        Errno::EEXIST,
                    )
                }
                Err(Errno::ENOENT) => {}
                Err(e) => break 'failed (text!("check the control socket path "), e),
            }
            // The umask makes the node 0600 from the instant it exists.
            let old = sys::umask(0o177);
            let bound = sys::bind_unix(&fd, path.to_bytes());
            sys::umask(old);
            if let Err(e) = bound {
                break 'failed (text!("bind the control socket "), e);
            }
            if let Err(e) = sys::listen(&fd, 8) {
                break 'failed (text!("listen on the control socket "), e);
            }
            return Some(fd);
        };
        // Each WHAT ends with the blank before the path.
        log.unable(what, path.to_bytes(), e);
        None
    }

    /// A server with no socket yet; `clients` must all be free.
    pub fn idle(clients: &'static mut Clients) -> Server {
        Server {
            listener: None,
            path: None,
            id: sys::FileId::default(),
            clients,
            paused_until: u64::MAX,
        }
    }

    /// Serves at `path`: binds the socket there now; a failure is reported
    /// and foster runs on without one until a reload binds it.
    pub fn listen(&mut self, ep: &Fd, path: &'static CStr, log: &Log) {
        self.path = Some(path);
        self.open(ep, path, log);
    }

    /// At a reload (the one moment foster looks again): binds the socket
    /// when foster has none at its path, whether the bind failed (a missing
    /// directory) or the file was removed (a `/tmp` cleaner), by
    /// [`Server::bind`]'s rules for what else is there; a socket still
    /// there costs one `statx`.
    #[inline(never)]
    pub fn refresh(&mut self, ep: &Fd, log: &Log) {
        let Some(path) = self.path else { return };
        if self.listener.is_some() && sys::file_id(path) == Ok(self.id) {
            return;
        }
        if self.open(ep, path, log) {
            log.info_with(&[
                Part::Text(text!("control socket made again at ")),
                Part::Raw(path.to_bytes()),
            ]);
        }
    }

    /// Binds the socket at `path` and serves on it in place of the listener
    /// foster had (whose connections stay); on failure, that one stays.
    // Not inlined: one copy of `bind` for the start and a reload.
    #[inline(never)]
    fn open(&mut self, ep: &Fd, path: &CStr, log: &Log) -> bool {
        let Some(fd) = Server::bind(path, log) else {
            return false;
        };
        // A file gone already (removed at once) is no socket to serve.
        let Ok(id) = sys::file_id(path) else {
            return false;
        };
        if sys::epoll_add(ep, fd.raw(), sys::EPOLLIN, crate::runtime::TAG_CONTROL).is_err() {
            return false;
        }
        if let Some(old) = self.listener.replace(fd) {
            crate::runtime::unwatch(ep, old.into_raw());
        }
        self.id = id;
        true
    }

    /// Removes the socket file (on exit), if the one at its path is still
    /// the one foster bound: not another foster's, bound there since.
    pub fn remove(&mut self) {
        if let (Some(path), Some(_)) = (self.path, &self.listener) {
            if sys::file_id(path) == Ok(self.id) {
                let _ = sys::unlink(path);
            }
        }
    }

    /// New connections: accept them all, checking each peer.
    // Inlined into the event loop (measured: smaller).
    #[inline]
    pub fn on_listener(&mut self, ep: &Fd, log: &Log, now: u64) {
        let Some(listener) = &self.listener else {
            return;
        };
        for _ in 0..16 {
            let fd = match sys::accept(listener) {
                Ok(fd) => fd,
                Err(e @ (Errno::EMFILE | Errno::ENFILE | Errno::ENOMEM)) => {
                    // Out of fds or memory: the connection stays queued and
                    // the listener readable; stop watching it for a while.
                    let _ = sys::epoll_del(ep, listener.raw());
                    self.paused_until = now + ACCEPT_PAUSE_MS;
                    accept_failed(log, e);
                    break;
                }
                Err(_) => break,
            };
            let allowed = match sys::peer_cred(&fd) {
                Ok((_, uid, _)) => uid == 0 || uid == sys::getuid(),
                Err(_) => false,
            };
            if !allowed {
                crate::out::put_text(fd.raw(), text!("error: permission denied\n"));
                continue;
            }
            // Each cell with its epoll tag, the cell's index in the low bits.
            let mut cells = self.clients.iter_mut().zip(TAG_CLIENT..);
            let Some((cell, tag)) = cells.find(|(c, _)| !c.open) else {
                let _ = sys::write_all(fd.raw(), b"error: busy, try again\n");
                continue;
            };
            let events = sys::EPOLLIN | sys::EPOLLRDHUP;
            if sys::epoll_add(ep, fd.raw(), events, tag).is_ok() {
                cell.open = true;
                cell.fd = fd.into_raw();
                cell.len = 0;
                cell.deadline = now + CLIENT_DEADLINE_MS;
            }
        }
    }

    /// Reads what client `index` sent. When its request line is complete,
    /// returns the client's fd and the line's length ([`Server::request`]
    /// gives the line). A client that hung up, failed or sent too much is
    /// closed.
    // Inlined into the event loop (measured: smaller).
    #[inline]
    pub fn read_client(&mut self, ep: &Fd, index: usize) -> Option<(sys::RawFd, usize)> {
        let c = self.clients.get_mut(index).filter(|c| c.open)?;
        loop {
            let Some(room) = c.buf.get_mut(c.len as usize..).filter(|r| !r.is_empty()) else {
                crate::out::put_text(c.fd, text!("error: request too long\n"));
                break;
            };
            match sys::read(c.fd, room) {
                Ok(0) => {
                    // A request cut short by end of file may name the wrong
                    // entry (`stop web` of `stop web-2`): refused, not guessed.
                    if c.len > 0 {
                        crate::out::put_text(c.fd, text!("error: unterminated request\n"));
                    }
                    break;
                }
                Ok(n) => {
                    // Only the bytes just read can hold the newline.
                    let at = room
                        .get(..n)
                        .and_then(|new| new.iter().position(|&x| x == b'\n'));
                    let start = c.len as usize;
                    c.len += n as u32;
                    if let Some(at) = at {
                        return Some((c.fd, start + at));
                    }
                }
                Err(Errno::EAGAIN) => return None,
                Err(_) => break,
            }
        }
        self.close_client(ep, index);
        None
    }

    /// The first `len` bytes client `index` sent: its request line, once
    /// [`Server::read_client`] found it complete.
    pub fn request(&self, index: usize, len: usize) -> &[u8] {
        // Capped, not checked: `len` never passes the buffer, and the capped
        // length needs no empty-slice path.
        self.clients
            .get(index)
            .and_then(|c| c.buf.get(..len.min(c.buf.len())))
            .unwrap_or(&[])
    }

    /// Cut off clients past their deadline; resume accepting after a pause.
    /// Returns the earliest deadline left, a client's or the end of a pause
    /// (`u64::MAX`: none); only new events can change it (a connection, a
    /// request).
    // Inlined into the event loop (measured: smaller).
    #[inline]
    pub fn on_tick(&mut self, ep: &Fd, now: u64) -> u64 {
        if now >= self.paused_until {
            self.paused_until = u64::MAX;
            if let Some(l) = &self.listener {
                let _ = sys::epoll_add(ep, l.raw(), sys::EPOLLIN, crate::runtime::TAG_CONTROL);
            }
        }
        let mut next = self.paused_until;
        for c in self.clients.iter_mut().filter(|c| c.open) {
            if now >= c.deadline {
                crate::out::put_text(c.fd, text!("error: timed out waiting for a request\n"));
                close(ep, c);
            } else {
                next = next.min(c.deadline);
            }
        }
        next
    }

    #[inline(never)]
    pub fn close_client(&mut self, ep: &Fd, index: usize) {
        if let Some(c) = self.clients.get_mut(index).filter(|c| c.open) {
            close(ep, c);
        }
    }
}

/// Frees an open client's cell and closes its connection.
fn close(ep: &Fd, c: &mut Client) {
    c.open = false;
    crate::runtime::unwatch(ep, c.fd);
}

fn accept_failed(log: &Log, e: Errno) {
    log.unable_to(
        text!("accept a control connection"),
        b"",
        e,
        text!("; retrying in 1 s"),
    );
}

/// Answers the request line client `index` sent (`len` bytes, read in
/// place) on `fd`: data lines, then the status line. An arm that fails
/// writes its `error: ` line; one that succeeds writes nothing (data lines
/// go out as they come), so the one `ok` follows. A request that ends
/// foster sends its own `ok`, before the stop begins.
// Inlined into the event loop (measured: smaller).
#[inline]
pub fn answer(rt: &mut Runtime, fd: sys::RawFd, index: usize, len: usize, now: u64) {
    let mut l = Line::new();
    match parse(rt.control().request(index, len)) {
        Err(i) => {
            error(&mut l, i);
        }
        Ok((STATUS, _)) => {
            // An entry a reload removed shows while its process still stops.
            for s in rt
                .supervisor()
                .slots()
                .iter()
                .filter(|s| !s.removed() || s.is_active())
            {
                status_row(&mut l, s, now);
                l.flush(fd);
            }
        }
        Ok((i, name)) if i >= START => match rt.supervisor().find(name) {
            None => {
                error(&mut l, NO_ENTRY).bytes(name);
            }
            Some(id) => {
                // The line (in the client's buffer, in `rt`) is not read
                // below.
                let sup = rt.supervisor_mut();
                let done = if i == STOP {
                    sup.stop(id, now)
                } else {
                    sup.bring_up(id, now, i == RESTART)
                };
                if !done && sup.is_stopping() {
                    error(&mut l, SHUTTING_DOWN);
                } else if !done {
                    // The name found: the request's.
                    let slot = sup.slot(id);
                    error(&mut l, BARE)
                        .bytes(slot.map_or(&[][..], |s| s.name().as_bytes()))
                        .t(text!(" is "));
                    state_word(&mut l, slot, now);
                    // Why it cannot start: an `after=` entry down for good.
                    if let Some(on) = sup.blocked_by(id) {
                        l.t(text!(": `after="))
                            .bytes(on.name().as_bytes())
                            .t(text!("` will not come up"));
                    }
                }
            }
        },
        Ok((RELOAD, _)) => {
            // A stop refuses it, in `reload` itself: the one path of every
            // reload, which also checks the control socket.
            let stopping = rt.supervisor().is_stopping();
            // Through `l`, empty until the outcome below: no second buffer.
            // The first errors only (`foster check` lists them all): a
            // reply the socket takes without waiting for its reader, and
            // `ctl` keeps whole, verdict last.
            // A `move` closure: the count and the fd in it, one pointer
            // (to `l`) out.
            let mut shown = 0;
            let line = &mut l;
            let mut report = move |text: &[u8]| {
                shown += 1;
                if shown > REPORTS_MAX {
                    return;
                }
                let mut rest = Some(text);
                while let Some(row) = crate::bytes::next_piece(&mut rest, b'\n') {
                    if !row.is_empty() {
                        line.t(text!("table: ")).bytes(row);
                        line.flush(fd);
                    }
                }
            };
            let errors = rt.reload(Some(&mut report));
            if stopping {
                error(&mut l, SHUTTING_DOWN);
            } else if errors != 0 {
                error(&mut l, REJECTED)
                    .u(errors as u64)
                    .t(text!(" error(s)); the running table is kept"));
            }
        }
        // poweroff, reboot, halt: PID 1's; stop-all, exit: a sub-init's.
        Ok((i, _)) if (i < STOP_ALL) != (rt.mode() == Mode::Pid1) => {
            error(&mut l, if i < STOP_ALL { NOT_PID1 } else { PID1_NO_EXIT });
        }
        Ok((i, _)) => {
            let outcome = match i {
                POWEROFF => Outcome::Poweroff,
                REBOOT => Outcome::Reboot,
                HALT => Outcome::Halt,
                _ => Outcome::Exit(rt.supervisor().exit_code()),
            };
            // Its own `ok` and return: no outcome kept for after the
            // answer (measured: smaller).
            l.t(text!("ok")).flush(fd);
            rt.supervisor_mut().shutdown(outcome, now);
            return;
        }
    }
    if l.is_empty() {
        l.t(text!("ok"));
    }
    l.flush(fd);
}

/// Starts an `error: MSG` status line, MSG message `i` of [`ERRORS`].
#[inline(never)]
fn error(l: &mut Line, i: usize) -> &mut Line {
    l.t(text!("error: ")).piece(ERRORS, i, b'|')
}

/// The state as `ctl status` shows it: a word of [`STATE_WORDS`], or the
/// time left in a backoff.
fn state_word(l: &mut Line, slot: Option<&Slot>, now: u64) {
    let i = match slot {
        // `gone`, through the one `piece` call below (measured: smaller).
        None => 0,
        Some(s) => match s.state {
            State::Backoff { until } => {
                l.t(text!("backoff "))
                    .u(until.saturating_sub(now).div_ceil(1000))
                    .byte(b's');
                return;
            }
            // Removed: on its way out, whether it waits for its daemon or for
            // its turn to stop (a row since reloads show removed entries still
            // at work).
            State::FindingPid { .. } | State::Running { .. } if s.removed() => 5,
            // Its daemon is to be stopped once found.
            State::FindingPid { stop: Some(_), .. } => 5,
            // `starting` until it reports ready, then `ready`.
            State::Running { .. } if s.entry.ready_fd > 0 => 2 + usize::from(s.ready),
            state => {
                // The states in declaration order: this numbering is the enum's
                // own tag, so it costs no compares, and a table gives the word.
                let n = match state {
                    State::Pending => 0,
                    State::Launching { .. } => 1,
                    State::FindingPid { .. } => 2,
                    State::Running { .. } => 3,
                    State::Backoff { .. } => 4,
                    State::Stopping { .. } => 5,
                    State::Stopped => 6,
                    State::Done { .. } => 7,
                    State::Failed { .. } => 8,
                };
                usize::from(STATE_WORD_OF.get(n).copied().unwrap_or(0))
            }
        },
    };
    l.piece(STATE_WORDS, i, b' ');
}

/// The word of [`STATE_WORDS`] for each state, in declaration order (with
/// no other condition: `Backoff` never gets here).
const STATE_WORD_OF: [u8; 9] = [1, 2, 2, 4, 0, 5, 6, 7, 8];

/// The words of [`state_word`], by its index.
const STATE_WORDS: Packed =
    text!("gone waiting starting ready running stopping stopped done failed");

#[inline(never)]
fn status_row(l: &mut Line, s: &Slot, now: u64) {
    l.t(text!("entry\t"))
        .bytes(s.name().as_bytes())
        .byte(b'\t')
        .bytes(s.entry.kind.word())
        .byte(b'\t');
    state_word(l, Some(s), now);
    let pid = s.pid();
    field(l, pid.map_or(NONE, |p| p as u64));
    field(l, u64::from(s.restarts));
    match s.last_exit {
        Some(ExitStatus::Signal(sig)) => {
            crate::signals::put_name(l.byte(b'\t'), sig);
        }
        Some(ExitStatus::Code(c)) => field(l, u64::from(c)),
        None => field(l, NONE),
    }
    // Uptime: while a process runs.
    field(l, pid.map_or(NONE, |_| now.saturating_sub(s.since) / 1000));
}

/// No number: a [`field`] of `-` (no pid, count or time comes near it).
const NONE: u64 = u64::MAX;

/// A tab, then a number of `ctl status` or `-` for [`NONE`].
#[inline(never)]
fn field(l: &mut Line, n: u64) {
    l.byte(b'\t');
    match n {
        NONE => l.byte(b'-'),
        n => l.u(n),
    };
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_request_and_rejects_garbage() {
        assert_eq!(parse_request(b"status"), Ok(Request::Status));
        assert_eq!(parse_request(b"  stop   web "), Ok(Request::Stop(b"web")));
        assert_eq!(parse_request(b"restart db\r"), Ok(Request::Restart(b"db")));
        assert_eq!(
            parse_request(b"start a.b-c@d"),
            Ok(Request::Start(b"a.b-c@d"))
        );
        assert_eq!(parse_request(b"reload"), Ok(Request::Reload));
        assert_eq!(parse_request(b"stop-all"), Ok(Request::StopAll));
        assert_eq!(parse_request(b"exit"), Ok(Request::StopAll));
        assert_eq!(parse_request(b"poweroff"), Ok(Request::Poweroff));
        assert_eq!(parse_request(b"reboot"), Ok(Request::Reboot));
        assert_eq!(parse_request(b"halt"), Ok(Request::Halt));
        assert_eq!(parse_request(b"\tstatus\t"), Ok(Request::Status));
        assert_eq!(parse_request(b""), Err(EMPTY));
        assert_eq!(parse_request(b" \t \r"), Err(EMPTY));
        assert_eq!(parse_request(b"stop"), Err(NEEDS_NAME));
        assert_eq!(parse_request(b"stop a b"), Err(TOO_MANY_WORDS));
        assert_eq!(parse_request(b"status x"), Err(NO_ARGUMENT));
        assert_eq!(parse_request(b"stop ../etc"), Err(BAD_NAME));
        assert_eq!(parse_request(b"stop w\0b"), Err(BAD_NAME));
        assert_eq!(parse_request(&[b'a'; 300]), Err(TOO_LONG));
        assert_eq!(parse_request(b"\xff\xfe"), Err(UNKNOWN));
        assert_eq!(parse_request(b"STATUS"), Err(UNKNOWN));
        // Names: the table's limit, not one byte more.
        let mut long = *b"stop xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx";
        assert_eq!(parse_request(&long), Err(BAD_NAME));
        long[5] = b' ';
        assert_eq!(parse_request(&long), Ok(Request::Stop(&long[6..])));
    }

    /// The socket's life on a real socket: a reload keeps it while its file
    /// is there and binds it again once the file is gone (the listener
    /// replaced); on exit, a file another bound since stays, foster's own
    /// goes.
    #[test]
    fn refresh_binds_only_a_lost_socket_and_remove_spares_another() {
        use std::os::fd::AsRawFd;
        use std::os::unix::ffi::OsStrExt;
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("foster-unit-sock-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("ctl.sock");
        let path: &'static CStr = Box::leak(
            std::ffi::CString::new(file.as_os_str().as_bytes())
                .unwrap()
                .into_boxed_c_str(),
        );
        let null = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/null")
            .unwrap();
        let log = Log::fd(null.as_raw_fd());
        let clients: &'static mut Clients = Box::leak(Box::new(core::array::from_fn(|_| Client {
            open: false,
            fd: -1,
            len: 0,
            deadline: 0,
            buf: [0; REQUEST_MAX + 2],
        })));
        let ep = sys::epoll_create().unwrap();
        let mut server = Server::idle(clients);
        let listener = |s: &Server| s.listener.as_ref().map(Fd::raw);
        // No path (no `-S`): nothing to bind, nothing looked at.
        server.refresh(&ep, &log);
        assert_eq!(listener(&server), None);

        server.listen(&ep, path, &log);
        let first = listener(&server).unwrap();
        let id = server.id;
        assert_eq!(sys::file_id(path), Ok(id));
        server.refresh(&ep, &log);
        assert_eq!((listener(&server), server.id), (Some(first), id));

        std::fs::remove_file(&file).unwrap();
        server.refresh(&ep, &log);
        let second = listener(&server).unwrap();
        assert_ne!(second, first);
        assert_ne!(server.id, id);
        assert_eq!(sys::file_id(path), Ok(server.id));
        let mode = std::fs::symlink_metadata(&file)
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);

        // Another takes the path: foster's exit leaves it.
        std::fs::remove_file(&file).unwrap();
        let other = std::os::unix::net::UnixListener::bind(&file).unwrap();
        server.remove();
        assert!(file.exists());
        // Once it is stale, a reload replaces it, and the exit removes
        // foster's own.
        drop(other);
        server.refresh(&ep, &log);
        assert_ne!(listener(&server), Some(second));
        assert_eq!(sys::file_id(path), Ok(server.id));
        server.remove();
        assert!(!file.exists());
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// The error indices name these messages.
    #[test]
    fn errors_in_index_order() {
        let mut all = Vec::new();
        ERRORS.each(&mut |b| all.push(b));
        let texts = [
            (TOO_LONG, "request too long"),
            (EMPTY, "empty request"),
            (TOO_MANY_WORDS, "too many words"),
            (UNKNOWN, "unknown command"),
            (NO_ARGUMENT, "this command takes no argument"),
            (NEEDS_NAME, "this command needs an entry NAME"),
            (BAD_NAME, "bad entry name"),
            (NO_ENTRY, "no entry named "),
            (SHUTTING_DOWN, "foster is shutting down"),
            (REJECTED, "table rejected ("),
            (
                PID1_NO_EXIT,
                "PID 1 does not exit; use poweroff, reboot or halt",
            ),
            (NOT_PID1, "not PID 1 (a sub-init ends with stop-all)"),
            (BARE, ""),
        ];
        let pieces: Vec<&[u8]> = all.split(|&b| b == b'|').collect();
        assert_eq!(pieces.len(), texts.len());
        for (i, text) in texts {
            assert_eq!(pieces[i], text.as_bytes());
        }
    }

    /// `state_word`'s indices name these words.
    #[test]
    fn state_words_in_index_order() {
        let words = [
            "gone", "waiting", "starting", "ready", "running", "stopping", "stopped", "done",
            "failed",
        ];
        let mut all = Vec::new();
        STATE_WORDS.each(&mut |b| all.push(b));
        let pieces: Vec<&[u8]> = all.split(|&b| b == b' ').collect();
        assert_eq!(pieces, words.map(str::as_bytes));
    }

    /// The always-on stand-in for `fuzz/`: random lines built from the
    /// protocol's own words, separators and junk, checked like the fuzz target.
    #[test]
    fn random_bytes_never_panic() {
        const PIECES: [&[u8]; 14] = [
            b"status",
            b"start",
            b"stop",
            b"restart",
            b"reload",
            b"stop-all",
            b"halt",
            b" ",
            b"\t",
            b"\r",
            b"web",
            b"a.b@c",
            b"\xff",
            b"\0",
        ];
        let mut x: u32 = 12345;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x
        };
        let mut buf = [0u8; 300];
        for round in 0..200_000 {
            let mut len = 0;
            let target = next() as usize % buf.len();
            while len < target {
                let r = next();
                let piece: &[u8] = if round % 2 == 0 {
                    PIECES[r as usize % PIECES.len()]
                } else {
                    &[(r >> 8) as u8]
                };
                let n = piece.len().min(buf.len() - len);
                buf[len..len + n].copy_from_slice(&piece[..n]);
                len += n;
            }
            let line = &buf[..len];
            if let Ok(req) = parse_request(line) {
                assert!(line.len() <= REQUEST_MAX + 1);
                let words = line
                    .strip_suffix(b"\r")
                    .unwrap_or(line)
                    .split(|&b| b == b' ' || b == b'\t')
                    .filter(|w| !w.is_empty())
                    .count();
                match req {
                    Request::Start(n) | Request::Stop(n) | Request::Restart(n) => {
                        assert_eq!(words, 2);
                        assert!(!n.is_empty() && n.len() <= config_format::MAX_NAME);
                        assert!(n.iter().all(|&b| config_format::is_name_byte(b)));
                    }
                    _ => assert_eq!(words, 1),
                }
            }
        }
    }
}
