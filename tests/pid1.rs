//! foster as PID 1 of a PID namespace (issue 6), driven from outside.
//!
//! Each test runs `unshare --pid --fork --mount --mount-proc` (root: CI runs
//! as root) with a private mount namespace; inside it, a tmpfs is mounted on a
//! fresh directory, filled with busybox-static (every applet linked), foster
//! as `/sbin/foster` (and its `poweroff`/`reboot`/`halt` links) and the test's
//! table, and foster is exec'd in a chroot there (see [`SETUP`]): it is PID 1 of the new
//! namespace, its mounts (/proc, /sys, /dev, /dev/pts, /dev/shm, /run) land
//! in the chroot of a private mount namespace, and reboot(2) there only ends
//! the namespace. Nothing here signals or mounts anything of the host: the
//! harness signals the namespace's init only after checking it is PID 1 of
//! another PID namespace, and every `poweroff`/`reboot`/`halt` runs from an
//! entry of the table, inside.
//!
//! From outside, a namespace whose init calls reboot(2) is seen as its init
//! killed by SIGINT (poweroff, halt) or SIGHUP (reboot); `unshare --fork`
//! re-raises the child's fatal signal on itself, so the test reads it from
//! unshare's own status.
//!
//! Needs: util-linux `unshare`, `chroot`, busybox-static.

mod common;

use common::{is_root, status_field, FOSTER};
use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

const SIGHUP: i32 = libc::SIGHUP;
const SIGINT: i32 = libc::SIGINT;

// ------------------------------------------------------------------ harness

fn busybox() -> &'static str {
    ["/bin/busybox", "/usr/bin/busybox"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("busybox-static is needed (apt-get install busybox-static)")
}

fn base_dir() -> PathBuf {
    std::env::temp_dir().join(format!("foster-tests-pid1-{}", std::process::id()))
}

fn check_root() {
    assert!(is_root(), "PID 1 tests need root (unshare --pid --mount)");
}

/// Builds the namespace's root on a fresh tmpfs, then execs the command in a
/// chroot there: /bin/busybox with every applet linked, /sbin/foster with its
/// `poweroff`/`reboot`/`halt` links, then the test's files. With
/// `PRIVATE_DEV` set, /dev is a tmpfs holding only `null`, as a container
/// runtime's /dev (no console, none of the host's terminals).
const SETUP: &str = "set -e; r=$1 bb=$2 fo=$3 f=$4; shift 4
mount -t tmpfs -o mode=0755 foster-pid1 \"$r\"
for d in bin sbin etc tmp proc sys dev run; do mkdir \"$r/$d\"; done
cp \"$bb\" \"$r/bin/busybox\"
chroot \"$r\" /bin/busybox --install -s /bin
cp \"$fo\" \"$r/sbin/foster\"
for a in poweroff reboot halt; do ln -s foster \"$r/sbin/$a\"; done
cp -a \"$f/.\" \"$r/\"
if [ -n \"$PRIVATE_DEV\" ]; then
  mount -t tmpfs -o mode=0755 foster-dev \"$r/dev\"; mknod -m 666 \"$r/dev/null\" c 1 3
fi
if [ -n \"$FOREIGN_PROC\" ]; then mount --bind /proc \"$r/proc\"; fi
exec chroot \"$r\" \"$@\" 2>&1";

/// What `/proc/PID/ns/pid` points to.
fn pid_ns(pid: &str) -> Option<PathBuf> {
    std::fs::read_link(format!("/proc/{pid}/ns/pid")).ok()
}

/// A process of the namespace, seen from the host.
#[derive(Debug)]
struct Proc {
    pid: i32,
    ppid: i32,
    /// Its pid inside the namespace.
    ns_pid: i32,
    state: char,
    comm: String,
}

/// foster as PID 1 of its own PID and mount namespaces. Dropping it kills
/// the whole namespace (SIGKILL to its init) and unshare.
struct Ns {
    child: Child,
    /// Host pid of the namespace's init (foster, or what it exec'd).
    init: i32,
    ns: PathBuf,
    out: Arc<Mutex<String>>,
    /// The threads copying unshare's stdout and stderr into `out`; they end
    /// at EOF, once every process of the namespace is gone.
    readers: Vec<JoinHandle<()>>,
    dir: PathBuf,
    exited: Option<ExitStatus>,
}

impl Ns {
    /// Starts `/sbin/foster ARGS` as PID 1 in a fresh namespace whose root
    /// holds BusyBox, foster and `files` (path in the root, contents; scripts are
    /// made executable).
    fn start(name: &str, files: &[(&str, &str)], args: &[&str]) -> Ns {
        let argv = [&["/sbin/foster"], args].concat();
        Ns::start_with(name, files, &argv, Stdio::null(), false)
    }

    /// Like [`Ns::start`], with the whole command run in the chroot (which
    /// must exec foster), foster's stdin, and a private /dev (see [`SETUP`]).
    fn start_with(
        name: &str,
        files: &[(&str, &str)],
        argv: &[&str],
        stdin: Stdio,
        private_dev: bool,
    ) -> Ns {
        let mut ns = Ns::launch(name, files, argv, stdin, private_dev, false);
        ns.find_init();
        ns
    }

    /// Like [`Ns::start`], without waiting to see foster run, for a
    /// namespace that ends by itself, maybe at once: it has no
    /// [`Ns::init`] to signal.
    fn spawn(name: &str, files: &[(&str, &str)], args: &[&str]) -> Ns {
        let argv = [&["/sbin/foster"], args].concat();
        Ns::launch(name, files, &argv, Stdio::null(), false, false)
    }

    /// Runs foster with `args` as PID 1 of the namespace (as [`Ns::start`])
    /// to its end, for a foster that may end at once: its status and output.
    fn run_to_end(name: &str, args: &[&str], timeout: Duration) -> (ExitStatus, String) {
        let mut ns = Ns::spawn(name, &[], args);
        let status = ns.wait_exit(timeout);
        (status, ns.output())
    }

    /// The namespace, started; [`Ns::find_init`] then finds foster in it.
    fn launch(
        name: &str,
        files: &[(&str, &str)],
        argv: &[&str],
        stdin: Stdio,
        private_dev: bool,
        foreign_proc: bool,
    ) -> Ns {
        static SEQ: AtomicU32 = AtomicU32::new(0);
        check_root();
        let dir = base_dir().join(format!("{name}-{}", SEQ.fetch_add(1, Ordering::Relaxed)));
        let extra = dir.join("files");
        let root = dir.join("root");
        std::fs::create_dir_all(&root).unwrap();
        std::fs::create_dir_all(&extra).unwrap();
        for (path, text) in files {
            let p = extra.join(path.trim_start_matches('/'));
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, text).unwrap();
            if text.starts_with("#!") {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
            }
        }
        let mut cmd = Command::new("unshare");
        // With a foreign /proc: no /proc of the namespace's own, the host's
        // bound into the root instead (see SETUP).
        let mount_proc = ["--mount-proc"].into_iter().filter(|_| !foreign_proc);
        cmd.args(
            [
                "--pid",
                "--fork",
                "--kill-child",
                "--mount",
                "--propagation",
                "private",
            ]
            .into_iter()
            .chain(mount_proc),
        );
        cmd.args([
            "--", "/bin/sh", "-c",
            // The tmpfs root lives in the private mount namespace only.
            SETUP, "sh",
        ])
        .arg(&root)
        .arg(busybox())
        .arg(FOSTER)
        .arg(&extra)
        .args(argv)
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .stdin(stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        if private_dev {
            cmd.env("PRIVATE_DEV", "1");
        }
        if foreign_proc {
            cmd.env("FOREIGN_PROC", "1");
        }
        // SAFETY: prctl and close_range are async-signal-safe and touch only
        // this child: unshare dies with the test process, and inherits no fds
        // of the test runner.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 0u32);
                Ok(())
            });
        }
        let mut child = cmd.spawn().expect("run unshare");
        let out = Arc::new(Mutex::new(String::new()));
        let mut readers = Vec::new();
        for stream in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let out = Arc::clone(&out);
            readers.push(std::thread::spawn(move || {
                let mut stream = stream;
                let mut buf = [0u8; 4096];
                while let Ok(n) = stream.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    if let Ok(mut o) = out.lock() {
                        o.push_str(&String::from_utf8_lossy(&buf[..n]));
                    }
                }
            }));
        }
        Ns {
            init: 0,
            ns: PathBuf::new(),
            child,
            out,
            readers,
            dir,
            exited: None,
        }
    }

    /// Finds unshare's child once it runs foster as PID 1 of a new namespace.
    fn find_init(&mut self) {
        let unshare = self.child.id();
        let ours = pid_ns("self").expect("read our pid namespace");
        let deadline = Instant::now() + WAIT;
        while Instant::now() < deadline {
            let children =
                std::fs::read_to_string(format!("/proc/{unshare}/task/{unshare}/children"))
                    .unwrap_or_default();
            if let Some(pid) = children.split_whitespace().next() {
                let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
                let ns = pid_ns(pid);
                let pid: i32 = pid.parse().unwrap();
                let nspid = status_field(pid, "NSpid").unwrap_or_default();
                if comm.trim() == "foster" && ns.as_ref().is_some_and(|n| *n != ours) {
                    assert!(
                        nspid.split_whitespace().last() == Some("1"),
                        "foster is not PID 1 of its namespace (NSpid {nspid})"
                    );
                    self.init = pid;
                    self.ns = ns.unwrap();
                    return;
                }
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                self.exited = Some(status);
                panic!("unshare ended early: {status:?}\n{}", self.output());
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        panic!("foster did not start as PID 1\n{}", self.output());
    }

    fn output(&self) -> String {
        self.out.lock().map(|o| o.clone()).unwrap_or_default()
    }

    /// Waits until the output contains `needle`; panics with the output if not.
    fn expect(&self, needle: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let out = self.output();
            if out.contains(needle) {
                return out;
            }
            assert!(
                Instant::now() < deadline,
                "no {needle:?} within {timeout:?}\n--- output ---\n{out}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Sends `sig` to the namespace's init, after checking that it is still
    /// the PID 1 of our child namespace (never the host's init).
    fn signal(&self, sig: i32) {
        assert!(self.init > 1, "no namespace init to signal");
        assert_eq!(
            pid_ns(&self.init.to_string()).as_ref(),
            Some(&self.ns),
            "the namespace's init is gone"
        );
        // SAFETY: kill has no memory preconditions; the target was checked above.
        let r = unsafe { libc::kill(self.init, sig) };
        assert_eq!(r, 0, "kill({}, {sig})", self.init);
    }

    /// Waits for unshare to end (its status mirrors the namespace init's),
    /// then for the output threads to have copied all the namespace wrote:
    /// its last lines may still be in the pipe when unshare is reaped.
    fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                self.exited = Some(status);
                // EOF comes with the namespace's end; bounded all the same.
                common::wait_until(WAIT, || self.readers.iter().all(|r| r.is_finished()));
                for r in std::mem::take(&mut self.readers) {
                    if r.is_finished() {
                        let _ = r.join();
                    }
                }
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the namespace did not end within {timeout:?}\n--- output ---\n{}",
                self.output()
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Waits for the end of the namespace and checks its init was killed by
    /// `sig`, as reboot(2) in a child PID namespace does.
    fn expect_end_by(&mut self, sig: i32, timeout: Duration) {
        let status = self.wait_exit(timeout);
        assert_eq!(
            status.signal(),
            Some(sig),
            "expected the namespace init killed by signal {sig}, got {status:?}\n{}",
            self.output()
        );
    }

    /// Every process of the namespace, read from the host's /proc.
    fn procs(&self) -> Vec<Proc> {
        let mut v = Vec::new();
        for e in std::fs::read_dir("/proc").unwrap().flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let Ok(pid) = name.parse::<i32>() else {
                continue;
            };
            if pid_ns(&name).as_ref() != Some(&self.ns) {
                continue;
            }
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                continue;
            };
            // "pid (comm) S ppid ...": comm may hold blanks; split at the last ')'.
            let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
                continue;
            };
            let rest: Vec<&str> = stat[close + 1..].split_whitespace().collect();
            let ns_pid = status_field(pid, "NSpid")
                .and_then(|s| s.split_whitespace().last().and_then(|p| p.parse().ok()))
                .unwrap_or(0);
            v.push(Proc {
                pid,
                ppid: rest.get(1).and_then(|p| p.parse().ok()).unwrap_or(0),
                ns_pid,
                state: rest.first().and_then(|s| s.chars().next()).unwrap_or('?'),
                comm: stat[open + 1..close].to_string(),
            });
        }
        v
    }

    /// A file in the namespace's root, read through /proc/INIT/root.
    fn root_path(&self, path: &str) -> PathBuf {
        PathBuf::from(format!("/proc/{}/root", self.init)).join(path.trim_start_matches('/'))
    }

    /// The mount points of the namespace's init, relative to its root.
    fn mounts(&self) -> Vec<(String, String)> {
        let info =
            std::fs::read_to_string(format!("/proc/{}/mountinfo", self.init)).unwrap_or_default();
        info.lines()
            .filter_map(|l| {
                let f: Vec<&str> = l.split(' ').collect();
                let dash = f.iter().position(|x| *x == "-")?;
                Some((f.get(4)?.to_string(), f.get(dash + 1)?.to_string()))
            })
            .collect()
    }
}

