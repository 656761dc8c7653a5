//! Sub-init mode end to end (issue 4): the real `foster -f TABLE` binary,
//! driven from outside through its table, signals, files and /proc.
//!
//! Every test works in its own temporary directory and kills every process
//! it started (foster and all its descendants) when it ends, even on failure:
//! [`Foster`] is a drop guard. Timing assertions have wide margins: the tests
//! run in parallel threads on small CI machines.

mod common;

use common::{
    alive, cmdline, descendants, is_root, kill_tree, stat, stat_field, status_field, wait_until,
    Foster, TempDir, FOSTER,
};
use std::fs;
use std::io::Read;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

// ------------------------------------------------------------------ harness

impl TempDir {
    /// user=nobody entries write here too: the directory is 0777.
    fn new(name: &str) -> TempDir {
        TempDir::create("subinit", name, 0o777)
    }
}

impl Foster {
    /// Writes `table` to DIR/table.tab and runs `foster -f` on it with `args`
    /// after the table; stdout and stderr go to DIR/foster.log.
    fn start(dir: &TempDir, table: &str, args: &[&str]) -> Foster {
        let table = dir.write("table.tab", table);
        Foster::launch(&[], &table, None, args, &dir.path("foster.log"))
    }

    /// Waits until foster's log contains `needle`; returns the log.
    fn wait_log(&self, needle: &str, timeout: Duration) -> String {
        let mut log = String::new();
        let ok = wait_until(timeout, || {
            log = self.log();
            log.contains(needle)
        });
        assert!(
            ok,
            "no `{needle}` in foster's log after {timeout:?}:\n{log}"
        );
        log
    }

    /// The pid of the last `NAME: started, pid N` line.
    fn started_pid(&self, name: &str) -> Option<i32> {
        started_pids(&self.log(), name).last().copied()
    }

    /// Waits for the `n`th start of `name` (1-based); returns its pid.
    fn wait_started(&self, name: &str, n: usize, timeout: Duration) -> i32 {
        let mut pids = Vec::new();
        let ok = wait_until(timeout, || {
            pids = started_pids(&self.log(), name);
            pids.len() >= n
        });
        assert!(
            ok,
            "{name} not started {n} time(s) after {timeout:?}:\n{}",
            self.log()
        );
        pids[n - 1]
    }
}

fn started_pids(log: &str, name: &str) -> Vec<i32> {
    let prefix = format!("foster: {name}: started, pid ");
    log.lines()
        .filter_map(|l| l.strip_prefix(&prefix))
        .filter_map(|p| p.trim().parse().ok())
        .collect()
}

