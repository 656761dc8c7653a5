//! Reaping: one drain of every exited child, the main ones and adopted
//! orphans alike. Called on every SIGCHLD (and whenever foster wonders), it
//! loops `wait4(-1, WNOHANG)` until nothing is left, so no zombie survives a
//! burst of exits that the kernel coalesced into one SIGCHLD (with
//! `WUNTRACED` too when the caller wants to hear of stopped children).
//! Also the one sweep that signals what is left to reap: every process, or
//! foster's descendants found in /proc ([`signal_all`]).

use crate::signals::SIGCONT;
use crate::sys::{self, Errno, Pid};
use core::ffi::CStr;

/// What a drain found after it stopped.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Drained {
    /// Children remain, all still running.
    ChildrenLeft,
    /// foster has no children at all.
    NoChildren,
}

/// Reaps every exited child, calling `on_wait` with its pid and wait status
/// for each; with `stopped`, also with each child that stopped (reported
/// once by the kernel, and not reaped).
// Out of line in its one caller, single-command mode's loop (measured:
// smaller).
#[inline(never)]
pub fn drain(stopped: bool, mut on_wait: impl FnMut(Pid, i32)) -> Drained {
    let options = if stopped {
        sys::WNOHANG | sys::WUNTRACED
    } else {
        sys::WNOHANG
    };
    loop {
        match sys::wait4(-1, options) {
            Ok(Some((pid, status))) => on_wait(pid, status),
            Ok(None) => return Drained::ChildrenLeft,
            Err(Errno::ECHILD) => return Drained::NoChildren,
            // Nothing else is documented for wait4 with valid arguments.
            Err(_) => return Drained::ChildrenLeft,
        }
    }
}

/// Sends `sig` to the processes foster may signal: with `everyone` (PID 1)
/// all of them, in one `kill(-1)`; else every live descendant of foster
/// (adopted orphans, and theirs before they come to foster in their turn),
/// read from /proc, and with `groups` the group each leads too (so
/// grandchildren that still have a parent go). With `cont`, SIGCONT follows
/// in the same sweep (a stopped process must wake up to act on the signal).
/// Returns how many descendants it found (0 for `everyone`), or `None`
/// without a usable /proc: none mounted, or one of another PID namespace,
/// whose pids are not foster's to signal (an `Option<u32>` fits a register,
/// where a `Result` would not).
///
/// A descendant starts after foster: a process (or an ancestor) that
/// started before it ends the walk at once, so on a busy host most
/// processes cost one read of their stat, not one per ancestor.
#[inline(never)]
pub fn signal_all(sig: u8, everyone: bool, groups: bool, cont: bool) -> Option<u32> {
    if everyone {
        let _ = sys::kill(-1, sig);
        if cont {
            let _ = sys::kill(-1, SIGCONT);
        }
        return Some(0);
    }
    let me = sys::getpid();
    // This /proc shows foster's parent as foster sees it: same namespace
    // (and it could be read: no parent is UNREADABLE's).
    let (parent, born) = parent_of(0);
    if parent != sys::getppid() {
        return None;
    }
    let dir = sys::open_opt(
        c"/proc",
        sys::O_RDONLY | sys::O_DIRECTORY | sys::O_CLOEXEC,
        0,
    )?;
    let mut count = 0;
    let read = sys::for_each_dirent(&dir, |ent| {
        let pid = parse_pid(ent.name);
        if pid < 0 {
            return;
        }
        let mut up = parent_of(pid);
        // Bounded: parents read one at a time while pids are reused could loop.
        for _ in 0..256 {
            match up {
                (_, started) if started < born => return,
                (p, _) if p == me => {
                    count += 1;
                    let _ = sys::kill(pid, sig);
                    if groups {
                        let _ = sys::kill(-pid, sig);
                    }
                    if cont {
                        let _ = sys::kill(pid, SIGCONT);
                    }
                    return;
                }
                (p, _) if p > 1 => up = parent_of(p),
                _ => return,
            }
        }
    });
    read.ok().map(|()| count)
}

