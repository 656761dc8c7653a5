//! An idle sub-init: foster supervising 1, 16 and 64 `sleep` services. For
//! each, once every service runs, prints foster's VmRSS and RssAnon, where the
//! resident memory sits (per mapping, from /proc/PID/smaps), and what foster
//! does over 5 s of idle (voluntary context switches, CPU ticks) and, where
//! strace exists, its syscalls over another 5 s.
//!
//! `cargo bench --bench idle` (release build). Budget (DESIGN.md): idle VmRSS
//! under 64 kB with 16 services.

use std::fs;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const FOSTER: &str = env!("CARGO_BIN_EXE_foster");
const IDLE: Duration = Duration::from_secs(5);
const BUDGET_KB: u64 = 64;

/// foster and its tree, killed on drop.
struct Running {
    child: Child,
    dir: PathBuf,
}

impl Drop for Running {
    fn drop(&mut self) {
        let pid = self.child.id() as i32;
        if self.child.try_wait().ok().flatten().is_none() {
            let tree = descendants(pid);
            // SAFETY: kill(2) on our own unreaped child and its descendants.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
                for p in tree {
                    libc::kill(p, libc::SIGKILL);
                }
            }
            let _ = self.child.wait();
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

fn main() {
    if std::env::args().any(|a| a == "--list" || a == "--test") {
        return;
    }
    let strace = Command::new("strace")
        .arg("-V")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    println!("foster: {FOSTER}");
    println!(
        "{:>8} {:>9} {:>10} {:>9} {:>10} {:>9} {:>9}  syscalls over {} s idle",
        "services",
        "VmRSS kB",
        "RssAnon kB",
        "RssFile",
        "VmStk kB",
        "switches",
        "cpu ticks",
        IDLE.as_secs()
    );
    let mut over = None;
    let mut maps = Vec::new();
    for n in [1usize, 16, 64] {
        let run = start(n);
        let pid = run.child.id() as i32;
        let kb = |k: &str| status_kb(pid, k).unwrap_or(0);
        let (rss, anon, file, stk) = (kb("VmRSS"), kb("RssAnon"), kb("RssFile"), kb("VmStk"));
        if n == 16 {
            // Now, as VmRSS was read: strace's attach below runs some code.
            maps = resident_mappings(pid);
        }
        let switches = || status_kb(pid, "voluntary_ctxt_switches").unwrap_or(0);
        let ticks = || stat_field(pid, 14).unwrap_or(0) + stat_field(pid, 15).unwrap_or(0);
        // Counters over one window, strace over the next: attaching strace
        // wakes the tracee, so it would spoil the counters.
        let (s0, t0) = (switches(), ticks());
        std::thread::sleep(IDLE);
        let (s1, t1) = (switches(), ticks());
        let syscalls = if strace {
            strace_summary(pid, IDLE)
        } else {
            "strace not installed".to_string()
        };
        println!(
            "{n:>8} {rss:>9} {anon:>10} {file:>9} {stk:>10} {:>9} {:>9}  {syscalls}",
            s1 - s0,
            t1 - t0
        );
        if n == 16 && rss >= BUDGET_KB {
            over = Some(rss);
        }
    }
    println!("\nresident mappings with 16 services (kB, from smaps):");
    for (kb, what) in &maps {
        println!("{kb:>8}  {what}");
    }
    match over {
        Some(rss) => {
            println!("\nOVER BUDGET: VmRSS {rss} kB with 16 services (budget < {BUDGET_KB} kB)")
        }
        None => println!("\nwithin budget: VmRSS < {BUDGET_KB} kB with 16 services"),
    }
    println!(
        "(syscalls: attaching strace interrupts the epoll_wait in progress, so one turn of\n\
         the loop - epoll_wait returns, the clock is read - may show; a 1 s poll would show 5.)"
    );
}

/// Starts foster with `n` sleep services and waits until they all run.
fn start(n: usize) -> Running {
    let dir = std::env::temp_dir().join(format!("foster-bench-idle-{}-{n}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    let table: String = (0..n)
        .map(|i| format!("service s{i} -- sleep {}\n", 100_000 + i))
        .collect();
    let path = dir.join("table.tab");
    fs::write(&path, table).unwrap();
    let mut cmd = Command::new(FOSTER);
    cmd.arg("-f")
        .arg(&path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // SAFETY: close_range is async-signal-safe and touches only the child.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut cmd, || {
            libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 0u32);
            Ok(())
        });
    }
    let run = Running {
        child: cmd.spawn().unwrap(),
        dir,
    };
    let pid = run.child.id() as i32;
    let end = Instant::now() + Duration::from_secs(20);
    loop {
        let sleeping = children(pid)
            .iter()
            .filter(|&&c| cmdline(c).starts_with("sleep "))
            .count();
        if sleeping == n {
            break;
        }
        assert!(
            Instant::now() < end,
            "only {sleeping} of {n} services started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // Let the last SIGCHLD-free moment settle.
    std::thread::sleep(Duration::from_millis(300));
    run
}

/// Runs `strace -c -f -p PID` for `span`; returns "name calls, ..." or "none".
fn strace_summary(pid: i32, span: Duration) -> String {
    let out = std::env::temp_dir().join(format!(
        "foster-bench-idle-strace-{}-{pid}",
        std::process::id()
    ));
    let mut tracer = Command::new("strace")
        .args(["-f", "-c", "-o"])
        .arg(&out)
        .args(["-p", &pid.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(span);
    // SAFETY: SIGINT to our own strace: it detaches and writes its summary.
    unsafe { libc::kill(tracer.id() as i32, libc::SIGINT) };
    let _ = tracer.wait();
    let text = fs::read_to_string(&out).unwrap_or_default();
    let _ = fs::remove_file(&out);
    let calls: Vec<String> = text
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let name = *f.last()?;
            let calls: u64 = f.get(3)?.parse().ok()?;
            (f.len() >= 5 && name != "total").then(|| format!("{name} {calls}"))
        })
        .collect();
    if calls.is_empty() {
        "none".to_string()
    } else {
        calls.join(", ")
    }
}

/// (Rss kB, mapping) for every mapping with resident pages.
fn resident_mappings(pid: i32) -> Vec<(u64, String)> {
    let text = fs::read_to_string(format!("/proc/{pid}/smaps")).unwrap_or_default();
    let mut out = Vec::new();
    let mut current = String::new();
    // The binary's mappings are its code segments, in address order (see
    // build.rs, `layout`): shown resident or not.
    let segments = ["warm", "cold", "hot"];
    let mut ours = 0;
    let mut show_empty = false;
    for line in text.lines() {
        let first = line.split_whitespace().next().unwrap_or("");
        if first.contains('-') && !first.ends_with(':') {
            // "start-end perms offset dev inode [path]"
            let f: Vec<&str> = line.split_whitespace().collect();
            let (range, perms) = (
                f.first().copied().unwrap_or(""),
                f.get(1).copied().unwrap_or(""),
            );
            let size = range
                .split_once('-')
                .and_then(|(a, b)| {
                    Some(
                        (u64::from_str_radix(b, 16).ok()? - u64::from_str_radix(a, 16).ok()?)
                            / 1024,
                    )
                })
                .unwrap_or(0);
            let name = f.get(5).copied().unwrap_or("[anon]");
            current = format!("{perms} {name} ({size} kB mapped)");
            show_empty = name == FOSTER;
            if show_empty {
                if let Some(s) = segments.get(ours) {
                    current += &format!(", {s} code");
                }
                ours += 1;
            }
        } else if let Some(v) = line.strip_prefix("Rss:") {
            let kb: u64 = v.trim().trim_end_matches("kB").trim().parse().unwrap_or(0);
            if kb > 0 || show_empty {
                out.push((kb, current.clone()));
            }
        }
    }
    out
}

fn status_kb(pid: i32, key: &str) -> Option<u64> {
    let text = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    text.lines().find_map(|l| {
        let v = l.strip_prefix(key)?.strip_prefix(':')?;
        v.trim().trim_end_matches("kB").trim().parse().ok()
    })
}

fn stat_field(pid: i32, n: usize) -> Option<u64> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &text[text.rfind(')')? + 1..];
    rest.split_whitespace().nth(n - 3)?.parse().ok()
}

fn ppid(pid: i32) -> Option<i32> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &text[text.rfind(')')? + 1..];
    rest.split_whitespace().nth(1)?.parse().ok()
}

fn all_pids() -> Vec<i32> {
    fs::read_dir("/proc")
        .map(|d| {
            d.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

fn children(pid: i32) -> Vec<i32> {
    all_pids()
        .into_iter()
        .filter(|&p| ppid(p) == Some(pid))
        .collect()
}

fn descendants(root: i32) -> Vec<i32> {
    let pairs: Vec<(i32, i32)> = all_pids()
        .into_iter()
        .filter_map(|p| Some((p, ppid(p)?)))
        .collect();
    let mut out = Vec::new();
    let mut todo = vec![root];
    while let Some(p) = todo.pop() {
        for &(c, _) in pairs.iter().filter(|(_, pp)| *pp == p) {
            if !out.contains(&c) {
                out.push(c);
                todo.push(c);
            }
        }
    }
    out
}

fn cmdline(pid: i32) -> String {
    fs::read(format!("/proc/{pid}/cmdline"))
        .map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
        .unwrap_or_default()
}