fn read_pidfile(path: &Path) -> Option<i32> {
    fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// Seconds (floats) read one per line.
fn timestamps(path: &Path) -> Vec<f64> {
    fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

const T: Duration = Duration::from_secs(10);

// ------------------------------------------------------------------ tests

/// The seed scenario: a launcher double-forks a daemon and exits; the kernel
/// re-parents the daemon to foster, which adopts it from its pidfile, reaps it
/// when it dies and starts it again.
#[test]
fn pidfile_daemon_is_adopted_reaped_and_restarted() {
    let dir = TempDir::new("seed");
    let pidfile = dir.path("daemon.pid");
    let table = format!(
        "service daemon pidfile={pf} -- sh -c 'setsid sh -c \"exec sleep 1000\" </dev/null >/dev/null 2>&1 & echo $! > {pf}'\n",
        pf = pidfile.display()
    );
    let foster = Foster::start(&dir, &table, &[]);
    foster.wait_log("adopted from its pidfile", T);
    let first = read_pidfile(&pidfile).unwrap();
    assert_eq!(
        stat(first).unwrap().ppid,
        foster.pid,
        "the daemon's parent is foster"
    );
    assert!(
        wait_until(T, || cmdline(first).starts_with("sleep 1000")),
        "{}",
        cmdline(first)
    );
    assert!(foster
        .log()
        .contains(&format!("daemon: daemon pid {first} adopted")));

    // Kill it: foster reaps it and runs the launcher again.
    // SAFETY: kill(2) on the daemon foster adopted for this test.
    unsafe { libc::kill(first, libc::SIGKILL) };
    let mut second = first;
    let ok = wait_until(T, || {
        second = read_pidfile(&pidfile).unwrap_or(first);
        second != first
            && foster
                .log()
                .contains(&format!("daemon pid {second} adopted"))
    });
    assert!(ok, "daemon not restarted:\n{}", foster.log());
    assert!(
        stat(first).is_none(),
        "the killed daemon was reaped (no zombie)"
    );
    assert_eq!(
        stat(second).unwrap().ppid,
        foster.pid,
        "the new daemon's parent is foster"
    );
    assert!(
        foster
            .log()
            .contains("daemon: killed by SIGKILL; restarting in 100 ms"),
        "{}",
        foster.log()
    );
    assert!(foster.zombies().is_empty());
}

/// 2,000 double-forked orphans exit at once: all adopted, all reaped.
#[test]
fn orphan_storm_is_reaped() {
    const N: usize = 2000;
    const PER: usize = 100;
    let dir = TempDir::new("storm");
    let released = dir.p("released");
    let adopted = dir.p("adopted");
    // Each grandchild blocks on a pipe; closing the write end releases them all.
    // 20 children fork 100 grandchildren each and exit: one fork per orphan
    // and 20 waits, not a fork and a wait per orphan (under load, a wait for
    // each of 2,000 children took minutes).
    let script = format!(
        r#"
import os, time
r, w = os.pipe()
kids = []
for i in range({N} // {PER}):
    pid = os.fork()
    if pid == 0:
        try:
            for j in range({PER}):
                if os.fork() == 0:
                    os.close(w)
                    os.read(r, 1)
                    os._exit(0)
        finally:
            os._exit(0)
    kids.append(pid)
for pid in kids:
    os.waitpid(pid, 0)
open("{adopted}", "w").write("ok")
while not os.path.exists("{released}.go"):
    time.sleep(0.01)
open("{released}", "w").write(repr(time.time()))
os.close(w)
"#
    );
    fs::write(dir.path("storm.py"), script).unwrap();
    let table = format!(
        "service keep -- sleep 1000\nonce storm -- python3 {}\n",
        dir.p("storm.py")
    );
    let foster = Foster::start(&dir, &table, &[]);
    assert!(
        wait_until(Duration::from_secs(120), || dir.path("adopted").exists()),
        "storm not set up"
    );
    let orphans = foster.children().len();
    // keep, the storm script and its 2,000 orphans.
    assert!(
        orphans >= N,
        "only {orphans} children of foster before the release"
    );
    fs::write(dir.path("released.go"), "").unwrap();
    let start = Instant::now();
    // Left: `keep` only (the storm script ends right after the release).
    // 2,000 processes to wake and end: slow on a loaded machine, whatever
    // foster does.
    let ok = wait_until(Duration::from_secs(60), || foster.children().len() == 1);
    let took = start.elapsed();
    assert!(
        ok,
        "{} children left, zombies: {}",
        foster.children().len(),
        foster.zombies().len()
    );
    assert!(foster.zombies().is_empty());
    let when: f64 = fs::read_to_string(&released).unwrap().parse().unwrap();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    eprintln!(
        "orphan storm: {N} orphans adopted and reaped in {:.0} ms after the release (<= {:.0} ms by the storm's clock)",
        took.as_secs_f64() * 1000.0,
        (now - when) * 1000.0
    );
    assert!(foster.running());
}

/// A crash loop backs off 100, 200, 400, 800 ms while another service works.
#[test]
fn crash_loop_backs_off_while_others_run() {
    let dir = TempDir::new("crash");
    let crash = dir.path("crash");
    let hb = dir.path("heartbeat");
    let table = format!(
        "service crash -- sh -c 'date +%s.%N >> {}; exit 1'\n\
         service hb -- sh -c 'while :; do date +%s.%N >> {}; sleep 0.05; done'\n",
        crash.display(),
        hb.display()
    );
    let foster = Foster::start(&dir, &table, &[]);
    let cpu = || stat_field(foster.pid, 14).unwrap_or(0) + stat_field(foster.pid, 15).unwrap_or(0);
    let cpu0 = cpu();
    assert!(
        wait_until(T, || timestamps(&crash).len() >= 5),
        "{}",
        foster.log()
    );
    let ticks = cpu() - cpu0;
    let ts = timestamps(&crash);
    let beats = timestamps(&hb);
    let deltas: Vec<f64> = ts.windows(2).map(|w| (w[1] - w[0]) * 1000.0).collect();
    eprintln!("crash loop delays (ms): {deltas:.0?}");
    for (i, d) in deltas.iter().take(4).enumerate() {
        let want = 100.0 * f64::from(1u32 << i);
        assert!(*d >= want * 0.95, "delay {i} was {d:.0} ms, want {want} ms");
    }
    // Never early (above); late only by what the machine adds (a shell to
    // start, foster to be scheduled): a few ms when idle, but a loaded
    // machine stalls for a second now and then (seen: 1,385 ms for 400).
    // The four together are late by at most 1.2 s; a backoff one step ahead
    // (3 s) or in whole seconds (4 s) is not.
    let total: f64 = deltas.iter().take(4).sum();
    assert!(
        total <= 1500.0 + 1200.0,
        "the delays {deltas:.0?} add up to {total:.0} ms, want 1500 ms"
    );
    let log = foster.log();
    for ms in ["100 ms", "200 ms", "400 ms", "800 ms"] {
        let line = format!("crash: exited with status 1; restarting in {ms}");
        assert_eq!(log.matches(&line).count(), 1, "one `{line}`:\n{log}");
    }
    // The other service ran on through the crash loop, untouched: started
    // once, beating during the loop, still there. (How often it beat is the
    // machine's doing, not foster's.)
    let (first, last) = (ts[0], ts[4]);
    let during = beats.iter().filter(|&&t| t >= first && t <= last).count();
    assert!(during >= 3, "{during} heartbeats during the crash loop");
    assert_eq!(started_pids(&log, "hb").len(), 1, "{log}");
    assert!(alive(foster.started_pid("hb").unwrap()));
    // foster slept through the backoffs: a few ms of CPU for five starts,
    // not a busy wait (clock ticks of 10 ms).
    assert!(
        ticks * 10 < 300,
        "foster used {} ms of CPU in the crash loop ({:.2} s)",
        ticks * 10,
        last - first
    );
}

/// sysinit entries run in order, each waited; then wait; then once and
/// service entries, with `after=` and `ready=fd:N` honoured.
#[test]
fn boot_order_after_and_readiness() {
    let dir = TempDir::new("order");
    let o = dir.p("order");
    let table = format!(
        "# `dep` comes first in the file but waits for `late` to be ready.\n\
         service dep after=late -- sh -c 'echo dep $(date +%s.%N) >> {o}; exec sleep 1000'\n\
         sysinit s1 -- sh -c 'echo s1-start >> {o}; sleep 0.3; echo s1-end >> {o}'\n\
         wait w -- sh -c 'echo w-start >> {o}; sleep 0.2; echo w-end >> {o}'\n\
         sysinit s2 -- sh -c 'echo s2-start >> {o}; sleep 0.2; echo s2-end >> {o}'\n\
         once o -- sh -c 'echo once >> {o}'\n\
         service late ready=fd:3 -- sh -c 'echo late-start >> {o}; sleep 0.5; echo late-ready $(date +%s.%N) >> {o}; echo >&3; exec sleep 1000'\n\
         service b after=a -- sh -c 'echo b >> {o}; exec sleep 1000'\n\
         service a -- sh -c 'echo a >> {o}; exec sleep 1000'\n"
    );
    let foster = Foster::start(&dir, &table, &[]);
    foster.wait_log("dep: started", T);
    foster.wait_log("b: started", T);
    // Every shell has written its line (one that foster started earlier may
    // still be on its way when `dep` is done).
    let words = [
        "s1-start",
        "s1-end",
        "s2-start",
        "s2-end",
        "w-start",
        "w-end",
        "once",
        "late-start",
        "late-ready",
        "a",
        "b",
        "dep",
    ];
    let written = || {
        let text = fs::read_to_string(&o).unwrap_or_default();
        words
            .iter()
            .all(|w| text.lines().any(|l| l.split(' ').next() == Some(*w)))
    };
    assert!(
        wait_until(T, written),
        "{:?}\n{}",
        fs::read_to_string(&o),
        foster.log()
    );
    let text = fs::read_to_string(&o).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let pos = |w: &str| {
        lines
            .iter()
            .position(|l| l.split(' ').next() == Some(w))
            .unwrap_or_else(|| panic!("no {w} in {lines:?}"))
    };
    assert_eq!(
        &lines[..6],
        &["s1-start", "s1-end", "s2-start", "s2-end", "w-start", "w-end"],
        "{lines:?}"
    );
    for w in ["once", "late-start", "a", "b", "dep"] {
        assert!(pos(w) > pos("w-end"), "{w} before boot ended: {lines:?}");
    }
    assert!(
        pos("dep") > pos("late-ready"),
        "dep started before late was ready: {lines:?}"
    );
    let t = |w: &str| -> f64 { lines[pos(w)].split(' ').nth(1).unwrap().parse().unwrap() };
    assert!(t("dep") >= t("late-ready"));
    let log = foster.log();
    assert!(
        log.find("late: ready").unwrap() < log.find("dep: started").unwrap(),
        "{log}"
    );
    assert!(
        log.find("a: started").unwrap() < log.find("b: started").unwrap(),
        "{log}"
    );
}

/// user=, group=, dir=, env= and umask= reach the child.
#[test]
fn spawn_options_reach_the_child() {
    let dir = TempDir::new("opts");
    let sub = dir.path("sub dir");
    fs::create_dir(&sub).unwrap();
    fs::set_permissions(&sub, fs::Permissions::from_mode(0o777)).unwrap();
    let out = |n: &str| dir.p(n);
    let mut table = format!(
        "once plain dir=\"{sub}\" env=FOO=bar env='SPACED=a b' env=PATH=/usr/bin:/bin umask=027 -- \
         sh -c 'pwd > {pwd}; echo \"$FOO|$SPACED|$PATH\" > {env}; umask > {umask}; touch {made}'\n",
        sub = sub.display(),
        pwd = out("pwd"),
        env = out("env"),
        umask = out("umask"),
        made = out("made"),
    );
    let root = is_root();
    if root {
        table += &format!(
            "once nobody user=nobody -- sh -c 'id -u > {u}; id -g > {g}; id -G > {gs}'\n\
             once numeric user=1234 group=4321 -- sh -c 'id -u > {nu}; id -g > {ng}'\n",
            u = out("uid"),
            g = out("gid"),
            gs = out("groups"),
            nu = out("nuid"),
            ng = out("ngid"),
        );
    } else {
        eprintln!("note: not root; user=/group= not tested");
    }
    table += "service keep -- sleep 1000\n";
    let foster = Foster::start(&dir, &table, &[]);
    let read = |n: &str| -> String {
        let p = dir.path(n);
        assert!(
            wait_until(T, || fs::read_to_string(&p)
                .is_ok_and(|s| s.ends_with('\n'))),
            "no {n}:\n{}",
            foster.log()
        );
        fs::read_to_string(&p).unwrap().trim().to_string()
    };
    assert_eq!(read("pwd"), sub.to_str().unwrap());
    assert_eq!(read("env"), "bar|a b|/usr/bin:/bin");
    assert_eq!(read("umask"), "0027");
    assert!(wait_until(T, || dir.path("made").exists()));
    let mode = fs::metadata(dir.path("made")).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o640, "touch under umask 027");
    if root {
        assert_eq!(read("uid"), "65534");
        assert_eq!(read("gid"), "65534");
        assert!(
            !read("groups").split(' ').any(|g| g == "0"),
            "root's groups dropped"
        );
        assert_eq!(read("nuid"), "1234");
        assert_eq!(read("ngid"), "4321");
    }
}

/// A container's environment of 80 variables (Kubernetes adds several per
/// service) reaches a child whole, with its `env=`; an `env=` value that no
/// longer fits (foster's own took every place) is a clear error, as a
/// command too long is: the entry never runs without it.
#[test]
fn a_big_environment_reaches_the_child_and_an_env_value_that_does_not_fit_fails_clearly() {
    for (n, fits) in [(80, true), (300, false)] {
        let dir = TempDir::new("envfull");
        let table = dir.write(
            "table.tab",
            &format!(
                "once e env=NEW=1 -- sh -c 'echo \"$NEW $V0 $V{last}\" > {}'\n",
                dir.p("out"),
                last = n - 1
            ),
        );
        let vars: Vec<String> = (0..n).map(|i| format!("V{i}=x{i}")).collect();
        let wrap: Vec<&str> = ["env"]
            .into_iter()
            .chain(vars.iter().map(String::as_str))
            .collect();
        let mut foster = Foster::launch(&wrap, &table, None, &[], &dir.path("foster.log"));
        foster.wait_exit(T);
        let log = foster.log();
        let out = fs::read_to_string(dir.path("out")).ok();
        if fits {
            assert_eq!(out, Some(format!("1 x0 x{}\n", n - 1)), "{log}");
        } else {
            assert_eq!(out, None, "{log}");
            assert!(
                log.contains("unable to start e: Argument list too long"),
                "{log}"
            );
        }
    }
}

/// Option values of the longest length the table allows reach the child
/// whole; none is dropped for not fitting a buffer (a dropped `user=` would
/// run the service as foster's own user, root for PID 1).
#[test]
fn longest_option_values_are_used_not_dropped() {
    let dir = TempDir::new("longvalues");
    let max = config_format::MAX_VALUE;
    // A directory whose path is exactly `max` bytes.
    let mut deep = dir.path("d").display().to_string();
    while deep.len() < max {
        let room = (max - deep.len() - 1).min(200);
        if room == 0 {
            deep.push('d');
            continue;
        }
        deep = format!("{deep}/{}", "d".repeat(room));
    }
    fs::create_dir_all(&deep).unwrap();
    assert_eq!(deep.len(), max);
    let user = "u".repeat(max);
    let tty = format!("/dev/{}", "t".repeat(max - 5));
    let table = format!(
        "once deep dir={deep} -- sh -c 'pwd > {pwd}'\n\
         once longuser user={user} -- sh -c 'id -u > {uid}'\n\
         once longtty tty={tty} -- sh -c 'echo ran > {ran}'\n\
         service keep -- sleep 1000\n",
        pwd = dir.p("pwd"),
        uid = dir.p("uid"),
        ran = dir.p("ran"),
    );
    let foster = Foster::start(&dir, &table, &[]);
    foster.wait_log("longuser: unknown user uuuu", T);
    foster.wait_log("longtty: unable to open /dev/tttt", T);
    assert!(
        wait_until(T, || fs::read_to_string(dir.path("pwd"))
            .is_ok_and(|s| s.ends_with('\n'))),
        "{}",
        foster.log()
    );
    assert_eq!(fs::read_to_string(dir.path("pwd")).unwrap().trim(), deep);
    assert!(!dir.path("uid").exists(), "ran without its user=");
    assert!(!dir.path("ran").exists(), "ran without its tty=");
}

/// A pty pair owned by the test: the master's fd and the slave's path.
fn pty() -> (i32, String) {
    // SAFETY: plain libc calls on a fd we own; ptsname_r writes into our buffer.
    unsafe {
        let m = libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY);
        assert!(m >= 0);
        assert_eq!(libc::grantpt(m), 0);
        assert_eq!(libc::unlockpt(m), 0);
        let mut buf = [0 as libc::c_char; 64];
        assert_eq!(libc::ptsname_r(m, buf.as_mut_ptr(), buf.len()), 0);
        let slave = std::ffi::CStr::from_ptr(buf.as_ptr()).to_str().unwrap();
        (m, slave.to_string())
    }
}

/// tty=: a missing terminal is a clear one-line error and foster goes on; a
/// real pty becomes the child's stdio and controlling terminal.
#[test]
fn tty_option() {
    let dir = TempDir::new("tty");
    let (master, slave) = pty();
    let table = format!(
        "once missing tty=/dev/foster-no-such-tty -- true\n\
         once real tty={slave} -- sh -c 'tty > {t}; cut -d\" \" -f7 /proc/self/stat > {n}'\n\
         service keep -- sleep 1000\n",
        t = dir.p("tty"),
        n = dir.p("tty_nr"),
    );
    let foster = Foster::start(&dir, &table, &[]);
    let log = foster.wait_log("missing: unable to open /dev/foster-no-such-tty", T);
    let line = log
        .lines()
        .find(|l| l.contains("unable to open /dev/foster-no-such-tty"))
        .unwrap();
    assert!(line.contains("No such file or directory"), "{line}");
    assert!(wait_until(T, || fs::read_to_string(dir.path("tty_nr"))
        .is_ok_and(|s| s.ends_with('\n'))));
    assert_eq!(fs::read_to_string(dir.path("tty")).unwrap().trim(), slave);
    let tty_nr: u64 = fs::read_to_string(dir.path("tty_nr"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_ne!(tty_nr, 0, "the pty is the controlling terminal");
    assert!(foster.running());
    assert!(alive(foster.wait_started("keep", 1, T)));
    // SAFETY: our own fd.
    unsafe { libc::close(master) };
}

/// As BusyBox's `set_sane_term`: a terminal a previous program left raw
/// (a crashed editor, `stty raw`) is made sane again for the next entry on
/// it, so an `askfirst` entry's Enter (a CR) still activates the console.
#[test]
fn an_entry_on_a_raw_terminal_gets_it_sane() {
    let dir = TempDir::new("sane-tty");
    let (master, slave) = pty();
    let cslave = std::ffi::CString::new(slave.clone()).unwrap();
    // SAFETY: plain libc calls on fds we own and a termios we own.
    let s = unsafe {
        let s = libc::open(cslave.as_ptr(), libc::O_RDWR | libc::O_NOCTTY);
        assert!(s >= 0);
        let mut t: libc::termios = std::mem::zeroed();
        assert_eq!(libc::tcgetattr(s, &mut t), 0);
        libc::cfmakeraw(&mut t);
        assert_eq!(libc::tcsetattr(s, libc::TCSANOW, &t), 0);
        s
    };
    let id = slave.trim_start_matches("/dev/");
    let table = format!("{id}::askfirst:/bin/sh -c 'echo ran > {}'\n", dir.p("ran"));
    let mut foster = Foster::start(&dir, &table, &[]);
    // The Enter only once the prompt shows: a CR queued before the reset
    // would stay a CR.
    let mut seen = Vec::new();
    let deadline = Instant::now() + T;
    while !String::from_utf8_lossy(&seen).contains("activate this console") {
        assert!(Instant::now() < deadline, "no prompt: {seen:?}");
        let mut buf = [0u8; 256];
        let mut p = libc::pollfd {
            fd: master,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: our own fd and buffers.
        if unsafe { libc::poll(&mut p, 1, 100) } == 1 {
            let n = unsafe { libc::read(master, buf.as_mut_ptr().cast(), buf.len()) };
            seen.extend_from_slice(&buf[..n.max(0) as usize]);
        }
    }
    // SAFETY: our own fd and buffer.
    assert_eq!(unsafe { libc::write(master, b"\r".as_ptr().cast(), 1) }, 1);
    assert!(
        wait_until(T, || dir.path("ran").exists()),
        "Enter did not activate the console:\n{}",
        foster.log()
    );
    foster.kill();
    // SAFETY: our own fds.
    unsafe {
        libc::close(s);
        libc::close(master);
    }
}

/// log=PATH under load: 10,000 lines, each prefixed with the entry name, in
/// order, while foster keeps serving others; log=null swallows output.
#[test]
fn log_to_file_under_load_and_null() {
    let dir = TempDir::new("logfile");
    let sink = dir.path("loud.log");
    let hb = dir.path("heartbeat");
    let table = format!(
        "once loud log={sink} -- seq -f 'line %g of a service that talks a lot, quickly' 1 10000\n\
         service quiet log=null -- sh -c 'echo nobody sees this; echo nor this >&2; exec sleep 1000'\n\
         service hb -- sh -c 'while :; do date +%s.%N >> {hb}; sleep 0.05; done'\n",
        sink = sink.display(),
        hb = hb.display(),
    );
    let foster = Foster::start(&dir, &table, &[]);
    let ok = wait_until(T, || {
        fs::read_to_string(&sink).is_ok_and(|s| s.lines().count() >= 10_000)
    });
    let text = fs::read_to_string(&sink).unwrap_or_default();
    assert!(
        ok,
        "{} lines arrived:\n{}",
        text.lines().count(),
        foster.log()
    );
    for (i, line) in text.lines().enumerate() {
        assert_eq!(
            line,
            format!(
                "loud: line {} of a service that talks a lot, quickly",
                i + 1
            )
        );
    }
    assert_eq!(text.lines().count(), 10_000);
    let log = foster.log();
    assert!(
        !log.contains("nobody sees this") && !log.contains("nor this"),
        "{log}"
    );
    assert!(!log.contains("loud: exited"), "seq did not fail: {log}");
    // The quiet service's stdio is /dev/null.
    let quiet = foster.started_pid("quiet").unwrap();
    assert!(wait_until(T, || cmdline(quiet).starts_with("sleep")));
    for fd in 0..3 {
        assert_eq!(
            fs::read_link(format!("/proc/{quiet}/fd/{fd}")).unwrap(),
            Path::new("/dev/null")
        );
    }
    // The other service kept running through the flood.
    assert!(
        wait_until(T, || timestamps(&hb).len() >= 2),
        "heartbeat service ran"
    );
    assert!(foster.running());
}

/// Every entry of a table may have its own log=PATH: 20 services logging at
/// once (and 4 `once` entries that logged and ended before them) each get
/// their own file, none falls back to the console.
#[test]
fn log_to_file_for_many_entries_at_once() {
    let dir = TempDir::new("logmany");
    let mut table = String::new();
    for i in 0..4 {
        table += &format!("once done{i} log={} -- echo early\n", dir.p("early.log"));
    }
    for i in 0..20 {
        table += &format!(
            "service s{i} after=done3 log={} -- sh -c 'echo hello {i}; exec sleep 1000'\n",
            dir.p(&format!("s{i}.log"))
        );
    }
    let foster = Foster::start(&dir, &table, &[]);
    let missing = || {
        (0..20)
            .filter(|i| {
                !fs::read_to_string(dir.path(&format!("s{i}.log")))
                    .is_ok_and(|t| t == format!("s{i}: hello {i}\n"))
            })
            .collect::<Vec<_>>()
    };
    assert!(
        wait_until(T, || missing().is_empty()),
        "no line in the log of {:?}:\n{}",
        missing(),
        foster.log()
    );
    assert!(!foster.log().contains("hello"), "{}", foster.log());
}

/// log=kmsg: lines reach the kernel log with the entry name (only where
/// /dev/kmsg is writable and readable).
#[test]
fn log_to_kmsg() {
    if fs::OpenOptions::new()
        .write(true)
        .open("/dev/kmsg")
        .is_err()
    {
        eprintln!("note: /dev/kmsg not writable; log=kmsg not tested");
        return;
    }
    let Ok(mut kmsg) = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open("/dev/kmsg")
    else {
        eprintln!("note: /dev/kmsg not readable; log=kmsg not tested");
        return;
    };
    // Skip what is already there.
    // SAFETY: lseek on our own fd.
    unsafe { libc::lseek(std::os::fd::AsRawFd::as_raw_fd(&kmsg), 0, libc::SEEK_END) };
    let dir = TempDir::new("kmsg");
    let token = format!(
        "foster-kmsg-test-{}-{}",
        std::process::id(),
        dir.0.display().to_string().len()
    );
    let table = format!("service kmsgsvc log=kmsg -- sh -c 'echo {token}; exec sleep 1000'\n");
    let foster = Foster::start(&dir, &table, &[]);
    let want = format!("kmsgsvc: {token}");
    let mut seen = String::new();
    let ok = wait_until(T, || {
        let mut buf = [0u8; 8192];
        while let Ok(n) = kmsg.read(&mut buf) {
            if n == 0 {
                break;
            }
            seen.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
        seen.contains(&want)
    });
    assert!(ok, "`{want}` not in /dev/kmsg:\n{}", foster.log());
}

/// A missing binary: one line naming the entry and the errno text; the rest runs.
#[test]
fn exec_failure_is_reported_and_others_run() {
    let dir = TempDir::new("exec");
    let noexec = dir.path("not-executable");
    fs::write(&noexec, "#!/bin/sh\n").unwrap();
    fs::set_permissions(&noexec, fs::Permissions::from_mode(0o644)).unwrap();
    let table = format!(
        "once missing -- /nonexistent/foster-prog arg\n\
         once nopath -- foster-no-such-program\n\
         once noexec -- {}\n\
         service ok -- sh -c 'touch {}; exec sleep 1000'\n",
        noexec.display(),
        dir.p("alive")
    );
    let foster = Foster::start(&dir, &table, &[]);
    // The three end in any order.
    foster.wait_log("noexec: exited with status 126", T);
    foster.wait_log("nopath: exited", T);
    let log = foster.wait_log("missing: exited", T);
    let one = |needle: &str| -> String {
        let lines: Vec<&str> = log.lines().filter(|l| l.contains(needle)).collect();
        assert_eq!(lines.len(), 1, "one line with `{needle}`:\n{log}");
        lines[0].to_string()
    };
    assert_eq!(
        one("unable to exec /nonexistent"),
        "foster: missing: unable to exec /nonexistent/foster-prog: No such file or directory"
    );
    assert_eq!(
        one("unable to exec foster-no-such"),
        "foster: nopath: unable to exec foster-no-such-program: No such file or directory"
    );
    assert_eq!(
        one(&format!("unable to exec {}", noexec.display())),
        format!(
            "foster: noexec: unable to exec {}: Permission denied",
            noexec.display()
        )
    );
    assert!(log.contains("missing: exited with status 127"), "{log}");
    assert!(wait_until(T, || dir.path("alive").exists()));
    assert!(alive(foster.started_pid("ok").unwrap()));
    assert!(foster.running());
}

/// An inittab id that makes no tty path (past 255 bytes, or with a quote,
/// which unquoting cannot take) fails its entry's start, as BusyBox fails to
/// open `/dev/ID`: the entry never runs on foster's own stdio instead.
#[test]
fn an_inittab_id_that_makes_no_tty_fails_the_start() {
    let dir = TempDir::new("badid");
    let table = format!(
        "{long}::once:/bin/echo ran-long\n\
         ab\"c::once:/bin/echo ran-quoted\n\
         service ok -- sleep 1000\n",
        long = "x".repeat(300)
    );
    let foster = Foster::start(&dir, &table, &[]);
    foster.wait_log("unable to start ab_c.once: Invalid argument", T);
    assert!(
        wait_until(T, || foster
            .log()
            .matches(".once: Invalid argument")
            .count()
            == 2),
        "{}",
        foster.log()
    );
    let log = foster.log();
    assert!(!log.contains("ran-"), "{log}");
    assert!(foster.running());
}

/// A table with bad lines at start: each error is reported with its place,
/// the count says errors (one line can hold several), and the rest runs.
#[test]
fn bad_lines_at_start_are_reported_counted_and_skipped() {
    let dir = TempDir::new("badlines");
    let table = format!(
        "service a bogus=1 stop=NOPE -- /bin/true\nservice b after=a -- /bin/true\n\
         service ok -- sh -c 'touch {}; exec sleep 1000'\n",
        dir.p("alive")
    );
    let foster = Foster::start(&dir, &table, &[]);
    assert!(
        wait_until(T, || dir.path("alive").exists()),
        "{}",
        foster.log()
    );
    let log = foster.log();
    assert!(log.contains("1:11: unknown option `bogus`"), "{log}");
    assert!(
        log.contains("foster: 3 error(s); their lines skipped, running the rest"),
        "{log}"
    );
    assert!(foster.running());
}

/// A table whose every line is broken is a failed start (exit 1, what a
/// service manager sees), not a clean end; an empty one still ends with 0.
#[test]
fn a_table_with_only_bad_lines_fails_the_start() {
    let dir = TempDir::new("allbad");
    let mut foster = Foster::start(&dir, "service a bogus=1 -- true\nservice\n", &[]);
    let status = foster.wait_exit(T);
    let log = foster.log();
    assert_eq!(status.code(), Some(1), "{log}");
    assert!(log.contains("foster: no entry can run"), "{log}");
    let dir = TempDir::new("empty");
    let mut foster = Foster::start(&dir, "# nothing yet\n", &[]);
    assert_eq!(foster.wait_exit(T).code(), Some(0), "{}", foster.log());
}

/// A service whose exec fails reports it on foster's log, whatever fd its
/// readiness pipe takes: the failure is neither lost nor read as "ready"
/// (so what waits for it never starts).
#[test]
fn exec_failure_with_any_readiness_fd_is_reported_not_ready() {
    // One foster per fd: the child's free fds are then the same every run.
    for n in 3..=12 {
        let dir = TempDir::new("exec-ready");
        let table = format!(
            "service bad ready=fd:{n} restart=never -- /nonexistent/prog\n\
             once dep after=bad -- true\n"
        );
        let foster = Foster::start(&dir, &table, &[]);
        foster.wait_log("bad: exited with status 127", T);
        let log = foster.log();
        assert!(
            log.contains("bad: unable to exec /nonexistent/prog"),
            "fd {n}:\n{log}"
        );
        assert!(!log.contains("dep: started"), "fd {n}:\n{log}");
    }
}

/// SIGHUP: unchanged entries keep their pid, removed ones stop, new ones
/// start, changed ones restart; a broken table is rejected whole.
#[test]
fn reload_keeps_stops_starts_restarts_and_rejects() {
    let dir = TempDir::new("reload");
    let v1 =
        "service keep -- sleep 1000\nservice gone -- sleep 1001\nservice change -- sleep 1002\n";
    let mut foster = Foster::start(&dir, v1, &[]);
    let keep = foster.wait_started("keep", 1, T);
    let gone = foster.wait_started("gone", 1, T);
    let change = foster.wait_started("change", 1, T);
    assert!(wait_until(T, || cmdline(change) == "sleep 1002"));

    let v2 =
        "service keep -- sleep 1000\nservice change -- sleep 1003\nservice new -- sleep 1004\n";
    fs::write(&foster.table, v2).unwrap();
    foster.signal(libc::SIGHUP);
    foster.wait_log("table reloaded", T);
    let new = foster.wait_started("new", 1, T);
    let change2 = foster.wait_started("change", 2, T);
    assert!(
        wait_until(T, || !alive(gone) && !alive(change)),
        "{}",
        foster.log()
    );
    assert_eq!(
        foster.started_pid("keep"),
        Some(keep),
        "keep was not restarted"
    );
    assert!(alive(keep));
    assert!(wait_until(T, || cmdline(change2) == "sleep 1003"
        && cmdline(new) == "sleep 1004"));
    assert_eq!(stat(change2).unwrap().ppid, foster.pid);

    // A broken table: rejected whole, errors with file:line:col, old one kept.
    let v3 = "service keep -- sleep 1000\nservice change -- sleep 1005\nservice bad nosuchkey=1 -- true\n";
    fs::write(&foster.table, v3).unwrap();
    foster.signal(libc::SIGHUP);
    let log = foster.wait_log("reload rejected", T);
    let table = foster.table.display().to_string();
    assert!(
        log.lines()
            .any(|l| l.starts_with(&format!("foster: {table}:3:13: "))),
        "{log}"
    );
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        started_pids(&foster.log(), "change").len(),
        2,
        "change restarted by a rejected table"
    );
    assert!(!foster.log().contains("bad: started"));
    assert!(alive(keep) && alive(change2) && alive(new));

    // Fixed again: the pending change applies.
    fs::write(&foster.table, v2.replace("1003", "1006")).unwrap();
    foster.signal(libc::SIGHUP);
    let change3 = foster.wait_started("change", 3, T);
    assert!(wait_until(T, || cmdline(change3) == "sleep 1006"));
    assert_eq!(foster.started_pid("keep"), Some(keep));
    assert!(foster.zombies().is_empty());
    foster.signal(libc::SIGTERM);
    assert_eq!(foster.wait_exit(T).code(), Some(0));
}

/// SIGTERM: a service that ignores SIGTERM is killed after its timeout=, and
/// foster exits 0 with nothing left behind.
#[test]
fn graceful_stop_kills_after_timeout() {
    let dir = TempDir::new("stop");
    let table = format!(
        "service stubborn timeout=1s -- sh -c 'trap \"\" TERM; touch {up}; while :; do sleep 0.1; done'\n\
         service polite -- sleep 1000\n\
         service daemon pidfile={pf} -- sh -c 'setsid sleep 1000 </dev/null >/dev/null 2>&1 & echo $! > {pf}'\n",
        up = dir.p("up"),
        pf = dir.p("pid"),
    );
    let mut foster = Foster::start(&dir, &table, &[]);
    assert!(wait_until(T, || dir.path("up").exists()));
    foster.wait_log("adopted", T);
    let tree = descendants(foster.pid);
    assert!(tree.len() >= 3);
    let start = Instant::now();
    foster.signal(libc::SIGTERM);
    let status = foster.wait_exit(T);
    let took = start.elapsed();
    eprintln!("stop took {took:?}");
    assert_eq!(status.code(), Some(0), "{}", foster.log());
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_millis(2800),
        "stop took {took:?}"
    );
    let log = foster.log();
    assert!(
        log.contains("stubborn: did not stop in time; sending SIGKILL"),
        "{log}"
    );
    assert!(!log.contains("polite: did not stop"), "{log}");
    assert!(
        wait_until(Duration::from_secs(2), || tree.iter().all(|&p| !alive(p))),
        "processes left behind"
    );
}

/// Services stop together: four that ignore SIGTERM (timeout=2s each) cost
/// one timeout, not four (8 s, as when they were stopped one at a time),
/// while `after=` still orders the stop: `web` (after `db`) ends before db
/// is signalled.
#[test]
fn stubborn_services_stop_together_and_dependents_first() {
    let dir = TempDir::new("together");
    let order = dir.p("order");
    let mut table = String::new();
    for i in 0..4 {
        table += &format!(
            "service s{i} timeout=2s -- sh -c 'trap \"\" TERM; touch {up}; exec sleep 1000'\n",
            up = dir.p(&format!("up{i}"))
        );
    }
    table += &format!(
        "service db -- sh -c 'trap \"echo db >> {order}; exit 0\" TERM; touch {up}; while :; do sleep 0.05; done'\n\
         service web after=db -- sh -c 'trap \"sleep 0.3; echo web >> {order}; exit 0\" TERM; touch {up2}; while :; do sleep 0.05; done'\n",
        up = dir.p("up-db"),
        up2 = dir.p("up-web"),
    );
    let mut foster = Foster::start(&dir, &table, &[]);
    let names = ["up0", "up1", "up2", "up3", "up-db", "up-web"];
    assert!(
        wait_until(T, || names.iter().all(|n| dir.path(n).exists())),
        "{}",
        foster.log()
    );
    let start = Instant::now();
    foster.signal(libc::SIGTERM);
    let status = foster.wait_exit(Duration::from_secs(20));
    let took = start.elapsed();
    eprintln!("stop of 4 stubborn services (timeout=2s) took {took:?}");
    let log = foster.log();
    assert_eq!(status.code(), Some(0), "{log}");
    assert_eq!(log.matches("did not stop in time").count(), 4, "{log}");
    assert!(
        took >= Duration::from_millis(1900) && took < Duration::from_millis(6000),
        "stop took {took:?}\n{log}"
    );
    let stopped = fs::read_to_string(&order).unwrap_or_default();
    assert_eq!(stopped, "web\ndb\n", "{log}");
}

/// A `pidfile=` entry whose launcher still runs when the stop comes (it
/// waits for its daemon, as `pg_ctl -w` does) is stopped through the daemon
/// the launcher leaves, and what it runs `after=` waits for that daemon:
/// `db` was signalled as soon as the launcher died, while `web`'s daemon
/// was still being looked for and ran on.
#[test]
fn a_pidfile_daemon_found_during_the_stop_still_stops_before_its_after() {
    let dir = TempDir::new("stop-pidfile-after");
    let (order, pidfile) = (dir.p("order"), dir.p("web.pid"));
    let daemon = dir.write(
        "daemon.sh",
        &format!(
            "trap 'sleep 0.3; echo web >> {order}; exit 0' TERM\n\
             echo $$ > {pidfile}\nwhile :; do sleep 0.05; done\n"
        ),
    );
    let table = format!(
        "service db -- sh -c 'trap \"echo db >> {order}; exit 0\" TERM; while :; do sleep 0.05; done'\n\
         service web after=db pidfile={pidfile} -- sh -c 'setsid sh {d} & exec sleep 1000'\n",
        d = daemon.display()
    );
    let mut foster = Foster::start(&dir, &table, &[]);
    assert!(
        wait_until(T, || dir.path("web.pid").exists()),
        "{}",
        foster.log()
    );
    foster.signal(libc::SIGTERM);
    let status = foster.wait_exit(Duration::from_secs(10));
    let log = foster.log();
    assert_eq!(status.code(), Some(0), "{log}");
    assert!(log.contains("adopted from its pidfile"), "{log}");
    let stopped = fs::read_to_string(dir.path("order")).unwrap_or_default();
    assert_eq!(stopped, "web\ndb\n", "{log}");
}

/// on-exit=exit:CODE ends foster with CODE when that entry ends.
#[test]
fn on_exit_sets_the_exit_status() {
    let dir = TempDir::new("onexit");
    let table =
        "service svc -- sleep 1000\nonce finisher on-exit=exit:7 -- sh -c 'sleep 0.3; exit 3'\n";
    let mut foster = Foster::start(&dir, table, &[]);
    let svc = foster.wait_started("svc", 1, T);
    let status = foster.wait_exit(T);
    assert_eq!(status.code(), Some(7), "{}", foster.log());
    assert!(
        foster.log().contains("foster: exit-status finisher 3"),
        "{}",
        foster.log()
    );
    assert!(wait_until(Duration::from_secs(2), || !alive(svc)));
}

/// Bare `on-exit=exit` passes the entry's own status on, as tini does its
/// child's: its exit code, or 128+N when a signal N killed it.
#[test]
fn on_exit_without_a_code_passes_the_entry_status_on() {
    for (cmd, code) in [("exit 5", 5), ("kill -KILL $$", 137)] {
        let dir = TempDir::new("onexit-own");
        let table = format!(
            "service svc -- sleep 1000\nonce main on-exit=exit -- sh -c 'sleep 0.3; {cmd}'\n"
        );
        let mut foster = Foster::start(&dir, &table, &[]);
        let svc = foster.wait_started("svc", 1, T);
        let status = foster.wait_exit(T);
        assert_eq!(status.code(), Some(code), "{}", foster.log());
        assert!(wait_until(Duration::from_secs(2), || !alive(svc)));
    }
}

/// An `on-exit=` entry whose `after=` target failed for good can never run:
/// it ends as a start that failed (255), so foster neither waits for ever
/// beside the other services nor exits 0 as if the test had passed.
#[test]
fn an_on_exit_entry_blocked_by_its_after_ends_foster_with_a_failure() {
    // Its restart policy does not apply: it would only be blocked again.
    for (test, code) in [
        ("once test after=setup on-exit=exit", 255),
        (
            "service test after=setup restart=on-failure on-exit=exit:4",
            4,
        ),
    ] {
        let dir = TempDir::new("onexit-blocked");
        let table =
            format!("service svc -- sleep 1000\nonce setup ready=fd:3 -- false\n{test} -- true\n");
        let mut foster = Foster::start(&dir, &table, &[]);
        let svc = foster.wait_started("svc", 1, T);
        let status = foster.wait_exit(T);
        assert_eq!(status.code(), Some(code), "{}", foster.log());
        let log = foster.log();
        assert!(log.contains("foster: exit-status test 255"), "{log}");
        assert_eq!(log.matches("test: not started").count(), 1, "{log}");
        assert!(wait_until(Duration::from_secs(2), || !alive(svc)));
    }
}

/// A caller that leaves SIGCHLD ignored must not make foster miss an end:
/// the on-exit entry still decides foster's exit status.
#[test]
fn ignored_sigchld_in_the_caller_is_reset() {
    let dir = TempDir::new("sigchld-ign");
    let table = dir.write(
        "table.tab",
        "once finisher on-exit=exit:5 -- sh -c 'sleep 0.2; exit 3'\n",
    );
    let mut c = Command::new(FOSTER);
    c.arg("-f").arg(&table);
    // SAFETY: signal(2) only, between fork and exec.
    unsafe {
        c.pre_exec(|| {
            libc::signal(libc::SIGCHLD, libc::SIG_IGN);
            Ok(())
        })
    };
    let mut child = c
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn foster");
    let st = common::wait_bounded(&mut child, T).expect("foster did not exit");
    assert_eq!(st.code(), Some(5));
}

/// SIGTERM (docker stop, systemctl stop) while the stop that an
/// `on-exit=exit:CODE` entry began is still under way: foster still exits CODE.
#[test]
fn sigterm_during_an_on_exit_stop_keeps_the_code() {
    let dir = TempDir::new("onexit-term");
    // The finisher ends once `slow` holds out against TERM (a shell still
    // starting would die of the stop's TERM, and foster would be done before
    // the test's SIGTERM came).
    let table = format!(
        "service slow timeout=5s -- sh -c 'trap \"\" TERM; touch {up}; exec sleep 1000'\n\
         once finisher on-exit=exit:7 -- sh -c 'while [ ! -e {up} ]; do sleep 0.02; done; exit 3'\n",
        up = dir.p("up")
    );
    let mut foster = Foster::start(&dir, &table, &[]);
    foster.wait_log("foster: exit-status finisher 3", T);
    assert!(
        foster.try_exit().is_none(),
        "foster is done before the SIGTERM:\n{}",
        foster.log()
    );
    foster.signal(libc::SIGTERM);
    let status = foster.wait_exit(Duration::from_secs(15));
    assert_eq!(status.code(), Some(7), "{}", foster.log());
}

/// Sub-init's options come in any order: `-v` or `-p SIG` before `-f TABLE`
/// still mean the sub-init, not a command named `-f` in single-command mode.
#[test]
fn options_before_the_table_still_mean_the_sub_init() {
    let dir = TempDir::new("opts-first");
    let table = dir.write(
        "table.tab",
        "once finisher on-exit=exit:7 -- sh -c 'exit 3'\n",
    );
    for lead in [&["-v"][..], &["-p", "TERM"], &["-v", "-p", "KILL", "-v"]] {
        let out = Command::new("timeout")
            .arg("10")
            .arg(FOSTER)
            .args(lead)
            .arg("-f")
            .arg(&table)
            .stdin(Stdio::null())
            .output()
            .expect("run foster");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(7), "{lead:?}: {err}");
        assert!(err.contains("foster: finisher: started"), "{lead:?}: {err}");
    }
}

/// The usage's sub-init line names every option the sub-init takes
/// (`-v` is documented in the README and accepted, as tested above).
#[test]
fn usage_lists_the_sub_init_options() {
    let out = Command::new(FOSTER).arg("-h").output().expect("run foster");
    let usage = String::from_utf8_lossy(&out.stdout);
    let line = usage
        .lines()
        .find(|l| l.contains("foster -f TABLE"))
        .unwrap_or_else(|| panic!("no sub-init line in:\n{usage}"));
    for opt in ["[-S SOCK]", "[-p SIG]", "[-v]"] {
        assert!(line.contains(opt), "{opt} missing from: {line}");
    }
}

/// `foster -v -f TABLE` on a stderr nobody reads any more: each of foster's
/// own lines raises a SIGPIPE for foster itself, and logging that one
/// ("got SIGPIPE") raised the next, a busy loop that never got to exit.
#[test]
fn verbose_on_a_closed_stderr_does_not_spin() {
    let dir = TempDir::new("epipe");
    let table = dir.write(
        "table.tab",
        "once finisher on-exit=exit:7 -- sh -c 'sleep 0.3'\n",
    );
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    let mut child = Command::new(FOSTER)
        .arg("-v")
        .arg("-f")
        .arg(&table)
        .stdin(Stdio::null())
        .stderr(writer)
        .spawn()
        .expect("spawn foster");
    let status = common::wait_bounded(&mut child, T);
    assert_eq!(status.and_then(|s| s.code()), Some(7), "{status:?}");
}

/// With only run-once entries, foster exits 0 once they (and the orphans
/// they left) are gone.
#[test]
fn exits_when_nothing_is_left() {
    let dir = TempDir::new("done");
    let table = "sysinit a -- true\nonce b -- sh -c 'sleep 0.2'\nonce c -- sh -c 'sleep 0.6 >/dev/null 2>&1 &'\n";
    let start = Instant::now();
    let mut foster = Foster::start(&dir, table, &[]);
    let status = foster.wait_exit(T);
    let took = start.elapsed();
    assert_eq!(status.code(), Some(0), "{}", foster.log());
    // It waited for c's orphan too.
    assert!(
        took >= Duration::from_millis(550),
        "exited after {took:?}, before the orphan"
    );
}

/// Children start clean: only fds 0-2 (plus the readiness fd when asked), an
/// empty signal mask, no ignored signals, blocking stdio.
#[test]
fn children_start_clean() {
    let dir = TempDir::new("clean");
    let table = format!(
        "service plain -- sleep 1000\n\
         service ready ready=fd:5 -- sleep 1001\n\
         service logged log={} -- sleep 1002\n\
         service selfcheck -- sh -c 'ls /proc/self/fd > {}; exec sleep 1003'\n",
        dir.p("logged.log"),
        dir.p("fds"),
    );
    let foster = Foster::start(&dir, &table, &[]);
    for (name, want) in [
        ("plain", vec![0, 1, 2]),
        ("ready", vec![0, 1, 2, 5]),
        ("logged", vec![0, 1, 2]),
    ] {
        let pid = foster.wait_started(name, 1, T);
        assert!(wait_until(T, || cmdline(pid).starts_with("sleep")));
        let mut fds: Vec<i32> = fs::read_dir(format!("/proc/{pid}/fd"))
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
            .collect();
        fds.sort();
        assert_eq!(fds, want, "{name}'s fds");
        assert_eq!(
            status_field(pid, "SigBlk").as_deref(),
            Some("0000000000000000"),
            "{name}'s mask"
        );
        assert_eq!(
            status_field(pid, "SigIgn").as_deref(),
            Some("0000000000000000"),
            "{name}'s ignored"
        );
        assert_eq!(stat(pid).unwrap().ppid, foster.pid);
        // A service leads its own session.
        assert_eq!(stat_field(pid, 6), Some(pid as u64), "{name} runs setsid");
        for fd in 1..3 {
            let info = fs::read_to_string(format!("/proc/{pid}/fdinfo/{fd}")).unwrap();
            let flags = info
                .lines()
                .find_map(|l| l.strip_prefix("flags:"))
                .unwrap()
                .trim();
            let flags = u32::from_str_radix(flags, 8).unwrap();
            assert_eq!(
                flags & libc::O_NONBLOCK as u32,
                0,
                "{name}'s fd {fd} is non-blocking"
            );
        }
    }
    // The shell's own view: ls itself opens one fd (3) to read the directory.
    assert!(wait_until(T, || fs::read_to_string(dir.path("fds"))
        .is_ok_and(|s| s.ends_with('\n'))));
    let listed: Vec<String> = fs::read_to_string(dir.path("fds"))
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(listed, ["0", "1", "2", "3"], "ls /proc/self/fd");
}

/// Idle means asleep: with services running and nothing happening, foster
/// makes no syscall over 3 s (no context switch, no CPU time).
#[test]
fn idle_foster_makes_no_syscalls() {
    let dir = TempDir::new("idle");
    let table = format!(
        "service a -- sleep 1000\n\
         service b ready=fd:3 -- sh -c 'echo >&3; exec sleep 1000'\n\
         service c log={} -- sh -c 'echo hello; exec sleep 1000'\n\
         once d -- true\n",
        dir.p("c.log")
    );
    let foster = Foster::start(&dir, &table, &[]);
    foster.wait_log("b: ready", T);
    assert!(wait_until(T, || fs::read_to_string(dir.path("c.log"))
        .is_ok_and(|s| s.contains("c: hello"))));
    // `d` has ended and foster reaped it (its end would wake foster), and
    // every service runs its final program.
    let d = foster.wait_started("d", 1, T);
    assert!(wait_until(T, || stat(d).is_none()), "d not reaped");
    for name in ["a", "b", "c"] {
        let pid = foster.wait_started(name, 1, T);
        assert!(wait_until(T, || cmdline(pid).starts_with("sleep")));
    }
    std::thread::sleep(Duration::from_millis(300));
    let counters = || {
        (
            status_field(foster.pid, "voluntary_ctxt_switches").unwrap(),
            status_field(foster.pid, "nonvoluntary_ctxt_switches").unwrap(),
            stat_field(foster.pid, 14).unwrap() + stat_field(foster.pid, 15).unwrap(),
        )
    };
    let before = counters();
    std::thread::sleep(Duration::from_secs(3));
    let after = counters();
    eprintln!(
        "idle foster: (voluntary, involuntary switches, utime+stime) {before:?} -> {after:?}"
    );
    assert_eq!(before.0, after.0, "foster woke up while idle");
    assert_eq!(before.2, after.2, "foster used CPU while idle");

    // The same with strace, where it exists.
    if Command::new("strace")
        .arg("-V")
        .stdout(Stdio::null())
        .status()
        .is_err()
    {
        eprintln!("note: no strace; syscall count by /proc counters only");
        return;
    }
    let out = dir.path("strace.out");
    let mut tracer = Command::new("strace")
        .args(["-f", "-c", "-o"])
        .arg(&out)
        .args(["-p", &foster.pid.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(3));
    // SAFETY: SIGINT to our own strace: it detaches and prints its summary.
    unsafe { libc::kill(tracer.id() as i32, libc::SIGINT) };
    let _ = tracer.wait();
    let summary = fs::read_to_string(&out).unwrap_or_default();
    eprintln!("strace -c over 3 s of idle:\n{summary}");
    // Attaching interrupts the epoll_wait in progress: one turn of the loop
    // (epoll_wait returns, the clock is read) may show. Anything more is a
    // wake-up: a 1 s poll would show 3 epoll_waits.
    let calls: Vec<(String, u64)> = summary
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let name = f.last()?;
            let calls = f.get(3)?.parse().ok()?;
            (f.len() >= 5 && *name != "total").then(|| (name.to_string(), calls))
        })
        .collect();
    let other: Vec<&(String, u64)> = calls
        .iter()
        .filter(|(n, c)| {
            !matches!(
                (n.as_str(), *c),
                ("epoll_wait" | "restart_syscall", 0..=1) | ("clock_gettime", 0..=2)
            )
        })
        .collect();
    assert!(
        other.is_empty(),
        "syscalls while idle: {other:?}\n{summary}"
    );
}

/// `-p SIG`: when foster's parent dies, foster gets SIG and, for TERM, stops
/// its services, each before what it runs after, and exits.
#[test]
fn parent_death_signal_stops_dependents_first() {
    let dir = TempDir::new("pdeath");
    let order = dir.p("order");
    let svc = |n: &str| {
        format!(
            "sh -c 'trap \"echo {n} >> {order}; exit 0\" TERM; touch {up}; while :; do sleep 0.05; done'",
            up = dir.p(&format!("up-{n}"))
        )
    };
    // `a` is listed first but starts last (after=b).
    let table = format!(
        "service a after=b -- {}\nservice c -- {}\nservice b -- {}\n",
        svc("a"),
        svc("c"),
        svc("b")
    );
    let table_path = dir.path("table.tab");
    fs::write(&table_path, table).unwrap();
    let fpid = dir.path("foster.pid");
    // The shell exits (and foster gets its TERM) once all three have set
    // their trap: `a` starts last, but `b` and `c` may still be starting.
    let script = format!(
        "{FOSTER} -f {t} -p TERM >{log} 2>&1 & echo $! > {fpid}; \
         i=0; until [ -e {a} ] && [ -e {b} ] && [ -e {c} ]; do \
         i=$((i + 1)); [ $i -lt 1000 ] || exit 1; sleep 0.02; done",
        t = table_path.display(),
        log = dir.p("foster.log"),
        fpid = fpid.display(),
        a = dir.p("up-a"),
        b = dir.p("up-b"),
        c = dir.p("up-c"),
    );
    let status = Command::new("sh").arg("-c").arg(&script).status().unwrap();
    let pid = read_pidfile(&fpid).unwrap();
    let _guard = Orphan {
        pid,
        table: table_path.clone(),
    };
    assert!(status.success(), "the services did not all come up");
    // The parent is gone: foster got SIGTERM and stops.
    let gone = wait_until(T, || stat(pid).is_none_or(|s| s.state == 'Z'));
    let log = fs::read_to_string(dir.path("foster.log")).unwrap_or_default();
    assert!(gone, "foster still runs after its parent died:\n{log}");
    assert!(log.contains("foster: stopping"), "{log}");
    let stopped: Vec<String> = fs::read_to_string(&order)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    // c runs after nothing: it stops at once, beside a. b waits for a.
    let at = |n: &str| stopped.iter().position(|s| s == n);
    assert_eq!(stopped.len(), 3, "{stopped:?}");
    assert!(at("a") < at("b") && at("c").is_some(), "{stopped:?}");
}

/// A foster that is not our child (its parent was a shell that exited):
/// killed with its tree on drop, if it still is that foster.
struct Orphan {
    pid: i32,
    table: PathBuf,
}

impl Drop for Orphan {
    fn drop(&mut self) {
        let me = cmdline(self.pid);
        if !me.starts_with(FOSTER) || !me.contains(self.table.to_str().unwrap()) {
            return;
        }
        // The foster this test started (checked by its command line).
        kill_tree(self.pid);
    }
}

/// A reload that removes many services stops them all at once with their
/// stop signal (none is left to the SIGKILL timeout).
#[test]
fn reload_removing_many_services_stops_them_all() {
    let dir = TempDir::new("reloadmany");
    let mut table = String::from("service keep -- sleep 1000\n");
    for i in 0..48 {
        table += &format!("service s{i} -- sleep {}\n", 2000 + i);
    }
    let foster = Foster::start(&dir, &table, &[]);
    foster.wait_started("s47", 1, T);
    assert!(wait_until(T, || foster.children().len() == 49));
    fs::write(&foster.table, "service keep -- sleep 1000\n").unwrap();
    let start = Instant::now();
    foster.signal(libc::SIGHUP);
    let ok = wait_until(T, || foster.children().len() == 1);
    let took = start.elapsed();
    assert!(
        ok && took < Duration::from_secs(3),
        "{} left after {took:?}",
        foster.children().len()
    );
    let log = foster.log();
    assert!(!log.contains("did not stop in time"), "{log}");
    assert!(foster.zombies().is_empty());
}

/// A reload that removes `web` (after `db`) and `db` stops them as the
/// orderly stop does: `web`, which ignores SIGTERM, is killed at its
/// `timeout=`, and only then is `db` signalled (both were signalled at the
/// same moment: db's stop found web still running). `keep` stays.
#[test]
fn reload_removing_dependents_stops_them_before_what_they_run_after() {
    let dir = TempDir::new("reload-after");
    let order = dir.p("order");
    let web = dir.write(
        "web.sh",
        &format!(
            "trap 'echo web >> {order}' TERM\necho $$ > {pid}\nwhile :; do sleep 0.05; done\n",
            pid = dir.p("web.pid")
        ),
    );
    let db = dir.write(
        "db.sh",
        &format!(
            "trap 'if kill -0 $(cat {pid}) 2>/dev/null; then echo db-while-web; else echo db; fi >> {order}; exit 0' TERM\n\
             touch {up}\nwhile :; do sleep 0.05; done\n",
            pid = dir.p("web.pid"),
            up = dir.p("up-db"),
        ),
    );
    let table = format!(
        "service db -- sh {db}\nservice web after=db timeout=1s -- sh {web}\nservice keep -- sleep 1000\n",
        db = db.display(),
        web = web.display(),
    );
    let foster = Foster::start(&dir, &table, &[]);
    assert!(
        wait_until(T, || dir.path("up-db").exists()
            && fs::read_to_string(dir.path("web.pid"))
                .is_ok_and(|p| p.ends_with('\n'))),
        "{}",
        foster.log()
    );
    let keep = foster.wait_started("keep", 1, T);
    fs::write(&foster.table, "service keep -- sleep 1000\n").unwrap();
    let start = Instant::now();
    foster.signal(libc::SIGHUP);
    let done = || {
        fs::read_to_string(&order)
            .unwrap_or_default()
            .lines()
            .count()
            >= 2
    };
    assert!(wait_until(T, done), "{}", foster.log());
    let took = start.elapsed();
    let log = foster.log();
    assert_eq!(fs::read_to_string(&order).unwrap(), "web\ndb\n", "{log}");
    assert!(
        took >= Duration::from_millis(900),
        "db stopped after {took:?}"
    );
    assert!(log.contains("web: did not stop in time"), "{log}");
    assert!(wait_until(T, || foster.children() == [keep]), "{log}");
    assert_eq!(foster.started_pid("keep"), Some(keep));
}

/// A removed entry that ends on its own while it waits for its turn to stop
/// (a removed dependent still stopping) is dropped, not restarted, and its
/// end is logged like any other.
#[test]
fn a_removed_entry_that_ends_while_held_is_logged_and_not_restarted() {
    let dir = TempDir::new("reload-held-crash");
    let web = dir.write("web.sh", "trap '' TERM\nwhile :; do sleep 0.05; done\n");
    let db = dir.write(
        "db.sh",
        &format!(
            "touch {up}\nwhile [ ! -e {crash} ]; do sleep 0.05; done\nexit 3\n",
            up = dir.p("up-db"),
            crash = dir.p("crash"),
        ),
    );
    let table = format!(
        "service db -- sh {db}\nservice web after=db timeout=3s -- sh {web}\nservice keep -- sleep 1000\n",
        db = db.display(),
        web = web.display(),
    );
    let foster = Foster::start(&dir, &table, &[]);
    let keep = foster.wait_started("keep", 1, T);
    let web_pid = foster.wait_started("web", 1, T);
    assert!(
        wait_until(T, || dir.path("up-db").exists()),
        "{}",
        foster.log()
    );
    fs::write(&foster.table, "service keep -- sleep 1000\n").unwrap();
    foster.signal(libc::SIGHUP);
    assert!(
        wait_until(T, || foster.log().contains("table reloaded")),
        "{}",
        foster.log()
    );
    fs::write(dir.path("crash"), "").unwrap();
    assert!(
        wait_until(T, || foster.log().contains("db: exited with status 3")),
        "{}",
        foster.log()
    );
    assert!(foster.children().contains(&web_pid), "{}", foster.log());
    assert!(
        wait_until(T, || foster.children() == [keep]),
        "{}",
        foster.log()
    );
    assert_eq!(
        foster.log().matches("db: started").count(),
        1,
        "{}",
        foster.log()
    );
}

/// A `pidfile=` entry removed by a reload while its launcher still runs: the
/// daemon the launcher leaves is found through the pidfile path of the table
/// it came from (not read against the new table's text) and stopped.
#[test]
fn reload_stops_the_daemon_of_a_removed_entry_still_launching() {
    let dir = TempDir::new("reload-pidfile");
    let pidfile = dir.path("d.pid");
    let started = dir.path("started");
    let table = format!(
        "service d pidfile={pf} timeout=3s -- sh -c 'trap \"\" TERM; touch {st}; sleep 0.5; \
         setsid sh -c \"exec sleep 1000\" </dev/null >/dev/null 2>&1 & echo $! > {pf}'\n",
        pf = pidfile.display(),
        st = started.display()
    );
    let foster = Foster::start(&dir, &table, &[]);
    assert!(wait_until(T, || started.exists()), "{}", foster.log());
    // Another text entirely: the old spans mean nothing in it.
    fs::write(&foster.table, "service other -- sleep 1000 # a new table\n").unwrap();
    foster.signal(libc::SIGHUP);
    assert!(wait_until(T, || read_pidfile(&pidfile).is_some()));
    let daemon = read_pidfile(&pidfile).unwrap();
    assert!(
        wait_until(Duration::from_secs(8), || !alive(daemon)),
        "daemon {daemon} still runs\n{}",
        foster.log()
    );
    assert!(foster
        .log()
        .contains(&format!("d: daemon pid {daemon} adopted")));
}

/// A `pidfile=` entry launching again (its daemon crashed, `web` after it ran
/// on) when a reload removes both, then a second reload before its launcher
/// is done (it waits for `go`): the second reload overwrites the text of the pidfile path. The
/// launcher, held for `web`, went on and left a daemon nobody looked for,
/// running untracked until foster's own end; it stops at once, as before the
/// removed entries stopped dependents first (its daemon, once found, still
/// waits for them).
#[test]
fn a_removed_entry_launching_again_leaves_no_daemon_behind_after_two_reloads() {
    let dir = TempDir::new("reload-relaunch");
    let pidfile = dir.path("d.pid");
    let table = format!(
        "service d pidfile={pf} -- sh -c 'if [ -e {first} ]; then touch {again}; \
         until [ -e {go} ]; do sleep 0.05; done; fi; \
         touch {first}; setsid sh -c \"exec sleep 1000\" </dev/null >/dev/null 2>&1 & echo $! > {pf}'\n\
         service web after=d timeout=3s -- sh -c 'trap \"\" TERM; while :; do sleep 0.05; done'\n\
         service keep -- sleep 1000\n",
        pf = pidfile.display(),
        first = dir.p("first"),
        again = dir.p("again"),
        go = dir.p("go"),
    );
    let foster = Foster::start(&dir, &table, &[]);
    foster.wait_started("web", 1, T);
    let keep = foster.wait_started("keep", 1, T);
    let daemon = read_pidfile(&pidfile).unwrap();
    fs::remove_file(&pidfile).unwrap();
    unsafe { libc::kill(daemon, libc::SIGKILL) };
    assert!(
        wait_until(T, || dir.path("again").exists()),
        "{}",
        foster.log()
    );
    for n in 1..=2 {
        fs::write(&foster.table, format!("service keep -- sleep 1000 # {n}\n")).unwrap();
        foster.signal(libc::SIGHUP);
        let reloaded = || foster.log().matches("table reloaded").count() == n;
        assert!(wait_until(T, reloaded), "{}", foster.log());
    }
    fs::write(dir.path("go"), "").unwrap();
    assert!(
        wait_until(Duration::from_secs(8), || foster.children() == [keep]),
        "left: {:?}\n{}",
        foster
            .children()
            .iter()
            .map(|&p| cmdline(p))
            .collect::<Vec<_>>(),
        foster.log()
    );
    assert!(
        !foster.log().contains("no live child pid"),
        "{}",
        foster.log()
    );
}

/// A reload that swaps a full table of services that ignore SIGTERM for a
/// full table of new ones: the burst overflows the supervisor's action
/// queue, yet every new entry starts at once (well before the old ones'
/// `timeout=`, the window kept wide for loaded machines) and every old one
/// is killed at its `timeout=` (none is lost with the actions that did not fit).
#[test]
fn reload_of_a_full_table_loses_no_start_and_no_kill() {
    let dir = TempDir::new("reloadfull");
    let n = 64;
    let mut old = String::new();
    for i in 0..n {
        old += &format!(
            "service a{i} timeout=3s -- sh -c 'trap \"\" TERM; exec sleep {}'\n",
            3000 + i
        );
    }
    let foster = Foster::start(&dir, &old, &[]);
    foster.wait_started(&format!("a{}", n - 1), 1, T);
    // Each holds out against TERM only once its shell has set the trap and
    // exec'd `sleep`: a shell still starting up dies of the reload's TERM.
    let armed = || {
        foster
            .children()
            .iter()
            .filter(|&&p| cmdline(p).starts_with("sleep 3"))
            .count()
    };
    assert!(wait_until(T, || armed() == n));
    let mut new = String::new();
    for i in 0..n {
        new += &format!("service b{i} -- sleep {}\n", 4000 + i);
    }
    fs::write(&foster.table, new).unwrap();
    let start = Instant::now();
    foster.signal(libc::SIGHUP);
    // The new entries start while the old ones still hold out against TERM.
    foster.wait_started(&format!("b{}", n - 1), 1, Duration::from_millis(2900));
    let old_left = || {
        foster
            .children()
            .iter()
            .filter(|&&p| cmdline(p).contains("sleep 3"))
            .count()
    };
    // (Before the fix, they started 4 s late: after the old ones were killed.)
    assert!(start.elapsed() < Duration::from_secs(3));
    assert!(old_left() > 0, "the old entries ignore TERM until 3 s");
    let gone = wait_until(Duration::from_secs(8), || old_left() == 0);
    assert!(gone, "{} old entries left:\n{}", old_left(), foster.log());
    assert_eq!(foster.log().matches("did not stop in time").count(), n);
}

/// log=PATH: a path changed by a reload takes effect when the entry restarts;
/// a log file that cannot be opened is reported and output goes to the console.
#[test]
fn log_path_change_and_open_failure() {
    let dir = TempDir::new("logchange");
    let (a, b) = (dir.p("a.log"), dir.p("b.log"));
    let v1 = format!(
        "service talk log={a} -- sh -c 'echo start; exec sleep 1000'\n\
         service lost log=/nonexistent/foster-dir/x.log -- sh -c 'echo still here; exec sleep 1000'\n"
    );
    let foster = Foster::start(&dir, &v1, &[]);
    let log = foster.wait_log("still here", T);
    assert!(
        log.contains(
            "foster: lost: unable to open /nonexistent/foster-dir/x.log: No such file or directory"
        ),
        "{log}"
    );
    assert!(wait_until(T, || fs::read_to_string(&a)
        .is_ok_and(|s| s == "talk: start\n")));
    fs::write(&foster.table, v1.replace(&a, &b)).unwrap();
    foster.signal(libc::SIGHUP);
    foster.wait_started("talk", 2, T);
    assert!(
        wait_until(T, || fs::read_to_string(&b)
            .is_ok_and(|s| s == "talk: start\n")),
        "{}",
        foster.log()
    );
    assert_eq!(fs::read_to_string(&a).unwrap(), "talk: start\n");
}

/// log=PATH: output that does not end in a newline is not lost when the
/// service exits, nor glued to the first line of its next run.
#[test]
fn log_keeps_an_unterminated_last_line() {
    let dir = TempDir::new("logpartial");
    let sink = dir.p("partial.log");
    let table = format!(
        "service crash backoff=200ms..200ms log={sink} -- sh -c 'echo start; printf \"50%%\"; exit 1'\n"
    );
    let foster = Foster::start(&dir, &table, &[]);
    foster.wait_started("crash", 3, T);
    let ok = wait_until(T, || {
        fs::read_to_string(&sink).is_ok_and(|s| s.lines().count() >= 4)
    });
    let text = fs::read_to_string(&sink).unwrap_or_default();
    assert!(ok, "{text:?}\n{}", foster.log());
    assert!(
        text.starts_with("crash: start\ncrash: 50%\ncrash: start\ncrash: 50%\n"),
        "{text:?}"
    );
}

/// SIGTERM reaches every descendant, not just foster's children: a chain of
/// processes each in a session of its own, each ending cleanly on TERM,
/// all get it at once (none waits to be SIGKILLed after the 2 s grace).
#[test]
fn stop_terms_every_descendant_at_once() {
    let dir = TempDir::new("chain-term");
    let script = dir.write(
        "chain.sh",
        "d=$(dirname \"$0\")\n\
         trap \"echo term-$1 >> $d/terms; exit 0\" TERM\n\
         echo $$ >> \"$d/pids\"\n\
         if [ \"$1\" -gt 0 ]; then setsid sh \"$0\" $(($1 - 1)) & fi\n\
         while :; do sleep 1 & wait; done\n",
    );
    // The service itself ends at once (its shell stops first), leaving the
    // chain to foster.
    let table = format!("service a -- sh {} 3\n", script.display());
    let mut foster = Foster::start(&dir, &table, &[]);
    let count = |f: &str| {
        fs::read_to_string(dir.path(f))
            .unwrap_or_default()
            .lines()
            .count()
    };
    assert!(wait_until(T, || count("pids") == 4));
    let start = Instant::now();
    foster.signal(libc::SIGTERM);
    let status = foster.wait_exit(T);
    let took = start.elapsed();
    eprintln!("the chain stopped in {took:?}");
    assert_eq!(status.code(), Some(0), "{}", foster.log());
    // Each level wrote its line: TERM reached it (a SIGKILL leaves no line).
    assert_eq!(count("terms"), 4, "{}", foster.log());
    // None was left for the SIGKILL after the grace. (Said by foster's log,
    // not by a clock: on a loaded machine, foster's walks of /proc to send
    // the TERM and the shells' traps took over 1.5 s, within the grace.)
    let log = foster.log();
    assert!(!log.contains("sending SIGKILL"), "after {took:?}:\n{log}");
}

/// SIGTERM: a chain of descendants, each in a session of its own and deaf
/// to SIGTERM, comes back to foster one level at a time as SIGKILL takes
/// its parent; every level is killed before foster exits, none is left to
/// the real init.
#[test]
fn stop_kills_a_chain_of_orphans_adopted_while_killing() {
    let dir = TempDir::new("chain");
    let script = dir.write(
        "chain.sh",
        "trap '' TERM\n\
         echo $$ >> \"$(dirname \"$0\")/pids\"\n\
         if [ \"$1\" -gt 0 ]; then setsid sh \"$0\" $(($1 - 1)) & fi\n\
         exec sleep 1000\n",
    );
    let table = format!("service a timeout=100ms -- sh {} 4\n", script.display());
    let mut foster = Foster::start(&dir, &table, &[]);
    let pids = || -> Vec<i32> {
        fs::read_to_string(dir.path("pids"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.parse().ok())
            .collect()
    };
    assert!(wait_until(T, || pids().len() == 5), "{:?}", pids());
    foster.signal(libc::SIGTERM);
    let status = foster.wait_exit(T);
    let left: Vec<i32> = pids().into_iter().filter(|&p| alive(p)).collect();
    for &p in &left {
        kill_tree(p);
    }
    assert_eq!(status.code(), Some(0), "{}", foster.log());
    assert!(left.is_empty(), "left behind: {left:?}\n{}", foster.log());
}

/// Started with fds 0-2 closed, foster puts /dev/null there before it opens
/// anything: its own signalfd or socket never takes them, and its lines never
/// go into a service's log file (which a child's fd 2 would be).
#[test]
fn closed_stdio_is_filled_with_dev_null() {
    let dir = TempDir::new("closed-stdio");
    let table = dir.write(
        "t.tab",
        &format!(
            "service s log={} -- sh -c 'echo from-s; exec sleep 1000'\n",
            dir.p("s.log")
        ),
    );
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "exec {FOSTER} -v -f {} -S {} <&- >&- 2>&-",
            table.display(),
            dir.p("sock")
        ))
        .spawn()
        .unwrap();
    let pid = child.id() as i32;
    assert!(wait_until(T, || fs::read_to_string(dir.path("s.log"))
        .unwrap_or_default()
        .contains("from-s")));
    let fds: Vec<String> = (0..3)
        .map(|n| {
            fs::read_link(format!("/proc/{pid}/fd/{n}"))
                .map(|p| p.display().to_string())
                .unwrap_or_default()
        })
        .collect();
    // SAFETY: kill(2) on the foster this test started.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    let _ = child.wait();
    assert_eq!(fds, ["/dev/null", "/dev/null", "/dev/null"]);
    let log = fs::read_to_string(dir.path("s.log")).unwrap();
    assert!(
        !log.contains("foster:"),
        "foster's own lines in the service log:\n{log}"
    );
}

