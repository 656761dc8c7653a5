//! What foster does when it cannot go on: as PID 1 it must never exit (the
//! kernel would panic), so it says so once and keeps reaping forever.

use crate::sys;

/// The panic handler's body: one line, then reap forever (PID 1) or exit 70.
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
    sys::exit(70)
}

/// Reap every child that ever exits, for good. Used when PID 1 cannot run its
/// supervisor any more: orphans must still not turn into zombies.
pub fn reap_forever() -> ! {
    loop {
        match sys::wait4(-1, 0) {
            Ok(_) => {}
            Err(_) => sys::sleep_ms(1000),
        }
    }
}
