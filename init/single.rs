//! Single-command mode, the drop-in for tini / `docker run --init`:
//! `foster [-s] [-g] [-e N]... [-p SIG] [-t SECS] [-v] [-w] [--] CMD [ARG]...`
//!
//! Invariants: every catchable signal is blocked before anything else runs, so
//! one that comes early waits in the pending set and is forwarded once the
//! child has exec'd (never lost, never delivered to a half-made child). The
//! child gets its own process group (and the terminal's foreground when foster
//! has it; when foster's group lies outside its PID namespace, once the
//! child touches the terminal), the caller's mask and ignored signals
//! exactly, and foster's idle state is one `ppoll` on the signalfd with no
//! timeout. When the child ends, whatever it left behind gets SIGTERM,
//! SIGKILL after the grace time, and every process is reaped before foster
//! exits with the child's status.

use crate::out::Line;
use crate::reaper::{self, Drained};
use crate::signals::{
    self, SIGCHLD, SIGCONT, SIGINT, SIGKILL, SIGPIPE, SIGQUIT, SIGTERM, SIGTSTP, SIGTTIN, SIGTTOU,
};
use crate::spawn::{self, ChildSetup, Exec, Session};
use crate::sys::{self, ExitStatus, Pid, RawFd, SigSet, STDERR, STDIN};
use crate::sys::{O_CLOEXEC, O_NOCTTY, O_NONBLOCK, O_RDONLY};
use crate::texts::{text, Packed};
use core::ffi::CStr;

/// What the command line asked for, what CMD inherits, and what CMD's
/// start set. `repr(C)`: the order of fields measured to compile smallest
/// (what CMD inherits first, then the exit code map, then the start's
/// fields, most read by the loop; with the map last, `main` grows by some
/// 200 bytes).
#[repr(C)]
struct Opts {
    /// What CMD inherits: the caller's mask and the signals it ignored.
    mask: SigSet,
    ignored: SigSet,
    /// Exit codes mapped to 0 (`-e N`), one bit each.
    remap: [u64; 4],
    /// Set as CMD starts: the terminal (fd), the child's pid, foster's own
    /// process group, and (after the switches) whether the terminal is one.
    term: RawFd,
    child: Pid,
    pgrp: Pid,
    /// The switches given: bits of [`OPTIONS`].
    switches: u8,
    tty: bool,
    /// `-p`'s parent-death signal; 0: none (prctl's own "none").
    pdeath: u8,
    /// Index of CMD in argv, and `-t`'s grace time in seconds: `u32`s,
    /// whose 32-bit operations need no REX prefix byte (measured: smaller
    /// than a `usize` and milliseconds).
    cmd: u32,
    grace: u32,
}