/// log=PATH of a `pidfile=` entry: what its launcher left without a newline
/// is written when the launcher ends, as for any service. It waited in the
/// pipe for a run's end that never came (no daemon adopted: lost for good).
#[test]
fn log_keeps_the_last_line_of_a_pidfile_launcher() {
    let dir = TempDir::new("logpartial-pidfile");
    let sink = dir.p("d.log");
    let table = format!(
        "service d pidfile={} log={sink} -- sh -c 'printf \"no config\"; exec sleep 30'\n",
        dir.p("d.pid")
    );
    let mut foster = Foster::start(&dir, &table, &[]);
    let launcher = foster.wait_started("d", 1, T);
    // Printed: the launcher is sleeping.
    assert!(wait_until(T, || cmdline(launcher).starts_with("sleep")));
    foster.signal(libc::SIGTERM);
    assert!(foster.wait_exit(T).success(), "{}", foster.log());
    let text = fs::read_to_string(&sink).unwrap_or_default();
    assert_eq!(text, "d: no config\n", "{}", foster.log());
}

/// A daemon that wrote its pidfile and died before it was adopted ends its
/// run once. The next run's daemon writes the pidfile late: until then the
/// file names the dead one, which must not end that run too (a second exit
/// with the old status, a restart, two daemons).
#[test]
fn a_stale_pidfile_naming_a_dead_daemon_ends_one_run_only() {
    let dir = TempDir::new("pidfile-stale-dead");
    let (pid, runs) = (dir.p("d.pid"), dir.p("runs"));
    let table = format!(
        "service d backoff=300ms..300ms pidfile={pid} -- sh -c '\
         echo run >> {runs}; \
         if [ $(wc -l < {runs}) = 1 ]; then (sh -c \"echo \\$\\$ > {pid}; exit 3\" &); sleep 0.2; \
         else (sh -c \"sleep 0.5; echo \\$\\$ > {pid}; exec sleep 1000\" &); fi'\n"
    );
    let foster = Foster::start(&dir, &table, &[]);
    let log = foster.wait_log("adopted from its pidfile", T);
    assert_eq!(log.matches("d: exited").count(), 1, "{log}");
    assert_eq!(started_pids(&log, "d").len(), 2, "{log}");
}

