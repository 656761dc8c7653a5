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
//! blocks supervision. The socket is created with mode 0600 from the start.

use crate::out::Line;
use crate::runtime::{Runtime, TAG_CLIENT};
use crate::supervisor::{Mode, Outcome, Slot, State};
use crate::sys::{self, Errno, ExitStatus, Fd};
use core::ffi::CStr;

pub const REQUEST_MAX: usize = 256;
pub const MAX_CLIENTS: usize = 4;
/// A client must send its request within this time.
pub const CLIENT_DEADLINE_MS: u64 = 2_000;
/// How long the listener rests after accept failed for want of resources.
pub const ACCEPT_PAUSE_MS: u64 = 1_000;
pub const PID1_SOCKET: &CStr = c"/run/foster.sock";

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

/// Parses one request line (without its newline). Pure: fuzzed.
pub fn parse_request<'a>(line: &'a [u8]) -> Result<Request<'a>, &'static str> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.len() > REQUEST_MAX {
        return Err("request too long");
    }
    let mut words = line
        .split(|&b| b == b' ' || b == b'\t')
        .filter(|w| !w.is_empty());
    let cmd = words.next().ok_or("empty request")?;
    let name = words.next();
    if words.next().is_some() {
        return Err("too many words");
    }
    let needs_name = |name: Option<&'a [u8]>| -> Result<&'a [u8], &'static str> {
        let n = name.ok_or("this command needs an entry NAME")?;
        if n.len() > config_format::MAX_NAME || !n.iter().all(|&b| config_format::is_name_byte(b)) {
            return Err("bad entry name");
        }
        Ok(n)
    };
    let no_name = |r: Request<'a>| {
        if name.is_some() {
            Err("this command takes no argument")
        } else {
            Ok(r)
        }
    };
    match cmd {
        b"status" => no_name(Request::Status),
        b"start" => Ok(Request::Start(needs_name(name)?)),
        b"stop" => Ok(Request::Stop(needs_name(name)?)),
        b"restart" => Ok(Request::Restart(needs_name(name)?)),
        b"reload" => no_name(Request::Reload),
        b"poweroff" => no_name(Request::Poweroff),
        b"reboot" => no_name(Request::Reboot),
        b"halt" => no_name(Request::Halt),
        b"stop-all" | b"exit" => no_name(Request::StopAll),
        _ => Err("unknown command"),
    }
}

struct Client {
    fd: Fd,
    buf: [u8; REQUEST_MAX + 2],
    len: usize,
    deadline: u64,
}

/// The listening socket and its connections.
pub struct Server {
    listener: Fd,
    path: &'static CStr,
    clients: [Option<Client>; MAX_CLIENTS],
    /// Remove the socket file on exit (foster created it).
    owned: bool,
    /// Out of fds (or memory) for a new connection: the listener is out of
    /// the epoll set until then, so a pending client cannot make foster spin.
    paused_until: Option<u64>,
}

impl Server {
    /// Creates the socket at `path` with mode 0600, replacing a stale socket
    /// file but never a live one, a symlink or any other kind of file.
    pub fn bind(path: &'static CStr) -> Result<Server, (&'static str, Errno)> {
        match sys::stat(path, false) {
            Ok(st) if st.mode & sys::S_IFMT == sys::S_IFSOCK => {
                // Only a refused connection proves nobody listens: EAGAIN is
                // a live but busy listener, EACCES someone else's socket.
                let probe = sys::unix_socket(true).map_err(|e| ("create a socket", e))?;
                match sys::connect_unix(&probe, path.to_bytes()) {
                    Err(Errno::ECONNREFUSED) => {
                        sys::unlink(path).map_err(|e| ("remove the stale control socket", e))?
                    }
                    Ok(()) | Err(Errno::EAGAIN) => {
                        return Err((
                            "take the control socket (another foster answers there)",
                            Errno::EADDRINUSE,
                        ))
                    }
                    Err(e) => return Err(("check the control socket", e)),
                }
            }
            Ok(_) => return Err(("use a non-socket file as the control socket", Errno::EEXIST)),
            Err(Errno::ENOENT) => {}
            Err(e) => return Err(("check the control socket path", e)),
        }
        let fd = sys::unix_socket(true).map_err(|e| ("create a socket", e))?;
        // The umask makes the node 0600 from the instant it exists.
        let old = sys::umask(0o177);
        let bound = sys::bind_unix(&fd, path.to_bytes());
        sys::umask(old);
        bound.map_err(|e| ("bind the control socket", e))?;
        sys::listen(&fd, 8).map_err(|e| ("listen on the control socket", e))?;
        Ok(Server {
            listener: fd,
            path,
            clients: [const { None }; MAX_CLIENTS],
            owned: true,
            paused_until: None,
        })
    }

