//! Shared by the integration tests: scratch directories, [`Foster`] (a sub-init
//! foster that is killed with its whole process tree on drop), bounded waits
//! and readers of /proc. [`qemu`] builds the host tools and bounds their runs;
//! [`cross`] builds foster for other architectures and smoke-tests it under
//! qemu-user.
//!
//! Every test binary includes this module with `mod common;` and uses its own
//! subset. A test file adds its own constructors and queries to [`Foster`] and
//! [`TempDir`] in an `impl` block of its own: the fields are public for that.

#![allow(dead_code)] // each test binary uses its own subset

pub mod cross;
pub mod qemu;

use std::collections::{HashMap, HashSet};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub const FOSTER: &str = env!("CARGO_BIN_EXE_foster");

// ------------------------------------------------------------------ scratch directories

/// A unique directory under the system temp dir, removed when the test passes
/// (kept, with its path printed, when it fails).
pub struct TempDir(pub PathBuf);

impl TempDir {
    /// `$TMPDIR/foster-KIND-NAME-PID-SEQ-NANOS`, fresh, with permissions `mode`.
    pub fn create(kind: &str, name: &str, mode: u32) -> TempDir {
        static SEQ: AtomicU32 = AtomicU32::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let dir = std::env::temp_dir().join(format!(
            "foster-{kind}-{name}-{}-{}-{nanos}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        fs::set_permissions(&dir, fs::Permissions::from_mode(mode)).unwrap();
        TempDir(dir)
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    /// The path as a string, for tables.
    pub fn p(&self, name: &str) -> String {
        self.path(name).to_str().unwrap().to_string()
    }

    /// Writes `text` to DIR/NAME; returns its path.
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path(name);
        fs::write(&path, text).unwrap();
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("test files kept in {}", self.0.display());
        } else {
            let _ = fs::remove_dir_all(&self.0);
        }
    }
}

/// `$TMPDIR/foster-tests-KIND-PID`, created if missing: one per test process.
pub fn scratch_dir(kind: &str) -> PathBuf {
    // Those of earlier test processes that are gone (images of megabytes
    // each) are removed first: a test process cannot clean up at its exit.
    if let Ok(entries) = fs::read_dir(std::env::temp_dir()) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let pid = name
                .strip_prefix("foster-tests-")
                .and_then(|rest| rest.rsplit('-').next())
                .and_then(|p| p.parse::<u32>().ok());
            if pid.is_some_and(|p| !Path::new(&format!("/proc/{p}")).exists()) {
                let _ = fs::remove_dir_all(e.path());
            }
        }
    }
    let dir = std::env::temp_dir().join(format!("foster-tests-{kind}-{}", std::process::id()));
    fs::create_dir_all(&dir).expect("create a scratch directory");
    dir
}

// ------------------------------------------------------------------ foster in sub-init mode

/// A running sub-init foster, our child. Dropping it kills foster and every
/// descendant, and prints foster's log when the test failed.
pub struct Foster {
    pub child: Child,
    pub pid: i32,
    pub table: PathBuf,
    /// Where foster's stdout and stderr go.
    pub log: PathBuf,
    /// The control socket, when foster was started with `-S`.
    pub sock: Option<PathBuf>,
    pub exited: Option<ExitStatus>,
}