/// A native `tty=` service gets its `stop=` signal alone: its TERM handler
/// runs. (Console sessions of BusyBox tables, askfirst entries and login
/// shells get a SIGHUP too, as a hangup would: interactive shells ignore
/// TERM.)
#[test]
fn a_tty_service_stops_through_its_own_term_handler() {
    let dir = TempDir::new("tty-term");
    let (master, slave) = pty();
    let table = format!(
        "service t tty={slave} -- sh -c 'trap \"echo cleaned > {f}; exit 0\" TERM; \
         echo up > {u}; while :; do sleep 1 & wait; done'\n",
        f = dir.p("cleaned"),
        u = dir.p("up"),
    );
    let mut foster = Foster::start(&dir, &table, &[]);
    assert!(
        wait_until(T, || dir.path("up").exists()),
        "{}",
        foster.log()
    );
    foster.signal(libc::SIGTERM);
    let status = foster.wait_exit(T);
    // SAFETY: our own fd.
    unsafe { libc::close(master) };
    assert_eq!(status.code(), Some(0), "{}", foster.log());
    assert_eq!(
        fs::read_to_string(dir.path("cleaned")).unwrap_or_default(),
        "cleaned\n",
        "{}",
        foster.log()
    );
}

/// A sub-init whose last child is gone sweeps no /proc on its way out: with
/// no children it has no descendants (orphans come to the subreaper), and a
/// walk of every process's parents on a busy host costs seconds of stop.
#[test]
fn a_stop_with_no_children_left_reads_no_proc() {
    let dir = TempDir::new("nosweep");
    let table = dir.write("table.tab", "once a -- true\n");
    let trace = dir.path("trace");
    let st = Command::new("strace")
        .args(["-qq", "-e", "trace=openat", "-o"])
        .arg(&trace)
        .args([FOSTER, "-f"])
        .arg(&table)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("strace (apt-get install strace)");
    assert_eq!(st.code(), Some(0));
    let calls = fs::read_to_string(&trace).unwrap();
    assert!(calls.contains("table.tab"), "{calls}");
    // (Its own stderr is reopened through /proc/self/fd at start: not a sweep.)
    let proc_reads: Vec<&str> = calls
        .lines()
        .filter(|l| l.contains("\"/proc") && !l.contains("\"/proc/self/fd/"))
        .collect();
    assert!(proc_reads.is_empty(), "{proc_reads:#?}");
}

