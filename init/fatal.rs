//! What foster does when it cannot go on: as PID 1 it must never exit (the
//! kernel would panic), so it says so once and keeps reaping forever.

use crate::sys;

/// sysexits' EX_SOFTWARE, "internal software error": a panic outside PID 1.
const EX_SOFTWARE: i32 = 70;

/// The panic handler's body: one line, then reap forever (PID 1) or exit
/// [`EX_SOFTWARE`].
pub fn panicked() -> ! {
    let pid1 = sys::is_pid1();
    let msg: &[u8] = if pid1 {
        b"foster: internal error (panic); keeping children reaped\n"
    } else {
        b"foster: internal error (panic)\n"
    };
    let _ = sys::write_all(sys::STDERR, msg);
    if pid1 {
        reap_forever()
    }
    sys::exit(EX_SOFTWARE)
}

/// Reap every child that ever exits, for good. Used when PID 1 cannot run its
/// supervisor any more: orphans must still not turn into zombies.
pub fn reap_forever() -> ! {
    loop {
        match sys::wait4(-1, 0) {
            Ok(_) => {}
            // No child at all (ECHILD) or an interrupted wait: look again in
            // a second rather than spin; an orphan waits at most that long.
            Err(_) => sys::sleep_ms(1000),
        }
    }
}