impl Foster {
    /// Runs `WRAP... foster -f TABLE [-S SOCK] ARGS...`: `wrap` are words run
    /// before foster (prlimit, setpriv), which must exec it. stdin is
    /// /dev/null; stdout and stderr are appended to `log`. Does not wait for
    /// anything.
    pub fn launch(
        wrap: &[&str],
        table: &Path,
        sock: Option<&Path>,
        args: &[&str],
        log: &Path,
    ) -> Foster {
        let out = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .unwrap();
        let err = out.try_clone().unwrap();
        let mut cmd = match wrap.split_first() {
            Some((first, rest)) => {
                let mut c = Command::new(first);
                c.args(rest).arg(FOSTER);
                c
            }
            None => Command::new(FOSTER),
        };
        cmd.arg("-f").arg(table);
        if let Some(sock) = sock {
            cmd.arg("-S").arg(sock);
        }
        // foster starts with fds 0-2 only: fds the test runner inherited
        // (jobserver pipes, CI plumbing) would otherwise pass through foster
        // and hide what foster itself leaks.
        // SAFETY: close_range is async-signal-safe and touches only this child.
        unsafe {
            cmd.pre_exec(|| {
                libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 0u32);
                Ok(())
            });
        }
        let child = cmd
            .args(args)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap();
        let pid = child.id() as i32;
        Foster {
            child,
            pid,
            table: table.to_path_buf(),
            log: log.to_path_buf(),
            sock: sock.map(Path::to_path_buf),
            exited: None,
        }
    }

    /// The control socket (foster was started with one).
    pub fn sock(&self) -> &Path {
        self.sock.as_deref().expect("foster was started without -S")
    }

    pub fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn signal(&self, sig: i32) {
        // SAFETY: kill(2) on the pid of our own child, not yet reaped.
        let r = unsafe { libc::kill(self.pid, sig) };
        assert_eq!(r, 0, "kill foster");
    }

    pub fn try_exit(&mut self) -> Option<ExitStatus> {
        if self.exited.is_none() {
            self.exited = self.child.try_wait().unwrap();
        }
        self.exited
    }

    /// Waits for foster to exit by itself.
    pub fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let ok = wait_until(timeout, || self.try_exit().is_some());
        assert!(
            ok,
            "foster still running after {timeout:?}:\n{}",
            self.log()
        );
        self.exited.unwrap()
    }

    /// Kills foster and its whole tree, and reaps foster.
    pub fn kill(&mut self) {
        if self.try_exit().is_none() {
            kill_tree(self.pid);
            self.exited = self.child.wait().ok();
        }
    }

    /// foster's direct children.
    pub fn children(&self) -> Vec<i32> {
        children_of(self.pid)
    }

    /// foster's children that are zombies.
    pub fn zombies(&self) -> Vec<i32> {
        processes()
            .into_iter()
            .filter(|p| p.ppid == self.pid && p.state == 'Z')
            .map(|p| p.pid)
            .collect()
    }

    /// foster runs (it is not a zombie yet).
    pub fn running(&self) -> bool {
        alive(self.pid)
    }
}

impl Drop for Foster {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            eprintln!(
                "---- foster log ({}):\n{}----",
                self.table.display(),
                self.log()
            );
        }
    }
}

/// SIGKILLs `pid` and every descendant. `pid` is frozen first (SIGSTOP), so it
/// cannot fork between the listing of its tree and the kill; the tree is
/// listed before the kill, as once `pid` dies its children move.
pub fn kill_tree(pid: i32) {
    // SAFETY: kill(2) on a process the caller started and owns.
    unsafe { libc::kill(pid, libc::SIGSTOP) };
    wait_until(Duration::from_secs(1), || {
        state(pid).is_none_or(|s| s == 'T' || s == 'Z')
    });
    let tree = descendants(pid);
    // SAFETY: kill(2) on that process and on processes that are its
    // descendants.
    unsafe {
        libc::kill(pid, libc::SIGKILL);
        for p in tree {
            libc::kill(p, libc::SIGKILL);
        }
    }
}

// ------------------------------------------------------------------ waiting