/// The stop's sweep for descendants reads each process that started before
/// foster once, never again as the ancestor of another: in a PID namespace
/// holding a chain of 20 older processes (one parent each above the other),
/// a walk up from every process read 210 stat files per sweep.
#[test]
fn the_descendant_sweep_reads_older_processes_once() {
    let dir = TempDir::new("sweep");
    let chain = dir.write(
        "chain.sh",
        "if [ \"$1\" -gt 0 ]; then sh \"$0\" $(($1 - 1)) \"$2\"; else touch \"$2\"; sleep 100; fi\n",
    );
    // The last entry leaves an orphan of its own session: the stop sweeps.
    let table = dir.write(
        "table.tab",
        "once a on-exit=exit:0 -- sh -c 'setsid sleep 100 & exit 0'\n",
    );
    let (up, trace) = (dir.p("up"), dir.p("trace"));
    let script = format!(
        "sh {chain} 20 {up} & while [ ! -e {up} ]; do sleep 0.05; done; \
         strace -qq -e trace=openat -o {trace} {FOSTER} -f {table}",
        chain = chain.display(),
        table = table.display(),
    );
    let st = Command::new("timeout")
        .args([
            "-s",
            "KILL",
            "60",
            "unshare",
            "--pid",
            "--fork",
            "--mount-proc",
        ])
        .args(["sh", "-c", &script])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("unshare");
    assert!(st.success(), "{st:?}");
    let calls = fs::read_to_string(dir.path("trace")).unwrap();
    let sweeps = calls.matches("\"/proc\", O_RDONLY").count();
    let stats = calls
        .lines()
        .filter(|l| l.contains("\"/proc/") && l.contains("/stat\""))
        .count();
    // 23 processes at most (the chain, unshare's sh, foster, the orphan),
    // plus foster's own stat per sweep.
    assert!(sweeps >= 1, "{calls}");
    assert!(
        stats <= sweeps * 30,
        "{stats} stat reads in {sweeps} sweep(s):\n{calls}"
    );
}