/// Runs single-command mode; the caller has blocked the signals already
/// (`mask`: its mask before). In its own frame: the caller's stays small, so
/// no stack pages are touched (probed) before the signals are blocked.
#[inline(never)]
pub fn main(args: crate::StartArgs, mask: SigSet) -> i32 {
    let mut opts = Opts {
        mask,
        ignored: signals::ignored(),
        switches: if args.env(b"TINI_KILL_PROCESS_GROUP").is_some() {
            GROUP
        } else {
            0
        },
        remap: [0; 4],
        pdeath: 0,
        grace: 1,
        cmd: 1,
        term: STDIN,
        tty: false,
        child: 0,
        pgrp: 0,
    };
    if let Err(code) = parse(&args, &mut opts) {
        return code;
    }
    let Some(cmd) = args.arg(opts.cmd as usize) else {
        return crate::usage_error(text!("no command given"));
    };
    if let Err(code) = crate::subinit::parent_death(opts.pdeath) {
        return code;
    }
    // A subreaper whenever not PID 1 (`-s`, TINI_SUBREAPER: accepted, implied).
    if !sys::is_pid1() {
        if let Err(e) = sys::set_child_subreaper() {
            // Reported, not fatal: foster goes on.
            let _ = crate::failed(text!("become a subreaper"), e);
        }
    }
    // Neither this nor the terminal below is ever closed: nothing after
    // this function needs them closed (foster exits, or as PID 1 powers
    // off), and the kernel closes its fds.
    let sfd = match signals::open_fd() {
        Ok(fd) => core::mem::ManuallyDrop::new(fd),
        Err(e) => return crate::failed(text!("open a signalfd"), e),
    };

    opts.pgrp = sys::getpgrp();
    // The controlling terminal wherever stdio points (`foster CMD </dev/null`
    // in a shell): a child left in its background stops (SIGTTOU) at its
    // first touch of it. Only for a job of its own (a job-control shell's):
    // `foster CMD &` in a script shares the script's group, and must not
    // take the terminal from it. Else, or without a /dev/tty node, stdin
    // (`term` as it starts).
    if opts.pgrp == sys::getpid() {
        let flags = O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC;
        if let Some(fd) = sys::open_opt(c"/dev/tty", flags, 0) {
            opts.term = fd.into_raw();
        }
    }
    opts.tty = sys::isatty(opts.term);
    // The child takes the terminal only from foster, never from another
    // job (-1: no terminal to take).
    let fg = opts.tty && sys::is_foreground(opts.term, opts.pgrp);
    opts.child = start(&args, &opts, cmd, if fg { opts.term } else { -1 });
    if opts.child == 0 {
        // Not started (said why): foster's own failure.
        return 1;
    }
    // From the exec on, foster's own lines (`-v`, `-w`) go through a
    // non-blocking description of its stderr (a pipe, a terminal): a
    // reader that stalls costs lines, never reaping or forwarding. The
    // child keeps the blocking one; foster starts no other. Only the fd is
    // kept of the log: a description of its own is never fd 2 (stderr is
    // open), and is closed once duplicated, as the log's drop would.
    let own = core::mem::ManuallyDrop::new(crate::log::Log::own_stderr()).console;
    let _ = sys::dup3(own, STDERR, 0);
    if own != STDERR {
        drop(sys::Fd::from_raw(own));
    }
    if opts.has(VERBOSE) {
        say(text!("spawned # (@)"), cmd.to_bytes(), opts.child.into(), 0);
    }

    // The child's exit status, in the shell's convention, once it ended;
    // -1 (never one) until then.
    let mut status: i32 = -1;
    // When the grace time ends; u64::MAX (never) until the child has
    // ended, 0 once it is over.
    let mut deadline = u64::MAX;
    loop {
        // The grace time is over: from then on every turn sends SIGKILL
        // to whatever is left before it reaps.
        let kill = deadline == 0;
        // Each death can hand foster the dead one's children (never signaled
        // yet): every SIGCHLD brings another sweep before the next reap.
        if kill && !sweep(&opts, SIGKILL) {
            // No usable /proc: what is left cannot be found, so it is left
            // to the init above instead of being waited for forever.
            let msg = text!("no usable /proc to find the processes left; leaving them");
            say(msg, b"", 0, 0);
            break;
        }
        // Once the child is reaped it is no longer looked for (the
        // closure's `me` is 0 then), so a leftover that got its pid back,
        // even within one drain, is told as an orphan and cannot change
        // foster's exit status.
        let mut me = if status < 0 { opts.child } else { 0 };
        // With a terminal, the child's stops come here too.
        // `me` copied in, the rest through one reference each (measured:
        // smaller than capturing all three by reference).
        let (o, ended) = (&opts, &mut status);
        let left = reaper::drain(opts.tty, move |pid, raw| {
            if sys::wait_stopped(raw) {
                if pid == me {
                    // The child touched the terminal (SIGTTIN, SIGTTOU:
                    // the signal in bits 8-15) while foster's own group
                    // holds it: it gets the terminal and goes on, as it
                    // would have had it from the start. Where foster's
                    // group lies outside its PID namespace (`unshare
                    // --pid --fork foster CMD`) only then: that group
                    // cannot be named there, so the terminal cannot be
                    // given back at the end, and a child that never
                    // touches the terminal leaves it to the script that
                    // runs foster (tini takes it from the script at once).
                    let sig = (raw >> 8) as u8;
                    if matches!(sig, SIGTTIN | SIGTTOU) && sys::pass_own_foreground(pid) {
                        let _ = sys::kill(-pid, SIGCONT);
                        return;
                    }
                    // Else (Ctrl-Z) the job stops as a whole, as the
                    // terminal would have stopped it, foster (and a
                    // script that runs it) with its child; the shell
                    // above takes its terminal back. SIGCONT (fg/bg)
                    // wakes foster, which wakes the child. As a SIGTSTP
                    // taken here, the kernel's rule applies: no process
                    // of an orphaned group stops, where no job-control
                    // shell would ever continue it (a session leader such
                    // as docker -it's, `sh -c` on a terminal), nor PID 1.
                    // The group as `kill(0)`, not by its number: one
                    // outside foster's PID namespace reads as 0 (unshare's
                    // must stop for the shell to see the job stop; foster,
                    // PID 1 there, never does), and PID 1's may be 1 (-1:
                    // every process); the kernel's own PID 1 shares group
                    // 0 with the kernel threads, which ignore it. Stops
                    // come here only with a terminal (`drain`'s WUNTRACED).
                    sys::kill_own_group(SIGTSTP);
                    let tstp = SigSet::EMPTY.with(SIGTSTP);
                    let _ = sys::sigprocmask(sys::SIG_UNBLOCK, tstp);
                    let _ = sys::sigprocmask(sys::SIG_BLOCK, tstp);
                }
                return;
            }
            let st = ExitStatus::from_wait(raw);
            let orphan = pid != me;
            if !orphan {
                *ended = st.shell_code().into();
                me = 0;
            }
            tell_reaped(o, pid, orphan, st);
        });
        if status >= 0 {
            if left == Drained::NoChildren {
                break;
            }
            if deadline == u64::MAX {
                let _ = sweep(&opts, SIGTERM);
                // The clock (ms since boot) plus at most 10^12 ms: far from u64::MAX.
                deadline = sys::now_ms() + u64::from(opts.grace) * 1000;
            }
        }
        let mut timeout = -1;
        if deadline != u64::MAX && !kill {
            match deadline.saturating_sub(sys::now_ms()) {
                0 => {
                    deadline = 0;
                    continue;
                }
                ms => timeout = ms.min(i32::MAX as u64) as i32,
            }
        }
        // Every child's end shows as a SIGCHLD here: no turn sleeps through one.
        sys::poll_in(sfd.raw(), timeout);
        while let Ok(Some(info)) = sys::read_signal(&sfd) {
            let sig = info.signo;
            // A SIGCHLD only wakes the loop: the next turn reaps. Once
            // the child has ended nothing is forwarded.
            if sig == SIGCHLD || status >= 0 {
                continue;
            }
            // Not a SIGPIPE foster raised itself (its own line on a
            // closed stderr): it is not the child's, and with -v each
            // "forwarded" line would raise the next. Another signal of
            // its own pid is forwarded: the caller's to itself before
            // exec'ing foster (`kill -TERM $$; exec foster ...`).
            if !(sig == SIGPIPE && info.pid == sys::getpid()) {
                forward(&opts, sig, info.pid == 0);
            }
        }
    }
    // A shell without job control (a script) reads from the terminal next.
    pass_terminal(opts.term, opts.child, opts.pgrp);
    // Set by now: the loop ends only once the child has been reaped.
    if bit(&opts.remap, status as u8) {
        0
    } else {
        status
    }
}

