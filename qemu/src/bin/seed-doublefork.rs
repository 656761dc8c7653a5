//! Guest test program, the seed experiment: a daemon that double-forks must be
//! re-parented to the init (PID 1, or the nearest child subreaper: the parent of
//! this program when it runs under foster) and reaped by it when it exits.
//!
//! Each round: fork; the child calls setsid and forks the daemon, then exits; we
//! reap the child. The daemon waits until its parent is no longer the child,
//! reports `pid ppid` over a pipe and exits. We check that the new parent is our
//! parent (the init), that the daemon is not our child (ECHILD), and that
//! `/proc/<pid>` disappears (no zombie left) within a few seconds.
//!
//! The expected reaper is our parent (foster runs us directly, as PID 1 or as a
//! subreaper); `--reaper PID` names another (e.g. `--reaper 1` when a shell
//! stands between the init and this program).
//!
//! Exits 0 on success, 1 with a message otherwise (2 on bad usage).

use std::io::Read;
use std::os::fd::FromRawFd;
use std::time::{Duration, Instant};

const ROUNDS: usize = 3;
const WAIT: Duration = Duration::from_secs(5);

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let init = match args.as_slice() {
        [] => getppid(),
        [flag, pid] if flag == "--reaper" && pid.parse::<i32>().is_ok_and(|p| p > 0) => {
            pid.parse().unwrap_or(1)
        }
        _ => {
            eprintln!("usage: seed-doublefork [--reaper PID]");
            std::process::exit(2);
        }
    };
    println!(
        "seed-doublefork: pid {}, init/subreaper {init}",
        std::process::id()
    );
    for round in 1..=ROUNDS {
        if let Err(msg) = round_trip(init) {
            eprintln!("seed-doublefork: round {round}: {msg}");
            std::process::exit(1);
        }
    }
    println!("seed-doublefork: ok, {ROUNDS} daemons re-parented to {init} and reaped");
}

fn getppid() -> i32 {
    // SAFETY: getppid has no preconditions.
    unsafe { libc::getppid() }
}

fn round_trip(init: i32) -> Result<(), String> {
    let mut fds = [0; 2];
    // SAFETY: fds is a valid array of two ints.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(format!("unable to create a pipe: {}", errno()));
    }
    let (rd, wr) = (fds[0], fds[1]);
    // SAFETY: single-threaded; the child only calls async-signal-safe functions.
    let middle = unsafe { libc::fork() };
    if middle < 0 {
        return Err(format!("unable to fork: {}", errno()));
    }
    if middle == 0 {
        // SAFETY: async-signal-safe calls only, ending in _exit.
        unsafe {
            libc::close(rd);
            libc::setsid();
            let me = libc::getpid();
            let daemon = libc::fork();
            if daemon == 0 {
                daemon_main(wr, me);
            }
            libc::_exit(if daemon < 0 { 2 } else { 0 });
        }
    }
    // SAFETY: closing our copy of the write end, which we own.
    unsafe { libc::close(wr) };
    let mut status = 0;
    // SAFETY: status is a valid out pointer.
    if unsafe { libc::waitpid(middle, &mut status, 0) } != middle {
        return Err(format!(
            "unable to wait for the middle process: {}",
            errno()
        ));
    }
    if !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
        return Err(format!("middle process failed (status {status:#x})"));
    }
    // SAFETY: rd is a pipe fd we own; File takes it over and closes it.
    let mut reader = unsafe { std::fs::File::from_raw_fd(rd) };
    let mut report = String::new();
    reader
        .read_to_string(&mut report)
        .map_err(|e| format!("unable to read the daemon's report: {e}"))?;
    let mut words = report.split_whitespace().map(|w| w.parse::<i32>());
    let (Some(Ok(pid)), Some(Ok(ppid))) = (words.next(), words.next()) else {
        return Err(format!("daemon sent no report ({report:?})"));
    };
    if ppid != init {
        return Err(format!(
            "daemon {pid} was re-parented to {ppid}, not to the init {init}"
        ));
    }
    // The daemon is not ours to reap.
    // SAFETY: status is a valid out pointer.
    let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
    if r != -1 {
        return Err(format!(
            "waitpid on the daemon {pid} returned {r}, expected ECHILD"
        ));
    }
    let start = Instant::now();
    loop {
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Err(_) => break,
            Ok(stat) if start.elapsed() > WAIT => {
                let state = stat
                    .rsplit_once(") ")
                    .and_then(|(_, r)| r.split_whitespace().next())
                    .unwrap_or("?");
                return Err(format!(
                    "daemon {pid} not reaped after {WAIT:?} (state {state})"
                ));
            }
            Ok(_) => std::thread::sleep(Duration::from_millis(10)),
        }
    }
    println!("seed-doublefork: daemon {pid} re-parented to {ppid} and reaped");
    Ok(())
}

/// The grandchild: wait until re-parented, report, exit.
///
/// # Safety
/// Runs in a forked child of a single-threaded process; `wr` is the pipe's
/// write end; `middle` is the pid of the process that forked us.
unsafe fn daemon_main(wr: i32, middle: i32) -> ! {
    // SAFETY: async-signal-safe calls only.
    unsafe {
        let mut ppid = middle;
        // Up to 5 s for the middle process to exit.
        for _ in 0..500 {
            ppid = libc::getppid();
            if ppid != middle {
                break;
            }
            let ts = libc::timespec {
                tv_sec: 0,
                tv_nsec: 10_000_000,
            };
            libc::nanosleep(&ts, std::ptr::null_mut());
        }
        let mut buf = [0u8; 32];
        let n = format_report(&mut buf, libc::getpid(), ppid);
        libc::write(wr, buf.as_ptr().cast(), n);
        libc::close(wr);
        libc::_exit(0);
    }
}

/// Writes "PID PPID\n" without allocating (we are in a forked child).
fn format_report(buf: &mut [u8; 32], pid: i32, ppid: i32) -> usize {
    let mut n = 0;
    for (i, v) in [pid, ppid].into_iter().enumerate() {
        if i > 0 {
            buf[n] = b' ';
            n += 1;
        }
        let mut digits = [0u8; 11];
        let mut d = 0;
        let mut v = v.unsigned_abs();
        loop {
            digits[d] = b'0' + (v % 10) as u8;
            d += 1;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        while d > 0 {
            d -= 1;
            buf[n] = digits[d];
            n += 1;
        }
    }
    buf[n] = b'\n';
    n + 1
}

fn errno() -> std::io::Error {
    std::io::Error::last_os_error()
}