/// log=PATH is opened by foster, as root: a symlink the service's user
/// planted at that path (in a log directory it owns, where the kernel's
/// protected_symlinks does not apply) must not make foster append the
/// service's output to a file that user cannot write (/etc/shadow, say).
#[test]
fn log_file_is_not_opened_through_a_planted_symlink() {
    if !is_root() {
        eprintln!("note: not root; skipped");
        return;
    }
    let dir = TempDir::create("subinit", "logsymlink", 0o755);
    let logs = dir.path("logs");
    fs::create_dir(&logs).unwrap();
    std::os::unix::fs::chown(&logs, Some(65534), Some(65534)).unwrap();
    let target = dir.write("root-only", "secret\n");
    fs::set_permissions(&target, fs::Permissions::from_mode(0o600)).unwrap();
    let link = logs.join("web.log");
    let planted = common::as_user(65534, "ln")
        .arg("-s")
        .arg(&target)
        .arg(&link)
        .status()
        .unwrap();
    assert!(planted.success());
    let table = format!(
        "once web user=nobody log={} -- sh -c 'echo INJECTED'\n",
        link.display()
    );
    let mut foster = Foster::start(&dir, &table, &[]);
    assert!(foster.wait_exit(T).success(), "{}", foster.log());
    assert_eq!(
        fs::read_to_string(&target).unwrap(),
        "secret\n",
        "{}",
        foster.log()
    );
    // Refused as any log file that cannot be opened: said, and the output
    // goes to the console.
    let log = foster.log();
    assert!(
        log.contains(&format!("foster: web: unable to open {}: ", link.display()))
            && log.contains("INJECTED"),
        "{log}"
    );
}

