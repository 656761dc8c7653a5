//! Starting a child: fork, then in the child set up session, terminal, stdio,
//! directory, credentials, signals, and exec. Shared by every mode. The
//! exec's PATH search also answers PID 1's question whether a word the
//! kernel passed names a program ([`is_program`]).
//!
//! The child reports its own setup or exec failure as one line on foster's
//! stderr (`foster: NAME: unable to exec PROG: reason`; with an empty NAME, as
//! in single-command mode, tini's short `foster: PROG: reason`) and exits 127
//! when the program is missing, 126 for any other failure, so the parent learns
//! of it through the ordinary exit path and is never blocked waiting on a child.

use crate::log::{Log, Part};
use crate::signals;
use crate::sys::{self, Errno, Pid, RawFd, SigSet};
use crate::texts::{text, Packed};
use crate::users::{self, LookupError};
use config_format::Argv;
use core::ffi::CStr;

/// How the child relates to foster's session and terminal.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Session {
    /// `setsid()`: a service, detached from foster's terminal.
    New,
    /// Its own process group; the foreground of `terminal` (an fd; -1:
    /// none) too.
    Group { terminal: RawFd },
}

/// Where the child's stdout and stderr go.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Output {
    Inherit,
    /// Both to this fd (a log pipe, a file, /dev/null).
    Fd(RawFd),
}

/// Everything a child needs, borrowed from the caller for the fork.
/// `repr(C)`: the order of fields measured to compile smallest (both the
/// builders' stores and the child's reads).
#[repr(C)]
pub struct ChildSetup<'a> {
    /// Used in error messages.
    pub name: &'a [u8],
    pub session: Session,
    pub exec: Exec<'a>,
    /// A table entry's settings (none in single-command mode).
    pub service: Option<&'a Service<'a>>,
    /// NULL-terminated environment.
    pub envp: &'a [*const u8],
    /// The PATH used to find a program without `/`.
    pub path: &'a [u8],
    pub mask: SigSet,
    pub keep_ignored: SigSet,
}

/// What the child execs.
#[derive(Clone, Copy)]
pub enum Exec<'a> {
    /// A table entry's command.
    Table(&'a Argv),
    /// `prog` with `words` as its whole argument vector (NULL-terminated,
    /// e.g. the tail of foster's own argv), so a command line has no word
    /// or byte limit but the kernel's.
    Words(&'a CStr, &'a [*const u8]),
}

/// What a table entry adds to a child's setup. `repr(C)`, the two flags
/// first: the order of fields measured to compile smallest.
#[repr(C)]
pub struct Service<'a> {
    pub stdin_null: bool,
    /// BusyBox `askfirst`: wait for Enter on the terminal before the exec.
    pub ask_first: bool,
    pub output: Output,
    /// (fd to pass, number it gets in the child): readiness notification.
    pub pass_fd: Option<(RawFd, RawFd)>,
    pub umask: Option<u32>,
    pub tty: Option<&'a CStr>,
    pub dir: Option<&'a CStr>,
    pub user: Option<&'a [u8]>,
    pub group: Option<&'a [u8]>,
}

/// The search path when the environment has no `PATH` (BusyBox init's).
pub const DEFAULT_PATH: &[u8] = PATH_VAR.split_at(b"PATH=".len()).1;

/// The search path of foster's own environment, or [`DEFAULT_PATH`].
#[inline(never)]
pub fn path_of(args: &crate::StartArgs) -> &[u8] {
    args.env(b"PATH").unwrap_or(DEFAULT_PATH)
}

/// [`DEFAULT_PATH`] as an environment entry (one copy of its bytes).
pub const PATH_VAR: &[u8] = b"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Forks and execs; returns the child's pid.
pub fn spawn(setup: &ChildSetup) -> Result<Pid, Errno> {
    // The parent's result passed on as it is, not taken apart and built
    // again (measured: smaller).
    match sys::fork() {
        Ok(0) => child(setup),
        r => r,
    }
}

/// `tty` as this process's controlling terminal and fds 0-2: a service's
/// `tty=`, and the restart entry's terminal before its exec (as BusyBox).
pub fn stdio_on_tty(tty: &CStr) -> Result<(), Errno> {
    open_as(tty, sys::STDIN)?;
    let _ = sys::set_controlling_tty(sys::STDIN, true);
    sys::sane_term(sys::STDIN);
    output_to(sys::STDIN);
    Ok(())
}