impl Drop for Ns {
    fn drop(&mut self) {
        if self.exited.is_none() {
            if self.init > 1 && pid_ns(&self.init.to_string()).as_ref() == Some(&self.ns) {
                // SAFETY: the namespace's init, checked just above.
                unsafe { libc::kill(self.init, libc::SIGKILL) };
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        if std::thread::panicking() {
            eprintln!("--- namespace output ---\n{}", self.output());
        }
        let _ = std::fs::remove_dir_all(&self.dir);
        // The last one out removes the (then empty) base directory.
        let _ = std::fs::remove_dir(base_dir());
    }
}

/// Position of `needle` in `out`, or a panic showing `out`.
fn pos(out: &str, needle: &str) -> usize {
    out.find(needle)
        .unwrap_or_else(|| panic!("no {needle:?} in the output\n{out}"))
}

fn in_order(out: &str, needles: &[&str]) {
    for w in needles.windows(2) {
        assert!(
            pos(out, w[0]) < pos(out, w[1]),
            "{:?} should come before {:?}\n{out}",
            w[0],
            w[1]
        );
    }
}

const S: Duration = Duration::from_secs(1);

/// How long something that must happen may take on a loaded machine: a
/// deadline for a failing test only, never a bound on foster's behaviour.
const WAIT: Duration = Duration::from_secs(30);

/// A service that says when it is up (on its stdout, and with a file
/// /tmp/up-NAME for the other entries, see [`after_up`]) and when SIGTERM
/// stops it. Both come once its trap is set.
fn svc(name: &str, opts: &str) -> String {
    format!(
        "service {name} {opts} -- /bin/sh -c 'trap \"echo stop-{name}; exit 0\" TERM; \
         echo up-{name}; : >/tmp/up-{name}; while :; do sleep 1 & wait; done'\n"
    )
}

/// Shell words that wait until [`svc`] `name` has set its trap: an entry
/// that starts a shutdown must not race the service's shell start-up (a
/// SIGTERM before the trap kills it silently, with no `stop-NAME`).
fn after_up(name: &str) -> String {
    format!("while [ ! -e /tmp/up-{name} ]; do sleep 0.05; done")
}

const SHUTDOWN_ENTRY: &str =
    "shutdown sd -- /bin/sh -c 'echo shutdown-entry FOSTER_SHUTDOWN=$FOSTER_SHUTDOWN'\n";

/// The host's own mounts of the API filesystems: foster must not change them.
fn host_api_mounts() -> Vec<String> {
    let info = std::fs::read_to_string("/proc/1/mountinfo").unwrap_or_default();
    let mut v: Vec<String> = info
        .lines()
        .filter(|l| {
            let mp = l.split(' ').nth(4).unwrap_or("");
            matches!(
                mp,
                "/" | "/proc" | "/sys" | "/dev" | "/dev/pts" | "/dev/shm" | "/run"
            )
        })
        .map(String::from)
        .collect();
    v.sort();
    v
}

// -------------------------------------------------------------------- tests

#[test]
fn the_table_runs_in_order_with_private_mounts() {
    let host_before = host_api_mounts();
    let table = format!(
        "sysinit s1 -- /bin/sh -c 'sleep 0.3; echo sysinit-1'\n\
         sysinit s2 -- /bin/echo sysinit-2\n\
         wait w1 -- /bin/sh -c 'sleep 0.2; echo wait-1'\n\
         once o1 -- /bin/echo once-1\n\
         {}{}\
         once probe -- /bin/sh -c 'echo path=$PATH; cat /proc/1/comm; echo self=$$'\n",
        svc("b", "after=a"),
        svc("a", ""),
    );
    let mut ns = Ns::start(
        "order",
        &[("etc/foster.tab", &table)],
        &["-f", "/etc/foster.tab"],
    );
    for needle in ["once-1", "up-b", "self="] {
        ns.expect(needle, WAIT);
    }
    let out = ns.expect("up-a", WAIT);
    assert!(out.contains("starting as PID 1 of a container"), "{out}");
    in_order(&out, &["sysinit-1", "sysinit-2", "wait-1", "once-1"]);
    in_order(&out, &["wait-1", "o1: started", "a: started", "b: started"]);
    let out = ns.expect("self=", WAIT);
    assert!(
        out.contains("\nfoster\n"),
        "/proc/1/comm is not foster\n{out}"
    );
    assert!(out.contains("path=/usr/sbin:"), "{out}");

    // foster's mounts: in the namespace's chroot only.
    let mounts = ns.mounts();
    for (target, fstype) in [
        ("/proc", "proc"),
        ("/sys", "sysfs"),
        ("/dev", "devtmpfs"),
        ("/dev/pts", "devpts"),
        ("/dev/shm", "tmpfs"),
        ("/run", "tmpfs"),
    ] {
        assert!(
            mounts.iter().any(|(t, f)| t == target && f == fstype),
            "{target} ({fstype}) not mounted in the namespace: {mounts:?}"
        );
    }
    assert!(
        ns.root_path("/run/foster.sock").exists(),
        "no control socket in the namespace's /run"
    );
    ns.signal(libc::SIGUSR2);
    ns.expect_end_by(SIGINT, WAIT);
    let own = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(
        !own.contains(ns.dir.to_str().unwrap()),
        "a namespace mount leaked into the test's mount namespace:\n{own}"
    );
    assert_eq!(host_api_mounts(), host_before, "the host's mounts changed");
}

#[test]
fn orphans_of_double_forked_daemons_are_reaped() {
    let table = "\
once spawner -- /bin/sh -c 'for i in 1 2 3 4 5 6 7 8 9; do (sh -c \"sleep 0.$i; exit $i\" &); done; \
(exec sleep 100 &); (exec sleep 100 &); echo spawned'
service storm -- /bin/sh -c 'while :; do (true &); (true &); sleep 0.05; done'
";
    let ns = Ns::start(
        "orphans",
        &[("etc/foster.tab", table)],
        &["-f", "/etc/foster.tab"],
    );
    ns.expect("spawned", WAIT);
    // The short-lived orphans (`sh -c "sleep 0.N; exit N"`) end within a
    // second, and the double-forked sleeps come to PID 1.
    common::wait_for(WAIT, "the short-lived orphans' end", || {
        ns.procs()
            .iter()
            .all(|p| p.state == 'Z' || !common::cmdline(p.pid).contains("; exit "))
    });
    common::wait_for(WAIT, "the double-forked sleeps", || {
        let procs = ns.procs();
        let sleeps = procs
            .iter()
            .filter(|p| p.comm == "sleep" && p.ppid == ns.init);
        sleeps.count() >= 2
    });
    // A zombie of PID 1 that is still there a second later was never reaped
    // (a single snapshot may catch one between its exit and foster's wait).
    let zombies = |procs: &[Proc]| -> Vec<i32> {
        procs
            .iter()
            .filter(|p| p.state == 'Z' && p.ppid == ns.init)
            .map(|p| p.pid)
            .collect()
    };
    let first = zombies(&ns.procs());
    std::thread::sleep(Duration::from_millis(1000));
    let procs = ns.procs();
    let lasting: Vec<&Proc> = procs
        .iter()
        .filter(|p| first.contains(&p.pid) && zombies(&procs).contains(&p.pid))
        .collect();
    assert!(lasting.is_empty(), "unreaped zombies of PID 1: {lasting:?}");
    let daemons: Vec<&Proc> = procs
        .iter()
        .filter(|p| p.comm == "sleep" && p.ppid == ns.init)
        .collect();
    assert!(
        daemons.len() >= 2,
        "the double-forked sleeps were not re-parented to PID 1: {procs:?}"
    );
    assert!(procs.iter().any(|p| p.ns_pid == 1 && p.pid == ns.init));
    let mut ns = ns;
    ns.signal(libc::SIGTERM);
    ns.expect_end_by(SIGHUP, WAIT);
}

/// USR2 / TERM / USR1 / PWR: services stop dependents first (c runs after
/// b, b after a), the shutdown entry sees FOSTER_SHUTDOWN, the namespace
/// ends by the matching signal.
fn shutdown_by(sig: i32, word: &str, ends_by: i32) {
    let table = format!(
        "{}{}{}{SHUTDOWN_ENTRY}",
        svc("a", ""),
        svc("b", "after=a"),
        svc("c", "after=b")
    );
    let mut ns = Ns::start(
        word,
        &[("etc/foster.tab", &table)],
        &["-f", "/etc/foster.tab"],
    );
    ns.expect("up-c", WAIT);
    ns.expect("up-a", WAIT);
    ns.expect("up-b", WAIT);
    // Start order is table order; wait until the last one is started.
    ns.expect("c: started", WAIT);
    let t = Instant::now();
    ns.signal(sig);
    ns.expect_end_by(ends_by, WAIT);
    let took = t.elapsed();
    let out = ns.output();
    let entry = format!("shutdown-entry FOSTER_SHUTDOWN={word}");
    in_order(&out, &["stop-c", "stop-b", "stop-a", &entry]);
    let announce = match word {
        "poweroff" => "foster: powering off",
        "reboot" => "foster: rebooting",
        _ => "foster: halting",
    };
    assert!(out.contains(announce), "{out}");
    eprintln!("shutdown of 3 services by signal {sig}: {took:?}");
    assert!(took < 3 * S, "shutdown took {took:?}\n{out}");
}

#[test]
fn usr2_powers_off() {
    shutdown_by(libc::SIGUSR2, "poweroff", SIGINT);
}

#[test]
fn term_reboots() {
    shutdown_by(libc::SIGTERM, "reboot", SIGHUP);
}

#[test]
fn usr1_halts() {
    shutdown_by(libc::SIGUSR1, "halt", SIGINT);
}

#[test]
fn pwr_powers_off() {
    shutdown_by(libc::SIGPWR, "poweroff", SIGINT);
}

#[test]
fn stubborn_processes_delay_shutdown_only_by_their_bounds() {
    // A service that ignores SIGTERM (timeout=1s), and an orphan that ignores
    // it too (the 2 s TERM grace, then SIGKILL).
    let table = format!(
        "service stubborn timeout=1s -- /bin/sh -c \"trap '' TERM; echo up-stubborn; \
         while :; do sleep 1; done\"\n\
         once orphan -- /bin/sh -c \"(trap '' TERM; exec sleep 100 &); echo orphaned\"\n\
         {}{SHUTDOWN_ENTRY}",
        svc("a", "")
    );
    let mut ns = Ns::start(
        "stubborn",
        &[("etc/foster.tab", &table)],
        &["-f", "/etc/foster.tab"],
    );
    ns.expect("up-stubborn", WAIT);
    ns.expect("orphaned", WAIT);
    ns.expect("up-a", WAIT);
    let t = Instant::now();
    ns.signal(libc::SIGUSR2);
    ns.expect_end_by(SIGINT, WAIT);
    let took = t.elapsed();
    let out = ns.output();
    eprintln!("shutdown with a stubborn service (1 s) and orphan (2 s grace): {took:?}");
    assert!(
        out.contains("stubborn: did not stop in time; sending SIGKILL"),
        "{out}"
    );
    assert!(
        out.contains("processes left after SIGTERM; sending SIGKILL"),
        "{out}"
    );
    in_order(
        &out,
        &[
            "stop-a",
            "did not stop in time",
            "shutdown-entry",
            "processes left",
        ],
    );
    assert!(
        took >= Duration::from_millis(2900),
        "bounds not honoured: {took:?}\n{out}"
    );
    assert!(
        took < Duration::from_millis(4500),
        "shutdown overstayed 1 s + 2 s: {took:?}\n{out}"
    );
}

#[test]
fn a_stubborn_service_alone_costs_its_timeout() {
    // The shell execs its sleep: nothing outlives the SIGKILL (a child of
    // the shell that ignores SIGTERM too would be a leftover that earns the
    // 2 s grace of its own, up to its end).
    let table = "service stubborn timeout=1s -- /bin/sh -c \"trap '' TERM; echo up-stubborn; \
                 exec sleep 1000\"\n";
    let mut ns = Ns::start(
        "stubborn1",
        &[("etc/foster.tab", table)],
        &["-f", "/etc/foster.tab"],
    );
    ns.expect("up-stubborn", WAIT);
    let t = Instant::now();
    ns.signal(libc::SIGTERM);
    ns.expect_end_by(SIGHUP, WAIT);
    let took = t.elapsed();
    eprintln!("shutdown with a stubborn service (timeout=1s): {took:?}");
    // Under 3 s: no 2 s grace on top of the timeout, with nothing left.
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_millis(2500),
        "{took:?}\n{}",
        ns.output()
    );
}

#[test]
fn busybox_inittab_lines_work_as_pid_1() {
    let inittab = "\
# BusyBox syntax: id:runlevels:action:process
::sysinit:/bin/echo bb-sysinit
::wait:/bin/echo bb-wait
::once:/bin/echo bb-once
::respawn:/bin/sh -c 'echo bb-respawn-$$; sleep 0.3'
::respawn:/bin/false
::shutdown:/bin/echo bb-shutdown $FOSTER_SHUTDOWN
::ctrlaltdel:/bin/echo bb-cad
";
    // No arguments: PID 1 reads /etc/inittab.
    let mut ns = Ns::start("busybox", &[("etc/inittab", inittab)], &[]);
    let out = ns.expect("bb-once", WAIT);
    in_order(&out, &["bb-sysinit", "bb-wait", "bb-once"]);
    // The respawn entry comes back (the crash-looping one does not stop it).
    let deadline = Instant::now() + WAIT;
    while ns.output().matches("bb-respawn-").count() < 2 {
        assert!(Instant::now() < deadline, "no respawn\n{}", ns.output());
        std::thread::sleep(Duration::from_millis(20));
    }
    ns.signal(libc::SIGINT);
    ns.expect("bb-cad", WAIT);
    ns.signal(libc::SIGTERM);
    ns.expect_end_by(SIGHUP, WAIT);
    assert!(
        ns.output().contains("bb-shutdown reboot"),
        "{}",
        ns.output()
    );
}

#[test]
fn sighup_reloads_the_table() {
    let table = format!("{}{}", svc("a", ""), svc("b", ""));
    let mut ns = Ns::start(
        "reload",
        &[("etc/foster.tab", &table)],
        &["-f", "/etc/foster.tab"],
    );
    ns.expect("up-a", WAIT);
    ns.expect("up-b", WAIT);
    // a unchanged, b removed, c new (after a: it stops first).
    let new = format!("{}{}", svc("a", ""), svc("c", "after=a"));
    std::fs::write(ns.root_path("/etc/foster.tab"), new).unwrap();
    ns.signal(libc::SIGHUP);
    ns.expect("up-c", WAIT);
    let out = ns.expect("stop-b", WAIT);
    assert!(out.contains("table reloaded"), "{out}");
    assert_eq!(out.matches("up-a").count(), 1, "a was restarted\n{out}");
    // A table with an error is rejected whole.
    std::fs::write(
        ns.root_path("/etc/foster.tab"),
        "service d bogus=1 -- /bin/true\n",
    )
    .unwrap();
    ns.signal(libc::SIGHUP);
    ns.expect("reload rejected", WAIT);
    std::thread::sleep(Duration::from_millis(200));
    assert!(!ns.output().contains("stop-a"), "{}", ns.output());
    ns.signal(libc::SIGUSR2);
    ns.expect_end_by(SIGINT, WAIT);
    in_order(&ns.output(), &["reload rejected", "stop-c", "stop-a"]);
}

/// A poweroff while a reload's removed entries still stop, `db` held for
/// `web` (after it, slow to stop until /tmp/go): the orderly stop takes
/// them over, `web` before `db`, then the shutdown entry, and PID 1 ends.
#[test]
fn a_poweroff_while_removed_entries_still_stop_keeps_their_order() {
    let web = "service web after=db timeout=20s -- /bin/sh -c 'trap \"while [ ! -e /tmp/go ]; \
               do sleep 0.05; done; echo stop-web; exit 0\" TERM; echo up-web; \
               while :; do sleep 1 & wait; done'\n";
    let table = format!("{}{web}{}{SHUTDOWN_ENTRY}", svc("db", ""), svc("keep", ""));
    let mut ns = Ns::start(
        "reload-held",
        &[("etc/foster.tab", &table)],
        &["-f", "/etc/foster.tab"],
    );
    ns.expect("up-web", WAIT);
    ns.expect("up-keep", WAIT);
    let new = format!("{}{SHUTDOWN_ENTRY}", svc("keep", ""));
    std::fs::write(ns.root_path("/etc/foster.tab"), new).unwrap();
    ns.signal(libc::SIGHUP);
    ns.expect("table reloaded", WAIT);
    ns.signal(libc::SIGUSR2);
    ns.expect("powering off", WAIT);
    // web goes on only once keep has stopped: under load, keep's shell may
    // run its trap after web's, which proves nothing about foster.
    ns.expect("stop-keep", WAIT);
    std::fs::write(ns.root_path("/tmp/go"), "").unwrap();
    ns.expect_end_by(SIGINT, WAIT);
    let out = ns.output();
    in_order(
        &out,
        &["stop-keep", "stop-web", "stop-db", "shutdown-entry"],
    );
    assert_eq!(out.matches("stop-db").count(), 1, "{out}");
}

/// An inittab line BusyBox skips (an action it does not know, such as a
/// sysvinit `initdefault`) is reported and skipped at a reload too, as at
/// boot and as BusyBox does: the rest of the table is applied, not rejected.
#[test]
fn sighup_skips_unknown_busybox_actions_and_applies_the_rest() {
    let table = format!("id:3:initdefault:\n{}", svc("a", ""));
    let mut ns = Ns::start("reload-initdefault", &[("etc/inittab", &table)], &[]);
    ns.expect("up-a", WAIT);
    let new = format!("id:3:initdefault:\n{}{}", svc("a", ""), svc("b", ""));
    std::fs::write(ns.root_path("/etc/inittab"), new).unwrap();
    ns.signal(libc::SIGHUP);
    let out = ns.expect("up-b", WAIT);
    assert!(out.contains("table reloaded"), "{out}");
    assert!(!out.contains("reload rejected"), "{out}");
    assert_eq!(out.matches("up-a").count(), 1, "a was restarted\n{out}");
    ns.signal(libc::SIGUSR1);
    ns.expect_end_by(SIGINT, WAIT);
}

#[test]
fn sighup_looks_for_etc_inittab_again() {
    // Booted with no /etc/inittab: BusyBox's default table. One written
    // later is read at the next SIGHUP, and its removal brings the default
    // back, as BusyBox init re-reads it.
    let mut ns = Ns::start("inittab-later", &[], &[]);
    ns.expect("no /etc/inittab: using BusyBox's default table", WAIT);
    std::fs::write(
        ns.root_path("/etc/inittab"),
        format!("{}::once:/bin/echo from-inittab\n", svc("a", "")),
    )
    .unwrap();
    ns.signal(libc::SIGHUP);
    ns.expect("from-inittab", WAIT);
    ns.expect("up-a", WAIT);
    std::fs::remove_file(ns.root_path("/etc/inittab")).unwrap();
    ns.signal(libc::SIGHUP);
    let out = ns.expect("stop-a", WAIT);
    assert_eq!(
        out.matches("no /etc/inittab: using BusyBox's default table")
            .count(),
        2,
        "{out}"
    );
    ns.signal(libc::SIGUSR1);
    ns.expect_end_by(SIGINT, WAIT);
}

/// A PID 1 whose /proc is not its namespace's own (the host's, bound in:
/// `unshare -pf` without `--mount-proc`) is a container's all the same: the
/// host's PID 2 there is `kthreadd`, but foster is not PID 1 of that /proc.
/// As the machine's init it would write the host's printk settings and, at
/// its end, remount the host's filesystems read-only. The namespace is
/// killed, not shut down: a foster that got this wrong must not reach its
/// end here.
#[test]
fn a_foreign_proc_still_means_a_container() {
    let files = [("etc/inittab", "::respawn:/bin/sleep 1000\n")];
    let argv = ["/sbin/foster"];
    let mut ns = Ns::launch("foreign-proc", &files, &argv, Stdio::null(), false, true);
    ns.find_init();
    let out = ns.expect("console.respawn: started", WAIT);
    assert!(out.contains("starting as PID 1 of a container"), "{out}");
}

/// A container has no virtual terminals of its own: with no /etc/inittab,
/// BusyBox's default table runs without its `tty2`..`tty4` lines, which
/// would ask on the host's terminals (the devtmpfs foster mounts shows
/// them); the console line still asks on foster's stdio.
#[test]
fn a_containers_default_table_leaves_the_host_terminals_alone() {
    let mut ns = Ns::start("default-vt", &[], &[]);
    let out = ns.expect("console.askfirst: started", WAIT);
    std::thread::sleep(Duration::from_millis(300));
    let ttys: Vec<String> = ns
        .procs()
        .iter()
        .filter_map(|p| std::fs::read_link(format!("/proc/{}/fd/0", p.pid)).ok())
        .map(|l| l.display().to_string())
        .filter(|l| l.contains("/tty"))
        .collect();
    assert!(ttys.is_empty(), "stdin on terminals: {ttys:?}\n{out}");
    assert!(!ns.output().contains("tty2.askfirst"), "{}", ns.output());
    ns.signal(libc::SIGUSR1);
    ns.expect_end_by(SIGINT, WAIT);
}

#[test]
fn sigint_runs_the_ctrlaltdel_entries() {
    let table = format!("{}ctrlaltdel cad -- /bin/echo cad-ran\n", svc("a", ""));
    let mut ns = Ns::start(
        "cad",
        &[("etc/foster.tab", &table)],
        &["-f", "/etc/foster.tab"],
    );
    ns.expect("up-a", WAIT);
    ns.signal(libc::SIGINT);
    ns.expect("cad-ran", WAIT);
    // A press while the entry still runs is ignored (as BusyBox): let it end
    // and be reaped (foster notes the end as it reaps).
    common::wait_for(WAIT, "the ctrlaltdel entry's end", || {
        !ns.procs().iter().any(|p| p.comm == "echo")
    });
    ns.signal(libc::SIGINT);
    let deadline = Instant::now() + WAIT;
    while ns.output().matches("cad-ran").count() < 2 {
        assert!(
            Instant::now() < deadline,
            "second Ctrl-Alt-Del\n{}",
            ns.output()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // Still running: Ctrl-Alt-Del is only what the table says.
    assert!(!ns.output().contains("stop-a"));
    assert!(ns.child.try_wait().unwrap().is_none());
    ns.signal(libc::SIGUSR2);
    ns.expect_end_by(SIGINT, WAIT);
}

#[test]
fn sigquit_execs_the_restart_entry_as_pid_1() {
    let table = format!(
        "{}{SHUTDOWN_ENTRY}restart re -- /bin/sh -c 'echo restarted-as-$$; exec sleep 100'\n",
        svc("a", "")
    );
    let mut ns = Ns::start(
        "restart",
        &[("etc/foster.tab", &table)],
        &["-f", "/etc/foster.tab"],
    );
    ns.expect("up-a", WAIT);
    ns.signal(libc::SIGQUIT);
    let out = ns.expect("restarted-as-", WAIT);
    assert!(out.contains("restarted-as-1\n"), "{out}");
    in_order(&out, &["stop-a", "restarted-as-1"]);
    // Same process, now running the restart entry.
    let deadline = Instant::now() + WAIT;
    loop {
        let comm = std::fs::read_to_string(format!("/proc/{}/comm", ns.init)).unwrap_or_default();
        if comm.trim() == "sleep" {
            break;
        }
        assert!(Instant::now() < deadline, "PID 1 is {comm:?}\n{out}");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        status_field(ns.init, "NSpid").and_then(|s| s.split_whitespace().last().map(String::from)),
        Some("1".into())
    );
    assert!(
        ns.child.try_wait().unwrap().is_none(),
        "the namespace ended"
    );
}

/// An entry runs `cmd` inside the namespace (once service `a` is up);
/// returns the namespace's output once it ends by `ends_by`. The line
/// `running CMD at T` and the shutdown entry's line end with the namespace's
/// uptime (see [`uptime_at`]).
fn applet_run(name: &str, cmd: &str, ends_by: i32) -> String {
    let script = format!(
        "#!/bin/sh\n{}\nread up _ </proc/uptime\necho running {cmd} at $up\nexec {cmd}\n",
        after_up("a")
    );
    let table = format!(
        "{}shutdown sd -- /bin/sh -c 'read up _ </proc/uptime; \
         echo shutdown-entry FOSTER_SHUTDOWN=$FOSTER_SHUTDOWN at $up'\n\
         once trigger -- /bin/trigger\n",
        svc("a", "")
    );
    let mut ns = Ns::spawn(
        name,
        &[("etc/foster.tab", &table), ("bin/trigger", &script)],
        &["-f", "/etc/foster.tab"],
    );
    ns.expect_end_by(ends_by, WAIT);
    ns.output()
}

/// The uptime (seconds) that ends the output's line starting with `head`:
/// times taken inside the namespace, free of the test's own delays.
fn uptime_at(out: &str, head: &str) -> f64 {
    out.lines()
        .find(|l| l.starts_with(head))
        .and_then(|l| l.rsplit(" at ").next()?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {head:?} line with a time\n{out}"))
}

#[test]
fn fosters_poweroff_applet_signals_pid_1() {
    let out = applet_run("f-poweroff", "/sbin/poweroff", SIGINT);
    in_order(&out, &["stop-a", "shutdown-entry FOSTER_SHUTDOWN=poweroff"]);
}

#[test]
fn fosters_reboot_and_halt_applets_signal_pid_1() {
    let out = applet_run("f-reboot", "/sbin/reboot", SIGHUP);
    in_order(&out, &["stop-a", "shutdown-entry FOSTER_SHUTDOWN=reboot"]);
    let out = applet_run("f-halt", "/sbin/halt", SIGINT);
    in_order(&out, &["stop-a", "shutdown-entry FOSTER_SHUTDOWN=halt"]);
}

#[test]
fn fosters_applets_with_f_call_reboot_at_once() {
    // -f: reboot(2) from the applet itself ends the namespace; no shutdown sequence.
    let out = applet_run("f-reboot-f", "/sbin/reboot -f", SIGHUP);
    assert!(out.contains("running /sbin/reboot -f"), "{out}");
    assert!(
        !out.contains("stop-a") && !out.contains("shutdown-entry"),
        "{out}"
    );
    let out = applet_run("f-poweroff-f", "/sbin/poweroff -f -n", SIGINT);
    assert!(!out.contains("shutdown-entry"), "{out}");
}

#[test]
fn fosters_applets_take_bundled_flags_as_busybox_does() {
    // `-nf`: forced, no sync; BusyBox's getopt takes bundled flags.
    let out = applet_run("f-poweroff-nf", "/sbin/poweroff -nf", SIGINT);
    assert!(out.contains("running /sbin/poweroff -nf"), "{out}");
    assert!(!out.contains("shutdown-entry"), "{out}");
    // `-d1`: the delay glued to its flag; then the orderly halt.
    let out = applet_run("f-halt-d1", "/sbin/halt -d1", SIGINT);
    in_order(&out, &["stop-a", "shutdown-entry FOSTER_SHUTDOWN=halt"]);
    // From the exec of `halt -d1` to the shutdown entry, on the namespace's
    // clock (/proc/uptime, in hundredths: 0.995 is 1 s).
    let took = uptime_at(&out, "shutdown-entry") - uptime_at(&out, "running ");
    assert!(took >= 0.995, "{took} s\n{out}");
}

#[test]
fn a_user_far_down_a_long_passwd_file_is_found() {
    // 1,000 accounts (44 KB of passwd, 24 KB of group) before the one named.
    let mut passwd = String::from("root:x:0:0:root:/root:/bin/sh\n");
    let mut group = String::from("root:x:0:\n");
    for i in 0..1000 {
        passwd.push_str(&format!(
            "user{i}:x:{}:{}::/home/user{i}:/bin/sh\n",
            2000 + i,
            2000 + i
        ));
        group.push_str(&format!("group{i}:x:{}:user{i}\n", 2000 + i));
    }
    passwd.push_str("late:x:4321:4322::/:/bin/sh\n");
    group.push_str("lateg:x:4322:\nextra:x:4323:late\n");
    let table = "once who user=late -- /bin/sh -c 'echo ids=$(id -u):$(id -g):$(id -G)'\n";
    let ns = Ns::start(
        "long-passwd",
        &[
            ("etc/foster.tab", table),
            ("etc/passwd", &passwd),
            ("etc/group", &group),
        ],
        &["-f", "/etc/foster.tab"],
    );
    ns.expect("ids=4321:4322:4322 4323", WAIT);
}

#[test]
fn an_unreadable_group_file_is_named_in_the_report() {
    // /etc/passwd reads; /etc/group, a directory, does not: the child's
    // one-line reason names the file that failed, not /etc/passwd.
    let table = "sysinit mk -- /bin/mkdir /etc/group\n\
                 once who user=late -- /bin/echo switched\n";
    let ns = Ns::start(
        "group-dir",
        &[
            ("etc/foster.tab", table),
            (
                "etc/passwd",
                "root:x:0:0::/:/bin/sh\nlate:x:4321:4321::/:/bin/sh\n",
            ),
        ],
        &["-f", "/etc/foster.tab"],
    );
    let out = ns.expect("who: exited with status 126", WAIT);
    assert!(out.contains("who: unable to read /etc/group: "), "{out}");
    assert!(!out.contains("switched"), "{out}");
}

#[test]
fn busybox_poweroff_reboot_halt_applets_work_with_foster() {
    for (applet, word, sig) in [
        ("/bin/poweroff", "poweroff", SIGINT),
        ("/bin/reboot", "reboot", SIGHUP),
        ("/bin/halt", "halt", SIGINT),
    ] {
        let out = applet_run(&format!("bb-{word}"), applet, sig);
        let entry = format!("shutdown-entry FOSTER_SHUTDOWN={word}");
        in_order(&out, &["stop-a", &entry]);
    }
}

#[test]
fn the_restart_entry_can_exec_foster_again() {
    let table = format!(
        "{}restart re -- /sbin/foster -f /etc/second.tab\n",
        svc("a", "")
    );
    let second = format!(
        "once hi -- /bin/echo second-table\n{}{SHUTDOWN_ENTRY}",
        svc("b", "")
    );
    let mut ns = Ns::start(
        "reexec",
        &[("etc/foster.tab", &table), ("etc/second.tab", &second)],
        &["-f", "/etc/foster.tab"],
    );
    ns.expect("up-a", WAIT);
    ns.signal(libc::SIGQUIT);
    ns.expect("second-table", WAIT);
    let out = ns.expect("up-b", WAIT);
    assert_eq!(out.matches("starting as PID 1").count(), 2, "{out}");
    assert!(!out.contains("unable to"), "{out}");
    ns.signal(libc::SIGUSR2);
    ns.expect_end_by(SIGINT, WAIT);
    assert!(ns.output().contains("FOSTER_SHUTDOWN=poweroff"));
}

#[test]
fn pid_1_children_get_busybox_default_environment() {
    // SHELL, USER and HOME are set when the kernel (or the caller) did not
    // pass them, and never replaced when it did (BusyBox 1.35 overwrites
    // them: README's decision).
    let table = "once e -- /bin/sh -c 'echo env:$SHELL:$USER:$HOME:'\n";
    let argv = [
        "/bin/env",
        "USER=me",
        "/sbin/foster",
        "-f",
        "/etc/foster.tab",
    ];
    let mut ns = Ns::start_with(
        "default-env",
        &[("etc/foster.tab", table)],
        &argv,
        Stdio::null(),
        false,
    );
    let out = ns.expect("env:", WAIT);
    assert!(out.contains("env:/bin/sh:me:/:"), "{out}");
    ns.signal(libc::SIGUSR2);
    ns.expect_end_by(SIGINT, WAIT);
}

#[test]
fn pid_1_children_get_vt102_on_a_console_that_is_no_vt() {
    // As BusyBox init's console_init: on stdio that is not a Linux VT (here
    // /dev/null; a serial port or a pty alike) TERM becomes vt102 when none
    // was passed or the kernel's default `linux` was; any other is kept.
    // (On a VT an unset TERM becomes `linux`: no VT here to show it.)
    let table = "once e -- /bin/sh -c 'echo term:$TERM:'\n";
    for (given, want) in [
        (None, "term:vt102:"),
        (Some("TERM=linux"), "term:vt102:"),
        (Some("TERM=xterm"), "term:xterm:"),
    ] {
        let mut argv = vec!["/bin/env"];
        argv.extend(given);
        argv.extend(["/sbin/foster", "-f", "/etc/foster.tab"]);
        let mut ns = Ns::start_with(
            "term",
            &[("etc/foster.tab", table)],
            &argv,
            Stdio::null(),
            false,
        );
        let out = ns.expect("term:", 5 * S);
        assert!(out.contains(want), "{given:?}: {out}");
        ns.signal(libc::SIGUSR2);
        ns.expect_end_by(SIGINT, 10 * S);
    }
}

#[test]
fn shutdown_during_a_hung_sysinit_is_bounded() {
    let table = format!(
        "sysinit hang timeout=1s -- /bin/sh -c 'echo hanging; exec sleep 100'\n{}{SHUTDOWN_ENTRY}",
        svc("a", "")
    );
    let mut ns = Ns::start(
        "hung",
        &[("etc/foster.tab", &table)],
        &["-f", "/etc/foster.tab"],
    );
    ns.expect("hanging", WAIT);
    let t = Instant::now();
    ns.signal(libc::SIGTERM);
    ns.expect_end_by(SIGHUP, WAIT);
    let out = ns.output();
    assert!(
        !out.contains("up-a"),
        "a service started during shutdown\n{out}"
    );
    assert!(out.contains("FOSTER_SHUTDOWN=reboot"), "{out}");
    eprintln!("shutdown during a hung sysinit: {:?}", t.elapsed());
    assert!(t.elapsed() < 3 * S, "{:?}\n{out}", t.elapsed());
}

#[test]
fn an_on_exit_entry_reports_its_status_and_powers_off() {
    let table = format!(
        "{}{SHUTDOWN_ENTRY}once t on-exit=poweroff -- /bin/sh -c '{}; exit 3'\n",
        svc("a", ""),
        after_up("a")
    );
    let mut ns = Ns::spawn(
        "on-exit",
        &[("etc/foster.tab", &table)],
        &["-f", "/etc/foster.tab"],
    );
    ns.expect_end_by(SIGINT, WAIT);
    let out = ns.output();
    in_order(
        &out,
        &[
            "foster: exit-status t 3",
            "stop-a",
            "FOSTER_SHUTDOWN=poweroff",
        ],
    );
}

#[test]
fn a_second_signal_during_shutdown_changes_only_how_it_ends() {
    // The service's stop lasts until the test has sent the second signal
    // (/tmp/go): the SIGTERM is pending for foster before the service ends.
    let table = format!(
        "service slow timeout=20s -- /bin/sh -c 'trap \"while [ ! -e /tmp/go ]; do sleep 0.05; done; \
         echo stop-slow; exit 0\" TERM; echo up-slow; while :; do sleep 1 & wait; done'\n\
         {SHUTDOWN_ENTRY}"
    );
    let mut ns = Ns::start(
        "twice",
        &[("etc/foster.tab", &table)],
        &["-f", "/etc/foster.tab"],
    );
    ns.expect("up-slow", WAIT);
    ns.signal(libc::SIGUSR2);
    ns.expect("powering off", WAIT);
    ns.signal(libc::SIGTERM);
    std::fs::write(ns.root_path("/tmp/go"), "").unwrap();
    ns.expect_end_by(SIGHUP, WAIT);
    let out = ns.output();
    assert_eq!(out.matches("stop-slow").count(), 1, "{out}");
    assert_eq!(out.matches("shutdown-entry").count(), 1, "{out}");
    // The change is announced: the console said "powering off".
    in_order(&out, &["foster: powering off", "foster: rebooting"]);
}

#[test]
fn pid_1_without_a_runnable_table_keeps_going() {
    // A table that cannot be read, then one whose every line is bad: PID 1
    // says so, stays up, and still shuts down on request.
    for (name, files, args) in [
        ("missing", vec![], vec!["-f", "/etc/missing.tab"]),
        (
            "all-bad",
            vec![("etc/foster.tab", "service x bogus=1 -- /bin/true\n")],
            vec!["-f", "/etc/foster.tab"],
        ),
    ] {
        let mut ns = Ns::start(name, &files, &args);
        ns.expect("reaping orphans only", WAIT);
        std::thread::sleep(Duration::from_millis(300));
        assert!(ns.child.try_wait().unwrap().is_none(), "{}", ns.output());
        ns.signal(libc::SIGUSR1);
        ns.expect_end_by(SIGINT, WAIT);
    }
}

#[test]
fn on_exit_exit_code_ends_a_container_with_that_code() {
    // A container's runtime reports its init's exit status: with
    // `on-exit=exit:CODE`, foster as a container's PID 1 exits with CODE
    // after the orderly stop (a VM powers off instead).
    let table = format!(
        "{}{SHUTDOWN_ENTRY}once t on-exit=exit:5 -- /bin/sh -c '{}; exit 0'\n",
        svc("a", ""),
        after_up("a")
    );
    let mut ns = Ns::spawn(
        "exit-code",
        &[("etc/foster.tab", &table)],
        &["-f", "/etc/foster.tab"],
    );
    let status = ns.wait_exit(WAIT);
    assert_eq!(status.code(), Some(5), "{status:?}\n{}", ns.output());
    in_order(&ns.output(), &["stop-a", "FOSTER_SHUTDOWN=poweroff"]);
}

/// The kernel hands init the command-line words it does not know (`splash`,
/// `quiet`-like flags of other programs): as PID 1 foster ignores them and
/// supervises, instead of trying to exec them and exiting (a kernel panic).
#[test]
fn unknown_kernel_words_are_ignored_not_executed() {
    let table = "once hello -- /bin/echo kernel-words-ignored\n";
    let mut ns = Ns::start(
        "kwords",
        &[("etc/words.tab", table)],
        &["splash", "-f", "/etc/words.tab", "nomodeset"],
    );
    ns.expect("kernel-words-ignored", WAIT);
    ns.signal(libc::SIGUSR2);
    ns.expect_end_by(SIGINT, WAIT);
}

/// `--` never comes from the kernel: `foster -- CMD` as PID 1 is
/// single-command mode whatever else it sees, so a missing CMD is exit 127
/// (as tini), even in a root with no /proc mounted, which otherwise says
/// "booted by the kernel" (foster supervised BusyBox's default table there,
/// askfirst shells on the consoles of the devtmpfs it mounted, for ever).
#[test]
fn dash_dash_with_a_missing_command_exits_127_even_without_proc() {
    let mut ns = Ns::spawn("dashdash", &[], &["--", "/nonexistent"]);
    let status = ns.wait_exit(WAIT);
    assert_eq!(status.code(), Some(127), "{status:?}\n{}", ns.output());
    assert!(ns.output().contains("/nonexistent"), "{}", ns.output());
}

/// A pseudo-terminal: the test keeps the master, foster gets the slave as
/// its stdin (a console, or `docker run -t`'s terminal).
struct Pty {
    master: std::fs::File,
    slave: Option<std::os::fd::OwnedFd>,
}

impl Pty {
    fn open() -> Pty {
        use std::os::fd::FromRawFd;
        // SAFETY: plain libc calls on fds this function owns; ptsname_r
        // writes a NUL-terminated name into the buffer it is given.
        unsafe {
            let m = libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY | libc::O_NONBLOCK);
            assert!(m >= 0, "posix_openpt");
            assert_eq!(libc::grantpt(m), 0);
            assert_eq!(libc::unlockpt(m), 0);
            let mut name = [0 as libc::c_char; 64];
            assert_eq!(libc::ptsname_r(m, name.as_mut_ptr(), name.len()), 0);
            let s = libc::open(name.as_ptr(), libc::O_RDWR | libc::O_NOCTTY);
            assert!(s >= 0, "open the pty slave");
            Pty {
                master: std::fs::File::from_raw_fd(m),
                slave: Some(std::os::fd::OwnedFd::from_raw_fd(s)),
            }
        }
    }

    /// The slave, as a child's stdin (once).
    fn stdin(&mut self) -> Stdio {
        Stdio::from(self.slave.take().expect("slave already given"))
    }

    /// Reads what the terminal shows until it contains `needle`.
    fn expect(&mut self, needle: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        let mut seen = String::new();
        let mut buf = [0u8; 1024];
        while !seen.contains(needle) {
            match self.master.read(&mut buf) {
                Ok(n) if n > 0 => seen.push_str(&String::from_utf8_lossy(&buf[..n])),
                _ => {
                    assert!(
                        Instant::now() < deadline,
                        "no {needle:?} on the terminal within {timeout:?}: {seen:?}"
                    );
                    std::thread::sleep(Duration::from_millis(10));
                }
            }
        }
        seen
    }
}

#[test]
fn the_restart_entry_runs_on_its_tty() {
    // As BusyBox: the entry's terminal becomes its stdio before the exec
    // (foster's own stdout is a pipe here, the tty a pty).
    let mut pty = Pty::open();
    let table = "once hi -- /bin/echo table-up\n\
                 restart re tty=/proc/1/fd/0 -- /bin/sh -c 'echo restarted-on-tty; exec sleep 100'\n";
    let argv = ["/sbin/foster", "-f", "/etc/foster.tab"];
    let ns = Ns::start_with(
        "restart-tty",
        &[("etc/foster.tab", table)],
        &argv,
        pty.stdin(),
        false,
    );
    ns.expect("table-up", WAIT);
    ns.signal(libc::SIGQUIT);
    pty.expect("restarted-on-tty", WAIT);
}

#[test]
fn the_restart_entry_gets_its_env_dir_and_umask() {
    let table = "once hi -- /bin/echo table-up\n\
                 restart re env=R=1 env='S=a b' dir=/etc umask=027 -- \
                 /bin/sh -c 'echo \"restarted R=$R S=$S in $(pwd) umask $(umask)\"; exec sleep 100'\n";
    let ns = Ns::start(
        "restart-env",
        &[("etc/foster.tab", table)],
        &["-f", "/etc/foster.tab"],
    );
    ns.expect("table-up", WAIT);
    ns.signal(libc::SIGQUIT);
    let out = ns.expect("restarted R=", WAIT);
    assert!(
        out.contains("restarted R=1 S=a b in /etc umask 0027\n"),
        "{out}"
    );
}

/// A restart entry whose exec fails: the failure names the program, and
/// PID 1 halts, as BusyBox init does (not a reboot that could loop).
#[test]
fn a_restart_entry_that_fails_to_exec_is_named_and_halts() {
    let table = "once hi -- /bin/echo table-up\nrestart re -- /no/such-init\n";
    let mut ns = Ns::start(
        "restart-exec-fails",
        &[("etc/foster.tab", table)],
        &["-f", "/etc/foster.tab"],
    );
    ns.expect("table-up", WAIT);
    ns.signal(libc::SIGQUIT);
    let out = ns.expect("unable to exec the restart entry /no/such-init", WAIT);
    assert!(out.contains("No such file or directory"), "{out}");
    ns.expect_end_by(SIGINT, WAIT);
}

#[test]
fn a_restart_entry_whose_tty_fails_to_open_runs_anyway() {
    let table = "once hi -- /bin/echo table-up\n\
                 restart re tty=/dev/no-such-tty -- /bin/sh -c 'echo restarted-$$; exec sleep 100'\n";
    let ns = Ns::start(
        "restart-no-tty",
        &[("etc/foster.tab", table)],
        &["-f", "/etc/foster.tab"],
    );
    ns.expect("table-up", WAIT);
    ns.signal(libc::SIGQUIT);
    let out = ns.expect("restarted-1", WAIT);
    assert!(out.contains("unable to open /dev/no-such-tty"), "{out}");
}

#[test]
fn an_askfirst_entry_waiting_for_enter_stops_at_once() {
    // As BusyBox: the entry waits for Enter with default signal handling, so
    // a shutdown's SIGTERM ends it at once, not after its timeout and SIGKILL.
    let mut pty = Pty::open();
    let table = "askfirst ask tty=/proc/1/fd/0 -- /bin/sh -c 'echo shell-up; exec sleep 100'\n";
    let argv = ["/sbin/foster", "-f", "/etc/foster.tab"];
    let mut ns = Ns::start_with(
        "askfirst-stop",
        &[("etc/foster.tab", table)],
        &argv,
        pty.stdin(),
        false,
    );
    pty.expect("Please press Enter to activate this console.", WAIT);
    let t = Instant::now();
    ns.signal(libc::SIGUSR2);
    ns.expect_end_by(SIGINT, WAIT);
    let out = ns.output();
    assert!(!out.contains("did not stop in time"), "{out}");
    assert!(!out.contains("shell-up"), "{out}");
    eprintln!("shutdown with an askfirst entry waiting: {:?}", t.elapsed());
    assert!(t.elapsed() < 2 * S, "{:?}\n{out}", t.elapsed());
}

#[test]
fn askfirst_in_a_container_asks_on_the_inherited_terminal() {
    // A container's /dev has none of the host's terminals, and the console
    // device sysfs names is the host's: with no `tty=`, the entry asks on
    // the terminal foster was given, as BusyBox init does (`docker run -t`).
    let mut pty = Pty::open();
    let table = "askfirst ask -- /bin/sh -c 'echo shell-up-$$'\n";
    let argv = ["/sbin/foster", "-f", "/etc/foster.tab"];
    let mut ns = Ns::start_with(
        "askfirst-container",
        &[("etc/foster.tab", table)],
        &argv,
        pty.stdin(),
        true,
    );
    ns.expect("Please press Enter to activate this console.", WAIT);
    pty.master.write_all(b"\n").unwrap();
    let out = ns.expect("shell-up-", WAIT);
    assert!(!out.contains("unable to open"), "{out}");
    ns.signal(libc::SIGUSR2);
    ns.expect_end_by(SIGINT, WAIT);
}

#[test]
fn closed_stdio_without_a_console_is_filled_with_dev_null() {
    // No /dev/console to open (a container's /dev): fds 0-2 must still be
    // taken, as BusyBox init does, or foster's own signalfd, epoll and
    // socket land there and children start without stdio.
    let fds = init_fds_started_with("closed-stdio", "", "<&- >&- 2>&-", true);
    assert_eq!(fds, "/dev/null\n/dev/null\n/dev/null\n");
}

/// A container's PID 1 with a closed fd takes /dev/null for it, never
/// /dev/console: the devtmpfs foster mounts there is the host's, and so is
/// its console.
#[test]
fn a_container_init_never_takes_the_console_for_a_closed_fd() {
    let fds = init_fds_started_with("closed-stdin", "", "<&-", false);
    assert_eq!(fds.lines().next(), Some("/dev/null"));
}

/// The same with a console node in the container's /dev and no /proc yet
/// (a hand-made chroot): no /proc reads as "the kernel's init", which
/// took /dev/console (the host's) for the closed fd before /proc told.
#[test]
fn a_container_init_without_proc_never_takes_its_console_node() {
    let mknod = "mknod -m 600 /dev/console c 5 1 && ";
    let fds = init_fds_started_with("console-node", mknod, "<&-", true);
    assert_eq!(fds.lines().next(), Some("/dev/null"));
}

/// What fds 0-2 of a PID 1 started with `redirect` (closing some of them)
/// point to once its table runs; `pre`: shell words run before it, in its
/// root; `private_dev`: a /dev of its own, with only /dev/null in it.
fn init_fds_started_with(name: &str, pre: &str, redirect: &str, private_dev: bool) -> String {
    let table = "once probe -- /bin/sh -c \
                 'for i in 0 1 2; do readlink /proc/1/fd/$i; done > /tmp/fds; echo x > /tmp/done'\n";
    let command = format!("{pre}exec /sbin/foster -f /etc/foster.tab {redirect}");
    let argv = ["/bin/sh", "-c", &command];
    let mut ns = Ns::start_with(
        name,
        &[("etc/foster.tab", table)],
        &argv,
        Stdio::null(),
        private_dev,
    );
    let done = ns.root_path("/tmp/done");
    common::wait_for(WAIT, "the probe", || done.exists());
    let fds = std::fs::read_to_string(ns.root_path("/tmp/fds")).unwrap();
    ns.signal(libc::SIGUSR2);
    ns.expect_end_by(SIGINT, WAIT);
    fds
}

/// `ENTRYPOINT ["/foster", "-v", "--"]`: as a container's PID 1, a leading
/// `-v` before a command is single-command mode's (tini's `-v`), not the
/// supervisor's, which would ignore the command and run the default table.
#[test]
fn a_leading_v_before_a_command_is_single_command_mode() {
    for args in [
        &["-v", "/bin/sh", "-c", "sleep 0.3; exit 3"][..],
        &["-v", "--", "/bin/sh", "-c", "sleep 0.3; exit 3"],
    ] {
        let mut ns = Ns::spawn("single-v", &[], args);
        let status = ns.wait_exit(WAIT);
        assert_eq!(status.code(), Some(3), "{args:?}\n{}", ns.output());
        assert!(ns.output().contains("foster: child exited with 3"));
    }
}

/// As PID 1, `-v` says the leftovers' SIGTERM went to every process (one
/// `kill(-1)`, which counts nobody): it said "(0 descendants)" and then
/// reaped them.
#[test]
fn a_pid1_sweep_is_told_as_every_process_not_a_count() {
    let args = [
        "-v",
        "-t",
        "5",
        "--",
        "/bin/sh",
        "-c",
        "sleep 100 & sleep 100 & sleep 0.3; exit 4",
    ];
    // A container's /dev (`null` only): the shell's background jobs read it.
    let argv = [&["/sbin/foster"][..], &args].concat();
    let mut ns = Ns::launch("single-v-sweep", &[], &argv, Stdio::null(), true, false);
    let status = ns.wait_exit(WAIT);
    assert_eq!(status.code(), Some(4), "{}", ns.output());
    let out = ns.output();
    assert!(
        out.contains("foster: sent SIGTERM to every process left"),
        "{out}"
    );
    assert!(!out.contains("descendants"), "{out}");
    assert_eq!(out.matches("foster: reaped orphan").count(), 2, "{out}");
}

/// A container's stderr is a pipe to the runtime's log collector: when that
/// stops reading, foster's own lines are dropped (as a sub-init's are) and
/// supervision goes on; a blocking write there froze PID 1 for good.
#[test]
fn a_stalled_stderr_reader_does_not_freeze_a_container_init() {
    // A crash loop fills the pipe (64 KB) with foster's lines in a second or two.
    let table = "service crash backoff=1ms..1ms -- /bin/false\n";
    // The FIFO's only reader never reads.
    let argv = [
        "/bin/sh",
        "-c",
        "mkfifo /tmp/log; sleep 1000 </tmp/log & exec /sbin/foster -f /etc/foster.tab >/tmp/log 2>&1",
    ];
    let mut ns = Ns::start_with(
        "stalled-stderr",
        &[("etc/foster.tab", table)],
        &argv,
        Stdio::null(),
        true,
    );
    let fifo = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(ns.root_path("/tmp/log"))
        .unwrap();
    let queued = || {
        let mut n: libc::c_int = 0;
        // SAFETY: FIONREAD writes one int to `n`; the fd is open.
        unsafe {
            libc::ioctl(
                std::os::fd::AsRawFd::as_raw_fd(&fifo),
                libc::FIONREAD,
                &mut n,
            )
        };
        n
    };
    // Lines fill the pipe page by page: the last page may keep a line's room.
    common::wait_for(WAIT, "a full stderr pipe", || queued() > 65536 - 2048);
    let sock = ns.root_path("/run/foster.sock");
    let restarts = || {
        let mut s = std::os::unix::net::UnixStream::connect(&sock).unwrap();
        s.set_read_timeout(Some(WAIT)).unwrap();
        s.write_all(b"status\n").unwrap();
        let mut reply = String::new();
        let _ = s.read_to_string(&mut reply);
        assert!(reply.ends_with("ok\n"), "no status reply: {reply:?}");
        let row = reply
            .lines()
            .find(|l| l.starts_with("entry\tcrash\t"))
            .unwrap();
        row.split('\t').nth(5).unwrap().parse::<u64>().unwrap()
    };
    let first = restarts();
    common::wait_for(WAIT, "more restarts", || restarts() > first);
    ns.signal(libc::SIGUSR2);
    ns.expect_end_by(SIGINT, WAIT);
}

/// A container's PID 1 in single-command mode exits with its command's
/// status even when a PID 2 is still there (a process `docker exec`/nsenter
/// put in the namespace, its parent outside): only the kernel's own init
/// powers off, and a container's never remounts its root read-only or calls
/// reboot(2).
#[test]
fn a_single_command_container_init_exits_even_with_a_pid_2_left() {
    // The command waits on a FIFO made before foster starts, with no fork
    // (`read` is a builtin): nothing of the namespace takes a pid meanwhile.
    let argv = [
        "/bin/sh",
        "-c",
        "mkfifo /tmp/go && exec /sbin/foster -- /bin/sh -c 'read x </tmp/go; exit 3'",
    ];
    let mut ns = Ns::start_with("single-pid2", &[], &argv, Stdio::null(), false);
    common::wait_for(WAIT, "foster's child", || {
        ns.procs().iter().any(|p| p.ppid == ns.init)
    });
    let target = ns.init.to_string();
    // The next pid of the namespace is 2 (long free: the setup's commands
    // are gone); the process that takes it is the nsenter's child, not foster's.
    let set = Command::new("nsenter")
        .args(["-t", &target, "-p", "--", "/bin/sh", "-c"])
        .arg("echo 1 >/proc/sys/kernel/ns_last_pid")
        .status()
        .unwrap();
    assert!(set.success());
    let mut pid2 = Command::new("nsenter")
        .args(["-t", &target, "-p", "--", "sleep", "30"])
        .spawn()
        .unwrap();
    common::wait_for(WAIT, "a PID 2 in the namespace", || {
        ns.procs()
            .iter()
            .any(|p| p.ns_pid == 2 && p.comm == "sleep")
    });
    // Read-write: the open never blocks, and the line waits in the FIFO
    // for the reader as long as this end is open.
    let mut go = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(ns.root_path("/tmp/go"))
        .unwrap();
    go.write_all(b"go\n").unwrap();
    let status = ns.wait_exit(WAIT);
    drop(go);
    let _ = pid2.kill();
    let _ = pid2.wait();
    assert_eq!(status.code(), Some(3), "{status:?}\n{}", ns.output());
    assert!(!ns.output().contains("exit-status init"), "{}", ns.output());
}

/// `-p SIG` is single-command mode's: alone, as a container's PID 1, it is
/// that mode missing its command (exit 2), not the supervisor.
#[test]
fn a_lone_p_option_is_single_command_mode_missing_its_command() {
    let (status, out) = Ns::run_to_end("lone-p", &["-p", "TERM"], WAIT);
    assert_eq!(status.code(), Some(2), "{out}");
    assert!(out.contains("no command given"), "{out}");
}

/// A container's PID 1 with no children left still sends its SIGTERM to
/// every process at shutdown: one kill(-1) also reaches processes that are
/// not its descendants (put in by `docker exec`/nsenter), which would
/// otherwise only die of the namespace's SIGKILL.
#[test]
fn shutdown_terms_processes_that_are_not_pid_1s_descendants() {
    let mut ns = Ns::start(
        "nsenter-term",
        &[("etc/foster.tab", "once o -- /bin/true\n")],
        &["-f", "/etc/foster.tab"],
    );
    ns.expect("nothing left to run", WAIT);
    let target = ns.init.to_string();
    let mut guest = Command::new("nsenter")
        .args(["-t", &target, "-p", "--", "sleep", "30"])
        .spawn()
        .unwrap();
    common::wait_for(WAIT, "the nsenter'd sleep", || {
        ns.procs().iter().any(|p| p.comm == "sleep")
    });
    ns.signal(libc::SIGUSR2);
    ns.expect_end_by(SIGINT, WAIT);
    // nsenter dies of what killed its child.
    let status = guest.wait().unwrap();
    assert_eq!(
        status.signal(),
        Some(libc::SIGTERM),
        "{status:?}\n{}",
        ns.output()
    );
}

/// An orphan PID 1 adopts once it had no child left (a daemon started by
/// `docker exec`/nsenter, whose parent is outside the namespace) is one of
/// its children all the same: the shutdown's SIGTERM gives it its grace to
/// clean up, not an immediate end with the namespace.
#[test]
fn an_orphan_adopted_after_the_last_child_ended_gets_its_sigterm_grace() {
    let mut ns = Ns::start(
        "adopted-grace",
        &[("etc/foster.tab", "once o -- /bin/true\n")],
        &["-f", "/etc/foster.tab"],
    );
    ns.expect("nothing left to run", WAIT);
    let target = ns.init.to_string();
    let guest = Command::new("nsenter")
        .args(["-t", &target, "-p", "--", "/bin/sh", "-c"])
        .arg(
            "(trap 'sleep 0.3; echo daemon-cleaned-up; exit 0' TERM; \
             while :; do sleep 0.05; done) >&2 & exit 0",
        )
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let init = ns.init;
    // Adopted, and past its `trap`: its loop's `sleep` runs (a SIGTERM
    // before the trap would end it at once, with nothing to show).
    common::wait_for(WAIT, "the daemon adopted by PID 1, in its loop", || {
        let procs = ns.procs();
        procs.iter().any(|d| {
            d.ppid == init
                && d.comm == "sh"
                && procs.iter().any(|c| c.ppid == d.pid && c.comm == "sleep")
        })
    });
    ns.signal(libc::SIGUSR2);
    ns.expect_end_by(SIGINT, WAIT);
    let out = guest.wait_with_output().unwrap();
    let daemon = String::from_utf8_lossy(&out.stderr);
    assert!(
        daemon.contains("daemon-cleaned-up"),
        "the adopted daemon got no grace: {daemon:?}\n{}",
        ns.output()
    );
}

/// A BusyBox `respawn` line running `name` (as [`svc`]: says when it is up
/// and when SIGTERM stops it).
fn bb_svc(name: &str) -> String {
    format!(
        "::respawn:/bin/sh -c 'trap \"echo stop-{name}; exit 0\" TERM; echo up-{name}; \
         while :; do sleep 1 & wait; done'\n"
    )
}

#[test]
fn a_busybox_reload_keeps_lines_by_command_and_tty_not_by_position() {
    // BusyBox init matches the lines of a reloaded inittab by command and
    // tty (new_init_action: "prevents losing running RESPAWNs"): a line
    // added above the others starts, the others keep running, and a `once`
    // line already run does not run again.
    let v1 = format!("::once:/bin/echo once-a\n{}", bb_svc("r1"));
    let mut ns = Ns::start("bb-reload-insert", &[("etc/inittab", &v1)], &[]);
    ns.expect("up-r1", WAIT);
    ns.expect("once-a", WAIT);
    let v2 = format!(
        "::once:/bin/echo once-b\n::once:/bin/echo once-a\n{}{}",
        bb_svc("r0"),
        bb_svc("r1")
    );
    std::fs::write(ns.root_path("/etc/inittab"), v2).unwrap();
    ns.signal(libc::SIGHUP);
    // A restart of r1 would stop it before r0 starts in r1's old place.
    let out = ns.expect("up-r0", WAIT);
    assert!(!out.contains("stop-r1"), "r1 was restarted\n{out}");
    assert_eq!(out.matches("up-r1").count(), 1, "{out}");
    assert_eq!(out.matches("once-a").count(), 1, "once-a ran again\n{out}");
    ns.signal(libc::SIGUSR2);
    ns.expect_end_by(SIGINT, WAIT);
}

#[test]
fn busybox_ctrlaltdel_lines_run_in_order_each_waited() {
    // BusyBox runs ctrlaltdel lines as it runs sysinit ones: in order, each
    // waited for (`::ctrlaltdel:/bin/umount -a -r` then `::ctrlaltdel:/sbin/reboot`).
    let inittab = format!(
        "{}::ctrlaltdel:/bin/sh -c 'sleep 0.3; : >/tmp/cad1-done'\n\
         ::ctrlaltdel:/bin/sh -c 'if [ -e /tmp/cad1-done ]; then echo cad2-after-cad1; \
         else echo cad2-too-early; fi'\n",
        bb_svc("a")
    );
    let mut ns = Ns::start("bb-cad-order", &[("etc/inittab", &inittab)], &[]);
    ns.expect("up-a", WAIT);
    ns.signal(libc::SIGINT);
    let out = ns.expect("cad2-", WAIT);
    assert!(out.contains("cad2-after-cad1"), "{out}");
    ns.signal(libc::SIGUSR2);
    ns.expect_end_by(SIGINT, WAIT);
}

#[test]
fn a_crash_looping_busybox_line_restarts_at_busybox_pace() {
    // BusyBox init restarts a `respawn` line at most once a second, however
    // often it failed (a getty on a console whose user keeps failing to log
    // in comes back within a second), where a native service's backoff
    // doubles up to 30 s. Times are the namespace's /proc/uptime.
    let inittab = "::respawn:/bin/sh -c 'read up _ </proc/uptime; echo start-at $up; exit 1'\n";
    let mut ns = Ns::start("bb-respawn-pace", &[("etc/inittab", inittab)], &[]);
    let starts = |out: &str| -> Vec<f64> {
        out.lines()
            .filter_map(|l| l.strip_prefix("start-at ")?.trim().parse().ok())
            .collect()
    };
    // Seven starts: the backoff has reached its cap by the last gap.
    common::wait_for(WAIT, "seven starts", || starts(&ns.output()).len() >= 7);
    let t = starts(&ns.output());
    let gap = t[6] - t[5];
    assert!(
        gap < 2.0,
        "{gap} s between the 6th and 7th start\n{}",
        ns.output()
    );
    ns.signal(libc::SIGUSR2);
    ns.expect_end_by(SIGINT, WAIT);
}

#[test]
fn a_busybox_reload_keeps_every_copy_of_a_repeated_line() {
    // Two identical lines (two shells on the console) both run: a line
    // added above them must restart neither, as BusyBox matches each new
    // line to an old one not matched yet.
    let v1 = format!("{}{}", bb_svc("d"), bb_svc("d"));
    let mut ns = Ns::start("bb-reload-dup", &[("etc/inittab", &v1)], &[]);
    common::wait_for(WAIT, "two up-d", || {
        ns.output().matches("up-d").count() >= 2
    });
    let v2 = format!("{}{}{}", bb_svc("n"), bb_svc("d"), bb_svc("d"));
    std::fs::write(ns.root_path("/etc/inittab"), v2).unwrap();
    ns.signal(libc::SIGHUP);
    ns.expect("up-n", WAIT);
    // A replaced copy is stopped before the reload's new entries start.
    let out = ns.output();
    assert!(!out.contains("stop-d"), "a copy of d was restarted\n{out}");
    assert_eq!(out.matches("up-d").count(), 2, "{out}");
    ns.signal(libc::SIGUSR2);
    ns.expect_end_by(SIGINT, WAIT);
}

#[test]
fn a_busybox_reload_keeps_a_repeated_line_when_a_line_above_goes() {
    // The generated names shift down when the line above goes: each copy
    // must still find a running one of its own.
    let v1 = format!("{}{}{}", bb_svc("x"), bb_svc("d"), bb_svc("d"));
    let mut ns = Ns::start("bb-reload-dup-del", &[("etc/inittab", &v1)], &[]);
    ns.expect("up-x", WAIT);
    common::wait_for(WAIT, "two up-d", || {
        ns.output().matches("up-d").count() >= 2
    });
    let v2 = format!("{}{}", bb_svc("d"), bb_svc("d"));
    std::fs::write(ns.root_path("/etc/inittab"), v2).unwrap();
    ns.signal(libc::SIGHUP);
    let out = ns.expect("stop-x", WAIT);
    // Any restart of a copy of d is begun by then (removed entries stop at once).
    assert!(!out.contains("stop-d"), "a copy of d was restarted\n{out}");
    ns.signal(libc::SIGUSR2);
    ns.expect_end_by(SIGINT, WAIT);
    assert_eq!(ns.output().matches("up-d").count(), 2, "{}", ns.output());
}
