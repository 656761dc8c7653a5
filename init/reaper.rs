//! Reaping: one drain of every exited child, the main ones and adopted
//! orphans alike. Called on every SIGCHLD (and whenever foster wonders), it
//! loops `wait4(-1, WNOHANG)` until nothing is left, so no zombie survives a
//! burst of exits that the kernel coalesced into one SIGCHLD.

use crate::sys::{self, Errno, ExitStatus, Pid};

/// What a drain found after it stopped.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Drained {
    /// Children remain, all still running.
    ChildrenLeft,
    /// foster has no children at all.
    NoChildren,
}

/// Reaps every exited child, calling `on_exit` for each.
pub fn drain(mut on_exit: impl FnMut(Pid, ExitStatus)) -> Drained {
    drain_with(&mut on_exit)
}

/// [`drain`]'s body, compiled once whatever the closure.
#[inline(never)]
fn drain_with(on_exit: &mut dyn FnMut(Pid, ExitStatus)) -> Drained {
    loop {
        match sys::wait4(-1, sys::WNOHANG) {
            Ok(Some((pid, status))) => on_exit(pid, ExitStatus::from_wait(status)),
            Ok(None) => return Drained::ChildrenLeft,
            Err(Errno::ECHILD) => return Drained::NoChildren,
            // Nothing else is documented for wait4 with valid arguments.
            Err(_) => return Drained::ChildrenLeft,
        }
    }
}

/// Calls `f` with the pid of every live child of foster (adopted orphans
/// included), read from /proc. Returns how many it found, or an error if
/// /proc cannot be read.
pub fn for_each_child(mut f: impl FnMut(Pid)) -> Result<usize, Errno> {
    children(&mut f)
}

/// [`for_each_child`]'s body, compiled once whatever the closure.
#[inline(never)]
fn children(f: &mut dyn FnMut(Pid)) -> Result<usize, Errno> {
    let me = sys::getpid();
    let dir = sys::open(
        c"/proc",
        sys::O_RDONLY | sys::O_DIRECTORY | sys::O_CLOEXEC,
        0,
    )?;
    let mut count = 0;
    sys::for_each_dirent(&dir, |ent| {
        let Some(pid) = parse_pid(ent.name) else {
            return;
        };
        if parent_of(pid) == Some(me) {
            count += 1;
            f(pid);
        }
    })?;
    Ok(count)
}

fn parse_pid(name: &[u8]) -> Option<Pid> {
    crate::users::parse_u32(name).and_then(|n| Pid::try_from(n).ok())
}

/// The parent pid from /proc/PID/stat (`pid (comm) S ppid ...`; comm may hold
/// blanks and parentheses, so parse from the last `)`).
pub fn parent_of(pid: Pid) -> Option<Pid> {
    let mut path = crate::out::Line::new();
    path.s("/proc/").i(pid as i64).s("/stat").byte(0);
    let cpath = sys::cstr(path.as_bytes())?;
    let mut buf = [0u8; 512];
    let n = match sys::read_file(cpath, &mut buf) {
        Ok(n) => n,
        Err(Errno::EFBIG) => buf.len(),
        Err(_) => return None,
    };
    let stat = buf.get(..n)?;
    let close = stat.iter().rposition(|&b| b == b')')?;
    // The kernel writes `) S PPID`: fields 1 (state) and 2 after the `)`.
    parse_pid(stat.get(close + 1..)?.split(|&b| b == b' ').nth(2)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_pids() {
        assert_eq!(parse_pid(b"123"), Some(123));
        assert_eq!(parse_pid(b"self"), None);
        assert_eq!(parse_pid(b""), None);
        assert_eq!(parse_pid(b"99999999999"), None);
    }

    #[test]
    fn reads_own_parent() {
        let me = std::process::id() as Pid;
        let ppid = std::os::unix::process::parent_id() as Pid;
        assert_eq!(parent_of(me), Some(ppid));
    }
}