/// Spawns CMD and waits until it has exec'd (or failed to): a signal already
/// pending for foster then reaches the program, not a half-made child. Not
/// inlined (measured: smaller): in a frame of its own the setup it builds
/// sits near the stack pointer. The child takes the foreground of
/// `terminal` (-1: none). Returns the child's pid, or 0 when it could not
/// be started (reported here).
#[inline(never)]
fn start(args: &crate::StartArgs, opts: &Opts, cmd: &CStr, terminal: RawFd) -> Pid {
    // First: the fewer values are live across the call, the fewer are
    // spilled (measured: smaller).
    let path = spawn::path_of(args);
    // The child's words come straight from foster's argv: no table argv,
    // no limit but the kernel's (a failed exec's 126 or 127).
    let setup = ChildSetup {
        name: b"",
        exec: Exec::Words(cmd, args.argv_from(opts.cmd as usize)),
        envp: args.envp(),
        path,
        session: Session::Group { terminal },
        keep_ignored: opts.ignored,
        mask: opts.mask,
        service: None,
    };
    // Both ends close on exec: EOF on `r` means the child has exec'd or died.
    let (r, w) = match sys::pipe(0) {
        Ok(ends) => ends,
        Err(e) => {
            let _ = crate::failed(text!("create a pipe"), e);
            return 0;
        }
    };
    let spawned = spawn::spawn(&setup);
    // Closed here whether the fork worked or not: one close of each end.
    drop(w);
    if let Ok(pid) = spawned {
        // Also here, so a `-g` signal finds the group even before the
        // child runs.
        let _ = sys::setpgid(pid, pid);
        let mut b = [core::mem::MaybeUninit::uninit(); 1];
        let _ = sys::read_some(r.raw(), &mut b);
    }
    spawned.unwrap_or_else(|e| {
        let _ = crate::failed(text!("fork"), e);
        0
    })
}