/// Stdout and stderr onto `fd`.
#[inline(never)]
fn output_to(fd: RawFd) {
    let _ = sys::dup3(fd, sys::STDOUT, 0);
    let _ = sys::dup3(fd, sys::STDERR, 0);
}

/// Opens `path` read-write (never as a controlling terminal) as fd
/// `target`. One open-and-move for a child's stdin, a terminal as stdio,
/// and PID 1's closed stdio.
#[inline(never)]
pub fn open_as(path: &CStr, target: RawFd) -> Result<(), Errno> {
    let fd = sys::open(path, sys::O_RDWR | sys::O_NOCTTY, 0)?;
    // The lowest free fd may be `target` itself: then it stays open as is.
    if fd.raw() == target {
        let _ = fd.into_raw();
    } else {
        let _ = sys::dup3(fd.raw(), target, 0);
    }
    Ok(())
}

/// The exit code for a failed exec: 127 not found, 126 found but not runnable.
fn exec_failure_code(e: Errno) -> i32 {
    match e {
        Errno::ENOENT | Errno::ENOTDIR => 127,
        _ => 126,
    }
}

fn child(s: &ChildSetup) -> ! {
    // foster's stderr, kept (close-on-exec) for reporting after stdio moved.
    let to = Reporter {
        name: s.name,
        fd: match sys::dup_above_stdio(sys::STDERR) {
            // Under an fd limit of 256 or less it is the lowest free fd,
            // which `ready=fd:N` may name: a report there would go to the
            // readiness pipe (and say "ready"). Another copy, above it.
            fd if s
                .service
                .and_then(|v| v.pass_fd)
                .is_some_and(|(_, n)| n == fd) =>
            {
                sys::dup_above_stdio(fd)
            }
            fd => fd,
        },
    };
    // Every failed setup step ends here, so one report call serves them
    // all (code 126); the exec, the last step, reports on its own.
    let (what, obj, e) = 'failed: {
        match s.session {
            Session::New => {
                let _ = sys::setsid();
            }
            Session::Group { terminal } => {
                let _ = sys::setpgid(0, 0);
                // Signals are still blocked here, so SIGTTOU cannot stop us.
                // An fd of -1 only fails (EBADF): one ioctl for nothing.
                let _ = sys::tcsetpgrp(terminal, sys::getpid());
            }
        }
        // Before the setup, not just before the exec: an `askfirst` entry
        // waiting for Enter must die of a stop's SIGTERM, as BusyBox's does.
        signals::reset_for_child(s.keep_ignored, s.mask);
        if let Some(v) = s.service {
            if let Some(tty) = v.tty {
                if let Err(e) = stdio_on_tty(tty) {
                    break 'failed (text!("open "), tty.to_bytes(), e);
                }
            }
            if v.stdin_null {
                let _ = open_as(c"/dev/null", sys::STDIN);
            }
            if let Output::Fd(fd) = v.output {
                output_to(fd);
            }
            if let Some((fd, target)) = v.pass_fd {
                if fd == target {
                    // Close-on-exec is the only fd flag: clear it without reading.
                    let _ = sys::fcntl(fd, sys::F_SETFD, 0);
                } else if let Err(e) = sys::dup3(fd, target, 0) {
                    break 'failed (text!("pass the readiness fd"), &[], e);
                }
            }
            if let Some(mask) = v.umask {
                sys::umask(mask);
            }
            if v.user.is_some() || v.group.is_some() {
                if let Err(err) = users::switch(v.user, v.group) {
                    let user = v.user.unwrap_or(b"?");
                    break 'failed match err {
                        LookupError::Switch(e) => (text!("switch to user "), user, e),
                        LookupError::Io(e) | LookupError::GroupIo(e) => {
                            let db = if matches!(err, LookupError::Io(_)) {
                                users::PASSWD
                            } else {
                                users::GROUP
                            };
                            (text!("read "), db.to_bytes(), e)
                        }
                        LookupError::UnknownGroup => (
                            text!("unknown group "),
                            v.group.unwrap_or(b"?"),
                            Errno::NONE,
                        ),
                        LookupError::UnknownUser => (text!("unknown user "), user, Errno::NONE),
                    };
                }
            }
            // As the user (systemd's WorkingDirectory= too): root's entry
            // would give the child a directory it may not enter.
            if let Some(dir) = v.dir {
                if let Err(e) = sys::chdir(dir) {
                    break 'failed (text!("change directory to "), dir.to_bytes(), e);
                }
            }
            if v.ask_first {
                crate::out::put_text(
                    sys::STDOUT,
                    text!("\nPlease press Enter to activate this console. "),
                );
                let mut c = [0u8; 1];
                loop {
                    match sys::read(sys::STDIN, &mut c) {
                        Ok(1) if c[0] == b'\n' => break,
                        Ok(1) => {}
                        // No terminal to read from: end quietly; foster's backoff paces retries.
                        _ => sys::exit(0),
                    }
                }
            }
        }
        let (e, prog) = match s.exec {
            Exec::Words(prog, words) => {
                (search(prog, s.path, Some((words, s.envp))), prog.to_bytes())
            }
            Exec::Table(argv) => (execvp(argv, s.envp, s.path), argv.word(0).unwrap_or(b"?")),
        };
        to.report(text!("exec "), prog, e, exec_failure_code(e))
    };
    to.report(what, obj, e, 126)
}