/// dir= with user=: the directory is entered as the user, as systemd's
/// WorkingDirectory= is, not as root before the switch: else a `user=nobody`
/// child starts inside a directory nobody may not enter, and reads what is
/// there through its working directory.
#[test]
fn dir_is_entered_as_the_user() {
    if !is_root() {
        eprintln!("note: not root; skipped");
        return;
    }
    let dir = TempDir::new("dirasuser");
    let private = dir.path("private");
    fs::create_dir(&private).unwrap();
    fs::set_permissions(&private, fs::Permissions::from_mode(0o700)).unwrap();
    fs::write(private.join("secret"), "secret\n").unwrap();
    fs::set_permissions(private.join("secret"), fs::Permissions::from_mode(0o644)).unwrap();
    let table = format!(
        "once peek user=nobody dir={} -- sh -c 'cat secret > {}'\n",
        private.display(),
        dir.p("leak"),
    );
    let mut foster = Foster::start(&dir, &table, &[]);
    foster.wait_exit(T);
    let log = foster.log();
    assert!(!dir.path("leak").exists(), "{log}");
    assert!(
        log.contains(&format!(
            "foster: peek: unable to change directory to {}: Permission denied",
            private.display()
        )),
        "{log}"
    );
}

/// A pidfile is read by foster, as root, from wherever its entry's user may
/// write: a symlink planted there must not make foster open what it points
/// to, since opening alone acts on some files (/dev/watchdog arms the
/// watchdog, a tape rewinds). Seen here as the target's inotify IN_OPEN.
#[test]
fn a_pidfile_is_not_opened_through_a_planted_symlink() {
    if !is_root() {
        eprintln!("note: not root; skipped");
        return;
    }
    let dir = TempDir::create("subinit", "pidsymlink", 0o755);
    let own = dir.path("nobody");
    fs::create_dir(&own).unwrap();
    std::os::unix::fs::chown(&own, Some(65534), Some(65534)).unwrap();
    let target = dir.write("device", "");
    let link = own.join("d.pid");
    // SAFETY: plain libc calls on a fd we own and a NUL-terminated path.
    let ino = unsafe { libc::inotify_init1(libc::IN_NONBLOCK | libc::IN_CLOEXEC) };
    assert!(ino >= 0);
    let path = std::ffi::CString::new(target.to_str().unwrap()).unwrap();
    // SAFETY: as above.
    assert!(unsafe { libc::inotify_add_watch(ino, path.as_ptr(), libc::IN_OPEN) } >= 0);
    let table = format!(
        "service d user=nobody pidfile={pf} -- sh -c 'ln -s {t} {pf}'\n",
        pf = link.display(),
        t = target.display(),
    );
    let foster = Foster::start(&dir, &table, &[]);
    // The pidfile is polled while the launcher is gone: wait for its verdict.
    foster.wait_log("d: no live child pid in its pidfile", T);
    let mut buf = [0u8; 256];
    // SAFETY: reads into our buffer, at most its length.
    let n = unsafe { libc::read(ino, buf.as_mut_ptr().cast(), buf.len()) };
    // SAFETY: closes the fd we opened.
    unsafe { libc::close(ino) };
    assert!(
        n < 0,
        "foster opened {} through the symlink",
        target.display()
    );
}