/// Gives the foreground of terminal `fd` to group `to` if group `from` has it.
#[inline(never)]
fn pass_terminal(fd: RawFd, from: Pid, to: Pid) {
    if sys::is_foreground(fd, from) {
        let _ = sys::tcsetpgrp(fd, to);
    }
}

/// Passes one signal on. When foster holds the terminal's foreground (its
/// job was resumed, or `fg` brought it from the background) it hands it to
/// the child; the job-wide signals (SIGCONT, and Ctrl-C, Ctrl-\, Ctrl-Z
/// from the terminal itself, `from_kernel`) go to the child's whole group,
/// as the terminal would have sent them.
fn forward(opts: &Opts, sig: u8, from_kernel: bool) {
    let child = opts.child;
    if opts.tty {
        pass_terminal(opts.term, opts.pgrp, child);
    }
    // The whole group: with `-g` every signal, with a terminal the job-wide ones.
    let job = sig == SIGCONT || (from_kernel && matches!(sig, SIGINT | SIGQUIT | SIGTSTP));
    let to = if opts.has(GROUP) || (opts.tty && job) {
        -child
    } else {
        child
    };
    let _ = sys::kill(to, sig);
    if opts.has(VERBOSE) {
        say(text!("forwarded $ to #"), b"", sig.into(), to.into());
    }
}

/// Signals every process the child left: all of the namespace as its PID 1,
/// else foster's descendants (adopted orphans and theirs; the child's group
/// is among them: foster is their subreaper), and with `-g` and no /proc to
/// find them, its group. Each gets the signal once: a second SIGTERM means
/// "quit now" to many programs. SIGCONT follows a SIGTERM: a stopped
/// leftover must wake up to act on it (to run its handler before the grace
/// time is over).
fn sweep(opts: &Opts, sig: u8) -> bool {
    let everyone = sys::is_pid1();
    let Some(n) = reaper::signal_all(sig, everyone, false, sig != SIGKILL) else {
        // Without a usable /proc nothing was sent (said once the grace
        // time is over).
        if opts.has(GROUP) {
            let _ = sys::kill(-opts.child, sig);
        }
        return false;
    };
    if opts.has(VERBOSE) {
        // PID 1's one kill(-1) counts nobody.
        let text = if everyone {
            text!("sent $ to every process left")
        } else {
            text!("sent $ to the processes left (# descendants)")
        };
        say(text, b"", sig.into(), n.into());
    }
    true
}

/// `-v` tells how the child ended; `-w` warns, `-v` tells, of each other
/// process reaped.
fn tell_reaped(opts: &Opts, pid: Pid, orphan: bool, st: ExitStatus) {
    if !(opts.has(VERBOSE) || (opts.has(WARN) && orphan)) {
        return;
    }
    let head: &[u8] = if opts.has(WARN) {
        b"warning: reaped zombie "
    } else {
        b"reaped orphan "
    };
    let (text, n) = match (orphan, st) {
        (false, ExitStatus::Code(c)) => (text!("child exited with #"), c),
        (false, ExitStatus::Signal(s)) => (text!("child killed by $"), s),
        (true, ExitStatus::Code(c)) => (text!("@# exited with #"), c),
        (true, ExitStatus::Signal(s)) => (text!("@# killed by $"), s),
    };
    let n = i64::from(n);
    // An orphan's pid comes first, then its status.
    say(text, head, if orphan { pid.into() } else { n }, n);
}