/// Where the child reports a failed step: foster's stderr, kept as `fd`
/// once stdio has moved, under the setup's NAME.
struct Reporter<'a> {
    name: &'a [u8],
    fd: RawFd,
}

impl Reporter<'_> {
    /// Reports a failed step and exits with `code`: `foster: NAME: unable to
    /// WHAT OBJ: reason` (a step failed by the kernel, with its errno `e`)
    /// or `foster: NAME: WHAT OBJ` (an unknown name: `e` is [`Errno::NONE`]),
    /// or with an empty NAME (single-command mode, where only the exec can
    /// fail) tini's short `foster: OBJ: reason`. The shared `unable to ` is
    /// added here, once.
    #[inline(never)]
    fn report(&self, what: Packed, obj: &[u8], e: Errno, code: i32) -> ! {
        let (sep, reason) = if e == Errno::NONE {
            (text!(": "), Part::Text(text!("")))
        } else {
            (text!(": unable to "), Part::Errno(e))
        };
        let parts = [
            Part::Raw(self.name),
            Part::Text(sep),
            Part::Text(what),
            Part::Raw(obj),
            reason,
        ];
        // Without a NAME only OBJ and the errno are kept, the last parts.
        let first = if self.name.is_empty() {
            parts.len() - 2
        } else {
            0
        };
        let log = Log::fd(self.fd);
        log.error_with(parts.get(first..).unwrap_or(&[]));
        sys::exit(code)
    }
}

/// `execvp`: a program without `/` is searched in `path`. Returns the most
/// telling error (EACCES beats ENOENT, as in every shell).
pub fn execvp(argv: &Argv, envp: &[*const u8], path: &[u8]) -> Errno {
    // Each word is NUL-terminated in argv's buffer (and holds no NUL: the
    // parser rejects them), so its start is the C string the kernel reads.
    // Past the last word: NULL.
    let ptrs: [*const u8; config_format::MAX_ARGS + 1] =
        core::array::from_fn(|i| argv.word(i).map_or(core::ptr::null(), <[u8]>::as_ptr));
    // Capped, not checked: an Argv never holds more than MAX_ARGS words.
    let argv_ptrs = ptrs
        .get(..argv.len().min(config_format::MAX_ARGS) + 1)
        .unwrap_or(&[]);
    let Some(prog) = argv.program_with_nul().and_then(sys::cstr) else {
        return Errno::ENOENT;
    };
    search(prog, path, Some((argv_ptrs, envp)))
}

/// Whether `word` names an executable file, directly or through `path`
/// (PID 1's look at the words the kernel passed). Unlike an exec, an empty
/// entry of `path` is not looked at, nor a path longer than a log line.
pub fn is_program(word: &CStr, path: &[u8]) -> bool {
    search(word, path, None) == Errno::EEXIST
}

