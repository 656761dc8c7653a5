//! Benchmark: the init's own boot overhead, foster vs BusyBox init, from the
//! kernel's console timestamps (`printk.time=1`): from "Run /init as init
//! process" to the first service's marker line, which the first `sysinit`
//! entry writes to `/dev/kmsg`. Both images hold the same files (BusyBox with
//! its applets, a `/dev/kmsg` node) and the same BusyBox-syntax inittab; only
//! `/init` differs. foster's span includes its PID 1 duties (mounting /proc,
//! /sys, /dev, /dev/pts, /dev/shm, /run; CAD off; the control socket) and
//! reading the table; BusyBox init mounts nothing, so a third image
//! (`bb+mount`) has BusyBox init's first entry mount the same filesystems
//! with `mount` before its marker, as a BusyBox system does. Runs alternate
//! between the images so host drift hits all alike; medians are reported.
//!
//! ```text
//! cargo build --release
//! cargo run --release -p qemu --bin boot-overhead -- --runs 7
//! ```

use image::Image;
use qemu::{Accel, Config, Console};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

const USAGE: &str =
    "usage: boot-overhead [--runs N] [--kernel K] [--foster F] [--busybox B] [--accel A]";
const MARKER: &str = "boot-overhead: first service";

/// The same table for both inits: the marker first, then power off at once.
const INITTAB: &str = "\
::sysinit:/bin/sh -c 'echo boot-overhead: first service > /dev/kmsg'
::once:/bin/poweroff -f
";

/// BusyBox init doing foster's PID 1 mounts itself before the first service.
const INITTAB_MOUNTS: &str = "\
::sysinit:/bin/sh -c 'mount -t proc proc /proc; mount -t sysfs sysfs /sys; \
mount -t devtmpfs devtmpfs /dev; mkdir -p /dev/pts /dev/shm; mount -t devpts devpts /dev/pts; \
mount -t tmpfs tmpfs /dev/shm; mount -t tmpfs tmpfs /run; \
echo boot-overhead: first service > /dev/kmsg'
::once:/bin/poweroff -f
";

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("boot-overhead: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    use lexopt::prelude::*;
    let mut p = lexopt::Parser::from_env();
    let mut runs = 5usize;
    let mut kernel: Option<PathBuf> = None;
    let mut foster: Option<PathBuf> = None;
    let mut busybox = PathBuf::from(image::DEFAULT_BUSYBOX);
    let mut accel = Accel::Tcg;
    let e = |e: lexopt::Error| format!("{e}\n{USAGE}");
    while let Some(arg) = p.next().map_err(e)? {
        match arg {
            Long("runs") => runs = p.value().map_err(e)?.parse().map_err(e)?,
            Long("kernel") => kernel = Some(p.value().map_err(e)?.into()),
            Long("foster") => foster = Some(p.value().map_err(e)?.into()),
            Long("busybox") => busybox = p.value().map_err(e)?.into(),
            Long("accel") => accel = p.value().map_err(e)?.string().map_err(e)?.parse()?,
            Long("help") | Short('h') => {
                println!("{USAGE}");
                return Ok(());
            }
            _ => return Err(e(arg.unexpected())),
        }
    }
    let kernel = qemu::find_kernel(kernel.as_deref()).map_err(|e| e.to_string())?;
    let foster = foster
        .or_else(|| qemu::host_arch().and_then(qemu::testimage::default_foster))
        .ok_or("unable to find foster: cargo build --release, or pass --foster")?;

    let dir = std::env::temp_dir().join(format!("foster-boot-overhead-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let mut images = Vec::new();
    for label in ["foster", "busybox", "bb+mount"] {
        let img = build(label, &foster, &busybox).map_err(|e| e.to_string())?;
        let path = dir.join(format!("{label}.cpio.gz"));
        img.write_to_file(&path, true).map_err(|e| e.to_string())?;
        images.push((label, path));
    }
    println!(
        "kernel {}, {accel:?}, {runs} runs each: kernel's \"Run /init\" -> first service's kmsg line",
        kernel.display()
    );
    let mut spans: Vec<Vec<f64>> = vec![Vec::new(); images.len()];
    let mut failure = None;
    'outer: for _ in 0..runs {
        for (i, (label, path)) in images.iter().enumerate() {
            let mut cfg = Config::new(kernel.clone(), path.clone());
            cfg.accel = accel;
            cfg.console = Console::Silent;
            cfg.timeout = Duration::from_secs(60);
            cfg.append = vec!["printk.time=1".into(), "loglevel=7".into()];
            let res = qemu::run(&cfg).map_err(|e| e.to_string())?;
            match span(&res.console) {
                Some(s) => spans[i].push(s),
                None => {
                    failure = Some(format!(
                        "{label}: no span ({})\n{}",
                        res.outcome.verdict(),
                        res.console
                    ));
                    break 'outer;
                }
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    if let Some(f) = failure {
        return Err(f);
    }
    println!("{:<8} {:>12} {:>20}", "init", "median", "min-max");
    for ((label, _), s) in images.iter().zip(&mut spans) {
        s.sort_by(f64::total_cmp);
        let med = s.get(s.len() / 2).copied().unwrap_or(0.0);
        let (min, max) = (
            s.first().copied().unwrap_or(0.0),
            s.last().copied().unwrap_or(0.0),
        );
        println!(
            "{label:<8} {:>9.1} ms {:>10.1}-{:.1} ms",
            med * 1e3,
            min * 1e3,
            max * 1e3
        );
    }
    Ok(())
}

/// An image with `/init` = foster or BusyBox, and everything else the same.
fn build(init: &str, foster: &Path, busybox: &Path) -> image::Result<Image> {
    let mut img = Image::new();
    img.add_busybox("/bin", busybox)?;
    match init {
        "foster" => img.add_file("/init", foster, Some(0o755))?,
        _ => img.add_symlink("/init", "bin/busybox")?,
    }
    let table = if init == "bb+mount" {
        INITTAB_MOUNTS
    } else {
        INITTAB
    };
    img.add_bytes("/etc/inittab", table, 0o644)?;
    img.add_node("/dev/kmsg", 'c', 1, 11, 0o600)?;
    for d in ["/proc", "/sys", "/run", "/tmp"] {
        img.add_dir(d, 0o755)?;
    }
    img.check_static("/init")?;
    Ok(img)
}

/// Seconds between the kernel's "Run /init" line and the marker line.
fn span(console: &str) -> Option<f64> {
    let stamp = |needle: &str| {
        console.lines().find(|l| l.contains(needle)).and_then(|l| {
            let open = l.find('[')?;
            let close = l[open..].find(']')? + open;
            l[open + 1..close].trim().parse::<f64>().ok()
        })
    };
    let start = stamp("Run /init as init process")?;
    let end = stamp(MARKER)?;
    Some(end - start)
}
