//! Sub-init mode, `foster -f TABLE [-S SOCK] [-p SIG] [-v]`: supervise a
//! table under any other process as a child subreaper, so double-forked
//! daemons come back to foster, not to the real PID 1.

use crate::log::Log;
use crate::runtime::{Config, Runtime};
use crate::supervisor::{Mode, Outcome};
use crate::sys::{self, StartArgs};
use crate::texts::{text, Packed};
use core::ffi::CStr;

#[derive(Default)]
pub struct Opts {
    /// `-f TABLE` and `-S SOCK`, by their places in [`OPTIONS`]: [`parse`]
    /// stores either by that place.
    paths: [Option<&'static CStr>; 2],
    /// `-p SIG`; 0: none (prctl's own "none").
    pub pdeath: u8,
    pub verbose: bool,
}

impl Opts {
    pub fn table(&self) -> Option<&'static CStr> {
        self.paths.get(TABLE).copied().flatten()
    }

    pub fn socket(&self) -> Option<&'static CStr> {
        self.paths.get(SOCKET).copied().flatten()
    }
}

/// The options, `-f -S -v -p`, by their place in the list: `-f` and `-S`
/// index `Opts::paths`; `-p SIG` is past them.
const OPTIONS: &[u8] = crate::SUB_INIT_OPTIONS;
const TABLE: usize = 0;
const SOCKET: usize = 1;
const VERBOSE: usize = 2;

/// Parses `-f TABLE -S SOCK -p SIG -v` (any order) into `o` (filled in
/// place, not copied out; on an error it holds what came before it).
/// `lenient` (PID 1): words that are not options are skipped, since the
/// kernel passes its unknown command-line words on to init.
pub fn parse(args: &StartArgs, from: usize, lenient: bool, o: &mut Opts) -> Result<(), Packed> {
    // The place in OPTIONS of the option the next word belongs to (all
    // but `-v` take one); none: the next word is an option. One word read
    // per turn of one loop (measured smaller than reading an option's
    // word right after it).
    const NONE: usize = usize::MAX;
    let mut wants = NONE;
    let mut i = from;
    while let Some(a) = args.arg(i) {
        i += 1;
        if wants == NONE {
            wants = match crate::word_index(OPTIONS, a.to_bytes()) {
                Some(VERBOSE) => {
                    o.verbose = true;
                    continue;
                }
                Some(k) => k,
                None if lenient => continue,
                None => return Err(text!("unknown option for sub-init mode")),
            };
            continue;
        }
        // Stored by its option's place: a path, else the signal.
        match o.paths.get_mut(wants) {
            Some(path) => *path = Some(a),
            None => {
                let sig = config_format::signal_by_name(a.to_bytes());
                o.pdeath = sig.ok_or(text!("-p: unknown signal"))?;
            }
        }
        wants = NONE;
    }
    if wants != NONE {
        // By place as `paths` is, the rest (`-p`) past them.
        let needs = [text!("-f needs a TABLE"), text!("-S needs a socket PATH")];
        return Err(needs
            .get(wants)
            .copied()
            .unwrap_or(text!("-p needs a SIGNAL")));
    }
    Ok(())
}

/// The runtime of `opts`' table, for a sub-init and PID 1 alike (one
/// builder for both modes: `Runtime::new` is inlined once).
pub fn runtime(
    args: StartArgs,
    mode: Mode,
    opts: &Opts,
    log: Log,
) -> Result<Runtime<'static>, (Packed, sys::Errno)> {
    let cfg = Config {
        mode,
        table: opts.table(),
        args,
        verbose: opts.verbose,
    };
    Runtime::new(cfg, log)
}

/// Sets `-p`'s parent-death signal, if one was given (sub-init and
/// single-command mode); `Err(code)` when foster should exit (the failure
/// reported here, once for both modes). The parent may have died before
/// prctl took effect: then foster sends the signal to itself, as if it came
/// (it waits, blocked, in the signalfd).
pub fn parent_death(sig: u8) -> Result<(), i32> {
    if sig == 0 {
        return Ok(());
    }
    let parent = sys::getppid();
    if let Err(e) = sys::set_parent_death_signal(sig) {
        return Err(crate::failed(text!("set the parent-death signal"), e));
    }
    if sys::getppid() != parent {
        let _ = sys::kill(sys::getpid(), sig);
    }
    Ok(())
}

/// Runs a sub-init; the caller has blocked the signals already (they wait
/// in the signalfd).
pub fn main(args: StartArgs) -> i32 {
    crate::pid1::fill_closed_stdio(false, true);
    if let Err(e) = sys::set_child_subreaper() {
        // qemu-user and old kernels refuse it: orphans then go to the real init.
        crate::unable_then(text!("become a subreaper"), e, text!("; continuing"));
    }
    let mut opts = Opts::default();
    // Bad options, or none naming the table: one usage error for both.
    let parsed = parse(&args, 1, false, &mut opts);
    if let Err(msg) = parsed.and(opts.table().ok_or(text!("sub-init mode needs -f TABLE"))) {
        return crate::usage_error(msg);
    }
    if let Err(code) = parent_death(opts.pdeath) {
        return code;
    }
    // Never dropped: foster exits right after it, and the kernel closes its fds.
    let mut new =
        core::mem::ManuallyDrop::new(runtime(args, Mode::SubInit, &opts, Log::own_stderr()));
    let rt = match &mut *new {
        Ok(rt) => rt,
        Err((what, e)) => return crate::failed(*what, *e),
    };
    match rt.serve(opts.socket()) {
        Outcome::Exit(code) => code.into(),
        Outcome::Poweroff | Outcome::Reboot | Outcome::Halt | Outcome::ExecRestart(_) => 0,
    }
}