/// The one search for a program, as `execvp` does it: `prog` itself when
/// it has a `/` (or is empty: the kernel's ENOENT), else each entry of
/// `path` in turn. With `exec` (argv and envp) each candidate is exec'd:
/// returns only on failure, with the most telling error (EACCES beats
/// ENOENT, as in every shell). Without, each is looked at: EEXIST for the
/// first executable file, else ENOENT.
#[inline(never)]
fn search(prog: &CStr, path: &[u8], exec: Option<(&[*const u8], &[*const u8])>) -> Errno {
    let try_one = |full: &CStr| match exec {
        Some((argv_ptrs, envp)) => sys::execve(full, argv_ptrs, envp),
        None if executable(full) => Errno::EEXIST,
        None => Errno::ENOENT,
    };
    if prog.is_empty() || config_format::has_byte(prog.to_bytes(), b'/') {
        return try_one(prog);
    }
    let mut best = Errno::ENOENT;
    let mut dirs = Some(path);
    // As long a path as the kernel takes for an exec.
    const PATH_MAX: usize = 4096;
    let mut buf = [core::mem::MaybeUninit::uninit(); PATH_MAX];
    let len = if exec.is_some() {
        buf.len()
    } else {
        crate::out::LINE_MAX
    };
    let buf = buf.get_mut(..len).unwrap_or(&mut []);
    while let Some(dir) = crate::bytes::next_piece(&mut dirs, b':') {
        // An exec takes an empty entry for the current directory.
        let dir: &[u8] = match dir {
            [] if exec.is_none() => continue,
            [] => b".",
            _ => dir,
        };
        let Some(full) = sys::join_path(buf, dir, prog) else {
            continue;
        };
        match try_one(full) {
            Errno::ENOENT | Errno::ENOTDIR => {}
            Errno::EACCES => best = Errno::EACCES,
            e => return e,
        }
    }
    best
}

/// Whether `path` is an executable file.
fn executable(path: &CStr) -> bool {
    sys::stat(path, true)
        .is_ok_and(|st| st.mode & sys::S_IFMT == sys::S_IFREG && st.mode & 0o111 != 0)
}

/// A child's environment: foster's own plus overrides, in a fixed buffer.
/// `repr(C)` with the buffer last: in reserved (lazily mapped) memory a small
/// environment touches one page (the count first: measured smaller). The
/// count and the bytes used are `u32`s (both are small): 32-bit operations
/// need no REX prefix byte.
#[repr(C)]
pub struct Env {
    count: u32,
    used: u32,
    ptrs: [*const u8; MAX_VARS + 1],
    buf: [u8; ENV_BYTES],
}

/// Room for a container's environment (Kubernetes adds several variables
/// per service); only the pages used are ever touched.
pub const ENV_BYTES: usize = 16384;
pub const MAX_VARS: usize = 256;

impl Default for Env {
    fn default() -> Self {
        Self::new()
    }
}

impl Env {
    pub const fn new() -> Env {
        Env {
            buf: [0; ENV_BYTES],
            used: 0,
            ptrs: [core::ptr::null(); MAX_VARS + 1],
            count: 0,
        }
    }

    /// Empties the environment (for reuse of one buffer).
    pub fn clear(&mut self) {
        self.used = 0;
        self.count = 0;
        self.terminate();
    }

    /// Adds or replaces `KEY=VALUE`; false when full.
    pub fn set(&mut self, kv: &[u8]) -> bool {
        self.put(kv, true)
    }

    /// Adds `KEY=VALUE` unless KEY is set.
    pub fn set_missing(&mut self, kv: &[u8]) {
        self.put(kv, false);
    }

    /// Adds `KEY=VALUE`; an earlier value of KEY is replaced (in its place,
    /// as `setenv` does) if `replace`, else kept (and `kv` not added). False
    /// when full.
    #[inline(never)]
    fn put(&mut self, kv: &[u8], replace: bool) -> bool {
        // KEY: all of `kv` up to its `=`, or all of it when it has none.
        let key = match kv.iter().position(|&b| b == b'=') {
            Some(i) => kv.get(..i).unwrap_or(kv),
            None => kv,
        };
        // A key is set once at most (each `put` replaces or keeps the
        // earlier value), so the first match is the only one. An entry
        // with no `=` (execve lets a parent pass one) matches only itself,
        // not every variable it is a prefix of.
        let at = self.find(key, kv.get(key.len()).copied().unwrap_or(0));
        let earlier = at < self.count as usize;
        if earlier && !replace {
            return true;
        }
        let start = self.used as usize;
        let end = start + kv.len() + 1;
        // The last pointer slot stays for the NULL.
        let slot = self.ptrs.get_mut(..MAX_VARS).and_then(|p| p.get_mut(at));
        let (Some(dst), Some(slot)) = (self.buf.get_mut(start..end), slot) else {
            return false;
        };
        *slot = dst.as_ptr();
        // `dst` is one byte longer than `kv`: that last one is the NUL.
        crate::bytes::copy(dst, kv);
        if let Some(nul) = dst.last_mut() {
            *nul = 0;
        }
        // The earlier value's bytes stay, unreferenced.
        self.used = end as u32;
        if !earlier {
            self.count += 1;
            self.terminate();
        }
        true
    }

    /// Ends the pointer array with its NULL.
    fn terminate(&mut self) {
        if let Some(p) = self.ptrs.get_mut(self.count as usize) {
            *p = core::ptr::null();
        }
    }