    pub fn listener(&self) -> &Fd {
        &self.listener
    }

    /// The earliest client deadline, or the end of a pause.
    pub fn next_deadline(&self) -> Option<u64> {
        let clients = self.clients.iter().flatten().map(|c| c.deadline).min();
        match (clients, self.paused_until) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Removes the socket file (on exit).
    pub fn remove(&mut self) {
        if self.owned {
            let _ = sys::unlink(self.path);
            self.owned = false;
        }
    }
}

/// New connections: accept them all, checking each peer.
pub fn on_listener(rt: &mut Runtime, now: u64) {
    let Some(mut server) = rt.control.take() else {
        return;
    };
    for _ in 0..16 {
        let fd = match sys::accept(&server.listener) {
            Ok(fd) => fd,
            Err(e @ (Errno::EMFILE | Errno::ENFILE | Errno::ENOMEM)) => {
                // Out of fds or memory: the connection stays queued and
                // the listener readable; stop watching it for a while.
                let _ = sys::epoll_del(rt.epoll(), server.listener.raw());
                server.paused_until = Some(now + ACCEPT_PAUSE_MS);
                let mut l = Line::new();
                l.s("unable to accept a control connection: ")
                    .errno(e)
                    .s("; retrying in 1 s");
                rt.log().error_raw(l.as_bytes());
                break;
            }
            Err(_) => break,
        };
        let allowed = match sys::peer_cred(&fd) {
            Ok((_, uid, _)) => uid == 0 || uid == sys::getuid(),
            Err(_) => false,
        };
        if !allowed {
            let _ = sys::write_all(fd.raw(), b"error: permission denied\n");
            continue;
        }
        match server.clients.iter().position(Option::is_none) {
            Some(i) => {
                if sys::epoll_add(
                    rt.epoll(),
                    fd.raw(),
                    sys::EPOLLIN | sys::EPOLLRDHUP,
                    TAG_CLIENT | i as u64,
                )
                .is_ok()
                {
                    if let Some(cell) = server.clients.get_mut(i) {
                        *cell = Some(Client {
                            fd,
                            buf: [0; REQUEST_MAX + 2],
                            len: 0,
                            deadline: now + CLIENT_DEADLINE_MS,
                        });
                    }
                }
            }
            None => {
                let _ = sys::write_all(fd.raw(), b"error: busy, try again\n");
            }
        }
    }
    rt.control = Some(server);
}

/// A client sent something (or hung up).
pub fn on_client(rt: &mut Runtime, index: usize, now: u64) {
    let Some(mut server) = rt.control.take() else {
        return;
    };
    let mut finished = false;
    let mut request: Option<([u8; REQUEST_MAX + 2], usize)> = None;
    if let Some(Some(c)) = server.clients.get_mut(index) {
        while let Some(room) = c.buf.get_mut(c.len..) {
            if room.is_empty() {
                let _ = sys::write_all(c.fd.raw(), b"error: request too long\n");
                finished = true;
                break;
            }
            match sys::read(c.fd.raw(), room) {
                Ok(0) => {
                    finished = true;
                    break;
                }
                Ok(n) => {
                    c.len += n;
                    if let Some(end) = c
                        .buf
                        .get(..c.len)
                        .and_then(|b| b.iter().position(|&x| x == b'\n'))
                    {
                        request = Some((c.buf, end));
                        break;
                    }
                }
                Err(Errno::EAGAIN) => break,
                Err(_) => {
                    finished = true;
                    break;
                }
            }
        }
    }
    if let Some((buf, end)) = request {
        let fd = server
            .clients
            .get(index)
            .and_then(|c| c.as_ref())
            .map(|c| c.fd.raw());
        rt.control = Some(server);
        if let Some(fd) = fd {
            answer(rt, fd, buf.get(..end).unwrap_or(&[]), now);
        }
        let Some(s) = rt.control.take() else { return };
        server = s;
        finished = true;
    }
    if finished {
        close_client(rt, &mut server, index);
    }
    rt.control = Some(server);
}

/// Cut off clients past their deadline; resume accepting after a pause.
pub fn on_tick(rt: &mut Runtime, now: u64) {
    let Some(mut server) = rt.control.take() else {
        return;
    };
    if server.paused_until.is_some_and(|t| now >= t) {
        server.paused_until = None;
        let _ = sys::epoll_add(
            rt.epoll(),
            server.listener.raw(),
            sys::EPOLLIN,
            crate::runtime::TAG_CONTROL,
        );
    }
    for i in 0..MAX_CLIENTS {
        let late = server
            .clients
            .get(i)
            .and_then(|c| c.as_ref())
            .is_some_and(|c| now >= c.deadline);
        if late {
            if let Some(Some(c)) = server.clients.get(i) {
                let _ = sys::write_all(c.fd.raw(), b"error: timed out waiting for a request\n");
            }
            close_client(rt, &mut server, i);
        }
    }
    rt.control = Some(server);
}

fn close_client(rt: &Runtime, server: &mut Server, index: usize) {
    if let Some(c) = server.clients.get_mut(index).and_then(Option::take) {
        let _ = sys::epoll_del(rt.epoll(), c.fd.raw());
    }
}

fn reply(fd: sys::RawFd, l: &mut Line) {
    l.byte(b'\n');
    let _ = sys::write_all(fd, l.as_bytes());
    l.clear();
}

fn answer(rt: &mut Runtime, fd: sys::RawFd, line: &[u8], now: u64) {
    let mut l = Line::new();
    let req = match parse_request(line) {
        Ok(r) => r,
        Err(msg) => {
            l.s("error: ").s(msg);
            return reply(fd, &mut l);
        }
    };
    let pid1 = rt.mode() == Mode::Pid1;
    let by_name = |rt: &Runtime, name: &[u8]| rt.supervisor().find(name);
    match req {
        Request::Status => {
            for s in rt.supervisor().slots().iter().filter(|s| !s.removed) {
                status_row(&mut l, s, now);
                reply(fd, &mut l);
            }
            l.s("ok");
        }
        Request::Start(name) | Request::Stop(name) | Request::Restart(name) => {
            let Some(id) = by_name(rt, name) else {
                l.s("error: no entry named ").bytes(name);
                return reply(fd, &mut l);
            };
            let sup = rt.supervisor_mut();
            let done = match req {
                Request::Start(_) => sup.start_slot(id, now),
                Request::Stop(_) => sup.stop(id, now) || is_down(sup.slot(id)),
                _ => sup.restart(id, now),
            };
            if done {
                l.s("ok");
            } else if sup.is_stopping() {
                l.s("error: foster is shutting down");
            } else {
                l.s("error: ").bytes(name).s(" is ");
                state_word(&mut l, sup.slot(id), now);
            }
        }
        Request::Reload => {
            let mut report = |text: &[u8]| {
                for row in text.split(|&b| b == b'\n').filter(|r| !r.is_empty()) {
                    let mut m = Line::new();
                    m.s("table: ").bytes(row);
                    reply(fd, &mut m);
                }
            };
            let errors = rt.reload(Some(&mut report));
            if errors == 0 {
                l.s("ok");
            } else {
                l.s("error: table rejected (")
                    .u(errors as u64)
                    .s(" error(s)); the running table is kept");
            }
        }
        Request::Poweroff | Request::Reboot | Request::Halt if !pid1 => {
            l.s("error: not PID 1 (a sub-init ends with stop-all)");
        }
        Request::Poweroff | Request::Reboot | Request::Halt => {
            let outcome = match req {
                Request::Poweroff => Outcome::Poweroff,
                Request::Reboot => Outcome::Reboot,
                _ => Outcome::Halt,
            };
            l.s("ok");
            reply(fd, &mut l);
            rt.supervisor_mut().shutdown(outcome, now);
            return;
        }
        Request::StopAll if pid1 => {
            l.s("error: PID 1 does not exit; use poweroff, reboot or halt");
        }
        Request::StopAll => {
            l.s("ok");
            reply(fd, &mut l);
            let code = rt.supervisor().exit_code();
            rt.supervisor_mut().shutdown(Outcome::Exit(code), now);
            return;
        }
    };
    reply(fd, &mut l);
}

fn is_down(slot: Option<&Slot>) -> bool {
    slot.is_some_and(|s| matches!(s.state, State::Stopped))
}

/// The state as `ctl status` shows it.
fn state_word(l: &mut Line, slot: Option<&Slot>, now: u64) {
    let Some(s) = slot else {
        l.s("gone");
        return;
    };
    match s.state {
        State::Pending => l.s("waiting"),
        State::Launching { .. } | State::FindingPid { .. } => l.s("starting"),
        State::Running { .. } if s.entry.ready_fd.is_some() => {
            l.s(if s.ready { "ready" } else { "starting" })
        }
        State::Running { .. } => l.s("running"),
        State::Backoff { until } => l
            .s("backoff ")
            .u(until.saturating_sub(now).div_ceil(1000))
            .s("s"),
        State::Stopping { .. } => l.s("stopping"),
        State::Stopped => l.s("stopped"),
        State::Done { .. } => l.s("done"),
        State::Failed { .. } => l.s("failed"),
    };
}

fn status_row(l: &mut Line, s: &Slot, now: u64) {
    l.s("entry\t")
        .bytes(s.name().as_bytes())
        .s("\t")
        .s(s.entry.kind.as_str())
        .s("\t");
    state_word(l, Some(s), now);
    l.s("\t");
    match s.pid() {
        Some(p) => l.i(p as i64),
        None => l.s("-"),
    };
    l.s("\t").u(s.restarts as u64).s("\t");
    match s.last_exit {
        Some(ExitStatus::Code(c)) => l.u(c as u64),
        Some(ExitStatus::Signal(sig)) => l.s("SIG").s(crate::signals::name(sig)),
        None => l.s("-"),
    };
    l.s("\t");
    match s.state {
        State::Running { .. } | State::Launching { .. } | State::Stopping { .. } => {
            l.u(now.saturating_sub(s.since) / 1000)
        }
        _ => l.s("-"),
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
        assert_eq!(parse_request(b""), Err("empty request"));
        assert_eq!(parse_request(b" \t \r"), Err("empty request"));
        assert_eq!(
            parse_request(b"stop"),
            Err("this command needs an entry NAME")
        );
        assert_eq!(parse_request(b"stop a b"), Err("too many words"));
        assert_eq!(
            parse_request(b"status x"),
            Err("this command takes no argument")
        );
        assert_eq!(parse_request(b"stop ../etc"), Err("bad entry name"));
        assert_eq!(parse_request(b"stop w\0b"), Err("bad entry name"));
        assert_eq!(parse_request(&[b'a'; 300]), Err("request too long"));
        assert_eq!(parse_request(b"\xff\xfe"), Err("unknown command"));
        assert_eq!(parse_request(b"STATUS"), Err("unknown command"));
        // Names: the table's limit, not one byte more.
        let mut long = *b"stop xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx";
        assert_eq!(parse_request(&long), Err("bad entry name"));
        long[5] = b' ';
        assert_eq!(parse_request(&long), Ok(Request::Stop(&long[6..])));
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
