//! foster's single-command mode against tini, dumb-init and catatonit, run
//! through the same cases, printed as one table:
//!
//! - binary size on disk (dynamic ones: plus their libc, not counted here);
//! - VmRSS of the init while its child sleeps;
//! - syscalls the init makes over 3 s of idle (`strace -c -p`);
//! - time to reap 2,000 orphans that die at once (the init is PID 1 of a
//!   fresh PID namespace, as in a container);
//! - startup signals lost per 1,000: SIGTERM sent 0-2 ms after the init's
//!   exec; lost when the child never dies of it.
//!
//! `cargo bench --bench single_compare` (root: uses `unshare` and `strace`).
//! Inits that are not installed are skipped. `RACE_RUNS=N` changes the runs.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Init {
    name: &'static str,
    path: String,
    /// Words before the child's command.
    args: &'static [&'static str],
}

fn main() {
    if std::env::args().any(|a| a == "--list" || a == "--test") {
        return;
    }
    let foster = env!("CARGO_BIN_EXE_foster").to_string();
    let candidates = [
        ("foster", foster.as_str(), &["--"][..]),
        ("tini", "/usr/bin/tini", &["-s", "--"][..]),
        ("tini-static", "/usr/bin/tini-static", &["-s", "--"][..]),
        ("dumb-init", "/usr/bin/dumb-init", &["--"][..]),
        ("catatonit", "/usr/bin/catatonit", &["--"][..]),
    ];
    let inits: Vec<Init> = candidates
        .iter()
        .filter(|(_, p, _)| std::path::Path::new(p).exists())
        .map(|&(name, path, args)| Init {
            name,
            path: path.to_string(),
            args,
        })
        .collect();
    let runs: usize = std::env::var("RACE_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let has_strace = Command::new("strace").arg("-V").output().is_ok();
    let has_unshare = Command::new("unshare")
        .args(["--pid", "--fork", "--mount-proc", "true"])
        .status()
        .is_ok_and(|s| s.success());

    println!(
        "{:<12} {:>10} {:>10} {:>14} {:>16} {:>16}",
        "init", "size (B)", "VmRSS kB", "idle syscalls", "reap 2000 (ms)", "lost / 1000"
    );
    for init in &inits {
        let size = std::fs::metadata(&init.path).map(|m| m.len()).unwrap_or(0);
        let (rss, idle) = idle_figures(init, has_strace);
        let reap = if has_unshare {
            reap_orphans(init)
        } else {
            None
        };
        let lost = race(init, runs);
        println!(
            "{:<12} {:>10} {:>10} {:>14} {:>16} {:>16}",
            init.name,
            size,
            rss.map_or("-".into(), |r| r.to_string()),
            idle.map_or("-".into(), |n| n.to_string()),
            reap.map_or("-".into(), |d| format!("{:.1}", d.as_secs_f64() * 1000.0)),
            format!("{:.1}", lost as f64 * 1000.0 / runs as f64),
        );
    }
}

fn command(init: &Init, child: &[&str]) -> Command {
    let mut c = Command::new(&init.path);
    c.args(init.args).args(child).stdin(Stdio::null());
    c
}

fn status_field(pid: u32, key: &str) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = s.lines().find(|l| l.starts_with(key))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// VmRSS and syscalls over 3 s, with the child asleep.
fn idle_figures(init: &Init, has_strace: bool) -> (Option<u64>, Option<u64>) {
    let mut child = command(init, &["sleep", "30"]).spawn().expect("spawn init");
    std::thread::sleep(Duration::from_millis(300));
    let rss = status_field(child.id(), "VmRSS:");
    let calls = if has_strace {
        let out = std::env::temp_dir().join(format!("foster-bench-strace-{}", std::process::id()));
        let mut st = Command::new("strace")
            .args(["-c", "-o"])
            .arg(&out)
            .args(["-p", &child.id().to_string()])
            .stderr(Stdio::null())
            .spawn()
            .expect("strace");
        std::thread::sleep(Duration::from_secs(3));
        kill(st.id(), libc::SIGINT);
        let _ = st.wait();
        let text = std::fs::read_to_string(&out).unwrap_or_default();
        let _ = std::fs::remove_file(&out);
        // The summary's last line: "100.00 ... CALLS [ERRORS] total".
        Some(
            text.lines()
                .rfind(|l| l.trim_end().ends_with("total"))
                .and_then(|l| {
                    let f: Vec<&str> = l.split_whitespace().collect();
                    f.get(3).and_then(|c| c.parse().ok())
                })
                .unwrap_or(0),
        )
    } else {
        None
    };
    let _ = child.kill();
    let _ = child.wait();
    (rss, calls)
}

fn kill(pid: u32, sig: i32) {
    // SAFETY: plain kill(2) on a pid this program started.
    unsafe { libc::kill(pid as libc::pid_t, sig) };
}

fn children_of(pid: u32) -> Vec<u32> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

/// The init as PID 1 of a new PID namespace; its child leaves 2,000 orphans
/// asleep, which are then killed at once. Time until the init has reaped all.
fn reap_orphans(init: &Init) -> Option<Duration> {
    let script =
        "i=0; while [ $i -lt 2000 ]; do (exec sleep 1000 &); i=$((i+1)); done; exec sleep 1000";
    let mut unshare = Command::new("unshare");
    unshare
        .args(["--pid", "--fork", "--mount-proc", &init.path])
        .args(init.args)
        .args(["sh", "-c", script])
        .stdin(Stdio::null());
    let mut ns: Child = unshare.spawn().ok()?;
    let find_init = || children_of(ns.id()).first().copied();
    let end = Instant::now() + Duration::from_secs(30);
    let mut pid1 = None;
    while Instant::now() < end {
        if let Some(p) = pid1.or_else(find_init) {
            pid1 = Some(p);
            if children_of(p).len() > 2000 {
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let pid1 = pid1?;
    let kids = children_of(pid1);
    let main = *kids.first()?;
    let start = Instant::now();
    for &k in &kids {
        if k != main {
            kill(k, libc::SIGKILL);
        }
    }
    let mut took = None;
    while start.elapsed() < Duration::from_secs(20) {
        if children_of(pid1).len() <= 1 {
            took = Some(start.elapsed());
            break;
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    kill(ns.id(), libc::SIGKILL);
    kill(pid1, libc::SIGKILL);
    let _ = ns.wait();
    took
}

/// SIGTERM 0-2 ms after the init's exec; lost when the init does not end
/// with its child's 128+15 within the wait.
fn race(init: &Init, runs: usize) -> usize {
    let mut lost = 0;
    let mut seed: u64 = 0x9E3779B97F4A7C15;
    for _ in 0..runs {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let delay = Duration::from_micros(seed % 2001);
        let mut child = command(init, &["sleep", "2"]).spawn().expect("spawn init");
        if !delay.is_zero() {
            std::thread::sleep(delay);
        }
        kill(child.id(), libc::SIGTERM);
        let end = Instant::now() + Duration::from_millis(1000);
        let st = loop {
            if let Some(st) = child.try_wait().expect("wait") {
                break Some(st);
            }
            if Instant::now() > end {
                break None;
            }
            std::thread::sleep(Duration::from_micros(500));
        };
        match st {
            Some(st) if st.code() == Some(143) => {}
            Some(_) => lost += 1,
            _ => {
                lost += 1;
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
    lost
}
