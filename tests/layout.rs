//! The binary's code segments (build.rs, `layout`): cold (other modes, the
//! end, error reports, a child's set-up), warm (what runs when something
//! happens) and hot. A page fault maps the pages around it but never past
//! its own mapping, so what a running foster has resident follows what it
//! ran. These tests run a sub-init and read, per segment, what is resident
//! (/proc/PID/smaps): a hot path that calls into cold or warm code (a
//! function moved, renamed into a listed name, or a new call) fails here.

mod common;

use common::{wait_for, Foster, TempDir, FOSTER};
use std::fs;
use std::process::Command;
use std::time::Duration;

impl TempDir {
    fn new(name: &str) -> TempDir {
        TempDir::create("layout", name, 0o755)
    }
}

/// Resident kB (smaps' `Rss:`) of each mapping of `pid` whose header line,
/// split into words ("start-end perms offset dev inode [path]"), `pick`s.
fn resident_kb(pid: i32, pick: &dyn Fn(&[&str]) -> bool) -> (Vec<u64>, String) {
    let smaps = fs::read_to_string(format!("/proc/{pid}/smaps")).unwrap();
    let mut out = Vec::new();
    let mut picked = false;
    for line in smaps.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields
            .first()
            .is_some_and(|f| f.contains('-') && !f.ends_with(':'))
        {
            picked = pick(&fields);
        } else if picked && fields.first() == Some(&"Rss:") {
            out.push(fields[1].parse().unwrap());
        }
    }
    (out, smaps)
}

/// Resident kB of each mapping of the foster binary in `pid`: (cold, warm,
/// hot). In the file (and by address) warm comes first, with the headers:
/// see build.rs, `layout`.
fn segments(pid: i32) -> (u64, u64, u64) {
    let exe = fs::canonicalize(FOSTER).unwrap();
    let exe = exe.to_str().unwrap();
    let (out, smaps) = resident_kb(pid, &|f| f.last() == Some(&exe));
    assert_eq!(
        out.len(),
        3,
        "three mappings of the binary expected:\n{smaps}"
    );
    (out[1], out[0], out[2])
}

/// Resident kB of foster's one anonymous mapping: the runtime's reserved
/// state (`runtime::Reserved`). smaps counts only pages written: a page only
/// read maps the kernel's shared zero page, which is nobody's.
fn reserved_kb(pid: i32) -> u64 {
    let (out, smaps) = resident_kb(pid, &|f| f.len() == 5);
    assert_eq!(out.len(), 1, "one anonymous mapping expected:\n{smaps}");
    out[0]
}

fn sleepers(f: &Foster, n: usize) -> bool {
    common::descendants(f.pid)
        .iter()
        .filter(|&&p| common::cmdline(p).starts_with("sleep "))
        .count()
        == n
}

/// `foster ctl -S SOCK ARGS...`: its output, or `None` when it failed.
fn try_ctl(f: &Foster, args: &[&str]) -> Option<String> {
    let out = Command::new(FOSTER)
        .arg("ctl")
        .arg("-S")
        .arg(f.sock())
        .args(args)
        .output()
        .unwrap();
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

fn ctl(f: &Foster, args: &[&str]) -> String {
    try_ctl(f, args).unwrap_or_else(|| panic!("ctl {args:?} failed"))
}

/// 16 services that just run, with a control socket: only the hot segment
/// is resident, and of the reserved state only three pages: the action
/// queue, epoll's events and the 16 slots in the first two, the table's
/// text in one more (the budget: under 64 kB with 16 services).
#[test]
fn an_idle_sub_init_has_only_its_hot_code_resident() {
    let dir = TempDir::new("idle");
    let table: String = (0..16)
        .map(|i| format!("service s{i} -- sleep {}\n", 100_000 + i))
        .collect();
    let table = dir.write("table", &table);
    let f = Foster::launch(&[], &table, Some(&dir.path("sock")), &[], &dir.path("log"));
    wait_for(Duration::from_secs(20), "16 services running", || {
        sleepers(&f, 16)
    });
    let (cold, warm, hot) = segments(f.pid);
    println!("resident kB: cold {cold}, warm {warm}, hot {hot}");
    assert!(hot > 0, "no hot code resident?");
    assert_eq!((cold, warm), (0, 0), "cold or warm code ran while idle");
    let reserved = reserved_kb(f.pid);
    println!("reserved state resident: {reserved} kB");
    assert!(reserved <= 12, "{reserved} kB of reserved state resident");
    // A control request is warm code; cold code still never runs.
    assert!(ctl(&f, &["status"]).contains("s15"));
    let (cold, warm, _) = segments(f.pid);
    assert!(warm > 0, "a status request ran no warm code?");
    assert_eq!(cold, 0, "a status request ran cold code");
}

/// Supervision with every kind of event (services that end and restart,
/// log lines, readiness, a pidfile, control requests, a reload) runs no cold
/// code.
#[test]
fn supervising_runs_no_cold_code() {
    let dir = TempDir::new("busy");
    let table = format!(
        "sysinit first -- true\n\
         once one env=A=1 -- sh -c 'exit 0'\n\
         service logger log={log} -- sh -c 'while :; do echo line; sleep 0.2; done'\n\
         service ready ready=fd:3 -- sh -c 'echo >&3; exec sleep 100000'\n\
         service late after=ready stop=INT timeout=2s -- sleep 100001\n\
         service crashy restart=on-failure backoff=100ms..200ms -- sh -c 'sleep 0.1; exit 3'\n\
         service daemon pidfile={pid} -- sh -c 'sleep 100002 & echo $! > {pid}'\n\
         service plain -- sleep 100003\n",
        log = dir.p("svc.log"),
        pid = dir.p("d.pid"),
    );
    let path = dir.write("table", &table);
    let f = Foster::launch(&[], &path, Some(&dir.path("sock")), &[], &dir.path("log"));
    wait_for(Duration::from_secs(20), "services running", || {
        try_ctl(&f, &["status"]).is_some_and(|s| s.contains("ready ")) && sleepers(&f, 4)
    });
    ctl(&f, &["stop", "plain"]);
    ctl(&f, &["start", "plain"]);
    ctl(&f, &["restart", "late"]);
    fs::write(
        &path,
        table.replace("100003", "100004") + "service added -- sleep 100005\n",
    )
    .unwrap();
    ctl(&f, &["reload"]);
    wait_for(Duration::from_secs(20), "the reload applied", || {
        ctl(&f, &["status"]).contains("added ")
    });
    // The crashing service has restarted meanwhile, the logger has logged.
    wait_for(Duration::from_secs(20), "restarts and log lines", || {
        fs::read_to_string(dir.path("svc.log")).is_ok_and(|l| l.lines().count() > 2)
            && ctl(&f, &["status"])
                .lines()
                .any(|l| l.starts_with("crashy") && !l.contains(" 0 "))
    });
    let (cold, warm, hot) = segments(f.pid);
    println!("resident kB: cold {cold}, warm {warm}, hot {hot}");
    assert!(warm > 0 && hot > 0);
    assert_eq!(cold, 0, "supervision ran cold code:\n{}", f.log());
}