/// A sub-init's stop (SIGTERM, or nothing left) powers nothing off: its
/// `shutdown` entries must not be told `FOSTER_SHUTDOWN=poweroff` (a script
/// that saves the clock or says goodbye on poweroff would act on a lie).
#[test]
fn a_sub_init_stop_is_no_poweroff_for_its_shutdown_entries() {
    let dir = TempDir::new("shutdown-env");
    let table = format!(
        "service svc -- sleep 1000\n\
         shutdown bye -- sh -c 'echo \"[$FOSTER_SHUTDOWN]\" > {out}'\n",
        out = dir.p("out")
    );
    let mut foster = Foster::start(&dir, &table, &[]);
    foster.wait_started("svc", 1, T);
    foster.signal(libc::SIGTERM);
    assert_eq!(foster.wait_exit(T).code(), Some(0), "{}", foster.log());
    let seen = fs::read_to_string(dir.path("out")).unwrap_or_default();
    assert_eq!(seen.trim(), "[exit]", "{}", foster.log());
}

/// A reload that renames log= entries: the new ones start while the removed
/// ones still stop (and still hold their log pipes), so for a moment there
/// are more log= slots than a table holds entries. Each new entry must
/// still log to its file, not to the console.
#[test]
fn renamed_log_entries_log_to_their_files_while_the_old_ones_stop() {
    let dir = TempDir::new("reloadlogs");
    let n = 40;
    let mut v1 = String::new();
    for i in 0..n {
        v1 += &format!(
            "service a{i} timeout=2s log={} -- sh -c 'trap \"\" TERM; echo up; while :; do sleep 0.1; done'\n",
            dir.p(&format!("a{i}.log"))
        );
    }
    let foster = Foster::start(&dir, &v1, &[]);
    assert!(wait_until(T, || (0..n)
        .all(
            |i| fs::read_to_string(dir.path(&format!("a{i}.log"))).is_ok_and(|s| s.contains("up"))
        )));
    let mut v2 = String::new();
    for i in 0..n {
        v2 += &format!(
            "service b{i} log={} -- sh -c 'echo hello; exec sleep 1000'\n",
            dir.p(&format!("b{i}.log"))
        );
    }
    fs::write(&foster.table, v2).unwrap();
    foster.signal(libc::SIGHUP);
    foster.wait_log("table reloaded", T);
    let ok = wait_until(T, || {
        (0..n).all(|i| {
            fs::read_to_string(dir.path(&format!("b{i}.log"))).is_ok_and(|s| s.contains("hello"))
        })
    });
    assert!(ok, "{}", foster.log());
}

/// `-p SIG` whose parent dies before the prctl takes effect: the sub-init
/// sends SIG to itself, as if it came, and stops its services and exits
/// instead of running on without the parent it was tied to. Its second
/// prctl is the parent-death signal's (the subreaper's comes first).
#[test]
fn a_parent_dead_before_prctl_still_stops_the_subinit() {
    let dir = TempDir::new("pdeath-race");
    let table = dir.write("table.tab", "service s -- sleep 1000\n");
    let log = dir.path("log");
    let args = ["-p", "TERM", "-f", table.to_str().unwrap()];
    let Some(pid) = common::orphaned_before_prctl(&args, 2, &log) else {
        eprintln!("note: no strace; skipped");
        return;
    };
    let read = || fs::read_to_string(&log).unwrap_or_default();
    let gone = wait_until(Duration::from_secs(8), || !common::alive(pid));
    if !gone {
        common::kill_tree(pid);
    }
    assert!(gone, "foster {pid} still runs: {}", read());
    assert!(read().contains("s: started"), "{}", read());
    assert!(read().contains("stopping"), "{}", read());
}

/// A `pidfile=` daemon that moves to a new pid (nginx's binary upgrade on
/// SIGUSR2: a new master rewrites the pidfile, then the old one exits 0) is
/// tracked at its new pid, as systemd tracks a Type=forking service: no
/// restart (a second copy, which `ctl stop` could not reach), and `ctl stop`
/// stops the one left. (The old master exits once the pidfile names the new
/// one, as nginx's does, however slowly the new one starts.)
#[test]
fn a_pidfile_daemon_that_moves_to_a_new_pid_is_tracked_not_restarted() {
    let dir = TempDir::new("pidfile-moves");
    let (pf, sock) = (dir.p("d.pid"), dir.p("ctl.sock"));
    let daemon = dir.write(
        "daemon.sh",
        &format!(
            "echo $$ > {pf}\n\
             trap 'setsid sh {d} </dev/null >/dev/null 2>&1 & \
             while [ \"$(cat {pf})\" = $$ ]; do sleep 0.05; done; sleep 0.5; exit 0' USR2\n\
             while :; do sleep 0.05; done\n",
            d = dir.p("daemon.sh"),
        ),
    );
    let table = format!(
        "service d pidfile={pf} -- sh -c 'setsid sh {} </dev/null >/dev/null 2>&1 &'\n",
        daemon.display()
    );
    let foster = Foster::start(&dir, &table, &["-S", &sock]);
    let log = foster.wait_log("adopted from its pidfile", T);
    let first = read_pidfile(Path::new(&pf)).unwrap();
    assert!(
        log.contains(&format!("d: daemon pid {first} adopted")),
        "{log}"
    );
    // SAFETY: kill(2) on the daemon this test's table started.
    unsafe { libc::kill(first, libc::SIGUSR2) };
    let mut second = first;
    let moved = wait_until(T, || {
        second = read_pidfile(Path::new(&pf)).unwrap_or(first);
        second != first && !alive(first)
    });
    assert!(moved, "no upgrade: {}", foster.log());
    // Time for a restart to show, were there one.
    std::thread::sleep(Duration::from_millis(1500));
    let log = foster.log();
    assert!(!log.contains("d: exited"), "{log}");
    assert_eq!(started_pids(&log, "d").len(), 1, "{log}");
    assert!(
        log.contains(&format!("d: daemon pid {second} adopted")),
        "{log}"
    );
    let daemons = || {
        descendants(foster.pid)
            .into_iter()
            .filter(|&p| cmdline(p).contains("daemon.sh"))
            .collect::<Vec<_>>()
    };
    assert_eq!(daemons(), [second], "{log}");
    let out = Command::new(FOSTER)
        .args(["ctl", "-S", &sock, "stop", "d"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(
        wait_until(T, || daemons().is_empty()),
        "{:?} still run: {}",
        daemons(),
        foster.log()
    );
}

/// A `pidfile=` service whose launcher stays in the foreground (`sshd -D`,
/// `nginx -g 'daemon off;'`) and names itself in its pidfile runs: what runs
/// `after=` it starts, and stopping foster stops it.
#[test]
fn a_pidfile_launcher_that_does_not_fork_runs_and_releases_its_dependents() {
    let dir = TempDir::new("pidfile-foreground");
    let pf = dir.p("self.pid");
    let table = format!(
        "service self pidfile={pf} -- sh -c 'echo $$ > {pf}; exec sleep 1000'\n\
         service dep after=self -- sleep 1000\n"
    );
    let mut foster = Foster::start(&dir, &table, &[]);
    let dep = foster.wait_started("dep", 1, T);
    let launcher = foster.started_pid("self").unwrap();
    let log = foster.log();
    assert!(
        log.contains(&format!("self: daemon pid {launcher} adopted")),
        "{log}"
    );
    assert!(alive(launcher) && alive(dep));
    foster.signal(libc::SIGTERM);
    let status = foster.wait_exit(T);
    assert_eq!(status.code(), Some(0), "{}", foster.log());
    assert!(!alive(launcher), "{}", foster.log());
}

/// logrotate's default mode: the log file is moved away (`a.log` to
/// `a.log.1`), then foster gets SIGHUP (its postrotate) with the table
/// unchanged. The lines written before stay in the moved file, the next
/// ones go to a new file at the path, none is lost or written twice. A
/// symlink planted at the path is refused as at a start: the old file
/// keeps getting lines, and foster says why.
#[test]
fn a_reload_reopens_log_files_as_logrotate_expects() {
    let dir = TempDir::new("logrotate");
    let log = dir.path("a.log");
    let table = format!(
        "service w log={} -- sh -c 'i=0; while :; do i=$((i+1)); echo line $i; sleep 0.02; done'\n",
        log.display()
    );
    let mut foster = Foster::start(&dir, &table, &[]);
    let lines = |p: &Path| -> Vec<String> {
        fs::read_to_string(p)
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    };
    let grew = |p: &Path, n: usize| wait_until(T, || lines(p).len() >= n);
    assert!(grew(&log, 5), "{}", foster.log());
    let first = dir.path("a.log.1");
    fs::rename(&log, &first).unwrap();
    // Lines keep coming into the moved file until the reload.
    std::thread::sleep(Duration::from_millis(100));
    foster.signal(libc::SIGHUP);
    foster.wait_log("table reloaded", T);
    // The reopen came before that line: the moved file is done with.
    let before = lines(&first);
    assert!(grew(&log, 5), "no new a.log: {}", foster.log());
    // Rotated again, with a symlink planted at the path: refused.
    let second = dir.path("a.log.2");
    fs::rename(&log, &second).unwrap();
    let victim = dir.path("victim");
    std::os::unix::fs::symlink(&victim, &log).unwrap();
    foster.signal(libc::SIGHUP);
    let text = foster.wait_log("; logging to the old file", T);
    assert!(
        text.contains(&format!(
            "foster: w: unable to open {}: Too many levels of symbolic links; logging to the old file",
            log.display()
        )),
        "{text}"
    );
    let n = lines(&second).len();
    assert!(grew(&second, n + 5), "{}", foster.log());
    foster.signal(libc::SIGTERM);
    assert_eq!(foster.wait_exit(T).code(), Some(0), "{}", foster.log());
    assert!(!victim.exists(), "the symlink was followed");
    assert_eq!(
        lines(&first),
        before,
        "the moved file grew after the reload"
    );
    // Every line once, in order, across the two files.
    let all: Vec<String> = [first, second].iter().flat_map(|p| lines(p)).collect();
    let expected: Vec<String> = (1..=all.len()).map(|i| format!("w: line {i}")).collect();
    assert_eq!(all, expected, "{}", foster.log());
    // Created as at the start: the first file's mode.
    let mode = |p: PathBuf| fs::symlink_metadata(p).unwrap().permissions().mode();
    assert_eq!(mode(dir.path("a.log.2")), mode(dir.path("a.log.1")));
}

/// A table that is a FIFO (`foster -f <(gen)`, a named pipe) is waited for
/// at the start, as `foster check` waits: its writer may write it a moment
/// later, or open it only then.
#[test]
fn a_table_from_a_fifo_is_waited_for_at_the_start() {
    let dir = TempDir::new("fifo-table");
    let ran = dir.path("ran");
    // Process substitution: the writer is there, the text comes later.
    let out = Command::new("timeout")
        .args(["-k", "2", "20", "bash", "-c"])
        .arg("exec \"$0\" -f <(sleep 0.3; printf 'once x -- touch %s\\n' \"$1\")")
        .arg(FOSTER)
        .arg(&ran)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(ran.exists(), "{out:?}");
    // A named pipe whose writer opens it only 300 ms after foster started.
    let fifo = dir.path("table.fifo");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: mkfifo on a NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let ran2 = dir.path("ran2");
    let mut foster = Foster::launch(&[], &fifo, None, &[], &dir.path("foster.log"));
    let text = format!("once y -- touch {}\n", ran2.display());
    let writer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        // Non-blocking: with no reader (a foster that did not wait) the
        // open fails rather than hang the test.
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(2) {
            let f = fs::OpenOptions::new()
                .write(true)
                .custom_flags(libc::O_NONBLOCK)
                .open(&fifo);
            if let Ok(mut f) = f {
                return std::io::Write::write_all(&mut f, text.as_bytes()).is_ok();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    });
    let status = foster.wait_exit(T);
    let wrote = writer.join().unwrap();
    assert!(wrote, "foster never read its table: {}", foster.log());
    assert_eq!(status.code(), Some(0), "{}", foster.log());
    assert!(ran2.exists(), "{}", foster.log());

    // A reload does not read the pipe again (its writer is done: it would
    // read an empty table and stop every entry): refused, the table in
    // force kept, its service running on.
    let out = Command::new("timeout")
        .args(["-k", "2", "20", "bash", "-c"])
        .arg(
            "\"$0\" -f <(printf 'service s -- sleep 1000\\n') & f=$!; sleep 1; kill -HUP $f; \
             sleep 1; kill -0 $f && echo alive; kill -TERM $f; wait $f; echo rc=$?",
        )
        .arg(FOSTER)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("ESPIPE; keeping the running table"), "{text}");
    assert!(text.contains("alive\n"), "{text}");
    assert!(!text.contains("table reloaded"), "{text}");
    assert!(text.contains("rc=0"), "{text}");
}