/// Writes one of foster's own lines to stderr (the `-v` and `-w` reports,
/// usage errors, PID 1's exit status, `ctl`'s no answer, `check`'s count):
/// `foster: ` and `text`, with each `@` in it replaced by `raw` as it is,
/// each `#` by the next of `a` and `b` in decimal, each `$` by the name of
/// that signal. One small builder instead of a line buffer in each. Not
/// `#[cold]` (measured smaller without).
#[inline(never)]
pub(crate) fn say(text: Packed, raw: &[u8], mut a: i64, b: i64) {
    let mut l = Line::new();
    l.t(text!("foster: "));
    // Decoded first: the holes are filled in from the plain bytes.
    let mut plain = Line::new();
    plain.t(text);
    for &c in plain.as_bytes() {
        match c {
            b'@' => {
                l.bytes(raw);
                continue;
            }
            b'#' => {
                l.i(a);
            }
            b'$' => {
                signals::put_name(&mut l, a as u8);
            }
            _ => {
                l.byte(c);
                continue;
            }
        }
        a = b;
    }
    l.flush(STDERR);
}

/// The option letters: first the [`SWITCHES`] without a value, one bit each
/// in `Opts::switches` (`1 << index`): `-s` (a subreaper: implied anyway),
/// `-g`, `-v`, `-w`; then those with a value.
const OPTIONS: &[u8; 7] = b"sgvwept";
const SWITCHES: usize = 4;
const GROUP: u8 = 1 << 1;
const VERBOSE: u8 = 1 << 2;
const WARN: u8 = 1 << 3;

impl Opts {
    fn has(&self, switch: u8) -> bool {
        self.switches & switch != 0
    }
}

fn bit(set: &[u64; 4], n: u8) -> bool {
    set.get(n as usize / 64)
        .is_some_and(|w| w & (1 << (n % 64)) != 0)
}

/// Parses options up to CMD (if any) into `o`; `Err(code)` when foster
/// should exit at once.
fn parse(args: &crate::StartArgs, o: &mut Opts) -> Result<(), i32> {
    // CMD is the first word that is no option (a lone `-` is one).
    while let [b'-', flags @ ..] = crate::word(args, o.cmd as usize) {
        if flags.is_empty() {
            break;
        }
        o.cmd += 1;
        // getopt style: `-vw`, `-e143`, `-e 143`.
        let mut i = 0;
        'letters: while let Some(f) = flags.get(i..=i) {
            i += 1;
            // The failures below name the letter `f` (or the word):
            // one exit for all.
            let (msg, word): (Packed, &[u8]) = 'bad: {
                let Some(k) = OPTIONS.iter().position(|c| f == [*c]) else {
                    // The words `--` (the options end), `-h`, `--help`,
                    // `-V` and `--version` start with a letter that is no
                    // option: looked for only here, at that first letter.
                    const END_OF_OPTIONS: usize = 0;
                    const VERSION: usize = 3;
                    match crate::word_index(b"- h -help V -version", flags) {
                        Some(END_OF_OPTIONS) => return Ok(()),
                        Some(k) if k >= VERSION => return Err(crate::version()),
                        Some(_) => return Err(crate::help()),
                        None => {}
                    }
                    // `--foo` is one unknown word, not a `-` flag.
                    let word = if f == b"-" { flags } else { f };
                    break 'bad (text!("unknown option -@"), word);
                };
                if k < SWITCHES {
                    o.switches |= 1 << k;
                    continue 'letters;
                }
                let value = match flags.get(i..) {
                    Some(rest) if !rest.is_empty() => rest,
                    _ => {
                        o.cmd += 1;
                        match args.arg(o.cmd as usize - 1) {
                            Some(v) => v.to_bytes(),
                            None => break 'bad (text!("missing value for -@"), f),
                        }
                    }
                };
                i = flags.len();
                let n = crate::bytes::parse_small(value);
                match (f, n) {
                    (b"e", Some(n)) if n < 256 => {
                        if let Some(w) = o.remap.get_mut(n as usize / 64) {
                            *w |= 1 << (n % 64);
                        }
                    }
                    // At most 9 digits (`parse_small`): fits a u32.
                    (b"t", Some(n)) => o.grace = n as u32,
                    // A name or any number 1..=64.
                    (b"p", _) => match config_format::signal_by_name(value) {
                        Some(sig) => o.pdeath = sig,
                        None => break 'bad (text!("bad signal for -@"), f),
                    },
                    _ => break 'bad (text!("bad number for -@"), f),
                }
                continue 'letters;
            };
            return Err(crate::usage_error_with(msg, word));
        }
    }
    Ok(())
}
