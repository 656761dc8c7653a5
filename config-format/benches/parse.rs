//! Parse time for a 1,000-entry table (`cargo bench -p config-format`).
//!
//! foster's own tables hold at most `MAX_ENTRIES` (64) entries, so this
//! measures `parse_into` a `TableN<1024>`, the same parser with a larger
//! capacity (the binary only ever instantiates 64), into storage kept from
//! one call to the next, as foster parses into its reserved state
//! (`parse_n` would add a copy of the 344 kB table it returns). It also times `parse` on the same text,
//! where every line past the 64th is fully checked and then reported as
//! "too many entries", and a full 64-entry load: parse, start order and
//! every argv. A benchmark prints figures; it does not assert them. Built
//! with the workspace's release profile (`opt-level = "z"`), i.e. the code
//! that ships.

use config_format::{parse, parse_into, Argv, TableN};
use std::hint::black_box;
use std::time::{Duration, Instant};

/// A realistic mix: native services with options and dependencies, one-shot
/// jobs, quoting, comments, continuations, and BusyBox lines.
fn table(entries: usize) -> String {
    let mut s = String::from("# generated benchmark table\n");
    for i in 0..entries {
        match i % 5 {
            0 => s.push_str(&format!(
                "service svc{i} user=app{i} env=PORT={i} env=\"GREETING=hello {i}\" restart=on-failure \\\n    backoff=200ms..10s stop=INT timeout=3s -- /usr/bin/server --port {i} 'a b'\n"
            )),
            1 => s.push_str(&format!(
                "once job{i} after=svc{} log=/var/log/job{i}.log /bin/sh -c \"echo job {i} > /tmp/j{i}\" # one shot\n",
                i - 1
            )),
            2 => s.push_str(&format!("tty{i}::respawn:/sbin/getty 38400 tty{i}\n")),
            3 => s.push_str(&format!("::once:/bin/echo started {i} > /dev/kmsg\n")),
            _ => s.push_str(&format!(
                "sysinit init{i} umask=022 dir=/srv/{i} -- /bin/mount -t tmpfs tmpfs /srv/{i}\n"
            )),
        }
    }
    s
}

/// Times `iters` calls of `f` one by one (each takes 100 us or more, so the
/// clock's own cost does not show) and reports the fastest call, the one
/// least disturbed by other load on the machine (on a shared VM, a mean or a
/// batch of calls can be twice the parser's own time), and the median.
fn time<T>(label: &str, bytes: usize, iters: u32, mut f: impl FnMut() -> T) -> Duration {
    for _ in 0..iters / 10 {
        black_box(f());
    }
    let mut per: Vec<Duration> = (0..iters)
        .map(|_| {
            let start = Instant::now();
            black_box(f());
            start.elapsed()
        })
        .collect();
    per.sort();
    let (best, median) = (per[0], per[per.len() / 2]);
    let mbps = bytes as f64 / best.as_secs_f64() / 1e6;
    println!(
        "{label:<54} best {:>7.1} us  median {:>7.1} us  ({mbps:.0} MB/s)",
        best.as_secs_f64() * 1e6,
        median.as_secs_f64() * 1e6
    );
    best
}

fn main() {
    let big = table(1_000);
    let src = big.as_bytes();
    let mut errors = 0usize;
    let mut t: Box<TableN<1024>> = Box::new(TableN::new());
    parse_into(src, &mut t, &mut |_| errors += 1);
    assert_eq!((t.entries.len(), errors), (1_000, 0));
    println!(
        "table: 1,000 entries, {} lines, {} bytes",
        big.lines().count(),
        src.len()
    );
    let per = time(
        "parse_into a TableN<1024>: 1,000 entries, all kept",
        src.len(),
        1_000,
        || parse_into(src, &mut t, &mut |_| {}),
    );
    time(
        "parse (capacity 64): 1,000 lines, 936 reported full",
        src.len(),
        1_000,
        || parse(src, &mut |_| {}),
    );

    let small = table(64);
    let small = small.as_bytes();
    let mut argv = Argv::new();
    time(
        "parse + start_order + 64 argv: a full 64-entry table",
        small.len(),
        2_000,
        || {
            let t = parse(small, &mut |_| {});
            let order = t.start_order();
            for &i in &order {
                let _ = t.entries[usize::from(i)].argv(small, &mut argv);
                black_box(&argv);
            }
            order.len()
        },
    );
    println!(
        "1,000-entry parse, fastest call: {:.3} ms ({})",
        per.as_secs_f64() * 1e3,
        if per < Duration::from_millis(1) {
            "under the 1 ms target"
        } else {
            "OVER the 1 ms target"
        }
    );
}
