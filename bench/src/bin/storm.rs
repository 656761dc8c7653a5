//! The child every benchmarked init runs. Built static (musl) so it also runs
//! inside a bare chroot (BusyBox init's).
//!
//! - `storm orphans N`: a helper process makes a new process group, then
//!   double-forks N members of it that sleep forever: each one's parent exits
//!   at once, so the kernel hands it to the init (PID 1 or the nearest
//!   subreaper). The helper exits; `storm` itself then sleeps, so the init
//!   keeps one child of its own. The bench kills the whole group with one
//!   `kill(-PGID, SIGKILL)` and times the reaping.
//! - `storm respawn FILE`: appends `START_NS EXIT_NS` (CLOCK_MONOTONIC) to FILE
//!   and exits 1: a service that crashes at once, for respawn latency.
//! - `storm crash`: exits 1.

use std::io::Write;

fn now_ns() -> u128 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec we own.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u128 * 1_000_000_000 + ts.tv_nsec as u128
}

fn main() {
    let start = now_ns();
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("orphans") => {
            let n: usize = args.get(2).and_then(|v| v.parse().ok()).unwrap_or(1000);
            orphans(n);
        }
        Some("respawn") => {
            if let Some(path) = args.get(2) {
                let mut f = std::fs::OpenOptions::new()
                    .append(true)
                    .create(true)
                    .open(path)
                    .expect("open the respawn log");
                let line = format!("{start} {}\n", now_ns());
                let _ = f.write_all(line.as_bytes());
            }
            std::process::exit(1);
        }
        Some("crash") => std::process::exit(1),
        _ => {
            eprintln!("usage: storm orphans N | respawn FILE | crash");
            std::process::exit(2);
        }
    }
}

fn orphans(n: usize) {
    // SAFETY: fork/setpgid/waitpid/_exit/pause on our own processes; the
    // children only call async-signal-safe functions before _exit or pause.
    unsafe {
        // Die with the init (sub-init runs are not in a PID namespace).
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong);
        let helper = libc::fork();
        if helper == 0 {
            libc::setpgid(0, 0);
            let mut failed = 0usize;
            for _ in 0..n {
                let mid = libc::fork();
                if mid == 0 {
                    if libc::fork() == 0 {
                        loop {
                            libc::pause();
                        }
                    }
                    libc::_exit(0);
                }
                if mid < 0 {
                    failed += 1;
                    continue;
                }
                let mut st = 0;
                libc::waitpid(mid, &mut st, 0);
            }
            if failed > 0 {
                let msg = format!("storm: {failed} forks failed\n");
                libc::write(2, msg.as_ptr().cast(), msg.len());
            }
            libc::_exit(0);
        }
        let mut st = 0;
        libc::waitpid(helper, &mut st, 0);
        loop {
            libc::pause();
        }
    }
}