    /// The bytes from variable `i` on: it, its NUL, and those after it.
    fn var_on(&self, i: usize) -> Option<&[u8]> {
        let p = *self.ptrs.get(i)?;
        // Below the buffer (only the NULL past the last variable: each
        // other points into it) wraps past its end: none.
        self.buf
            .get((p as usize).wrapping_sub(self.buf.as_ptr() as usize)..)
    }

    /// The first variable that is `key` followed by `next` (`=`, or the
    /// NUL of an entry with no `=`): its index, or the count when there is
    /// none. One search for [`Env::put`] and [`Env::get`]; `key` holds no
    /// NUL (neither a table value nor an environment entry can), so it
    /// never runs past its variable.
    fn find(&self, key: &[u8], next: u8) -> usize {
        let n = self.count as usize;
        (0..n)
            .find(|&i| {
                self.var_on(i)
                    .and_then(|v| v.strip_prefix(key))
                    .is_some_and(|rest| rest.first() == Some(&next))
            })
            .unwrap_or(n)
    }

    /// The value of `key`, if set.
    pub fn get(&self, key: &[u8]) -> Option<&[u8]> {
        // Not found: the index of the NULL ending the pointers, which
        // `var_on` finds no variable at.
        let i = self.find(key, b'=');
        // The value ends at its NUL, below `used`.
        let rest = self.var_on(i)?.get(key.len() + 1..)?;
        crate::bytes::next_piece(&mut Some(rest), 0)
    }

    /// The search path of this environment, or [`DEFAULT_PATH`].
    pub fn path(&self) -> &[u8] {
        self.get(b"PATH").unwrap_or(DEFAULT_PATH)
    }

    /// The NULL-terminated pointer array for execve.
    pub fn envp(&self) -> &[*const u8] {
        // Capped, not checked: `count` never passes MAX_VARS.
        self.ptrs
            .get(..(self.count as usize).min(MAX_VARS) + 1)
            .unwrap_or(&[])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_overrides_and_terminates() {
        let mut env = Env::new();
        assert!(env.set(b"PATH=/bin"));
        assert!(env.set(b"HOME=/"));
        assert!(env.set(b"PATH=/sbin"));
        assert_eq!(env.get(b"PATH"), Some(&b"/sbin"[..]));
        assert_eq!(env.get(b"HOME"), Some(&b"/"[..]));
        assert_eq!(env.envp().len(), 3);
        assert!(env.envp().last().unwrap().is_null());
        // A value already set stays; a missing one is added.
        env.set_missing(b"HOME=/root");
        env.set_missing(b"TERM=linux");
        assert_eq!(env.get(b"HOME"), Some(&b"/"[..]));
        assert_eq!(env.get(b"TERM"), Some(&b"linux"[..]));
        assert_eq!(env.envp().len(), 4);
        assert!(env.envp().last().unwrap().is_null());
        // A word with no `=` is its own entry: it replaces no variable it
        // is a prefix of, only itself.
        assert!(env.set(b"TERMINAL=x"));
        assert!(env.set(b"TERM"));
        assert!(env.set(b"TERM"));
        assert_eq!(env.get(b"TERM"), Some(&b"linux"[..]));
        assert_eq!(env.get(b"TERMINAL"), Some(&b"x"[..]));
        assert_eq!(env.envp().len(), 6);
    }

    #[test]
    fn is_program_looks_for_executable_files() {
        use std::os::unix::ffi::OsStrExt;
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("foster-is-program-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for (name, mode) in [("prog", 0o755), ("plain", 0o644)] {
            let file = dir.join(name);
            std::fs::write(&file, b"").unwrap();
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode)).unwrap();
        }
        let path = dir.as_os_str().as_bytes();
        let full = std::ffi::CString::new(dir.join("prog").as_os_str().as_bytes()).unwrap();
        assert!(is_program(c"prog", path));
        assert!(is_program(&full, b""));
        assert!(!is_program(c"plain", path));
        assert!(!is_program(c"missing", path));
        assert!(!is_program(c"", path));
        // Unlike an exec's, an empty entry is not the current directory here.
        assert!(!is_program(c"prog", b""));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn env_capacity_is_an_error_not_a_panic() {
        let mut env = Env::new();
        let big = [b'x'; 1000];
        let mut n = 0;
        while env.set(&big) {
            n += 1;
        }
        assert!(n > 0 && n <= ENV_BYTES / big.len());
        assert!(env.envp().last().unwrap().is_null());
    }
}