/// The pid a /proc entry's name or a stat field spells, or -1 (no
/// process's, as [`UNREADABLE`]'s parent) for anything else.
fn parse_pid(name: &[u8]) -> Pid {
    crate::bytes::parse_u32(name)
        .and_then(|n| Pid::try_from(n).ok())
        .unwrap_or(-1)
}

/// The parent pid and start time of `pid` (0, a pid no process has: of
/// foster itself, as /proc/self shows it), from /proc/PID/stat, or
/// [`UNREADABLE`] (a parent field that is no pid reads as its -1 too).
#[inline(never)]
pub fn parent_of(pid: Pid) -> (Pid, u64) {
    stat_fields(pid).unwrap_or(UNREADABLE)
}

/// Room for `/proc/PID/stat` and its NUL (a pid has at most 10 digits).
pub const PROC_PATH: usize = 24;

/// `/proc/PID` and `tail` (`/stat`, or nothing for the directory) as a C
/// string in `path`, which must be all zero; `None` if it does not fit.
pub fn proc_path<'p>(path: &'p mut [u8; PROC_PATH], pid: &[u8], tail: &[u8]) -> Option<&'p CStr> {
    const PROC: &[u8; 6] = b"/proc/";
    *path.first_chunk_mut()? = *PROC;
    let mut end = PROC.len();
    for &b in pid.iter().chain(tail) {
        *path.get_mut(end)? = b;
        end += 1;
    }
    sys::cstr(path.get(..=end)?)
}

/// What [`parent_of`] gives for a stat it cannot read or parse: a parent
/// no process has, as a pair that comes back in two registers (an `Option`
/// of it would come back through memory).
pub const UNREADABLE: (Pid, u64) = (-1, 0);

/// [`parent_of`]'s read and parse. The stat line is `pid (comm) S ppid ...
/// starttime ...`; comm may hold blanks and parentheses, so it is parsed
/// from the last `)`.
#[inline(always)]
fn stat_fields(pid: Pid) -> Option<(Pid, u64)> {
    let mut digits = [0u8; 20];
    let name: &[u8] = if pid == 0 {
        b"self"
    } else {
        crate::out::decimal(pid as u64, &mut digits)
    };
    let mut path = [0u8; PROC_PATH];
    let cpath = proc_path(&mut path, name, b"/stat")?;
    let mut buf = [core::mem::MaybeUninit::uninit(); 512];
    let stat = sys::read_head(cpath, &mut buf)?;
    let close = stat.iter().rposition(|&b| b == b')')?;
    // After the `)`: ` S PPID ...`, so field N of proc(5) is piece N - 2:
    // the parent (4) and the start time in clock ticks (22).
    let rest = stat.get(close + 1..)?;
    const PPID_PIECE: usize = 4 - 2;
    const STARTTIME_PIECE: usize = 22 - 2;
    let parent = parse_pid(crate::bytes::nth_piece(rest, b' ', PPID_PIECE)?);
    let started =
        config_format::parse_decimal(crate::bytes::nth_piece(rest, b' ', STARTTIME_PIECE)?)?;
    Some((parent, started))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_pids() {
        assert_eq!(parse_pid(b"123"), 123);
        assert_eq!(parse_pid(b"self"), -1);
        assert_eq!(parse_pid(b""), -1);
        assert_eq!(parse_pid(b"99999999999"), -1);
        assert_eq!(parse_pid(b"2147483648"), -1);
    }

    #[test]
    fn reads_own_parent() {
        let me = std::process::id() as Pid;
        let ppid = std::os::unix::process::parent_id() as Pid;
        assert_eq!(parent_of(me).0, ppid);
        assert_eq!(parent_of(0).0, ppid);
        assert_eq!(parent_of(-1), UNREADABLE);
    }
}