/// Polls `cond` every 20 ms until it holds (true) or `timeout` passes (false).
pub fn wait_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + timeout;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= end {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// [`wait_until`], failing the test ("timed out waiting for WHAT") when
/// `timeout` passes.
pub fn wait_for(timeout: Duration, what: &str, cond: impl FnMut() -> bool) {
    assert!(wait_until(timeout, cond), "timed out waiting for {what}");
}

/// Polls `child` until it exits or `limit` passes; then it is killed, reaped,
/// and the answer is `None`.
pub fn wait_bounded(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let end = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("wait for the child") {
            return Some(status);
        }
        if Instant::now() > end {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

// ------------------------------------------------------------------ /proc

pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// The state and parent of a process, from /proc/PID/stat.
#[derive(Clone, Copy, Debug)]
pub struct Stat {
    pub pid: i32,
    pub state: char,
    pub ppid: i32,
}

/// Fields of /proc/PID/stat, parsed after the last `)` (comm may hold anything).
pub fn stat(pid: i32) -> Option<Stat> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &text[text.rfind(')')? + 1..];
    let mut f = rest.split_whitespace();
    let state = f.next()?.chars().next()?;
    let ppid = f.next()?.parse().ok()?;
    Some(Stat { pid, state, ppid })
}

/// Field `n` (1-based, as in proc(5)) of /proc/PID/stat.
pub fn stat_field(pid: i32, n: usize) -> Option<u64> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &text[text.rfind(')')? + 1..];
    rest.split_whitespace().nth(n - 3)?.parse().ok()
}

/// The state letter of /proc/PID/stat.
pub fn state(pid: i32) -> Option<char> {
    stat(pid).map(|s| s.state)
}

pub fn ppid(pid: i32) -> Option<i32> {
    stat(pid).map(|s| s.ppid)
}

/// The process exists and is not a zombie.
pub fn alive(pid: i32) -> bool {
    state(pid).is_some_and(|s| s != 'Z')
}

/// Every process, from one scan of /proc.
pub fn processes() -> Vec<Stat> {
    let Ok(dir) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(stat)
        .collect()
}

pub fn children_of(pid: i32) -> Vec<i32> {
    processes()
        .into_iter()
        .filter(|p| p.ppid == pid)
        .map(|p| p.pid)
        .collect()
}

/// Every descendant of `root` (not `root`), from one scan of /proc.
pub fn descendants(root: i32) -> Vec<i32> {
    let mut kids: HashMap<i32, Vec<i32>> = HashMap::new();
    for p in processes() {
        kids.entry(p.ppid).or_default().push(p.pid);
    }
    let mut out = Vec::new();
    let mut todo = vec![root];
    let mut seen = HashSet::new();
    while let Some(p) = todo.pop() {
        for &c in kids.get(&p).map(Vec::as_slice).unwrap_or(&[]) {
            if seen.insert(c) {
                out.push(c);
                todo.push(c);
            }
        }
    }
    out
}

/// A `Key:\tvalue` line of /proc/PID/status.
pub fn status_field(pid: i32, key: &str) -> Option<String> {
    let text = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    text.lines()
        .find_map(|l| Some(l.strip_prefix(key)?.strip_prefix(':')?.trim().to_string()))
}

/// /proc/PID/cmdline with the NULs as blanks.
pub fn cmdline(pid: i32) -> String {
    fs::read(format!("/proc/{pid}/cmdline"))
        .map(|b| {
            String::from_utf8_lossy(&b)
                .replace('\0', " ")
                .trim()
                .to_string()
        })
        .unwrap_or_default()
}

/// How many fds the process has open.
pub fn fd_count(pid: i32) -> usize {
    fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count())
}

/// `PROGRAM` run as `uid` (and gid `uid`, no supplementary groups) through
/// setpriv; add its arguments.
pub fn as_user(uid: u32, program: &str) -> Command {
    let mut c = Command::new("setpriv");
    c.arg(format!("--reuid={uid}"))
        .arg(format!("--regid={uid}"))
        .arg("--clear-groups")
        .arg(program);
    c
}

/// Runs `foster ARGS` (stderr into `log`) from a parent that dies while
/// foster's `nth` prctl (the one of `-p`'s parent-death signal) is held back
/// a second by strace's syscall delay injection (`strace -D`: the tracer is
/// not foster's parent): the parent is gone before the prctl takes effect,
/// the race a parent-death signal must survive. Returns foster's pid (`None`
/// without strace); foster runs on, adopted by whoever adopts orphans here.
pub fn orphaned_before_prctl(args: &[&str], nth: u32, log: &Path) -> Option<i32> {
    if Command::new("strace").arg("-V").output().is_err() {
        return None;
    }
    let pidfile = log.with_extension("pid");
    let quoted: Vec<String> = args
        .iter()
        .map(|a| format!("'{}'", a.replace('\'', r"'\''")))
        .collect();
    let script = format!(
        "strace -D -qq -o /dev/null -e trace=prctl -e inject=prctl:delay_enter=1000000:when={nth} \
         {FOSTER} {} 2>'{}' & echo $! > '{}'; sleep 0.3",
        quoted.join(" "),
        log.display(),
        pidfile.display(),
    );
    let st = Command::new("sh").arg("-c").arg(script).status().ok()?;
    assert!(st.success(), "{st:?}");
    fs::read_to_string(&pidfile).ok()?.trim().parse().ok()
}
