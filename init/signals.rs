//! Signal plumbing shared by every mode: foster blocks the signals it handles
//! and reads them from a signalfd, so they arrive as ordinary events in the
//! loop and one that comes early (before a child exists) waits, never lost.

use crate::out::Line;
use crate::sys::{self, Errno, Fd, SigSet};
use crate::texts::text;

pub const SIGHUP: u8 = 1;
pub const SIGINT: u8 = 2;
pub const SIGQUIT: u8 = 3;
pub const SIGKILL: u8 = 9;
pub const SIGUSR1: u8 = 10;
pub const SIGSEGV: u8 = 11;
pub const SIGUSR2: u8 = 12;
pub const SIGPIPE: u8 = 13;
pub const SIGALRM: u8 = 14;
pub const SIGTERM: u8 = 15;
pub const SIGCHLD: u8 = 17;
pub const SIGCONT: u8 = 18;
pub const SIGSTOP: u8 = 19;
pub const SIGTSTP: u8 = 20;
pub const SIGTTIN: u8 = 21;
pub const SIGTTOU: u8 = 22;
pub const SIGWINCH: u8 = 28;
pub const SIGPWR: u8 = 30;

/// The bit of `sig` in a kernel signal set.
const fn bit(sig: u8) -> u64 {
    1 << (sig - 1)
}

/// Signals that report a fault in foster itself (ILL TRAP BUS FPE SEGV SYS):
/// left unblocked so a bug kills foster instead of hanging it. As PID 1 the
/// kernel forces such a fault through and panics (`panic=` then reboots the
/// board); only a `kill` of them to PID 1 is ignored.
const SYNCHRONOUS: u64 = bit(4) | bit(5) | bit(7) | bit(8) | bit(SIGSEGV) | bit(31);

/// Every signal foster can catch: all but KILL, STOP and the synchronous faults.
pub fn catchable() -> SigSet {
    SigSet(!(bit(SIGKILL) | bit(SIGSTOP) | SYNCHRONOUS))
}

/// Sub-init and PID 1 act on no real-time signal: those are ignored and
/// unblocked, so the kernel drops them as they come (and those pending now).
/// Blocked, each would queue, to be read out of the signalfd in turn: after
/// a storm of them foster read for minutes (the kernel scans the queue at
/// each read) and served nothing else. Standard signals do not queue.
#[inline]
pub fn ignore_real_time() {
    set_dispositions(32, SigSet(!0));
    let _ = sys::sigprocmask(sys::SIG_UNBLOCK, SigSet(!0 << 31));
}

/// Every signal from `first` on to SIG_IGN if in `ignore`, else SIG_DFL: one
/// write per signal (no read first): as many syscalls, less code. KILL and
/// STOP refuse it, and need no reset.
#[inline(never)]
fn set_dispositions(first: u8, ignore: SigSet) {
    for sig in first..65u8 {
        let want = if ignore.has(sig) {
            sys::SIG_IGN
        } else {
            sys::SIG_DFL
        };
        let _ = sys::set_disposition(sig, want);
    }
}

/// Blocks every catchable signal; returns the caller's mask. Inlined: a
/// `Result<SigSet>` would come back through memory.
#[inline(always)]
pub fn block_all() -> Result<SigSet, Errno> {
    sys::sigprocmask(sys::SIG_BLOCK, catchable())
}

/// A non-blocking signalfd for every catchable signal.
// Cold: once at start (measured: smaller).
#[cold]
pub fn open_fd() -> Result<Fd, Errno> {
    // SIGCHLD left ignored by the caller would make the kernel reap foster's
    // children itself and send no SIGCHLD: foster would never see one end.
    let _ = sys::set_disposition(SIGCHLD, sys::SIG_DFL);
    sys::signalfd(catchable())
}

/// The signals the caller left ignored (SIG_IGN), to hand them on unchanged.
pub fn ignored() -> SigSet {
    let mut set = SigSet::EMPTY;
    // KILL and STOP always read as SIG_DFL.
    for sig in 1..65u8 {
        if sys::disposition(sig) == Ok(sys::SIG_IGN) {
            set = set.with(sig);
        }
    }
    set
}

/// In a fresh child: every disposition back to default except those in
/// `keep_ignored`, then the signal mask set to `mask`.
pub fn reset_for_child(keep_ignored: SigSet, mask: SigSet) {
    set_dispositions(1, keep_ignored);
    let _ = sys::sigprocmask(sys::SIG_SETMASK, mask);
}

/// `SIGTERM` for 15; `signal 40` for one without a name (a real-time one),
/// so its number is not lost.
#[inline(never)]
pub fn put_name(l: &mut Line, sig: u8) -> &mut Line {
    match config_format::signal_name(sig) {
        Some(name) => l.s("SIG").bytes(name),
        None => l.t(text!("signal ")).u(sig as u64),
    }
}
