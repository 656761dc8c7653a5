//! foster: a tiny static init. This library holds everything but the entry point,
//! so the supervisor core and the parsers are unit-tested on the host with std.
//!
//! Invariants: no allocator, no libc; `sys` is the only module with `unsafe`.
//!
//! The binary has a size budget (48 KiB), so `#[inline(never)]`, `#[inline]`
//! and `#[cold]` marks throughout are size choices, each kept only because
//! the stripped release build came out smaller with it ("measured:
//! smaller"); where a reason beyond that matters (one caller, a hot loop, a
//! big stack frame), the comment gives it.
#![cfg_attr(not(test), no_std)]
#![deny(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod bytes;
pub mod check;
pub mod control;
pub mod ctl;
pub mod fatal;
pub mod log;
pub mod out;
pub mod pid1;
pub mod runtime;
pub mod single;
pub mod subinit;
pub mod sys;
pub mod texts;

pub use sys::StartArgs;

/// Picks the mode from `argv[0]` and the arguments; returns the exit status.
pub fn main(args: StartArgs) -> i32 {
    let argv0 = word(&args, 0);
    let base = argv0.rsplit(|&b| b == b'/').next().unwrap_or(argv0);
    if let Some(applet) = word_index(APPLETS, base) {
        return ctl::power(args, base, applet);
    }
    // `ctl` and `check` count only as the first word, `-f`/`-S` after the
    // options both modes take: one lookup of each word for all.
    let (first, mode) = mode_word(&args);
    match (first, mode) {
        (1, Some(CTL)) => return ctl::main(args),
        (1, Some(CHECK)) => {
            // Exactly one table: with more, the rest would go unchecked.
            return match args.arg(2) {
                Some(path) if args.argc() == 3 => check::run(path),
                _ => usage_error(text!("check needs one TABLE")),
            };
        }
        _ => {}
    }
    // `-f`/`-S` is a sub-init, or as PID 1 the supervisor.
    let sub = mode >= Some(SUB_INIT);
    // First for the three modes that supervise (one call for all): from
    // here on a signal waits for foster instead of killing it.
    let mask = signals::block_all();
    if sys::is_pid1() && (sub || pid1::wants_supervisor(&args, first)) {
        // PID 1 goes on even without the block: it must not exit.
        pid1::main(args)
    }
    let code = match mask {
        Ok(_) if sub => return subinit::main(args),
        Ok(mask) => single::main(args, mask),
        Err(e) => failed(text!("block signals"), e),
    };
    if sys::is_pid1() {
        return pid1::single_ended(code);
    }
    code
}

/// Word `i` of argv, empty past the end: for the callers that treat both
/// alike (one function for them all).
pub(crate) fn word(args: &StartArgs, i: usize) -> &'static [u8] {
    args.arg(i).map_or(&b""[..], core::ffi::CStr::to_bytes)
}

/// The `on-exit=` actions `check` shows; the first three are the power
/// applets' names ([`APPLETS`]): one copy of the bytes for both.
pub(crate) const SHUTDOWNS: &[u8] = b"poweroff reboot halt exit";
const APPLETS: &[u8] = SHUTDOWNS.split_at(b"poweroff reboot halt".len()).0;

/// The words [`mode_word`] tells apart, by their index: the first word's
/// `ctl` and `check`, the sub-init's `-f` and `-S` (from [`SUB_INIT`] on),
/// and the options both modes take, `-v` and `-p SIG` (from [`SHARED`] on).
const MODE_WORDS: &[u8] = b"ctl check -f -S -v -p";
const CTL: usize = 0;
const CHECK: usize = 1;
const SUB_INIT: usize = 2;
const SHARED: usize = 4;
/// From `-f` on, [`MODE_WORDS`] are the sub-init's options, in the order
/// it stores them: one copy of the bytes for both.
pub(crate) const SUB_INIT_OPTIONS: &[u8] = MODE_WORDS.split_at(b"ctl check ".len()).1;

/// The index of the first word after the options both modes take (`-v`,
/// `-p SIG`, in any order), and which of [`MODE_WORDS`] it is: `-f` or
/// `-S` there is the sub-init's (`foster -v -f TABLE`), anything else
/// single-command mode's (`ctl` and `check` are modes of their own only as
/// the first word).
pub fn mode_word(args: &StartArgs) -> (usize, Option<usize>) {
    let mut i = 1;
    loop {
        let k = word_index(MODE_WORDS, word(args, i));
        i += match k {
            // `-v` is one word, `-p SIG` two.
            Some(n) if n >= SHARED => n - (SHARED - 1),
            _ => return (i, k),
        };
    }
}

/// The index of a word in a blank-separated list: one loop instead of a
/// chain of byte compares for every string of a `match`.
pub use config_format::word_index;
use texts::{text, Packed};

/// Reports `foster: unable to WHAT: reason` on stderr; returns 1 (foster's
/// own failure, in the modes without a log of their own).
pub(crate) fn failed(what: Packed, e: sys::Errno) -> i32 {
    unable_then(what, e, text!(""));
    1
}

/// Reports `foster: unable to WHAT: reason POST` on stderr, for a failure
/// foster goes on after (POST says how).
pub(crate) fn unable_then(what: Packed, e: sys::Errno, post: Packed) {
    log::STDERR.unable_to(what, b"", e, post);
}

/// `-V`, `--version` (as tini, dumb-init and catatonit have): `foster
/// VERSION` on stdout; returns 0.
pub(crate) fn version() -> i32 {
    let _ = sys::write_all(
        sys::STDOUT,
        concat!("foster ", env!("CARGO_PKG_VERSION"), "\n").as_bytes(),
    );
    0
}

/// `-h`, `--help`: the usage on stdout; returns 0.
#[inline(never)]
pub(crate) fn help() -> i32 {
    out::put_text(sys::STDOUT, USAGE);
    0
}

/// Prints `foster: MSG` and the usage, returns 2 (bad usage).
pub fn usage_error(msg: Packed) -> i32 {
    usage_error_with(msg, b"")
}

/// [`usage_error`] with each `@` of MSG replaced by `raw` (the option
/// given): one function for every mode's usage errors.
#[inline(never)]
pub(crate) fn usage_error_with(msg: Packed, raw: &[u8]) -> i32 {
    single::say(msg, raw, 0, 0);
    out::put_text(sys::STDERR, USAGE);
    2
}

/// The usage, for `-h` and usage errors. Its last line is the applets'
/// own usage (`ctl::APPLET_USAGE`, a test keeps the two the same).
pub const USAGE: Packed = text!(
    "\
usage: foster                                 as PID 1: run /etc/inittab
       foster -f TABLE [-S SOCK] [-p SIG] [-v]  supervise TABLE as a sub-init
       foster [-s] [-g] [-e N]... [-p SIG] [-t SECS] [-v] [-w] [--] CMD [ARG]...
       foster check TABLE
       foster ctl [-S SOCK] [--json] status|start NAME|stop NAME|restart NAME|reload|stop-all
                 |poweroff|reboot|halt
       poweroff|reboot|halt [-f] [-d SECS] [-n]
"
);
pub mod reaper;
pub mod signals;
pub mod spawn;
pub mod supervisor;
pub mod users;
